//! The binary run as the runner runs it, against the in-process stand-in of the token
//! endpoint and STS, which lets each test inject exactly the fault it needs.

use crate::support::scenario::{ENV_BEFORE, OUTPUT_BEFORE};
use crate::support::stand_in::{signing_key, ASSUME_ROLE, WEB_IDENTITY};
use crate::support::*;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

const MAIN: &str = "repo:o/r:ref:refs/heads/main";
const INPUT_KEY: &str = "AKIAINPUTKEY00000001";
const INPUT_SECRET: &str = "inputSecretKey0000000000000000000000000000";

/// Token endpoint and STS that succeed; returns the token it hands out.
fn happy(sub: &str) -> (StsStandIn, String) {
    let token = jwt(&github_claims(sub));
    (StsStandIn::new().token(&token).assume(WEB_IDENTITY), token)
}

/// A stand-in whose token endpoint answers; each test adds its own STS behaviour.
fn token_only() -> StsStandIn {
    StsStandIn::new().github_token(MAIN)
}

/// STS answering AssumeRole and GetCallerIdentity successfully.
fn assume_role_sts() -> StsStandIn {
    StsStandIn::new()
        .assume(ASSUME_ROLE)
        .caller("123456789012", "arn:aws:iam::123456789012:user/ci")
}

/// A step with input keys, signing against `sts`.
fn keys_step(sts: &StsStandIn) -> Scenario {
    Scenario::new()
        .input("aws-access-key-id", INPUT_KEY)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("aws-region", "us-east-1")
        .stand_in(sts)
}

/// A step chaining from the credentials an earlier step left in the environment.
fn chained_step(sts: &StsStandIn) -> Scenario {
    Scenario::new()
        .env("AWS_ACCESS_KEY_ID", "ASIACHAINED000000001")
        .env("AWS_SECRET_ACCESS_KEY", "chainedsecret")
        .env("AWS_SESSION_TOKEN", "chainedtoken")
        .input("role-chaining", "true")
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .stand_in(sts)
}

#[test]
fn oidc_path_masks_then_exports_exactly_what_sts_issued() {
    let (sts, token) = happy("repo:octo-org/octo-repo:ref:refs/heads/main");
    let out = Scenario::oidc_step(&sts)
        .input("role-duration-seconds", "1800")
        .input("role-session-name", "deploy-42")
        .run();
    out.assert_success();

    // The requests: audience on the runner's URL, then the role, session and duration.
    let token_req = out
        .requests
        .iter()
        .find(|r| r.method.as_str() == "GET")
        .unwrap();
    let query: Vec<(String, String)> = token_req.url.query_pairs().into_owned().collect();
    assert_eq!(
        query,
        [
            ("api-version".to_owned(), "2.0".to_owned()),
            ("audience".to_owned(), "sts.amazonaws.com".to_owned())
        ]
    );
    let calls = out.sts_calls();
    assert_eq!(
        calls.len(),
        1,
        "no extra STS round trip (no GetCallerIdentity)"
    );
    assert_eq!(calls[0]["RoleArn"], ROLE);
    assert_eq!(calls[0]["RoleSessionName"], "deploy-42");
    assert_eq!(calls[0]["DurationSeconds"], "1800");
    assert_eq!(calls[0]["WebIdentityToken"], token);
    assert!(
        !calls[0].keys().any(|k| k.starts_with("Tags")),
        "web identity never carries tags"
    );

    let env = out.exported_env();
    assert_eq!(env["AWS_ACCESS_KEY_ID"], ACCESS_KEY_ID);
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], SECRET_KEY);
    assert_eq!(env["AWS_SESSION_TOKEN"], SESSION_TOKEN);
    assert_eq!(env["AWS_REGION"], "eu-west-1");
    assert_eq!(env["AWS_DEFAULT_REGION"], "eu-west-1");
    let outputs = out.outputs();
    assert_eq!(outputs["aws-account-id"], "123456789012");
    assert_eq!(outputs["authenticated-arn"], ASSUMED_ARN);
    assert!(
        !outputs.contains_key("aws-secret-access-key"),
        "credentials are outputs only on request"
    );

    // Masks come first: the request token and JWT, then the three credentials.
    let masks: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::add-mask::"))
        .collect();
    assert_eq!(
        masks,
        [
            format!("::add-mask::{REQUEST_TOKEN}"),
            format!("::add-mask::{token}"),
            format!("::add-mask::{ACCESS_KEY_ID}"),
            format!("::add-mask::{SECRET_KEY}"),
            format!("::add-mask::{SESSION_TOKEN}")
        ]
    );
    out.assert_masked_and_not_leaked(&[
        ACCESS_KEY_ID,
        SECRET_KEY,
        SESSION_TOKEN,
        &token,
        REQUEST_TOKEN,
    ]);
    assert!(
        out.summary.contains("assumed-role/deploy/GitHubActions")
            && out.summary.contains("2030-01-01")
    );
}

