//! "Fail each step in turn": run a script once per mutating call with a fault there, and report
//! which runs left the account different from the start.

use std::fmt::Debug;
use std::future::Future;

use super::account::MockAccount;
use super::faults::InjectedError;
use super::fleet::FaultTarget;
use super::scenario::Scenario;
use crate::AwsClients;

/// One run of [`fail_each_step`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FaultRun {
    /// Which mutating call failed (1-based; a fleet's numbered across its accounts, each
    /// account's calls together).
    pub call_number: usize,
    /// Its operation (a fleet's prefixed with the service: `cart: CreateTargetGroup`).
    pub operation: String,
    /// What the script returned, as `Debug` prints it.
    pub outcome: String,
    /// How the account differs from the start after the script returned (empty: restored).
    pub differences: Vec<String>,
}

/// What [`fail_each_step`] found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FailEachStepReport {
    /// The mutating operations of the run without a fault, in order.
    pub mutating_calls: Vec<String>,
    /// What the run without a fault returned.
    pub clean_outcome: String,
    /// One run per mutating call of the clean run.
    pub runs: Vec<FaultRun>,
}

impl FailEachStepReport {
    /// Whether every run ended with the account as it started.
    pub fn all_restored(&self) -> bool {
        self.runs.iter().all(|r| r.differences.is_empty())
    }

    /// The runs that left something changed.
    pub fn left_changed(&self) -> impl Iterator<Item = &FaultRun> {
        self.runs.iter().filter(|r| !r.differences.is_empty())
    }

    /// Panics, listing each run that left the account changed and how.
    pub fn assert_all_restored(&self) {
        let bad: Vec<String> = self
            .left_changed()
            .map(|r| format!("fault at mutating call {} ({}): {}\n  {}", r.call_number, r.operation, r.outcome, r.differences.join("\n  ")))
            .collect();
        assert!(bad.is_empty(), "{} of {} runs left the account changed:\n{}", bad.len(), self.runs.len(), bad.join("\n"));
    }
}

/// Runs `script` once on a fresh account of `scenario` without faults, then once per mutating
/// call that run made, with `error` injected at that call, and compares each account after
/// the script returned with how it started ([`AccountState::differences`](super::AccountState::differences)).
/// For an account set up otherwise, or a fleet, see [`fail_each_step_on`].
///
/// ```no_run
/// # async fn demo() {
/// use ecs_bluegreen::testing::{InjectedError, Scenario, fail_each_step};
/// use ecs_bluegreen::{ApplyOptions, InMemoryJournal, Migration};
/// let report = fail_each_step(&Scenario::default(), InjectedError::Throttling, |aws| async move {
///     let migration = Migration::for_service("prod", "web").unwrap().build();
///     let plan = migration.plan(&aws).await?;
///     plan.apply(&aws, &InMemoryJournal::new(), &ApplyOptions::new()).await
/// })
/// .await;
/// report.assert_all_restored();
/// # }
/// ```
pub async fn fail_each_step<F, Fut, T>(scenario: &Scenario, error: InjectedError, script: F) -> FailEachStepReport
where
    F: Fn(AwsClients) -> Fut,
    Fut: Future<Output = T>,
    T: Debug,
{
    fail_each_step_on(|| MockAccount::new(scenario.clone()), error, |account: MockAccount| script(account.clients())).await
}

/// [`fail_each_step`] on whatever `setup` builds: a [`MockAccount`] changed after it was made
/// (edited, faults of its own armed, an earlier run's journal), or a whole
/// [`MockFleet`](super::MockFleet). `setup` is called once per run and must build the same
/// start each time; `script` gets what it built. A fleet's mutating calls are numbered per
/// account (a run fails one call of one service), and its report names the service of each
/// (`cart: CreateTargetGroup`).
///
/// ```no_run
/// # async fn demo() {
/// use ecs_bluegreen::fleet::{self, FleetOptions, OnFailure};
/// use ecs_bluegreen::testing::{FleetScenario, InjectedError, fail_each_step_on};
/// use ecs_bluegreen::ApplyOptions;
/// let fleet = FleetScenario::new().service("cart", "shop-alb").service("search", "shop-alb");
/// let report = fail_each_step_on(|| fleet.build(), InjectedError::AccessDenied, |f| async move {
///     let members = f.members(&ApplyOptions::new());
///     let plans = fleet::plan(&members, 2).await.map_err(|e| e.to_string())?;
///     Ok::<_, String>(fleet::apply(&members, &plans, &FleetOptions::new(2, OnFailure::RollbackAll)).await)
/// })
/// .await;
/// report.assert_all_restored();
/// # }
/// ```
pub async fn fail_each_step_on<S, Setup, F, Fut, T>(setup: Setup, error: InjectedError, script: F) -> FailEachStepReport
where
    S: FaultTarget,
    Setup: Fn() -> S,
    F: Fn(S) -> Fut,
    Fut: Future<Output = T>,
    T: Debug,
{
    let clean = setup();
    let clean_outcome = format!("{:?}", script(clean.clone()).await);
    let sites = clean.mutations();
    let mut runs = Vec::with_capacity(sites.len());
    let mut seen_in_account = std::collections::BTreeMap::<usize, usize>::new();
    for (i, (account, operation)) in sites.iter().enumerate() {
        let n = seen_in_account.entry(*account).or_default();
        *n += 1;
        let target = setup();
        let start = target.snapshot();
        target.fail_mutation(*account, *n, error.clone());
        let outcome = format!("{:?}", script(target.clone()).await);
        target.disarm();
        runs.push(FaultRun {
            call_number: i + 1,
            operation: operation.clone(),
            outcome,
            differences: S::differences(&start, &target.snapshot()),
        });
    }
    FailEachStepReport { mutating_calls: sites.into_iter().map(|(_, op)| op).collect(), clean_outcome, runs }
}
