//! Test harness: runs the real binary the way the runner does (an environment
//! built from scratch, runner files in a temp dir) and returns what it wrote.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";
pub const ACCESS_KEY_ID: &str = "ASIAISSUEDBYSTS00001";
pub const SECRET_KEY: &str = "issuedSecretKeyFromSTS0000000000000000000";
pub const SESSION_TOKEN: &str = "IssuedSessionTokenFromSTS//////////EXAMPLE+TOKEN=";
pub const REQUEST_TOKEN: &str = "runner-request-bearer-token";

/// A run of the binary, configured like a step.
pub struct Scenario {
    pub dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
    args: Vec<String>,
}

/// What one run printed and wrote.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub env_file: String,
    pub output_file: String,
    pub summary: String,
    pub state: String,
    pub elapsed: Duration,
}

pub const ENV_BEFORE: &str = "EARLIER_STEP=kept\n";
pub const OUTPUT_BEFORE: &str = "earlier=kept\n";

impl Scenario {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in [
            ("env", ENV_BEFORE),
            ("output", OUTPUT_BEFORE),
            ("summary", ""),
            ("state", ""),
        ] {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        std::fs::create_dir(dir.path().join("workspace")).unwrap();
        std::fs::create_dir(dir.path().join("temp")).unwrap();
        let mut env = BTreeMap::new();
        let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
        env.insert("PATH".into(), "/usr/bin:/bin".into());
        env.insert("HOME".into(), p("workspace"));
        env.insert("GITHUB_ACTIONS".into(), "true".into());
        env.insert("GITHUB_ENV".into(), p("env"));
        env.insert("GITHUB_OUTPUT".into(), p("output"));
        env.insert("GITHUB_STEP_SUMMARY".into(), p("summary"));
        env.insert("GITHUB_STATE".into(), p("state"));
        env.insert("GITHUB_WORKSPACE".into(), p("workspace"));
        env.insert("RUNNER_TEMP".into(), p("temp"));
        // Every input action.yml declares, with its default or empty, as the
        // runner passes them.
        for (name, value) in action_yml_defaults() {
            let value = value.replace("${{ runner.temp }}", &p("temp"));
            env.insert(format!("INPUT_{}", name.to_uppercase()), value);
        }
        Scenario {
            dir,
            env,
            args: Vec::new(),
        }
    }

