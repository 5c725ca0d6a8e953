//! Settings of a run: waits, the progress observer, the registry of users' steps, and how
//! the run may be stopped.

use std::fmt;
use std::sync::Arc;

use crate::cancel::CancelToken;
use crate::events::{Event, EventKind, Observer};
use crate::registry::StepRegistry;
use crate::wait::{WaitPolicy, Waits};

/// Settings of a run: waits, a progress observer, and the steps it may meet in a plan or a
/// journal besides the built-in ones.
#[derive(Clone)]
#[must_use]
pub struct ApplyOptions {
    pub(crate) waits: Waits,
    pub(crate) registry: StepRegistry,
    pub(crate) check_current: bool,
    pub(crate) run_lock: bool,
    pub(crate) journal_service: Option<(String, String)>,
    pub(crate) cancel: Option<CancelToken>,
    pub(crate) force_rollback: bool,
    observer: Option<Observer>,
}

impl fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("waits", &self.waits)
            .field("registry", &self.registry)
            .field("run_lock", &self.run_lock)
            .field("journal_service", &self.journal_service)
            .field("cancel", &self.cancel)
            .field("force_rollback", &self.force_rollback)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            waits: Waits::default(),
            registry: StepRegistry::new(),
            check_current: true,
            run_lock: true,
            journal_service: None,
            cancel: None,
            force_rollback: false,
            observer: None,
        }
    }
}

impl ApplyOptions {
    /// Defaults for real AWS.
    pub fn new() -> Self {
        Self::default()
    }
    /// How long to wait for services to run their tasks or become INACTIVE.
    pub fn service_wait(mut self, policy: WaitPolicy) -> Self {
        self.waits.service_wait = policy;
        self
    }
    /// How long to retry CodeDeploy's "cannot assume role" errors after creating the role.
    pub fn iam_propagation(mut self, policy: WaitPolicy) -> Self {
        self.waits.iam_propagation = policy;
        self
    }
    /// Deadline of each wait for a deleted service to drain and become INACTIVE, over the
    /// plan's (the migration's drain timeout, or the target group's deregistration delay plus
    /// [`crate::wait::DRAIN_MARGIN`]); also for `resume` and `rollback` of a journal's plan.
    pub fn drain_timeout(mut self, timeout: crate::spec::DrainTimeout) -> Self {
        self.waits.drain_timeout = Some(timeout.duration());
        self
    }
    /// Shares this run's polls with every run given a clone of `shared`: one DescribeServices
    /// polls up to 10 waiting services of a cluster, one DescribeTargetHealth a target group
    /// for all its waiters, and no wait polls later than its own [`WaitPolicy`] says
    /// (see [`crate::wait::shared`]). [`crate::fleet`] shares the waits of its members.
    pub fn shared_waits(mut self, shared: crate::wait::SharedWaits) -> Self {
        self.waits.shared = Some(shared);
        self
    }
    /// Called for every [`Event`].
    pub fn observer(mut self, f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(f));
        self
    }
    /// The users' steps this run may meet: `apply`, `resume` and `rollback` build every step of
    /// a plan or journal from it, and refuse (changing nothing) a step kind it does not know.
    pub fn steps(mut self, registry: StepRegistry) -> Self {
        self.registry = registry;
        self
    }
    /// Skips the re-read of the account that `apply` makes before its first change to refuse a
    /// stale plan. Only for plans made from an inventory that was *not* read from this account
    /// (tests that plan a recorded or hand-made inventory against a fake); never for a plan
    /// loaded from a file or shown to a person before applying.
    pub fn skip_stale_plan_check(mut self) -> Self {
        self.check_current = false;
        self
    }
    /// Runs without the run lock ([`crate::lock`]): nothing then stops a second run on the
    /// same service from another process or machine. For callers that serialise runs
    /// themselves or may not use SSM parameters.
    pub fn without_run_lock(mut self) -> Self {
        self.run_lock = false;
        self
    }
    /// `resume` and `rollback` refuse (changing nothing) a journal whose run belongs to
    /// another service than `cluster`/`service` (its account and region are always checked
    /// against the caller's).
    pub fn journal_of(mut self, cluster: impl Into<String>, service: impl Into<String>) -> Self {
        self.journal_service = Some((cluster.into(), service.into()));
        self
    }
    /// Stops the run cleanly once `token` is cancelled (see [`crate::cancel`]): no new step or
    /// mutating call starts, the journal is written, and the run returns
    /// [`crate::Error::Cancelled`], leaving a journal that `resume` and `rollback` handle.
    pub fn cancel(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }
    /// `rollback` goes ahead while a CodeDeploy deployment of the service's deployment group
    /// is in flight (it refuses by default, changing nothing: undoing the migration under a
    /// deployment leaves the deployment without its service, group and target groups).
    pub fn force_rollback(mut self) -> Self {
        self.force_rollback = true;
        self
    }
    /// The run's cancel token, if any.
    pub fn cancel_token(&self) -> Option<&CancelToken> {
        self.cancel.as_ref()
    }
    /// The registry of users' steps.
    pub fn registry(&self) -> &StepRegistry {
        &self.registry
    }
    /// The run's waits.
    pub fn waits(&self) -> &Waits {
        &self.waits
    }
    pub(crate) fn emit(&self, migration_id: &str, kind: EventKind) {
        crate::events::emit(self.observer.as_ref(), migration_id, kind);
    }
    pub(crate) fn observer_ref(&self) -> Option<&Observer> {
        self.observer.as_ref()
    }
}
