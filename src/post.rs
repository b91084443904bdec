//! The post step (`post-entrypoint` in action.yml), run when the job ends:
//! clears the variables the main step exported and removes any profile files
//! it wrote. `AWS_SKIP_CLEANUP_STEP=true` turns it off.

use crate::workflow::{self, Export};
use std::collections::HashMap;
use std::path::Path;

pub fn run(env: &HashMap<String, String>) -> Result<(), crate::error::Error> {
    if env.get("AWS_SKIP_CLEANUP_STEP").map(String::as_str) == Some("true") {
        workflow::info("AWS_SKIP_CLEANUP_STEP is true: leaving the credentials in place.");
        return Ok(());
    }
    // The main step writes its state only when it exported something.
    if env.get("STATE_exported").map(String::as_str) != Some("1") {
        workflow::info("Nothing to clean up.");
        return Ok(());
    }
    if let Some(files) = env.get("STATE_profile_files") {
        crate::profile::remove_created(files);
    }
    let mut export = Export::default();
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        export.env(name, "");
    }
    if env.contains_key("STATE_profile_files") {
        for name in [
            "AWS_PROFILE",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
        ] {
            export.env(name, "");
        }
    }
    if let Some(env_file) = env.get("GITHUB_ENV").filter(|v| !v.is_empty()) {
        let no_output: Option<&Path> = None;
        export.commit(Path::new(env_file), Path::new(env_file), no_output)?;
    }
    workflow::info("Cleared the AWS credentials exported by this action.");
    Ok(())
}
