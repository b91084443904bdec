//! Both clients (the token request and STS) over real TLS, with a stand-in whose
//! certificate a private CA signed, as a corporate TLS-inspecting proxy signs
//! every connection. The CA is trusted when the environment names it in any
//! of the ways the runner's tools read (NODE_EXTRA_CA_CERTS, AWS_CA_BUNDLE,
//! `ca_bundle` in the config profile, SSL_CERT_FILE), on top of the system
//! bundle; a file that is missing, invisible to the container or holds no
//! certificate stops the step before any request (src/ca.rs).

use crate::support::docker::{image, Fixture};
use crate::support::process::{wait_until, Server};
use crate::support::runner::{oidc, run_step_with_env, RunnerDirs, Stage, Step};
use crate::support::*;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What the TLS stand-in answers to STS: proof both TLS connections worked.
const OVER_TLS: &str = "Not authorized over TLS";

/// A private CA (`{name}.pem`) and, when `leaf_ip` is given, a server
/// certificate it signed for that IP (`cert.pem`, `key.pem`).
fn private_ca(dir: &Path, name: &str, leaf_ip: Option<IpAddr>) -> PathBuf {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(Stdio::null())
            .status()
            .expect("openssl CLI");
        assert!(status.success(), "openssl {args:?}");
    };
    let (pem, key) = (format!("{name}.pem"), format!("{name}.key"));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        &format!("/CN=corporate inspection CA {name}"),
        "-keyout",
        &key,
        "-out",
        &pem,
    ]);
    if let Some(ip) = leaf_ip {
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={ip}"),
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
        ]);
        std::fs::write(
            dir.join("ext.cnf"),
            format!("subjectAltName=IP:{ip}\nbasicConstraints=CA:FALSE\n"),
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            &pem,
            "-CAkey",
            &key,
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
            "-out",
            "cert.pem",
        ]);
    }
    dir.join(pem)
}

/// The HTTPS stand-in (tests/it/fixtures/tls_server.py) on `ip`; its base URL.
fn tls_stand_in(dir: &Path, ip: IpAddr) -> (Server, String) {
    let port_file = dir.join("port");
    let mut server = Server::spawn(
        "TLS stand-in",
        Server::bounded("python3")
            .arg(repo_root().join("tests/it/fixtures/tls_server.py"))
            .arg(dir.join("cert.pem"))
            .arg(dir.join("key.pem"))
            .arg(&port_file)
            .arg("120")
            .arg(ip.to_string()),
        dir.join("server.log"),
    );
    wait_until("the TLS stand-in", Duration::from_secs(20), || {
        server.assert_running();
        std::fs::read_to_string(&port_file).is_ok_and(|p| !p.is_empty())
    });
    let url = format!(
        "https://{ip}:{}",
        std::fs::read_to_string(&port_file).unwrap()
    );
    (server, url)
}

