//! The published container image, run the way the GitHub runner runs a Docker action.
//!
//! The `docker run` command mirrors actions/runner's `ContainerActionHandler` and
//! `DockerCommandManager.DockerRun`: `--workdir /github/workspace --rm`, every variable
//! passed as `-e NAME` with its value in the docker CLI's own environment (so no secret
//! is on a command line), `-e GITHUB_ACTIONS=true -e CI=true`, `--entrypoint` only for
//! pre/post steps, and the runner's mounts (docker.sock, runner temp, home, workflow,
//! file_commands, workspace), with every path variable translated to its container path
//! (`GITHUB_ENV=/github/file_commands/set_env_<id>`, …); inputs are every input
//! action.yml declares (defaults filled in) plus `with:`, and `runs.env` is evaluated
//! under the runner's rules (only `inputs.*`).
//!
//! Networking: `--network` is what the runner adds when the job has a container network;
//! here it is a user-defined bridge network the test creates, and moto and the token
//! endpoint stand-in listen only on its gateway address. That keeps the container on an
//! ordinary bridge, as on a runner, rather than sharing the host's network namespace
//! (`--network host` with servers on 127.0.0.1 would also work here, but would let the
//! action reach every port on the host's loopback).
//!
//! Needs Docker, python3 with moto[server], and the image (built once per run by
//! scripts/build-image.sh, or `KEYLESS_AWS_TEST_IMAGE`). With CI=true a missing
//! prerequisite fails the tests; elsewhere they print SKIPPED and pass.

#[path = "act/harness.rs"]
mod harness;

use harness::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
/// What GITHUB_ENV and GITHUB_OUTPUT hold before the step, as left by earlier steps.
const SEED_ENV: &str =
    "EARLIER_STEP=1\nMULTI<<ghadelimiter_0\nline one\nline two\nghadelimiter_0\n";
const SEED_OUTPUT: &str = "unrelated=kept\n";
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// Everything the tests need, or `None` (skip) outside CI when something is missing.
fn setup() -> Option<(Arc<Fixture>, String)> {
    if !prerequisite("a Docker engine", check_docker())
        || !prerequisite("python3 with moto", check_moto())
    {
        return None;
    }
    let image = image();
    Some((Fixture::shared(), image))
}

/// The runner's directories for one job, on the host.
struct RunnerDirs {
    _root: tempfile::TempDir,
    /// RUNNER_TEMP (`_work/_temp`), mounted at /github/runner_temp.
    temp: PathBuf,
    /// GITHUB_WORKSPACE, mounted at /github/workspace.
    workspace: PathBuf,
    home: PathBuf,
    workflow: PathBuf,
    file_commands: PathBuf,
}

impl RunnerDirs {
    fn new() -> RunnerDirs {
        let root = tempfile::Builder::new()
            .prefix("keyless-aws-runner")
            .tempdir()
            .expect("tempdir");
        let work = root.path().join("_work");
        let temp = work.join("_temp");
        let workspace = work.join("octo-repo/octo-repo");
        let dirs = RunnerDirs {
            home: temp.join("_github_home"),
            workflow: temp.join("_github_workflow"),
            file_commands: temp.join("_runner_file_commands"),
            temp,
            workspace,
            _root: root,
        };
        for d in [
            &dirs.temp,
            &dirs.workspace,
            &dirs.home,
            &dirs.workflow,
            &dirs.file_commands,
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(dirs.workspace.join("README.md"), "checked-out repository\n").unwrap();
        std::fs::write(
            dirs.workflow.join("event.json"),
            r#"{"ref":"refs/heads/main","repository":{"full_name":"octo-org/octo-repo","owner":{"login":"octo-org"}},"sender":{"login":"octocat"}}"#,
        )
        .unwrap();
        dirs
    }

    /// Fresh file-command files for one step, as the runner creates them, seeded with
    /// what earlier steps left (the runner gives each step new, empty files; seeding
    /// them makes "appends" and "leaves untouched" checkable).
    fn step_files(&self) -> StepFiles {
        let id = random_hex(16);
        let f = |prefix: &str, seed: &str| {
            let p = self.file_commands.join(format!("{prefix}_{id}"));
            std::fs::write(&p, seed).unwrap();
            p
        };
        StepFiles {
            env: f("set_env", SEED_ENV),
            output: f("set_output", SEED_OUTPUT),
            state: f("save_state", ""),
            path: f("add_path", ""),
            summary: f("step_summary", ""),
        }
    }
}

struct StepFiles {
    env: PathBuf,
    output: PathBuf,
    state: PathBuf,
    path: PathBuf,
    summary: PathBuf,
}

impl StepFiles {
    fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        [&self.env, &self.output, &self.state, &self.path]
            .iter()
            .map(|p| (p.to_path_buf(), std::fs::read(p).unwrap()))
            .collect()
    }
    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }
}

