//! The moto extension of `scripts/moto_server.py`, exercised through the Rust SDK: the CodeDeploy
//! delete operations moto lacks, and the refusals AWS makes that moto alone would not.
//!
//! Run with `cargo test --test moto moto_ext::` (starts moto if `MOTO_ENDPOINT` is unset, see
//! `tests/moto/main.rs`) or `scripts/test moto_ext::`.

use crate::common;

use std::fmt::Debug;

use aws_sdk_codedeploy::types::{
    BlueGreenDeploymentConfiguration, BlueInstanceTerminationOption, ComputePlatform,
    DeploymentOption, DeploymentReadyAction, DeploymentReadyOption, DeploymentStyle,
    DeploymentType, EcsService, GreenFleetProvisioningAction, GreenFleetProvisioningOption,
    InstanceAction, LoadBalancerInfo, TargetGroupInfo, TargetGroupPairInfo, TrafficRoute,
};
use aws_sdk_ecs::types::{
    AwsVpcConfiguration, DeploymentController, DeploymentControllerType, LoadBalancer,
    NetworkConfiguration,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::{fresh_account, moto_clients};
use ecs_bluegreen::AwsClients;

const CLUSTER: &str = "prod";
const APP: &str = "web-app";
const GROUP: &str = "web-dg";
const TG_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1/0123456789abcdef";

/// Error code and message of a failed SDK call; panics if the call succeeded.
fn refusal<T: Debug, E: ProvideErrorMetadata + Debug>(r: Result<T, E>) -> (String, String) {
    let e = r.expect_err("the call should have been refused");
    (
        e.code().unwrap_or_default().to_owned(),
        e.message().unwrap_or_default().to_owned(),
    )
}

/// A cluster with a registered task definition; returns the task definition ARN.
async fn cluster_with_task_definition(aws: &AwsClients) -> String {
    aws.ecs
        .create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    let td = aws
        .ecs
        .register_task_definition()
        .family("web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image("nginx")
                .memory(512)
                .build(),
        )
        .send()
        .await
        .unwrap();
    td.task_definition()
        .and_then(|t| t.task_definition_arn())
        .unwrap()
        .to_owned()
}

async fn create_service(
    aws: &AwsClients,
    name: &str,
    task_definition: &str,
    controller: DeploymentControllerType,
) {
    aws.ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name(name)
        .task_definition(task_definition)
        .desired_count(1)
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(TG_ARN)
                .container_name("web")
                .container_port(80)
                .build(),
        )
        .deployment_controller(
            DeploymentController::builder()
                .r#type(controller)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

async fn create_application(aws: &AwsClients) {
    aws.codedeploy
        .create_application()
        .application_name(APP)
        .compute_platform(ComputePlatform::Ecs)
        .send()
        .await
        .unwrap();
}

/// A CreateDeploymentGroup request for an ECS blue/green group on `service`.
fn deployment_group(aws: &AwsClients, group: &str, service: &str) -> aws_sdk_codedeploy::operation::create_deployment_group::builders::CreateDeploymentGroupFluentBuilder{
    let tg = |name: &str| TargetGroupInfo::builder().name(name).build();
    aws.codedeploy
        .create_deployment_group()
        .application_name(APP)
        .deployment_group_name(group)
        .service_role_arn("arn:aws:iam::123456789012:role/codedeploy")
        .deployment_config_name("CodeDeployDefault.ECSAllAtOnce")
        .deployment_style(
            DeploymentStyle::builder()
                .deployment_type(DeploymentType::BlueGreen)
                .deployment_option(DeploymentOption::WithTrafficControl)
                .build(),
        )
        .blue_green_deployment_configuration(
            BlueGreenDeploymentConfiguration::builder()
                .deployment_ready_option(
                    DeploymentReadyOption::builder().action_on_timeout(DeploymentReadyAction::ContinueDeployment).build(),
                )
                .green_fleet_provisioning_option(
                    GreenFleetProvisioningOption::builder()
                        .action(GreenFleetProvisioningAction::DiscoverExisting)
                        .build(),
                )
                .terminate_blue_instances_on_deployment_success(
                    BlueInstanceTerminationOption::builder()
                        .action(InstanceAction::Terminate)
                        .termination_wait_time_in_minutes(5)
                        .build(),
                )
                .build(),
        )
        .load_balancer_info(
            LoadBalancerInfo::builder()
                .target_group_pair_info_list(
                    TargetGroupPairInfo::builder()
                        .target_groups(tg("web-tg-1"))
                        .target_groups(tg("web-tg-2"))
                        .prod_traffic_route(TrafficRoute::builder().listener_arns("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web-alb/1/2").build())
                        .build(),
                )
                .build(),
        )
        .ecs_services(EcsService::builder().cluster_name(CLUSTER).service_name(service).build())
}

async fn group_names(aws: &AwsClients) -> Vec<String> {
    let out = aws
        .codedeploy
        .list_deployment_groups()
        .application_name(APP)
        .send()
        .await
        .unwrap();
    let mut names = out.deployment_groups().to_vec();
    names.sort_unstable();
    names
}

/// ListDeploymentGroups has one page here: AWS sends no `nextToken` on the last page. moto
/// echoes the request's (`""`), so a client paging until no token never ends (the onward
/// discovery of a CODE_DEPLOY service did, on moto).
#[tokio::test]
async fn list_deployment_groups_ends_without_a_next_token() {
    let aws = moto_clients(&fresh_account());
    let td = cluster_with_task_definition(&aws).await;
    create_service(&aws, "web", &td, DeploymentControllerType::CodeDeploy).await;
    create_application(&aws).await;
    deployment_group(&aws, GROUP, "web").send().await.unwrap();
    let out = aws.codedeploy.list_deployment_groups().application_name(APP).send().await.unwrap();
    assert_eq!((out.deployment_groups(), out.next_token()), (&[GROUP.to_owned()][..], None));
}

#[tokio::test]
async fn delete_deployment_group_removes_it_and_is_idempotent() {
    let aws = moto_clients(&fresh_account());
    let td = cluster_with_task_definition(&aws).await;
    create_service(&aws, "web", &td, DeploymentControllerType::CodeDeploy).await;
    create_service(&aws, "api", &td, DeploymentControllerType::CodeDeploy).await;
    create_application(&aws).await;
    deployment_group(&aws, GROUP, "web").send().await.unwrap();
    deployment_group(&aws, "api-dg", "api")
        .send()
        .await
        .unwrap();
    assert_eq!(group_names(&aws).await, ["api-dg", GROUP]);

    let out = aws
        .codedeploy
        .delete_deployment_group()
        .application_name(APP)
        .deployment_group_name(GROUP)
        .send()
        .await
        .unwrap();
    assert!(out.hooks_not_cleaned_up().is_empty());
    assert_eq!(
        group_names(&aws).await,
        ["api-dg"],
        "only the named group is removed"
    );
    let (code, _) = refusal(
        aws.codedeploy
            .get_deployment_group()
            .application_name(APP)
            .deployment_group_name(GROUP)
            .send()
            .await,
    );
    assert_eq!(code, "DeploymentGroupDoesNotExistException");
    aws.codedeploy
        .get_application()
        .application_name(APP)
        .send()
        .await
        .expect("the application stays");

    // Already gone: succeeds again; an unknown application too.
    let again = aws
        .codedeploy
        .delete_deployment_group()
        .application_name(APP)
        .deployment_group_name(GROUP)
        .send()
        .await
        .unwrap();
    assert!(again.hooks_not_cleaned_up().is_empty());
    aws.codedeploy
        .delete_deployment_group()
        .application_name("no-such-app")
        .deployment_group_name(GROUP)
        .send()
        .await
        .unwrap();

    // The name is free again.
    deployment_group(&aws, GROUP, "web").send().await.unwrap();
    assert_eq!(group_names(&aws).await, ["api-dg", GROUP]);
}

#[tokio::test]
async fn delete_application_removes_its_groups_and_is_idempotent() {
    let aws = moto_clients(&fresh_account());
    let td = cluster_with_task_definition(&aws).await;
    create_service(&aws, "web", &td, DeploymentControllerType::CodeDeploy).await;
    create_application(&aws).await;
    deployment_group(&aws, GROUP, "web").send().await.unwrap();

    aws.codedeploy
        .delete_application()
        .application_name(APP)
        .send()
        .await
        .unwrap();
    let apps = aws.codedeploy.list_applications().send().await.unwrap();
    assert!(apps.applications().is_empty(), "{:?}", apps.applications());
    let (code, _) = refusal(
        aws.codedeploy
            .get_application()
            .application_name(APP)
            .send()
            .await,
    );
    assert_eq!(code, "ApplicationDoesNotExistException");

    aws.codedeploy
        .delete_application()
        .application_name(APP)
        .send()
        .await
        .expect("deleting again succeeds");

    // Recreated under the same name, the application has no groups left over.
    create_application(&aws).await;
    assert!(group_names(&aws).await.is_empty());
    let (code, _) = refusal(
        aws.codedeploy
            .get_deployment_group()
            .application_name(APP)
            .deployment_group_name(GROUP)
            .send()
            .await,
    );
    assert_eq!(code, "DeploymentGroupDoesNotExistException");
}

#[tokio::test]
async fn deployment_group_needs_a_code_deploy_service() {
    let aws = moto_clients(&fresh_account());
    let td = cluster_with_task_definition(&aws).await;
    create_service(&aws, "rolling", &td, DeploymentControllerType::Ecs).await;
    create_application(&aws).await;

    let (code, message) = refusal(deployment_group(&aws, GROUP, "rolling").send().await);
    assert_eq!(code, "InvalidECSServiceException");
    assert_eq!(
        message,
        "Deployment group's ECS service must be configured for a CODE_DEPLOY deployment controller."
    );

    let (code, _) = refusal(deployment_group(&aws, GROUP, "missing").send().await);
    assert_eq!(code, "InvalidECSServiceException");

    // A deleted (INACTIVE) CODE_DEPLOY service does not count either.
    create_service(&aws, "deleted", &td, DeploymentControllerType::CodeDeploy).await;
    aws.ecs
        .delete_service()
        .cluster(CLUSTER)
        .service("deleted")
        .force(true)
        .send()
        .await
        .unwrap();
    let (code, _) = refusal(deployment_group(&aws, GROUP, "deleted").send().await);
    assert_eq!(code, "InvalidECSServiceException");

    assert!(
        group_names(&aws).await.is_empty(),
        "refused groups are not created"
    );

    // moto's own checks keep their precedence: an unknown application is reported as such.
    let (code, _) = refusal(
        deployment_group(&aws, GROUP, "rolling")
            .application_name("no-such-app")
            .send()
            .await,
    );
    assert_eq!(code, "ApplicationDoesNotExistException");
}

#[tokio::test]
async fn create_service_refuses_a_name_that_is_still_active() {
    let aws = moto_clients(&fresh_account());
    let td = cluster_with_task_definition(&aws).await;
    create_service(&aws, "web", &td, DeploymentControllerType::Ecs).await;

    let second = aws
        .ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name("web")
        .task_definition(&td)
        .desired_count(1)
        .deployment_controller(
            DeploymentController::builder()
                .r#type(DeploymentControllerType::CodeDeploy)
                .build()
                .unwrap(),
        )
        .send()
        .await;
    let (code, message) = refusal(second);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(message, "Creation of service was not idempotent.");
    let svc = aws
        .ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("web")
        .send()
        .await
        .unwrap();
    assert_eq!(
        svc.services()[0]
            .deployment_controller()
            .map(|c| c.r#type()),
        Some(&DeploymentControllerType::Ecs),
        "the original service is untouched"
    );

    // Once deleted (moto: INACTIVE at once), the name can be used again.
    aws.ecs
        .delete_service()
        .cluster(CLUSTER)
        .service("web")
        .force(true)
        .send()
        .await
        .unwrap();
    create_service(&aws, "web", &td, DeploymentControllerType::CodeDeploy).await;
    let svc = aws
        .ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("web")
        .send()
        .await
        .unwrap();
    assert_eq!(svc.services()[0].status(), Some("ACTIVE"));
    assert_eq!(
        svc.services()[0]
            .deployment_controller()
            .map(|c| c.r#type()),
        Some(&DeploymentControllerType::CodeDeploy)
    );
}

#[tokio::test]
async fn update_service_cannot_switch_into_code_deploy() {
    let aws = moto_clients(&fresh_account());
    let td = cluster_with_task_definition(&aws).await;
    create_service(&aws, "web", &td, DeploymentControllerType::Ecs).await;

    let (code, message) = refusal(
        aws.ecs
            .update_service()
            .cluster(CLUSTER)
            .service("web")
            .deployment_controller(
                DeploymentController::builder()
                    .r#type(DeploymentControllerType::CodeDeploy)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("CODE_DEPLOY"), "{message}");
    let svc = aws
        .ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("web")
        .send()
        .await
        .unwrap();
    assert_eq!(
        svc.services()[0]
            .deployment_controller()
            .map(|c| c.r#type()),
        Some(&DeploymentControllerType::Ecs)
    );

    // Other updates of a rolling service still work.
    let out = aws
        .ecs
        .update_service()
        .cluster(CLUSTER)
        .service("web")
        .task_definition(&td)
        .desired_count(3)
        .send()
        .await
        .unwrap();
    assert_eq!(out.service().map(|s| s.desired_count()), Some(3));
}

#[tokio::test]
async fn code_deploy_service_refuses_what_codedeploy_owns() {
    let aws = moto_clients(&fresh_account());
    let td = cluster_with_task_definition(&aws).await;
    create_service(&aws, "web", &td, DeploymentControllerType::CodeDeploy).await;
    let update = || aws.ecs.update_service().cluster(CLUSTER).service("web");
    let use_codedeploy = "on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.";

    let (code, message) = refusal(update().task_definition(&td).send().await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        format!("Unable to update task definition {use_codedeploy}")
    );

    let network = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-12345678")
                .build()
                .unwrap(),
        )
        .build();
    let (code, message) = refusal(update().network_configuration(network).send().await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        format!("Unable to update network parameters {use_codedeploy}")
    );

    let lb = LoadBalancer::builder()
        .target_group_arn(TG_ARN)
        .container_name("web")
        .container_port(80)
        .build();
    let (code, message) = refusal(update().load_balancers(lb).send().await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        format!("Unable to update load balancers {use_codedeploy}")
    );

    let (code, message) = refusal(update().force_new_deployment(true).send().await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        format!("Unable to update network parameters {use_codedeploy}")
    );

    // What CODE_DEPLOY services may change still goes through, and nothing above was applied.
    let out = update()
        .desired_count(4)
        .force_new_deployment(false)
        .health_check_grace_period_seconds(30)
        .send()
        .await
        .unwrap();
    let svc = out.service().expect("service");
    assert_eq!(svc.desired_count(), 4);
    assert_eq!(svc.task_definition(), Some(td.as_str()));
    assert_eq!(svc.load_balancers().len(), 1);
    assert_eq!(svc.load_balancers()[0].target_group_arn(), Some(TG_ARN));
}

#[tokio::test]
async fn create_service_repeated_with_its_client_token_answers_with_the_service() {
    let aws = moto_clients(&fresh_account());
    let td = cluster_with_task_definition(&aws).await;
    let create = |token: &'static str| {
        aws.ecs.create_service().cluster(CLUSTER).service_name("api").task_definition(&td).desired_count(1).client_token(token).send()
    };
    let first = create("token-1").await.unwrap();
    // A retry after a lost answer: same token, same service, no error, still one service.
    let again = create("token-1").await.unwrap();
    assert_eq!(again.service().and_then(|s| s.service_arn()), first.service().and_then(|s| s.service_arn()));
    let listed = aws.ecs.list_services().cluster(CLUSTER).send().await.unwrap();
    assert_eq!(listed.service_arns().len(), 1);
    // Another token is another request: refused while the name is active.
    let (code, message) = refusal(create("token-2").await);
    assert_eq!((code.as_str(), message.as_str()), ("InvalidParameterException", "Creation of service was not idempotent."));
}

#[tokio::test]
async fn create_listener_is_idempotent_for_the_same_settings_and_refuses_another_on_the_port() {
    use aws_sdk_elasticloadbalancingv2::types as elb;
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = common::fixture::seed_rolling_account(&aws, &common::moto_endpoint(), &account).await;
    let forward = |tg: &str| elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(tg).build();
    let create = |action: elb::Action| {
        aws.elbv2.create_listener().load_balancer_arn(&f.load_balancer_arn).protocol(elb::ProtocolEnum::Http).port(8080).default_actions(action).send()
    };
    let first = create(forward(&f.target_group_arn)).await.unwrap();
    let again = create(forward(&f.target_group_arn)).await.unwrap();
    assert_eq!(again.listeners()[0].listener_arn(), first.listeners()[0].listener_arn(), "the same listener, not a second one");
    let fixed = elb::Action::builder()
        .r#type(elb::ActionTypeEnum::FixedResponse)
        .fixed_response_config(elb::FixedResponseActionConfig::builder().status_code("503").build())
        .build();
    let (code, _) = refusal(create(fixed).await);
    assert_eq!(code, "DuplicateListener");
    let listeners = aws.elbv2.describe_listeners().load_balancer_arn(&f.load_balancer_arn).send().await.unwrap();
    assert_eq!(listeners.listeners().iter().filter(|l| l.port() == Some(8080)).count(), 1);
}

#[tokio::test]
async fn deployment_configs_are_created_read_and_checked_by_create_deployment_group() {
    use aws_sdk_codedeploy::types::{TrafficRoutingConfig, TrafficRoutingType};
    let aws = moto_clients(&fresh_account());
    let td = cluster_with_task_definition(&aws).await;
    create_service(&aws, "web", &td, DeploymentControllerType::CodeDeploy).await;
    create_application(&aws).await;

    // Predefined configs read back with their platform; an unknown name is refused.
    let get = |name: &str| aws.codedeploy.get_deployment_config().deployment_config_name(name).send();
    let ecs = get("CodeDeployDefault.ECSAllAtOnce").await.unwrap();
    let info = ecs.deployment_config_info().unwrap();
    assert_eq!(info.compute_platform(), Some(&ComputePlatform::Ecs));
    assert_eq!(info.traffic_routing_config().and_then(|t| t.r#type()), Some(&TrafficRoutingType::AllAtOnce));
    let server = get("CodeDeployDefault.OneAtATime").await.unwrap();
    assert_eq!(server.deployment_config_info().unwrap().compute_platform(), Some(&ComputePlatform::Server));
    let (code, message) = refusal(get("web-typo").await);
    assert_eq!(code, "DeploymentConfigDoesNotExistException");
    assert!(message.contains("web-typo"), "{message}");

    // A custom config reads back; its name cannot be taken twice.
    let create = |name: &str, platform: ComputePlatform| {
        let mut req = aws.codedeploy.create_deployment_config().deployment_config_name(name).compute_platform(platform.clone());
        if platform == ComputePlatform::Ecs {
            req = req.traffic_routing_config(TrafficRoutingConfig::builder().r#type(TrafficRoutingType::TimeBasedCanary).build());
        }
        req.send()
    };
    let created = create("web-canary", ComputePlatform::Ecs).await.unwrap();
    assert!(created.deployment_config_id().is_some_and(|id| !id.is_empty()));
    let custom = get("web-canary").await.unwrap();
    let info = custom.deployment_config_info().unwrap();
    assert_eq!((info.deployment_config_name(), info.compute_platform()), (Some("web-canary"), Some(&ComputePlatform::Ecs)));
    assert_eq!(info.traffic_routing_config().and_then(|t| t.r#type()), Some(&TrafficRoutingType::TimeBasedCanary));
    let (code, _) = refusal(create("web-canary", ComputePlatform::Ecs).await);
    assert_eq!(code, "DeploymentConfigAlreadyExistsException");
    create("web-servers", ComputePlatform::Server).await.unwrap();

    // CreateDeploymentGroup refuses an unknown config and one of another platform, as AWS does.
    let (code, message) = refusal(deployment_group(&aws, GROUP, "web").deployment_config_name("web-typo").send().await);
    assert_eq!(code, "DeploymentConfigDoesNotExistException");
    assert!(message.contains("web-typo"), "{message}");
    for other in ["web-servers", "CodeDeployDefault.OneAtATime"] {
        let (code, _) = refusal(deployment_group(&aws, GROUP, "web").deployment_config_name(other).send().await);
        assert_eq!(code, "InvalidDeploymentConfigNameException", "{other}");
    }
    assert!(group_names(&aws).await.is_empty(), "a refused group was stored");
    deployment_group(&aws, GROUP, "web").deployment_config_name("web-canary").send().await.unwrap();
    assert_eq!(group_names(&aws).await, [GROUP]);
}

/// A service created with more tasks than `MOTO_ECS_SERVICE_RUNNING` (2 in scripts/moto) runs
/// them all, as on AWS once they start; a smaller one is left as moto reports it.
#[tokio::test]
async fn a_service_created_above_the_running_default_runs_its_desired_count() {
    let aws = moto_clients(&fresh_account());
    let td = cluster_with_task_definition(&aws).await;
    for (name, desired, running) in [("big", 6, 6), ("small", 1, 2)] {
        aws.ecs.create_service().cluster(CLUSTER).service_name(name).task_definition(&td).desired_count(desired).send().await.unwrap();
        let s = ecs_bluegreen::discover::describe_service(&aws, CLUSTER, name).await.unwrap().unwrap();
        assert_eq!((s.desired_count, s.running_count), (desired, running), "{name}");
    }
}
