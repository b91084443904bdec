//! `keyless-aws assume`: this job's OIDC token → `AssumeRoleWithWebIdentity` →
//! credentials on stdout, in any CI that issues tokens AWS accepts, and on EKS
//! or any host set up the SDK way (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`).
//!
//! The order matches the action's: every flag and the token are checked
//! before any request; when AWS refuses, the explanation names the trust
//! policy condition that would admit this CI's token; nothing is printed to
//! stdout unless credentials were issued.

mod pool;
mod roles;

use super::output::{self, Format};
use super::{usage_error, value};
use crate::aws_names::{Audience, Partition, Region, RoleArn, SessionDuration, SessionName};
use crate::ci::{self, Ci, TokenSource};
use crate::exchange::calls;
use crate::exchange::connection::Connection;
use crate::exchange::events::{Event, Observer};
use crate::exchange::refusal::Refusal;
use crate::exchange::token::{self, Reading, Token, TokenError};
use crate::plan::{Proxy, SecretKeyRule, SessionOptions};
use crate::secret::Secret;
use lexopt::prelude::*;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

pub const HELP: &str = "\
Usage: keyless-aws assume [--role-arn ARN] [FLAGS]

Exchanges this job's OIDC token for temporary AWS credentials and prints them.

  --role-arn ARN        the role (default: $AWS_ROLE_ARN)
  --roles FILE          several roles, one per line as in the action's `roles`
                        input (`NAME = ARN [via=P] [region=R] …`); prints one
                        JSON object with each profile's credentials
  --region R            STS region and exported AWS_REGION (default: $AWS_REGION,
                        $AWS_DEFAULT_REGION, else us-east-1 for the STS call only)
  --audience A          audience to request where the job requests its token
                        (GitHub, Buildkite; default sts.amazonaws.com)
  --session-name N      role session name (default: $AWS_ROLE_SESSION_NAME, else
                        the CI's name, e.g. GitLabCI)
  --duration S          session duration in seconds, 900–43200 (default 3600)
  --token-env VAR       read the token from $VAR
  --token-file F        read the token from the file F
  --format F            env (default): `export` lines for eval
                        dotenv: NAME=value lines
                        json: {AccessKeyId, SecretAccessKey, SessionToken, …}
                        credential-process: the SDKs' credential_process JSON
                        github: ::add-mask:: lines and GITHUB_ENV entries
  --sts-endpoint URL    another STS endpoint (a VPC endpoint, an emulator;
                        default: $AWS_ENDPOINT_URL_STS, $AWS_ENDPOINT_URL)
  --identity-pool-id ID the token is this Amazon Cognito identity pool's login:
                        Cognito assumes the pool's role (or --role-arn, where
                        the pool allows it) with the token's claims as session
                        tags (endpoint: $AWS_ENDPOINT_URL_COGNITO_IDENTITY)
  -h, --help            this text

Without --token-env/--token-file the token is found where the CI puts it:
  GitHub Actions  requested with ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN
                  (needs `permissions: id-token: write`)
  GitLab CI       $GITLAB_OIDC_TOKEN from the job's `id_tokens:` block
                  (any other name: --token-env NAME)
  CircleCI        $CIRCLE_OIDC_TOKEN_V2, then $CIRCLE_OIDC_TOKEN
  Buildkite       `buildkite-agent oidc request-token --audience A`
  Bitbucket       $BITBUCKET_STEP_OIDC_TOKEN (a step with `oidc: true`)
  EKS, SDK-style  $AWS_WEB_IDENTITY_TOKEN_FILE (with $AWS_ROLE_ARN: no flags)

Credentials go to stdout only. Under GitHub Actions every value is masked
first (`::add-mask::` on stderr; with --format github, on stdout).
Exit status: 0 credentials printed, 1 no token or AWS refused (the reason and
the fix on stderr), 2 bad flags. Example:
  eval \"$(keyless-aws assume --role-arn arn:aws:iam::123456789012:role/deploy)\"";

/// The roles asked for.
#[derive(Debug)]
enum Target {
    /// `--role-arn` (or `AWS_ROLE_ARN`).
    One(RoleArn),
    /// `--roles FILE`: the lines, validated as the action's `roles` input.
    Several(Vec<crate::inputs::roles::RoleLine>),
    /// `--identity-pool-id`: the token as the pool's login; `--role-arn`
    /// is then the role asked of the pool (src/cognito/).
    Pool(crate::aws_names::IdentityPoolId, Option<RoleArn>),
}

