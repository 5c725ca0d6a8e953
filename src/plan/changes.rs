//! One builder per built-in change, from the validated [`Basis`]. Pure: no I/O.

use super::validate::Basis;
use super::*;

/// The partition of the account the inventory was read from (`aws` when the region is unknown).
fn partition(inv: &Inventory) -> &'static str {
    inv.region.as_deref().map_or("aws", crate::inventory::partition_of_region)
}

/// The green target group: a clone of the blue one but for name, ARN and tags.
pub(super) fn green_target_group(b: &Basis<'_>) -> Change {
    green_clone(b.inv, b.blue, &b.green_spec, &b.ownership)
}

/// The green target group cloned from `blue` (shared by every target's planner).
pub(super) fn green_clone(inv: &Inventory, blue: &TargetGroupInfo, green_spec: &crate::spec::TargetGroupPair, ownership: &Tags) -> Change {
    let green_existing = inv.existing.green_target_group.as_ref();
    let mut green = blue.clone();
    green.name = green_spec.green_name().as_str().to_owned();
    green.arn = green_existing.map_or_else(|| KNOWN_AFTER_APPLY.to_owned(), |g| g.arn.clone());
    green.load_balancer_arns = Vec::new();
    if !green_spec.copy_attributes() {
        green.attributes.clear();
    }
    // Keys reserved for AWS (`aws:...`) cannot be set by a request: left out (the plan warns).
    let mut tags = if green_spec.copy_tags() { crate::inventory::copyable_tags(&blue.tags) } else { Tags::new() };
    tags.extend(ownership.clone());
    green.tags = tags;
    Change {
        step: StepId::GreenTargetGroup,
        action: if green_existing.is_some() { Action::NoOp } else { Action::Create },
        depends_on: vec![],
        detail: ChangeDetail::GreenTargetGroup { settings: green, blue_name: blue.name.clone() },
    }
}

/// The test route, and the test listener's ARN (none when the green group joins the
/// production listener at weight 0).
pub(super) fn test_route(b: &Basis<'_>) -> (Change, Option<String>) {
    let Basis { migration, inv, identical, lb, prod, existing_test_listener, ref green_spec, ref ownership, .. } = *b;
    route(&RouteInputs { migration, inv, identical, lb, prod, existing_test_listener, green_spec, ownership })
}

/// What the test route is planned from (shared by every target's planner).
pub(super) struct RouteInputs<'a> {
    pub migration: &'a Migration,
    pub inv: &'a Inventory,
    /// Already migrated: the route is in place.
    pub identical: bool,
    pub lb: &'a LoadBalancerInfo,
    pub prod: &'a ListenerInfo,
    pub existing_test_listener: Option<&'a ListenerInfo>,
    pub green_spec: &'a crate::spec::TargetGroupPair,
    pub ownership: &'a Tags,
}

/// The test route, and the test listener's ARN.
pub(super) fn route(r: &RouteInputs<'_>) -> (Change, Option<String>) {
    let RouteInputs { migration, inv, identical, lb, prod, existing_test_listener, green_spec, ownership } = *r;
    let green_existing = inv.existing.green_target_group.as_ref();
    let (route, test_action) = match migration.test_listener_port() {
        Some(port) => {
            // Same protocol and certificate as production (gRPC/HTTP2 groups take HTTPS only);
            // without a known certificate, the plain protocol as before.
            let tls = prod.tls.clone().filter(|t| t.certificate_arn.is_some());
            let protocol = match prod.protocol.as_deref() {
                Some(p @ ("HTTPS" | "TLS")) if tls.is_some() => p,
                Some("HTTP" | "HTTPS") | None => "HTTP",
                Some("TLS") => "TCP",
                Some(other) => other,
            };
            let tls = tls.filter(|_| matches!(protocol, "HTTPS" | "TLS"));
            let arn = existing_test_listener.map_or_else(|| KNOWN_AFTER_APPLY.to_owned(), |l| l.arn.clone());
            (
                TestRoute::Listener {
                    port: port.get(),
                    protocol: protocol.to_owned(),
                    arn,
                    target_group: green_spec.green_name().as_str().to_owned(),
                    tls,
                },
                if existing_test_listener.is_some() { Action::NoOp } else { Action::Create },
            )
        }
        None => {
            let attached = green_existing
                .is_some_and(|g| prod.default_forward.iter().any(|t| t.target_group_arn == g.arn));
            (
                TestRoute::ProductionWeightZero {
                    listener_arn: prod.arn.clone(),
                    before: prod.default_forward.clone(),
                    actions: prod.default_actions.clone(),
                },
                if attached || identical { Action::NoOp } else { Action::Update },
            )
        }
    };
    let test_listener_arn = match &route {
        TestRoute::Listener { arn, .. } => Some(arn.clone()),
        TestRoute::ProductionWeightZero { .. } => None,
    };
    let change = Change {
        step: StepId::TestListener,
        action: test_action,
        depends_on: vec![StepId::GreenTargetGroup],
        detail: ChangeDetail::TestListener {
            load_balancer_arn: lb.arn.clone(),
            route,
            tags: ownership.clone(),
            green_arn: green_existing.map(|g| g.arn.clone()),
        },
    };
    (change, test_listener_arn)
}

