//! The HTTP client the SDK uses: hyper 1 with rustls and the ring crypto
//! provider (the SDK's default client would link aws-lc as a second crypto
//! library next to the one reqwest uses). The proxy comes from the plan, which
//! resolved `http-proxy`/`no-proxy` and the standard variables once.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The SDK's client; `proxy` is the one for the scheme of the URLs it will call
/// (an `https://` STS endpoint, or a local `http://` stand-in).
pub fn sdk_http_client(proxy: Option<&url::Url>, no_proxy: Option<&str>) -> SharedHttpClient {
    let config = match proxy {
        // The URL was validated as http(s) with a host while planning.
        Some(url) => match ProxyConfig::all(url.as_str()) {
            Ok(config) => match no_proxy {
                Some(rules) => config.no_proxy(rules),
                None => config,
            },
            Err(_) => ProxyConfig::disabled(),
        },
        None => ProxyConfig::disabled(),
    };
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        if let Some(context) = tls_context() {
            connector = connector.tls_context(context);
        }
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(config.clone()));
        connector.build()
    })
}

/// With extra CAs (src/ca.rs): the system bundle and those files, and nothing
/// else (the SDK's native roots would let `SSL_CERT_FILE` replace the bundle).
fn tls_context() -> Option<TlsContext> {
    let pems = crate::ca::trusted_pems()?;
    // Only certificates that parse, each re-encoded on its own: the SDK's
    // provider panics on a PEM block it cannot parse.
    let store = pems
        .iter()
        .flat_map(|pem| crate::ca::certificates(pem))
        .map(|der| crate::ca::to_pem(&der))
        .fold(TrustStore::empty(), TrustStore::with_pem_certificate);
    TlsContext::builder().with_trust_store(store).build().ok()
}