#[test]
fn audience_is_added_to_the_query_encoded() {
    let (sts, _) = happy(MAIN);
    let out = Scenario::oidc_step(&sts)
        .input("audience", "api://my app&x=1")
        .run();
    out.assert_success();
    let get = out
        .requests
        .iter()
        .find(|r| r.method.as_str() == "GET")
        .unwrap();
    assert!(
        get.url
            .query()
            .unwrap()
            .ends_with("&audience=api%3A%2F%2Fmy+app%26x%3D1"),
        "{}",
        get.url
    );
}

#[test]
fn bad_inputs_fail_before_any_request_and_change_nothing() {
    let sts = StsStandIn::new();
    let cases: &[(&str, &str, &str)] = &[
        ("role-duration-seconds", "abc", "role-duration-seconds"),
        ("role-duration-seconds", "899", "900"),
        ("role-duration-seconds", "43201", "43200"),
        ("role-session-name", "has space", "role-session-name"),
        ("role-session-name", "a", "role-session-name"),
        ("aws-region", "US_EAST_1", "aws-region"),
        (
            "role-to-assume",
            "arn:aws:iam::123:role/x",
            "role-to-assume",
        ),
        ("role-to-assume", "arn:aws:s3:::bucket", "role-to-assume"),
        ("mask-aws-account-id", "yes", "mask-aws-account-id"),
        ("output-env-credentials", "fasle", "output-env-credentials"),
        ("retry-max-attempts", "many", "retry-max-attempts"),
        ("custom-tags", "{not json", "custom-tags"),
        ("inline-session-policy", "{", "inline-session-policy"),
        // allowed-account-ids `12345` is compared as text with a warning (tests/it/dropin.rs 10f).
        ("sts-endpoint", "not a url", "sts-endpoint"),
        ("action-timeout-s", "soon", "action-timeout-s"),
    ];
    for (input, value, expected) in cases {
        let out = Scenario::oidc_step(&sts).input(input, value).run();
        out.assert_failed_cleanly();
        let error = out.error_line();
        assert!(
            error.starts_with("::error title=Invalid input::Input `"),
            "{input}: {error}"
        );
        assert!(
            error.contains(input) && error.contains(expected),
            "{input}={value}: {error}"
        );
        assert!(out.stdout.contains("::group::"), "a fix is shown");
    }
    assert!(sts.requests().is_empty(), "no request for bad input");
}

#[test]
fn partition_of_the_role_must_match_the_region() {
    let sts = StsStandIn::new();
    let out = Scenario::oidc_step(&sts)
        .input("aws-region", "cn-north-1")
        .run();
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("aws-cn"), "{}", out.error_line());
    let (sts, _) = happy(MAIN);
    let out = Scenario::oidc_step(&sts)
        .input("aws-region", "cn-north-1")
        .input("role-to-assume", "arn:aws-cn:iam::123456789012:role/deploy")
        .run();
    out.assert_success();
}

#[test]
fn missing_id_token_permission_fails_at_once_with_the_reasons() {
    let out = Scenario::new()
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .run();
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("No OIDC token available"));
    for reason in ["id-token: write", "fork", "Dependabot", "reusable workflow"] {
        assert!(
            out.stdout.contains(reason),
            "{reason} missing:\n{}",
            out.stdout
        );
    }
    assert!(out.elapsed.as_secs_f64() < 5.0);
    assert!(out.summary.contains("Nothing was exported"));

    let out = Scenario::new()
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .env("ACT", "true")
        .run();
    out.assert_failed_cleanly();
    assert!(out.stdout.contains("act has no OIDC") || out.error_line().contains("act has no OIDC"));
    assert!(out.stdout.contains("ACTIONS_ID_TOKEN_REQUEST_URL"));
}

