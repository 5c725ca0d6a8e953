//! Application Auto Scaling through the migration, on the test kit: a service with a scalable
//! target, a target tracking and a step policy (invoked by a CloudWatch alarm) and a scheduled
//! action keeps all of it after apply with every cutover strategy, gets it back on rollback,
//! and a fault at any mutating call (the new scaling calls included) rolls back to the
//! original's scaling. Run: `cargo test --test mocked scaling::`.

use ecs_bluegreen::inventory::scaling_resource_id;
use ecs_bluegreen::testing::AccountState;
use ecs_bluegreen::spec::{Migration, ServiceCutover, ServiceName};
use ecs_bluegreen::testing::{Fault, InjectedError, MockAccount, Scenario, sample};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, Error, InMemoryJournal, Outcome, StepId};

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn migration(cutover: &ServiceCutover) -> Migration {
    sample::base().test_listener_port(ecs_bluegreen::spec::Port::new(8080).unwrap()).cutover(cutover.clone()).build()
}

fn strategies() -> Vec<ServiceCutover> {
    vec![ServiceCutover::ParallelKeepName, ServiceCutover::Recreate, ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() }]
}

fn final_name(cutover: &ServiceCutover) -> &'static str {
    match cutover {
        ServiceCutover::Parallel { .. } => "web-bg",
        _ => sample::SERVICE,
    }
}

/// Panics unless `service` has the sample scaling, and the step alarm names its step policy's
/// live ARN (and still notifies the SNS topic), naming no other scaling policy.
#[track_caller]
fn assert_scaling_on(st: &AccountState, service: &str, context: &str) {
    let rid = scaling_resource_id(sample::CLUSTER, service);
    let target = st.scalable_targets.get(&rid).unwrap_or_else(|| panic!("{context}: no scalable target on {rid}: {:?}", st.scalable_targets));
    assert_eq!((target.min_capacity, target.max_capacity), (2, 6), "{context}");
    let want = sample::scaling();
    for p in &want.policies {
        let live = st.scaling_policies.get(&(rid.clone(), p.name.clone())).unwrap_or_else(|| panic!("{context}: policy {} missing on {rid}", p.name));
        assert_eq!((&live.policy_type, &live.step, &live.target_tracking), (&p.policy_type, &p.step, &p.target_tracking), "{context}");
    }
    let night = st.scheduled_actions.get(&(rid.clone(), sample::SCHEDULED_ACTION.into())).expect("scheduled action");
    assert_eq!(night, &want.scheduled_actions[0], "{context}");
    let step_arn = &st.scaling_policies[&(rid.clone(), sample::STEP_POLICY.into())].arn;
    let alarm = &st.alarms[sample::STEP_ALARM];
    let policy_actions: Vec<&String> = alarm.alarm_actions.iter().filter(|a| a.contains(":scalingPolicy:")).collect();
    assert_eq!(policy_actions, vec![step_arn], "{context}: the alarm names the live step policy only");
    assert!(alarm.alarm_actions.iter().any(|a| a.contains(":sns:")), "{context}: the SNS action is kept");
    let was = &want.alarms[0];
    assert_eq!((alarm.threshold, &alarm.dimensions, alarm.datapoints_to_alarm), (was.threshold, &was.dimensions, was.datapoints_to_alarm), "{context}");
}

#[tokio::test(start_paused = true)]
async fn scaling_is_carried_by_every_cutover_and_restored_by_rollback() {
    for cutover in strategies() {
        let context = cutover.as_str().to_owned();
        let account = MockAccount::new(Scenario::default().with_scaling());
        let start = account.state();
        let aws = account.clients();
        let plan = migration(&cutover).plan(&aws).await.unwrap();
        let change = plan.change(StepId::ServiceScaling).unwrap_or_else(|| panic!("{context}: no scaling step"));
        assert_eq!(change.depends_on, vec![StepId::ServiceCutover]);
        let journal = InMemoryJournal::new();
        assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied, "{context}");
        let st = account.state();
        assert_scaling_on(&st, final_name(&cutover), &context);
        assert_eq!(st.scalable_targets.len(), 1, "{context}: only the final service scales (the bridge's left with it): {:?}", st.scalable_targets);

        let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
        assert!(report.is_clean(), "{context}: {report}");
        let st = account.state();
        assert_scaling_on(&st, sample::SERVICE, &format!("{context}, rolled back"));
        let diffs = start.differences(&st);
        assert!(diffs.is_empty(), "{context}: after rollback the account differs:\n{}", diffs.join("\n"));
    }
}

