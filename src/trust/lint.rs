//! Warnings about what a trust policy admits besides the token checked: any
//! repository, a whole organisation, owners that merely share a prefix, pull
//! requests, no audience. Breadth is measured by evaluating the policy against
//! probe tokens (GitHub's claim shapes for repositories nobody named), so a
//! warning is the evaluator's answer, not a guess from the pattern's text.

use super::claims::{self, GitHubJob, Request, Source};
use super::eval::{self, Decision, KeySource};
use super::policy::{Base, Effect, Policy, SetQualifier};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Risk {
    AnyRepository,
    /// A wildcard in the owner part of a repository pattern (`repo:*/app:*`):
    /// anyone can register an owner that matches it.
    AnyOwner,
    OwnerPrefix,
    WholeOwner,
    RepoPrefix,
    PullRequests,
    NoAudience,
    AbsentKeyPasses,
    /// A condition on a key this provider's tokens never have: it either
    /// always holds (restricts nothing) or never holds (dead statement).
    KeyNeverPresent,
    /// A key with several values in this token under an operator without
    /// ForAnyValue/ForAllValues.
    MultivaluedWithoutSet,
    /// The policy names more `sub` values than lint probes around.
    ProbesCapped,
    /// Two condition keys of one statement differ only in case: one key to IAM.
    KeysDifferInCase,
    /// A `sub` value in the other of GitHub's two forms than the token's.
    SubjectForm,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub risk: Risk,
    pub message: String,
    pub fix: String,
}

const PROBE_OWNER: &str = "keyless-probe-owner";
const PROBE_REPO: &str = "keyless-probe-repo";

/// What follows `repo:OWNER/REPO:` in a GitHub `sub`: `ref:REF`,
/// `environment:NAME`, `pull_request`, or a customised tail.
#[derive(Debug, Clone, PartialEq)]
struct Shape(String);

/// The shapes to probe: GitHub's three defaults, the checked token's, and
/// those the policy's own `sub` values spell (wildcards filled in), so
/// `repo:*:ref:refs/heads/release` is probed on the release branch.
fn shapes(policy: &Policy, base: &Request) -> Vec<Shape> {
    let mut out: Vec<Shape> = [
        "ref:refs/heads/main",
        "environment:production",
        "pull_request",
    ]
    .into_iter()
    .map(|s| Shape(s.into()))
    .collect();
    let tail = |sub: &str| {
        let rest = sub.strip_prefix("repo:")?;
        let colon = rest.find(':')?;
        Some(
            rest[colon + 1..]
                .replace('*', "keyless-probe")
                .replace('?', "k"),
        )
    };
    let sub_key = format!("{}:sub", base.provider.to_lowercase());
    let values = policy
        .statements
        .iter()
        .flat_map(|s| &s.conditions)
        .filter(|c| c.key.to_lowercase() == sub_key)
        .flat_map(|c| c.values.iter().cloned());
    for sub in base.claim_str("sub").into_iter().chain(values) {
        if out.len() >= MAX_SHAPES {
            break;
        }
        if let Some(t) = tail(&sub).filter(|t| !t.is_empty()) {
            if !out.contains(&Shape(t.clone())) {
                out.push(Shape(t));
            }
        }
    }
    out
}

/// Bounds on the probing (issue 22.4): each probe evaluates the whole policy,
/// and probes are shapes × (owners + repositories), so without bounds a
/// policy listing thousands of `sub` values costs cubic time. Real policies
/// name a handful; past the bounds lint says it stopped (`Risk::ProbesCapped`).
const MAX_SHAPES: usize = 12;
const MAX_NAMED: usize = 12;

