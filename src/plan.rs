//! What one run will do, fully decided before any request: where the first
//! credentials come from, which roles are assumed after them, how the result
//! is delivered to later steps, and every fact about the runner the run needs.
//!
//! The types make combinations the action cannot carry out unrepresentable: a
//! web identity always names the role it is exchanged for, a bare role name can
//! only be a hop signed by earlier credentials, and "keep the existing
//! credentials" carries its own fallback. [`crate::inputs::build::plan`] builds a plan;
//! [`crate::run::run`] executes it and reads no environment.

use crate::aws_names::{
    Audience, IdentityPoolId, ProfileName, Region, RoleArn, RoleName, SessionName,
};
use crate::secret::{Credentials, Secret};
use crate::tags::Tag;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a run will do, validated.
#[derive(Debug)]
pub struct Plan {
    pub region: Region,
    pub mode: Mode,
    /// `unset-current-credentials`: clear AWS_* keys left by earlier steps.
    pub unset_current_credentials: bool,
    /// `special-characters-workaround`: ask again until the secret key is alphanumeric.
    pub secret_key: SecretKeyRule,
    pub account: AccountChecks,
    pub network: Network,
    pub runner: Runner,
    /// Inputs that were ignored or adjusted, as the reference action would
    /// (see [`Warning`]). Printed once, right after planning, so they show
    /// even when the run fails later.
    pub warnings: Vec<Warning>,
}

/// What a run produces: the top-level choice, each with only its own fields.
#[derive(Debug)]
pub enum Mode {
    /// One credential set (`role-to-assume`, keys, the job's own credentials),
    /// delivered as the job's variables, a profile, or a refreshing profile.
    Single(SinglePlan),
    /// `roles`: several roles in one run, each delivered as its own named
    /// profile (nothing global changes but what the files need).
    Profiles(ProfilesPlan),
}

/// One credential set: how it is obtained and how it reaches later steps.
#[derive(Debug)]
pub struct SinglePlan {
    pub credentials: CredentialPlan,
    pub delivery: Delivery,
    /// `output-credentials`: the keys also become step outputs.
    pub output_credentials: bool,
}

/// An input the plan ignores or adjusts where the reference action
/// (aws-actions/configure-aws-credentials) would carry on silently: a shared
/// or reusable workflow passes the same inputs to every caller, so failing
/// would break workflows that work with the reference. The user still learns
/// what was ignored and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The input (or variable) concerned, e.g. `custom-tags`.
    pub input: &'static str,
    /// What happened to it and why, one sentence.
    pub message: String,
}

/// Which secret access keys are accepted (`special-characters-workaround`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecretKeyRule {
    /// Whatever STS issues.
    #[default]
    AsIssued,
    /// Letters and digits only: ask again (a bounded number of times) until
    /// STS issues such a key, for tools that mishandle `+` and `/`.
    AlphanumericOnly,
}

/// How the credentials are obtained.
#[derive(Debug)]
pub enum CredentialPlan {
    /// Get new credentials: the source, then each role hop in order.
    Obtain(Chain),
    /// `use-existing-credentials`: keep the environment's credentials when they
    /// work (nothing is exported then); otherwise run the fallback, if any.
    KeepExisting { fallback: Option<Chain> },
    /// Neither a role nor keys were given: the job's own credentials stay as
    /// they are and nothing but the region is exported (the reference action's
    /// "Proceeding with IAM user credentials").
    LeaveAsIs(Identify),
}

/// Whether [`CredentialPlan::LeaveAsIs`] asks STS who the job's credentials are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identify {
    /// `GetCallerIdentity` with the environment's credentials, for the account
    /// outputs and `allowed-account-ids`; no credentials is a failure.
    Required,
    /// No STS call at all: `web-identity-token-file` without a role, which the
    /// reference action accepts without looking at any credentials.
    Skip,
}

/// A credential source followed by role hops. Each hop is an `AssumeRole`
/// signed by the credentials before it; with no hops, the source's own
/// credentials are delivered.
#[derive(Debug)]
pub struct Chain {
    pub source: CredentialSource,
    pub hops: Vec<RoleHop>,
}

#[derive(Debug)]
pub enum CredentialSource {
    /// A web identity token exchanged for a role (`AssumeRoleWithWebIdentity`).
    WebIdentity(WebIdentity),
    /// Keys given as inputs.
    Keys(Credentials),
    /// The credentials the environment holds, as any AWS SDK would find them.
    Ambient(AmbientReason),
    /// A web identity token given to an Amazon Cognito identity pool as its
    /// login; Cognito assumes the role with the token's claims as principal
    /// tags (src/cognito/).
    IdentityPool(Box<IdentityPool>),
}

