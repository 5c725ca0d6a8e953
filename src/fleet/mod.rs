//! Fleets: many services migrated from one spec file ([`spec`]), with one report.
//!
//! Every service is planned before anything changes ([`plan`]): one refusal anywhere and the
//! fleet stops there, every refusal listed. Then [`apply`] runs the plans with bounded
//! concurrency, each service with its own journal, and an [`OnFailure`] policy says what a
//! failure means for the others. [`rollback`] and [`resume`] act on every service's journal.
//! The [`FleetReport`] has one row per service and the fleet's exit code.
//!
//! The members' waits are shared ([`crate::wait::shared`]): one DescribeServices polls up to
//! 10 services of a cluster that wait on ECS, one DescribeTargetHealth a target group for all
//! its waiters, and no service waits longer for it. The SDK's own retries and rate of calls
//! stay the callers' to set on the clients' config (see [`crate::clients`]).

pub mod checks;
pub mod spec;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::error::Report;
use crate::events::EventKind;
use crate::report::{LeftOver, Outcome};
use crate::wait::SharedWaits;
use crate::{ApplyOptions, AwsClients, CallRecorder, Error, Journal, Migration, Plan};

/// Services planned or applied at once when no concurrency is given.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// What a failed service means for the rest of the fleet.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// Start no new service after a failure; the ones running finish.
    #[default]
    Stop,
    /// Go on with every other service.
    Continue,
    /// All or nothing: start no new service, let the running ones finish, then roll back every
    /// service this run applied.
    RollbackAll,
}

/// How a fleet runs.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetOptions {
    /// Services in flight at once (at least 1).
    pub concurrency: usize,
    /// What a failure means for the others.
    pub on_failure: OnFailure,
    /// Whether the members' waits poll AWS together (default: yes).
    pub shared_waits: bool,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self { concurrency: DEFAULT_CONCURRENCY, on_failure: OnFailure::Stop, shared_waits: true }
    }
}

impl FleetOptions {
    /// `concurrency` services at once (0 counts as 1), failures handled by `on_failure`.
    pub fn new(concurrency: usize, on_failure: OnFailure) -> Self {
        Self { concurrency: concurrency.max(1), on_failure, shared_waits: true }
    }

    /// Every member polls alone (to compare, or for members the caller shares waits of).
    pub fn without_shared_waits(mut self) -> Self {
        self.shared_waits = false;
        self
    }
}

/// The members' run options, their waits shared through `shared` (a member's own
/// [`ApplyOptions::shared_waits`] is kept); `None`: as they are.
fn sharing(members: &[Member], shared: Option<&SharedWaits>) -> Vec<ApplyOptions> {
    members
        .iter()
        .map(|m| match shared {
            Some(s) if m.options.waits.shared.is_none() => m.options.clone().shared_waits(s.clone()),
            _ => m.options.clone(),
        })
        .collect()
}

/// One service of a fleet run: its migration, the clients that reach its account, its journal.
#[derive(Clone)]
pub struct Member {
    migration: Migration,
    aws: AwsClients,
    journal: Arc<dyn Journal>,
    recorder: Option<CallRecorder>,
    options: ApplyOptions,
    preflight: bool,
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member").field("service", &self.label()).finish_non_exhaustive()
    }
}

impl Member {
    /// `migration`, run with `aws` and recorded in `journal` (each service needs its own;
    /// shared, so a rollback or resume later reads what a run wrote).
    pub fn new(migration: Migration, aws: AwsClients, journal: Arc<dyn Journal>) -> Self {
        Self { migration, aws, journal, recorder: None, options: ApplyOptions::new(), preflight: false }
    }
    /// Counts this service's AWS calls from `recorder` (one that only `aws` records into).
    pub fn recorder(mut self, recorder: CallRecorder) -> Self {
        self.recorder = Some(recorder);
        self
    }
    /// The options of this service's run (waits, its progress observer, a cancel token).
    pub fn options(mut self, options: ApplyOptions) -> Self {
        self.options = options;
        self
    }
    /// With `true`, [`plan`] ends this service's planning with the permissions preflight
    /// ([`Transaction::preflight`](crate::Transaction::preflight)): IAM simulates the caller of
    /// its clients against the policy its run needs. Default: off.
    pub fn preflight(mut self, on: bool) -> Self {
        self.preflight = on;
        self
    }
    /// `<cluster>/<service>`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.migration.cluster_name(), self.migration.service().as_str())
    }
    /// Its migration.
    pub fn migration(&self) -> &Migration {
        &self.migration
    }
    fn calls(&self) -> usize {
        self.recorder.as_ref().map_or(0, |r| r.calls().len())
    }
}

