//! What users read, as reviewed text: for every failure class the `::error`
//! annotation, the `::group::` block and the step summary section; and `setup`'s
//! output. A wording change shows up as a snapshot diff in review
//! (tests/it/snapshots/*.snap; `INSTA_UPDATE=always cargo test --test it snapshots`
//! rewrites them, and under CI=true a mismatch fails).
//!
//! Redacted so the snapshots are stable: the scenario's temp directory, 127.0.0.1
//! ports, and random heredoc delimiters.

use crate::support::stand_in::{ASSUME_ROLE, WEB_IDENTITY};
use crate::support::*;
use std::time::Duration;
use wiremock::ResponseTemplate;

/// Replaces `127.0.0.1:<digits>` with `127.0.0.1:[PORT]`.
fn redact_ports(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("[PORT]");
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// Replaces `ghadelimiter_<random>` heredoc delimiters.
fn redact_delimiters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("ghadelimiter_") {
        let (head, tail) = rest.split_at(at + "ghadelimiter_".len());
        out.push_str(head);
        let n = tail
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
            .count();
        out.push_str("[DELIMITER]");
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

fn redact(text: &str, s: &Scenario) -> String {
    let dir = s.dir.path().to_string_lossy().into_owned();
    redact_delimiters(&redact_ports(&text.replace(&dir, "[TMP]")))
}

/// What a user reads of a failed run: the annotation, the details group and the step
/// summary. Checks that the run failed cleanly first.
pub(crate) fn user_view(s: &Scenario) -> String {
    let out = s.run();
    out.assert_failed_cleanly();
    let mut lines = out.stdout.lines();
    let error = out.error_line().to_owned();
    let mut group = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with("::group::") {
            group.push(line);
            for l in lines.by_ref() {
                group.push(l);
                if l == "::endgroup::" {
                    break;
                }
            }
        }
    }
    assert!(!group.is_empty(), "no ::group:: block:\n{}", out.stdout);
    assert!(!out.summary.trim().is_empty(), "no step summary");
    redact(
        &format!(
            "exit code: {}\n\n--- annotation ---\n{error}\n\n--- details (log group) ---\n{}\n\n--- step summary ---\n{}",
            out.code,
            group.join("\n"),
            out.summary.trim_end()
        ),
        s,
    )
}

fn oidc_with(sts: &StsStandIn) -> Scenario {
    Scenario::oidc_step(sts).input("disable-retry", "true")
}

fn token() -> StsStandIn {
    StsStandIn::new().github_token("repo:octo-org/octo-repo:ref:refs/heads/main")
}

#[test]
fn input_error() {
    let s = oidc_with(&StsStandIn::new()).input("role-duration-seconds", "abc");
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn no_oidc_token() {
    let s = Scenario::new()
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1");
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn no_oidc_token_under_act() {
    let s = Scenario::new()
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .env("ACT", "true");
    insta::assert_snapshot!(user_view(&s));
}

/// Issue 21.1: under act's `-self-hosted` mode GITHUB_ENV's directory is not in the
/// action's container, so a mode that leaves files is refused before any request.
#[test]
fn profile_under_act_without_a_shared_directory() {
    let s = Scenario::new()
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .input("aws-profile", "dev")
        .env("ACT", "true")
        .env("GITHUB_ENV", "/nonexistent/act/workflow/envs.txt");
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn token_request_refused() {
    let s = oidc_with(&StsStandIn::new().token_status(403));
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn token_file_unusable() {
    let s = Scenario::new()
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .input("web-identity-token-file", "missing.jwt");
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn sts_access_denied() {
    let sts = token().sts_error(
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    );
    insta::assert_snapshot!(user_view(&oidc_with(&sts)));
}

#[test]
fn sts_invalid_identity_token_no_provider() {
    let sts = token().sts_error(
        400,
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com",
    );
    insta::assert_snapshot!(user_view(&oidc_with(&sts)));
}

#[test]
fn sts_invalid_identity_token_audience() {
    let sts = token().sts_error(400, "InvalidIdentityToken", "Incorrect token audience");
    insta::assert_snapshot!(user_view(&oidc_with(&sts)));
}

#[test]
fn sts_expired_token() {
    let sts = token().sts_error(400, "ExpiredTokenException", "Token expired: current date/time 1700000900 must be before the expiration date/time 1700000600");
    insta::assert_snapshot!(user_view(&oidc_with(&sts)));
}

#[test]
fn sts_throttling() {
    let sts = token().sts_error(400, "Throttling", "Rate exceeded");
    insta::assert_snapshot!(user_view(&oidc_with(&sts)));
}

#[test]
fn sts_other_code() {
    let sts = token().sts_error(
        403,
        "RegionDisabledException",
        "STS is not activated in this region for account 123456789012",
    );
    insta::assert_snapshot!(user_view(&oidc_with(&sts)));
}

#[test]
fn sts_duration_too_long() {
    let sts = token().sts_error(
        400,
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
    let s = oidc_with(&sts).input("role-duration-seconds", "7200");
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn sts_unreachable() {
    let s = oidc_with(&token()).input("sts-endpoint", &closed_url());
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn sts_unreadable_answer() {
    let sts = token().sts_answer(
        ResponseTemplate::new(502)
            .set_body_raw("<html><h1>502 Bad Gateway</h1></html>", "text/html"),
    );
    insta::assert_snapshot!(user_view(&oidc_with(&sts)));
}

#[test]
fn assume_role_access_denied_for_tags() {
    let sts = StsStandIn::new().sts_error(
        403,
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:TagSession",
    );
    let s = Scenario::new()
        .input("aws-access-key-id", "AKIAINPUTKEY00000001")
        .input(
            "aws-secret-access-key",
            "inputSecretKey0000000000000000000000000000",
        )
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .input("disable-retry", "true")
        .stand_in(&sts);
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn account_not_allowed() {
    let sts = token().assume(WEB_IDENTITY);
    let s = oidc_with(&sts).input("allowed-account-ids", "111111111111");
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn action_timeout() {
    let sts = token().sts_answer(ResponseTemplate::new(200).set_delay(Duration::from_secs(6)));
    let s = oidc_with(&sts).input("action-timeout-s", "1");
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn profile_already_exists() {
    let sts = token().assume(WEB_IDENTITY);
    let mut s = oidc_with(&sts).input("aws-profile", "deploy");
    s.run().assert_success();
    s.reset_files();
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn existing_credentials_missing_for_role_chaining() {
    let sts = StsStandIn::new().assume(ASSUME_ROLE);
    let s = Scenario::new()
        .input("role-chaining", "true")
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .stand_in(&sts);
    insta::assert_snapshot!(user_view(&s));
}

#[test]
fn runner_file_not_writable() {
    let sts = token().assume(WEB_IDENTITY);
    let s = oidc_with(&sts);
    // A symlink where the runner's GITHUB_OUTPUT file should be: refused.
    std::fs::remove_file(s.path("output")).unwrap();
    std::fs::write(s.path("elsewhere"), "").unwrap();
    std::os::unix::fs::symlink(s.path("elsewhere"), s.path("output")).unwrap();
    let out = s.run();
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.env_file, crate::support::scenario::ENV_BEFORE);
    assert_eq!(std::fs::read_to_string(s.path("elsewhere")).unwrap(), "");
    let view = format!(
        "exit code: {}\n\n--- stdout without masks ---\n{}\n\n--- step summary ---\n{}",
        out.code,
        out.stdout
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n"),
        out.summary.trim_end()
    );
    let view = redact(&view, &s);
    insta::assert_snapshot!(view);
}

/// Everything `setup` prints, for the default and each subject kind, and for
/// each CI.
#[test]
fn setup_output() {
    const GH: &[&str] = &["--repo", "octo-org/octo-repo"];
    const UUID: &str = "{11111111-2222-3333-4444-555555555555}";
    const ORG: &str = "11111111-2222-3333-4444-555555555555";
    const PROJECT: &str = "66666666-7777-8888-9999-000000000000";
    let cases: [(&str, Vec<&str>); 9] = [
        ("default", GH.to_vec()),
        ("branch", [GH, &["--branch", "main"]].concat()),
        (
            "environment",
            [GH, &["--environment", "production"]].concat(),
        ),
        ("pull_request", [GH, &["--pull-request"]].concat()),
        (
            "pin_ids",
            [GH, &["--pin-ids", "--repository-id", "123456789"]].concat(),
        ),
        (
            "gitlab",
            vec!["--ci", "gitlab", "--project", "group/project"],
        ),
        (
            "circleci",
            vec!["--ci", "circleci", "--org-id", ORG, "--project-id", PROJECT],
        ),
        (
            "buildkite",
            vec![
                "--ci",
                "buildkite",
                "--organization",
                "acme",
                "--pipeline",
                "deploy",
            ],
        ),
        (
            "bitbucket",
            vec![
                "--ci",
                "bitbucket",
                "--workspace",
                "acme",
                "--workspace-uuid",
                UUID,
                "--repo-uuid",
                UUID,
            ],
        ),
    ];
    for (name, args) in cases {
        let mut s = Scenario::new().arg("setup");
        for a in args {
            s = s.arg(a);
        }
        let out = s.run();
        out.assert_success();
        insta::assert_snapshot!(format!("setup_{name}"), redact(&out.stdout, &s));
    }
}

/// The README's AWS set-up block is `setup`'s output, verbatim (issue 23.6):
/// one source of truth for the trust policy, the commands and the Terraform.
#[test]
fn readme_setup_block_is_setups_output() {
    let s = Scenario::new().arg("setup").arg("--repo").arg("OWNER/REPO");
    let out = s.run();
    out.assert_success();
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let begin = "<!-- setup:begin (keyless-aws setup --repo OWNER/REPO) -->\n```\n";
    let start = readme.find(begin).expect("the README has the setup block") + begin.len();
    let end = start + readme[start..].find("```\n<!-- setup:end -->").unwrap();
    assert_eq!(
        &readme[start..end],
        out.stdout,
        "README.md's setup block differs from `keyless-aws setup --repo OWNER/REPO`: paste the output between the markers"
    );
}

/// The `::warning` lines for inputs that have no effect on the path taken, which
/// the reference action ignores (see README "Migrating").
#[test]
fn ignored_input_warnings() {
    let sts = token().assume(WEB_IDENTITY);
    let s = Scenario::oidc_step(&sts)
        .input("custom-tags", r#"{"team":"a"}"#)
        .input("transitive-tag-keys", "Repository")
        .input("role-external-id", "ext-1")
        .input("retry-max-attempts", "0");
    let out = s.run();
    out.assert_success();
    let warnings: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::warning"))
        .collect();
    insta::assert_snapshot!(redact(&warnings.join("\n"), &s));
}

/// A localhost `sts-endpoint` inside a container action: the warning up front and
/// the explanation of the connection failure.
#[test]
fn loopback_endpoint_in_a_container() {
    let mut s = Scenario::new()
        .input("aws-access-key-id", "test")
        .input("aws-secret-access-key", "test")
        .input("aws-region", "us-east-1")
        .input("disable-retry", "true")
        .input(
            "sts-endpoint",
            &format!("http://localhost:{}", free_port(LOCALHOST)),
        )
        .env("HOME", "/github/home");
    let warning = s
        .run()
        .stdout
        .lines()
        .find(|l| l.starts_with("::warning"))
        .unwrap_or_default()
        .to_owned();
    s.reset_files();
    let text = format!("--- warning ---\n{warning}\n\n{}", user_view(&s));
    // The closed port differs per run.
    let port = s
        .input_value("sts-endpoint")
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    insta::assert_snapshot!(text.replace(&format!("localhost:{port}"), "localhost:[PORT]"));
}

/// Three profiles: `prod` is admitted, `dev` refused, `audit` (via `dev`) never tried.
pub(crate) const ROLES: &str = "\
dev   = arn:aws:iam::111111111111:role/deploy
prod  = arn:aws:iam::333333333333:role/deploy  region=us-west-2
audit = arn:aws:iam::666666666666:role/read    via=dev
";

/// The token, `prod` admitted, every other STS call AccessDenied.
pub(crate) fn roles_with_one_allowed() -> StsStandIn {
    use wiremock::matchers::{body_string_contains, method};
    token()
        .mount(
            wiremock::Mock::given(method("POST"))
                .and(body_string_contains(
                    "RoleArn=arn%3Aaws%3Aiam%3A%3A333333333333%3Arole%2Fdeploy",
                ))
                .respond_with(ResponseTemplate::new(200).set_body_string(sts_assume_xml(
                    WEB_IDENTITY,
                    &Creds::standard(),
                    "arn:aws:sts::333333333333:assumed-role/deploy/GitHubActions",
                ))),
        )
        .sts_error(
            403,
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        )
}

/// The action's `roles` failure report: each failing profile explained on its own.
#[test]
fn roles_failure_report() {
    let s = oidc_with(&roles_with_one_allowed())
        .remove_input("role-to-assume")
        .input("roles", ROLES);
    insta::assert_snapshot!(user_view(&s));
}
