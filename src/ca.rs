//! Extra CA certificates for runners behind TLS inspection. A corporate proxy
//! re-signs every TLS connection with its own CA, and the runner is told so in
//! the ways each tool reads: `NODE_EXTRA_CA_CERTS` (Node, so the reference
//! action), `AWS_CA_BUNDLE` and `ca_bundle` in the config profile (the AWS
//! SDKs and CLI), `SSL_CERT_FILE` (OpenSSL tools). Every one that is set is
//! trusted for both the token request and STS, in addition to the image's CA
//! bundle, never instead of it.
//!
//! The files are read and checked while planning, so a missing, unreadable or
//! empty one stops the step before any request. A container action sees only
//! what the runner mounts (the workspace, `RUNNER_TEMP`, its home): a path
//! elsewhere gets an error saying where to put the file.

use crate::aws_config::ProfileSettings;
use crate::error::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use crate::plan::ExtraCa;

/// The variables read, in this order.
pub const VARIABLES: [&str; 3] = ["NODE_EXTRA_CA_CERTS", "AWS_CA_BUNDLE", "SSL_CERT_FILE"];

/// A CA file is a few KiB (a full public bundle ~250 KiB).
const MAX_CA_FILE: u64 = 4 * 1024 * 1024;

/// The image's bundle (and Debian's, where GitHub's runners run), then other
/// distributions' places: what the extra certificates are added to.
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// Where the runner mounts its directories in a container action.
pub struct Mounts {
    /// (host path, container path), for paths the runner did not translate.
    pub pairs: Vec<(PathBuf, &'static str)>,
}

impl Mounts {
    /// The runner's mounts, from what the container knows of the host: the
    /// host `RUNNER_TEMP` (action.yml's hidden `runner-temp` input) and the
    /// host workspace (`RUNNER_WORKSPACE` is passed untranslated, and the
    /// workspace is its `<repository name>` directory).
    pub fn of_runner(env: &HashMap<String, String>, host_temp: Option<&str>) -> Mounts {
        let mut pairs = Vec::new();
        if let Some(temp) = host_temp.filter(|t| t.starts_with('/')) {
            let temp = PathBuf::from(temp);
            pairs.push((temp.join("_github_home"), "/github/home"));
            pairs.push((temp.join("_github_workflow"), "/github/workflow"));
            pairs.push((temp, "/github/runner_temp"));
        }
        let repo = env
            .get("GITHUB_REPOSITORY")
            .and_then(|r| r.rsplit('/').next());
        if let (Some(ws), Some(repo)) = (env.get("RUNNER_WORKSPACE"), repo) {
            if ws.starts_with('/') && !repo.is_empty() {
                pairs.push((Path::new(ws).join(repo), "/github/workspace"));
            }
        }
        Mounts { pairs }
    }