/// `cognito-identity-pool-id`: the pool, the token it is given, and the role
/// asked for, if any.
#[derive(Debug)]
pub struct IdentityPool {
    pub token: TokenSource,
    pub login: PoolLogin,
    /// `role-to-assume`: Cognito's CustomRoleArn, which the pool's role
    /// mapping must allow; `None` for the role the pool chooses.
    pub role: Option<RoleArn>,
}

/// An identity pool a token is given to as its login, and where Cognito is.
#[derive(Clone)]
pub struct PoolLogin {
    pub pool: IdentityPoolId,
    /// AWS_ENDPOINT_URL_COGNITO_IDENTITY, else AWS_ENDPOINT_URL (an emulator).
    pub endpoint: Option<url::Url>,
}

/// Debug output never shows the endpoint's user name or password.
impl std::fmt::Debug for PoolLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolLogin")
            .field("pool", &self.pool)
            .field(
                "endpoint",
                &self.endpoint.as_ref().map(crate::text::shown_url),
            )
            .finish()
    }
}

/// Why the environment's credentials sign the first hop; it decides what a
/// missing credential means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmbientReason {
    /// `role-chaining: true`.
    RoleChaining,
    /// A role, but no keys, no token file and no OIDC token: as the reference
    /// action does, whatever credentials the job holds (keys set by an earlier
    /// step or `env:`, an instance profile) sign `AssumeRole`. With none, the
    /// likely mistake is the missing `id-token: write` permission.
    NoOidcToken { under_act: bool },
}

#[derive(Debug)]
pub struct WebIdentity {
    pub token: TokenSource,
    /// Always a full ARN: a web identity has no caller account to complete a name.
    pub role: RoleArn,
    pub session: SessionOptions,
}

/// Where a web identity token comes from, for every front end (the engine in
/// `src/exchange/` reads it).
#[derive(Clone)]
pub enum TokenSource {
    /// GitHub's OIDC token endpoint.
    Request {
        /// `ACTIONS_ID_TOKEN_REQUEST_URL` with `audience` already appended.
        url: url::Url,
        bearer: Secret,
        audience: Audience,
    },
    /// A JWT in a file; the path is absolute (a relative input was resolved
    /// against the workspace while planning). Read with the hardened reader.
    File(PathBuf),
    /// A variable that holds the token (GitLab's `id_tokens`, CircleCI,
    /// Bitbucket, `assume --token-env`).
    Env(String),
    /// `buildkite-agent oidc request-token --audience …`.
    BuildkiteAgent { audience: Audience },
}

impl TokenSource {
    /// Where the token comes from, for a log line (never the token).
    pub fn describe(&self) -> String {
        match self {
            TokenSource::Env(name) => format!("${name}"),
            TokenSource::File(path) => path.display().to_string(),
            TokenSource::Request { .. } => "GitHub's token endpoint".into(),
            TokenSource::BuildkiteAgent { .. } => "buildkite-agent oidc request-token".into(),
        }
    }

    /// The audience this program asks for, when it requests the token itself.
    pub fn requested_audience(&self) -> Option<&Audience> {
        match self {
            TokenSource::Request { audience, .. } | TokenSource::BuildkiteAgent { audience } => {
                Some(audience)
            }
            TokenSource::File(_) | TokenSource::Env(_) => None,
        }
    }
}

/// Debug output (the plan is logged in debug mode) never shows the token
/// request URL's runner-issued query.
impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Request {
                url,
                bearer,
                audience,
            } => f
                .debug_struct("Request")
                .field("url", &crate::text::shown_url(url))
                .field("bearer", bearer)
                .field("audience", audience)
                .finish(),
            TokenSource::File(path) => f.debug_tuple("File").field(path).finish(),
            TokenSource::Env(name) => f.debug_tuple("Env").field(name).finish(),
            TokenSource::BuildkiteAgent { audience } => f
                .debug_struct("BuildkiteAgent")
                .field("audience", audience)
                .finish(),
        }
    }
}

/// One `AssumeRole`, signed by the credentials obtained before it.
#[derive(Debug, Clone)]
pub struct RoleHop {
    pub target: RoleTarget,
    pub session: SessionOptions,
    pub external_id: Option<String>,
    /// Session tags; `None` when tagging is skipped.
    pub tags: Option<Vec<Tag>>,
    pub transitive_tag_keys: Vec<String>,
}

/// The role of a hop: a full ARN, or a bare name completed with the signing
/// caller's own account and partition.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleTarget {
    Arn(RoleArn),
    Name(RoleName),
}

