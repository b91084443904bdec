//! Docker: the image under test (built once per test binary by scripts/build-image.sh,
//! or `KEYLESS_AWS_TEST_IMAGE`), networks and containers that clean up after
//! themselves, and the [`Fixture`] the container and act tests share: a Docker network
//! the test creates, with moto's STS and the token endpoint stand-in bound to its
//! gateway address only.

use super::moto::{Issued, Moto};
use super::process::{quick, run};
use super::token_endpoint::TokenEndpoint;
use super::{random_hex, repo_root};
use serde_json::Value;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

pub fn docker(args: &[&str]) -> Result<String, String> {
    quick("docker", args)
}

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

/// A Docker network with moto and the token endpoint stand-in on its gateway address.
pub struct Fixture {
    // Drop order is field order: servers first, the network last.
    pub moto: Moto,
    pub token: TokenEndpoint,
    pub network: Network,
    /// The value of ACTIONS_ID_TOKEN_REQUEST_TOKEN that the stand-in accepts.
    pub request_token: String,
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
        let ip = network.gateway;
        let request_token = random_hex(20);
        let token = TokenEndpoint::start(ip, &request_token);
        let moto = Moto::start(ip);
        eprintln!(
            "fixture: network {} gateway {ip}, moto :{}, token endpoint :{} ({:.1?})",
            network.name,
            moto.port,
            token.port,
            started.elapsed()
        );
        Fixture {
            moto,
            token,
            network,
            request_token,
        }
    }

    pub fn sts_endpoint(&self) -> String {
        self.moto.url()
    }

    pub fn token_port(&self) -> u16 {
        self.token.port
    }

    pub fn token_request_url(&self, tag: &str) -> String {
        self.token.request_url(tag)
    }

    pub fn token_requests(&self, tag: &str) -> Vec<Value> {
        self.token.requests(tag)
    }

    pub fn issued(&self, session_name: &str) -> Vec<Issued> {
        self.moto.issued(session_name)
    }

    pub fn caller_identity(&self, id: &str, secret: &str, token: &str, region: &str) -> Value {
        self.moto.caller_identity(id, secret, token, region)
    }
}
