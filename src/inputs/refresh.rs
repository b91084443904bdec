//! `refresh-credentials: true`: which plans can refresh themselves, decided
//! before any request. A later step can obtain again only a web identity
//! from the runner's token request (and replay the roles chained after it),
//! so keys, the environment's credentials and a token file nothing renews
//! are refused here with their fix, for one role and for `roles` alike.

use super::raw::RawInputs;
use super::runner;
use super::values::{bad, parse_bool, set};
use crate::aws_names::{ProfileName, Region};
use crate::error::Error;
use crate::plan::{
    AmbientReason, Chain, CredentialPlan, CredentialSource, Delivery, Network, ProfileCredentials,
    ProfilesPlan, RefreshDelivery, Roots, Signer, TokenSource,
};
use crate::refresh::description::{self, Description};
use std::collections::HashMap;

const INPUT: &str = "refresh-credentials";
const OIDC_ONLY: &str = "Use it with `role-to-assume` and `permissions: id-token: write` (OIDC), with or without `role-chaining` roles after it.";

/// The default profile name with `refresh-credentials` and no `aws-profile`: a
/// name of its own, so a `[default]` in the user's credentials file (which
/// SDKs read before `credential_process`) cannot shadow it.
pub const REFRESH_PROFILE: &str = "keyless-aws";

/// Whether `refresh-credentials` is true.
pub fn requested(raw: &RawInputs) -> Result<bool, Error> {
    parse_bool(INPUT, &raw.refresh_credentials, false)
}

/// One credential set: a refreshing profile, or the refusal that says why not.
pub fn single(
    raw: &RawInputs,
    env: &HashMap<String, String>,
    region: &Region,
    network: &Network,
    credentials: &CredentialPlan,
    output_env_credentials: bool,
) -> Result<Delivery, Error> {
    let chain = match credentials {
        CredentialPlan::Obtain(chain) => chain,
        CredentialPlan::KeepExisting { .. } => {
            return Err(bad(
                INPUT,
                "cannot be combined with `use-existing-credentials` (the existing credentials cannot be obtained again by a later step)",
                "Remove one of the two inputs.",
            ))
        }
        CredentialPlan::LeaveAsIs(_) => {
            return Err(bad(
                INPUT,
                "has nothing to refresh: `role-to-assume` is not set",
                OIDC_ONLY,
            ))
        }
    };
    // Only an explicit `false`: with `aws-profile` the default is false too,
    // and naming the refreshing profile is allowed.
    if !output_env_credentials && set(&raw.output_env_credentials).is_some() {
        return Err(bad(
            INPUT,
            "exports a profile for later steps, but `output-env-credentials: false` asks to export nothing",
            "Remove one of the two inputs.",
        ));
    }
    refuse_unrenewable(chain)?;
    let name = profile_name(raw)?;
    refuse_proxy_password(raw)?;
    let description = Description::from_chain(region, network, chain).ok_or_else(|| {
        bad(
            INPUT,
            "cannot describe this chain for later steps",
            OIDC_ONLY,
        )
    })?;
    check_describable(&description)?;
    Ok(Delivery::RefreshingProfile(Box::new(RefreshDelivery {
        name,
        dir: runner::profile_dir(env, set(&raw.runner_temp).map(str::trim))?,
    })))
}

/// `roles`: each profile refreshes itself when every root is a web identity
/// from the runner's token request.
pub fn profiles(
    raw: &RawInputs,
    region: &Region,
    network: &Network,
    plan: &ProfilesPlan,
) -> Result<ProfileCredentials, Error> {
    if !requested(raw)? {
        return Ok(ProfileCredentials::Keys);
    }
    match &plan.roots {
        Roots::Signed {
            signer: Signer::Keys(_),
            ..
        } => return Err(keys_refused()),
        Roots::Signed {
            signer: Signer::Ambient,
            ..
        } => return Err(ambient_refused()),
        Roots::WebIdentity(groups) => {
            if groups
                .iter()
                .any(|g| !matches!(g.token, TokenSource::Request { .. }))
            {
                return Err(token_file_refused());
            }
            // The helper only repeats AssumeRoleWithWebIdentity: a pool line
            // would be refreshed as a plain web identity, which it is not.
            if let Some(line) = groups
                .iter()
                .flat_map(|g| &g.roles)
                .find(|r| r.identity_pool.is_some())
            {
                return Err(bad(
                    INPUT,
                    format!(
                        "cannot refresh profile `{}` yet: it comes from a Cognito identity pool (`identity-pool=`)",
                        line.profile.name
                    ),
                    "Remove `refresh-credentials`, or move the pool's line to a step of its own.",
                ));
            }
        }
    }
    refuse_proxy_password(raw)?;
    let described = description::of_profiles(region, network, plan).ok_or_else(|| {
        bad(
            INPUT,
            "cannot describe these roles for later steps",
            OIDC_ONLY,
        )
    })?;
    for (_, d) in &described {
        check_describable(d)?;
    }
    Ok(ProfileCredentials::Refreshing)
}

