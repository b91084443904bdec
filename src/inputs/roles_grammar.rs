//! `roles` and `default-profile`: several roles in one step, one named profile
//! each.
//!
//! ```text
//! dev   = arn:aws:iam::111111111111:role/deploy
//! prod  = arn:aws:iam::222222222222:role/deploy  region=us-west-2
//! audit = arn:aws:iam::333333333333:role/read    via=dev  external-id=x1
//! ```
//!
//! [`parse`] reads the lines strictly (every problem reported with its line
//! number, all at once); [`plan`] decides how each role is assumed and builds
//! the forest [`ProfilesPlan`] the run walks: a role without `via` is assumed
//! with the step's web identity (or, when keys or `role-chaining` are given,
//! with `AssumeRole` signed by them); a role with `via` is assumed with its
//! source profile's credentials. `roles` replaces `role-to-assume` and
//! `aws-profile`: they are alternatives, so giving both is an error.

use super::credentials::{audience as audience_of, keys};
use super::raw::RawInputs;
use super::role_hop::{self as role, valid_external_id};
use super::runner as runner_inputs;
use super::values::{bad, parse_bool, set};
use crate::aws_names::{
    shorten, Audience, IdentityPoolId, ProfileName, Region, RoleArn, SessionDuration, SessionName,
};
use crate::error::Error;
use crate::plan::{
    NamedProfiles, PoolLogin, ProfileCredentials, ProfileTarget, ProfilesPlan, RoleHop,
    RoleProfile, RoleTarget, Roots, Runner, SessionOptions, Signer, TokenGroup, TokenSource,
    Warning, WebProfile,
};
use crate::secret::Secret;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

/// More lines than any deployment needs; bounds the STS calls of one step.
pub const MAX_PROFILES: usize = 50;

/// AWS caps a session assumed with temporary credentials (role chaining) at 1 h.
pub const MAX_CHAINED_DURATION: i32 = SessionDuration::MAX_CHAINED;

const KEYS: &str = "region, via, external-id, duration, session-name, audience, identity-pool";
const FORMAT: &str = "Write one profile per line: `NAME = ROLE_ARN [region=R] [via=PROFILE] [external-id=X] [duration=SECONDS] [session-name=N] [audience=A] [identity-pool=REGION:GUID]`; blank lines and `#` comments are allowed.";
const ARN_FIX: &str = "Use the role's full ARN, e.g. `arn:aws:iam::123456789012:role/deploy`.";

/// One `roles` line, parsed and validated on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleLine {
    /// 1-based, as the user counts lines in the workflow's block.
    pub line: usize,
    pub name: ProfileName,
    pub role: RoleArn,
    pub region: Option<Region>,
    /// The profile whose credentials sign this role's `AssumeRole`.
    pub via: Option<ProfileName>,
    pub external_id: Option<String>,
    pub duration: Option<i32>,
    pub session_name: Option<SessionName>,
    pub audience: Option<Audience>,
    /// `identity-pool=`: the token is this Cognito identity pool's login and
    /// the ARN the role asked of it (src/cognito/).
    pub identity_pool: Option<IdentityPoolId>,
}

/// A problem with the lines: what is wrong and how to fix it.
type Problem = (String, String);

/// Parses the whole `roles` text: each line, then the names across lines
/// (duplicates, `via` to an unknown profile or to itself, cycles). Every
/// problem found is reported, each with its line number.
pub fn parse(text: &str) -> Result<Vec<RoleLine>, Error> {
    // The cap comes first, so nothing below ever works on more than
    // MAX_PROFILES lines (issue 22.4: the checks across lines then cost
    // nothing however long the input is).
    let profiles = text
        .lines()
        .filter(|raw| !raw.split('#').next().unwrap_or_default().trim().is_empty())
        .count();
    if profiles > MAX_PROFILES {
        return Err(combined(vec![(
            format!("has {profiles} profiles; at most {MAX_PROFILES} are allowed"),
            "Split the roles over several steps.".into(),
        )]));
    }
    let mut lines = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        // No value this syntax accepts contains `#`: it always starts a comment.
        let content = raw.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        match parse_line(n, content) {
            Ok(line) => lines.push(line),
            Err((problem, fix)) => problems.push((format!("line {n}: {problem}"), fix)),
        }
    }
    let mut first: HashMap<&str, usize> = HashMap::new();
    for line in &lines {
        match first.entry(line.name.as_str()) {
            Entry::Occupied(earlier) => problems.push((
                format!(
                    "line {}: profile `{}` is already defined on line {}",
                    line.line,
                    line.name,
                    earlier.get()
                ),
                "Give every profile its own name.".into(),
            )),
            Entry::Vacant(slot) => {
                slot.insert(line.line);
            }
        }
    }
    // References are only judged when every line could be read: a line with a
    // typo would otherwise also show up as an "unknown profile".
    if problems.is_empty() {
        problems.extend(reference_problems(&lines));
    }
    if problems.is_empty() && lines.is_empty() {
        problems.push(("has no profile lines".into(), FORMAT.into()));
    }
    if problems.is_empty() {
        Ok(lines)
    } else {
        Err(combined(problems))
    }
}

