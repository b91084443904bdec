//! The command line: which of the program's faces an invocation wants.
//!
//! Without arguments the binary is the GitHub Action (the runner starts the
//! container's entrypoint with no arguments), and as `keyless-aws-post` or with
//! `post` it is the action's post step. Everything else is a subcommand for
//! people and other CIs. Flags are read with `lexopt`, so `--flag value`,
//! `--flag=value`, `-h` and `--` behave as users expect from any tool.

pub mod assume;
pub mod check_trust;
pub mod dev_sts;
pub mod output;
pub mod setup;
pub mod setup_abac;

use std::ffi::OsString;
use std::process::ExitCode;

/// What `main` should do.
#[derive(Debug, PartialEq)]
pub enum Invocation {
    /// Run as the GitHub Action step (`main::action`).
    Action,
    /// Run as the action's post step.
    PostStep,
    /// A subcommand ran (or help was printed); exit with this code.
    Exit(ExitCode),
}

pub const HELP: &str = "\
keyless-aws: short-lived AWS credentials from a CI's OIDC token, with the
reason and the fix when AWS refuses.

Usage:
  keyless-aws                       run as a GitHub Actions step (action.yml)
  keyless-aws assume --role-arn ARN [FLAGS]
                                    print credentials for this job (any CI, EKS)
  keyless-aws setup --ci CI FLAGS   print the IAM provider, trust policy,
                                    AWS CLI commands and Terraform for a CI
  keyless-aws setup --abac --owner OWNER
                                    one role for every repository of OWNER, with
                                    the token's claims as session tags (Cognito)
  keyless-aws check-trust (--policy FILE | --role-arn ARN) (--repo O/R [--ref R] | --claims FILE | --token FILE)
                                    evaluate a role trust policy as IAM does: a file
                                    offline, or the role's own policy and provider
  keyless-aws dev-token-server [--repo O/R] [--ref R] [--environment E] [--event E]
                                    a local OIDC token endpoint for act (tokens real
                                    AWS rejects; for moto or LocalStack)
  keyless-aws dev-sts --jwks-url URL --forward URL --trust-policy [ARN=]FILE
                                    a local STS for act that enforces trust policies,
                                    audiences and signatures as AWS does (moto behind)
  keyless-aws credential-process --description FILE
                                    print refreshed credentials for an AWS SDK's
                                    credential_process (left by refresh-credentials)
  keyless-aws help [COMMAND]        this text, or a command's
  keyless-aws -V | --version

Run `keyless-aws help COMMAND` for a command's flags.";

/// Decides from the arguments (program name included) what to do, running the
/// subcommand if it is one.
pub fn dispatch(args: Vec<OsString>) -> Invocation {
    let program = args
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The image ships `/keyless-aws-post` as a link to the same binary: the
    // runner gives the post step its own entrypoint but the same arguments.
    if program.ends_with("-post") || args.get(1).is_some_and(|a| a == "post") {
        return Invocation::PostStep;
    }
    let Some(command) = args.get(1) else {
        return Invocation::Action;
    };
    let rest = &args[2..];
    let code = match command.to_str().unwrap_or("") {
        "-h" | "--help" => {
            println!("{HELP}");
            ExitCode::SUCCESS
        }
        "-V" | "--version" => {
            println!("keyless-aws {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        "help" => help(rest.first().and_then(|c| c.to_str())),
        "setup" => setup::main(rest),
        "assume" => assume::main(rest),
        "check-trust" => check_trust::main(rest),
        "dev-sts" => dev_sts::main(rest),
        "dev-token-server" => match strings(rest) {
            Ok(rest) => crate::dev_token_server::main(&rest),
            Err(code) => code,
        },
        "credential-process" => match strings(rest) {
            Ok(rest) => crate::refresh::helper::helper_main(&rest),
            Err(code) => code,
        },
        other => {
            eprintln!("keyless-aws: unknown command {other:?}\n\n{HELP}");
            ExitCode::from(2)
        }
    };
    Invocation::Exit(code)
}

fn help(command: Option<&str>) -> ExitCode {
    match command {
        None => println!("{HELP}"),
        Some("setup") => println!("{}", setup::HELP),
        Some("assume") => println!("{}", assume::HELP),
        Some("dev-sts") => println!("{}", dev_sts::HELP),
        Some("check-trust") => println!("{}", crate::trust::USAGE),
        Some("dev-token-server") => return crate::dev_token_server::main(&["--help".to_owned()]),
        Some("credential-process") => {
            return crate::refresh::helper::helper_main(&["--help".to_owned()])
        }
        Some(other) => {
            eprintln!("keyless-aws help: unknown command {other:?}\n\n{HELP}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// A usage error: what was wrong and where the flags are described; exit
/// code 2 as every Unix tool uses for bad usage.
pub(crate) fn usage_error(command: &str, problem: &str) -> ExitCode {
    eprintln!(
        "{}",
        crate::text::log_text(&format!(
            "keyless-aws {command}: {problem}\nRun `keyless-aws help {command}` for the flags."
        ))
    );
    ExitCode::from(2)
}

/// Arguments as UTF-8 text for subcommands that parse their own flags; an
/// argument that is not UTF-8 is a usage error (exit 2), never dropped.
fn strings(args: &[OsString]) -> Result<Vec<String>, ExitCode> {
    args.iter()
        .map(|a| {
            a.to_str().map(str::to_owned).ok_or_else(|| {
                eprintln!("keyless-aws: the argument {a:?} is not UTF-8");
                ExitCode::from(2)
            })
        })
        .collect()
}

/// The value of an option as UTF-8 text, with an error naming the option.
pub(crate) fn value(parser: &mut lexopt::Parser, name: &str) -> Result<String, String> {
    let raw = parser.value().map_err(|e| e.to_string())?;
    raw.into_string().map_err(|_| {
        format!(
            "the value of --{} is not UTF-8",
            name.trim_start_matches('-')
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn no_arguments_is_the_action_and_post_is_the_post_step() {
        assert_eq!(dispatch(args(&["/keyless-aws"])), Invocation::Action);
        assert_eq!(dispatch(args(&["/keyless-aws-post"])), Invocation::PostStep);
        assert_eq!(
            dispatch(args(&["/keyless-aws", "post"])),
            Invocation::PostStep
        );
        assert_eq!(
            dispatch(args(&["keyless-aws", "--version"])),
            Invocation::Exit(ExitCode::SUCCESS)
        );
        assert_eq!(
            dispatch(args(&["keyless-aws", "nope"])),
            Invocation::Exit(ExitCode::from(2))
        );
        assert_eq!(
            dispatch(args(&["keyless-aws", "help", "nope"])),
            Invocation::Exit(ExitCode::from(2))
        );
    }
}
