//! The planner of the rolling target from ECS-native blue/green, in place (ECS developer guide,
//! "update-bluegreen-to-rolling"). Pure: no I/O.
//!
//! Two UpdateService calls in AWS's documented order: the deployment strategy becomes `ROLLING`
//! (no deployment; percents, circuit breaker and alarms kept; bake time and linear / canary
//! settings dropped), then the load balancer entry loses its `advancedConfiguration` (a rolling
//! deployment). The entry keeps the target group that serves production now: ECS swings the
//! production rule's weights at every blue/green deployment, so after some deployments the
//! green group is the live one. The green group, the test route and the infrastructure role
//! are kept, and the plan says so.

use super::*;
use crate::inventory::LoadBalancerEntry;

/// Plans the way back to rolling of a service on the `ECS` controller; every refusal at once.
pub(super) fn plan(migration: &Migration, inv: &Inventory, steps: &[StepId]) -> Result<Plan, PlanError> {
    let mut refusals = Vec::new();
    for s in steps.iter().filter(|s| !StepId::NATIVE_TO_ROLLING.contains(s)) {
        refusals.push(Refusal::new(
            RefusalKind::StepGraph,
            format!("{s} is not a step of the way back to rolling from ECS-native blue/green"),
            format!("name these steps only ({})", StepId::NATIVE_TO_ROLLING.iter().map(StepId::as_str).collect::<Vec<_>>().join(", ")),
        ));
    }
    let id = migration.migration_id();
    let cluster = migration.cluster_name().to_owned();
    let service_name = migration.service().as_str().to_owned();
    let svc = validate::active_service(inv, &cluster, &service_name, "move an ACTIVE service", &mut refusals)?;
    // A CODE_DEPLOY service is planned onward by `from_codedeploy`, never here.
    match svc.deployment_controller.as_str() {
        "ECS" => {}
        other => refusals.push(Refusal::new(
            RefusalKind::ExternalController,
            format!("service {service_name} uses the {other} deployment controller"),
            "move a service on the ECS controller",
        )),
    }

    let before = svc.deployment_configuration.clone();
    let strategy_now = before.as_ref().and_then(|d| d.strategy.as_deref()).unwrap_or("ROLLING");
    let strategy_done = strategy_now == "ROLLING";
    let (after, dropped) = rolling_configuration(before.as_ref());

    // The entry ECS-native blue/green shifts traffic on (none: a service without a load balancer).
    let advanced_entries: Vec<&LoadBalancerEntry> = svc.load_balancers.iter().filter(|e| e.advanced_configuration.is_some()).collect();
    let entry = match advanced_entries.as_slice() {
        [] => None,
        [one] if svc.load_balancers.len() == 1 => Some(*one),
        _ => {
            refusals.push(Refusal::new(
                RefusalKind::SeveralTargetGroups,
                format!("service {service_name} has {} load balancer entries; this migration moves one", svc.load_balancers.len()),
                "reduce the service to one load balancer entry first",
            ));
            None
        }
    };
    let identical = strategy_done && entry.is_none();
    if !identical {
        let in_flight = svc.deployments.len() > 1 || svc.deployments.iter().any(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"));
        if in_flight || !inv.unfinished_service_deployments.is_empty() {
            let listed: Vec<String> = inv.unfinished_service_deployments.iter().map(|d| format!("{} ({})", d.arn, d.status)).collect();
            refusals.push(Refusal::new(
                RefusalKind::DeploymentInFlight,
                if listed.is_empty() {
                    format!("service {service_name} has a deployment in progress; AWS does not change the strategy during one")
                } else {
                    format!("service {service_name} has a deployment in progress ({}); AWS does not change the strategy during one", listed.join(", "))
                },
                "wait until the deployment completes (aws ecs list-service-deployments shows none in progress) and plan again",
            ));
        }
    }

    // Which group serves production: the production rule's weights, as ECS's last deployment left them.
    let serving = entry.and_then(|e| serving_group(svc, e, inv, &mut refusals));
    if !refusals.is_empty() {
        return Err(PlanError::new(refusals));
    }

    let mut warnings = vec![
        "ECS lifecycle hooks, if the service has any, stay in its deployment configuration: rolling deployments do not run them".to_owned(),
    ];
    let strategy_change = Change {
        step: StepId::RollingStrategy,
        action: if strategy_done { Action::NoOp } else { Action::Update },
        depends_on: vec![],
        detail: ChangeDetail::RollingStrategy { cluster: cluster.clone(), service: svc.name.clone(), before, after, dropped },
    };
    let load_balancer = match (entry, serving) {
        (Some(entry), Some(serving)) => {
            let kept = kept_resources(entry, &serving, inv);
            for k in &kept {
                warnings.push(format!("{} is kept: {}", k.field, k.reason));
            }
            if serving.arn != entry.target_group_arn.clone().unwrap_or_default() {
                warnings.push(format!(
                    "production traffic is on {} (ECS's last blue/green deployment moved it there): the service keeps that target group, and rolling deployments register tasks in it",
                    serving.name
                ));
            }
            let advanced = entry.advanced_configuration.clone().unwrap_or_default();
            let idle = [entry.target_group_arn.clone(), advanced.alternate_target_group_arn.clone()].into_iter().flatten().find(|a| *a != serving.arn);
            Change {
                step: StepId::RollingLoadBalancer,
                action: Action::Update,
                depends_on: vec![StepId::RollingStrategy],
                detail: ChangeDetail::RollingLoadBalancer(Box::new(RollingLoadBalancerValues {
                    cluster: cluster.clone(),
                    service: svc.name.clone(),
                    before: svc.load_balancers.clone(),
                    after: LoadBalancerEntry { target_group_arn: Some(serving.arn.clone()), advanced_configuration: None, ..entry.clone() },
                    serving_name: serving.name.clone(),
                    idle_target_group: idle,
                    production_listener_rule: advanced.production_listener_rule,
                    kept,
                })),
            }
        }
        _ => Change {
            step: StepId::RollingLoadBalancer,
            action: Action::NoOp,
            depends_on: vec![StepId::RollingStrategy],
            detail: ChangeDetail::RollingLoadBalancer(Box::new(RollingLoadBalancerValues {
                cluster: cluster.clone(),
                service: svc.name.clone(),
                before: svc.load_balancers.clone(),
                after: svc.single_load_balancer().cloned().unwrap_or(LoadBalancerEntry {
                    target_group_arn: None,
                    load_balancer_name: None,
                    container_name: None,
                    container_port: None,
                    advanced_configuration: None,
                }),
                serving_name: inv.blue_target_group.as_ref().map(|b| b.name.clone()).unwrap_or_default(),
                idle_target_group: None,
                production_listener_rule: None,
                kept: Vec::new(),
            })),
        },
    };
    if migration.pipeline().is_some() {
        warnings.push("the pipeline's ECS deploy action is kept unchanged: each deployment it starts is a rolling deployment".to_owned());
    }

    let mut changes = vec![strategy_change, load_balancer];
    changes.retain(|c| steps.contains(&c.step));
    for c in &mut changes {
        c.depends_on.retain(|d| steps.contains(d));
    }
    Ok(Plan {
        migration_id: id,
        cluster,
        service: service_name,
        account_id: inv.account_id.clone(),
        already_migrated: identical,
        changes,
        warnings,
        notes: Vec::new(),
        migration: Some(Box::new(migration.clone())),
        built_in_steps: StepId::NATIVE_TO_ROLLING.iter().filter(|s| steps.contains(s)).cloned().collect(),
        target: Target::Rolling,
        pipeline_role_arn: super::pipeline_role_arn(inv),
    })
}

/// The service's deployment configuration with strategy `ROLLING`: percents, circuit breaker and
/// alarms kept; what only the blue/green strategies use dropped (and listed).
fn rolling_configuration(now: Option<&DeploymentConfigurationDef>) -> (DeploymentConfigurationDef, Vec<DroppedSetting>) {
    let mut c = now.cloned().unwrap_or_default();
    let mut dropped = Vec::new();
    let mut drop = |present: bool, field: &str| {
        if present {
            dropped.push(DroppedSetting { field: format!("deploymentConfiguration.{field}"), reason: "used by ECS-native blue/green only".into() });
        }
    };
    drop(c.bake_time_in_minutes.is_some(), "bakeTimeInMinutes");
    drop(c.linear.is_some(), "linearConfiguration");
    drop(c.canary.is_some(), "canaryConfiguration");
    c.strategy = Some("ROLLING".to_owned());
    c.bake_time_in_minutes = None;
    c.linear = None;
    c.canary = None;
    (c, dropped)
}

/// The target group that serves production: of the entry's pair, the one the production rule
/// (ALB: a listener's default rule; NLB: the listener) sends traffic to, the other at weight 0.
fn serving_group(svc: &ServiceDefinition, entry: &LoadBalancerEntry, inv: &Inventory, refusals: &mut Vec<Refusal>) -> Option<TargetGroupInfo> {
    let advanced = entry.advanced_configuration.as_ref()?;
    let (Some(blue), Some(lb)) = (inv.blue_target_group.as_ref(), inv.load_balancer.as_ref()) else {
        refusals.push(Refusal::new(
            RefusalKind::TargetGroupMissing,
            format!("the service's target group {} is missing or not attached to a load balancer", entry.target_group_arn.as_deref().unwrap_or_default()),
            "check the service's load balancer entry",
        ));
        return None;
    };
    let Some(green) = inv.existing.green_target_group.as_ref().filter(|g| Some(&g.arn) == advanced.alternate_target_group_arn.as_ref()) else {
        refusals.push(Refusal::new(
            RefusalKind::TargetGroupMissing,
            format!("the alternate target group {} of service {} was not found", advanced.alternate_target_group_arn.as_deref().unwrap_or("(none)"), svc.name),
            "check the service's advancedConfiguration",
        ));
        return None;
    };
    let rule = advanced.production_listener_rule.clone().unwrap_or_default();
    let Some(listener) = lb.listeners.iter().find(|l| l.arn == rule || l.default_rule_arn.as_deref() == Some(rule.as_str())) else {
        refusals.push(Refusal::new(
            RefusalKind::NoProductionListener,
            format!("the production listener rule {rule} is neither a listener nor a listener's default rule of {}; this version reads the weights of those only", lb.name),
            "point productionListenerRule at the production listener's default rule (ALB) or the listener (NLB)",
        ));
        return None;
    };
    let weight = |arn: &str| listener.default_forward.iter().find(|t| t.target_group_arn == arn).map_or(0, |t| t.weight);
    match (weight(&blue.arn) > 0, weight(&green.arn) > 0) {
        (true, false) => Some(blue.clone()),
        (false, true) => Some(green.clone()),
        (both, _) => {
            refusals.push(Refusal::new(
                RefusalKind::DeploymentInFlight,
                if both {
                    format!("the production rule {rule} splits traffic between {} and {}: a deployment is shifting it", blue.name, green.name)
                } else {
                    format!("the production rule {rule} sends no traffic to {} or {}", blue.name, green.name)
                },
                "wait until the deployment completes (all traffic on one group) and plan again",
            ));
            None
        }
    }
}

/// What the way back leaves in place, with why: the idle group, the test route, the role.
fn kept_resources(entry: &LoadBalancerEntry, serving: &TargetGroupInfo, inv: &Inventory) -> Vec<DroppedSetting> {
    let mut kept = Vec::new();
    let advanced = entry.advanced_configuration.clone().unwrap_or_default();
    let idle = [inv.blue_target_group.as_ref(), inv.existing.green_target_group.as_ref()].into_iter().flatten().find(|t| t.arn != serving.arn);
    if let Some(idle) = idle {
        kept.push(DroppedSetting {
            field: format!("target group {}", idle.name),
            reason: "no longer used by the service; still on the listener rules at weight 0 or on the test listener (delete both yourself if nothing else uses them)".into(),
        });
    }
    if let Some(test) = &advanced.test_listener_rule {
        kept.push(DroppedSetting { field: format!("test listener rule {test}"), reason: "no longer used by the service".into() });
    }
    if let Some(role) = &advanced.role_arn {
        kept.push(DroppedSetting { field: format!("infrastructure role {role}"), reason: "no longer used by the service".into() });
    }
    kept
}
