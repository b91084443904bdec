//! One run of the action: from a validated [`Plan`] to exported credentials.
//!
//! The order is what makes it safe: secrets are masked the moment they are
//! known; every network call and check (including `allowed-account-ids`)
//! happens before anything is written; the env, output and state files are
//! written in one go at the very end.

use crate::aws_names::RoleArn;
use crate::error::{Error, StsCode, StsFailure, StsOperation};
use crate::explain::{self, Context};
use crate::jwt::{self, Claims};
use crate::plan::{
    AmbientReason, Chain, CredentialPlan, CredentialSource, Delivery, Identify, Plan,
    ProfileDelivery, RefreshDelivery, RoleHop, RoleTarget, SessionOptions, TokenSource,
    WebIdentity,
};
use crate::profile;
use crate::refresh::install::InstalledFile;
use crate::secret::{Credentials, Secret};
use crate::sts::{self, AssumeRoleParams, Assumed, ClientSettings};
use crate::tags;
use crate::workflow::{self, Export};
use aws_credential_types::provider::SharedCredentialsProvider;
use std::time::Instant;

/// What the run did, for the log line and the step summary.
#[derive(Debug)]
pub struct Identity {
    pub how: &'static str,
    pub arn: String,
    pub account: String,
    pub session_name: Option<String>,
    pub expiration: Option<String>,
}

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
    check_account(plan, &identity)?;
    deliver(plan, credentials.as_ref(), &identity).await?;
    Ok(Done::One(identity))
}

pub(crate) fn check_account(plan: &Plan, identity: &Identity) -> Result<(), Error> {
    learned_account(plan, &identity.account);
    if plan.account.mask {
        // The whole identity too, as the reference action does.
        crate::mask::account(&identity.arn);
    }
    let allowed = &plan.account.allowed;
    // No identity (`Identify::Skip`): no credentials are handed on, nothing to guard.
    if !allowed.is_empty()
        && !identity.account.is_empty()
        && !allowed.iter().any(|a| a.as_str() == identity.account)
    {
        return Err(Error::AccountNotAllowed {
            account: identity.account.clone(),
            allowed: allowed.clone(),
        });
    }
    Ok(())
}

/// The variables this action may export, and so the only ones its post step
/// clears (the names it did export are recorded in GITHUB_STATE).
pub const EXPORTABLE: [&str; 9] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    // `refresh-credentials` (the Go SDK v1 reads the config file only with it).
    "AWS_SDK_LOAD_CONFIG",
];

/// With `mask-aws-account-id`, an account is masked the moment it is learned,
/// before any line (progress, error, summary) can name it.
fn learned_account(plan: &Plan, account: &str) {
    if plan.account.mask {
        crate::mask::account(account);
    }
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
            .check_shape_of(crate::secret::Issuer::of_endpoint(
                plan.network.sts_endpoint.as_ref(),
            ))
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
    record_exported(&mut export);

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

/// The post step clears exactly the names exported, nothing the job set itself.
pub(crate) fn record_exported(export: &mut Export) {
    let exported: Vec<&str> = EXPORTABLE
        .into_iter()
        .filter(|n| export.env.iter().any(|(e, _)| e == n))
        .collect();
    let names = exported.join(",");
    export.state("exported_env", names);
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
                    how: "nothing (no role to assume)",
                    arn: String::new(),
                    account: String::new(),
                    session_name: None,
                    expiration: None,
                },
            })
        }
        Single::LeaveAsIs(Identify::Required) => {
            workflow::info("No role to assume and no keys: using the credentials the job already has, as they are.");
            let creds = ambient_credentials(plan).await.ok_or_else(|| {
                Error::ExistingCredentials("`role-to-assume` is not set, and no AWS credentials were found in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles or instance metadata)".into())
            })?;
            let session = as_they_are(plan, creds, "existing credentials").await?;
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
    let Some(creds) = ambient_credentials(plan).await else {
        workflow::info(
            "use-existing-credentials: no credentials in the environment; getting new ones.",
        );
        return None;
    };
    let client = sts_client(plan, Some(&creds), false);
    match sts::get_caller_identity(&client).await {
        Ok((account, arn)) => {
            learned_account(plan, &account);
            workflow::info(&format!("use-existing-credentials: the environment's credentials work ({arn}); keeping them."));
            Some(Identity {
                how: "existing credentials",
                arn,
                account,
                session_name: None,
                expiration: None,
            })
        }
        Err(f) => {
            workflow::info(&format!("use-existing-credentials: the environment's credentials do not work ({}); getting new ones.", f.short_reason()));
            None
        }
    }
}

