//! keyless-aws as a library: the binary in `main.rs` is a thin shell around
//! these modules, and the fuzz targets and benchmarks call them directly.
//!
//! Reading order: `inputs` (raw `INPUT_*` → validated `Plan`), `run` (the plan
//! executed), `oidc` and `sts` (the two network calls), `workflow` (everything
//! written to the runner), `explain` and `report` (what a failure tells the user).

pub mod error;
pub mod explain;
pub mod http;
pub mod inputs;
pub mod jwt;
pub mod oidc;
pub mod post;
pub mod profile;
pub mod redact;
pub mod refresh;
pub mod report;
pub mod retry;
pub mod run;
pub mod secret;
pub mod setup;
pub mod sts;
pub mod tags;
pub mod workflow;
