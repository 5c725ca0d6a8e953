//! The transaction executor: runs a plan's steps as a graph scheduled from their declared
//! dependencies only (a step starts when every step it depends on finished; independent steps
//! run concurrently), journals every mutating call, and on failure undoes what this run did,
//! newest first. Rollback is explicit and async and returns a [`RollbackReport`] the caller
//! must read; nothing is undone in `Drop`.

pub mod drift;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::stream::{FuturesUnordered, StreamExt};

pub use crate::error::ApplyFailed;
pub use crate::events::{Event, EventKind};
pub use crate::journal;
pub use crate::options::ApplyOptions;
pub use crate::report::{LeftOver, Outcome, RollbackReport};
pub use drift::{CarryOver, RollbackPlan, ServiceDrift};

use crate::error::{Cancelled, Error, Result};
use crate::identity::{Caller, RunIdentity, RunInfo, short_cluster};
use crate::lock::RunLock;
use crate::journal::{Entry, Journal, JournalStatus, pending_effects};
use crate::plan::{Action, Plan, PlanError, Refusal, RefusalKind, StepId};
use crate::registry::StepRegistry;
use crate::step::{Step, StepContext, UndoContext};
use crate::{AwsClients, steps};

fn ensure_startable(journal: &dyn Journal) -> Result<()> {
    match journal::status(&journal.records()?) {
        JournalStatus::Unfinished => Err(Error::Unfinished(
            "the journal holds an unfinished run: resume it or roll it back first; nothing was changed".into(),
        )),
        JournalStatus::RollbackIncomplete => Err(Error::Unfinished(
            "the journal holds a rollback that left resources behind: run rollback again first; nothing was changed".into(),
        )),
        _ => Ok(()),
    }
}

/// Every step of `plan`, built-in or rebuilt from `registry`; refuses (changing nothing) a
/// plan naming a kind the registry does not know, or steps that do not form a runnable graph.
pub(crate) fn build_steps(plan: &Plan, registry: &StepRegistry) -> Result<Vec<Box<dyn Step>>> {
    let steps = plan.changes.iter().map(|c| steps::build(c, registry)).collect::<Result<Vec<_>>>()?;
    let graph = graph_refusals(plan);
    if !graph.is_empty() {
        return Err(Error::Plan(PlanError::new(graph)));
    }
    Ok(steps)
}

/// What keeps the plan's changes from being a graph the executor can run: a duplicate id, a
/// dependency on a step the plan does not hold, a cycle.
pub(crate) fn graph_refusals(plan: &Plan) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    let mut ids = BTreeSet::new();
    for c in &plan.changes {
        if !ids.insert(&c.step) {
            refusals.push(Refusal::new(
                RefusalKind::StepGraph,
                format!("two steps of the transaction are named {}", c.step),
                "give every step its own id",
            ));
        }
    }
    for c in &plan.changes {
        for d in &c.depends_on {
            if !ids.contains(d) {
                refusals.push(Refusal::new(
                    RefusalKind::StepGraph,
                    format!("step {} depends on step {d}, which is not in the transaction", c.step),
                    format!("add step {d} to the transaction, or drop the dependency"),
                ));
            }
        }
    }
    if refusals.is_empty() {
        // Kahn's algorithm: whatever cannot be ordered sits on a cycle.
        let mut left: BTreeMap<&StepId, BTreeSet<&StepId>> =
            plan.changes.iter().map(|c| (&c.step, c.depends_on.iter().collect())).collect();
        loop {
            let ready: Vec<&StepId> = left.iter().filter(|(_, d)| d.is_empty()).map(|(s, _)| *s).collect();
            if ready.is_empty() {
                break;
            }
            for r in ready {
                left.remove(r);
                left.values_mut().for_each(|d| {
                    d.remove(r);
                });
            }
        }
        if !left.is_empty() {
            let names: Vec<String> = left.keys().map(|s| s.to_string()).collect();
            refusals.push(Refusal::new(
                RefusalKind::StepGraph,
                format!("the dependencies of steps {} form a cycle", names.join(", ")),
                "break the cycle: a step cannot (indirectly) depend on itself",
            ));
        }
    }
    refusals
}

