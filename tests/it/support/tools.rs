//! External tools some tests need. Those tests are `#[ignore = "needs …"]`, so a plain
//! `cargo test` lists them as ignored with the reason; `scripts/test.sh` runs them with
//! `--include-ignored`, and then a missing tool is a failure with the fix, never a
//! silent pass.

use super::process::quick;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy)]
pub enum Tool {
    /// A reachable Docker engine.
    Docker,
    /// python3 with moto[server] and boto3 (scripts/setup.sh installs them).
    Moto,
    /// The `act` CLI (scripts/setup.sh).
    Act,
    /// A statically linked busybox, for act's job image (apt: busybox-static).
    Busybox,
    /// The `terraform` CLI, for `terraform fmt` on what `setup` prints.
    Terraform,
    /// zizmor, the workflows' static analysis (scripts/setup.sh).
    Zizmor,
}

impl Tool {
    fn check(self) -> Result<(), String> {
        match self {
            Tool::Docker => quick("docker", &["version", "--format", "{{.Server.Version}}"])
                .map(|_| ())
                .map_err(|e| format!("no Docker engine is reachable: {e}")),
            Tool::Moto => quick("python3", &["-c", "import moto.server, boto3"])
                .map(|_| ())
                .map_err(|e| format!("python3 cannot import moto.server and boto3: {e}")),
            Tool::Act => quick("act", &["--version"]).map(|_| ()),
            Tool::Zizmor => quick("zizmor", &["--version"]).map(|_| ()),
            Tool::Busybox => find_busybox().map(|_| ()),
            Tool::Terraform => quick("terraform", &["version"]).map(|_| ()),
        }
    }
}

/// Panics, naming the fix, unless every tool is there. Call it first in an ignored test.
pub fn require(tools: &[Tool]) {
    let missing: Vec<String> = tools
        .iter()
        .filter_map(|t| t.check().err().map(|e| format!("{t:?}: {e}")))
        .collect();
    assert!(
        missing.is_empty(),
        "this test needs tools that are missing (run `bash scripts/setup.sh`, or leave out \
         --include-ignored to skip the tests that need them):\n{}",
        missing.join("\n")
    );
}

/// A statically linked busybox: $BUSYBOX, /bin/busybox or /usr/bin/busybox.
pub fn find_busybox() -> Result<PathBuf, String> {
    let candidates: Vec<PathBuf> = std::env::var_os("BUSYBOX")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/bin/busybox", "/usr/bin/busybox"].map(PathBuf::from))
        .collect();
    let path = candidates
        .into_iter()
        .find(|p| p.is_file())
        .ok_or("no busybox found (apt-get install busybox-static)")?;
    let dynamic = quick("readelf", &["-d", path.to_str().unwrap()])
        .map(|o| o.contains("(NEEDED)"))
        .unwrap_or(false);
    if dynamic {
        return Err(format!(
            "{} is dynamically linked; install busybox-static",
            path.display()
        ));
    }
    Ok(path)
}
