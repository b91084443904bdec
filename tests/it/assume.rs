//! `keyless-aws assume` in each CI, emulated by the variables that CI sets (and
//! a stand-in `buildkite-agent` on PATH): the token each CI offers is the one
//! sent to STS; what is printed is what shells, dotenv readers and botocore
//! read back; a missing token names what that CI needs.
//!
//! STS is wiremock where a test inspects the request or injects a refusal, and
//! moto's server where the credentials must work for a real client.

use crate::support::*;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_keyless-aws");

fn claims(iss: &str, sub: &str, aud: &str) -> serde_json::Value {
    serde_json::json!({ "iss": iss, "sub": sub, "aud": aud })
}

fn gitlab_token() -> String {
    jwt(&claims(
        "https://gitlab.com",
        "project_path:g/p:ref_type:branch:ref:main",
        "sts.amazonaws.com",
    ))
}

/// STS's answer to AssumeRoleWithWebIdentity: the test's keys for role `deploy`.
fn issued() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(sts_assume_xml(
        "AssumeRoleWithWebIdentity",
        &Creds::standard(),
        "arn:aws:sts::123456789012:assumed-role/deploy/s",
    ))
}

/// STS that issues credentials for any AssumeRoleWithWebIdentity.
async fn sts_ok() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=AssumeRoleWithWebIdentity"))
        .respond_with(issued())
        .mount(&server)
        .await;
    server
}

/// The form fields of every STS request the server received.
async fn sts_requests(server: &MockServer) -> Vec<HashMap<String, String>> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| url::form_urlencoded::parse(&r.body).into_owned().collect())
        .collect()
}