/// The INPUT_* variables the runner passes: every input action.yml declares (its
/// default, or empty), overridden by `with`, plus any extra `with` keys.
fn inputs_context(with: &[(&str, &str)], dirs: &RunnerDirs) -> BTreeMap<String, String> {
    let mut inputs: BTreeMap<String, String> = BTreeMap::new();
    if let Some(manifest) = action_manifest() {
        if let Some(declared) = manifest["inputs"].as_object() {
            for (name, spec) in declared {
                let default = match &spec["default"] {
                    Value::Null => String::new(),
                    // Defaults may use github, runner, … (action_yaml.json
                    // input-default-context); these are the ones this test knows.
                    Value::String(s) => {
                        let v = s
                            .replace("${{ runner.temp }}", &dirs.temp.display().to_string())
                            .replace("${{ runner.os }}", "Linux")
                            .replace("${{ runner.arch }}", "X64");
                        assert!(
                            !v.contains("${{"),
                            "input {name}: this test cannot evaluate the default {s:?}"
                        );
                        v
                    }
                    other => other.to_string(),
                };
                inputs.insert(name.clone(), default);
            }
        }
    }
    for (name, value) in with {
        inputs.insert((*name).to_owned(), (*value).to_owned());
    }
    inputs
}

fn input_env(inputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    inputs
        .iter()
        .map(|(k, v)| {
            (
                format!("INPUT_{}", k.replace(' ', "_").to_uppercase()),
                v.clone(),
            )
        })
        .collect()
}

/// Which stage to run, and how the runner would start it for this action.yml.
#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Main,
    Post,
}

/// `--entrypoint` and args as the runner derives them from action.yml.
fn entrypoint_and_args(
    stage: Stage,
    inputs: &BTreeMap<String, String>,
) -> (Option<String>, Vec<String>) {
    let manifest = action_manifest();
    let runs = manifest
        .as_ref()
        .map(|m| m["runs"].clone())
        .unwrap_or(Value::Null);
    let entrypoint = match stage {
        Stage::Main => runs["entrypoint"].as_str().map(str::to_owned),
        Stage::Post => Some(
            runs["post-entrypoint"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("action.yml declares no runs.post-entrypoint")),
        ),
    };
    let args = runs["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| {
                    let s = v
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string());
                    evaluate(&s, inputs)
                })
                .collect()
        })
        .unwrap_or_default();
    (entrypoint, args)
}

struct Step<'a> {
    stage: Stage,
    with: Vec<(&'a str, &'a str)>,
    /// ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN; None = the job has no id-token permission.
    oidc: Option<(String, String)>,
    /// STATE_* values saved by the main step (post only).
    state: Vec<(String, String)>,
}

/// Evaluates `runs.env` / `runs.args` values. The runner's action schema
/// (src/Runner.Worker/action_yaml.json: `container-runs-env`, `container-runs-context`)
/// allows only the `inputs` context there; anything else makes the runner refuse to
/// load the action, so it fails this test too.
fn evaluate(value: &str, inputs: &BTreeMap<String, String>) -> String {
    let mut out = value.to_owned();
    for (name, v) in inputs {
        for form in [
            format!("${{{{ inputs.{name} }}}}"),
            format!("${{{{inputs.{name}}}}}"),
        ] {
            out = out.replace(&form, v);
        }
    }
    assert!(
        !out.contains("${{"),
        "action.yml: {value:?} uses an expression other than `inputs.*` in runs.env/args; \
         the runner only allows the inputs context there (action_yaml.json), so GitHub \
         would refuse to load the action (act says: Unknown Variable Access)"
    );
    out
}

/// The runner's TranslateToContainerPath: a value that is a mounted host path (or lies
/// under one) becomes the container path; the most specific mount wins.
fn translate(value: &str, dirs: &RunnerDirs) -> String {
    let mounts = [
        (&dirs.temp, "/github/runner_temp"),
        (&dirs.home, "/github/home"),
        (&dirs.workflow, "/github/workflow"),
        (&dirs.file_commands, "/github/file_commands"),
        (&dirs.workspace, "/github/workspace"),
    ];
    let best = mounts
        .iter()
        .filter_map(|(host, target)| {
            let host = host.to_str().unwrap();
            let rest = value.strip_prefix(host)?;
            (rest.is_empty() || rest.starts_with('/'))
                .then(|| (host.len(), format!("{target}{rest}")))
        })
        .max_by_key(|(len, _)| *len);
    best.map(|(_, v)| v).unwrap_or_else(|| value.to_owned())
}