/// The CodeDeploy service role (created or adopted), and its ARN.
pub(super) fn service_role(b: &Basis<'_>, warnings: &mut Vec<String>) -> (Change, String) {
    let Basis { inv, identical, dg_existing, ref role_spec, ref ownership, .. } = *b;
    let dg_role = dg_existing.filter(|_| identical).and_then(|d| d.service_role_arn.clone());
    let (role_arn, role_action, adopted) = match (role_spec.existing_role_arn(), &inv.existing.role) {
        (Some(arn), _) => (arn.as_str().to_owned(), Action::NoOp, true),
        // Already migrated: the deployment group's role is the one in use, whoever made it.
        (None, existing) if dg_role.is_some() && existing.as_ref().is_none_or(|r| Some(&r.arn) != dg_role.as_ref()) => {
            (dg_role.clone().unwrap_or_default(), Action::NoOp, true)
        }
        (None, Some(r)) => (r.arn.clone(), Action::NoOp, false),
        (None, None) => (KNOWN_AFTER_APPLY.to_owned(), Action::Create, false),
    };
    if inv.account_id.is_none() && !adopted {
        warnings.push("the account id is unknown, so the role's trust policy is not scoped with aws:SourceAccount".to_owned());
    }
    let change = Change {
        step: StepId::ServiceRole,
        action: role_action,
        depends_on: vec![],
        detail: ChangeDetail::ServiceRole {
            name: if adopted {
                role_arn.rsplit('/').next().unwrap_or_default().to_owned()
            } else {
                role_spec.role_name().as_str().to_owned()
            },
            arn: role_arn.clone(),
            adopted,
            trust_policy: codedeploy_trust_policy(inv.account_id.as_deref()),
            managed_policy_arn: role_spec.managed_policy().arn_in(partition(inv)),
            tags: ownership.clone(),
        },
    };
    (change, role_arn)
}

/// The CodeDeploy application.
pub(super) fn application(b: &Basis<'_>) -> Change {
    let Basis { inv, ref app_spec, ref ownership, .. } = *b;
    Change {
        step: StepId::Application,
        action: if inv.existing.application.is_some() { Action::NoOp } else { Action::Create },
        depends_on: vec![],
        detail: ChangeDetail::Application { name: app_spec.application_name().as_str().to_owned(), tags: ownership.clone() },
    }
}

