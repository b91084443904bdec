//! `keyless-aws assume`'s command line, read with lexopt into a validated
//! [`Request`]: every flag, the SDK-style variables that stand in for them,
//! and where this CI offers its token, all checked before any request.

use crate::aws_names::{Audience, Partition, Region, RoleArn, SessionDuration, SessionName};
use crate::ci::{self, Ci, TokenLocation};
use crate::cli::args::{self, Parsed};
use crate::cli::error::CliError;
use crate::cli::output::Format;
use crate::error::Error;
use crate::inputs::roles_grammar::RoleLine;
use lexopt::prelude::*;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

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
Exit status: 0 credentials printed, 1 AWS refused or the token could not be
read (the reason and the fix on stderr), 2 bad flags or no token found. Example:
  eval \"$(keyless-aws assume --role-arn arn:aws:iam::123456789012:role/deploy)\"";

/// The roles asked for.
#[derive(Debug)]
pub(super) enum Target {
    /// `--role-arn` (or `AWS_ROLE_ARN`).
    One(RoleArn),
    /// `--roles FILE`: the lines, validated as the action's `roles` input.
    Several(Vec<RoleLine>),
    /// `--identity-pool-id`: the token as the pool's login; `--role-arn`
    /// is then the role asked of the pool (src/cognito/).
    Pool(crate::aws_names::IdentityPoolId, Option<RoleArn>),
}

/// The validated request.
#[derive(Debug)]
pub(super) struct Request {
    pub(super) target: Target,
    pub(super) region: Region,
    /// Whether the region was given (then it is exported too).
    pub(super) region_given: bool,
    pub(super) audience: String,
    /// `--audience` was given (not the default).
    pub(super) audience_given: bool,
    pub(super) session_name: SessionName,
    pub(super) duration: i32,
    pub(super) token: TokenLocation,
    pub(super) format: Format,
    pub(super) endpoint: Option<url::Url>,
    /// AWS_ENDPOINT_URL_COGNITO_IDENTITY (else AWS_ENDPOINT_URL), for `--identity-pool-id`.
    pub(super) cognito_endpoint: Option<url::Url>,
    pub(super) ci: Option<Ci>,
}

impl Request {
    /// Whether this program asks for the token (and so chooses its audience).
    pub(super) fn requests_token(&self) -> bool {
        matches!(
            self.token,
            TokenLocation::GitHubRequest | TokenLocation::BuildkiteAgent
        )
    }
}

/// Every flag as given, before it is checked.
#[derive(Debug, Default)]
struct Flags {
    role_arn: Option<String>,
    roles: Option<String>,
    region: Option<String>,
    audience: Option<String>,
    session_name: Option<String>,
    duration: Option<String>,
    token_env: Option<String>,
    token_file: Option<String>,
    format: Option<String>,
    sts_endpoint: Option<String>,
    identity_pool_id: Option<String>,
}

/// The variables of the environment that stand in for flags (the AWS SDKs'
/// own names); set but blank counts as unset.
struct Env<'a>(&'a HashMap<String, String>);

impl Env<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }
}

/// Reads and checks the command line; every error is a usage error (exit 2).
pub(super) fn parse(
    args: &[OsString],
    env: &HashMap<String, String>,
) -> Result<Parsed<Request>, CliError> {
    match read_flags(args)? {
        Parsed::Help => Ok(Parsed::Help),
        Parsed::Run(flags) => request(flags, env)
            .map(Parsed::Run)
            .map_err(CliError::usage),
    }
}