/// The fleet could not be planned: one entry per service that failed, nothing was changed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
#[error("{} of the fleet's services cannot be planned; nothing was changed", failures.len())]
pub struct FleetPlanError {
    /// Each failed service (`<cluster>/<service>`) and why.
    pub failures: Vec<(String, Error)>,
}

impl FleetPlanError {
    /// The error of these failed services (`<cluster>/<service>` and why), e.g. journals the
    /// caller could not open, joined with [`plan`]'s with [`FleetPlanError::join`].
    pub fn new(failures: Vec<(String, Error)>) -> Self {
        Self { failures }
    }

    /// Both errors' failures, in the fleet's order when `order` lists the services
    /// (`<cluster>/<service>`); unlisted ones last.
    pub fn join(mut self, other: FleetPlanError, order: &[String]) -> Self {
        self.failures.extend(other.failures);
        self.failures.sort_by_key(|(s, _)| order.iter().position(|o| o == s).unwrap_or(usize::MAX));
        self
    }

    /// Whether every failure is a refusal of the input or the live setup (exit 2); else an
    /// AWS call failed while reading (exit 1). Nothing was changed either way.
    pub fn all_refused(&self) -> bool {
        self.failures.iter().all(|(_, e)| e.kind() == crate::ErrorKind::InvalidInput)
    }
}

/// Plans every member, `concurrency` at once, each with its permissions preflight when the
/// member asks for it ([`Member::preflight`]); the plans in the members' order.
///
/// A service whose journal holds an earlier run that is not done, or whose run lock another
/// run holds, is refused here ([`checks`]) with the others' refusals, rather than failing when
/// its turn comes while the rest of the fleet changes.
///
/// # Errors
/// A [`FleetPlanError`] listing every service that could not be planned (refusals, the
/// preflight's denials, read errors) when any could not: the fleet is all planned or not run.
pub async fn plan(members: &[Member], concurrency: usize) -> Result<Vec<Plan>, FleetPlanError> {
    let results: Vec<_> = futures::stream::iter(members.iter().map(|m| async move {
        let txn = crate::Transaction::new(m.migration.clone()).preflight(m.preflight);
        let (plan, earlier) = futures::join!(txn.plan(&m.aws), checks::earlier_runs(m));
        checks::with_earlier_runs(plan, earlier?)
    }))
    .buffered(concurrency.max(1))
    .collect()
    .await;
    let mut plans = Vec::new();
    let mut failures = Vec::new();
    for (m, r) in members.iter().zip(results) {
        match r {
            Ok(p) => plans.push(p),
            Err(e) => failures.push((m.label(), e)),
        }
    }
    if failures.is_empty() { Ok(plans) } else { Err(FleetPlanError { failures }) }
}

/// How one service of the fleet ended.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceOutcome {
    /// Migrated.
    Applied,
    /// Already migrated: nothing written.
    NothingToDo,
    /// Its run failed and rolled back everything it did.
    Failed,
    /// Not started: an earlier failure stopped the fleet (`stop`, `rollback-all`).
    NotStarted,
    /// Rolled back cleanly (by `rollback`, or by `rollback-all` after another service failed).
    RolledBack,
    /// Something is left over: a rollback that could not undo everything, a journal that could
    /// not be written, or a run stopped midway (see the row's `left_over` and `error`).
    LeftOver,
}

impl ServiceOutcome {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceOutcome::Applied => "applied",
            ServiceOutcome::NothingToDo => "nothing-to-do",
            ServiceOutcome::Failed => "failed, rolled back",
            ServiceOutcome::NotStarted => "not started",
            ServiceOutcome::RolledBack => "rolled back",
            ServiceOutcome::LeftOver => "LEFT OVER",
        }
    }
}

