//! The blue/green deployment group. Retries the documented IAM-propagation errors of a
//! freshly created service role until a deadline.

use aws_sdk_codedeploy::types as cd;

use super::{Ctx, has_code};
use crate::error::{Error, Result, SdkResultExt};
use crate::inventory::OWNERSHIP_TAG;
use crate::plan::{DeploymentGroupValues, Plan};
use crate::journal::Effect;
use crate::wait;
use crate::AwsClients;


/// Whether an error is CodeDeploy not yet able to assume a just-created role.
pub(crate) fn is_role_propagation(e: &Error) -> bool {
    let Error::Aws(a) = e else { return false };
    let msg = a.message().unwrap_or_default();
    a.code() == Some("InvalidRoleException")
        || msg.contains("Cannot assume role provided")
        || msg.contains("does not have the permissions required to assume the role")
}

/// The CreateDeploymentGroup call for `d` (also the undo of its removal by an onward migration).
pub(crate) fn request(
    aws: &AwsClients,
    d: &DeploymentGroupValues,
    role_arn: &str,
    test_listener_arn: Option<&str>,
) -> aws_sdk_codedeploy::operation::create_deployment_group::builders::CreateDeploymentGroupFluentBuilder {
    let ready = match d.ready_wait {
        None => cd::DeploymentReadyOption::builder().action_on_timeout(cd::DeploymentReadyAction::ContinueDeployment).wait_time_in_minutes(0),
        Some(w) => cd::DeploymentReadyOption::builder()
            .action_on_timeout(cd::DeploymentReadyAction::StopDeployment)
            .wait_time_in_minutes(w.get() as i32),
    }
    .build();
    let bg = cd::BlueGreenDeploymentConfiguration::builder()
        .deployment_ready_option(ready)
        .terminate_blue_instances_on_deployment_success(
            cd::BlueInstanceTerminationOption::builder()
                .action(cd::InstanceAction::Terminate)
                .termination_wait_time_in_minutes(d.termination_wait.get() as i32)
                .build(),
        )
        .build();
    let mut pair = cd::TargetGroupPairInfo::builder()
        .set_target_groups(Some(d.target_groups.iter().map(|n| cd::TargetGroupInfo::builder().name(n).build()).collect()))
        .prod_traffic_route(cd::TrafficRoute::builder().listener_arns(&d.prod_listener_arn).build());
    if let Some(t) = test_listener_arn {
        pair = pair.test_traffic_route(cd::TrafficRoute::builder().listener_arns(t).build());
    }
    let mut req = aws
        .codedeploy
        .create_deployment_group()
        .application_name(&d.application)
        .deployment_group_name(&d.name)
        .service_role_arn(role_arn)
        .deployment_config_name(d.deployment_config.name())
        .deployment_style(
            cd::DeploymentStyle::builder()
                .deployment_type(cd::DeploymentType::BlueGreen)
                .deployment_option(cd::DeploymentOption::WithTrafficControl)
                .build(),
        )
        .blue_green_deployment_configuration(bg)
        .ecs_services(cd::EcsService::builder().cluster_name(&d.cluster).service_name(&d.service).build())
        .load_balancer_info(cd::LoadBalancerInfo::builder().target_group_pair_info_list(pair.build()).build())
        .auto_rollback_configuration(
            cd::AutoRollbackConfiguration::builder()
                .enabled(!d.auto_rollback_events.is_empty())
                .set_events(Some(
                    d.auto_rollback_events.iter().map(|e| cd::AutoRollbackEvent::from(e.as_str())).collect(),
                ))
                .build(),
        );
    if !d.alarms.is_empty() {
        req = req.alarm_configuration(
            cd::AlarmConfiguration::builder()
                .enabled(true)
                .set_alarms(Some(d.alarms.iter().map(|a| cd::Alarm::builder().name(a).build()).collect()))
                .build(),
        );
    }
    for (k, v) in &d.tags {
        req = req.tags(cd::Tag::builder().key(k).value(v).build());
    }
    req
}