#[test]
fn every_way_of_naming_a_corporate_ca_is_trusted_for_the_token_and_sts() {
    let dir = tempfile::tempdir().unwrap();
    let ca = private_ca(dir.path(), "ca", Some(LOCALHOST));
    let other_ca = private_ca(dir.path(), "other", None);
    let (_server, url) = tls_stand_in(dir.path(), LOCALHOST);
    let ca = ca.to_string_lossy().into_owned();
    let step = || {
        Scenario::new()
            .oidc(&url)
            .input("role-to-assume", ROLE)
            .input("aws-region", "eu-west-1")
            .input("sts-endpoint", &url)
            .input("retry-max-attempts", "1")
    };
    let config = dir.path().join("config");
    std::fs::write(&config, format!("[profile ci]\nca_bundle = {ca}\n")).unwrap();
    let ways: Vec<Vec<(&str, &str)>> = vec![
        vec![("NODE_EXTRA_CA_CERTS", &ca)],
        vec![("AWS_CA_BUNDLE", &ca)],
        vec![("SSL_CERT_FILE", &ca)],
        vec![
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_PROFILE", "ci"),
        ],
        // Added, not replacing: another CA in SSL_CERT_FILE does not hide this one.
        vec![
            ("SSL_CERT_FILE", other_ca.to_str().unwrap()),
            ("NODE_EXTRA_CA_CERTS", &ca),
        ],
    ];
    for env in ways {
        let out = env.iter().fold(step(), |s, (k, v)| s.env(k, v)).run();
        out.assert_failed_cleanly();
        assert!(
            out.stdout.contains(OVER_TLS),
            "{env:?}: both requests should pass TLS and reach STS's answer\n{}",
            out.stdout
        );
    }

    // Only another CA: the token request is refused by certificate verification.
    let out = step()
        .env("NODE_EXTRA_CA_CERTS", &other_ca.to_string_lossy())
        .run();
    out.assert_failed_cleanly();
    assert!(
        out.error_line().contains("OIDC token request failed"),
        "{}",
        out.stdout
    );

    // No certificate in the file, or no file: a clear error before any request.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    for (file, says) in [
        (empty, "holds no valid PEM certificate"),
        (dir.path().join("missing.pem"), "does not exist"),
    ] {
        let out = step().env("AWS_CA_BUNDLE", &file.to_string_lossy()).run();
        out.assert_failed_cleanly();
        assert!(
            out.error_line().contains("AWS_CA_BUNDLE") && out.error_line().contains(says),
            "{}",
            out.stdout
        );
    }
}

/// Under the runner emulation: the CA in the workspace, named by its host
/// path as a job's `env:` would (`${{ github.workspace }}/certs/ca.pem`), is
/// found at the path the runner translates it to, and both requests pass
/// TLS. The same CA in a host directory the runner does not mount fails
/// before any request, saying where to put it.
#[test]
#[ignore = "needs docker and moto: run by scripts/test.sh"]
fn a_corporate_ca_in_the_workspace_works_in_the_container_and_elsewhere_is_explained() {
    require(&[Tool::Docker, Tool::Moto]);
    let fx = Fixture::shared();
    let image = image();
    let dirs = RunnerDirs::new();
    let gateway = fx.network.gateway;
    let dir = tempfile::tempdir().unwrap();
    let ca = private_ca(dir.path(), "ca", Some(gateway));
    let (_server, url) = tls_stand_in(dir.path(), gateway);
    let in_workspace = dirs.workspace.join("certs/ca.pem");
    std::fs::create_dir_all(in_workspace.parent().unwrap()).unwrap();
    std::fs::copy(&ca, &in_workspace).unwrap();
    let outside = dirs.root().join("corp/ca.pem");
    std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
    std::fs::copy(&ca, &outside).unwrap();
    let run = |ca: &Path| {
        let files = dirs.step_files();
        let step = Step {
            stage: Stage::Main,
            with: vec![
                ("role-to-assume", ROLE),
                ("aws-region", "eu-west-1"),
                ("sts-endpoint", &url),
                ("retry-max-attempts", "1"),
            ],
            oidc: oidc(&fx, "corporate-ca").map(|(_, token)| (format!("{url}/token?x=1"), token)),
            state: vec![],
        };
        let env = [("NODE_EXTRA_CA_CERTS", ca.to_str().unwrap())];
        run_step_with_env(&fx, &image, &dirs, &files, &step, &env)
    };
    let ran = run(&in_workspace);
    assert!(
        ran.stdout.contains(OVER_TLS),
        "the CA in the workspace should be trusted: {}",
        ran.describe()
    );
    let ran = run(&outside);
    assert!(
        ran.stdout.contains("cannot see") && ran.stdout.contains("RUNNER_TEMP"),
        "a CA outside the runner's mounts should be explained: {}",
        ran.describe()
    );
    assert!(!ran.stdout.contains(OVER_TLS), "{}", ran.describe());
}
