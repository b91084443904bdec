//! Retry policy shared by the token request and the STS client.
//!
//! One layer only: the token request loops here; STS calls are retried by the
//! SDK's standard retry loop, never wrapped in a second loop. What the SDK
//! cannot express — throttling judged by time rather than by attempts — is
//! decided here by [`StsSchedule`] (a retry classifier that runs after the
//! SDK's and STS's own, and sets every wait) and [`OperationClock`] (an
//! interceptor that tells it when the operation started and which attempt
//! just ended).
//!
//! Why two rules: a throttled call fails because *others* are calling at the
//! same moment (a matrix of hundreds of jobs); waiting longer is what makes it
//! succeed, so throttling is retried until a time budget is spent. Every other
//! transient error (5xx, timeouts, connection errors) says something about the
//! path to STS, and keeps a bounded number of attempts. Everything else —
//! `AccessDenied`, an answer over the size cap — is never retried.
//!
//! Waits are "full jitter" (AWS Architecture Blog, "Exponential Backoff And
//! Jitter"): `random(0, min(cap, base · 2^n))`, so that jobs throttled by the
//! same burst do not come back together.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    InterceptorContext,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority, RetryReason,
};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::ErrorKind;
use rand::Rng;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// First backoff of the token request and of transient STS errors; doubled each attempt.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// No single wait after a transient error is longer than this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Transient STS errors are not retried once this much time has passed since
/// the operation's first attempt (an attempt may still run its own timeout).
pub const STS_OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
/// Time one STS attempt may take.
pub const STS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);
pub const STS_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The token service gets at most this many attempts for a connection error,
/// a timeout, a 500 or a 429, whatever `retry-max-attempts` says.
pub const TOKEN_MAX_ATTEMPTS: u32 = 4;
/// Attempts for a 502, 503 or 504 from the token service, whatever
/// `retry-max-attempts` or `disable-retry` say: the reference's token client
/// (@actions/http-client, created by @actions/core's OidcClient with
/// `maxRetries: 10`) retries exactly these codes ten times on its own, below
/// the action's retry loop, so `disable-retry` never turned them off.
pub const TOKEN_GATEWAY_ATTEMPTS: u32 = 11;
/// Attempts per STS call when the action's own retries are off
/// (`disable-retry: true`, `retry-max-attempts: 1`): the AWS SDK's standard
/// retry mode, which the reference's STS client keeps underneath its own
/// loop, still retries throttling, 5xx and connection errors up to 3 attempts.
pub const SDK_DEFAULT_ATTEMPTS: u32 = 3;

/// First wait after a throttled STS call; doubled each attempt.
pub const THROTTLE_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait after a throttled call. Long enough that hundreds of throttled
/// jobs spread out (about 8 calls per job in the storm of docs/benchmarks.md),
/// short enough that the last ones do not idle while STS has room again.
pub const THROTTLE_MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long throttling is retried when `action-timeout-s` is not set.
pub const DEFAULT_THROTTLE_BUDGET: Duration = Duration::from_secs(300);
/// A safety net under the time budget: no STS operation makes more attempts,
/// whatever the waits turn out to be.
pub const STS_ATTEMPT_CEILING: u32 = 200;

/// How long throttled STS calls are retried, from the operation's first
/// attempt: [`DEFAULT_THROTTLE_BUDGET`], or less when `action-timeout-s` is
/// shorter — then it ends a little before the action timeout (a second, or a
/// quarter of it if that is less), so that the step fails with STS's
/// `Throttling` and its explanation rather than with a bare timeout.
pub fn throttle_budget(action_timeout: Option<Duration>) -> Duration {
    action_timeout.map_or(DEFAULT_THROTTLE_BUDGET, |t| {
        t.saturating_sub((t / 4).min(Duration::from_secs(1)))
            .min(DEFAULT_THROTTLE_BUDGET)
    })
}

/// Exponential backoff with full jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const TRANSIENT: Backoff = Backoff {
        initial: INITIAL_BACKOFF,
        max: MAX_BACKOFF,
    };
    pub const THROTTLING: Backoff = Backoff {
        initial: THROTTLE_INITIAL_BACKOFF,
        max: THROTTLE_MAX_BACKOFF,
    };

    /// The longest wait after failed attempt `attempt` (1-based): `min(max, initial · 2^(attempt-1))`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        self.initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max)
    }

    /// The wait after failed attempt `attempt`: uniformly random in `0..=ceiling(attempt)`.
    pub fn wait(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt).as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=ceiling))
    }
}

