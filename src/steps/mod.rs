//! The steps of the migration, one file each. Every step's `apply` is idempotent
//! (describe, then create only what is missing) and journals an intent before and an
//! outcome after each mutating call; every `undo` tolerates a resource already gone and
//! never touches what this migration did not create.

pub(crate) mod application;
pub(crate) mod application_removal;
pub(crate) mod controller_switch;
pub(crate) mod deployment_group;
pub(crate) mod deployment_group_removal;
pub(crate) mod ecs_service;
pub(crate) mod green_target_group;
pub(crate) mod native_load_balancer;
pub(crate) mod native_strategy;
pub(crate) mod pipeline;
pub(crate) mod pipeline_role;
pub(crate) mod rolling_load_balancer;
pub(crate) mod rolling_strategy;
pub(crate) mod service_cutover;
#[cfg(all(test, feature = "test-util"))]
mod shared_waits_tests;
pub(crate) mod scaling;
pub(crate) mod service_role;
pub(crate) mod test_listener;

use crate::error::{AwsApiError, Error, Result};
use crate::journal::Effect;
use crate::plan::{Change, ChangeDetail, Plan};
use crate::registry::StepRegistry;
use crate::step::{Step, StepContext, UndoContext};
use crate::wait::Waits;
use crate::AwsClients;

/// The context built-in steps run in.
pub(crate) type Ctx<'a> = StepContext<'a>;

/// The step of a planned change: a built-in one by its detail, a user's one from `registry`.
pub(crate) fn build(change: &Change, registry: &StepRegistry) -> Result<Box<dyn Step>> {
    let c = change.clone();
    Ok(match &change.detail {
        ChangeDetail::GreenTargetGroup { .. } => Box::new(green_target_group::GreenTargetGroupStep(c)),
        ChangeDetail::TestListener { .. } => Box::new(test_listener::TestListenerStep(c)),
        ChangeDetail::ServiceRole { .. } => Box::new(service_role::ServiceRoleStep(c)),
        ChangeDetail::Application { .. } => Box::new(application::ApplicationStep(c)),
        ChangeDetail::DeploymentGroup(_) => Box::new(deployment_group::DeploymentGroupStep(c)),
        ChangeDetail::ServiceCutover { .. } => Box::new(service_cutover::ServiceCutoverStep(c)),
        ChangeDetail::PipelineDeployAction { .. } => Box::new(pipeline::PipelineStep(c)),
        ChangeDetail::ServiceScaling { .. } => Box::new(scaling::ServiceScalingStep(c)),
        ChangeDetail::NativeLoadBalancer(_) => Box::new(native_load_balancer::NativeLoadBalancerStep(c)),
        ChangeDetail::NativeStrategy { .. } => Box::new(native_strategy::NativeStrategyStep(c)),
        ChangeDetail::PipelineRolePolicy { .. } => Box::new(pipeline_role::PipelineRolePolicyStep(c)),
        ChangeDetail::RollingStrategy { .. } => Box::new(rolling_strategy::RollingStrategyStep(c)),
        ChangeDetail::RollingLoadBalancer(_) => Box::new(rolling_load_balancer::RollingLoadBalancerStep(c)),
        ChangeDetail::DeploymentGroupRemoval(_) => Box::new(deployment_group_removal::DeploymentGroupRemovalStep(c)),
        ChangeDetail::ApplicationRemoval { .. } => Box::new(application_removal::ApplicationRemovalStep(c)),
        ChangeDetail::ControllerSwitch(_) => Box::new(controller_switch::ControllerSwitchStep(c)),
        ChangeDetail::Custom(custom) => {
            let step = registry.build(custom)?;
            if step.id() != change.step {
                return Err(Error::custom(format!(
                    "the step registered as {:?} rebuilt itself with id {}, but the plan names it {}",
                    custom.kind(),
                    step.id(),
                    change.step
                )));
            }
            step
        }
    })
}

