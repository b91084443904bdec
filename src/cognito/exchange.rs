//! The two Cognito Identity calls of the enhanced flow, through the AWS SDK
//! for Rust, with the HTTP client, proxy, timeouts and retry schedule the STS
//! client uses (src/sts.rs, src/retry.rs). Both calls are unsigned: the
//! token in `Logins` is the only proof, so no credentials are configured.

use super::failure::{CognitoCode, CognitoFailure, CognitoOperation};
use crate::aws_names::{IdentityPoolId, RoleArn};
use crate::plan::Proxy;
use crate::retry;
use crate::secret::{Credentials, Secret};
use crate::text::one_line;
use aws_sdk_cognitoidentity::config::{BehaviorVersion, Region};
use aws_sdk_cognitoidentity::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentity::operation::RequestId;

/// How the Cognito Identity client is set up for one run.
pub struct ClientSettings<'a> {
    pub pool: &'a IdentityPoolId,
    /// AWS_ENDPOINT_URL_COGNITO_IDENTITY (or AWS_ENDPOINT_URL): an emulator.
    pub endpoint: Option<&'a url::Url>,
    pub proxy: &'a Proxy,
    pub retry: retry::StsSchedule,
}

/// A client for the pool's own region (the prefix of its id): Cognito finds
/// a pool only at that region's endpoint, whatever `aws-region` exports.
pub fn client(settings: ClientSettings<'_>) -> aws_sdk_cognitoidentity::Client {
    let schedule = settings.retry;
    let (schedule_classifier, operation_clock) = schedule.hooks();
    let mut builder = aws_sdk_cognitoidentity::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(crate::sts::http_client(settings.endpoint, settings.proxy))
        .region(Region::new(settings.pool.region().to_owned()))
        .retry_config(schedule.sdk_retry_config())
        .timeout_config(schedule.sdk_timeout_config())
        .interceptor(crate::sts::CapAnswerSize)
        .interceptor(operation_clock)
        .retry_classifier(schedule_classifier);
    if let Some(endpoint) = settings.endpoint {
        builder = builder.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    aws_sdk_cognitoidentity::Client::from_conf(builder.build())
}

/// What the pool is asked for.
pub struct PoolRequest<'a> {
    pub pool: &'a IdentityPoolId,
    /// The `Logins` key: the issuer without `https://` (see `login::login_key`).
    pub login: &'a str,
    pub token: &'a Secret,
    /// `CustomRoleArn`: one of the roles the pool's rules allow; `None` for
    /// the pool's authenticated role (or the role its rules choose).
    pub role: Option<&'a RoleArn>,
}

/// What the pool handed out.
#[derive(Debug)]
pub struct PoolCredentials {
    pub credentials: Credentials,
    /// The pool's identity for this login (not secret: it names no one).
    pub identity_id: String,
}

/// Token + pool + optional role → credentials, or a typed refusal.
/// `GetId` finds the identity for the login, `GetCredentialsForIdentity`
/// has Cognito assume the role with the mapped claims as principal tags.
pub async fn credentials(
    client: &aws_sdk_cognitoidentity::Client,
    request: &PoolRequest<'_>,
) -> Result<PoolCredentials, Box<CognitoFailure>> {
    let identity_id = get_id(client, request).await?;
    let credentials = get_credentials(client, request, &identity_id).await?;
    Ok(PoolCredentials {
        credentials,
        identity_id,
    })
}

/// A failure of `operation` for this request, before any detail is known.
fn failure_for(request: &PoolRequest<'_>, operation: CognitoOperation) -> CognitoFailure {
    CognitoFailure {
        operation,
        pool_id: request.pool.to_string(),
        role_arn: request.role.map(RoleArn::to_string),
        ..Default::default()
    }
}

/// A well-formed answer that is not what Cognito issues.
fn invalid(
    request: &PoolRequest<'_>,
    operation: CognitoOperation,
    problem: &str,
) -> Box<CognitoFailure> {
    let mut f = failure_for(request, operation);
    f.message = format!("{INVALID_ANSWER}: {problem}");
    Box::new(f)
}