/// Does the policy allow a GitHub token for `repo` in this shape, with the
/// checked token's issuer and audience (so only the repository differs)?
fn admits(policy: &Policy, base: &Request, repo: &str, shape: &Shape) -> Option<String> {
    let audience = base
        .claim_str("aud")
        .unwrap_or_else(|| claims::DEFAULT_AUDIENCE.into());
    let tail = shape.0.as_str();
    let job = GitHubJob {
        repo: repo.into(),
        git_ref: tail.strip_prefix("ref:").map(Into::into),
        environment: tail.strip_prefix("environment:").map(Into::into),
        event: if tail == "pull_request" {
            "pull_request"
        } else {
            "push"
        }
        .into(),
        audience,
    };
    let mut c = claims::synthesise(&job).ok()?;
    let sub = format!("repo:{repo}:{tail}");
    c.insert("sub".into(), sub.clone().into());
    if let Some(iss) = base.claims.get("iss") {
        c.insert("iss".into(), iss.clone());
    }
    // The probe shares the checked token's identity claims only where a real
    // token would: the same repository has its ids, the same owner its owner
    // id; a stranger's repository has neither. So pinning `repository_id`
    // does not hide that the pinned repository's pull requests get in.
    let owner_of = |r: &str| r.split('/').next().map(str::to_owned);
    if let Some(own) = own_repository(base) {
        let mut inherit: Vec<&str> = Vec::new();
        if own == repo {
            inherit.extend(["repository_id", "repository_owner_id", "enterprise_id"]);
        } else if owner_of(&own) == owner_of(repo) {
            inherit.extend(["repository_owner_id", "enterprise_id"]);
        }
        for k in inherit {
            if let Some(v) = base.claims.get(k) {
                c.insert(k.into(), v.clone());
            }
        }
    }
    // A reusable workflow's job_workflow_ref is the same in every repository
    // that calls it (and a public workflow can be called from any), so a
    // policy that pins it is probed with it.
    if let Some(v) = base.claims.get("job_workflow_ref") {
        c.insert("job_workflow_ref".into(), v.clone());
    }
    let mut probe = Request::new(c, Source::Synthesised);
    probe.extra = base.extra.clone();
    (eval::decide(policy, &probe) == Decision::Allowed).then_some(sub)
}

/// The checked token's repository: its `repository` claim, else the one its
/// `sub` names.
/// Only a name GitHub could have: it is probed and printed.
fn own_repository(req: &Request) -> Option<String> {
    let github_name = |r: &String| {
        r.split_once('/').is_some_and(|(o, n)| {
            let ok = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            };
            ok(o) && ok(n)
        })
    };
    req.claim_str("repository")
        .or_else(|| {
            let sub = req.claim_str("sub")?;
            Some(sub.strip_prefix("repo:")?.split(':').next()?.to_owned())
        })
        .filter(github_name)
}

/// Repository patterns whose owner part has a wildcard (`repo:*/app:*`,
/// `"repository": "octo-*/app"`), filled in as a stranger could name theirs.
fn wildcard_owner_probes(policy: &Policy, provider: &str) -> Vec<String> {
    let p = provider.to_lowercase();
    let (sub_key, repo_key) = (format!("{p}:sub"), format!("{p}:repository"));
    let mut out = Vec::new();
    for c in policy.statements.iter().flat_map(|s| &s.conditions) {
        let key = c.key.to_lowercase();
        for v in &c.values {
            let pattern = if key == sub_key {
                v.strip_prefix("repo:").and_then(|r| r.split(':').next())
            } else if key == repo_key {
                Some(v.as_str())
            } else {
                None
            };
            let Some((owner, repo)) = pattern.and_then(|p| p.split_once('/')) else {
                continue;
            };
            if owner.contains(['*', '?']) && !repo.is_empty() && out.len() < MAX_NAMED {
                let fill = |s: &str| s.replace('*', "keyless-probe").replace('?', "k");
                let probe = format!("{}/{}", fill(owner), fill(repo));
                if !out.contains(&probe) {
                    out.push(probe);
                }
            }
        }
    }
    out
}

fn any_shape(policy: &Policy, base: &Request, repo: &str) -> Option<String> {
    shapes(policy, base)
        .iter()
        .find_map(|shape| admits(policy, base, repo, shape))
}

/// Owners and repositories named literally at the start of `sub` values
/// (`repo:OWNER/REPO:…`), to probe around them.
fn named(policy: &Policy, provider: &str) -> (Vec<String>, Vec<String>) {
    let sub_key = format!("{}:sub", provider.to_lowercase());
    let (mut owners, mut repos) = (Vec::new(), Vec::new());
    for s in &policy.statements {
        for c in s
            .conditions
            .iter()
            .filter(|c| c.key.to_lowercase() == sub_key)
        {
            for v in &c.values {
                let Some(rest) = v.strip_prefix("repo:") else {
                    continue;
                };
                let end = rest.find(['/', '*', '?', ':']).unwrap_or(rest.len());
                let owner = &rest[..end];
                if owner.is_empty() {
                    continue;
                }
                if owners.len() < MAX_NAMED && !owners.iter().any(|o| o == owner) {
                    owners.push(owner.to_owned());
                }
                if rest[end..].starts_with('/') {
                    let r = &rest[end + 1..];
                    let rend = r.find(['*', '?', ':']).unwrap_or(r.len());
                    let repo = format!("{owner}/{}", &r[..rend]);
                    if rend > 0 && repos.len() < MAX_NAMED && !repos.contains(&repo) {
                        repos.push(repo);
                    }
                }
            }
        }
    }
    (owners, repos)
}

