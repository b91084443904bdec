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
use crate::deliver::{self, Outbox};
use crate::error::{Error, RoleFailure, RoleFailureReason};
use crate::exchange::calls;
use crate::exchange::connection::Connection;
use crate::exchange::token::Token;
use crate::plan::{
    NamedProfiles, Plan, ProfileCredentials, ProfileTarget, ProfilesPlan, RoleProfile, Roots,
    Signer, TokenGroup, WebProfile,
};
use crate::profile::{self, NamedBy, ProfileContent, ProfileEntry};
use crate::refresh::install::RefreshProfile;
use crate::secret::Credentials;
use crate::session::{self as action, ActionLog, How, Identity, Session};
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

/// Runs a `roles` plan; the caller has masked the plan's secrets.
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
            action::check_account(plan, &session.identity)
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
    deliver(plan, profiles, &assumed).await?;
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
    let tokens = join_all(groups.iter().map(|g| action::fetch_token(plan, &g.token))).await;
    let tokens = tokens.into_iter().collect::<Result<Vec<Token>, Error>>()?;
    let trees = groups
        .iter()
        .zip(&tokens)
        .flat_map(|(group, token)| {
            let how = How::of_token(&group.token);
            group.roles.iter().map(move |role| (role, token, how))
        })
        .map(|(role, token, how)| web_tree(plan, role, token, how));
    Ok(join_all(trees).await.into_iter().flatten().collect())
}

async fn web_tree<'a>(
    plan: &'a Plan,
    role: &'a WebProfile,
    token: &Token,
    how: How,
) -> Vec<Outcome<'a>> {
    if let Some(login) = &role.identity_pool {
        return pool_tree(plan, role, login, token).await;
    }
    let connection = action::connection(plan);
    let log = ActionLog { plan };
    match calls::web_identity(&connection, &role.role, &role.session, token, &log).await {
        Ok(assumed) => {
            let session = session(assumed, &role.session, how);
            let signer = session.credentials.clone();
            let mut out = vec![(&role.profile, Ok(session))];
            out.extend(role_trees(plan, &role.chained, &signer, true, How::RoleChaining).await);
            out
        }
        Err(refusal) => failed(&role.profile, refusal.into(), &role.chained),
    }
}

/// A line with `identity-pool=`: the pool's credentials for the line's role,
/// whose they are (`GetCallerIdentity`: Cognito's answer names no role),
/// then the roles chained from it.
async fn pool_tree<'a>(
    plan: &'a Plan,
    role: &'a WebProfile,
    login: &crate::plan::PoolLogin,
    token: &Token,
) -> Vec<Outcome<'a>> {
    let connection = action::connection(plan);
    let log = ActionLog { plan };
    let issued =
        crate::exchange::pool::credentials(&connection, login, Some(&role.role), token, &log).await;
    let credentials = match issued {
        Ok(credentials) => credentials,
        Err(error) => return failed(&role.profile, *error, &role.chained),
    };
    match calls::caller_identity(&connection, &credentials, &log).await {
        Ok((account, arn)) => {
            let session = Session {
                identity: Identity {
                    how: How::IdentityPool,
                    arn,
                    account,
                    session_name: None,
                    expiration: credentials.expiration.clone(),
                },
                credentials,
            };
            let signer = session.credentials.clone();
            let mut out = vec![(&role.profile, Ok(session))];
            out.extend(role_trees(plan, &role.chained, &signer, true, How::RoleChaining).await);
            out
        }
        Err(refusal) => failed(&role.profile, refusal.into(), &role.chained),
    }
}

