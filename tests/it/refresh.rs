//! `refresh-credentials`: the helper (`keyless-aws credential-process`) as
//! AWS SDKs run it, against an in-process STS stand-in that issues
//! credentials living a few seconds and refuses them once expired.
//!
//! Real parts: the binary, installed by `refresh::install` exactly as the
//! action will; botocore (PyPI) as the consumer, reading the config file we
//! write and running the helper through `credential_process`. The stand-in
//! is wiremock with a stateful responder, because the fault injected here is
//! time itself: moto issues one-hour credentials and never expires them.
//!
//! The stand-in's `GetCallerIdentity` is the "consumer API": it reads the
//! access key id from the SigV4 `Authorization` header and answers
//! `ExpiredToken` when that key's lifetime is over.

use crate::support::stand_in::{form, signing_key, ASSUME_ROLE, WEB_IDENTITY};
use crate::support::{require, sts_assume_xml_until, sts_caller_xml, Creds, Subcommand, Tool};
use keyless_aws::profile::ProfileDir;
use keyless_aws::refresh::cache::rfc3339;
use keyless_aws::refresh::description::{
    ChainedRole, Description, WebIdentityRole, DEFAULT_CACHE_FILE, VERSION,
};
use keyless_aws::refresh::install::{self, CommandStyle, Installed};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const BEARER: &str = "runner-request-bearer-token-value";
/// The token the stand-in's token endpoint hands out (and its STS accepts).
/// It names the audience the helpers ask for and lasts (the helpers share a
/// token only while it does), fixed so that every request gets the same.
pub(crate) fn token() -> String {
    crate::support::jwt(&serde_json::json!({
        "sub": "repo:o/r:ref:refs/heads/main", "aud": "sts.amazonaws.com", "exp": 4102444800_i64
    }))
}
const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";

#[derive(Default)]
struct State {
    lifetime: Duration,
    deny: bool,
    issued: u64,
    /// access key id → (expiry, secret, session token)
    keys: HashMap<String, (SystemTime, String, String)>,
    web_identity_calls: u32,
    /// (issued access key id, signer's access key id, ExternalId) per AssumeRole.
    assume_role: Vec<(String, String, Option<String>)>,
    accepted: u32,
    rejected: u32,
    accepted_keys: HashSet<String>,
    /// How late a signed call arrives (the key check judges the key at
    /// arrival, and the answer is that much late too): network latency.
    latency: Duration,
}

impl State {
    /// Mints the next key set (`ASIA{KIND}…`, `{kind}SecretKey…`,
    /// `{kind}SessionToken…`), valid for `lifetime` from `now` cut to whole
    /// seconds as STS gives them, and remembers it for later signed calls.
    fn issue(&mut self, kind: &str, now: SystemTime) -> (String, String, String, SystemTime) {
        self.issued += 1;
        let n = self.issued;
        let akid = format!("ASIA{}{n:09}", kind.to_uppercase());
        let secret = format!("{kind}SecretKey{n:024}");
        let token = format!("{kind}SessionToken{n:030}");
        let secs = (now + self.lifetime)
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let expiry = UNIX_EPOCH + Duration::from_secs(secs);
        self.keys
            .insert(akid.clone(), (expiry, secret.clone(), token.clone()));
        (akid, secret, token, expiry)
    }
}

#[derive(Clone)]
struct Sts(Arc<Mutex<State>>);

fn xml(status: u16, body: String) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "text/xml")
        .insert_header("x-amzn-requestid", "standin-request")
        .set_body_string(body)
}

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    xml(
        status,
        crate::support::sts_error_xml(code, message, "standin-request"),
    )
}

