//! ECS-native target, UpdateService #2: the deployment strategy becomes `BLUE_GREEN`, `LINEAR`
//! or `CANARY` with its bake times, merged with the service's configuration (percents,
//! circuit breaker and alarms kept). ECS starts no deployment for it. Undo restores the
//! journaled configuration with strategy `ROLLING`.

use super::Ctx;
use crate::discover::describe_service;
use crate::error::{Error, Result, SdkResultExt};
use crate::inventory::DeploymentConfigurationDef;
use crate::journal::Effect;
use crate::plan::ChangeDetail;
use crate::AwsClients;

pub(crate) async fn update(aws: &AwsClients, cluster: &str, service: &str, config: &DeploymentConfigurationDef) -> Result<()> {
    aws.ecs
        .update_service()
        .cluster(cluster)
        .service(service)
        .deployment_configuration(crate::convert::deployment_configuration_to_sdk(config))
        .send()
        .await
        .ctx("UpdateService", format!("{cluster}/{service}"))
        .map(|_| ())
}

/// Whether the live configuration carries the strategy settings of `after`.
fn has_strategy(live: Option<&DeploymentConfigurationDef>, after: &DeploymentConfigurationDef) -> bool {
    live.is_some_and(|l| {
        l.strategy == after.strategy
            && l.bake_time_in_minutes == after.bake_time_in_minutes
            && (after.linear.is_none() || l.linear == after.linear)
            && (after.canary.is_none() || l.canary == after.canary)
    })
}

/// Sets the strategy (idempotent: a service that has it is left alone).
pub(crate) async fn apply(cx: &Ctx<'_>, cluster: &str, service: &str, before: Option<&DeploymentConfigurationDef>, after: &DeploymentConfigurationDef) -> Result<()> {
    let live = describe_service(cx.aws, cluster, service)
        .await?
        .ok_or_else(|| Error::custom(format!("service {cluster}/{service} is gone")))?;
    if has_strategy(live.deployment_configuration.as_ref(), after) {
        return Ok(());
    }
    // A resumed run journals the plan's "before": the live one may be this run's own half-change.
    let before = if cx.is_resumed() { before.cloned() } else { live.deployment_configuration.clone() };
    let intent = Effect::ServiceDeploymentConfigurationChanged { cluster: cluster.to_owned(), service: service.to_owned(), before: before.map(Box::new) };
    cx.mutate(intent, update(cx.aws, cluster, service, after), |_, e| e).await
}

/// Restores the journaled configuration, strategy `ROLLING` (what an absent strategy means).
pub(crate) async fn undo(aws: &AwsClients, cluster: &str, service: &str, before: Option<&DeploymentConfigurationDef>) -> Result<()> {
    let live = match describe_service(aws, cluster, service).await? {
        Some(s) if s.status == "ACTIVE" => s,
        _ => return Ok(()),
    };
    let mut restored = before.cloned().unwrap_or_default();
    restored.strategy.get_or_insert_with(|| "ROLLING".to_owned());
    let live_strategy = live.deployment_configuration.as_ref().and_then(|d| d.strategy.as_deref()).unwrap_or("ROLLING");
    if live_strategy == "ROLLING" && live.deployment_configuration.as_ref() == before {
        return Ok(());
    }
    match update(aws, cluster, service, &restored).await {
        Err(Error::Aws(e)) if matches!(e.code(), Some("ServiceNotFoundException" | "ServiceNotActiveException")) => Ok(()),
        other => other,
    }
}

/// The built-in step: its planned change.
pub(crate) struct NativeStrategyStep(pub(crate) crate::plan::Change);

impl crate::step::Step for NativeStrategyStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let ChangeDetail::NativeStrategy { cluster, service, .. } = &self.0.detail else { return Vec::new() };
        let arn = cx.service_arn(cluster, service);
        vec![crate::permission::Permission::on("ecs:DescribeServices", arn.clone()), crate::permission::Permission::on("ecs:UpdateService", arn)]
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["ecs:DescribeServices"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ChangeDetail::NativeStrategy { cluster, service, before, after, .. } = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            apply(cx, cluster, service, before.as_ref(), after).await
        })
    }
}
