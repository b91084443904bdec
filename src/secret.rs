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

    /// Checks every value against the shape AWS issues before it is written
    /// anywhere. The profile files are INI: a newline, `[` or a space in a value
    /// would add sections or keys (a later step's SDK would then run an
    /// attacker-chosen `credential_process`). The rules are charsets and lengths,
    /// loose enough for emulators (LocalStack's `test`/`test` keys pass) and
    /// strict enough that no value can carry INI syntax. Says which value is
    /// wrong, never the value.
    pub fn check_shape(&self) -> Result<(), String> {
        self.check_shape_of(Issuer::Aws)
    }

    /// [`Self::check_shape`] for credentials from `issuer`. Another STS
    /// (MinIO, SeaweedFS, Ceph, LocalStack behind a custom `sts-endpoint`)
    /// issues other shapes — a JWT as session token, secrets with any printable
    /// character — which are taken as given: each value must still be one
    /// printable word (no whitespace or control character), which is all the
    /// profile files and GITHUB_ENV need to stay unambiguous.
    pub fn check_shape_of(&self, issuer: Issuer) -> Result<(), String> {
        if issuer == Issuer::Other {
            let printable = |c: char| !c.is_whitespace() && !c.is_control();
            for (what, value, max) in [
                ("access key id", Some(&self.access_key_id), 128),
                ("secret access key", Some(&self.secret_access_key), 1024),
                (
                    "session token",
                    self.session_token.as_ref(),
                    MAX_SESSION_TOKEN,
                ),
            ] {
                let Some(value) = value.map(Secret::expose) else {
                    continue;
                };
                if value.is_empty() || value.len() > max || !value.chars().all(printable) {
                    return Err(format!(
                        "the {what} is empty, longer than {max} bytes, or has spaces or control characters"
                    ));
                }
            }
            return self.check_expiration();
        }
        check_value(
            "access key id",
            self.access_key_id.expose(),
            128,
            |c| c.is_ascii_alphanumeric(),
            "letters and digits",
        )?;
        check_value(
            "secret access key",
            self.secret_access_key.expose(),
            1024,
            |c| c.is_ascii_alphanumeric() || b"+/=._~-".contains(&c),
            "letters, digits and + / = . _ ~ -",
        )?;
        if let Some(token) = &self.session_token {
            check_value(
                "session token",
                token.expose(),
                MAX_SESSION_TOKEN,
                |c| c.is_ascii_alphanumeric() || b"+/=_-".contains(&c),
                "base64 characters",
            )?;
        }
        self.check_expiration()
    }

    fn check_expiration(&self) -> Result<(), String> {
        if let Some(exp) = &self.expiration {
            aws_smithy_types::DateTime::from_str(
                exp,
                aws_smithy_types::date_time::Format::DateTime,
            )
            .map_err(|_| "the expiration is not an RFC 3339 time".to_owned())?;
        }
        Ok(())
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

/// Who issued credentials, which decides the shapes they may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Issuer {
    /// AWS's own STS (no custom `sts-endpoint`): the shapes AWS issues.
    Aws,
    /// Another service behind a custom `sts-endpoint`: any printable words.
    Other,
}

impl Issuer {
    pub fn of_endpoint(custom_endpoint: Option<&url::Url>) -> Issuer {
        if custom_endpoint.is_some() {
            Issuer::Other
        } else {
            Issuer::Aws
        }
    }
}

/// STS session tokens are a few KiB at most; 16 KiB leaves room for emulators.
const MAX_SESSION_TOKEN: usize = 16 * 1024;

fn check_value(
    what: &str,
    value: &str,
    max: usize,
    allowed: fn(u8) -> bool,
    charset: &str,
) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if value.len() > max {
        return Err(format!("the {what} is longer than {max} characters"));
    }
    if !value.bytes().all(allowed) {
        return Err(format!(
            "the {what} has characters AWS never issues (only {charset} are valid)"
        ));
    }
    Ok(())
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

    #[test]
    fn other_issuers_shapes_pass_when_printable() {
        let minio = Credentials {
            access_key_id: Secret::new("ZT0OCM7ZVTM1U8DVZ4Q5"),
            secret_access_key: Secret::new("s3cr3t!#$%&*(){}<>?;:'\"~`|"),
            session_token: Some(Secret::new("eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.c2ln-_")),
            expiration: Some("2030-01-01T00:00:00Z".into()),
        };
        assert_eq!(minio.check_shape_of(Issuer::Other), Ok(()));
        assert!(minio.check_shape().is_err(), "not an AWS shape");
        for bad in ["a b", "a\nb", "a\tb", "", "a\u{7f}"] {
            let c = Credentials {
                secret_access_key: Secret::new(bad),
                ..minio.clone()
            };
            assert!(c.check_shape_of(Issuer::Other).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shapes_aws_issues_pass_and_ini_syntax_does_not() {
        let good = Credentials {
            access_key_id: Secret::new("ASIAY34FZKBOKMUTVV7A"),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            session_token: Some(Secret::new("IQoJb3JpZ2luX2VjEXAMPLE+/==")),
            expiration: Some("2030-01-01T00:00:00Z".into()),
        };
        assert_eq!(good.check_shape(), Ok(()));
        let localstack = Credentials {
            access_key_id: Secret::new("test"),
            secret_access_key: Secret::new("test"),
            session_token: None,
            expiration: None,
        };
        assert_eq!(localstack.check_shape(), Ok(()));
        let bad_token = |t: &str| Credentials {
            session_token: Some(Secret::new(t)),
            ..good.clone()
        };
        for token in [
            "x\n[profile evil]\ncredential_process = /bin/sh -c id",
            "abc def",
            "a\rb",
            "",
            "a[b]",
        ] {
            let err = bad_token(token).check_shape().unwrap_err();
            assert!(err.contains("session token"), "{err}");
            assert!(!token.is_empty() && !err.contains(token) || token.is_empty());
        }
        let bad_secret = Credentials {
            secret_access_key: Secret::new("s\ncredential_process=x"),
            ..good.clone()
        };
        assert!(bad_secret.check_shape().unwrap_err().contains("secret"));
        let bad_id = Credentials {
            access_key_id: Secret::new("AKIA EXAMPLE"),
            ..good.clone()
        };
        assert!(bad_id.check_shape().unwrap_err().contains("access key id"));
        let bad_exp = Credentials {
            expiration: Some("tomorrow".into()),
            ..good
        };
        assert!(bad_exp.check_shape().unwrap_err().contains("expiration"));
    }
}
