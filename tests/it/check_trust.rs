//! `keyless-aws check-trust` as a user runs it: files on disk, the real
//! binary, exit status 0 (allowed), 1 (denied), 2 (bad input).

use crate::support::subcommand::{Ran, Subcommand};
use std::path::{Path, PathBuf};

const GH: &str = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

fn trust_policy(sub_operator: &str, sub: &str) -> String {
    let aud = r#""token.actions.githubusercontent.com:aud":"sts.amazonaws.com""#;
    let sub = format!(r#""token.actions.githubusercontent.com:sub":"{sub}""#);
    let condition = if sub_operator == "StringEquals" {
        format!(r#"{{"StringEquals":{{{aud},{sub}}}}}"#)
    } else {
        format!(r#"{{"StringEquals":{{{aud}}},"{sub_operator}":{{{sub}}}}}"#)
    };
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"GitHubDeploy","Effect":"Allow","Principal":{{"Federated":"{GH}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{condition}}}]}}"#
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `keyless-aws check-trust ARGS…` with an empty environment.
fn check_trust(args: &[&str]) -> Ran {
    Subcommand::new("check-trust").args(args).run()
}

#[test]
fn allowed_exits_0_and_denied_exits_1_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "trust.json",
        &trust_policy(
            "StringEquals",
            "repo:octo-org/octo-repo:ref:refs/heads/main",
        ),
    );
    let p = policy.to_str().unwrap();

    let ok = check_trust(&[
        "--policy",
        p,
        "--repo",
        "octo-org/octo-repo",
        "--ref",
        "main",
    ]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(
        ok.stdout
            .contains("ALLOWED by statement 1 (Sid \"GitHubDeploy\")"),
        "{}",
        ok.stdout
    );
    assert!(!ok.stdout.contains("warning"), "{}", ok.stdout);

    let denied = check_trust(&[
        "--policy",
        p,
        "--repo",
        "octo-org/octo-repo",
        "--environment",
        "production",
    ]);
    assert_eq!(denied.code, 1, "{}{}", denied.stdout, denied.stderr);
    for expected in [
        "DENIED",
        "statement 1 (Sid \"GitHubDeploy\")",
        "token.actions.githubusercontent.com:sub",
        "add \"repo:octo-org/octo-repo:environment:production\"",
        "names the environment, not the branch",
    ] {
        assert!(
            denied.stdout.contains(expected),
            "{expected:?} in\n{}",
            denied.stdout
        );
    }
}

#[test]
fn lint_warnings_do_not_change_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "trust.json",
        &trust_policy("StringLike", "repo:octo-org/*"),
    );
    let run = check_trust(&[
        "--policy",
        policy.to_str().unwrap(),
        "--repo",
        "octo-org/octo-repo",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("every repository of `octo-org`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("fix: name the repository"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_token_is_decoded_without_verification_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "trust.json",
        &trust_policy("StringEquals", "repo:octo-org/octo-repo:pull_request"),
    );
    let signature = crate::support::JWT_SIGNATURE;
    let token = crate::support::jwt(&serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "sts.amazonaws.com",
        "sub": "repo:octo-org/octo-repo:pull_request",
        "repository": "octo-org/octo-repo",
        "event_name": "pull_request",
    }));
    let token_file = write(dir.path(), "token", &format!("{token}\n"));
    let run = check_trust(&[
        "--policy",
        policy.to_str().unwrap(),
        "--token",
        token_file.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("WITHOUT checking its signature"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("pull-request runs of `octo-org/octo-repo`"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(signature) && !run.stderr.contains(signature));
    assert!(!run.stdout.contains(&token[..20]));
}

#[test]
fn claims_file_denied_by_an_unexposed_claim() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "trust.json",
        &format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"Federated":"{GH}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:event_name":"push"}}}}}}}}"#
        ),
    );
    let claims = write(
        dir.path(),
        "claims.json",
        r#"{"iss":"https://token.actions.githubusercontent.com","aud":"sts.amazonaws.com","sub":"repo:o/r:ref:refs/heads/main","event_name":"push"}"#,
    );
    let run = check_trust(&[
        "--policy",
        policy.to_str().unwrap(),
        "--claims",
        claims.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("IAM does not expose the `event_name` claim"),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = trust_policy("StringEquals", "repo:o/r:ref:refs/heads/main");
    let duplicate = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{GH}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}},"StringEquals":{{"token.actions.githubusercontent.com:sub":"repo:o/r:ref:refs/heads/main"}}}}}}]}}"#
    );
    let permissions = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    let files = [
        (
            "invalid.json",
            "{\"Version\": \"2012-10-17\", \"Statement\": [",
            "not valid JSON",
        ),
        (
            "duplicate.json",
            duplicate.as_str(),
            "duplicate key \"StringEquals\"",
        ),
        (
            "permissions.json",
            permissions,
            "permissions policy, not a role trust policy",
        ),
    ];
    for (name, text, expected) in files {
        let path = write(d, name, text);
        let run = check_trust(&["--policy", path.to_str().unwrap(), "--repo", "o/r"]);
        assert_eq!(run.code, 2, "{name}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(expected),
            "{name}: {expected:?} in {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{name}: {}", run.stdout);
    }
    let policy = write(d, "trust.json", &good);
    let p = policy.to_str().unwrap();
    let missing = d.join("missing.json");
    let not_object = write(d, "claims.json", "[1, 2]");
    let not_jwt = write(d, "token", "not-a-token");
    let cases: [(Vec<&str>, &str); 6] = [
        (
            vec!["--policy", missing.to_str().unwrap(), "--repo", "o/r"],
            "cannot read --policy",
        ),
        (
            vec!["--policy", p, "--claims", not_object.to_str().unwrap()],
            "JSON object of claims",
        ),
        (
            vec!["--policy", p, "--token", not_jwt.to_str().unwrap()],
            "does not hold a JWT",
        ),
        (vec!["--policy", p], "exactly one of --claims"),
        (
            vec!["--policy", p, "--repo", "not-a-repo"],
            "is not OWNER/REPO",
        ),
        (
            vec!["--policy", p, "--repo", "o/r", "--frobnicate"],
            "unknown argument",
        ),
    ];
    for (args, expected) in cases {
        let run = check_trust(&args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(expected),
            "{args:?}: {expected:?} in {}",
            run.stderr
        );
    }
}

