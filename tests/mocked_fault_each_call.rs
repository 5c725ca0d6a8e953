//! Fault at every mutating call, on mocks: the same harness as the moto test, on the stateful
//! fake account of `mocks::World`, for every cutover strategy (cheap: no server, virtual time).

mod support;
#[macro_use]
mod mocks;
#[path = "common/faults.rs"]
mod faults;

use std::sync::atomic::Ordering;

use ecs_bluegreen::spec::{ServiceCutover, ServiceName};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, CallRecorder, Error, InMemoryJournal, Outcome};
use faults::FailNthMutation;
use mocks::World;
use support::sample::{self, *};

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

/// The fake account is back to how the sample inventory describes it.
fn assert_as_before(world: &World, context: &str) {
    let st = world.state();
    for (name, svc) in &st.services {
        if name == SERVICE {
            assert_eq!((svc.status.as_str(), svc.controller.as_str()), ("ACTIVE", "ECS"), "{context}: service {name}");
        } else {
            assert_eq!(svc.status, "INACTIVE", "{context}: service {name} was left running");
        }
    }
    assert_eq!(st.target_groups.keys().collect::<Vec<_>>(), [BLUE_TG_ARN], "{context}: target groups left");
    assert_eq!(st.listeners.keys().collect::<Vec<_>>(), [PROD_LISTENER_ARN], "{context}: listeners left");
    assert_eq!(st.listeners[PROD_LISTENER_ARN].forward_to, [(BLUE_TG_ARN.to_owned(), 1)], "{context}");
    assert!(st.role.is_none(), "{context}: role left: {:?}", st.role);
    assert!(!st.application, "{context}: application left");
    assert!(!st.deployment_group, "{context}: deployment group left");
    // Every update bumps the version (AWS does too); everything else must be as it was.
    let unversioned = |p: Option<aws_sdk_codepipeline::types::PipelineDeclaration>| p.map(|mut p| {
        p.version = None;
        p
    });
    assert_eq!(
        unversioned(st.pipeline.clone()),
        unversioned(Some(mocks::pipeline_declaration(&sample::pipeline()))),
        "{context}: pipeline changed"
    );
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
                assert!(failed.cause.to_string().contains("injected fault"), "{context}: {}", failed.cause);
                assert!(failed.rollback.is_clean(), "{context}: {}", failed.rollback);
                assert_as_before(&world, &context);
            }
            Err(other) => panic!("{context}: unexpected error {other}"),
        }
        n += 1;
    }
}

#[tokio::test(start_paused = true)]
async fn every_mutating_call_of_every_strategy_can_fail_and_leaves_the_account_as_it_was() {
    // Mutating calls of a full run: 6 before the cutover, the cutover's own, DG, pipeline.
    assert_eq!(fail_each_call(ServiceCutover::ParallelKeepName).await, 12);
    assert_eq!(fail_each_call(ServiceCutover::Recreate).await, 10);
    assert_eq!(fail_each_call(ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() }).await, 10);
}
