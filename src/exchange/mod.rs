//! The one exchange engine: a web identity token (or keys, or the
//! environment's credentials) in, AWS credentials out. Every front end — the
//! action (one role and `roles`), `keyless-aws assume` (and `--roles`) and
//! the `credential-process` refresh helper — calls it, so a fix to the token
//! sources, the STS calls, their retries or the explanation of a refusal is
//! made once.
//!
//! The engine knows nothing of the runner: it returns typed outcomes and
//! reports what it does as [`events::Event`]s; the caller decides what to
//! print, what to mask and how to fail.
//!
//! - [`token`]: where a web identity token comes from (the runner's token
//!   request, a file read with the hardened reader, a variable,
//!   `buildkite-agent`).
//! - [`connection`]: how STS is reached (region, endpoint, proxy, retries) and
//!   the environment's own credentials.
//! - [`calls`]: `AssumeRoleWithWebIdentity` and `AssumeRole` with the retries
//!   that belong to an exchange (optional tags dropped when too large, a new
//!   secret when special characters are refused).
//! - [`chain`]: a source's credentials followed by role hops.
//! - [`pool`]: a Cognito identity pool as the source (src/cognito/).
//! - [`refusal`]: the one place where an STS failure becomes an explanation.

pub mod calls;
pub mod chain;
pub mod connection;
pub mod events;
pub mod pool;
pub mod refusal;
pub mod token;
