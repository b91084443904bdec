//! The action's inputs and the runner's environment → a validated [`Plan`]:
//! the decisions in the reference action's order, using `network`, `runner`,
//! `role` and `roles` for their parts and `credentials` for the keys and the
//! audience.

use super::credentials::{audience, keys, refuse_chaining_from_a_refreshing_profile};
use super::raw::RawInputs;
use super::role_hop::{self as role, Call};
use super::values::{bad, list, parse_bool, set, warn};
use super::{network, refresh, roles_grammar as roles, runner};
use crate::aws_names::{AccountId, ProfileName, Region};
use crate::error::Error;
use crate::plan::{
    AccountChecks, AmbientReason, Chain, CredentialPlan, CredentialSource, Delivery, Identify,
    Mode, Plan, ProfileDelivery, Runner, SecretKeyRule, SinglePlan, TokenSource, Warning,
    WebIdentity,
};
use crate::secret::Secret;
use std::collections::HashMap;

/// Builds the plan from the inputs and the runner's environment. The order
/// of the decisions follows the reference action's `run()` (src/index.ts), so
/// that a workflow written for it gets the same credentials here.
pub fn plan(raw: &RawInputs, env: &HashMap<String, String>) -> Result<Plan, Error> {
    let mut warnings = Vec::new();
    let runner = runner::runner(env)?;
    let network = network::network(raw, env, runner::in_container_action(env), &mut warnings)?;
    // Key ids and region names are only held to AWS's own rules when AWS
    // answers: LocalStack takes `test`, MinIO `minioadmin`.
    let real_aws = network.sts_endpoint.is_none();
    let region = region(raw, env, real_aws)?;
    network::refuse_global_variant(&network, &region)?;
    let flags = StepFlags::read(raw)?;
    let account = AccountChecks {
        allowed: allowed_account_ids(raw, &mut warnings)?,
        mask: flags.mask_account_id,
    };
    let step = Step {
        raw,
        env,
        region: &region,
        network: &network,
        runner: &runner,
        real_aws,
    };
    let mode = match set(&raw.roles) {
        Some(text) => {
            // Every profile gets its own files; nothing global is delivered.
            let mut profiles =
                roles::plan(raw, env, &region, &runner, real_aws, &mut warnings, text)?;
            profiles.content = refresh::profiles(raw, &region, &network, &profiles)?;
            Mode::Profiles(profiles)
        }
        None => Mode::Single(single(&step, &flags, &mut warnings)?),
    };
    Ok(Plan {
        region,
        mode,
        unset_current_credentials: flags.unset_current_credentials,
        secret_key: flags.secret_key,
        account,
        network,
        runner,
        warnings,
    })
}

/// What every decision about one step reads.
struct Step<'a> {
    raw: &'a RawInputs,
    env: &'a HashMap<String, String>,
    region: &'a Region,
    network: &'a crate::plan::Network,
    runner: &'a Runner,
    real_aws: bool,
}

/// The step's yes/no inputs, read in the reference action's order.
struct StepFlags {
    mask_account_id: bool,
    output_credentials: bool,
    output_env_credentials: bool,
    unset_current_credentials: bool,
    secret_key: SecretKeyRule,
    use_existing: bool,
}

impl StepFlags {
    fn read(raw: &RawInputs) -> Result<StepFlags, Error> {
        let flag =
            |name: &'static str, value: &Option<String>, default| parse_bool(name, value, default);
        let mask_account_id = flag("mask-aws-account-id", &raw.mask_aws_account_id, false)?;
        let output_credentials = flag("output-credentials", &raw.output_credentials, false)?;
        // reference: src/index.ts run(): `getBooleanInput('output-env-credentials',
        // { default: !awsProfile })`: a profile alone changes no global variable.
        let profile_mode = set(&raw.aws_profile).is_some();
        let output_env_credentials = flag(
            "output-env-credentials",
            &raw.output_env_credentials,
            !profile_mode,
        )?;
        let unset_current_credentials = flag(
            "unset-current-credentials",
            &raw.unset_current_credentials,
            false,
        )?;
        let secret_key = if flag(
            "special-characters-workaround",
            &raw.special_characters_workaround,
            false,
        )? {
            SecretKeyRule::AlphanumericOnly
        } else {
            SecretKeyRule::AsIssued
        };
        let use_existing = flag(
            "use-existing-credentials",
            &raw.use_existing_credentials,
            false,
        )?;
        Ok(StepFlags {
            mask_account_id,
            output_credentials,
            output_env_credentials,
            unset_current_credentials,
            secret_key,
            use_existing,
        })
    }
}

