//! `keyless-aws dev-token-server` run as a user runs it: the real binary on
//! 127.0.0.1, its printed lines parsed, its tokens requested over TCP, their
//! signatures checked against the keys it serves (with ring, not with its own code),
//! and the action's main path run against it and moto's STS.

use crate::support::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running dev-token-server, stopped with SIGTERM when dropped.
struct DevServer {
    /// Its working directory lives as long as the server.
    _run: Subcommand,
    child: Child,
    addr: SocketAddr,
    issuer: String,
    request_url: String,
    request_token: String,
    stderr: tempfile::NamedTempFile,
}

impl DevServer {
    fn start(args: &[&str]) -> DevServer {
        let stderr = tempfile::NamedTempFile::new().unwrap();
        // Bounded even if this test process dies.
        let bound: &[&str] = if args.contains(&"--max-seconds") {
            &[]
        } else {
            &["--max-seconds", "120"]
        };
        let run = Subcommand::new("dev-token-server")
            .args(&["--listen", "127.0.0.1:0"])
            .args(bound)
            .args(args);
        let mut child = run
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .unwrap();
        // Four lines, then nothing more on stdout; EOF (the server exited) ends the read.
        let mut lines = Vec::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        for _ in 0..4 {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                break;
            }
            lines.push(line.trim_end().to_owned());
        }
        let err = std::fs::read_to_string(stderr.path()).unwrap_or_default();
        assert_eq!(lines.len(), 4, "stdout {lines:?}, stderr:\n{err}");
        let addr = lines[0]
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("first line is not `listening on IP:PORT`: {lines:?}"));
        let issuer = lines[1]
            .strip_prefix("issuer ")
            .expect("issuer line")
            .to_owned();
        let request_url = lines[2]
            .strip_prefix("--env ACTIONS_ID_TOKEN_REQUEST_URL=")
            .expect("request URL line")
            .to_owned();
        let request_token = lines[3]
            .strip_prefix("--env ACTIONS_ID_TOKEN_REQUEST_TOKEN=")
            .expect("request token line")
            .to_owned();
        DevServer {
            _run: run,
            child,
            addr,
            issuer,
            request_url,
            request_token,
            stderr,
        }
    }

    fn get(&self, target: &str, authorization: Option<&str>) -> (u16, Value) {
        http_get(self.addr, target, authorization)
    }

    /// The token for `audience` (None: no audience parameter), with the right bearer.
    fn token(&self, audience: Option<&str>) -> String {
        let url = url::Url::parse(&self.request_url).unwrap();
        let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        let target = match audience {
            Some(a) => format!("{path}&audience={a}"),
            None => path,
        };
        let (status, body) = self.get(&target, Some(&format!("bearer {}", self.request_token)));
        assert_eq!(status, 200, "{body}");
        body["value"].as_str().expect("value").to_owned()
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// Waits (bounded) for the server to exit by itself.
    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One GET over a fresh connection; the server closes it after the answer.
fn http_get(addr: SocketAddr, target: &str, authorization: Option<&str>) -> (u16, Value) {
    let (status, body) = raw_request(addr, &{
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{auth}Accept: application/json\r\n\r\n")
    });
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{target}: {e}: {body}"));
    (status, json)
}

fn raw_request(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("Content-Length");
    assert_eq!(body.len(), length, "body length matches Content-Length");
    (status, body.to_owned())
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Verifies `token` against the JWKS the server names in its OpenID configuration,
/// and returns its claims. Panics when the signature does not verify.
fn verified_claims(server: &DevServer, token: &str) -> Value {
    let (status, config) = server.get("/.well-known/openid-configuration", None);
    assert_eq!(status, 200);
    let jwks_uri = config["jwks_uri"].as_str().unwrap();
    let jwks_path = url::Url::parse(jwks_uri).unwrap().path().to_owned();
    assert_eq!(jwks_path, "/.well-known/jwks");
    let (status, jwks) = server.get(&jwks_path, None);
    assert_eq!(status, 200);

    let (signing_input, sig) = token.rsplit_once('.').unwrap();
    let header = decode_part(signing_input.split('.').next().unwrap());
    let alg = header["alg"].as_str().unwrap();
    assert!(
        config["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == alg),
        "{config}"
    );
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap_or_else(|| panic!("no key {} in {jwks}", header["kid"]));
    let b = |name: &str| URL_SAFE_NO_PAD.decode(key[name].as_str().unwrap()).unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let ok = match alg {
        "ES256" => {
            assert_eq!(
                (key["kty"].as_str(), key["crv"].as_str()),
                (Some("EC"), Some("P-256"))
            );
            let mut point = vec![4u8];
            point.extend(b("x"));
            point.extend(b("y"));
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(signing_input.as_bytes(), &sig)
                .is_ok()
        }
        "RS256" => signature::RsaPublicKeyComponents {
            n: b("n"),
            e: b("e"),
        }
        .verify(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            signing_input.as_bytes(),
            &sig,
        )
        .is_ok(),
        other => panic!("unexpected alg {other}"),
    };
    assert!(ok, "the signature does not verify against the served JWKS");
    let claims = decode_part(signing_input.split('.').nth(1).unwrap());
    assert_eq!(claims["iss"], config["issuer"]);
    claims
}

#[test]
fn prints_env_lines_refuses_wrong_bearers_and_signs_what_its_jwks_verifies() {
    let server = DevServer::start(&[]);
    assert_eq!(server.issuer, format!("http://{}", server.addr));
    assert_eq!(
        server.request_url,
        format!("http://{}/token?api-version=2.0", server.addr)
    );
    assert!(server.request_token.len() >= 32);

    let target = "/token?api-version=2.0&audience=sts.amazonaws.com";
    for auth in [
        None,
        Some("bearer wrong".to_owned()),
        Some(format!("basic {}", server.request_token)),
        Some(format!("bearer {}x", server.request_token)),
    ] {
        let (status, body) = server.get(target, auth.as_deref());
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("bearer"),
            "{body}"
        );
        assert!(body.get("value").is_none());
    }

    let token = server.token(Some("sts.amazonaws.com"));
    let claims = verified_claims(&server, &token);
    assert_eq!(claims["aud"], "sts.amazonaws.com");
    assert_eq!(claims["sub"], "repo:octo-org/octo-repo:ref:refs/heads/main");
    assert_eq!(claims["repository"], "octo-org/octo-repo");
    assert_eq!(claims["repository_owner"], "octo-org");
    assert_eq!(claims["ref"], "refs/heads/main");
    assert_eq!(claims["ref_type"], "branch");
    assert_eq!(claims["event_name"], "push");
    assert_eq!(
        claims["job_workflow_ref"],
        "octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main"
    );
    assert!(claims.get("environment").is_none());
    let (iat, exp, nbf) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
        claims["nbf"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 300);
    assert!(nbf <= iat);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((iat - now).abs() < 60, "iat {iat} now {now}");
    for name in ["jti", "run_id", "actor", "sha", "workflow_ref"] {
        assert!(claims[name].is_string(), "{name}: {claims}");
    }
    // Each token is its own.
    let again = verified_claims(&server, &server.token(Some("sts.amazonaws.com")));
    assert_ne!(again["jti"], claims["jti"]);

    // A tampered payload fails the same verification.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut forged = claims.clone();
    forged["sub"] = "repo:evil/repo:ref:refs/heads/main".into();
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    let forged = parts.join(".");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        verified_claims(&server, &forged)
    }));
    assert!(result.is_err(), "a forged token verified");

    // Without an audience parameter, GitHub's default: the owner's URL.
    let claims = verified_claims(&server, &server.token(None));
    assert_eq!(claims["aud"], "https://github.com/octo-org");

    // An empty or repeated audience is refused, not guessed.
    let bearer = format!("bearer {}", server.request_token);
    for query in ["audience=", "audience=a&audience=b", "audience=a%20b"] {
        let (status, body) = server.get(&format!("/token?api-version=2.0&{query}"), Some(&bearer));
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.get("value").is_none());
    }

    // Other paths and methods, and a malformed request.
    assert_eq!(server.get("/nope", None).0, 404);
    let (status, _) = raw_request(
        server.addr,
        "POST /token HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(status, 405);
    let (status, _) = raw_request(server.addr, "GET nope\r\n\r\n");
    assert_eq!(status, 400);

    // The log names each request and never a token.
    let log = server.stderr_text();
    assert!(log.contains("GET \"/token\" -> 401"), "{log}");
    assert!(
        log.contains("GET \"/token\" audience=\"sts.amazonaws.com\" -> 200"),
        "{log}"
    );
    assert!(log.contains("real AWS rejects these tokens"), "{log}");
    assert!(!log.contains(&server.request_token), "request token logged");
    assert!(!log.contains(&token), "JWT logged");
    assert!(!log.contains(token.split('.').nth(2).unwrap()));
}

