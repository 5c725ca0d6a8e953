//! CodeDeploy in the mock account: applications, deployment groups (with the cross-checks AWS
//! makes for ECS blue/green) and their tags.

use aws_sdk_codedeploy::Client;
use aws_sdk_codedeploy::operation::create_application::CreateApplicationOutput;
use aws_sdk_codedeploy::operation::create_deployment_config::CreateDeploymentConfigOutput;
use aws_sdk_codedeploy::operation::create_deployment_group::CreateDeploymentGroupOutput;
use aws_sdk_codedeploy::operation::get_deployment_config::GetDeploymentConfigOutput;
use aws_sdk_codedeploy::operation::delete_application::DeleteApplicationOutput;
use aws_sdk_codedeploy::operation::delete_deployment_group::DeleteDeploymentGroupOutput;
use aws_sdk_codedeploy::operation::get_application::GetApplicationOutput;
use aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupOutput;
use aws_sdk_codedeploy::operation::list_applications::ListApplicationsOutput;
use aws_sdk_codedeploy::operation::list_deployment_groups::ListDeploymentGroupsOutput;
use aws_sdk_codedeploy::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_codedeploy::types::{self as cd, ComputePlatform};
use aws_smithy_mocks::mock;

use aws_sdk_codedeploy::operation::batch_get_deployment_targets::BatchGetDeploymentTargetsOutput;
use aws_sdk_codedeploy::operation::create_deployment::CreateDeploymentOutput;
use aws_sdk_codedeploy::operation::get_deployment::GetDeploymentOutput;
use aws_sdk_codedeploy::operation::list_deployment_targets::ListDeploymentTargetsOutput;
use aws_sdk_codedeploy::operation::list_deployments::ListDeploymentsOutput;
use aws_sdk_codedeploy::operation::stop_deployment::StopDeploymentOutput;
use aws_sdk_codedeploy::operation::continue_deployment::ContinueDeploymentOutput;

use super::account::{AccountState, Answer, DeploymentState, Shared, answer, aws_error};
use crate::inventory::{ApplicationInfo, DeploymentConfigInfo};

/// The predefined deployment configs of every account, with their compute platform and
/// traffic routing [C-CFG].
const PREDEFINED_CONFIGS: &[(&str, &str, Option<&str>)] = &[
    ("CodeDeployDefault.ECSAllAtOnce", "ECS", Some("AllAtOnce")),
    ("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", "ECS", Some("TimeBasedLinear")),
    ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", "ECS", Some("TimeBasedLinear")),
    ("CodeDeployDefault.ECSCanary10Percent5Minutes", "ECS", Some("TimeBasedCanary")),
    ("CodeDeployDefault.ECSCanary10Percent15Minutes", "ECS", Some("TimeBasedCanary")),
    ("CodeDeployDefault.OneAtATime", "Server", None),
    ("CodeDeployDefault.HalfAtATime", "Server", None),
    ("CodeDeployDefault.AllAtOnce", "Server", None),
    ("CodeDeployDefault.LambdaAllAtOnce", "Lambda", Some("AllAtOnce")),
    ("CodeDeployDefault.LambdaCanary10Percent5Minutes", "Lambda", Some("TimeBasedCanary")),
    ("CodeDeployDefault.LambdaLinear10PercentEvery1Minute", "Lambda", Some("TimeBasedLinear")),
];

/// A deployment config of the account: predefined or custom.
fn find_config(st: &AccountState, name: &str) -> Option<DeploymentConfigInfo> {
    let predefined = PREDEFINED_CONFIGS.iter().find(|(n, ..)| *n == name).map(|(n, platform, routing)| DeploymentConfigInfo {
        name: (*n).to_owned(),
        compute_platform: Some((*platform).to_owned()),
        traffic_routing: routing.map(str::to_owned),
    });
    predefined.or_else(|| st.deployment_configs.get(name).cloned())
}

fn no_config(name: &str) -> String {
    format!("No deployment configuration found for name: {name}")
}

