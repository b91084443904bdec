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
    pub roles: Option<String>,
    pub default_profile: Option<String>,
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
