//! Credentials given as inputs, shared by one role and `roles`: the access
//! keys, the audience of the OIDC token, and the refusal to chain from a
//! refreshing profile.

use super::raw::RawInputs;
use super::values::{bad, set, warn};
use crate::aws_names::{check_access_key_id, check_access_key_id_lenient, Audience};
use crate::error::Error;
use crate::plan::Warning;
use crate::secret::{Credentials, Issuer, Secret};
use std::collections::HashMap;

/// `aws-access-key-id`, `aws-secret-access-key` and `aws-session-token`: both
/// keys or neither. A session token without keys is ignored, as the reference
/// action ignores it (reference: src/index.ts run() reads SessionToken only in
/// the `else if (AccessKeyId)` branch).
pub fn keys(
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

/// `audience`, else `sts.amazonaws.com`, held to [`Audience`]'s rule.
pub fn audience(raw: &RawInputs) -> Result<Audience, Error> {
    let audience = set(&raw.audience)
        .map(str::trim)
        .unwrap_or(Audience::DEFAULT);
    Audience::parse(audience).map_err(|problem| {
        bad(
            "audience",
            problem,
            "Use the audience your IAM OIDC provider lists, normally `sts.amazonaws.com`.",
        )
    })
}

/// `role-chaining` after a `refresh-credentials` step: the environment's
/// credentials are then a `credential_process` profile, which this action's own
/// SDK client does not run; say so now instead of "no credentials found" later.
pub fn refuse_chaining_from_a_refreshing_profile(
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