/// A `buildkite-agent` that prints `token` only when asked exactly as
/// Buildkite documents (`oidc request-token --audience AUD`), and records its arguments.
fn stub_buildkite_agent(dir: &Path, token: &str) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("buildkite-agent");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > {args}\nif [ \"$1 $2 $3\" = \"oidc request-token --audience\" ] && [ -n \"$4\" ]; then echo '{token}'; else echo 'agent: bad usage' >&2; exit 3; fi\n",
            args = dir.join("agent-args").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn each_ci_sends_the_token_it_offers() {
    let sts = sts_ok().await;
    let role = "arn:aws:iam::123456789012:role/deploy";
    let token_of = |ci: &str| {
        jwt(&claims(
            "https://issuer.example",
            &format!("{ci}-subject"),
            "sts.amazonaws.com",
        ))
    };
    let base = |ci_vars: &[(&str, &str)]| {
        let mut r = Subcommand::new("assume").args(&[
            "--role-arn",
            role,
            "--sts-endpoint",
            &sts.uri(),
            "--format",
            "json",
        ]);
        for (k, v) in ci_vars {
            r = r.env(k, v);
        }
        r
    };
    let gitlab = gitlab_token();
    let (circle_v1, circle_v2, bitbucket, buildkite, custom) = (
        token_of("circle-v1"),
        token_of("circle-v2"),
        token_of("bitbucket"),
        token_of("buildkite"),
        token_of("custom"),
    );
    let buildkite_run = base(&[("BUILDKITE", "true")]).args(&["--audience", "aud-bk"]);
    stub_buildkite_agent(buildkite_run.dir.path(), &buildkite);
    let path = format!("{}:/usr/bin:/bin", buildkite_run.path("bin").display());
    let buildkite_run = buildkite_run.env("PATH", &path);

    let cases: Vec<(&str, Subcommand, &str, &str)> = vec![
        (
            "GitLab, conventional name",
            base(&[("GITLAB_CI", "true"), ("GITLAB_OIDC_TOKEN", &gitlab)]),
            &gitlab,
            "GitLabCI",
        ),
        (
            "GitLab, --token-env",
            base(&[
                ("GITLAB_CI", "true"),
                ("MY_ID_TOKEN", &custom),
                ("GITLAB_OIDC_TOKEN", &gitlab),
            ])
            .args(&["--token-env", "MY_ID_TOKEN"]),
            &custom,
            "GitLabCI",
        ),
        (
            "CircleCI prefers V2",
            base(&[
                ("CIRCLECI", "true"),
                ("CIRCLE_OIDC_TOKEN", &circle_v1),
                ("CIRCLE_OIDC_TOKEN_V2", &circle_v2),
            ]),
            &circle_v2,
            "CircleCI",
        ),
        (
            "CircleCI V1",
            base(&[("CIRCLECI", "true"), ("CIRCLE_OIDC_TOKEN", &circle_v1)]),
            &circle_v1,
            "CircleCI",
        ),
        (
            "Bitbucket",
            base(&[
                ("BITBUCKET_BUILD_NUMBER", "42"),
                ("BITBUCKET_STEP_OIDC_TOKEN", &bitbucket),
            ]),
            &bitbucket,
            "BitbucketPipelines",
        ),
        ("Buildkite", buildkite_run, &buildkite, "Buildkite"),
    ];
    for (name, run, token, session) in cases {
        sts.reset().await;
        Mock::given(method("POST"))
            .respond_with(issued())
            .mount(&sts)
            .await;
        let (out, run) = run.run_async().await;
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        let requests = sts_requests(&sts).await;
        assert_eq!(requests.len(), 1, "{name}");
        assert_eq!(requests[0]["WebIdentityToken"], *token, "{name}");
        assert_eq!(requests[0]["RoleArn"], role, "{name}");
        assert_eq!(requests[0]["RoleSessionName"], session, "{name}");
        let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(json["AccessKeyId"], ACCESS_KEY_ID, "{name}");
        assert_eq!(json["SessionToken"], SESSION_TOKEN, "{name}");
        // Outside GitHub Actions nothing is masked, so nothing secret may appear on stderr.
        for secret in [token, ACCESS_KEY_ID, SECRET_KEY, SESSION_TOKEN] {
            assert!(!out.stderr.contains(secret), "{name}: secret on stderr");
        }
        assert!(
            out.stderr.starts_with(
                "keyless-aws: assuming arn:aws:iam::123456789012:role/deploy (session "
            ),
            "{name}: {}",
            out.stderr
        );
        if name == "Buildkite" {
            let args = std::fs::read_to_string(run.path("agent-args")).unwrap();
            assert_eq!(args.trim(), "oidc request-token --audience aud-bk");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn github_actions_requests_its_token_and_masks_on_stderr() {
    let server = MockServer::start().await;
    let token = jwt(&github_claims(
        "repo:octo-org/octo-repo:ref:refs/heads/main",
    ));
    Mock::given(method("GET"))
        .and(path("/_apis/token"))
        .and(query_param("audience", "sts.amazonaws.com"))
        .and(header(
            "authorization",
            format!("bearer {REQUEST_TOKEN}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": token })),
        )
        .mount(&server)
        .await;
    let sts = sts_ok().await;
    let (out, _run) = Subcommand::new("assume")
        .env("GITHUB_ACTIONS", "true")
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            &format!("{}/_apis/token?api-version=2.0", server.uri()),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
        .args(&[
            "--role-arn",
            ROLE,
            "--sts-endpoint",
            &sts.uri(),
            "--region",
            "eu-west-1",
        ])
        .run_async()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(sts_requests(&sts).await[0]["WebIdentityToken"], token);
    assert_eq!(
        sts_requests(&sts).await[0]["RoleSessionName"],
        "GitHubActions"
    );
    // Masks go to stderr (the runner reads commands there too), so stdout stays `eval`-able.
    for secret in [
        REQUEST_TOKEN,
        token.as_str(),
        ACCESS_KEY_ID,
        SECRET_KEY,
        SESSION_TOKEN,
    ] {
        assert!(
            out.stderr.contains(&format!("::add-mask::{secret}\n")),
            "no mask on stderr"
        );
        assert_eq!(
            out.stderr.matches(secret).count(),
            1,
            "secret printed on stderr beyond its mask"
        );
    }
    assert_eq!(
        out.stdout,
        format!("export AWS_ACCESS_KEY_ID='{ACCESS_KEY_ID}'\nexport AWS_SECRET_ACCESS_KEY='{SECRET_KEY}'\nexport AWS_SESSION_TOKEN='{SESSION_TOKEN}'\nexport AWS_CREDENTIAL_EXPIRATION='2030-01-01T00:00:00Z'\nexport AWS_REGION='eu-west-1'\nexport AWS_DEFAULT_REGION='eu-west-1'\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_style_environment_needs_no_flags() {
    let sts = sts_ok().await;
    let run = Subcommand::new("assume");
    let token = jwt(&claims(
        "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC",
        "system:serviceaccount:apps:deployer",
        "sts.amazonaws.com",
    ));
    std::fs::write(run.path("token"), format!("{token}\n")).unwrap();
    let file = run.path("token").to_string_lossy().into_owned();
    let (out, _run) = run
        .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod")
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &file)
        .env("AWS_ROLE_SESSION_NAME", "pod-7")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ENDPOINT_URL_STS", &sts.uri())
        .args(&["--format", "dotenv"])
        .run_async()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let request = &sts_requests(&sts).await[0];
    assert_eq!(request["WebIdentityToken"], token);
    assert_eq!(request["RoleArn"], "arn:aws:iam::123456789012:role/pod");
    assert_eq!(request["RoleSessionName"], "pod-7");
    assert!(
        out.stdout
            .contains(&format!("AWS_SESSION_TOKEN={SESSION_TOKEN}\n")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("AWS_REGION=eu-west-1\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_is_explained_with_the_ci_claim_formats() {
    let sts = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_string(sts_error_xml(
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            ERROR_REQUEST_ID,
        )))
        .mount(&sts)
        .await;
    let bitbucket = jwt(&claims(
        "https://api.bitbucket.org/2.0/workspaces/ws/pipelines-config/identity/oidc",
        "{11111111-2222-4333-8444-555555555555}:{99999999-8888-4777-8666-555555555555}",
        "ari:cloud:bitbucket::workspace/aaaaaaaa-2222-4333-8444-555555555555",
    ));
    let cases = [
        ("GITLAB_OIDC_TOKEN", gitlab_token(), vec![
            "AssumeRoleWithWebIdentity failed with AccessDenied",
            "\"gitlab.com:aud\": \"sts.amazonaws.com\",\n      \"gitlab.com:sub\": \"project_path:g/p:ref_type:branch:ref:main\"",
            "\"StringLike\": { \"gitlab.com:sub\": \"project_path:g/p:*\" }",
            "the ref is a bare name (`main`), not `refs/heads/main`",
            "keyless-aws setup --ci gitlab",
            "note: --audience only applies where this program requests the token (GitHub Actions, Buildkite); the token from $GITLAB_OIDC_TOKEN was issued for aud sts.amazonaws.com",
        ]),
        ("BITBUCKET_STEP_OIDC_TOKEN", bitbucket, vec![
            "oidc-provider/api.bitbucket.org/2.0/workspaces/ws/pipelines-config/identity/oidc",
            "\"StringLike\": { \"api.bitbucket.org/2.0/workspaces/ws/pipelines-config/identity/oidc:sub\": \"{11111111-2222-4333-8444-555555555555}:*\" }",
            "changes on every run",
        ]),
    ];
    for (var, token, expected) in cases {
        let (out, _run) = Subcommand::new("assume")
            .env(var, &token)
            .args(&[
                "--role-arn",
                ROLE,
                "--token-env",
                var,
                "--sts-endpoint",
                &sts.uri(),
                "--audience",
                "wrong-aud",
            ])
            .run_async()
            .await;
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert_eq!(out.stdout, "");
        for text in expected {
            assert!(
                out.stderr.contains(text),
                "{var}: missing {text:?} in\n{}",
                out.stderr
            );
        }
        assert!(
            !out.stderr.contains("token.actions.githubusercontent.com"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains(&token), "token on stderr");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn github_format_masks_then_writes_github_env_outside_the_work_tree() {
    let sts = sts_ok().await;
    let run = Subcommand::new("assume");
    std::fs::write(run.path("github_env"), "EARLIER=kept\n").unwrap();
    let env_file = run.path("github_env").to_string_lossy().into_owned();
    let (out, run) = run
        .env("GITLAB_OIDC_TOKEN", &gitlab_token())
        .env("GITHUB_ENV", &env_file)
        .args(&[
            "--role-arn",
            ROLE,
            "--token-env",
            "GITLAB_OIDC_TOKEN",
            "--sts-endpoint",
            &sts.uri(),
            "--format",
            "github",
        ])
        .run_async()
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written = std::fs::read_to_string(run.path("github_env")).unwrap();
    let entries = file_commands_map(written.strip_prefix("EARLIER=kept\n").unwrap());
    assert_eq!(entries["AWS_SECRET_ACCESS_KEY"], SECRET_KEY);
    assert_eq!(entries["AWS_SESSION_TOKEN"], SESSION_TOKEN);
    for secret in [ACCESS_KEY_ID, SECRET_KEY, SESSION_TOKEN] {
        let mask = format!("::add-mask::{secret}");
        assert!(out.stdout.lines().any(|l| l == mask), "{}", out.stdout);
        assert_eq!(out.stdout.matches(secret).count(), 1);
    }

    // A GITHUB_ENV inside a git work tree is refused, and left as it was.
    std::fs::create_dir_all(run.path("repo/.git")).unwrap();
    std::fs::write(run.path("repo/env"), "").unwrap();
    let inside = run.path("repo/env").to_string_lossy().into_owned();
    let (out, run) = run.env("GITHUB_ENV", &inside).run_async().await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("is inside the git work tree"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(run.path("repo/env")).unwrap(), "");
    assert_eq!(
        sts_requests(&sts).await.len(),
        1,
        "refused before any request"
    );
    assert_eq!(out.stdout, "");
}

// ---- against moto: the printed credentials work for real readers ----

/// Runs python3 with botocore's environment cleared of ambient credentials.
fn python(code: &str, env: &[(&str, &str)]) -> String {
    let out = Command::new("python3")
        .args(["-c", code])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

const CALLER: &str = "import boto3,os,sys\nprint(boto3.client('sts', region_name='us-east-1', endpoint_url=os.environ['MOTO']).get_caller_identity()['Arn'])";

#[test]
#[ignore = "needs moto's server (python3 -m moto.server): run by scripts/test.sh"]
fn env_format_is_evaluated_by_bash_and_works_against_moto() {
    let moto = crate::support::moto::Moto::start(LOCALHOST);
    let run = Subcommand::new("assume");
    std::fs::write(run.path("token"), gitlab_token()).unwrap();
    let cmd = format!(
        "eval \"$({BIN} assume --role-arn {ROLE} --token-file {} --sts-endpoint {} --session-name from-bash)\" && echo \"$AWS_ACCESS_KEY_ID\" && python3 -c \"$CALLER\"",
        run.path("token").display(),
        moto.url()
    );
    let out = Command::new("bash")
        .args(["-c", &cmd])
        .env("CALLER", CALLER)
        .env("MOTO", moto.url())
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    assert!(lines.next().unwrap().starts_with("ASIA"), "{stdout}");
    assert_eq!(
        lines.next(),
        Some("arn:aws:sts::123456789012:assumed-role/deploy/from-bash")
    );
}

#[test]
#[ignore = "needs moto's server (python3 -m moto.server): run by scripts/test.sh"]
fn dotenv_is_read_back_and_works_against_moto() {
    let moto = crate::support::moto::Moto::start(LOCALHOST);
    let run = Subcommand::new("assume").env("BITBUCKET_BUILD_NUMBER", "9");
    let run = run.env(
        "BITBUCKET_STEP_OIDC_TOKEN",
        &jwt(&claims(
            "https://api.bitbucket.org/2.0/workspaces/ws/pipelines-config/identity/oidc",
            "{r}:{s}",
            "ari:cloud:bitbucket::workspace/w",
        )),
    );
    let out = run
        .args(&[
            "--role-arn",
            ROLE,
            "--sts-endpoint",
            &moto.url(),
            "--format",
            "dotenv",
            "--region",
            "us-east-1",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Read back the simplest way a dotenv reader does: NAME=value per line.
    let vars: BTreeMap<&str, &str> = out
        .stdout
        .lines()
        .map(|l| l.split_once('=').unwrap())
        .collect();
    assert_eq!(vars["AWS_REGION"], "us-east-1");
    let arn = python(
        CALLER,
        &[
            ("MOTO", &moto.url()),
            ("AWS_ACCESS_KEY_ID", vars["AWS_ACCESS_KEY_ID"]),
            ("AWS_SECRET_ACCESS_KEY", vars["AWS_SECRET_ACCESS_KEY"]),
            ("AWS_SESSION_TOKEN", vars["AWS_SESSION_TOKEN"]),
        ],
    );
    assert_eq!(
        arn,
        "arn:aws:sts::123456789012:assumed-role/deploy/BitbucketPipelines"
    );
}

#[test]
#[ignore = "needs moto's server (python3 -m moto.server): run by scripts/test.sh"]
fn credential_process_is_used_by_botocore_as_a_profile() {
    let moto = crate::support::moto::Moto::start(LOCALHOST);
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, gitlab_token()).unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile ci]\ncredential_process = {BIN} assume --format credential-process --role-arn {ROLE} --token-file {} --sts-endpoint {} --session-name via-botocore\n",
            token.display(),
            moto.url()
        ),
    )
    .unwrap();
    let arn = python(
        "import boto3,os\ns=boto3.Session(profile_name='ci')\nc=s.get_credentials().get_frozen_credentials()\nassert c.access_key.startswith('ASIA'), c.access_key\nprint(s.client('sts', region_name='us-east-1', endpoint_url=os.environ['MOTO']).get_caller_identity()['Arn'])",
        &[
            ("MOTO", &moto.url()),
            ("AWS_CONFIG_FILE", &config.to_string_lossy()),
            ("AWS_SHARED_CREDENTIALS_FILE", &dir.path().join("none").to_string_lossy()),
        ],
    );
    assert_eq!(
        arn,
        "arn:aws:sts::123456789012:assumed-role/deploy/via-botocore"
    );
}

/// The conventional command-line surface, as the binary answers it.
#[test]
fn help_version_and_unknown_commands() {
    let run = |args: &[&str]| Subcommand::top_level().args(args).run();
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let out = run(args);
        assert_eq!(out.code, 0, "{args:?}");
        assert!(
            out.stdout.contains("keyless-aws assume --role-arn ARN")
                && out.stdout.contains("keyless-aws setup --ci CI"),
            "{args:?}"
        );
    }
    for args in [&["-V"][..], &["--version"]] {
        let out = run(args);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, concat!("keyless-aws ", env!("CARGO_PKG_VERSION"), "\n"))
        );
    }
    for (args, first) in [
        (&["help", "setup"][..], "Usage: keyless-aws setup"),
        (&["setup", "--help"], "Usage: keyless-aws setup"),
        (&["help", "assume"], "Usage: keyless-aws assume"),
        (&["assume", "-h"], "Usage: keyless-aws assume"),
    ] {
        let out = run(args);
        assert_eq!(out.code, 0, "{args:?}");
        assert!(out.stdout.starts_with(first), "{args:?}: {}", out.stdout);
    }
    let out = run(&["deploy"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("keyless-aws: unknown command \"deploy\"\n\nkeyless-aws: short-lived"),
        "{}",
        out.stderr
    );
    let out = run(&["setup", "--repo=octo-org/octo-repo", "--branch=release"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("\"token.actions.githubusercontent.com:sub\": \"repo:octo-org/octo-repo:ref:refs/heads/release\""));
    let out = run(&["setup", "--ci", "buildkite", "--organization", "acme"]);
    assert_eq!((out.code, out.stderr.as_str()), (2, "keyless-aws setup: --ci buildkite needs --pipeline SLUG\nRun `keyless-aws help setup` for the flags.\n"));
}
