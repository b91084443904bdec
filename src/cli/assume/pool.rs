//! `keyless-aws assume --identity-pool-id ID`: this job's token as the
//! identity pool's login (src/cognito/), in any CI whose issuer the pool
//! lists. Cognito assumes the role with the token's claims as session tags;
//! the credentials are printed as for a role.

use super::{mask, masks_on_stderr, output, Failure, Request, MASK_SETTLE};
use crate::aws_names::{IdentityPoolId, RoleArn};
use crate::cognito;
use crate::jwt::Claims;
use crate::plan::Proxy;
use crate::secret::Secret;
use std::collections::HashMap;

pub(super) fn run(
    request: &Request,
    env: &HashMap<String, String>,
    runtime: &tokio::runtime::Runtime,
    (pool, role): (&IdentityPoolId, Option<&RoleArn>),
    token: &Secret,
    claims: Option<&Claims>,
) -> Result<(), Failure> {
    let github_env = super::github_env(request, env)?;
    let login = claims
        .and_then(|c| c.iss.as_deref())
        .and_then(cognito::login::login_key)
        .ok_or_else(|| {
            Failure::new(
                "the token has no https `iss` claim, so it cannot be an identity pool's login",
                "Pass an OIDC token whose issuer the pool lists as an OpenID Connect provider.",
            )
        })?;
    eprintln!(
        "keyless-aws: getting credentials from identity pool {pool} (login {login}{}) with the token from {}",
        role.map(|r| format!(", role {r}")).unwrap_or_default(),
        request.token.describe()
    );
    let client = cognito::exchange::client(cognito::exchange::ClientSettings {
        pool,
        endpoint: request.cognito_endpoint.as_ref(),
        proxy: &Proxy::default(),
        retry: crate::retry::StsSchedule::new(4, None),
    });
    let pool_request = cognito::exchange::PoolRequest {
        pool,
        login: &login,
        token,
        role,
    };
    let issued = runtime
        .block_on(cognito::exchange::credentials(&client, &pool_request))
        .map_err(|failure| {
            let audience = request
                .requests_token()
                .then_some(request.audience.as_str());
            let ctx = cognito::explain::PoolContext {
                claims,
                audience,
                default_audience: request.requests_token() && !request.audience_given,
                login: Some(&login),
                endpoint: request.cognito_endpoint.as_ref().map(url::Url::as_str),
            };
            let (cause, fix) = crate::explain::identity_pool(&failure, &ctx);
            let problem = crate::error::Error::Cognito {
                failure,
                cause: String::new(),
                fix: String::new(),
            }
            .to_string();
            Failure::new(problem, format!("{cause}\n\n{fix}"))
        })?;
    for secret in issued.credentials.secrets() {
        mask(secret, request, env);
    }
    let region = request.region_given.then_some(request.region.as_str());
    let text = output::render(
        request.format,
        &issued.credentials,
        region,
        github_env.as_deref(),
    )
    .map_err(|e| Failure::new(e, "Nothing was written."))?;
    if masks_on_stderr(request, env) {
        let _ = std::io::Write::flush(&mut std::io::stderr());
        std::thread::sleep(MASK_SETTLE);
    }
    print!("{}", text.expose());
    eprintln!(
        "keyless-aws: credentials for identity {} of pool {pool} (expire {})",
        issued.identity_id,
        issued.credentials.expiration.as_deref().unwrap_or("?")
    );
    Ok(())
}
