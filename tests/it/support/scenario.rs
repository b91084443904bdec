//! The binary run the way the runner runs a step: an environment built from scratch,
//! the runner files in a temp dir, every input action.yml declares with its default
//! (as the runner passes them), then the test's inputs.
//!
//! ```ignore
//! let out = Scenario::new().input("aws-region", "eu-west-1").oidc(&sts.uri()).run();
//! out.assert_failed_cleanly();
//! ```

use super::process::try_run;
use super::stand_in::StsStandIn;
use super::{bin, file_commands_map, REQUEST_TOKEN, ROLE};
use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub const ENV_BEFORE: &str = "EARLIER_STEP=kept\n";
pub const OUTPUT_BEFORE: &str = "earlier=kept\n";
/// No scenario may hang the suite.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A run of the binary, configured like a step. Runs as often as asked (`run` takes
/// `&self`); [`Scenario::reset_files`] puts the runner files back between runs.
pub struct Scenario {
    pub dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
    /// Variables that are not UTF-8 (what a runner cannot set, but a caller can).
    raw_env: Vec<(OsString, OsString)>,
    args: Vec<String>,
    limit: Duration,
    stand_in: Option<StsStandIn>,
    seeded: bool,
}

/// What one run printed and wrote.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    pub env_file: String,
    pub output_file: String,
    pub summary: String,
    pub state: String,
    pub elapsed: Duration,
    pub peak_rss_kib: u64,
    /// The requests the attached stand-in saw during this run.
    pub requests: Vec<wiremock::Request>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::new()
    }
}

impl Scenario {
    /// A step as the runner starts it: action.yml's input defaults, GITHUB_* files
    /// seeded with what an earlier step left ([`ENV_BEFORE`], [`OUTPUT_BEFORE`]).
    pub fn new() -> Self {
        let mut s = Self::bare();
        s.seed_files(ENV_BEFORE, OUTPUT_BEFORE);
        s.seeded = true;
        let temp = s.path("temp").to_string_lossy().into_owned();
        for (name, value) in super::manifest::input_defaults(&temp) {
            s = s.input(&name, &value);
        }
        s
    }

    /// No inputs at all and empty runner files: the binary's own defaults.
    pub fn bare() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for d in ["workspace", "temp", "home"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        let mut env = BTreeMap::new();
        let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
        env.insert("PATH".into(), "/usr/bin:/bin".into());
        env.insert("HOME".into(), p("home"));
        env.insert("GITHUB_ACTIONS".into(), "true".into());
        env.insert("GITHUB_ENV".into(), p("env"));
        env.insert("GITHUB_OUTPUT".into(), p("output"));
        env.insert("GITHUB_STEP_SUMMARY".into(), p("summary"));
        env.insert("GITHUB_STATE".into(), p("state"));
        env.insert("GITHUB_WORKSPACE".into(), p("workspace"));
        env.insert("RUNNER_TEMP".into(), p("temp"));
        // Never the instance metadata service (a link-local address, not this machine).
        env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
        let mut s = Scenario {
            dir,
            env,
            raw_env: Vec::new(),
            args: Vec::new(),
            limit: RUN_LIMIT,
            stand_in: None,
            seeded: false,
        };
        s.seed_files("", "");
        s
    }

    /// The usual OIDC step against `sts`: token and STS on the stand-in, [`ROLE`],
    /// eu-west-1.
    pub fn oidc_step(sts: &StsStandIn) -> Self {
        Scenario::new()
            .oidc(&sts.uri())
            .input("role-to-assume", ROLE)
            .input("aws-region", "eu-west-1")
            .stand_in(sts)
    }

    fn seed_files(&mut self, env: &str, output: &str) {
        for (name, content) in [
            ("env", env),
            ("output", output),
            ("summary", ""),
            ("state", ""),
        ] {
            std::fs::write(self.path(name), content).unwrap();
        }
    }

    /// Puts the runner files back as they were before the first run.
    pub fn reset_files(&mut self) {
        if self.seeded {
            self.seed_files(ENV_BEFORE, OUTPUT_BEFORE);
        } else {
            self.seed_files("", "");
        }
    }

    pub fn input(mut self, name: &str, value: &str) -> Self {
        self.env
            .insert(format!("INPUT_{}", name.to_uppercase()), value.into());
        self
    }

