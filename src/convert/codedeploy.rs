//! CodeDeploy: applications and deployment groups.

use aws_sdk_codedeploy::types as cd;

use super::text;
use crate::inventory::{ApplicationInfo, CodeDeploySource, DeploymentConfigInfo, DeploymentGroupInfo, Tags, TrafficRouting};

/// The application as GetApplication reports it; `asked` is the name when the answer
/// carries none. Tags come from another call: empty here.
pub(crate) fn application_from_sdk(app: &cd::ApplicationInfo, asked: &str) -> ApplicationInfo {
    ApplicationInfo {
        name: app.application_name().unwrap_or(asked).to_owned(),
        id: app.application_id().map(str::to_owned),
        compute_platform: text(app.compute_platform()),
        tags: Tags::new(),
    }
}

/// The deployment group as GetDeploymentGroup reports it (its first target group pair);
/// `asked` is the name when the answer carries none. Tags come from another call: empty here.
pub(crate) fn deployment_group_from_sdk(dg: &cd::DeploymentGroupInfo, asked: &str) -> DeploymentGroupInfo {
    let pair = dg.load_balancer_info().and_then(|l| l.target_group_pair_info_list().first());
    DeploymentGroupInfo {
        name: dg.deployment_group_name().unwrap_or(asked).to_owned(),
        service_role_arn: dg.service_role_arn().map(str::to_owned),
        deployment_config_name: dg.deployment_config_name().map(str::to_owned),
        ecs_services: dg
            .ecs_services()
            .iter()
            .map(|s| (s.cluster_name().unwrap_or_default().to_owned(), s.service_name().unwrap_or_default().to_owned()))
            .collect(),
        target_group_names: pair
            .map(|p| p.target_groups().iter().filter_map(|t| t.name().map(str::to_owned)).collect())
            .unwrap_or_default(),
        prod_listener_arns: pair.and_then(|p| p.prod_traffic_route()).map(|r| r.listener_arns().to_vec()).unwrap_or_default(),
        test_listener_arns: pair.and_then(|p| p.test_traffic_route()).map(|r| r.listener_arns().to_vec()).unwrap_or_default(),
        tags: Tags::new(),
    }
}

/// The onward migration's view of a deployment group (`info` converted already): termination
/// and ready waits, auto rollback and alarms. Tags, other groups and traffic are filled by
/// discovery.
pub(crate) fn codedeploy_source_from_sdk(dg: &cd::DeploymentGroupInfo, application: &str, info: DeploymentGroupInfo) -> CodeDeploySource {
    let bg = dg.blue_green_deployment_configuration();
    let ready = bg.and_then(|b| b.deployment_ready_option());
    let stop = ready.and_then(|r| r.action_on_timeout()) == Some(&cd::DeploymentReadyAction::StopDeployment);
    let rollback = dg.auto_rollback_configuration().filter(|r| r.enabled());
    let alarms = dg.alarm_configuration().filter(|a| a.enabled());
    CodeDeploySource {
        application: application.to_owned(),
        group: info,
        termination_wait_minutes: bg
            .and_then(|b| b.terminate_blue_instances_on_deployment_success())
            .map(|t| u32::try_from(t.termination_wait_time_in_minutes()).unwrap_or(0))
            .unwrap_or(0),
        ready_wait_minutes: ready.filter(|_| stop).map(|r| u32::try_from(r.wait_time_in_minutes()).unwrap_or(0)),
        auto_rollback_events: rollback.map(|r| r.events().iter().map(|e| e.as_str().to_owned()).collect()).unwrap_or_default(),
        alarms: alarms.map(|a| a.alarms().iter().filter_map(|x| x.name().map(str::to_owned)).collect()).unwrap_or_default(),
        ..Default::default()
    }
}

/// The traffic shifting of a custom deployment config (`AllAtOnce` when it names none).
pub(crate) fn traffic_routing_from_sdk(t: Option<&cd::TrafficRoutingConfig>) -> TrafficRouting {
    let ty = t.and_then(|t| t.r#type()).map_or("AllAtOnce", |t| t.as_str()).to_owned();
    let linear = t.and_then(|t| t.time_based_linear());
    let canary = t.and_then(|t| t.time_based_canary());
    match (linear, canary) {
        (Some(l), _) if ty == "TimeBasedLinear" => TrafficRouting::new(ty, Some(l.linear_percentage()), Some(l.linear_interval())),
        (_, Some(c)) if ty == "TimeBasedCanary" => TrafficRouting::new(ty, Some(c.canary_percentage()), Some(c.canary_interval())),
        _ => TrafficRouting::new(ty, None, None),
    }
}

/// The SDK application GetApplication answers for `app` (the inverse of
/// [`application_from_sdk`]; compute platform `ECS` unless set).
#[cfg(feature = "test-util")]
pub(crate) fn application_to_sdk(app: &ApplicationInfo) -> cd::ApplicationInfo {
    cd::ApplicationInfo::builder()
        .application_name(&app.name)
        .set_application_id(app.id.clone())
        .compute_platform(cd::ComputePlatform::from(app.compute_platform.as_deref().unwrap_or("ECS")))
        .build()
}

/// CodeDeploy tags for `tags`.
#[cfg(feature = "test-util")]
pub(crate) fn codedeploy_tags_to_sdk(tags: &Tags) -> Vec<cd::Tag> {
    tags.iter().map(|(k, v)| cd::Tag::builder().key(k).value(v).build()).collect()
}

/// The deployment config as GetDeploymentConfig reports it; `asked` is the name when the
/// answer carries none.
pub(crate) fn deployment_config_from_sdk(c: &cd::DeploymentConfigInfo, asked: &str) -> DeploymentConfigInfo {
    DeploymentConfigInfo {
        name: c.deployment_config_name().unwrap_or(asked).to_owned(),
        compute_platform: text(c.compute_platform()),
        traffic_routing: text(c.traffic_routing_config().and_then(|t| t.r#type())),
    }
}

/// The SDK shape of a deployment config (the test kit answers GetDeploymentConfig with it).
#[cfg(feature = "test-util")]
pub(crate) fn deployment_config_to_sdk(c: &DeploymentConfigInfo) -> cd::DeploymentConfigInfo {
    cd::DeploymentConfigInfo::builder()
        .deployment_config_name(&c.name)
        .set_compute_platform(c.compute_platform.as_deref().map(cd::ComputePlatform::from))
        .set_traffic_routing_config(
            c.traffic_routing
                .as_deref()
                .map(|t| cd::TrafficRoutingConfig::builder().r#type(cd::TrafficRoutingType::from(t)).build()),
        )
        .build()
}
