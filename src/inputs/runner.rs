//! Facts about the runner, read once while planning: the file-command files,
//! the step summary, the workspace, the profile directory and who must own
//! the files later steps read. A missing fact fails the plan, before any
//! request is made.

use super::values::bad;
use crate::error::Error;
use crate::plan::{FileOwner, Runner};
use crate::profile::{ProfileDir, DIR_NAME};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// `HOME` of a container action; the runner mounts `$RUNNER_TEMP/_github_home` there.
const CONTAINER_HOME: &str = "/github/home";

fn get<'a>(env: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// Whether this process runs as a container action. The runner (and act)
/// start a container action with `HOME=/github/home`, which nothing else sets,
/// and `GITHUB_ACTIONS=true`; checking the environment rather than the file
/// system keeps the answer the same for the plan's tests.
pub fn in_container_action(env: &HashMap<String, String>) -> bool {
    get(env, "HOME") == Some(CONTAINER_HOME) && get(env, "GITHUB_ACTIONS") == Some("true")
}

pub fn runner(env: &HashMap<String, String>) -> Result<Runner, Error> {
    let required = |var: &'static str| -> Result<PathBuf, Error> {
        get(env, var).map(PathBuf::from).ok_or_else(|| {
            bad(
                "environment",
                format!("{var} is not set"),
                "Run this action as a step of a GitHub Actions job (the runner sets GITHUB_ENV and GITHUB_OUTPUT), or set both to writable files for a local run.",
            )
        })
    };
    let optional = |var: &str| get(env, var).map(PathBuf::from);
    let env_file = required("GITHUB_ENV")?;
    let output_file = required("GITHUB_OUTPUT")?;
    let state_file = optional("GITHUB_STATE");
    let step_summary = optional("GITHUB_STEP_SUMMARY");
    distinct_regular_files(&[
        ("GITHUB_ENV", Some(&env_file)),
        ("GITHUB_OUTPUT", Some(&output_file)),
        ("GITHUB_STATE", state_file.as_ref()),
    ])?;
    // The summary may be anything that takes writes (its failure is only a
    // warning), but never one of the files above: markdown in GITHUB_ENV would
    // be read as file commands.
    distinct_files(&[
        ("GITHUB_ENV", Some(&env_file)),
        ("GITHUB_OUTPUT", Some(&output_file)),
        ("GITHUB_STATE", state_file.as_ref()),
        ("GITHUB_STEP_SUMMARY", step_summary.as_ref()),
    ])?;
    let workspace = optional("GITHUB_WORKSPACE");
    let owner = owner_of(&env_file).or_else(|| workspace.as_deref().and_then(owner_of));
    Ok(Runner {
        env_file,
        output_file,
        state_file,
        step_summary,
        workspace,
        owner,
    })
}

/// The file-command files must be distinct regular files (links followed, as
/// the runner would): two names for one file would interleave and pad the
/// blocks on rollback, and a FIFO or device could block the step forever.
/// Checked before any request; the commit checks again on the opened files.
fn distinct_regular_files(files: &[(&str, Option<&PathBuf>)]) -> Result<(), Error> {
    for (var, path) in files {
        let Some(meta) = path.and_then(|p| std::fs::metadata(p).ok()) else {
            continue;
        };
        if !meta.is_file() {
            return Err(bad(
                "environment",
                format!("{var} is not a regular file"),
                "Point it at a regular, writable file (the runner creates one per step).",
            ));
        }
    }
    distinct_files(files)
}

/// Whether `summary` is the same file as GITHUB_ENV, GITHUB_OUTPUT or
/// GITHUB_STATE: then a failure is not summarised there (the plan refuses it).
pub fn aliases_a_runner_file(summary: &Path, env: &HashMap<String, String>) -> bool {
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    let Some(summary) = id(summary) else {
        return false;
    };
    ["GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STATE"]
        .iter()
        .filter_map(|var| get(env, var))
        .any(|p| id(Path::new(p)) == Some(summary))
}

