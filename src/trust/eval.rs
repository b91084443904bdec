//! IAM's decision for one `sts:AssumeRoleWithWebIdentity` request against a
//! trust policy, statement by statement, keeping every condition's outcome so
//! the verdict can name what failed. Each rule cites the IAM User Guide page
//! it comes from; the table-driven tests in `tests.rs` cite them per case.

use super::claims::{self, Request};
use super::policy::{
    ActionSpec, Base, Compare, Condition, Effect, Policy, Principals, SetQualifier, Statement,
    Version,
};
use super::wildcard::{self, Tok};

pub const ACTION: &str = "sts:AssumeRoleWithWebIdentity";

/// Where a condition key's value comes from in this request.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// A claim IAM exposes for the token's provider.
    Claim(String),
    /// A claim of the token's provider that IAM does not expose: never present.
    Unexposed(String),
    /// A key of another provider (`accounts.google.com:sub` for a GitHub token).
    OtherProvider(String),
    /// A request key (`aws:…`, `sts:…`) given with `--context`.
    Supplied,
    /// A request key check-trust cannot know; treated as absent.
    Unknown,
}

/// Looks `key` up as IAM would: key names compare without regard to case
/// (IAM JSON policy elements: Condition, "condition key names are not case-sensitive").
pub fn lookup(req: &Request, key: &str) -> (Option<Vec<String>>, KeySource) {
    let lower = key.to_lowercase();
    let supplied: Vec<String> = req
        .extra
        .iter()
        .filter(|(k, _)| k.to_lowercase() == lower)
        .map(|(_, v)| v.clone())
        .collect();
    if !supplied.is_empty() {
        return (Some(supplied), KeySource::Supplied);
    }
    let prefix = format!("{}:", req.provider.to_lowercase());
    if let Some(claim) = lower.strip_prefix(&prefix) {
        if !req.exposes(claim) {
            return (None, KeySource::Unexposed(claim.to_owned()));
        }
        let get = |name: &str| {
            req.claims
                .iter()
                .find(|(n, _)| same_key(n, name))
                .map(|(_, v)| claims::values(v))
                .filter(|v| !v.is_empty())
        };
        // IAM's `aud` key is the token's `azp` claim when the token has one
        // (Google service-account tokens do), and `oaud` is always the
        // token's `aud` (Available keys for AWS OIDC federation: aud, oaud).
        let found = match claim {
            "aud" => get("azp").or_else(|| get("aud")),
            "oaud" => get("aud"),
            other => get(other),
        };
        return (found, KeySource::Claim(claim.to_owned()));
    }
    match key.rsplit_once(':') {
        Some((ns, _)) if ["aws", "sts", "iam"].contains(&ns.to_lowercase().as_str()) => {
            (None, KeySource::Unknown)
        }
        Some((ns, _)) if ns.contains('.') => (None, KeySource::OtherProvider(ns.to_owned())),
        _ => (None, KeySource::Unknown),
    }
}

/// `name` is `lower` (already lower case) but for case, without allocating
/// for the common ASCII names: lookups run once per condition and claim.
fn same_key(name: &str, lower: &str) -> bool {
    if name.is_ascii() {
        name.eq_ignore_ascii_case(lower)
    } else {
        name.to_lowercase() == lower
    }
}

/// Turns a policy value into tokens. `*`/`?` are wildcards only for the Like
/// operators; `${…}` is a policy variable only in Version 2012-10-17 (IAM
/// policy elements: Variables and tags). `${*}`, `${?}`, `${$}` are the
/// literal characters. A variable whose key is absent and has no default
/// makes the value unusable (`None`).
fn tokens(value: &str, like: bool, version: Version, req: &Request) -> Option<Vec<Tok>> {
    let chars: Vec<char> = value.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // Once no `}` follows, none follows any later `${` either: without this,
    // `${${${…` would rescan the rest of the value at every `${`.
    let mut closed_later = true;
    while i < chars.len() {
        if closed_later
            && version == Version::V2012
            && chars[i] == '$'
            && chars.get(i + 1) == Some(&'{')
        {
            let close = chars[i + 2..].iter().position(|&c| c == '}');
            closed_later = close.is_some();
            if let Some(len) = close {
                let inner: String = chars[i + 2..i + 2 + len].iter().collect();
                match inner.trim() {
                    "*" => out.push(Tok::Lit('*')),
                    "?" => out.push(Tok::Lit('?')),
                    "$" => out.push(Tok::Lit('$')),
                    var => {
                        let (key, default) = match var.split_once(',') {
                            Some((k, d)) => {
                                (k.trim(), Some(d.trim().trim_matches('\'').to_owned()))
                            }
                            None => (var, None),
                        };
                        let value = match lookup(req, key).0 {
                            Some(v) if v.len() == 1 => Some(v[0].clone()),
                            _ => default,
                        }?;
                        out.extend(value.chars().map(Tok::Lit));
                    }
                }
                i += len + 3;
                continue;
            }
        }
        out.push(match chars[i] {
            '*' if like => Tok::Star,
            '?' if like => Tok::One,
            c => Tok::Lit(c),
        });
        i += 1;
    }
    Some(out)
}

