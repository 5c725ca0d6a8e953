//! Onward from CodeDeploy on the test kit: a service this tool moved to `CODE_DEPLOY`
//! ([`Scenario::already_migrated`]: test listener on 8080, the pipeline on `CodeDeployToECS`)
//! migrated to ECS-native blue/green and to rolling. The end state field by field, a fault at
//! every mutating call, a crash after every journal write (resumed, and rolled back), and the
//! plan's refusals.
//!
//! Run with `cargo test --test mocked from_codedeploy::`.

use ecs_bluegreen::inventory::TrafficRouting;
use ecs_bluegreen::journal::Journal;
use ecs_bluegreen::plan::{Action, ChangeDetail, RefusalKind, StepId};
use ecs_bluegreen::spec::{Migration, NativeDeployment, NativeStrategy, Target};
use ecs_bluegreen::testing::{AccountState, Fault, InjectedError, MockAccount, Scenario, sample};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, Error, InMemoryJournal, Outcome};

use crate::mocks::CrashAt;

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

/// The onward migration to `target`, with the scenario's pipeline.
fn onward(target: Target) -> Migration {
    Migration::for_service(sample::CLUSTER, sample::SERVICE).unwrap().target(target).pipeline(sample::pipeline_stage()).build()
}

fn migrated() -> Scenario {
    Scenario::default().already_migrated()
}

async fn migrate(account: &MockAccount, migration: &Migration, journal: &dyn Journal) -> ecs_bluegreen::Result<Outcome> {
    let aws = account.clients();
    let plan = migration.plan(&aws).await?;
    plan.apply(&aws, journal, &opts()).await
}

/// The state compared after a rollback, without the identifiers AWS assigns anew to what the
/// rollback recreates: AWS has no way back into `CODE_DEPLOY` in place, so the service is
/// recreated under its name (a new ARN, its deployments and running count ECS's bookkeeping),
/// and a recreated deployment group and application get new ids.
fn comparable(st: &AccountState) -> AccountState {
    let mut st = st.clone();
    for svc in st.services.values_mut() {
        svc.arn = None;
        svc.deployments.clear();
        svc.running_count = 0;
    }
    for g in st.deployment_groups.values_mut() {
        g.deployment_group_id = None;
    }
    for a in st.applications.values_mut() {
        a.id = None;
    }
    st
}

/// The end state of CodeDeploy → ECS-native, read from the kit's account.
#[track_caller]
fn assert_native(account: &MockAccount, before: &AccountState) {
    let st = account.state();
    let svc = &st.services[sample::SERVICE];
    let was = &before.services[sample::SERVICE];
    assert_eq!((svc.status.as_str(), svc.deployment_controller.as_str()), ("ACTIVE", "ECS"), "in place, on ECS");
    assert_eq!(svc.arn, was.arn, "the same service");
    assert_eq!(svc.task_set_count, 0, "no task set left");
    assert_eq!(svc.task_definition, was.task_definition, "the primary task set's task definition");
    let dc = svc.deployment_configuration.as_ref().expect("deploymentConfiguration");
    // CodeDeployDefault.ECSAllAtOnce → BLUE_GREEN; the default blue termination wait → the bake.
    let src_dg = before.deployment_groups.values().next().expect("the deployment group");
    let wait = src_dg.blue_green_deployment_configuration().and_then(|b| b.terminate_blue_instances_on_deployment_success()).unwrap();
    assert_eq!(dc.strategy.as_deref(), Some("BLUE_GREEN"));
    assert_eq!(dc.bake_time_in_minutes, Some(wait.termination_wait_time_in_minutes()));
    let [lb] = svc.load_balancers.as_slice() else { panic!("one entry: {:?}", svc.load_balancers) };
    let green = st.target_groups.values().find(|t| t.name == "web-tg-1-green").expect("the green group");
    assert_eq!(lb.target_group_arn.as_deref(), Some(sample::BLUE_TG_ARN), "the group production serves");
    assert_eq!(lb.container_name, was.load_balancers[0].container_name);
    let advanced = lb.advanced_configuration.as_ref().expect("advancedConfiguration");
    assert_eq!(advanced.alternate_target_group_arn.as_deref(), Some(green.arn.as_str()));
    assert_eq!(advanced.production_listener_rule, Some(sample::default_rule_of(sample::PROD_LISTENER_ARN)));
    let test = st.load_balancer.listeners.iter().find(|l| l.port == Some(8080)).expect("the test listener");
    assert_eq!(advanced.test_listener_rule, Some(sample::default_rule_of(&test.arn)));
    let role = &st.roles["prod-web-ecs-infra"];
    assert_eq!(advanced.role_arn.as_deref(), Some(role.arn.as_str()));
    assert!(role.trust_policy.contains("ecs.amazonaws.com"), "{}", role.trust_policy);
    assert_codedeploy_gone(&st);
    assert!(st.create_service_requests.is_empty(), "no service created");
}

