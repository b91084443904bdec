//! The inputs exactly as the runner passes them: every `INPUT_*` variable as
//! text, read once. Nothing here judges a value; see `values` and `plan`.

use crate::error::Error;
use serde::Deserialize;
use std::collections::HashMap;

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

/// Variables read for inputs the step did not give, exactly the list the
/// reference action reads (reference: src/helpers.ts translateEnvVariables()):
/// a job or workflow `env:` such as `ROLE_TO_ASSUME` or `ROLE_DURATION_SECONDS`
/// works unchanged. A container action sees them because the runner passes the
/// job's and step's `env:` into the container. An input given with a
/// non-empty value always wins. HTTP_PROXY/HTTPS_PROXY and NO_PROXY are on the
/// reference's list too; `inputs::network` reads them with the other proxy
/// variables. For this to work, action.yml gives no default to these inputs
/// (the binary applies the defaults), except `audience`, whose default the
/// reference's action.yml sets too, so AUDIENCE is never seen by either.
pub const FROM_ENV: [&str; 20] = [
    "AWS_REGION",
    "ROLE_TO_ASSUME",
    "WEB_IDENTITY_TOKEN_FILE",
    "ROLE_CHAINING",
    "AUDIENCE",
    "MASK_AWS_ACCOUNT_ID",
    "ROLE_DURATION_SECONDS",
    "ROLE_EXTERNAL_ID",
    "ROLE_SESSION_NAME",
    "ROLE_SKIP_SESSION_TAGGING",
    "TRANSITIVE_TAG_KEYS",
    "INLINE_SESSION_POLICY",
    "MANAGED_SESSION_POLICIES",
    "OUTPUT_CREDENTIALS",
    "UNSET_CURRENT_CREDENTIALS",
    "DISABLE_RETRY",
    "RETRY_MAX_ATTEMPTS",
    "SPECIAL_CHARACTERS_WORKAROUND",
    "USE_EXISTING_CREDENTIALS",
    "OVERWRITE_AWS_PROFILE",
];

impl RawInputs {
    /// Reads `INPUT_*` from an environment, then [`FROM_ENV`] for inputs left
    /// empty. Names are matched case-insensitively (the runner upper-cases
    /// them); variables that are not valid UTF-8 are skipped.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Self, Error> {
        let mut inputs: HashMap<String, String> = env
            .iter()
            .filter(|(k, _)| k.to_ascii_uppercase().starts_with("INPUT_"))
            .map(|(k, v)| (k.to_ascii_uppercase(), v.clone()))
            .collect();
        for var in FROM_ENV {
            let Some(value) = env.get(var).filter(|v| !v.is_empty()) else {
                continue;
            };
            let input = format!("INPUT_{}", var.replace('_', "-"));
            if inputs.get(&input).is_none_or(|v| v.is_empty()) {
                inputs.insert(input, value.clone());
            }
        }
        envy::prefixed("INPUT_")
            .from_iter(inputs)
            .map_err(|e| Error::Internal(format!("reading inputs: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_inputs_come_from_the_reference_variables() {
        let env: HashMap<String, String> = [
            ("ROLE_TO_ASSUME", "arn:aws:iam::123456789012:role/r"),
            ("ROLE_DURATION_SECONDS", "900"),
            ("INPUT_ROLE-SESSION-NAME", "given"),
            ("ROLE_SESSION_NAME", "from-env"),
            ("INPUT_AWS-REGION", ""),
            ("AWS_REGION", "eu-west-1"),
            // Not on the reference's list: never an input.
            ("AWS_PROFILE", "p"),
            ("STS_ENDPOINT", "http://x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let raw = RawInputs::from_env(&env).unwrap();
        assert_eq!(
            raw.role_to_assume.as_deref(),
            Some("arn:aws:iam::123456789012:role/r")
        );
        assert_eq!(raw.role_duration_seconds.as_deref(), Some("900"));
        assert_eq!(raw.role_session_name.as_deref(), Some("given"));
        assert_eq!(raw.aws_region.as_deref(), Some("eu-west-1"));
        assert!(raw.aws_profile.is_none() && raw.sts_endpoint.is_none());
    }
}
