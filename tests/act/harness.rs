//! Test harness shared by `tests/container.rs` and `tests/act.rs` (each includes it
//! with `#[path = "act/harness.rs"] mod harness;`). Not a test target itself: Cargo
//! only discovers `tests/*.rs` and `tests/*/main.rs`.
//!
//! What it provides:
//! * prerequisites: Docker, python3 with moto, … are required when `CI=true` (a missing
//!   one is a test failure) and otherwise turn the test into a printed skip;
//! * the image, built once per test binary by `scripts/build-image.sh`;
//! * a [`Fixture`]: a Docker network the test creates, with moto's STS and the OIDC
//!   token endpoint stand-in (`scripts/token_endpoint.py`) bound to its gateway address,
//!   shared by the tests of one binary and torn down when the last of them drops it;
//! * commands with a hard timeout, file-command parsing, secret scanning.
//!
//! Every server here listens on the gateway address of a network the test created, and
//! stops by itself after a bounded time even if this process is killed.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread;
use std::time::{Duration, Instant};

/// Longest a helper server may live, whatever happens to the test process.
pub const SERVER_LIFETIME: Duration = Duration::from_secs(900);

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// `Ok` → true. Otherwise: a failure under CI=true, a printed skip (false) elsewhere.
pub fn prerequisite(what: &str, check: Result<(), String>) -> bool {
    match check {
        Ok(()) => true,
        Err(why) if in_ci() => panic!("{what} is required when CI=true, but {why}"),
        Err(why) => {
            eprintln!("SKIPPED: {what} is not available ({why}); this test only runs where it is (CI=true makes that a failure)");
            false
        }
    }
}

// ---------------------------------------------------------------------------------
// Commands with a hard timeout
// ---------------------------------------------------------------------------------

#[derive(Debug)]
pub struct Ran {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub timed_out: bool,
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
    try_run(cmd, timeout).unwrap_or_else(|e| panic!("{e}"))
}

pub fn try_run(cmd: &mut Command, timeout: Duration) -> Result<Ran, String> {
    let started = Instant::now();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let deadline = started + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(25)),
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
    })
}

/// A quick command that must work: returns trimmed stdout or an error text.
pub fn quick(program: &str, args: &[&str]) -> Result<String, String> {
    let ran = try_run(Command::new(program).args(args), Duration::from_secs(60))?;
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

pub fn docker(args: &[&str]) -> Result<String, String> {
    quick("docker", args)
}

// ---------------------------------------------------------------------------------
// Prerequisites
// ---------------------------------------------------------------------------------

pub fn check_docker() -> Result<(), String> {
    docker(&["version", "--format", "{{.Server.Version}}"])
        .map(|_| ())
        .map_err(|e| format!("no Docker engine is reachable: {e}"))
}

pub fn check_moto() -> Result<(), String> {
    quick("python3", &["-c", "import moto.server, boto3, yaml"])
        .map(|_| ())
        .map_err(|e| {
            format!("python3 with moto[server] is needed (pip install 'moto[server]'): {e}")
        })
}

// ---------------------------------------------------------------------------------
// The image
// ---------------------------------------------------------------------------------

/// The image under test: `KEYLESS_AWS_TEST_IMAGE` if set (e.g. an image CI built from
/// source), else the one `scripts/build-image.sh` builds from the local static binary.
/// Built once per test binary.
pub fn image() -> String {
    static IMAGE: OnceLock<Result<String, String>> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            if let Ok(image) = std::env::var("KEYLESS_AWS_TEST_IMAGE") {
                if !image.is_empty() {
                    docker(&["image", "inspect", "--format", "{{.Id}}", &image]).map_err(|e| {
                        format!("KEYLESS_AWS_TEST_IMAGE={image} is not a local image: {e}")
                    })?;
                    return Ok(image);
                }
            }
            let script = repo_root().join("scripts/build-image.sh");
            let mut cmd = Command::new("bash");
            cmd.arg(&script).current_dir(repo_root());
            // The release build of the binary is the slow part when it is not built yet.
            let ran = run(&mut cmd, Duration::from_secs(1800));
            if !ran.success() {
                return Err(format!("scripts/build-image.sh failed: {}", ran.describe()));
            }
            eprintln!("image built in {:.1?}", ran.elapsed);
            ran.stdout
                .lines()
                .last()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| "scripts/build-image.sh printed no image tag".to_owned())
        })
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------

/// Hex from the kernel's random source.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("/dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A unique, Docker-safe name for this process.
pub fn unique_name(kind: &str) -> String {
    static COUNTER: Mutex<u32> = Mutex::new(0);
    let mut n = COUNTER.lock().unwrap();
    *n += 1;
    format!(
        "keyless-aws-test-{kind}-{}-{}-{}",
        std::process::id(),
        *n,
        random_hex(3)
    )
}

