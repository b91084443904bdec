//! Turns an STS failure into the cause and the fix, for the cases that cost
//! people days: a trust policy whose `sub` does not match, a missing OIDC
//! provider, a wrong audience, a duration over the role's maximum.

use crate::ci::Ci;
use crate::error::StsFailure;
use crate::jwt::Claims;

/// What was sent, so the explanation can compare it with what AWS expected.
#[derive(Debug, Default)]
pub struct Context<'a> {
    pub claims: Option<&'a Claims>,
    pub audience: Option<&'a str>,
    pub duration_seconds: i32,
    pub tags_sent: bool,
    /// The call was signed with temporary credentials (a chained role).
    pub chained: bool,
    pub inline_policy: bool,
    pub endpoint: Option<&'a str>,
    pub region: &'a str,
}

pub use crate::ci::GITHUB_ISSUER;

/// `(cause, fix)`; the cause starts with what STS said, so it is never lost.
pub fn explain(f: &StsFailure, ctx: &Context<'_>) -> (String, String) {
    let mut cause = String::new();
    if let Some(role) = &f.role_arn {
        cause.push_str(&format!("Role: {role}\n"));
    }
    if f.code.is_empty() && !f.message.is_empty() {
        cause.push_str(&format!(
            "STS answered, but the answer is unusable: {}\n",
            f.message
        ));
    } else if f.code.is_empty() {
        cause.push_str(&format!(
            "STS ({}): no answer: {}\n",
            ctx.endpoint.unwrap_or("regional endpoint"),
            f.transport.as_deref().unwrap_or("unknown transport error")
        ));
    } else {
        cause.push_str(&format!(
            "STS error: {} (HTTP {}): {}\n",
            f.code,
            f.http_status.map_or("?".into(), |s| s.to_string()),
            f.message
        ));
    }
    if let Some(id) = &f.request_id {
        cause.push_str(&format!("Request id: {id}\n"));
    }
    let message = f.message.to_ascii_lowercase();
    let web = f.operation == "AssumeRoleWithWebIdentity";
    let fix = match f.code.as_str() {
        "" => format!(
            "STS could not be reached in region `{}` after the retries allowed (see the README's retry numbers). Check the runner's network and proxy (`http-proxy`, HTTPS_PROXY, NO_PROXY), and `sts-endpoint` if you set one.",
            ctx.region
        ),
        "AccessDenied" if web => access_denied_web(ctx),
        "AccessDenied" if ctx.tags_sent => format!(
            "The role's trust policy must also allow `sts:TagSession`, because this action tags the session (Repository, Workflow, Commit, …). Add it to the statement that allows `sts:AssumeRole`:\n{}\nor set `role-skip-session-tagging: true`. If tagging is allowed already, check the trust policy's Principal and any `sts:ExternalId` condition.",
            TAG_SESSION_STATEMENT
        ),
        "AccessDenied" => "The caller is not allowed to assume this role. Check that the role's trust policy names the caller (the user or role whose keys signed the request) as Principal, that its `sts:ExternalId` condition matches `role-external-id`, and that the caller's own policy allows `sts:AssumeRole` on this role.".into(),
        "InvalidIdentityToken" if message.contains("no openidconnect provider") => {
            let issuer = ctx.claims.and_then(|c| c.iss.as_deref()).unwrap_or(GITHUB_ISSUER);
            provider_setup(issuer, ctx.audience.unwrap_or(crate::inputs::DEFAULT_AUDIENCE))
        }
        "InvalidIdentityToken" if message.contains("audience") => {
            let issuer = ctx.claims.and_then(|c| c.iss.as_deref()).unwrap_or(GITHUB_ISSUER);
            let audience = ctx
                .audience
                .map(str::to_owned)
                .or_else(|| ctx.claims.and_then(|c| c.aud.first().cloned()))
                .unwrap_or_else(|| "?".into());
            format!(
                "The token was issued for audience `{audience}` (the `audience` input), and the IAM OIDC provider does not list it as a client id. Either set `audience:` to one of the provider's client ids (normally `sts.amazonaws.com`), or add this audience to the provider:\n  aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::ACCOUNT:oidc-provider/{} --client-id {audience}",
                issuer.trim_start_matches("https://")
            )
        }
        "InvalidIdentityToken" => "STS rejected the token itself (signature, issuer or expiry). If you pass `web-identity-token-file`, make sure the file holds a fresh token from the issuer your IAM OIDC provider trusts.".into(),
        "ExpiredTokenException" | "ExpiredToken" => "The token or credentials expired before STS saw them. If this runner's clock is wrong, fix it (NTP): STS allows only a few minutes of skew. For role chaining, re-run the step that produced the credentials; for a token file, refresh it.".into(),
        "IDPCommunicationError" | "IDPRejectedClaim" => "STS could not reach or was refused by the identity provider; this is usually temporary. Re-run the job.".into(),
        "ValidationError" if message.contains("duration") => {
            let mut fix = format!(
                "`role-duration-seconds` is {} s, more than the role's maximum session duration. Lower `role-duration-seconds`, or raise the role's maximum (up to 43200 s):\n  aws iam update-role --role-name ROLE --max-session-duration {}",
                ctx.duration_seconds, ctx.duration_seconds
            );
            if ctx.chained {
                fix.push_str("\nThis call is role chaining (signed with temporary credentials): AWS caps a chained session at 3600 s whatever the role's maximum, so use `role-duration-seconds: 3600` or less.");
            }
            fix
        }
        "ValidationError" => "STS rejected a parameter. Check the values named in the message above.".into(),
        "RegionDisabledException" => format!("STS is not activated in region `{}` for this account. Activate it in IAM → Account settings → Security Token Service (STS) endpoints, or use another `aws-region`.", ctx.region),
        "MalformedPolicyDocument" | "MalformedPolicyDocumentException" => {
            if ctx.inline_policy {
                "`inline-session-policy` is JSON, but not a valid IAM policy (Version, Statement with Effect/Action/Resource). Validate it with IAM Access Analyzer or `aws accessanalyzer validate-policy`.".into()
            } else {
                "A session policy is not valid; check `managed-session-policies`.".into()
            }
        }
        "PackedPolicyTooLarge" | "PackedPolicyTooLargeException" => "The session policies and tags are too large even after dropping the optional tags. Shorten `inline-session-policy`, use fewer `managed-session-policies` or `custom-tags`, or set `role-skip-session-tagging: true`.".into(),
        "InvalidClientTokenId" => "AWS does not recognise the access key id that signed the request: it was deleted or deactivated, belongs to another partition (China, GovCloud) than `aws-region`, or is a session's key used without its `aws-session-token`.".into(),
        "SignatureDoesNotMatch" => {
            if message.contains("expired") {
                "The request signature expired: this runner's clock is off by more than 5 minutes. Fix the clock (NTP) and re-run.".into()
            } else {
                "The secret access key does not belong to the access key id. Check `aws-secret-access-key` (copy it again from where it was created, without surrounding spaces).".into()
            }
        }
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => "STS kept throttling after every retry allowed. Spread out jobs that assume roles at the same moment, or raise `retry-max-attempts`.".into(),
        _ => "See the STS error above; https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html lists what each code means.".into(),
    };
    (cause.trim_end().to_owned(), fix)
}

