//! `keyless-aws credential-process --description FILE`: what an AWS SDK or
//! CLI runs (through `credential_process` in a profile) whenever it needs
//! credentials. It prints the `credential_process` JSON on stdout and nothing
//! else; on failure it says on stderr what failed and what to do, and exits 1.
//!
//! SDKs show the helper's stderr to the user (botocore puts it in the
//! exception), so nothing secret is ever written there: errors name the step
//! that failed, STS's code and message, never a token or a key.

use super::cache::{Cache, LockError, ProcessOutput, LOCK_WAIT};
use super::description::{Description, Resolved, ResolvedSource};
use super::shared_token;
use crate::error::StsFailure;
use crate::exchange::chain::{self, ChainError, Source};
use crate::exchange::connection::Connection;
use crate::exchange::events::Silent;
use crate::exchange::refusal::Refusal;
use crate::exchange::token::{Reading, TokenError};
use crate::plan::{Proxy, SecretKeyRule, TokenSource};
use crate::secret::Secret;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A refresh (token request, then one STS call per role, each with its own
/// retries and timeouts) is stopped after this long.
const REFRESH_LIMIT: Duration = Duration::from_secs(55);

/// Why the helper gave no credentials: what failed, and what to do.
#[derive(Debug)]
pub enum HelperError {
    Description {
        path: PathBuf,
        problem: String,
    },
    NoTokenRequest {
        missing: &'static str,
    },
    TokenRequest {
        detail: String,
    },
    Sts {
        failure: Box<StsFailure>,
        cause: String,
        fix: String,
    },
    /// A file beside the description that no other user may have written.
    Untrusted {
        path: PathBuf,
        problem: String,
    },
    Lock(String),
    Proxy(String),
    Unusable(&'static str),
    /// The identity pool refused the fresh token, or gave no usable answer:
    /// explained as the action explains it.
    Pool(Box<crate::error::Error>),
    Timeout,
}

impl HelperError {
    /// The text for stderr: the first line says what failed, the rest what to do.
    pub fn explain(&self) -> String {
        match self {
            HelperError::Description { path, problem } => format!(
                "cannot use the description {}: {problem}\nIt is written by keyless-aws with `refresh-credentials: true` and removed by its post step; run this profile only in the job that wrote it, after that step.",
                path.display()
            ),
            HelperError::NoTokenRequest { missing } => format!(
                "{missing} is not set, so no OIDC token can be requested to refresh the credentials.\nThe runner gives it to every step of a job with `permissions: id-token: write`. If the job has that permission, the program that ran this helper cleared its environment (sudo, `env -i`, some build tools and test runners do): pass ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN through (e.g. `sudo --preserve-env=ACTIONS_ID_TOKEN_REQUEST_URL,ACTIONS_ID_TOKEN_REQUEST_TOKEN`). Under act there is no token endpoint (see the README)."
            ),
            HelperError::TokenRequest { detail } if detail.contains("HTTP 401") || detail.contains("HTTP 403") => format!(
                "the OIDC token request failed: {detail}\nThe runner refused the token-request token. It is issued for this job only and expires: a job that has run longer than that token's lifetime (a self-hosted job of many hours, for instance), or a value copied from another job, is refused. Credentials cannot be refreshed after that point; split the work into shorter jobs, or assume a role whose maximum session covers the rest of the job."
            ),
            HelperError::TokenRequest { detail } => format!(
                "the OIDC token request failed: {detail}\nThe runner's token service did not answer usably. Retry the step; check the runner's network and proxy (HTTPS_PROXY, NO_PROXY) and https://www.githubstatus.com."
            ),
            HelperError::Sts { failure, cause, fix } => format!(
                "{} failed{}\n{cause}\n{fix}",
                failure.operation,
                if failure.code_text.is_empty() { String::new() } else { format!(" with {}", failure.code_text) },
            ),
            HelperError::Untrusted { path, problem } => format!(
                "cannot use {}: {problem}\nSet SSL_CERT_FILE to a CA bundle of your own to do without it.",
                path.display()
            ),
            HelperError::Lock(detail) => format!(
                "cannot take the refresh lock: {detail}\nAnother call may be stuck refreshing; it gives up within a minute. If this repeats, remove the lock file and retry."
            ),
            HelperError::Proxy(problem) => format!(
                "the proxy settings are not usable: {problem}\nFix HTTPS_PROXY, HTTP_PROXY or NO_PROXY in this step's environment (the helper prefers them over the proxy the action step was given)."
            ),
            HelperError::Unusable(what) => format!(
                "STS answered, but {what}; nothing was printed.\nThis is unexpected from AWS STS; check `sts-endpoint` if you set one."
            ),
            HelperError::Pool(error) => format!("{error}\n{}", error.help()),
            HelperError::Timeout => format!(
                "refreshing the credentials took longer than {} s (token request and STS calls with their retries).\nCheck the runner's network and proxy settings, then retry.",
                REFRESH_LIMIT.as_secs()
            ),
        }
    }
}

/// The cached answer when it has ample life left, else a fresh one (written
/// to the cache), with parallel callers sharing one refresh.
pub fn credentials(
    description_path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProcessOutput, HelperError> {
    let dir = description_path.parent().unwrap_or(Path::new("."));
    crate::trusted_files::check_trusted_dir(dir).map_err(|e| HelperError::Description {
        path: description_path.to_owned(),
        problem: format!("its directory {} is {}", dir.display(), e.refusal()),
    })?;
    let description =
        Description::load(description_path).map_err(|problem| HelperError::Description {
            path: description_path.to_owned(),
            problem,
        })?;
    let cache = Cache::new(description.cache_path(description_path));
    let min_remaining = Duration::from_secs(description.min_remaining_seconds);
    // Fast path without the lock: writes are atomic renames.
    if let Ok(out) = cache.read_fresh(SystemTime::now(), min_remaining) {
        return Ok(out);
    }
    let _lock = match cache.lock(LOCK_WAIT) {
        Ok(lock) => lock,
        Err(LockError::Busy(detail)) => return Err(HelperError::Lock(detail)),
        // A directory this caller cannot write (a uid other than the runner's
        // user): still refresh, only without sharing or caching.
        Err(LockError::Unavailable(_)) => return refresh(&description, dir, env),
    };
    // Whoever held the lock may have refreshed already.
    if let Ok(out) = cache.read_fresh(SystemTime::now(), min_remaining) {
        return Ok(out);
    }
    let out = refresh(&description, dir, env)?;
    if let Err(e) = cache.write(&out) {
        // Not fatal: the answer is good, the next call will refresh again.
        eprintln!(
            "keyless-aws credential-process: warning: cannot write the cache {}: {e}; every call will ask STS",
            cache.path().display()
        );
    }
    Ok(out)
}

/// Token request, web identity, then every chained role, under one deadline.
fn refresh(
    d: &Description,
    description_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProcessOutput, HelperError> {
    let url = env("ACTIONS_ID_TOKEN_REQUEST_URL").ok_or(HelperError::NoTokenRequest {
        missing: "ACTIONS_ID_TOKEN_REQUEST_URL",
    })?;
    let bearer = Secret::new(env("ACTIONS_ID_TOKEN_REQUEST_TOKEN").ok_or(
        HelperError::NoTokenRequest {
            missing: "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        },
    )?);
    let resolved = d.resolve().map_err(|problem| HelperError::Description {
        path: description_dir.to_owned(),
        problem,
    })?;
    let proxy = proxy(d, env)?;
    use_ca_bundle(description_dir, env)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|_| HelperError::Unusable("the async runtime could not start"))?;
    runtime.block_on(async {
        tokio::time::timeout(
            REFRESH_LIMIT,
            exchange(d, &resolved, description_dir, (&url, &bearer), &proxy),
        )
        .await
        .unwrap_or(Err(HelperError::Timeout))
    })
}

/// Trusts the CA bundle the action left beside the helper (the one the
/// action itself used), unless the caller names one with `SSL_CERT_FILE`: a
/// job container or Docker action image may have no CA certificates at all.
/// The bundle decides which servers the token is sent to, so it is used only
/// under the rules of `trusted_files` (its directory was checked already, so
/// the name cannot be swapped by another user once checked).
fn use_ca_bundle(
    description_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), HelperError> {
    if env("SSL_CERT_FILE").is_some() {
        return Ok(());
    }
    let bundle = description_dir.join(super::install::CA_BUNDLE);
    let also = crate::trusted_files::dir_owner_for_root(description_dir);
    match crate::trusted_files::open_trusted(&bundle, also) {
        Ok(_) => {
            std::env::set_var("SSL_CERT_FILE", bundle);
            Ok(())
        }
        Err(crate::trusted_files::Untrusted::Absent) => Ok(()),
        Err(e) => Err(HelperError::Untrusted {
            path: bundle,
            problem: e.refusal(),
        }),
    }
}

/// The proxy for the helper's two clients: the caller's own variables when
/// it sets any (a later step may know better than the step that wrote the
/// file, and only it can hold a proxy password), else the description's.
fn proxy(d: &Description, env: &dyn Fn(&str) -> Option<String>) -> Result<Proxy, HelperError> {
    const NAMES: [&str; 8] = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ];
    let mut vars: HashMap<String, String> = NAMES
        .iter()
        .filter_map(|n| env(n).map(|v| (n.to_string(), v)))
        .collect();
    if vars.is_empty() {
        let described = [
            ("HTTPS_PROXY", &d.proxy.https_proxy),
            ("HTTP_PROXY", &d.proxy.http_proxy),
            ("NO_PROXY", &d.proxy.no_proxy),
        ];
        for (name, value) in described {
            if let Some(v) = value {
                vars.insert(name.to_owned(), v.clone());
            }
        }
    }
    crate::inputs::network::proxy(&crate::inputs::raw::RawInputs::default(), &vars)
        .map_err(|e| HelperError::Proxy(e.to_string()))
}

/// The token request, the web identity and the chain: the exchange engine,
/// silent (this process prints nothing but its answer).
async fn exchange(
    d: &Description,
    resolved: &Resolved,
    description_dir: &Path,
    (url, bearer): (&str, &Secret),
    proxy: &Proxy,
) -> Result<ProcessOutput, HelperError> {
    let token_request = |detail: String| HelperError::TokenRequest { detail };
    let source = TokenSource::Request {
        url: crate::oidc::token_url(url, resolved.audience.as_str())
            .map_err(|e| token_request(e.to_string()))?,
        bearer: bearer.clone(),
        audience: resolved.audience.clone(),
    };
    let reading = Reading {
        proxy,
        max_attempts: d.retry_max_attempts,
        workspace: None,
        env: &|_| None,
    };
    let token = shared_token::obtain(description_dir, url, &source, &reading)
        .await
        .map_err(|e| match e {
            TokenError::Request(crate::error::Error::TokenRequest { detail, .. }) => {
                token_request(detail)
            }
            other => token_request(other.problem()),
        })?;
    let connection = Connection {
        region: &resolved.region,
        endpoint: resolved.sts_endpoint.as_ref(),
        variant: Default::default(),
        proxy,
        max_attempts: d.retry_max_attempts,
        time_limit: Some(REFRESH_LIMIT),
        secret_key: SecretKeyRule::AsIssued,
        unreachable_note: None,
    };
    let source = match &resolved.source {
        ResolvedSource::WebIdentity(role, session) => Source::WebIdentity {
            token: &token,
            role,
            session,
        },
        ResolvedSource::IdentityPool(login, role) => Source::IdentityPool {
            token: &token,
            login,
            role: role.as_ref(),
        },
    };
    let issued = chain::run(&connection, &source, &resolved.chain, &Silent)
        .await
        .map_err(|e| match e {
            ChainError::Refused(Refusal {
                failure,
                cause,
                fix,
            }) => HelperError::Sts {
                failure,
                cause,
                fix,
            },
            ChainError::NoAmbientCredentials => {
                HelperError::Unusable("no credentials were found to sign the chain")
            }
            ChainError::Pool(error) => HelperError::Pool(error),
        })?;
    let out = ProcessOutput::from_credentials(&issued.credentials).ok_or(HelperError::Unusable(
        "the credentials lack a session token, an expiration, or look malformed",
    ))?;
    if !out.fresh_at(SystemTime::now(), Duration::ZERO) {
        return Err(HelperError::Unusable("the credentials are already expired"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_to_do() {
        let e = HelperError::NoTokenRequest {
            missing: "ACTIONS_ID_TOKEN_REQUEST_URL",
        };
        assert!(e.explain().contains("id-token: write"));
        let e = HelperError::TokenRequest {
            detail: "HTTP 401 Unauthorized".into(),
        };
        assert!(e.explain().contains("expires"), "{}", e.explain());
    }
}