/// Plans again from the live account and refuses `plan` when the built-in changes differ
/// (or it cannot tell), so a plan is never applied to an account it was not made for.
async fn ensure_current(plan: &Plan, aws: &AwsClients) -> Result<()> {
    let stale = |problem: String| {
        Error::Plan(PlanError::new(vec![Refusal::new(
            RefusalKind::StalePlan,
            problem,
            "plan again (migrate plan) and review the new plan; nothing was changed",
        )]))
    };
    let Some(migration) = plan.migration.as_deref() else {
        return Err(stale("the plan does not say which migration it was made for (it was written by an older version)".into()));
    };
    let inventory = Box::pin(crate::discover::discover(aws, migration)).await?;
    let again = match crate::plan::plan_steps(migration, &inventory, &plan.built_in_steps) {
        Ok(p) => p,
        Err(e) => {
            let mut refusals = vec![Refusal::new(
                RefusalKind::StalePlan,
                "the account changed since the plan was made, and a plan made now is refused",
                "fix what is listed below, plan again and review the new plan; nothing was changed",
            )];
            refusals.extend(e.refusals().iter().cloned());
            return Err(Error::Plan(PlanError::new(refusals)));
        }
    };
    let changed: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.step.is_built_in())
        .filter(|c| {
            again.change(&c.step).is_none_or(|now| {
                crate::plan::fingerprint(std::slice::from_ref(now)) != crate::plan::fingerprint(std::slice::from_ref(*c))
            })
        })
        .map(|c| c.step.to_string())
        .collect();
    let added = again.changes.iter().filter(|c| plan.change(&c.step).is_none()).count();
    if !changed.is_empty() || added > 0 {
        return Err(stale(format!(
            "the account changed since the plan was made: a plan made now differs in step(s) {}",
            if changed.is_empty() { "added since".to_owned() } else { changed.join(", ") }
        )));
    }
    Ok(())
}

impl Plan {
    /// Applies the plan as a transaction. Before the first change it reads the account again
    /// and refuses a stale plan, and refuses a plan whose users' steps are not registered in
    /// `opts` (nothing changed either way). It records who runs it and on what in the journal
    /// (refusing a journal that holds another migration's run), and holds the service's run
    /// lock ([`crate::lock`]) from before the re-read to the end, also on failure. On
    /// failure, everything this run did is undone and [`Error::Apply`] carries the
    /// [`RollbackReport`]. A journal that cannot be written stops the run at once (like a
    /// crash): resume or roll back from the journal afterwards.
    pub async fn apply(&self, aws: &AwsClients, journal: &dyn Journal, opts: &ApplyOptions) -> Result<Outcome> {
        ensure_startable(journal)?;
        let steps = build_steps(self, opts.registry())?;
        let caller = Caller::of(aws).await?;
        let identity = RunIdentity::new(&caller, &self.cluster, &self.service, &self.migration_id);
        ensure_same_migration(&journal.records()?, &identity)?;
        if let Some(account) = self.account_id.as_deref().filter(|a| *a != caller.account_id) {
            return Err(Error::Plan(PlanError::new(vec![Refusal::new(
                RefusalKind::StalePlan,
                format!("the plan was made in account {account}, and these credentials act in account {}", caller.account_id),
                "plan with the credentials you apply with; nothing was changed",
            )])));
        }
        let run = RunInfo::new(identity);
        let lock = take_lock(aws, opts, &caller, &self.cluster, &self.service, &self.migration_id, &run.run_id, "apply").await?;
        let result = async {
            // Also for a plan with nothing to do: "nothing to do" must be true of the account now.
            if opts.check_current {
                ensure_current(self, aws).await?;
            }
            if self.is_noop() {
                return Ok(Outcome::NothingToDo);
            }
            journal
                .append(Entry::Begin { plan: Box::new(self.clone()), run: Some(Box::new(run)) })
                .map_err(nothing_changed)?;
            Box::pin(finish(aws, self, &steps, journal, opts, true)).await
        }
        .await;
        release_lock(aws, opts, &self.migration_id, lock).await;
        result.map_err(|e| named_cancel(e, "apply"))
    }
}

/// Names the operation a cancelled run was part of.
fn named_cancel(e: Error, operation: &str) -> Error {
    match e {
        Error::Cancelled(c) => Error::Cancelled(Cancelled::new(operation, c.changed())),
        other => other,
    }
}

/// A journal failure before the run's first change: the request is refused, nothing changed.
fn nothing_changed(e: Error) -> Error {
    match e {
        Error::Journal(j) => Error::Journal(j.before_any_change()),
        other => other,
    }
}

