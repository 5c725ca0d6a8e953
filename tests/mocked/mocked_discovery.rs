//! Discovery against mocked SDK clients: the fields moto does not return
//! (`deploymentConfiguration`, grace period, platform version, managed tags, capacity
//! providers, placement ...) reach `Inventory.service`; the plan reports what `CODE_DEPLOY`
//! drops; discovery only reads, and reads each thing once.

use crate::support;
use crate::mocks;

use std::collections::BTreeMap;

use aws_smithy_mocks::{Rule, mock};
use ecs_bluegreen::inventory::{
    AwsVpcConfiguration, CapacityProviderItem, DeploymentAlarmsDef, DeploymentConfigurationDef,
    DeploymentSummary, ListenerInfo, LoadBalancerEntry, LoadBalancerInfo, PlacementConstraintDef, PlacementStrategyDef,
    ServiceDefinition, ServiceRegistryEntry, TargetGroupInfo, WeightedTargetGroup,
};
use ecs_bluegreen::plan::{ChangeDetail, StepId};
use ecs_bluegreen::spec::Port;
use ecs_bluegreen::{CallRecorder, Migration};
use aws_smithy_types::retry::RetryConfig;
use mocks::Rules;
use support::sample::{self, *};

const REGISTRY_ARN: &str = "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-4x2kq7jd3e5vq6lm";
const SERVICE_LINKED_ROLE: &str =
    "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS";
const PATH_RULE_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
const OTHER_RULE_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/1c3f5a7e9b2d4f60";
const DEFAULT_RULE_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/default";
const ADMIN_TG_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/admin-tg/0f1e2d3c4b5a6978";

fn s(v: &str) -> String {
    v.to_owned()
}

fn migration() -> Migration {
    sample::base().test_listener_port(Port::new(8080).unwrap()).build()
}

