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
    // A built-in step left out of a partial transaction is just as missing.
    let result = Transaction::new(migration())
        .without([StepId::GreenTargetGroup, StepId::TestListener, StepId::ServiceCutover, StepId::DeploymentGroup, StepId::PipelineDeployAction])
        .step(marker("test/a", &[StepId::ServiceCutover], &[], &ran))
        .plan(&account.clients())
        .await;
    let Err(Error::Plan(refused)) = result else { panic!("accepted: {result:?}") };
    assert!(refused.to_string().contains("depends on step service-cutover"), "{refused}");
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
    let total = account.state().log.len();
    let last_at = starts[order("test/last")].1;
    assert_eq!(last_at, total, "every change was made before the last step started: {starts:?}");
}