/// All problems as one input error: each on its own line in the message, the
/// distinct fixes below.
fn combined(problems: Vec<Problem>) -> Error {
    let mut fixes: Vec<String> = Vec::new();
    for (_, fix) in &problems {
        if !fixes.contains(fix) {
            fixes.push(fix.clone());
        }
    }
    let problem = match problems.as_slice() {
        [(one, _)] => one.clone(),
        many => format!(
            "{} problems: {}",
            many.len(),
            many.iter()
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    bad("roles", problem, fixes.join("\n"))
}

fn parse_line(n: usize, content: &str) -> Result<RoleLine, Problem> {
    let Some((name, rest)) = content.split_once('=') else {
        return Err((
            format!("{:?} is not `NAME = ROLE_ARN …`", shorten(content)),
            FORMAT.into(),
        ));
    };
    let name = ProfileName::parse(name.trim()).map_err(|p| {
        (
            format!("profile name {p}"),
            "Profile names are 1–64 letters, digits, `_`, `.` or `-`.".into(),
        )
    })?;
    let mut words = rest.split_whitespace();
    let Some(arn) = words.next() else {
        return Err((
            format!("profile `{name}` has no role ARN after `=`"),
            ARN_FIX.into(),
        ));
    };
    let role =
        RoleArn::parse(arn).map_err(|p| (format!("{:?} {p}", shorten(arn)), ARN_FIX.to_owned()))?;
    let mut line = RoleLine {
        line: n,
        name,
        role,
        region: None,
        via: None,
        external_id: None,
        duration: None,
        session_name: None,
        audience: None,
        identity_pool: None,
    };
    let mut given: Vec<&str> = Vec::new();
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err((
                format!("{:?} is not `key=value`", shorten(word)),
                format!("Settings after the ARN are `key=value` pairs without spaces; known keys: {KEYS}."),
            ));
        };
        if value.is_empty() {
            return Err((format!("`{key}=` has no value"), FORMAT.into()));
        }
        if given.contains(&key) {
            return Err((
                format!("`{key}` is given twice"),
                "Give each setting once per line.".into(),
            ));
        }
        given.push(key);
        setting(&mut line, key, value)?;
    }
    if line.via.as_ref() == Some(&line.name) {
        return Err((
            format!("`via={}` names its own profile", line.name),
            "`via` names another profile, whose credentials assume this role.".into(),
        ));
    }
    if line.via.is_some() && line.duration.unwrap_or(0) > MAX_CHAINED_DURATION {
        return Err((
            format!("`duration={}` is more than AWS allows for a role assumed with another role's credentials ({MAX_CHAINED_DURATION} s)", line.duration.unwrap_or(0)),
            format!("Use `duration={MAX_CHAINED_DURATION}` or less on lines with `via`."),
        ));
    }
    if line.identity_pool.is_some() {
        pool_line(&line)?;
    }
    if line.via.is_some() && line.audience.is_some() {
        return Err((
            "`audience` is set on a line with `via`; only roles assumed with the OIDC token have an audience".into(),
            "Remove `audience` from this line.".into(),
        ));
    }
    Ok(line)
}

fn setting(line: &mut RoleLine, key: &str, value: &str) -> Result<(), Problem> {
    let invalid = |p: String, fix: &str| (format!("`{key}`: {p}"), fix.to_owned());
    match key {
        "region" => {
            line.region =
                Some(Region::parse(value).map_err(|p| {
                    invalid(p, "Use a region name such as `us-east-1` or `eu-west-1`.")
                })?)
        }
        "via" => {
            line.via = Some(
                ProfileName::parse(value)
                    .map_err(|p| invalid(p, "`via` names another profile of `roles`."))?,
            )
        }
        "external-id" => {
            if !valid_external_id(value) {
                return Err(invalid(
                    "must be 2–1224 of letters, digits and _+=,.@:/-".into(),
                    "Use the external id from the role's trust policy exactly.",
                ));
            }
            line.external_id = Some(value.to_owned());
        }
        "duration" => {
            let seconds = SessionDuration::parse(value)
                .ok()
                .map(SessionDuration::seconds);
            let fix = "Use a whole number of seconds from 900 to 43200.";
            line.duration =
                Some(seconds.ok_or_else(|| {
                    invalid(format!("{:?} is not 900–43200", shorten(value)), fix)
                })?);
        }
        "session-name" => {
            line.session_name =
                Some(SessionName::parse(value).map_err(|p| {
                    invalid(p, "Use 2–64 characters from A–Z, a–z, 0–9 and _+=,.@-.")
                })?)
        }
        "audience" => {
            line.audience = Some(
                Audience::parse(value)
                    .map_err(|p| invalid(p, "Use a client id of your IAM OIDC provider."))?,
            );
        }
        "identity-pool" => {
            line.identity_pool = Some(IdentityPoolId::parse(value).map_err(|p| {
                invalid(
                    p,
                    "Copy the id from the identity pool's page in the Amazon Cognito console.",
                )
            })?)
        }
        other => {
            return Err((
                format!("unknown key `{}`", shorten(other)),
                format!("Known keys: {KEYS}."),
            ))
        }
    }
    Ok(())
}