/// One credential set: where it comes from and how it is delivered.
fn single(
    step: &Step<'_>,
    flags: &StepFlags,
    warnings: &mut Vec<Warning>,
) -> Result<SinglePlan, Error> {
    let raw = step.raw;
    roles::refuse_default_profile_alone(raw)?;
    let start = credential_plan(step, warnings)?;
    let credentials = match (flags.use_existing, start) {
        (true, CredentialPlan::Obtain(chain)) => CredentialPlan::KeepExisting {
            fallback: Some(chain),
        },
        (true, _) => CredentialPlan::KeepExisting { fallback: None },
        (false, start) => start,
    };
    let delivery = if refresh::requested(raw)? {
        refresh::single(
            raw,
            step.env,
            step.region,
            step.network,
            &credentials,
            flags.output_env_credentials,
        )?
    } else {
        delivery(raw, step.env, flags.output_env_credentials)?
    };
    Ok(SinglePlan {
        credentials,
        delivery,
        output_credentials: flags.output_credentials,
    })
}

/// `aws-region`, else AWS_REGION (reference: src/helpers.ts
/// translateEnvVariables()), else AWS_DEFAULT_REGION (which the reference does
/// not read; accepting it breaks nothing).
fn region(raw: &RawInputs, env: &HashMap<String, String>, real_aws: bool) -> Result<Region, Error> {
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
    let parsed = if real_aws {
        Region::parse(value.trim())
    } else {
        Region::parse_lenient(value.trim())
    };
    parsed.map_err(|problem| {
        bad(
            "aws-region",
            problem,
            "Use a region name such as `us-east-1`, `eu-west-1`, `cn-north-1` or `us-gov-west-1`.",
        )
    })
}

/// `allowed-account-ids`, compared as text as the reference action compares
/// it (src/helpers.ts validateAccountId(): `expectedAccountIds.includes(account)`).
/// An entry that is not a 12-digit id (`1111-2222-3333`) can never match an
/// account STS reports, so it gets a warning rather than an error; it still
/// counts as a list, so a list of such entries refuses every account. An
/// empty first entry (`,111111111111`), which silently disables the
/// reference's check, is just skipped here: the rest is enforced.
fn allowed_account_ids(raw: &RawInputs, warnings: &mut Vec<Warning>) -> Result<Vec<String>, Error> {
    let Some(text) = set(&raw.allowed_account_ids) else {
        return Ok(Vec::new());
    };
    let ids: Vec<String> = list(text, &[',', '\n', ' ']).map(str::to_owned).collect();
    for id in &ids {
        if let Err(problem) = AccountId::parse(id) {
            warn(warnings, "allowed-account-ids", format!("{problem}: it can never match an account, so it allows none (write account ids as 12 digits, without dashes, e.g. `111111111111`)."));
        }
    }
    Ok(ids)
}

