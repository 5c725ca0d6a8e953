//! How long the library's waits may take ([`WaitPolicy`]), and the crate's deadline-bounded
//! polling and retrying with capped exponential backoff.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How long a wait may take and how often it polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitPolicy {
    /// Give up after this long.
    pub deadline: Duration,
    /// First pause between polls.
    pub initial_delay: Duration,
    /// Longest pause between polls (keeps the wait within one poll of the condition).
    pub max_delay: Duration,
}

impl WaitPolicy {
    /// Waits for real AWS: services take minutes.
    pub const AWS: WaitPolicy =
        WaitPolicy { deadline: Duration::from_secs(20 * 60), initial_delay: Duration::from_secs(5), max_delay: Duration::from_secs(15) };
    /// IAM propagation: retry for two minutes.
    pub const IAM_PROPAGATION: WaitPolicy =
        WaitPolicy { deadline: Duration::from_secs(120), initial_delay: Duration::from_secs(2), max_delay: Duration::from_secs(10) };
    /// A local emulator answers at once.
    pub const FAST: WaitPolicy = WaitPolicy {
        deadline: Duration::from_secs(30),
        initial_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
    };
}

/// Polls `check` until it returns `Some`, sleeping with doubling delays, or fails with
/// [`Error::Timeout`] at the deadline. Errors from `check` end the wait at once.
pub(crate) async fn poll<T, F, Fut>(what: &str, policy: WaitPolicy, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = policy.initial_delay;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        let elapsed = start.elapsed();
        if elapsed >= policy.deadline {
            return Err(Error::Timeout { what: what.to_owned(), waited_secs: elapsed.as_secs() });
        }
        let sleep = delay.min(policy.deadline - elapsed);
        tracing::debug!(what, ?sleep, "waiting");
        tokio::time::sleep(sleep).await;
        delay = (delay * 2).min(policy.max_delay);
    }
}

/// Retries `op` while `retryable` says its error is transient, until the policy's deadline.
pub(crate) async fn retry<T, F, Fut>(what: &str, policy: WaitPolicy, retryable: impl Fn(&Error) -> bool, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = policy.initial_delay;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if retryable(&e) && start.elapsed() + delay < policy.deadline => {
                tracing::info!(what, error = %e, ?delay, "transient error, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(policy.max_delay);
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn poll_returns_when_condition_holds() {
        let n = AtomicU32::new(0);
        let v = poll("thing", WaitPolicy::AWS, || async { Ok((n.fetch_add(1, Ordering::SeqCst) == 3).then_some(7)) })
            .await
            .unwrap();
        assert_eq!(v, 7);
        assert_eq!(n.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn poll_times_out_at_the_deadline() {
        let start = tokio::time::Instant::now();
        let err = poll::<(), _, _>("service web INACTIVE", WaitPolicy::AWS, || async { Ok(None) }).await.unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }));
        assert!(err.to_string().contains("service web INACTIVE"));
        let waited = start.elapsed();
        assert!(waited >= WaitPolicy::AWS.deadline && waited < WaitPolicy::AWS.deadline + WaitPolicy::AWS.max_delay);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_stops_on_a_permanent_error() {
        let n = AtomicU32::new(0);
        let err = retry(
            "x",
            WaitPolicy::IAM_PROPAGATION,
            |e| e.to_string().contains("transient"),
            || async {
                let i = n.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(Error::Journal(if i < 2 { "transient".into() } else { "permanent".into() }))
            },
        )
        .await
        .unwrap_err();
        assert_eq!(n.load(Ordering::SeqCst), 3);
        assert!(err.to_string().contains("permanent"));
    }
}

/// The waits of a run (see [`crate::ApplyOptions::service_wait`] and
/// [`crate::ApplyOptions::iam_propagation`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waits {
    /// Services running their tasks, passing health checks, becoming INACTIVE.
    pub service_wait: WaitPolicy,
    /// Retrying CodeDeploy's "cannot assume role" errors while IAM propagates.
    pub iam_propagation: WaitPolicy,
}

impl Default for Waits {
    fn default() -> Self {
        Self { service_wait: WaitPolicy::AWS, iam_propagation: WaitPolicy::IAM_PROPAGATION }
    }
}
