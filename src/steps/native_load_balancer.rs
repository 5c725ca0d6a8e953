//! ECS-native target, UpdateService #1: the service's load balancer entry gains its
//! `advancedConfiguration` (green group, production and test rules, infrastructure role). ECS
//! runs it as a rolling deployment, which must finish before the strategy changes (AWS's
//! documented order); the step waits for it. Undo sends the journaled entries back.

use super::Ctx;
use crate::discover::describe_service;
use crate::error::{Error, Result, SdkResultExt};
use crate::inventory::{AdvancedConfigurationDef, LoadBalancerEntry};
use crate::journal::Effect;
use crate::plan::{ChangeDetail, KNOWN_AFTER_APPLY, NativeLoadBalancerValues};
use crate::wait::{self, Waits};
use crate::AwsClients;

/// Whether ECS refused the role because IAM has not propagated it yet (a fresh role).
fn is_role_propagation(e: &Error) -> bool {
    let Error::Aws(a) = e else { return false };
    a.code() == Some("InvalidParameterException") && {
        let m = a.to_string().to_ascii_lowercase();
        m.contains("assume") || m.contains("role")
    }
}

/// The ALB default rule (or, for an NLB, the listener itself) of the listener on `port`.
async fn rule_of_listener_on(aws: &AwsClients, v: &NativeLoadBalancerValues, port: u16, listener: Option<String>) -> Result<String> {
    let listener = match listener.filter(|a| a != KNOWN_AFTER_APPLY) {
        Some(arn) => arn,
        None => {
            let out = aws
                .elbv2
                .describe_listeners()
                .load_balancer_arn(&v.load_balancer_arn)
                .send()
                .await
                .ctx("DescribeListeners", &v.load_balancer_arn)?;
            out.listeners()
                .iter()
                .find(|l| l.port() == Some(i32::from(port)))
                .and_then(|l| l.listener_arn())
                .map(str::to_owned)
                .ok_or_else(|| Error::custom(format!("there is no listener on port {port} of {}", v.load_balancer_arn)))?
        }
    };
    if v.network {
        return Ok(listener);
    }
    let rules = aws.elbv2.describe_rules().listener_arn(&listener).send().await.ctx("DescribeRules", &listener)?;
    rules
        .rules()
        .iter()
        .find(|r| r.is_default() == Some(true))
        .and_then(|r| r.rule_arn())
        .map(str::to_owned)
        .ok_or_else(|| Error::custom(format!("listener {listener} has no default rule")))
}

/// The advanced configuration with every identifier made during the run filled in.
async fn resolved(cx: &Ctx<'_>, v: &NativeLoadBalancerValues) -> Result<AdvancedConfigurationDef> {
    let planned = v.after.advanced_configuration.clone().unwrap_or_default();
    let known = |s: &Option<String>| s.clone().filter(|a| a != KNOWN_AFTER_APPLY);
    let green = match known(&planned.alternate_target_group_arn).or_else(|| cx.output(crate::step::outputs::GREEN_TARGET_GROUP_ARN)) {
        Some(arn) => arn,
        None => crate::discover::describe_target_group(cx.aws, crate::discover::TgLookup::Name(&v.green_name))
            .await?
            .map(|g| g.arn)
            .ok_or_else(|| Error::custom(format!("the green target group {} does not exist", v.green_name)))?,
    };
    let role = match known(&planned.role_arn) {
        Some(arn) => arn,
        None => infrastructure_role_arn(cx).await?,
    };
    let test = match (&planned.test_listener_rule, v.test_listener_port) {
        (Some(rule), _) if rule != KNOWN_AFTER_APPLY => Some(rule.clone()),
        (Some(_), Some(port)) => Some(rule_of_listener_on(cx.aws, v, port, cx.output(crate::step::outputs::TEST_LISTENER_ARN)).await?),
        _ => None,
    };
    Ok(AdvancedConfigurationDef {
        alternate_target_group_arn: Some(green),
        production_listener_rule: planned.production_listener_rule,
        test_listener_rule: test,
        role_arn: Some(role),
    })
}

/// UpdateService with `entries` as the service's load balancers (a rolling deployment).
pub(crate) async fn update_load_balancers(aws: &AwsClients, cluster: &str, service: &str, entries: &[LoadBalancerEntry]) -> Result<()> {
    aws.ecs
        .update_service()
        .cluster(cluster)
        .service(service)
        .set_load_balancers(Some(entries.iter().map(crate::convert::lb_entry_to_sdk).collect()))
        .send()
        .await
        .ctx("UpdateService", format!("{cluster}/{service}"))
        .map(|_| ())
}

/// Waits until the service's rolling deployment is over: one deployment left, not in progress.
pub(crate) async fn wait_deployed(aws: &AwsClients, cluster: &str, service: &str, opts: &Waits) -> Result<()> {
    let what = format!("the rolling deployment of service {cluster}/{service}");
    super::ecs_service::poll_service(aws, opts, &what, opts.service_wait, cluster, service, |svc| {
        let svc = svc.ok_or_else(|| Error::custom(format!("service {service} is gone")))?;
        if svc.deployments.iter().any(|d| d.rollout_state.as_deref() == Some("FAILED")) {
            return Err(Error::custom(format!("the rolling deployment of service {service} failed")));
        }
        let done = svc.deployments.len() <= 1 && svc.deployments.iter().all(|d| d.rollout_state.as_deref() != Some("IN_PROGRESS"));
        Ok(done.then_some(()))
    })
    .await
}

