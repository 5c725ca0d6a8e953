//! ECS service primitives for the cutover: create from a [`ServiceDefinition`], delete, and
//! the waits (running, INACTIVE), plus the undo of each.

use aws_sdk_ecs::types as ecs;

use super::{built, has_code};
use crate::discover::describe_service;
use crate::error::{Result, SdkResultExt};
use crate::inventory::ServiceDefinition;
use crate::wait::shared::TargetState;
use crate::wait::Waits;
use crate::wait;
use crate::AwsClients;

/// Fields of `CreateService` deliberately not carried from the live service, with the reason.
/// Everything else that DescribeServices reports is carried (see `create_service`).
pub const DROPPED_FIELDS: &[(&str, &str)] = &[
    ("clientToken", "generated per call for idempotent retries"),
    ("serviceConnectConfiguration", "the plan refuses Service Connect services (ECS controller only)"),
    ("vpcLatticeConfigurations", "the plan refuses VPC Lattice services (they block leaving the ECS controller)"),
    ("volumeConfigurations", "reported per deployment, not per service; managed EBS volumes are configured at deployment time"),
    ("gatewayConnectors", "not reported by DescribeServices"),
    ("monitoring", "not reported by DescribeServices"),
];

/// Builds and sends `CreateService` for `def` under `name` with `controller`.
/// For `CODE_DEPLOY`, the settings that controller forbids are left out.
pub(crate) async fn create_service(
    aws: &AwsClients,
    cluster: &str,
    name: &str,
    def: &ServiceDefinition,
    controller: &str,
    extra_tags: &[(String, String)],
) -> Result<()> {
    let code_deploy = controller == "CODE_DEPLOY";
    let mut req = aws
        .ecs
        .create_service()
        .cluster(cluster)
        .service_name(name)
        .set_task_definition(def.task_definition.clone())
        .desired_count(def.desired_count)
        .set_platform_version(def.platform_version.clone())
        .set_health_check_grace_period_seconds(def.health_check_grace_period_seconds)
        .set_scheduling_strategy(def.scheduling_strategy.as_deref().map(ecs::SchedulingStrategy::from))
        .enable_ecs_managed_tags(def.enable_ecs_managed_tags)
        .set_propagate_tags(def.propagate_tags.as_deref().map(ecs::PropagateTags::from))
        .enable_execute_command(def.enable_execute_command)
        .set_availability_zone_rebalancing(
            def.availability_zone_rebalancing.as_deref().map(ecs::AvailabilityZoneRebalancing::from),
        )
        .deployment_controller(built(
            "CreateService",
            ecs::DeploymentController::builder().r#type(ecs::DeploymentControllerType::from(controller)).build(),
        )?)
        .client_token(client_token(cluster, name, controller));
    if def.capacity_provider_strategy.is_empty() {
        req = req.set_launch_type(def.launch_type.as_deref().map(ecs::LaunchType::from));
    }
    for c in &def.capacity_provider_strategy {
        req = req.capacity_provider_strategy(built(
            "CreateService",
            ecs::CapacityProviderStrategyItem::builder()
                .capacity_provider(&c.capacity_provider)
                .weight(c.weight)
                .base(c.base)
                .build(),
        )?);
    }
    for lb in &def.load_balancers {
        req = req.load_balancers(
            ecs::LoadBalancer::builder()
                .set_target_group_arn(lb.target_group_arn.clone())
                .set_load_balancer_name(lb.load_balancer_name.clone())
                .set_container_name(lb.container_name.clone())
                .set_container_port(lb.container_port)
                .build(),
        );
    }
    for r in &def.service_registries {
        req = req.service_registries(
            ecs::ServiceRegistry::builder()
                .set_registry_arn(r.registry_arn.clone())
                .set_port(r.port)
                .set_container_name(r.container_name.clone())
                .set_container_port(r.container_port)
                .build(),
        );
    }
    if let Some(n) = &def.network_configuration {
        req = req.network_configuration(
            ecs::NetworkConfiguration::builder()
                .awsvpc_configuration(built(
                    "CreateService",
                    ecs::AwsVpcConfiguration::builder()
                        .set_subnets(Some(n.subnets.clone()))
                        .set_security_groups(Some(n.security_groups.clone()).filter(|s| !s.is_empty()))
                        .set_assign_public_ip(n.assign_public_ip.as_deref().map(ecs::AssignPublicIp::from))
                        .build(),
                )?)
                .build(),
        );
    } else if let Some(role) = def.role_arn.as_deref().filter(|r| !r.contains("/aws-service-role/")) {
        // Only classic (non-awsvpc) services take an explicit role.
        req = req.role(role);
    }
    for p in &def.placement_constraints {
        req = req.placement_constraints(
            ecs::PlacementConstraint::builder()
                .set_type(p.r#type.as_deref().map(ecs::PlacementConstraintType::from))
                .set_expression(p.expression.clone())
                .build(),
        );
    }
    for p in &def.placement_strategy {
        req = req.placement_strategy(
            ecs::PlacementStrategy::builder()
                .set_type(p.r#type.as_deref().map(ecs::PlacementStrategyType::from))
                .set_field(p.field.clone())
                .build(),
        );
    }
    if let Some(dc) = &def.deployment_configuration {
        let mut b = ecs::DeploymentConfiguration::builder()
            .set_maximum_percent(dc.maximum_percent)
            .set_minimum_healthy_percent(dc.minimum_healthy_percent);
        if !code_deploy {
            if let Some((enable, rollback)) = dc.circuit_breaker {
                b = b.deployment_circuit_breaker(
                    ecs::DeploymentCircuitBreaker::builder().enable(enable).rollback(rollback).build(),
                );
            }
            if let Some(a) = &dc.alarms {
                b = b.alarms(built(
                    "CreateService",
                    ecs::DeploymentAlarms::builder()
                        .set_alarm_names(Some(a.alarm_names.clone()))
                        .enable(a.enable)
                        .rollback(a.rollback)
                        .build(),
                )?);
            }
            b = b
                .set_strategy(dc.strategy.as_deref().map(ecs::DeploymentStrategy::from))
                .set_bake_time_in_minutes(dc.bake_time_in_minutes);
        }
        req = req.deployment_configuration(b.build());
    }
    // Keys reserved for AWS (`aws:...`, set by CloudFormation...) are refused in a request:
    // the recreated service goes without them (the plan warns).
    let tags = def.tags.iter().filter(|(k, _)| !crate::inventory::is_reserved_tag_key(k));
    for (k, v) in tags.chain(extra_tags.iter().map(|(k, v)| (k, v))) {
        req = req.tags(ecs::Tag::builder().key(k).value(v).build());
    }
    req.send().await.ctx("CreateService", format!("{cluster}/{name}"))?;
    Ok(())
}

/// A token unique to this call (≤ 36 chars): the SDK's own retries resend the same input,
/// so a retried CreateService is idempotent, while a later, deliberate create is not mistaken
/// for a retry.
fn client_token(cluster: &str, name: &str, controller: &str) -> String {
    use std::hash::{Hash, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (cluster, name, controller, std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)).hash(&mut h);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("ebg-{:016x}-{:x}", h.finish(), nanos).chars().take(36).collect()
}

/// Sends DeleteService (force: no scale-down first); tolerates a service already gone.
pub(crate) async fn delete_service_call(aws: &AwsClients, cluster: &str, name: &str) -> Result<()> {
    match aws.ecs.delete_service().cluster(cluster).service(name).force(true).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &["ServiceNotFoundException", "ServiceNotActiveException"]) => Ok(()),
        Err(e) => Err(e).ctx("DeleteService", format!("{cluster}/{name}")),
    }
}

