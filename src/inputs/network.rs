//! How requests are made: STS endpoint, proxy, retries and the overall deadline.

use super::raw::RawInputs;
use super::values::{bad, parse_bool, parse_int, parse_url, set, warn};
use crate::aws_names::shorten;
use crate::error::Error;
use crate::plan::{Network, Proxy, RetryPolicy, Warning};
use crate::sts::EndpointVariant;
use std::collections::HashMap;
use std::time::Duration;

pub const DEFAULT_RETRY_MAX_ATTEMPTS: u32 = 12;

pub fn network(
    raw: &RawInputs,
    env: &HashMap<String, String>,
    in_container: bool,
    warnings: &mut Vec<Warning>,
) -> Result<Network, Error> {
    let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let max_attempts = attempts(raw, warnings)?;
    let action_timeout = action_timeout(raw, warnings)?;
    let sts_endpoint = set(&raw.sts_endpoint)
        .or_else(|| get("AWS_ENDPOINT_URL_STS"))
        .or_else(|| get("AWS_ENDPOINT_URL"))
        .map(|v| parse_url("sts-endpoint", v))
        .transpose()?;
    let proxy = proxy(raw, env)?;
    let container_loopback = if in_container {
        container_loopback(sts_endpoint.as_ref(), &proxy, warnings)
    } else {
        None
    };
    let profile = crate::aws_config::profile_settings(env);
    let mounts = in_container.then(|| {
        crate::ca::Mounts::of_runner(
            env,
            set(&raw.runner_temp).and_then(|v| v.trim().strip_prefix("host:")),
        )
    });
    let extra_cas = crate::ca::from_environment(env, &profile, mounts.as_ref())?;
    let endpoint_variant = endpoint_variant(env, &profile, sts_endpoint.as_ref())?;
    Ok(Network {
        endpoint_variant,
        extra_cas,
        sts_endpoint,
        proxy,
        retry: RetryPolicy { max_attempts },
        action_timeout,
        container_loopback,
    })
}

/// FIPS and dual-stack, as the SDKs read them: the variable, else the config
/// profile's setting; `true`/`false` in any case, anything else an error (the
/// reference's SDK refuses it too). With a custom `sts-endpoint` they cannot
/// apply, and every SDK refuses the combination: so is it here, before any
/// request and with the fix.
fn endpoint_variant(
    env: &HashMap<String, String>,
    profile: &crate::aws_config::ProfileSettings,
    sts_endpoint: Option<&url::Url>,
) -> Result<EndpointVariant, Error> {
    let flag = |var: &'static str, key: &'static str| -> Result<bool, Error> {
        let (from, value) = match env.get(var).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            Some(v) => (var.to_owned(), v),
            None => match profile.get(key) {
                Some(v) => (profile.describe(key), v),
                None => return Ok(false),
            },
        };
        match value.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(bad(
                "environment",
                format!("{from} is {:?}, not true or false", shorten(value)),
                format!("Set {from} to `true` or `false`, or remove it."),
            )),
        }
    };
    let variant = EndpointVariant {
        fips: flag("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint")?,
        dual_stack: flag("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint")?,
    };
    if sts_endpoint.is_some() && (variant.fips || variant.dual_stack) {
        let what = if variant.fips { "FIPS" } else { "dual-stack" };
        return Err(bad(
            "sts-endpoint",
            format!("is set, and so is the {what} endpoint setting (AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT or the profile's use_fips_endpoint / use_dualstack_endpoint): a custom endpoint has no {what} variant, and the AWS SDKs refuse the combination"),
            "Remove `sts-endpoint` to use AWS's FIPS or dual-stack endpoint, or unset the FIPS/dual-stack setting for this step.",
        ));
    }
    Ok(variant)
}

/// `aws-global` names the global endpoint, sts.amazonaws.com, which has no
/// dual-stack (or FIPS) variant: the SDK would resolve a host that does not
/// exist (`sts.aws-global.api.aws`). Refused before any request.
pub fn refuse_global_variant(
    network: &Network,
    region: &crate::aws_names::Region,
) -> Result<(), Error> {
    let v = network.endpoint_variant;
    if region.as_str() != "aws-global"
        || network.sts_endpoint.is_some()
        || !(v.fips || v.dual_stack)
    {
        return Ok(());
    }
    let what = if v.dual_stack { "dual-stack" } else { "FIPS" };
    Err(bad(
        "aws-region",
        format!("is `aws-global` (the global endpoint sts.amazonaws.com), which has no {what} endpoint: there is no such host to call"),
        format!("Use a regional endpoint, e.g. `aws-region: us-east-1` (its {what} endpoint exists), or unset AWS_USE_DUALSTACK_ENDPOINT / AWS_USE_FIPS_ENDPOINT for this step."),
    ))
}

