//! The error explainer: `explain::explain` with arbitrary STS failures, token claims
//! and context never panics, always keeps what STS said (code, message, request id
//! and role) in the cause, and gives a fix. The `Error::Sts` built from it (what
//! the report prints) has a one-line message, and every line of it, once escaped as
//! the workflow writer does, stays one log line.
#![no_main]

use arbitrary::Arbitrary;
use keyless_aws::error::{Error, StsCode, StsFailure, StsOperation};
use keyless_aws::explain::{explain, Context};
use keyless_aws::jwt::Claims;
use keyless_aws::text::escape_data;
use libfuzzer_sys::fuzz_target;

const OPERATIONS: &[StsOperation] = &[
    StsOperation::AssumeRoleWithWebIdentity,
    StsOperation::AssumeRole,
    StsOperation::GetCallerIdentity,
];

/// Every code the explainer knows, so each branch is reached at once.
const CODES: &[&str] = &[
    "",
    "AccessDenied",
    "InvalidIdentityToken",
    "ExpiredTokenException",
    "ExpiredToken",
    "IDPCommunicationError",
    "IDPRejectedClaim",
    "ValidationError",
    "RegionDisabledException",
    "MalformedPolicyDocument",
    "MalformedPolicyDocumentException",
    "PackedPolicyTooLarge",
    "PackedPolicyTooLargeException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
];

/// Message fragments the explainer looks for.
const HINTS: &[&str] = &[
    "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com",
    "Incorrect token audience", "The requested DurationSeconds exceeds the MaxSessionDuration",
    "not authorized to perform: sts:TagSession", "Signature expired", "duration",
    "\n::set-env name=X::y", "%0A::add-mask::x", "\r::stop-commands::tok",
];

#[derive(Arbitrary, Debug)]
enum Code {
    Known(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
struct ArbClaims {
    sub: Option<String>,
    aud: Vec<String>,
    iss: Option<String>,
    repository: Option<String>,
    repository_owner: Option<String>,
    git_ref: Option<String>,
    environment: Option<String>,
    job_workflow_ref: Option<String>,
    event_name: Option<String>,
    exp: Option<i64>,
}

#[derive(Arbitrary, Debug)]
struct Case {
    operation: u8,
    code: Code,
    message: String,
    hint: Option<(u8, bool)>,
    role_arn: Option<String>,
    request_id: Option<String>,
    http_status: Option<u16>,
    transport: Option<String>,
    claims: Option<ArbClaims>,
    audience: Option<String>,
    duration_seconds: i32,
    tags_sent: bool,
    chained: bool,
    inline_policy: bool,
    endpoint: Option<String>,
    region: String,
}

fuzz_target!(|case: Case| {
    let code = match &case.code {
        Code::Known(i) => CODES[*i as usize % CODES.len()].to_owned(),
        Code::Other(s) => s.clone(),
    };
    let mut message = case.message.clone();
    if let Some((i, upper)) = case.hint {
        let hint = HINTS[i as usize % HINTS.len()];
        message.push_str(&if upper {
            hint.to_uppercase()
        } else {
            hint.to_owned()
        });
    }
    let failure = StsFailure {
        operation: OPERATIONS[case.operation as usize % OPERATIONS.len()],
        role_arn: case.role_arn.clone(),
        code: StsCode::parse(&code),
        code_text: code.clone(),
        message: message.clone(),
        request_id: case.request_id.clone(),
        http_status: case.http_status,
        transport: case.transport.clone(),
    };
    let claims = case.claims.map(|c| Claims {
        sub: c.sub,
        aud: c.aud,
        iss: c.iss,
        repository: c.repository,
        repository_owner: c.repository_owner,
        git_ref: c.git_ref,
        environment: c.environment,
        job_workflow_ref: c.job_workflow_ref,
        event_name: c.event_name,
        exp: c.exp,
        other: Default::default(),
    });
    let ctx = Context {
        claims: claims.as_ref(),
        audience: case.audience.as_deref(),
        duration_seconds: case.duration_seconds,
        tags_sent: case.tags_sent,
        chained: case.chained,
        inline_policy: case.inline_policy,
        endpoint: case.endpoint.as_deref(),
        region: &case.region,
    };
    let (cause, fix) = explain(&failure, &ctx);
    assert!(!fix.is_empty());
    if code.is_empty() {
        // No STS error code: what was wrong with the answer, or why none arrived.
        if !message.is_empty() {
            assert!(
                cause.contains(message.trim_end()),
                "message lost: {cause:?}"
            );
        } else if let Some(t) = &case.transport {
            assert!(
                cause.contains(t.trim_end()),
                "transport detail lost: {cause:?}"
            );
        }
    } else {
        assert!(cause.contains(&code), "code lost: {cause:?}");
        assert!(
            cause.contains(message.trim_end()),
            "message lost: {cause:?}"
        );
    }
    if let Some(id) = &case.request_id {
        assert!(cause.contains(id.trim_end()), "request id lost");
    }
    if let Some(role) = &case.role_arn {
        assert!(cause.contains(role.trim_end()), "role lost");
    }
    // The same failure explains the same way.
    assert_eq!(explain(&failure, &ctx), (cause.clone(), fix.clone()));

    let error = Error::Sts {
        failure: Box::new(failure),
        cause,
        fix,
    };
    let title = error.title();
    let shown = error.to_string();
    assert!(!title.contains(['\n', '\r']));
    for line in shown.lines().chain(error.help().lines()) {
        let escaped = escape_data(line);
        assert!(!escaped.contains(['\n', '\r']));
    }
});
