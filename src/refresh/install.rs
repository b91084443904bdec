//! The action's side of `refresh-credentials: true`: instead of keys, it
//! leaves later steps a copy of its own static binary, the description of
//! what to assume, and an AWS config file whose profile runs that binary as
//! `credential_process`. Every SDK and CLI then refreshes through it.
//!
//! ```text
//!  $RUNNER_TEMP/_github_home/.keyless-aws/   (0700, owned by the runner's user;
//!                                             `_github_home` is mounted into Docker actions too)
//!    keyless-aws          0755  copy of /proc/self/exe (static)
//!    refresh.json         0600  description: region, roles, audience; no secret
//!    ca-certificates.crt  0644  the action's CA bundle (for images without one)
//!    refresh-config       0600  [profile NAME] credential_process = … (see CommandStyle)
//!    refresh-cache-<fingerprint>.json       0600  written later by the helper (the last answer)
//!    refresh-cache-<fingerprint>.json.lock        flock shared by parallel helpers
//!    refresh-cache-token-<digest>.jwt       0600  the last OIDC token of an audience, shared
//!    refresh-cache-token-<digest>.jwt.lock        flock around its request
//! ```
//!
//! Which path later steps see: the runner rewrites every environment value
//! that starts with a mounted host directory into the container's path for
//! it (`TranslateToContainerPath`, applied to a job container's `docker exec`
//! and to a Docker action's `docker run` alike). So `AWS_CONFIG_FILE`,
//! exported as a host path below `$RUNNER_TEMP`, arrives as `/__w/_temp/…` in
//! a job container and `/github/runner_temp/…` (or `/github/home/…` for
//! `$RUNNER_TEMP/_github_home`, mounted by every runner version) in a Docker
//! action. The config file's *content* is not rewritten, so with
//! [`CommandStyle::BesideConfigFile`] the command finds the helper through
//! `$AWS_CONFIG_FILE` itself, and one file serves all three.
//!
//! Quoting: botocore splits `credential_process` with `shlex` (no shell);
//! the Rust, Go and JS SDKs hand it to `sh -c`. Double-quoted paths and a
//! single-quoted script read the same in both as long as a path holds none of
//! `" ' \ $ `` ` `` and no control character; the Rust SDK also ends a value
//! at a `#` or `;` after whitespace. Paths outside a small safe set are refused.

use super::cache::{Cache, ProcessOutput};
use super::description::Description;
use crate::profile::ProfileDir;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const BINARY: &str = "keyless-aws";
pub const DESCRIPTION: &str = "refresh.json";
pub const CONFIG: &str = "refresh-config";
/// The action's CA bundle, for later steps whose container has none.
pub const CA_BUNDLE: &str = "ca-certificates.crt";

/// The runner's user, who must own everything later steps use.
pub use crate::plan::FileOwner as Owner;

/// How the profile's `credential_process` finds the helper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CommandStyle {
    /// `"/dir/keyless-aws" credential-process --description "/dir/refresh.json"`:
    /// no shell, but right only where the files are at that very path (the
    /// host's `run:` steps).
    Absolute,
    /// `sh -c 'exec "${AWS_CONFIG_FILE%/*}/keyless-aws" credential-process
    /// --description "${AWS_CONFIG_FILE%/*}/refresh.json"'`: follows the
    /// runner's rewriting of `AWS_CONFIG_FILE` into each container's view, so
    /// host steps, job containers and Docker actions all work. Needs `/bin/sh`
    /// where the SDK runs (most SDKs run the command through it anyway).
    BesideConfigFile,
}

pub struct Request<'a> {
    pub dir: &'a ProfileDir,
    /// `None`: the files keep this process's owner.
    pub owner: Option<Owner>,
    pub profile: &'a str,
    pub description: &'a Description,
    /// The binary to copy; the action passes `/proc/self/exe`.
    pub binary: &'a Path,
    /// The CA bundle the action itself trusts (its image's
    /// `/etc/ssl/certs/ca-certificates.crt`), copied beside the helper: a job
    /// container or Docker action image without CA certificates could not
    /// verify STS or the token service otherwise.
    pub ca_bundle: Option<&'a Path>,
    pub style: CommandStyle,
    /// The credentials the action just obtained, written as the first cache
    /// entry so that the first SDK call in a later step does not call STS again.
    pub seed: Option<&'a ProcessOutput>,
}

