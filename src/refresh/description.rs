//! The description of what the helper assumes: everything it needs except the
//! secrets. It is written by the action next to the helper and read by every
//! `credential-process` call, so it must never hold a secret: the token-request
//! token comes from the helper's own environment at run time, and a proxy URL
//! with a password is refused.
//!
//! The cache file is named relative to the description's own directory, not
//! by an absolute path: the same directory is `$RUNNER_TEMP/…` on the host,
//! `/__w/_temp/…` in a job container and `/github/runner_temp/…` in a Docker
//! action, and one description must serve all of them.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The only format version this binary reads. A change that an older helper
/// would misread bumps it.
pub const VERSION: u32 = 1;

/// Serve a cached answer only while it has more than this left. botocore
/// refreshes 15 min before expiry (10 min mandatory), the JS SDK v3 5 min,
/// the Rust SDK 10 s (plus jitter): an answer with more than 20 min left is
/// taken by all of them without asking again at once. With a 3600 s session a
/// cached answer serves ~40 min, then the next call refreshes.
pub const DEFAULT_MIN_REMAINING_SECONDS: u64 = 20 * 60;

/// Cache and lock file names the action uses; kept beside the description.
pub const DEFAULT_CACHE_FILE: &str = "refresh-cache.json";

/// A description file larger than this is not one of ours.
pub const MAX_SIZE: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Description {
    pub version: u32,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_endpoint: Option<String>,
    pub audience: String,
    pub web_identity: WebIdentityRole,
    /// Roles assumed one after the other, each signed with the previous
    /// credentials. AWS caps a chained session at 3600 s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainedRole>,
    #[serde(default, skip_serializing_if = "ProxySettings::is_empty")]
    pub proxy: ProxySettings,
    /// A plain file name, in the description's directory.
    pub cache_file: String,
    /// See [`DEFAULT_MIN_REMAINING_SECONDS`]; tests lower it to run in seconds.
    pub min_remaining_seconds: u64,
    /// Attempts per STS call and token request (the action's `retry-max-attempts`).
    pub retry_max_attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WebIdentityRole {
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChainedRole {
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProxySettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_proxy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
}

impl ProxySettings {
    fn is_empty(&self) -> bool {
        self.https_proxy.is_none() && self.no_proxy.is_none()
    }
}

impl Description {
    /// Reads and validates a description file.
    pub fn load(path: &Path) -> Result<Description, String> {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                // SAFETY: geteuid has no preconditions and cannot fail.
                let uid = unsafe { libc::geteuid() };
                format!("cannot open it: {e}. This process runs as uid {uid}, and the files belong to the runner's user (mode 0600): run this step as that user or as root")
            } else {
                format!("cannot open it: {e}")
            }
        })?;
        let mut text = String::new();
        file.take(MAX_SIZE + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read it: {e}"))?;
        if text.len() as u64 > MAX_SIZE {
            return Err(format!("it is larger than {MAX_SIZE} bytes"));
        }
        let description: Description = serde_json::from_str(&text)
            .map_err(|e| format!("it is not a valid description: {e}"))?;
        description.validate()?;
        Ok(description)
    }

    /// The JSON written to disk.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a description serialises");
        text.push('\n');
        text
    }

    /// Where the cache lives for a description read from `description_path`.
    pub fn cache_path(&self, description_path: &Path) -> PathBuf {
        description_path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&self.cache_file)
    }

    /// Checks every field, so that a hand-edited or damaged file fails here
    /// with the field's name rather than at STS.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != VERSION {
            return Err(format!(
                "`version` is {}, but this keyless-aws reads version {VERSION}; the description was written by another release",
                self.version
            ));
        }
        let printable = |name: &str, v: &str, max: usize| {
            if v.is_empty() || v.len() > max || v.chars().any(|c| c.is_control()) {
                Err(format!("`{name}` must be 1 to {max} printable characters"))
            } else {
                Ok(())
            }
        };
        if self.region.is_empty()
            || self.region.len() > 32
            || !self
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!("`region` {:?} is not an AWS region", self.region));
        }
        if let Some(endpoint) = &self.sts_endpoint {
            let url = url::Url::parse(endpoint)
                .map_err(|e| format!("`sts-endpoint` is not a URL ({e})"))?;
            if !matches!(url.scheme(), "https" | "http") || url.password().is_some() {
                return Err("`sts-endpoint` must be an http(s) URL without credentials".into());
            }
        }
        printable("audience", &self.audience, 256)?;
        role(
            "web-identity",
            &self.web_identity.role_arn,
            &self.web_identity.session_name,
            self.web_identity.duration_seconds,
        )?;
        for (i, hop) in self.chain.iter().enumerate() {
            let name = format!("chain[{i}]");
            role(
                &name,
                &hop.role_arn,
                &hop.session_name,
                hop.duration_seconds,
            )?;
            if let Some(id) = &hop.external_id {
                printable(&format!("{name}.external-id"), id, 1224)?;
            }
        }
        if let Some(proxy) = &self.proxy.https_proxy {
            let url = url::Url::parse(proxy)
                .map_err(|e| format!("`proxy.https-proxy` is not a URL ({e})"))?;
            if url.password().is_some() {
                return Err("`proxy.https-proxy` holds a password; a description never holds secrets (give later steps HTTPS_PROXY themselves)".into());
            }
        }
        if let Some(no_proxy) = &self.proxy.no_proxy {
            printable("proxy.no-proxy", no_proxy, 4096)?;
        }
        let name = &self.cache_file;
        if name.is_empty()
            || name.len() > 64
            || name.starts_with('.')
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(format!(
                "`cache-file` {name:?} must be a plain file name (letters, digits, . _ -)"
            ));
        }
        let shortest = std::iter::once(self.web_identity.duration_seconds)
            .chain(self.chain.iter().map(|h| h.duration_seconds))
            .min()
            .unwrap_or(0)
            .max(0) as u64;
        if self.min_remaining_seconds >= shortest {
            return Err(format!(
                "`min-remaining-seconds` ({}) must be less than the shortest session ({shortest} s), or every call would ask STS",
                self.min_remaining_seconds
            ));
        }
        if !(1..=12).contains(&self.retry_max_attempts) {
            return Err("`retry-max-attempts` must be 1 to 12".into());
        }
        Ok(())
    }
}