/// The three methods every built-in step takes from its planned change (`self.0`).
macro_rules! from_planned_change {
    () => {
        fn id(&self) -> crate::step::StepId {
            self.0.step.clone()
        }
        fn depends_on(&self) -> Vec<crate::step::StepId> {
            self.0.depends_on.clone()
        }
        fn planned(&self) -> crate::step::Planned {
            crate::step::Planned::new(self.0.action, self.0.detail.clone())
        }
        fn undo<'a>(
            &'a self,
            cx: &'a crate::step::UndoContext<'a>,
            effect: &'a crate::journal::Effect,
            confirmed: bool,
        ) -> futures::future::BoxFuture<'a, crate::error::Result<()>> {
            Box::pin(super::undo(cx, effect, confirmed))
        }
        fn manual_undo(&self, effect: &crate::journal::Effect) -> String {
            super::manual_removal(effect)
        }
    };
}
pub(crate) use from_planned_change;

/// A built-in step given a change of another step's kind: a bug, reported rather than panicking.
pub(crate) fn wrong_detail(change: &Change) -> Error {
    Error::custom(format!("step {} was built from a change of another kind", change.step))
}

/// Turns an SDK builder error into ours.
pub(crate) fn built<T>(op: &'static str, r: std::result::Result<T, aws_smithy_types::error::operation::BuildError>) -> Result<T> {
    r.map_err(|e| Error::Aws(AwsApiError::new(op, "request", None, e.to_string())))
}

pub(crate) use crate::error::has_code;

/// Undoes one effect of a built-in step. `confirmed == false` means the call's outcome is
/// unknown (crash): the resource is looked up by name and ownership before anything is removed.
pub(crate) async fn undo(cx: &UndoContext<'_>, effect: &Effect, confirmed: bool) -> Result<()> {
    let (aws, plan, opts): (&AwsClients, &Plan, &Waits) = (cx.aws, cx.plan, cx.opts);
    let migration_id = plan.migration_id.as_str();
    match effect {
        Effect::TargetGroupCreated { name, arn } => green_target_group::undo(aws, migration_id, name, arn.as_deref()).await,
        Effect::ListenerCreated { load_balancer_arn, port, arn } => {
            test_listener::undo_create(aws, migration_id, load_balancer_arn, *port, arn.as_deref()).await
        }
        Effect::ListenerForwardChanged { listener_arn, before } => {
            test_listener::undo_forward(aws, listener_arn, before).await
        }
        Effect::ListenerActionsChanged { listener_arn, before } => test_listener::undo_actions(aws, listener_arn, before).await,
        Effect::RoleCreated { name, policy_arn } => service_role::undo(aws, migration_id, name, policy_arn).await,
        Effect::RolePolicyPut { role, policy_name, document } => {
            pipeline_role::undo(aws, role, policy_name, document, confirmed).await
        }
        Effect::ApplicationCreated { name } => application::undo(aws, plan, name, confirmed).await,
        Effect::DeploymentGroupCreated { application, name } => deployment_group::undo(aws, plan, application, name, confirmed).await,
        Effect::ServiceCreated { cluster, name, controller } => {
            ecs_service::undo_create(aws, cluster, name, controller, opts).await
        }
        Effect::ServiceDeleted { cluster, definition } => ecs_service::undo_delete(aws, plan, cluster, definition, opts).await,
        Effect::ScalingRegistered { cluster, service, controller } => scaling::undo_register(aws, cluster, service, controller).await,
        Effect::AlarmActionsChanged { before } => scaling::undo_alarm(aws, plan, before).await,
        Effect::PipelineActionReplaced { pipeline, stage, before } => pipeline::undo(aws, pipeline, stage, before).await,
        Effect::ServiceLoadBalancersChanged { cluster, service, before, production_listener_arn, production_actions } => {
            native_load_balancer::undo(aws, cluster, service, before, opts).await?;
            match production_listener_arn {
                Some(arn) if !production_actions.is_empty() => native_load_balancer::undo_swing(aws, arn, production_actions).await,
                _ => Ok(()),
            }
        }
        Effect::ServiceDeploymentConfigurationChanged { cluster, service, before } => {
            native_strategy::undo(aws, cluster, service, before.as_deref()).await
        }
        Effect::DeploymentGroupDeleted { values } => deployment_group_removal::undo(aws, values).await,
        Effect::ApplicationDeleted { name, tags } => application_removal::undo(aws, name, tags).await,
        Effect::ServiceControllerSwitched { cluster, definition, production_listener_arn, production_actions } => {
            ecs_service::undo_delete(aws, plan, cluster, definition, opts).await?;
            // The switch's blue/green deployment moved production to the other group: back to
            // the group the recreated service serves.
            match production_listener_arn {
                Some(arn) if !production_actions.is_empty() => native_load_balancer::undo_swing(aws, arn, production_actions).await,
                _ => Ok(()),
            }
        }
        Effect::Custom { what, .. } => Err(Error::custom(format!("{what} was journaled by a user's step, not a built-in one"))),
    }
}

