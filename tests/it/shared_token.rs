//! With `roles:` each profile runs its own `credential-process` helper; the
//! helpers of one audience share one OIDC token request
//! (`src/refresh/shared_token.rs`). The real binary, run as SDKs run it,
//! against the short-lived STS stand-in of `refresh.rs`, whose token endpoint
//! counts the requests that reach it. Its STS accepts only the token its
//! endpoint hands out, so a planted token that were used would fail the call.

use crate::refresh::ShortLivedSts;
use keyless_aws::aws_names::Audience;
use keyless_aws::refresh::description::{Description, WebIdentityRole, VERSION};
use keyless_aws::refresh::shared_token;
use keyless_aws::secret::Secret;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const AUDIENCE: &str = "sts.amazonaws.com";

/// A profile's description beside the others in `dir` (0600, as installed).
fn describe(dir: &Path, sts: &ShortLivedSts, profile: &str, audience: &str) -> PathBuf {
    let description = Description {
        version: VERSION,
        region: "eu-west-1".into(),
        sts_endpoint: Some(sts.uri.clone()),
        audience: audience.into(),
        web_identity: WebIdentityRole {
            role_arn: "arn:aws:iam::123456789012:role/deploy".into(),
            session_name: format!("shared-{profile}"),
            duration_seconds: 900,
            inline_policy: None,
            managed_policies: vec![],
        },
        chain: vec![],
        proxy: Default::default(),
        cache_file: format!("refresh-cache-{profile}.json"),
        min_remaining_seconds: 3,
        retry_max_attempts: 2,
    };
    let path = dir.join(format!("refresh-{profile}.json"));
    std::fs::write(&path, description.to_json()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// The helper for one description, started as an SDK starts it.
fn helper(sts: &ShortLivedSts, description: &Path) -> std::process::Child {
    let (url, bearer) = sts.token_request();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyless-aws"));
    cmd.arg("credential-process")
        .arg("--description")
        .arg(description);
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "RUST_LOG",
    ] {
        cmd.env_remove(name);
    }
    cmd.env("ACTIONS_ID_TOKEN_REQUEST_URL", url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", bearer)
        .env("NO_PROXY", "*")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("the helper starts")
}

/// Runs the helpers together and checks each printed credentials, and that
/// no output names the token or the bearer.
fn run_together(sts: &ShortLivedSts, descriptions: &[PathBuf]) {
    let children: Vec<_> = descriptions.iter().map(|d| helper(sts, d)).collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let (_, bearer) = sts.token_request();
    for out in outputs {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(sts.issued(v["AccessKeyId"].as_str().unwrap()));
        for secret in [crate::refresh::token(), bearer.clone()] {
            assert!(!stderr.contains(&secret), "a secret on stderr: {stderr}");
        }
    }
}

/// The shared token file of `audience` for this stand-in's endpoint and bearer.
fn shared_file(dir: &Path, sts: &ShortLivedSts, audience: &str) -> PathBuf {
    let (url, bearer) = sts.token_request();
    let (bearer, audience) = (Secret::new(bearer), Audience::parse(audience).unwrap());
    dir.join(shared_token::file_name(&url, &bearer, &audience))
}

#[tokio::test(flavor = "multi_thread")]
async fn two_profiles_of_one_audience_share_one_token_request() {
    let sts = ShortLivedSts::start(900, std::net::Ipv4Addr::LOCALHOST.into()).await;
    let dir = tempfile::tempdir().unwrap();
    let dev = describe(dir.path(), &sts, "dev", AUDIENCE);
    let audit = describe(dir.path(), &sts, "audit", AUDIENCE);
    run_together(&sts, &[dev, audit]);
    assert_eq!(sts.token_requests().await, 1, "one token for both profiles");
    assert_eq!(sts.web_identity_calls(), 2, "each profile assumes its role");
    let kept = shared_file(dir.path(), &sts, AUDIENCE);
    let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the shared token is private");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_audiences_make_two_token_requests() {
    let sts = ShortLivedSts::start(900, std::net::Ipv4Addr::LOCALHOST.into()).await;
    let dir = tempfile::tempdir().unwrap();
    let dev = describe(dir.path(), &sts, "dev", AUDIENCE);
    let other = describe(dir.path(), &sts, "other", "other-audience");
    run_together(&sts, &[dev, other]);
    assert_eq!(sts.token_requests().await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_near_its_expiry_is_not_shared() {
    let sts = ShortLivedSts::start(900, std::net::Ipv4Addr::LOCALHOST.into()).await;
    let dir = tempfile::tempdir().unwrap();
    let dev = describe(dir.path(), &sts, "dev", AUDIENCE);
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30;
    let expiring = crate::support::jwt(&serde_json::json!({"aud": AUDIENCE, "exp": soon}));
    let kept = shared_file(dir.path(), &sts, AUDIENCE);
    std::fs::write(&kept, &expiring).unwrap();
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o600)).unwrap();
    run_together(&sts, &[dev]);
    assert_eq!(sts.token_requests().await, 1, "a new token was requested");
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        crate::refresh::token(),
        "and shared in place of the old one"
    );
}

/// A lasting token for the right audience, planted where the shared token
/// lives but not as the helper keeps it: group-readable, or a link.
#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_token_file_is_ignored() {
    let sts = ShortLivedSts::start(900, std::net::Ipv4Addr::LOCALHOST.into()).await;
    let dir = tempfile::tempdir().unwrap();
    let dev = describe(dir.path(), &sts, "dev", AUDIENCE);
    let planted = crate::support::jwt(&serde_json::json!({
        "sub": "planted", "aud": AUDIENCE, "exp": 4102444800_i64
    }));
    let kept = shared_file(dir.path(), &sts, AUDIENCE);
    std::fs::write(&kept, &planted).unwrap();
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o644)).unwrap();
    run_together(&sts, std::slice::from_ref(&dev));
    assert_eq!(sts.token_requests().await, 1, "a readable file is not used");

    let elsewhere = dir.path().join("elsewhere.jwt");
    std::fs::write(&elsewhere, &planted).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::remove_file(&kept).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &kept).unwrap();
    std::fs::remove_file(dir.path().join("refresh-cache-dev.json")).unwrap();
    run_together(&sts, &[dev]);
    assert_eq!(sts.token_requests().await, 2, "a link is not followed");
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), planted);
    assert!(!std::fs::symlink_metadata(&kept).unwrap().is_symlink());
}
