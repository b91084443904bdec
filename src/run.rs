//! One run of the action: from a validated [`Plan`] to exported credentials.
//!
//! The order is what makes it safe: secrets are masked the moment they are
//! known; every network call and check (including `allowed-account-ids`)
//! happens before anything is written; the env, output and state files are
//! written in one go at the very end.

use crate::deliver::{self, Outbox};
use crate::error::Error;
use crate::exchange::calls;
use crate::exchange::chain::{self, Source};
use crate::plan::{
    AmbientReason, Chain, CredentialPlan, CredentialSource, Delivery, Identify, Mode, Plan,
    ProfileDelivery, RefreshDelivery, SinglePlan,
};
use crate::profile;
use crate::refresh::description::Description;
use crate::refresh::install::RefreshProfile;
use crate::secret::Credentials;
pub use crate::session::Identity;
use crate::session::{self as action, ActionLog, How, Session};
use crate::workflow;

/// The result of the credential phase, before anything is exported.
struct Obtained {
    /// `None` when existing credentials are kept: nothing to export.
    credentials: Option<Credentials>,
    identity: Identity,
}

/// What a run did.
#[derive(Debug)]
pub enum Done {
    /// One set of credentials (`role-to-assume`, keys, existing credentials).
    One(Identity),
    /// `roles`: every profile written, in the order of the lines.
    Profiles(Vec<crate::run_profiles::ProfileIdentity>),
}

pub async fn run(plan: &Plan) -> Result<Done, Error> {
    // The caller (main) has masked the plan already; a second time sends nothing.
    crate::mask::plan(plan);
    match &plan.mode {
        Mode::Profiles(profiles) => crate::run_profiles::run(plan, profiles)
            .await
            .map(Done::Profiles),
        Mode::Single(single) => {
            let Obtained {
                credentials,
                identity,
            } = obtain(plan, &single.credentials).await?;
            action::check_account(plan, &identity)?;
            deliver(plan, single, credentials.as_ref(), &identity).await?;
            Ok(Done::One(identity))
        }
    }
}

/// Everything for later steps, gathered and then written in one go
/// ([`crate::deliver`]).
async fn deliver(
    plan: &Plan,
    single: &SinglePlan,
    credentials: Option<&Credentials>,
    identity: &Identity,
) -> Result<(), Error> {
    let mut outbox = Outbox::default();
    let env_vars = single.delivery.exports_env_vars();
    // reference: src/helpers.ts unsetCredentials() only clears when it also
    // exports (`output-env-credentials`), so the job's own keys stay otherwise.
    if plan.unset_current_credentials && env_vars && credentials.is_some() {
        outbox.clear_job_keys();
    }
    if let Some(creds) = credentials {
        // The last guard before anything is written, whatever the source.
        creds
            .check_shape_of(crate::secret::Issuer::of_endpoint(
                plan.network.sts_endpoint.as_ref(),
            ))
            .map_err(|problem| Error::InvalidCredentials { problem })?;
        match &single.delivery {
            Delivery::ProfileFiles { profile, env_vars } => {
                write_profile(plan, profile, creds, &mut outbox)?;
                if *env_vars {
                    // reference: src/index.ts run() exports AWS_PROFILE only with
                    // `output-env-credentials: true`.
                    outbox.export.env("AWS_PROFILE", profile.name.as_str());
                }
            }
            Delivery::RefreshingProfile(refresh) => {
                install_refresh(plan, single, refresh, creds, &mut outbox)?
            }
            Delivery::OutputsOnly | Delivery::EnvVars => {}
        }
        if env_vars {
            outbox.keys_env(creds);
        }
        if single.output_credentials {
            outbox.keys_outputs(creds);
        }
    }
    if env_vars {
        outbox.export.env("AWS_REGION", plan.region.as_str());
        outbox
            .export
            .env("AWS_DEFAULT_REGION", plan.region.as_str());
    }
    if !identity.account.is_empty() {
        outbox.identity_outputs(&identity.account, &identity.arn);
    }
    outbox.commit(plan).await
}

