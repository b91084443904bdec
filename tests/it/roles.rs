//! `roles`: several roles in one step. The binary runs as the runner runs it;
//! STS is the wiremock stand-in where a test inspects requests (who signed the
//! chained call) or injects a refusal, and moto's server where a later step's
//! SDK (botocore) must use the profiles for real.

use crate::support::moto::Moto;
use crate::support::scenario::Outcome;
use crate::support::stand_in::{form, signing_key, ASSUME_ROLE, WEB_IDENTITY};
use crate::support::*;
use std::collections::BTreeMap;
use std::path::Path;
use wiremock::matchers::method;
use wiremock::{Mock, Request, ResponseTemplate};

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

/// (profile, account, role name, region, session name) as ROLES says, in line order.
const PROFILES: [(&str, &str, &str, &str, &str); 6] = [
    (
        "dev",
        "111111111111",
        "deploy",
        "eu-west-1",
        "GitHubActions",
    ),
    (
        "stage",
        "222222222222",
        "deploy",
        "eu-central-1",
        "GitHubActions",
    ),
    (
        "prod",
        "333333333333",
        "deploy",
        "us-west-2",
        "GitHubActions",
    ),
    ("dns", "444444444444", "dns", "us-east-1", "GitHubActions"),
    ("logs", "555555555555", "logs", "eu-west-1", "logs-ship"),
    (
        "audit",
        "666666666666",
        "read",
        "ap-southeast-2",
        "GitHubActions",
    ),
];

/// Distinct keys per role, so each profile's keys can be told apart.
fn creds_of(account: &str) -> Creds {
    Creds {
        key_id: format!("ASIA{account}KEY"),
        secret: format!("secret{account}SecretKeyValue0000000000"),
        token: format!("token{account}SessionTokenValue//////EXAMPLE="),
    }
}

/// Matches an STS request whose form field `name` is `value`.
struct Form(&'static str, String);

impl wiremock::Match for Form {
    fn matches(&self, request: &Request) -> bool {
        url::form_urlencoded::parse(&request.body).any(|(k, v)| k == self.0 && v == self.1)
    }
}

fn token() -> String {
    jwt(&github_claims(
        "repo:octo-org/octo-repo:ref:refs/heads/main",
    ))
}

/// Token endpoint and STS: each role gets its own keys; roles in `refuse` get
/// AccessDenied.
fn stand_in(refuse: &[&str]) -> StsStandIn {
    let mut sts = StsStandIn::new().token(&token());
    for (name, account, role, _, session) in PROFILES {
        let op = if name == "audit" {
            ASSUME_ROLE
        } else {
            WEB_IDENTITY
        };
        let response = if refuse.contains(&name) {
            ResponseTemplate::new(403).set_body_string(sts_error_xml(
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
                ERROR_REQUEST_ID,
            ))
        } else {
            ResponseTemplate::new(200).set_body_string(sts_assume_xml(
                op,
                &creds_of(account),
                &format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
            ))
        };
        sts = sts.mount(
            Mock::given(method("POST"))
                .and(Form("Action", op.into()))
                .and(Form(
                    "RoleArn",
                    format!("arn:aws:iam::{account}:role/{role}"),
                ))
                .respond_with(response),
        );
    }
    sts
}

fn step(sts: &StsStandIn) -> Scenario {
    Scenario::new()
        .oidc(&sts.uri())
        .input("aws-region", "eu-west-1")
        .input("roles", ROLES)
        .stand_in(sts)
}

fn all_secrets() -> Vec<String> {
    let mut secrets = vec![token()];
    for (_, account, ..) in PROFILES {
        let c = creds_of(account);
        secrets.extend([c.key_id, c.secret, c.token]);
    }
    secrets
}

/// The `[header]` sections of an INI file, each with its `key = value` lines.
fn ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = h.to_owned();
            assert!(!out.contains_key(h), "section [{h}] twice:\n{text}");
            out.insert(current.clone(), BTreeMap::new());
        } else if let Some((k, v)) = line.split_once(" = ") {
            out.get_mut(&current).unwrap().insert(k.into(), v.into());
        }
    }
    out
}

