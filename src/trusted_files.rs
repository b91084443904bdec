//! The one place for the rules on files and directories that the action shares
//! with later steps: the `aws-profile` directory, the `refresh-credentials`
//! directory, and every file the refresh helper reads back from it.
//!
//! Why each rule:
//! - A directory is created 0700 (an existing one is tightened), owned by this
//!   process or the runner's user, with no symbolic link on any component of
//!   its path: files merged into, served from and later removed from wherever a
//!   link leads would be someone else's.
//! - A file this process trusts (the refresh description, the CA bundle, the
//!   cache) is opened with `O_NOFOLLOW|O_NONBLOCK`, must be a regular file
//!   owned by this process or root (or, for root, by the owner of its
//!   directory: a Docker action runs as root over the runner user's files),
//!   and must not be writable by group or others: a local user who could
//!   replace it could point the next refresh, and its fresh OIDC token, at an
//!   endpoint of their own. A FIFO must not hang the caller.
//! - The directory those files are read from obeys the same owner and write
//!   rules, so a path checked once cannot be swapped by another user later
//!   (the helper's binary, already running when it could check, is protected
//!   by this too).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a file or directory was not trusted; `Display` says what to do.
#[derive(Debug, PartialEq)]
pub enum Untrusted {
    Absent,
    Link,
    NotRegular,
    NotDirectory,
    /// Owned by this uid, neither this process nor root.
    Owner(u32),
    /// Its mode lets group or others write it.
    Writable(u32),
    /// This process may not read it (it belongs to the runner's user, 0600).
    Denied,
    Unreadable(String),
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Untrusted::Absent => f.write_str("it does not exist"),
            Untrusted::Link => f.write_str("it is a symbolic link, which is never followed"),
            Untrusted::NotRegular => f.write_str("it is not a regular file (a FIFO, device or directory)"),
            Untrusted::NotDirectory => f.write_str("it is not a directory"),
            Untrusted::Owner(uid) => write!(
                f,
                "it belongs to uid {uid}, neither this process (uid {}) nor root",
                euid()
            ),
            Untrusted::Writable(mode) => write!(
                f,
                "its mode {:04o} lets group or others write it; only its owner may",
                mode & 0o7777
            ),
            Untrusted::Denied => write!(
                f,
                "this process (uid {}) may not read it; the files belong to the runner's user (mode 0600): run this step as that user or as root",
                euid()
            ),
            Untrusted::Unreadable(e) => write!(f, "it cannot be read: {e}"),
        }
    }
}

impl Untrusted {
    /// The reason as the rest of a sentence naming the file: a missing or
    /// unreadable file is said plainly, a refused one says why it is refused.
    pub fn refusal(&self) -> String {
        match self {
            Untrusted::Absent | Untrusted::Denied | Untrusted::Unreadable(_) => self.to_string(),
            _ => format!(
                "refused: {self}. It is trusted only if no other user could have written it; remove the directory and run the action again"
            ),
        }
    }
}

pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Who may own what this process trusts: itself, root, and `also` (for root,
/// the runner's user who owns the directory).
fn owner_ok(uid: u32, also: Option<u32>) -> bool {
    uid == euid() || uid == 0 || also == Some(uid)
}

/// Opens `path` for reading under the rules above; `also` is one more
/// trusted owner (see [`dir_owner_for_root`]).
pub fn open_trusted(
    path: &Path,
    also: Option<u32>,
) -> Result<(File, std::fs::Metadata), Untrusted> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            _ if e.kind() == std::io::ErrorKind::NotFound => Untrusted::Absent,
            _ if e.kind() == std::io::ErrorKind::PermissionDenied => Untrusted::Denied,
            Some(libc::ELOOP) => Untrusted::Link,
            _ => Untrusted::Unreadable(e.to_string()),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| Untrusted::Unreadable(e.to_string()))?;
    if !meta.file_type().is_file() {
        return Err(Untrusted::NotRegular);
    }
    check_owner_and_mode(&meta, also)?;
    Ok((file, meta))
}

fn check_owner_and_mode(meta: &std::fs::Metadata, also: Option<u32>) -> Result<(), Untrusted> {
    if !owner_ok(meta.uid(), also) {
        return Err(Untrusted::Owner(meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Untrusted::Writable(meta.mode()));
    }
    Ok(())
}

/// Checks the directory files are read from (not followed if a link): owned
/// by this process or root (any owner when this process is root), not
/// writable by group or others. Returns its owner.
pub fn check_trusted_dir(dir: &Path) -> Result<u32, Untrusted> {
    let handle = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| match e.raw_os_error() {
            _ if e.kind() == std::io::ErrorKind::NotFound => Untrusted::Absent,
            _ if e.kind() == std::io::ErrorKind::PermissionDenied => Untrusted::Denied,
            Some(libc::ELOOP) => Untrusted::Link,
            Some(libc::ENOTDIR) => Untrusted::NotDirectory,
            _ => Untrusted::Unreadable(e.to_string()),
        })?;
    let meta = handle
        .metadata()
        .map_err(|e| Untrusted::Unreadable(e.to_string()))?;
    let also = (euid() == 0).then_some(meta.uid());
    check_owner_and_mode(&meta, also)?;
    Ok(meta.uid())
}

