//! Leak and injection test: runs the real binary in many scenarios, with every
//! debug switch on, and scans every byte it produces for every secret it saw.
//!
//! * Credential paths, all reachable on this machine: OIDC (token endpoint stand-in
//!   `scripts/token_endpoint.py` + moto's STS), a Cognito identity pool (moto's Cognito
//!   Identity), access keys → AssumeRole, plain keys,
//!   role chaining and `use-existing-credentials` with AWS_* variables, a web identity
//!   token file, `roles`, `refresh-credentials` followed by the refresh helper (as an
//!   SDK runs it, refreshing from the token endpoint and STS itself), the post step;
//!   failures (refused bearer, STS AccessDenied from the
//!   stand-in, unreachable endpoints, bad inputs, `allowed-account-ids`, profiles).
//! * Secrets: input keys, ambient AWS_* keys, the request bearer token, the OIDC JWT,
//!   the token file, every credential read back from GITHUB_ENV/GITHUB_OUTPUT and every
//!   value the binary registered with `::add-mask::`, each also base64 (at every byte
//!   alignment, standard and URL alphabets), URL-, percent-, JSON-, hex- and
//!   workflow-escaped, and the first/last 24 characters of long ones.
//! * Scanned: stdout, stderr, GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STATE,
//!   GITHUB_STEP_SUMMARY and every other file in the scenario's directory that the test
//!   did not put there (the refresh description, config, CA bundle, the post step's
//!   leftovers…), once after the helper ran and once after the post step; the helper's
//!   stderr and the post step's output. Allowed: the `::add-mask::` lines themselves,
//!   the credential variables in GITHUB_ENV, the credential outputs when
//!   `output-credentials: true`, the profiles' credentials file (mode 0600) with
//!   `aws-profile` or `roles`, and the refresh cache (mode 0600).
//! * Injection: payloads such as `\n::set-env name=X::y`, `%0A::add-mask::`,
//!   `\r::stop-commands::tok` and the legacy `##[command]` form, placed in STS error
//!   messages, codes and request ids, assumed-role and caller ARNs, token claims, inputs
//!   and GITHUB_* variables. stdout and stderr are read the way the runner reads them
//!   (lines split at CR or LF; `::cmd` after leading spaces, `##[cmd]` anywhere); the
//!   only commands allowed are the ones the action writes itself.
//!
//! Servers: moto and the token stand-in run as child processes on free 127.0.0.1
//! ports, ended by Drop guards (and by themselves after 15 minutes); wiremock serves
//! the hostile answers in process. Every scenario is killed after 40 s. The moto
//! scenarios are their own test, ignored unless `--include-ignored` (scripts/test.sh).

use crate::support::moto::Moto;
use crate::support::scan::{check_commands, context, escape_data, find, forms, unescape_data};
use crate::support::token_endpoint::TokenEndpoint;
use crate::support::{
    self, jwt, parse_file_commands, require, sts_assume_xml, sts_caller_xml, sts_error_xml, Creds,
    StsStandIn, Tool, LOCALHOST, ROLE,
};
use base64::Engine;
use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, ResponseTemplate};

const SCENARIO_LIMIT: Duration = Duration::from_secs(40);

/// Text that must never become a workflow command, in every place outside text
/// reaches the log.
pub(crate) const PAYLOADS: &[&str] = &[
    "\n::set-env name=X::y",
    "%0A::add-mask::leak",
    "\r::stop-commands::tok",
    "\r\n::set-output name=aws-account-id::999999999999",
    "\n   ::warning title=x::indented",
    "\n::endgroup::",
    "##[add-mask]hashleak",
    "x ##[stop-commands]tok2",
    "\n##[set-env name=Z;]w",
    "%0D%0A::save-state name=exported::1",
    "\n::add-path::/tmp/evil",
    "\n::echo::on",
    "\u{2028}::set-env name=Y::z",
    "\n::error::forged error",
];

// ---------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------

/// Printed even when libtest captures output, so the figures reach the CI log.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn random_text(len: usize, alphabet: &[u8]) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+";

fn access_key_id(prefix: &str) -> String {
    format!("{prefix}{}", random_text(16, UPPER_DIGITS))
}

fn secret_key() -> String {
    random_text(40, SECRET_CHARS)
}

fn session_token() -> String {
    format!("IQoJb3JpZ2luX2Vj{}", random_text(300, SECRET_CHARS))
}

fn github_claims(aud: &str) -> serde_json::Value {
    serde_json::json!({
        "sub": "repo:octo-org/octo-repo:ref:refs/heads/main",
        "aud": aud,
        "iss": "https://token.actions.githubusercontent.com",
        "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org",
        "ref": "refs/heads/main",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main",
        "event_name": "push",
        "exp": 4_102_444_800i64,
    })
}

// ---------------------------------------------------------------------------------
// Helper servers
// ---------------------------------------------------------------------------------

/// wiremock in process, for answers no real server gives: hostile STS messages and
/// ARNs, token claims with payloads. Each scenario gets its own path.
struct Mocks {
    stand_in: StsStandIn,
    next: AtomicUsize,
}

impl Mocks {
    fn start() -> Mocks {
        Mocks {
            stand_in: StsStandIn::new(),
            next: AtomicUsize::new(0),
        }
    }

    /// A fresh path, and its full URL.
    fn fresh(&self) -> (String, String) {
        let path = format!("/m{}", self.next.fetch_add(1, Ordering::Relaxed));
        let url = format!("{}{path}", self.stand_in.uri());
        (path, url)
    }

    fn mount(&self, verb: &str, path: &str, response: ResponseTemplate) {
        self.stand_in.clone().mount(
            Mock::given(method(verb))
                .and(path_regex(format!("^{}/?$", regex_escape(path))))
                .respond_with(response),
        );
    }

    /// An STS endpoint that answers every call with `status` and `xml`.
    fn sts(&self, status: u16, xml: String) -> String {
        let (path, url) = self.fresh();
        self.mount(
            "POST",
            &path,
            ResponseTemplate::new(status).set_body_raw(xml, "text/xml"),
        );
        url
    }

