//! `aws-profile`: writes the credentials as a named profile into INI files that
//! the job's later steps read.
//!
//! Where the directory is (a container action writes below `/github/home`, which
//! later steps see under `$RUNNER_TEMP/_github_home`) is decided while planning.
//! The exported `AWS_CONFIG_FILE`/`AWS_SHARED_CREDENTIALS_FILE` are host paths.
//! `$RUNNER_TEMP` is emptied at the end of every job, and the post step removes
//! the files earlier.
//!
//! Later steps may run as another user than this process: on GitHub-hosted
//! runners a container action runs as root and `run:` steps as uid 1001. The
//! directory (0700) and files (0600) are therefore given to the runner's user
//! (the owner of its file-command files), or later steps could not read them.

use crate::aws_names::{ProfileName, Region};
use crate::error::Error;
use crate::plan::FileOwner;
use crate::secret::Credentials;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The directory's name, wherever it is placed; the post step only removes
/// files directly inside a directory of this name.
pub const DIR_NAME: &str = ".keyless-aws";

pub use crate::plan::ProfileDir;

/// The two files as they were before this run, to put back if the export fails.
#[derive(Debug)]
pub struct Written {
    pub files: Vec<(PathBuf, Option<Vec<u8>>)>,
    /// Each file this run created, by identity: what the post step may remove.
    pub created: Vec<FileIdentity>,
    /// Who the files must belong to, also when rolled back.
    pub owner: Option<FileOwner>,
    /// Paths as later steps see them: (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE).
    pub config_for_later: PathBuf,
    pub credentials_for_later: PathBuf,
}

impl Written {
    /// What the post step needs to remove the files (`GITHUB_STATE`
    /// `profile_files`): each file by identity, one line each, so it removes
    /// only these very files; the one format for every mode.
    pub fn state_value(&self) -> String {
        let created: Vec<String> = self
            .created
            .iter()
            .map(FileIdentity::to_state_line)
            .collect();
        created.join("\n")
    }

    /// Restores both files to their state before this run.
    pub fn roll_back(&self) {
        for (path, before) in &self.files {
            match before {
                Some(bytes) => {
                    let _ = replace_file(path, bytes, self.owner);
                }
                None => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }
}

/// What a profile holds: fixed keys, or a command the SDK runs to get (and
/// later refresh) them. One profile of a file can be either, so a `roles` run
/// can mix both when profiles refresh themselves.
#[derive(Debug, Clone, Copy)]
pub enum ProfileContent<'a> {
    /// Keys in the credentials file.
    Keys(&'a Credentials),
    /// `credential_process = COMMAND` in the config file; the credentials file
    /// then holds no section of that name (it would take precedence).
    CredentialProcess(&'a str),
}

/// Which input named the profiles: what a refusal to replace one tells the user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NamedBy {
    AwsProfile,
    Roles,
}

impl NamedBy {
    fn taken_fix(self) -> &'static str {
        match self {
            NamedBy::AwsProfile => {
                "Choose another `aws-profile`, or set `overwrite-aws-profile: true`."
            }
            NamedBy::Roles => {
                "Rename the profile in `roles`, or set `overwrite-aws-profile: true` to replace it."
            }
        }
    }
}

/// One named profile to write.
#[derive(Debug, Clone, Copy)]
pub struct ProfileEntry<'a> {
    pub name: &'a ProfileName,
    pub region: &'a Region,
    pub content: ProfileContent<'a>,
}

/// Writes `[profile NAME]` (config) and `[NAME]` (credentials), refusing to
/// replace an existing profile unless `overwrite`.
pub fn write_profile(
    dir: &ProfileDir,
    name: &ProfileName,
    region: &Region,
    creds: &Credentials,
    overwrite: bool,
    owner: Option<FileOwner>,
) -> Result<Written, Error> {
    let entry = ProfileEntry {
        name,
        region,
        content: ProfileContent::Keys(creds),
    };
    write_profiles(dir, &[entry], overwrite, owner, NamedBy::AwsProfile)
}

