//! `web-identity-token-file`: where the path may point and how the file is read.
//!
//! The token is sent to STS, so whatever this reads leaves the machine. The
//! checks therefore go by what the path *is*, not what it claims: `..` is
//! resolved before any check (a relative path cannot leave the workspace),
//! pseudo-filesystems (`/proc`, `/sys`, `/dev`) are refused by path and, once
//! open, by filesystem type (procfs reports size 0 for `/proc/self/environ`), and
//! at most the cap plus one byte is read whatever size the file reports. Links
//! are accepted only where Kubernetes projects service-account tokens, and only
//! if everything they resolve to stays there.

use crate::error::Error;
use crate::secret::Secret;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// Paths where Kubernetes (and EKS) project service-account tokens; those are
/// symlinks by design (`token -> ..data/token`, `..data -> ..2024_…`).
pub const PROJECTED_TOKEN_DIRS: &[&str] = &["/var/run/secrets", "/run/secrets"];
/// A JWT is a few KiB.
pub const MAX_TOKEN_FILE: u64 = 16 * 1024;
/// Pseudo-filesystems whose files are never a token.
const PSEUDO_DIRS: &[&str] = &["/proc", "/sys", "/dev"];

/// `..` and `.` resolved without touching the filesystem (`/a/b/../c` → `/a/c`;
/// never above `/`).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for part in path.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

fn problem(path: &Path, problem: impl Into<String>, source: Option<std::io::Error>) -> Error {
    Error::TokenFile {
        path: path.to_owned(),
        problem: problem.into(),
        source,
    }
}

/// The absolute, normalised path for the input (relative to the workspace),
/// refused if it leaves the workspace or names a pseudo-filesystem.
pub fn resolve(input: &str, workspace: Option<&Path>) -> Result<PathBuf, Error> {
    let path = Path::new(input);
    let full = if path.is_absolute() {
        normalize(path)
    } else {
        let Some(workspace) = workspace else {
            return Err(problem(
                path,
                "is relative and GITHUB_WORKSPACE is not set",
                None,
            ));
        };
        let workspace = normalize(workspace);
        let full = normalize(&workspace.join(path));
        if !full.starts_with(&workspace) {
            return Err(problem(
                path,
                "is relative but leads out of the workspace (`..`)",
                None,
            ));
        }
        full
    };
    refuse_pseudo(&full, path)?;
    Ok(full)
}

fn refuse_pseudo(full: &Path, shown: &Path) -> Result<(), Error> {
    if PSEUDO_DIRS.iter().any(|d| full.starts_with(d)) {
        return Err(problem(
            shown,
            "is on a pseudo-filesystem (/proc, /sys, /dev); a token file is a regular file",
            None,
        ));
    }
    Ok(())
}

/// Reads the token from `full` (from [`resolve`]).
pub fn read(full: &Path, workspace: Option<&Path>) -> Result<Secret, Error> {
    read_with(full, workspace, PROJECTED_TOKEN_DIRS)
}

/// [`read`] with the directories where links are allowed given (for tests).
pub fn read_with(
    full: &Path,
    workspace: Option<&Path>,
    projected: &[&str],
) -> Result<Secret, Error> {
    let unreadable = |e: std::io::Error| problem(full, format!("cannot be read: {e}"), Some(e));
    let full = &normalize(full);
    refuse_pseudo(full, full)?;
    // Where the path really leads, every link in every component followed.
    let real = std::fs::canonicalize(full).map_err(unreadable)?;
    refuse_pseudo(&real, full)?;
    let open_path = path_to_open(full, &real, workspace, projected)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&open_path)
        .map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(problem(full, "is not a regular file", None));
    }
    if on_pseudo_filesystem(&file) {
        return Err(problem(
            full,
            "is on a pseudo-filesystem (procfs or sysfs); a token file is a regular file",
            None,
        ));
    }
    // The reported size is not trusted: at most one byte past the cap is read.
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_TOKEN_FILE {
        return Err(problem(
            full,
            format!("is larger than {MAX_TOKEN_FILE} bytes"),
            None,
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| problem(full, "is not UTF-8 text", None))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(problem(full, "is empty", None));
    }
    Ok(Secret::new(token))
}

