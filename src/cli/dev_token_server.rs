//! `keyless-aws dev-token-server`'s command line, read with lexopt into the
//! server's validated [`Options`] before anything listens; the server itself
//! is the `dev_token_server` library.

use super::args::{self, Parsed};
use super::error::CliError;
use crate::dev_token_server::options::Options;
use crate::dev_token_server::signer::Signer;
use lexopt::prelude::*;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub const HELP: &str = "\
keyless-aws dev-token-server: a local stand-in for the GitHub Actions OIDC token endpoint,
for running workflows with act against moto or LocalStack.

USAGE:
    keyless-aws dev-token-server [OPTIONS]

It serves GET /token?api-version=2.0&audience=AUD (with `Authorization: bearer <request
token>`, as the runner's ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN pair works) and answers
{\"value\": \"<JWT>\"}: a signed token with GitHub's claims (sub, repository, ref,
environment, event_name, job_workflow_ref, ...), valid for 5 minutes. Its keys are at
/.well-known/openid-configuration and /.well-known/jwks.

On start it prints to stdout, one per line:
    listening on IP:PORT
    issuer URL
    --env ACTIONS_ID_TOKEN_REQUEST_URL=http://IP:PORT/token?api-version=2.0
    --env ACTIONS_ID_TOKEN_REQUEST_TOKEN=<random request token>
Pass the two --env lines to act. Requests are logged to stderr, never with a token.

REAL AWS REJECTS THESE TOKENS: their issuer is this server, not a provider registered in
IAM (and real IAM could not fetch its keys). Use them with moto or LocalStack, which accept
any token, or with a test IAM emulator configured for this issuer.

OPTIONS:
    --repo OWNER/REPO        repository claim (default octo-org/octo-repo)
    --ref REF                full git ref (default refs/heads/main; refs/pull/1/merge for
                             --event pull_request)
    --environment NAME       deployment environment; makes sub repo:O/R:environment:NAME
    --event NAME             event_name claim (default push); pull_request makes sub
                             repo:O/R:pull_request (unless --environment is given)
    --workflow PATH          workflow file (default .github/workflows/ci.yml), for
                             workflow_ref and job_workflow_ref
    --actor NAME             actor claim (default octocat)
    --issuer URL             iss claim (default http://IP:PORT of this server). E.g.
                             https://token.actions.githubusercontent.com to test trust
                             policies written for GitHub; the JWKS is then still here only
    --listen IP[:PORT]       address to listen on (default 127.0.0.1:0, a free port). With
                             act's default `--network host` on Linux, 127.0.0.1 reaches
                             the job. Other addresses (0.0.0.0, a Docker network gateway
                             such as 172.17.0.1) must be asked for here, and are reachable
                             by others on that network (the request token still guards it)
    --url-host HOST          host name for the printed URL and default issuer (default the
                             --listen IP; required with 0.0.0.0). E.g. host.docker.internal
                             with Docker Desktop, or the gateway of act's --network
    --key-file PATH          sign with this key: PEM or DER, PKCS#8 P-256 (ES256) or RSA
                             PKCS#8/PKCS#1 (RS256). Default: a fresh P-256 key per start,
                             never written anywhere (ES256; GitHub itself uses RS256)
    --max-seconds N          stop after N seconds (default 3600)
    --max-requests N         stop after signing N tokens (default 1000); only requests
                             with the request token count
    -h, --help               this text";

/// `keyless-aws dev-token-server ARGS…`: flags and key checked (exit 2 when
/// wrong), then the server runs until a bound or a signal stops it.
pub fn main(args: &[OsString]) -> Result<(), CliError> {
    let options = match parse(args)? {
        Parsed::Help => {
            println!("{HELP}");
            return Ok(());
        }
        Parsed::Run(options) => options,
    };
    let signer = match &options.key_file {
        Some(path) => Signer::from_file(path),
        None => Signer::generate(),
    }
    .map_err(CliError::usage)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::failed(
                format!("cannot start the async runtime: {e}"),
                "This is a bug; please report it.",
            )
        })?;
    runtime
        .block_on(crate::dev_token_server::serve(options, signer))
        .map_err(|e| {
            CliError::failed(
                e.to_string(),
                "Pick another --listen address or port (without --listen, a free port on 127.0.0.1).",
            )
        })
}

/// Every flag as given; each at most once.
#[derive(Debug, Default)]
struct Flags {
    listen: Option<String>,
    url_host: Option<String>,
    repo: Option<String>,
    git_ref: Option<String>,
    environment: Option<String>,
    event: Option<String>,
    workflow: Option<String>,
    actor: Option<String>,
    issuer: Option<String>,
    key_file: Option<String>,
    max_seconds: Option<String>,
    max_requests: Option<String>,
}

