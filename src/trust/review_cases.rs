//! A second table, written by attacking the checker with cases its first
//! table did not have: other providers' principals and keys, Action and
//! Principal forms, operator corner cases, GitHub subject shapes, and the
//! inputs that must be refused (exit 2). Each case cites the rule it checks.

use super::claims;
use super::eval::Decision::{Allowed, ExplicitDeny, ImplicitDeny};
use super::tests::{
    allow, case, doc, job, main_push, run_table, with, Case, ACTION, AUD, COND, EVAL, GH, GH_SUB,
    IFEXISTS, KEYCASE, MISSING, NULL, OIDC_KEYS, PRINCIPAL, SETS, STRING_OPS, SUB, VARS,
};
use serde_json::{json, Value};

const BUILT_IN: &str = "IAM UG, IAM JSON policy elements: Principal, 'OIDC federated principals' (Google, Cognito, Amazon and Facebook are named without a provider ARN)";
const AZP: &str = "IAM UG, Available keys for AWS OIDC federation: `aud` is the token's azp claim when it has one, `oaud` its aud claim (Google service-account tokens carry azp)";
const COGNITO_AMR: &str = "IAM UG, Available keys for AWS OIDC federation: cognito-identity.amazonaws.com:amr is multivalued (authenticated/unauthenticated and the login provider); test it with ForAnyValue:StringLike";
const NEGATED_MULTI: &str = "IAM UG, Creating a condition with multiple keys or values: negated operators with several values (StringNotEquals [A, B] holds when the value is neither A nor B)";
const STATEMENT: &str = "IAM UG, IAM JSON policy elements: Statement (one statement object or a list of them) and Sid (an optional label)";
const VERSION: &str = "IAM UG, IAM JSON policy elements: Version (without Version IAM uses 2008-10-17, where ${…} is literal text)";
const COERCE: &str = "IAM UG, Condition element: a JSON number or boolean as a condition value is compared as its text (\"true\", \"42\"); check-trust does the same";
const BOOL: &str =
    "IAM UG, Condition operators: Boolean condition operators (compare \"true\"/\"false\")";
const GH_PRT: &str = "GitHub OIDC subject for pull_request_target: `repo:O/R:pull_request`, as for pull_request (observed in GitHub's tokens; the docs name 'pull request events')";
const GH_CUSTOM: &str = "GitHub Docs, OpenID Connect: customizing the subject claims (e.g. repo:O/R:job_workflow_ref:…)";

fn stmt(effect: &str, principal: Value, action: Value, condition: Option<Value>) -> Value {
    let mut s = json!({"Effect": effect, "Principal": principal, "Action": action});
    if let Some(c) = condition {
        s["Condition"] = c;
    }
    s
}

fn fed(arn: &str) -> Value {
    json!({"Federated": arn})
}

const WEB: &str = "sts:AssumeRoleWithWebIdentity";
const MAIN: &str = "repo:octo-org/octo-repo:ref:refs/heads/main";
const GH_KEY: &str = "token.actions.githubusercontent.com";

fn key(claim: &str) -> String {
    format!("{GH_KEY}:{claim}")
}

fn google() -> Value {
    json!({"iss": "https://accounts.google.com", "aud": "sts.amazonaws.com", "sub": "110000000000000000001"})
}

fn cognito(amr: Value) -> Value {
    json!({"iss": "https://cognito-identity.amazonaws.com", "aud": "us-east-1:0000-pool", "sub": "us-east-1:1111-id", "amr": amr})
}