/// One journal, one migration: refuses a journal whose last run belongs to another account,
/// region or service (its run could no longer be rolled back from it).
fn ensure_same_migration(records: &[journal::Record], identity: &RunIdentity) -> Result<()> {
    let Some((plan, _)) = journal::last_run(records) else { return Ok(()) };
    let recorded = match journal::last_run_info(records) {
        Some(info) => info.identity.clone(),
        // Written before runs recorded their identity: the plan names the service.
        None => RunIdentity { cluster: short_cluster(&plan.cluster).to_owned(), service: plan.service.clone(), migration_id: plan.migration_id.clone(), ..identity.clone() },
    };
    let same = recorded.partition == identity.partition
        && recorded.account_id == identity.account_id
        && recorded.region == identity.region
        && recorded.cluster == identity.cluster
        && recorded.service == identity.service
        && recorded.migration_id == identity.migration_id;
    if same {
        return Ok(());
    }
    Err(Error::Journal(
        crate::error::JournalError::new(format!(
            "refusing to apply with this journal: it holds a run of {recorded}, and this run is for {identity}; \
             one journal records one migration (its run could no longer be rolled back from it); use another journal \
             path; nothing was changed"
        ))
        .before_any_change(),
    ))
}

/// Checks that the journal's last run belongs to the caller's account and region (and to the
/// service `opts` names, if any) before `resume` or `rollback` act on it.
fn ensure_journal_belongs(records: &[journal::Record], plan: &Plan, caller: &Caller, opts: &ApplyOptions, what: &str) -> Result<()> {
    let service = opts.journal_service.as_ref().map(|(c, s)| (c.as_str(), s.as_str()));
    match journal::last_run_info(records) {
        Some(info) => crate::identity::check_journal_run(&info.identity, caller, service, what),
        None => {
            // Written before runs recorded their identity: the plan knows the service, and
            // the account when discovery saw it.
            let recorded = RunIdentity {
                partition: caller.partition.clone(),
                account_id: plan.account_id.clone().unwrap_or_else(|| caller.account_id.clone()),
                region: caller.region.clone(),
                cluster: short_cluster(&plan.cluster).to_owned(),
                service: plan.service.clone(),
                migration_id: plan.migration_id.clone(),
            };
            crate::identity::check_journal_run(&recorded, caller, service, what)
        }
    }
}

/// The run id of the journal's last run (journals written before runs had ids: derived from
/// the migration id, so resume and rollback of one still share a lock).
fn journal_run_id(records: &[journal::Record], plan: &Plan) -> String {
    journal::last_run_info(records).map_or_else(|| format!("legacy:{}", plan.migration_id), |i| i.run_id.clone())
}

#[allow(clippy::too_many_arguments)]
async fn take_lock(
    aws: &AwsClients,
    opts: &ApplyOptions,
    caller: &Caller,
    cluster: &str,
    service: &str,
    migration_id: &str,
    run_id: &str,
    operation: &str,
) -> Result<Option<RunLock>> {
    if !opts.run_lock {
        return Ok(None);
    }
    let lock = crate::lock::acquire(aws, cluster, service, run_id, operation, &crate::lock::holder_name(&caller.arn)).await?;
    opts.emit(migration_id, EventKind::Locked { lock: lock.info().clone() });
    Ok(Some(lock))
}

/// Releases the run's lock; a failure does not change the run's outcome, it is reported as
/// an event (the next run is refused until the lock is broken by its id).
async fn release_lock(aws: &AwsClients, opts: &ApplyOptions, migration_id: &str, lock: Option<RunLock>) {
    let Some(lock) = lock else { return };
    let info = lock.info().clone();
    if let Err(e) = lock.release(aws).await {
        tracing::warn!(error = %crate::error::Report(&e), "the run lock could not be released");
        opts.emit(migration_id, EventKind::LockNotReleased { lock: info, error: crate::error::Report(&e).to_string() });
    }
}

