//! The action's side of the exchange engine (`src/exchange/`): what a run
//! obtained and whose it is, the progress lines and masks the engine's
//! events become in the runner's log, and the account checks. Shared by the
//! single-role run ([`crate::run`]) and the `roles` run ([`crate::run_profiles`]).

use crate::aws_names::AccountId;
use crate::error::Error;
use crate::exchange::chain::{ChainError, Issued};
use crate::exchange::connection::Connection;
use crate::exchange::events::{Event, Observer};
use crate::exchange::token::{self, Reading, Token, TokenError};
use crate::plan::{Plan, TokenSource};
use crate::secret::Credentials;
use crate::workflow;

/// How a run's credentials were obtained, for the log line and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The runner's OIDC token, exchanged for the role.
    Oidc,
    /// `web-identity-token-file`, exchanged for the role.
    TokenFile,
    /// `AssumeRole` signed by the previous credentials.
    RoleChaining,
    /// `AssumeRole` signed by the keys given as inputs.
    KeysThenAssumeRole,
    /// `AssumeRole` signed by the environment's credentials (no OIDC token).
    ExistingThenAssumeRole,
    /// The keys given as inputs, as they are.
    Keys,
    /// The environment's credentials, as they are.
    Existing,
    /// Nothing: no role and no keys (`web-identity-token-file` alone).
    Nothing,
    /// The OIDC token as a Cognito identity pool's login (src/cognito/).
    IdentityPool,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::Oidc => "OIDC",
            How::TokenFile => "web identity token file",
            How::RoleChaining => "role chaining",
            How::KeysThenAssumeRole => "access keys → AssumeRole",
            How::ExistingThenAssumeRole => "existing credentials → AssumeRole",
            How::Keys => "access keys",
            How::Existing => "existing credentials",
            How::Nothing => "nothing (no role to assume)",
            How::IdentityPool => "OIDC → Cognito identity pool",
        }
    }

    /// A web identity exchanged with a token from `source`.
    pub fn of_token(source: &TokenSource) -> How {
        match source {
            TokenSource::File(_) => How::TokenFile,
            _ => How::Oidc,
        }
    }
}

impl std::fmt::Display for How {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the run did, for the log line and the step summary.
#[derive(Debug)]
pub struct Identity {
    pub how: How,
    pub arn: String,
    pub account: String,
    pub session_name: Option<String>,
    pub expiration: Option<String>,
}

/// Credentials together with who they are.
pub struct Session {
    pub credentials: Credentials,
    pub identity: Identity,
}

impl Session {
    /// A role session the engine issued.
    pub fn assumed(issued: Issued, how: How) -> Option<Session> {
        let assumed = issued.session?;
        Some(Session {
            identity: Identity {
                how,
                account: AccountId::from_arn(&assumed.arn)
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                arn: assumed.arn,
                session_name: Some(assumed.name.to_string()),
                expiration: issued.credentials.expiration.clone(),
            },
            credentials: issued.credentials,
        })
    }
}

/// The engine's events in the runner's log: secrets masked at once,
/// accounts masked with `mask-aws-account-id`, progress as plain lines.
pub struct ActionLog<'a> {
    pub plan: &'a Plan,
}

impl Observer for ActionLog<'_> {
    fn on(&self, event: Event<'_>) {
        match event {
            Event::Secret(secret) => workflow::add_mask(secret),
            Event::Account(account) => learned_account(self.plan, account),
            Event::RequestingToken { audience } => {
                workflow::info(&format!("Requesting an OIDC token for audience {audience}"))
            }
            Event::Assuming {
                role,
                call,
                session,
            } => workflow::info(&format!(
                "Assuming {role} with {} (session {}, {} s)",
                call.as_str(),
                session.name,
                session.duration_seconds
            )),
            Event::IdentityPool { pool, login, role } => workflow::info(&format!(
                "Getting credentials from Cognito identity pool {pool} (login {login}{})",
                role.map(|r| format!(", role {r}")).unwrap_or_default()
            )),
            Event::SessionTags(keys) => {
                workflow::info(&format!("Session tags: {}", keys.join(", ")))
            }
            Event::OptionalTagsDropped(kept) => workflow::info(&format!(
                "STS says the session tags are too large; retrying once with only: {}",
                kept.join(", ")
            )),
            Event::SpecialCharactersReissue => workflow::info("special-characters-workaround: the secret key has special characters; asking for new credentials"),
            Event::RenewingToken => workflow::info(
                "STS is still throttling and the token is due for replacement: fetching a fresh one.",
            ),
            Event::AmbientUnusable(problem) => workflow::info(&format!(
                "The environment's credentials are not usable: {problem}"
            )),
        }
    }
}