/// A pool line is assumed by Cognito with the OIDC token: no `via`, and
/// no session settings (Cognito names the session and makes it one hour).
fn pool_line(line: &RoleLine) -> Result<(), Problem> {
    let refused = [
        ("via", line.via.is_some()),
        ("external-id", line.external_id.is_some()),
        ("duration", line.duration.is_some()),
        ("session-name", line.session_name.is_some()),
    ];
    match refused.iter().find(|(_, given)| *given) {
        Some((key, _)) => Err((
            format!("`{key}` cannot be combined with `identity-pool`: Cognito assumes the role with the OIDC token and chooses the session itself"),
            format!("Remove `{key}` from this line, or `identity-pool`."),
        )),
        None => Ok(()),
    }
}

/// `via` to an unknown profile, and cycles (`a via b`, `b via a`).
fn reference_problems(lines: &[RoleLine]) -> Vec<Problem> {
    let by_name: HashMap<&str, &RoleLine> = lines.iter().map(|l| (l.name.as_str(), l)).collect();
    let mut problems = Vec::new();
    for line in lines {
        if let Some(via) = &line.via {
            if !by_name.contains_key(via.as_str()) {
                problems.push((
                    format!(
                        "line {}: `via={via}` names no profile of `roles`",
                        line.line
                    ),
                    "`via` names another line's profile (its name before `=`).".into(),
                ));
            }
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    problems.extend(cycles(lines, &by_name));
    problems
}

/// Every `via` cycle, each named once, in one walk: each profile has at most
/// one `via`, so following them from a line ends at a root, at a profile an
/// earlier walk finished (no cycle through it), or at one on the current path
/// (a cycle). Each profile is walked once: linear in the number of lines.
fn cycles(lines: &[RoleLine], by_name: &HashMap<&str, &RoleLine>) -> Vec<Problem> {
    let mut finished: HashSet<&str> = HashSet::new();
    let mut problems = Vec::new();
    for line in lines {
        let mut path: Vec<&RoleLine> = Vec::new();
        let mut on_path: HashMap<&str, usize> = HashMap::new();
        let mut at = Some(line);
        while let Some(l) = at.filter(|l| !finished.contains(l.name.as_str())) {
            if let Some(&start) = on_path.get(l.name.as_str()) {
                let cycle = &path[start..];
                let shown: Vec<String> = cycle
                    .iter()
                    .chain(std::iter::once(&cycle[0]))
                    .map(|l| format!("{} (line {})", l.name, l.line))
                    .collect();
                problems.push((
                    format!("`via` goes round in a circle: {}", shown.join(" → ")),
                    "Some profile of a chain must be assumed without `via` (with the OIDC token or the step's keys).".into(),
                ));
                break;
            }
            on_path.insert(l.name.as_str(), path.len());
            path.push(l);
            at = l
                .via
                .as_ref()
                .and_then(|v| by_name.get(v.as_str()).copied());
        }
        finished.extend(path.iter().map(|l| l.name.as_str()));
    }
    problems
}

/// The inputs that `roles` replaces or cannot honour, refused with the fix.
fn refuse_alternatives(raw: &RawInputs) -> Result<(), Error> {
    let conflicts = [
        ("role-to-assume", &raw.role_to_assume, "`roles` and `role-to-assume` are alternatives: put this role on a line of `roles` (or use two steps)."),
        ("aws-profile", &raw.aws_profile, "`roles` names its profiles on each line: remove `aws-profile`."),
        ("role-external-id", &raw.role_external_id, "Give each line its own `external-id=`."),
        ("custom-tags", &raw.custom_tags, "`roles` sends no session tags: remove `custom-tags`."),
        ("transitive-tag-keys", &raw.transitive_tag_keys, "`roles` sends no session tags: remove `transitive-tag-keys`."),
    ];
    for (name, value, fix) in conflicts {
        if set(value).is_some() {
            return Err(bad(name, "cannot be combined with `roles`", fix));
        }
    }
    for (name, value, fix) in [
        ("output-credentials", &raw.output_credentials, "`roles` delivers several sets of credentials as profiles; the `profiles` output lists them without secrets. Remove `output-credentials`."),
        ("use-existing-credentials", &raw.use_existing_credentials, "Remove `use-existing-credentials`; `roles` always assumes every role it lists."),
    ] {
        if parse_bool(name, value, false)? {
            return Err(bad(name, "cannot be true together with `roles`", fix));
        }
    }
    Ok(())
}

/// `default-profile`: one of the profiles, or nothing.
fn default_profile(raw: &RawInputs, lines: &[RoleLine]) -> Result<Option<ProfileName>, Error> {
    let Some(name) = set(&raw.default_profile).map(str::trim) else {
        return Ok(None);
    };
    let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
    match lines.iter().find(|l| l.name.as_str() == name) {
        Some(line) => Ok(Some(line.name.clone())),
        None => Err(bad(
            "default-profile",
            format!("{:?} is not one of the profiles of `roles`", shorten(name)),
            format!("Use one of: {}.", names.join(", ")),
        )),
    }
}

/// `default-profile` without `roles` means nothing: refused.
pub fn refuse_default_profile_alone(raw: &RawInputs) -> Result<(), Error> {
    if set(&raw.default_profile).is_some() {
        return Err(bad(
            "default-profile",
            "is set, but `roles` is not",
            "`default-profile` names one of the profiles of `roles`; with `role-to-assume`, use `aws-profile`.",
        ));
    }
    Ok(())
}

/// The plan of a `roles` run.
pub fn plan(
    raw: &RawInputs,
    env: &HashMap<String, String>,
    region: &Region,
    runner: &Runner,
    real_aws: bool,
    warnings: &mut Vec<Warning>,
    text: &str,
) -> Result<ProfilesPlan, Error> {
    refuse_alternatives(raw)?;
    let lines = parse(text)?;
    let default = default_profile(raw, &lines)?;
    let defaults = role::session_options(raw)?;
    let forest = Forest {
        lines: &lines,
        region,
        defaults: &defaults,
    };
    forest.check_partitions()?;
    let role_chaining = parse_bool("role-chaining", &raw.role_chaining, false)?;
    let signer = match keys(raw, real_aws, warnings)? {
        Some(keys) => Some(Signer::Keys(keys)),
        None if role_chaining => {
            super::credentials::refuse_chaining_from_a_refreshing_profile(env)?;
            Some(Signer::Ambient)
        }
        None => None,
    };
    let roots = match signer {
        Some(signer) => Roots::Signed {
            signer,
            roles: forest.signed_roots()?,
        },
        None => Roots::WebIdentity(forest.token_groups(raw, env, runner)?),
    };
    let overwrite = parse_bool("overwrite-aws-profile", &raw.overwrite_aws_profile, false)?;
    Ok(ProfilesPlan {
        roots,
        files: NamedProfiles {
            dir: runner_inputs::profile_dir(env, set(&raw.runner_temp).map(str::trim))?,
            default,
            overwrite,
        },
        content: ProfileCredentials::Keys,
    })
}

/// The lines (already checked for unknown `via` and cycles) turned into trees.
struct Forest<'a> {
    lines: &'a [RoleLine],
    region: &'a Region,
    defaults: &'a SessionOptions,
}

impl Forest<'_> {
    fn line_error(line: &RoleLine, problem: String, fix: &str) -> Error {
        bad("roles", format!("line {}: {problem}", line.line), fix)
    }

    /// Each role in the partition of its profile's region, and of its source.
    fn check_partitions(&self) -> Result<(), Error> {
        for line in self.lines {
            let region = line.region.as_ref().unwrap_or(self.region);
            let (got, want) = (line.role.partition(), region.partition());
            if got != want {
                return Err(Self::line_error(
                    line,
                    format!(
                        "the role is in partition `{got}`, but region `{region}` is in `{want}`"
                    ),
                    "Use a role ARN of the region's partition, or set `region=` on the line.",
                ));
            }
            let source = line
                .via
                .as_ref()
                .and_then(|v| self.lines.iter().find(|l| &l.name == v));
            if let Some(source) = source.filter(|s| s.role.partition() != got) {
                return Err(Self::line_error(
                    line,
                    format!(
                        "the role is in partition `{got}`, but its `via` profile `{}` is in `{}`",
                        source.name,
                        source.role.partition()
                    ),
                    "Roles can only be chained within one partition.",
                ));
            }
        }
        Ok(())
    }

    fn target(&self, line: &RoleLine) -> ProfileTarget {
        ProfileTarget {
            name: line.name.clone(),
            region: line.region.clone().unwrap_or_else(|| self.region.clone()),
            line: line.line,
        }
    }

    fn session(&self, line: &RoleLine, chained: bool) -> SessionOptions {
        let default = if chained {
            self.defaults.duration_seconds.min(MAX_CHAINED_DURATION)
        } else {
            self.defaults.duration_seconds
        };
        SessionOptions {
            name: line
                .session_name
                .clone()
                .unwrap_or_else(|| self.defaults.name.clone()),
            duration_seconds: line.duration.unwrap_or(default),
            inline_policy: self.defaults.inline_policy.clone(),
            managed_policies: self.defaults.managed_policies.clone(),
        }
    }

    /// An `AssumeRole` signed by the line's parent; no session tags (see README).
    fn role_profile(&self, line: &RoleLine, chained: bool) -> RoleProfile {
        RoleProfile {
            profile: self.target(line),
            hop: RoleHop {
                target: RoleTarget::Arn(line.role.clone()),
                session: self.session(line, chained),
                external_id: line.external_id.clone(),
                tags: None,
                transitive_tag_keys: Vec::new(),
            },
            chained: self.chained_from(&line.name),
        }
    }

    /// The profiles whose `via` is `source`, each with its own subtree. The
    /// recursion ends: the lines have no cycles.
    fn chained_from(&self, source: &ProfileName) -> Vec<RoleProfile> {
        self.lines
            .iter()
            .filter(|l| l.via.as_ref() == Some(source))
            .map(|l| self.role_profile(l, true))
            .collect()
    }

    fn roots(&self) -> impl Iterator<Item = &RoleLine> {
        self.lines.iter().filter(|l| l.via.is_none())
    }

    fn signed_roots(&self) -> Result<Vec<RoleProfile>, Error> {
        self.roots()
            .map(|line| {
                if line.identity_pool.is_some() {
                    return Err(Self::line_error(
                        line,
                        "`identity-pool` is set, but the roles are assumed with the step's keys, and a pool takes an OIDC token".into(),
                        "Remove `identity-pool` from the line, or the step's keys / `role-chaining`.",
                    ));
                }
                if line.audience.is_some() {
                    return Err(Self::line_error(
                        line,
                        "`audience` is set, but the roles are assumed with the step's keys, not an OIDC token".into(),
                        "Remove `audience` from the line.",
                    ));
                }
                Ok(self.role_profile(line, false))
            })
            .collect()
    }

    /// One token per audience (or the one token file), each with its roles.
    fn token_groups(
        &self,
        raw: &RawInputs,
        env: &HashMap<String, String>,
        runner: &Runner,
    ) -> Result<Vec<TokenGroup>, Error> {
        let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let token_file = set(&raw.web_identity_token_file).map(str::trim);
        let step_audience = audience_of(raw)?;
        let cognito_endpoint = super::identity_pool::endpoint(env)?;
        let mut groups: Vec<(Audience, Vec<WebProfile>)> = Vec::new();
        for line in self.roots() {
            if line.external_id.is_some() {
                return Err(Self::line_error(
                    line,
                    "`external-id` is set on a role assumed with the OIDC token (AssumeRoleWithWebIdentity has no ExternalId)".into(),
                    "Remove `external-id`, or assume this role `via=` another profile.",
                ));
            }
            if token_file.is_some() && line.audience.is_some() {
                return Err(Self::line_error(
                    line,
                    "`audience` is set, but the token comes from `web-identity-token-file`, whose audience is fixed".into(),
                    "Remove `audience` from the line.",
                ));
            }
            let audience = line
                .audience
                .clone()
                .unwrap_or_else(|| step_audience.clone());
            let profile = WebProfile {
                profile: self.target(line),
                role: line.role.clone(),
                session: self.session(line, false),
                identity_pool: line.identity_pool.clone().map(|pool| PoolLogin {
                    pool,
                    endpoint: cognito_endpoint.clone(),
                }),
                chained: self.chained_from(&line.name),
            };
            match groups.iter_mut().find(|(a, _)| *a == audience) {
                Some((_, roles)) => roles.push(profile),
                None => groups.push((audience, vec![profile])),
            }
        }
        if let Some(path) = token_file {
            let path = runner_inputs::token_file_path(path, runner.workspace.as_deref())?;
            let roles = groups.into_iter().flat_map(|(_, roles)| roles).collect();
            return Ok(vec![TokenGroup {
                token: TokenSource::File(path),
                roles,
            }]);
        }
        if parse_bool("force-skip-oidc", &raw.force_skip_oidc, false)? {
            return Err(bad("force-skip-oidc", "is true, and `roles` has roles without `via`, which need the OIDC token", "Also set `aws-access-key-id`/`aws-secret-access-key`, `web-identity-token-file` or `role-chaining: true`, or remove `force-skip-oidc`."));
        }
        let (Some(url), Some(bearer)) = (
            get("ACTIONS_ID_TOKEN_REQUEST_URL"),
            get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ) else {
            // Unlike `role-to-assume`, nothing here could do without the token.
            return Err(Error::NoIdToken {
                under_act: get("ACT") == Some("true"),
            });
        };
        groups
            .into_iter()
            .map(|(audience, roles)| {
                Ok(TokenGroup {
                    token: TokenSource::Request {
                        url: crate::oidc::token_url(url, audience.as_str())?,
                        bearer: Secret::new(bearer),
                        audience,
                    },
                    roles,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    const A: &str = "arn:aws:iam::111111111111:role/deploy";
    const B: &str = "arn:aws:iam::222222222222:role/deploy";

    #[test]
    fn reads_names_arns_settings_comments_and_blank_lines() {
        let text = format!(
            "# accounts\n\ndev = {A}\n  prod={B} region=us-west-2 session-name=rel duration=7200  # prod\naudit = {A} via=dev external-id=x1 audience=other\n"
        );
        let err_text = parse(&text).unwrap_err().to_string();
        assert!(
            err_text.contains("line 5") && err_text.contains("audience"),
            "{err_text}"
        );
        let text = text.replace(" audience=other", "");
        let lines = parse(&text).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].line, 3);
        assert_eq!(lines[1].name.as_str(), "prod");
        assert_eq!(lines[1].region.as_ref().unwrap().as_str(), "us-west-2");
        assert_eq!(lines[1].duration, Some(7200));
        assert_eq!(lines[1].session_name.as_ref().unwrap().as_str(), "rel");
        assert_eq!(lines[2].via.as_ref().unwrap().as_str(), "dev");
        assert_eq!(lines[2].external_id.as_deref(), Some("x1"));
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = format!("dev = {A} regoin=x\nprod = arn:aws:iam::12:role/x\n= {A}\nok = {A} duration=60\nx {A}\n");
        let e = err(&text);
        for part in [
            "line 1: unknown key `regoin`",
            "line 2:",
            "line 3:",
            "line 4: `duration`",
            "line 5:",
            "5 problems",
        ] {
            assert!(e.contains(part), "{part} in {e}");
        }
        let e = err(&format!("dev = {A}\ndev = {B}\n"));
        assert!(
            e.contains("line 2: profile `dev` is already defined on line 1"),
            "{e}"
        );
        let e = err(&format!("dev = {A} via=nope\n"));
        assert!(e.contains("line 1: `via=nope` names no profile"), "{e}");
        let e = err(&format!("dev = {A} via=dev\n"));
        assert!(e.contains("names its own profile"), "{e}");
        let e = err(&format!(
            "root = {A}\na = {A} via=b\nb = {B} via=c\nc = {B} via=a\n"
        ));
        assert!(
            e.contains("circle") && e.contains("a (line 2) → b (line 3) → c (line 4) → a (line 2)"),
            "{e}"
        );
        assert_eq!(e.matches("circle").count(), 1, "{e}");
        let e = err(&format!("dev = {A}\nx = {A} via=dev duration=7200\n"));
        assert!(e.contains("line 2") && e.contains("3600"), "{e}");
        let e = err(&format!("dev = {A} region=us-east-1 region=eu-west-1\n"));
        assert!(e.contains("given twice"), "{e}");
        assert!(err("# only a comment\n\n").contains("no profile lines"));
        let many: String = (0..=MAX_PROFILES)
            .map(|i| format!("p{i} = {A}\n"))
            .collect();
        assert!(err(&many).contains("at most"));
    }

    /// A long chain used to be walked from every line with a path search at
    /// each step (cubic) before the profile cap was applied: 20 000 lines took
    /// minutes. The cap is checked first now, and alone (issue 22.4).
    #[test]
    fn the_profile_cap_comes_before_the_checks_across_lines() {
        let mut text = format!("p0 = {A}\n");
        for i in 1..20_000 {
            text.push_str(&format!("p{i} = {B} via=p{}\n", i - 1));
        }
        let e = err(&text);
        assert!(e.contains("has 20000 profiles; at most 50"), "{e}");
        assert!(!e.contains("line "), "only the cap is reported: {e}");
    }

    /// Cycles are still each named once when chains feed into them.
    #[test]
    fn cycles_behind_chains_are_named_once() {
        let e = err(&format!(
            "t1 = {A} via=t2\nt2 = {A} via=a\na = {A} via=b\nb = {B} via=a\nc = {A} via=c2\nc2 = {A} via=c\n"
        ));
        assert_eq!(e.matches("circle").count(), 2, "{e}");
        assert!(e.contains("a (line 3) → b (line 4) → a (line 3)"), "{e}");
        assert!(e.contains("c (line 5) → c2 (line 6) → c (line 5)"), "{e}");
    }

    #[test]
    fn a_long_chain_without_cycles_is_accepted() {
        let mut text = format!("p0 = {A}\n");
        for i in 1..20 {
            text.push_str(&format!("p{i} = {B} via=p{}\n", i - 1));
        }
        assert_eq!(parse(&text).unwrap().len(), 20);
    }

    fn plan_of(pairs: &[(&str, &str)]) -> Result<crate::plan::Plan, Error> {
        let mut env: HashMap<String, String> = [
            ("GITHUB_ENV", "/nonexistent/env"),
            ("GITHUB_OUTPUT", "/nonexistent/out"),
            ("INPUT_AWS-REGION", "eu-west-1"),
            ("RUNNER_TEMP", "/rt"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://t.example/x?a=1"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "bearer"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            env.insert(k.to_string(), v.to_string());
        }
        super::super::build::plan(&RawInputs::from_env(&env)?, &env)
    }

    fn profiles(plan: &crate::plan::Plan) -> &ProfilesPlan {
        match &plan.mode {
            crate::plan::Mode::Profiles(p) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn web_identity_roots_share_one_token_per_audience_and_carry_their_chains() {
        let text = format!(
            "dev = {A}\nprod = {B} region=us-west-2 duration=7200\naudit = {B} via=dev\ndeep = {A} via=audit session-name=deep\nother = {A} audience=other.example\n"
        );
        let plan = plan_of(&[
            ("INPUT_ROLES", &text),
            ("INPUT_DEFAULT-PROFILE", "prod"),
            ("INPUT_ROLE-DURATION-SECONDS", "5400"),
        ])
        .unwrap();
        let p = profiles(&plan);
        assert_eq!(p.files.default.as_ref().unwrap().as_str(), "prod");
        assert_eq!(p.files.dir.local, std::path::Path::new("/rt/.keyless-aws"));
        let Roots::WebIdentity(groups) = &p.roots else {
            panic!("{:?}", p.roots)
        };
        assert_eq!(groups.len(), 2);
        let audiences: Vec<&str> = groups
            .iter()
            .map(|g| match &g.token {
                TokenSource::Request { audience, .. } => audience.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(audiences, ["sts.amazonaws.com", "other.example"]);
        let names: Vec<&str> = groups[0]
            .roles
            .iter()
            .map(|r| r.profile.name.as_str())
            .collect();
        assert_eq!(names, ["dev", "prod"]);
        let (dev, prod) = (&groups[0].roles[0], &groups[0].roles[1]);
        assert_eq!(dev.session.duration_seconds, 5400);
        assert_eq!(prod.session.duration_seconds, 7200);
        assert_eq!(prod.profile.region.as_str(), "us-west-2");
        assert_eq!(dev.profile.region.as_str(), "eu-west-1");
        // audit is chained from dev, deep from audit; a chained default duration is capped.
        assert_eq!(dev.chained.len(), 1);
        let audit = &dev.chained[0];
        assert_eq!(audit.profile.name.as_str(), "audit");
        assert_eq!(audit.hop.session.duration_seconds, 3600);
        assert!(audit.hop.tags.is_none());
        assert_eq!(audit.chained[0].profile.name.as_str(), "deep");
        assert_eq!(audit.chained[0].hop.session.name.as_str(), "deep");
    }

    #[test]
    fn keys_sign_the_roots_and_alternatives_are_refused() {
        let text = format!("dev = {A} external-id=abc\naudit = {B} via=dev\n");
        let plan = plan_of(&[
            ("INPUT_ROLES", &text),
            ("INPUT_AWS-ACCESS-KEY-ID", "AKIAEXAMPLEEXAMPLE00"),
            ("INPUT_AWS-SECRET-ACCESS-KEY", "secret"),
        ])
        .unwrap();
        let Roots::Signed {
            signer: Signer::Keys(_),
            roles,
        } = &profiles(&plan).roots
        else {
            panic!()
        };
        assert_eq!(roles[0].hop.external_id.as_deref(), Some("abc"));
        assert_eq!(roles[0].chained[0].profile.name.as_str(), "audit");

        let e = |pairs: &[(&str, &str)]| plan_of(pairs).unwrap_err().to_string();
        let one = format!("dev = {A}\n");
        assert!(e(&[("INPUT_ROLES", &one), ("INPUT_ROLE-TO-ASSUME", A)])
            .contains("`role-to-assume`: cannot be combined with `roles`"));
        assert!(e(&[("INPUT_ROLES", &one), ("INPUT_AWS-PROFILE", "x")]).contains("aws-profile"));
        assert!(
            e(&[("INPUT_ROLES", &one), ("INPUT_OUTPUT-CREDENTIALS", "true")])
                .contains("output-credentials")
        );
        assert!(
            e(&[("INPUT_ROLES", &one), ("INPUT_DEFAULT-PROFILE", "prod")])
                .contains("not one of the profiles")
        );
        assert!(e(&[
            ("INPUT_ROLE-TO-ASSUME", A),
            ("INPUT_DEFAULT-PROFILE", "dev")
        ])
        .contains("`roles` is not"));
        // An external id cannot go with a web identity.
        let ext = format!("dev = {A} external-id=abc\n");
        assert!(e(&[("INPUT_ROLES", &ext)]).contains("line 1: `external-id`"));
        // A role in another partition than its region.
        let cn = "prod = arn:aws-cn:iam::111111111111:role/x\n";
        assert!(e(&[("INPUT_ROLES", cn)]).contains("partition"));
        assert!(plan_of(&[(
            "INPUT_ROLES",
            &format!("{cn}\n").replace("x\n", "x region=cn-north-1\n")
        )])
        .is_ok());
        // `refresh-credentials`: each profile replays its own chain, which
        // only the runner's token request allows; the rest is refused first.
        let chained = format!("dev = {A}\naudit = {B} via=dev\n");
        let refreshing = plan_of(&[
            ("INPUT_ROLES", &chained),
            ("INPUT_REFRESH-CREDENTIALS", "true"),
        ])
        .unwrap();
        assert_eq!(
            profiles(&refreshing).content,
            crate::plan::ProfileCredentials::Refreshing
        );
        let refresh = |extra: &[(&str, &str)]| {
            let mut pairs = vec![
                ("INPUT_ROLES", one.as_str()),
                ("INPUT_REFRESH-CREDENTIALS", "true"),
            ];
            pairs.extend_from_slice(extra);
            e(&pairs)
        };
        assert!(refresh(&[
            ("INPUT_AWS-ACCESS-KEY-ID", "AKIAEXAMPLEEXAMPLE00"),
            ("INPUT_AWS-SECRET-ACCESS-KEY", "secret"),
        ])
        .contains("long-lived keys on disk"));
        assert!(refresh(&[
            ("INPUT_ROLE-CHAINING", "true"),
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
        ])
        .contains("environment's credentials"));
        assert!(refresh(&[("INPUT_WEB-IDENTITY-TOKEN-FILE", "/t.jwt")])
            .contains("nothing renews it there"));
        // No token: the plan fails before any request, naming what the job needs.
        let err =
            plan_of(&[("INPUT_ROLES", &one), ("ACTIONS_ID_TOKEN_REQUEST_URL", "")]).unwrap_err();
        assert!(
            matches!(err, Error::NoIdToken { under_act: false }),
            "{err}"
        );
    }

    /// Every (name, the profile it hangs under) in the forest, depth first.
    fn names(roles: &[RoleProfile], parent: Option<&str>, out: &mut Vec<(String, Option<String>)>) {
        for r in roles {
            out.push((r.profile.name.to_string(), parent.map(str::to_owned)));
            names(&r.chained, Some(r.profile.name.as_str()), out);
        }
    }

    proptest::proptest! {
        /// Any `via` graph without cycles becomes a forest holding every profile
        /// exactly once, each under its source; closing a cycle is refused.
        #[test]
        fn a_via_graph_becomes_a_forest_or_its_cycle_is_named(
            vias in proptest::collection::vec(proptest::option::of(0usize..40), 1..25),
            back in 0usize..40,
        ) {
            // Line i may only name an earlier line: no cycles.
            let via: Vec<Option<usize>> = vias
                .iter()
                .enumerate()
                .map(|(i, v)| v.filter(|_| i > 0).map(|v| v % i.max(1)))
                .collect();
            let text: String = via
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Some(j) => format!("p{i} = {A} via=p{j}\n"),
                    None => format!("p{i} = {B}\n"),
                })
                .collect();
            let plan = plan_of(&[
                ("INPUT_ROLES", &text),
                ("INPUT_AWS-ACCESS-KEY-ID", "AKIAEXAMPLEEXAMPLE00"),
                ("INPUT_AWS-SECRET-ACCESS-KEY", "secret"),
            ])
            .unwrap();
            let Roots::Signed { roles, .. } = &profiles(&plan).roots else {
                panic!()
            };
            let mut seen = Vec::new();
            names(roles, None, &mut seen);
            seen.sort();
            let mut expected: Vec<(String, Option<String>)> = via
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("p{i}"), v.map(|j| format!("p{j}"))))
                .collect();
            expected.sort();
            proptest::prop_assert_eq!(seen, expected);
            // Make a root point at one of its descendants (or itself): a cycle.
            if let Some(root) = via.iter().position(Option::is_none) {
                let mut descendants = vec![root];
                for (i, v) in via.iter().enumerate() {
                    if v.is_some_and(|j| descendants.contains(&j)) {
                        descendants.push(i);
                    }
                }
                let target = descendants[back % descendants.len()];
                let cyclic = text.replace(
                    &format!("p{root} = {B}\n"),
                    &format!("p{root} = {B} via=p{target}\n"),
                );
                let err = parse(&cyclic).unwrap_err().to_string();
                let expected = if target == root { "names its own profile" } else { "circle" };
                proptest::prop_assert!(err.contains(expected), "{}", err);
            }
        }
    }
}
