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
    pub refresh_credentials: Option<String>,
    pub cognito_identity_pool_id: Option<String>,
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
    /// Reads the inputs from an environment, then [`FROM_ENV`] for inputs left
    /// empty. Only names exactly as the runner writes them count: `INPUT_` and
    /// the input's name in upper case (`INPUT_ROLE-TO-ASSUME`), as the reference
    /// action reads them too. Any other spelling (`input_role-to-assume`,
    /// `INPUT_Role-To-Assume`) is not an input and is ignored, so two spellings
    /// can never compete for one input.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Self, Error> {
        let mut inputs: HashMap<String, String> = env
            .iter()
            .filter(|(k, _)| is_input_name(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for var in FROM_ENV {
            let Some(value) = env.get(var).filter(|v| !v.is_empty()) else {
                continue;
            };
            let input = format!("{INPUT_PREFIX}{}", var.replace('_', "-"));
            if inputs.get(&input).is_none_or(|v| v.is_empty()) {
                inputs.insert(input, value.clone());
            }
        }
        envy::prefixed(INPUT_PREFIX)
            .from_iter(inputs)
            .map_err(|e| Error::Internal(format!("reading inputs: {e}")))
    }
}

const INPUT_PREFIX: &str = "INPUT_";

fn is_input_name(name: &str) -> bool {
    name.starts_with(INPUT_PREFIX) && !name.bytes().any(|b| b.is_ascii_lowercase())
}

/// Variables (besides inputs) this action reads or the SDK may read: if one of
/// them cannot be decoded, the run stops rather than act as if it were unset.
const READ_PREFIXES: &[&str] = &["AWS_", "GITHUB_", "ACTIONS_", "RUNNER_"];
const READ_NAMES: &[&str] = &[
    "HOME",
    "ACT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "RUST_LOG",
];

/// The process environment as text. A variable that is not valid UTF-8 is
/// skipped, unless the action could read it: an undecodable
/// `allowed-account-ids` or `inline-session-policy` (or an environment variable
/// an input falls back to) dropped as if unset would silently stop protecting,
/// so such a name or value is an error naming it.
pub fn environment(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<HashMap<String, String>, Error> {
    use std::os::unix::ffi::OsStrExt;
    let mut env = HashMap::new();
    for (name, value) in vars {
        let looks_like_input = name
            .as_bytes()
            .get(..INPUT_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(INPUT_PREFIX.as_bytes()));
        match (name.to_str(), value.to_str()) {
            (Some(n), Some(v)) => {
                env.insert(n.to_owned(), v.to_owned());
            }
            _ if !looks_like_input && is_read(name.as_bytes()) => {
                let shown = crate::text::one_line(&String::from_utf8_lossy(name.as_bytes()));
                return Err(Error::Input {
                    input: "environment",
                    problem: format!("the variable {shown} is not valid UTF-8 text"),
                    fix: "Set it to UTF-8 text or unset it; a variable this action reads is refused rather than ignored when it cannot be decoded.".into(),
                });
            }
            _ if looks_like_input => {
                let shown = String::from_utf8_lossy(name.as_bytes()).into_owned();
                let input = shown
                    .get(INPUT_PREFIX.len()..)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                // Once per run, on the way out: the name is only known now.
                let input: &'static str = Box::leak(crate::text::one_line(&input).into_boxed_str());
                return Err(Error::Input {
                    input,
                    problem: format!(
                        "is not valid UTF-8 text ({})",
                        crate::text::one_line(&shown)
                    ),
                    fix: "Pass the value as UTF-8 text; an input that cannot be read is refused rather than ignored.".into(),
                });
            }
            _ => {}
        }
    }
    Ok(env)
}

fn is_read(name: &[u8]) -> bool {
    let upper = name.to_ascii_uppercase();
    READ_PREFIXES
        .iter()
        .any(|p| upper.starts_with(p.as_bytes()))
        || READ_NAMES.iter().any(|n| upper == n.as_bytes())
        || FROM_ENV.iter().any(|n| upper == n.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn undecodable_inputs_are_errors_and_other_variables_are_skipped() {
        let os = |s: &str| OsString::from(s);
        let bad = OsString::from_vec(b"1111111111\xff11".to_vec());
        let err = environment([(os("INPUT_ALLOWED-ACCOUNT-IDS"), bad.clone())]).unwrap_err();
        assert!(err.to_string().contains("allowed-account-ids"), "{err}");
        assert!(environment([(os("input_inline-session-policy"), bad.clone())]).is_err());
        let bad_name = OsString::from_vec(b"INPUT_X\xff".to_vec());
        assert!(environment([(bad_name, os("v"))]).is_err());
        assert!(environment([(os("AWS_ENDPOINT_URL_STS"), bad.clone())]).is_err());
        assert!(environment([(os("no_proxy"), bad.clone())]).is_err());
        let env = environment([(os("OTHER"), bad), (os("INPUT_A"), os("b"))]).unwrap();
        assert_eq!(env.len(), 1);
    }

    #[test]
    fn only_the_runners_spelling_is_an_input() {
        let env: HashMap<String, String> = [
            ("INPUT_AWS-REGION", "eu-west-1"),
            ("input_aws-region", "us-east-1"),
            ("INPUT_aws-region", "us-east-2"),
            ("input_role-to-assume", "arn:aws:iam::111111111111:role/x"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let raw = RawInputs::from_env(&env).unwrap();
        assert_eq!(raw.aws_region.as_deref(), Some("eu-west-1"));
        assert!(raw.role_to_assume.is_none());
    }

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