/// An assumed role as the action reports it.
fn session(
    assumed: crate::sts::Assumed,
    options: &crate::plan::SessionOptions,
    how: How,
) -> Session {
    Session {
        identity: Identity {
            how,
            account: assumed
                .account_id()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            arn: assumed.assumed_role_arn,
            session_name: Some(options.name.to_string()),
            expiration: assumed.credentials.expiration.clone(),
        },
        credentials: assumed.credentials,
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
            How::KeysThenAssumeRole,
        ),
        Signer::Ambient => {
            let connection: Connection<'_> = action::connection(plan);
            let ambient = connection.ambient_credentials(&ActionLog { plan }).await.ok_or_else(|| Error::ExistingCredentials("no AWS credentials were found in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles or instance metadata) to sign the roles of `roles`".into()))?;
            (ambient, true, How::RoleChaining)
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
    how: How,
) -> LocalBoxFuture<'s, Vec<Outcome<'a>>>
where
    'a: 's,
{
    async move {
        let trees = roles.iter().map(|role| async move {
            let connection = action::connection(plan);
            let log = ActionLog { plan };
            match calls::assume_role(&connection, &role.hop, signer, fresh, &log).await {
                Ok(assumed) => {
                    let session = session(assumed, &role.hop.session, how);
                    let next = session.credentials.clone();
                    let mut out = vec![(&role.profile, Ok(session))];
                    out.extend(
                        role_trees(plan, &role.chained, &next, true, How::RoleChaining).await,
                    );
                    out
                }
                Err(refusal) => failed(&role.profile, refusal.into(), &role.chained),
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

/// The profiles (keys, or with `refresh-credentials` a `credential_process`
/// each), the variables that find them, the `profiles` output and the post
/// step's state, written in one go ([`crate::deliver`]).
async fn deliver(
    plan: &Plan,
    profiles: &ProfilesPlan,
    assumed: &[(&ProfileTarget, Session)],
) -> Result<(), Error> {
    let files = &profiles.files;
    let mut outbox = Outbox::default();
    if plan.unset_current_credentials {
        outbox.clear_job_keys();
    }
    match profiles.content {
        ProfileCredentials::Keys => write_key_profiles(plan, files, assumed, &mut outbox)?,
        ProfileCredentials::Refreshing => {
            refreshing_profiles(plan, profiles, assumed, &mut outbox)?
        }
    }
    // Only what later steps need to find the profiles; the region stays in
    // each profile, so no AWS_REGION is exported to override it.
    if let Some(default) = &files.default {
        outbox.export.env("AWS_PROFILE", default.as_str());
        if let Some((_, session)) = assumed.iter().find(|(t, _)| &t.name == default) {
            outbox.identity_outputs(&session.identity.account, &session.identity.arn);
        }
    }
    outbox.export.output("profiles", profiles_json(assumed));
    outbox.commit(plan).await
}

/// Each profile's keys in the profile files.
fn write_key_profiles(
    plan: &Plan,
    files: &NamedProfiles,
    assumed: &[(&ProfileTarget, Session)],
    outbox: &mut Outbox,
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
    outbox.profile_files(written);
    Ok(())
}

/// `refresh-credentials`: each profile's own `credential_process`, which
/// replays the profile's chain (a new token, its web identity, each `via`
/// hop), its cache seeded with the keys just issued.
fn refreshing_profiles(
    plan: &Plan,
    profiles: &ProfilesPlan,
    assumed: &[(&ProfileTarget, Session)],
    outbox: &mut Outbox,
) -> Result<(), Error> {
    let described = crate::refresh::description::of_profiles(&plan.region, &plan.network, profiles)
        .ok_or_else(|| {
            Error::Internal("refresh-credentials with roles that cannot be replayed".into())
        })?;
    let seeds: Vec<_> = assumed
        .iter()
        .map(|(target, session)| (target.name.clone(), deliver::seed(&session.credentials)))
        .collect();
    let refreshing: Vec<RefreshProfile<'_>> = assumed
        .iter()
        .filter_map(|(target, _)| {
            let description = &described.iter().find(|(name, _)| *name == target.name)?.1;
            let seed = seeds
                .iter()
                .find(|(name, _)| *name == target.name)?
                .1
                .as_ref();
            Some(RefreshProfile {
                name: target.name.as_str(),
                region: target.region.as_str(),
                description,
                seed,
            })
        })
        .collect();
    let config = outbox.refreshing_profiles(plan, &profiles.files.dir, &refreshing)?;
    outbox.export.env("AWS_CONFIG_FILE", config);
    // The Go SDK v1 reads the config file only with this set.
    outbox.export.env("AWS_SDK_LOAD_CONFIG", "1");
    let names: Vec<&str> = refreshing.iter().map(|p| p.name).collect();
    deliver::announce_refreshing(&names, &profiles.files.dir);
    Ok(())
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
