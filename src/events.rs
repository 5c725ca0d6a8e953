//! Progress events of a run, for progress bars and logs. Every event names the migration it
//! belongs to, so one observer can follow several runs (a fleet, a tool running many scripts).

use serde::Serialize;

use crate::spec::StepId;

/// One progress event: which migration, and what happened.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The migration id of the run (tagged on everything it creates).
    pub migration_id: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// An event of migration `migration_id`.
    pub fn new(migration_id: impl Into<String>, kind: EventKind) -> Self {
        Self { migration_id: migration_id.into(), kind }
    }
}

/// What happened in a run.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    /// A step started.
    StepStarted {
        /// Step.
        step: StepId,
    },
    /// A step finished.
    StepFinished {
        /// Step.
        step: StepId,
    },
    /// A step failed.
    StepFailed {
        /// Step.
        step: StepId,
        /// Error text.
        error: String,
    },
    /// A mutating call is about to be made.
    Mutating {
        /// Step.
        step: StepId,
        /// What changes.
        what: String,
    },
    /// Waiting for a condition.
    Waiting {
        /// Step.
        step: StepId,
        /// What.
        what: String,
    },
    /// Undoing an effect.
    Undoing {
        /// What.
        what: String,
    },
    /// An effect was undone.
    Undone {
        /// What.
        what: String,
    },
    /// Undoing an effect failed.
    UndoFailed {
        /// What.
        what: String,
        /// Error text.
        error: String,
    },
    /// The run took the service's run lock.
    Locked {
        /// The lock.
        lock: crate::lock_holder::LockInfo,
    },
    /// A fleet run ([`crate::fleet`]) started this service's apply, rollback or resume (it
    /// took one of the fleet's slots).
    ServiceStarted {
        /// `<cluster>/<service>`.
        service: String,
    },
    /// A fleet run is done with this service: its row of the report.
    ServiceFinished {
        /// `<cluster>/<service>`.
        service: String,
        /// How it ended, as the report names it (`applied`, `failed, rolled back`, `not
        /// started`, ...).
        outcome: String,
        /// Wall time of its run, in seconds.
        seconds: f64,
        /// The error that failed it, if any.
        error: Option<String>,
    },
    /// The run's lock could not be released: the next run is refused until it is broken.
    LockNotReleased {
        /// The lock.
        lock: crate::lock_holder::LockInfo,
        /// Why.
        error: String,
    },
}

/// A progress observer (see [`crate::ApplyOptions::observer`]).
pub(crate) type Observer = std::sync::Arc<dyn Fn(&Event) + Send + Sync>;

/// Logs `kind` and hands it to the observer, if any.
pub(crate) fn emit(observer: Option<&Observer>, migration_id: &str, kind: EventKind) {
    let e = Event::new(migration_id, kind);
    tracing::info!(event = ?e, "migration progress");
    if let Some(o) = observer {
        o(&e);
    }
}
