//! The role inputs: `role-to-assume` and everything that shapes the session
//! (name, duration, policies, external id, tags). Which of them are allowed
//! depends on how the role is assumed: a web identity carries neither tags nor
//! an external id, and cannot complete a bare role name.

use super::raw::RawInputs;
use super::values::{bad, list, parse_int, set, warn};
use crate::aws_names::{shorten, Region, RoleArn, RoleName, SessionDuration, SessionName};
use crate::error::Error;
use crate::plan::{RoleHop, RoleTarget, SessionOptions, Warning};
use crate::tags::{self, Tag};
use std::collections::HashMap;

pub const DEFAULT_SESSION_NAME: &str = "GitHubActions";
pub const DEFAULT_DURATION: i32 = 3600;

const ARN_FIX: &str = "Use the role's full ARN, e.g. `arn:aws:iam::123456789012:role/deploy`.";

/// How a role is assumed; it decides which role inputs are allowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Call {
    /// `AssumeRoleWithWebIdentity` (OIDC or a token file).
    WebIdentity,
    /// `AssumeRole` signed by earlier credentials.
    AssumeRole { skip_tagging: bool },
}

/// `role-to-assume` as a target: a full ARN in the region's partition, or a
/// bare name (only where a signing caller can complete it).
pub fn target(role: &str, region: &Region, call: Call) -> Result<RoleTarget, Error> {
    if role.starts_with("arn:") {
        let arn = RoleArn::parse(role).map_err(|p| {
            bad(
                "role-to-assume",
                format!("{:?} {p}", shorten(role)),
                ARN_FIX,
            )
        })?;
        let expected = region.partition();
        if arn.partition() != expected {
            return Err(bad(
                "role-to-assume",
                format!(
                    "is in partition `{}`, but region `{region}` is in `{expected}`",
                    arn.partition()
                ),
                format!("Use an `arn:{expected}:iam::…` role, or the matching `aws-region`."),
            ));
        }
        return Ok(RoleTarget::Arn(arn));
    }
    match RoleName::parse_with_path(role) {
        Ok(_) if call == Call::WebIdentity => Err(bad(
            "role-to-assume",
            format!(
                "{:?} is a bare role name; with a web identity there is no caller account to complete it",
                shorten(role)
            ),
            ARN_FIX,
        )),
        Ok(name) => Ok(RoleTarget::Name(name)),
        Err(_) => Err(bad(
            "role-to-assume",
            format!("{:?} is neither a role ARN nor a role name", shorten(role)),
            ARN_FIX,
        )),
    }
}

/// The role of a web identity: always a full ARN.
pub fn web_identity_role(role: &str, region: &Region) -> Result<RoleArn, Error> {
    match target(role, region, Call::WebIdentity)? {
        RoleTarget::Arn(arn) => Ok(arn),
        // `target` refuses bare names for a web identity.
        RoleTarget::Name(_) => Err(bad("role-to-assume", "is not a role ARN", ARN_FIX)),
    }
}

pub fn session_name(raw: &RawInputs) -> Result<SessionName, Error> {
    let name = set(&raw.role_session_name)
        .map(str::trim)
        .unwrap_or(DEFAULT_SESSION_NAME);
    SessionName::parse(name).map_err(|problem| {
        bad(
            "role-session-name",
            problem,
            "Use 2–64 characters from A–Z, a–z, 0–9 and _+=,.@- (no spaces or slashes).",
        )
    })
}

pub fn session_options(raw: &RawInputs) -> Result<SessionOptions, Error> {
    Ok(SessionOptions {
        name: session_name(raw)?,
        duration_seconds: duration_seconds(raw)?,
        inline_policy: inline_policy(raw)?,
        managed_policies: managed_policies(raw)?,
    })
}

/// `role-duration-seconds`: 900–43200, with `0` meaning the default, as
/// the reference reads it (src/index.ts run(): `parseInt(...) || 3600`). An
/// unset number input of a reusable workflow arrives as `0` through
/// `${{ inputs.duration }}`, so `0` must not be an error.
fn duration_seconds(raw: &RawInputs) -> Result<i32, Error> {
    match set(&raw.role_duration_seconds).map(str::trim) {
        None | Some("0") => Ok(DEFAULT_DURATION),
        Some(v) => Ok(parse_int(
            "role-duration-seconds",
            v,
            SessionDuration::MIN.into(),
            SessionDuration::MAX.into(),
        )? as i32),
    }
}

fn inline_policy(raw: &RawInputs) -> Result<Option<String>, Error> {
    let Some(p) = set(&raw.inline_session_policy) else {
        return Ok(None);
    };
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
    Ok(Some(parsed.to_string()))
}

fn managed_policies(raw: &RawInputs) -> Result<Vec<String>, Error> {
    let Some(text) = set(&raw.managed_session_policies) else {
        return Ok(Vec::new());
    };
    let arns: Vec<String> = list(text, &['\n']).map(str::to_owned).collect();
    for arn in &arns {
        let ok = arn.starts_with("arn:")
            && arn.split(':').nth(2) == Some("iam")
            && arn.contains(":policy/");
        if !ok {
            return Err(bad(
                "managed-session-policies",
                format!("{:?} is not a managed policy ARN", shorten(arn)),
                "List policy ARNs one per line, e.g. `arn:aws:iam::aws:policy/ReadOnlyAccess`.",
            ));
        }
    }
    if arns.len() > 10 {
        return Err(bad(
            "managed-session-policies",
            format!("lists {} policies; STS accepts at most 10", arns.len()),
            "Combine policies or use `inline-session-policy`.",
        ));
    }
    Ok(arns)
}

