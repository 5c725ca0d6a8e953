//! The transaction executor: runs a plan's steps in dependency order (independent steps
//! concurrently), journals every mutating call, and on failure undoes what this run did in
//! reverse order. Rollback is explicit and async and returns a [`RollbackReport`] the caller
//! must read; nothing is undone in `Drop`.

pub mod journal;

use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::{Action, ChangeDetail, Plan, StepId, TestRoute};
use crate::steps::{self, Ctx, Outputs};
use crate::wait::WaitPolicy;
use crate::AwsClients;
use journal::{Entry, Journal, JournalStatus, pending_effects};

/// Progress of a run, for progress bars and logs.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
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
}

type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// Settings of a run: waits and a progress observer.
#[derive(Clone)]
#[must_use]
pub struct ApplyOptions {
    pub(crate) service_wait: WaitPolicy,
    pub(crate) iam_propagation: WaitPolicy,
    observer: Option<Observer>,
}

impl fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("service_wait", &self.service_wait)
            .field("iam_propagation", &self.iam_propagation)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self { service_wait: WaitPolicy::AWS, iam_propagation: WaitPolicy::IAM_PROPAGATION, observer: None }
    }
}

impl ApplyOptions {
    /// Defaults for real AWS.
    pub fn new() -> Self {
        Self::default()
    }
    /// How long to wait for services to run their tasks or become INACTIVE.
    pub fn service_wait(mut self, policy: WaitPolicy) -> Self {
        self.service_wait = policy;
        self
    }
    /// How long to retry CodeDeploy's "cannot assume role" errors after creating the role.
    pub fn iam_propagation(mut self, policy: WaitPolicy) -> Self {
        self.iam_propagation = policy;
        self
    }
    /// Called for every [`Event`].
    pub fn observer(mut self, f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(f));
        self
    }
    pub(crate) fn emit(&self, e: &Event) {
        tracing::info!(event = ?e, "migration progress");
        if let Some(o) = &self.observer {
            o(e);
        }
    }
}

/// What a successful run did.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every change was applied.
    Applied,
    /// The account already matched the plan; nothing was written.
    NothingToDo,
    /// A resumed run found an interrupted rollback and finished it.
    RolledBack(RollbackReport),
}

/// Something a rollback could not undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOver {
    /// The resource.
    pub what: String,
    /// Why undoing failed.
    pub error: String,
    /// How to remove or restore it by hand.
    pub how_to_fix: String,
}

/// The result of a rollback. Check [`RollbackReport::is_clean`]: when it is not, resources
/// are left behind and [`RollbackReport::left_over`] says what and how to fix it.
#[must_use = "a rollback may leave resources behind; check is_clean()"]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RollbackReport {
    /// Effects undone, in undo order.
    pub undone: Vec<String>,
    /// Effects that could not be undone.
    pub left_over: Vec<LeftOver>,
}

impl RollbackReport {
    /// Whether everything was undone.
    pub fn is_clean(&self) -> bool {
        self.left_over.is_empty()
    }
}

impl fmt::Display for RollbackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            write!(f, "rolled back {} change(s); the account is as it was", self.undone.len())?;
        } else {
            writeln!(f, "rollback INCOMPLETE: {} change(s) undone, {} left:", self.undone.len(), self.left_over.len())?;
            for l in &self.left_over {
                writeln!(f, "  - {}: {}\n    fix: {}", l.what, l.error, l.how_to_fix)?;
            }
        }
        Ok(())
    }
}

/// A failed apply: the step, the cause, and what the automatic rollback did.
#[derive(Debug)]
pub struct ApplyFailed {
    /// The step that failed.
    pub step: StepId,
    /// Why.
    pub cause: Error,
    /// What the rollback did; check `rollback.is_clean()`.
    pub rollback: RollbackReport,
}

impl fmt::Display for ApplyFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} failed: {}; {}", self.step, self.cause, self.rollback)
    }
}

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

impl Plan {
    /// Applies the plan as a transaction. On failure, everything this run did is undone and
    /// [`Error::Apply`] carries the [`RollbackReport`]. A journal that cannot be written stops
    /// the run at once (like a crash): resume or roll back from the journal afterwards.
    pub async fn apply(&self, aws: &AwsClients, journal: &dyn Journal, opts: &ApplyOptions) -> Result<Outcome> {
        ensure_startable(journal)?;
        if self.is_noop() {
            return Ok(Outcome::NothingToDo);
        }
        journal.append(Entry::Begin { plan: Box::new(self.clone()) })?;
        Box::pin(finish(aws, self, journal, opts, true)).await
    }
}

