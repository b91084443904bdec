//! What is masked before anything can print it. Every value here is handed to
//! the runner's masker (`::add-mask::`) and to the debug-log redactor the
//! moment it is known: the plan's secrets before the plan is even logged, an
//! account id (with `mask-aws-account-id`) before any line or summary names it.
//! Masking twice is harmless: [`crate::workflow::add_mask`] sends a value once.

use crate::aws_names::{AccountId, RoleArn};
use crate::inputs::raw::RawInputs;
use crate::plan::{
    Chain, CredentialPlan, CredentialSource, Mode, Plan, ProfilesPlan, RoleProfile, RoleTarget,
    Roots, Signer, TokenSource, WebIdentity,
};
use crate::secret::Secret;
use crate::workflow;

/// Everything secret the plan holds: input keys, the request bearer, the user
/// name and password of every URL, and, with `mask-aws-account-id`, the
/// account of every role ARN (known before any request).
pub fn plan(plan: &Plan) {
    let network = &plan.network;
    for url in [
        network.sts_endpoint.as_ref(),
        network.proxy.https.as_ref(),
        network.proxy.http.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        url_userinfo(url);
    }
    let single = match &plan.mode {
        Mode::Single(single) => single,
        Mode::Profiles(profiles) => return roles(plan, profiles),
    };
    let chain: Option<&Chain> = match &single.credentials {
        CredentialPlan::Obtain(chain) => Some(chain),
        CredentialPlan::KeepExisting { fallback } => fallback.as_ref(),
        CredentialPlan::LeaveAsIs(_) => None,
    };
    let Some(chain) = chain else { return };
    match &chain.source {
        CredentialSource::Keys(keys) => keys.secrets().for_each(workflow::add_mask),
        CredentialSource::WebIdentity(WebIdentity { token, role, .. }) => {
            if let TokenSource::Request { bearer, url, .. } = token {
                workflow::add_mask(bearer);
                url_userinfo(url);
            }
            if plan.account.mask {
                account(role.account().as_str());
            }
        }
        CredentialSource::IdentityPool(pool) => {
            if let TokenSource::Request { bearer, url, .. } = &pool.token {
                workflow::add_mask(bearer);
                url_userinfo(url);
            }
            if let Some(url) = &pool.login.endpoint {
                url_userinfo(url);
            }
            if let (true, Some(role)) = (plan.account.mask, &pool.role) {
                account(role.account().as_str());
            }
        }
        CredentialSource::Ambient(_) => {}
    }
    if plan.account.mask {
        for hop in &chain.hops {
            if let RoleTarget::Arn(arn) = &hop.target {
                account(arn.account().as_str());
            }
        }
    }
}

/// `roles`: the keys that sign the roots or the bearer of every token
/// request, and (with `mask-aws-account-id`) the account of every role.
fn roles(plan: &Plan, profiles: &ProfilesPlan) {
    let mut arns: Vec<&RoleArn> = Vec::new();
    match &profiles.roots {
        Roots::WebIdentity(groups) => {
            for group in groups {
                if let TokenSource::Request { bearer, url, .. } = &group.token {
                    workflow::add_mask(bearer);
                    url_userinfo(url);
                }
                for role in &group.roles {
                    if let Some(url) = role
                        .identity_pool
                        .as_ref()
                        .and_then(|p| p.endpoint.as_ref())
                    {
                        url_userinfo(url);
                    }
                    arns.push(&role.role);
                    chained_arns(&role.chained, &mut arns);
                }
            }
        }
        Roots::Signed { signer, roles } => {
            if let Signer::Keys(keys) = signer {
                keys.secrets().for_each(workflow::add_mask);
            }
            chained_arns(roles, &mut arns);
        }
    }
    if plan.account.mask {
        for arn in arns {
            account(arn.account().as_str());
        }
    }
}

fn chained_arns<'a>(roles: &'a [RoleProfile], out: &mut Vec<&'a RoleArn>) {
    for role in roles {
        if let RoleTarget::Arn(arn) = &role.hop.target {
            out.push(arn);
        }
        chained_arns(&role.chained, out);
    }
}

/// When no plan could be built, what the raw inputs show: the user info of
/// `sts-endpoint` and `http-proxy`, so no error can print them. (Account ids
/// were masked already, by [`accounts_in_inputs`].)
pub fn before_plan(raw: &RawInputs) {
    for value in [&raw.sts_endpoint, &raw.http_proxy].into_iter().flatten() {
        if let Ok(url) = url::Url::parse(value.trim()) {
            url_userinfo(&url);
        }
    }
}

/// With `mask-aws-account-id: true` (as an input or through
/// `MASK_AWS_ACCOUNT_ID`), every account id named anywhere in the inputs
/// (`role-to-assume`, every `roles` line, `allowed-account-ids`, a tag…):
/// called on the raw environment before the first line of output, so that
/// whatever fails later (an input that does not parse, a `roles` line with an
/// error) can name them only masked. Masking a number that was not an account
/// id costs nothing.
pub fn accounts_in_inputs(env: &std::collections::HashMap<String, String>) {
    let setting = env
        .get("INPUT_MASK-AWS-ACCOUNT-ID")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| env.get("MASK_AWS_ACCOUNT_ID"));
    if !setting.is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return;
    }
    let mut ids: Vec<&str> = env
        .iter()
        .filter(|(name, _)| {
            name.starts_with("INPUT_") || crate::inputs::raw::FROM_ENV.contains(&name.as_str())
        })
        .flat_map(|(_, value)| value.split(|c: char| !c.is_ascii_digit()))
        .filter(|run| AccountId::parse(run).is_ok())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().for_each(account);
}

/// An account id the user asked to hide: masked for the runner and redacted
/// from every line and summary this action writes itself.
pub fn account(id: &str) {
    crate::redact::register(id);
    workflow::add_mask_plain(id);
}

/// A URL's user name and password, as written and percent-decoded: a proxy
/// token is often given as the user name.
pub fn url_userinfo(url: &url::Url) {
    for part in [url.username(), url.password().unwrap_or_default()] {
        if part.is_empty() {
            continue;
        }
        workflow::add_mask(&Secret::new(part));
        let decoded = percent_decode(part);
        if decoded != part {
            workflow::add_mask(&Secret::new(decoded));
        }
    }
}

fn percent_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("p={}", value.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub use crate::text::shown_url;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_carry_no_userinfo_or_query() {
        let url = url::Url::parse("https://user:p%40ss@sts.example:8443/x?token=abc#f").unwrap();
        assert_eq!(shown_url(&url), "https://***@sts.example:8443/x");
        let plain = url::Url::parse("http://127.0.0.1:4566/").unwrap();
        assert_eq!(shown_url(&plain), "http://127.0.0.1:4566");
        assert_eq!(percent_decode("p%40ss+x"), "p@ss+x");
    }
}
