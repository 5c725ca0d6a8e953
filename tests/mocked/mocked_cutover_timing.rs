//! The cutover under a scripted delay model of ECS (test kit, virtual time): tasks take 40 s to
//! start, targets another 30 s to pass health checks, a deleted service drains for 60 s.
//!
//! * No service is stopped before the one that takes over has healthy targets, so the blue
//!   target group always has healthy targets (both parallel strategies).
//! * Every wait notices its condition within one poll interval (`WaitPolicy::AWS.max_delay`).

use std::time::Duration;

use ecs_bluegreen::spec::{ServiceCutover, ServiceName};
use ecs_bluegreen::testing::{Condition, EcsTiming, MockAccount, Scenario, Transition, default_migration};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, InMemoryJournal, Migration, Outcome};

const TASKS: Duration = Duration::from_secs(40);
const HEALTH: Duration = Duration::from_secs(30);
const DRAIN: Duration = Duration::from_secs(60);

fn timed_scenario() -> Scenario {
    Scenario::default().ecs_timing(EcsTiming::new(TASKS, DRAIN).with_health_checks(HEALTH))
}

async fn run(cutover: ServiceCutover) -> MockAccount {
    let account = MockAccount::new(timed_scenario());
    let aws = account.clients();
    let base = default_migration(account.scenario());
    let migration = Migration::for_service("prod", "web")
        .unwrap()
        .test_listener_port(base.test_listener_port().unwrap())
        .cutover(cutover)
        .build();
    let plan = migration.plan(&aws).await.unwrap();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::AWS).iam_propagation(WaitPolicy::FAST);
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap(), Outcome::Applied);
    account
}

fn transition(account: &MockAccount, service: &str, condition: Condition) -> Transition {
    let st = account.state();
    st.transitions
        .iter()
        .find(|t| t.service == service && t.condition == condition)
        .cloned()
        .unwrap_or_else(|| panic!("no {condition:?} for {service}: {:#?}", st.transitions))
}

/// When `DeleteService` was called for `service`.
fn deleted_at(account: &MockAccount, service: &str) -> Duration {
    account
        .calls()
        .iter()
        .find(|c| c.operation == "DeleteService" && c.input.contains(&format!("service: Some(\"{service}\")")))
        .map(|c| c.at)
        .unwrap_or_else(|| panic!("{service} was never deleted"))
}

fn assert_prompt(account: &MockAccount) {
    let st = account.state();
    assert!(!st.transitions.is_empty());
    for t in &st.transitions {
        let lag = t.lag().unwrap_or_else(|| panic!("nobody waited for {t:?}"));
        assert!(lag <= WaitPolicy::AWS.max_delay, "{t:?} noticed {lag:?} late");
    }
}

#[tokio::test(start_paused = true)]
async fn keep_name_stops_nothing_before_its_successor_has_healthy_targets() {
    let account = run(ServiceCutover::ParallelKeepName).await;
    let bridge = "web-bg-bridge".to_owned(); // the documented bridge name
    let bridge_healthy = transition(&account, &bridge, Condition::TargetsHealthy);
    assert_eq!(bridge_healthy.happened - transition(&account, &bridge, Condition::TasksRunning).happened, HEALTH);
    // The original serves until the bridge's targets are healthy.
    assert!(deleted_at(&account, "web") >= bridge_healthy.happened);
    // The recreated service has healthy targets before the bridge stops.
    let web_healthy = transition(&account, "web", Condition::TargetsHealthy);
    assert!(deleted_at(&account, &bridge) >= web_healthy.happened);
    // The name was reused only after the original was INACTIVE.
    let inactive = transition(&account, "web", Condition::Inactive);
    let recreated = account.calls().iter().filter(|c| c.operation == "CreateService").nth(1).unwrap().at;
    assert!(recreated >= inactive.happened, "{recreated:?} < {inactive:?}");
    assert_prompt(&account);
}

#[tokio::test(start_paused = true)]
async fn parallel_stops_the_old_service_only_after_the_new_one_has_healthy_targets() {
    let account = run(ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() }).await;
    let healthy = transition(&account, "web-bg", Condition::TargetsHealthy);
    assert!(deleted_at(&account, "web") >= healthy.happened);
    assert_prompt(&account);
}

#[tokio::test(start_paused = true)]
async fn recreate_waits_for_the_drain_and_the_new_tasks() {
    let start = tokio::time::Instant::now();
    let account = run(ServiceCutover::Recreate).await;
    let inactive = transition(&account, "web", Condition::Inactive);
    assert!(inactive.happened >= DRAIN);
    assert!(start.elapsed() >= DRAIN + TASKS, "the run waited for the drain and the new tasks: {:?}", start.elapsed());
    assert_prompt(&account);
}
