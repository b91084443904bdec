//! keyless-aws: a GitHub Action that turns a workflow's OIDC token into
//! short-lived, masked AWS credentials.
//!
//! `main` only wires things together: read the environment, validate it into a
//! plan (no network), run the plan under a deadline and signal handlers, report.

use keyless_aws::error::Error;
use keyless_aws::{cli, inputs, mask, post, redact, report, run, workflow};
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    disable_sdk_body_logging();
    // No arguments: the action (the runner starts the entrypoint bare); as
    // `keyless-aws-post` or with `post`: the post step; else a subcommand.
    match cli::dispatch(std::env::args_os().collect()) {
        cli::Invocation::Action => action(),
        cli::Invocation::PostStep => post_step(),
        cli::Invocation::Exit(code) => code,
    }
}

/// The environment as text: other variables that are not UTF-8 are skipped,
/// an input that is not is an error (it must not be dropped as if unset).
fn environment() -> Result<HashMap<String, String>, ExitCode> {
    inputs::raw::environment(std::env::vars_os()).map_err(|err| {
        let summary = std::env::var("GITHUB_STEP_SUMMARY").ok();
        fail(
            &err,
            summary.as_deref().filter(|p| !p.is_empty()).map(Path::new),
        )
    })
}

/// The AWS SDK's own switches that print request and answer bodies (STS
/// answers hold the new credentials; requests hold the web identity token).
/// The SDK reads them from the process environment, so they are removed before
/// any SDK code runs, whatever the job sets.
const SDK_BODY_LOGGING: &[&str] = &["LOG_SIGNABLE_BODY", "LOG_SENSITIVE_BODIES"];

fn disable_sdk_body_logging() {
    for name in SDK_BODY_LOGGING {
        // Runs first in `main`, before any other thread exists.
        std::env::remove_var(name);
    }
}

/// Other crates (the SDK, its HTTP stack, the credential providers) log at
/// most warnings, whatever `RUST_LOG` asks: at info and below they print
/// credentials they have just loaded (an ECS provider's access key id) and
/// bodies, before this action could mask them. Only this crate's own debug
/// output, which never formats a secret, follows `RUST_LOG` fully.
fn logged(meta: &tracing::Metadata<'_>) -> bool {
    meta.target().starts_with("keyless_aws") || *meta.level() <= tracing::Level::WARN
}

fn init_logging(env: &HashMap<String, String>) {
    let debug = env
        .get("ACTIONS_STEP_DEBUG")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || env.get("RUNNER_DEBUG").map(String::as_str) == Some("1");
    use tracing_subscriber::filter::Targets;
    let directives = match env.get("RUST_LOG").filter(|v| !v.is_empty()) {
        Some(directives) => directives.as_str(),
        None if debug => "keyless_aws=debug,aws_config=info",
        None => "off",
    };
    let filter: Targets = directives.parse().unwrap_or_else(|_| Targets::new());
    use tracing_subscriber::filter::FilterExt;
    use tracing_subscriber::layer::{Layer, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_target(true)
        .with_writer(redact::RedactingWriter::default)
        .with_filter(filter.and(tracing_subscriber::filter::filter_fn(logged)));
    tracing_subscriber::registry().with(fmt).init();
}

fn install_panic_hook() {
    // The default hook prints the panic payload, which could hold anything; say
    // only where it happened. Nothing has been exported at that point.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        workflow::error("Internal error", &format!("the action stopped unexpectedly at {place}; nothing was exported. Please report this."));
    }));
}

fn runtime() -> tokio::runtime::Runtime {
    // Two HTTP round trips do not need a thread pool.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn action() -> ExitCode {
    install_panic_hook();
    let env = match environment() {
        Ok(env) => env,
        Err(code) => return code,
    };
    // Before the first line of output, whatever fails after.
    mask::accounts_in_inputs(&env);
    init_logging(&env);
    let plan = match inputs::raw::RawInputs::from_env(&env)
        .and_then(|raw| inputs::build::plan(&raw, &env).inspect_err(|_| mask::before_plan(&raw)))
    {
        Ok(plan) => plan,
        Err(err) => return fail(&err, summary_without_plan(&env)),
    };
    // Before the plan can reach a debug log, and before any request.
    mask::plan(&plan);
    // Before anything can fail: an ignored input is reported on every path.
    report::warnings(&plan.warnings);
    tracing::debug!(?plan, "plan");
    let _ = rustls::crypto::ring::default_provider().install_default();
    keyless_aws::ca::install(&plan.network.extra_cas);
    let summary = plan.runner.step_summary.as_deref();

    let result = runtime().block_on(async {
        let work = run::run(&plan);
        let bounded = async {
            match plan.network.action_timeout {
                Some(limit) => {
                    tokio::time::timeout(limit, work)
                        .await
                        .unwrap_or(Err(Error::Timeout {
                            seconds: limit.as_secs(),
                        }))
                }
                None => work.await,
            }
        };
        // A signal or the deadline ends the run wherever it waits: on the network,
        // before anything is written, or on a runner-file write that hangs (the
        // commit runs on its own thread and writes GITHUB_STATE first, so what a
        // cut-short commit leaves is what the post step cleans up).
        tokio::select! {
            result = bounded => result,
            signal = signals() => Err(Error::Cancelled { signal }),
        }
    });
    match result {
        Ok(done) => {
            report::finished(&done, plan.region.as_str(), plan.account.mask, summary);
            ExitCode::SUCCESS
        }
        Err(err) => fail(&err, summary),
    }
}

async fn signals() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        _ = hup.recv() => "SIGHUP",
    }
}

/// Where a failure is summarised when no plan could be built (or in the post
/// step, which has none): the one place the summary path is read from the
/// environment directly.
fn summary_without_plan(env: &HashMap<String, String>) -> Option<&Path> {
    env.get("GITHUB_STEP_SUMMARY")
        .filter(|p| !p.is_empty())
        .map(Path::new)
        .filter(|summary| !inputs::runner::aliases_a_runner_file(summary, env))
}

fn fail(err: &Error, summary: Option<&Path>) -> ExitCode {
    report::failure(err, summary);
    ExitCode::FAILURE
}

fn post_step() -> ExitCode {
    let env = match environment() {
        Ok(env) => env,
        Err(code) => return code,
    };
    match post::run(&env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err, summary_without_plan(&env)),
    }
}
