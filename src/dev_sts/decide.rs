//! What AWS STS would answer to `AssumeRoleWithWebIdentity`, in AWS's order:
//! the issuer must be a provider of the account, the signature its key's, the
//! audience one of the provider's client ids, the token unexpired, and the
//! role's trust policy must allow the call (evaluated by the engine behind
//! `check-trust`). A refusal carries AWS's error code and message, so the
//! action explains it exactly as it would on GitHub.

use crate::dev_sts::verify::Keys;
use crate::trust::claims::{self, Request, Source};
use crate::trust::{eval, policy, verdict};
use serde_json::Value;
use std::path::PathBuf;

/// One role's trust policy (`role: None`: every role without its own).
#[derive(Debug)]
pub struct RolePolicy {
    pub role: Option<String>,
    pub file: PathBuf,
    pub policy: policy::Policy,
}

/// The stand-in account: its OIDC provider and its roles.
#[derive(Debug)]
pub struct Account {
    /// The provider's URL, as the token's `iss` must be.
    pub issuer: String,
    pub client_ids: Vec<String>,
    pub policies: Vec<RolePolicy>,
}

/// An STS error as AWS sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Why, for dev-sts's own log (AWS says no more than `message`).
    pub detail: String,
}

const NOT_AUTHORIZED: &str = "Not authorized to perform sts:AssumeRoleWithWebIdentity";

fn invalid(message: impl Into<String>, detail: impl Into<String>) -> Refusal {
    Refusal {
        status: 400,
        code: "InvalidIdentityToken",
        message: message.into(),
        detail: detail.into(),
    }
}

fn denied(detail: impl Into<String>) -> Refusal {
    Refusal {
        status: 403,
        code: "AccessDenied",
        message: NOT_AUTHORIZED.into(),
        detail: detail.into(),
    }
}

impl Account {
    /// The policy that governs `role_arn`: its own, else the one for every role.
    fn policy_for(&self, role_arn: &str) -> Option<&RolePolicy> {
        self.policies
            .iter()
            .find(|p| p.role.as_deref() == Some(role_arn))
            .or_else(|| self.policies.iter().find(|p| p.role.is_none()))
    }

    /// `Ok(())` when AWS would issue credentials; `now` in seconds since the epoch.
    pub fn decide(
        &self,
        role_arn: &str,
        token: &str,
        keys: &Keys,
        now: i64,
    ) -> Result<(), Refusal> {
        let claims = claims::from_token(token)
            .map_err(|e| invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)", e))?;
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if iss != self.issuer {
            return Err(invalid(
                format!("No OpenIDConnect provider found in your account for {iss}"),
                format!("the token's iss is {iss:?}; this stand-in account's provider is {:?} (dev-sts --issuer)", self.issuer),
            ));
        }
        keys.verify(token).map_err(|e| {
            invalid(
                "Couldn't verify the signature of the web identity token",
                format!("{e}; is the token from the dev token server whose keys dev-sts reads (--jwks-url)?"),
            )
        })?;
        let audiences = claims.get("aud").map(claims::values).unwrap_or_default();
        if !audiences.iter().any(|a| self.client_ids.contains(a)) {
            return Err(invalid(
                "Incorrect token audience",
                format!("the token's aud is {audiences:?}; the provider's client ids are {:?} (dev-sts --client-id)", self.client_ids),
            ));
        }
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp > now => {}
            exp => {
                return Err(Refusal {
                    status: 400,
                    code: "ExpiredTokenException",
                    // AWS's wording, missing space included.
                    message: format!(
                        "Token expired: current date/time {now} must be before the expiration date/time{}",
                        exp.unwrap_or_default()
                    ),
                    detail: format!("the token's exp is {exp:?}, now is {now}"),
                });
            }
        }
        let Some(rule) = self.policy_for(role_arn) else {
            return Err(denied(format!(
                "no --trust-policy names {role_arn} (and none is given for every role)"
            )));
        };
        let req = Request::new(claims, Source::VerifiedToken);
        let verdict = eval::evaluate(&rule.policy, &req);
        match verdict.decision {
            eval::Decision::Allowed => Ok(()),
            _ => Err(denied(format!(
                "{}'s trust policy ({}) does not admit this token:\n{}",
                role_arn,
                rule.file.display(),
                verdict::render(&verdict, &req)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev_token_server::signer::Signer;
    use serde_json::json;

    const ISSUER: &str = "https://token.actions.githubusercontent.com";

    fn account(policy: &str) -> Account {
        Account {
            issuer: ISSUER.into(),
            client_ids: vec!["sts.amazonaws.com".into()],
            policies: vec![RolePolicy {
                role: None,
                file: "trust.json".into(),
                policy: policy::parse(policy).unwrap(),
            }],
        }
    }

    fn policy_for_sub(sub: &str) -> String {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": sub}}}]})
        .to_string()
    }

    #[test]
    fn answers_as_aws_in_aws_order() {
        let signer = Signer::generate().unwrap();
        let keys = Keys::parse(&signer.jwks()).unwrap();
        let token = |iss: &str, aud: &str, exp: i64| {
            signer
                .sign_jwt(&json!({"iss": iss, "aud": aud, "exp": exp, "sub": "repo:acme/app:ref:refs/heads/main"}))
                .unwrap()
        };
        let role = "arn:aws:iam::111122223333:role/deploy";
        let good = account(&policy_for_sub("repo:acme/app:ref:refs/heads/main"));
        good.decide(role, &token(ISSUER, "sts.amazonaws.com", 200), &keys, 100)
            .unwrap();

        let code = |a: &Account, t: &str| a.decide(role, t, &keys, 100).unwrap_err();
        let r = code(
            &good,
            &token("https://other.example", "sts.amazonaws.com", 200),
        );
        assert_eq!((r.code, r.status), ("InvalidIdentityToken", 400));
        assert!(r.message.starts_with(
            "No OpenIDConnect provider found in your account for https://other.example"
        ));
        let r = code(&good, &token(ISSUER, "my-audience", 200));
        assert_eq!(
            (r.code, r.message.as_str()),
            ("InvalidIdentityToken", "Incorrect token audience")
        );
        let r = code(&good, &token(ISSUER, "sts.amazonaws.com", 50));
        assert_eq!(r.code, "ExpiredTokenException");
        let forged = Signer::generate()
            .unwrap()
            .sign_jwt(&json!({"iss": ISSUER, "aud": "sts.amazonaws.com", "exp": 200}))
            .unwrap();
        assert_eq!(code(&good, &forged).code, "InvalidIdentityToken");

        let wrong_sub = account(&policy_for_sub("repo:acme/app:environment:production"));
        let r = code(&wrong_sub, &token(ISSUER, "sts.amazonaws.com", 200));
        assert_eq!(
            (r.code, r.status, r.message.as_str()),
            ("AccessDenied", 403, NOT_AUTHORIZED)
        );
        assert!(r.detail.contains("trust.json"), "{}", r.detail);
    }
}
