//! Application Auto Scaling of the service. Deleting an ECS service deregisters its scalable
//! target with its policies and scheduled actions, so the migration registers them again: on
//! the bridge while it serves (in the cutover), on the final service (this step), and on the
//! restored original (the undo of the deleted service). Re-created step policies get new ARNs,
//! so the CloudWatch alarms that invoke them are re-pointed; their previous state is journaled.

use std::collections::BTreeMap;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace, SuspendedState};

use super::{Ctx, built, has_code};
use crate::AwsClients;
use crate::convert;
use crate::discover::{alarms_named, scaling_policies};
use crate::error::{Result, SdkResultExt};
use crate::inventory::{MetricAlarmInfo, ServiceScaling, policy_arn_parts, scaling_resource_id};
use crate::journal::Effect;
use crate::plan::{ChangeDetail, Plan};

/// Policy name → its ARN on one service.
pub(crate) type PolicyArns = BTreeMap<String, String>;

/// How [`repoint`] treats an action naming a policy of a service the migration touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repoint {
    /// The action is replaced by the new policy's ARN (the final or restored service).
    Replace,
    /// The new policy's ARN is added beside it (the bridge serves next to the original).
    Add,
}

/// The services whose policies an alarm of this migration may name: the original, the bridge
/// and the final service.
pub(crate) fn touched_services(plan: &Plan) -> Vec<String> {
    let mut out = vec![plan.service.clone()];
    for c in &plan.changes {
        if let ChangeDetail::ServiceCutover { to, bridge_name, .. } = &c.detail {
            out.push(to.name.clone());
            out.extend(bridge_name.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `actions` with every action naming a policy of `arns` on one of `services` (in `cluster`)
/// replaced by, or joined by, the policy's ARN in `arns`. Order kept, duplicates dropped. Pure.
pub(crate) fn repoint_actions(actions: &[String], cluster: &str, services: &[String], arns: &PolicyArns, mode: Repoint) -> Vec<String> {
    let ours = |a: &str| {
        let (resource, name) = policy_arn_parts(a)?;
        let service = resource.strip_prefix(&format!("service/{cluster}/"))?;
        services.iter().any(|s| s == service).then(|| arns.get(name)).flatten()
    };
    let mut out: Vec<String> = Vec::new();
    let mut push = |a: &str| {
        if !out.iter().any(|o| o == a) {
            out.push(a.to_owned());
        }
    };
    for a in actions {
        match (ours(a), mode) {
            (Some(new), Repoint::Replace) => push(new),
            (Some(new), Repoint::Add) => {
                push(a);
                push(new);
            }
            (None, _) => push(a),
        }
    }
    out
}

/// The alarm with its three action lists re-pointed ([`repoint_actions`]). Pure.
pub(crate) fn repoint(alarm: &MetricAlarmInfo, cluster: &str, services: &[String], arns: &PolicyArns, mode: Repoint) -> MetricAlarmInfo {
    let r = |v: &[String]| repoint_actions(v, cluster, services, arns, mode);
    MetricAlarmInfo {
        ok_actions: r(&alarm.ok_actions),
        alarm_actions: r(&alarm.alarm_actions),
        insufficient_data_actions: r(&alarm.insufficient_data_actions),
        ..alarm.clone()
    }
}

/// RegisterScalableTarget for `service` with the target of `scaling`.
async fn register_target(aws: &AwsClients, cluster: &str, service: &str, scaling: &ServiceScaling) -> Result<()> {
    let rid = scaling_resource_id(cluster, service);
    let t = &scaling.target;
    aws.scaling_client()?
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&rid)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(t.min_capacity)
        .max_capacity(t.max_capacity)
        .suspended_state(
            SuspendedState::builder()
                .dynamic_scaling_in_suspended(t.dynamic_scaling_in_suspended)
                .dynamic_scaling_out_suspended(t.dynamic_scaling_out_suspended)
                .scheduled_scaling_suspended(t.scheduled_scaling_suspended)
                .build(),
        )
        // The service-linked role is AWS's default; only a role of the user's is named.
        .set_role_arn(t.role_arn.clone().filter(|r| !r.contains("/aws-service-role/")))
        .send()
        .await
        .ctx("RegisterScalableTarget", rid)?;
    Ok(())
}

/// PutScalingPolicy for every policy of `scaling` on `service`; returns the new ARNs by name.
async fn put_policies(aws: &AwsClients, cluster: &str, service: &str, scaling: &ServiceScaling) -> Result<PolicyArns> {
    let rid = scaling_resource_id(cluster, service);
    let mut arns = PolicyArns::new();
    for p in &scaling.policies {
        let tracking = match &p.target_tracking {
            Some(c) => Some(built("PutScalingPolicy", convert::target_tracking_to_sdk(c))?),
            None => None,
        };
        let out = aws
            .scaling_client()?
            .put_scaling_policy()
            .policy_name(&p.name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&rid)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .policy_type(p.policy_type.as_str().into())
            .set_step_scaling_policy_configuration(p.step.as_ref().map(convert::step_config_to_sdk))
            .set_target_tracking_scaling_policy_configuration(tracking)
            .send()
            .await
            .ctx("PutScalingPolicy", format!("{rid} policy {}", p.name))?;
        arns.insert(p.name.clone(), out.policy_arn().to_owned());
    }
    Ok(arns)
}

/// PutScheduledAction for every scheduled action of `scaling` on `service`.
async fn put_scheduled(aws: &AwsClients, cluster: &str, service: &str, scaling: &ServiceScaling) -> Result<()> {
    let rid = scaling_resource_id(cluster, service);
    for a in &scaling.scheduled_actions {
        aws.scaling_client()?
            .put_scheduled_action()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&rid)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .scheduled_action_name(&a.name)
            .schedule(&a.schedule)
            .set_timezone(a.timezone.clone())
            .set_start_time(a.start_time.map(convert::datetime))
            .set_end_time(a.end_time.map(convert::datetime))
            .scalable_target_action(
                aws_sdk_applicationautoscaling::types::ScalableTargetAction::builder()
                    .set_min_capacity(a.min_capacity)
                    .set_max_capacity(a.max_capacity)
                    .build(),
            )
            .send()
            .await
            .ctx("PutScheduledAction", format!("{rid} scheduled action {}", a.name))?;
    }
    Ok(())
}

/// Registers `scaling` on `service` (each call an upsert: idempotent); returns the policies' ARNs.
pub(crate) async fn register(aws: &AwsClients, cluster: &str, service: &str, scaling: &ServiceScaling) -> Result<PolicyArns> {
    register_target(aws, cluster, service, scaling).await?;
    let arns = put_policies(aws, cluster, service, scaling).await?;
    put_scheduled(aws, cluster, service, scaling).await?;
    Ok(arns)
}

/// Registers `scaling` on `service`, a service this run created with `controller`: the target
/// is journaled (its undo deregisters it, which removes the policies and scheduled actions
/// too); the policies and scheduled actions are covered by that effect.
pub(crate) async fn register_journaled(ctx: &Ctx<'_>, service: &str, controller: &str, scaling: &ServiceScaling) -> Result<PolicyArns> {
    let cluster = ctx.plan.cluster.clone();
    let effect = Effect::ScalingRegistered { cluster: cluster.clone(), service: service.to_owned(), controller: controller.to_owned() };
    ctx.mutate(effect, register_target(ctx.aws, &cluster, service, scaling), |_, e| e).await?;
    let rid = scaling_resource_id(&cluster, service);
    let what = format!("{} scaling policies and {} scheduled actions on {rid}", scaling.policies.len(), scaling.scheduled_actions.len());
    ctx.call(what, async {
        let arns = put_policies(ctx.aws, &cluster, service, scaling).await?;
        put_scheduled(ctx.aws, &cluster, service, scaling).await?;
        Ok(arns)
    })
    .await
}

/// Re-points the alarms of `scaling` (as they are now) to `arns`, journaling each alarm's
/// previous state. An alarm deleted meanwhile is left alone.
pub(crate) async fn repoint_journaled(ctx: &Ctx<'_>, scaling: &ServiceScaling, arns: &PolicyArns, mode: Repoint) -> Result<()> {
    if scaling.alarms.is_empty() {
        return Ok(());
    }
    let services = touched_services(ctx.plan);
    let names: Vec<String> = scaling.alarms.iter().map(|a| a.name.clone()).collect();
    for live in alarms_named(ctx.aws, &names).await? {
        let wanted = repoint(&live, &ctx.plan.cluster, &services, arns, mode);
        if wanted == live {
            continue;
        }
        let effect = Effect::AlarmActionsChanged { before: Box::new(live) };
        ctx.mutate(effect, put_alarm(ctx.aws, &wanted), |_, e| e).await?;
    }
    Ok(())
}

/// PutMetricAlarm with the whole alarm.
pub(crate) async fn put_alarm(aws: &AwsClients, alarm: &MetricAlarmInfo) -> Result<()> {
    convert::put_alarm_request(aws.cloudwatch_client()?, alarm).send().await.ctx("PutMetricAlarm", &alarm.name)?;
    Ok(())
}

/// Re-points the alarms of `scaling` to `arns` without journaling (inside an undo).
pub(crate) async fn repoint_now(aws: &AwsClients, plan: &Plan, scaling: &ServiceScaling, arns: &PolicyArns) -> Result<()> {
    if scaling.alarms.is_empty() {
        return Ok(());
    }
    let services = touched_services(plan);
    let names: Vec<String> = scaling.alarms.iter().map(|a| a.name.clone()).collect();
    for live in alarms_named(aws, &names).await? {
        let wanted = repoint(&live, &plan.cluster, &services, arns, Repoint::Replace);
        if wanted != live {
            put_alarm(aws, &wanted).await?;
        }
    }
    Ok(())
}

/// Undo of a registration on a service this run created: deregister the target (AWS removes
/// its policies and scheduled actions with it) while the service under that name is still the
/// one the run created (same controller); anything else is left alone.
pub(crate) async fn undo_register(aws: &AwsClients, cluster: &str, service: &str, controller: &str) -> Result<()> {
    match super::ecs_service::active(aws, cluster, service).await? {
        Some(s) if s.deployment_controller == controller => deregister(aws, cluster, service).await,
        _ => Ok(()),
    }
}

/// DeregisterScalableTarget; tolerates a target already gone.
pub(crate) async fn deregister(aws: &AwsClients, cluster: &str, service: &str) -> Result<()> {
    let rid = scaling_resource_id(cluster, service);
    match aws
        .scaling_client()?
        .deregister_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&rid)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &["ObjectNotFoundException"]) => Ok(()),
        Err(e) if e.as_service_error().and_then(|s| aws_smithy_types::error::metadata::ProvideErrorMetadata::message(s)).is_some_and(|m| m.contains("No scalable target found")) => Ok(()),
        Err(e) => Err(e).ctx("DeregisterScalableTarget", rid),
    }
}