fn distinct_files(files: &[(&str, Option<&PathBuf>)]) -> Result<(), Error> {
    let mut seen: Vec<((u64, u64), &str)> = Vec::new();
    for (var, path) in files {
        let Some(meta) = path.and_then(|p| std::fs::metadata(p).ok()) else {
            continue;
        };
        let id = (meta.dev(), meta.ino());
        if let Some((_, other)) = seen.iter().find(|(i, _)| *i == id) {
            return Err(bad(
                "environment",
                format!("{var} and {other} are the same file"),
                "Give each of GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STATE and GITHUB_STEP_SUMMARY its own file.",
            ));
        }
        seen.push((id, var));
    }
    Ok(())
}

/// The runner creates its file-command files as the user later steps run as,
/// so their owner is the owner files for later steps must have.
fn owner_of(path: &Path) -> Option<FileOwner> {
    let meta = std::fs::metadata(path).ok()?;
    Some(FileOwner {
        uid: meta.uid(),
        gid: meta.gid(),
    })
}

/// Decides the directory for profile files.
///
/// A container action's `HOME` (`/github/home`) is not the runner's `HOME`. The
/// runner mounts `$RUNNER_TEMP/_github_home` there, so a file written below
/// `/github/home` is visible to later steps at that host path. `action.yml`
/// passes the host's `runner.temp` as the hidden input `runner-temp`, with the
/// value `host:<path>` (the prefix keeps the runner from translating it into a
/// container path; `runs.env` cannot be used, it only sees the `inputs` context).
pub fn profile_dir(
    env: &HashMap<String, String>,
    runner_temp_input: Option<&str>,
) -> Result<ProfileDir, Error> {
    if under_act(env) {
        return act_profile_dir(env);
    }
    let in_container =
        get(env, "HOME") == Some(CONTAINER_HOME) && Path::new(CONTAINER_HOME).is_dir();
    if in_container {
        let host_temp = runner_temp_input
            .and_then(|v| v.strip_prefix("host:"))
            .filter(|p| p.starts_with('/'))
            .ok_or_else(|| Error::Profile {
                problem: "the runner's temp directory is unknown inside the container".into(),
                fix: "Use this action through its action.yml (its hidden input `runner-temp` passes host:${{ runner.temp }}).".into(),
                source: None,
            })?;
        return Ok(ProfileDir {
            local: Path::new(CONTAINER_HOME).join(DIR_NAME),
            for_later_steps: Path::new(host_temp).join("_github_home").join(DIR_NAME),
        });
    }
    let temp = get(env, "RUNNER_TEMP").ok_or_else(|| Error::Profile {
        problem: "RUNNER_TEMP is not set".into(),
        fix: "Run inside a GitHub Actions job, or set RUNNER_TEMP to a private directory.".into(),
        source: None,
    })?;
    let dir = Path::new(temp).join(DIR_NAME);
    Ok(ProfileDir {
        local: dir.clone(),
        for_later_steps: dir,
    })
}

/// Whether act runs this step: act sets `ACT=true` in every step's
/// environment (Docker actions included); the runner never does.
pub fn under_act(env: &HashMap<String, String>) -> bool {
    get(env, "ACT") == Some("true")
}

/// The profile directory under act.
///
/// act starts a Docker action with `HOME=/root` and `RUNNER_TEMP=/tmp` of the
/// action's own container (whatever the workflow sets), so files written
/// there die with that container. What act shares, at the same path, between
/// the job container (a job `container:` is that container), every Docker
/// action and their post steps is its `/var/run/act` volume, which holds the
/// file-command files: so the files go beside `GITHUB_ENV`, and the path this
/// process writes is the path later steps read. act removes the volume when
/// the job ends (unless `--reuse`), as the runner empties `RUNNER_TEMP`.
fn act_profile_dir(env: &HashMap<String, String>) -> Result<ProfileDir, Error> {
    let shared = get(env, "GITHUB_ENV")
        .map(Path::new)
        .and_then(Path::parent)
        .filter(|dir| dir.is_absolute() && dir.is_dir())
        .ok_or_else(|| Error::Profile {
            problem: format!(
                "under act, the directory of GITHUB_ENV ({}) is not in this container, so files for later steps have nowhere shared to go",
                get(env, "GITHUB_ENV").unwrap_or("unset")
            ),
            fix: "Run the job in a container image (`act -P ubuntu-latest=IMAGE`; act's `-self-hosted` mode hands a Docker action host paths it does not mount), or drop `aws-profile`, `roles` and `refresh-credentials` and use the exported keys.".into(),
            source: None,
        })?;
    let dir = shared.join(DIR_NAME);
    Ok(ProfileDir {
        local: dir.clone(),
        for_later_steps: dir,
    })
}

