//! Turns an STS failure into the cause and the fix, for the cases that cost
//! people days: a trust policy whose `sub` does not match, a missing OIDC
//! provider, a wrong audience, a duration over the role's maximum.

use crate::ci::Ci;
use crate::error::{StsCode, StsFailure, StsOperation};
use crate::jwt::Claims;
use crate::text::{hcl_string, json_string, one_line, shell_word};

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
    (cause(f, ctx), fix(f, ctx))
}

/// What STS said (or that it said nothing usable), with the role and request id.
fn cause(f: &StsFailure, ctx: &Context<'_>) -> String {
    let mut cause = String::new();
    if let Some(role) = &f.role_arn {
        cause.push_str(&format!("Role: {role}\n"));
    }
    if f.code_text.is_empty() && !f.message.is_empty() {
        cause.push_str(&format!(
            "STS answered, but the answer is unusable: {}\n",
            f.message
        ));
    } else if f.code_text.is_empty() {
        cause.push_str(&format!(
            "STS ({}): no answer: {}\n",
            ctx.endpoint.unwrap_or("regional endpoint"),
            f.transport.as_deref().unwrap_or("unknown transport error")
        ));
    } else {
        cause.push_str(&format!(
            "STS error: {} (HTTP {}): {}\n",
            f.code_text,
            f.http_status.map_or("?".into(), |s| s.to_string()),
            f.message
        ));
    }
    if let Some(id) = &f.request_id {
        cause.push_str(&format!("Request id: {id}\n"));
    }
    cause.trim_end().to_owned()
}

/// What to change, for each STS code and what was sent.
fn fix(f: &StsFailure, ctx: &Context<'_>) -> String {
    let message = f.message.to_ascii_lowercase();
    let web = f.operation == StsOperation::AssumeRoleWithWebIdentity;
    match &f.code {
        None if f.message.starts_with(crate::sts::INVALID_ANSWER) => "The endpoint answered, but not with what STS issues, so nothing was exported. Check `sts-endpoint` (and AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL) and the proxy settings: something other than STS may be answering.".into(),
        None => format!(
            "STS could not be reached in region `{}` after the retries allowed (see the README's retry numbers). Check the runner's network and proxy (`http-proxy`, HTTPS_PROXY, NO_PROXY), and `sts-endpoint` if you set one.",
            ctx.region
        ),
        Some(StsCode::AccessDenied) if web => access_denied_web(ctx),
        Some(StsCode::AccessDenied) if ctx.tags_sent => format!(
            "The role's trust policy must also allow `sts:TagSession`, because this action tags the session (Repository, Workflow, Commit, …). Add it to the statement that allows `sts:AssumeRole`:\n{}\nor set `role-skip-session-tagging: true`. If tagging is allowed already, check the trust policy's Principal and any `sts:ExternalId` condition.",
            TAG_SESSION_STATEMENT
        ),
        Some(StsCode::AccessDenied) => "The caller is not allowed to assume this role. Check that the role's trust policy names the caller (the user or role whose keys signed the request) as Principal, that its `sts:ExternalId` condition matches `role-external-id`, and that the caller's own policy allows `sts:AssumeRole` on this role.".into(),
        Some(StsCode::InvalidIdentityToken) if message.contains("no openidconnect provider") => {
            let issuer = ctx.claims.and_then(|c| c.iss.as_deref()).unwrap_or(GITHUB_ISSUER);
            provider_setup(issuer, ctx.audience.unwrap_or(crate::aws_names::Audience::DEFAULT))
        }
        Some(StsCode::InvalidIdentityToken) if message.contains("audience") => audience_fix(ctx),
        Some(StsCode::InvalidIdentityToken) => "STS rejected the token itself (signature, issuer or expiry). If you pass `web-identity-token-file`, make sure the file holds a fresh token from the issuer your IAM OIDC provider trusts.".into(),
        Some(StsCode::ExpiredToken) => "The token or credentials expired before STS saw them. If this runner's clock is wrong, fix it (NTP): STS allows only a few minutes of skew. For role chaining, re-run the step that produced the credentials; for a token file, refresh it.".into(),
        Some(StsCode::IdpCommunicationError | StsCode::IdpRejectedClaim) => "STS could not reach or was refused by the identity provider; this is usually temporary. Re-run the job.".into(),
        Some(StsCode::ValidationError) if message.contains("duration") => {
            let mut fix = format!(
                "`role-duration-seconds` is {} s, more than the role's maximum session duration. Lower `role-duration-seconds`, or raise the role's maximum (up to 43200 s):\n  aws iam update-role --role-name ROLE --max-session-duration {}",
                ctx.duration_seconds, ctx.duration_seconds
            );
            if ctx.chained {
                fix.push_str("\nThis call is role chaining (signed with temporary credentials): AWS caps a chained session at 3600 s whatever the role's maximum, so use `role-duration-seconds: 3600` or less.");
            }
            fix
        }
        Some(StsCode::ValidationError) => "STS rejected a parameter. Check the values named in the message above.".into(),
        Some(StsCode::RegionDisabled) => format!("STS is not activated in region `{}` for this account. Activate it in IAM → Account settings → Security Token Service (STS) endpoints, or use another `aws-region`.", ctx.region),
        Some(StsCode::MalformedPolicyDocument) => {
            if ctx.inline_policy {
                "`inline-session-policy` is JSON, but not a valid IAM policy (Version, Statement with Effect/Action/Resource). Validate it with IAM Access Analyzer or `aws accessanalyzer validate-policy`.".into()
            } else {
                "A session policy is not valid; check `managed-session-policies`.".into()
            }
        }
        Some(StsCode::PackedPolicyTooLarge) => "The session policies and tags are too large even after dropping the optional tags. Shorten `inline-session-policy`, use fewer `managed-session-policies` or `custom-tags`, or set `role-skip-session-tagging: true`.".into(),
        Some(StsCode::InvalidClientTokenId) => "AWS does not recognise the access key id that signed the request: it was deleted or deactivated, belongs to another partition (China, GovCloud) than `aws-region`, or is a session's key used without its `aws-session-token`.".into(),
        Some(StsCode::SignatureDoesNotMatch) => {
            if message.contains("expired") {
                "The request signature expired: this runner's clock is off by more than 5 minutes. Fix the clock (NTP) and re-run.".into()
            } else {
                "The secret access key does not belong to the access key id. Check `aws-secret-access-key` (copy it again from where it was created, without surrounding spaces).".into()
            }
        }
        Some(StsCode::Throttling) => "STS kept throttling after every retry allowed. Spread out jobs that assume roles at the same moment, or raise `retry-max-attempts`.".into(),
        Some(StsCode::Other(_)) => "See the STS error above; https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html lists what each code means.".into(),
    }
}

