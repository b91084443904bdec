//! `keyless-aws dev-token-server`: a local OIDC token endpoint for act.
//!
//! act runs workflows without GitHub, so a job has no `ACTIONS_ID_TOKEN_REQUEST_URL`.
//! This serves one: GET `/token?…&audience=AUD` with the request token as bearer gives
//! `{"value": "<JWT>"}`, a token signed with this server's key and shaped like GitHub's
//! (see `claims`), and the key is published at the well-known paths so a verifier can
//! check it. Real AWS does not know this issuer and rejects the tokens; moto and
//! LocalStack accept them.
//!
//! Bounded like every server in this project: it stops after `--max-seconds`, after
//! signing `--max-requests` tokens (only requests with the right request token count,
//! see `budget`), or on SIGINT/SIGTERM; it serves at most 32 connections at once,
//! reads at most 16 KiB per request and gives each connection 10 seconds.

pub mod budget;
pub mod claims;
pub mod http;
pub mod options;
pub mod signer;

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// The path of the token endpoint; the printed URL adds the runner's query string.
pub const TOKEN_PATH: &str = "/token";
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
pub const JWKS_PATH: &str = "/.well-known/jwks";

/// Per-connection limit: reading the request and writing the answer.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once, whoever opens them; more wait in the kernel's
/// backlog. This, not `--max-requests`, bounds unauthenticated traffic.
const MAX_CONCURRENT: usize = 32;

/// Why the server could not start.
#[derive(Debug)]
pub struct ListenError {
    pub listen: std::net::SocketAddr,
    pub error: std::io::Error,
}

impl std::fmt::Display for ListenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot listen on {}: {}", self.listen, self.error)
    }
}

/// What every connection handler shares.
struct State {
    options: options::Options,
    signer: signer::Signer,
    issuer: String,
    request_token: String,
    budget: budget::Budget,
}

/// Serves until `--max-seconds`, `--max-requests` tokens or a signal; prints
/// the lines a user passes to act first. Fails only when it cannot listen.
pub async fn serve(options: options::Options, signer: signer::Signer) -> Result<(), ListenError> {
    let listen_error = |error| ListenError {
        listen: options.listen,
        error,
    };
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(listen_error)?;
    let bound = listener.local_addr().map_err(listen_error)?;
    let base = format!("http://{}:{}", options.url_host, bound.port());
    let issuer = options.issuer.clone().unwrap_or_else(|| base.clone());
    let request_token = random_hex(32);

    announce(&options, &signer, bound, &base, &issuer, &request_token);

    let budget = budget::Budget::new(options.max_requests);
    let state = Arc::new(State {
        options,
        signer,
        issuer,
        request_token,
        budget,
    });
    let reason = accept_until_stopped(&listener, &state).await;
    eprintln!("dev-token-server: {reason}; exiting");
    Ok(())
}