/// The flags, last one wins.
fn read_flags(args: &[OsString]) -> Result<Parsed<Flags>, CliError> {
    let mut f = Flags::default();
    let mut parser = args::parser(args);
    while let Some(arg) = parser.next()? {
        let (slot, name) = match arg {
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Long("role-arn") => (&mut f.role_arn, "role-arn"),
            Long("roles") => (&mut f.roles, "roles"),
            Long("region") => (&mut f.region, "region"),
            Long("audience") => (&mut f.audience, "audience"),
            Long("session-name") => (&mut f.session_name, "session-name"),
            Long("duration") => (&mut f.duration, "duration"),
            Long("token-env") => (&mut f.token_env, "token-env"),
            Long("token-file") => (&mut f.token_file, "token-file"),
            Long("format") => (&mut f.format, "format"),
            Long("sts-endpoint") => (&mut f.sts_endpoint, "sts-endpoint"),
            Long("identity-pool-id") => (&mut f.identity_pool_id, "identity-pool-id"),
            other => return Err(other.unexpected().into()),
        };
        *slot = Some(args::value(&mut parser, name).map_err(CliError::usage)?);
    }
    Ok(Parsed::Run(f))
}

fn request(mut f: Flags, env: &HashMap<String, String>) -> Result<Request, String> {
    let vars = Env(env);
    let ci = Ci::detect(env);
    let target = target(&mut f, &vars)?;
    let given_region = f
        .region
        .take()
        .or_else(|| vars.get("AWS_REGION"))
        .or_else(|| vars.get("AWS_DEFAULT_REGION"));
    let region = region(given_region.as_deref(), &target)?;
    let audience_given = f.audience.is_some();
    let audience = audience(f.audience.take())?;
    let session_name = session_name(f.session_name.take(), &vars, ci)?;
    let duration = duration(f.duration.take())?;
    let format = format(&target, f.format.take())?;
    let endpoint = endpoint(f.sts_endpoint.take(), &vars)?;
    let cognito_endpoint = cognito_endpoint(&vars)?;
    let token = token(f.token_env.take(), f.token_file.take(), ci, env)?;
    Ok(Request {
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
    })
}

fn target(f: &mut Flags, vars: &Env<'_>) -> Result<Target, String> {
    match (f.roles.take(), f.role_arn.take()) {
        (roles, arn) if f.identity_pool_id.is_some() => {
            pool_target(f.identity_pool_id.take().unwrap_or_default(), roles, arn)
        }
        (Some(_), Some(_)) => Err("--roles and --role-arn are alternatives: give one".into()),
        (Some(file), None) => Ok(Target::Several(read_roles(Path::new(&file))?)),
        (None, arn) => {
            let role_arn = arn.or_else(|| vars.get("AWS_ROLE_ARN")).ok_or(
                "no role: pass --role-arn arn:aws:iam::ACCOUNT:role/NAME (or set AWS_ROLE_ARN)",
            )?;
            let arn = RoleArn::parse(&role_arn).map_err(|problem| {
                format!("--role-arn (or AWS_ROLE_ARN) {role_arn:?} is not a role ARN: {problem}")
            })?;
            Ok(Target::One(arn))
        }
    }
}

/// The region given, else us-east-1 in the `aws` partition (for the STS call
/// only); other partitions have no such default.
fn region(given: Option<&str>, target: &Target) -> Result<Region, String> {
    let partition = match target {
        Target::One(arn) => arn.partition(),
        Target::Several(lines) => roles_partition(lines)?,
        Target::Pool(pool, _) => Region::parse(pool.region())?.partition(),
    };
    match given {
        Some(r) => {
            Region::parse(r).map_err(|problem| format!("--region (or AWS_REGION): {problem}"))
        }
        None if partition == Partition::Aws => Region::parse("us-east-1"),
        None => Err(format!(
            "the role is in partition {}: pass --region (e.g. cn-north-1 or us-gov-west-1)",
            partition.as_str()
        )),
    }
}

/// The audience, by the one rule every front end uses ([`Audience`]).
fn audience(given: Option<String>) -> Result<String, String> {
    let audience = given.unwrap_or_else(|| Audience::DEFAULT.into());
    Audience::parse(&audience).map_err(|problem| format!("--audience {problem}"))?;
    Ok(audience)
}