/// Undo of an alarm change: the alarm as it was, except that an action naming a policy of the
/// original service names that policy's ARN now (a restored original's policies have new ARNs).
pub(crate) async fn undo_alarm(aws: &AwsClients, plan: &Plan, before: &MetricAlarmInfo) -> Result<()> {
    let live = scaling_policies(aws, &scaling_resource_id(&plan.cluster, &plan.service)).await?;
    let arns: PolicyArns = live.into_iter().map(|p| (p.name, p.arn)).collect();
    let restored = repoint(before, &plan.cluster, std::slice::from_ref(&plan.service), &arns, Repoint::Replace);
    put_alarm(aws, &restored).await
}

/// The built-in step: registers the scaling on the final service and re-points the alarms.
pub(crate) struct ServiceScalingStep(pub(crate) crate::plan::Change);

/// What registering `scaling` on a service (and undoing it) needs: Application Auto Scaling
/// documents no resource types for these actions; the alarms re-pointed are scoped by name.
pub(crate) fn scaling_permissions(cx: &crate::permission::PermissionContext<'_>, scaling: &ServiceScaling) -> Vec<crate::permission::Permission> {
    let mut out: Vec<crate::permission::Permission> = [
        "RegisterScalableTarget",
        "DeregisterScalableTarget",
        "PutScalingPolicy",
        "PutScheduledAction",
        "DescribeScalableTargets",
        "DescribeScalingPolicies",
        "DescribeScheduledActions",
    ]
    .map(|a| crate::permission::Permission::any_resource(format!("application-autoscaling:{a}")))
    .into();
    out.push(crate::permission::Permission::any_resource("cloudwatch:DescribeAlarms"));
    if !scaling.alarms.is_empty() {
        out.push(crate::permission::Permission::new("cloudwatch:PutMetricAlarm", scaling.alarms.iter().map(|a| cx.alarm_arn(&a.name))));
    }
    out
}