async fn get_id(
    client: &aws_sdk_cognitoidentity::Client,
    request: &PoolRequest<'_>,
) -> Result<String, Box<CognitoFailure>> {
    use aws_sdk_cognitoidentity::operation::get_id::GetIdError as G;
    const OP: CognitoOperation = CognitoOperation::GetId;
    let out = client
        .get_id()
        .identity_pool_id(request.pool.as_str())
        .logins(request.login, request.token.expose())
        .send()
        .await
        .map_err(|e| {
            failure(failure_for(request, OP), e, |e| match e {
                G::ResourceNotFoundException(_) => Some(CognitoCode::ResourceNotFound),
                G::NotAuthorizedException(_) => Some(CognitoCode::NotAuthorized),
                G::InvalidParameterException(_) => Some(CognitoCode::InvalidParameter),
                G::ExternalServiceException(_) => Some(CognitoCode::ExternalService),
                G::TooManyRequestsException(_) => Some(CognitoCode::TooManyRequests),
                _ => e.code().and_then(CognitoCode::parse),
            })
        })?;
    out.identity_id()
        .filter(|id| valid_identity_id(id))
        .map(str::to_owned)
        .ok_or_else(|| invalid(request, OP, "it has no identity id of the form REGION:GUID"))
}

async fn get_credentials(
    client: &aws_sdk_cognitoidentity::Client,
    request: &PoolRequest<'_>,
    identity_id: &str,
) -> Result<Credentials, Box<CognitoFailure>> {
    use aws_sdk_cognitoidentity::operation::get_credentials_for_identity::GetCredentialsForIdentityError as C;
    const OP: CognitoOperation = CognitoOperation::GetCredentialsForIdentity;
    let out = client
        .get_credentials_for_identity()
        .identity_id(identity_id)
        .logins(request.login, request.token.expose())
        .set_custom_role_arn(request.role.map(|r| r.as_str().to_owned()))
        .send()
        .await
        .map_err(|e| {
            failure(failure_for(request, OP), e, |e| match e {
                C::ResourceNotFoundException(_) => Some(CognitoCode::ResourceNotFound),
                C::NotAuthorizedException(_) => Some(CognitoCode::NotAuthorized),
                C::InvalidParameterException(_) => Some(CognitoCode::InvalidParameter),
                C::InvalidIdentityPoolConfigurationException(_) => {
                    Some(CognitoCode::InvalidIdentityPoolConfiguration)
                }
                C::ExternalServiceException(_) => Some(CognitoCode::ExternalService),
                C::TooManyRequestsException(_) => Some(CognitoCode::TooManyRequests),
                _ => e.code().and_then(CognitoCode::parse),
            })
        })?;
    convert(out.credentials()).map_err(|problem| invalid(request, OP, &problem))
}

/// What every issued session must look like: the SDK leaves a missing
/// element empty, so a garbled answer would otherwise pass as credentials.
fn convert(c: Option<&aws_sdk_cognitoidentity::types::Credentials>) -> Result<Credentials, String> {
    let c = c.ok_or("it has no credentials")?;
    let (Some(key), Some(secret), Some(session), Some(expiration)) = (
        c.access_key_id(),
        c.secret_key(),
        c.session_token(),
        c.expiration(),
    ) else {
        return Err("its credentials lack a key, secret, session token or expiration".into());
    };
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    if expiration.secs() <= now.secs() {
        return Err("its expiration is in the past".into());
    }
    let expiration = expiration
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .map_err(|_| "its expiration cannot be read".to_owned())?;
    let credentials = Credentials {
        access_key_id: Secret::new(key),
        secret_access_key: Secret::new(secret),
        session_token: Some(Secret::new(session)),
        expiration: Some(expiration),
    };
    credentials.check_shape()?;
    Ok(credentials)
}

/// How every "answer is not valid" failure message starts (the explainer keys on it).
pub const INVALID_ANSWER: &str = "the answer is not valid";

