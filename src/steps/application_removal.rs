//! Onward from CodeDeploy: the CodeDeploy application is deleted, once its deployment group is
//! (the plan keeps an application that holds other groups). Undo creates it again with its tags.

use aws_sdk_codedeploy::types as cd;

use super::{Ctx, has_code};
use crate::error::{Result, SdkResultExt};
use crate::inventory::Tags;
use crate::journal::Effect;
use crate::plan::ChangeDetail;
use crate::AwsClients;

/// Whether the application exists.
async fn exists(aws: &AwsClients, name: &str) -> Result<bool> {
    match aws.codedeploy.get_application().application_name(name).send().await {
        Ok(out) => Ok(out.application.is_some()),
        Err(e) if has_code(&e, &["ApplicationDoesNotExistException"]) => Ok(false),
        Err(e) => Err(e).ctx("GetApplication", name),
    }
}

/// Deletes the application (idempotent).
pub(crate) async fn apply(cx: &Ctx<'_>, name: &str, tags: &Tags) -> Result<()> {
    if !exists(cx.aws, name).await? {
        return Ok(());
    }
    let call = async { cx.aws.codedeploy.delete_application().application_name(name).send().await.ctx("DeleteApplication", name).map(|_| ()) };
    cx.mutate(Effect::ApplicationDeleted { name: name.to_owned(), tags: tags.clone() }, call, |_, e| e).await
}

/// Creates the application again (compute platform ECS, its tags) unless it exists.
pub(crate) async fn undo(aws: &AwsClients, name: &str, tags: &Tags) -> Result<()> {
    if exists(aws, name).await? {
        return Ok(());
    }
    let mut req = aws.codedeploy.create_application().application_name(name).compute_platform(cd::ComputePlatform::Ecs);
    for (k, v) in tags {
        req = req.tags(cd::Tag::builder().key(k).value(v).build());
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &["ApplicationAlreadyExistsException"]) => Ok(()),
        Err(e) => Err(e).ctx("CreateApplication", name),
    }
}

/// The built-in step: its planned change.
pub(crate) struct ApplicationRemovalStep(pub(crate) crate::plan::Change);

impl crate::step::Step for ApplicationRemovalStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let ChangeDetail::ApplicationRemoval { name, .. } = &self.0.detail else { return Vec::new() };
        let arn = cx.application_arn(name);
        ["GetApplication", "DeleteApplication", "CreateApplication", "TagResource"]
            .map(|a| crate::permission::Permission::on(format!("codedeploy:{a}"), arn.clone()))
            .into()
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["codedeploy:GetApplication"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let ChangeDetail::ApplicationRemoval { name, tags } = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            apply(cx, name, tags).await
        })
    }
}
