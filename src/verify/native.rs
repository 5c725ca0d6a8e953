//! `verify` for the ECS-native target: the service stays on the `ECS` controller with a
//! blue/green strategy, and ECS shifts traffic on the load balancer entry's
//! `advancedConfiguration`.
//!
//! Check names (stable): `service`, `deployment-configuration`, `advanced-configuration`,
//! `target-groups`, `production-rule`, `test-rule` (when the entry names one, or a test listener
//! port was asked for), `rule-targets`, `role`, `role-policy`, `pipeline` (with `--pipeline`),
//! `task-definition`, `scaling` (as for CodeDeploy).

use super::{Check, RoleRequirement, check_role_for, check_scaling, check_task_definition, strip_cluster, target_group_differences};
use crate::AwsClients;
use crate::discover::{TgLookup, code_is, describe_target_group};
use crate::error::{Result, SdkResultExt};
use crate::inventory::{AdvancedConfigurationDef, DeploymentConfigurationDef, Inventory, ListenerAction, ServiceDefinition, ServiceScaling};
use crate::spec::Migration;

/// The ECS infrastructure role for load balancers.
const INFRASTRUCTURE_ROLE: RoleRequirement<'static> = RoleRequirement {
    owner: "the service's advanced configuration",
    principal: "ecs.amazonaws.com",
    policies: &["AmazonECSInfrastructureRolePolicyForLoadBalancers"],
    fix_missing: "recreate the role (trust ecs.amazonaws.com, AmazonECSInfrastructureRolePolicyForLoadBalancers attached), or run `migrate apply` again",
};

/// Whether the service looks migrated to (or on its way to) ECS-native blue/green: a native
/// strategy, or an entry with an advanced configuration.
pub(super) fn started(svc: &ServiceDefinition) -> bool {
    let strategy = svc.deployment_configuration.as_ref().and_then(|d| d.strategy.as_deref()).unwrap_or("ROLLING");
    strategy != "ROLLING" || svc.load_balancers.iter().any(|l| l.advanced_configuration.is_some())
}

/// The checks of an ACTIVE service on the `ECS` controller that [`started`] the migration.
pub(super) async fn checks(
    aws: &AwsClients,
    migration: &Migration,
    inv: &Inventory,
    svc: &ServiceDefinition,
    planned_scaling: Option<(String, ServiceScaling)>,
) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let entries: Vec<_> = svc.load_balancers.iter().filter(|l| l.target_group_arn.is_some()).collect();
    let entry = match entries.as_slice() {
        [one] => {
            checks.push(Check::ok("service"));
            Some(*one)
        }
        many => {
            checks.push(Check::fail(
                "service",
                format!("service {} has {} load balancer entries with a target group; the ECS-native migration sets up exactly one", svc.name, many.len()),
                "keep one load balancer entry with the advanced configuration",
            ));
            None
        }
    };
    checks.push(check_deployment_configuration(migration, svc.deployment_configuration.as_ref()));

    let advanced = entry.and_then(|e| e.advanced_configuration.as_ref());
    let network = inv.load_balancer.as_ref().is_some_and(|l| l.r#type == "network");
    checks.push(check_advanced_configuration(migration, advanced, network));

    // The two target groups: the service's and the alternate one.
    let blue = inv.blue_target_group.as_ref();
    let alternate_arn = advanced.and_then(|a| a.alternate_target_group_arn.clone());
    let alternate = match &alternate_arn {
        Some(arn) => describe_target_group(aws, TgLookup::Arn(arn)).await?,
        None => None,
    };
    checks.push(match (blue, &alternate) {
        (None, _) => Check::fail(
            "target-groups",
            format!("the service's target group {} does not exist", entry.and_then(|e| e.target_group_arn.clone()).unwrap_or_default()),
            "recreate the target group, or the service with an existing one",
        ),
        (Some(_), None) => Check::fail(
            "target-groups",
            match &alternate_arn {
                Some(arn) => format!("the alternate target group {arn} does not exist"),
                None => "the service names no alternate target group".to_owned(),
            },
            "recreate it as a copy of the service's target group (same VPC, protocol, port, target type, health check) and name it as alternateTargetGroupArn",
        ),
        (Some(b), Some(a)) if b.arn == a.arn => Check::fail(
            "target-groups",
            format!("the alternate target group is the service's own target group {}", b.name),
            "name a second target group as alternateTargetGroupArn",
        ),
        (Some(b), Some(a)) => Check::from_problems(
            "target-groups",
            target_group_differences(b, a),
            format!("make {} match {} (recreate it with the same settings; a target group's port cannot be changed)", a.name, b.name),
        ),
    });

    // The rules ECS shifts traffic on.
    let groups: Vec<&str> = blue.map(|b| b.arn.as_str()).into_iter().chain(alternate.as_ref().map(|a| a.arn.as_str())).collect();
    let prod_rule = advanced.and_then(|a| a.production_listener_rule.clone());
    let test_rule = advanced.and_then(|a| a.test_listener_rule.clone());
    let prod_actions = match &prod_rule {
        Some(arn) => read_rule(aws, arn).await?,
        None => None,
    };
    let test_actions = match &test_rule {
        Some(arn) => read_rule(aws, arn).await?,
        None => None,
    };
    checks.push(check_rule("production-rule", prod_rule.as_deref(), prod_actions.as_deref(), &groups));
    if test_rule.is_some() || migration.test_listener_port().is_some() {
        checks.push(check_rule("test-rule", test_rule.as_deref(), test_actions.as_deref(), &groups));
    }
    checks.push(check_rule_targets(prod_actions.as_deref(), test_actions.as_deref(), blue.map(|b| (b.name.as_str(), b.arn.as_str())), alternate.as_ref().map(|a| (a.name.as_str(), a.arn.as_str()))));

    // The infrastructure role.
    match advanced.and_then(|a| a.role_arn.clone()) {
        None => checks.push(Check::fail("role", "the advanced configuration names no infrastructure role", "run `migrate apply`")),
        Some(arn) => {
            let name = arn.rsplit('/').next().unwrap_or(&arn).to_owned();
            let (role, policy) = check_role_for(aws, &name, &INFRASTRUCTURE_ROLE).await?;
            checks.push(role);
            checks.extend(policy);
        }
    }

    if let Some(spec) = migration.pipeline() {
        checks.push(check_pipeline(migration, spec, inv));
    }
    if let Some(entry) = entry {
        checks.push(check_task_definition(aws, inv, entry).await?);
    }
    checks.extend(check_scaling(aws, migration, svc, planned_scaling).await?);
    Ok(checks)
}