/// Credentials from the environment, the profile files and the instance
/// metadata service, as any AWS SDK would find them. Used where the reference
/// action uses them (`role-chaining`, `use-existing-credentials`, a role without
/// an OIDC token, no role at all), never when the job can request a token.
pub(crate) async fn ambient_credentials(plan: &Plan) -> Option<Credentials> {
    use aws_credential_types::provider::ProvideCredentials;
    let network = &plan.network;
    let provider_config = aws_config::provider_config::ProviderConfig::default().with_http_client(
        sts::http_client(network.sts_endpoint.as_ref(), &network.proxy),
    );
    let chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
        .configure(provider_config)
        .region(aws_config::Region::new(plan.region.as_str().to_owned()))
        .build()
        .await;
    match chain.provide_credentials().await {
        Ok(creds) => {
            let creds = Credentials {
                access_key_id: Secret::new(creds.access_key_id()),
                secret_access_key: Secret::new(creds.secret_access_key()),
                // An empty AWS_SESSION_TOKEN means none (long-term keys).
                session_token: creds
                    .session_token()
                    .filter(|t| !t.is_empty())
                    .map(Secret::new),
                expiration: None,
            };
            creds.secrets().for_each(workflow::add_mask);
            if let Err(problem) = creds.check_shape() {
                workflow::info(&format!(
                    "The environment's credentials are not usable: {problem}"
                ));
                return None;
            }
            Some(creds)
        }
        Err(err) => {
            // Only the kind: a provider's error can quote what it read (an ECS
            // endpoint's malformed answer), which would be credentials.
            use aws_credential_types::provider::error::CredentialsError as E;
            let kind = match err {
                E::CredentialsNotLoaded(_) => "none configured",
                E::ProviderTimedOut(_) => "the provider timed out",
                E::InvalidConfiguration(_) => "invalid configuration",
                E::ProviderError(_) => "the provider failed",
                _ => "unhandled error",
            };
            tracing::debug!("no ambient credentials: {kind}");
            None
        }
    }
}

pub(crate) fn sts_client(
    plan: &Plan,
    signer: Option<&Credentials>,
    fresh: bool,
) -> aws_sdk_sts::Client {
    sts::client(ClientSettings {
        region: &plan.region,
        endpoint: plan.network.sts_endpoint.as_ref(),
        variant: plan.network.endpoint_variant,
        proxy: &plan.network.proxy,
        retry: crate::retry::StsSchedule::new(
            plan.network.retry.max_attempts,
            plan.network.action_timeout,
        ),
        credentials: signer.map(|c| SharedCredentialsProvider::new(c.to_sdk())),
        fresh_credentials: fresh,
    })
}

/// Credentials together with who they are.
pub(crate) struct Session {
    pub(crate) credentials: Credentials,
    pub(crate) identity: Identity,
}

impl From<Session> for Obtained {
    fn from(s: Session) -> Self {
        Obtained {
            credentials: Some(s.credentials),
            identity: s.identity,
        }
    }
}

/// Where a chain starts: the credentials that sign the first hop.
struct Start {
    signer: Credentials,
    /// Issued moments ago (see `ClientSettings::fresh_credentials`).
    fresh: bool,
    /// The session the source itself produced (a web identity), if any.
    session: Option<Session>,
    /// How the identity was obtained, when a hop follows / when none does.
    hop_how: &'static str,
    lone_how: &'static str,
}

/// The source's credentials, then one `AssumeRole` per hop, each signed by the
/// credentials before it. With no hops, keys and ambient credentials are
/// delivered as they are (after `GetCallerIdentity` says whose they are).
async fn run_chain(plan: &Plan, chain: &Chain) -> Result<Obtained, Error> {
    let Start {
        mut signer,
        mut fresh,
        mut session,
        hop_how,
        lone_how,
    } = start(plan, &chain.source, chain.hops.is_empty()).await?;
    for hop in &chain.hops {
        let next = assume_role(plan, hop, &signer, fresh, hop_how).await?;
        signer = next.credentials.clone();
        fresh = true;
        session = Some(next);
    }
    let session = match session {
        Some(session) => session,
        None => as_they_are(plan, signer, lone_how).await?,
    };
    Ok(session.into())
}