/// Where the first credentials come from, with the same precedence as the
/// reference action (src/index.ts run() and useGitHubOIDCProvider()): given
/// keys; else a token file; else `role-chaining`; else OIDC when the job can
/// request a token; else the credentials the job already holds.
fn credential_plan(step: &Step<'_>, warnings: &mut Vec<Warning>) -> Result<CredentialPlan, Error> {
    let raw = step.raw;
    if let Some(pool) = super::identity_pool::plan(
        raw,
        step.env,
        step.region,
        step.runner.workspace.as_deref(),
        warnings,
    )? {
        return Ok(pool);
    }
    let role_chaining = parse_bool("role-chaining", &raw.role_chaining, false)?;
    let force_skip_oidc = parse_bool("force-skip-oidc", &raw.force_skip_oidc, false)?;
    let skip_tagging = parse_bool(
        "role-skip-session-tagging",
        &raw.role_skip_session_tagging,
        false,
    )?;
    let keys = keys(raw, step.real_aws, warnings)?;
    let token_file = set(&raw.web_identity_token_file).map(str::trim);
    let Some(role) = set(&raw.role_to_assume).map(str::trim) else {
        return Ok(without_role(raw, keys, token_file, role_chaining, warnings));
    };
    let one = OneHop {
        step,
        role,
        skip_tagging,
    };
    if let Some(keys) = keys {
        if token_file.is_some() {
            warn(
                warnings,
                "web-identity-token-file",
                "is ignored: the access keys given as inputs sign AssumeRole.",
            );
        }
        return one.chain(CredentialSource::Keys(keys), warnings);
    }
    if let Some(path) = token_file {
        let path = runner::token_file_path(path, step.runner.workspace.as_deref())?;
        return web_identity(raw, step.region, role, TokenSource::File(path), warnings);
    }
    if role_chaining {
        refuse_chaining_from_a_refreshing_profile(step.env)?;
        return one.chain(
            CredentialSource::Ambient(AmbientReason::RoleChaining),
            warnings,
        );
    }
    if force_skip_oidc {
        // reference: src/index.ts run() refuses this combination too.
        return Err(bad("force-skip-oidc", "is true, and no other credentials were given", "Also set `aws-access-key-id`/`aws-secret-access-key`, `web-identity-token-file` or `role-chaining: true`, or remove `force-skip-oidc`."));
    }
    oidc_or_ambient(&one, warnings)
}

/// The role of `role-to-assume` as the one hop of a chain from `source`.
struct OneHop<'a, 'b> {
    step: &'a Step<'b>,
    role: &'a str,
    skip_tagging: bool,
}

impl OneHop<'_, '_> {
    fn chain(
        &self,
        source: CredentialSource,
        warnings: &mut Vec<Warning>,
    ) -> Result<CredentialPlan, Error> {
        let step = self.step;
        let hop = role::hop(
            step.raw,
            self.role,
            step.region,
            self.skip_tagging,
            step.env,
            warnings,
        )?;
        Ok(CredentialPlan::Obtain(Chain {
            source,
            hops: vec![hop],
        }))
    }
}