/// The end state of CodeDeploy → rolling, read from the kit's account.
#[track_caller]
fn assert_rolling(account: &MockAccount, before: &AccountState) {
    let st = account.state();
    let svc = &st.services[sample::SERVICE];
    assert_eq!((svc.deployment_controller.as_str(), svc.arn.as_ref()), ("ECS", before.services[sample::SERVICE].arn.as_ref()));
    assert_eq!(svc.deployment_configuration.as_ref().and_then(|d| d.strategy.as_deref()), Some("ROLLING"));
    let [lb] = svc.load_balancers.as_slice() else { panic!() };
    assert_eq!((lb.target_group_arn.as_deref(), &lb.advanced_configuration), (Some(sample::BLUE_TG_ARN), &None));
    assert!(!st.roles.contains_key("prod-web-ecs-infra"), "no infrastructure role for rolling");
    assert!(st.target_groups.values().any(|t| t.name == "web-tg-1-green"), "the green group is kept");
    assert_codedeploy_gone(&st);
}

/// The CodeDeploy resources are gone and the pipeline deploys with the `ECS` action again.
#[track_caller]
fn assert_codedeploy_gone(st: &AccountState) {
    assert!(st.deployment_groups.is_empty(), "{:?}", st.deployment_groups.keys());
    assert!(st.applications.is_empty(), "{:?}", st.applications.keys());
    let pipeline = st.pipelines.values().next().expect("the pipeline");
    let deploy = pipeline.stages().iter().flat_map(|s| s.actions()).find(|a| a.action_type_id().is_some_and(|t| t.category().as_str() == "Deploy")).unwrap();
    assert_eq!(deploy.action_type_id().unwrap().provider(), "ECS");
    let config = deploy.configuration().unwrap();
    assert_eq!(config.get("ClusterName").map(String::as_str), Some(sample::CLUSTER));
    assert_eq!(config.get("ServiceName").map(String::as_str), Some(sample::SERVICE));
    assert_eq!(config.get("FileName").map(String::as_str), Some("imagedefinitions.json"));
}

