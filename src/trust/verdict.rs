//! The verdict in words: which statement decided, or for a denial the
//! conditions that failed, why, and the smallest change that admits the token.

use super::claims::{Request, Source};
use super::eval::{
    ConditionResult, Decision, KeySource, PrincipalMatch, StatementResult, Verdict, ACTION,
};
use super::policy::{ActionSpec, Base, Compare, Effect, Version};

pub fn render(verdict: &Verdict, req: &Request) -> String {
    let mut out = request_header(req);
    if verdict.version == Version::V2008 && uses_variables(verdict) {
        out.push_str("  (the policy's Version is 2008-10-17 or absent: `${…}` in its values is literal text, not a policy variable; write \"Version\": \"2012-10-17\" to use variables)\n");
    }
    out.push('\n');
    match verdict.decision {
        Decision::Allowed => {
            let by: Vec<String> = verdict
                .deciding()
                .iter()
                .map(|r| r.statement.label())
                .collect();
            out.push_str(&format!("ALLOWED by {}.\n", by.join(", ")));
            for r in verdict.deciding() {
                if r.principal == PrincipalMatch::Everyone {
                    out.push_str(&format!("  note: {} names every principal (\"*\"), not the OIDC provider, so tokens of any provider reach its conditions; name the provider in Principal.Federated.\n", r.statement.label()));
                }
            }
        }
        Decision::ExplicitDeny => {
            out.push_str(
                "DENIED by an explicit Deny (a Deny that applies wins over every Allow):\n",
            );
            for r in verdict.deciding() {
                out.push_str(&format!("  {} denies this token: its principal and action match and all its conditions hold:\n", r.statement.label()));
                for c in &r.conditions {
                    out.push_str(&format!(
                        "    {} {} {:?} — token: {}\n",
                        c.condition.operator.name,
                        c.condition.key,
                        c.condition.values,
                        show_request(c)
                    ));
                }
                out.push_str("  fix: if this token should be admitted, narrow the Deny's conditions so they exclude it (or remove the statement).\n");
            }
        }
        Decision::ImplicitDeny => {
            out.push_str("DENIED: no Allow statement matches this token (implicit deny).\n");
            let misses = verdict.near_misses();
            if !verdict
                .results
                .iter()
                .any(|r| r.statement.effect == Effect::Allow && r.action_ok)
            {
                out.push_str(&format!("  No Allow statement covers {ACTION}, the action every OIDC token asks for, so IAM denies every token. IAM accepts such a policy when it is saved; the mistake shows only when a job runs.\n"));
            }
            if misses.is_empty() {
                out.push_str(
                    "  The policy has no Allow statement; add one for the OIDC provider.\n",
                );
            }
            for r in misses {
                out.push_str(&statement_miss(r, req));
            }
        }
    }
    // A deciding statement that leaned on a request key check-trust cannot
    // know (aws:SourceIp, ...) decided on an assumption: say which.
    for r in verdict.deciding() {
        for c in &r.conditions {
            if c.source == KeySource::Unknown && c.condition.key.contains(':') {
                out.push_str(&format!("  note: {} {} \"{}\" held because `{}` comes from the request, not the token, and was treated as absent; AWS will know its value. Evaluate it with --context {}.\n", r.statement.label(), c.condition.operator.name, c.condition.key, c.condition.key, crate::text::shell_word(&format!("{}=VALUE", c.condition.key))));
            }
        }
    }
    out
}

fn show_request(c: &ConditionResult) -> String {
    match &c.request {
        None => "(absent)".into(),
        Some(v) if v.len() == 1 => format!("{:?}", crate::text::one_line(&v[0])),
        Some(v) => format!("{v:?}"),
    }
}

fn statement_miss(r: &StatementResult, req: &Request) -> String {
    let mut out = format!("\n  {}:\n", r.statement.label());
    if !r.action_ok {
        out.push_str(&action_miss(&r.statement.action));
    }
    if r.principal == PrincipalMatch::OtherAccount {
        out.push_str(&other_account(r, req));
    } else if !r.principal_ok {
        out.push_str(&format!("    x Principal does not name this token's provider.\n      fix: \"Principal\": {{\"Federated\": \"arn:aws:iam::ACCOUNT:oidc-provider/{}\"}}\n", req.provider));
    }
    for c in r.failed() {
        let (why, fix) = explain(c, req);
        out.push_str(&format!(
            "    x {} \"{}\": policy {:?}, token {}\n      why: {why}\n      fix: {fix}\n",
            c.condition.operator.name,
            c.condition.key,
            c.condition.values,
            show_request(c)
        ));
    }
    out
}

