//! Oversized, malformed and slow answers from the token endpoint and from STS: the
//! binary must end each one in bounded time and memory, with a clear `::error`,
//! having exported nothing.
//!
//! A small raw HTTP server (std only, 127.0.0.1, a bounded number of connections,
//! each handled for a bounded time) plays the hostile side: huge and endless bodies,
//! invalid JSON/XML, wrong content types, redirects, a body dripped one byte at a time
//! and a server that never answers. Peak memory is read from /proc while the binary
//! runs. Cases run in parallel; the slowest is STS timing out three times, about 25 s.

use crate::support::{jwt, sts_error_xml, Scenario, ERROR_REQUEST_ID, ROLE};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest any case may take, whatever the binary does.
const CASE_LIMIT: Duration = Duration::from_secs(60);
/// Longest the hostile server keeps a connection.
const CONNECTION_LIMIT: Duration = Duration::from_secs(45);

#[derive(Clone)]
enum Behaviour {
    /// A whole answer at once.
    Respond {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// A 200 whose body is sent as chunks without end (up to `max` bytes, then held).
    Endless {
        content_type: &'static str,
        chunk: Vec<u8>,
        max: usize,
    },
    /// Headers, then the body one byte every `every`.
    Drip {
        content_type: &'static str,
        body: Vec<u8>,
        every: Duration,
    },
    /// Accepts the connection and never answers.
    Silent,
}

/// A hostile HTTP server on 127.0.0.1; stops accepting when dropped.
struct Hostile {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

fn serve(behaviour: Behaviour) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        let started = Instant::now();
        // At most 20 connections (retries included), for at most CONNECTION_LIMIT.
        for conn in listener.incoming().take(20) {
            if flag.load(Ordering::Relaxed) || started.elapsed() > CONNECTION_LIMIT {
                break;
            }
            let Ok(conn) = conn else { continue };
            let (b, f) = (behaviour.clone(), flag.clone());
            std::thread::spawn(move || handle(conn, b, f));
        }
    });
    Hostile { port, stop }
}

fn read_request(conn: &mut TcpStream) -> bool {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut byte = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
        if buf.len() > 1 << 20 {
            return false;
        }
    }
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < length.min(1 << 20) {
        match conn.read(&mut byte) {
            Ok(0) | Err(_) => break,
            Ok(n) => have += n,
        }
    }
    true
}

