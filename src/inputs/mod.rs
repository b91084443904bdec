//! From the raw `INPUT_*` strings and the runner's environment to a validated
//! [`Plan`]: `raw` reads, `values` parses, `role`, `network` and `runner`
//! decide their part, and [`plan`] puts it together. Nothing after this module
//! looks at raw input text or the environment again, and nothing in it touches
//! the network, so a bad value stops the run before any request is made.

pub mod network;
pub mod raw;
pub mod role;
pub mod roles;
pub mod runner;
pub mod values;

pub use network::DEFAULT_RETRY_MAX_ATTEMPTS;
pub use raw::RawInputs;
pub use role::{DEFAULT_DURATION, DEFAULT_SESSION_NAME};

use crate::aws_names::{check_access_key_id, AccountId, ProfileName, Region};
use crate::error::Error;
use crate::plan::{
    AccountChecks, Chain, CredentialPlan, CredentialSource, Delivery, Plan, ProfileDelivery,
    Runner, TokenSource, WebIdentity,
};
use crate::secret::{Credentials, Secret};
use role::Call;
use std::collections::HashMap;
use values::{bad, list, parse_bool, set};

pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";

/// Builds the plan from the inputs and the runner's environment.
pub fn plan(raw: &RawInputs, env: &HashMap<String, String>) -> Result<Plan, Error> {
    let region = region(raw, env)?;
    let flag =
        |name: &'static str, value: &Option<String>, default| parse_bool(name, value, default);
    let mask_account_id = flag("mask-aws-account-id", &raw.mask_aws_account_id, false)?;
    let output_credentials = flag("output-credentials", &raw.output_credentials, false)?;
    let output_env_credentials = flag("output-env-credentials", &raw.output_env_credentials, true)?;
    let unset_current_credentials = flag(
        "unset-current-credentials",
        &raw.unset_current_credentials,
        false,
    )?;
    let special_characters_workaround = flag(
        "special-characters-workaround",
        &raw.special_characters_workaround,
        false,
    )?;
    let use_existing = flag(
        "use-existing-credentials",
        &raw.use_existing_credentials,
        false,
    )?;
    let network = network::network(raw, env)?;
    let allowed = allowed_account_ids(raw)?;
    let runner = runner::runner(env)?;
    let account = AccountChecks {
        allowed,
        mask: mask_account_id,
    };
    if let Some(text) = set(&raw.roles) {
        // Every profile gets its own files; nothing global is delivered.
        return Ok(Plan {
            credentials: CredentialPlan::Profiles(roles::plan(raw, env, &region, &runner, text)?),
            region,
            delivery: Delivery::OutputsOnly,
            output_credentials: false,
            unset_current_credentials,
            special_characters_workaround,
            account,
            network,
            runner,
        });
    }
    roles::refuse_default_profile_alone(raw)?;
    let credentials = match (chain(raw, env, &region, &runner)?, use_existing) {
        (Some(chain), false) => CredentialPlan::Obtain(chain),
        (None, false) => return Err(bad("role-to-assume", "is not set, and neither are access keys", "Set `role-to-assume` (with `permissions: id-token: write` for OIDC), or `aws-access-key-id` and `aws-secret-access-key`.")),
        (None, true) => {
            role::refuse_role_only_inputs(raw)?;
            CredentialPlan::KeepExisting { fallback: None }
        }
        (Some(chain), true) => CredentialPlan::KeepExisting {
            fallback: Some(chain),
        },
    };
    let delivery = delivery(raw, env, output_env_credentials)?;
    Ok(Plan {
        region,
        credentials,
        delivery,
        output_credentials,
        unset_current_credentials,
        special_characters_workaround,
        account,
        network,
        runner,
    })
}

fn region(raw: &RawInputs, env: &HashMap<String, String>) -> Result<Region, Error> {
    let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let value = set(&raw.aws_region)
        .or_else(|| get("AWS_REGION"))
        .or_else(|| get("AWS_DEFAULT_REGION"))
        .ok_or_else(|| {
            bad(
                "aws-region",
                "is not set",
                "Set `aws-region`, for example `aws-region: us-east-1`.",
            )
        })?;
    Region::parse(value.trim()).map_err(|problem| {
        bad(
            "aws-region",
            problem,
            "Use a region name such as `us-east-1`, `eu-west-1`, `cn-north-1` or `us-gov-west-1`.",
        )
    })
}