/// A file this run created, remembered by identity so the post step removes
/// exactly it and not whatever replaced it since. Device and inode alone are
/// not enough: a file created after ours was removed often gets the same
/// inode, so the size and modification time are part of the identity.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledFile {
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
    pub mtime: (i64, i64),
}

impl InstalledFile {
    fn of(path: &Path, meta: &std::fs::Metadata) -> InstalledFile {
        InstalledFile {
            path: path.to_owned(),
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        }
    }
}

impl InstalledFile {
    /// One line of the post step's state: `dev ino len sec nsec path`.
    pub fn to_state_line(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.dev,
            self.ino,
            self.len,
            self.mtime.0,
            self.mtime.1,
            self.path.display()
        )
    }

    /// The inverse of [`InstalledFile::to_state_line`]; `None` for anything else.
    pub fn from_state_line(line: &str) -> Option<InstalledFile> {
        let mut parts = line.splitn(6, ' ');
        let mut next = || parts.next();
        let dev = next()?.parse().ok()?;
        let ino = next()?.parse().ok()?;
        let len = next()?.parse().ok()?;
        let sec = next()?.parse().ok()?;
        let nsec = next()?.parse().ok()?;
        let path = PathBuf::from(next()?);
        path.is_absolute().then_some(InstalledFile {
            path,
            dev,
            ino,
            len,
            mtime: (sec, nsec),
        })
    }
}

#[derive(Debug)]
pub struct Installed {
    pub files: Vec<InstalledFile>,
    /// Variables to export for later steps, in order. The key variables are
    /// blank: an SDK prefers keys in the environment over any profile.
    pub env: Vec<(&'static str, String)>,
    /// The cache file name written into the description.
    pub cache_file: String,
}

/// Names the cache after what it caches: a second `refresh-credentials` step
/// in the same job (another role, region or chain) writes a new description
/// beside the old cache, and must not be served the first role's keys. The
/// name is computed once here and recorded in the description, so the
/// hasher's output need not be stable across releases.
fn cache_name(d: &Description) -> String {
    use std::hash::{Hash, Hasher};
    let mut unnamed = d.clone();
    unnamed.cache_file = String::new();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    unnamed.to_json().hash(&mut hasher);
    format!("{CACHE_PREFIX}{:016x}.json", hasher.finish())
}

const CACHE_PREFIX: &str = "refresh-cache-";

#[derive(Debug, PartialEq)]
pub struct InstallError {
    pub problem: String,
    pub fix: String,
}

fn err(problem: impl Into<String>, fix: impl Into<String>) -> InstallError {
    InstallError {
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// One refreshing profile: its name and region (for the config file), what
/// its helper replays, and the credentials to seed its cache with.
pub struct RefreshProfile<'a> {
    pub name: &'a str,
    pub region: &'a str,
    pub description: &'a Description,
    pub seed: Option<&'a ProcessOutput>,
}

/// Several refreshing profiles in one directory: one helper, one CA bundle,
/// one config file, and a description (and cache) per profile.
pub struct ProfilesRequest<'a> {
    pub dir: &'a ProfileDir,
    pub owner: Option<Owner>,
    pub profiles: &'a [RefreshProfile<'a>],
    pub binary: &'a Path,
    pub ca_bundle: Option<&'a Path>,
    pub style: CommandStyle,
}

/// What [`install_profiles`] wrote.
#[derive(Debug)]
pub struct InstalledProfiles {
    pub files: Vec<InstalledFile>,
    /// `AWS_CONFIG_FILE` as later steps see it.
    pub config_for_later: String,
    /// Each profile's cache file name, in the order of the request.
    pub cache_files: Vec<String>,
}

