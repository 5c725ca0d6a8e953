//! Real accounts (issue 14 §4, §5): long drains, the bridge's health gate on EC2 bridge
//! networking, static host ports, and `deploy-check` after the traffic shift or in `Ready`.
//! On the test kit, with virtual time: `cargo test --test mocked long_waits::`.
//!
//! moto cannot show any of it: its deleted services are INACTIVE at once, it runs no tasks (so
//! no instance targets, no host ports), and its CodeDeploy deployments never leave `Created`
//! (no targets, no `ContinueDeployment`).

use std::time::Duration;

use ecs_bluegreen::deploy::{self, DeployEvent, DeployOptions, DeployRequest, DeploymentOutcome};
use ecs_bluegreen::plan::{ChangeDetail, RefusalKind, StepId};
use ecs_bluegreen::spec::{DeploymentGroupName, DeploymentGroupSpec, DrainTimeout, Migration, ReadyWait, ServiceCutover, ServiceName};
use ecs_bluegreen::testing::{Condition, EcsTiming, MockAccount, Scenario, Transition, default_migration};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, Error, InMemoryJournal, Outcome};

const MINUTE: Duration = Duration::from_secs(60);

/// The service's target group deregisters targets for an hour; the deleted service drains for
/// 50 minutes.
fn long_drain() -> Scenario {
    let mut s = Scenario::default().ecs_timing(EcsTiming::new(Duration::from_secs(30), 50 * MINUTE));
    s.target_groups[0].attributes.insert("deregistration_delay.timeout_seconds".into(), "3600".into());
    s
}

fn aws_waits() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::AWS).iam_propagation(WaitPolicy::FAST)
}

fn drain_deadline(plan: &ecs_bluegreen::Plan) -> Option<u64> {
    match &plan.change(StepId::ServiceCutover)?.detail {
        ChangeDetail::ServiceCutover { drain_deadline_secs, .. } => *drain_deadline_secs,
        _ => None,
    }
}

fn transition(account: &MockAccount, service: &str, condition: Condition) -> Transition {
    let st = account.state();
    st.transitions
        .iter()
        .find(|t| t.service == service && t.condition == condition)
        .cloned()
        .unwrap_or_else(|| panic!("no {condition:?} for {service}: {:#?}", st.transitions))
}

#[tokio::test(start_paused = true)]
async fn a_one_hour_deregistration_delay_gives_a_drain_deadline_over_an_hour_and_a_50_minute_drain_is_waited_for() {
    let account = MockAccount::new(long_drain().without_pipeline());
    let aws = account.clients();
    let plan = default_migration(account.scenario()).plan(&aws).await.unwrap();
    let secs = drain_deadline(&plan).expect("the plan derives the drain deadline");
    assert!(secs > 3600, "{secs}s: the deadline covers the deregistration delay and more");
    assert!(plan.to_string().contains(&format!("up to {secs}s")), "the plan shows it:\n{plan}");

    let outcome = plan.apply(&aws, &InMemoryJournal::new(), &aws_waits()).await;
    assert_eq!(outcome.unwrap(), Outcome::Applied, "a 50-minute drain outlives the old fixed 20-minute deadline");
    let inactive = transition(&account, "web", Condition::Inactive);
    assert!(inactive.happened >= 50 * MINUTE, "{inactive:?}");
    assert!(inactive.lag().unwrap() <= WaitPolicy::AWS.max_delay, "{inactive:?}");
}

