//! keyless-aws as a library: the binary in `main.rs` is a thin shell around
//! these modules, and the fuzz targets and benchmarks call them directly.
//!
//! Reading order: `inputs` (raw `INPUT_*` → a validated `plan::Plan`, with
//! `aws_names` for every AWS name), `run` (the plan executed; it reads no
//! environment; `roles` runs several roles at once), `oidc` and `sts` (the
//! network calls), `profile` and `workflow` (everything written for later
//! steps and the runner, `text` for escaping),
//! `explain` and `report` (what a failure tells the user). The command line
//! (`cli`: `assume`, `setup`, `check-trust`) reuses them for every CI `ci` knows.
//! `refresh` is what `refresh-credentials: true` leaves later steps: the
//! `credential-process` helper, its cache and the files the action installs.

pub mod aws_config;
pub mod aws_names;
pub mod ca;
pub mod child;
pub mod ci;
pub mod cli;
pub mod cognito;
pub mod deliver;
pub mod dev_sts;
pub mod dev_token_server;
pub mod error;
pub mod exchange;
pub mod explain;
pub mod http;
pub mod inputs;
pub mod jwt;
pub mod mask;
pub mod oidc;
pub mod plan;
pub mod post;
pub mod profile;
pub mod redact;
pub mod refresh;
pub mod report;
pub mod retry;
pub mod run;
pub mod run_profiles;
pub mod secret;
pub mod session;
pub mod setup;
pub mod setup_abac;
pub mod sts;
pub mod tags;
pub mod text;
pub mod token_file;
pub mod trust;
pub mod trusted_files;
pub mod workflow;

/// Unit tests' one way to build an environment map from literal pairs.
#[cfg(test)]
pub(crate) mod test_env {
    use std::collections::HashMap;

    pub fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}
