//! Pipeline Deploy action: `ECS` → `CodeDeployToECS`. Only that action's provider and
//! configuration change; every other stage, action and setting is sent back as read.

use std::collections::HashMap;

use super::Ctx;
use crate::error::{Error, Result, SdkResultExt};
use crate::inventory::ActionInfo;
use crate::journal::Effect;
use crate::AwsClients;


fn find<'a>(
    decl: &'a mut aws_sdk_codepipeline::types::PipelineDeclaration,
    stage: &str,
    action: &str,
) -> Option<&'a mut aws_sdk_codepipeline::types::ActionDeclaration> {
    decl.stages.iter_mut().find(|s| s.name == stage)?.actions.iter_mut().find(|a| a.name == action)
}

async fn get(aws: &AwsClients, pipeline: &str) -> Result<aws_sdk_codepipeline::types::PipelineDeclaration> {
    let out = aws.codepipeline.get_pipeline().name(pipeline).send().await.ctx("GetPipeline", pipeline)?;
    out.pipeline.ok_or_else(|| Error::Aws(crate::AwsApiError::new("GetPipeline", pipeline, None, "no pipeline in response")))
}

fn set(action: &mut aws_sdk_codepipeline::types::ActionDeclaration, to: &ActionInfo) {
    if let Some(t) = action.action_type_id.as_mut() {
        t.provider = to.provider.clone();
    }
    action.configuration = Some(to.configuration.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>());
}

/// Rewrites the action unless it already is the wanted one.
pub(crate) async fn apply(ctx: &Ctx<'_>, pipeline: &str, stage: &str, before: &ActionInfo, after: &ActionInfo) -> Result<()> {
    let mut decl = get(ctx.aws, pipeline).await?;
    let Some(action) = find(&mut decl, stage, &before.name) else {
        return Err(Error::Aws(crate::AwsApiError::new(
            "UpdatePipeline",
            pipeline,
            None,
            format!("action {stage}/{} is no longer in the pipeline", before.name),
        )));
    };
    if action.action_type_id.as_ref().is_some_and(|t| t.provider == after.provider) {
        return Ok(());
    }
    set(action, after);
    let effect = Effect::PipelineActionReplaced { pipeline: pipeline.to_owned(), stage: stage.to_owned(), before: before.clone() };
    ctx.mutate(effect,
        async { ctx.aws.codepipeline.update_pipeline().pipeline(decl).send().await.ctx("UpdatePipeline", pipeline) },
        |_, e| e,
    )
    .await?;
    Ok(())
}

/// Puts the original provider and configuration back (a no-op when they are in place).
pub(crate) async fn undo(aws: &AwsClients, pipeline: &str, stage: &str, before: &ActionInfo) -> Result<()> {
    let mut decl = match get(aws, pipeline).await {
        Ok(d) => d,
        Err(Error::Aws(e)) if e.code() == Some("PipelineNotFoundException") => return Ok(()),
        Err(e) => return Err(e),
    };
    let Some(action) = find(&mut decl, stage, &before.name) else { return Ok(()) };
    let same = action.action_type_id.as_ref().is_some_and(|t| t.provider == before.provider)
        && action.configuration.as_ref().is_some_and(|c| {
            c.len() == before.configuration.len() && before.configuration.iter().all(|(k, v)| c.get(k) == Some(v))
        });
    if same {
        return Ok(());
    }
    set(action, before);
    aws.codepipeline.update_pipeline().pipeline(decl).send().await.ctx("UpdatePipeline", pipeline)?;
    Ok(())
}

/// The built-in step: its planned change.
pub(crate) struct PipelineStep(pub(crate) crate::plan::Change);

impl crate::step::Step for PipelineStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let crate::plan::ChangeDetail::PipelineDeployAction { pipeline, .. } = &self.0.detail else { return Vec::new() };
        let arn = cx.pipeline_arn(pipeline);
        // UpdatePipeline passes the pipeline's own role again.
        let role = cx.pipeline_role_arn();
        vec![
            crate::permission::Permission::on("codepipeline:GetPipeline", arn.clone()),
            crate::permission::Permission::on("codepipeline:UpdatePipeline", arn),
            crate::permission::Permission::pass_role(role, "codepipeline.amazonaws.com"),
        ]
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["codepipeline:GetPipeline"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let crate::plan::ChangeDetail::PipelineDeployAction { pipeline, stage, before, after } = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            apply(cx, pipeline, stage, before, after).await
        })
    }
}
