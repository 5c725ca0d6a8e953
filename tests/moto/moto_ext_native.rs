//! The ECS-native blue/green part of the moto extension (`scripts/moto_server.py`), exercised
//! through the Rust SDK: moto 5.2.5 drops `deploymentConfiguration` on CreateService, checks none of
//! the strategy rules, has no service-deployment APIs, gives a CODE_DEPLOY service no task set and
//! switches any controller blindly. The extension does what AWS documents (aws-facts.md §14).
//!
//! Run with `cargo test --test moto moto_ext_native::`.

use crate::common;

use std::fmt::Debug;

use aws_sdk_ecs::types::{
    AdvancedConfiguration, DeploymentConfiguration, DeploymentController, DeploymentControllerType,
    LinearConfiguration, LoadBalancer, ServiceDeploymentStatus, Service,
};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::fixture::{seed_rolling_account, Fixture};
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::AwsClients;

const INVALID_NETWORKING: &str = "Service deployment rolled back because of invalid networking configuration. \
     Both targetGroup and alternateTargetGroup must be associated with the productionListenerRule or testListenerRule.";

fn refusal<T: Debug, E: ProvideErrorMetadata + Debug>(r: Result<T, E>) -> (String, String) {
    let e = r.expect_err("the call should have been refused");
    (e.code().unwrap_or_default().to_owned(), e.message().unwrap_or_default().to_owned())
}

async fn service(aws: &AwsClients, fx: &Fixture, name: &str) -> Service {
    let out = aws.ecs.describe_services().cluster(&fx.cluster_name).services(name).send().await.unwrap();
    out.services()[0].clone()
}

/// A second target group beside the fixture's, as the migration's clone step makes one.
async fn green_target_group(aws: &AwsClients, fx: &Fixture) -> String {
    let out = aws
        .elbv2
        .create_target_group()
        .name(format!("{}-green", fx.target_group_name))
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(fx.container_port)
        .vpc_id(&fx.vpc_id)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap();
    out.target_groups()[0].target_group_arn().unwrap().to_owned()
}

async fn default_rule(aws: &AwsClients, fx: &Fixture) -> String {
    let rules = aws.elbv2.describe_rules().listener_arn(&fx.listener_arn).send().await.unwrap();
    let rule = rules.rules().iter().find(|r| r.is_default() == Some(true)).expect("every listener has a default rule");
    rule.rule_arn().unwrap().to_owned()
}

fn weighted_forward(groups: &[(&str, i32)]) -> Action {
    let mut forward = ForwardActionConfig::builder();
    for (arn, weight) in groups {
        forward = forward.target_groups(TargetGroupTuple::builder().target_group_arn(*arn).weight(*weight).build());
    }
    Action::builder().r#type(ActionTypeEnum::Forward).forward_config(forward.build()).build()
}

/// The production forward's target groups with their weights.
async fn production_weights(aws: &AwsClients, fx: &Fixture) -> Vec<(String, i32)> {
    let out = aws.elbv2.describe_listeners().listener_arns(&fx.listener_arn).send().await.unwrap();
    let action = &out.listeners()[0].default_actions()[0];
    action
        .forward_config()
        .map(|f| f.target_groups().iter().map(|t| (t.target_group_arn().unwrap().to_owned(), t.weight().unwrap_or(1))).collect())
        .unwrap_or_else(|| vec![(action.target_group_arn().unwrap().to_owned(), 1)])
}

fn blue_green_lb(fx: &Fixture, green: &str, rule: &str) -> LoadBalancer {
    LoadBalancer::builder()
        .target_group_arn(&fx.target_group_arn)
        .container_name(&fx.container_name)
        .container_port(fx.container_port)
        .advanced_configuration(
            AdvancedConfiguration::builder()
                .alternate_target_group_arn(green)
                .production_listener_rule(rule)
                .role_arn(format!("arn:aws:iam::{}:role/ecsInfrastructureRoleForLoadBalancers", fx.account))
                .build(),
        )
        .build()
}

async fn newest_deployment(aws: &AwsClients, fx: &Fixture) -> aws_sdk_ecs::types::ServiceDeployment {
    let list = aws.ecs.list_service_deployments().cluster(&fx.cluster_name).service(&fx.service_name).send().await.unwrap();
    let arn = list.service_deployments()[0].service_deployment_arn().unwrap().to_owned();
    let out = aws.ecs.describe_service_deployments().service_deployment_arns(arn).send().await.unwrap();
    out.service_deployments()[0].clone()
}