/// Runs every step of `plan` (idempotently) and commits, or rolls back on failure.
async fn finish(
    aws: &AwsClients,
    plan: &Plan,
    steps: &[Box<dyn Step>],
    journal: &dyn Journal,
    opts: &ApplyOptions,
    fresh: bool,
) -> Result<Outcome> {
    match Box::pin(run_graph(aws, plan, steps, journal, opts, fresh)).await {
        Ok(()) => {
            journal.append(Entry::Committed)?;
            Ok(Outcome::Applied)
        }
        // Stopped like a crash, but cleanly: the journal is unfinished, resume or roll back.
        Err((_, e @ (Error::Journal(_) | Error::Cancelled(_)))) => Err(e),
        Err((step, cause)) => {
            let reason = format!("step {step} failed: {}", crate::error::Report(&cause));
            let rollback = compensate(aws, plan, steps, journal, opts, &reason, None).await?;
            Err(Error::Apply(Box::new(ApplyFailed::new(step, cause, rollback))))
        }
    }
}

/// Undoes the last run recorded in the journal (a completed migration, an interrupted one,
/// or an incomplete earlier rollback). Users' steps in it must be registered in `opts`.
/// Refuses, changing nothing, a journal whose run belongs to another account or region than
/// the clients' (or to another service than [`ApplyOptions::journal_of`] names), while
/// another run holds the service's lock, and while a CodeDeploy deployment of the
/// migration's deployment group is in flight (unless [`ApplyOptions::force_rollback`]). A
/// journal that records no run is refused too ([`Error::Journal`], nothing changed): it says
/// nothing about the account.
///
/// Drift-aware: what changed on the migrated service since the run left it (desired count,
/// task definition) is carried over into the restored service; [`rollback_plan`] shows it
/// all before. A service that is gone or on another controller carries nothing over.
pub async fn rollback(aws: &AwsClients, journal: &dyn Journal, opts: &ApplyOptions) -> Result<RollbackReport> {
    let records = journal.records()?;
    let Some((plan, _)) = journal::last_run(&records) else { return Err(no_run("roll back")) };
    let caller = Caller::of(aws).await?;
    ensure_journal_belongs(&records, plan, &caller, opts, "roll back")?;
    if journal::status(&records) == JournalStatus::RolledBack {
        return Ok(RollbackReport::default());
    }
    let plan = plan.clone();
    let steps = build_steps(&plan, opts.registry())?;
    let run_id = journal_run_id(&records, &plan);
    let lock = take_lock(aws, opts, &caller, &plan.cluster, &plan.service, &plan.migration_id, &run_id, "rollback").await?;
    let report = async {
        // Read under the lock: what is decided on is what the undo meets.
        let seen = observe(aws, &plan, &journal.records()?, opts).await?;
        if let Some(r) = seen.refusal {
            return Err(Error::Plan(PlanError::new(vec![r])));
        }
        let carry = (!seen.carry_over.is_empty()).then_some(seen.carry_over);
        compensate(aws, &plan, &steps, journal, opts, "rollback requested", carry).await
    }
    .await;
    release_lock(aws, opts, &plan.migration_id, lock).await;
    report.map_err(|e| named_cancel(e, "rollback"))
}

/// What [`rollback`] would do now, without doing it: the changes it would undo (newest
/// first), what changed on the migrated service since the run (carried over into the
/// restored service), and whether it is refused (a CodeDeploy deployment in flight). Read-only;
/// refuses a journal of another account, region or service as [`rollback`] does.
pub async fn rollback_plan(aws: &AwsClients, journal: &dyn Journal, opts: &ApplyOptions) -> Result<RollbackPlan> {
    let records = journal.records()?;
    let status = journal::status(&records);
    let Some((plan, _)) = journal::last_run(&records) else { return Ok(RollbackPlan::nothing(status)) };
    let caller = Caller::of(aws).await?;
    ensure_journal_belongs(&records, plan, &caller, opts, "roll back")?;
    if status == JournalStatus::RolledBack {
        return Ok(RollbackPlan::nothing(status));
    }
    observe(aws, plan, &records, opts).await
}

