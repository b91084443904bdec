//! Which STS failures are retried, and for how long (src/retry.rs, src/sts.rs):
//! throttling by a time budget, other transient errors by an attempt count,
//! `AccessDenied` and an oversized answer never.
//!
//! The real STS client (the SDK with our schedule) talks to a wiremock stand-in
//! on 127.0.0.1 that counts requests. Waits are scaled down (milliseconds) so the
//! cases take about a second; the assertions are on request counts and on the
//! error, with time only as a wide bound. Each case uses its own region: the
//! SDK's retry quota is per process and per region, and must not be shared.

use crate::support::*;
use keyless_aws::aws_names::{Region, RoleArn, SessionName};
use keyless_aws::plan::{Proxy, SessionOptions};
use keyless_aws::retry::{Backoff, StsSchedule};
use keyless_aws::secret::Secret;
use keyless_aws::sts::{self, ClientSettings};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";
/// What the SDK allowed before the time budget: `retry-max-attempts` (default 12).
const OLD_ATTEMPTS: usize = 12;

fn fast(max_attempts: u32, throttle_budget: Duration) -> StsSchedule {
    StsSchedule {
        max_attempts,
        throttle_budget,
        transient: Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(4),
        },
        throttling: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(80),
        },
        transient_budget: Duration::from_secs(20),
    }
}

async fn assume(
    server: &MockServer,
    region: &str,
    schedule: StsSchedule,
) -> Result<sts::Assumed, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let region = Region::parse(region).expect("a test region");
    let endpoint = url::Url::parse(&server.uri()).expect("the stand-in's URL");
    let client = sts::client(ClientSettings {
        region: &region,
        endpoint: Some(&endpoint),
        variant: Default::default(),
        proxy: &Proxy::default(),
        retry: schedule,
        credentials: None,
        fresh_credentials: false,
    });
    sts::assume_role_with_web_identity(
        &client,
        &RoleArn::parse(ROLE).expect("a test role"),
        &SessionOptions {
            name: SessionName::parse("s0").expect("a session name"),
            duration_seconds: 900,
            inline_policy: None,
            managed_policies: Vec::new(),
        },
        &Secret::new("header.payload.sig"),
    )
    .await
    .map_err(|f| format!("{} {} {:?}", f.code_text, f.message, f.transport))
}

fn throttled() -> ResponseTemplate {
    ResponseTemplate::new(400)
        .insert_header("content-type", "text/xml")
        .set_body_string(sts_error_xml(
            "Throttling",
            "Rate exceeded",
            ERROR_REQUEST_ID,
        ))
}

fn assumed() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml")
        .set_body_string(sts_assume_xml(
            "AssumeRoleWithWebIdentity",
            &Creds {
                key_id: "ASIAEXAMPLEEXAMPLE01".into(),
                secret: "secretsecretsecretsecretsecretsecretsecr".into(),
                token: "sessiontoken".into(),
            },
            "arn:aws:sts::123456789012:assumed-role/deploy/s",
        ))
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test]
async fn throttling_is_retried_past_the_attempt_count_until_it_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(throttled())
        .up_to_n_times(25)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(assumed())
        .with_priority(2)
        .mount(&server)
        .await;

    let result = assume(&server, "eu-west-1", fast(12, Duration::from_secs(30))).await;

    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        requests(&server).await,
        26,
        "25 throttled answers, then the one that succeeded"
    );
}

#[tokio::test]
async fn the_time_budget_ends_throttling() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(throttled())
        .mount(&server)
        .await;
    let budget = Duration::from_millis(1500);

    let started = Instant::now();
    let result = assume(&server, "eu-west-2", fast(12, budget)).await;
    let took = started.elapsed();

    let error = result.expect_err("always throttled");
    assert!(
        error.starts_with("Throttling"),
        "the error is STS's, not a timeout: {error}"
    );
    let n = requests(&server).await;
    // Waits average at most 40 ms here, so the 1.5 s budget allows far more than the
    // old 12 attempts, and ends well before the SDK's retry quota (100) or our ceiling (200).
    assert!(n > OLD_ATTEMPTS && n < 100, "{n} requests");
    // The budget, not something else, ended it: no retry starts a wait past it.
    assert!(
        took >= budget - Duration::from_millis(160) && took < budget + Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test]
async fn other_transient_errors_keep_their_attempt_count() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;

    let result = assume(&server, "eu-west-3", fast(3, Duration::from_secs(30))).await;

    assert!(result.is_err());
    assert_eq!(requests(&server).await, 3, "retry-max-attempts: 3");
}

#[tokio::test]
async fn an_oversized_answer_is_not_retried() {
    let server = MockServer::start().await;
    let body = format!(
        "<AssumeRoleWithWebIdentityResponse>{}",
        "x".repeat(300 * 1024)
    );
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/xml")
                .set_body_string(body),
        )
        .mount(&server)
        .await;

    let started = Instant::now();
    let result = assume(&server, "eu-central-1", StsSchedule::new(12, None)).await;

    let error = result.expect_err("an answer over 256 KiB");
    assert!(error.contains("length limit"), "{error}");
    assert_eq!(
        requests(&server).await,
        1,
        "the same server would send the same answer again"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn access_denied_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("content-type", "text/xml")
                .set_body_string(sts_error_xml(
                    "AccessDenied",
                    "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                    ERROR_REQUEST_ID,
                )),
        )
        .mount(&server)
        .await;

    let result = assume(&server, "eu-north-1", fast(12, Duration::from_secs(30))).await;

    assert!(result.expect_err("denied").starts_with("AccessDenied"));
    assert_eq!(requests(&server).await, 1);
}