/// `action-timeout-s`: seconds for the whole step; `0` means no timer, as in
/// the reference (src/index.ts run(): `parseInt(...) || 0`, then a timer only
/// `if (globalTimeout > 0)`). Any length is accepted: a job may be long.
fn action_timeout(raw: &RawInputs, warnings: &mut Vec<Warning>) -> Result<Option<Duration>, Error> {
    let Some(v) = set(&raw.action_timeout_s) else {
        return Ok(None);
    };
    if v.trim().parse::<i64>().is_ok_and(|n| n < 0) {
        warn(
            warnings,
            "action-timeout-s",
            "is negative: no timer is set (as the reference action does). Use 0 for no timer, or a number of seconds.",
        );
        return Ok(None);
    }
    let seconds = parse_int("action-timeout-s", v, 0, MAX_ACTION_TIMEOUT_S)?;
    Ok((seconds > 0).then(|| Duration::from_secs(seconds as u64)))
}

/// The longest `action-timeout-s`: 35 days, GitHub's limit for a whole
/// workflow run on a self-hosted runner, so no job is ever cut short by it.
pub const MAX_ACTION_TIMEOUT_S: i64 = 35 * 24 * 3600;

/// The attempts of this action's own retries: 1 with `disable-retry`, else
/// `retry-max-attempts`. `special-characters-workaround: true` overrides both
/// with the default, as the reference documents and does (src/index.ts run():
/// `if (specialCharacterWorkaround) { disableRetry = false; maxRetries = 12 }`).
fn attempts(raw: &RawInputs, warnings: &mut Vec<Warning>) -> Result<u32, Error> {
    let disable_retry = parse_bool("disable-retry", &raw.disable_retry, false)?;
    let given = set(&raw.retry_max_attempts)
        .map(|v| retry_max_attempts(v, warnings))
        .transpose()?;
    let special = parse_bool(
        "special-characters-workaround",
        &raw.special_characters_workaround,
        false,
    )?;
    if special {
        for (input, overridden) in [
            ("disable-retry", disable_retry),
            ("retry-max-attempts", given.is_some()),
        ] {
            if overridden {
                warn(warnings, input, format!("is overridden by `special-characters-workaround: true`, which retries with the default {DEFAULT_RETRY_MAX_ATTEMPTS} attempts (as the reference action does)."));
            }
        }
        return Ok(DEFAULT_RETRY_MAX_ATTEMPTS);
    }
    Ok(if disable_retry {
        1
    } else {
        given.unwrap_or(DEFAULT_RETRY_MAX_ATTEMPTS)
    })
}

/// `retry-max-attempts`: a whole number, else an error. Out-of-range numbers
/// are adjusted with a warning, as the reference action adjusts them silently
/// (reference: src/index.ts run(): `parseInt(...) || 12`, then `< 1` → 1).
fn retry_max_attempts(value: &str, warnings: &mut Vec<Warning>) -> Result<u32, Error> {
    let n: i64 = value.trim().parse().map_err(|_| {
        bad(
            "retry-max-attempts",
            format!("{:?} is not a whole number", shorten(value)),
            "Set `retry-max-attempts` to a whole number from 1 to 100.",
        )
    })?;
    let (used, message) = match n {
        0 => (
            DEFAULT_RETRY_MAX_ATTEMPTS,
            format!("is 0, which allows no attempt; using the default, {DEFAULT_RETRY_MAX_ATTEMPTS} (as the reference action does)."),
        ),
        n if n < 0 => (
            1,
            format!("is {n}; making one attempt (as the reference action does)."),
        ),
        n if n > MAX_RETRY_MAX_ATTEMPTS as i64 => (
            MAX_RETRY_MAX_ATTEMPTS,
            format!("is {n}, more than this action allows; using {MAX_RETRY_MAX_ATTEMPTS}."),
        ),
        n => return Ok(n as u32),
    };
    warn(warnings, "retry-max-attempts", message);
    Ok(used)
}

/// The most attempts per call: with backoff capped, 100 attempts already take minutes.
pub const MAX_RETRY_MAX_ATTEMPTS: u32 = 100;

/// Whether a URL's host is this machine's loopback (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        None => false,
    }
}