/// `(cause, fix)` for an identity pool's refusal; the text is the pool's
/// own (src/cognito/explain.rs), so it stays next to the calls it explains.
pub fn identity_pool(
    f: &crate::cognito::failure::CognitoFailure,
    ctx: &crate::cognito::explain::PoolContext<'_>,
) -> (String, String) {
    (
        crate::cognito::explain::cause(f, ctx),
        crate::cognito::explain::fix(f, ctx),
    )
}

/// The audience the token was issued for is not a client id of the provider.
fn audience_fix(ctx: &Context<'_>) -> String {
    let issuer = ctx
        .claims
        .and_then(|c| c.iss.as_deref())
        .unwrap_or(GITHUB_ISSUER);
    let audience = ctx
        .audience
        .map(str::to_owned)
        .or_else(|| ctx.claims.and_then(|c| c.aud.first().cloned()))
        .unwrap_or_else(|| "?".into());
    let provider = format!(
        "arn:aws:iam::ACCOUNT:oidc-provider/{}",
        issuer.trim_start_matches("https://")
    );
    format!(
        "The token was issued for audience `{}` (the `audience` input), and the IAM OIDC provider does not list it as a client id. Either set `audience:` to one of the provider's client ids (normally `sts.amazonaws.com`), or add this audience to the provider:\n  aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {} --client-id {}",
        one_line(&audience),
        shell_word(&provider),
        shell_word(&audience)
    )
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
            .map(one_line)
            .unwrap_or_else(|| "(absent)".into())
    };
    let ci = Ci::from_claims(claims.iss.as_deref(), claims.sub.as_deref());
    if claims.iss.is_some() && ci != Some(Ci::GitHub) {
        return access_denied_other_ci(ci, claims, ctx);
    }
    let issuer_host = one_line(
        claims
            .iss
            .as_deref()
            .unwrap_or(GITHUB_ISSUER)
            .trim_start_matches("https://"),
    );
    let aud = one_line(
        &claims
            .aud
            .first()
            .cloned()
            .or_else(|| ctx.audience.map(str::to_owned))
            .unwrap_or_default(),
    );
    let sub = show(&claims.sub);
    let mut out = String::from("The role's trust policy did not match this token. The token's claims (decoded without verification; they are not secret):\n");
    for (name, value) in [
        ("sub", sub.clone()),
        ("aud", one_line(&claims.aud.join(", "))),
        ("iss", show(&claims.iss)),
        ("repository", show(&claims.repository)),
        ("ref", show(&claims.git_ref)),
        ("environment", show(&claims.environment)),
        ("job_workflow_ref", show(&claims.job_workflow_ref)),
        ("event_name", show(&claims.event_name)),
    ] {
        out.push_str(&format!("  {name:<17} {value}\n"));
    }
    out.push_str("\nA trust-policy Condition that admits exactly this token:\n");
    out.push_str(&exact_condition(&issuer_host, &aud, &sub));
    // The repository as the token's own `sub` spells it (name- or ID-based).
    let form = crate::trust::subject::for_explanation(claims);
    let in_sub = form.as_ref().map(|(part, _)| part.as_str());
    if let Some(repo) = in_sub
        .or(claims.repository.as_deref())
        .map(crate::text::one_line)
    {
        out.push_str(&format!(
            "or, for every branch, tag, environment and pull request of the repository:\n    \"StringLike\": {{ {}: {} }}\n",
            json_string(&format!("{issuer_host}:sub")),
            json_string(&format!("repo:{repo}:*"))
        ));
    }
    out.push_str("\nCommon mismatches:\n");
    if let Some(env) = claims.environment.as_deref().map(one_line) {
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
    if let Some((_, Some(note))) = &form {
        out.push_str(&format!("  - {}\n", crate::text::one_line(note)));
    }
    if claims.job_workflow_ref.is_some() {
        out.push_str("  - For a reusable workflow, `sub` is the caller's; to restrict by the called workflow, match `job_workflow_ref` (via a customised sub claim).\n");
    }
    out.push_str("  - Owner and repository names are compared exactly as written in the condition: check for typos and renamed repositories or organisations.\n");
    out.push_str(&format!("  - The condition keys must start with the provider's host `{issuer_host}` (an enterprise with a custom issuer has its own).\n"));
    if !aud.is_empty() && ctx.audience.is_some_and(|a| a != aud) {
        out.push_str("  - The token's `aud` differs from the requested audience.\n");
    }
    out.push_str(&check_trust_command(claims));
    out
}

