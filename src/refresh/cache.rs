//! The helper's cache: the last `credential_process` answer, served again
//! while it has ample life left, so a CLI that starts one process per command
//! does not call STS every time.
//!
//! Why each rule:
//! - Only a regular file owned by the caller with no group/other permission is
//!   read, opened with `O_NOFOLLOW|O_NONBLOCK`: a link or FIFO planted in a
//!   shared directory must not feed someone else's credentials to the job, nor
//!   hang it.
//! - Writes go to a new 0600 file beside the cache, then `rename`: a reader
//!   sees the old answer or the new one, never half of one. No `fsync`: a cache
//!   lost in a crash costs one STS call.
//! - Parallel callers (Terraform providers start several at once) share one
//!   refresh: an exclusive `flock` on `<cache>.lock` around check → refresh →
//!   write, waited for at most [`LOCK_WAIT`].

use crate::secret::{Credentials, Secret};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How long a caller waits for another caller's refresh. A refresh takes at
/// most one token request and one STS call per role, each bounded (10 s and
/// 20 s); 60 s covers a web identity plus a chained role with their retries.
pub const LOCK_WAIT: Duration = Duration::from_secs(60);

/// The helper prints an `Expiration` this long before the session's real
/// end (for sessions under 15 minutes, which only emulators issue, a third of
/// the lifetime). Terraform's AWS provider (the Go SDK v2) and others use keys
/// until the printed time, with no early-refresh window and no retry of
/// `ExpiredToken`: a request signed just before the printed time still has
/// this much real life for network latency, the SDK's own retries (signed
/// again with the same keys) and a runner clock a few minutes off. The cache
/// holds the answer as printed, so its freshness rule
/// ([`ProcessOutput::fresh_at`] against the description's
/// `min_remaining_seconds`) counts from the printed time too.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The printed expiration for a session that really ends at `real`, seen at `now`.
pub fn printed_expiration(real: SystemTime, now: SystemTime) -> SystemTime {
    let lifetime = real.duration_since(now).unwrap_or(Duration::ZERO);
    let margin = EXPIRY_MARGIN.min(Duration::from_secs(lifetime.as_secs() / 3));
    let printed = real - margin;
    // Whole seconds, rounded down: every SDK's parser reads them.
    let secs = printed
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// A cache file larger than this is not ours (ours is ~1 KiB).
const MAX_CACHE_SIZE: u64 = 16 * 1024;

/// The `credential_process` answer, exactly as SDKs read it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessOutput {
    #[serde(rename = "Version")]
    pub version: u32,
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    pub secret_access_key: String,
    #[serde(rename = "SessionToken")]
    pub session_token: String,
    /// RFC 3339, as botocore (dateutil) and the Rust SDK (strict RFC 3339) parse it.
    #[serde(rename = "Expiration")]
    pub expiration: String,
}

impl std::fmt::Debug for ProcessOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProcessOutput(expires {})", self.expiration)
    }
}

impl Drop for ProcessOutput {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.access_key_id.zeroize();
        self.secret_access_key.zeroize();
        self.session_token.zeroize();
    }
}

impl ProcessOutput {
    /// From STS's answer, with the `Expiration` [`EXPIRY_MARGIN`] early;
    /// `None` when STS gave no session token or no readable expiry (then the
    /// SDKs could not know when to refresh).
    pub fn from_credentials(c: &Credentials) -> Option<ProcessOutput> {
        let real = OffsetDateTime::parse(c.expiration.as_deref()?, &Rfc3339).ok()?;
        let out = ProcessOutput {
            version: 1,
            access_key_id: c.access_key_id.expose().to_owned(),
            secret_access_key: c.secret_access_key.expose().to_owned(),
            session_token: c.session_token.as_ref().map(Secret::expose)?.to_owned(),
            expiration: rfc3339(printed_expiration(real.into(), SystemTime::now())),
        };
        out.check_shape().ok()?;
        Some(out)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("serialises")
    }

    /// When these credentials expire.
    pub fn expires_at(&self) -> Option<SystemTime> {
        OffsetDateTime::parse(&self.expiration, &Rfc3339)
            .ok()
            .map(SystemTime::from)
    }

    /// True while more than `min_remaining` is left at `now`.
    pub fn fresh_at(&self, now: SystemTime, min_remaining: Duration) -> bool {
        self.expires_at()
            .and_then(|at| at.duration_since(now).ok())
            .is_some_and(|left| left > min_remaining)
    }

    /// The values look like AWS's: no whitespace or quotes that could break
    /// the JSON consumers or smuggle anything, sane lengths.
    fn check_shape(&self) -> Result<(), &'static str> {
        let ok = |v: &str, min: usize, max: usize| {
            (min..=max).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        };
        if self.version != 1 {
            return Err("Version is not 1");
        }
        if !ok(&self.access_key_id, 16, 128)
            || !self
                .access_key_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric())
        {
            return Err("AccessKeyId is not an access key id");
        }
        if !ok(&self.secret_access_key, 16, 256) {
            return Err("SecretAccessKey is malformed");
        }
        if !ok(&self.session_token, 16, 8192) {
            return Err("SessionToken is malformed");
        }
        if self.expires_at().is_none() {
            return Err("Expiration is not RFC 3339");
        }
        Ok(())
    }
}

