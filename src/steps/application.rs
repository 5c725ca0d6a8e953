//! CodeDeploy application (compute platform ECS).

use aws_sdk_codedeploy::types as cd;

use super::{Ctx, has_code};
use crate::error::{Error, Result, SdkResultExt};
use crate::plan::Plan;
use crate::inventory::{OWNERSHIP_TAG, Tags};
use crate::journal::Effect;
use crate::AwsClients;


/// Creates the application unless it exists.
pub(crate) async fn apply(ctx: &Ctx<'_>, name: &str, tags: &Tags) -> Result<()> {
    let aws = ctx.aws;
    if !ctx.fresh {
        match aws.codedeploy.get_application().application_name(name).send().await {
            Ok(_) => return Ok(()),
            Err(e) if has_code(&e, &["ApplicationDoesNotExistException"]) => {}
            Err(e) => return Err(e).ctx("GetApplication", name),
        }
    }
    let mut req = aws.codedeploy.create_application().application_name(name).compute_platform(cd::ComputePlatform::Ecs);
    for (k, v) in tags {
        req = req.tags(cd::Tag::builder().key(k).value(v).build());
    }
    ctx.mutate_or_adopt(
        Effect::ApplicationCreated { name: name.to_owned() },
        async { req.send().await.ctx("CreateApplication", name).map(|_| ()) },
        // The first attempt's answer was lost: the application it made carries our tag.
        || async { Ok(is_ours(aws, ctx.plan(), name).await?.then_some(())) },
        |_, e| e,
    )
    .await
}

/// Whether the application `name` carries this migration's ownership tag.
async fn is_ours(aws: &AwsClients, plan: &Plan, name: &str) -> Result<bool> {
    let region = aws.codedeploy.config().region().map(|r| r.to_string());
    let (Some(account), Some(region)) = (plan.account_id.as_deref(), region) else {
        return Err(Error::Aws(crate::AwsApiError::new(
            "ListTagsForResource",
            name,
            None,
            "cannot tell whether this migration created the application (account unknown)",
        )));
    };
    let arn = format!("arn:{}:codedeploy:{region}:{account}:application:{name}", crate::inventory::partition_of_region(&region));
    let tags = aws.codedeploy.list_tags_for_resource().resource_arn(&arn).send().await.ctx("ListTagsForResource", &arn)?;
    Ok(tags.tags().iter().any(|t| t.key() == Some(OWNERSHIP_TAG) && t.value() == Some(plan.migration_id.as_str())))
}

/// Deletes the application (and with it its deployment groups) if this migration created it:
/// known from the journal when `confirmed`, else from its ownership tag.
pub(crate) async fn undo(aws: &AwsClients, plan: &Plan, name: &str, confirmed: bool) -> Result<()> {
    let app = match aws.codedeploy.get_application().application_name(name).send().await {
        Ok(out) => out.application,
        Err(e) if has_code(&e, &["ApplicationDoesNotExistException"]) => return Ok(()),
        Err(e) => return Err(e).ctx("GetApplication", name),
    };
    if app.is_none() {
        return Ok(());
    }
    if !confirmed {
        match is_ours(aws, plan, name).await {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(Error::Aws(e)) if e.code().is_none() => {
                return Err(Error::Aws(crate::AwsApiError::new(
                    "DeleteApplication",
                    name,
                    None,
                    "cannot tell whether this migration created the application (account unknown); left in place",
                )));
            }
            Err(e) => return Err(e),
        }
    }
    aws.codedeploy.delete_application().application_name(name).send().await.ctx("DeleteApplication", name)?;
    Ok(())
}

/// The built-in step: its planned change.
pub(crate) struct ApplicationStep(pub(crate) crate::plan::Change);

impl crate::step::Step for ApplicationStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let crate::plan::ChangeDetail::Application { name, .. } = &self.0.detail else { return Vec::new() };
        let arn = cx.application_arn(name);
        ["GetApplication", "ListTagsForResource", "CreateApplication", "TagResource", "DeleteApplication"]
            .map(|a| crate::permission::Permission::on(format!("codedeploy:{a}"), arn.clone()))
            .into()
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["codedeploy:GetApplication", "codedeploy:ListTagsForResource"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let crate::plan::ChangeDetail::Application { name, tags } = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            apply(cx, name, tags).await
        })
    }
}
