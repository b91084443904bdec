//! The IAM rules check-trust implements, one table row per rule, each citing
//! the IAM User Guide page (and section) that states it; then the lint cases
//! and the property tests tying `setup`'s output to this evaluator.

use super::claims::{self, Request, Source};
use super::eval::{self, Decision};
use super::lint::{self, Risk};
use super::policy;
use serde_json::{json, Value};

pub(super) const EVAL: &str = "IAM UG, Policy evaluation logic: an explicit Deny overrides any Allow; without an Allow the request is implicitly denied";
pub(super) const PRINCIPAL: &str = "IAM UG, IAM JSON policy elements: Principal (Federated = the OIDC provider ARN; \"*\" and {\"AWS\":\"*\"} = all principals)";
pub(super) const ACTION: &str = "IAM UG, IAM JSON policy elements: Action (wildcards * and ?; action names are case-insensitive)";
pub(super) const NOTACTION: &str =
    "IAM UG, IAM JSON policy elements: NotAction (matches every action except those listed)";
pub(super) const COND: &str = "IAM UG, IAM JSON policy elements: Condition, 'Evaluation logic for conditions' (values of one key OR; keys and operators AND)";
pub(super) const KEYCASE: &str = "IAM UG, IAM JSON policy elements: Condition (condition key names are not case-sensitive; values are, per operator)";
pub(super) const STRING_OPS: &str =
    "IAM UG, IAM JSON policy elements: Condition operators, String condition operators";
pub(super) const MISSING: &str = "IAM UG, Condition element: a key missing from the request context makes the condition false, or true for a negated operator (StringNotEquals, StringNotLike)";
pub(super) const IFEXISTS: &str =
    "IAM UG, Condition operators: ...IfExists condition operators (true when the key is absent)";
pub(super) const NULL: &str =
    "IAM UG, Condition operators: Condition operator to check existence of condition keys (Null)";
pub(super) const SETS: &str = "IAM UG, Set operators for multivalued context keys (ForAnyValue: any request value; ForAllValues: every request value, true when the key is absent)";
pub(super) const OIDC_KEYS: &str = "IAM UG, IAM and AWS STS condition context keys: Available keys for AWS OIDC federation (aud, sub, amr, email, oaud; for GitHub also actor, actor_id, job_workflow_ref, repository, repository_id, repository_owner_id, workflow, ref, environment, enterprise_id)";
pub(super) const VARS: &str = "IAM UG, IAM policy elements: Variables and tags (Version 2012-10-17 only; ${*} ${?} ${$}; defaults)";
pub(super) const GH_SUB: &str =
    "GitHub Docs, OpenID Connect: example subject claims (environment, pull_request, ref)";

pub(super) const GH: &str =
    "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
pub(super) const SUB: &str = "token.actions.githubusercontent.com:sub";
pub(super) const AUD: &str = "token.actions.githubusercontent.com:aud";

/// One statement for the GitHub provider with these conditions.
pub(super) fn allow(condition: Value) -> Value {
    json!({"Effect": "Allow", "Principal": {"Federated": GH}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition})
}

pub(super) fn doc(statements: Vec<Value>) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

pub(super) fn job(repo: &str, git_ref: Option<&str>, env: Option<&str>, event: &str) -> Value {
    Value::Object(
        claims::synthesise(&claims::GitHubJob {
            repo: repo.into(),
            git_ref: git_ref.map(Into::into),
            environment: env.map(Into::into),
            event: event.into(),
            audience: claims::DEFAULT_AUDIENCE.into(),
        })
        .unwrap(),
    )
}

pub(super) fn main_push() -> Value {
    job("octo-org/octo-repo", None, None, "push")
}

pub(super) fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

pub(super) fn request(claims: &Value) -> Request {
    Request::new(claims.as_object().unwrap().clone(), Source::ClaimsFile)
}

pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) rule: &'static str,
    pub(super) policy: String,
    pub(super) claims: Value,
    pub(super) context: Vec<(&'static str, &'static str)>,
    pub(super) expect: Decision,
    /// Text the verdict must contain (the reason or the fix).
    pub(super) says: &'static str,
}