fn write_profile(
    plan: &Plan,
    profile: &ProfileDelivery,
    creds: &Credentials,
    outbox: &mut Outbox,
) -> Result<(), Error> {
    let written = profile::write_profile(
        &profile.dir,
        &profile.name,
        &plan.region,
        creds,
        profile.overwrite,
        plan.runner.owner,
    )?;
    outbox.profile_files(written);
    Ok(())
}

/// `refresh-credentials`: the refreshing profile replays the plan's chain;
/// SDKs find it through `AWS_PROFILE`, and blank key variables keep keys
/// from earlier steps from taking precedence.
fn install_refresh(
    plan: &Plan,
    single: &SinglePlan,
    refresh: &RefreshDelivery,
    creds: &Credentials,
    outbox: &mut Outbox,
) -> Result<(), Error> {
    let CredentialPlan::Obtain(chain) = &single.credentials else {
        return Err(Error::Internal(
            "refresh-credentials without a chain to replay".into(),
        ));
    };
    let description =
        Description::from_chain(&plan.region, &plan.network, chain).ok_or_else(|| {
            Error::Internal("refresh-credentials with a chain that cannot be replayed".into())
        })?;
    let seed = deliver::seed(creds);
    let profile = RefreshProfile {
        name: refresh.name.as_str(),
        region: plan.region.as_str(),
        description: &description,
        seed: seed.as_ref(),
    };
    let config = outbox.refreshing_profiles(plan, &refresh.dir, std::slice::from_ref(&profile))?;
    let export = &mut outbox.export;
    export.env("AWS_CONFIG_FILE", config);
    export.env("AWS_PROFILE", refresh.name.as_str());
    export.env("AWS_REGION", plan.region.as_str());
    export.env("AWS_DEFAULT_REGION", plan.region.as_str());
    // The Go SDK v1 reads the config file only with this set.
    export.env("AWS_SDK_LOAD_CONFIG", "1");
    outbox.clear_job_keys();
    deliver::announce_refreshing(&[refresh.name.as_str()], &refresh.dir);
    Ok(())
}

async fn obtain(plan: &Plan, credentials: &CredentialPlan) -> Result<Obtained, Error> {
    match credentials {
        CredentialPlan::Obtain(chain) => run_chain(plan, chain).await,
        CredentialPlan::LeaveAsIs(Identify::Skip) => {
            workflow::info(
                "No role to assume and no keys: the job's credentials are left as they are.",
            );
            Ok(Obtained {
                credentials: None,
                identity: Identity {
                    how: How::Nothing,
                    arn: String::new(),
                    account: String::new(),
                    session_name: None,
                    expiration: None,
                },
            })
        }
        CredentialPlan::LeaveAsIs(Identify::Required) => {
            workflow::info("No role to assume and no keys: using the credentials the job already has, as they are.");
            let log = ActionLog { plan };
            let creds = action::connection(plan).ambient_credentials(&log).await.ok_or_else(|| {
                Error::ExistingCredentials("`role-to-assume` is not set, and no AWS credentials were found in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles or instance metadata)".into())
            })?;
            let session = as_they_are(plan, creds, How::Existing).await?;
            Ok(Obtained {
                credentials: None,
                identity: session.identity,
            })
        }
        CredentialPlan::KeepExisting { fallback } => {
            if let Some(identity) = existing_credentials(plan).await {
                return Ok(Obtained {
                    credentials: None,
                    identity,
                });
            }
            match fallback {
                Some(chain) => run_chain(plan, chain).await,
                None => Err(Error::ExistingCredentials("the environment's credentials did not work, and no `role-to-assume` or keys were given to get new ones".into())),
            }
        }
    }
}

