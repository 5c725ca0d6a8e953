//! The planner of the ECS-native target: rolling → ECS-native blue/green, in place (ECS
//! developer guide, "update-rolling-to-bluegreen"). Pure: no I/O.
//!
//! No service is recreated, no CodeDeploy resource is made and the pipeline's `ECS` action
//! stays as it is. The steps: the green target group (the clone step), the test route (a test
//! listener, or green at weight 0 beside blue on the production forward: ECS requires both
//! groups on the production or test rule), the ECS infrastructure role, then two UpdateService
//! calls in AWS's documented order: the load balancer entry's `advancedConfiguration` (a
//! rolling deployment that must finish), then the strategy.

use super::changes::{RouteInputs, green_clone, route};
use super::*;
use crate::inventory::{AdvancedConfigurationDef, LoadBalancerEntry, TrafficShiftDef};
use crate::spec::{NativeStrategy, RoleName};

/// Action types that make an ECS-native deployment fail when they share a rule with the forward.
pub(crate) const MIXED_ACTION_TYPES: [&str; 4] = ["redirect", "fixed-response", "authenticate-oidc", "authenticate-cognito"];

/// Plans the ECS-native migration's built-in `steps`; every refusal at once.
pub(super) fn plan(migration: &Migration, inv: &Inventory, steps: &[StepId]) -> Result<Plan, PlanError> {
    let has = |id: StepId| steps.contains(&id);
    let mut refusals = Vec::new();
    let mut warnings = Vec::new();
    for s in steps.iter().filter(|s| !StepId::NATIVE.contains(s)) {
        refusals.push(Refusal::new(
            RefusalKind::StepGraph,
            format!("{s} is not a step of the ECS-native target"),
            format!("name the ECS-native steps only ({})", StepId::NATIVE.iter().map(StepId::as_str).collect::<Vec<_>>().join(", ")),
        ));
    }
    let id = migration.migration_id();
    let cluster = migration.cluster_name().to_owned();
    let service_name = migration.service().as_str().to_owned();
    let native = migration.native();
    let strategy = native.strategy();
    if let Err(e) = strategy.validate() {
        refusals.push(Refusal::new(
            RefusalKind::InvalidNativeStrategy,
            format!("the {} {:?} {}", e.what(), e.value(), e.reason()),
            "give a value in the documented range (linear step 3–100 %, canary 0.1–100 %, bake times 0–1440 minutes)",
        ));
    }
    if id.chars().count() > MAX_TAG_VALUE {
        refusals.push(Refusal::new(
            RefusalKind::InvalidName,
            format!("the migration id is {} characters long; AWS tag values hold at most {MAX_TAG_VALUE}", id.chars().count()),
            "set a shorter migration id",
        ));
    }

    let svc = validate::active_service(inv, &cluster, &service_name, "migrate an ACTIVE service", &mut refusals)?;
    // A CODE_DEPLOY service is planned onward by `from_codedeploy`, never here.
    match svc.deployment_controller.as_str() {
        "ECS" => {}
        other => refusals.push(Refusal::new(
            RefusalKind::ExternalController,
            format!("service {service_name} uses the {other} deployment controller"),
            "migrate a service on the ECS (rolling update) controller",
        )),
    }

    let current_strategy = svc.deployment_configuration.as_ref().and_then(|d| d.strategy.as_deref()).unwrap_or("ROLLING");
    // Neither strategy nor bake time asked for: a service on a native strategy already keeps
    // its settings (those an onward migration mapped from CodeDeploy), so the same command
    // again plans nothing.
    let unasked = native.strategy_given().is_none() && native.bake_time_given().is_none();
    let kept = svc.deployment_configuration.as_ref().filter(|_| unasked && current_strategy != "ROLLING");
    let wanted = kept.cloned().unwrap_or_else(|| wanted_configuration(svc.deployment_configuration.as_ref(), strategy, native.bake_time().get()));
    let strategy_done =
        kept.is_some() || (current_strategy == strategy.as_str() && same_strategy(svc.deployment_configuration.as_ref(), &wanted));
    if current_strategy != "ROLLING" && !strategy_done {
        refusals.push(Refusal::new(
            RefusalKind::EcsNativeStrategy,
            format!("service {service_name} already uses the ECS-native {current_strategy} strategy with other settings than asked for"),
            "nothing to migrate; change the strategy with UpdateService, or ask for the settings it has",
        ));
    }

    let entry = match svc.load_balancers.as_slice() {
        [] => {
            refusals.push(Refusal::new(
                RefusalKind::NoLoadBalancer,
                format!("service {service_name} has no load balancer; blue/green shifts traffic between two target groups"),
                "put the service behind an Application or Network Load Balancer first",
            ));
            None
        }
        [one] if one.target_group_arn.is_none() => {
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
                format!("service {service_name} has {} load balancer entries; this migration moves one", many.len()),
                "reduce the service to one load balancer entry first",
            ));
            None
        }
    };
    let identical = strategy_done && entry.is_some_and(|e| e.advanced_configuration.is_some());
    if !identical {
        let in_flight = svc.deployments.len() > 1 || svc.deployments.iter().any(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS"));
        if in_flight {
            refusals.push(Refusal::new(
                RefusalKind::DeploymentInFlight,
                format!("service {service_name} has a deployment in progress"),
                "wait until the deployment completes (aws ecs wait services-stable) and plan again",
            ));
        }
    }

    let (blue, lb) = (inv.blue_target_group.as_ref(), inv.load_balancer.as_ref());
    if entry.is_some() && (blue.is_none() || lb.is_none()) {
        refusals.push(Refusal::new(
            RefusalKind::TargetGroupMissing,
            format!("the service's target group {} is missing or not attached to a load balancer", entry.and_then(|e| e.target_group_arn.as_deref()).unwrap_or_default()),
            "attach the target group to a listener of an Application or Network Load Balancer",
        ));
    }
    let network = lb.is_some_and(|l| l.r#type == "network");
    if network {
        warnings.push(
            "the load balancer is a Network Load Balancer: ECS-native deployments there add fixed 10-minute waits at some lifecycle stages (test and production traffic shifts), so each deployment takes at least that much longer".to_owned(),
        );
    }

    let green_spec = match blue.map(|b| migration.target_group_pair(&b.name)) {
        Some(Ok(g)) => Some(g),
        Some(Err(e)) => {
            refusals.push(invalid_name(e));
            None
        }
        None => None,
    };
    let green_existing = inv.existing.green_target_group.as_ref();
    if let Some(g) = green_existing.filter(|g| !owned(&g.tags, &id) && has(StepId::GreenTargetGroup) && !identical) {
        refusals.push(Refusal::new(
            RefusalKind::NotOwned,
            format!("target group {} already exists and was not created by this migration (no tag {OWNERSHIP_TAG}={id})", g.name),
            "choose another green target group name (TargetGroupPair override)",
        ));
    }
    if let (Some(b), Some(g)) = (blue, &green_spec)
        && g.green_name().as_str() == b.name
    {
        refusals.push(Refusal::new(RefusalKind::InvalidName, format!("the green target group name {} is the blue group's name", b.name), "choose another green target group name"));
    }

    // The production listener: the one whose default action forwards to the service's group.
    let prod = match (lb, blue) {
        (Some(lb), Some(blue)) => {
            let candidates: Vec<&ListenerInfo> =
                lb.listeners.iter().filter(|l| l.default_forward.iter().any(|t| t.target_group_arn == blue.arn)).collect();
            match candidates.as_slice() {
                [one] => {
                    let groups: Vec<&str> = std::iter::once(blue.arn.as_str()).chain(green_existing.map(|g| g.arn.as_str())).collect();
                    let mixed: Vec<&str> =
                        one.default_actions.iter().map(|a| a.r#type.as_str()).filter(|t| MIXED_ACTION_TYPES.contains(t)).collect();
                    if !mixed.is_empty() {
                        refusals.push(Refusal::new(
                            RefusalKind::NativeMixedActions,
                            format!(
                                "the default actions of production listener {} mix the forward with {}; ECS-native blue/green deployments fail on such a rule",
                                one.arn,
                                mixed.join(", ")
                            ),
                            "move the authentication, redirect or fixed response to other rules or listeners, or use the CodeDeploy target (--target codedeploy), which keeps them",
                        ));
                        None
                    } else if let Err(problem) = one.default_route(&groups) {
                        refusals.push(super::validate::route_refusal(one, problem));
                        None
                    } else if !network && one.default_rule_arn.is_none() {
                        refusals.push(Refusal::new(
                            RefusalKind::NoProductionListener,
                            format!("DescribeRules reported no default rule for listener {}; ECS-native blue/green names it", one.arn),
                            "check the elasticloadbalancing:DescribeRules permission",
                        ));
                        None
                    } else {
                        Some(*one)
                    }
                }
                _ => {
                    refusals.push(Refusal::new(
                        RefusalKind::NoProductionListener,
                        format!("{} listeners of {} forward to {} by their default action; ECS-native blue/green needs exactly one production listener", candidates.len(), lb.name, blue.name),
                        "keep one listener whose default action forwards to the service's target group",
                    ));
                    None
                }
            }
        }
        _ => None,
    };

    let existing_test_listener = match (migration.test_listener_port(), lb, prod) {
        (Some(port), Some(lb), Some(prod)) => {
            super::validate::test_port_listener(port, lb, prod, &id, has(StepId::TestListener), &mut refusals)
        }
        _ => None,
    };

    // The infrastructure role: the one given, or one this migration creates.
    let role_name = match migration.infrastructure_role_name() {
        Ok(n) => Some(n),
        Err(e) => {
            refusals.push(invalid_name(e));
            None
        }
    };
    let given_role = native.infrastructure_role_arn().cloned();
    if given_role.is_none()
        && has(StepId::InfrastructureRole)
        && !identical
        && let Some(r) = inv.existing.role.as_ref().filter(|r| !owned(&r.tags, &id))
    {
        refusals.push(Refusal::new(
            RefusalKind::NotOwned,
            format!("IAM role {} already exists and was not created by this migration (no tag {OWNERSHIP_TAG}={id})", r.name),
            "use it as it is with --infrastructure-role-arn, or name another role",
        ));
    }
    if !refusals.is_empty() {
        return Err(PlanError::new(refusals));
    }
    let (Some(entry), Some(blue), Some(lb), Some(prod), Some(green_spec), Some(role_name)) = (entry, blue, lb, prod, green_spec, role_name)
    else {
        unreachable!("missing inputs are refused above")
    };

    let ownership: Tags = [(OWNERSHIP_TAG.to_owned(), id.clone())].into();
    let green = green_clone(inv, blue, &green_spec, &ownership);
    let (test_route, test_listener_arn) = route(&RouteInputs {
        migration,
        inv,
        identical,
        lb,
        prod,
        existing_test_listener,
        green_spec: &green_spec,
        ownership: &ownership,
    });
    let role = infrastructure_role(inv, &role_name, given_role.as_ref(), identical, &ownership, entry);
    let role_arn = match &role.detail {
        ChangeDetail::ServiceRole { arn, .. } => arn.clone(),
        _ => unreachable!("built above"),
    };

    // The rules ECS shifts traffic on: ALB rule ARNs, NLB listener ARNs.
    let rule_of = |l: &ListenerInfo| if network { l.arn.clone() } else { l.default_rule_arn.clone().unwrap_or_default() };
    let test_rule = match (migration.test_listener_port(), existing_test_listener) {
        (None, _) => None,
        (Some(_), Some(l)) if network || l.default_rule_arn.is_some() => Some(rule_of(l)),
        (Some(_), _) => Some(KNOWN_AFTER_APPLY.to_owned()),
    };
    let advanced = AdvancedConfigurationDef {
        alternate_target_group_arn: Some(green_existing.map_or_else(|| KNOWN_AFTER_APPLY.to_owned(), |g| g.arn.clone())),
        production_listener_rule: Some(rule_of(prod)),
        test_listener_rule: test_rule,
        role_arn: Some(role_arn),
    };
    let after = LoadBalancerEntry { advanced_configuration: Some(advanced), ..entry.clone() };
    let _ = test_listener_arn;
    let load_balancer = Change {
        step: StepId::NativeLoadBalancer,
        action: if entry.advanced_configuration.is_some() { Action::NoOp } else { Action::Update },
        depends_on: vec![StepId::GreenTargetGroup, StepId::TestListener, StepId::InfrastructureRole],
        detail: ChangeDetail::NativeLoadBalancer(Box::new(NativeLoadBalancerValues {
            cluster: cluster.clone(),
            service: svc.name.clone(),
            before: svc.load_balancers.clone(),
            after,
            green_name: green_spec.green_name().as_str().to_owned(),
            load_balancer_arn: lb.arn.clone(),
            network,
            test_listener_port: migration.test_listener_port().map(|p| p.get()),
            production_listener_arn: prod.arn.clone(),
            production_actions: prod.default_actions.clone(),
        })),
    };

    let kept = kept_settings(svc, migration);
    for k in &kept {
        warnings.push(format!("{} is kept: {}", k.field, k.reason));
    }
    let strategy_change = Change {
        step: StepId::NativeStrategy,
        action: if strategy_done { Action::NoOp } else { Action::Update },
        depends_on: vec![StepId::NativeLoadBalancer],
        detail: ChangeDetail::NativeStrategy {
            cluster: cluster.clone(),
            service: svc.name.clone(),
            before: svc.deployment_configuration.clone(),
            after: wanted,
            kept,
        },
    };

    let mut changes = vec![green, test_route, role, load_balancer, strategy_change];
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
        built_in_steps: StepId::NATIVE.iter().filter(|s| steps.contains(s)).cloned().collect(),
        target: Target::EcsNative,
        pipeline_role_arn: super::pipeline_role_arn(inv),
    })
}