pub fn lint(policy: &Policy, req: &Request) -> Vec<Warning> {
    let mut out = Vec::new();
    if req.is_github() {
        out.extend(breadth(policy, req));
    }
    reusable_workflow_note(policy, req, &mut out);
    out.extend(keys_never_present(policy, req));
    out.extend(keys_differing_in_case(policy));
    out.extend(subject_forms(policy, req));
    out.extend(audience_and_absent_keys(policy, req));
    out
}

/// Which repositories besides the checked one the policy admits, found by
/// probing: any repository at all, owners it does not name, whole owners,
/// name prefixes, pull requests.
fn breadth(policy: &Policy, req: &Request) -> Vec<Warning> {
    let mut out = Vec::new();
    let host = &req.provider;
    if let Some(sub) = any_shape(policy, req, &format!("{PROBE_OWNER}/{PROBE_REPO}")) {
        out.push(Warning {
            risk: Risk::AnyRepository,
            message: format!("the policy admits tokens from ANY GitHub repository (a token with sub {sub:?} is allowed). Anyone can create a repository and a workflow, so anyone could assume this role"),
            fix: format!("require your repository: \"StringEquals\": {{\"{host}:sub\": \"repo:OWNER/REPO:ref:refs/heads/main\"}} (or \"StringLike\" with \"repo:OWNER/REPO:*\")"),
        });
        return out;
    }
    let (mut owners, mut repos) = named(policy, &req.provider);
    for probe in wildcard_owner_probes(policy, &req.provider) {
        if let Some(sub) = any_shape(policy, req, &probe) {
            out.push(Warning {
                    risk: Risk::AnyOwner,
                    message: format!("the policy admits repositories of owners it does not name (a token with sub {sub:?} is allowed): the owner part of a repository pattern has a wildcard, and anyone can register a user or organisation whose name matches it"),
                    fix: "write the owner literally: \"repo:OWNER/REPO:…\" (a wildcard only after \"repo:OWNER/REPO:\")".into(),
                });
            break;
        }
    }
    // The checked token's own owner and repository, which the policy
    // may pin by another key (`repository`, `repository_owner_id`) than `sub`.
    if let Some(own) = own_repository(req) {
        if let Some(owner) = own.split('/').next().filter(|o| !o.is_empty()) {
            if !owners.iter().any(|o| o == owner) {
                owners.push(owner.to_owned());
            }
        }
    }
    if let Some(own) = own_repository(req) {
        if !repos.contains(&own) {
            repos.push(own);
        }
    }
    let open_owners = owner_breadth(policy, req, &owners, &mut out);
    repository_breadth(policy, req, &repos, &open_owners, &mut out);
    if let Some(w) = probes_capped(policy, req) {
        out.push(w);
    }
    out
}

/// Owners the policy admits wholesale or by prefix; returns those reported,
/// whose repositories then add nothing.
fn owner_breadth(
    policy: &Policy,
    req: &Request,
    owners: &[String],
    out: &mut Vec<Warning>,
) -> Vec<String> {
    // Owners already reported as wide open: their repositories add nothing.
    let mut open_owners = Vec::new();
    for owner in owners {
        if let Some(sub) = any_shape(policy, req, &format!("{owner}-keyless-probe/{PROBE_REPO}")) {
            out.push(Warning {
                risk: Risk::OwnerPrefix,
                message: format!("the policy admits owners whose names only START with `{owner}` (sub {sub:?} is allowed); anyone can register such a user or organisation"),
                fix: format!("end the owner with a slash: \"repo:{owner}/REPO:…\""),
            });
            open_owners.push(owner.clone());
        } else if let Some(sub) = any_shape(policy, req, &format!("{owner}/{PROBE_REPO}")) {
            out.push(Warning {
                risk: Risk::WholeOwner,
                message: format!("the policy admits every repository of `{owner}` (sub {sub:?} is allowed): whoever can create or push to any repository there, now or later, can assume this role"),
                fix: format!("name the repository: \"repo:{owner}/REPO:…\", or pin `repository_id`"),
            });
            open_owners.push(owner.clone());
        }
    }
    open_owners
}

