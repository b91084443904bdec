//! `cognito-identity-pool-id`: the job's token as an identity pool's login
//! (GetId + GetCredentialsForIdentity), against an in-process stand-in that
//! checks every parameter and injects each refusal class, and against moto's
//! Cognito Identity and STS with botocore as the later step.

use crate::snapshots::user_view;
use crate::support::moto::Moto;
use crate::support::stand_in::WEB_IDENTITY;
use crate::support::*;

const POOL: &str = "eu-west-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const IDENTITY: &str = "eu-west-1:11111111-2222-3333-4444-555555555555";
const GITHUB_LOGIN: &str = "token.actions.githubusercontent.com";
const POOL_ROLE_ARN: &str =
    "arn:aws:sts::123456789012:assumed-role/github-abac/CognitoIdentityCredentials";

/// The token endpoint, Cognito and STS on one stand-in: GetId and
/// GetCredentialsForIdentity answer, GetCallerIdentity names the pool's role.
fn pool_stand_in(token: &str) -> StsStandIn {
    StsStandIn::new()
        .token(token)
        .cognito("GetId", 200, serde_json::json!({ "IdentityId": IDENTITY }))
        .cognito(
            "GetCredentialsForIdentity",
            200,
            serde_json::json!({
                "IdentityId": IDENTITY,
                "Credentials": {
                    "AccessKeyId": ACCESS_KEY_ID,
                    "SecretKey": SECRET_KEY,
                    "SessionToken": SESSION_TOKEN,
                    "Expiration": 1893456000.0
                }
            }),
        )
        .caller("123456789012", POOL_ROLE_ARN)
}

/// A step with the pool: token, Cognito and STS all on `sts`.
fn pool_step(sts: &StsStandIn) -> Scenario {
    Scenario::new()
        .oidc(&sts.uri())
        .input("cognito-identity-pool-id", POOL)
        .input("aws-region", "eu-west-1")
        .input("disable-retry", "true")
        .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY", &sts.uri())
        .stand_in(sts)
}

fn token() -> String {
    jwt(&github_claims(
        "repo:octo-org/octo-repo:ref:refs/heads/main",
    ))
}

#[test]
fn the_token_is_the_pools_login_for_its_issuer() {
    let token = token();
    let sts = pool_stand_in(&token);
    // Debug logging on, as a re-run with debug logging would: still no secret in any log.
    let out = pool_step(&sts)
        .env("ACTIONS_STEP_DEBUG", "true")
        .env("RUNNER_DEBUG", "1")
        .env("RUST_LOG", "trace")
        .run();
    out.assert_success();
    assert!(
        out.stderr.contains("identity pool issued credentials"),
        "no debug log:\n{}",
        out.stderr
    );
    let calls = sts.cognito_calls();
    let ops: Vec<&str> = calls.iter().map(|(op, _)| op.as_str()).collect();
    assert_eq!(ops, ["GetId", "GetCredentialsForIdentity"]);
    let logins = serde_json::json!({ GITHUB_LOGIN: token });
    assert_eq!(
        calls[0].1,
        serde_json::json!({ "IdentityPoolId": POOL, "Logins": logins })
    );
    assert_eq!(
        calls[1].1,
        serde_json::json!({ "IdentityId": IDENTITY, "Logins": logins }),
        "no CustomRoleArn without role-to-assume"
    );
    // Whose credentials: GetCallerIdentity signed with the pool's key.
    let sts_calls = sts.sts_calls();
    assert_eq!(sts_calls.len(), 1, "{sts_calls:?}");
    assert_eq!(sts_calls[0]["Action"], "GetCallerIdentity");
    let env = out.exported_env();
    assert_eq!(env["AWS_ACCESS_KEY_ID"], ACCESS_KEY_ID);
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], SECRET_KEY);
    assert_eq!(env["AWS_SESSION_TOKEN"], SESSION_TOKEN);
    assert_eq!(env["AWS_REGION"], "eu-west-1");
    let outputs = out.outputs();
    assert_eq!(outputs["aws-account-id"], "123456789012");
    assert_eq!(outputs["authenticated-arn"], POOL_ROLE_ARN);
    out.assert_masked_and_not_leaked(&[ACCESS_KEY_ID, SECRET_KEY, SESSION_TOKEN, &token]);
}

