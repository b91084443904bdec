//! The input parser: arbitrary environment maps through `RawInputs::from_env` and
//! `inputs::build::plan`. Neither may panic, and:
//! * a plan that comes out is valid (region, session name, duration, retries,
//!   endpoint, account ids, tags and policies within the limits STS sets);
//! * neither the plan's `Debug` (logged at debug level) nor an error's message or
//!   help ever shows a secret input (access key id, secret key, session token) or the
//!   runner's request token.
#![no_main]

use arbitrary::Arbitrary;
use keyless_aws::aws_names::{AccountId, SessionName};
use keyless_aws::inputs::{self, raw::RawInputs};
use keyless_aws::plan::{CredentialPlan, CredentialSource, Delivery, Mode, SessionOptions, TokenSource};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

/// Every input action.yml declares, as the runner names them (`INPUT_` + upper case).
const INPUTS: &[&str] = &[
    "AWS-REGION",
    "ROLE-TO-ASSUME",
    "AWS-ACCESS-KEY-ID",
    "AWS-SECRET-ACCESS-KEY",
    "AWS-SESSION-TOKEN",
    "WEB-IDENTITY-TOKEN-FILE",
    "ROLE-CHAINING",
    "AUDIENCE",
    "HTTP-PROXY",
    "NO-PROXY",
    "MASK-AWS-ACCOUNT-ID",
    "ROLE-DURATION-SECONDS",
    "ROLE-EXTERNAL-ID",
    "ROLE-SESSION-NAME",
    "ROLE-SKIP-SESSION-TAGGING",
    "TRANSITIVE-TAG-KEYS",
    "INLINE-SESSION-POLICY",
    "MANAGED-SESSION-POLICIES",
    "OUTPUT-CREDENTIALS",
    "OUTPUT-ENV-CREDENTIALS",
    "UNSET-CURRENT-CREDENTIALS",
    "DISABLE-RETRY",
    "RETRY-MAX-ATTEMPTS",
    "SPECIAL-CHARACTERS-WORKAROUND",
    "USE-EXISTING-CREDENTIALS",
    "ALLOWED-ACCOUNT-IDS",
    "FORCE-SKIP-OIDC",
    "ACTION-TIMEOUT-S",
    "CUSTOM-TAGS",
    "STS-ENDPOINT",
    "AWS-PROFILE",
    "OVERWRITE-AWS-PROFILE",
    "RUNNER-TEMP",
];

/// Runner variables `plan` reads.
const RUNNER_VARS: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACT",
    "GITHUB_ENV",
    "GITHUB_OUTPUT",
    "GITHUB_REPOSITORY",
    "GITHUB_WORKFLOW",
    "GITHUB_ACTION",
    "GITHUB_ACTOR",
    "GITHUB_SHA",
    "GITHUB_REF",
    "GITHUB_EVENT_NAME",
    "GITHUB_BASE_REF",
    "GITHUB_HEAD_REF",
    "GITHUB_RUN_ID",
    "GITHUB_JOB",
    "GITHUB_TRIGGERING_ACTOR",
    "GITHUB_WORKSPACE",
];

/// Values that get the parser past its first checks, so the fuzzer reaches the
/// deeper branches without having to guess an ARN byte by byte.
const PLAUSIBLE: &[&str] = &[
    "",
    " ",
    "true",
    "false",
    "TRUE",
    "False",
    "yes",
    "us-east-1",
    "eu-west-1",
    "cn-north-1",
    "us-gov-west-1",
    "us-isob-east-1",
    "eusc-de-east-1",
    "arn:aws:iam::123456789012:role/deploy",
    "arn:aws-cn:iam::123456789012:role/p/deploy",
    "arn:aws:iam::123456789012:role/",
    "deploy",
    "GitHubActions",
    "3600",
    "900",
    "43200",
    "0",
    "-1",
    "99999999999999999999",
    "1",
    "100",
    "101",
    "https://sts.example.test",
    "http://127.0.0.1:9",
    "ftp://x",
    "{\"Version\":\"2012-10-17\",\"Statement\":[]}",
    "[]",
    "{",
    "{\"Team\":\"platform\"}",
    "{\"Repository\":\"x\"}",
    "{\"aws:x\":\"y\"}",
    "Team",
    "Repository,Commit",
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "111111111111,222222222222",
    "12345",
    "/tmp/env",
    "profile-1",
    "bad profile",
    "token.jwt",
    "/var/run/secrets/x/token",
    "sts.amazonaws.com",
    "host:/home/runner/work/_temp",
    "\n::set-env name=X::y",
    "%0A::add-mask::",
    "\r::stop-commands::t",
];

