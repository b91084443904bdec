//! One run of the action: from a validated [`Plan`] to exported credentials.
//!
//! The order is what makes it safe: secrets are masked the moment they are
//! known; every network call and check (including `allowed-account-ids`)
//! happens before anything is written; the env, output and state files are
//! written in one go at the very end.

use crate::error::{Error, StsFailure};
use crate::explain::{self, Context};
use crate::inputs::{Plan, RoleRequest, RoleTarget, Source};
use crate::jwt::{self, Claims};
use crate::profile;
use crate::secret::{Credentials, Secret};
use crate::sts::{self, AssumeRoleParams, Assumed, ClientSettings};
use crate::tags;
use crate::workflow::{self, Export};
use aws_credential_types::provider::SharedCredentialsProvider;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
    credentials: Option<Credentials>,
    identity: Identity,
}

pub async fn run(plan: &Plan, env: &HashMap<String, String>) -> Result<Identity, Error> {
    // Input secrets first: nothing below may print them, but the runner should know them.
    if let Source::Keys(keys) = &plan.source {
        keys.secrets().for_each(workflow::add_mask);
    }
    if let Source::Oidc { request_token, .. } = &plan.source {
        workflow::add_mask(request_token);
    }

    let obtained = match existing_credentials(plan).await? {
        Some(identity) => Obtained {
            credentials: None,
            identity,
        },
        None => obtain(plan, env).await?,
    };
    let Obtained {
        credentials,
        identity,
    } = obtained;

    if plan.mask_account_id {
        workflow::add_mask_plain(&identity.account);
        workflow::add_mask_plain(&identity.arn);
    }
    if !plan.allowed_account_ids.is_empty() && !plan.allowed_account_ids.contains(&identity.account)
    {
        return Err(Error::AccountNotAllowed {
            account: identity.account.clone(),
            allowed: plan.allowed_account_ids.clone(),
        });
    }

    let mut export = Export::default();
    let mut profile_written = None;
    if let Some(creds) = &credentials {
        if plan.unset_current_credentials {
            for name in [
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            ] {
                export.env(name, "");
            }
        }
        if let Some(request) = &plan.profile {
            let dir = profile::profile_dir(env)?;
            let written = profile::write_profile(
                &dir,
                &request.name,
                &plan.region,
                creds,
                request.overwrite,
            )?;
            export.env(
                "AWS_CONFIG_FILE",
                written.config_for_later.to_string_lossy(),
            );
            export.env(
                "AWS_SHARED_CREDENTIALS_FILE",
                written.credentials_for_later.to_string_lossy(),
            );
            export.env("AWS_PROFILE", request.name.as_str());
            let local: Vec<String> = written
                .files
                .iter()
                .map(|(p, _)| p.to_string_lossy().into_owned())
                .collect();
            export.state("profile_files", local.join("\n"));
            profile_written = Some(written);
        } else if plan.output_env_credentials {
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
    if plan.output_env_credentials || plan.profile.is_some() {
        export.env("AWS_REGION", plan.region.as_str());
        export.env("AWS_DEFAULT_REGION", plan.region.as_str());
    }
    export.output("aws-account-id", identity.account.as_str());
    export.output("authenticated-arn", identity.arn.as_str());
    export.state("exported", if credentials.is_some() { "1" } else { "0" });

    let state_file = env
        .get("GITHUB_STATE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    if let Err(err) = export.commit(&plan.env_file, &plan.output_file, state_file.as_deref()) {
        if let Some(written) = profile_written {
            written.roll_back();
        }
        return Err(err);
    }
    Ok(identity)
}

/// `use-existing-credentials`: keep what the environment already has when it works.
async fn existing_credentials(plan: &Plan) -> Result<Option<Identity>, Error> {
    if !plan.use_existing_credentials {
        return Ok(None);
    }
    let Some(provider) = ambient_provider(plan).await else {
        workflow::info(
            "use-existing-credentials: no credentials in the environment; getting new ones.",
        );
        return Ok(None);
    };
    let client = sts_client(plan, Some(provider), false);
    match sts::get_caller_identity(&client).await {
        Ok((account, arn)) => {
            workflow::info(&format!("use-existing-credentials: the environment's credentials work ({arn}); keeping them."));
            Ok(Some(Identity {
                how: "existing credentials",
                arn,
                account,
                session_name: None,
                expiration: None,
            }))
        }
        Err(f) => {
            workflow::info(&format!("use-existing-credentials: the environment's credentials do not work ({}); getting new ones.", if f.code.is_empty() { f.transport.clone().unwrap_or_default() } else { f.code.clone() }));
            Ok(None)
        }
    }
}

/// Credentials from the environment, the profile files and the instance
/// metadata service, as any AWS SDK would find them. Only used with
/// `role-chaining` or `use-existing-credentials`, never on the OIDC path.
async fn ambient_provider(plan: &Plan) -> Option<SharedCredentialsProvider> {
    use aws_credential_types::provider::ProvideCredentials;
    let provider_config = aws_config::provider_config::ProviderConfig::default()
        .with_http_client(crate::http::sdk_http_client());
    let chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
        .configure(provider_config)
        .region(aws_config::Region::new(plan.region.clone()))
        .build()
        .await;
    match chain.provide_credentials().await {
        Ok(creds) => {
            workflow::add_mask(&Secret::new(creds.access_key_id()));
            workflow::add_mask(&Secret::new(creds.secret_access_key()));
            if let Some(token) = creds.session_token() {
                workflow::add_mask(&Secret::new(token));
            }
            Some(SharedCredentialsProvider::new(creds))
        }
        Err(err) => {
            tracing::debug!("no ambient credentials: {err}");
            None
        }
    }
}

fn sts_client(
    plan: &Plan,
    credentials: Option<SharedCredentialsProvider>,
    fresh: bool,
) -> aws_sdk_sts::Client {
    sts::client(ClientSettings {
        region: &plan.region,
        endpoint: plan.endpoint.as_deref(),
        retry: crate::retry::StsSchedule::new(plan.retry.max_attempts, plan.action_timeout),
        credentials,
        fresh_credentials: fresh,
    })
}

async fn obtain(plan: &Plan, env: &HashMap<String, String>) -> Result<Obtained, Error> {
    match (&plan.source, &plan.role) {
        (Source::NoToken { under_act }, _) => Err(Error::NoIdToken { under_act: *under_act }),
        (Source::Oidc { request_url, request_token, audience }, Some(role)) => {
            workflow::info(&format!("Requesting an OIDC token for audience {audience}"));
            let token = crate::oidc::request_token(request_url, request_token, audience, plan.retry.max_attempts).await?;
            workflow::add_mask(&token);
            web_identity(plan, role, &token, Some(audience), "OIDC").await
        }
        (Source::TokenFile { path }, Some(role)) => {
            let token = read_token_file(path, env)?;
            workflow::add_mask(&token);
            web_identity(plan, role, &token, None, "web identity token file").await
        }
        (Source::Keys(keys), Some(role)) => {
            workflow::info("Assuming the role with the access keys given as inputs");
            let provider = SharedCredentialsProvider::new(keys.to_sdk());
            assume_role(plan, role, provider, keys.session_token.is_some(), "access keys → AssumeRole").await
        }
        (Source::Keys(keys), None) => {
            workflow::info("Exporting the access keys given as inputs");
            let client = sts_client(plan, Some(SharedCredentialsProvider::new(keys.to_sdk())), false);
            let (account, arn) = sts::get_caller_identity(&client).await.map_err(|f| sts_error(f, plan, None, None, false))?;
            Ok(Obtained { credentials: Some(keys.clone()), identity: Identity { how: "access keys", arn, account, session_name: None, expiration: None } })
        }
        (Source::Ambient, Some(role)) => {
            workflow::info("Role chaining: assuming the role with the credentials already in the environment");
            let provider = ambient_provider(plan).await.ok_or_else(|| Error::ExistingCredentials("no AWS credentials were found in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles or instance metadata)".into()))?;
            assume_role(plan, role, provider, true, "role chaining").await
        }
        (Source::Ambient, None) => Err(Error::ExistingCredentials("the environment's credentials did not work, and no `role-to-assume` or keys were given to get new ones".into())),
        (_, None) => Err(Error::Internal("web identity without a role".into())),
    }
}

/// Paths where Kubernetes (and EKS) project service-account tokens; those are
/// symlinks by design (`..data/token`), so they are the only links accepted.
const PROJECTED_TOKEN_DIRS: &[&str] = &["/var/run/secrets/", "/run/secrets/"];
const MAX_TOKEN_FILE: u64 = 16 * 1024;

fn read_token_file(path: &Path, env: &HashMap<String, String>) -> Result<Secret, Error> {
    let full = if path.is_absolute() {
        path.to_owned()
    } else {
        let workspace = env
            .get("GITHUB_WORKSPACE")
            .filter(|w| !w.is_empty())
            .ok_or_else(|| Error::TokenFile {
                path: path.to_owned(),
                problem: "is relative and GITHUB_WORKSPACE is not set".into(),
            })?;
        Path::new(workspace).join(path)
    };
    let fail = |problem: String| Error::TokenFile {
        path: full.clone(),
        problem,
    };
    let meta =
        std::fs::symlink_metadata(&full).map_err(|e| fail(format!("cannot be read: {e}")))?;
    if meta.file_type().is_symlink() {
        let projected = PROJECTED_TOKEN_DIRS.iter().any(|d| full.starts_with(d));
        if !projected {
            return Err(fail("is a symlink; only Kubernetes projected service-account tokens (under /var/run/secrets/) may be links".into()));
        }
    }
    let meta = std::fs::metadata(&full).map_err(|e| fail(format!("cannot be read: {e}")))?;
    if !meta.is_file() || meta.len() > MAX_TOKEN_FILE {
        return Err(fail(format!(
            "is not a regular file of at most {MAX_TOKEN_FILE} bytes"
        )));
    }
    let text = std::fs::read_to_string(&full).map_err(|e| fail(format!("cannot be read: {e}")))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(fail("is empty".into()));
    }
    Ok(Secret::new(token))
}

async fn web_identity(
    plan: &Plan,
    role: &RoleRequest,
    token: &Secret,
    audience: Option<&str>,
    how: &'static str,
) -> Result<Obtained, Error> {
    let RoleTarget::Arn(arn) = &role.target else {
        return Err(Error::Internal("bare role name with a web identity".into()));
    };
    workflow::info(&format!(
        "Assuming {arn} with AssumeRoleWithWebIdentity (session {}, {} s)",
        role.session_name, role.duration_seconds
    ));
    let client = sts_client(plan, None, false);
    let claims = jwt::decode_claims(token.expose());
    let mut attempts = 0;
    loop {
        attempts += 1;
        let assumed = sts::assume_role_with_web_identity(
            &client,
            arn,
            &role.session_name,
            role.duration_seconds,
            token,
            role.inline_policy.as_deref(),
            &role.managed_policies,
        )
        .await
        .map_err(|f| {
            sts_error(
                f,
                plan,
                Some(role),
                claims.as_ref().map(|c| (c, audience)),
                false,
            )
        })?;
        if let Some(done) = accept(plan, role, assumed, attempts, how) {
            return Ok(done);
        }
    }
}

async fn assume_role(
    plan: &Plan,
    role: &RoleRequest,
    provider: SharedCredentialsProvider,
    chained: bool,
    how: &'static str,
) -> Result<Obtained, Error> {
    let client = sts_client(plan, Some(provider), chained);
    let arn = match &role.target {
        RoleTarget::Arn(arn) => arn.clone(),
        RoleTarget::Name(name) => {
            // The caller's own ARN gives both the account and the partition
            // (aws, aws-cn, aws-us-gov, …), so China and GovCloud work too.
            let (account, caller) = sts::get_caller_identity(&client)
                .await
                .map_err(|f| sts_error(f, plan, Some(role), None, chained))?;
            let partition = caller.split(':').nth(1).unwrap_or("aws");
            format!("arn:{partition}:iam::{account}:role/{name}")
        }
    };
    workflow::info(&format!(
        "Assuming {arn} with AssumeRole (session {}, {} s)",
        role.session_name, role.duration_seconds
    ));
    let mut tags = role.tags.clone();
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
            session_name: &role.session_name,
            duration: role.duration_seconds,
            external_id: role.external_id.as_deref(),
            policy: role.inline_policy.as_deref(),
            policy_arns: &role.managed_policies,
            tags: tags.as_deref(),
            transitive_tag_keys: &role.transitive_tag_keys,
        };
        match sts::assume_role(&client, &params).await {
            Ok(assumed) => {
                if let Some(done) = accept(plan, role, assumed, attempts, how) {
                    return Ok(done);
                }
            }
            Err(f)
                if f.code.starts_with("PackedPolicyTooLarge")
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
            Err(f) => return Err(sts_error(f, plan, Some(role), None, chained)),
        }
    }
}