pub fn external_id(
    raw: &RawInputs,
    call: Call,
    warnings: &mut Vec<Warning>,
) -> Result<Option<String>, Error> {
    let Some(id) = set(&raw.role_external_id).map(str::trim) else {
        return Ok(None);
    };
    if !valid_external_id(id) {
        return Err(bad(
            "role-external-id",
            "must be 2–1224 of letters, digits and _+=,.@:/-",
            "Use the external id from the role's trust policy exactly.",
        ));
    }
    if call == Call::WebIdentity {
        // reference: src/assumeRole.ts assumeRoleWithOIDC() passes ExternalId to
        // AssumeRoleWithWebIdentity, which has no such parameter: it is dropped.
        warn(
            warnings,
            "role-external-id",
            "is ignored: the role is assumed with a web identity (OIDC or a token file), and AssumeRoleWithWebIdentity has no external id. The trust policy's `sub`/`aud` conditions play that part.",
        );
        return Ok(None);
    }
    Ok(Some(id.to_owned()))
}

/// What STS accepts as an `ExternalId`.
pub fn valid_external_id(id: &str) -> bool {
    (2..=1224).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c))
}

/// Session tags and transitive keys; `None` when no tags may be sent.
pub fn session_tags(
    raw: &RawInputs,
    call: Call,
    env: &HashMap<String, String>,
    warnings: &mut Vec<Warning>,
) -> Result<(Option<Vec<Tag>>, Vec<String>), Error> {
    let transitive: Vec<String> = set(&raw.transitive_tag_keys)
        .map(|v| list(v, &[',', '\n']).map(str::to_owned).collect())
        .unwrap_or_default();
    // Checked even where tags are not sent: a malformed value is an error on
    // every path (reference: src/assumeRole.ts assumeRole() parses custom-tags
    // before it knows how the role is assumed).
    let custom = set(&raw.custom_tags)
        .map(tags::parse_custom_tags)
        .transpose()?
        .unwrap_or_default();
    let why_not = match call {
        // reference: src/index.ts run() warns that custom-tags is ignored with OIDC or
        // a token file; src/assumeRole.ts deletes Tags and TransitiveTagKeys there.
        Call::WebIdentity => Some(
            "the role is assumed with a web identity (OIDC or a token file), which carries no session tags: the token's claims are the identity",
        ),
        // reference: src/assumeRole.ts assumeRole(): `tags = roleSkipSessionTagging ? undefined : …`
        // and the transitive keys are dropped with them.
        Call::AssumeRole { skip_tagging: true } => Some("`role-skip-session-tagging` is true"),
        Call::AssumeRole {
            skip_tagging: false,
        } => None,
    };
    if let Some(why) = why_not {
        for (name, value) in [
            ("custom-tags", &raw.custom_tags),
            ("transitive-tag-keys", &raw.transitive_tag_keys),
        ] {
            if set(value).is_some() {
                warn(warnings, name, format!("is ignored: {why}."));
            }
        }
        return Ok((None, Vec::new()));
    }
    let tags = tags::session_tags(env, custom)?;
    // reference: src/assumeRole.ts assumeRole() keeps only the transitive keys
    // that name a tag being sent.
    let (kept, dropped): (Vec<String>, Vec<String>) = transitive
        .into_iter()
        .partition(|key| tags.iter().any(|t| &t.key == key));
    for key in dropped {
        warn(
            warnings,
            "transitive-tag-keys",
            format!(
                "{:?} is ignored: it is not the key of a session tag sent (built-in ones such as Repository, or keys from `custom-tags`).",
                shorten(&key)
            ),
        );
    }
    Ok((Some(tags), kept))
}

/// An `AssumeRole` hop for `role-to-assume`.
pub fn hop(
    raw: &RawInputs,
    role: &str,
    region: &Region,
    skip_tagging: bool,
    env: &HashMap<String, String>,
    warnings: &mut Vec<Warning>,
) -> Result<RoleHop, Error> {
    let call = Call::AssumeRole { skip_tagging };
    let target = target(role, region, call)?;
    let session = session_options(raw)?;
    let external_id = external_id(raw, call, warnings)?;
    let (tags, transitive_tag_keys) = session_tags(raw, call, env, warnings)?;
    Ok(RoleHop {
        target,
        session,
        external_id,
        tags,
        transitive_tag_keys,
    })
}

/// The inputs that only mean something when a role is assumed: ignored, with
/// a warning, when no role is (reference: src/index.ts run() only reads them
/// inside `if (roleToAssume)`).
pub fn warn_role_only_inputs(raw: &RawInputs, warnings: &mut Vec<Warning>) {
    for (name, value) in [
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
                "is ignored: it only applies when a role is assumed, and `role-to-assume` is not set.",
            );
        }
    }
}