#[test]
fn claim_shapes_follow_the_flags() {
    struct Case {
        args: &'static [&'static str],
        sub: &'static str,
        git_ref: &'static str,
        ref_type: &'static str,
        event: &'static str,
        environment: Option<&'static str>,
        job_workflow_ref: &'static str,
    }
    let cases = [
        Case {
            args: &["--repo", "acme/app", "--environment", "production"],
            sub: "repo:acme/app:environment:production",
            git_ref: "refs/heads/main",
            ref_type: "branch",
            event: "push",
            environment: Some("production"),
            job_workflow_ref: "acme/app/.github/workflows/ci.yml@refs/heads/main",
        },
        Case {
            args: &["--repo", "acme/app", "--event", "pull_request"],
            sub: "repo:acme/app:pull_request",
            git_ref: "refs/pull/1/merge",
            ref_type: "branch",
            event: "pull_request",
            environment: None,
            job_workflow_ref: "acme/app/.github/workflows/ci.yml@refs/pull/1/merge",
        },
        Case {
            // An environment wins over pull_request, as on GitHub.
            args: &[
                "--repo",
                "acme/app",
                "--event",
                "pull_request",
                "--environment",
                "staging",
            ],
            sub: "repo:acme/app:environment:staging",
            git_ref: "refs/pull/1/merge",
            ref_type: "branch",
            event: "pull_request",
            environment: Some("staging"),
            job_workflow_ref: "acme/app/.github/workflows/ci.yml@refs/pull/1/merge",
        },
        Case {
            args: &[
                "--repo",
                "acme/app",
                "--ref",
                "refs/tags/v1.2.3",
                "--event",
                "release",
                "--workflow",
                ".github/workflows/release.yml",
            ],
            sub: "repo:acme/app:ref:refs/tags/v1.2.3",
            git_ref: "refs/tags/v1.2.3",
            ref_type: "tag",
            event: "release",
            environment: None,
            job_workflow_ref: "acme/app/.github/workflows/release.yml@refs/tags/v1.2.3",
        },
        Case {
            args: &[
                "--repo",
                "acme/app",
                "--ref=refs/heads/feature/x",
                "--event=workflow_dispatch",
            ],
            sub: "repo:acme/app:ref:refs/heads/feature/x",
            git_ref: "refs/heads/feature/x",
            ref_type: "branch",
            event: "workflow_dispatch",
            environment: None,
            job_workflow_ref: "acme/app/.github/workflows/ci.yml@refs/heads/feature/x",
        },
    ];
    for case in cases {
        let server = DevServer::start(case.args);
        let claims = verified_claims(&server, &server.token(Some("sts.amazonaws.com")));
        let what = format!("{:?}: {claims}", case.args);
        assert_eq!(claims["sub"], case.sub, "{what}");
        assert_eq!(claims["ref"], case.git_ref, "{what}");
        assert_eq!(claims["ref_type"], case.ref_type, "{what}");
        assert_eq!(claims["event_name"], case.event, "{what}");
        assert_eq!(claims["repository"], "acme/app", "{what}");
        assert_eq!(claims["repository_owner"], "acme", "{what}");
        assert_eq!(claims["job_workflow_ref"], case.job_workflow_ref, "{what}");
        assert_eq!(claims["workflow_ref"], case.job_workflow_ref, "{what}");
        assert_eq!(
            claims.get("environment").and_then(Value::as_str),
            case.environment,
            "{what}"
        );
    }

    // --issuer: the iss claim and the OpenID configuration follow it.
    let server = DevServer::start(&["--issuer", "https://token.actions.githubusercontent.com"]);
    assert_eq!(server.issuer, "https://token.actions.githubusercontent.com");
    let token = server.token(Some("sts.amazonaws.com"));
    let (_, config) = server.get("/.well-known/openid-configuration", None);
    assert_eq!(
        config["issuer"],
        "https://token.actions.githubusercontent.com"
    );
    assert_eq!(
        config["jwks_uri"],
        "https://token.actions.githubusercontent.com/.well-known/jwks"
    );
    let claims = verified_claims(&server, &token);
    assert_eq!(claims["iss"], "https://token.actions.githubusercontent.com");
}