#[tokio::test(start_paused = true)]
async fn an_explicit_drain_timeout_wins_over_the_deregistration_delay() {
    // The migration's (shown in the plan).
    let account = MockAccount::new(long_drain().without_pipeline());
    let aws = account.clients();
    let migration = Migration::for_service("prod", "web")
        .unwrap()
        .test_listener_port(default_migration(account.scenario()).test_listener_port().unwrap())
        .drain_timeout(DrainTimeout::secs(600).unwrap())
        .build();
    let plan = migration.plan(&aws).await.unwrap();
    assert_eq!(drain_deadline(&plan), Some(600));
    let Err(Error::Apply(failed)) = plan.apply(&aws, &InMemoryJournal::new(), &aws_waits()).await else {
        panic!("a 50-minute drain outlives a 10-minute drain timeout")
    };
    let Error::Timeout { waited_secs, what, .. } = &failed.cause else { panic!("{:?}", failed.cause) };
    assert!(what.contains("INACTIVE"), "{what}");
    assert_eq!(*waited_secs, 600);

    // The run's (ApplyOptions, e.g. for a rollback of a journal's plan) wins over the plan's.
    let account = MockAccount::new(long_drain().without_pipeline());
    let aws = account.clients();
    let plan = default_migration(account.scenario()).plan(&aws).await.unwrap();
    let opts = aws_waits().drain_timeout(DrainTimeout::secs(900).unwrap());
    let Err(Error::Apply(failed)) = plan.apply(&aws, &InMemoryJournal::new(), &opts).await else { panic!("the override applies") };
    assert!(matches!(failed.cause, Error::Timeout { waited_secs: 900, .. }), "{:?}", failed.cause);
}

#[test]
fn drain_timeouts_out_of_range_are_invalid() {
    assert!(DrainTimeout::secs(0).is_err());
    assert!(DrainTimeout::secs(DrainTimeout::MAX_SECS + 1).unwrap_err().to_string().contains("48 hours"));
    assert_eq!(DrainTimeout::secs(3600).unwrap().duration(), 60 * MINUTE);
}

/// bridge networking on EC2: tasks have no address of their own, targets are instance id +
/// host port. The original must keep serving until the bridge's targets are healthy.
#[tokio::test(start_paused = true)]
async fn on_bridge_networking_the_original_is_deleted_only_after_the_bridges_instance_targets_are_healthy() {
    const HEALTH: Duration = Duration::from_secs(90);
    let scenario = Scenario::default().on_ec2().without_pipeline().ecs_timing(EcsTiming::new(Duration::from_secs(40), Duration::from_secs(30)).with_health_checks(HEALTH));
    let account = MockAccount::new(scenario);
    let aws = account.clients();
    let plan = default_migration(account.scenario()).plan(&aws).await.unwrap();
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &aws_waits()).await.unwrap(), Outcome::Applied);

    let bridge = "web-bg-bridge";
    let healthy = transition(&account, bridge, Condition::TargetsHealthy);
    assert!(healthy.noticed.is_some(), "the health gate looked at the bridge's targets: {healthy:?}");
    let calls = account.calls();
    let deleted = calls
        .iter()
        .find(|c| c.operation == "DeleteService" && c.input.contains("service: Some(\"web\")"))
        .expect("the original was deleted");
    assert!(deleted.at >= healthy.happened, "deleted at {:?}, before the bridge was healthy at {:?}", deleted.at, healthy.happened);
    // Asked by instance id and host port, after resolving the container instance.
    assert!(calls.iter().any(|c| c.operation == "DescribeContainerInstances"));
    let by_instance = calls.iter().filter(|c| c.operation == "DescribeTargetHealth").any(|c| c.input.contains("id: Some(\"i-0"));
    assert!(by_instance, "DescribeTargetHealth asked for instance targets");
}

