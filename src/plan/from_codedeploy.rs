//! The planner onward from CodeDeploy: a `CODE_DEPLOY` service to ECS-native blue/green or to
//! rolling updates (ECS guide, "migrate-code-deploy-to-ecs-blue-green"). Pure: no I/O.
//!
//! The deployment group that deploys the service is reused: its two target groups (the one
//! the production listener serves stays the service's, the other becomes the alternate),
//! its listeners (the production and test rules), its traffic shifting (mapped to the native
//! strategy) and its blue termination wait (the bake time). CodeDeploy's automation is turned
//! off first (the pipeline's `CodeDeployToECS` action back to `ECS`, the deployment group and
//! application deleted when this tool created them), then one UpdateService switches the
//! controller to `ECS` with the strategy and the load balancer entry.

use super::*;
use crate::inventory::{AdvancedConfigurationDef, CodeDeploySource, LoadBalancerEntry, TrafficRouting};
use crate::spec::{BakeTime, NativeStrategy, ReadyWait};

/// AWS's refusal of a controller update with several task sets.
pub const SEVERAL_TASK_SETS: &str = "Updating the deployment controller is not supported when there are multiple tasksets in the service.";
/// AWS's refusal of a controller update without a primary task set.
pub const NO_PRIMARY_TASK_SET: &str = "Updating the deployment controller requires a primary taskset in the service.";

/// The file the pipeline's `ECS` action reads from its input artifact.
pub const IMAGE_DEFINITIONS: &str = "imagedefinitions.json";