/// One row of the report.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceResult {
    /// `<cluster>/<service>`.
    pub service: String,
    /// How it ended.
    pub outcome: ServiceOutcome,
    /// Wall time of its run, in seconds.
    pub seconds: f64,
    /// AWS calls its runs made.
    pub calls: usize,
    /// What is left to fix by hand, if anything.
    pub left_over: Vec<LeftOver>,
    /// The error that failed it, if any (the whole cause chain).
    pub error: Option<String>,
}

/// The fleet's report: one row per service, in the spec's order.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetReport {
    /// One row per service.
    pub services: Vec<ServiceResult>,
}

impl FleetReport {
    /// The fleet's exit code: 0 every service done; 1 some failed (or did not start) and every
    /// failed one is fully rolled back; 3 anything left over.
    pub fn exit_code(&self) -> u8 {
        let outcomes = || self.services.iter().map(|s| s.outcome);
        if outcomes().any(|o| o == ServiceOutcome::LeftOver) {
            3
        } else if outcomes().all(|o| matches!(o, ServiceOutcome::Applied | ServiceOutcome::NothingToDo | ServiceOutcome::RolledBack))
            && !self.rolled_back_by_policy()
        {
            0
        } else {
            1
        }
    }

    // A `rollback-all` that undid applied services is a failed fleet, though each row is clean.
    fn rolled_back_by_policy(&self) -> bool {
        self.services.iter().any(|s| s.outcome == ServiceOutcome::RolledBack && s.error.is_some())
    }

    /// The row of `service` (`<cluster>/<service>`).
    pub fn service(&self, service: &str) -> Option<&ServiceResult> {
        self.services.iter().find(|s| s.service == service)
    }
}

impl fmt::Display for FleetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.services.iter().map(|s| s.service.len()).max().unwrap_or(7).max(7);
        writeln!(f, "{:<width$}  {:<20}  {:>8}  {:>5}  left over", "service", "outcome", "time", "calls")?;
        for s in &self.services {
            let left = if s.left_over.is_empty() { "-".to_owned() } else { s.left_over.iter().map(|l| l.what.as_str()).collect::<Vec<_>>().join("; ") };
            writeln!(f, "{:<width$}  {:<20}  {:>7.1}s  {:>5}  {left}", s.service, s.outcome.as_str(), s.seconds, s.calls)?;
        }
        for s in self.services.iter().filter(|s| s.error.is_some()) {
            writeln!(f, "{}: {}", s.service, s.error.as_deref().unwrap_or_default())?;
            for l in &s.left_over {
                writeln!(f, "  - {}: {}\n    fix: {}", l.what, l.error, l.how_to_fix)?;
            }
        }
        Ok(())
    }
}

/// Tells the member's observer its run starts now ([`EventKind::ServiceStarted`]).
fn start(m: &Member, o: &ApplyOptions) -> tokio::time::Instant {
    o.emit(&m.migration.migration_id(), EventKind::ServiceStarted { service: m.label() });
    tokio::time::Instant::now()
}

/// Tells the member's observer how its run ended ([`EventKind::ServiceFinished`]).
fn finished(m: &Member, o: &ApplyOptions, row: ServiceResult) -> ServiceResult {
    let kind = EventKind::ServiceFinished {
        service: row.service.clone(),
        outcome: row.outcome.as_str().to_owned(),
        seconds: row.seconds,
        error: row.error.clone(),
    };
    o.emit(&m.migration.migration_id(), kind);
    row
}