/// Parses and validates; an error names the flag, what is wrong and the fix.
pub fn parse(args: &[OsString]) -> Result<Parsed<Options>, CliError> {
    match read_flags(args)? {
        Parsed::Help => Ok(Parsed::Help),
        Parsed::Run(flags) => options(flags).map(Parsed::Run).map_err(CliError::usage),
    }
}

fn read_flags(args: &[OsString]) -> Result<Parsed<Flags>, CliError> {
    let mut f = Flags::default();
    let mut parser = args::parser(args);
    while let Some(arg) = parser.next()? {
        let (slot, name) = match arg {
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Long("listen") => (&mut f.listen, "--listen"),
            Long("url-host") => (&mut f.url_host, "--url-host"),
            Long("repo") => (&mut f.repo, "--repo"),
            Long("ref") => (&mut f.git_ref, "--ref"),
            Long("environment") => (&mut f.environment, "--environment"),
            Long("event") => (&mut f.event, "--event"),
            Long("workflow") => (&mut f.workflow, "--workflow"),
            Long("actor") => (&mut f.actor, "--actor"),
            Long("issuer") => (&mut f.issuer, "--issuer"),
            Long("key-file") => (&mut f.key_file, "--key-file"),
            Long("max-seconds") => (&mut f.max_seconds, "--max-seconds"),
            Long("max-requests") => (&mut f.max_requests, "--max-requests"),
            other => return Err(other.unexpected().into()),
        };
        let value = args::value(&mut parser, name).map_err(CliError::usage)?;
        if slot.replace(value).is_some() {
            return Err(CliError::usage(format!(
                "{name} is given twice; give it once"
            )));
        }
    }
    Ok(Parsed::Run(f))
}

fn options(f: Flags) -> Result<Options, String> {
    let listen = parse_listen(f.listen.as_deref().unwrap_or("127.0.0.1:0"))?;
    let url_host = url_host(f.url_host, listen)?;
    let repo = f.repo.unwrap_or_else(|| "octo-org/octo-repo".into());
    validate_repo(&repo)?;
    let event = event(f.event)?;
    let git_ref = git_ref(f.git_ref, &event)?;
    if let Some(env) = &f.environment {
        if env.is_empty() || env.len() > 255 || !plain(env) || env.contains(':') {
            return Err(format!("--environment {env:?}: an environment name is 1-255 printable characters without `:` or spaces, e.g. production"));
        }
    }
    let workflow = f
        .workflow
        .unwrap_or_else(|| ".github/workflows/ci.yml".into());
    if !workflow.starts_with(".github/workflows/") || !plain(&workflow) || workflow.contains('@') {
        return Err(format!("--workflow {workflow:?}: give the path in the repository, e.g. .github/workflows/deploy.yml"));
    }
    let actor = actor(f.actor)?;
    if let Some(iss) = &f.issuer {
        validate_issuer(iss)?;
    }
    let max_seconds = number(
        "--max-seconds",
        f.max_seconds.as_deref(),
        3600,
        1..=7 * 24 * 3600,
    )?;
    let max_requests = number(
        "--max-requests",
        f.max_requests.as_deref(),
        1000,
        1..=1_000_000,
    )?;
    Ok(Options {
        listen,
        url_host,
        repo,
        git_ref,
        environment: f.environment,
        event,
        workflow,
        actor,
        issuer: f.issuer,
        key_file: f.key_file.map(PathBuf::from),
        max_seconds: Duration::from_secs(max_seconds),
        max_requests,
    })
}

/// The host of the printed URL: given, else the listening IP (none for
/// 0.0.0.0, which has no one address a job could reach).
fn url_host(given: Option<String>, listen: SocketAddr) -> Result<String, String> {
    match given {
        Some(h) => validate_host(&h),
        None if listen.ip().is_unspecified() => Err(format!(
            "--listen {listen} listens on every interface, so there is no one address to print; add --url-host with the address the job reaches this machine at (e.g. 172.17.0.1, the docker0 gateway, or host.docker.internal)"
        )),
        None => Ok(match listen.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        }),
    }
}

fn event(given: Option<String>) -> Result<String, String> {
    let event = given.unwrap_or_else(|| "push".into());
    if event.is_empty()
        || event.len() > 64
        || !event.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        return Err(format!("--event {event:?}: an event name is lowercase letters and `_`, e.g. push, pull_request, workflow_dispatch"));
    }
    Ok(event)
}

/// The full ref; its default follows the event, as GitHub's does.
fn git_ref(given: Option<String>, event: &str) -> Result<String, String> {
    let default_ref = if event == "pull_request" {
        "refs/pull/1/merge"
    } else {
        "refs/heads/main"
    };
    let git_ref = given.unwrap_or_else(|| default_ref.into());
    if !git_ref.starts_with("refs/") || git_ref.len() > 255 || !plain(&git_ref) {
        return Err(format!(
            "--ref {git_ref:?}: give the full ref, e.g. refs/heads/{0} or refs/tags/{0}",
            if plain(&git_ref) {
                git_ref.trim_start_matches('/')
            } else {
                "main"
            }
        ));
    }
    Ok(git_ref)
}

