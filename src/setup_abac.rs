//! `keyless-aws setup --abac`: one role for every repository of an owner,
//! whose permissions follow the job's verified claims. Prints an Amazon
//! Cognito identity pool whose only login is GitHub's OIDC provider, the
//! claim-to-tag mapping ("attributes for access control"), the pool's
//! authenticated role with its trust policy for `cognito-identity.amazonaws.com`,
//! and an example permission policy written with `${aws:PrincipalTag/…}`,
//! as AWS CLI commands and as Terraform. The flags are read in
//! `cli/setup_abac.rs`; the action side is `cognito-identity-pool-id` (src/cognito/).

use crate::aws_names::{AccountId, Region, RoleName};
use crate::ci::GITHUB_ISSUER;
use crate::cognito::login::ABAC_CLAIMS;

/// A validated request: every field is safe to place in JSON, shell and HCL.
#[derive(Debug, PartialEq)]
pub struct AbacSetup {
    /// The GitHub user or organisation whose repositories the role serves.
    pub owner: String,
    pub account_id: AccountId,
    /// Where the pool lives (its id starts with this region).
    pub region: Region,
    pub role_name: RoleName,
    /// Letters, digits, `_`, `.` and `-`.
    pub pool_name: String,
    /// The S3 bucket of the example permission policy.
    pub bucket: String,
    pub audience: String,
}

/// What the shell's `$POOL_ID` holds: the heredocs expand it, and tests
/// substitute a pool id for it.
pub const POOL_ID_VAR: &str = "$POOL_ID";

impl AbacSetup {
    fn host(&self) -> &str {
        GITHUB_ISSUER.trim_start_matches("https://")
    }

