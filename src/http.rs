//! The HTTP client the SDK uses: hyper 1 with rustls and the ring crypto
//! provider (the SDK's default client would link aws-lc as a second crypto
//! library next to the one reqwest uses). Proxies come from `HTTPS_PROXY`,
//! `HTTP_PROXY` and `NO_PROXY`, exactly as the SDK's default client reads them.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub fn sdk_http_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}