#[test]
fn help_exits_0() {
    let run = check_trust(&["--help"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .contains("Exit status: 0 allowed, 1 denied, 2 bad input"),
        "{}",
        run.stdout
    );
}

/// The command the action prints after an AccessDenied, run as printed,
/// reproduces the denial and then the success once the policy is fixed.
#[test]
fn the_access_denied_explanation_ends_with_a_working_check_trust_command() {
    use keyless_aws::error::{StsCode, StsFailure, StsOperation};
    use keyless_aws::explain::{explain, Context, GITHUB_ISSUER};
    use keyless_aws::jwt::Claims;
    let claims = Claims {
        sub: Some("repo:octo-org/octo-repo:environment:production".into()),
        aud: vec!["sts.amazonaws.com".into()],
        iss: Some(GITHUB_ISSUER.into()),
        repository: Some("octo-org/octo-repo".into()),
        git_ref: Some("refs/heads/main".into()),
        environment: Some("production".into()),
        event_name: Some("workflow_dispatch".into()),
        ..Default::default()
    };
    let failure = StsFailure {
        operation: StsOperation::AssumeRoleWithWebIdentity,
        role_arn: Some("arn:aws:iam::123456789012:role/deploy".into()),
        code: StsCode::parse("AccessDenied"),
        code_text: "AccessDenied".into(),
        message: "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
        request_id: None,
        http_status: Some(403),
        transport: None,
    };
    let ctx = Context {
        claims: Some(&claims),
        audience: Some("sts.amazonaws.com"),
        region: "eu-west-1",
        ..Default::default()
    };
    let (_, fix) = explain(&failure, &ctx);
    let line = fix.lines().last().unwrap().trim();
    assert!(
        line.starts_with("keyless-aws check-trust --policy trust.json --repo octo-org/octo-repo"),
        "{fix}"
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "trust.json",
        &trust_policy(
            "StringEquals",
            "repo:octo-org/octo-repo:ref:refs/heads/main",
        ),
    );
    let run_line = || {
        let args: Vec<&str> = line
            .split_whitespace()
            .skip(2)
            .map(|w| {
                if w == "trust.json" {
                    policy.to_str().unwrap()
                } else {
                    w
                }
            })
            .collect();
        check_trust(&args)
    };
    let denied = run_line();
    assert_eq!(denied.code, 1, "{line}\n{}{}", denied.stdout, denied.stderr);
    assert!(
        denied
            .stdout
            .contains("add \"repo:octo-org/octo-repo:environment:production\""),
        "{}",
        denied.stdout
    );
    std::fs::write(
        &policy,
        trust_policy(
            "StringEquals",
            "repo:octo-org/octo-repo:environment:production",
        ),
    )
    .unwrap();
    let allowed = run_line();
    assert_eq!(
        allowed.code, 0,
        "{line}\n{}{}",
        allowed.stdout, allowed.stderr
    );
}

/// Inputs found by a review to slip through as verdicts: each is bad input
/// (exit 2) with a message that says what is wrong, and nothing on stdout.
#[test]
fn reviewed_bad_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "trust.json",
        &trust_policy(
            "StringEquals",
            "repo:octo-org/octo-repo:ref:refs/heads/main",
        ),
    );
    let good = good.to_str().unwrap();
    let short_account = write(
        dir.path(),
        "short.json",
        &trust_policy("StringEquals", "x").replace("123456789012", "12345"),
    );
    let bad_iss = write(
        dir.path(),
        "claims.json",
        r#"{"iss":"token.actions.githubusercontent.com","sub":"x"}"#,
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--policy", "/dev/zero", "--repo", "octo-org/octo-repo"],
            "larger than",
        ),
        (
            vec!["--policy", good, "--policy", good, "--repo", "o/r"],
            "given twice",
        ),
        (
            vec!["--policy", good, "--repo", "octo-org/octo-repo:x"],
            "not OWNER/REPO",
        ),
        (
            vec!["--policy", good, "--repo", "o/r", "--environment", ""],
            "--environment",
        ),
        (
            vec!["--policy", short_account.to_str().unwrap(), "--repo", "o/r"],
            "12-digit",
        ),
        (
            vec!["--policy", good, "--claims", bad_iss.to_str().unwrap()],
            "not an issuer URL",
        ),
        (
            vec![
                "--policy",
                good,
                "--repo",
                "o/r",
                "--context",
                "token.actions.githubusercontent.com:sub=repo:x/y:ref:refs/heads/main",
            ],
            "names a claim",
        ),
    ];
    for (args, expected) in cases {
        let run = check_trust(&args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
}

/// pull_request_target runs carry the pull_request subject: a Deny on
/// `*:pull_request` refuses them (exit 1), naming the Deny.
#[test]
fn pull_request_target_is_denied_by_a_pull_request_deny() {
    let dir = tempfile::tempdir().unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{GH}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}},"StringLike":{{"token.actions.githubusercontent.com:sub":"repo:octo-org/octo-repo:*"}}}}}},{{"Sid":"NoPRs","Effect":"Deny","Principal":{{"Federated":"{GH}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringLike":{{"token.actions.githubusercontent.com:sub":"*:pull_request"}}}}}}]}}"#
    );
    let policy = write(dir.path(), "trust.json", &policy);
    let run = check_trust(&[
        "--policy",
        policy.to_str().unwrap(),
        "--repo",
        "octo-org/octo-repo",
        "--event",
        "pull_request_target",
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("explicit Deny") && run.stdout.contains("Sid \"NoPRs\""),
        "{}",
        run.stdout
    );
}

