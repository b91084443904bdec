//! `keyless-aws check-trust …`: reads the flags with lexopt into a typed
//! [`crate::trust::Args`] (which claims, which policy, which role), so the
//! checker itself never sees a flag. The claims come from exactly one source,
//! and the job flags only go with `--repo`.

use super::args::value;
use crate::aws_names::RoleArn;
use crate::trust::claims::{GitHubJob, DEFAULT_AUDIENCE};
use crate::trust::{Args, ClaimsSource, USAGE};
use lexopt::prelude::*;
use std::ffi::OsString;
use std::process::ExitCode;

/// Entry point for `keyless-aws check-trust ARGS…`.
pub fn main(args: &[OsString]) -> ExitCode {
    match parse(args) {
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(parsed)) => crate::trust::run(&parsed),
        Err(problem) => {
            eprintln!(
                "{}",
                crate::text::log_text(&format!("keyless-aws check-trust: {problem}\n\n{USAGE}"))
            );
            ExitCode::from(2)
        }
    }
}

/// Every flag as given, before the sources are checked against each other.
#[derive(Default)]
struct Flags {
    policy: Option<String>,
    claims: Option<String>,
    token: Option<String>,
    repo: Option<String>,
    git_ref: Option<String>,
    environment: Option<String>,
    event: Option<String>,
    audience: Option<String>,
    role_arn: Option<String>,
    context: Vec<(String, String)>,
}

/// `Ok(None)` means help was asked for.
pub fn parse(args: &[OsString]) -> Result<Option<Args>, String> {
    let mut f = Flags::default();
    let mut parser = lexopt::Parser::from_args(args.iter().cloned());
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let (slot, name) = match &arg {
            Short('h') | Long("help") => return Ok(None),
            Long("context") => {
                f.context.push(context(&value(&mut parser, "context")?)?);
                continue;
            }
            Long("policy") => (&mut f.policy, "--policy"),
            Long("claims") => (&mut f.claims, "--claims"),
            Long("token") => (&mut f.token, "--token"),
            Long("repo") => (&mut f.repo, "--repo"),
            Long("ref") => (&mut f.git_ref, "--ref"),
            Long("environment") => (&mut f.environment, "--environment"),
            Long("event") => (&mut f.event, "--event"),
            Long("audience") => (&mut f.audience, "--audience"),
            Long("role-arn") => (&mut f.role_arn, "--role-arn"),
            Long(other) => return Err(format!("unknown argument \"--{other}\"")),
            Short(c) => return Err(format!("unknown argument \"-{c}\"")),
            Value(v) => return Err(format!("unknown argument {v:?}")),
        };
        let v = value(&mut parser, name)?;
        // A flag given twice would silently keep one of its values.
        if let Some(first) = slot {
            return Err(format!(
                "{name} is given twice ({first:?} and {v:?}); give it once"
            ));
        }
        *slot = Some(v);
    }
    build(f).map(Some)
}

/// `KEY=VALUE` of printable text.
fn context(v: &str) -> Result<(String, String), String> {
    v.split_once('=')
        .filter(|(k, v)| !k.is_empty() && !k.chars().chain(v.chars()).any(char::is_control))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or(format!("--context {v:?} is not KEY=VALUE (printable text)"))
}

fn build(f: Flags) -> Result<Args, String> {
    if f.policy.is_none() && f.role_arn.is_none() {
        return Err(
            "--policy FILE (or --role-arn ARN, to read the role's policy from AWS) is required"
                .into(),
        );
    }
    let policy = f.policy;
    let job_flags =
        f.git_ref.is_some() || f.environment.is_some() || f.event.is_some() || f.audience.is_some();
    let claims = match (f.claims, f.token, f.repo) {
        (Some(path), None, None) => ClaimsSource::File(path),
        (None, Some(path), None) => ClaimsSource::Token(path),
        (None, None, Some(repo)) => ClaimsSource::Job(GitHubJob {
            repo,
            git_ref: f.git_ref,
            environment: f.environment,
            event: f.event.unwrap_or_else(|| "push".into()),
            audience: f.audience.unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
        }),
        _ => {
            return Err(
                "give exactly one of --claims FILE, --token FILE or --repo OWNER/REPO".into(),
            )
        }
    };
    if job_flags && !matches!(claims, ClaimsSource::Job(_)) {
        return Err("--ref, --environment, --event and --audience describe a --repo job; with --claims or --token the claims come from the file".into());
    }
    let role_arn = f
        .role_arn
        .map(|arn| RoleArn::parse(&arn).map_err(|problem| format!("--role-arn {arn:?} {problem}")))
        .transpose()?;
    Ok(Args {
        policy,
        claims,
        context: f.context,
        role_arn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn flags_become_a_typed_request() {
        let a = parse(&args(&[
            "--policy=p.json",
            "--repo",
            "o/r",
            "--environment",
            "prod",
            "--context",
            "aws:SourceIp=10.0.0.1",
            "--role-arn",
            "arn:aws:iam::111111111111:role/deploy",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(a.policy.as_deref(), Some("p.json"));
        let ClaimsSource::Job(job) = &a.claims else {
            panic!("{:?}", a.claims)
        };
        assert_eq!((job.repo.as_str(), job.event.as_str()), ("o/r", "push"));
        assert_eq!(job.environment.as_deref(), Some("prod"));
        assert_eq!(a.context, vec![("aws:SourceIp".into(), "10.0.0.1".into())]);
        assert_eq!(a.role_arn.unwrap().account().to_string(), "111111111111");
        assert_eq!(parse(&args(&["-h"])).unwrap(), None);
        for (bad, says) in [
            (
                &["--policy", "p", "--claims", "c", "--repo", "o/r"][..],
                "exactly one of",
            ),
            (
                &["--policy", "p", "--policy", "q", "--repo", "o/r"][..],
                "given twice",
            ),
            (
                &["--policy", "p", "--claims", "c", "--ref", "main"][..],
                "describe a --repo job",
            ),
            (
                &["--policy", "p", "--repo", "o/r", "--frobnicate"][..],
                "unknown argument",
            ),
            (
                &["--policy", "p", "--repo", "o/r", "--context", "novalue"][..],
                "KEY=VALUE",
            ),
            (
                &[
                    "--policy",
                    "p",
                    "--repo",
                    "o/r",
                    "--role-arn",
                    "arn:aws:iam::1:role/x",
                ][..],
                "--role-arn",
            ),
            (&["--repo", "o/r"][..], "--policy FILE (or --role-arn ARN"),
        ] {
            let e = parse(&args(bad)).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }
}
