//! Steps: the unit a transaction is made of.
//!
//! A transaction is a graph of [`Step`]s. Each step has an identity ([`StepId`]), the steps it
//! depends on, a planned change shown in the plan (text and JSON), refusals checked at plan
//! time against the live account, an `apply` that journals every mutating call as a
//! serialisable [`Effect`] before and after making it, and an `undo` of its own effects.
//! The executor schedules steps from their declared dependencies only (independent steps run
//! concurrently) and, when a step fails, undoes every journaled effect newest first.
//!
//! The built-in steps (green target group, test listener, CodeDeploy role, application,
//! service cutover, deployment group, pipeline action) implement this trait; so can yours.
//! A user's step is planned as a [`ChangeDetail::Custom`] holding the step's own serialised
//! state and a *kind*; a [`StepRegistry`](crate::StepRegistry) maps kinds back to code, so that
//! `resume` and `rollback` can rebuild the step from a journal after a crash. A plan or journal
//! naming a kind the caller did not register is refused, never skipped.
//!
//! # Guarantees the executor gives a step
//! - `apply` is called at most once per run, after every step it depends on finished.
//! - Every [`StepContext::mutate`] is journaled before the call (intent) and after it (done,
//!   failed, or uncertain when no answer came), so a crash between the two is visible.
//! - `undo` is called once per pending effect, newest first, also in a later process.
//!
//! # What a step must guarantee
//! - `apply` is idempotent: a resumed run calls it again after a crash; look before creating
//!   when [`StepContext::is_resumed`] is true.
//! - `undo` tolerates the resource being gone already or never created (`confirmed == false`
//!   means the call's outcome is unknown: look the resource up before removing it), and never
//!   removes what this migration did not create.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::BoxFuture;

use crate::AwsClients;
use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::events::{EventKind, Observer, emit};
use crate::inventory::Inventory;
use crate::journal::{Effect, Entry, Journal};
use crate::plan::{Action, Change, ChangeDetail, Plan};
use crate::refusal::Refusal;
pub use crate::spec::StepId;
use crate::wait::Waits;

/// What a step plans to do: shown by the plan, journaled with it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Create, update, replace, delete, or no-op (already in the wanted shape: not run).
    pub action: Action,
    /// The exact values.
    pub detail: ChangeDetail,
}

impl Planned {
    /// A built-in or a user's planned change.
    pub fn new(action: Action, detail: ChangeDetail) -> Self {
        Self { action, detail }
    }

    /// A user's step: `kind` is the key it is registered under, `summary` the line the plan
    /// shows, and `state` the step itself, serialised (it is handed back to the registered
    /// factory to rebuild the step after a crash).
    pub fn custom(kind: impl Into<String>, action: Action, summary: impl Into<String>, state: &impl serde::Serialize) -> Result<Self> {
        let state = serde_json::to_value(state).map_err(|e| Error::custom(format!("cannot serialise the step's state: {e}")))?;
        Ok(Self { action, detail: ChangeDetail::Custom(crate::plan::CustomChange::new(kind, summary, state)) })
    }
}

/// What a step sees at plan time, to refuse what cannot work before anything changes.
#[derive(Debug, Clone, Copy)]
pub struct PlanContext<'a> {
    pub(crate) inventory: &'a Inventory,
    pub(crate) changes: &'a [Change],
}

impl<'a> PlanContext<'a> {
    /// What discovery read from the live account.
    pub fn inventory(&self) -> &'a Inventory {
        self.inventory
    }
    /// Every change of the transaction, the built-in ones and the users'.
    pub fn changes(&self) -> &'a [Change] {
        self.changes
    }
    /// The change of `step`, when the transaction has one.
    pub fn change(&self, step: &StepId) -> Option<&'a Change> {
        self.changes.iter().find(|c| &c.step == step)
    }
}

/// One step of a transaction. See the [module docs](self) for the contract.
pub trait Step: Send + Sync {
    /// Unique within the transaction; other steps depend on it by this id.
    fn id(&self) -> StepId;

    /// Steps that must finish before this one starts. Nothing else orders steps. A built-in
    /// step left out of a partial transaction counts as done (the plan checked that what it
    /// makes exists); any other id must be in the transaction.
    fn depends_on(&self) -> Vec<StepId>;

    /// Steps that must wait for this one (it is added to their dependencies), so a user's step
    /// can sit *between* built-in steps. A built-in step left out of a partial transaction is
    /// skipped; any other id must be in the transaction. Default: none.
    fn required_by(&self) -> Vec<StepId> {
        Vec::new()
    }

    /// The planned change.
    fn planned(&self) -> Planned;

