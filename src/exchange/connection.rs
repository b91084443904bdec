//! How STS is reached for one exchange, and the credentials the environment
//! already holds.

use super::events::{Event, Observer};
use crate::aws_names::Region;
use crate::plan::{EndpointVariant, Proxy, SecretKeyRule};
use crate::secret::{Credentials, Secret};
use crate::sts::{self, ClientSettings};
use aws_credential_types::provider::SharedCredentialsProvider;
use std::time::Duration;

/// Everything an STS call needs besides its parameters.
#[derive(Clone, Copy)]
pub struct Connection<'a> {
    pub region: &'a Region,
    /// `sts-endpoint` (or `--sts-endpoint`, or the description's), if any.
    pub endpoint: Option<&'a url::Url>,
    /// FIPS / dual-stack (only without a custom `endpoint`).
    pub variant: EndpointVariant,
    pub proxy: &'a Proxy,
    /// Attempts per STS call and per token request.
    pub max_attempts: u32,
    /// The time the whole exchange may take, which bounds throttling waits.
    pub time_limit: Option<Duration>,
    /// Whether a secret key with special characters is asked for again.
    pub secret_key: SecretKeyRule,
    /// Added in front of the fix when STS cannot be reached at all (the
    /// action's note about a loopback endpoint inside a container).
    pub unreachable_note: Option<&'a str>,
}

impl Connection<'_> {
    /// An STS client; `signer` signs the calls (`None` for the unsigned
    /// web-identity call). `fresh`: the signer was issued moments ago, so an
    /// `InvalidClientTokenId` may be IAM propagation and is retried briefly.
    pub fn client(&self, signer: Option<&Credentials>, fresh: bool) -> aws_sdk_sts::Client {
        sts::client(ClientSettings {
            region: self.region,
            endpoint: self.endpoint,
            variant: self.variant,
            proxy: self.proxy,
            retry: crate::retry::StsSchedule::new(self.max_attempts, self.time_limit),
            credentials: signer.map(|c| SharedCredentialsProvider::new(c.to_sdk())),
            fresh_credentials: fresh,
        })
    }

    /// The endpoint as shown in an explanation: never its user name,
    /// password or query.
    pub fn shown_endpoint(&self) -> Option<String> {
        self.endpoint.map(crate::text::shown_url)
    }

    /// Credentials from the environment, the profile files and the instance
    /// metadata service, as any AWS SDK would find them; `None` when there
    /// are none or they are not usable (the reason is logged at debug level).
    pub async fn ambient_credentials(&self, observer: &dyn Observer) -> Option<Credentials> {
        use aws_credential_types::provider::ProvideCredentials;
        let provider_config = aws_config::provider_config::ProviderConfig::default()
            .with_http_client(sts::http_client(self.endpoint, self.proxy));
        let chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
            .configure(provider_config)
            .region(aws_config::Region::new(self.region.as_str().to_owned()))
            .build()
            .await;
        match chain.provide_credentials().await {
            Ok(creds) => {
                let creds = Credentials {
                    access_key_id: Secret::new(creds.access_key_id()),
                    secret_access_key: Secret::new(creds.secret_access_key()),
                    // An empty AWS_SESSION_TOKEN means none (long-term keys).
                    session_token: creds
                        .session_token()
                        .filter(|t| !t.is_empty())
                        .map(Secret::new),
                    expiration: None,
                };
                creds.secrets().for_each(|s| observer.on(Event::Secret(s)));
                if let Err(problem) = creds.check_shape() {
                    observer.on(Event::AmbientUnusable(&problem));
                    return None;
                }
                Some(creds)
            }
            Err(err) => {
                // Only the kind: a provider's error can quote what it read (an
                // ECS endpoint's malformed answer), which would be credentials.
                use aws_credential_types::provider::error::CredentialsError as E;
                let kind = match err {
                    E::CredentialsNotLoaded(_) => "none configured",
                    E::ProviderTimedOut(_) => "the provider timed out",
                    E::InvalidConfiguration(_) => "invalid configuration",
                    E::ProviderError(_) => "the provider failed",
                    _ => "unhandled error",
                };
                tracing::debug!("no ambient credentials: {kind}");
                None
            }
        }
    }
}
