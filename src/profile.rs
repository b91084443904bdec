//! `aws-profile`: writes the credentials as a named profile into INI files that
//! the job's later steps read.
//!
//! A container action's `HOME` (`/github/home`) is not the runner's `HOME`. The
//! runner mounts `$RUNNER_TEMP/_github_home` there, so a file written below
//! `/github/home` is visible to later steps at that host path. `action.yml`
//! passes the host's `runner.temp` as the hidden input `runner-temp`, with the
//! value `host:<path>` (the prefix keeps the runner from translating it into a
//! container path; `runs.env` cannot be used, it only sees the `inputs` context).
//! The exported `AWS_CONFIG_FILE`/`AWS_SHARED_CREDENTIALS_FILE` are host paths.
//! `$RUNNER_TEMP` is emptied at the end of every job, and the post step removes
//! the files earlier.

use crate::error::Error;
use crate::secret::Credentials;
use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const DIR_NAME: &str = ".keyless-aws";

/// Where this process writes, and where later steps will find the same files.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileDir {
    pub local: PathBuf,
    pub for_later_steps: PathBuf,
}

/// Decides the directory for profile files from the runner's environment.
pub fn profile_dir(env: &HashMap<String, String>) -> Result<ProfileDir, Error> {
    let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let in_container = get("HOME") == Some("/github/home") && Path::new("/github/home").is_dir();
    if in_container {
        let host_temp = get("INPUT_RUNNER-TEMP").and_then(|v| v.strip_prefix("host:")).filter(|p| p.starts_with('/')).ok_or_else(|| Error::Profile {
            problem: "the runner's temp directory is unknown inside the container".into(),
            fix: "Use this action through its action.yml (its hidden input `runner-temp` passes host:${{ runner.temp }}).".into(),
        })?;
        return Ok(ProfileDir {
            local: Path::new("/github/home").join(DIR_NAME),
            for_later_steps: Path::new(host_temp).join("_github_home").join(DIR_NAME),
        });
    }
    let temp = get("RUNNER_TEMP").ok_or_else(|| Error::Profile {
        problem: "RUNNER_TEMP is not set".into(),
        fix: "Run inside a GitHub Actions job, or set RUNNER_TEMP to a private directory.".into(),
    })?;
    let dir = Path::new(temp).join(DIR_NAME);
    Ok(ProfileDir {
        local: dir.clone(),
        for_later_steps: dir,
    })
}

/// The two files as they were before this run, to put back if the export fails.
#[derive(Debug)]
pub struct Written {
    pub files: Vec<(PathBuf, Option<Vec<u8>>)>,
    /// Paths as later steps see them: (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE).
    pub config_for_later: PathBuf,
    pub credentials_for_later: PathBuf,
}

impl Written {
    /// Restores both files to their state before this run.
    pub fn roll_back(&self) {
        for (path, before) in &self.files {
            match before {
                Some(bytes) => {
                    let _ = replace_file(path, bytes);
                }
                None => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }
}

/// Writes `[profile NAME]` (config) and `[NAME]` (credentials), refusing to
/// replace an existing profile unless `overwrite`.
pub fn write_profile(
    dir: &ProfileDir,
    name: &str,
    region: &str,
    creds: &Credentials,
    overwrite: bool,
) -> Result<Written, Error> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir.local)
        .map_err(|e| Error::Profile {
            problem: format!("cannot create {}: {e}", dir.local.display()),
            fix: "Check that the runner's temp directory is writable.".into(),
        })?;
    let config = dir.local.join("config");
    let credentials = dir.local.join("credentials");
    let config_section = format!("profile {name}");
    let mut config_body = format!("region = {region}\n");
    config_body.push_str("output = json\n");
    let mut creds_body = format!(
        "aws_access_key_id = {}\naws_secret_access_key = {}\n",
        creds.access_key_id.expose(),
        creds.secret_access_key.expose()
    );
    if let Some(token) = &creds.session_token {
        creds_body.push_str(&format!("aws_session_token = {}\n", token.expose()));
    }