fn allowed_account_ids(raw: &RawInputs) -> Result<Vec<AccountId>, Error> {
    let Some(text) = set(&raw.allowed_account_ids) else {
        return Ok(Vec::new());
    };
    list(text, &[',', '\n', ' '])
        .map(|id| {
            AccountId::parse(id).map_err(|problem| bad("allowed-account-ids", problem, "List 12-digit AWS account ids separated by commas, e.g. `111111111111,222222222222`."))
        })
        .collect()
}

/// `aws-access-key-id`, `aws-secret-access-key` and `aws-session-token`: both
/// keys or neither, and a session token only with them.
pub(super) fn keys(raw: &RawInputs) -> Result<Option<Credentials>, Error> {
    let session_token = set(&raw.aws_session_token);
    let both = "Set both `aws-access-key-id` and `aws-secret-access-key`, or neither.";
    match (set(&raw.aws_access_key_id), set(&raw.aws_secret_access_key)) {
        (Some(id), Some(secret)) => {
            let id = id.trim();
            check_access_key_id(id).map_err(|problem| bad("aws-access-key-id", problem, "Pass the access key id (it starts with AKIA or ASIA) from a secret, e.g. `${{ secrets.AWS_ACCESS_KEY_ID }}`."))?;
            let keys = Credentials {
                access_key_id: Secret::new(id),
                secret_access_key: Secret::new(secret.trim()),
                session_token: session_token.map(|t| Secret::new(t.trim())),
                expiration: None,
            };
            keys.check_shape().map_err(|problem| {
                let input = if problem.contains("session token") {
                    "aws-session-token"
                } else if problem.contains("secret") {
                    "aws-secret-access-key"
                } else {
                    "aws-access-key-id"
                };
                bad(
                    input,
                    problem,
                    "Pass the value exactly as AWS issued it, from a secret.",
                )
            })?;
            Ok(Some(keys))
        }
        (Some(_), None) => Err(bad(
            "aws-secret-access-key",
            "is not set, but `aws-access-key-id` is",
            both,
        )),
        (None, Some(_)) => Err(bad(
            "aws-access-key-id",
            "is not set, but `aws-secret-access-key` is",
            both,
        )),
        (None, None) if session_token.is_some() => Err(bad(
            "aws-session-token",
            "is set without `aws-access-key-id` and `aws-secret-access-key`",
            "Pass the session token together with the key pair it belongs to.",
        )),
        (None, None) => Ok(None),
    }
}