#[tokio::test]
async fn deployment_configuration_is_kept_and_its_documented_rules_enforced() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let fx = seed_rolling_account(&aws, &moto_endpoint(), &account).await;

    // CreateService keeps what it was given (moto alone returns nothing).
    let config = DeploymentConfiguration::builder().maximum_percent(150).minimum_healthy_percent(50).build();
    aws.ecs
        .create_service()
        .cluster(&fx.cluster_name)
        .service_name("other")
        .task_definition(&fx.task_definition_arn)
        .desired_count(0)
        .deployment_configuration(config)
        .send()
        .await
        .unwrap();
    let other = service(&aws, &fx, "other").await;
    let kept = other.deployment_configuration().expect("CreateService keeps deploymentConfiguration");
    assert_eq!((kept.maximum_percent(), kept.minimum_healthy_percent()), (Some(150), Some(50)));

    // BLUE_GREEN needs bakeTimeInMinutes; LINEAR's step is 3–100 %.
    let update = || aws.ecs.update_service().cluster(&fx.cluster_name).service(&fx.service_name);
    let (code, message) = refusal(
        update()
            .deployment_configuration(DeploymentConfiguration::builder().strategy("BLUE_GREEN".into()).build())
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("bakeTimeInMinutes"), "{message}");
    let (code, message) = refusal(
        update()
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .strategy("LINEAR".into())
                    .linear_configuration(LinearConfiguration::builder().step_percent(2.0).build())
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("stepPercent"), "{message}");
    let refused = service(&aws, &fx, &fx.service_name).await;
    assert!(
        refused.deployment_configuration().and_then(|c| c.strategy()).is_none(),
        "a refused update changes nothing"
    );

    // A strategy change alone merges with what is stored and starts no deployment.
    let before = aws.ecs.list_service_deployments().cluster(&fx.cluster_name).service(&fx.service_name).send().await.unwrap();
    update()
        .deployment_configuration(DeploymentConfiguration::builder().strategy("BLUE_GREEN".into()).bake_time_in_minutes(5).build())
        .send()
        .await
        .unwrap();
    let after = aws.ecs.list_service_deployments().cluster(&fx.cluster_name).service(&fx.service_name).send().await.unwrap();
    assert_eq!(after.service_deployments().len(), before.service_deployments().len(), "deploymentConfiguration alone deploys nothing");
    let svc = service(&aws, &fx, &fx.service_name).await;
    let stored = svc.deployment_configuration().unwrap();
    assert_eq!(stored.strategy().map(|s| s.as_str()), Some("BLUE_GREEN"));
    assert_eq!(stored.bake_time_in_minutes(), Some(5));
}

#[tokio::test]
async fn a_blue_green_deployment_rolls_back_unless_both_groups_are_on_the_rules_and_then_swings_traffic() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let fx = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let green = green_target_group(&aws, &fx).await;
    let rule = default_rule(&aws, &fx).await;
    let started_with = service(&aws, &fx, &fx.service_name).await.task_definition().unwrap().to_owned();

    // AWS's documented order: the advanced configuration under a rolling deployment, then the strategy.
    aws.ecs
        .update_service()
        .cluster(&fx.cluster_name)
        .service(&fx.service_name)
        .load_balancers(blue_green_lb(&fx, &green, &rule))
        .send()
        .await
        .unwrap();
    assert_eq!(newest_deployment(&aws, &fx).await.status(), Some(&ServiceDeploymentStatus::Successful));
    aws.ecs
        .update_service()
        .cluster(&fx.cluster_name)
        .service(&fx.service_name)
        .deployment_configuration(DeploymentConfiguration::builder().strategy("BLUE_GREEN".into()).bake_time_in_minutes(0).build())
        .send()
        .await
        .unwrap();

    // Only blue is on the production rule: the deployment rolls back with AWS's reason.
    aws.ecs.update_service().cluster(&fx.cluster_name).service(&fx.service_name).force_new_deployment(true).send().await.unwrap();
    let failed = newest_deployment(&aws, &fx).await;
    assert_eq!(failed.status(), Some(&ServiceDeploymentStatus::RollbackSuccessful));
    assert_eq!(failed.status_reason(), Some(INVALID_NETWORKING));
    assert_eq!(service(&aws, &fx, &fx.service_name).await.task_definition(), Some(started_with.as_str()));
    assert_eq!(production_weights(&aws, &fx).await, vec![(fx.target_group_arn.clone(), 1)], "a rolled-back deployment moves no traffic");

    // Both on the production rule: it succeeds and production traffic is on green afterwards.
    aws.elbv2
        .modify_listener()
        .listener_arn(&fx.listener_arn)
        .default_actions(weighted_forward(&[(&fx.target_group_arn, 100), (&green, 0)]))
        .send()
        .await
        .unwrap();
    assert_eq!(default_rule(&aws, &fx).await, rule, "ModifyListener keeps the default rule's ARN");
    aws.ecs.update_service().cluster(&fx.cluster_name).service(&fx.service_name).force_new_deployment(true).send().await.unwrap();
    let done = newest_deployment(&aws, &fx).await;
    assert_eq!(done.status(), Some(&ServiceDeploymentStatus::Successful));
    assert_eq!(done.deployment_configuration().and_then(|c| c.strategy()).map(|s| s.as_str()), Some("BLUE_GREEN"));
    assert_eq!(done.source_service_revisions().len(), 1);
    let revision = done.target_service_revision().and_then(|r| r.arn()).unwrap().to_owned();
    let revisions = aws.ecs.describe_service_revisions().service_revision_arns(&revision).send().await.unwrap();
    assert_eq!(revisions.service_revisions()[0].task_definition(), Some(started_with.as_str()));
    let mut weights = production_weights(&aws, &fx).await;
    weights.sort();
    let mut expected = vec![(green.clone(), 100), (fx.target_group_arn.clone(), 0)];
    expected.sort();
    assert_eq!(weights, expected);
}

