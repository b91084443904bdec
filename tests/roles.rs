//! `roles`: several roles in one step. The binary runs as the runner runs it;
//! STS is wiremock where a test inspects requests (who signed the chained
//! call) or injects a refusal, and moto's server where a later step's SDK
//! (botocore) must use the profiles for real.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use support::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

async fn run(s: Scenario) -> (Outcome, Scenario) {
    tokio::task::spawn_blocking(move || (s.run(), s))
        .await
        .unwrap()
}

/// Six profiles: five assumed with the OIDC token, `audit` chained from `dev`.
const ROLES: &str = "\
# one line per profile
dev   = arn:aws:iam::111111111111:role/deploy
stage = arn:aws:iam::222222222222:role/deploy  region=eu-central-1
prod  = arn:aws:iam::333333333333:role/deploy  region=us-west-2   # release
dns   = arn:aws:iam::444444444444:role/dns     region=us-east-1

logs  = arn:aws:iam::555555555555:role/logs    session-name=logs-ship
audit = arn:aws:iam::666666666666:role/read    via=dev  external-id=x1  region=ap-southeast-2
";

/// (profile, account, role name, region) as ROLES says, in line order.
const PROFILES: [(&str, &str, &str, &str); 6] = [
    ("dev", "111111111111", "deploy", "eu-west-1"),
    ("stage", "222222222222", "deploy", "eu-central-1"),
    ("prod", "333333333333", "deploy", "us-west-2"),
    ("dns", "444444444444", "dns", "us-east-1"),
    ("logs", "555555555555", "logs", "eu-west-1"),
    ("audit", "666666666666", "read", "ap-southeast-2"),
];

/// Distinct keys per role, so each profile's keys can be told apart.
fn keys_of(account: &str) -> (String, String, String) {
    (
        format!("ASIA{account}KEY"),
        format!("secret{account}SecretKeyValue0000000000"),
        format!("token{account}SessionTokenValue//////EXAMPLE="),
    )
}

/// Matches an STS request whose form field `name` is `value`.
struct Form(&'static str, String);

impl wiremock::Match for Form {
    fn matches(&self, request: &Request) -> bool {
        url::form_urlencoded::parse(&request.body).any(|(k, v)| k == self.0 && v == self.1)
    }
}

fn form(request: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn token() -> String {
    jwt(&github_claims(
        "repo:octo-org/octo-repo:ref:refs/heads/main",
    ))
}

async fn token_endpoint() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": token() })),
        )
        .mount(&server)
        .await;
    server
}

/// STS issuing each role its own keys; roles in `refuse` get AccessDenied.
async fn sts(refuse: &[&str]) -> MockServer {
    let server = MockServer::start().await;
    for (name, account, role, _) in PROFILES {
        let arn = format!("arn:aws:iam::{account}:role/{role}");
        let op = if name == "audit" {
            "AssumeRole"
        } else {
            "AssumeRoleWithWebIdentity"
        };
        let (akid, secret, session) = keys_of(account);
        let response = if refuse.contains(&name) {
            ResponseTemplate::new(403).set_body_string(sts_error_xml(
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            ))
        } else {
            ResponseTemplate::new(200).set_body_string(sts_assume_xml(
                op,
                &akid,
                &secret,
                &session,
                &format!("arn:aws:sts::{account}:assumed-role/{role}/GitHubActions"),
            ))
        };
        Mock::given(method("POST"))
            .and(Form("Action", op.into()))
            .and(Form("RoleArn", arn))
            .respond_with(response)
            .mount(&server)
            .await;
    }
    server
}

fn step(token_endpoint: &MockServer, sts: &str) -> Scenario {
    Scenario::new()
        .oidc(&token_endpoint.uri())
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", sts)
        .input("roles", ROLES)
}

fn all_secrets() -> Vec<String> {
    let mut secrets = vec![token()];
    for (_, account, _, _) in PROFILES {
        let (akid, secret, session) = keys_of(account);
        secrets.extend([akid, secret, session]);
    }
    secrets
}