const TAG_SESSION_STATEMENT: &str = r#"  {
    "Effect": "Allow",
    "Principal": { "AWS": "arn:aws:iam::ACCOUNT:user/CALLER" },
    "Action": ["sts:AssumeRole", "sts:TagSession"]
  }"#;

fn access_denied_web(ctx: &Context<'_>) -> String {
    let Some(claims) = ctx.claims else {
        return "The role's trust policy does not admit this token. Check that it allows `sts:AssumeRoleWithWebIdentity` for the OIDC provider, and that its `aud` and `sub` conditions match the token.".into();
    };
    let show = |v: &Option<String>| {
        v.as_deref()
            .map(crate::workflow::one_line)
            .unwrap_or_else(|| "(absent)".into())
    };
    let ci = Ci::from_claims(claims.iss.as_deref(), claims.sub.as_deref());
    if claims.iss.is_some() && ci != Some(Ci::GitHub) {
        return access_denied_other_ci(ci, claims, ctx);
    }
    let issuer_host = claims
        .iss
        .as_deref()
        .unwrap_or(GITHUB_ISSUER)
        .trim_start_matches("https://")
        .to_owned();
    let aud = claims
        .aud
        .first()
        .cloned()
        .or_else(|| ctx.audience.map(str::to_owned))
        .unwrap_or_default();
    let sub = show(&claims.sub);
    let mut out = String::from("The role's trust policy did not match this token. The token's claims (decoded without verification; they are not secret):\n");
    for (name, value) in [
        ("sub", sub.clone()),
        ("aud", crate::workflow::one_line(&claims.aud.join(", "))),
        ("iss", show(&claims.iss)),
        ("repository", show(&claims.repository)),
        ("ref", show(&claims.git_ref)),
        ("environment", show(&claims.environment)),
        ("job_workflow_ref", show(&claims.job_workflow_ref)),
        ("event_name", show(&claims.event_name)),
    ] {
        out.push_str(&format!("  {name:<17} {value}\n"));
    }
    out.push_str(&format!(
        "\nA trust-policy Condition that admits exactly this token:\n  \"Condition\": {{\n    \"StringEquals\": {{\n      \"{issuer_host}:aud\": \"{aud}\",\n      \"{issuer_host}:sub\": \"{sub}\"\n    }}\n  }}\n"
    ));
    if let Some(repo) = claims.repository.as_deref().map(crate::workflow::one_line) {
        out.push_str(&format!("or, for every branch, tag, environment and pull request of the repository:\n    \"StringLike\": {{ \"{issuer_host}:sub\": \"repo:{repo}:*\" }}\n"));
    }
    out.push_str("\nCommon mismatches:\n");
    if let Some(env) = claims.environment.as_deref().map(crate::workflow::one_line) {
        out.push_str(&format!("  - This job runs in environment `{env}`, so `sub` names the environment, not the branch: a condition like `repo:O/R:ref:refs/heads/main` never matches it. Match `repo:O/R:environment:{env}`.\n"));
    }
    if claims
        .event_name
        .as_deref()
        .is_some_and(|e| e.starts_with("pull_request"))
        || sub.ends_with(":pull_request")
    {
        out.push_str("  - Pull-request runs have `sub` = `repo:O/R:pull_request`, not a branch ref. Allow that value if pull requests should get this role.\n");
    }
    if sub.contains('@') {
        out.push_str("  - This `sub` uses the immutable format `repo:OWNER@ID/REPO@ID:…` (the repository or organisation opted into immutable subject claims): conditions must include the numeric ids.\n");
    }
    if claims.job_workflow_ref.is_some() {
        out.push_str("  - For a reusable workflow, `sub` is the caller's; to restrict by the called workflow, match `job_workflow_ref` (via a customised sub claim).\n");
    }
    out.push_str("  - Owner and repository names are compared exactly as written in the condition: check for typos and renamed repositories or organisations.\n");
    out.push_str(&format!("  - The condition keys must start with the provider's host `{issuer_host}` (an enterprise with a custom issuer has its own).\n"));
    if !aud.is_empty() && ctx.audience.is_some_and(|a| a != aud) {
        out.push_str("  - The token's `aud` differs from the requested audience.\n");
    }
    out
}

