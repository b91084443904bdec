//! The same paths against moto's server, a real AWS emulator from PyPI, so the
//! SDK's requests (signing included) are checked by code someone else wrote.

use crate::support::moto::Moto;
use crate::support::*;

#[test]
#[ignore = "needs moto: run by scripts/test.sh"]
fn oidc_against_moto_exports_credentials_moto_accepts() {
    require(&[Tool::Moto]);
    let moto = Moto::start(LOCALHOST);
    let token = jwt(&github_claims(
        "repo:octo-org/octo-repo:ref:refs/heads/main",
    ));
    let token_endpoint = StsStandIn::new().token(&token);

    let s = Scenario::new()
        .oidc(&token_endpoint.uri())
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", &moto.url())
        .input("role-session-name", "moto-run");
    let out = s.run();
    out.assert_success();
    let env = out.exported_env();
    let (akid, secret, session) = (
        env["AWS_ACCESS_KEY_ID"].clone(),
        env["AWS_SECRET_ACCESS_KEY"].clone(),
        env["AWS_SESSION_TOKEN"].clone(),
    );
    assert!(akid.starts_with("ASIA"), "{akid}");
    assert_eq!(
        out.outputs()["authenticated-arn"],
        "arn:aws:sts::123456789012:assumed-role/deploy/moto-run"
    );
    out.assert_masked_and_not_leaked(&[&akid, &secret, &session, &token]);

    // The exported credentials work: a later step signs with them.
    let later = Scenario::new()
        .input("aws-access-key-id", &akid)
        .input("aws-secret-access-key", &secret)
        .input("aws-session-token", &session)
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", &moto.url());
    let out = later.run();
    out.assert_success();
    assert_eq!(out.outputs()["aws-account-id"], "123456789012");
}

#[test]
#[ignore = "needs moto: run by scripts/test.sh"]
fn keys_assume_role_is_authenticated_by_moto() {
    require(&[Tool::Moto]);
    // moto checks signatures and policies after the first few (set-up) calls.
    let moto = Moto::start_with(LOCALHOST, &[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]);
    let setup = std::process::Command::new("python3")
        .arg(repo_root().join("tests/it/fixtures/moto_iam.py"))
        .arg(moto.url())
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let ids: serde_json::Value = serde_json::from_slice(&setup.stdout).unwrap();
    let (key, secret, role) = (
        ids["access_key_id"].as_str().unwrap(),
        ids["secret_access_key"].as_str().unwrap(),
        ids["role_arn"].as_str().unwrap(),
    );

    let step = |secret: &str, external_id: &str| {
        Scenario::new()
            .input("aws-access-key-id", key)
            .input("aws-secret-access-key", secret)
            .input("role-to-assume", role)
            .input("role-external-id", external_id)
            .input("aws-region", "us-east-1")
            .input("sts-endpoint", &moto.url())
            .env("GITHUB_REPOSITORY", "octo-org/octo-repo")
            .env("GITHUB_SHA", "abc123")
            // Ambient credentials must never sign the call: moto would refuse them.
            .env("AWS_ACCESS_KEY_ID", "AKIAAMBIENT000000001")
            .env("AWS_SECRET_ACCESS_KEY", "ambient")
    };
    let out = step(secret, "ext-123").run();
    out.assert_success();
    assert_eq!(
        out.outputs()["authenticated-arn"],
        "arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions"
    );
    assert!(
        !out.env_file.contains(secret),
        "input keys are never exported"
    );
    out.assert_masked_and_not_leaked(&[secret]);

    let out = step(secret, "wrong-id").run();
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("AccessDenied"), "{}", out.stdout);

    let out = step("not-the-secret-key-at-all-000000000000000", "ext-123").run();
    out.assert_failed_cleanly();
    assert!(
        out.error_line().contains("SignatureDoesNotMatch"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("aws-secret-access-key"));
}
