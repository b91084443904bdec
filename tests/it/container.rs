//! The published container image, run the way the GitHub runner runs a Docker action
//! (the emulation is `support::runner`; see there for what it mirrors).
//!
//! Needs Docker, python3 with moto[server], and the image (built once per run by
//! scripts/build-image.sh, or `KEYLESS_AWS_TEST_IMAGE`).

use crate::support::docker::{image, unique_name, ContainerGuard, Fixture};
use crate::support::manifest::action_manifest;
use crate::support::process::{run, Ran};
use crate::support::runner::*;
use crate::support::scan::*;
use crate::support::{as_map, parse_file_commands, random_hex, require, Tool};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";

/// The shared fixture and the image; panics with the fix when a tool is missing.
fn setup() -> (Arc<Fixture>, String) {
    require(&[Tool::Docker, Tool::Moto]);
    (Fixture::shared(), image())
}

/// Success: the credentials moto issued land in GITHUB_ENV, masked first, nowhere else;
/// then the post step, run as the runner runs it, clears them.
#[test]
#[ignore = "needs docker and moto: run by scripts/test.sh"]
fn main_step_exports_the_issued_credentials_and_post_step_clears_them() {
    let (fx, image) = setup();
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
    assert!(
        action_manifest()["runs"]["post-entrypoint"].is_string(),
        "action.yml declares no runs.post-entrypoint, so the credentials would stay"
    );
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
#[ignore = "needs docker and moto: run by scripts/test.sh"]
fn invalid_input_fails_before_any_request_and_writes_nothing() {
    let (fx, image) = setup();
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
#[ignore = "needs docker and moto: run by scripts/test.sh"]
fn sts_refusal_fails_and_writes_nothing() {
    let (fx, image) = setup();
    let dirs = RunnerDirs::new();
    let files = dirs.step_files();
    let before = files.snapshot();
    let tag = format!("sts-denied-{}", random_hex(4));
    // The stand-in answers every POST with STS's AccessDenied.
    let role = format!("arn:aws:iam::{ACCOUNT}:role/{tag}");
    let denying_sts = fx.token.url();
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
#[ignore = "needs docker and moto: run by scripts/test.sh"]
fn token_endpoint_refusal_fails_and_writes_nothing() {
    let (fx, image) = setup();
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
#[ignore = "needs docker, moto and busybox: run by scripts/test.sh"]
fn profile_files_belong_to_the_runner_user_so_a_later_non_root_step_can_use_them() {
    require(&[Tool::Busybox]);
    let (fx, image) = setup();
    let dirs = RunnerDirs::new();
    let files = dirs.step_files();
    chown_tree(dirs.root(), RUNNER_UID);
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

/// Inside the action's container, `localhost` is the container's own: a service on
/// the runner's 127.0.0.1 (here a listener of this test, on the host) cannot be
/// reached, unlike with the JavaScript reference action. The action warns up front
/// and explains the connection failure; nothing is written.
#[test]
#[ignore = "needs docker and moto: run by scripts/test.sh"]
fn a_localhost_sts_endpoint_is_the_containers_own_and_the_failure_says_so() {
    let (fx, image) = setup();
    let dirs = RunnerDirs::new();
    let files = dirs.step_files();
    let before = files.snapshot();
    let on_host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    on_host.set_nonblocking(true).unwrap();
    let endpoint = format!("http://localhost:{}", on_host.local_addr().unwrap().port());
    let step = Step {
        stage: Stage::Main,
        with: vec![
            ("aws-access-key-id", "test"),
            ("aws-secret-access-key", "test"),
            ("aws-region", REGION),
            ("sts-endpoint", &endpoint),
            ("disable-retry", "true"),
        ],
        oidc: None,
        state: vec![],
    };
    let ran = run_step(&fx, &image, &dirs, &files, &step);
    assert_failed_cleanly("localhost sts-endpoint", &ran, &before, &files);
    assert!(
        ran.stdout
            .lines()
            .any(|l| l.starts_with("::warning title=Input `sts-endpoint`")),
        "no up-front warning: {}",
        ran.describe()
    );
    assert!(
        ran.stdout.matches("whose localhost is its own").count() >= 2
            && ran.stdout.contains("services:"),
        "the failure should explain the container's localhost: {}",
        ran.describe()
    );
    assert!(
        on_host.accept().is_err(),
        "the container reached the host's loopback after all"
    );
}

/// What an SDK does with the refreshing profile, in a busybox job image: read
/// `credential_process` from `$AWS_CONFIG_FILE` and run it with `sh -c`.
const RUN_CREDENTIAL_PROCESS: &str =
    r#"line=$(sed -n 's/^credential_process = //p' "$AWS_CONFIG_FILE") && sh -c "$line""#;

/// `refresh-credentials: true` on a GitHub-hosted runner: the action's container
/// runs as root with the runner's mounts and leaves the helper, its description,
/// config and a seeded cache, owned by uid 1001. Later steps, as the runner runs
/// them: a `run:` step as uid 1001 (host paths), a Docker action as root (the
/// runner's rewritten `/github/home` path), and botocore on the host through the
/// profile. The first call is served from the seeded cache (no second STS call);
/// with the cache gone, the helper requests a new token with the later step's own
/// token-request variables and assumes the role again. The post step removes
/// exactly what the main step left.
#[test]
#[ignore = "needs docker, moto and busybox: run by scripts/test.sh"]
fn refreshing_profile_serves_later_steps_as_the_runner_user_and_post_removes_it() {
    require(&[Tool::Busybox]);
    let (fx, image) = setup();
    let job_image = crate::refresh::busybox_image();
    let dirs = RunnerDirs::new();
    let files = dirs.step_files();
    chown_tree(dirs.root(), RUNNER_UID);
    let tag = format!("refresh-{}", random_hex(4));
    let session = format!("refresh-{}", random_hex(4));
    let role = format!("arn:aws:iam::{ACCOUNT}:role/gha-deploy");
    let endpoint = fx.sts_endpoint();
    let step = Step {
        stage: Stage::Main,
        with: vec![
            ("role-to-assume", &role),
            ("aws-region", REGION),
            ("role-session-name", &session),
            ("sts-endpoint", &endpoint),
            ("refresh-credentials", "true"),
        ],
        oidc: oidc(&fx, &tag),
        state: vec![],
    };
    let ran = run_step(&fx, &image, &dirs, &files, &step);
    assert!(ran.success(), "the main step failed: {}", ran.describe());
    let issued = fx.issued(&session);
    assert_eq!(issued.len(), 1, "issued: {issued:?}");
    let first = issued[0].clone();
    let secrets = [
        first.secret_access_key.clone(),
        first.session_token.clone(),
        fx.request_token.clone(),
    ];
    let named: Vec<(&str, &str)> = ["secret key", "session token", "request token"]
        .into_iter()
        .zip(secrets.iter().map(String::as_str))
        .collect();
    assert_masked_before_use(&ran.stdout, &named[..2]);
    assert_no_secret("stdout", &without_mask_lines(&ran.stdout), &named);
    assert_no_secret("stderr", &ran.stderr, &named);

    // GITHUB_ENV: the profile by its host path, blank keys, the region.
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
    let config = dir.join("refresh-config");
    assert_eq!(
        exported.get("AWS_CONFIG_FILE").map(PathBuf::from),
        Some(config.clone())
    );
    assert_eq!(
        exported.get("AWS_PROFILE").map(String::as_str),
        Some("keyless-aws")
    );
    assert_eq!(exported.get("AWS_REGION").map(String::as_str), Some(REGION));
    for key in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        assert_eq!(exported.get(key).map(String::as_str), Some(""), "{key}");
    }
    // Nothing secret on disk but the 0600 cache; everything the runner user's.
    use std::os::unix::fs::MetadataExt;
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let cache = names
        .iter()
        .find(|n| n.starts_with("refresh-cache-") && n.ends_with(".json"))
        .cloned()
        .unwrap_or_else(|| panic!("no seeded cache in {names:?}"));
    for name in &names {
        let path = dir.join(name);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (RUNNER_UID, RUNNER_UID), "{name}");
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        if *name == cache {
            assert_eq!(meta.mode() & 0o777, 0o600);
            assert!(text.contains(&first.access_key_id), "the cache is seeded");
        } else {
            for s in &secrets {
                assert!(!text.contains(s.as_str()), "a secret in {name}");
            }
        }
    }
    let meta = std::fs::metadata(&dir).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (RUNNER_UID, 0o700));

    // A later step in a job image: `docker run` as the runner does for a `run:`
    // step's view (host paths, as uid 1001) or a Docker action (as root, paths
    // rewritten into /github/home).
    let (token_url, token) = oidc(&fx, &tag).unwrap();
    let later = |uid: u32, config_file: &str| {
        let name = unique_name("refresh-later");
        let _guard = ContainerGuard(name.clone());
        let temp = dirs.temp.display().to_string();
        let mut cmd = Command::new("docker");
        cmd.args([
            "run",
            "--name",
            &name,
            "--rm",
            "--network",
            &fx.network.name,
        ])
        .args(["--user", &format!("{uid}:{uid}")])
        .args(["-v", &format!("{temp}:{temp}")])
        .args(["-v", &format!("{}:/github/home", dirs.home.display())])
        .args(["-e", &format!("AWS_CONFIG_FILE={config_file}")])
        .args(["-e", &format!("ACTIONS_ID_TOKEN_REQUEST_URL={token_url}")])
        .args(["-e", &format!("ACTIONS_ID_TOKEN_REQUEST_TOKEN={token}")])
        .args([&job_image, "sh", "-c", RUN_CREDENTIAL_PROCESS]);
        let ran = run(&mut cmd, STEP_TIMEOUT);
        for s in &secrets {
            assert!(!ran.stderr.contains(s.as_str()), "a secret on stderr");
        }
        ran
    };
    let answer = |ran: &Ran| -> Value {
        assert!(ran.success(), "the helper failed: {}", ran.describe());
        let v: Value = serde_json::from_str(ran.stdout.trim()).expect("credential_process JSON");
        assert_eq!(v["Version"], 1);
        assert!(v["Expiration"].is_string());
        v
    };
    let host_view = config.display().to_string();
    let seeded = answer(&later(RUNNER_UID, &host_view));
    assert_eq!(seeded["AccessKeyId"], first.access_key_id.as_str());
    assert_eq!(fx.issued(&session).len(), 1, "served from the seeded cache");
    let requests_before = fx.token_requests(&tag).len();

    // The cache gone (as when it has aged out): the helper refreshes.
    std::fs::remove_file(dir.join(&cache)).unwrap();
    let fresh = answer(&later(RUNNER_UID, &host_view));
    let issued = fx.issued(&session);
    assert_eq!(issued.len(), 2, "one new AssumeRoleWithWebIdentity");
    assert_eq!(fresh["AccessKeyId"], issued[1].access_key_id.as_str());
    assert_ne!(issued[1].access_key_id, first.access_key_id);
    assert_eq!(fx.token_requests(&tag).len(), requests_before + 1);
    let who = fx.caller_identity(
        fresh["AccessKeyId"].as_str().unwrap(),
        fresh["SecretAccessKey"].as_str().unwrap(),
        fresh["SessionToken"].as_str().unwrap(),
        REGION,
    );
    assert_eq!(
        who["Arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/gha-deploy/{session}").as_str()
    );
    let cache_meta = std::fs::metadata(dir.join(&cache)).expect("the refresh wrote the cache");
    assert_eq!(
        (cache_meta.uid(), cache_meta.mode() & 0o777),
        (RUNNER_UID, 0o600)
    );

    // A Docker action (root, the rewritten path) shares the same cache.
    let action_view = translate(&host_view, &dirs);
    assert!(action_view.starts_with("/github/home/"), "{action_view}");
    let shared = answer(&later(0, &action_view));
    assert_eq!(shared["AccessKeyId"], fresh["AccessKeyId"]);
    assert_eq!(fx.issued(&session).len(), 2);

    // botocore through the profile, on the host.
    let script = "import botocore.session, json, sys\n\
                  c = botocore.session.Session().create_client('sts', endpoint_url=sys.argv[1])\n\
                  print(json.dumps({'Arn': c.get_caller_identity()['Arn'], 'Region': c.meta.region_name}))\n";
    let mut cmd = Command::new("python3");
    cmd.args(["-c", script, &endpoint])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &dirs.temp)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &token_url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &token);
    for (k, v) in &exported {
        cmd.env(k, v);
    }
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
    assert_eq!(fx.issued(&session).len(), 2, "botocore used the cache");

    // The post step removes the files, the caches and the directory.
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
        !dir.exists(),
        "post step left {:?}",
        std::fs::read_dir(&dir).map(|d| d.count())
    );
    let cleared = as_map(
        &parse_file_commands(
            StepFiles::read(&post_files.env)
                .strip_prefix(SEED_ENV)
                .expect("earlier content kept"),
        )
        .expect("GITHUB_ENV is well-formed"),
    );
    for name in ["AWS_CONFIG_FILE", "AWS_PROFILE"] {
        assert_eq!(cleared.get(name).map(String::as_str), Some(""), "{name}");
    }
}

