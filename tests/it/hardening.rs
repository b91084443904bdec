//! Regression tests for the attack review (issue 12): each test names its finding,
//! runs the real binary against stand-ins on 127.0.0.1 (wiremock for STS and the
//! token endpoint, a tiny std server for ECS-style container credentials), and
//! checks what the runner would see: stdout, stderr and the runner files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_keyless-aws");
const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";
const ACCOUNT: &str = "123456789012";
/// Longest any run of the binary may take here.
const RUN_LIMIT: Duration = Duration::from_secs(40);

// Values shaped like what AWS issues, distinct per source so a leak names its source.
const INPUT_KEY_ID: &str = "AKIAINPUTKEYID7Q2ZK9";
const INPUT_SECRET: &str = "inPutSecretKey/K7MDENG/bPxRfiCYEXAMPLEKY";
const STS_KEY_ID: &str = "ASIASTSANSWERKEY7Q2Z";
const STS_SECRET: &str = "stsAnswerSecretK7MDENG/bPxRfiCYEXAMPLEKY";
const STS_TOKEN: &str = "IQoJb3JpZ2luX2VjSTSANSWERTOKENzQ2ZK9mVbN0pQrS+tUvWxYz/0123456789AbCdEf==";
const ECS_KEY_ID: &str = "ASIAECSCONTAINERKEY7";
const ECS_SECRET: &str = "ecsContainerSecret7MDENG/bPxRfiCYEXAMPLEK";
const ECS_TOKEN: &str = "IQoJb3JpZ2luX2VjECSCONTAINERTOKENqQ2ZK9mVbN0pQrS+tUvWxYz/9876543210==";
const IMDS_KEY_ID: &str = "ASIAIMDSINSTANCEKEY7";
const IMDS_SECRET: &str = "imdsInstanceSecret7MDENG/bPxRfiCYEXAMPLEK";
const IMDS_TOKEN: &str = "IQoJb3JpZ2luX2VjIMDSINSTANCETOKENQ2ZK9mVbN0pQrS+tUvWxYz/9876543210==";
const BEARER: &str = "bearerRequestTokenValue7Q2ZK9xx";

/// A scratch runner: the file-command files, workspace, temp and home.
pub struct Runner {
    pub dir: tempfile::TempDir,
    pub env: HashMap<String, String>,
}

pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

impl Runner {
    pub fn new() -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["workspace", "runner-temp", "home"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "github-env",
            "github-output",
            "github-state",
            "step-summary",
        ] {
            std::fs::write(root.join(f), b"").unwrap();
        }
        let p = |n: &str| root.join(n).to_string_lossy().into_owned();
        let env: HashMap<String, String> = [
            ("PATH", "/usr/bin:/bin".to_owned()),
            ("HOME", p("home")),
            ("GITHUB_ENV", p("github-env")),
            ("GITHUB_OUTPUT", p("github-output")),
            ("GITHUB_STATE", p("github-state")),
            ("GITHUB_STEP_SUMMARY", p("step-summary")),
            ("GITHUB_WORKSPACE", p("workspace")),
            ("RUNNER_TEMP", p("runner-temp")),
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("INPUT_AWS-REGION", "eu-west-1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Runner { dir, env }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn input(&mut self, name: &str, value: &str) -> &mut Self {
        self.env
            .insert(format!("INPUT_{}", name.to_ascii_uppercase()), value.into());
        self
    }

    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.env.insert(name.into(), value.into());
        self
    }

    pub fn read(&self, name: &str) -> String {
        String::from_utf8_lossy(&std::fs::read(self.path(name)).unwrap_or_default()).into_owned()
    }