/// The wait before the token request's attempt `attempt + 1`.
pub fn backoff(attempt: u32) -> Duration {
    Backoff::TRANSIENT.wait(attempt)
}

/// How one STS client retries, for every operation it runs.
#[derive(Clone, Copy, Debug)]
pub struct StsSchedule {
    /// Attempts for transient errors, the first included (`retry-max-attempts`);
    /// 1 (`disable-retry`) turns off this action's own retries: then the SDK's
    /// standard [`SDK_DEFAULT_ATTEMPTS`] remain, for throttling too, as they
    /// remain under the reference's loop.
    pub max_attempts: u32,
    /// How long throttling is retried (see [`throttle_budget`]).
    pub throttle_budget: Duration,
    pub transient: Backoff,
    pub throttling: Backoff,
    /// Transient errors are not retried past this time (see [`STS_OPERATION_TIMEOUT`]).
    pub transient_budget: Duration,
}

/// What the schedule decided after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    RetryAfter(Duration),
    GiveUp,
}

impl StsSchedule {
    pub fn new(max_attempts: u32, action_timeout: Option<Duration>) -> Self {
        StsSchedule {
            max_attempts,
            throttle_budget: throttle_budget(action_timeout),
            transient: Backoff::TRANSIENT,
            throttling: Backoff::THROTTLING,
            transient_budget: STS_OPERATION_TIMEOUT,
        }
    }

    /// This action's own retries on (throttling retried for a time budget);
    /// off, only the SDK's standard attempts are made.
    pub fn retries(&self) -> bool {
        self.max_attempts > 1
    }

    /// The SDK's whole-operation timeout: the longest budget plus one attempt.
    pub fn operation_timeout(&self) -> Duration {
        self.throttle_budget.max(self.transient_budget) + STS_ATTEMPT_TIMEOUT
    }

    /// Whether attempt `attempt` (1-based), which failed with a retryable error
    /// of `kind` after `elapsed` since the operation began, gets another one.
    /// A retry is made only if its wait ends inside the budget.
    pub fn next(&self, kind: ErrorKind, attempt: u32, elapsed: Duration) -> Next {
        if attempt >= STS_ATTEMPT_CEILING {
            return Next::GiveUp;
        }
        let throttled = kind == ErrorKind::ThrottlingError;
        // Throttling is counted in time while the action's retries are on, in
        // attempts (the SDK's) when they are off.
        let attempts = if throttled && self.retries() {
            STS_ATTEMPT_CEILING
        } else {
            self.max_attempts.max(SDK_DEFAULT_ATTEMPTS)
        };
        if attempt >= attempts {
            return Next::GiveUp;
        }
        let (backoff, budget) = if throttled {
            (self.throttling, self.throttle_budget)
        } else {
            (self.transient, self.transient_budget)
        };
        let wait = backoff.wait(attempt);
        if elapsed + wait >= budget {
            Next::GiveUp
        } else {
            Next::RetryAfter(wait)
        }
    }

    /// The SDK's own retry settings, one for every AWS client of ours (STS,
    /// Cognito Identity): the schedule decides every retry and its wait; the
    /// SDK's attempt limit is only a safety net, and its cap must not cut the
    /// schedule's waits short.
    pub fn sdk_retry_config(&self) -> aws_smithy_types::retry::RetryConfig {
        aws_smithy_types::retry::RetryConfig::standard()
            .with_max_attempts(STS_ATTEMPT_CEILING)
            .with_initial_backoff(INITIAL_BACKOFF)
            .with_max_backoff(self.throttling.max.max(self.transient.max))
            .with_retry_spec(aws_smithy_types::retry::RetrySpec::v2_0())
    }

    /// Connection, attempt and whole-operation time limits for the same clients.
    pub fn sdk_timeout_config(&self) -> aws_smithy_types::timeout::TimeoutConfig {
        aws_smithy_types::timeout::TimeoutConfig::builder()
            .connect_timeout(STS_CONNECT_TIMEOUT)
            .operation_attempt_timeout(STS_ATTEMPT_TIMEOUT)
            .operation_timeout(self.operation_timeout())
            .build()
    }

    /// The classifier and the interceptor to install on one STS client.
    pub fn hooks(self) -> (ScheduleClassifier, OperationClock) {
        let progress = Arc::new(Mutex::new(Progress {
            started: Instant::now(),
            attempt: 1,
        }));
        (
            ScheduleClassifier {
                schedule: self,
                progress: progress.clone(),
            },
            OperationClock { progress },
        )
    }
}

