//! The one integration-test binary (`cargo test --test it`).
//!
//! Every module runs the real binary through the shared `support` harness. Tests that
//! need Docker, moto or act are `#[ignore = "needs …"]`: a plain `cargo test` lists
//! them as ignored with the reason, `scripts/test.sh` runs them with
//! `--include-ignored`, and then a missing tool fails the test with the fix.

mod support;

mod act;
mod action_yml;
mod assume;
mod check_trust;
mod cli;
mod cognito;
mod container;
mod dev_token_server;
mod dropin;
mod hardening;
mod hostile;
mod hygiene;
mod leak;
mod moto;
mod readme_act;
mod refresh;
mod roles;
mod shared_token;
mod snapshots;
mod subcommand_snapshots;
mod surfaces;
mod throttling;
mod tls;