/// Runs python3 (botocore) as a later step would: only the exported variables.
fn later_step(env: &BTreeMap<String, String>, script: &str, args: &[&str]) -> String {
    // An empty home: no ~/.aws of this machine can supply a profile.
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .env_clear()
        // The test's own PATH: the python3 that has botocore.
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .envs(env.iter().filter(|(_, v)| !v.is_empty()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// For each profile: its region and access key id, as botocore reads them.
const BOTOCORE_READ: &str = r#"
import json, sys, botocore.session
out = {}
for name in sys.argv[1:]:
    s = botocore.session.Session(profile=name)
    c = s.get_credentials()
    out[name] = {"region": s.get_config_variable("region"), "key": c.access_key, "token": c.token}
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn six_profiles_from_one_token_request_chained_role_signed_by_its_source() {
    let tokens = token_endpoint().await;
    let sts = sts(&[]).await;
    let (out, s) = run(step(&tokens, &sts.uri()).input("default-profile", "prod")).await;
    out.assert_success();

    // One token request for six roles: five AssumeRoleWithWebIdentity, one AssumeRole.
    assert_eq!(tokens.received_requests().await.unwrap().len(), 1);
    let requests = sts.received_requests().await.unwrap();
    let actions: Vec<String> = requests.iter().map(|r| form(r)["Action"].clone()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "AssumeRoleWithWebIdentity")
            .count(),
        5,
        "{actions:?}"
    );
    // The chained call is signed with dev's keys and carries dev's session token.
    let chained: Vec<&Request> = requests
        .iter()
        .filter(|r| form(r)["Action"] == "AssumeRole")
        .collect();
    assert_eq!(chained.len(), 1);
    let (dev_key, _, dev_token) = keys_of("111111111111");
    let auth = chained[0].headers["authorization"].to_str().unwrap();
    assert!(
        auth.contains(&format!("Credential={dev_key}/")),
        "signed by another key: {auth}"
    );
    assert_eq!(
        chained[0].headers["x-amz-security-token"].to_str().unwrap(),
        dev_token
    );
    assert_eq!(form(chained[0])["ExternalId"], "x1");
    assert_eq!(form(chained[0])["DurationSeconds"], "3600");
    // Web identity calls are unsigned and carry the token; logs has its own session name.
    for r in &requests {
        let f = form(r);
        if f["Action"] == "AssumeRoleWithWebIdentity" {
            assert!(!r.headers.contains_key("authorization"));
            assert_eq!(f["WebIdentityToken"], token());
            let expected = if f["RoleArn"].ends_with("/logs") {
                "logs-ship"
            } else {
                "GitHubActions"
            };
            assert_eq!(f["RoleSessionName"], expected);
        }
    }

    // Nothing global but what finds the profiles, and AWS_PROFILE for the default.
    let env = out.exported_env();
    let keys: Vec<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "AWS_CONFIG_FILE",
            "AWS_PROFILE",
            "AWS_SHARED_CREDENTIALS_FILE"
        ]
    );
    assert_eq!(env["AWS_PROFILE"], "prod");
    let dir = s.path("temp").join(".keyless-aws");
    assert_eq!(Path::new(&env["AWS_CONFIG_FILE"]), dir.join("config"));

    // The `profiles` output: who each profile is, and no secret.
    let outputs = out.outputs();
    let profiles: serde_json::Value = serde_json::from_str(&outputs["profiles"]).unwrap();
    assert_eq!(profiles.as_object().unwrap().len(), 6);
    for (name, account, role, region) in PROFILES {
        let p = &profiles[name];
        assert_eq!(p["account"], account, "{name}");
        assert_eq!(
            p["arn"],
            format!("arn:aws:sts::{account}:assumed-role/{role}/GitHubActions")
        );
        assert_eq!(p["expiration"], "2030-01-01T00:00:00Z");
        assert_eq!(p["region"], region);
    }
    assert_eq!(outputs["aws-account-id"], "333333333333");
    let secrets = all_secrets();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    out.assert_masked_and_not_leaked(&secrets);
    assert!(!out.env_file.contains("secret"), "a secret in GITHUB_ENV");

    // A later step's botocore finds every profile, its region and its own keys.
    let names: Vec<&str> = PROFILES.iter().map(|p| p.0).collect();
    let read: serde_json::Value =
        serde_json::from_str(&later_step(&env, BOTOCORE_READ, &names)).unwrap();
    for (name, account, _, region) in PROFILES {
        let (akid, _, session) = keys_of(account);
        assert_eq!(read[name]["region"], region, "{name}");
        assert_eq!(read[name]["key"], akid.as_str(), "{name}");
        assert_eq!(read[name]["token"], session.as_str(), "{name}");
    }
    for file in ["config", "credentials"] {
        let meta = std::fs::metadata(dir.join(file)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file}");
    }

    // The post step removes both files.
    let state = parse_file_commands(&out.state);
    let post = Scenario::new()
        .arg("post")
        .env("STATE_exported", &state["exported"])
        .env("STATE_profile_files", &state["profile_files"]);
    let (post_out, _) = run(post).await;
    post_out.assert_success();
    assert!(!dir.join("config").exists() && !dir.join("credentials").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_default_profile_no_profile_is_selected() {
    let tokens = token_endpoint().await;
    let sts = sts(&[]).await;
    let (out, _) = run(step(&tokens, &sts.uri())).await;
    out.assert_success();
    let env = out.exported_env();
    assert!(!env.contains_key("AWS_PROFILE"), "{env:?}");
    assert!(!env.contains_key("AWS_REGION"), "{env:?}");
    assert!(!out.outputs().contains_key("aws-account-id"));
    assert!(out.summary.contains("| `audit` |"), "{}", out.summary);
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_roles_write_nothing_and_each_is_explained() {
    let tokens = token_endpoint().await;
    let sts = sts(&["dev", "prod"]).await;
    let (out, s) = run(step(&tokens, &sts.uri()).input("default-profile", "stage")).await;
    out.assert_failed_cleanly();
    assert!(
        !s.path("temp").join(".keyless-aws").join("config").exists(),
        "a profile file was written"
    );
    let error = out.error_line();
    assert!(
        error.contains("3 of 6 roles could not be assumed")
            && error.contains("dev (AccessDenied)")
            && error.contains("prod (AccessDenied)")
            && error.contains("audit (its source `dev` failed)"),
        "{error}"
    );
    // Each failing role has its own explanation: the role, the token's claims,
    // and the trust-policy condition that would admit them.
    for (name, line, arn) in [
        ("dev", 2, "arn:aws:iam::111111111111:role/deploy"),
        ("prod", 4, "arn:aws:iam::333333333333:role/deploy"),
    ] {
        let head = format!("Profile `{name}` (line {line} of `roles`): AssumeRoleWithWebIdentity failed with AccessDenied");
        let at = out
            .stdout
            .find(&head)
            .unwrap_or_else(|| panic!("{head}\n{}", out.stdout));
        let section = &out.stdout[at..];
        let section = &section[..section[1..]
            .find("Profile `")
            .map_or(section.len(), |i| i + 1)];
        assert!(section.contains(&format!("Role: {arn}")), "{section}");
        assert!(
            section.contains("repo:octo-org/octo-repo:ref:refs/heads/main"),
            "the claims are not explained: {section}"
        );
        assert!(
            section.contains("token.actions.githubusercontent.com:sub"),
            "{section}"
        );
    }
    assert!(out.stdout.contains(
        "Profile `audit` (line 8 of `roles`): not attempted, because its `via` profile `dev`"
    ));
    assert!(
        out.summary.contains("Nothing was written"),
        "{}",
        out.summary
    );
    // Still one token request; the chained role was never sent.
    assert_eq!(tokens.received_requests().await.unwrap().len(), 1);
    let requests = sts.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| form(r)["Action"] != "AssumeRole"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_outside_allowed_account_ids_fails_that_profile() {
    let tokens = token_endpoint().await;
    let sts = sts(&[]).await;
    let allowed = "111111111111,222222222222,333333333333,444444444444,666666666666";
    let (out, _) = run(step(&tokens, &sts.uri()).input("allowed-account-ids", allowed)).await;
    out.assert_failed_cleanly();
    let error = out.error_line();
    assert!(
        error.contains("1 of 6 roles") && error.contains("logs (account 555555555555 not allowed)"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_line_changes_nothing_and_names_the_line() {
    let tokens = token_endpoint().await;
    let roles = format!("{ROLES}extra = arn:aws:iam::777777777777:role/x regoin=eu-west-1\n");
    let (out, _) = run(step(&tokens, "http://127.0.0.1:9").input("roles", &roles)).await;
    out.assert_failed_cleanly();
    assert!(
        out.error_line().contains("line 9: unknown key `regoin`"),
        "{}",
        out.error_line()
    );
    assert!(tokens.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn profiles_against_moto_work_for_a_later_steps_sdk() {
    let moto = Moto::start(&[]);
    let tokens = token_endpoint().await;
    // `_s` keeps the runner's temp directory (and the profiles) alive.
    let (out, _s) = run(step(&tokens, &moto.url).input("default-profile", "dev")).await;
    out.assert_success();
    assert_eq!(tokens.received_requests().await.unwrap().len(), 1);
    let profiles: serde_json::Value = serde_json::from_str(&out.outputs()["profiles"]).unwrap();
    let env = out.exported_env();
    // botocore, as a later step: each profile signs GetCallerIdentity with its
    // own keys in its own region, and moto says whose they are.
    let script = r#"
import json, sys, boto3
out = {}
for name in sys.argv[2:]:
    s = boto3.Session(profile_name=name)
    who = s.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()
    out[name] = {"region": s.region_name, "arn": who["Arn"], "account": who["Account"]}
print(json.dumps(out))
"#;
    let mut args = vec![moto.url.as_str()];
    args.extend(PROFILES.iter().map(|p| p.0));
    let read: serde_json::Value = serde_json::from_str(&later_step(&env, script, &args)).unwrap();
    for (name, account, role, region) in PROFILES {
        assert_eq!(read[name]["region"], region, "{name}");
        assert_eq!(read[name]["account"], account, "{name}: {read}");
        assert_eq!(read[name]["arn"], profiles[name]["arn"], "{name}");
        assert!(
            read[name]["arn"]
                .as_str()
                .unwrap()
                .contains(&format!(":assumed-role/{role}/")),
            "{read}"
        );
    }
}
