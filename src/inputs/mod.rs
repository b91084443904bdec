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

use crate::aws_names::{
    check_access_key_id, check_access_key_id_lenient, AccountId, ProfileName, Region,
};
use crate::error::Error;
use crate::plan::{
    AccountChecks, AmbientReason, Chain, CredentialPlan, CredentialSource, Delivery, Identify,
    Plan, ProfileDelivery, Runner, TokenSource, Warning, WebIdentity,
};
use crate::secret::{Credentials, Issuer, Secret};
use role::Call;
use std::collections::HashMap;
use values::{bad, list, parse_bool, set, warn};

pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";

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
    let allowed = allowed_account_ids(raw, &mut warnings)?;
    let account = AccountChecks {
        allowed,
        mask: mask_account_id,
    };
    if let Some(text) = set(&raw.roles) {
        // Every profile gets its own files; nothing global is delivered.
        let profiles = roles::plan(raw, env, &region, &runner, real_aws, &mut warnings, text)?;
        return Ok(Plan {
            credentials: CredentialPlan::Profiles(profiles),
            region,
            delivery: Delivery::OutputsOnly,
            output_credentials: false,
            unset_current_credentials,
            special_characters_workaround,
            account,
            network,
            runner,
            warnings,
        });
    }
    roles::refuse_default_profile_alone(raw)?;
    let start = credential_plan(raw, env, &region, &runner, real_aws, &mut warnings)?;
    let credentials = match (use_existing, start) {
        (true, CredentialPlan::Obtain(chain)) => CredentialPlan::KeepExisting {
            fallback: Some(chain),
        },
        (true, _) => CredentialPlan::KeepExisting { fallback: None },
        (false, start) => start,
    };
    let refresh = flag("refresh-credentials", &raw.refresh_credentials, false)?;
    let delivery = if refresh {
        refreshing(
            raw,
            env,
            &region,
            &network,
            &credentials,
            output_env_credentials,
        )?
    } else {
        delivery(raw, env, output_env_credentials)?
    };
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
        warnings,
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

