//! `keyless-aws setup`: prints the AWS side of the set-up for one CI project:
//! the trust policy, the AWS CLI commands and the Terraform that create the
//! OIDC provider and a role its jobs can assume. The flags are read in
//! `cli/setup.rs`; this module holds the validated request and the rendering.

use crate::aws_names::{AccountId, RoleName};
use crate::ci::Ci;
use crate::text::{hcl_string, json_string as json, shell_word};

/// A validated request: every field is safe to place in JSON, shell and HCL.
#[derive(Debug, PartialEq)]
pub struct Setup {
    pub ci: Ci,
    /// The issuer URL, `https://…`, exactly as the tokens' `iss`.
    pub issuer: String,
    pub audience: String,
    /// The `sub` value or `StringLike` pattern the role admits.
    pub subject: String,
    pub role_name: RoleName,
    pub account_id: AccountId,
    /// What the subject admits, in words, for the comment above the policy.
    pub admits: String,
    /// `--pin-ids`: the GitHub repository's immutable id, required by the
    /// `repository_id` condition key; the subject is then a pattern matching
    /// both of GitHub's `sub` forms (name-based and ID-based).
    pub repository_id: Option<String>,
}

impl Setup {
    /// The issuer without its scheme: the provider's ARN suffix and the prefix
    /// of its condition keys (`gitlab.com:sub`).
    pub fn host(&self) -> &str {
        self.issuer.trim_start_matches("https://")
    }

    /// `StringLike` when the subject is a pattern; `StringEquals` otherwise.
    pub fn subject_operator(&self) -> &'static str {
        if self.subject.contains('*') {
            "StringLike"
        } else {
            "StringEquals"
        }
    }

    /// The trust policy. `aud` and `sub` share one `StringEquals` object when
    /// both are exact: a JSON object with the same key twice is read by most
    /// parsers as just the last one, which would silently drop a condition.
    pub fn trust_policy(&self) -> String {
        let host = self.host();
        let mut aud = format!("\"{host}:aud\": {}", json(&self.audience));
        if let Some(id) = &self.repository_id {
            aud.push_str(&format!(
                ",\n          \"{host}:repository_id\": {}",
                json(id)
            ));
        }
        let sub = format!("\"{host}:sub\": {}", json(&self.subject));
        let condition = if self.subject_operator() == "StringEquals" {
            format!("        \"StringEquals\": {{\n          {aud},\n          {sub}\n        }}")
        } else {
            format!("        \"StringEquals\": {{\n          {aud}\n        }},\n        \"StringLike\": {{\n          {sub}\n        }}")
        };
        format!(
            r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Effect": "Allow",
      "Principal": {{ "Federated": "arn:aws:iam::{account}:oidc-provider/{host}" }},
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {{
{condition}
      }}
    }}
  ]
}}"#,
            account = self.account_id,
        )
    }

    fn role_arn(&self) -> String {
        format!("arn:aws:iam::{}:role/{}", self.account_id, self.role_name)
    }

    /// How a job of this CI uses the role.
    fn job_snippet(&self) -> String {
        let arn = self.role_arn();
        let assume = format!("eval \"$(keyless-aws assume --role-arn {arn} --region us-east-1)\"");
        match self.ci {
            Ci::GitHub => format!("# Workflow step\npermissions:\n  id-token: write\n  contents: read\nsteps:\n  - uses: OWNER/keyless-aws@v1\n    with:\n      role-to-assume: {arn}\n      aws-region: us-east-1\n"),
            Ci::GitLab => format!("# .gitlab-ci.yml job\ndeploy:\n  id_tokens:\n    {var}:\n      aud: {aud}\n  script:\n    - {assume}\n    - aws sts get-caller-identity\n", var = crate::ci::GITLAB_TOKEN_VAR, aud = self.audience),
            Ci::CircleCi => format!("# .circleci/config.yml job step (the job must use a context, or OIDC must be on in Project Settings)\n      - run: |\n          {assume}\n          aws sts get-caller-identity\n"),
            Ci::Buildkite => format!("# pipeline.yml step\nsteps:\n  - key: deploy\n    command: |\n      {assume}\n      aws sts get-caller-identity\n"),
            Ci::Bitbucket => format!("# bitbucket-pipelines.yml step\n    - step:\n        oidc: true\n        script:\n          - {assume}\n          - aws sts get-caller-identity\n"),
        }
    }
}

