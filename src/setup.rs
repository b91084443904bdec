//! `keyless-aws setup`: prints the AWS side of the set-up for one repository:
//! the trust policy, the AWS CLI commands and the Terraform that create the
//! OIDC provider and a role this action can assume.

use crate::explain::GITHUB_ISSUER;

pub const USAGE: &str = "Usage: keyless-aws setup --repo OWNER/REPO [--branch NAME | --tag NAME | --environment NAME | --pull-request | --any] [--role-name NAME] [--account-id ID] [--audience AUD]

Prints the IAM trust policy, AWS CLI commands and Terraform that let the
workflows of OWNER/REPO assume a role with this action. Without a branch, tag,
environment or --any it allows the default branch `main` only.";

#[derive(Debug, PartialEq)]
pub struct Setup {
    pub repo: String,
    pub subject: String,
    pub role_name: String,
    pub account_id: String,
    pub audience: String,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn valid_ref(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./*".contains(c))
}

pub fn parse(args: &[String]) -> Result<Setup, String> {
    let mut repo = None;
    let mut subject_kind: Option<(String, String)> = None;
    let mut role_name = "github-actions-deploy".to_owned();
    let mut account_id = "123456789012".to_owned();
    let mut audience = crate::inputs::DEFAULT_AUDIENCE.to_owned();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--repo" => repo = Some(value("--repo")?),
            "--branch" => subject_kind = Some(("branch".into(), value("--branch")?)),
            "--tag" => subject_kind = Some(("tag".into(), value("--tag")?)),
            "--environment" => subject_kind = Some(("environment".into(), value("--environment")?)),
            "--pull-request" => subject_kind = Some(("pull_request".into(), String::new())),
            "--any" => subject_kind = Some(("any".into(), String::new())),
            "--role-name" => role_name = value("--role-name")?,
            "--account-id" => account_id = value("--account-id")?,
            "--audience" => audience = value("--audience")?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let repo = repo.ok_or("--repo OWNER/REPO is required")?;
    let ok_repo = repo
        .split_once('/')
        .is_some_and(|(o, r)| valid_name(o) && valid_name(r));
    if !ok_repo {
        return Err(format!("--repo {repo:?} is not OWNER/REPO"));
    }
    if !(account_id.len() == 12 && account_id.chars().all(|c| c.is_ascii_digit())) {
        return Err("--account-id must be 12 digits".into());
    }
    if !(1..=64).contains(&role_name.len())
        || !role_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    {
        return Err("--role-name must be 1–64 of letters, digits and +=,.@_-".into());
    }
    if audience.is_empty() || !audience.chars().all(|c| c.is_ascii_graphic()) {
        return Err("--audience must be printable ASCII without spaces".into());
    }
    let subject = match subject_kind {
        None => format!("repo:{repo}:ref:refs/heads/main"),
        Some((kind, name)) => match kind.as_str() {
            "branch" if valid_ref(&name) => format!("repo:{repo}:ref:refs/heads/{name}"),
            "tag" if valid_ref(&name) => format!("repo:{repo}:ref:refs/tags/{name}"),
            "environment" if valid_ref(&name) => format!("repo:{repo}:environment:{name}"),
            "pull_request" => format!("repo:{repo}:pull_request"),
            "any" => format!("repo:{repo}:*"),
            _ => {
                return Err(format!(
                    "--{kind} {name:?} has characters a ref or environment cannot have"
                ))
            }
        },
    };
    Ok(Setup {
        repo,
        subject,
        role_name,
        account_id,
        audience,
    })
}

pub fn render(s: &Setup) -> String {
    let host = GITHUB_ISSUER.trim_start_matches("https://");
    let op = if s.subject.contains('*') {
        "StringLike"
    } else {
        "StringEquals"
    };
    let policy = format!(
        r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Effect": "Allow",
      "Principal": {{ "Federated": "arn:aws:iam::{account}:oidc-provider/{host}" }},
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {{
        "StringEquals": {{ "{host}:aud": "{aud}" }},
        "{op}": {{ "{host}:sub": "{sub}" }}
      }}
    }}
  ]
}}"#,
        account = s.account_id,
        aud = s.audience,
        sub = s.subject,
    );
    format!(
        "# Trust policy for role `{role}` (save as trust-policy.json)\n{policy}\n\n\
# AWS CLI (once per account: the OIDC provider; then the role)\n\
aws iam create-open-id-connect-provider --url {issuer} --client-id-list {aud}\n\
aws iam create-role --role-name {role} --max-session-duration 3600 --assume-role-policy-document file://trust-policy.json\n\
# then attach what the workflow may do, e.g.:\n\
# aws iam attach-role-policy --role-name {role} --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess\n\n\
# Terraform\n\
resource \"aws_iam_openid_connect_provider\" \"github\" {{\n  url            = \"{issuer}\"\n  client_id_list = [\"{aud}\"]\n}}\n\n\
data \"aws_iam_policy_document\" \"github_trust\" {{\n  statement {{\n    actions = [\"sts:AssumeRoleWithWebIdentity\"]\n    principals {{\n      type        = \"Federated\"\n      identifiers = [aws_iam_openid_connect_provider.github.arn]\n    }}\n    condition {{\n      test     = \"StringEquals\"\n      variable = \"{host}:aud\"\n      values   = [\"{aud}\"]\n    }}\n    condition {{\n      test     = \"{op}\"\n      variable = \"{host}:sub\"\n      values   = [\"{sub}\"]\n    }}\n  }}\n}}\n\n\
resource \"aws_iam_role\" \"{tf_role}\" {{\n  name               = \"{role}\"\n  assume_role_policy = data.aws_iam_policy_document.github_trust.json\n}}\n\n\
# Workflow step\n\
permissions:\n  id-token: write\n  contents: read\nsteps:\n  - uses: OWNER/keyless-aws@v1\n    with:\n      role-to-assume: arn:aws:iam::{account}:role/{role}\n      aws-region: us-east-1\n",
        role = s.role_name,
        issuer = GITHUB_ISSUER,
        aud = s.audience,
        host = host,
        op = op,
        sub = s.subject,
        account = s.account_id,
        tf_role = s.role_name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn subjects() {
        assert_eq!(
            parse(&args(&["--repo", "o/r"])).unwrap().subject,
            "repo:o/r:ref:refs/heads/main"
        );
        assert_eq!(
            parse(&args(&["--repo", "o/r", "--environment", "prod"]))
                .unwrap()
                .subject,
            "repo:o/r:environment:prod"
        );
        assert_eq!(
            parse(&args(&["--repo", "o/r", "--tag", "v*"]))
                .unwrap()
                .subject,
            "repo:o/r:ref:refs/tags/v*"
        );
        assert!(parse(&args(&["--repo", "o"])).is_err());
        assert!(parse(&args(&["--repo", "o/r", "--branch", "a\"b"])).is_err());
    }

    #[test]
    fn policy_is_valid_json() {
        let out = render(
            &parse(&args(&[
                "--repo",
                "o/r",
                "--any",
                "--account-id",
                "111111111111",
            ]))
            .unwrap(),
        );
        let start = out.find('{').unwrap();
        let end = out.find("\n}\n").unwrap() + 2;
        let policy: serde_json::Value = serde_json::from_str(&out[start..end]).unwrap();
        assert_eq!(
            policy["Statement"][0]["Condition"]["StringLike"]
                ["token.actions.githubusercontent.com:sub"],
            "repo:o/r:*"
        );
        assert!(out.contains("create-open-id-connect-provider"));
    }
}
