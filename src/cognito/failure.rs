//! What a refused or failed Cognito Identity call tells the user: the same
//! fields as an STS failure, with Cognito's own operations and error codes.

/// The Cognito Identity call that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CognitoOperation {
    /// Finds (or creates) the pool's identity for this login.
    #[default]
    GetId,
    /// Cognito assumes the pool's role for the identity, with principal tags.
    GetCredentialsForIdentity,
}

impl CognitoOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            CognitoOperation::GetId => "GetId",
            CognitoOperation::GetCredentialsForIdentity => "GetCredentialsForIdentity",
        }
    }
}

impl std::fmt::Display for CognitoOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Cognito Identity error codes the explanation tells apart
/// (https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetCredentialsForIdentity.html).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CognitoCode {
    /// The pool does not exist in the region that was asked.
    ResourceNotFound,
    /// The login was refused: provider, audience, issuer, expiry.
    NotAuthorized,
    /// A parameter (the role, a mapped claim) was refused.
    InvalidParameter,
    /// The pool has no role for this identity, or the role does not trust it.
    InvalidIdentityPoolConfiguration,
    /// Cognito could not reach the provider's keys.
    ExternalService,
    TooManyRequests,
    /// Any other code, as sent.
    Other(String),
}

impl CognitoCode {
    /// `None` for an empty code (no Cognito answer).
    pub fn parse(code: &str) -> Option<Self> {
        let base = code.strip_suffix("Exception").unwrap_or(code);
        Some(match base {
            "" => return None,
            "ResourceNotFound" => CognitoCode::ResourceNotFound,
            "NotAuthorized" => CognitoCode::NotAuthorized,
            "InvalidParameter" => CognitoCode::InvalidParameter,
            "InvalidIdentityPoolConfiguration" => CognitoCode::InvalidIdentityPoolConfiguration,
            "ExternalService" => CognitoCode::ExternalService,
            "TooManyRequests" | "LimitExceeded" => CognitoCode::TooManyRequests,
            _ => CognitoCode::Other(code.to_owned()),
        })
    }
}

/// What a Cognito Identity call answered when it failed, as far as the SDK
/// could tell. Never holds the request (it carries the token).
#[derive(Debug, Clone, Default)]
pub struct CognitoFailure {
    pub operation: CognitoOperation,
    /// The pool asked.
    pub pool_id: String,
    /// The role asked for (`role-to-assume`), if any.
    pub role_arn: Option<String>,
    /// `None` when no Cognito answer arrived or it was not a Cognito error.
    pub code: Option<CognitoCode>,
    /// The code exactly as Cognito spelled it.
    pub code_text: String,
    pub message: String,
    pub request_id: Option<String>,
    pub http_status: Option<u16>,
    /// Why no answer arrived, when none did.
    pub transport: Option<String>,
}

impl CognitoFailure {
    /// The code, or why there was none, in a few words.
    pub fn short_reason(&self) -> String {
        if self.code_text.is_empty() {
            self.transport.clone().unwrap_or_default()
        } else {
            self.code_text.clone()
        }
    }

    /// The first line of what Cognito said, or why it said nothing.
    pub fn first_line(&self) -> &str {
        let text = if self.message.is_empty() {
            self.transport.as_deref().unwrap_or("no answer")
        } else {
            &self.message
        };
        text.lines().next().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_with_or_without_the_suffix() {
        assert_eq!(
            CognitoCode::parse("NotAuthorizedException"),
            Some(CognitoCode::NotAuthorized)
        );
        assert_eq!(
            CognitoCode::parse("ResourceNotFound"),
            Some(CognitoCode::ResourceNotFound)
        );
        assert_eq!(CognitoCode::parse(""), None);
        assert_eq!(
            CognitoCode::parse("Odd"),
            Some(CognitoCode::Other("Odd".into()))
        );
    }
}
