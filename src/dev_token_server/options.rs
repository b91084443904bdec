//! What the dev token server is asked to serve: the claims its tokens carry
//! and its bounds, already validated (the command line is read into this by
//! `cli::dev_token_server`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the server needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub listen: SocketAddr,
    pub url_host: String,
    pub repo: String,
    pub git_ref: String,
    pub environment: Option<String>,
    pub event: String,
    pub workflow: String,
    pub actor: String,
    pub issuer: Option<String>,
    pub key_file: Option<PathBuf>,
    pub max_seconds: Duration,
    pub max_requests: u64,
}