    /// A token endpoint that hands out `token`; returns ACTIONS_ID_TOKEN_REQUEST_URL.
    fn token_endpoint(&self, token: &str) -> String {
        let (path, url) = self.fresh();
        let body = serde_json::json!({ "value": token }).to_string();
        self.mount(
            "GET",
            &path,
            ResponseTemplate::new(200).set_body_raw(body, "application/json"),
        );
        format!("{url}?api-version=2.0")
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

fn issued() -> Creds {
    Creds {
        key_id: access_key_id("ASIA"),
        secret: secret_key(),
        token: session_token(),
    }
}

// ---------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Expect {
    Success,
    Failure,
}

/// What a later step does after a successful run, in the same runner
/// directories: the scan covers what it prints and every file it leaves.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Later {
    /// The refresh helper as an SDK runs it (without the seeded cache, so it
    /// requests a token and calls STS itself).
    Helper,
    /// The post step, with the main step's GITHUB_STATE as STATE_* variables.
    PostStep,
}

#[derive(Clone)]
struct Case {
    name: String,
    args: Vec<String>,
    /// `(input, value)`: passed as INPUT_<INPUT in upper case>.
    inputs: Vec<(String, String)>,
    env: Vec<(String, String)>,
    /// Secret values this scenario hands in (beyond what the binary masks or exports).
    secrets: Vec<(String, String)>,
    /// Files the test writes into the workspace before the run (not scanned unless changed).
    files: Vec<(String, Vec<u8>)>,
    expect: Expect,
    /// Injection payloads this scenario places.
    payloads: usize,
    /// Later steps, in order, after a successful run.
    later: Vec<Later>,
}

impl Case {
    fn new(name: impl Into<String>, expect: Expect) -> Case {
        Case {
            name: name.into(),
            args: Vec::new(),
            inputs: vec![("aws-region".into(), "eu-west-1".into())],
            env: Vec::new(),
            secrets: Vec::new(),
            files: Vec::new(),
            expect,
            payloads: 0,
            later: Vec::new(),
        }
    }

    fn then(mut self, later: Later) -> Self {
        self.later.push(later);
        self
    }

    fn without_input(mut self, name: &str) -> Self {
        self.inputs.retain(|(n, _)| n != name);
        self
    }

    fn input(mut self, name: &str, value: impl Into<String>) -> Self {
        self.inputs.retain(|(n, _)| n != name);
        self.inputs.push((name.into(), value.into()));
        self
    }

    fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    fn secret(mut self, label: &str, value: impl Into<String>) -> Self {
        self.secrets.push((label.into(), value.into()));
        self
    }

    fn file(mut self, path: &str, content: impl Into<Vec<u8>>) -> Self {
        self.files.push((path.into(), content.into()));
        self
    }

    fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    fn payloads(mut self, n: usize) -> Self {
        self.payloads += n;
        self
    }

