//! `keyless-aws setup --ci …`: reads the flags into a validated [`Setup`].
//! Each CI has its own required flags; a flag that does not apply to the
//! chosen CI is an error rather than silently ignored.

use super::args::{usage_error, value};
use crate::aws_names::{AccountId, RoleName};
use crate::ci::Ci;
use crate::setup::{render, Setup};
use lexopt::prelude::*;
use std::ffi::OsString;
use std::process::ExitCode;

pub const HELP: &str = "\
Usage: keyless-aws setup [--ci github|gitlab|circleci|buildkite|bitbucket] FLAGS…

Prints the IAM OIDC provider, a trust policy for one project of that CI, the
AWS CLI commands and the Terraform that create them, and the job snippet that
uses the role. Nothing is sent anywhere.

  --ci github (default)   --repo OWNER/REPO
        [--branch NAME | --tag NAME | --environment NAME | --pull-request | --any]
        [--pin-ids --repository-id ID]  pin the repository by its immutable id
                                (`gh api repos/OWNER/REPO --jq .id`); the sub
                                condition then matches both GitHub sub forms
  --ci gitlab             --project GROUP/PROJECT [--gitlab-url https://HOST]
        [--branch NAME | --tag NAME | --any]
  --ci circleci           --org-id UUID (--project-id UUID | --any)
  --ci buildkite          --organization SLUG --pipeline SLUG
        [--branch NAME | --tag NAME | --any]
  --ci bitbucket          --workspace SLUG --workspace-uuid UUID --repo-uuid UUID
        [--environment-uuid UUID]

  --abac                  one role for every repository of an owner, with the
        token's claims as session tags (Cognito identity pool): see
        `keyless-aws setup --abac --help`

Without --branch, --tag, --environment or --any a role admits the branch
`main` only. Names may contain `*` (e.g. --tag 'v*'), which makes the subject
condition StringLike.

Common flags:
  --role-name NAME    the role to create (default: github-actions-deploy for
                      GitHub, else CI-deploy with the CI's name, e.g. gitlab-deploy)
  --account-id ID     the 12-digit AWS account (default: 123456789012)
  --audience AUD      the token audience (default: sts.amazonaws.com; CircleCI:
                      the org id; Bitbucket: ari:cloud:bitbucket::workspace/UUID)
  -h, --help          this text";

/// Every flag `setup` knows, before it is checked against the chosen CI.
#[derive(Default)]
struct Flags {
    ci: Option<String>,
    repo: Option<String>,
    project: Option<String>,
    gitlab_url: Option<String>,
    org_id: Option<String>,
    project_id: Option<String>,
    organization: Option<String>,
    pipeline: Option<String>,
    workspace: Option<String>,
    workspace_uuid: Option<String>,
    repo_uuid: Option<String>,
    environment_uuid: Option<String>,
    /// `--branch`/`--tag`/`--environment`/`--pull-request`/`--any`, last one wins.
    scope: Option<(&'static str, String)>,
    role_name: Option<String>,
    account_id: Option<String>,
    audience: Option<String>,
    pin_ids: bool,
    repository_id: Option<String>,
}

pub fn main(args: &[OsString]) -> ExitCode {
    if args.iter().any(|a| a == "--abac") {
        return super::setup_abac::main(args);
    }
    match parse(args) {
        Ok(None) => {
            println!("{HELP}");
            ExitCode::SUCCESS
        }
        Ok(Some(setup)) => {
            print!("{}", render(&setup));
            ExitCode::SUCCESS
        }
        Err(problem) => usage_error("setup", &problem),
    }
}

/// `Ok(None)` for `--help`.
pub fn parse(args: &[OsString]) -> Result<Option<Setup>, String> {
    let mut f = Flags::default();
    let mut parser = lexopt::Parser::from_args(args.iter().cloned());
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let slot = match arg {
            Short('h') | Long("help") => return Ok(None),
            Long("pull-request") => {
                f.scope = Some(("pull-request", String::new()));
                continue;
            }
            Long("any") => {
                f.scope = Some(("any", String::new()));
                continue;
            }
            Long("pin-ids") => {
                f.pin_ids = true;
                continue;
            }
            Long("repository-id") => &mut f.repository_id,
            Long(kind @ ("branch" | "tag" | "environment")) => {
                let kind: &'static str = match kind {
                    "branch" => "branch",
                    "tag" => "tag",
                    _ => "environment",
                };
                f.scope = Some((kind, value(&mut parser, kind)?));
                continue;
            }
            Long("ci") => &mut f.ci,
            Long("repo") => &mut f.repo,
            Long("project") => &mut f.project,
            Long("gitlab-url") => &mut f.gitlab_url,
            Long("org-id") => &mut f.org_id,
            Long("project-id") => &mut f.project_id,
            Long("organization") => &mut f.organization,
            Long("pipeline") => &mut f.pipeline,
            Long("workspace") => &mut f.workspace,
            Long("workspace-uuid") => &mut f.workspace_uuid,
            Long("repo-uuid") => &mut f.repo_uuid,
            Long("environment-uuid") => &mut f.environment_uuid,
            Long("role-name") => &mut f.role_name,
            Long("account-id") => &mut f.account_id,
            Long("audience") => &mut f.audience,
            other => return Err(other.unexpected().to_string()),
        };
        let name = match &arg {
            Long(name) => name.to_string(),
            _ => String::new(),
        };
        *slot = Some(value(&mut parser, &name)?);
    }
    build(f).map(Some)
}

fn build(mut f: Flags) -> Result<Setup, String> {
    let ci = match f.ci.take() {
        None => Ci::GitHub,
        Some(id) => Ci::from_id(&id).ok_or_else(|| {
            format!("--ci {id:?} is not one of github, gitlab, circleci, buildkite, bitbucket")
        })?,
    };
    let account_id = AccountId::parse(f.account_id.take().as_deref().unwrap_or("123456789012"))
        .map_err(|problem| format!("--account-id: {problem}"))?;
    let role_name = f.role_name.take().unwrap_or_else(|| {
        format!(
            "{}-deploy",
            if ci == Ci::GitHub {
                "github-actions"
            } else {
                ci.id()
            }
        )
    });
    let role_name = RoleName::parse(&role_name).map_err(|problem| {
        format!("--role-name: {problem}; use 1–64 of letters, digits and +=,.@_-")
    })?;
    let audience = f.audience.take();
    if let Some(a) = &audience {
        if a.is_empty()
            || a.len() > 255
            || !a.chars().all(|c| c.is_ascii_graphic())
            || a.contains(['"', '\\', '\'', '$', '`'])
        {
            return Err(
                "--audience must be printable ASCII without spaces, quotes, `\\`, `$` or backticks"
                    .into(),
            );
        }
    }
    let repository_id = pinned_id(&mut f, ci)?;
    let (issuer, default_audience, mut subject, admits) = match ci {
        Ci::GitHub => github(&mut f)?,
        Ci::GitLab => gitlab(&mut f)?,
        Ci::CircleCi => circleci(&mut f)?,
        Ci::Buildkite => buildkite(&mut f)?,
        Ci::Bitbucket => bitbucket(&mut f)?,
    };
    // Whatever is left was given but means nothing for this CI.
    let leftovers = [
        ("--repo", f.repo.is_some()),
        ("--project", f.project.is_some()),
        ("--gitlab-url", f.gitlab_url.is_some()),
        ("--org-id", f.org_id.is_some()),
        ("--project-id", f.project_id.is_some()),
        ("--organization", f.organization.is_some()),
        ("--pipeline", f.pipeline.is_some()),
        ("--workspace", f.workspace.is_some()),
        ("--workspace-uuid", f.workspace_uuid.is_some()),
        ("--repo-uuid", f.repo_uuid.is_some()),
        ("--environment-uuid", f.environment_uuid.is_some()),
    ];
    if let Some((flag, _)) = leftovers.iter().find(|(_, given)| *given) {
        return Err(format!("{flag} does not apply to --ci {}", ci.id()));
    }
    if let Some((kind, _)) = f.scope {
        return Err(format!("--{kind} does not apply to --ci {}", ci.id()));
    }
    if repository_id.is_some() {
        subject = either_form(&subject);
    }
    Ok(Setup {
        ci,
        issuer,
        audience: audience.unwrap_or(default_audience),
        subject,
        role_name,
        account_id,
        admits,
        repository_id,
    })
}

/// `--pin-ids --repository-id ID` (GitHub only): the id, digits only.
fn pinned_id(f: &mut Flags, ci: Ci) -> Result<Option<String>, String> {
    let id = f.repository_id.take();
    match (f.pin_ids, id) {
        (false, None) => Ok(None),
        (false, Some(_)) => Err("--repository-id goes with --pin-ids".into()),
        (true, _) if ci != Ci::GitHub => Err(format!("--pin-ids does not apply to --ci {}", ci.id())),
        (true, None) => Err("--pin-ids needs --repository-id ID (the repository's numeric id: `gh api repos/OWNER/REPO --jq .id`)".into()),
        (true, Some(id)) if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(id)),
        (true, Some(id)) => Err(format!("--repository-id {id:?} is not a numeric repository id")),
    }
}

