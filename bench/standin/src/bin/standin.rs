//! Instant stand-ins for the services keyless-aws talks to, for benchmarks.
//!
//! One process, one plain-HTTP listener per behaviour, all on 127.0.0.1 (or
//! `--host`), each on a free port. On start it prints one JSON line with the
//! ports, e.g. `{"ok":41234,"deny":41235,"throttle":41236,"imds":41237}`.
//!
//! * `ok`: GET -> 200 `{"value":"<JWT>"}` (the GitHub OIDC token endpoint);
//!   POST -> 200 canned STS XML for the form's `Action` (AssumeRoleWithWebIdentity,
//!   AssumeRole, GetCallerIdentity)
//! * `deny`: GET -> token as above; POST -> 403 STS `AccessDenied`
//! * `throttle`: GET -> token as above; POST -> 400 STS `Throttling`, always
//! * `imds`: anything -> 404; only there to count instance-metadata probes (point
//!   AWS_EC2_METADATA_SERVICE_ENDPOINT at it)
//!
//! Every answer is precomputed; a request costs one read and one write.
//! Requests are counted per listener and kind. `GET /_stats` (on any listener)
//! returns the counts as JSON, `POST /_reset` zeroes them; neither is counted.
//!
//! It stops by itself after `--max-seconds` (default 900) or when its stdin
//! reaches EOF (the harness that started it has gone), whichever comes first.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const MODES: [&str; 4] = ["ok", "deny", "throttle", "imds"];
const KINDS: [&str; 6] = [
    "token",
    "AssumeRoleWithWebIdentity",
    "AssumeRole",
    "GetCallerIdentity",
    "sts-other",
    "other",
];

struct Counts([[AtomicU64; KINDS.len()]; MODES.len()]);

impl Counts {
    fn new() -> Self {
        Counts(std::array::from_fn(|_| {
            std::array::from_fn(|_| AtomicU64::new(0))
        }))
    }
    fn bump(&self, mode: usize, kind: &str) {
        let k = KINDS
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(KINDS.len() - 1);
        self.0[mode][k].fetch_add(1, Ordering::SeqCst);
    }
    fn json(&self) -> String {
        let mut out = String::from("{");
        for (m, mode) in MODES.iter().enumerate() {
            if m > 0 {
                out.push(',');
            }
            out.push_str(&format!("\"{mode}\":{{"));
            for (k, kind) in KINDS.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                out.push_str(&format!(
                    "\"{kind}\":{}",
                    self.0[m][k].load(Ordering::SeqCst)
                ));
            }
            out.push('}');
        }
        out.push('}');
        out
    }
    fn reset(&self) {
        for row in &self.0 {
            for c in row {
                c.store(0, Ordering::SeqCst);
            }
        }
    }
}

fn b64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A JWT shaped like GitHub's (claims, size), with a signature nobody checks.
fn token_json() -> String {
    let header = r#"{"alg":"RS256","typ":"JWT","kid":"38826b17-6a30-5f9b-b169-8beb8202f723","x5t":"ykNaY4qM_ta4k2TgZOCEYLkcYlA"}"#;
    let claims = r#"{"jti":"0b0e3a5e-1f43-4c2b-9e4a-2f5d6c7b8a90","sub":"repo:octo-org/octo-repo:ref:refs/heads/main","aud":"sts.amazonaws.com","ref":"refs/heads/main","sha":"6d2f9e4c1b0a8f7e6d5c4b3a29180f7e6d5c4b3a","repository":"octo-org/octo-repo","repository_owner":"octo-org","repository_owner_id":"1234567","repository_id":"7654321","repository_visibility":"private","run_id":"9876543210","run_number":"42","run_attempt":"1","actor":"octocat","actor_id":"583231","workflow":"CI","workflow_ref":"octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main","workflow_sha":"6d2f9e4c1b0a8f7e6d5c4b3a29180f7e6d5c4b3a","job_workflow_ref":"octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main","job_workflow_sha":"6d2f9e4c1b0a8f7e6d5c4b3a29180f7e6d5c4b3a","event_name":"push","ref_protected":"true","ref_type":"branch","runner_environment":"github-hosted","iss":"https://token.actions.githubusercontent.com","nbf":1700000000,"iat":1700000005,"exp":4102444800}"#;
    let signature: Vec<u8> = (0..256u32).map(|i| (i * 151 + 7) as u8).collect();
    let jwt = format!(
        "{}.{}.{}",
        b64url(header.as_bytes()),
        b64url(claims.as_bytes()),
        b64url(&signature)
    );
    format!("{{\"count\":2084,\"value\":\"{jwt}\"}}")
}

