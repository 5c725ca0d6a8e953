//! Composing transactions (`Transaction`, the `Step` trait): the executor orders steps only by
//! their declared dependencies, a graph it cannot run is refused at plan time, and a user's
//! step journals and undoes through the same path as the built-in ones. On the test kit.

use std::sync::{Arc, Mutex};

use ecs_bluegreen::journal::Effect;
use ecs_bluegreen::plan::{Action, RefusalKind};
use ecs_bluegreen::step::{Planned, Step, StepContext, UndoContext};
use ecs_bluegreen::testing::{MockAccount, Scenario};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, Error, InMemoryJournal, Migration, Outcome, StepId, StepRegistry, Transaction};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// A step that records when it ran (in a shared list, outside its serialised state).
#[derive(Serialize, Deserialize)]
struct Marker {
    id: String,
    after: Vec<String>,
    before: Vec<String>,
    #[serde(skip)]
    ran: Option<Arc<Mutex<Vec<String>>>>,
}

fn marker(id: &str, after: &[StepId], before: &[StepId], ran: &Arc<Mutex<Vec<String>>>) -> Marker {
    Marker {
        id: id.into(),
        after: after.iter().map(|s| s.to_string()).collect(),
        before: before.iter().map(|s| s.to_string()).collect(),
        ran: Some(ran.clone()),
    }
}

impl Step for Marker {
    fn id(&self) -> StepId {
        StepId::new(self.id.clone()).unwrap()
    }
    fn depends_on(&self) -> Vec<StepId> {
        self.after.iter().map(|s| StepId::new(s.clone()).unwrap()).collect()
    }
    fn required_by(&self) -> Vec<StepId> {
        self.before.iter().map(|s| StepId::new(s.clone()).unwrap()).collect()
    }
    fn planned(&self) -> Planned {
        Planned::custom("test/marker", Action::Create, format!("marker {}", self.id), self).unwrap()
    }
    fn apply<'a>(&'a self, cx: &'a StepContext<'a>) -> BoxFuture<'a, ecs_bluegreen::Result<()>> {
        Box::pin(async move {
            // What had happened in the account when this step ran.
            let seen = cx.aws().ecs.list_services().cluster("prod").send().await.map_err(Error::custom)?;
            let _ = seen;
            if let Some(r) = &self.ran {
                r.lock().unwrap().push(self.id.clone());
            }
            Ok(())
        })
    }
    fn undo<'a>(&'a self, _: &'a UndoContext<'a>, _: &'a Effect, _: bool) -> BoxFuture<'a, ecs_bluegreen::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

fn opts(registry: StepRegistry) -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST).steps(registry)
}

fn migration() -> Migration {
    Migration::for_service("prod", "web").unwrap().build()
}