async fn start(plan: &Plan, source: &CredentialSource, lone: bool) -> Result<Start, Error> {
    Ok(match source {
        CredentialSource::WebIdentity(web) => {
            let session = web_identity(plan, web).await?;
            Start {
                signer: session.credentials.clone(),
                fresh: true,
                session: Some(session),
                hop_how: "role chaining",
                lone_how: "",
            }
        }
        CredentialSource::Keys(keys) => {
            workflow::info(if lone {
                "Exporting the access keys given as inputs"
            } else {
                "Assuming the role with the access keys given as inputs"
            });
            Start {
                signer: keys.clone(),
                // A session's keys may have been issued moments ago.
                fresh: keys.session_token.is_some(),
                session: None,
                hop_how: "access keys → AssumeRole",
                lone_how: "access keys",
            }
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
            let signer = ambient_credentials(plan).await.ok_or_else(|| match reason {
                AmbientReason::NoOidcToken { under_act } => Error::NoIdToken {
                    under_act: *under_act,
                },
                AmbientReason::RoleChaining => Error::ExistingCredentials("no AWS credentials were found in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles or instance metadata)".into()),
            })?;
            Start {
                signer,
                fresh: true,
                session: None,
                hop_how: match reason {
                    AmbientReason::RoleChaining => "role chaining",
                    AmbientReason::NoOidcToken { .. } => "existing credentials → AssumeRole",
                },
                lone_how: "existing credentials",
            }
        }
    })
}

