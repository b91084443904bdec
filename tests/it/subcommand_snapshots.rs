//! What users read from the subcommands, as reviewed text: `assume`'s
//! refusals (each CI's missing-token message, an STS refusal, the `--roles`
//! failure report), `credential-process`'s errors, the `dev-token-server`
//! banner, every `--help`, and usage errors. Each snapshot starts with the
//! command line and the exit code, so a changed exit code is a diff too.
//! (`setup` and `check-trust` have their own.)
//!
//! Redacted with insta filters: 127.0.0.1 ports, the dev server's request
//! token and key id; the run's temp directory is `[TMP]`.

use crate::support::subcommand::Ran;
use crate::support::*;
use std::net::TcpListener;

const GITLAB_ROLE: &str = "--role-arn=arn:aws:iam::123456789012:role/deploy";

fn snapshot(name: &str, ran: &Ran) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[REQUEST_TOKEN]");
    settings.add_filter(r"\(kid [^)]+\)", "(kid [KID])");
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!(name, ran.user_view()));
}

fn gitlab_token() -> String {
    jwt(&serde_json::json!({
        "iss": "https://gitlab.com",
        "sub": "project_path:g/p:ref_type:branch:ref:main",
        "aud": "sts.amazonaws.com",
    }))
}

/// Each CI's message when it offers no token (exit 2: nothing ran), and what
/// the token sources that exist but fail say (exit 1).
#[test]
fn assume_missing_token_per_ci() {
    // No token place at all: a usage error (exit 2), nothing ran.
    let cases: [(&str, &[(&str, &str)]); 6] = [
        ("assume_no_token_github", &[("GITHUB_ACTIONS", "true")]),
        (
            "assume_no_token_github_under_act",
            &[("GITHUB_ACTIONS", "true"), ("ACT", "true")],
        ),
        ("assume_no_token_gitlab", &[("GITLAB_CI", "true")]),
        ("assume_no_token_circleci", &[("CIRCLECI", "true")]),
        (
            "assume_no_token_bitbucket",
            &[("BITBUCKET_BUILD_NUMBER", "3")],
        ),
        ("assume_no_token_not_a_ci", &[]),
    ];
    for (name, vars) in cases {
        let mut run = Subcommand::new("assume").arg(GITLAB_ROLE).expect_code(2);
        for (k, v) in vars {
            run = run.env(k, v);
        }
        snapshot(name, &run.run());
    }
    let unset = Subcommand::new("assume")
        .args(&[GITLAB_ROLE, "--token-env", "DEPLOY_TOKEN"])
        .env("GITLAB_CI", "true")
        .expect_code(1)
        .run();
    snapshot("assume_token_env_unset_gitlab", &unset);

    // Buildkite: the agent missing, then an agent that refuses.
    let missing = Subcommand::new("assume")
        .arg(GITLAB_ROLE)
        .env("BUILDKITE", "true")
        .env("PATH", "/nonexistent")
        .expect_code(1)
        .run();
    snapshot("assume_no_token_buildkite_without_agent", &missing);
    let run = Subcommand::new("assume")
        .arg(GITLAB_ROLE)
        .env("BUILDKITE", "true")
        .expect_code(1);
    run.script(
        "bin/buildkite-agent",
        "#!/bin/sh\necho 'fatal: BUILDKITE_AGENT_ACCESS_TOKEN missing' >&2\nexit 1\n",
    );
    let path = format!("{}:/usr/bin:/bin", run.path("bin").display());
    snapshot(
        "assume_no_token_buildkite_agent_refuses",
        &run.env("PATH", &path).run(),
    );
}

/// A token that is not one, and AWS refusing a good one: the reason, the
/// token's claims and the trust policy condition that would admit them.
#[test]
fn assume_refusals() {
    let not_jwt = Subcommand::new("assume")
        .args(&[GITLAB_ROLE, "--token-env", "T"])
        .env("T", "not-a-jwt")
        .expect_code(1)
        .run();
    snapshot("assume_token_not_a_jwt", &not_jwt);

    let sts = StsStandIn::new().sts_error(
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    );
    let refused = Subcommand::new("assume")
        .args(&[GITLAB_ROLE, "--sts-endpoint", &sts.uri()])
        .env("GITLAB_CI", "true")
        .env("GITLAB_OIDC_TOKEN", &gitlab_token())
        .expect_code(1)
        .run();
    snapshot("assume_access_denied_gitlab", &refused);

    let github_env = Subcommand::new("assume")
        .args(&[GITLAB_ROLE, "--token-env", "T", "--format", "github"])
        .env("T", &gitlab_token())
        .expect_code(1)
        .run();
    snapshot("assume_format_github_without_github_env", &github_env);
}

/// `assume --roles`: every failing profile explained on its own, nothing printed.
#[test]
fn assume_roles_failure_report() {
    let sts = crate::snapshots::roles_with_one_allowed();
    let run = Subcommand::new("assume");
    let file = run.file("roles.txt", crate::snapshots::ROLES);
    let out = run
        .args(&[
            "--roles",
            &file,
            "--token-env",
            "T",
            "--sts-endpoint",
            &sts.uri(),
        ])
        .env(
            "T",
            &jwt(&github_claims(
                "repo:octo-org/octo-repo:ref:refs/heads/main",
            )),
        )
        .expect_code(1)
        .run();
    assert_eq!(out.stdout, "", "nothing is printed when a role fails");
    snapshot("assume_roles_failure_report", &out);
}

