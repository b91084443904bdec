//! The CI systems whose OIDC tokens AWS accepts, and what this program knows
//! about each: how a job of it is recognised, where its token is, and the shape
//! of its issuer, audience and `sub` claim. `assume` uses it to find the token
//! and to say what is missing; `explain` uses it to tell a user which trust
//! policy condition would admit the token they have; `setup` prints the
//! provider and the policy for it.

use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    GitHub,
    GitLab,
    CircleCi,
    Buildkite,
    Bitbucket,
}

pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const BUILDKITE_ISSUER: &str = "https://agent.buildkite.com";
/// The `id_tokens:` name this program's documentation suggests for GitLab, and
/// the one `assume` looks for when no `--token-env` is given.
pub const GITLAB_TOKEN_VAR: &str = "GITLAB_OIDC_TOKEN";

impl Ci {
    pub const ALL: [Ci; 5] = [
        Ci::GitHub,
        Ci::GitLab,
        Ci::CircleCi,
        Ci::Buildkite,
        Ci::Bitbucket,
    ];

    /// The name used on the command line (`--ci gitlab`).
    pub fn id(self) -> &'static str {
        match self {
            Ci::GitHub => "github",
            Ci::GitLab => "gitlab",
            Ci::CircleCi => "circleci",
            Ci::Buildkite => "buildkite",
            Ci::Bitbucket => "bitbucket",
        }
    }

    pub fn from_id(id: &str) -> Option<Ci> {
        Ci::ALL.into_iter().find(|ci| ci.id() == id)
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Ci::GitHub => "GitHub Actions",
            Ci::GitLab => "GitLab CI",
            Ci::CircleCi => "CircleCI",
            Ci::Buildkite => "Buildkite",
            Ci::Bitbucket => "Bitbucket Pipelines",
        }
    }

    /// Recognises the CI a process runs in by the variable each sets in every job.
    pub fn detect(env: &HashMap<String, String>) -> Option<Ci> {
        let is =
            |name: &str, value: &str| env.get(name).is_some_and(|v| v.eq_ignore_ascii_case(value));
        if is("GITHUB_ACTIONS", "true") {
            Some(Ci::GitHub)
        } else if is("GITLAB_CI", "true") {
            Some(Ci::GitLab)
        } else if is("CIRCLECI", "true") {
            Some(Ci::CircleCi)
        } else if is("BUILDKITE", "true") {
            Some(Ci::Buildkite)
        } else if env
            .get("BITBUCKET_BUILD_NUMBER")
            .is_some_and(|v| !v.is_empty())
        {
            Some(Ci::Bitbucket)
        } else {
            None
        }
    }

    /// Which CI issued a token, from its `iss` and `sub`. A self-managed GitLab
    /// has its own issuer, but its `sub` always starts with `project_path:`.
    pub fn from_claims(iss: Option<&str>, sub: Option<&str>) -> Option<Ci> {
        let host = iss.map(|i| i.trim_start_matches("https://")).unwrap_or("");
        if iss == Some(GITHUB_ISSUER) || host.ends_with("/_services/token") {
            Some(Ci::GitHub)
        } else if host.starts_with("oidc.circleci.com/org/") {
            Some(Ci::CircleCi)
        } else if iss == Some(BUILDKITE_ISSUER) {
            Some(Ci::Buildkite)
        } else if host.starts_with("api.bitbucket.org/")
            && host.ends_with("/pipelines-config/identity/oidc")
        {
            Some(Ci::Bitbucket)
        } else if host == "gitlab.com" || sub.is_some_and(|s| s.starts_with("project_path:")) {
            Some(Ci::GitLab)
        } else if sub.is_some_and(|s| s.starts_with("repo:")) {
            Some(Ci::GitHub)
        } else {
            None
        }
    }

    /// The session name `assume` uses when none is given: it shows in
    /// CloudTrail which CI assumed the role.
    pub fn default_session_name(self) -> &'static str {
        match self {
            Ci::GitHub => "GitHubActions",
            Ci::GitLab => "GitLabCI",
            Ci::CircleCi => "CircleCI",
            Ci::Buildkite => "Buildkite",
            Ci::Bitbucket => "BitbucketPipelines",
        }
    }

    /// What a job of this CI needs for a token to exist, for the error shown
    /// when none was found.
    pub fn missing_token_help(self) -> String {
        match self {
            Ci::GitHub => "GitHub gives a job ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN only when the workflow or job grants `permissions: id-token: write` (and never to pull requests from forks or to Dependabot runs).".into(),
            Ci::GitLab => format!("GitLab creates a token only for the names in the job's `id_tokens:` block. Add to the job:\n  id_tokens:\n    {GITLAB_TOKEN_VAR}:\n      aud: sts.amazonaws.com\nand pass `--token-env {GITLAB_TOKEN_VAR}` (that name is also found without the flag)."),
            Ci::CircleCi => "CircleCI sets CIRCLE_OIDC_TOKEN_V2 (and CIRCLE_OIDC_TOKEN) only in jobs that use a context, or in projects where OIDC tokens are enabled in Project Settings; jobs triggered from forked pull requests never get one.".into(),
            Ci::Buildkite => "Buildkite tokens come from `buildkite-agent oidc request-token`, which needs the agent (v3.41 or later) on PATH and the job's BUILDKITE_AGENT_ACCESS_TOKEN in the environment.".into(),
            Ci::Bitbucket => "Bitbucket sets BITBUCKET_STEP_OIDC_TOKEN only in steps that have `oidc: true`:\n  - step:\n      oidc: true\n      script:\n        - eval \"$(keyless-aws assume --role-arn …)\"".into(),
        }
    }

    /// A `StringLike` pattern, derived from a token's `sub`, that admits every
    /// run of the same project rather than only this one; with what it admits.
    pub fn broader_subject(self, sub: &str) -> Option<(String, &'static str)> {
        match self {
            Ci::GitHub => {
                let repo = sub.strip_prefix("repo:")?.split(':').next()?;
                Some((
                    format!("repo:{repo}:*"),
                    "every branch, tag, environment and pull request of the repository",
                ))
            }
            Ci::GitLab => {
                let project = sub
                    .split(":ref_type:")
                    .next()
                    .filter(|p| p.starts_with("project_path:"))?;
                Some((
                    format!("{project}:*"),
                    "every branch and tag of the project",
                ))
            }
            Ci::CircleCi => {
                let end = sub.find("/user/")?;
                Some((
                    format!("{}/user/*", &sub[..end]),
                    "every job of the project, whoever started it",
                ))
            }
            Ci::Buildkite => {
                let end = sub.find(":ref:")?;
                Some((format!("{}:*", &sub[..end]), "every build of the pipeline"))
            }
            Ci::Bitbucket => {
                let repo = sub.split(':').next().filter(|r| r.starts_with('{'))?;
                Some((format!("{repo}:*"), "every step of the repository"))
            }
        }
    }

    /// Whether `sub` differs on every run (a step or commit id in it), so that
    /// only a `StringLike` pattern can admit the next run too.
    pub fn subject_changes_per_run(self) -> bool {
        matches!(self, Ci::Buildkite | Ci::Bitbucket)
    }

    /// The mistakes people make with this CI's trust policies.
    pub fn common_mismatches(self) -> &'static [&'static str] {
        match self {
            Ci::GitHub => &[],
            Ci::GitLab => &[
                "GitLab's `sub` is `project_path:GROUP/PROJECT:ref_type:branch|tag:ref:NAME`: the ref is a bare name (`main`), not `refs/heads/main`.",
                "The token's `aud` is whatever the job's `id_tokens:` block says; the IAM OIDC provider must list it as a client id.",
                "A self-managed GitLab is its own issuer: the provider URL and the condition keys use its host, not gitlab.com.",
            ],
            Ci::CircleCi => &[
                "CircleCI's `aud` is the organization id, so the IAM OIDC provider's client id must be that id, not sts.amazonaws.com.",
                "CIRCLE_OIDC_TOKEN_V2's `sub` ends with `/vcs-origin/…/vcs-ref/…`: match it with `StringLike` and a trailing `*`.",
            ],
            Ci::Buildkite => &[
                "Buildkite's `sub` holds the commit and the step key, which change every build: use `StringLike` with `commit:*:step:*`.",
                "The ref is a full ref (`refs/heads/main`); pipeline and organization are slugs, which change when renamed.",
            ],
            Ci::Bitbucket => &[
                "Bitbucket's `sub` is `{REPOSITORY_UUID}:{STEP_UUID}` (or `{REPOSITORY_UUID}:{ENVIRONMENT_UUID}:{STEP_UUID}` in deployments); the step id changes every run, so use `StringLike` with `{REPOSITORY_UUID}:*`. The braces are part of the value.",
                "The `aud` is `ari:cloud:bitbucket::workspace/WORKSPACE_UUID` (Repository settings → OpenID Connect shows it); the IAM OIDC provider must list it as a client id.",
            ],
        }
    }
}

