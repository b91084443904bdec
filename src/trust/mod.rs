//! `keyless-aws check-trust`: evaluates a role trust policy for one OIDC token
//! as IAM does, before AWS is asked, and says what to change when it would be
//! denied. Nothing here touches the network or AWS.
//!
//! `json` (strict JSON) → `policy` (the document) → `claims` (the request) →
//! `eval` (the decision) → `verdict` (the words) and `lint` (what else it admits).

pub mod claims;
pub mod eval;
pub mod json;
pub mod lint;
pub mod live;
pub mod policy;
pub mod subject;
pub mod verdict;
pub mod wildcard;

#[cfg(test)]
mod review_cases;
#[cfg(test)]
mod tests;

use std::process::ExitCode;

pub const USAGE: &str = "Usage: keyless-aws check-trust --policy FILE
         (--claims FILE | --token FILE | --repo OWNER/REPO [--ref REF] [--environment NAME] [--event NAME] [--audience AUD])
         [--role-arn ARN] [--context KEY=VALUE]...

Evaluates a role trust policy for sts:AssumeRoleWithWebIdentity with one
token's claims, as IAM does, and prints the verdict: allowed, or denied with the
statement, the condition key and value that failed, and the change that would
admit the token. Warnings about what else the policy admits follow.

  --policy FILE      the role's trust policy (JSON), e.g. from
                     aws iam get-role --role-name R --query Role.AssumeRolePolicyDocument
  --claims FILE      the token's claims as a JSON object
  --token FILE       a JWT; only its payload is read, the signature is NOT checked
  --repo OWNER/REPO  GitHub Actions claims for a job of this repository:
    --ref REF          branch name or full ref (default refs/heads/main)
    --environment NAME the job's environment (then `sub` names it)
    --event NAME       the triggering event (default push; pull_request changes `sub`)
    --audience AUD     the token's audience (default sts.amazonaws.com)
  --role-arn ARN     the role the policy belongs to: a provider ARN naming another
                     account than the role's never matches (STS looks the provider
                     up in the role's account)
  --context KEY=VALUE  a request key that is not a claim (e.g. aws:SourceIp)

Exit status: 0 allowed, 1 denied, 2 bad input.
Limits: String*, Null and Bool operators; the provider's account is compared only
with --role-arn; keys IAM derives from the request (aws:*) are absent unless
--context; pull_request_target is given the pull_request subject (as GitHub's
tokens have it); files of at most 64 KiB, at most 100 values per claim.";

/// Where the claims come from (exactly one source).
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimsSource {
    /// `--claims FILE`: the token's claims as a JSON object.
    File(String),
    /// `--token FILE`: a JWT whose payload is read without checking its signature.
    Token(String),
    /// `--repo OWNER/REPO` and its job flags: claims in GitHub's default shapes.
    Job(claims::GitHubJob),
}

/// A check-trust request, as `cli::check_trust` reads it from the flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// `--policy FILE`; without it, `--role-arn` reads the role's own policy.
    pub policy: Option<String>,
    pub claims: ClaimsSource,
    /// `--context KEY=VALUE`: request keys that are not claims.
    pub context: Vec<(String, String)>,
    /// `--role-arn`: the role the policy belongs to, whose account the
    /// provider ARN in `Principal.Federated` must name.
    pub role_arn: Option<crate::aws_names::RoleArn>,
}

/// Policies and claims are small; a file larger than this is not one. IAM
/// stores trust policies of a few thousand characters (IAM and AWS STS
/// quotas, "Role trust policy length"), and STS takes tokens of at most 20,000
/// characters (AssumeRoleWithWebIdentity, WebIdentityToken); 64 KiB leaves
/// room for pretty-printing and bounds the work of a verdict (issue 22.4:
/// the worst case is measured by `bench/trust.py`).
pub const MAX_FILE: u64 = 64 * 1024;

fn read(flag: &str, path: &str) -> Result<String, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read {flag} {path:?}: {e}");
    // Read at most one byte past the cap rather than trusting the file's
    // length: a FIFO, /dev/stdin or /dev/zero reports 0 and never ends.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!(
            "{flag} {path:?} is larger than {MAX_FILE} bytes; a trust policy or a token is a few KiB"
        ));
    }
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(format!("{flag} {path:?} is UTF-16 text (Windows PowerShell's `>` writes that); save it as UTF-8, e.g. `… | Out-File -Encoding utf8 {path}`"));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{flag} {path:?} is not UTF-8 text (JSON and JWTs are)"))?;
    // Editors on Windows may start the file with a byte-order mark.
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text))
}