    fn input_value(&self, name: &str) -> Option<&str> {
        self.inputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Input keys (and an optional session token), registered as secrets.
    fn keys(self, with_token: bool) -> Self {
        let (id, secret) = (access_key_id("AKIA"), secret_key());
        let mut s = self
            .input("aws-access-key-id", id.clone())
            .input("aws-secret-access-key", secret.clone())
            .secret("input aws-access-key-id", id)
            .secret("input aws-secret-access-key", secret);
        if with_token {
            let token = session_token();
            s = s
                .input("aws-session-token", token.clone())
                .secret("input aws-session-token", token);
        }
        s
    }

    /// AWS_* credentials in the environment, as an earlier step would leave them.
    fn ambient(self) -> Self {
        let (id, secret, token) = (access_key_id("ASIA"), secret_key(), session_token());
        self.env("AWS_ACCESS_KEY_ID", id.clone())
            .env("AWS_SECRET_ACCESS_KEY", secret.clone())
            .env("AWS_SESSION_TOKEN", token.clone())
            .secret("ambient AWS_ACCESS_KEY_ID", id)
            .secret("ambient AWS_SECRET_ACCESS_KEY", secret)
            .secret("ambient AWS_SESSION_TOKEN", token)
    }

    /// The runner's OIDC variables, pointing at `url`.
    fn oidc(self, url: &str, bearer: &str) -> Self {
        self.input("role-to-assume", ROLE)
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", url)
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", bearer)
            .secret("bearer request token", bearer)
    }

    /// Hands the runner-side GITHUB_* variables that become session tags.
    fn github_vars(self) -> Self {
        self.env("GITHUB_REPOSITORY", "octo-org/octo-repo")
            .env("GITHUB_WORKFLOW", "CI")
            .env("GITHUB_ACTION", "__keyless")
            .env("GITHUB_ACTOR", "octocat")
            .env("GITHUB_SHA", "6d2f9e4c1b0a8f7e6d5c4b3a29180f7e6d5c4b3a")
            .env("GITHUB_REF", "refs/heads/main")
            .env("GITHUB_RUN_ID", "42")
    }
}

/// The result of one scenario: problems found and what was looked at.
#[derive(Default)]
struct Verdict {
    problems: Vec<String>,
    bytes_scanned: usize,
    secrets: usize,
    needles: usize,
    add_masks: usize,
}

fn run_scenario(s: &Case) -> Verdict {
    // A bare step (no action.yml defaults: each case sets what it means), every debug
    // switch on.
    let mut step = support::Scenario::bare()
        .limit(SCENARIO_LIMIT)
        .env("ACTIONS_STEP_DEBUG", "true")
        .env("RUNNER_DEBUG", "1")
        .env("RUST_LOG", "trace");
    let root = step.dir.path().to_owned();
    let workspace = root.join("workspace");
    let runner_temp = root.join("temp");
    let (env_file, output_file, summary_file) =
        (root.join("env"), root.join("output"), root.join("summary"));
    let mut created: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for (rel, content) in &s.files {
        step = step.file(&format!("workspace/{rel}"), content);
        created.push((workspace.join(rel), content.clone()));
    }
    for (name, value) in &s.inputs {
        step = step.input(name, value);
    }
    for (name, value) in &s.env {
        step = step.env(name, value);
    }
    for arg in &s.args {
        step = step.arg(arg);
    }
    let out = step.run_bounded();
    let later = if out.code == 0 {
        later_steps(s, step, &root)
    } else {
        LaterOutput::default()
    };
    let ran = (out.stdout.as_bytes(), out.stderr.as_bytes());
    // LEAK_DUMP=TEXT keeps the output of the scenarios whose name contains TEXT.
    if let Ok(filter) = std::env::var("LEAK_DUMP") {
        if s.name.contains(&filter) {
            let dump = Path::new(env!("CARGO_TARGET_TMPDIR")).join("leak-dump");
            let _ = std::fs::create_dir_all(&dump);
            let base: String = s
                .name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let _ = std::fs::write(dump.join(format!("{base}.stdout")), ran.0);
            let _ = std::fs::write(dump.join(format!("{base}.stderr")), ran.1);
        }
    }
    let mut v = Verdict::default();
    let name = &s.name;
    let (stdout, stderr) = (out.stdout.clone(), out.stderr.clone());
    if out.timed_out {
        v.problems.push(format!(
            "{name}: still running after {SCENARIO_LIMIT:?}, killed"
        ));
    }
    let succeeded = out.code == 0;
    let expected = s.expect == Expect::Success;
    if succeeded != expected {
        v.problems.push(format!(
            "{name}: expected {:?}, exit {} after {:.1?}\n--- stdout ---\n{}\n--- stderr (last 3000 bytes) ---\n{}",
            s.expect,
            out.code,
            out.elapsed,
            stdout,
            &stderr[stderr.len().saturating_sub(3000)..]
        ));
    }
    if !succeeded && !stdout.lines().any(|l| l.starts_with("::error title=")) {
        v.problems.push(format!(
            "{name}: failed without an ::error annotation:\n{stdout}"
        ));
    }

    // What the binary wrote.
    let read = |f: &Path| std::fs::read(f).unwrap_or_default();
    let env_text = String::from_utf8_lossy(&read(&env_file)).into_owned();
    let out_text = String::from_utf8_lossy(&read(&output_file)).into_owned();
    let env_entries = parse_file_commands(&env_text).unwrap_or_else(|e| {
        v.problems
            .push(format!("{name}: GITHUB_ENV unreadable: {e}"));
        Vec::new()
    });
    let out_entries = parse_file_commands(&out_text).unwrap_or_else(|e| {
        v.problems
            .push(format!("{name}: GITHUB_OUTPUT unreadable: {e}"));
        Vec::new()
    });
    if s.expect == Expect::Failure && (!env_text.is_empty() || !out_text.is_empty()) {
        v.problems
            .push(format!("{name}: a failed run exported something"));
    }

    // The secrets: handed in, exported, or masked by the binary.
    let mut secrets: Vec<(String, String)> = s.secrets.clone();
    secrets.extend(later.secrets.iter().cloned());
    v.problems.extend(later.problems.iter().cloned());
    const ENV_CREDS: &[&str] = &[
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ];
    const OUT_CREDS: &[&str] = &[
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws-session-token",
    ];
    let mut exported: Vec<String> = Vec::new();
    for (n, val) in &env_entries {
        if ENV_CREDS.contains(&n.as_str()) && !val.is_empty() {
            secrets.push((format!("GITHUB_ENV {n}"), val.clone()));
            exported.push(val.clone());
        }
    }
    for (n, val) in &out_entries {
        if OUT_CREDS.contains(&n.as_str()) && !val.is_empty() {
            secrets.push((format!("output {n}"), val.clone()));
            exported.push(val.clone());
        }
    }
    let plain: Vec<&str> = out_entries
        .iter()
        .filter(|(n, _)| n == "aws-account-id" || n == "authenticated-arn")
        .map(|(_, val)| val.as_str())
        .collect();
    let mut masked: Vec<String> = Vec::new();
    let mut other_stdout = String::new();
    for line in stdout.split('\n') {
        if let Some(value) = line.strip_prefix("::add-mask::") {
            let value = unescape_data(value);
            v.add_masks += 1;
            if value.trim().is_empty() {
                v.problems.push(format!("{name}: an empty ::add-mask::"));
            }
            if !plain.contains(&value.as_str()) {
                secrets.push(("a value the binary masked".into(), value.clone()));
            }
            masked.push(value);
        } else {
            other_stdout.push_str(line);
            other_stdout.push('\n');
        }
    }
    // mask-aws-account-id: once masked, the account and ARN appear in no later line
    // and not in the step summary.
    if s.input_value("mask-aws-account-id") == Some("true") {
        let summary = String::from_utf8_lossy(&read(&summary_file)).into_owned();
        for value in &plain {
            let masked_at = stdout.find(&format!("::add-mask::{}", escape_data(value)));
            match masked_at {
                None => v.problems.push(format!(
                    "{name}: mask-aws-account-id, but {value} was not masked"
                )),
                Some(at) => {
                    let after = &stdout[at..];
                    let later = after.split_once('\n').map_or("", |(_, rest)| rest);
                    if later
                        .lines()
                        .any(|l| !l.starts_with("::add-mask::") && l.contains(value))
                        || summary.contains(value)
                    {
                        v.problems
                            .push(format!("{name}: {value} shown after it was masked"));
                    }
                }
            }
        }
    }
    for value in &exported {
        if !masked.contains(value) {
            v.problems.push(format!(
                "{name}: an exported credential was never sent to ::add-mask::"
            ));
        }
    }
    if s.input_value("output-credentials") != Some("true")
        && out_entries
            .iter()
            .any(|(n, _)| OUT_CREDS.contains(&n.as_str()))
    {
        v.problems.push(format!(
            "{name}: credential outputs without output-credentials: true"
        ));
    }
    secrets.sort_by(|a, b| a.1.cmp(&b.1));
    secrets.dedup_by(|a, b| a.1 == b.1);
    secrets.retain(|(_, val)| val.len() >= 8);

    // Where secrets may not be.
    let strip = |entries: &[(String, String)], allowed: &[&str]| -> String {
        entries
            .iter()
            .filter(|(n, _)| !allowed.contains(&n.as_str()))
            .map(|(n, val)| format!("{n}={val}\n"))
            .collect()
    };
    let allowed_outputs: &[&str] = if s.input_value("output-credentials") == Some("true") {
        OUT_CREDS
    } else {
        &[]
    };
    let mut haystacks: Vec<(String, Vec<u8>)> = vec![
        (
            "stdout (without ::add-mask:: lines)".into(),
            other_stdout.clone().into_bytes(),
        ),
        ("stderr".into(), out.stderr.clone().into_bytes()),
    ];
    haystacks.extend(later.streams.iter().cloned());
    haystacks.extend([
        (
            "GITHUB_ENV (without the credential variables)".into(),
            strip(&env_entries, ENV_CREDS).into_bytes(),
        ),
        (
            "GITHUB_OUTPUT (without requested credential outputs)".into(),
            strip(&out_entries, allowed_outputs).into_bytes(),
        ),
    ]);
    v.bytes_scanned += out.stdout.len() + out.stderr.len() + env_text.len() + out_text.len();
    let profile_credentials = runner_temp.join(".keyless-aws/credentials");
    let writes_profiles =
        s.input_value("aws-profile").is_some() || s.input_value("roles").is_some();
    // Every file left behind: after the helper (before the post step) and at the end.
    let mut files: Vec<(String, PathBuf, Vec<u8>)> = later.files_before_post.clone();
    files.extend(walk_scanned(&root).into_iter().map(|p| {
        let content = read(&p);
        ("".to_owned(), p, content)
    }));
    for (stage, entry, content) in files {
        if entry == env_file || entry == output_file {
            continue;
        }
        if created.iter().any(|(p, c)| p == &entry && c == &content) {
            continue; // put there by the test, unchanged
        }
        v.bytes_scanned += content.len();
        let is_cache = entry.parent() == Some(runner_temp.join(".keyless-aws").as_path())
            && entry
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("refresh-cache-"));
        if (entry == profile_credentials && writes_profiles) || is_cache {
            let mode = std::fs::metadata(&entry)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            if mode & 0o077 != 0 {
                v.problems.push(format!(
                    "{name}: the credentials file {} has mode {mode:o}",
                    entry.display()
                ));
            }
            continue; // where the credentials belong with aws-profile, roles, the refresh cache
        }
        let label = format!(
            "{stage}{}",
            entry.strip_prefix(&root).unwrap_or(&entry).display()
        );
        haystacks.push((label, content));
    }

