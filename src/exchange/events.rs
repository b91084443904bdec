//! What the engine reports while it works. The engine prints nothing: the
//! action turns these into progress lines and `::add-mask::` commands, the
//! command line masks on stderr, the refresh helper stays silent.

use crate::aws_names::{IdentityPoolId, RoleArn};
use crate::plan::SessionOptions;
use crate::secret::Secret;

/// One thing the engine did or learned.
#[derive(Debug)]
pub enum Event<'a> {
    /// A secret was learned (a token, keys): mask it before anything else.
    Secret(&'a Secret),
    /// An account was learned (from an assumed-role ARN or `GetCallerIdentity`).
    Account(&'a str),
    /// A token is being requested for this audience.
    RequestingToken { audience: &'a str },
    /// A role is about to be assumed.
    Assuming {
        role: &'a RoleArn,
        call: Call,
        session: &'a SessionOptions,
    },
    /// A Cognito identity pool is about to be given the token as its login
    /// (the key is the issuer without `https://`), for this role if any.
    IdentityPool {
        pool: &'a IdentityPoolId,
        login: &'a str,
        role: Option<&'a RoleArn>,
    },
    /// The keys of the session tags sent with `AssumeRole`.
    SessionTags(Vec<&'a str>),
    /// STS said the packed tags are too large: asking once more with only these.
    OptionalTagsDropped(Vec<&'a str>),
    /// `special-characters-workaround`: the secret key had special characters.
    SpecialCharactersReissue,
    /// STS is still throttling and the token is due for replacement: a fresh
    /// one is requested (a storm must not outlive the token).
    RenewingToken,
    /// The environment holds credentials, but not of the shape AWS issues.
    AmbientUnusable(&'a str),
}

/// Which STS call assumes a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    AssumeRoleWithWebIdentity,
    AssumeRole,
}

impl Call {
    pub fn as_str(self) -> &'static str {
        match self {
            Call::AssumeRoleWithWebIdentity => "AssumeRoleWithWebIdentity",
            Call::AssumeRole => "AssumeRole",
        }
    }
}

/// Receives the engine's events. Implemented by each front end.
pub trait Observer {
    fn on(&self, event: Event<'_>);
}

/// An observer that keeps nothing (the refresh helper prints nothing but its
/// answer, and has no log to mask).
pub struct Silent;

impl Observer for Silent {
    fn on(&self, _: Event<'_>) {}
}
