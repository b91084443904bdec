//! The action in a workflow, run by act: `uses:` with `with:` inputs, then a later step
//! that proves the exported credentials arrived (and stayed masked).
//!
//! Nothing is pulled and nothing outside this machine is contacted:
//! * the action is `tests/it/fixtures/act_workflow.yml`'s `keyless-aws/keyless-aws@v1`, mapped with
//!   `--local-repository` to a copy of action.yml whose `image:` scripts/pin-image.sh
//!   rewrote to the locally built image (the same rewrite the release workflow does
//!   with the published digest), so act runs it with `docker://…` and `--pull=false`;
//! * the job runs in a BusyBox image made here with `docker import` from the host's
//!   static busybox (Debian/Ubuntu package busybox-static): act's `-self-hosted` mode
//!   cannot be used, because it hands Docker actions host paths for GITHUB_ENV and
//!   GITHUB_OUTPUT that are not mounted into the action's container;
//! * the job container (and so the action's container, which shares its network) sits
//!   on a Docker network the test creates; moto and scripts/token_endpoint.py listen on
//!   its gateway address only; act's cache server is off and its version check too.
//!
//! Needs Docker, act, python3 with moto[server] and a static busybox.

use crate::support::docker::{docker, image, Fixture};
use crate::support::process::{quick, run, wait_until, Server};
use crate::support::scan::assert_no_secret;
use crate::support::tools::find_busybox;
use crate::support::{random_hex, repo_root, require, sha256_hex, Tool};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ACT_TIMEOUT: Duration = Duration::from_secs(300);
const WORKFLOW_NAME: &str = "keyless-aws-act-test";