fn repository_breadth(
    policy: &Policy,
    req: &Request,
    repos: &[String],
    open_owners: &[String],
    out: &mut Vec<Warning>,
) {
    for repo in repos {
        if open_owners
            .iter()
            .any(|o| repo.split('/').next() == Some(o.as_str()))
        {
            continue;
        }
        if let Some(sub) = any_shape(policy, req, &format!("{repo}-keyless-probe")) {
            out.push(Warning {
                risk: Risk::RepoPrefix,
                message: format!("the policy admits repositories whose names only START with `{repo}` (sub {sub:?} is allowed); anyone who can create a repository in that account can get such a name"),
                fix: format!("end the repository with a colon: \"repo:{repo}:…\""),
            });
        }
        if let Some(sub) = admits(policy, req, repo, &Shape("pull_request".into())) {
            out.push(Warning {
                risk: Risk::PullRequests,
                message: format!("the policy admits pull-request runs of `{repo}` (sub {sub:?}): code in an unreviewed pull request can assume this role (from forks too, if the repository sends tokens to fork pull requests)"),
                fix: format!("match a protected branch (\"repo:{repo}:ref:refs/heads/main\") or an environment with required reviewers (\"repo:{repo}:environment:NAME\") instead of \"repo:{repo}:*\" or \":pull_request\""),
            });
        }
    }
}

/// Says when the policy names more `sub` values than lint probes around.
fn probes_capped(policy: &Policy, req: &Request) -> Option<Warning> {
    let sub_key = format!("{}:sub", req.provider.to_lowercase());
    let named = policy
        .statements
        .iter()
        .flat_map(|s| &s.conditions)
        .filter(|c| c.key.to_lowercase() == sub_key)
        .map(|c| c.values.len())
        .sum::<usize>();
    (named > MAX_NAMED).then(|| Warning {
        risk: Risk::ProbesCapped,
        message: format!("the policy has {named} `{sub_key}` values; lint probed around the first {MAX_NAMED} owners and repositories and {MAX_SHAPES} subject shapes only, so it may not report everything the others admit"),
        fix: "split the policy per repository, or check it once per group of values".into(),
    })
}

fn reusable_workflow_note(policy: &Policy, req: &Request, out: &mut [Warning]) {
    let host = &req.provider;
    // Breadth found through a pinned reusable workflow: say that it counts
    // callers of that workflow only.
    let jwr_key = format!("{}:job_workflow_ref", host.to_lowercase());
    let pins_jwr = policy
        .statements
        .iter()
        .flat_map(|s| &s.conditions)
        .any(|c| c.key.to_lowercase() == jwr_key && !c.operator.is_negated());
    if let (true, Some(jwr)) = (pins_jwr, req.claim_str("job_workflow_ref")) {
        for w in out.iter_mut() {
            w.message.push_str(&format!(" — counting runs of the reusable workflow `{jwr}` only: every repository that calls it carries that job_workflow_ref, and a workflow in a public repository can be called from any repository"));
        }
    }
}

/// Conditions on keys this token's provider never has: they always hold or never do.
fn keys_never_present(policy: &Policy, req: &Request) -> Vec<Warning> {
    let mut out = Vec::new();
    let host = &req.provider;
    for s in &policy.statements {
        for c in &s.conditions {
            let r = eval::condition(c, policy.version, req);
            if c.operator.set.is_none() && r.request.as_ref().is_some_and(|v| v.len() > 1) {
                out.push(Warning {
                    risk: Risk::MultivaluedWithoutSet,
                    message: format!("{}: this token has several values for \"{}\", and IAM requires ForAnyValue: or ForAllValues: for a multivalued key (IAM UG, Single-valued vs. multivalued context keys); check-trust evaluated {} as 'some value matches' (negated: 'no value matches')", s.label(), c.key, c.operator.name),
                    fix: format!("write \"ForAnyValue:{}\" (one value must match) or \"ForAllValues:{}\" (every value must match)", c.operator.name, c.operator.name),
                });
            }
            let never = match &r.source {
                KeySource::Unexposed(claim) => {
                    format!("IAM does not expose the `{claim}` claim as a condition key")
                }
                KeySource::OtherProvider(ns) => {
                    format!("`{ns}` is not this token's provider `{host}`")
                }
                KeySource::Unknown if !c.key.contains(':') => {
                    "a key without a PROVIDER: prefix is never present".into()
                }
                _ => continue,
            };
            // A condition that always holds narrows an Allow by nothing, but
            // makes a Deny refuse every token its other conditions let by.
            let (effect, consequence) = match (r.holds, s.effect) {
                (true, Effect::Allow) => ("always holds", "it restricts nothing"),
                (true, Effect::Deny) => (
                    "always holds",
                    "this Deny refuses every token its other conditions match (with no other condition: every token)",
                ),
                (false, _) => ("never holds", "the statement never applies"),
            };
            out.push(Warning {
                risk: Risk::KeyNeverPresent,
                message: format!("{}: {} \"{}\" {effect} because {never}, so {consequence}", s.label(), c.operator.name, c.key),
                fix: format!("express it through `{host}:sub` or a key IAM exposes (run check-trust on a token to see which)"),
            });
        }
    }
    out
}

