//! GitHub's OIDC claim set, shaped from the server's flags.
//!
//! The shapes follow GitHub's documented token: `sub` is
//! `repo:O/R:environment:E` when the job has an environment, else
//! `repo:O/R:pull_request` for pull_request events, else `repo:O/R:ref:REF`;
//! numbers such as `run_id` are strings, as GitHub sends them.

use super::options::Options;
use serde_json::{json, Value};

/// How long a token is valid, as GitHub's are.
pub const LIFETIME_SECONDS: i64 = 300;

/// Fixed stand-in values for claims no flag sets (a trust policy rarely uses them).
const SHA: &str = "0000000000000000000000000000000000000001";

/// The `sub` claim for these options.
pub fn subject(o: &Options) -> String {
    match (&o.environment, o.event.as_str()) {
        (Some(env), _) => format!("repo:{}:environment:{env}", o.repo),
        (None, "pull_request") => format!("repo:{}:pull_request", o.repo),
        (None, _) => format!("repo:{}:ref:{}", o.repo, o.git_ref),
    }
}

/// GitHub's default audience when the request names none: the owner's URL.
pub fn default_audience(o: &Options) -> String {
    format!("https://github.com/{}", owner(o))
}

fn owner(o: &Options) -> &str {
    o.repo
        .split_once('/')
        .map(|(owner, _)| owner)
        .unwrap_or(&o.repo)
}

/// The full claim set of one token.
pub fn claims(
    o: &Options,
    issuer: &str,
    audience: &str,
    now: i64,
    jti: &str,
    run_id: &str,
) -> Value {
    let workflow_ref = format!("{}/{}@{}", o.repo, o.workflow, o.git_ref);
    let ref_type = if o.git_ref.starts_with("refs/tags/") {
        "tag"
    } else {
        "branch"
    };
    let workflow_name = o
        .workflow
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches(".yml")
        .trim_end_matches(".yaml");
    let mut c = json!({
        "jti": jti,
        "sub": subject(o),
        "aud": audience,
        "ref": o.git_ref,
        "ref_type": ref_type,
        "ref_protected": "false",
        "sha": SHA,
        "repository": o.repo,
        "repository_owner": owner(o),
        "repository_id": "1",
        "repository_owner_id": "1",
        "repository_visibility": "private",
        "run_id": run_id,
        "run_number": "1",
        "run_attempt": "1",
        "actor": o.actor,
        "actor_id": "1",
        "triggering_actor": o.actor,
        "workflow": workflow_name,
        "workflow_ref": workflow_ref,
        "workflow_sha": SHA,
        "job_workflow_ref": workflow_ref,
        "job_workflow_sha": SHA,
        "head_ref": "",
        "base_ref": "",
        "event_name": o.event,
        "runner_environment": "self-hosted",
        "iss": issuer,
        "iat": now,
        "nbf": now - 5,
        "exp": now + LIFETIME_SECONDS,
    });
    if let Some(env) = &o.environment {
        c["environment"] = Value::String(env.clone());
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Parsed;
    use crate::cli::dev_token_server::parse;

    fn options(list: &[&str]) -> Options {
        let args: Vec<std::ffi::OsString> = list.iter().map(Into::into).collect();
        match parse(&args).unwrap() {
            Parsed::Run(o) => o,
            Parsed::Help => unreachable!(),
        }
    }

    #[test]
    fn subject_follows_githubs_precedence() {
        assert_eq!(
            subject(&options(&["--repo", "o/r"])),
            "repo:o/r:ref:refs/heads/main"
        );
        assert_eq!(
            subject(&options(&["--repo", "o/r", "--ref", "refs/tags/v1"])),
            "repo:o/r:ref:refs/tags/v1"
        );
        assert_eq!(
            subject(&options(&["--repo", "o/r", "--event", "pull_request"])),
            "repo:o/r:pull_request"
        );
        assert_eq!(
            subject(&options(&[
                "--repo",
                "o/r",
                "--event",
                "pull_request",
                "--environment",
                "prod"
            ])),
            "repo:o/r:environment:prod"
        );
    }

    #[test]
    fn claims_carry_the_flags() {
        let o = options(&[
            "--repo",
            "o/r",
            "--ref",
            "refs/tags/v1",
            "--environment",
            "prod",
            "--workflow",
            ".github/workflows/deploy.yml",
        ]);
        let c = claims(
            &o,
            "http://127.0.0.1:1",
            "sts.amazonaws.com",
            1000,
            "j",
            "7",
        );
        assert_eq!(c["ref_type"], "tag");
        assert_eq!(c["environment"], "prod");
        assert_eq!(
            c["job_workflow_ref"],
            "o/r/.github/workflows/deploy.yml@refs/tags/v1"
        );
        assert_eq!(c["workflow"], "deploy");
        assert_eq!(c["exp"], 1300);
        assert_eq!(c["repository_owner"], "o");
        let c = claims(&options(&[]), "i", "a", 0, "j", "7");
        assert!(c.get("environment").is_none());
        assert_eq!(
            default_audience(&options(&["--repo", "o/r"])),
            "https://github.com/o"
        );
    }
}
