//! Both clients (the token request and STS) over real TLS, trusting only the CA
//! bundle the environment names, as the image's bundle is trusted in production.

use crate::support::process::{wait_until, Server};
use crate::support::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn token_and_sts_requests_verify_the_server_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = (
        dir.path().join("ca.pem"),
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
    );
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .stderr(Stdio::null())
            .status()
            .expect("openssl CLI");
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    std::fs::write(
        dir.path().join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    let port_file = dir.path().join("port");
    let mut server = Server::spawn(
        "TLS stand-in",
        Server::bounded("python3")
            .arg(repo_root().join("tests/it/fixtures/tls_server.py"))
            .arg(&cert)
            .arg(&key)
            .arg(&port_file)
            .arg("60"),
        dir.path().join("server.log"),
    );
    wait_until("the TLS stand-in", Duration::from_secs(20), || {
        server.assert_running();
        std::fs::read_to_string(&port_file).is_ok_and(|p| !p.is_empty())
    });
    let url = format!(
        "https://127.0.0.1:{}",
        std::fs::read_to_string(&port_file).unwrap()
    );

    let step = || {
        Scenario::new()
            .oidc(&url)
            .input("role-to-assume", ROLE)
            .input("aws-region", "eu-west-1")
            .input("sts-endpoint", &url)
            .input("retry-max-attempts", "1")
    };

    // Trusting the stand-in's certificate: the token arrives over TLS and STS's
    // answer (AccessDenied) is read over TLS.
    let out = step().env("SSL_CERT_FILE", &ca.to_string_lossy()).run();
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("AccessDenied"), "{}", out.stdout);
    assert!(out.stdout.contains("Not authorized over TLS"));

    // Not trusting it: the token request is refused by certificate verification.
    let other_ca = dir.path().join("empty.pem");
    std::fs::write(&other_ca, "").unwrap();
    let out = step()
        .env("SSL_CERT_FILE", &other_ca.to_string_lossy())
        .run();
    out.assert_failed_cleanly();
    assert!(
        out.error_line().contains("OIDC token request failed"),
        "{}",
        out.stdout
    );
}