/// What every assumed session carries, whichever call assumes it.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub name: SessionName,
    pub duration_seconds: i32,
    /// Minified JSON (STS counts the packed size).
    pub inline_policy: Option<String>,
    pub managed_policies: Vec<String>,
}

/// `roles`: the roles as a forest (each `via` profile under the profile whose
/// credentials sign it), so every chained role runs after its source by
/// construction, and where the profiles are written.
#[derive(Debug)]
pub struct ProfilesPlan {
    pub roots: Roots,
    pub files: NamedProfiles,
    pub content: ProfileCredentials,
}

/// What each profile of `roles` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileCredentials {
    /// The keys issued by this run.
    Keys,
    /// `refresh-credentials`: a `credential_process` that replays the
    /// profile's own chain (a new OIDC token, the web identity, each `via`
    /// hop) whenever an SDK needs fresh credentials.
    Refreshing,
}

/// How the roles without `via` are assumed.
#[derive(Debug)]
pub enum Roots {
    /// `AssumeRoleWithWebIdentity`: one token per audience, shared by every
    /// role that needs it.
    WebIdentity(Vec<TokenGroup>),
    /// `AssumeRole` signed by credentials the step already holds.
    Signed {
        signer: Signer,
        roles: Vec<RoleProfile>,
    },
}

/// Credentials that sign the roots of a `roles` run without a web identity.
#[derive(Debug)]
pub enum Signer {
    /// `aws-access-key-id`/`aws-secret-access-key`.
    Keys(Credentials),
    /// `role-chaining: true`: the environment's credentials.
    Ambient,
}

/// One token (requested once, or read once from a file) and the roles it is
/// exchanged for.
#[derive(Debug)]
pub struct TokenGroup {
    pub token: TokenSource,
    pub roles: Vec<WebProfile>,
}

/// A profile assumed with a web identity, and the profiles chained from it.
#[derive(Debug)]
pub struct WebProfile {
    pub profile: ProfileTarget,
    pub role: RoleArn,
    pub session: SessionOptions,
    /// `identity-pool=`: the token is this pool's login and `role` the role
    /// asked of it (Cognito's CustomRoleArn); `session` does not apply.
    pub identity_pool: Option<PoolLogin>,
    pub chained: Vec<RoleProfile>,
}

/// A profile assumed with `AssumeRole` signed by its parent's credentials (the
/// step's signer for a root, the `via` profile otherwise), and the profiles
/// chained from it.
#[derive(Debug)]
pub struct RoleProfile {
    pub profile: ProfileTarget,
    pub hop: RoleHop,
    pub chained: Vec<RoleProfile>,
}

/// Where one role's credentials go, and the `roles` line that asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileTarget {
    pub name: ProfileName,
    pub region: Region,
    pub line: usize,
}

/// The named profiles of a `roles` run: files for later steps, and the profile
/// `AWS_PROFILE` names (`default-profile`), if any.
#[derive(Debug)]
pub struct NamedProfiles {
    pub dir: ProfileDir,
    pub default: Option<ProfileName>,
    /// `overwrite-aws-profile`: replace profiles of the same names.
    pub overwrite: bool,
}

/// How the credentials reach later steps. Outputs (`output-credentials`,
/// `aws-account-id`, …) are written whatever the delivery.
#[derive(Debug)]
pub enum Delivery {
    /// `output-env-credentials: false` and no profile: nothing in the job's env.
    OutputsOnly,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and the region.
    EnvVars,
    /// A named profile in INI files (the region inside the profile), and the
    /// file paths in env. With `env_vars` (`output-env-credentials: true`) the
    /// keys, the region and AWS_PROFILE are exported too, as the reference
    /// action does; without, nothing global changes, so several profiles
    /// (dev in us-east-1, prod in us-west-2) keep their own regions.
    ProfileFiles {
        profile: ProfileDelivery,
        env_vars: bool,
    },
    /// `refresh-credentials`: a profile whose `credential_process` is a copy of
    /// this binary, which requests a new token and repeats the chain whenever
    /// the SDK needs fresh credentials (src/refresh/). Only a web identity from
    /// the runner's token request can be described this way. No keys in env:
    /// the profile, the region and blank key variables.
    RefreshingProfile(Box<RefreshDelivery>),
}

impl Delivery {
    /// Whether the AWS_* key and region variables are exported (and
    /// `unset-current-credentials` may clear the job's keys).
    pub fn exports_env_vars(&self) -> bool {
        match self {
            Delivery::OutputsOnly => false,
            Delivery::EnvVars => true,
            Delivery::ProfileFiles { env_vars, .. } => *env_vars,
            Delivery::RefreshingProfile(_) => false,
        }
    }
}