/// Runs every step of `plan` (idempotently) and commits, or rolls back on failure.
async fn finish(aws: &AwsClients, plan: &Plan, journal: &dyn Journal, opts: &ApplyOptions, fresh: bool) -> Result<Outcome> {
    let ctx = Ctx { aws, journal, plan, opts, outputs: Mutex::new(Outputs::default()), fresh };
    match Box::pin(run_steps(&ctx)).await {
        Ok(()) => {
            journal.append(Entry::Committed)?;
            Ok(Outcome::Applied)
        }
        Err((_, e @ Error::Journal(_))) => Err(e),
        Err((step, cause)) => {
            let rollback = compensate(aws, plan, journal, opts, &format!("step {step} failed: {cause}")).await?;
            Err(Error::Apply(Box::new(ApplyFailed { step, cause, rollback })))
        }
    }
}

/// Undoes the last run recorded in the journal (a completed migration, an interrupted one,
/// or an incomplete earlier rollback).
pub async fn rollback(aws: &AwsClients, journal: &dyn Journal, opts: &ApplyOptions) -> Result<RollbackReport> {
    let records = journal.records()?;
    let Some((plan, _)) = journal::last_run(&records) else { return Ok(RollbackReport::default()) };
    if journal::status(&records) == JournalStatus::RolledBack {
        return Ok(RollbackReport::default());
    }
    let plan = plan.clone();
    compensate(aws, &plan, journal, opts, "rollback requested").await
}

/// Continues a run left unfinished by a crash: finishes the migration (every step is
/// idempotent and looks at the live state first), or finishes an interrupted rollback.
pub async fn resume(aws: &AwsClients, journal: &dyn Journal, opts: &ApplyOptions) -> Result<Outcome> {
    let records = journal.records()?;
    let Some((plan, run)) = journal::last_run(&records) else { return Ok(Outcome::NothingToDo) };
    match journal::status(&records) {
        JournalStatus::Unfinished => {
            let plan = plan.clone();
            if run.iter().any(|r| matches!(r.entry, Entry::RollbackStarted { .. })) {
                let report = compensate(aws, &plan, journal, opts, "resuming an interrupted rollback").await?;
                return Ok(Outcome::RolledBack(report));
            }
            finish(aws, &plan, journal, opts, false).await
        }
        JournalStatus::RollbackIncomplete => Err(Error::Unfinished(
            "the last rollback left resources behind: run rollback again".into(),
        )),
        _ => Ok(Outcome::NothingToDo),
    }
}

/// What a rollback of the journal's last run would undo, one line each, newest last.
pub fn pending_changes(records: &[journal::Record]) -> Vec<String> {
    pending_effects(records)
        .iter()
        .map(|p| format!("{}{}", p.effect.describe(), if p.confirmed { "" } else { " (outcome unknown)" }))
        .collect()
}

/// Undoes pending effects of the last run in reverse order; a failed undo does not stop the others.
async fn compensate(
    aws: &AwsClients,
    plan: &Plan,
    journal: &dyn Journal,
    opts: &ApplyOptions,
    reason: &str,
) -> Result<RollbackReport> {
    let pending = pending_effects(&journal.records()?);
    journal.append(Entry::RollbackStarted { reason: reason.to_owned() })?;
    let mut report = RollbackReport::default();
    for p in pending.iter().rev() {
        let what = p.effect.describe();
        opts.emit(&Event::Undoing { what: what.clone() });
        match Box::pin(steps::undo(aws, plan, &p.effect, p.confirmed, opts)).await {
            Ok(()) => {
                journal.append(Entry::Undone { intent: p.intent })?;
                opts.emit(&Event::Undone { what: what.clone() });
                report.undone.push(what);
            }
            Err(e) => {
                journal.append(Entry::UndoFailed { intent: p.intent, error: e.to_string() })?;
                opts.emit(&Event::UndoFailed { what: what.clone(), error: e.to_string() });
                report.left_over.push(LeftOver { what, error: e.to_string(), how_to_fix: steps::manual_removal(&p.effect) });
            }
        }
    }
    journal.append(Entry::RolledBack { clean: report.is_clean() })?;
    Ok(report)
}

type StepResult = std::result::Result<(), (StepId, Error)>;

async fn step<F: Future<Output = Result<()>>>(ctx: &Ctx<'_>, id: StepId, f: F) -> StepResult {
    let Some(change) = ctx.plan.change(id) else { return Ok(()) };
    if change.action == Action::NoOp {
        return Ok(());
    }
    let j = |e: Error| (id, e);
    ctx.journal.append(Entry::StepStarted { step: id }).map_err(j)?;
    ctx.emit(Event::StepStarted { step: id });
    // Boxed: SDK futures are large and a whole migration nested on the stack overflows it.
    match Box::pin(f).await {
        Ok(()) => {
            ctx.journal.append(Entry::StepFinished { step: id }).map_err(j)?;
            ctx.emit(Event::StepFinished { step: id });
            Ok(())
        }
        Err(e) => {
            ctx.emit(Event::StepFailed { step: id, error: e.to_string() });
            Err((id, e))
        }
    }
}