/// Writes the three files (atomically each) and returns them with the
/// variables to export. On any failure the files written so far are removed.
pub fn install(req: &Request<'_>) -> Result<Installed, InstallError> {
    let profile = RefreshProfile {
        name: req.profile,
        region: &req.description.region,
        description: req.description,
        seed: req.seed,
    };
    let installed = install_profiles(&ProfilesRequest {
        dir: req.dir,
        owner: req.owner,
        profiles: std::slice::from_ref(&profile),
        binary: req.binary,
        ca_bundle: req.ca_bundle,
        style: req.style,
    })?;
    let region = req.description.region.clone();
    let env = vec![
        ("AWS_CONFIG_FILE", installed.config_for_later),
        ("AWS_PROFILE", req.profile.to_owned()),
        ("AWS_REGION", region.clone()),
        ("AWS_DEFAULT_REGION", region),
        // The Go SDK v1 reads the config file only with this set.
        ("AWS_SDK_LOAD_CONFIG", "1".to_owned()),
        ("AWS_ACCESS_KEY_ID", String::new()),
        ("AWS_SECRET_ACCESS_KEY", String::new()),
        ("AWS_SESSION_TOKEN", String::new()),
    ];
    Ok(Installed {
        files: installed.files,
        env,
        cache_file: installed.cache_files.into_iter().next().unwrap_or_default(),
    })
}

/// The description file of a profile: `refresh.json` when it is the only
/// one, else one per profile (names are checked to be plain file names).
fn description_file(profile: &str, count: usize) -> String {
    if count == 1 {
        DESCRIPTION.to_owned()
    } else {
        format!("refresh-{profile}.json")
    }
}

/// The `credential_process` line of one profile.
fn command(req: &ProfilesRequest<'_>, description_file: &str) -> Result<String, InstallError> {
    Ok(match req.style {
        CommandStyle::Absolute => {
            let binary = req.dir.for_later_steps.join(BINARY);
            let description = req.dir.for_later_steps.join(description_file);
            format!(
                "\"{}\" credential-process --description \"{}\"",
                config_word(&binary)?,
                config_word(&description)?
            )
        }
        CommandStyle::BesideConfigFile => format!(
            "sh -c 'exec \"${{AWS_CONFIG_FILE%/*}}/{BINARY}\" credential-process --description \"${{AWS_CONFIG_FILE%/*}}/{description_file}\"'"
        ),
    })
}

/// Each profile's description (with its cache name) and config section.
fn describe_profiles(
    req: &ProfilesRequest<'_>,
) -> Result<(Vec<(String, Description)>, String), InstallError> {
    let mut config = String::from(
        "# Written by keyless-aws (refresh-credentials: true); its post step removes it.\n",
    );
    let mut described = Vec::new();
    for profile in req.profiles {
        profile.description.validate().map_err(|p| {
            err(
                format!("the refresh description is invalid: {p}"),
                "This is a bug in the action; please report it.",
            )
        })?;
        check_profile_name(profile.name)?;
        let mut description = profile.description.clone();
        description.cache_file = cache_name(&description);
        let file = description_file(profile.name, req.profiles.len());
        let section = if profile.name == "default" {
            "default".to_owned()
        } else {
            format!("profile {}", profile.name)
        };
        config.push_str(&format!(
            "[{section}]\ncredential_process = {}\nregion = {}\n",
            command(req, &file)?,
            profile.region
        ));
        described.push((file, description));
    }
    Ok((described, config))
}