impl Respond for Sts {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form = form(req);
        let mut s = self.0.lock().unwrap();
        let now = SystemTime::now();
        match form.get("Action").map(String::as_str) {
            Some("AssumeRoleWithWebIdentity") => {
                s.web_identity_calls += 1;
                if form.get("WebIdentityToken").map(String::as_str) != Some(token().as_str()) {
                    return error(400, "InvalidIdentityToken", "bad token");
                }
                if s.deny {
                    return error(
                        403,
                        "AccessDenied",
                        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                    );
                }
                let (akid, secret, token, expiry) = s.issue("standin", now);
                let session = form.get("RoleSessionName").cloned().unwrap_or_default();
                let creds = Creds {
                    key_id: akid,
                    secret,
                    token,
                };
                let arn = format!("arn:aws:sts::123456789012:assumed-role/deploy/{session}");
                xml(
                    200,
                    sts_assume_xml_until(WEB_IDENTITY, &creds, &arn, &rfc3339(expiry)),
                )
            }
            Some("AssumeRole") => {
                let signer = signing_key(req);
                if s.keys
                    .get(&signer)
                    .is_none_or(|(expiry, _, _)| now >= *expiry)
                {
                    return error(
                        403,
                        "ExpiredToken",
                        "The security token included in the request is expired",
                    );
                }
                let (akid, secret, token, expiry) = s.issue("chained", now);
                s.assume_role
                    .push((akid.clone(), signer, form.get("ExternalId").cloned()));
                let creds = Creds {
                    key_id: akid,
                    secret,
                    token,
                };
                let arn = "arn:aws:sts::210987654321:assumed-role/target/chained";
                xml(
                    200,
                    sts_assume_xml_until(ASSUME_ROLE, &creds, arn, &rfc3339(expiry)),
                )
            }
            Some("GetCallerIdentity") => {
                let akid = signing_key(req);
                let (arrival, latency) = (now + s.latency, s.latency);
                match s.keys.get(&akid) {
                    Some((expiry, _, _)) if arrival < *expiry => {
                        s.accepted += 1;
                        s.accepted_keys.insert(akid);
                        xml(
                            200,
                            sts_caller_xml(
                                "123456789012",
                                "arn:aws:sts::123456789012:assumed-role/deploy/s",
                            ),
                        )
                        .set_delay(latency)
                    }
                    Some(_) => {
                        s.rejected += 1;
                        error(
                            403,
                            "ExpiredToken",
                            "The security token included in the request is expired",
                        )
                        .set_delay(latency)
                    }
                    None => {
                        s.rejected += 1;
                        error(
                            403,
                            "InvalidClientTokenId",
                            "The security token included in the request is invalid.",
                        )
                    }
                }
            }
            _ => error(400, "InvalidAction", "not emulated"),
        }
    }
}

/// The stand-in with its token endpoint (`/token`, answering [`token`] to
/// [`BEARER`]), listening on `ip` (a Docker network's gateway lets the
/// action's container and later steps' containers reach it).
pub(crate) struct ShortLivedSts {
    /// Kept for its lifetime: dropping it stops the stand-in.
    _server: MockServer,
    pub(crate) uri: String,
    state: Arc<Mutex<State>>,
}