#[test]
fn each_start_has_a_fresh_key_and_key_file_gives_rs256() {
    let one = DevServer::start(&[]);
    let two = DevServer::start(&[]);
    let kid = |s: &DevServer| s.get("/.well-known/jwks", None).1["keys"][0]["kid"].clone();
    assert_ne!(kid(&one), kid(&two));
    // A token from one server does not verify against the other's keys.
    let token = one.token(Some("x"));
    let header = decode_part(token.split('.').next().unwrap());
    assert_eq!(header["alg"], "ES256");
    assert!(
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| verified_claims(
            &two, &token
        )))
        .is_err()
    );

    // An RSA key made by openssl: RS256, GitHub's algorithm, verified by ring.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .output()
        .expect("openssl (apt-get install openssl) makes the test key");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = DevServer::start(&["--key-file", key.to_str().unwrap()]);
    let token = server.token(Some("sts.amazonaws.com"));
    assert_eq!(
        decode_part(token.split('.').next().unwrap())["alg"],
        "RS256"
    );
    let claims = verified_claims(&server, &token);
    assert_eq!(claims["aud"], "sts.amazonaws.com");
    let key_text = std::fs::read_to_string(&key).unwrap();
    let body_line = key_text.lines().nth(1).unwrap();
    assert!(
        !server.stderr_text().contains(body_line),
        "key material logged"
    );

    // And a P-256 PKCS#8 key from openssl: ES256 with that key.
    let ec = dir.path().join("ec.pem");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&ec)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let same = [
        "--key-file",
        ec.to_str().unwrap(),
        "--issuer",
        "https://issuer.test",
    ];
    let a = DevServer::start(&same);
    let b = DevServer::start(&same);
    assert_eq!(kid(&a), kid(&b), "the same key file gives the same key");
    let token = a.token(Some("x"));
    verified_claims(&b, &token);
}

