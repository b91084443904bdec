//! The signing key of the dev token server and what it publishes about it (the JWKS).
//!
//! By default a fresh ECDSA P-256 key per start (ES256): ring can generate those, but
//! not RSA keys, and a new key each run means no key material to keep or leak. GitHub
//! signs with RS256, so `--key-file` also takes an RSA key (PKCS#8 or PKCS#1) for a
//! consumer that insists on RS256; ring signs with it without needing to generate it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{json, Value};
use std::path::Path;

/// Key files larger than this are not read: a PEM RSA-4096 key is about 3.3 KiB.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The JWS algorithm, which follows from the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Es256,
    Rs256,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Rs256 => "RS256",
        }
    }
}

enum Key {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A private key, its public JWK and key id.
pub struct Signer {
    key: Key,
    rng: SystemRandom,
    jwk: Value,
    kid: String,
}

impl std::fmt::Debug for Signer {
    // Never prints key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("alg", &self.algorithm().name())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Signer {
    /// A fresh P-256 key, never written anywhere.
    pub fn generate() -> Result<Signer, String> {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng)
            .map_err(|_| "could not generate a P-256 key (no system randomness?)".to_owned())?;
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng)
            .map_err(|e| format!("the generated P-256 key was rejected: {e}"))?;
        Ok(Signer::from_key(Key::Ec(pair), rng))
    }

    /// A key from a file: PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`) or DER.
    pub fn from_file(path: &Path) -> Result<Signer, String> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| format!("--key-file {shown}: {e}"))?;
        if !meta.is_file() || meta.len() > MAX_KEY_FILE {
            return Err(format!(
                "--key-file {shown}: not a key file (a regular file under {MAX_KEY_FILE} bytes)"
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("--key-file {shown}: {e}"))?;
        Signer::from_bytes(&bytes).map_err(|e| format!("--key-file {shown}: {e}"))
    }

    /// Parses PEM or DER key bytes (see [`Signer::from_file`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Signer, String> {
        const FIX: &str = "make one with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem` (ES256) or `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem` (RS256)";
        let (label, der) = match std::str::from_utf8(bytes) {
            Ok(text) if text.contains("-----BEGIN ") => pem_decode(text)?,
            _ => (String::new(), bytes.to_vec()),
        };
        let rng = SystemRandom::new();
        match label.as_str() {
            "" | "PRIVATE KEY" => {
                if let Ok(pair) = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &der,
                    &rng,
                ) {
                    return Ok(Signer::from_key(Key::Ec(pair), rng));
                }
                match RsaKeyPair::from_pkcs8(&der) {
                    Ok(pair) => Ok(Signer::from_key(Key::Rsa(pair), rng)),
                    Err(rsa) => match RsaKeyPair::from_der(&der) {
                        Ok(pair) => Ok(Signer::from_key(Key::Rsa(pair), rng)),
                        Err(_) => Err(format!("not an unencrypted PKCS#8 P-256 or RSA (2048-8192 bit) key ({rsa}); {FIX}")),
                    },
                }
            }
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der)
                .map(|pair| Signer::from_key(Key::Rsa(pair), rng))
                .map_err(|e| format!("not a usable RSA key ({e}); {FIX}")),
            "EC PRIVATE KEY" => Err(format!("a SEC1 `EC PRIVATE KEY` is not read; convert it with `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.p8.pem`, or {FIX}")),
            "ENCRYPTED PRIVATE KEY" => Err(format!("the key is encrypted; decrypt it with `openssl pkcs8 -in key.pem -out plain.pem`, or {FIX}")),
            other => Err(format!("a PEM `{other}` block is not a private key; {FIX}")),
        }
    }

    fn from_key(key: Key, rng: SystemRandom) -> Signer {
        // RFC 7638 thumbprint members, in lexicographic order, no whitespace: the kid.
        let (thumbprint_input, jwk) = match &key {
            Key::Ec(pair) => {
                // Uncompressed point: 0x04 || X (32 bytes) || Y (32 bytes).
                let point = pair.public_key().as_ref();
                let (x, y) = (b64(&point[1..33]), b64(&point[33..65]));
                (
                    format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
                    json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "alg": "ES256", "use": "sig"}),
                )
            }
            Key::Rsa(pair) => {
                let parts = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                let (n, e) = (b64(&parts.n), b64(&parts.e));
                (
                    format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
                    json!({"kty": "RSA", "n": n, "e": e, "alg": "RS256", "use": "sig"}),
                )
            }
        };
        let kid =
            b64(ring::digest::digest(&ring::digest::SHA256, thumbprint_input.as_bytes()).as_ref());
        let mut jwk = jwk;
        jwk["kid"] = Value::String(kid.clone());
        Signer { key, rng, jwk, kid }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.key {
            Key::Ec(_) => Algorithm::Es256,
            Key::Rsa(_) => Algorithm::Rs256,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JSON Web Key Set served at `/.well-known/jwks`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// A compact JWS over `claims`.
    pub fn sign_jwt(&self, claims: &Value) -> Result<String, String> {
        let header = json!({"alg": self.algorithm().name(), "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = match &self.key {
            Key::Ec(pair) => pair
                .sign(&self.rng, signing_input.as_bytes())
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ES256 signing failed".to_owned())?,
            Key::Rsa(pair) => {
                let mut out = vec![0u8; pair.public().modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &self.rng,
                    signing_input.as_bytes(),
                    &mut out,
                )
                .map_err(|_| "RS256 signing failed".to_owned())?;
                out
            }
        };
        Ok(format!("{signing_input}.{}", b64(&signature)))
    }
}

/// The first PEM block: its label and decoded body.
fn pem_decode(text: &str) -> Result<(String, Vec<u8>), String> {
    let begin = text.find("-----BEGIN ").ok_or("no PEM block")?;
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----").ok_or("malformed PEM header")?;
    let label = rest[..label_end].to_owned();
    let body_and_end = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = body_and_end
        .find(&end_marker)
        .ok_or_else(|| format!("no `{end_marker}` line"))?;
    let body: String = body_and_end[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if body.contains(':') {
        return Err("the PEM block has headers (an encrypted legacy key?); decrypt it with `openssl pkey -in key.pem -out plain.pem`".into());
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("the PEM body is not base64 ({e})"))?;
    Ok((label, der))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verify(signer: &Signer, token: &str) -> bool {
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let jwk = &signer.jwks()["keys"][0];
        match signer.algorithm() {
            Algorithm::Es256 => {
                let mut point = vec![4u8];
                point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
                point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(input.as_bytes(), &sig)
                    .is_ok()
            }
            Algorithm::Rs256 => signature::RsaPublicKeyComponents {
                n: URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap(),
                e: URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap(),
            }
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                input.as_bytes(),
                &sig,
            )
            .is_ok(),
        }
    }

    #[test]
    fn generated_key_signs_es256_that_its_jwk_verifies() {
        let signer = Signer::generate().unwrap();
        let token = signer.sign_jwt(&json!({"sub": "x"})).unwrap();
        assert!(verify(&signer, &token));
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], signer.kid());
        // A changed payload no longer verifies.
        let mut parts: Vec<&str> = token.split('.').collect();
        let other = b64(br#"{"sub":"y"}"#);
        parts[1] = &other;
        assert!(!verify(&signer, &parts.join(".")));
        // Two starts, two keys.
        assert_ne!(Signer::generate().unwrap().kid(), signer.kid());
    }

    #[test]
    fn bad_key_files_say_how_to_make_a_good_one() {
        let err = Signer::from_bytes(b"not a key").unwrap_err();
        assert!(err.contains("openssl genpkey"), "{err}");
        let err = Signer::from_bytes(
            b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(err.contains("openssl pkcs8 -topk8"), "{err}");
        let err =
            Signer::from_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err();
        assert!(err.contains("not a private key"), "{err}");
    }

    #[test]
    fn pkcs8_pem_round_trips_for_ec() {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(doc.as_ref())
        );
        let signer = Signer::from_bytes(pem.as_bytes()).unwrap();
        assert_eq!(signer.algorithm(), Algorithm::Es256);
        let token = signer.sign_jwt(&json!({"a": 1})).unwrap();
        assert!(verify(&signer, &token));
    }
}