/// The `deployment-configuration` check: strategy, bake time and linear/canary settings as the
/// migration asks for.
fn check_deployment_configuration(migration: &Migration, live: Option<&DeploymentConfigurationDef>) -> Check {
    let native = migration.native();
    let want = crate::plan::native_configuration(live, native.strategy(), native.bake_time().get());
    let mut problems = Vec::new();
    let strategy = live.and_then(|d| d.strategy.as_deref()).unwrap_or("ROLLING");
    if Some(strategy) != want.strategy.as_deref() {
        problems.push(format!("the deployment strategy is {strategy}, not {}", want.strategy.as_deref().unwrap_or_default()));
    }
    let bake = live.and_then(|d| d.bake_time_in_minutes);
    if bake != want.bake_time_in_minutes {
        problems.push(format!("bakeTimeInMinutes is {}, not {}", show(bake), show(want.bake_time_in_minutes)));
    }
    let shift = |what: &str, live: Option<&crate::inventory::TrafficShiftDef>, want: &crate::inventory::TrafficShiftDef, problems: &mut Vec<String>| {
        let (percent, minutes) = (live.and_then(|l| l.percent), live.and_then(|l| l.bake_time_in_minutes));
        if (percent, minutes) != (want.percent, want.bake_time_in_minutes) {
            let pct = |p: Option<crate::spec::Percent>| p.map_or_else(|| "none".to_owned(), |p| p.to_string());
            problems.push(format!(
                "{what} is {} every {} minutes, not {} every {} minutes",
                pct(percent),
                show(minutes),
                pct(want.percent),
                show(want.bake_time_in_minutes)
            ));
        }
    };
    if let Some(w) = &want.linear {
        shift("linearConfiguration", live.and_then(|d| d.linear.as_ref()), w, &mut problems);
    }
    if let Some(w) = &want.canary {
        shift("canaryConfiguration", live.and_then(|d| d.canary.as_ref()), w, &mut problems);
    }
    Check::from_problems(
        "deployment-configuration",
        problems,
        format!(
            "set the strategy as planned (aws ecs update-service --deployment-configuration strategy={},bakeTimeInMinutes={}...), or run `migrate apply`",
            want.strategy.as_deref().unwrap_or_default(),
            show(want.bake_time_in_minutes)
        ),
    )
}