/// `disable-retry` switches off the action's time budget for throttling, not
/// the SDK's standard 3 attempts, which the reference keeps under its own loop
/// (reference: src/CredentialsClient.ts builds its STSClient with the SDK's
/// default retry strategy; src/index.ts only skips retryAndBackoff()).
#[tokio::test]
async fn disable_retry_leaves_the_sdks_three_attempts_for_throttling() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(throttled())
        .mount(&server)
        .await;

    let result = assume(&server, "eu-south-1", fast(1, Duration::from_secs(30))).await;

    assert!(result.expect_err("throttled").starts_with("Throttling"));
    assert_eq!(requests(&server).await, 3);
}

/// One throttled answer does not fail a step with `disable-retry`, as it does
/// not fail the reference's.
#[tokio::test]
async fn disable_retry_survives_a_single_throttle() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(throttled())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(assumed())
        .mount(&server)
        .await;

    let result = assume(&server, "eu-south-2", fast(1, Duration::from_secs(30))).await;

    assert!(result.is_ok(), "{result:?}");
    assert_eq!(requests(&server).await, 2);
}

/// The whole action: with `action-timeout-s: 3`, throttling is retried for a little
/// under 3 s and the step fails with STS's `Throttling` explained, not a bare timeout;
/// nothing is exported.
#[tokio::test(flavor = "multi_thread")]
async fn action_timeout_bounds_the_throttle_budget_and_the_error_is_throttling() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({ "value": jwt(&github_claims("repo:o/r:ref:refs/heads/main")) }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(throttled())
        .mount(&server)
        .await;
    let scenario = Scenario::new()
        .oidc(&server.uri())
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", &server.uri())
        .input("action-timeout-s", "3");

    let out = tokio::task::spawn_blocking(move || scenario.run())
        .await
        .unwrap();

    out.assert_failed_cleanly();
    let error = out.error_line();
    assert!(error.contains("Throttling"), "{error}");
    assert!(!error.contains("did not finish"), "{error}");
    let sts_calls = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    // Waits start at 0.5 s with full jitter: at least the first retry fits in the 2.25 s budget.
    assert!(sts_calls >= 2, "{sts_calls} STS calls");
    // Bounded (3 s, plus process start and exit on a busy machine); the error above
    // shows the budget ended it, not the action timeout.
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

/// Issues short-lived tokens, and plays STS: throttles every call for the
/// first `throttle_for`, then answers; a token past its `exp` gets
/// `ExpiredTokenException`, as STS answers it.
struct ExpiringTokens {
    started: Instant,
    lifetime_s: u64,
    throttle_for: Duration,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl wiremock::Respond for ExpiringTokens {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        if req.method.as_str() == "GET" {
            let mut claims = github_claims("repo:o/r:ref:refs/heads/main");
            claims["exp"] = (unix_now() + self.lifetime_s).into();
            return ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({ "value": jwt(&claims) }));
        }
        if self.started.elapsed() < self.throttle_for {
            return throttled();
        }
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&req.body)
                .into_owned()
                .collect();
        let exp = form
            .get("WebIdentityToken")
            .and_then(|t| t.split('.').nth(1))
            .and_then(|p| {
                use base64::Engine;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
            .and_then(|c| c["exp"].as_u64())
            .unwrap_or(0);
        if exp <= unix_now() {
            return ResponseTemplate::new(400)
                .insert_header("content-type", "text/xml")
                .set_body_string(sts_error_xml(
                    "ExpiredTokenException",
                    "Token expired",
                    ERROR_REQUEST_ID,
                ));
        }
        assumed()
    }
}

/// Issue 20, class 10: a throttling storm longer than the token's life. The
/// token is replaced before it expires (at half its 4 s life here; a minute
/// before expiry for GitHub's five-minute tokens), so the step gets through
/// once STS admits it, instead of ending in `ExpiredTokenException` as the
/// reference does after long retries.
#[tokio::test(flavor = "multi_thread")]
async fn a_storm_longer_than_the_token_gets_a_fresh_token() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ExpiringTokens {
            started: Instant::now(),
            lifetime_s: 4,
            throttle_for: Duration::from_secs(6),
        })
        .mount(&server)
        .await;
    let scenario = Scenario::new()
        .oidc(&server.uri())
        .input("role-to-assume", ROLE)
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", &server.uri());

    let out = tokio::task::spawn_blocking(move || scenario.run())
        .await
        .unwrap();

    out.assert_success();
    let tokens = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert!(tokens >= 2, "{tokens} token requests\n{}", out.stdout);
    assert!(
        out.stdout.contains("fetching a fresh one"),
        "{}",
        out.stdout
    );
}
