//! Error paths of `Plan::apply` on mocked clients: IAM propagation retries, throttling that
//! outlasts the SDK's retries, a compensation that fails and is finished by a later
//! `rollback`, and the refusal to start over an unfinished journal.
//!
//! The account is the stateful fake of `mocks::World`; faults are rules placed in front of it.
//! Time is paused, so backoff and waits are virtual.

use crate::support;
use crate::mocks;

use std::time::Duration;

use aws_smithy_mocks::mock;
use aws_smithy_types::retry::RetryConfig;
use ecs_bluegreen::plan::{Plan, StepId};
use ecs_bluegreen::txn::ApplyFailed;
use ecs_bluegreen::txn::journal::{self, Entry, Journal, JournalStatus};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, CallRecorder, Error, ErrorKind, InMemoryJournal, Outcome};
use mocks::{Rules, World};
use support::sample::{self, *};

fn plan() -> Plan {
    ecs_bluegreen::plan::plan(&sample::migration(), &sample::inventory()).unwrap()
}

/// Real IAM propagation policy (2 min, 2 s → 10 s backoff); FAST service waits.
fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::IAM_PROPAGATION)
}

fn apply_failed(r: ecs_bluegreen::Result<Outcome>) -> Box<ApplyFailed> {
    match r {
        Err(Error::Apply(f)) => f,
        other => panic!("expected Error::Apply, got {other:?}"),
    }
}

fn status(j: &InMemoryJournal) -> JournalStatus {
    journal::status(&j.records().unwrap())
}

fn invalid_role() -> aws_sdk_codedeploy::operation::create_deployment_group::CreateDeploymentGroupError {
    use aws_sdk_codedeploy::operation::create_deployment_group::CreateDeploymentGroupError;
    use aws_sdk_codedeploy::types::error::InvalidRoleException;
    modeled!(
        CreateDeploymentGroupError::InvalidRoleException,
        InvalidRoleException,
        "InvalidRoleException",
        "Cannot assume role provided."
    )
}

// (a) ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_deployment_group_retries_until_the_new_role_can_be_assumed() {
    use aws_sdk_codedeploy::operation::create_deployment_group::CreateDeploymentGroupOutput;
    let world = World::sample();
    let create_dg = mock!(aws_sdk_codedeploy::Client::create_deployment_group)
        .sequence()
        .error(invalid_role)
        .times(2)
        .output(|| CreateDeploymentGroupOutput::builder().deployment_group_id("5d1c7a2e-93b4-4f0a-8e6d-1c2b3a4f5e60").build())
        .build();
    let faults = Rules::of([create_dg.clone()]);
    let recorder = CallRecorder::new();
    let aws = world.clients(&faults, &recorder, RetryConfig::disabled());
    let journal = InMemoryJournal::new();

    let start = tokio::time::Instant::now();
    let outcome = plan().apply(&aws, &journal, &opts()).await.unwrap();

    assert_eq!(outcome, Outcome::Applied);
    assert_eq!(create_dg.num_calls(), 3, "two 'cannot assume role' answers, then success");
    assert!(create_dg.is_exhausted());
    assert_eq!(world.calls("CreateDeploymentGroup"), 0, "every attempt was answered by the sequence");
    // Backoff 2 s + 4 s, in virtual time.
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(6) && waited < WaitPolicy::IAM_PROPAGATION.deadline, "{waited:?}");
    assert_eq!(status(&journal), JournalStatus::Applied);
    // One intent for the deployment group, done (the retries are inside it).
    let records = journal.records().unwrap();
    let intents: Vec<u64> = records
        .iter()
        .filter(|r| matches!(&r.entry, Entry::Intent { step, .. } if *step == StepId::DeploymentGroup))
        .map(|r| r.seq)
        .collect();
    assert_eq!(intents.len(), 1, "{records:#?}");
    assert!(records.iter().any(|r| matches!(&r.entry, Entry::Done { intent, .. } if *intent == intents[0])));
    assert!(!records.iter().any(|r| matches!(&r.entry, Entry::Failed { .. })), "{records:#?}");
}

