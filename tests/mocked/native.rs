//! Rolling → ECS-native blue/green (`Target::EcsNative`) on the test kit: the end state field by
//! field, a fault at every mutating call, a crash after every journal write (resumed, and rolled
//! back), and the plan's refusals. The kit's UpdateService finishes the rolling deployment at once
//! (moto, in `tests/moto/native_moto.rs`, shows the deployments ECS then runs).
//!
//! Run with `cargo test --test mocked native::`.

use ecs_bluegreen::inventory::ListenerAction;
use ecs_bluegreen::journal::Journal;
use ecs_bluegreen::plan::{ChangeDetail, RefusalKind, StepId};
use ecs_bluegreen::spec::{BakeTime, Migration, NativeDeployment, NativeStrategy, Port, Target};
use ecs_bluegreen::testing::{InjectedError, MockAccount, Scenario, fail_each_step, sample};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, Error, InMemoryJournal, Outcome};

use crate::mocks::CrashAt;

const INFRA_POLICY: &str = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers";

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn native(test_port: Option<u16>, strategy: NativeStrategy) -> Migration {
    Migration::for_service(sample::CLUSTER, sample::SERVICE)
        .unwrap()
        .target(Target::EcsNative)
        .test_listener_port_opt(test_port.map(|p| Port::new(p).unwrap()))
        .native(NativeDeployment::builder().strategy(strategy).bake_time(BakeTime::minutes(7).unwrap()).build())
        .build()
}

/// The account with the native-only members of a ROLLING service's configuration cleared.
/// UpdateService merges `deploymentConfiguration` (the kit, like the moto extension), so the
/// undo's restored ROLLING configuration keeps the bake time it cannot unset; ECS ignores it
/// under ROLLING. Everything else must be exactly as it was.
fn without_inert_bake_time(account: &MockAccount) -> ecs_bluegreen::testing::AccountState {
    let mut st = account.state();
    for svc in st.services.values_mut() {
        if let Some(dc) = svc.deployment_configuration.as_mut().filter(|d| d.strategy.as_deref() == Some("ROLLING")) {
            dc.bake_time_in_minutes = None;
            dc.linear = None;
            dc.canary = None;
        }
    }
    st
}

async fn migrate(account: &MockAccount, migration: &Migration, journal: &dyn Journal) -> ecs_bluegreen::Result<Outcome> {
    let aws = account.clients();
    let plan = migration.plan(&aws).await?;
    plan.apply(&aws, journal, &opts()).await
}

/// The migrated end state, read from the kit's account.
#[track_caller]
fn assert_migrated(account: &MockAccount, strategy: &str, test_listener: bool) {
    let st = account.state();
    let svc = &st.services[sample::SERVICE];
    assert_eq!((svc.status.as_str(), svc.deployment_controller.as_str()), ("ACTIVE", "ECS"), "in place, on ECS");
    assert_eq!(svc.arn, sample::service().arn, "the same service");
    let dc = svc.deployment_configuration.as_ref().unwrap();
    assert_eq!(dc.strategy.as_deref(), Some(strategy));
    assert_eq!(dc.bake_time_in_minutes, Some(7));
    assert_eq!(dc.circuit_breaker, Some((true, true)), "the circuit breaker is kept");
    assert_eq!((dc.maximum_percent, dc.minimum_healthy_percent), (Some(200), Some(100)));
    let green = st.target_groups.values().find(|t| t.name == "web-tg-1-green").expect("the green group");
    let [lb] = svc.load_balancers.as_slice() else { panic!("one entry: {:?}", svc.load_balancers) };
    assert_eq!(lb.target_group_arn.as_deref(), Some(sample::BLUE_TG_ARN));
    let advanced = lb.advanced_configuration.as_ref().expect("advancedConfiguration");
    assert_eq!(advanced.alternate_target_group_arn.as_deref(), Some(green.arn.as_str()));
    assert_eq!(advanced.production_listener_rule, Some(sample::default_rule_of(sample::PROD_LISTENER_ARN)));
    let role = &st.roles["prod-web-ecs-infra"];
    assert_eq!(advanced.role_arn.as_deref(), Some(role.arn.as_str()));
    assert_eq!(role.policies, vec![INFRA_POLICY.to_owned()]);
    assert!(role.trust_policy.contains("ecs.amazonaws.com"), "{}", role.trust_policy);
    let prod = st.load_balancer.listeners.iter().find(|l| l.port == Some(80)).unwrap();
    let forwarded: Vec<&str> = prod.default_forward.iter().map(|t| t.target_group_arn.as_str()).collect();
    if test_listener {
        let test = st.load_balancer.listeners.iter().find(|l| l.port == Some(8080)).expect("the test listener");
        assert_eq!(advanced.test_listener_rule, Some(sample::default_rule_of(&test.arn)));
        assert_eq!(test.default_forward.iter().map(|t| t.target_group_arn.as_str()).collect::<Vec<_>>(), vec![green.arn.as_str()]);
        assert_eq!(forwarded, vec![sample::BLUE_TG_ARN], "production untouched");
    } else {
        assert_eq!(advanced.test_listener_rule, None);
        assert_eq!(forwarded, vec![sample::BLUE_TG_ARN, green.arn.as_str()], "both groups on the production rule");
        assert_eq!(prod.default_forward[1].weight, 0);
    }
    assert!(st.applications.is_empty() && st.deployment_groups.is_empty(), "no CodeDeploy resources");
    assert!(st.create_service_requests.is_empty(), "no service created");
}