fn session_name(
    given: Option<String>,
    vars: &Env<'_>,
    ci: Option<Ci>,
) -> Result<SessionName, String> {
    let name = given
        .or_else(|| vars.get("AWS_ROLE_SESSION_NAME"))
        .unwrap_or_else(|| ci.map_or("keyless-aws", Ci::default_session_name).into());
    SessionName::parse(&name)
        .map_err(|problem| format!("--session-name (or AWS_ROLE_SESSION_NAME): {problem}"))
}

fn duration(given: Option<String>) -> Result<i32, String> {
    let Some(d) = given else {
        return Ok(3600);
    };
    SessionDuration::parse(&d)
        .map(SessionDuration::seconds)
        .map_err(|_| {
            format!("--duration {d:?} must be a whole number of seconds from 900 to 43200")
        })
}

fn format(target: &Target, given: Option<String>) -> Result<Format, String> {
    match (target, given) {
        (Target::Several(_), Some(f)) if f != "json" => Err(format!("--roles prints one JSON object (a profile each): --format {f:?} cannot hold several roles; use --format json or leave it out")),
        (Target::Several(_), _) => Ok(Format::Json),
        (Target::One(_) | Target::Pool(..), f) => Format::parse(f.as_deref().unwrap_or("env")),
    }
}

/// `--sts-endpoint`, else the SDKs' own names for the same setting, as the
/// action reads them.
fn endpoint(given: Option<String>, vars: &Env<'_>) -> Result<Option<url::Url>, String> {
    let Some(e) = given
        .or_else(|| vars.get("AWS_ENDPOINT_URL_STS"))
        .or_else(|| vars.get("AWS_ENDPOINT_URL"))
    else {
        return Ok(None);
    };
    let url = url::Url::parse(&e).map_err(|err| {
        format!("STS endpoint {e:?} (--sts-endpoint or AWS_ENDPOINT_URL_STS) is not a URL ({err})")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "STS endpoint {e:?} (--sts-endpoint or AWS_ENDPOINT_URL_STS) is not an http(s) URL"
        ));
    }
    Ok(Some(url))
}

