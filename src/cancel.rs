//! Stopping a run cleanly: a [`CancelToken`] handed to [`crate::ApplyOptions::cancel`].
//!
//! Cancelling does not kill anything mid-write. `apply` and `resume` start no new step and no
//! new mutating call once the token is cancelled; a mutating call already sent is allowed to
//! answer and its outcome is journaled; waits (a service starting its tasks...) are abandoned.
//! `rollback` stops before its next undo and abandons the one in progress (undos look at the
//! live state first, so doing one again is harmless). The run then returns
//! [`Error::Cancelled`](crate::Error::Cancelled) and leaves an unfinished journal that
//! [`crate::resume`] finishes and [`crate::rollback`] undoes. The run lock is released.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A cancellation flag shared between a run and whoever may stop it (a signal handler, a
/// deadline, a UI). Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks every run holding this token to stop cleanly. Idempotent.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }
    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }
    /// Completes once the token is cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the flag is read, so a cancel in between is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Completes when `token` (if any) is cancelled; never without one.
pub(crate) async fn cancelled(token: Option<&CancelToken>) {
    match token {
        Some(t) => t.cancelled().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancelled_completes_for_a_cancel_before_and_after_it_waits() {
        let t = CancelToken::new();
        assert!(!t.is_cancelled());
        let waiter = tokio::spawn({
            let t = t.clone();
            async move { t.cancelled().await }
        });
        tokio::task::yield_now().await;
        t.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.expect("woken").unwrap();
        // Already cancelled: completes at once.
        tokio::time::timeout(std::time::Duration::from_secs(5), t.cancelled()).await.expect("at once");
        assert!(t.is_cancelled());
    }
}
