//! What every subcommand's flag reader shares: lexopt, so `--flag value`,
//! `--flag=value`, `-h` and `--` behave as users expect from any tool, and
//! values that must be UTF-8 text say which flag was not.

use super::error::CliError;
use std::ffi::OsString;
use std::process::ExitCode;

/// What a subcommand's command line asks for.
#[derive(Debug)]
pub enum Parsed<T> {
    /// `-h` / `--help`: print the help, run nothing.
    Help,
    /// The validated request.
    Run(T),
}

/// A parser over a subcommand's arguments (the program and the subcommand
/// name already taken off).
pub fn parser(args: &[OsString]) -> lexopt::Parser {
    lexopt::Parser::from_args(args.iter().cloned())
}

/// The value of an option as UTF-8 text, with an error naming the option.
pub fn value(parser: &mut lexopt::Parser, name: &str) -> Result<String, String> {
    let raw = parser.value().map_err(|e| e.to_string())?;
    raw.into_string().map_err(|_| {
        format!(
            "the value of --{} is not UTF-8",
            name.trim_start_matches('-')
        )
    })
}

/// A usage error for subcommands that still return an exit code themselves
/// (`setup`): printed as every [`CliError`] is.
pub fn usage_error(command: &str, problem: &str) -> ExitCode {
    let err = CliError::usage(problem);
    eprintln!("{}", crate::text::log_text(&err.render(command)));
    err.exit_code()
}