/// Writes the helper, the CA bundle, each profile's description and the
/// config (atomically each), then seeds each profile's cache. On any failure
/// the files written so far are removed.
pub fn install_profiles(req: &ProfilesRequest<'_>) -> Result<InstalledProfiles, InstallError> {
    let (described, config) = describe_profiles(req)?;
    let config_path = path_text(&req.dir.for_later_steps.join(CONFIG))?.to_owned();
    make_dir(&req.dir.local, req.owner)?;
    let mut files = Vec::new();
    if let Err(e) = write_files(req, &described, &config, &mut files) {
        remove(&files, &req.dir.local);
        return Err(e);
    }
    for (profile, (_, description)) in req.profiles.iter().zip(&described) {
        let Some(seed) = profile.seed else { continue };
        // Not fatal: without it the first call refreshes.
        let cache = Cache::new(req.dir.local.join(&description.cache_file));
        if let Err(e) = cache.write(seed) {
            crate::workflow::info(&format!(
                "refresh-credentials: could not seed the cache ({e}); the first AWS call will refresh"
            ));
        }
    }
    Ok(InstalledProfiles {
        files,
        config_for_later: config_path,
        cache_files: described.into_iter().map(|(_, d)| d.cache_file).collect(),
    })
}

fn write_files(
    req: &ProfilesRequest<'_>,
    described: &[(String, Description)],
    config: &str,
    files: &mut Vec<InstalledFile>,
) -> Result<(), InstallError> {
    let source = File::open(req.binary).map_err(|e| {
        err(
            format!("cannot read its own binary {}: {e}", req.binary.display()),
            "This is a bug in the action; please report it.",
        )
    })?;
    files.push(write_file(
        &req.dir.local.join(BINARY),
        0o755,
        req.owner,
        |f| std::io::copy(&mut &source, f).map(|_| ()),
    )?);
    if let Some(bundle) = req.ca_bundle {
        let source = File::open(bundle).map_err(|e| {
            err(
                format!("cannot read the CA bundle {}: {e}", bundle.display()),
                "This is a bug in the action's image; please report it.",
            )
        })?;
        files.push(write_file(
            &req.dir.local.join(CA_BUNDLE),
            0o644,
            req.owner,
            |f| std::io::copy(&mut &source, f).map(|_| ()),
        )?);
    }
    for (file, description) in described {
        files.push(write_file(
            &req.dir.local.join(file),
            0o600,
            req.owner,
            |f| f.write_all(description.to_json().as_bytes()),
        )?);
    }
    files.push(write_file(
        &req.dir.local.join(CONFIG),
        0o600,
        req.owner,
        |f| f.write_all(config.as_bytes()),
    )?);
    Ok(())
}

/// The post step: removes the files `install` created (only if still the same
/// file: same device, inode, size and time), every cache and lock the helper
/// wrote (regular files only, never through a link), then the directory if
/// it is empty.
pub fn remove(files: &[InstalledFile], dir_local: &Path) {
    for f in files {
        let same = std::fs::symlink_metadata(&f.path)
            .is_ok_and(|m| m.file_type().is_file() && InstalledFile::of(&f.path, &m) == *f);
        if same {
            let _ = std::fs::remove_file(&f.path);
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir_local) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.starts_with(CACHE_PREFIX)
                && [".json", ".json.lock", ".jwt", ".jwt.lock"]
                    .iter()
                    .any(|end| name.ends_with(end));
            if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir_local);
}

fn check_profile_name(name: &str) -> Result<(), InstallError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(err(
            format!("profile name {name:?} cannot be written to an AWS config file"),
            "Use 1 to 64 letters, digits, `-`, `_` or `.`.",
        ));
    }
    Ok(())
}

fn path_text(path: &Path) -> Result<&str, InstallError> {
    path.to_str().filter(|p| p.starts_with('/')).ok_or_else(|| {
        err(
            format!("{} is not an absolute UTF-8 path", path.display()),
            "Run the job with a runner temp directory that has a plain absolute path.",
        )
    })
}

/// The path as it goes between double quotes in `credential_process`.
pub fn config_word(path: &Path) -> Result<&str, InstallError> {
    let text = path_text(path)?;
    let bad = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || " /._-+,=@:~".contains(*c)));
    match bad {
        None => Ok(text),
        Some(c) => Err(err(
            format!(
                "the path {text:?} holds {c:?}, which AWS config files and the SDKs' command parsers do not read alike"
            ),
            "Use a runner work directory whose path has only letters, digits, spaces and / . _ - + , = @ : ~",
        )),
    }
}