/// The service cutover to `CODE_DEPLOY` (CodeDeploy refuses a deployment group for a service
/// that is not on it yet), and the service's final name.
pub(super) fn service_cutover(b: &Basis<'_>, warnings: &mut Vec<String>) -> (Change, String) {
    let Basis { migration, svc, identical, blue, ref service_name, .. } = *b;
    let mut to = svc.clone();
    let mut dropped = Vec::new();
    to.deployment_controller = "CODE_DEPLOY".to_owned();
    to.deployments.clear();
    to.task_set_count = 0;
    to.running_count = 0;
    to.arn = None;
    // The scaling is registered by its own step once the final service exists.
    to.scaling = None;
    if let Some(dc) = &mut to.deployment_configuration {
        if dc.circuit_breaker.take().is_some() {
            dropped.push(DroppedSetting {
                field: "deploymentConfiguration.deploymentCircuitBreaker".into(),
                reason: "the circuit breaker works only with the ECS controller; CodeDeploy's auto-rollback replaces it".into(),
            });
        }
        if let Some(alarms) = dc.alarms.take() {
            dropped.push(DroppedSetting {
                field: "deploymentConfiguration.alarms".into(),
                reason: format!(
                    "alarm-based rollback works only with the ECS controller; add {:?} to the deployment group's alarms instead",
                    alarms.alarm_names
                ),
            });
        }
        dc.strategy = None;
        dc.bake_time_in_minutes = None;
    }
    if svc.deployment_configuration.is_none() && !identical {
        warnings.push(
            "DescribeServices reported no deploymentConfiguration; the recreated service gets AWS's defaults".to_owned(),
        );
    }
    for d in &dropped {
        warnings.push(format!("{} is dropped: {}", d.field, d.reason));
    }
    let strategy = migration.cutover().clone();
    let bridge_name = match &strategy {
        ServiceCutover::Parallel { new_name } => {
            to.name = new_name.as_str().to_owned();
            warnings.push(format!(
                "the service is renamed to {new_name}: anything keyed by the service name (auto scaling targets, alarms, dashboards) must follow"
            ));
            None
        }
        ServiceCutover::ParallelKeepName => Some(crate::spec::bridge_service_name(service_name)),
        _ => None,
    };
    match &strategy {
        ServiceCutover::Recreate => warnings.push(format!(
            "cutover 'recreate' deletes service {service_name} and creates it again: traffic is NOT served until the new tasks are healthy"
        )),
        _ => warnings.push(
            "parallel cutover: two services register tasks into the same target group for a while (ECS allows it); try it in a non-production account first".to_owned(),
        ),
    }
    let final_service = to.name.clone();
    let change = Change {
        step: StepId::ServiceCutover,
        action: if identical { Action::NoOp } else { Action::Replace },
        // The role and application first: cheap calls that fail early (permissions, names)
        // before the service is recreated, which is slow to undo.
        depends_on: vec![StepId::GreenTargetGroup, StepId::TestListener, StepId::ServiceRole, StepId::Application],
        detail: ChangeDetail::ServiceCutover {
            strategy,
            from: Box::new(svc.clone()),
            to: Box::new(to),
            bridge_name,
            dropped,
            drain_deadline_secs: Some(drain_deadline(migration, blue).as_secs()),
        },
    };
    (change, final_service)
}

/// How long a deleted service may take to become INACTIVE: the migration's drain timeout, else
/// the deregistration delay of the blue target group (which the bridge and the final service
/// share) plus a margin.
fn drain_deadline(migration: &Migration, blue: &TargetGroupInfo) -> std::time::Duration {
    if let Some(d) = migration.drain_timeout() {
        return d.duration();
    }
    let delay = blue
        .attributes
        .get("deregistration_delay.timeout_seconds")
        .and_then(|v| v.parse().ok())
        .map_or(crate::wait::DEFAULT_DEREGISTRATION_DELAY, std::time::Duration::from_secs);
    crate::wait::drain_deadline(delay)
}

/// The blue/green deployment group.
pub(super) fn deployment_group(b: &Basis<'_>, role_arn: String, test_listener_arn: Option<String>, final_service: String) -> Change {
    let Basis { dg_existing, blue, prod, ref cluster, ref app_spec, ref dg_spec, ref green_spec, ref deployment_config, ref ownership, .. } = *b;
    let mut rollback_events = dg_spec.auto_rollback_events().to_vec();
    if !dg_spec.alarms().is_empty() && !rollback_events.contains(&AutoRollbackEvent::DeploymentStopOnAlarm) {
        rollback_events.push(AutoRollbackEvent::DeploymentStopOnAlarm);
    }
    rollback_events.sort();
    rollback_events.dedup();
    Change {
        step: StepId::DeploymentGroup,
        action: if dg_existing.is_some() { Action::NoOp } else { Action::Create },
        depends_on: vec![StepId::ServiceRole, StepId::Application, StepId::ServiceCutover, StepId::TestListener],
        detail: ChangeDetail::DeploymentGroup(DeploymentGroupValues {
            application: app_spec.application_name().as_str().to_owned(),
            name: dg_spec.deployment_group_name().as_str().to_owned(),
            service_role_arn: role_arn,
            deployment_config: deployment_config.clone(),
            cluster: cluster.clone(),
            service: final_service,
            target_groups: [blue.name.clone(), green_spec.green_name().as_str().to_owned()],
            prod_listener_arn: prod.arn.clone(),
            test_listener_arn,
            auto_rollback_events: rollback_events,
            ready_wait: dg_spec.ready_wait(),
            termination_wait: dg_spec.termination_wait(),
            alarms: dg_spec.alarms().to_vec(),
            tags: ownership.clone(),
        }),
    }
}

