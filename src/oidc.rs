//! The GitHub OIDC token request: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…`
//! with `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answered with
//! `{"value": "<jwt>"}`.

use crate::error::Error;
use crate::plan::Proxy;
use crate::retry;
use crate::secret::Secret;
use std::time::Duration;

/// Time for one token request, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The token service's answer is ~1 KiB; anything far larger is not a token.
const MAX_BODY: usize = 64 * 1024;

/// Adds `audience` to the URL the runner gave, which already has a query string.
pub fn token_url(request_url: &str, audience: &str) -> Result<url::Url, Error> {
    let mut url = url::Url::parse(request_url).map_err(|e| Error::TokenRequest {
        detail: format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL ({e})"),
        attempts: 0,
    })?;
    url.query_pairs_mut().append_pair("audience", audience);
    Ok(url)
}

/// The token client: no redirects (the bearer must not follow one), bounded
/// times, and the plan's proxy settings instead of the environment's.
fn client(proxy: &Proxy) -> Result<reqwest::Client, Error> {
    let no_proxy = proxy
        .no_proxy
        .as_deref()
        .and_then(reqwest::NoProxy::from_string);
    let mut builder = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    // With extra CAs (src/ca.rs): the system bundle and those files only, as for STS.
    if let Some(pems) = crate::ca::trusted_pems() {
        builder = builder.tls_built_in_root_certs(false);
        for der in pems.iter().flat_map(|pem| crate::ca::certificates(pem)) {
            builder = builder.add_root_certificate(reqwest::Certificate::from_der(&der).map_err(
                |e| Error::TokenRequest {
                    detail: format!("a CA certificate was refused ({e})"),
                    attempts: 0,
                },
            )?);
        }
    }
    for (scheme, url) in [("https", &proxy.https), ("http", &proxy.http)] {
        if let Some(url) = url {
            let made = if scheme == "https" {
                reqwest::Proxy::https(url.clone())
            } else {
                reqwest::Proxy::http(url.clone())
            };
            // The error could quote the URL, password included: not shown.
            let p = made.map_err(|_| Error::TokenRequest {
                detail: format!("the {scheme} proxy URL is not usable"),
                attempts: 0,
            })?;
            builder = builder.proxy(p.no_proxy(no_proxy.clone()));
        }
    }
    builder.build().map_err(|e| Error::TokenRequest {
        detail: format!("the HTTP client could not be built ({e})"),
        attempts: 0,
    })
}

enum Failure {
    /// A 502, 503 or 504: retried up to [`retry::TOKEN_GATEWAY_ATTEMPTS`].
    Gateway(String),
    Retryable(String),
    Final(String),
}

/// Requests the token, retrying only what can succeed on a second try: a 502,
/// 503 or 504 as often as the reference's token client retries them (see
/// [`retry::TOKEN_GATEWAY_ATTEMPTS`]), whatever `max_attempts` says; other
/// 5xx, 429, connection errors and timeouts at most `max_attempts` times.
pub async fn request_token(
    url: &url::Url,
    bearer: &Secret,
    max_attempts: u32,
    proxy: &Proxy,
) -> Result<Secret, Error> {
    let client = client(proxy)?;
    let max_attempts = max_attempts.clamp(1, retry::TOKEN_MAX_ATTEMPTS);
    let mut attempt = 1;
    loop {
        tracing::debug!(
            attempt,
            host = url.host_str().unwrap_or(""),
            "requesting OIDC token"
        );
        match fetch_once(&client, url.clone(), bearer).await {
            Ok(token) => return Ok(token),
            Err(Failure::Final(detail)) => {
                return Err(Error::TokenRequest {
                    detail,
                    attempts: attempt,
                })
            }
            Err(Failure::Gateway(detail)) if attempt >= retry::TOKEN_GATEWAY_ATTEMPTS => {
                return Err(Error::TokenRequest {
                    detail,
                    attempts: attempt,
                })
            }
            Err(Failure::Retryable(detail)) if attempt >= max_attempts => {
                return Err(Error::TokenRequest {
                    detail,
                    attempts: attempt,
                })
            }
            Err(Failure::Retryable(detail) | Failure::Gateway(detail)) => {
                let wait = retry::backoff(attempt);
                tracing::info!(
                    "token request failed ({detail}); retrying in {} ms",
                    wait.as_millis()
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

async fn fetch_once(
    client: &reqwest::Client,
    url: url::Url,
    bearer: &Secret,
) -> Result<Secret, Failure> {
    let mut response = client
        .get(url)
        .header("Authorization", format!("bearer {}", bearer.expose()))
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| {
            // A certificate the trust store rejects will be rejected again.
            let detail = describe(&e);
            if detail.contains("certificate") {
                Failure::Final(detail)
            } else {
                Failure::Retryable(detail)
            }
        })?;
    let status = response.status();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY {
                    return Err(Failure::Final(format!(
                        "the answer is larger than {MAX_BODY} bytes"
                    )));
                }
            }
            Ok(None) => break,
            Err(e) => return Err(Failure::Retryable(describe(&e))),
        }
    }
    if matches!(status.as_u16(), 502..=504) {
        return Err(Failure::Gateway(format!("HTTP {status}")));
    }
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(Failure::Retryable(format!("HTTP {status}")));
    }
    if !status.is_success() {
        let hint = match status.as_u16() {
            401 | 403 => " (the request token was refused: is `id-token: write` granted?)",
            _ => "",
        };
        return Err(Failure::Final(format!("HTTP {status}{hint}")));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        value: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(&body).map_err(|_| {
        Failure::Final("the answer is not JSON of the form {\"value\": \"…\"}".into())
    })?;
    match answer.value {
        Some(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
        _ => Err(Failure::Final("the answer has no `value`".into())),
    }
}

/// Describes a transport error without the URL (which carries a runner-issued query).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "transport error"
    };
    let mut source = std::error::Error::source(err);
    let mut root = String::new();
    while let Some(s) = source {
        root = s.to_string();
        source = s.source();
    }
    if root.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {root}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_appended_and_encoded() {
        let url = token_url(
            "https://host/path?api-version=2.0&x=1",
            "sts.amazonaws.com/a b&c",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://host/path?api-version=2.0&x=1&audience=sts.amazonaws.com%2Fa+b%26c"
        );
    }
}