/// A GitHub subject that matches both `sub` forms: `*` after the owner and
/// after the repository admits the ids GitHub appends in the ID-based form
/// (whatever their separator); the `repository_id` condition then decides
/// which repository, so the wider names admit nothing more.
fn either_form(subject: &str) -> String {
    let Some(rest) = subject.strip_prefix("repo:") else {
        return subject.to_owned();
    };
    let (repo, tail) = rest.split_once(':').unwrap_or((rest, ""));
    let Some((owner, name)) = repo.split_once('/') else {
        return subject.to_owned();
    };
    format!("repo:{owner}*/{name}*:{tail}")
}

type Parts = (String, String, String, String);
const STS: &str = "sts.amazonaws.com";

fn required(value: Option<String>, flag: &str, ci: Ci, what: &str) -> Result<String, String> {
    value.ok_or_else(|| format!("--ci {} needs {flag} {what}", ci.id()))
}

fn github(f: &mut Flags) -> Result<Parts, String> {
    let repo = required(f.repo.take(), "--repo", Ci::GitHub, "OWNER/REPO")?;
    let ok = repo
        .split_once('/')
        .is_some_and(|(o, r)| valid_name(o) && valid_name(r));
    if !ok {
        return Err(format!("--repo {repo:?} is not OWNER/REPO"));
    }
    let (subject, admits) = match f.scope.take() {
        None => (
            format!("repo:{repo}:ref:refs/heads/main"),
            "pushes to the branch main".to_owned(),
        ),
        Some(("branch", name)) => (
            format!("repo:{repo}:ref:refs/heads/{}", valid_ref("branch", &name)?),
            format!("the branch {name}"),
        ),
        Some(("tag", name)) => (
            format!("repo:{repo}:ref:refs/tags/{}", valid_ref("tag", &name)?),
            format!("the tag {name}"),
        ),
        Some(("environment", name)) => (
            format!(
                "repo:{repo}:environment:{}",
                valid_ref("environment", &name)?
            ),
            format!("jobs in the environment {name}"),
        ),
        Some(("pull-request", _)) => (format!("repo:{repo}:pull_request"), "pull requests".into()),
        Some((_, _)) => (
            format!("repo:{repo}:*"),
            "every branch, tag, environment and pull request".into(),
        ),
    };
    Ok((crate::ci::GITHUB_ISSUER.into(), STS.into(), subject, admits))
}

