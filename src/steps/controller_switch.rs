//! Onward from CodeDeploy: one UpdateService moves the service from `CODE_DEPLOY` to `ECS`
//! with its strategy and load balancer entry (ECS guide, "migrate-code-deploy-to-ecs-blue-
//! green": the same call may carry `loadBalancers`, which a `CODE_DEPLOY` service otherwise
//! refuses). ECS then runs the primary task set's task definition as an `ECS` deployment; the
//! step waits for it. AWS has no way back into `CODE_DEPLOY` in place: undo deletes the service
//! and creates it again from the journaled definition (same name, a new ARN).

use aws_sdk_ecs::types as ecs;

use super::{Ctx, built};
use crate::discover::describe_service;
use crate::error::{Error, Result, SdkResultExt};
use crate::journal::Effect;
use crate::plan::{ChangeDetail, ControllerSwitchValues, KNOWN_AFTER_APPLY};
use crate::AwsClients;

/// Whether ECS refused the role because IAM has not propagated it yet (a fresh role).
fn is_role_propagation(e: &Error) -> bool {
    let Error::Aws(a) = e else { return false };
    a.code() == Some("InvalidParameterException") && {
        let m = a.to_string().to_ascii_lowercase();
        m.contains("assume") || m.contains("role")
    }
}

async fn switch(aws: &AwsClients, v: &ControllerSwitchValues, entries: &[crate::inventory::LoadBalancerEntry]) -> Result<()> {
    let controller = built("UpdateService", ecs::DeploymentController::builder().r#type(ecs::DeploymentControllerType::Ecs).build())?;
    aws.ecs
        .update_service()
        .cluster(&v.cluster)
        .service(&v.service)
        .deployment_controller(controller)
        .deployment_configuration(crate::convert::deployment_configuration_to_sdk(&v.deployment_configuration))
        .set_load_balancers(Some(entries.iter().map(crate::convert::lb_entry_to_sdk).collect()))
        .send()
        .await
        .ctx("UpdateService", format!("{}/{}", v.cluster, v.service))
        .map(|_| ())
}

/// Switches the controller (idempotent: a service on `ECS` already is only waited for).
pub(crate) async fn apply(cx: &Ctx<'_>, v: &ControllerSwitchValues) -> Result<()> {
    let aws = cx.aws;
    let live = describe_service(aws, &v.cluster, &v.service)
        .await?
        .filter(|s| s.status == "ACTIVE")
        .ok_or_else(|| Error::custom(format!("service {}/{} is gone", v.cluster, v.service)))?;
    if live.deployment_controller == "ECS" {
        return super::native_load_balancer::wait_deployed(aws, &v.cluster, &v.service, cx.waits()).await;
    }
    let mut entries = v.load_balancers.clone();
    for e in &mut entries {
        if let Some(a) = e.advanced_configuration.as_mut().filter(|a| a.role_arn.as_deref() == Some(KNOWN_AFTER_APPLY)) {
            a.role_arn = Some(super::native_load_balancer::infrastructure_role_arn(cx).await?);
        }
    }
    // The journal keeps the service as it was: undo recreates it from that.
    let definition = Box::new(if cx.is_resumed() { (*v.from).clone() } else { crate::inventory::ServiceDefinition { scaling: v.from.scaling.clone(), ..live } });
    let intent = Effect::ServiceControllerSwitched {
        cluster: v.cluster.clone(),
        definition,
        production_listener_arn: v.production_listener_arn.clone(),
        production_actions: v.production_actions.clone(),
    };
    cx.mutate(
        intent,
        crate::wait::retry(
            &format!("the controller switch of {} (IAM propagation)", v.service),
            cx.waits().iam_propagation,
            is_role_propagation,
            || switch(aws, v, &entries),
        ),
        |_, e| e,
    )
    .await?;
    cx.waiting(format!("the first ECS deployment of service {}", v.service));
    super::native_load_balancer::wait_deployed(aws, &v.cluster, &v.service, cx.waits()).await
}

/// The built-in step: its planned change.
pub(crate) struct ControllerSwitchStep(pub(crate) crate::plan::Change);

impl crate::step::Step for ControllerSwitchStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        use crate::permission::Permission;
        let ChangeDetail::ControllerSwitch(v) = &self.0.detail else { return Vec::new() };
        let service = cx.service_arn(&v.cluster, &v.service);
        // Undo deletes the service and creates it again on CODE_DEPLOY (no way back in place).
        let mut out: Vec<Permission> =
            ["DescribeServices", "UpdateService", "DeleteService", "CreateService", "TagResource"].map(|a| Permission::on(format!("ecs:{a}"), service.clone())).into();
        out.extend([
            Permission::any_resource("ecs:ListTasks"),
            Permission::on("ecs:DescribeTasks", cx.tasks_arn(&v.cluster)),
            Permission::on("ecs:DescribeContainerInstances", cx.container_instances_arn(&v.cluster)),
            Permission::any_resource("elasticloadbalancing:DescribeTargetHealth"),
        ]);
        if let Some(listener) = &v.production_listener_arn {
            // Undo puts back the production listener's actions the switch's deployment swung.
            out.push(Permission::any_resource("elasticloadbalancing:DescribeListeners"));
            out.push(Permission::on("elasticloadbalancing:ModifyListener", listener.clone()));
        }
        let given = v.load_balancers.iter().find_map(|e| e.advanced_configuration.as_ref()?.role_arn.as_deref()).filter(|r| *r != crate::plan::KNOWN_AFTER_APPLY);
        if let Some(role) = cx.role_or_planned(given, &crate::spec::StepId::InfrastructureRole) {
            out.push(Permission::on("iam:GetRole", role.clone()));
            // UpdateService passes the infrastructure role to ECS.
            out.push(Permission::pass_role(role, "ecs.amazonaws.com"));
        }
        if let Some(scaling) = &v.from.scaling {
            out.extend(super::scaling::scaling_permissions(cx, scaling));
        }
        out
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["ecs:DescribeServices", "iam:GetRole"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ChangeDetail::ControllerSwitch(v) = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            apply(cx, v).await
        })
    }
}