#[test]
fn access_denied_shows_the_claims_and_the_condition_that_would_match() {
    let sub = "repo:octo-org/octo-repo:environment:production";
    let mut claims = github_claims(sub);
    claims["environment"] = "production".into();
    let sts = StsStandIn::new().token(&jwt(&claims)).sts_answer(
        ResponseTemplate::new(403)
            .insert_header("x-amzn-requestid", "req-err-42")
            .set_body_string(sts_error_xml(
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                ERROR_REQUEST_ID,
            )),
    );
    let out = Scenario::oidc_step(&sts).run();
    out.assert_failed_cleanly();
    assert_eq!(out.sts_calls().len(), 1, "AccessDenied is never retried");
    assert!(
        out.error_line()
            .contains("AssumeRoleWithWebIdentity failed with AccessDenied"),
        "{}",
        out.error_line()
    );
    for expected in [ROLE, "req-err-42", sub, "\"token.actions.githubusercontent.com:sub\": \"repo:octo-org/octo-repo:environment:production\"", "environment `production`", "\"token.actions.githubusercontent.com:aud\": \"sts.amazonaws.com\""] {
        assert!(out.stdout.contains(expected), "missing {expected:?}:\n{}", out.stdout);
    }
    assert!(out.summary.contains("AccessDenied"));
    assert!(out.elapsed.as_secs_f64() < 5.0);
}

#[test]
fn missing_provider_and_wrong_audience_are_explained() {
    for (message, expected) in [("No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com", "aws iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com"), ("Incorrect token audience", "add-client-id-to-open-id-connect-provider")] {
        let sts = token_only().sts_error(400, "InvalidIdentityToken", message);
        let out = Scenario::oidc_step(&sts).run();
        out.assert_failed_cleanly();
        assert_eq!(out.sts_calls().len(), 1, "InvalidIdentityToken is not retried");
        assert!(out.stdout.contains(expected), "{expected}:\n{}", out.stdout);
    }
}

#[test]
fn throttling_and_5xx_are_retried_then_succeed() {
    let (sts, _) = happy(MAIN);
    let sts = sts
        .first(
            1,
            "POST",
            ResponseTemplate::new(400).set_body_string(sts_error_xml(
                "Throttling",
                "Rate exceeded",
                ERROR_REQUEST_ID,
            )),
        )
        .first(
            1,
            "POST",
            ResponseTemplate::new(503).set_body_string("busy"),
        );
    let out = Scenario::oidc_step(&sts).run();
    out.assert_success();
    assert_eq!(out.sts_calls().len(), 3);
}

/// `disable-retry` and `retry-max-attempts: 1` switch off the action's own
/// loop only: the SDK's standard 3 attempts remain, as they remain under the
/// reference's loop (its STSClient keeps the SDK's default retry strategy).
#[test]
fn retry_attempts_are_exact_and_disable_retry_leaves_the_sdks_three() {
    for (input, value, expected) in [
        ("retry-max-attempts", "5", 5),
        ("disable-retry", "true", 3),
        ("retry-max-attempts", "1", 3),
    ] {
        let sts = token_only().sts_error(500, "InternalFailure", "oops");
        let out = Scenario::oidc_step(&sts).input(input, value).run();
        out.assert_failed_cleanly();
        assert_eq!(out.sts_calls().len(), expected, "{input}: {value}");
    }
}

#[test]
fn unreachable_sts_fails_within_the_retry_cap() {
    let (sts, _) = happy(MAIN);
    let out = Scenario::oidc_step(&sts)
        .input("sts-endpoint", &closed_url())
        .input("retry-max-attempts", "3")
        .run();
    out.assert_failed_cleanly();
    assert!(out.stdout.contains("no answer"), "{}", out.stdout);
    assert!(out.elapsed.as_secs() < 20, "{:?}", out.elapsed);
}

#[test]
fn token_endpoint_5xx_is_retried_and_4xx_is_not() {
    let (sts, _) = happy(MAIN);
    let sts = sts.first(1, "GET", ResponseTemplate::new(502));
    Scenario::oidc_step(&sts).run().assert_success();

    let sts = StsStandIn::new().token_status(403);
    let out = Scenario::oidc_step(&sts).run();
    out.assert_failed_cleanly();
    assert_eq!(out.requests.len(), 1);
    assert!(out.error_line().contains("OIDC token request failed"));
}

