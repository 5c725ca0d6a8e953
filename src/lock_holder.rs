//! Who holds a run lock, and the refusal naming them: plain data, apart from the lock's I/O in
//! [`crate::lock`] so that errors and events can carry it.

use serde::{Deserialize, Serialize};

/// Who holds a service's lock, as stored in the parameter.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The lock's id: what [`crate::lock::unlock`] must be given to break it.
    pub lock_id: String,
    /// The run holding it (the journal's run id).
    pub run_id: String,
    /// What the run does (`apply`, `resume`, `rollback`).
    pub operation: String,
    /// Who: the caller's ARN, user and host.
    pub holder: String,
    /// When it was taken, milliseconds since the Unix epoch.
    pub since_ms: u64,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} by {} (lock id {}, run {}, taken {} s ago)", self.operation, self.holder, self.lock_id, self.run_id, age_secs(self.since_ms))
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn age_secs(since_ms: u64) -> u64 {
    now_ms().saturating_sub(since_ms) / 1000
}

/// Another run holds the service's lock. Nothing was changed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHeld {
    /// Cluster.
    pub cluster: String,
    /// Service.
    pub service: String,
    /// The holder.
    pub holder: LockInfo,
}

impl std::fmt::Display for LockHeld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "service {}/{} is locked by another run: {}; nothing was changed. If that run is still going, wait for it; \
             if it died, resume or roll back its journal (which takes the lock over), or break the lock with \
             `migrate unlock --cluster {} --service {} --lock-id {}`",
            self.cluster, self.service, self.holder, self.cluster, self.service, self.holder.lock_id
        )
    }
}

impl std::error::Error for LockHeld {}