/// Where `assume` takes the web identity token from, as found before any flag
/// is read (no audience yet): `cli/assume.rs` turns it into the engine's
/// [`crate::plan::TokenSource`] once the audience is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenLocation {
    /// A variable that holds the token (GitLab's `id_tokens`, CircleCI, Bitbucket, `--token-env`).
    Env(String),
    /// A file that holds the token (`--token-file`, `AWS_WEB_IDENTITY_TOKEN_FILE`).
    File(PathBuf),
    /// GitHub's token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL` / `_TOKEN`).
    GitHubRequest,
    /// `buildkite-agent oidc request-token --audience …`.
    BuildkiteAgent,
}

impl TokenLocation {
    /// Says where the token came from, for the log line (never the token).
    pub fn describe(&self) -> String {
        match self {
            TokenLocation::Env(name) => format!("${name}"),
            TokenLocation::File(path) => path.display().to_string(),
            TokenLocation::GitHubRequest => "GitHub's token endpoint".into(),
            TokenLocation::BuildkiteAgent => "buildkite-agent oidc request-token".into(),
        }
    }
}

fn non_empty<'a>(env: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

/// Finds the token place a detected CI (or an SDK-style environment) offers,
/// without reading it. `None` means nothing is there; the caller explains it
/// with [`Ci::missing_token_help`].
pub fn find_token(ci: Option<Ci>, env: &HashMap<String, String>) -> Option<TokenLocation> {
    let from_ci = match ci {
        Some(Ci::GitHub) => (non_empty(env, "ACTIONS_ID_TOKEN_REQUEST_URL").is_some()
            && non_empty(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN").is_some())
        .then_some(TokenLocation::GitHubRequest),
        Some(Ci::GitLab) => {
            non_empty(env, GITLAB_TOKEN_VAR).map(|_| TokenLocation::Env(GITLAB_TOKEN_VAR.into()))
        }
        Some(Ci::CircleCi) => ["CIRCLE_OIDC_TOKEN_V2", "CIRCLE_OIDC_TOKEN"]
            .into_iter()
            .find(|n| non_empty(env, n).is_some())
            .map(|n| TokenLocation::Env(n.into())),
        Some(Ci::Bitbucket) => non_empty(env, "BITBUCKET_STEP_OIDC_TOKEN")
            .map(|_| TokenLocation::Env("BITBUCKET_STEP_OIDC_TOKEN".into())),
        Some(Ci::Buildkite) => Some(TokenLocation::BuildkiteAgent),
        None => None,
    };
    // The SDKs' own convention (EKS service accounts, any pod or host set up
    // for web identity) when the CI offers nothing.
    from_ci.or_else(|| {
        non_empty(env, "AWS_WEB_IDENTITY_TOKEN_FILE").map(|f| TokenLocation::File(f.into()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_env::env;

    #[test]
    fn detects_each_ci_and_its_token_place() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Ci, Option<TokenLocation>);
        let cases: [Case; 7] = [
            (
                &[
                    ("GITHUB_ACTIONS", "true"),
                    ("ACTIONS_ID_TOKEN_REQUEST_URL", "u"),
                    ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t"),
                ],
                Ci::GitHub,
                Some(TokenLocation::GitHubRequest),
            ),
            (&[("GITHUB_ACTIONS", "true")], Ci::GitHub, None),
            (
                &[("GITLAB_CI", "true"), (GITLAB_TOKEN_VAR, "x")],
                Ci::GitLab,
                Some(TokenLocation::Env(GITLAB_TOKEN_VAR.into())),
            ),
            (
                &[
                    ("CIRCLECI", "true"),
                    ("CIRCLE_OIDC_TOKEN", "a"),
                    ("CIRCLE_OIDC_TOKEN_V2", "b"),
                ],
                Ci::CircleCi,
                Some(TokenLocation::Env("CIRCLE_OIDC_TOKEN_V2".into())),
            ),
            (
                &[("CIRCLECI", "true"), ("CIRCLE_OIDC_TOKEN", "a")],
                Ci::CircleCi,
                Some(TokenLocation::Env("CIRCLE_OIDC_TOKEN".into())),
            ),
            (
                &[("BUILDKITE", "true")],
                Ci::Buildkite,
                Some(TokenLocation::BuildkiteAgent),
            ),
            (
                &[
                    ("BITBUCKET_BUILD_NUMBER", "7"),
                    ("AWS_WEB_IDENTITY_TOKEN_FILE", "/f"),
                ],
                Ci::Bitbucket,
                Some(TokenLocation::File("/f".into())),
            ),
        ];
        for (vars, ci, source) in cases {
            let e = env(vars);
            assert_eq!(Ci::detect(&e), Some(ci), "{vars:?}");
            assert_eq!(find_token(Some(ci), &e), source, "{vars:?}");
        }
        assert_eq!(Ci::detect(&env(&[])), None);
        assert_eq!(
            find_token(
                None,
                &env(&[(
                    "AWS_WEB_IDENTITY_TOKEN_FILE",
                    "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
                )])
            ),
            Some(TokenLocation::File(
                "/var/run/secrets/eks.amazonaws.com/serviceaccount/token".into()
            ))
        );
    }

    #[test]
    fn issuers_and_broader_subjects() {
        let cases = [
            (
                "https://token.actions.githubusercontent.com",
                "repo:o/r:ref:refs/heads/main",
                Ci::GitHub,
                "repo:o/r:*",
            ),
            (
                "https://gitlab.example.com",
                "project_path:g/sub/p:ref_type:branch:ref:main",
                Ci::GitLab,
                "project_path:g/sub/p:*",
            ),
            (
                "https://oidc.circleci.com/org/O",
                "org/O/project/P/user/U/vcs-origin/github.com/o/r/vcs-ref/refs/heads/main",
                Ci::CircleCi,
                "org/O/project/P/user/*",
            ),
            (
                "https://agent.buildkite.com",
                "organization:acme:pipeline:app:ref:refs/heads/main:commit:abc:step:deploy",
                Ci::Buildkite,
                "organization:acme:pipeline:app:*",
            ),
            (
                "https://api.bitbucket.org/2.0/workspaces/ws/pipelines-config/identity/oidc",
                "{r-1}:{s-2}",
                Ci::Bitbucket,
                "{r-1}:*",
            ),
        ];
        for (iss, sub, ci, broader) in cases {
            assert_eq!(Ci::from_claims(Some(iss), Some(sub)), Some(ci), "{iss}");
            assert_eq!(ci.broader_subject(sub).unwrap().0, broader);
            assert_eq!(Ci::from_id(ci.id()), Some(ci));
        }
        assert_eq!(
            Ci::from_claims(Some("https://idp.example.com"), Some("x")),
            None
        );
    }
}
