//! Reads the claims of an OIDC token without verifying it. The claims are not
//! secret (the signature is what makes the token valuable, and the whole token
//! is masked), and showing them is the fastest way to see why a trust policy
//! did not match.

use base64::Engine;
use serde::Deserialize;

/// The GitHub OIDC claims a trust policy is usually written against.
#[derive(Debug, Default, Deserialize, Clone, PartialEq)]
#[serde(default)]
pub struct Claims {
    pub sub: Option<String>,
    #[serde(deserialize_with = "string_or_list")]
    pub aud: Vec<String>,
    pub iss: Option<String>,
    pub repository: Option<String>,
    pub repository_owner: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub environment: Option<String>,
    pub job_workflow_ref: Option<String>,
    pub event_name: Option<String>,
    /// A NumericDate, which RFC 7519 allows to have a fraction (`1700000000.5`).
    #[serde(deserialize_with = "numeric_date")]
    pub exp: Option<i64>,
    /// Every other claim, as sent: IAM exposes some of them as condition
    /// keys (`repository_id`, `actor`, ...), so replaying a denial with
    /// `check-trust` needs them.
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Seconds since the epoch, whole or not (the fraction is dropped); `None`
/// for anything else, so that one odd claim does not hide the others.
fn numeric_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(value.as_i64().or_else(|| value.as_f64().map(|f| f as i64)))
}

fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

/// Tokens larger than this are not decoded; GitHub's are around 1 KiB.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Decodes the payload of a compact JWT, or `None` when it is not one.
pub fn decode_claims(token: &str) -> Option<Claims> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let mut parts = token.trim().split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    // Exactly three segments: a fourth or fifth (JWE) is not a signed JWT.
    if parts.next().is_none() || parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> String {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", enc(r#"{"alg":"RS256"}"#), enc(payload))
    }

    #[test]
    fn a_fractional_expiry_is_read_and_an_odd_one_hides_nothing() {
        let c = decode_claims(&token(r#"{"sub":"s","exp":1700000020.0}"#)).unwrap();
        assert_eq!(c.exp, Some(1700000020));
        let c = decode_claims(&token(r#"{"sub":"s","exp":"soon"}"#)).unwrap();
        assert_eq!((c.exp, c.sub.as_deref()), (None, Some("s")));
    }

    #[test]
    fn decodes_github_claims() {
        let c = decode_claims(&token(r#"{"sub":"repo:o/r:ref:refs/heads/main","aud":"sts.amazonaws.com","ref":"refs/heads/main","environment":null}"#)).unwrap();
        assert_eq!(c.sub.as_deref(), Some("repo:o/r:ref:refs/heads/main"));
        assert_eq!(c.aud, ["sts.amazonaws.com"]);
        assert_eq!(c.git_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!(
            decode_claims(&token(r#"{"aud":["a","b"]}"#)).unwrap().aud,
            ["a", "b"]
        );
    }

    #[test]
    fn rejects_garbage() {
        let four = format!("{}.x", token(r#"{"sub":"s"}"#));
        for bad in ["", "a.b", "a.!!!.c", "a.b.c.d", &token("[1]"), &four] {
            assert!(decode_claims(bad).is_none(), "{bad}");
        }
    }
}