/// The native strategy of a CodeDeploy traffic shifting: AllAtOnce → `BLUE_GREEN`,
/// TimeBasedLinear p/n → `LINEAR` p % every n minutes, TimeBasedCanary p/n → `CANARY` p %
/// then the rest after n minutes. `Err` names what has no native equal.
pub fn strategy_of(traffic: &TrafficRouting) -> Result<NativeStrategy, String> {
    let need = |v: Option<i32>, what: &str| v.ok_or_else(|| format!("the {} config names no {what}", traffic.r#type));
    let minutes = |v: i32| u32::try_from(v).unwrap_or(0);
    match traffic.r#type.as_str() {
        "AllAtOnce" => Ok(NativeStrategy::BlueGreen),
        "TimeBasedLinear" => NativeStrategy::linear(f64::from(need(traffic.percentage, "percentage")?), minutes(need(traffic.interval_minutes, "interval")?))
            .map_err(|e| format!("linear {}% every {} minutes: the {} {}", traffic.percentage.unwrap_or(0), traffic.interval_minutes.unwrap_or(0), e.what(), e.reason())),
        "TimeBasedCanary" => NativeStrategy::canary(f64::from(need(traffic.percentage, "percentage")?), minutes(need(traffic.interval_minutes, "interval")?))
            .map_err(|e| format!("canary {}% then the rest after {} minutes: the {} {}", traffic.percentage.unwrap_or(0), traffic.interval_minutes.unwrap_or(0), e.what(), e.reason())),
        other => Err(format!("traffic routing {other} has no ECS-native equal")),
    }
}

/// The name of a target group from its ARN (`...:targetgroup/<name>/<id>`).
fn tg_name(arn: &str) -> &str {
    arn.split(":targetgroup/").nth(1).and_then(|r| r.split('/').next()).unwrap_or_default()
}

/// Plans the onward migration's built-in `steps`; every refusal at once.
pub(super) fn plan(migration: &Migration, inv: &Inventory, steps: &[StepId]) -> Result<Plan, PlanError> {
    let target = migration.target();
    let native_target = target == Target::EcsNative;
    let own = StepId::built_in_for_service(target, "CODE_DEPLOY");
    let has = |id: StepId| steps.contains(&id);
    let mut refusals = Vec::new();
    let mut warnings = Vec::new();
    for s in steps.iter().filter(|s| !own.contains(s)) {
        refusals.push(Refusal::new(
            RefusalKind::StepGraph,
            format!("{s} is not a step of the migration of a CODE_DEPLOY service to {}", if native_target { "ECS-native blue/green" } else { "rolling updates" }),
            format!("name these steps only ({})", own.iter().map(StepId::as_str).collect::<Vec<_>>().join(", ")),
        ));
    }
    let id = migration.migration_id();
    let cluster = migration.cluster_name().to_owned();
    let service_name = migration.service().as_str().to_owned();
    if id.chars().count() > MAX_TAG_VALUE {
        refusals.push(Refusal::new(
            RefusalKind::InvalidName,
            format!("the migration id is {} characters long; AWS tag values hold at most {MAX_TAG_VALUE}", id.chars().count()),
            "set a shorter migration id",
        ));
    }
    let svc = super::validate::active_service(inv, &cluster, &service_name, "migrate an ACTIVE service", &mut refusals)?;

    // AWS switches the controller only with one primary task set and nothing deploying.
    if svc.task_set_count > 1 {
        refusals.push(Refusal::new(
            RefusalKind::TaskSets,
            format!("service {service_name} has {} task sets (a CodeDeploy deployment in progress or not cleaned up): AWS says \"{SEVERAL_TASK_SETS}\"", svc.task_set_count),
            "wait until the CodeDeploy deployment ends (or stop it) so that one primary task set is left, then plan again",
        ));
    } else if svc.task_set_count == 0 {
        refusals.push(Refusal::new(
            RefusalKind::TaskSets,
            format!("service {service_name} has no task set: AWS says \"{NO_PRIMARY_TASK_SET}\""),
            "deploy the service with CodeDeploy once so that it has a primary task set, then plan again",
        ));
    }
    if svc.deployments.iter().any(|d| d.rollout_state.as_deref() == Some("IN_PROGRESS")) || svc.deployments.len() > 1 {
        refusals.push(Refusal::new(
            RefusalKind::DeploymentInFlight,
            format!("service {service_name} has a deployment in progress"),
            "wait until the deployment completes and plan again",
        ));
    }

    let entry = match svc.load_balancers.as_slice() {
        [one] if one.target_group_arn.is_some() => Some(one),
        _ => {
            refusals.push(Refusal::new(
                RefusalKind::SeveralTargetGroups,
                format!("service {service_name} does not have exactly one target group entry"),
                "a CODE_DEPLOY service has one; check the service",
            ));
            None
        }
    };
    let Some(src) = inv.codedeploy_source.as_ref() else {
        refusals.push(Refusal::new(
            RefusalKind::NoDeploymentGroup,
            format!("no CodeDeploy deployment group names service {cluster}/{service_name} in its ECS services"),
            "check the region and account; the group's target groups and listeners are what the migration reuses",
        ));
        return Err(PlanError::new(refusals));
    };
    let lb = inv.load_balancer.as_ref();
    let listener = |arn: &str| lb.and_then(|l| l.listeners.iter().find(|x| x.arn == arn));
    let prod = src.group.prod_listener_arns.first().and_then(|a| listener(a));
    let test = src.group.test_listener_arns.first().and_then(|a| listener(a));
    let network = lb.is_some_and(|l| l.r#type == "network");
    if prod.is_none() {
        refusals.push(Refusal::new(
            RefusalKind::NoProductionListener,
            format!("the production listener {} of deployment group {} is not a listener of the service's load balancer", src.group.prod_listener_arns.join(", "), src.group.name),
            "check the deployment group's load balancer settings",
        ));
    }
    // The two groups by ARN, from the listeners that forward to them.
    let forwards: Vec<&WeightedTargetGroup> = prod.iter().chain(test.iter()).flat_map(|l| l.default_forward.iter()).collect();
    let arn_of = |name: &str| {
        forwards.iter().map(|t| t.target_group_arn.as_str()).find(|a| tg_name(a) == name).map(str::to_owned).or_else(|| {
            entry.and_then(|e| e.target_group_arn.clone()).filter(|a| tg_name(a) == name)
        })
    };
    let groups: Vec<(String, Option<String>)> = src.group.target_group_names.iter().map(|n| (n.clone(), arn_of(n))).collect();
    let weight_on_prod = |arn: &str| prod.map_or(0, |p| p.default_forward.iter().filter(|t| t.target_group_arn == arn).map(|t| t.weight).sum::<i32>());
    let (live, alternate) = match groups.as_slice() {
        [(_, Some(a)), (_, Some(b))] => {
            if weight_on_prod(b) > weight_on_prod(a) { (Some(b.clone()), Some(a.clone())) } else { (Some(a.clone()), Some(b.clone())) }
        }
        _ => {
            let missing: Vec<&str> = groups.iter().filter(|(_, a)| a.is_none()).map(|(n, _)| n.as_str()).collect();
            refusals.push(Refusal::new(
                RefusalKind::TargetGroupMissing,
                format!(
                    "deployment group {} does not name two target groups on its listeners (not found: {})",
                    src.group.name,
                    if missing.is_empty() { "-".to_owned() } else { missing.join(", ") }
                ),
                "attach both target groups to the production listener (or one to the test listener)",
            ));
            (None, None)
        }
    };
    if native_target && let Some(p) = prod {
        let mixed: Vec<&str> = p.default_actions.iter().map(|a| a.r#type.as_str()).filter(|t| super::native::MIXED_ACTION_TYPES.contains(t)).collect();
        if !mixed.is_empty() {
            refusals.push(Refusal::new(
                RefusalKind::NativeMixedActions,
                format!("the default actions of production listener {} mix the forward with {}; ECS-native blue/green deployments fail on such a rule", p.arn, mixed.join(", ")),
                "move the authentication, redirect or fixed response to other rules or listeners, or use --target rolling",
            ));
        }
        if !network && (p.default_rule_arn.is_none() || test.is_some_and(|t| t.default_rule_arn.is_none())) {
            refusals.push(Refusal::new(
                RefusalKind::NoProductionListener,
                format!("DescribeRules reported no default rule for listener {}; ECS-native blue/green names it", p.arn),
                "check the elasticloadbalancing:DescribeRules permission",
            ));
        }
    }

    // The strategy: as given, else mapped from the group's deployment config.
    let native = migration.native();
    let (strategy, strategy_source) = match native.strategy_given() {
        Some(s) => (Some(s), "as given".to_owned()),
        None => match strategy_of(&src.traffic) {
            Ok(s) => (Some(s), format!("deployment config {}", src.group.deployment_config_name.as_deref().unwrap_or("CodeDeployDefault.ECSAllAtOnce"))),
            Err(why) if native_target => {
                refusals.push(Refusal::new(
                    RefusalKind::InvalidNativeStrategy,
                    format!("the deployment group's config cannot be carried over: {why}"),
                    "give the strategy (--strategy blue-green, linear or canary)",
                ));
                (None, String::new())
            }
            Err(_) => (None, String::new()),
        },
    };
    if let Some(Err(e)) = strategy.filter(|_| native_target).map(|s| s.validate()) {
        refusals.push(Refusal::new(
            RefusalKind::InvalidNativeStrategy,
            format!("the {} {:?} {}", e.what(), e.value(), e.reason()),
            "give a value in the documented range (linear step 3–100 %, canary 0.1–100 %, bake times 0–1440 minutes)",
        ));
    }
    // The bake time: as given, else the blue termination wait, clamped to ECS's 0–1440 minutes.
    let bake = native.bake_time_given().map_or_else(|| src.termination_wait_minutes.min(BakeTime::MAX_MINUTES), BakeTime::get);
    if native_target && src.termination_wait_minutes > BakeTime::MAX_MINUTES && native.bake_time_given().is_none() {
        warnings.push(format!(
            "the blue termination wait of {} minutes is longer than ECS allows for the bake time: {} minutes are used",
            src.termination_wait_minutes,
            BakeTime::MAX_MINUTES
        ));
    }

    // The infrastructure role (ECS-native only).
    let role_name = match migration.infrastructure_role_name() {
        Ok(n) => Some(n),
        Err(e) => {
            refusals.push(invalid_name(e));
            None
        }
    };
    let given_role = native.infrastructure_role_arn().cloned();
    if native_target
        && given_role.is_none()
        && has(StepId::InfrastructureRole)
        && let Some(r) = inv.existing.role.as_ref().filter(|r| !owned(&r.tags, &id))
    {
        refusals.push(Refusal::new(
            RefusalKind::NotOwned,
            format!("IAM role {} already exists and was not created by this migration (no tag {OWNERSHIP_TAG}={id})", r.name),
            "use it as it is with --infrastructure-role-arn, or name another role",
        ));
    }

    let pipeline = pipeline_change(migration, inv, src, &cluster, &service_name, entry, &mut refusals, &mut warnings);
    if !refusals.is_empty() {
        return Err(PlanError::new(refusals));
    }
    let (Some(entry), Some(prod), Some(live), Some(alternate), Some(role_name)) = (entry, prod, live, alternate, role_name) else {
        unreachable!("missing inputs are refused above")
    };

    let ownership: Tags = [(OWNERSHIP_TAG.to_owned(), id.clone())].into();
    let mut changes = Vec::new();
    let mut role_arn = None;
    if native_target {
        let role = super::native::infrastructure_role(inv, &role_name, given_role.as_ref(), false, &ownership, entry);
        if let ChangeDetail::ServiceRole { arn, .. } = &role.detail {
            role_arn = Some(arn.clone());
        }
        changes.push(role);
    }
    changes.extend(pipeline);
    let (group_change, app_change) = removals(migration, src, &cluster, &service_name, &mut warnings);
    changes.push(group_change);
    changes.push(app_change);

    let rule_of = |l: &ListenerInfo| if network { l.arn.clone() } else { l.default_rule_arn.clone().unwrap_or_default() };
    let after_entry = LoadBalancerEntry {
        target_group_arn: Some(live.clone()),
        advanced_configuration: native_target.then(|| AdvancedConfigurationDef {
            alternate_target_group_arn: Some(alternate.clone()),
            production_listener_rule: Some(rule_of(prod)),
            test_listener_rule: test.map(rule_of),
            role_arn: role_arn.clone(),
        }),
        ..entry.clone()
    };
    let configuration = match strategy.filter(|_| native_target) {
        Some(s) => super::native::wanted_configuration(svc.deployment_configuration.as_ref(), s, bake),
        None => {
            let mut c = svc.deployment_configuration.clone().unwrap_or_default();
            c.strategy = Some("ROLLING".to_owned());
            c.bake_time_in_minutes = None;
            c.linear = None;
            c.canary = None;
            c
        }
    };
    if !native_target {
        warnings.push(format!(
            "the alternate target group {} stays (it may be registered nowhere after the switch); delete it yourself once nothing uses it",
            tg_name(&alternate)
        ));
    }
    let mut deps: Vec<StepId> = changes.iter().map(|c| c.step.clone()).collect();
    deps.retain(|d| steps.contains(d));
    changes.push(Change {
        step: StepId::ControllerSwitch,
        action: Action::Update,
        depends_on: deps,
        detail: ChangeDetail::ControllerSwitch(Box::new(ControllerSwitchValues {
            cluster: cluster.clone(),
            service: service_name.clone(),
            from: Box::new(svc.clone()),
            load_balancers: vec![after_entry],
            deployment_configuration: configuration,
            strategy_source: if native_target { strategy_source } else { "rolling updates".to_owned() },
            production_listener_arn: Some(prod.arn.clone()),
            production_actions: prod.default_actions.clone(),
        })),
    });
    for c in &mut changes {
        if c.step == StepId::ApplicationRemoval {
            c.depends_on.push(StepId::DeploymentGroupRemoval);
        }
    }
    changes.retain(|c| steps.contains(&c.step));
    // Dependencies on planned changes only (no pipeline: no pipeline step).
    let planned: Vec<StepId> = changes.iter().map(|c| c.step.clone()).collect();
    for c in &mut changes {
        c.depends_on.retain(|d| planned.contains(d));
    }
    Ok(Plan {
        migration_id: id,
        cluster,
        service: service_name,
        account_id: inv.account_id.clone(),
        already_migrated: false,
        changes,
        warnings,
        notes: vec![format!(
            "the service's controller switch is in place (same ARN); a rollback recreates the service on CODE_DEPLOY under the same name (a new ARN), as AWS has no in-place way back"
        )],
        migration: Some(Box::new(migration.clone())),
        built_in_steps: own.iter().filter(|s| planned.contains(s)).cloned().collect(),
        target,
        pipeline_role_arn: super::pipeline_role_arn(inv),
    })
}

/// The pipeline's `CodeDeployToECS` action of this deployment group back to an `ECS` action
/// (`ClusterName`, `ServiceName`, `FileName` imagedefinitions.json); no change when an `ECS`
/// action deploys the service already; `None` without a pipeline.
#[allow(clippy::too_many_arguments)]
fn pipeline_change(
    migration: &Migration,
    inv: &Inventory,
    src: &CodeDeploySource,
    cluster: &str,
    service: &str,
    entry: Option<&LoadBalancerEntry>,
    refusals: &mut Vec<Refusal>,
    warnings: &mut Vec<String>,
) -> Option<Change> {
    let spec = migration.pipeline()?;
    let name = spec.pipeline_name().as_str();
    let Some(Some(p)) = inv.pipeline.as_ref() else {
        refusals.push(Refusal::new(RefusalKind::PipelineMissing, format!("pipeline {name} does not exist"), "check the pipeline name (--pipeline)"));
        return None;
    };
    let deploys = |a: &ActionInfo| match a.provider.as_str() {
        "CodeDeployToECS" => {
            a.configuration.get("ApplicationName") == Some(&src.application) && a.configuration.get("DeploymentGroupName") == Some(&src.group.name)
        }
        "ECS" => {
            let c = a.configuration.get("ClusterName").map(String::as_str).unwrap_or_default();
            c.rsplit_once(":cluster/").map_or(c, |(_, n)| n) == cluster && a.configuration.get("ServiceName").map(String::as_str) == Some(service)
        }
        _ => false,
    };
    let found: Vec<(&str, &ActionInfo)> =
        p.stages.iter().flat_map(|s| s.actions.iter().map(move |a| (s.name.as_str(), a))).filter(|(_, a)| deploys(a)).collect();
    let (stage, before) = match found.as_slice() {
        [one] => *one,
        [] => {
            refusals.push(Refusal::new(
                RefusalKind::PipelineNoDeployAction,
                format!("pipeline {name} has no action deploying with deployment group {}/{}", src.application, src.group.name),
                "name the pipeline that deploys the service, or leave --pipeline out",
            ));
            return None;
        }
        _ => {
            refusals.push(Refusal::new(
                RefusalKind::PipelineAmbiguous,
                format!("{} actions of pipeline {name} deploy the service", found.len()),
                "keep one deploy action for the service",
            ));
            return None;
        }
    };
    let mut after = before.clone();
    after.provider = "ECS".to_owned();
    after.configuration = [
        ("ClusterName".to_owned(), cluster.to_owned()),
        ("ServiceName".to_owned(), service.to_owned()),
        ("FileName".to_owned(), IMAGE_DEFINITIONS.to_owned()),
    ]
    .into();
    let container = entry.and_then(|e| e.container_name.clone()).unwrap_or_else(|| "<container>".to_owned());
    if before.provider == "CodeDeployToECS" {
        warnings.push(format!(
            "the build must now write {IMAGE_DEFINITIONS} into artifact {}: replace the buildspec's command writing imageDetail.json with `printf '[{{\"name\":\"{container}\",\"imageUri\":\"%s\"}}]' \"$REPOSITORY_URI:$IMAGE_TAG\" > {IMAGE_DEFINITIONS}` (its own image expression) and list only {IMAGE_DEFINITIONS} under artifacts.files (taskdef.json and appspec.yaml are no longer read); --artifacts-dir DIR --buildspec FILE writes the patched buildspec",
            before.input_artifacts.join(", ")
        ));
    }
    Some(Change {
        step: StepId::PipelineDeployAction,
        action: if before.provider == "ECS" { Action::NoOp } else { Action::Update },
        depends_on: vec![],
        detail: ChangeDetail::PipelineDeployAction { pipeline: name.to_owned(), stage: stage.to_owned(), before: before.clone(), after },
    })
}

/// The deployment group's and the application's removal: deleted when this tool created them
/// (its ownership tag, whatever migration id) unless kept on request; the application also
/// only when it holds no other group. A kept one is a no-op change, with a warning.
fn removals(migration: &Migration, src: &CodeDeploySource, cluster: &str, service: &str, warnings: &mut Vec<String>) -> (Change, Change) {
    let ours = |t: &Tags| t.contains_key(OWNERSHIP_TAG);
    let keep = migration.keep_codedeploy();
    let group_kept = keep || !ours(&src.group.tags);
    if group_kept {
        warnings.push(format!(
            "deployment group {}/{} is kept ({}); it names a service that is no longer on CODE_DEPLOY: delete it once nothing uses it",
            src.application,
            src.group.name,
            if keep { "asked for" } else { "this tool did not create it" }
        ));
    }
    let app_kept = group_kept || !ours(&src.application_tags) || !src.other_groups.is_empty();
    if app_kept && !group_kept {
        warnings.push(format!(
            "CodeDeploy application {} is kept ({})",
            src.application,
            if src.other_groups.is_empty() { "this tool did not create it".to_owned() } else { format!("it holds other deployment groups: {}", src.other_groups.join(", ")) }
        ));
    }
    let events = src.auto_rollback_events.iter().filter_map(|e| serde_json::from_value(serde_json::Value::String(e.clone())).ok()).collect();
    let names = &src.group.target_group_names;
    let values = DeploymentGroupValues {
        application: src.application.clone(),
        name: src.group.name.clone(),
        service_role_arn: src.group.service_role_arn.clone().unwrap_or_default(),
        deployment_config: src
            .group
            .deployment_config_name
            .as_deref()
            .and_then(|n| crate::spec::DeploymentConfig::parse(n).ok())
            .unwrap_or_default(),
        cluster: cluster.to_owned(),
        service: service.to_owned(),
        target_groups: [names.first().cloned().unwrap_or_default(), names.get(1).cloned().unwrap_or_default()],
        prod_listener_arn: src.group.prod_listener_arns.first().cloned().unwrap_or_default(),
        test_listener_arn: src.group.test_listener_arns.first().cloned(),
        auto_rollback_events: events,
        ready_wait: src.ready_wait_minutes.and_then(|m| ReadyWait::minutes(m).ok()),
        termination_wait: TerminationWait::minutes(src.termination_wait_minutes).unwrap_or_default(),
        alarms: src.alarms.clone(),
        tags: src.group.tags.clone(),
    };
    let group = Change {
        step: StepId::DeploymentGroupRemoval,
        action: if group_kept { Action::NoOp } else { Action::Delete },
        depends_on: vec![StepId::PipelineDeployAction],
        detail: ChangeDetail::DeploymentGroupRemoval(Box::new(values)),
    };
    let app = Change {
        step: StepId::ApplicationRemoval,
        action: if app_kept { Action::NoOp } else { Action::Delete },
        depends_on: vec![],
        detail: ChangeDetail::ApplicationRemoval { name: src.application.clone(), tags: src.application_tags.clone() },
    };
    (group, app)
}