/// `docker run` exactly as the runner builds it (see the module comment).
fn run_step(fx: &Fixture, image: &str, dirs: &RunnerDirs, files: &StepFiles, step: &Step) -> Ran {
    let gw = fx.network.gateway;
    let runtime = format!("http://{gw}:{}/runtime/", fx.token_port);
    let host = |p: &Path| p.display().to_string();
    let inputs = inputs_context(&step.with, dirs);
    let mut env: Vec<(String, String)> = input_env(&inputs);
    if let Some(runs_env) = action_manifest().and_then(|m| m["runs"]["env"].as_object().cloned()) {
        for (k, v) in runs_env {
            let v = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            env.push((k, evaluate(&v, &inputs)));
        }
    }
    let plain = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    env.extend([
        ("HOME".into(), host(&dirs.home)),
        plain("GITHUB_JOB", "deploy"),
        plain("GITHUB_REF", "refs/heads/main"),
        plain("GITHUB_SHA", "6d2f9e4c1b0a8f7e6d5c4b3a29180f7e6d5c4b3a"),
        plain("GITHUB_REPOSITORY", "octo-org/octo-repo"),
        plain("GITHUB_REPOSITORY_OWNER", "octo-org"),
        plain("GITHUB_REPOSITORY_OWNER_ID", "1234567"),
        plain("GITHUB_RUN_ID", "9876543210"),
        plain("GITHUB_RUN_NUMBER", "42"),
        plain("GITHUB_RETENTION_DAYS", "90"),
        plain("GITHUB_RUN_ATTEMPT", "1"),
        plain("GITHUB_ACTOR_ID", "583231"),
        plain("GITHUB_ACTOR", "octocat"),
        plain("GITHUB_WORKFLOW", "CI"),
        plain("GITHUB_HEAD_REF", ""),
        plain("GITHUB_BASE_REF", ""),
        plain("GITHUB_EVENT_NAME", "push"),
        plain("GITHUB_SERVER_URL", "https://github.com"),
        plain("GITHUB_API_URL", "https://api.github.com"),
        plain("GITHUB_GRAPHQL_URL", "https://api.github.com/graphql"),
        plain("GITHUB_REF_NAME", "main"),
        plain("GITHUB_REF_PROTECTED", "true"),
        plain("GITHUB_REF_TYPE", "branch"),
        plain(
            "GITHUB_WORKFLOW_REF",
            "octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main",
        ),
        plain(
            "GITHUB_WORKFLOW_SHA",
            "6d2f9e4c1b0a8f7e6d5c4b3a29180f7e6d5c4b3a",
        ),
        plain("GITHUB_REPOSITORY_ID", "7654321"),
        plain("GITHUB_TRIGGERING_ACTOR", "octocat"),
        ("GITHUB_WORKSPACE".into(), host(&dirs.workspace)),
        plain("GITHUB_ACTION", "__keyless-aws"),
        (
            "GITHUB_EVENT_PATH".into(),
            host(&dirs.workflow.join("event.json")),
        ),
        plain("GITHUB_ACTION_REPOSITORY", "keyless-aws/keyless-aws"),
        plain("GITHUB_ACTION_REF", "v1"),
        ("GITHUB_PATH".into(), host(&files.path)),
        ("GITHUB_ENV".into(), host(&files.env)),
        ("GITHUB_STEP_SUMMARY".into(), host(&files.summary)),
        ("GITHUB_STATE".into(), host(&files.state)),
        ("GITHUB_OUTPUT".into(), host(&files.output)),
        plain("RUNNER_OS", "Linux"),
        plain("RUNNER_ARCH", "X64"),
        plain("RUNNER_NAME", "GitHub Actions 1000000001"),
        plain("RUNNER_ENVIRONMENT", "github-hosted"),
        plain("RUNNER_TOOL_CACHE", "/opt/hostedtoolcache"),
        ("RUNNER_TEMP".into(), host(&dirs.temp)),
        (
            "RUNNER_WORKSPACE".into(),
            host(dirs.workspace.parent().unwrap()),
        ),
        // Never used by the action; they point at the stand-in so that nothing else
        // could be reached even if something did use them.
        ("ACTIONS_RUNTIME_URL".into(), runtime.clone()),
        ("ACTIONS_CACHE_URL".into(), runtime.clone()),
        ("ACTIONS_RESULTS_URL".into(), runtime),
        plain(
            "ACTIONS_ORCHESTRATION_ID",
            "00000000-0000-0000-0000-000000000000.deploy.__keyless-aws",
        ),
    ]);
    if let Some((url, token)) = &step.oidc {
        // The runner gives ACTIONS_RUNTIME_TOKEN and the id-token request token the same value.
        env.push(("ACTIONS_RUNTIME_TOKEN".into(), token.clone()));
        env.push(("ACTIONS_ID_TOKEN_REQUEST_URL".into(), url.clone()));
        env.push(("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), token.clone()));
    } else {
        env.push(plain(
            "ACTIONS_RUNTIME_TOKEN",
            "runtime-token-without-id-token-permission",
        ));
    }
    for (k, v) in &step.state {
        env.push((format!("STATE_{k}"), v.clone()));
    }
    // Like the runner: later values win, and every value is translated to its
    // container path where it is one.
    let mut seen = std::collections::HashSet::new();
    let env: Vec<(String, String)> = env
        .into_iter()
        .rev()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|(k, v)| {
            let v = translate(&v, dirs);
            (k, v)
        })
        .collect();

    let name = unique_name("step");
    let _guard = ContainerGuard(name.clone());
    let mut cmd = Command::new("docker");
    cmd.args([
        "run",
        "--name",
        &name,
        "--label",
        "keyless-aws-test",
        "--workdir",
        "/github/workspace",
        "--rm",
    ]);
    for (k, v) in &env {
        cmd.arg("-e").arg(k);
        cmd.env(k, v);
    }
    cmd.args(["-e", "GITHUB_ACTIONS=true", "-e", "CI=true"]);
    let (entrypoint, args) = entrypoint_and_args(step.stage, &inputs);
    if let Some(ep) = entrypoint {
        cmd.args(["--entrypoint", &ep]);
    }
    cmd.args(["--network", &fx.network.name]);
    if Path::new("/var/run/docker.sock").exists() {
        cmd.args(["-v", "/var/run/docker.sock:/var/run/docker.sock"]);
    }
    let mount = |host: &Path, target: &str| format!("{}:{target}", host.display());
    cmd.args(["-v", &mount(&dirs.temp, "/github/runner_temp")]);
    cmd.args(["-v", &mount(&dirs.home, "/github/home")]);
    cmd.args(["-v", &mount(&dirs.workflow, "/github/workflow")]);
    cmd.args(["-v", &mount(&dirs.file_commands, "/github/file_commands")]);
    cmd.args(["-v", &mount(&dirs.workspace, "/github/workspace")]);
    cmd.arg(image);
    cmd.args(&args);
    let ran = run(&mut cmd, STEP_TIMEOUT);
    assert!(
        !ran.timed_out,
        "the container step did not finish within {STEP_TIMEOUT:?}: {}",
        ran.describe()
    );
    ran
}

fn oidc(fx: &Fixture, tag: &str) -> Option<(String, String)> {
    Some((fx.token_request_url(tag), fx.request_token.clone()))
}

/// Success: the credentials moto issued land in GITHUB_ENV, masked first, nowhere else;
/// then the post step, run as the runner runs it, clears them.
#[test]
fn main_step_exports_the_issued_credentials_and_post_step_clears_them() {
    let Some((fx, image)) = setup() else { return };
    let dirs = RunnerDirs::new();
    let files = dirs.step_files();
    let tag = format!("success-{}", random_hex(4));
    let session = format!("container-{}", random_hex(4));
    let role = format!("arn:aws:iam::{ACCOUNT}:role/gha-deploy");
    let audience = "keyless-aws-container-test";
    let endpoint = fx.sts_endpoint();
    let step = Step {
        stage: Stage::Main,
        with: vec![
            ("role-to-assume", &role),
            ("aws-region", REGION),
            ("audience", audience),
            ("role-session-name", &session),
            ("role-duration-seconds", "900"),
            ("sts-endpoint", &endpoint),
        ],
        oidc: oidc(&fx, &tag),
        state: vec![],
    };
    let ran = run_step(&fx, &image, &dirs, &files, &step);
    assert!(ran.success(), "the main step failed: {}", ran.describe());
    eprintln!(
        "main step ({:.1?}), stdout without its ::add-mask:: lines:\n{}",
        ran.elapsed,
        without_mask_lines(&ran.stdout)
    );

    // What moto issued, exactly once, for this session.
    let issued = fx.issued(&session);
    assert_eq!(
        issued.len(),
        1,
        "moto should have issued one set of credentials for session {session}: {issued:?}"
    );
    let issued = &issued[0];
    assert_eq!(issued.role_arn, role);
    let secrets = issued.secrets();

    // GITHUB_ENV: the earlier content untouched, then the exports.
    let env_text = StepFiles::read(&files.env);
    let appended = env_text
        .strip_prefix(SEED_ENV)
        .unwrap_or_else(|| panic!("GITHUB_ENV lost its earlier content:\n{env_text}"));
    let exported = parse_file_commands(appended)
        .unwrap_or_else(|e| panic!("GITHUB_ENV is malformed ({e}):\n{appended}"));
    let names: Vec<&str> = exported.iter().map(|(k, _)| k.as_str()).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        names.len(),
        "a variable is exported twice: {names:?}"
    );
    let exported = as_map(&exported);
    assert_eq!(
        exported.get("AWS_ACCESS_KEY_ID"),
        Some(&issued.access_key_id),
        "AWS_ACCESS_KEY_ID is not what moto issued"
    );
    assert_eq!(
        exported.get("AWS_SECRET_ACCESS_KEY"),
        Some(&issued.secret_access_key),
        "AWS_SECRET_ACCESS_KEY is not what moto issued"
    );
    assert_eq!(
        exported.get("AWS_SESSION_TOKEN"),
        Some(&issued.session_token),
        "AWS_SESSION_TOKEN is not what moto issued"
    );
    assert_eq!(exported.get("AWS_REGION").map(String::as_str), Some(REGION));
    assert_eq!(
        exported.get("AWS_DEFAULT_REGION").map(String::as_str),
        Some(REGION)
    );
    for delimiter_line in appended.lines().filter(|l| l.contains("<<")) {
        let delimiter = delimiter_line.split_once("<<").unwrap().1;
        for (name, value) in &secrets {
            assert!(
                !value.contains(delimiter),
                "the heredoc delimiter occurs in the {name}"
            );
        }
    }

    // The credentials work: GetCallerIdentity with them is the assumed role.
    let identity = fx.caller_identity(
        &exported["AWS_ACCESS_KEY_ID"],
        &exported["AWS_SECRET_ACCESS_KEY"],
        &exported["AWS_SESSION_TOKEN"],
        REGION,
    );
    let expected_arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/gha-deploy/{session}");
    assert_eq!(
        identity["Arn"],
        expected_arn.as_str(),
        "GetCallerIdentity: {identity}"
    );
    assert_eq!(issued.arn, expected_arn);

    // GITHUB_OUTPUT: earlier content untouched; account and ARN, no secret.
    let output_text = StepFiles::read(&files.output);
    let appended = output_text
        .strip_prefix(SEED_OUTPUT)
        .unwrap_or_else(|| panic!("GITHUB_OUTPUT lost its earlier content:\n{output_text}"));
    let outputs = as_map(
        &parse_file_commands(appended)
            .unwrap_or_else(|e| panic!("GITHUB_OUTPUT is malformed ({e}):\n{appended}")),
    );
    assert_eq!(
        outputs.get("aws-account-id").map(String::as_str),
        Some(ACCOUNT),
        "outputs: {outputs:?}"
    );
    assert_eq!(
        outputs.get("authenticated-arn"),
        Some(&expected_arn),
        "outputs: {outputs:?}"
    );
    assert_no_secret("GITHUB_OUTPUT", &output_text, &secrets);

    // Masking: each secret's first appearance in stdout is its ::add-mask:: line, and
    // it shows nowhere else: not in stderr, not in any other file the step can reach.
    assert_masked_before_use(&ran.stdout, &secrets);
    assert_masked_before_use(
        &ran.stdout,
        &[("id-token request token", &fx.request_token)],
    );
    let cred_masks: Vec<usize> = ran
        .stdout
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            secrets
                .iter()
                .any(|(_, s)| l.trim_end() == format!("::add-mask::{s}"))
        })
        .map(|(i, _)| i)
        .collect();
    assert!(
        cred_masks.len() >= 3,
        "missing credential masks:\n{}",
        ran.stdout
    );
    let (first, last) = (cred_masks[0], cred_masks[cred_masks.len() - 1]);
    assert!(
        ran.stdout
            .lines()
            .skip(first)
            .take(last - first + 1)
            .all(|l| l.starts_with("::add-mask::")),
        "the three credential masks should be printed together, before anything else:\n{}",
        ran.stdout
    );
    let rest = without_mask_lines(&ran.stdout);
    assert_no_secret("stdout (outside ::add-mask:: lines)", &rest, &secrets);
    assert!(
        !rest.contains("eyJ"),
        "something JWT-like is printed outside ::add-mask:: lines:\n{rest}"
    );
    assert!(
        !rest.contains(&fx.request_token),
        "the id-token request token is printed:\n{rest}"
    );
    assert_no_secret("stderr", &ran.stderr, &secrets);
    assert!(
        !ran.stderr.contains(&fx.request_token) && !ran.stderr.contains("eyJ"),
        "a token is on stderr:\n{}",
        ran.stderr
    );
    for (path, bytes) in files_under(&dirs.temp)
        .into_iter()
        .chain(files_under(&dirs.workspace))
    {
        if path == files.env {
            continue;
        }
        assert_no_secret(
            &path.display().to_string(),
            &String::from_utf8_lossy(&bytes),
            &secrets,
        );
    }

    // The step summary exists and says something.
    let summary = StepFiles::read(&files.summary);
    assert!(!summary.trim().is_empty(), "GITHUB_STEP_SUMMARY is empty");

    // The token request: one, authorized, with the audience asked for.
    let requests = fx.token_requests(&tag);
    assert_eq!(requests.len(), 1, "token requests: {requests:?}");
    assert_eq!(requests[0]["authorized"], true);
    assert_eq!(requests[0]["audience"], audience);
    assert_eq!(
        requests[0]["query"]["api-version"], "2.0",
        "the original query string must be kept"
    );

    // ---- the post step, as the runner runs it: post-entrypoint, same args, STATE_* ----
    let Some(manifest) = action_manifest() else {
        if in_ci() {
            panic!("action.yml is missing");
        }
        eprintln!("SKIPPED post step: no action.yml yet");
        return;
    };
    if manifest["runs"]["post-entrypoint"].is_null() {
        eprintln!("note: action.yml has no post-entrypoint; no post step to test");
        return;
    }
    let state = parse_file_commands(&StepFiles::read(&files.state))
        .unwrap_or_else(|e| panic!("GITHUB_STATE is malformed: {e}"));
    let post_files = dirs.step_files();
    let post = Step {
        stage: Stage::Post,
        with: step.with.clone(),
        oidc: oidc(&fx, &format!("{tag}-post")),
        state,
    };
    let ran = run_step(&fx, &image, &dirs, &post_files, &post);
    assert!(ran.success(), "the post step failed: {}", ran.describe());
    eprintln!("post step ({:.1?}):\n{}", ran.elapsed, ran.stdout);
    let env_text = StepFiles::read(&post_files.env);
    let appended = env_text
        .strip_prefix(SEED_ENV)
        .unwrap_or_else(|| panic!("post: GITHUB_ENV lost its earlier content:\n{env_text}"));
    let cleared = as_map(
        &parse_file_commands(appended)
            .unwrap_or_else(|e| panic!("post: GITHUB_ENV is malformed ({e}):\n{appended}")),
    );
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        assert_eq!(
            cleared.get(name).map(String::as_str),
            Some(""),
            "the post step should clear {name}; GITHUB_ENV got:\n{appended}"
        );
    }
    assert_no_secret(
        "post step output",
        &format!("{}\n{}", ran.stdout, ran.stderr),
        &secrets,
    );
    assert!(
        fx.token_requests(&format!("{tag}-post")).is_empty(),
        "the post step must not ask for a token"
    );
}