fn gitlab(f: &mut Flags) -> Result<Parts, String> {
    let project = required(f.project.take(), "--project", Ci::GitLab, "GROUP/PROJECT")?;
    let segments: Vec<&str> = project.split('/').collect();
    if segments.len() < 2 || !segments.iter().all(|s| valid_name(s)) {
        return Err(format!(
            "--project {project:?} is not GROUP/PROJECT (subgroups allowed: GROUP/SUB/PROJECT)"
        ));
    }
    let issuer = match f.gitlab_url.take() {
        None => "https://gitlab.com".to_owned(),
        Some(url) => issuer_url(&url, "--gitlab-url")?,
    };
    let (subject, admits) = match f.scope.take() {
        None => (format!("project_path:{project}:ref_type:branch:ref:main"), "the branch main".to_owned()),
        Some(("branch", name)) => (format!("project_path:{project}:ref_type:branch:ref:{}", valid_ref("branch", &name)?), format!("the branch {name}")),
        Some(("tag", name)) => (format!("project_path:{project}:ref_type:tag:ref:{}", valid_ref("tag", &name)?), format!("the tag {name}")),
        Some(("any", _)) => (format!("project_path:{project}:*"), "every branch and tag".into()),
        Some((kind, _)) => return Err(format!("--{kind} does not apply to --ci gitlab (its default `sub` names only the project and the ref)")),
    };
    Ok((issuer, STS.into(), subject, admits))
}

