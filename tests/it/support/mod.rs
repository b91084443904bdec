//! What every test shares. One way to run the action per setting:
//!
//! * [`scenario::Scenario`]: the binary run as the runner runs a step (fresh
//!   environment, runner files in a temp dir, action.yml's input defaults), returning
//!   exit status, stdout/stderr, the runner files and the requests a stand-in saw;
//! * [`stand_in::StsStandIn`]: the token endpoint and STS in process (wiremock), for
//!   precise fault injection;
//! * [`moto::Moto`]: moto's server, the real STS emulator; [`token_endpoint::TokenEndpoint`]:
//!   the token endpoint stand-in script, for tests that run out of process (Docker, act);
//! * [`runner`]: the image run under Docker exactly as actions/runner runs it;
//! * [`scan`]: the log and file scanner for secrets and injected workflow commands;
//! * [`subcommand::Subcommand`]: `keyless-aws <subcommand> …` as a person or another CI
//!   runs it (environment from scratch, stdin, expected exit code).
//!
//! A new test, typically:
//!
//! ```ignore
//! let sts = StsStandIn::new().github_token("repo:o/r:ref:refs/heads/main").assume(WEB_IDENTITY);
//! let out = Scenario::oidc_step(&sts).input("role-session-name", "x").run();
//! out.assert_success();
//! assert_eq!(out.sts_calls()[0]["RoleSessionName"], "x");
//! assert_eq!(out.exported_env()["AWS_ACCESS_KEY_ID"], ACCESS_KEY_ID);
//! ```
//!
//! A test that needs Docker, moto or act: `#[ignore = "needs moto: run by
//! scripts/test.sh"]` and `require(&[Tool::Moto])` as its first line.
#![allow(dead_code)]

pub mod docker;
pub mod manifest;
pub mod moto;
pub mod process;
pub mod runner;
pub mod scan;
pub mod scenario;
pub mod stand_in;
pub mod subcommand;
pub mod token_endpoint;
pub mod tools;

pub use scenario::Scenario;
pub use stand_in::StsStandIn;
pub use subcommand::Subcommand;
pub use tools::{require, Tool};

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";
pub const ASSUMED_ARN: &str = "arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions";
pub const ACCESS_KEY_ID: &str = "ASIAISSUEDBYSTS00001";
pub const SECRET_KEY: &str = "issuedSecretKeyFromSTS0000000000000000000";
pub const SESSION_TOKEN: &str = "IssuedSessionTokenFromSTS//////////EXAMPLE+TOKEN=";
/// ACTIONS_ID_TOKEN_REQUEST_TOKEN in scenarios.
pub const REQUEST_TOKEN: &str = "runner-request-bearer-token";
pub const LOCALHOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The files under `dir` (recursively) whose extension is `ext`, sorted.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_keyless-aws"))
}

pub fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on {ip}: {e}"))
}

/// A 127.0.0.1 URL nothing listens on (a port bound and released).
pub fn closed_url() -> String {
    format!("http://127.0.0.1:{}", free_port(LOCALHOST))
}

/// Hex from the kernel's random source.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("/dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signature segment of every test JWT: RS256's length (256 bytes), and a
/// distinctive prefix a leak scan can look for (nothing in the tests verifies it).
pub const JWT_SIGNATURE: &str = "SiGnAtUrEjwtLeakCanary7Q2ZK9CzBVep_E6Q4zWH2ix-wRNluApcrvFDleg6jN8hc8YYar0PUaP2SJrtP4HUJnjLHW-yBFao-02f4jSG2St9wBJktwlbrfBClOc5i94gcsUXabwOUKL1R5nsPoDTJXfKHG6xA1Wn-kye4TOF2Cp8zxFjtgharP9Bk-Y4it0vccQWaLsNX6H0RpjrPY_SJHbJG22wAlSm-Uud4DKE1yl7zhBitQdZq_5AkuU3idwucMMVZ7oMXqDzRZfqPI7RI3XIGmy_AVOl-Eqc7zGD1ih6zR9htAZYqv1PkeQ2iNstf8IUZrkLXa_yRJbpO43Q";

/// The one JWT builder of the tests: these claims, signed with [`JWT_SIGNATURE`].
pub fn jwt(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}.{JWT_SIGNATURE}",
        enc(r#"{"alg":"RS256","typ":"JWT","kid":"test"}"#),
        enc(&claims.to_string())
    )
}

pub fn github_claims(sub: &str) -> serde_json::Value {
    serde_json::json!({
        "sub": sub, "aud": "sts.amazonaws.com", "iss": "https://token.actions.githubusercontent.com",
        "repository": "octo-org/octo-repo", "ref": "refs/heads/main", "event_name": "push",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main"
    })
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\r', "&#13;")
        .replace('\n', "&#10;")
}