fn is_active(status: &str) -> bool {
    crate::deploy::ACTIVE_STATUSES.contains(&status)
}

/// The id of a deployment's ECS target (`<cluster>:<service>`), once it has started.
fn ecs_target_id(st: &AccountState, d: &DeploymentState) -> Option<String> {
    if matches!(d.status.as_str(), "Created" | "Queued") {
        return None;
    }
    let group = st.deployment_groups.get(&(d.application.clone(), d.deployment_group.clone()))?;
    let svc = group.ecs_services().first()?;
    Some(format!("{}:{}", svc.cluster_name()?, svc.service_name()?))
}

/// A succeeded deployment leaves the service on the AppSpec's task definition.
fn apply_succeeded(st: &mut AccountState, d: &DeploymentState) {
    let Some(td) = d.appspec.lines().find_map(|l| l.trim().strip_prefix("TaskDefinition:")) else { return };
    let td = td.trim().trim_matches(|c| c == '"' || c == '\'');
    let services: Vec<String> = st
        .deployment_groups
        .get(&(d.application.clone(), d.deployment_group.clone()))
        .map(|g| g.ecs_services().iter().filter_map(|e| e.service_name().map(str::to_owned)).collect())
        .unwrap_or_default();
    for name in services {
        if let Some(svc) = st.services.get_mut(&name) {
            svc.task_definition = Some(td.to_owned());
        }
    }
}

fn no_app(name: &str) -> String {
    format!("No application found for name: {name}")
}

fn tags(t: &[cd::Tag]) -> crate::inventory::Tags {
    crate::convert::pairs(t, |t| (t.key(), t.value()))
}

/// The ECS blue/green checks CodeDeploy makes on CreateDeploymentGroup.
fn check_group(st: &AccountState, input: &aws_sdk_codedeploy::operation::create_deployment_group::CreateDeploymentGroupInput) -> Result<(), (&'static str, String)> {
    let role = input.service_role_arn().unwrap_or_default();
    if !st.roles.values().any(|r| r.arn == role) {
        return Err(("InvalidRoleException", format!("Cannot assume role provided: {role}")));
    }
    for svc in input.ecs_services() {
        let name = svc.service_name().unwrap_or_default();
        match st.services.get(name).filter(|s| s.status == "ACTIVE") {
            None => return Err(("InvalidECSServiceException", format!("The ECS service {name} does not exist."))),
            Some(s) if s.deployment_controller != "CODE_DEPLOY" => {
                return Err((
                    "InvalidECSServiceException",
                    "Deployment group's ECS service must be configured for a CODE_DEPLOY deployment controller.".into(),
                ));
            }
            Some(_) => {}
        }
        let taken = st.deployment_groups.values().any(|g| {
            g.ecs_services().iter().any(|e| e.service_name() == Some(name) && e.cluster_name() == svc.cluster_name())
        });
        if taken {
            return Err(("ECSServiceMappingLimitExceededException", format!("The ECS service {name} is already in a deployment group.")));
        }
    }
    let pair = input.load_balancer_info().and_then(|l| l.target_group_pair_info_list().first());
    let names: Vec<&str> = pair.map(|p| p.target_groups().iter().filter_map(|t| t.name()).collect()).unwrap_or_default();
    if names.len() != 2 || !names.iter().all(|n| st.target_groups.values().any(|t| t.name == *n)) {
        return Err(("InvalidTargetGroupPairException", "Target group pair must name two existing target groups".into()));
    }
    let listeners = pair
        .into_iter()
        .flat_map(|p| {
            p.prod_traffic_route().map(|r| r.listener_arns().to_vec()).unwrap_or_default().into_iter().chain(
                p.test_traffic_route().map(|r| r.listener_arns().to_vec()).unwrap_or_default(),
            )
        })
        .collect::<Vec<_>>();
    if listeners.is_empty() || listeners.iter().any(|l| !st.load_balancer.listeners.iter().any(|x| x.arn == *l)) {
        return Err(("InvalidTargetGroupPairException", "The listeners of the target group pair must exist".into()));
    }
    let config = input.deployment_config_name().unwrap_or_default();
    match find_config(st, config) {
        None => return Err(("DeploymentConfigDoesNotExistException", no_config(config))),
        // The code AWS gives a config of another compute platform is inferred, not documented.
        Some(c) if c.compute_platform.as_deref() != Some("ECS") => {
            return Err((
                "InvalidDeploymentConfigNameException",
                format!("Deployment config {config} is for the {} compute platform, not ECS", c.compute_platform.unwrap_or_default()),
            ));
        }
        Some(_) => {}
    }
    Ok(())
}

