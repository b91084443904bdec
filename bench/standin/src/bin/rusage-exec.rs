//! `rusage-exec PROGRAM [ARGS...]`: runs PROGRAM, then prints to stderr one line
//! `rusage-exec: maxrss_kb=N wall_us=N` and exits with PROGRAM's exit code.
//!
//! Built statically so it can be bind-mounted into the `FROM scratch` image and
//! used as the entrypoint: that measures the action's process inside the
//! container, which `docker run` on the host cannot see (cgroup v1, no
//! memory.peak after exit). No dependencies: getrusage is declared here.

use std::process::{exit, Command};
use std::time::Instant;

#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}

/// `struct rusage` on 64-bit Linux: two timevals and fourteen longs.
#[repr(C)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    maxrss: i64,
    rest: [i64; 13],
}

extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

const RUSAGE_CHILDREN: i32 = -1;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((program, rest)) = args.split_first() else {
        eprintln!("usage: rusage-exec PROGRAM [ARGS...]");
        exit(2);
    };
    let start = Instant::now();
    let status = match Command::new(program).args(rest).status() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rusage-exec: cannot run {program}: {e}");
            exit(127);
        }
    };
    let wall = start.elapsed();
    let mut usage = Rusage {
        utime: Timeval { sec: 0, usec: 0 },
        stime: Timeval { sec: 0, usec: 0 },
        maxrss: 0,
        rest: [0; 13],
    };
    // SAFETY: `usage` is a valid, writable struct rusage.
    unsafe { getrusage(RUSAGE_CHILDREN, &mut usage) };
    let cpu_us =
        (usage.utime.sec + usage.stime.sec) * 1_000_000 + usage.utime.usec + usage.stime.usec;
    eprintln!(
        "rusage-exec: maxrss_kb={} wall_us={} cpu_us={}",
        usage.maxrss,
        wall.as_micros(),
        cpu_us
    );
    exit(status.code().unwrap_or(128));
}
