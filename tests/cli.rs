//! The binary run as the runner runs it, against in-process mocks of the token
//! endpoint and STS that let each test inject exactly the fault it needs.

mod support;

use support::*;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

async fn run(s: Scenario) -> (Outcome, Scenario) {
    tokio::task::spawn_blocking(move || (s.run(), s))
        .await
        .unwrap()
}

fn form(req: &Request) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

async fn sts_requests(server: &MockServer) -> Vec<std::collections::HashMap<String, String>> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(form)
        .collect()
}

/// Token endpoint and STS that succeed, on one mock server.
async fn happy_server(sub: &str) -> (MockServer, String) {
    let server = MockServer::start().await;
    let token = jwt(&github_claims(sub));
    Mock::given(method("GET"))
        .and(path("/_apis/token"))
        .and(query_param("api-version", "2.0"))
        .and(header(
            "authorization",
            format!("bearer {REQUEST_TOKEN}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": token })),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=AssumeRoleWithWebIdentity"))
        .respond_with(ResponseTemplate::new(200).set_body_string(sts_assume_xml(
            "AssumeRoleWithWebIdentity",
            ACCESS_KEY_ID,
            SECRET_KEY,
            SESSION_TOKEN,
            "arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions",
        )))
        .mount(&server)
        .await;
    (server, token)
}

/// A mock whose token endpoint answers; each test mounts its own STS behaviour.
async fn token_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({ "value": jwt(&github_claims("repo:o/r:ref:refs/heads/main")) }),
        ))
        .mount(&server)
        .await;
    server
}

/// Every STS call on `server` fails with this error.
async fn sts_answers_error(server: &MockServer, status: u16, code: &str, message: &str) {
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_string(sts_error_xml(code, message)))
        .mount(server)
        .await;
}

fn oidc_step(server: &MockServer) -> Scenario {
    Scenario::new()
        .oidc(&server.uri())
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", &server.uri())
}

