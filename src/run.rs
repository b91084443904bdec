//! One run of the action: from a validated [`Plan`] to exported credentials.
//!
//! The order is what makes it safe: secrets are masked the moment they are
//! known; every network call and check (including `allowed-account-ids`)
//! happens before anything is written; the env, output and state files are
//! written in one go at the very end.

use crate::error::Error;
use crate::exchange::calls;
use crate::exchange::chain::{self, Source};
use crate::plan::{
    AmbientReason, Chain, CredentialPlan, CredentialSource, Delivery, Identify, Plan,
    ProfileDelivery, RefreshDelivery,
};
use crate::profile;
use crate::refresh::install::InstalledFile;
use crate::secret::{Credentials, Secret};
pub use crate::session::Identity;
use crate::session::{self as action, ActionLog, How, Session};
use crate::workflow::{self, Export};

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
    Profiles(Vec<crate::roles::ProfileIdentity>),
}

/// The credential plans of a run that delivers one set of credentials.
enum Single<'a> {
    Obtain(&'a Chain),
    KeepExisting(Option<&'a Chain>),
    LeaveAsIs(Identify),
}

pub async fn run(plan: &Plan) -> Result<Done, Error> {
    // The caller (main) has masked the plan already; a second time sends nothing.
    crate::mask::plan(plan);
    let single = match &plan.credentials {
        CredentialPlan::Profiles(profiles) => {
            return crate::roles::run(plan, profiles).await.map(Done::Profiles);
        }
        CredentialPlan::Obtain(chain) => Single::Obtain(chain),
        CredentialPlan::KeepExisting { fallback } => Single::KeepExisting(fallback.as_ref()),
        CredentialPlan::LeaveAsIs(identify) => Single::LeaveAsIs(*identify),
    };
    let Obtained {
        credentials,
        identity,
    } = obtain(plan, &single).await?;
    action::check_account(plan, &identity)?;
    deliver(plan, credentials.as_ref(), &identity).await?;
    Ok(Done::One(identity))
}


/// Everything for later steps, gathered and then written in one go; profile
/// files are rolled back if the runner files cannot be written.
async fn deliver(
    plan: &Plan,
    credentials: Option<&Credentials>,
    identity: &Identity,
) -> Result<(), Error> {
    let mut export = Export::default();
    let mut profile_written = None;
    let mut refresh_written = None;
    let env_vars = plan.delivery.exports_env_vars();
    // reference: src/helpers.ts unsetCredentials() only clears when it also
    // exports (`output-env-credentials`), so the job's own keys stay otherwise.
    if plan.unset_current_credentials && env_vars && credentials.is_some() {
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ] {
            export.env(name, "");
        }
    }
    if let Some(creds) = credentials {
        // The last guard before anything is written, whatever the source.
        creds
            .check_shape()
            .map_err(|problem| Error::InvalidCredentials { problem })?;
        if let Delivery::ProfileFiles { profile, env_vars } = &plan.delivery {
            profile_written = Some(write_profile(plan, profile, creds, &mut export)?);
            if *env_vars {
                // reference: src/index.ts run() exports AWS_PROFILE only with
                // `output-env-credentials: true`.
                export.env("AWS_PROFILE", profile.name.as_str());
            }
        }
        if let Delivery::RefreshingProfile(refresh) = &plan.delivery {
            refresh_written = Some(install_refresh(plan, refresh, creds, &mut export)?);
        }
        if env_vars {
            export.env("AWS_ACCESS_KEY_ID", creds.access_key_id.expose());
            export.env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.expose());
            // An empty value clears a token left by an earlier step, which would
            // otherwise be sent with keys it does not belong to.
            export.env(
                "AWS_SESSION_TOKEN",
                creds
                    .session_token
                    .as_ref()
                    .map(Secret::expose)
                    .unwrap_or(""),
            );
        }
        if plan.output_credentials {
            export.output("aws-access-key-id", creds.access_key_id.expose());
            export.output("aws-secret-access-key", creds.secret_access_key.expose());
            if let Some(token) = &creds.session_token {
                export.output("aws-session-token", token.expose());
            }
            if let Some(exp) = &creds.expiration {
                export.output("aws-expiration", exp.as_str());
            }
        }
    }
    if env_vars {
        export.env("AWS_REGION", plan.region.as_str());
        export.env("AWS_DEFAULT_REGION", plan.region.as_str());
    }
    if !identity.account.is_empty() {
        export.output("aws-account-id", identity.account.as_str());
        export.output("authenticated-arn", identity.arn.as_str());
    }
    export.record_exported();

    let committed = export.commit_to_runner(&plan.runner).await;
    if committed.is_err() {
        if let Some(written) = profile_written {
            written.roll_back();
        }
        if let Some((files, dir)) = refresh_written {
            crate::refresh::install::remove(&files, &dir);
        }
    }
    committed
}