const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const ACCESS_KEY: &str = "ASIABENCHSTANDIN0001";
const SECRET_KEY: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYBENCHSTANDIN1";
const ROLE_ARN_ASSUMED: &str = "arn:aws:sts::123456789012:assumed-role/bench/GitHubActions";
const REQUEST_ID: &str = "c6104cbe-af31-11e0-8154-cbc7ccf896c7";

fn session_token() -> String {
    // Real session tokens are ~700-1000 characters of base64.
    let bytes: Vec<u8> = (0..600u32).map(|i| (i * 97 + 13) as u8).collect();
    b64url(&bytes)
}

fn credentials_xml() -> String {
    format!(
        "<Credentials><AccessKeyId>{ACCESS_KEY}</AccessKeyId><SecretAccessKey>{SECRET_KEY}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>",
        session_token()
    )
}

fn web_identity_xml() -> String {
    format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{NS}\"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>repo:octo-org/octo-repo:ref:refs/heads/main</SubjectFromWebIdentityToken><Audience>sts.amazonaws.com</Audience><AssumedRoleUser><Arn>{ROLE_ARN_ASSUMED}</Arn><AssumedRoleId>AROABENCHSTANDIN0001:GitHubActions</AssumedRoleId></AssumedRoleUser>{}<Provider>arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>{REQUEST_ID}</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>",
        credentials_xml()
    )
}

fn assume_role_xml() -> String {
    format!(
        "<AssumeRoleResponse xmlns=\"{NS}\"><AssumeRoleResult><AssumedRoleUser><Arn>{ROLE_ARN_ASSUMED}</Arn><AssumedRoleId>AROABENCHSTANDIN0001:GitHubActions</AssumedRoleId></AssumedRoleUser>{}<PackedPolicySize>6</PackedPolicySize></AssumeRoleResult><ResponseMetadata><RequestId>{REQUEST_ID}</RequestId></ResponseMetadata></AssumeRoleResponse>",
        credentials_xml()
    )
}

fn caller_identity_xml() -> String {
    format!(
        "<GetCallerIdentityResponse xmlns=\"{NS}\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/bench</Arn><UserId>AIDABENCHSTANDIN0001</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>{REQUEST_ID}</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    )
}

fn error_xml(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
    )
}

fn response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-amzn-requestid: {REQUEST_ID}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

struct Answers {
    token: Vec<u8>,
    web_identity: Vec<u8>,
    assume_role: Vec<u8>,
    caller_identity: Vec<u8>,
    denied: Vec<u8>,
    throttled: Vec<u8>,
    unknown_action: Vec<u8>,
    not_found: Vec<u8>,
}

impl Answers {
    fn new() -> Self {
        Answers {
            token: response("200 OK", "application/json; charset=utf-8", &token_json()),
            web_identity: response("200 OK", "text/xml", &web_identity_xml()),
            assume_role: response("200 OK", "text/xml", &assume_role_xml()),
            caller_identity: response("200 OK", "text/xml", &caller_identity_xml()),
            denied: response(
                "403 Forbidden",
                "text/xml",
                &error_xml(
                    "AccessDenied",
                    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                ),
            ),
            throttled: response(
                "400 Bad Request",
                "text/xml",
                &error_xml("Throttling", "Rate exceeded"),
            ),
            unknown_action: response(
                "400 Bad Request",
                "text/xml",
                &error_xml("InvalidAction", "Could not find operation"),
            ),
            not_found: response("404 Not Found", "text/plain", ""),
        }
    }
}