/// The validated request.
#[derive(Debug)]
struct Request {
    target: Target,
    region: Region,
    /// Whether the region was given (then it is exported too).
    region_given: bool,
    audience: String,
    /// `--audience` was given (not the default).
    audience_given: bool,
    session_name: SessionName,
    duration: i32,
    token: TokenSource,
    format: Format,
    endpoint: Option<url::Url>,
    /// AWS_ENDPOINT_URL_COGNITO_IDENTITY (else AWS_ENDPOINT_URL), for `--identity-pool-id`.
    cognito_endpoint: Option<url::Url>,
    ci: Option<Ci>,
}

impl Request {
    /// Whether this program asks for the token (and so chooses its audience).
    fn requests_token(&self) -> bool {
        matches!(
            self.token,
            TokenSource::GitHubRequest | TokenSource::BuildkiteAgent
        )
    }
}

/// A failure: the one-line problem and what to do about it.
struct Failure {
    problem: String,
    fix: String,
}

impl Failure {
    fn new(problem: impl Into<String>, fix: impl Into<String>) -> Failure {
        Failure {
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

pub fn main(args: &[OsString]) -> ExitCode {
    let env: HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let request = match parse(args, &env) {
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Some(request)) => request,
        Err(problem) => return usage_error("assume", &problem),
    };
    match run(&request, &env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            // The problem quotes token claims and STS's words: text from outside.
            eprintln!(
                "{}",
                crate::text::log_text(&format!("keyless-aws assume: {}\n\n{}", f.problem, f.fix))
            );
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[OsString], env: &HashMap<String, String>) -> Result<Option<Request>, String> {
    let mut flags: HashMap<&'static str, String> = HashMap::new();
    let mut parser = lexopt::Parser::from_args(args.iter().cloned());
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let name: &'static str = match arg {
            Short('h') | Long("help") => return Ok(None),
            Long("role-arn") => "role-arn",
            Long("roles") => "roles",
            Long("region") => "region",
            Long("audience") => "audience",
            Long("session-name") => "session-name",
            Long("duration") => "duration",
            Long("token-env") => "token-env",
            Long("token-file") => "token-file",
            Long("format") => "format",
            Long("sts-endpoint") => "sts-endpoint",
            Long("identity-pool-id") => "identity-pool-id",
            other => return Err(other.unexpected().to_string()),
        };
        let v = value(&mut parser, name)?;
        flags.insert(name, v);
    }
    let from_env = |name: &str| env.get(name).filter(|v| !v.trim().is_empty()).cloned();
    let ci = Ci::detect(env);

    let target = match (flags.remove("roles"), flags.remove("role-arn")) {
        (roles, arn) if flags.contains_key("identity-pool-id") => pool_target(
            flags.remove("identity-pool-id").unwrap_or_default(),
            roles,
            arn,
        )?,
        (Some(_), Some(_)) => {
            return Err("--roles and --role-arn are alternatives: give one".into())
        }
        (Some(file), None) => Target::Several(roles::read(Path::new(&file))?),
        (None, arn) => {
            let role_arn = arn.or_else(|| from_env("AWS_ROLE_ARN")).ok_or(
                "no role: pass --role-arn arn:aws:iam::ACCOUNT:role/NAME (or set AWS_ROLE_ARN)",
            )?;
            Target::One(RoleArn::parse(&role_arn).map_err(|problem| {
                format!("--role-arn (or AWS_ROLE_ARN) {role_arn:?} is not a role ARN: {problem}")
            })?)
        }
    };
    let partition = match &target {
        Target::One(arn) => arn.partition(),
        Target::Several(lines) => roles::partition(lines)?,
        Target::Pool(pool, _) => Region::parse(pool.region())?.partition(),
    };
    let given_region = flags
        .remove("region")
        .or_else(|| from_env("AWS_REGION"))
        .or_else(|| from_env("AWS_DEFAULT_REGION"));
    let region = match &given_region {
        Some(r) => {
            Region::parse(r).map_err(|problem| format!("--region (or AWS_REGION): {problem}"))?
        }
        None if partition == Partition::Aws => Region::parse("us-east-1")?,
        None => {
            return Err(format!(
                "the role is in partition {}: pass --region (e.g. cn-north-1 or us-gov-west-1)",
                partition.as_str()
            ))
        }
    };
    let audience_given = flags.contains_key("audience");
    let audience = flags
        .remove("audience")
        .unwrap_or_else(|| Audience::DEFAULT.into());
    Audience::parse(&audience).map_err(|problem| format!("--audience {problem}"))?;
    let session_name = flags
        .remove("session-name")
        .or_else(|| from_env("AWS_ROLE_SESSION_NAME"))
        .unwrap_or_else(|| ci.map_or("keyless-aws", Ci::default_session_name).into());
    let session_name = SessionName::parse(&session_name)
        .map_err(|problem| format!("--session-name (or AWS_ROLE_SESSION_NAME): {problem}"))?;
    let duration = match flags.remove("duration") {
        None => 3600,
        Some(d) => SessionDuration::parse(&d)
            .map(SessionDuration::seconds)
            .map_err(|_| {
                format!("--duration {d:?} must be a whole number of seconds from 900 to 43200")
            })?,
    };
    let format = match (&target, flags.remove("format")) {
        (Target::Several(_), Some(f)) if f != "json" => {
            return Err(format!("--roles prints one JSON object (a profile each): --format {f:?} cannot hold several roles; use --format json or leave it out"))
        }
        (Target::Several(_), _) => Format::Json,
        (Target::One(_) | Target::Pool(..), f) => {
            Format::parse(f.as_deref().unwrap_or("env"))?
        }
    };
    // The SDKs' own names for the same setting, as the action reads them.
    let endpoint = match flags
        .remove("sts-endpoint")
        .or_else(|| from_env("AWS_ENDPOINT_URL_STS"))
        .or_else(|| from_env("AWS_ENDPOINT_URL"))
    {
        None => None,
        Some(e) => {
            let url = url::Url::parse(&e)
                .map_err(|err| format!("STS endpoint {e:?} (--sts-endpoint or AWS_ENDPOINT_URL_STS) is not a URL ({err})"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(format!("STS endpoint {e:?} (--sts-endpoint or AWS_ENDPOINT_URL_STS) is not an http(s) URL"));
            }
            Some(url)
        }
    };
    let cognito_endpoint = match from_env("AWS_ENDPOINT_URL_COGNITO_IDENTITY")
        .or_else(|| from_env("AWS_ENDPOINT_URL"))
    {
        Some(e) => Some(
            url::Url::parse(&e)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or(format!(
                    "AWS_ENDPOINT_URL_COGNITO_IDENTITY {e:?} is not an http(s) URL"
                ))?,
        ),
        None => None,
    };
    let token = match (flags.remove("token-env"), flags.remove("token-file")) {
        (Some(_), Some(_)) => {
            return Err("--token-env and --token-file are alternatives: give one".into())
        }
        (Some(var), None) if crate::workflow::is_env_name(&var) => TokenSource::Env(var),
        (Some(var), None) => return Err(format!("--token-env {var:?} is not a variable name")),
        (None, Some(file)) => TokenSource::File(PathBuf::from(file)),
        (None, None) => match ci::find_token(ci, env) {
            Some(source) => source,
            None => return Err(missing_token(ci, env)),
        },
    };
    Ok(Some(Request {
        target,
        region,
        region_given: given_region.is_some(),
        audience,
        audience_given,
        session_name,
        duration,
        token,
        format,
        endpoint,
        cognito_endpoint,
        ci,
    }))
}

/// `--identity-pool-id`, with `--role-arn` as the role asked of the pool.
fn pool_target(id: String, roles: Option<String>, arn: Option<String>) -> Result<Target, String> {
    if roles.is_some() {
        return Err("--identity-pool-id and --roles are alternatives: give one".into());
    }
    let pool = crate::aws_names::IdentityPoolId::parse(id.trim())
        .map_err(|problem| format!("--identity-pool-id: {problem}"))?;
    let role = arn
        .map(|a| {
            RoleArn::parse(&a)
                .map_err(|problem| format!("--role-arn {a:?} is not a role ARN: {problem}"))
        })
        .transpose()?;
    Ok(Target::Pool(pool, role))
}

/// The error when no token place exists: what this CI needs for one.
fn missing_token(ci: Option<Ci>, env: &HashMap<String, String>) -> String {
    // act sets GITHUB_ACTIONS and ACT, but has no token endpoint of its own.
    if ci == Some(Ci::GitHub) && env.get("ACT").is_some_and(|v| v == "true") {
        let act = crate::error::Error::NoIdToken { under_act: true };
        return format!("no OIDC token found: {act}.\n{}", act.help());
    }
    match ci {
        Some(ci) => format!(
            "no OIDC token found for {}.\n{}",
            ci.display_name(),
            ci.missing_token_help()
        ),
        None => "no OIDC token found: this is not a CI this program recognises (GITHUB_ACTIONS, GITLAB_CI, CIRCLECI, BUILDKITE, BITBUCKET_BUILD_NUMBER) and AWS_WEB_IDENTITY_TOKEN_FILE is not set.\nPass the token with --token-env VAR or --token-file FILE.".into(),
    }
}

/// Under GitHub Actions the runner reads workflow commands from stderr too
/// (each stream has its own output manager with the command handler):
/// masking there protects the values without disturbing stdout, which
/// `eval` or a credential_process reader consumes.
fn mask(value: &Secret, request: &Request, env: &HashMap<String, String>) {
    crate::redact::register(value.expose());
    if request.format == Format::GitHub {
        crate::workflow::add_mask(value);
    } else if masks_on_stderr(request, env) {
        eprintln!("::add-mask::{}", crate::text::escape_data(value.expose()));
    }
}

fn masks_on_stderr(request: &Request, env: &HashMap<String, String>) -> bool {
    request.format != Format::GitHub && env.get("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// The runner reads stdout and stderr on separate threads, so a mask on
/// stderr is not ordered before a value on stdout. If stdout goes straight to
/// the log (no `eval`), this pause lets the runner register the masks first.
const MASK_SETTLE: Duration = Duration::from_millis(300);

fn run(request: &Request, env: &HashMap<String, String>) -> Result<(), Failure> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                format!("could not start: {e}"),
                "This is a bug; please report it.",
            )
        })?;
    let github_env = github_env(request, env)?;
    let log = CliLog { request, env };
    let token = runtime.block_on(fetch_token(request, env, &log))?;
    if token.claims.is_none() {
        return Err(Failure::new(
            format!("the token from {} is not a JWT", request.token.describe()),
            "Pass the OIDC token itself (three base64url parts separated by dots), not a file name or a quoted value.",
        ));
    }
    let token_aud = token
        .claims
        .as_ref()
        .map(|c| c.aud.clone())
        .unwrap_or_default();
    if request.audience_given && !request.requests_token() && !token_aud.contains(&request.audience)
    {
        eprintln!(
            "keyless-aws: note: --audience only applies where this program requests the token (GitHub Actions, Buildkite); the token from {} was issued for aud {}",
            request.token.describe(),
            crate::text::one_line(&token_aud.join(", "))
        );
    }
    let role_arn = match &request.target {
        Target::One(arn) => arn,
        Target::Several(lines) => return roles::run(request, env, lines, &runtime, &token),
        Target::Pool(pool, role) => {
            let target = (pool, role.as_ref());
            return pool::run(
                request,
                env,
                &runtime,
                target,
                &token,
                github_env.as_deref(),
            );
        }
    };
    eprintln!(
        "keyless-aws: assuming {} (session {}, {} s) with the token from {}",
        role_arn,
        request.session_name,
        request.duration,
        request.token.describe()
    );
    let session = SessionOptions {
        name: request.session_name.clone(),
        duration_seconds: request.duration,
        inline_policy: None,
        managed_policies: Vec::new(),
    };
    let assumed = runtime
        .block_on(calls::web_identity(
            &connection(request),
            role_arn,
            &session,
            &token,
            &log,
        ))
        .map_err(refused)?;
    let region = request.region_given.then_some(request.region.as_str());
    let text = output::render(
        request.format,
        &assumed.credentials,
        region,
        github_env.as_deref(),
    )
    .map_err(|e| Failure::new(e, "Nothing was written."))?;
    if masks_on_stderr(request, env) {
        let _ = std::io::Write::flush(&mut std::io::stderr());
        std::thread::sleep(MASK_SETTLE);
    }
    print!("{}", text.expose());
    eprintln!(
        "{}",
        crate::text::log_text(&format!(
            "keyless-aws: credentials for {} (expire {})",
            assumed.assumed_role_arn,
            assumed.credentials.expiration.as_deref().unwrap_or("?")
        ))
    );
    Ok(())
}

