//! The command line: which of the program's faces an invocation wants.
//!
//! Without arguments the binary is the GitHub Action (the runner starts the
//! container's entrypoint with no arguments), and as `keyless-aws-post` or with
//! `post` it is the action's post step. Everything else is a subcommand for
//! people and other CIs. Every command line is read with `lexopt` into a typed
//! request before anything runs (`args`), and every subcommand fails with the
//! one [`error::CliError`]: its problem, its fix, and exit code 2 for bad
//! flags or 1 for work that failed.

pub mod args;
pub mod assume;
pub mod check_trust;
pub mod credential_process;
pub mod dev_sts;
pub mod dev_token_server;
pub mod error;
pub mod output;
pub mod setup;
pub mod setup_abac;

use lexopt::prelude::*;
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

/// The subcommands, by the name users type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subcommand {
    Assume,
    Setup,
    CheckTrust,
    DevTokenServer,
    DevSts,
    CredentialProcess,
}

impl Subcommand {
    const ALL: [Subcommand; 6] = [
        Subcommand::Assume,
        Subcommand::Setup,
        Subcommand::CheckTrust,
        Subcommand::DevTokenServer,
        Subcommand::DevSts,
        Subcommand::CredentialProcess,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Subcommand::Assume => "assume",
            Subcommand::Setup => "setup",
            Subcommand::CheckTrust => "check-trust",
            Subcommand::DevTokenServer => "dev-token-server",
            Subcommand::DevSts => "dev-sts",
            Subcommand::CredentialProcess => "credential-process",
        }
    }

    fn from_name(name: &str) -> Option<Subcommand> {
        Subcommand::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Runs it with the arguments after its name.
    fn run(self, args: &[OsString]) -> ExitCode {
        let result = match self {
            Subcommand::Setup => return setup::main(args),
            Subcommand::DevSts => return dev_sts::main(args),
            Subcommand::CheckTrust => return check_trust::main(args),
            Subcommand::Assume => assume::main(args),
            Subcommand::DevTokenServer => dev_token_server::main(args),
            Subcommand::CredentialProcess => credential_process::main(args),
        };
        finish(self.name(), result)
    }

    /// Prints its help (as its own `--help` does).
    fn help(self) -> ExitCode {
        let text = match self {
            Subcommand::CheckTrust => crate::trust::USAGE,
            Subcommand::Setup => setup::HELP,
            Subcommand::Assume => assume::HELP,
            Subcommand::DevTokenServer => dev_token_server::HELP,
            Subcommand::DevSts => dev_sts::HELP,
            Subcommand::CredentialProcess => credential_process::HELP,
        };
        println!("{text}");
        ExitCode::SUCCESS
    }
}

/// The top-level command line, read.
#[derive(Debug, PartialEq)]
enum Command {
    Action,
    PostStep,
    Help(Option<Subcommand>),
    Version,
    Run(Subcommand, Vec<OsString>),
}

/// Decides from the arguments (program name included) what to do, running the
/// subcommand if it is one.
pub fn dispatch(args: Vec<OsString>) -> Invocation {
    let code = match parse(args) {
        Ok(Command::Action) => return Invocation::Action,
        Ok(Command::PostStep) => return Invocation::PostStep,
        Ok(Command::Help(None)) => {
            println!("{HELP}");
            ExitCode::SUCCESS
        }
        Ok(Command::Help(Some(sub))) => sub.help(),
        Ok(Command::Version) => {
            println!("keyless-aws {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Run(sub, rest)) => sub.run(&rest),
        Err((command, err)) => finish(command, Err(err)),
    };
    Invocation::Exit(code)
}

/// The first argument names the command; the rest are its own. An error
/// comes with the command it is reported for (`""`: the program; `help`).
fn parse(args: Vec<OsString>) -> Result<Command, (&'static str, error::CliError)> {
    let program = args
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The image ships `/keyless-aws-post` as a link to the same binary: the
    // runner gives the post step its own entrypoint but the same arguments.
    if program.ends_with("-post") || args.get(1).is_some_and(|a| a == "post") {
        return Ok(Command::PostStep);
    }
    let unknown = |command: &'static str, name: &str| {
        let err =
            error::CliError::usage_with(format!("unknown command {name:?}"), format!("\n{HELP}"));
        (command, err)
    };
    let mut parser = lexopt::Parser::from_iter(args);
    let first = match parser.next() {
        Ok(None) => return Ok(Command::Action),
        Ok(Some(arg)) => arg,
        Err(e) => return Err(unknown("", &e.to_string())),
    };
    match first {
        Short('h') | Long("help") => Ok(Command::Help(None)),
        Short('V') | Long("version") => Ok(Command::Version),
        Value(name) if name == "help" => match parser.next() {
            Ok(Some(Value(topic))) => {
                let topic = topic.to_string_lossy();
                Subcommand::from_name(&topic)
                    .map(|sub| Command::Help(Some(sub)))
                    .ok_or_else(|| unknown("help", &topic))
            }
            _ => Ok(Command::Help(None)),
        },
        Value(name) => {
            let name = name.to_string_lossy();
            let sub = Subcommand::from_name(&name).ok_or_else(|| unknown("", &name))?;
            let rest = match parser.raw_args() {
                Ok(rest) => rest.collect(),
                Err(e) => return Err((sub.name(), e.into())),
            };
            Ok(Command::Run(sub, rest))
        }
        Short(c) => Err(unknown("", &format!("-{c}"))),
        Long(name) => Err(unknown("", &format!("--{name}"))),
    }
}

/// Prints a subcommand's error, if any, and gives the exit code.
fn finish(command: &str, result: Result<(), error::CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Problems quote token claims, STS's words and the user's own
            // arguments: text from outside, never a workflow command.
            eprintln!("{}", crate::text::log_text(&err.render(command)));
            err.exit_code()
        }
    }
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

    #[test]
    fn the_first_argument_names_the_command_and_the_rest_are_its_own() {
        assert_eq!(
            parse(args(&["k", "assume", "--role-arn", "x", "--", "-h"])),
            Ok(Command::Run(
                Subcommand::Assume,
                args(&["--role-arn", "x", "--", "-h"])
            ))
        );
        assert_eq!(
            parse(args(&["k", "help", "dev-token-server", "extra"])),
            Ok(Command::Help(Some(Subcommand::DevTokenServer)))
        );
        assert_eq!(parse(args(&["k", "-h", "assume"])), Ok(Command::Help(None)));
        assert_eq!(parse(args(&["k", "help"])), Ok(Command::Help(None)));
        assert_eq!(parse(args(&["k", "-V"])), Ok(Command::Version));
        let (command, err) = parse(args(&["k", "--frobnicate"])).unwrap_err();
        assert_eq!(command, "");
        assert!(err.render(command).starts_with(
            "keyless-aws: unknown command \"--frobnicate\"\n\nkeyless-aws: short-lived"
        ));
        for sub in Subcommand::ALL {
            assert_eq!(Subcommand::from_name(sub.name()), Some(sub));
        }
    }
}
