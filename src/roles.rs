//! A `roles` run: every role of the plan assumed, each chained role after its
//! source, then every profile written at once.
//!
//! One token per audience is requested (concurrently); the web-identity calls
//! run concurrently, and so do the chained calls under each profile. The
//! runtime has one thread: what makes ten roles cost about one round trip is
//! that the futures wait on the network together, not threads.
//!
//! All or nothing: if any role fails, nothing is written, and every failure is
//! reported with its own explanation; a role whose `via` failed is reported as
//! not attempted.

use crate::aws_names::{ProfileName, Region};
use crate::error::{Error, RoleFailure, RoleFailureReason};
use crate::plan::{
    NamedProfiles, Plan, ProfileTarget, ProfilesPlan, RoleProfile, Roots, Signer, TokenGroup,
    WebProfile,
};
use crate::profile::{self, NamedBy, ProfileContent, ProfileEntry};
use crate::run::{self, Identity, Session, Token};
use crate::secret::Credentials;
use crate::workflow::Export;
use futures_util::future::{join_all, FutureExt, LocalBoxFuture};

/// One profile written, and whose credentials it holds (no secrets).
#[derive(Debug)]
pub struct ProfileIdentity {
    pub name: ProfileName,
    pub region: Region,
    pub identity: Identity,
}

/// What happened to one profile.
type Outcome<'a> = (&'a ProfileTarget, Result<Session, RoleFailureReason>);

/// Runs a `roles` plan; [`crate::run::run`] has masked the plan's secrets.
pub async fn run(plan: &Plan, profiles: &ProfilesPlan) -> Result<Vec<ProfileIdentity>, Error> {
    let outcomes = match &profiles.roots {
        Roots::WebIdentity(groups) => web_identity(plan, groups).await?,
        Roots::Signed { signer, roles } => signed(plan, signer, roles).await?,
    };
    let total = outcomes.len();
    let mut assumed = Vec::new();
    let mut failures = Vec::new();
    for (target, outcome) in outcomes {
        let checked = outcome.and_then(|session| {
            // The last guards before anything is written: the account, and
            // credentials of the shape AWS issues (nothing INI could misread).
            run::check_account(plan, &session.identity)
                .and_then(|()| {
                    session
                        .credentials
                        .check_shape_of(crate::secret::Issuer::of_endpoint(
                            plan.network.sts_endpoint.as_ref(),
                        ))
                        .map_err(|problem| Error::InvalidCredentials { problem })
                })
                .map(|()| session)
                .map_err(|e| RoleFailureReason::Failed(Box::new(e)))
        });
        match checked {
            Ok(session) => assumed.push((target, session)),
            Err(reason) => failures.push(RoleFailure {
                profile: target.name.to_string(),
                line: target.line,
                reason,
            }),
        }
    }
    if !failures.is_empty() {
        failures.sort_by_key(|f| f.line);
        return Err(Error::Roles { total, failures });
    }
    assumed.sort_by_key(|(target, _)| target.line);
    deliver(plan, &profiles.files, &assumed).await?;
    Ok(assumed
        .into_iter()
        .map(|(target, session)| ProfileIdentity {
            name: target.name.clone(),
            region: target.region.clone(),
            identity: session.identity,
        })
        .collect())
}

/// The tokens first (one request per audience, concurrently); then every
/// role of every group, concurrently.
async fn web_identity<'a>(
    plan: &'a Plan,
    groups: &'a [TokenGroup],
) -> Result<Vec<Outcome<'a>>, Error> {
    let tokens = join_all(groups.iter().map(|g| run::fetch_token(plan, &g.token))).await;
    let tokens = tokens.into_iter().collect::<Result<Vec<Token>, Error>>()?;
    let client = run::sts_client(plan, None, false);
    let trees = groups
        .iter()
        .zip(&tokens)
        .flat_map(|(group, token)| group.roles.iter().map(move |role| (role, token)))
        .map(|(role, token)| web_tree(plan, &client, role, token));
    Ok(join_all(trees).await.into_iter().flatten().collect())
}

async fn web_tree<'a>(
    plan: &'a Plan,
    client: &aws_sdk_sts::Client,
    role: &'a WebProfile,
    token: &Token,
) -> Vec<Outcome<'a>> {
    match run::exchange(plan, client, &role.role, &role.session, token).await {
        Ok(session) => {
            let signer = session.credentials.clone();
            let mut out = vec![(&role.profile, Ok(session))];
            out.extend(role_trees(plan, &role.chained, &signer, true, "role chaining").await);
            out
        }
        Err(e) => failed(&role.profile, e, &role.chained),
    }
}

