//! How requests are made: STS endpoint, proxy, retries and the overall deadline.

use super::raw::RawInputs;
use super::values::{bad, parse_bool, parse_int, parse_url, set};
use crate::error::Error;
use crate::plan::{Network, Proxy, RetryPolicy};
use std::collections::HashMap;
use std::time::Duration;

pub const DEFAULT_RETRY_MAX_ATTEMPTS: u32 = 12;

pub fn network(raw: &RawInputs, env: &HashMap<String, String>) -> Result<Network, Error> {
    let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let disable_retry = parse_bool("disable-retry", &raw.disable_retry, false)?;
    let max_attempts = match set(&raw.retry_max_attempts) {
        Some(v) => parse_int("retry-max-attempts", v, 1, 100)? as u32,
        None => DEFAULT_RETRY_MAX_ATTEMPTS,
    };
    let action_timeout = set(&raw.action_timeout_s)
        .map(|v| parse_int("action-timeout-s", v, 1, 3600))
        .transpose()?
        .map(|s| Duration::from_secs(s as u64));
    let sts_endpoint = set(&raw.sts_endpoint)
        .or_else(|| get("AWS_ENDPOINT_URL_STS"))
        .or_else(|| get("AWS_ENDPOINT_URL"))
        .map(|v| parse_url("sts-endpoint", v))
        .transpose()?;
    Ok(Network {
        sts_endpoint,
        proxy: proxy(raw, env)?,
        retry: RetryPolicy {
            max_attempts: if disable_retry { 1 } else { max_attempts },
        },
        action_timeout,
    })
}

/// `http-proxy` applies to every request; without it, the standard variables
/// apply (`HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http URLs, `ALL_PROXY`
/// for both). A runner that sets only `HTTP_PROXY` gets it for https too, as
/// the reference action does: proxied self-hosted runners often set only that.
fn proxy(raw: &RawInputs, env: &HashMap<String, String>) -> Result<Proxy, Error> {
    let get = |k: &str| {
        env.get(k)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    };
    let no_proxy = set(&raw.no_proxy)
        .or_else(|| get("NO_PROXY"))
        .or_else(|| get("no_proxy"))
        .map(|v| v.trim().to_owned());
    if let Some(value) = set(&raw.http_proxy) {
        let url = proxy_url(value)?;
        return Ok(Proxy {
            https: Some(url.clone()),
            http: Some(url),
            no_proxy,
        });
    }
    let from_env = |names: &[&'static str]| -> Result<Option<url::Url>, Error> {
        let Some((name, value)) = names.iter().find_map(|n| get(n).map(|v| (*n, v))) else {
            return Ok(None);
        };
        // curl and reqwest read a bare `host:port` as an http proxy; so does this.
        let value = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{}", value.trim())
        };
        proxy_url(&value).map(Some).map_err(|e| match e {
            Error::Input { problem, .. } => bad(
                "http-proxy",
                format!("is not set, and the environment's {name} {problem}"),
                format!("Fix or unset {name}, or set `http-proxy` to a full URL such as http://host:port."),
            ),
            other => other,
        })
    };
    Ok(Proxy {
        https: from_env(&[
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "HTTP_PROXY",
            "http_proxy",
        ])?,
        http: from_env(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])?,
        no_proxy,
    })
}

/// An http(s) URL that the SDK's proxy connector accepts too.
fn proxy_url(value: &str) -> Result<url::Url, Error> {
    let url = parse_url("http-proxy", value)?;
    if let Err(e) = aws_smithy_http_client::proxy::ProxyConfig::all(url.as_str()) {
        return Err(bad(
            "http-proxy",
            format!(
                "is not a usable proxy URL ({})",
                crate::text::one_line(&e.to_string())
                    .replace(url.password().unwrap_or("\0"), "***")
                    .replace(
                        Some(url.username())
                            .filter(|u| !u.is_empty())
                            .unwrap_or("\0"),
                        "***"
                    )
            ),
            "Set `http-proxy` to a full URL such as http://host:port.",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_input_proxy_applies_to_both_schemes() {
        let raw = RawInputs {
            http_proxy: Some("http://p:3128".into()),
            ..Default::default()
        };
        let p = proxy(&raw, &env(&[("HTTPS_PROXY", "http://other:1")])).unwrap();
        assert_eq!(p.for_scheme("https").unwrap().as_str(), "http://p:3128/");
        assert_eq!(p.for_scheme("http").unwrap().as_str(), "http://p:3128/");
    }

    #[test]
    fn environment_proxies_keep_their_schemes() {
        let e = env(&[("HTTPS_PROXY", "http://s:1"), ("NO_PROXY", "localhost")]);
        let p = proxy(&RawInputs::default(), &e).unwrap();
        assert_eq!(p.https.unwrap().host_str(), Some("s"));
        assert!(p.http.is_none());
        assert_eq!(p.no_proxy.as_deref(), Some("localhost"));
        let bare = env(&[("HTTP_PROXY", "proxy:3128")]);
        let p = proxy(&RawInputs::default(), &bare).unwrap();
        assert_eq!(p.http.unwrap().as_str(), "http://proxy:3128/");
        // HTTP_PROXY alone also carries https (STS).
        assert_eq!(p.https.unwrap().as_str(), "http://proxy:3128/");
        let bad = env(&[("HTTPS_PROXY", "socks5://x:1")]);
        assert!(proxy(&RawInputs::default(), &bad).is_err());
    }
}