fn write_profile(
    plan: &Plan,
    profile: &ProfileDelivery,
    creds: &Credentials,
    export: &mut Export,
) -> Result<profile::Written, Error> {
    let written = profile::write_profile(
        &profile.dir,
        &profile.name,
        &plan.region,
        creds,
        profile.overwrite,
        plan.runner.owner,
    )?;
    export.env(
        "AWS_CONFIG_FILE",
        written.config_for_later.to_string_lossy(),
    );
    export.env(
        "AWS_SHARED_CREDENTIALS_FILE",
        written.credentials_for_later.to_string_lossy(),
    );
    export.state("profile_files", written.state_value());
    Ok(written)
}

/// `refresh-credentials`: the helper, its description and config, the cache
/// seeded with the credentials just obtained (so the first SDK call in a
/// later step does not call STS again), and the variables that point SDKs at
/// the profile. Returns what to remove if the export fails.
fn install_refresh(
    plan: &Plan,
    refresh: &RefreshDelivery,
    creds: &Credentials,
    export: &mut Export,
) -> Result<(Vec<InstalledFile>, std::path::PathBuf), Error> {
    use crate::refresh::install::{self, CommandStyle, Request};
    let seed = crate::refresh::cache::ProcessOutput::from_credentials(creds);
    // The image's bundle (what this process trusts): later containers may have none.
    let ca_bundle = Some(std::path::Path::new(DEFAULT_CA_BUNDLE)).filter(|p| p.is_file());
    let installed = install::install(&Request {
        dir: &refresh.dir,
        owner: plan.runner.owner,
        profile: refresh.name.as_str(),
        description: &refresh.description,
        binary: std::path::Path::new("/proc/self/exe"),
        ca_bundle,
        style: CommandStyle::BesideConfigFile,
        seed: seed.as_ref(),
    })
    .map_err(|e| Error::Profile {
        problem: format!("refresh-credentials: {}", e.problem),
        fix: e.fix,
        source: None,
    })?;
    for (name, value) in &installed.env {
        export.env(name, value);
    }
    let lines: Vec<String> = installed
        .files
        .iter()
        .map(InstalledFile::to_state_line)
        .collect();
    export.state("refresh_files", lines.join("\n"));
    export.state("refresh_dir", refresh.dir.local.to_string_lossy());
    workflow::info(&format!(
        "refresh-credentials: later steps use profile {} ({}); it refreshes itself with a new OIDC token",
        refresh.name,
        refresh.dir.for_later_steps.display()
    ));
    Ok((installed.files, refresh.dir.local.clone()))
}

/// Where the action's image keeps its CA bundle (the Dockerfile copies it there).
const DEFAULT_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

async fn obtain(plan: &Plan, single: &Single<'_>) -> Result<Obtained, Error> {
    match single {
        Single::Obtain(chain) => run_chain(plan, chain).await,
        Single::LeaveAsIs(Identify::Skip) => {
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
        Single::LeaveAsIs(Identify::Required) => {
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
        Single::KeepExisting(fallback) => {
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
            let how = if lone { How::of_token(&web.token) } else { How::RoleChaining };
            (source, how, how)
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
        credentials,
        identity: Identity {
            how,
            arn,
            account,
            session_name: None,
            expiration: None,
        },
    })
}