#[tokio::test(flavor = "multi_thread")]
async fn oidc_path_masks_then_exports_exactly_what_sts_issued() {
    let (server, token) = happy_server("repo:octo-org/octo-repo:ref:refs/heads/main").await;
    let (out, _s) = run(oidc_step(&server)
        .input("role-duration-seconds", "1800")
        .input("role-session-name", "deploy-42"))
    .await;
    out.assert_success();

    // The requests: audience on the runner's URL, then the role, session and duration.
    let requests = server.received_requests().await.unwrap();
    let token_req = requests
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
    let sts = sts_requests(&server).await;
    assert_eq!(
        sts.len(),
        1,
        "no extra STS round trip (no GetCallerIdentity)"
    );
    assert_eq!(sts[0]["RoleArn"], ROLE);
    assert_eq!(sts[0]["RoleSessionName"], "deploy-42");
    assert_eq!(sts[0]["DurationSeconds"], "1800");
    assert_eq!(sts[0]["WebIdentityToken"], token);
    assert!(
        !sts[0].keys().any(|k| k.starts_with("Tags")),
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
    assert_eq!(
        outputs["authenticated-arn"],
        "arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions"
    );
    assert!(
        !outputs.contains_key("aws-secret-access-key"),
        "credentials are outputs only on request"
    );

    // Masks come first: the first three stdout lines after the request token and JWT.
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

#[tokio::test(flavor = "multi_thread")]
async fn audience_is_added_to_the_query_encoded() {
    let (server, _) = happy_server("repo:o/r:ref:refs/heads/main").await;
    let (out, _s) = run(oidc_step(&server).input("audience", "api://my app&x=1")).await;
    out.assert_success();
    let requests = server.received_requests().await.unwrap();
    let get = requests
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

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_fail_before_any_request_and_change_nothing() {
    let server = MockServer::start().await;
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
        ("allowed-account-ids", "12345", "allowed-account-ids"),
        ("sts-endpoint", "not a url", "sts-endpoint"),
        ("action-timeout-s", "-1", "action-timeout-s"),
    ];
    for (input, value, expected) in cases {
        let (out, _s) = run(oidc_step(&server).input(input, value)).await;
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
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "no request for bad input"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn partition_of_the_role_must_match_the_region() {
    let server = MockServer::start().await;
    let (out, _s) = run(oidc_step(&server).input("aws-region", "cn-north-1")).await;
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("aws-cn"), "{}", out.error_line());
    let (server2, _) = happy_server("repo:o/r:ref:refs/heads/main").await;
    let (out, _s) = run(oidc_step(&server2)
        .input("aws-region", "cn-north-1")
        .input("role-to-assume", "arn:aws-cn:iam::123456789012:role/deploy"))
    .await;
    out.assert_success();
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_id_token_permission_fails_at_once_with_the_reasons() {
    let s = Scenario::new()
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1");
    let (out, _s) = run(s).await;
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

    let (out, _s) = run(Scenario::new()
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .env("ACT", "true"))
    .await;
    out.assert_failed_cleanly();
    assert!(out.stdout.contains("act has no OIDC") || out.error_line().contains("act has no OIDC"));
    assert!(out.stdout.contains("ACTIONS_ID_TOKEN_REQUEST_URL"));
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_shows_the_claims_and_the_condition_that_would_match() {
    let server = MockServer::start().await;
    let sub = "repo:octo-org/octo-repo:environment:production";
    let mut claims = github_claims(sub);
    claims["environment"] = "production".into();
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": jwt(&claims) })),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-amzn-requestid", "req-err-42")
                .set_body_string(sts_error_xml(
                    "AccessDenied",
                    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                )),
        )
        .mount(&server)
        .await;
    let (out, _s) = run(oidc_step(&server)).await;
    out.assert_failed_cleanly();
    assert_eq!(
        sts_requests(&server).await.len(),
        1,
        "AccessDenied is never retried"
    );
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

#[tokio::test(flavor = "multi_thread")]
async fn missing_provider_and_wrong_audience_are_explained() {
    for (message, expected) in [("No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com", "aws iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com"), ("Incorrect token audience", "add-client-id-to-open-id-connect-provider")] {
        let server = token_server().await;
        sts_answers_error(&server, 400, "InvalidIdentityToken", message).await;
        let (out, _s) = run(oidc_step(&server)).await;
        out.assert_failed_cleanly();
        assert_eq!(sts_requests(&server).await.len(), 1, "InvalidIdentityToken is not retried");
        assert!(out.stdout.contains(expected), "{expected}:\n{}", out.stdout);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_5xx_are_retried_then_succeed() {
    let (server, _) = happy_server("repo:o/r:ref:refs/heads/main").await;
    // Mounted later, so it is matched first, for the first two requests.
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_string(sts_error_xml("Throttling", "Rate exceeded")),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    let (out, _s) = run(oidc_step(&server)).await;
    out.assert_success();
    assert_eq!(sts_requests(&server).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_attempts_are_exact_and_disable_retry_means_one() {
    for (inputs, expected) in [
        (vec![("retry-max-attempts", "3")], 3),
        (vec![("disable-retry", "true")], 1),
    ] {
        let server = token_server().await;
        sts_answers_error(&server, 500, "InternalFailure", "oops").await;
        let mut s = oidc_step(&server);
        for (k, v) in inputs {
            s = s.input(k, v);
        }
        let (out, _s) = run(s).await;
        out.assert_failed_cleanly();
        assert_eq!(sts_requests(&server).await.len(), expected);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_sts_fails_within_the_retry_cap() {
    let (server, _) = happy_server("repo:o/r:ref:refs/heads/main").await;
    let closed = format!("http://127.0.0.1:{}", free_port());
    let (out, _s) = run(oidc_step(&server)
        .input("sts-endpoint", &closed)
        .input("retry-max-attempts", "3"))
    .await;
    out.assert_failed_cleanly();
    assert!(out.stdout.contains("no answer"), "{}", out.stdout);
    assert!(out.elapsed.as_secs() < 20, "{:?}", out.elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_endpoint_5xx_is_retried_and_4xx_is_not() {
    let (server, _) = happy_server("repo:o/r:ref:refs/heads/main").await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (out, _s) = run(oidc_step(&server)).await;
    out.assert_success();

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let (out, _s) = run(oidc_step(&server)).await;
    out.assert_failed_cleanly();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(out.error_line().contains("OIDC token request failed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_sts_hits_action_timeout_and_exports_nothing() {
    let server = token_server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(6)))
        .mount(&server)
        .await;
    let (out, _s) = run(oidc_step(&server).input("action-timeout-s", "1")).await;
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("action-timeout-s"));
    assert!(out.elapsed.as_secs_f64() < 4.0, "{:?}", out.elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn sts_error_text_cannot_inject_workflow_commands() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": jwt(&github_claims("repo:o/r:ref:refs/heads/main\n::set-env name=EVIL::1")) }))).mount(&server).await;
    sts_answers_error(
        &server,
        403,
        "AccessDenied",
        "denied&#10;::set-env name=EVIL::1&#13;::add-mask::x",
    )
    .await;
    let (out, _s) = run(oidc_step(&server)).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn allowed_account_ids_mismatch_exports_nothing() {
    let (server, _) = happy_server("repo:o/r:ref:refs/heads/main").await;
    let (out, _s) =
        run(oidc_step(&server).input("allowed-account-ids", "111111111111, 222222222222")).await;
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("123456789012"));
    let (out, _s) =
        run(oidc_step(&server).input("allowed-account-ids", "111111111111,123456789012")).await;
    out.assert_success();
}

#[tokio::test(flavor = "multi_thread")]
async fn output_credentials_and_mask_account_id() {
    let (server, _) = happy_server("repo:o/r:ref:refs/heads/main").await;
    let (out, _s) = run(oidc_step(&server)
        .input("output-credentials", "true")
        .input("mask-aws-account-id", "true")
        .input("output-env-credentials", "false"))
    .await;
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

/// STS mock answering AssumeRole and GetCallerIdentity successfully.
async fn assume_role_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=AssumeRole&"))
        .respond_with(ResponseTemplate::new(200).set_body_string(sts_assume_xml(
            "AssumeRole",
            ACCESS_KEY_ID,
            SECRET_KEY,
            SESSION_TOKEN,
            "arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions",
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=GetCallerIdentity"))
        .respond_with(ResponseTemplate::new(200).set_body_string(sts_caller_xml(
            "123456789012",
            "arn:aws:iam::123456789012:user/ci",
        )))
        .mount(&server)
        .await;
    server
}

fn signing_key(req: &Request) -> String {
    let auth = req
        .headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    auth.split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
        .unwrap_or_default()
        .to_owned()
}

const INPUT_KEY: &str = "AKIAINPUTKEY00000001";
const INPUT_SECRET: &str = "inputSecretKey0000000000000000000000000000";

#[tokio::test(flavor = "multi_thread")]
async fn keys_assume_role_signed_with_exactly_the_given_keys_and_tagged() {
    let server = assume_role_server().await;
    let s = Scenario::new()
        .input("aws-access-key-id", INPUT_KEY)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .input("sts-endpoint", &server.uri())
        .input("role-external-id", "ext-123")
        .input("custom-tags", r#"{"Team":"platform"}"#)
        .input("transitive-tag-keys", "Repository,Team")
        // Ambient credentials that must NOT be used to sign.
        .env("AWS_ACCESS_KEY_ID", "AKIAAMBIENTRUNNER001")
        .env("AWS_SECRET_ACCESS_KEY", "ambient")
        .env("GITHUB_REPOSITORY", "octo-org/octo-repo")
        .env("GITHUB_SHA", "abc123")
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_RUN_ID", "42");
    let (out, _s) = run(s).await;
    out.assert_success();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(signing_key(&requests[0]), INPUT_KEY);
    let f = form(&requests[0]);
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

#[tokio::test(flavor = "multi_thread")]
async fn oversized_tags_drop_the_optional_ones_once() {
    let server = assume_role_server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string(sts_error_xml(
            "PackedPolicyTooLarge",
            "Packed size of session tags exceeds the limit",
        )))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let s = Scenario::new()
        .input("aws-access-key-id", INPUT_KEY)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .input("sts-endpoint", &server.uri())
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_RUN_ID", "42")
        .env("GITHUB_JOB", "deploy");
    let (out, _s) = run(s).await;
    out.assert_success();
    let requests = sts_requests(&server).await;
    assert_eq!(requests.len(), 2);
    assert!(requests[0].values().any(|v| v == "RunId"));
    assert!(!requests[1].values().any(|v| v == "RunId" || v == "Job"));
    assert!(requests[1].values().any(|v| v == "Repository"));
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_session_denied_is_explained() {
    let server = MockServer::start().await;
    sts_answers_error(
        &server,
        403,
        "AccessDenied",
        "User is not authorized to perform: sts:TagSession",
    )
    .await;
    let s = Scenario::new()
        .input("aws-access-key-id", INPUT_KEY)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .input("sts-endpoint", &server.uri());
    let (out, _s) = run(s).await;
    out.assert_failed_cleanly();
    assert!(
        out.stdout.contains("sts:TagSession")
            && out.stdout.contains("role-skip-session-tagging: true")
    );
    assert!(
        !out.env_file.contains(INPUT_KEY),
        "input keys never exported, even on failure"
    );

    let (out, _s) = run(Scenario::new()
        .input("aws-access-key-id", INPUT_KEY)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .input("sts-endpoint", &server.uri())
        .input("role-skip-session-tagging", "true"))
    .await;
    out.assert_failed_cleanly();
    let requests = sts_requests(&server).await;
    assert!(
        !requests
            .last()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("Tags")),
        "no tags when skipped"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn duration_over_the_role_maximum_is_explained() {
    let server = MockServer::start().await;
    sts_answers_error(
        &server,
        400,
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )
    .await;
    let s = Scenario::new()
        .env("AWS_ACCESS_KEY_ID", "ASIACHAINED000000001")
        .env("AWS_SECRET_ACCESS_KEY", "chainedsecret")
        .env("AWS_SESSION_TOKEN", "chainedtoken")
        .input("role-chaining", "true")
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .input("sts-endpoint", &server.uri())
        .input("role-duration-seconds", "7200");
    let (out, _s) = run(s).await;
    out.assert_failed_cleanly();
    assert_eq!(sts_requests(&server).await.len(), 1);
    assert!(
        out.stdout.contains("update-role") && out.stdout.contains("3600"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn role_chaining_signs_with_the_environment_credentials() {
    let server = assume_role_server().await;
    let s = Scenario::new()
        .env("AWS_ACCESS_KEY_ID", "ASIACHAINED000000001")
        .env("AWS_SECRET_ACCESS_KEY", "chainedsecret")
        .env("AWS_SESSION_TOKEN", "chainedtoken")
        .input("role-chaining", "true")
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .input("sts-endpoint", &server.uri());
    let (out, _s) = run(s).await;
    out.assert_success();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(signing_key(&requests[0]), "ASIACHAINED000000001");
    assert_eq!(
        requests[0].headers.get("x-amz-security-token").unwrap(),
        "chainedtoken"
    );
    assert_eq!(out.exported_env()["AWS_ACCESS_KEY_ID"], ACCESS_KEY_ID);
    out.assert_masked_and_not_leaked(&["chainedsecret", "chainedtoken", SECRET_KEY]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bare_role_name_takes_partition_and_account_from_the_caller() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=GetCallerIdentity"))
        .respond_with(ResponseTemplate::new(200).set_body_string(sts_caller_xml(
            "210987654321",
            "arn:aws-us-gov:iam::210987654321:user/ci",
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=AssumeRole&"))
        .respond_with(ResponseTemplate::new(200).set_body_string(sts_assume_xml(
            "AssumeRole",
            ACCESS_KEY_ID,
            SECRET_KEY,
            SESSION_TOKEN,
            "arn:aws-us-gov:sts::210987654321:assumed-role/deploy/GitHubActions",
        )))
        .mount(&server)
        .await;
    let s = Scenario::new()
        .input("aws-access-key-id", INPUT_KEY)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("role-to-assume", "deploy")
        .input("aws-region", "us-gov-west-1")
        .input("sts-endpoint", &server.uri());
    let (out, _s) = run(s).await;
    out.assert_success();
    let requests = sts_requests(&server).await;
    assert_eq!(
        requests[1]["RoleArn"],
        "arn:aws-us-gov:iam::210987654321:role/deploy"
    );
    assert_eq!(out.outputs()["aws-account-id"], "210987654321");
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_keys_are_exported_as_given() {
    let server = assume_role_server().await;
    let s = Scenario::new()
        .input("aws-access-key-id", INPUT_KEY)
        .input("aws-secret-access-key", INPUT_SECRET)
        .input("aws-region", "us-east-1")
        .input("sts-endpoint", &server.uri());
    let (out, _s) = run(s).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn use_existing_credentials_keeps_working_ones() {
    let server = assume_role_server().await;
    let s = Scenario::new()
        .env("AWS_ACCESS_KEY_ID", "AKIAEXISTING00000001")
        .env("AWS_SECRET_ACCESS_KEY", "existingsecret")
        .input("use-existing-credentials", "true")
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .input("sts-endpoint", &server.uri())
        .oidc("http://127.0.0.1:9");
    let (out, _s) = run(s).await;
    out.assert_success();
    let requests = sts_requests(&server).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["Action"], "GetCallerIdentity");
    assert!(!out.exported_env().contains_key("AWS_ACCESS_KEY_ID"));
}

#[tokio::test(flavor = "multi_thread")]
async fn web_identity_token_file_relative_to_workspace_and_no_symlinks() {
    let (server, _) = happy_server("repo:o/r:ref:refs/heads/main").await;
    let s = Scenario::new()
        .input("web-identity-token-file", "token.jwt")
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", &server.uri());
    let token = jwt(&github_claims("system:serviceaccount:ci:runner"));
    std::fs::write(s.path("workspace/token.jwt"), format!("{token}\n")).unwrap();
    let (out, s) = run(s).await;
    out.assert_success();
    assert_eq!(sts_requests(&server).await[0]["WebIdentityToken"], token);
    out.assert_masked_and_not_leaked(&[&token, SECRET_KEY]);

    std::fs::rename(s.path("workspace/token.jwt"), s.path("real.jwt")).unwrap();
    std::os::unix::fs::symlink(s.path("real.jwt"), s.path("workspace/token.jwt")).unwrap();
    std::fs::write(s.path("env"), ENV_BEFORE).unwrap();
    std::fs::write(s.path("output"), OUTPUT_BEFORE).unwrap();
    std::fs::write(s.path("state"), "").unwrap();
    let out = tokio::task::spawn_blocking(move || s.run()).await.unwrap();
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("symlink"));

    // Without a role the file is ignored, with a warning (as the reference ignores it).
    let (out, _s) = run(Scenario::new()
        .input("web-identity-token-file", "t")
        .input("aws-region", "eu-west-1"))
    .await;
    out.assert_success();
    assert!(
        out.stdout
            .contains("::warning title=Input `web-identity-token-file`"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn special_characters_workaround_reissues_until_alphanumeric() {
    let server = token_server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(sts_assume_xml(
            "AssumeRoleWithWebIdentity",
            ACCESS_KEY_ID,
            "alnumSecret0000000000000000000000000000A",
            SESSION_TOKEN,
            "arn:aws:sts::123456789012:assumed-role/deploy/s",
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(sts_assume_xml(
            "AssumeRoleWithWebIdentity",
            "ASIAFIRST00000000001",
            "with/slash+plus000000000000000000000000",
            SESSION_TOKEN,
            "arn:aws:sts::123456789012:assumed-role/deploy/s",
        )))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let (out, _s) = run(oidc_step(&server).input("special-characters-workaround", "true")).await;
    out.assert_success();
    assert_eq!(sts_requests(&server).await.len(), 2);
    assert_eq!(
        out.exported_env()["AWS_SECRET_ACCESS_KEY"],
        "alnumSecret0000000000000000000000000000A"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_profile_writes_private_files_for_later_steps_and_post_removes_them() {
    let (server, _) = happy_server("repo:o/r:ref:refs/heads/main").await;
    let (out, s) = run(oidc_step(&server).input("aws-profile", "deploy")).await;
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
    for f in ["env", "output", "state"] {
        std::fs::write(
            s.path(f),
            match f {
                "env" => ENV_BEFORE,
                "output" => OUTPUT_BEFORE,
                _ => "",
            },
        )
        .unwrap();
    }
    let state_from_first = out.state.clone();
    let (again, s) = run(s).await;
    again.assert_failed_cleanly();
    assert!(
        again.error_line().contains("already exists")
            && again.stdout.contains("overwrite-aws-profile: true"),
        "{}",
        again.stdout
    );

    // The post step removes the files and clears the variables.
    let mut post = Scenario::new().env("GITHUB_ENV", &s.path("env").to_string_lossy());
    for (k, v) in parse_file_commands(&state_from_first) {
        post = post.env(&format!("STATE_{k}"), &v);
    }
    let out = tokio::task::spawn_blocking(move || post.arg("post").run())
        .await
        .unwrap();
    out.assert_success();
    assert!(
        !creds_path.exists(),
        "post step removed the credentials file"
    );
    let cleared = parse_file_commands(
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

#[tokio::test(flavor = "multi_thread")]
async fn post_step_is_skipped_on_request_and_idle_without_state() {
    let s = Scenario::new()
        .env("AWS_SKIP_CLEANUP_STEP", "true")
        .env("STATE_exported_env", "AWS_ACCESS_KEY_ID")
        .arg("post");
    let (out, _s) = run(s).await;
    out.assert_success();
    assert_eq!(out.env_file, ENV_BEFORE);
    let (out, _s) = run(Scenario::new().arg("post")).await;
    out.assert_success();
    assert_eq!(
        out.env_file, ENV_BEFORE,
        "nothing exported by main, nothing cleared"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unset_current_credentials_writes_empty_values_first() {
    let (server, _) = happy_server("repo:o/r:ref:refs/heads/main").await;
    let (out, _s) = run(oidc_step(&server).input("unset-current-credentials", "true")).await;
    out.assert_success();
    let text = out.env_file.strip_prefix(ENV_BEFORE).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("AWS_ACCESS_KEY_ID<<"));
    assert_eq!(
        parse_file_commands(text)["AWS_ACCESS_KEY_ID"],
        ACCESS_KEY_ID,
        "last value wins"
    );
    assert_eq!(text.lines().nth(1), Some(""), "the first value is empty");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_proxy_input_carries_both_requests() {
    // The mock acts as the proxy: a proxied plain-HTTP request arrives with the
    // absolute URL of the real target, here an address nothing listens on.
    let proxy = MockServer::start().await;
    let token = jwt(&github_claims("repo:o/r:ref:refs/heads/main"));
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": token })),
        )
        .mount(&proxy)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(sts_assume_xml(
            "AssumeRoleWithWebIdentity",
            ACCESS_KEY_ID,
            SECRET_KEY,
            SESSION_TOKEN,
            "arn:aws:sts::123456789012:assumed-role/deploy/s",
        )))
        .mount(&proxy)
        .await;
    let target = format!("http://127.0.0.1:{}", free_port());
    let s = Scenario::new()
        .oidc(&target)
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", &target)
        .input("http-proxy", &proxy.uri());
    let (out, _s) = run(s).await;
    out.assert_success();
    let requests = proxy.received_requests().await.unwrap();
    assert_eq!(
        requests.len(),
        2,
        "token and STS both went through the proxy"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_subcommand_prints_policy_cli_and_terraform() {
    let (out, _s) = run(Scenario::new()
        .arg("setup")
        .arg("--repo")
        .arg("octo-org/octo-repo")
        .arg("--environment")
        .arg("production"))
    .await;
    out.assert_success();
    assert!(out.stdout.contains("\"token.actions.githubusercontent.com:sub\": \"repo:octo-org/octo-repo:environment:production\""));
    assert!(
        out.stdout
            .contains("aws iam create-open-id-connect-provider")
            && out.stdout.contains("resource \"aws_iam_role\"")
    );
}