/// Why one condition failed and the smallest change that makes it hold.
pub fn explain(c: &ConditionResult, req: &Request) -> (String, String) {
    if let Some(problem) = key_problem(c, req) {
        return problem;
    }
    let cond = &c.condition;
    let op = &cond.operator;
    let key = &cond.key;
    let Some(values) = &c.request else {
        return match op.base {
            Base::Null => (
                format!("Null \"{key}\": false requires the key to be present; the token has no such claim"),
                "remove the condition, or send a token that has the claim".into(),
            ),
            _ => (
                format!("the token has no `{}` claim, and a missing key makes {} false", key.rsplit_once(':').map_or(key.as_str(), |(_, c)| c), op.name),
                format!("use {}IfExists if the claim is optional, or send a token that has it", op.name),
            ),
        };
    };
    let token = values.first().cloned().unwrap_or_default();
    if op.base == Base::Bool
        && !token.eq_ignore_ascii_case("true")
        && !token.eq_ignore_ascii_case("false")
    {
        return (
            format!("Bool compares \"true\"/\"false\", and the token's value {token:?} is neither"),
            format!(
                "compare \"{key}\" with a String operator (StringEquals), or drop the condition"
            ),
        );
    }
    match op.base {
        Base::Null => (
            format!("Null \"{key}\": true requires the key to be absent; the token has it"),
            "remove the condition".into(),
        ),
        Base::String { negated: true, .. } => (
            format!("the token's value {token:?} is one of the values {} excludes", op.name),
            format!("remove the value matching {token:?} from \"{key}\" under {}, if this token should be admitted", op.name),
        ),
        Base::String { negated: false, .. } | Base::Bool => {
            positive_mismatch(c, req, values, &token)
        }
    }
}

/// A positive String (or Bool) condition whose values the token's value
/// does not match: the reason in the operator's own terms, and the edit.
fn positive_mismatch(
    c: &ConditionResult,
    req: &Request,
    values: &[String],
    token: &str,
) -> (String, String) {
    let cond = &c.condition;
    let op = &cond.operator;
    let key = &cond.key;
    let claim_key = |claim: &str| format!("{}:{claim}", req.provider);
    let compare = match op.base {
        Base::String { compare, .. } => compare,
        _ => Compare::EqualsIgnoreCase,
    };
    // StringLike's values are patterns: "not among the values" would read as
    // if they were compared literally.
    let mut why = if compare == Compare::Like {
        format!("{token:?} matches none of the patterns of {}", op.name)
    } else {
        format!("{token:?} is not among the values of {}", op.name)
    };
    let mut fix = format!("add {token:?} to \"{key}\" under {}", op.name);
    let pattern = cond
        .values
        .iter()
        .find(|v| (v.contains('*') || v.contains('?')) && super::eval::like_matches(v, token));
    if let (Some(pattern), true) = (pattern, compare != Compare::Like) {
        why.push_str(&format!("; {pattern:?} would match it as a pattern, but {} compares `*` and `?` literally (only StringLike treats them as wildcards)", op.name));
        fix = format!(
            "move \"{key}\": {pattern:?} from {} into a \"StringLike\" block",
            op.name
        );
    } else if compare == Compare::Equals
        && cond.values.iter().any(|v| v.eq_ignore_ascii_case(token))
    {
        why.push_str(
            "; it differs only in upper/lower case, and values are compared case-sensitively",
        );
        fix = format!("write the value exactly as {token:?}");
    } else if let Some(p) = cond
        .values
        .iter()
        .find(|v| compare == Compare::Like && super::eval::like_matches_ignoring_case(v, token))
    {
        why.push_str(&format!("; {p:?} would match it but for upper/lower case, and StringLike compares case-sensitively"));
        fix = format!("write {p:?} in the case the token uses ({token:?})");
    }
    if c.source == KeySource::Claim("aud".into()) && req.claims.contains_key("azp") {
        why.push_str(&format!("; IAM's `{}` key is the token's `azp` claim when it has one (this token does); the token's `aud` is the `{}` key", claim_key("aud"), claim_key("oaud")));
        if cond
            .values
            .iter()
            .any(|v| req.claim_str("aud").as_deref() == Some(v))
        {
            fix = format!(
                "match the audience with \"{}\", or put the azp value {token:?} under \"{key}\"",
                claim_key("oaud")
            );
        }
    }
    if key.to_lowercase().ends_with(":sub") {
        why.push_str(&sub_hint(token, &cond.values));
        if let Some((converted, form)) = other_form(req, &cond.values) {
            why.push_str(&format!("; {form}"));
            fix = format!(
                "for this token write \"{key}\": \"{converted}\" under {}",
                op.name
            );
        }
    }
    if op.set == Some(super::policy::SetQualifier::ForAllValues) && values.len() > 1 {
        fix = format!(
            "add every token value {values:?} to \"{key}\" under {}",
            op.name
        );
    }
    (why, fix)
}