/// The `keyless-aws check-trust` command that replays this token's claims
/// against a saved trust policy, so the fix can be tried before the next run.
/// The `--repo` form when it reproduces the token's `sub` exactly, else a
/// claims file (the claims are not secret; the token itself is never shown).
/// The token's other claims that IAM turns into condition keys (and `azp`,
/// which IAM reads for the `aud` key), so the replay has every value a trust
/// policy can test.
fn exposed_extras(claims: &Claims) -> Vec<(&String, &serde_json::Value)> {
    use crate::trust::claims::{EXPOSED_ANY_PROVIDER, EXPOSED_GITHUB};
    claims
        .other
        .iter()
        .filter(|(name, value)| {
            !value.is_null()
                && (name.as_str() == "azp"
                    || EXPOSED_ANY_PROVIDER.contains(&name.as_str())
                    || EXPOSED_GITHUB.contains(&name.as_str()))
        })
        .collect()
}

fn check_trust_command(claims: &Claims) -> String {
    let mut head =
        "\nTry a corrected trust policy locally (save it as trust.json) before the next run:\n"
            .to_owned();
    if let (Some(repo), Some(sub)) = (claims.repository.as_deref(), claims.sub.as_deref()) {
        let job = crate::trust::claims::GitHubJob {
            repo: repo.to_owned(),
            git_ref: claims.git_ref.clone(),
            environment: claims.environment.clone(),
            event: claims.event_name.clone().unwrap_or_else(|| "push".into()),
            audience: claims.aud.first().cloned().unwrap_or_default(),
        };
        let same_sub = crate::trust::claims::synthesise(&job)
            .ok()
            .is_some_and(|c| c.get("sub").and_then(|v| v.as_str()) == Some(sub));
        // --repo rebuilds GitHub's own issuer: a token from an enterprise
        // issuer (`…/ENTERPRISE`) or GHES has other keys and another provider.
        let github_issuer = claims.iss.as_deref().is_none_or(|i| i == GITHUB_ISSUER);
        // --repo cannot carry claims such as repository_id or
        // job_workflow_ref; when the token has them, a policy may test them.
        let rebuildable = claims.job_workflow_ref.is_none() && exposed_extras(claims).is_empty();
        if same_sub && github_issuer && rebuildable && claims.aud.len() == 1 {
            let mut cmd = format!(
                "  keyless-aws check-trust --policy trust.json --repo {}",
                shell_word(repo)
            );
            for (flag, value) in [
                ("--ref", claims.git_ref.as_deref()),
                ("--environment", claims.environment.as_deref()),
                (
                    "--event",
                    claims.event_name.as_deref().filter(|e| *e != "push"),
                ),
                (
                    "--audience",
                    Some(job.audience.as_str())
                        .filter(|a| *a != crate::aws_names::Audience::DEFAULT),
                ),
            ] {
                if let Some(v) = value {
                    cmd.push_str(&format!(" {flag} {}", shell_word(v)));
                }
            }
            head.push_str(&cmd);
            head.push('\n');
            return head;
        }
    }
    let mut json = serde_json::Map::new();
    for (name, value) in [
        ("iss", claims.iss.clone()),
        ("sub", claims.sub.clone()),
        ("repository", claims.repository.clone()),
        ("ref", claims.git_ref.clone()),
        ("environment", claims.environment.clone()),
        ("job_workflow_ref", claims.job_workflow_ref.clone()),
    ] {
        if let Some(v) = value {
            json.insert(name.into(), serde_json::Value::String(v));
        }
    }
    json.insert("aud".into(), serde_json::json!(claims.aud));
    for (name, value) in exposed_extras(claims) {
        json.insert(name.clone(), value.clone());
    }
    let json = serde_json::Value::Object(json).to_string();
    head.push_str(&format!(
        "  echo {} > claims.json\n  keyless-aws check-trust --policy trust.json --claims claims.json\n",
        shell_word(&json)
    ));
    head
}

