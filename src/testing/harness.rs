//! "Fail each step in turn": run a script once per mutating call with a fault there, and report
//! which runs left the account different from the start.

use std::fmt::Debug;
use std::future::Future;

use super::account::MockAccount;
use super::faults::{Fault, InjectedError};
use super::scenario::Scenario;
use crate::AwsClients;

/// One run of [`fail_each_step`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FaultRun {
    /// Which mutating call failed (1-based).
    pub call_number: usize,
    /// Its operation.
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
    let clean = MockAccount::new(scenario.clone());
    let clean_outcome = format!("{:?}", script(clean.clients()).await);
    let mutating_calls = clean.mutating_operations();
    let mut runs = Vec::with_capacity(mutating_calls.len());
    for (i, operation) in mutating_calls.iter().enumerate() {
        let account = MockAccount::new(scenario.clone());
        let start = account.state();
        account.inject(Fault::nth_mutation(i + 1, error.clone()));
        let outcome = format!("{:?}", script(account.clients()).await);
        account.clear_faults();
        runs.push(FaultRun {
            call_number: i + 1,
            operation: operation.clone(),
            outcome,
            differences: start.differences(&account.state()),
        });
    }
    FailEachStepReport { mutating_calls, clean_outcome, runs }
}