impl ShortLivedSts {
    pub(crate) async fn start(lifetime_secs: u64, ip: std::net::IpAddr) -> ShortLivedSts {
        let listener = std::net::TcpListener::bind((ip, 0)).expect("a port for the stand-in");
        let server = MockServer::builder().listener(listener).start().await;
        let state = Arc::new(Mutex::new(State {
            lifetime: Duration::from_secs(lifetime_secs),
            ..Default::default()
        }));
        Mock::given(method("GET"))
            .and(path("/token"))
            .and(header("authorization", format!("bearer {BEARER}").as_str()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": token() })),
            )
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/token"))
            .respond_with(
                ResponseTemplate::new(401).set_body_string("{\"message\":\"bad bearer\"}"),
            )
            .with_priority(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(Sts(state.clone()))
            .mount(&server)
            .await;
        ShortLivedSts {
            uri: server.uri(),
            _server: server,
            state,
        }
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN` for a step.
    pub(crate) fn token_request(&self) -> (String, String) {
        (
            format!("{}/token?api-version=2.0", self.uri),
            BEARER.to_owned(),
        )
    }

    /// How many token requests reached its token endpoint.
    pub(crate) async fn token_requests(&self) -> usize {
        self._server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/token")
            .count()
    }

    /// How many `AssumeRoleWithWebIdentity` calls it answered.
    pub(crate) fn web_identity_calls(&self) -> u32 {
        self.state.lock().unwrap().web_identity_calls
    }

    /// The access key ids issued by `AssumeRole`, and the signer of each.
    pub(crate) fn chained_keys(&self) -> Vec<(String, String)> {
        let s = self.state.lock().unwrap();
        s.assume_role
            .iter()
            .map(|(issued, signer, _)| (issued.clone(), signer.clone()))
            .collect()
    }

    /// Whether the stand-in issued this access key id.
    pub(crate) fn issued(&self, access_key_id: &str) -> bool {
        self.state.lock().unwrap().keys.contains_key(access_key_id)
    }

    /// Every secret the stand-in handed out, with the bearer and the JWT.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let s = self.state.lock().unwrap();
        let mut all = vec![BEARER.to_owned(), token()];
        for (akid, (_, secret, token)) in &s.keys {
            all.extend([akid.clone(), secret.clone(), token.clone()]);
        }
        all
    }
}

struct Rig {
    _server: MockServer,
    uri: String,
    state: Arc<Mutex<State>>,
    dir: tempfile::TempDir,
    installed: Installed,
    description_path: PathBuf,
}

impl Rig {
    /// `style`: with `BesideConfigFile`, later steps see the directory at
    /// another path (a link standing in for the container's mount), reached
    /// only through the exported `AWS_CONFIG_FILE`, as in a job container.
    async fn start(lifetime_secs: u64, min_remaining_secs: u64, style: CommandStyle) -> Rig {
        Rig::start_owned(lifetime_secs, min_remaining_secs, style, None, vec![]).await
    }

    async fn start_owned(
        lifetime_secs: u64,
        min_remaining_secs: u64,
        style: CommandStyle,
        owner: Option<install::Owner>,
        chain: Vec<ChainedRole>,
    ) -> Rig {
        let ShortLivedSts {
            _server: server,
            uri,
            state,
        } = ShortLivedSts::start(lifetime_secs, std::net::Ipv4Addr::LOCALHOST.into()).await;
        let dir = tempfile::tempdir().unwrap();
        let host_home = dir.path().join("runner temp").join("_github_home");
        let local = host_home.join(".keyless-aws");
        let for_later_steps = match style {
            CommandStyle::Absolute => local.clone(),
            CommandStyle::BesideConfigFile => {
                let view = dir.path().join("container view");
                std::fs::create_dir_all(&host_home).unwrap();
                std::os::unix::fs::symlink(&host_home, &view).unwrap();
                view.join(".keyless-aws")
            }
        };
        let profile_dir = ProfileDir {
            local: local.clone(),
            for_later_steps: for_later_steps.clone(),
        };
        let description = Description {
            version: VERSION,
            region: "eu-west-1".into(),
            sts_endpoint: Some(uri.clone()),
            audience: "sts.amazonaws.com".into(),
            web_identity: WebIdentityRole {
                role_arn: ROLE.into(),
                session_name: "refresh-test".into(),
                duration_seconds: 900,
                inline_policy: None,
                managed_policies: vec![],
            },
            chain,
            proxy: Default::default(),
            cache_file: DEFAULT_CACHE_FILE.into(),
            min_remaining_seconds: min_remaining_secs,
            retry_max_attempts: 2,
        };
        let installed = install::install(&install::Request {
            dir: &profile_dir,
            profile: "refreshing",
            owner,
            description: &description,
            binary: Path::new(env!("CARGO_BIN_EXE_keyless-aws")),
            ca_bundle: Some(Path::new("/etc/ssl/certs/ca-certificates.crt")),
            style,
            seed: None,
        })
        .expect("install");
        Rig {
            _server: server,
            uri,
            state,
            description_path: for_later_steps.join(install::DESCRIPTION),
            dir,
            installed,
        }
    }

    fn local(&self) -> PathBuf {
        self.description_path.parent().unwrap().to_owned()
    }

    /// A later step's environment: the exports, the token request variables,
    /// nothing from this machine's AWS setup, no proxy.
    fn later_step(&self, cmd: &mut Command) {
        for name in [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_STS",
            "RUST_LOG",
        ] {
            cmd.env_remove(name);
        }
        for (k, v) in &self.installed.env {
            cmd.env(k, v);
        }
        cmd.env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}/token?api-version=2.0", self.uri),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", BEARER)
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            self.dir.path().join("no-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "*");
    }

    /// The helper, run the way an SDK runs it.
    fn helper(&self) -> Command {
        let mut cmd = Command::new(self.local().join(install::BINARY));
        cmd.arg("credential-process")
            .arg("--description")
            .arg(&self.description_path);
        self.later_step(&mut cmd);
        cmd
    }

    fn botocore(&self, script: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("python3");
        cmd.arg("-c").arg(script).arg(&self.uri).args(args);
        self.later_step(&mut cmd);
        cmd
    }

    fn web_identity_calls(&self) -> u32 {
        self.state.lock().unwrap().web_identity_calls
    }

    /// Every secret this run could leak: the bearer, the JWT, all issued keys.
    fn secrets(&self) -> Vec<String> {
        let s = self.state.lock().unwrap();
        let mut all = vec![BEARER.to_owned(), token()];
        for (akid, (_, secret, token)) in &s.keys {
            all.extend([akid.clone(), secret.clone(), token.clone()]);
        }
        all
    }
}

/// A long-lived botocore client: one session, a call every `interval`
/// seconds for `seconds`; prints "ok" per call, flushing, so the caller sees
/// how far it got before a failure.
const LONG_LIVED: &str = r#"
import sys, time, boto3
endpoint, seconds, interval = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
client = boto3.Session().client("sts", endpoint_url=endpoint)
end = time.time() + seconds
while time.time() < end:
    client.get_caller_identity()
    print("ok", flush=True)
    time.sleep(interval)
"#;

/// One call, as a CLI command or a short script makes it.
const ONE_SHOT: &str = r#"
import sys, boto3
print(boto3.Session().client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Account"])
"#;

fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("starts")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn assert_no_secret(stream: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !stream.contains(s.as_str()),
            "a secret reached the output: {stream}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn botocore_outlives_several_lifetimes_while_env_keys_expire() {
    let lifetime = 6;
    let rig = Rig::start(lifetime, 2, CommandStyle::BesideConfigFile).await;

    // The control: the first answer as plain environment keys, as the
    // one-shot action would have exported them.
    let first = run(rig.helper());
    assert!(first.status.success(), "{}", text(&first.stderr));
    let creds: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let mut control = rig.botocore(LONG_LIVED, &[&(lifetime + 4).to_string(), "0.25"]);
    for name in ["AWS_PROFILE", "AWS_CONFIG_FILE"] {
        control.env_remove(name);
    }
    control
        .env("AWS_ACCESS_KEY_ID", creds["AccessKeyId"].as_str().unwrap())
        .env(
            "AWS_SECRET_ACCESS_KEY",
            creds["SecretAccessKey"].as_str().unwrap(),
        )
        .env("AWS_SESSION_TOKEN", creds["SessionToken"].as_str().unwrap());

    let lifetimes = 3;
    let refreshing = rig.botocore(LONG_LIVED, &[&(lifetime * lifetimes).to_string(), "0.25"]);
    let (control, refreshing) = tokio::join!(
        tokio::task::spawn_blocking(move || run(control)),
        tokio::task::spawn_blocking(move || run(refreshing)),
    );
    let (control, refreshing) = (control.unwrap(), refreshing.unwrap());

    assert!(
        !control.status.success(),
        "env keys must stop working at expiry"
    );
    assert!(
        text(&control.stderr).contains("ExpiredToken"),
        "{}",
        text(&control.stderr)
    );
    assert!(
        text(&control.stdout).lines().count() >= 4,
        "the control worked before expiry"
    );

    assert!(refreshing.status.success(), "{}", text(&refreshing.stderr));
    let calls = text(&refreshing.stdout).lines().count();
    let s = rig.state.lock().unwrap();
    // At least one key per lifetime served the profile consumer, none used expired.
    assert!(
        s.accepted_keys.len() > lifetimes as usize,
        "keys seen: {}",
        s.accepted_keys.len()
    );
    assert!(calls >= 40, "{calls} calls");
    // The control's failures are the only rejections.
    let control_ok = text(&control.stdout).lines().count() as u32;
    assert_eq!(s.accepted, calls as u32 + control_ok);
    assert!(s.rejected >= 1);
    drop(s);
    assert!(!text(&refreshing.stderr).contains("ExpiredToken"));
}

#[tokio::test(flavor = "multi_thread")]
async fn short_lived_consumers_within_one_lifetime_share_one_sts_call() {
    let rig = Rig::start(300, 60, CommandStyle::Absolute).await;
    let consumers = 5;
    for _ in 0..consumers {
        let out = run(rig.botocore(ONE_SHOT, &[]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), "123456789012");
    }
    let mut keys = HashSet::new();
    for _ in 0..20 {
        let out = run(rig.helper());
        assert!(out.status.success());
        assert!(out.stderr.is_empty(), "a cache hit is silent");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        keys.insert(v["AccessKeyId"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        rig.web_identity_calls(),
        1,
        "one STS call for {consumers} consumers and 20 helper runs"
    );
    assert_eq!(keys.len(), 1);
    assert_eq!(rig.state.lock().unwrap().accepted, consumers);
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_parallel_callers_at_expiry_cause_one_refresh() {
    let rig = Rig::start(6, 3, CommandStyle::Absolute).await;
    let warm = run(rig.helper());
    assert!(warm.status.success(), "{}", text(&warm.stderr));
    let warm: serde_json::Value = serde_json::from_slice(&warm.stdout).unwrap();
    // Expiry is rounded down to the second: after 3.5 s at most 2.5 s are
    // left, below the 3 s threshold, so every caller sees a stale cache.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut cmd = rig.helper();
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .stdin(Stdio::null());
            cmd.spawn().unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut keys = HashSet::new();
    for out in &outputs {
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        keys.insert(v["AccessKeyId"].as_str().unwrap().to_owned());
    }
    assert_eq!(keys.len(), 1, "all eight got the same refreshed key");
    assert!(!keys.contains(warm["AccessKeyId"].as_str().unwrap()));
    assert_eq!(rig.web_identity_calls(), 2, "the warm-up and one refresh");
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_is_private_and_errors_explain_without_secrets() {
    use std::os::unix::fs::PermissionsExt;
    let rig = Rig::start(900, 60, CommandStyle::BesideConfigFile).await;
    let ok = run(rig.helper());
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(ok.stderr.is_empty(), "success is silent on stderr");
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["Version"], 1);
    let expiration = v["Expiration"].as_str().unwrap();
    assert!(
        expiration.ends_with('Z') && expiration.contains('T'),
        "{expiration}"
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let cache = rig.local().join(&rig.installed.cache_file);
    assert_eq!(mode(&cache), 0o600);
    assert_eq!(mode(&rig.local()), 0o700);

    // A planted link at the cache path is neither followed nor served.
    std::fs::remove_file(&cache).unwrap();
    let planted = rig.dir.path().join("planted.json");
    std::fs::write(&planted, ok.stdout.clone()).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&planted, &cache).unwrap();
    let again = run(rig.helper());
    assert!(again.status.success());
    assert_eq!(rig.web_identity_calls(), 2, "the link was not served");
    assert!(!std::fs::symlink_metadata(&cache)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read(&planted).unwrap(),
        ok.stdout,
        "the link's target is untouched"
    );

    // Failures: each says what failed and what to do, exits non-zero, leaks nothing.
    std::fs::remove_file(&cache).unwrap();
    let mut no_url = rig.helper();
    no_url.env_remove("ACTIONS_ID_TOKEN_REQUEST_URL");
    let mut bad_bearer = rig.helper();
    bad_bearer.env(
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "expired-request-token-value",
    );
    let cases: Vec<(&str, Command, &[&str])> = vec![
        (
            "no url",
            no_url,
            &["ACTIONS_ID_TOKEN_REQUEST_URL", "id-token: write"],
        ),
        ("401", bad_bearer, &["HTTP 401", "expires"]),
    ];
    for (what, cmd, expected) in cases {
        let out = run(cmd);
        assert_eq!(out.status.code(), Some(1), "{what}");
        assert!(out.stdout.is_empty(), "{what}: nothing on stdout");
        let err = text(&out.stderr);
        for e in expected {
            assert!(err.contains(e), "{what}: {err}");
        }
        let mut secrets = rig.secrets();
        secrets.push("expired-request-token-value".into());
        assert_no_secret(&err, &secrets);
    }
    rig.state.lock().unwrap().deny = true;
    let denied = run(rig.helper());
    assert_eq!(denied.status.code(), Some(1));
    let err = text(&denied.stderr);
    assert!(
        err.contains("AssumeRoleWithWebIdentity failed with AccessDenied"),
        "{err}"
    );
    assert!(err.contains("trust policy"), "{err}");
    assert_no_secret(&err, &rig.secrets());

    // botocore shows the helper's stderr to the user: still no secret there.
    let out = run(rig.botocore(ONE_SHOT, &[]));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("AccessDenied"), "{err}");
    assert_no_secret(&err, &rig.secrets());
}

#[test]
fn a_missing_or_bad_description_is_a_clear_usage_error() {
    let out = Subcommand::new("credential-process").expect_code(2).run();
    assert!(out.stderr.contains("--description FILE is required"));
    let run = Subcommand::new("credential-process").expect_code(1);
    let file = run.file("d.json", "{\"version\": 1}");
    let started = Instant::now();
    let run = run.args(&["--description", &file]);
    let out = run.run();
    assert!(
        out.stderr.contains("cannot use the description") && out.stderr.contains("missing field"),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!run.path(DEFAULT_CACHE_FILE).exists(), "nothing is written");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rust_sdk_outlives_several_lifetimes() {
    let lifetime = 6;
    let rig = Rig::start(lifetime, 2, CommandStyle::BesideConfigFile).await;
    // `cargo test` builds examples, `cargo test --test refresh` does not.
    let built = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "--example", "refresh_consumer"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(
        built.success(),
        "cargo build --example refresh_consumer failed"
    );
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let consumer = target.join("debug/examples/refresh_consumer");
    let mut cmd = Command::new(consumer);
    cmd.arg(&rig.uri)
        .arg((lifetime * 3).to_string())
        .arg("0.25");
    rig.later_step(&mut cmd);
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let calls = text(&out.stdout).lines().count();
    let s = rig.state.lock().unwrap();
    assert!(calls >= 40, "{calls} calls");
    assert!(
        s.accepted_keys.len() > 3,
        "keys seen: {}",
        s.accepted_keys.len()
    );
    assert_eq!(s.rejected, 0, "no expired key was ever used");
    assert_eq!(s.accepted as usize, calls);
}

/// A job image: static BusyBox in an otherwise empty filesystem (`docker
/// import`, no registry), made once per BusyBox binary.
pub(crate) fn busybox_image() -> String {
    let busybox = crate::support::tools::find_busybox().expect("a static busybox");
    let busybox = busybox.as_path();
    let tag = "keyless-aws-refresh-job:busybox";
    let inspect = Command::new("docker")
        .args(["image", "inspect", tag])
        .output()
        .unwrap();
    if inspect.status.success() {
        return tag.into();
    }
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(root.path().join("tmp")).unwrap();
    std::fs::copy(busybox, bin.join("busybox")).unwrap();
    for applet in ["sh", "sed", "cat", "id"] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    let tar = root.path().join("rootfs.tar");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(root.path())
        .args(["--owner=0", "--group=0", "--exclude=./rootfs.tar", "-cf"])
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(ok.success());
    let ok = Command::new("docker")
        .args(["import", "--change", "ENV PATH=/bin"])
        .arg(&tar)
        .arg(tag)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "docker import");
    tag.into()
}

/// The directories of the test binary's shared libraries, mounted read-only
/// at the same paths: the debug build is dynamically linked, the shipped
/// binary is static and needs none of this.
fn library_mounts() -> Vec<String> {
    let out = Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_keyless-aws"))
        .output()
        .unwrap();
    let mut dirs = std::collections::BTreeSet::new();
    for word in text(&out.stdout).split_whitespace() {
        if word.starts_with('/') {
            let real = std::fs::canonicalize(word).unwrap();
            dirs.insert(Path::new(word).parent().unwrap().to_owned());
            dirs.insert(real.parent().unwrap().to_owned());
        }
    }
    dirs.into_iter()
        .flat_map(|d| {
            let d = d.to_string_lossy().into_owned();
            [
                "--mount".to_owned(),
                format!("type=bind,source={d},target={d},readonly"),
            ]
        })
        .collect()
}

/// What the Rust, Go and JS SDKs do with the profile: read `credential_process`
/// from `$AWS_CONFIG_FILE` and run it with `sh -c`, here twice.
const SDK_IN_SH: &str = r#"line=$(sed -n 's/^credential_process = //p' "$AWS_CONFIG_FILE") && sh -c "$line" && sh -c "$line""#;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs docker and busybox: run by scripts/test.sh"]
async fn one_cache_serves_a_docker_action_as_root_and_a_job_container_as_uid_1001() {
    require(&[Tool::Docker, Tool::Busybox]);
    let runner = install::Owner {
        uid: 1001,
        gid: 1001,
    };
    let rig = Rig::start_owned(
        900,
        60,
        CommandStyle::BesideConfigFile,
        Some(runner),
        vec![],
    )
    .await;
    let image = busybox_image();
    let host_temp = rig.dir.path().join("runner temp");
    let host_home = host_temp.join("_github_home");
    // The runner's mounts and its rewriting of AWS_CONFIG_FILE for each kind of step.
    let docker = |user: &str, config_file: &str| {
        let mut cmd = Command::new("docker");
        cmd.args(["run", "--rm", "--network", "host", "--user", user])
            .arg("--mount")
            .arg(format!(
                "type=bind,source={},target=/__w/_temp",
                host_temp.display()
            ))
            .arg("--mount")
            .arg(format!(
                "type=bind,source={},target=/github/home",
                host_home.display()
            ))
            .args(library_mounts())
            .args(["-e", &format!("AWS_CONFIG_FILE={config_file}")])
            .args([
                "-e",
                &format!(
                    "ACTIONS_ID_TOKEN_REQUEST_URL={}/token?api-version=2.0",
                    rig.uri
                ),
            ])
            .args(["-e", &format!("ACTIONS_ID_TOKEN_REQUEST_TOKEN={BEARER}")])
            .args(["-e", "HOME=/github/home"])
            .arg(&image)
            .args(["sh", "-c", SDK_IN_SH]);
        cmd
    };
    let action = run(docker("0:0", "/github/home/.keyless-aws/refresh-config"));
    assert!(
        action.status.success(),
        "Docker action view: {}",
        text(&action.stderr)
    );
    let job = run(docker(
        "1001:1001",
        "/__w/_temp/_github_home/.keyless-aws/refresh-config",
    ));
    assert!(
        job.status.success(),
        "job container view: {}",
        text(&job.stderr)
    );

    let keys: HashSet<String> = text(&action.stdout)
        .lines()
        .chain(text(&job.stdout).lines())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["AccessKeyId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(keys.len(), 1, "four calls, one answer");
    assert_eq!(
        rig.web_identity_calls(),
        1,
        "root's refresh served uid 1001 from the cache"
    );
    use std::os::unix::fs::MetadataExt;
    let local = host_home.join(".keyless-aws");
    for name in [
        rig.installed.cache_file.clone(),
        format!("{}.lock", rig.installed.cache_file),
        install::BINARY.to_owned(),
        install::CONFIG.to_owned(),
    ] {
        let m = std::fs::metadata(local.join(&name)).unwrap();
        assert_eq!(
            (m.uid(), m.gid()),
            (1001, 1001),
            "{name} belongs to the runner's user"
        );
    }
    assert_eq!(
        std::fs::metadata(local.join(&rig.installed.cache_file))
            .unwrap()
            .mode()
            & 0o777,
        0o600
    );
    assert_no_secret(&text(&action.stderr), &rig.secrets());
    assert_no_secret(&text(&job.stderr), &rig.secrets());

    // An image running as yet another uid cannot even read the config (0700
    // directory): such a step fails (an SDK finds no profile), as the README says.
    let stranger = run(docker(
        "1000:1000",
        "/__w/_temp/_github_home/.keyless-aws/refresh-config",
    ));
    assert!(!stranger.status.success());
    let err = text(&stranger.stderr);
    assert!(err.contains("Permission denied"), "{err}");
    assert_no_secret(&err, &rig.secrets());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chained_role_is_assumed_with_the_web_identity_keys() {
    let chain = vec![ChainedRole {
        role_arn: "arn:aws:iam::210987654321:role/target".into(),
        session_name: "chained".into(),
        duration_seconds: 900,
        external_id: Some("ext-123".into()),
        inline_policy: None,
        managed_policies: vec![],
        tags: vec![],
        transitive_tag_keys: vec![],
    }];
    let rig = Rig::start_owned(300, 60, CommandStyle::Absolute, None, chain).await;
    let out = run(rig.helper());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = rig.state.lock().unwrap();
    assert_eq!(s.web_identity_calls, 1);
    assert_eq!(s.assume_role.len(), 1);
    let (issued, signer, external_id) = &s.assume_role[0];
    assert_eq!(
        v["AccessKeyId"].as_str().unwrap(),
        issued,
        "the chain's last credentials are printed"
    );
    assert!(
        signer.starts_with("ASIASTANDIN"),
        "signed with the web identity's keys: {signer}"
    );
    assert_eq!(external_id.as_deref(), Some("ext-123"));
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_parallel_botocore_consumers_at_expiry_cause_one_refresh() {
    // Long enough that eight Python start-ups on a busy machine fit in the
    // window where the refreshed answer is still fresh (10 s).
    let rig = Rig::start(20, 10, CommandStyle::BesideConfigFile).await;
    let warm = run(rig.helper());
    assert!(warm.status.success(), "{}", text(&warm.stderr));
    // After 10.5 s at most 9.5 s are left: below the threshold for everyone.
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut cmd = rig.botocore(ONE_SHOT, &[]);
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .stdin(Stdio::null());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let s = rig.state.lock().unwrap();
    assert_eq!(
        s.web_identity_calls, 2,
        "the warm-up and one refresh for eight consumers"
    );
    assert_eq!(s.accepted, 8);
    assert_eq!(
        s.accepted_keys.len(),
        1,
        "all eight signed with the refreshed key"
    );
}

/// The action step itself (the binary as the runner starts it, STS and the token
/// endpoint in process): with `refresh-credentials: true` it exchanges once, exports
/// the profile instead of keys, and leaves a cache seeded with what it obtained, so
/// the helper's first answer in a later step needs no STS call; its state lists the
/// files for the post step. With access keys it refuses before any request.
#[test]
fn the_action_step_leaves_a_seeded_profile_and_refuses_keys_before_any_request() {
    use crate::support::stand_in::WEB_IDENTITY;
    use crate::support::{
        Scenario, StsStandIn, ACCESS_KEY_ID, REQUEST_TOKEN, SECRET_KEY, SESSION_TOKEN,
    };
    let sts = StsStandIn::new()
        .github_token("repo:o/r:ref:refs/heads/main")
        .assume(WEB_IDENTITY);
    let step = Scenario::oidc_step(&sts).input("refresh-credentials", "true");
    let out = step.run();
    out.assert_success();
    out.assert_masked_and_not_leaked(&[SECRET_KEY, SESSION_TOKEN]);
    let env = out.exported_env();
    let dir = step.path("temp").join(".keyless-aws");
    assert_eq!(
        env.get("AWS_CONFIG_FILE").map(PathBuf::from),
        Some(dir.join(install::CONFIG))
    );
    assert_eq!(env["AWS_PROFILE"], "keyless-aws");
    assert_eq!(env["AWS_REGION"], "eu-west-1");
    for key in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        assert_eq!(env[key], "", "{key} is blank");
    }
    assert!(out.state.contains("refresh_files"), "{}", out.state);
    let description = std::fs::read_to_string(dir.join(install::DESCRIPTION)).unwrap();
    for secret in [SECRET_KEY, SESSION_TOKEN, REQUEST_TOKEN] {
        assert!(!description.contains(secret), "a secret in the description");
    }
    assert_eq!(sts.sts_calls().len(), 1);

    // A later step: the helper answers from the seeded cache.
    let mut helper = Command::new(dir.join(install::BINARY));
    helper
        .args(["credential-process", "--description"])
        .arg(dir.join(install::DESCRIPTION))
        .env_clear()
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}/_apis/token?api-version=2.0", sts.uri()),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN);
    let answer = run(helper);
    assert!(answer.status.success(), "{}", text(&answer.stderr));
    let v: serde_json::Value = serde_json::from_slice(&answer.stdout).unwrap();
    assert_eq!(v["AccessKeyId"], ACCESS_KEY_ID);
    assert_eq!(sts.sts_calls().len(), 1, "served from the seeded cache");

    // Access keys: refused with the reason, before any request, nothing written.
    let keys = StsStandIn::new();
    let out = Scenario::new()
        .stand_in(&keys)
        .input("aws-region", "eu-west-1")
        .input("aws-access-key-id", "AKIAEXAMPLEEXAMPLE00")
        .input(
            "aws-secret-access-key",
            "notReallyASecretKey000000000000000000000",
        )
        .input("refresh-credentials", "true")
        .run();
    out.assert_failed_cleanly();
    assert!(
        out.stdout.contains("long-lived keys on disk"),
        "{}",
        out.stdout
    );
    assert!(keys.requests().is_empty(), "no request was made");
}

/// Where this machine keeps an offline mirror of the hashicorp/aws provider
/// (a directory holding `registry.terraform.io/hashicorp/aws`): `TF_PROVIDER_MIRROR`,
/// else the usual places.
fn terraform_mirror() -> Option<PathBuf> {
    let candidates = std::env::var_os("TF_PROVIDER_MIRROR")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/opt/tf-plugins",
                "/usr/local/share/terraform/plugins",
                "/usr/share/terraform/plugins",
            ]
            .map(PathBuf::from),
        )
        .chain(std::env::var_os("HOME").map(|h| Path::new(&h).join(".terraform.d/plugins")));
    candidates
        .into_iter()
        .find(|d| d.join("registry.terraform.io/hashicorp/aws").is_dir())
}

/// Terraform's AWS provider (the Go SDK v2) uses a `credential_process` answer
/// until its printed `Expiration` and does not retry `ExpiredToken`. Over
/// several short lifetimes, with every signed call arriving 300 ms late at a
/// key check, no call may carry an expired key: the printed Expiration leaves
/// a margin. (Before the margin, keys were used in their last milliseconds and
/// a read failed with ExpiredToken.) scripts/test.sh runs this where terraform
/// and a provider mirror exist and reports it as not run elsewhere.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform and an offline hashicorp/aws mirror: run by scripts/test.sh"]
async fn terraform_loses_no_request_over_several_lifetimes_with_latency() {
    let mirror = terraform_mirror().expect(
        "no offline mirror of hashicorp/aws (a directory holding registry.terraform.io/hashicorp/aws): set TF_PROVIDER_MIRROR",
    );
    let terraform = which_terraform().expect("terraform is not on PATH");
    let lifetime = 9;
    // The style the action writes (the command finds the helper beside AWS_CONFIG_FILE).
    let rig = Rig::start(lifetime, 2, CommandStyle::BesideConfigFile).await;
    rig.state.lock().unwrap().latency = Duration::from_millis(300);
    let work = rig.dir.path().join("tf");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("cli.tfrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n",
            mirror.display()
        ),
    )
    .unwrap();
    // 80 reads one after the other, each signed with the cached keys: about
    // 30 s, three lifetimes and more.
    std::fs::write(
        work.join("main.tf"),
        format!(
            r#"terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws" }}
  }}
}}
provider "aws" {{
  region                      = "eu-west-1"
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = true
  skip_credentials_validation = true
  max_retries                 = 1
  endpoints {{
    sts = "{}"
  }}
}}
data "aws_caller_identity" "read" {{
  count = 80
}}
output "reads" {{
  value = length(data.aws_caller_identity.read)
}}
"#,
            rig.uri
        ),
    )
    .unwrap();
    let tf = |args: &[&str]| {
        let mut cmd = Command::new(&terraform);
        cmd.args(args)
            .current_dir(&work)
            .env("TF_CLI_CONFIG_FILE", work.join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_DATA_DIR", work.join(".terraform"));
        rig.later_step(&mut cmd);
        crate::support::process::run(&mut cmd, Duration::from_secs(300))
    };
    let init = tf(&["init", "-input=false", "-no-color"]);
    assert!(init.success(), "{}", init.describe());
    let started = Instant::now();
    let apply = tf(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-parallelism=1",
    ]);
    let took = started.elapsed();
    let (rejected, accepted, refreshes) = {
        let s = rig.state.lock().unwrap();
        (s.rejected, s.accepted, s.web_identity_calls)
    };
    assert!(
        apply.success(),
        "terraform failed ({rejected} calls rejected):\n{}",
        apply.describe()
    );
    assert_eq!(rejected, 0, "a call carried an expired key");
    assert!(accepted >= 80, "{accepted} reads");
    let lifetimes = took.as_secs_f64() / lifetime as f64;
    assert!(
        refreshes >= 3 && lifetimes >= 2.5,
        "only {refreshes} refreshes over {took:.1?} ({lifetimes:.1} lifetimes)"
    );
    let secrets = rig.secrets();
    assert_no_secret(&apply.stdout, &secrets);
    assert_no_secret(&apply.stderr, &secrets);
}

fn which_terraform() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/local/bin")])
        .map(|d| d.join("terraform"))
        .find(|p| p.is_file())
}
