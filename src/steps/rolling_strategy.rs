//! Back to rolling, UpdateService #1: the deployment strategy becomes `ROLLING` (AWS's
//! "update-bluegreen-to-rolling" starts here; ECS starts no deployment for it). Percents,
//! circuit breaker and alarms are kept. Undo restores the journaled blue/green configuration.

use super::Ctx;
use crate::discover::describe_service;
use crate::error::{Error, Result};
use crate::inventory::DeploymentConfigurationDef;
use crate::journal::Effect;
use crate::plan::ChangeDetail;

/// Sets strategy `ROLLING` (idempotent: a service on ROLLING is left alone; a bake time ECS
/// may keep stored is unused under ROLLING).
pub(crate) async fn apply(cx: &Ctx<'_>, cluster: &str, service: &str, before: Option<&DeploymentConfigurationDef>, after: &DeploymentConfigurationDef) -> Result<()> {
    let live = describe_service(cx.aws, cluster, service)
        .await?
        .ok_or_else(|| Error::custom(format!("service {cluster}/{service} is gone")))?;
    if live.deployment_configuration.as_ref().and_then(|d| d.strategy.as_deref()).unwrap_or("ROLLING") == "ROLLING" {
        return Ok(());
    }
    // A resumed run journals the plan's "before": the live one may be this run's own half-change.
    let before = if cx.is_resumed() { before.cloned() } else { live.deployment_configuration.clone() };
    let intent = Effect::ServiceDeploymentConfigurationChanged { cluster: cluster.to_owned(), service: service.to_owned(), before: before.map(Box::new) };
    cx.mutate(intent, super::native_strategy::update(cx.aws, cluster, service, after), |_, e| e).await
}

/// The built-in step: its planned change.
pub(crate) struct RollingStrategyStep(pub(crate) crate::plan::Change);

impl crate::step::Step for RollingStrategyStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        use crate::permission::Permission;
        let ChangeDetail::RollingStrategy { cluster, service, .. } = &self.0.detail else { return Vec::new() };
        let arn = cx.service_arn(cluster, service);
        vec![Permission::on("ecs:DescribeServices", arn.clone()), Permission::on("ecs:UpdateService", arn)]
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["ecs:DescribeServices"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ChangeDetail::RollingStrategy { cluster, service, before, after, .. } = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            apply(cx, cluster, service, before.as_ref(), after).await
        })
    }
}
