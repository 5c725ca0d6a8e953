//! Composing a transaction: any subset of the built-in steps plus users' own steps, planned
//! against the live account. [`Migration::plan`] is the one-call form for the full migration.
//!
//! This is the I/O entry above the pure planner ([`crate::plan::plan_steps`]): it discovers
//! the account, plans the chosen built-in steps, adds the users' steps, and refuses, before
//! anything changes, a transaction that cannot work.

use crate::error::Result;
use crate::inventory::Inventory;
use crate::plan::{Change, ChangeDetail, Plan, PlanError, Refusal, RefusalKind, StepId};
use crate::spec::Migration;
use crate::step::{PlanContext, Step};
use crate::AwsClients;

/// A transaction being composed: a [`Migration`] (which names the service and configures the
/// built-in steps), the built-in steps to include, and users' steps.
///
/// ```no_run
/// # async fn run(aws: ecs_bluegreen::AwsClients) -> ecs_bluegreen::Result<()> {
/// use ecs_bluegreen::{Migration, StepId, Transaction};
/// // The service was recreated on CODE_DEPLOY by Terraform: create the rest only.
/// let plan = Transaction::new(Migration::for_service("prod", "web")?.build())
///     .without([StepId::ServiceCutover])
///     .plan(&aws)
///     .await?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct Transaction {
    migration: Migration,
    built_in: Vec<StepId>,
    custom: Vec<Box<dyn Step>>,
    preflight: bool,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("migration", &self.migration)
            .field("built_in", &self.built_in)
            .field("custom", &self.custom.iter().map(|s| s.id()).collect::<Vec<_>>())
            .finish()
    }
}

impl Transaction {
    /// Every built-in step of `migration`, and no users' steps yet.
    pub fn new(migration: Migration) -> Self {
        let built_in = StepId::built_in_for(migration.target()).to_vec();
        Self { migration, built_in, custom: Vec::new(), preflight: false }
    }

    /// Only these built-in steps (a partial migration). Ids that are not built-in are refused
    /// at plan time.
    pub fn only(mut self, steps: impl IntoIterator<Item = StepId>) -> Self {
        self.built_in = steps.into_iter().collect();
        self
    }

    /// Every built-in step but these.
    pub fn without(mut self, steps: impl IntoIterator<Item = StepId>) -> Self {
        let drop: Vec<StepId> = steps.into_iter().collect();
        self.built_in.retain(|s| !drop.contains(s));
        self
    }

    /// Adds a user's step. Its kind must also be registered in the
    /// [`ApplyOptions`](crate::ApplyOptions) of `apply`, `resume` and `rollback`.
    pub fn step(mut self, step: impl Step + 'static) -> Self {
        self.custom.push(Box::new(step));
        self
    }

    /// With `true`, planning ends with the permissions preflight
    /// ([`crate::permissions::preflight`]): the plan is refused when IAM would deny the caller
    /// a call the run needs, and warns when the caller may not simulate. Default: off (the
    /// reference CLI turns it on unless `--skip-preflight`).
    pub fn preflight(mut self, on: bool) -> Self {
        self.preflight = on;
        self
    }

    /// Reads the account (read-only calls) and plans the transaction; then, when asked for
    /// ([`Transaction::preflight`]), checks the caller's permissions.
    pub async fn plan(&self, aws: &AwsClients) -> Result<Plan> {
        let inventory = Box::pin(crate::discover::discover(aws, &self.migration)).await?;
        let mut plan = self.plan_with(&inventory)?;
        if self.preflight {
            // Boxed: the preflight's future is large, and planning runs inside deep futures.
            Box::pin(crate::permissions::preflight_of(aws, &mut plan, |cx| {
                let mut needs = crate::permissions::run_permissions(cx);
                for change in cx.plan().changes.iter().filter(|c| c.step.is_built_in()) {
                    needs.extend(crate::steps::build(change, &crate::StepRegistry::new())?.permissions(cx));
                }
                needs.extend(self.custom.iter().flat_map(|s| s.permissions(cx)));
                Ok(needs)
            }))
            .await?;
        }
        Ok(plan)
    }

    /// Plans the transaction from an inventory already read. Pure: no I/O.
    pub fn plan_with(&self, inventory: &Inventory) -> std::result::Result<Plan, PlanError> {
        let mut plan = crate::plan::plan_steps(&self.migration, inventory, &self.built_in)?;
        let mut refusals = Vec::new();
        for step in &self.custom {
            let id = step.id();
            let planned = step.planned();
            if id.is_built_in() {
                refusals.push(Refusal::new(
                    RefusalKind::StepGraph,
                    format!("a user's step is named {id}, the id of a built-in step"),
                    "give your step its own id, e.g. with a namespace: StepId::new(\"acme/...\")",
                ));
                continue;
            }
            if !matches!(planned.detail, ChangeDetail::Custom(_)) {
                refusals.push(Refusal::new(
                    RefusalKind::StepGraph,
                    format!("user's step {id} plans a built-in change"),
                    "plan a user's step with Planned::custom, so the registry can rebuild it",
                ));
                continue;
            }
            // A built-in step left out of a partial transaction is done already (the plan checked
            // what the others need), as for the built-in steps' own dependencies.
            let mut depends_on = step.depends_on();
            depends_on.retain(|d| !d.is_built_in() || self.built_in.contains(d));
            let change = Change { step: id.clone(), action: planned.action, depends_on, detail: planned.detail };
            // Listed after the last step it depends on, so the plan reads in running order.
            let at = plan
                .changes
                .iter()
                .rposition(|c| change.depends_on.contains(&c.step))
                .map_or(plan.changes.len(), |i| i + 1);
            plan.changes.insert(at, change);
        }
        // Once every step is in: a step that must run before another joins its dependencies.
        for step in &self.custom {
            for later in step.required_by() {
                match plan.changes.iter_mut().find(|c| c.step == later) {
                    Some(c) => c.depends_on.push(step.id()),
                    // Left out of a partial transaction: done already, nothing to run before.
                    None if later.is_built_in() && !self.built_in.contains(&later) => {}
                    None => refusals.push(Refusal::new(
                        RefusalKind::StepGraph,
                        format!("step {} must run before step {later}, which is not in the transaction", step.id()),
                        format!("add step {later} to the transaction, or drop it from required_by"),
                    )),
                }
            }
        }
        refusals.extend(crate::txn::graph_refusals(&plan));
        let cx = PlanContext { inventory, changes: &plan.changes };
        for step in &self.custom {
            refusals.extend(step.refusals(&cx));
        }
        if !refusals.is_empty() {
            return Err(PlanError::new(refusals));
        }
        Ok(plan)
    }
}

impl Migration {
    /// Discovers the live service (read-only) and plans the full migration.
    pub async fn plan(&self, aws: &AwsClients) -> Result<Plan> {
        Transaction::new(self.clone()).plan(aws).await
    }
}