fn circleci(f: &mut Flags) -> Result<Parts, String> {
    let org = uuid(
        required(
            f.org_id.take(),
            "--org-id",
            Ci::CircleCi,
            "UUID (Organization Settings → Overview)",
        )?,
        "--org-id",
    )?;
    let (subject, admits) = match (f.project_id.take(), f.scope.take()) {
        (Some(project), None) => {
            let project = uuid(project, "--project-id")?;
            (format!("org/{org}/project/{project}/user/*"), "every job of the project".to_owned())
        }
        (None, Some(("any", _))) => (format!("org/{org}/*"), "every job of every project of the organization".to_owned()),
        (None, None) => return Err("--ci circleci needs --project-id UUID (Project Settings → Overview), or --any for every project of the organization".into()),
        (Some(_), Some((kind, _))) | (None, Some((kind, _))) => return Err(format!("--{kind} does not apply to --ci circleci (its `sub` names the project, not a branch)")),
    };
    Ok((
        format!("https://oidc.circleci.com/org/{org}"),
        org,
        subject,
        admits,
    ))
}

fn buildkite(f: &mut Flags) -> Result<Parts, String> {
    let org = required(
        f.organization.take(),
        "--organization",
        Ci::Buildkite,
        "SLUG",
    )?;
    let pipeline = required(f.pipeline.take(), "--pipeline", Ci::Buildkite, "SLUG")?;
    for (flag, v) in [("--organization", &org), ("--pipeline", &pipeline)] {
        if !valid_name(v) {
            return Err(format!(
                "{flag} {v:?} is not a slug (letters, digits, - _ .)"
            ));
        }
    }
    let head = format!("organization:{org}:pipeline:{pipeline}");
    let (subject, admits) = match f.scope.take() {
        None => (
            format!("{head}:ref:refs/heads/main:commit:*:step:*"),
            "every step of builds of the branch main".to_owned(),
        ),
        Some(("branch", name)) => (
            format!(
                "{head}:ref:refs/heads/{}:commit:*:step:*",
                valid_ref("branch", &name)?
            ),
            format!("every step of builds of the branch {name}"),
        ),
        Some(("tag", name)) => (
            format!(
                "{head}:ref:refs/tags/{}:commit:*:step:*",
                valid_ref("tag", &name)?
            ),
            format!("every step of builds of the tag {name}"),
        ),
        Some(("any", _)) => (format!("{head}:*"), "every build of the pipeline".into()),
        Some((kind, _)) => return Err(format!("--{kind} does not apply to --ci buildkite")),
    };
    Ok((
        crate::ci::BUILDKITE_ISSUER.into(),
        STS.into(),
        subject,
        admits,
    ))
}