/// A row from a run's result.
fn row(member: &Member, took: Duration, result: Result<ServiceOutcome, Error>) -> ServiceResult {
    let (outcome, left_over, error) = match result {
        Ok(o) => (o, Vec::new(), None),
        Err(e) => {
            let (outcome, left) = match &e {
                Error::Apply(f) if f.rollback.is_clean() => (ServiceOutcome::Failed, Vec::new()),
                Error::Apply(f) => (ServiceOutcome::LeftOver, f.rollback.left_over.clone()),
                // Refused before any change (locked, unfinished journal, ...).
                Error::Journal(j) if j.changed_nothing() => (ServiceOutcome::Failed, Vec::new()),
                Error::Plan(_) | Error::Validation(_) | Error::Unfinished(_) | Error::Locked(_) | Error::UnregisteredStep(_) => {
                    (ServiceOutcome::Failed, Vec::new())
                }
                // A journal not written, a run stopped midway: the journal says what is left.
                _ => (ServiceOutcome::LeftOver, Vec::new()),
            };
            (outcome, left, Some(Report(&e).to_string()))
        }
    };
    ServiceResult { service: member.label(), outcome, seconds: took.as_secs_f64(), calls: member.calls(), left_over, error }
}

/// Applies `plans` (from [`plan`], in the members' order), `options.concurrency` services at
/// once, each in its own journal; a failure is handled as `options.on_failure` says.
pub async fn apply(members: &[Member], plans: &[Plan], options: &FleetOptions) -> FleetReport {
    let stopped = AtomicBool::new(false);
    let stop_after_failure = options.on_failure != OnFailure::Continue;
    let shared = options.shared_waits.then(SharedWaits::new);
    let run_options = sharing(members, shared.as_ref());
    let runs = members.iter().zip(plans).zip(&run_options).enumerate().map(|(i, ((m, p), o))| {
        let stopped = &stopped;
        // Checked when the service takes its slot (this closure runs then, lazily), not at its
        // first poll: services started together all run, even if one fails at once.
        let skip = stop_after_failure && stopped.load(Ordering::SeqCst);
        let run = async move {
            if skip {
                return finished(m, o, ServiceResult {
                    service: m.label(),
                    outcome: ServiceOutcome::NotStarted,
                    seconds: 0.0,
                    calls: 0,
                    left_over: Vec::new(),
                    error: None,
                });
            }
            let started = start(m, o);
            let result = p.apply(&m.aws, m.journal.as_ref(), o).await.map(|o| match o {
                Outcome::NothingToDo => ServiceOutcome::NothingToDo,
                _ => ServiceOutcome::Applied,
            });
            if result.is_err() {
                stopped.store(true, Ordering::SeqCst);
            }
            finished(m, o, row(m, started.elapsed(), result))
        };
        async move { (i, run.await) }
    });
    // Unordered: a long run does not hold a slot that a finished one behind it could use.
    let mut rows: Vec<(usize, ServiceResult)> =
        futures::stream::iter(runs).buffer_unordered(options.concurrency.max(1)).collect().await;
    rows.sort_by_key(|(i, _)| *i);
    let mut rows: Vec<ServiceResult> = rows.into_iter().map(|(_, r)| r).collect();
    let failed = rows.iter().any(|r| !matches!(r.outcome, ServiceOutcome::Applied | ServiceOutcome::NothingToDo | ServiceOutcome::NotStarted));
    if options.on_failure == OnFailure::RollbackAll && failed {
        // Only what this run applied: a service that was migrated already is not this run's.
        let undo = members.iter().zip(&run_options).zip(rows.iter_mut()).filter(|(_, r)| r.outcome == ServiceOutcome::Applied);
        futures::stream::iter(undo)
            .for_each_concurrent(options.concurrency.max(1), |((m, o), r)| async move {
            let started = start(m, o);
            let result = crate::rollback(&m.aws, m.journal.as_ref(), o).await;
            let mut undone = row_of_rollback(m, started.elapsed(), result);
            undone.seconds += r.seconds;
            if undone.error.is_none() {
                undone.error = Some("rolled back: another service of the fleet failed (--on-failure rollback-all)".into());
            }
            *r = finished(m, o, undone);
            })
            .await;
    }
    FleetReport { services: rows }
}

fn row_of_rollback(member: &Member, took: Duration, result: crate::Result<crate::RollbackReport>) -> ServiceResult {
    match result {
        Ok(report) if report.is_clean() => row(member, took, Ok(ServiceOutcome::RolledBack)),
        Ok(report) => ServiceResult {
            left_over: report.left_over,
            error: Some("rollback incomplete".into()),
            ..row(member, took, Ok(ServiceOutcome::LeftOver))
        },
        Err(e) => row(member, took, Err(e)).with_outcome_if_failed(ServiceOutcome::LeftOver),
    }
}