    for (label, secret) in &secrets {
        v.secrets += 1;
        for (form, needle) in forms(secret) {
            v.needles += 1;
            for (place, hay) in &haystacks {
                if let Some(at) = find(hay, needle.as_bytes()) {
                    v.problems.push(format!(
                        "{name}: LEAK of {label} ({form}) in {place}: …{}…",
                        context(hay, at, needle.len())
                    ));
                }
            }
        }
    }

    // Injection: only the action's own commands, on stdout only.
    check_commands(&format!("{name}: stdout"), &stdout, true, &mut v.problems);
    check_commands(&format!("{name}: stderr"), &stderr, false, &mut v.problems);
    v
}

/// What the later steps printed and left, and the secrets they handled.
#[derive(Default)]
struct LaterOutput {
    streams: Vec<(String, Vec<u8>)>,
    /// Files present after the helper ran, before the post step removed any.
    files_before_post: Vec<(String, PathBuf, Vec<u8>)>,
    secrets: Vec<(String, String)>,
    problems: Vec<String>,
}

fn later_steps(s: &Case, step: support::Scenario, root: &Path) -> LaterOutput {
    let mut got = LaterOutput::default();
    let name = &s.name;
    let env_of = |n: &str| s.env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    for later in &s.later {
        match later {
            Later::Helper => {
                let dir = root.join("temp").join(".keyless-aws");
                for entry in walk(&dir) {
                    if entry.to_string_lossy().contains("refresh-cache-") {
                        let _ = std::fs::remove_file(entry);
                    }
                }
                let mut cmd = std::process::Command::new(dir.join("keyless-aws"));
                cmd.args(["credential-process", "--description"])
                    .arg(dir.join("refresh.json"))
                    .env_clear()
                    .env("RUST_LOG", "trace")
                    .env("NO_PROXY", "127.0.0.1");
                for var in [
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                ] {
                    if let Some(v) = env_of(var) {
                        cmd.env(var, v);
                    }
                }
                let ran = support::process::run(&mut cmd, SCENARIO_LIMIT);
                if !ran.success() {
                    got.problems
                        .push(format!("{name}: the helper failed: {}", ran.describe()));
                }
                // Its stdout is the answer: every value in it is a secret elsewhere.
                if let Ok(answer) = serde_json::from_str::<serde_json::Value>(&ran.stdout) {
                    for key in ["AccessKeyId", "SecretAccessKey", "SessionToken"] {
                        if let Some(v) = answer[key].as_str() {
                            got.secrets.push((format!("refreshed {key}"), v.to_owned()));
                        }
                    }
                }
                got.streams
                    .push(("the helper's stderr".into(), ran.stderr.into_bytes()));
                got.files_before_post = walk_scanned(root)
                    .into_iter()
                    .map(|p| {
                        let content = std::fs::read(&p).unwrap_or_default();
                        ("after the helper: ".to_owned(), p, content)
                    })
                    .collect();
            }
            Later::PostStep => {
                let state = std::fs::read_to_string(root.join("state")).unwrap_or_default();
                let mut post = step.arg("post");
                for (k, v) in parse_file_commands(&state).unwrap_or_default() {
                    post = post.env(&format!("STATE_{k}"), &v);
                }
                let out = post.run_bounded();
                if out.code != 0 {
                    got.problems
                        .push(format!("{name}: the post step failed:\n{}", out.stdout));
                }
                got.streams
                    .push(("the post step's stdout".into(), out.stdout.into_bytes()));
                got.streams
                    .push(("the post step's stderr".into(), out.stderr.into_bytes()));
                return got;
            }
        }
    }
    got
}

/// The copy of this very binary that `refresh-credentials` leaves for later
/// steps: it holds no secret of a run (identical bytes), and scanning 150 MB
/// of debug build for every needle would dominate the test.
fn is_the_binary(path: &Path) -> bool {
    static BINARY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let ours = BINARY.get_or_init(|| std::fs::read(support::bin()).unwrap_or_default());
    std::fs::metadata(path).is_ok_and(|m| m.len() == ours.len() as u64)
        && std::fs::read(path).is_ok_and(|bytes| bytes == *ours)
}

/// Every file under `dir` worth scanning: all but an identical copy of the binary.
fn walk_scanned(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| !is_the_binary(p))
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------
// The scenario list
// ---------------------------------------------------------------------------------