/// A pattern in lower case, for the comparisons that ignore case.
fn fold_case(pattern: &[Tok]) -> Vec<Tok> {
    pattern
        .iter()
        .flat_map(|t| match t {
            Tok::Lit(c) => c.to_lowercase().map(Tok::Lit).collect::<Vec<_>>(),
            other => vec![*other],
        })
        .collect()
}

fn matches(pattern: &[Tok], text: &str, ignore_case: bool) -> bool {
    if ignore_case {
        let text: Vec<char> = text.to_lowercase().chars().collect();
        wildcard::matches(&fold_case(pattern), &text)
    } else {
        wildcard::matches(pattern, &text.chars().collect::<Vec<_>>())
    }
}

/// The wildcard tokens of a pattern: `*` any run, `?` one character, the
/// rest literal. No escapes: IAM has none for these two characters.
fn wildcard_tokens(pattern: &str) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
        .collect()
}

/// Action names match case-insensitively, with `*` and `?` (IAM JSON policy
/// elements: Action, "action names are not case-sensitive" and wildcards).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    matches(&wildcard_tokens(pattern), action, true)
}

/// `text` matches `pattern` as StringLike would, without policy variables.
pub fn like_matches(pattern: &str, text: &str) -> bool {
    matches(&wildcard_tokens(pattern), text, false)
}

/// `text` matches `pattern` as StringLike would if case did not matter: a
/// hint that a pattern differs from the token only in case.
pub fn like_matches_ignoring_case(pattern: &str, text: &str) -> bool {
    matches(&wildcard_tokens(pattern), text, true)
}

pub fn statement_covers_action(s: &Statement) -> bool {
    match &s.action {
        ActionSpec::Action(list) => list.iter().any(|a| action_matches(a, ACTION)),
        ActionSpec::NotAction(list) => !list.iter().any(|a| action_matches(a, ACTION)),
    }
}

/// The identity providers IAM knows without an OIDC provider resource; only
/// these are named bare in `Principal.Federated` (IAM JSON policy elements:
/// Principal, "OIDC federated principals").
pub const BUILT_IN_PROVIDERS: [&str; 4] = [
    "cognito-identity.amazonaws.com",
    "accounts.google.com",
    "graph.facebook.com",
    "www.amazon.com",
];

