//! Child processes with a hard time limit: commands the tests run, and helper servers
//! (moto, the token endpoint stand-in) that stop when dropped and by themselves after
//! [`SERVER_LIFETIME`] even if this process is killed.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Longest a helper server may live, whatever happens to the test process.
pub const SERVER_LIFETIME: Duration = Duration::from_secs(900);

#[derive(Debug)]
pub struct Ran {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub timed_out: bool,
    /// Peak resident memory (VmHWM) of the program, when `watch_memory_of` was given.
    pub peak_rss_kib: u64,
}

impl Ran {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
    pub fn describe(&self) -> String {
        format!(
            "status {:?}{} after {:.1?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            if self.timed_out {
                " (TIMED OUT, killed)"
            } else {
                ""
            },
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `cmd` with stdin closed, capturing stdout and stderr; kills it after `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Ran {
    try_run(cmd, timeout, None).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`run`]; with `watch_memory_of`, also samples the peak memory of the child
/// once it runs that executable (readings of the forked copy of this process before
/// `exec` do not count).
pub fn try_run(
    cmd: &mut Command,
    timeout: Duration,
    watch_memory_of: Option<&std::path::Path>,
) -> Result<Ran, String> {
    let started = Instant::now();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let out_reader = read_all(child.stdout.take().expect("stdout"));
    let err_reader = read_all(child.stderr.take().expect("stderr"));
    let deadline = started + timeout;
    let mut timed_out = false;
    let mut peak = 0;
    let status = loop {
        if let Some(exe) = watch_memory_of {
            if let Some(k) = vm_hwm_kib(child.id(), exe) {
                peak = peak.max(k);
            }
        }
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for {:?}: {e}", cmd.get_program())),
        }
    };
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    Ok(Ran {
        status,
        stdout,
        stderr,
        elapsed: started.elapsed(),
        timed_out,
        peak_rss_kib: peak,
    })
}

fn read_all(mut r: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

fn vm_hwm_kib(pid: u32, exe: &std::path::Path) -> Option<u64> {
    if std::fs::read_link(format!("/proc/{pid}/exe")).ok()? != exe {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A quick command that must work: returns trimmed stdout or an error text.
pub fn quick(program: &str, args: &[&str]) -> Result<String, String> {
    let ran = try_run(
        Command::new(program).args(args),
        Duration::from_secs(60),
        None,
    )?;
    if ran.success() {
        Ok(ran.stdout.trim().to_owned())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            ran.describe()
        ))
    }
}

/// A helper server started under `timeout(1)`, so it ends after [`SERVER_LIFETIME`]
/// whatever happens here; stopped with SIGTERM when dropped.
pub struct Server {
    pub name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `program args…` under `timeout`, stdout and stderr to `log`.
    pub fn spawn(name: &'static str, cmd: &mut Command, log: PathBuf) -> Server {
        let file = std::fs::File::create(&log).expect("server log file");
        cmd.stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {name}: {e}"));
        Server { name, child, log }
    }

    /// `timeout --kill-after=5 LIFETIME` as the start of a command line.
    pub fn bounded(program: &str) -> Command {
        let mut cmd = Command::new("timeout");
        cmd.args([
            "--kill-after=5",
            &SERVER_LIFETIME.as_secs().to_string(),
            program,
        ]);
        cmd
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the server's log if it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early ({status}): {}", self.name, self.log_text());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first: `timeout` (the direct child) passes it on to the server,
        // whereas SIGKILL would end `timeout` alone and orphan the server.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (bounded) until `probe` returns true.
pub fn wait_until(what: &str, timeout: Duration, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    for _ in 0..100_000 {
        if probe() {
            return;
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} was not ready within {timeout:?}");
}