/// For a root process, the owner of `dir` (the runner's user) is trusted
/// too: a Docker action runs as root and reads the runner user's files.
pub fn dir_owner_for_root(dir: &Path) -> Option<u32> {
    if euid() != 0 {
        return None;
    }
    std::fs::symlink_metadata(dir)
        .ok()
        .filter(|m| m.file_type().is_dir())
        .map(|m| m.uid())
}

/// Creates the directory 0700 (or tightens an existing one) and gives it to
/// `owner` (the runner's user: uid, gid; this module depends on nothing else
/// of the crate). A link at any component of the path is refused, and so is an
/// existing directory that belongs to someone other than this process or the
/// runner's user.
pub fn make_private_dir(dir: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    refuse_links(dir)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // Checked and changed through one descriptor opened without following a link.
    let handle = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| std::io::Error::new(e.kind(), format!("not a directory, or a link ({e})")))?;
    let meta = handle.metadata()?;
    let allowed = meta.uid() == euid() || owner.is_some_and(|(uid, _)| uid == meta.uid());
    if !allowed {
        return Err(std::io::Error::other(format!(
            "it exists and belongs to uid {}, neither this process nor the runner's user; remove it (it is recreated on the next run)",
            meta.uid()
        )));
    }
    if meta.permissions().mode() & 0o7777 != 0o700 {
        handle.set_permissions(std::fs::Permissions::from_mode(0o700))?;
    }
    if let Some((uid, gid)) = owner.filter(|&(uid, gid)| uid != meta.uid() || gid != meta.gid()) {
        std::os::unix::fs::fchown(&handle, Some(uid), Some(gid))?;
    }
    Ok(())
}

/// Refuses a symbolic link at any existing component of `path`.
pub fn refuse_links(path: &Path) -> std::io::Result<()> {
    let mut so_far = PathBuf::new();
    for part in path.components() {
        so_far.push(part);
        match std::fs::symlink_metadata(&so_far) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(std::io::Error::other(format!(
                    "{} is a symbolic link; set RUNNER_TEMP to a path without links",
                    so_far.display()
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn private_dirs_are_tightened_and_never_reached_through_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        let lax = tmp.path().join("lax");
        std::fs::create_dir(&lax).unwrap();
        std::fs::set_permissions(&lax, std::fs::Permissions::from_mode(0o777)).unwrap();
        make_private_dir(&lax, None).unwrap();
        assert_eq!(mode(&lax), 0o700);

        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, tmp.path().join("link")).unwrap();
        let below = tmp.path().join("link").join("a").join(".keyless-aws");
        let e = make_private_dir(&below, None).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!real.join("a").exists(), "nothing created through the link");
    }

    #[test]
    fn trusted_files_are_regular_unlinked_and_not_writable_by_others() {
        let tmp = tempfile::tempdir().unwrap();
        let good = tmp.path().join("good");
        std::fs::write(&good, "x").unwrap();
        std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(open_trusted(&good, None).is_ok());

        let lax = tmp.path().join("lax");
        std::fs::write(&lax, "x").unwrap();
        std::fs::set_permissions(&lax, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(
            open_trusted(&lax, None),
            Err(Untrusted::Writable(_))
        ));

        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&good, &link).unwrap();
        assert_eq!(open_trusted(&link, None).unwrap_err(), Untrusted::Link);

        let fifo = tmp.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Without O_NONBLOCK this open would hang: no writer ever comes.
        assert_eq!(
            open_trusted(&fifo, None).unwrap_err(),
            Untrusted::NotRegular
        );

        assert_eq!(
            open_trusted(&tmp.path().join("none"), None).unwrap_err(),
            Untrusted::Absent
        );

        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            check_trusted_dir(tmp.path()),
            Err(Untrusted::Writable(_))
        ));
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(check_trusted_dir(tmp.path()).unwrap(), euid());
        let dir_link = tmp.path().join("dir-link");
        std::os::unix::fs::symlink(tmp.path(), &dir_link).unwrap();
        assert!(matches!(
            check_trusted_dir(&dir_link),
            Err(Untrusted::Link | Untrusted::NotDirectory)
        ));
    }
}