#[derive(Debug)]
pub struct ProfileDelivery {
    pub name: ProfileName,
    pub overwrite: bool,
    pub dir: ProfileDir,
}

/// `refresh-credentials`: the refreshing profile's name and directory. What
/// the helper assumes is the plan's chain itself (`refresh::description`
/// describes it without its secrets).
#[derive(Debug)]
pub struct RefreshDelivery {
    pub name: ProfileName,
    pub dir: ProfileDir,
}

/// Where this process writes, and where later steps will find the same files
/// (decided while planning, see `inputs::runner::profile_dir`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileDir {
    pub local: PathBuf,
    pub for_later_steps: PathBuf,
}

#[derive(Debug, Default)]
pub struct AccountChecks {
    /// `allowed-account-ids` as text (entries that are not 12-digit ids
    /// never match); empty means any.
    pub allowed: Vec<String>,
    /// `mask-aws-account-id`.
    pub mask: bool,
}

pub struct Network {
    /// `sts-endpoint` (or AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL).
    pub sts_endpoint: Option<url::Url>,
    pub proxy: Proxy,
    pub retry: RetryPolicy,
    pub action_timeout: Option<Duration>,
    /// Set when this runs as a container action and `sts-endpoint` or the
    /// proxy points at a loopback address: the container's loopback is not the
    /// runner's, so what listens on the runner's 127.0.0.1 cannot be reached.
    /// Holds the explanation added to a connection failure.
    pub container_loopback: Option<String>,
    /// CA files trusted on top of the image's bundle (src/ca.rs).
    pub extra_cas: Vec<ExtraCa>,
    /// FIPS / dual-stack regional endpoints.
    pub endpoint_variant: EndpointVariant,
}

/// URLs in debug output carry no user name, password or query.
impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field(
                "sts_endpoint",
                &self.sts_endpoint.as_ref().map(crate::text::shown_url),
            )
            .field("proxy", &self.proxy)
            .field("retry", &self.retry)
            .field("action_timeout", &self.action_timeout)
            .field("extra_cas", &self.extra_cas)
            .field("endpoint_variant", &self.endpoint_variant)
            .finish()
    }
}

/// Proxy settings for both HTTP clients (the token request and the SDK),
/// resolved from `http-proxy`/`no-proxy` or the standard variables.
#[derive(Default, Clone)]
pub struct Proxy {
    /// For `https://` URLs.
    pub https: Option<url::Url>,
    /// For `http://` URLs (a local STS stand-in or token endpoint).
    pub http: Option<url::Url>,
    /// NO_PROXY rules, comma-separated.
    pub no_proxy: Option<String>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("https", &self.https.as_ref().map(crate::text::shown_url))
            .field("http", &self.http.as_ref().map(crate::text::shown_url))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl Proxy {
    /// The proxy for a URL with this scheme.
    pub fn for_scheme(&self, scheme: &str) -> Option<&url::Url> {
        if scheme == "http" {
            self.http.as_ref()
        } else {
            self.https.as_ref()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts per call, including the first.
    pub max_attempts: u32,
}

/// The runner's files and facts, read once while planning.
#[derive(Debug, Clone, Default)]
pub struct Runner {
    pub env_file: PathBuf,
    pub output_file: PathBuf,
    /// `GITHUB_STATE`, for the post step; absent outside a runner.
    pub state_file: Option<PathBuf>,
    pub step_summary: Option<PathBuf>,
    pub workspace: Option<PathBuf>,
    /// Who must own files written for later steps: the owner of the runner's
    /// file-command files. On GitHub-hosted runners a container action runs as
    /// root while later steps run as uid 1001.
    pub owner: Option<FileOwner>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOwner {
    pub uid: u32,
    pub gid: u32,
}

/// One file of extra CA certificates, read and checked (src/ca.rs).
#[derive(Clone, PartialEq)]
pub struct ExtraCa {
    /// Where the path came from: a variable name or a config-file setting.
    pub source: String,
    pub path: PathBuf,
    /// The file's PEM text (certificates are public; nothing here is secret).
    pub pem: Vec<u8>,
}

impl std::fmt::Debug for ExtraCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {}", self.source, self.path.display())
    }
}

/// Which of the regional STS endpoint's variants is called, as the SDKs choose
/// it from `AWS_USE_FIPS_ENDPOINT`/`AWS_USE_DUALSTACK_ENDPOINT` (or the config
/// profile's `use_fips_endpoint`/`use_dualstack_endpoint`). The SDK's endpoint
/// rules know every partition's host names (`sts-fips.us-east-1.amazonaws.com`,
/// `sts.cn-north-1.api.amazonwebservices.com.cn`, …).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointVariant {
    pub fips: bool,
    pub dual_stack: bool,
}
