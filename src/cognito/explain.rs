//! What to change when an identity pool refuses the job: each refusal class
//! with the token's claims, what the pool expected and the fix. Called from
//! the one explanation place (`crate::explain::identity_pool`).

use super::failure::{CognitoCode, CognitoFailure};
use super::login::ABAC_CLAIMS;
use crate::jwt::Claims;
use crate::text::one_line;

/// What was sent, so the explanation can compare it with what the pool expected.
#[derive(Debug, Default)]
pub struct PoolContext<'a> {
    pub claims: Option<&'a Claims>,
    /// The audience requested, when this action requested the token.
    pub audience: Option<&'a str>,
    /// The audience is the one requested when none is given (`sts.amazonaws.com`).
    pub default_audience: bool,
    /// The `Logins` key sent: the issuer without `https://`.
    pub login: Option<&'a str>,
    /// AWS_ENDPOINT_URL_COGNITO_IDENTITY, when set (shown without secrets).
    pub endpoint: Option<&'a str>,
}

/// The head of the explanation: the pool, the role, what Cognito said, and
/// the token's claims that decide the outcome.
pub fn cause(f: &CognitoFailure, ctx: &PoolContext<'_>) -> String {
    let mut cause = format!("Identity pool: {}\n", f.pool_id);
    if let Some(role) = &f.role_arn {
        cause.push_str(&format!("Role asked for: {role}\n"));
    }
    if let Some(login) = ctx.login {
        cause.push_str(&format!("Login sent as: {login}\n"));
    }
    if f.code_text.is_empty() {
        cause.push_str(&format!(
            "Cognito Identity ({}): {}\n",
            ctx.endpoint.unwrap_or("regional endpoint"),
            f.first_line()
        ));
    } else {
        cause.push_str(&format!(
            "Cognito error: {} (HTTP {}): {}\n",
            f.code_text,
            f.http_status.map_or("?".into(), |s| s.to_string()),
            f.message
        ));
    }
    if let Some(id) = &f.request_id {
        cause.push_str(&format!("Request id: {id}\n"));
    }
    if let Some(claims) = ctx.claims {
        cause.push_str("Token claims:\n");
        for (name, value) in shown_claims(claims, ctx.audience) {
            cause.push_str(&format!("  {name:<20} {value}\n"));
        }
    }
    cause.trim_end().to_owned()
}

/// The claims a pool looks at: issuer and audience for the login, the
/// subject, and every claim `setup --abac` maps to a tag.
fn shown_claims(claims: &Claims, audience: Option<&str>) -> Vec<(&'static str, String)> {
    let aud = if claims.aud.is_empty() {
        audience.unwrap_or("(absent)").to_owned()
    } else {
        claims.aud.join(", ")
    };
    let mut rows = vec![
        ("iss", show(claims.iss.as_deref())),
        ("aud", one_line(&aud)),
        ("sub", show(claims.sub.as_deref())),
    ];
    rows.extend(
        ABAC_CLAIMS
            .iter()
            .map(|&name| (name, show(claim(claims, name).as_deref()))),
    );
    rows
}

fn show(value: Option<&str>) -> String {
    value.map(one_line).unwrap_or_else(|| "(absent)".into())
}

/// A claim's value as text, whether `Claims` has a field for it or not.
fn claim(claims: &Claims, name: &str) -> Option<String> {
    let field = match name {
        "repository" => claims.repository.clone(),
        "repository_owner" => claims.repository_owner.clone(),
        "ref" => claims.git_ref.clone(),
        "environment" => claims.environment.clone(),
        "job_workflow_ref" => claims.job_workflow_ref.clone(),
        "event_name" => claims.event_name.clone(),
        _ => None,
    };
    field.or_else(|| match claims.other.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    })
}