#[test]
fn slow_sts_hits_action_timeout_and_exports_nothing() {
    let sts = token_only()
        .sts_answer(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(6)));
    let out = Scenario::oidc_step(&sts)
        .input("action-timeout-s", "1")
        .run();
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("action-timeout-s"));
    assert!(out.elapsed.as_secs_f64() < 4.0, "{:?}", out.elapsed);
}

#[test]
fn sts_error_text_cannot_inject_workflow_commands() {
    let sts = StsStandIn::new()
        .github_token("repo:o/r:ref:refs/heads/main\n::set-env name=EVIL::1")
        .sts_error(
            403,
            "AccessDenied",
            "denied\n::set-env name=EVIL::1\r::add-mask::x",
        );
    let out = Scenario::oidc_step(&sts).run();
    out.assert_failed_cleanly();
    for line in out.stdout.lines().chain(out.stderr.lines()) {
        if let Some(rest) = line.strip_prefix("::") {
            let command = rest.split([':', ' ']).next().unwrap();
            assert!(
                ["add-mask", "error", "group", "endgroup"].contains(&command),
                "unexpected command line: {line}"
            );
        }
        assert!(
            !line.starts_with("::set-env") && !line.starts_with("::add-mask::x"),
            "{line}"
        );
    }
}

#[test]
fn allowed_account_ids_mismatch_exports_nothing() {
    let (sts, _) = happy(MAIN);
    let out = Scenario::oidc_step(&sts)
        .input("allowed-account-ids", "111111111111, 222222222222")
        .run();
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("123456789012"));
    let out = Scenario::oidc_step(&sts)
        .input("allowed-account-ids", "111111111111,123456789012")
        .run();
    out.assert_success();
}

#[test]
fn output_credentials_and_mask_account_id() {
    let (sts, _) = happy(MAIN);
    let out = Scenario::oidc_step(&sts)
        .input("output-credentials", "true")
        .input("mask-aws-account-id", "true")
        .input("output-env-credentials", "false")
        .run();
    out.assert_success();
    let outputs = out.outputs();
    assert_eq!(outputs["aws-access-key-id"], ACCESS_KEY_ID);
    assert_eq!(outputs["aws-secret-access-key"], SECRET_KEY);
    assert_eq!(outputs["aws-session-token"], SESSION_TOKEN);
    assert_eq!(
        outputs["aws-expiration"], "2030-01-01T00:00:00Z",
        "plain ISO-8601, no quotes"
    );
    let env = out.exported_env();
    assert!(
        !env.contains_key("AWS_ACCESS_KEY_ID"),
        "output-env-credentials: false"
    );
    assert!(!env.contains_key("AWS_REGION"));
    assert!(out.stdout.contains("::add-mask::123456789012"));
    assert!(!out.summary.contains("123456789012"));
}