/// Writes every profile into the two files at once (each file replaced in one
/// rename), refusing to replace an existing profile unless `overwrite`.
pub fn write_profiles(
    dir: &ProfileDir,
    entries: &[ProfileEntry<'_>],
    overwrite: bool,
    owner: Option<FileOwner>,
    named_by: NamedBy,
) -> Result<Written, Error> {
    crate::trusted_files::make_private_dir(&dir.local, owner.map(|o| (o.uid, o.gid))).map_err(
        |e| Error::Profile {
            problem: format!("cannot create {}: {e}", dir.local.display()),
            fix: "Check that the runner's temp directory is writable.".into(),
            source: Some(e),
        },
    )?;
    let config = dir.local.join("config");
    let credentials = dir.local.join("credentials");
    let (config_sections, creds_sections) = sections(entries)?;
    let mut files = Vec::new();
    let mut plans = Vec::new();
    for (path, sections) in [(&config, config_sections), (&credentials, creds_sections)] {
        let (before, text) = merged(path, &sections, overwrite, named_by)?;
        plans.push((path.clone(), text));
        files.push((path.clone(), before));
    }
    let mut written = Written {
        files,
        created: Vec::new(),
        owner,
        config_for_later: dir.for_later_steps.join("config"),
        credentials_for_later: dir.for_later_steps.join("credentials"),
    };
    for (path, text) in plans {
        match replace_file(&path, text.as_bytes(), owner) {
            Ok(identity) => written.created.push(identity),
            Err(e) => {
                written.roll_back();
                return Err(Error::Profile {
                    problem: format!("cannot write {}: {e}", path.display()),
                    fix: "Check that the runner's temp directory is writable.".into(),
                    source: Some(e),
                });
            }
        }
    }
    Ok(written)
}

/// A profile section of a file: its name, and its body (`None` to only remove it).
type Section = (String, Option<String>);

/// Each profile's section of the config file and of the credentials file.
fn sections(entries: &[ProfileEntry<'_>]) -> Result<(Vec<Section>, Vec<Section>), Error> {
    let mut config_sections: Vec<Section> = Vec::new();
    let mut creds_sections: Vec<Section> = Vec::new();
    for entry in entries {
        let name = entry.name.as_str();
        let mut config_body = format!("region = {}\n", entry.region);
        config_body.push_str("output = json\n");
        let creds_body = match entry.content {
            ProfileContent::Keys(creds) => {
                let mut body = format!(
                    "aws_access_key_id = {}\naws_secret_access_key = {}\n",
                    creds.access_key_id.expose(),
                    creds.secret_access_key.expose()
                );
                if let Some(token) = &creds.session_token {
                    body.push_str(&format!("aws_session_token = {}\n", token.expose()));
                }
                Some(body)
            }
            ProfileContent::CredentialProcess(command) => {
                // One line of INI: a line break would start a new setting.
                if command.contains(['\n', '\r']) || command.trim().is_empty() {
                    return Err(Error::Profile {
                        problem: format!("the credential_process command of profile `{name}` is empty or spans several lines"),
                        fix: "This is a bug in the action; please report it.".into(),
                        source: None,
                    });
                }
                config_body.push_str(&format!("credential_process = {command}\n"));
                None
            }
        };
        config_sections.push((format!("profile {name}"), Some(config_body)));
        creds_sections.push((name.to_owned(), creds_body));
    }

    Ok((config_sections, creds_sections))
}

/// The file's text as it was (to roll back to), and with the sections
/// replaced; an existing profile is refused unless `overwrite`.
fn merged(
    path: &Path,
    sections: &[Section],
    overwrite: bool,
    named_by: NamedBy,
) -> Result<(Option<Vec<u8>>, String), Error> {
    let before = read_no_follow(path)?;
    let mut text = before
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default()
        .into_owned();
    for (section, body) in sections {
        if has_section(&text, section) && !overwrite {
            let name = section.strip_prefix("profile ").unwrap_or(section);
            return Err(Error::Profile {
                problem: format!("profile `{name}` already exists in {}", path.display()),
                fix: named_by.taken_fix().into(),
                source: None,
            });
        }
        text = without_section(&text, section);
        if let Some(body) = body {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("[{section}]\n{body}"));
        }
    }
    Ok((before, text))
}

/// A file by identity (device and inode) as well as by name: the post step
/// removes a file only if the name still leads to the very file this run
/// created, never whatever was put there since (a link, another file).
/// Inode numbers are reused as soon as a file is deleted, so the change time
/// (to the nanosecond) is part of the identity too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIdentity {
    pub dev: u64,
    pub ino: u64,
    pub ctime_ns: i128,
    pub path: PathBuf,
}

