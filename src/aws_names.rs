//! AWS names as types, each with exactly one validator. A value of one of these
//! types has been checked, so code that receives a `RoleArn` or an `AccountId`
//! never checks it again (the 12-digit account test used to exist four times).
//!
//! Each `parse` returns the problem as a short phrase ("is not 12 digits"); the
//! caller knows which input or flag it came from and adds the fix.

use std::fmt;

/// Cuts a value for display in an error, so a pasted secret or a huge value
/// does not end up whole in the log.
pub fn shorten(value: &str) -> String {
    let mut s: String = value.chars().take(40).collect();
    if value.chars().count() > 40 {
        s.push('…');
    }
    s
}

macro_rules! text_type {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// An Amazon Cognito identity pool id, `REGION:GUID` (AWS's pattern
/// `[\w-]+:[0-9a-f-]+`, at most 55 characters). The prefix is the region the
/// pool lives in: Cognito only finds a pool at that region's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPoolId(String);
text_type!(IdentityPoolId);

impl IdentityPoolId {
    pub fn parse(value: &str) -> Result<Self, String> {
        let shaped = value.split_once(':').is_some_and(|(region, guid)| {
            Region::parse_lenient(region).is_ok()
                && !guid.is_empty()
                && guid
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
        });
        if shaped && value.len() <= 55 {
            Ok(IdentityPoolId(value.to_owned()))
        } else {
            Err(format!(
                "{:?} is not an identity pool id (REGION:GUID, e.g. us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0)",
                shorten(value)
            ))
        }
    }

    /// The region in the id: where the pool is.
    pub fn region(&self) -> &str {
        self.0.split_once(':').map_or("", |(region, _)| region)
    }
}

/// An AWS region name: `us-east-1`, `cn-north-1`, `us-gov-west-1`,
/// `us-isob-east-1`, `eusc-de-east-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region(String);
text_type!(Region);

impl Region {
    /// A region AWS has or could have, or `aws-global` (the SDKs' name for
    /// the global STS endpoint, which the reference action accepts too).
    pub fn parse(value: &str) -> Result<Self, String> {
        if value == "aws-global" {
            return Ok(Region(value.to_owned()));
        }
        let parts: Vec<&str> = value.split('-').collect();
        let ok = parts.len() >= 3
            && parts.len() <= 5
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
            && parts[0].len() >= 2
            && parts.last().is_some_and(|p| {
                !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit())
            });
        if ok {
            Ok(Region(value.to_owned()))
        } else {
            Err(format!("{:?} is not an AWS region name", shorten(value)))
        }
    }

    /// Any name the reference action accepts (reference: src/index.ts
    /// REGION_REGEX `^[a-z0-9-]+$`), for a custom `sts-endpoint`, where the
    /// region is whatever the emulator or gateway expects.
    pub fn parse_lenient(value: &str) -> Result<Self, String> {
        let ok = (1..=64).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Region(value.to_owned()))
        } else {
            Err(format!(
                "{:?} is not a region name (lower-case letters, digits and `-`)",
                shorten(value)
            ))
        }
    }

    /// The partition the region belongs to; it decides the ARN prefix of a role.
    pub fn partition(&self) -> Partition {
        let r = self.0.as_str();
        if r.starts_with("cn-") {
            Partition::AwsCn
        } else if r.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else if r.starts_with("us-isob-") {
            Partition::AwsIsoB
        } else if r.starts_with("us-isof-") || r.starts_with("eu-isof-") {
            Partition::AwsIsoF
        } else if r.starts_with("eu-isoe-") {
            Partition::AwsIsoE
        } else if r.starts_with("us-iso-") {
            Partition::AwsIso
        } else if r.starts_with("eusc-") {
            Partition::AwsEusc
        } else {
            Partition::Aws
        }
    }
}

/// An AWS partition: the second field of every ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Aws,
    AwsCn,
    AwsUsGov,
    AwsIso,
    AwsIsoB,
    AwsIsoE,
    AwsIsoF,
    AwsEusc,
}

