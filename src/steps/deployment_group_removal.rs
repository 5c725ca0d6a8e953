//! Onward from CodeDeploy: the service's deployment group is deleted (after the pipeline stops
//! using it, before the controller switch: no CodeDeploy deployment can start in between).
//! Undo creates it again with every journaled value; CodeDeploy accepts that only for a
//! `CODE_DEPLOY` service, which the controller switch's undo (run first) restores.

use super::{Ctx, has_code};
use crate::error::{Result, SdkResultExt};
use crate::journal::Effect;
use crate::plan::{ChangeDetail, DeploymentGroupValues};
use crate::AwsClients;

/// Whether the group exists.
async fn exists(aws: &AwsClients, application: &str, name: &str) -> Result<bool> {
    match aws.codedeploy.get_deployment_group().application_name(application).deployment_group_name(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if has_code(&e, &["DeploymentGroupDoesNotExistException", "ApplicationDoesNotExistException"]) => Ok(false),
        Err(e) => Err(e).ctx("GetDeploymentGroup", format!("{application}/{name}")),
    }
}

/// Deletes the group (idempotent: a group already gone is left so).
pub(crate) async fn apply(cx: &Ctx<'_>, v: &DeploymentGroupValues) -> Result<()> {
    if !exists(cx.aws, &v.application, &v.name).await? {
        return Ok(());
    }
    let what = format!("{}/{}", v.application, v.name);
    let call = async {
        match cx.aws.codedeploy.delete_deployment_group().application_name(&v.application).deployment_group_name(&v.name).send().await {
            Ok(_) => Ok(()),
            Err(e) if has_code(&e, &["DeploymentGroupDoesNotExistException", "ApplicationDoesNotExistException"]) => Ok(()),
            Err(e) => Err(e).ctx("DeleteDeploymentGroup", &what),
        }
    };
    cx.mutate(Effect::DeploymentGroupDeleted { values: Box::new(v.clone()) }, call, |_, e| e).await
}

/// Creates the group again unless it exists (a delete that never happened, or undone already).
pub(crate) async fn undo(aws: &AwsClients, v: &DeploymentGroupValues) -> Result<()> {
    if exists(aws, &v.application, &v.name).await? {
        return Ok(());
    }
    super::deployment_group::request(aws, v, &v.service_role_arn, v.test_listener_arn.as_deref())
        .send()
        .await
        .ctx("CreateDeploymentGroup", format!("{}/{}", v.application, v.name))
        .map(|_| ())
}

/// The built-in step: its planned change.
pub(crate) struct DeploymentGroupRemovalStep(pub(crate) crate::plan::Change);

impl crate::step::Step for DeploymentGroupRemovalStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        use crate::permission::Permission;
        let ChangeDetail::DeploymentGroupRemoval(v) = &self.0.detail else { return Vec::new() };
        let arn = cx.deployment_group_arn(&v.application, &v.name);
        let mut out: Vec<Permission> =
            ["GetDeploymentGroup", "DeleteDeploymentGroup", "CreateDeploymentGroup", "TagResource"].map(|a| Permission::on(format!("codedeploy:{a}"), arn.clone())).into();
        // Undo's CreateDeploymentGroup passes the CodeDeploy role to CodeDeploy again.
        out.push(Permission::pass_role(v.service_role_arn.clone(), "codedeploy.amazonaws.com"));
        out
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["codedeploy:GetDeploymentGroup"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ChangeDetail::DeploymentGroupRemoval(v) = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            apply(cx, v).await
        })
    }
}