/// Reads one request; returns (method, path, body, close) or None at EOF.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>, bool)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let http10 = parts.next() == Some("HTTP/1.0");
    let mut length = 0usize;
    let mut close = http10;
    let mut expect_continue = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok()?,
            "connection" => close = value.eq_ignore_ascii_case("close"),
            "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
            "transfer-encoding" => return None, // not sent by the SDK, reqwest GET or curl -d
            _ => {}
        }
    }
    if expect_continue {
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .ok()?;
    }
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, body, close))
}

fn form_action(body: &[u8]) -> &str {
    let text = std::str::from_utf8(body).unwrap_or("");
    text.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("")
}

fn serve(stream: TcpStream, mode: usize, counts: Arc<Counts>, answers: Arc<Answers>) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut writer = stream;
    while let Some((method, path, body, close)) = read_request(&mut reader) {
        let control;
        let answer: &[u8] = if path.starts_with("/_stats") {
            control = response("200 OK", "application/json", &counts.json()).to_vec();
            &control
        } else if path.starts_with("/_reset") {
            counts.reset();
            control = response("200 OK", "application/json", "{}");
            &control
        } else if MODES[mode] == "imds" {
            counts.bump(mode, "other");
            &answers.not_found
        } else if method == "GET" {
            counts.bump(mode, "token");
            &answers.token
        } else if method == "POST" {
            let action = form_action(&body);
            match (MODES[mode], action) {
                (_, "AssumeRoleWithWebIdentity" | "AssumeRole" | "GetCallerIdentity") => {
                    counts.bump(mode, action)
                }
                _ => counts.bump(mode, "sts-other"),
            }
            match (MODES[mode], action) {
                ("deny", _) => &answers.denied,
                ("throttle", _) => &answers.throttled,
                (_, "AssumeRoleWithWebIdentity") => &answers.web_identity,
                (_, "AssumeRole") => &answers.assume_role,
                (_, "GetCallerIdentity") => &answers.caller_identity,
                _ => &answers.unknown_action,
            }
        } else {
            counts.bump(mode, "other");
            &answers.not_found
        };
        if writer.write_all(answer).is_err() || writer.flush().is_err() || close {
            return;
        }
    }
}

fn main() {
    let mut host = "127.0.0.1".to_owned();
    let mut max_seconds = 900u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--host" => host = args.next().expect("--host ADDR"),
            "--max-seconds" => {
                max_seconds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--max-seconds N")
            }
            other => {
                eprintln!("standin: unknown argument {other}; usage: standin [--host ADDR] [--max-seconds N]");
                std::process::exit(2);
            }
        }
    }
    let counts = Arc::new(Counts::new());
    let answers = Arc::new(Answers::new());
    let mut ports = BTreeMap::new();
    for (mode, name) in MODES.iter().enumerate() {
        let listener = TcpListener::bind((host.as_str(), 0)).expect("bind");
        ports.insert(*name, listener.local_addr().expect("addr").port());
        let counts = Arc::clone(&counts);
        let answers = Arc::clone(&answers);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counts = Arc::clone(&counts);
                let answers = Arc::clone(&answers);
                std::thread::spawn(move || serve(stream, mode, counts, answers));
            }
        });
    }
    let line: Vec<String> = ports.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    println!("{{{}}}", line.join(","));
    let _ = std::io::stdout().flush();

    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(max_seconds));
        eprintln!("standin: --max-seconds {max_seconds} reached, exiting");
        std::process::exit(0);
    });
    // Exit when the harness goes away (stdin closed).
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    std::process::exit(0);
}