/// A later step that keeps using every profile of the config: runs each
/// profile's `credential_process` (as the SDKs do) once a second, `times`
/// times, and stops at the first failure.
fn every_profile_repeatedly(times: u32) -> String {
    format!(
        r#"i=0; while [ $i -lt {times} ]; do sed -n 's/^credential_process = //p' "$AWS_CONFIG_FILE" | while read -r line; do sh -c "$line" || exit 1; done || exit 1; i=$((i+1)); busybox sleep 1; done"#
    )
}

/// A long-lived botocore client of one profile: a signed call every 0.5 s for
/// `seconds`; "ok" per call.
const BOTO_LONG_LIVED: &str = r#"
import sys, time, boto3
endpoint, seconds = sys.argv[1], float(sys.argv[2])
client = boto3.Session().client("sts", endpoint_url=endpoint)
end = time.time() + seconds
while time.time() < end:
    client.get_caller_identity()
    print("ok", flush=True)
    time.sleep(0.5)
"#;

/// `roles` with `refresh-credentials: true`, as the runner runs the image:
/// `dev` (OIDC) and `audit` (chained `via=dev`, the default profile: OIDC
/// followed by a chained role in one step) against a stand-in that issues
/// keys living a few seconds and refuses them once expired. Every consumer —
/// a later `run:` step as uid 1001 on the host paths, a job container as uid
/// 1001, a later Docker action as root, and botocore making signed calls on
/// the host — keeps getting working credentials for both profiles over more
/// than three lifetimes; each `audit` answer was signed by a fresh `dev`
/// session. The control, the same step without refresh, fails with
/// `ExpiredToken` once the first keys expire.
#[test]
#[ignore = "needs docker, moto and busybox: run by scripts/test.sh"]
fn roles_refresh_every_profile_and_its_chain_in_every_later_step() {
    require(&[Tool::Busybox]);
    let (fx, image) = setup();
    let job_image = crate::refresh::busybox_image();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lifetime = 8;
    let sts = runtime.block_on(crate::refresh::ShortLivedSts::start(
        lifetime,
        fx.network.gateway,
    ));
    let roles = "dev = arn:aws:iam::123456789012:role/deploy\naudit = arn:aws:iam::210987654321:role/target via=dev\n";
    let main_step = |refresh: &'static str| {
        let dirs = RunnerDirs::new();
        let files = dirs.step_files();
        chown_tree(dirs.root(), RUNNER_UID);
        let step = Step {
            stage: Stage::Main,
            with: vec![
                ("roles", roles),
                ("default-profile", "audit"),
                ("aws-region", REGION),
                ("sts-endpoint", &sts.uri),
                ("refresh-credentials", refresh),
            ],
            oidc: Some(sts.token_request()),
            state: vec![],
        };
        let ran = run_step(&fx, &image, &dirs, &files, &step);
        assert!(ran.success(), "the main step failed: {}", ran.describe());
        assert_no_secret("stderr", &ran.stderr, &named(&sts.secrets()));
        let exported = as_map(
            &parse_file_commands(
                StepFiles::read(&files.env)
                    .strip_prefix(SEED_ENV)
                    .expect("earlier content kept"),
            )
            .expect("GITHUB_ENV is well-formed"),
        );
        (dirs, exported)
    };
    let (dirs, exported) = main_step("true");
    let config = dirs.home.join(".keyless-aws").join("refresh-config");
    assert_eq!(
        exported.get("AWS_CONFIG_FILE").map(PathBuf::from),
        Some(config.clone())
    );
    assert_eq!(
        exported.get("AWS_PROFILE").map(String::as_str),
        Some("audit")
    );

    // Three later steps at once, each over more than three lifetimes.
    let times = (lifetime * 3 + 4) as u32;
    let (token_url, token) = sts.token_request();
    let later = |uid: u32, mount: String, config_file: String| {
        let name = unique_name("roles-refresh-later");
        let mut cmd = Command::new("docker");
        cmd.args([
            "run",
            "--name",
            &name,
            "--rm",
            "--network",
            &fx.network.name,
        ])
        .args(["--user", &format!("{uid}:{uid}")])
        .args(["-v", &mount])
        .args(["-e", &format!("AWS_CONFIG_FILE={config_file}")])
        .args(["-e", &format!("ACTIONS_ID_TOKEN_REQUEST_URL={token_url}")])
        .args(["-e", &format!("ACTIONS_ID_TOKEN_REQUEST_TOKEN={token}")])
        .args([&job_image, "sh", "-c", &every_profile_repeatedly(times)]);
        (name, cmd)
    };
    let temp = dirs.temp.display().to_string();
    let views = [
        (
            "host run: step",
            RUNNER_UID,
            format!("{temp}:{temp}"),
            config.display().to_string(),
        ),
        (
            "job container",
            RUNNER_UID,
            format!("{temp}:/__w/_temp"),
            "/__w/_temp/_github_home/.keyless-aws/refresh-config".to_owned(),
        ),
        (
            "Docker action",
            0,
            format!("{}:/github/home", dirs.home.display()),
            translate(&config.display().to_string(), &dirs),
        ),
    ];
    let boto = |profile: &str, seconds: u64, env: &std::collections::BTreeMap<String, String>| {
        let mut cmd = Command::new("python3");
        cmd.args(["-c", BOTO_LONG_LIVED, &sts.uri, &seconds.to_string()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &dirs.temp)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", &token_url)
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &token);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.env("AWS_PROFILE", profile);
        for keep in ["PYENV_ROOT", "PYENV_VERSION", "VIRTUAL_ENV", "PYTHONPATH"] {
            if let Ok(v) = std::env::var(keep) {
                cmd.env(keep, v);
            }
        }
        cmd
    };
    let (steps, botos) = std::thread::scope(|scope| {
        let steps: Vec<_> = views
            .iter()
            .map(|(what, uid, mount, config_file)| {
                let (name, mut cmd) = later(*uid, mount.clone(), config_file.clone());
                scope.spawn(move || {
                    let _guard = ContainerGuard(name);
                    (*what, run(&mut cmd, STEP_TIMEOUT))
                })
            })
            .collect();
        let botos: Vec<_> = ["dev", "audit"]
            .into_iter()
            .map(|profile| {
                let mut cmd = boto(profile, lifetime * 3 + 2, &exported);
                scope.spawn(move || (profile, run(&mut cmd, STEP_TIMEOUT)))
            })
            .collect();
        (
            steps
                .into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>(),
            botos
                .into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>(),
        )
    });
    let all_secrets = sts.secrets();
    let secrets = named(&all_secrets);
    let chained = sts.chained_keys();
    for (what, ran) in &steps {
        assert!(ran.success(), "{what}: {}", ran.describe());
        assert_no_secret("stderr", &ran.stderr, &secrets);
        let answers: Vec<Value> = ran
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("credential_process JSON"))
            .collect();
        assert_eq!(
            answers.len() as u32,
            2 * times,
            "{what}: every call answered"
        );
        let keys = |i: usize| -> std::collections::BTreeSet<String> {
            answers
                .iter()
                .skip(i)
                .step_by(2)
                .map(|a| a["AccessKeyId"].as_str().unwrap().to_owned())
                .collect()
        };
        let (dev, audit) = (keys(0), keys(1));
        assert!(dev.len() > 3, "{what}: dev over three lifetimes: {dev:?}");
        assert!(
            audit.len() > 3,
            "{what}: audit over three lifetimes: {audit:?}"
        );
        for key in &dev {
            assert!(
                sts.issued(key) && key.starts_with("ASIASTANDIN"),
                "{what}: {key}"
            );
        }
        for key in &audit {
            let (_, signer) = chained
                .iter()
                .find(|(issued, _)| issued == key)
                .unwrap_or_else(|| panic!("{what}: {key} was not issued by AssumeRole"));
            assert!(
                signer.starts_with("ASIASTANDIN"),
                "{what}: signed by {signer}"
            );
        }
    }
    for (profile, ran) in &botos {
        assert!(
            ran.success(),
            "botocore, profile {profile}: {}",
            ran.describe()
        );
        assert!(!ran.stderr.contains("ExpiredToken"), "{}", ran.stderr);
        assert!(
            ran.stdout.lines().count() >= 3 * lifetime as usize,
            "{profile}: {}",
            ran.stdout
        );
    }

    // The control: the same step without refresh leaves keys that expire.
    let (control_dirs, control_env) = main_step("false");
    let mut control = boto("audit", lifetime + 6, &control_env);
    control.env("HOME", &control_dirs.temp);
    let control = run(&mut control, STEP_TIMEOUT);
    assert!(!control.success(), "keys without refresh must expire");
    assert!(
        control.stderr.contains("ExpiredToken"),
        "{}",
        control.stderr
    );
    assert!(
        control.stdout.contains("ok"),
        "the keys worked before expiry"
    );
}

/// Each secret under a name for the scanner's messages.
fn named(secrets: &[String]) -> Vec<(&str, &str)> {
    secrets
        .iter()
        .map(|s| ("stand-in secret", s.as_str()))
        .collect()
}