/// Credentials delivered unchanged; `GetCallerIdentity` checks them and says whose they are.
async fn as_they_are(
    plan: &Plan,
    credentials: Credentials,
    how: &'static str,
) -> Result<Session, Error> {
    let client = sts_client(plan, Some(&credentials), false);
    let (account, arn) = sts::get_caller_identity(&client)
        .await
        .map_err(|f| sts_error(f, plan, None, None, false))?;
    learned_account(plan, &account);
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

async fn web_identity(plan: &Plan, web: &WebIdentity) -> Result<Session, Error> {
    let token = fetch_token(plan, &web.token).await?;
    let client = sts_client(plan, None, false);
    exchange(plan, &client, &web.role, &web.session, &token).await
}

/// A web identity token, masked, with what is known about it.
pub(crate) struct Token {
    secret: Secret,
    /// The audience requested, when this action requested the token.
    audience: Option<String>,
    claims: Option<Claims>,
    how: &'static str,
    /// Where it came from, so that a fresh one can be fetched the same way.
    source: TokenSource,
    /// When it is due for replacement (src/retry.rs token_refresh_in()).
    refresh_at: Option<Instant>,
}

/// Requests the token, or reads it from its file; masks it at once.
pub(crate) async fn fetch_token(plan: &Plan, source: &TokenSource) -> Result<Token, Error> {
    let (token, audience, how) = match source {
        TokenSource::Request {
            url,
            bearer,
            audience,
        } => {
            workflow::info(&format!("Requesting an OIDC token for audience {audience}"));
            let network = &plan.network;
            let token =
                crate::oidc::request_token(url, bearer, network.retry.max_attempts, &network.proxy)
                    .await
                    .map_err(|e| match (e, loopback_proxy_in_container(plan)) {
                        // The token request goes through the same proxy: say why it failed.
                        (Error::TokenRequest { detail, attempts }, true) => Error::TokenRequest {
                            detail: format!("{detail} (the proxy points at localhost, which inside this container is not the runner: see the warning above)"),
                            attempts,
                        },
                        (e, _) => e,
                    })?;
            (token, Some(audience.clone()), "OIDC")
        }
        TokenSource::File(path) => (
            crate::token_file::read(path, plan.runner.workspace.as_deref())?,
            None,
            "web identity token file",
        ),
    };
    workflow::add_mask(&token);
    let claims = jwt::decode_claims(token.expose());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let refresh_at = crate::retry::token_refresh_in(now, claims.as_ref().and_then(|c| c.exp))
        .map(|d| Instant::now() + d);
    Ok(Token {
        claims,
        secret: token,
        audience,
        how,
        source: source.clone(),
        refresh_at,
    })
}

/// `AssumeRoleWithWebIdentity` with the token; a refusal is explained with
/// the token's claims.
pub(crate) async fn exchange(
    plan: &Plan,
    client: &aws_sdk_sts::Client,
    role: &RoleArn,
    session: &SessionOptions,
    token: &Token,
) -> Result<Session, Error> {
    workflow::info(&format!(
        "Assuming {role} with AssumeRoleWithWebIdentity (session {}, {} s)",
        session.name, session.duration_seconds
    ));
    let mut attempts = 0;
    let mut fresh: Option<Token> = None;
    let mut renewal = Renewal {
        budget_ends: Instant::now() + crate::retry::throttle_budget(plan.network.action_timeout),
        left: crate::retry::MAX_TOKEN_REFRESHES,
    };
    loop {
        attempts += 1;
        let token = fresh.as_ref().unwrap_or(token);
        let assumed = match renewal.call(plan, client, role, session, token).await {
            Ok(FreshOrAssumed::Assumed(assumed)) => assumed,
            Ok(FreshOrAssumed::Fresh(new)) => {
                fresh = Some(*new);
                continue;
            }
            Err(f) => {
                let claims = token
                    .claims
                    .as_ref()
                    .map(|c| (c, token.audience.as_deref()));
                return Err(sts_error(f, plan, Some((session, false)), claims, false));
            }
        };
        if let Some(done) = accept(plan, session, assumed, attempts, token.how) {
            return Ok(done);
        }
    }
}

enum FreshOrAssumed {
    Assumed(Assumed),
    /// The call was throttled until its token was due for replacement: this
    /// is a fresh one to call again with.
    Fresh(Box<Token>),
}

/// Keeps a long throttling storm from outliving the web identity token: the
/// throttling budget counts from the first call, and at most
/// `retry::MAX_TOKEN_REFRESHES` fresh tokens are fetched.
struct Renewal {
    budget_ends: Instant,
    left: u32,
}

impl Renewal {
    /// One `AssumeRoleWithWebIdentity`, whose throttling retries stop when the
    /// token is due for replacement; then a fresh token is fetched the same way
    /// it was (a GitHub token lives as long as the throttling budget, and the
    /// reference's retries end in ExpiredTokenException).
    async fn call(
        &mut self,
        plan: &Plan,
        client: &aws_sdk_sts::Client,
        role: &RoleArn,
        session: &SessionOptions,
        token: &Token,
    ) -> Result<FreshOrAssumed, Box<StsFailure>> {
        let stop = token
            .refresh_at
            .map(|at| crate::retry::StopRetryingAt::new(at.min(self.budget_ends)));
        let result = sts::assume_role_with_web_identity_until(
            client,
            role,
            session,
            &token.secret,
            stop.as_ref(),
        )
        .await;
        let refresh = stop.is_some_and(|s| s.reached())
            && token.refresh_at.is_some_and(|at| at < self.budget_ends)
            && Instant::now() < self.budget_ends;
        match result {
            Err(f) if f.code == Some(StsCode::Throttling) && refresh && self.left > 0 => {
                self.left -= 1;
                workflow::info(
                    "STS is still throttling and the token is due for replacement: fetching a fresh one.",
                );
                match fetch_token(plan, &token.source).await {
                    Ok(fresh) => Ok(FreshOrAssumed::Fresh(Box::new(fresh))),
                    // The throttling is what the user needs to read about.
                    Err(_) => Err(f),
                }
            }
            Err(f) => Err(f),
            Ok(assumed) => Ok(FreshOrAssumed::Assumed(assumed)),
        }
    }
}

/// The proxy points at localhost while this runs as a container action.
fn loopback_proxy_in_container(plan: &Plan) -> bool {
    let proxy = &plan.network.proxy;
    plan.network.container_loopback.is_some()
        && [&proxy.https, &proxy.http]
            .into_iter()
            .flatten()
            .any(crate::inputs::network::is_loopback)
}

pub(crate) async fn assume_role(
    plan: &Plan,
    hop: &RoleHop,
    signer: &Credentials,
    chained: bool,
    how: &'static str,
) -> Result<Session, Error> {
    let client = sts_client(plan, Some(signer), chained);
    let session = &hop.session;
    let tags_sent = hop.tags.is_some();
    let fail = |f| sts_error(f, plan, Some((session, tags_sent)), None, chained);
    let arn = match &hop.target {
        RoleTarget::Arn(arn) => arn.clone(),
        RoleTarget::Name(name) => {
            // The caller's own ARN gives both the account and the partition
            // (aws, aws-cn, aws-us-gov, …), so China and GovCloud work too.
            let (account, caller) = sts::get_caller_identity(&client).await.map_err(fail)?;
            learned_account(plan, &account);
            sts::role_in_callers_account(name, &account, &caller).map_err(fail)?
        }
    };
    workflow::info(&format!(
        "Assuming {arn} with AssumeRole (session {}, {} s)",
        session.name, session.duration_seconds
    ));
    let mut tags = hop.tags.clone();
    if let Some(t) = &tags {
        let keys: Vec<&str> = t.iter().map(|t| t.key.as_str()).collect();
        workflow::info(&format!("Session tags: {}", keys.join(", ")));
    }
    let mut dropped_optional = false;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let params = AssumeRoleParams {
            role_arn: &arn,
            session,
            external_id: hop.external_id.as_deref(),
            tags: tags.as_deref(),
            transitive_tag_keys: &hop.transitive_tag_keys,
        };
        match sts::assume_role(&client, &params).await {
            Ok(assumed) => {
                if let Some(done) = accept(plan, session, assumed, attempts, how) {
                    return Ok(done);
                }
            }
            Err(f)
                if f.code == Some(StsCode::PackedPolicyTooLarge)
                    && !dropped_optional
                    && tags.as_ref().is_some_and(|t| t.iter().any(|t| t.optional)) =>
            {
                dropped_optional = true;
                let kept = tags::without_optional(tags.as_deref().unwrap_or_default());
                let keys: Vec<&str> = kept.iter().map(|t| t.key.as_str()).collect();
                workflow::info(&format!(
                    "STS says the session tags are too large; retrying once with only: {}",
                    keys.join(", ")
                ));
                tags = Some(kept);
            }
            Err(f) => return Err(fail(f)),
        }
    }
}

