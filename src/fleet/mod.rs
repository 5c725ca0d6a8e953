//! Fleets: many services migrated from one spec file ([`spec`]), with one report.
//!
//! Every service is planned before anything changes ([`plan`]): one refusal anywhere and the
//! fleet stops there, every refusal listed. Then [`apply`] runs the plans with bounded
//! concurrency, each service with its own journal, and an [`OnFailure`] policy says what a
//! failure means for the others. [`rollback`] and [`resume`] act on every service's journal.
//! The [`FleetReport`] has one row per service and the fleet's exit code.

pub mod spec;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::error::Report;
use crate::report::{LeftOver, Outcome};
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
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self { concurrency: DEFAULT_CONCURRENCY, on_failure: OnFailure::Stop }
    }
}

impl FleetOptions {
    /// `concurrency` services at once (0 counts as 1), failures handled by `on_failure`.
    pub fn new(concurrency: usize, on_failure: OnFailure) -> Self {
        Self { concurrency: concurrency.max(1), on_failure }
    }
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
    /// Whether every failure is a refusal of the input or the live setup (exit 2); else an
    /// AWS call failed while reading (exit 1). Nothing was changed either way.
    pub fn all_refused(&self) -> bool {
        self.failures.iter().all(|(_, e)| e.kind() == crate::ErrorKind::InvalidInput)
    }
}

/// Plans every member, `concurrency` at once, each with its permissions preflight when the
/// member asks for it ([`Member::preflight`]); the plans in the members' order.
///
/// # Errors
/// A [`FleetPlanError`] listing every service that could not be planned (refusals, the
/// preflight's denials, read errors) when any could not: the fleet is all planned or not run.
pub async fn plan(members: &[Member], concurrency: usize) -> Result<Vec<Plan>, FleetPlanError> {
    let planned = members.iter().map(|m| async move { crate::Transaction::new(m.migration.clone()).preflight(m.preflight).plan(&m.aws).await });
    let results: Vec<_> = futures::stream::iter(planned).buffered(concurrency.max(1)).collect().await;
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
    let runs = members.iter().zip(plans).enumerate().map(|(i, (m, p))| {
        let stopped = &stopped;
        // Checked when the service takes its slot (this closure runs then, lazily), not at its
        // first poll: services started together all run, even if one fails at once.
        let skip = stop_after_failure && stopped.load(Ordering::SeqCst);
        let run = async move {
            if skip {
                return ServiceResult {
                    service: m.label(),
                    outcome: ServiceOutcome::NotStarted,
                    seconds: 0.0,
                    calls: 0,
                    left_over: Vec::new(),
                    error: None,
                };
            }
            let started = tokio::time::Instant::now();
            let result = p.apply(&m.aws, m.journal.as_ref(), &m.options).await.map(|o| match o {
                Outcome::NothingToDo => ServiceOutcome::NothingToDo,
                _ => ServiceOutcome::Applied,
            });
            if result.is_err() {
                stopped.store(true, Ordering::SeqCst);
            }
            row(m, started.elapsed(), result)
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
        let undo = members.iter().zip(rows.iter_mut()).filter(|(_, r)| r.outcome == ServiceOutcome::Applied);
        futures::stream::iter(undo)
            .for_each_concurrent(options.concurrency.max(1), |(m, r)| async move {
            let started = tokio::time::Instant::now();
            let result = crate::rollback(&m.aws, m.journal.as_ref(), &m.options).await;
            let mut undone = row_of_rollback(m, started.elapsed(), result);
            undone.seconds += r.seconds;
            if undone.error.is_none() {
                undone.error = Some("rolled back: another service of the fleet failed (--on-failure rollback-all)".into());
            }
            *r = undone;
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

/// Rolls back every member from its journal, `concurrency` at once.
pub async fn rollback(members: &[Member], concurrency: usize) -> FleetReport {
    let runs = members.iter().map(|m| async move {
        let started = tokio::time::Instant::now();
        let result = crate::rollback(&m.aws, m.journal.as_ref(), &m.options).await;
        row_of_rollback(m, started.elapsed(), result)
    });
    FleetReport { services: futures::stream::iter(runs).buffered(concurrency.max(1)).collect().await }
}

/// Resumes every member from its journal, `concurrency` at once.
pub async fn resume(members: &[Member], concurrency: usize) -> FleetReport {
    let runs = members.iter().map(|m| async move {
        let started = tokio::time::Instant::now();
        match crate::resume(&m.aws, m.journal.as_ref(), &m.options).await {
            Ok(Outcome::RolledBack(report)) => row_of_rollback(m, started.elapsed(), Ok(report)),
            Ok(Outcome::NothingToDo) => row(m, started.elapsed(), Ok(ServiceOutcome::NothingToDo)),
            Ok(_) => row(m, started.elapsed(), Ok(ServiceOutcome::Applied)),
            Err(e) => row(m, started.elapsed(), Err(e)),
        }
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