#[tokio::test(start_paused = true)]
async fn rolling_to_native_blue_green_in_place_without_and_with_a_test_listener() {
    for (port, strategy) in [(None, NativeStrategy::BlueGreen), (Some(8080), NativeStrategy::linear(10.0, 2).unwrap())] {
        let account = MockAccount::new(Scenario::default());
        let start = account.state();
        let journal = InMemoryJournal::new();
        assert_eq!(migrate(&account, &native(port, strategy), &journal).await.unwrap(), Outcome::Applied);
        assert_migrated(&account, strategy.as_str(), port.is_some());
        if let NativeStrategy::Linear { .. } = strategy {
            let dc = account.state().services[sample::SERVICE].deployment_configuration.clone().unwrap();
            let linear = dc.linear.expect("linearConfiguration");
            assert_eq!((linear.percent.map(f64::from), linear.bake_time_in_minutes), (Some(10.0), Some(2)));
        }
        // Planned again: nothing to do.
        let again = native(port, strategy).plan(&account.clients()).await.unwrap();
        assert!(again.is_noop() && again.already_migrated, "{again}");
        // Rolled back: exactly the start.
        let report = ecs_bluegreen::rollback(&account.clients(), &journal, &opts()).await.unwrap();
        assert!(report.is_clean(), "{report}");
        assert_eq!(without_inert_bake_time(&account).differences(&start), Vec::<String>::new());
    }
}