#[tokio::test(start_paused = true)]
async fn a_dependency_on_a_step_outside_the_transaction_is_refused_at_plan_time() {
    let account = MockAccount::new(Scenario::default());
    let ran = Arc::new(Mutex::new(Vec::new()));
    let result = Transaction::new(migration())
        .step(marker("test/a", &[StepId::new("test/nowhere").unwrap()], &[], &ran))
        .plan(&account.clients())
        .await;
    let Err(Error::Plan(refused)) = result else { panic!("accepted: {result:?}") };
    assert!(refused.has(RefusalKind::StepGraph), "{refused}");
    assert!(refused.to_string().contains("test/nowhere"), "{refused}");
    // A user's step that must run before a step the transaction does not hold.
    let result = Transaction::new(migration())
        .step(marker("test/a", &[], &[StepId::new("test/elsewhere").unwrap()], &ran))
        .plan(&account.clients())
        .await;
    let Err(Error::Plan(refused)) = result else { panic!("accepted: {result:?}") };
    assert!(refused.to_string().contains("must run before step test/elsewhere"), "{refused}");
    // A built-in step left out of a partial transaction is done already, as for the built-in
    // steps' own dependencies: the dependency is dropped, not refused.
    let plan = Transaction::new(migration())
        .without([StepId::ServiceCutover, StepId::DeploymentGroup, StepId::PipelineDeployAction])
        .step(marker("test/a", &[StepId::ServiceCutover, StepId::GreenTargetGroup], &[StepId::DeploymentGroup], &ran))
        .plan(&account.clients())
        .await
        .unwrap();
    assert_eq!(plan.change(StepId::new("test/a").unwrap()).unwrap().depends_on, [StepId::GreenTargetGroup]);
    assert!(account.mutating_operations().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_dependency_cycle_is_refused_at_plan_time() {
    let account = MockAccount::new(Scenario::default());
    let ran = Arc::new(Mutex::new(Vec::new()));
    let (a, b) = (StepId::new("test/a").unwrap(), StepId::new("test/b").unwrap());
    let result = Transaction::new(migration())
        .step(marker("test/a", std::slice::from_ref(&b), &[], &ran))
        .step(marker("test/b", std::slice::from_ref(&a), &[], &ran))
        .plan(&account.clients())
        .await;
    let Err(Error::Plan(refused)) = result else { panic!("accepted: {result:?}") };
    assert!(refused.has(RefusalKind::StepGraph), "{refused}");
    assert!(refused.to_string().contains("cycle"), "{refused}");
    // A cycle through a built-in step: before the green group, after the deployment group (the last built-in step here).
    let result = Transaction::new(migration())
        .step(marker("test/c", &[StepId::DeploymentGroup], &[StepId::GreenTargetGroup], &ran))
        .plan(&account.clients())
        .await;
    let Err(Error::Plan(refused)) = result else { panic!("accepted: {result:?}") };
    assert!(refused.to_string().contains("cycle"), "{refused}");
    // Two steps with one id.
    let result = Transaction::new(migration())
        .step(marker("test/a", &[], &[], &ran))
        .step(marker("test/a", &[], &[], &ran))
        .plan(&account.clients())
        .await;
    let Err(Error::Plan(refused)) = result else { panic!("accepted: {result:?}") };
    assert!(refused.to_string().contains("two steps"), "{refused}");
    assert!(ran.lock().unwrap().is_empty());
    assert!(account.mutating_operations().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_order_comes_from_the_declared_dependencies_only() {
    let account = MockAccount::new(Scenario::default());
    let ran = Arc::new(Mutex::new(Vec::new()));
    let log_at_run = Arc::new(Mutex::new(Vec::<(String, usize)>::new()));
    // `first` must run before the green group, `last` after the deployment group (the last built-in step here).
    let first = marker("test/first", &[], &[StepId::GreenTargetGroup], &ran);
    let last = marker("test/last", &[StepId::DeploymentGroup], &[], &ran);
    let plan = Transaction::new(migration()).step(last).step(first).plan(&account.clients()).await.unwrap();
    let ids: Vec<String> = plan.changes.iter().map(|c| c.step.to_string()).collect();
    assert_eq!(plan.change(StepId::GreenTargetGroup).unwrap().depends_on, [StepId::new("test/first").unwrap()], "{ids:?}");
    let ran2 = ran.clone();
    let registry = StepRegistry::new().register_with("test/marker", move |state| {
        let mut m: Marker = serde_json::from_value(state.clone()).map_err(Error::custom)?;
        m.ran = Some(ran2.clone());
        Ok(Box::new(m))
    });
    let account_for_observer = account.clone();
    let log2 = log_at_run.clone();
    let observer = move |e: &ecs_bluegreen::Event| {
        if let ecs_bluegreen::EventKind::StepStarted { step } = &e.kind {
            log2.lock().unwrap().push((step.to_string(), account_for_observer.state().log.len()));
        }
    };
    let outcome = plan.apply(&account.clients(), &InMemoryJournal::new(), &opts(registry).observer(observer)).await.unwrap();
    assert_eq!(outcome, Outcome::Applied);
    assert_eq!(*ran.lock().unwrap(), ["test/first", "test/last"]);
    let starts = log_at_run.lock().unwrap().clone();
    let order = |id: &str| starts.iter().position(|(s, _)| s == id).unwrap_or_else(|| panic!("{id} did not start: {starts:?}"));
    // The green group waited for `first`; the role and application, which do not depend on it,
    // did not (they start as soon as the run does).
    assert!(order("test/first") < order("green-target-group"), "{starts:?}");
    assert!(order("service-role") < order("test/first") && order("application") < order("test/first"), "{starts:?}");
    // The run lock's release comes after the last step: not one of the migration's changes.
    let total = account.state().log.iter().filter(|l| !l.starts_with("DeleteParameter /ecs-bluegreen/lock/")).count();
    let last_at = starts[order("test/last")].1;
    assert_eq!(last_at, total, "every change was made before the last step started: {starts:?}");
}

/// A journal that stops the process (fails) as the rollback is about to start.
struct CrashAtRollback(InMemoryJournal);

impl ecs_bluegreen::Journal for CrashAtRollback {
    fn append(&self, entry: ecs_bluegreen::journal::Entry) -> ecs_bluegreen::Result<u64> {
        if matches!(entry, ecs_bluegreen::journal::Entry::RollbackStarted { .. }) {
            return Err(Error::Journal("simulated crash".into()));
        }
        self.0.append(entry)
    }
    fn records(&self) -> ecs_bluegreen::Result<Vec<ecs_bluegreen::journal::Record>> {
        self.0.records()
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_after_a_step_failed_is_resumed_as_a_rollback_not_forward() {
    use ecs_bluegreen::testing::{Fault, InjectedError};
    let account = MockAccount::new(Scenario::default());
    let start = account.state();
    account.inject(Fault::nth_call("CreateService", 1, InjectedError::AccessDenied));
    let plan = migration().plan(&account.clients()).await.unwrap();
    let journal = CrashAtRollback(InMemoryJournal::new());
    let result = plan.apply(&account.clients(), &journal, &opts(StepRegistry::new())).await;
    assert!(matches!(result, Err(Error::Journal(_))), "{result:?}");
    let records = ecs_bluegreen::Journal::records(&journal).unwrap();
    assert!(records.iter().any(|r| matches!(&r.entry, ecs_bluegreen::journal::Entry::StepFailed { step, .. } if step == &StepId::ServiceCutover)));
    // The failed CreateService would succeed now; going forward would migrate. It must not.
    let outcome = ecs_bluegreen::resume(&account.clients(), &InMemoryJournal::from_records(records), &opts(StepRegistry::new()))
        .await
        .unwrap();
    let Outcome::RolledBack(report) = outcome else { panic!("resumed forward: {outcome:?}") };
    assert!(report.is_clean(), "{report}");
    assert_eq!(account.state().differences(&start), Vec::<String>::new());
}
