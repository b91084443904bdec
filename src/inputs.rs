//! Inputs: the raw `INPUT_*` strings are read once and turned into a validated
//! [`Plan`]. Nothing after this module looks at raw input text again, and
//! nothing in it touches the network, so a bad value stops the run before any
//! request is made.

use crate::error::Error;
use crate::secret::{Credentials, Secret};
use crate::tags::{self, Tag};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// The inputs exactly as the runner passes them (`INPUT_ROLE-TO-ASSUME`, …).
/// Every field is text; an empty value means "not set".
#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case", default)]
pub struct RawInputs {
    pub aws_region: Option<String>,
    pub role_to_assume: Option<String>,
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
    pub aws_session_token: Option<String>,
    pub web_identity_token_file: Option<String>,
    pub role_chaining: Option<String>,
    pub audience: Option<String>,
    pub http_proxy: Option<String>,
    pub no_proxy: Option<String>,
    pub mask_aws_account_id: Option<String>,
    pub role_duration_seconds: Option<String>,
    pub role_external_id: Option<String>,
    pub role_session_name: Option<String>,
    pub role_skip_session_tagging: Option<String>,
    pub transitive_tag_keys: Option<String>,
    pub inline_session_policy: Option<String>,
    pub managed_session_policies: Option<String>,
    pub output_credentials: Option<String>,
    pub output_env_credentials: Option<String>,
    pub unset_current_credentials: Option<String>,
    pub disable_retry: Option<String>,
    pub retry_max_attempts: Option<String>,
    pub special_characters_workaround: Option<String>,
    pub use_existing_credentials: Option<String>,
    pub allowed_account_ids: Option<String>,
    pub force_skip_oidc: Option<String>,
    pub action_timeout_s: Option<String>,
    pub custom_tags: Option<String>,
    pub sts_endpoint: Option<String>,
    pub aws_profile: Option<String>,
    pub overwrite_aws_profile: Option<String>,
    /// Not for users: action.yml fills it with `host:${{ runner.temp }}` (see profile.rs).
    pub runner_temp: Option<String>,
}

impl std::fmt::Debug for RawInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Raw inputs include secret keys; never show them.
        f.write_str("RawInputs(***)")
    }
}

impl RawInputs {
    /// Reads `INPUT_*` from an environment. Names are matched case-insensitively
    /// (the runner upper-cases them); variables that are not valid UTF-8 are skipped.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Self, Error> {
        let inputs = env
            .iter()
            .filter(|(k, _)| k.to_ascii_uppercase().starts_with("INPUT_"))
            .map(|(k, v)| (k.to_ascii_uppercase(), v.clone()));
        envy::prefixed("INPUT_")
            .from_iter(inputs)
            .map_err(|e| Error::Internal(format!("reading inputs: {e}")))
    }
}

/// Where the credentials that are exported (or used to assume the role) come from.
#[derive(Debug)]
pub enum Source {
    /// GitHub's OIDC token endpoint → `AssumeRoleWithWebIdentity`.
    Oidc {
        request_url: String,
        request_token: Secret,
        audience: String,
    },
    /// A JWT in a file → `AssumeRoleWithWebIdentity`.
    TokenFile { path: PathBuf },
    /// Keys given as inputs; used to sign `AssumeRole`, or exported as they are.
    Keys(Credentials),
    /// Credentials already in the environment (`role-chaining`).
    Ambient,
    /// OIDC was the only way, and the job cannot mint a token.
    NoToken { under_act: bool },
}

/// The role to assume: a full ARN, or a bare name completed with the caller's
/// own account and partition.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleTarget {
    Arn(String),
    Name(String),
}

#[derive(Debug)]
pub struct RoleRequest {
    pub target: RoleTarget,
    pub session_name: String,
    pub duration_seconds: i32,
    pub external_id: Option<String>,
    pub inline_policy: Option<String>,
    pub managed_policies: Vec<String>,
    /// Session tags for `AssumeRole`; `None` when tagging is skipped.
    pub tags: Option<Vec<Tag>>,
    pub transitive_tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts per call, including the first.
    pub max_attempts: u32,
}

