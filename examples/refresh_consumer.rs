//! A long-lived AWS SDK for Rust client, for tests/refresh.rs: one client
//! from the default provider chain (so `AWS_PROFILE`/`AWS_CONFIG_FILE` and the
//! profile's `credential_process`), then `GetCallerIdentity` every INTERVAL
//! seconds for SECONDS seconds, printing "ok" per call.
//!
//! usage: refresh_consumer ENDPOINT SECONDS INTERVAL

use aws_config::BehaviorVersion;
use std::time::{Duration, Instant};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (endpoint, seconds, interval) = match &args[1..] {
        [e, s, i] => (
            e.clone(),
            s.parse::<f64>().unwrap(),
            i.parse::<f64>().unwrap(),
        ),
        _ => {
            eprintln!("usage: refresh_consumer ENDPOINT SECONDS INTERVAL");
            return std::process::ExitCode::from(2);
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(keyless_aws::http::sdk_http_client(None, None))
        .endpoint_url(endpoint)
        .load()
        .await;
    let client = aws_sdk_sts::Client::new(&config);
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        match client.get_caller_identity().send().await {
            Ok(_) => println!("ok"),
            Err(e) => {
                eprintln!(
                    "GetCallerIdentity failed: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                );
                return std::process::ExitCode::FAILURE;
            }
        }
        tokio::time::sleep(Duration::from_secs_f64(interval)).await;
    }
    std::process::ExitCode::SUCCESS
}