/// Asserts a failed step: non-zero exit, an ::error annotation, files untouched.
fn assert_failed_cleanly(what: &str, ran: &Ran, before: &[(PathBuf, Vec<u8>)], files: &StepFiles) {
    assert!(
        !ran.success() && ran.status.is_some(),
        "{what}: the step should fail: {}",
        ran.describe()
    );
    assert!(
        ran.stdout
            .lines()
            .chain(ran.stderr.lines())
            .any(|l| l.starts_with("::error")),
        "{what}: no ::error annotation: {}",
        ran.describe()
    );
    assert_eq!(files.snapshot(), before, "{what}: GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STATE and GITHUB_PATH must be left byte-identical");
}

#[test]
fn invalid_input_fails_before_any_request_and_writes_nothing() {
    let Some((fx, image)) = setup() else { return };
    let dirs = RunnerDirs::new();
    let files = dirs.step_files();
    let before = files.snapshot();
    let tag = format!("bad-input-{}", random_hex(4));
    let role = format!("arn:aws:iam::{ACCOUNT}:role/gha-deploy");
    let endpoint = fx.sts_endpoint();
    let step = Step {
        stage: Stage::Main,
        with: vec![
            ("role-to-assume", &role),
            ("aws-region", REGION),
            ("role-duration-seconds", "abc"),
            ("sts-endpoint", &endpoint),
        ],
        oidc: oidc(&fx, &tag),
        state: vec![],
    };
    let ran = run_step(&fx, &image, &dirs, &files, &step);
    assert_failed_cleanly("role-duration-seconds=abc", &ran, &before, &files);
    assert!(
        format!("{}{}", ran.stdout, ran.stderr).contains("role-duration-seconds"),
        "the error should name the input: {}",
        ran.describe()
    );
    assert!(
        fx.token_requests(&tag).is_empty(),
        "an invalid input must stop the run before the token request"
    );
    assert!(
        !ran.stdout.contains(&fx.request_token)
            || ran
                .stdout
                .contains(&format!("::add-mask::{}", fx.request_token))
    );
}

