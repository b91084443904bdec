//! `scripts/token_endpoint.py`, the runner's OIDC token endpoint as a separate process
//! (for tests where the binary runs out of reach of wiremock: Docker, act, and the
//! leak test's realistic tokens). Its POSTs answer like STS's AccessDenied.

use super::process::{wait_until, Server};
use super::{random_hex, repo_root};
use serde_json::Value;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

pub struct TokenEndpoint {
    server: Server,
    pub dir: tempfile::TempDir,
    pub ip: IpAddr,
    pub port: u16,
    /// The ACTIONS_ID_TOKEN_REQUEST_TOKEN it accepts.
    pub bearer: String,
    pub log: PathBuf,
}

impl TokenEndpoint {
    pub fn start(ip: IpAddr, bearer: &str) -> TokenEndpoint {
        let dir = tempfile::Builder::new()
            .prefix("keyless-aws-token")
            .tempdir()
            .unwrap();
        let log = dir.path().join("requests.jsonl");
        let port_file = dir.path().join("port");
        let mut cmd = Server::bounded("python3");
        cmd.arg(repo_root().join("scripts/token_endpoint.py"))
            .args(["--host", &ip.to_string(), "--port", "0"])
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .args(["--max-seconds", "900", "--max-requests", "5000"])
            .env("TOKEN_ENDPOINT_BEARER", bearer);
        let mut server = Server::spawn(
            "token endpoint stand-in",
            &mut cmd,
            dir.path().join("server.log"),
        );
        let mut port = 0;
        wait_until(
            "the token endpoint stand-in",
            Duration::from_secs(20),
            || {
                server.assert_running();
                port = std::fs::read_to_string(&port_file)
                    .ok()
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or(0);
                port != 0
            },
        );
        TokenEndpoint {
            server,
            dir,
            ip,
            port,
            bearer: bearer.to_owned(),
            log,
        }
    }

    /// Its base URL; POSTs there get STS's AccessDenied.
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.ip, self.port)
    }

    /// A token request URL as the runner passes it (already has a query string).
    /// `tag` goes into the path so a test can find its own requests in the log.
    pub fn request_url(&self, tag: &str) -> String {
        format!(
            "{}/{tag}/_apis/distributedtask/hubs/Actions/plans/{}/jobs/{}/idtoken?api-version=2.0",
            self.url(),
            random_hex(16),
            random_hex(16)
        )
    }

    /// Logged requests whose path starts with `/{tag}/` (GETs) or whose STS RoleArn
    /// contains `tag` (POSTs).
    pub fn requests(&self, tag: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
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
}