/// The job image: BusyBox in an otherwise empty filesystem, made with `docker import`
/// (no builder, no base image). Tagged by the busybox binary's hash, so it is made once.
fn job_image(busybox: &Path) -> String {
    let hash = sha256_hex(std::fs::read(busybox).unwrap());
    let tag = format!("keyless-aws-act-job:busybox-{}", &hash[..12]);
    if docker(&["image", "inspect", "--format", "{{.Id}}", &tag]).is_ok() {
        return tag;
    }
    let root = tempfile::Builder::new()
        .prefix("keyless-aws-job-rootfs")
        .tempdir()
        .unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(root.path().join("tmp")).unwrap();
    std::fs::copy(busybox, bin.join("busybox")).unwrap();
    let applets = quick(busybox.to_str().unwrap(), &["--list"])
        .unwrap_or_else(|e| panic!("busybox --list: {e}"));
    for applet in applets
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox")
    {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    let tar = root.path().with_extension("tar");
    let _tar_guard = RemoveOnDrop(tar.clone());
    let ran = run(
        Command::new("tar")
            .arg("-C")
            .arg(root.path())
            .args(["--owner=0", "--group=0", "-cf"])
            .arg(&tar)
            .arg("."),
        Duration::from_secs(60),
    );
    assert!(ran.success(), "tar: {}", ran.describe());
    let ran = run(
        Command::new("docker")
            .args([
                "import",
                "--change",
                "ENV PATH=/bin",
                "--change",
                "CMD [\"sh\"]",
            ])
            .arg(&tar)
            .arg(&tag),
        Duration::from_secs(120),
    );
    assert!(ran.success(), "docker import: {}", ran.describe());
    tag
}

/// Removes a file when dropped.
struct RemoveOnDrop(PathBuf);
impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Whatever act leaves behind if it is killed: its job container and volumes.
struct ActLeftovers(&'static str);
impl Drop for ActLeftovers {
    fn drop(&mut self) {
        let filter = format!("name=act-{}", self.0);
        if let Ok(ids) = docker(&["ps", "-aq", "--filter", &filter]) {
            for id in ids.split_whitespace() {
                let _ = docker(&["rm", "-f", id]);
            }
        }
        if let Ok(volumes) = docker(&["volume", "ls", "-q", "--filter", &filter]) {
            for v in volumes.split_whitespace() {
                let _ = docker(&["volume", "rm", "-f", v]);
            }
        }
    }
}

/// A scratch repository holding one workflow, the action pinned to the local image
/// (as a release tag serves it), and act's private config and cache directories.
struct ActRepo {
    scratch: tempfile::TempDir,
    repo: PathBuf,
    workflow: &'static str,
}

impl ActRepo {
    /// `fixture` (under tests/it/fixtures) becomes `.github/workflows/<workflow>`, with
    /// each `(from, to)` of `replace` applied; `extra` files are copied into the repo.
    fn new(
        fixture: &str,
        workflow: &'static str,
        replace: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> ActRepo {
        let scratch = tempfile::Builder::new()
            .prefix("keyless-aws-act")
            .tempdir()
            .unwrap();
        let repo = scratch.path().join("repo");
        let workflows = repo.join(".github/workflows");
        std::fs::create_dir_all(&workflows).unwrap();
        let fixtures = repo_root().join("tests/it/fixtures");
        let mut text = std::fs::read_to_string(fixtures.join(fixture)).unwrap();
        for (from, to) in replace {
            text = text.replace(from, to);
        }
        std::fs::write(workflows.join(workflow), text).unwrap();
        for (from, to) in extra {
            std::fs::copy(fixtures.join(from), repo.join(to)).unwrap();
        }
        let action = scratch.path().join("action");
        std::fs::create_dir_all(&action).unwrap();
        std::fs::copy(repo_root().join("action.yml"), action.join("action.yml"))
            .expect("action.yml");
        let image = image();
        let ran = run(
            Command::new("bash")
                .arg(repo_root().join("scripts/pin-image.sh"))
                .arg(action.join("action.yml"))
                .arg(&image),
            Duration::from_secs(30),
        );
        assert!(ran.success(), "pin-image.sh: {}", ran.describe());
        let pinned = std::fs::read_to_string(action.join("action.yml")).unwrap();
        assert!(
            pinned.contains(&format!("image: 'docker://{image}'")),
            "pin-image.sh did not pin the image:\n{pinned}"
        );
        std::fs::create_dir_all(scratch.path().join("config")).unwrap();
        ActRepo {
            scratch,
            repo,
            workflow,
        }
    }

    /// Runs `act push` on the workflow: job image `job_image`, the job on the fixture's
    /// network, nothing pulled; `env` as `--env NAME=VALUE`. Returns act's whole log.
    fn act(&self, fx: &Fixture, job_image: &str, env: &[(&str, String)]) -> (bool, String) {
        let mut cmd = Command::new("act");
        cmd.current_dir(&self.repo)
            .env("ACT_DISABLE_VERSION_CHECK", "1")
            // No user or machine actrc: only the flags below.
            .env("XDG_CONFIG_HOME", self.scratch.path().join("config"))
            .arg("push")
            .arg("--workflows")
            .arg(format!(".github/workflows/{}", self.workflow))
            .args(["-P", &format!("ubuntu-latest={job_image}")])
            .args([
                "--pull=false",
                "--rebuild=false",
                "--action-offline-mode",
                "--no-cache-server",
            ])
            .args(["--network", &fx.network.name])
            .args(["--bind", "--container-daemon-socket", "-"])
            .arg("--action-cache-path")
            .arg(self.scratch.path().join("act-cache"))
            .arg("--local-repository")
            .arg(format!(
                "keyless-aws/keyless-aws@v1={}",
                self.scratch.path().join("action").display()
            ))
            .args(["--defaultbranch", "main"]);
        for (name, value) in env {
            cmd.arg("--env").arg(format!("{name}={value}"));
        }
        let ran = run(&mut cmd, ACT_TIMEOUT);
        eprintln!("act ran for {:.1?}", ran.elapsed);
        let log = format!("{}\n{}", ran.stdout, ran.stderr);
        (ran.success(), log)
    }
}

/// The `--env` lines every act run here gets: the token endpoint (tagged), STS, a session.
fn act_env(fx: &Fixture, tag: &str, session: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ACTIONS_ID_TOKEN_REQUEST_URL", fx.token_request_url(tag)),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", fx.request_token.clone()),
        ("KEYLESS_AWS_TEST_STS_ENDPOINT", fx.sts_endpoint()),
        ("KEYLESS_AWS_TEST_SESSION", session.to_owned()),
    ]
}

/// `check KEY VALUE…` lines a later step printed, keyed by everything but the last word.
fn checks(log: &str) -> BTreeMap<String, String> {
    log.lines()
        .filter_map(|l| l.split_once("check ").map(|(_, rest)| rest.trim()))
        .filter_map(|rest| {
            rest.rsplit_once(' ')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

#[test]
#[ignore = "needs docker, act, moto and busybox-static: run by scripts/test.sh"]
fn workflow_gets_credentials_and_a_later_step_uses_them() {
    require(&[Tool::Docker, Tool::Act, Tool::Moto, Tool::Busybox]);
    let job_image = job_image(&find_busybox().unwrap());
    let fx = Fixture::shared();
    let _leftovers = ActLeftovers(WORKFLOW_NAME);
    let repo = ActRepo::new("act_workflow.yml", "keyless-aws.yml", &[], &[]);
    let tag = format!("act-{}", random_hex(4));
    let session = format!("act-{}", random_hex(4));
    let (ok, log) = repo.act(&fx, &job_image, &act_env(&fx, &tag, &session));
    assert!(ok && log.contains("Job succeeded"), "act failed:\n{log}");

    // What moto issued for this session, and what the later step saw.
    let issued = fx.issued(&session);
    assert_eq!(
        issued.len(),
        1,
        "moto should have issued one set of credentials for {session}: {issued:?}"
    );
    let issued = &issued[0];
    let checks: BTreeMap<String, String> = log
        .lines()
        .filter_map(|l| l.split_once("check ").map(|(_, rest)| rest.trim()))
        .filter_map(|rest| {
            rest.split_once(' ')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect();
    let expect = |key: &str, want: &str| {
        assert_eq!(
            checks.get(key).map(String::as_str),
            Some(want),
            "later step: `check {key}` (all checks: {checks:?})\n{log}"
        );
    };
    expect("access-key-id", &sha256_hex(&issued.access_key_id));
    expect("secret-access-key", &sha256_hex(&issued.secret_access_key));
    expect("session-token", &sha256_hex(&issued.session_token));
    expect("region", "eu-west-1 eu-west-1");
    expect(
        "arn",
        &format!("arn:aws:sts::111122223333:assumed-role/act-deploy/{session}"),
    );
    expect("account", "111122223333");
    expect("masked", "***");
    assert_no_secret("act's log", &log, &issued.secrets());
    assert!(
        !log.contains(&fx.request_token),
        "the id-token request token is in act's log"
    );

    // The credentials work.
    let identity = fx.caller_identity(
        &issued.access_key_id,
        &issued.secret_access_key,
        &issued.session_token,
        "eu-west-1",
    );
    assert_eq!(identity["Arn"], issued.arn.as_str());

    // The token request carried action.yml's default audience.
    let requests = fx.token_requests(&tag);
    assert_eq!(requests.len(), 1, "token requests: {requests:?}");
    assert_eq!(requests[0]["authorized"], true);
    assert_eq!(requests[0]["audience"], "sts.amazonaws.com");

    // The post step ran; act gave it no saved state, and it says so.
    assert!(
        log.contains("Success - Post Get AWS credentials"),
        "the post step did not run or failed:\n{log}"
    );
    assert!(
        log.contains(
            "Cleaned nothing: act gives this post step none of the main step's saved state"
        ),
        "the post step did not say what it could not clean:\n{log}"
    );
}

/// Issue 21: under act, `aws-profile`, `roles` and `refresh-credentials` leave their
/// files where a later `run:` step, a job `container:` and a later Docker action all
/// read them (before, they went to the action container's own `/tmp` and vanished), and
/// the refreshing profile refreshes for real in each of those places.
#[test]
#[ignore = "needs docker, act, moto and busybox-static: run by scripts/test.sh"]
fn profiles_roles_and_refresh_reach_every_later_step_under_act() {
    require(&[Tool::Docker, Tool::Act, Tool::Moto, Tool::Busybox]);
    let job_image = job_image(&find_busybox().unwrap());
    let fx = Fixture::shared();
    let _leftovers = ActLeftovers("keyless-aws-act-files");
    let repo = ActRepo::new(
        "act_files.yml",
        "files.yml",
        &[("KEYLESS_AWS_ACT_JOB_IMAGE", &job_image)],
        &[("act_read_profiles.sh", ".github/read-profiles.sh")],
    );
    let tag = format!("act-{}", random_hex(4));
    let session = format!("act-{}", random_hex(4));
    let (ok, log) = repo.act(&fx, &job_image, &act_env(&fx, &tag, &session));
    assert!(ok, "act failed:\n{log}");
    let checks = checks(&log);
    let mut secrets = Vec::new();
    for job in ["on-runner", "in-container"] {
        for (profile, suffix, how) in [
            ("act-profile", "p", "keys"),
            ("act-a", "a", "keys"),
            ("act-b", "b", "keys"),
            ("act-refresh", "f", "credential_process"),
        ] {
            let issued = fx.issued(&format!("{session}-{job}-{suffix}"));
            // Keys: the action's one answer, read in both places. Refreshing: the
            // action's answer, then one real refresh in each place (the script drops
            // the helper's cache), each with its own keys.
            let refreshes = usize::from(how == "credential_process") * 2;
            assert_eq!(
                issued.len(),
                1 + refreshes,
                "{job} {profile}: moto issued {issued:?}"
            );
            let mut seen = Vec::new();
            for place in ["run", "docker-action"] {
                let key = format!("{job}-{place} {profile} {how}");
                let got = checks
                    .get(&key)
                    .unwrap_or_else(|| panic!("no `check {key}` (all checks: {checks:?})\n{log}"));
                let from = issued
                    .iter()
                    .position(|i| sha256_hex(&i.access_key_id) == *got);
                assert!(
                    from.is_some(),
                    "`check {key}` is none of moto's keys for it\n{log}"
                );
                seen.push(from);
            }
            if refreshes == 0 {
                assert_eq!(seen, [Some(0), Some(0)], "{job} {profile}");
            } else {
                assert!(
                    seen[0] != seen[1] && !seen.contains(&Some(0)),
                    "{job} {profile}: {seen:?}"
                );
            }
            for i in &issued {
                secrets.extend(i.secrets().map(|(what, v)| (what, v.to_owned())));
            }
        }
    }
    for job in ["on-runner", "in-container"] {
        for place in ["run", "docker-action"] {
            let key = format!("{job}-{place} modes");
            assert_eq!(
                checks.get(&key).map(String::as_str),
                Some("700-600-600"),
                "`check {key}`\n{log}"
            );
        }
    }
    let secrets: Vec<(&str, &str)> = secrets.iter().map(|(w, v)| (*w, v.as_str())).collect();
    assert_no_secret("act's log", &log, &secrets);
    // One token per action step, and one per refresh.
    assert_eq!(fx.token_requests(&tag).len(), 6 + 4);
}

/// Starts `keyless-aws ARGS…` as a bounded server logging to `dir/NAME.log`, and
/// waits for its stdout's `PREFIX…` lines (the addresses it printed).
fn keyless_server(
    name: &'static str,
    args: &[String],
    dir: &Path,
    wait_for: &str,
) -> (Server, String) {
    let bin = crate::support::bin().to_str().unwrap().to_owned();
    let mut cmd = Server::bounded(&bin);
    cmd.args(args);
    let mut server = Server::spawn(name, &mut cmd, dir.join(format!("{name}.log")));
    wait_until(name, Duration::from_secs(20), || {
        server.assert_running();
        server.log_text().contains(wait_for)
    });
    let log = server.log_text();
    (server, log)
}

/// The value after `--env NAME=` in a server's printed lines.
fn env_line(log: &str, name: &str) -> String {
    let prefix = format!("--env {name}=");
    log.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} line in:\n{log}"))
        .to_owned()
}

/// Issue 21.3: with `keyless-aws dev-sts` as STS, a trust policy that does not admit
/// the token and an audience the provider does not list fail under act with the
/// action's explanation and nothing exported; the admitted role still works.
#[test]
#[ignore = "needs docker, act, moto and busybox-static: run by scripts/test.sh"]
fn trust_policy_and_audience_are_enforced_under_act() {
    require(&[Tool::Docker, Tool::Act, Tool::Moto, Tool::Busybox]);
    let job_image = job_image(&find_busybox().unwrap());
    let fx = Fixture::shared();
    let _leftovers = ActLeftovers("keyless-aws-act-trust");
    let repo = ActRepo::new("act_trust.yml", "trust.yml", &[], &[]);
    let dir = repo.scratch.path();
    let gateway = fx.network.gateway.to_string();
    let (_token_server, token_log) = keyless_server(
        "dev-token-server",
        &[
            "dev-token-server",
            "--listen",
            &format!("{gateway}:0"),
            "--url-host",
            &gateway,
            "--issuer",
            "https://token.actions.githubusercontent.com",
            "--repo",
            "acme/app",
            "--ref",
            "refs/heads/main",
            "--max-seconds",
            "600",
        ]
        .map(str::to_owned),
        dir,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN=",
    );
    let token_addr = token_log
        .lines()
        .find_map(|l| l.strip_prefix("listening on "))
        .unwrap()
        .to_owned();
    let policy = |sub: &str| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": sub}}}]})
        .to_string()
    };
    std::fs::write(
        dir.join("allowed.json"),
        policy("repo:acme/app:ref:refs/heads/main"),
    )
    .unwrap();
    std::fs::write(
        dir.join("denied.json"),
        policy("repo:acme/app:environment:production"),
    )
    .unwrap();
    let (dev_sts, sts_log) = keyless_server(
        "dev-sts",
        &[
            "dev-sts".to_owned(),
            "--listen".to_owned(),
            format!("{gateway}:0"),
            "--jwks-url".to_owned(),
            format!("http://{token_addr}/.well-known/jwks"),
            "--forward".to_owned(),
            fx.sts_endpoint(),
            "--trust-policy".to_owned(),
            format!(
                "arn:aws:iam::111122223333:role/act-allowed={}",
                dir.join("allowed.json").display()
            ),
            "--trust-policy".to_owned(),
            format!(
                "arn:aws:iam::111122223333:role/act-denied={}",
                dir.join("denied.json").display()
            ),
            "--max-seconds".to_owned(),
            "600".to_owned(),
        ],
        dir,
        "--env AWS_ENDPOINT_URL_STS=",
    );
    let session = format!("act-{}", random_hex(4));
    let env = vec![
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            env_line(&token_log, "ACTIONS_ID_TOKEN_REQUEST_URL"),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            env_line(&token_log, "ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ),
        (
            "KEYLESS_AWS_TEST_STS_ENDPOINT",
            env_line(&sts_log, "AWS_ENDPOINT_URL_STS"),
        ),
        ("KEYLESS_AWS_TEST_SESSION", session.clone()),
    ];
    let (ok, log) = repo.act(&fx, &job_image, &env);
    let sts_log = dev_sts.log_text();
    assert!(ok, "act failed:\n{log}\ndev-sts:\n{sts_log}");
    let checks = checks(&log);
    let expect = |key: &str, want: &str| {
        assert_eq!(
            checks.get(key).map(String::as_str),
            Some(want),
            "`check {key}`\n{log}\ndev-sts:\n{sts_log}"
        );
    };
    expect("outcome failure", "failure");
    expect("exported", "[]");
    // The action's explanations, as for real AWS's answers.
    assert!(
        log.contains("The role's trust policy did not match this token"),
        "{log}"
    );
    assert!(log.contains("repo:acme/app:ref:refs/heads/main"), "{log}");
    assert!(
        log.contains("add-client-id-to-open-id-connect-provider"),
        "{log}"
    );
    // dev-sts says why, with the policy's verdict.
    assert!(
        sts_log.contains("act-denied -> AccessDenied") && sts_log.contains("denied.json"),
        "{sts_log}"
    );
    assert!(
        sts_log.contains("act-allowed -> InvalidIdentityToken") && sts_log.contains("my-audience"),
        "{sts_log}"
    );
    let issued = fx.issued(&session);
    assert_eq!(issued.len(), 1, "moto issued {issued:?}\n{sts_log}");
    expect("allowed", &sha256_hex(&issued[0].access_key_id));
}

/// Runs scripts/act-local.sh on `repo` with `args`; returns (success, output).
fn act_local(repo: &Path, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/act-local.sh"))
        .arg(repo)
        .args(args)
        .env("BUSYBOX", find_busybox().unwrap())
        .env("KEYLESS_AWS_IMAGE", image());
    let ran = run(&mut cmd, ACT_TIMEOUT + Duration::from_secs(600));
    eprintln!("act-local.sh ran for {:.1?}", ran.elapsed);
    (ran.success(), format!("{}\n{}", ran.stdout, ran.stderr))
}

/// Issue 21.2 and 21.3 end to end: act-local.sh runs an ordinary repository (a local
/// action, a secret, an environment, every AWS service on moto), withholds the token
/// from a job without `id-token: write` and says why, and with `--trust-policy` the
/// loop works: the policy denies with the action's explanation and dev-sts's fix, the
/// corrected policy passes.
#[test]
#[ignore = "needs docker, act, moto and busybox-static: run by scripts/test.sh"]
fn act_local_runs_a_repository_and_rehearses_the_trust_policy() {
    require(&[Tool::Docker, Tool::Act, Tool::Moto, Tool::Busybox]);
    let scratch = tempfile::Builder::new()
        .prefix("keyless-aws-act-local")
        .tempdir()
        .unwrap();
    let repo = scratch.path().join("app");
    let fixtures = repo_root().join("tests/it/fixtures");
    for (from, to) in [
        ("act_local_deploy.yml", ".github/workflows/deploy.yml"),
        ("act_local_greet.yml", ".github/actions/greet/action.yml"),
    ] {
        std::fs::create_dir_all(repo.join(to).parent().unwrap()).unwrap();
        std::fs::copy(fixtures.join(from), repo.join(to)).unwrap();
    }
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["remote", "add", "origin", "git@github.com:acme/app.git"],
        &["add", "."],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@localhost.invalid",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-qm",
            "app",
        ],
    ] {
        let ran = run(
            Command::new("git").arg("-C").arg(&repo).args(args),
            Duration::from_secs(30),
        );
        assert!(ran.success(), "git {args:?}: {}", ran.describe());
    }
    let policy = scratch.path().join("trust.json");
    let write_policy = |sub: &str| {
        let text = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": sub}}}]});
        std::fs::write(&policy, text.to_string()).unwrap();
    };
    let args = [
        "--trust-policy",
        policy.to_str().unwrap(),
        "--",
        "--secret",
        "GREETING=hi-there-secret",
    ];

    // The branch's sub, but the job runs in an environment: denied, with the fix.
    write_policy("repo:acme/app:ref:refs/heads/main");
    let (ok, log) = act_local(&repo, &args);
    assert!(
        !ok,
        "a policy for the branch admitted an environment's token:\n{log}"
    );
    for needle in [
        "hello deploy from a local action",
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
        "The role's trust policy did not match this token",
        "dev-sts refused (what AWS would refuse, and why)",
        "fix: add \"repo:acme/app:environment:production\"",
        "lint of .github/workflows/deploy.yml: no `permissions: id-token: write`",
        "token url []",
    ] {
        assert!(log.contains(needle), "no {needle:?} in:\n{log}");
    }
    assert!(!log.contains("deployed with key"), "{log}");

    // The corrected policy passes; the secret is masked and every service is moto.
    write_policy("repo:acme/app:environment:production");
    let (ok, log) = act_local(&repo, &args);
    assert!(ok, "the corrected policy failed:\n{log}");
    assert!(
        log.contains("| secret is ***") && !log.contains("hi-there-secret"),
        "{log}"
    );
    assert!(log.contains("| endpoint http://127.0.0.1:"), "{log}");
    let key = log
        .lines()
        .find_map(|l| l.split_once("deployed with key ").map(|(_, k)| k.trim()))
        .unwrap_or_else(|| panic!("no key line:\n{log}"));
    assert!(key.len() == 64 && key != sha256_hex(""), "{key}");
    assert!(log.contains("act-local.sh: act run succeeded"), "{log}");
}
