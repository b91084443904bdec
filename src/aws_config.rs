//! The few settings of the shared AWS config file that change how STS is
//! reached, read as the SDKs read them: the profile named by `AWS_PROFILE`
//! (else `AWS_DEFAULT_PROFILE`, else `default`) in `AWS_CONFIG_FILE` (else
//! `~/.aws/config`). The reference action's SDK reads them the same way, so a
//! runner configured there behaves alike here: `ca_bundle`,
//! `use_fips_endpoint`, `use_dualstack_endpoint`.
//!
//! Only reading: a missing or unreadable file is "no settings", as for the SDKs.

use std::collections::HashMap;
use std::path::PathBuf;

/// The settings found, by key (lower-case), with the file they came from.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProfileSettings {
    pub file: Option<PathBuf>,
    pub profile: String,
    values: HashMap<String, String>,
}

impl ProfileSettings {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Where a value came from, for messages: `ca_bundle in profile default of /path`.
    pub fn describe(&self, key: &str) -> String {
        let file = self
            .file
            .as_deref()
            .map_or_else(String::new, |f| format!(" of {}", f.display()));
        format!("`{key}` in profile `{}`{file}", self.profile)
    }
}

fn get<'a>(env: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// The active profile's settings from the config file the SDKs would read.
pub fn profile_settings(env: &HashMap<String, String>) -> ProfileSettings {
    let profile = get(env, "AWS_PROFILE")
        .or_else(|| get(env, "AWS_DEFAULT_PROFILE"))
        .unwrap_or("default")
        .to_owned();
    let file = get(env, "AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| get(env, "HOME").map(|h| PathBuf::from(h).join(".aws/config")));
    // Bounded: a config file is a few KiB; anything huge is not one.
    let text = file
        .as_deref()
        .and_then(|f| std::fs::read(f).ok())
        .filter(|bytes| bytes.len() <= 1024 * 1024)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    ProfileSettings {
        values: section(&text, &profile),
        file,
        profile,
    }
}

/// The `key = value` lines of `[default]`/`[profile default]` or
/// `[profile NAME]`, keys lower-cased, values trimmed. Nested (indented)
/// sub-settings such as `s3 =` blocks are skipped.
fn section(text: &str, profile: &str) -> HashMap<String, String> {
    let wanted = |header: &str| {
        let header = header.trim();
        let name = header.strip_prefix("profile ").map(str::trim);
        match name {
            Some(name) => name == profile,
            None => profile == "default" && header == "default",
        }
    };
    let mut values = HashMap::new();
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = wanted(header);
            continue;
        }
        if !inside || trimmed.starts_with(['#', ';']) || line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((key, value)) = trimmed.split_once('=') {
            values.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "[default]\nregion = eu-west-1\nca_bundle = /d.pem\n\n\
        [profile ci]\nUSE_FIPS_ENDPOINT = true\ns3 =\n  use_dualstack_endpoint = true\n\
        # use_dualstack_endpoint = true\n[sso-session x]\nca_bundle = /x.pem\n";

    #[test]
    fn the_active_profile_is_read() {
        assert_eq!(section(CONFIG, "default")["ca_bundle"], "/d.pem");
        let ci = section(CONFIG, "ci");
        assert_eq!(ci["use_fips_endpoint"], "true");
        assert!(!ci.contains_key("use_dualstack_endpoint"), "{ci:?}");
        assert!(!ci.contains_key("ca_bundle"));
        assert!(section(CONFIG, "x").is_empty());
    }

    #[test]
    fn the_file_and_profile_come_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(&file, CONFIG).unwrap();
        let env = crate::test_env::env(&[
            ("AWS_CONFIG_FILE", file.to_str().unwrap()),
            ("AWS_PROFILE", "ci"),
        ]);
        let s = profile_settings(&env);
        assert_eq!(s.get("use_fips_endpoint"), Some("true"));
        assert!(s.describe("use_fips_endpoint").contains("profile `ci`"));
        let none = profile_settings(&crate::test_env::env(&[("HOME", "/nonexistent")]));
        assert_eq!(none.get("ca_bundle"), None);
    }
}