/// What to change.
pub fn fix(f: &CognitoFailure, ctx: &PoolContext<'_>) -> String {
    let message = f.message.to_ascii_lowercase();
    let login = ctx.login.unwrap_or("token.actions.githubusercontent.com");
    let region = f.pool_id.split(':').next().unwrap_or_default();
    match &f.code {
        None if f.message.starts_with(super::exchange::INVALID_ANSWER) => "The endpoint answered, but not with what Cognito Identity issues, so nothing was exported. Check AWS_ENDPOINT_URL_COGNITO_IDENTITY / AWS_ENDPOINT_URL and the proxy settings: something other than Cognito may be answering.".into(),
        None => format!("Cognito Identity could not be reached in region `{region}` (the pool's region) after the retries allowed. Check the runner's network and proxy (`http-proxy`, HTTPS_PROXY, NO_PROXY), and AWS_ENDPOINT_URL_COGNITO_IDENTITY if you set it."),
        Some(CognitoCode::ResourceNotFound) => pool_not_found(f, region),
        Some(CognitoCode::NotAuthorized) if message.contains("audience") => wrong_audience(ctx, login),
        Some(CognitoCode::NotAuthorized) if f.role_arn.is_some() && message.contains("role") => {
            role_not_offered(f, login)
        }
        Some(CognitoCode::NotAuthorized)
            if ["provider", "logins don't match", "issuer"].iter().any(|w| message.contains(w)) =>
        {
            provider_not_a_login(f, login, region)
        }
        Some(CognitoCode::NotAuthorized) => "Cognito refused the token itself (expired, bad signature, or an issuer it cannot verify). Re-run the job; with `web-identity-token-file`, make sure the file holds a fresh token from the issuer the pool lists.".into(),
        Some(CognitoCode::InvalidParameter | CognitoCode::InvalidIdentityPoolConfiguration)
            if ["claim", "tag", "attribute"].iter().any(|w| message.contains(w)) =>
        {
            missing_claim(f, ctx, login)
        }
        Some(CognitoCode::InvalidParameter | CognitoCode::InvalidIdentityPoolConfiguration)
            if f.role_arn.is_some() =>
        {
            role_not_offered(f, login)
        }
        Some(CognitoCode::InvalidIdentityPoolConfiguration) => no_usable_role(f),
        Some(CognitoCode::InvalidParameter) => "Cognito rejected a parameter: check `cognito-identity-pool-id` and `role-to-assume` against the message above.".into(),
        Some(CognitoCode::ExternalService) => "Cognito could not fetch the issuer's signing keys; this is usually temporary. Re-run the job.".into(),
        Some(CognitoCode::TooManyRequests) => "Cognito kept throttling after every retry allowed. Spread out jobs that start at the same moment, or raise `retry-max-attempts`.".into(),
        Some(CognitoCode::Other(_)) => "See the Cognito error above; https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/CommonErrors.html lists what each code means.".into(),
    }
}

fn pool_not_found(f: &CognitoFailure, region: &str) -> String {
    format!(
        "Cognito has no identity pool `{}` in region `{region}`. The region is the part of the id before the colon, and a pool is only found in its own region and account. Check the id against\n  aws cognito-identity list-identity-pools --max-results 60 --region {region}\n(run with credentials of the account that owns the pool): a pool copied from another account or region, or deleted and re-created, has another id. `keyless-aws setup --abac` prints a pool set up for this action.",
        f.pool_id
    )
}

fn provider_not_a_login(f: &CognitoFailure, login: &str, region: &str) -> String {
    format!(
        "The pool does not list the token's issuer `{login}` as a login: an identity pool accepts an OIDC token only from an IAM OIDC provider named in its OpenIdConnectProviderARNs. Add it (this replaces the pool's settings, so repeat the ones it has):\n  aws cognito-identity update-identity-pool --region {region} --identity-pool-id {} --identity-pool-name NAME --no-allow-unauthenticated-identities --open-id-connect-provider-arns arn:aws:iam::ACCOUNT:oidc-provider/{login}\nor in Terraform: `openid_connect_provider_arns = [aws_iam_openid_connect_provider.github.arn]` on the `aws_cognito_identity_pool`.",
        f.pool_id
    )
}

fn wrong_audience(ctx: &PoolContext<'_>, login: &str) -> String {
    let audience = ctx
        .audience
        .map(str::to_owned)
        .or_else(|| ctx.claims.and_then(|c| c.aud.first().cloned()))
        .unwrap_or_else(|| "?".into());
    let choice = if ctx.default_audience {
        "Add it to the provider (or set `audience:` to a client id the provider lists)"
    } else {
        "Either set `audience:` to one of the provider's client ids (normally `sts.amazonaws.com`), or add this audience to the provider"
    };
    format!(
        "The token's audience `{audience}` (the `audience` input) is not a client id of the IAM OIDC provider `{login}` that the pool trusts. {choice}:\n  aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::ACCOUNT:oidc-provider/{login} --client-id {audience}"
    )
}

