//! `verify` of the ECS-native target on the test kit: every check passes after a rolling →
//! ECS-native migration, and each fails, by name and with the reason, on an account broken
//! afterwards. Run: `cargo test --test mocked native_verify::`.

use ecs_bluegreen::inventory::{ListenerAction, WeightedTargetGroup};
use ecs_bluegreen::spec::{BakeTime, Migration, NativeDeployment, NativeStrategy, Port, Target};
use ecs_bluegreen::testing::{AccountState, MockAccount, Scenario, sample};
use ecs_bluegreen::verify::{Report, verify};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, InMemoryJournal, Outcome};

const INFRA_ROLE: &str = "prod-web-ecs-infra";

fn native(test_port: Option<u16>, strategy: NativeStrategy) -> Migration {
    Migration::for_service(sample::CLUSTER, sample::SERVICE)
        .unwrap()
        .target(Target::EcsNative)
        .test_listener_port_opt(test_port.map(|p| Port::new(p).unwrap()))
        .pipeline(sample::pipeline_stage())
        .native(NativeDeployment::builder().strategy(strategy).bake_time(BakeTime::minutes(7).unwrap()).build())
        .build()
}

async fn migrated(migration: &Migration) -> MockAccount {
    let account = MockAccount::new(Scenario::default());
    let aws = account.clients();
    let plan = migration.plan(&aws).await.unwrap();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap(), Outcome::Applied);
    account
}

#[track_caller]
fn failed_with<'a>(report: &'a Report, name: &str) -> &'a str {
    let c = report.check(name).unwrap_or_else(|| panic!("no {name} check:\n{report}"));
    assert!(!c.passed, "{name} passed:\n{report}");
    assert!(!report.passed());
    c.reason.as_deref().unwrap_or_default()
}

fn names(report: &Report) -> Vec<&str> {
    report.checks.iter().map(|c| c.name.as_str()).collect()
}

fn green_arn(st: &AccountState) -> String {
    st.target_groups.values().find(|t| t.name == "web-tg-1-green").expect("the green group").arn.clone()
}

