//! `keyless-aws <subcommand> …` run as a person or another CI runs it: an
//! environment built from scratch (PATH and a private HOME, nothing of this
//! machine), a temp directory as the working directory, optional stdin, a
//! hard time limit, and, when asked, the exit code it must end with.
//!
//! ```ignore
//! let out = Subcommand::new("assume")
//!     .args(&["--role-arn", ROLE, "--token-env", "T"])
//!     .env("T", &token)
//!     .expect_code(1)
//!     .run();
//! insta::assert_snapshot!(out.user_view());
//! ```

use super::bin;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// No subcommand run may hang the suite.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// One invocation of the binary with a subcommand; runs as often as asked.
pub struct Subcommand {
    pub dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    expected: Option<i32>,
    limit: Duration,
}

/// What one run printed, and how it ended.
#[derive(Debug)]
pub struct Ran {
    /// The exit code (-1 when killed by a signal or the time limit).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// `keyless-aws ARGS…` as typed, for the snapshot's first line.
    command: String,
    /// The temp directory of the run, for redaction.
    dir: String,
}

impl Subcommand {
    /// `keyless-aws NAME`, with the arguments added later.
    pub fn new(name: &str) -> Subcommand {
        Subcommand::top_level().arg(name)
    }

    /// `keyless-aws` with only the arguments added later (help, version, an
    /// unknown command).
    pub fn top_level() -> Subcommand {
        let dir = tempfile::tempdir().unwrap();
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), "/usr/bin:/bin".into());
        env.insert("HOME".into(), dir.path().to_string_lossy().into_owned());
        Subcommand {
            dir,
            env,
            args: Vec::new(),
            stdin: None,
            expected: None,
            limit: RUN_LIMIT,
        }
    }

    pub fn arg(mut self, arg: &str) -> Subcommand {
        self.args.push(arg.into());
        self
    }

    pub fn args(mut self, args: &[&str]) -> Subcommand {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Subcommand {
        self.env.insert(name.into(), value.into());
        self
    }

    pub fn remove_env(mut self, name: &str) -> Subcommand {
        self.env.remove(name);
        self
    }

    /// What the program reads on stdin (default: nothing, stdin closed).
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Subcommand {
        self.stdin = Some(input.into());
        self
    }

    /// The exit code the run must end with; `run` panics with the whole
    /// output otherwise.
    pub fn expect_code(mut self, code: i32) -> Subcommand {
        self.expected = Some(code);
        self
    }

    /// Kills the program after `limit` (default [`RUN_LIMIT`]).
    pub fn limit(mut self, limit: Duration) -> Subcommand {
        self.limit = limit;
        self
    }

    /// Writes a file relative to the run's directory; returns its path.
    pub fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> String {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p.to_string_lossy().into_owned()
    }

    /// Writes an executable script relative to the run's directory (a
    /// stand-in for a tool on PATH, e.g. `bin/buildkite-agent`).
    pub fn script(&self, rel: &str, content: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = self.file(rel, content);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The command, environment cleared and set, not yet started: for a
    /// caller that manages a long-running process itself.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(self.dir.path());
        cmd
    }

    /// Runs to the end (killed at the time limit), checking the expected
    /// exit code if one was given.
    pub fn run(&self) -> Ran {
        let mut cmd = self.command();
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the binary starts");
        if let (Some(input), Some(mut pipe)) = (self.stdin.clone(), child.stdin.take()) {
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let out = read_all(child.stdout.take().unwrap());
        let err = read_all(child.stderr.take().unwrap());
        let deadline = Instant::now() + self.limit;
        let status = loop {
            match child.try_wait().unwrap() {
                Some(status) => break Some(status),
                None if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let ran = Ran {
            code: status.and_then(|s| s.code()).unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned(),
            stderr: String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned(),
            command: std::iter::once("keyless-aws")
                .chain(self.args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            dir: self.dir.path().to_string_lossy().into_owned(),
        };
        assert!(
            status.is_some(),
            "keyless-aws {} did not finish within {:?}:\n{}",
            self.args.join(" "),
            self.limit,
            ran.describe()
        );
        if let Some(expected) = self.expected {
            assert_eq!(
                ran.code,
                expected,
                "keyless-aws {}:\n{}",
                self.args.join(" "),
                ran.describe()
            );
        }
        ran
    }

    /// [`Subcommand::run`] off the async runtime (for tests whose stand-ins
    /// run on it); gives the builder back for a second run.
    pub async fn run_async(self) -> (Ran, Subcommand) {
        tokio::task::spawn_blocking(move || (self.run(), self))
            .await
            .unwrap()
    }
}

fn read_all(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

impl Ran {
    pub fn describe(&self) -> String {
        format!(
            "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// What a user reads, for a snapshot: the command, its exit code, stdout
    /// and stderr, with the run's temp directory shown as `[TMP]`.
    pub fn user_view(&self) -> String {
        let view = format!(
            "$ {}\nexit code: {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        );
        view.replace(&self.dir, "[TMP]")
    }
}
