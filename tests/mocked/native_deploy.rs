//! `deploy::native_deployment` on the test kit: a rolling service migrated to ECS-native
//! blue/green, then one service deployment started (UpdateService `forceNewDeployment`) and
//! followed through the kit's scripted ListServiceDeployments / DescribeServiceDeployments:
//! success, rollback, and the deadline (stopped before the production shift, never after).
//! Time is paused. Run: `cargo test --test mocked native_deploy::`.

use std::time::Duration;

use ecs_bluegreen::deploy::{DeployEvent, DeployOptions, DeploymentOutcome, native_deployment};
use ecs_bluegreen::spec::{Migration, Target};
use ecs_bluegreen::testing::{MockAccount, Scenario, sample};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, Error, ErrorKind, InMemoryJournal, Outcome};

fn migration() -> Migration {
    Migration::for_service(sample::CLUSTER, sample::SERVICE).unwrap().target(Target::EcsNative).build()
}

/// `scenario`'s account, migrated to ECS-native blue/green.
async fn migrated(scenario: Scenario) -> MockAccount {
    let account = MockAccount::new(scenario);
    let aws = account.clients();
    let plan = migration().plan(&aws).await.unwrap();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap(), Outcome::Applied);
    account
}

/// Polls every 5 s at first, 15 s at most, for `deadline_secs`.
fn options(deadline_secs: u64, stop_on_deadline: bool) -> DeployOptions {
    DeployOptions::builder()
        .wait(WaitPolicy { deadline: Duration::from_secs(deadline_secs), initial_delay: Duration::from_secs(5), max_delay: Duration::from_secs(15) })
        .stop_on_deadline(stop_on_deadline)
        .build()
}

fn operations(account: &MockAccount, op: &str) -> usize {
    account.calls().iter().filter(|c| c.operation == op).count()
}