impl Partition {
    pub const ALL: [Partition; 8] = [
        Partition::Aws,
        Partition::AwsCn,
        Partition::AwsUsGov,
        Partition::AwsIso,
        Partition::AwsIsoB,
        Partition::AwsIsoE,
        Partition::AwsIsoF,
        Partition::AwsEusc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
            Partition::AwsEusc => "aws-eusc",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == value)
            .ok_or_else(|| format!("has an unknown partition {:?}", shorten(value)))
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountId(String);
text_type!(AccountId);

impl AccountId {
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(value.to_owned()))
        } else {
            Err(format!("{:?} is not a 12-digit account id", shorten(value)))
        }
    }

    /// The account field of any ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:…`).
    pub fn from_arn(arn: &str) -> Option<Self> {
        arn.split(':').nth(4).and_then(|a| Self::parse(a).ok())
    }
}

/// A role name without path: 1–64 of letters, digits and `+=,.@_-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleName(String);
text_type!(RoleName);

impl RoleName {
    /// A role name after an optional IAM path, `team/deploy`: completed to
    /// `arn:…:role/team/deploy`, as the reference completes it (src/assumeRole.ts
    /// assumeRole(): `` `arn:aws:iam::${sourceAccountId}:role/${roleArn}` ``).
    /// Each path segment holds the name's characters; the whole is at most 512.
    pub fn parse_with_path(value: &str) -> Result<Self, String> {
        let (path, name) = value.rsplit_once('/').unwrap_or(("", value));
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        };
        let path_ok = path.is_empty() || path.split('/').all(segment_ok);
        if path_ok && value.len() <= 512 {
            Self::parse(name).map(|_| RoleName(value.to_owned()))
        } else {
            Err(format!(
                "{:?} is not a role name with a path (PATH/NAME, e.g. team/deploy)",
                shorten(value)
            ))
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        let ok = (1..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if ok {
            Ok(RoleName(value.to_owned()))
        } else {
            Err(format!("{:?} is not a role name", shorten(value)))
        }
    }
}

/// A role ARN: `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    text: String,
    partition: Partition,
    account: AccountId,
}