#[derive(Arbitrary, Debug)]
enum Key {
    Input(u8),
    /// The same input, spelled in lower case (the runner upper-cases, others may not).
    InputLower(u8),
    Runner(u8),
    Secret(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Value {
    Plausible(u8),
    Text(String),
    /// A plausible value with text around it.
    Around(String, u8, String),
}

/// Starting points that already make a valid plan, one per credential source, so most
/// runs explore what a change to them does rather than stopping at the first check.
const BASES: &[&[(&str, &str)]] = &[
    &[],
    &[
        (
            "INPUT_ROLE-TO-ASSUME",
            "arn:aws:iam::123456789012:role/deploy",
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "http://127.0.0.1:9/token?api-version=2.0",
        ),
    ],
    &[
        ("INPUT_ROLE-TO-ASSUME", "deploy"),
        ("GITHUB_REPOSITORY", "o/r"),
        ("GITHUB_SHA", "abc"),
    ],
    &[],
    &[
        (
            "INPUT_ROLE-TO-ASSUME",
            "arn:aws:iam::123456789012:role/deploy",
        ),
        ("INPUT_WEB-IDENTITY-TOKEN-FILE", "token.jwt"),
    ],
    &[
        (
            "INPUT_ROLE-TO-ASSUME",
            "arn:aws:iam::123456789012:role/deploy",
        ),
        ("INPUT_ROLE-CHAINING", "true"),
        ("GITHUB_RUN_ID", "42"),
    ],
    &[("INPUT_USE-EXISTING-CREDENTIALS", "true")],
];

#[derive(Arbitrary, Debug)]
struct Case {
    /// Index into BASES; the runner files and a region come with any base.
    base: Option<u8>,
    vars: Vec<(Key, Value)>,
    /// Fuzzer-chosen tails of the four secrets, each behind a marker.
    secrets: [Option<String>; 4],
}

/// (variable, marker): the secret is `marker + tail`, so its presence is easy to test.
const SECRETS: [(&str, &str); 4] = [
    ("INPUT_AWS-ACCESS-KEY-ID", "ZqKEYID"),
    ("INPUT_AWS-SECRET-ACCESS-KEY", "ZqSECRET"),
    ("INPUT_AWS-SESSION-TOKEN", "ZqSESSION"),
    ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ZqBEARER"),
];

fn value(v: &Value) -> String {
    let pick = |i: &u8| PLAUSIBLE[*i as usize % PLAUSIBLE.len()];
    match v {
        Value::Plausible(i) => pick(i).to_owned(),
        Value::Text(s) => s.clone(),
        Value::Around(a, i, b) => format!("{a}{}{b}", pick(i)),
    }
}

fuzz_target!(|case: Case| {
    let mut env: HashMap<String, String> = HashMap::new();
    if let Some(i) = case.base {
        let i = i as usize % BASES.len();
        for (k, v) in [
            ("GITHUB_ENV", "/tmp/env"),
            ("GITHUB_OUTPUT", "/tmp/out"),
            ("INPUT_AWS-REGION", "eu-west-1"),
        ]
        .iter()
        .chain(BASES[i].iter())
        {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        // Bases 2 and 3 sign with keys: the secrets below fill them in.
        if i == 2 || i == 3 {
            env.insert(
                "INPUT_AWS-ACCESS-KEY-ID".into(),
                "ZqKEYIDEXAMPLE1234".into(),
            );
            env.insert("INPUT_AWS-SECRET-ACCESS-KEY".into(), "ZqSECRET".into());
        }
        if i == 1 {
            env.insert("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), "ZqBEARER".into());
        }
    }
    for (k, v) in &case.vars {
        let key = match k {
            Key::Input(i) => format!("INPUT_{}", INPUTS[*i as usize % INPUTS.len()]),
            Key::InputLower(i) => format!(
                "input_{}",
                INPUTS[*i as usize % INPUTS.len()].to_lowercase()
            ),
            Key::Runner(i) => RUNNER_VARS[*i as usize % RUNNER_VARS.len()].to_owned(),
            Key::Secret(i) => SECRETS[*i as usize % SECRETS.len()].0.to_owned(),
            Key::Other(s) => s.clone(),
        };
        env.insert(key, value(v));
    }
    for ((var, marker), tail) in SECRETS.iter().zip(&case.secrets) {
        if let Some(tail) = tail {
            env.insert((*var).to_owned(), format!("{marker}{tail}"));
        }
    }

    // A marker the fuzzer also put into a non-secret value may legitimately show up.
    let public: String = env
        .iter()
        .filter(|(k, _)| !SECRETS.iter().any(|(s, _)| s.eq_ignore_ascii_case(k)))
        .map(|(k, v)| format!("{k}\u{0}{v}\u{0}"))
        .collect();
    let check_shown = |what: &str, shown: &str| {
        for (var, marker) in SECRETS {
            if shown.contains(marker) && !public.contains(marker) {
                panic!("{what} shows the secret from {var}: {shown}");
            }
        }
    };

    let raw = match RawInputs::from_env(&env) {
        Ok(raw) => raw,
        Err(err) => {
            check_shown("from_env error", &format!("{err} {} {err:?}", err.help()));
            return;
        }
    };
    check_shown("RawInputs Debug", &format!("{raw:?}"));
    let plan = match inputs::build::plan(&raw, &env) {
        Ok(plan) => plan,
        Err(err) => {
            check_shown("plan error", &format!("{err}\n{}\n{err:?}", err.help()));
            return;
        }
    };
    check_shown("Plan Debug", &format!("{plan:?} {plan:#?}"));

    // Typed names: parsing the text again gives the same value.
    // Strict names for AWS itself; a custom endpoint takes any `[a-z0-9-]` name.
    let region = plan.region.as_str();
    assert!(
        keyless_aws::aws_names::Region::parse(region).is_ok()
            || (plan.network.sts_endpoint.is_some()
                && keyless_aws::aws_names::Region::parse_lenient(region).is_ok())
    );
    assert!((1..=100).contains(&plan.network.retry.max_attempts));
    if let Some(t) = plan.network.action_timeout {
        // 0 means no timer (issue 20); the longest is GitHub's 35-day job limit.
        let longest = keyless_aws::inputs::network::MAX_ACTION_TIMEOUT_S as u64;
        assert!((1..=longest).contains(&t.as_secs()));
    }
    let proxy = &plan.network.proxy;
    for url in plan
        .network
        .sts_endpoint
        .iter()
        .chain(&proxy.https)
        .chain(&proxy.http)
    {
        assert!(
            matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
            "endpoint/proxy {url} is not an http(s) URL"
        );
        assert!(
            !url.as_str().chars().any(char::is_control),
            "endpoint/proxy has control characters"
        );
    }
    // Entries are compared as text, as the reference does (issue 20); one that
    // is not a 12-digit id can never match, and the plan warns about it.
    for id in &plan.account.allowed {
        assert!(
            AccountId::parse(id.as_str()).is_ok()
                || plan
                    .warnings
                    .iter()
                    .any(|w| w.input == "allowed-account-ids"),
            "{id:?} is neither an account id nor warned about"
        );
    }
    // `roles` is fuzzed by its parser's own properties (src/inputs/roles_grammar.rs tests).
    let Mode::Single(single) = &plan.mode else {
        return;
    };
    if let Delivery::ProfileFiles { profile: p, .. } = &single.delivery {
        assert!(!p.name.as_str().is_empty() && p.name.as_str().len() <= 128);
    }
    let chains = match &single.credentials {
        CredentialPlan::Obtain(chain) => vec![chain],
        CredentialPlan::KeepExisting { fallback } => fallback.iter().collect(),
        CredentialPlan::LeaveAsIs(_) => vec![],
    };
    for chain in chains {
        if let CredentialSource::WebIdentity(web) = &chain.source {
            check_session(&web.session);
            if let TokenSource::Request { audience, .. } = &web.token {
                assert!(audience.as_str().chars().count() <= 255 && !audience.as_str().chars().any(char::is_control));
            }
        }
        for hop in &chain.hops {
            check_session(&hop.session);
            if let Some(tags) = &hop.tags {
                assert!(tags.len() <= keyless_aws::tags::MAX_TAGS);
                for tag in tags {
                    assert!(!tag.key.is_empty() && tag.key.chars().count() <= 128);
                    assert!(tag.value.chars().count() <= 256);
                }
                for key in &hop.transitive_tag_keys {
                    assert!(tags.iter().any(|t| &t.key == key));
                }
            }
        }
    }
});

fn check_session(session: &SessionOptions) {
    assert!(SessionName::parse(session.name.as_str()).is_ok());
    assert!((900..=43200).contains(&session.duration_seconds));
    assert!(session.managed_policies.len() <= 10);
    if let Some(policy) = &session.inline_policy {
        let v: serde_json::Value = serde_json::from_str(policy).expect("inline policy is JSON");
        assert!(v.is_object());
    }
}
