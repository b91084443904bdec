//! The verdict in words: which statement decided, or for a denial the
//! conditions that failed, why, and the smallest change that admits the token.

use super::claims::{Request, Source};
use super::eval::{
    ConditionResult, Decision, KeySource, PrincipalMatch, StatementResult, Verdict, ACTION,
};
use super::policy::{Base, Compare};

pub fn render(verdict: &Verdict, req: &Request) -> String {
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
                out.push_str(&format!("  note: {} {} \"{}\" held because `{}` comes from the request, not the token, and was treated as absent; AWS will know its value. Evaluate it with --context {}=VALUE.\n", r.statement.label(), c.condition.operator.name, c.condition.key, c.condition.key, c.condition.key));
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
        out.push_str(&format!(
            "    x Action does not cover {ACTION}.\n      fix: add \"{ACTION}\" to its Action.\n"
        ));
    }
    if !r.principal_ok {
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
    let cond = &c.condition;
    let op = &cond.operator;
    let key = &cond.key;
    let claim_key = |claim: &str| format!("{}:{claim}", req.provider);
    match &c.source {
        KeySource::Unexposed(claim) => {
            let mut exposed: Vec<&str> = super::claims::EXPOSED_ANY_PROVIDER.to_vec();
            if req.is_github() {
                exposed.extend(super::claims::EXPOSED_GITHUB);
            }
            return (
                format!("IAM does not expose the `{claim}` claim as a condition key for this provider, so the key is always absent and this condition can never hold"),
                format!("remove it and match on a key IAM exposes ({}); to match `{claim}` put it into `sub` (GitHub can customise the sub claim to include it)", exposed.join(", ")),
            );
        }
        KeySource::OtherProvider(ns) => {
            let claim = key.rsplit_once(':').map_or("", |(_, c)| c);
            return (
                format!("the key belongs to provider `{ns}`, but this token's issuer is `{}`: IAM names keys after the token's provider", req.provider),
                format!("rename the key to \"{}\"", claim_key(claim)),
            );
        }
        KeySource::Unknown if !key.contains(':') => {
            return (
                format!("`{key}` has no provider prefix: IAM names token claims PROVIDER:CLAIM, so this key is never present"),
                format!("rename the key to \"{}\"", claim_key(key)),
            );
        }
        KeySource::Unknown if c.request.is_none() => {
            return (
                format!("`{key}` comes from the request, not the token; check-trust does not know it and treats it as absent"),
                format!("pass --context {key}=VALUE to evaluate it with a value"),
            );
        }
        _ => {}
    }
    if !c.unusable_values.is_empty() {
        return (
            format!("the policy variable(s) in {:?} name a key this request lacks, so those values cannot match", c.unusable_values),
            "give the variable a default (`${key, 'default'}`) or match a literal value".into(),
        );
    }
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
            let compare = match op.base {
                Base::String { compare, .. } => compare,
                _ => Compare::EqualsIgnoreCase,
            };
            let mut why = format!("{token:?} is not among the values of {}", op.name);
            let mut fix = format!("add {token:?} to \"{key}\" under {}", op.name);
            let pattern = cond
                .values
                .iter()
                .find(|v| (v.contains('*') || v.contains('?')) && super::eval::like_matches(v, &token));
            if let (Some(pattern), true) = (pattern, compare != Compare::Like) {
                why.push_str(&format!("; {pattern:?} would match it as a pattern, but {} compares `*` and `?` literally (only StringLike treats them as wildcards)", op.name));
                fix = format!("move \"{key}\": {pattern:?} from {} into a \"StringLike\" block", op.name);
            } else if compare == Compare::Equals && cond.values.iter().any(|v| v.eq_ignore_ascii_case(&token)) {
                why.push_str("; it differs only in upper/lower case, and values are compared case-sensitively");
                fix = format!("write the value exactly as {token:?}");
            } else if let Some(p) = cond.values.iter().find(|v| {
                compare == Compare::Like && super::eval::like_matches_ignoring_case(v, &token)
            }) {
                why.push_str(&format!("; {p:?} would match it but for upper/lower case, and StringLike compares case-sensitively"));
                fix = format!("write {p:?} in the case the token uses ({token:?})");
            }
            if c.source == KeySource::Claim("aud".into()) && req.claims.contains_key("azp") {
                why.push_str(&format!("; IAM's `{}` key is the token's `azp` claim when it has one (this token does); the token's `aud` is the `{}` key", claim_key("aud"), claim_key("oaud")));
                if cond.values.iter().any(|v| req.claim_str("aud").as_deref() == Some(v)) {
                    fix = format!("match the audience with \"{}\", or put the azp value {token:?} under \"{key}\"", claim_key("oaud"));
                }
            }
            if key.to_lowercase().ends_with(":sub") {
                why.push_str(&sub_hint(&token, &cond.values));
            }
            if op.set == Some(super::policy::SetQualifier::ForAllValues) && values.len() > 1 {
                fix = format!("add every token value {values:?} to \"{key}\" under {}", op.name);
            }
            (why, fix)
        }
    }
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
    if token.contains('@') && !policy.iter().any(|v| v.contains('@')) {
        hint.push_str(
            ". This `sub` uses the immutable format with numeric ids (`OWNER@ID/REPO@ID`)",
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