/// OIDC when the job can request a token; else, as the reference action
/// does, the credentials the job already holds sign AssumeRole.
fn oidc_or_ambient(
    one: &OneHop<'_, '_>,
    warnings: &mut Vec<Warning>,
) -> Result<CredentialPlan, Error> {
    let (step, raw, role) = (one.step, one.step.raw, one.role);
    let get = |k: &str| {
        step.env
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    match (
        get("ACTIONS_ID_TOKEN_REQUEST_URL"),
        get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) {
        (Some(url), Some(bearer)) => {
            let audience = audience(raw)?;
            let token = TokenSource::Request {
                url: crate::oidc::token_url(url, audience.as_str())?,
                bearer: Secret::new(bearer),
                audience,
            };
            web_identity(raw, step.region, role, token, warnings)
        }
        // reference: src/index.ts run(): without ACTIONS_ID_TOKEN_REQUEST_TOKEN the
        // SDK's default credentials (keys from an earlier step or `env:`, an
        // instance profile) sign AssumeRole.
        _ => one.chain(
            CredentialSource::Ambient(AmbientReason::NoOidcToken {
                under_act: get("ACT") == Some("true"),
            }),
            warnings,
        ),
    }
}

/// No role: nothing is assumed; keys given as inputs, or the job's own
/// credentials, are used as they are.
fn without_role(
    raw: &RawInputs,
    keys: Option<crate::secret::Credentials>,
    token_file: Option<&str>,
    role_chaining: bool,
    warnings: &mut Vec<Warning>,
) -> CredentialPlan {
    role::warn_role_only_inputs(raw, warnings);
    if let Some(keys) = keys {
        return CredentialPlan::Obtain(Chain {
            source: CredentialSource::Keys(keys),
            hops: Vec::new(),
        });
    }
    if token_file.is_some() {
        warn(warnings, "web-identity-token-file", "is ignored: a web identity token can only be exchanged for a role, and `role-to-assume` is not set.");
    }
    if role_chaining {
        warn(warnings, "role-chaining", "has no role to chain into (`role-to-assume` is not set): the job's existing credentials are kept as they are.");
    }
    // reference: src/index.ts run(): with a token file and no role nothing
    // is validated; otherwise the ambient credentials must work.
    CredentialPlan::LeaveAsIs(if token_file.is_some() && !role_chaining {
        Identify::Skip
    } else {
        Identify::Required
    })
}

/// `AssumeRoleWithWebIdentity` for `role-to-assume`: no tags, no external id
/// (both ignored with a warning), no bare role name.
fn web_identity(
    raw: &RawInputs,
    region: &Region,
    role: &str,
    token: TokenSource,
    warnings: &mut Vec<Warning>,
) -> Result<CredentialPlan, Error> {
    let role = role::web_identity_role(role, region)?;
    let session = role::session_options(raw)?;
    role::external_id(raw, Call::WebIdentity, warnings)?;
    role::session_tags(raw, Call::WebIdentity, &HashMap::new(), warnings)?;
    Ok(CredentialPlan::Obtain(Chain {
        source: CredentialSource::WebIdentity(WebIdentity {
            token,
            role,
            session,
        }),
        hops: Vec::new(),
    }))
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
            "Use a name without spaces, brackets or slashes, e.g. `deploy` or `prod.eu`.",
        )
    })?;
    Ok(Delivery::ProfileFiles {
        profile: ProfileDelivery {
            name,
            overwrite,
            dir: runner::profile_dir(env, set(&raw.runner_temp).map(str::trim))?,
        },
        env_vars: output_env_credentials,
    })
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

    fn single(plan: &Plan) -> &SinglePlan {
        match &plan.mode {
            Mode::Single(single) => single,
            other => panic!("{other:?}"),
        }
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";

    #[test]
    fn refresh_credentials_is_a_described_profile_for_oidc_only() {
        let oidc = [
            ("INPUT_ROLE-TO-ASSUME", ROLE),
            ("INPUT_REFRESH-CREDENTIALS", "true"),
            ("INPUT_ROLE-DURATION-SECONDS", "900"),
            ("RUNNER_TEMP", "/rt"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://t.example/x?a=1"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "bearer"),
        ];
        let plan = plan_of(&oidc).unwrap();
        let Delivery::RefreshingProfile(refresh) = &single(&plan).delivery else {
            panic!("{:?}", single(&plan).delivery)
        };
        assert_eq!(refresh.name.as_str(), refresh::REFRESH_PROFILE);
        assert_eq!(refresh.dir.local, std::path::Path::new("/rt/.keyless-aws"));
        let CredentialPlan::Obtain(chain) = &single(&plan).credentials else {
            panic!("{:?}", single(&plan).credentials)
        };
        let d = &crate::refresh::description::Description::from_chain(
            &plan.region,
            &plan.network,
            chain,
        )
        .unwrap();
        assert_eq!(d.web_identity.as_ref().unwrap().role_arn, ROLE);
        assert_eq!(d.audience, crate::aws_names::Audience::DEFAULT);
        // A 900 s session still leaves botocore's mandatory 10 minutes.
        assert_eq!(d.min_remaining_seconds, 360);
        let text = d.to_json();
        assert!(!text.contains("bearer"), "{text}");

        let refused = |extra: &[(&str, &str)], says: &str| {
            let mut pairs = oidc.to_vec();
            pairs.extend_from_slice(extra);
            let err = plan_of(&pairs).unwrap_err();
            let text = format!("{err} {}", err.help());
            assert!(
                text.contains("refresh-credentials") && text.contains(says),
                "{text}"
            );
        };
        refused(
            &[
                ("INPUT_AWS-ACCESS-KEY-ID", "AKIAEXAMPLEEXAMPLE00"),
                ("INPUT_AWS-SECRET-ACCESS-KEY", "secret"),
            ],
            "long-lived keys on disk",
        );
        refused(
            &[("INPUT_WEB-IDENTITY-TOKEN-FILE", "/t.jwt")],
            "token request",
        );
        refused(
            &[("INPUT_ROLE-CHAINING", "true")],
            "environment's credentials",
        );
        refused(
            &[("INPUT_USE-EXISTING-CREDENTIALS", "true")],
            "use-existing-credentials",
        );
        refused(
            &[("INPUT_OUTPUT-ENV-CREDENTIALS", "false")],
            "output-env-credentials",
        );
        refused(
            &[("INPUT_HTTP-PROXY", "http://u:p@proxy:3128")],
            "HTTPS_PROXY",
        );
        refused(
            &[("INPUT_REFRESH-CREDENTIALS", "maybe")],
            "refresh-credentials",
        );
    }

    #[test]
    fn refresh_credentials_with_an_identity_pool_describes_the_pool() {
        const POOL: &str = "eu-west-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        let plan = plan_of(&[
            ("INPUT_COGNITO-IDENTITY-POOL-ID", POOL),
            ("INPUT_AWS-REGION", "eu-west-1"),
            ("INPUT_ROLE-TO-ASSUME", ROLE),
            ("INPUT_REFRESH-CREDENTIALS", "true"),
            ("RUNNER_TEMP", "/rt"),
            ("AWS_ENDPOINT_URL_COGNITO_IDENTITY", "http://127.0.0.1:4566"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://t.example/x?a=1"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "bearer"),
        ])
        .unwrap();
        assert!(matches!(
            single(&plan).delivery,
            Delivery::RefreshingProfile(_)
        ));
        let CredentialPlan::Obtain(chain) = &single(&plan).credentials else {
            panic!("{:?}", single(&plan).credentials)
        };
        let d = crate::refresh::description::Description::from_chain(
            &plan.region,
            &plan.network,
            chain,
        )
        .unwrap();
        assert!(d.web_identity.is_none());
        let pool = d.identity_pool.as_ref().unwrap();
        assert_eq!(pool.pool_id, POOL);
        assert_eq!(pool.role_arn.as_deref(), Some(ROLE));
        assert_eq!(pool.endpoint.as_deref(), Some("http://127.0.0.1:4566/"));
        d.validate().unwrap();
        assert!(!d.to_json().contains("bearer"));
        // A token file is still refused: nothing renews it for the helper.
        let err = plan_of(&[
            ("INPUT_COGNITO-IDENTITY-POOL-ID", POOL),
            ("INPUT_AWS-REGION", "eu-west-1"),
            ("INPUT_REFRESH-CREDENTIALS", "true"),
            ("INPUT_WEB-IDENTITY-TOKEN-FILE", "/t.jwt"),
            ("RUNNER_TEMP", "/rt"),
        ])
        .unwrap_err();
        assert!(format!("{err}").contains("refresh-credentials"), "{err}");
    }

    #[test]
    fn oidc_is_a_web_identity_chain_without_hops() {
        let plan = plan_of(&[
            ("INPUT_ROLE-TO-ASSUME", ROLE),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://t.example/x?a=1"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "bearer"),
        ])
        .unwrap();
        let CredentialPlan::Obtain(chain) = &single(&plan).credentials else {
            panic!("{:?}", single(&plan).credentials)
        };
        let CredentialSource::WebIdentity(web) = &chain.source else {
            panic!("{:?}", chain.source)
        };
        assert_eq!(web.role.as_str(), ROLE);
        assert!(chain.hops.is_empty());
        let TokenSource::Request { url, audience, .. } = &web.token else {
            panic!("{:?}", web.token)
        };
        assert_eq!(audience.as_str(), crate::aws_names::Audience::DEFAULT);
        assert_eq!(url.query(), Some("a=1&audience=sts.amazonaws.com"));
        assert!(matches!(single(&plan).delivery, Delivery::EnvVars));
    }

    #[test]
    fn keys_and_a_bare_role_name_make_one_tagged_hop() {
        let plan = plan_of(&[
            ("INPUT_AWS-ACCESS-KEY-ID", "AKIAEXAMPLEEXAMPLE00"),
            ("INPUT_AWS-SECRET-ACCESS-KEY", "secret"),
            ("INPUT_ROLE-TO-ASSUME", "deploy"),
        ])
        .unwrap();
        let CredentialPlan::Obtain(chain) = &single(&plan).credentials else {
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
            single(&plan).credentials,
            CredentialPlan::KeepExisting { fallback: None }
        ));
        // Neither a role nor keys: the job's own credentials, identified (as the reference).
        let plan = plan_of(&[]).unwrap();
        assert!(matches!(
            single(&plan).credentials,
            CredentialPlan::LeaveAsIs(Identify::Required)
        ));
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
        let CredentialPlan::Obtain(chain) = &single(&plan).credentials else {
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
        let Delivery::ProfileFiles { profile, .. } = &single(&plan).delivery else {
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

    #[test]
    fn a_role_without_an_oidc_token_is_signed_by_the_jobs_credentials() {
        let plan = plan_of(&[("INPUT_ROLE-TO-ASSUME", ROLE), ("ACT", "true")]).unwrap();
        let CredentialPlan::Obtain(chain) = &single(&plan).credentials else {
            panic!()
        };
        assert!(matches!(
            chain.source,
            CredentialSource::Ambient(AmbientReason::NoOidcToken { under_act: true })
        ));
        assert_eq!(chain.hops.len(), 1);
        assert!(
            chain.hops[0].tags.is_some(),
            "AssumeRole carries session tags"
        );
    }

    #[test]
    fn ignored_inputs_become_warnings() {
        let plan = plan_of(&[
            ("INPUT_ROLE-TO-ASSUME", ROLE),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://t.example/x"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "bearer"),
            ("INPUT_CUSTOM-TAGS", r#"{"a":"b"}"#),
            ("INPUT_ROLE-EXTERNAL-ID", "ext-1"),
            ("INPUT_RETRY-MAX-ATTEMPTS", "0"),
        ])
        .unwrap();
        let mut warned: Vec<&str> = plan.warnings.iter().map(|w| w.input).collect();
        warned.sort();
        assert_eq!(
            warned,
            ["custom-tags", "retry-max-attempts", "role-external-id"]
        );
        assert_eq!(
            plan.network.retry.max_attempts,
            super::network::DEFAULT_RETRY_MAX_ATTEMPTS
        );
        // A malformed value is still an error, even where it would be ignored.
        let err = plan_of(&[
            ("INPUT_ROLE-TO-ASSUME", ROLE),
            ("INPUT_CUSTOM-TAGS", "{not json"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("custom-tags"), "{err}");
    }

    #[test]
    fn a_profile_alone_exports_no_globals() {
        let base = [
            ("INPUT_ROLE-TO-ASSUME", ROLE),
            ("INPUT_AWS-PROFILE", "dev"),
            ("RUNNER_TEMP", "/rt"),
        ];
        let plan = plan_of(&base).unwrap();
        assert!(!single(&plan).delivery.exports_env_vars());
        let mut with_env = base.to_vec();
        with_env.push(("INPUT_OUTPUT-ENV-CREDENTIALS", "true"));
        assert!(single(&plan_of(&with_env).unwrap())
            .delivery
            .exports_env_vars());
    }

    #[test]
    fn key_ids_are_strict_only_for_aws_itself() {
        let keys = [
            ("INPUT_AWS-ACCESS-KEY-ID", "test"),
            ("INPUT_AWS-SECRET-ACCESS-KEY", "test"),
        ];
        assert!(plan_of(&keys).is_err());
        let mut local = keys.to_vec();
        local.push(("INPUT_STS-ENDPOINT", "http://localstack:4566"));
        local.push(("INPUT_AWS-REGION", "local-1x"));
        assert!(plan_of(&local).is_ok());
    }

    #[test]
    fn a_loopback_endpoint_in_a_container_is_flagged() {
        let base = [
            ("INPUT_AWS-ACCESS-KEY-ID", "test"),
            ("INPUT_AWS-SECRET-ACCESS-KEY", "test"),
            ("INPUT_STS-ENDPOINT", "http://localhost:4566"),
        ];
        let plan = plan_of(&base).unwrap();
        assert!(plan.network.container_loopback.is_none() && plan.warnings.is_empty());
        let mut in_container = base.to_vec();
        in_container.extend([("HOME", "/github/home"), ("GITHUB_ACTIONS", "true")]);
        let plan = plan_of(&in_container).unwrap();
        assert!(plan.network.container_loopback.is_some());
        assert_eq!(plan.warnings[0].input, "sts-endpoint");
    }
}