/// Reads the live migrated service and the deployment group's deployments in flight, and
/// plans the rollback from them (the pure part: [`drift`]).
async fn observe(aws: &AwsClients, plan: &Plan, records: &[journal::Record], opts: &ApplyOptions) -> Result<RollbackPlan> {
    let pending = pending_effects(records);
    let left = drift::left_service(plan, &pending);
    let live = match left {
        Some(l) => crate::discover::describe_service(aws, &plan.cluster, &l.name).await?,
        None => None,
    };
    let group = drift::deployment_group(plan).map(|(a, g)| (a.to_owned(), g.to_owned()));
    let deployments = match &group {
        // Nothing to undo, nothing to refuse: a journal already rolled back reads nothing.
        Some((app, g)) if !pending.is_empty() => match crate::deploy::active_deployments(aws, app, g).await {
            Ok(d) => d,
            Err(Error::Aws(a))
                if a.code().is_some_and(|c| {
                    ["ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"].contains(&c)
                }) =>
            {
                Vec::new()
            }
            Err(e) => return Err(e),
        },
        _ => Vec::new(),
    };
    let in_flight = drift::InFlight { group, deployments, task_sets: live.as_ref().map_or(0, |s| s.task_set_count) };
    let drift = left.map(|l| drift::compare(l, live.as_ref()));
    let mut seen = drift::rollback_plan(plan, journal::status(records), &pending, drift, &in_flight, opts.force_rollback);
    // An interrupted rollback restores what the first attempt carried over (the migrated
    // service may be gone by now).
    if seen.carry_over.is_empty()
        && let Some(c) = journal::last_carry_over(records)
    {
        seen.carry_over = c;
    }
    Ok(seen)
}

/// Continues a run left unfinished by a crash: finishes the migration (every step is
/// idempotent and looks at the live state first), or finishes an interrupted rollback.
/// Users' steps in it must be registered in `opts`. Refuses a journal of another account,
/// region or service, a locked service, and a journal that records no run as [`rollback`] does.
pub async fn resume(aws: &AwsClients, journal: &dyn Journal, opts: &ApplyOptions) -> Result<Outcome> {
    let records = journal.records()?;
    let Some((plan, run)) = journal::last_run(&records) else { return Err(no_run("resume")) };
    let caller = Caller::of(aws).await?;
    ensure_journal_belongs(&records, plan, &caller, opts, "resume")?;
    match journal::status(&records) {
        JournalStatus::Unfinished => {
            let plan = with_implied_order(plan.clone());
            let steps = build_steps(&plan, opts.registry())?;
            let run_id = journal_run_id(&records, &plan);
            let lock = take_lock(aws, opts, &caller, &plan.cluster, &plan.service, &plan.migration_id, &run_id, "resume").await?;
            // A step had failed (the crash came while the others drained, or during the
            // rollback): finish undoing rather than going forward.
            let failed = run.iter().any(|r| matches!(r.entry, Entry::RollbackStarted { .. } | Entry::StepFailed { .. }));
            let outcome = if failed {
                compensate(aws, &plan, &steps, journal, opts, "resuming an interrupted rollback", None).await.map(Outcome::RolledBack)
            } else {
                finish(aws, &plan, &steps, journal, opts, false).await
            };
            release_lock(aws, opts, &plan.migration_id, lock).await;
            outcome.map_err(|e| named_cancel(e, "resume"))
        }
        JournalStatus::RollbackIncomplete => Err(Error::Unfinished(
            "the last rollback left resources behind: run rollback again".into(),
        )),
        _ => Ok(Outcome::NothingToDo),
    }
}

/// A journal without a run tells nothing about the account: saying "rolled back, as it was"
/// would be false reassurance when the run was recorded elsewhere.
fn no_run(what: &str) -> Error {
    Error::Journal(
        crate::error::JournalError::new(format!(
            "the journal records no run, so there is nothing to {what} from it (is it the journal the run wrote?); \
             nothing was changed"
        ))
        .before_any_change(),
    )
}

/// Plans written before the executor scheduled from `depends_on` only (no `migration` in them)
/// ran the role and application before the cutover without declaring it; keep that order.
fn with_implied_order(mut plan: Plan) -> Plan {
    if plan.migration.is_none() {
        let present: Vec<StepId> = plan.changes.iter().map(|c| c.step.clone()).collect();
        if let Some(c) = plan.changes.iter_mut().find(|c| c.step == StepId::ServiceCutover) {
            for d in [StepId::ServiceRole, StepId::Application] {
                if present.contains(&d) && !c.depends_on.contains(&d) {
                    c.depends_on.push(d);
                }
            }
        }
    }
    plan
}

/// What a rollback of the journal's last run would undo, one line each, newest last.
pub fn pending_changes(records: &[journal::Record]) -> Vec<String> {
    pending_effects(records)
        .iter()
        .map(|p| format!("{}{}", p.effect.describe(), if p.confirmed { "" } else { " (outcome unknown)" }))
        .collect()
}

