//! One OIDC token request per audience per refresh, shared by concurrent
//! helpers. With `roles:` each profile has its own helper (and cache), so an
//! SDK or several processes refreshing `dev` and `audit` at about the same
//! time would each ask the runner for a token of the same audience. The first
//! helper keeps the token it got beside the descriptions; the others take it
//! while it has [`MIN_LIFE`] left.
//!
//! The token is a bearer secret, so it is kept exactly like the cached
//! answers ([`Cache`]): in the helper's 0700 directory, 0600, written
//! atomically, read only when it is a regular file of this user (never
//! through a link); named after the audience, the token endpoint and the
//! request token ([`file_name`]); and
//! requested under an exclusive lock, so concurrent helpers serialize and the
//! second reads the first one's token. The wait is bounded ([`LOCK_WAIT`]);
//! after it a helper requests its own.

use super::cache::Cache;
use crate::aws_names::Audience;
use crate::exchange::events::Silent;
use crate::exchange::token::{self, Reading, Token, TokenError};
use crate::plan::TokenSource;
use crate::secret::Secret;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A shared token is taken only while it has this much life left: enough for
/// the web identity call with its retries.
pub const MIN_LIFE: Duration = Duration::from_secs(60);

/// How long a helper waits for another one's token request (itself bounded
/// by the request's timeout and retries) before requesting its own.
pub const LOCK_WAIT: Duration = Duration::from_secs(20);

/// Beginning of the shared token files; they start like the caches so the
/// post step removes them with the caches.
pub const PREFIX: &str = "refresh-cache-token-";

/// The file name for tokens of `audience` from `endpoint`, requested with
/// `bearer`: a token is shared only with helpers that could request it
/// themselves (a caller with another or a revoked request token asks the
/// runner, and is refused as before). A digest, so the name holds neither
/// the endpoint's path, nor the bearer, nor characters a file name cannot.
pub fn file_name(endpoint: &str, bearer: &Secret, audience: &Audience) -> String {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [endpoint, bearer.expose(), audience.as_str()] {
        digest.update(&(part.len() as u64).to_be_bytes());
        digest.update(part.as_bytes());
    }
    let hex: String = digest.finish().as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{PREFIX}{hex}.jwt")
}

/// The token for `source`: a shared one when it is usable, else a new
/// request (shared afterwards). Sources other than the runner's token
/// request are read as they are.
pub async fn obtain(
    dir: &Path,
    endpoint: &str,
    source: &TokenSource,
    reading: &Reading<'_>,
) -> Result<Token, TokenError> {
    let TokenSource::Request {
        audience, bearer, ..
    } = source
    else {
        return token::fetch(source, reading, &Silent).await;
    };
    let store = Cache::new(dir.join(file_name(endpoint, bearer, audience)));
    if let Some(shared) = reuse(&store, audience, SystemTime::now()) {
        return Ok(shared);
    }
    // Busy for the whole wait, or unusable (a directory this uid cannot
    // write): request alone, without sharing.
    let lock = store.lock(LOCK_WAIT).ok();
    if lock.is_some() {
        if let Some(shared) = reuse(&store, audience, SystemTime::now()) {
            return Ok(shared);
        }
    }
    let fresh = token::fetch(source, reading, &Silent).await?;
    if lock.is_some() && usable(&fresh, audience, SystemTime::now()) {
        // Not fatal: the next helper requests its own.
        let _ = store.write_text(fresh.secret.expose());
    }
    Ok(fresh)
}

/// The stored token when the file is trusted and the token is usable.
fn reuse(store: &Cache, audience: &Audience, now: SystemTime) -> Option<Token> {
    let text = store.read_trusted().ok()?;
    let secret = Secret::new(text.trim().to_owned());
    let token = Token {
        claims: crate::jwt::decode_claims(secret.expose()),
        secret,
        requested_audience: Some(audience.clone()),
        // A stored token is not requested again here: the helper's own rules apply.
        renewal: None,
    };
    usable(&token, audience, now).then_some(token)
}

