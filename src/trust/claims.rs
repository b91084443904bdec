//! The request a trust policy is evaluated against: the token's claims, where
//! they come from (a claims file, a token, or GitHub's claim shapes built from
//! a repository and ref), and which of them IAM turns into condition keys.

use base64::Engine;
use serde_json::{Map, Value};

pub const GITHUB_ISSUER: &str = crate::ci::GITHUB_ISSUER;
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";

/// Claims IAM exposes as `PROVIDER:claim` condition keys for any OIDC
/// provider: IAM User Guide, "IAM and AWS STS condition context keys",
/// section "Available keys for AWS OIDC federation" (default list).
pub const EXPOSED_ANY_PROVIDER: [&str; 5] = ["aud", "sub", "amr", "email", "oaud"];

/// Further claims IAM exposes for GitHub's provider (same section, GitHub
/// list). Notably absent: `event_name`, `head_ref`, `base_ref`, `repository_owner`,
/// `workflow_ref`, `runner_environment`; a condition on those never matches.
pub const EXPOSED_GITHUB: [&str; 10] = [
    "actor",
    "actor_id",
    "job_workflow_ref",
    "repository",
    "repository_id",
    "repository_owner_id",
    "workflow",
    "ref",
    "environment",
    "enterprise_id",
];

/// How the claims were obtained, for the verdict's first line.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    ClaimsFile,
    /// Decoded from a JWT without checking its signature.
    Token,
    /// Decoded from a JWT whose signature `dev-sts` verified.
    VerifiedToken,
    /// Built from `--repo` etc. in GitHub's claim shapes.
    Synthesised,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub claims: Map<String, Value>,
    pub source: Source,
    /// `iss` with the scheme removed: the prefix of the token's condition keys
    /// and the path of its IAM OIDC provider ARN.
    pub provider: String,
    /// Request keys that are not token claims (`aws:SourceIp`, ...) given
    /// with `--context KEY=VALUE`.
    pub extra: Vec<(String, String)>,
    /// The account of the role being assumed (`--role-arn`), when known: STS
    /// looks the OIDC provider up in that account, so a provider ARN naming
    /// another account never matches.
    pub role_account: Option<crate::aws_names::AccountId>,
}

impl Request {
    pub fn new(claims: Map<String, Value>, source: Source) -> Request {
        let issuer = claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or(GITHUB_ISSUER);
        let provider = issuer
            .strip_prefix("https://")
            .or_else(|| issuer.strip_prefix("http://"))
            .unwrap_or(issuer)
            .to_owned();
        Request {
            claims,
            source,
            provider,
            extra: Vec::new(),
            role_account: None,
        }
    }

    pub fn is_github(&self) -> bool {
        self.provider == "token.actions.githubusercontent.com"
            || self
                .provider
                .starts_with("token.actions.githubusercontent.com/")
    }

    /// Whether IAM exposes `claim` as a condition key for this provider.
    pub fn exposes(&self, claim: &str) -> bool {
        EXPOSED_ANY_PROVIDER.contains(&claim)
            || (self.is_github() && EXPOSED_GITHUB.contains(&claim))
    }

    pub fn claim_str(&self, name: &str) -> Option<String> {
        self.claims
            .get(name)
            .and_then(|v| values(v).into_iter().next())
    }
}

/// A claim as the string values IAM compares: a string is one value, a list
/// is several (multivalued key), numbers and booleans as written in JSON.
pub fn values(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(items) => items.iter().flat_map(values).collect(),
        Value::Null | Value::Object(_) => Vec::new(),
    }
}

/// A claims file: the JSON object of a token's payload (as the action's
/// AccessDenied explanation shows it, or `jq -R 'split(".")[1] | @base64d'`).
pub fn from_claims_json(text: &str) -> Result<Map<String, Value>, String> {
    super::json::parse(text).map_err(|e| {
        let jwt = if text.trim_start().starts_with("eyJ") {
            ". It looks like a JWT: pass it with --token FILE"
        } else {
            ""
        };
        format!("the claims file is not valid JSON: {e}{jwt}")
    })?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map))
            if !map.contains_key("sub")
                && map
                    .get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with("eyJ")) =>
        {
            Err("the claims file is the token endpoint's answer ({\"value\": \"eyJ…\"}), not claims: pass the same file with --token".into())
        }
        Ok(Value::Object(map)) => checked(map, "the claims file"),
        Ok(other) => Err(format!("the claims file must hold a JSON object of claims (like {{\"sub\": \"repo:O/R:ref:refs/heads/main\", \"aud\": \"sts.amazonaws.com\"}}), not {}", kind(&other))),
        Err(e) => Err(format!("the claims file is not valid JSON: {e}")),
    }
}

