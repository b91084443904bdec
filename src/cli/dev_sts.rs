//! `keyless-aws dev-sts FLAGS…`: reads the flags into a validated
//! [`Options`](crate::dev_sts::Options); the server is `crate::dev_sts`.

use super::args::{usage_error, value};
use crate::aws_names::RoleArn;
use crate::dev_sts::Options;
use lexopt::prelude::*;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

pub const HELP: &str = "\
Usage: keyless-aws dev-sts --jwks-url URL --forward URL --trust-policy [ROLE_ARN=]FILE…
                           [--client-id AUDIENCE]… [--issuer URL] [--listen ADDR]

A local STS that checks web-identity calls as AWS does, for act: the token's
issuer, its signature (against the dev token server's keys), its audience
(against the provider's client ids), its expiry, and the role's trust policy
(the engine of check-trust). A refusal is AWS's own error (AccessDenied,
InvalidIdentityToken), so the action explains it as it would on GitHub, and
dev-sts prints the policy's verdict on stderr. Allowed calls and every other
STS call go unchanged to --forward (moto), which issues the credentials.

  --jwks-url URL          the dev token server's keys: http://HOST:PORT/.well-known/jwks
  --forward URL           moto's URL, e.g. http://127.0.0.1:5000
  --trust-policy [ROLE_ARN=]FILE
                          a role's trust policy (JSON). Without ROLE_ARN= it is the
                          policy of every role not named by another --trust-policy.
                          Repeat for several roles; at least one
  --client-id AUDIENCE    a client id (audience) of the provider; repeat for several
                          (default sts.amazonaws.com)
  --issuer URL            the provider, which tokens must name as iss (default
                          https://token.actions.githubusercontent.com; start the dev
                          token server with the same --issuer)
  --listen ADDR           address to listen on (default 127.0.0.1:0); stdout's first
                          line says which, the second is act's --env line
  --max-seconds N         stop after N seconds (default 3600)
  -h, --help              this text";

const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

pub fn main(args: &[OsString]) -> ExitCode {
    match parse(args) {
        Ok(None) => {
            println!("{HELP}");
            ExitCode::SUCCESS
        }
        Ok(Some(options)) => match crate::dev_sts::run(options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(problem) => {
                eprintln!("keyless-aws dev-sts: {problem}");
                ExitCode::from(2)
            }
        },
        Err(problem) => usage_error("dev-sts", &problem),
    }
}

fn url(flag: &str, text: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(text).map_err(|e| format!("{flag} {text:?} is not a URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
        return Err(format!(
            "{flag} {text:?} must be an http:// or https:// URL with a host"
        ));
    }
    Ok(u)
}

/// `ROLE_ARN=FILE` (an ARN ends at its first `=`) or `FILE`.
fn trust_policy(text: &str) -> Result<(Option<String>, PathBuf), String> {
    match text.split_once('=').filter(|_| text.starts_with("arn:")) {
        Some((arn, file)) => {
            RoleArn::parse(arn).map_err(|p| format!("--trust-policy {arn:?} {p}"))?;
            if file.is_empty() {
                return Err(format!("--trust-policy {text:?} names no file after `=`"));
            }
            Ok((Some(arn.to_owned()), PathBuf::from(file)))
        }
        None => Ok((None, PathBuf::from(text))),
    }
}

/// `Ok(None)` for `--help`.
pub fn parse(args: &[OsString]) -> Result<Option<Options>, String> {
    let mut parser = lexopt::Parser::from_args(args.iter().cloned());
    let (mut listen, mut jwks_url, mut forward, mut issuer) = (None, None, None, None);
    let (mut client_ids, mut trust_policies) = (Vec::new(), Vec::new());
    let mut max_seconds = 3600u64;
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(None),
            Long("listen") => {
                let v = value(&mut parser, "listen")?;
                listen = Some(
                    v.parse()
                        .map_err(|_| format!("--listen {v:?} is not IP:PORT"))?,
                );
            }
            Long("jwks-url") => {
                jwks_url = Some(url("--jwks-url", &value(&mut parser, "jwks-url")?)?)
            }
            Long("forward") => forward = Some(url("--forward", &value(&mut parser, "forward")?)?),
            Long("issuer") => {
                issuer = Some(
                    url("--issuer", &value(&mut parser, "issuer")?)?
                        .as_str()
                        .trim_end_matches('/')
                        .to_owned(),
                )
            }
            Long("client-id") => {
                let v = value(&mut parser, "client-id")?;
                if v.is_empty() || v.len() > 255 {
                    return Err("--client-id must be 1-255 characters".into());
                }
                client_ids.push(v);
            }
            Long("trust-policy") => {
                trust_policies.push(trust_policy(&value(&mut parser, "trust-policy")?)?)
            }
            Long("max-seconds") => {
                let v = value(&mut parser, "max-seconds")?;
                max_seconds = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=86_400).contains(n))
                    .ok_or_else(|| {
                        format!("--max-seconds {v:?} is not a whole number from 1 to 86400")
                    })?;
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    let jwks_url = jwks_url.ok_or(
        "--jwks-url is required: the dev token server's http://HOST:PORT/.well-known/jwks",
    )?;
    let forward = forward.ok_or(
        "--forward is required: moto's URL, which issues the credentials of allowed calls",
    )?;
    if trust_policies.is_empty() {
        return Err("give at least one --trust-policy [ROLE_ARN=]FILE".into());
    }
    let mut roles: Vec<&Option<String>> = trust_policies.iter().map(|(r, _)| r).collect();
    roles.sort();
    if let Some(w) = roles.windows(2).find(|w| w[0] == w[1]) {
        let which = w[0].as_deref().unwrap_or("every role (no ROLE_ARN=)");
        return Err(format!("--trust-policy is given twice for {which}"));
    }
    if client_ids.is_empty() {
        client_ids.push("sts.amazonaws.com".to_owned());
    }
    Ok(Some(Options {
        listen: listen.unwrap_or_else(|| ([127, 0, 0, 1], 0).into()),
        jwks_url,
        issuer: issuer.unwrap_or_else(|| GITHUB_ISSUER.to_owned()),
        client_ids,
        trust_policies,
        forward,
        max_seconds: Duration::from_secs(max_seconds),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Option<Options>, String> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    const BASE: [&str; 4] = [
        "--jwks-url",
        "http://127.0.0.1:1/.well-known/jwks",
        "--forward",
        "http://127.0.0.1:2",
    ];

    #[test]
    fn reads_flags_into_options_with_defaults() {
        let args = [
            &BASE[..],
            &[
                "--trust-policy",
                "t.json",
                "--trust-policy",
                "arn:aws:iam::111122223333:role/a=a.json",
            ],
        ]
        .concat();
        let o = p(&args).unwrap().unwrap();
        assert_eq!(o.client_ids, ["sts.amazonaws.com"]);
        assert_eq!(o.issuer, GITHUB_ISSUER);
        assert_eq!(o.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(
            o.trust_policies,
            [
                (None, PathBuf::from("t.json")),
                (
                    Some("arn:aws:iam::111122223333:role/a".into()),
                    PathBuf::from("a.json")
                ),
            ]
        );
        assert!(p(&["--help"]).unwrap().is_none());
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        for (args, needle) in [
            (vec!["--trust-policy", "t.json"], "--jwks-url is required"),
            (BASE.to_vec(), "at least one --trust-policy"),
            (
                [&BASE[..], &["--trust-policy", "a", "--trust-policy", "b"]].concat(),
                "twice",
            ),
            (
                [&BASE[..], &["--trust-policy", "arn:aws:iam::1:role/x=t"]].concat(),
                "--trust-policy",
            ),
            (
                [&BASE[..], &["--trust-policy", "t", "--forward", "ftp://x"]].concat(),
                "http:// or https://",
            ),
            (
                [&BASE[..], &["--trust-policy", "t", "--max-seconds", "0"]].concat(),
                "1 to 86400",
            ),
            ([&BASE[..], &["--bogus"]].concat(), "bogus"),
        ] {
            let e = p(&args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
    }
}