    /// The AWS read operations the step makes to plan, apply or undo (e.g.
    /// `ecs:DescribeServices`), for documentation and permission checks.
    fn reads(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// The IAM permissions the step needs: every call of its `apply`, `undo`, resumed
    /// `apply` and waits, reads included, each scoped to the ARNs of the resources it works on
    /// where the API allows it (see [`crate::permissions`]). [`crate::permissions::policy`]
    /// gathers them into the policy a run needs; the preflight checks the caller has them.
    /// Default: none (a user's step that calls AWS should declare what it calls).
    fn permissions(&self, _cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        Vec::new()
    }

    /// What the step refuses at plan time, given the live account and the whole transaction.
    fn refusals(&self, _cx: &PlanContext<'_>) -> Vec<Refusal> {
        Vec::new()
    }

    /// Makes the change, journaling each mutating call through [`StepContext::mutate`].
    fn apply<'a>(&'a self, cx: &'a StepContext<'a>) -> BoxFuture<'a, Result<()>>;

    /// Called instead of `apply` when the plan marks the step a no-op: publish the
    /// identifiers of what already exists for later steps ([`StepContext::set_output`]).
    fn unchanged(&self, _cx: &StepContext<'_>) {}

    /// Undoes one effect this step journaled. `confirmed == false`: the call's outcome is
    /// unknown (no answer came, or the process died); look before removing anything.
    fn undo<'a>(&'a self, cx: &'a UndoContext<'a>, effect: &'a Effect, confirmed: bool) -> BoxFuture<'a, Result<()>>;

    /// How to undo `effect` by hand, for the report when `undo` failed.
    fn manual_undo(&self, effect: &Effect) -> String {
        format!("undo by hand: {}", effect.describe())
    }
}

/// What a running step may use: the clients, the plan, outputs of earlier steps, and the
/// journaled [`mutate`](Self::mutate).
pub struct StepContext<'a> {
    pub(crate) step: StepId,
    pub(crate) aws: &'a AwsClients,
    pub(crate) journal: &'a dyn Journal,
    pub(crate) plan: &'a Plan,
    pub(crate) opts: &'a Waits,
    pub(crate) observer: Option<&'a Observer>,
    pub(crate) outputs: &'a Mutex<BTreeMap<String, String>>,
    /// Once cancelled, no new mutating call starts.
    pub(crate) cancel: Option<&'a CancelToken>,
    /// Mutating calls sent and not yet journaled: a cancelled run lets them answer.
    pub(crate) calls_in_flight: &'a AtomicUsize,
    /// A first run straight after planning: what the plan saw is current, so steps create
    /// without looking again. A resumed run looks first (it may have done part already).
    pub(crate) fresh: bool,
}

impl std::fmt::Debug for StepContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepContext").field("step", &self.step).field("fresh", &self.fresh).finish_non_exhaustive()
    }
}

