//! The one place where an STS failure becomes an explanation: what STS said
//! (the cause) and what to change (the fix), from what was sent.

use super::connection::Connection;
use super::token::Token;
use crate::error::{Error, StsFailure, StsOperation};
use crate::explain::{self, Context};
use crate::plan::SessionOptions;

/// An STS call that failed, explained.
#[derive(Debug)]
pub struct Refusal {
    pub failure: Box<StsFailure>,
    pub cause: String,
    pub fix: String,
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        Error::Sts {
            failure: r.failure,
            cause: r.cause,
            fix: r.fix,
        }
    }
}

/// What was sent with the call that failed.
#[derive(Default)]
pub struct Sent<'a> {
    /// The token of a web-identity call.
    pub token: Option<&'a Token>,
    /// The session asked for (none for `GetCallerIdentity`).
    pub session: Option<&'a SessionOptions>,
    /// Session tags went with an `AssumeRole`.
    pub tags: bool,
    /// The call was signed with temporary credentials (a chained role).
    pub chained: bool,
}

/// An identity pool's refusal, explained with the token's claims (the text
/// is src/cognito/explain.rs, through `crate::explain::identity_pool`).
pub fn explain_pool(
    failure: Box<crate::cognito::failure::CognitoFailure>,
    token: &Token,
    login_key: &str,
    login: &crate::plan::PoolLogin,
) -> Error {
    let endpoint = login.endpoint.as_ref().map(crate::text::shown_url);
    let ctx = crate::cognito::explain::PoolContext {
        claims: token.claims.as_ref(),
        audience: token.audience(),
        default_audience: token
            .requested_audience
            .as_ref()
            .is_some_and(|a| a.as_str() == crate::aws_names::Audience::DEFAULT),
        login: Some(login_key),
        endpoint: endpoint.as_deref(),
    };
    let (cause, fix) = explain::identity_pool(&failure, &ctx);
    Error::Cognito {
        failure,
        cause,
        fix,
    }
}

/// Explains `failure` with what was sent and how STS was reached.
pub fn explain(failure: Box<StsFailure>, sent: &Sent<'_>, connection: &Connection<'_>) -> Refusal {
    let endpoint = connection.shown_endpoint();
    let ctx = Context {
        claims: sent.token.and_then(|t| t.claims.as_ref()),
        audience: sent.token.and_then(Token::audience),
        duration_seconds: sent.session.map_or(0, |s| s.duration_seconds),
        tags_sent: failure.operation == StsOperation::AssumeRole && sent.tags,
        chained: sent.chained,
        inline_policy: sent.session.is_some_and(|s| s.inline_policy.is_some()),
        endpoint: endpoint.as_deref(),
        region: connection.region.as_str(),
    };
    let (cause, mut fix) = explain::explain(&failure, &ctx);
    if let (None, Some(note)) = (&failure.code, connection.unreachable_note) {
        fix = format!("{note}\n\n{fix}");
    }
    Refusal {
        failure,
        cause,
        fix,
    }
}