/// Accepts and handles connections until a bound or a signal; says which.
async fn accept_until_stopped(listener: &TcpListener, state: &Arc<State>) -> String {
    let deadline = tokio::time::sleep(state.options.max_seconds);
    tokio::pin!(deadline);
    let stop = stop_signal();
    tokio::pin!(stop);
    let spent = state.budget.spent();
    tokio::pin!(spent);
    let mut tasks = tokio::task::JoinSet::new();
    let reason = loop {
        // Reap finished handlers; wait for one when the limit is reached.
        while tasks.try_join_next().is_some() {}
        if tasks.len() >= MAX_CONCURRENT {
            tokio::select! {
                _ = tasks.join_next() => continue,
                _ = &mut spent => break format!("signed {} tokens (--max-requests)", state.budget.granted()),
                _ = &mut deadline => break "--max-seconds reached".to_owned(),
                name = &mut stop => break format!("stopped by {name}"),
            }
        }
        tokio::select! {
            conn = listener.accept() => match conn {
                Ok((stream, peer)) => {
                    let state = Arc::clone(state);
                    tasks.spawn(async move {
                        let _ = tokio::time::timeout(CONNECTION_TIMEOUT, handle(stream, peer, &state)).await;
                    });
                }
                Err(e) => {
                    eprintln!("dev-token-server: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = &mut spent => break format!("signed {} tokens (--max-requests)", state.budget.granted()),
            _ = &mut deadline => break "--max-seconds reached".to_owned(),
            name = &mut stop => break format!("stopped by {name}"),
        }
    };
    // Let requests in flight finish; each is bounded by CONNECTION_TIMEOUT.
    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    reason
}

/// What the server prints at start: on stdout the machine-readable lines (the
/// first parseable by scripts and tests), on stderr the human ones.
fn announce(
    options: &options::Options,
    signer: &signer::Signer,
    bound: std::net::SocketAddr,
    base: &str,
    issuer: &str,
    request_token: &str,
) {
    println!("listening on {bound}");
    println!("issuer {issuer}");
    println!("--env ACTIONS_ID_TOKEN_REQUEST_URL={base}{TOKEN_PATH}?api-version=2.0");
    println!("--env ACTIONS_ID_TOKEN_REQUEST_TOKEN={request_token}");
    eprintln!(
        "dev-token-server: signing {} tokens (kid {}) for sub {}; keys at {base}{JWKS_PATH}",
        signer.algorithm().name(),
        signer.kid(),
        claims::subject(options)
    );
    eprintln!("dev-token-server: real AWS rejects these tokens (unknown issuer); use them with `keyless-aws dev-sts`, moto or LocalStack");
    if !bound.ip().is_loopback() {
        eprintln!("dev-token-server: warning: listening on {bound}, reachable from other hosts on that network; only holders of the request token get tokens");
    }
    eprintln!(
        "dev-token-server: stops after {} s or {} tokens, or on Ctrl-C",
        options.max_seconds.as_secs(),
        options.max_requests
    );
}

pub(crate) async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

async fn handle(mut stream: TcpStream, peer: std::net::SocketAddr, state: &State) {
    let (status, body, what) = match http::read_request(&mut stream).await {
        Err(http::ReadError::Closed) => return,
        Err(e) => (
            e.status(),
            json!({ "message": e.message() }).to_string(),
            "-".to_owned(),
        ),
        Ok(request) => {
            let what = format!("{} {:?}", request.method, request.path);
            let (status, body, note) = answer(&request, state);
            (status, body, format!("{what}{note}"))
        }
    };
    // Logged without the query string (the audience is shown on its own) or any header.
    eprintln!(
        "{}",
        crate::text::log_text(&format!("dev-token-server: {peer} {what} -> {status}"))
    );
    let _ = stream.write_all(&http::response(status, &body)).await;
    let _ = stream.shutdown().await;
}

/// The answer to one request: status, JSON body, and a note for the log line.
fn answer(request: &http::Request, state: &State) -> (u16, String, String) {
    let message = |status: u16, text: &str| {
        (
            status,
            json!({ "message": text }).to_string(),
            String::new(),
        )
    };
    if request.method != "GET" {
        return message(405, "only GET is served");
    }
    match request.path.as_str() {
        OPENID_CONFIGURATION_PATH => (200, openid_configuration(state).to_string(), String::new()),
        JWKS_PATH => (200, state.signer.jwks().to_string(), String::new()),
        TOKEN_PATH => {
            if !bearer_matches(request.authorization.as_deref(), &state.request_token) {
                return message(401, "missing or wrong `Authorization: bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>`; use the token this server printed at start");
            }
            if state.budget.take() == budget::Grant::Spent {
                return message(503, "this server has signed its --max-requests tokens and is stopping; start it again");
            }
            let audiences: Vec<String> = url::form_urlencoded::parse(request.query.as_bytes())
                .filter(|(k, _)| k == "audience")
                .map(|(_, v)| v.into_owned())
                .collect();
            let audience = match audiences.as_slice() {
                [] => claims::default_audience(&state.options),
                [one] if !one.is_empty() && one.len() <= 256 && one.bytes().all(|b| b.is_ascii_graphic()) => one.clone(),
                [_] => return message(400, "audience must be 1-256 printable characters without spaces"),
                _ => return message(400, "give audience once"),
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let claims = claims::claims(&state.options, &state.issuer, &audience, now, &uuid_v4(), &now.to_string());
            match state.signer.sign_jwt(&claims) {
                Ok(token) => (200, json!({ "value": token }).to_string(), format!(" audience={audience:?}")),
                Err(e) => message(500, &e),
            }
        }
        _ => message(404, "not found; this server serves /token, /.well-known/openid-configuration and /.well-known/jwks"),
    }
}

fn openid_configuration(state: &State) -> serde_json::Value {
    json!({
        "issuer": state.issuer,
        "jwks_uri": format!("{}{JWKS_PATH}", state.issuer),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "claims_supported": [
            "sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "ref_type", "sha",
            "repository", "repository_owner", "environment", "event_name", "actor",
            "run_id", "run_number", "run_attempt", "workflow", "workflow_ref",
            "job_workflow_ref", "head_ref", "base_ref", "runner_environment"
        ],
        "id_token_signing_alg_values_supported": [state.signer.algorithm().name()],
        "scopes_supported": ["openid"],
    })
}

/// `bearer <token>` (scheme case-insensitive), compared without an early exit.
fn bearer_matches(header: Option<&str>, expected: &str) -> bool {
    let Some((scheme, credential)) = header.and_then(|h| h.split_once(' ')) else {
        return false;
    };
    let credential = credential.trim().as_bytes();
    scheme.eq_ignore_ascii_case("bearer")
        && credential.len() == expected.len()
        && credential
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random (version 4) UUID for `jti`.
fn uuid_v4() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_is_checked_exactly() {
        assert!(bearer_matches(Some("bearer abc"), "abc"));
        assert!(bearer_matches(Some("Bearer abc"), "abc"));
        assert!(!bearer_matches(Some("bearer abd"), "abc"));
        assert!(!bearer_matches(Some("bearer ab"), "abc"));
        assert!(!bearer_matches(Some("basic abc"), "abc"));
        assert!(!bearer_matches(Some("abc"), "abc"));
        assert!(!bearer_matches(None, "abc"));
    }

    #[test]
    fn jti_is_a_v4_uuid() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(u, uuid_v4());
    }
}
