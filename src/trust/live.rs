//! `check-trust --role-arn ARN` without `--policy` (issue 23.4): the role's
//! actual trust policy (`iam:GetRole`) and the account's actual OIDC provider
//! (`iam:GetOpenIDConnectProvider`: its URL and client-id list) are read with
//! the caller's own AWS credentials (the SDK's standard chain: environment,
//! profile files, web identity, container and instance metadata), through the
//! same HTTP client and proxy rules as STS. Then the claims are checked against
//! both: the provider exists in the role's account, the token's audience is in
//! its client-id list, and the policy admits the token.
//!
//! Only reads: nothing in the account is changed.

use super::claims::Request;
use super::policy::{Policy, Principals};
use crate::aws_names::{Partition, RoleArn};
use aws_sdk_iam::error::ProvideErrorMetadata;

/// What was read from the account.
pub struct Fetched {
    /// The trust policy document, decoded (the IAM API returns it URL-encoded).
    pub policy: String,
    /// The OIDC provider the policy names for this token's issuer, in the
    /// role's account, and what IAM holds for it (`None`: no such provider).
    pub provider: Option<(String, Option<Provider>)>,
}

/// An IAM OIDC provider as GetOpenIDConnectProvider describes it.
pub struct Provider {
    /// The issuer without `https://`, as IAM stores it.
    pub url: String,
    pub client_ids: Vec<String>,
}

/// The IAM client: the caller's credentials and region from the standard
/// chain (IAM is global: without a region, the partition's default signs),
/// the endpoint from `AWS_ENDPOINT_URL(_IAM)` if set.
async fn client(
    role: &RoleArn,
    env: &std::collections::HashMap<String, String>,
) -> Result<aws_sdk_iam::Client, String> {
    let proxy = crate::inputs::network::proxy(&Default::default(), env)
        .map_err(|e| format!("the proxy settings: {e}"))?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::sts::http_client(None, &proxy))
        .load()
        .await;
    let mut builder = aws_sdk_iam::config::Builder::from(&config);
    if config.region().is_none() {
        let region = match role.partition() {
            Partition::Aws => "us-east-1",
            Partition::AwsCn => "cn-north-1",
            Partition::AwsUsGov => "us-gov-west-1",
            other => return Err(format!("no region is configured for the {other} partition: set AWS_REGION to one of its regions")),
        };
        builder = builder.region(aws_config::Region::new(region));
    }
    Ok(aws_sdk_iam::Client::from_conf(builder.build()))
}

/// Says which IAM action the caller lacks, or what else went wrong.
fn failed<E: ProvideErrorMetadata + std::fmt::Debug>(
    err: &aws_sdk_iam::error::SdkError<E>,
    action: &str,
    resource: &str,
) -> String {
    // An error body the SDK cannot read still has its HTTP status: 403 is a
    // refusal of the caller (moto, and proxies, answer so).
    let forbidden = err.raw_response().map(|r| r.status().as_u16()) == Some(403);
    let code = err.code().or(forbidden.then_some("AccessDenied"));
    match code {
        Some("AccessDenied" | "AccessDeniedException") => format!(
            "your AWS credentials may not call {action} on {resource}; grant the caller `{action}` on that resource (IAM said: {})",
            crate::text::one_line(err.message().unwrap_or("AccessDenied"))
        ),
        Some(code @ ("InvalidClientTokenId" | "SignatureDoesNotMatch" | "ExpiredToken")) => format!(
            "AWS refused your credentials ({code}): check-trust --role-arn uses them to call {action}; refresh them (e.g. aws sso login) or set AWS_PROFILE"
        ),
        Some(code) => format!(
            "{action} on {resource} failed: {code}: {}",
            crate::text::one_line(err.message().unwrap_or_default())
        ),
        None => format!(
            "{action} on {resource} failed: {}; check-trust --role-arn needs your AWS credentials (environment, profile or SSO) and a connection to IAM",
            crate::text::one_line(&format!("{err}"))
        ),
    }
}