fn moto_scenarios(moto: u16, stand_in: u16, bearer: &str) -> Vec<Case> {
    use Expect::*;
    let sts = format!("http://127.0.0.1:{moto}");
    let token_url = format!("http://127.0.0.1:{stand_in}/token?api-version=2.0");
    let oidc = |name: &str, expect| {
        Case::new(name, expect)
            .oidc(&token_url, bearer)
            .input("sts-endpoint", &sts)
    };
    let keys = |name: &str, expect, with_token| {
        Case::new(name, expect)
            .keys(with_token)
            .input("sts-endpoint", &sts)
    };
    let token_file_jwt = jwt(&github_claims("sts.amazonaws.com"));
    let roles = "dev = arn:aws:iam::123456789012:role/dev\nops = arn:aws:iam::123456789012:role/ops via=dev\n";
    let mut list = vec![
        oidc("oidc, refresh-credentials, the helper and the post step", Success)
            .input("refresh-credentials", "true")
            .then(Later::Helper)
            .then(Later::PostStep),
        // A proxy token given as the user name stays out of the description.
        oidc("oidc, refresh-credentials behind a proxy with a token as user name", Success)
            .input("refresh-credentials", "true")
            .input("http-proxy", "http://proxy-user-token-7Q2ZK9xv@127.0.0.1:9")
            .input("no-proxy", "127.0.0.1,localhost")
            .secret("proxy token as user name", "proxy-user-token-7Q2ZK9xv")
            .then(Later::Helper)
            .then(Later::PostStep),
        oidc("oidc, roles, the post step", Success)
            .without_input("role-to-assume")
            .input("roles", roles)
            .then(Later::PostStep),
        oidc("oidc, roles, masked account", Success)
            .without_input("role-to-assume")
            .input("roles", roles)
            .input("mask-aws-account-id", "true"),
        oidc("oidc, credential outputs", Success).input("output-credentials", "true"),
        oidc("oidc, env only", Success),
        oidc("oidc, no env credentials", Success).input("output-env-credentials", "false").input("output-credentials", "true"),
        oidc("oidc, masked account", Success).input("mask-aws-account-id", "true"),
        oidc("oidc, profile", Success).input("aws-profile", "ci"),
        oidc("oidc, custom audience and session", Success).input("audience", "my-audience").input("role-session-name", "deploy-42").input("role-duration-seconds", "900"),
        oidc("oidc, unset current credentials", Success).input("unset-current-credentials", "true").ambient(),
        oidc("oidc, inline and managed policies", Success)
            .input("inline-session-policy", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
            .input("managed-session-policies", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
        oidc("oidc, special characters workaround", Success).input("special-characters-workaround", "true"),
        oidc("oidc, account not allowed", Failure).input("allowed-account-ids", "111111111111"),
        oidc("oidc, account allowed", Success).input("allowed-account-ids", "123456789012, 222222222222"),
        oidc("oidc, refused bearer", Failure).env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong-bearer-value-123"),
        Case::new("oidc, STS AccessDenied (stand-in)", Failure).oidc(&token_url, bearer).input("sts-endpoint", format!("http://127.0.0.1:{stand_in}")),
        Case::new("oidc, STS unreachable", Failure).oidc(&token_url, bearer).input("sts-endpoint", format!("http://127.0.0.1:{}", crate::support::free_port(LOCALHOST))).input("disable-retry", "true"),
        Case::new("oidc, token endpoint unreachable", Failure)
            .oidc(&format!("http://127.0.0.1:{}/token?x=1", crate::support::free_port(LOCALHOST)), bearer)
            .input("sts-endpoint", &sts)
            .input("retry-max-attempts", "1"),
        Case::new("oidc, no token available", Failure).input("role-to-assume", ROLE),
        Case::new("oidc, no token under act", Failure).input("role-to-assume", ROLE).env("ACT", "true"),
        keys("keys → AssumeRole, tags", Success, false)
            .input("role-to-assume", ROLE)
            .input("custom-tags", r#"{"Team":"platform"}"#)
            .input("transitive-tag-keys", "Repository,Team")
            .input("role-external-id", "ext-id-123")
            .input("output-credentials", "true")
            .github_vars(),
        keys("keys + session token → AssumeRole by name", Success, true).input("role-to-assume", "deploy").github_vars(),
        keys("keys → AssumeRole, skip tagging, profile", Success, false)
            .input("role-to-assume", ROLE)
            .input("role-skip-session-tagging", "true")
            .input("aws-profile", "deploy")
            .input("output-credentials", "true"),
        keys("keys → AssumeRole, special characters", Success, false).input("role-to-assume", ROLE).input("special-characters-workaround", "true"),
        keys("plain keys", Success, false).input("output-credentials", "true"),
        keys("plain keys with session token", Success, true),
        keys("plain keys, masked account, profile", Success, false).input("mask-aws-account-id", "true").input("aws-profile", "plain"),
        keys("keys → AssumeRole refused (stand-in)", Failure, false).input("role-to-assume", ROLE).input("sts-endpoint", format!("http://127.0.0.1:{stand_in}")).github_vars(),
        keys("keys, STS unreachable", Failure, true).input("sts-endpoint", format!("http://127.0.0.1:{}", crate::support::free_port(LOCALHOST))).input("disable-retry", "true"),
        Case::new("role chaining", Success).ambient().input("role-to-assume", ROLE).input("role-chaining", "true").input("sts-endpoint", &sts).github_vars(),
        Case::new("role chaining, credential outputs", Success)
            .ambient()
            .input("role-to-assume", ROLE)
            .input("role-chaining", "true")
            .input("role-skip-session-tagging", "true")
            .input("output-credentials", "true")
            .input("sts-endpoint", &sts),
        Case::new("role chaining without credentials", Failure).input("role-to-assume", ROLE).input("role-chaining", "true").input("sts-endpoint", &sts),
        Case::new("use existing credentials", Success).ambient().input("use-existing-credentials", "true").input("sts-endpoint", &sts),
        Case::new("use existing credentials, else OIDC", Success)
            .oidc(&token_url, bearer)
            .input("use-existing-credentials", "true")
            .input("sts-endpoint", &sts),
        Case::new("web identity token file", Success)
            .input("role-to-assume", ROLE)
            .input("web-identity-token-file", "token.jwt")
            .input("sts-endpoint", &sts)
            .input("output-credentials", "true")
            .file("token.jwt", format!("{token_file_jwt}\n"))
            .secret("web identity token", token_file_jwt.clone()),
        Case::new("web identity token file, STS AccessDenied", Failure)
            .input("role-to-assume", ROLE)
            .input("web-identity-token-file", "token.jwt")
            .input("sts-endpoint", format!("http://127.0.0.1:{stand_in}"))
            .file("token.jwt", token_file_jwt.clone())
            .secret("web identity token", token_file_jwt.clone()),
    ];
    // A token file that is too large must not be echoed.
    let big = format!("{}{}", token_file_jwt, "A".repeat(20_000));
    list.push(
        Case::new("web identity token file too large", Failure)
            .input("role-to-assume", ROLE)
            .input("web-identity-token-file", "big.jwt")
            .input("sts-endpoint", &sts)
            .file("big.jwt", big)
            .secret("web identity token", token_file_jwt.clone()),
    );
    list
}

/// Runs without any server: input errors (with secrets set), the post step, setup.
fn offline_scenarios() -> Vec<Case> {
    use Expect::*;
    let keys = |name: &str| Case::new(name, Failure).keys(true);
    let mut list = vec![
        keys("bad region with keys").input("aws-region", "mars-north-1"),
        keys("bad role ARN with keys").input("role-to-assume", "arn:aws:iam::12345:role/x"),
        keys("bad custom tags with keys")
            .input("role-to-assume", ROLE)
            .input("custom-tags", "{\"a\":1}"),
        keys("bad inline policy with keys")
            .input("role-to-assume", ROLE)
            .input("inline-session-policy", "{not json"),
        keys("bad duration with keys")
            .input("role-to-assume", ROLE)
            .input("role-duration-seconds", "99999999999"),
        keys("bad boolean with keys").input("output-credentials", "yes"),
        keys("bad proxy with keys").input("http-proxy", "socks5://127.0.0.1:1"),
        keys("bad account ids with keys").input("allowed-account-ids", "12"),
        keys("bad profile name with keys").input("aws-profile", "a b"),
        keys("runner files missing").env("GITHUB_ENV", ""),
        Case::new("secret key without key id", Failure)
            .input("aws-secret-access-key", secret_key()),
        Case::new("session token without keys", Failure)
            .input("aws-session-token", "IQoJb3JpZ2luX2VjEXAMPLETOKENVALUE"),
        Case::new("secret key as the key id", Failure)
            .input(
                "aws-access-key-id",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            )
            .input(
                "aws-secret-access-key",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            )
            .secret(
                "secret key pasted as key id",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
        Case::new("post step after export", Success)
            .arg("post")
            .env(
                "STATE_exported_env",
                "AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN",
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "post-step-bearer-value")
            .secret("bearer request token", "post-step-bearer-value")
            .ambient(),
        Case::new("post step, nothing exported", Success)
            .arg("post")
            .ambient(),
        // A proxy password in `http-proxy` is a secret too (the proxy is never reached).
        Case::new("proxy with a password", Failure)
            .keys(false)
            .input(
                "http-proxy",
                "http://proxyuser:Pr0xy-pa55word-4Kq9@127.0.0.1:9",
            )
            .input("disable-retry", "true")
            .secret("proxy password", "Pr0xy-pa55word-4Kq9"),
        Case::new("proxy with a password, not http", Failure)
            .keys(false)
            .input(
                "http-proxy",
                "socks5://proxyuser:Pr0xy-pa55word-8Zt3@127.0.0.1:9",
            )
            .secret("proxy password", "Pr0xy-pa55word-8Zt3"),
        Case::new("proxy with an encoded password", Failure)
            .keys(false)
            .input(
                "http-proxy",
                "http://u:Pr0xy%2Fpa55%40word-3Jw1@127.0.0.1:9",
            )
            .input("disable-retry", "true")
            .secret("proxy password", "Pr0xy%2Fpa55%40word-3Jw1")
            .secret("proxy password, decoded", "Pr0xy/pa55@word-3Jw1"),
        Case::new("setup", Success)
            .arg("setup")
            .arg("--repo")
            .arg("octo-org/octo-repo"),
    ];
    for s in &mut list {
        // Secrets passed as keys are recorded by `keys`; the two one-off ones here:
        if s.name == "secret key without key id" || s.name == "session token without keys" {
            let value = s
                .inputs
                .iter()
                .find(|(n, _)| n.starts_with("aws-s"))
                .unwrap()
                .1
                .clone();
            s.secrets.push(("input secret".into(), value));
        }
    }
    list
}

/// Hostile answers and inputs: every payload in every place outside text reaches.
fn injection_scenarios(m: &Mocks) -> Vec<Case> {
    use Expect::*;
    let mut list = Vec::new();
    let denied = |message: &str| sts_error_xml("AccessDenied", message, "req-1");
    for (i, payload) in PAYLOADS.iter().enumerate() {
        let bearer = format!("bearer-{}", random_text(24, UPPER_DIGITS));
        let good_token = jwt(&github_claims("sts.amazonaws.com"));

        // STS error message, after a real-looking token.
        list.push(
            Case::new(format!("payload {i} in an STS error message"), Failure)
                .oidc(&m.token_endpoint(&good_token), &bearer)
                .input(
                    "sts-endpoint",
                    m.sts(403, denied(&format!("Not authorized{payload}"))),
                )
                .payloads(1),
        );
        // STS error code and request id.
        list.push(
            Case::new(
                format!("payload {i} in an STS error code and request id"),
                Failure,
            )
            .oidc(&m.token_endpoint(&good_token), &bearer)
            .input(
                "sts-endpoint",
                m.sts(
                    403,
                    sts_error_xml(
                        &format!("AccessDenied{payload}"),
                        "denied",
                        &format!("req{payload}"),
                    ),
                ),
            )
            .payloads(2),
        );
        // Token claims, shown when STS refuses the token.
        let mut claims = github_claims("sts.amazonaws.com");
        for key in [
            "sub",
            "repository",
            "ref",
            "environment",
            "job_workflow_ref",
            "event_name",
            "iss",
        ] {
            claims[key] = serde_json::Value::from(format!("v{payload}"));
        }
        claims["aud"] = serde_json::Value::from(vec![format!("sts.amazonaws.com{payload}")]);
        let hostile_token = jwt(&claims);
        list.push(
            Case::new(format!("payload {i} in token claims"), Failure)
                .oidc(&m.token_endpoint(&hostile_token), &bearer)
                .input(
                    "sts-endpoint",
                    m.sts(
                        403,
                        denied("Not authorized to perform sts:AssumeRoleWithWebIdentity"),
                    ),
                )
                .payloads(8),
        );
        // The same claims from a token file.
        list.push(
            Case::new(format!("payload {i} in token file claims"), Failure)
                .input("role-to-assume", ROLE)
                .input("web-identity-token-file", "t.jwt")
                .input("sts-endpoint", m.sts(403, denied("Not authorized")))
                .file("t.jwt", hostile_token.clone())
                .secret("web identity token", hostile_token)
                .payloads(8),
        );
        // A successful answer with a hostile assumed-role ARN.
        let creds = issued();
        list.push(
            Case::new(format!("payload {i} in an assumed-role ARN"), Success)
                .oidc(&m.token_endpoint(&good_token), &bearer)
                .input(
                    "sts-endpoint",
                    m.sts(
                        200,
                        sts_assume_xml(
                            "AssumeRoleWithWebIdentity",
                            &creds,
                            &format!("arn:aws:sts::123456789012:assumed-role/deploy/s{payload}"),
                        ),
                    ),
                )
                .input("output-credentials", "true")
                .payloads(1),
        );
        // A hostile caller identity for plain keys: in the ARN it is shown (as
        // data), in the account it makes the answer invalid (issue 12, finding 8).
        list.push(
            Case::new(format!("payload {i} in a caller identity"), Success)
                .keys(false)
                .input(
                    "sts-endpoint",
                    m.sts(
                        200,
                        sts_caller_xml(
                            "123456789012",
                            &format!("arn:aws:iam::123456789012:user/u{payload}"),
                        ),
                    ),
                )
                .payloads(1),
        );
        list.push(
            Case::new(format!("payload {i} in a caller account"), Failure)
                .keys(false)
                .input(
                    "sts-endpoint",
                    m.sts(
                        200,
                        sts_caller_xml(
                            &format!("1234{payload}"),
                            &format!("arn:aws:iam::123456789012:user/u{payload}"),
                        ),
                    ),
                )
                .payloads(2),
        );
        // Inputs: each is refused, and the refusal must not turn into a command.
        for input in [
            "role-to-assume",
            "role-session-name",
            "aws-region",
            "custom-tags",
            "aws-profile",
            "sts-endpoint",
            "role-external-id",
        ] {
            list.push(
                Case::new(format!("payload {i} in input {input}"), Failure)
                    .keys(false)
                    .input("role-to-assume", ROLE)
                    .input(input, format!("x{payload}"))
                    .payloads(1),
            );
        }
        // Inputs that accept printable text are printed as they are.
        let printable = !payload.contains(['\n', '\r']);
        list.push(
            Case::new(format!("payload {i} in input audience"), Failure)
                .oidc(&m.token_endpoint(&good_token), &bearer)
                .input("audience", format!("aud{payload}"))
                .input("sts-endpoint", m.sts(403, denied("no")))
                .payloads(1),
        );
        if printable {
            list.push(
                Case::new(format!("payload {i} in a token file path"), Failure)
                    .input("role-to-assume", ROLE)
                    .input("web-identity-token-file", format!("missing{payload}"))
                    .payloads(1),
            );
        }
        // GITHUB_* variables become session tags; the refusal mentions tags.
        list.push(
            Case::new(format!("payload {i} in GITHUB_* variables"), Failure)
                .keys(false)
                .input("role-to-assume", ROLE)
                .env("GITHUB_REPOSITORY", format!("o/r{payload}"))
                .env("GITHUB_REF", format!("refs/heads/x{payload}"))
                .env("GITHUB_ACTOR", format!("a{payload}"))
                .input(
                    "sts-endpoint",
                    m.sts(
                        403,
                        denied(&format!(
                            "not authorized to perform: sts:TagSession{payload}"
                        )),
                    ),
                )
                .payloads(3),
        );
    }
    // The token endpoint's error bodies are not printed, whatever they hold.
    for (status, label) in [(401u16, "refused"), (500, "failing")] {
        let (path, url) = m.fresh();
        m.mount(
            "GET",
            &path,
            ResponseTemplate::new(status)
                .set_body_string(format!("{{\"message\":\"{}\"}}", PAYLOADS.join(""))),
        );
        list.push(
            Case::new(
                format!("payloads in a {label} token endpoint's body"),
                Failure,
            )
            .oidc(&format!("{url}?x=1"), "bearer-for-error-bodies")
            .input("retry-max-attempts", "1")
            .payloads(PAYLOADS.len()),
        );
    }
    list
}

/// Runs `scenarios` on two threads; returns the problems and the totals.
fn run_all(scenarios: &[Case]) -> (Vec<String>, Verdict) {
    let next = AtomicUsize::new(0);
    let totals = Mutex::new(Verdict::default());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(s) = scenarios.get(i) else { break };
                let v = run_scenario(s);
                let mut t = totals.lock().unwrap();
                t.problems.extend(v.problems);
                t.bytes_scanned += v.bytes_scanned;
                t.secrets += v.secrets;
                t.needles += v.needles;
                t.add_masks += v.add_masks;
            });
        }
    });
    let mut t = totals.into_inner().unwrap();
    (std::mem::take(&mut t.problems), t)
}