/// Where to open the token: the path itself, or where its links lead when
/// that is allowed (Kubernetes' projected tokens, a linked workspace parent).
fn path_to_open(
    full: &Path,
    real: &Path,
    workspace: Option<&Path>,
    projected: &[&str],
) -> Result<PathBuf, Error> {
    let unreadable = |e: std::io::Error| problem(full, format!("cannot be read: {e}"), Some(e));
    let link_in_path = real != full;
    let projected_root = projected
        .iter()
        .map(Path::new)
        .find(|d| full.starts_with(d));
    Ok(match projected_root {
        Some(root) if link_in_path => {
            // Kubernetes' links must stay inside the projected directory.
            let real_root = std::fs::canonicalize(root).map_err(unreadable)?;
            if !real.starts_with(&real_root) {
                return Err(problem(
                    full,
                    format!(
                        "is a link that leads out of {} (to {})",
                        root.display(),
                        real.display()
                    ),
                    None,
                ));
            }
            real.to_path_buf()
        }
        _ if link_in_path => {
            let meta = std::fs::symlink_metadata(full).map_err(unreadable)?;
            if meta.file_type().is_symlink() {
                return Err(problem(full, "is a symlink; only Kubernetes projected service-account tokens (under /var/run/secrets/) may be links", None));
            }
            // A linked parent directory: accepted only if it stays where the
            // path said it was (a runner's work directory may sit behind a link).
            if let Some(ws) = workspace.filter(|ws| full.starts_with(normalize(ws))) {
                let real_ws = std::fs::canonicalize(ws).map_err(unreadable)?;
                if !real.starts_with(real_ws) {
                    return Err(problem(
                        full,
                        "leads out of the workspace through a linked directory",
                        None,
                    ));
                }
            }
            real.to_path_buf()
        }
        _ => full.to_path_buf(),
    })
}

/// procfs and sysfs files report sizes that are not their contents.
fn on_pseudo_filesystem(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    const PROC_SUPER_MAGIC: i64 = 0x9fa0;
    const SYSFS_MAGIC: i64 = 0x6265_6572;
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid open descriptor and a zeroed struct of the right type.
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut stat) } != 0 {
        return false;
    }
    #[allow(clippy::unnecessary_cast)]
    let kind = stat.f_type as i64;
    kind == PROC_SUPER_MAGIC || kind == SYSFS_MAGIC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_and_kept_inside_the_workspace() {
        let ws = Some(Path::new("/w/repo"));
        assert_eq!(
            resolve("t.jwt", ws).unwrap(),
            PathBuf::from("/w/repo/t.jwt")
        );
        assert_eq!(
            resolve("a/../t.jwt", ws).unwrap(),
            PathBuf::from("/w/repo/t.jwt")
        );
        assert!(resolve("../other/t.jwt", ws).is_err());
        assert!(resolve("../../../../proc/self/environ", ws).is_err());
        assert!(resolve("/proc/self/environ", ws).is_err());
        assert!(resolve("/var/run/secrets/../../../proc/self/environ", ws).is_err());
        assert!(resolve("/dev/stdin", ws).is_err());
        assert!(resolve("t.jwt", None).is_err());
        assert_eq!(resolve("/abs/t", None).unwrap(), PathBuf::from("/abs/t"));
    }

    #[test]
    fn reads_are_capped_and_pseudo_files_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path();
        let token = ws.join("t.jwt");
        std::fs::write(&token, "  eyJ.x.y\n").unwrap();
        assert_eq!(read(&token, Some(ws)).unwrap().expose(), "eyJ.x.y");
        std::fs::write(&token, vec![b'a'; MAX_TOKEN_FILE as usize + 1]).unwrap();
        assert!(read(&token, Some(ws)).is_err());
        // A linked parent directory into procfs: the path never says /proc.
        std::os::unix::fs::symlink("/proc/self", ws.join("d")).unwrap();
        let err = read(&ws.join("d/environ"), Some(ws))
            .unwrap_err()
            .to_string();
        assert!(err.contains("pseudo-filesystem"), "{err}");
        // A linked directory out of the workspace.
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("t.jwt"), "eyJ.x.y").unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.join("out")).unwrap();
        assert!(read(&ws.join("out/t.jwt"), Some(ws)).is_err());
    }

    #[test]
    fn the_projected_link_exception_cannot_be_bypassed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("secrets");
        let sa = root.join("serviceaccount");
        let data = sa.join("..2024_01_01");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("token"), "eyJ.k8s.token").unwrap();
        std::os::unix::fs::symlink("..2024_01_01", sa.join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/token", sa.join("token")).unwrap();
        let projected = [root.to_str().unwrap()];
        // Kubernetes' own layout works.
        let ok = read_with(&sa.join("token"), None, &projected).unwrap();
        assert_eq!(ok.expose(), "eyJ.k8s.token");
        // A link in the projected directory that leads elsewhere does not.
        let outside = dir.path().join("elsewhere");
        std::fs::write(&outside, "secret-file").unwrap();
        std::os::unix::fs::symlink(&outside, sa.join("evil")).unwrap();
        assert!(read_with(&sa.join("evil"), None, &projected).is_err());
        // Nor a linked parent directory, nor `..` out of it.
        std::os::unix::fs::symlink(dir.path(), sa.join("up")).unwrap();
        assert!(read_with(&sa.join("up/elsewhere"), None, &projected).is_err());
        // `..` cannot make a link elsewhere look like it is in the projected directory.
        std::os::unix::fs::symlink(&outside, dir.path().join("link")).unwrap();
        let dotdot = sa.join("../../link");
        assert!(read_with(&dotdot, None, &projected).is_err());
        std::os::unix::fs::symlink("/proc/self/environ", sa.join("env")).unwrap();
        assert!(read_with(&sa.join("env"), None, &projected).is_err());
    }
}