/// A container action has its own loopback: `localhost` inside it is not the
/// runner's. Warns up front and returns the text added to a connection failure.
fn container_loopback(
    sts_endpoint: Option<&url::Url>,
    proxy: &Proxy,
    warnings: &mut Vec<Warning>,
) -> Option<String> {
    let what = if sts_endpoint.is_some_and(is_loopback) {
        ("sts-endpoint", "`sts-endpoint`")
    } else if [&proxy.https, &proxy.http]
        .into_iter()
        .flatten()
        .any(is_loopback)
    {
        ("http-proxy", "the proxy")
    } else {
        return None;
    };
    let problem = "points at localhost, but this action runs in a Docker container, whose localhost is its own: \
         a service listening on the runner's 127.0.0.1 cannot be reached from here. What works: a `services:` \
         container by its name and container port (e.g. http://localstack:4566, container actions join the job's \
         network); a service on the runner listening on all interfaces, by the runner's address on that network \
         (the Docker network's gateway, e.g. 172.18.0.1); or `host.docker.internal` where the runner's Docker \
         defines it (Docker Desktop).";
    warn(warnings, what.0, problem);
    Some(format!("{} {problem}", what.1))
}

/// The proxy for STS, as the reference action chooses it: `http-proxy`, else
/// HTTPS_PROXY, else HTTP_PROXY, one URL for http and https alike (reference:
/// src/helpers.ts translateEnvVariables() copies HTTPS_PROXY over HTTP_PROXY;
/// src/index.ts run(): `getInput('http-proxy') || process.env.HTTP_PROXY`;
/// src/CredentialsClient.ts uses it as both httpProxy and httpsProxy). So a
/// self-hosted runner that sets only HTTP_PROXY reaches STS through it. The
/// lower-case spellings and ALL_PROXY, which curl reads, are read after those.
/// Also the refresh helper's: the same rules for the same variables.
pub fn proxy(raw: &RawInputs, env: &HashMap<String, String>) -> Result<Proxy, Error> {
    let get = |k: &str| {
        env.get(k)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    };
    let no_proxy = set(&raw.no_proxy)
        .or_else(|| get("NO_PROXY"))
        .or_else(|| get("no_proxy"))
        .map(|v| v.trim().to_owned());
    if no_proxy.as_deref().is_some_and(bypasses_everything) {
        // The clients' matchers apply `*` to host names only; IP literals
        // (`sts-endpoint: http://10.0.0.5:4566`) would still be proxied.
        return Ok(Proxy {
            no_proxy,
            ..Proxy::default()
        });
    }
    if let Some(value) = set(&raw.http_proxy) {
        let url = proxy_url(value)?;
        return Ok(Proxy {
            https: Some(url.clone()),
            http: Some(url),
            no_proxy,
        });
    }
    const NAMES: [&str; 6] = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ];
    let Some((name, value)) = NAMES.iter().find_map(|n| get(n).map(|v| (*n, v))) else {
        return Ok(Proxy {
            no_proxy,
            ..Proxy::default()
        });
    };
    // curl and reqwest read a bare `host:port` as an http proxy; so does this.
    let value = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{}", value.trim())
    };
    let url = proxy_url(&value).map_err(|e| match e {
        Error::Input { problem, .. } => bad(
            "http-proxy",
            format!("is not set, and the environment's {name} {problem}"),
            format!(
                "Fix or unset {name}, or set `http-proxy` to a full URL such as http://host:port."
            ),
        ),
        other => other,
    })?;
    Ok(Proxy {
        https: Some(url.clone()),
        http: Some(url),
        no_proxy,
    })
}