/// `aws-access-key-id`, `aws-secret-access-key` and `aws-session-token`: both
/// keys or neither. A session token without keys is ignored, as the reference
/// action ignores it (reference: src/index.ts run() reads SessionToken only in
/// the `else if (AccessKeyId)` branch).
pub(super) fn keys(
    raw: &RawInputs,
    real_aws: bool,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Credentials>, Error> {
    let session_token = set(&raw.aws_session_token);
    let both = "Set both `aws-access-key-id` and `aws-secret-access-key`, or neither.";
    match (set(&raw.aws_access_key_id), set(&raw.aws_secret_access_key)) {
        (Some(id), Some(secret)) => {
            let id = id.trim();
            let checked = if real_aws {
                check_access_key_id(id)
            } else {
                check_access_key_id_lenient(id)
            };
            checked.map_err(|problem| bad("aws-access-key-id", problem, "Pass the access key id (it starts with AKIA or ASIA) from a secret, e.g. `${{ secrets.AWS_ACCESS_KEY_ID }}`."))?;
            let keys = Credentials {
                access_key_id: Secret::new(id),
                secret_access_key: Secret::new(secret.trim()),
                session_token: session_token.map(|t| Secret::new(t.trim())),
                expiration: None,
            };
            let issuer = if real_aws { Issuer::Aws } else { Issuer::Other };
            keys.check_shape_of(issuer).map_err(|problem| {
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
        (None, None) => {
            if session_token.is_some() {
                warn(
                    warnings,
                    "aws-session-token",
                    "is ignored: it belongs to a key pair, and `aws-access-key-id`/`aws-secret-access-key` are not set.",
                );
            }
            Ok(None)
        }
    }
}

/// Where the first credentials come from, with the same precedence as the
/// reference action (src/index.ts run() and useGitHubOIDCProvider()): given
/// keys; else a token file; else `role-chaining`; else OIDC when the job can
/// request a token; else the credentials the job already holds.
fn credential_plan(
    raw: &RawInputs,
    env: &HashMap<String, String>,
    region: &Region,
    runner: &Runner,
    real_aws: bool,
    warnings: &mut Vec<Warning>,
) -> Result<CredentialPlan, Error> {
    let role_chaining = parse_bool("role-chaining", &raw.role_chaining, false)?;
    let force_skip_oidc = parse_bool("force-skip-oidc", &raw.force_skip_oidc, false)?;
    let skip_tagging = parse_bool(
        "role-skip-session-tagging",
        &raw.role_skip_session_tagging,
        false,
    )?;
    let keys = keys(raw, real_aws, warnings)?;
    let role = set(&raw.role_to_assume).map(str::trim);
    let token_file = set(&raw.web_identity_token_file).map(str::trim);
    let hops = |role: Option<&str>, warnings: &mut Vec<Warning>| -> Result<Vec<_>, Error> {
        match role {
            Some(role) => Ok(vec![role::hop(
                raw,
                role,
                region,
                skip_tagging,
                env,
                warnings,
            )?]),
            None => {
                role::warn_role_only_inputs(raw, warnings);
                Ok(Vec::new())
            }
        }
    };
    let Some(role) = role else {
        // No role: nothing is assumed; the job's credentials are used as they are.
        if let Some(keys) = keys {
            return Ok(CredentialPlan::Obtain(Chain {
                source: CredentialSource::Keys(keys),
                hops: hops(None, warnings)?,
            }));
        }
        role::warn_role_only_inputs(raw, warnings);
        if token_file.is_some() {
            warn(warnings, "web-identity-token-file", "is ignored: a web identity token can only be exchanged for a role, and `role-to-assume` is not set.");
        }
        if role_chaining {
            warn(warnings, "role-chaining", "has no role to chain into (`role-to-assume` is not set): the job's existing credentials are kept as they are.");
        }
        // reference: src/index.ts run(): with a token file and no role nothing
        // is validated; otherwise the ambient credentials must work.
        let identify = if token_file.is_some() && !role_chaining {
            Identify::Skip
        } else {
            Identify::Required
        };
        return Ok(CredentialPlan::LeaveAsIs(identify));
    };
    if let Some(keys) = keys {
        if token_file.is_some() {
            warn(
                warnings,
                "web-identity-token-file",
                "is ignored: the access keys given as inputs sign AssumeRole.",
            );
        }
        return Ok(CredentialPlan::Obtain(Chain {
            source: CredentialSource::Keys(keys),
            hops: hops(Some(role), warnings)?,
        }));
    }
    if let Some(path) = token_file {
        let path = runner::token_file_path(path, runner.workspace.as_deref())?;
        return web_identity(raw, region, role, TokenSource::File(path), warnings);
    }
    if role_chaining {
        refuse_chaining_from_a_refreshing_profile(env)?;
        return Ok(CredentialPlan::Obtain(Chain {
            source: CredentialSource::Ambient(AmbientReason::RoleChaining),
            hops: hops(Some(role), warnings)?,
        }));
    }
    if force_skip_oidc {
        // reference: src/index.ts run() refuses this combination too.
        return Err(bad("force-skip-oidc", "is true, and no other credentials were given", "Also set `aws-access-key-id`/`aws-secret-access-key`, `web-identity-token-file` or `role-chaining: true`, or remove `force-skip-oidc`."));
    }
    let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    match (
        get("ACTIONS_ID_TOKEN_REQUEST_URL"),
        get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) {
        (Some(url), Some(bearer)) => {
            let audience = audience(raw)?;
            let token = TokenSource::Request {
                url: crate::oidc::token_url(url, &audience)?,
                bearer: Secret::new(bearer),
                audience,
            };
            web_identity(raw, region, role, token, warnings)
        }
        // reference: src/index.ts run(): without ACTIONS_ID_TOKEN_REQUEST_TOKEN the
        // SDK's default credentials (keys from an earlier step or `env:`, an
        // instance profile) sign AssumeRole.
        _ => Ok(CredentialPlan::Obtain(Chain {
            source: CredentialSource::Ambient(AmbientReason::NoOidcToken {
                under_act: get("ACT") == Some("true"),
            }),
            hops: hops(Some(role), warnings)?,
        })),
    }
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

/// `role-chaining` after a `refresh-credentials` step: the environment's
/// credentials are then a `credential_process` profile, which this action's own
/// SDK client does not run; say so now instead of "no credentials found" later.
pub(super) fn refuse_chaining_from_a_refreshing_profile(
    env: &HashMap<String, String>,
) -> Result<(), Error> {
    let refreshing = env.get("AWS_CONFIG_FILE").is_some_and(|p| {
        let p = std::path::Path::new(p);
        p.file_name()
            .is_some_and(|n| n == crate::refresh::install::CONFIG)
            && p.parent()
                .and_then(|d| d.file_name())
                .is_some_and(|n| n == crate::profile::DIR_NAME)
    });
    if refreshing {
        return Err(bad(
            "role-chaining",
            "cannot start from the refreshing profile an earlier `refresh-credentials` step left (AWS_CONFIG_FILE)",
            "Run this step before the refreshing one (with `refresh-credentials` it is refused too), or let the SDK chain: a profile with `role_arn = <role>` and `source_profile = keyless-aws` (see the README's \"Credentials that refresh themselves\").",
        ));
    }
    Ok(())
}

/// The default profile name with `refresh-credentials` and no `aws-profile`: a
/// name of its own, so a `[default]` in the user's credentials file (which
/// SDKs read before `credential_process`) cannot shadow it.
pub const REFRESH_PROFILE: &str = "keyless-aws";

/// `refresh-credentials: true`: only a web identity from the runner's token
/// request can be obtained again by a later step, so everything else is
/// refused here, before any request.
fn refreshing(
    raw: &RawInputs,
    env: &HashMap<String, String>,
    region: &Region,
    network: &crate::plan::Network,
    credentials: &CredentialPlan,
    output_env_credentials: bool,
) -> Result<Delivery, Error> {
    const INPUT: &str = "refresh-credentials";
    let oidc_only = "Use it with `role-to-assume` and `permissions: id-token: write` (OIDC), with or without `role-chaining` roles after it.";
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
                oidc_only,
            ))
        }
        CredentialPlan::Profiles(_) => return Err(roles::refresh_not_supported()),
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
    let web = match &chain.source {
        CredentialSource::Keys(_) => {
            return Err(bad(
                INPUT,
                "cannot refresh credentials made from access keys: it would mean storing long-lived keys on disk for later steps",
                format!("{oidc_only} Or remove `refresh-credentials` and keep the keys' session within its duration."),
            ))
        }
        CredentialSource::Ambient(AmbientReason::RoleChaining) => {
            return Err(bad(
                INPUT,
                "cannot refresh a chain that starts from the environment's credentials: a later step cannot obtain them again",
                oidc_only,
            ))
        }
        CredentialSource::Ambient(AmbientReason::NoOidcToken { .. }) => {
            return Err(bad(
                INPUT,
                "needs an OIDC token, and this job cannot request one (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set)",
                "Grant the job `permissions: id-token: write` (not available to pull requests from forks), or remove `refresh-credentials`.",
            ))
        }
        CredentialSource::WebIdentity(web) => web,
    };
    let audience = match &web.token {
        TokenSource::Request { audience, .. } => audience.clone(),
        TokenSource::File(_) => {
            return Err(bad(
                INPUT,
                "cannot refresh from `web-identity-token-file`: the helper would have to find a fresh token in that file in every later step and container, and nothing renews it there",
                "Use the runner's token request instead (`permissions: id-token: write`, no `web-identity-token-file`), or remove `refresh-credentials`.",
            ))
        }
    };
    let name = match set(&raw.aws_profile).map(str::trim) {
        Some(name) => ProfileName::parse(name).map_err(|problem| {
            bad(
                "aws-profile",
                problem,
                "Use 1–64 letters, digits, `_`, `.` or `-`.",
            )
        })?,
        None => ProfileName::parse(REFRESH_PROFILE).expect("a valid profile name"),
    };
    if let Some(proxy) = set(&raw.http_proxy) {
        if url::Url::parse(proxy.trim()).is_ok_and(|u| u.password().is_some()) {
            return Err(bad(
                INPUT,
                "would have to store the `http-proxy` password on disk for later steps",
                "Set HTTPS_PROXY (with the password, from a secret) in the job's `env:` instead of `http-proxy`: later steps and the helper read it from there.",
            ));
        }
    }
    let description = crate::refresh::description::Description::from_plan(
        region,
        network,
        web,
        &audience,
        &chain.hops,
    );
    description.validate().map_err(|problem| {
        bad(
            INPUT,
            format!("cannot describe this chain for later steps: {problem}"),
            "Check the role, session and tag inputs named above.",
        )
    })?;
    Ok(Delivery::RefreshingProfile(Box::new(
        crate::plan::RefreshDelivery {
            name,
            dir: runner::profile_dir(env, set(&raw.runner_temp).map(str::trim))?,
            description,
        },
    )))
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
        let Delivery::RefreshingProfile(refresh) = &plan.delivery else {
            panic!("{:?}", plan.delivery)
        };
        assert_eq!(refresh.name.as_str(), REFRESH_PROFILE);
        assert_eq!(refresh.dir.local, std::path::Path::new("/rt/.keyless-aws"));
        let d = &refresh.description;
        assert_eq!(d.web_identity.role_arn, ROLE);
        assert_eq!(d.audience, DEFAULT_AUDIENCE);
        // A 900 s session still leaves botocore's mandatory 10 minutes.
        assert_eq!(d.min_remaining_seconds, 660);
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
        // Neither a role nor keys: the job's own credentials, identified (as the reference).
        let plan = plan_of(&[]).unwrap();
        assert!(matches!(
            plan.credentials,
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
        let Delivery::ProfileFiles { profile, .. } = &plan.delivery else {
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
        let CredentialPlan::Obtain(chain) = &plan.credentials else {
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
        assert_eq!(plan.network.retry.max_attempts, DEFAULT_RETRY_MAX_ATTEMPTS);
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
        assert!(!plan.delivery.exports_env_vars());
        let mut with_env = base.to_vec();
        with_env.push(("INPUT_OUTPUT-ENV-CREDENTIALS", "true"));
        assert!(plan_of(&with_env).unwrap().delivery.exports_env_vars());
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
