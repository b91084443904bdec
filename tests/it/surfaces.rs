//! Regression tests for the attack review of the new surfaces (issue 22):
//! each test names its item and runs the real binary (the action step, the
//! refresh helper, `assume`) against the shared stand-ins.

use crate::support::stand_in::WEB_IDENTITY;
use crate::support::{Scenario, StsStandIn, REQUEST_TOKEN};
use keyless_aws::refresh::install;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn refresh_step(sts: &StsStandIn) -> Scenario {
    Scenario::oidc_step(sts).input("refresh-credentials", "true")
}

/// The helper as an SDK runs it in a later step, bounded.
fn helper(dir: &Path, sts: &StsStandIn) -> Output {
    let mut cmd = Command::new(dir.join(install::BINARY));
    cmd.args(["credential-process", "--description"])
        .arg(dir.join(install::DESCRIPTION))
        .env_clear()
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}/_apis/token?api-version=2.0", sts.uri()),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
        .env("NO_PROXY", "*");
    let ran = crate::support::process::run(&mut cmd, Duration::from_secs(30));
    assert!(!ran.timed_out, "the helper hung:\n{}", ran.describe());
    Output {
        status: ran.status.expect("finished"),
        stdout: ran.stdout.into_bytes(),
        stderr: ran.stderr.into_bytes(),
    }
}

// ---------------------------------------------------------------------------------
// Item 1: the refresh directory, and what the helper trusts
// ---------------------------------------------------------------------------------

/// `refresh-credentials` creates its directory like the profile writer: an
/// existing lax directory is tightened to 0700, and a link on any component
/// of its path is refused before anything is written.
#[test]
fn i1_the_refresh_directory_is_private_and_reached_without_links() {
    let sts = StsStandIn::new()
        .github_token("repo:o/r:ref:refs/heads/main")
        .assume(WEB_IDENTITY);
    let step = refresh_step(&sts);
    let dir = step.path("temp").join(".keyless-aws");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o777);
    step.run().assert_success();
    assert_eq!(mode(&dir), 0o700, "an existing lax directory is tightened");

    // RUNNER_TEMP reached through a link: refused, nothing written there.
    let elsewhere = tempfile::tempdir().unwrap();
    let step = refresh_step(&sts);
    let linked = step.path("linked-temp");
    std::os::unix::fs::symlink(elsewhere.path(), &linked).unwrap();
    let step = step.env("RUNNER_TEMP", linked.to_str().unwrap());
    let out = step.run();
    out.assert_failed_cleanly();
    assert!(out.stdout.contains("symbolic link"), "{}", out.stdout);
    assert!(
        std::fs::read_dir(elsewhere.path())
            .unwrap()
            .next()
            .is_none(),
        "nothing was written through the link"
    );
}

