//! The image run the way the GitHub runner runs a Docker action.
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
//! here it is the [`Fixture`]'s user-defined bridge network, and moto and the token
//! endpoint stand-in listen only on its gateway address. That keeps the container on an
//! ordinary bridge, as on a runner, rather than sharing the host's network namespace.

use super::docker::{unique_name, ContainerGuard, Fixture};
use super::manifest::{action_manifest, input_defaults};
use super::process::{run, Ran};
use super::random_hex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What GITHUB_ENV and GITHUB_OUTPUT hold before the step, as left by earlier steps.
pub const SEED_ENV: &str =
    "EARLIER_STEP=1\nMULTI<<ghadelimiter_0\nline one\nline two\nghadelimiter_0\n";
pub const SEED_OUTPUT: &str = "unrelated=kept\n";
pub const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// The runner's directories for one job, on the host.
pub struct RunnerDirs {
    _root: tempfile::TempDir,
    /// RUNNER_TEMP (`_work/_temp`), mounted at /github/runner_temp.
    pub temp: PathBuf,
    /// GITHUB_WORKSPACE, mounted at /github/workspace.
    pub workspace: PathBuf,
    pub home: PathBuf,
    pub workflow: PathBuf,
    pub file_commands: PathBuf,
}

impl RunnerDirs {
    /// The temporary root holding every runner directory (to chown the tree).
    pub fn root(&self) -> &Path {
        self._root.path()
    }

    pub fn new() -> RunnerDirs {
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
    pub fn step_files(&self) -> StepFiles {
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

pub struct StepFiles {
    pub env: PathBuf,
    pub output: PathBuf,
    pub state: PathBuf,
    pub path: PathBuf,
    pub summary: PathBuf,
}

impl StepFiles {
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        [&self.env, &self.output, &self.state, &self.path]
            .iter()
            .map(|p| (p.to_path_buf(), std::fs::read(p).unwrap()))
            .collect()
    }
    pub fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }
}

/// The INPUT_* variables the runner passes: every input action.yml declares (its
/// default, or empty), overridden by `with`, plus any extra `with` keys.
pub fn inputs_context(with: &[(&str, &str)], dirs: &RunnerDirs) -> BTreeMap<String, String> {
    let mut inputs = input_defaults(&dirs.temp.display().to_string());
    for (name, value) in with {
        inputs.insert((*name).to_owned(), (*value).to_owned());
    }
    inputs
}

pub fn input_env(inputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
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
pub enum Stage {
    Main,
    Post,
}

/// `--entrypoint` and args as the runner derives them from action.yml.
pub fn entrypoint_and_args(
    stage: Stage,
    inputs: &BTreeMap<String, String>,
) -> (Option<String>, Vec<String>) {
    let runs = &action_manifest()["runs"];
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

pub struct Step<'a> {
    pub stage: Stage,
    pub with: Vec<(&'a str, &'a str)>,
    /// ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN; None = the job has no id-token permission.
    pub oidc: Option<(String, String)>,
    /// STATE_* values saved by the main step (post only).
    pub state: Vec<(String, String)>,
}

/// Evaluates `runs.env` / `runs.args` values. The runner's action schema
/// (src/Runner.Worker/action_yaml.json: `container-runs-env`, `container-runs-context`)
/// allows only the `inputs` context there; anything else makes the runner refuse to
/// load the action, so it fails this test too.
pub fn evaluate(value: &str, inputs: &BTreeMap<String, String>) -> String {
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
pub fn translate(value: &str, dirs: &RunnerDirs) -> String {
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
pub fn run_step(
    fx: &Fixture,
    image: &str,
    dirs: &RunnerDirs,
    files: &StepFiles,
    step: &Step,
) -> Ran {
    run_step_with_env(fx, image, dirs, files, step, &[])
}

/// [`run_step`] with the job's `env:` (host paths in it are translated, as the
/// runner translates them).
pub fn run_step_with_env(
    fx: &Fixture,
    image: &str,
    dirs: &RunnerDirs,
    files: &StepFiles,
    step: &Step,
    job_env: &[(&str, &str)],
) -> Ran {
    let gw = fx.network.gateway;
    let runtime = format!("http://{gw}:{}/runtime/", fx.token_port());
    let host = |p: &Path| p.display().to_string();
    let inputs = inputs_context(&step.with, dirs);
    let mut env: Vec<(String, String)> = input_env(&inputs);
    if let Some(runs_env) = action_manifest()["runs"]["env"].as_object().cloned() {
        for (k, v) in runs_env {
            let v = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            env.push((k, evaluate(&v, &inputs)));
        }
    }
    let plain = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    env.extend(job_env.iter().map(|(k, v)| plain(k, v)));
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

pub fn oidc(fx: &Fixture, tag: &str) -> Option<(String, String)> {
    Some((fx.token_request_url(tag), fx.request_token.clone()))
}
