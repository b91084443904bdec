//! `keyless-aws dev-sts`: a local STS that enforces what AWS enforces for
//! `AssumeRoleWithWebIdentity`, so a workflow run with act meets the trust
//! policy before GitHub does.
//!
//! Each web-identity call is checked (see `decide`): the token's issuer is the
//! stand-in account's provider, its signature verifies against the dev token
//! server's published keys, its audience is one of the provider's client ids,
//! it is unexpired, and the role's trust policy (evaluated by the engine of
//! `check-trust`) admits its claims. A refusal is AWS's error (code, status and
//! message), so the action explains it exactly as on GitHub; dev-sts also logs
//! why on its stderr, with the policy verdict. Allowed calls, and every other
//! STS call (AssumeRole, GetCallerIdentity), are forwarded unchanged to moto,
//! which issues the credentials later steps use.
//!
//! Bounded like every server here: `--max-seconds`, SIGINT/SIGTERM, 32
//! connections at once, 10 s per connection (plus the forward's own limit).

pub mod decide;
pub mod http;
pub mod verify;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// What `keyless-aws dev-sts` was asked to do (parsed in `cli::dev_sts`).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub listen: SocketAddr,
    /// Where the dev token server publishes its keys (`/.well-known/jwks`).
    pub jwks_url: url::Url,
    /// The OIDC provider's URL: tokens must carry it as `iss`.
    pub issuer: String,
    pub client_ids: Vec<String>,
    /// `(role ARN or None for every role, policy file)`.
    pub trust_policies: Vec<(Option<String>, PathBuf)>,
    /// moto (or another STS emulator) that answers allowed calls.
    pub forward: url::Url,
    pub max_seconds: Duration,
}

const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
const FORWARD_TIMEOUT: Duration = Duration::from_secs(8);
const MAX_CONCURRENT: usize = 32;
/// Largest answer relayed from moto, or key set read from the token server.
const MAX_UPSTREAM: usize = 1024 * 1024;

struct State {
    options: Options,
    account: decide::Account,
    client: reqwest::Client,
}

/// Reads and checks every trust policy: bad input stops here, before listening.
pub fn load_policies(options: &Options) -> Result<Vec<decide::RolePolicy>, String> {
    let mut out = Vec::new();
    for (role, file) in &options.trust_policies {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("--trust-policy {}: {e}", file.display()))?;
        let policy = crate::trust::policy::parse(&text)
            .map_err(|e| format!("--trust-policy {}: {e}", file.display()))?;
        if !policy
            .statements
            .iter()
            .any(crate::trust::eval::statement_covers_action)
        {
            return Err(format!("--trust-policy {}: no statement allows sts:AssumeRoleWithWebIdentity, so every token would be denied; this is not a trust policy for OIDC federation (see `keyless-aws setup`)", file.display()));
        }
        out.push(decide::RolePolicy {
            role: role.clone(),
            file: file.clone(),
            policy,
        });
    }
    Ok(out)
}

/// Runs the server until `--max-seconds` or a signal.
pub fn run(options: Options) -> Result<(), String> {
    let policies = load_policies(&options)?;
    let account = decide::Account {
        issuer: options.issuer.clone(),
        client_ids: options.client_ids.clone(),
        policies,
    };
    // reqwest is built without a default crypto provider (one for the whole process).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FORWARD_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let state = Arc::new(State {
        options,
        account,
        client,
    });
    runtime.block_on(serve(state))
}

async fn serve(state: Arc<State>) -> Result<(), String> {
    let listen = state.options.listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}; pick another --listen"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {bound}");
    println!("--env AWS_ENDPOINT_URL_STS=http://{bound}");
    eprintln!(
        "dev-sts: provider {} (client ids {}), {} trust polic{}; allowed calls go to {}",
        state.account.issuer,
        state.account.client_ids.join(", "),
        state.account.policies.len(),
        if state.account.policies.len() == 1 {
            "y"
        } else {
            "ies"
        },
        state.options.forward
    );
    let deadline = tokio::time::sleep(state.options.max_seconds);
    tokio::pin!(deadline);
    let stop = crate::dev_token_server::stop_signal();
    tokio::pin!(stop);
    let mut tasks = tokio::task::JoinSet::new();
    let reason = loop {
        while tasks.try_join_next().is_some() {}
        if tasks.len() >= MAX_CONCURRENT {
            tokio::select! {
                _ = tasks.join_next() => continue,
                _ = &mut deadline => break "--max-seconds reached".to_owned(),
                name = &mut stop => break format!("stopped by {name}"),
            }
        }
        tokio::select! {
            conn = listener.accept() => if let Ok((stream, _)) = conn {
                let state = Arc::clone(&state);
                tasks.spawn(async move {
                    let _ = tokio::time::timeout(CONNECTION_TIMEOUT + FORWARD_TIMEOUT, handle(stream, &state)).await;
                });
            },
            _ = &mut deadline => break "--max-seconds reached".to_owned(),
            name = &mut stop => break format!("stopped by {name}"),
        }
    };
    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    eprintln!("dev-sts: {reason}; exiting");
    Ok(())
}