/// How many times `special-characters-workaround` asks for new credentials.
pub const SPECIAL_CHARACTERS_ATTEMPTS: u32 = 10;

/// Accepts the credentials, or returns `None` to ask again when
/// `special-characters-workaround` wants a secret of letters and digits only.
fn accept(
    plan: &Plan,
    session: &SessionOptions,
    assumed: Assumed,
    attempts: u32,
    how: &'static str,
) -> Option<Session> {
    assumed.credentials.secrets().for_each(workflow::add_mask);
    if plan.special_characters_workaround
        && attempts < SPECIAL_CHARACTERS_ATTEMPTS
        && !assumed
            .credentials
            .secret_access_key
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
    {
        workflow::info("special-characters-workaround: the secret key has special characters; asking for new credentials");
        return None;
    }
    let account = assumed
        .account_id()
        .map(|a| a.to_string())
        .unwrap_or_default();
    learned_account(plan, &account);
    let identity = Identity {
        how,
        arn: assumed.assumed_role_arn.clone(),
        account,
        session_name: Some(session.name.to_string()),
        expiration: assumed.credentials.expiration.clone(),
    };
    Some(Session {
        credentials: assumed.credentials,
        identity,
    })
}

/// What STS said, explained with what was sent: `session` is the session
/// asked for and whether tags were sent with it.
fn sts_error(
    failure: Box<StsFailure>,
    plan: &Plan,
    session: Option<(&SessionOptions, bool)>,
    claims: Option<(&Claims, Option<&str>)>,
    chained: bool,
) -> Error {
    // Never the user name or password of `sts-endpoint`.
    let endpoint = plan
        .network
        .sts_endpoint
        .as_ref()
        .map(crate::mask::shown_url);
    let endpoint = endpoint.as_deref();
    let ctx = Context {
        claims: claims.map(|(c, _)| c),
        audience: claims.and_then(|(_, a)| a),
        duration_seconds: session.map_or(0, |(s, _)| s.duration_seconds),
        tags_sent: failure.operation == StsOperation::AssumeRole
            && session.is_some_and(|(_, tags)| tags),
        chained,
        inline_policy: session.is_some_and(|(s, _)| s.inline_policy.is_some()),
        endpoint,
        region: plan.region.as_str(),
    };
    let (cause, mut fix) = explain::explain(&failure, &ctx);
    if let (None, Some(note)) = (&failure.code, &plan.network.container_loopback) {
        fix = format!("{note}\n\n{fix}");
    }
    Error::Sts {
        failure,
        cause,
        fix,
    }
}