/// Undoes pending effects of the last run in reverse order, each by the step that made it; a
/// failed undo does not stop the others. `carry` (or, when `None`, what an earlier rollback
/// of this run journaled) is applied to the services the cutover deleted. A cancelled run
/// stops before its next undo and abandons the one in progress (undos are idempotent), leaving
/// the rollback unfinished in the journal.
async fn compensate(
    aws: &AwsClients,
    plan: &Plan,
    steps: &[Box<dyn Step>],
    journal: &dyn Journal,
    opts: &ApplyOptions,
    reason: &str,
    carry: Option<CarryOver>,
) -> Result<RollbackReport> {
    let records = journal.records()?;
    let pending = pending_effects(&records);
    let carry = carry.or_else(|| journal::last_carry_over(&records));
    journal.append(Entry::RollbackStarted { reason: reason.to_owned(), carry_over: carry.clone() })?;
    let carry = carry.unwrap_or_default();
    let waits = waits_for(plan, opts.waits());
    let cx = UndoContext { aws, plan, opts: &waits };
    let cancel = opts.cancel_token();
    let stopped = || Error::Cancelled(Cancelled::new("rollback", true));
    let mut report = RollbackReport::default();
    for p in pending.iter().rev() {
        if cancel.is_some_and(crate::cancel::CancelToken::is_cancelled) {
            return Err(stopped());
        }
        let effect = drift::carried(&p.step, &p.effect, &carry);
        let what = p.effect.describe();
        opts.emit(&plan.migration_id, EventKind::Undoing { what: what.clone() });
        let step = steps.iter().find(|s| s.id() == p.step);
        let undo = async {
            match step {
                Some(s) => Box::pin(s.undo(&cx, &effect, p.confirmed)).await,
                None => Err(Error::custom(format!("the plan has no step {} to undo it", p.step))),
            }
        };
        let undone = tokio::select! {
            r = undo => r,
            () = crate::cancel::cancelled(cancel) => return Err(stopped()),
        };
        match undone {
            Ok(()) => {
                journal.append(Entry::Undone { intent: p.intent })?;
                opts.emit(&plan.migration_id, EventKind::Undone { what: what.clone() });
                report.undone.push(what);
            }
            Err(e) => {
                let error = crate::error::Report(&e).to_string();
                journal.append(Entry::UndoFailed { intent: p.intent, error: error.clone() })?;
                opts.emit(&plan.migration_id, EventKind::UndoFailed { what: what.clone(), error: error.clone() });
                let fix = step.map_or_else(|| format!("undo by hand: {what}"), |s| s.manual_undo(&effect));
                report.left_over.push(LeftOver::new(what, error, fix));
            }
        }
    }
    journal.append(Entry::RolledBack { clean: report.is_clean() })?;
    Ok(report)
}

type StepResult = std::result::Result<StepId, (StepId, Error)>;

/// Runs one step: a no-op publishes what exists; anything else is journaled around `apply`.
async fn run_one(cx: StepContext<'_>, step: &dyn Step, action: Action) -> StepResult {
    let id = cx.step.clone();
    if action == Action::NoOp {
        step.unchanged(&cx);
        return Ok(id);
    }
    let j = |e: Error| (id.clone(), e);
    cx.journal.append(Entry::StepStarted { step: id.clone() }).map_err(j)?;
    cx.emit(EventKind::StepStarted { step: id.clone() });
    // Boxed: SDK futures are large and a whole migration nested on the stack overflows it.
    match Box::pin(step.apply(&cx)).await {
        Ok(()) => {
            cx.journal.append(Entry::StepFinished { step: id.clone() }).map_err(j)?;
            cx.emit(EventKind::StepFinished { step: id.clone() });
            Ok(id)
        }
        // Stopped on request: not a failure, so resume goes forward.
        Err(e @ Error::Cancelled(_)) => Err((id, e)),
        Err(e) => {
            let error = crate::error::Report(&e).to_string();
            // So a crash while the other steps drain is resumed as a rollback, not forward.
            if !matches!(e, Error::Journal(_)) {
                cx.journal.append(Entry::StepFailed { step: id.clone(), error: error.clone() }).map_err(j)?;
            }
            cx.emit(EventKind::StepFailed { step: id.clone(), error });
            Err((id, e))
        }
    }
}