/// Bad command lines: exit 2, the problem, and where the flags are described.
#[test]
fn usage_errors() {
    let cases: [(&str, &[&str]); 10] = [
        ("usage_unknown_command", &["deploy"]),
        ("usage_unknown_option", &["--frobnicate"]),
        ("usage_help_unknown_command", &["help", "deploy"]),
        ("usage_assume_unknown_flag", &["assume", "--bogus"]),
        ("usage_assume_missing_value", &["assume", "--token-env"]),
        ("usage_assume_no_role", &["assume", "--token-env", "T"]),
        (
            "usage_assume_bad_duration",
            &[
                "assume",
                GITLAB_ROLE,
                "--token-env",
                "T",
                "--duration",
                "60",
            ],
        ),
        (
            "usage_dev_token_server_unknown_flag",
            &["dev-token-server", "--frobnicate"],
        ),
        (
            "usage_dev_token_server_twice",
            &["dev-token-server", "--repo", "a/b", "--repo", "c/d"],
        ),
        (
            "usage_dev_token_server_bad_ref",
            &["dev-token-server", "--ref", "main"],
        ),
    ];
    for (name, args) in cases {
        let out = Subcommand::top_level().args(args).expect_code(2).run();
        assert_eq!(
            out.stdout, "",
            "{name}: a usage error prints nothing on stdout"
        );
        snapshot(name, &out);
    }
    let file = Subcommand::new("assume");
    let roles = file.file("roles.txt", "dev = arn:aws:iam::111111111111:role/x\n");
    let out = file
        .args(&["--roles", &roles, "--token-env", "T", "--format", "env"])
        .expect_code(2)
        .run();
    snapshot("usage_assume_roles_format", &out);
}

/// Every subcommand's help, the same for `X --help`, `X -h` and `help X`.
#[test]
fn help_texts() {
    snapshot(
        "help_top_level",
        &Subcommand::top_level().arg("--help").expect_code(0).run(),
    );
    for name in ["assume", "credential-process", "dev-token-server"] {
        let out = Subcommand::new(name).arg("--help").expect_code(0).run();
        for other in [
            Subcommand::new(name).arg("-h"),
            Subcommand::top_level().args(&["help", name]),
        ] {
            assert_eq!(other.expect_code(0).run().stdout, out.stdout, "{name}");
        }
        snapshot(&format!("help_{}", name.replace('-', "_")), &out);
    }
    let version = Subcommand::top_level()
        .arg("--version")
        .expect_code(0)
        .run();
    assert_eq!(
        version.stdout,
        concat!("keyless-aws ", env!("CARGO_PKG_VERSION"), "\n")
    );
}

/// A description the action would write, for `role` via `sts`.
fn description(run: &Subcommand, sts: &StsStandIn) -> String {
    let json = serde_json::json!({
        "version": 1,
        "region": "eu-west-1",
        "sts-endpoint": sts.uri(),
        "audience": "sts.amazonaws.com",
        "web-identity": {
            "role-arn": ROLE,
            "session-name": "GitHubActions",
            "duration-seconds": 3600
        },
        "cache-file": "refresh-cache.json",
        "min-remaining-seconds": 1200,
        "retry-max-attempts": 1
    });
    run.file("refresh/description.json", json.to_string())
}

/// The refresh helper's errors, as botocore shows them in its exception.
#[test]
fn credential_process_errors() {
    for (name, args) in [
        ("credential_process_no_description", &[][..]),
        ("credential_process_unknown_flag", &["--bogus"]),
        ("credential_process_positional", &["file.json"]),
    ] {
        let out = Subcommand::new("credential-process")
            .args(args)
            .expect_code(2)
            .run();
        snapshot(name, &out);
    }
    let run = Subcommand::new("credential-process").expect_code(1);
    let bad = run.file("d.json", "{\"version\": 1}");
    snapshot(
        "credential_process_bad_description",
        &run.args(&["--description", &bad]).run(),
    );

    let unused = StsStandIn::new();
    let run = Subcommand::new("credential-process").expect_code(1);
    let file = description(&run, &unused);
    snapshot(
        "credential_process_no_token_request",
        &run.args(&["--description", &file]).run(),
    );
    assert!(unused.requests().is_empty());

    let refused = StsStandIn::new().token_status(401);
    let sts_refuses = StsStandIn::new()
        .github_token("repo:octo-org/octo-repo:ref:refs/heads/main")
        .sts_error(
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        );
    for (name, sts) in [
        ("credential_process_token_request_refused", &refused),
        ("credential_process_access_denied", &sts_refuses),
    ] {
        let run = Subcommand::new("credential-process").expect_code(1);
        let file = description(&run, sts);
        let out = run
            .args(&["--description", &file])
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                &format!("{}/_apis/token?api-version=2.0", sts.uri()),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
            .run();
        assert_eq!(out.stdout, "", "{name}");
        assert!(!out.stderr.contains(REQUEST_TOKEN), "{name}");
        snapshot(name, &out);
    }
}

/// The banner a user copies the `--env` lines from, and how the server ends.
#[test]
fn dev_token_server_banner() {
    let out = Subcommand::new("dev-token-server")
        .args(&[
            "--repo",
            "acme/app",
            "--environment",
            "production",
            "--max-seconds",
            "1",
        ])
        .expect_code(0)
        .run();
    snapshot("dev_token_server_banner", &out);

    // The port taken: exit 1, and what to do.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let out = Subcommand::new("dev-token-server")
        .args(&["--listen", &listen])
        .expect_code(1)
        .run();
    assert_eq!(out.stdout, "");
    snapshot("dev_token_server_port_taken", &out);
}