fn actor(given: Option<String>) -> Result<String, String> {
    let actor = given.unwrap_or_else(|| "octocat".into());
    if actor.is_empty()
        || actor.len() > 64
        || !actor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'[' || b == b']')
    {
        return Err(format!(
            "--actor {actor:?}: a GitHub login is letters, digits and `-`, e.g. octocat"
        ));
    }
    Ok(actor)
}

fn validate_issuer(iss: &str) -> Result<(), String> {
    let ok = url::Url::parse(iss).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host().is_some()
            && u.query().is_none()
            && u.fragment().is_none()
    });
    if !ok || iss.ends_with('/') {
        return Err(format!("--issuer {iss:?}: an issuer is an http(s) URL without a trailing slash, query or fragment, e.g. https://token.actions.githubusercontent.com"));
    }
    Ok(())
}

/// Printable ASCII without spaces: the values go into `sub` and URLs as they are.
fn plain(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 0));
    }
    Err(format!("--listen {text:?}: give an IP address and optionally a port, e.g. 127.0.0.1:8080 or 127.0.0.1 (a free port); host names are not resolved"))
}

fn validate_host(host: &str) -> Result<String, String> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && (host.parse::<Ipv4Addr>().is_ok()
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            || (host.starts_with('[')
                && host.ends_with(']')
                && host[1..host.len() - 1]
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok()));
    if ok {
        Ok(host.to_owned())
    } else {
        Err(format!("--url-host {host:?}: give a host name or IP address without scheme or port, e.g. host.docker.internal or 172.17.0.1"))
    }
}

fn validate_repo(repo: &str) -> Result<(), String> {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    match repo.split_once('/') {
        Some((owner, name)) if part_ok(owner) && part_ok(name) => Ok(()),
        _ => Err(format!(
            "--repo {repo:?}: give OWNER/REPO, e.g. octo-org/octo-repo"
        )),
    }
}

fn number(
    flag: &str,
    value: Option<&str>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, String> {
    let Some(text) = value else {
        return Ok(default);
    };
    match text.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{flag} {text:?}: give a whole number from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn run(list: &[&str]) -> Options {
        match parse(&args(list)).unwrap() {
            Parsed::Run(o) => o,
            Parsed::Help => panic!("help"),
        }
    }

    #[test]
    fn defaults_are_loopback_and_bounded() {
        let o = run(&[]);
        assert_eq!(o.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(o.url_host, "127.0.0.1");
        assert_eq!(o.git_ref, "refs/heads/main");
        assert_eq!(o.max_seconds, Duration::from_secs(3600));
        assert_eq!(o.max_requests, 1000);
        assert_eq!(
            run(&["--event", "pull_request"]).git_ref,
            "refs/pull/1/merge"
        );
        assert_eq!(run(&["--listen=127.0.0.1"]).listen.port(), 0);
        assert_eq!(run(&["--listen", "[::1]:9000"]).url_host, "[::1]");
        assert!(matches!(
            parse(&args(&["--repo", "a/b", "--help"])),
            Ok(Parsed::Help)
        ));
    }

    #[test]
    fn bad_flags_name_the_fix() {
        for (list, needle) in [
            (&["--ref", "main"][..], "refs/heads/main"),
            (&["--repo", "noslash"], "OWNER/REPO"),
            (&["--environment", "a:b"], "without `:`"),
            (&["--event", "Push!"], "lowercase"),
            (&["--listen", "localhost:80"], "IP address"),
            (&["--listen", "0.0.0.0:0"], "--url-host"),
            (&["--issuer", "https://x.example/"], "trailing slash"),
            (&["--max-seconds", "0"], "whole number"),
            (&["--max-requests", "x"], "whole number"),
            (&["--repo", "a/b", "--repo", "c/d"], "twice"),
            (&["--bogus"], "invalid option '--bogus'"),
            (&["--repo"], "missing argument for option '--repo'"),
            (&["--url-host", "http://x"], "without scheme"),
        ] {
            let err = parse(&args(list)).unwrap_err();
            assert_eq!(err.kind, crate::cli::error::Kind::Usage, "{list:?}");
            assert!(err.problem.contains(needle), "{list:?}: {}", err.problem);
        }
        let o = run(&[
            "--listen",
            "0.0.0.0:0",
            "--url-host",
            "host.docker.internal",
        ]);
        assert_eq!(o.url_host, "host.docker.internal");
    }
}
