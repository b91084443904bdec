//! `keyless-aws check-trust` as a user runs it: files on disk, the real
//! binary, exit status 0 (allowed), 1 (denied), 2 (bad input).

use std::path::{Path, PathBuf};
use std::process::Command;

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

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check_trust(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_keyless-aws"))
        .arg("check-trust")
        .args(args)
        .env_clear()
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
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
    let other_action = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
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
        (
            "assume-role.json",
            other_action,
            "not a trust policy for OIDC",
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
