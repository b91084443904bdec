//! The README's act recipe, run exactly as written: the first ```sh block under
//! "## Test it locally with act" goes to bash unchanged, from the repository root.
//! If the README and the scripts drift apart, this fails.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HEADING: &str = "## Test it locally with act";

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The first ```sh block of the act section of README.md.
fn recipe() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = readme
        .split_once(&format!("\n{HEADING}\n"))
        .unwrap_or_else(|| panic!("README.md has no `{HEADING}` section"))
        .1;
    let section = section.split("\n## ").next().unwrap();
    let block = section
        .split_once("```sh\n")
        .expect("the act section has a ```sh block")
        .1;
    block
        .split_once("\n```")
        .expect("the ```sh block is closed")
        .0
        .to_owned()
}

/// Lines that are commands (not blank, not comments), comments stripped.
fn commands(block: &str) -> Vec<String> {
    block
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_recipe_is_at_most_three_commands() {
    let block = recipe();
    let commands = commands(&block);
    assert!(
        (1..=3).contains(&commands.len()),
        "the act recipe should be at most three commands: {commands:?}"
    );
    assert!(
        commands.iter().any(|c| c.contains("scripts/act-local.sh")),
        "{commands:?}"
    );
    // The section warns that real AWS will not take these tokens.
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = readme
        .split_once(HEADING)
        .unwrap()
        .1
        .split("\n## ")
        .next()
        .unwrap();
    assert!(
        section.contains("Real AWS rejects these tokens"),
        "{section}"
    );
    // Every script it names exists.
    for command in &commands {
        for word in command
            .split_whitespace()
            .filter(|w| w.starts_with("scripts/"))
        {
            assert!(repo_root().join(word).is_file(), "{word} does not exist");
        }
    }
}

/// Runs the block with bash and a hard time limit; returns (success, stdout+stderr).
fn run_recipe(block: &str, limit: Duration) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("recipe.sh");
    std::fs::write(&script, block).unwrap();
    let log = dir.path().join("recipe.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new("bash")
        .arg("-e")
        .arg(&script)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        // Its own process group, so a timeout can stop act, moto and the server too.
        .process_group(0)
        .spawn()
        .expect("bash");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            unsafe {
                libc::kill(-(child.id() as libc::pid_t), libc::SIGTERM);
            }
            std::thread::sleep(Duration::from_secs(5));
            unsafe {
                libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
            }
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    eprintln!("recipe ran for {:.1?}", started.elapsed());
    (status.is_some_and(|s| s.success()), text)
}

#[test]
#[ignore = "needs Docker, act, moto and a static busybox, and builds the release image (minutes): run by scripts/test.sh"]
fn the_readme_act_recipe_runs_green_as_written() {
    let block = recipe();
    eprintln!("running the README's act recipe:\n{block}");
    // The release build inside scripts/build-image.sh dominates on a cold target/.
    let (ok, log) = run_recipe(&block, Duration::from_secs(3600));
    assert!(ok, "the README's act recipe failed:\n{log}");
    for needle in [
        "Job succeeded",
        "| assumed arn:aws:sts::111122223333:assumed-role/act-deploy/GitHubActions in eu-west-1",
        "| secret key: ***",
        "Success - Post Get AWS credentials",
        "GET \"/token\" audience=\"sts.amazonaws.com\" -> 200",
        "act-local.sh: act run succeeded",
    ] {
        assert!(
            log.contains(needle),
            "the recipe's output lacks {needle:?}:\n{log}"
        );
    }
    // The request token the server printed is passed to act, never shown.
    for line in log.lines() {
        if let Some((_, rest)) = line.split_once("ACTIONS_ID_TOKEN_REQUEST_TOKEN=") {
            assert!(
                rest.chars().take_while(char::is_ascii_hexdigit).count() < 32,
                "a request token is in the output: {line}"
            );
        }
    }
}
