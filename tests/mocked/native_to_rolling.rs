//! ECS-native blue/green → rolling (`Target::Rolling`), in place, on the test kit: rolling →
//! native → rolling gives the original service back field by field; after a deployment that
//! moved production to the green group the service keeps green; a fault at every mutating call
//! and a crash after every journal write leave the native start (or finish the way back); the
//! plan's refusals. Also rolling → native on a Network Load Balancer (listener ARNs, the
//! 10-minute warning). The moto side is `tests/moto/native_moto.rs`.
//!
//! Run with `cargo test --features test-util --test mocked native_to_rolling::`.

use ecs_bluegreen::inventory::{
    AdvancedConfigurationDef, ServiceDefinition, ServiceDeploymentInfo, TargetGroupInfo, WeightedTargetGroup,
};
use ecs_bluegreen::journal::Journal;
use ecs_bluegreen::plan::{Action, ChangeDetail, RefusalKind, StepId};
use ecs_bluegreen::spec::{Migration, Port, Target};
use ecs_bluegreen::testing::{InjectedError, MockAccount, Scenario, fail_each_step, sample};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, Error, InMemoryJournal, Outcome};

use crate::mocks::CrashAt;

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn to_rolling() -> Migration {
    Migration::for_service(sample::CLUSTER, sample::SERVICE).unwrap().target(Target::Rolling).build()
}

fn to_native(test_port: Option<u16>) -> Migration {
    Migration::for_service(sample::CLUSTER, sample::SERVICE)
        .unwrap()
        .target(Target::EcsNative)
        .test_listener_port_opt(test_port.map(|p| Port::new(p).unwrap()))
        .build()
}

async fn migrate(account: &MockAccount, migration: &Migration, journal: &dyn Journal) -> ecs_bluegreen::Result<Outcome> {
    let aws = account.clients();
    let plan = migration.plan(&aws).await?;
    plan.apply(&aws, journal, &opts()).await
}

/// The service as a rolling one is compared: UpdateService merges `deploymentConfiguration`
/// (the kit, like the moto extension), so a ROLLING configuration may keep a bake time ECS
/// does not use under ROLLING. Everything else must be exactly as it was.
fn as_rolling(svc: &ServiceDefinition) -> ServiceDefinition {
    let mut svc = svc.clone();
    if let Some(dc) = svc.deployment_configuration.as_mut().filter(|d| d.strategy.as_deref().is_none_or(|s| s == "ROLLING")) {
        dc.strategy = Some("ROLLING".into());
        dc.bake_time_in_minutes = None;
        dc.linear = None;
        dc.canary = None;
    }
    svc
}

fn green_arn(account: &MockAccount) -> String {
    account.state().target_groups.values().find(|t| t.name == sample::GREEN_TG).expect("the green group").arn.clone()
}

/// The native end state of the kit's default migration (test listener on 8080).
#[track_caller]
fn assert_native(account: &MockAccount) {
    let st = account.state();
    let svc = &st.services[sample::SERVICE];
    assert_eq!(svc.deployment_configuration.as_ref().and_then(|d| d.strategy.as_deref()), Some("BLUE_GREEN"));
    let [lb] = svc.load_balancers.as_slice() else { panic!("one entry: {:?}", svc.load_balancers) };
    let advanced = lb.advanced_configuration.as_ref().expect("advancedConfiguration");
    assert_eq!(advanced.alternate_target_group_arn.as_deref(), Some(green_arn(account).as_str()));
}