/// How to remove what an undo could not, for the report.
pub(crate) fn manual_removal(effect: &Effect) -> String {
    match effect {
        Effect::TargetGroupCreated { name, arn } => format!(
            "aws elbv2 delete-target-group --target-group-arn {}",
            arn.clone().unwrap_or_else(|| format!("$(aws elbv2 describe-target-groups --names {name} --query 'TargetGroups[0].TargetGroupArn' --output text)"))
        ),
        Effect::ListenerCreated { arn, port, .. } => format!(
            "aws elbv2 delete-listener --listener-arn {}",
            arn.clone().unwrap_or_else(|| format!("<the listener on port {port}>"))
        ),
        Effect::ListenerForwardChanged { listener_arn, before } => format!(
            "aws elbv2 modify-listener --listener-arn {listener_arn} --default-actions Type=forward,TargetGroupArn={}",
            before.first().map(|t| t.target_group_arn.as_str()).unwrap_or("<blue target group>")
        ),
        Effect::ListenerActionsChanged { listener_arn, .. } => format!(
            "aws elbv2 modify-listener --listener-arn {listener_arn} --default-actions <the list journaled as `before`, OIDC with UseExistingClientSecret=true>"
        ),
        Effect::RoleCreated { name, policy_arn } => format!(
            "aws iam detach-role-policy --role-name {name} --policy-arn {policy_arn} && aws iam delete-role --role-name {name}"
        ),
        Effect::RolePolicyPut { role, policy_name, .. } => {
            format!("aws iam delete-role-policy --role-name {role} --policy-name {policy_name}")
        }
        Effect::ApplicationCreated { name } => format!("aws deploy delete-application --application-name {name}"),
        Effect::DeploymentGroupCreated { application, name } => format!(
            "aws deploy delete-deployment-group --application-name {application} --deployment-group-name {name}"
        ),
        Effect::ServiceCreated { cluster, name, .. } => {
            format!("aws ecs delete-service --cluster {cluster} --service {name} --force")
        }
        Effect::ServiceDeleted { cluster, definition } => format!(
            "recreate service {cluster}/{} from the definition in the journal (ecs-bluegreen rollback retries this)",
            definition.name
        ),
        Effect::PipelineActionReplaced { pipeline, stage, before } => format!(
            "restore action {stage}/{} of pipeline {pipeline} to provider {} (ecs-bluegreen rollback retries this)",
            before.name, before.provider
        ),
        Effect::ScalingRegistered { cluster, service, .. } => format!(
            "aws application-autoscaling deregister-scalable-target --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/{cluster}/{service}"
        ),
        Effect::AlarmActionsChanged { before } => format!(
            "restore CloudWatch alarm {} from the journal (aws cloudwatch put-metric-alarm with its `before` fields; ecs-bluegreen rollback retries this)",
            before.name
        ),
        Effect::ServiceLoadBalancersChanged { cluster, service, .. } => format!(
            "aws ecs update-service --cluster {cluster} --service {service} --load-balancers <the entries journaled as `before`, without advancedConfiguration>"
        ),
        Effect::ServiceDeploymentConfigurationChanged { cluster, service, .. } => format!(
            "aws ecs update-service --cluster {cluster} --service {service} --deployment-configuration strategy=ROLLING,<the rest journaled as `before`>"
        ),
        Effect::DeploymentGroupDeleted { values } => format!(
            "recreate deployment group {}/{} from the values in the journal (ecs-bluegreen rollback retries this)",
            values.application, values.name
        ),
        Effect::ApplicationDeleted { name, .. } => format!("aws deploy create-application --application-name {name} --compute-platform ECS"),
        Effect::ServiceControllerSwitched { cluster, definition, .. } => format!(
            "recreate service {cluster}/{} on the CODE_DEPLOY controller from the definition in the journal (ecs-bluegreen rollback retries this)",
            definition.name
        ),
        Effect::Custom { what, .. } => format!("undo by hand: {what}"),
    }
}