/// Deletes a service and waits until it is INACTIVE.
pub(crate) async fn delete_service(aws: &AwsClients, cluster: &str, name: &str, opts: &Waits) -> Result<()> {
    delete_service_call(aws, cluster, name).await?;
    wait_inactive(aws, cluster, name, opts).await
}

/// Polls service `cluster`/`name` (DescribeServices) until `check` says it is done, as
/// [`wait::poll`] does; in a batch with the other waiters of the cluster when the run shares its
/// waits ([`Waits::shared`]), else alone.
pub(crate) async fn poll_service<T>(
    aws: &AwsClients,
    waits: &Waits,
    what: &str,
    policy: wait::WaitPolicy,
    cluster: &str,
    name: &str,
    check: impl Fn(Option<ServiceDefinition>) -> Result<Option<T>>,
) -> Result<T> {
    match waits.shared().filter(|s| s.usable()) {
        Some(shared) => {
            let region = aws.ecs.config().region().map(|r| r.to_string()).unwrap_or_default();
            let describe = |names: Vec<String>| async move { crate::discover::describe_services(aws, cluster, &names).await };
            shared.poll_service(what, policy, &region, cluster, name, describe, check).await
        }
        None => wait::poll(what, policy, || async { check(describe_service(aws, cluster, name).await?) }).await,
    }
}