/// Roots signed by the step's keys or the environment's credentials.
async fn signed<'a>(
    plan: &'a Plan,
    signer: &Signer,
    roles: &'a [RoleProfile],
) -> Result<Vec<Outcome<'a>>, Error> {
    let (credentials, fresh, how) = match signer {
        Signer::Keys(keys) => (
            keys.clone(),
            keys.session_token.is_some(),
            "access keys → AssumeRole",
        ),
        Signer::Ambient => {
            let ambient = run::ambient_credentials(plan).await.ok_or_else(|| Error::ExistingCredentials("no AWS credentials were found in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles or instance metadata) to sign the roles of `roles`".into()))?;
            (ambient, true, "role chaining")
        }
    };
    Ok(role_trees(plan, roles, &credentials, fresh, how).await)
}

/// `AssumeRole` for each role, signed by `signer`, concurrently; then, under
/// each, the roles chained from it.
fn role_trees<'a, 's>(
    plan: &'a Plan,
    roles: &'a [RoleProfile],
    signer: &'s Credentials,
    fresh: bool,
    how: &'static str,
) -> LocalBoxFuture<'s, Vec<Outcome<'a>>>
where
    'a: 's,
{
    async move {
        let trees = roles.iter().map(|role| async move {
            match run::assume_role(plan, &role.hop, signer, fresh, how).await {
                Ok(session) => {
                    let next = session.credentials.clone();
                    let mut out = vec![(&role.profile, Ok(session))];
                    out.extend(role_trees(plan, &role.chained, &next, true, "role chaining").await);
                    out
                }
                Err(e) => failed(&role.profile, e, &role.chained),
            }
        });
        join_all(trees).await.into_iter().flatten().collect()
    }
    .boxed_local()
}

/// A failed profile, and every profile chained from it as not attempted.
fn failed<'a>(
    target: &'a ProfileTarget,
    error: Error,
    chained: &'a [RoleProfile],
) -> Vec<Outcome<'a>> {
    let mut out = vec![(target, Err(RoleFailureReason::Failed(Box::new(error))))];
    not_attempted(&target.name, chained, &mut out);
    out
}

fn not_attempted<'a>(via: &ProfileName, roles: &'a [RoleProfile], out: &mut Vec<Outcome<'a>>) {
    for role in roles {
        out.push((
            &role.profile,
            Err(RoleFailureReason::SourceFailed {
                via: via.to_string(),
            }),
        ));
        not_attempted(&role.profile.name, &role.chained, out);
    }
}

/// The profiles, the variables that find them, the `profiles` output and the
/// post step's state, written in one go; the profile files are rolled back if
/// the runner files cannot be written.
async fn deliver(
    plan: &Plan,
    files: &NamedProfiles,
    assumed: &[(&ProfileTarget, Session)],
) -> Result<(), Error> {
    let entries: Vec<ProfileEntry<'_>> = assumed
        .iter()
        .map(|(target, session)| ProfileEntry {
            name: &target.name,
            region: &target.region,
            content: ProfileContent::Keys(&session.credentials),
        })
        .collect();
    let written = profile::write_profiles(
        &files.dir,
        &entries,
        files.overwrite,
        plan.runner.owner,
        NamedBy::Roles,
    )
    .map_err(|e| match e {
        // The profiles are named by `roles`, not `aws-profile`.
        Error::Profile { problem, fix, .. } => Error::Input {
            input: "roles",
            problem,
            fix,
        },
        other => other,
    })?;
    let mut export = Export::default();
    if plan.unset_current_credentials {
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ] {
            export.env(name, "");
        }
    }
    // Only what later steps need to find the profiles; the region stays in
    // each profile, so no AWS_REGION is exported to override it.
    export.env(
        "AWS_CONFIG_FILE",
        written.config_for_later.to_string_lossy(),
    );
    export.env(
        "AWS_SHARED_CREDENTIALS_FILE",
        written.credentials_for_later.to_string_lossy(),
    );
    if let Some(default) = &files.default {
        export.env("AWS_PROFILE", default.as_str());
        if let Some((_, session)) = assumed.iter().find(|(t, _)| &t.name == default) {
            export.output("aws-account-id", session.identity.account.as_str());
            export.output("authenticated-arn", session.identity.arn.as_str());
        }
    }
    export.output("profiles", profiles_json(assumed));
    run::record_exported(&mut export);
    export.state("profile_files", written.state_value());
    let committed = export.commit_to_runner(&plan.runner).await;
    if committed.is_err() {
        written.roll_back();
    }
    committed
}

/// `{"dev": {"account": …, "arn": …, "expiration": …, "region": …}, …}`: who
/// each profile is, never its keys.
fn profiles_json(assumed: &[(&ProfileTarget, Session)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = assumed
        .iter()
        .map(|(target, session)| {
            let id = &session.identity;
            (
                target.name.to_string(),
                serde_json::json!({
                    "account": id.account,
                    "arn": id.arn,
                    "expiration": id.expiration,
                    "region": target.region.as_str(),
                }),
            )
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}