/// The DAG: (green target group → test listener) ∥ role ∥ application; then the service
/// cutover (CodeDeploy refuses a group for a service not yet CODE_DEPLOY); then the deployment
/// group; then the pipeline.
async fn run_steps(ctx: &Ctx<'_>) -> StepResult {
    let plan = ctx.plan;
    // Identifiers of resources that already exist come from the plan.
    for c in &plan.changes {
        match &c.detail {
            ChangeDetail::GreenTargetGroup { settings, .. } if c.action == Action::NoOp => {
                ctx.set_outputs(|o| o.green_target_group_arn = Some(settings.arn.clone()))
            }
            ChangeDetail::TestListener { route: TestRoute::Listener { arn, .. }, .. } if c.action == Action::NoOp => {
                ctx.set_outputs(|o| o.test_listener_arn = Some(arn.clone()))
            }
            ChangeDetail::ServiceRole { arn, .. } if c.action == Action::NoOp => {
                ctx.set_outputs(|o| o.role_arn = Some(arn.clone()))
            }
            _ => {}
        }
    }

    let green_then_listener = async {
        step(ctx, StepId::GreenTargetGroup, async {
            if let Some(ChangeDetail::GreenTargetGroup { settings, .. }) = plan.change(StepId::GreenTargetGroup).map(|c| &c.detail) {
                let arn = steps::green_target_group::apply(ctx, settings).await?;
                ctx.set_outputs(|o| o.green_target_group_arn = Some(arn));
            }
            Ok(())
        })
        .await?;
        step(ctx, StepId::TestListener, async {
            if let Some(ChangeDetail::TestListener { load_balancer_arn, route, tags }) =
                plan.change(StepId::TestListener).map(|c| &c.detail)
            {
                let green = ctx.outputs().green_target_group_arn.unwrap_or_default();
                let arn = steps::test_listener::apply(ctx, load_balancer_arn, route, tags, &green).await?;
                ctx.set_outputs(|o| o.test_listener_arn = arn);
            }
            Ok(())
        })
        .await
    };
    let role = step(ctx, StepId::ServiceRole, async {
        if let Some(ChangeDetail::ServiceRole { name, trust_policy, managed_policy_arn, tags, .. }) =
            plan.change(StepId::ServiceRole).map(|c| &c.detail)
        {
            let arn = steps::service_role::apply(ctx, name, trust_policy, managed_policy_arn, tags).await?;
            ctx.set_outputs(|o| o.role_arn = Some(arn));
        }
        Ok(())
    });
    let app = step(ctx, StepId::Application, async {
        if let Some(ChangeDetail::Application { name, tags }) = plan.change(StepId::Application).map(|c| &c.detail) {
            steps::application::apply(ctx, name, tags).await?;
        }
        Ok(())
    });
    // Wait for all three even when one fails, so the rollback sees every effect.
    let (a, b, c) = futures::join!(green_then_listener, role, app);
    a.and(b).and(c)?;

    step(ctx, StepId::ServiceCutover, async {
        if let Some(ChangeDetail::ServiceCutover { strategy, from, to, bridge_name, .. }) =
            plan.change(StepId::ServiceCutover).map(|c| &c.detail)
        {
            steps::service_cutover::apply(ctx, strategy, from, to, bridge_name.as_deref()).await?;
        }
        Ok(())
    })
    .await?;

    step(ctx, StepId::DeploymentGroup, async {
        if let Some(ChangeDetail::DeploymentGroup(d)) = plan.change(StepId::DeploymentGroup).map(|c| &c.detail) {
            let out = ctx.outputs();
            let role = out.role_arn.unwrap_or_else(|| d.service_role_arn.clone());
            steps::deployment_group::apply(ctx, d, &role, out.test_listener_arn.as_deref()).await?;
        }
        Ok(())
    })
    .await?;

    step(ctx, StepId::PipelineDeployAction, async {
        if let Some(ChangeDetail::PipelineDeployAction { pipeline, stage, before, after }) =
            plan.change(StepId::PipelineDeployAction).map(|c| &c.detail)
        {
            steps::pipeline::apply(ctx, pipeline, stage, before, after).await?;
        }
        Ok(())
    })
    .await
}