#[test]
fn six_profiles_from_one_token_request_chained_role_signed_by_its_source() {
    let sts = stand_in(&[]);
    // Debug logging on, as a re-run with debug logging would: still no secret in any log.
    let s = step(&sts)
        .input("default-profile", "prod")
        .env("ACTIONS_STEP_DEBUG", "true")
        .env("RUNNER_DEBUG", "1");
    let out = s.run();
    out.assert_success();
    assert!(out.stderr.contains("plan"), "no debug log:\n{}", out.stderr);

    // One token request for six roles: five AssumeRoleWithWebIdentity, one AssumeRole.
    let gets = out.requests.iter().filter(|r| r.method.as_str() == "GET");
    assert_eq!(gets.count(), 1);
    let posts: Vec<&Request> = out
        .requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    let web: Vec<&&Request> = posts
        .iter()
        .filter(|r| form(r)["Action"] == WEB_IDENTITY)
        .collect();
    assert_eq!(web.len(), 5);
    // Web identity calls are unsigned and carry the token; logs has its own session name.
    for r in &web {
        let f = form(r);
        assert!(!r.headers.contains_key("authorization"));
        assert_eq!(f["WebIdentityToken"], token());
        let expected = if f["RoleArn"].ends_with("/logs") {
            "logs-ship"
        } else {
            "GitHubActions"
        };
        assert_eq!(f["RoleSessionName"], expected);
    }
    // The chained call is signed with dev's keys and carries dev's session token.
    let chained: Vec<&&Request> = posts
        .iter()
        .filter(|r| form(r)["Action"] == ASSUME_ROLE)
        .collect();
    assert_eq!(chained.len(), 1);
    let dev = creds_of("111111111111");
    assert_eq!(signing_key(chained[0]), dev.key_id);
    assert_eq!(
        chained[0].headers["x-amz-security-token"].to_str().unwrap(),
        dev.token
    );
    let f = form(chained[0]);
    assert_eq!(f["ExternalId"], "x1");
    assert_eq!(f["DurationSeconds"], "3600");
    assert!(
        !f.keys().any(|k| k.starts_with("Tags")),
        "roles sends no session tags: {f:?}"
    );

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
    assert_eq!(
        Path::new(&env["AWS_SHARED_CREDENTIALS_FILE"]),
        dir.join("credentials")
    );

    // Every profile with its own region and its own keys, in files for the runner's user only.
    let config = ini(&std::fs::read_to_string(dir.join("config")).unwrap());
    let credentials = ini(&std::fs::read_to_string(dir.join("credentials")).unwrap());
    assert_eq!((config.len(), credentials.len()), (6, 6));
    for (name, account, _, region, _) in PROFILES {
        let c = creds_of(account);
        assert_eq!(config[&format!("profile {name}")]["region"], region);
        let keys = &credentials[name];
        assert_eq!(keys["aws_access_key_id"], c.key_id, "{name}");
        assert_eq!(keys["aws_secret_access_key"], c.secret, "{name}");
        assert_eq!(keys["aws_session_token"], c.token, "{name}");
    }
    for file in ["config", "credentials"] {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir.join(file)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file}");
    }

    // The `profiles` output: who each profile is, and no secret.
    let outputs = out.outputs();
    let profiles: serde_json::Value = serde_json::from_str(&outputs["profiles"]).unwrap();
    assert_eq!(profiles.as_object().unwrap().len(), 6);
    for (name, account, role, region, session) in PROFILES {
        let p = &profiles[name];
        assert_eq!(p["account"], account, "{name}");
        assert_eq!(
            p["arn"],
            format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
        );
        assert_eq!(p["expiration"], "2030-01-01T00:00:00Z");
        assert_eq!(p["region"], region);
    }
    assert_eq!(outputs["aws-account-id"], "333333333333");
    let secrets = all_secrets();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    out.assert_masked_and_not_leaked(&secrets);
    assert!(!out.env_file.contains("secret"), "a secret in GITHUB_ENV");

    // The post step removes both files and clears exactly what was exported.
    let state = file_commands_map(&out.state);
    assert_eq!(
        state["exported_env"],
        "AWS_PROFILE,AWS_CONFIG_FILE,AWS_SHARED_CREDENTIALS_FILE"
    );
    let post = Scenario::new()
        .arg("post")
        .env("STATE_exported_env", &state["exported_env"])
        .env("STATE_profile_files", &state["profile_files"]);
    let cleared = post.run();
    cleared.assert_success();
    assert!(!dir.join("config").exists() && !dir.join("credentials").exists());
    let names: Vec<String> = cleared.exported_env().into_keys().collect();
    assert_eq!(
        names,
        [
            "AWS_CONFIG_FILE",
            "AWS_PROFILE",
            "AWS_SHARED_CREDENTIALS_FILE"
        ]
    );
}