/// How many times `special-characters-workaround` asks for new credentials.
pub const SPECIAL_CHARACTERS_ATTEMPTS: u32 = 10;

/// Accepts the credentials, or returns `None` to ask again when
/// `special-characters-workaround` wants a secret of letters and digits only.
fn accept(
    plan: &Plan,
    role: &RoleRequest,
    assumed: Assumed,
    attempts: u32,
    how: &'static str,
) -> Option<Obtained> {
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
    let account = assumed.account_id().unwrap_or_default().to_owned();
    let identity = Identity {
        how,
        arn: assumed.assumed_role_arn.clone(),
        account,
        session_name: Some(role.session_name.clone()),
        expiration: assumed.credentials.expiration.clone(),
    };
    Some(Obtained {
        credentials: Some(assumed.credentials),
        identity,
    })
}

fn sts_error(
    failure: Box<StsFailure>,
    plan: &Plan,
    role: Option<&RoleRequest>,
    claims: Option<(&Claims, Option<&str>)>,
    chained: bool,
) -> Error {
    let ctx = Context {
        claims: claims.map(|(c, _)| c),
        audience: claims.and_then(|(_, a)| a),
        duration_seconds: role.map_or(0, |r| r.duration_seconds),
        tags_sent: failure.operation == "AssumeRole" && role.is_some_and(|r| r.tags.is_some()),
        chained,
        inline_policy: role.is_some_and(|r| r.inline_policy.is_some()),
        endpoint: plan.endpoint.as_deref(),
        region: &plan.region,
    };
    let (cause, fix) = explain::explain(&failure, &ctx);
    Error::Sts {
        failure,
        cause,
        fix,
    }
}