fn role(name: &str, arn: &str, session: &str, duration: i32) -> Result<(), String> {
    if !arn.starts_with("arn:")
        || arn.len() > 2048
        || arn.split(':').count() < 6
        || arn.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(format!("`{name}.role-arn` {arn:?} is not a role ARN"));
    }
    if !(2..=64).contains(&session.len())
        || !session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    {
        return Err(format!(
            "`{name}.session-name` must be 2 to 64 of: letters, digits, + = , . @ _ -"
        ));
    }
    if !(900..=43200).contains(&duration) {
        return Err(format!(
            "`{name}.duration-seconds` is {duration}; STS accepts 900 to 43200"
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Description {
        Description {
            version: VERSION,
            region: "eu-west-1".into(),
            sts_endpoint: None,
            audience: "sts.amazonaws.com".into(),
            web_identity: WebIdentityRole {
                role_arn: "arn:aws:iam::123456789012:role/deploy".into(),
                session_name: "GitHubActions".into(),
                duration_seconds: 3600,
            },
            chain: vec![ChainedRole {
                role_arn: "arn:aws:iam::210987654321:role/target".into(),
                session_name: "chained".into(),
                duration_seconds: 3600,
                external_id: Some("ext".into()),
            }],
            proxy: ProxySettings::default(),
            cache_file: DEFAULT_CACHE_FILE.into(),
            min_remaining_seconds: DEFAULT_MIN_REMAINING_SECONDS,
            retry_max_attempts: 3,
        }
    }

    #[test]
    fn round_trips_through_json_and_validates() {
        let d = sample();
        d.validate().unwrap();
        let text = d.to_json();
        assert!(text.contains("\"web-identity\""), "{text}");
        let back: Description = serde_json::from_str(&text).unwrap();
        assert_eq!(back, d);
        assert_eq!(
            d.cache_path(Path::new("/__w/_temp/x/refresh.json")),
            PathBuf::from("/__w/_temp/x/refresh-cache.json")
        );
    }

    #[test]
    fn rejects_what_would_fail_later_or_hold_secrets() {
        type Change = Box<dyn Fn(&mut Description)>;
        let bad: Vec<(&str, Change)> = vec![
            ("version", Box::new(|d| d.version = 2)),
            ("region", Box::new(|d| d.region = "eu west".into())),
            ("cache-file", Box::new(|d| d.cache_file = "../x".into())),
            ("cache-file", Box::new(|d| d.cache_file = ".hidden".into())),
            (
                "password",
                Box::new(|d| d.proxy.https_proxy = Some("http://u:p@proxy:3128".into())),
            ),
            (
                "min-remaining",
                Box::new(|d| d.min_remaining_seconds = 3600),
            ),
            (
                "session-name",
                Box::new(|d| d.web_identity.session_name = "a b".into()),
            ),
            ("duration", Box::new(|d| d.chain[0].duration_seconds = 60)),
            (
                "role-arn",
                Box::new(|d| d.web_identity.role_arn = "deploy".into()),
            ),
            (
                "sts-endpoint",
                Box::new(|d| d.sts_endpoint = Some("ftp://x".into())),
            ),
        ];
        for (what, change) in bad {
            let mut d = sample();
            change(&mut d);
            assert!(d.validate().is_err(), "{what} accepted");
        }
        let unknown = sample().to_json().replacen('{', "{\"secret\": \"x\",", 1);
        assert!(serde_json::from_str::<Description>(&unknown).is_err());
    }
}
