//! `cognito-identity-pool-id`: the web identity token becomes an identity
//! pool's login instead of an `AssumeRoleWithWebIdentity` call (src/cognito/).
//! Cognito assumes the role itself, so the inputs that shape an STS session
//! (duration, session name, policies, tags) do not apply and are ignored
//! with a warning; inputs that would give the pool no token are refused.

use super::raw::RawInputs;
use super::values::{bad, parse_bool, parse_url, set, warn};
use crate::aws_names::{IdentityPoolId, Region};
use crate::error::Error;
use crate::plan::{
    Chain, CredentialPlan, CredentialSource, IdentityPool, PoolLogin, TokenSource, Warning,
};
use crate::secret::Secret;
use std::collections::HashMap;
use std::path::Path;

const INPUT: &str = "cognito-identity-pool-id";

/// The plan for a pool, or `None` when `cognito-identity-pool-id` is not set.
pub fn plan(
    raw: &RawInputs,
    env: &HashMap<String, String>,
    region: &Region,
    workspace: Option<&Path>,
    warnings: &mut Vec<Warning>,
) -> Result<Option<CredentialPlan>, Error> {
    let Some(text) = set(&raw.cognito_identity_pool_id).map(str::trim) else {
        return Ok(None);
    };
    let pool = IdentityPoolId::parse(text).map_err(|problem| {
        bad(
            INPUT,
            problem,
            "Copy the id from the identity pool's page in the Amazon Cognito console, or from `aws cognito-identity list-identity-pools --max-results 60`.",
        )
    })?;
    refuse_other_sources(raw)?;
    let role = match set(&raw.role_to_assume).map(str::trim) {
        Some(role) => Some(super::role_hop::web_identity_role(role, region)?),
        None => None,
    };
    warn_session_inputs(raw, warnings);
    let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let token = match set(&raw.web_identity_token_file).map(str::trim) {
        Some(path) => TokenSource::File(super::runner::token_file_path(path, workspace)?),
        None => match (
            get("ACTIONS_ID_TOKEN_REQUEST_URL"),
            get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ) {
            (Some(url), Some(bearer)) => {
                let audience = super::credentials::audience(raw)?;
                TokenSource::Request {
                    url: crate::oidc::token_url(url, audience.as_str())?,
                    bearer: Secret::new(bearer),
                    audience,
                }
            }
            _ => {
                return Err(Error::NoIdToken {
                    under_act: get("ACT") == Some("true"),
                })
            }
        },
    };
    Ok(Some(CredentialPlan::Obtain(Chain {
        source: CredentialSource::IdentityPool(Box::new(IdentityPool {
            token,
            login: PoolLogin {
                pool,
                endpoint: endpoint(env)?,
            },
            role,
        })),
        hops: Vec::new(),
    })))
}

/// Where Cognito Identity is: the SDK's own variable names for this
/// service, as for STS; `None` for the pool's regional endpoint.
pub fn endpoint(env: &HashMap<String, String>) -> Result<Option<url::Url>, Error> {
    let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    get("AWS_ENDPOINT_URL_COGNITO_IDENTITY")
        .map(|v| parse_url("AWS_ENDPOINT_URL_COGNITO_IDENTITY", v))
        .or_else(|| get("AWS_ENDPOINT_URL").map(|v| parse_url("AWS_ENDPOINT_URL", v)))
        .transpose()
}

/// A pool takes a web identity token and nothing else.
fn refuse_other_sources(raw: &RawInputs) -> Result<(), Error> {
    let fix = "An identity pool takes the job's OIDC token (or `web-identity-token-file`) as its login: remove the other credentials, or remove `cognito-identity-pool-id`.";
    if set(&raw.aws_access_key_id).is_some() || set(&raw.aws_secret_access_key).is_some() {
        return Err(bad(
            INPUT,
            "cannot be combined with `aws-access-key-id`/`aws-secret-access-key`",
            fix,
        ));
    }
    if parse_bool("role-chaining", &raw.role_chaining, false)? {
        return Err(bad(INPUT, "cannot be combined with `role-chaining`", fix));
    }
    Ok(())
}

/// Cognito chooses the session: one hour, its own session name, the pool's
/// principal tags, no session policy.
fn warn_session_inputs(raw: &RawInputs, warnings: &mut Vec<Warning>) {
    for (name, value) in [
        ("role-duration-seconds", &raw.role_duration_seconds),
        ("role-session-name", &raw.role_session_name),
        ("role-external-id", &raw.role_external_id),
        ("inline-session-policy", &raw.inline_session_policy),
        ("managed-session-policies", &raw.managed_session_policies),
        ("custom-tags", &raw.custom_tags),
        ("transitive-tag-keys", &raw.transitive_tag_keys),
    ] {
        if set(value).is_some() {
            warn(
                warnings,
                name,
                "is ignored: with `cognito-identity-pool-id` Cognito assumes the role itself (one-hour session, the pool's principal tags, no session policy).",
            );
        }
    }
}