/// Runs `scenarios` plus the canary, prints the totals, panics with the problems.
fn check_all(label: &str, scenarios: Vec<Case>) {
    let started = Instant::now();
    let report = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("leak-problems-{label}.txt"));
    let _ = std::fs::remove_file(&report);
    let names: BTreeSet<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), scenarios.len(), "scenario names are unique");
    let payloads: usize = scenarios.iter().map(|s| s.payloads).sum();
    let (problems, totals) = run_all(&scenarios);

    // The whole pipeline must see a value that does show: a canary "secret" that the
    // refusal of a bad role ARN prints.
    let canary = Case::new("canary", Expect::Failure)
        .keys(false)
        .input("role-to-assume", "arn:aws:iam::12345:role/canary-7Q2ZK9")
        .secret("canary", "canary-7Q2ZK9");
    let caught = run_scenario(&canary).problems;
    assert!(
        caught.iter().any(|p| p.contains("LEAK of canary")),
        "the canary was not caught: {caught:#?}"
    );

    say(&format!(
        "leak ({label}): {} scenarios, {} bytes scanned, {} secrets in {} encoded forms, {} ::add-mask:: lines, {} injection payload placements ({} distinct payloads), {} problems, {:.0?}",
        scenarios.len(),
        totals.bytes_scanned,
        totals.secrets,
        totals.needles,
        totals.add_masks,
        payloads,
        PAYLOADS.len(),
        problems.len(),
        started.elapsed()
    ));
    if !problems.is_empty() {
        let _ = std::fs::write(&report, problems.join("\n\n"));
        let shown: Vec<&String> = problems.iter().take(40).collect();
        panic!(
            "{} problem(s) in {} scenarios (all in {}; first {}):\n\n{}",
            problems.len(),
            scenarios.len(),
            report.display(),
            shown.len(),
            shown
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join("\n\n")
        );
    }
}

