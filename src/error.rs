//! The one error type. Every variant knows the annotation title a user sees, a
//! one-line message, and the detail that says what to change.

use std::path::PathBuf;

/// The STS call that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StsOperation {
    AssumeRoleWithWebIdentity,
    AssumeRole,
    #[default]
    GetCallerIdentity,
}

impl StsOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            StsOperation::AssumeRoleWithWebIdentity => "AssumeRoleWithWebIdentity",
            StsOperation::AssumeRole => "AssumeRole",
            StsOperation::GetCallerIdentity => "GetCallerIdentity",
        }
    }
}

impl std::fmt::Display for StsOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The STS error codes this action treats differently. STS and its emulators
/// spell some codes two ways (`AccessDenied`/`AccessDeniedException`,
/// `Throttling`/`ThrottlingException`); both parse to one variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StsCode {
    AccessDenied,
    ExpiredToken,
    IdpCommunicationError,
    IdpRejectedClaim,
    InvalidIdentityToken,
    InvalidClientTokenId,
    MalformedPolicyDocument,
    PackedPolicyTooLarge,
    RegionDisabled,
    SignatureDoesNotMatch,
    Throttling,
    ValidationError,
    /// Any other code, as sent.
    Other(String),
}

impl StsCode {
    /// `None` for an empty code (no STS answer).
    pub fn parse(code: &str) -> Option<Self> {
        let base = code.strip_suffix("Exception").unwrap_or(code);
        Some(match base {
            "" => return None,
            "AccessDenied" => StsCode::AccessDenied,
            "ExpiredToken" => StsCode::ExpiredToken,
            "IDPCommunicationError" | "IdpCommunicationError" => StsCode::IdpCommunicationError,
            "IDPRejectedClaim" | "IdpRejectedClaim" => StsCode::IdpRejectedClaim,
            "InvalidIdentityToken" => StsCode::InvalidIdentityToken,
            "InvalidClientTokenId" => StsCode::InvalidClientTokenId,
            "MalformedPolicyDocument" => StsCode::MalformedPolicyDocument,
            "PackedPolicyTooLarge" => StsCode::PackedPolicyTooLarge,
            "RegionDisabled" => StsCode::RegionDisabled,
            "SignatureDoesNotMatch" => StsCode::SignatureDoesNotMatch,
            "Throttling" | "RequestLimitExceeded" => StsCode::Throttling,
            "ValidationError" => StsCode::ValidationError,
            _ => StsCode::Other(code.to_owned()),
        })
    }
}

/// What an STS call answered when it failed, as far as the SDK could tell.
#[derive(Debug, Clone, Default)]
pub struct StsFailure {
    pub operation: StsOperation,
    pub role_arn: Option<String>,
    /// The error code, typed; `None` when no STS answer arrived (connection
    /// refused, timeout) or the answer was not an STS error.
    pub code: Option<StsCode>,
    /// The code exactly as STS spelled it, for what the user reads.
    pub code_text: String,
    pub message: String,
    pub request_id: Option<String>,
    pub http_status: Option<u16>,
    /// Why no answer arrived, when none did.
    pub transport: Option<String>,
}