#[test]
fn bad_flags_fail_clearly_and_nothing_listens() {
    let dir = tempfile::tempdir().unwrap();
    let sec1 = dir.path().join("sec1.pem");
    std::fs::write(
        &sec1,
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    )
    .unwrap();
    let sec1 = sec1.to_str().unwrap().to_owned();
    for (args, needle) in [
        (vec!["--ref", "main"], "refs/heads/main"),
        (vec!["--repo", "justone"], "OWNER/REPO"),
        (vec!["--listen", "0.0.0.0:0"], "--url-host"),
        (vec!["--listen", "localhost"], "IP address"),
        (vec!["--environment", "a b"], "environment name"),
        (vec!["--max-requests", "0"], "whole number"),
        (vec!["--frobnicate"], "invalid option '--frobnicate'"),
        (vec!["--key-file", "/nonexistent/key.pem"], "--key-file"),
        (vec!["--key-file", sec1.as_str()], "openssl pkcs8 -topk8"),
    ] {
        let out = Subcommand::new("dev-token-server")
            .args(&args)
            .expect_code(2)
            .run();
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    }
    let out = Subcommand::new("dev-token-server")
        .arg("--help")
        .expect_code(0)
        .run();
    let help = out.stdout;
    for needle in [
        "REAL AWS REJECTS THESE TOKENS",
        "--listen",
        "--url-host",
        "--max-seconds",
        "ES256",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn stops_by_itself_after_max_requests_and_max_seconds() {
    let mut server = DevServer::start(&["--max-requests", "2"]);
    // Issue 22.6: connections without the request token do not count (they used to,
    // so anyone on the machine could stop the server): idle connections beyond the
    // concurrency cap, key requests, wrong bearers, malformed heads.
    let idle: Vec<TcpStream> = (0..40)
        .filter_map(|_| TcpStream::connect_timeout(&server.addr, Duration::from_secs(2)).ok())
        .collect();
    drop(idle);
    for _ in 0..3 {
        assert_eq!(server.get("/.well-known/jwks", None).0, 200);
        assert_eq!(server.get("/token?audience=x", Some("bearer wrong")).0, 401);
        assert_eq!(raw_request(server.addr, "GET x HTTP/1.1\r\n\r\n").0, 400);
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "stopped by unauthenticated requests"
    );
    server.token(None);
    server.token(Some("sts.amazonaws.com"));
    let status = server.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "{status}");
    assert!(
        server
            .stderr_text()
            .contains("signed 2 tokens (--max-requests)"),
        "{}",
        server.stderr_text()
    );
    assert!(TcpStream::connect_timeout(&server.addr, Duration::from_secs(2)).is_err());

    let started = Instant::now();
    let mut server = DevServer::start(&["--max-seconds", "1"]);
    let status = server.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "{status}");
    assert!(started.elapsed() < Duration::from_secs(12));
    assert!(server.stderr_text().contains("--max-seconds reached"));

    // A client that sends nothing is dropped after the per-connection limit, and
    // SIGTERM ends the server cleanly.
    let mut server = DevServer::start(&[]);
    let mut idle = TcpStream::connect(server.addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let waited = Instant::now();
    let mut buf = Vec::new();
    let _ = idle.read_to_end(&mut buf);
    assert!(
        waited.elapsed() < Duration::from_secs(20),
        "{:?}",
        waited.elapsed()
    );
    unsafe {
        libc::kill(server.child.id() as libc::pid_t, libc::SIGTERM);
    }
    assert!(server.wait_exit(Duration::from_secs(15)).success());
    assert!(server.stderr_text().contains("stopped by SIGTERM"));
}

/// The action's main path, token from the dev server, STS from moto: what a user of
/// the act recipe gets, without act.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run by scripts/test.sh"]
async fn action_gets_credentials_from_moto_with_a_dev_server_token() {
    require(&[Tool::Moto]);
    let moto = crate::support::moto::Moto::start(LOCALHOST);
    let server = DevServer::start(&["--repo", "acme/app", "--environment", "production"]);
    let s = Scenario::new()
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &server.request_url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &server.request_token)
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", &moto.url())
        .input("role-session-name", "dev-token-run");
    let out = tokio::task::spawn_blocking(move || s.run()).await.unwrap();
    out.assert_success();
    let env = out.exported_env();
    assert!(env["AWS_ACCESS_KEY_ID"].starts_with("ASIA"), "{env:?}");
    assert_eq!(
        out.outputs()["authenticated-arn"],
        "arn:aws:sts::123456789012:assumed-role/deploy/dev-token-run"
    );
    out.assert_masked_and_not_leaked(&[
        &env["AWS_ACCESS_KEY_ID"],
        &env["AWS_SECRET_ACCESS_KEY"],
        &env["AWS_SESSION_TOKEN"],
    ]);
    // The request token shows only in the action's own mask line.
    for line in out
        .stdout
        .lines()
        .filter(|l| l.contains(&server.request_token))
    {
        assert_eq!(line, format!("::add-mask::{}", server.request_token));
    }
    assert!(!out.stderr.contains(&server.request_token));
    // The action asked with its default audience, and was answered.
    let log = server.stderr_text();
    assert!(
        log.contains("GET \"/token\" audience=\"sts.amazonaws.com\" -> 200"),
        "{log}"
    );
}