/// The waits of a run of `plan`: an explicit drain timeout stays; otherwise the migration's,
/// else the one the plan derived from the deregistration delay (never shorter than
/// `service_wait`'s deadline).
fn waits_for(plan: &Plan, waits: &crate::wait::Waits) -> crate::wait::Waits {
    use std::time::Duration;
    let explicit = waits.drain_timeout.or_else(|| plan.migration.as_ref()?.drain_timeout().map(|d| d.duration()));
    let derived = || {
        plan.changes.iter().find_map(|c| match &c.detail {
            crate::plan::ChangeDetail::ServiceCutover { drain_deadline_secs, .. } => {
                drain_deadline_secs.map(|s| Duration::from_secs(s).max(waits.service_wait.deadline))
            }
            _ => None,
        })
    };
    let mut out = waits.clone();
    out.drain_timeout = explicit.or_else(derived);
    // Shared only with runs in the same account.
    out.shared = waits.shared.as_ref().map(|s| s.in_account(plan.account_id.as_deref()));
    out
}

/// The scheduler: starts every step whose dependencies have finished, as soon as they have.
/// After a failure it starts nothing new but lets running steps finish, so the rollback sees
/// every effect.
async fn run_graph(
    aws: &AwsClients,
    plan: &Plan,
    steps: &[Box<dyn Step>],
    journal: &dyn Journal,
    opts: &ApplyOptions,
    fresh: bool,
) -> std::result::Result<(), (StepId, Error)> {
    let outputs = Mutex::new(BTreeMap::new());
    let waits = waits_for(plan, opts.waits());
    let calls_in_flight = AtomicUsize::new(0);
    let cancel = opts.cancel_token();
    let mut finished: BTreeSet<StepId> = BTreeSet::new();
    let mut started = vec![false; plan.changes.len()];
    let mut running = FuturesUnordered::new();
    let mut failure: Option<(StepId, Error)> = None;
    let mut stopped;
    loop {
        stopped = cancel.is_some_and(crate::cancel::CancelToken::is_cancelled);
        if failure.is_none() && !stopped {
            for (i, change) in plan.changes.iter().enumerate() {
                if started[i] || !change.depends_on.iter().all(|d| finished.contains(d)) {
                    continue;
                }
                started[i] = true;
                let cx = StepContext {
                    step: change.step.clone(),
                    aws,
                    journal,
                    plan,
                    opts: &waits,
                    observer: opts.observer_ref(),
                    outputs: &outputs,
                    cancel,
                    calls_in_flight: &calls_in_flight,
                    fresh,
                };
                running.push(run_one(cx, steps[i].as_ref(), change.action));
            }
        }
        let next = if stopped {
            // Stopping: calls already sent may answer and be journaled; once none is in
            // flight, what is left (waits, mostly) is abandoned by dropping it.
            if calls_in_flight.load(Ordering::SeqCst) == 0 {
                break;
            }
            tokio::select! {
                r = running.next() => r,
                () = tokio::time::sleep(std::time::Duration::from_millis(20)) => continue,
            }
        } else {
            tokio::select! {
                r = running.next() => r,
                () = crate::cancel::cancelled(cancel) => continue,
            }
        };
        match next {
            Some(Ok(id)) => {
                finished.insert(id);
            }
            Some(Err((_, Error::Cancelled(_)))) => {}
            // A journal that cannot be written outranks any other failure: stop as if crashed.
            Some(Err(f)) => match &failure {
                None => failure = Some(f),
                Some(_) if matches!(f.1, Error::Journal(_)) => failure = Some(f),
                Some(_) => {}
            },
            None => break,
        }
    }
    drop(running);
    let unfinished = plan.changes.iter().find(|c| !finished.contains(&c.step));
    if let (true, Some(c), false) = (stopped, unfinished, failure.as_ref().is_some_and(|f| matches!(f.1, Error::Journal(_)))) {
        return Err((c.step.clone(), Error::Cancelled(Cancelled::new("apply", true))));
    }
    if let Some(f) = failure {
        return Err(f);
    }
    match plan.changes.iter().find(|c| !finished.contains(&c.step)) {
        // Refused at plan time; a hand-edited plan could still get here.
        Some(c) => Err((c.step.clone(), Error::Plan(PlanError::new(graph_refusals(plan))))),
        None => Ok(()),
    }
}
