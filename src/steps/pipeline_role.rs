//! The pipeline role's grant: an inline policy (PutRolePolicy) named after the migration,
//! holding what the `CodeDeployToECS` action needs and the role lacked. Undo deletes exactly
//! that policy (DeleteRolePolicy), never another of the role's policies.

use super::{Ctx, has_code};
use crate::error::{Error, Result, SdkResultExt};
use crate::journal::Effect;
use crate::AwsClients;

/// The document of the role's inline policy `policy_name`, if it has one.
async fn current(aws: &AwsClients, role: &str, policy_name: &str) -> Result<Option<String>> {
    match aws.iam.get_role_policy().role_name(role).policy_name(policy_name).send().await {
        Ok(out) => Ok(Some(crate::iam_policy::url_decode(out.policy_document()))),
        Err(e) if has_code(&e, &["NoSuchEntity"]) => Ok(None),
        Err(e) => Err(e).ctx("GetRolePolicy", format!("{role}/{policy_name}")),
    }
}

/// Whether two policy documents say the same (IAM may reformat the JSON).
fn same_document(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<serde_json::Value>(a), serde_json::from_str::<serde_json::Value>(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Puts the policy, unless (in a resumed run) the role already holds it.
pub(crate) async fn apply(ctx: &Ctx<'_>, role: &str, policy_name: &str, document: &str) -> Result<()> {
    let aws = ctx.aws;
    if !ctx.fresh {
        match current(aws, role, policy_name).await? {
            Some(doc) if same_document(&doc, document) => return Ok(()),
            Some(_) => {
                // A policy under our name with another text: not this plan's; never overwritten.
                return Err(Error::Aws(crate::AwsApiError::new(
                    "PutRolePolicy",
                    format!("{role}/{policy_name}"),
                    Some("EntityAlreadyExists"),
                    "the role has an inline policy of this name with another document; delete it or plan again",
                )));
            }
            None => {}
        }
    }
    let intent = Effect::RolePolicyPut { role: role.to_owned(), policy_name: policy_name.to_owned(), document: document.to_owned() };
    ctx.mutate(
        intent,
        async {
            aws.iam
                .put_role_policy()
                .role_name(role)
                .policy_name(policy_name)
                .policy_document(document)
                .send()
                .await
                .ctx("PutRolePolicy", format!("{role}/{policy_name}"))
        },
        |_, e| e,
    )
    .await?;
    Ok(())
}

/// Deletes the inline policy; when the put's outcome is unknown (`confirmed == false`), only
/// if the role holds this run's document under that name. Gone already is done.
pub(crate) async fn undo(aws: &AwsClients, role: &str, policy_name: &str, document: &str, confirmed: bool) -> Result<()> {
    if !confirmed {
        match current(aws, role, policy_name).await {
            Ok(Some(doc)) if same_document(&doc, document) => {}
            Ok(_) => return Ok(()),
            Err(Error::Aws(e)) if e.code() == Some("NoSuchEntity") => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    match aws.iam.delete_role_policy().role_name(role).policy_name(policy_name).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &["NoSuchEntity"]) => Ok(()),
        Err(e) => Err(e).ctx("DeleteRolePolicy", format!("{role}/{policy_name}")),
    }
}

/// The built-in step: its planned change.
pub(crate) struct PipelineRolePolicyStep(pub(crate) crate::plan::Change);

impl crate::step::Step for PipelineRolePolicyStep {
    super::from_planned_change!();

    fn permissions(&self, _cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let crate::plan::ChangeDetail::PipelineRolePolicy { role_arn, .. } = &self.0.detail else { return Vec::new() };
        ["GetRolePolicy", "PutRolePolicy", "DeleteRolePolicy"].map(|a| crate::permission::Permission::on(format!("iam:{a}"), role_arn.clone())).into()
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["iam:GetRolePolicy"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let crate::plan::ChangeDetail::PipelineRolePolicy { role_name, policy_name, document, .. } = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            apply(cx, role_name, policy_name, document).await
        })
    }
}