/// The same explanation for a token from another CI (or any issuer): its
/// claims, the condition that admits it under its own issuer's host, the
/// pattern that admits every run of the same project, and that CI's pitfalls.
fn access_denied_other_ci(ci: Option<Ci>, claims: &Claims, ctx: &Context<'_>) -> String {
    let one = |v: Option<&str>| {
        v.map(crate::workflow::one_line)
            .unwrap_or_else(|| "(absent)".into())
    };
    let host = one(claims.iss.as_deref())
        .trim_start_matches("https://")
        .to_owned();
    let sub = one(claims.sub.as_deref());
    let aud = claims
        .aud
        .first()
        .cloned()
        .or_else(|| ctx.audience.map(str::to_owned))
        .map(|a| crate::workflow::one_line(&a))
        .unwrap_or_default();
    let name = ci.map_or("this issuer", Ci::display_name);
    let mut out = format!("The role's trust policy did not match this {name} token. Its claims (decoded without verification; they are not secret):\n");
    for (claim, value) in [
        ("sub", sub.clone()),
        ("aud", crate::workflow::one_line(&claims.aud.join(", "))),
        ("iss", one(claims.iss.as_deref())),
    ] {
        out.push_str(&format!("  {claim:<5} {value}\n"));
    }
    out.push_str(&format!("\nThe trust policy's Principal must be arn:aws:iam::ACCOUNT:oidc-provider/{host}, and its condition keys start with `{host}`.\n"));
    let broader = ci.and_then(|ci| ci.broader_subject(&sub));
    if ci.is_some_and(Ci::subject_changes_per_run) {
        if let Some((pattern, admits)) = &broader {
            out.push_str(&format!("This CI's `sub` changes on every run, so match it with a pattern; this admits {admits}:\n  \"Condition\": {{\n    \"StringEquals\": {{ \"{host}:aud\": \"{aud}\" }},\n    \"StringLike\": {{ \"{host}:sub\": \"{pattern}\" }}\n  }}\n"));
        }
    } else {
        out.push_str(&format!("A Condition that admits exactly this token:\n  \"Condition\": {{\n    \"StringEquals\": {{\n      \"{host}:aud\": \"{aud}\",\n      \"{host}:sub\": \"{sub}\"\n    }}\n  }}\n"));
        if let Some((pattern, admits)) = &broader {
            out.push_str(&format!(
                "or, for {admits}:\n    \"StringLike\": {{ \"{host}:sub\": \"{pattern}\" }}\n"
            ));
        }
    }
    let notes = ci.map(Ci::common_mismatches).unwrap_or_default();
    if !notes.is_empty() {
        out.push_str("\nCommon mismatches:\n");
        for note in notes {
            out.push_str(&format!("  - {note}\n"));
        }
    }
    if let Some(ci) = ci {
        out.push_str(&format!(
            "\n`keyless-aws setup --ci {} …` prints a provider and a trust policy for it.\n",
            ci.id()
        ));
    }
    out
}