async fn handle(mut stream: TcpStream, state: &State) {
    let request =
        match tokio::time::timeout(CONNECTION_TIMEOUT, http::read_request(&mut stream)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) if e == "closed" => return,
            Ok(Err(e)) => {
                let _ = stream
                    .write_all(&http::response(400, "text/plain", e.as_bytes()))
                    .await;
                return;
            }
            Err(_) => return,
        };
    let params = request.params();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let action = param("Action").unwrap_or("(no Action)").to_owned();
    let role = param("RoleArn").unwrap_or_default().to_owned();
    let answer = if action == "AssumeRoleWithWebIdentity" {
        let token = param("WebIdentityToken").unwrap_or_default();
        match check(state, &role, token).await {
            Ok(()) => forward(state, &request).await,
            Err(refusal) => {
                eprintln!(
                    "dev-sts: {action} {role} -> {}: {}",
                    refusal.code, refusal.detail
                );
                refusal_answer(&refusal)
            }
        }
    } else {
        forward(state, &request).await
    };
    let status = answer.0;
    eprintln!("dev-sts: {action} {role} -> {status}");
    let _ = stream
        .write_all(&http::response(answer.0, &answer.1, &answer.2))
        .await;
    let _ = stream.shutdown().await;
}

/// AWS's checks, with the keys the token server publishes now.
async fn check(state: &State, role: &str, token: &str) -> Result<(), decide::Refusal> {
    let keys = fetch_keys(state).await.map_err(|e| decide::Refusal {
        status: 400,
        code: "InvalidIdentityToken",
        message: "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements".into(),
        detail: format!("{}: {e}; is the dev token server running (--jwks-url)?", state.options.jwks_url),
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    state.account.decide(role, token, &keys, now)
}

async fn fetch_keys(state: &State) -> Result<verify::Keys, String> {
    let answer = state
        .client
        .get(state.options.jwks_url.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !answer.status().is_success() {
        return Err(format!("status {}", answer.status()));
    }
    let body = answer.bytes().await.map_err(|e| e.to_string())?;
    if body.len() > MAX_UPSTREAM {
        return Err("the key set is larger than 1 MiB".into());
    }
    let jwks = serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))?;
    verify::Keys::parse(&jwks)
}

/// (status, content type, body)
type Answer = (u16, String, Vec<u8>);

/// The Query-protocol error document STS sends.
fn refusal_answer(r: &decide::Refusal) -> Answer {
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        r.code,
        xml_escape(&r.message),
        request_id()
    );
    (r.status, "text/xml".into(), body.into_bytes())
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn request_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
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

/// Sends the call unchanged to `--forward` and relays its answer.
async fn forward(state: &State, request: &http::Request) -> Answer {
    let path = request.target.trim_start_matches('/');
    let url = match state.options.forward.join(path) {
        Ok(u) => u,
        Err(e) => return (502, "text/plain".into(), e.to_string().into_bytes()),
    };
    let method =
        reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut call = state.client.request(method, url).body(request.body.clone());
    for (name, value) in &request.headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding"
        ) {
            call = call.header(name.as_str(), value.as_str());
        }
    }
    let sent = async {
        let answer = call.send().await.map_err(|e| e.to_string())?;
        let status = answer.status().as_u16();
        let content_type = answer
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("text/xml")
            .to_owned();
        let body = answer.bytes().await.map_err(|e| e.to_string())?;
        if body.len() > MAX_UPSTREAM {
            return Err("the answer is larger than 1 MiB".to_owned());
        }
        Ok::<Answer, String>((status, content_type, body.to_vec()))
    };
    sent.await.unwrap_or_else(|e| {
        eprintln!(
            "dev-sts: forwarding to {} failed: {e}",
            state.options.forward
        );
        (
            502,
            "text/plain".into(),
            format!("dev-sts could not reach {}: {e}", state.options.forward).into_bytes(),
        )
    })
}