/// What discovery must read out of the DescribeServices reply below.
///
/// A synthetic service that sets every field the reader handles. (AWS would not accept
/// placement settings together with Fargate capacity providers; the mocks do not care, and
/// the point is that each field is read.)
fn expected_service() -> ServiceDefinition {
    ServiceDefinition {
        name: s(SERVICE),
        arn: Some(s(SERVICE_ARN)),
        cluster_arn: Some(s(CLUSTER_ARN)),
        status: s("ACTIVE"),
        deployment_controller: s("ECS"),
        task_definition: Some(s(TASK_DEFINITION_ARN)),
        desired_count: 3,
        running_count: 3,
        launch_type: None,
        capacity_provider_strategy: vec![
            CapacityProviderItem { capacity_provider: s("FARGATE"), weight: 1, base: 2 },
            CapacityProviderItem { capacity_provider: s("FARGATE_SPOT"), weight: 3, base: 0 },
        ],
        platform_version: Some(s("1.4.0")),
        load_balancers: vec![LoadBalancerEntry {
            target_group_arn: Some(s(BLUE_TG_ARN)),
            load_balancer_name: None,
            container_name: Some(s("web")),
            container_port: Some(80),
            advanced_configuration: None,
        }],
        service_registries: vec![ServiceRegistryEntry {
            registry_arn: Some(s(REGISTRY_ARN)),
            port: None,
            container_name: Some(s("web")),
            container_port: Some(80),
        }],
        network_configuration: Some(AwsVpcConfiguration {
            subnets: vec![s("subnet-0b1c2d3e4f5061728"), s("subnet-0c2d3e4f5061728a9")],
            security_groups: vec![s("sg-0d3e4f5061728a9b0")],
            assign_public_ip: Some(s("DISABLED")),
        }),
        health_check_grace_period_seconds: Some(90),
        placement_constraints: vec![PlacementConstraintDef {
            r#type: Some(s("memberOf")),
            expression: Some(s("attribute:ecs.cpu-architecture == arm64")),
        }],
        placement_strategy: vec![
            PlacementStrategyDef { r#type: Some(s("spread")), field: Some(s("attribute:ecs.availability-zone")) },
            PlacementStrategyDef { r#type: Some(s("binpack")), field: Some(s("memory")) },
        ],
        scheduling_strategy: Some(s("REPLICA")),
        deployment_configuration: Some(DeploymentConfigurationDef {
            maximum_percent: Some(150),
            minimum_healthy_percent: Some(50),
            circuit_breaker: Some((true, true)),
            alarms: Some(DeploymentAlarmsDef {
                alarm_names: vec![s("web-5xx-rate"), s("web-p99-latency")],
                enable: true,
                rollback: false,
            }),
            strategy: Some(s("ROLLING")),
            bake_time_in_minutes: None,
            linear: None,
            canary: None,
        }),
        tags: [(s("env"), s("prod")), (s("team"), s("storefront"))].into(),
        enable_ecs_managed_tags: true,
        propagate_tags: Some(s("SERVICE")),
        enable_execute_command: true,
        availability_zone_rebalancing: Some(s("ENABLED")),
        role_arn: Some(s(SERVICE_LINKED_ROLE)),
        deployments: vec![DeploymentSummary {
            id: Some(s("ecs-svc/4730226164942587263")),
            status: s("PRIMARY"),
            rollout_state: Some(s("COMPLETED")),
            desired_count: 3,
            running_count: 3,
            service_connect: false,
            vpc_lattice: false,
            volume_configurations: 0,
        }],
        task_set_count: 0,
        scaling: None,
    }
}

fn sdk_service() -> aws_sdk_ecs::types::Service {
    use aws_sdk_ecs::types::*;
    Service::builder()
        .service_name(SERVICE)
        .service_arn(SERVICE_ARN)
        .cluster_arn(CLUSTER_ARN)
        .status("ACTIVE")
        .deployment_controller(DeploymentController::builder().r#type(DeploymentControllerType::Ecs).build().unwrap())
        .task_definition(TASK_DEFINITION_ARN)
        .desired_count(3)
        .running_count(3)
        .pending_count(0)
        .capacity_provider_strategy(
            CapacityProviderStrategyItem::builder().capacity_provider("FARGATE").weight(1).base(2).build().unwrap(),
        )
        .capacity_provider_strategy(
            CapacityProviderStrategyItem::builder().capacity_provider("FARGATE_SPOT").weight(3).base(0).build().unwrap(),
        )
        .platform_version("1.4.0")
        .platform_family("Linux")
        .load_balancers(LoadBalancer::builder().target_group_arn(BLUE_TG_ARN).container_name("web").container_port(80).build())
        .service_registries(
            ServiceRegistry::builder().registry_arn(REGISTRY_ARN).container_name("web").container_port(80).build(),
        )
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets("subnet-0b1c2d3e4f5061728")
                        .subnets("subnet-0c2d3e4f5061728a9")
                        .security_groups("sg-0d3e4f5061728a9b0")
                        .assign_public_ip(AssignPublicIp::Disabled)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .health_check_grace_period_seconds(90)
        .placement_constraints(
            PlacementConstraint::builder()
                .r#type(PlacementConstraintType::MemberOf)
                .expression("attribute:ecs.cpu-architecture == arm64")
                .build(),
        )
        .placement_strategy(
            PlacementStrategy::builder()
                .r#type(PlacementStrategyType::Spread)
                .field("attribute:ecs.availability-zone")
                .build(),
        )
        .placement_strategy(PlacementStrategy::builder().r#type(PlacementStrategyType::Binpack).field("memory").build())
        .scheduling_strategy(SchedulingStrategy::Replica)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .maximum_percent(150)
                .minimum_healthy_percent(50)
                .deployment_circuit_breaker(DeploymentCircuitBreaker::builder().enable(true).rollback(true).build())
                .alarms(
                    DeploymentAlarms::builder()
                        .alarm_names("web-5xx-rate")
                        .alarm_names("web-p99-latency")
                        .enable(true)
                        .rollback(false)
                        .build()
                        .unwrap(),
                )
                .strategy(DeploymentStrategy::Rolling)
                .build(),
        )
        .tags(Tag::builder().key("env").value("prod").build())
        .tags(Tag::builder().key("team").value("storefront").build())
        .enable_ecs_managed_tags(true)
        .propagate_tags(PropagateTags::Service)
        .enable_execute_command(true)
        .availability_zone_rebalancing(AvailabilityZoneRebalancing::Enabled)
        .role_arn(SERVICE_LINKED_ROLE)
        .deployments(
            Deployment::builder()
                .id("ecs-svc/4730226164942587263")
                .status("PRIMARY")
                .rollout_state(DeploymentRolloutState::Completed)
                .task_definition(TASK_DEFINITION_ARN)
                .desired_count(3)
                .running_count(3)
                .build(),
        )
        .build()
}

fn sdk_blue_target_group() -> aws_sdk_elasticloadbalancingv2::types::TargetGroup {
    use aws_sdk_elasticloadbalancingv2::types::*;
    TargetGroup::builder()
        .target_group_arn(BLUE_TG_ARN)
        .target_group_name(BLUE_TG)
        .protocol(ProtocolEnum::Http)
        .protocol_version("HTTP1")
        .port(80)
        .vpc_id(VPC_ID)
        .target_type(TargetTypeEnum::Ip)
        .ip_address_type(TargetGroupIpAddressTypeEnum::Ipv4)
        .health_check_protocol(ProtocolEnum::Http)
        .health_check_port("traffic-port")
        .health_check_enabled(true)
        .health_check_path("/health")
        .health_check_interval_seconds(30)
        .health_check_timeout_seconds(5)
        .healthy_threshold_count(5)
        .unhealthy_threshold_count(2)
        .matcher(Matcher::builder().http_code("200-299").build())
        .load_balancer_arns(LB_ARN)
        .build()
}

fn forward_to(tg: &str) -> aws_sdk_elasticloadbalancingv2::types::Action {
    use aws_sdk_elasticloadbalancingv2::types::*;
    Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(tg).build()
}

/// One rule per read, each matching exactly the request discovery should make.
struct Reads {
    scalable_targets: Rule,
    describe_services: Rule,
    get_role: Rule,
    get_application: Rule,
    get_deployment_group: Rule,
    blue_by_arn: Rule,
    green_by_name: Rule,
    blue_attributes: Rule,
    blue_tags: Rule,
    listener_tags: Rule,
    task_definition: Rule,
    load_balancer: Rule,
    listeners: Rule,
    rules: Rule,
}

impl Reads {
    fn new() -> Self {
        use aws_sdk_codedeploy::operation::get_application::GetApplicationError;
        use aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupError;
        use aws_sdk_codedeploy::types::error::ApplicationDoesNotExistException;
        use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
        use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
        use aws_sdk_ecs::types::{
            Compatibility, ContainerDefinition, NetworkMode, PortMapping, ServiceField, TaskDefinition,
        };
        use aws_sdk_elasticloadbalancingv2::operation::describe_listeners::DescribeListenersOutput;
        use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersOutput;
        use aws_sdk_elasticloadbalancingv2::operation::describe_rules::DescribeRulesOutput;
        use aws_sdk_elasticloadbalancingv2::operation::describe_tags::DescribeTagsOutput;
        use aws_sdk_elasticloadbalancingv2::operation::describe_target_group_attributes::DescribeTargetGroupAttributesOutput;
        use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::{
            DescribeTargetGroupsError, DescribeTargetGroupsOutput,
        };
        use aws_sdk_elasticloadbalancingv2::types::error::TargetGroupNotFoundException;
        use aws_sdk_elasticloadbalancingv2::types::{
            ActionTypeEnum, ForwardActionConfig, Listener, LoadBalancer, LoadBalancerTypeEnum, ProtocolEnum, Rule as LbRule,
            RuleCondition, Tag, TagDescription, TargetGroupAttribute, TargetGroupTuple,
        };
        use aws_sdk_iam::operation::get_role::GetRoleError;
        use aws_sdk_iam::types::error::NoSuchEntityException;

        let describe_services = mock!(aws_sdk_ecs::Client::describe_services)
            .match_requests(|r| {
                // The service and, in the same call, the bridge name the default cutover will use.
                r.cluster() == Some(CLUSTER)
                    && r.services() == [SERVICE, "web-bg-bridge"]
                    && r.include() == [ServiceField::Tags]
            })
            .then_output(|| {
                DescribeServicesOutput::builder()
                    .services(sdk_service())
                    .failures(
                        aws_sdk_ecs::types::Failure::builder()
                            .arn("arn:aws:ecs:us-east-1:123456789012:service/prod/web-bg-bridge")
                            .reason("MISSING")
                            .build(),
                    )
                    .build()
            });
        let get_role = mock!(aws_sdk_iam::Client::get_role)
            .match_requests(|r| r.role_name() == Some(ROLE_NAME))
            .then_error(|| {
                modeled!(
                    GetRoleError::NoSuchEntityException,
                    NoSuchEntityException,
                    "NoSuchEntity",
                    "The role with name prod-web-codedeploy cannot be found."
                )
            });
        let get_application = mock!(aws_sdk_codedeploy::Client::get_application)
            .match_requests(|r| r.application_name() == Some(APPLICATION))
            .then_error(|| {
                modeled!(
                    GetApplicationError::ApplicationDoesNotExistException,
                    ApplicationDoesNotExistException,
                    "ApplicationDoesNotExistException",
                    "No application found for name: prod-web"
                )
            });
        let get_deployment_group = mock!(aws_sdk_codedeploy::Client::get_deployment_group)
            .match_requests(|r| r.application_name() == Some(APPLICATION) && r.deployment_group_name() == Some(DEPLOYMENT_GROUP))
            .then_error(|| {
                modeled!(
                    GetDeploymentGroupError::ApplicationDoesNotExistException,
                    ApplicationDoesNotExistException,
                    "ApplicationDoesNotExistException",
                    "No application found for name: prod-web"
                )
            });
        let blue_by_arn = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups)
            .match_requests(|r| r.target_group_arns() == [BLUE_TG_ARN] && r.names().is_empty())
            .then_output(|| DescribeTargetGroupsOutput::builder().target_groups(sdk_blue_target_group()).build());
        let green_by_name = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups)
            .match_requests(|r| r.names() == [GREEN_TG] && r.target_group_arns().is_empty())
            .then_error(|| {
                modeled!(
                    DescribeTargetGroupsError::TargetGroupNotFoundException,
                    TargetGroupNotFoundException,
                    "TargetGroupNotFound",
                    "One or more target groups not found"
                )
            });
        let blue_attributes = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_group_attributes)
            .match_requests(|r| r.target_group_arn() == Some(BLUE_TG_ARN))
            .then_output(|| {
                DescribeTargetGroupAttributesOutput::builder()
                    .attributes(TargetGroupAttribute::builder().key("deregistration_delay.timeout_seconds").value("30").build())
                    .attributes(TargetGroupAttribute::builder().key("stickiness.enabled").value("true").build())
                    .attributes(TargetGroupAttribute::builder().key("stickiness.type").value("lb_cookie").build())
                    .build()
            });
        let blue_tags = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_tags)
            .match_requests(|r| r.resource_arns() == [BLUE_TG_ARN])
            .then_output(|| {
                DescribeTagsOutput::builder()
                    .tag_descriptions(
                        TagDescription::builder()
                            .resource_arn(BLUE_TG_ARN)
                            .tags(Tag::builder().key("env").value("prod").build())
                            .tags(Tag::builder().key("team").value("storefront").build())
                            .build(),
                    )
                    .build()
            });
        let listener_tags = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_tags)
            .match_requests(|r| r.resource_arns() == [PROD_LISTENER_ARN])
            .then_output(|| {
                DescribeTagsOutput::builder()
                    .tag_descriptions(
                        TagDescription::builder()
                            .resource_arn(PROD_LISTENER_ARN)
                            .tags(Tag::builder().key("env").value("prod").build())
                            .build(),
                    )
                    .build()
            });
        let task_definition = mock!(aws_sdk_ecs::Client::describe_task_definition)
            .match_requests(|r| r.task_definition() == Some(TASK_DEFINITION_ARN))
            .then_output(|| {
                DescribeTaskDefinitionOutput::builder()
                    .task_definition(
                        TaskDefinition::builder()
                            .task_definition_arn(TASK_DEFINITION_ARN)
                            .execution_role_arn("arn:aws:iam::123456789012:role/ecsTaskExecutionRole")
                            .family("web")
                            .revision(3)
                            .network_mode(NetworkMode::Awsvpc)
                            .requires_compatibilities(Compatibility::Fargate)
                            .container_definitions(
                                ContainerDefinition::builder()
                                    .name("web")
                                    .image(WEB_IMAGE)
                                    .port_mappings(PortMapping::builder().container_port(80).build())
                                    .build(),
                            )
                            .container_definitions(
                                ContainerDefinition::builder()
                                    .name("log_router")
                                    .image("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let load_balancer = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers)
            .match_requests(|r| r.load_balancer_arns() == [LB_ARN])
            .then_output(|| {
                DescribeLoadBalancersOutput::builder()
                    .load_balancers(
                        LoadBalancer::builder()
                            .load_balancer_arn(LB_ARN)
                            .load_balancer_name(LB_NAME)
                            .r#type(LoadBalancerTypeEnum::Application)
                            .vpc_id(VPC_ID)
                            .build(),
                    )
                    .build()
            });
        let listeners = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_listeners)
            .match_requests(|r| r.load_balancer_arn() == Some(LB_ARN) && r.listener_arns().is_empty())
            .then_output(|| {
                DescribeListenersOutput::builder()
                    .listeners(
                        Listener::builder()
                            .listener_arn(PROD_LISTENER_ARN)
                            .load_balancer_arn(LB_ARN)
                            .port(80)
                            .protocol(ProtocolEnum::Http)
                            .default_actions(forward_to(BLUE_TG_ARN))
                            .build(),
                    )
                    .build()
            });
        let rules = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_rules)
            .match_requests(|r| r.listener_arn() == Some(PROD_LISTENER_ARN))
            .then_output(|| {
                DescribeRulesOutput::builder()
                    // A path rule that forwards to blue through a weighted forward config.
                    .rules(
                        LbRule::builder()
                            .rule_arn(PATH_RULE_ARN)
                            .priority("10")
                            .is_default(false)
                            .conditions(RuleCondition::builder().field("path-pattern").values("/api/*").build())
                            .actions(
                                aws_sdk_elasticloadbalancingv2::types::Action::builder()
                                    .r#type(ActionTypeEnum::Forward)
                                    .forward_config(
                                        ForwardActionConfig::builder()
                                            .target_groups(
                                                TargetGroupTuple::builder().target_group_arn(BLUE_TG_ARN).weight(1).build(),
                                            )
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    // A rule to another group: not the blue one's business.
                    .rules(
                        LbRule::builder()
                            .rule_arn(OTHER_RULE_ARN)
                            .priority("20")
                            .is_default(false)
                            .conditions(RuleCondition::builder().field("path-pattern").values("/admin/*").build())
                            .actions(forward_to(ADMIN_TG_ARN))
                            .build(),
                    )
                    // The default rule mirrors the listener's default action; it is not a "rule to blue".
                    .rules(
                        LbRule::builder()
                            .rule_arn(DEFAULT_RULE_ARN)
                            .priority("default")
                            .is_default(true)
                            .actions(forward_to(BLUE_TG_ARN))
                            .build(),
                    )
                    .build()
            });
        // The service has no auto scaling: one read, nothing more.
        let scalable_targets = mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets)
            .match_requests(|r| r.resource_ids() == ["service/prod/web"])
            .then_output(|| aws_sdk_applicationautoscaling::operation::describe_scalable_targets::DescribeScalableTargetsOutput::builder().build());
        Reads {
            scalable_targets,
            describe_services,
            get_role,
            get_application,
            get_deployment_group,
            blue_by_arn,
            green_by_name,
            blue_attributes,
            blue_tags,
            listener_tags,
            task_definition,
            load_balancer,
            listeners,
            rules,
        }
    }

    fn all(&self) -> Vec<(&'static str, &Rule)> {
        vec![
            ("DescribeServices", &self.describe_services),
            ("GetRole", &self.get_role),
            ("GetApplication", &self.get_application),
            ("GetDeploymentGroup", &self.get_deployment_group),
            ("DescribeTargetGroups", &self.blue_by_arn),
            ("DescribeTargetGroups", &self.green_by_name),
            ("DescribeTargetGroupAttributes", &self.blue_attributes),
            ("DescribeTags", &self.blue_tags),
            ("DescribeTags", &self.listener_tags),
            ("DescribeTaskDefinition", &self.task_definition),
            ("DescribeLoadBalancers", &self.load_balancer),
            ("DescribeListeners", &self.listeners),
            ("DescribeRules", &self.rules),
            ("DescribeScalableTargets", &self.scalable_targets),
        ]
    }

    fn rules(&self) -> Rules {
        Rules::of(self.all().into_iter().map(|(_, r)| r.clone()))
    }
}

#[tokio::test]
async fn discovery_reads_the_fields_moto_does_not_return() {
    let reads = Reads::new();
    let recorder = CallRecorder::new();
    let aws = mocks::clients(&reads.rules(), &recorder, RetryConfig::disabled());

    let inv = ecs_bluegreen::discover::discover(&aws, &migration()).await.unwrap();

    assert_eq!(inv.account_id.as_deref(), Some(ACCOUNT));
    assert_eq!(inv.region.as_deref(), Some(REGION));
    assert_eq!(inv.service, Some(expected_service()));

    let mut blue = sample::blue_target_group();
    blue.tags = [(s("env"), s("prod")), (s("team"), s("storefront"))].into();
    assert_eq!(inv.blue_target_group, Some(TargetGroupInfo { ..blue }));
    assert_eq!(
        inv.load_balancer,
        Some(LoadBalancerInfo {
            arn: s(LB_ARN),
            name: s(LB_NAME),
            r#type: s("application"),
            vpc_id: Some(s(VPC_ID)),
            listeners: vec![ListenerInfo {
                arn: s(PROD_LISTENER_ARN),
                port: Some(80),
                protocol: Some(s("HTTP")),
                default_forward: vec![WeightedTargetGroup { target_group_arn: s(BLUE_TG_ARN), weight: 1 }],
                default_actions: vec![sample::forward_action(BLUE_TG_ARN)],
                tls: None,
                rules_to_blue: vec![s(PATH_RULE_ARN)],
                default_rule_arn: Some(s(DEFAULT_RULE_ARN)),
                tags: [(s("env"), s("prod"))].into(),
            }],
        })
    );
    // The same task definition the sample inventory describes (DescribeTaskDefinition reply above).
    assert_eq!(inv.task_definition, Some(sample::task_definition()));
    assert_eq!(inv.pipeline, None, "no pipeline was asked for");
    assert_eq!(inv.existing, Default::default(), "not-found codes mean 'does not exist', not errors");

    // The plan from this inventory keeps max/min percent and reports what CODE_DEPLOY drops.
    let plan = ecs_bluegreen::plan::plan(&migration(), &inv).unwrap();
    let cb = plan.warnings.iter().find(|w| w.starts_with("deploymentConfiguration.deploymentCircuitBreaker is dropped"));
    assert!(cb.is_some(), "no circuit breaker warning in {:#?}", plan.warnings);
    let alarms = plan.warnings.iter().find(|w| w.starts_with("deploymentConfiguration.alarms is dropped"));
    let alarms = alarms.unwrap_or_else(|| panic!("no alarms warning in {:#?}", plan.warnings));
    assert!(alarms.contains("web-5xx-rate") && alarms.contains("web-p99-latency"), "{alarms}");
    let Some(ChangeDetail::ServiceCutover { from, to, dropped, .. }) = plan.change(StepId::ServiceCutover).map(|c| &c.detail)
    else {
        panic!("no service cutover in {plan:#?}")
    };
    assert_eq!(**from, expected_service());
    let fields: Vec<&str> = dropped.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["deploymentConfiguration.deploymentCircuitBreaker", "deploymentConfiguration.alarms"]);
    assert_eq!(
        to.deployment_configuration,
        Some(DeploymentConfigurationDef {
            maximum_percent: Some(150),
            minimum_healthy_percent: Some(50),
            circuit_breaker: None,
            alarms: None,
            strategy: None,
            bake_time_in_minutes: None,
            linear: None,
            canary: None,
        })
    );
    assert_eq!(to.deployment_controller, "CODE_DEPLOY");
    assert_eq!(to.health_check_grace_period_seconds, Some(90));
    assert_eq!(to.platform_version.as_deref(), Some("1.4.0"));
    assert!(to.enable_ecs_managed_tags);
    assert_eq!(to.capacity_provider_strategy, expected_service().capacity_provider_strategy);
    assert_eq!(to.placement_constraints, expected_service().placement_constraints);
    assert_eq!(to.placement_strategy, expected_service().placement_strategy);
}

#[tokio::test]
async fn discovery_only_reads_and_reads_each_thing_once() {
    let reads = Reads::new();
    let recorder = CallRecorder::new();
    let aws = mocks::clients(&reads.rules(), &recorder, RetryConfig::disabled());

    ecs_bluegreen::discover::discover(&aws, &migration()).await.unwrap();

    let calls = recorder.calls();
    assert!(recorder.mutating_calls().is_empty(), "discovery mutated: {:?}", recorder.mutating_calls());
    assert!(calls.iter().all(|c| c.is_read_only()));
    for (op, rule) in reads.all() {
        assert_eq!(rule.num_calls(), 1, "{op}: expected exactly one call (rule answered {} times)", rule.num_calls());
    }
    // Nothing beyond the expected reads: an unexpected request would have panicked (no rule),
    // and the recorder saw exactly one operation per rule.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in &calls {
        *seen.entry(c.operation.clone()).or_default() += 1;
    }
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for (op, _) in reads.all() {
        *expected.entry(op.to_owned()).or_default() += 1;
    }
    assert_eq!(seen, expected, "calls: {calls:#?}");
}
