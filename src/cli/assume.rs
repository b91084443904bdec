//! `keyless-aws assume`: this job's OIDC token → `AssumeRoleWithWebIdentity` →
//! credentials on stdout, in any CI that issues tokens AWS accepts, and on EKS
//! or any host set up the SDK way (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`).
//!
//! The order matches the action's: every flag and the token are checked
//! before any request; when AWS refuses, the explanation names the trust
//! policy condition that would admit this CI's token; nothing is printed to
//! stdout unless credentials were issued.

mod request;
mod roles;

use super::args::Parsed;
use super::error::CliError;
use super::output::{self, Format};
use crate::ci::{Ci, TokenSource};
use crate::explain::{self, Context};
use crate::plan::{Proxy, SessionOptions};
use crate::secret::Secret;
use crate::sts::{self, ClientSettings};
pub use request::HELP;
use request::{Request, Target};
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

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
    let token = runtime.block_on(fetch_token(request, env))?;
    mask(&token, request, env);
    let claims = crate::jwt::decode_claims(token.expose());
    if claims.is_none() {
        return Err(Failure::new(
            format!("the token from {} is not a JWT", request.token.describe()),
            "Pass the OIDC token itself (three base64url parts separated by dots), not a file name or a quoted value.",
        ));
    }
    let token_aud = claims.as_ref().map(|c| c.aud.clone()).unwrap_or_default();
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
        Target::Several(lines) => {
            return roles::run(request, env, lines, &runtime, &token, claims.as_ref())
        }
    };
    eprintln!(
        "keyless-aws: assuming {} (session {}, {} s) with the token from {}",
        role_arn,
        request.session_name,
        request.duration,
        request.token.describe()
    );
    let client = sts::client(ClientSettings {
        region: &request.region,
        endpoint: request.endpoint.as_ref(),
        proxy: &Proxy::default(),
        retry: crate::retry::StsSchedule::new(4, None),
        credentials: None,
        fresh_credentials: false,
    });
    let assumed = runtime
        .block_on(sts::assume_role_with_web_identity(
            &client,
            role_arn,
            &SessionOptions {
                name: request.session_name.clone(),
                duration_seconds: request.duration,
                inline_policy: None,
                managed_policies: Vec::new(),
            },
            &token,
        ))
        .map_err(|failure| refused(request, claims.as_ref(), failure))?;
    for secret in assumed.credentials.secrets() {
        mask(secret, request, env);
    }
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
        "keyless-aws: credentials for {} (expire {})",
        assumed.assumed_role_arn,
        assumed.credentials.expiration.as_deref().unwrap_or("?")
    );
    Ok(())
}

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

/// An STS refusal, explained with the claims of the token that was sent.
fn refused(
    request: &Request,
    claims: Option<&crate::jwt::Claims>,
    failure: Box<crate::error::StsFailure>,
) -> Failure {
    // The audience asked for where the job requests its token; else
    // the token's own (CircleCI's org id, Bitbucket's workspace ARI).
    let audience = if request.requests_token() {
        Some(request.audience.as_str())
    } else {
        claims.and_then(|c| c.aud.first()).map(String::as_str)
    };
    let ctx = Context {
        claims,
        audience,
        duration_seconds: request.duration,
        endpoint: request.endpoint.as_ref().map(url::Url::as_str),
        region: request.region.as_str(),
        ..Default::default()
    };
    let (cause, fix) = explain::explain(&failure, &ctx);
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

/// Time allowed for `buildkite-agent oidc request-token`.
const AGENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Tokens are ~1 KiB; anything larger than this is not one. The action's
/// `web-identity-token-file` cap, so both refuse the same sizes.
const MAX_TOKEN: usize = crate::token_file::MAX_TOKEN_FILE as usize;

async fn fetch_token(request: &Request, env: &HashMap<String, String>) -> Result<Secret, Failure> {
    let ci_help = || {
        request.ci.map(Ci::missing_token_help).unwrap_or_else(|| {
            "Set that variable to the OIDC token (a JWT) before running this, or pass --token-file FILE.".into()
        })
    };
    match &request.token {
        TokenSource::Env(name) => match env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            Some(v) => Ok(Secret::new(v)),
            None => Err(Failure::new(
                format!("${name} is not set or empty"),
                ci_help(),
            )),
        },
        TokenSource::File(path) => read_token_file(path),
        TokenSource::GitHubRequest => {
            let bearer = Secret::new(env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"].as_str());
            mask(&bearer, request, env);
            let url =
                crate::oidc::token_url(&env["ACTIONS_ID_TOKEN_REQUEST_URL"], &request.audience)
                    .map_err(|e| Failure::new(e.to_string(), e.help()))?;
            crate::oidc::request_token(&url, &bearer, 3, &Proxy::default())
                .await
                .map_err(|e| Failure::new(e.to_string(), e.help()))
        }
        TokenSource::BuildkiteAgent => buildkite_token(&request.audience),
    }
}

fn read_token_file(path: &Path) -> Result<Secret, Failure> {
    let fail = |problem: String| {
        Failure::new(
            format!("the token file {} {problem}", path.display()),
            "Point --token-file (or AWS_WEB_IDENTITY_TOKEN_FILE) at a readable file that holds the JWT.",
        )
    };
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot be read: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| fail(format!("cannot be read: {e}")))?;
    if !meta.is_file() {
        return Err(fail("is not a regular file".into()));
    }
    let mut text = String::new();
    file.take(MAX_TOKEN as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| fail(format!("cannot be read: {e}")))?;
    if text.len() > MAX_TOKEN {
        return Err(fail(format!("is larger than {MAX_TOKEN} bytes")));
    }
    match text.trim() {
        "" => Err(fail("is empty".into())),
        token => Ok(Secret::new(token)),
    }
}

/// Runs `buildkite-agent oidc request-token --audience AUD`, bounded in time;
/// its stdout is the token.
fn buildkite_token(audience: &str) -> Result<Secret, Failure> {
    let help = Ci::Buildkite.missing_token_help();
    let mut child = std::process::Command::new("buildkite-agent")
        .args(["oidc", "request-token", "--audience", audience])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::new(format!("could not run buildkite-agent: {e}"), help.clone()))?;
    // Read both pipes on threads so a chatty agent cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stdout)
            .take(MAX_TOKEN as u64 + 1)
            .read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(4096).read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + AGENT_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::new(
                    format!(
                        "buildkite-agent oidc request-token did not finish within {} s",
                        AGENT_TIMEOUT.as_secs()
                    ),
                    help,
                ));
            }
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        let said = crate::text::one_line(String::from_utf8_lossy(&stderr).trim());
        return Err(Failure::new(
            format!("buildkite-agent oidc request-token failed ({status}): {said}"),
            help,
        ));
    }
    let token = String::from_utf8_lossy(&stdout).trim().to_owned();
    if token.is_empty() || token.len() > MAX_TOKEN {
        return Err(Failure::new(
            "buildkite-agent oidc request-token printed no token",
            help,
        ));
    }
    Ok(Secret::new(token))
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