#[tokio::test(start_paused = true)]
async fn static_host_ports_refuse_the_parallel_cutovers_and_name_recreate() {
    let account = MockAccount::new(Scenario::default().on_ec2().with_static_host_ports());
    let aws = account.clients();
    for cutover in [ServiceCutover::ParallelKeepName, ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() }] {
        let m = Migration::for_service("prod", "web").unwrap().cutover(cutover.clone()).build();
        let Err(Error::Plan(refused)) = m.plan(&aws).await else { panic!("{cutover:?} is refused") };
        assert!(refused.has(RefusalKind::StaticHostPorts), "{refused}");
        let r = refused.refusals().iter().find(|r| r.kind == RefusalKind::StaticHostPorts).unwrap();
        assert!(r.problem.contains("web:80 on host port 80") && r.problem.contains("bridge"), "{}", r.problem);
        assert!(r.fix.contains("--cutover recreate"), "{}", r.fix);
    }
    assert!(account.mutating_operations().is_empty(), "nothing changed");
    let recreate = Migration::for_service("prod", "web").unwrap().cutover(ServiceCutover::Recreate).build();
    assert!(recreate.plan(&aws).await.is_ok(), "recreate is the fallback");
    // Dynamic host ports (the default on_ec2) are placeable next to the original's.
    let dynamic = MockAccount::new(Scenario::default().on_ec2());
    assert!(Migration::for_service("prod", "web").unwrap().build().plan(&dynamic.clients()).await.is_ok());
}

// ---- deploy-check -------------------------------------------------------------------------

/// The account migrated with `migration`.
async fn migrated_with(scenario: Scenario, migration: impl FnOnce(&Scenario) -> Migration) -> MockAccount {
    let account = MockAccount::new(scenario);
    let aws = account.clients();
    let plan = migration(account.scenario()).plan(&aws).await.unwrap();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap(), Outcome::Applied);
    account
}

fn request() -> DeployRequest {
    DeployRequest::for_migration(&default_migration(&Scenario::default())).unwrap()
}

fn stop_at(deadline: Duration) -> DeployOptions {
    DeployOptions::builder().wait(WaitPolicy { deadline, ..WaitPolicy::AWS }).stop_on_deadline(true).build()
}

