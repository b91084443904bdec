//! The two calls that assume a role, each with the retries that belong to an
//! exchange: optional session tags dropped once when STS says they are too
//! large, and a new secret when `special-characters-workaround` refuses one.

use super::connection::Connection;
use super::events::{Call, Event, Observer};
use super::refusal::{self, Refusal, Sent};
use super::token::{Reading, Token};
use crate::aws_names::RoleArn;
use crate::error::StsCode;
use crate::plan::{RoleHop, RoleTarget, SecretKeyRule, SessionOptions};
use crate::secret::Credentials;
use crate::sts::{self, AssumeRoleParams, Assumed};
use std::time::Instant;

/// How many times `special-characters-workaround` asks for new credentials.
pub const SPECIAL_CHARACTERS_ATTEMPTS: u32 = 10;

/// `AssumeRoleWithWebIdentity` with the token.
pub async fn web_identity(
    connection: &Connection<'_>,
    role: &RoleArn,
    session: &SessionOptions,
    token: &Token,
    observer: &dyn Observer,
) -> Result<Assumed, Refusal> {
    observer.on(Event::Assuming {
        role,
        call: Call::AssumeRoleWithWebIdentity,
        session,
    });
    let client = connection.client(None, false);
    let sent = Sent {
        token: Some(token),
        session: Some(session),
        ..Sent::default()
    };
    let mut attempts = 0;
    let mut renewing = Renewing {
        budget_ends: Instant::now() + crate::retry::throttle_budget(connection.time_limit),
        left: crate::retry::MAX_TOKEN_REFRESHES,
    };
    let mut fresh: Option<Token> = None;
    loop {
        attempts += 1;
        let token = fresh.as_ref().unwrap_or(token);
        let sent = Sent {
            token: Some(token),
            ..sent
        };
        let assumed = match renewing
            .call(connection, &client, role, session, token, observer)
            .await
        {
            Ok(Renewed::Assumed(assumed)) => assumed,
            Ok(Renewed::Fresh(new)) => {
                fresh = Some(*new);
                continue;
            }
            Err(f) => return Err(refusal::explain(f, &sent, connection)),
        };
        if let Some(assumed) = accept(connection, assumed, attempts, observer) {
            return Ok(assumed);
        }
    }
}

enum Renewed {
    Assumed(Assumed),
    /// The call was throttled until its token was due for replacement: this
    /// is a fresh one to call again with.
    Fresh(Box<Token>),
}

/// Keeps a long throttling storm from outliving a requested token: the
/// throttling budget counts from the first call, and at most
/// `retry::MAX_TOKEN_REFRESHES` fresh tokens are requested.
struct Renewing {
    budget_ends: Instant,
    left: u32,
}

impl Renewing {
    /// One `AssumeRoleWithWebIdentity`, whose throttling retries stop when the
    /// token is due for replacement; then a fresh token is requested the same
    /// way (the reference's retries end in ExpiredTokenException there).
    async fn call(
        &mut self,
        connection: &Connection<'_>,
        client: &aws_sdk_sts::Client,
        role: &RoleArn,
        session: &SessionOptions,
        token: &Token,
        observer: &dyn Observer,
    ) -> Result<Renewed, Box<crate::error::StsFailure>> {
        let stop = token
            .renewal
            .as_ref()
            .map(|r| crate::retry::StopRetryingAt::new(r.due.min(self.budget_ends)));
        let result = sts::assume_role_with_web_identity_until(
            client,
            role,
            session,
            &token.secret,
            stop.as_ref(),
        )
        .await;
        let (Err(failure), Some(renewal), Some(stop)) = (&result, &token.renewal, &stop) else {
            return result.map(Renewed::Assumed);
        };
        let renew = failure.code == Some(StsCode::Throttling)
            && stop.reached()
            && renewal.due < self.budget_ends
            && Instant::now() < self.budget_ends
            && self.left > 0;
        if !renew {
            return result.map(Renewed::Assumed);
        }
        self.left -= 1;
        observer.on(Event::RenewingToken);
        let reading = Reading {
            proxy: connection.proxy,
            max_attempts: connection.max_attempts,
            workspace: None,
            env: &|_| None,
        };
        match super::token::fetch(&renewal.source, &reading, observer).await {
            Ok(fresh) => Ok(Renewed::Fresh(Box::new(fresh))),
            // The throttling is what the user needs to read about.
            Err(_) => result.map(Renewed::Assumed),
        }
    }
}

