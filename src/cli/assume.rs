//! `keyless-aws assume`: this job's OIDC token → `AssumeRoleWithWebIdentity` →
//! credentials on stdout, in any CI that issues tokens AWS accepts, and on EKS
//! or any host set up the SDK way (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`).
//!
//! The order matches the action's: every flag and the token are checked
//! before any request; when AWS refuses, the explanation names the trust
//! policy condition that would admit this CI's token; nothing is printed to
//! stdout unless credentials were issued.

mod pool;
mod request;
mod roles;

use super::args::Parsed;
use super::error::CliError;
use super::output::{self, Format};
use crate::aws_names::{Audience, RoleArn};
use crate::ci::{Ci, TokenLocation};
use crate::exchange::calls;
use crate::exchange::connection::Connection;
use crate::exchange::events::{Event, Observer};
use crate::exchange::refusal::Refusal;
use crate::exchange::token::{self, Reading, Token, TokenError};
use crate::plan::{Proxy, SecretKeyRule, SessionOptions};
use crate::secret::Secret;
pub use request::HELP;
use request::{Request, Target};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// `keyless-aws assume ARGS…`: the flags, then the exchange; a refusal or a
/// token that cannot be read is a failure (exit 1), bad flags a usage error.
/// (Printed by `cli::dispatch` through `text::log_text`: the problem quotes
/// token claims and STS's words, text from outside.)
pub fn main(args: &[OsString]) -> Result<(), CliError> {
    let env: HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let request = match request::parse(args, &env)? {
        Parsed::Help => {
            println!("{HELP}");
            return Ok(());
        }
        Parsed::Run(request) => request,
    };
    run(&request, &env).map_err(|f| CliError::failed(f.problem, f.fix))
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
    let runtime = start_runtime()?;
    let github_env = github_env(request, env)?;
    let log = CliLog { request, env };
    let token = runtime.block_on(fetch_token(request, env, &log))?;
    check_token(request, &token)?;
    match &request.target {
        Target::One(arn) => {
            let target = OneRole {
                role_arn: arn,
                github_env: github_env.as_deref(),
            };
            one_role(request, env, &runtime, &token, target, &log)
        }
        Target::Several(lines) => roles::run(request, env, lines, &runtime, &token),
        Target::Pool(pool, role) => {
            let target = (pool, role.as_ref());
            pool::run(
                request,
                env,
                &runtime,
                target,
                &token,
                github_env.as_deref(),
            )
        }
    }
}

/// The crypto provider and the current-thread runtime every front end uses.
fn start_runtime() -> Result<tokio::runtime::Runtime, Failure> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                format!("could not start: {e}"),
                "This is a bug; please report it.",
            )
        })
}

/// A token must be a JWT; an `--audience` that this program did not use to
/// request the token is worth a note when the token says otherwise.
fn check_token(request: &Request, token: &Token) -> Result<(), Failure> {
    let Some(claims) = token.claims.as_ref() else {
        return Err(Failure::new(
            format!("the token from {} is not a JWT", request.token.describe()),
            "Pass the OIDC token itself (three base64url parts separated by dots), not a file name or a quoted value.",
        ));
    };
    let token_aud = &claims.aud;
    if request.audience_given && !request.requests_token() && !token_aud.contains(&request.audience)
    {
        eprintln!(
            "keyless-aws: note: --audience only applies where this program requests the token (GitHub Actions, Buildkite); the token from {} was issued for aud {}",
            request.token.describe(),
            crate::text::one_line(&token_aud.join(", "))
        );
    }
    Ok(())
}

/// Where one role's credentials go: the role, and `GITHUB_ENV` for `--format github`.
struct OneRole<'a> {
    role_arn: &'a RoleArn,
    github_env: Option<&'a Path>,
}

/// One role assumed with the token; its credentials printed in the format asked for.
fn one_role(
    request: &Request,
    env: &HashMap<String, String>,
    runtime: &tokio::runtime::Runtime,
    token: &Token,
    target: OneRole<'_>,
    log: &CliLog<'_>,
) -> Result<(), Failure> {
    eprintln!(
        "keyless-aws: assuming {} (session {}, {} s) with the token from {}",
        target.role_arn,
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
            target.role_arn,
            &session,
            token,
            log,
        ))
        .map_err(refused)?;
    let region = request.region_given.then_some(request.region.as_str());
    let text = output::render(
        request.format,
        &assumed.credentials,
        region,
        target.github_env,
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
        TokenLocation::Env(name) => Source::Env(name.clone()),
        TokenLocation::File(path) => {
            Source::File(std::path::absolute(path).unwrap_or_else(|_| path.clone()))
        }
        TokenLocation::GitHubRequest => {
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
        TokenLocation::BuildkiteAgent => Source::BuildkiteAgent {
            audience: audience()?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