/// The helper reads its description and CA bundle only from files no other
/// user could have written, in a directory no other user can write, never
/// through a link and without blocking on a FIFO; each refusal says why, and
/// no token is requested.
#[test]
fn i1_the_helper_refuses_files_another_user_could_have_planted() {
    let sts = StsStandIn::new()
        .github_token("repo:o/r:ref:refs/heads/main")
        .assume(WEB_IDENTITY);
    let step = refresh_step(&sts);
    step.run().assert_success();
    let dir = step.path("temp").join(".keyless-aws");
    let description = dir.join(install::DESCRIPTION);
    let bundle = dir.join(install::CA_BUNDLE);
    let good = std::fs::read(&description).unwrap();
    // No cache: every call below would have to refresh.
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("refresh-cache-")
        {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    let requests_before = sts.requests().len();
    let refused = |what: &str, expect: &str| {
        let started = Instant::now();
        let out = helper(&dir, &sts);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(out.stdout.is_empty(), "{what}: nothing printed");
        assert!(err.contains(expect), "{what}: {err}");
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
    };

    chmod(&description, 0o666);
    refused("writable description", "lets group or others write it");
    chmod(&description, 0o600);

    std::fs::remove_file(&description).unwrap();
    let planted = dir.join("planted.json");
    std::fs::write(&planted, &good).unwrap();
    chmod(&planted, 0o600);
    std::os::unix::fs::symlink(&planted, &description).unwrap();
    refused("linked description", "symbolic link");
    std::fs::remove_file(&description).unwrap();

    let c = std::ffi::CString::new(description.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    refused("FIFO description", "not a regular file");
    std::fs::remove_file(&description).unwrap();
    std::fs::rename(&planted, &description).unwrap();

    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&description, Some(4242), Some(4242)).unwrap();
        refused("foreign description", "belongs to uid 4242");
        std::os::unix::fs::chown(&description, Some(0), Some(0)).unwrap();
    }

    chmod(&bundle, 0o666);
    refused("writable CA bundle", "lets group or others write it");
    chmod(&bundle, 0o644);

    chmod(&dir, 0o777);
    refused("writable directory", "lets group or others write it");
    chmod(&dir, 0o700);
    assert_eq!(
        sts.requests().len(),
        requests_before,
        "no token was requested for an untrusted description"
    );

    let out = helper(&dir, &sts);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------
// Item 7: every account id in the inputs is masked first, whatever fails
// ---------------------------------------------------------------------------------

/// (what fails, the inputs, the account id they name)
type MaskCase<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

/// With `mask-aws-account-id: true`, an account id named in a `roles` line (or
/// any other input) is masked before the first line of output, whatever input
/// fails and however its error quotes the value.
#[test]
fn i7_account_ids_in_every_input_are_masked_before_any_error_names_them() {
    let sts = StsStandIn::new();
    let roles_ok = "dev = arn:aws:iam::111111111111:role/dev\n";
    let cases: [MaskCase; 5] = [
        (
            "a roles line with an unknown key",
            &[(
                "roles",
                "dev = arn:aws:iam::111111111111:role/dev regoin=eu-west-1\n",
            )],
            "111111111111",
        ),
        (
            "a roles line with a malformed ARN",
            &[("roles", "dev = arn:aws:iam::222222222222:rol/dev\n")],
            "222222222222",
        ),
        (
            "a roles line chained through an unknown profile",
            &[(
                "roles",
                "dev = arn:aws:iam::333333333333:role/dev via=nowhere\n",
            )],
            "333333333333",
        ),
        (
            "allowed-account-ids with a bad entry",
            &[
                ("roles", roles_ok),
                ("allowed-account-ids", "444444444444,12x"),
            ],
            "444444444444",
        ),
        (
            "a role ARN in the wrong partition and a bad duration",
            &[
                ("role-to-assume", "arn:aws:iam::555555555555:role/x"),
                ("role-duration-seconds", "forever"),
            ],
            "555555555555",
        ),
    ];
    for (case, inputs, account) in cases {
        let mut step = Scenario::new()
            .oidc(&sts.uri())
            .input("aws-region", "eu-west-1")
            .input("mask-aws-account-id", "true")
            .env("RUNNER_DEBUG", "1")
            .stand_in(&sts);
        for (name, value) in inputs {
            step = step.input(name, value);
        }
        let out = step.run();
        out.assert_failed_cleanly();
        crate::support::scan::assert_masked_before_use(&out.stdout, &[(case, account)]);
        assert!(!out.stderr.contains(account), "{case}: {}", out.stderr);
        assert!(!out.summary.contains(account), "{case}: {}", out.summary);
    }
}

// ---------------------------------------------------------------------------------
// Item 3: claims are text from outside, on every front end
// ---------------------------------------------------------------------------------

/// What a hostile claim carries: shell substitutions (they would create the
/// canary file when a suggested command is pasted), quotes of every kind, and
/// line breaks that would begin workflow commands.
fn hostile(canary: &Path, tag: &str) -> String {
    let c = canary.display();
    format!("{tag}$(touch {c})`touch {c}`'\"; touch {c} #\n::stop-commands::resume1234567890\r\n::error::pwned\n##[error]pwned ${{file(\"/etc/passwd\")}}")
}

/// Hostile claims under GitHub's issuer (the GitHub explanation) and under an
/// issuer of their own (the other-CI explanation, the provider commands).
fn hostile_claims(canary: &Path) -> Vec<serde_json::Value> {
    vec![
        serde_json::json!({
            "iss": "https://token.actions.githubusercontent.com",
            "aud": "sts.amazonaws.com",
            "sub": hostile(canary, "repo:o/r:ref:refs/heads/main"),
            "repository": hostile(canary, "o/r"),
            "ref": hostile(canary, "refs/heads/main"),
            "environment": hostile(canary, "prod"),
            "event_name": "pull_request",
            "job_workflow_ref": hostile(canary, "o/r/.github/workflows/x.yml@main"),
        }),
        serde_json::json!({
            "iss": hostile(canary, "https://evil.example/"),
            "aud": hostile(canary, "sts.amazonaws.com"),
            "sub": hostile(canary, "project_path:g/p:ref_type:branch:ref:main"),
        }),
    ]
}

/// STS's refusals whose explanations quote the claims.
const REFUSALS: [(u16, &str, &str); 3] = [
    (
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    ),
    (
        400,
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for https://x",
    ),
    (400, "InvalidIdentityToken", "Incorrect token audience"),
];

/// The lines of `text` a user would paste: suggested commands.
fn suggested_commands(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| {
            ["aws ", "keyless-aws ", "echo "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(str::to_owned)
        .collect()
}

/// Each suggested command parses (`sh -n`) and, run by `sh -c` with harmless
/// stand-ins for `aws` and `keyless-aws`, creates no canary.
fn assert_pasting_runs_nothing(front_end: &str, text: &str, canary: &Path, work: &Path) {
    let commands = suggested_commands(text);
    for line in &commands {
        let parses = Command::new("sh")
            .arg("-n")
            .arg("-c")
            .arg(line)
            .status()
            .unwrap();
        assert!(parses.success(), "{front_end}: `sh -n` refuses {line:?}");
        let ran = crate::support::process::run(
            Command::new("sh")
                .arg("-c")
                .arg(line)
                .current_dir(work)
                .env("PATH", format!("{}:/usr/bin:/bin", work.display())),
            Duration::from_secs(10),
        );
        assert!(ran.success(), "{front_end}: {line:?}\n{}", ran.describe());
        assert!(
            !canary.exists(),
            "{front_end}: pasting {line:?} ran a claim's command"
        );
    }
}

/// Terraform snippets interpolate nothing from a claim, and JSON conditions
/// are valid JSON holding the claim's (one-line) text.
fn assert_snippets_are_inert(front_end: &str, text: &str) {
    for line in text.lines() {
        if line.contains(" = ") && line.contains("${") {
            assert!(
                !line.replace("$${", "").contains("${"),
                "{front_end}: a Terraform line interpolates: {line:?}"
            );
        }
    }
    if let Some(start) = text.find("  \"Condition\": {") {
        let block: String = text[start..]
            .lines()
            .take_while(|l| *l != "  }")
            .chain(["  }"])
            .collect::<Vec<_>>()
            .join("\n");
        let json: Result<serde_json::Value, _> = serde_json::from_str(&format!("{{{block}}}"));
        assert!(json.is_ok(), "{front_end}: not JSON:\n{block}");
    }
}

fn fake_tools(work: &Path) {
    for tool in ["aws", "keyless-aws"] {
        let p = work.join(tool);
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        chmod(&p, 0o755);
    }
}

#[test]
fn i3_hostile_claims_are_escaped_for_every_medium_on_every_front_end() {
    let work = tempfile::tempdir().unwrap();
    fake_tools(work.path());
    let canary = work.path().join("pwned");
    let mut seen_provider_command = false;
    for claims in hostile_claims(&canary) {
        let token = crate::support::jwt(&claims);
        for (status, code, message) in REFUSALS {
            let case = format!("{code} {message} / iss {:.30}", claims["iss"]);
            let sts = StsStandIn::new()
                .token(&token)
                .sts_error(status, code, message);
            // The action: every line on stdout is one the runner reads.
            let out = Scenario::oidc_step(&sts).run();
            out.assert_failed_cleanly();
            let mut problems = Vec::new();
            crate::support::scan::check_commands("action stdout", &out.stdout, true, &mut problems);
            crate::support::scan::check_commands(
                "action stderr",
                &out.stderr,
                false,
                &mut problems,
            );
            assert!(problems.is_empty(), "{case}: {problems:#?}\n{}", out.stdout);
            let shown = crate::support::scan::without_mask_lines(&out.stdout);
            assert_pasting_runs_nothing(&format!("action, {case}"), &shown, &canary, work.path());
            assert_snippets_are_inert(&format!("action, {case}"), &shown);
            seen_provider_command |= shown.contains("create-open-id-connect-provider --url '");

            // `assume`, as a GitHub Actions step runs it: stderr reaches the log.
            let mut cmd = Command::new(crate::support::bin());
            cmd.args([
                "assume",
                "--token-env",
                "HOSTILE_TOKEN",
                "--region",
                "eu-west-1",
            ])
            .args([
                "--role-arn",
                crate::support::ROLE,
                "--sts-endpoint",
                &sts.uri(),
            ])
            .env_clear()
            .env("HOSTILE_TOKEN", &token)
            .env("GITHUB_ACTIONS", "true")
            .env("PATH", "/usr/bin:/bin")
            .env("NO_PROXY", "*");
            let ran = crate::support::process::run(&mut cmd, Duration::from_secs(30));
            assert_eq!(
                ran.status.and_then(|s| s.code()),
                Some(1),
                "{}",
                ran.describe()
            );
            let mut problems = Vec::new();
            // Its own masks are the only commands `assume` writes on stderr.
            let stderr = crate::support::scan::without_mask_lines(&ran.stderr);
            crate::support::scan::check_commands("assume stderr", &stderr, false, &mut problems);
            crate::support::scan::check_commands(
                "assume stdout",
                &ran.stdout,
                false,
                &mut problems,
            );
            assert!(problems.is_empty(), "{case}: {problems:#?}\n{}", ran.stderr);
            assert_pasting_runs_nothing(
                &format!("assume, {case}"),
                &ran.stderr,
                &canary,
                work.path(),
            );
            assert_snippets_are_inert(&format!("assume, {case}"), &ran.stderr);
        }
        // check-trust replays the claims against a policy: its report quotes them.
        let claims_file = work.path().join("claims.json");
        std::fs::write(&claims_file, claims.to_string()).unwrap();
        let policy = work.path().join("trust.json");
        std::fs::write(
            &policy,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:o/r:ref:refs/heads/main"}}}]}"#,
        )
        .unwrap();
        let mut cmd = Command::new(crate::support::bin());
        cmd.args(["check-trust", "--policy"])
            .arg(&policy)
            .arg("--claims")
            .arg(&claims_file)
            .env_clear();
        let ran = crate::support::process::run(&mut cmd, Duration::from_secs(30));
        let mut problems = Vec::new();
        crate::support::scan::check_commands(
            "check-trust stdout",
            &ran.stdout,
            false,
            &mut problems,
        );
        crate::support::scan::check_commands(
            "check-trust stderr",
            &ran.stderr,
            false,
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:#?}\n{}", ran.describe());
        assert_pasting_runs_nothing("check-trust", &ran.stdout, &canary, work.path());
    }
    assert!(
        seen_provider_command,
        "the provider command was shown, quoted"
    );
}

// ---------------------------------------------------------------------------------
// Item 5: child processes are bounded as a whole
// ---------------------------------------------------------------------------------

/// `assume` on Buildkite: an agent that prints the token and exits, leaving a
/// background process that holds its stdout, neither hangs `assume` nor
/// outlives it (the agent's process group is killed).
#[test]
fn i5_a_grandchild_holding_the_agents_output_does_not_hang_assume() {
    let sts = StsStandIn::new().assume(WEB_IDENTITY);
    let dir = tempfile::tempdir().unwrap();
    let token = crate::support::jwt(&crate::support::github_claims(
        "repo:o/r:ref:refs/heads/main",
    ));
    let pid_file = dir.path().join("grandchild.pid");
    let agent = dir.path().join("buildkite-agent");
    std::fs::write(
        &agent,
        format!(
            "#!/bin/sh\necho '{token}'\nsleep 300 &\necho $! > {}\nexit 0\n",
            pid_file.display()
        ),
    )
    .unwrap();
    chmod(&agent, 0o755);
    let started = Instant::now();
    let mut cmd = Command::new(crate::support::bin());
    cmd.args([
        "assume",
        "--role-arn",
        crate::support::ROLE,
        "--format",
        "json",
    ])
    .args(["--sts-endpoint", &sts.uri(), "--region", "eu-west-1"])
    .env_clear()
    .env("BUILDKITE", "true")
    .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
    .env("NO_PROXY", "*");
    let ran = crate::support::process::run(&mut cmd, Duration::from_secs(60));
    assert!(ran.success(), "{}", ran.describe());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "assume waited for the grandchild: {:?}",
        started.elapsed()
    );
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    crate::support::process::wait_until("the grandchild is gone", Duration::from_secs(5), || {
        // Gone, or a zombie awaiting its reaper.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z'))
        })
    });
}

// ---------------------------------------------------------------------------------
// Item 10: the workflows themselves
// ---------------------------------------------------------------------------------

/// zizmor's offline audits find nothing in the workflows and Dependabot settings
/// (scripts/test.sh runs the same command first); every workflow parses as YAML
/// (a `run:` value holding `: ` once made two of them unreadable).
#[test]
#[ignore = "needs zizmor: run by scripts/test.sh"]
fn i10_zizmor_finds_nothing_in_the_workflows() {
    crate::support::require(&[crate::support::Tool::Zizmor]);
    let root = crate::support::repo_root();
    let mut cmd = Command::new("zizmor");
    cmd.args(["--offline", "--config", ".github/zizmor.yml"])
        .args([".github/workflows", ".github/dependabot.yml"])
        .current_dir(root);
    let ran = crate::support::process::run(&mut cmd, Duration::from_secs(120));
    assert!(ran.success(), "{}", ran.describe());
    assert!(!ran.stderr.contains("failed to parse"), "{}", ran.stderr);
}
