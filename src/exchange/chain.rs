//! A source's credentials, then role hops, each `AssumeRole` signed by the
//! credentials before it. The same for every front end and every source.

use super::calls;
use super::connection::Connection;
use super::events::Observer;
use super::refusal::Refusal;
use super::token::Token;
use crate::aws_names::{RoleArn, SessionName};
use crate::plan::{PoolLogin, RoleHop, SessionOptions};
use crate::secret::Credentials;

/// Where a chain's first credentials come from. A new kind of source (a
/// Cognito identity pool, say) is one more variant here and one more arm in
/// [`start`]; the hops, their retries and the explanations stay as they are.
pub enum Source<'a> {
    /// A web identity token exchanged for a role (`AssumeRoleWithWebIdentity`).
    WebIdentity {
        token: &'a Token,
        role: &'a RoleArn,
        session: &'a SessionOptions,
    },
    /// Keys the user gave.
    Keys(&'a Credentials),
    /// The credentials the environment holds, as any AWS SDK would find them.
    Ambient,
    /// A web identity token given to a Cognito identity pool as its login;
    /// `role` is the role asked of the pool (`CustomRoleArn`), if any.
    IdentityPool {
        token: &'a Token,
        login: &'a PoolLogin,
        role: Option<&'a RoleArn>,
    },
}

/// Credentials a chain produced.
pub struct Issued {
    pub credentials: Credentials,
    /// The last role session assumed; `None` when no role was assumed (keys
    /// or the environment's credentials delivered as they are).
    pub session: Option<AssumedSession>,
}

/// A role session: `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` and its name.
pub struct AssumedSession {
    pub arn: String,
    pub name: SessionName,
}

/// Why a chain produced no credentials.
#[derive(Debug)]
pub enum ChainError {
    /// [`Source::Ambient`], and the environment holds no usable credentials.
    NoAmbientCredentials,
    /// STS refused a call (explained).
    Refused(Refusal),
    /// The identity pool refused the login or could not be reached (explained).
    Pool(Box<crate::error::Error>),
}

impl From<Refusal> for ChainError {
    fn from(r: Refusal) -> Self {
        ChainError::Refused(r)
    }
}

/// The source's credentials, then one `AssumeRole` per hop.
pub async fn run(
    connection: &Connection<'_>,
    source: &Source<'_>,
    hops: &[RoleHop],
    observer: &dyn Observer,
) -> Result<Issued, ChainError> {
    let mut issued = start(connection, source, observer).await?;
    // Keys with a session token may have been issued moments ago; a web
    // identity session or the environment's credentials may be too.
    let mut fresh = match source {
        Source::Keys(keys) => keys.session_token.is_some(),
        Source::WebIdentity { .. } | Source::Ambient | Source::IdentityPool { .. } => true,
    };
    for hop in hops {
        let assumed =
            calls::assume_role(connection, hop, &issued.credentials, fresh, observer).await?;
        fresh = true;
        issued = Issued {
            credentials: assumed.credentials,
            session: Some(AssumedSession {
                arn: assumed.assumed_role_arn,
                name: hop.session.name.clone(),
            }),
        };
    }
    Ok(issued)
}

/// The source's own credentials.
async fn start(
    connection: &Connection<'_>,
    source: &Source<'_>,
    observer: &dyn Observer,
) -> Result<Issued, ChainError> {
    Ok(match source {
        Source::WebIdentity {
            token,
            role,
            session,
        } => {
            let assumed = calls::web_identity(connection, role, session, token, observer).await?;
            Issued {
                credentials: assumed.credentials,
                session: Some(AssumedSession {
                    arn: assumed.assumed_role_arn,
                    name: session.name.clone(),
                }),
            }
        }
        Source::Keys(keys) => Issued {
            credentials: (*keys).clone(),
            session: None,
        },
        Source::IdentityPool { token, login, role } => Issued {
            credentials: super::pool::credentials(connection, login, *role, token, observer)
                .await
                .map_err(ChainError::Pool)?,
            session: None,
        },
        Source::Ambient => Issued {
            credentials: connection
                .ambient_credentials(observer)
                .await
                .ok_or(ChainError::NoAmbientCredentials)?,
            session: None,
        },
    })
}