#[test]
fn role_to_assume_is_the_custom_role_arn() {
    let sts = pool_stand_in(&token());
    let out = pool_step(&sts).input("role-to-assume", ROLE).run();
    out.assert_success();
    let calls = sts.cognito_calls();
    assert_eq!(calls[1].0, "GetCredentialsForIdentity");
    assert_eq!(calls[1].1["CustomRoleArn"], ROLE);
}

#[test]
fn an_account_outside_allowed_account_ids_exports_nothing() {
    let sts = pool_stand_in(&token());
    let out = pool_step(&sts)
        .input("allowed-account-ids", "111111111111")
        .run();
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("123456789012"), "{}", out.stdout);
    assert!(!out.env_file.contains(SECRET_KEY));
}

#[test]
fn a_bad_pool_id_or_a_second_source_is_refused_before_any_request() {
    let sts = pool_stand_in(&token());
    for s in [
        pool_step(&sts).input("cognito-identity-pool-id", "eu-west-1"),
        pool_step(&sts)
            .input("aws-access-key-id", "AKIAIOSFODNN7EXAMPLE")
            .input(
                "aws-secret-access-key",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
        pool_step(&sts).input("refresh-credentials", "true"),
    ] {
        let out = s.run();
        out.assert_failed_cleanly();
        assert!(
            out.error_line().contains("cognito-identity-pool-id"),
            "{}",
            out.stdout
        );
    }
    assert!(sts.requests().is_empty(), "{:?}", sts.requests());
}

#[test]
fn session_inputs_are_ignored_with_a_warning() {
    let sts = pool_stand_in(&token());
    let out = pool_step(&sts).input("role-duration-seconds", "7200").run();
    out.assert_success();
    assert!(
        out.stdout.contains("::warning")
            && out.stdout.contains("role-duration-seconds")
            && out.stdout.contains("Cognito assumes the role itself"),
        "{}",
        out.stdout
    );
}

/// A stand-in whose `operation` refuses with `code`: the refusal's user view.
fn refused(operation: &str, code: &str, message: &str, claims: serde_json::Value) -> String {
    let mut sts = StsStandIn::new().token(&jwt(&claims));
    if operation == "GetCredentialsForIdentity" {
        sts = sts.cognito("GetId", 200, serde_json::json!({ "IdentityId": IDENTITY }));
    }
    let sts = sts.cognito_error(operation, code, message);
    user_view(&pool_step(&sts))
}

/// A push's token as GitHub issues it: every claim `setup --abac` maps but
/// `environment` (the job names none).
fn claims() -> serde_json::Value {
    let mut claims = github_claims("repo:octo-org/octo-repo:ref:refs/heads/main");
    for (name, value) in [
        ("repository_owner", "octo-org"),
        ("actor", "octocat"),
        ("repository_id", "123456789"),
        ("repository_owner_id", "987654321"),
    ] {
        claims[name] = value.into();
    }
    claims
}

#[test]
fn cognito_pool_not_found() {
    insta::assert_snapshot!(refused(
        "GetId",
        "ResourceNotFoundException",
        &format!("IdentityPool '{POOL}' not found."),
        claims()
    ));
}

#[test]
fn cognito_provider_not_a_login() {
    insta::assert_snapshot!(refused(
        "GetId",
        "NotAuthorizedException",
        "Token is not from a supported provider of this identity pool.",
        claims()
    ));
}

#[test]
fn cognito_audience_not_a_client_id() {
    insta::assert_snapshot!(refused(
        "GetId",
        "NotAuthorizedException",
        "Invalid login token. Incorrect token audience.",
        claims()
    ));
}

#[test]
fn cognito_role_not_offered() {
    let sts = StsStandIn::new()
        .token(&jwt(&claims()))
        .cognito("GetId", 200, serde_json::json!({ "IdentityId": IDENTITY }))
        .cognito_error(
            "GetCredentialsForIdentity",
            "InvalidParameterException",
            "Invalid CustomRoleArn.",
        );
    insta::assert_snapshot!(user_view(&pool_step(&sts).input("role-to-assume", ROLE)));
}

#[test]
fn cognito_pool_role_refused() {
    insta::assert_snapshot!(refused(
        "GetCredentialsForIdentity",
        "InvalidIdentityPoolConfigurationException",
        "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
        claims()
    ));
}

#[test]
fn cognito_mapped_claim_missing() {
    insta::assert_snapshot!(refused(
        "GetCredentialsForIdentity",
        "InvalidParameterException",
        "Principal tag mapping refers to claim 'environment', which is not present in the token.",
        claims()
    ));
}

#[test]
fn cognito_unreachable() {
    let sts = StsStandIn::new().token(&jwt(&claims()));
    let s = pool_step(&sts).env("AWS_ENDPOINT_URL_COGNITO_IDENTITY", &closed_url());
    insta::assert_snapshot!(user_view(&s));
}

#[test]
#[ignore = "needs moto: run by scripts/test.sh"]
fn a_moto_identity_pool_exports_credentials_a_later_step_uses() {
    require(&[Tool::Moto]);
    let moto = Moto::start(LOCALHOST);
    let pool = moto.identity_pool("eu-west-1");
    assert!(pool.starts_with("eu-west-1:"), "{pool}");
    let token = token();
    let token_endpoint = StsStandIn::new().token(&token);
    let out = Scenario::new()
        .oidc(&token_endpoint.uri())
        .input("cognito-identity-pool-id", &pool)
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", &moto.url())
        .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY", &moto.url())
        .run();
    out.assert_success();
    let env = out.exported_env();
    let (akid, secret, session) = (
        env["AWS_ACCESS_KEY_ID"].clone(),
        env["AWS_SECRET_ACCESS_KEY"].clone(),
        env["AWS_SESSION_TOKEN"].clone(),
    );
    assert!(!akid.is_empty() && !secret.is_empty() && !session.is_empty());
    assert_eq!(out.outputs()["aws-account-id"], "123456789012");
    out.assert_masked_and_not_leaked(&[&akid, &secret, &session, &token]);
    // A later step's SDK (botocore) signs with what was exported.
    let caller = moto.caller_identity(&akid, &secret, &session, "eu-west-1");
    assert_eq!(caller["Account"], "123456789012", "{caller}");
}

/// `setup --abac` for octo-org: everything it prints.
fn abac_output() -> String {
    let out = Scenario::new()
        .arg("setup")
        .arg("--abac")
        .arg("--owner")
        .arg("octo-org")
        .arg("--region")
        .arg("eu-west-1")
        .run();
    out.assert_success();
    out.stdout
}

/// The text between two lines that start with these markers (the first included).
fn block<'a>(text: &'a str, from: &str, to: &str) -> &'a str {
    let start = text.find(from).unwrap_or_else(|| panic!("no {from:?}"));
    let end = text[start..]
        .find(to)
        .unwrap_or_else(|| panic!("no {to:?}"));
    &text[start..start + end]
}