/// How the plan reaches STS.
pub fn connection(plan: &Plan) -> Connection<'_> {
    Connection {
        region: &plan.region,
        endpoint: plan.network.sts_endpoint.as_ref(),
        variant: plan.network.endpoint_variant,
        proxy: &plan.network.proxy,
        max_attempts: plan.network.retry.max_attempts,
        time_limit: plan.network.action_timeout,
        secret_key: plan.secret_key,
        unreachable_note: plan.network.container_loopback.as_deref(),
    }
}

/// Requests the token, or reads it from its file; masked at once.
pub async fn fetch_token(plan: &Plan, source: &TokenSource) -> Result<Token, Error> {
    let reading = Reading {
        proxy: &plan.network.proxy,
        max_attempts: plan.network.retry.max_attempts,
        workspace: plan.runner.workspace.as_deref(),
        env: &|_| None,
    };
    token::fetch(source, &reading, &ActionLog { plan })
        .await
        .map_err(|e| match e {
            // The token request goes through the same proxy: say why it failed.
            TokenError::Request(Error::TokenRequest { detail, attempts })
                if loopback_proxy_in_container(plan) =>
            {
                Error::TokenRequest {
                    detail: format!("{detail} (the proxy points at localhost, which inside this container is not the runner: see the warning above)"),
                    attempts,
                }
            }
            TokenError::Request(e) | TokenError::File(e) => e,
            other => Error::Internal(other.problem()),
        })
}

/// The proxy points at localhost while this runs as a container action.
fn loopback_proxy_in_container(plan: &Plan) -> bool {
    let proxy = &plan.network.proxy;
    plan.network.container_loopback.is_some()
        && [&proxy.https, &proxy.http]
            .into_iter()
            .flatten()
            .any(crate::inputs::network::is_loopback)
}

/// An engine failure as the action reports it; `no_credentials` says what
/// missing ambient credentials mean for this plan.
pub fn chain_error(e: ChainError, no_credentials: impl FnOnce() -> Error) -> Error {
    match e {
        ChainError::NoAmbientCredentials => no_credentials(),
        ChainError::Refused(refusal) => refusal.into(),
        ChainError::Pool(error) => *error,
    }
}

/// With `mask-aws-account-id`, an account is masked the moment it is learned,
/// before any line (progress, error, summary) can name it.
pub fn learned_account(plan: &Plan, account: &str) {
    if plan.account.mask {
        crate::mask::account(account);
    }
}

/// `allowed-account-ids`, and `mask-aws-account-id` for the whole identity.
pub fn check_account(plan: &Plan, identity: &Identity) -> Result<(), Error> {
    learned_account(plan, &identity.account);
    if plan.account.mask {
        // The whole identity too, as the reference action does.
        crate::mask::account(&identity.arn);
    }
    let allowed = &plan.account.allowed;
    // No identity (`Identify::Skip`): no credentials are handed on, nothing to guard.
    if !allowed.is_empty()
        && !identity.account.is_empty()
        && !allowed.iter().any(|a| a.as_str() == identity.account)
    {
        return Err(Error::AccountNotAllowed {
            account: identity.account.clone(),
            allowed: allowed.clone(),
        });
    }
    Ok(())
}
