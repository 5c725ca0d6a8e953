//! CodeDeploy in the mock account: applications, deployment groups (with the cross-checks AWS
//! makes for ECS blue/green) and their tags.

use aws_sdk_codedeploy::Client;
use aws_sdk_codedeploy::operation::create_application::CreateApplicationOutput;
use aws_sdk_codedeploy::operation::create_deployment_group::CreateDeploymentGroupOutput;
use aws_sdk_codedeploy::operation::delete_application::DeleteApplicationOutput;
use aws_sdk_codedeploy::operation::delete_deployment_group::DeleteDeploymentGroupOutput;
use aws_sdk_codedeploy::operation::get_application::GetApplicationOutput;
use aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupOutput;
use aws_sdk_codedeploy::operation::list_applications::ListApplicationsOutput;
use aws_sdk_codedeploy::operation::list_deployment_groups::ListDeploymentGroupsOutput;
use aws_sdk_codedeploy::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_codedeploy::types::{self as cd, ComputePlatform};
use aws_smithy_mocks::{Rule, mock};

use super::account::{AccountState, Shared, aws_error, serve};
use crate::inventory::ApplicationInfo;

fn no_app(name: &str) -> String {
    format!("No application found for name: {name}")
}

fn tags(t: &[cd::Tag]) -> crate::inventory::Tags {
    t.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect()
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
    if !config.starts_with("CodeDeployDefault.ECS") {
        return Err(("DeploymentConfigDoesNotExistException", format!("No deployment configuration found for name: {config}")));
    }
    Ok(())
}

pub(crate) fn rules(acct: &Shared) -> Vec<Rule> {
    let a = acct.clone();
    let get_app = mock!(Client::get_application).then_compute_response(move |input| {
        serve(&a, "GetApplication", input, |st| {
            let name = input.application_name().unwrap_or_default();
            match st.applications.get(name) {
                Some(app) => Ok(GetApplicationOutput::builder()
                    .application(
                        cd::ApplicationInfo::builder()
                            .application_name(&app.name)
                            .set_application_id(app.id.clone())
                            .compute_platform(ComputePlatform::from(app.compute_platform.as_deref().unwrap_or("ECS")))
                            .build(),
                    )
                    .build()),
                None => Err(aws_error("ApplicationDoesNotExistException", &no_app(name))),
            }
        })
    });

    let a = acct.clone();
    let list_apps = mock!(Client::list_applications).then_compute_response(move |input| {
        serve(&a, "ListApplications", input, |st| {
            Ok(ListApplicationsOutput::builder().set_applications(Some(st.applications.keys().cloned().collect())).build())
        })
    });

    let a = acct.clone();
    let create_app = mock!(Client::create_application).then_compute_response(move |input| {
        serve(&a, "CreateApplication", input, |st| {
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
        })
    });

    let a = acct.clone();
    let delete_app = mock!(Client::delete_application).then_compute_response(move |input| {
        serve(&a, "DeleteApplication", input, |st| {
            let name = input.application_name().unwrap_or_default().to_owned();
            // CodeDeploy answers success for a missing application; deleting one deletes its groups.
            if st.applications.remove(&name).is_some() {
                st.log.push(format!("DeleteApplication {name}"));
            }
            st.deployment_groups.retain(|(app, _), _| *app != name);
            st.deployment_group_tags.retain(|(app, _), _| *app != name);
            Ok(DeleteApplicationOutput::builder().build())
        })
    });

    let a = acct.clone();
    let get_dg = mock!(Client::get_deployment_group).then_compute_response(move |input| {
        serve(&a, "GetDeploymentGroup", input, |st| {
            let app = input.application_name().unwrap_or_default().to_owned();
            let group = input.deployment_group_name().unwrap_or_default().to_owned();
            if !st.applications.contains_key(&app) {
                return Err(aws_error("ApplicationDoesNotExistException", &no_app(&app)));
            }
            match st.deployment_groups.get(&(app, group.clone())) {
                Some(g) => Ok(GetDeploymentGroupOutput::builder().deployment_group_info(g.clone()).build()),
                None => Err(aws_error("DeploymentGroupDoesNotExistException", &format!("No Deployment Group found for name: {group}"))),
            }
        })
    });

    let a = acct.clone();
    let list_dgs = mock!(Client::list_deployment_groups).then_compute_response(move |input| {
        serve(&a, "ListDeploymentGroups", input, |st| {
            let app = input.application_name().unwrap_or_default().to_owned();
            if !st.applications.contains_key(&app) {
                return Err(aws_error("ApplicationDoesNotExistException", &no_app(&app)));
            }
            let groups = st.deployment_groups.keys().filter(|(a, _)| *a == app).map(|(_, g)| g.clone()).collect();
            Ok(ListDeploymentGroupsOutput::builder().application_name(app).set_deployment_groups(Some(groups)).build())
        })
    });

    let a = acct.clone();
    let create_dg = mock!(Client::create_deployment_group).then_compute_response(move |input| {
        serve(&a, "CreateDeploymentGroup", input, |st| {
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
        })
    });

    let a = acct.clone();
    let delete_dg = mock!(Client::delete_deployment_group).then_compute_response(move |input| {
        serve(&a, "DeleteDeploymentGroup", input, |st| {
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
        })
    });

    let a = acct.clone();
    let list_tags = mock!(Client::list_tags_for_resource).then_compute_response(move |input| {
        serve(&a, "ListTagsForResource", input, |st| {
            let arn = input.resource_arn().unwrap_or_default();
            let prefix = format!("arn:aws:codedeploy:{}:{}:", st.region, st.account_id);
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
                    .set_tags(Some(t.iter().map(|(k, v)| cd::Tag::builder().key(k).value(v).build()).collect()))
                    .build()),
                None => Err(aws_error("ResourceArnRequiredException", &format!("resource {arn} not found"))),
            }
        })
    });

    vec![get_app, list_apps, create_app, delete_app, get_dg, list_dgs, create_dg, delete_dg, list_tags]
}