impl StsFailure {
    /// The code, or why there was none, in a few words.
    pub fn short_reason(&self) -> String {
        if self.code_text.is_empty() {
            self.transport.clone().unwrap_or_default()
        } else {
            self.code_text.clone()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad input value. Raised before any network call.
    #[error("Input `{input}`: {problem}")]
    Input {
        input: &'static str,
        problem: String,
        fix: String,
    },

    /// The job cannot mint an OIDC token and no other way to get credentials was given.
    #[error("{}", if *under_act { "act has no OIDC token endpoint" } else { "This job cannot request an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set)" })]
    NoIdToken { under_act: bool },

    /// The token endpoint failed or answered something unusable.
    #[error("The OIDC token request failed: {detail}")]
    TokenRequest { detail: String, attempts: u32 },

    /// `web-identity-token-file` could not be used.
    #[error("Input `web-identity-token-file` ({path}): {problem}")]
    TokenFile {
        path: PathBuf,
        problem: String,
        #[source]
        source: Option<std::io::Error>,
    },

    /// STS refused or could not be reached; `cause` and `fix` come from the explainer.
    #[error("{} failed{}: {}", failure.operation, code_suffix(&failure.code_text), first_line(&failure.message, failure.transport.as_deref()))]
    Sts {
        failure: Box<StsFailure>,
        cause: String,
        fix: String,
    },

    /// An identity pool refused the login or could not be reached; `cause`
    /// and `fix` come from the explainer (src/cognito/explain.rs).
    #[error("{} failed{}: {}", failure.operation, code_suffix(&failure.code_text), failure.first_line())]
    Cognito {
        failure: Box<crate::cognito::failure::CognitoFailure>,
        cause: String,
        fix: String,
    },

    /// The credentials belong to an account outside `allowed-account-ids`.
    #[error("The credentials belong to account {account}, which is not in `allowed-account-ids`")]
    AccountNotAllowed {
        account: String,
        allowed: Vec<String>,
    },

    #[error("Input `aws-profile`: {problem}")]
    Profile {
        problem: String,
        fix: String,
        #[source]
        source: Option<std::io::Error>,
    },

    #[error("Could not write the runner file {}: {source}", path.display())]
    FileCommand {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("The action did not finish within `action-timeout-s` ({seconds} s)")]
    Timeout { seconds: u64 },

    #[error("The existing credentials could not be used: {0}")]
    ExistingCredentials(String),

    /// The runner (or a user) stopped the job while the action was waiting.
    #[error("The action was stopped by {signal} before it finished")]
    Cancelled { signal: &'static str },

    /// `roles`: some roles could not be assumed; nothing was written. Each
    /// failure keeps its own explanation.
    #[error("{} of {total} roles could not be assumed: {}", failures.len(), failures.iter().map(RoleFailure::short).collect::<Vec<_>>().join(", "))]
    Roles {
        total: usize,
        failures: Vec<RoleFailure>,
    },
    /// Credentials that do not have the shape AWS issues (a garbled or hostile
    /// answer, or environment values with INI syntax in them). Nothing is written.
    #[error("The credentials were refused: {problem}")]
    InvalidCredentials { problem: String },

    #[error("Internal error: {0}")]
    Internal(String),
}

/// One profile of `roles` that was not assumed, and why.
#[derive(Debug)]
pub struct RoleFailure {
    pub profile: String,
    /// Its line in `roles`.
    pub line: usize,
    pub reason: RoleFailureReason,
}

#[derive(Debug)]
pub enum RoleFailureReason {
    /// Its own call (or the account check) failed.
    Failed(Box<Error>),
    /// Not attempted: the profile named by its `via` has no credentials.
    SourceFailed { via: String },
}

impl RoleFailure {
    /// `dev (AccessDenied)`, for the one-line message.
    fn short(&self) -> String {
        let why = match &self.reason {
            RoleFailureReason::Failed(error) => match error.as_ref() {
                Error::Sts { failure, .. } => failure.short_reason(),
                Error::Cognito { failure, .. } => failure.short_reason(),
                Error::AccountNotAllowed { account, .. } => {
                    format!("account {account} not allowed")
                }
                other => other.title().to_owned(),
            },
            RoleFailureReason::SourceFailed { via } => format!("its source `{via}` failed"),
        };
        format!("{} ({why})", self.profile)
    }

    /// The full explanation of this profile's failure.
    fn detail(&self) -> String {
        let head = format!("Profile `{}` (line {} of `roles`)", self.profile, self.line);
        match &self.reason {
            RoleFailureReason::Failed(error) => {
                format!("{head}: {error}\n{}", error.help())
            }
            RoleFailureReason::SourceFailed { via } => format!(
                "{head}: not attempted, because its `via` profile `{via}` has no credentials (see above)."
            ),
        }
    }
}

fn code_suffix(code: &str) -> String {
    if code.is_empty() {
        String::new()
    } else {
        format!(" with {code}")
    }
}

fn first_line<'a>(message: &'a str, transport: Option<&'a str>) -> &'a str {
    let text = if message.is_empty() {
        transport.unwrap_or("no answer")
    } else {
        message
    };
    text.lines().next().unwrap_or_default()
}

impl Error {
    /// The short title of the `::error` annotation.
    pub fn title(&self) -> &'static str {
        match self {
            Error::Input { .. } => "Invalid input",
            Error::NoIdToken { .. } => "No OIDC token available",
            Error::TokenRequest { .. } => "OIDC token request failed",
            Error::TokenFile { .. } => "Web identity token file unusable",
            Error::Sts { failure, .. } if failure.code.is_none() => "AWS STS gave no usable answer",
            Error::Sts { failure, .. } => match failure.operation {
                StsOperation::AssumeRoleWithWebIdentity => "AWS refused the web identity",
                StsOperation::AssumeRole => "AWS refused to assume the role",
                StsOperation::GetCallerIdentity => "AWS STS call failed",
            },
            Error::Cognito { failure, .. } if failure.code.is_none() => {
                "Amazon Cognito gave no usable answer"
            }
            Error::Cognito { .. } => "The identity pool refused the login",
            Error::AccountNotAllowed { .. } => "Account not allowed",
            Error::Profile { .. } => "AWS profile not written",
            Error::FileCommand { .. } => "Runner file not writable",
            Error::Timeout { .. } => "Action timed out",
            Error::ExistingCredentials(_) => "Existing credentials unusable",
            Error::Cancelled { .. } => "Action cancelled",
            Error::Roles { .. } => "Some roles could not be assumed",
            Error::InvalidCredentials { .. } => "Credentials refused",
            Error::Internal(_) => "Internal error",
        }
    }

    /// What to change, in a few lines, for the `::group::` and step summary.
    pub fn help(&self) -> String {
        match self {
            Error::Input { fix, .. } | Error::Profile { fix, .. } => fix.clone(),
            Error::NoIdToken { under_act: true } => "act does not emulate GitHub's OIDC token endpoint. Run `keyless-aws dev-token-server` and pass the `--env ACTIONS_ID_TOKEN_REQUEST_URL=…` and `--env ACTIONS_ID_TOKEN_REQUEST_TOKEN=…` lines it prints to act, with STS pointed at moto or LocalStack (real AWS rejects its tokens); `bash scripts/act-local.sh` does all of it (see \"Test it locally with act\" in the README). To reach real AWS from act, use static keys or role-chaining. Under `scripts/act-local.sh` this means the job has no `permissions: id-token: write` (on the job or the workflow): the script then withholds the token, as GitHub does; add the permission.".into(),
            Error::NoIdToken { under_act: false } => "GitHub only lets a job request an OIDC token when:\n  - the workflow or job grants `permissions: id-token: write` (a `permissions:` block that omits it removes it);\n  - the run is not a pull request from a fork (forks never get a token, nor secrets);\n  - the run was not triggered by Dependabot (its runs get a read-only token; use Dependabot secrets or `pull_request_target` carefully);\n  - for a reusable workflow, the calling workflow grants `id-token: write` too (a caller in another organisation must pass it through).\nNo other AWS credentials were found either (keys set by an earlier step or the job's `env:`, or an instance role, would have signed AssumeRole, as with the reference action); to use access keys, set `aws-access-key-id` and `aws-secret-access-key`.".into(),
            Error::TokenRequest { attempts, .. } => format!("The runner's token service did not give a token after {attempts} attempt(s). Re-run the job; if it persists, check https://www.githubstatus.com and that the job's `permissions:` include `id-token: write`."),
            Error::TokenFile { .. } => "Point `web-identity-token-file` at a readable regular file holding the JWT (a relative path is resolved against GITHUB_WORKSPACE).".into(),
            Error::Sts { cause, fix, .. } | Error::Cognito { cause, fix, .. } => {
                if cause.is_empty() { fix.clone() } else { format!("{cause}\n\n{fix}") }
            }
            Error::AccountNotAllowed { allowed, .. } => format!("Nothing was exported. The allowed accounts are: {}. Check `role-to-assume` or add the account to `allowed-account-ids`.", allowed.join(", ")),
            Error::FileCommand { .. } => "Nothing was exported. The runner's GITHUB_ENV/GITHUB_OUTPUT files must be regular, writable files (this action refuses symlinks).".into(),
            Error::Timeout { .. } => "Nothing was exported. Raise `action-timeout-s`, or check why STS or the token endpoint is slow (proxy settings, network).".into(),
            Error::ExistingCredentials(_) => "Check the AWS_* variables set by earlier steps, or remove `role-chaining`.".into(),
            Error::Cancelled { .. } => "Nothing was exported. The job was cancelled or the runner is shutting down; re-run the job if that was not intended.".into(),
            Error::Roles { failures, .. } => {
                let parts: Vec<String> = failures.iter().map(RoleFailure::detail).collect();
                format!("{}\n\nNothing was written: no profile, no variable, no output.", parts.join("\n\n"))
            }
            Error::InvalidCredentials { .. } => "Nothing was exported. The values do not look like credentials AWS issues (letters, digits and base64 characters only); check `sts-endpoint`, the proxy, and the AWS_* variables set by earlier steps.".into(),
            Error::Internal(_) => "This is a bug in the action; please report it with the log above.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_a_code_are_one_variant() {
        for (a, b, code) in [
            (
                "AccessDenied",
                "AccessDeniedException",
                StsCode::AccessDenied,
            ),
            ("Throttling", "ThrottlingException", StsCode::Throttling),
            (
                "ExpiredToken",
                "ExpiredTokenException",
                StsCode::ExpiredToken,
            ),
            (
                "IDPCommunicationError",
                "IDPCommunicationErrorException",
                StsCode::IdpCommunicationError,
            ),
            (
                "RegionDisabled",
                "RegionDisabledException",
                StsCode::RegionDisabled,
            ),
            (
                "PackedPolicyTooLarge",
                "PackedPolicyTooLargeException",
                StsCode::PackedPolicyTooLarge,
            ),
        ] {
            assert_eq!(StsCode::parse(a), Some(code.clone()), "{a}");
            assert_eq!(StsCode::parse(b), Some(code), "{b}");
        }
        assert_eq!(StsCode::parse(""), None);
        assert_eq!(
            StsCode::parse("SomethingNew"),
            Some(StsCode::Other("SomethingNew".into()))
        );
    }

    #[test]
    fn a_signal_is_a_cancellation_not_a_bug() {
        let err = Error::Cancelled { signal: "SIGTERM" };
        assert_eq!(err.title(), "Action cancelled");
        assert!(!err.help().contains("bug"));
        assert!(err.to_string().contains("SIGTERM"));
    }
}