// (b) ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn b_a_role_that_never_becomes_assumable_fails_at_the_deadline_and_rolls_back_cleanly() {
    let world = World::sample();
    let create_dg = mock!(aws_sdk_codedeploy::Client::create_deployment_group).then_error(invalid_role);
    let faults = Rules::of([create_dg.clone()]);
    let recorder = CallRecorder::new();
    let aws = world.clients(&faults, &recorder, RetryConfig::disabled());
    let journal = InMemoryJournal::new();

    let start = tokio::time::Instant::now();
    let f = apply_failed(plan().apply(&aws, &journal, &opts()).await);
    let waited = start.elapsed();

    assert_eq!(f.step, StepId::DeploymentGroup);
    let Error::Aws(cause) = &f.cause else { panic!("cause: {:?}", f.cause) };
    assert_eq!(cause.code(), Some("InvalidRoleException"));
    assert_eq!(cause.message(), Some("Cannot assume role provided."));
    // Retried until the IAM deadline (the last pause would have crossed it), not longer.
    let policy = WaitPolicy::IAM_PROPAGATION;
    assert!(waited >= policy.deadline - policy.max_delay, "gave up after {waited:?}");
    assert!(waited < policy.deadline + Duration::from_secs(5), "kept going after the deadline: {waited:?}");
    assert!(create_dg.num_calls() >= 10, "only {} attempts in {waited:?}", create_dg.num_calls());

    assert!(f.rollback.is_clean(), "{}", f.rollback);
    assert_eq!(status(&journal), JournalStatus::RolledBack);
    // Every created resource was removed by its undo.
    for op in ["DeleteListener", "DeleteTargetGroup", "DetachRolePolicy", "DeleteRole", "DeleteApplication"] {
        assert_eq!(world.calls(op), 1, "{op}");
    }
    assert_eq!(world.calls("DeleteDeploymentGroup"), 0, "the group was never created");
    assert_eq!(world.calls("UpdatePipeline"), 0, "the pipeline step never ran");
    // Cutover undone: the CODE_DEPLOY service and the bridge deleted, the original recreated.
    let st = world.state();
    let ecs: Vec<&str> = st.log.iter().filter(|l| l.contains("Service ")).map(String::as_str).collect();
    assert_eq!(
        ecs,
        [
            // apply (parallel-keep-name)
            "CreateService web-bg-bridge ECS",
            "DeleteService web",
            "CreateService web CODE_DEPLOY",
            "DeleteService web-bg-bridge",
            // rollback, in reverse: the bridge serves again while the original is recreated
            "CreateService web-bg-bridge ECS",
            "DeleteService web",
            "CreateService web ECS",
            "DeleteService web-bg-bridge",
        ],
        "{:#?}",
        st.log
    );
    drop(st);
    world.assert_as_before("after rollback");
    let undone = &f.rollback.undone;
    for what in ["target group web-tg-1-green", "IAM role prod-web-codedeploy", "CodeDeploy application prod-web"] {
        assert!(undone.iter().any(|u| u == what), "{what} not in {undone:#?}");
    }
}

