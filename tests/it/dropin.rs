//! Drop-in proof: a matrix of workflows that work with the reference action,
//! aws-actions/configure-aws-credentials v6.2.3, run against this binary, and
//! compared with a recorded expectation of what the reference does.
//!
//! The reference is not vendored or run. Each expectation is written from its
//! source at tag v6.2.3 and cites the place (`reference: file function()`):
//! exit code, exported variable names and values, outputs, the STS calls and
//! their parameters (action, signer, RoleArn, RoleSessionName, DurationSeconds,
//! ExternalId, tags), and, for profiles, what a later step's SDK (botocore)
//! resolves. Where this action differs on purpose, the expectation says so
//! with [`Mine`] and the reason; every such reason is a row of the README's
//! "Migrating" table.
//!
//! STS is a stand-in (wiremock) that answers like STS and records every
//! request with the key that signed it; a few cases run against moto.

use crate::support::manifest::input_defaults;
use crate::support::moto::Moto;
use crate::support::scenario::{Outcome, ENV_BEFORE};
use crate::support::stand_in::signing_key;
use crate::support::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";
const INPUT_KEY: &str = "AKIAINPUTKEY00000001";
const AMBIENT_KEY: &str = "AKIAAMBIENT000000001";
/// The session tags the reference sends with the GitHub variables set below
/// (reference: src/assumeRole.ts NON_DROPPABLE_TAG_SOURCES, DROPPABLE_TAG_SOURCES, in that order).
const TAGS: &str = "GitHub,Repository,Workflow,Action,Actor,Commit,Branch,EventName,RunId,Job";

/// Identities the stand-in knows, by access key id: (account, ARN).
fn known(akid: &str) -> Option<(&'static str, &'static str)> {
    match akid {
        INPUT_KEY => Some(("111111111111", "arn:aws:iam::111111111111:user/ci")),
        AMBIENT_KEY => Some(("222222222222", "arn:aws:iam::222222222222:user/runner")),
        // LocalStack's and MinIO's documented default keys.
        "test" | "minioadmin" => Some(("000000000000", "arn:aws:iam::000000000000:root")),
        _ => None,
    }
}

/// Issued credentials are numbered per stand-in: deterministic values to compare.
fn issued(n: usize) -> (String, String, String) {
    (
        format!("ASIAISSUED{n:010}"),
        format!("issuedSecret{n:028}"),
        format!("issuedToken{n:030}"),
    )
}

/// Answers like STS: AssumeRole / AssumeRoleWithWebIdentity issue numbered
/// credentials for the role; GetCallerIdentity answers for the signing key.
/// GET requests get an OIDC token, so one server is also the token endpoint.
#[derive(Clone, Default)]
struct StandIn {
    /// akid → (account, ARN) of credentials issued so far.
    issued: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl Respond for StandIn {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if req.method.as_str() == "GET" {
            let token = jwt(&github_claims(
                "repo:octo-org/octo-repo:ref:refs/heads/main",
            ));
            return ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": token }));
        }
        let f = crate::support::stand_in::form(req);
        let action = f.get("Action").cloned().unwrap_or_default();
        let mut store = self.issued.lock().unwrap();
        let who = |store: &Vec<(String, String, String)>, akid: &str| {
            known(akid)
                .map(|(a, r)| (a.to_owned(), r.to_owned()))
                .or_else(|| {
                    store
                        .iter()
                        .find(|(k, _, _)| k == akid)
                        .map(|(_, a, r)| (a.clone(), r.clone()))
                })
        };
        match action.as_str() {
            "GetCallerIdentity" => match who(&store, &signing_key(req)) {
                Some((account, arn)) => {
                    ResponseTemplate::new(200).set_body_string(sts_caller_xml(&account, &arn))
                }
                None => ResponseTemplate::new(403).set_body_string(sts_error_xml(
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                    ERROR_REQUEST_ID,
                )),
            },
            "AssumeRole" | "AssumeRoleWithWebIdentity" => {
                if action == "AssumeRole" && who(&store, &signing_key(req)).is_none() {
                    return ResponseTemplate::new(403).set_body_string(sts_error_xml(
                        "InvalidClientTokenId",
                        "The security token included in the request is invalid.",
                        ERROR_REQUEST_ID,
                    ));
                }
                let role = f.get("RoleArn").cloned().unwrap_or_default();
                let account = role.split(':').nth(4).unwrap_or_default().to_owned();
                let name = role.rsplit('/').next().unwrap_or_default();
                let session = f.get("RoleSessionName").cloned().unwrap_or_default();
                let arn = format!("arn:aws:sts::{account}:assumed-role/{name}/{session}");
                let (akid, secret, token) = issued(store.len() + 1);
                store.push((akid.clone(), account, arn.clone()));
                ResponseTemplate::new(200).set_body_string(sts_assume_xml(
                    &action,
                    &Creds {
                        key_id: akid,
                        secret,
                        token,
                    },
                    &arn,
                ))
            }
            _ => ResponseTemplate::new(400).set_body_string(sts_error_xml(
                "InvalidAction",
                "?",
                ERROR_REQUEST_ID,
            )),
        }
    }
}

/// An STS call as the comparison sees it: one line with the parameters that
/// decide who the credentials are.
fn describe(req: &Request) -> Option<String> {
    if req.method.as_str() != "POST" {
        return None;
    }
    let f = crate::support::stand_in::form(req);
    let action = f.get("Action")?.clone();
    let mut line = action.clone();
    line.push_str(&format!(
        " signer={}",
        Some(signing_key(req))
            .filter(|key| !key.is_empty())
            .unwrap_or_else(|| "none".into())
    ));
    if action == "GetCallerIdentity" {
        return Some(line);
    }
    for key in [
        "RoleArn",
        "RoleSessionName",
        "DurationSeconds",
        "ExternalId",
    ] {
        if let Some(v) = f.get(key) {
            line.push_str(&format!(" {key}={v}"));
        }
    }
    let list = |prefix: &str, suffix: &str| -> Vec<String> {
        let mut items: Vec<(usize, String)> = f
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(prefix)?.strip_suffix(suffix)?;
                Some((n.parse().ok()?, v.clone()))
            })
            .collect();
        items.sort();
        items.into_iter().map(|(_, v)| v).collect()
    };
    let tags = list("Tags.member.", ".Key");
    if !tags.is_empty() {
        line.push_str(&format!(" Tags={}", tags.join(",")));
    }
    let transitive = list("TransitiveTagKeys.member.", "");
    if !transitive.is_empty() {
        line.push_str(&format!(" TransitiveTagKeys={}", transitive.join(",")));
    }
    Some(line)
}

