//! STS calls through the AWS SDK: signing, endpoints (China and GovCloud
//! included), retries and timeouts are the SDK's, configured once here.

use crate::aws_names::Region as AwsRegion;
use crate::aws_names::{AccountId, Partition, RoleArn, RoleName};
use crate::error::{StsCode, StsFailure, StsOperation};
use crate::plan::Proxy;
use crate::plan::SessionOptions;
use crate::retry;
use crate::secret::{Credentials, Secret};
use crate::tags::Tag;
use crate::text::one_line;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_sts::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::RequestId;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::RetryReason;
use aws_smithy_types::retry::ErrorKind;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub use crate::plan::EndpointVariant;

/// How the STS client is set up for one run.
pub struct ClientSettings<'a> {
    pub region: &'a AwsRegion,
    pub endpoint: Option<&'a url::Url>,
    /// FIPS and dual-stack (ignored with a custom `endpoint`, which the plan refuses).
    pub variant: EndpointVariant,
    pub proxy: &'a Proxy,
    /// Attempts, waits and the throttling time budget (src/retry.rs).
    pub retry: retry::StsSchedule,
    /// Signing credentials; `None` for the unsigned `AssumeRoleWithWebIdentity`.
    pub credentials: Option<SharedCredentialsProvider>,
    /// The signing credentials were issued moments ago (role chaining), so an
    /// `InvalidClientTokenId` may be IAM propagation and is retried briefly.
    pub fresh_credentials: bool,
}

pub fn client(settings: ClientSettings<'_>) -> aws_sdk_sts::Client {
    let schedule = settings.retry;
    let (schedule_classifier, operation_clock) = schedule.hooks();
    let mut builder = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client(settings.endpoint, settings.proxy))
        .region(Region::new(settings.region.as_str().to_owned()))
        .retry_config(schedule.sdk_retry_config())
        .timeout_config(schedule.sdk_timeout_config())
        .interceptor(CapAnswerSize)
        .interceptor(WellFormedAnswer)
        .interceptor(operation_clock)
        .retry_classifier(schedule_classifier)
        .retry_classifier(StsErrorCodes {
            propagation_retries_left: Arc::new(AtomicU32::new(if settings.fresh_credentials {
                PROPAGATION_RETRIES
            } else {
                0
            })),
        });
    if let Some(endpoint) = settings.endpoint {
        builder = builder.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    } else {
        builder = builder
            .use_fips(settings.variant.fips)
            .use_dual_stack(settings.variant.dual_stack);
    }
    if let Some(credentials) = settings.credentials {
        builder = builder.credentials_provider(credentials);
    }
    aws_sdk_sts::Client::from_conf(builder.build())
}

/// The SDK's HTTP client with the proxy for the endpoint's scheme (regional
/// endpoints are https).
pub fn http_client(
    endpoint: Option<&url::Url>,
    proxy: &Proxy,
) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    let scheme = endpoint.map_or("https", url::Url::scheme);
    crate::http::sdk_http_client(proxy.for_scheme(scheme), proxy.no_proxy.as_deref())
}

/// STS answers are a few KiB. A hostile `sts-endpoint` or proxy could otherwise
/// make the SDK buffer an answer of any size until the attempt timeout.
pub const MAX_STS_ANSWER: usize = 256 * 1024;

/// Wraps every STS answer's body so that reading more than [`MAX_STS_ANSWER`]
/// bytes fails, before the SDK reads it.
#[derive(Debug)]
pub(crate) struct CapAnswerSize;

impl aws_sdk_sts::config::Intercept for CapAnswerSize {
    fn name(&self) -> &'static str {
        "CapAnswerSize"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut aws_sdk_sts::config::interceptors::BeforeDeserializationInterceptorContextMut<
            '_,
        >,
        _components: &aws_sdk_sts::config::RuntimeComponents,
        _cfg: &mut aws_sdk_sts::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let body = context.response_mut().body_mut();
        let whole = std::mem::replace(body, aws_smithy_types::body::SdkBody::taken());
        *body = aws_smithy_types::body::SdkBody::from_body_1_x(http_body_util::Limited::new(
            whole,
            MAX_STS_ANSWER,
        ));
        Ok(())
    }
}

/// Refuses a successful answer whose body is not one well-formed XML document.
/// The SDK's reader takes what it needs and stops, so an answer garbled after
/// the credentials would otherwise pass as credentials.
#[derive(Debug)]
struct WellFormedAnswer;