/// The credential source and role hops the inputs ask for; `None` when they
/// name neither keys nor a role (only `use-existing-credentials` allows that).
fn chain(
    raw: &RawInputs,
    env: &HashMap<String, String>,
    region: &Region,
    runner: &Runner,
) -> Result<Option<Chain>, Error> {
    let role_chaining = parse_bool("role-chaining", &raw.role_chaining, false)?;
    let force_skip_oidc = parse_bool("force-skip-oidc", &raw.force_skip_oidc, false)?;
    let skip_tagging = parse_bool(
        "role-skip-session-tagging",
        &raw.role_skip_session_tagging,
        false,
    )?;
    let keys = keys(raw)?;
    let role = set(&raw.role_to_assume).map(str::trim);
    let token_file = set(&raw.web_identity_token_file).map(str::trim);
    let hops = |role: Option<&str>| -> Result<Vec<_>, Error> {
        match role {
            Some(role) => Ok(vec![role::hop(raw, role, region, skip_tagging, env)?]),
            None => role::refuse_role_only_inputs(raw).map(|()| Vec::new()),
        }
    };
    if let Some(keys) = keys {
        return Ok(Some(Chain {
            source: CredentialSource::Keys(keys),
            hops: hops(role)?,
        }));
    }
    if let Some(path) = token_file {
        let Some(role) = role else {
            return Err(bad(
                "web-identity-token-file",
                "is set but `role-to-assume` is not",
                "A web identity token can only be exchanged for a role: set `role-to-assume`.",
            ));
        };
        let path = runner::token_file_path(path, runner.workspace.as_deref())?;
        return web_identity(raw, env, region, role, TokenSource::File(path)).map(Some);
    }
    if role_chaining {
        if role.is_none() {
            return Err(bad(
                "role-chaining",
                "is true but `role-to-assume` is not set",
                "Set `role-to-assume` to the role to chain into.",
            ));
        }
        return Ok(Some(Chain {
            source: CredentialSource::Ambient,
            hops: hops(role)?,
        }));
    }
    let Some(role) = role else {
        return Ok(None);
    };
    let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let request = match (
        get("ACTIONS_ID_TOKEN_REQUEST_URL"),
        get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) {
        (Some(url), Some(token)) if !force_skip_oidc => Some((url, token)),
        _ if force_skip_oidc => {
            return Err(bad("force-skip-oidc", "is true, and no other credentials were given", "Also set `aws-access-key-id`/`aws-secret-access-key`, `web-identity-token-file` or `role-chaining: true`, or remove `force-skip-oidc`."));
        }
        _ => None,
    };
    let token = match request {
        None => TokenSource::Unavailable {
            under_act: get("ACT") == Some("true"),
        },
        Some((url, bearer)) => {
            let audience = audience(raw)?;
            TokenSource::Request {
                url: crate::oidc::token_url(url, &audience)?,
                bearer: Secret::new(bearer),
                audience,
            }
        }
    };
    web_identity(raw, env, region, role, token).map(Some)
}

/// `AssumeRoleWithWebIdentity` for `role-to-assume`: no tags, no external id,
/// no bare role name.
fn web_identity(
    raw: &RawInputs,
    env: &HashMap<String, String>,
    region: &Region,
    role: &str,
    token: TokenSource,
) -> Result<Chain, Error> {
    let role = role::web_identity_role(role, region)?;
    let session = role::session_options(raw)?;
    role::external_id(raw, Call::WebIdentity)?;
    role::session_tags(raw, Call::WebIdentity, env)?;
    Ok(Chain {
        source: CredentialSource::WebIdentity(WebIdentity {
            token,
            role,
            session,
        }),
        hops: Vec::new(),
    })
}

pub(super) fn audience(raw: &RawInputs) -> Result<String, Error> {
    let audience = set(&raw.audience)
        .map(str::trim)
        .unwrap_or(DEFAULT_AUDIENCE);
    if audience.len() > 256 || audience.chars().any(char::is_control) {
        return Err(bad(
            "audience",
            "must be at most 256 printable characters",
            "Use the audience your IAM OIDC provider lists, normally `sts.amazonaws.com`.",
        ));
    }
    Ok(audience.to_owned())
}