    let mut files = Vec::new();
    let mut plans = Vec::new();
    for (path, section, body) in [
        (&config, &config_section, config_body),
        (&credentials, &name.to_owned(), creds_body),
    ] {
        let before = read_no_follow(path)?;
        let text = before
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
            .into_owned();
        if has_section(&text, section) && !overwrite {
            return Err(Error::Profile {
                problem: format!("profile `{name}` already exists in {}", path.display()),
                fix: "Choose another `aws-profile`, or set `overwrite-aws-profile: true`.".into(),
            });
        }
        let mut new_text = without_section(&text, section);
        if !new_text.is_empty() && !new_text.ends_with('\n') {
            new_text.push('\n');
        }
        new_text.push_str(&format!("[{section}]\n{body}"));
        plans.push((path.clone(), new_text));
        files.push((path.clone(), before));
    }
    let written = Written {
        files,
        config_for_later: dir.for_later_steps.join("config"),
        credentials_for_later: dir.for_later_steps.join("credentials"),
    };
    for (path, text) in plans {
        if let Err(e) = replace_file(&path, text.as_bytes()) {
            written.roll_back();
            return Err(Error::Profile {
                problem: format!("cannot write {}: {e}", path.display()),
                fix: "Check that the runner's temp directory is writable.".into(),
            });
        }
    }
    Ok(written)
}

fn read_no_follow(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Profile {
            problem: format!("cannot read {}: {e}", path.display()),
            fix: "Check the runner's temp directory.".into(),
        }),
        Ok(meta) if !meta.file_type().is_file() => Err(Error::Profile {
            problem: format!("{} is not a regular file (a symlink?)", path.display()),
            fix: "Remove it; this action never writes credentials through a link.".into(),
        }),
        Ok(_) => std::fs::read(path).map(Some).map_err(|e| Error::Profile {
            problem: format!("cannot read {}: {e}", path.display()),
            fix: "Check the runner's temp directory.".into(),
        }),
    }
}

/// Replaces a file atomically: a new 0600 file created beside it (never through
/// a link), then renamed over it.
fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn is_header(line: &str) -> Option<&str> {
    let t = line.trim();
    t.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .map(str::trim)
}

fn has_section(text: &str, section: &str) -> bool {
    text.lines().any(|l| is_header(l) == Some(section))
}

fn without_section(text: &str, section: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if let Some(name) = is_header(line) {
            skipping = name == section;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Removes the files listed (post step). Only files directly inside a
/// `.keyless-aws` directory are touched, and links are removed, not followed.
pub fn remove_files(paths: &[PathBuf]) {
    for path in paths {
        let inside = path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == DIR_NAME);
        if inside {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn creds() -> Credentials {
        Credentials {
            access_key_id: Secret::new("ASIAEXAMPLE"),
            secret_access_key: Secret::new("secret"),
            session_token: Some(Secret::new("token")),
            expiration: None,
        }
    }

    #[test]
    fn writes_refuses_and_overwrites() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ProfileDir {
            local: tmp.path().join(DIR_NAME),
            for_later_steps: PathBuf::from("/host/x"),
        };
        let written = write_profile(&dir, "deploy", "eu-west-1", &creds(), false).unwrap();
        assert_eq!(written.config_for_later, PathBuf::from("/host/x/config"));
        let text = std::fs::read_to_string(dir.local.join("credentials")).unwrap();
        assert!(text.starts_with("[deploy]\naws_access_key_id = ASIAEXAMPLE\n"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(dir.local.join("credentials"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        assert!(write_profile(&dir, "deploy", "eu-west-1", &creds(), false).is_err());
        write_profile(&dir, "other", "eu-west-1", &creds(), false).unwrap();
        let again = write_profile(&dir, "deploy", "us-east-1", &creds(), true).unwrap();
        let config = std::fs::read_to_string(dir.local.join("config")).unwrap();
        assert_eq!(config.matches("[profile deploy]").count(), 1);
        assert!(config.contains("[profile other]") && config.contains("us-east-1"));
        again.roll_back();
        let config = std::fs::read_to_string(dir.local.join("config")).unwrap();
        assert!(!config.contains("us-east-1"));
    }
}