/// The engine's events on the command line: every secret masked (see
/// [`mask`]); progress is this command's own stderr lines.
struct CliLog<'a> {
    request: &'a Request,
    env: &'a HashMap<String, String>,
}

impl Observer for CliLog<'_> {
    fn on(&self, event: Event<'_>) {
        if let Event::Secret(secret) = event {
            mask(secret, self.request, self.env);
        }
    }
}

/// How the command reaches STS.
fn connection(request: &Request) -> Connection<'_> {
    Connection {
        region: &request.region,
        endpoint: request.endpoint.as_ref(),
        variant: Default::default(),
        proxy: &NO_PROXY,
        max_attempts: 4,
        time_limit: None,
        secret_key: SecretKeyRule::AsIssued,
        unreachable_note: None,
    }
}

/// The command line sets no proxy of its own (the SDK's HTTP client reads none).
static NO_PROXY: Proxy = Proxy {
    https: None,
    http: None,
    no_proxy: None,
};

/// Where `--format github` will write, checked before any request, so a bad
/// destination costs nothing and leaves no credentials in flight.
fn github_env(
    request: &Request,
    env: &HashMap<String, String>,
) -> Result<Option<PathBuf>, Failure> {
    let github_env = env
        .get("GITHUB_ENV")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    if request.format == Format::GitHub {
        let Some(path) = github_env.as_deref() else {
            return Err(Failure::new(
                "--format github needs GITHUB_ENV, which the runner sets in every step",
                "Run it in a GitHub Actions `run:` step, or choose another --format (env, dotenv, json, credential-process).",
            ));
        };
        if let Some(repo) = inside_git_work_tree(path) {
            return Err(Failure::new(
                format!("GITHUB_ENV ({}) is inside the git work tree {}", path.display(), repo.display()),
                "Credentials are never written into a repository. GITHUB_ENV is normally a runner file outside the workspace; check what set it.",
            ));
        }
    }
    Ok(github_env)
}