#[tokio::test(start_paused = true)]
async fn codedeploy_to_native_in_place_then_rolled_back() {
    let account = MockAccount::new(migrated());
    let start = account.state();
    let journal = InMemoryJournal::new();
    assert_eq!(migrate(&account, &onward(Target::EcsNative), &journal).await.unwrap(), Outcome::Applied);
    assert_native(&account, &start);
    // Rolled back: the service on CODE_DEPLOY again, its deployment group, application and
    // pipeline action as they were.
    let report = ecs_bluegreen::rollback(&account.clients(), &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let after = account.state();
    assert_eq!(after.services[sample::SERVICE].deployment_controller, "CODE_DEPLOY");
    assert_eq!(comparable(&after).differences(&comparable(&start)), Vec::<String>::new());
}

/// The same command again after the onward migration plans nothing: the strategy and bake time
/// it mapped from the deployment group are the service's now, and none was asked for.
#[tokio::test(start_paused = true)]
async fn the_onward_command_again_plans_nothing() {
    for target in [Target::EcsNative, Target::Rolling] {
        let account = MockAccount::new(migrated());
        assert_eq!(migrate(&account, &onward(target), &InMemoryJournal::new()).await.unwrap(), Outcome::Applied);
        let again = onward(target).plan(&account.clients()).await.unwrap();
        assert!(again.is_noop(), "{target:?}: {again}");
    }
    // A strategy asked for that differs from the service's is still refused, not applied.
    let account = MockAccount::new(migrated());
    assert_eq!(migrate(&account, &onward(Target::EcsNative), &InMemoryJournal::new()).await.unwrap(), Outcome::Applied);
    let other = Migration::for_service(sample::CLUSTER, sample::SERVICE)
        .unwrap()
        .target(Target::EcsNative)
        .pipeline(sample::pipeline_stage())
        .native(NativeDeployment::builder().strategy(NativeStrategy::linear(10.0, 3).unwrap()).build())
        .build();
    let refused = other.plan(&account.clients()).await.unwrap_err();
    assert!(refused.to_string().contains("other settings than asked for"), "{refused}");
}

#[tokio::test(start_paused = true)]
async fn codedeploy_to_rolling_in_place() {
    let account = MockAccount::new(migrated());
    let start = account.state();
    let journal = InMemoryJournal::new();
    assert_eq!(migrate(&account, &onward(Target::Rolling), &journal).await.unwrap(), Outcome::Applied);
    assert_rolling(&account, &start);
    let report = ecs_bluegreen::rollback(&account.clients(), &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(comparable(&account.state()).differences(&comparable(&start)), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_fault_at_every_mutating_call_leaves_the_account_as_it_was() {
    for target in [Target::EcsNative, Target::Rolling] {
        let run = |aws: ecs_bluegreen::AwsClients| async move {
            let plan = onward(target).plan(&aws).await?;
            plan.apply(&aws, &InMemoryJournal::new(), &opts()).await
        };
        let clean = MockAccount::new(migrated());
        assert_eq!(run(clean.clients()).await.unwrap(), Outcome::Applied);
        let calls = clean.mutating_operations();
        for op in ["UpdatePipeline", "DeleteDeploymentGroup", "DeleteApplication", "UpdateService"] {
            assert!(calls.iter().any(|o| o == op), "{target:?}: {op} in {calls:?}");
        }
        // As `fail_each_step`, compared without the ids AWS gives what the rollback recreates.
        for (i, op) in calls.iter().enumerate() {
            let account = MockAccount::new(migrated());
            let start = comparable(&account.state());
            account.inject(Fault::nth_mutation(i + 1, InjectedError::Throttling));
            let outcome = run(account.clients()).await;
            account.clear_faults();
            assert!(outcome.is_err(), "{target:?}: fault at call {} ({op}) gave {outcome:?}", i + 1);
            let left = comparable(&account.state()).differences(&start);
            assert_eq!(left, Vec::<String>::new(), "{target:?}: fault at call {} ({op})", i + 1);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_after_every_journal_write_is_resumed_or_rolled_back() {
    crash_after_every_journal_write(Target::EcsNative, assert_native).await;
    crash_after_every_journal_write(Target::Rolling, assert_rolling).await;
}

async fn crash_after_every_journal_write(target: Target, assert_end: fn(&MockAccount, &AccountState)) {
    let migration = onward(target);
    let mut n = 1;
    loop {
        let resumed = MockAccount::new(migrated());
        let start = resumed.state();
        let crashed = CrashAt(InMemoryJournal::new(), n, 0.into());
        if migrate(&resumed, &migration, &crashed).await.is_ok() {
            assert!(n > 8, "the run writes more than {n} records");
            break;
        }
        let records = crashed.records().unwrap();
        let journal = InMemoryJournal::from_records(records.clone());
        match ecs_bluegreen::resume(&resumed.clients(), &journal, &opts()).await {
            Ok(Outcome::Applied) => assert_end(&resumed, &start),
            Err(Error::Journal(_)) if records.is_empty() => {}
            other => panic!("crash at write {n}: resume gave {other:?}"),
        }
        let rolled = MockAccount::new(migrated());
        let start = rolled.state();
        let crashed = CrashAt(InMemoryJournal::new(), n, 0.into());
        let _ = migrate(&rolled, &migration, &crashed).await;
        let journal = InMemoryJournal::from_records(crashed.records().unwrap());
        match ecs_bluegreen::rollback(&rolled.clients(), &journal, &opts()).await {
            Ok(report) => assert!(report.is_clean(), "crash at write {n}: {report}"),
            Err(Error::Journal(_)) if records.is_empty() => {}
            Err(e) => panic!("crash at write {n}: rollback gave {e}"),
        }
        assert_eq!(comparable(&rolled.state()).differences(&comparable(&start)), Vec::<String>::new(), "crash at write {n}");
        n += 1;
    }
}

#[tokio::test(start_paused = true)]
async fn the_plan_orders_the_steps_maps_the_config_and_keeps_what_it_did_not_create() {
    let account = MockAccount::new(migrated());
    let plan = onward(Target::EcsNative).plan(&account.clients()).await.unwrap();
    let steps: Vec<&StepId> = plan.changes.iter().map(|c| &c.step).collect();
    assert_eq!(steps, StepId::CODEDEPLOY_TO_NATIVE.iter().collect::<Vec<_>>());
    assert_eq!(plan.change(StepId::DeploymentGroupRemoval).unwrap().action, Action::Delete);
    let text = plan.to_string();
    assert!(text.contains("deployment controller CODE_DEPLOY -> ECS, strategy BLUE_GREEN"), "{text}");
    assert!(text.contains("imagedefinitions.json"), "{text}");
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["target"], "ecs-native");

    // Kept on request: both removals are no-ops, with a warning.
    let keep = Migration::for_service(sample::CLUSTER, sample::SERVICE).unwrap().target(Target::Rolling).keep_codedeploy(true).build();
    let plan = keep.plan(&account.clients()).await.unwrap();
    assert_eq!(plan.change(StepId::DeploymentGroupRemoval).unwrap().action, Action::NoOp);
    assert_eq!(plan.change(StepId::ApplicationRemoval).unwrap().action, Action::NoOp);
    assert!(plan.warnings.iter().any(|w| w.contains("is kept (asked for)")), "{:?}", plan.warnings);
    assert!(plan.change(StepId::InfrastructureRole).is_none());

    // Not created by this tool (no ownership tag): kept.
    account.edit(|st| st.deployment_group_tags.values_mut().for_each(|t| t.clear()));
    let plan = onward(Target::EcsNative).plan(&account.clients()).await.unwrap();
    assert_eq!(plan.change(StepId::DeploymentGroupRemoval).unwrap().action, Action::NoOp);
    assert!(plan.warnings.iter().any(|w| w.contains("this tool did not create it")), "{:?}", plan.warnings);
}

#[tokio::test(start_paused = true)]
async fn a_given_strategy_wins_over_the_deployment_config() {
    let account = MockAccount::new(migrated());
    let m = Migration::for_service(sample::CLUSTER, sample::SERVICE)
        .unwrap()
        .target(Target::EcsNative)
        .native(NativeDeployment::builder().strategy(NativeStrategy::canary(5.0, 3).unwrap()).build())
        .build();
    let plan = m.plan(&account.clients()).await.unwrap();
    let Some(ChangeDetail::ControllerSwitch(s)) = plan.change(StepId::ControllerSwitch).map(|c| &c.detail) else { panic!() };
    assert_eq!(s.deployment_configuration.strategy.as_deref(), Some("CANARY"));
    assert_eq!(s.strategy_source, "as given");
}

#[test]
fn codedeploy_traffic_shifting_maps_to_the_native_strategy() {
    use ecs_bluegreen::plan::strategy_of;
    let of = |t: &str, p, m| strategy_of(&TrafficRouting::new(t, p, m));
    assert_eq!(of("AllAtOnce", None, None).unwrap(), NativeStrategy::BlueGreen);
    assert_eq!(of("TimeBasedLinear", Some(10), Some(3)).unwrap(), NativeStrategy::linear(10.0, 3).unwrap());
    assert_eq!(of("TimeBasedCanary", Some(10), Some(15)).unwrap(), NativeStrategy::canary(10.0, 15).unwrap());
    // A linear step under ECS's 3 % has no native equal: refused, naming the range.
    let err = of("TimeBasedLinear", Some(1), Some(1)).unwrap_err();
    assert!(err.contains("linear"), "{err}");
    for name in ["CodeDeployDefault.ECSLinear10PercentEvery3Minutes", "CodeDeployDefault.ECSCanary10Percent5Minutes"] {
        let t = TrafficRouting::predefined(name).unwrap();
        assert_eq!((t.percentage, t.interval_minutes.is_some()), (Some(10), true), "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_deployment_in_flight_or_several_task_sets_is_refused_with_aws_text() {
    let account = MockAccount::new(migrated());
    account.edit(|st| st.services.get_mut(sample::SERVICE).unwrap().task_set_count = 2);
    let err = onward(Target::EcsNative).plan(&account.clients()).await.unwrap_err();
    let Error::Plan(err) = err else { panic!("{err}") };
    assert!(err.has(RefusalKind::TaskSets), "{err}");
    assert!(err.to_string().contains("not supported when there are multiple tasksets"), "{err}");
    // No change was made.
    assert!(account.mutating_operations().is_empty(), "{:?}", account.mutating_operations());
}

#[test]
fn a_code_deploy_service_without_a_deployment_group_is_refused() {
    let mut inv = sample::inventory();
    let svc = inv.service.as_mut().unwrap();
    svc.deployment_controller = "CODE_DEPLOY".into();
    svc.task_set_count = 1;
    let err = ecs_bluegreen::plan::plan(&onward(Target::EcsNative), &inv).unwrap_err();
    assert!(err.has(RefusalKind::NoDeploymentGroup), "{err}");
}

/// The way back's build change: an onward plan's artifacts are the imagedefinitions.json
/// buildspec for the service's container, and the buildspec a CodeDeploy migration patched
/// goes back to what it was; a plan to CodeDeploy keeps the templates.
#[tokio::test(start_paused = true)]
async fn an_onward_plan_patches_the_buildspec_back_to_imagedefinitions() {
    use ecs_bluegreen::artifacts::{ecs_action_snippet, patch_buildspec};
    let tutorial = "version: 0.2\nphases:\n  post_build:\n    commands:\n      - docker push $REPOSITORY_URI:$IMAGE_TAG\n      # for the deploy action\n      - printf '[{\"name\":\"web\",\"imageUri\":\"%s\"}]' \"$REPOSITORY_URI:$IMAGE_TAG\" > imagedefinitions.json\nartifacts:\n  files:\n    - imagedefinitions.json\n";
    let codedeploy = patch_buildspec(tutorial).unwrap();

    let account = MockAccount::new(migrated());
    for target in [Target::EcsNative, Target::Rolling] {
        let plan = onward(target).plan(&account.clients()).await.unwrap();
        let snippet = ecs_action_snippet(&plan).unwrap().expect("an onward plan goes back to the ECS action");
        assert_eq!(snippet.container_name, "web");
        assert_eq!(snippet.artifact_files, ["imagedefinitions.json"]);
        let back = snippet.patch(&codedeploy).unwrap();
        assert_eq!(back.text, tutorial, "{target:?}");
        // The plan's warning names the same command.
        let command = snippet.post_build_command();
        assert!(plan.warnings.iter().any(|w| w.contains(&command) && w.contains("--buildspec")), "{:?}", plan.warnings);
    }

    // To CodeDeploy: no ECS action to go back to; generate makes the templates.
    let forward = Migration::for_service(sample::CLUSTER, sample::SERVICE).unwrap().pipeline(sample::pipeline_stage()).build();
    let plan = forward.plan(&MockAccount::new(Scenario::default()).clients()).await.unwrap();
    assert_eq!(ecs_action_snippet(&plan), Ok(None));
}