    /// Runs the binary with exactly this environment (plus `extra` raw pairs).
    pub async fn run_with(&self, args: &[&str], extra: &[(&[u8], &[u8])]) -> Ran {
        use std::os::unix::ffi::OsStrExt;
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .envs(&self.env)
            .current_dir(self.path("workspace"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in extra {
            cmd.env(
                std::ffi::OsStr::from_bytes(k),
                std::ffi::OsStr::from_bytes(v),
            );
        }
        let out = tokio::time::timeout(RUN_LIMIT, cmd.output())
            .await
            .expect("the binary finished in time")
            .unwrap();
        Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub async fn run(&self) -> Ran {
        self.run_with(&[], &[]).await
    }
}

fn assume_xml(op: &str, key: &str, secret: &str, token: &str, exp: &str, arn: &str) -> String {
    format!(
        "<{op}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{op}Result>\
         <Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>\
         <SessionToken>{token}</SessionToken><Expiration>{exp}</Expiration></Credentials>\
         <AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId><Arn>{arn}</Arn></AssumedRoleUser>\
         </{op}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></{op}Response>"
    )
}

const FUTURE: &str = "2099-01-01T00:00:00Z";
const ASSUMED_ARN: &str = "arn:aws:sts::123456789012:assumed-role/deploy/s";

fn good_assume(op: &str) -> String {
    assume_xml(op, STS_KEY_ID, STS_SECRET, STS_TOKEN, FUTURE, ASSUMED_ARN)
}

fn caller_xml(account: &str, arn: &str) -> String {
    format!(
        "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>{arn}</Arn>\
         <UserId>AIDAEXAMPLE</UserId><Account>{account}</Account></GetCallerIdentityResult>\
         <ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    )
}

fn xml(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "text/xml")
}

/// An STS stand-in answering each action with the given body.
async fn sts(answers: &[(&str, String)]) -> MockServer {
    let server = MockServer::start().await;
    for (action, body) in answers {
        Mock::given(method("POST"))
            .and(body_string_contains(format!("Action={action}&")))
            .respond_with(xml(body.clone()))
            .mount(&server)
            .await;
    }
    server
}

/// Input keys and a role, against `server` as `sts-endpoint`.
fn keys_to_role(r: &mut Runner, server: &MockServer) {
    r.input("aws-access-key-id", INPUT_KEY_ID)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("role-to-assume", ROLE)
        .input("role-skip-session-tagging", "true")
        .input("sts-endpoint", &server.uri())
        .input("retry-max-attempts", "1");
}

fn assert_nothing_exported(r: &Runner, ran: &Ran) {
    assert_eq!(ran.code, Some(1), "{}", ran.all());
    for f in ["github-env", "github-output", "github-state"] {
        assert_eq!(r.read(f), "", "{f} must stay empty:\n{}", ran.all());
    }
}

// ---------------------------------------------------------------------------------
// Finding 2: profile-file injection through credential values
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn f2_credential_values_with_ini_syntax_are_refused_before_any_write() {
    let evil = "IQoJb3JpZ2lu\n[profile evil]\ncredential_process = /bin/sh -c id";
    for (what, answer) in [
        (
            "token",
            assume_xml(
                "AssumeRole",
                STS_KEY_ID,
                STS_SECRET,
                evil,
                FUTURE,
                ASSUMED_ARN,
            ),
        ),
        (
            "secret",
            assume_xml(
                "AssumeRole",
                STS_KEY_ID,
                "abc\ncredential_process = /bin/sh",
                STS_TOKEN,
                FUTURE,
                ASSUMED_ARN,
            ),
        ),
        (
            "key id",
            assume_xml(
                "AssumeRole",
                "ASIA X[y]",
                STS_SECRET,
                STS_TOKEN,
                FUTURE,
                ASSUMED_ARN,
            ),
        ),
    ] {
        let server = sts(&[("AssumeRole", answer)]).await;
        let mut r = Runner::new();
        keys_to_role(&mut r, &server);
        r.input("aws-profile", "deploy");
        let ran = r.run().await;
        assert_nothing_exported(&r, &ran);
        assert!(
            ran.stdout.contains("not valid"),
            "{what}: the error says the answer is invalid:\n{}",
            ran.all()
        );
        let profile_dir = r.path("runner-temp").join(".keyless-aws");
        for f in ["config", "credentials"] {
            assert!(
                !profile_dir.join(f).exists(),
                "{what}: nothing written to {f}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn f2_input_keys_with_ini_syntax_are_an_input_error() {
    let mut r = Runner::new();
    r.input("aws-access-key-id", INPUT_KEY_ID)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("aws-session-token", "tok\n[x]\ncredential_process=id")
        .input("aws-profile", "deploy");
    let ran = r.run().await;
    assert_nothing_exported(&r, &ran);
    assert!(ran.stdout.contains("aws-session-token"), "{}", ran.all());
    // LocalStack's keys from a custom endpoint pass the shape check (whether the
    // key-id check lets them through for custom endpoints is issue 11's business).
    let server = sts(&[(
        "GetCallerIdentity",
        caller_xml("000000000000", "arn:aws:iam::000000000000:root"),
    )])
    .await;
    let mut r = Runner::new();
    r.input("aws-access-key-id", "test")
        .input("aws-secret-access-key", "test")
        .input("sts-endpoint", &server.uri());
    let ran = r.run().await;
    assert!(
        !ran.stdout.contains("has characters AWS never issues"),
        "{}",
        ran.all()
    );
}

// ---------------------------------------------------------------------------------
// Finding 8: impossible answers
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn f8_impossible_sts_answers_are_errors() {
    let op = "AssumeRoleWithWebIdentity";
    let no_token = format!(
        "<{op}Response><{op}Result><Credentials><AccessKeyId>{STS_KEY_ID}</AccessKeyId>\
         <SecretAccessKey>{STS_SECRET}</SecretAccessKey><Expiration>{FUTURE}</Expiration></Credentials>\
         <AssumedRoleUser><AssumedRoleId>A:s</AssumedRoleId><Arn>{ASSUMED_ARN}</Arn></AssumedRoleUser>\
         </{op}Result></{op}Response>"
    );
    let no_expiration = format!(
        "<{op}Response><{op}Result><Credentials><AccessKeyId>{STS_KEY_ID}</AccessKeyId>\
         <SecretAccessKey>{STS_SECRET}</SecretAccessKey><SessionToken>{STS_TOKEN}</SessionToken></Credentials>\
         <AssumedRoleUser><AssumedRoleId>A:s</AssumedRoleId><Arn>{ASSUMED_ARN}</Arn></AssumedRoleUser>\
         </{op}Result></{op}Response>"
    );
    let cases = [
        ("no session token", no_token),
        (
            "empty secret",
            assume_xml(op, STS_KEY_ID, "", STS_TOKEN, FUTURE, ASSUMED_ARN),
        ),
        (
            "expired",
            assume_xml(op, STS_KEY_ID, STS_SECRET, STS_TOKEN, "2001-01-01T00:00:00Z", ASSUMED_ARN),
        ),
        ("no expiration", no_expiration),
        (
            "ARN without account",
            assume_xml(op, STS_KEY_ID, STS_SECRET, STS_TOKEN, FUTURE, "arn:aws:sts:::assumed-role/deploy/s"),
        ),
        (
            "unreadable expiration",
            assume_xml(op, STS_KEY_ID, STS_SECRET, STS_TOKEN, "tomorrow", ASSUMED_ARN),
        ),
        (
            "garbled XML after whole credentials",
            format!(
                "<{op}Response><{op}Result><Credentials><AccessKeyId>{STS_KEY_ID}</AccessKeyId>\
                 <SecretAccessKey>{STS_SECRET}</SecretAccessKey><SessionToken>{STS_TOKEN}</SessionToken>\
                 <Expiration>{FUTURE}</Expiration></Credentials><AssumedRoleUser><Arn>{ASSUMED_ARN}</Arn\
                 </{op}Result>"
            ),
        ),
        (
            "garbled XML",
            format!("<{op}Response><{op}Result><Credentials><AccessKeyId>{STS_KEY_ID}</AccessKeyId><Secret"),
        ),
    ];
    for (what, answer) in cases {
        let server = sts(&[(op, answer)]).await;
        let mut r = Runner::new();
        std::fs::write(
            r.path("workspace").join("token.jwt"),
            "eyJhbGciOiJub25lIn0.e30.sig",
        )
        .unwrap();
        r.input("role-to-assume", ROLE)
            .input("web-identity-token-file", "token.jwt")
            .input("sts-endpoint", &server.uri())
            .input("retry-max-attempts", "1")
            .set("RUST_LOG", "trace")
            .set("RUNNER_DEBUG", "1");
        let ran = r.run().await;
        assert_nothing_exported(&r, &ran);
        assert!(
            ran.stdout.contains("::error"),
            "{what}: an error annotation:\n{}",
            ran.all()
        );
        // A refused answer's credentials were never masked: they must not show.
        let issued = [
            ("STS key id", STS_KEY_ID.to_owned()),
            ("STS secret", STS_SECRET.to_owned()),
            ("STS token", STS_TOKEN.to_owned()),
        ];
        let shown = leaks(&ran, &issued);
        assert!(shown.is_empty(), "{what}: {shown:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn f8_caller_identity_without_an_account_is_an_error() {
    let server = sts(&[("GetCallerIdentity", caller_xml("", ""))]).await;
    let mut r = Runner::new();
    r.input("aws-access-key-id", INPUT_KEY_ID)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("sts-endpoint", &server.uri())
        .input("retry-max-attempts", "1");
    let ran = r.run().await;
    assert_nothing_exported(&r, &ran);
    assert!(ran.stdout.contains("not valid"), "{}", ran.all());
}

// ---------------------------------------------------------------------------------
// Findings 10 and 11: runner files that block or alias each other
// ---------------------------------------------------------------------------------

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn f10_a_fifo_as_github_env_fails_fast_and_leaves_nothing() {
    let server = sts(&[(
        "GetCallerIdentity",
        caller_xml(ACCOUNT, "arn:aws:iam::123456789012:user/u"),
    )])
    .await;
    for with_reader in [false, true] {
        let mut r = Runner::new();
        let fifo = r.path("env-fifo");
        mkfifo(&fifo);
        // A reader that never reads: without O_NONBLOCK the open succeeds and a
        // large write blocks; without any reader a plain open blocks.
        let _reader = with_reader.then(|| {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo)
                .unwrap()
        });
        r.set("GITHUB_ENV", fifo.to_str().unwrap());
        r.input("aws-access-key-id", INPUT_KEY_ID)
            .input("aws-secret-access-key", INPUT_SECRET)
            .input("sts-endpoint", &server.uri())
            .input("action-timeout-s", "5");
        let started = std::time::Instant::now();
        let ran = r.run().await;
        assert!(started.elapsed() < Duration::from_secs(10), "{}", ran.all());
        assert_eq!(ran.code, Some(1), "{}", ran.all());
        assert!(ran.stdout.contains("GITHUB_ENV"), "{}", ran.all());
        assert_eq!(r.read("github-state"), "");
        assert_eq!(r.read("github-output"), "");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn f11_aliased_runner_files_are_refused_before_anything_is_written() {
    let server = sts(&[(
        "GetCallerIdentity",
        caller_xml(ACCOUNT, "arn:aws:iam::123456789012:user/u"),
    )])
    .await;
    for alias in ["same path", "symlink", "summary"] {
        let mut r = Runner::new();
        let env = r.path("github-env");
        std::fs::write(&env, "KEEP=1\n").unwrap();
        match alias {
            "same path" => {
                r.set("GITHUB_OUTPUT", env.to_str().unwrap());
            }
            "summary" => {
                r.set("GITHUB_STEP_SUMMARY", env.to_str().unwrap());
            }
            _ => {
                let link = r.path("state-link");
                std::os::unix::fs::symlink(&env, &link).unwrap();
                r.set("GITHUB_STATE", link.to_str().unwrap());
            }
        }
        r.input("aws-access-key-id", INPUT_KEY_ID)
            .input("aws-secret-access-key", INPUT_SECRET)
            .input("sts-endpoint", &server.uri());
        let ran = r.run().await;
        assert_eq!(ran.code, Some(1), "{alias}: {}", ran.all());
        assert!(ran.stdout.contains("same file"), "{alias}: {}", ran.all());
        assert_eq!(r.read("github-env"), "KEEP=1\n", "{alias}");
    }
}

// ---------------------------------------------------------------------------------
// Finding 1: no credential before its mask, whatever the debug switches
// ---------------------------------------------------------------------------------

/// Lines (stdout and stderr, split as the runner splits them) that show a
/// secret outside its own `::add-mask::` line.
fn leaks(ran: &Ran, secrets: &[(&str, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (stream, text) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
        for line in text.split(['\n', '\r']) {
            if line.trim_start().starts_with("::add-mask::") {
                continue;
            }
            for (label, secret) in secrets {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
                if line.contains(secret.as_str()) || line.contains(encoded.as_str()) {
                    let at = line.find(secret.as_str()).unwrap_or(0);
                    let shown: String =
                        line.chars().skip(at.saturating_sub(60)).take(160).collect();
                    found.push(format!("{label} on {stream}: …{shown}…"));
                }
            }
        }
    }
    found
}

#[test]
fn f1_the_scanner_sees_what_it_looks_for() {
    let secret = "s3cr3t/value+x".to_owned();
    let ran = |text: &str| Ran {
        code: None,
        stdout: text.to_owned(),
        stderr: String::new(),
    };
    let secrets = [("s", secret.clone())];
    assert!(leaks(&ran(&format!("::add-mask::{secret}\nok")), &secrets).is_empty());
    assert_eq!(leaks(&ran(&format!("a\r b {secret}")), &secrets).len(), 1);
    assert_eq!(leaks(&ran("body=s3cr3t%2Fvalue%2Bx"), &secrets).len(), 1);
}

fn jwt() -> String {
    use base64::Engine;
    let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        b(r#"{"alg":"RS256","typ":"JWT"}"#),
        b(
            r#"{"sub":"repo:o/r:ref:refs/heads/main","aud":"sts.amazonaws.com","iss":"https://token.actions.githubusercontent.com"}"#
        ),
        "SiGnAtUrEjwtLeakCanary7Q2ZK9abcdefghijklmnop"
    )
}

#[derive(Clone, Copy, Debug)]
enum Path1 {
    Oidc,
    Keys,
    RoleChainingEcs,
    RoleChainingImds,
    TokenFile,
}

#[tokio::test(flavor = "multi_thread")]
async fn f1_no_credential_appears_outside_its_mask_under_any_debug_setting() {
    let token = jwt();
    let server = sts(&[
        (
            "AssumeRoleWithWebIdentity",
            good_assume("AssumeRoleWithWebIdentity"),
        ),
        ("AssumeRole", good_assume("AssumeRole")),
        (
            "GetCallerIdentity",
            caller_xml(ACCOUNT, "arn:aws:iam::123456789012:user/u"),
        ),
    ])
    .await;
    // The token endpoint and an ECS-style container credentials endpoint.
    Mock::given(method("GET"))
        .and(wiremock::matchers::path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(format!("{{\"value\":\"{token}\"}}"), "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path("/ecs-creds"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!(
                "{{\"AccessKeyId\":\"{ECS_KEY_ID}\",\"SecretAccessKey\":\"{ECS_SECRET}\",\"Token\":\"{ECS_TOKEN}\",\"Expiration\":\"{FUTURE}\",\"RoleArn\":\"arn:aws:iam::123456789012:role/task\"}}"
            ),
            "application/json",
        ))
        .mount(&server)
        .await;
    // An IMDSv2 stand-in: session token, role name, the role's credentials.
    Mock::given(method("PUT"))
        .and(wiremock::matchers::path("/latest/api/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
                .set_body_string("imdsSessionTokenValue"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path(
            "/latest/meta-data/iam/security-credentials/",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string("instance-role"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path(
            "/latest/meta-data/iam/security-credentials/instance-role",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!(
                "{{\"Code\":\"Success\",\"LastUpdated\":\"2026-01-01T00:00:00Z\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"{IMDS_KEY_ID}\",\"SecretAccessKey\":\"{IMDS_SECRET}\",\"Token\":\"{IMDS_TOKEN}\",\"Expiration\":\"{FUTURE}\"}}"
            ),
            "application/json",
        ))
        .mount(&server)
        .await;
    let secrets: Vec<(&str, String)> = vec![
        ("IMDS key id", IMDS_KEY_ID.into()),
        ("IMDS secret", IMDS_SECRET.into()),
        ("IMDS token", IMDS_TOKEN.into()),
        ("input key id", INPUT_KEY_ID.into()),
        ("input secret", INPUT_SECRET.into()),
        ("STS key id", STS_KEY_ID.into()),
        ("STS secret", STS_SECRET.into()),
        ("STS token", STS_TOKEN.into()),
        ("ECS key id", ECS_KEY_ID.into()),
        ("ECS secret", ECS_SECRET.into()),
        ("ECS token", ECS_TOKEN.into()),
        ("bearer", BEARER.into()),
        ("OIDC token", token.clone()),
        (
            "OIDC token signature",
            "SiGnAtUrEjwtLeakCanary7Q2ZK9".into(),
        ),
    ];
    let rust_logs = [
        None,
        Some("trace"),
        Some("aws_smithy_runtime=trace,aws_smithy_runtime_api=trace,aws_smithy_http_client=trace,aws_sigv4=trace,aws_config=trace,aws_credential_types=trace,hyper=trace,hyper_util=trace,reqwest=trace,keyless_aws=trace"),
    ];
    let mut problems = Vec::new();
    let mut runs = 0;
    for path in [
        Path1::Oidc,
        Path1::Keys,
        Path1::RoleChainingEcs,
        Path1::RoleChainingImds,
        Path1::TokenFile,
    ] {
        for rust_log in rust_logs {
            for body_logging in [false, true] {
                for debug in [false, true] {
                    let mut r = Runner::new();
                    r.input("sts-endpoint", &server.uri())
                        .input("role-skip-session-tagging", "true")
                        .input("retry-max-attempts", "1");
                    if let Some(v) = rust_log {
                        r.set("RUST_LOG", v);
                    }
                    if body_logging {
                        // The SDK's own switches for body logging; its trace output
                        // names LOG_SENSITIVE_BODIES to whoever reads it.
                        r.set("LOG_SIGNABLE_BODY", "true")
                            .set("LOG_SENSITIVE_BODIES", "true");
                    }
                    if debug {
                        r.set("RUNNER_DEBUG", "1").set("ACTIONS_STEP_DEBUG", "true");
                    }
                    match path {
                        Path1::Oidc => {
                            r.input("role-to-assume", ROLE)
                                .set(
                                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                                    &format!("{}/token?api-version=2.0", server.uri()),
                                )
                                .set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", BEARER);
                        }
                        Path1::Keys => {
                            keys_to_role(&mut r, &server);
                        }
                        Path1::RoleChainingEcs => {
                            r.input("role-to-assume", ROLE)
                                .input("role-chaining", "true")
                                .set(
                                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                    &format!("{}/ecs-creds", server.uri()),
                                );
                        }
                        Path1::RoleChainingImds => {
                            r.env.remove("AWS_EC2_METADATA_DISABLED");
                            r.input("role-to-assume", ROLE)
                                .input("role-chaining", "true")
                                .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &server.uri());
                        }
                        Path1::TokenFile => {
                            std::fs::write(r.path("workspace").join("token.jwt"), &token).unwrap();
                            r.input("role-to-assume", ROLE)
                                .input("web-identity-token-file", "token.jwt");
                        }
                    }
                    let ran = r.run().await;
                    runs += 1;
                    let setting = format!(
                        "{path:?} RUST_LOG={rust_log:?} body-logging={body_logging} debug={debug}"
                    );
                    if ran.code != Some(0) {
                        problems.push(format!("{setting}: failed:\n{}", ran.all()));
                        continue;
                    }
                    problems.extend(
                        leaks(&ran, &secrets)
                            .into_iter()
                            .map(|l| format!("{setting}: {l}")),
                    );
                }
            }
        }
    }
    assert!(runs == 60, "{runs}");
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------
// Finding 3: mask-aws-account-id masks first, on every path
// ---------------------------------------------------------------------------------

fn sts_error_xml(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-3</RequestId></ErrorResponse>"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn f3_the_account_is_masked_before_any_line_or_summary_names_it() {
    let denied = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            sts_error_xml(
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/u is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/deploy",
            ),
            "text/xml",
        ))
        .mount(&denied)
        .await;
    let works = sts(&[
        ("AssumeRole", good_assume("AssumeRole")),
        (
            "GetCallerIdentity",
            caller_xml(ACCOUNT, "arn:aws:iam::123456789012:user/u"),
        ),
    ])
    .await;
    let account = [("account id", ACCOUNT.to_owned())];
    for case in ["denied", "bare role name", "use-existing", "plan fails"] {
        let mut r = Runner::new();
        r.input("mask-aws-account-id", "true")
            .set("RUNNER_DEBUG", "1")
            .set("ACTIONS_STEP_DEBUG", "true");
        match case {
            "denied" => keys_to_role(&mut r, &denied),
            "bare role name" => {
                keys_to_role(&mut r, &works);
                r.input("role-to-assume", "deploy");
            }
            "use-existing" => {
                r.input("use-existing-credentials", "true")
                    .input("sts-endpoint", &works.uri())
                    .set("AWS_ACCESS_KEY_ID", ECS_KEY_ID)
                    .set("AWS_SECRET_ACCESS_KEY", ECS_SECRET);
            }
            _ => {
                keys_to_role(&mut r, &works);
                r.input("role-to-assume", "arn:aws-cn:iam::123456789012:role/deploy");
            }
        }
        let ran = r.run().await;
        let expect = if matches!(case, "denied" | "plan fails") {
            1
        } else {
            0
        };
        assert_eq!(ran.code, Some(expect), "{case}: {}", ran.all());
        let shown = leaks(&ran, &account);
        assert!(shown.is_empty(), "{case}: {shown:#?}\n{}", ran.all());
        if case != "plan fails" {
            assert!(
                ran.stdout.contains(&format!("::add-mask::{ACCOUNT}")),
                "{case}: the account is masked:\n{}",
                ran.all()
            );
        }
        let summary = r.read("step-summary");
        assert!(!summary.contains(ACCOUNT), "{case}: summary:\n{summary}");
    }
}

// ---------------------------------------------------------------------------------
// Finding 6: secrets inside URLs
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn f6_url_userinfo_and_the_token_query_are_never_printed() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let secrets: Vec<(&str, String)> = vec![
        ("endpoint password", "EndpointPass%21word7Q".into()),
        ("endpoint password decoded", "EndpointPass!word7Q".into()),
        ("proxy user token", "ghp_ProxyUserToken7Q2ZK9".into()),
        ("token URL query", "RunnerIssuedQuery7Q2ZK9".into()),
    ];
    for case in ["sts-endpoint", "proxy user", "token url"] {
        let mut r = Runner::new();
        r.set("RUNNER_DEBUG", "1")
            .set("ACTIONS_STEP_DEBUG", "true")
            .set("RUST_LOG", "trace")
            .input("retry-max-attempts", "1");
        match case {
            "sts-endpoint" => {
                r.input("aws-access-key-id", INPUT_KEY_ID)
                    .input("aws-secret-access-key", INPUT_SECRET)
                    .input(
                        "sts-endpoint",
                        &format!("http://user:EndpointPass%21word7Q@127.0.0.1:{closed}"),
                    );
            }
            "proxy user" => {
                r.input("aws-access-key-id", INPUT_KEY_ID)
                    .input("aws-secret-access-key", INPUT_SECRET)
                    .input("sts-endpoint", &format!("http://127.0.0.1:{closed}"))
                    .input(
                        "http-proxy",
                        &format!("http://ghp_ProxyUserToken7Q2ZK9@127.0.0.1:{closed}"),
                    );
            }
            _ => {
                r.input("role-to-assume", ROLE)
                    .set(
                        "ACTIONS_ID_TOKEN_REQUEST_URL",
                        &format!("http://127.0.0.1:{closed}/token?api-version=2.0&sig=RunnerIssuedQuery7Q2ZK9"),
                    )
                    .set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", BEARER);
            }
        }
        let ran = r.run().await;
        assert_eq!(ran.code, Some(1), "{case}: {}", ran.all());
        let shown = leaks(&ran, &secrets);
        assert!(shown.is_empty(), "{case}: {shown:#?}");
        let summary = r.read("step-summary");
        for (label, secret) in &secrets {
            assert!(
                !summary.contains(secret.as_str()),
                "{case}: {label} in the summary:\n{summary}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// Finding 4: protective inputs do not fail open on bad bytes
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn f4_an_undecodable_input_is_an_error_not_unset() {
    let server = sts(&[(
        "GetCallerIdentity",
        caller_xml(ACCOUNT, "arn:aws:iam::123456789012:user/u"),
    )])
    .await;
    let mut r = Runner::new();
    r.input("aws-access-key-id", INPUT_KEY_ID)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("sts-endpoint", &server.uri());
    // Meant to allow only another account; one bad byte must not lift the check.
    let ran = r
        .run_with(&[], &[(b"INPUT_ALLOWED-ACCOUNT-IDS", b"11111111111\xff")])
        .await;
    assert_nothing_exported(&r, &ran);
    assert!(ran.stdout.contains("allowed-account-ids"), "{}", ran.all());
    assert!(ran.stdout.contains("UTF-8"), "{}", ran.all());
    // A deny-all session policy with a bad byte, on a role hop.
    let mut r = Runner::new();
    keys_to_role(&mut r, &server);
    let ran = r
        .run_with(
            &[],
            &[(
                b"INPUT_INLINE-SESSION-POLICY",
                b"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Sid\":\"\xfe\"}]}",
            )],
        )
        .await;
    assert_nothing_exported(&r, &ran);
    assert!(
        ran.stdout.contains("inline-session-policy"),
        "{}",
        ran.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn f4_only_the_runners_spelling_of_an_input_counts() {
    let server = sts(&[(
        "GetCallerIdentity",
        caller_xml(ACCOUNT, "arn:aws:iam::123456789012:user/u"),
    )])
    .await;
    let mut r = Runner::new();
    r.input("aws-access-key-id", INPUT_KEY_ID)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("sts-endpoint", &server.uri())
        .set("input_aws-region", "us-east-1")
        .set("INPUT_aws-region", "us-east-2");
    let ran = r.run().await;
    assert!(!ran.stdout.contains("Internal error"), "{}", ran.all());
    assert_eq!(ran.code, Some(0), "{}", ran.all());
    assert!(
        r.read("github-env").contains("\neu-west-1\n"),
        "{}",
        r.read("github-env")
    );
}

// ---------------------------------------------------------------------------------
// Finding 7: the token file cannot be something else
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn f7_token_file_tricks_never_reach_sts() {
    let server = sts(&[(
        "AssumeRoleWithWebIdentity",
        good_assume("AssumeRoleWithWebIdentity"),
    )])
    .await;
    for (case, path) in [
        ("relative ..", "../../../../../../../../proc/self/environ"),
        ("procfs", "/proc/self/environ"),
        ("linked parent", "d/environ"),
        (
            "projected prefix with ..",
            "/var/run/secrets/../../proc/self/environ",
        ),
        ("sysfs", "/sys/kernel/mm/transparent_hugepage/enabled"),
    ] {
        let mut r = Runner::new();
        std::os::unix::fs::symlink("/proc/self", r.path("workspace").join("d")).unwrap();
        r.input("role-to-assume", ROLE)
            .input("web-identity-token-file", path)
            .input("sts-endpoint", &server.uri())
            .input("retry-max-attempts", "1")
            .set("SOME_SECRET_IN_ENVIRON", "environSecret7Q2ZK9");
        let ran = r.run().await;
        assert_nothing_exported(&r, &ran);
        assert!(
            ran.stdout.contains("web-identity-token-file"),
            "{case}: {}",
            ran.all()
        );
        let sent = server.received_requests().await.unwrap_or_default();
        assert!(
            sent.is_empty(),
            "{case}: {} request(s) reached STS",
            sent.len()
        );
    }
}

// ---------------------------------------------------------------------------------
// Finding 5: profile directory tricks
// ---------------------------------------------------------------------------------

fn profile_run(r: &mut Runner, server: &MockServer) {
    r.input("aws-access-key-id", INPUT_KEY_ID)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("sts-endpoint", &server.uri())
        .input("aws-profile", "deploy");
}

/// The post step's environment: the main step's state as STATE_* variables.
fn post_env(r: &mut Runner) {
    let state = r.read("github-state");
    let mut lines = state.lines();
    while let Some(head) = lines.next() {
        let Some((name, delim)) = head.split_once("<<") else {
            continue;
        };
        let mut value = Vec::new();
        for line in lines.by_ref() {
            if line == delim {
                break;
            }
            value.push(line);
        }
        r.set(&format!("STATE_{name}"), &value.join("\n"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn f5_a_linked_profile_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let server = sts(&[(
        "GetCallerIdentity",
        caller_xml(ACCOUNT, "arn:aws:iam::123456789012:user/u"),
    )])
    .await;
    // The user's own AWS directory, where a planted link points.
    for link_at in [".keyless-aws", "runner-temp", "runner-temp, real dir"] {
        let mut r = Runner::new();
        // The user's own files: in a directory a planted link points to, or (last
        // case) in a real `.keyless-aws` directory inside the user's home.
        let home = r.path("users-home");
        let users = if link_at == "runner-temp, real dir" {
            home.join(".keyless-aws")
        } else {
            r.path("users-aws")
        };
        std::fs::create_dir_all(&users).unwrap();
        std::fs::write(users.join("config"), "[profile mine]\nregion = us-east-1\n").unwrap();
        std::fs::write(
            users.join("credentials"),
            "[mine]\naws_access_key_id = AKIAMINE\n",
        )
        .unwrap();
        match link_at {
            ".keyless-aws" => {
                std::os::unix::fs::symlink(&users, r.path("runner-temp").join(".keyless-aws"))
                    .unwrap();
            }
            "runner-temp" => {
                // RUNNER_TEMP itself is a link to a directory holding a planted link.
                let real = r.path("real-temp");
                std::fs::create_dir(&real).unwrap();
                std::os::unix::fs::symlink(&users, real.join(".keyless-aws")).unwrap();
                std::os::unix::fs::symlink(&real, r.path("linked-temp")).unwrap();
                r.set("RUNNER_TEMP", r.path("linked-temp").to_str().unwrap());
            }
            _ => {
                // RUNNER_TEMP is a link into the user's home.
                std::os::unix::fs::symlink(&home, r.path("linked-temp")).unwrap();
                r.set("RUNNER_TEMP", r.path("linked-temp").to_str().unwrap());
            }
        }
        profile_run(&mut r, &server);
        let ran = r.run().await;
        assert_nothing_exported(&r, &ran);
        assert!(ran.stdout.contains("link"), "{link_at}: {}", ran.all());
        assert_eq!(
            std::fs::read_to_string(users.join("config")).unwrap(),
            "[profile mine]\nregion = us-east-1\n",
            "{link_at}"
        );
    }
    // A pre-existing directory that belongs to someone else is refused (only
    // root can set that up, so only then is this case run).
    if unsafe { libc::geteuid() } == 0 {
        let mut r = Runner::new();
        let dir = r.path("runner-temp").join(".keyless-aws");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(4242), Some(4242)).unwrap();
        profile_run(&mut r, &server);
        let ran = r.run().await;
        assert_nothing_exported(&r, &ran);
        assert!(ran.stdout.contains("uid 4242"), "{}", ran.all());
    }
    // A pre-existing directory with loose permissions is tightened.
    let mut r = Runner::new();
    let dir = r.path("runner-temp").join(".keyless-aws");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    profile_run(&mut r, &server);
    let ran = r.run().await;
    assert_eq!(ran.code, Some(0), "{}", ran.all());
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700);
}

#[tokio::test(flavor = "multi_thread")]
async fn f5_the_post_step_removes_only_the_files_it_created() {
    let server = sts(&[(
        "GetCallerIdentity",
        caller_xml(ACCOUNT, "arn:aws:iam::123456789012:user/u"),
    )])
    .await;
    let mut r = Runner::new();
    profile_run(&mut r, &server);
    let ran = r.run().await;
    assert_eq!(ran.code, Some(0), "{}", ran.all());
    let dir = r.path("runner-temp").join(".keyless-aws");
    assert!(dir.join("config").is_file() && dir.join("credentials").is_file());
    // Between the steps, the credentials file is replaced by the user's own, and
    // the config by a link to the user's config.
    let users = r.path("users-config");
    std::fs::write(&users, "[profile mine]\n").unwrap();
    std::fs::remove_file(dir.join("credentials")).unwrap();
    std::fs::write(dir.join("credentials"), "[mine]\n").unwrap();
    std::fs::remove_file(dir.join("config")).unwrap();
    std::os::unix::fs::symlink(&users, dir.join("config")).unwrap();
    post_env(&mut r);
    assert!(
        r.env.contains_key("STATE_profile_files"),
        "{}",
        r.read("github-state")
    );
    let ran = r.run_with(&["post"], &[]).await;
    assert_eq!(ran.code, Some(0), "{}", ran.all());
    assert_eq!(
        std::fs::read_to_string(dir.join("credentials")).unwrap(),
        "[mine]\n"
    );
    assert!(std::fs::symlink_metadata(dir.join("config")).is_ok());
    assert_eq!(std::fs::read_to_string(&users).unwrap(), "[profile mine]\n");

    // Untouched files are removed.
    let mut r = Runner::new();
    profile_run(&mut r, &server);
    assert_eq!(r.run().await.code, Some(0));
    post_env(&mut r);
    let ran = r.run_with(&["post"], &[]).await;
    assert_eq!(ran.code, Some(0), "{}", ran.all());
    let dir = r.path("runner-temp").join(".keyless-aws");
    assert!(!dir.join("config").exists() && !dir.join("credentials").exists());
}
