//! The one way the action hands credentials to later steps, for one
//! credential set and for `roles` alike: everything (variables, outputs, the
//! post step's state, profile files, refreshing profiles) is gathered in an
//! [`Outbox`], then written in one go; the files already written are removed
//! again if the runner's files cannot be.

use crate::error::Error;
use crate::plan::{Plan, ProfileDir};
use crate::profile;
use crate::refresh::cache::ProcessOutput;
use crate::refresh::install::{self, CommandStyle, InstalledFile, ProfilesRequest, RefreshProfile};
use crate::secret::{Credentials, Secret};
use crate::workflow::{self, Export};
use std::path::{Path, PathBuf};

/// Where the action's image keeps its CA bundle (the Dockerfile copies it there).
const DEFAULT_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What a run leaves later steps, before it is written.
#[derive(Default)]
pub struct Outbox {
    pub export: Export,
    /// Profile files written so far (to put back if the export fails).
    profiles: Option<profile::Written>,
    /// Refreshing profiles installed so far (to remove if the export fails).
    refreshing: Option<(Vec<InstalledFile>, PathBuf)>,
}

impl Outbox {
    /// Blank key variables: clears keys left by earlier steps.
    pub fn clear_job_keys(&mut self) {
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ] {
            self.export.env(name, "");
        }
    }

    /// The keys as the job's variables. An empty session token clears a
    /// token left by an earlier step, which would otherwise be sent with keys
    /// it does not belong to.
    pub fn keys_env(&mut self, creds: &Credentials) {
        let export = &mut self.export;
        export.env("AWS_ACCESS_KEY_ID", creds.access_key_id.expose());
        export.env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.expose());
        export.env(
            "AWS_SESSION_TOKEN",
            creds
                .session_token
                .as_ref()
                .map(Secret::expose)
                .unwrap_or(""),
        );
    }

    /// `output-credentials`: the keys as step outputs.
    pub fn keys_outputs(&mut self, creds: &Credentials) {
        let export = &mut self.export;
        export.output("aws-access-key-id", creds.access_key_id.expose());
        export.output("aws-secret-access-key", creds.secret_access_key.expose());
        if let Some(token) = &creds.session_token {
            export.output("aws-session-token", token.expose());
        }
        if let Some(exp) = &creds.expiration {
            export.output("aws-expiration", exp.as_str());
        }
    }

    /// `aws-account-id` and `authenticated-arn`.
    pub fn identity_outputs(&mut self, account: &str, arn: &str) {
        self.export.output("aws-account-id", account);
        self.export.output("authenticated-arn", arn);
    }

    /// Profile files written: the variables that find them, and the post
    /// step's record of them.
    pub fn profile_files(&mut self, written: profile::Written) {
        self.export.env(
            "AWS_CONFIG_FILE",
            written.config_for_later.to_string_lossy(),
        );
        self.export.env(
            "AWS_SHARED_CREDENTIALS_FILE",
            written.credentials_for_later.to_string_lossy(),
        );
        self.export.state("profile_files", written.state_value());
        self.profiles = Some(written);
    }

    /// `refresh-credentials`: the helper, one description and cache per
    /// profile (seeded with the credentials just obtained, so the first SDK
    /// call in a later step does not call STS again) and one config file,
    /// and the post step's record. Returns `AWS_CONFIG_FILE` as later steps
    /// see it; the caller exports it with what else its mode needs.
    pub fn refreshing_profiles(
        &mut self,
        plan: &Plan,
        dir: &ProfileDir,
        profiles: &[RefreshProfile<'_>],
    ) -> Result<String, Error> {
        // The image's bundle (what this process trusts): later containers may have none.
        let ca_bundle = Some(Path::new(DEFAULT_CA_BUNDLE)).filter(|p| p.is_file());
        let installed = install::install_profiles(&ProfilesRequest {
            dir,
            owner: plan.runner.owner,
            profiles,
            binary: Path::new("/proc/self/exe"),
            ca_bundle,
            style: CommandStyle::BesideConfigFile,
        })
        .map_err(|e| Error::Profile {
            problem: format!("refresh-credentials: {}", e.problem),
            fix: e.fix,
            source: None,
        })?;
        let lines: Vec<String> = installed
            .files
            .iter()
            .map(InstalledFile::to_state_line)
            .collect();
        self.export.state("refresh_files", lines.join("\n"));
        self.export
            .state("refresh_dir", dir.local.to_string_lossy());
        self.refreshing = Some((installed.files, dir.local.clone()));
        Ok(installed.config_for_later)
    }

    /// Records what was exported for the post step, then writes the runner's
    /// files in one go; on failure, the profile files written are put back
    /// and the refreshing profiles removed.
    pub async fn commit(mut self, plan: &Plan) -> Result<(), Error> {
        self.export.record_exported();
        let committed = self.export.commit_to_runner(&plan.runner).await;
        if committed.is_err() {
            if let Some(written) = self.profiles {
                written.roll_back();
            }
            if let Some((files, dir)) = self.refreshing {
                install::remove(&files, &dir);
            }
        }
        committed
    }
}

/// A refreshing profile's seed: the credentials just obtained, in the
/// helper's cache format.
pub fn seed(creds: &Credentials) -> Option<ProcessOutput> {
    ProcessOutput::from_credentials(creds)
}

/// Says where later steps find the refreshing profiles.
pub fn announce_refreshing(names: &[&str], dir: &ProfileDir) {
    let shown = dir.for_later_steps.display();
    workflow::info(&match names {
        [one] => format!("refresh-credentials: later steps use profile {one} ({shown}); it refreshes itself with a new OIDC token"),
        several => format!("refresh-credentials: later steps use profiles {} ({shown}); each refreshes itself with a new OIDC token", several.join(", ")),
    });
}