/// `REGION:GUID`, as Cognito issues identity ids.
fn valid_identity_id(id: &str) -> bool {
    id.len() <= 55
        && id.split_once(':').is_some_and(|(region, guid)| {
            !region.is_empty()
                && !guid.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && guid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        })
}

/// Turns an SDK error into what the explainer needs, never with the request
/// (it carries the token) nor the raw answer.
fn failure<E>(
    mut failure: CognitoFailure,
    err: SdkError<E, aws_smithy_runtime_api::http::Response>,
    typed: fn(&E) -> Option<CognitoCode>,
) -> Box<CognitoFailure>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            failure.code = typed(e);
            failure.code_text = one_line(e.code().unwrap_or_default());
            failure.message = one_line(e.message().unwrap_or_default());
            failure.request_id = e
                .meta()
                .request_id()
                .or_else(|| ctx.raw().headers().get("x-amzn-requestid"))
                .map(one_line);
            failure.http_status = Some(ctx.raw().status().as_u16());
            if failure.code_text.is_empty() && failure.message.is_empty() {
                let status = ctx.raw().status().as_u16();
                let len = ctx.raw().body().bytes().map_or(0, <[u8]>::len);
                failure.message = format!(
                    "{INVALID_ANSWER}: HTTP {status}, {len} bytes, not a Cognito Identity error"
                );
            }
        }
        SdkError::TimeoutError(_) => {
            failure.transport = Some(format!(
                "timed out (each attempt {} s, all attempts {} s)",
                retry::STS_ATTEMPT_TIMEOUT.as_secs(),
                retry::STS_OPERATION_TIMEOUT.as_secs()
            ));
        }
        SdkError::ResponseError(ctx) => {
            // An answer arrived but is not Cognito's (HTML, a proxy's page, cut JSON).
            failure.http_status = Some(ctx.raw().status().as_u16());
            failure.message = format!(
                "{INVALID_ANSWER}: unreadable (HTTP {}): {}",
                ctx.raw().status().as_u16(),
                one_line(&crate::sts::root_cause(&err))
            );
        }
        _ => failure.transport = Some(one_line(&crate::sts::root_cause(&err))),
    }
    tracing::debug!(
        operation = %failure.operation,
        code = %failure.code_text,
        status = ?failure.http_status,
        transport = ?failure.transport,
        "Cognito Identity call failed"
    );
    Box::new(failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_unexpired_credentials_pass() {
        use aws_sdk_cognitoidentity::types::Credentials as Answer;
        let future = aws_smithy_types::DateTime::from_secs(4_102_444_800);
        let whole = Answer::builder()
            .access_key_id("ASIAISSUEDBYCOGNITO1")
            .secret_key("secretKeyFromCognito0000000000000000000000")
            .session_token("SessionTokenFromCognito0000")
            .expiration(future)
            .build();
        let issued = convert(Some(&whole)).unwrap();
        assert_eq!(issued.expiration.as_deref(), Some("2100-01-01T00:00:00Z"));
        let no_token = Answer::builder()
            .access_key_id("ASIAISSUEDBYCOGNITO1")
            .secret_key("secretKeyFromCognito0000000000000000000000")
            .expiration(future)
            .build();
        assert!(convert(Some(&no_token)).is_err());
        let expired = Answer::builder()
            .access_key_id("ASIAISSUEDBYCOGNITO1")
            .secret_key("secretKeyFromCognito0000000000000000000000")
            .session_token("SessionTokenFromCognito0000")
            .expiration(aws_smithy_types::DateTime::from_secs(1))
            .build();
        assert!(convert(Some(&expired)).unwrap_err().contains("past"));
        assert!(convert(None).is_err());
    }

    #[test]
    fn identity_ids_have_the_pool_shape() {
        assert!(valid_identity_id(
            "eu-west-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
        ));
        assert!(!valid_identity_id(""));
        assert!(!valid_identity_id("eu-west-1:"));
        assert!(!valid_identity_id("eu-west-1:xyz"));
        assert!(!valid_identity_id("a\nb:0f"));
    }
}