#[derive(Debug)]
pub struct ProfileRequest {
    pub name: String,
    pub overwrite: bool,
}

/// Everything a run will do, validated.
#[derive(Debug)]
pub struct Plan {
    pub region: String,
    pub source: Source,
    pub role: Option<RoleRequest>,
    pub endpoint: Option<String>,
    pub retry: RetryPolicy,
    pub action_timeout: Option<Duration>,
    pub http_proxy: Option<String>,
    pub no_proxy: Option<String>,
    pub allowed_account_ids: Vec<String>,
    pub mask_account_id: bool,
    pub output_credentials: bool,
    pub output_env_credentials: bool,
    pub unset_current_credentials: bool,
    pub special_characters_workaround: bool,
    pub use_existing_credentials: bool,
    pub profile: Option<ProfileRequest>,
    pub env_file: PathBuf,
    pub output_file: PathBuf,
}

pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
pub const DEFAULT_SESSION_NAME: &str = "GitHubActions";
pub const DEFAULT_DURATION: i32 = 3600;
pub const DEFAULT_RETRY_MAX_ATTEMPTS: u32 = 12;

fn bad(input: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> Error {
    Error::Input {
        input,
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// An input's value with "empty means not set" applied.
fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

/// Strict booleans: the YAML spellings GitHub documents, nothing else. A typo
/// must not silently turn a security option on or off.
pub fn parse_bool(
    input: &'static str,
    value: &Option<String>,
    default: bool,
) -> Result<bool, Error> {
    match set(value).map(str::trim) {
        None => Ok(default),
        Some("true" | "True" | "TRUE") => Ok(true),
        Some("false" | "False" | "FALSE") => Ok(false),
        Some(other) => Err(bad(
            input,
            format!("{:?} is not a boolean", shorten(other)),
            format!("Set `{input}` to `true` or `false`."),
        )),
    }
}

fn parse_int(input: &'static str, value: &str, min: i64, max: i64) -> Result<i64, Error> {
    let n: i64 = value.trim().parse().map_err(|_| {
        bad(
            input,
            format!("{:?} is not a whole number", shorten(value)),
            format!("Set `{input}` to a whole number from {min} to {max}."),
        )
    })?;
    if !(min..=max).contains(&n) {
        return Err(bad(
            input,
            format!("{n} is outside {min}–{max}"),
            format!("Set `{input}` to a whole number from {min} to {max}."),
        ));
    }
    Ok(n)
}

/// Cuts a value for display in an error, so a pasted secret or a huge value
/// does not end up whole in the log.
fn shorten(value: &str) -> String {
    let mut s: String = value.chars().take(40).collect();
    if value.chars().count() > 40 {
        s.push('…');
    }
    s
}

/// AWS region names: `us-east-1`, `cn-north-1`, `us-gov-west-1`, `us-isob-east-1`, `eusc-de-east-1`.
pub fn is_region(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 5
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[0].len() >= 2
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit()))
}

/// The partition a region belongs to; it decides the ARN prefix of a role.
pub fn partition_for_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-isof-") || region.starts_with("eu-isof-") {
        "aws-iso-f"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// A role ARN: `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
fn parse_role_arn(value: &str) -> Result<(&str, &str), String> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err("is not an ARN (expected arn:aws:iam::123456789012:role/NAME)".into());
    }
    if !PARTITIONS.contains(&parts[1]) {
        return Err(format!("has an unknown partition {:?}", shorten(parts[1])));
    }
    if parts[2] != "iam" || !parts[3].is_empty() {
        return Err(
            "is not an IAM role ARN (expected arn:PARTITION:iam::ACCOUNT:role/NAME)".into(),
        );
    }
    if parts[4].len() != 12 || !parts[4].chars().all(|c| c.is_ascii_digit()) {
        return Err("has an account id that is not 12 digits".into());
    }
    let Some(name) = parts[5].strip_prefix("role/") else {
        return Err("does not name a role (expected …:role/NAME)".into());
    };
    let name_ok = !name.is_empty()
        && name.len() <= 512
        && !name.ends_with('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c));
    if !name_ok {
        return Err("has an invalid role name (letters, digits and +=,.@_- only)".into());
    }
    Ok((parts[1], parts[4]))
}