/// Creates the deployment group unless it exists.
pub(crate) async fn apply(ctx: &Ctx<'_>, d: &DeploymentGroupValues, role_arn: &str, test_listener_arn: Option<&str>) -> Result<()> {
    let aws = ctx.aws;
    if !ctx.fresh {
        match aws.codedeploy.get_deployment_group().application_name(&d.application).deployment_group_name(&d.name).send().await {
            Ok(_) => return Ok(()),
            Err(e) if has_code(&e, &["DeploymentGroupDoesNotExistException", "ApplicationDoesNotExistException"]) => {}
            Err(e) => return Err(e).ctx("GetDeploymentGroup", format!("{}/{}", d.application, d.name)),
        }
    }
    let req = request(aws, d, role_arn, test_listener_arn);
    let what = format!("{}/{}", d.application, d.name);
    ctx.mutate_or_adopt(
        Effect::DeploymentGroupCreated { application: d.application.clone(), name: d.name.clone() },
        wait::retry(&format!("deployment group {what} (IAM propagation)"), ctx.opts.iam_propagation, is_role_propagation, || {
            let req = req.clone();
            let what = what.clone();
            async move { req.send().await.ctx("CreateDeploymentGroup", what).map(|_| ()) }
        }),
        // The first attempt's answer was lost: the group it made carries our tag.
        || async { Ok(is_ours(aws, ctx.plan(), &d.application, &d.name).await?.then_some(())) },
        |_, e| e,
    )
    .await
}

/// Whether the deployment group carries this migration's ownership tag.
async fn is_ours(aws: &AwsClients, plan: &Plan, application: &str, name: &str) -> Result<bool> {
    let region = aws.codedeploy.config().region().map(|r| r.to_string());
    let (Some(account), Some(region)) = (plan.account_id.as_deref(), region) else {
        return Err(Error::Aws(crate::AwsApiError::new(
            "ListTagsForResource",
            format!("{application}/{name}"),
            None,
            "cannot tell whether this migration created the deployment group (account unknown)",
        )));
    };
    let arn = format!("arn:{}:codedeploy:{region}:{account}:deploymentgroup:{application}/{name}", crate::inventory::partition_of_region(&region));
    match aws.codedeploy.list_tags_for_resource().resource_arn(&arn).send().await {
        Ok(tags) => Ok(tags.tags().iter().any(|t| t.key() == Some(OWNERSHIP_TAG) && t.value() == Some(plan.migration_id.as_str()))),
        Err(e) if has_code(&e, &["ResourceArnRequiredException", "ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"]) => Ok(false),
        Err(e) => Err(e).ctx("ListTagsForResource", arn),
    }
}

/// Deletes the deployment group (idempotent: CodeDeploy reports no error for a missing group).
/// When the create's outcome is unknown (`confirmed == false`: a lost answer, a crash, "already
/// exists"), only a group carrying this migration's tag is deleted.
pub(crate) async fn undo(aws: &AwsClients, plan: &Plan, application: &str, name: &str, confirmed: bool) -> Result<()> {
    if !confirmed {
        match aws.codedeploy.get_deployment_group().application_name(application).deployment_group_name(name).send().await {
            Ok(_) => {}
            Err(e) if has_code(&e, &["DeploymentGroupDoesNotExistException", "ApplicationDoesNotExistException"]) => return Ok(()),
            Err(e) => return Err(e).ctx("GetDeploymentGroup", format!("{application}/{name}")),
        }
        if !is_ours(aws, plan, application, name).await? {
            return Ok(());
        }
    }
    match aws.codedeploy.delete_deployment_group().application_name(application).deployment_group_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &["ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"]) => Ok(()),
        Err(e) => Err(e).ctx("DeleteDeploymentGroup", format!("{application}/{name}")),
    }
}

/// The built-in step: its planned change.
pub(crate) struct DeploymentGroupStep(pub(crate) crate::plan::Change);

impl crate::step::Step for DeploymentGroupStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let crate::plan::ChangeDetail::DeploymentGroup(d) = &self.0.detail else { return Vec::new() };
        let arn = cx.deployment_group_arn(&d.application, &d.name);
        let mut out: Vec<crate::permission::Permission> = ["GetDeploymentGroup", "ListTagsForResource", "CreateDeploymentGroup", "TagResource", "DeleteDeploymentGroup"]
            .map(|a| crate::permission::Permission::on(format!("codedeploy:{a}"), arn.clone()))
            .into();
        // CreateDeploymentGroup passes the CodeDeploy role to CodeDeploy.
        if let Some(role) = cx.role_or_planned(Some(&d.service_role_arn), &crate::spec::StepId::ServiceRole) {
            out.push(crate::permission::Permission::pass_role(role, "codedeploy.amazonaws.com"));
        }
        out
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["codedeploy:GetDeploymentGroup"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let crate::plan::ChangeDetail::DeploymentGroup(d) = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            // Identifiers made by earlier steps of this run; else those the plan found.
            let known = |v: &Option<String>| v.clone().filter(|a| a != crate::plan::KNOWN_AFTER_APPLY);
            let role = cx.output(crate::step::outputs::SERVICE_ROLE_ARN).unwrap_or_else(|| d.service_role_arn.clone());
            let test = cx.output(crate::step::outputs::TEST_LISTENER_ARN).or_else(|| known(&d.test_listener_arn));
            apply(cx, d, &role, test.as_deref()).await
        })
    }
}