// (c) ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn c_throttling_that_outlasts_sdk_retries_fails_as_throttled_and_rolls_back() {
    use aws_sdk_codedeploy::operation::create_application::CreateApplicationError;
    let world = World::sample();
    let throttled = mock!(aws_sdk_codedeploy::Client::create_application)
        .then_error(|| CreateApplicationError::generic(mocks::meta("ThrottlingException", "Rate exceeded")));
    let faults = Rules::of([throttled.clone()]);
    let recorder = CallRecorder::new();
    // SDK retries on (3 attempts): only the scripted throttling rule ever answers an error.
    let aws = world.clients(&faults, &recorder, RetryConfig::standard().with_max_attempts(3));
    let journal = InMemoryJournal::new();

    let err = plan().apply(&aws, &journal, &opts()).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
    let Error::Apply(f) = err else { unreachable!() };
    assert_eq!(f.step, StepId::Application);
    assert_eq!(f.cause.kind(), ErrorKind::Throttled);
    let Error::Aws(cause) = &f.cause else { panic!("cause: {:?}", f.cause) };
    assert_eq!((cause.operation(), cause.code()), ("CreateApplication", Some("ThrottlingException")));
    assert_eq!(throttled.num_calls(), 3, "the SDK retried the throttled call until its attempts ran out");
    let create_app_ops = recorder.calls().iter().filter(|c| c.operation == "CreateApplication").count();
    assert_eq!(create_app_ops, 1, "one operation, three attempts");

    assert!(f.rollback.is_clean(), "{}", f.rollback);
    assert_eq!(status(&journal), JournalStatus::RolledBack);
    for op in ["DeleteListener", "DeleteTargetGroup", "DetachRolePolicy", "DeleteRole"] {
        assert_eq!(world.calls(op), 1, "{op}");
    }
    assert_eq!(world.calls("DeleteApplication"), 0, "the application was never created");
    assert!(!recorder.calls().iter().any(|c| c.operation == "CreateService" || c.operation == "DeleteService"));
    world.assert_as_before("after rollback");
}

// (d) ------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn d_a_failed_compensation_is_reported_and_a_later_rollback_finishes_it() {
    use aws_sdk_codepipeline::operation::update_pipeline::UpdatePipelineError;
    use aws_sdk_codepipeline::types::error::InvalidStructureException;
    use aws_sdk_elasticloadbalancingv2::operation::delete_target_group::DeleteTargetGroupError;
    let world = World::sample();
    let pipeline_fault = mock!(aws_sdk_codepipeline::Client::update_pipeline).then_error(|| {
        modeled!(
            UpdatePipelineError::InvalidStructureException,
            InvalidStructureException,
            "InvalidStructureException",
            "Action configuration for action 'Deploy' is missing required configuration 'AppSpecTemplatePath'"
        )
    });
    // Fails once (the automatic rollback), then the fake answers (the later rollback).
    let delete_tg_denied = mock!(aws_sdk_elasticloadbalancingv2::Client::delete_target_group)
        .sequence()
        .error(|| {
            DeleteTargetGroupError::generic(mocks::meta(
                "AccessDenied",
                "User: arn:aws:sts::123456789012:assumed-role/deployer/ci is not authorized to perform: elasticloadbalancing:DeleteTargetGroup",
            ))
        })
        .build();
    let faults = Rules::of([pipeline_fault.clone(), delete_tg_denied.clone()]);
    let recorder = CallRecorder::new();
    let aws = world.clients(&faults, &recorder, RetryConfig::disabled());
    let journal = InMemoryJournal::new();
    let plan = plan();

    let f = apply_failed(plan.apply(&aws, &journal, &opts()).await);

    assert_eq!(f.step, StepId::PipelineDeployAction);
    assert_eq!(pipeline_fault.num_calls(), 1);
    assert!(!f.rollback.is_clean());
    assert_eq!(f.rollback.left_over.len(), 1, "{}", f.rollback);
    let left = &f.rollback.left_over[0];
    assert_eq!(left.what, format!("target group {GREEN_TG}"));
    assert!(left.error.contains("AccessDenied"), "{}", left.error);
    assert!(left.how_to_fix.contains("aws elbv2 delete-target-group"), "{}", left.how_to_fix);
    let green_arn = world.state().target_groups.values().find(|t| t.name == GREEN_TG).map(|t| t.arn.clone()).unwrap();
    assert!(left.how_to_fix.contains(&green_arn), "{}", left.how_to_fix);
    assert_eq!(delete_tg_denied.num_calls(), 1);
    assert_eq!(world.calls("DeleteTargetGroup"), 0);
    // The other undos still ran.
    for op in ["DeleteDeploymentGroup", "DeleteApplication", "DetachRolePolicy", "DeleteRole", "DeleteListener"] {
        assert_eq!(world.calls(op), 1, "{op}");
    }
    for what in [
        "deployment group prod-web/web-bluegreen",
        "CodeDeploy application prod-web",
        "IAM role prod-web-codedeploy",
        &format!("listener :8080 on {LB_ARN}"),
    ] {
        assert!(f.rollback.undone.iter().any(|u| u == what), "{what} not undone: {:#?}", f.rollback.undone);
    }
    {
        let st = world.state();
        assert!(st.target_groups.contains_key(&green_arn), "the green group is what is left");
        assert!(st.applications.is_empty() && st.deployment_groups.is_empty());
        // Only the pipeline's own role is left, with only its own policy.
        assert_eq!(st.roles.keys().collect::<Vec<_>>(), [PIPELINE_ROLE]);
        assert_eq!(st.roles[PIPELINE_ROLE].inline_policies.keys().collect::<Vec<_>>(), ["ecs-deploy"]);
        assert!(!st.load_balancer.listeners.iter().any(|l| l.port == Some(8080)));
        let web = &st.services[SERVICE];
        assert_eq!((web.status.as_str(), web.deployment_controller.as_str()), ("ACTIVE", "ECS"), "original service restored");
    }
    assert_eq!(status(&journal), JournalStatus::RollbackIncomplete);

    // A new apply refuses to start over the incomplete rollback, without a call.
    let before = recorder.calls().len();
    let refused = plan.apply(&aws, &journal, &opts()).await.unwrap_err();
    assert!(matches!(refused, Error::Unfinished(_)), "{refused:?}");
    assert_eq!(recorder.calls().len(), before);

    // The permission is fixed: rollback finishes the job.
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.undone, [format!("target group {GREEN_TG}")]);
    assert_eq!(world.calls("DeleteTargetGroup"), 1);
    assert_eq!(delete_tg_denied.num_calls(), 1);
    assert_eq!(status(&journal), JournalStatus::RolledBack);
    world.assert_as_before("after rollback");
}

