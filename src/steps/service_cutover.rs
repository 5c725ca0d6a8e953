//! Service cutover to `CODE_DEPLOY`. AWS cannot switch the controller in place, so the
//! service is recreated; the strategy decides whether traffic is served meanwhile.
//!
//! Every sub-action looks at the live state first, so a resumed run continues where a
//! crashed one stopped. The original definition is journaled before it is deleted.

use super::Ctx;
use super::ecs_service::{active, create_service, delete_service_call, wait_healthy, wait_inactive, wait_running};
use crate::error::Result;
use crate::inventory::{OWNERSHIP_TAG, ServiceDefinition};
use crate::spec::ServiceCutover;
use crate::journal::Effect;
use super::scaling::{Repoint, register_journaled, repoint_journaled};

const CODE_DEPLOY: &str = "CODE_DEPLOY";

/// Runs the cutover.
pub(crate) async fn apply(
    ctx: &Ctx<'_>,
    strategy: &ServiceCutover,
    from: &ServiceDefinition,
    to: &ServiceDefinition,
    bridge_name: Option<&str>,
) -> Result<()> {
    let cluster = ctx.plan.cluster.as_str();
    match strategy {
        ServiceCutover::Parallel { new_name } => {
            if active(ctx.aws, cluster, new_name.as_str()).await?.is_none() {
                create(ctx, to, CODE_DEPLOY, &[]).await?;
            }
            wait(ctx, new_name.as_str()).await?;
            healthy(ctx, to, new_name.as_str()).await?;
            if active(ctx.aws, cluster, &from.name).await?.is_some_and(|s| s.deployment_controller != CODE_DEPLOY) {
                delete(ctx, from).await?;
            }
        }
        ServiceCutover::ParallelKeepName => {
            let bridge_name = bridge_name.unwrap_or_default();
            let mut bridge = from.clone();
            bridge.name = bridge_name.to_owned();
            bridge.tags.insert(OWNERSHIP_TAG.to_owned(), ctx.migration_id().to_owned());
            // The bridge's scaling is registered below and leaves with the bridge.
            bridge.scaling = None;
            let original = active(ctx.aws, cluster, &from.name).await?;
            if original.as_ref().is_none_or(|s| s.deployment_controller != CODE_DEPLOY) {
                // The bridge carries traffic while the name is free.
                if active(ctx.aws, cluster, bridge_name).await?.is_none() {
                    create(ctx, &bridge, "ECS", &[]).await?;
                }
                // It scales as the original does, so load during the cutover is absorbed; its
                // step policies join the original's in the alarms (the scaling step re-points
                // them to the final service's).
                if let Some(scaling) = &from.scaling {
                    let arns = register_journaled(ctx, bridge_name, "ECS", scaling).await?;
                    repoint_journaled(ctx, scaling, &arns, Repoint::Add).await?;
                }
                wait(ctx, bridge_name).await?;
                healthy(ctx, &bridge, bridge_name).await?;
                if original.is_some() {
                    delete(ctx, from).await?;
                }
                create(ctx, to, CODE_DEPLOY, &[]).await?;
            }
            wait(ctx, &to.name).await?;
            healthy(ctx, to, &to.name).await?;
            if active(ctx.aws, cluster, bridge_name).await?.is_some() {
                delete(ctx, &bridge).await?;
            }
        }
        _ => {
            // Recreate: the manual procedure, with downtime until the new tasks run.
            let original = active(ctx.aws, cluster, &from.name).await?;
            if original.as_ref().is_some_and(|s| s.deployment_controller != CODE_DEPLOY) {
                delete(ctx, from).await?;
            }
            if original.as_ref().is_none_or(|s| s.deployment_controller != CODE_DEPLOY) {
                create(ctx, to, CODE_DEPLOY, &[]).await?;
            }
            wait(ctx, &to.name).await?;
        }
    }
    Ok(())
}

