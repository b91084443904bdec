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
         [--context KEY=VALUE]...

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
  --context KEY=VALUE  a request key that is not a claim (e.g. aws:SourceIp)

Exit status: 0 allowed, 1 denied, 2 bad input.
Limits: String*, Null and Bool operators; the account in the provider ARN is not
compared; keys IAM derives from the request (aws:*) are absent unless --context;
pull_request_target is given the pull_request subject (as GitHub's tokens have it).";

/// What was asked on the command line.
#[derive(Debug, Default, PartialEq)]
pub struct Args {
    pub policy: String,
    pub claims: Option<String>,
    pub token: Option<String>,
    pub repo: Option<String>,
    pub git_ref: Option<String>,
    pub environment: Option<String>,
    pub event: Option<String>,
    pub audience: Option<String>,
    pub context: Vec<(String, String)>,
}

/// `Ok(None)` means help was asked for.
pub fn parse_args(args: &[String]) -> Result<Option<Args>, String> {
    let mut a = Args::default();
    let mut policy = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or(format!("{flag} needs a value"))
        };
        // A flag given twice would silently keep one of its values.
        let once = |slot: &mut Option<String>, v: String| match slot {
            Some(first) => Err(format!(
                "{flag} is given twice ({first:?} and {v:?}); give it once"
            )),
            None => {
                *slot = Some(v);
                Ok(())
            }
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--policy" => once(&mut policy, value()?)?,
            "--claims" => once(&mut a.claims, value()?)?,
            "--token" => once(&mut a.token, value()?)?,
            "--repo" => once(&mut a.repo, value()?)?,
            "--ref" => once(&mut a.git_ref, value()?)?,
            "--environment" => once(&mut a.environment, value()?)?,
            "--event" => once(&mut a.event, value()?)?,
            "--audience" => once(&mut a.audience, value()?)?,
            "--context" => {
                let v = value()?;
                let (k, val) = v
                    .split_once('=')
                    .filter(|(k, v)| {
                        !k.is_empty() && !k.chars().chain(v.chars()).any(char::is_control)
                    })
                    .ok_or(format!("--context {v:?} is not KEY=VALUE (printable text)"))?;
                a.context.push((k.to_owned(), val.to_owned()));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    a.policy = policy.ok_or("--policy FILE is required")?;
    let sources = [a.claims.is_some(), a.token.is_some(), a.repo.is_some()];
    if sources.iter().filter(|s| **s).count() != 1 {
        return Err("give exactly one of --claims FILE, --token FILE or --repo OWNER/REPO".into());
    }
    if a.repo.is_none()
        && (a.git_ref.is_some()
            || a.environment.is_some()
            || a.event.is_some()
            || a.audience.is_some())
    {
        return Err("--ref, --environment, --event and --audience describe a --repo job; with --claims or --token the claims come from the file".into());
    }
    Ok(Some(a))
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
    let mut req = if let Some(path) = &a.claims {
        claims::Request::new(
            claims::from_claims_json(&read("--claims", path)?)?,
            claims::Source::ClaimsFile,
        )
    } else if let Some(path) = &a.token {
        claims::Request::new(
            claims::from_token(&read("--token", path)?)?,
            claims::Source::Token,
        )
    } else {
        let job = claims::GitHubJob {
            repo: a.repo.clone().unwrap_or_default(),
            git_ref: a.git_ref.clone(),
            environment: a.environment.clone(),
            event: a.event.clone().unwrap_or_else(|| "push".into()),
            audience: a
                .audience
                .clone()
                .unwrap_or_else(|| claims::DEFAULT_AUDIENCE.into()),
        };
        claims::Request::new(claims::synthesise(&job)?, claims::Source::Synthesised)
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
    Ok(req)
}

/// Everything but printing: the report text and the exit status.
pub fn check(a: &Args) -> Result<(String, eval::Decision), String> {
    let policy =
        policy::parse(&read("--policy", &a.policy)?).map_err(|e| format!("{:?}: {e}", a.policy))?;
    let req = request(a)?;
    Ok(report(&policy, &req))
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

/// Entry point for `keyless-aws check-trust ARGS…`.
pub fn main(args: &[String]) -> ExitCode {
    let parsed = match parse_args(args) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("keyless-aws check-trust: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match check(&parsed) {
        Ok((report, decision)) => {
            print!("{report}");
            ExitCode::from(if decision == eval::Decision::Allowed {
                0
            } else {
                1
            })
        }
        Err(problem) => {
            eprintln!("keyless-aws check-trust: {problem}");
            ExitCode::from(2)
        }
    }
}