/// The error [`WellFormedAnswer`] raises; [`failure`] recognises it.
#[derive(Debug)]
struct MalformedAnswer;

impl std::fmt::Display for MalformedAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("it is not well-formed XML, so not an STS response")
    }
}

impl std::error::Error for MalformedAnswer {}

impl aws_sdk_sts::config::Intercept for WellFormedAnswer {
    fn name(&self) -> &'static str {
        "WellFormedAnswer"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_sdk_sts::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _components: &aws_sdk_sts::config::RuntimeComponents,
        _cfg: &mut aws_sdk_sts::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let response = context.response();
        if !response.status().is_success() {
            return Ok(());
        }
        match response.body().bytes() {
            Some(body) if !well_formed_xml(body) => Err(Box::new(MalformedAnswer)),
            // Either fine, or never read whole (too large, cut off): the error
            // about that is the one to report.
            _ => Ok(()),
        }
    }
}

/// One root element, every element closed in order, nothing but whitespace,
/// comments and declarations around it.
fn well_formed_xml(body: &[u8]) -> bool {
    use xmlparser::Token;
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let mut open: Vec<&str> = Vec::new();
    let mut roots = 0;
    for token in xmlparser::Tokenizer::from(text) {
        match token {
            Err(_) => return false,
            Ok(Token::ElementStart { local, .. }) => {
                if open.is_empty() {
                    roots += 1;
                }
                open.push(local.as_str());
            }
            Ok(Token::ElementEnd { end, .. }) => match end {
                xmlparser::ElementEnd::Open => {}
                xmlparser::ElementEnd::Empty => {
                    open.pop();
                }
                xmlparser::ElementEnd::Close(_, name) => {
                    if open.pop() != Some(name.as_str()) {
                        return false;
                    }
                }
            },
            Ok(Token::Text { text }) if open.is_empty() && !text.as_str().trim().is_empty() => {
                return false
            }
            Ok(_) => {}
        }
    }
    open.is_empty() && roots == 1
}

/// How many times an `InvalidClientTokenId` right after a role was assumed is retried.
const PROPAGATION_RETRIES: u32 = 2;

/// Adds the STS error codes worth a second try to the SDK's own classifiers
/// (throttling, 5xx, timeouts and connection errors are already covered there),
/// and forbids retrying an answer over [`MAX_STS_ANSWER`]: the SDK sees a
/// body it could not read as transient, but the same server sends the same
/// answer again.
#[derive(Debug)]
struct StsErrorCodes {
    propagation_retries_left: Arc<AtomicU32>,
}