/// A JWT for `audience` with at least [`MIN_LIFE`] left at `now`; a token
/// without `exp` is never shared (nothing says how long it lasts).
fn usable(token: &Token, audience: &Audience, now: SystemTime) -> bool {
    let Some(claims) = &token.claims else {
        return false;
    };
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let graphic = token.secret.expose().bytes().all(|b| b.is_ascii_graphic());
    graphic
        && claims.aud.iter().any(|a| a == audience.as_str())
        && claims
            .exp
            .is_some_and(|exp| exp >= now + MIN_LIFE.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: serde_json::Value) -> Token {
        use base64::Engine;
        let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let text = format!(
            "{}.{}.sig",
            enc(r#"{"alg":"RS256"}"#),
            enc(&claims.to_string())
        );
        Token {
            claims: crate::jwt::decode_claims(&text),
            secret: Secret::new(text),
            requested_audience: None,
            renewal: None,
        }
    }

    #[test]
    fn only_a_lasting_token_of_the_audience_is_shared() {
        let aud = Audience::parse("sts.amazonaws.com").unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |exp: i64| token(serde_json::json!({"aud": aud.as_str(), "exp": exp}));
        assert!(usable(&at(1_000_060), &aud, now), "60 s left is enough");
        assert!(!usable(&at(1_000_059), &aud, now), "59 s is not");
        let other = token(serde_json::json!({"aud": "other", "exp": 2_000_000}));
        assert!(!usable(&other, &aud, now), "another audience");
        let no_exp = token(serde_json::json!({"aud": aud.as_str()}));
        assert!(!usable(&no_exp, &aud, now), "no exp");
        let opaque = Token {
            claims: None,
            secret: Secret::new(String::from("opaque")),
            requested_audience: None,
            renewal: None,
        };
        assert!(!usable(&opaque, &aud, now), "not a JWT");
    }

    #[test]
    fn the_file_is_named_for_audience_and_endpoint() {
        let a = Audience::parse("a").unwrap();
        let b = Audience::parse("b").unwrap();
        let (one, two) = (Secret::new("bearer-one"), Secret::new("bearer-two"));
        let name = file_name("https://t.example/x?y=1", &one, &a);
        assert!(name.starts_with(PREFIX) && name.ends_with(".jwt"), "{name}");
        assert!(!name.contains("example") && !name.contains("bearer"));
        assert_ne!(name, file_name("https://t.example/x?y=1", &one, &b));
        assert_ne!(name, file_name("https://u.example/x?y=1", &one, &a));
        assert_ne!(name, file_name("https://t.example/x?y=1", &two, &a));
        assert_eq!(name, file_name("https://t.example/x?y=1", &one, &a));
    }

    #[test]
    fn a_group_readable_or_linked_file_is_not_reused() {
        use std::os::unix::fs::PermissionsExt;
        let aud = Audience::parse("sts.amazonaws.com").unwrap();
        let lasting = token(serde_json::json!({"aud": aud.as_str(), "exp": 4_102_444_800_i64}));
        let dir = tempfile::tempdir().unwrap();
        let store = Cache::new(dir.path().join(file_name("u", &Secret::new("b"), &aud)));
        store.write_text(lasting.secret.expose()).unwrap();
        assert!(reuse(&store, &aud, SystemTime::now()).is_some());
        let mode = |m| std::fs::Permissions::from_mode(m);
        std::fs::set_permissions(store.path(), mode(0o640)).unwrap();
        assert!(reuse(&store, &aud, SystemTime::now()).is_none());
        let target = dir.path().join("target");
        std::fs::rename(store.path(), &target).unwrap();
        std::fs::set_permissions(&target, mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&target, store.path()).unwrap();
        assert!(reuse(&store, &aud, SystemTime::now()).is_none());
    }
}