fn bitbucket(f: &mut Flags) -> Result<Parts, String> {
    let workspace = required(f.workspace.take(), "--workspace", Ci::Bitbucket, "SLUG")?;
    if !valid_name(&workspace) {
        return Err(format!("--workspace {workspace:?} is not a workspace slug"));
    }
    let hint = "(Repository settings → Pipelines → OpenID Connect)";
    let ws_uuid = uuid(
        required(
            f.workspace_uuid.take(),
            "--workspace-uuid",
            Ci::Bitbucket,
            &format!("UUID {hint}"),
        )?,
        "--workspace-uuid",
    )?;
    let repo_uuid = uuid(
        required(
            f.repo_uuid.take(),
            "--repo-uuid",
            Ci::Bitbucket,
            &format!("UUID {hint}"),
        )?,
        "--repo-uuid",
    )?;
    if let Some((kind, _)) = f.scope.take() {
        return Err(format!("--{kind} does not apply to --ci bitbucket (its `sub` names the repository, deployment environment and step; use --environment-uuid)"));
    }
    let (subject, admits) = match f.environment_uuid.take() {
        None => (
            format!("{{{repo_uuid}}}:*"),
            "every step of the repository".to_owned(),
        ),
        Some(env) => {
            let env = uuid(env, "--environment-uuid")?;
            (
                format!("{{{repo_uuid}}}:{{{env}}}:*"),
                "deployment steps to that environment".to_owned(),
            )
        }
    };
    Ok((
        format!(
            "https://api.bitbucket.org/2.0/workspaces/{workspace}/pipelines-config/identity/oidc"
        ),
        format!("ari:cloud:bitbucket::workspace/{ws_uuid}"),
        subject,
        admits,
    ))
}

/// A UUID, braces (as Bitbucket shows them) removed, lower-cased.
fn uuid(value: String, flag: &str) -> Result<String, String> {
    let bare = value
        .trim_start_matches('{')
        .trim_end_matches('}')
        .to_ascii_lowercase();
    let groups: Vec<usize> = bare.split('-').map(str::len).collect();
    if groups == [8, 4, 4, 4, 12] && bare.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        Ok(bare)
    } else {
        Err(format!(
            "{flag} {value:?} is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
        ))
    }
}

