//! Back to rolling, UpdateService #2: the service's load balancer entry loses its
//! `advancedConfiguration` and keeps the target group that serves production now. ECS runs it as
//! a rolling deployment; the step waits for it. Undo sends the journaled entries back (with the
//! advanced configuration), the production rule's weights untouched.

use super::Ctx;
use crate::discover::describe_service;
use crate::error::{Error, Result};
use crate::journal::Effect;
use crate::plan::{ChangeDetail, RollingLoadBalancerValues};

/// Applies the entry without advanced configuration (idempotent: an entry that is already so is
/// left alone, its deployment waited for).
pub(crate) async fn apply(cx: &Ctx<'_>, v: &RollingLoadBalancerValues) -> Result<()> {
    let aws = cx.aws;
    let live = describe_service(aws, &v.cluster, &v.service)
        .await?
        .ok_or_else(|| Error::custom(format!("service {}/{} is gone", v.cluster, v.service)))?;
    let wait = super::native_load_balancer::wait_deployed;
    if live.load_balancers.as_slice() == std::slice::from_ref(&v.after) {
        return wait(aws, &v.cluster, &v.service, cx.waits()).await;
    }
    // The journal keeps the entries as they were, so undo restores them exactly.
    let before = if cx.is_resumed() { v.before.clone() } else { live.load_balancers.clone() };
    let intent = Effect::ServiceLoadBalancersChanged {
        cluster: v.cluster.clone(),
        service: v.service.clone(),
        before,
        // This run moves no listener weight: there is none to put back.
        production_listener_arn: None,
        production_actions: Vec::new(),
    };
    let update = super::native_load_balancer::update_load_balancers(aws, &v.cluster, &v.service, std::slice::from_ref(&v.after));
    cx.mutate(intent, update, |_, e| e).await?;
    cx.waiting(format!("the rolling deployment of service {} without the advanced configuration", v.service));
    wait(aws, &v.cluster, &v.service, cx.waits()).await
}

/// The built-in step: its planned change.
pub(crate) struct RollingLoadBalancerStep(pub(crate) crate::plan::Change);

impl crate::step::Step for RollingLoadBalancerStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        use crate::permission::Permission;
        let ChangeDetail::RollingLoadBalancer(v) = &self.0.detail else { return Vec::new() };
        let service = cx.service_arn(&v.cluster, &v.service);
        let mut out = vec![Permission::on("ecs:DescribeServices", service.clone()), Permission::on("ecs:UpdateService", service)];
        // Undo sends the advanced configuration back, which passes its role to ECS again.
        let roles = v.before.iter().filter_map(|e| e.advanced_configuration.as_ref()?.role_arn.clone());
        out.extend(roles.map(|r| Permission::pass_role(r, "ecs.amazonaws.com")));
        out
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["ecs:DescribeServices"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ChangeDetail::RollingLoadBalancer(v) = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            apply(cx, v).await
        })
    }
}