    pub fn input(mut self, name: &str, value: &str) -> Self {
        self.env
            .insert(format!("INPUT_{}", name.to_uppercase()), value.into());
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    pub fn remove_env(mut self, name: &str) -> Self {
        self.env.remove(name);
        self
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The OIDC variables the runner sets when the job has `id-token: write`.
    pub fn oidc(self, token_endpoint: &str) -> Self {
        self.env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            &format!("{token_endpoint}/_apis/token?api-version=2.0"),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
    }

    pub fn run(&self) -> Outcome {
        let start = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_keyless-aws"))
            .args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(self.path("workspace"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Bounded: no scenario may hang the suite.
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the binary did not finish within 60 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let out = child.wait_with_output().unwrap();
        let read = |n: &str| std::fs::read_to_string(self.path(n)).unwrap();
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            env_file: read("env"),
            output_file: read("output"),
            summary: read("summary"),
            state: read("state"),
            elapsed: start.elapsed(),
        }
    }
}

impl Outcome {
    /// The entries appended to GITHUB_ENV by this run.
    pub fn exported_env(&self) -> BTreeMap<String, String> {
        parse_file_commands(
            self.env_file
                .strip_prefix(ENV_BEFORE)
                .expect("earlier content kept"),
        )
    }

    pub fn outputs(&self) -> BTreeMap<String, String> {
        parse_file_commands(
            self.output_file
                .strip_prefix(OUTPUT_BEFORE)
                .expect("earlier content kept"),
        )
    }

    pub fn assert_success(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// A failed run: one annotation, and the runner files exactly as before.
    pub fn assert_failed_cleanly(&self) -> &Self {
        assert_ne!(self.code, 0, "expected failure; stdout:\n{}", self.stdout);
        assert_eq!(self.env_file, ENV_BEFORE, "GITHUB_ENV changed");
        assert_eq!(self.output_file, OUTPUT_BEFORE, "GITHUB_OUTPUT changed");
        assert_eq!(self.state, "", "GITHUB_STATE changed");
        assert_eq!(
            self.stdout
                .lines()
                .filter(|l| l.starts_with("::error "))
                .count(),
            1,
            "{}",
            self.stdout
        );
        self
    }

    pub fn error_line(&self) -> &str {
        self.stdout
            .lines()
            .find(|l| l.starts_with("::error "))
            .unwrap_or("")
    }

    /// Every secret has its `::add-mask::` line and appears nowhere else in
    /// stdout, stderr, the summary or the outputs (so no line can precede the mask).
    pub fn assert_masked_and_not_leaked(&self, secrets: &[&str]) {
        for secret in secrets {
            let mask = format!("::add-mask::{secret}");
            let mask_line = self
                .stdout
                .lines()
                .position(|l| l == mask)
                .unwrap_or_else(|| panic!("no mask for a secret\n{}", self.stdout));
            for (i, line) in self.stdout.lines().enumerate() {
                if i != mask_line {
                    assert!(
                        !line.contains(secret),
                        "secret printed on stdout line {i}: {line}"
                    );
                }
            }
            assert!(!self.stderr.contains(secret), "secret on stderr");
            assert!(!self.summary.contains(secret), "secret in step summary");
            assert!(!self.output_file.contains(secret), "secret in outputs");
        }
    }
}

/// Parses `NAME<<DELIM\nvalue\nDELIM\n` entries.
pub fn parse_file_commands(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(head) = lines.next() {
        let (name, delim) = head
            .split_once("<<")
            .unwrap_or_else(|| panic!("not a heredoc entry: {head}"));
        let mut value = Vec::new();
        for line in lines.by_ref() {
            if line == delim {
                break;
            }
            value.push(line);
        }
        out.insert(name.to_owned(), value.join("\n"));
    }
    out
}

/// The inputs action.yml declares and their defaults (empty when none). Read
/// line by line: action.yml keeps each input at two spaces of indent and its
/// `default:` at four, and this fails loudly if that ever changes.
pub fn action_yml_defaults() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_root().join("action.yml")).expect("action.yml");
    let mut inputs: Vec<(String, String)> = Vec::new();
    let mut in_inputs = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') && !line.is_empty() {
            in_inputs = line == "inputs:";
            continue;
        }
        if !in_inputs {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            if !name.starts_with(' ') {
                inputs.push((name.to_owned(), String::new()));
            }
        } else if let Some(value) = line.strip_prefix("    default: ") {
            let value = value.trim().trim_matches('\'').trim_matches('"');
            inputs.last_mut().expect("default before any input").1 = value.to_owned();
        }
    }
    assert!(inputs.len() > 20, "action.yml inputs not found: {inputs:?}");
    inputs
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// moto's server (a real AWS emulator from PyPI) on a free 127.0.0.1 port,
/// stopped when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    pub fn start(extra_env: &[(&str, &str)]) -> Moto {
        let port = free_port();
        let mut cmd = Command::new("python3");
        cmd.args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .expect("python3 -m moto.server (pip install 'moto[server]')");
        let url = format!("http://127.0.0.1:{port}");
        let moto = Moto { child, url };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// An unsigned JWT with GitHub-like claims.
pub fn jwt(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}.c2lnbmF0dXJl",
        enc(r#"{"alg":"RS256","typ":"JWT"}"#),
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

/// STS's answer to AssumeRole / AssumeRoleWithWebIdentity.
pub fn sts_assume_xml(op: &str, akid: &str, secret: &str, token: &str, arn: &str) -> String {
    format!(
        r#"<{op}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{op}Result><Credentials><AccessKeyId>{akid}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId><Arn>{arn}</Arn></AssumedRoleUser></{op}Result><ResponseMetadata><RequestId>req-ok</RequestId></ResponseMetadata></{op}Response>"#
    )
}

pub fn sts_caller_xml(account: &str, arn: &str) -> String {
    format!(
        r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDA</UserId><Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-gci</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#
    )
}

pub fn sts_error_xml(code: &str, message: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>req-err-42</RequestId></ErrorResponse>"#
    )
}