/// `no-proxy: '*'` (or NO_PROXY=*): no request goes through a proxy, IP
/// literals included (reference: src/ProxyResolver.ts shouldProxy(): `if
/// (noProxy === '*') return false`). A `*` entry in a list counts as well, as
/// the clients' own matchers read it for host names.
fn bypasses_everything(no_proxy: &str) -> bool {
    no_proxy
        .split(|c: char| c == ',' || c.is_whitespace())
        .any(|entry| entry == "*")
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

    use crate::test_env::env;

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
    fn environment_proxies_serve_both_schemes_like_the_reference() {
        // Only HTTP_PROXY: https STS traffic goes through it too.
        let e = env(&[("HTTP_PROXY", "http://h:1"), ("NO_PROXY", "localhost")]);
        let p = proxy(&RawInputs::default(), &e).unwrap();
        assert_eq!(p.for_scheme("https").unwrap().host_str(), Some("h"));
        assert_eq!(p.for_scheme("http").unwrap().host_str(), Some("h"));
        assert_eq!(p.no_proxy.as_deref(), Some("localhost"));
        // HTTPS_PROXY wins over HTTP_PROXY, for both schemes.
        let e = env(&[("HTTP_PROXY", "http://h:1"), ("HTTPS_PROXY", "http://s:1")]);
        let p = proxy(&RawInputs::default(), &e).unwrap();
        assert_eq!(p.for_scheme("http").unwrap().host_str(), Some("s"));
        let bare = env(&[("HTTP_PROXY", "proxy:3128")]);
        let p = proxy(&RawInputs::default(), &bare).unwrap();
        assert_eq!(p.https.unwrap().as_str(), "http://proxy:3128/");
        let bad = env(&[("HTTPS_PROXY", "socks5://x:1")]);
        assert!(proxy(&RawInputs::default(), &bad).is_err());
        assert!(proxy(&RawInputs::default(), &env(&[]))
            .unwrap()
            .https
            .is_none());
    }

    #[test]
    fn a_star_no_proxy_turns_every_proxy_off() {
        let raw = RawInputs {
            http_proxy: Some("http://p:3128".into()),
            no_proxy: Some("*".into()),
            ..Default::default()
        };
        let p = proxy(&raw, &env(&[])).unwrap();
        assert!(p.https.is_none() && p.http.is_none());
        let e = env(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "localhost, *")]);
        assert!(proxy(&RawInputs::default(), &e).unwrap().https.is_none());
        let e = env(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "*.internal")]);
        assert!(proxy(&RawInputs::default(), &e).unwrap().https.is_some());
    }

    #[test]
    fn special_characters_workaround_overrides_the_retry_inputs() {
        let mut w = Vec::new();
        let raw = RawInputs {
            disable_retry: Some("true".into()),
            retry_max_attempts: Some("2".into()),
            special_characters_workaround: Some("true".into()),
            ..Default::default()
        };
        assert_eq!(attempts(&raw, &mut w).unwrap(), DEFAULT_RETRY_MAX_ATTEMPTS);
        let inputs: Vec<&str> = w.iter().map(|w| w.input).collect();
        assert_eq!(inputs, ["disable-retry", "retry-max-attempts"]);
        let raw = RawInputs {
            disable_retry: Some("true".into()),
            ..Default::default()
        };
        assert_eq!(attempts(&raw, &mut w).unwrap(), 1);
    }

    #[test]
    fn action_timeout_zero_is_no_timer_and_long_ones_are_kept() {
        let raw = |v: &str| RawInputs {
            action_timeout_s: Some(v.into()),
            ..Default::default()
        };
        let mut w = Vec::new();
        assert_eq!(action_timeout(&raw("0"), &mut w).unwrap(), None);
        assert_eq!(
            action_timeout(&raw("7200"), &mut w).unwrap(),
            Some(Duration::from_secs(7200))
        );
        assert!(w.is_empty());
        assert_eq!(action_timeout(&raw("-1"), &mut w).unwrap(), None);
        assert_eq!(w.len(), 1);
        assert!(action_timeout(&raw("soon"), &mut w).is_err());
    }

    #[test]
    fn retry_attempts_out_of_range_warn() {
        let mut w = Vec::new();
        assert_eq!(retry_max_attempts("0", &mut w).unwrap(), 12);
        assert_eq!(retry_max_attempts("-3", &mut w).unwrap(), 1);
        assert_eq!(retry_max_attempts("1000", &mut w).unwrap(), 100);
        assert_eq!(w.len(), 3);
        assert_eq!(retry_max_attempts("5", &mut w).unwrap(), 5);
        assert_eq!(w.len(), 3);
        assert!(retry_max_attempts("many", &mut w).is_err());
    }

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://localhost:4566",
            "http://127.0.0.1:1",
            "http://127.9.0.1",
            "http://[::1]:80",
            "http://a.localhost",
        ] {
            assert!(is_loopback(&url::Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "http://localstack:4566",
            "http://172.17.0.1:1",
            "https://sts.amazonaws.com",
        ] {
            assert!(!is_loopback(&url::Url::parse(url).unwrap()), "{url}");
        }
        let mut w = Vec::new();
        let ep = url::Url::parse("http://localhost:4566").unwrap();
        assert!(container_loopback(Some(&ep), &Proxy::default(), &mut w).is_some());
        assert_eq!(w[0].input, "sts-endpoint");
    }
}