/// The trust-policy `Condition` (indented for the log) that admits exactly
/// the token with this issuer host, audience and subject.
fn exact_condition(host: &str, aud: &str, sub: &str) -> String {
    format!(
        "  \"Condition\": {{\n    \"StringEquals\": {{\n      {}: {},\n      {}: {}\n    }}\n  }}\n",
        json_string(&format!("{host}:aud")),
        json_string(aud),
        json_string(&format!("{host}:sub")),
        json_string(sub)
    )
}

/// The same explanation for a token from another CI (or any issuer): its
/// claims, the condition that admits it under its own issuer's host, the
/// pattern that admits every run of the same project, and that CI's pitfalls.
fn access_denied_other_ci(ci: Option<Ci>, claims: &Claims, ctx: &Context<'_>) -> String {
    let one = |v: Option<&str>| v.map(one_line).unwrap_or_else(|| "(absent)".into());
    let host = one(claims.iss.as_deref())
        .trim_start_matches("https://")
        .to_owned();
    let sub = one(claims.sub.as_deref());
    let aud = claims
        .aud
        .first()
        .cloned()
        .or_else(|| ctx.audience.map(str::to_owned))
        .map(|a| one_line(&a))
        .unwrap_or_default();
    let name = ci.map_or("this issuer", Ci::display_name);
    let mut out = format!("The role's trust policy did not match this {name} token. Its claims (decoded without verification; they are not secret):\n");
    for (claim, value) in [
        ("sub", sub.clone()),
        ("aud", one_line(&claims.aud.join(", "))),
        ("iss", one(claims.iss.as_deref())),
    ] {
        out.push_str(&format!("  {claim:<5} {value}\n"));
    }
    out.push_str(&format!("\nThe trust policy's Principal must be arn:aws:iam::ACCOUNT:oidc-provider/{host}, and its condition keys start with `{host}`.\n"));
    let broader = ci.and_then(|ci| ci.broader_subject(&sub));
    if ci.is_some_and(Ci::subject_changes_per_run) {
        if let Some((pattern, admits)) = &broader {
            out.push_str(&format!(
                "This CI's `sub` changes on every run, so match it with a pattern; this admits {admits}:\n  \"Condition\": {{\n    \"StringEquals\": {{ {}: {} }},\n    \"StringLike\": {{ {}: {} }}\n  }}\n",
                json_string(&format!("{host}:aud")),
                json_string(&aud),
                json_string(&format!("{host}:sub")),
                json_string(pattern)
            ));
        }
    } else {
        out.push_str("A Condition that admits exactly this token:\n");
        out.push_str(&exact_condition(&host, &aud, &sub));
        if let Some((pattern, admits)) = &broader {
            out.push_str(&format!(
                "or, for {admits}:\n    \"StringLike\": {{ {}: {} }}\n",
                json_string(&format!("{host}:sub")),
                json_string(pattern)
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
/// Every value is escaped for where it goes: the issuer is a token claim.
pub fn provider_setup(issuer: &str, audience: &str) -> String {
    format!(
        "This AWS account has no IAM OIDC identity provider for `{}`. Create it once per account:\n  aws iam create-open-id-connect-provider --url {} --client-id-list {}\nor in Terraform:\n  resource \"aws_iam_openid_connect_provider\" \"github\" {{\n    url            = {}\n    client_id_list = [{}]\n  }}\n(`keyless-aws setup --ci github|gitlab|circleci|buildkite|bitbucket …` prints the provider and a matching role.)",
        one_line(issuer),
        shell_word(issuer),
        shell_word(audience),
        hcl_string(issuer),
        hcl_string(audience)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(op: StsOperation, code: &str, message: &str) -> StsFailure {
        StsFailure {
            operation: op,
            code: StsCode::parse(code),
            code_text: code.into(),
            message: message.into(),
            role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
            request_id: Some("req-1".into()),
            http_status: Some(403),
            transport: None,
        }
    }

    /// The explanation of STS's plain AccessDenied for a web-identity call
    /// made with `claims` and `audience`.
    fn web_identity_denied(claims: &Claims, audience: &str) -> (String, String) {
        let ctx = Context {
            claims: Some(claims),
            audience: Some(audience),
            region: "eu-west-1",
            ..Default::default()
        };
        explain(
            &failure(
                StsOperation::AssumeRoleWithWebIdentity,
                "AccessDenied",
                "Not authorized",
            ),
            &ctx,
        )
    }

    /// An ID-based token: the explanation names its form and writes the
    /// repository pattern in it (the separator read from the token).
    #[test]
    fn an_id_based_sub_is_recognised_from_the_token() {
        let claims = Claims {
            sub: Some("repo:o#7/r#9:ref:refs/heads/main".into()),
            repository: Some("o/r".into()),
            aud: vec!["sts.amazonaws.com".into()],
            iss: Some(GITHUB_ISSUER.into()),
            other: [
                ("repository_owner_id".to_owned(), serde_json::json!("7")),
                ("repository_id".to_owned(), serde_json::json!(9)),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let (_, fix) = web_identity_denied(&claims, "sts.amazonaws.com");
        assert!(fix.contains("\"repo:o#7/r#9:*\""), "{fix}");
        assert!(fix.contains("ID-based form (`repo:o#7/r#9:…`"), "{fix}");
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
        let (cause, fix) = web_identity_denied(&claims, "sts.amazonaws.com");
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
        assert!(
            fix.ends_with(
                "keyless-aws check-trust --policy trust.json --repo o/r --environment prod\n"
            ),
            "{fix}"
        );
    }

    #[test]
    fn check_trust_command_carries_the_claims_iam_exposes() {
        // A policy may pin repository_id; --repo cannot carry it, so the
        // replay is a claims file with it (and without claims IAM ignores).
        let mut claims = Claims {
            sub: Some("repo:o/r:ref:refs/heads/main".into()),
            repository: Some("o/r".into()),
            git_ref: Some("refs/heads/main".into()),
            aud: vec!["sts.amazonaws.com".into()],
            iss: Some(GITHUB_ISSUER.into()),
            ..Default::default()
        };
        claims.other.insert("repository_id".into(), "42".into());
        claims
            .other
            .insert("runner_environment".into(), "github-hosted".into());
        let out = check_trust_command(&claims);
        let json = out.split("echo '").nth(1).unwrap();
        let json = &json[..json.find("' >").unwrap()];
        let map = crate::trust::claims::from_claims_json(json).unwrap();
        assert_eq!(map["repository_id"], "42", "{out}");
        assert!(!map.contains_key("runner_environment"), "{out}");
        let policy = crate::trust::policy::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:repository_id":"42"}}}}"#,
        )
        .unwrap();
        let req = crate::trust::claims::Request::new(map, crate::trust::claims::Source::ClaimsFile);
        assert_eq!(
            crate::trust::eval::evaluate(&policy, &req).decision,
            crate::trust::eval::Decision::Allowed
        );
    }

    #[test]
    fn check_trust_command_keeps_an_enterprise_issuer() {
        // `--repo` would evaluate against GitHub's default issuer, whose keys
        // and provider ARN differ from an enterprise issuer's.
        let claims = Claims {
            sub: Some("repo:o/r:ref:refs/heads/main".into()),
            repository: Some("o/r".into()),
            git_ref: Some("refs/heads/main".into()),
            aud: vec!["sts.amazonaws.com".into()],
            iss: Some(format!("{GITHUB_ISSUER}/my-ent")),
            ..Default::default()
        };
        let out = check_trust_command(&claims);
        assert!(out.contains("--claims claims.json"), "{out}");
        assert!(out.contains("my-ent"), "{out}");
    }

    #[test]
    fn check_trust_command_falls_back_to_a_claims_file() {
        // A customised `sub` cannot be rebuilt from --repo: the claims go in a file.
        let claims = Claims {
            sub: Some(
                "repo:o/r:job_workflow_ref:o/w/.github/workflows/d.yml@refs/heads/main".into(),
            ),
            repository: Some("o/r".into()),
            git_ref: Some("refs/heads/main".into()),
            aud: vec!["sts.amazonaws.com".into()],
            iss: Some(GITHUB_ISSUER.into()),
            ..Default::default()
        };
        let out = check_trust_command(&claims);
        assert!(out.contains("--claims claims.json"), "{out}");
        let json = out
            .split("echo '")
            .nth(1)
            .unwrap()
            .split("' > claims.json")
            .next()
            .unwrap();
        let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(parsed["sub"], claims.sub.clone().unwrap());
        let plain = Claims {
            sub: Some("repo:o/r:ref:refs/heads/dev branch".into()),
            repository: Some("o/r".into()),
            git_ref: Some("refs/heads/dev branch".into()),
            aud: vec!["sts.amazonaws.com".into()],
            ..Default::default()
        };
        assert!(check_trust_command(&plain).contains("--ref 'refs/heads/dev branch'"));
        assert_eq!(shell_word("it's"), "'it'\\''s'");
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
        let (_, fix) = web_identity_denied(&claims, "O1");
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
            (StsOperation::AssumeRoleWithWebIdentity, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com", "create-open-id-connect-provider"),
            (StsOperation::AssumeRoleWithWebIdentity, "InvalidIdentityToken", "Incorrect token audience", "add-client-id-to-open-id-connect-provider"),
            (StsOperation::AssumeRole, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", "3600 s"),
            (StsOperation::AssumeRole, "AccessDenied", "not authorized to perform: sts:TagSession", "sts:TagSession"),
            (StsOperation::AssumeRole, "RegionDisabledException", "STS is not activated", "Security Token Service"),
            (StsOperation::AssumeRole, "ExpiredToken", "expired", "clock"),
        ];
        for (op, code, message, expected) in cases {
            let (_, fix) = explain(&failure(op, code, message), &ctx);
            assert!(fix.contains(expected), "{code}: {fix}");
        }
    }
}