/// `use-existing-credentials`: keep what the environment already has when it works.
async fn existing_credentials(plan: &Plan) -> Option<Identity> {
    let log = ActionLog { plan };
    let connection = action::connection(plan);
    let Some(creds) = connection.ambient_credentials(&log).await else {
        workflow::info(
            "use-existing-credentials: no credentials in the environment; getting new ones.",
        );
        return None;
    };
    match calls::caller_identity(&connection, &creds, &log).await {
        Ok((account, arn)) => {
            workflow::info(&format!("use-existing-credentials: the environment's credentials work ({arn}); keeping them."));
            Some(Identity {
                how: How::Existing,
                arn,
                account,
                session_name: None,
                expiration: None,
            })
        }
        Err(refusal) => {
            workflow::info(&format!("use-existing-credentials: the environment's credentials do not work ({}); getting new ones.", refusal.failure.short_reason()));
            None
        }
    }
}

impl From<Session> for Obtained {
    fn from(s: Session) -> Self {
        Obtained {
            credentials: Some(s.credentials),
            identity: s.identity,
        }
    }
}

/// The source's credentials, then one `AssumeRole` per hop (the engine's
/// chain). With no hops, keys and ambient credentials are delivered as they
/// are (after `GetCallerIdentity` says whose they are).
async fn run_chain(plan: &Plan, chain: &Chain) -> Result<Obtained, Error> {
    let lone = chain.hops.is_empty();
    let log = ActionLog { plan };
    let connection = action::connection(plan);
    let token;
    let (source, hop_how, lone_how) = match &chain.source {
        CredentialSource::WebIdentity(web) => {
            token = action::fetch_token(plan, &web.token).await?;
            let source = Source::WebIdentity {
                token: &token,
                role: &web.role,
                session: &web.session,
            };
            let how = if lone {
                How::of_token(&web.token)
            } else {
                How::RoleChaining
            };
            (source, how, how)
        }
        CredentialSource::IdentityPool(pool) => {
            token = action::fetch_token(plan, &pool.token).await?;
            let source = Source::IdentityPool {
                token: &token,
                login: &pool.login,
                role: pool.role.as_ref(),
            };
            (source, How::RoleChaining, How::IdentityPool)
        }
        CredentialSource::Keys(keys) => {
            workflow::info(if lone {
                "Exporting the access keys given as inputs"
            } else {
                "Assuming the role with the access keys given as inputs"
            });
            (Source::Keys(keys), How::KeysThenAssumeRole, How::Keys)
        }
        CredentialSource::Ambient(reason) => {
            workflow::info(match reason {
                AmbientReason::RoleChaining => {
                    "Role chaining: assuming the role with the credentials already in the environment"
                }
                AmbientReason::NoOidcToken { .. } => {
                    "This job cannot request an OIDC token (no `id-token: write` permission?); assuming the role with the credentials already in the environment"
                }
            });
            let hop_how = match reason {
                AmbientReason::RoleChaining => How::RoleChaining,
                AmbientReason::NoOidcToken { .. } => How::ExistingThenAssumeRole,
            };
            (Source::Ambient, hop_how, How::Existing)
        }
    };
    let issued = chain::run(&connection, &source, &chain.hops, &log)
        .await
        .map_err(|e| {
            action::chain_error(e, || match &chain.source {
                CredentialSource::Ambient(AmbientReason::NoOidcToken { under_act }) => {
                    Error::NoIdToken {
                        under_act: *under_act,
                    }
                }
                _ => Error::ExistingCredentials("no AWS credentials were found in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles or instance metadata)".into()),
            })
        })?;
    let how = if lone { lone_how } else { hop_how };
    if issued.session.is_some() {
        return Ok(Session::assumed(issued, how).expect("a session").into());
    }
    Ok(as_they_are(plan, issued.credentials, how).await?.into())
}

/// Credentials delivered unchanged; `GetCallerIdentity` checks them and says whose they are.
async fn as_they_are(plan: &Plan, credentials: Credentials, how: How) -> Result<Session, Error> {
    let log = ActionLog { plan };
    let (account, arn) = calls::caller_identity(&action::connection(plan), &credentials, &log)
        .await
        .map_err(Error::from)?;
    Ok(Session {
        identity: Identity {
            how,
            arn,
            account,
            session_name: None,
            // A pool's session expires; keys given as inputs carry none.
            expiration: credentials.expiration.clone(),
        },
        credentials,
    })
}