pub fn render(s: &Setup) -> String {
    let host = s.host();
    let ci = s.ci.id();
    let tf_role = s
        .role_name
        .as_str()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let policy = s.trust_policy();
    let aud_test = "StringEquals";
    let sub_test = s.subject_operator();
    format!(
        "# {name}: trust policy for role `{role}` (save as trust-policy.json)\n\
# It admits tokens whose sub is {sub} ({admits}).\n\
{policy}\n\n\
# AWS CLI (once per account: the OIDC provider; then the role)\n\
# No --thumbprint-list: IAM checks the issuer's TLS certificate against the CAs it trusts.\n\
# (An issuer behind a private CA, e.g. a self-managed GitLab, needs --thumbprint-list.)\n\
aws iam create-open-id-connect-provider --url {issuer} --client-id-list {aud}\n\
aws iam create-role --role-name {role} --max-session-duration 3600 --assume-role-policy-document file://trust-policy.json\n\
# then attach what the jobs may do, e.g.:\n\
# aws iam attach-role-policy --role-name {role} --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess\n\n\
# Terraform (hashicorp/aws 5.81.0 or later: older versions require thumbprint_list,\n\
# which IAM no longer needs for issuers with a certificate from a public CA)\n\
terraform {{\n  required_providers {{\n    aws = {{\n      source  = \"hashicorp/aws\"\n      version = \">= 5.81.0\"\n    }}\n  }}\n}}\n\n\
resource \"aws_iam_openid_connect_provider\" \"{ci}\" {{\n  url            = {issuer_j}\n  client_id_list = [{aud_j}]\n}}\n\n\
data \"aws_iam_policy_document\" \"{ci}_trust\" {{\n  statement {{\n    actions = [\"sts:AssumeRoleWithWebIdentity\"]\n    principals {{\n      type        = \"Federated\"\n      identifiers = [aws_iam_openid_connect_provider.{ci}.arn]\n    }}\n    condition {{\n      test     = \"{aud_test}\"\n      variable = \"{host}:aud\"\n      values   = [{aud_j}]\n    }}\n    condition {{\n      test     = \"{sub_test}\"\n      variable = \"{host}:sub\"\n      values   = [{sub_j}]\n    }}\n{pin}  }}\n}}\n\n\
resource \"aws_iam_role\" \"{tf_role}\" {{\n  name               = \"{role}\"\n  assume_role_policy = data.aws_iam_policy_document.{ci}_trust.json\n}}\n\n\
{snippet}",
        name = s.ci.display_name(),
        role = s.role_name,
        sub = s.subject,
        admits = s.admits,
        issuer = shell_word(&s.issuer),
        issuer_j = hcl_string(&s.issuer),
        aud = shell_word(&s.audience),
        aud_j = hcl_string(&s.audience),
        sub_j = hcl_string(&s.subject),
        snippet = s.job_snippet(),
        pin = s.terraform_pin(),
    ) + &s.pin_note()
}

impl Setup {
    /// The Terraform condition on `repository_id` for `--pin-ids`.
    fn terraform_pin(&self) -> String {
        self.repository_id.as_ref().map_or_else(String::new, |id| {
            format!("    condition {{\n      test     = \"StringEquals\"\n      variable = \"{}:repository_id\"\n      values   = [{}]\n    }}\n", self.host(), json(id))
        })
    }

    /// The trade-off of `--pin-ids`, in one paragraph.
    fn pin_note(&self) -> String {
        if self.repository_id.is_none() {
            return String::new();
        }
        "\n# Pinned by id (--pin-ids): `repository_id` decides which repository, so the role\n\
# keeps admitting it after a rename or a transfer and never admits another repository\n\
# that later takes its old name; the `sub` pattern matches both of GitHub's forms\n\
# (name-based, and ID-based with the owner's and repository's numeric ids). The cost:\n\
# the id must be looked up (`gh api repos/OWNER/REPO --jq .id`), a repository deleted\n\
# and created again gets a new id (update the role), and the `repository_id` key is one\n\
# STS evaluates for GitHub's provider since January 2026 (check it in your partition).\n"
            .into()
    }
}

#[cfg(test)]
pub(crate) mod strict_json {
    use serde_json::Value;

    pub fn parse(text: &str) -> Result<Value, String> {
        crate::trust::json::parse(text)?;
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn duplicates_are_refused() {
        assert!(parse(r#"{"a": {"b": 1, "b": 2}}"#).is_err());
        assert_eq!(
            parse(r#"{"a": [1, {"b": "c"}]}"#).unwrap()["a"][1]["b"],
            "c"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(subject: &str) -> Setup {
        Setup {
            ci: Ci::GitHub,
            issuer: crate::ci::GITHUB_ISSUER.into(),
            audience: "sts.amazonaws.com".into(),
            subject: subject.into(),
            role_name: RoleName::parse("r").unwrap(),
            account_id: AccountId::parse("111111111111").unwrap(),
            admits: "x".into(),
            repository_id: None,
        }
    }

    #[test]
    fn exact_and_pattern_conditions_parse_strictly() {
        for (sub, op) in [
            ("repo:o/r:ref:refs/heads/main", "StringEquals"),
            ("repo:o/r:*", "StringLike"),
        ] {
            let policy = strict_json::parse(&sample(sub).trust_policy()).unwrap();
            let cond = &policy["Statement"][0]["Condition"];
            let host = "token.actions.githubusercontent.com";
            assert_eq!(
                cond["StringEquals"][format!("{host}:aud")],
                "sts.amazonaws.com"
            );
            assert_eq!(cond[op][format!("{host}:sub")], sub);
        }
    }

    #[test]
    fn hcl_and_shell_quoting() {
        assert_eq!(hcl_string("a${b}"), "\"a$${b}\"");
        assert_eq!(shell_word("org-id-1"), "org-id-1");
        assert_eq!(shell_word("a b'c"), "'a b'\\''c'");
    }
}