fn cases() -> Vec<Case> {
    let gh_allow = |cond: Value| allow(cond);
    let pr = job("octo-org/octo-repo", None, None, "pull_request");
    let prt = job("octo-org/octo-repo", None, None, "pull_request_target");
    let dev = job("octo-org/octo-repo", Some("dev"), None, "push");
    let prod_on_main = job("octo-org/octo-repo", Some("main"), Some("prod"), "push");
    let dispatch = job("octo-org/octo-repo", Some("dev"), None, "workflow_dispatch");
    let deny_pr = stmt(
        "Deny",
        fed(GH),
        json!(WEB),
        Some(json!({"StringLike": {SUB: "*:pull_request"}})),
    );
    let mut not_action_deny = stmt("Deny", json!("*"), json!(""), None);
    not_action_deny.as_object_mut().unwrap().remove("Action");
    not_action_deny["NotAction"] = json!("sts:AssumeRoleWithSAML");
    let any_ref = gh_allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:*"}}));
    let ghes_arn = "arn:aws:iam::123456789012:oidc-provider/ghe.example.com/_services/token";
    let ghes = json!({"iss": "https://ghe.example.com/_services/token", "aud": "sts.amazonaws.com", "sub": MAIN});
    let ent_claims = with(
        main_push(),
        "iss",
        json!("https://token.actions.githubusercontent.com/my-ent"),
    );
    let custom_sub = with(
        main_push(),
        "sub",
        json!("repo:octo-org/octo-repo:job_workflow_ref:octo-org/wf/.github/workflows/deploy.yml@refs/heads/main"),
    );
    let cog_policy = |amr: &str| {
        doc(vec![stmt(
            "Allow",
            fed("cognito-identity.amazonaws.com"),
            json!(WEB),
            Some(
                json!({"StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:0000-pool"},
                        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr}}),
            ),
        )])
    };
    let google_policy = |cond: Value| {
        doc(vec![stmt(
            "Allow",
            fed("accounts.google.com"),
            json!(WEB),
            Some(cond),
        )])
    };
    vec![
        // Principal forms.
        case("Federated list: a built-in provider and the GitHub ARN", PRINCIPAL, doc(vec![stmt("Allow", json!({"Federated": ["accounts.google.com", GH]}), json!(WEB), None)]), main_push(), Allowed),
        Case { says: "Principal does not name this token's provider", ..case("a provider ARN with a misspelt host", PRINCIPAL, doc(vec![stmt("Allow", fed("arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.co"), json!(WEB), None)]), main_push(), ImplicitDeny) },
        Case { says: "Principal does not name this token's provider", ..case("a Service principal does not admit a web identity", PRINCIPAL, doc(vec![stmt("Allow", json!({"Service": "ec2.amazonaws.com"}), json!(WEB), None)]), main_push(), ImplicitDeny) },
        case("Service and Federated in one Principal: either matches", PRINCIPAL, doc(vec![stmt("Allow", json!({"Service": "ec2.amazonaws.com", "Federated": GH}), json!(WEB), None)]), main_push(), Allowed),
        case("{\"AWS\": [\"*\"]} as a list is everyone", PRINCIPAL, doc(vec![stmt("Allow", json!({"AWS": ["*"]}), json!(WEB), None)]), main_push(), Allowed),
        case("a provider ARN in another partition and account", PRINCIPAL, doc(vec![stmt("Allow", fed("arn:aws-cn:iam::210987654321:oidc-provider/token.actions.githubusercontent.com"), json!(WEB), None)]), main_push(), Allowed),
        Case { says: "Principal does not name this token's provider", ..case("an enterprise issuer is another provider than the host alone", PRINCIPAL, doc(vec![stmt("Allow", fed(GH), json!(WEB), Some(json!({"StringEquals": {"token.actions.githubusercontent.com/my-ent:sub": MAIN}})))]), ent_claims, ImplicitDeny) },
        case("GitHub Enterprise Server: provider ARN and keys carry the issuer path", OIDC_KEYS, doc(vec![stmt("Allow", fed(ghes_arn), json!(WEB), Some(json!({"StringEquals": {"ghe.example.com/_services/token:sub": MAIN, "ghe.example.com/_services/token:aud": "sts.amazonaws.com"}})))]), ghes, Allowed),
        // Other providers' keys.
        case("Google: bare accounts.google.com principal, sub and oaud keys", BUILT_IN, google_policy(json!({"StringEquals": {"accounts.google.com:sub": "110000000000000000001", "accounts.google.com:oaud": "sts.amazonaws.com"}})), google(), Allowed),
        Case { says: "match the audience with \"accounts.google.com:oaud\"", ..case("Google: with azp, the aud key is azp, not the token's aud", AZP, google_policy(json!({"StringEquals": {"accounts.google.com:aud": "sts.amazonaws.com"}})), with(google(), "azp", json!("1234.apps.googleusercontent.com")), ImplicitDeny) },
        case("Google: the aud key matches azp", AZP, google_policy(json!({"StringEquals": {"accounts.google.com:aud": "1234.apps.googleusercontent.com"}})), with(google(), "azp", json!("1234.apps.googleusercontent.com")), Allowed),
        case("Google: without azp the aud key is aud", AZP, google_policy(json!({"StringEquals": {"accounts.google.com:aud": "sts.amazonaws.com"}})), google(), Allowed),
        case("Cognito: ForAnyValue on the multivalued amr", COGNITO_AMR, cog_policy("authenticated"), cognito(json!(["authenticated", "graph.facebook.com"])), Allowed),
        case("Cognito: an unauthenticated identity is refused", COGNITO_AMR, cog_policy("authenticated"), cognito(json!(["unauthenticated"])), ImplicitDeny),
        Case { says: "rename the key to \"cognito-identity.amazonaws.com:aud\"", ..case("Cognito: GitHub's keys never match a Cognito token", OIDC_KEYS, doc(vec![stmt("Allow", fed("cognito-identity.amazonaws.com"), json!(WEB), Some(json!({"StringEquals": {AUD: "us-east-1:0000-pool"}})))]), cognito(json!(["authenticated"])), ImplicitDeny) },
        // Action forms.
        case("Action \"*\" covers it", ACTION, doc(vec![stmt("Allow", fed(GH), json!("*"), None)]), main_push(), Allowed),
        case("Action [\"sts:AssumeRole*\"] covers it", ACTION, doc(vec![stmt("Allow", fed(GH), json!(["sts:AssumeRole*"]), None)]), main_push(), Allowed),
        case("Action with ? matching one character", ACTION, doc(vec![stmt("Allow", fed(GH), json!("sts:AssumeRoleWith?ebIdentity"), None)]), main_push(), Allowed),
        case("Action in lower case", ACTION, doc(vec![stmt("Allow", fed(GH), json!("sts:assumerolewithwebidentity"), None)]), main_push(), Allowed),
        Case { says: "does not cover sts:AssumeRoleWithWebIdentity", ..case("AssumeRoleWithSAML is another action", ACTION, doc(vec![stmt("Allow", fed(GH), json!("sts:AssumeRoleWithSAML"), None), stmt("Allow", fed(GH), json!(WEB), Some(json!({"StringEquals": {SUB: "x"}})))]), main_push(), ImplicitDeny) },
        case("a Deny with NotAction of another action covers this one", EVAL, doc(vec![any_ref.clone(), not_action_deny]), main_push(), ExplicitDeny),
        case("a Deny for sts:AssumeRole only does not apply", EVAL, doc(vec![any_ref.clone(), stmt("Deny", json!("*"), json!("sts:AssumeRole"), None)]), main_push(), Allowed),
        Case { says: "AWS STS refuses such tokens", ..case("an http:// issuer (a local emulator's) is evaluated, with a note", OIDC_KEYS, doc(vec![stmt("Allow", fed("arn:aws:iam::123456789012:oidc-provider/127.0.0.1:8080"), json!(WEB), Some(json!({"StringEquals": {"127.0.0.1:8080:sub": MAIN}})))]), json!({"iss": "http://127.0.0.1:8080", "aud": "sts.amazonaws.com", "sub": MAIN}), Allowed) },
        // Statements.
        case("a statement without Condition applies to every token of the provider", COND, doc(vec![stmt("Allow", fed(GH), json!(WEB), None)]), pr.clone(), Allowed),
        case("Statement as a single object", STATEMENT, json!({"Version": "2012-10-17", "Statement": allow(json!({"StringEquals": {SUB: MAIN}}))}).to_string(), main_push(), Allowed),
        Case { says: "statement 1 (Sid \"GitHubDeploy\")", ..case("the verdict names the statement by Sid", STATEMENT, doc(vec![{ let mut s = allow(json!({"StringEquals": {SUB: MAIN}})); s["Sid"] = json!("GitHubDeploy"); s }]), dev.clone(), ImplicitDeny) },
        Case { says: "\n  statement 1:\n", ..case("an empty Sid is not shown", STATEMENT, doc(vec![{ let mut s = allow(json!({"StringEquals": {SUB: MAIN}})); s["Sid"] = json!(""); s }]), dev.clone(), ImplicitDeny) },
        case("no Version: plain values still match", VERSION, json!({"Statement": [allow(json!({"StringEquals": {SUB: MAIN}}))]}).to_string(), main_push(), Allowed),
        case("no Version: ${…} is literal text", VERSION, json!({"Statement": [allow(json!({"StringLike": {SUB: "repo:${token.actions.githubusercontent.com:repository}:*"}}))]}).to_string(), main_push(), ImplicitDeny),
        Case { says: "treated as absent; AWS will know its value", ..case("a Deny on an unknown request key decides on an assumption, and says so", MISSING, doc(vec![any_ref.clone(), stmt("Deny", fed(GH), json!(WEB), Some(json!({"StringNotEqualsIfExists": {"aws:RequestedRegion": "eu-west-1"}})))]), main_push(), ExplicitDeny) },
        Case { context: vec![("aws:RequestedRegion", "eu-west-1")], ..case("the same Deny with the key given does not apply", STRING_OPS, doc(vec![any_ref.clone(), stmt("Deny", fed(GH), json!(WEB), Some(json!({"StringNotEqualsIfExists": {"aws:RequestedRegion": "eu-west-1"}})))]), main_push(), Allowed) },
        Case { says: "--context aws:SourceIdentity=VALUE", ..case("an Allow that held on an unknown key says so", MISSING, doc(vec![gh_allow(json!({"StringEquals": {SUB: MAIN}, "StringNotEquals": {"aws:SourceIdentity": "x"}}))]), main_push(), Allowed) },
        // Deny on the subject.
        case("Deny StringLike *:pull_request refuses a pull request", EVAL, doc(vec![any_ref.clone(), deny_pr.clone()]), pr.clone(), ExplicitDeny),
        case("Deny StringLike *:pull_request also refuses pull_request_target", GH_PRT, doc(vec![any_ref.clone(), deny_pr.clone()]), prt.clone(), ExplicitDeny),
        case("Deny StringNotLike: everything but main is refused", EVAL, doc(vec![any_ref.clone(), stmt("Deny", fed(GH), json!(WEB), Some(json!({"StringNotLike": {SUB: "*:ref:refs/heads/main"}})))]), dev.clone(), ExplicitDeny),
        case("Deny StringNotLike: main passes", EVAL, doc(vec![any_ref.clone(), stmt("Deny", fed(GH), json!(WEB), Some(json!({"StringNotLike": {SUB: "*:ref:refs/heads/main"}})))]), main_push(), Allowed),
        // Wildcards.
        case("StringLike with several *", STRING_OPS, doc(vec![gh_allow(json!({"StringLike": {SUB: "repo:octo-org/*:ref:refs/heads/*"}}))]), dev.clone(), Allowed),
        case("StringLike ?? matches exactly two characters", STRING_OPS, doc(vec![gh_allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/ma??"}}))]), main_push(), Allowed),
        case("StringLike ? does not match three characters", STRING_OPS, doc(vec![gh_allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/ma?"}}))]), main_push(), ImplicitDeny),
        case("StringLike * alone matches anything", STRING_OPS, doc(vec![gh_allow(json!({"StringLike": {SUB: "*"}}))]), pr.clone(), Allowed),
        case("StringLike without wildcards is an exact match", STRING_OPS, doc(vec![gh_allow(json!({"StringLike": {SUB: MAIN}}))]), main_push(), Allowed),
        Case { says: "StringLike compares case-sensitively", ..case("StringLike is case-sensitive", KEYCASE, doc(vec![gh_allow(json!({"StringLike": {SUB: "repo:Octo-Org/*"}}))]), main_push(), ImplicitDeny) },
        case("${?} is a literal question mark", VARS, doc(vec![gh_allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/mai${?}"}}))]), main_push(), ImplicitDeny),
        case("${$} is a literal dollar", VARS, doc(vec![gh_allow(json!({"StringEquals": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/${$}x"}}))]), job("octo-org/octo-repo", Some("$x"), None, "push"), Allowed),
        case("a policy variable also works under StringEquals", VARS, doc(vec![gh_allow(json!({"StringEquals": {SUB: "repo:${token.actions.githubusercontent.com:repository}:ref:refs/heads/main"}}))]), main_push(), Allowed),
        case("a policy variable's key name ignores case", VARS, doc(vec![gh_allow(json!({"StringEquals": {SUB: "repo:${Token.Actions.GitHubUserContent.com:Repository}:ref:refs/heads/main"}}))]), main_push(), Allowed),
        Case { says: "policy variable", ..case("a policy variable naming an absent key never matches", VARS, doc(vec![gh_allow(json!({"StringEquals": {SUB: "repo:octo-org/octo-repo:environment:${token.actions.githubusercontent.com:environment}"}}))]), main_push(), ImplicitDeny) },
        // Several keys, values, operators.
        case("several StringLike values are OR", COND, doc(vec![gh_allow(json!({"StringLike": {SUB: ["repo:other/*", "repo:octo-org/octo-repo:*"]}}))]), main_push(), Allowed),
        Case { says: "excludes", ..case("StringNotEquals with several values: matching any one refuses", NEGATED_MULTI, doc(vec![gh_allow(json!({"StringNotEquals": {SUB: ["repo:octo-org/octo-repo:ref:refs/heads/dev", MAIN]}}))]), main_push(), ImplicitDeny) },
        case("StringNotEquals with several values: matching none admits", NEGATED_MULTI, doc(vec![gh_allow(json!({"StringNotEquals": {SUB: ["repo:octo-org/octo-repo:ref:refs/heads/dev", "repo:x/y:pull_request"]}}))]), main_push(), Allowed),
        case("three operators and four keys, all holding", COND, doc(vec![gh_allow(json!({"StringEquals": {AUD: "sts.amazonaws.com", key("repository"): "octo-org/octo-repo"}, "StringLike": {SUB: "repo:octo-org/octo-repo:*"}, "StringNotEquals": {key("ref"): "refs/heads/dev"}}))]), main_push(), Allowed),
        case("three operators and four keys, one failing", COND, doc(vec![gh_allow(json!({"StringEquals": {AUD: "sts.amazonaws.com", key("repository"): "octo-org/octo-repo"}, "StringLike": {SUB: "repo:octo-org/octo-repo:*"}, "StringNotEquals": {key("ref"): "refs/heads/dev"}}))]), dev.clone(), ImplicitDeny),
        case("key name in mixed case", KEYCASE, doc(vec![gh_allow(json!({"StringEquals": {"Token.Actions.GitHubUserContent.com:SUB": MAIN}}))]), main_push(), Allowed),
        case("StringEqualsIgnoreCase on aud", STRING_OPS, doc(vec![gh_allow(json!({"StringEqualsIgnoreCase": {AUD: "STS.AMAZONAWS.COM"}}))]), main_push(), Allowed),
        case("a one-element list equals a single string", COND, doc(vec![gh_allow(json!({"StringEquals": {SUB: [MAIN]}}))]), main_push(), Allowed),
        case("a JSON boolean under StringEquals compares as \"true\"", COERCE, doc(vec![gh_allow(json!({"StringEquals": {key("environment"): true}}))]), job("octo-org/octo-repo", None, Some("true"), "push"), Allowed),
        // Missing keys, IfExists, set operators, Null.
        case("StringNotEqualsIfExists: absent key passes", IFEXISTS, doc(vec![gh_allow(json!({"StringNotEqualsIfExists": {key("environment"): "prod"}}))]), main_push(), Allowed),
        case("StringLikeIfExists: a present key must match", IFEXISTS, doc(vec![gh_allow(json!({"StringLikeIfExists": {key("environment"): "staging-*"}}))]), prod_on_main.clone(), ImplicitDeny),
        case("ForAllValues:StringLike with the key absent is true (vacuous)", SETS, doc(vec![gh_allow(json!({"ForAllValues:StringLike": {key("environment"): "prod*"}}))]), main_push(), Allowed),
        case("ForAnyValue:StringNotEquals with the key absent is false", SETS, doc(vec![gh_allow(json!({"ForAnyValue:StringNotEquals": {key("environment"): "prod"}}))]), main_push(), ImplicitDeny),
        case("ForAllValues:StringEquals: every aud listed", SETS, doc(vec![gh_allow(json!({"ForAllValues:StringEquals": {AUD: ["sts.amazonaws.com", "other"]}}))]), with(main_push(), "aud", json!(["other", "sts.amazonaws.com"])), Allowed),
        case("aud as a one-element array matches StringEquals", SETS, doc(vec![gh_allow(json!({"StringEquals": {AUD: "sts.amazonaws.com"}}))]), with(main_push(), "aud", json!(["sts.amazonaws.com"])), Allowed),
        Case { says: "has no `aud` claim", ..case("aud as an empty array is absent", MISSING, doc(vec![gh_allow(json!({"StringEquals": {AUD: "sts.amazonaws.com"}}))]), with(main_push(), "aud", json!([])), ImplicitDeny) },
        Case { says: "has no `sub` claim", ..case("a token without sub", MISSING, doc(vec![gh_allow(json!({"StringLike": {SUB: "*"}}))]), json!({"aud": "sts.amazonaws.com"}), ImplicitDeny) },
        case("Null true on a present key fails", NULL, doc(vec![gh_allow(json!({"Null": {key("environment"): "true"}}))]), prod_on_main.clone(), ImplicitDeny),
        case("Null false on a present key holds", NULL, doc(vec![gh_allow(json!({"Null": {key("environment"): false}}))]), prod_on_main.clone(), Allowed),
        Case { says: "is neither", ..case("Bool on a non-boolean claim never holds", BOOL, doc(vec![gh_allow(json!({"Bool": {AUD: "true"}}))]), main_push(), ImplicitDeny) },
        // GitHub keys and subject shapes.
        case("repository_owner_id is a condition key", OIDC_KEYS, doc(vec![gh_allow(json!({"StringEquals": {key("repository_owner_id"): "7"}}))]), with(main_push(), "repository_owner_id", json!("7")), Allowed),
        case("enterprise_id is a condition key", OIDC_KEYS, doc(vec![gh_allow(json!({"StringEquals": {key("enterprise_id"): "11"}}))]), with(main_push(), "enterprise_id", json!("11")), Allowed),
        case("actor and workflow are condition keys", OIDC_KEYS, doc(vec![gh_allow(json!({"StringEquals": {key("actor"): "octocat", key("workflow"): "Deploy"}}))]), with(with(main_push(), "actor", json!("octocat")), "workflow", json!("Deploy")), Allowed),
        Case { says: "does not expose the `runner_environment` claim", ..case("runner_environment is not a condition key", OIDC_KEYS, doc(vec![gh_allow(json!({"StringEquals": {key("runner_environment"): "github-hosted"}}))]), with(main_push(), "runner_environment", json!("github-hosted")), ImplicitDeny) },
        case("head_ref is not a condition key", OIDC_KEYS, doc(vec![gh_allow(json!({"StringEquals": {key("head_ref"): "feature"}}))]), with(pr.clone(), "head_ref", json!("feature")), ImplicitDeny),
        case("workflow_dispatch: sub names the ref", GH_SUB, doc(vec![gh_allow(json!({"StringEquals": {SUB: "repo:octo-org/octo-repo:ref:refs/heads/dev"}}))]), dispatch, Allowed),
        case("environment and ref: sub names the environment, the ref key the branch", GH_SUB, doc(vec![gh_allow(json!({"StringEquals": {SUB: "repo:octo-org/octo-repo:environment:prod", key("ref"): "refs/heads/main"}}))]), prod_on_main, Allowed),
        Case { says: "Pull-request runs have `sub`", ..case("pull_request_target against a branch rule", GH_PRT, doc(vec![gh_allow(json!({"StringEquals": {SUB: MAIN}}))]), prt, ImplicitDeny) },
        case("a customised sub with job_workflow_ref", GH_CUSTOM, doc(vec![gh_allow(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:job_workflow_ref:octo-org/wf/.github/workflows/*@refs/heads/main"}}))]), custom_sub.clone(), Allowed),
        case("a customised sub does not match the default shape", GH_CUSTOM, doc(vec![gh_allow(json!({"StringEquals": {SUB: MAIN}}))]), custom_sub, ImplicitDeny),
    ]
}

/// Lint cases the first table missed: breadth hidden behind identity keys,
/// and wildcards in the owner part of a repository pattern.
#[test]
fn lint_review_cases() {
    use super::lint::Risk;
    use super::tests::risks;
    let ids = with(
        with(main_push(), "repository_id", json!("42")),
        "repository_owner_id",
        json!("7"),
    );
    let jwr = with(
        ids.clone(),
        "job_workflow_ref",
        json!("octo-org/wf/.github/workflows/deploy.yml@refs/heads/main"),
    );
    let policy = |cond: Value| doc(vec![allow(cond)]);
    let aud = |mut cond: Value| {
        cond["StringEquals"][AUD] = json!("sts.amazonaws.com");
        cond
    };
    for (cond, claims, expected) in [
        // The owner id pins the owner, not the repository.
        (
            aud(
                json!({"StringEquals": {key("repository_owner_id"): "7"}, "StringLike": {SUB: "repo:octo-org/*"}}),
            ),
            &ids,
            vec![Risk::WholeOwner],
        ),
        // The repository id pins the repository, not the event.
        (
            aud(json!({"StringEquals": {key("repository_id"): "42"}})),
            &ids,
            vec![Risk::PullRequests],
        ),
        (
            aud(
                json!({"StringEquals": {key("repository_id"): "42"}, "StringNotLike": {SUB: "*:pull_request"}}),
            ),
            &ids,
            vec![],
        ),
        // An owner wildcard in `repository` is the whole owner, not a prefix.
        (
            aud(json!({"StringLike": {key("repository"): "octo-org/*"}})),
            &ids,
            vec![Risk::WholeOwner],
        ),
        // Any owner's repository named octo-repo.
        (
            aud(json!({"StringLike": {SUB: "repo:*/octo-repo:ref:refs/heads/main"}})),
            &ids,
            vec![Risk::AnyOwner],
        ),
        (
            aud(json!({"StringLike": {SUB: "repo:octo-*/octo-repo:ref:refs/heads/main"}})),
            &ids,
            vec![Risk::AnyOwner],
        ),
        (
            aud(
                json!({"StringLike": {key("repository"): "*/octo-repo"}, "StringEquals": {SUB: MAIN}}),
            ),
            &ids,
            vec![],
        ),
        // No sub at all, but the audience: any repository.
        (aud(json!({})), &ids, vec![Risk::AnyRepository]),
        // A pinned reusable workflow with sub "*": every repository that calls it.
        (
            aud(
                json!({"StringLike": {SUB: "*", key("job_workflow_ref"): "octo-org/wf/.github/workflows/deploy.yml@refs/heads/main"}}),
            ),
            &jwr,
            vec![Risk::AnyRepository],
        ),
        (
            aud(
                json!({"StringLike": {SUB: "repo:octo-org/*", key("job_workflow_ref"): "octo-org/wf/.github/workflows/deploy.yml@refs/heads/main"}}),
            ),
            &jwr,
            vec![Risk::WholeOwner],
        ),
        (
            aud(
                json!({"StringEquals": {SUB: MAIN, key("job_workflow_ref"): "octo-org/wf/.github/workflows/deploy.yml@refs/heads/main"}}),
            ),
            &jwr,
            vec![],
        ),
        // Exact and safe.
        (aud(json!({"StringEquals": {SUB: MAIN}})), &ids, vec![]),
        // A wildcard only after the repository and a Deny on pull requests: safe.
        (
            aud(
                json!({"StringLike": {SUB: "repo:octo-org/octo-repo:*"}, "StringNotLike": {SUB: ["*:pull_request"]}}),
            ),
            &ids,
            vec![],
        ),
        // Only environments of the repository: no pull requests.
        (
            aud(json!({"StringLike": {SUB: "repo:octo-org/octo-repo:environment:*"}})),
            &ids,
            vec![],
        ),
    ] {
        let p = policy(cond.clone());
        assert_eq!(risks(&p, claims), expected, "{cond}");
    }
    let p = super::policy::parse(&policy(aud(
        json!({"StringLike": {SUB: "*", key("job_workflow_ref"): "octo-org/wf/*"}}),
    )))
    .unwrap();
    let w = super::lint::lint(&p, &super::tests::request(&jwr));
    assert!(
        w[0].message.contains("every repository that calls it"),
        "{}",
        w[0].message
    );
}

#[test]
fn review_table() {
    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    run_table(cases);
}

/// What must be refused with exit status 2, and the words that say why.
#[test]
fn bad_policies_are_refused() {
    let gh = |extra: Value| {
        let mut s = json!({"Effect": "Allow", "Principal": {"Federated": GH}, "Action": WEB});
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        json!({"Version": "2012-10-17", "Statement": [s]}).to_string()
    };
    for (doc, expected) in [
        (gh(json!({"Resource": "*"})), "permissions policy"),
        (gh(json!({"NotResource": "*"})), "permissions policy"),
        ("[1]".to_owned(), "not a JSON object"),
        ("\"policy\"".to_owned(), "not a JSON object"),
        ("42".to_owned(), "not a JSON object"),
        (
            r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned(),
            "empty list",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":"x"}"#.to_owned(),
            "object or a list",
        ),
        (gh(json!({"Action": []})), "empty list"),
        (gh(json!({"Sid": 1})), "\"Sid\" must be a string"),
        (
            gh(json!({"Principal": {"Federated": 5}})),
            "must hold strings",
        ),
        (gh(json!({"Principal": {"Federated": []}})), "empty list"),
        (
            gh(json!({"Principal": {"OIDC": GH}})),
            "unknown principal type",
        ),
        (
            gh(
                json!({"Principal": {"Federated": "arn:aws:iam::12345678901:oidc-provider/token.actions.githubusercontent.com"}}),
            ),
            "12-digit",
        ),
        (
            gh(json!({"Principal": {"Federated": "arn:aws:iam::123456789012:role/x"}})),
            "oidc-provider/HOST",
        ),
        (
            gh(json!({"Principal": {"Federated": "arn:aws:sts::123456789012:oidc-provider/x"}})),
            "not an IAM identity-provider ARN",
        ),
        (
            gh(json!({"Condition": {"StringEquals": {SUB: null}}})),
            "values are strings",
        ),
        (
            gh(json!({"Condition": {"StringEquals": {SUB: {"a": "b"}}}})),
            "values are strings",
        ),
        (gh(json!({"Condition": {"StringEquals": {}}})), "is empty"),
        (
            gh(json!({"Condition": {"StringLikeIfExist": {SUB: "x"}}})),
            "unknown condition operator",
        ),
        (
            gh(json!({"Condition": {"ForAnyValue:Null": {SUB: "true"}}})),
            "Null takes no",
        ),
        (
            gh(json!({"Condition": {"NumericLessThan": {SUB: "1"}}})),
            "does not evaluate",
        ),
        (
            gh(json!({"Condition": ["StringEquals"]})),
            "object of operators",
        ),
        (gh(json!({"Effect": "allow"})), "exactly so written"),
        (
            gh(json!({"Action": WEB, "NotAction": "sts:TagSession"})),
            "not both",
        ),
        (
            r#"{"AssumeRolePolicyDocument":{}}"#.to_owned(),
            "pass the AssumeRolePolicyDocument itself",
        ),
        (format!("{} trailing", gh(json!({}))), "trailing characters"),
        (
            "%7B%22Version%22%3A%222012-10-17%22%7D".to_owned(),
            "URL-encoded",
        ),
        (gh(json!({"Sid": "GitHub-OIDC"})), "alpha-numeric"),
        // The provider ARN names the URL without its scheme.
        (
            gh(
                json!({"Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/https://token.actions.githubusercontent.com"}}),
            ),
            "oidc-provider/HOST",
        ),
        (
            gh(
                json!({"Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/issuer http://x"}}),
            ),
            "oidc-provider/HOST",
        ),
        // A newline in a key or value would start a line of its own in the
        // report, which a CI runner may read as a workflow command.
        (
            gh(json!({"Condition": {"StringEquals": {"x\n::stop-commands::t": "v"}}})),
            "control character (U+000A)",
        ),
        (
            gh(json!({"Condition": {"StringEquals": {SUB: "repo:o/r\n::add-mask::x"}}})),
            "control character",
        ),
        (
            gh(json!({"Principal": {"Federated": "accounts.google.com\r"}})),
            "control character (U+000D)",
        ),
    ] {
        let err = super::policy::parse(&doc).unwrap_err();
        assert!(
            err.contains(expected),
            "{doc}\n  gave: {err}\n  want: {expected}"
        );
    }
}

#[test]
fn bad_claims_are_refused() {
    use base64::Engine;
    let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let jwt = |payload: &str| format!("{}.{}.sig", enc(r#"{"alg":"RS256"}"#), enc(payload));
    for (token, expected) in [
        (jwt("not json"), "not a JSON object"),
        (jwt("[1]"), "not a JSON object"),
        (jwt(r#"{"sub":"a","sub":"b"}"#), "duplicate key \"sub\""),
        (
            jwt(r#"{"iss":"token.actions.githubusercontent.com"}"#),
            "not an issuer URL",
        ),
        (jwt(r#"{"iss":7}"#), "not a string URL"),
        (
            jwt(r#"{"iss":"https://x\n::warning::y"}"#),
            "not an issuer URL",
        ),
        ("a.b".to_owned(), "three base64url parts"),
        ("a.!!!.c".to_owned(), "not base64url"),
    ] {
        let err = claims::from_token(&token).unwrap_err();
        assert!(err.contains(expected), "{token}: {err}");
    }
    // The token endpoint's JSON answer is read as the token it holds.
    let answer = json!({"count": 1, "value": jwt(r#"{"sub":"s"}"#)}).to_string();
    assert_eq!(claims::from_token(&answer).unwrap()["sub"], "s");
    assert!(claims::from_claims_json(&answer)
        .unwrap_err()
        .contains("pass the same file with --token"));
    // aud as a string or as a list: both are claims, and both are read.
    for aud in [r#""sts.amazonaws.com""#, r#"["sts.amazonaws.com","x"]"#] {
        let m = claims::from_token(&jwt(&format!(r#"{{"aud":{aud}}}"#))).unwrap();
        assert_eq!(claims::values(&m["aud"])[0], "sts.amazonaws.com");
    }
    for (text, expected) in [
        ("[]", "JSON object of claims"),
        (r#"{"sub":"a"} x"#, "not valid JSON"),
        (r#"{"aud":"a","aud":"b"}"#, "duplicate key \"aud\""),
        (r#"{"iss":"https://"}"#, "not an issuer URL"),
    ] {
        let err = claims::from_claims_json(text).unwrap_err();
        assert!(err.contains(expected), "{text}: {err}");
    }
}

/// The file reader behind --policy/--claims/--token: a byte-order mark is
/// dropped, and a file that never ends (or is huge) is refused, not read whole.
#[test]
fn files_are_read_with_a_cap() {
    let dir = std::env::temp_dir().join(format!("keyless-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("bom.json");
    let text = json!({"Version": "2012-10-17", "Statement": [allow(json!({"StringEquals": {SUB: MAIN}}))]}).to_string();
    std::fs::write(&policy, format!("\u{feff}{text}")).unwrap();
    let args = |policy: &std::path::Path| super::Args {
        policy: Some(policy.to_string_lossy().into_owned()),
        claims: super::ClaimsSource::Job(super::claims::GitHubJob {
            repo: "octo-org/octo-repo".into(),
            git_ref: None,
            environment: None,
            event: "push".into(),
            audience: super::claims::DEFAULT_AUDIENCE.into(),
        }),
        context: Vec::new(),
        role_arn: None,
    };
    let (_, decision) = super::check(&args(&policy)).unwrap();
    assert_eq!(decision, Allowed);
    let utf16 = dir.join("utf16.json");
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(&utf16, bytes).unwrap();
    assert!(super::check(&args(&utf16)).unwrap_err().contains("UTF-16"));
    let big = dir.join("big.json");
    std::fs::write(&big, " ".repeat(super::MAX_FILE as usize + 1)).unwrap();
    assert!(super::check(&args(&big))
        .unwrap_err()
        .contains("larger than"));
    #[cfg(unix)]
    assert!(super::check(&args(std::path::Path::new("/dev/zero")))
        .unwrap_err()
        .contains("larger than"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// StringLike's `*`/`?` against an obviously correct (exponential) matcher.
fn oracle(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|i| oracle(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && oracle(&p[1..], &t[1..]),
        Some(c) => t.first() == Some(c) && oracle(&p[1..], &t[1..]),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// IAM UG, Condition operators, StringLike: `*` any run of characters
    /// (also none), `?` exactly one; everything else literal and case-sensitive.
    #[test]
    fn string_like_agrees_with_a_reference_matcher(p in "[ab:*?]{0,9}", t in "[abA:]{0,9}") {
        let (pc, tc): (Vec<char>, Vec<char>) = (p.chars().collect(), t.chars().collect());
        proptest::prop_assert_eq!(super::eval::like_matches(&p, &t), oracle(&pc, &tc), "{} vs {}", p, t);
    }
}