/// The refresh directory is created exactly like the profile directory (the
/// same directory when both are used): one set of rules, in `trusted_files`.
fn make_dir(dir: &Path, owner: Option<Owner>) -> Result<(), InstallError> {
    crate::trusted_files::make_private_dir(dir, owner.map(|o| (o.uid, o.gid))).map_err(|e| {
        err(
            format!("cannot create {}: {e}", dir.display()),
            "Check that the runner's temp directory exists, is writable and is reached without a symbolic link.",
        )
    })
}

/// Writes a new file beside `path` with `mode`, gives it to `owner`, renames it into place.
fn write_file(
    path: &Path,
    mode: u32,
    owner: Option<Owner>,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<InstalledFile, InstallError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let fail = |e: std::io::Error| {
        let _ = std::fs::remove_file(&tmp);
        err(
            format!("cannot write {}: {e}", path.display()),
            "Check that the runner's temp directory is writable and not full.",
        )
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(fail)?;
    fill(&mut file).map_err(fail)?;
    // The umask may have narrowed the mode given at creation.
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(fail)?;
    if let Some(o) = owner {
        std::os::unix::fs::fchown(&file, Some(o.uid), Some(o.gid)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err(
                format!("cannot give {} to uid {}: {e}", path.display(), o.uid),
                "The action's container runs as root to do this; on a self-hosted runner run it as the runner's user.",
            )
        })?;
    }
    drop(file);
    std::fs::rename(&tmp, path).map_err(fail)?;
    let meta = std::fs::symlink_metadata(path).map_err(fail)?;
    Ok(InstalledFile::of(path, &meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refresh::description::tests::sample;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn installed_files_survive_the_post_step_state() {
        let f = InstalledFile {
            path: PathBuf::from("/rt/_github_home/.keyless-aws/a dir/refresh-config"),
            dev: 66306,
            ino: 1234567,
            len: 210,
            mtime: (1_764_400_000, 123_456_789),
        };
        assert_eq!(InstalledFile::from_state_line(&f.to_state_line()), Some(f));
        for bad in ["", "1 2 3 4 5", "1 2 3 4 5 relative/path", "x 2 3 4 5 /p"] {
            assert_eq!(InstalledFile::from_state_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn writes_the_files_and_the_exports_then_removes_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ProfileDir {
            local: tmp.path().join("a dir").join(".keyless-aws"),
            for_later_steps: PathBuf::from("/home/runner/work/_temp/.keyless-aws"),
        };
        let fake_binary = tmp.path().join("bin");
        std::fs::write(&fake_binary, b"\x7fELF...").unwrap();
        let d = sample();
        let installed = install(&Request {
            dir: &dir,
            owner: None,
            profile: "deploy",
            description: &d,
            binary: &fake_binary,
            ca_bundle: None,
            style: CommandStyle::Absolute,
            seed: None,
        })
        .unwrap();
        assert_eq!(installed.files.len(), 3);
        let mode = |n: &str| {
            std::fs::metadata(dir.local.join(n))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(BINARY), 0o755);
        assert_eq!(mode(DESCRIPTION), 0o600);
        assert_eq!(mode(CONFIG), 0o600);
        assert_eq!(
            std::fs::metadata(&dir.local).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let config = std::fs::read_to_string(dir.local.join(CONFIG)).unwrap();
        assert!(config.contains("[profile deploy]\ncredential_process = \"/home/runner/work/_temp/.keyless-aws/keyless-aws\" credential-process --description \"/home/runner/work/_temp/.keyless-aws/refresh.json\"\nregion = eu-west-1\n"), "{config}");
        let back = Description::load(&dir.local.join(DESCRIPTION)).unwrap();
        assert_eq!(back.cache_file, installed.cache_file);
        assert!(installed.cache_file.starts_with(CACHE_PREFIX));
        assert_eq!(
            Description {
                cache_file: d.cache_file.clone(),
                ..back
            },
            d
        );
        let mut other = d.clone();
        other.web_identity.role_arn = "arn:aws:iam::123456789012:role/other".into();
        assert_ne!(
            cache_name(&other),
            installed.cache_file,
            "another role, another cache"
        );
        let env: std::collections::HashMap<_, _> = installed.env.iter().cloned().collect();
        assert_eq!(
            env["AWS_CONFIG_FILE"],
            "/home/runner/work/_temp/.keyless-aws/refresh-config"
        );
        assert_eq!(env["AWS_PROFILE"], "deploy");
        assert_eq!(env["AWS_ACCESS_KEY_ID"], "");

        // A file replaced since is left alone; ours, the cache and the lock go.
        std::fs::remove_file(dir.local.join(CONFIG)).unwrap();
        std::fs::write(dir.local.join(CONFIG), "someone else's").unwrap();
        std::fs::write(dir.local.join(&installed.cache_file), "{}").unwrap();
        std::fs::write(dir.local.join("refresh-cache-0123.json.lock"), "").unwrap();
        remove(&installed.files, &dir.local);
        assert!(!dir.local.join(BINARY).exists());
        assert!(!dir.local.join(&installed.cache_file).exists());
        assert!(!dir.local.join("refresh-cache-0123.json.lock").exists());
        assert!(dir.local.join(CONFIG).exists());
    }

    #[test]
    fn the_portable_command_reads_the_same_in_shlex_and_sh() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ProfileDir {
            local: tmp.path().join("k"),
            for_later_steps: PathBuf::from("/home/runner/work/_temp/_github_home/.keyless-aws"),
        };
        let bin = tmp.path().join("bin");
        std::fs::write(&bin, b"x").unwrap();
        install(&Request {
            dir: &dir,
            owner: None,
            profile: "default",
            description: &sample(),
            binary: &bin,
            ca_bundle: Some(&bin),
            style: CommandStyle::BesideConfigFile,
            seed: None,
        })
        .unwrap();
        let config = std::fs::read_to_string(dir.local.join(CONFIG)).unwrap();
        let line = config
            .lines()
            .find_map(|l| l.strip_prefix("credential_process = "))
            .unwrap();
        assert!(config.contains("[default]\n"), "{config}");
        let mode = std::fs::metadata(dir.local.join(CA_BUNDLE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
        // What `sh -c LINE` runs, as the Rust, Go and JS SDKs do; botocore's
        // shlex split gives the same three words (checked in tests/refresh.rs).
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(line.replacen("exec ", "echo ", 1))
            .env(
                "AWS_CONFIG_FILE",
                "/__w/_temp/_github_home/.keyless-aws/refresh-config",
            )
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "/__w/_temp/_github_home/.keyless-aws/keyless-aws credential-process --description /__w/_temp/_github_home/.keyless-aws/refresh.json\n"
        );
        assert!(
            !line.contains(" #") && !line.contains(" ;"),
            "the Rust SDK would cut the value there"
        );
    }

    #[test]
    fn refuses_paths_and_names_that_would_be_misread() {
        for bad in [
            "/tmp/a\"b",
            "/tmp/$HOME",
            "/tmp/a`b`",
            "/tmp/a\\b",
            "/tmp/a#b",
            "/tmp/a;b",
            "/tmp/a\nb",
            "relative",
        ] {
            assert!(config_word(Path::new(bad)).is_err(), "{bad:?}");
        }
        assert!(config_word(Path::new("/opt/actions runner/_work/_temp")).is_ok());
        assert!(check_profile_name("deploy]\n[x").is_err());
        let tmp = tempfile::tempdir().unwrap();
        let dir = ProfileDir {
            local: tmp.path().join("x"),
            for_later_steps: PathBuf::from("/bad\"path"),
        };
        let e = install(&Request {
            dir: &dir,
            owner: None,
            profile: "p",
            description: &sample(),
            binary: Path::new("/proc/self/exe"),
            ca_bundle: None,
            style: CommandStyle::Absolute,
            seed: None,
        })
        .unwrap_err();
        assert!(e.problem.contains("path"), "{e:?}");
        assert!(!dir.local.exists(), "nothing is written for a refused path");
    }
}