/// Credentials an STS answer carries.
#[derive(Debug, Clone)]
pub struct Creds {
    pub key_id: String,
    pub secret: String,
    pub token: String,
}

impl Creds {
    /// The fixed credentials of [`ACCESS_KEY_ID`], [`SECRET_KEY`], [`SESSION_TOKEN`].
    pub fn standard() -> Creds {
        Creds {
            key_id: ACCESS_KEY_ID.into(),
            secret: SECRET_KEY.into(),
            token: SESSION_TOKEN.into(),
        }
    }
}

/// When the credentials of [`sts_assume_xml`] expire.
pub const EXPIRATION: &str = "2030-01-01T00:00:00Z";

/// STS's answer to AssumeRole / AssumeRoleWithWebIdentity, expiring at [`EXPIRATION`].
pub fn sts_assume_xml(op: &str, creds: &Creds, arn: &str) -> String {
    sts_assume_xml_until(op, creds, arn, EXPIRATION)
}

/// STS's answer to AssumeRole / AssumeRoleWithWebIdentity (values XML-escaped).
pub fn sts_assume_xml_until(op: &str, creds: &Creds, arn: &str, expiration: &str) -> String {
    format!(
        r#"<{op}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{op}Result><Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser></{op}Result><ResponseMetadata><RequestId>req-ok</RequestId></ResponseMetadata></{op}Response>"#,
        xml_escape(&creds.key_id),
        xml_escape(&creds.secret),
        xml_escape(&creds.token),
        xml_escape(expiration),
        xml_escape(arn)
    )
}

/// STS's answer to GetCallerIdentity (values XML-escaped).
pub fn sts_caller_xml(account: &str, arn: &str) -> String {
    format!(
        r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>{}</Arn><UserId>AIDA</UserId><Account>{}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-gci</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#,
        xml_escape(arn),
        xml_escape(account)
    )
}

/// The request id of the error answers the tests build when the id does not matter.
pub const ERROR_REQUEST_ID: &str = "req-err-42";

/// The one builder of STS's error answer (values XML-escaped).
pub fn sts_error_xml(code: &str, message: &str, request_id: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>"#,
        xml_escape(code),
        xml_escape(message),
        xml_escape(request_id)
    )
}

/// Parses a GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE file the way the runner does:
/// `NAME=VALUE` lines and `NAME<<DELIMITER` … `DELIMITER` blocks, in order.
pub fn parse_file_commands(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut lines = text.split('\n');
    for _ in 0..1_000_000 {
        let Some(line) = lines.next() else {
            return Ok(out);
        };
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        match (line.find("<<"), line.find('=')) {
            (Some(h), e) if e.is_none_or(|e| h < e) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!("bad heredoc line {line:?}"));
                }
                let mut value = Vec::new();
                loop {
                    match lines.next() {
                        None => return Err(format!("{name}: no closing delimiter {delimiter:?}")),
                        Some(l) if l.strip_suffix('\r').unwrap_or(l) == delimiter => break,
                        Some(l) => value.push(l),
                    }
                }
                out.push((name.to_owned(), value.join("\n")));
            }
            (_, Some(e)) => out.push((line[..e].to_owned(), line[e + 1..].to_owned())),
            _ => {
                return Err(format!(
                    "line is neither NAME=VALUE nor NAME<<DELIMITER: {line:?}"
                ))
            }
        }
    }
    Err("file too long".into())
}

/// [`parse_file_commands`] as a map (the last value of a name wins, as for the runner).
pub fn file_commands_map(text: &str) -> BTreeMap<String, String> {
    parse_file_commands(text)
        .unwrap_or_else(|e| panic!("malformed runner file ({e}):\n{text}"))
        .into_iter()
        .collect()
}

pub fn as_map(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    pairs.iter().cloned().collect()
}

/// A plain HTTP/1.1 GET (Connection: close), enough for moto's JSON endpoints.
pub fn http_get(ip: IpAddr, port: u16, path: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {ip}:{port}\r\nConnection: close\r\nAccept: application/json\r\n\r\n").map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> Result<String, String> {
    let mut out = String::new();
    for _ in 0..100_000 {
        let (size_line, after) = rest.split_once("\r\n").ok_or("bad chunk")?;
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| e.to_string())?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(after.get(..size).ok_or("short chunk")?);
        rest = after.get(size + 2..).ok_or("short chunk")?;
    }
    Err("too many chunks".into())
}

/// SHA-256 of `data` as lowercase hex, via `sha256sum` (std has no hash function).
pub fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    use std::process::{Command, Stdio};
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.as_ref())
        .unwrap();
    let out = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}