#[tokio::test(start_paused = true)]
async fn the_bridge_scales_while_it_serves() {
    let account = MockAccount::new(Scenario::default().with_scaling());
    let aws = account.clients();
    let plan = migration(&ServiceCutover::ParallelKeepName).plan(&aws).await.unwrap();
    // Stop the run right after the original is deleted: the bridge serves alone.
    account.inject(Fault::nth_call("CreateService", 2, InjectedError::aws("AccessDeniedException", "stop here")));
    let err = plan.apply(&aws, &InMemoryJournal::new(), &opts()).await.unwrap_err();
    assert!(matches!(err, Error::Apply(_)), "{err}");
    let log = account.state().log;
    let registered = log.iter().position(|l| l == "RegisterScalableTarget service/prod/web-bg-bridge").unwrap_or_else(|| panic!("{log:?}"));
    let alarm = log.iter().position(|l| l == &format!("PutMetricAlarm {}", sample::STEP_ALARM)).expect("alarm re-pointed");
    let deleted = log.iter().position(|l| l == "DeleteService web").expect("original deleted");
    assert!(registered < alarm && alarm < deleted, "the bridge scales (and its step policy is alarmed) before the original goes: {log:?}");
}

#[tokio::test(start_paused = true)]
async fn a_fault_at_any_mutating_call_rolls_back_to_the_originals_scaling() {
    for cutover in strategies() {
        let mut n = 1;
        loop {
            let account = MockAccount::new(Scenario::default().with_scaling());
            let start = account.state();
            let aws = account.clients();
            let plan = migration(&cutover).plan(&aws).await.unwrap();
            account.inject(Fault::nth_mutation(n, InjectedError::aws("InternalFailure", "injected fault")));
            let context = format!("{} with a fault at mutating call {n}", cutover.as_str());
            match plan.apply(&aws, &InMemoryJournal::new(), &opts()).await {
                Ok(Outcome::Applied) => {
                    assert!(n > 10, "{context}: the run has more mutating calls than that");
                    break;
                }
                Ok(other) => panic!("{context}: {other:?}"),
                Err(Error::Apply(failed)) => {
                    assert!(failed.rollback.is_clean(), "{context}: {}", failed.rollback);
                    let st = account.state();
                    assert_scaling_on(&st, sample::SERVICE, &context);
                    let diffs = start.differences(&st);
                    assert!(diffs.is_empty(), "{context}: the account differs:\n{}", diffs.join("\n"));
                }
                Err(other) => panic!("{context}: {other}"),
            }
            n += 1;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_service_without_scaling_plans_no_scaling_step() {
    let account = MockAccount::default_scenario();
    let plan = migration(&ServiceCutover::ParallelKeepName).plan(&account.clients()).await.unwrap();
    assert!(plan.change(StepId::ServiceScaling).is_none());
    assert!(!plan.built_in_steps.contains(&StepId::ServiceScaling), "{:?}", plan.built_in_steps);
    assert!(!plan.to_string().contains("auto scaling"), "{plan}");
}

#[tokio::test(start_paused = true)]
async fn the_plan_shows_the_scaling_it_carries() {
    let account = MockAccount::new(Scenario::default().with_scaling());
    let plan = migration(&ServiceCutover::ParallelKeepName).plan(&account.clients()).await.unwrap();
    let text = plan.to_string();
    for want in [
        "+ create auto scaling of ECS service web (deleting the original deregisters it)",
        "scalable_target     = service/prod/web min 2 max 6",
        "policy web-cpu-60   = target tracking ECSServiceAverageCPUUtilization = 60",
        "policy web-step-out = step scaling ChangeInCapacity, 2 step(s)",
        "scheduled web-night = cron(0 22 * * ? *) min 1 max 2",
        "alarm web-cpu-high  = re-pointed to the new step policy ARN (previous actions journaled)",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let json = serde_json::to_value(&plan).unwrap();
    let change = json["changes"].as_array().unwrap().iter().find(|c| c["step"] == "service-scaling").expect("in the JSON plan");
    assert_eq!(change["detail"]["scaling"]["alarms"][0]["alarm_actions"][0], sample::STEP_POLICY_ARN);
    assert!(plan.built_in_steps.contains(&StepId::ServiceScaling));
}