/// How a Federated principal names the token's provider: the IAM OIDC provider
/// ARN `arn:PARTITION:iam::ACCOUNT:oidc-provider/HOST[/PATH]` or, for the
/// built-in providers, the bare name (`accounts.google.com`). The account is
/// not known here and not compared.
pub fn federated_matches(value: &str, provider: &str) -> bool {
    let norm = |s: &str| s.trim_end_matches('/').to_lowercase();
    let named = match value.split_once(":oidc-provider/") {
        Some((head, path)) if head.starts_with("arn:aws") && head.contains(":iam::") => path,
        Some(_) => return false,
        None if BUILT_IN_PROVIDERS.contains(&norm(value).as_str()) => value,
        None => return false,
    };
    norm(named) == norm(provider)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalMatch {
    /// Names the token's provider.
    Federated,
    /// `"*"` or `{"AWS": "*"}`: every principal, federated ones included
    /// (IAM JSON policy elements: Principal, "All principals").
    Everyone,
    /// Names the token's provider, but in another account than the role's
    /// (only known with `--role-arn`): STS looks the provider up in the role's
    /// own account, so this never matches.
    OtherAccount,
    No,
}

impl PrincipalMatch {
    /// Whether the statement's Principal selects the request.
    pub fn admits(self) -> bool {
        matches!(self, PrincipalMatch::Federated | PrincipalMatch::Everyone)
    }
}

/// The account a provider ARN names (`arn:aws:iam::ACCOUNT:oidc-provider/…`).
pub fn provider_account(value: &str) -> Option<&str> {
    value.strip_prefix("arn:")?.split(':').nth(3)
}

pub fn principal_matches(p: &Principals, req: &Request) -> PrincipalMatch {
    let provider = req.provider.as_str();
    match p {
        Principals::Any => PrincipalMatch::Everyone,
        Principals::Map(types) => {
            let mut result = PrincipalMatch::No;
            for (ty, values) in types {
                let named = values
                    .iter()
                    .filter(|v| ty == "Federated" && federated_matches(v, provider));
                let mut other_account = false;
                for v in named {
                    match (provider_account(v), &req.role_account) {
                        (Some(account), Some(role)) if account != role.as_str() => {
                            other_account = true
                        }
                        _ => return PrincipalMatch::Federated,
                    }
                }
                if other_account && result == PrincipalMatch::No {
                    result = PrincipalMatch::OtherAccount;
                }
                if ty == "AWS" && values.iter().any(|v| v == "*") {
                    result = PrincipalMatch::Everyone;
                }
            }
            result
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConditionResult {
    pub condition: Condition,
    pub holds: bool,
    /// The request's values for the key (`None`: absent).
    pub request: Option<Vec<String>>,
    pub source: KeySource,
    /// Policy values that name a policy variable whose key is absent.
    pub unusable_values: Vec<String>,
}

/// One condition, as "IAM JSON policy elements: Condition operators" and
/// "Single-valued vs. multivalued context keys" define it:
/// - several values of one key: any may match (OR);
/// - a key missing from the request: positive operators are false, negated
///   ones true, `…IfExists` true;
/// - `ForAnyValue:` true if some request value matches (false when absent);
///   `ForAllValues:` true if every request value matches (true when absent);
/// - without a qualifier on a multivalued key, a positive operator needs one
///   matching value and a negated one needs none.
pub fn condition(c: &Condition, version: Version, req: &Request) -> ConditionResult {
    let (request, source) = lookup(req, &c.key);
    let (holds, unusable_values) = outcome(c, version, req, request.as_deref());
    ConditionResult {
        condition: c.clone(),
        holds,
        request,
        source,
        unusable_values,
    }
}

/// Whether one condition holds, without the details `condition` keeps.
pub fn condition_holds(c: &Condition, version: Version, req: &Request) -> bool {
    outcome(c, version, req, lookup(req, &c.key).0.as_deref()).0
}

/// Whether the condition holds for the request's values of its key, and the
/// policy values that name a policy variable whose key is absent.
fn outcome(
    c: &Condition,
    version: Version,
    req: &Request,
    request: Option<&[String]>,
) -> (bool, Vec<String>) {
    let present = request.is_some_and(|v| !v.is_empty());
    let (compare, negated) = match c.operator.base {
        Base::String { compare, negated } => (compare, negated),
        Base::Bool => (Compare::EqualsIgnoreCase, false),
        Base::Null => {
            let holds = c
                .values
                .iter()
                .any(|v| v.eq_ignore_ascii_case("true") != present);
            return (holds, Vec::new());
        }
    };
    if !present {
        let holds = c.operator.if_exists
            || match c.operator.set {
                None => negated,
                Some(SetQualifier::ForAnyValue) => false,
                Some(SetQualifier::ForAllValues) => true,
            };
        let unusable = unusable(c, compare == Compare::Like, version, req);
        return (holds, unusable);
    }
    let like = compare == Compare::Like;
    let mut patterns = Vec::new();
    let mut unusable_values = Vec::new();
    for v in &c.values {
        match tokens(v, like, version, req) {
            Some(t) => patterns.push(t),
            None => unusable_values.push(v.clone()),
        }
    }
    // Folded once here, not once per (pattern, value) pair.
    let fold = compare == Compare::EqualsIgnoreCase;
    if fold {
        patterns = patterns.iter().map(|p| fold_case(p)).collect();
    }
    let values: Vec<Vec<char>> = request
        .into_iter()
        .flatten()
        .map(|v| match fold {
            true => v.to_lowercase().chars().collect(),
            false => v.chars().collect(),
        })
        .collect();
    let op = |v: &Vec<char>| patterns.iter().any(|p| wildcard::matches(p, v)) != negated;
    let holds = match c.operator.set {
        None if negated => values.iter().all(op),
        None | Some(SetQualifier::ForAnyValue) => values.iter().any(op),
        Some(SetQualifier::ForAllValues) => values.iter().all(op),
    };
    (holds, unusable_values)
}

/// The policy values whose variables name a key this request lacks.
fn unusable(c: &Condition, like: bool, version: Version, req: &Request) -> Vec<String> {
    c.values
        .iter()
        .filter(|v| tokens(v, like, version, req).is_none())
        .cloned()
        .collect()
}

#[derive(Debug, Clone)]
pub struct StatementResult {
    pub statement: Statement,
    pub principal: PrincipalMatch,
    /// The statement's Principal selects this request.
    pub principal_ok: bool,
    pub action_ok: bool,
    pub conditions: Vec<ConditionResult>,
}

impl StatementResult {
    /// Principal, action and every condition (AND across operators and keys) match.
    pub fn applies(&self) -> bool {
        self.principal_ok && self.action_ok && self.conditions.iter().all(|c| c.holds)
    }
    pub fn failed(&self) -> impl Iterator<Item = &ConditionResult> {
        self.conditions.iter().filter(|c| !c.holds)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// A Deny statement applies: it wins over every Allow.
    ExplicitDeny,
    /// No Allow statement applies.
    ImplicitDeny,
}

#[derive(Debug, Clone)]
pub struct Verdict {
    pub decision: Decision,
    pub results: Vec<StatementResult>,
    /// The policy's Version: whether `${…}` was read as a variable.
    pub version: Version,
}

impl Verdict {
    pub fn deciding(&self) -> Vec<&StatementResult> {
        let effect = match self.decision {
            Decision::Allowed => Effect::Allow,
            Decision::ExplicitDeny => Effect::Deny,
            Decision::ImplicitDeny => return Vec::new(),
        };
        self.results
            .iter()
            .filter(|r| r.statement.effect == effect && r.applies())
            .collect()
    }

    /// The Allow statements that did not apply, nearest first: right action,
    /// then right principal, then fewest failed conditions.
    pub fn near_misses(&self) -> Vec<&StatementResult> {
        let mut misses: Vec<&StatementResult> = self
            .results
            .iter()
            .filter(|r| r.statement.effect == Effect::Allow && !r.applies())
            .collect();
        misses.sort_by_key(|r| (!r.action_ok, !r.principal_ok, r.failed().count()));
        misses
    }
}

/// Evaluation logic: an explicit Deny overrides any Allow; without an
/// applicable Allow the request is implicitly denied (IAM User Guide,
/// "Policy evaluation logic" / "Determining whether a request is allowed or
/// denied within an account").
pub fn evaluate(policy: &Policy, req: &Request) -> Verdict {
    let results: Vec<StatementResult> = policy
        .statements
        .iter()
        .map(|s| {
            let principal = principal_matches(&s.principal, req);
            let principal_ok = principal.admits();
            StatementResult {
                statement: s.clone(),
                principal,
                principal_ok,
                action_ok: statement_covers_action(s),
                conditions: s
                    .conditions
                    .iter()
                    .map(|c| condition(c, policy.version, req))
                    .collect(),
            }
        })
        .collect();
    let applies = |effect| {
        results
            .iter()
            .any(|r| r.statement.effect == effect && r.applies())
    };
    let decision = if applies(Effect::Deny) {
        Decision::ExplicitDeny
    } else if applies(Effect::Allow) {
        Decision::Allowed
    } else {
        Decision::ImplicitDeny
    };
    // Every test that evaluates also proves lint's fast path agrees.
    debug_assert_eq!(decide(policy, req), decision);
    Verdict {
        decision,
        results,
        version: policy.version,
    }
}

/// The decision alone, as `evaluate` reaches it, without keeping every
/// condition's outcome: lint asks it for hundreds of probe tokens, so each
/// statement stops at its first failing condition and nothing is copied.
pub fn decide(policy: &Policy, req: &Request) -> Decision {
    let applies = |s: &Statement| {
        principal_matches(&s.principal, req).admits()
            && statement_covers_action(s)
            && s.conditions
                .iter()
                .all(|c| condition_holds(c, policy.version, req))
    };
    let any = |effect| {
        policy
            .statements
            .iter()
            .any(|s| s.effect == effect && applies(s))
    };
    if any(Effect::Deny) {
        Decision::ExplicitDeny
    } else if any(Effect::Allow) {
        Decision::Allowed
    } else {
        Decision::ImplicitDeny
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let like = like_matches;
        assert!(like("repo:o/*", "repo:o/r:ref:refs/heads/main"));
        assert!(like("*", ""));
        assert!(like("a*b*c", "aXXbYYc"));
        assert!(!like("a*b*c", "aXXbYY"));
        assert!(like("v?.*", "v1.2"));
        assert!(!like("v?.*", "v10.2"));
        assert!(!like("repo:o/r", "repo:o/r2"));
        assert!(action_matches("STS:AssumeRoleWith*", ACTION));
        assert!(!action_matches("sts:AssumeRole", ACTION));
    }

    #[test]
    fn federated_principal_forms() {
        let p = "token.actions.githubusercontent.com";
        assert!(federated_matches(
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
            p
        ));
        assert!(federated_matches(
            "arn:aws-us-gov:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
            p
        ));
        assert!(!federated_matches(
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com/ent",
            p
        ));
        assert!(!federated_matches(
            "arn:aws:iam::123456789012:saml-provider/x",
            p
        ));
        assert!(federated_matches(
            "accounts.google.com",
            "accounts.google.com"
        ));
        // Only the built-in providers are named without an ARN.
        assert!(!federated_matches(p, p));
    }
}
