//! The HTTP client the SDK uses: hyper 1 with rustls and the ring crypto
//! provider (the SDK's default client would link aws-lc as a second crypto
//! library next to the one reqwest uses). The proxy comes from the plan, which
//! resolved `http-proxy`/`no-proxy` and the standard variables once.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
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
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(config.clone()));
        connector.build()
    })
}
