//! `keyless-aws assume --roles FILE`: the action's `roles` in any CI. The lines
//! are read exactly as the action reads its input; roles without `via` are
//! assumed with this job's one token, concurrently; each `via` role after its
//! source, with `AssumeRole` signed by the source's credentials. All or
//! nothing: if any role fails, nothing is printed, and each failure is
//! explained on its own.

use super::{connection, masks_on_stderr, refused, CliLog, Failure, Request, MASK_SETTLE};
use crate::exchange::calls;
use crate::exchange::token::Token;
use crate::inputs::roles_grammar::{RoleLine, MAX_CHAINED_DURATION};
use crate::plan::{RoleHop, RoleTarget, SessionOptions};
use crate::secret::{Credentials, Secret};
use crate::sts::Assumed;
use futures_util::future::{join_all, FutureExt, LocalBoxFuture};
use std::collections::HashMap;

/// What happened to one line: its credentials, or (problem, fix).
type Outcome<'a> = (&'a RoleLine, Result<Assumed, (String, String)>);

pub(super) fn run(
    request: &Request,
    env: &HashMap<String, String>,
    lines: &[RoleLine],
    runtime: &tokio::runtime::Runtime,
    token: &Token,
) -> Result<(), Failure> {
    refuse_per_line_tokens(lines)?;
    eprintln!(
        "keyless-aws: assuming {} roles with the token from {}",
        lines.len(),
        request.token.describe()
    );
    let outcomes: Vec<Outcome<'_>> = runtime.block_on(async {
        let roots = lines
            .iter()
            .filter(|l| l.via.is_none())
            .map(|l| tree(request, env, lines, l, token, None));
        join_all(roots).await.into_iter().flatten().collect()
    });
    let assumed = all_or_nothing(outcomes)?;
    // Every secret was masked by the engine the moment it was issued.
    let text = json(request, &assumed);
    if masks_on_stderr(request, env) {
        let _ = std::io::Write::flush(&mut std::io::stderr());
        std::thread::sleep(MASK_SETTLE);
    }
    println!("{}", text.expose());
    for (line, a) in &assumed {
        eprintln!(
            "{}",
            crate::text::log_text(&format!(
                "keyless-aws: {}: {} (expire {})",
                line.name,
                a.assumed_role_arn,
                a.credentials.expiration.as_deref().unwrap_or("?")
            ))
        );
    }
    Ok(())
}

/// One token serves every role here: no per-line audience, and no external
/// id on a role assumed with the token.
fn refuse_per_line_tokens(lines: &[RoleLine]) -> Result<(), Failure> {
    for line in lines {
        if line.audience.is_some() {
            return Err(Failure::new(
                format!("--roles line {}: `audience=` is not supported by the command line, where one token serves every role", line.line),
                "Remove it, and pass --audience where this program requests the token (GitHub Actions, Buildkite).",
            ));
        }
        if line.via.is_none() && line.external_id.is_some() {
            return Err(Failure::new(
                format!("--roles line {}: `external-id` on a role assumed with the token (AssumeRoleWithWebIdentity has no ExternalId)", line.line),
                "Remove `external-id`, or assume this role `via=` another profile.",
            ));
        }
    }
    Ok(())
}

/// Every line's credentials in line order, or the failure explaining each
/// line that has none.
fn all_or_nothing(outcomes: Vec<Outcome<'_>>) -> Result<Vec<(&RoleLine, Assumed)>, Failure> {
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|(line, outcome)| {
            let (problem, fix) = outcome.as_ref().err()?;
            Some(format!(
                "Profile `{}` (line {}): {problem}\n{fix}",
                line.name, line.line
            ))
        })
        .collect();
    if !failed.is_empty() {
        let names: Vec<&str> = outcomes
            .iter()
            .filter(|(_, o)| o.is_err())
            .map(|(l, _)| l.name.as_str())
            .collect();
        return Err(Failure::new(
            format!(
                "{} of {} roles could not be assumed: {}",
                names.len(),
                outcomes.len(),
                names.join(", ")
            ),
            format!("{}\n\nNothing was printed.", failed.join("\n\n")),
        ));
    }
    let mut assumed: Vec<(&RoleLine, Assumed)> = outcomes
        .into_iter()
        .filter_map(|(line, outcome)| Some((line, outcome.ok()?)))
        .collect();
    assumed.sort_by_key(|(line, _)| line.line);
    Ok(assumed)
}