/// Only a web identity from the runner's token request can be obtained again.
fn refuse_unrenewable(chain: &Chain) -> Result<(), Error> {
    let web = match &chain.source {
        CredentialSource::Keys(_) => return Err(keys_refused()),
        CredentialSource::Ambient(AmbientReason::RoleChaining) => return Err(ambient_refused()),
        CredentialSource::Ambient(AmbientReason::NoOidcToken { .. }) => {
            return Err(bad(
                INPUT,
                "needs an OIDC token, and this job cannot request one (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set)",
                "Grant the job `permissions: id-token: write` (not available to pull requests from forks), or remove `refresh-credentials`.",
            ))
        }
        // identity_pool::plan refuses `refresh-credentials` before this.
        CredentialSource::IdentityPool(_) => {
            return Err(bad(
                INPUT,
                "cannot be combined with `cognito-identity-pool-id` yet",
                "Remove `refresh-credentials`.",
            ))
        }
        CredentialSource::WebIdentity(web) => web,
    };
    match &web.token {
        TokenSource::Request { .. } => Ok(()),
        // The action reads a token only from its request or a file.
        TokenSource::File(_) | TokenSource::Env(_) | TokenSource::BuildkiteAgent { .. } => {
            Err(token_file_refused())
        }
    }
}

fn keys_refused() -> Error {
    bad(
        INPUT,
        "cannot refresh credentials made from access keys: it would mean storing long-lived keys on disk for later steps",
        format!("{OIDC_ONLY} Or remove `refresh-credentials` and keep the keys' session within its duration."),
    )
}

fn ambient_refused() -> Error {
    bad(
        INPUT,
        "cannot refresh a chain that starts from the environment's credentials: a later step cannot obtain them again",
        OIDC_ONLY,
    )
}

fn token_file_refused() -> Error {
    bad(
        INPUT,
        "cannot refresh from `web-identity-token-file`: the helper would have to find a fresh token in that file in every later step and container, and nothing renews it there",
        "Use the runner's token request instead (`permissions: id-token: write`, no `web-identity-token-file`), or remove `refresh-credentials`.",
    )
}

/// `aws-profile`, else [`REFRESH_PROFILE`].
fn profile_name(raw: &RawInputs) -> Result<ProfileName, Error> {
    match set(&raw.aws_profile).map(str::trim) {
        Some(name) => ProfileName::parse(name).map_err(|problem| {
            bad(
                "aws-profile",
                problem,
                "Use 1–64 letters, digits, `_`, `.` or `-`.",
            )
        }),
        None => Ok(ProfileName::parse(REFRESH_PROFILE).expect("a valid profile name")),
    }
}

/// A description never holds a secret, so a proxy password cannot go into it.
fn refuse_proxy_password(raw: &RawInputs) -> Result<(), Error> {
    if let Some(proxy) = set(&raw.http_proxy) {
        if url::Url::parse(proxy.trim()).is_ok_and(|u| u.password().is_some()) {
            return Err(bad(
                INPUT,
                "would have to store the `http-proxy` password on disk for later steps",
                "Set HTTPS_PROXY (with the password, from a secret) in the job's `env:` instead of `http-proxy`: later steps and the helper read it from there.",
            ));
        }
    }
    Ok(())
}

/// What the helper will read is checked now, so a bad value fails this step.
fn check_describable(description: &Description) -> Result<(), Error> {
    description.validate().map_err(|problem| {
        bad(
            INPUT,
            format!("cannot describe this chain for later steps: {problem}"),
            "Check the role, session and tag inputs named above.",
        )
    })
}