fn delivery(
    raw: &RawInputs,
    env: &HashMap<String, String>,
    output_env_credentials: bool,
) -> Result<Delivery, Error> {
    let overwrite = parse_bool("overwrite-aws-profile", &raw.overwrite_aws_profile, false)?;
    let Some(name) = set(&raw.aws_profile).map(str::trim) else {
        return Ok(if output_env_credentials {
            Delivery::EnvVars
        } else {
            Delivery::OutputsOnly
        });
    };
    let name = ProfileName::parse(name).map_err(|problem| {
        bad(
            "aws-profile",
            problem,
            "Use 1–64 letters, digits, `_`, `.` or `-`.",
        )
    })?;
    Ok(Delivery::ProfileFiles(ProfileDelivery {
        name,
        overwrite,
        dir: runner::profile_dir(env, set(&raw.runner_temp).map(str::trim))?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{RoleTarget, TokenSource};

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = [
            ("GITHUB_ENV", "/nonexistent/env"),
            ("GITHUB_OUTPUT", "/nonexistent/out"),
            ("INPUT_AWS-REGION", "eu-west-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    fn plan_of(pairs: &[(&str, &str)]) -> Result<Plan, Error> {
        let env = env(pairs);
        plan(&RawInputs::from_env(&env)?, &env)
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";

    #[test]
    fn oidc_is_a_web_identity_chain_without_hops() {
        let plan = plan_of(&[
            ("INPUT_ROLE-TO-ASSUME", ROLE),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://t.example/x?a=1"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "bearer"),
        ])
        .unwrap();
        let CredentialPlan::Obtain(chain) = &plan.credentials else {
            panic!("{:?}", plan.credentials)
        };
        let CredentialSource::WebIdentity(web) = &chain.source else {
            panic!("{:?}", chain.source)
        };
        assert_eq!(web.role.as_str(), ROLE);
        assert!(chain.hops.is_empty());
        let TokenSource::Request { url, audience, .. } = &web.token else {
            panic!("{:?}", web.token)
        };
        assert_eq!(audience, DEFAULT_AUDIENCE);
        assert_eq!(url.query(), Some("a=1&audience=sts.amazonaws.com"));
        assert!(matches!(plan.delivery, Delivery::EnvVars));
    }

    #[test]
    fn keys_and_a_bare_role_name_make_one_tagged_hop() {
        let plan = plan_of(&[
            ("INPUT_AWS-ACCESS-KEY-ID", "AKIAEXAMPLEEXAMPLE00"),
            ("INPUT_AWS-SECRET-ACCESS-KEY", "secret"),
            ("INPUT_ROLE-TO-ASSUME", "deploy"),
        ])
        .unwrap();
        let CredentialPlan::Obtain(chain) = &plan.credentials else {
            panic!()
        };
        assert!(matches!(chain.source, CredentialSource::Keys(_)));
        assert_eq!(chain.hops.len(), 1);
        assert!(matches!(chain.hops[0].target, RoleTarget::Name(_)));
        assert!(chain.hops[0].tags.is_some());
    }

    #[test]
    fn use_existing_without_a_role_has_no_fallback() {
        let plan = plan_of(&[("INPUT_USE-EXISTING-CREDENTIALS", "true")]).unwrap();
        assert!(matches!(
            plan.credentials,
            CredentialPlan::KeepExisting { fallback: None }
        ));
        let err = plan_of(&[]).unwrap_err().to_string();
        assert!(err.contains("role-to-assume"), "{err}");
    }

    #[test]
    fn runner_facts_are_resolved_or_the_plan_fails() {
        let plan = plan_of(&[
            ("INPUT_ROLE-TO-ASSUME", ROLE),
            ("INPUT_WEB-IDENTITY-TOKEN-FILE", "token.jwt"),
            ("GITHUB_WORKSPACE", "/w"),
            ("GITHUB_STEP_SUMMARY", "/s"),
            ("INPUT_AWS-PROFILE", "deploy"),
            ("RUNNER_TEMP", "/rt"),
        ])
        .unwrap();
        let CredentialPlan::Obtain(chain) = &plan.credentials else {
            panic!()
        };
        let CredentialSource::WebIdentity(web) = &chain.source else {
            panic!()
        };
        assert!(
            matches!(&web.token, TokenSource::File(p) if p == std::path::Path::new("/w/token.jwt"))
        );
        assert_eq!(
            plan.runner.step_summary.as_deref(),
            Some(std::path::Path::new("/s"))
        );
        let Delivery::ProfileFiles(profile) = &plan.delivery else {
            panic!()
        };
        assert_eq!(profile.dir.local, std::path::Path::new("/rt/.keyless-aws"));
        // Without RUNNER_TEMP the profile directory is unknown: the plan fails.
        let err = plan_of(&[
            ("INPUT_AWS-ACCESS-KEY-ID", "AKIAEXAMPLEEXAMPLE00"),
            ("INPUT_AWS-SECRET-ACCESS-KEY", "secret"),
            ("INPUT_AWS-PROFILE", "deploy"),
        ])
        .unwrap_err();
        assert!(matches!(err, Error::Profile { .. }), "{err}");
        // A relative token file needs the workspace.
        let err = plan_of(&[
            ("INPUT_ROLE-TO-ASSUME", ROLE),
            ("INPUT_WEB-IDENTITY-TOKEN-FILE", "token.jwt"),
        ])
        .unwrap_err();
        assert!(matches!(err, Error::TokenFile { .. }), "{err}");
    }
}