/// An STS refusal (explained by the engine) as this command reports it.
fn refused(refusal: Refusal) -> Failure {
    let Refusal {
        failure,
        cause,
        fix,
    } = refusal;
    let problem = crate::error::Error::Sts {
        failure,
        cause: String::new(),
        fix: String::new(),
    }
    .to_string();
    Failure::new(problem, format!("{cause}\n\n{fix}"))
}

/// The closest enclosing directory with a `.git`, if any.
fn inside_git_work_tree(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    absolute
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The token, from where the request says, by the engine (a token file
/// with the hardened reader the action uses).
async fn fetch_token(
    request: &Request,
    env: &HashMap<String, String>,
    log: &CliLog<'_>,
) -> Result<Token, Failure> {
    let source = token_source(request, env)?;
    let reading = Reading {
        proxy: &NO_PROXY,
        max_attempts: 3,
        workspace: None,
        env: &|name| env.get(name).cloned(),
    };
    token::fetch(&source, &reading, log)
        .await
        .map_err(|e| match e {
            TokenError::Unset { variable } => Failure::new(
                format!("${variable} is not set or empty"),
                request.ci.map(Ci::missing_token_help).unwrap_or_else(|| {
                    "Set that variable to the OIDC token (a JWT) before running this, or pass --token-file FILE.".into()
                }),
            ),
            TokenError::File(crate::error::Error::TokenFile { path, problem, .. }) => Failure::new(
                format!("the token file {} {problem}", path.display()),
                "Point --token-file (or AWS_WEB_IDENTITY_TOKEN_FILE) at a readable file that holds the JWT.",
            ),
            TokenError::Request(e) | TokenError::File(e) => Failure::new(e.to_string(), e.help()),
            TokenError::Agent { problem } => {
                Failure::new(problem, Ci::Buildkite.missing_token_help())
            }
        })
}

/// Where the token is, in the engine's terms. A relative `--token-file` is
/// taken from the current directory.
fn token_source(
    request: &Request,
    env: &HashMap<String, String>,
) -> Result<crate::plan::TokenSource, Failure> {
    use crate::plan::TokenSource as Source;
    let audience = || {
        Audience::parse(&request.audience).map_err(|p| {
            Failure::new(
                format!("--audience {p}"),
                "Pass the audience your IAM OIDC provider lists, normally sts.amazonaws.com.",
            )
        })
    };
    Ok(match &request.token {
        TokenSource::Env(name) => Source::Env(name.clone()),
        TokenSource::File(path) => {
            Source::File(std::path::absolute(path).unwrap_or_else(|_| path.clone()))
        }
        TokenSource::GitHubRequest => {
            let audience = audience()?;
            let url =
                crate::oidc::token_url(&env["ACTIONS_ID_TOKEN_REQUEST_URL"], audience.as_str())
                    .map_err(|e| Failure::new(e.to_string(), e.help()))?;
            Source::Request {
                url,
                bearer: Secret::new(env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"].as_str()),
                audience,
            }
        }
        TokenSource::BuildkiteAgent => Source::BuildkiteAgent {
            audience: audience()?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_env::env;

    fn parse_with(args: &[&str], pairs: &[(&str, &str)]) -> Result<Request, String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse(&args, &env(pairs)).map(|r| r.expect("not --help"))
    }

    #[test]
    fn sdk_style_environment_needs_no_flags() {
        let r = parse_with(
            &[],
            &[
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod"),
                (
                    "AWS_WEB_IDENTITY_TOKEN_FILE",
                    "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
                ),
                ("AWS_ROLE_SESSION_NAME", "pod-1"),
                ("AWS_REGION", "eu-west-1"),
            ],
        )
        .unwrap();
        assert!(
            matches!(&r.target, Target::One(arn) if arn.as_str() == "arn:aws:iam::123456789012:role/pod")
        );
        assert_eq!(r.session_name.as_str(), "pod-1");
        assert_eq!((r.region.as_str(), r.region_given), ("eu-west-1", true));
        assert_eq!(
            r.token,
            TokenSource::File("/var/run/secrets/eks.amazonaws.com/serviceaccount/token".into())
        );
    }

    #[test]
    fn flags_are_checked_before_anything_runs() {
        let role = "--role-arn=arn:aws:iam::123456789012:role/r";
        let cases: [(&[&str], &str); 7] = [
            (
                &["--role-arn", "nope", "--token-env", "T"],
                "is not a role ARN",
            ),
            (
                &[role, "--token-env", "T", "--duration", "60"],
                "from 900 to 43200",
            ),
            (
                &[role, "--token-env", "T", "--format", "yaml"],
                "is not one of env",
            ),
            (
                &[role, "--token-env", "T", "--token-file", "f"],
                "alternatives",
            ),
            (
                &[role, "--token-env", "T", "--region", "mars"],
                "not an AWS region",
            ),
            (
                &[
                    "--role-arn",
                    "arn:aws-cn:iam::123456789012:role/r",
                    "--token-env",
                    "T",
                ],
                "pass --region",
            ),
            (&[role], "no OIDC token found: this is not a CI"),
        ];
        for (args, expected) in cases {
            let err = parse_with(args, &[]).unwrap_err();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
        let err = parse_with(&[role], &[("GITLAB_CI", "true")]).unwrap_err();
        let act = parse_with(&[role], &[("GITHUB_ACTIONS", "true"), ("ACT", "true")]).unwrap_err();
        assert!(
            act.starts_with("no OIDC token found: act has no OIDC token endpoint."),
            "{act}"
        );
        assert!(
            err.contains("id_tokens:") && err.contains("aud: sts.amazonaws.com"),
            "{err}"
        );
    }

    #[test]
    fn git_work_trees_are_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("repo/.git")).unwrap();
        assert_eq!(
            inside_git_work_tree(&dir.path().join("repo/sub/env")),
            Some(dir.path().join("repo"))
        );
        assert_eq!(inside_git_work_tree(&dir.path().join("env")), None);
    }
}
