//! A role this migration creates with one managed policy: the CodeDeploy service role (trusted
//! by `codedeploy.amazonaws.com`, scoped to the account, `AWSCodeDeployRoleForECS`) or, for the
//! ECS-native target, the ECS infrastructure role for load balancers (trusted by
//! `ecs.amazonaws.com`, `AmazonECSInfrastructureRolePolicyForLoadBalancers`). The step that
//! uses the role retries while IAM propagates it.

use aws_sdk_iam::types as iam;

use super::{Ctx, built, has_code};
use crate::error::{Error, Result, SdkResultExt};
use crate::inventory::{OWNERSHIP_TAG, Tags};
use crate::journal::Effect;
use crate::AwsClients;


/// Creates the role (or completes the one this migration created) and returns its ARN.
pub(crate) async fn apply(ctx: &Ctx<'_>, name: &str, trust_policy: &str, policy_arn: &str, tags: &Tags, description: &str) -> Result<String> {
    let aws = ctx.aws;
    // A fresh run trusts the plan (no role under this name); a resumed run looks first.
    let existing = if ctx.fresh {
        None
    } else {
        match aws.iam.get_role().role_name(name).send().await {
            Ok(out) => out.role,
            Err(e) if has_code(&e, &["NoSuchEntity"]) => None,
            Err(e) => return Err(e).ctx("GetRole", name),
        }
    };
    let arn = match existing {
        Some(role) => {
            let ours = role.tags().iter().any(|t| t.key() == OWNERSHIP_TAG && t.value() == ctx.migration_id());
            if !ours {
                return Err(Error::Aws(crate::AwsApiError::new(
                    "CreateRole",
                    name,
                    Some("EntityAlreadyExists"),
                    "a role with this name exists and was not created by this migration",
                )));
            }
            role.arn().to_owned()
        }
        None => {
            let mut req = aws
                .iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust_policy)
                .description(description);
            for (k, v) in tags {
                req = req.tags(built("CreateRole", iam::Tag::builder().key(k).value(v).build())?);
            }
            let intent = Effect::RoleCreated { name: name.to_owned(), policy_arn: policy_arn.to_owned() };
            ctx.mutate_or_adopt(
                intent,
                async {
                    let out = req.send().await.ctx("CreateRole", name)?;
                    Ok(out.role().map(|r| r.arn().to_owned()).unwrap_or_default())
                },
                || async {
                    // The first attempt's answer was lost: the role it made carries our tag.
                    let role = aws.iam.get_role().role_name(name).send().await.ctx("GetRole", name)?.role;
                    Ok(role.filter(|r| r.tags().iter().any(|t| t.key() == OWNERSHIP_TAG && t.value() == ctx.migration_id())).map(|r| r.arn().to_owned()))
                },
                |_, e| e,
            )
            .await?
        }
    };
    // Attaching is idempotent in IAM; the role's undo detaches it.
    ctx.call(format!("attach {policy_arn} to role {name}"), async {
        aws.iam.attach_role_policy().role_name(name).policy_arn(policy_arn).send().await.ctx("AttachRolePolicy", name)
    })
    .await?;
    Ok(arn)
}

/// Detaches every managed policy and deletes the role, if it carries this migration's tag.
pub(crate) async fn undo(aws: &AwsClients, migration_id: &str, name: &str, _policy_arn: &str) -> Result<()> {
    let role = match aws.iam.get_role().role_name(name).send().await {
        Ok(out) => out.role,
        Err(e) if has_code(&e, &["NoSuchEntity"]) => return Ok(()),
        Err(e) => return Err(e).ctx("GetRole", name),
    };
    let Some(role) = role else { return Ok(()) };
    if !role.tags().iter().any(|t| t.key() == OWNERSHIP_TAG && t.value() == migration_id) {
        return Ok(());
    }
    let attached = aws.iam.list_attached_role_policies().role_name(name).send().await.ctx("ListAttachedRolePolicies", name)?;
    for p in attached.attached_policies() {
        if let Some(arn) = p.policy_arn() {
            match aws.iam.detach_role_policy().role_name(name).policy_arn(arn).send().await {
                Ok(_) => {}
                Err(e) if has_code(&e, &["NoSuchEntity"]) => {}
                Err(e) => return Err(e).ctx("DetachRolePolicy", name),
            }
        }
    }
    match aws.iam.delete_role().role_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &["NoSuchEntity"]) => Ok(()),
        Err(e) => Err(e).ctx("DeleteRole", name),
    }
}

/// The built-in step: its planned change.
pub(crate) struct ServiceRoleStep(pub(crate) crate::plan::Change);

impl crate::step::Step for ServiceRoleStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let crate::plan::ChangeDetail::ServiceRole { name, arn, adopted, .. } = &self.0.detail else { return Vec::new() };
        let arn = if arn.starts_with("arn:") { arn.clone() } else { cx.role_arn(name) };
        let reads = ["GetRole", "ListAttachedRolePolicies", "ListRoleTags"];
        let writes: &[&str] = if *adopted { &[] } else { &["CreateRole", "TagRole", "AttachRolePolicy", "DetachRolePolicy", "DeleteRole"] };
        reads.iter().chain(writes).map(|a| crate::permission::Permission::on(format!("iam:{a}"), arn.clone())).collect()
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRoleTags"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let crate::plan::ChangeDetail::ServiceRole { name, trust_policy, managed_policy_arn, tags, .. } = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            let (output, description) = self.purpose();
            let arn = apply(cx, name, trust_policy, managed_policy_arn, tags, description).await?;
            cx.set_output(output, arn);
            Ok(())
        })
    }

    fn unchanged(&self, cx: &Ctx<'_>) {
        if let crate::plan::ChangeDetail::ServiceRole { arn, .. } = &self.0.detail {
            cx.set_output(self.purpose().0, arn.clone());
        }
    }
}

impl ServiceRoleStep {
    /// The output key the role's ARN is published under, and the created role's description.
    fn purpose(&self) -> (&'static str, &'static str) {
        if self.0.step == crate::spec::StepId::InfrastructureRole {
            (crate::step::outputs::INFRASTRUCTURE_ROLE_ARN, "ECS infrastructure role for load balancers (ECS-native blue/green), created by ecs-bluegreen")
        } else {
            (crate::step::outputs::SERVICE_ROLE_ARN, "CodeDeploy service role for ECS blue/green, created by ecs-bluegreen")
        }
    }
}