impl ServiceResult {
    // A rollback that failed before changing anything is still not a clean rollback.
    fn with_outcome_if_failed(mut self, outcome: ServiceOutcome) -> Self {
        if self.outcome == ServiceOutcome::Failed {
            self.outcome = outcome;
        }
        self
    }
}

/// Rolls back every member from its journal, `concurrency` at once, their waits shared.
pub async fn rollback(members: &[Member], concurrency: usize) -> FleetReport {
    let run_options = sharing(members, Some(&SharedWaits::new()));
    let runs = members.iter().zip(&run_options).map(|(m, o)| async move {
        let started = start(m, o);
        let result = crate::rollback(&m.aws, m.journal.as_ref(), o).await;
        finished(m, o, row_of_rollback(m, started.elapsed(), result))
    });
    FleetReport { services: futures::stream::iter(runs).buffered(concurrency.max(1)).collect().await }
}

/// Resumes every member from its journal, `concurrency` at once, their waits shared.
pub async fn resume(members: &[Member], concurrency: usize) -> FleetReport {
    let run_options = sharing(members, Some(&SharedWaits::new()));
    let runs = members.iter().zip(&run_options).map(|(m, o)| async move {
        let started = start(m, o);
        let row = match crate::resume(&m.aws, m.journal.as_ref(), o).await {
            Ok(Outcome::RolledBack(report)) => row_of_rollback(m, started.elapsed(), Ok(report)),
            Ok(Outcome::NothingToDo) => row(m, started.elapsed(), Ok(ServiceOutcome::NothingToDo)),
            Ok(_) => row(m, started.elapsed(), Ok(ServiceOutcome::Applied)),
            Err(e) => row(m, started.elapsed(), Err(e)),
        };
        finished(m, o, row)
    });
    FleetReport { services: futures::stream::iter(runs).buffered(concurrency.max(1)).collect().await }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(service: &str, outcome: ServiceOutcome, error: Option<&str>) -> ServiceResult {
        ServiceResult { service: service.into(), outcome, seconds: 1.0, calls: 3, left_over: Vec::new(), error: error.map(Into::into) }
    }

    fn code(rows: Vec<ServiceResult>) -> u8 {
        FleetReport { services: rows }.exit_code()
    }

    #[test]
    fn exit_codes_keep_their_meaning_fleet_wide() {
        use ServiceOutcome::*;
        assert_eq!(code(vec![result("a", Applied, None), result("b", NothingToDo, None)]), 0);
        // `rollback --spec`: every service rolled back cleanly is done.
        assert_eq!(code(vec![result("a", RolledBack, None), result("b", RolledBack, None)]), 0);
        assert_eq!(code(vec![result("a", Applied, None), result("b", Failed, Some("denied"))]), 1);
        assert_eq!(code(vec![result("a", Failed, Some("denied")), result("b", NotStarted, None)]), 1);
        // rollback-all undid a service that had applied: the fleet failed, nothing is left.
        assert_eq!(code(vec![result("a", RolledBack, Some("another failed")), result("b", Failed, Some("denied"))]), 1);
        assert_eq!(code(vec![result("a", Applied, None), result("b", LeftOver, Some("undo failed")), result("c", Failed, None)]), 3);
    }

    #[test]
    fn the_table_names_what_is_left() {
        let mut left = result("prod/cart", ServiceOutcome::LeftOver, Some("rollback incomplete"));
        left.left_over.push(LeftOver::new("target group cart-tg-green", "in use", "delete it by hand"));
        let table = FleetReport { services: vec![result("prod/web", ServiceOutcome::Applied, None), left] }.to_string();
        let lines: Vec<_> = table.lines().collect();
        assert!(lines[0].starts_with("service ") && lines[0].ends_with("left over"), "{table}");
        assert!(lines[1].starts_with("prod/web ") && lines[1].contains("applied") && lines[1].ends_with('-'), "{table}");
        assert!(lines[2].contains("LEFT OVER") && lines[2].ends_with("target group cart-tg-green"), "{table}");
        assert!(table.contains("fix: delete it by hand"), "{table}");
    }
}