#[test]
fn sts_refusal_fails_and_writes_nothing() {
    let Some((fx, image)) = setup() else { return };
    let dirs = RunnerDirs::new();
    let files = dirs.step_files();
    let before = files.snapshot();
    let tag = format!("sts-denied-{}", random_hex(4));
    // The stand-in answers every POST with STS's AccessDenied.
    let role = format!("arn:aws:iam::{ACCOUNT}:role/{tag}");
    let denying_sts = format!("http://{}:{}", fx.network.gateway, fx.token_port);
    let step = Step {
        stage: Stage::Main,
        with: vec![
            ("role-to-assume", &role),
            ("aws-region", REGION),
            ("sts-endpoint", &denying_sts),
        ],
        oidc: oidc(&fx, &tag),
        state: vec![],
    };
    let ran = run_step(&fx, &image, &dirs, &files, &step);
    assert_failed_cleanly("STS AccessDenied", &ran, &before, &files);
    let requests = fx.token_requests(&tag);
    let sts_calls: Vec<&Value> = requests.iter().filter(|r| r["method"] == "POST").collect();
    assert!(!sts_calls.is_empty(), "STS was never called: {requests:?}");
    assert!(
        sts_calls
            .iter()
            .all(|r| r["action"] == "AssumeRoleWithWebIdentity" && r["role_arn"] == role.as_str()),
        "{sts_calls:?}"
    );
    assert!(
        sts_calls.len() <= 3,
        "AccessDenied is not worth retrying, yet STS was called {} times",
        sts_calls.len()
    );
    assert!(
        format!("{}{}", ran.stdout, ran.stderr).contains("AccessDenied"),
        "the error should carry STS's code: {}",
        ran.describe()
    );
    let rest = without_mask_lines(&ran.stdout);
    assert!(
        !rest.contains("eyJ") && !ran.stderr.contains("eyJ"),
        "the OIDC token leaked: {}",
        ran.describe()
    );
}

