//! Green target group: a clone of the blue one (settings, attributes, tags) under a new name.

use aws_sdk_elasticloadbalancingv2::types as elb;

use super::{Ctx, has_code};
use crate::discover::{TgLookup, describe_target_group, elb_tags};
use crate::error::{Error, Result, SdkResultExt};
use crate::inventory::{OWNERSHIP_TAG, TargetGroupInfo};
use crate::journal::Effect;
use crate::AwsClients;


/// Creates the group (or finds the one this migration created) and returns its ARN.
pub(crate) async fn apply(ctx: &Ctx<'_>, s: &TargetGroupInfo) -> Result<String> {
    let aws = ctx.aws;
    let existing = if ctx.fresh { None } else { describe_target_group(aws, TgLookup::Name(&s.name)).await? };
    if let Some(existing) = existing {
        if existing.tags.get(OWNERSHIP_TAG).map(String::as_str) != Some(ctx.migration_id()) {
            return Err(Error::Aws(crate::AwsApiError::new(
                "CreateTargetGroup",
                &s.name,
                Some("DuplicateTargetGroupName"),
                "a target group with this name exists and was not created by this migration",
            )));
        }
        set_attributes(ctx, &existing.arn, s).await?;
        return Ok(existing.arn);
    }
    let mut req = aws
        .elbv2
        .create_target_group()
        .name(&s.name)
        .set_protocol(s.protocol.as_deref().map(elb::ProtocolEnum::from))
        .set_protocol_version(s.protocol_version.clone())
        .set_port(s.port)
        .set_vpc_id(s.vpc_id.clone())
        .set_target_type(s.target_type.as_deref().map(elb::TargetTypeEnum::from))
        .set_ip_address_type(s.ip_address_type.as_deref().map(elb::TargetGroupIpAddressTypeEnum::from))
        .set_health_check_protocol(s.health_check_protocol.as_deref().map(elb::ProtocolEnum::from))
        .set_health_check_port(s.health_check_port.clone())
        .set_health_check_enabled(s.health_check_enabled)
        .set_health_check_path(s.health_check_path.clone())
        .set_health_check_interval_seconds(s.health_check_interval_seconds)
        .set_health_check_timeout_seconds(s.health_check_timeout_seconds)
        .set_healthy_threshold_count(s.healthy_threshold_count)
        .set_unhealthy_threshold_count(s.unhealthy_threshold_count);
    if s.matcher_http_code.is_some() || s.matcher_grpc_code.is_some() {
        req = req.matcher(
            elb::Matcher::builder()
                .set_http_code(s.matcher_http_code.clone())
                .set_grpc_code(s.matcher_grpc_code.clone())
                .build(),
        );
    }
    for (k, v) in &s.tags {
        req = req.tags(elb::Tag::builder().key(k).value(v).build());
    }
    let intent = Effect::TargetGroupCreated { name: s.name.clone(), arn: None };
    let arn = ctx
        .mutate_or_adopt(
            intent,
            async {
                let out = req.send().await.ctx("CreateTargetGroup", &s.name)?;
                Ok(out.target_groups().first().and_then(|t| t.target_group_arn()).unwrap_or_default().to_owned())
            },
            // The first attempt's answer was lost: the group it made carries our tag.
            || async {
                let found = describe_target_group(aws, TgLookup::Name(&s.name)).await?;
                Ok(found.filter(|t| t.tags.get(OWNERSHIP_TAG).map(String::as_str) == Some(ctx.migration_id())).map(|t| t.arn))
            },
            |arn: &String, _| Effect::TargetGroupCreated { name: s.name.clone(), arn: Some(arn.clone()) },
        )
        .await?;
    set_attributes(ctx, &arn, s).await?;
    Ok(arn)
}

async fn set_attributes(ctx: &Ctx<'_>, arn: &str, s: &TargetGroupInfo) -> Result<()> {
    if s.attributes.is_empty() {
        return Ok(());
    }
    let attrs: Vec<elb::TargetGroupAttribute> =
        s.attributes.iter().map(|(k, v)| elb::TargetGroupAttribute::builder().key(k).value(v).build()).collect();
    ctx.call(format!("attributes of target group {}", s.name), async {
        ctx.aws
            .elbv2
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attrs))
            .send()
            .await
            .ctx("ModifyTargetGroupAttributes", arn)
    })
    .await?;
    Ok(())
}

/// Deletes the group if it exists and carries this migration's ownership tag.
pub(crate) async fn undo(aws: &AwsClients, migration_id: &str, name: &str, arn: Option<&str>) -> Result<()> {
    let arn = match arn {
        Some(a) => a.to_owned(),
        None => match describe_target_group(aws, TgLookup::Name(name)).await? {
            Some(tg) => tg.arn,
            None => return Ok(()),
        },
    };
    let tags = match elb_tags(aws, std::slice::from_ref(&arn)).await {
        Ok(t) => t,
        Err(Error::Aws(e)) if e.code() == Some("TargetGroupNotFound") => return Ok(()),
        Err(e) => return Err(e),
    };
    if tags.get(&arn).and_then(|t| t.get(OWNERSHIP_TAG)).map(String::as_str) != Some(migration_id) {
        // Not ours (or already gone and the ARN reused): leave it.
        return Ok(());
    }
    match aws.elbv2.delete_target_group().target_group_arn(&arn).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &["TargetGroupNotFound"]) => Ok(()),
        Err(e) => Err(e).ctx("DeleteTargetGroup", arn),
    }
}

/// The built-in step: its planned change.
pub(crate) struct GreenTargetGroupStep(pub(crate) crate::plan::Change);

impl crate::step::Step for GreenTargetGroupStep {
    super::from_planned_change!();

    fn permissions(&self, cx: &crate::permission::PermissionContext<'_>) -> Vec<crate::permission::Permission> {
        let crate::plan::ChangeDetail::GreenTargetGroup { settings, .. } = &self.0.detail else { return Vec::new() };
        let arn = cx.target_group_arn(&settings.name);
        ["CreateTargetGroup", "ModifyTargetGroupAttributes", "DeleteTargetGroup", "AddTags"]
            .into_iter()
            .map(|a| crate::permission::Permission::on(format!("elasticloadbalancing:{a}"), arn.clone()))
            .chain(["DescribeTargetGroups", "DescribeTargetGroupAttributes", "DescribeTags"].map(|a| crate::permission::Permission::any_resource(format!("elasticloadbalancing:{a}"))))
            .collect()
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags"]
    }

    fn apply<'a>(&'a self, cx: &'a Ctx<'a>) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let crate::plan::ChangeDetail::GreenTargetGroup { settings, .. } = &self.0.detail else {
                return Err(super::wrong_detail(&self.0));
            };
            let arn = apply(cx, settings).await?;
            cx.set_output(crate::step::outputs::GREEN_TARGET_GROUP_ARN, arn);
            Ok(())
        })
    }

    fn unchanged(&self, cx: &Ctx<'_>) {
        if let crate::plan::ChangeDetail::GreenTargetGroup { settings, .. } = &self.0.detail {
            cx.set_output(crate::step::outputs::GREEN_TARGET_GROUP_ARN, settings.arn.clone());
        }
    }
}