/// The one AWS CLI command and the Terraform block that create the OIDC provider.
pub fn provider_setup(issuer: &str, audience: &str) -> String {
    format!(
        "This AWS account has no IAM OIDC identity provider for `{issuer}`. Create it once per account:\n  aws iam create-open-id-connect-provider --url {issuer} --client-id-list {audience}\nor in Terraform:\n  resource \"aws_iam_openid_connect_provider\" \"github\" {{\n    url            = \"{issuer}\"\n    client_id_list = [\"{audience}\"]\n  }}\n(`keyless-aws setup --ci github|gitlab|circleci|buildkite|bitbucket …` prints the provider and a matching role.)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(op: &'static str, code: &str, message: &str) -> StsFailure {
        StsFailure {
            operation: op,
            code: code.into(),
            message: message.into(),
            role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
            request_id: Some("req-1".into()),
            http_status: Some(403),
            transport: None,
        }
    }

    #[test]
    fn environment_mismatch_is_pointed_out() {
        let claims = Claims {
            sub: Some("repo:o/r:environment:prod".into()),
            environment: Some("prod".into()),
            repository: Some("o/r".into()),
            aud: vec!["sts.amazonaws.com".into()],
            iss: Some(GITHUB_ISSUER.into()),
            ..Default::default()
        };
        let ctx = Context {
            claims: Some(&claims),
            audience: Some("sts.amazonaws.com"),
            region: "eu-west-1",
            ..Default::default()
        };
        let (cause, fix) = explain(
            &failure(
                "AssumeRoleWithWebIdentity",
                "AccessDenied",
                "Not authorized",
            ),
            &ctx,
        );
        assert!(
            cause.contains("AccessDenied") && cause.contains("req-1") && cause.contains("role/r")
        );
        assert!(
            fix.contains(
                "\"token.actions.githubusercontent.com:sub\": \"repo:o/r:environment:prod\""
            ),
            "{fix}"
        );
        assert!(fix.contains("environment `prod`"));
    }

    #[test]
    fn other_ci_tokens_get_their_own_condition_keys() {
        let claims = Claims {
            sub: Some(
                "org/O1/project/P1/user/U1/vcs-origin/github.com/o/r/vcs-ref/refs/heads/main"
                    .into(),
            ),
            aud: vec!["O1".into()],
            iss: Some("https://oidc.circleci.com/org/O1".into()),
            ..Default::default()
        };
        let ctx = Context {
            claims: Some(&claims),
            audience: Some("O1"),
            region: "eu-west-1",
            ..Default::default()
        };
        let (_, fix) = explain(
            &failure(
                "AssumeRoleWithWebIdentity",
                "AccessDenied",
                "Not authorized",
            ),
            &ctx,
        );
        assert!(
            fix.contains("\"oidc.circleci.com/org/O1:aud\": \"O1\""),
            "{fix}"
        );
        assert!(fix.contains("\"StringLike\": { \"oidc.circleci.com/org/O1:sub\": \"org/O1/project/P1/user/*\" }"), "{fix}");
        assert!(fix.contains("organization id"), "{fix}");
        assert!(
            !fix.contains("token.actions.githubusercontent.com") && !fix.contains("repo:"),
            "{fix}"
        );
    }

    #[test]
    fn known_codes_have_specific_fixes() {
        let ctx = Context {
            audience: Some("sts.amazonaws.com"),
            duration_seconds: 7200,
            chained: true,
            tags_sent: true,
            region: "eu-west-1",
            ..Default::default()
        };
        let cases = [
            ("AssumeRoleWithWebIdentity", "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com", "create-open-id-connect-provider"),
            ("AssumeRoleWithWebIdentity", "InvalidIdentityToken", "Incorrect token audience", "add-client-id-to-open-id-connect-provider"),
            ("AssumeRole", "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", "3600 s"),
            ("AssumeRole", "AccessDenied", "not authorized to perform: sts:TagSession", "sts:TagSession"),
            ("AssumeRole", "RegionDisabledException", "STS is not activated", "Security Token Service"),
            ("AssumeRole", "ExpiredToken", "expired", "clock"),
        ];
        for (op, code, message, expected) in cases {
            let (_, fix) = explain(&failure(op, code, message), &ctx);
            assert!(fix.contains(expected), "{code}: {fix}");
        }
    }
}