/// An expected value: what the reference does, or a deliberate difference.
#[derive(Clone, Debug)]
enum V {
    Is(String),
    /// A path ending like this (profile files live in a temp directory).
    EndsWith(&'static str),
}

impl V {
    fn matches(&self, actual: &str) -> bool {
        match self {
            V::Is(v) => v == actual,
            V::EndsWith(s) => actual.ends_with(s),
        }
    }
}

fn is(v: impl Into<String>) -> V {
    V::Is(v.into())
}

/// A deliberate difference from the reference: the README's Migrating table
/// has a row for each `why`.
#[derive(Clone, Debug)]
struct Mine {
    why: &'static str,
}

#[derive(Clone, Default)]
struct Step {
    with: Vec<(&'static str, String)>,
}

/// One workflow, its recorded reference behaviour, and our deliberate differences.
#[derive(Clone, Default)]
struct Case {
    name: &'static str,
    /// Where in the reference's source the expected behaviour comes from.
    reference: &'static str,
    steps: Vec<Step>,
    /// The job's `env:` (and what earlier steps exported), seen by every step.
    job_env: Vec<(&'static str, String)>,
    oidc: bool,
    /// `sts-endpoint` is the stand-in (default); `false` for the AWS default endpoint.
    no_endpoint: bool,
    success: bool,
    /// Every variable exported (last value), reference behaviour.
    env: Vec<(&'static str, V)>,
    /// Exported by us only, or with another value than the reference.
    env_mine: Vec<(&'static str, V, Mine)>,
    outputs: Vec<(&'static str, V)>,
    outputs_mine: Vec<(&'static str, V, Mine)>,
    /// The Assume* calls, in order, as [`describe`] prints them.
    assume_calls: Vec<String>,
    /// A GetCallerIdentity signed by this key must be among the calls.
    identified_by: Option<&'static str>,
    /// The token request's audience.
    audience: Option<&'static str>,
    /// Inputs named by a `::warning` (reference: ignored or warned).
    warns: Vec<&'static str>,
    masks: Vec<&'static str>,
    stdout_has: Vec<&'static str>,
    /// Per profile (`None` = no --profile), the (region, access key id) a later
    /// step's botocore resolves.
    sdk: Vec<(Option<&'static str>, Option<&'static str>, Option<String>)>,
    /// What the post step clears (names given empty values).
    post_clears: Option<Vec<&'static str>>,
    post_clears_mine: Option<Mine>,
    /// Other deliberate differences (behaviour, not a variable).
    differs: Vec<Mine>,
    /// Faults the stand-in injects before answering normally: the next
    /// `times` requests of `verb` get `status` (with this STS error code, or
    /// an empty body when it is empty).
    faults: Vec<(u64, &'static str, u16, &'static str)>,
    /// Session tags the last Assume call must carry with exactly these values.
    tag_values: Vec<(&'static str, String)>,
}

impl Case {
    fn new(name: &'static str, reference: &'static str) -> Self {
        Case {
            name,
            reference,
            steps: vec![Step::default()],
            success: true,
            ..Default::default()
        }
    }
    fn with(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.steps.last_mut().unwrap().with.push((k, v.into()));
        self
    }
    fn then_step(mut self) -> Self {
        self.steps.push(Step::default());
        self
    }
    fn env(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.job_env.push((k, v.into()));
        self
    }
    fn ambient(self) -> Self {
        self.env("AWS_ACCESS_KEY_ID", AMBIENT_KEY)
            .env("AWS_SECRET_ACCESS_KEY", "ambientSecret")
    }
    fn oidc(mut self) -> Self {
        self.oidc = true;
        self
    }
    fn fails(mut self) -> Self {
        self.success = false;
        self
    }
    fn exports(mut self, pairs: &[(&'static str, V)]) -> Self {
        self.env.extend(pairs.iter().cloned());
        self
    }
    fn exports_mine(mut self, k: &'static str, v: V, why: &'static str) -> Self {
        self.env_mine.push((k, v, Mine { why }));
        self
    }
    fn outputs(mut self, pairs: &[(&'static str, V)]) -> Self {
        self.outputs.extend(pairs.iter().cloned());
        self
    }
    fn outputs_mine(mut self, k: &'static str, v: V, why: &'static str) -> Self {
        self.outputs_mine.push((k, v, Mine { why }));
        self
    }
    fn assumes(mut self, call: impl Into<String>) -> Self {
        self.assume_calls.push(call.into());
        self
    }
    fn differs(mut self, why: &'static str) -> Self {
        self.differs.push(Mine { why });
        self
    }
    /// A later step's SDK, with `--profile` (or none), resolves this region and key.
    fn sdk(
        mut self,
        profile: Option<&'static str>,
        region: Option<&'static str>,
        key: impl Into<String>,
    ) -> Self {
        self.sdk.push((profile, region, Some(key.into())));
        self
    }
    fn warns(mut self, input: &'static str) -> Self {
        self.warns.push(input);
        self
    }
    fn fault(mut self, times: u64, verb: &'static str, status: u16, code: &'static str) -> Self {
        self.faults.push((times, verb, status, code));
        self
    }
    fn tag(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.tag_values.push((key, value.into()));
        self
    }
}

/// The region and the issued keys, exported as the reference's
/// exportRegion() and exportCredentials() do (src/helpers.ts).
fn env_creds(region: &str, n: usize) -> Vec<(&'static str, V)> {
    let (a, s, t) = issued(n);
    vec![
        ("AWS_REGION", is(region)),
        ("AWS_DEFAULT_REGION", is(region)),
        ("AWS_ACCESS_KEY_ID", is(a)),
        ("AWS_SECRET_ACCESS_KEY", is(s)),
        ("AWS_SESSION_TOKEN", is(t)),
    ]
}

fn region_only(region: &str) -> Vec<(&'static str, V)> {
    vec![
        ("AWS_REGION", is(region)),
        ("AWS_DEFAULT_REGION", is(region)),
    ]
}

fn account(account: &str, arn: &str) -> Vec<(&'static str, V)> {
    vec![
        ("aws-account-id", is(account)),
        ("authenticated-arn", is(arn)),
    ]
}

fn assumed(session: &str) -> String {
    format!("arn:aws:sts::123456789012:assumed-role/deploy/{session}")
}

fn web(session: &str, duration: u32) -> String {
    format!("AssumeRoleWithWebIdentity signer=none RoleArn={ROLE} RoleSessionName={session} DurationSeconds={duration}")
}

fn assume(signer: &str, role: &str, extra: &str) -> String {
    format!(
        "AssumeRole signer={signer} RoleArn={role} RoleSessionName=GitHubActions DurationSeconds=3600{extra}"
    )
}

// The reasons for deliberate differences; each is a row of README "Migrating".
const WHY_OUTPUTS: &str =
    "account outputs are always set (reference: only with output-env-credentials)";
const WHY_TOKEN: &str = "AWS_SESSION_TOKEN is always cleared with keys that have none";
const WHY_FILES: &str = "profile files live in the runner's temp directory, exported as AWS_CONFIG_FILE/AWS_SHARED_CREDENTIALS_FILE";
const WHY_ALLOWED: &str = "nothing is exported before allowed-account-ids is checked";
const WHY_SIGNER: &str =
    "AssumeRole is signed by the given keys, not by whatever the environment holds";
const WHY_CONTAINER: &str = "a container cannot reach the runner's localhost";
const WHY_STRICT_KEYS: &str = "key ids are checked before any request when talking to AWS itself";
const WHY_EMPTY_FIRST: &str = "an empty first entry does not switch allowed-account-ids off";
const WHY_CA_FILE: &str = "a CA file that is named but cannot be used stops the step";

fn cases() -> Vec<Case> {
    let r = "eu-west-1";
    let mut c = Vec::new();

    // 1. Inputs from environment variables.
    c.push(
        Case::new("1a ROLE_TO_ASSUME and AWS_REGION from the job env",
            "src/helpers.ts translateEnvVariables(): ROLE_TO_ASSUME, AWS_REGION → INPUT_*; src/index.ts run(): useGitHubOIDCProvider()")
            .env("ROLE_TO_ASSUME", ROLE).env("AWS_REGION", r).oidc()
            .assumes(web("GitHubActions", 3600))
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    c.push(
        Case::new("1b ROLE_DURATION_SECONDS and ROLE_SESSION_NAME from the job env",
            "src/helpers.ts translateEnvVariables(); src/index.ts run(): roleDuration = parseInt(getInput('role-duration-seconds')) || 3600")
            .with("role-to-assume", ROLE).with("aws-region", r)
            .env("ROLE_DURATION_SECONDS", "900").env("ROLE_SESSION_NAME", "from-env").oidc()
            .assumes(web("from-env", 900))
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("from-env"))),
    );
    c.push(
        Case::new(
            "1c an input given wins over its variable",
            "src/helpers.ts translateEnvVariables(): process.env[inputKey] || process.env[envVar]",
        )
        .with("role-to-assume", ROLE)
        .with("aws-region", r)
        .with("role-session-name", "given")
        .env("ROLE_SESSION_NAME", "from-env")
        .oidc()
        .assumes(web("given", 3600))
        .exports(&env_creds(r, 1))
        .outputs(&account("123456789012", &assumed("given"))),
    );
    let mut masked = Case::new("1d MASK_AWS_ACCOUNT_ID and OUTPUT_CREDENTIALS from the job env",
            "src/helpers.ts translateEnvVariables(); exportAccountId(): core.setSecret(accountId); exportCredentials(): setOutput")
        .with("role-to-assume", ROLE).with("aws-region", r)
        .env("MASK_AWS_ACCOUNT_ID", "true").env("OUTPUT_CREDENTIALS", "true").oidc()
        .assumes(web("GitHubActions", 3600))
        .exports(&env_creds(r, 1))
        .outputs(&account("123456789012", &assumed("GitHubActions")))
        .outputs(&[
            ("aws-access-key-id", is(issued(1).0)),
            ("aws-secret-access-key", is(issued(1).1)),
            ("aws-session-token", is(issued(1).2)),
            ("aws-expiration", is("2030-01-01T00:00:00Z")),
        ]);
    masked.masks.push("123456789012");
    c.push(masked);
    c.push(
        Case::new("1e ROLE_SKIP_SESSION_TAGGING from the job env",
            "src/helpers.ts translateEnvVariables(); src/assumeRole.ts assumeRole(): tags = roleSkipSessionTagging ? undefined : tagArray")
            .with("aws-access-key-id", INPUT_KEY).with("aws-secret-access-key", "inputSecret")
            .with("role-to-assume", ROLE).with("aws-region", r)
            .env("ROLE_SKIP_SESSION_TAGGING", "true")
            .assumes(assume(INPUT_KEY, ROLE, ""))
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    let mut aud = Case::new("1f AUDIENCE is shadowed by action.yml's default, as in the reference",
            "action.yml: audience default sts.amazonaws.com, so INPUT_AUDIENCE is never empty for translateEnvVariables()")
        .with("role-to-assume", ROLE).with("aws-region", r).env("AUDIENCE", "custom").oidc()
        .assumes(web("GitHubActions", 3600))
        .exports(&env_creds(r, 1))
        .outputs(&account("123456789012", &assumed("GitHubActions")));
    aud.audience = Some("sts.amazonaws.com");
    c.push(aud);

    c.push(
        Case::new(
            "1g ROLE_CHAINING from the job env",
            "src/helpers.ts translateEnvVariables(): ROLE_CHAINING; src/index.ts run(): `if (AccessKeyId || roleChaining)` then assumeRole() with the default chain",
        )
        .with("role-to-assume", ROLE)
        .with("aws-region", r)
        .env("ROLE_CHAINING", "true")
        .ambient()
        .oidc()
        .assumes(assume(AMBIENT_KEY, ROLE, &format!(" Tags={TAGS}")))
        .exports(&env_creds(r, 1))
        .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );

    // 2. Ambient credentials.
    c.push(
        Case::new("2a keys in the job env sign AssumeRole when there is no OIDC token",
            "src/index.ts run(): useGitHubOIDCProvider() is false without ACTIONS_ID_TOKEN_REQUEST_TOKEN; src/assumeRole.ts assumeRoleWithCredentials() with the default chain")
            .with("role-to-assume", ROLE).with("aws-region", r).ambient()
            .assumes(assume(AMBIENT_KEY, ROLE, &format!(" Tags={TAGS}")))
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    c.push(
        Case::new("2b an OIDC token wins over keys in the job env",
            "src/index.ts run(): useGitHubOIDCProvider() checks only the token, inputs and role-chaining")
            .with("role-to-assume", ROLE).with("aws-region", r).ambient().oidc()
            .assumes(web("GitHubActions", 3600))
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    let mut ambient_only = Case::new("2c keys in the job env and no role: region and account outputs only",
            "src/index.ts run(): `else if (!webIdentityTokenFile && !roleChaining)` validateCredentials() + exportAccountId(); 'Proceeding with IAM user credentials'")
        .with("aws-region", r).ambient()
        .exports(&region_only(r))
        .outputs(&account("222222222222", "arn:aws:iam::222222222222:user/runner"))
        .sdk(None, Some(r), AMBIENT_KEY);
    ambient_only.identified_by = Some(AMBIENT_KEY);
    c.push(ambient_only);
    c.push(
        Case::new(
            "2d no credentials at all and no role fails",
            "src/CredentialsClient.ts validateCredentials(): 'Credentials could not be loaded'",
        )
        .with("aws-region", r)
        .fails(),
    );
    c.push(
        Case::new("2e a bare role name is completed with the ambient caller's account",
            "src/assumeRole.ts assumeRole(): roleArn = `arn:aws:iam::${sourceAccountId}:role/${roleArn}`")
            .with("role-to-assume", "deploy").with("aws-region", r).ambient()
            .assumes(assume(AMBIENT_KEY, "arn:aws:iam::222222222222:role/deploy", &format!(" Tags={TAGS}")))
            .exports(&env_creds(r, 1))
            .outputs(&account("222222222222", "arn:aws:sts::222222222222:assumed-role/deploy/GitHubActions")),
    );
    let mut no_token = Case::new("2f a role, no OIDC token and no credentials fails (and says id-token)",
            "src/index.ts run(): the 'Did you mean to set the `id-token` permission?' hint, then validateCredentials() fails")
        .with("role-to-assume", ROLE).with("aws-region", r).fails();
    no_token.stdout_has.push("id-token: write");
    c.push(no_token);

    c.push(
        Case::new(
            "2g use-existing-credentials keeps working keys: only the region",
            "src/index.ts run(): exportRegion() first, then `if (useExistingCredentials)` areCredentialsValid() and return",
        )
        .with("role-to-assume", ROLE)
        .with("aws-region", r)
        .with("use-existing-credentials", "true")
        .ambient()
        .oidc()
        .exports(&region_only(r))
        .outputs_mine("aws-account-id", is("222222222222"), WHY_OUTPUTS)
        .outputs_mine(
            "authenticated-arn",
            is("arn:aws:iam::222222222222:user/runner"),
            WHY_OUTPUTS,
        ),
    );

    // 3. Profile mode.
    let mut two = Case::new("3a two profiles keep their own regions; nothing global is set",
            "src/index.ts run(): output-env-credentials defaults to !awsProfile, so exportRegion()/exportCredentials() export nothing; src/profileManager.ts writeProfileFiles() puts the region in [profile NAME]")
        .oidc()
        .with("role-to-assume", ROLE).with("aws-region", "us-east-1").with("aws-profile", "dev").with("role-session-name", "dev")
        .then_step()
        .with("role-to-assume", ROLE).with("aws-region", "us-west-2").with("aws-profile", "prod").with("role-session-name", "prod")
        .assumes(web("dev", 3600)).assumes(web("prod", 3600))
        .exports_mine("AWS_CONFIG_FILE", V::EndsWith("/.keyless-aws/config"), WHY_FILES)
        .exports_mine("AWS_SHARED_CREDENTIALS_FILE", V::EndsWith("/.keyless-aws/credentials"), WHY_FILES)
        .outputs_mine("aws-account-id", is("123456789012"), WHY_OUTPUTS)
        .outputs_mine("authenticated-arn", is(assumed("prod")), WHY_OUTPUTS);
    two.sdk = vec![
        (Some("dev"), Some("us-east-1"), Some(issued(1).0)),
        (Some("prod"), Some("us-west-2"), Some(issued(2).0)),
        (None, None, None),
    ];
    two.post_clears = Some(vec![]);
    two.post_clears_mine = Some(Mine { why: WHY_FILES });
    c.push(two);
    let mut with_env = Case::new("3b aws-profile with output-env-credentials: true also exports keys, region and AWS_PROFILE",
            "src/index.ts run(): exportRegion()/exportCredentials() with outputEnvCredentials, then `if (outputEnvCredentials) core.exportVariable('AWS_PROFILE', awsProfile)`")
        .oidc()
        .with("role-to-assume", ROLE).with("aws-region", r).with("aws-profile", "ci").with("output-env-credentials", "true")
        .assumes(web("GitHubActions", 3600))
        .exports(&env_creds(r, 1))
        .exports(&[("AWS_PROFILE", is("ci"))])
        .exports_mine("AWS_CONFIG_FILE", V::EndsWith("/.keyless-aws/config"), WHY_FILES)
        .exports_mine("AWS_SHARED_CREDENTIALS_FILE", V::EndsWith("/.keyless-aws/credentials"), WHY_FILES)
        .outputs(&account("123456789012", &assumed("GitHubActions")));
    with_env.sdk = vec![
        (Some("ci"), Some(r), Some(issued(1).0)),
        (None, Some(r), Some(issued(1).0)),
    ];
    c.push(with_env);
    let mut keys_profile = Case::new("3c keys without a role written to a profile",
            "src/index.ts run(): `if (awsProfile) writeProfileFiles(awsProfile, { AccessKeyId, … }, region, …)` in the keys branch")
        .with("aws-access-key-id", INPUT_KEY).with("aws-secret-access-key", "inputSecret")
        .with("aws-region", r).with("aws-profile", "ci")
        .exports_mine("AWS_CONFIG_FILE", V::EndsWith("/.keyless-aws/config"), WHY_FILES)
        .exports_mine("AWS_SHARED_CREDENTIALS_FILE", V::EndsWith("/.keyless-aws/credentials"), WHY_FILES)
        .outputs_mine("aws-account-id", is("111111111111"), WHY_OUTPUTS)
        .outputs_mine("authenticated-arn", is("arn:aws:iam::111111111111:user/ci"), WHY_OUTPUTS);
    keys_profile.sdk = vec![(Some("ci"), Some(r), Some(INPUT_KEY.into()))];
    c.push(keys_profile);

    // 4. Non-AWS endpoints.
    c.push(
        Case::new("4a LocalStack's `test` keys against a custom endpoint",
            "src/index.ts run(): keys are not checked; exportCredentials(); validateCredentials() calls GetCallerIdentity")
            .with("aws-access-key-id", "test").with("aws-secret-access-key", "test").with("aws-region", "us-east-1")
            .exports(&[
                ("AWS_REGION", is("us-east-1")), ("AWS_DEFAULT_REGION", is("us-east-1")),
                ("AWS_ACCESS_KEY_ID", is("test")), ("AWS_SECRET_ACCESS_KEY", is("test")),
            ])
            .exports_mine("AWS_SESSION_TOKEN", is(""), WHY_TOKEN)
            .outputs(&account("000000000000", "arn:aws:iam::000000000000:root")),
    );
    c.push(
        Case::new(
            "4b MinIO's `minioadmin` keys assume a role",
            "src/index.ts run(): keys branch, then assumeRole() signed by the exported keys",
        )
        .with("aws-access-key-id", "minioadmin")
        .with("aws-secret-access-key", "minioadmin")
        .with("role-to-assume", ROLE)
        .with("aws-region", "us-east-1")
        .assumes(assume("minioadmin", ROLE, &format!(" Tags={TAGS}")))
        .exports(&env_creds("us-east-1", 1))
        .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    c.push(
        Case::new(
            "4c aws-region: aws-global",
            "src/index.ts run(): REGION_REGEX /^[a-z0-9-]+$/",
        )
        .with("role-to-assume", ROLE)
        .with("aws-region", "aws-global")
        .oidc()
        .assumes(web("GitHubActions", 3600))
        .exports(&env_creds("aws-global", 1))
        .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    let mut strict = Case::new("4d a malformed key id for AWS itself stops before any request",
            "AWS answers InvalidClientTokenId; the reference fails after exporting (src/index.ts run(): exportCredentials() before validateCredentials())")
        .with("aws-access-key-id", "test").with("aws-secret-access-key", "test").with("aws-region", "us-east-1")
        .fails();
    strict.no_endpoint = true;
    strict = strict.differs(WHY_STRICT_KEYS);
    c.push(strict);

    // 5. Warnings where the reference ignores or warns.
    c.push(
        Case::new(
            "5a custom-tags with OIDC",
            "src/index.ts run(): core.warning(\"'custom-tags' is set but will be ignored …\")",
        )
        .with("role-to-assume", ROLE)
        .with("aws-region", r)
        .with("custom-tags", r#"{"team":"a"}"#)
        .oidc()
        .assumes(web("GitHubActions", 3600))
        .warns("custom-tags")
        .exports(&env_creds(r, 1))
        .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    c.push(
        Case::new("5b transitive-tag-keys and role-external-id with OIDC",
            "src/assumeRole.ts assumeRoleWithOIDC(): delete params.Tags/TransitiveTagKeys; ExternalId is not a parameter of AssumeRoleWithWebIdentity")
            .with("role-to-assume", ROLE).with("aws-region", r)
            .with("transitive-tag-keys", "Repository").with("role-external-id", "ext-1").oidc()
            .assumes(web("GitHubActions", 3600)).warns("transitive-tag-keys").warns("role-external-id")
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    c.push(
        Case::new("5c a transitive key that is not a tag is dropped",
            "src/assumeRole.ts assumeRole(): transitiveTagKeys.filter((key) => tags.some((tag) => tag.Key === key))")
            .with("aws-access-key-id", INPUT_KEY).with("aws-secret-access-key", "inputSecret")
            .with("role-to-assume", ROLE).with("aws-region", r).with("role-external-id", "ext-1")
            .with("transitive-tag-keys", "Repository\nNope")
            .assumes(assume(INPUT_KEY, ROLE, &format!(" ExternalId=ext-1 Tags={TAGS} TransitiveTagKeys=Repository")))
            .warns("transitive-tag-keys")
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    c.push(
        Case::new("5d transitive-tag-keys with role-skip-session-tagging",
            "src/assumeRole.ts assumeRole(): transitiveTagKeysArray = roleSkipSessionTagging ? undefined : …")
            .with("aws-access-key-id", INPUT_KEY).with("aws-secret-access-key", "inputSecret")
            .with("role-to-assume", ROLE).with("aws-region", r)
            .with("role-skip-session-tagging", "true").with("transitive-tag-keys", "Repository")
            .assumes(assume(INPUT_KEY, ROLE, "")).warns("transitive-tag-keys")
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    c.push(
        Case::new(
            "5e role-external-id without a role",
            "src/index.ts run(): roleExternalId is only used inside `if (roleToAssume)`",
        )
        .with("aws-region", r)
        .with("role-external-id", "ext-1")
        .ambient()
        .warns("role-external-id")
        .exports(&region_only(r))
        .outputs(&account(
            "222222222222",
            "arn:aws:iam::222222222222:user/runner",
        )),
    );
    c.push(
        Case::new("5f web-identity-token-file without a role: nothing but the region",
            "src/index.ts run(): with a token file neither validation branch runs, and without a role 'Proceeding with IAM user credentials'")
            .with("aws-region", r).with("web-identity-token-file", "token.jwt")
            .warns("web-identity-token-file")
            .exports(&region_only(r)),
    );
    let mut chaining = Case::new("5g role-chaining without a role keeps the job's credentials",
            "src/index.ts run(): `if (AccessKeyId || roleChaining)` validateCredentials() + exportAccountId(), no role")
        .with("aws-region", r).with("role-chaining", "true").ambient()
        .warns("role-chaining")
        .exports(&region_only(r))
        .outputs(&account("222222222222", "arn:aws:iam::222222222222:user/runner"));
    chaining.identified_by = Some(AMBIENT_KEY);
    c.push(chaining);
    c.push(
        Case::new(
            "5h retry-max-attempts: 0",
            "src/index.ts run(): parseInt('0') || 12",
        )
        .with("role-to-assume", ROLE)
        .with("aws-region", r)
        .with("retry-max-attempts", "0")
        .oidc()
        .assumes(web("GitHubActions", 3600))
        .warns("retry-max-attempts")
        .exports(&env_creds(r, 1))
        .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );

    // 7. unset-current-credentials.
    c.push(
        Case::new("7a unset-current-credentials with output-env-credentials: false leaves the job's keys",
            "src/helpers.ts unsetCredentials(outputEnvCredentials): clears only when outputEnvCredentials")
            .with("role-to-assume", ROLE).with("aws-region", r)
            .with("unset-current-credentials", "true").with("output-env-credentials", "false")
            .ambient().oidc()
            .assumes(web("GitHubActions", 3600))
            .outputs_mine("aws-account-id", is("123456789012"), WHY_OUTPUTS)
            .outputs_mine("authenticated-arn", is(assumed("GitHubActions")), WHY_OUTPUTS)
            // The job's own keys are what a later step still uses.
            .sdk(None, None, AMBIENT_KEY),
    );
    c.push(
        Case::new(
            "7b unset-current-credentials with env output replaces the keys",
            "src/helpers.ts unsetCredentials() then exportCredentials(): the last value wins",
        )
        .with("role-to-assume", ROLE)
        .with("aws-region", r)
        .with("unset-current-credentials", "true")
        .ambient()
        .oidc()
        .assumes(web("GitHubActions", 3600))
        .exports(&env_creds(r, 1))
        .outputs(&account("123456789012", &assumed("GitHubActions")))
        .sdk(None, Some(r), issued(1).0),
    );

    // 8. The post step clears what was exported.
    let mut post_env = Case::new("8a env mode: the post step clears the five variables",
            "src/cleanup/index.ts cleanup(): clears the keys and both regions when outputEnvCredentials")
        .with("role-to-assume", ROLE).with("aws-region", r).oidc()
        .assumes(web("GitHubActions", 3600))
        .exports(&env_creds(r, 1))
        .outputs(&account("123456789012", &assumed("GitHubActions")));
    post_env.post_clears = Some(vec![
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ]);
    c.push(post_env);
    let mut post_none = Case::new(
        "8b output-env-credentials: false: the post step leaves a job-level AWS_REGION",
        "src/cleanup/index.ts cleanup(): nothing when output-env-credentials is false",
    )
    .with("role-to-assume", ROLE)
    .with("aws-region", r)
    .with("output-env-credentials", "false")
    .env("AWS_REGION", "eu-central-1")
    .oidc()
    .assumes(web("GitHubActions", 3600))
    .outputs_mine("aws-account-id", is("123456789012"), WHY_OUTPUTS)
    .outputs_mine(
        "authenticated-arn",
        is(assumed("GitHubActions")),
        WHY_OUTPUTS,
    );
    post_none.post_clears = Some(vec![]);
    c.push(post_none);

    // 9. Loopback inside a container (the runner starts container actions with HOME=/github/home).
    let mut loopback = Case::new("9a a localhost sts-endpoint inside a container is explained",
            "works with the reference when LocalStack listens on the runner's 127.0.0.1 (a JavaScript action runs on the runner itself)")
        .with("aws-access-key-id", "test").with("aws-secret-access-key", "test").with("aws-region", "us-east-1")
        .with("retry-max-attempts", "1")
        .with("sts-endpoint", format!("http://localhost:{}", free_port(LOCALHOST)))
        .env("HOME", "/github/home")
        .fails().warns("sts-endpoint");
    loopback.no_endpoint = true;
    loopback
        .stdout_has
        .extend(["services:", "host.docker.internal", "its own"]);
    loopback = loopback.differs(WHY_CONTAINER);
    c.push(loopback);

    let mut proxy_loopback = Case::new(
        "9b a localhost proxy inside a container is explained",
        "works with the reference when the proxy listens on the runner's 127.0.0.1",
    )
    .with("aws-access-key-id", "test")
    .with("aws-secret-access-key", "test")
    .with("aws-region", "us-east-1")
    .with("retry-max-attempts", "1")
    .with("sts-endpoint", "http://sts.internal.test:9")
    .with(
        "http-proxy",
        format!("http://127.0.0.1:{}", free_port(LOCALHOST)),
    )
    .env("HOME", "/github/home")
    .fails()
    .warns("http-proxy")
    .differs(WHY_CONTAINER);
    proxy_loopback.no_endpoint = true;
    proxy_loopback
        .stdout_has
        .push("the proxy points at localhost");
    c.push(proxy_loopback);

    let mut token_loopback = Case::new(
        "9c a localhost proxy inside a container: the token request's failure is explained",
        "works with the reference when the proxy listens on the runner's 127.0.0.1",
    )
    .with("role-to-assume", ROLE)
    .with("aws-region", r)
    .with("disable-retry", "true")
    .with(
        "http-proxy",
        format!("http://127.0.0.1:{}", free_port(LOCALHOST)),
    )
    .env("HOME", "/github/home")
    .oidc()
    .fails()
    .warns("http-proxy")
    .differs(WHY_CONTAINER);
    token_loopback.no_endpoint = true;
    token_loopback
        .stdout_has
        .push("inside this container is not the runner");
    c.push(token_loopback);

    // Bugs of the reference that stay fixed.
    let mut allowed = Case::new("0a allowed-account-ids refuses before anything is exported",
            "src/index.ts run(): exportRegion() and exportCredentials() run before validateAccountId(), so the reference fails with the keys already exported")
        .with("aws-access-key-id", INPUT_KEY).with("aws-secret-access-key", "inputSecret")
        .with("aws-region", r).with("allowed-account-ids", "999999999999")
        .fails();
    allowed = allowed.differs(WHY_ALLOWED);
    c.push(allowed);
    let mut signer = Case::new("0b output-env-credentials: false: the given keys sign AssumeRole",
            "src/index.ts run(): with outputEnvCredentials false the keys are not exported, so assumeRole()'s default-chain client signs with the job's own keys")
        .with("aws-access-key-id", INPUT_KEY).with("aws-secret-access-key", "inputSecret")
        .with("role-to-assume", ROLE).with("aws-region", r).with("output-env-credentials", "false")
        .ambient()
        .assumes(assume(INPUT_KEY, ROLE, &format!(" Tags={TAGS}")))
        .outputs_mine("aws-account-id", is("123456789012"), WHY_OUTPUTS)
        .outputs_mine("authenticated-arn", is(assumed("GitHubActions")), WHY_OUTPUTS);
    signer = signer.differs(WHY_SIGNER);
    c.push(signer);
    round_two_numbers(&mut c);
    round_two_retries(&mut c);
    round_two_names_tags_proxy(&mut c);
    round_two_trust(&mut c);
    c
}

/// Issue 20, class 3: corporate CA files. The TLS side (a stand-in signed by a
/// private CA, every way of naming it, the container's mounts) is proven in
/// tests/it/tls.rs; here, what a workflow that names a CA file gets.
fn round_two_trust(c: &mut Vec<Case>) {
    let r = "eu-west-1";
    // The test machine's system bundle: a valid PEM file of CA certificates.
    let bundle = "/etc/ssl/certs/ca-certificates.crt";
    for (name, var) in [
        (
            "15a a CA file in NODE_EXTRA_CA_CERTS is accepted",
            "NODE_EXTRA_CA_CERTS",
        ),
        (
            "15a a CA file in AWS_CA_BUNDLE is accepted",
            "AWS_CA_BUNDLE",
        ),
        (
            "15a a CA file in SSL_CERT_FILE is accepted",
            "SSL_CERT_FILE",
        ),
    ] {
        c.push(
            Case::new(name,
                "Node reads NODE_EXTRA_CA_CERTS at start (the reference runs on node24, action.yml:4); the AWS SDKs read AWS_CA_BUNDLE; OpenSSL SSL_CERT_FILE")
                .with("role-to-assume", ROLE).with("aws-region", r).env(var, bundle).oidc()
                .assumes(web("GitHubActions", 3600))
                .exports(&env_creds(r, 1))
                .outputs(&account("123456789012", &assumed("GitHubActions"))),
        );
    }
    c.push(
        Case::new("15b a CA file that does not exist stops the step before any request",
            "Node only warns 'Ignoring extra certs from …, load failed' and goes on; the reference passes when no TLS needs the CA")
            .with("role-to-assume", ROLE).with("aws-region", r)
            .env("NODE_EXTRA_CA_CERTS", "/nonexistent/corporate-ca.pem").oidc()
            .fails()
            .differs(WHY_CA_FILE),
    );
}

/// The keys given as inputs, exported without a role (reference:
/// src/index.ts:195 run(): exportCredentials() in the keys branch).
fn input_keys_exported(region: &str) -> Vec<(&'static str, V)> {
    let mut env = region_only(region);
    env.extend([
        ("AWS_ACCESS_KEY_ID", is(INPUT_KEY)),
        ("AWS_SECRET_ACCESS_KEY", is("inputSecret")),
    ]);
    env
}

fn with_input_keys(case: Case) -> Case {
    case.with("aws-access-key-id", INPUT_KEY)
        .with("aws-secret-access-key", "inputSecret")
}

/// Issue 20, class 1: numbers as the reference reads them.
fn round_two_numbers(c: &mut Vec<Case>) {
    let r = "eu-west-1";
    c.push(
        Case::new("10a role-duration-seconds: 0 (an unset number input of a reusable workflow) is the default",
            "src/index.ts:43-44 run(): `Number.parseInt(getInput('role-duration-seconds')) || DEFAULT_ROLE_DURATION`")
            .with("role-to-assume", ROLE).with("aws-region", r).with("role-duration-seconds", "0").oidc()
            .assumes(web("GitHubActions", 3600))
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    for (name, value) in [
        ("10b action-timeout-s: 0 sets no timer", "0"),
        ("10c action-timeout-s above 3600 is accepted", "7200"),
    ] {
        c.push(
            Case::new(name, "src/index.ts:71-80 run(): `parseInt(getInput('action-timeout-s')) || 0`, then a timer only `if (globalTimeout > 0)`, of any length")
                .with("role-to-assume", ROLE).with("aws-region", r).with("action-timeout-s", value).oidc()
                .assumes(web("GitHubActions", 3600))
                .exports(&env_creds(r, 1))
                .outputs(&account("123456789012", &assumed("GitHubActions"))),
        );
    }
    c.push(
        with_input_keys(Case::new("10d custom-tags numbers and booleans are sent as their text",
            "src/assumeRole.ts:138-171 parseAndValidateCustomTags(): `typeof value === 'object'` refused, else `String(value)`"))
            .with("role-to-assume", ROLE).with("aws-region", r)
            .with("custom-tags", r#"{"CostCenter": 1200, "Prod": true, "Ratio": 0.5}"#)
            .assumes(assume(INPUT_KEY, ROLE, &format!(" Tags={TAGS},CostCenter,Prod,Ratio")))
            .tag("CostCenter", "1200").tag("Prod", "true").tag("Ratio", "0.5")
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    c.push(
        with_input_keys(Case::new("10e custom-tags with an object value fails",
            "src/assumeRole.ts:139-143 parseAndValidateCustomTags(): 'must be a string, number, or boolean (not an object or array)'"))
            .with("role-to-assume", ROLE).with("aws-region", r)
            .with("custom-tags", r#"{"Team": {"name": "a"}}"#)
            .fails(),
    );
    c.push(
        with_input_keys(Case::new("10f allowed-account-ids written with dashes never matches: the step fails",
            "src/index.ts:64-67 run(): split(',') and trim; src/helpers.ts:169-180 validateAccountId(): `expectedAccountIds.includes(account)` compares text"))
            .with("aws-region", r).with("allowed-account-ids", "1111-1111-1111")
            .warns("allowed-account-ids")
            .fails()
            .differs(WHY_ALLOWED),
    );
    c.push(
        with_input_keys(Case::new(
            "10g allowed-account-ids: a 12-digit entry matches next to a dashed one",
            "src/helpers.ts:169-180 validateAccountId(): any entry equal to the account passes",
        ))
        .with("aws-region", r)
        .with("allowed-account-ids", "111111111111, 1111-1111-1111")
        .warns("allowed-account-ids")
        .exports(&input_keys_exported(r))
        .exports_mine("AWS_SESSION_TOKEN", is(""), WHY_TOKEN)
        .outputs(&account(
            "111111111111",
            "arn:aws:iam::111111111111:user/ci",
        )),
    );
    c.push(
        with_input_keys(Case::new("10h allowed-account-ids with an empty first entry is still enforced",
            "src/helpers.ts:170 validateAccountId(): `expectedAccountIds[0] === ''` returns without checking, so the reference passes"))
            .with("aws-region", r).with("allowed-account-ids", ",999999999999")
            .fails()
            .differs(WHY_EMPTY_FIRST),
    );
}

/// Issue 20, class 2: retries. The reference's loop (src/helpers.ts:238-272
/// retryAndBackoff()) sits on top of the SDK's standard retries (3 attempts,
/// src/CredentialsClient.ts:64-71 builds the STSClient with the default retry
/// strategy) and of @actions/http-client's for the token (502/503/504, ten
/// retries: @actions/core OidcClient.createHttpClient(allowRetry = true, maxRetry = 10)).
fn round_two_retries(c: &mut Vec<Case>) {
    let r = "eu-west-1";
    let ok = |case: Case| {
        case.with("role-to-assume", ROLE)
            .with("aws-region", r)
            .oidc()
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions")))
    };
    c.push(
        ok(Case::new("11a disable-retry: one Throttling from STS is still retried (the SDK's attempts)",
            "src/index.ts:96-97 run(): withRetry() only skips retryAndBackoff(); the STSClient's standard retry strategy still retries throttling"))
            .with("disable-retry", "true")
            .fault(1, "POST", 400, "Throttling")
            .assumes(web("GitHubActions", 3600)).assumes(web("GitHubActions", 3600)),
    );
    c.push(
        ok(Case::new("11b retry-max-attempts: 1: one 503 from STS is still retried (the SDK's attempts)",
            "src/index.ts:63,92-94 run(): maxRetries 1 means one attempt of the action's loop; the SDK retries 5xx under it"))
            .with("retry-max-attempts", "1")
            .fault(1, "POST", 503, "")
            .assumes(web("GitHubActions", 3600)).assumes(web("GitHubActions", 3600)),
    );
    c.push(
        ok(Case::new("11c disable-retry: 502, 503 and 504 from the token endpoint are retried like @actions/http-client",
            "src/index.ts:181-183 run(): core.getIDToken(); @actions/http-client HttpResponseRetryCodes [502, 503, 504], maxTries = maxRetries + 1 = 11"))
            .with("disable-retry", "true")
            .fault(4, "GET", 502, "").fault(3, "GET", 503, "").fault(3, "GET", 504, "")
            .assumes(web("GitHubActions", 3600)),
    );
    c.push(
        ok(Case::new("11d special-characters-workaround overrides disable-retry and retry-max-attempts",
            "src/index.ts:88-91 run(): `if (specialCharacterWorkaround) { disableRetry = false; maxRetries = 12 }`"))
            .with("disable-retry", "true").with("retry-max-attempts", "1")
            .with("special-characters-workaround", "true")
            .warns("disable-retry").warns("retry-max-attempts")
            .fault(4, "POST", 500, "InternalFailure")
            .assumes(web("GitHubActions", 3600)).assumes(web("GitHubActions", 3600))
            .assumes(web("GitHubActions", 3600)).assumes(web("GitHubActions", 3600))
            .assumes(web("GitHubActions", 3600)),
    );
}

/// Issue 20, classes 6–9: proxies, role names with a path, the post step's
/// switch, session-tag characters.
fn round_two_names_tags_proxy(c: &mut Vec<Case>) {
    let r = "eu-west-1";
    let closed = || format!("http://127.0.0.1:{}", closed_port());
    c.push(
        with_input_keys(Case::new(
            "14a no-proxy: '*' bypasses the proxy, for an IP-literal endpoint too",
            "src/ProxyResolver.ts:46 shouldProxy(): `if (noProxy === '*') return false`",
        ))
        .with("role-to-assume", ROLE)
        .with("aws-region", r)
        .with("no-proxy", "*")
        .env("HTTPS_PROXY", closed())
        .assumes(assume(INPUT_KEY, ROLE, &format!(" Tags={TAGS}")))
        .exports(&env_creds(r, 1))
        .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    c.push(
        Case::new("14b NO_PROXY=* bypasses the proxy for the token request and STS",
            "src/helpers.ts:56,62-66 translateEnvVariables(): NO_PROXY → no-proxy; src/ProxyResolver.ts:46; @actions/http-client checkBypass(): `upperNoProxyItem === '*'`")
            .with("role-to-assume", ROLE).with("aws-region", r)
            .env("HTTPS_PROXY", closed()).env("NO_PROXY", "*").oidc()
            .assumes(web("GitHubActions", 3600))
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
    c.push(
        Case::new("12a a bare role name with a path is completed with the caller's account",
            "src/assumeRole.ts:240-247 assumeRole(): `roleArn = `arn:aws:iam::${sourceAccountId}:role/${roleArn}`` keeps the path")
            .with("role-to-assume", "team/deploy").with("aws-region", r).ambient()
            .assumes(assume(AMBIENT_KEY, "arn:aws:iam::222222222222:role/team/deploy", &format!(" Tags={TAGS}")))
            .exports(&env_creds(r, 1))
            .outputs(&account("222222222222", "arn:aws:sts::222222222222:assumed-role/deploy/GitHubActions")),
    );
    let mut skip = Case::new("8c AWS_SKIP_CLEANUP_STEP=TRUE skips the post step (GitHub compares ignoring case)",
            "action.yml:7 `post-if: env.AWS_SKIP_CLEANUP_STEP != 'true'`; GitHub expressions compare strings ignoring case")
        .with("role-to-assume", ROLE).with("aws-region", r).env("AWS_SKIP_CLEANUP_STEP", "TRUE").oidc()
        .assumes(web("GitHubActions", 3600))
        .exports(&env_creds(r, 1))
        .outputs(&account("123456789012", &assumed("GitHubActions")));
    skip.post_clears = Some(vec![]);
    c.push(skip);
    // Devanagari: letters kept, its vowel sign and virama (marks, not \p{L}) replaced.
    let job = "\u{92A}\u{930}\u{940}\u{915}\u{94D}\u{937}\u{923}";
    c.push(
        with_input_keys(Case::new("13a session-tag values keep Unicode letters, numbers and every space separator",
            "src/helpers.ts:199-203 sanitizeGitHubVariables(): `/[^\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]/gu` → `_`, then slice(0, 256)"))
            .with("role-to-assume", ROLE).with("aws-region", r)
            .env("GITHUB_REF", "refs/heads/f\u{eb}at/\u{6771}\u{4eac}\u{a0}x\u{2003}y#1")
            .env("GITHUB_WORKFLOW", "D\u{e9}ploiement \u{2713} (prod) \u{24b6}")
            .env("GITHUB_JOB", job)
            .assumes(assume(INPUT_KEY, ROLE, &format!(" Tags={TAGS}")))
            .tag("Branch", "refs/heads/f\u{eb}at/\u{6771}\u{4eac}\u{a0}x\u{2003}y_1")
            .tag("Workflow", "D\u{e9}ploiement _ _prod_ _")
            .tag("Job", "\u{92A}\u{930}_\u{915}_\u{937}\u{923}")
            .exports(&env_creds(r, 1))
            .outputs(&account("123456789012", &assumed("GitHubActions"))),
    );
}

/// The variables every step of the test job sees, as on a GitHub runner.
fn github_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GITHUB_REPOSITORY", "octo-org/octo-repo"),
        ("GITHUB_WORKFLOW", "deploy"),
        ("GITHUB_ACTION", "__self"),
        ("GITHUB_ACTOR", "octocat"),
        ("GITHUB_SHA", "abc123"),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_RUN_ID", "42"),
        ("GITHUB_JOB", "deploy"),
        // The test machine has no instance metadata; this only saves the SDK's timeouts.
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

struct Ran {
    outs: Vec<Outcome>,
    scenarios: Vec<Scenario>,
    exported: BTreeMap<String, String>,
    calls: Vec<String>,
    audience: Option<String>,
}

/// A TCP port where nothing listens: the proxy of last resort, so that a case
/// that should never reach the network cannot reach AWS.
fn closed_port() -> u16 {
    free_port(LOCALHOST)
}

fn run_case(case: &Case, server: &StsStandIn) -> Ran {
    let mut exported: BTreeMap<String, String> = BTreeMap::new();
    let mut outs = Vec::new();
    let mut scenarios: Vec<Scenario> = Vec::new();
    for step in &case.steps {
        let mut s = Scenario::new();
        for (k, v) in github_env() {
            s = s.env(k, v);
        }
        if !case.no_endpoint {
            s = s.input("sts-endpoint", &server.uri());
        } else {
            s = s.env(
                "HTTPS_PROXY",
                &format!("http://127.0.0.1:{}", closed_port()),
            );
        }
        if case.oidc {
            s = s.oidc(&server.uri());
        }
        for (k, v) in &case.job_env {
            s = s.env(k, v);
        }
        // What earlier steps exported is in this step's environment.
        for (k, v) in &exported {
            s = s.env(k, v);
        }
        if let Some(first) = scenarios.first() {
            s = s.env("RUNNER_TEMP", &first.path("temp").to_string_lossy());
        }
        for (k, v) in &step.with {
            s = s.input(k, v);
        }
        let out = s.run();
        if out.code == 0 {
            exported.extend(out.exported_env());
        }
        outs.push(out);
        scenarios.push(s);
    }
    let requests = server.requests();
    let calls = requests.iter().filter_map(describe).collect();
    let audience = requests
        .iter()
        .find(|r| r.method.as_str() == "GET")
        .and_then(|r| r.url.query_pairs().find(|(k, _)| k == "audience"))
        .map(|(_, v)| v.into_owned());
    Ran {
        outs,
        scenarios,
        exported,
        calls,
        audience,
    }
}

fn stand_in() -> StsStandIn {
    StsStandIn::new().mount(Mock::given(wiremock::matchers::any()).respond_with(StandIn::default()))
}

/// The stand-in with a case's faults in front of its normal answers.
fn faulty_stand_in(faults: &[(u64, &'static str, u16, &'static str)]) -> StsStandIn {
    faults
        .iter()
        .fold(stand_in(), |server, &(times, verb, status, code)| {
            let answer = ResponseTemplate::new(status);
            let answer = if code.is_empty() {
                answer
            } else {
                answer.set_body_string(sts_error_xml(
                    code,
                    "injected by the test",
                    ERROR_REQUEST_ID,
                ))
            };
            server.first(times, verb, answer)
        })
}

/// The session tags (key → value) of the last Assume call.
fn sent_tags(server: &StsStandIn) -> BTreeMap<String, String> {
    let Some(last) = server
        .requests()
        .into_iter()
        .filter(|r| describe(r).is_some_and(|d| d.starts_with("Assume")))
        .last()
    else {
        return BTreeMap::new();
    };
    let f = crate::support::stand_in::form(&last);
    f.iter()
        .filter_map(|(k, key)| {
            let n = k.strip_prefix("Tags.member.")?.strip_suffix(".Key")?;
            Some((
                key.clone(),
                f.get(&format!("Tags.member.{n}.Value"))?.clone(),
            ))
        })
        .collect()
}

/// Checks one case; returns the problems found (empty when it matches).
fn check(case: &Case) -> Vec<String> {
    let server = faulty_stand_in(&case.faults);
    let ran = run_case(case, &server);
    let last = ran.outs.last().unwrap();
    let mut problems = Vec::new();
    let mut fail = |what: String| problems.push(what);
    let all_ok = ran.outs.iter().all(|o| o.code == 0);
    if all_ok != case.success {
        fail(format!(
            "exit: expected {}, got {}",
            if case.success { "success" } else { "failure" },
            last.code
        ));
    }
    // Exported variables: exactly the reference's, plus our deliberate ones.
    let mut expected: BTreeMap<&str, &V> = case.env.iter().map(|(k, v)| (*k, v)).collect();
    for (k, v, _) in &case.env_mine {
        expected.insert(k, v);
    }
    let names = |m: Vec<&str>| m.join(",");
    if names(expected.keys().copied().collect())
        != names(ran.exported.keys().map(String::as_str).collect())
    {
        fail(format!(
            "exported names: expected {:?}, got {:?}",
            expected.keys().collect::<Vec<_>>(),
            ran.exported.keys().collect::<Vec<_>>()
        ));
    }
    for (k, v) in &expected {
        if let Some(actual) = ran.exported.get(*k) {
            if !v.matches(actual) {
                fail(format!("{k}: expected {v:?}, got {actual:?}"));
            }
        }
    }
    // Outputs (earlier steps' outputs are their own; the last step's count).
    let outputs = if case.success {
        last.outputs()
    } else {
        BTreeMap::new()
    };
    let mut expected: BTreeMap<&str, &V> = case.outputs.iter().map(|(k, v)| (*k, v)).collect();
    for (k, v, _) in &case.outputs_mine {
        expected.insert(k, v);
    }
    if names(expected.keys().copied().collect())
        != names(outputs.keys().map(String::as_str).collect())
    {
        fail(format!(
            "outputs: expected {:?}, got {:?}",
            expected.keys().collect::<Vec<_>>(),
            outputs.keys().collect::<Vec<_>>()
        ));
    }
    for (k, v) in &expected {
        if let Some(actual) = outputs.get(*k) {
            if !v.matches(actual) {
                fail(format!("output {k}: expected {v:?}, got {actual:?}"));
            }
        }
    }
    let assume_calls: Vec<&String> = ran
        .calls
        .iter()
        .filter(|c| c.starts_with("Assume"))
        .collect();
    if assume_calls != case.assume_calls.iter().collect::<Vec<_>>() {
        fail(format!(
            "STS calls: expected {:#?}, got {:#?}",
            case.assume_calls, assume_calls
        ));
    }
    if let Some(key) = case.identified_by {
        let want = format!("GetCallerIdentity signer={key}");
        if !ran.calls.contains(&want) {
            fail(format!("no {want} among {:?}", ran.calls));
        }
    }
    if case.audience.is_some() && ran.audience.as_deref() != case.audience {
        fail(format!(
            "audience: expected {:?}, got {:?}",
            case.audience, ran.audience
        ));
    }
    let stdout: String = ran.outs.iter().map(|o| o.stdout.as_str()).collect();
    let mut warned: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("::warning title=Input `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    warned.sort();
    let mut want = case.warns.clone();
    want.sort();
    if warned != want {
        fail(format!(
            "warnings: expected {:?}, got {warned:?}",
            case.warns
        ));
    }
    for mask in &case.masks {
        if !stdout.lines().any(|l| l == format!("::add-mask::{mask}")) {
            fail(format!("{mask} is not masked"));
        }
    }
    for text in &case.stdout_has {
        if !stdout.contains(text) {
            fail(format!("stdout lacks {text:?}"));
        }
    }
    if !case.tag_values.is_empty() {
        let sent = sent_tags(&server);
        for (key, value) in &case.tag_values {
            if sent.get(*key) != Some(value) {
                fail(format!(
                    "tag {key}: expected {value:?}, sent {:?}",
                    sent.get(*key)
                ));
            }
        }
    }
    if !case.success && last.env_file != ENV_BEFORE {
        fail("a failed run changed GITHUB_ENV".into());
    }
    if let Some(clears) = &case.post_clears {
        // The post step as the runner starts it: the main step's state, the job's env.
        let mut post = Scenario::new().arg("post");
        for (k, v) in file_commands_map(&last.state) {
            post = post.env(&format!("STATE_{k}"), &v);
        }
        for (k, v) in &case.job_env {
            post = post.env(k, v);
        }
        let out = post.run();
        let cleared: Vec<String> = out
            .exported_env()
            .into_iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(k, _)| k)
            .collect();
        let mut want: Vec<String> = clears.iter().map(|s| s.to_string()).collect();
        if case.post_clears_mine.is_some() {
            // Our profile files' variables: exported by us, cleared by us.
            want.extend([
                "AWS_CONFIG_FILE".into(),
                "AWS_SHARED_CREDENTIALS_FILE".into(),
            ]);
        }
        want.sort();
        if cleared != want {
            fail(format!("post step cleared {cleared:?}, expected {want:?}"));
        }
    }
    problems
}

#[test]
fn workflows_written_for_the_reference_behave_the_same() {
    let cases = cases();
    assert!(cases.len() >= 30, "the matrix covers every group");
    let mut report = Vec::new();
    for case in &cases {
        let problems = check(case);
        if !problems.is_empty() {
            report.push(format!(
                "{}\n  reference: {}\n  - {}",
                case.name,
                case.reference,
                problems.join("\n  - ")
            ));
        }
    }
    assert!(
        report.is_empty(),
        "{} of {} cases differ from the reference:\n{}",
        report.len(),
        cases.len(),
        report.join("\n")
    );
}

/// The deliberate differences the matrix records are exactly the README's
/// Migrating table rows (a difference cannot be added silently).
#[test]
fn every_deliberate_difference_is_in_the_readme() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let migrating = readme
        .split("## Migrating")
        .nth(1)
        .expect("README has a Migrating section");
    let count = format!("{} workflows", cases().len());
    assert!(
        migrating.contains(&count),
        "README Migrating should say {count}"
    );
    for case in cases() {
        let whys = case
            .env_mine
            .iter()
            .map(|(_, _, m)| m)
            .chain(case.outputs_mine.iter().map(|(_, _, m)| m))
            .chain(case.post_clears_mine.iter())
            .chain(case.differs.iter());
        for m in whys {
            assert!(
                migrating.contains(m.why),
                "README Migrating lacks: {}",
                m.why
            );
        }
    }
}

/// Group 1: action.yml gives a default only where the reference's action.yml does
/// (`audience: sts.amazonaws.com`), plus the hidden `runner-temp`: any other
/// default would hide the variable of the same name (reference: action.yml;
/// src/helpers.ts translateEnvVariables() only fills empty inputs).
#[test]
fn action_yml_defaults_leave_room_for_the_variables() {
    let with_default: Vec<(String, String)> = input_defaults("/rt")
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    assert_eq!(
        with_default,
        [
            ("audience".to_owned(), "sts.amazonaws.com".to_owned()),
            ("runner-temp".to_owned(), "host:/rt".to_owned()),
        ]
    );
    // Every input read from a variable is declared, so the runner passes it (empty).
    let declared: Vec<String> = input_defaults("/rt").into_keys().collect();
    for var in keyless_aws::inputs::raw::FROM_ENV {
        let input = var.to_ascii_lowercase().replace('_', "-");
        assert!(declared.contains(&input), "{input} is not in action.yml");
    }
}

/// A CONNECT-only proxy that records the target and refuses the tunnel.
fn recording_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        // Bounded: a few connections at most (one attempt per call).
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { break };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]);
            record
                .lock()
                .unwrap()
                .push(head.lines().next().unwrap_or_default().to_owned());
            let _ = stream.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        }
    });
    (port, seen)
}

/// Group 6: With only HTTP_PROXY set, https STS traffic goes through it (reference:
/// src/index.ts run(): `proxyServer = getInput('http-proxy') || process.env.HTTP_PROXY`;
/// src/CredentialsClient.ts uses it for httpsProxy too). The proxy here refuses
/// the tunnel, so the run fails; what matters is where the request went.
#[test]
fn only_http_proxy_carries_https_sts_traffic() {
    let (port, seen) = recording_proxy();
    let s = Scenario::new()
        .input("aws-access-key-id", INPUT_KEY)
        .input("aws-secret-access-key", "inputSecret")
        .input("aws-region", "eu-west-1")
        .input("retry-max-attempts", "1")
        .env("HTTP_PROXY", &format!("http://127.0.0.1:{port}"));
    let out = s.run();
    out.assert_failed_cleanly();
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("CONNECT sts.eu-west-1.amazonaws.com:443")),
        "{seen:?}\n{}",
        out.stdout
    );
}

/// Group 4: `aws-region: aws-global` reaches the global STS endpoint, as the
/// SDKs resolve it (reference: src/index.ts REGION_REGEX accepts it and the JS
/// SDK resolves it the same way). Seen through a recording proxy: nothing
/// leaves the machine.
#[test]
fn aws_global_reaches_the_global_endpoint() {
    let (port, seen) = recording_proxy();
    let out = Scenario::new()
        .input("aws-access-key-id", INPUT_KEY)
        .input("aws-secret-access-key", "inputSecret")
        .input("aws-region", "aws-global")
        .input("retry-max-attempts", "1")
        .env("HTTPS_PROXY", &format!("http://127.0.0.1:{port}"))
        .run();
    out.assert_failed_cleanly();
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("CONNECT sts.amazonaws.com:443")),
        "{seen:?}\n{}",
        out.stdout
    );
}

/// Issue 20, class 5: FIPS and dual-stack STS endpoints, as the reference's
/// SDK picks them from AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT or
/// the config profile (reference: src/CredentialsClient.ts:64-71 creates its
/// STSClient without endpoint options, so the SDK's defaults read both), in
/// every partition. Seen through a recording proxy: nothing leaves the machine.
#[test]
fn fips_and_dual_stack_reach_the_sdks_endpoint_in_every_partition() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[default]\nuse_dualstack_endpoint = true\n[profile fips]\nuse_fips_endpoint = TRUE\n",
    )
    .unwrap();
    let config = config.to_string_lossy().into_owned();
    /// (region, the job's env, the host the SDK resolves)
    type EndpointCase<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[EndpointCase] = &[
        (
            "us-east-1",
            &[("AWS_USE_FIPS_ENDPOINT", "true")],
            "sts-fips.us-east-1.amazonaws.com",
        ),
        (
            "us-east-1",
            &[("AWS_USE_DUALSTACK_ENDPOINT", "true")],
            "sts.us-east-1.api.aws",
        ),
        (
            "us-east-2",
            &[
                ("AWS_USE_FIPS_ENDPOINT", "true"),
                ("AWS_USE_DUALSTACK_ENDPOINT", "true"),
            ],
            "sts-fips.us-east-2.api.aws",
        ),
        (
            "eu-west-1",
            &[("AWS_CONFIG_FILE", &config)],
            "sts.eu-west-1.api.aws",
        ),
        (
            "eu-west-1",
            &[("AWS_CONFIG_FILE", &config), ("AWS_PROFILE", "fips")],
            "sts-fips.eu-west-1.amazonaws.com",
        ),
        // The variable wins over the profile.
        (
            "eu-west-1",
            &[
                ("AWS_CONFIG_FILE", &config),
                ("AWS_USE_DUALSTACK_ENDPOINT", "false"),
            ],
            "sts.eu-west-1.amazonaws.com",
        ),
        (
            "cn-north-1",
            &[("AWS_USE_DUALSTACK_ENDPOINT", "true")],
            "sts.cn-north-1.api.amazonwebservices.com.cn",
        ),
        (
            "us-gov-west-1",
            &[("AWS_USE_FIPS_ENDPOINT", "true")],
            "sts.us-gov-west-1.amazonaws.com",
        ),
        (
            "us-gov-east-1",
            &[("AWS_USE_DUALSTACK_ENDPOINT", "true")],
            "sts.us-gov-east-1.api.aws",
        ),
    ];
    for (region, env, host) in cases {
        let (port, seen) = recording_proxy();
        let s = Scenario::new()
            .input("aws-access-key-id", INPUT_KEY)
            .input("aws-secret-access-key", "inputSecret")
            .input("aws-region", region)
            .input("retry-max-attempts", "1")
            .env("HTTPS_PROXY", &format!("http://127.0.0.1:{port}"));
        let out = env.iter().fold(s, |s, (k, v)| s.env(k, v)).run();
        out.assert_failed_cleanly();
        let seen = seen.lock().unwrap().clone();
        assert!(
            seen.iter()
                .any(|l| l.starts_with(&format!("CONNECT {host}:443"))),
            "{region} {env:?}: expected {host}, the proxy saw {seen:?}\n{}",
            out.stdout
        );
    }
}

/// Issue 20, class 5: `aws-global` names sts.amazonaws.com, which has no
/// dual-stack or FIPS variant; the reference's SDK would resolve a host that
/// does not exist and fail after its retries. Refused before any request here,
/// saying so; and so is a custom endpoint with either setting, which every SDK
/// refuses (its endpoint rules: "FIPS and custom endpoint are not supported").
#[test]
fn impossible_endpoint_variants_are_refused_before_any_request() {
    let (port, seen) = recording_proxy();
    let step = |region: &str| {
        Scenario::new()
            .input("aws-access-key-id", INPUT_KEY)
            .input("aws-secret-access-key", "inputSecret")
            .input("aws-region", region)
            .env("HTTPS_PROXY", &format!("http://127.0.0.1:{port}"))
    };
    let out = step("aws-global")
        .env("AWS_USE_DUALSTACK_ENDPOINT", "true")
        .run();
    out.assert_failed_cleanly();
    assert!(
        out.error_line().contains("aws-global")
            && out.error_line().contains("no dual-stack endpoint"),
        "{}",
        out.stdout
    );
    let out = step("us-east-1")
        .input("sts-endpoint", "https://sts.internal.test")
        .env("AWS_USE_FIPS_ENDPOINT", "true")
        .run();
    out.assert_failed_cleanly();
    assert!(out.error_line().contains("sts-endpoint"), "{}", out.stdout);
    let out = step("us-east-1").env("AWS_USE_FIPS_ENDPOINT", "yes").run();
    out.assert_failed_cleanly();
    assert!(
        out.error_line().contains("AWS_USE_FIPS_ENDPOINT"),
        "{}",
        out.stdout
    );
    assert!(seen.lock().unwrap().is_empty(), "no request was made");
}

/// Issue 20, class 6: an STS that is not AWS's (MinIO, SeaweedFS, Ceph,
/// LocalStack) behind a custom `sts-endpoint` issues other shapes: a JWT as
/// session token, a secret with any printable character. The reference exports
/// whatever its SDK parsed (src/helpers.ts:72-120 exportCredentials(), each
/// value given to core.setSecret() first); so does this action, masked, while
/// AWS's own endpoints keep the strict shapes (src/secret.rs unit tests).
#[test]
fn a_non_aws_sts_endpoints_credentials_are_taken_as_given_and_masked() {
    let jwt_session = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJtaW5pbyJ9.c2lnbmF0dXJl-_";
    let creds = Creds {
        key_id: "ZT0OCM7ZVTM1U8DVZ4Q5".into(),
        secret: "s3cr3t!#$*(){}?;:~|^/+=.,@".into(),
        token: jwt_session.into(),
    };
    let sts = StsStandIn::new()
        .github_token("repo:octo-org/octo-repo:ref:refs/heads/main")
        .assume_as(
            "AssumeRoleWithWebIdentity",
            &creds,
            "arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions",
        );
    let out = Scenario::oidc_step(&sts).run();
    out.assert_success();
    let env = out.exported_env();
    assert_eq!(env["AWS_ACCESS_KEY_ID"], creds.key_id);
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], creds.secret);
    assert_eq!(env["AWS_SESSION_TOKEN"], jwt_session);
    out.assert_masked_and_not_leaked(&[&creds.key_id, &creds.secret, jwt_session]);
}

/// Group 6: HTTPS_PROXY wins over HTTP_PROXY, for http URLs too (reference:
/// src/helpers.ts translateEnvVariables(): HTTP_PROXY = HTTPS_PROXY). The
/// stand-in is the proxy: a proxied plain-HTTP request reaches it.
#[test]
fn https_proxy_wins_for_both_schemes() {
    let server = stand_in();
    let s = Scenario::new()
        .input("aws-access-key-id", INPUT_KEY)
        .input("aws-secret-access-key", "inputSecret")
        .input("aws-region", "eu-west-1")
        .input("sts-endpoint", "http://sts.internal.test:9")
        .env("HTTPS_PROXY", &server.uri())
        .env("HTTP_PROXY", &format!("http://127.0.0.1:{}", closed_port()));
    let out = s.run();
    out.assert_success();
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.url.host_str() == Some("sts.internal.test")),
        "{:?}",
        requests
            .iter()
            .map(|r| r.url.to_string())
            .collect::<Vec<_>>()
    );
}

/// What a later step's SDK resolves: botocore (as the AWS CLI and boto3 use it)
/// with the job's environment after the steps, per `--profile`.
fn botocore_resolves(
    env: &BTreeMap<String, String>,
    home: &std::path::Path,
    profiles: &[Option<&str>],
) -> Vec<(Option<String>, Option<String>)> {
    const SCRIPT: &str = r#"
import json, sys, botocore.session
out = []
for p in sys.argv[1:]:
    s = botocore.session.Session(profile=None if p == "-" else p)
    c = s.get_credentials()
    out.append([s.get_config_variable("region"), c.access_key if c else None])
print(json.dumps(out))
"#;
    let mut cmd = std::process::Command::new("python3");
    cmd.arg("-c").arg(SCRIPT).env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("HOME", home);
    cmd.env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env.iter().filter(|(_, v)| !v.is_empty()) {
        cmd.env(k, v);
    }
    for p in profiles {
        cmd.arg(p.unwrap_or("-"));
    }
    let out = cmd.output().expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Group 3: Per profile, a later step's SDK gets the region and identity the
/// reference gives it (reference: src/profileManager.ts writeProfileFiles():
/// `[profile NAME]` with `region`, `[NAME]` with the keys; nothing global).
#[test]
#[ignore = "needs moto (python3 with boto3): run by scripts/test.sh"]
fn later_steps_sdk_resolves_each_profile_like_the_reference() {
    require(&[Tool::Moto]);
    let mut checked = 0;
    for case in cases().into_iter().filter(|c| !c.sdk.is_empty()) {
        let server = stand_in();
        let ran = run_case(&case, &server);
        assert!(
            ran.outs.iter().all(|o| o.code == 0),
            "{}: {}",
            case.name,
            ran.outs.last().unwrap().stdout
        );
        let mut env: BTreeMap<String, String> = case
            .job_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        env.extend(ran.exported.clone());
        let profiles: Vec<Option<&str>> = case.sdk.iter().map(|(p, _, _)| *p).collect();
        let home = ran.scenarios[0].path("home");
        let got = botocore_resolves(&env, &home, &profiles);
        for ((profile, region, key), (got_region, got_key)) in case.sdk.iter().zip(got) {
            assert_eq!(
                (region.map(str::to_owned), key.clone()),
                (got_region, got_key),
                "{}: --profile {profile:?}",
                case.name
            );
        }
        checked += 1;
    }
    assert!(checked >= 3);
}

/// Group 4: LocalStack-style `test` keys against moto, a real STS emulator.
#[test]
#[ignore = "needs moto: run by scripts/test.sh"]
fn localstack_style_keys_work_against_moto() {
    require(&[Tool::Moto]);
    let moto = Moto::start(LOCALHOST);
    let s = Scenario::new()
        .input("aws-access-key-id", "test")
        .input("aws-secret-access-key", "test")
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .input("sts-endpoint", &moto.url());
    let out = s.run();
    out.assert_success();
    assert_eq!(
        out.outputs()["authenticated-arn"],
        "arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions"
    );
    assert!(out.exported_env()["AWS_ACCESS_KEY_ID"].starts_with("ASIA"));
}