#[test]
fn token_endpoint_refusal_fails_and_writes_nothing() {
    let Some((fx, image)) = setup() else { return };
    let dirs = RunnerDirs::new();
    let files = dirs.step_files();
    let before = files.snapshot();
    let tag = format!("bad-token-{}", random_hex(4));
    let role = format!("arn:aws:iam::{ACCOUNT}:role/gha-deploy");
    let endpoint = fx.sts_endpoint();
    let wrong_token = format!("wrong-{}", random_hex(12));
    let step = Step {
        stage: Stage::Main,
        with: vec![
            ("role-to-assume", &role),
            ("aws-region", REGION),
            ("sts-endpoint", &endpoint),
        ],
        oidc: Some((fx.token_request_url(&tag), wrong_token.clone())),
        state: vec![],
    };
    let ran = run_step(&fx, &image, &dirs, &files, &step);
    assert_failed_cleanly("token endpoint 401", &ran, &before, &files);
    let requests = fx.token_requests(&tag);
    assert!(
        !requests.is_empty() && requests.iter().all(|r| r["authorized"] == false),
        "{requests:?}"
    );
    assert!(
        requests.len() <= 4,
        "a 401 should not be retried much: {requests:?}"
    );
    assert_masked_before_use(&ran.stdout, &[("id-token request token", &wrong_token)]);
    assert!(
        !ran.stderr.contains(&wrong_token),
        "the request token is on stderr"
    );
}