/// The service's deployment configuration with the native strategy: every other member
/// (percents, circuit breaker, alarms) kept as it is.
pub(crate) fn wanted_configuration(now: Option<&DeploymentConfigurationDef>, strategy: NativeStrategy, bake: u32) -> DeploymentConfigurationDef {
    let mut c = now.cloned().unwrap_or_default();
    c.strategy = Some(strategy.as_str().to_owned());
    c.bake_time_in_minutes = Some(i32::try_from(bake).unwrap_or(i32::MAX));
    c.linear = None;
    c.canary = None;
    let minutes = |b: crate::spec::BakeTime| Some(i32::try_from(b.get()).unwrap_or(i32::MAX));
    match strategy {
        NativeStrategy::Linear { step_percent, step_bake_time } => {
            c.linear = Some(TrafficShiftDef { percent: Some(step_percent), bake_time_in_minutes: minutes(step_bake_time) })
        }
        NativeStrategy::Canary { canary_percent, canary_bake_time } => {
            c.canary = Some(TrafficShiftDef { percent: Some(canary_percent), bake_time_in_minutes: minutes(canary_bake_time) })
        }
        _ => {}
    }
    c
}

/// Whether the live configuration already has the wanted strategy settings.
fn same_strategy(now: Option<&DeploymentConfigurationDef>, wanted: &DeploymentConfigurationDef) -> bool {
    now.is_some_and(|n| {
        n.strategy == wanted.strategy
            && n.bake_time_in_minutes == wanted.bake_time_in_minutes
            && (wanted.linear.is_none() || n.linear == wanted.linear)
            && (wanted.canary.is_none() || n.canary == wanted.canary)
    })
}