#[tokio::test(start_paused = true)]
async fn a_deployment_is_started_and_followed_to_success_through_its_lifecycle_stages() {
    let account = migrated(Scenario::default()).await;
    let mut events = Vec::new();
    let report = native_deployment(&account.clients(), sample::CLUSTER, sample::SERVICE, &options(600, false), |e| events.push(e.clone()))
        .await
        .unwrap();
    assert!(report.succeeded(), "{report}");
    assert_eq!(report.status, "SUCCESSFUL");
    assert_eq!(report.lifecycle_stages, ["SCALE_UP", "TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]);
    assert!(report.traffic_shifted && report.rollback.is_none() && report.stop.is_none());
    assert_eq!(report.task_definition, sample::service().task_definition.unwrap());
    let st = account.state();
    let [(arn, d)] = st.service_deployments.iter().collect::<Vec<_>>()[..] else { panic!("one deployment: {:?}", st.service_deployments) };
    assert_eq!((arn.as_str(), d.service.as_str()), (report.deployment_arn.as_str(), sample::SERVICE));
    assert!(st.log.iter().any(|l| l == &format!("UpdateService {} forceNewDeployment", sample::SERVICE)), "{:?}", st.log);
    assert_eq!(events.first(), Some(&DeployEvent::Created { deployment_id: report.deployment_arn.clone() }));
    assert!(events.contains(&DeployEvent::LifecycleStage { stage: "PRODUCTION_TRAFFIC_SHIFT".into() }), "{events:?}");
    assert_eq!(events.last(), Some(&DeployEvent::Status { status: "SUCCESSFUL".into() }));
    assert!(report.to_string().contains("succeeded"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_rolled_back_deployment_is_reported_failed_with_ecs_reason_and_the_rollback() {
    let reason = "Service deployment rolled back because the circuit breaker was triggered.";
    let account = migrated(Scenario::default().native_deployments_roll_back(reason)).await;
    let report = native_deployment(&account.clients(), sample::CLUSTER, sample::SERVICE, &options(600, false), |_| {}).await.unwrap();
    assert_eq!(report.outcome, DeploymentOutcome::Failed, "{report}");
    assert_eq!(report.status, "ROLLBACK_SUCCESSFUL");
    assert_eq!(report.status_reason.as_deref(), Some(reason));
    let rollback = report.rollback.clone().expect("the rollback");
    assert_eq!(rollback.reason.as_deref(), Some(reason));
    assert!(!report.traffic_shifted, "it never reached the production shift");
    let text = report.to_string();
    assert!(text.contains("failed (ROLLBACK_SUCCESSFUL)") && text.contains(reason) && text.contains("ECS rolled back"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn at_the_deadline_a_deployment_before_the_production_shift_is_stopped_with_rollback() {
    let account = migrated(Scenario::default().native_deployments_progress(&[("PENDING", None), ("IN_PROGRESS", Some("TEST_TRAFFIC_SHIFT"))])).await;
    let aws = account.clients();
    // Without --stop-on-deadline: left running.
    let report = native_deployment(&aws, sample::CLUSTER, sample::SERVICE, &options(120, false), |_| {}).await.unwrap();
    assert_eq!(report.outcome, DeploymentOutcome::DeadlineReached, "{report}");
    assert!(report.stop.is_none() && report.stop_withheld.is_none());
    assert!(report.waited_secs >= 120, "{report}");
    assert!(report.to_string().contains("left running"), "{report}");
    // A second check is refused while it runs, naming it.
    let err = native_deployment(&aws, sample::CLUSTER, sample::SERVICE, &options(120, true), |_| {}).await.unwrap_err();
    let Error::DeployRefused(refused) = &err else { panic!("{err}") };
    assert_eq!(refused.kind(), ErrorKind::Conflict);
    assert_eq!(refused.active_deployment_id(), Some(report.deployment_arn.as_str()));
    assert_eq!(operations(&account, "UpdateService"), 3, "two from the migration, one from the first check");

    // A new account: with --stop-on-deadline it is stopped, with rollback.
    let account = migrated(Scenario::default().native_deployments_progress(&[("PENDING", None), ("IN_PROGRESS", Some("TEST_TRAFFIC_SHIFT"))])).await;
    let mut events = Vec::new();
    let report = native_deployment(&account.clients(), sample::CLUSTER, sample::SERVICE, &options(120, true), |e| events.push(e.clone())).await.unwrap();
    assert_eq!(report.outcome, DeploymentOutcome::DeadlineReached);
    assert!(report.stop.is_some() && report.stop_withheld.is_none(), "{report}");
    assert!(events.contains(&DeployEvent::StopRequested { deployment_id: report.deployment_arn.clone() }), "{events:?}");
    assert_eq!(account.state().service_deployments[&report.deployment_arn].stop_type.as_deref(), Some("ROLLBACK"));
}

#[tokio::test(start_paused = true)]
async fn at_the_deadline_a_deployment_past_the_production_shift_is_never_stopped() {
    let account = migrated(Scenario::default().native_deployments_progress(&[
        ("PENDING", None),
        ("IN_PROGRESS", Some("PRODUCTION_TRAFFIC_SHIFT")),
        ("IN_PROGRESS", Some("BAKE_TIME")),
    ]))
    .await;
    let report = native_deployment(&account.clients(), sample::CLUSTER, sample::SERVICE, &options(300, true), |_| {}).await.unwrap();
    assert_eq!(report.outcome, DeploymentOutcome::DeadlineReached, "{report}");
    assert!(report.stop.is_none() && report.traffic_shifted, "{report}");
    assert!(report.stop_withheld.as_deref().is_some_and(|w| w.contains("BAKE_TIME")), "{report}");
    assert_eq!(operations(&account, "StopServiceDeployment"), 0);
    assert!(report.to_string().contains("NOT stopped"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_service_not_on_native_blue_green_is_refused_before_any_change() {
    let account = MockAccount::new(Scenario::default());
    let err = native_deployment(&account.clients(), sample::CLUSTER, sample::SERVICE, &options(60, false), |_| {}).await.unwrap_err();
    let Error::DeployRefused(refused) = &err else { panic!("{err}") };
    assert_eq!(refused.kind(), ErrorKind::InvalidInput);
    assert!(refused.reason().contains("ROLLING strategy"), "{err}");
    assert_eq!(operations(&account, "UpdateService"), 0);
    let err = native_deployment(&account.clients(), sample::CLUSTER, "nope", &options(60, false), |_| {}).await;
    assert!(matches!(err, Err(Error::DeployRefused(r)) if r.kind() == ErrorKind::NotFound));
}

/// The kit's UpdateService with load balancers runs a rolling deployment under the scenario's
/// ECS delays (tasks start, pass health checks, the old ones drain); the migration waits for it.
#[tokio::test(start_paused = true)]
async fn the_in_place_migration_waits_out_the_rolling_deployment_under_the_ecs_delays() {
    use ecs_bluegreen::testing::{Condition, EcsTiming};
    let s = Duration::from_secs;
    let account = MockAccount::new(Scenario::default().ecs_timing(EcsTiming::new(s(45), s(30)).with_health_checks(s(30))));
    let aws = account.clients();
    let start = tokio::time::Instant::now();
    let plan = migration().plan(&aws).await.unwrap();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::AWS).iam_propagation(WaitPolicy::FAST);
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap(), Outcome::Applied);
    let took = start.elapsed();
    assert!(took >= s(105) && took < s(140), "took {took:?}");
    let st = account.state();
    let t = st.transitions.iter().find(|t| t.service == sample::SERVICE && t.condition == Condition::TasksRunning).expect("the rolling deployment");
    assert!(t.lag().is_some_and(|l| l <= s(25)), "{t:?}");
    assert_eq!(st.services[sample::SERVICE].deployments[0].rollout_state.as_deref(), Some("COMPLETED"));
}