/// A key the request can never have (or check-trust cannot know), or values
/// that cannot be used: the reason is the key, not the values.
fn key_problem(c: &ConditionResult, req: &Request) -> Option<(String, String)> {
    let key = &c.condition.key;
    let claim_key = |claim: &str| format!("{}:{claim}", req.provider);
    match &c.source {
        KeySource::Unexposed(claim) => {
            let mut exposed: Vec<&str> = super::claims::EXPOSED_ANY_PROVIDER.to_vec();
            if req.is_github() {
                exposed.extend(super::claims::EXPOSED_GITHUB);
            }
            return Some((
                format!("IAM does not expose the `{claim}` claim as a condition key for this provider, so the key is always absent and this condition can never hold"),
                format!("remove it and match on a key IAM exposes ({}); to match `{claim}` put it into `sub` (GitHub can customise the sub claim to include it)", exposed.join(", ")),
            ));
        }
        KeySource::OtherProvider(ns) => {
            let claim = key.rsplit_once(':').map_or("", |(_, c)| c);
            return Some((
                format!("the key belongs to provider `{ns}`, but this token's issuer is `{}`: IAM names keys after the token's provider", req.provider),
                format!("rename the key to {}", crate::text::json_string(&claim_key(claim))),
            ));
        }
        KeySource::Unknown if !key.contains(':') => {
            return Some((
                format!("`{key}` has no provider prefix: IAM names token claims PROVIDER:CLAIM, so this key is never present"),
                format!("rename the key to {}", crate::text::json_string(&claim_key(key))),
            ));
        }
        KeySource::Unknown if c.request.is_none() => {
            return Some((
                format!("`{key}` comes from the request, not the token; check-trust does not know it and treats it as absent"),
                format!("pass --context {key}=VALUE to evaluate it with a value"),
            ));
        }
        _ => {}
    }
    if !c.unusable_values.is_empty() {
        return Some((
            format!("the policy variable(s) in {:?} name a key this request lacks, so those values cannot match", c.unusable_values),
            "give the variable a default (`${key, 'default'}`) or match a literal value".into(),
        ));
    }
    None
}

/// The `sub` mistakes that cost people the most time, recognised by shape.
fn sub_hint(token: &str, policy: &[String]) -> String {
    let mut hint = String::new();
    if token.contains(":environment:") && policy.iter().any(|v| v.contains(":ref:")) {
        hint.push_str(
            ". This job runs in an environment, so `sub` names the environment, not the branch",
        );
    }
    if token.ends_with(":pull_request") {
        hint.push_str(
            ". Pull-request runs have `sub` = `repo:OWNER/REPO:pull_request`, not a branch ref",
        );
    }
    let repo = |s: &str| {
        s.strip_prefix("repo:")
            .and_then(|r| r.split(':').next())
            .map(str::to_owned)
    };
    if let Some(t) = repo(token) {
        if let Some(p) = policy
            .iter()
            .filter_map(|v| repo(v))
            .find(|p| p.eq_ignore_ascii_case(&t) && *p != t)
        {
            hint.push_str(&format!(". The policy names `{p}` but the token `{t}`: owner and repository names are compared case-sensitively"));
        }
    }
    hint
}