#[tokio::test]
async fn a_code_deploy_service_has_a_primary_task_set_and_switches_to_ecs_only_with_one() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let fx = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let green = green_target_group(&aws, &fx).await;
    let rule = default_rule(&aws, &fx).await;
    aws.ecs
        .create_service()
        .cluster(&fx.cluster_name)
        .service_name("web-cd")
        .task_definition(&fx.task_definition_arn)
        .desired_count(1)
        .deployment_controller(DeploymentController::builder().r#type(DeploymentControllerType::CodeDeploy).build().unwrap())
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(&fx.target_group_arn)
                .container_name(&fx.container_name)
                .container_port(fx.container_port)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let svc = service(&aws, &fx, "web-cd").await;
    let sets: Vec<_> = svc.task_sets().iter().map(|t| (t.status().unwrap_or_default().to_owned(), t.task_definition().unwrap_or_default().to_owned())).collect();
    assert_eq!(sets, vec![("PRIMARY".to_owned(), fx.task_definition_arn.clone())]);

    // A second task set (a deployment shifting traffic): the switch is refused.
    aws.ecs
        .create_task_set()
        .cluster(&fx.cluster_name)
        .service("web-cd")
        .task_definition(&fx.task_definition_arn)
        .send()
        .await
        .unwrap();
    let switch = || {
        aws.ecs
            .update_service()
            .cluster(&fx.cluster_name)
            .service("web-cd")
            .deployment_controller(DeploymentController::builder().r#type(DeploymentControllerType::Ecs).build().unwrap())
            .deployment_configuration(DeploymentConfiguration::builder().strategy("BLUE_GREEN".into()).bake_time_in_minutes(5).build())
            .load_balancers(blue_green_lb(&fx, &green, &rule))
    };
    let (code, message) = refusal(switch().send().await);
    assert_eq!(code, "InvalidParameterException");
    assert!(message.starts_with("Updating the deployment controller is not supported when there are multiple tasksets"), "{message}");
    assert_eq!(service(&aws, &fx, "web-cd").await.deployment_controller().map(|c| c.r#type().as_str()), Some("CODE_DEPLOY"));

    let extra = service(&aws, &fx, "web-cd").await.task_sets().iter().find(|t| t.status() != Some("PRIMARY")).unwrap().id().unwrap().to_owned();
    aws.ecs.delete_task_set().cluster(&fx.cluster_name).service("web-cd").task_set(extra).send().await.unwrap();

    // One primary task set: the documented in-place switch, advanced configuration in the same call.
    switch().send().await.unwrap();
    let switched = service(&aws, &fx, "web-cd").await;
    assert_eq!(switched.deployment_controller().map(|c| c.r#type().as_str()), Some("ECS"));
    assert!(switched.task_sets().is_empty());
    assert_eq!(switched.task_definition(), Some(fx.task_definition_arn.as_str()));
    assert_eq!(switched.deployments().iter().map(|d| d.status().unwrap_or_default()).collect::<Vec<_>>(), vec!["PRIMARY"]);
    let advanced = switched.load_balancers()[0].advanced_configuration().expect("the advanced configuration is stored");
    assert_eq!(advanced.alternate_target_group_arn(), Some(green.as_str()));
    assert_eq!(switched.created_at(), svc.created_at(), "in place: the same service");
}

#[tokio::test]
async fn the_infrastructure_role_policy_for_load_balancers_can_be_attached() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let policy = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers";
    let out = aws.iam.get_policy().policy_arn(policy).send().await.expect("the managed policy is loaded");
    assert_eq!(out.policy().and_then(|p| p.policy_name()), Some("AmazonECSInfrastructureRolePolicyForLoadBalancers"));
}