/// Sets a listener's default actions (and the forward the kit derives from them).
fn set_actions(st: &mut AccountState, port: i32, actions: Vec<ListenerAction>) {
    let l = st.load_balancer.listeners.iter_mut().find(|l| l.port == Some(port)).expect("the listener");
    l.default_forward = actions
        .iter()
        .filter(|a| a.r#type == "forward")
        .flat_map(|a| a.forward_config.iter().flat_map(|f| f.target_groups.clone()))
        .collect();
    l.default_actions = actions;
}

fn forward_to(groups: &[(&str, i32)]) -> ListenerAction {
    ListenerAction {
        r#type: "forward".into(),
        order: Some(2),
        forward_config: Some(ecs_bluegreen::inventory::ForwardSettings {
            target_groups: groups.iter().map(|(arn, w)| WeightedTargetGroup { target_group_arn: (*arn).to_owned(), weight: *w }).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn every_check_passes_after_the_migration_with_and_without_a_test_listener() {
    for (port, strategy) in [(None, NativeStrategy::BlueGreen), (Some(8080), NativeStrategy::canary(10.0, 3).unwrap())] {
        let migration = native(port, strategy);
        let account = migrated(&migration).await;
        let report = verify(&account.clients(), &migration).await.unwrap();
        assert!(report.passed(), "{report}");
        let mut want = vec!["service", "deployment-configuration", "advanced-configuration", "target-groups", "production-rule"];
        want.extend(port.map(|_| "test-rule"));
        want.extend(["rule-targets", "role", "role-policy", "pipeline", "task-definition"]);
        assert_eq!(names(&report), want);
    }
}

#[tokio::test(start_paused = true)]
async fn before_the_migration_the_service_is_not_migrated_and_the_plan_check_passes() {
    let account = MockAccount::new(Scenario::default());
    let report = verify(&account.clients(), &native(None, NativeStrategy::BlueGreen)).await.unwrap();
    assert!(failed_with(&report, "service").contains("not migrated yet"), "{report}");
    assert!(report.check("plan").is_some_and(|c| c.passed), "{report}");
    let fix = report.check("service").unwrap().fix.clone().unwrap();
    assert!(fix.contains("--target ecs-native"), "{fix}");
}

#[tokio::test(start_paused = true)]
async fn another_bake_time_or_canary_fails_deployment_configuration() {
    let migration = native(None, NativeStrategy::canary(10.0, 3).unwrap());
    let account = migrated(&migration).await;
    account.edit(|st| {
        let dc = st.services.get_mut(sample::SERVICE).unwrap().deployment_configuration.as_mut().unwrap();
        dc.bake_time_in_minutes = Some(2);
        dc.canary.as_mut().unwrap().bake_time_in_minutes = Some(9);
    });
    let report = verify(&account.clients(), &migration).await.unwrap();
    let reason = failed_with(&report, "deployment-configuration");
    assert!(reason.contains("bakeTimeInMinutes is 2, not 7"), "{reason}");
    assert!(reason.contains("canaryConfiguration is 10% every 9 minutes, not 10% every 3 minutes"), "{reason}");
    // The strategy back to ROLLING: the advanced configuration still says it was migrated.
    account.edit(|st| st.services.get_mut(sample::SERVICE).unwrap().deployment_configuration.as_mut().unwrap().strategy = Some("ROLLING".into()));
    let report = verify(&account.clients(), &migration).await.unwrap();
    assert!(failed_with(&report, "deployment-configuration").contains("the deployment strategy is ROLLING, not CANARY"), "{report}");
    assert!(report.check("advanced-configuration").is_some_and(|c| c.passed), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_missing_role_or_a_listener_arn_as_alb_rule_fails_advanced_configuration() {
    let migration = native(None, NativeStrategy::BlueGreen);
    let account = migrated(&migration).await;
    account.edit(|st| {
        let a = st.services.get_mut(sample::SERVICE).unwrap().load_balancers[0].advanced_configuration.as_mut().unwrap();
        a.role_arn = None;
        a.production_listener_rule = Some(sample::PROD_LISTENER_ARN.to_owned());
    });
    let report = verify(&account.clients(), &migration).await.unwrap();
    let reason = failed_with(&report, "advanced-configuration");
    assert!(reason.contains("roleArn (the infrastructure role) is missing"), "{reason}");
    assert!(reason.contains("is not a listener rule ARN"), "{reason}");
    assert!(failed_with(&report, "role").contains("names no infrastructure role"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_green_group_with_another_health_check_fails_target_groups() {
    let migration = native(None, NativeStrategy::BlueGreen);
    let account = migrated(&migration).await;
    account.edit(|st| {
        let green = green_arn(st);
        st.target_groups.get_mut(&green).unwrap().health_check_path = Some("/other".into());
    });
    let report = verify(&account.clients(), &migration).await.unwrap();
    assert!(failed_with(&report, "target-groups").contains("health check path differs"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_production_rule_with_a_redirect_or_a_stray_group_fails_production_rule() {
    let migration = native(None, NativeStrategy::BlueGreen);
    let account = migrated(&migration).await;
    account.edit(|st| {
        let green = green_arn(st);
        let redirect = ListenerAction { r#type: "redirect".into(), order: Some(1), ..Default::default() };
        set_actions(st, 80, vec![redirect, forward_to(&[(sample::BLUE_TG_ARN, 100), (&green, 0), (ecs_bluegreen::testing::ADMIN_TG_ARN, 0)])]);
    });
    let report = verify(&account.clients(), &migration).await.unwrap();
    let reason = failed_with(&report, "production-rule");
    assert!(reason.contains("mixes the forward with redirect"), "{reason}");
    assert!(reason.contains(ecs_bluegreen::testing::ADMIN_TG_ARN) && reason.contains("neither of the service's two target groups"), "{reason}");
    assert!(report.check("rule-targets").is_some_and(|c| c.passed), "{report}");
}

#[tokio::test(start_paused = true)]
async fn the_green_group_off_the_production_rule_fails_rule_targets() {
    let migration = native(None, NativeStrategy::BlueGreen);
    let account = migrated(&migration).await;
    account.edit(|st| set_actions(st, 80, vec![forward_to(&[(sample::BLUE_TG_ARN, 1)])]));
    let report = verify(&account.clients(), &migration).await.unwrap();
    let reason = failed_with(&report, "rule-targets");
    assert!(reason.contains("the alternate target group web-tg-1-green is associated with neither the production nor the test listener rule"), "{reason}");
    assert!(report.check("production-rule").is_some_and(|c| c.passed), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_deleted_test_listener_fails_test_rule_and_rule_targets() {
    let migration = native(Some(8080), NativeStrategy::BlueGreen);
    let account = migrated(&migration).await;
    account.edit(|st| st.load_balancer.listeners.retain(|l| l.port != Some(8080)));
    let report = verify(&account.clients(), &migration).await.unwrap();
    assert!(failed_with(&report, "test-rule").contains("does not exist"), "{report}");
    assert!(failed_with(&report, "rule-targets").contains("web-tg-1-green"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn an_untrusting_or_policyless_infrastructure_role_fails_role_and_role_policy() {
    let migration = native(None, NativeStrategy::BlueGreen);
    let account = migrated(&migration).await;
    account.edit(|st| {
        let role = st.roles.get_mut(INFRA_ROLE).unwrap();
        role.trust_policy = role.trust_policy.replace("ecs.amazonaws.com", "ecs-tasks.amazonaws.com");
        role.policies.clear();
    });
    let report = verify(&account.clients(), &migration).await.unwrap();
    assert!(failed_with(&report, "role").contains("does not let ecs.amazonaws.com assume it"), "{report}");
    let reason = failed_with(&report, "role-policy");
    assert!(reason.contains("does not have AmazonECSInfrastructureRolePolicyForLoadBalancers attached"), "{reason}");
    account.edit(|st| st.roles.remove(INFRA_ROLE));
    let report = verify(&account.clients(), &migration).await.unwrap();
    assert!(failed_with(&report, "role").contains("does not exist"), "{report}");
    assert!(report.check("role-policy").is_none(), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_pipeline_deploying_with_codedeploy_fails_pipeline() {
    let migration = native(None, NativeStrategy::BlueGreen);
    let account = migrated(&migration).await;
    account.edit(|st| {
        let p = st.pipelines.get_mut(sample::PIPELINE).unwrap();
        for stage in &mut p.stages {
            for a in &mut stage.actions {
                if a.action_type_id.as_ref().is_some_and(|t| t.provider == "ECS") {
                    a.action_type_id = Some(
                        aws_sdk_codepipeline::types::ActionTypeId::builder()
                            .category(aws_sdk_codepipeline::types::ActionCategory::Deploy)
                            .owner(aws_sdk_codepipeline::types::ActionOwner::Aws)
                            .provider("CodeDeployToECS")
                            .version("1")
                            .build()
                            .unwrap(),
                    );
                }
            }
        }
    });
    let report = verify(&account.clients(), &migration).await.unwrap();
    let reason = failed_with(&report, "pipeline");
    assert!(reason.contains("has no ECS Deploy action for prod/web") && reason.contains("uses CodeDeployToECS"), "{reason}");
}