/// The most values one claim may have (a list claim such as `amr` holds a few).
pub const MAX_CLAIM_VALUES: usize = 100;

/// STS accepts only issuers that are `https://` URLs (an IAM OIDC provider
/// URL "must begin with https://"), so a claims set with another `iss` can
/// never be exchanged; saying so beats evaluating a request that cannot exist.
fn checked(map: Map<String, Value>, what: &str) -> Result<Map<String, Value>, String> {
    // Each value is compared with each of a condition's values: a claim with
    // thousands of values would multiply the work of a verdict.
    if let Some((name, n)) = map
        .iter()
        .map(|(k, v)| (k, values(v).len()))
        .find(|(_, n)| *n > MAX_CLAIM_VALUES)
    {
        return Err(format!("{what} has {n} values for the claim {name:?}; tokens carry a few values per claim, and check-trust takes at most {MAX_CLAIM_VALUES}"));
    }
    match map.get("iss") {
        None => Ok(map),
        // http:// is let through for local emulators (keyless-aws
        // dev-token-server's default issuer); the verdict notes that AWS
        // itself refuses it.
        Some(Value::String(iss))
            if ["https://", "http://"]
                .iter()
                .any(|s| iss.strip_prefix(s).is_some_and(|rest| !rest.is_empty()))
                && !iss.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            Ok(map)
        }
        Some(Value::String(iss)) => Err(format!("{what} has `iss` {iss:?}, which is not an issuer URL; STS accepts https:// issuers (GitHub's is \"{GITHUB_ISSUER}\")")),
        Some(other) => Err(format!("{what} has `iss` as {}, not a string URL like \"{GITHUB_ISSUER}\"", kind(other))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        Value::Object(_) => "an object",
    }
}

/// Tokens larger than this are refused; GitHub's are around 1 KiB.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The payload of a compact JWT. The signature is NOT checked: the claims are
/// only compared with a policy, and AWS checks the signature itself.
pub fn from_token(text: &str) -> Result<Map<String, Value>, String> {
    let token = text.trim();
    if token.starts_with('{') {
        // The token endpoint's answer ({"count": …, "value": "eyJ…"}), as
        // `curl "$ACTIONS_ID_TOKEN_REQUEST_URL"` saves it: its value is the JWT.
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(token) {
            if let Some(Value::String(jwt)) = m.get("value") {
                if !jwt.trim_start().starts_with('{') {
                    return from_token(jwt);
                }
            }
        }
        return Err(
            "the token file holds JSON, not a JWT; pass a claims object with --claims instead"
                .into(),
        );
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(format!(
            "the token file is {} bytes; a JWT from a CI is a few KiB at most",
            token.len()
        ));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(format!("the token file does not hold a JWT (three base64url parts separated by dots; found {} part(s))", parts.len()));
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1].trim_end_matches('='))
        .map_err(|_| "the token's payload (second part) is not base64url".to_owned())?;
    // Duplicate claims: which one a verifier uses is up to it (RFC 7519
    // lets it reject the token), so refuse rather than guess.
    if let Err(e) = std::str::from_utf8(&bytes)
        .map_err(|e| e.to_string())
        .and_then(super::json::parse)
    {
        if e.contains("duplicate key") {
            return Err(format!("the token's payload: {e}"));
        }
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => checked(map, "the token's payload"),
        _ => Err("the token's payload is not a JSON object of claims".into()),
    }
}

/// What `--repo` and its companions describe: one GitHub Actions job.
#[derive(Debug, Clone, PartialEq)]
pub struct GitHubJob {
    pub repo: String,
    /// Full ref (`refs/heads/main`); a bare name means a branch.
    pub git_ref: Option<String>,
    pub environment: Option<String>,
    pub event: String,
    pub audience: String,
}

