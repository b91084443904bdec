//! Where a web identity token comes from, and reading it. Every front end
//! reads a token file with the hardened reader ([`crate::token_file`]).

use super::events::{Event, Observer};
use crate::aws_names::Audience;
use crate::error::Error;
use crate::jwt::{self, Claims};
use crate::plan::{Proxy, TokenSource};
use crate::secret::Secret;
use std::path::Path;
use std::time::{Duration, Instant};

/// A web identity token, with what is known about it.
pub struct Token {
    pub secret: Secret,
    /// The audience asked for, when the token was requested here (the
    /// runner's token request, `buildkite-agent`).
    pub requested_audience: Option<Audience>,
    /// `None` when the token is not a JWT.
    pub claims: Option<Claims>,
    /// When a requested token is due for replacement, and how to request the
    /// next one (src/retry.rs token_refresh_in()); `None` for other sources.
    pub renewal: Option<Renewal>,
}

/// How a requested token is replaced before it expires.
pub struct Renewal {
    pub due: Instant,
    pub source: TokenSource,
}

impl Token {
    /// The audience an explanation names: the one asked for, else the
    /// token's own first `aud` (CircleCI's organisation id, a file's token).
    pub fn audience(&self) -> Option<&str> {
        match &self.requested_audience {
            Some(audience) => Some(audience.as_str()),
            None => self
                .claims
                .as_ref()
                .and_then(|c| c.aud.first())
                .map(String::as_str),
        }
    }
}

/// What reading a token needs besides its source.
pub struct Reading<'a> {
    pub proxy: &'a Proxy,
    /// Attempts of the runner's token request.
    pub max_attempts: u32,
    /// Where a relative token file path may lead (`GITHUB_WORKSPACE`).
    pub workspace: Option<&'a Path>,
    /// The environment a [`TokenSource::Env`] variable is read from.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Why no token was obtained.
#[derive(Debug)]
pub enum TokenError {
    /// The runner's token request failed ([`Error::TokenRequest`]).
    Request(Error),
    /// The token file is unusable ([`Error::TokenFile`]).
    File(Error),
    /// The variable that should hold the token is unset or empty.
    Unset { variable: String },
    /// `buildkite-agent oidc request-token` failed.
    Agent { problem: String },
}

impl TokenError {
    /// The problem, one line.
    pub fn problem(&self) -> String {
        match self {
            TokenError::Request(e) | TokenError::File(e) => e.to_string(),
            TokenError::Unset { variable } => format!("${variable} is not set or empty"),
            TokenError::Agent { problem } => problem.clone(),
        }
    }
}

/// Requests or reads the token; reports it as a secret at once.
pub async fn fetch(
    source: &TokenSource,
    reading: &Reading<'_>,
    observer: &dyn Observer,
) -> Result<Token, TokenError> {
    let (secret, requested_audience) = match source {
        TokenSource::Request {
            url,
            bearer,
            audience,
        } => {
            observer.on(Event::Secret(bearer));
            observer.on(Event::RequestingToken {
                audience: audience.as_str(),
            });
            let token =
                crate::oidc::request_token(url, bearer, reading.max_attempts, reading.proxy)
                    .await
                    .map_err(TokenError::Request)?;
            (token, Some(audience.clone()))
        }
        TokenSource::File(path) => (
            crate::token_file::read(path, reading.workspace).map_err(TokenError::File)?,
            None,
        ),
        TokenSource::Env(variable) => match (reading.env)(variable)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        {
            Some(value) => (Secret::new(value), None),
            None => {
                return Err(TokenError::Unset {
                    variable: variable.clone(),
                })
            }
        },
        TokenSource::BuildkiteAgent { audience } => {
            observer.on(Event::RequestingToken {
                audience: audience.as_str(),
            });
            (buildkite_token(audience)?, Some(audience.clone()))
        }
    };
    observer.on(Event::Secret(&secret));
    let claims = jwt::decode_claims(secret.expose());
    // A storm of throttling may outlive a requested token (GitHub's live five
    // minutes, as long as the throttling budget): it is replaced in time.
    let renewal = match source {
        TokenSource::Request { .. } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            crate::retry::token_refresh_in(now, claims.as_ref().and_then(|c| c.exp)).map(|d| {
                Renewal {
                    due: Instant::now() + d,
                    source: source.clone(),
                }
            })
        }
        _ => None,
    };
    Ok(Token {
        claims,
        secret,
        requested_audience,
        renewal,
    })
}

/// Time allowed for `buildkite-agent oidc request-token`.
const AGENT_TIMEOUT: Duration = Duration::from_secs(30);
/// The token file cap, so every source refuses the same sizes.
const MAX_TOKEN: usize = crate::token_file::MAX_TOKEN_FILE as usize;

/// Runs `buildkite-agent oidc request-token --audience AUD`; the agent and
/// anything it starts are bounded as a whole (`crate::child`), so a grandchild
/// holding the pipe cannot keep us waiting. Its stdout is the token.
fn buildkite_token(audience: &Audience) -> Result<Secret, TokenError> {
    use crate::child::{ChildError, Finished};
    let agent = |problem: String| TokenError::Agent { problem };
    let mut cmd = std::process::Command::new("buildkite-agent");
    cmd.args(["oidc", "request-token", "--audience", audience.as_str()]);
    let finished = crate::child::run(&mut cmd, AGENT_TIMEOUT, (MAX_TOKEN as u64 + 1, 4096))
        .map_err(|e| match e {
            ChildError::Spawn(e) => agent(format!("could not run buildkite-agent: {e}")),
            ChildError::Timeout => agent(format!(
                "buildkite-agent oidc request-token did not finish within {} s",
                AGENT_TIMEOUT.as_secs()
            )),
            ChildError::OutputHeld => agent(
                "buildkite-agent oidc request-token exited, but a process it started kept its output open"
                    .into(),
            ),
        })?;
    let Finished {
        status,
        stdout,
        stderr,
    } = finished;
    if !status.success() {
        let said = crate::text::one_line(String::from_utf8_lossy(&stderr).trim());
        return Err(agent(format!(
            "buildkite-agent oidc request-token failed ({status}): {said}"
        )));
    }
    let token = String::from_utf8_lossy(&stdout).trim().to_owned();
    if token.is_empty() || token.len() > MAX_TOKEN {
        return Err(agent(
            "buildkite-agent oidc request-token printed no token".into(),
        ));
    }
    Ok(Secret::new(token))
}
