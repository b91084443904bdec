//! The token endpoint and STS as one in-process wiremock server with its own runtime,
//! so tests stay synchronous. For precise fault injection only: the real STS
//! emulator is moto ([`super::moto`]).
//!
//! ```ignore
//! let sts = StsStandIn::new().github_token("repo:o/r:ref:refs/heads/main").assume(WEB_IDENTITY);
//! let out = Scenario::oidc_step(&sts).run();
//! assert_eq!(out.sts_calls()[0]["RoleArn"], ROLE);
//! ```

use super::{
    github_claims, jwt, sts_assume_xml, sts_caller_xml, sts_error_xml, Creds, ASSUMED_ARN,
    ERROR_REQUEST_ID, REQUEST_TOKEN,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const WEB_IDENTITY: &str = "AssumeRoleWithWebIdentity";
pub const ASSUME_ROLE: &str = "AssumeRole";

struct Inner {
    rt: tokio::runtime::Runtime,
    server: MockServer,
    /// Priority of the next `first()` mock: earlier calls answer first.
    next_priority: AtomicU8,
}

/// A cheap handle (clones share the server); the server stops with the last one.
#[derive(Clone)]
pub struct StsStandIn(Arc<Inner>);

impl Default for StsStandIn {
    fn default() -> Self {
        Self::new()
    }
}

impl StsStandIn {
    /// A server with nothing mounted: every request gets a 404.
    pub fn new() -> StsStandIn {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(MockServer::start());
        StsStandIn(Arc::new(Inner {
            rt,
            server,
            next_priority: AtomicU8::new(1),
        }))
    }

    pub fn uri(&self) -> String {
        self.0.server.uri()
    }

    /// Mounts any mock (the escape hatch for what the helpers below do not cover).
    pub fn mount(self, mock: Mock) -> Self {
        self.0.rt.block_on(mock.mount(&self.0.server));
        self
    }

    /// The runner's token endpoint, strict: only `GET /_apis/token?api-version=2.0`
    /// with `Authorization: bearer REQUEST_TOKEN` (what `Scenario::oidc` sets) gets
    /// `{"value": token}`; anything else a 404.
    pub fn token(self, token: &str) -> Self {
        self.mount(
            Mock::given(method("GET"))
                .and(path("/_apis/token"))
                .and(query_param("api-version", "2.0"))
                .and(header(
                    "authorization",
                    format!("bearer {REQUEST_TOKEN}").as_str(),
                ))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": token })),
                ),
        )
    }

    /// [`Self::token`] with a GitHub-like token for this `sub`.
    pub fn github_token(self, sub: &str) -> Self {
        self.token(&jwt(&github_claims(sub)))
    }

    /// Any GET gets `{"value": token}` (for proxies and token URLs of other shapes).
    pub fn any_token(self, token: &str) -> Self {
        self.mount(Mock::given(method("GET")).respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": token })),
        ))
    }

    /// Every GET gets this status, empty body.
    pub fn token_status(self, status: u16) -> Self {
        self.mount(Mock::given(method("GET")).respond_with(ResponseTemplate::new(status)))
    }

    /// STS answers `operation` with [`Creds::standard`] for [`ASSUMED_ARN`].
    pub fn assume(self, operation: &str) -> Self {
        self.assume_as(operation, &Creds::standard(), ASSUMED_ARN)
    }

    pub fn assume_as(self, operation: &str, creds: &Creds, arn: &str) -> Self {
        self.mount(
            Mock::given(method("POST"))
                .and(body_string_contains(format!("Action={operation}&")))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_string(sts_assume_xml(operation, creds, arn)),
                ),
        )
    }

    /// STS answers GetCallerIdentity.
    pub fn caller(self, account: &str, arn: &str) -> Self {
        self.mount(
            Mock::given(method("POST"))
                .and(body_string_contains("Action=GetCallerIdentity"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_string(sts_caller_xml(account, arn)),
                ),
        )
    }

    /// Every STS call fails with this error.
    pub fn sts_error(self, status: u16, code: &str, message: &str) -> Self {
        self.sts_answer(ResponseTemplate::new(status).set_body_string(sts_error_xml(
            code,
            message,
            ERROR_REQUEST_ID,
        )))
    }

    /// Every STS call gets this answer.
    pub fn sts_answer(self, answer: ResponseTemplate) -> Self {
        self.mount(Mock::given(method("POST")).respond_with(answer))
    }

    /// The next `times` requests with this method get `answer`, before any mock
    /// mounted without `first` and after those of earlier `first` calls.
    pub fn first(self, times: u64, verb: &str, answer: ResponseTemplate) -> Self {
        let priority = self.0.next_priority.fetch_add(1, Ordering::Relaxed);
        assert!(
            priority < 5,
            "at most four `first` mocks (wiremock's default priority is 5)"
        );
        self.mount(
            Mock::given(method(verb))
                .respond_with(answer)
                .up_to_n_times(times)
                .with_priority(priority),
        )
    }

    /// Cognito Identity (JSON protocol, `X-Amz-Target: AWSCognitoIdentityService.<op>`)
    /// answers `operation` with this JSON body.
    pub fn cognito(self, operation: &str, status: u16, body: serde_json::Value) -> Self {
        self.mount(
            Mock::given(method("POST"))
                .and(header(
                    "x-amz-target",
                    format!("AWSCognitoIdentityService.{operation}").as_str(),
                ))
                .respond_with(
                    ResponseTemplate::new(status)
                        .insert_header("content-type", "application/x-amz-json-1.1")
                        .insert_header("x-amzn-requestid", "cognito-req-1")
                        .set_body_json(body),
                ),
        )
    }

    /// Cognito Identity refuses `operation` with this error code and message.
    pub fn cognito_error(self, operation: &str, code: &str, message: &str) -> Self {
        self.cognito(
            operation,
            400,
            serde_json::json!({ "__type": code, "message": message }),
        )
    }

    /// The Cognito Identity calls so far: operation and JSON body.
    pub fn cognito_calls(&self) -> Vec<(String, serde_json::Value)> {
        self.requests()
            .iter()
            .filter_map(|r| {
                let target = r.headers.get("x-amz-target")?.to_str().ok()?;
                let op = target.strip_prefix("AWSCognitoIdentityService.")?;
                Some((op.to_owned(), serde_json::from_slice(&r.body).ok()?))
            })
            .collect()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.0
            .rt
            .block_on(self.0.server.received_requests())
            .unwrap_or_default()
    }

    /// The STS calls (POSTs other than Cognito's) so far, as form fields.
    pub fn sts_calls(&self) -> Vec<HashMap<String, String>> {
        self.requests()
            .iter()
            .filter(|r| r.method.as_str() == "POST" && !r.headers.contains_key("x-amz-target"))
            .map(form)
            .collect()
    }

    /// The token requests (GETs) so far.
    pub fn token_requests(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method.as_str() == "GET")
            .collect()
    }
}

/// A request's form-encoded body.
pub fn form(req: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

/// The access key id that signed a request (SigV4 `Credential=`).
pub fn signing_key(req: &Request) -> String {
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