fn issuer_url(value: &str, flag: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("{flag} {value:?} is not a URL ({e})"))?;
    let plain = url.scheme() == "https"
        && url.host_str().is_some()
        && url.port().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url
            .path()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if !plain {
        return Err(format!("{flag} {value:?} must be https://HOST[/PATH] without port, query or credentials (IAM's rule for provider URLs)"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn valid_ref<'a>(kind: &str, s: &'a str) -> Result<&'a str, String> {
    let ok = !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./*".contains(c));
    if ok {
        Ok(s)
    } else {
        Err(format!(
            "--{kind} {s:?} has characters a ref or environment cannot have"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::strict_json;

    fn run(list: &[&str]) -> Result<Setup, String> {
        let args: Vec<OsString> = list.iter().map(OsString::from).collect();
        parse(&args).map(|s| s.expect("not --help"))
    }

    const ORG: &str = "0b6f8a52-2f4e-4c3c-9d1a-3e5b7c9d1f20";
    const PROJ: &str = "a1b2c3d4-e5f6-4789-abcd-ef0123456789";
    const REPO: &str = "{11111111-2222-4333-8444-555555555555}";
    const WS: &str = "{99999999-8888-4777-8666-555555555555}";

    /// Every variant of every CI: the policy parses with duplicate keys
    /// refused and carries both the `aud` and the `sub` condition.
    #[test]
    fn every_variant_parses_strictly_with_both_conditions() {
        let cases: Vec<(Vec<&str>, &str, &str, &str)> = vec![
            (vec!["--repo", "o/r"], "token.actions.githubusercontent.com", "sts.amazonaws.com", "repo:o/r:ref:refs/heads/main"),
            (vec!["--repo=o/r", "--branch=dev"], "token.actions.githubusercontent.com", "sts.amazonaws.com", "repo:o/r:ref:refs/heads/dev"),
            (vec!["--ci", "github", "--repo", "o/r", "--tag", "v*"], "token.actions.githubusercontent.com", "sts.amazonaws.com", "repo:o/r:ref:refs/tags/v*"),
            (vec!["--repo", "o/r", "--environment", "prod"], "token.actions.githubusercontent.com", "sts.amazonaws.com", "repo:o/r:environment:prod"),
            (vec!["--repo", "o/r", "--pull-request"], "token.actions.githubusercontent.com", "sts.amazonaws.com", "repo:o/r:pull_request"),
            (vec!["--repo", "o/r", "--any", "--audience", "custom"], "token.actions.githubusercontent.com", "custom", "repo:o/r:*"),
            (vec!["--ci=gitlab", "--project", "g/sub/p"], "gitlab.com", "sts.amazonaws.com", "project_path:g/sub/p:ref_type:branch:ref:main"),
            (vec!["--ci", "gitlab", "--project", "g/p", "--tag", "v1.0", "--gitlab-url", "https://git.example.com/"], "git.example.com", "sts.amazonaws.com", "project_path:g/p:ref_type:tag:ref:v1.0"),
            (vec!["--ci", "gitlab", "--project", "g/p", "--any"], "gitlab.com", "sts.amazonaws.com", "project_path:g/p:*"),
            (vec!["--ci", "circleci", "--org-id", ORG, "--project-id", PROJ], "oidc.circleci.com/org/0b6f8a52-2f4e-4c3c-9d1a-3e5b7c9d1f20", ORG, "org/0b6f8a52-2f4e-4c3c-9d1a-3e5b7c9d1f20/project/a1b2c3d4-e5f6-4789-abcd-ef0123456789/user/*"),
            (vec!["--ci", "circleci", "--org-id", ORG, "--any"], "oidc.circleci.com/org/0b6f8a52-2f4e-4c3c-9d1a-3e5b7c9d1f20", ORG, "org/0b6f8a52-2f4e-4c3c-9d1a-3e5b7c9d1f20/*"),
            (vec!["--ci", "buildkite", "--organization", "acme", "--pipeline", "app"], "agent.buildkite.com", "sts.amazonaws.com", "organization:acme:pipeline:app:ref:refs/heads/main:commit:*:step:*"),
            (vec!["--ci", "buildkite", "--organization", "acme", "--pipeline", "app", "--any"], "agent.buildkite.com", "sts.amazonaws.com", "organization:acme:pipeline:app:*"),
            (vec!["--ci", "bitbucket", "--workspace", "ws", "--workspace-uuid", WS, "--repo-uuid", REPO], "api.bitbucket.org/2.0/workspaces/ws/pipelines-config/identity/oidc", "ari:cloud:bitbucket::workspace/99999999-8888-4777-8666-555555555555", "{11111111-2222-4333-8444-555555555555}:*"),
            (vec!["--ci", "bitbucket", "--workspace", "ws", "--workspace-uuid", WS, "--repo-uuid", REPO, "--environment-uuid", "{AAAAAAAA-2222-4333-8444-555555555555}"], "api.bitbucket.org/2.0/workspaces/ws/pipelines-config/identity/oidc", "ari:cloud:bitbucket::workspace/99999999-8888-4777-8666-555555555555", "{11111111-2222-4333-8444-555555555555}:{aaaaaaaa-2222-4333-8444-555555555555}:*"),
        ];
        for (args, host, aud, sub) in cases {
            let setup = run(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            let out = render(&setup);
            let start = out.find("\n{\n").unwrap() + 1;
            let end = out.find("\n}\n").unwrap() + 2;
            let policy = strict_json::parse(&out[start..end])
                .unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"));
            let statement = &policy["Statement"][0];
            assert_eq!(
                statement["Principal"]["Federated"],
                format!("arn:aws:iam::123456789012:oidc-provider/{host}"),
                "{args:?}"
            );
            let cond = statement["Condition"].as_object().unwrap();
            assert_eq!(cond["StringEquals"][format!("{host}:aud")], aud, "{args:?}");
            let op = if sub.contains('*') {
                "StringLike"
            } else {
                "StringEquals"
            };
            assert_eq!(cond[op][format!("{host}:sub")], sub, "{args:?}\n{out}");
            assert_eq!(
                cond.len(),
                if op == "StringLike" { 2 } else { 1 },
                "{args:?}"
            );
            assert!(
                out.contains(&format!("--url https://{host} --client-id-list {aud}")),
                "{args:?}\n{out}"
            );
            assert!(
                out.contains(&format!("variable = \"{host}:sub\"")),
                "{args:?}"
            );
        }
    }

    /// `--pin-ids` needs a numeric `--repository-id`, is GitHub's only, and
    /// turns the subject into a pattern that matches both `sub` forms.
    #[test]
    fn pin_ids_is_checked_and_widens_only_the_names() {
        let s = run(&[
            "--repo",
            "o/r",
            "--tag",
            "v1",
            "--pin-ids",
            "--repository-id",
            "42",
        ])
        .unwrap();
        assert_eq!(s.subject, "repo:o*/r*:ref:refs/tags/v1");
        assert_eq!(s.repository_id.as_deref(), Some("42"));
        for (args, says) in [
            (
                &["--repo", "o/r", "--pin-ids"][..],
                "--pin-ids needs --repository-id",
            ),
            (
                &["--repo", "o/r", "--repository-id", "42"][..],
                "goes with --pin-ids",
            ),
            (
                &["--repo", "o/r", "--pin-ids", "--repository-id", "4x"][..],
                "not a numeric",
            ),
            (
                &[
                    "--ci",
                    "gitlab",
                    "--project",
                    "g/p",
                    "--pin-ids",
                    "--repository-id",
                    "1",
                ][..],
                "--pin-ids does not apply to --ci gitlab",
            ),
        ] {
            let e = run(args).unwrap_err();
            assert!(e.contains(says), "{args:?}: {e}");
        }
    }

    #[test]
    fn missing_and_misplaced_flags_are_named() {
        let cases: [(&[&str], &str); 12] = [
            (&[], "--ci github needs --repo OWNER/REPO"),
            (
                &["--ci", "gitlab"],
                "--ci gitlab needs --project GROUP/PROJECT",
            ),
            (&["--ci", "circleci"], "--ci circleci needs --org-id UUID"),
            (
                &["--ci", "circleci", "--org-id", ORG],
                "--ci circleci needs --project-id UUID",
            ),
            (
                &["--ci", "buildkite", "--organization", "acme"],
                "--ci buildkite needs --pipeline SLUG",
            ),
            (
                &[
                    "--ci",
                    "bitbucket",
                    "--workspace",
                    "ws",
                    "--repo-uuid",
                    REPO,
                ],
                "--ci bitbucket needs --workspace-uuid UUID",
            ),
            (
                &["--ci", "gitlab", "--project", "g/p", "--repo", "o/r"],
                "--repo does not apply to --ci gitlab",
            ),
            (
                &[
                    "--ci",
                    "gitlab",
                    "--project",
                    "g/p",
                    "--environment",
                    "prod",
                ],
                "--environment does not apply to --ci gitlab",
            ),
            (&["--ci", "jenkins"], "--ci \"jenkins\" is not one of"),
            (&["--repo", "o"], "is not OWNER/REPO"),
            (&["--repo", "o/r", "--branch", "a\"b"], "has characters"),
            (&["--repo", "o/r", "--bogus"], "invalid option '--bogus'"),
        ];
        for (args, expected) in cases {
            let err = run(args).unwrap_err();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
        assert!(run(&["--ci", "circleci", "--org-id", "nope", "--any"])
            .unwrap_err()
            .contains("--org-id \"nope\" is not a UUID"));
        assert!(parse(&[OsString::from("--help")]).unwrap().is_none());
    }
}
