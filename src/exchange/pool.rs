//! A Cognito identity pool as the engine's source (src/cognito/): the token
//! is the pool's login for its issuer, Cognito assumes the role with the
//! token's claims as principal tags, with the STS connection's proxy,
//! timeouts and retry schedule. The answer names no role: the caller asks
//! `GetCallerIdentity` whose the credentials are.

use super::calls::SPECIAL_CHARACTERS_ATTEMPTS;
use super::connection::Connection;
use super::events::{Event, Observer};
use super::refusal;
use super::token::Token;
use crate::aws_names::RoleArn;
use crate::cognito;
use crate::error::Error;
use crate::plan::{PoolLogin, SecretKeyRule};
use crate::secret::Credentials;

/// `GetId` + `GetCredentialsForIdentity`; with `special-characters-workaround`
/// asked again (each answer is a new session) until the secret key is
/// letters and digits. A refusal is explained (src/cognito/explain.rs).
pub async fn credentials(
    connection: &Connection<'_>,
    login: &PoolLogin,
    role: Option<&RoleArn>,
    token: &Token,
    observer: &dyn Observer,
) -> Result<Credentials, Box<Error>> {
    let key = token
        .claims
        .as_ref()
        .and_then(|c| c.iss.as_deref())
        .and_then(cognito::login::login_key)
        .ok_or_else(|| Box::new(Error::InvalidCredentials {
            problem: "the token has no https `iss` claim, so it cannot be an identity pool's login (the pool names its provider by the issuer)".into(),
        }))?;
    observer.on(Event::IdentityPool {
        pool: &login.pool,
        login: &key,
        role,
    });
    let client = cognito::exchange::client(cognito::exchange::ClientSettings {
        pool: &login.pool,
        endpoint: login.endpoint.as_ref(),
        proxy: connection.proxy,
        retry: crate::retry::StsSchedule::new(connection.max_attempts, connection.time_limit),
    });
    let request = cognito::exchange::PoolRequest {
        pool: &login.pool,
        login: &key,
        token: &token.secret,
        role,
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let issued = cognito::exchange::credentials(&client, &request)
            .await
            .map_err(|failure| Box::new(refusal::explain_pool(failure, token, &key, login)))?;
        let credentials = issued.credentials;
        credentials
            .secrets()
            .for_each(|s| observer.on(Event::Secret(s)));
        tracing::debug!(identity = %issued.identity_id, "identity pool issued credentials");
        let plain = credentials
            .secret_access_key
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric());
        if plain
            || connection.secret_key != SecretKeyRule::AlphanumericOnly
            || attempts >= SPECIAL_CHARACTERS_ATTEMPTS
        {
            return Ok(credentials);
        }
        observer.on(Event::SpecialCharactersReissue);
    }
}
