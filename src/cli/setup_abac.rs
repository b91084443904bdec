//! `keyless-aws setup --abac`: reads the flags into a validated
//! [`AbacSetup`]; the rendering is `crate::setup_abac`.

use super::args::{usage_error, value};
use crate::aws_names::{AccountId, Region, RoleName};
use crate::setup_abac::{render, AbacSetup};
use lexopt::prelude::*;
use std::ffi::OsString;
use std::process::ExitCode;

pub const HELP: &str = "\
Usage: keyless-aws setup --abac --owner OWNER [FLAGS]

Prints an Amazon Cognito identity pool whose login is GitHub's OIDC provider,
the mapping of the token's claims to session tags (repository, repository_owner,
ref, environment, job_workflow_ref, actor, event_name, repository_id,
repository_owner_id), one role for every repository of OWNER with its trust
policy, and an example permission policy using ${aws:PrincipalTag/repository},
as AWS CLI commands and as Terraform. Nothing is sent anywhere.

  --owner OWNER       the GitHub user or organisation whose jobs may use the role
  --region R          the pool's region (default: us-east-1)
  --role-name NAME    the role (default: github-abac)
  --pool-name NAME    the identity pool's name (default: github_actions_abac)
  --bucket NAME       the S3 bucket of the example policy (default: OWNER-artifacts)
  --account-id ID     the 12-digit AWS account (default: 123456789012)
  --audience AUD      the token audience (default: sts.amazonaws.com)
  -h, --help          this text";

#[derive(Default)]
struct Flags {
    owner: Option<String>,
    region: Option<String>,
    role_name: Option<String>,
    pool_name: Option<String>,
    bucket: Option<String>,
    account_id: Option<String>,
    audience: Option<String>,
}

pub fn main(args: &[OsString]) -> ExitCode {
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

/// `Ok(None)` for `--help`. `--abac` itself is accepted and skipped.
pub fn parse(args: &[OsString]) -> Result<Option<AbacSetup>, String> {
    let mut f = Flags::default();
    let mut parser = lexopt::Parser::from_args(args.iter().cloned());
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let (slot, name) = match arg {
            Short('h') | Long("help") => return Ok(None),
            Long("abac") => continue,
            Long("owner") => (&mut f.owner, "owner"),
            Long("region") => (&mut f.region, "region"),
            Long("role-name") => (&mut f.role_name, "role-name"),
            Long("pool-name") => (&mut f.pool_name, "pool-name"),
            Long("bucket") => (&mut f.bucket, "bucket"),
            Long("account-id") => (&mut f.account_id, "account-id"),
            Long("audience") => (&mut f.audience, "audience"),
            other => {
                return Err(format!(
                    "{} (with --abac: --owner, --region, --role-name, --pool-name, --bucket, --account-id, --audience)",
                    other.unexpected()
                ))
            }
        };
        *slot = Some(value(&mut parser, name)?);
    }
    build(f).map(Some)
}

fn build(f: Flags) -> Result<AbacSetup, String> {
    let owner = f
        .owner
        .ok_or("--abac needs --owner OWNER (the GitHub user or organisation)")?;
    if !valid_owner(&owner) {
        return Err(format!(
            "--owner {owner:?} is not a GitHub user or organisation name (letters, digits and single hyphens, at most 39)"
        ));
    }
    let account_id = AccountId::parse(f.account_id.as_deref().unwrap_or("123456789012"))
        .map_err(|problem| format!("--account-id: {problem}"))?;
    let region = Region::parse(f.region.as_deref().unwrap_or("us-east-1"))
        .map_err(|problem| format!("--region: {problem}"))?;
    let role_name = RoleName::parse(f.role_name.as_deref().unwrap_or("github-abac"))
        .map_err(|problem| format!("--role-name: {problem}"))?;
    let pool_name = f.pool_name.unwrap_or_else(|| "github_actions_abac".into());
    if pool_name.is_empty()
        || pool_name.len() > 128
        || !pool_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(format!(
            "--pool-name {pool_name:?}: use 1–128 of letters, digits, `_`, `.` and `-`"
        ));
    }
    let bucket = f
        .bucket
        .unwrap_or_else(|| format!("{}-artifacts", owner.to_ascii_lowercase()));
    if !valid_bucket(&bucket) {
        return Err(format!(
            "--bucket {bucket:?} is not an S3 bucket name (3–63 of lower-case letters, digits, `.` and `-`)"
        ));
    }
    let audience = f.audience.unwrap_or_else(|| "sts.amazonaws.com".into());
    if audience.is_empty()
        || audience.len() > 255
        || !audience
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
    {
        return Err("--audience: use letters, digits and -_.:/ only".into());
    }
    Ok(AbacSetup {
        owner,
        account_id,
        region,
        role_name,
        pool_name,
        bucket,
        audience,
    })
}

/// GitHub's rule for user and organisation names.
fn valid_owner(s: &str) -> bool {
    (1..=39).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn valid_bucket(s: &str) -> bool {
    (3..=63).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn owner_is_required_and_checked() {
        assert!(parse(&args(&["--abac"])).unwrap_err().contains("--owner"));
        assert!(parse(&args(&["--abac", "--owner", "a--b"])).is_err());
        assert!(parse(&args(&["--abac", "--owner", "Octo", "--bucket", "B"])).is_err());
        let s = parse(&args(&["--abac", "--owner", "Octo-Org"]))
            .unwrap()
            .unwrap();
        assert_eq!(s.bucket, "octo-org-artifacts");
        assert_eq!(s.region.as_str(), "us-east-1");
        assert!(parse(&args(&["--abac", "--owner", "o", "--repo", "o/r"])).is_err());
    }
}
