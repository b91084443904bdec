//! moto's server (a real AWS emulator from PyPI): the one launcher every test uses,
//! on 127.0.0.1 or on the gateway of a Docker network a test created.

use super::process::{run, wait_until, Server};
use super::{free_port, http_get};
use serde_json::Value;
use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Moto {
    // Drop order: the server before its directory.
    server: Server,
    pub dir: tempfile::TempDir,
    pub ip: IpAddr,
    pub port: u16,
}

impl Moto {
    /// moto on `ip`, ready to answer.
    pub fn start(ip: IpAddr) -> Moto {
        Self::start_with(ip, &[])
    }

    /// With extra environment for moto (e.g. `INITIAL_NO_AUTH_ACTION_COUNT`).
    pub fn start_with(ip: IpAddr, env: &[(&str, &str)]) -> Moto {
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("keyless-aws-moto")
            .tempdir()
            .unwrap();
        let port = free_port(ip);
        let mut cmd = Server::bounded("python3");
        cmd.args([
            "-m",
            "moto.server",
            "-H",
            &ip.to_string(),
            "-p",
            &port.to_string(),
        ]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let server = Server::spawn("moto server", &mut cmd, dir.path().join("moto.log"));
        let mut moto = Moto {
            server,
            dir,
            ip,
            port,
        };
        wait_until("moto", Duration::from_secs(60), || {
            moto.server.assert_running();
            matches!(http_get(ip, port, "/moto-api/data.json"), Ok((200, _)))
        });
        eprintln!("moto on {ip}:{port} ({:.1?})", started.elapsed());
        moto
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}", self.ip, self.port)
    }

    /// The credentials moto issued to an assume-role call with this session name.
    pub fn issued(&self, session_name: &str) -> Vec<Issued> {
        let (status, body) = http_get(self.ip, self.port, "/moto-api/data.json")
            .unwrap_or_else(|e| panic!("moto data.json: {e}"));
        assert_eq!(status, 200, "moto data.json: {body}");
        let data: Value = serde_json::from_str(&body).expect("moto data.json is JSON");
        data["sts"]["AssumedRole"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["session_name"] == session_name)
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                Issued {
                    access_key_id: s("access_key_id"),
                    secret_access_key: s("secret_access_key"),
                    session_token: s("session_token"),
                    arn: s("arn"),
                    role_arn: s("role_arn"),
                }
            })
            .collect()
    }

    /// A Cognito identity pool in `region` whose login is GitHub's OIDC
    /// provider (created with boto3); its id.
    pub fn identity_pool(&self, region: &str) -> String {
        let script = "import boto3, sys\n\
                      c = boto3.client('cognito-identity', endpoint_url=sys.argv[1], region_name=sys.argv[2],\n\
                      \x20   aws_access_key_id='test', aws_secret_access_key='test')\n\
                      p = c.create_identity_pool(IdentityPoolName='github_abac', AllowUnauthenticatedIdentities=False,\n\
                      \x20   OpenIdConnectProviderARNs=['arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com'])\n\
                      print(p['IdentityPoolId'])\n";
        let mut cmd = Command::new("python3");
        cmd.args(["-c", script, &self.url(), region])
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        let ran = run(&mut cmd, Duration::from_secs(60));
        assert!(
            ran.success(),
            "creating an identity pool in moto failed: {}",
            ran.describe()
        );
        ran.stdout.trim().to_owned()
    }

    /// sts:GetCallerIdentity against moto with these credentials (python3 + boto3,
    /// i.e. botocore reading them as a later step would).
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
        cmd.args(["-c", script, &self.url(), region])
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
