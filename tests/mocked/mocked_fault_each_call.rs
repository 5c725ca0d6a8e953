//! Fault at every mutating call, on mocks: the same harness as the moto test, on the stateful
//! fake account of `mocks::World`, for every cutover strategy (cheap: no server, virtual time).

use crate::support;
use crate::mocks;
use crate::faults;

use std::sync::atomic::Ordering;

use ecs_bluegreen::spec::{ServiceCutover, ServiceName};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, CallRecorder, Error, InMemoryJournal, Outcome};
use faults::FailNthMutation;
use mocks::World;
use support::sample;

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

async fn fail_each_call(cutover: ServiceCutover) -> usize {
    let mut n = 1;
    loop {
        let world = World::sample();
        let fault = FailNthMutation::new(n);
        let aws = world.clients_with(&CallRecorder::new(), &fault);
        let migration = sample::base()
            .test_listener_port(ecs_bluegreen::spec::Port::new(8080).unwrap())
            .pipeline(sample::pipeline_stage())
            .cutover(cutover.clone())
            .build();
        let plan = ecs_bluegreen::plan::plan(&migration, &sample::inventory()).unwrap();
        let context = format!("{} with a fault at mutating call {n}", cutover.as_str());
        match plan.apply(&aws, &InMemoryJournal::new(), &opts()).await {
            Ok(Outcome::Applied) => {
                assert!(fault.seen.load(Ordering::SeqCst) < n, "{context}: applied although the call failed");
                return n - 1;
            }
            Ok(other) => panic!("{context}: unexpected {other:?}"),
            Err(Error::Apply(failed)) => {
                // The fault is no answer from the service: its text is the cause's source.
                let cause = ecs_bluegreen::error::Report(&failed.cause).to_string();
                assert!(cause.contains("injected fault"), "{context}: {cause}");
                assert!(failed.rollback.is_clean(), "{context}: {}", failed.rollback);
                world.assert_as_before(&context);
            }
            Err(other) => panic!("{context}: unexpected error {other}"),
        }
        n += 1;
    }
}

#[tokio::test(start_paused = true)]
async fn every_mutating_call_of_every_strategy_can_fail_and_leaves_the_account_as_it_was() {
    // Mutating calls of a full run: 7 before the cutover (the pipeline role's grant among
    // them), the cutover's own, DG, pipeline.
    assert_eq!(fail_each_call(ServiceCutover::ParallelKeepName).await, 13);
    assert_eq!(fail_each_call(ServiceCutover::Recreate).await, 11);
    assert_eq!(fail_each_call(ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() }).await, 11);
}

/// AWS refuses CreateService under a name that is still DRAINING (moto frees it at once). The
/// fake refuses it too and drains over several describes, so a recreate that succeeds here
/// waited for INACTIVE before reusing the name.
#[tokio::test(start_paused = true)]
async fn recreate_waits_until_the_old_service_is_inactive_before_reusing_its_name() {
    let world = World::sample();
    let aws = world.clients_with(&CallRecorder::new(), &FailNthMutation::at(vec![]));
    let migration = sample::base()
        .test_listener_port(ecs_bluegreen::spec::Port::new(8080).unwrap())
        .cutover(ServiceCutover::Recreate)
        .build();
    let plan = ecs_bluegreen::plan::plan(&migration, &sample::inventory()).unwrap();
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts()).await.unwrap(), Outcome::Applied);
    let st = world.state();
    let svc = &st.services[sample::SERVICE];
    assert_eq!((svc.status.as_str(), svc.deployment_controller.as_str()), ("ACTIVE", "CODE_DEPLOY"));
    assert_eq!(st.create_service_requests.len(), 1, "the name was reused once, after it was INACTIVE: {:?}", st.log);
    let delete = st.log.iter().position(|l| l.starts_with("DeleteService")).expect("deleted");
    let create = st.log.iter().position(|l| l.starts_with("CreateService")).expect("created");
    assert!(delete < create, "{:?}", st.log);
}