#[test]
fn keys_assume_role_signed_with_exactly_the_given_keys_and_tagged() {
    let sts = assume_role_sts();
    let out = keys_step(&sts)
        .input("role-to-assume", ROLE)
        .input("role-external-id", "ext-123")
        .input("custom-tags", r#"{"Team":"platform"}"#)
        .input("transitive-tag-keys", "Repository,Team")
        // Ambient credentials that must NOT be used to sign.
        .env("AWS_ACCESS_KEY_ID", "AKIAAMBIENTRUNNER001")
        .env("AWS_SECRET_ACCESS_KEY", "ambient")
        .env("GITHUB_REPOSITORY", "octo-org/octo-repo")
        .env("GITHUB_SHA", "abc123")
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_RUN_ID", "42")
        .run();
    out.assert_success();
    assert_eq!(out.requests.len(), 1);
    assert_eq!(signing_key(&out.requests[0]), INPUT_KEY);
    let f = &out.sts_calls()[0];
    assert_eq!(f["ExternalId"], "ext-123");
    let tags: std::collections::BTreeMap<&str, &str> = (1..=20)
        .filter_map(|i| {
            Some((
                f.get(&format!("Tags.member.{i}.Key"))?.as_str(),
                f[&format!("Tags.member.{i}.Value")].as_str(),
            ))
        })
        .collect();
    assert_eq!(tags["GitHub"], "Actions");
    assert_eq!(tags["Repository"], "octo-org/octo-repo");
    assert_eq!(tags["Commit"], "abc123");
    assert_eq!(tags["Branch"], "refs/heads/main");
    assert_eq!(tags["RunId"], "42");
    assert_eq!(tags["Team"], "platform");
    assert_eq!(f["TransitiveTagKeys.member.1"], "Repository");
    let env = out.exported_env();
    assert_eq!(
        env["AWS_ACCESS_KEY_ID"], ACCESS_KEY_ID,
        "the assumed credentials, not the input keys"
    );
    assert!(!out.env_file.contains(INPUT_SECRET) && !out.output_file.contains(INPUT_SECRET));
    out.assert_masked_and_not_leaked(&[INPUT_KEY, INPUT_SECRET, SECRET_KEY, SESSION_TOKEN]);
    assert!(
        out.stdout
            .lines()
            .position(|l| l == format!("::add-mask::{INPUT_SECRET}"))
            .unwrap()
            < 3,
        "input keys masked first"
    );
}

#[test]
fn oversized_tags_drop_the_optional_ones_once() {
    let sts = assume_role_sts().first(
        1,
        "POST",
        ResponseTemplate::new(400).set_body_string(sts_error_xml(
            "PackedPolicyTooLarge",
            "Packed size of session tags exceeds the limit",
            ERROR_REQUEST_ID,
        )),
    );
    let out = keys_step(&sts)
        .input("role-to-assume", ROLE)
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_RUN_ID", "42")
        .env("GITHUB_JOB", "deploy")
        .run();
    out.assert_success();
    let calls = out.sts_calls();
    assert_eq!(calls.len(), 2);
    assert!(calls[0].values().any(|v| v == "RunId"));
    assert!(!calls[1].values().any(|v| v == "RunId" || v == "Job"));
    assert!(calls[1].values().any(|v| v == "Repository"));
}

#[test]
fn tag_session_denied_is_explained() {
    let sts = StsStandIn::new().sts_error(
        403,
        "AccessDenied",
        "User is not authorized to perform: sts:TagSession",
    );
    let out = keys_step(&sts).input("role-to-assume", ROLE).run();
    out.assert_failed_cleanly();
    assert!(
        out.stdout.contains("sts:TagSession")
            && out.stdout.contains("role-skip-session-tagging: true")
    );
    assert!(
        !out.env_file.contains(INPUT_KEY),
        "input keys never exported, even on failure"
    );

    let out = keys_step(&sts)
        .input("role-to-assume", ROLE)
        .input("role-skip-session-tagging", "true")
        .run();
    out.assert_failed_cleanly();
    assert!(
        !out.sts_calls()
            .last()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("Tags")),
        "no tags when skipped"
    );
}

#[test]
fn duration_over_the_role_maximum_is_explained() {
    let sts = StsStandIn::new().sts_error(
        400,
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
    let out = chained_step(&sts)
        .input("role-duration-seconds", "7200")
        .run();
    out.assert_failed_cleanly();
    assert_eq!(out.sts_calls().len(), 1);
    assert!(
        out.stdout.contains("update-role") && out.stdout.contains("3600"),
        "{}",
        out.stdout
    );
}

#[test]
fn role_chaining_signs_with_the_environment_credentials() {
    let sts = assume_role_sts();
    let out = chained_step(&sts).run();
    out.assert_success();
    assert_eq!(signing_key(&out.requests[0]), "ASIACHAINED000000001");
    assert_eq!(
        out.requests[0].headers.get("x-amz-security-token").unwrap(),
        "chainedtoken"
    );
    assert_eq!(out.exported_env()["AWS_ACCESS_KEY_ID"], ACCESS_KEY_ID);
    out.assert_masked_and_not_leaked(&["chainedsecret", "chainedtoken", SECRET_KEY]);
}

#[test]
fn bare_role_name_takes_partition_and_account_from_the_caller() {
    let sts = StsStandIn::new()
        .caller("210987654321", "arn:aws-us-gov:iam::210987654321:user/ci")
        .assume_as(
            ASSUME_ROLE,
            &Creds::standard(),
            "arn:aws-us-gov:sts::210987654321:assumed-role/deploy/GitHubActions",
        );
    let out = keys_step(&sts)
        .input("role-to-assume", "deploy")
        .input("aws-region", "us-gov-west-1")
        .run();
    out.assert_success();
    assert_eq!(
        out.sts_calls()[1]["RoleArn"],
        "arn:aws-us-gov:iam::210987654321:role/deploy"
    );
    assert_eq!(out.outputs()["aws-account-id"], "210987654321");
}

#[test]
fn plain_keys_are_exported_as_given() {
    let sts = assume_role_sts();
    let out = keys_step(&sts).run();
    out.assert_success();
    let env = out.exported_env();
    assert_eq!(env["AWS_ACCESS_KEY_ID"], INPUT_KEY);
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], INPUT_SECRET);
    assert_eq!(
        env["AWS_SESSION_TOKEN"], "",
        "a stale token from an earlier step is cleared"
    );
    assert_eq!(out.outputs()["aws-account-id"], "123456789012");
}