pub fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on {ip}: {e}"))
}

/// A plain HTTP/1.1 GET (Connection: close), enough for moto's JSON endpoints.
pub fn http_get(ip: IpAddr, port: u16, path: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&(ip, port).into(), Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {ip}:{port}\r\nConnection: close\r\nAccept: application/json\r\n\r\n").map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> Result<String, String> {
    let mut out = String::new();
    for _ in 0..100_000 {
        let (size_line, after) = rest.split_once("\r\n").ok_or("bad chunk")?;
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| e.to_string())?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(after.get(..size).ok_or("short chunk")?);
        rest = after.get(size + 2..).ok_or("short chunk")?;
    }
    Err("too many chunks".into())
}

/// Waits (bounded) until `probe` returns true.
pub fn wait_until(what: &str, timeout: Duration, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    for _ in 0..10_000 {
        if probe() {
            return;
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} was not ready within {timeout:?}");
}

// ---------------------------------------------------------------------------------
// Docker resources that clean up after themselves
// ---------------------------------------------------------------------------------

/// A user-defined bridge network; servers bind to its gateway address.
pub struct Network {
    pub name: String,
    pub gateway: IpAddr,
}

impl Network {
    pub fn create() -> Network {
        let name = unique_name("net");
        docker(&["network", "create", "--label", "keyless-aws-test=1", &name])
            .unwrap_or_else(|e| panic!("cannot create a Docker network: {e}"));
        let mut network = Network {
            name,
            gateway: IpAddr::from([0, 0, 0, 0]),
        };
        let gateways = docker(&[
            "network",
            "inspect",
            "--format",
            "{{range .IPAM.Config}}{{.Gateway}} {{end}}",
            &network.name,
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        network.gateway = gateways
            .split_whitespace()
            .filter_map(|g| g.parse::<IpAddr>().ok())
            .find(IpAddr::is_ipv4)
            .unwrap_or_else(|| {
                panic!(
                    "network {} has no IPv4 gateway ({gateways:?})",
                    network.name
                )
            });
        network
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        if self.gateway.is_unspecified() {
            let _ = docker(&["network", "rm", &self.name]);
            return;
        }
        // Containers still attached (a killed `docker run`, act's job container) first.
        if let Ok(ids) = docker(&["ps", "-aq", "--filter", &format!("network={}", self.name)]) {
            for id in ids.split_whitespace() {
                let _ = docker(&["rm", "-f", id]);
            }
        }
        if let Err(e) = docker(&["network", "rm", &self.name]) {
            eprintln!("warning: could not remove network {}: {e}", self.name);
        }
    }
}

/// Removes a container by name when dropped (`docker run --rm` normally already did).
pub struct ContainerGuard(pub String);

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A child process killed when dropped.
pub struct Server {
    pub name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Server {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn assert_running(&mut self) {
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
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------
// The fixture: network + moto STS + token endpoint stand-in
// ---------------------------------------------------------------------------------

pub struct Fixture {
    // Drop order is field order: servers first, then the temp dir, the network last.
    moto: Server,
    token: Server,
    pub dir: tempfile::TempDir,
    pub network: Network,
    pub moto_port: u16,
    pub token_port: u16,
    /// The value of ACTIONS_ID_TOKEN_REQUEST_TOKEN that the stand-in accepts.
    pub request_token: String,
    pub token_log: PathBuf,
}

impl Fixture {
    /// The fixture shared by the tests of this binary that are running; created on
    /// first use, torn down when the last test holding it is done (or panics).
    pub fn shared() -> Arc<Fixture> {
        static SHARED: Mutex<Weak<Fixture>> = Mutex::new(Weak::new());
        let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(fixture) = slot.upgrade() {
            return fixture;
        }
        let fixture = Arc::new(Fixture::start());
        *slot = Arc::downgrade(&fixture);
        fixture
    }

    fn start() -> Fixture {
        let started = Instant::now();
        let network = Network::create();
        let dir = tempfile::Builder::new()
            .prefix("keyless-aws-fixture")
            .tempdir()
            .expect("tempdir");
        let ip = network.gateway;
        let lifetime = SERVER_LIFETIME.as_secs().to_string();

        // moto, in server mode, bound to the network's gateway only.
        let moto_port = free_port(ip);
        let moto_log = dir.path().join("moto.log");
        let mut cmd = Command::new("timeout");
        cmd.args([
            "--kill-after=5",
            &lifetime,
            "python3",
            "-m",
            "moto.server",
            "-H",
            &ip.to_string(),
            "-p",
            &moto_port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&moto_log).unwrap())
        .stderr(std::fs::File::create(dir.path().join("moto.err")).unwrap());
        let child = cmd.spawn().expect("start moto (python3 -m moto.server)");
        let mut moto = Server {
            name: "moto server",
            child,
            log: dir.path().join("moto.err"),
        };

        // The token endpoint stand-in.
        let request_token = random_hex(20);
        let token_log = dir.path().join("token-requests.jsonl");
        let port_file = dir.path().join("token.port");
        let mut cmd = Command::new("python3");
        cmd.arg(repo_root().join("scripts/token_endpoint.py"))
            .args(["--host", &ip.to_string(), "--port", "0"])
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&token_log)
            .args(["--max-seconds", &lifetime, "--max-requests", "500"])
            .env("TOKEN_ENDPOINT_BEARER", &request_token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("token.err")).unwrap());
        let child = cmd.spawn().expect("start scripts/token_endpoint.py");
        let mut token = Server {
            name: "token endpoint stand-in",
            child,
            log: dir.path().join("token.err"),
        };

        let mut token_port = 0;
        wait_until(
            "the token endpoint stand-in",
            Duration::from_secs(20),
            || {
                token.assert_running();
                token_port = std::fs::read_to_string(&port_file)
                    .ok()
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or(0);
                token_port != 0
            },
        );
        wait_until("moto", Duration::from_secs(60), || {
            moto.assert_running();
            matches!(http_get(ip, moto_port, "/moto-api/data.json"), Ok((200, _)))
        });
        eprintln!("fixture: network {} gateway {ip}, moto :{moto_port}, token endpoint :{token_port} ({:.1?})", network.name, started.elapsed());
        Fixture {
            moto,
            token,
            dir,
            network,
            moto_port,
            token_port,
            request_token,
            token_log,
        }
    }

    pub fn sts_endpoint(&self) -> String {
        format!("http://{}:{}", self.network.gateway, self.moto_port)
    }

    /// A token request URL as the runner passes it (already has a query string).
    /// `tag` goes into the path so a test can find its own requests in the log.
    pub fn token_request_url(&self, tag: &str) -> String {
        format!(
            "http://{}:{}/{tag}/_apis/distributedtask/hubs/Actions/plans/{}/jobs/{}/idtoken?api-version=2.0",
            self.network.gateway,
            self.token_port,
            random_hex(16),
            random_hex(16)
        )
    }

    /// The token endpoint stand-in's request log entries whose path starts with `/{tag}/`
    /// (GETs) or whose STS RoleArn contains `tag` (POSTs).
    pub fn token_requests(&self, tag: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.token_log).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| {
                v["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(&format!("/{tag}/")))
                    || v["role_arn"].as_str().is_some_and(|r| r.contains(tag))
            })
            .collect()
    }

    /// The credentials moto issued to AssumeRoleWithWebIdentity with this session name.
    pub fn issued(&self, session_name: &str) -> Vec<Issued> {
        let (status, body) = http_get(self.network.gateway, self.moto_port, "/moto-api/data.json")
            .unwrap_or_else(|e| panic!("moto data.json: {e}"));
        assert_eq!(status, 200, "moto data.json: {body}");
        let data: Value = serde_json::from_str(&body).expect("moto data.json is JSON");
        data["sts"]["AssumedRole"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["session_name"] == session_name)
            .map(|r| Issued {
                access_key_id: r["access_key_id"].as_str().unwrap_or_default().to_owned(),
                secret_access_key: r["secret_access_key"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                session_token: r["session_token"].as_str().unwrap_or_default().to_owned(),
                arn: r["arn"].as_str().unwrap_or_default().to_owned(),
                role_arn: r["role_arn"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// sts:GetCallerIdentity against moto with these credentials (python3 + boto3).
    pub fn caller_identity(
        &self,
        access_key_id: &str,
        secret_access_key: &str,
        session_token: &str,
        region: &str,
    ) -> Value {
        let script = "import boto3, json, sys\n\
                      c = boto3.client('sts', endpoint_url=sys.argv[1], region_name=sys.argv[2])\n\
                      r = c.get_caller_identity()\n\
                      r.pop('ResponseMetadata', None)\n\
                      print(json.dumps(r))\n";
        let mut cmd = Command::new("python3");
        cmd.args(["-c", script, &self.sts_endpoint(), region])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_ACCESS_KEY_ID", access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", secret_access_key)
            .env("AWS_SESSION_TOKEN", session_token)
            .env("AWS_REGION", region)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for keep in ["PYENV_ROOT", "PYENV_VERSION", "VIRTUAL_ENV", "PYTHONPATH"] {
            if let Ok(v) = std::env::var(keep) {
                cmd.env(keep, v);
            }
        }
        let ran = run(&mut cmd, Duration::from_secs(60));
        assert!(
            ran.success(),
            "GetCallerIdentity with the exported credentials failed: {}",
            ran.describe()
        );
        serde_json::from_str(ran.stdout.trim())
            .unwrap_or_else(|e| panic!("GetCallerIdentity output {:?}: {e}", ran.stdout))
    }
}

#[derive(Debug, Clone)]
pub struct Issued {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub arn: String,
    pub role_arn: String,
}

impl Issued {
    pub fn secrets(&self) -> [(&'static str, &str); 3] {
        [
            ("access key id", &self.access_key_id),
            ("secret access key", &self.secret_access_key),
            ("session token", &self.session_token),
        ]
    }
}

// ---------------------------------------------------------------------------------
// Runner file commands and output checks
// ---------------------------------------------------------------------------------

/// Parses a GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE file the way the runner does:
/// `NAME=VALUE` lines and `NAME<<DELIMITER` … `DELIMITER` blocks.
pub fn parse_file_commands(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut lines = text.split('\n').peekable();
    let mut guard = 0usize;
    while let Some(line) = lines.next() {
        guard += 1;
        assert!(guard < 1_000_000, "file too long");
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let heredoc = line.find("<<");
        let equals = line.find('=');
        match (heredoc, equals) {
            (Some(h), e) if e.is_none_or(|e| h < e) => {
                let name = &line[..h];
                let delimiter = &line[h + 2..];
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!("bad heredoc line {line:?}"));
                }
                let mut value = Vec::new();
                loop {
                    match lines.next() {
                        None => return Err(format!("{name}: no closing delimiter {delimiter:?}")),
                        Some(l) if l.strip_suffix('\r').unwrap_or(l) == delimiter => break,
                        Some(l) => value.push(l),
                    }
                }
                out.push((name.to_owned(), value.join("\n")));
            }
            (_, Some(e)) => out.push((line[..e].to_owned(), line[e + 1..].to_owned())),
            _ => {
                return Err(format!(
                    "line is neither NAME=VALUE nor NAME<<DELIMITER: {line:?}"
                ))
            }
        }
    }
    Ok(out)
}

pub fn as_map(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    pairs.iter().cloned().collect()
}

/// Panics if any secret occurs in `text` (named `where_` in the message).
pub fn assert_no_secret(where_: &str, text: &str, secrets: &[(&str, &str)]) {
    for (name, value) in secrets {
        if value.len() >= 8 && text.contains(value) {
            panic!("the {name} leaked into {where_}:\n{text}");
        }
    }
}

/// Every file under `dir`, recursively (bounded), with its contents.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        assert!(out.len() < 10_000, "too many files under {}", dir.display());
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => {
                    let bytes = std::fs::read(&path).unwrap_or_default();
                    out.push((path, bytes));
                }
                _ => {}
            }
        }
    }
    out
}

/// The `::add-mask::` values in `stdout`, checking for each secret that the first line
/// that mentions it is its own add-mask line, and that no later line shows it.
pub fn assert_masked_before_use(stdout: &str, secrets: &[(&str, &str)]) {
    let lines: Vec<&str> = stdout.lines().collect();
    for (name, value) in secrets {
        let first = lines
            .iter()
            .position(|l| l.contains(value))
            .unwrap_or_else(|| {
                panic!("the {name} was never masked (no ::add-mask:: line):\n{stdout}")
            });
        assert_eq!(lines[first].trim_end(), format!("::add-mask::{value}"), "the first stdout line that shows the {name} must be its ::add-mask:: line, got:\n{stdout}");
        for later in &lines[first + 1..] {
            if later.contains(value) && later.trim_end() != format!("::add-mask::{value}") {
                panic!("the {name} appears in stdout outside its ::add-mask:: line:\n{stdout}");
            }
        }
    }
}

/// Lines of stdout other than `::add-mask::` lines.
pub fn without_mask_lines(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// SHA-256 of `data` as lowercase hex, via `sha256sum` (std has no hash function).
pub fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.as_ref())
        .unwrap();
    let out = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// action.yml as JSON (python3 + PyYAML, which moto[server] brings), if it exists.
pub fn action_manifest() -> Option<Value> {
    let path = repo_root().join("action.yml");
    if !path.exists() {
        return None;
    }
    let out = quick(
        "python3",
        &[
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            path.to_str().unwrap(),
        ],
    )
    .unwrap_or_else(|e| panic!("cannot read action.yml: {e}"));
    Some(serde_json::from_str(&out).expect("action.yml as JSON"))
}