/// Every registered target of `target_group` with its health (DescribeTargetHealth naming no
/// target answers for all of them).
async fn target_health(aws: &AwsClients, target_group: &str) -> Result<Vec<TargetState>> {
    let out = aws.elbv2.describe_target_health().target_group_arn(target_group).send().await.ctx("DescribeTargetHealth", target_group)?;
    Ok(out
        .target_health_descriptions()
        .iter()
        .map(|d| TargetState {
            id: d.target().and_then(|t| t.id()).unwrap_or_default().to_owned(),
            port: d.target().and_then(|t| t.port()),
            healthy: d.target_health().and_then(|h| h.state())
                == Some(&aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum::Healthy),
        })
        .collect())
}

/// Waits until the service is INACTIVE or gone, so its name can be used again. The deadline is
/// the drain's ([`Waits::drain`]): a DRAINING service first deregisters its tasks from the target
/// group, which takes the group's deregistration delay (up to an hour).
pub(crate) async fn wait_inactive(aws: &AwsClients, cluster: &str, name: &str, opts: &Waits) -> Result<()> {
    let what = format!("service {cluster}/{name} to become INACTIVE");
    poll_service(aws, opts, &what, opts.drain(), cluster, name, |s| Ok(s.is_none_or(|s| s.status == "INACTIVE").then_some(()))).await
}

/// Waits until the service is ACTIVE with all desired tasks running. `CODE_DEPLOY`
/// services are judged by running count (and task sets where reported), not `deployments`.
pub(crate) async fn wait_running(aws: &AwsClients, cluster: &str, name: &str, opts: &Waits) -> Result<ServiceDefinition> {
    let what = format!("service {cluster}/{name} to run its desired tasks");
    poll_service(aws, opts, &what, opts.service_wait, cluster, name, |s| {
        Ok(s.filter(|s| s.status == "ACTIVE" && s.running_count >= s.desired_count))
    })
    .await
}

