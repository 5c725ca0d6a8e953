//! Validation: everything the plan refuses, with the reason and the fix, before any change is
//! built. Pure: no I/O. What passes is the [`Basis`] the change builders work from.

use super::*;
use crate::inventory::{RouteProblem, no_forward_message};

/// The validated inputs of the change builders.
pub(super) struct Basis<'a> {
    pub migration: &'a Migration,
    pub inv: &'a Inventory,
    pub id: String,
    pub cluster: String,
    pub service_name: String,
    pub svc: &'a ServiceDefinition,
    /// The service already runs on an identical blue/green setup.
    pub identical: bool,
    pub role_spec: crate::spec::ResolvedRole,
    pub app_spec: crate::spec::CodeDeployApp,
    pub dg_spec: crate::spec::DeploymentGroupSpec,
    pub dg_existing: Option<&'a DeploymentGroupInfo>,
    pub blue: &'a TargetGroupInfo,
    pub lb: &'a LoadBalancerInfo,
    pub prod: &'a ListenerInfo,
    pub green_spec: crate::spec::TargetGroupPair,
    pub existing_test_listener: Option<&'a ListenerInfo>,
    pub deployment_config: DeploymentConfig,
    pub ownership: Tags,
    pub pipeline_change: Option<Change>,
    pub warnings: Vec<String>,
}