#[test]
fn without_default_profile_no_profile_is_selected() {
    let sts = stand_in(&[]);
    let mut s = step(&sts);
    let out = s.run();
    out.assert_success();
    let env = out.exported_env();
    assert!(!env.contains_key("AWS_PROFILE"), "{env:?}");
    assert!(!env.contains_key("AWS_REGION"), "{env:?}");
    assert!(!out.outputs().contains_key("aws-account-id"));
    assert!(out.summary.contains("| `audit` |"), "{}", out.summary);

    // A second step with the same names is refused, unless it may overwrite.
    s.reset_files();
    let out = s.run();
    out.assert_failed_cleanly();
    assert!(
        out.error_line()
            .contains("Input `roles`: profile `dev` already exists"),
        "{}",
        out.error_line()
    );
    let mut s = s.input("overwrite-aws-profile", "true");
    s.reset_files();
    s.run().assert_success();
}

#[test]
fn failing_roles_write_nothing_and_each_is_explained() {
    let sts = stand_in(&["dev", "prod"]);
    let s = step(&sts).input("default-profile", "stage");
    let out = s.run();
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
        let rest = &out.stdout[at + head.len()..];
        let section = &rest[..rest.find("Profile `").unwrap_or(rest.len())];
        assert!(section.contains(&format!("Role: {arn}")), "{section}");
        assert!(
            section.contains("sub               repo:octo-org/octo-repo:ref:refs/heads/main"),
            "the claims are not explained: {section}"
        );
        assert!(
            section.contains(
                "\"token.actions.githubusercontent.com:sub\": \"repo:octo-org/octo-repo:ref:refs/heads/main\""
            ),
            "no admitting condition: {section}"
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
    let gets = out.requests.iter().filter(|r| r.method.as_str() == "GET");
    assert_eq!(gets.count(), 1);
    assert!(out.sts_calls().iter().all(|f| f["Action"] != ASSUME_ROLE));
}

#[test]
fn an_account_outside_allowed_account_ids_fails_that_profile() {
    let sts = stand_in(&[]);
    let allowed = "111111111111,222222222222,333333333333,444444444444,666666666666";
    let out = step(&sts).input("allowed-account-ids", allowed).run();
    out.assert_failed_cleanly();
    let error = out.error_line();
    assert!(
        error.contains("1 of 6 roles") && error.contains("logs (account 555555555555 not allowed)"),
        "{error}"
    );
}

#[test]
fn a_bad_line_changes_nothing_and_names_the_line() {
    let sts = stand_in(&[]);
    let roles = format!("{ROLES}extra = arn:aws:iam::777777777777:role/x regoin=eu-west-1\n");
    let out = step(&sts).input("roles", &roles).run();
    out.assert_failed_cleanly();
    assert!(
        out.error_line().contains("line 9: unknown key `regoin`"),
        "{}",
        out.error_line()
    );
    assert!(out.requests.is_empty(), "a request was made");
}

/// A later step (python3 with boto3), with only the variables the action exported.
fn later_step(env: &BTreeMap<String, String>, script: &str, args: &[&str]) -> String {
    // An empty home: no ~/.aws of this machine can supply a profile.
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .env_clear()
        // The test's own PATH: the python3 that has boto3.
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

#[test]
#[ignore = "needs moto: run by scripts/test.sh"]
fn profiles_against_moto_work_for_a_later_steps_sdk() {
    require(&[Tool::Moto]);
    let moto = Moto::start(LOCALHOST);
    let tokens = StsStandIn::new().token(&token());
    let s = Scenario::new()
        .oidc(&tokens.uri())
        .input("aws-region", "eu-west-1")
        .input("roles", ROLES)
        .input("default-profile", "dev")
        .stand_in(&tokens)
        // STS is moto; the stand-in only serves the token.
        .input("sts-endpoint", &moto.url());
    let out = s.run();
    out.assert_success();
    assert_eq!(tokens.token_requests().len(), 1);
    let profiles: serde_json::Value = serde_json::from_str(&out.outputs()["profiles"]).unwrap();
    let env = out.exported_env();
    // botocore, as a later step: each profile (the default one by AWS_PROFILE)
    // signs GetCallerIdentity with its own keys, in its own region, and moto
    // says whose they are.
    let script = r#"
import json, sys, boto3
out = {}
for name in sys.argv[2:]:
    s = boto3.Session() if name == "dev" else boto3.Session(profile_name=name)
    who = s.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()
    out[name] = {"region": s.region_name, "arn": who["Arn"], "account": who["Account"]}
print(json.dumps(out))
"#;
    let url = moto.url();
    let mut args = vec![url.as_str()];
    args.extend(PROFILES.iter().map(|p| p.0));
    let read: serde_json::Value = serde_json::from_str(&later_step(&env, script, &args)).unwrap();
    for (name, account, role, region, session) in PROFILES {
        assert_eq!(read[name]["region"], region, "{name}");
        assert_eq!(read[name]["account"], account, "{name}: {read}");
        assert_eq!(read[name]["arn"], profiles[name]["arn"], "{name}");
        assert_eq!(
            read[name]["arn"],
            format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
        );
    }
}

#[test]
#[ignore = "needs moto: run by scripts/test.sh"]
fn keys_sign_the_roots_and_each_chained_call_is_signed_by_its_source_against_moto_iam() {
    require(&[Tool::Moto]);
    // moto checks signatures and policies after the six set-up calls.
    let moto = Moto::start_with(LOCALHOST, &[("INITIAL_NO_AUTH_ACTION_COUNT", "6")]);
    let setup = std::process::Command::new("python3")
        .arg(repo_root().join("tests/it/fixtures/moto_roles.py"))
        .arg(moto.url())
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let ids: serde_json::Value = serde_json::from_slice(&setup.stdout).unwrap();
    let text = |deploy_settings: &str| {
        format!(
            "deploy = {} {deploy_settings}\nread = {} via=deploy region=us-west-2\n",
            ids["deploy"].as_str().unwrap(),
            ids["read"].as_str().unwrap()
        )
    };
    let step = |roles: &str| {
        Scenario::new()
            .input("aws-access-key-id", ids["access_key_id"].as_str().unwrap())
            .input(
                "aws-secret-access-key",
                ids["secret_access_key"].as_str().unwrap(),
            )
            .input("aws-region", "us-east-1")
            .input("sts-endpoint", &moto.url())
            .input("roles", roles)
            // Ambient credentials must never sign anything: moto would refuse them.
            .env("AWS_ACCESS_KEY_ID", "AKIAAMBIENT000000001")
            .env("AWS_SECRET_ACCESS_KEY", "ambient")
    };
    let out = step(&text("external-id=ext-123")).run();
    out.assert_success();
    let profiles: serde_json::Value = serde_json::from_str(&out.outputs()["profiles"]).unwrap();
    assert_eq!(
        profiles["deploy"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions"
    );
    assert_eq!(
        profiles["read"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/read/GitHubActions"
    );
    assert_eq!(profiles["read"]["region"], "us-west-2");
    out.assert_masked_and_not_leaked(&[ids["secret_access_key"].as_str().unwrap()]);

    // The control: read trusts only deploy's session named GitHubActions, so with
    // another session name for deploy, moto refuses read (and nothing is written).
    let out = step(&text("external-id=ext-123 session-name=other")).run();
    out.assert_failed_cleanly();
    let error = out.error_line();
    assert!(
        error.contains("1 of 2 roles") && error.contains("read (AccessDenied)"),
        "{error}"
    );
    assert!(
        out.stdout
            .contains("assumed-role/deploy/other is not authorized"),
        "{}",
        out.stdout
    );

    // The wrong external id: deploy is refused by moto, read is never tried, nothing is written.
    let out = step(&text("external-id=wrong-id")).run();
    out.assert_failed_cleanly();
    let error = out.error_line();
    assert!(
        error.contains("2 of 2 roles")
            && error.contains("deploy (AccessDenied)")
            && error.contains("read (its source `deploy` failed)"),
        "{error}"
    );
}

/// `keyless-aws assume --roles FILE` outside any CI, with the token in a variable.
fn cli(sts: &StsStandIn, roles: &str, extra: &[&str]) -> (Scenario, Outcome) {
    let mut s = Scenario::bare()
        .remove_env("GITHUB_ACTIONS")
        .file("workspace/roles.txt", roles)
        .env("CI_TOKEN", &token())
        .stand_in(sts)
        .arg("assume");
    let file = s.path("workspace/roles.txt").to_string_lossy().into_owned();
    let uri = sts.uri();
    for arg in [
        "--roles",
        &file,
        "--token-env",
        "CI_TOKEN",
        "--sts-endpoint",
        &uri,
    ]
    .iter()
    .chain(extra)
    {
        s = s.arg(arg);
    }
    let out = s.run();
    (s, out)
}

#[test]
fn cli_assume_roles_prints_every_profile_and_signs_chained_calls_with_their_source() {
    let sts = stand_in(&[]);
    let (_s, out) = cli(&sts, ROLES, &["--region", "eu-west-1"]);
    out.assert_success();
    let printed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(printed.as_object().unwrap().len(), 6, "{}", out.stdout);
    for (name, account, role, region, session) in PROFILES {
        let c = creds_of(account);
        let p = &printed[name];
        assert_eq!(p["AccessKeyId"], c.key_id.as_str(), "{name}");
        assert_eq!(p["SecretAccessKey"], c.secret.as_str());
        assert_eq!(p["SessionToken"], c.token.as_str());
        assert_eq!(p["Region"], region, "{name}");
        assert_eq!(
            p["Arn"],
            format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
        );
    }
    let chained: Vec<&Request> = out
        .requests
        .iter()
        .filter(|r| r.method.as_str() == "POST" && form(r)["Action"] == ASSUME_ROLE)
        .collect();
    assert_eq!(chained.len(), 1);
    assert_eq!(signing_key(chained[0]), creds_of("111111111111").key_id);
    assert_eq!(form(chained[0])["ExternalId"], "x1");
    for secret in all_secrets() {
        assert!(!out.stderr.contains(&secret), "a secret on stderr");
    }
}

#[test]
fn cli_assume_roles_prints_nothing_when_a_role_fails() {
    let sts = stand_in(&["dev"]);
    let (_s, out) = cli(&sts, ROLES, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "printed: {}", out.stdout);
    assert!(
        out.stderr
            .contains("2 of 6 roles could not be assumed: dev, audit"),
        "{}",
        out.stderr
    );
    assert!(out
        .stderr
        .contains("Profile `dev` (line 2): AssumeRoleWithWebIdentity failed with AccessDenied"));
    assert!(out
        .stderr
        .contains("\"token.actions.githubusercontent.com:sub\": \"repo:octo-org/octo-repo:ref:refs/heads/main\""));
    assert!(out.stderr.contains(
        "Profile `audit` (line 8): not attempted, because its `via` profile `dev` failed"
    ));
    // Bad flags and lines change nothing and make no request.
    let (_s, out) = cli(&sts, ROLES, &["--format", "env"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--format json"), "{}", out.stderr);
    let (_s, out) = cli(
        &sts,
        "dev = arn:aws:iam::111111111111:role/x via=dev\n",
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("line 1: `via=dev` names its own profile"),
        "{}",
        out.stderr
    );
    assert!(out.requests.is_empty());
}

#[test]
fn mask_aws_account_id_masks_every_account_before_it_is_logged() {
    let sts = stand_in(&[]);
    let out = step(&sts).input("mask-aws-account-id", "true").run();
    out.assert_success();
    for (name, account, ..) in PROFILES {
        let mask = format!("::add-mask::{account}");
        let masked_at = out
            .stdout
            .lines()
            .position(|l| l == mask)
            .unwrap_or_else(|| panic!("{account} not masked:\n{}", out.stdout));
        let first_use = out
            .stdout
            .lines()
            .position(|l| !l.starts_with("::add-mask::") && l.contains(account))
            .unwrap_or(usize::MAX);
        assert!(masked_at < first_use, "{account} logged before its mask");
        assert!(
            out.summary
                .contains(&format!("| `{name}` | `***` | `***` |")),
            "{}",
            out.summary
        );
    }
}