/// Reads the role's trust policy and the provider it names for `req`'s issuer.
pub async fn fetch(
    role: &RoleArn,
    req: &Request,
    env: &std::collections::HashMap<String, String>,
) -> Result<Fetched, String> {
    let iam = client(role, env).await?;
    let name = role.as_str().rsplit('/').next().unwrap_or_default();
    let answer = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| match e.code() {
            Some("NoSuchEntity") => format!("the role {} does not exist (iam:GetRole answered NoSuchEntity): check the ARN's account and name", role.as_str()),
            _ => failed(&e, "iam:GetRole", role.as_str()),
        })?;
    let encoded = answer
        .role()
        .and_then(|r| r.assume_role_policy_document())
        .ok_or("iam:GetRole answered without the role's trust policy")?;
    let policy = percent_decode(encoded)?;
    let parsed =
        super::policy::parse(&policy).map_err(|e| format!("the role's trust policy: {e}"))?;
    let provider = match provider_arn(&parsed, role, req) {
        None => None,
        Some(arn) => {
            let found = iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .send()
                .await;
            let provider = match found {
                Ok(p) => Some(Provider {
                    url: p.url().unwrap_or_default().to_owned(),
                    client_ids: p.client_id_list().to_vec(),
                }),
                Err(e) if e.code() == Some("NoSuchEntity") => None,
                Err(e) => return Err(failed(&e, "iam:GetOpenIDConnectProvider", &arn)),
            };
            Some((arn, provider))
        }
    };
    Ok(Fetched { policy, provider })
}

/// The provider ARN in the role's account that the policy names for the
/// token's issuer (the first, in document order).
fn provider_arn(policy: &Policy, role: &RoleArn, req: &Request) -> Option<String> {
    policy
        .statements
        .iter()
        .filter_map(|s| match &s.principal {
            Principals::Map(types) => Some(types),
            Principals::Any => None,
        })
        .flatten()
        .filter(|(ty, _)| ty == "Federated")
        .flat_map(|(_, values)| values)
        .find(|v| {
            super::eval::federated_matches(v, &req.provider)
                && super::eval::provider_account(v) == Some(role.account().as_str())
        })
        .cloned()
}

/// `%XX` escapes decoded (the IAM API's URL encoding of policy documents).
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("the role's trust policy has a broken %-escape")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the role's trust policy is not UTF-8 text".into())
}

/// The provider facts as report lines, and whether they deny the token by
/// themselves (no provider; the token's audience not among its client ids).
pub fn provider_findings(fetched: &Fetched, req: &Request, role: &RoleArn) -> (String, bool) {
    let account = role.account();
    let Some((arn, provider)) = &fetched.provider else {
        return (format!("  The policy names no OIDC provider for {} in account {account}; see the Principal below.\n", req.provider), false);
    };
    let Some(provider) = provider else {
        return (format!("DENIED: the OIDC provider {arn} does not exist in account {account}, so STS refuses every token of {} (InvalidIdentityToken: No OpenIDConnect provider found).\n  fix: aws iam create-open-id-connect-provider --url 'https://{}' --client-id-list '{}'\n\n", req.provider, crate::text::one_line(&req.provider), audience(req)), true);
    };
    let aud = audience(req);
    let mut out = format!(
        "  OIDC provider {arn}: url {}, client ids {:?}\n",
        provider.url, provider.client_ids
    );
    if !provider.client_ids.contains(&aud) {
        out.push_str(&format!("DENIED: the provider's client-id list {:?} lacks the token's audience {aud:?}, so STS refuses the token (InvalidIdentityToken: Incorrect token audience) before the trust policy is read.\n  fix: aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn '{arn}' --client-id '{aud}'\n\n", provider.client_ids));
        return (out, true);
    }
    (out, false)
}

/// The audience STS matches against the client ids: `azp` when the token has one, else `aud`.
fn audience(req: &Request) -> String {
    req.claim_str("azp")
        .or_else(|| req.claim_str("aud"))
        .map(|a| crate::text::one_line(&a))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn policies_are_url_decoded() {
        assert_eq!(
            super::percent_decode("%7B%22a%22%3A%20%22b%2Bc%22%7D").unwrap(),
            "{\"a\": \"b+c\"}"
        );
        assert!(super::percent_decode("%7").is_err());
    }
}