/// The infrastructure role's ARN: published by the run's role step, else read by the name the
/// plan gives it (a resumed run, or a role that already existed).
pub(crate) async fn infrastructure_role_arn(cx: &Ctx<'_>) -> Result<String> {
    if let Some(arn) = cx.output(crate::step::outputs::INFRASTRUCTURE_ROLE_ARN) {
        return Ok(arn);
    }
    let name = cx
        .plan()
        .change(crate::spec::StepId::InfrastructureRole)
        .and_then(|c| match &c.detail {
            ChangeDetail::ServiceRole { name, .. } => Some(name.clone()),
            _ => None,
        })
        .ok_or_else(|| Error::custom("the plan names no infrastructure role"))?;
    let out = cx.aws.iam.get_role().role_name(&name).send().await.ctx("GetRole", &name)?;
    out.role().map(|r| r.arn().to_owned()).ok_or_else(|| Error::custom(format!("role {name} does not exist")))
}

/// Applies the advanced configuration (idempotent: an entry that has it is left alone).
pub(crate) async fn apply(cx: &Ctx<'_>, v: &NativeLoadBalancerValues) -> Result<()> {
    let aws = cx.aws;
    let live = describe_service(aws, &v.cluster, &v.service)
        .await?
        .ok_or_else(|| Error::custom(format!("service {}/{} is gone", v.cluster, v.service)))?;
    let advanced = resolved(cx, v).await?;
    let after = LoadBalancerEntry { advanced_configuration: Some(advanced), ..v.after.clone() };
    if live.load_balancers.as_slice() == std::slice::from_ref(&after) {
        return wait_deployed(aws, &v.cluster, &v.service, cx.waits()).await;
    }
    // The journal keeps the entries as they were, so undo restores them exactly.
    let before = if cx.is_resumed() { v.before.clone() } else { live.load_balancers.clone() };
    let intent = Effect::ServiceLoadBalancersChanged {
        cluster: v.cluster.clone(),
        service: v.service.clone(),
        before,
        production_listener_arn: Some(v.production_listener_arn.clone()),
        production_actions: v.production_actions.clone(),
    };
    cx.mutate(
        intent,
        wait::retry(
            &format!("the advanced configuration of {} (IAM propagation)", v.service),
            cx.waits().iam_propagation,
            is_role_propagation,
            || update_load_balancers(aws, &v.cluster, &v.service, std::slice::from_ref(&after)),
        ),
        |_, e| e,
    )
    .await?;
    cx.waiting(format!("the rolling deployment of service {} with the advanced configuration", v.service));
    wait_deployed(aws, &v.cluster, &v.service, cx.waits()).await
}

/// Restores the service's load balancer entries as journaled (without the advanced configuration).
pub(crate) async fn undo(aws: &AwsClients, cluster: &str, service: &str, before: &[LoadBalancerEntry], opts: &Waits) -> Result<()> {
    let live = match describe_service(aws, cluster, service).await? {
        Some(s) if s.status == "ACTIVE" => s,
        _ => return Ok(()),
    };
    if live.load_balancers.as_slice() == before {
        return Ok(());
    }
    match update_load_balancers(aws, cluster, service, before).await {
        Ok(()) => wait_deployed(aws, cluster, service, opts).await,
        Err(Error::Aws(e)) if matches!(e.code(), Some("ServiceNotFoundException" | "ServiceNotActiveException")) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Puts the production listener's default actions back as they were before the migration when
/// ECS's blue/green deployments moved its weights (they send production traffic to whichever
/// group the last deployment filled). Runs after the service is back on the blue group alone.
pub(crate) async fn undo_swing(aws: &AwsClients, listener_arn: &str, before: &[crate::inventory::ListenerAction]) -> Result<()> {
    let out = match aws.elbv2.describe_listeners().listener_arns(listener_arn).send().await {
        Ok(out) => out,
        Err(e) if super::has_code(&e, &["ListenerNotFound"]) => return Ok(()),
        Err(e) => return Err(e).ctx("DescribeListeners", listener_arn),
    };
    let now: Vec<crate::inventory::ListenerAction> =
        out.listeners().first().map(|l| l.default_actions().iter().map(crate::convert::action_from_sdk).collect()).unwrap_or_default();
    if now.as_slice() == before {
        return Ok(());
    }
    super::test_listener::undo_actions(aws, listener_arn, before).await
}

/// The built-in step: its planned change.
pub(crate) struct NativeLoadBalancerStep(pub(crate) crate::plan::Change);

impl crate::step::Step for NativeLoadBalancerStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let ChangeDetail::NativeLoadBalancer(v) = &self.0.detail else { return Vec::new() };
        let service = cx.service_arn(&v.cluster, &v.service);
        let mut out = vec![
            crate::permission::Permission::on("ecs:DescribeServices", service.clone()),
            crate::permission::Permission::on("ecs:UpdateService", service),
            crate::permission::Permission::any_resource("elasticloadbalancing:DescribeListeners"),
            crate::permission::Permission::any_resource("elasticloadbalancing:DescribeRules"),
            // Undo puts back the production listener's actions ECS's deployments swung.
            crate::permission::Permission::on("elasticloadbalancing:ModifyListener", v.production_listener_arn.clone()),
        ];
        let given = v.after.advanced_configuration.as_ref().and_then(|a| a.role_arn.as_deref());
        if let Some(role) = cx.role_or_planned(given, &crate::spec::StepId::InfrastructureRole) {
            out.push(crate::permission::Permission::on("iam:GetRole", role.clone()));
            // UpdateService passes the infrastructure role to ECS.
            out.push(crate::permission::Permission::pass_role(role, "ecs.amazonaws.com"));
        }
        out
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["ecs:DescribeServices", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "iam:GetRole"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ChangeDetail::NativeLoadBalancer(v) = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            apply(cx, v).await
        })
    }
}
