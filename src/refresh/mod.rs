//! `refresh-credentials: true`: credentials that refresh themselves.
//!
//! A job can outlive any session (at most 1 h when chaining roles), but every
//! step of a job with `id-token: write` can request a new OIDC token. So the
//! action leaves later steps a helper that every AWS SDK and CLI runs through
//! `credential_process` ([`install`]); the helper requests a token, assumes
//! the role (and the chain) and prints the credentials ([`helper`]), serving a
//! cached answer while it has ample life left ([`cache`]). What to assume is
//! a file without secrets ([`description`]). Helpers of one audience share one
//! token request ([`shared_token`]).

pub mod cache;
pub mod description;
pub mod helper;
pub mod install;
pub mod shared_token;