/// Input errors, the post step, `setup`, and every injection payload in every place
/// outside text reaches (in-process stand-ins only).
#[test]
fn nothing_leaks_and_nothing_injects() {
    let mocks = Mocks::start();
    let mut scenarios = offline_scenarios();
    scenarios.extend(injection_scenarios(&mocks));
    check_all("offline", scenarios);
}

/// Every credential path end to end against moto and the token endpoint stand-in.
#[test]
#[ignore = "needs moto: run by scripts/test.sh"]
fn nothing_leaks_against_moto() {
    require(&[Tool::Moto]);
    let bearer = format!("bearer-{}", random_text(32, UPPER_DIGITS));
    let moto = Moto::start(LOCALHOST);
    let stand_in = TokenEndpoint::start(LOCALHOST, &bearer);
    let mut scenarios = moto_scenarios(moto.port, stand_in.port, &bearer);
    scenarios.extend(pool_scenarios(&moto, stand_in.port, &bearer));
    check_all("moto", scenarios);
}

/// `cognito-identity-pool-id` against moto's Cognito Identity: the token as
/// the pool's login, and a pool endpoint that answers nonsense.
fn pool_scenarios(moto: &Moto, stand_in: u16, bearer: &str) -> Vec<Case> {
    use Expect::*;
    let pool = moto.identity_pool("eu-west-1");
    let token_url = format!("http://127.0.0.1:{stand_in}/token?api-version=2.0");
    let case = |name: &str, expect, cognito: String| {
        Case::new(name, expect)
            .oidc(&token_url, bearer)
            .input("cognito-identity-pool-id", &pool)
            .input("sts-endpoint", moto.url())
            .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY", cognito)
    };
    vec![
        case("identity pool", Success, moto.url()).input("output-credentials", "true"),
        case("identity pool, profile", Success, moto.url()).input("aws-profile", "abac"),
        case(
            "identity pool, endpoint answers nonsense",
            Failure,
            format!("http://127.0.0.1:{stand_in}"),
        )
        .input("disable-retry", "true"),
    ]
}