#[tokio::test(start_paused = true)]
async fn a_fault_at_every_mutating_call_leaves_the_account_as_it_was() {
    for port in [None, Some(8080)] {
        let report = fail_each_step(&Scenario::default(), InjectedError::Throttling, |aws| async move {
            let plan = native(port, NativeStrategy::BlueGreen).plan(&aws).await?;
            plan.apply(&aws, &InMemoryJournal::new(), &opts()).await
        })
        .await;
        // Green group (+ attributes), route, role (+ policy), the two UpdateService calls, and the run lock.
        assert!(report.mutating_calls.iter().filter(|o| o.as_str() == "UpdateService").count() == 2, "{:?}", report.mutating_calls);
        report.assert_all_restored();
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_after_every_journal_write_is_resumed_or_rolled_back() {
    let mut n = 1;
    loop {
        let resumed = MockAccount::new(Scenario::default());
        let crashed = CrashAt(InMemoryJournal::new(), n, 0.into());
        let migration = native(None, NativeStrategy::BlueGreen);
        if migrate(&resumed, &migration, &crashed).await.is_ok() {
            assert!(n > 10, "the run writes more than {n} records");
            break;
        }
        let records = crashed.records().unwrap();
        // Resumed by another process from the journal.
        let journal = InMemoryJournal::from_records(records.clone());
        match ecs_bluegreen::resume(&resumed.clients(), &journal, &opts()).await {
            Ok(Outcome::Applied) => assert_migrated(&resumed, "BLUE_GREEN", false),
            // A crash before the run began leaves nothing to resume.
            Err(Error::Journal(_)) if records.is_empty() => {}
            other => panic!("crash at write {n}: resume gave {other:?}"),
        }
        // Or rolled back by another process: exactly the start.
        let rolled = MockAccount::new(Scenario::default());
        let start = rolled.state();
        let crashed = CrashAt(InMemoryJournal::new(), n, 0.into());
        let _ = migrate(&rolled, &migration, &crashed).await;
        let journal = InMemoryJournal::from_records(crashed.records().unwrap());
        match ecs_bluegreen::rollback(&rolled.clients(), &journal, &opts()).await {
            Ok(report) => assert!(report.is_clean(), "crash at write {n}: {report}"),
            Err(Error::Journal(_)) if records.is_empty() => {}
            Err(e) => panic!("crash at write {n}: rollback gave {e}"),
        }
        let left: Vec<String> = without_inert_bake_time(&rolled).differences(&start).into_iter().filter(|d| !d.contains("parameter")).collect();
        assert_eq!(left, Vec::<String>::new(), "crash at write {n}");
        n += 1;
    }
}

#[test]
fn the_plan_keeps_the_pipeline_and_what_codedeploy_would_drop_and_makes_no_codedeploy_step() {
    let migration = Migration::for_service(sample::CLUSTER, sample::SERVICE)
        .unwrap()
        .target(Target::EcsNative)
        .pipeline(sample::pipeline_stage())
        .build();
    let plan = ecs_bluegreen::plan::plan(&migration, &sample::inventory()).unwrap();
    let steps: Vec<&StepId> = plan.changes.iter().map(|c| &c.step).collect();
    assert_eq!(steps, StepId::NATIVE.iter().collect::<Vec<_>>());
    let Some(ChangeDetail::NativeStrategy { kept, after, .. }) = plan.change(StepId::NativeStrategy).map(|c| &c.detail) else { panic!() };
    assert_eq!((after.strategy.as_deref(), after.bake_time_in_minutes), (Some("BLUE_GREEN"), Some(5)), "the default bake time");
    let fields: Vec<&str> = kept.iter().map(|k| k.field.as_str()).collect();
    assert!(fields.contains(&"deploymentConfiguration.deploymentCircuitBreaker"), "{fields:?}");
    assert!(fields.iter().any(|f| f.starts_with("pipeline ")), "{fields:?}");
    let text = plan.to_string();
    assert!(text.contains("to ECS-native blue/green, in place"), "{text}");
    assert!(text.contains("its ECS deploy action is kept unchanged"), "{text}");
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["target"], "ecs-native");
}

#[test]
fn a_production_rule_mixing_forward_with_authentication_or_redirect_is_refused() {
    for kind in ["authenticate-oidc", "redirect", "fixed-response"] {
        let mut inv = sample::inventory();
        let lb = inv.load_balancer.as_mut().unwrap();
        lb.listeners[0].default_actions.insert(0, ListenerAction { r#type: kind.to_owned(), order: Some(1), ..Default::default() });
        let err = ecs_bluegreen::plan::plan(&native(None, NativeStrategy::BlueGreen), &inv).unwrap_err();
        assert!(err.has(RefusalKind::NativeMixedActions), "{kind}: {err}");
        assert!(err.to_string().contains(kind), "{err}");
    }
}

#[test]
fn strategies_outside_the_documented_ranges_are_refused() {
    assert!(NativeStrategy::linear(2.0, 1).is_err());
    assert!(NativeStrategy::canary(0.0, 1).is_err());
    assert!(BakeTime::minutes(2000).is_err());
    // A strategy read from a file without the constructor's check: the plan refuses it.
    let file: NativeStrategy = serde_json::from_str(r#"{"strategy":"linear","step_percent":1,"step_bake_time":1}"#).unwrap();
    let err = ecs_bluegreen::plan::plan(&native(None, file), &sample::inventory()).unwrap_err();
    assert!(err.has(RefusalKind::InvalidNativeStrategy), "{err}");
}