/// Why a cached answer was not served (never fatal: the helper refreshes).
#[derive(Debug, PartialEq)]
pub enum Miss {
    Absent,
    /// A link, FIFO, directory, foreign owner, group/other permissions.
    Untrusted(&'static str),
    Unreadable,
    Malformed(&'static str),
    TooOld,
}

pub struct Cache {
    path: PathBuf,
    lock_path: PathBuf,
    /// The directory's owner, when this process is root and someone else owns
    /// it: a Docker action runs as root, the runner's own steps as the
    /// runner's user, and both must keep using one cache.
    owner: Option<(u32, u32)>,
}

/// Held while one caller refreshes; dropping it closes the file, which releases the lock.
pub struct Lock(#[allow(dead_code)] File);

/// Why the lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another caller held it for the whole wait.
    Busy(String),
    /// The lock file cannot be used at all (a directory this uid cannot
    /// write, a link): the caller may still refresh, only without sharing.
    Unavailable(String),
}

impl Cache {
    pub fn new(path: PathBuf) -> Cache {
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let owner = path
            .parent()
            .and_then(|dir| std::fs::metadata(dir).ok())
            .map(|m| (m.uid(), m.gid()))
            .filter(|(uid, _)| me == 0 && *uid != 0);
        Cache {
            path,
            lock_path: PathBuf::from(lock),
            owner,
        }
    }

    /// Gives a file this process created to the directory's owner (root only).
    fn hand_over(&self, file: &File) {
        if let Some((uid, gid)) = self.owner {
            let _ = std::os::unix::fs::fchown(file, Some(uid), Some(gid));
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// The cached answer, if it is trustworthy and has more than `min_remaining` left.
    pub fn read_fresh(
        &self,
        now: SystemTime,
        min_remaining: Duration,
    ) -> Result<ProcessOutput, Miss> {
        let text = self.read_trusted()?;
        let out: ProcessOutput = serde_json::from_str(&text)
            .map_err(|_| Miss::Malformed("not credential_process JSON"))?;
        out.check_shape().map_err(Miss::Malformed)?;
        if !out.fresh_at(now, min_remaining) {
            return Err(Miss::TooOld);
        }
        Ok(out)
    }

    /// The file's text, only when it is a trusted file ([`open_trusted`]:
    /// never through a link, owned by this user or the directory's owner for
    /// root) with no group or other permissions, and small: the rules for
    /// every secret the helper keeps beside its description (answers and
    /// shared tokens).
    ///
    /// [`open_trusted`]: crate::trusted_files::open_trusted
    pub fn read_trusted(&self) -> Result<zeroize::Zeroizing<String>, Miss> {
        use crate::trusted_files::{open_trusted, Untrusted};
        let (file, meta) = match open_trusted(&self.path, self.owner.map(|(uid, _)| uid)) {
            Ok(opened) => opened,
            Err(Untrusted::Absent) => return Err(Miss::Absent),
            Err(Untrusted::Link) => return Err(Miss::Untrusted("a symbolic link")),
            Err(Untrusted::NotRegular | Untrusted::NotDirectory) => {
                return Err(Miss::Untrusted("not a regular file"))
            }
            Err(Untrusted::Owner(_)) => return Err(Miss::Untrusted("owned by another user")),
            Err(Untrusted::Writable(_)) => {
                return Err(Miss::Untrusted("readable or writable by others"))
            }
            Err(Untrusted::Denied | Untrusted::Unreadable(_)) => return Err(Miss::Unreadable),
        };
        // Stricter than any trusted file: it holds secrets, so no one else may read it.
        if meta.mode() & 0o077 != 0 {
            return Err(Miss::Untrusted("readable or writable by others"));
        }
        if meta.len() > MAX_CACHE_SIZE {
            return Err(Miss::Malformed("too large"));
        }
        let mut text = zeroize::Zeroizing::new(String::new());
        file.take(MAX_CACHE_SIZE)
            .read_to_string(&mut text)
            .map_err(|_| Miss::Unreadable)?;
        Ok(text)
    }

    /// Waits (polling, at most `wait`) for the exclusive lock.
    pub fn lock(&self, wait: Duration) -> Result<Lock, LockError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&self.lock_path)
            .map_err(|e| {
                LockError::Unavailable(format!(
                    "cannot open the lock file {}: {e}",
                    self.lock_path.display()
                ))
            })?;
        if !file.metadata().is_ok_and(|m| m.file_type().is_file()) {
            return Err(LockError::Unavailable(format!(
                "{} is not a regular file",
                self.lock_path.display()
            )));
        }
        self.hand_over(&file);
        let deadline = Instant::now() + wait;
        loop {
            // SAFETY: flock on a descriptor we own; the call has no memory effects.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(Lock(file));
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK)
                && err.raw_os_error() != Some(libc::EINTR)
            {
                return Err(LockError::Unavailable(format!(
                    "cannot lock {}: {err}",
                    self.lock_path.display()
                )));
            }
            if Instant::now() >= deadline {
                return Err(LockError::Busy(format!(
                    "another credential-process call held {} for {} s",
                    self.lock_path.display(),
                    wait.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Replaces the cache atomically with a new 0600 file.
    pub fn write(&self, out: &ProcessOutput) -> std::io::Result<()> {
        self.write_text(&zeroize::Zeroizing::new(out.to_json()))
    }

    /// Replaces the file atomically (a new 0600 file renamed over it, never
    /// written through a link) with `text`.
    pub fn write_text(&self, text: &str) -> std::io::Result<()> {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = self
            .path
            .with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let result = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&tmp)?;
            self.hand_over(&file);
            file.write_all(text.as_bytes())?;
            std::fs::rename(&tmp, &self.path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

/// RFC 3339 of a time, for tests and the stand-ins.
pub fn rfc3339(at: SystemTime) -> String {
    OffsetDateTime::from(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn answer(expires_in: u64) -> ProcessOutput {
        ProcessOutput {
            version: 1,
            access_key_id: "ASIAEXAMPLEEXAMPLE12".into(),
            secret_access_key: "secretsecretsecretsecret".into(),
            session_token: "tokentokentokentokentoken".into(),
            expiration: rfc3339(SystemTime::now() + Duration::from_secs(expires_in)),
        }
    }

    #[test]
    fn serves_only_fresh_trusted_well_formed_answers() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c.json"));
        let now = SystemTime::now();
        let min = Duration::from_secs(1200);
        assert_eq!(cache.read_fresh(now, min).unwrap_err(), Miss::Absent);

        cache.write(&answer(3600)).unwrap();
        let mode = std::fs::metadata(cache.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let got = cache.read_fresh(now, min).unwrap();
        assert_eq!(got.access_key_id, "ASIAEXAMPLEEXAMPLE12");

        cache.write(&answer(600)).unwrap();
        assert_eq!(cache.read_fresh(now, min).unwrap_err(), Miss::TooOld);

        cache.write(&answer(3600)).unwrap();
        std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            cache.read_fresh(now, min),
            Err(Miss::Untrusted(_))
        ));

        std::fs::write(cache.path(), "{\"Version\":1}").unwrap();
        std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            cache.read_fresh(now, min),
            Err(Miss::Malformed(_))
        ));

        let mut bad = answer(3600);
        bad.access_key_id = "ASIA\" injected".into();
        std::fs::write(cache.path(), bad.to_json()).unwrap();
        assert!(matches!(
            cache.read_fresh(now, min),
            Err(Miss::Malformed(_))
        ));
    }

    #[test]
    fn the_printed_expiration_keeps_a_margin_of_real_life() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |s: u64| now + Duration::from_secs(s);
        // An hour's session: printed 5 minutes early; the shortest STS session
        // (900 s): 5 minutes early too; an emulator's 6 s: a third early.
        assert_eq!(printed_expiration(at(3600), now), at(3300));
        assert_eq!(printed_expiration(at(900), now), at(600));
        assert_eq!(printed_expiration(at(6), now), at(4));
        assert_eq!(printed_expiration(at(0), now), at(0));
        let creds = Credentials {
            access_key_id: Secret::new("ASIAEXAMPLEEXAMPLE12"),
            secret_access_key: Secret::new("secretsecretsecretsecret"),
            session_token: Some(Secret::new("tokentokentokentokentoken")),
            expiration: Some(rfc3339(SystemTime::now() + Duration::from_secs(3600))),
        };
        let out = ProcessOutput::from_credentials(&creds).unwrap();
        let left = out
            .expires_at()
            .unwrap()
            .duration_since(SystemTime::now())
            .unwrap();
        assert!(
            left <= Duration::from_secs(3300) && left > Duration::from_secs(3290),
            "{left:?}"
        );
    }

    #[test]
    fn refuses_links_and_replaces_them_without_following() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.json");
        let planted = answer(3600);
        std::fs::write(&target, planted.to_json()).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let cache = Cache::new(dir.path().join("c.json"));
        std::os::unix::fs::symlink(&target, cache.path()).unwrap();
        assert_eq!(
            cache
                .read_fresh(SystemTime::now(), Duration::from_secs(1))
                .unwrap_err(),
            Miss::Untrusted("a symbolic link")
        );
        let mut mine = answer(3600);
        mine.access_key_id = "ASIAMINEMINEMINE1234".into();
        cache.write(&mine).unwrap();
        assert!(!std::fs::symlink_metadata(cache.path())
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), planted.to_json());
    }

    #[test]
    fn the_lock_is_exclusive_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c.json"));
        let held = cache.lock(Duration::from_secs(1)).unwrap();
        let started = Instant::now();
        let err = cache.lock(Duration::from_millis(200)).err().unwrap();
        assert!(matches!(err, LockError::Busy(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(held);
        cache.lock(Duration::from_millis(200)).unwrap();
    }

    #[test]
    fn debug_shows_no_secret() {
        let a = answer(60);
        let shown = format!("{a:?}");
        assert!(!shown.contains("secret") && !shown.contains("ASIA") && !shown.contains("token"));
    }
}