fn handle(mut conn: TcpStream, behaviour: Behaviour, stop: Arc<AtomicBool>) {
    let started = Instant::now();
    let alive =
        |stop: &AtomicBool| !stop.load(Ordering::Relaxed) && started.elapsed() < CONNECTION_LIMIT;
    if !read_request(&mut conn) {
        return;
    }
    let _ = conn.set_write_timeout(Some(Duration::from_secs(5)));
    match behaviour {
        Behaviour::Respond {
            status,
            content_type,
            body,
        } => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nLocation: http://127.0.0.1:9/elsewhere\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn
                .write_all(head.as_bytes())
                .and_then(|_| conn.write_all(&body));
        }
        Behaviour::Endless {
            content_type,
            chunk,
            max,
        } => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n");
            if conn.write_all(head.as_bytes()).is_err() {
                return;
            }
            let framed = [
                format!("{:x}\r\n", chunk.len()).into_bytes(),
                chunk,
                b"\r\n".to_vec(),
            ]
            .concat();
            let mut sent = 0;
            while sent < max && alive(&stop) {
                if conn.write_all(&framed).is_err() {
                    return; // the client gave up: what we want
                }
                sent += framed.len();
            }
            while alive(&stop) {
                std::thread::sleep(Duration::from_millis(100)); // hold it open, silent
            }
        }
        Behaviour::Drip {
            content_type,
            body,
            every,
        } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if conn.write_all(head.as_bytes()).is_err() {
                return;
            }
            for b in body {
                if !alive(&stop) || conn.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(every);
            }
        }
        Behaviour::Silent => {
            while alive(&stop) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

struct Outcome {
    success: bool,
    elapsed: Duration,
    peak_rss_mib: u64,
    stdout: String,
    exported: bool,
}

fn run(inputs: &[(&str, String)], env: &[(&str, String)]) -> Outcome {
    let mut s = Scenario::bare()
        .input("aws-region", "eu-west-1")
        .limit(CASE_LIMIT);
    for (k, v) in inputs {
        s = s.input(k, v);
    }
    for (k, v) in env {
        s = s.env(k, v);
    }
    let out = s.run_bounded();
    Outcome {
        success: out.code == 0,
        elapsed: out.elapsed,
        peak_rss_mib: out.peak_rss_kib / 1024,
        exported: !out.env_file.is_empty() || !out.output_file.is_empty(),
        stdout: out.stdout,
    }
}

struct Case {
    name: &'static str,
    /// Whose answer is hostile.
    token_side: bool,
    behaviour: Behaviour,
    extra_inputs: Vec<(&'static str, &'static str)>,
    /// The `::error` message must contain this.
    expect: &'static str,
    max_seconds: u64,
    max_rss_mib: u64,
}

/// The token the endpoint hands out where the token side is not the hostile one.
fn token() -> String {
    jwt(&serde_json::json!({"sub": "repo:o/r:ref:refs/heads/main", "aud": "sts.amazonaws.com"}))
}

fn cases() -> Vec<Case> {
    let huge_json = [
        b"{\"value\":\"".to_vec(),
        vec![b'A'; 8 << 20],
        b"\"}".to_vec(),
    ]
    .concat();
    let huge_xml = [
        b"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>".to_vec(),
        vec![b'A'; 64 << 20],
        b"</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>".to_vec(),
    ]
    .concat();
    let xml_error = sts_error_xml("AccessDenied", "no", ERROR_REQUEST_ID).into_bytes();
    let respond = |status, content_type, body: Vec<u8>| Behaviour::Respond {
        status,
        content_type,
        body,
    };
    let t = |name, behaviour, expect, max_seconds| Case {
        name,
        token_side: true,
        behaviour,
        extra_inputs: vec![("retry-max-attempts", "1")],
        expect,
        max_seconds,
        max_rss_mib: 64,
    };
    let s = |name, behaviour, expect, max_seconds, max_rss_mib| Case {
        name,
        token_side: false,
        behaviour,
        extra_inputs: vec![("disable-retry", "true")],
        expect,
        max_seconds,
        max_rss_mib,
    };
    vec![
        t(
            "token: 8 MiB answer",
            respond(200, "application/json", huge_json),
            "larger than",
            5,
        ),
        t(
            "token: endless answer",
            Behaviour::Endless {
                content_type: "application/json",
                chunk: vec![b' '; 16 << 10],
                max: 256 << 20,
            },
            "larger than",
            5,
        ),
        t(
            "token: invalid JSON",
            respond(200, "application/json", b"{\"value\": \"abc".to_vec()),
            "not JSON",
            5,
        ),
        t(
            "token: HTML instead of JSON",
            respond(
                200,
                "text/html",
                b"<html><body>Sign in</body></html>".to_vec(),
            ),
            "not JSON",
            5,
        ),
        t(
            "token: JSON without a value",
            respond(200, "application/json", b"{\"count\": 1}".to_vec()),
            "no `value`",
            5,
        ),
        t(
            "token: value is not a string",
            respond(200, "application/json", b"{\"value\": 42}".to_vec()),
            "not JSON",
            5,
        ),
        t(
            "token: redirect",
            respond(302, "text/plain", Vec::new()),
            "HTTP 302",
            5,
        ),
        t(
            "token: 500 every time",
            respond(500, "text/plain", b"oops".to_vec()),
            "HTTP 500",
            5,
        ),
        Case {
            extra_inputs: vec![],
            ..t(
                "token: 500 every time, default retries",
                respond(503, "text/plain", Vec::new()),
                "HTTP 503",
                15,
            )
        },
        t(
            "token: body dripped",
            Behaviour::Drip {
                content_type: "application/json",
                body: format!("{{\"value\":\"{}\"}}", token()).into_bytes(),
                every: Duration::from_millis(250),
            },
            "timed out",
            15,
        ),
        t("token: never answers", Behaviour::Silent, "timed out", 15),
        Case {
            extra_inputs: vec![("action-timeout-s", "2")],
            ..t(
                "token: never answers, action-timeout-s 2",
                Behaviour::Silent,
                "action-timeout-s",
                5,
            )
        },
        // STS answers are capped at 256 KiB (src/sts.rs, MAX_STS_ANSWER): a huge
        // answer fails at once, whatever its status, with bounded memory.
        s(
            "sts: 64 MiB answer",
            respond(200, "text/xml", huge_xml),
            "length limit exceeded",
            5,
            48,
        ),
        s(
            "sts: 64 MiB error answer",
            respond(
                403,
                "text/xml",
                sts_error_xml("AccessDenied", &"x".repeat(64 << 20), ERROR_REQUEST_ID).into_bytes(),
            ),
            "length limit exceeded",
            5,
            48,
        ),
        s(
            "sts: endless answer",
            Behaviour::Endless {
                content_type: "text/xml",
                chunk: vec![b' '; 64 << 10],
                max: 128 << 20,
            },
            "length limit exceeded",
            5,
            48,
        ),
        s(
            "sts: invalid XML",
            respond(
                200,
                "text/xml",
                b"<AssumeRoleWithWebIdentityResponse><oops".to_vec(),
            ),
            "not an STS response",
            5,
            64,
        ),
        s(
            "sts: JSON instead of XML",
            respond(200, "application/json", b"{\"Credentials\":{}}".to_vec()),
            "not an STS response",
            5,
            64,
        ),
        s(
            "sts: HTML error page",
            respond(
                502,
                "text/html",
                b"<html><h1>502 Bad Gateway</h1></html>".to_vec(),
            ),
            "HTTP 502, text/html",
            5,
            64,
        ),
        s(
            "sts: error with the wrong content type",
            respond(403, "application/json", xml_error),
            "AccessDenied",
            5,
            64,
        ),
        s(
            "sts: body dripped",
            Behaviour::Drip {
                content_type: "text/xml",
                body: vec![b' '; 4096],
                every: Duration::from_millis(250),
            },
            "timed out",
            30,
            64,
        ),
        // With `disable-retry` the SDK's 3 attempts remain (as under the reference),
        // so a timeout is tried again while the 20 s window for transient errors lasts.
        s("sts: never answers", Behaviour::Silent, "timed out", 30, 64),
    ]
}

#[test]
fn hostile_answers_end_in_a_bounded_clear_error() {
    let started = Instant::now();
    let token_ok = serve(Behaviour::Respond {
        status: 200,
        content_type: "application/json",
        body: format!("{{\"value\":\"{}\"}}", token()).into_bytes(),
    });
    let cases = cases();
    let results: Vec<(String, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|case| {
                let token_ok = token_ok.port;
                scope.spawn(move || {
                    let server = serve(case.behaviour.clone());
                    let token_port = if case.token_side {
                        server.port
                    } else {
                        token_ok
                    };
                    let mut inputs: Vec<(&str, String)> = vec![("role-to-assume", ROLE.into())];
                    if !case.token_side {
                        inputs.push(("sts-endpoint", format!("http://127.0.0.1:{}", server.port)));
                    } else {
                        // Never reached; a closed port if it were.
                        inputs.push(("sts-endpoint", "http://127.0.0.1:9".into()));
                    }
                    inputs.extend(case.extra_inputs.iter().map(|(k, v)| (*k, v.to_string())));
                    let env = [
                        (
                            "ACTIONS_ID_TOKEN_REQUEST_URL",
                            format!("http://127.0.0.1:{token_port}/token?api-version=2.0"),
                        ),
                        (
                            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                            "hostile-test-bearer".to_string(),
                        ),
                    ];
                    let out = run(&inputs, &env);
                    drop(server);
                    let error = out
                        .stdout
                        .lines()
                        .find(|l| l.starts_with("::error "))
                        .unwrap_or_default()
                        .to_owned();
                    let mut problems = Vec::new();
                    if out.success || out.exported {
                        problems.push("succeeded or exported something".to_owned());
                    }
                    if error.is_empty() || !error.contains(case.expect) {
                        problems.push(format!(
                            "expected an ::error containing {:?}, got {error:?}",
                            case.expect
                        ));
                    }
                    if out.elapsed > Duration::from_secs(case.max_seconds) {
                        problems.push(format!(
                            "took {:.1?} (bound {} s)",
                            out.elapsed, case.max_seconds
                        ));
                    }
                    if out.peak_rss_mib > case.max_rss_mib {
                        problems.push(format!(
                            "peak memory {} MiB (bound {} MiB)",
                            out.peak_rss_mib, case.max_rss_mib
                        ));
                    }
                    let shown: String = error.chars().take(160).collect();
                    let line = format!(
                        "{:<45} {:>5.1} s {:>5} MiB  {shown}",
                        case.name,
                        out.elapsed.as_secs_f64(),
                        out.peak_rss_mib
                    );
                    (line, problems)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut failed = Vec::new();
    for (line, problems) in &results {
        let _ = writeln!(std::io::stderr(), "hostile: {line}");
        for p in problems {
            failed.push(format!("{line}\n    {p}"));
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "hostile: {} cases, {} failed, {:.0?}",
        results.len(),
        failed.len(),
        started.elapsed()
    );
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// How many hostile answers the test plays (the README's figures block reports it).
pub(crate) fn case_count() -> usize {
    cases().len()
}
