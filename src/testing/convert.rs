//! Plain data ↔ SDK shapes for the fake: the inverse of what discovery reads, so what the fake
//! answers reads back as the data it holds.

use aws_sdk_ecs::operation::create_service::CreateServiceInput;
use aws_sdk_ecs::types as ecs;
use aws_sdk_elasticloadbalancingv2::types as elb;

use crate::inventory::{
    AwsVpcConfiguration, CapacityProviderItem, DeploymentAlarmsDef, DeploymentConfigurationDef, DeploymentSummary,
    ListenerInfo, LoadBalancerEntry, LoadBalancerInfo, PipelineInfo, PlacementConstraintDef, PlacementStrategyDef,
    ServiceDefinition, ServiceRegistryEntry, TargetGroupInfo, TaskDefinitionInfo,
};

/// The SDK service DescribeServices returns for `s`.
pub(crate) fn sdk_service(s: &ServiceDefinition) -> ecs::Service {
    let dc = s.deployment_configuration.as_ref().map(|c| {
        ecs::DeploymentConfiguration::builder()
            .set_maximum_percent(c.maximum_percent)
            .set_minimum_healthy_percent(c.minimum_healthy_percent)
            .set_deployment_circuit_breaker(
                c.circuit_breaker.map(|(e, r)| ecs::DeploymentCircuitBreaker::builder().enable(e).rollback(r).build()),
            )
            .set_alarms(c.alarms.as_ref().and_then(|a| {
                ecs::DeploymentAlarms::builder()
                    .set_alarm_names(Some(a.alarm_names.clone()))
                    .enable(a.enable)
                    .rollback(a.rollback)
                    .build()
                    .ok()
            }))
            .set_strategy(c.strategy.as_deref().map(ecs::DeploymentStrategy::from))
            .set_bake_time_in_minutes(c.bake_time_in_minutes)
            .build()
    });
    let deployments = s
        .deployments
        .iter()
        .map(|d| {
            ecs::Deployment::builder()
                .set_id(d.id.clone())
                .status(&d.status)
                .set_rollout_state(d.rollout_state.as_deref().map(ecs::DeploymentRolloutState::from))
                .desired_count(d.desired_count)
                .running_count(d.running_count)
                .set_service_connect_configuration(
                    d.service_connect.then(|| ecs::ServiceConnectConfiguration::builder().enabled(true).namespace("internal").build()),
                )
                .build()
        })
        .collect();
    ecs::Service::builder()
        .service_name(&s.name)
        .set_service_arn(s.arn.clone())
        .set_cluster_arn(s.cluster_arn.clone())
        .status(&s.status)
        .deployment_controller(
            ecs::DeploymentController::builder()
                .r#type(ecs::DeploymentControllerType::from(s.deployment_controller.as_str()))
                .build()
                .expect("type is set"),
        )
        .set_task_definition(s.task_definition.clone())
        .desired_count(s.desired_count)
        .running_count(s.running_count)
        .set_launch_type(s.launch_type.as_deref().map(ecs::LaunchType::from))
        .set_capacity_provider_strategy(Some(
            s.capacity_provider_strategy
                .iter()
                .filter_map(|c| {
                    ecs::CapacityProviderStrategyItem::builder()
                        .capacity_provider(&c.capacity_provider)
                        .weight(c.weight)
                        .base(c.base)
                        .build()
                        .ok()
                })
                .collect(),
        ))
        .set_platform_version(s.platform_version.clone())
        .set_load_balancers(Some(
            s.load_balancers
                .iter()
                .map(|l| {
                    ecs::LoadBalancer::builder()
                        .set_target_group_arn(l.target_group_arn.clone())
                        .set_load_balancer_name(l.load_balancer_name.clone())
                        .set_container_name(l.container_name.clone())
                        .set_container_port(l.container_port)
                        .build()
                })
                .collect(),
        ))
        .set_service_registries(Some(
            s.service_registries
                .iter()
                .map(|r| {
                    ecs::ServiceRegistry::builder()
                        .set_registry_arn(r.registry_arn.clone())
                        .set_port(r.port)
                        .set_container_name(r.container_name.clone())
                        .set_container_port(r.container_port)
                        .build()
                })
                .collect(),
        ))
        .set_network_configuration(s.network_configuration.as_ref().map(|n| {
            ecs::NetworkConfiguration::builder()
                .set_awsvpc_configuration(
                    ecs::AwsVpcConfiguration::builder()
                        .set_subnets(Some(n.subnets.clone()))
                        .set_security_groups(Some(n.security_groups.clone()))
                        .set_assign_public_ip(n.assign_public_ip.as_deref().map(ecs::AssignPublicIp::from))
                        .build()
                        .ok(),
                )
                .build()
        }))
        .set_health_check_grace_period_seconds(s.health_check_grace_period_seconds)
        .set_placement_constraints(Some(
            s.placement_constraints
                .iter()
                .map(|p| {
                    ecs::PlacementConstraint::builder()
                        .set_type(p.r#type.as_deref().map(ecs::PlacementConstraintType::from))
                        .set_expression(p.expression.clone())
                        .build()
                })
                .collect(),
        ))
        .set_placement_strategy(Some(
            s.placement_strategy
                .iter()
                .map(|p| {
                    ecs::PlacementStrategy::builder()
                        .set_type(p.r#type.as_deref().map(ecs::PlacementStrategyType::from))
                        .set_field(p.field.clone())
                        .build()
                })
                .collect(),
        ))
        .set_scheduling_strategy(s.scheduling_strategy.as_deref().map(ecs::SchedulingStrategy::from))
        .set_deployment_configuration(dc)
        .set_tags(Some(s.tags.iter().map(|(k, v)| ecs::Tag::builder().key(k).value(v).build()).collect()))
        .enable_ecs_managed_tags(s.enable_ecs_managed_tags)
        .set_propagate_tags(s.propagate_tags.as_deref().map(ecs::PropagateTags::from))
        .enable_execute_command(s.enable_execute_command)
        .set_availability_zone_rebalancing(s.availability_zone_rebalancing.as_deref().map(ecs::AvailabilityZoneRebalancing::from))
        .set_role_arn(s.role_arn.clone())
        .set_deployments(Some(deployments))
        .build()
}

/// The service a CreateService request makes (ACTIVE, no task running yet).
pub(crate) fn service_from_create(input: &CreateServiceInput, arn: String, cluster_arn: String, deployment_id: String) -> ServiceDefinition {
    let controller = input.deployment_controller().map(|c| c.r#type().as_str().to_owned()).unwrap_or_else(|| "ECS".into());
    let desired = input.desired_count().unwrap_or(0);
    ServiceDefinition {
        name: input.service_name().unwrap_or_default().to_owned(),
        arn: Some(arn),
        cluster_arn: Some(cluster_arn),
        status: "ACTIVE".into(),
        task_definition: input.task_definition().map(str::to_owned),
        desired_count: desired,
        running_count: 0,
        // AWS reports the launch type FARGATE/EC2 only when the request named one.
        launch_type: input.launch_type().map(|l| l.as_str().to_owned()),
        capacity_provider_strategy: input
            .capacity_provider_strategy()
            .iter()
            .map(|c| CapacityProviderItem { capacity_provider: c.capacity_provider().to_owned(), weight: c.weight(), base: c.base() })
            .collect(),
        platform_version: input.platform_version().map(str::to_owned),
        load_balancers: input
            .load_balancers()
            .iter()
            .map(|l| LoadBalancerEntry {
                target_group_arn: l.target_group_arn().map(str::to_owned),
                load_balancer_name: l.load_balancer_name().map(str::to_owned),
                container_name: l.container_name().map(str::to_owned),
                container_port: l.container_port(),
            })
            .collect(),
        service_registries: input
            .service_registries()
            .iter()
            .map(|r| ServiceRegistryEntry {
                registry_arn: r.registry_arn().map(str::to_owned),
                port: r.port(),
                container_name: r.container_name().map(str::to_owned),
                container_port: r.container_port(),
            })
            .collect(),
        network_configuration: input.network_configuration().and_then(|n| n.awsvpc_configuration()).map(|a| AwsVpcConfiguration {
            subnets: a.subnets().to_vec(),
            security_groups: a.security_groups().to_vec(),
            assign_public_ip: a.assign_public_ip().map(|p| p.as_str().to_owned()),
        }),
        health_check_grace_period_seconds: input.health_check_grace_period_seconds(),
        placement_constraints: input
            .placement_constraints()
            .iter()
            .map(|p| PlacementConstraintDef { r#type: p.r#type().map(|t| t.as_str().to_owned()), expression: p.expression().map(str::to_owned) })
            .collect(),
        placement_strategy: input
            .placement_strategy()
            .iter()
            .map(|p| PlacementStrategyDef { r#type: p.r#type().map(|t| t.as_str().to_owned()), field: p.field().map(str::to_owned) })
            .collect(),
        scheduling_strategy: Some(input.scheduling_strategy().map_or("REPLICA", |s| s.as_str()).to_owned()),
        deployment_configuration: input.deployment_configuration().map(|c| DeploymentConfigurationDef {
            maximum_percent: c.maximum_percent(),
            minimum_healthy_percent: c.minimum_healthy_percent(),
            circuit_breaker: c.deployment_circuit_breaker().map(|b| (b.enable(), b.rollback())),
            alarms: c.alarms().map(|a| DeploymentAlarmsDef { alarm_names: a.alarm_names().to_vec(), enable: a.enable(), rollback: a.rollback() }),
            strategy: c.strategy().map(|s| s.as_str().to_owned()),
            bake_time_in_minutes: c.bake_time_in_minutes(),
        }),
        tags: input.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect(),
        enable_ecs_managed_tags: input.enable_ecs_managed_tags().unwrap_or(false),
        propagate_tags: input.propagate_tags().map(|p| p.as_str().to_owned()),
        enable_execute_command: input.enable_execute_command().unwrap_or(false),
        availability_zone_rebalancing: input.availability_zone_rebalancing().map(|a| a.as_str().to_owned()),
        role_arn: input.role().map(str::to_owned),
        // A CODE_DEPLOY service has a task set instead of an ECS deployment.
        deployments: if controller == "ECS" {
            vec![DeploymentSummary {
                id: Some(deployment_id),
                status: "PRIMARY".into(),
                rollout_state: Some("IN_PROGRESS".into()),
                desired_count: desired,
                running_count: 0,
                ..Default::default()
            }]
        } else {
            vec![]
        },
        deployment_controller: controller,
        task_set_count: 0,
    }
}

/// The SDK task definition DescribeTaskDefinition returns for `t`.
pub(crate) fn sdk_task_definition(t: &TaskDefinitionInfo) -> ecs::TaskDefinition {
    let revision = t.arn.rsplit(':').next().and_then(|r| r.parse().ok()).unwrap_or(1);
    ecs::TaskDefinition::builder()
        .task_definition_arn(&t.arn)
        .family(&t.family)
        .revision(revision)
        .set_network_mode(t.network_mode.as_deref().map(ecs::NetworkMode::from))
        .set_requires_compatibilities(Some(t.requires_compatibilities.iter().map(|c| ecs::Compatibility::from(c.as_str())).collect()))
        .status(ecs::TaskDefinitionStatus::Active)
        .cpu("256")
        .memory("512")
        .set_container_definitions(Some(
            t.containers
                .iter()
                .map(|c| {
                    ecs::ContainerDefinition::builder()
                        .name(&c.name)
                        .set_image(c.image.clone())
                        .essential(c.name == t.containers[0].name)
                        .set_port_mappings(Some(
                            c.ports
                                .iter()
                                .map(|p| {
                                    ecs::PortMapping::builder()
                                        .container_port(*p)
                                        .set_host_port(t.network_mode.as_deref().is_some_and(|m| m == "awsvpc").then_some(*p))
                                        .protocol(ecs::TransportProtocol::Tcp)
                                        .build()
                                })
                                .collect(),
                        ))
                        .build()
                })
                .collect(),
        ))
        .build()
}

/// The SDK target group for `tg`.
pub(crate) fn sdk_target_group(tg: &TargetGroupInfo) -> elb::TargetGroup {
    elb::TargetGroup::builder()
        .target_group_arn(&tg.arn)
        .target_group_name(&tg.name)
        .set_protocol(tg.protocol.as_deref().map(elb::ProtocolEnum::from))
        .set_protocol_version(tg.protocol_version.clone())
        .set_port(tg.port)
        .set_vpc_id(tg.vpc_id.clone())
        .set_target_type(tg.target_type.as_deref().map(elb::TargetTypeEnum::from))
        .set_ip_address_type(tg.ip_address_type.as_deref().map(elb::TargetGroupIpAddressTypeEnum::from))
        .set_health_check_protocol(tg.health_check_protocol.as_deref().map(elb::ProtocolEnum::from))
        .set_health_check_port(tg.health_check_port.clone())
        .set_health_check_enabled(tg.health_check_enabled)
        .set_health_check_path(tg.health_check_path.clone())
        .set_health_check_interval_seconds(tg.health_check_interval_seconds)
        .set_health_check_timeout_seconds(tg.health_check_timeout_seconds)
        .set_healthy_threshold_count(tg.healthy_threshold_count)
        .set_unhealthy_threshold_count(tg.unhealthy_threshold_count)
        .set_matcher(
            (tg.matcher_http_code.is_some() || tg.matcher_grpc_code.is_some()).then(|| {
                elb::Matcher::builder().set_http_code(tg.matcher_http_code.clone()).set_grpc_code(tg.matcher_grpc_code.clone()).build()
            }),
        )
        .set_load_balancer_arns(Some(tg.load_balancer_arns.clone()))
        .build()
}

/// The target group a CreateTargetGroup request makes.
pub(crate) fn target_group_from_create(
    i: &aws_sdk_elasticloadbalancingv2::operation::create_target_group::CreateTargetGroupInput,
    arn: String,
) -> TargetGroupInfo {
    TargetGroupInfo {
        arn,
        name: i.name().unwrap_or_default().to_owned(),
        protocol: i.protocol().map(|p| p.as_str().to_owned()),
        protocol_version: i.protocol_version().map(str::to_owned),
        port: i.port(),
        vpc_id: i.vpc_id().map(str::to_owned),
        target_type: Some(i.target_type().map_or("instance", |t| t.as_str()).to_owned()),
        ip_address_type: i.ip_address_type().map(|t| t.as_str().to_owned()),
        health_check_protocol: i.health_check_protocol().map(|p| p.as_str().to_owned()),
        health_check_port: i.health_check_port().map(str::to_owned),
        health_check_enabled: i.health_check_enabled(),
        health_check_path: i.health_check_path().map(str::to_owned),
        health_check_interval_seconds: i.health_check_interval_seconds(),
        health_check_timeout_seconds: i.health_check_timeout_seconds(),
        healthy_threshold_count: i.healthy_threshold_count(),
        unhealthy_threshold_count: i.unhealthy_threshold_count(),
        matcher_http_code: i.matcher().and_then(|m| m.http_code()).map(str::to_owned),
        matcher_grpc_code: i.matcher().and_then(|m| m.grpc_code()).map(str::to_owned),
        load_balancer_arns: vec![],
        attributes: [("deregistration_delay.timeout_seconds", "300"), ("stickiness.enabled", "false")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        tags: i.tags().iter().map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned())).collect(),
    }
}

/// The SDK listener for `l` on load balancer `lb_arn`.
pub(crate) fn sdk_listener(l: &ListenerInfo, lb_arn: &str) -> elb::Listener {
    let action = match l.default_forward.as_slice() {
        [] => elb::Action::builder()
            .r#type(elb::ActionTypeEnum::FixedResponse)
            .fixed_response_config(elb::FixedResponseActionConfig::builder().status_code("404").build())
            .build(),
        targets => crate::steps::test_listener::forward(targets),
    };
    elb::Listener::builder()
        .listener_arn(&l.arn)
        .load_balancer_arn(lb_arn)
        .set_port(l.port)
        .set_protocol(l.protocol.as_deref().map(elb::ProtocolEnum::from))
        .default_actions(action)
        .build()
}

/// The SDK load balancer for `lb`.
pub(crate) fn sdk_load_balancer(lb: &LoadBalancerInfo) -> elb::LoadBalancer {
    elb::LoadBalancer::builder()
        .load_balancer_arn(&lb.arn)
        .load_balancer_name(&lb.name)
        .r#type(elb::LoadBalancerTypeEnum::from(lb.r#type.as_str()))
        .set_vpc_id(lb.vpc_id.clone())
        .scheme(elb::LoadBalancerSchemeEnum::InternetFacing)
        .state(elb::LoadBalancerState::builder().code(elb::LoadBalancerStateEnum::Active).build())
        .build()
}

/// The SDK declaration of a pipeline summary (role and artifact store made up).
pub fn pipeline_declaration(p: &PipelineInfo, account_id: &str) -> aws_sdk_codepipeline::types::PipelineDeclaration {
    use aws_sdk_codepipeline::types::{
        ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType, InputArtifact,
        OutputArtifact, PipelineDeclaration, StageDeclaration,
    };
    let stages = p
        .stages
        .iter()
        .map(|s| {
            let actions = s
                .actions
                .iter()
                .map(|a| {
                    ActionDeclaration::builder()
                        .name(&a.name)
                        .action_type_id(
                            ActionTypeId::builder()
                                .category(ActionCategory::from(a.category.as_str()))
                                .owner(ActionOwner::from(a.owner.as_str()))
                                .provider(&a.provider)
                                .version(&a.version)
                                .build()
                                .expect("all fields set"),
                        )
                        .set_configuration(Some(a.configuration.clone().into_iter().collect()))
                        .set_input_artifacts(Some(
                            a.input_artifacts.iter().filter_map(|n| InputArtifact::builder().name(n).build().ok()).collect(),
                        ))
                        .set_output_artifacts(Some(
                            a.output_artifacts.iter().filter_map(|n| OutputArtifact::builder().name(n).build().ok()).collect(),
                        ))
                        .set_run_order(a.run_order)
                        .build()
                        .expect("name and type set")
                })
                .collect();
            StageDeclaration::builder().name(&s.name).set_actions(Some(actions)).build().expect("name and actions set")
        })
        .collect();
    PipelineDeclaration::builder()
        .name(&p.name)
        .role_arn(format!("arn:aws:iam::{account_id}:role/{}-role", p.name))
        .artifact_store(
            ArtifactStore::builder()
                .r#type(ArtifactStoreType::S3)
                .location(format!("{}-artifacts", p.name))
                .build()
                .expect("type and location set"),
        )
        .set_stages(Some(stages))
        .set_version(p.version)
        .build()
        .expect("name, role and stages set")
}
