//! `keyless-aws credential-process --description FILE`: the command line of
//! the refresh helper that AWS SDKs run through `credential_process`. The
//! work (cache, token request, STS) is `refresh::helper`'s; this reads the
//! flags and prints the answer. SDKs show the helper's stderr to the user, so
//! nothing secret is ever written there.

use super::args::{self, Parsed};
use super::error::CliError;
use crate::refresh::helper;
use lexopt::prelude::*;
use std::ffi::OsString;
use std::path::PathBuf;

pub const HELP: &str = "usage: keyless-aws credential-process --description FILE

Prints AWS credentials in the credential_process format (Version 1), for an AWS
profile's `credential_process` setting. FILE is the description the action wrote
(keyless-aws with `refresh-credentials: true`). Needs ACTIONS_ID_TOKEN_REQUEST_URL
and ACTIONS_ID_TOKEN_REQUEST_TOKEN in its environment, as every step of a job
with `permissions: id-token: write` has.";

/// A usage error of the helper: its fix is the usage text, which the SDK
/// shows where the user reads it (the profile's command line was wrong).
fn usage(problem: impl Into<String>) -> CliError {
    CliError::usage_with(problem, HELP)
}

/// The description file (`--description`, or `--config` as older profiles
/// wrote it), given once.
pub fn parse(args: &[OsString]) -> Result<Parsed<PathBuf>, CliError> {
    let mut path: Option<PathBuf> = None;
    let mut parser = args::parser(args);
    while let Some(arg) = parser.next().map_err(|e| usage(e.to_string()))? {
        let name = match arg {
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Long(name @ ("description" | "config")) => format!("--{name}"),
            Value(other) => return Err(usage(format!("unexpected argument {other:?}"))),
            other => return Err(usage(other.unexpected().to_string())),
        };
        let value = parser
            .value()
            .map_err(|_| usage(format!("{name} needs a file")))?;
        if path.replace(PathBuf::from(value)).is_some() {
            return Err(usage("give --description once"));
        }
    }
    match path {
        Some(p) if !p.as_os_str().is_empty() => Ok(Parsed::Run(p)),
        _ => Err(usage("--description FILE is required")),
    }
}

/// `keyless-aws credential-process ARGS…`: the credentials on stdout, or
/// what failed and what to do on stderr.
pub fn main(args: &[OsString]) -> Result<(), CliError> {
    // The default hook prints the panic's payload, which could hold anything,
    // and SDKs show this process's stderr: say only where it happened.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("keyless-aws credential-process: internal error at {place}; no credentials were printed. Please report it.");
    }));
    let description = match parse(args)? {
        Parsed::Help => {
            println!("{HELP}");
            return Ok(());
        }
        Parsed::Run(path) => path,
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let out = helper::credentials(&description, &env).map_err(|err| failed(&err))?;
    use std::io::Write;
    let text = zeroize::Zeroizing::new(out.to_json());
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            CliError::failed(
                format!("cannot write the credentials to stdout: {e}"),
                "The program that runs this helper (an AWS SDK or CLI) stopped reading its answer; run it again.",
            )
        })
}

/// The helper's explanation: its first line says what failed, the rest what
/// to do.
fn failed(err: &helper::HelperError) -> CliError {
    let text = err.explain();
    let (problem, fix) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    CliError::failed(problem, fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(a: &[&str]) -> Result<Parsed<PathBuf>, CliError> {
        let args: Vec<OsString> = a.iter().map(OsString::from).collect();
        parse(&args)
    }

    #[test]
    fn arguments() {
        assert!(
            matches!(parsed(&["--description", "/a b/d.json"]), Ok(Parsed::Run(p)) if p == std::path::Path::new("/a b/d.json"))
        );
        assert!(
            matches!(parsed(&["--config=/x"]), Ok(Parsed::Run(p)) if p == std::path::Path::new("/x"))
        );
        assert!(matches!(parsed(&["--help"]), Ok(Parsed::Help)));
        for (bad, problem) in [
            (&[][..], "--description FILE is required"),
            (&["--description"], "--description needs a file"),
            (&["--description="], "--description FILE is required"),
            (&["x"], "unexpected argument \"x\""),
            (&["--bogus"], "invalid option '--bogus'"),
            (
                &["--config", "a", "--config", "b"],
                "give --description once",
            ),
        ] {
            let err = parsed(bad).unwrap_err();
            assert_eq!(err.exit_code(), std::process::ExitCode::from(2), "{bad:?}");
            assert_eq!(err.problem, problem, "{bad:?}");
            assert_eq!(err.fix, super::super::error::Fix::Text(HELP.into()));
        }
    }

    #[test]
    fn a_helper_error_is_a_failure_with_its_fix() {
        let err = failed(&helper::HelperError::Timeout);
        assert_eq!(err.exit_code(), std::process::ExitCode::FAILURE);
        assert!(err
            .problem
            .starts_with("refreshing the credentials took longer"));
        assert!(err.fix.eq(&super::super::error::Fix::Text(
            "Check the runner's network and proxy settings, then retry.".into()
        )));
    }
}