#[tokio::test(start_paused = true)]
async fn the_deadline_never_stops_a_deployment_after_production_traffic_shifted() {
    // Traffic shifts at the 3rd poll; the deployment then sits InProgress in the termination wait.
    let scenario = Scenario::default().deployments_progress(&["Created", "InProgress"]).deployments_shift_traffic_at(2);
    let account = migrated_with(scenario, default_migration).await;
    let before = account.mutating_operations().len();
    let mut events = Vec::new();
    let report = deploy::first_deployment(&account.clients(), &request(), &stop_at(2 * MINUTE), |e| events.push(e.clone()))
        .await
        .unwrap();
    assert_eq!(report.outcome, DeploymentOutcome::DeadlineReached);
    assert!(!report.succeeded(), "the CLI exits 1: the deployment outlived --deadline");
    assert!(report.traffic_shifted, "{report}");
    assert_eq!(report.stop, None, "not stopped");
    assert!(report.stop_withheld.as_deref().is_some_and(|w| w.contains("roll back a good deployment")), "{report:?}");
    assert!(events.iter().any(|e| matches!(e, DeployEvent::StopWithheld { .. })), "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, DeployEvent::StopRequested { .. })));
    let text = report.to_string();
    assert!(text.contains("production traffic has shifted") && text.contains("NOT stopped"), "{text}");
    assert_eq!(account.mutating_operations()[before..], ["CreateDeployment"], "no StopDeployment");
    assert_eq!(account.state().deployments[&report.deployment_id].status, "InProgress");
}

#[tokio::test(start_paused = true)]
async fn the_deadline_still_stops_a_deployment_before_the_shift() {
    let account = migrated_with(Scenario::default().deployments_progress(&["Created", "InProgress"]), default_migration).await;
    let report = deploy::first_deployment(&account.clients(), &request(), &stop_at(2 * MINUTE), |_| {}).await.unwrap();
    assert_eq!(report.outcome, DeploymentOutcome::DeadlineReached);
    assert!(!report.traffic_shifted && report.stop_withheld.is_none(), "{report:?}");
    assert!(report.stop.is_some(), "{report}");
    assert_eq!(account.state().deployments[&report.deployment_id].status, "Stopped");
}

/// A group with a ready wait: deployments hold in `Ready` until ContinueDeployment.
fn with_ready_wait(s: &Scenario) -> Migration {
    let base = default_migration(s);
    let group = DeploymentGroupSpec::builder()
        .deployment_group_name(DeploymentGroupName::new("web-bluegreen").unwrap())
        .ready_wait(ReadyWait::minutes(60).unwrap())
        .build();
    Migration::for_service("prod", "web")
        .unwrap()
        .test_listener_port(base.test_listener_port().unwrap())
        .pipeline_opt(base.pipeline().cloned())
        .deployment_group(group)
        .build()
}

const READY_SCRIPT: &[&str] = &["Created", "InProgress", "Ready", "InProgress", "Succeeded"];

#[tokio::test(start_paused = true)]
async fn ready_without_continue_is_reported_at_once_and_continue_continues_it() {
    let account = migrated_with(Scenario::default().deployments_progress(READY_SCRIPT), with_ready_wait).await;
    let before = account.mutating_operations().len();
    let aws = account.clients();
    let start = tokio::time::Instant::now();
    let mut events = Vec::new();
    let report = deploy::first_deployment(&aws, &request(), &DeployOptions::default(), |e| events.push(e.clone())).await.unwrap();
    assert_eq!(report.outcome, DeploymentOutcome::Ready, "{report}");
    assert!(start.elapsed() < MINUTE, "not waited out to the deadline: {:?}", start.elapsed());
    assert!(!report.succeeded() && !report.traffic_shifted && !report.continued);
    let text = report.to_string();
    assert!(text.contains("is Ready") && text.contains("--continue") && text.contains("continue-deployment"), "{text}");
    assert!(events.iter().any(|e| matches!(e, DeployEvent::WaitingForGoAhead { .. })), "{events:?}");
    assert_eq!(account.state().deployments[&report.deployment_id].status, "Ready", "left waiting");

    // `--continue`: the waiting deployment is continued (not refused, no second deployment).
    let opts = DeployOptions::builder().continue_when_ready(true).build();
    let mut events = Vec::new();
    let resumed = deploy::first_deployment(&aws, &request(), &opts, |e| events.push(e.clone())).await.unwrap();
    assert_eq!(resumed.deployment_id, report.deployment_id);
    assert_eq!(resumed.outcome, DeploymentOutcome::Succeeded, "{resumed}");
    assert!(resumed.continued && resumed.traffic_shifted);
    assert!(events.iter().any(|e| matches!(e, DeployEvent::ContinueRequested { .. })), "{events:?}");
    assert_eq!(account.mutating_operations()[before..], ["CreateDeployment", "ContinueDeployment"]);
    assert!(account.calls().iter().any(|c| c.operation == "ContinueDeployment" && c.input.contains("ReadyWait")));
}

#[tokio::test(start_paused = true)]
async fn continue_when_ready_gives_a_new_deployment_the_go_ahead() {
    let account = migrated_with(Scenario::default().deployments_progress(READY_SCRIPT), with_ready_wait).await;
    let before = account.mutating_operations().len();
    let opts = DeployOptions::builder().continue_when_ready(true).build();
    let report = deploy::first_deployment(&account.clients(), &request(), &opts, |_| {}).await.unwrap();
    assert_eq!(report.outcome, DeploymentOutcome::Succeeded, "{report}");
    assert!(report.continued);
    assert_eq!(account.mutating_operations()[before..], ["CreateDeployment", "ContinueDeployment"]);
}

#[tokio::test(start_paused = true)]
async fn without_a_ready_wait_ready_passes_by_itself() {
    let account = migrated_with(Scenario::default().deployments_progress(READY_SCRIPT), default_migration).await;
    let report = deploy::first_deployment(&account.clients(), &request(), &DeployOptions::default(), |_| {}).await.unwrap();
    assert_eq!(report.outcome, DeploymentOutcome::Succeeded, "{report}");
    assert!(!report.continued);
}