#[test]
fn use_existing_credentials_keeps_working_ones() {
    let sts = assume_role_sts();
    let out = Scenario::new()
        .env("AWS_ACCESS_KEY_ID", "AKIAEXISTING00000001")
        .env("AWS_SECRET_ACCESS_KEY", "existingsecret")
        .input("use-existing-credentials", "true")
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .stand_in(&sts)
        .oidc("http://127.0.0.1:9")
        .run();
    out.assert_success();
    let calls = out.sts_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["Action"], "GetCallerIdentity");
    assert!(!out.exported_env().contains_key("AWS_ACCESS_KEY_ID"));
}

#[test]
fn web_identity_token_file_relative_to_workspace_and_no_symlinks() {
    let (sts, _) = happy(MAIN);
    let token = jwt(&github_claims("system:serviceaccount:ci:runner"));
    let mut s = Scenario::new()
        .input("web-identity-token-file", "token.jwt")
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .stand_in(&sts)
        .file("workspace/token.jwt", format!("{token}\n"));
    let out = s.run();
    out.assert_success();
    assert_eq!(out.sts_calls()[0]["WebIdentityToken"], token);
    out.assert_masked_and_not_leaked(&[&token, SECRET_KEY]);

    std::fs::rename(s.path("workspace/token.jwt"), s.path("real.jwt")).unwrap();
    std::os::unix::fs::symlink(s.path("real.jwt"), s.path("workspace/token.jwt")).unwrap();
    s.reset_files();
    let out = s.run();
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("symlink"));

    // Without a role the file is ignored, with a warning (as the reference ignores it).
    let out = Scenario::new()
        .input("web-identity-token-file", "t")
        .input("aws-region", "eu-west-1")
        .run();
    out.assert_success();
    assert!(
        out.stdout
            .contains("::warning title=Input `web-identity-token-file`"),
        "{}",
        out.stdout
    );
}

#[test]
fn special_characters_workaround_reissues_until_alphanumeric() {
    let arn = "arn:aws:sts::123456789012:assumed-role/deploy/s";
    let alnum = Creds {
        secret: "alnumSecret0000000000000000000000000000A".into(),
        ..Creds::standard()
    };
    let special = Creds {
        key_id: "ASIAFIRST00000000001".into(),
        secret: "with/slash+plus000000000000000000000000".into(),
        ..Creds::standard()
    };
    let sts = token_only()
        .sts_answer(ResponseTemplate::new(200).set_body_string(sts_assume_xml(
            WEB_IDENTITY,
            &alnum,
            arn,
        )))
        .first(
            1,
            "POST",
            ResponseTemplate::new(200).set_body_string(sts_assume_xml(WEB_IDENTITY, &special, arn)),
        );
    let out = Scenario::oidc_step(&sts)
        .input("special-characters-workaround", "true")
        .run();
    out.assert_success();
    assert_eq!(out.sts_calls().len(), 2);
    assert_eq!(out.exported_env()["AWS_SECRET_ACCESS_KEY"], alnum.secret);
}