/// The service's auto scaling, registered again on the final service: only for a service with
/// a scalable target. After the cutover, which deletes the original (and with it the scaling).
pub(super) fn service_scaling(b: &Basis<'_>, final_service: &str) -> Option<Change> {
    let Basis { svc, identical, ref cluster, .. } = *b;
    let scaling = svc.scaling.clone()?;
    Some(Change {
        step: StepId::ServiceScaling,
        action: if identical { Action::NoOp } else { Action::Create },
        depends_on: vec![StepId::ServiceCutover],
        detail: ChangeDetail::ServiceScaling { cluster: cluster.clone(), service: final_service.to_owned(), scaling },
    })
}

/// The inline policy granting the pipeline role what `CodeDeployToECS` needs and it lacks;
/// `None` (with a note or warning) when it lacks nothing, was not checked, or does not exist.
pub(super) fn pipeline_role(b: &Basis<'_>, steps: &[StepId], warnings: &mut Vec<String>, notes: &mut Vec<String>) -> Option<Change> {
    let Basis { inv, ref id, .. } = *b;
    // Only a planned (or unchanged) pipeline action runs with this role.
    let pipeline = match b.pipeline_change.as_ref().map(|c| &c.detail) {
        Some(ChangeDetail::PipelineDeployAction { pipeline, .. }) => pipeline.clone(),
        _ => return None,
    };
    let role = inv.pipeline_role.as_ref()?;
    let shortfall = &role.shortfall;
    match &role.check {
        RoleCheck::RoleMissing => {
            warnings.push(format!(
                "the service role {} of pipeline {pipeline} does not exist: the pipeline cannot run until it does",
                role.arn
            ));
            return None;
        }
        RoleCheck::Unchecked { reason } => warnings.push(format!(
            "the permissions of pipeline role {} could not be read ({reason}); everything the CodeDeployToECS action needs is granted",
            role.name
        )),
        RoleCheck::Policies { reason } => notes.push(format!(
            "pipeline role {} was checked by reading its policies ({reason}); permission boundaries and SCPs were not seen",
            role.name
        )),
        RoleCheck::Simulated => {}
    }
    for p in &shortfall.denied {
        warnings.push(format!(
            "pipeline role {} is explicitly denied {p}: the CodeDeployToECS action will fail until that Deny is removed (an added Allow cannot lift it)",
            role.name
        ));
    }
    if shortfall.missing.is_empty() {
        notes.push(format!("pipeline role {} already has what the CodeDeployToECS action needs", role.name));
        return None;
    }
    if !steps.contains(&StepId::PipelineRolePolicy) {
        warnings.push(format!(
            "pipeline role {} lacks {} permission(s) the CodeDeployToECS action needs, and the transaction does not grant them (add the pipeline-role-policy step)",
            role.name,
            shortfall.missing.len()
        ));
        return None;
    }
    Some(Change {
        step: StepId::PipelineRolePolicy,
        action: Action::Create,
        depends_on: vec![],
        detail: ChangeDetail::PipelineRolePolicy {
            role_name: role.name.clone(),
            role_arn: role.arn.clone(),
            policy_name: crate::pipeline_role::policy_name(id),
            document: crate::pipeline_role::grant_document(&shortfall.missing),
            grants: shortfall.missing.clone(),
        },
    })
}
