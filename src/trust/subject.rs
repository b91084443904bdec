//! GitHub's two forms of the default `sub`: name-based
//! (`repo:octo-org/octo-repo:ref:refs/heads/main`) and ID-based, where the
//! owner and the repository carry their immutable numeric ids
//! (`repo:octo-org@1234/octo-repo@5678:ref:refs/heads/main`).
//!
//! GitHub issues the ID-based form by default for repositories created,
//! renamed or transferred from 15 July 2026 and lets others opt in (GitHub
//! changelog 2026-04-23, "Immutable subject claims for GitHub Actions OIDC
//! tokens"; GitHub Docs, "OpenID Connect", section "Immutable subject claims",
//! github/docs pull request 45221). Published examples disagree on the
//! separator between a name and its id, so the form is never assumed: it is
//! read from the token itself, by finding its `repository` name and its
//! `repository_owner_id`/`repository_id` claims inside its own `sub`.

use super::claims::Request;

/// How a token's `sub` names its repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// `repo:OWNER/REPO:…`, as the `repository` claim spells it.
    Names,
    /// `repo:OWNER<sep>OWNER_ID/REPO<sep>REPO_ID:…`; `part` is that
    /// `OWNER…/REPO…` text exactly as the token has it.
    Ids { part: String },
}

/// The token's repository as the forms need it: `owner/repo` and the ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRepo {
    pub repository: String,
    pub owner_id: Option<String>,
    pub repo_id: Option<String>,
    pub form: Form,
}

/// The `OWNER…/REPO…` part of a `repo:` subject, up to the next `:`.
pub fn repo_part(sub: &str) -> Option<&str> {
    sub.strip_prefix("repo:")?.split(':').next()
}

/// Reads the form from a token's `sub`, `repository` and id claims; `None`
/// when the `sub` is customised or names another repository.
pub fn read(
    sub: &str,
    repository: &str,
    owner_id: Option<&str>,
    repo_id: Option<&str>,
) -> Option<TokenRepo> {
    let part = repo_part(sub)?;
    let repo = |form| TokenRepo {
        repository: repository.to_owned(),
        owner_id: owner_id.map(str::to_owned),
        repo_id: repo_id.map(str::to_owned),
        form,
    };
    if part == repository {
        return Some(repo(Form::Names));
    }
    let (owner, name) = repository.split_once('/')?;
    let (owner_part, name_part) = part.split_once('/')?;
    // Each name is followed by something ending in its id: whatever stands
    // between them is the separator the token uses.
    let carries = |part: &str, name: &str, id: Option<&str>| {
        part.strip_prefix(name).is_some_and(|rest| match id {
            Some(id) => rest.len() > id.len() && rest.ends_with(id),
            None => rest.chars().last().is_some_and(|c| c.is_ascii_digit()),
        })
    };
    (carries(owner_part, owner, owner_id) && carries(name_part, name, repo_id)).then(|| {
        repo(Form::Ids {
            part: part.to_owned(),
        })
    })
}

/// The form of the request's own token (GitHub claims only).
pub fn of_request(req: &Request) -> Option<TokenRepo> {
    read(
        &req.claim_str("sub")?,
        &req.claim_str("repository")?,
        req.claim_str("repository_owner_id").as_deref(),
        req.claim_str("repository_id").as_deref(),
    )
}