/// The body of the heredoc that writes `file`.
fn heredoc(text: &str, file: &str) -> String {
    let head = text
        .lines()
        .position(|l| l.starts_with(&format!("cat > {file} <<")))
        .unwrap_or_else(|| panic!("no heredoc for {file}"));
    text.lines()
        .skip(head + 1)
        .take_while(|l| *l != "EOF")
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn setup_abac() {
    insta::assert_snapshot!(abac_output());
}

/// check-trust evaluates the printed trust policy: Cognito's token for this
/// pool with the owner's tag is allowed; another pool, an unauthenticated
/// identity or another owner's job is not.
#[test]
fn setup_abac_trust_policy_is_evaluated_by_check_trust() {
    let text = abac_output();
    let policy = heredoc(&text, "abac-trust-policy.json").replace("$POOL_ID", POOL);
    let cognito_token = |aud: &str, amr: &str| {
        serde_json::json!({
            "iss": "https://cognito-identity.amazonaws.com", "aud": aud, "sub": IDENTITY,
            "amr": [amr, GITHUB_LOGIN, format!("{GITHUB_LOGIN}:repo:octo-org/octo-repo:ref:refs/heads/main")]
        })
        .to_string()
    };
    let other_pool = "eu-west-1:99999999-0000-0000-0000-000000000000";
    for (claims, owner, code) in [
        (cognito_token(POOL, "authenticated"), "octo-org", 0),
        (cognito_token(other_pool, "authenticated"), "octo-org", 1),
        (cognito_token(POOL, "unauthenticated"), "octo-org", 1),
        (cognito_token(POOL, "authenticated"), "evil-org", 1),
    ] {
        let s = Scenario::bare()
            .file("policy.json", &policy)
            .file("claims.json", &claims);
        let (policy_path, claims_path) = (s.path("policy.json"), s.path("claims.json"));
        let s = s
            .arg("check-trust")
            .arg("--policy")
            .arg(policy_path.to_str().unwrap())
            .arg("--claims")
            .arg(claims_path.to_str().unwrap())
            .arg("--context")
            .arg(&format!("aws:RequestTag/repository_owner={owner}"));
        let out = s.run();
        assert_eq!(out.code, code, "{claims} {owner}:\n{}", out.stdout);
    }
}

/// The AWS CLI block: bash syntax (`bash -n`), and every command, flag and
/// file against botocore's service models (tests/it/fixtures/check_aws_cli.py).
#[test]
#[ignore = "needs python3 with botocore (moto's): run by scripts/test.sh"]
fn setup_abac_cli_commands_are_valid() {
    require(&[Tool::Moto]);
    let text = abac_output();
    let cli = block(&text, "# AWS CLI", "# Terraform");
    let check = |script: &str, program: &str, args: &[&str]| {
        let mut child = std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let syntax = check(cli, "bash", &["-n"]);
    assert!(syntax.status.success(), "{syntax:?}");
    let checker = repo_root().join("tests/it/fixtures/check_aws_cli.py");
    let checker = checker.to_str().unwrap();
    let models = check(cli, "python3", &[checker]);
    let report = String::from_utf8_lossy(&models.stdout);
    assert!(models.status.success(), "{report}");
    assert_eq!(report.lines().count(), 6, "{report}");
    // The checker does refuse a wrong flag.
    let broken = check("aws iam create-role --role-nam x\n", "python3", &[checker]);
    assert!(!broken.status.success());
}

/// The Terraform block is exactly what `terraform fmt` would write.
#[test]
#[ignore = "needs terraform: run by scripts/test.sh"]
fn setup_abac_terraform_is_formatted() {
    require(&[Tool::Terraform]);
    let text = abac_output();
    let hcl = block(
        &text,
        "resource \"aws_iam_openid_connect_provider\"",
        "# Workflow step",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), hcl).unwrap();
    let out = std::process::Command::new("terraform")
        .args(["fmt", "-check", "-diff", "main.tf"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `keyless-aws assume --identity-pool-id`: the same two calls in any CI,
/// the credentials on stdout, and a refusal explained on stderr.
#[test]
fn assume_with_an_identity_pool_prints_the_pools_credentials() {
    let token = token();
    let sts = pool_stand_in(&token);
    let assume = |sts: &StsStandIn, extra: &[&str]| {
        let mut s = Scenario::bare()
            .env("MY_TOKEN", &token)
            .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY", &sts.uri())
            .arg("assume")
            .arg("--identity-pool-id")
            .arg(POOL)
            .arg("--token-env")
            .arg("MY_TOKEN")
            .arg("--format")
            .arg("json");
        for a in extra {
            s = s.arg(a);
        }
        s.run()
    };
    let out = assume(&sts, &["--role-arn", ROLE]);
    out.assert_success();
    let printed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(printed["AccessKeyId"], ACCESS_KEY_ID);
    assert_eq!(printed["SessionToken"], SESSION_TOKEN);
    let calls = sts.cognito_calls();
    assert_eq!(calls[0].1["Logins"][GITHUB_LOGIN], token.as_str());
    assert_eq!(calls[1].1["CustomRoleArn"], ROLE);

    let refusing = StsStandIn::new().cognito_error(
        "GetId",
        "ResourceNotFoundException",
        "IdentityPool not found.",
    );
    let out = assume(&refusing, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr
            .contains("GetId failed with ResourceNotFoundException")
            && out.stderr.contains("list-identity-pools"),
        "{}",
        out.stderr
    );
}

/// `roles`: a line with `identity-pool=` is the pool's login (its ARN the
/// CustomRoleArn) next to a plain web identity line; both profiles written.
#[test]
fn a_roles_line_can_name_an_identity_pool() {
    let token = token();
    let sts = pool_stand_in(&token).assume(WEB_IDENTITY);
    let roles = format!(
        "abac = arn:aws:iam::123456789012:role/github-abac identity-pool={POOL}\n\
         prod = {ROLE} region=us-west-2\n"
    );
    let s = Scenario::new()
        .oidc(&sts.uri())
        .input("roles", &roles)
        .input("aws-region", "eu-west-1")
        .input("disable-retry", "true")
        .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY", &sts.uri())
        .stand_in(&sts);
    let out = s.run();
    out.assert_success();
    let calls = sts.cognito_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].1["Logins"][GITHUB_LOGIN], token.as_str());
    assert_eq!(
        calls[1].1["CustomRoleArn"],
        "arn:aws:iam::123456789012:role/github-abac"
    );
    let web: Vec<_> = sts
        .sts_calls()
        .into_iter()
        .filter(|f| f["Action"] == "AssumeRoleWithWebIdentity")
        .collect();
    assert_eq!(web.len(), 1, "only `prod` goes to STS");
    assert_eq!(web[0]["RoleArn"], ROLE);
    let credentials =
        std::fs::read_to_string(s.path("temp").join(".keyless-aws").join("credentials")).unwrap();
    assert!(
        credentials.contains("[abac]") && credentials.contains("[prod]"),
        "{credentials}"
    );
    out.assert_masked_and_not_leaked(&[SECRET_KEY, SESSION_TOKEN, &token]);

    // The refresh helper only repeats AssumeRoleWithWebIdentity: a pool
    // line with refresh-credentials is refused, not refreshed as something else.
    let out = Scenario::new()
        .oidc(&sts.uri())
        .input("roles", &roles)
        .input("aws-region", "eu-west-1")
        .input("refresh-credentials", "true")
        .run();
    out.assert_failed_cleanly();
    assert!(
        out.error_line().contains("identity pool"),
        "{}",
        out.error_line()
    );

    // Session settings cannot apply to a pool line.
    let bad = format!("abac = {ROLE} identity-pool={POOL} duration=7200\n");
    let out = Scenario::new()
        .oidc(&sts.uri())
        .input("roles", &bad)
        .input("aws-region", "eu-west-1")
        .run();
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("identity-pool"), "{}", out.stdout);
}

/// `special-characters-workaround`: the pool is asked again until the secret
/// key is letters and digits, as STS is.
#[test]
fn special_characters_workaround_asks_the_pool_again() {
    use wiremock::matchers::{header, method};
    let special = "special/Secret+Key=0000000000000000000000000";
    let first = wiremock::Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            "AWSCognitoIdentityService.GetCredentialsForIdentity",
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("content-type", "application/x-amz-json-1.1")
                .set_body_json(serde_json::json!({
                    "IdentityId": IDENTITY,
                    "Credentials": {
                        "AccessKeyId": "ASIAFIRSTANSWER00001",
                        "SecretKey": special,
                        "SessionToken": "FirstSessionToken0000",
                        "Expiration": 1893456000.0
                    }
                })),
        )
        .up_to_n_times(1)
        .with_priority(1);
    let sts = pool_stand_in(&token()).mount(first);
    let out = pool_step(&sts)
        .input("special-characters-workaround", "true")
        .run();
    out.assert_success();
    let ops: Vec<String> = sts.cognito_calls().into_iter().map(|(op, _)| op).collect();
    // Each attempt is the whole exchange (GetId answers the same identity again).
    assert_eq!(
        ops,
        [
            "GetId",
            "GetCredentialsForIdentity",
            "GetId",
            "GetCredentialsForIdentity"
        ]
    );
    assert_eq!(out.exported_env()["AWS_SECRET_ACCESS_KEY"], SECRET_KEY);
    out.assert_masked_and_not_leaked(&[special]);
}

/// An endpoint that answers, but not as Cognito: explained as such, never as
/// "could not be reached", and nothing exported.
#[test]
fn an_answer_that_is_not_cognitos_is_named_so() {
    let sts = StsStandIn::new().token(&token()).mount(
        wiremock::Mock::given(wiremock::matchers::method("POST")).respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html>captive portal</html>"),
        ),
    );
    let out = pool_step(&sts).run();
    out.assert_failed_cleanly();
    assert!(
        out.error_line().contains("the answer is not valid"),
        "{}",
        out.error_line()
    );
    assert!(
        out.stdout
            .contains("something other than Cognito may be answering"),
        "{}",
        out.stdout
    );
}