/// The types that hold secrets print a redaction; checked on the values a run
/// actually builds from inputs.
#[test]
fn secret_types_redact_in_debug_and_display() {
    use keyless_aws::inputs::{self, raw::RawInputs};
    use keyless_aws::secret::{Credentials, Secret};
    let (id, secret, token, bearer) = (
        access_key_id("AKIA"),
        secret_key(),
        session_token(),
        format!("bearer-{}", random_text(30, UPPER_DIGITS)),
    );
    let env: std::collections::HashMap<String, String> = [
        ("INPUT_AWS-REGION", "eu-west-1"),
        ("INPUT_AWS-ACCESS-KEY-ID", id.as_str()),
        ("INPUT_AWS-SECRET-ACCESS-KEY", secret.as_str()),
        ("INPUT_AWS-SESSION-TOKEN", token.as_str()),
        ("INPUT_ROLE-TO-ASSUME", ROLE),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/t?x=1"),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", bearer.as_str()),
        ("GITHUB_ENV", "/tmp/env"),
        ("GITHUB_OUTPUT", "/tmp/out"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let raw = RawInputs::from_env(&env).unwrap();
    let plan = inputs::build::plan(&raw, &env).unwrap();
    let creds = Credentials {
        access_key_id: Secret::new(id.clone()),
        secret_access_key: Secret::new(secret.clone()),
        session_token: Some(Secret::new(token.clone())),
        expiration: None,
    };
    let mut export = keyless_aws::workflow::Export::default();
    export.env("AWS_SECRET_ACCESS_KEY", secret.clone());
    export.output("aws-session-token", token.clone());
    export.state("x", bearer.clone());
    let mut oidc_env = env.clone();
    oidc_env.retain(|k, _| !k.starts_with("INPUT_AWS-") || k == "INPUT_AWS-REGION");
    let oidc_plan =
        inputs::build::plan(&RawInputs::from_env(&oidc_env).unwrap(), &oidc_env).unwrap();
    let shown = format!(
        "{raw:?} {plan:?} {plan:#?} {oidc_plan:?} {oidc_plan:#?} {creds:?} {creds:#?} {} {:?} {export:?} {export:#?}",
        creds.secret_access_key, creds.session_token
    );
    for (label, value) in [
        ("key id", &id),
        ("secret key", &secret),
        ("session token", &token),
        ("bearer", &bearer),
    ] {
        assert!(
            !shown.contains(value.as_str()),
            "{label} shown in Debug/Display: {shown}"
        );
    }
    // The SDK's own credentials type shows the key id (never the secret or token);
    // the binary registers the key id with the log redactor before any SDK call.
    let sdk = format!("{:?}", creds.to_sdk());
    assert!(!sdk.contains(&secret) && !sdk.contains(&token), "{sdk}");
}

/// The checker itself: it must catch what it is there to catch.
#[test]
fn the_checks_catch_what_they_look_for() {
    let mut problems = Vec::new();
    check_commands(
        "t",
        "ok\n::add-mask::x\n  ::set-env name=A::b\n",
        true,
        &mut problems,
    );
    check_commands("t", "text ##[add-mask]x\n", true, &mut problems);
    check_commands("t", "a\rb\r::save-state name=x::1\n", true, &mut problems);
    check_commands("t", "::error title=x::fine\n", false, &mut problems);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    problems.clear();
    check_commands("t", "::stop-commands::0123456789abcdef0123\n::set-env name=A::b\n##[x]\n::0123456789abcdef0123::\n::group::g\n", true, &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
    let secret = "s3cr3t/value+with=chars";
    let hay = format!(
        "a {} b",
        base64::engine::general_purpose::STANDARD.encode(format!("user:{secret}"))
    );
    assert!(
        forms(secret).iter().any(|(_, f)| hay.contains(f.as_str())),
        "base64 inside a longer value"
    );
    assert!(forms(secret)
        .iter()
        .any(|(_, f)| f == "s3cr3t%2Fvalue%2Bwith%3Dchars"));
}

/// The suite's counts the README's figures block reports: (scenarios without moto,
/// scenarios against moto, injection payload placements). Builds the lists only.
pub(crate) fn scenario_counts() -> (usize, usize, usize) {
    let mocks = Mocks::start();
    let mut offline = offline_scenarios();
    offline.extend(injection_scenarios(&mocks));
    let moto = moto_scenarios(9, 9, "bearer-unused");
    let placements = offline.iter().chain(&moto).map(|s| s.payloads).sum();
    (offline.len(), moto.len(), placements)
}