/// AWS_ENDPOINT_URL_COGNITO_IDENTITY, else AWS_ENDPOINT_URL, for `--identity-pool-id`.
fn cognito_endpoint(vars: &Env<'_>) -> Result<Option<url::Url>, String> {
    let Some(e) = vars
        .get("AWS_ENDPOINT_URL_COGNITO_IDENTITY")
        .or_else(|| vars.get("AWS_ENDPOINT_URL"))
    else {
        return Ok(None);
    };
    url::Url::parse(&e)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .map(Some)
        .ok_or(format!(
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY {e:?} is not an http(s) URL"
        ))
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

/// Where the token comes from: the flag, else where this CI puts it.
fn token(
    token_env: Option<String>,
    token_file: Option<String>,
    ci: Option<Ci>,
    env: &HashMap<String, String>,
) -> Result<TokenLocation, String> {
    match (token_env, token_file) {
        (Some(_), Some(_)) => Err("--token-env and --token-file are alternatives: give one".into()),
        (Some(var), None) if crate::workflow::is_env_name(&var) => Ok(TokenLocation::Env(var)),
        (Some(var), None) => Err(format!("--token-env {var:?} is not a variable name")),
        (None, Some(file)) => Ok(TokenLocation::File(PathBuf::from(file))),
        (None, None) => ci::find_token(ci, env).ok_or_else(|| missing_token(ci, env)),
    }
}

/// The error when no token place exists: what this CI needs for one.
fn missing_token(ci: Option<Ci>, env: &HashMap<String, String>) -> String {
    // act sets GITHUB_ACTIONS and ACT, but has no token endpoint of its own.
    if ci == Some(Ci::GitHub) && env.get("ACT").is_some_and(|v| v == "true") {
        let act = Error::NoIdToken { under_act: true };
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

/// A roles file is a few lines; anything this large is not one.
const MAX_ROLES_FILE: u64 = 64 * 1024;

/// Reads and validates `--roles FILE`, as the action validates its `roles` input.
fn read_roles(path: &Path) -> Result<Vec<RoleLine>, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("--roles {shown}: {e}"))?;
    if !meta.is_file() || meta.len() > MAX_ROLES_FILE {
        return Err(format!(
            "--roles {shown} is not a regular file of at most {MAX_ROLES_FILE} bytes"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("--roles {shown}: {e}"))?;
    let lines = crate::inputs::roles_grammar::parse(&text).map_err(|e| match e {
        Error::Input { problem, fix, .. } => format!("--roles {shown}: {problem}\n{fix}"),
        other => format!("--roles {shown}: {other}"),
    })?;
    match lines.iter().find(|l| l.identity_pool.is_some()) {
        Some(line) => Err(format!(
            "--roles {shown}: line {}: `identity-pool` is not supported by `assume --roles` yet\nUse `keyless-aws assume --identity-pool-id ID --role-arn ARN` for that role.",
            line.line
        )),
        None => Ok(lines),
    }
}

/// The one partition of every role (the STS region must be in it).
fn roles_partition(lines: &[RoleLine]) -> Result<Partition, String> {
    let Some(first) = lines.first() else {
        return Err("--roles: the file has no profile lines".into());
    };
    let partition = first.role.partition();
    if let Some(line) = lines.iter().find(|l| {
        l.region
            .as_ref()
            .is_some_and(|r| r.partition() != partition)
    }) {
        return Err(format!(
            "--roles: line {}: `region={}` is not in the role's partition {}",
            line.line,
            line.region.as_ref().map_or("", |r| r.as_str()),
            partition.as_str()
        ));
    }
    match lines.iter().find(|l| l.role.partition() != partition) {
        Some(other) => Err(format!(
            "--roles: line {} is in partition {}, line {} in {}; one command serves one partition",
            first.line,
            partition.as_str(),
            other.line,
            other.role.partition().as_str()
        )),
        None => Ok(partition),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_env::env;

    fn parse_with(args: &[&str], pairs: &[(&str, &str)]) -> Result<Request, CliError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        match parse(&args, &env(pairs))? {
            Parsed::Run(request) => Ok(request),
            Parsed::Help => panic!("--help"),
        }
    }

    fn problem(args: &[&str], pairs: &[(&str, &str)]) -> String {
        let err = parse_with(args, pairs).unwrap_err();
        assert_eq!(err.kind, crate::cli::error::Kind::Usage, "{args:?}");
        err.problem
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
            TokenLocation::File("/var/run/secrets/eks.amazonaws.com/serviceaccount/token".into())
        );
    }

    #[test]
    fn flags_are_checked_before_anything_runs() {
        let role = "--role-arn=arn:aws:iam::123456789012:role/r";
        let cases: [(&[&str], &str); 9] = [
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
            (&[role, "--bogus"], "invalid option '--bogus'"),
            (
                &[role, "--token-env"],
                "missing argument for option '--token-env'",
            ),
        ];
        for (args, expected) in cases {
            let err = problem(args, &[]);
            assert!(err.contains(expected), "{args:?}: {err}");
        }
        let err = problem(&[role], &[("GITLAB_CI", "true")]);
        let act = problem(&[role], &[("GITHUB_ACTIONS", "true"), ("ACT", "true")]);
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
    fn the_last_of_a_repeated_flag_wins_and_help_stops_reading() {
        let r = parse_with(
            &[
                "--role-arn=arn:aws:iam::123456789012:role/a",
                "--token-env",
                "T",
                "--duration",
                "900",
                "--duration",
                "1800",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(r.duration, 1800);
        let args: Vec<OsString> = ["--duration", "1", "-h"]
            .iter()
            .map(OsString::from)
            .collect();
        assert!(matches!(parse(&args, &env(&[])), Ok(Parsed::Help)));
    }
}
