//! The post step (`post-entrypoint` in action.yml), run when the job ends:
//! clears the variables the main step exported (their names are in its
//! GITHUB_STATE) and removes any profile files it wrote, or what
//! `refresh-credentials` left (helper, description, config, caches).
//! `AWS_SKIP_CLEANUP_STEP=true` turns it off, in any case (`TRUE`): action.yml's
//! `post-if` is the reference's `env.AWS_SKIP_CLEANUP_STEP != 'true'`, which
//! GitHub evaluates ignoring case; this check does the same where a runner
//! starts the post step regardless.

use crate::workflow::{self, Export};
use std::collections::HashMap;
use std::path::Path;

pub fn run(env: &HashMap<String, String>) -> Result<(), crate::error::Error> {
    if env
        .get("AWS_SKIP_CLEANUP_STEP")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        workflow::info("AWS_SKIP_CLEANUP_STEP is true: leaving the credentials in place.");
        return Ok(());
    }
    if crate::inputs::runner::under_act(env) && !env.keys().any(|k| k.starts_with("STATE_")) {
        workflow::info(&act_without_state(env));
        return Ok(());
    }
    if let Some(files) = env.get("STATE_profile_files") {
        crate::profile::remove_created(files);
    }
    // refresh-credentials: exactly the files the main step wrote (by
    // identity), the helper's caches, and the directory once it is empty.
    if let (Some(files), Some(dir)) = (env.get("STATE_refresh_files"), env.get("STATE_refresh_dir"))
    {
        let files: Vec<_> = files
            .lines()
            .filter_map(crate::refresh::install::InstalledFile::from_state_line)
            .collect();
        crate::refresh::install::remove(&files, Path::new(dir));
    }
    // Exactly the names the main step exported (recorded in GITHUB_STATE), and
    // only names this action can export: a job-level AWS_REGION, or keys the
    // main step left alone (profile mode, `output-env-credentials: false`),
    // stay as the job set them.
    let exported: Vec<&str> = env
        .get("STATE_exported_env")
        .map(|names| {
            names
                .split(',')
                .filter(|n| crate::workflow::EXPORTABLE.contains(n))
                .collect()
        })
        .unwrap_or_default();
    if exported.is_empty() {
        workflow::info("Nothing to clean up.");
        return Ok(());
    }
    let mut export = Export::default();
    for name in &exported {
        export.env(name, "");
    }
    if let Some(env_file) = env.get("GITHUB_ENV").filter(|v| !v.is_empty()) {
        let no_output: Option<&Path> = None;
        export.commit(Path::new(env_file), Path::new(env_file), no_output)?;
    }
    workflow::info(&format!(
        "Cleared what this action exported: {}.",
        exported.join(", ")
    ));
    Ok(())
}

/// act hands a Docker action's post step none of the main step's saved
/// state, so it cannot know what was exported or written: say so, and where
/// the files (if any) are and when they go, instead of "Nothing to clean up".
fn act_without_state(env: &HashMap<String, String>) -> String {
    let dir = env
        .get("GITHUB_ENV")
        .and_then(|f| Path::new(f).parent())
        .map(|d| d.join(crate::profile::DIR_NAME));
    let files = match dir {
        Some(dir) => format!(
            "profile and refresh files, if any, stay in {} until act removes the job's volume when the job ends (not with `act --reuse`)",
            dir.display()
        ),
        None => "profile and refresh files, if any, stay until act removes the job's volume when the job ends".to_owned(),
    };
    format!(
        "Cleaned nothing: act gives this post step none of the main step's saved state, so it cannot tell what was exported or written. Exported variables end with the job; {files}."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_act_without_state_it_says_what_it_cannot_clean_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let env_file = dir.path().join("envs.txt");
        std::fs::write(&env_file, "").unwrap();
        let env: HashMap<String, String> =
            [("ACT", "true"), ("GITHUB_ENV", env_file.to_str().unwrap())]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        let said = act_without_state(&env);
        assert!(
            said.starts_with("Cleaned nothing: act gives this post step none"),
            "{said}"
        );
        assert!(
            said.contains(&dir.path().join(".keyless-aws").display().to_string()),
            "{said}"
        );
        run(&env).unwrap();
        assert_eq!(std::fs::read_to_string(&env_file).unwrap(), "");
    }

    #[test]
    fn only_names_this_action_exports_are_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let env_file = dir.path().join("env");
        std::fs::write(&env_file, "").unwrap();
        let env: HashMap<String, String> = [
            ("GITHUB_ENV", env_file.to_str().unwrap()),
            // A state naming other variables (tampered or from a future version).
            (
                "STATE_exported_env",
                "PATH,AWS_REGION,LD_PRELOAD,AWS_CONFIG_FILE",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        run(&env).unwrap();
        let written = std::fs::read_to_string(&env_file).unwrap();
        let names: Vec<&str> = written
            .lines()
            .filter_map(|l| l.split_once("<<").map(|(n, _)| n))
            .collect();
        assert_eq!(names, ["AWS_REGION", "AWS_CONFIG_FILE"]);
    }
}