// (e) ------------------------------------------------------------------------------------------

#[tokio::test]
async fn e_apply_refuses_an_unfinished_journal_without_a_call() {
    let world = World::sample();
    let recorder = CallRecorder::new();
    let aws = world.clients(&Rules::default(), &recorder, RetryConfig::disabled());
    let plan = plan();
    // A run that started (and e.g. crashed after creating the green group).
    let journal = InMemoryJournal::new();
    journal.append(Entry::Begin { plan: Box::new(plan.clone()), run: None }).unwrap();
    journal.append(Entry::StepStarted { step: StepId::GreenTargetGroup }).unwrap();
    assert_eq!(status(&journal), JournalStatus::Unfinished);
    let records_before = journal.records().unwrap();

    let err = plan.apply(&aws, &journal, &opts()).await.unwrap_err();

    assert!(matches!(err, Error::Unfinished(_)), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(recorder.calls().is_empty(), "calls made: {:?}", recorder.calls());
    assert_eq!(journal.records().unwrap(), records_before, "the journal was written");
    assert!(world.state().log.is_empty());
}

// Cutover edge cases ---------------------------------------------------------------------------

fn recreate_plan() -> Plan {
    let migration = sample::base()
        .test_listener_port(ecs_bluegreen::spec::Port::new(8080).unwrap())
        .pipeline(sample::pipeline_stage())
        .cutover(ecs_bluegreen::spec::ServiceCutover::Recreate)
        .build();
    ecs_bluegreen::plan::plan(&migration, &sample::inventory()).unwrap()
}

/// DeleteService succeeds (AWS confirmed it), then the first poll of the INACTIVE wait fails
/// (a 5xx that outlasted the SDK's retries; a wait past its deadline does the same). The user's
/// service is gone, so the rollback must recreate it.
async fn a_service_deleted_before_a_failed_wait_is_recreated(plan: Plan) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use aws_sdk_ecs::operation::describe_services::DescribeServicesError;
    use aws_smithy_mocks::MockResponse;
    let world = World::sample();
    let fired = Arc::new(AtomicBool::new(false));
    let (f1, s1) = (fired.clone(), world.account.clone());
    let (f2, s2) = (fired.clone(), world.account.clone());
    let flaky = mock!(aws_sdk_ecs::Client::describe_services)
        .match_requests(move |r| {
            r.services() == [SERVICE]
                && !f1.load(Ordering::SeqCst)
                && s1.state().services[SERVICE].status == "DRAINING"
        })
        .then_compute_response(move |_| {
            f2.store(true, Ordering::SeqCst);
            // The service finishes draining meanwhile.
            s2.edit(|st| st.services.get_mut(SERVICE).unwrap().status = "INACTIVE".into());
            MockResponse::Error(DescribeServicesError::generic(mocks::meta(
                "ServerException",
                "Service Unavailable. Please try again later.",
            )))
        });
    let faults = Rules::of([flaky.clone()]);
    let recorder = CallRecorder::new();
    let aws = world.clients(&faults, &recorder, RetryConfig::disabled());
    let journal = InMemoryJournal::new();

    let f = apply_failed(plan.apply(&aws, &journal, &opts()).await);

    assert_eq!(f.step, StepId::ServiceCutover);
    assert_eq!(flaky.num_calls(), 1);
    assert!(world.state().log.contains(&"DeleteService web".to_owned()), "the service was deleted");
    assert!(f.rollback.is_clean(), "{}", f.rollback);
    assert!(
        f.rollback.undone.iter().any(|u| u == "ECS service prod/web (deleted)"),
        "the deleted service is not among the undone effects: {:#?}\nlog: {:#?}",
        f.rollback.undone,
        world.state().log
    );
    world.assert_as_before("after rollback");
}