#[test]
fn aws_profile_writes_private_files_for_later_steps_and_post_removes_them() {
    let (sts, _) = happy(MAIN);
    let mut s = Scenario::oidc_step(&sts).input("aws-profile", "deploy");
    let out = s.run();
    out.assert_success();
    let env = out.exported_env();
    let creds_path = std::path::PathBuf::from(&env["AWS_SHARED_CREDENTIALS_FILE"]);
    assert!(creds_path.starts_with(s.path("temp")));
    // As the reference action: a profile changes no global variable (no
    // AWS_PROFILE, no keys, no region), so several profiles keep their regions.
    for name in [
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        assert!(!env.contains_key(name), "{name} exported in profile mode");
    }
    let text = std::fs::read_to_string(&creds_path).unwrap();
    assert!(text.contains("[deploy]") && text.contains(SECRET_KEY));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&creds_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let config = std::fs::read_to_string(&env["AWS_CONFIG_FILE"]).unwrap();
    assert!(config.contains("[profile deploy]") && config.contains("region = eu-west-1"));

    // A second run refuses to overwrite the profile.
    s.reset_files();
    let again = s.run();
    again.assert_failed_cleanly();
    assert!(
        again.error_line().contains("already exists")
            && again.stdout.contains("overwrite-aws-profile: true"),
        "{}",
        again.stdout
    );

    // The post step removes the files and clears the variables.
    let mut post = Scenario::new()
        .env("GITHUB_ENV", &s.path("env").to_string_lossy())
        .arg("post");
    for (k, v) in file_commands_map(&out.state) {
        post = post.env(&format!("STATE_{k}"), &v);
    }
    post.run().assert_success();
    assert!(
        !creds_path.exists(),
        "post step removed the credentials file"
    );
    let cleared = file_commands_map(
        std::fs::read_to_string(s.path("env"))
            .unwrap()
            .strip_prefix(ENV_BEFORE)
            .unwrap(),
    );
    // Exactly what the main step exported: the file paths, not the job's keys.
    assert_eq!(cleared["AWS_CONFIG_FILE"], "");
    assert_eq!(cleared["AWS_SHARED_CREDENTIALS_FILE"], "");
    assert!(!cleared.contains_key("AWS_ACCESS_KEY_ID") && !cleared.contains_key("AWS_REGION"));
}

#[test]
fn post_step_is_skipped_on_request_and_idle_without_state() {
    let out = Scenario::new()
        .env("AWS_SKIP_CLEANUP_STEP", "true")
        .env("STATE_exported_env", "AWS_ACCESS_KEY_ID")
        .arg("post")
        .run();
    out.assert_success();
    assert_eq!(out.env_file, ENV_BEFORE);
    let out = Scenario::new().arg("post").run();
    out.assert_success();
    assert_eq!(
        out.env_file, ENV_BEFORE,
        "nothing exported by main, nothing cleared"
    );
    assert_eq!(out.output_file, OUTPUT_BEFORE);
}

#[test]
fn unset_current_credentials_writes_empty_values_first() {
    let (sts, _) = happy(MAIN);
    let out = Scenario::oidc_step(&sts)
        .input("unset-current-credentials", "true")
        .run();
    out.assert_success();
    let text = out.env_file.strip_prefix(ENV_BEFORE).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("AWS_ACCESS_KEY_ID<<"));
    assert_eq!(
        file_commands_map(text)["AWS_ACCESS_KEY_ID"],
        ACCESS_KEY_ID,
        "last value wins"
    );
    assert_eq!(text.lines().nth(1), Some(""), "the first value is empty");
}

#[test]
fn http_proxy_input_carries_both_requests() {
    // The stand-in acts as the proxy: a proxied plain-HTTP request arrives with the
    // absolute URL of the real target, here an address nothing listens on.
    let proxy = StsStandIn::new()
        .any_token(&jwt(&github_claims(MAIN)))
        .assume(WEB_IDENTITY);
    let target = closed_url();
    let out = Scenario::new()
        .oidc(&target)
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", &target)
        .input("http-proxy", &proxy.uri())
        .run();
    out.assert_success();
    assert_eq!(
        proxy.requests().len(),
        2,
        "token and STS both went through the proxy"
    );
}

#[test]
fn setup_subcommand_prints_policy_cli_and_terraform() {
    let out = Subcommand::new("setup")
        .args(&[
            "--repo",
            "octo-org/octo-repo",
            "--environment",
            "production",
        ])
        .expect_code(0)
        .run();
    assert!(out.stdout.contains("\"token.actions.githubusercontent.com:sub\": \"repo:octo-org/octo-repo:environment:production\""));
    assert!(
        out.stdout
            .contains("aws iam create-open-id-connect-provider")
            && out.stdout.contains("resource \"aws_iam_role\"")
    );
}

/// Unused mock helpers would rot; this keeps `Mock` reachable for ad-hoc faults.
#[test]
fn stand_in_mount_takes_any_mock() {
    let sts = StsStandIn::new()
        .mount(Mock::given(method("GET")).respond_with(ResponseTemplate::new(418)));
    let out = Scenario::oidc_step(&sts)
        .input("retry-max-attempts", "1")
        .run();
    out.assert_failed_cleanly();
    assert_eq!(sts.token_requests().len(), 1);
    assert!(
        out.error_line().contains("OIDC token request failed"),
        "{}",
        out.error_line()
    );
}
