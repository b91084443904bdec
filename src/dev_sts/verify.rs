//! The token's signature, checked against the keys the dev token server
//! publishes (`/.well-known/jwks`), as IAM checks a real token against its
//! OIDC provider's keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::Value;

/// One published key.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    /// ES256: the uncompressed P-256 point.
    Ec(Vec<u8>),
    /// RS256: modulus and exponent.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// A JSON Web Key Set: the keys by `kid`.
#[derive(Debug, Clone, PartialEq)]
pub struct Keys(Vec<(String, Key)>);

fn b64(field: &Value, name: &str) -> Result<Vec<u8>, String> {
    let text = field
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a key has no `{name}`"))?;
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| format!("a key's `{name}` is not base64url"))
}

impl Keys {
    /// Reads `{"keys": [...]}`; keys of other types are skipped.
    pub fn parse(jwks: &Value) -> Result<Keys, String> {
        let list = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("the key set has no `keys` list")?;
        let mut keys = Vec::new();
        for jwk in list {
            let kid = jwk.get("kid").and_then(Value::as_str).unwrap_or_default();
            let key = match jwk.get("kty").and_then(Value::as_str) {
                Some("EC") if jwk.get("crv").and_then(Value::as_str) == Some("P-256") => {
                    let (x, y) = (b64(jwk, "x")?, b64(jwk, "y")?);
                    if x.len() != 32 || y.len() != 32 {
                        return Err("a P-256 key's x or y is not 32 bytes".into());
                    }
                    Key::Ec([&[4u8][..], &x, &y].concat())
                }
                Some("RSA") => Key::Rsa {
                    n: b64(jwk, "n")?,
                    e: b64(jwk, "e")?,
                },
                _ => continue,
            };
            keys.push((kid.to_owned(), key));
        }
        if keys.is_empty() {
            return Err("the key set holds no P-256 or RSA key".into());
        }
        Ok(Keys(keys))
    }

    /// Whether `token` (a compact JWS) is signed by one of these keys, with
    /// the algorithm its header names (ES256 or RS256 only; never `none`).
    pub fn verify(&self, token: &str) -> Result<(), String> {
        let parts: Vec<&str> = token.trim().split('.').collect();
        let [header, payload, sig] = parts.as_slice() else {
            return Err("not a JWT (three base64url parts)".into());
        };
        let header: Value = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("the JWT header is not base64url JSON")?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| "the JWT signature is not base64url")?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        let kid = header.get("kid").and_then(Value::as_str);
        let signed = format!("{header_b64}.{payload}", header_b64 = parts[0]);
        let candidates = self
            .0
            .iter()
            .filter(|(k, _)| kid.is_none_or(|want| want == k));
        for (_, key) in candidates {
            let ok = match (alg, key) {
                ("ES256", Key::Ec(point)) => {
                    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                        .verify(signed.as_bytes(), &sig)
                        .is_ok()
                }
                ("RS256", Key::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                    .verify(
                        &signature::RSA_PKCS1_2048_8192_SHA256,
                        signed.as_bytes(),
                        &sig,
                    )
                    .is_ok(),
                _ => false,
            };
            if ok {
                return Ok(());
            }
        }
        Err(format!(
            "no published key (kid {}) verifies its {alg:?} signature",
            kid.unwrap_or("none")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev_token_server::signer::Signer;
    use serde_json::json;

    #[test]
    fn verifies_what_the_dev_token_server_signs_and_nothing_else() {
        let signer = Signer::generate().unwrap();
        let keys = Keys::parse(&signer.jwks()).unwrap();
        let token = signer.sign_jwt(&json!({"sub": "x"})).unwrap();
        keys.verify(&token).unwrap();
        // Another key, a changed payload, `alg: none`: refused.
        let other = Signer::generate()
            .unwrap()
            .sign_jwt(&json!({"sub": "x"}))
            .unwrap();
        assert!(keys.verify(&other).is_err());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(br#"{"sub":"y"}"#);
        assert!(keys.verify(&parts.join(".")).is_err());
        parts[0] = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        assert!(keys.verify(&format!("{}.{}.", parts[0], parts[1])).is_err());
        assert!(Keys::parse(&json!({"keys": []})).is_err());
    }
}
