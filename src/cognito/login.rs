//! How a pool knows the token's issuer, and which claims the ABAC set-up maps
//! to principal tags.

/// The key of the token in the `Logins` map: for an OpenID Connect provider,
/// the issuer without `https://` — the name of the IAM OIDC provider the pool
/// lists (`token.actions.githubusercontent.com`, or with a GitHub enterprise's
/// own issuer path). `None` when the issuer is not an https URL.
pub fn login_key(issuer: &str) -> Option<String> {
    let rest = issuer.trim().strip_prefix("https://")?;
    let key = rest.trim_end_matches('/');
    let host = key.split('/').next().unwrap_or_default();
    let valid = !host.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~/:".contains(c));
    valid.then(|| key.to_owned())
}

/// The GitHub claims `setup --abac` maps to principal tags (tag key = claim
/// name). `environment` exists only for jobs that name an environment; the
/// ids are stable across renames, for the ID-based subject.
pub const ABAC_CLAIMS: [&str; 9] = [
    "repository",
    "repository_owner",
    "ref",
    "environment",
    "job_workflow_ref",
    "actor",
    "event_name",
    "repository_id",
    "repository_owner_id",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_key_is_the_issuer_without_its_scheme() {
        assert_eq!(
            login_key("https://token.actions.githubusercontent.com").as_deref(),
            Some("token.actions.githubusercontent.com")
        );
        assert_eq!(
            login_key("https://token.actions.githubusercontent.com/octo-enterprise/").as_deref(),
            Some("token.actions.githubusercontent.com/octo-enterprise")
        );
        assert_eq!(login_key("http://127.0.0.1:8080"), None);
        assert_eq!(login_key("https://"), None);
        assert_eq!(login_key("https://a b"), None);
    }
}