async fn create(ctx: &Ctx<'_>, def: &ServiceDefinition, controller: &str, extra_tags: &[(String, String)]) -> Result<()> {
    let cluster = ctx.plan.cluster.clone();
    let effect = Effect::ServiceCreated { cluster: cluster.clone(), name: def.name.clone(), controller: controller.to_owned() };
    ctx.mutate(effect, create_service(ctx.aws, &cluster, &def.name, def, controller, extra_tags), |_, e| e).await
}

async fn delete(ctx: &Ctx<'_>, def: &ServiceDefinition) -> Result<()> {
    let cluster = ctx.plan.cluster.clone();
    let effect = Effect::ServiceDeleted { cluster: cluster.clone(), definition: Box::new(def.clone()) };
    // Journal the delete call alone: once it succeeded the service must be restored on undo,
    // even if the wait that follows fails.
    ctx.mutate(effect, delete_service_call(ctx.aws, &cluster, &def.name), |_, e| e).await?;
    ctx.waiting(format!("service {} to become INACTIVE", def.name));
    wait_inactive(ctx.aws, &cluster, &def.name, ctx.opts).await
}

/// Waits until the service's tasks are healthy targets (where reported) before the caller
/// stops the service that serves meanwhile.
async fn healthy(ctx: &Ctx<'_>, def: &ServiceDefinition, name: &str) -> Result<()> {
    ctx.waiting(format!("the tasks of service {name} to pass health checks"));
    wait_healthy(ctx.aws, &ctx.plan.cluster, def, name, ctx.opts).await
}

async fn wait(ctx: &Ctx<'_>, name: &str) -> Result<()> {
    ctx.waiting(format!("service {name} to run its desired tasks"));
    wait_running(ctx.aws, &ctx.plan.cluster, name, ctx.opts).await.map(|_| ())
}

/// The built-in step: its planned change.
pub(crate) struct ServiceCutoverStep(pub(crate) crate::plan::Change);

impl crate::step::Step for ServiceCutoverStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let crate::plan::ChangeDetail::ServiceCutover { from, to, bridge_name, .. } = &self.0.detail else { return Vec::new() };
        let cluster = &cx.plan().cluster;
        let mut names = vec![from.name.clone(), to.name.clone()];
        names.extend(bridge_name.clone());
        names.sort();
        names.dedup();
        let services: Vec<String> = names.iter().map(|n| cx.service_arn(cluster, n)).collect();
        let mut out: Vec<crate::permission::Permission> = ["DescribeServices", "CreateService", "UpdateService", "DeleteService", "TagResource"]
            .map(|a| crate::permission::Permission::new(format!("ecs:{a}"), services.clone()))
            .into();
        out.extend([
            // ListTasks is scoped by container instance, which Fargate tasks have none of.
            crate::permission::Permission::any_resource("ecs:ListTasks"),
            crate::permission::Permission::on("ecs:DescribeTasks", cx.tasks_arn(cluster)),
            crate::permission::Permission::on("ecs:DescribeContainerInstances", cx.container_instances_arn(cluster)),
            crate::permission::Permission::any_resource("elasticloadbalancing:DescribeTargetHealth"),
        ]);
        // Deleting the service deregisters its scaling; the new service (and a restored
        // original, on undo) registers it again.
        for def in [from, to] {
            if let Some(scaling) = &def.scaling {
                out.extend(super::scaling::scaling_permissions(cx, scaling));
            }
        }
        out
    }

    fn reads(&self) -> Vec<&'static str> {
        vec![
            "ecs:DescribeServices",
            "ecs:ListTasks",
            "ecs:DescribeTasks",
            "ecs:DescribeContainerInstances",
            "elasticloadbalancing:DescribeTargetHealth",
        ]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let crate::plan::ChangeDetail::ServiceCutover { strategy, from, to, bridge_name, .. } = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            apply(cx, strategy, from, to, bridge_name.as_deref()).await
        })
    }
}