/// `{"dev": {"AccessKeyId": …, "SecretAccessKey": …, "SessionToken": …,
/// "Expiration": …, "Arn": …, "Region": …}, …}`; the region when the line
/// or `--region` gives one.
fn json(request: &Request, assumed: &[(&RoleLine, Assumed)]) -> Secret {
    let mut object = serde_json::Map::new();
    for (line, a) in assumed {
        let c = &a.credentials;
        let mut profile = serde_json::Map::new();
        profile.insert("AccessKeyId".into(), c.access_key_id.expose().into());
        profile.insert(
            "SecretAccessKey".into(),
            c.secret_access_key.expose().into(),
        );
        if let Some(token) = &c.session_token {
            profile.insert("SessionToken".into(), token.expose().into());
        }
        if let Some(exp) = &c.expiration {
            profile.insert("Expiration".into(), exp.as_str().into());
        }
        profile.insert("Arn".into(), a.assumed_role_arn.as_str().into());
        let region = line
            .region
            .as_ref()
            .or(request.region_given.then_some(&request.region));
        if let Some(region) = region {
            profile.insert("Region".into(), region.as_str().into());
        }
        object.insert(line.name.to_string(), profile.into());
    }
    Secret::new(serde_json::Value::Object(object).to_string())
}

fn session(request: &Request, line: &RoleLine) -> SessionOptions {
    let default = if line.via.is_some() {
        request.duration.min(MAX_CHAINED_DURATION)
    } else {
        request.duration
    };
    SessionOptions {
        name: line
            .session_name
            .clone()
            .unwrap_or_else(|| request.session_name.clone()),
        duration_seconds: line.duration.unwrap_or(default),
        inline_policy: None,
        managed_policies: Vec::new(),
    }
}

/// Assumes `line` (with the token, or signed by `signer`), then every line
/// whose `via` is it, concurrently, signed by its credentials.
fn tree<'a>(
    request: &'a Request,
    env: &'a HashMap<String, String>,
    lines: &'a [RoleLine],
    line: &'a RoleLine,
    token: &'a Token,
    signer: Option<Credentials>,
) -> LocalBoxFuture<'a, Vec<Outcome<'a>>> {
    async move {
        let session = session(request, line);
        let connection = connection(request);
        let log = CliLog { request, env };
        let result = match &signer {
            None => calls::web_identity(&connection, &line.role, &session, token, &log).await,
            Some(creds) => {
                let hop = RoleHop {
                    target: RoleTarget::Arn(line.role.clone()),
                    session,
                    external_id: line.external_id.clone(),
                    tags: None,
                    transitive_tag_keys: Vec::new(),
                };
                calls::assume_role(&connection, &hop, creds, true, &log).await
            }
        }
        .map_err(refused);
        let chained = lines.iter().filter(|l| l.via.as_ref() == Some(&line.name));
        match result {
            Ok(assumed) => {
                let next = assumed.credentials.clone();
                let subtrees = join_all(
                    chained.map(|c| tree(request, env, lines, c, token, Some(next.clone()))),
                )
                .await;
                let mut out = vec![(line, Ok(assumed))];
                out.extend(subtrees.into_iter().flatten());
                out
            }
            Err(failure) => {
                let mut out = vec![(line, Err((failure.problem, failure.fix)))];
                not_attempted(lines, line, &mut out);
                out
            }
        }
    }
    .boxed_local()
}

fn not_attempted<'a>(lines: &'a [RoleLine], source: &'a RoleLine, out: &mut Vec<Outcome<'a>>) {
    for line in lines
        .iter()
        .filter(|l| l.via.as_ref() == Some(&source.name))
    {
        out.push((
            line,
            Err((
                format!(
                    "not attempted, because its `via` profile `{}` failed",
                    source.name
                ),
                "See that profile's failure.".into(),
            )),
        ));
        not_attempted(lines, line, out);
    }
}