/// Waits until every running task of the service is a healthy target of the service's target
/// group, so the tasks serve traffic before another service stops.
///
/// Targets are identified as the load balancer registered them: awsvpc tasks by their own IP
/// and the container port (`ip` target groups); bridge/host network mode tasks on EC2, which
/// have no address of their own, by their instance's EC2 id and the host port the container
/// port is bound to (`instance` target groups: DescribeTasks' `networkBindings` and
/// `containerInstanceArn`, DescribeContainerInstances' `ec2InstanceId`). Where the API reports
/// no running task (an emulator), the running count already waited for is the last word.
pub(crate) async fn wait_healthy(aws: &AwsClients, cluster: &str, def: &ServiceDefinition, name: &str, opts: &Waits) -> Result<()> {
    let Some(lb) = def.single_load_balancer() else { return Ok(()) };
    let (Some(tg), Some(port)) = (lb.target_group_arn.clone(), lb.container_port) else { return Ok(()) };
    let container = lb.container_name.as_deref();
    let what = format!("the tasks of service {cluster}/{name} to be healthy targets of {tg}");
    if let Some(shared) = opts.shared().filter(|s| s.usable()) {
        // One DescribeTargetHealth of the whole group answers every waiter on it; each then
        // reads its own tasks (the health is read first, so a task started since is not yet
        // counted healthy: never a false "healthy").
        return shared
            .poll_target_health(&what, opts.service_wait, &tg, || target_health(aws, &tg), |health| async move {
                Ok(match targets_of(aws, cluster, name, port, container).await? {
                    Targets::NoTasksReported => Some(()),
                    Targets::NotYet => None,
                    Targets::Listed(targets) => all_healthy(&targets, &health).then_some(()),
                })
            })
            .await;
    }
    wait::poll(&what, opts.service_wait, || async {
        let targets = match targets_of(aws, cluster, name, port, container).await? {
            Targets::NoTasksReported => return Ok(Some(())),
            Targets::NotYet => return Ok(None),
            Targets::Listed(targets) => targets,
        };
        let mut req = aws.elbv2.describe_target_health().target_group_arn(&tg);
        for (id, port) in &targets {
            req = req.targets(aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder().id(id).port(*port).build());
        }
        let health = req.send().await.ctx("DescribeTargetHealth", &tg)?;
        let healthy = health
            .target_health_descriptions()
            .iter()
            .filter(|d| d.target_health().and_then(|h| h.state()) == Some(&aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum::Healthy))
            .count();
        Ok((healthy >= targets.len()).then_some(()))
    })
    .await
}

/// The load balancer targets of a service's running tasks, as [`wait_healthy`] identifies them.
enum Targets {
    /// The API lists no running task (an emulator): the running count is the last word.
    NoTasksReported,
    /// Tasks listed but not running or not bound yet: not targets yet either.
    NotYet,
    /// `(id, port)` of each running task.
    Listed(Vec<(String, i32)>),
}

/// Whether every one of `targets` is healthy in `health` (the whole group's).
fn all_healthy(targets: &[(String, i32)], health: &[TargetState]) -> bool {
    targets.iter().all(|(id, port)| health.iter().any(|h| h.healthy && h.id == *id && h.port.is_none_or(|p| p == *port)))
}

/// ListTasks, DescribeTasks (and DescribeContainerInstances for bridge/host tasks): the
/// targets the service's running tasks are registered as.
async fn targets_of(aws: &AwsClients, cluster: &str, name: &str, port: i32, container: Option<&str>) -> Result<Targets> {
    let listed = aws
        .ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(name)
        .desired_status(ecs::DesiredStatus::Running)
        .send()
        .await
        .ctx("ListTasks", format!("{cluster}/{name}"))?;
    if listed.task_arns().is_empty() {
        return Ok(Targets::NoTasksReported);
    }
    let tasks = aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(listed.task_arns().to_vec()))
        .send()
        .await
        .ctx("DescribeTasks", format!("{cluster}/{name}"))?;
    let running: Vec<&ecs::Task> = tasks.tasks().iter().filter(|t| t.last_status() == Some("RUNNING")).collect();
    if running.is_empty() {
        return Ok(Targets::NotYet);
    }
    let mut targets: Vec<(String, i32)> = Vec::new();
    // Bridge/host tasks: (container instance ARN, host port), resolved to EC2 ids below.
    let mut on_instances: Vec<(String, i32)> = Vec::new();
    for t in &running {
        let ip = t
            .attachments()
            .iter()
            .flat_map(|a| a.details())
            .find(|d| d.name() == Some("privateIPv4Address"))
            .and_then(|d| d.value());
        if let Some(ip) = ip {
            targets.push((ip.to_owned(), port));
            continue;
        }
        let host_port = t
            .containers()
            .iter()
            .filter(|c| container.is_none() || c.name() == container)
            .flat_map(|c| c.network_bindings())
            .find(|b| b.container_port() == Some(port))
            .and_then(|b| b.host_port());
        match (t.container_instance_arn(), host_port) {
            (Some(instance), Some(host_port)) => on_instances.push((instance.to_owned(), host_port)),
            // Not bound yet (or not reported): not a target yet either.
            _ => return Ok(Targets::NotYet),
        }
    }
    if !on_instances.is_empty() {
        let mut arns: Vec<String> = on_instances.iter().map(|(a, _)| a.clone()).collect();
        arns.sort();
        arns.dedup();
        let described = aws
            .ecs
            .describe_container_instances()
            .cluster(cluster)
            .set_container_instances(Some(arns))
            .send()
            .await
            .ctx("DescribeContainerInstances", cluster)?;
        for (arn, host_port) in &on_instances {
            let ec2 = described
                .container_instances()
                .iter()
                .find(|c| c.container_instance_arn() == Some(arn.as_str()))
                .and_then(|c| c.ec2_instance_id());
            match ec2 {
                Some(id) => targets.push((id.to_owned(), *host_port)),
                None => return Ok(Targets::NotYet),
            }
        }
    }
    Ok(Targets::Listed(targets))
}