/// The claims GitHub would put in this job's token (default subject format):
/// GitHub Docs, "OpenID Connect" / "Example subject claims": `sub` names the
/// environment when the job has one, else `pull_request` for pull_request
/// events, else the ref.
pub fn synthesise(job: &GitHubJob) -> Result<Map<String, Value>, String> {
    // GitHub names are letters, digits, `-`, `.` and `_` (managed users
    // have `_` in their logins). Anything else (a `:` above all) would make a
    // `sub` no GitHub token can carry.
    let (owner, name) = job
        .repo
        .split_once('/')
        .filter(|(o, r)| {
            !o.is_empty()
                && o.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
                && !r.is_empty()
                && r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        })
        .ok_or_else(|| format!("--repo {:?} is not OWNER/REPO (GitHub names are letters, digits, `-`, `.` and `_`)", job.repo))?;
    let audience = Some(job.audience.clone());
    for (flag, value) in [
        ("--ref", &job.git_ref),
        ("--environment", &job.environment),
        ("--audience", &audience),
    ] {
        if let Some(v) = value {
            if v.trim().is_empty() || v.chars().any(char::is_control) || v != v.trim() {
                return Err(format!("{flag} {v:?} is empty or has surrounding spaces or control characters; give the name as GitHub shows it"));
            }
        }
    }
    if job.event.is_empty()
        || !job
            .event
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_')
    {
        return Err(format!(
            "--event {:?} is not a GitHub event name (push, pull_request, workflow_dispatch, ...)",
            job.event
        ));
    }
    // pull_request_target runs get the same `pull_request` subject as
    // pull_request runs (observed in GitHub's tokens; GitHub's docs name
    // only "pull request events"), with the base branch as `ref`.
    let is_pr = job.event == "pull_request" || job.event == "pull_request_target";
    let git_ref = match job.git_ref.as_deref() {
        Some(r) if r.starts_with("refs/") => r.to_owned(),
        Some(branch) => format!("refs/heads/{branch}"),
        None if job.event == "pull_request" => "refs/pull/1/merge".to_owned(),
        None => "refs/heads/main".to_owned(),
    };
    let sub = match (&job.environment, is_pr) {
        (Some(env), _) => format!("repo:{owner}/{name}:environment:{env}"),
        (None, true) => format!("repo:{owner}/{name}:pull_request"),
        (None, false) => format!("repo:{owner}/{name}:ref:{git_ref}"),
    };
    let mut m = Map::new();
    let mut put = |k: &str, v: &str| {
        m.insert(k.into(), Value::String(v.into()));
    };
    put("iss", GITHUB_ISSUER);
    put("aud", &job.audience);
    put("sub", &sub);
    put("repository", &job.repo);
    put("repository_owner", owner);
    put("ref", &git_ref);
    put("event_name", &job.event);
    if let Some(env) = &job.environment {
        put("environment", env);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(env: Option<&str>, event: &str, r: Option<&str>) -> GitHubJob {
        GitHubJob {
            repo: "octo-org/octo-repo".into(),
            git_ref: r.map(Into::into),
            environment: env.map(Into::into),
            event: event.into(),
            audience: DEFAULT_AUDIENCE.into(),
        }
    }

    #[test]
    fn github_subject_shapes() {
        let sub = |j: GitHubJob| synthesise(&j).unwrap()["sub"].as_str().unwrap().to_owned();
        assert_eq!(
            sub(job(None, "push", None)),
            "repo:octo-org/octo-repo:ref:refs/heads/main"
        );
        assert_eq!(
            sub(job(None, "push", Some("dev"))),
            "repo:octo-org/octo-repo:ref:refs/heads/dev"
        );
        assert_eq!(
            sub(job(None, "push", Some("refs/tags/v1"))),
            "repo:octo-org/octo-repo:ref:refs/tags/v1"
        );
        assert_eq!(
            sub(job(Some("Production"), "push", None)),
            "repo:octo-org/octo-repo:environment:Production"
        );
        assert_eq!(
            sub(job(None, "pull_request", None)),
            "repo:octo-org/octo-repo:pull_request"
        );
        // The environment wins over the pull_request event.
        assert_eq!(
            sub(job(Some("ci"), "pull_request", None)),
            "repo:octo-org/octo-repo:environment:ci"
        );
        assert_eq!(
            sub(job(None, "pull_request_target", None)),
            "repo:octo-org/octo-repo:pull_request"
        );
        for bad in ["nope", "o/r:x", "o/r/x", "o o/r", "/r", "o/"] {
            assert!(
                synthesise(&GitHubJob {
                    repo: bad.into(),
                    ..job(None, "push", None)
                })
                .is_err(),
                "{bad}"
            );
        }
        assert!(synthesise(&job(None, "push", Some(""))).is_err());
        assert!(synthesise(&job(Some(" prod"), "push", None)).is_err());
        assert!(synthesise(&GitHubJob {
            audience: String::new(),
            ..job(None, "push", None)
        })
        .is_err());
        assert!(synthesise(&job(None, "Push", None)).is_err());
        assert!(synthesise(&GitHubJob {
            repo: "nope".into(),
            ..job(None, "push", None)
        })
        .is_err());
    }

    #[test]
    fn token_payload_is_decoded_without_verification() {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let t = format!(
            "{}.{}.sig",
            enc("{}"),
            enc(r#"{"sub":"s","aud":["a","b"]}"#)
        );
        let m = from_token(&t).unwrap();
        assert_eq!(values(&m["aud"]), ["a", "b"]);
        assert!(from_token("a.b").is_err());
        assert!(from_token("{\"sub\":1}").unwrap_err().contains("--claims"));
    }
}
