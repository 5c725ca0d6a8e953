//! How long the library's waits may take ([`WaitPolicy`]), and the crate's deadline-bounded
//! polling and retrying with capped exponential backoff. Runs of a fleet share their polls
//! ([`shared`]).

pub mod shared;

pub use shared::SharedWaits;

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How long a wait may take and how often it polls.
///
/// A wait polls at once, then pauses a fifth of the time it has waited so far
/// ([`POLL_FRACTION`]), never less than `initial_delay` nor more than `max_delay`: a condition
/// is noticed at most ~20 % of the wait (and at most `max_delay`) after it became true, while a
/// long wait still polls every `max_delay` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitPolicy {
    /// Give up after this long.
    pub deadline: Duration,
    /// Shortest pause between polls (the first ones).
    pub initial_delay: Duration,
    /// Longest pause between polls (keeps the wait within one poll of the condition).
    pub max_delay: Duration,
}

/// A wait pauses `elapsed / POLL_FRACTION` between polls (within the policy's bounds).
pub const POLL_FRACTION: u32 = 5;

/// Added to the target group's deregistration delay for the drain deadline: ECS stops the
/// tasks (their `stopTimeout`, up to 120 s) after deregistering them, and reports the service
/// INACTIVE some minutes later.
pub const DRAIN_MARGIN: Duration = Duration::from_secs(10 * 60);

/// ELBv2's default `deregistration_delay.timeout_seconds` (used when the attribute is not read).
pub const DEFAULT_DEREGISTRATION_DELAY: Duration = Duration::from_secs(300);

/// The deadline of the wait for a deleted service to become INACTIVE: its tasks first
/// deregister from the target group, which takes the group's deregistration delay (0–3600 s),
/// then stop. The delay plus [`DRAIN_MARGIN`].
///
/// ```
/// use std::time::Duration;
/// use ecs_bluegreen::wait::drain_deadline;
/// assert_eq!(drain_deadline(Duration::from_secs(3600)), Duration::from_secs(70 * 60));
/// ```
pub fn drain_deadline(deregistration_delay: Duration) -> Duration {
    deregistration_delay + DRAIN_MARGIN
}

impl WaitPolicy {
    /// Waits for real AWS: services take minutes. Polls after 1 s at first, a fifth of the
    /// time waited later, every 15 s at most.
    pub const AWS: WaitPolicy =
        WaitPolicy { deadline: Duration::from_secs(20 * 60), initial_delay: Duration::from_secs(1), max_delay: Duration::from_secs(15) };
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

/// The pause before the next poll of a wait that has lasted `elapsed`: a fifth of it, within
/// the policy's bounds. The lag between a condition and its notice is then at most a fifth of
/// the wait (conditions that take long are polled for rarely), and a short wait polls often.
fn next_delay(policy: &WaitPolicy, elapsed: Duration) -> Duration {
    (elapsed / POLL_FRACTION).clamp(policy.initial_delay, policy.max_delay.max(policy.initial_delay))
}

/// Polls `check` until it returns `Some`, pausing [`next_delay`] between polls, or fails with
/// [`Error::Timeout`] after a last poll at the deadline. Errors from `check` end the wait at once.
pub(crate) async fn poll<T, F, Fut>(what: &str, policy: WaitPolicy, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        let elapsed = start.elapsed();
        if elapsed >= policy.deadline {
            return Err(Error::Timeout { what: what.to_owned(), waited_secs: elapsed.as_secs() });
        }
        let sleep = next_delay(&policy, elapsed).min(policy.deadline - elapsed);
        tracing::debug!(what, ?sleep, "waiting");
        tokio::time::sleep(sleep).await;
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
    async fn polls_often_early_and_at_most_every_max_delay_later() {
        let polls = std::sync::Mutex::new(Vec::new());
        let start = tokio::time::Instant::now();
        let _ = poll::<(), _, _>("x", WaitPolicy { deadline: Duration::from_secs(600), ..WaitPolicy::AWS }, || async {
            polls.lock().unwrap().push(start.elapsed());
            Ok(None)
        })
        .await;
        let polls = polls.into_inner().unwrap();
        let gaps: Vec<Duration> = polls.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps[0], Duration::from_secs(1), "first pause: initial_delay");
        for (at, gap) in polls.iter().zip(&gaps) {
            let expected = (*at / POLL_FRACTION).clamp(Duration::from_secs(1), Duration::from_secs(15));
            // tokio's timer rounds a sleep up to the next millisecond.
            let close = *gap >= expected && *gap <= expected + Duration::from_millis(1);
            assert!(close || polls.last() == Some(&(*at + *gap)), "at {at:?}: paused {gap:?}, not {expected:?}");
        }
        assert_eq!(gaps.iter().max(), Some(&Duration::from_secs(15)));
        assert_eq!(*polls.last().unwrap(), Duration::from_secs(600), "a last poll at the deadline");
    }

    #[test]
    fn the_drain_deadline_covers_the_longest_deregistration_delay() {
        assert!(drain_deadline(Duration::from_secs(3600)) > Duration::from_secs(3600));
        assert_eq!(drain_deadline(Duration::ZERO), DRAIN_MARGIN);
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

/// The waits of a run (see [`crate::ApplyOptions::service_wait`],
/// [`crate::ApplyOptions::iam_propagation`] and [`crate::ApplyOptions::drain_timeout`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waits {
    /// Services running their tasks, passing health checks, becoming INACTIVE.
    pub service_wait: WaitPolicy,
    /// Retrying CodeDeploy's "cannot assume role" errors while IAM propagates.
    pub iam_propagation: WaitPolicy,
    /// Deadline of the wait for a deleted service to drain and become INACTIVE. `None`: the
    /// plan's (the migration's drain timeout, else the target group's deregistration delay plus
    /// [`DRAIN_MARGIN`], never shorter than `service_wait`'s deadline).
    #[serde(default)]
    pub drain_timeout: Option<Duration>,
    /// The polls this run shares with others ([`crate::ApplyOptions::shared_waits`]); `None`:
    /// every wait polls alone.
    #[serde(skip)]
    pub(crate) shared: Option<SharedWaits>,
}

impl Default for Waits {
    fn default() -> Self {
        Self { service_wait: WaitPolicy::AWS, iam_propagation: WaitPolicy::IAM_PROPAGATION, drain_timeout: None, shared: None }
    }
}

impl Waits {
    /// The wait for a deleted service to become INACTIVE: `service_wait`'s polling, with the
    /// drain deadline.
    pub fn drain(&self) -> WaitPolicy {
        WaitPolicy { deadline: self.drain_timeout.unwrap_or(self.service_wait.deadline), ..self.service_wait }
    }

    /// The polls this run shares with other runs, if any.
    pub fn shared(&self) -> Option<&SharedWaits> {
        self.shared.as_ref()
    }
}
