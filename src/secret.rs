//! Secret values: access keys, session tokens, OIDC tokens.
//!
//! Everything that would hand an attacker access to an AWS account lives in a
//! [`Secret`]. Its `Debug` and `Display` print a redaction, so a stray `{:?}` in
//! a log line or a `tracing` field cannot leak it, and its memory is zeroed on drop.

use std::fmt;
use zeroize::Zeroizing;

/// A string that must never be printed. Read it only with [`Secret::expose`],
/// at the two places that legitimately need the value: sending it to AWS and
/// writing it to `GITHUB_ENV`/`GITHUB_OUTPUT` after it was masked.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A full set of AWS credentials.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    /// RFC 3339 expiry, when the credentials are temporary.
    pub expiration: Option<String>,
}

impl Credentials {
    /// The values to hand to `::add-mask::`, in the order they must be masked.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        [
            Some(&self.access_key_id),
            Some(&self.secret_access_key),
            self.session_token.as_ref(),
        ]
        .into_iter()
        .flatten()
    }

    /// Converts to the SDK type, used to sign a call with exactly these keys.
    pub fn to_sdk(&self) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            self.access_key_id.expose(),
            self.secret_access_key.expose(),
            self.session_token.as_ref().map(|t| t.expose().to_owned()),
            None,
            "keyless-aws",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let creds = Credentials {
            access_key_id: Secret::new("AKIAEXAMPLEKEYID1234"),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG"),
            session_token: Some(Secret::new("FwoGZXIvYXdzEXAMPLE")),
            expiration: None,
        };
        let shown = format!("{creds:?} {} {:#?}", creds.secret_access_key, creds);
        for value in creds.secrets() {
            assert!(!shown.contains(value.expose()), "{shown}");
        }
        assert!(shown.contains("***"));
    }
}