impl FileIdentity {
    fn of(meta: &std::fs::Metadata, path: &Path) -> FileIdentity {
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            path: path.to_owned(),
        }
    }

    /// One line of `GITHUB_STATE`: `DEV INO CTIME_NS PATH`.
    pub fn to_state_line(&self) -> String {
        format!(
            "{} {} {} {}",
            self.dev,
            self.ino,
            self.ctime_ns,
            self.path.display()
        )
    }

    pub fn from_state_line(line: &str) -> Option<FileIdentity> {
        let mut parts = line.splitn(4, ' ');
        Some(FileIdentity {
            dev: parts.next()?.parse().ok()?,
            ino: parts.next()?.parse().ok()?,
            ctime_ns: parts.next()?.parse().ok()?,
            path: PathBuf::from(parts.next().filter(|p| p.starts_with('/'))?),
        })
    }
}

fn read_no_follow(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Profile {
            problem: format!("cannot read {}: {e}", path.display()),
            fix: "Check the runner's temp directory.".into(),
            source: Some(e),
        }),
        Ok(meta) if !meta.file_type().is_file() => Err(Error::Profile {
            problem: format!("{} is not a regular file (a symlink?)", path.display()),
            fix: "Remove it; this action never writes credentials through a link.".into(),
            source: None,
        }),
        Ok(_) => std::fs::read(path).map(Some).map_err(|e| Error::Profile {
            problem: format!("cannot read {}: {e}", path.display()),
            fix: "Check the runner's temp directory.".into(),
            source: Some(e),
        }),
    }
}