/// A relative `web-identity-token-file` is relative to the workspace; see
/// [`crate::token_file::resolve`] for what is refused.
pub fn token_file_path(path: &str, workspace: Option<&Path>) -> Result<PathBuf, Error> {
    crate::token_file::resolve(path, workspace)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_env::env;

    #[test]
    fn owner_comes_from_the_env_file() {
        let dir = tempfile::tempdir().unwrap();
        let env_file = dir.path().join("env");
        std::fs::write(&env_file, "").unwrap();
        let e = env(&[
            ("GITHUB_ENV", env_file.to_str().unwrap()),
            ("GITHUB_OUTPUT", "/o"),
        ]);
        let r = runner(&e).unwrap();
        let uid = std::fs::metadata(&env_file).unwrap().uid();
        assert_eq!(r.owner.map(|o| o.uid), Some(uid));
        assert!(r.state_file.is_none() && r.step_summary.is_none());
        assert!(runner(&env(&[("GITHUB_ENV", "/e")])).is_err());
    }

    #[test]
    fn profile_dir_outside_a_container_is_under_runner_temp() {
        let d = profile_dir(&env(&[("RUNNER_TEMP", "/rt"), ("HOME", "/home/u")]), None).unwrap();
        assert_eq!(d.local, PathBuf::from("/rt/.keyless-aws"));
        assert_eq!(d.local, d.for_later_steps);
        assert!(profile_dir(&env(&[]), None).is_err());
    }

    #[test]
    fn under_act_profiles_go_beside_github_env_whatever_home_and_runner_temp_say() {
        let shared = tempfile::tempdir().unwrap();
        let env_file = shared.path().join("envs.txt");
        std::fs::write(&env_file, "").unwrap();
        let e = env(&[
            ("ACT", "true"),
            ("GITHUB_ENV", env_file.to_str().unwrap()),
            // What act gives a Docker action: its own container's /tmp and HOME.
            ("RUNNER_TEMP", "/tmp"),
            ("HOME", "/github/home"),
        ]);
        let d = profile_dir(&e, Some("host:/home/runner/work/_temp")).unwrap();
        assert_eq!(d.local, shared.path().join(DIR_NAME));
        assert_eq!(d.local, d.for_later_steps);
        // Without ACT=true the same environment is the runner's.
        let mut runner_env = e.clone();
        runner_env.remove("ACT");
        runner_env.insert("HOME".into(), "/root".into());
        assert_eq!(
            profile_dir(&runner_env, None).unwrap().local,
            PathBuf::from("/tmp/.keyless-aws")
        );
    }

    #[test]
    fn under_act_a_github_env_outside_this_container_is_refused_with_the_fix() {
        for e in [
            env(&[("ACT", "true"), ("GITHUB_ENV", "/nonexistent/act/envs.txt")]),
            env(&[("ACT", "true")]),
        ] {
            let Err(Error::Profile { problem, fix, .. }) = profile_dir(&e, None) else {
                panic!("not refused: {e:?}");
            };
            assert!(problem.contains("under act"), "{problem}");
            assert!(fix.contains("-self-hosted"), "{fix}");
        }
    }

    #[test]
    fn relative_token_files_need_the_workspace() {
        assert_eq!(
            token_file_path("t.jwt", Some(Path::new("/w"))).unwrap(),
            PathBuf::from("/w/t.jwt")
        );
        assert!(token_file_path("t.jwt", None).is_err());
        assert_eq!(
            token_file_path("/abs", None).unwrap(),
            PathBuf::from("/abs")
        );
    }
}