fn is_role_name(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// `role-session-name`: 2–64 of `[\w+=,.@-]`.
pub fn is_session_name(value: &str) -> bool {
    (2..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

fn parse_url(input: &'static str, value: &str) -> Result<String, Error> {
    // A proxy URL may carry a password: errors show only what follows the last `@`.
    let value_shown = value.rsplit_once('@').map_or(value, |(_, host)| host);
    // The URL parser drops control characters (tabs and newlines anywhere, others at
    // the ends) that the text kept here would still carry: refuse them instead.
    if value.trim().chars().any(char::is_control) {
        return Err(bad(
            input,
            format!("{:?} contains control characters", shorten(value_shown)),
            format!("Set `{input}` to a full URL such as https://host:port."),
        ));
    }
    let url = url::Url::parse(value.trim()).map_err(|e| {
        bad(
            input,
            format!("{:?} is not a URL ({e})", shorten(value_shown)),
            format!("Set `{input}` to a full URL such as https://host:port."),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad(
            input,
            format!("{:?} is not an http(s) URL", shorten(value_shown)),
            format!("Set `{input}` to a full URL such as https://host:port."),
        ));
    }
    // The URL as parsed, not as typed: the parser accepts lenient spellings
    // (`https:/host`, `HTTPS://HOST`) that other URL readers would take differently.
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn parse_account_ids(value: &str) -> Result<Vec<String>, Error> {
    value
        .split([',', '\n', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| {
            if id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) {
                Ok(id.to_owned())
            } else {
                Err(bad("allowed-account-ids", format!("{:?} is not a 12-digit account id", shorten(id)), "List 12-digit AWS account ids separated by commas, e.g. `111111111111,222222222222`."))
            }
        })
        .collect()
}

/// Builds the plan from the inputs and the runner's environment.
pub fn plan(raw: &RawInputs, env: &HashMap<String, String>) -> Result<Plan, Error> {
    let env_get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());

    let region = match set(&raw.aws_region)
        .or_else(|| env_get("AWS_REGION"))
        .or_else(|| env_get("AWS_DEFAULT_REGION"))
    {
        None => {
            return Err(bad(
                "aws-region",
                "is not set",
                "Set `aws-region`, for example `aws-region: us-east-1`.",
            ))
        }
        Some(r) if is_region(r.trim()) => r.trim().to_owned(),
        Some(r) => return Err(bad(
            "aws-region",
            format!("{:?} is not an AWS region name", shorten(r)),
            "Use a region name such as `us-east-1`, `eu-west-1`, `cn-north-1` or `us-gov-west-1`.",
        )),
    };

    let role_chaining = parse_bool("role-chaining", &raw.role_chaining, false)?;
    let force_skip_oidc = parse_bool("force-skip-oidc", &raw.force_skip_oidc, false)?;
    let mask_account_id = parse_bool("mask-aws-account-id", &raw.mask_aws_account_id, false)?;
    let skip_tagging = parse_bool(
        "role-skip-session-tagging",
        &raw.role_skip_session_tagging,
        false,
    )?;
    let output_credentials = parse_bool("output-credentials", &raw.output_credentials, false)?;
    let output_env_credentials =
        parse_bool("output-env-credentials", &raw.output_env_credentials, true)?;
    let unset_current_credentials = parse_bool(
        "unset-current-credentials",
        &raw.unset_current_credentials,
        false,
    )?;
    let disable_retry = parse_bool("disable-retry", &raw.disable_retry, false)?;
    let special_characters_workaround = parse_bool(
        "special-characters-workaround",
        &raw.special_characters_workaround,
        false,
    )?;
    let use_existing_credentials = parse_bool(
        "use-existing-credentials",
        &raw.use_existing_credentials,
        false,
    )?;
    let overwrite_profile = parse_bool("overwrite-aws-profile", &raw.overwrite_aws_profile, false)?;

    let max_attempts = match set(&raw.retry_max_attempts) {
        Some(v) => parse_int("retry-max-attempts", v, 1, 100)? as u32,
        None => DEFAULT_RETRY_MAX_ATTEMPTS,
    };
    let retry = RetryPolicy {
        max_attempts: if disable_retry { 1 } else { max_attempts },
    };

    let action_timeout = set(&raw.action_timeout_s)
        .map(|v| parse_int("action-timeout-s", v, 1, 3600))
        .transpose()?
        .map(|s| Duration::from_secs(s as u64));

    let endpoint = match set(&raw.sts_endpoint) {
        Some(v) => Some(parse_url("sts-endpoint", v)?),
        None => env_get("AWS_ENDPOINT_URL_STS")
            .or_else(|| env_get("AWS_ENDPOINT_URL"))
            .map(|v| parse_url("sts-endpoint", v))
            .transpose()?,
    };
    let http_proxy = set(&raw.http_proxy)
        .map(|v| parse_url("http-proxy", v))
        .transpose()?;
    let no_proxy = set(&raw.no_proxy).map(|v| v.trim().to_owned());

    let allowed_account_ids = set(&raw.allowed_account_ids)
        .map(parse_account_ids)
        .transpose()?
        .unwrap_or_default();

    // Credential source.
    let key_id = set(&raw.aws_access_key_id);
    let secret_key = set(&raw.aws_secret_access_key);
    let session_token = set(&raw.aws_session_token);
    let role_input = set(&raw.role_to_assume).map(str::trim);
    let token_file = set(&raw.web_identity_token_file).map(str::trim);

    let keys = match (key_id, secret_key) {
        (Some(id), Some(secret)) => {
            let id = id.trim();
            if !(16..=128).contains(&id.len()) || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(bad("aws-access-key-id", "is not an access key id (16–128 letters and digits)", "Pass the access key id (it starts with AKIA or ASIA) from a secret, e.g. `${{ secrets.AWS_ACCESS_KEY_ID }}`."));
            }
            Some(Credentials {
                access_key_id: Secret::new(id),
                secret_access_key: Secret::new(secret.trim()),
                session_token: session_token.map(|t| Secret::new(t.trim())),
                expiration: None,
            })
        }
        (Some(_), None) => {
            return Err(bad(
                "aws-secret-access-key",
                "is not set, but `aws-access-key-id` is",
                "Set both `aws-access-key-id` and `aws-secret-access-key`, or neither.",
            ))
        }
        (None, Some(_)) => {
            return Err(bad(
                "aws-access-key-id",
                "is not set, but `aws-secret-access-key` is",
                "Set both `aws-access-key-id` and `aws-secret-access-key`, or neither.",
            ))
        }
        (None, None) => {
            if session_token.is_some() {
                return Err(bad(
                    "aws-session-token",
                    "is set without `aws-access-key-id` and `aws-secret-access-key`",
                    "Pass the session token together with the key pair it belongs to.",
                ));
            }
            None
        }
    };

    let source = if let Some(keys) = keys {
        Source::Keys(keys)
    } else if let Some(path) = token_file {
        if role_input.is_none() {
            return Err(bad(
                "web-identity-token-file",
                "is set but `role-to-assume` is not",
                "A web identity token can only be exchanged for a role: set `role-to-assume`.",
            ));
        }
        Source::TokenFile {
            path: PathBuf::from(path),
        }
    } else if role_chaining {
        if role_input.is_none() {
            return Err(bad(
                "role-chaining",
                "is true but `role-to-assume` is not set",
                "Set `role-to-assume` to the role to chain into.",
            ));
        }
        Source::Ambient
    } else if role_input.is_some() {
        match (
            env_get("ACTIONS_ID_TOKEN_REQUEST_URL"),
            env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ) {
            (Some(url), Some(token)) if !force_skip_oidc && !token.is_empty() => {
                let audience = set(&raw.audience)
                    .map(str::trim)
                    .unwrap_or(DEFAULT_AUDIENCE);
                if audience.len() > 256 || audience.chars().any(char::is_control) {
                    return Err(bad("audience", "must be at most 256 printable characters", "Use the audience your IAM OIDC provider lists, normally `sts.amazonaws.com`."));
                }
                Source::Oidc {
                    request_url: url.to_owned(),
                    request_token: Secret::new(token.clone()),
                    audience: audience.to_owned(),
                }
            }
            _ if force_skip_oidc => {
                return Err(bad("force-skip-oidc", "is true, and no other credentials were given", "Also set `aws-access-key-id`/`aws-secret-access-key`, `web-identity-token-file` or `role-chaining: true`, or remove `force-skip-oidc`."));
            }
            _ => Source::NoToken {
                under_act: env_get("ACT") == Some("true"),
            },
        }
    } else if use_existing_credentials {
        Source::Ambient
    } else {
        return Err(bad("role-to-assume", "is not set, and neither are access keys", "Set `role-to-assume` (with `permissions: id-token: write` for OIDC), or `aws-access-key-id` and `aws-secret-access-key`."));
    };

    // The role request.
    let role = match role_input {
        None => {
            for (name, value) in [
                ("role-external-id", &raw.role_external_id),
                ("inline-session-policy", &raw.inline_session_policy),
                ("managed-session-policies", &raw.managed_session_policies),
                ("custom-tags", &raw.custom_tags),
                ("transitive-tag-keys", &raw.transitive_tag_keys),
            ] {
                if set(value).is_some() {
                    return Err(bad(
                        name,
                        "only applies when a role is assumed, and `role-to-assume` is not set",
                        format!("Set `role-to-assume`, or remove `{name}`."),
                    ));
                }
            }
            None
        }
        Some(role) => Some(role_request(
            raw,
            &source,
            role,
            &region,
            skip_tagging,
            env,
        )?),
    };

    let profile = match set(&raw.aws_profile).map(str::trim) {
        None => None,
        Some(name)
            if !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) =>
        {
            Some(ProfileRequest {
                name: name.to_owned(),
                overwrite: overwrite_profile,
            })
        }
        Some(name) => {
            return Err(bad(
                "aws-profile",
                format!("{:?} is not a valid profile name", shorten(name)),
                "Use 1–64 letters, digits, `_`, `.` or `-`.",
            ))
        }
    };

    let runner_file = |var: &'static str| -> Result<PathBuf, Error> {
        env_get(var).map(PathBuf::from).ok_or_else(|| bad("environment", format!("{var} is not set"), "Run this action as a step of a GitHub Actions job (the runner sets GITHUB_ENV and GITHUB_OUTPUT), or set both to writable files for a local run."))
    };

    Ok(Plan {
        region,
        source,
        role,
        endpoint,
        retry,
        action_timeout,
        http_proxy,
        no_proxy,
        allowed_account_ids,
        mask_account_id,
        output_credentials,
        output_env_credentials,
        unset_current_credentials,
        special_characters_workaround,
        use_existing_credentials,
        profile,
        env_file: runner_file("GITHUB_ENV")?,
        output_file: runner_file("GITHUB_OUTPUT")?,
    })
}

fn role_request(
    raw: &RawInputs,
    source: &Source,
    role: &str,
    region: &str,
    skip_tagging: bool,
    env: &HashMap<String, String>,
) -> Result<RoleRequest, Error> {
    let web_identity = matches!(
        source,
        Source::Oidc { .. } | Source::TokenFile { .. } | Source::NoToken { .. }
    );
    let target = if role.starts_with("arn:") {
        let (partition, _) = parse_role_arn(role).map_err(|p| {
            bad(
                "role-to-assume",
                format!("{:?} {p}", shorten(role)),
                "Use the role's full ARN, e.g. `arn:aws:iam::123456789012:role/deploy`.",
            )
        })?;
        let expected = partition_for_region(region);
        if partition != expected {
            return Err(bad(
                "role-to-assume",
                format!("is in partition `{partition}`, but region `{region}` is in `{expected}`"),
                format!("Use an `arn:{expected}:iam::…` role, or the matching `aws-region`."),
            ));
        }
        RoleTarget::Arn(role.to_owned())
    } else if is_role_name(role) {
        if web_identity {
            return Err(bad("role-to-assume", format!("{:?} is a bare role name; with a web identity there is no caller account to complete it", shorten(role)), "Use the role's full ARN, e.g. `arn:aws:iam::123456789012:role/deploy`."));
        }
        RoleTarget::Name(role.to_owned())
    } else {
        return Err(bad(
            "role-to-assume",
            format!("{:?} is neither a role ARN nor a role name", shorten(role)),
            "Use the role's full ARN, e.g. `arn:aws:iam::123456789012:role/deploy`.",
        ));
    };

    let session_name = match set(&raw.role_session_name).map(str::trim) {
        None => DEFAULT_SESSION_NAME.to_owned(),
        Some(n) if is_session_name(n) => n.to_owned(),
        Some(n) => {
            return Err(bad(
                "role-session-name",
                format!(
                    "{:?} is not 2–64 of letters, digits and _+=,.@-",
                    shorten(n)
                ),
                "Use 2–64 characters from A–Z, a–z, 0–9 and _+=,.@- (no spaces or slashes).",
            ))
        }
    };

    let duration_seconds = match set(&raw.role_duration_seconds) {
        None => DEFAULT_DURATION,
        Some(v) => parse_int("role-duration-seconds", v, 900, 43200)? as i32,
    };

    let external_id = match set(&raw.role_external_id).map(str::trim) {
        None => None,
        Some(id)
            if (2..=1224).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c)) =>
        {
            Some(id.to_owned())
        }
        Some(_) => {
            return Err(bad(
                "role-external-id",
                "must be 2–1224 of letters, digits and _+=,.@:/-",
                "Use the external id from the role's trust policy exactly.",
            ))
        }
    };
    if external_id.is_some() && web_identity {
        return Err(bad(
            "role-external-id",
            "cannot be sent with a web identity (AssumeRoleWithWebIdentity has no ExternalId)",
            "Remove `role-external-id`, or assume the role with access keys or role-chaining.",
        ));
    }

    let inline_policy = match set(&raw.inline_session_policy) {
        None => None,
        Some(p) => {
            let parsed: serde_json::Value = serde_json::from_str(p).map_err(|e| {
                bad(
                    "inline-session-policy",
                    format!("is not valid JSON ({e})"),
                    "Pass a JSON policy document, e.g. using a YAML block scalar `|`.",
                )
            })?;
            if !parsed.is_object() {
                return Err(bad(
                    "inline-session-policy",
                    "is not a JSON object",
                    "Pass a policy document: {\"Version\":\"2012-10-17\",\"Statement\":[…]}.",
                ));
            }
            // Sent minified: STS counts the packed size.
            Some(parsed.to_string())
        }
    };

    let managed_policies: Vec<String> = match set(&raw.managed_session_policies) {
        None => Vec::new(),
        Some(list) => {
            let arns: Vec<String> = list
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            for arn in &arns {
                let ok = arn.starts_with("arn:")
                    && arn.split(':').nth(2) == Some("iam")
                    && arn.contains(":policy/");
                if !ok {
                    return Err(bad("managed-session-policies", format!("{:?} is not a managed policy ARN", shorten(arn)), "List policy ARNs one per line, e.g. `arn:aws:iam::aws:policy/ReadOnlyAccess`."));
                }
            }
            if arns.len() > 10 {
                return Err(bad(
                    "managed-session-policies",
                    format!("lists {} policies; STS accepts at most 10", arns.len()),
                    "Combine policies or use `inline-session-policy`.",
                ));
            }
            arns
        }
    };

    let custom_tags = set(&raw.custom_tags)
        .map(tags::parse_custom_tags)
        .transpose()?
        .unwrap_or_default();
    let transitive_tag_keys: Vec<String> = set(&raw.transitive_tag_keys)
        .map(|v| {
            v.split([',', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();

    let tags = if web_identity || skip_tagging {
        // AssumeRoleWithWebIdentity cannot carry tags; the token's claims are the identity.
        for (name, value) in [
            ("custom-tags", &raw.custom_tags),
            ("transitive-tag-keys", &raw.transitive_tag_keys),
        ] {
            if set(value).is_some() {
                let why = if skip_tagging {
                    "`role-skip-session-tagging` is true"
                } else {
                    "session tags cannot be sent with a web identity (OIDC or token file)"
                };
                return Err(bad(name, format!("is set, but {why}"), format!("Remove `{name}`; tags only apply to AssumeRole with keys or role-chaining.")));
            }
        }
        None
    } else {
        let tags = tags::session_tags(env, custom_tags)?;
        for key in &transitive_tag_keys {
            if !tags.iter().any(|t| &t.key == key) {
                return Err(bad("transitive-tag-keys", format!("{:?} is not one of the session tags sent", shorten(key)), "List keys of tags that are sent (built-in ones such as Repository, or keys from `custom-tags`)."));
            }
        }
        Some(tags)
    };

    Ok(RoleRequest {
        target,
        session_name,
        duration_seconds,
        external_id,
        inline_policy,
        managed_policies,
        tags,
        transitive_tag_keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-west-1",
            "cn-north-1",
            "us-gov-west-1",
            "us-isob-east-1",
            "ap-southeast-5",
            "eusc-de-east-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us_east_1",
            "useast1",
            "us-east-1a",
            "us-east-1 ",
            "-us-east-1",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
        assert_eq!(partition_for_region("cn-northwest-1"), "aws-cn");
        assert_eq!(partition_for_region("us-gov-east-1"), "aws-us-gov");
        assert_eq!(partition_for_region("eu-central-1"), "aws");
    }

    #[test]
    fn role_arns() {
        assert!(parse_role_arn("arn:aws:iam::123456789012:role/deploy").is_ok());
        assert!(parse_role_arn("arn:aws-cn:iam::123456789012:role/path/to/deploy").is_ok());
        assert!(parse_role_arn("arn:aws:iam::12345678901:role/deploy").is_err());
        assert!(parse_role_arn("arn:aws:iam::123456789012:user/deploy").is_err());
        assert!(parse_role_arn("arn:aws:s3:::bucket").is_err());
        assert!(parse_role_arn("arn:evil:iam::123456789012:role/x").is_err());
    }

    #[test]
    fn strict_booleans() {
        assert!(!parse_bool("x", &Some("false".into()), true).unwrap());
        assert!(parse_bool("x", &Some("TRUE".into()), false).unwrap());
        assert!(parse_bool("x", &Some("".into()), true).unwrap());
        for bad in ["yes", "1", "on", "tru", "fAlse"] {
            assert!(parse_bool("x", &Some(bad.into()), false).is_err(), "{bad}");
        }
    }

    #[test]
    fn session_names() {
        assert!(is_session_name("GitHubActions"));
        assert!(is_session_name("a_b+c=d,e.f@g-h"));
        assert!(!is_session_name("a"));
        assert!(!is_session_name("has space"));
        assert!(!is_session_name(&"x".repeat(65)));
    }
}
