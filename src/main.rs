//! keyless-aws: a GitHub Action that turns a workflow's OIDC token into
//! short-lived, masked AWS credentials.
//!
//! `main` only wires things together: read the environment, validate it into a
//! plan (no network), run the plan under a deadline and signal handlers, report.

use keyless_aws::error::Error;
use keyless_aws::plan::Proxy;
use keyless_aws::{cli, inputs, post, redact, report, run, workflow};
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    // No arguments: the action (the runner starts the entrypoint bare); as
    // `keyless-aws-post` or with `post`: the post step; else a subcommand.
    match cli::dispatch(std::env::args_os().collect()) {
        cli::Invocation::Action => action(),
        cli::Invocation::PostStep => post_step(),
        cli::Invocation::Exit(code) => code,
    }
}

/// The environment as text; variables that are not UTF-8 are skipped rather
/// than aborting the run.
fn environment() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
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
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_target(true)
        .with_writer(redact::RedactingWriter::default);
    tracing_subscriber::registry().with(fmt).with(filter).init();
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
    let env = environment();
    init_logging(&env);
    let plan = match inputs::RawInputs::from_env(&env).and_then(|raw| inputs::plan(&raw, &env)) {
        Ok(plan) => plan,
        Err(err) => return fail(&err, summary_without_plan(&env)),
    };
    mask_proxy_passwords(&plan.network.proxy);
    tracing::debug!(?plan, "plan");
    let _ = rustls::crypto::ring::default_provider().install_default();
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
        // A signal while waiting on the network ends the run before anything is
        // written; the writes themselves have no await point, so they cannot be
        // cut in half by a signal handled here.
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

/// A password in a proxy URL is a secret like any other: masked (as written and
/// percent-decoded) before the plan, which holds the URL, can reach a debug log.
fn mask_proxy_passwords(proxy: &Proxy) {
    for url in [&proxy.https, &proxy.http].into_iter().flatten() {
        let Some(password) = url.password() else {
            continue;
        };
        let decoded =
            url::form_urlencoded::parse(format!("p={}", password.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
        workflow::add_mask(&keyless_aws::secret::Secret::new(password));
        if decoded != password {
            workflow::add_mask(&keyless_aws::secret::Secret::new(decoded));
        }
    }
}

/// Where a failure is summarised when no plan could be built (or in the post
/// step, which has none): the one place the summary path is read from the
/// environment directly.
fn summary_without_plan(env: &HashMap<String, String>) -> Option<&Path> {
    env.get("GITHUB_STEP_SUMMARY")
        .filter(|p| !p.is_empty())
        .map(Path::new)
}

fn fail(err: &Error, summary: Option<&Path>) -> ExitCode {
    report::failure(err, summary);
    ExitCode::FAILURE
}

fn post_step() -> ExitCode {
    let env = environment();
    match post::run(&env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err, summary_without_plan(&env)),
    }
}