impl crate::step::Step for ServiceScalingStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let ChangeDetail::ServiceScaling { cluster, service, scaling } = &self.0.detail else { return Vec::new() };
        let mut out = scaling_permissions(cx, scaling);
        out.push(crate::permission::Permission::on("ecs:DescribeServices", cx.service_arn(cluster, service)));
        out
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["ecs:DescribeServices", "application-autoscaling:DescribeScalingPolicies", "cloudwatch:DescribeAlarms"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ChangeDetail::ServiceScaling { service, scaling, .. } = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            let arns = register_journaled(cx, service, "CODE_DEPLOY", scaling).await?;
            repoint_journaled(cx, scaling, &arns, Repoint::Replace).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(service: &str, name: &str, uuid: &str) -> String {
        format!("arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:{uuid}:resource/ecs/service/prod/{service}:policyName/{name}")
    }

    #[test]
    fn actions_naming_a_touched_services_policy_are_replaced_and_others_kept() {
        let sns = "arn:aws:sns:us-east-1:123456789012:ops".to_owned();
        let other = arn("billing", "scale-out", "u9");
        let actions = vec![arn("web", "scale-out", "u1"), sns.clone(), other.clone()];
        let arns: PolicyArns = [("scale-out".to_owned(), arn("web", "scale-out", "u2"))].into();
        let services = vec!["web".to_owned(), "web-bridge".to_owned()];
        let replaced = repoint_actions(&actions, "prod", &services, &arns, Repoint::Replace);
        assert_eq!(replaced, vec![arn("web", "scale-out", "u2"), sns.clone(), other.clone()]);
        let added = repoint_actions(&actions, "prod", &services, &arns, Repoint::Add);
        assert_eq!(added, vec![arn("web", "scale-out", "u1"), arn("web", "scale-out", "u2"), sns, other]);
        // The original and the bridge's ARN both collapse into the final one.
        let both = vec![arn("web", "scale-out", "u1"), arn("web-bridge", "scale-out", "u3")];
        assert_eq!(repoint_actions(&both, "prod", &services, &arns, Repoint::Replace), vec![arn("web", "scale-out", "u2")]);
    }

    #[test]
    fn policy_arn_parts_read_resource_and_name() {
        assert_eq!(policy_arn_parts(&arn("web", "scale-out", "u1")), Some(("service/prod/web", "scale-out")));
        assert_eq!(policy_arn_parts("arn:aws:sns:us-east-1:1:x"), None);
    }
}