fn missing_claim(f: &CognitoFailure, ctx: &PoolContext<'_>, login: &str) -> String {
    let absent: Vec<&str> = match ctx.claims {
        Some(claims) => ABAC_CLAIMS
            .iter()
            .copied()
            .filter(|name| claim(claims, name).is_none())
            .collect(),
        None => Vec::new(),
    };
    // The claims Cognito named, when it named any; else every usual one absent.
    let named: Vec<&str> = absent
        .iter()
        .copied()
        .filter(|name| {
            f.message.contains(&format!("'{name}'")) || f.message.contains(&format!("\"{name}\""))
        })
        .collect();
    let quoted = |names: &[&str]| {
        names
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let which = match (named.is_empty(), absent.is_empty()) {
        (false, _) => format!(
            "The pool's claim-to-tag mapping names {}, which this token does not carry.",
            quoted(&named)
        ),
        (true, false) => format!(
            "The pool's claim-to-tag mapping names a claim this token does not carry; of the usual ones, this token has no {}.",
            quoted(&absent)
        ),
        (true, true) => "The pool's claim-to-tag mapping names a claim this token does not carry.".to_owned(),
    };
    let present: Vec<String> = ABAC_CLAIMS
        .iter()
        .filter(|name| !absent.contains(name))
        .map(|c| format!("{c}={c}"))
        .collect();
    format!(
        "{which} GitHub sets `environment` only for jobs with an `environment:`, and `actor`, `repository_id` and the like only in its own tokens. Map only claims every job's token has, or give this job the missing one:\n  aws cognito-identity set-principal-tag-attribute-map --identity-pool-id {} --identity-provider-name arn:aws:iam::ACCOUNT:oidc-provider/{login} --no-use-defaults --principal-tags {}\n(tag keys on the left, claim names on the right; the provider is named by its IAM ARN).",
        f.pool_id,
        present.join(",")
    )
}

fn role_not_offered(f: &CognitoFailure, login: &str) -> String {
    format!(
        "The pool cannot hand out `{role}` for this login. `role-to-assume` with a pool is Cognito's CustomRoleArn: the pool needs a rules- or token-based role mapping for `{login}` whose rules allow this role, and the role's trust policy must admit `cognito-identity.amazonaws.com` with `cognito-identity.amazonaws.com:aud` = `{pool}` and `cognito-identity.amazonaws.com:amr` = `authenticated` (and allow `sts:TagSession`). Or remove `role-to-assume` to get the pool's authenticated role. Check the trust policy with `keyless-aws check-trust`; `keyless-aws setup --abac` prints one that works.",
        role = f.role_arn.as_deref().unwrap_or("?"),
        pool = f.pool_id
    )
}

fn no_usable_role(f: &CognitoFailure) -> String {
    format!(
        "The pool has no authenticated role, or STS refused Cognito when it assumed that role for you. The role's trust policy must allow `sts:AssumeRoleWithWebIdentity` and `sts:TagSession` (the principal tags need it) for Principal {{\"Federated\": \"cognito-identity.amazonaws.com\"}}, with the conditions `cognito-identity.amazonaws.com:aud` = `{pool}` and `cognito-identity.amazonaws.com:amr` = `authenticated`; set the role with\n  aws cognito-identity set-identity-pool-roles --identity-pool-id {pool} --roles authenticated=arn:aws:iam::ACCOUNT:role/ROLE\nCheck the trust policy with `keyless-aws check-trust`; `keyless-aws setup --abac` prints a pool, role and trust policy that work.",
        pool = f.pool_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(code: &str, message: &str, role: bool) -> CognitoFailure {
        CognitoFailure {
            pool_id: "eu-west-1:0f1e".into(),
            role_arn: role.then(|| "arn:aws:iam::123456789012:role/abac".into()),
            code: CognitoCode::parse(code),
            code_text: code.into(),
            message: message.into(),
            ..Default::default()
        }
    }

    /// Each class of refusal gets its own fix, whichever code Cognito uses for it.
    #[test]
    fn each_refusal_class_has_its_fix() {
        let ctx = PoolContext::default();
        for (code, message, role, expected) in [
            (
                "ResourceNotFoundException",
                "IdentityPool 'x' not found.",
                false,
                "list-identity-pools",
            ),
            (
                "NotAuthorizedException",
                "Token is not from a supported provider of this identity pool.",
                false,
                "OpenIdConnectProviderARNs",
            ),
            (
                "NotAuthorizedException",
                "Invalid login token. Issuer doesn't match providerName",
                false,
                "OpenIdConnectProviderARNs",
            ),
            (
                "NotAuthorizedException",
                "Invalid login token. Incorrect token audience.",
                false,
                "add-client-id-to-open-id-connect-provider",
            ),
            (
                "NotAuthorizedException",
                "Not authorized to assume the role.",
                true,
                "CustomRoleArn",
            ),
            (
                "InvalidParameterException",
                "Invalid CustomRoleArn.",
                true,
                "CustomRoleArn",
            ),
            (
                "InvalidIdentityPoolConfigurationException",
                "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
                false,
                "set-identity-pool-roles",
            ),
            (
                "InvalidParameterException",
                "Principal tag mapping refers to a missing claim.",
                false,
                "set-principal-tag-attribute-map",
            ),
            (
                "NotAuthorizedException",
                "Invalid login token. Token expired.",
                false,
                "fresh token",
            ),
        ] {
            let fix = fix(&refusal(code, message, role), &ctx);
            assert!(fix.contains(expected), "{code} {message:?}: {fix}");
        }
    }
}