pub(crate) fn rules(acct: &Shared) -> Vec<Answer> {
    let get_app = answer(acct, "GetApplication", mock!(Client::get_application), |st, input| {
        let name = input.application_name().unwrap_or_default();
        match st.applications.get(name) {
            Some(app) => Ok(GetApplicationOutput::builder().application(crate::convert::application_to_sdk(app)).build()),
            None => Err(aws_error("ApplicationDoesNotExistException", &no_app(name))),
        }
    });

    let list_apps = answer(acct, "ListApplications", mock!(Client::list_applications), |st, _| {
        Ok(ListApplicationsOutput::builder().set_applications(Some(st.applications.keys().cloned().collect())).build())
    });

    let create_app = answer(acct, "CreateApplication", mock!(Client::create_application), |st, input| {
        let name = input.application_name().unwrap_or_default().to_owned();
        if st.applications.contains_key(&name) {
            return Err(aws_error("ApplicationAlreadyExistsException", &format!("{name} already exists in your account")));
        }
        let id = st.fresh_id();
        st.applications.insert(
            name.clone(),
            ApplicationInfo {
                name: name.clone(),
                id: Some(id.clone()),
                compute_platform: input.compute_platform().map(|c| c.as_str().to_owned()),
                tags: tags(input.tags()),
            },
        );
        st.log.push(format!("CreateApplication {name}"));
        Ok(CreateApplicationOutput::builder().application_id(id).build())
    });

    let delete_app = answer(acct, "DeleteApplication", mock!(Client::delete_application), |st, input| {
        let name = input.application_name().unwrap_or_default().to_owned();
        // CodeDeploy answers success for a missing application; deleting one deletes its groups.
        if st.applications.remove(&name).is_some() {
            st.log.push(format!("DeleteApplication {name}"));
        }
        st.deployment_groups.retain(|(app, _), _| *app != name);
        st.deployments.retain(|_, d| d.application != name);
        st.deployment_group_tags.retain(|(app, _), _| *app != name);
        Ok(DeleteApplicationOutput::builder().build())
    });

    let get_dg = answer(acct, "GetDeploymentGroup", mock!(Client::get_deployment_group), |st, input| {
        let app = input.application_name().unwrap_or_default().to_owned();
        let group = input.deployment_group_name().unwrap_or_default().to_owned();
        if !st.applications.contains_key(&app) {
            return Err(aws_error("ApplicationDoesNotExistException", &no_app(&app)));
        }
        match st.deployment_groups.get(&(app, group.clone())) {
            Some(g) => Ok(GetDeploymentGroupOutput::builder().deployment_group_info(g.clone()).build()),
            None => Err(aws_error("DeploymentGroupDoesNotExistException", &format!("No Deployment Group found for name: {group}"))),
        }
    });

    let list_dgs = answer(acct, "ListDeploymentGroups", mock!(Client::list_deployment_groups), |st, input| {
        let app = input.application_name().unwrap_or_default().to_owned();
        if !st.applications.contains_key(&app) {
            return Err(aws_error("ApplicationDoesNotExistException", &no_app(&app)));
        }
        let groups = st.deployment_groups.keys().filter(|(a, _)| *a == app).map(|(_, g)| g.clone()).collect();
        Ok(ListDeploymentGroupsOutput::builder().application_name(app).set_deployment_groups(Some(groups)).build())
    });

    let create_dg = answer(acct, "CreateDeploymentGroup", mock!(Client::create_deployment_group), |st, input| {
        let app = input.application_name().unwrap_or_default().to_owned();
        let group = input.deployment_group_name().unwrap_or_default().to_owned();
        if !st.applications.contains_key(&app) {
            return Err(aws_error("ApplicationDoesNotExistException", &no_app(&app)));
        }
        if st.deployment_groups.contains_key(&(app.clone(), group.clone())) {
            return Err(aws_error("DeploymentGroupAlreadyExistsException", "A deployment group with the same name already exists"));
        }
        check_group(st, input).map_err(|(code, msg)| aws_error(code, &msg))?;
        let id = st.fresh_id();
        let info = cd::DeploymentGroupInfo::builder()
            .application_name(&app)
            .deployment_group_id(&id)
            .deployment_group_name(&group)
            .set_deployment_config_name(input.deployment_config_name().map(str::to_owned))
            .set_service_role_arn(input.service_role_arn().map(str::to_owned))
            .set_ecs_services(Some(input.ecs_services().to_vec()))
            .set_load_balancer_info(input.load_balancer_info().cloned())
            .set_blue_green_deployment_configuration(input.blue_green_deployment_configuration().cloned())
            .set_auto_rollback_configuration(input.auto_rollback_configuration().cloned())
            .set_deployment_style(input.deployment_style().cloned())
            .set_alarm_configuration(input.alarm_configuration().cloned())
            .set_trigger_configurations(Some(input.trigger_configurations().to_vec()))
            .compute_platform(ComputePlatform::Ecs)
            .build();
        let tags = tags(input.tags());
        st.deployment_groups.insert((app.clone(), group.clone()), info);
        st.deployment_group_tags.insert((app.clone(), group.clone()), tags);
        st.log.push(format!("CreateDeploymentGroup {app}/{group}"));
        Ok(CreateDeploymentGroupOutput::builder().deployment_group_id(id).build())
    });

    let delete_dg = answer(acct, "DeleteDeploymentGroup", mock!(Client::delete_deployment_group), |st, input| {
        let app = input.application_name().unwrap_or_default().to_owned();
        let group = input.deployment_group_name().unwrap_or_default().to_owned();
        if !st.applications.contains_key(&app) {
            return Err(aws_error("ApplicationDoesNotExistException", &no_app(&app)));
        }
        st.deployment_group_tags.remove(&(app.clone(), group.clone()));
        if st.deployment_groups.remove(&(app.clone(), group.clone())).is_some() {
            st.log.push(format!("DeleteDeploymentGroup {app}/{group}"));
        }
        Ok(DeleteDeploymentGroupOutput::builder().build())
    });

    let get_config = answer(acct, "GetDeploymentConfig", mock!(Client::get_deployment_config), |st, input| {
        let name = input.deployment_config_name().unwrap_or_default();
        match find_config(st, name) {
            Some(c) => Ok(GetDeploymentConfigOutput::builder()
                .deployment_config_info(crate::convert::deployment_config_to_sdk(&c))
                .build()),
            None => Err(aws_error("DeploymentConfigDoesNotExistException", &no_config(name))),
        }
    });

    let create_config = answer(acct, "CreateDeploymentConfig", mock!(Client::create_deployment_config), |st, input| {
        let name = input.deployment_config_name().unwrap_or_default().to_owned();
        if find_config(st, &name).is_some() {
            return Err(aws_error(
                "DeploymentConfigAlreadyExistsException",
                &format!("A deployment configuration with the name {name} already exists"),
            ));
        }
        let platform = input.compute_platform().map_or("Server", |p| p.as_str()).to_owned();
        let routing = input.traffic_routing_config().and_then(|t| t.r#type()).map(|t| t.as_str().to_owned());
        let info = DeploymentConfigInfo { name: name.clone(), compute_platform: Some(platform), traffic_routing: routing };
        st.deployment_configs.insert(name.clone(), info);
        st.log.push(format!("CreateDeploymentConfig {name}"));
        Ok(CreateDeploymentConfigOutput::builder().deployment_config_id(st.fresh_id()).build())
    });

    let list_tags = answer(acct, "ListTagsForResource", mock!(Client::list_tags_for_resource), |st, input| {
        let arn = input.resource_arn().unwrap_or_default();
        let prefix = format!("arn:{}:codedeploy:{}:{}:", crate::inventory::partition_of_region(&st.region), st.region, st.account_id);
        let found = match arn.strip_prefix(&prefix) {
            Some(rest) if rest.starts_with("application:") => {
                st.applications.get(&rest["application:".len()..]).map(|a| a.tags.clone())
            }
            Some(rest) if rest.starts_with("deploymentgroup:") => {
                let (app, group) = rest["deploymentgroup:".len()..].split_once('/').unwrap_or_default();
                st.deployment_group_tags.get(&(app.to_owned(), group.to_owned())).cloned()
            }
            _ => None,
        };
        match found {
            Some(t) => Ok(ListTagsForResourceOutput::builder()
                .set_tags(Some(crate::convert::codedeploy_tags_to_sdk(&t)))
                .build()),
            None => Err(aws_error("ResourceArnRequiredException", &format!("resource {arn} not found"))),
        }
    });

    let create_deployment = answer(acct, "CreateDeployment", mock!(Client::create_deployment), |st, input| {
        let app = input.application_name().unwrap_or_default().to_owned();
        let group = input.deployment_group_name().unwrap_or_default().to_owned();
        if !st.applications.contains_key(&app) {
            return Err(aws_error("ApplicationDoesNotExistException", &no_app(&app)));
        }
        if !st.deployment_groups.contains_key(&(app.clone(), group.clone())) {
            return Err(aws_error("DeploymentGroupDoesNotExistException", &format!("No Deployment Group found for name: {group}")));
        }
        if let Some((id, _)) = st.deployments.iter().find(|(_, d)| d.application == app && d.deployment_group == group && is_active(&d.status)) {
            return Err(aws_error(
                "DeploymentLimitExceededException",
                &format!("The Deployment Group '{group}' already has an active Deployment '{id}'"),
            ));
        }
        let Some(content) = input.revision().and_then(|r| r.app_spec_content()).and_then(|c| c.content()) else {
            return Err(aws_error("RevisionRequiredException", "A revision must be specified."));
        };
        let id = format!("d-{}", &st.fresh_id()[..9].to_uppercase());
        let first = st.deployment_script.statuses.first().cloned().unwrap_or_else(|| "Created".into());
        st.deployments.insert(
            id.clone(),
            DeploymentState {
                application: app.clone(),
                deployment_group: group.clone(),
                status: first,
                appspec: content.to_owned(),
                sha256: input.revision().and_then(|r| r.app_spec_content()).and_then(|c| c.sha256()).map(str::to_owned),
                polls: 0,
                rollback_deployment_id: None,
                continued: false,
                held_polls: 0,
            },
        );
        st.log.push(format!("CreateDeployment {app}/{group} {id}"));
        Ok(CreateDeploymentOutput::builder().deployment_id(id).build())
    });

    let get_deployment = answer(acct, "GetDeployment", mock!(Client::get_deployment), |st, input| {
        let id = input.deployment_id().unwrap_or_default().to_owned();
        let script = st.deployment_script.clone();
        // The group's blue/green settings (GetDeployment reports them), its ready wait among them.
        let group_config = st
            .deployments
            .get(&id)
            .and_then(|d| st.deployment_groups.get(&(d.application.clone(), d.deployment_group.clone())))
            .and_then(|g| g.blue_green_deployment_configuration().cloned());
        let Some(d) = st.deployments.get_mut(&id) else {
            return Err(aws_error("DeploymentDoesNotExistException", &format!("The deployment {id} could not be found.")));
        };
        let waits_for_go_ahead = group_config
            .as_ref()
            .and_then(|c| c.deployment_ready_option())
            .and_then(|o| o.action_on_timeout())
            == Some(&cd::DeploymentReadyAction::StopDeployment);
        // Each poll answers the next scripted status (a stopped deployment stays stopped; with a
        // ready wait, a Ready one stays Ready until ContinueDeployment).
        if d.status == "Ready" && waits_for_go_ahead && !d.continued {
            d.held_polls += 1;
        } else if d.status != "Stopped" {
            let at = d.polls - d.held_polls;
            d.status = script.statuses.get(at).or(script.statuses.last()).cloned().unwrap_or_else(|| "Created".into());
        }
        d.polls += 1;
        let d = d.clone();
        let mut info = cd::DeploymentInfo::builder()
            .set_blue_green_deployment_configuration(group_config)
            .deployment_id(&id)
            .application_name(&d.application)
            .deployment_group_name(&d.deployment_group)
            .status(cd::DeploymentStatus::from(d.status.as_str()))
            .compute_platform(ComputePlatform::Ecs)
            .creator(cd::DeploymentCreator::User);
        if d.status == "Failed" {
            let (code, message) = script.error.clone().unwrap_or_else(|| ("ECS_UPDATE_ERROR".into(), "The ECS service failed to update".into()));
            info = info.error_information(cd::ErrorInformation::builder().code(cd::ErrorCode::from(code.as_str())).message(message).build());
            let rollback_id = match d.rollback_deployment_id.clone() {
                Some(r) => r,
                None => {
                    let r = format!("d-{}", &st.fresh_id()[..9].to_uppercase());
                    if let Some(x) = st.deployments.get_mut(&id) {
                        x.rollback_deployment_id = Some(r.clone());
                    }
                    r
                }
            };
            info = info.rollback_info(
                cd::RollbackInfo::builder()
                    .rollback_deployment_id(rollback_id)
                    .rollback_message(format!("Automatic rollback triggered by the failure of deployment {id}"))
                    .build(),
            );
        }
        if d.status == "Succeeded" {
            apply_succeeded(st, &d);
        }
        Ok(GetDeploymentOutput::builder().deployment_info(info.build()).build())
    });

    let list_deployments = answer(acct, "ListDeployments", mock!(Client::list_deployments), |st, input| {
        let wanted: Vec<&str> = input.include_only_statuses().iter().map(|s| s.as_str()).collect();
        let ids = st
            .deployments
            .iter()
            .filter(|(_, d)| input.application_name().is_none_or(|a| a == d.application))
            .filter(|(_, d)| input.deployment_group_name().is_none_or(|g| g == d.deployment_group))
            .filter(|(_, d)| wanted.is_empty() || wanted.contains(&d.status.as_str()))
            .map(|(id, _)| id.clone())
            .collect();
        Ok(ListDeploymentsOutput::builder().set_deployments(Some(ids)).build())
    });

    let stop_deployment = answer(acct, "StopDeployment", mock!(Client::stop_deployment), |st, input| {
        let id = input.deployment_id().unwrap_or_default().to_owned();
        let Some(d) = st.deployments.get_mut(&id) else {
            return Err(aws_error("DeploymentDoesNotExistException", &format!("The deployment {id} could not be found.")));
        };
        if !is_active(&d.status) {
            return Err(aws_error("DeploymentAlreadyCompletedException", &format!("The deployment {id} has already completed.")));
        }
        d.status = "Stopped".into();
        st.log.push(format!("StopDeployment {id}"));
        Ok(StopDeploymentOutput::builder()
            .status(cd::StopStatus::Succeeded)
            .status_message("The deployment was stopped.")
            .build())
    });

    let continue_deployment = answer(acct, "ContinueDeployment", mock!(Client::continue_deployment), |st, input| {
        let id = input.deployment_id().unwrap_or_default().to_owned();
        let Some(d) = st.deployments.get_mut(&id) else {
            return Err(aws_error("DeploymentDoesNotExistException", &format!("The deployment {id} could not be found.")));
        };
        if input.deployment_wait_type() == Some(&cd::DeploymentWaitType::ReadyWait) && d.status != "Ready" {
            return Err(aws_error("DeploymentIsNotInReadyStateException", &format!("The deployment {id} is not in a ready state.")));
        }
        d.continued = true;
        st.log.push(format!("ContinueDeployment {id}"));
        Ok(ContinueDeploymentOutput::builder().build())
    });

    // The deployment's one ECS target (`cluster:service`), once the deployment has started.
    let list_targets = answer(acct, "ListDeploymentTargets", mock!(Client::list_deployment_targets), |st, input| {
        let id = input.deployment_id().unwrap_or_default();
        let Some(d) = st.deployments.get(id) else {
            return Err(aws_error("DeploymentDoesNotExistException", &format!("The deployment {id} could not be found.")));
        };
        let ids = ecs_target_id(st, d).into_iter().collect();
        Ok(ListDeploymentTargetsOutput::builder().set_target_ids(Some(ids)).build())
    });
    // Its lifecycle events and the traffic on each task set: all production traffic is on the
    // replacement (green) task set once `AllowTraffic` succeeded.
    let batch_targets = answer(acct, "BatchGetDeploymentTargets", mock!(Client::batch_get_deployment_targets), |st, input| {
        let id = input.deployment_id().unwrap_or_default();
        let Some(d) = st.deployments.get(id) else {
            return Err(aws_error("DeploymentDoesNotExistException", &format!("The deployment {id} could not be found.")));
        };
        let mut out = BatchGetDeploymentTargetsOutput::builder();
        let Some(target_id) = ecs_target_id(st, d).filter(|t| input.target_ids().contains(t)) else { return Ok(out.build()) };
        let polled = d.polls.saturating_sub(1);
        let shifted = d.status == "Succeeded" || st.deployment_script.traffic_shifted_from.is_some_and(|n| polled >= n);
        use cd::LifecycleEventStatus::{Pending, Succeeded};
        let events = [
            ("BeforeInstall", Succeeded),
            ("Install", Succeeded),
            ("AfterInstall", Succeeded),
            ("AllowTestTraffic", Succeeded),
            ("AfterAllowTestTraffic", Succeeded),
            ("BeforeAllowTraffic", if shifted { Succeeded } else { Pending }),
            ("AllowTraffic", if shifted { Succeeded } else { Pending }),
            ("AfterAllowTraffic", if d.status == "Succeeded" { Succeeded } else { Pending }),
        ];
        let green = if shifted { 100.0 } else { 0.0 };
        let mut t = cd::EcsTarget::builder().deployment_id(id).target_id(&target_id);
        for (name, status) in events {
            t = t.lifecycle_events(cd::LifecycleEvent::builder().lifecycle_event_name(name).status(status).build());
        }
        t = t
            .task_sets_info(cd::EcsTaskSet::builder().task_set_label(cd::TargetLabel::Blue).traffic_weight(100.0 - green).build())
            .task_sets_info(cd::EcsTaskSet::builder().task_set_label(cd::TargetLabel::Green).traffic_weight(green).build());
        out = out.deployment_targets(
            cd::DeploymentTarget::builder().deployment_target_type(cd::DeploymentTargetType::EcsTarget).ecs_target(t.build()).build(),
        );
        Ok(out.build())
    });

    vec![
        get_app,
        list_apps,
        create_app,
        delete_app,
        get_dg,
        list_dgs,
        create_dg,
        delete_dg,
        get_config,
        create_config,
        list_tags,
        create_deployment,
        get_deployment,
        list_deployments,
        stop_deployment,
        continue_deployment,
        list_targets,
        batch_targets,
    ]
}