    pub fn remove_input(mut self, name: &str) -> Self {
        self.env.remove(&format!("INPUT_{}", name.to_uppercase()));
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    pub fn remove_env(mut self, name: &str) -> Self {
        self.env.remove(name);
        self
    }

    /// A variable given as bytes, e.g. a value that is not UTF-8.
    pub fn env_bytes(mut self, name: &[u8], value: &[u8]) -> Self {
        use std::os::unix::ffi::OsStrExt;
        self.raw_env.push((
            OsStr::from_bytes(name).to_owned(),
            OsStr::from_bytes(value).to_owned(),
        ));
        self
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Writes a file relative to the scenario directory (e.g. `workspace/token.jwt`).
    pub fn file(self, rel: &str, content: impl AsRef<[u8]>) -> Self {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    /// Kills the binary after `limit` (default [`RUN_LIMIT`]).
    pub fn limit(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    /// STS is this stand-in (`sts-endpoint`), and its requests go to `Outcome::requests`.
    pub fn stand_in(mut self, sts: &StsStandIn) -> Self {
        self.stand_in = Some(sts.clone());
        self.input("sts-endpoint", &sts.uri())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A file relative to the scenario directory, empty if it is missing.
    pub fn read(&self, rel: &str) -> String {
        String::from_utf8_lossy(&std::fs::read(self.path(rel)).unwrap_or_default()).into_owned()
    }

    pub fn input_value(&self, name: &str) -> Option<&str> {
        self.env
            .get(&format!("INPUT_{}", name.to_uppercase()))
            .map(String::as_str)
    }

    /// The OIDC variables the runner sets when the job has `id-token: write`.
    pub fn oidc(self, token_endpoint: &str) -> Self {
        self.env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            &format!("{token_endpoint}/_apis/token?api-version=2.0"),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
    }

    /// Runs the binary; panics if it does not finish within the limit.
    pub fn run(&self) -> Outcome {
        let out = self.run_bounded();
        assert!(
            !out.timed_out,
            "the binary did not finish within {:?}\nstdout:\n{}",
            self.limit, out.stdout
        );
        out
    }

    /// Runs the binary; a run past the limit is killed and reported in `timed_out`.
    pub fn run_bounded(&self) -> Outcome {
        let seen_before = self.stand_in.as_ref().map_or(0, |s| s.requests().len());
        let mut cmd = Command::new(bin());
        cmd.args(&self.args)
            .env_clear()
            .envs(&self.env)
            .envs(self.raw_env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.path("workspace"));
        let ran = try_run(&mut cmd, self.limit, Some(bin())).expect("the binary starts");
        let read = |n: &str| std::fs::read_to_string(self.path(n)).unwrap_or_default();
        let requests = self
            .stand_in
            .as_ref()
            .map(|s| s.requests().split_off(seen_before))
            .unwrap_or_default();
        Outcome {
            code: ran.status.and_then(|s| s.code()).unwrap_or(-1),
            timed_out: ran.timed_out,
            stdout: ran.stdout,
            stderr: ran.stderr,
            env_file: read("env"),
            output_file: read("output"),
            summary: read("summary"),
            state: read("state"),
            elapsed: ran.elapsed,
            peak_rss_kib: ran.peak_rss_kib,
            requests,
        }
    }
}

impl Outcome {
    /// stdout then stderr, for failure messages.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The entries appended to GITHUB_ENV by this run.
    pub fn exported_env(&self) -> BTreeMap<String, String> {
        file_commands_map(
            self.env_file
                .strip_prefix(ENV_BEFORE)
                .expect("earlier content kept"),
        )
    }

    /// The entries appended to GITHUB_OUTPUT by this run.
    pub fn outputs(&self) -> BTreeMap<String, String> {
        file_commands_map(
            self.output_file
                .strip_prefix(OUTPUT_BEFORE)
                .expect("earlier content kept"),
        )
    }

    /// The STS calls (POSTs) of this run, as form fields.
    pub fn sts_calls(&self) -> Vec<HashMap<String, String>> {
        self.requests
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .map(super::stand_in::form)
            .collect()
    }

    pub fn assert_success(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// A failed run: one annotation, and the runner files exactly as before.
    pub fn assert_failed_cleanly(&self) -> &Self {
        assert_ne!(self.code, 0, "expected failure; stdout:\n{}", self.stdout);
        assert_eq!(self.env_file, ENV_BEFORE, "GITHUB_ENV changed");
        assert_eq!(self.output_file, OUTPUT_BEFORE, "GITHUB_OUTPUT changed");
        assert_eq!(self.state, "", "GITHUB_STATE changed");
        assert_eq!(
            self.stdout
                .lines()
                .filter(|l| l.starts_with("::error "))
                .count(),
            1,
            "{}",
            self.stdout
        );
        self
    }

    pub fn error_line(&self) -> &str {
        self.stdout
            .lines()
            .find(|l| l.starts_with("::error "))
            .unwrap_or("")
    }

    /// Every secret has its `::add-mask::` line and appears nowhere else in
    /// stdout, stderr, the summary or the outputs (so no line can precede the mask).
    pub fn assert_masked_and_not_leaked(&self, secrets: &[&str]) {
        for secret in secrets {
            let mask = format!("::add-mask::{secret}");
            let mask_line = self
                .stdout
                .lines()
                .position(|l| l == mask)
                .unwrap_or_else(|| panic!("no mask for a secret\n{}", self.stdout));
            for (i, line) in self.stdout.lines().enumerate() {
                if i != mask_line {
                    assert!(
                        !line.contains(secret),
                        "secret printed on stdout line {i}: {line}"
                    );
                }
            }
            assert!(!self.stderr.contains(secret), "secret on stderr");
            assert!(!self.summary.contains(secret), "secret in step summary");
            assert!(!self.output_file.contains(secret), "secret in outputs");
        }
    }
}
