//! Everything this action writes to the runner: workflow commands on stdout and
//! the `GITHUB_ENV`, `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` files.
//!
//! Two rules are enforced here so the rest of the program cannot get them wrong:
//! values from outside (STS messages, token claims, input text) are escaped so
//! they cannot start a workflow command of their own, and the env/output files
//! are written in one append each, only at the very end, or not at all.

use crate::error::Error;
use crate::secret::Secret;
use crate::text::{escape_data, escape_property, neutralize};
use rand::Rng;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Writes one line to stdout, flushed at once so that the ordering against the
/// runner's reading of `::add-mask::` lines is exactly the program order.
///
/// Every line is also redacted of every value masked so far: the runner masks
/// them in the log too, but this way a value is hidden even where the runner's
/// masker does not look, and the step summary (a file) gets the same treatment.
fn emit(line: &str) {
    emit_raw(&crate::redact::redact(line));
}

fn emit_raw(line: &str) {
    let mut out = io::stdout().lock();
    // A closed stdout leaves nothing to report to; the exit code still tells.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Values already sent with `::add-mask::`, so that masking the same value on
/// two paths sends it once.
static MASKED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Registers a secret with the runner's log masker. Must happen before anything
/// that could print the value runs.
pub fn add_mask(secret: &Secret) {
    crate::redact::register(secret.expose());
    add_mask_plain(secret.expose());
}

/// Masks a value that is not secret in itself but that the user asked to hide
/// (`mask-aws-account-id`).
pub fn add_mask_plain(value: &str) {
    if value.is_empty() {
        return;
    }
    if let Ok(mut masked) = MASKED.lock() {
        if masked.iter().any(|m| m == value) {
            return;
        }
        masked.push(value.to_owned());
    }
    emit_raw(&format!("::add-mask::{}", escape_data(value)));
}

/// A human-readable log line. Every line is escaped like command data, so an
/// embedded newline in a value from outside cannot start a command line.
pub fn info(message: &str) {
    for line in message.lines() {
        emit(&neutralize(&escape_data(line)));
    }
}

pub fn warning(title: &str, message: &str) {
    emit(&format!(
        "::warning title={}::{}",
        escape_property(title),
        escape_data(message)
    ));
}

pub fn error(title: &str, message: &str) {
    emit(&format!(
        "::error title={}::{}",
        escape_property(title),
        escape_data(message)
    ));
}

/// A collapsible block of details; each line escaped like any other log line.
pub fn group(name: &str, body: &str) {
    emit(&format!("::group::{}", escape_data(name)));
    info(body);
    emit("::endgroup::");
}

/// The env variables and outputs a successful run exports, gathered while the
/// run proceeds and written by [`Export::commit`] once nothing can fail anymore.
#[derive(Default, Debug)]
pub struct Export {
    pub env: Vec<(String, Secret)>,
    pub outputs: Vec<(String, Secret)>,
    /// Values handed to the post step (`GITHUB_STATE`).
    pub state: Vec<(String, Secret)>,
}

impl Export {
    pub fn env(&mut self, name: &str, value: impl Into<String>) {
        self.env.push((name.to_owned(), Secret::new(value)));
    }

    pub fn output(&mut self, name: &str, value: impl Into<String>) {
        self.outputs.push((name.to_owned(), Secret::new(value)));
    }

    pub fn state(&mut self, name: &str, value: impl Into<String>) {
        self.state.push((name.to_owned(), Secret::new(value)));
    }

    /// Appends the state to `state_file`, all outputs to `output_file` and all
    /// env entries to `env_file`, each in a single write. If a later file cannot
    /// be written, the earlier ones are truncated back to their previous length
    /// (in reverse order), so either every file carries the whole set or all are
    /// as they were.
    ///
    /// The state goes first: should the process die between two writes, what is
    /// left behind is at most a state the post step can act on, never exported
    /// credentials without the state that lets the post step clean them up.
    /// Every file is opened before anything is written and must be a regular
    /// file (opened without blocking, so a FIFO or device cannot hang the step),
    /// and no two may be the same file.
    pub fn commit(
        &self,
        env_file: &Path,
        output_file: &Path,
        state_file: Option<&Path>,
    ) -> Result<(), Error> {
        let files = self.in_write_order(env_file, output_file, state_file)?;
        let mut opened: Vec<(File, &Path, String)> = Vec::new();
        let mut seen: Vec<(u64, u64)> = Vec::new();
        for (path, block) in files {
            if block.is_empty() {
                continue;
            }
            let fail = |source| Error::FileCommand {
                path: path.to_owned(),
                source,
            };
            let file = open_regular(path).map_err(fail)?;
            let meta = file.metadata().map_err(fail)?;
            let id = (meta.dev(), meta.ino());
            if seen.contains(&id) {
                return Err(fail(io::Error::other(
                    "it is the same file as another runner file (GITHUB_ENV, GITHUB_OUTPUT and GITHUB_STATE must be distinct)",
                )));
            }
            seen.push(id);
            opened.push((file, path, block));
        }
        let mut written: Vec<(&File, u64)> = Vec::new();
        for (file, path, block) in &opened {
            match append_to(file, block.as_bytes()) {
                Ok(before) => written.push((file, before)),
                Err(source) => {
                    for (file, len) in written.iter().rev() {
                        let _ = file.set_len(*len);
                    }
                    return Err(Error::FileCommand {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
        }
        Ok(())
    }
}

impl Export {
    /// [`Export::commit`] on a thread of its own, awaited: a write to a runner
    /// file that hangs (a stuck network filesystem) cannot hold the step past
    /// `action-timeout-s` or a signal, because the caller stops awaiting and the
    /// process exits. The state file is written first (see `commit`), so what a
    /// commit cut short leaves behind is what the post step cleans up.
    /// [`Export::commit_bounded`] to the runner's own files, as the plan resolved them.
    pub async fn commit_to_runner(self, runner: &crate::plan::Runner) -> Result<(), Error> {
        self.commit_bounded(
            runner.env_file.clone(),
            runner.output_file.clone(),
            runner.state_file.clone(),
        )
        .await
    }

    pub async fn commit_bounded(
        self,
        env_file: PathBuf,
        output_file: PathBuf,
        state_file: Option<PathBuf>,
    ) -> Result<(), Error> {
        on_own_thread(move || self.commit(&env_file, &output_file, state_file.as_deref()))
            .await
            .unwrap_or_else(|| Err(Error::Internal("the runner-file writer stopped".into())))
    }
}

impl Export {
    /// Each file with its block, in the order they are written: the state
    /// first, the env file (what later steps and a leak would see) last.
    fn in_write_order<'a>(
        &self,
        env_file: &'a Path,
        output_file: &'a Path,
        state_file: Option<&'a Path>,
    ) -> Result<Vec<(&'a Path, String)>, Error> {
        let mut files = Vec::new();
        if let Some(state_file) = state_file {
            files.push((state_file, render_file_commands(&self.state, is_env_name)?));
        }
        files.push((
            output_file,
            render_file_commands(&self.outputs, is_output_name)?,
        ));
        files.push((env_file, render_file_commands(&self.env, is_env_name)?));
        Ok(files)
    }
}

/// Runs blocking `work` on a new thread; the future can be dropped (deadline,
/// signal) while the work still runs. `None` if the thread died.
async fn on_own_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = done.send(work());
    });
    result.await.ok()
}

/// Opens a runner file for appending: never through a symlink planted in its
/// place, never blocking (`O_NONBLOCK`: a FIFO without a reader fails at once),
/// and only if it is a regular file, so a write cannot hang the step.
fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Writes `bytes` at once to an opened file and returns its length before.
fn append_to(mut file: &File, bytes: &[u8]) -> io::Result<u64> {
    let before = file.metadata()?.len();
    if let Err(err) = file.write_all(bytes).and_then(|_| file.flush()) {
        let _ = file.set_len(before);
        return Err(err);
    }
    Ok(before)
}

/// Opens a runner file (see [`open_regular`]), writes `bytes` at once, and
/// returns the file and its length before.
fn append_once(path: &Path, bytes: &[u8]) -> io::Result<(File, u64)> {
    let file = open_regular(path)?;
    let before = append_to(&file, bytes)?;
    Ok((file, before))
}

pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_output_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Renders `NAME<<DELIM\nvalue\nDELIM\n` entries. The delimiter is random and
/// checked against the value, so no value can close its entry early and smuggle
/// in another variable.
pub fn render_file_commands(
    entries: &[(String, Secret)],
    valid_name: fn(&str) -> bool,
) -> Result<String, Error> {
    let mut out = String::new();
    for (name, value) in entries {
        if !valid_name(name) {
            return Err(Error::Internal(format!(
                "refusing to export the invalid name {name:?}"
            )));
        }
        let value = value.expose();
        let delimiter = (0..8)
            .map(|_| format!("ghadelimiter_{:032x}", rand::rng().random::<u128>()))
            .find(|d| !value.contains(d.as_str()) && !name.contains(d.as_str()))
            .ok_or_else(|| Error::Internal("could not pick a delimiter".into()))?;
        out.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    Ok(out)
}

/// Appends Markdown to the step summary. The summary is informative only, so a
/// failure to write it is reported as a warning and does not fail the run.
/// `path` is `GITHUB_STEP_SUMMARY`, from the plan (or, when no plan could be
/// built, read once by the caller); `None` outside a runner.
pub fn append_summary(path: Option<&Path>, markdown: &str) {
    let Some(path) = path else {
        return;
    };
    let markdown = crate::redact::redact(markdown);
    if let Err(err) = append_once(path, markdown.as_bytes()) {
        warning("Step summary not written", &format!("{err}"));
    }
}

/// The variables this action may export, and so the only ones its post step
/// clears (the names it did export are recorded in GITHUB_STATE).
pub const EXPORTABLE: [&str; 9] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    // `refresh-credentials` (the Go SDK v1 reads the config file only with it).
    "AWS_SDK_LOAD_CONFIG",
];

impl Export {
    /// The post step clears exactly the names exported, nothing the job set itself.
    pub fn record_exported(&mut self) {
        let exported: Vec<&str> = EXPORTABLE
            .into_iter()
            .filter(|n| self.env.iter().any(|(e, _)| e == n))
            .collect();
        let names = exported.join(",");
        self.state("exported_env", names);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_commands_use_a_delimiter_absent_from_the_value() {
        let entries = vec![("AWS_REGION".to_owned(), Secret::new("eu-west-1\nEVIL<<x"))];
        let text = render_file_commands(&entries, is_env_name).unwrap();
        let mut lines = text.lines();
        let head = lines.next().unwrap();
        let delim = head.strip_prefix("AWS_REGION<<").unwrap();
        assert!(delim.starts_with("ghadelimiter_"));
        assert_eq!(lines.next(), Some("eu-west-1"));
        assert_eq!(lines.next(), Some("EVIL<<x"));
        assert_eq!(lines.next(), Some(delim));
    }

    #[test]
    fn invalid_names_are_refused() {
        let entries = vec![("BAD NAME".to_owned(), Secret::new("v"))];
        assert!(render_file_commands(&entries, is_env_name).is_err());
        assert!(is_env_name("AWS_SESSION_TOKEN") && !is_env_name("1X") && !is_env_name("A-B"));
    }

    #[test]
    fn commit_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("env");
        std::fs::write(&env, "KEEP=1\n").unwrap();
        let missing = dir.path().join("no-such-dir/output");
        let mut export = Export::default();
        export.env("AWS_REGION", "eu-west-1");
        export.output("aws-account-id", "123456789012");
        assert!(export.commit(&env, &missing, None).is_err());
        assert_eq!(std::fs::read_to_string(&env).unwrap(), "KEEP=1\n");
    }

    #[test]
    fn commit_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "").unwrap();
        let link = dir.path().join("env");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut export = Export::default();
        export.env("AWS_REGION", "eu-west-1");
        assert!(export.commit(&link, &target, None).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
    }

    #[test]
    fn commit_refuses_aliased_runner_files_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("env");
        std::fs::write(&env, "KEEP=1\n").unwrap();
        let link = dir.path().join("state");
        std::os::unix::fs::symlink(&env, &link).unwrap();
        let hard = dir.path().join("hard");
        std::fs::hard_link(&env, &hard).unwrap();
        let mut export = Export::default();
        export.env("AWS_REGION", "eu-west-1");
        export.output("aws-account-id", "123456789012");
        export.state("exported", "1");
        assert!(export.commit(&env, &env, None).is_err());
        assert!(export.commit(&env, &hard, None).is_err());
        assert_eq!(std::fs::read_to_string(&env).unwrap(), "KEEP=1\n");
    }

    #[test]
    fn commit_never_blocks_on_a_fifo_and_writes_state_first() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let (out, state) = (dir.path().join("out"), dir.path().join("state"));
        std::fs::write(&out, "").unwrap();
        std::fs::write(&state, "").unwrap();
        let mut export = Export::default();
        export.env("AWS_REGION", "eu-west-1");
        export.output("aws-account-id", "123456789012");
        export.state("exported", "1");
        // Without a reader (open would block) and with one (writes could block).
        assert!(export.commit(&fifo, &out, Some(&state)).is_err());
        let _reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        assert!(export.commit(&fifo, &out, Some(&state)).is_err());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
        assert_eq!(std::fs::read_to_string(&state).unwrap(), "");
        // In order: the state first, the env file last, so a process killed
        // between two writes leaves state for the post step, not bare credentials.
        let env = dir.path().join("env");
        let order: Vec<PathBuf> = export
            .in_write_order(&env, &out, Some(&state))
            .unwrap()
            .into_iter()
            .map(|(p, _)| p.to_owned())
            .collect();
        assert_eq!(order, vec![state.clone(), out.clone(), env.clone()]);
        std::fs::write(&env, "").unwrap();
        export.commit(&env, &out, Some(&state)).unwrap();
        assert!(std::fs::read_to_string(&state)
            .unwrap()
            .contains("exported"));
    }

    #[test]
    fn a_bounded_commit_can_be_abandoned_while_it_runs() {
        // A write that hangs (played by a sleep: the commit itself refuses the
        // FIFOs that could hang it here) does not hold the awaiting runtime,
        // which gives up at its deadline, as main does for action-timeout-s.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = std::time::Instant::now();
        let hung = on_own_thread(|| std::thread::sleep(std::time::Duration::from_secs(5)));
        let gave_up = rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_millis(100), hung)
                .await
                .is_err()
        });
        assert!(gave_up && started.elapsed() < std::time::Duration::from_secs(2));
        // And a real commit through it.
        let dir = tempfile::tempdir().unwrap();
        let (env, out) = (dir.path().join("env"), dir.path().join("out"));
        std::fs::write(&env, "").unwrap();
        std::fs::write(&out, "").unwrap();
        let mut export = Export::default();
        export.env("AWS_REGION", "eu-west-1");
        rt.block_on(export.commit_bounded(env.clone(), out, None))
            .unwrap();
        assert!(std::fs::read_to_string(&env).unwrap().contains("eu-west-1"));
    }
}