/// The infrastructure role: adopted when given, else created (or found, ours) under its name.
pub(super) fn infrastructure_role(
    inv: &Inventory,
    name: &RoleName,
    given: Option<&crate::spec::RoleArn>,
    identical: bool,
    ownership: &Tags,
    entry: &LoadBalancerEntry,
) -> Change {
    let in_use = entry.advanced_configuration.as_ref().and_then(|a| a.role_arn.clone()).filter(|_| identical);
    let (arn, action, adopted) = match (given, &inv.existing.role) {
        (Some(arn), _) => (arn.as_str().to_owned(), Action::NoOp, true),
        (None, existing) if in_use.is_some() && existing.as_ref().is_none_or(|r| Some(&r.arn) != in_use.as_ref()) => {
            (in_use.clone().unwrap_or_default(), Action::NoOp, true)
        }
        (None, Some(r)) => (r.arn.clone(), Action::NoOp, false),
        (None, None) => (KNOWN_AFTER_APPLY.to_owned(), Action::Create, false),
    };
    let partition = inv.region.as_deref().map_or("aws", crate::inventory::partition_of_region);
    Change {
        step: StepId::InfrastructureRole,
        action,
        depends_on: vec![],
        detail: ChangeDetail::ServiceRole {
            name: if adopted { arn.rsplit('/').next().unwrap_or_default().to_owned() } else { name.as_str().to_owned() },
            arn,
            adopted,
            trust_policy: ecs_infrastructure_trust_policy(),
            managed_policy_arn: crate::spec::INFRASTRUCTURE_POLICY_ARN.replacen("arn:aws:", &format!("arn:{partition}:"), 1),
            tags: ownership.clone(),
        },
    }
}

