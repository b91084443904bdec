//! Retry policy shared by the token request and the STS client.
//!
//! One layer only: the token request loops here; STS calls are retried by the
//! SDK's standard retry strategy configured with the same numbers (see
//! `sts.rs`), never wrapped in a second loop.

use rand::Rng;
use std::time::Duration;

/// First backoff; doubled each attempt.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// No single wait is longer than this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Total time one STS operation may take across all attempts and waits.
pub const STS_OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
/// Time one STS attempt may take.
pub const STS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);
pub const STS_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The token service gets at most this many attempts, whatever `retry-max-attempts` says.
pub const TOKEN_MAX_ATTEMPTS: u32 = 4;

/// "Full jitter" exponential backoff before attempt `attempt + 1`.
pub fn backoff(attempt: u32) -> Duration {
    let cap = INITIAL_BACKOFF
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let millis = cap.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..40 {
            let wait = backoff(attempt);
            assert!(wait <= MAX_BACKOFF, "{attempt}: {wait:?}");
        }
        assert!(backoff(1) <= INITIAL_BACKOFF);
        assert!(backoff(20) >= MAX_BACKOFF / 2);
    }
}
