//! The steps of the migration, one file each. Every step's `apply` is idempotent
//! (describe, then create only what is missing) and journals an intent before and an
//! outcome after each mutating call; every `undo` tolerates a resource already gone and
//! never touches what this migration did not create.

pub(crate) mod application;
pub(crate) mod deployment_group;
pub(crate) mod ecs_service;
pub(crate) mod green_target_group;
pub(crate) mod pipeline;
pub(crate) mod service_cutover;
pub(crate) mod service_role;
pub(crate) mod test_listener;

use std::sync::Mutex;

use crate::error::{AwsApiError, Error, Result};
use crate::plan::{Plan, StepId};
use crate::txn::journal::{Effect, Entry, Journal};
use crate::txn::{ApplyOptions, Event};
use crate::AwsClients;

/// Identifiers steps hand to later steps.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outputs {
    pub green_target_group_arn: Option<String>,
    pub test_listener_arn: Option<String>,
    pub role_arn: Option<String>,
}

/// What a running step may use.
pub(crate) struct Ctx<'a> {
    pub aws: &'a AwsClients,
    pub journal: &'a dyn Journal,
    pub plan: &'a Plan,
    pub opts: &'a ApplyOptions,
    pub outputs: Mutex<Outputs>,
    /// A first run straight after planning: what the plan saw is current, so steps create
    /// without looking again. A resumed run looks first (it may have done part already).
    pub fresh: bool,
}

impl Ctx<'_> {
    pub fn migration_id(&self) -> &str {
        &self.plan.migration_id
    }

    pub fn emit(&self, event: Event) {
        self.opts.emit(&event);
    }

    pub fn outputs(&self) -> Outputs {
        self.outputs.lock().expect("outputs poisoned").clone()
    }

    pub fn set_outputs(&self, f: impl FnOnce(&mut Outputs)) {
        f(&mut self.outputs.lock().expect("outputs poisoned"));
    }

    /// Journals the intent, runs the call, journals its outcome. `done` turns the call's
    /// result into the effect as it happened (with AWS-assigned ids).
    pub async fn mutate<T>(
        &self,
        step: StepId,
        intent: Effect,
        call: impl Future<Output = Result<T>>,
        done: impl FnOnce(&T, Effect) -> Effect,
    ) -> Result<T> {
        let seq = self.journal.append(Entry::Intent { step, effect: intent.clone() })?;
        self.emit(Event::Mutating { step, what: intent.describe() });
        match call.await {
            Ok(v) => {
                let effect = done(&v, intent);
                self.journal.append(Entry::Done { intent: seq, effect })?;
                Ok(v)
            }
            // A refusal from the service changed nothing; any other failure may have reached
            // the service, so the intent stays pending and undo looks the resource up.
            Err(e) if is_refusal(&e) => {
                self.journal.append(Entry::Failed { intent: seq, error: e.to_string() })?;
                Err(e)
            }
            Err(e) => {
                self.journal.append(Entry::Uncertain { intent: seq, error: e.to_string() })?;
                Err(e)
            }
        }
    }

    /// A mutating call whose undo is recorded elsewhere (e.g. attributes of a created group).
    pub async fn call<T>(&self, step: StepId, what: String, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.emit(Event::Mutating { step, what });
        call.await
    }
}

/// Whether the service itself answered with an error (so the call did not take effect).
fn is_refusal(e: &Error) -> bool {
    match e {
        Error::Aws(a) => a.code().is_some() && a.kind() != crate::ErrorKind::Timeout,
        _ => false,
    }
}

/// Turns an SDK builder error into ours.
pub(crate) fn built<T>(op: &'static str, r: std::result::Result<T, aws_smithy_types::error::operation::BuildError>) -> Result<T> {
    r.map_err(|e| Error::Aws(AwsApiError::new(op, "request", None, e.to_string())))
}

/// Whether an SDK error carries one of `codes`.
pub(crate) fn has_code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    codes: &[&str],
) -> bool {
    err.as_service_error().and_then(|e| e.code()).is_some_and(|c| codes.contains(&c))
}

/// Undoes one effect. `confirmed == false` means the call's outcome is unknown (crash):
/// the resource is looked up by name and ownership before anything is removed.
pub(crate) async fn undo(aws: &AwsClients, plan: &Plan, effect: &Effect, confirmed: bool, opts: &ApplyOptions) -> Result<()> {
    let migration_id = plan.migration_id.as_str();
    match effect {
        Effect::TargetGroupCreated { name, arn } => green_target_group::undo(aws, migration_id, name, arn.as_deref()).await,
        Effect::ListenerCreated { load_balancer_arn, port, arn } => {
            test_listener::undo_create(aws, migration_id, load_balancer_arn, *port, arn.as_deref()).await
        }
        Effect::ListenerForwardChanged { listener_arn, before } => {
            test_listener::undo_forward(aws, listener_arn, before).await
        }
        Effect::RoleCreated { name, policy_arn } => service_role::undo(aws, migration_id, name, policy_arn).await,
        Effect::ApplicationCreated { name } => application::undo(aws, plan, name, confirmed).await,
        Effect::DeploymentGroupCreated { application, name } => deployment_group::undo(aws, application, name).await,
        Effect::ServiceCreated { cluster, name, controller } => {
            ecs_service::undo_create(aws, cluster, name, controller, opts).await
        }
        Effect::ServiceDeleted { cluster, definition } => ecs_service::undo_delete(aws, cluster, definition, opts).await,
        Effect::PipelineActionReplaced { pipeline, stage, before } => pipeline::undo(aws, pipeline, stage, before).await,
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
        Effect::RoleCreated { name, policy_arn } => format!(
            "aws iam detach-role-policy --role-name {name} --policy-arn {policy_arn} && aws iam delete-role --role-name {name}"
        ),
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
    }
}