/// `AssumeRole` for one hop, signed by `signer`. `chained`: the signer is a
/// session issued moments ago (role chaining).
pub async fn assume_role(
    connection: &Connection<'_>,
    hop: &RoleHop,
    signer: &Credentials,
    chained: bool,
    observer: &dyn Observer,
) -> Result<Assumed, Refusal> {
    let client = connection.client(Some(signer), chained);
    let session = &hop.session;
    let sent = Sent {
        session: Some(session),
        tags: hop.tags.is_some(),
        chained,
        ..Sent::default()
    };
    let arn = role_arn(connection, &client, &hop.target, &sent, observer).await?;
    observer.on(Event::Assuming {
        role: &arn,
        call: Call::AssumeRole,
        session,
    });
    let mut tags = hop.tags.clone();
    if let Some(t) = &tags {
        observer.on(Event::SessionTags(
            t.iter().map(|t| t.key.as_str()).collect(),
        ));
    }
    let mut dropped_optional = false;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let params = AssumeRoleParams {
            role_arn: &arn,
            session,
            external_id: hop.external_id.as_deref(),
            tags: tags.as_deref(),
            transitive_tag_keys: &hop.transitive_tag_keys,
        };
        match sts::assume_role(&client, &params).await {
            Ok(assumed) => {
                if let Some(assumed) = accept(connection, assumed, attempts, observer) {
                    return Ok(assumed);
                }
            }
            Err(f)
                if f.code == Some(StsCode::PackedPolicyTooLarge)
                    && !dropped_optional
                    && tags.as_ref().is_some_and(|t| t.iter().any(|t| t.optional)) =>
            {
                dropped_optional = true;
                let kept = crate::tags::without_optional(tags.as_deref().unwrap_or_default());
                observer.on(Event::OptionalTagsDropped(
                    kept.iter().map(|t| t.key.as_str()).collect(),
                ));
                tags = Some(kept);
            }
            Err(f) => return Err(refusal::explain(f, &sent, connection)),
        }
    }
}

/// The hop's role: a full ARN, or a bare name completed with the signing
/// caller's own account and partition (China and GovCloud included).
async fn role_arn(
    connection: &Connection<'_>,
    client: &aws_sdk_sts::Client,
    target: &RoleTarget,
    sent: &Sent<'_>,
    observer: &dyn Observer,
) -> Result<RoleArn, Refusal> {
    match target {
        RoleTarget::Arn(arn) => Ok(arn.clone()),
        RoleTarget::Name(name) => {
            let fail = |f| refusal::explain(f, sent, connection);
            let (account, caller) = sts::get_caller_identity(client).await.map_err(fail)?;
            observer.on(Event::Account(&account));
            sts::role_in_callers_account(name, &account, &caller).map_err(fail)
        }
    }
}

/// Who `credentials` are (`GetCallerIdentity`): `(account, arn)`.
pub async fn caller_identity(
    connection: &Connection<'_>,
    credentials: &Credentials,
    observer: &dyn Observer,
) -> Result<(String, String), Refusal> {
    let client = connection.client(Some(credentials), false);
    let (account, arn) = sts::get_caller_identity(&client)
        .await
        .map_err(|f| refusal::explain(f, &Sent::default(), connection))?;
    observer.on(Event::Account(&account));
    Ok((account, arn))
}

/// Reports the new secrets and the account; `None` to ask again when the
/// secret key must be letters and digits only.
fn accept(
    connection: &Connection<'_>,
    assumed: Assumed,
    attempts: u32,
    observer: &dyn Observer,
) -> Option<Assumed> {
    assumed
        .credentials
        .secrets()
        .for_each(|s| observer.on(Event::Secret(s)));
    if connection.secret_key == SecretKeyRule::AlphanumericOnly
        && attempts < SPECIAL_CHARACTERS_ATTEMPTS
        && !assumed
            .credentials
            .secret_access_key
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
    {
        observer.on(Event::SpecialCharactersReissue);
        return None;
    }
    if let Some(account) = assumed.account_id() {
        observer.on(Event::Account(account.as_str()));
    }
    Some(assumed)
}