fn show(v: Option<i32>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

/// The `advanced-configuration` check: every member ECS needs is there, and the rules are of
/// the kind the load balancer needs (ALB: rule ARNs; NLB: listener ARNs).
fn check_advanced_configuration(migration: &Migration, advanced: Option<&AdvancedConfigurationDef>, network: bool) -> Check {
    const NAME: &str = "advanced-configuration";
    let Some(a) = advanced else {
        return Check::fail(
            NAME,
            "the service's load balancer entry has no advancedConfiguration (alternate target group, listener rules, role)",
            "run `migrate apply` (it adds the advanced configuration with a rolling deployment)",
        );
    };
    let mut problems = Vec::new();
    let (kind, marker) = if network { ("listener", ":listener/") } else { ("listener rule", ":listener-rule/") };
    if a.alternate_target_group_arn.is_none() {
        problems.push("alternateTargetGroupArn is missing".to_owned());
    }
    match &a.production_listener_rule {
        None => problems.push("productionListenerRule is missing".to_owned()),
        Some(r) if !r.contains(marker) => problems.push(format!("productionListenerRule {r} is not a {kind} ARN")),
        Some(_) => {}
    }
    match (&a.test_listener_rule, migration.test_listener_port()) {
        (None, Some(port)) => problems.push(format!("testListenerRule is missing, but test listener port {port} was asked for")),
        (Some(r), _) if !r.contains(marker) => problems.push(format!("testListenerRule {r} is not a {kind} ARN")),
        _ => {}
    }
    if a.role_arn.is_none() {
        problems.push("roleArn (the infrastructure role) is missing".to_owned());
    }
    Check::from_problems(
        NAME,
        problems,
        format!("give the load balancer entry a complete advancedConfiguration ({kind} ARNs for ALB rules, listener ARNs for NLB), or run `migrate apply`"),
    )
}

/// A rule's actions (ALB: DescribeRules; NLB: the listener's default actions), or `None` when
/// it does not exist.
async fn read_rule(aws: &AwsClients, arn: &str) -> Result<Option<Vec<ListenerAction>>> {
    if arn.contains(":listener-rule/") {
        return match aws.elbv2.describe_rules().rule_arns(arn).send().await {
            Ok(out) => Ok(out.rules().first().map(|r| r.actions().iter().map(crate::convert::action_from_sdk).collect())),
            Err(e) if code_is(&e, &["RuleNotFound", "ListenerNotFound"]) => Ok(None),
            Err(e) => Err(e).ctx("DescribeRules", arn),
        };
    }
    match aws.elbv2.describe_listeners().listener_arns(arn).send().await {
        Ok(out) => Ok(out.listeners().first().map(|l| l.default_actions().iter().map(crate::convert::action_from_sdk).collect())),
        Err(e) if code_is(&e, &["ListenerNotFound", "LoadBalancerNotFound"]) => Ok(None),
        Err(e) => Err(e).ctx("DescribeListeners", arn),
    }
}

/// The target groups a rule's forward sends to (the short form and the weighted one).
fn forwarded(actions: &[ListenerAction]) -> Vec<&str> {
    actions
        .iter()
        .filter(|a| a.r#type == "forward")
        .flat_map(|a| a.target_group_arn.as_deref().into_iter().chain(a.forward_config.iter().flat_map(|f| f.target_groups.iter().map(|t| t.target_group_arn.as_str()))))
        .collect()
}

/// The `production-rule` / `test-rule` check: the rule exists, forwards to one of the two
/// groups only, and mixes no action that makes ECS-native deployments fail.
fn check_rule(name: &str, arn: Option<&str>, actions: Option<&[ListenerAction]>, groups: &[&str]) -> Check {
    let what = if name == "production-rule" { "production" } else { "test" };
    let Some(arn) = arn else {
        return Check::fail(name, format!("the advanced configuration names no {what} listener rule"), "run `migrate apply`");
    };
    let Some(actions) = actions else {
        return Check::fail(name, format!("the {what} listener rule {arn} does not exist"), "name an existing rule of the service's load balancer, or run `migrate apply` again");
    };
    let mut problems = Vec::new();
    let mixed: Vec<&str> = actions.iter().map(|a| a.r#type.as_str()).filter(|t| crate::plan::NATIVE_MIXED_ACTION_TYPES.contains(t)).collect();
    if !mixed.is_empty() {
        problems.push(format!("{what} rule {arn} mixes the forward with {}; ECS-native deployments fail on such a rule", mixed.join(", ")));
    }
    let to = forwarded(actions);
    if to.is_empty() {
        problems.push(format!("{what} rule {arn} does not forward"));
    }
    let stray: Vec<&str> = to.iter().copied().filter(|t| !groups.contains(t)).collect();
    if !stray.is_empty() {
        problems.push(format!("{what} rule {arn} forwards to {}, which is neither of the service's two target groups", stray.join(", ")));
    }
    Check::from_problems(
        name,
        problems,
        "move authentication, redirects and fixed responses to other rules, and forward only to the service's target group and the alternate one",
    )
}

/// The `rule-targets` check: AWS's "Both targetGroup and alternateTargetGroup must be
/// associated with the productionListenerRule or testListenerRule".
fn check_rule_targets(prod: Option<&[ListenerAction]>, test: Option<&[ListenerAction]>, blue: Option<(&str, &str)>, alternate: Option<(&str, &str)>) -> Check {
    const NAME: &str = "rule-targets";
    let on = |actions: Option<&[ListenerAction]>, arn: &str| actions.is_some_and(|a| forwarded(a).contains(&arn));
    let mut problems = Vec::new();
    for (role, group) in [("the service's target group", blue), ("the alternate target group", alternate)] {
        match group {
            None => problems.push(format!("{role} could not be read")),
            Some((name, arn)) if !on(prod, arn) && !on(test, arn) => {
                problems.push(format!("{role} {name} is associated with neither the production nor the test listener rule"));
            }
            Some(_) => {}
        }
    }
    Check::from_problems(
        NAME,
        problems,
        "both target groups must be associated with the production or the test rule (e.g. the alternate group at weight 0 beside the service's on the production forward, or on the test listener); ECS rolls every deployment back otherwise",
    )
}

/// The `pipeline` check: the pipeline still deploys the service with its `ECS` action (which
/// starts each ECS-native blue/green deployment), and no `CodeDeployToECS` action targets it.
fn check_pipeline(migration: &Migration, spec: &crate::spec::PipelineDeployStage, inv: &Inventory) -> Check {
    const NAME: &str = "pipeline";
    let pname = spec.pipeline_name().as_str();
    let Some(Some(p)) = &inv.pipeline else {
        return Check::fail(NAME, format!("pipeline {pname} does not exist"), "name an existing pipeline, or leave --pipeline out");
    };
    let cluster = migration.cluster_name();
    let service = migration.service().as_str();
    let mut ecs = Vec::new();
    let mut codedeploy = Vec::new();
    for stage in &p.stages {
        for a in stage.actions.iter().filter(|a| a.category == "Deploy" && spec.action_name().is_none_or(|n| n == a.name)) {
            let cfg = |k: &str| a.configuration.get(k).map(String::as_str);
            match a.provider.as_str() {
                "ECS" if cfg("ClusterName").map(strip_cluster) == Some(cluster) && cfg("ServiceName") == Some(service) => {
                    ecs.push(format!("{}/{}", stage.name, a.name));
                }
                "CodeDeployToECS" => codedeploy.push(format!("{}/{}", stage.name, a.name)),
                _ => {}
            }
        }
    }
    match (ecs.as_slice(), codedeploy.as_slice()) {
        ([_], []) => Check::ok(NAME),
        ([], cd) => Check::fail(
            NAME,
            format!(
                "pipeline {pname} has no ECS Deploy action for {cluster}/{service}{}",
                if cd.is_empty() { String::new() } else { format!("; Deploy action {} uses CodeDeployToECS, which fails on an ECS-controller service", cd.join(", ")) }
            ),
            format!("deploy the service with an ECS Deploy action (ClusterName {cluster}, ServiceName {service}, imagedefinitions.json): each deployment it starts is an ECS-native blue/green deployment"),
        ),
        (_, [_, ..]) => Check::fail(
            NAME,
            format!("pipeline {pname} also has CodeDeployToECS Deploy action(s) {}, which fail on an ECS-controller service", codedeploy.join(", ")),
            "remove the CodeDeployToECS action; the ECS action deploys the service",
        ),
        (many, []) => Check::fail(
            NAME,
            format!("pipeline {pname} deploys {cluster}/{service} with several ECS Deploy actions: {}", many.join(", ")),
            "keep exactly one Deploy action for the service",
        ),
    }
}