/// Where the operation in flight is. One per client: run.rs awaits each STS
/// call before the next, so a client never runs two operations at once.
#[derive(Debug)]
struct Progress {
    started: Instant,
    attempt: u32,
}

/// Runs after every other retry classifier and turns their verdict into the
/// schedule's: a retry with the schedule's wait, or none.
#[derive(Debug)]
pub struct ScheduleClassifier {
    schedule: StsSchedule,
    progress: Arc<Mutex<Progress>>,
}

impl ClassifyRetry for ScheduleClassifier {
    fn classify_retry(&self, _ctx: &InterceptorContext) -> RetryAction {
        RetryAction::NoActionIndicated
    }

    fn classify_retry_v2(&self, _ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        let RetryAction::RetryIndicated(RetryReason::RetryableError { kind, .. }) = previous else {
            return RetryAction::NoActionIndicated;
        };
        let (attempt, elapsed) = {
            let p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
            (p.attempt, p.started.elapsed())
        };
        let next = match self.schedule.next(*kind, attempt, elapsed) {
            Next::RetryAfter(wait)
                if !TOKEN_DEADLINE
                    .try_with(|stop| stop.allows(wait))
                    .unwrap_or(true) =>
            {
                tracing::debug!(
                    attempt,
                    "no retry with this token: it is due for replacement"
                );
                Next::GiveUp
            }
            next => next,
        };
        match next {
            Next::RetryAfter(wait) => {
                tracing::debug!(
                    attempt,
                    ?kind,
                    wait_ms = wait.as_millis() as u64,
                    "STS call will be retried"
                );
                RetryAction::retryable_error_with_explicit_delay(*kind, wait)
            }
            Next::GiveUp => {
                tracing::debug!(
                    attempt,
                    ?kind,
                    elapsed_ms = elapsed.as_millis() as u64,
                    "STS retries spent"
                );
                RetryAction::RetryForbidden
            }
        }
    }

    fn name(&self) -> &'static str {
        "keyless-aws retry schedule"
    }

    fn priority(&self) -> RetryClassifierPriority {
        schedule_priority()
    }
}

/// The schedule's place among retry classifiers: after the SDK's (the
/// transient-error classifier runs last of those) and after sts.rs's STS
/// error codes (default priority).
fn schedule_priority() -> RetryClassifierPriority {
    RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
}

/// How long before a web identity token expires a fresh one is fetched: a
/// minute, or half its lifetime for a shorter-lived one. A GitHub token lives
/// five minutes, as long as the throttling budget: a storm that throttles one
/// call for minutes would otherwise end in `ExpiredTokenException` (the
/// reference's open bug).
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// In how long a token issued at `now` (Unix seconds) that expires at `exp`
/// should be replaced; `None` when its expiry is unknown.
pub fn token_refresh_in(now: i64, exp: Option<i64>) -> Option<Duration> {
    let left = Duration::from_secs(u64::try_from(exp? - now).unwrap_or(0));
    Some(left.saturating_sub(TOKEN_REFRESH_MARGIN.min(left / 2)))
}

/// How many fresh tokens one exchange may fetch: a bound under the time
/// budget, whatever the tokens' lifetimes.
pub const MAX_TOKEN_REFRESHES: u32 = 20;

/// When the token of the call in flight is due for replacement: no retry
/// whose wait would end after `at` is made, and `reached` records that one was
/// refused, so that the caller calls again with a fresh token. Set per call
/// with [`with_token_deadline`] (a task-local, so concurrent calls of
/// `roles` on one task each keep their own), read by [`ScheduleClassifier`].
#[derive(Debug, Clone)]
pub struct StopRetryingAt {
    pub at: Instant,
    reached: Arc<std::sync::atomic::AtomicBool>,
}

impl StopRetryingAt {
    pub fn new(at: Instant) -> Self {
        StopRetryingAt {
            at,
            reached: Arc::default(),
        }
    }