/// Why a statement's Action (or NotAction) leaves out the web-identity action,
/// and the edit that brings it in.
fn action_miss(action: &ActionSpec) -> String {
    match action {
        ActionSpec::Action(list) => {
            let named = if list
                .iter()
                .any(|a| a.eq_ignore_ascii_case("sts:AssumeRole"))
            {
                " sts:AssumeRole is the action of IAM users and roles; a token from a CI is exchanged with sts:AssumeRoleWithWebIdentity, a different action."
            } else {
                ""
            };
            format!(
                "    x Action {list:?} does not cover {ACTION}.{named}\n      fix: add \"{ACTION}\" to its Action.\n"
            )
        }
        ActionSpec::NotAction(list) => {
            let excluding: Vec<&String> = list
                .iter()
                .filter(|a| super::eval::action_matches(a, ACTION))
                .collect();
            format!(
                "    x NotAction {list:?} excludes {ACTION} (NotAction covers every action except those it lists; {excluding:?} matches it).\n      fix: remove {excluding:?} from its NotAction, or replace NotAction with \"Action\": \"{ACTION}\".\n"
            )
        }
    }
}

/// A policy `sub` value that names the token's repository in the other of
/// GitHub's two forms (name-based, ID-based), rewritten into the token's form.
fn other_form(req: &Request, values: &[String]) -> Option<(String, String)> {
    let token = super::subject::of_request(req)?;
    values
        .iter()
        .find_map(|v| super::subject::mismatch(v, &token))
}

/// The request the verdict is about: provider, where the claims came from,
/// the claims that decide most verdicts and any `--context` keys.
fn request_header(req: &Request) -> String {
    let mut out = String::new();
    let source = match req.source {
        Source::ClaimsFile => "claims file",
        Source::Token => "token payload, decoded WITHOUT checking its signature",
        Source::VerifiedToken => "token payload, signature verified",
        Source::Synthesised => "claims built from --repo in GitHub's default format",
    };
    out.push_str(&format!(
        "Request: {ACTION} by provider {} ({source})\n",
        req.provider
    ));
    if req
        .claims
        .get("iss")
        .and_then(|v| v.as_str())
        .is_some_and(|i| i.starts_with("http://"))
    {
        out.push_str("  (the issuer is http://: AWS STS refuses such tokens; this verdict is for a local emulator)\n");
    }
    if !req.claims.contains_key("iss") {
        out.push_str("  (the claims have no `iss`: assuming GitHub's issuer)\n");
    }
    for name in ["sub", "aud", "azp"] {
        if let Some(v) = req.claims.get(name) {
            out.push_str(&format!(
                "  {name:<4} {}\n",
                crate::text::one_line(&v.to_string())
            ));
        }
    }
    for (k, v) in &req.extra {
        out.push_str(&format!("  {k} = {v:?} (--context)\n"));
    }
    out
}

/// Whether any condition value holds `${`, which only Version 2012-10-17 reads
/// as a policy variable.
fn uses_variables(verdict: &Verdict) -> bool {
    verdict
        .results
        .iter()
        .flat_map(|r| &r.statement.conditions)
        .any(|c| c.values.iter().any(|v| v.contains("${")))
}

/// A Principal naming the token's provider in another account than the role's.
fn other_account(r: &StatementResult, req: &Request) -> String {
    let role = req
        .role_account
        .as_ref()
        .map_or_else(String::new, |a| a.to_string());
    let named: Vec<&str> = match &r.statement.principal {
        super::policy::Principals::Map(types) => types
            .iter()
            .filter(|(ty, _)| ty == "Federated")
            .flat_map(|(_, values)| values)
            .filter_map(|v| super::eval::provider_account(v))
            .collect(),
        super::policy::Principals::Any => Vec::new(),
    };
    format!("    x Principal.Federated names the provider in account {named:?}, but the role is in account {role}: STS looks the OIDC provider up in the role's own account, so a provider of another account never matches.\n      fix: \"Principal\": {{\"Federated\": \"arn:aws:iam::{role}:oidc-provider/{}\"}} (and create the provider in account {role} if it has none)\n", req.provider)
}