pub(super) fn case(
    name: &'static str,
    rule: &'static str,
    policy: String,
    claims: Value,
    expect: Decision,
) -> Case {
    Case {
        name,
        rule,
        policy,
        claims,
        context: vec![],
        expect,
        says: "",
    }
}

use Decision::{Allowed, ExplicitDeny, ImplicitDeny};

fn cases() -> Vec<Case> {
    let exact = |sub: &str| allow(json!({"StringEquals": {AUD: "sts.amazonaws.com", SUB: sub}}));
    let main_sub = "repo:octo-org/octo-repo:ref:refs/heads/main";
    let pr = job("octo-org/octo-repo", None, None, "pull_request");
    let prod = job("octo-org/octo-repo", None, Some("prod"), "push");
    let gitlab = json!({"iss": "https://gitlab.com", "aud": "sts.amazonaws.com", "sub": "project_path:g/p:ref_type:branch:ref:main"});
    let ent =
        |keyprefix: &str| allow(json!({"StringEquals": {format!("{keyprefix}:sub"): main_sub}}));
    let mut ent_stmt = ent("token.actions.githubusercontent.com/my-ent");
    ent_stmt["Principal"]["Federated"] =
        json!("arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com/my-ent");
    let mut ent_stmt_wrong_keys = ent("token.actions.githubusercontent.com");
    ent_stmt_wrong_keys["Principal"] = ent_stmt["Principal"].clone();
    let ent_claims = with(
        main_push(),
        "iss",
        json!("https://token.actions.githubusercontent.com/my-ent"),
    );
    let mut v = vec![
        case("exact sub and aud", COND, doc(vec![exact(main_sub)]), main_push(), Allowed),
        Case { says: "add \"repo:octo-org/octo-repo:ref:refs/heads/dev\"", ..case("other branch", STRING_OPS, doc(vec![exact(main_sub)]), job("octo-org/octo-repo", Some("dev"), None, "push"), ImplicitDeny) },
        Case { says: "names the environment, not the branch", ..case("environment job against a branch rule", GH_SUB, doc(vec![exact(main_sub)]), prod.clone(), ImplicitDeny) },
        case("StringLike repo:O/R:* admits an environment job", STRING_OPS, doc(vec![allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:*"}}))]), prod.clone(), Allowed),
        Case { says: "into a \"StringLike\" block", ..case("wildcard under StringEquals is literal", STRING_OPS, doc(vec![exact("repo:octo-org/octo-repo:*")]), main_push(), ImplicitDeny) },
        case("? matches one character", STRING_OPS, doc(vec![allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/release-v?"}}))]), job("octo-org/octo-repo", Some("release-v1"), None, "push"), Allowed),
        case("? does not match two characters", STRING_OPS, doc(vec![allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/release-v?"}}))]), job("octo-org/octo-repo", Some("release-v10"), None, "push"), ImplicitDeny),
        case("several values of one key are OR", COND, doc(vec![allow(json!({"StringEquals": {SUB: ["repo:octo-org/octo-repo:ref:refs/heads/dev", main_sub]}}))]), main_push(), Allowed),
        Case { says: "\"sts.amazonaws.com\" is not among", ..case("several keys are AND: wrong aud fails", COND, doc(vec![allow(json!({"StringEquals": {SUB: main_sub, AUD: "other"}}))]), main_push(), ImplicitDeny) },
        case("several operators are AND", COND, doc(vec![allow(json!({"StringEquals": {AUD: "sts.amazonaws.com"}, "StringLike": {SUB: "repo:octo-org/other:*"}}))]), main_push(), ImplicitDeny),
        case("key names are case-insensitive", KEYCASE, doc(vec![allow(json!({"StringEquals": {"TOKEN.ACTIONS.GITHUBUSERCONTENT.COM:SUB": main_sub}}))]), main_push(), Allowed),
        Case { says: "compared case-sensitively", ..case("values are case-sensitive", KEYCASE, doc(vec![exact("repo:Octo-Org/octo-repo:ref:refs/heads/main")]), main_push(), ImplicitDeny) },
        case("StringEqualsIgnoreCase ignores case", STRING_OPS, doc(vec![allow(json!({"StringEqualsIgnoreCase": {SUB: "REPO:OCTO-ORG/OCTO-REPO:REF:REFS/HEADS/MAIN"}}))]), main_push(), Allowed),
        case("StringNotEquals admits other values", STRING_OPS, doc(vec![allow(json!({"StringEquals": {AUD: "sts.amazonaws.com"}, "StringNotEquals": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/dev"}}))]), main_push(), Allowed),
        Case { says: "excludes", ..case("StringNotEquals excludes its values", STRING_OPS, doc(vec![allow(json!({"StringNotEquals": {SUB: [main_sub]}}))]), main_push(), ImplicitDeny) },
        case("StringNotEqualsIgnoreCase excludes any case", STRING_OPS, doc(vec![allow(json!({"StringNotEqualsIgnoreCase": {SUB: "REPO:OCTO-ORG/OCTO-REPO:REF:REFS/HEADS/MAIN"}}))]), main_push(), ImplicitDeny),
        case("StringNotLike admits a push", STRING_OPS, doc(vec![allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:*"}, "StringNotLike": {SUB: "*:pull_request"}}))]), main_push(), Allowed),
        case("StringNotLike refuses a pull request", STRING_OPS, doc(vec![allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:*"}, "StringNotLike": {SUB: "*:pull_request"}}))]), pr.clone(), ImplicitDeny),
        Case { says: "has no `environment` claim", ..case("missing key: positive operator is false", MISSING, doc(vec![allow(json!({"StringEquals": {"token.actions.githubusercontent.com:environment": "prod"}}))]), main_push(), ImplicitDeny) },
        case("missing key: negated operator is true", MISSING, doc(vec![allow(json!({"StringNotEquals": {"token.actions.githubusercontent.com:environment": "dev"}}))]), main_push(), Allowed),
        case("IfExists: absent key passes", IFEXISTS, doc(vec![allow(json!({"StringEqualsIfExists": {"token.actions.githubusercontent.com:environment": "prod"}}))]), main_push(), Allowed),
        case("IfExists: present key must match", IFEXISTS, doc(vec![allow(json!({"StringEqualsIfExists": {"token.actions.githubusercontent.com:environment": "staging"}}))]), prod.clone(), ImplicitDeny),
        case("Null true: key absent", NULL, doc(vec![allow(json!({"Null": {"token.actions.githubusercontent.com:environment": "true"}}))]), main_push(), Allowed),
        case("Null false: key must be present", NULL, doc(vec![allow(json!({"Null": {"token.actions.githubusercontent.com:environment": "false"}}))]), main_push(), ImplicitDeny),
        case("ForAnyValue: one request value matches", SETS, doc(vec![allow(json!({"ForAnyValue:StringEquals": {AUD: "sts.amazonaws.com"}}))]), with(main_push(), "aud", json!(["other", "sts.amazonaws.com"])), Allowed),
        case("ForAllValues: every request value must match", SETS, doc(vec![allow(json!({"ForAllValues:StringEquals": {AUD: "sts.amazonaws.com"}}))]), with(main_push(), "aud", json!(["other", "sts.amazonaws.com"])), ImplicitDeny),
        case("ForAllValues: absent key is true", SETS, doc(vec![allow(json!({"ForAllValues:StringEquals": {"token.actions.githubusercontent.com:amr": "x"}}))]), main_push(), Allowed),
        case("ForAnyValue: absent key is false", SETS, doc(vec![allow(json!({"ForAnyValue:StringEquals": {"token.actions.githubusercontent.com:amr": "x"}}))]), main_push(), ImplicitDeny),
        Case { says: "does not expose the `event_name` claim", ..case("event_name is not a condition key", OIDC_KEYS, doc(vec![allow(json!({"StringEquals": {"token.actions.githubusercontent.com:event_name": "push"}}))]), main_push(), ImplicitDeny) },
        case("repository_owner is not a condition key", OIDC_KEYS, doc(vec![allow(json!({"StringEquals": {"token.actions.githubusercontent.com:repository_owner": "octo-org"}}))]), main_push(), ImplicitDeny),
        case("repository is a condition key for GitHub", OIDC_KEYS, doc(vec![allow(json!({"StringEquals": {"token.actions.githubusercontent.com:repository": "octo-org/octo-repo"}}))]), main_push(), Allowed),
        case("job_workflow_ref is a condition key for GitHub", OIDC_KEYS, doc(vec![allow(json!({"StringLike": {"token.actions.githubusercontent.com:job_workflow_ref": "octo-org/workflows/.github/workflows/deploy.yml@*"}}))]), with(main_push(), "job_workflow_ref", json!("octo-org/workflows/.github/workflows/deploy.yml@refs/heads/main")), Allowed),
        case("numbers compare as strings (repository_id)", OIDC_KEYS, doc(vec![allow(json!({"StringEquals": {"token.actions.githubusercontent.com:repository_id": 123456}}))]), with(main_push(), "repository_id", json!("123456")), Allowed),
        case("GitHub-only keys are not exposed for other providers", OIDC_KEYS, doc(vec![json!({"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/gitlab.com"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {"gitlab.com:repository": "g/p"}}})]), with(gitlab.clone(), "repository", json!("g/p")), ImplicitDeny),
        Case { says: "rename the key to \"token.actions.githubusercontent.com:sub\"", ..case("another provider's key is absent", OIDC_KEYS, doc(vec![allow(json!({"StringEquals": {"accounts.google.com:sub": main_sub}}))]), main_push(), ImplicitDeny) },
        case("custom enterprise issuer: keys carry its path", OIDC_KEYS, doc(vec![ent_stmt]), ent_claims.clone(), Allowed),
        case("custom enterprise issuer: host-only keys never match", OIDC_KEYS, doc(vec![ent_stmt_wrong_keys]), ent_claims, ImplicitDeny),
        case("explicit Deny wins over Allow", EVAL, doc(vec![allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:*"}})), json!({"Effect": "Deny", "Principal": {"Federated": GH}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {SUB: "*:pull_request"}}})]), pr.clone(), ExplicitDeny),
        case("a Deny whose condition fails does not apply", EVAL, doc(vec![allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:*"}})), json!({"Effect": "Deny", "Principal": {"Federated": GH}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {SUB: "*:pull_request"}}})]), main_push(), Allowed),
        case("an unconditional Deny denies", EVAL, doc(vec![exact(main_sub), json!({"Effect": "Deny", "Principal": "*", "Action": "sts:*"})]), main_push(), ExplicitDeny),
        Case { says: "no Allow statement", ..case("no Allow at all is an implicit deny", EVAL, doc(vec![json!({"Effect": "Deny", "Principal": {"Federated": GH}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {SUB: "x"}}})]), main_push(), ImplicitDeny) },
        case("a later statement can allow", EVAL, doc(vec![exact("repo:octo-org/octo-repo:ref:refs/heads/dev"), exact(main_sub)]), main_push(), Allowed),
        case("Federated as a list", PRINCIPAL, doc(vec![json!({"Effect": "Allow", "Principal": {"Federated": ["arn:aws:iam::123456789012:oidc-provider/gitlab.com", GH]}, "Action": "sts:AssumeRoleWithWebIdentity"})]), main_push(), Allowed),
        Case { says: "Principal does not name this token's provider", ..case("another provider's principal", PRINCIPAL, doc(vec![json!({"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/gitlab.com"}, "Action": "sts:AssumeRoleWithWebIdentity"})]), main_push(), ImplicitDeny) },
        case("Principal \"*\" is everyone", PRINCIPAL, doc(vec![json!({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {SUB: main_sub}}})]), main_push(), Allowed),
        Case { says: "oidc-provider/token.actions.githubusercontent.com", ..case("a bare provider host is not its ARN", PRINCIPAL, doc(vec![json!({"Effect": "Allow", "Principal": {"Federated": "token.actions.githubusercontent.com"}, "Action": "sts:AssumeRoleWithWebIdentity"})]), main_push(), ImplicitDeny) },
        case("{\"AWS\": \"*\"} is everyone", PRINCIPAL, doc(vec![json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRoleWithWebIdentity"})]), main_push(), Allowed),
        case("an AWS account principal is not the OIDC provider", PRINCIPAL, doc(vec![json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRoleWithWebIdentity"})]), main_push(), ImplicitDeny),
        case("a Deny for another provider does not apply", PRINCIPAL, doc(vec![exact(main_sub), json!({"Effect": "Deny", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/gitlab.com"}, "Action": "sts:*"})]), main_push(), Allowed),
        case("Principal \"*\" reaches other providers' tokens too", PRINCIPAL, doc(vec![json!({"Effect": "Allow", "Principal": "*", "Action": "sts:*"})]), gitlab.clone(), Allowed),
        case("Action sts:*", ACTION, doc(vec![json!({"Effect": "Allow", "Principal": {"Federated": GH}, "Action": "sts:*"})]), main_push(), Allowed),
        case("Action names ignore case", ACTION, doc(vec![json!({"Effect": "Allow", "Principal": {"Federated": GH}, "Action": "STS:ASSUMEROLEWITHWEBIDENTITY"})]), main_push(), Allowed),
        case("Action with a trailing wildcard", ACTION, doc(vec![json!({"Effect": "Allow", "Principal": {"Federated": GH}, "Action": ["sts:TagSession", "sts:AssumeRoleWith*"]})]), main_push(), Allowed),
        Case { says: "does not cover sts:AssumeRoleWithWebIdentity", ..case("sts:AssumeRole is another action", ACTION, doc(vec![json!({"Effect": "Allow", "Principal": {"Federated": GH}, "Action": "sts:AssumeRole"}), exact("x")]), main_push(), ImplicitDeny) },
        case("NotAction not listing it covers it", NOTACTION, doc(vec![json!({"Effect": "Allow", "Principal": {"Federated": GH}, "NotAction": "sts:AssumeRole"})]), main_push(), Allowed),
        case("NotAction listing it excludes it", NOTACTION, doc(vec![json!({"Effect": "Allow", "Principal": {"Federated": GH}, "NotAction": "sts:AssumeRoleWith*"})]), main_push(), ImplicitDeny),
        case("policy variable is substituted", VARS, doc(vec![allow(json!({"StringLike": {SUB: "repo:${token.actions.githubusercontent.com:repository}:*"}}))]), main_push(), Allowed),
        case("policy variables are literal before 2012-10-17", VARS, json!({"Version": "2008-10-17", "Statement": [allow(json!({"StringLike": {SUB: "repo:${token.actions.githubusercontent.com:repository}:*"}}))]}).to_string(), main_push(), ImplicitDeny),
        case("policy variable default for an absent key", VARS, doc(vec![allow(json!({"StringEquals": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/${token.actions.githubusercontent.com:environment, 'main'}"}}))]), main_push(), Allowed),
        case("${*} is a literal asterisk", VARS, doc(vec![allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/${*}"}}))]), main_push(), ImplicitDeny),
        Case { says: "--context aws:RequestedRegion=VALUE", ..case("a request key without --context is absent", MISSING, doc(vec![allow(json!({"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))]), main_push(), ImplicitDeny) },
        Case { context: vec![("aws:RequestedRegion", "eu-west-1")], ..case("a request key given with --context", STRING_OPS, doc(vec![allow(json!({"StringEquals": {"aws:requestedregion": "eu-west-1"}}))]), main_push(), Allowed) },
        Case { says: "rename the key to \"token.actions.githubusercontent.com:sub\"", ..case("a key without the provider prefix is never present", OIDC_KEYS, doc(vec![allow(json!({"StringEquals": {"sub": main_sub}}))]), main_push(), ImplicitDeny) },
        Case { says: "assuming GitHub's issuer", ..case("claims without iss are GitHub's", OIDC_KEYS, doc(vec![exact(main_sub)]), json!({"sub": main_sub, "aud": "sts.amazonaws.com"}), Allowed) },
        Case { says: "for this token write \"token.actions.githubusercontent.com:sub\": \"repo:octo-org@1/octo-repo@2:ref:refs/heads/main\"", ..case("ID-based sub against a name-based policy", GH_SUB, doc(vec![exact(main_sub)]), with(with(with(main_push(), "sub", json!("repo:octo-org@1/octo-repo@2:ref:refs/heads/main")), "repository_owner_id", json!("1")), "repository_id", json!("2")), ImplicitDeny) },
        Case { says: "for this token write \"token.actions.githubusercontent.com:sub\": \"repo:octo-org/octo-repo:ref:refs/heads/main\"", ..case("name-based sub against an ID-based policy", GH_SUB, doc(vec![exact("repo:octo-org@1/octo-repo@2:ref:refs/heads/main")]), with(with(main_push(), "repository_owner_id", json!("1")), "repository_id", json!("2")), ImplicitDeny) },
    ];
    v.shrink_to_fit();
    v
}

#[test]
fn iam_rules_table() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    run_table(cases);
}

/// Evaluates every case and checks its decision and the text it must show.
pub(super) fn run_table(cases: Vec<Case>) {
    for c in cases {
        let policy = policy::parse(&c.policy).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let mut req = request(&c.claims);
        req.extra = c
            .context
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let verdict = eval::evaluate(&policy, &req);
        let text = super::verdict::render(&verdict, &req);
        assert_eq!(
            verdict.decision, c.expect,
            "{} [{}]\n{text}",
            c.name, c.rule
        );
        assert!(
            text.contains(c.says),
            "{} [{}]: expected {:?} in\n{text}",
            c.name,
            c.rule,
            c.says
        );
    }
}

pub(super) fn risks(policy: &str, claims: &Value) -> Vec<Risk> {
    let p = policy::parse(policy).unwrap();
    lint::lint(&p, &request(claims))
        .into_iter()
        .map(|w| w.risk)
        .collect()
}

#[test]
fn lint_cases() {
    let aud = json!({AUD: "sts.amazonaws.com"});
    let like = |sub: &str| {
        doc(vec![allow(
            json!({"StringEquals": aud, "StringLike": {SUB: sub}}),
        )])
    };
    let m = main_push();
    assert_eq!(risks(&like("*"), &m), [Risk::AnyRepository]);
    assert_eq!(risks(&like("repo:*"), &m), [Risk::AnyRepository]);
    assert_eq!(
        risks(&doc(vec![allow(json!({"StringEquals": aud}))]), &m),
        [Risk::AnyRepository]
    );
    assert_eq!(risks(&like("repo:octo-org/*"), &m), [Risk::WholeOwner]);
    // Probes take the shapes the policy spells: any repository's release branch.
    assert_eq!(
        risks(&like("repo:*:ref:refs/heads/release"), &m),
        [Risk::AnyRepository]
    );
    assert_eq!(
        risks(&like("repo:octo-org/*:environment:prod*"), &m),
        [Risk::WholeOwner]
    );
    assert_eq!(risks(&like("repo:octo-org*"), &m), [Risk::OwnerPrefix]);
    assert_eq!(
        risks(&like("repo:octo-org/octo-repo*"), &m),
        [Risk::RepoPrefix, Risk::PullRequests]
    );
    assert_eq!(
        risks(&like("repo:octo-org/octo-repo:*"), &m),
        [Risk::PullRequests]
    );
    assert_eq!(
        risks(
            &doc(vec![allow(
                json!({"StringEquals": {AUD: "sts.amazonaws.com", SUB: ["repo:octo-org/octo-repo:pull_request", "repo:octo-org/octo-repo:ref:refs/heads/main"]}})
            )]),
            &m
        ),
        [Risk::PullRequests]
    );
    assert!(risks(&doc(vec![allow(json!({"StringEquals": {AUD: "sts.amazonaws.com", SUB: "repo:octo-org/octo-repo:ref:refs/heads/main"}}))]), &m).is_empty());
    assert_eq!(
        risks(
            &doc(vec![allow(
                json!({"StringEquals": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/main"}})
            )]),
            &m
        ),
        [Risk::NoAudience]
    );
    assert_eq!(
        risks(
            &doc(vec![allow(
                json!({"StringEquals": aud, "ForAllValues:StringEquals": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/main"}})
            )]),
            &m
        ),
        [Risk::AbsentKeyPasses]
    );
    // A condition on a key GitHub tokens never carry restricts nothing (negated)
    // or kills its statement (positive).
    let ineffective = doc(vec![allow(
        json!({"StringEquals": {AUD: "sts.amazonaws.com", SUB: "repo:octo-org/octo-repo:ref:refs/heads/main"}, "StringNotEquals": {"token.actions.githubusercontent.com:event_name": "pull_request"}}),
    )]);
    assert_eq!(risks(&ineffective, &m), [Risk::KeyNeverPresent]);
    let p = policy::parse(&ineffective).unwrap();
    let w = &lint::lint(&p, &request(&m))[0];
    assert!(
        w.message.contains("always holds") && w.message.contains("restricts nothing"),
        "{}",
        w.message
    );
    let dead_deny = doc(vec![
        allow(
            json!({"StringEquals": {AUD: "sts.amazonaws.com", SUB: "repo:octo-org/octo-repo:ref:refs/heads/main"}}),
        ),
        json!({"Effect": "Deny", "Principal": "*", "Action": "sts:*", "Condition": {"StringEquals": {"token.actions.githubusercontent.com:event_name": "pull_request"}}}),
    ]);
    let p = policy::parse(&dead_deny).unwrap();
    let w = lint::lint(&p, &request(&m));
    assert_eq!(w.len(), 1);
    assert!(
        w[0].message.contains("statement 2") && w[0].message.contains("never applies"),
        "{}",
        w[0].message
    );
    // A multivalued aud under a plain operator: IAM wants a set operator.
    let multi = with(m.clone(), "aud", json!(["sts.amazonaws.com", "other"]));
    assert_eq!(
        risks(
            &doc(vec![allow(
                json!({"StringEquals": {AUD: "sts.amazonaws.com", SUB: "repo:octo-org/octo-repo:ref:refs/heads/main"}})
            )]),
            &multi
        ),
        [Risk::MultivaluedWithoutSet]
    );
    // Pull requests are found for the token's repository when `sub` is open.
    let by_repository = doc(vec![allow(
        json!({"StringEquals": {AUD: "sts.amazonaws.com", "token.actions.githubusercontent.com:repository": "octo-org/octo-repo"}}),
    )]);
    assert_eq!(risks(&by_repository, &m), [Risk::PullRequests]);
    // Breadth is what the whole policy allows: a Deny on pull requests removes the warning,
    // and pinning repository_id makes a `*` sub safe.
    let deny_pr = json!({"Effect": "Deny", "Principal": {"Federated": GH}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {SUB: "*:pull_request"}}});
    let allow_any_ref =
        allow(json!({"StringEquals": aud, "StringLike": {SUB: "repo:octo-org/octo-repo:*"}}));
    assert!(risks(&doc(vec![allow_any_ref, deny_pr]), &m).is_empty());
    let pinned = doc(vec![allow(
        json!({"StringEquals": {AUD: "sts.amazonaws.com", "token.actions.githubusercontent.com:repository_id": "42"}, "StringLike": {SUB: "*"}}),
    )]);
    // ...from other repositories; its own pull requests still get in (the
    // probe of the same repository carries the same repository_id).
    assert_eq!(
        risks(&pinned, &with(m.clone(), "repository_id", json!("42"))),
        [Risk::PullRequests]
    );
}

/// The trust policy in `setup`'s output (the JSON block after its heading).
fn setup_policy(args: &[&str]) -> policy::Policy {
    let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
    let setup = crate::cli::setup::parse(&args)
        .unwrap()
        .expect("a setup, not help");
    let out = crate::setup::render(&setup);
    let start = out.find('{').unwrap();
    let end = out.find("\n}\n").unwrap() + 2;
    policy::parse(&out[start..end]).unwrap()
}

fn allowed(p: &policy::Policy, claims: &Value) -> bool {
    eval::evaluate(p, &request(claims)).decision == Allowed
}

use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,15}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `setup --any` allows every job of its repository and no job of a
    /// repository or owner that merely extends its names.
    #[test]
    fn setup_any_admits_exactly_its_repository(owner in name(), repo in name(), branch in name(), env in name()) {
        let r = format!("{owner}/{repo}");
        let p = setup_policy(&["--repo", &r, "--any"]);
        prop_assert!(allowed(&p, &job(&r, Some(&branch), None, "push")));
        prop_assert!(allowed(&p, &job(&r, None, Some(&env), "push")));
        prop_assert!(allowed(&p, &job(&r, None, None, "pull_request")));
        let (longer_repo, longer_owner) = (format!("{owner}/{repo}x"), format!("{owner}x/{repo}"));
        prop_assert!(!allowed(&p, &job(&longer_repo, Some(&branch), None, "push")));
        prop_assert!(!allowed(&p, &job(&longer_owner, Some(&branch), None, "push")));
        prop_assert!(!allowed(&p, &with(job(&r, Some(&branch), None, "push"), "aud", json!("other"))));
    }

    /// `setup --pin-ids`: the repository's tokens in either `sub` form are
    /// admitted, and no other repository's (another id, or none), whatever
    /// its name (issue 23.3).
    #[test]
    fn setup_pin_ids_admits_its_repository_in_both_forms(owner in name(), repo in name(), branch in name()) {
        let r = format!("{owner}/{repo}");
        let p = setup_policy(&["--repo", &r, "--branch", &branch, "--pin-ids", "--repository-id", "42"]);
        let pinned = |claims: Value| with(with(claims, "repository_id", json!("42")), "repository_owner_id", json!("7"));
        let names = pinned(job(&r, Some(&branch), None, "push"));
        prop_assert!(allowed(&p, &names));
        let ids = with(names.clone(), "sub", json!(format!("repo:{owner}@7/{repo}@42:ref:refs/heads/{branch}")));
        prop_assert!(allowed(&p, &ids));
        prop_assert!(!allowed(&p, &with(ids.clone(), "repository_id", json!("43"))));
        let (stranger, other_branch) = (format!("{owner}x/{repo}"), format!("repo:{owner}@7/{repo}@42:ref:refs/heads/{branch}x"));
        prop_assert!(!allowed(&p, &job(&stranger, Some(&branch), None, "push")));
        prop_assert!(!allowed(&p, &with(ids, "sub", json!(other_branch))));
    }

    /// Every `setup` subject kind admits the job it was made for and refuses
    /// the neighbouring ones (another branch, repository, environment, event).
    #[test]
    fn setup_policies_admit_exactly_their_claims(owner in name(), repo in name(), branch in name(), env in name()) {
        let r = format!("{owner}/{repo}");
        let other_repo = format!("{owner}/{repo}x");
        let b = setup_policy(&["--repo", &r, "--branch", &branch]);
        prop_assert!(allowed(&b, &job(&r, Some(&branch), None, "push")));
        let (other_branch, other_env, tag) = (format!("{branch}x"), format!("{env}x"), format!("refs/tags/{branch}"));
        prop_assert!(!allowed(&b, &job(&r, Some(&other_branch), None, "push")));
        prop_assert!(!allowed(&b, &job(&other_repo, Some(&branch), None, "push")));
        prop_assert!(!allowed(&b, &job(&r, Some(&branch), Some(&env), "push")));
        prop_assert!(!allowed(&b, &job(&r, None, None, "pull_request")));
        let e = setup_policy(&["--repo", &r, "--environment", &env]);
        prop_assert!(allowed(&e, &job(&r, Some(&branch), Some(&env), "push")));
        prop_assert!(!allowed(&e, &job(&r, Some(&branch), Some(&other_env), "push")));
        prop_assert!(!allowed(&e, &job(&r, Some(&branch), None, "push")));
        let t = setup_policy(&["--repo", &r, "--tag", &branch]);
        prop_assert!(allowed(&t, &job(&r, Some(&tag), None, "push")));
        prop_assert!(!allowed(&t, &job(&r, Some(&branch), None, "push")));
        let pr = setup_policy(&["--repo", &r, "--pull-request"]);
        prop_assert!(allowed(&pr, &job(&r, None, None, "pull_request")));
        prop_assert!(!allowed(&pr, &job(&r, None, None, "push")));
        let d = setup_policy(&["--repo", &r]);
        prop_assert!(allowed(&d, &job(&r, None, None, "push")));
        prop_assert!(!allowed(&d, &job(&r, Some("dev"), None, "push")));
        prop_assert!(!allowed(&d, &with(job(&r, None, None, "push"), "aud", json!("other"))));
    }
}