/// Replaces a file atomically: a new 0600 file created beside it (never through
/// a link), given to `owner`, then renamed over it. Returns the new file's identity.
fn replace_file(
    path: &Path,
    bytes: &[u8],
    owner: Option<FileOwner>,
) -> std::io::Result<FileIdentity> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    let done = (|| {
        if let Some(owner) = owner {
            let meta = file.metadata()?;
            if owner.uid != meta.uid() || owner.gid != meta.gid() {
                std::os::unix::fs::fchown(&file, Some(owner.uid), Some(owner.gid))?;
            }
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // After the rename (which may change the ctime), read through the
        // descriptor: the very file written, whatever the name leads to now.
        Ok(FileIdentity::of(&file.metadata()?, path))
    })();
    // A failed write leaves no half-written temporary file beside the profile.
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
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

/// Removes the files the main step created (post step), given as the state
/// lines of [`FileIdentity::to_state_line`]. A file is removed only if it is
/// directly inside a `.keyless-aws` directory reached without links and its
/// name still leads to the same device and inode; anything else put in its
/// place since is left alone. Returns how many files were removed.
pub fn remove_created(state: &str) -> usize {
    let mut removed = 0;
    for identity in state.lines().filter_map(FileIdentity::from_state_line) {
        let path = &identity.path;
        let inside = path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == DIR_NAME);
        let same = std::fs::symlink_metadata(path)
            .is_ok_and(|m| m.file_type().is_file() && FileIdentity::of(&m, path) == identity);
        let no_links = path
            .parent()
            .is_some_and(|d| crate::trusted_files::refuse_links(d).is_ok());
        if inside && same && no_links && std::fs::remove_file(path).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::os::unix::fs::PermissionsExt;

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
        let name = |n: &str| ProfileName::parse(n).unwrap();
        let region = |r: &str| Region::parse(r).unwrap();
        let meta = std::fs::metadata(tmp.path()).unwrap();
        let me = Some(FileOwner {
            uid: meta.uid(),
            gid: meta.gid(),
        });
        let written = write_profile(
            &dir,
            &name("deploy"),
            &region("eu-west-1"),
            &creds(),
            false,
            me,
        )
        .unwrap();
        assert_eq!(written.config_for_later, PathBuf::from("/host/x/config"));
        let text = std::fs::read_to_string(dir.local.join("credentials")).unwrap();
        assert!(text.starts_with("[deploy]\naws_access_key_id = ASIAEXAMPLE\n"));
        assert_eq!(
            std::fs::metadata(dir.local.join("credentials"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(&dir.local).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert!(write_profile(
            &dir,
            &name("deploy"),
            &region("eu-west-1"),
            &creds(),
            false,
            me
        )
        .is_err());
        write_profile(
            &dir,
            &name("other"),
            &region("eu-west-1"),
            &creds(),
            false,
            None,
        )
        .unwrap();
        let again = write_profile(
            &dir,
            &name("deploy"),
            &region("us-east-1"),
            &creds(),
            true,
            me,
        )
        .unwrap();
        let config = std::fs::read_to_string(dir.local.join("config")).unwrap();
        assert_eq!(config.matches("[profile deploy]").count(), 1);
        assert!(config.contains("[profile other]") && config.contains("us-east-1"));
        again.roll_back();
        let config = std::fs::read_to_string(dir.local.join("config")).unwrap();
        assert!(!config.contains("us-east-1"));
    }

    #[test]
    fn several_profiles_mix_keys_and_credential_process() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ProfileDir {
            local: tmp.path().join(DIR_NAME),
            for_later_steps: PathBuf::from("/host/x"),
        };
        let (dev, prod) = (
            ProfileName::parse("dev").unwrap(),
            ProfileName::parse("prod").unwrap(),
        );
        let (eu, us) = (
            Region::parse("eu-west-1").unwrap(),
            Region::parse("us-west-2").unwrap(),
        );
        let keys = creds();
        // prod first had static keys; as a credential_process profile those must go.
        write_profile(&dir, &prod, &us, &keys, false, None).unwrap();
        let entries = [
            ProfileEntry {
                name: &dev,
                region: &eu,
                content: ProfileContent::Keys(&keys),
            },
            ProfileEntry {
                name: &prod,
                region: &us,
                content: ProfileContent::CredentialProcess("/rt/keyless-aws credential-process"),
            },
        ];
        let err = write_profiles(&dir, &entries, false, None, NamedBy::Roles).unwrap_err();
        assert!(err.to_string().contains("`prod` already exists"), "{err}");
        assert!(err.help().contains("in `roles`"), "{}", err.help());
        write_profiles(&dir, &entries, true, None, NamedBy::Roles).unwrap();
        let config = std::fs::read_to_string(dir.local.join("config")).unwrap();
        let credentials = std::fs::read_to_string(dir.local.join("credentials")).unwrap();
        assert_eq!(
            config,
            "[profile dev]\nregion = eu-west-1\noutput = json\n[profile prod]\nregion = us-west-2\noutput = json\ncredential_process = /rt/keyless-aws credential-process\n"
        );
        assert_eq!(credentials.matches('[').count(), 1, "{credentials}");
        assert!(credentials.starts_with("[dev]\n"), "{credentials}");
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        // A non-empty directory where the file goes: the final rename fails.
        let path = tmp.path().join("credentials");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("x"), "").unwrap();
        assert!(replace_file(&path, b"data", None).is_err());
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("credentials")]);
    }
}