impl<'a> StepContext<'a> {
    /// The step running.
    pub fn step(&self) -> &StepId {
        &self.step
    }
    /// The AWS clients of the run (the test kit's mock clients in tests).
    pub fn aws(&self) -> &'a AwsClients {
        self.aws
    }
    /// The plan being applied.
    pub fn plan(&self) -> &'a Plan {
        self.plan
    }
    /// The migration id, tagged on everything the run creates.
    pub fn migration_id(&self) -> &'a str {
        &self.plan.migration_id
    }
    /// The run's waits.
    pub fn waits(&self) -> &'a Waits {
        self.opts
    }
    /// Whether this is a resumed run (after a crash): `apply` must look before it creates.
    pub fn is_resumed(&self) -> bool {
        !self.fresh
    }
    /// An output an earlier step published (e.g. [`outputs::GREEN_TARGET_GROUP_ARN`]).
    pub fn output(&self, key: &str) -> Option<String> {
        self.outputs.lock().expect("outputs poisoned").get(key).cloned()
    }
    /// Publishes an output for later steps.
    pub fn set_output(&self, key: impl Into<String>, value: impl Into<String>) {
        self.outputs.lock().expect("outputs poisoned").insert(key.into(), value.into());
    }
    /// Reports that the step is waiting for something (a progress event).
    pub fn waiting(&self, what: impl Into<String>) {
        self.emit(EventKind::Waiting { step: self.step.clone(), what: what.into() });
    }
    pub(crate) fn emit(&self, kind: EventKind) {
        emit(self.observer, self.migration_id(), kind);
    }

    /// Journals the intent, runs the call, journals its outcome. `done` turns the call's
    /// result into the effect as it happened (with identifiers AWS assigned). A refusal from
    /// the service is journaled as failed (nothing changed); any other failure (timeout, lost
    /// connection, "already exists", which a retry after a lost answer also gets) as
    /// uncertain, so undo looks the resource up. Once the run is cancelled
    /// ([`crate::cancel`]) it makes no call and returns [`Error::Cancelled`]; a call already
    /// sent is allowed to answer.
    pub async fn mutate<T>(
        &self,
        intent: Effect,
        call: impl Future<Output = Result<T>>,
        done: impl FnOnce(&T, Effect) -> Effect,
    ) -> Result<T> {
        if self.cancel.is_some_and(CancelToken::is_cancelled) {
            return Err(Error::Cancelled(crate::error::Cancelled::new("the run", true)));
        }
        let _in_flight = InFlight::enter(self.calls_in_flight);
        let seq = self.journal.append(Entry::Intent { step: self.step.clone(), effect: intent.clone() })?;
        self.emit(EventKind::Mutating { step: self.step.clone(), what: intent.describe() });
        let result = call.await;
        self.record(seq, intent, result, done)
    }

    /// [`StepContext::mutate`] for a create whose answer may be lost: when AWS answers
    /// "already exists" ([`Error::is_already_exists`], e.g. the SDK retried a create whose first
    /// answer never arrived), `adopt` looks the resource up and returns it when it carries this
    /// run's ownership tag. Adopted, it is journaled as done (its undo removes it); found and
    /// not ours, the create is journaled as refused (nothing of ours exists); if the look-up
    /// fails, as uncertain.
    pub async fn mutate_or_adopt<T, A>(
        &self,
        intent: Effect,
        call: impl Future<Output = Result<T>>,
        adopt: impl FnOnce() -> A,
        done: impl FnOnce(&T, Effect) -> Effect,
    ) -> Result<T>
    where
        A: Future<Output = Result<Option<T>>>,
    {
        let seq = self.journal.append(Entry::Intent { step: self.step.clone(), effect: intent.clone() })?;
        self.emit(EventKind::Mutating { step: self.step.clone(), what: intent.describe() });
        let result = match call.await {
            Err(e) if e.is_already_exists() => match adopt().await {
                Ok(Some(found)) => {
                    tracing::info!(what = %intent.describe(), "already exists and carries this migration's tag: adopted");
                    Ok(found)
                }
                Ok(None) => {
                    self.journal.append(Entry::Failed { intent: seq, error: crate::error::Report(&e).to_string() })?;
                    return Err(e);
                }
                Err(lookup) => {
                    let error = format!("{}; looking it up failed: {}", crate::error::Report(&e), crate::error::Report(&lookup));
                    self.journal.append(Entry::Uncertain { intent: seq, error })?;
                    return Err(e);
                }
            },
            other => other,
        };
        self.record(seq, intent, result, done)
    }

    /// Journals the outcome of the call journaled as intent `seq`.
    fn record<T>(&self, seq: u64, intent: Effect, result: Result<T>, done: impl FnOnce(&T, Effect) -> Effect) -> Result<T> {
        match result {
            Ok(v) => {
                let effect = done(&v, intent);
                self.journal.append(Entry::Done { intent: seq, effect })?;
                Ok(v)
            }
            Err(e) if e.is_refusal() => {
                self.journal.append(Entry::Failed { intent: seq, error: crate::error::Report(&e).to_string() })?;
                Err(e)
            }
            Err(e) => {
                self.journal.append(Entry::Uncertain { intent: seq, error: crate::error::Report(&e).to_string() })?;
                Err(e)
            }
        }
    }

    /// A mutating call whose undo is covered by another effect (e.g. attributes of a group
    /// this run created): reported as progress, not journaled.
    pub async fn call<T>(&self, what: String, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.emit(EventKind::Mutating { step: self.step.clone(), what });
        call.await
    }
}

/// Counts a mutating call as in flight until it is journaled (or its future dropped).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Self(n)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What an undo may use.
pub struct UndoContext<'a> {
    pub(crate) aws: &'a AwsClients,
    pub(crate) plan: &'a Plan,
    pub(crate) opts: &'a Waits,
}

impl std::fmt::Debug for UndoContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UndoContext").field("migration_id", &self.plan.migration_id).finish_non_exhaustive()
    }
}

impl<'a> UndoContext<'a> {
    /// The AWS clients.
    pub fn aws(&self) -> &'a AwsClients {
        self.aws
    }
    /// The plan of the run being undone (from the journal after a crash).
    pub fn plan(&self) -> &'a Plan {
        self.plan
    }
    /// The migration id; undo removes only what carries it or what the journal says this
    /// run created.
    pub fn migration_id(&self) -> &'a str {
        &self.plan.migration_id
    }
    /// The run's waits.
    pub fn waits(&self) -> &'a Waits {
        self.opts
    }
}

/// Keys of the outputs the built-in steps publish.
pub mod outputs {
    /// ARN of the green target group.
    pub const GREEN_TARGET_GROUP_ARN: &str = "green-target-group.arn";
    /// ARN of the test listener (absent when the green group joins the production listener).
    pub const TEST_LISTENER_ARN: &str = "test-listener.arn";
    /// ARN of the CodeDeploy service role.
    pub const SERVICE_ROLE_ARN: &str = "service-role.arn";
    /// ARN of the ECS infrastructure role (ECS-native target).
    pub const INFRASTRUCTURE_ROLE_ARN: &str = "infrastructure-role.arn";
}