/// Checks the migration against the account for the built-in `steps`; every refusal at once.
pub(super) fn validate<'a>(migration: &'a Migration, inv: &'a Inventory, steps: &[StepId]) -> Result<Basis<'a>, PlanError> {
    let has = |id: StepId| steps.contains(&id);
    let cutover_planned = has(StepId::ServiceCutover);
    let mut refusals = Vec::new();
    for s in steps.iter().filter(|s| !s.is_built_in()) {
        refusals.push(Refusal::new(
            RefusalKind::StepGraph,
            format!("{s} is not a built-in step"),
            "name built-in steps only (StepId::BUILT_IN); add your own steps with Transaction::step",
        ));
    }
    let mut warnings = Vec::new();
    let id = migration.migration_id();
    let cluster = migration.cluster_name().to_owned();
    let service_name = migration.service().as_str().to_owned();

    if id.chars().count() > MAX_TAG_VALUE {
        refusals.push(Refusal::new(
            RefusalKind::InvalidName,
            format!(
                "the migration id {:?}... is {} characters long; it is tagged on every created resource and AWS tag values hold at most {MAX_TAG_VALUE}",
                id.chars().take(40).collect::<String>(),
                id.chars().count()
            ),
            "set a shorter migration id (Migration::builder().migration_id(...))",
        ));
    }
    if migration.target() == Target::EcsNative {
        refusals.push(Refusal::new(
            RefusalKind::UnsupportedTarget,
            "the ECS-native blue/green target is not available in this version",
            "use the CodeDeploy target (--target codedeploy)",
        ));
    }

    let svc = active_service(
        inv,
        &cluster,
        &service_name,
        "migrate an ACTIVE service; a DRAINING or INACTIVE service cannot be recreated from",
        &mut refusals,
    )?;

    // Specs with derived names; a derived name over an AWS limit is a refusal, not a panic.
    let role_spec = migration.role_spec().map_err(invalid_name);
    let app_spec = migration.application_spec().map_err(invalid_name);
    let dg_spec = migration.deployment_group_spec().map_err(invalid_name);
    let (role_spec, app_spec, dg_spec) = match (role_spec, app_spec, dg_spec) {
        (Ok(r), Ok(a), Ok(d)) => (r, a, d),
        (r, a, d) => {
            refusals.extend([r.err(), a.err(), d.err()].into_iter().flatten());
            return Err(PlanError::new(refusals));
        }
    };

    // Already migrated by an identical setup: report, don't refuse.
    let dg_existing = inv.existing.deployment_group.as_ref();
    let blue_name = inv.blue_target_group.as_ref().map(|t| t.name.clone());
    let identical = svc.deployment_controller == "CODE_DEPLOY"
        && dg_existing.is_some_and(|dg| {
            dg.ecs_services.iter().any(|(c, s)| *c == cluster && *s == svc.name)
                && blue_name.as_ref().is_some_and(|b| dg.target_group_names.contains(b))
        });

    let controller = if cutover_planned { svc.deployment_controller.as_str() } else { "ECS" };
    if !cutover_planned && has(StepId::DeploymentGroup) && svc.deployment_controller != "CODE_DEPLOY" {
        refusals.push(Refusal::new(
            RefusalKind::MissingPrerequisite,
            format!(
                "the transaction creates a deployment group for service {service_name}, which uses the {} controller; CodeDeploy refuses a group for a service not on CODE_DEPLOY",
                svc.deployment_controller
            ),
            "add the service-cutover step to the transaction, or switch the service to CODE_DEPLOY first",
        ));
    }
    match controller {
        "ECS" => {}
        "CODE_DEPLOY" if identical => {}
        "CODE_DEPLOY" => refusals.push(Refusal::new(
            RefusalKind::AlreadyCodeDeploy,
            format!("service {service_name} already uses the CODE_DEPLOY controller, but not with deployment group {}/{}", app_spec.application_name(), dg_spec.deployment_group_name()),
            "nothing to migrate; or name its existing application and deployment group with overrides",
        )),
        "EXTERNAL" => refusals.push(Refusal::new(
            RefusalKind::ExternalController,
            format!("service {service_name} uses the EXTERNAL deployment controller"),
            "switch it back to ECS (UpdateService, an in-place transition AWS allows) and migrate again",
        )),
        other => refusals.push(Refusal::new(
            RefusalKind::ExternalController,
            format!("service {service_name} uses the unknown deployment controller {other}"),
            "migrate a service on the ECS (rolling update) controller",
        )),
    }

    if let Some(strategy) = svc.deployment_configuration.as_ref().and_then(|d| d.strategy.as_deref())
        && strategy != "ROLLING"
        && !identical
        && cutover_planned
    {
        refusals.push(Refusal::new(
            RefusalKind::EcsNativeStrategy,
            format!("service {service_name} uses the ECS-native {strategy} deployment strategy; AWS blocks leaving the ECS controller with it"),
            "switch the service to the ROLLING strategy first (UpdateService), or keep ECS-native blue/green",
        ));
    }
    if cutover_planned && svc.scheduling_strategy.as_deref() == Some("DAEMON") {
        refusals.push(Refusal::new(
            RefusalKind::DaemonScheduling,
            format!("service {service_name} uses DAEMON scheduling; CODE_DEPLOY supports only REPLICA"),
            "blue/green needs a REPLICA service; migrate a replica service instead",
        ));
    }

    let lb_entry = match svc.load_balancers.as_slice() {
        [] => {
            refusals.push(Refusal::new(
                RefusalKind::NoLoadBalancer,
                format!("service {service_name} has no load balancer; blue/green shifts traffic between two target groups"),
                "put the service behind an Application or Network Load Balancer first",
            ));
            None
        }
        [one] if one.load_balancer_name.is_some() && one.target_group_arn.is_none() => {
            refusals.push(Refusal::new(
                RefusalKind::ClassicLoadBalancer,
                format!("service {service_name} uses the Classic Load Balancer {}", one.load_balancer_name.as_deref().unwrap_or_default()),
                "move the service to an Application or Network Load Balancer first",
            ));
            None
        }
        [one] => Some(one),
        many => {
            refusals.push(Refusal::new(
                RefusalKind::SeveralTargetGroups,
                format!("service {service_name} has {} target groups; CodeDeploy blue/green supports exactly one", many.len()),
                "reduce the service to one load balancer entry first",
            ));
            None
        }
    };

    if cutover_planned && svc.deployments.iter().any(|d| d.service_connect) {
        refusals.push(Refusal::new(
            RefusalKind::ServiceConnect,
            format!("service {service_name} uses Service Connect, which AWS supports only with the ECS controller"),
            "remove Service Connect from the service, or use ECS-native blue/green",
        ));
    }
    if cutover_planned && svc.deployments.iter().any(|d| d.vpc_lattice) {
        refusals.push(Refusal::new(
            RefusalKind::VpcLattice,
            format!("service {service_name} uses VPC Lattice, which blocks leaving the ECS controller"),
            "remove the VPC Lattice configuration, or use ECS-native blue/green",
        ));
    }
    if cutover_planned && svc.deployments.iter().any(|d| d.volume_configurations > 0) {
        refusals.push(Refusal::new(
            RefusalKind::ManagedEbsVolumes,
            format!(
                "service {service_name} attaches EBS volumes at deployment time (volumeConfigurations), which CodeDeploy \
                 blue/green cannot carry: the recreated service would run without them"
            ),
            "remove the volume configuration from the service, or use ECS-native blue/green, which supports it",
        ));
    }
    if cutover_planned && let Some(scaling) = &svc.scaling {
        for p in &scaling.policies {
            let why = if p.policy_type == "PredictiveScaling" {
                Some("a predictive scaling policy")
            } else if p.target_tracking.as_ref().and_then(|t| t.customized_metric.as_ref()).is_some_and(|m| m.metric_math) {
                Some("a target tracking policy on a metric math expression")
            } else {
                None
            };
            if let Some(why) = why {
                refusals.push(Refusal::new(
                    RefusalKind::ScalingNotCarried,
                    format!(
                        "service {service_name}'s auto scaling policy {} is {why}, which the migration cannot register again after the cutover deletes the service (deleting it deregisters every policy)",
                        p.name
                    ),
                    "delete that policy before the migration and put it back on the migrated service afterwards",
                ));
            }
        }
    }
    if cutover_planned {
        let reserved: Vec<&String> = svc.tags.keys().filter(|k| crate::inventory::is_reserved_tag_key(k)).collect();
        if !reserved.is_empty() {
            warnings.push(format!(
                "service {service_name} carries tags reserved for AWS ({}); AWS refuses them in a request, so the recreated \
                 service (and a restored one after a rollback) goes without them; the stack that set them sees drift",
                reserved.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        let copied = crate::inventory::copyable_tags(&svc.tags).len();
        if copied + 1 > crate::inventory::MAX_TAGS_PER_RESOURCE {
            refusals.push(Refusal::new(
                RefusalKind::TooManyTags,
                format!(
                    "service {service_name} has {copied} tags; with this migration's ownership tag the services the cutover \
                     creates would carry {}, and AWS allows {}",
                    copied + 1,
                    crate::inventory::MAX_TAGS_PER_RESOURCE
                ),
                "remove a tag from the service and plan again",
            ));
        }
    }
    if !identical && cutover_planned {
        let in_flight = svc.deployments.len() > 1
            || svc.deployments.iter().any(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"));
        if in_flight {
            refusals.push(Refusal::new(
                RefusalKind::DeploymentInFlight,
                match svc.deployments.len() {
                    1 => format!("service {service_name} has a deployment in progress"),
                    n => format!("service {service_name} has a deployment in progress ({n} deployments listed)"),
                },
                "wait until the deployment completes (aws ecs wait services-stable) and plan again",
            ));
        }
    }

    // Target group, load balancer, listeners.
    let blue = inv.blue_target_group.as_ref();
    let lb = inv.load_balancer.as_ref();
    if lb_entry.is_some() && (blue.is_none() || lb.is_none()) {
        refusals.push(Refusal::new(
            RefusalKind::TargetGroupMissing,
            format!(
                "the service's target group {} {}",
                lb_entry.and_then(|e| e.target_group_arn.as_deref()).unwrap_or_default(),
                if blue.is_none() { "does not exist" } else { "is not attached to a load balancer" }
            ),
            "attach the target group to a listener of an Application or Network Load Balancer",
        ));
    }
    let is_nlb = lb.is_some_and(|l| l.r#type == "network");
    warnings.extend(migration.deployment_config_conflict());
    let deployment_config = dg_spec.deployment_config().clone();
    // What discovery read about a custom config (`None`: not looked up, nothing to check).
    let custom = match (&deployment_config, &inv.deployment_config) {
        (DeploymentConfig::Custom(name), Some(found)) => Some(found.as_ref().filter(|c| c.name == *name)),
        _ => None,
    };
    let ecs_config = |c: &DeploymentConfigInfo| c.compute_platform.as_deref() == Some("ECS");
    match custom {
        Some(None) => refusals.push(Refusal::new(
            RefusalKind::DeploymentConfigMissing,
            format!("deployment config {deployment_config} does not exist in this account and region (GetDeploymentConfig)"),
            "check the spelling of --deployment-config, use a predefined CodeDeployDefault.ECS* config, or create it first (aws deploy create-deployment-config --compute-platform ECS ...)",
        )),
        Some(Some(c)) if !ecs_config(c) => refusals.push(Refusal::new(
            RefusalKind::DeploymentConfigNotEcs,
            format!(
                "deployment config {deployment_config} is for the {} compute platform; an ECS deployment group needs an ECS config",
                c.compute_platform.as_deref().unwrap_or("unknown")
            ),
            "name a deployment config created with --compute-platform ECS, or a predefined CodeDeployDefault.ECS* config",
        )),
        _ => {}
    }
    // Whether traffic moves gradually: known for a predefined config and for a custom ECS
    // config read from the account.
    let gradual = match (&deployment_config, custom) {
        (DeploymentConfig::Custom(_), Some(Some(c))) if ecs_config(c) => Some(c.traffic_routing.as_deref() != Some("AllAtOnce")),
        (DeploymentConfig::Custom(_), _) => None,
        (predefined, _) => Some(!predefined.is_all_at_once()),
    };
    match gradual {
        Some(true) if is_nlb => refusals.push(Refusal::new(
            RefusalKind::NlbNeedsAllAtOnce,
            format!("{deployment_config} shifts traffic gradually, but the service is behind a Network Load Balancer, where CodeDeploy supports only all-at-once"),
            "use --deployment-config CodeDeployDefault.ECSAllAtOnce",
        )),
        None if is_nlb && custom.is_none() => warnings.push(format!(
            "the load balancer is a Network Load Balancer: CodeDeploy supports only all-at-once traffic shifting there; make sure {deployment_config} is an AllAtOnce config"
        )),
        _ => {}
    }

    let green_spec = blue.map(|b| migration.target_group_pair(&b.name).map_err(invalid_name));
    let green_spec = match green_spec {
        Some(Ok(g)) => Some(g),
        Some(Err(r)) => {
            refusals.push(r);
            None
        }
        None => None,
    };
    if let (Some(b), Some(g)) = (blue, &green_spec)
        && g.green_name().as_str() == b.name
    {
        refusals.push(Refusal::new(
            RefusalKind::InvalidName,
            format!("the green target group name {} is the blue group's name", b.name),
            "choose another green target group name",
        ));
    }

    if let Some(b) = blue.filter(|_| green_spec.as_ref().is_some_and(|g| g.copy_tags()) && has(StepId::GreenTargetGroup)) {
        let reserved: Vec<&str> = b.tags.keys().filter(|k| crate::inventory::is_reserved_tag_key(k)).map(String::as_str).collect();
        if !reserved.is_empty() {
            warnings.push(format!(
                "target group {} carries tags reserved for AWS ({}); the green group is created without them",
                b.name,
                reserved.join(", ")
            ));
        }
        let copied = crate::inventory::copyable_tags(&b.tags).len();
        if copied + 1 > crate::inventory::MAX_TAGS_PER_RESOURCE {
            refusals.push(Refusal::new(
                RefusalKind::TooManyTags,
                format!(
                    "target group {} has {copied} tags; its green clone with this migration's ownership tag would carry {}, \
                     and AWS allows {}",
                    b.name,
                    copied + 1,
                    crate::inventory::MAX_TAGS_PER_RESOURCE
                ),
                "remove a tag from the target group, or do not copy its tags (GreenTargetGroupSpec copy_tags false)",
            ));
        }
    }

    // Once migrated, CodeDeploy moves traffic between the groups on its own; trust the
    // deployment group's listener rather than where the forward actions point today.
    let dg_prod_listener = dg_existing
        .filter(|_| identical)
        .and_then(|dg| dg.prod_listener_arns.first())
        .and_then(|arn| lb.and_then(|lb| lb.listeners.iter().find(|l| &l.arn == arn)));
    let prod_listener = match (lb, blue) {
        _ if dg_prod_listener.is_some() => dg_prod_listener,
        (Some(lb), Some(blue)) => {
            let by_default: Vec<&ListenerInfo> = lb
                .listeners
                .iter()
                .filter(|l| l.default_forward.iter().any(|t| t.target_group_arn == blue.arn))
                .collect();
            let by_rule: Vec<&ListenerInfo> = lb.listeners.iter().filter(|l| !l.rules_to_blue.is_empty()).collect();
            match (by_default.as_slice(), by_rule.as_slice()) {
                ([one], _) | ([], [one]) => {
                    // The rule verify applies too: the default action forwards, to the pair only.
                    let green = inv.existing.green_target_group.as_ref().map(|g| g.arn.as_str());
                    let groups: Vec<&str> = std::iter::once(blue.arn.as_str()).chain(green).collect();
                    match one.default_route(&groups) {
                        Ok(()) => Some(*one),
                        Err(problem) => {
                            refusals.push(route_refusal(one, problem));
                            None
                        }
                    }
                }
                _ => {
                    refusals.push(Refusal::new(
                        RefusalKind::NoProductionListener,
                        format!(
                            "{} listeners of {} forward to {}; CodeDeploy needs exactly one production listener",
                            by_default.len(),
                            lb.name,
                            blue.name
                        ),
                        "keep one listener whose default action forwards to the service's target group",
                    ));
                    None
                }
            }
        }
        _ => None,
    };

    // Test listener port rules.
    let existing_test_listener = match (migration.test_listener_port(), lb, prod_listener) {
        (Some(port), Some(lb), Some(prod)) => test_port_listener(port, lb, prod, &id, has(StepId::TestListener), &mut refusals),
        _ => None,
    };

    if let (Some(entry), Some(td)) = (lb_entry, &inv.task_definition) {
        let name = entry.container_name.as_deref().unwrap_or_default();
        match td.containers.iter().find(|c| c.name == name) {
            None => refusals.push(Refusal::new(
                RefusalKind::ContainerMismatch,
                format!("the load balancer entry names container {name:?}, which task definition {} does not have", td.arn),
                "fix the service's load balancer entry or the task definition",
            )),
            Some(c) if entry.container_port.is_some_and(|p| !c.ports.contains(&p)) => refusals.push(Refusal::new(
                RefusalKind::ContainerMismatch,
                format!(
                    "container {name} has no port mapping for port {} named in the load balancer entry",
                    entry.container_port.unwrap_or_default()
                ),
                "add the port mapping to the task definition or fix the load balancer entry",
            )),
            Some(_) => {}
        }
    }

    // A parallel cutover runs a second service's tasks next to the original's before it stops
    // them. Tasks that bind a static host port (bridge/host network mode on EC2) hold that port
    // on their instance: the second service's tasks fit only on instances without one.
    if let Some(td) = &inv.task_definition
        && cutover_planned
        && !identical
        && !matches!(migration.cutover(), ServiceCutover::Recreate)
    {
        let bound: Vec<String> = td
            .containers
            .iter()
            .flat_map(|c| c.static_host_ports.iter().map(move |(cp, hp)| format!("{}:{cp} on host port {hp}", c.name)))
            .collect();
        if !bound.is_empty() {
            let distinct = svc.placement_constraints.iter().any(|p| p.r#type.as_deref() == Some("distinctInstance"));
            refusals.push(Refusal::new(
                RefusalKind::StaticHostPorts,
                format!(
                    "the tasks of service {service_name} bind static host ports ({}, {} network mode): each instance runs one                      of them{}, so the {} cutover cannot start the second service's tasks next to the original's",
                    bound.join(", "),
                    td.network_mode.as_deref().unwrap_or("bridge"),
                    if distinct { " (and the service places one task per instance: distinctInstance)" } else { "" },
                    migration.cutover().as_str(),
                ),
                "use --cutover recreate (ServiceCutover::Recreate: the service is deleted and created again, with downtime),                  or map the container port to host port 0 (dynamic host ports) in a new task definition revision first",
            ));
        }
    }

    // AWSCodeDeployRoleForECSLimited grants iam:PassRole only on roles named
    // ecsTaskExecutionRole / ECSTaskExecution*; a deployment passes the task definition's roles.
    if let Some(td) = &inv.task_definition
        && role_spec.existing_role_arn().is_none()
        && role_spec.managed_policy() == crate::spec::ManagedPolicy::Limited
    {
        let passable = |arn: &str| {
            let name = arn.rsplit('/').next().unwrap_or(arn);
            name == "ecsTaskExecutionRole" || name.starts_with("ECSTaskExecution")
        };
        for (what, arn) in [("task role", &td.task_role_arn), ("task execution role", &td.execution_role_arn)] {
            if let Some(arn) = arn.as_deref().filter(|a| !passable(a)) {
                refusals.push(Refusal::new(
                    RefusalKind::LimitedPolicyPassRole,
                    format!(
                        "the {what} {arn} of task definition {} cannot be passed by a role with AWSCodeDeployRoleForECSLimited, \
                         which allows iam:PassRole only on roles named ecsTaskExecutionRole or ECSTaskExecution*; \
                         every deployment would fail",
                        td.arn
                    ),
                    "use the full policy (ManagedPolicy::Full, AWSCodeDeployRoleForECS), or name the role ecsTaskExecutionRole / ECSTaskExecution*",
                ));
            }
        }
    }

    // Ownership of resources that carry the planned names.
    let not_owned = |what: &str, name: &str, fix: &str| {
        Refusal::new(
            RefusalKind::NotOwned,
            format!("{what} {name} already exists and was not created by this migration (no tag {OWNERSHIP_TAG}={id})"),
            fix.to_owned(),
        )
    };
    if let Some(g) = &inv.existing.green_target_group
        && !owned(&g.tags, &id)
        && !identical
        && has(StepId::GreenTargetGroup)
    {
        refusals.push(not_owned("target group", &g.name, "choose another green target group name (TargetGroupPair override)"));
    }
    if let Some(r) = &inv.existing.role
        && !owned(&r.tags, &id)
        && !identical
        && has(StepId::ServiceRole)
    {
        refusals.push(not_owned(
            "IAM role",
            &r.name,
            "adopt it with CodeDeployRole::existing_role_arn (it is then never changed), or choose another role name with a CodeDeployRole override",
        ));
    }
    if let Some(a) = &inv.existing.application
        && !owned(&a.tags, &id)
        && !identical
        && has(StepId::Application)
    {
        refusals.push(not_owned("CodeDeploy application", &a.name, "choose another application name (CodeDeployApp override)"));
    }
    if let Some(d) = dg_existing
        && !owned(&d.tags, &id)
        && !identical
        && has(StepId::DeploymentGroup)
    {
        refusals.push(not_owned("deployment group", &d.name, "choose another deployment group name"));
    }

    // The name the cutover creates must be free (or hold this migration's own leftover bridge);
    // otherwise apply would mistake someone's service for its own.
    if let Some(other) = &inv.existing.cutover_service
        && !identical
        && cutover_planned
        && !(migration.cutover() == &ServiceCutover::ParallelKeepName && owned(&other.tags, &id))
    {
        let fix = match migration.cutover() {
            ServiceCutover::Parallel { .. } => "choose another --new-service-name",
            _ => "remove that service, or use --cutover parallel with a free --new-service-name",
        };
        refusals.push(Refusal::new(
            RefusalKind::NotOwned,
            format!(
                "service {} already exists in cluster {cluster} ({}); the {} cutover needs that name",
                other.name,
                other.status,
                migration.cutover().as_str()
            ),
            fix,
        ));
    }

    // An existing group is only "unchanged" if it has what is asked for; it is never rewritten.
    if let Some(d) = dg_existing.filter(|_| has(StepId::DeploymentGroup)) {
        let wanted = dg_spec.deployment_config().name();
        if let Some(live) = d.deployment_config_name.as_deref()
            && live != wanted
        {
            refusals.push(Refusal::new(
                RefusalKind::ExistingDiffers,
                format!("deployment group {} exists with deployment config {live}, but {wanted} was asked for", d.name),
                format!(
                    "ask for --deployment-config {live}, or change the group first (aws deploy update-deployment-group --deployment-config-name {wanted})"
                ),
            ));
        }
    }

    // Pipeline.
    let mut pipeline_change = None;
    if let Some(stage_spec) = migration.pipeline().filter(|_| has(StepId::PipelineDeployAction)) {
        let pname = stage_spec.pipeline_name().as_str();
        match inv.pipeline.as_ref().and_then(|p| p.as_ref()) {
            None => refusals.push(Refusal::new(
                RefusalKind::PipelineMissing,
                format!("pipeline {pname} does not exist"),
                "check --pipeline, or leave it out to migrate without rewiring a pipeline",
            )),
            Some(p) => match plan_pipeline(migration, stage_spec, p, &app_spec, &dg_spec) {
                Ok(c) => pipeline_change = Some(c),
                Err(r) => refusals.push(r),
            },
        }
    }

    // A partial transaction: what a planned step needs and no planned step makes must exist.
    let missing = |what: String, step: StepId| {
        Refusal::new(
            RefusalKind::MissingPrerequisite,
            what,
            format!("add the {step} step to the transaction, or create it first"),
        )
    };
    let green_name = green_spec.as_ref().map(|g| g.green_name().as_str().to_owned()).unwrap_or_default();
    if (has(StepId::TestListener) || has(StepId::DeploymentGroup))
        && !has(StepId::GreenTargetGroup)
        && inv.existing.green_target_group.is_none()
    {
        refusals.push(missing(format!("green target group {green_name} does not exist and the transaction does not create it"), StepId::GreenTargetGroup));
    }
    if has(StepId::DeploymentGroup) {
        if !has(StepId::ServiceRole) && role_spec.existing_role_arn().is_none() && inv.existing.role.is_none() {
            refusals.push(missing(
                format!("the CodeDeploy role {} does not exist and the transaction does not create it", role_spec.role_name()),
                StepId::ServiceRole,
            ));
        }
        if !has(StepId::Application) && inv.existing.application.is_none() {
            refusals.push(missing(
                format!("CodeDeploy application {} does not exist and the transaction does not create it", app_spec.application_name()),
                StepId::Application,
            ));
        }
        if !has(StepId::TestListener)
            && let Some(port) = migration.test_listener_port()
            && existing_test_listener.is_none()
        {
            refusals.push(missing(format!("there is no test listener of this migration on port {port}, and the transaction does not create one"), StepId::TestListener));
        }
    }
    if has(StepId::PipelineDeployAction) && migration.pipeline().is_some() && !has(StepId::DeploymentGroup) && dg_existing.is_none() {
        refusals.push(missing(
            format!(
                "the pipeline step would point the pipeline at deployment group {}/{}, which does not exist and which the transaction does not create",
                app_spec.application_name(),
                dg_spec.deployment_group_name()
            ),
            StepId::DeploymentGroup,
        ));
    }

    if !refusals.is_empty() {
        return Err(PlanError::new(refusals));
    }
    // From here on every piece is known to be present.
    let (Some(entry), Some(blue), Some(lb), Some(prod), Some(green_spec)) =
        (lb_entry, blue, lb, prod_listener, green_spec)
    else {
        unreachable!("missing inputs are refused above")
    };

    let _ = entry;
    let ownership: Tags = [(OWNERSHIP_TAG.to_owned(), id.clone())].into();
    Ok(Basis {
        migration,
        inv,
        id,
        cluster,
        service_name,
        svc,
        identical,
        role_spec,
        app_spec,
        dg_spec,
        dg_existing,
        blue,
        lb,
        prod,
        green_spec,
        existing_test_listener,
        deployment_config,
        ownership,
        pipeline_change,
        warnings,
    })
}

/// The live service when it exists and is ACTIVE. Otherwise its refusal joins `refusals` and
/// the plan is refused with all of them (nothing past this point can be checked). `fix` is the
/// planner's advice for a service that is not ACTIVE.
pub(super) fn active_service<'a>(
    inv: &'a Inventory,
    cluster: &str,
    service_name: &str,
    fix: &str,
    refusals: &mut Vec<Refusal>,
) -> Result<&'a crate::inventory::ServiceDefinition, PlanError> {
    let Some(svc) = inv.service.as_ref() else {
        refusals.push(Refusal::new(
            RefusalKind::ServiceMissing,
            format!("service {service_name} was not found in cluster {cluster}"),
            "check --cluster and --service (and AWS_REGION / the account you are using)",
        ));
        return Err(PlanError::new(std::mem::take(refusals)));
    };
    if svc.status != "ACTIVE" {
        refusals.push(Refusal::new(RefusalKind::ServiceNotActive, format!("service {service_name} is {}, not ACTIVE", svc.status), fix));
        return Err(PlanError::new(std::mem::take(refusals)));
    }
    Ok(svc)
}


pub(super) fn plan_pipeline(
    migration: &Migration,
    spec: &crate::spec::PipelineDeployStage,
    p: &PipelineInfo,
    app: &crate::spec::CodeDeployApp,
    dg: &crate::spec::DeploymentGroupSpec,
) -> Result<Change, Refusal> {
    let cluster = migration.cluster_name();
    let service = migration.service().as_str();
    let app_name = app.application_name().as_str();
    let dg_name = dg.deployment_group_name().as_str();
    let targets_service = |a: &ActionInfo| -> bool {
        match a.provider.as_str() {
            "ECS" => {
                let c = a.configuration.get("ClusterName").map(String::as_str).unwrap_or_default();
                let c = c.rsplit_once(":cluster/").map_or(c, |(_, n)| n);
                c == cluster && a.configuration.get("ServiceName").map(String::as_str) == Some(service)
            }
            "CodeDeployToECS" => {
                a.configuration.get("ApplicationName").map(String::as_str) == Some(app_name)
                    && a.configuration.get("DeploymentGroupName").map(String::as_str) == Some(dg_name)
            }
            _ => false,
        }
    };
    let mut found: Vec<(usize, &StageInfo, &ActionInfo)> = Vec::new();
    for (i, stage) in p.stages.iter().enumerate() {
        for a in &stage.actions {
            let named = spec.action_name().is_none_or(|n| n == a.name);
            if a.category == "Deploy" && named && targets_service(a) {
                found.push((i, stage, a));
            }
        }
    }
    let (idx, stage, action) = match found.as_slice() {
        [] => {
            return Err(Refusal::new(
                RefusalKind::PipelineNoDeployAction,
                format!(
                    "pipeline {} has no Deploy action{} that deploys service {service} of cluster {cluster}",
                    p.name,
                    spec.action_name().map(|n| format!(" named {n}")).unwrap_or_default()
                ),
                "name the pipeline that deploys this service, or leave --pipeline out",
            ));
        }
        [one] => *one,
        many => {
            let names: Vec<String> = many.iter().map(|(_, s, a)| format!("{}/{}", s.name, a.name)).collect();
            return Err(Refusal::new(
                RefusalKind::PipelineAmbiguous,
                format!("pipeline {} has several Deploy actions for service {service}: {}", p.name, names.join(", ")),
                "keep one Deploy action per service, or pin one with PipelineDeployStage::action_name",
            ));
        }
    };
    let produced = p.artifacts_produced_before(idx, action);
    let Some(input) = action.input_artifacts.first() else {
        return Err(Refusal::new(
            RefusalKind::PipelineInputNotProduced,
            format!("Deploy action {}/{} has no input artifact", stage.name, action.name),
            "give the Deploy action the build stage's output artifact as input",
        ));
    };
    if let Some(missing) = action.input_artifacts.iter().find(|i| !produced.contains(i)) {
        return Err(Refusal::new(
            RefusalKind::PipelineInputNotProduced,
            format!(
                "Deploy action {}/{} reads artifact {missing}, which no earlier stage of pipeline {} produces",
                stage.name, action.name, p.name
            ),
            "make the build stage output that artifact (it must carry taskdef.json, appspec.yml and imageDetail.json)",
        ));
    }
    let after = if action.provider == "CodeDeployToECS" {
        action.clone()
    } else {
        let config: BTreeMap<String, String> = [
            ("ApplicationName", app_name.to_owned()),
            ("DeploymentGroupName", dg_name.to_owned()),
            ("TaskDefinitionTemplateArtifact", input.clone()),
            ("TaskDefinitionTemplatePath", spec.task_definition_template_path().to_owned()),
            ("AppSpecTemplateArtifact", input.clone()),
            ("AppSpecTemplatePath", spec.app_spec_template_path().to_owned()),
            ("Image1ArtifactName", input.clone()),
            ("Image1ContainerName", "IMAGE1_NAME".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        ActionInfo { provider: "CodeDeployToECS".to_owned(), configuration: config, ..action.clone() }
    };
    Ok(Change {
        step: StepId::PipelineDeployAction,
        action: if action.provider == "CodeDeployToECS" { Action::NoOp } else { Action::Update },
        depends_on: vec![StepId::DeploymentGroup],
        detail: ChangeDetail::PipelineDeployAction {
            pipeline: p.name.clone(),
            stage: stage.name.clone(),
            before: action.clone(),
            after,
        },
    })
}

/// The refusal of listener `one` as the production listener, for the way its default route
/// misses the service's target groups (the rule plan and verify share).
pub(super) fn route_refusal(one: &ListenerInfo, problem: RouteProblem) -> Refusal {
    let why = match problem {
        RouteProblem::NoForward { rules } => no_forward_message(&rules),
        RouteProblem::Stray(stray) => {
            format!("its default action also forwards to {}, which is not the service's target group", stray.join(", "))
        }
    };
    Refusal::new(
        RefusalKind::NoProductionListener,
        format!("listener {} cannot be the production listener: {why}", one.arn),
        "make the listener's default action forward to the service's target group only",
    )
}

/// The test port's rules, for every target: not the production listener's port, and a listener
/// already on it is used only when it is this migration's or when the transaction does not create
/// the test listener (someone else made it for this purpose). Returns that listener.
pub(super) fn test_port_listener<'a>(
    port: crate::spec::Port,
    lb: &'a LoadBalancerInfo,
    prod: &ListenerInfo,
    id: &str,
    creates_test_listener: bool,
    refusals: &mut Vec<Refusal>,
) -> Option<&'a ListenerInfo> {
    let p = i32::from(port.get());
    if prod.port == Some(p) {
        refusals.push(Refusal::new(
            RefusalKind::TestPortIsProductionPort,
            format!("the test listener port {port} is the production listener's port"),
            "choose another --test-listener-port (8080 is common)",
        ));
        return None;
    }
    let l = lb.listeners.iter().find(|l| l.port == Some(p))?;
    if owned(&l.tags, id) || !creates_test_listener {
        return Some(l);
    }
    refusals.push(Refusal::new(
        RefusalKind::TestPortInUse,
        format!("port {port} is already used by listener {} on {}", l.arn, lb.name),
        "choose a free --test-listener-port",
    ));
    None
}