/// Allow statements without a positive audience condition, and `sub`/`aud`
/// conditions that also hold when the key is absent.
fn audience_and_absent_keys(policy: &Policy, req: &Request) -> Vec<Warning> {
    let mut out = Vec::new();
    let host = &req.provider;
    let aud_key = format!("{}:aud", host.to_lowercase());
    for s in &policy.statements {
        if s.effect != Effect::Allow || !eval::statement_covers_action(s) {
            continue;
        }
        let principal = eval::principal_matches(&s.principal, req);
        if !principal.admits() {
            continue;
        }
        let positive_on = |key: &str| {
            s.conditions.iter().any(|c| {
                c.key.to_lowercase() == key
                    && !c.operator.is_negated()
                    && matches!(c.operator.base, Base::String { .. })
                    && !c.operator.if_exists
                    && c.operator.set != Some(SetQualifier::ForAllValues)
            })
        };
        if !positive_on(&aud_key) {
            out.push(Warning {
                risk: Risk::NoAudience,
                message: format!("{} has no positive condition on `{host}:aud`", s.label()),
                fix: format!("add \"StringEquals\": {{\"{host}:aud\": \"{}\"}} so tokens minted for other audiences are refused", claims::DEFAULT_AUDIENCE),
            });
        }
        for c in &s.conditions {
            let k = c.key.to_lowercase();
            let risky = (k == aud_key || k == format!("{}:sub", host.to_lowercase()))
                && !c.operator.is_negated()
                && (c.operator.if_exists || c.operator.set == Some(SetQualifier::ForAllValues));
            if risky {
                out.push(Warning {
                    risk: Risk::AbsentKeyPasses,
                    message: format!(
                        "{}: {} \"{}\" also holds when the key is absent",
                        s.label(),
                        c.operator.name,
                        c.key
                    ),
                    fix: "use the plain operator (StringEquals / StringLike) for `sub` and `aud`"
                        .into(),
                });
            }
        }
    }
    out
}

/// Condition keys in one statement that differ only in upper/lower case: IAM
/// compares key names without regard to case, so they are one key and each
/// condition applies to the same value (IAM JSON policy elements: Condition).
fn keys_differing_in_case(policy: &Policy) -> Vec<Warning> {
    let mut out = Vec::new();
    for s in &policy.statements {
        let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
        for c in &s.conditions {
            match seen.get(&c.key.to_lowercase()) {
                Some(first) if *first != c.key => out.push(Warning {
                    risk: Risk::KeysDifferInCase,
                    message: format!("{}: \"{first}\" and \"{}\" differ only in upper/lower case, and IAM reads key names without regard to case: they are one key, and both conditions must hold for its one value", s.label(), c.key),
                    fix: format!("write the key one way (\"{first}\") and put the values that belong together under one operator"),
                }),
                Some(_) => {}
                None => {
                    seen.insert(c.key.to_lowercase(), &c.key);
                }
            }
        }
    }
    out
}

/// `sub` values that name this token's repository in the other of GitHub's two
/// forms (name-based, ID-based): they never match this repository's tokens,
/// whatever else the statement says (the form is read from the token).
fn subject_forms(policy: &Policy, req: &Request) -> Vec<Warning> {
    let Some(token) = super::subject::of_request(req) else {
        return Vec::new();
    };
    let sub_key = format!("{}:sub", req.provider.to_lowercase());
    let mut out = Vec::new();
    for s in &policy.statements {
        for c in s
            .conditions
            .iter()
            .filter(|c| c.key.to_lowercase() == sub_key)
        {
            for v in &c.values {
                if let Some((converted, why)) = super::subject::mismatch(v, &token) {
                    out.push(Warning {
                        risk: Risk::SubjectForm,
                        message: format!("{}: {} {v:?}: {why}", s.label(), c.operator.name),
                        fix: format!("for tokens like this one write {converted:?} (keep the other form too while both kinds of token occur)"),
                    });
                }
            }
        }
    }
    out
}