/// `keyless-aws dev-sts` on 127.0.0.1 in front of moto, with `args`; stdout's first
/// two lines read (its address and act's `--env` line); stopped when dropped.
struct DevSts {
    child: Child,
    url: String,
    stderr: tempfile::NamedTempFile,
}

impl DevSts {
    fn start(args: &[String]) -> DevSts {
        let stderr = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_keyless-aws"))
            .args(["dev-sts", "--listen", "127.0.0.1:0", "--max-seconds", "120"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                break;
            }
            lines.push(line.trim_end().to_owned());
        }
        let err = std::fs::read_to_string(stderr.path()).unwrap_or_default();
        let url = lines
            .get(1)
            .and_then(|l| l.strip_prefix("--env AWS_ENDPOINT_URL_STS="))
            .unwrap_or_else(|| panic!("stdout {lines:?}, stderr:\n{err}"))
            .to_owned();
        DevSts { child, url, stderr }
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }
}

impl Drop for DevSts {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 21.3 without act: the action against dev-sts answers as against AWS. A
/// token the policy admits gets moto's credentials; a role whose policy does not
/// admit it, an audience the provider does not list and an issuer that is not the
/// provider each fail with AWS's error and the action's usual explanation.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run by scripts/test.sh"]
async fn dev_sts_enforces_the_trust_policy_the_audience_and_the_issuer() {
    require(&[Tool::Moto]);
    let moto = crate::support::moto::Moto::start(LOCALHOST);
    let github = "https://token.actions.githubusercontent.com";
    let server = DevServer::start(&["--repo", "acme/app", "--issuer", github]);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("trust.json");
    std::fs::write(
        &policy,
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/app:ref:refs/heads/main"}}}]})
        .to_string(),
    )
    .unwrap();
    let jwks = format!("http://{}/.well-known/jwks", server.addr);
    let sts_for = |issuer: &str| {
        DevSts::start(&[
            "--jwks-url".into(),
            jwks.clone(),
            "--forward".into(),
            moto.url(),
            "--issuer".into(),
            issuer.into(),
            "--trust-policy".into(),
            format!("{ROLE}={}", policy.display()),
        ])
    };
    let (request_url, request_token) = (server.request_url.clone(), server.request_token.clone());
    let run = move |sts: &str, role: &str, audience: &str| {
        let s = Scenario::new()
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", &request_url)
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &request_token)
            .input("role-to-assume", role)
            .input("aws-region", "eu-west-1")
            .input("audience", audience)
            .input("sts-endpoint", sts)
            .input("role-session-name", "dev-sts-run");
        s.run()
    };
    let sts = sts_for(github);
    let url = sts.url.clone();
    let run_again = run.clone();
    let (admitted, other_role, audience) = tokio::task::spawn_blocking(move || {
        (
            run(&url, ROLE, "sts.amazonaws.com"),
            run(
                &url,
                "arn:aws:iam::123456789012:role/other",
                "sts.amazonaws.com",
            ),
            run(&url, ROLE, "my-audience"),
        )
    })
    .await
    .unwrap();
    admitted.assert_success();
    assert!(admitted.exported_env()["AWS_ACCESS_KEY_ID"].starts_with("ASIA"));
    other_role.assert_failed_cleanly();
    assert!(
        other_role
            .error_line()
            .ends_with("AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"),
        "{}",
        other_role.error_line()
    );
    assert!(other_role
        .stdout
        .contains("The role's trust policy did not match this token"));
    audience.assert_failed_cleanly();
    assert!(
        audience
            .error_line()
            .ends_with("InvalidIdentityToken: Incorrect token audience"),
        "{}",
        audience.error_line()
    );
    assert!(audience
        .stdout
        .contains("add-client-id-to-open-id-connect-provider"));
    let log = sts.stderr_text();
    assert!(
        log.contains("role/other -> AccessDenied: no --trust-policy names"),
        "{log}"
    );

    // A provider other than the token's issuer: AWS's "No OpenIDConnect provider".
    let sts = sts_for("https://gitlab.example.com");
    let url = sts.url.clone();
    let out = tokio::task::spawn_blocking(move || run_again(&url, ROLE, "sts.amazonaws.com"))
        .await
        .unwrap();
    out.assert_failed_cleanly();
    assert!(
        out.error_line().ends_with(&format!(
            "InvalidIdentityToken: No OpenIDConnect provider found in your account for {github}"
        )),
        "{}",
        out.error_line()
    );
    assert!(
        out.stdout.contains("create-open-id-connect-provider"),
        "{}",
        out.stdout
    );
}
