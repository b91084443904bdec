//! The one error every subcommand returns: what went wrong and what to do
//! about it, and whether it was the command line (exit 2, as every Unix tool
//! uses for bad usage) or the work itself (exit 1). `cli::dispatch` prints it
//! and turns it into the exit code, so each subcommand only says what failed.

use std::process::ExitCode;

/// Which kind of failure, and so which exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The flags (or what they name) are wrong: nothing ran. Exit code 2.
    Usage,
    /// The flags were fine but the work failed (no token, AWS refused, the
    /// port is taken). Exit code 1.
    Failed,
}

/// What to do about an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// "Run `keyless-aws help COMMAND` for the flags.": the flags were wrong
    /// and the problem itself names which one.
    SeeHelp,
    /// Advice written for this error.
    Text(String),
}

/// A subcommand's failure: the problem (first), then its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub kind: Kind,
    pub problem: String,
    pub fix: Fix,
}

impl CliError {
    /// Bad flags; the fix is the command's help.
    pub fn usage(problem: impl Into<String>) -> CliError {
        CliError {
            kind: Kind::Usage,
            problem: problem.into(),
            fix: Fix::SeeHelp,
        }
    }

    /// Bad flags, with advice of its own.
    pub fn usage_with(problem: impl Into<String>, fix: impl Into<String>) -> CliError {
        CliError {
            kind: Kind::Usage,
            problem: problem.into(),
            fix: Fix::Text(fix.into()),
        }
    }

    /// The work failed.
    pub fn failed(problem: impl Into<String>, fix: impl Into<String>) -> CliError {
        CliError {
            kind: Kind::Failed,
            problem: problem.into(),
            fix: Fix::Text(fix.into()),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self.kind {
            Kind::Usage => ExitCode::from(2),
            Kind::Failed => ExitCode::FAILURE,
        }
    }

    /// The text for stderr, for `keyless-aws COMMAND` (`command` empty: the
    /// program itself). A usage error's fix is the next line; a failure's
    /// explanation is its own paragraph.
    pub fn render(&self, command: &str) -> String {
        let prefix = if command.is_empty() {
            "keyless-aws".to_owned()
        } else {
            format!("keyless-aws {command}")
        };
        let fix = match &self.fix {
            Fix::SeeHelp => format!("Run `keyless-aws help {command}` for the flags."),
            Fix::Text(text) => text.clone(),
        };
        let gap = match self.kind {
            Kind::Usage => "\n",
            Kind::Failed => "\n\n",
        };
        format!("{prefix}: {}{gap}{fix}", self.problem)
    }
}

impl From<lexopt::Error> for CliError {
    /// lexopt's own words (`invalid option '--x'`, `missing argument for
    /// option '--y'`) name the flag; the help lists the right ones.
    fn from(e: lexopt::Error) -> CliError {
        CliError::usage(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_2_with_the_help_hint_and_failures_exit_1() {
        let usage = CliError::usage("--duration \"5\" must be a whole number");
        assert_eq!(usage.exit_code(), ExitCode::from(2));
        assert_eq!(
            usage.render("assume"),
            "keyless-aws assume: --duration \"5\" must be a whole number\nRun `keyless-aws help assume` for the flags."
        );
        let failed = CliError::failed("no token", "Grant id-token: write.");
        assert_eq!(failed.exit_code(), ExitCode::FAILURE);
        assert_eq!(
            failed.render("assume"),
            "keyless-aws assume: no token\n\nGrant id-token: write."
        );
        assert_eq!(
            CliError::usage_with("unknown command \"x\"", "See `keyless-aws help`.").render(""),
            "keyless-aws: unknown command \"x\"\nSee `keyless-aws help`."
        );
    }
}