impl ClassifyRetry for StsErrorCodes {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        if is_oversized(error) {
            return RetryAction::RetryForbidden;
        }
        let Some(error) = error.as_operation_error() else {
            return RetryAction::NoActionIndicated;
        };
        let code = error
            .downcast_ref::<aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError>()
            .and_then(|e| e.code())
            .or_else(|| error.downcast_ref::<aws_sdk_sts::operation::assume_role::AssumeRoleError>().and_then(|e| e.code()))
            .or_else(|| error.downcast_ref::<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError>().and_then(|e| e.code()));
        let transient = RetryAction::RetryIndicated(RetryReason::RetryableError {
            kind: ErrorKind::TransientError,
            retry_after: None,
        });
        match code.and_then(StsCode::parse) {
            Some(StsCode::IdpCommunicationError) => transient,
            Some(StsCode::InvalidClientTokenId)
                if self
                    .propagation_retries_left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok() =>
            {
                transient
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "STS error codes"
    }
}

/// The answer was cut at [`MAX_STS_ANSWER`] by [`CapAnswerSize`].
fn is_oversized(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// What a successful assume call returned.
#[derive(Debug)]
pub struct Assumed {
    pub credentials: Credentials,
    /// `arn:aws:sts::123456789012:assumed-role/NAME/SESSION`
    pub assumed_role_arn: String,
}

impl Assumed {
    /// The account id, read from the assumed-role ARN (no extra round trip).
    pub fn account_id(&self) -> Option<AccountId> {
        AccountId::from_arn(&self.assumed_role_arn)
    }
}

/// Completes a bare role name with the caller's account and partition (from
/// `GetCallerIdentity`), so China and GovCloud callers get their own ARNs.
pub fn role_in_callers_account(
    name: &RoleName,
    account: &str,
    caller_arn: &str,
) -> Result<RoleArn, Box<StsFailure>> {
    let partition = caller_arn
        .split(':')
        .nth(1)
        .and_then(|p| Partition::parse(p).ok());
    match (AccountId::parse(account), partition) {
        (Ok(account), Some(partition)) => Ok(RoleArn::new(partition, &account, name)),
        _ => Err(Box::new(StsFailure {
            operation: StsOperation::GetCallerIdentity,
            message: "STS answered with a caller account or ARN that is not valid".into(),
            ..Default::default()
        })),
    }
}

/// How every "answer is not valid" failure message starts (the explainer keys on it).
pub const INVALID_ANSWER: &str = "the answer is not valid";

fn convert(
    creds: Option<&aws_sdk_sts::types::Credentials>,
    arn: Option<&str>,
    operation: StsOperation,
) -> Result<Assumed, Box<StsFailure>> {
    let invalid = |problem: &str| {
        Box::new(StsFailure {
            operation,
            message: format!("{INVALID_ANSWER}: {problem}"),
            ..Default::default()
        })
    };
    let (Some(c), Some(arn)) = (creds, arn) else {
        return Err(invalid("it has no credentials or no assumed-role ARN"));
    };
    let expiration = c
        .expiration()
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .map_err(|_| invalid("its expiration cannot be read"))?;
    let assumed = Assumed {
        credentials: Credentials {
            access_key_id: Secret::new(c.access_key_id()),
            secret_access_key: Secret::new(c.secret_access_key()),
            session_token: Some(Secret::new(c.session_token())),
            expiration: Some(expiration),
        },
        assumed_role_arn: arn.to_owned(),
    };
    check_answer(&assumed, c.expiration()).map_err(|p| invalid(&p))?;
    Ok(assumed)
}

/// What every assumed session must look like. The SDK fills a missing element
/// with an empty string or the epoch, so a garbled or hostile answer would
/// otherwise pass as credentials: temporary keys without their session token,
/// an empty secret, an expiry in the past, or an ARN naming no account.
fn check_answer(assumed: &Assumed, expiration: &aws_smithy_types::DateTime) -> Result<(), String> {
    // The issuer's own rule is applied before anything is written (run.rs,
    // roles.rs); here only what no issuer sends: whitespace, control characters.
    assumed
        .credentials
        .check_shape_of(crate::secret::Issuer::Other)?;
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    if expiration.secs() <= now.secs() {
        return Err("its expiration is missing or in the past".into());
    }
    if assumed.account_id().is_none() {
        return Err("its assumed-role ARN names no 12-digit account".into());
    }
    Ok(())
}

/// Turns any SDK error into what the explainer needs, without ever including
/// the request (which may carry a token).
fn failure<E>(
    operation: StsOperation,
    role_arn: Option<&RoleArn>,
    err: SdkError<E, aws_smithy_runtime_api::http::Response>,
    typed: fn(&E) -> Option<StsCode>,
) -> Box<StsFailure>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut failure = StsFailure {
        operation,
        role_arn: role_arn.map(RoleArn::to_string),
        ..Default::default()
    };
    if is_malformed(&err) {
        failure.message = format!("{INVALID_ANSWER}: {MalformedAnswer}");
        return Box::new(failure);
    }
    match &err {
        SdkError::ServiceError(ctx) => service_error(&mut failure, ctx, typed),
        SdkError::TimeoutError(_) => {
            failure.transport = Some(format!(
                "timed out (each attempt {} s, all attempts {} s)",
                retry::STS_ATTEMPT_TIMEOUT.as_secs(),
                retry::STS_OPERATION_TIMEOUT.as_secs()
            ));
        }
        SdkError::ResponseError(ctx) => {
            failure.http_status = Some(ctx.raw().status().as_u16());
            failure.transport = Some(format!(
                "unreadable answer (HTTP {}): {}",
                ctx.raw().status().as_u16(),
                root_cause(&err)
            ));
        }
        _ => failure.transport = Some(one_line(&root_cause(&err))),
    }
    // Never the SDK error's Debug: it holds the raw answer, whose body may carry
    // credentials that were never masked (an answer refused while being read).
    tracing::debug!(
        code = %failure.code_text,
        status = ?failure.http_status,
        transport = ?failure.transport,
        "STS call failed"
    );
    Box::new(failure)
}

/// What STS answered: its code and message (also from an `<Errors>` wrapper
/// some emulators use), request id and status; or that it was no STS answer.
fn service_error<E>(
    failure: &mut StsFailure,
    ctx: &aws_smithy_runtime_api::client::result::ServiceError<
        E,
        aws_smithy_runtime_api::http::Response,
    >,
    typed: fn(&E) -> Option<StsCode>,
) where
    E: ProvideErrorMetadata,
{
    let e = ctx.err();
    failure.code = typed(e);
    failure.code_text = one_line(e.code().unwrap_or_default());
    failure.message = one_line(e.message().unwrap_or_default());
    // Query-protocol errors carry the id in a header rather than the body.
    failure.request_id = e
        .meta()
        .request_id()
        .or_else(|| ctx.raw().headers().get("x-amzn-requestid"))
        .map(one_line);
    failure.http_status = Some(ctx.raw().status().as_u16());
    if failure.code_text.is_empty() {
        // Some emulators and proxies wrap the error as <Errors><Error>,
        // which the SDK's parser does not read; the code is still there.
        if let Some(body) = ctx.raw().body().bytes() {
            let text = String::from_utf8_lossy(&body[..body.len().min(16 * 1024)]);
            failure.code_text = one_line(&xml_element(&text, "Code").unwrap_or_default());
            failure.message = one_line(&xml_element(&text, "Message").unwrap_or_default());
        }
    }
    if failure.code.is_none() {
        failure.code = StsCode::parse(&failure.code_text);
    }
    if failure.code_text.is_empty() && failure.message.is_empty() {
        // Not an STS answer at all (an HTML error page, a proxy's reply, bad XML).
        let status = ctx.raw().status().as_u16();
        let kind = ctx.raw().headers().get("content-type").map(one_line);
        let len = ctx.raw().body().bytes().map_or(0, <[u8]>::len);
        failure.message = format!(
            "the answer (HTTP {status}, {}, {len} bytes) is not an STS response",
            kind.as_deref().unwrap_or("no content type")
        );
    }
}

/// The text of the first `<name>` element, with the five XML entities decoded.
fn xml_element(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + text[start..].find(&format!("</{name}>"))?;
    Some(
        text[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

fn is_malformed(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<MalformedAnswer>() {
            return true;
        }
        source = e.source();
    }
    false
}

pub(crate) fn root_cause(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    text
}

pub async fn assume_role_with_web_identity(
    client: &aws_sdk_sts::Client,
    role: &RoleArn,
    session: &SessionOptions,
    token: &Secret,
) -> Result<Assumed, Box<StsFailure>> {
    assume_role_with_web_identity_until(client, role, session, token, None).await
}

/// [`assume_role_with_web_identity`], with no retry whose wait would end
/// after `stop_retrying` (the moment the token should be replaced by a
/// fresh one: see [`retry::token_refresh_in`]). The call then fails with the
/// error of its last attempt, and the caller can ask again with a new token.
pub async fn assume_role_with_web_identity_until(
    client: &aws_sdk_sts::Client,
    role: &RoleArn,
    session: &SessionOptions,
    token: &Secret,
    stop_retrying: Option<&retry::StopRetryingAt>,
) -> Result<Assumed, Box<StsFailure>> {
    use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError as E;
    const OP: StsOperation = StsOperation::AssumeRoleWithWebIdentity;
    let call = client
        .assume_role_with_web_identity()
        .role_arn(role.as_str())
        .role_session_name(session.name.as_str())
        .duration_seconds(session.duration_seconds)
        .web_identity_token(token.expose())
        .set_policy(session.inline_policy.clone())
        .set_policy_arns(policy_descriptors(&session.managed_policies));
    let sent = match stop_retrying {
        Some(stop) => retry::with_token_deadline(stop.clone(), call.send()).await,
        None => call.send().await,
    };
    let out = sent.map_err(|e| {
        failure(OP, Some(role), e, |e| match e {
            E::ExpiredTokenException(_) => Some(StsCode::ExpiredToken),
            E::IdpCommunicationErrorException(_) => Some(StsCode::IdpCommunicationError),
            E::IdpRejectedClaimException(_) => Some(StsCode::IdpRejectedClaim),
            E::InvalidIdentityTokenException(_) => Some(StsCode::InvalidIdentityToken),
            E::MalformedPolicyDocumentException(_) => Some(StsCode::MalformedPolicyDocument),
            E::PackedPolicyTooLargeException(_) => Some(StsCode::PackedPolicyTooLarge),
            E::RegionDisabledException(_) => Some(StsCode::RegionDisabled),
            _ => e.code().and_then(StsCode::parse),
        })
    })?;
    convert(
        out.credentials(),
        out.assumed_role_user().map(|u| u.arn()),
        OP,
    )
}

pub struct AssumeRoleParams<'a> {
    pub role_arn: &'a RoleArn,
    pub session: &'a SessionOptions,
    pub external_id: Option<&'a str>,
    pub tags: Option<&'a [Tag]>,
    pub transitive_tag_keys: &'a [String],
}

pub async fn assume_role(
    client: &aws_sdk_sts::Client,
    p: &AssumeRoleParams<'_>,
) -> Result<Assumed, Box<StsFailure>> {
    use aws_sdk_sts::operation::assume_role::AssumeRoleError as E;
    const OP: StsOperation = StsOperation::AssumeRole;
    let tags = p.tags.map(|tags| {
        tags.iter()
            .filter_map(|t| {
                aws_sdk_sts::types::Tag::builder()
                    .key(&t.key)
                    .value(&t.value)
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>()
    });
    let transitive = if p.tags.is_some() && !p.transitive_tag_keys.is_empty() {
        Some(p.transitive_tag_keys.to_vec())
    } else {
        None
    };
    let out = client
        .assume_role()
        .role_arn(p.role_arn.as_str())
        .role_session_name(p.session.name.as_str())
        .duration_seconds(p.session.duration_seconds)
        .set_external_id(p.external_id.map(str::to_owned))
        .set_policy(p.session.inline_policy.clone())
        .set_policy_arns(policy_descriptors(&p.session.managed_policies))
        .set_tags(tags)
        .set_transitive_tag_keys(transitive)
        .send()
        .await
        .map_err(|e| {
            failure(OP, Some(p.role_arn), e, |e| match e {
                E::ExpiredTokenException(_) => Some(StsCode::ExpiredToken),
                E::MalformedPolicyDocumentException(_) => Some(StsCode::MalformedPolicyDocument),
                E::PackedPolicyTooLargeException(_) => Some(StsCode::PackedPolicyTooLarge),
                E::RegionDisabledException(_) => Some(StsCode::RegionDisabled),
                _ => e.code().and_then(StsCode::parse),
            })
        })?;
    convert(
        out.credentials(),
        out.assumed_role_user().map(|u| u.arn()),
        OP,
    )
}

/// `(account, arn)` of whoever signs with the client's credentials.
pub async fn get_caller_identity(
    client: &aws_sdk_sts::Client,
) -> Result<(String, String), Box<StsFailure>> {
    const OP: StsOperation = StsOperation::GetCallerIdentity;
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| failure(OP, None, e, |e| e.code().and_then(StsCode::parse)))?;
    // An answer without a valid account or ARN is not an identity.
    match (out.account().map(AccountId::parse), out.arn()) {
        (Some(Ok(account)), Some(arn)) if arn.starts_with("arn:") => {
            Ok((account.to_string(), one_line(arn)))
        }
        _ => Err(Box::new(StsFailure {
            operation: OP,
            message: format!("{INVALID_ANSWER}: it has no 12-digit account or no caller ARN"),
            ..Default::default()
        })),
    }
}

fn policy_descriptors(arns: &[String]) -> Option<Vec<aws_sdk_sts::types::PolicyDescriptorType>> {
    if arns.is_empty() {
        return None;
    }
    Some(
        arns.iter()
            .map(|a| {
                aws_sdk_sts::types::PolicyDescriptorType::builder()
                    .arn(a)
                    .build()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_take_the_callers_partition() {
        let name = RoleName::parse("deploy").unwrap();
        let arn =
            role_in_callers_account(&name, "210987654321", "arn:aws-cn:iam::210987654321:user/u")
                .unwrap();
        assert_eq!(arn.as_str(), "arn:aws-cn:iam::210987654321:role/deploy");
        assert!(role_in_callers_account(&name, "x", "arn:aws:iam::1:user/u").is_err());
    }

    #[test]
    fn only_well_formed_answers_pass() {
        assert!(well_formed_xml(
            b"<?xml version=\"1.0\"?>\n<R xmlns=\"x\"><A>1</A><B/><!-- c --></R>\n"
        ));
        for bad in [
            &b"<R><A>1</A><B></Arn</R>"[..],
            b"<R><A>1</A>",
            b"<R></R><R></R>",
            b"<R><A></B></R>",
            b"junk<R></R>",
            b"",
            b"<R>\xff</R>",
        ] {
            assert!(!well_formed_xml(bad), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn error_elements_are_read_from_any_wrapping() {
        let body = "<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>a &amp; b</Message></Error></Errors></ErrorResponse>";
        assert_eq!(xml_element(body, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(xml_element(body, "Message").as_deref(), Some("a & b"));
        assert_eq!(xml_element("<Code>x", "Code"), None);
    }
}