/// The user later `run:` steps run as on a GitHub-hosted runner.
const RUNNER_UID: u32 = 1001;

/// Gives a directory tree to `uid`, as the runner's user owns its work tree and the
/// file-command files it creates for each step.
fn chown_tree(dir: &Path, uid: u32) {
    std::os::unix::fs::lchown(dir, Some(uid), Some(uid)).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.is_symlink() {
            chown_tree(&path, uid);
        } else {
            std::os::unix::fs::lchown(&path, Some(uid), Some(uid)).unwrap();
        }
    }
}

/// A later step of the same job: a process running as `uid` on the runner's host
/// paths (here a container from the same image with the host's static busybox, the
/// runner temp mounted at its host path, no network).
fn later_step_as(image: &str, dirs: &RunnerDirs, uid: u32, args: &[&str]) -> Ran {
    let temp = dirs.temp.display().to_string();
    let name = unique_name("later-step");
    let _guard = ContainerGuard(name.clone());
    let mut cmd = Command::new("docker");
    cmd.args(["run", "--name", &name, "--rm", "--network", "none"])
        .args(["--user", &format!("{uid}:{uid}")])
        .args(["-v", "/bin/busybox:/bin/busybox:ro"])
        .args(["-v", &format!("{temp}:{temp}")])
        .args(["--entrypoint", "/bin/busybox", image])
        .args(args);
    run(&mut cmd, STEP_TIMEOUT)
}

