//! Child processes bounded as a whole: the one way this program runs another
//! program (today `buildkite-agent oidc request-token`).
//!
//! Waiting for a child's exit is not enough: a grandchild it started in the
//! background inherits its stdout, and reading to the end of that pipe would
//! then wait as long as the grandchild lives. So the child starts its own
//! process group; its output is read on threads and waited for with a
//! deadline; once the child has exited its pipes get [`GRACE`] to close, then
//! the whole group is killed (which closes them); at the deadline the group is
//! killed whatever it is doing. Nothing here blocks past the deadline.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the pipes may stay open after the child exited (a grandchild
/// holding them is killed with the group then).
pub const GRACE: Duration = Duration::from_secs(2);

/// What a bounded child printed (each stream cut at its limit).
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

#[derive(Debug)]
pub enum ChildError {
    Spawn(std::io::Error),
    /// The child had not exited at the deadline; its group was killed.
    Timeout,
    /// The child exited, but its output never closed, even after its process
    /// group was killed (a grandchild that left the group holds it).
    OutputHeld,
}

/// Runs `cmd` (stdin closed) until it exits and its output is read, at most
/// `limit`; `caps` bound what is kept of stdout and stderr.
pub fn run(cmd: &mut Command, limit: Duration, caps: (u64, u64)) -> Result<Finished, ChildError> {
    let deadline = Instant::now() + limit;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(ChildError::Spawn)?;
    let group = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel::<(usize, Vec<u8>)>();
    read_on_thread(0, child.stdout.take(), caps.0, tx.clone());
    read_on_thread(1, child.stderr.take(), caps.1, tx.clone());
    drop(tx);
    let kill_group = || {
        // SAFETY: kill has no memory effects; a negative pid names the group
        // this child leads (it was started with process_group(0)).
        unsafe { libc::kill(-group, libc::SIGKILL) };
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                kill_group();
                let _ = child.wait();
                return Err(ChildError::Timeout);
            }
        }
    };
    let mut outputs: [Option<Vec<u8>>; 2] = [None, None];
    let mut until = (Instant::now() + GRACE).min(deadline);
    let mut killed = false;
    while outputs.iter().any(Option::is_none) {
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok((i, buf)) => outputs[i] = Some(buf),
            Err(mpsc::RecvTimeoutError::Timeout) if !killed => {
                // A grandchild holds the output: end the whole group.
                kill_group();
                killed = true;
                until = Instant::now() + Duration::from_millis(500);
            }
            Err(_) => return Err(ChildError::OutputHeld),
        }
    }
    let [stdout, stderr] = outputs.map(Option::unwrap_or_default);
    Ok(Finished {
        status,
        stdout,
        stderr,
    })
}

/// Reads `pipe` to its end on a thread, keeping the first `cap` bytes (and
/// draining the rest, so the child never blocks on a full pipe), then sends
/// them as stream `i`.
fn read_on_thread(
    i: usize,
    pipe: Option<impl Read + Send + 'static>,
    cap: u64,
    tx: mpsc::Sender<(usize, Vec<u8>)>,
) {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = (&mut pipe).take(cap).read_to_end(&mut buf);
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        }
        let _ = tx.send((i, buf));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grandchild_holding_the_output_is_killed_with_the_group() {
        let started = Instant::now();
        let out = run(
            Command::new("sh").args(["-c", "echo token; sleep 300 & exit 0"]),
            Duration::from_secs(20),
            (1024, 1024),
        )
        .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"token\n");
        assert!(started.elapsed() < GRACE + Duration::from_secs(3));
    }

    #[test]
    fn a_child_past_the_deadline_is_killed() {
        let started = Instant::now();
        let e = run(
            Command::new("sh").args(["-c", "sleep 300"]),
            Duration::from_millis(300),
            (1024, 1024),
        )
        .unwrap_err();
        assert!(matches!(e, ChildError::Timeout), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn output_is_cut_at_its_cap_without_blocking_the_child() {
        let out = run(
            Command::new("sh").args(["-c", "head -c 200000 /dev/zero; echo done >&2"]),
            Duration::from_secs(20),
            (10, 100),
        )
        .unwrap();
        assert_eq!(out.stdout.len(), 10);
        assert_eq!(out.stderr, b"done\n");
    }
}