    /// Whether a retry was refused because of `at`.
    pub fn reached(&self) -> bool {
        self.reached.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a retry after `wait` may be made; records a refusal.
    fn allows(&self, wait: Duration) -> bool {
        let allowed = Instant::now() + wait < self.at;
        if !allowed {
            self.reached
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        allowed
    }
}

tokio::task_local! {
    static TOKEN_DEADLINE: StopRetryingAt;
}

/// Runs one STS call with `stop` as its token deadline (see [`StopRetryingAt`]).
pub async fn with_token_deadline<F: std::future::Future>(
    stop: StopRetryingAt,
    call: F,
) -> F::Output {
    TOKEN_DEADLINE.scope(stop, call).await
}

/// Records when each operation starts and which attempt is running.
#[derive(Debug)]
pub struct OperationClock {
    progress: Arc<Mutex<Progress>>,
}

impl Intercept for OperationClock {
    fn name(&self) -> &'static str {
        "keyless-aws operation clock"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        p.started = Instant::now();
        p.attempt = 1;
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(attempts) = cfg.load::<RequestAttempts>() {
            self.progress
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .attempt = attempts.attempts();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_full_jitter_under_a_growing_capped_ceiling() {
        let b = Backoff::TRANSIENT;
        assert_eq!(b.ceiling(1), INITIAL_BACKOFF);
        assert_eq!(b.ceiling(2), INITIAL_BACKOFF * 2);
        assert_eq!(b.ceiling(40), MAX_BACKOFF);
        for attempt in 1..40 {
            assert!(backoff(attempt) <= b.ceiling(attempt), "{attempt}");
        }
        // Full jitter reaches below half the ceiling (equal jitter never does):
        // 200 draws all in the upper half has probability 2^-200.
        assert!((0..200).any(|_| b.wait(20) < MAX_BACKOFF / 2));
    }

    #[test]
    fn throttling_is_retried_by_time_and_transient_errors_by_count() {
        let s = StsSchedule::new(12, None);
        let early = Duration::from_secs(1);
        // Throttling: far past the attempt count, still retried inside the budget.
        assert!(
            matches!(s.next(ErrorKind::ThrottlingError, 50, early), Next::RetryAfter(w) if w <= THROTTLE_MAX_BACKOFF)
        );
        assert_eq!(
            s.next(ErrorKind::ThrottlingError, 5, DEFAULT_THROTTLE_BUDGET),
            Next::GiveUp
        );
        // Transient: the attempt count ends it, and so does its own window.
        assert!(matches!(
            s.next(ErrorKind::TransientError, 11, early),
            Next::RetryAfter(_)
        ));
        assert_eq!(s.next(ErrorKind::TransientError, 12, early), Next::GiveUp);
        assert_eq!(
            s.next(ErrorKind::ServerError, 2, STS_OPERATION_TIMEOUT),
            Next::GiveUp
        );
        // disable-retry: the SDK's standard 3 attempts remain, throttling included.
        let off = StsSchedule::new(1, None);
        for kind in [
            ErrorKind::ThrottlingError,
            ErrorKind::ServerError,
            ErrorKind::TransientError,
        ] {
            assert!(matches!(
                off.next(kind, 2, Duration::ZERO),
                Next::RetryAfter(_)
            ));
            assert_eq!(
                off.next(kind, SDK_DEFAULT_ATTEMPTS, Duration::ZERO),
                Next::GiveUp
            );
        }
        // retry-max-attempts: 2 still gets the SDK's 3.
        let two = StsSchedule::new(2, None);
        assert_eq!(
            two.next(ErrorKind::ServerError, 3, Duration::ZERO),
            Next::GiveUp
        );
        assert!(matches!(
            two.next(ErrorKind::ServerError, 2, Duration::ZERO),
            Next::RetryAfter(_)
        ));
        // The ceiling holds whatever the budget.
        assert_eq!(
            s.next(ErrorKind::ThrottlingError, STS_ATTEMPT_CEILING, early),
            Next::GiveUp
        );
    }

    #[test]
    fn tokens_are_replaced_a_minute_before_expiry_or_at_half_life() {
        let secs = Duration::from_secs;
        assert_eq!(token_refresh_in(1000, Some(1300)), Some(secs(240)));
        assert_eq!(token_refresh_in(1000, Some(1060)), Some(secs(30)));
        assert_eq!(token_refresh_in(1000, Some(990)), Some(Duration::ZERO));
        assert_eq!(token_refresh_in(1000, None), None);
    }

    #[test]
    fn the_throttle_budget_never_outlives_action_timeout() {
        let secs = Duration::from_secs;
        assert_eq!(throttle_budget(None), DEFAULT_THROTTLE_BUDGET);
        assert_eq!(throttle_budget(Some(secs(30))), secs(29));
        assert_eq!(throttle_budget(Some(secs(5))), secs(4));
        assert_eq!(throttle_budget(Some(secs(2))), Duration::from_millis(1500));
        assert_eq!(throttle_budget(Some(secs(3600))), DEFAULT_THROTTLE_BUDGET);
        let s = StsSchedule::new(12, Some(secs(30)));
        assert_eq!(
            s.next(ErrorKind::ThrottlingError, 2, secs(29)),
            Next::GiveUp
        );
    }
}