/// The request described by the arguments.
pub fn request(a: &Args) -> Result<claims::Request, String> {
    let mut req = match &a.claims {
        ClaimsSource::File(path) => claims::Request::new(
            claims::from_claims_json(&read("--claims", path)?)?,
            claims::Source::ClaimsFile,
        ),
        ClaimsSource::Token(path) => claims::Request::new(
            claims::from_token(&read("--token", path)?)?,
            claims::Source::Token,
        ),
        ClaimsSource::Job(job) => {
            claims::Request::new(claims::synthesise(job)?, claims::Source::Synthesised)
        }
    };
    // A claim given as --context would silently replace the token's value.
    let prefix = format!("{}:", req.provider.to_lowercase());
    if let Some((k, _)) = a
        .context
        .iter()
        .find(|(k, _)| k.to_lowercase().starts_with(&prefix))
    {
        return Err(format!("--context {k:?} names a claim of the token's provider; --context is for request keys such as aws:SourceIp. Put claims in the --claims file (or use --repo's flags)"));
    }
    req.extra = a.context.clone();
    req.role_account = a.role_arn.as_ref().map(|arn| arn.account().clone());
    Ok(req)
}

/// Everything but printing: the report text and the exit status.
pub fn check(a: &Args) -> Result<(String, eval::Decision), String> {
    if a.policy.is_none() && a.role_arn.is_none() {
        return Err(
            "give --policy FILE, or --role-arn ARN to read the role's policy from AWS".into(),
        );
    }
    let Some(path) = &a.policy else {
        return live_check(a);
    };
    let policy = policy::parse(&read("--policy", path)?).map_err(|e| format!("{path:?}: {e}"))?;
    let req = request(a)?;
    Ok(report(&policy, &req))
}

/// `--role-arn` without `--policy`: the role's policy and OIDC provider read
/// from AWS with the caller's credentials, then checked like a file.
fn live_check(a: &Args) -> Result<(String, eval::Decision), String> {
    let role = a.role_arn.as_ref().ok_or("--role-arn is required")?;
    let req = request(a)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("could not start: {e}"))?;
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let fetched = runtime.block_on(live::fetch(role, &req, &env))?;
    let policy = policy::parse(&fetched.policy)
        .map_err(|e| format!("the trust policy of {}: {e}", role.as_str()))?;
    let (facts, provider_denies) = live::provider_findings(&fetched, &req, role);
    let (verdict, decision) = report(&policy, &req);
    let mut out = format!(
        "Role {} (trust policy read with iam:GetRole)\n{facts}",
        role.as_str()
    );
    if provider_denies {
        out.push_str("The trust policy itself, were the provider fixed:\n");
    }
    out.push_str(&verdict);
    let decision = if provider_denies {
        eval::Decision::ImplicitDeny
    } else {
        decision
    };
    Ok((out, decision))
}

/// The verdict and the lint warnings for one policy and request, as printed.
pub fn report(policy: &policy::Policy, req: &claims::Request) -> (String, eval::Decision) {
    let verdict = eval::evaluate(policy, req);
    let mut out = verdict::render(&verdict, req);
    let warnings = lint::lint(policy, req);
    if !warnings.is_empty() {
        out.push_str(&format!(
            "\n{} warning(s) (they do not change the verdict):\n",
            warnings.len()
        ));
        for w in &warnings {
            out.push_str(&format!("  warning: {}\n    fix: {}\n", w.message, w.fix));
        }
    }
    (out, verdict.decision)
}

/// Runs a parsed request: the report on stdout and exit 0 (allowed), 1
/// (denied); a problem with the input on stderr and exit 2.
pub fn run(args: &Args) -> ExitCode {
    match check(args) {
        Ok((report, decision)) => {
            // The report quotes claims and policy values: text from outside.
            print!("{}", crate::text::log_text(&report));
            ExitCode::from(if decision == eval::Decision::Allowed {
                0
            } else {
                1
            })
        }
        Err(problem) => {
            eprintln!(
                "{}",
                crate::text::log_text(&format!("keyless-aws check-trust: {problem}"))
            );
            ExitCode::from(2)
        }
    }
}