/// For the action's AccessDenied explanation: the repository part to put in
/// `repo:…:*` (the token's own, in its form) and, for an ID-based token, the
/// sentence that says so. Read from the decoded claims, never assumed.
pub fn for_explanation(claims: &crate::jwt::Claims) -> Option<(String, Option<String>)> {
    let id = |name: &str| {
        claims.other.get(name).and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let token = read(
        claims.sub.as_deref()?,
        claims.repository.as_deref()?,
        id("repository_owner_id").as_deref(),
        id("repository_id").as_deref(),
    )?;
    Some(match token.form {
        Form::Names => (token.repository, None),
        Form::Ids { part } => {
            let note = format!("This `sub` is GitHub's ID-based form (`repo:{part}:…`: owner and repository carry their numeric ids, the default for repositories created, renamed or transferred since 15 July 2026): a condition naming `{}` by name only never matches it; write `repo:{part}:…`.", token.repository);
            (part, Some(note))
        }
    })
}

/// When a policy `sub` value names the token's repository in the other form,
/// the value rewritten into the token's form (its wildcards and tail kept)
/// and a sentence saying what differs.
pub fn mismatch(value: &str, token: &TokenRepo) -> Option<(String, String)> {
    let part = repo_part(value)?;
    let tail = &value["repo:".len() + part.len()..];
    let (owner, name) = token.repository.split_once('/')?;
    match &token.form {
        Form::Ids { part: token_part } => {
            let (token_owner, _) = token_part.split_once('/')?;
            let converted = if part == token.repository {
                format!("repo:{token_part}{tail}")
            } else if let Some(rest) = part.strip_prefix(&format!("{owner}/")) {
                // Owner-wide (`repo:octo-org/*`): the owner gains its id.
                if !rest.starts_with(['*', '?']) {
                    return None;
                }
                format!("repo:{token_owner}/{rest}{tail}")
            } else {
                return None;
            };
            Some((converted, format!("the token's `sub` is GitHub's ID-based form (`repo:{token_part}:…`: owner and repository carry their numeric ids, as for repositories created, renamed or transferred since 15 July 2026 or opted in), but the policy names `{}` by name only, which never matches it", token.repository)))
        }
        Form::Names => {
            let (owner_part, name_part) = part.split_once('/')?;
            let id_form = |p: &str, n: &str| {
                p.len() > n.len()
                    && p.starts_with(n)
                    && p.chars().last().is_some_and(|c| c.is_ascii_digit())
            };
            (id_form(owner_part, owner) && id_form(name_part, name)).then(|| {
                (
                    format!("repo:{}{tail}", token.repository),
                    format!("the policy names `{part}` in GitHub's ID-based form (names with their numeric ids), but this token's `sub` is name-based (`repo:{}:…`); a repository keeps the name-based form until it is renamed, transferred or opted in to immutable subject claims", token.repository),
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_read_from_the_token_whatever_the_separator() {
        for sep in ["@", "#", "-id-"] {
            let sub = format!("repo:octo-org{sep}11/octo-repo{sep}22:ref:refs/heads/main");
            let t = read(&sub, "octo-org/octo-repo", Some("11"), Some("22")).unwrap();
            assert_eq!(
                t.form,
                Form::Ids {
                    part: format!("octo-org{sep}11/octo-repo{sep}22")
                }
            );
            let (fixed, why) = mismatch("repo:octo-org/octo-repo:ref:refs/heads/*", &t).unwrap();
            assert_eq!(
                fixed,
                format!("repo:octo-org{sep}11/octo-repo{sep}22:ref:refs/heads/*")
            );
            assert!(why.contains("ID-based"), "{why}");
            let (owner_wide, _) = mismatch("repo:octo-org/*", &t).unwrap();
            assert_eq!(owner_wide, format!("repo:octo-org{sep}11/*"));
            // The reverse: an ID-based policy value and a name-based token.
            let names = read(
                "repo:octo-org/octo-repo:pull_request",
                "octo-org/octo-repo",
                Some("11"),
                Some("22"),
            )
            .unwrap();
            assert_eq!(names.form, Form::Names);
            let (fixed, why) = mismatch(&sub, &names).unwrap();
            assert_eq!(fixed, "repo:octo-org/octo-repo:ref:refs/heads/main");
            assert!(why.contains("name-based"), "{why}");
        }
        // Another repository, or ids that are not the token's: no form.
        assert!(read("repo:x@1/y@2:ref:r", "octo-org/octo-repo", None, None).is_none());
        assert!(read(
            "repo:octo-org@9/octo-repo@9:ref:r",
            "octo-org/octo-repo",
            Some("11"),
            Some("22")
        )
        .is_none());
    }
}