#[tokio::test(start_paused = true)]
async fn f_recreate_a_service_deleted_before_a_failed_wait_is_recreated_by_the_rollback() {
    a_service_deleted_before_a_failed_wait_is_recreated(recreate_plan()).await;
}

#[tokio::test(start_paused = true)]
async fn f_parallel_keep_name_a_service_deleted_before_a_failed_wait_is_recreated_by_the_rollback() {
    a_service_deleted_before_a_failed_wait_is_recreated(plan()).await;
}

/// A crash right after DeleteService was sent (intent journaled, no outcome): the service is
/// DRAINING when the rollback looks. DRAINING is a deletion in progress, not "never deleted".
#[tokio::test(start_paused = true)]
async fn g_rollback_recreates_a_service_that_is_still_draining() {
    let world = World::sample();
    let recorder = CallRecorder::new();
    let aws = world.clients(&Rules::default(), &recorder, RetryConfig::disabled());
    // The DeleteService the crashed run sent.
    aws.ecs.delete_service().cluster(CLUSTER).service(SERVICE).force(true).send().await.unwrap();
    assert_eq!(world.state().services[SERVICE].status, "DRAINING");
    let plan = recreate_plan();
    let journal = InMemoryJournal::new();
    journal.append(Entry::Begin { plan: Box::new(plan), run: None }).unwrap();
    journal.append(Entry::StepStarted { step: StepId::ServiceCutover }).unwrap();
    journal
        .append(Entry::Intent {
            step: StepId::ServiceCutover,
            effect: journal::Effect::ServiceDeleted {
                cluster: CLUSTER.into(),
                definition: Box::new(sample::service()),
            },
        })
        .unwrap();

    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();

    assert!(report.is_clean(), "{report}");
    assert_eq!(status(&journal), JournalStatus::RolledBack);
    let st = world.state();
    let web = &st.services[SERVICE];
    assert_eq!(
        (web.status.as_str(), web.deployment_controller.as_str()),
        ("ACTIVE", "ECS"),
        "the user's service is gone after a 'clean' rollback; log: {:#?}",
        st.log
    );
}