#[tokio::test(start_paused = true)]
async fn rolling_to_native_and_back_gives_the_original_service_back_field_by_field() {
    for port in [None, Some(8080)] {
        let account = MockAccount::new(Scenario::default());
        let start = account.state();
        assert_eq!(migrate(&account, &to_native(port), &InMemoryJournal::new()).await.unwrap(), Outcome::Applied);
        let native = account.state();

        let plan = to_rolling().plan(&account.clients()).await.unwrap();
        let steps: Vec<&StepId> = plan.changes.iter().map(|c| &c.step).collect();
        assert_eq!(steps, StepId::NATIVE_TO_ROLLING.iter().collect::<Vec<_>>(), "strategy first, as AWS documents");
        let text = plan.to_string();
        assert!(text.contains("to rolling updates, in place"), "{text}");
        assert!(text.contains("deployment strategy BLUE_GREEN -> ROLLING"), "{text}");
        assert!(text.contains(&format!("keep target group {}", sample::GREEN_TG)), "the green group is kept and the plan says so: {text}");
        assert!(text.contains("keep infrastructure role"), "{text}");
        let journal = InMemoryJournal::new();
        assert_eq!(plan.apply(&account.clients(), &journal, &opts()).await.unwrap(), Outcome::Applied);

        // The service is the original one, field by field (ARN, entry, percents, breaker, tags ...).
        let st = account.state();
        let svc = &st.services[sample::SERVICE];
        assert_eq!(as_rolling(svc), as_rolling(&start.services[sample::SERVICE]), "port {port:?}");
        assert_eq!(svc.arn.as_deref(), Some(sample::SERVICE_ARN));
        assert_eq!(svc.load_balancers[0].target_group_arn.as_deref(), Some(sample::BLUE_TG_ARN));
        assert_eq!(svc.load_balancers[0].advanced_configuration, None);
        let dc = svc.deployment_configuration.as_ref().unwrap();
        assert_eq!((dc.strategy.as_deref(), dc.circuit_breaker, dc.maximum_percent, dc.minimum_healthy_percent), (Some("ROLLING"), Some((true, true)), Some(200), Some(100)));
        // Kept by default: the green group and the role stay.
        assert!(st.target_groups.values().any(|t| t.name == sample::GREEN_TG), "the green group is kept");
        assert!(st.roles.contains_key("prod-web-ecs-infra"), "the role is kept");
        assert!(st.create_service_requests.is_empty(), "no service created");

        // Planned again: nothing to do.
        let again = to_rolling().plan(&account.clients()).await.unwrap();
        assert!(again.is_noop() && again.already_migrated, "{again}");
        assert!(again.to_string().contains("already uses rolling updates"), "{again}");

        // Rolled back: exactly the native state.
        let report = ecs_bluegreen::rollback(&account.clients(), &journal, &opts()).await.unwrap();
        assert!(report.is_clean(), "{report}");
        assert_eq!(account.state().differences(&native), Vec::<String>::new(), "port {port:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_deployment_moved_production_to_green_the_service_keeps_green() {
    let account = MockAccount::new(Scenario::default().already_on_ecs_native());
    let aws = account.clients();
    let green = green_arn(&account);
    // What ECS's blue/green deployment leaves: production all on green, blue at weight 0.
    let forward = aws_sdk_elasticloadbalancingv2::types::ForwardActionConfig::builder()
        .target_groups(aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder().target_group_arn(sample::BLUE_TG_ARN).weight(0).build())
        .target_groups(aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder().target_group_arn(&green).weight(100).build())
        .build();
    aws.elbv2
        .modify_listener()
        .listener_arn(sample::PROD_LISTENER_ARN)
        .default_actions(aws_sdk_elasticloadbalancingv2::types::Action::builder().r#type("forward".into()).forward_config(forward).build())
        .send()
        .await
        .unwrap();
    let swung = account.state();

    let plan = to_rolling().plan(&aws).await.unwrap();
    let Some(ChangeDetail::RollingLoadBalancer(r)) = plan.change(StepId::RollingLoadBalancer).map(|c| &c.detail) else { panic!("{plan}") };
    assert_eq!(r.after.target_group_arn.as_deref(), Some(green.as_str()), "the group that serves production");
    assert_eq!(r.idle_target_group.as_deref(), Some(sample::BLUE_TG_ARN));
    assert!(plan.warnings.iter().any(|w| w.contains("production traffic is on web-tg-1-green")), "{:?}", plan.warnings);
    let journal = InMemoryJournal::new();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);

    let st = account.state();
    let svc = &st.services[sample::SERVICE];
    assert_eq!(svc.load_balancers[0].target_group_arn.as_deref(), Some(green.as_str()));
    assert_eq!(svc.load_balancers[0].advanced_configuration, None);
    assert_eq!(svc.deployment_configuration.as_ref().and_then(|d| d.strategy.as_deref()), Some("ROLLING"));
    let prod = st.load_balancer.listeners.iter().find(|l| l.arn == sample::PROD_LISTENER_ARN).unwrap();
    assert_eq!(
        prod.default_forward,
        vec![WeightedTargetGroup { target_group_arn: sample::BLUE_TG_ARN.into(), weight: 0 }, WeightedTargetGroup { target_group_arn: green.clone(), weight: 100 }],
        "production traffic untouched"
    );
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(account.state().differences(&swung), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_fault_at_every_mutating_call_leaves_the_native_service_as_it_was() {
    let report = fail_each_step(&Scenario::default().already_on_ecs_native(), InjectedError::Throttling, |aws| async move {
        let plan = to_rolling().plan(&aws).await?;
        plan.apply(&aws, &InMemoryJournal::new(), &opts()).await
    })
    .await;
    // The strategy, the entry, and the run lock.
    assert_eq!(report.mutating_calls.iter().filter(|o| o.as_str() == "UpdateService").count(), 2, "{:?}", report.mutating_calls);
    report.assert_all_restored();
}

#[tokio::test(start_paused = true)]
async fn a_crash_after_every_journal_write_is_resumed_or_rolled_back() {
    let mut n = 1;
    loop {
        let resumed = MockAccount::new(Scenario::default().already_on_ecs_native());
        let start = resumed.state();
        let crashed = CrashAt(InMemoryJournal::new(), n, 0.into());
        if migrate(&resumed, &to_rolling(), &crashed).await.is_ok() {
            assert!(n > 4, "the run writes more than {n} records");
            break;
        }
        let records = crashed.records().unwrap();
        // Resumed by another process from the journal: the original rolling service.
        let journal = InMemoryJournal::from_records(records.clone());
        match ecs_bluegreen::resume(&resumed.clients(), &journal, &opts()).await {
            Ok(Outcome::Applied) => {
                let st = resumed.state();
                let svc = &st.services[sample::SERVICE];
                assert_eq!(svc.load_balancers[0].advanced_configuration, None, "crash at write {n}");
                assert_eq!(svc.deployment_configuration.as_ref().and_then(|d| d.strategy.as_deref()), Some("ROLLING"));
            }
            Err(Error::Journal(_)) if records.is_empty() => {}
            other => panic!("crash at write {n}: resume gave {other:?}"),
        }
        // Or rolled back by another process: exactly the native start.
        let rolled = MockAccount::new(Scenario::default().already_on_ecs_native());
        let crashed = CrashAt(InMemoryJournal::new(), n, 0.into());
        let _ = migrate(&rolled, &to_rolling(), &crashed).await;
        let journal = InMemoryJournal::from_records(crashed.records().unwrap());
        match ecs_bluegreen::rollback(&rolled.clients(), &journal, &opts()).await {
            Ok(report) => assert!(report.is_clean(), "crash at write {n}: {report}"),
            Err(Error::Journal(_)) if records.is_empty() => {}
            Err(e) => panic!("crash at write {n}: rollback gave {e}"),
        }
        assert_native(&rolled);
        let left: Vec<String> = rolled.state().differences(&start).into_iter().filter(|d| !d.contains("parameter")).collect();
        assert_eq!(left, Vec::<String>::new(), "crash at write {n}");
        n += 1;
    }
}

#[tokio::test(start_paused = true)]
async fn a_rolling_service_asked_for_rolling_has_nothing_to_do() {
    let account = MockAccount::new(Scenario::default());
    let plan = to_rolling().plan(&account.clients()).await.unwrap();
    assert!(plan.is_noop() && plan.already_migrated, "{plan}");
    assert_eq!(plan.apply(&account.clients(), &InMemoryJournal::new(), &opts()).await.unwrap(), Outcome::NothingToDo);
}

/// The inventory of the sample service after a rolling → native migration without test
/// listener: green at weight 0 beside blue on the production listener.
fn native_inventory() -> ecs_bluegreen::Inventory {
    let mut inv = sample::inventory();
    let svc = inv.service.as_mut().unwrap();
    let dc = svc.deployment_configuration.as_mut().unwrap();
    dc.strategy = Some("BLUE_GREEN".into());
    dc.bake_time_in_minutes = Some(5);
    svc.load_balancers[0].advanced_configuration = Some(AdvancedConfigurationDef {
        alternate_target_group_arn: Some(sample::GREEN_TG_ARN.into()),
        production_listener_rule: Some(sample::default_rule_of(sample::PROD_LISTENER_ARN)),
        test_listener_rule: None,
        role_arn: Some("arn:aws:iam::123456789012:role/prod-web-ecs-infra".into()),
    });
    inv.existing.green_target_group =
        Some(TargetGroupInfo { arn: sample::GREEN_TG_ARN.into(), name: sample::GREEN_TG.into(), ..sample::blue_target_group() });
    inv.load_balancer.as_mut().unwrap().listeners[0].default_forward = vec![
        WeightedTargetGroup { target_group_arn: sample::BLUE_TG_ARN.into(), weight: 1 },
        WeightedTargetGroup { target_group_arn: sample::GREEN_TG_ARN.into(), weight: 0 },
    ];
    inv
}

#[test]
fn the_plan_drops_what_rolling_does_not_use_and_keeps_the_rest() {
    let plan = ecs_bluegreen::plan::plan(&to_rolling(), &native_inventory()).unwrap();
    assert_eq!(plan.target, Target::Rolling);
    let Some(ChangeDetail::RollingStrategy { after, dropped, .. }) = plan.change(StepId::RollingStrategy).map(|c| &c.detail) else { panic!() };
    assert_eq!((after.strategy.as_deref(), after.bake_time_in_minutes), (Some("ROLLING"), None));
    assert_eq!((after.circuit_breaker, after.maximum_percent, after.minimum_healthy_percent), (Some((true, true)), Some(200), Some(100)));
    assert_eq!(dropped.iter().map(|d| d.field.as_str()).collect::<Vec<_>>(), vec!["deploymentConfiguration.bakeTimeInMinutes"]);
    let lb = plan.change(StepId::RollingLoadBalancer).unwrap();
    assert_eq!((lb.action, lb.depends_on.clone()), (Action::Update, vec![StepId::RollingStrategy]));
    assert_eq!(serde_json::to_value(&plan).unwrap()["target"], "rolling");
}

#[test]
fn a_deployment_in_progress_or_traffic_split_between_the_groups_is_refused() {
    let mut inv = native_inventory();
    inv.unfinished_service_deployments =
        vec![ServiceDeploymentInfo { arn: "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/abc".into(), status: "IN_PROGRESS".into() }];
    let err = ecs_bluegreen::plan::plan(&to_rolling(), &inv).unwrap_err();
    assert!(err.has(RefusalKind::DeploymentInFlight), "{err}");
    assert!(err.to_string().contains("service-deployment/prod/web/abc (IN_PROGRESS)"), "{err}");

    let mut inv = native_inventory();
    inv.load_balancer.as_mut().unwrap().listeners[0].default_forward[1].weight = 50;
    let err = ecs_bluegreen::plan::plan(&to_rolling(), &inv).unwrap_err();
    assert!(err.has(RefusalKind::DeploymentInFlight), "{err}");
    assert!(err.to_string().contains("splits traffic"), "{err}");
}

#[test]
fn a_production_rule_that_is_no_listener_default_is_refused_with_what_to_do() {
    let mut inv = native_inventory();
    let svc = inv.service.as_mut().unwrap();
    svc.load_balancers[0].advanced_configuration.as_mut().unwrap().production_listener_rule = Some("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web-alb/x/y/z".into());
    let err = ecs_bluegreen::plan::plan(&to_rolling(), &inv).unwrap_err();
    assert!(err.has(RefusalKind::NoProductionListener), "{err}");
}

/// A `CODE_DEPLOY` service asked for rolling is the onward-from-CodeDeploy direction (its own
/// planner, `tests/mocked/from_codedeploy.rs`), not this one: without its deployment group and
/// primary task set it is refused with those reasons, not with this planner's.
#[test]
fn a_code_deploy_service_goes_to_the_onward_from_codedeploy_planner() {
    let mut inv = sample::inventory();
    inv.service.as_mut().unwrap().deployment_controller = "CODE_DEPLOY".into();
    let err = ecs_bluegreen::plan::plan(&to_rolling(), &inv).unwrap_err();
    assert!(err.has(RefusalKind::NoDeploymentGroup), "{err}");
    assert!(err.has(RefusalKind::TaskSets), "{err}");
    assert!(!err.has(RefusalKind::UnsupportedTarget), "{err}");
}

#[tokio::test(start_paused = true)]
async fn rolling_to_native_on_a_network_load_balancer_names_listeners_and_warns_of_the_waits_and_comes_back() {
    for port in [None, Some(8080)] {
        let account = MockAccount::new(Scenario::default().behind_nlb());
        let start = account.state();
        let aws = account.clients();
        let plan = to_native(port).plan(&aws).await.unwrap();
        assert!(plan.warnings.iter().any(|w| w.contains("Network Load Balancer") && w.contains("10-minute")), "{:?}", plan.warnings);
        let text = plan.to_string();
        assert!(text.contains("production_listener "), "NLB rows name listeners: {text}");
        assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts()).await.unwrap(), Outcome::Applied);

        let st = account.state();
        let svc = &st.services[sample::SERVICE];
        assert_eq!(svc.arn.as_deref(), Some(sample::SERVICE_ARN), "in place");
        assert_eq!(svc.deployment_configuration.as_ref().and_then(|d| d.strategy.as_deref()), Some("BLUE_GREEN"));
        let green = st.target_groups.values().find(|t| t.name == sample::GREEN_TG).expect("the green group");
        assert_eq!(green.protocol.as_deref(), Some("TCP"), "a TCP clone");
        let advanced = svc.load_balancers[0].advanced_configuration.as_ref().expect("advancedConfiguration");
        let prod_listener = st.load_balancer.listeners.iter().find(|l| l.port == Some(80)).unwrap();
        assert_eq!(advanced.production_listener_rule.as_deref(), Some(prod_listener.arn.as_str()), "NLB: the listener ARN, not a rule");
        assert_eq!(advanced.alternate_target_group_arn.as_deref(), Some(green.arn.as_str()));
        match port {
            Some(p) => {
                let test = st.load_balancer.listeners.iter().find(|l| l.port == Some(i32::from(p))).expect("the test listener");
                assert_eq!(test.protocol.as_deref(), Some("TCP"));
                assert_eq!(advanced.test_listener_rule.as_deref(), Some(test.arn.as_str()), "NLB: the listener ARN");
                assert_eq!(test.default_forward.iter().map(|t| t.target_group_arn.as_str()).collect::<Vec<_>>(), vec![green.arn.as_str()]);
            }
            None => {
                assert_eq!(advanced.test_listener_rule, None);
                let groups: Vec<&str> = prod_listener.default_forward.iter().map(|t| t.target_group_arn.as_str()).collect();
                assert_eq!(groups, vec![svc.load_balancers[0].target_group_arn.as_deref().unwrap(), green.arn.as_str()]);
            }
        }

        // And back to rolling: the listener ARN is read as the production rule.
        assert_eq!(migrate(&account, &to_rolling(), &InMemoryJournal::new()).await.unwrap(), Outcome::Applied);
        let st = account.state();
        assert_eq!(as_rolling(&st.services[sample::SERVICE]), as_rolling(&start.services[sample::SERVICE]), "port {port:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn discovery_sees_a_deployment_in_progress_through_list_service_deployments() {
    let account = MockAccount::new(Scenario::default().already_on_ecs_native());
    account.edit(|st| {
        let d = &mut st.services.get_mut(sample::SERVICE).unwrap().deployments[0];
        d.id = Some("ecs-svc/5550001".into());
        d.rollout_state = Some("IN_PROGRESS".into());
    });
    let err = to_rolling().plan(&account.clients()).await.unwrap_err();
    let Error::Plan(refused) = &err else { panic!("{err}") };
    assert!(refused.has(RefusalKind::DeploymentInFlight), "{err}");
    assert!(err.to_string().contains("service-deployment/prod/web/ecs-svc/5550001 (IN_PROGRESS)"), "{err}");
    assert!(account.calls().iter().any(|c| c.operation == "ListServiceDeployments"), "asked ECS");
    assert!(account.mutating_operations().is_empty(), "nothing changed");
}