/// `aws-profile` on a GitHub-hosted runner: the action's container runs as root,
/// later `run:` steps as uid 1001. The profile directory and files must belong to the
/// runner's user (0700/0600), so such a step can read them and an SDK can use them;
/// any other user still cannot.
#[test]
fn profile_files_belong_to_the_runner_user_so_a_later_non_root_step_can_use_them() {
    let Some((fx, image)) = setup() else { return };
    if !Path::new("/bin/busybox").is_file() {
        assert!(!in_ci(), "/bin/busybox is required when CI=true");
        eprintln!("SKIPPED: no /bin/busybox for the later step");
        return;
    }
    let dirs = RunnerDirs::new();
    let files = dirs.step_files();
    chown_tree(dirs._root.path(), RUNNER_UID);
    let tag = format!("profile-{}", random_hex(4));
    let session = format!("profile-{}", random_hex(4));
    let role = format!("arn:aws:iam::{ACCOUNT}:role/gha-deploy");
    let endpoint = fx.sts_endpoint();
    let step = Step {
        stage: Stage::Main,
        with: vec![
            ("role-to-assume", &role),
            ("aws-region", REGION),
            ("role-session-name", &session),
            ("sts-endpoint", &endpoint),
            ("aws-profile", "deploy"),
        ],
        oidc: oidc(&fx, &tag),
        state: vec![],
    };
    let ran = run_step(&fx, &image, &dirs, &files, &step);
    assert!(ran.success(), "the main step failed: {}", ran.describe());
    let issued = fx.issued(&session);
    assert_eq!(issued.len(), 1, "issued: {issued:?}");
    let issued = &issued[0];

    // GITHUB_ENV names the files by their host paths, under $RUNNER_TEMP/_github_home.
    let env_text = StepFiles::read(&files.env);
    let exported = as_map(
        &parse_file_commands(
            env_text
                .strip_prefix(SEED_ENV)
                .expect("earlier content kept"),
        )
        .expect("GITHUB_ENV is well-formed"),
    );
    let dir = dirs.home.join(".keyless-aws");
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    // As the reference action: a profile alone exports no AWS_PROFILE (later
    // steps choose it with --profile), so other profiles keep their regions.
    assert_eq!(exported.get("AWS_PROFILE"), None);
    assert_eq!(
        exported.get("AWS_CONFIG_FILE").map(PathBuf::from),
        Some(config.clone())
    );
    assert_eq!(
        exported
            .get("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from),
        Some(credentials.clone())
    );
    assert!(
        !exported.contains_key("AWS_SECRET_ACCESS_KEY"),
        "with aws-profile the keys must not be in GITHUB_ENV"
    );

    // Owned by the runner's user, private to it.
    use std::os::unix::fs::MetadataExt;
    for (path, mode) in [(&dir, 0o700), (&config, 0o600), (&credentials, 0o600)] {
        let meta = std::fs::symlink_metadata(path).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o777),
            (RUNNER_UID, RUNNER_UID, mode),
            "{}: owner and mode",
            path.display()
        );
    }

    // A later step as uid 1001 reads both files; another user is refused.
    let paths = [
        config.display().to_string(),
        credentials.display().to_string(),
    ];
    let read = later_step_as(&image, &dirs, RUNNER_UID, &["cat", &paths[0], &paths[1]]);
    assert!(
        read.success(),
        "uid {RUNNER_UID} cannot read the profile: {}",
        read.describe()
    );
    assert!(read
        .stdout
        .contains("[profile deploy]\nregion = eu-west-1\n"));
    assert!(read.stdout.contains(&format!(
        "[deploy]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
        issued.access_key_id, issued.secret_access_key, issued.session_token
    )));
    let other = later_step_as(&image, &dirs, RUNNER_UID + 1, &["cat", &paths[1]]);
    assert!(
        !other.success() && other.stderr.contains("Permission denied"),
        "another user must not read the credentials: {}",
        other.describe()
    );

    // botocore takes the profile from exactly these files and gets the assumed role.
    let script = "import botocore.session, json, sys\n\
                  s = botocore.session.Session(profile='deploy')\n\
                  c = s.create_client('sts', endpoint_url=sys.argv[1])\n\
                  r = c.get_caller_identity()\n\
                  print(json.dumps({'Arn': r['Arn'], 'Region': c.meta.region_name}))\n";
    let mut cmd = Command::new("python3");
    cmd.args(["-c", script, &endpoint])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &dirs.temp)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for keep in ["PYENV_ROOT", "PYENV_VERSION", "VIRTUAL_ENV", "PYTHONPATH"] {
        if let Ok(v) = std::env::var(keep) {
            cmd.env(keep, v);
        }
    }
    let boto = run(&mut cmd, Duration::from_secs(60));
    assert!(
        boto.success(),
        "botocore with the profile: {}",
        boto.describe()
    );
    let answer: Value = serde_json::from_str(boto.stdout.trim()).expect("JSON");
    assert_eq!(
        answer["Arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/gha-deploy/{session}").as_str()
    );
    assert_eq!(answer["Region"], REGION);

    // The post step removes both files.
    let state = parse_file_commands(&StepFiles::read(&files.state)).expect("GITHUB_STATE");
    let post_files = dirs.step_files();
    let post = Step {
        stage: Stage::Post,
        with: step.with.clone(),
        oidc: None,
        state,
    };
    let ran = run_step(&fx, &image, &dirs, &post_files, &post);
    assert!(ran.success(), "the post step failed: {}", ran.describe());
    assert!(
        !config.exists() && !credentials.exists(),
        "post step left the profile files"
    );
}