/// A trust policy whose statements never cover sts:AssumeRoleWithWebIdentity
/// is one IAM saves and then denies every token with: a denial (exit 1) with
/// the reason and the edit, not bad input (issue 23.1).
#[test]
fn wrong_action_policies_deny_with_exit_1_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cond = r#""Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:octo-org/octo-repo:ref:refs/heads/main"}}"#;
    let statement = |action: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{GH}"}},{action},{cond}}}]}}"#
        )
    };
    let cases = [
        ("assume_role", statement(r#""Action":"sts:AssumeRole""#)),
        ("tag_session", statement(r#""Action":["sts:TagSession"]"#)),
        (
            "not_action",
            statement(r#""NotAction":["sts:AssumeRoleWith*"]"#),
        ),
        (
            "iam_principal",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#.to_owned(),
        ),
    ];
    for (name, policy) in cases {
        let path = write(dir.path(), &format!("{name}.json"), &policy);
        let run = check_trust(&[
            "--policy",
            path.to_str().unwrap(),
            "--repo",
            "octo-org/octo-repo",
        ]);
        assert_eq!(run.code, 1, "{name}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.is_empty(), "{name}: {}", run.stderr);
        assert!(
            run.stdout
                .contains("No Allow statement covers sts:AssumeRoleWithWebIdentity"),
            "{name}: {}",
            run.stdout
        );
        insta::assert_snapshot!(format!("check_trust_wrong_action_{name}"), run.stdout);
    }
}

/// One statement for GitHub's provider with this Condition, under `version`
/// (None: no Version element).
fn policy_with(version: Option<&str>, effect_conditions: &[(&str, &str)]) -> String {
    let statements: Vec<String> = effect_conditions
        .iter()
        .map(|(effect, condition)| {
            format!(
                r#"{{"Effect":"{effect}","Principal":{{"Federated":"{GH}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{condition}}}"#
            )
        })
        .collect();
    let version = version.map_or(String::new(), |v| format!(r#""Version":"{v}","#));
    format!(r#"{{{version}"Statement":[{}]}}"#, statements.join(","))
}

/// The wordings issue 23.2 fixed, and the ID-based `sub` cases of 23.3, each
/// pinned by a snapshot of what check-trust prints.
#[test]
fn verdict_wordings_are_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let aud = r#""token.actions.githubusercontent.com:aud":"sts.amazonaws.com""#;
    let id_claims = r#"{"iss":"https://token.actions.githubusercontent.com","aud":"sts.amazonaws.com","sub":"repo:octo-org@1234/octo-repo@5678:ref:refs/heads/main","repository":"octo-org/octo-repo","repository_owner_id":"1234","repository_id":"5678","ref":"refs/heads/main"}"#;
    let name_claims = r#"{"iss":"https://token.actions.githubusercontent.com","aud":"sts.amazonaws.com","sub":"repo:octo-org/octo-repo:ref:refs/heads/main","repository":"octo-org/octo-repo","repository_owner_id":"1234","repository_id":"5678","ref":"refs/heads/main"}"#;
    let like = format!(
        r#"{{"StringEquals":{{{aud}}},"StringLike":{{"token.actions.githubusercontent.com:sub":["repo:octo-org/octo-repo:ref:refs/tags/*","repo:octo-org/other:*"]}}}}"#
    );
    let variables = format!(
        r#"{{"StringEquals":{{{aud}}},"StringLike":{{"token.actions.githubusercontent.com:sub":"repo:${{token.actions.githubusercontent.com:repository}}:*"}}}}"#
    );
    let allow_repo = format!(
        r#"{{"StringEquals":{{{aud}}},"StringLike":{{"token.actions.githubusercontent.com:sub":"repo:octo-org/octo-repo:*"}}}}"#
    );
    let unexposed_deny =
        r#"{"StringNotEquals":{"token.actions.githubusercontent.com:event_name":"push"}}"#;
    let case_keys = format!(
        r#"{{"StringEquals":{{{aud},"token.actions.githubusercontent.com:Sub":"repo:octo-org/octo-repo:ref:refs/heads/main"}},"StringLike":{{"token.actions.githubusercontent.com:sub":"repo:octo-org/*"}}}}"#
    );
    let id_policy = format!(
        r#"{{"StringEquals":{{{aud},"token.actions.githubusercontent.com:sub":"repo:octo-org@1234/octo-repo@5678:ref:refs/heads/main"}}}}"#
    );
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "string_like_patterns",
            policy_with(Some("2012-10-17"), &[("Allow", &like)]),
            name_claims,
        ),
        (
            "version_2008_variables",
            policy_with(None, &[("Allow", &variables)]),
            name_claims,
        ),
        (
            "deny_on_unexposed_key",
            policy_with(
                Some("2012-10-17"),
                &[("Allow", &allow_repo), ("Deny", unexposed_deny)],
            ),
            name_claims,
        ),
        (
            "keys_differing_in_case",
            policy_with(Some("2012-10-17"), &[("Allow", &case_keys)]),
            name_claims,
        ),
        (
            "id_token_name_policy",
            policy_with(Some("2012-10-17"), &[("Allow", &allow_repo)]),
            id_claims,
        ),
        (
            "name_token_id_policy",
            policy_with(Some("2012-10-17"), &[("Allow", &id_policy)]),
            name_claims,
        ),
    ];
    for (name, policy, claims) in cases {
        let p = write(dir.path(), &format!("{name}.json"), &policy);
        let c = write(dir.path(), &format!("{name}.claims.json"), claims);
        let run = check_trust(&[
            "--policy",
            p.to_str().unwrap(),
            "--claims",
            c.to_str().unwrap(),
        ]);
        assert!(
            run.code == 0 || run.code == 1,
            "{name}: {}{}",
            run.stdout,
            run.stderr
        );
        insta::assert_snapshot!(format!("check_trust_wording_{name}"), run.stdout);
    }
}

/// The provider ARN's account against the role's (issue 23.5): with
/// --role-arn, a policy naming another account's provider denies, explained;
/// the same policy for a role in the provider's account admits.
#[test]
fn a_provider_of_another_account_denies() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "trust.json",
        &trust_policy(
            "StringEquals",
            "repo:octo-org/octo-repo:ref:refs/heads/main",
        ),
    );
    let p = policy.to_str().unwrap();
    let base = ["--policy", p, "--repo", "octo-org/octo-repo", "--role-arn"];
    let same = check_trust(&[&base[..], &["arn:aws:iam::123456789012:role/deploy"]].concat());
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);
    let other = check_trust(&[&base[..], &["arn:aws:iam::210987654321:role/deploy"]].concat());
    assert_eq!(other.code, 1, "{}{}", other.stdout, other.stderr);
    insta::assert_snapshot!("check_trust_provider_of_another_account", other.stdout);
}

/// `check-trust --role-arn` against moto's IAM, with moto enforcing IAM
/// policies after the set-up calls (issue 23.4): a role whose policy and
/// provider admit the token; a provider that lacks the token's audience; a
/// provider that does not exist; a caller without iam:GetRole.
#[test]
#[ignore = "needs moto: run by scripts/test.sh"]
fn live_check_reads_the_role_and_its_provider_from_iam() {
    use crate::support::moto::Moto;
    use crate::support::{repo_root, require, Tool, LOCALHOST};
    use std::process::Command;
    require(&[Tool::Moto]);
    let moto = Moto::start_with(LOCALHOST, &[("INITIAL_NO_AUTH_ACTION_COUNT", "12")]);
    let setup = Command::new("python3")
        .arg(repo_root().join("tests/it/fixtures/moto_trust.py"))
        .arg(moto.url())
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let keys: serde_json::Value = serde_json::from_slice(&setup.stdout).unwrap();
    let live = |user: &str, role: &str, extra: &[&str]| {
        Subcommand::new("check-trust")
            .args(&[
                "--role-arn",
                &format!("arn:aws:iam::123456789012:role/{role}"),
            ])
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", keys[user]["id"].as_str().unwrap())
            .env(
                "AWS_SECRET_ACCESS_KEY",
                keys[user]["secret"].as_str().unwrap(),
            )
            .env("AWS_ENDPOINT_URL", &moto.url())
            .env("AWS_REGION", "us-east-1")
            .env("HOME", "/nonexistent")
            .run()
    };
    let repo = ["--repo", "octo-org/octo-repo"];
    let redact = |s: &str| s.replace(&moto.url(), "[MOTO]");
    let admits = live("checker", "admits", &repo);
    assert_eq!(admits.code, 0, "{}{}", admits.stdout, admits.stderr);
    insta::assert_snapshot!("check_trust_live_admits", redact(&admits.stdout));
    let claims = r#"{"iss":"https://token.actions.githubusercontent.com/other-enterprise","aud":"sts.amazonaws.com","sub":"repo:octo-org/octo-repo:ref:refs/heads/main"}"#;
    let dir = tempfile::tempdir().unwrap();
    let c = write(dir.path(), "claims.json", claims);
    let audience = live(
        "checker",
        "wrong-audience",
        &["--claims", c.to_str().unwrap()],
    );
    assert_eq!(audience.code, 1, "{}{}", audience.stdout, audience.stderr);
    insta::assert_snapshot!("check_trust_live_wrong_audience", redact(&audience.stdout));
    let c = write(
        dir.path(),
        "missing.json",
        &claims.replace("other-enterprise", "missing-enterprise"),
    );
    let missing = live("checker", "no-provider", &["--claims", c.to_str().unwrap()]);
    assert_eq!(missing.code, 1, "{}{}", missing.stdout, missing.stderr);
    insta::assert_snapshot!("check_trust_live_no_provider", redact(&missing.stdout));
    let blind = live("blind", "admits", &repo);
    assert_eq!(blind.code, 2, "{}{}", blind.stdout, blind.stderr);
    assert!(blind.stdout.is_empty(), "{}", blind.stdout);
    insta::assert_snapshot!("check_trust_live_without_get_role", redact(&blind.stderr));
}
