//! ECS: services and task definitions.

use aws_sdk_ecs::types as ecs;

use super::{pairs, text};
#[cfg(feature = "test-util")]
use super::sdk_enum;
use crate::inventory::{
    AdvancedConfigurationDef, TrafficShiftDef, AwsVpcConfiguration, CapacityProviderItem, ContainerInfo, DeploymentAlarmsDef, DeploymentConfigurationDef, DeploymentSummary,
    LoadBalancerEntry, PlacementConstraintDef, PlacementStrategyDef, ServiceDefinition, ServiceRegistryEntry, TaskDefinitionInfo,
};

/// The service as DescribeServices reports it.
pub(crate) fn service_from_sdk(s: &ecs::Service) -> ServiceDefinition {
    let deployments = s
        .deployments()
        .iter()
        .map(|d| DeploymentSummary {
            id: d.id().map(str::to_owned),
            status: d.status().unwrap_or_default().to_owned(),
            rollout_state: text(d.rollout_state()),
            desired_count: d.desired_count(),
            running_count: d.running_count(),
            service_connect: d.service_connect_configuration().is_some_and(|c| c.enabled()),
            vpc_lattice: !d.vpc_lattice_configurations().is_empty(),
            volume_configurations: d.volume_configurations().len(),
        })
        .collect();
    ServiceDefinition {
        name: s.service_name().unwrap_or_default().to_owned(),
        arn: s.service_arn().map(str::to_owned),
        cluster_arn: s.cluster_arn().map(str::to_owned),
        status: s.status().unwrap_or_default().to_owned(),
        deployment_controller: s
            .deployment_controller()
            .map(|c| c.r#type().as_str().to_owned())
            .unwrap_or_else(|| "ECS".to_owned()),
        task_definition: s.task_definition().map(str::to_owned),
        desired_count: s.desired_count(),
        running_count: s.running_count(),
        launch_type: text(s.launch_type()),
        capacity_provider_strategy: s
            .capacity_provider_strategy()
            .iter()
            .map(|c| CapacityProviderItem { capacity_provider: c.capacity_provider().to_owned(), weight: c.weight(), base: c.base() })
            .collect(),
        platform_version: s.platform_version().map(str::to_owned),
        load_balancers: s
            .load_balancers()
            .iter()
            .map(|l| LoadBalancerEntry {
                target_group_arn: l.target_group_arn().map(str::to_owned),
                load_balancer_name: l.load_balancer_name().map(str::to_owned),
                container_name: l.container_name().map(str::to_owned),
                container_port: l.container_port(),
                advanced_configuration: l.advanced_configuration().map(advanced_from_sdk),
            })
            .collect(),
        service_registries: s
            .service_registries()
            .iter()
            .map(|r| ServiceRegistryEntry {
                registry_arn: r.registry_arn().map(str::to_owned),
                port: r.port(),
                container_name: r.container_name().map(str::to_owned),
                container_port: r.container_port(),
            })
            .collect(),
        network_configuration: s.network_configuration().and_then(|n| n.awsvpc_configuration()).map(|a| AwsVpcConfiguration {
            subnets: a.subnets().to_vec(),
            security_groups: a.security_groups().to_vec(),
            assign_public_ip: text(a.assign_public_ip()),
        }),
        health_check_grace_period_seconds: s.health_check_grace_period_seconds(),
        placement_constraints: s
            .placement_constraints()
            .iter()
            .map(|p| PlacementConstraintDef { r#type: text(p.r#type()), expression: p.expression().map(str::to_owned) })
            .collect(),
        placement_strategy: s
            .placement_strategy()
            .iter()
            .map(|p| PlacementStrategyDef { r#type: text(p.r#type()), field: p.field().map(str::to_owned) })
            .collect(),
        scheduling_strategy: text(s.scheduling_strategy()),
        deployment_configuration: s.deployment_configuration().map(|c| DeploymentConfigurationDef {
            maximum_percent: c.maximum_percent(),
            minimum_healthy_percent: c.minimum_healthy_percent(),
            circuit_breaker: c.deployment_circuit_breaker().map(|b| (b.enable(), b.rollback())),
            alarms: c.alarms().map(|a| DeploymentAlarmsDef {
                alarm_names: a.alarm_names().to_vec(),
                enable: a.enable(),
                rollback: a.rollback(),
            }),
            strategy: text(c.strategy()),
            bake_time_in_minutes: c.bake_time_in_minutes(),
            linear: c.linear_configuration().map(|l| TrafficShiftDef {
                percent: l.step_percent().and_then(|p| crate::spec::Percent::new(p).ok()),
                bake_time_in_minutes: l.step_bake_time_in_minutes(),
            }),
            canary: c.canary_configuration().map(|l| TrafficShiftDef {
                percent: l.canary_percent().and_then(|p| crate::spec::Percent::new(p).ok()),
                bake_time_in_minutes: l.canary_bake_time_in_minutes(),
            }),
        }),
        tags: pairs(s.tags(), |t| (t.key(), t.value())),
        enable_ecs_managed_tags: s.enable_ecs_managed_tags(),
        propagate_tags: text(s.propagate_tags()),
        enable_execute_command: s.enable_execute_command(),
        availability_zone_rebalancing: text(s.availability_zone_rebalancing()),
        role_arn: s.role_arn().map(str::to_owned),
        deployments,
        task_set_count: s.task_sets().len(),
        scaling: None,
    }
}

/// A load balancer entry's `advancedConfiguration`.
pub(crate) fn advanced_from_sdk(a: &ecs::AdvancedConfiguration) -> AdvancedConfigurationDef {
    AdvancedConfigurationDef {
        alternate_target_group_arn: a.alternate_target_group_arn().map(str::to_owned),
        production_listener_rule: a.production_listener_rule().map(str::to_owned),
        test_listener_rule: a.test_listener_rule().map(str::to_owned),
        role_arn: a.role_arn().map(str::to_owned),
    }
}

/// The SDK `advancedConfiguration` for `a`.
pub(crate) fn advanced_to_sdk(a: &AdvancedConfigurationDef) -> ecs::AdvancedConfiguration {
    ecs::AdvancedConfiguration::builder()
        .set_alternate_target_group_arn(a.alternate_target_group_arn.clone())
        .set_production_listener_rule(a.production_listener_rule.clone())
        .set_test_listener_rule(a.test_listener_rule.clone())
        .set_role_arn(a.role_arn.clone())
        .build()
}

/// The SDK load balancer entry for `l` (with its advanced configuration, if any).
pub(crate) fn lb_entry_to_sdk(l: &LoadBalancerEntry) -> ecs::LoadBalancer {
    ecs::LoadBalancer::builder()
        .set_target_group_arn(l.target_group_arn.clone())
        .set_load_balancer_name(l.load_balancer_name.clone())
        .set_container_name(l.container_name.clone())
        .set_container_port(l.container_port)
        .set_advanced_configuration(l.advanced_configuration.as_ref().map(advanced_to_sdk))
        .build()
}

/// The SDK deployment configuration for `c` (what UpdateService sends and DescribeServices answers).
pub(crate) fn deployment_configuration_to_sdk(c: &DeploymentConfigurationDef) -> ecs::DeploymentConfiguration {
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
        .set_linear_configuration(c.linear.as_ref().map(|l| {
            ecs::LinearConfiguration::builder()
                .set_step_percent(l.percent.map(f64::from))
                .set_step_bake_time_in_minutes(l.bake_time_in_minutes)
                .build()
        }))
        .set_canary_configuration(c.canary.as_ref().map(|l| {
            ecs::CanaryConfiguration::builder()
                .set_canary_percent(l.percent.map(f64::from))
                .set_canary_bake_time_in_minutes(l.bake_time_in_minutes)
                .build()
        }))
        .build()
}

/// The task definition as DescribeTaskDefinition reports it; `asked` is the ARN when the
/// answer carries none.
pub(crate) fn task_definition_from_sdk(td: &ecs::TaskDefinition, asked: &str) -> TaskDefinitionInfo {
    // awsvpc tasks have their own address: their hostPort (= containerPort) is not the instance's.
    let on_instance = td.network_mode().is_none_or(|m| matches!(m, ecs::NetworkMode::Bridge | ecs::NetworkMode::Host));
    let host_mode = td.network_mode() == Some(&ecs::NetworkMode::Host);
    TaskDefinitionInfo {
        arn: td.task_definition_arn().unwrap_or(asked).to_owned(),
        task_role_arn: td.task_role_arn().map(str::to_owned),
        execution_role_arn: td.execution_role_arn().map(str::to_owned),
        family: td.family().unwrap_or_default().to_owned(),
        network_mode: text(td.network_mode()),
        requires_compatibilities: td.requires_compatibilities().iter().map(|c| c.as_str().to_owned()).collect(),
        containers: td
            .container_definitions()
            .iter()
            .map(|c| ContainerInfo {
                name: c.name().unwrap_or_default().to_owned(),
                image: c.image().map(str::to_owned),
                ports: c.port_mappings().iter().filter_map(|p| p.container_port()).collect(),
                static_host_ports: c
                    .port_mappings()
                    .iter()
                    .filter(|_| on_instance)
                    .filter_map(|p| {
                        let container = p.container_port()?;
                        let host = if host_mode { p.host_port().unwrap_or(container) } else { p.host_port()? };
                        (host != 0).then_some((container, host))
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The SDK service DescribeServices answers for `s` (the inverse of [`service_from_sdk`]).
#[cfg(feature = "test-util")]
pub(crate) fn service_to_sdk(s: &ServiceDefinition) -> ecs::Service {
    let dc = s.deployment_configuration.as_ref().map(deployment_configuration_to_sdk);
    let deployments = s
        .deployments
        .iter()
        .map(|d| {
            ecs::Deployment::builder()
                .set_id(d.id.clone())
                .status(&d.status)
                .set_rollout_state(sdk_enum(&d.rollout_state))
                .desired_count(d.desired_count)
                .running_count(d.running_count)
                .set_service_connect_configuration(
                    d.service_connect.then(|| ecs::ServiceConnectConfiguration::builder().enabled(true).namespace("internal").build()),
                )
                .set_volume_configurations((d.volume_configurations > 0).then(|| {
                    (0..d.volume_configurations)
                        .filter_map(|i| ecs::ServiceVolumeConfiguration::builder().name(format!("volume-{i}")).build().ok())
                        .collect()
                }))
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
        .set_launch_type(sdk_enum(&s.launch_type))
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
                .map(lb_entry_to_sdk)
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
                        .set_assign_public_ip(sdk_enum(&n.assign_public_ip))
                        .build()
                        .ok(),
                )
                .build()
        }))
        .set_health_check_grace_period_seconds(s.health_check_grace_period_seconds)
        .set_placement_constraints(Some(
            s.placement_constraints
                .iter()
                .map(|p| ecs::PlacementConstraint::builder().set_type(sdk_enum(&p.r#type)).set_expression(p.expression.clone()).build())
                .collect(),
        ))
        .set_placement_strategy(Some(
            s.placement_strategy
                .iter()
                .map(|p| ecs::PlacementStrategy::builder().set_type(sdk_enum(&p.r#type)).set_field(p.field.clone()).build())
                .collect(),
        ))
        .set_scheduling_strategy(sdk_enum(&s.scheduling_strategy))
        .set_deployment_configuration(dc)
        .set_tags(Some(s.tags.iter().map(|(k, v)| ecs::Tag::builder().key(k).value(v).build()).collect()))
        .enable_ecs_managed_tags(s.enable_ecs_managed_tags)
        .set_propagate_tags(sdk_enum(&s.propagate_tags))
        .enable_execute_command(s.enable_execute_command)
        .set_availability_zone_rebalancing(sdk_enum(&s.availability_zone_rebalancing))
        .set_role_arn(s.role_arn.clone())
        .set_deployments(Some(deployments))
        .set_task_sets(Some(
            (0..s.task_set_count)
                .map(|i| {
                    ecs::TaskSet::builder()
                        .status(if i == 0 { "PRIMARY" } else { "ACTIVE" })
                        .set_task_definition(s.task_definition.clone())
                        .build()
                })
                .collect(),
        ))
        .build()
}

/// The service a CreateService request makes: ACTIVE, no task running yet, and an ECS
/// deployment `deployment_id` in progress (a CODE_DEPLOY service has a task set instead).
///
/// The request is copied into the SDK service DescribeServices would answer and read with
/// [`service_from_sdk`], so the two cannot map a field differently.
#[cfg(feature = "test-util")]
pub(crate) fn service_from_create(
    input: &aws_sdk_ecs::operation::create_service::CreateServiceInput,
    arn: String,
    cluster_arn: String,
    deployment_id: String,
) -> ServiceDefinition {
    let desired = input.desired_count().unwrap_or(0);
    let ecs_controller = input.deployment_controller().is_none_or(|c| *c.r#type() == ecs::DeploymentControllerType::Ecs);
    let deployment = ecs::Deployment::builder()
        .id(deployment_id)
        .status("PRIMARY")
        .rollout_state(ecs::DeploymentRolloutState::InProgress)
        .desired_count(desired)
        .running_count(0)
        .build();
    let service = ecs::Service::builder()
        .set_service_name(input.service_name().map(str::to_owned))
        .service_arn(arn)
        .cluster_arn(cluster_arn)
        .status("ACTIVE")
        .set_deployment_controller(input.deployment_controller().cloned())
        .set_task_definition(input.task_definition().map(str::to_owned))
        .desired_count(desired)
        .running_count(0)
        // AWS reports the launch type FARGATE/EC2 only when the request named one.
        .set_launch_type(input.launch_type().cloned())
        .set_capacity_provider_strategy(Some(input.capacity_provider_strategy().to_vec()))
        .set_platform_version(input.platform_version().map(str::to_owned))
        .set_load_balancers(Some(input.load_balancers().to_vec()))
        .set_service_registries(Some(input.service_registries().to_vec()))
        .set_network_configuration(input.network_configuration().cloned())
        .set_health_check_grace_period_seconds(input.health_check_grace_period_seconds())
        .set_placement_constraints(Some(input.placement_constraints().to_vec()))
        .set_placement_strategy(Some(input.placement_strategy().to_vec()))
        .scheduling_strategy(input.scheduling_strategy().cloned().unwrap_or(ecs::SchedulingStrategy::Replica))
        .set_deployment_configuration(input.deployment_configuration().cloned())
        .set_tags(Some(input.tags().to_vec()))
        .enable_ecs_managed_tags(input.enable_ecs_managed_tags().unwrap_or(false))
        .set_propagate_tags(input.propagate_tags().cloned())
        .enable_execute_command(input.enable_execute_command().unwrap_or(false))
        .set_availability_zone_rebalancing(input.availability_zone_rebalancing().cloned())
        .set_role_arn(input.role().map(str::to_owned))
        .set_deployments(ecs_controller.then(|| vec![deployment]))
        // "Service creation results in the creation of a (blue) task set" (ECS developer guide).
        .set_task_sets((!ecs_controller && input.task_definition().is_some()).then(|| {
            vec![ecs::TaskSet::builder().status("PRIMARY").set_task_definition(input.task_definition().map(str::to_owned)).build()]
        }))
        .build();
    service_from_sdk(&service)
}

/// The SDK task definition DescribeTaskDefinition answers for `t` (the inverse of
/// [`task_definition_from_sdk`]; CPU and memory made up).
#[cfg(feature = "test-util")]
pub(crate) fn task_definition_to_sdk(t: &TaskDefinitionInfo) -> ecs::TaskDefinition {
    let revision = t.arn.rsplit(':').next().and_then(|r| r.parse().ok()).unwrap_or(1);
    let awsvpc = t.network_mode.as_deref() == Some("awsvpc");
    ecs::TaskDefinition::builder()
        .task_definition_arn(&t.arn)
        .set_task_role_arn(t.task_role_arn.clone())
        .set_execution_role_arn(t.execution_role_arn.clone())
        .family(&t.family)
        .revision(revision)
        .set_network_mode(sdk_enum(&t.network_mode))
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
                                        .set_host_port(if awsvpc { Some(*p) } else { c.static_host_ports.get(p).copied() })
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