/// The state of a service: `None` when missing or INACTIVE.
pub(crate) async fn active(aws: &AwsClients, cluster: &str, name: &str) -> Result<Option<ServiceDefinition>> {
    Ok(describe_service(aws, cluster, name).await?.filter(|s| s.status != "INACTIVE"))
}

/// Undo of a service this run created: delete it if it is still there with that controller.
pub(crate) async fn undo_create(aws: &AwsClients, cluster: &str, name: &str, controller: &str, opts: &Waits) -> Result<()> {
    match active(aws, cluster, name).await? {
        Some(s) if s.deployment_controller == controller => delete_service(aws, cluster, name, opts).await,
        // Gone, or a different service (the user's original) under that name: leave it.
        _ => Ok(()),
    }
}

/// Undo of a deleted user service: recreate it exactly (controller `ECS`) and wait for its tasks.
///
/// The scaling the service had ([`ServiceDefinition::scaling`]) is registered again and its
/// step policies' alarms re-pointed to the new policies (also when the service was found
/// restored already: an undo interrupted after the create finishes the job; every call is an
/// upsert).
pub(crate) async fn undo_delete(aws: &AwsClients, plan: &crate::plan::Plan, cluster: &str, def: &ServiceDefinition, opts: &Waits) -> Result<()> {
    if let Some(s) = active(aws, cluster, &def.name).await? {
        if s.status == "ACTIVE" && s.deployment_controller == def.deployment_controller {
            // Never deleted (the crash came before the call) or already restored.
            return restore_scaling(aws, plan, cluster, def).await;
        }
        // DRAINING (a delete in progress), or our CODE_DEPLOY service still holds the name:
        // let it finish or remove it, then recreate.
        delete_service(aws, cluster, &def.name, opts).await?;
    }
    create_service(aws, cluster, &def.name, def, &def.deployment_controller, &[]).await?;
    wait_running(aws, cluster, &def.name, opts).await?;
    restore_scaling(aws, plan, cluster, def).await?;
    // Serving again before the undo of the service that served meanwhile removes it.
    wait_healthy(aws, cluster, def, &def.name, opts).await?;
    Ok(())
}

/// Registers the scaling of a restored service again and re-points its alarms.
async fn restore_scaling(aws: &AwsClients, plan: &crate::plan::Plan, cluster: &str, def: &ServiceDefinition) -> Result<()> {
    let Some(scaling) = &def.scaling else { return Ok(()) };
    let arns = super::scaling::register(aws, cluster, &def.name, scaling).await?;
    super::scaling::repoint_now(aws, plan, scaling, &arns).await
}