    fn provider_arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            self.account_id,
            self.host()
        )
    }

    fn role_arn(&self) -> String {
        format!("arn:aws:iam::{}:role/{}", self.account_id, self.role_name)
    }

    /// The role's trust policy: only Cognito, only for this pool, only
    /// authenticated identities, and only sessions Cognito tags with this
    /// owner (`aws:RequestTag/repository_owner`): the pool admits any GitHub
    /// token, so the owner check is what keeps other owners' jobs out.
    /// `sts:TagSession` lets Cognito attach the principal tags.
    pub fn trust_policy(&self, pool_id: &str) -> String {
        format!(
            r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Effect": "Allow",
      "Principal": {{ "Federated": "cognito-identity.amazonaws.com" }},
      "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
      "Condition": {{
        "StringEquals": {{
          "cognito-identity.amazonaws.com:aud": {pool},
          "aws:RequestTag/repository_owner": {owner}
        }},
        "ForAnyValue:StringLike": {{
          "cognito-identity.amazonaws.com:amr": "authenticated"
        }}
      }}
    }}
  ]
}}"#,
            pool = json(pool_id),
            owner = json(&self.owner),
        )
    }

    /// An example ABAC permission policy: each repository reads and writes
    /// only its own prefix of one bucket.
    pub fn permission_policy(&self) -> String {
        format!(
            r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Sid": "OwnPrefixObjects",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject"],
      "Resource": "arn:aws:s3:::{bucket}/${{aws:PrincipalTag/repository}}/*",
      "Condition": {{
        "StringEquals": {{ "aws:PrincipalTag/repository_owner": {owner} }}
      }}
    }},
    {{
      "Sid": "OwnPrefixListing",
      "Effect": "Allow",
      "Action": "s3:ListBucket",
      "Resource": "arn:aws:s3:::{bucket}",
      "Condition": {{
        "StringEquals": {{ "aws:PrincipalTag/repository_owner": {owner} }},
        "StringLike": {{ "s3:prefix": "${{aws:PrincipalTag/repository}}/*" }}
      }}
    }}
  ]
}}"#,
            bucket = self.bucket,
            owner = json(&self.owner),
        )
    }

    /// `tag=claim,…` for `--principal-tags`: the tag keys are the claim names.
    fn tag_map_shorthand(&self) -> String {
        ABAC_CLAIMS
            .iter()
            .map(|c| format!("{c}={c}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A JSON string literal (the values are validated; this keeps it valid regardless).
fn json(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Everything `setup --abac` prints.
pub fn render(s: &AbacSetup) -> String {
    format!(
        "# GitHub Actions → Amazon Cognito identity pool → one role for every repository of {owner}\n\
# The job's token is the pool's login; Cognito assumes role `{role}` with the token's\n\
# claims as session tags, so policies can use ${{aws:PrincipalTag/repository}} and friends.\n\
# `environment` is only in the tokens of jobs that name an environment: if such jobs are\n\
# refused with a claim-mapping error, drop it from the mapping.\n\n\
{cli}\n\
{terraform}\n\
{snippet}",
        owner = s.owner,
        role = s.role_name,
        cli = cli(s),
        terraform = terraform(s),
        snippet = snippet(s),
    )
}

fn cli(s: &AbacSetup) -> String {
    let region = &s.region;
    format!(
        "# AWS CLI (bash)\n\
# Once per account: the OIDC provider (skip it if the account has one already).\n\
aws iam create-open-id-connect-provider --url {issuer} --client-id-list {aud}\n\
# The identity pool: GitHub's tokens are its only login; no guests, no basic flow.\n\
POOL_ID=$(aws cognito-identity create-identity-pool --region {region} --identity-pool-name {pool_name} --no-allow-unauthenticated-identities --no-allow-classic-flow --open-id-connect-provider-arns {provider} --query IdentityPoolId --output text)\n\
# Claims → principal tags (tag key = claim name).\n\
aws cognito-identity set-principal-tag-attribute-map --region {region} --identity-pool-id \"$POOL_ID\" --identity-provider-name {provider} --no-use-defaults --principal-tags {tags}\n\
# The role Cognito assumes for the pool's identities (trust policy with this pool's id).\n\
cat > abac-trust-policy.json <<EOF\n{trust}\nEOF\n\
aws iam create-role --role-name {role} --max-session-duration 3600 --assume-role-policy-document file://abac-trust-policy.json\n\
# An example ABAC permission policy (quoted heredoc: the ${{…}} are IAM's, not the shell's).\n\
cat > abac-permissions.json <<'EOF'\n{permissions}\nEOF\n\
aws iam put-role-policy --role-name {role} --policy-name abac-example --policy-document file://abac-permissions.json\n\
aws cognito-identity set-identity-pool-roles --region {region} --identity-pool-id \"$POOL_ID\" --roles authenticated={role_arn}\n\
echo \"cognito-identity-pool-id: $POOL_ID\"\n",
        issuer = GITHUB_ISSUER,
        aud = s.audience,
        pool_name = s.pool_name,
        provider = s.provider_arn(),
        tags = s.tag_map_shorthand(),
        trust = s.trust_policy(POOL_ID_VAR),
        role = s.role_name,
        permissions = s.permission_policy(),
        role_arn = s.role_arn(),
    )
}

fn terraform(s: &AbacSetup) -> String {
    let width = ABAC_CLAIMS.iter().map(|c| c.len()).max().unwrap_or(0);
    let tags: String = ABAC_CLAIMS
        .iter()
        .map(|c| format!("    {c:<width$} = \"{c}\"\n"))
        .collect();
    format!(
        "# Terraform (region {region} in the provider block)\n\
resource \"aws_iam_openid_connect_provider\" \"github\" {{\n  url            = {issuer}\n  client_id_list = [{aud}]\n}}\n\n\
resource \"aws_cognito_identity_pool\" \"github_abac\" {{\n  identity_pool_name               = \"{pool_name}\"\n  allow_unauthenticated_identities = false\n  allow_classic_flow               = false\n  openid_connect_provider_arns     = [aws_iam_openid_connect_provider.github.arn]\n}}\n\n\
resource \"aws_cognito_identity_pool_provider_principal_tag\" \"github\" {{\n  identity_pool_id       = aws_cognito_identity_pool.github_abac.id\n  identity_provider_name = aws_iam_openid_connect_provider.github.arn\n  use_defaults           = false\n  principal_tags = {{\n{tags}  }}\n}}\n\n\
data \"aws_iam_policy_document\" \"github_abac_trust\" {{\n  statement {{\n    actions = [\"sts:AssumeRoleWithWebIdentity\", \"sts:TagSession\"]\n    principals {{\n      type        = \"Federated\"\n      identifiers = [\"cognito-identity.amazonaws.com\"]\n    }}\n    condition {{\n      test     = \"StringEquals\"\n      variable = \"cognito-identity.amazonaws.com:aud\"\n      values   = [aws_cognito_identity_pool.github_abac.id]\n    }}\n    condition {{\n      test     = \"StringEquals\"\n      variable = \"aws:RequestTag/repository_owner\"\n      values   = [{owner}]\n    }}\n    condition {{\n      test     = \"ForAnyValue:StringLike\"\n      variable = \"cognito-identity.amazonaws.com:amr\"\n      values   = [\"authenticated\"]\n    }}\n  }}\n}}\n\n\
resource \"aws_iam_role\" \"github_abac\" {{\n  name                 = \"{role}\"\n  max_session_duration = 3600\n  assume_role_policy   = data.aws_iam_policy_document.github_abac_trust.json\n}}\n\n\
data \"aws_iam_policy_document\" \"github_abac_permissions\" {{\n  statement {{\n    sid       = \"OwnPrefixObjects\"\n    actions   = [\"s3:GetObject\", \"s3:PutObject\"]\n    resources = [\"arn:aws:s3:::{bucket}/$${{aws:PrincipalTag/repository}}/*\"]\n    condition {{\n      test     = \"StringEquals\"\n      variable = \"aws:PrincipalTag/repository_owner\"\n      values   = [{owner}]\n    }}\n  }}\n  statement {{\n    sid       = \"OwnPrefixListing\"\n    actions   = [\"s3:ListBucket\"]\n    resources = [\"arn:aws:s3:::{bucket}\"]\n    condition {{\n      test     = \"StringEquals\"\n      variable = \"aws:PrincipalTag/repository_owner\"\n      values   = [{owner}]\n    }}\n    condition {{\n      test     = \"StringLike\"\n      variable = \"s3:prefix\"\n      values   = [\"$${{aws:PrincipalTag/repository}}/*\"]\n    }}\n  }}\n}}\n\n\
resource \"aws_iam_role_policy\" \"github_abac\" {{\n  name   = \"abac-example\"\n  role   = aws_iam_role.github_abac.id\n  policy = data.aws_iam_policy_document.github_abac_permissions.json\n}}\n\n\
resource \"aws_cognito_identity_pool_roles_attachment\" \"github_abac\" {{\n  identity_pool_id = aws_cognito_identity_pool.github_abac.id\n  roles = {{\n    authenticated = aws_iam_role.github_abac.arn\n  }}\n}}\n\n\
output \"cognito_identity_pool_id\" {{\n  value = aws_cognito_identity_pool.github_abac.id\n}}\n",
        region = s.region,
        issuer = json(GITHUB_ISSUER),
        aud = json(&s.audience),
        pool_name = s.pool_name,
        owner = json(&s.owner),
        role = s.role_name,
        bucket = s.bucket,
    )
}

fn snippet(s: &AbacSetup) -> String {
    format!(
        "# Workflow step, in any repository of {owner}\n\
permissions:\n  id-token: write\n  contents: read\nsteps:\n  - uses: OWNER/keyless-aws@v1\n    with:\n      cognito-identity-pool-id: {region}:POOL-GUID # printed by the CLI commands / Terraform output above\n      aws-region: {region}\n",
        owner = s.owner,
        region = s.region,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::strict_json;

    fn sample() -> AbacSetup {
        AbacSetup {
            owner: "octo-org".into(),
            account_id: AccountId::parse("111111111111").unwrap(),
            region: Region::parse("eu-west-1").unwrap(),
            role_name: RoleName::parse("github-abac").unwrap(),
            pool_name: "github_actions_abac".into(),
            bucket: "octo-artifacts".into(),
            audience: "sts.amazonaws.com".into(),
        }
    }

    #[test]
    fn both_policies_parse_strictly() {
        let s = sample();
        let trust = strict_json::parse(&s.trust_policy("eu-west-1:0f1e")).unwrap();
        let cond = &trust["Statement"][0]["Condition"];
        assert_eq!(
            cond["StringEquals"]["cognito-identity.amazonaws.com:aud"],
            "eu-west-1:0f1e"
        );
        assert_eq!(
            cond["StringEquals"]["aws:RequestTag/repository_owner"],
            "octo-org"
        );
        let permissions = strict_json::parse(&s.permission_policy()).unwrap();
        assert_eq!(
            permissions["Statement"][0]["Resource"],
            "arn:aws:s3:::octo-artifacts/${aws:PrincipalTag/repository}/*"
        );
    }
}