    /// A host path as the container sees it, as the runner translates paths
    /// (the longest mounted prefix wins); other paths are returned unchanged.
    pub fn translate(&self, path: &Path) -> PathBuf {
        self.pairs
            .iter()
            .filter_map(|(host, target)| {
                let rest = path.strip_prefix(host).ok()?;
                Some((host.as_os_str().len(), Path::new(target).join(rest)))
            })
            .max_by_key(|(len, _)| *len)
            .map_or_else(|| path.to_path_buf(), |(_, p)| p)
    }
}

/// Every extra CA file the environment and the config profile name, read and checked.
/// `mounts` is `Some` in a container action.
pub fn from_environment(
    env: &HashMap<String, String>,
    profile: &ProfileSettings,
    mounts: Option<&Mounts>,
) -> Result<Vec<ExtraCa>, Error> {
    let named = VARIABLES
        .iter()
        .filter_map(|var| {
            let value = env.get(*var).map(|v| v.trim()).filter(|v| !v.is_empty())?;
            Some((var.to_string(), value.to_owned()))
        })
        .chain(
            profile
                .get("ca_bundle")
                .filter(|v| !v.is_empty())
                .map(|v| (profile.describe("ca_bundle"), v.to_owned())),
        );
    let mut found: Vec<ExtraCa> = Vec::new();
    for (source, value) in named {
        let given = PathBuf::from(&value);
        let path = match mounts {
            Some(m) => m.translate(&given),
            None => given,
        };
        if found.iter().any(|f| f.path == path) {
            continue;
        }
        let pem = read(&source, &path, mounts.is_some())?;
        found.push(ExtraCa { source, path, pem });
    }
    Ok(found)
}

fn problem(source: &str, path: &Path, problem: String, fix: String) -> Error {
    Error::Input {
        input: "environment",
        problem: format!("{source} names {}, which {problem}", path.display()),
        fix,
    }
}

/// Reads one file and checks it holds at least one valid certificate.
fn read(source: &str, path: &Path, in_container: bool) -> Result<Vec<u8>, Error> {
    let unseen = if in_container {
        format!(
            "This action runs in a Docker container, which sees only what the runner mounts: \
             the workspace, RUNNER_TEMP and the runner's temp home. Copy the file there in an \
             earlier step (e.g. `cp {} \"$RUNNER_TEMP/\"`) and point {source} at the copy \
             (`${{{{ runner.temp }}}}/…`; the runner translates the path).",
            path.display()
        )
    } else {
        format!("Point {source} at a PEM file of CA certificates that exists.")
    };
    if !path.is_absolute() {
        return Err(problem(
            source,
            path,
            "is not an absolute path".into(),
            format!("Set {source} to the file's absolute path."),
        ));
    }
    let meta = std::fs::metadata(path).map_err(|e| {
        let what = if e.kind() == std::io::ErrorKind::NotFound {
            if in_container {
                "this container cannot see".to_owned()
            } else {
                "does not exist".to_owned()
            }
        } else {
            format!("cannot be read ({e})")
        };
        problem(source, path, what, unseen.clone())
    })?;
    if !meta.is_file() || meta.len() > MAX_CA_FILE {
        return Err(problem(
            source,
            path,
            "is not a regular file of at most 4 MiB".into(),
            format!("Point {source} at a PEM file of CA certificates."),
        ));
    }
    let pem = std::fs::read(path).map_err(|e| {
        problem(
            source,
            path,
            format!("cannot be read ({e})"),
            format!("Make the file readable by the user this step runs as (root in a container action), or point {source} elsewhere."),
        )
    })?;
    if certificates(&pem).is_empty() {
        return Err(problem(
            source,
            path,
            "holds no valid PEM certificate".into(),
            format!("Point {source} at the CA certificate(s) in PEM form (-----BEGIN CERTIFICATE-----…); convert a DER file with `openssl x509 -inform der -in ca.cer -out ca.pem`."),
        ));
    }
    Ok(pem)
}

/// The certificates of a PEM text that parse as X.509 (anything else skipped).
pub fn certificates(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    let ders: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect();
    ders.into_iter()
        .filter(|der| {
            let mut one = rustls::RootCertStore::empty();
            one.add_parsable_certificates([der.clone()]).0 == 1
        })
        .collect()
}

/// One certificate as PEM text.
pub fn to_pem(der: &CertificateDer<'_>) -> Vec<u8> {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem.into_bytes()
}

static EXTRA: OnceLock<Vec<Vec<u8>>> = OnceLock::new();

/// Makes both HTTP clients trust these files too, for the rest of the process.
/// Called once, after planning and before any request.
pub fn install(cas: &[ExtraCa]) {
    let _ = EXTRA.set(cas.iter().map(|c| c.pem.clone()).collect());
}

/// The PEM texts to trust when extra CAs are installed: the system bundle (if
/// one is found) followed by the extra files; `None` without extra CAs, when
/// the clients keep their default roots.
pub fn trusted_pems() -> Option<Vec<Vec<u8>>> {
    let extra = EXTRA.get().filter(|e| !e.is_empty())?;
    let system = SYSTEM_BUNDLES
        .iter()
        .find_map(|p| std::fs::read(p).ok().filter(|b| !b.is_empty()));
    Some(system.into_iter().chain(extra.iter().cloned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_env::env;

    #[test]
    fn host_paths_become_container_paths_like_the_runner_translates_them() {
        let e = env(&[
            ("RUNNER_WORKSPACE", "/home/runner/work/app"),
            ("GITHUB_REPOSITORY", "org/app"),
        ]);
        let m = Mounts::of_runner(&e, Some("/home/runner/work/_temp"));
        let t = |p: &str| m.translate(Path::new(p)).display().to_string();
        assert_eq!(
            t("/home/runner/work/app/app/certs/ca.pem"),
            "/github/workspace/certs/ca.pem"
        );
        assert_eq!(
            t("/home/runner/work/_temp/ca.pem"),
            "/github/runner_temp/ca.pem"
        );
        assert_eq!(
            t("/home/runner/work/_temp/_github_home/ca.pem"),
            "/github/home/ca.pem"
        );
        assert_eq!(t("/etc/ssl/corp.pem"), "/etc/ssl/corp.pem");
    }

    #[test]
    fn missing_empty_and_non_pem_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(
            &junk,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let none = ProfileSettings::default();
        for (path, says) in [
            (dir.path().join("missing.pem"), "does not exist"),
            (empty, "no valid PEM certificate"),
            (junk, "no valid PEM certificate"),
            (PathBuf::from("relative.pem"), "not an absolute path"),
        ] {
            let e = env(&[("NODE_EXTRA_CA_CERTS", path.to_str().unwrap())]);
            let err = from_environment(&e, &none, None).unwrap_err().to_string();
            assert!(
                err.contains(says) && err.contains("NODE_EXTRA_CA_CERTS"),
                "{err}"
            );
        }
        let e = env(&[("AWS_CA_BUNDLE", "/nowhere/ca.pem")]);
        let mounts = Mounts { pairs: Vec::new() };
        let err = from_environment(&e, &none, Some(&mounts)).unwrap_err();
        assert!(err.to_string().contains("cannot see"), "{err}");
    }
}
