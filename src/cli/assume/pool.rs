//! `keyless-aws assume --identity-pool-id ID`: this job's token as the
//! identity pool's login, through the exchange engine's pool source
//! (src/exchange/pool.rs, src/cognito/), in any CI whose issuer the pool
//! lists. Cognito assumes the role with the token's claims as session tags;
//! the credentials are printed as for a role.

use super::{connection, masks_on_stderr, output, CliLog, Failure, Request, MASK_SETTLE};
use crate::aws_names::{IdentityPoolId, RoleArn};
use crate::exchange::token::Token;
use crate::plan::PoolLogin;
use std::collections::HashMap;
use std::path::Path;

pub(super) fn run(
    request: &Request,
    env: &HashMap<String, String>,
    runtime: &tokio::runtime::Runtime,
    (pool, role): (&IdentityPoolId, Option<&RoleArn>),
    token: &Token,
    github_env: Option<&Path>,
) -> Result<(), Failure> {
    eprintln!(
        "keyless-aws: getting credentials from identity pool {pool}{} with the token from {}",
        role.map(|r| format!(" (role {r})")).unwrap_or_default(),
        request.token.describe()
    );
    let login = PoolLogin {
        pool: pool.clone(),
        endpoint: request.cognito_endpoint.clone(),
    };
    let log = CliLog { request, env };
    let credentials = runtime
        .block_on(crate::exchange::pool::credentials(
            &connection(request),
            &login,
            role,
            token,
            &log,
        ))
        .map_err(|error| Failure::new(error.to_string(), error.help()))?;
    let region = request.region_given.then_some(request.region.as_str());
    let text = output::render(request.format, &credentials, region, github_env)
        .map_err(|e| Failure::new(e, "Nothing was written."))?;
    if masks_on_stderr(request, env) {
        let _ = std::io::Write::flush(&mut std::io::stderr());
        std::thread::sleep(MASK_SETTLE);
    }
    print!("{}", text.expose());
    eprintln!(
        "keyless-aws: credentials from identity pool {pool} (expire {})",
        credentials.expiration.as_deref().unwrap_or("?")
    );
    Ok(())
}