/// What the ECS-native target keeps that the CodeDeploy target drops or refuses.
fn kept_settings(svc: &ServiceDefinition, migration: &Migration) -> Vec<DroppedSetting> {
    let mut kept = Vec::new();
    let dc = svc.deployment_configuration.as_ref();
    if dc.is_some_and(|d| d.circuit_breaker.is_some()) {
        kept.push(DroppedSetting {
            field: "deploymentConfiguration.deploymentCircuitBreaker".into(),
            reason: "the ECS controller stays, and with it the circuit breaker".into(),
        });
    }
    if dc.is_some_and(|d| d.alarms.is_some()) {
        kept.push(DroppedSetting {
            field: "deploymentConfiguration.alarms".into(),
            reason: "ECS-native deployments roll back on these alarms".into(),
        });
    }
    if svc.deployments.iter().any(|d| d.volume_configurations > 0) {
        kept.push(DroppedSetting { field: "volumeConfigurations".into(), reason: "ECS-native blue/green supports EBS volumes attached at deployment".into() });
    }
    if svc.deployments.iter().any(|d| d.service_connect) {
        kept.push(DroppedSetting { field: "serviceConnectConfiguration".into(), reason: "ECS-native blue/green supports Service Connect".into() });
    }
    if svc.deployments.iter().any(|d| d.vpc_lattice) {
        kept.push(DroppedSetting { field: "vpcLatticeConfigurations".into(), reason: "ECS-native blue/green supports VPC Lattice".into() });
    }
    if let Some(p) = migration.pipeline() {
        kept.push(DroppedSetting {
            field: format!("pipeline {}", p.pipeline_name()),
            reason: "its ECS deploy action is kept unchanged: each deployment it starts is an ECS-native blue/green deployment".into(),
        });
    }
    kept
}