impl RoleArn {
    pub fn parse(value: &str) -> Result<Self, String> {
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" {
            return Err("is not an ARN (expected arn:aws:iam::123456789012:role/NAME)".into());
        }
        let partition = Partition::parse(parts[1])?;
        if parts[2] != "iam" || !parts[3].is_empty() {
            return Err(
                "is not an IAM role ARN (expected arn:PARTITION:iam::ACCOUNT:role/NAME)".into(),
            );
        }
        let account =
            AccountId::parse(parts[4]).map_err(|_| "has an account id that is not 12 digits")?;
        let Some(name) = parts[5].strip_prefix("role/") else {
            return Err("does not name a role (expected …:role/NAME)".into());
        };
        let name_ok = !name.is_empty()
            && name.len() <= 512
            && !name.ends_with('/')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c));
        if !name_ok {
            return Err("has an invalid role name (letters, digits and +=,.@_- only)".into());
        }
        Ok(RoleArn {
            text: value.to_owned(),
            partition,
            account,
        })
    }

    /// The ARN of role `name` in `account`, in `partition`.
    pub fn new(partition: Partition, account: &AccountId, name: &RoleName) -> Self {
        RoleArn {
            text: format!("arn:{partition}:iam::{account}:role/{name}"),
            partition,
            account: account.clone(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn partition(&self) -> Partition {
        self.partition
    }

    pub fn account(&self) -> &AccountId {
        &self.account
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `role-session-name`: 2–64 of `[\w+=,.@-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionName(String);
text_type!(SessionName);

impl SessionName {
    pub fn parse(value: &str) -> Result<Self, String> {
        let ok = (2..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
        if ok {
            Ok(SessionName(value.to_owned()))
        } else {
            Err(format!(
                "{:?} is not 2–64 of letters, digits and _+=,.@-",
                shorten(value)
            ))
        }
    }
}

/// The audience (`aud`) a web identity token is requested for: one of the
/// client ids of the account's IAM OIDC provider. AWS documents a client id as
/// 1 to 255 characters (IAM `CreateOpenIDConnectProvider`, `ClientIDList`), so
/// that is the one rule every front end applies; control characters are
/// refused as well, since the value reaches URLs and log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(String);
text_type!(Audience);

impl Audience {
    /// What AWS STS expects unless the provider lists another client id.
    pub const DEFAULT: &'static str = "sts.amazonaws.com";
    /// AWS's limit on an OIDC provider's client id.
    pub const MAX_LEN: usize = 255;

    pub fn parse(value: &str) -> Result<Self, String> {
        let length = value.chars().count();
        if (1..=Self::MAX_LEN).contains(&length) && !value.chars().any(char::is_control) {
            Ok(Audience(value.to_owned()))
        } else {
            Err(format!(
                "must be 1 to {} characters without control characters (an IAM OIDC provider's client id)",
                Self::MAX_LEN
            ))
        }
    }

    /// `sts.amazonaws.com`.
    pub fn default_for_sts() -> Self {
        Audience(Self::DEFAULT.to_owned())
    }
}

/// How long an assumed session lasts: AWS documents 900 to 43200 seconds for
/// `AssumeRole` and `AssumeRoleWithWebIdentity` (the role's own maximum, and
/// the 3600 s cap on a chained session, are checked by STS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionDuration(i32);

impl SessionDuration {
    pub const MIN: i32 = 900;
    pub const MAX: i32 = 43200;
    /// AWS's cap on a session assumed with temporary credentials (role chaining).
    pub const MAX_CHAINED: i32 = 3600;

    pub fn new(seconds: i64) -> Result<Self, String> {
        if (i64::from(Self::MIN)..=i64::from(Self::MAX)).contains(&seconds) {
            Ok(SessionDuration(seconds as i32))
        } else {
            Err(format!(
                "is {seconds}; STS accepts {} to {} seconds",
                Self::MIN,
                Self::MAX
            ))
        }
    }

    /// Whole seconds, as text (surrounding spaces allowed).
    pub fn parse(value: &str) -> Result<Self, String> {
        let seconds: i64 = value
            .trim()
            .parse()
            .map_err(|_| format!("{:?} is not a whole number of seconds", shorten(value)))?;
        Self::new(seconds)
    }

    pub fn seconds(self) -> i32 {
        self.0
    }
}

/// An AWS CLI/SDK profile name: what the reference action accepts (no
/// whitespace, brackets or path separators; reference: src/profileManager.ts
/// validateProfileName()), limited to printable ASCII and 128 characters so
/// nothing can break an INI section header or a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileName(String);
text_type!(ProfileName);

impl ProfileName {
    pub fn parse(value: &str) -> Result<Self, String> {
        let ok = !value.is_empty()
            && value.len() <= 128
            && value
                .chars()
                .all(|c| c.is_ascii_graphic() && !"[]/\\".contains(c));
        if ok {
            Ok(ProfileName(value.to_owned()))
        } else {
            Err(format!("{:?} is not a valid profile name", shorten(value)))
        }
    }
}

/// An access key id (`AKIA…`, `ASIA…`): 16–128 letters and digits. Not secret
/// on its own, but masked like one, because it identifies the key.
pub fn check_access_key_id(value: &str) -> Result<(), String> {
    if (16..=128).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err("is not an access key id (16–128 letters and digits)".into())
    }
}

/// An access key id for a custom `sts-endpoint` (LocalStack takes `test`,
/// MinIO `minioadmin`): 1–128 letters and digits, the shape any key id has.
pub fn check_access_key_id_lenient(value: &str) -> Result<(), String> {
    if (1..=128).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err("is not an access key id (1–128 letters and digits)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_may_carry_a_path() {
        let account = AccountId::parse("123456789012").unwrap();
        let name = RoleName::parse_with_path("team/ci/deploy").unwrap();
        assert_eq!(
            RoleArn::new(Partition::Aws, &account, &name).as_str(),
            "arn:aws:iam::123456789012:role/team/ci/deploy"
        );
        assert!(RoleName::parse_with_path("deploy").is_ok());
        for bad in ["/team/deploy", "team//deploy", "team/", "te am/deploy", ""] {
            assert!(RoleName::parse_with_path(bad).is_err(), "{bad:?}");
        }
        // The plain parser (setup's --role-name) stays without a path.
        assert!(RoleName::parse("team/deploy").is_err());
    }

    #[test]
    fn identity_pool_ids() {
        let id = IdentityPoolId::parse("eu-west-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0").unwrap();
        assert_eq!(id.region(), "eu-west-1");
        for bad in [
            "",
            "eu-west-1",
            "eu-west-1:",
            ":0f1e2d3c",
            "eu-west-1:0F1E",
            "eu-west-1:0f1e 2d3c",
            "EU:0f1e",
            "eu-west-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0-0000000000000",
        ] {
            assert!(IdentityPoolId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-west-1",
            "cn-north-1",
            "us-gov-west-1",
            "us-isob-east-1",
            "ap-southeast-5",
            "eusc-de-east-1",
        ] {
            assert!(Region::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us_east_1",
            "useast1",
            "us-east-1a",
            "us-east-1 ",
            "-us-east-1",
        ] {
            assert!(Region::parse(bad).is_err(), "{bad}");
        }
        let p = |r: &str| Region::parse(r).unwrap().partition();
        assert_eq!(p("cn-northwest-1"), Partition::AwsCn);
        assert_eq!(p("us-gov-east-1"), Partition::AwsUsGov);
        assert_eq!(p("eu-central-1"), Partition::Aws);
        assert_eq!(p("us-isob-east-1").as_str(), "aws-iso-b");
    }

    #[test]
    fn role_arns() {
        let arn = RoleArn::parse("arn:aws:iam::123456789012:role/deploy").unwrap();
        assert_eq!(arn.account().as_str(), "123456789012");
        assert_eq!(arn.partition(), Partition::Aws);
        assert!(RoleArn::parse("arn:aws-cn:iam::123456789012:role/path/to/deploy").is_ok());
        assert!(RoleArn::parse("arn:aws:iam::12345678901:role/deploy").is_err());
        assert!(RoleArn::parse("arn:aws:iam::123456789012:user/deploy").is_err());
        assert!(RoleArn::parse("arn:aws:s3:::bucket").is_err());
        assert!(RoleArn::parse("arn:evil:iam::123456789012:role/x").is_err());
        let built = RoleArn::new(
            Partition::AwsUsGov,
            &AccountId::parse("210987654321").unwrap(),
            &RoleName::parse("r").unwrap(),
        );
        assert_eq!(built.as_str(), "arn:aws-us-gov:iam::210987654321:role/r");
    }

    #[test]
    fn accounts() {
        assert!(AccountId::parse("123456789012").is_ok());
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert!(AccountId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            AccountId::from_arn("arn:aws-cn:sts::210987654321:assumed-role/r/s")
                .unwrap()
                .as_str(),
            "210987654321"
        );
        assert!(AccountId::from_arn("garbage").is_none());
    }

    #[test]
    fn session_and_profile_names() {
        assert!(SessionName::parse("GitHubActions").is_ok());
        assert!(SessionName::parse("a_b+c=d,e.f@g-h").is_ok());
        assert!(SessionName::parse("a").is_err());
        assert!(SessionName::parse("has space").is_err());
        assert!(SessionName::parse(&"x".repeat(65)).is_err());
        assert!(ProfileName::parse("deploy-1.prod").is_ok());
        assert!(ProfileName::parse("a]b").is_err());
        assert!(ProfileName::parse("dev@acct+1").is_ok());
        for bad in ["a b", "a/b", "a\\b", "[x", "a\nb", ""] {
            assert!(ProfileName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Region::parse("aws-global").is_ok());
        assert!(Region::parse_lenient("local").is_ok() && Region::parse_lenient("Us").is_err());
        assert!(check_access_key_id("test").is_err());
        assert!(check_access_key_id_lenient("test").is_ok());
        assert!(check_access_key_id_lenient("minioadmin").is_ok());
        assert!(check_access_key_id_lenient("a b").is_err());
        assert!(RoleName::parse("deploy").is_ok() && RoleName::parse("a/b").is_err());
    }
}
