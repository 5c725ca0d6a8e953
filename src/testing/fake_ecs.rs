//! ECS in the mock account: services (with AWS's CODE_DEPLOY and name-reuse refusals) and
//! task definitions.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::create_service::CreateServiceOutput;
use aws_sdk_ecs::operation::delete_service::DeleteServiceOutput;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::list_services::ListServicesOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::operation::describe_container_instances::DescribeContainerInstancesOutput;
use aws_sdk_ecs::types::{
    Attachment, Container, ContainerInstance, Failure, KeyValuePair, NetworkBinding, ServiceField, Task, TransportProtocol,
};
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::operation::list_service_deployments::ListServiceDeploymentsOutput;
use aws_sdk_ecs::operation::stop_service_deployment::StopServiceDeploymentOutput;
use aws_sdk_ecs::types::{Rollback, ServiceDeployment, ServiceDeploymentBrief, ServiceDeploymentLifecycleStage, ServiceDeploymentStatus};
use aws_smithy_mocks::mock;

use super::account::{AccountState, ServiceDeploymentState, Answer, Condition, Pending, Shared, answer, aws_error};
use crate::convert::{service_from_create, service_to_sdk, task_definition_to_sdk};

fn cluster_matches(st: &AccountState, cluster: Option<&str>) -> bool {
    let c = cluster.unwrap_or("default");
    c == st.cluster || c.ends_with(&format!(":cluster/{}", st.cluster))
}

fn service_arn(st: &AccountState, name: &str) -> String {
    format!("arn:{}:ecs:{}:{}:service/{}/{name}", crate::inventory::partition_of_region(&st.region), st.region, st.account_id, st.cluster)
}

fn cluster_arn(st: &AccountState) -> String {
    format!("arn:{}:ecs:{}:{}:cluster/{}", crate::inventory::partition_of_region(&st.region), st.region, st.account_id, st.cluster)
}

pub(crate) fn rules(acct: &Shared) -> Vec<Answer> {
    let describe = answer(acct, "DescribeServices", mock!(Client::describe_services), |st, input| {
        if !cluster_matches(st, input.cluster()) {
            return Err(aws_error("ClusterNotFoundException", "Cluster not found."));
        }
        let with_tags = input.include().contains(&ServiceField::Tags);
        let mut out = DescribeServicesOutput::builder();
        for name in input.services() {
            let short = name.rsplit('/').next().unwrap_or(name);
            match st.services.get(short) {
                Some(svc) => {
                    let mut s = svc.clone();
                    if !with_tags {
                        s.tags.clear();
                    }
                    out = out.services(service_to_sdk(&s));
                    if s.status == "INACTIVE" {
                        st.noticed(short, &[Condition::Inactive]);
                    } else if s.status == "ACTIVE" && s.running_count >= s.desired_count {
                        st.noticed(short, &[Condition::TasksRunning]);
                    }
                }
                None => out = out.failures(Failure::builder().arn(service_arn(st, short)).reason("MISSING").build()),
            }
        }
        Ok(out.build())
    });

    let list = answer(acct, "ListServices", mock!(Client::list_services), |st, input| {
        if !cluster_matches(st, input.cluster()) {
            return Err(aws_error("ClusterNotFoundException", "Cluster not found."));
        }
        let arns = st.services.values().filter(|s| s.status != "INACTIVE").filter_map(|s| s.arn.clone()).collect();
        Ok(ListServicesOutput::builder().set_service_arns(Some(arns)).build())
    });

    let create = answer(acct, "CreateService", mock!(Client::create_service), |st, input| {
        st.create_service_requests.push(input.clone());
        if !cluster_matches(st, input.cluster()) {
            return Err(aws_error("ClusterNotFoundException", "Cluster not found."));
        }
        let name = input.service_name().unwrap_or_default().to_owned();
        // Tag rules AWS enforces (ECS answers InvalidParameterException for bad tags).
        if input.tags().iter().any(|t| t.key().is_some_and(crate::inventory::is_reserved_tag_key)) {
            return Err(aws_error("InvalidParameterException", "Tag keys starting with 'aws:' are reserved for internal use"));
        }
        if input.tags().len() > crate::inventory::MAX_TAGS_PER_RESOURCE {
            return Err(aws_error("InvalidParameterException", "Too many tags: a resource can have at most 50"));
        }
        // The same client token again (a retry after a lost answer): the service it created.
        if let Some(token) = input.client_token()
            && st.service_client_tokens.get(token) == Some(&name)
            && let Some(svc) = st.services.get(&name).filter(|s| s.status != "INACTIVE")
        {
            return Ok(CreateServiceOutput::builder().service(service_to_sdk(svc)).build());
        }
        // AWS keeps a deleted service's name until it is INACTIVE.
        if st.services.get(&name).is_some_and(|s| s.status != "INACTIVE") {
            return Err(aws_error("InvalidParameterException", "Creation of service was not idempotent."));
        }
        let code_deploy = input.deployment_controller().is_some_and(|c| c.r#type().as_str() == "CODE_DEPLOY");
        if code_deploy && input.load_balancers().len() > 1 {
            return Err(aws_error(
                "InvalidParameterException",
                "CODE_DEPLOY deployment controller only supports one target group.",
            ));
        }
        if code_deploy
            && input.deployment_configuration().is_some_and(|c| c.deployment_circuit_breaker().is_some() || c.alarms().is_some())
        {
            return Err(aws_error(
                "InvalidParameterException",
                "deploymentCircuitBreaker and alarms are only supported with the ECS deployment controller.",
            ));
        }
        if let Some(td) = input.task_definition()
            && !st.task_definitions.contains_key(td)
            && !st.task_definitions.values().any(|t| td == format!("{}:{}", t.family, t.arn.rsplit(':').next().unwrap_or("")))
        {
            return Err(aws_error("InvalidParameterException", "TaskDefinition not found."));
        }
        let id = format!("ecs-svc/{}", u64::from_str_radix(&st.fresh_id(), 16).unwrap_or(1));
        let svc = service_from_create(input, service_arn(st, &name), cluster_arn(st), id);
        if let Some(token) = input.client_token() {
            st.service_client_tokens.insert(token.to_owned(), name.clone());
        }
        st.log.push(format!("CreateService {name} {}", svc.deployment_controller));
        let out = CreateServiceOutput::builder().service(service_to_sdk(&svc)).build();
        st.pending.insert(name.clone(), (AccountState::after(st.timing.tasks_start), Pending::TasksRunning));
        if !svc.load_balancers.is_empty() {
            st.healthy_at.insert(name.clone(), AccountState::after(st.timing.tasks_start + st.timing.health_checks));
        }
        st.services.insert(name, svc);
        Ok(out)
    });

    let delete = answer(acct, "DeleteService", mock!(Client::delete_service), |st, input| {
        if !cluster_matches(st, input.cluster()) {
            return Err(aws_error("ClusterNotFoundException", "Cluster not found."));
        }
        let name = input.service().unwrap_or_default();
        let name = name.rsplit('/').next().unwrap_or(name).to_owned();
        let drain = st.timing.drain;
        // AWS deregisters the service's scalable target, with its policies and scheduled actions.
        let rid = crate::inventory::scaling_resource_id(&st.cluster, &name);
        if st.services.get(&name).is_some_and(|s| s.status == "ACTIVE" && (input.force() == Some(true) || s.desired_count == 0)) {
            super::fake_scaling::deregister(st, &rid);
        }
        let Some(svc) = st.services.get_mut(&name) else {
            return Err(aws_error("ServiceNotFoundException", "Service not found."));
        };
        if svc.status != "ACTIVE" {
            return Err(aws_error("ServiceNotActiveException", "Service was not ACTIVE."));
        }
        if input.force() != Some(true) && svc.desired_count > 0 {
            return Err(aws_error(
                "InvalidParameterException",
                "The service cannot be stopped while it is scaled above 0.",
            ));
        }
        svc.status = "DRAINING".into();
        svc.running_count = 0;
        st.healthy_at.remove(&name);
        let out = DeleteServiceOutput::builder().service(service_to_sdk(svc)).build();
        st.pending.insert(name.clone(), (AccountState::after(drain), Pending::Inactive));
        st.log.push(format!("DeleteService {name}"));
        Ok(out)
    });

    let describe_td = answer(acct, "DescribeTaskDefinition", mock!(Client::describe_task_definition), |st, input| {
        let asked = input.task_definition().unwrap_or_default();
        let found = st.task_definitions.get(asked).or_else(|| {
            st.task_definitions.values().find(|t| {
                let rev = t.arn.rsplit(':').next().unwrap_or("");
                asked == format!("{}:{rev}", t.family) || asked == t.family
            })
        });
        match found {
            Some(td) => Ok(DescribeTaskDefinitionOutput::builder().task_definition(task_definition_to_sdk(td)).build()),
            None => Err(aws_error("ClientException", "Unable to describe task definition.")),
        }
    });

    let list_tasks = answer(acct, "ListTasks", mock!(Client::list_tasks), |st, input| {
        if !cluster_matches(st, input.cluster()) {
            return Err(aws_error("ClusterNotFoundException", "Cluster not found."));
        }
        if input.desired_status().is_some_and(|d| d.as_str() != "RUNNING") {
            return Ok(ListTasksOutput::builder().build());
        }
        let arns = st
            .tasks()
            .into_iter()
            .filter(|t| input.service_name().is_none_or(|s| s == t.service))
            .map(|t| t.arn)
            .collect();
        Ok(ListTasksOutput::builder().set_task_arns(Some(arns)).build())
    });

    let describe_tasks = answer(acct, "DescribeTasks", mock!(Client::describe_tasks), |st, input| {
        if !cluster_matches(st, input.cluster()) {
            return Err(aws_error("ClusterNotFoundException", "Cluster not found."));
        }
        let all = st.tasks();
        let mut out = DescribeTasksOutput::builder();
        for arn in input.tasks() {
            match all.iter().find(|t| t.arn == *arn) {
                Some(t) => {
                    let mut task = Task::builder()
                        .task_arn(&t.arn)
                        .cluster_arn(cluster_arn(st))
                        .group(format!("service:{}", t.service))
                        .last_status("RUNNING")
                        .desired_status("RUNNING")
                        .set_task_definition_arn(st.services[&t.service].task_definition.clone());
                    if let Some(i) = &t.instance {
                        // Bridge/host mode: the instance and the host port the container is bound to.
                        task = task.container_instance_arn(&i.container_instance_arn).containers(
                            Container::builder()
                                .name(st.services[&t.service].load_balancers.first().and_then(|l| l.container_name.clone()).unwrap_or_default())
                                .last_status("RUNNING")
                                .network_bindings(
                                    NetworkBinding::builder()
                                        .container_port(i.container_port)
                                        .host_port(i.host_port)
                                        .protocol(TransportProtocol::Tcp)
                                        .build(),
                                )
                                .build(),
                        );
                    }
                    if let Some(ip) = &t.ip {
                        task = task.attachments(
                            Attachment::builder()
                                .r#type("ElasticNetworkInterface")
                                .status("ATTACHED")
                                .details(KeyValuePair::builder().name("privateIPv4Address").value(ip).build())
                                .build(),
                        );
                    }
                    out = out.tasks(task.build());
                }
                None => out = out.failures(Failure::builder().arn(arn).reason("MISSING").build()),
            }
        }
        Ok(out.build())
    });

    let describe_instances = answer(acct, "DescribeContainerInstances", mock!(Client::describe_container_instances), |st, input| {
        if !cluster_matches(st, input.cluster()) {
            return Err(aws_error("ClusterNotFoundException", "Cluster not found."));
        }
        let known: Vec<(String, String)> =
            st.tasks().into_iter().filter_map(|t| t.instance).map(|i| (i.container_instance_arn, i.ec2_instance_id)).collect();
        let mut out = DescribeContainerInstancesOutput::builder();
        for arn in input.container_instances() {
            match known.iter().find(|(a, _)| a == arn) {
                Some((a, ec2)) => {
                    out = out.container_instances(
                        ContainerInstance::builder().container_instance_arn(a).ec2_instance_id(ec2).status("ACTIVE").agent_connected(true).build(),
                    );
                }
                None => out = out.failures(Failure::builder().arn(arn).reason("MISSING").build()),
            }
        }
        Ok(out.build())
    });

    // ECS-native blue/green as AWS documents it (aws-facts.md §14), like the moto extension:
    // the strategy rules refused with InvalidParameterException; load balancers replaced (the
    // rolling deployment they start is finished at once here); deploymentConfiguration merged.
    let update = answer(acct, "UpdateService", mock!(Client::update_service), |st, input| {
        if !cluster_matches(st, input.cluster()) {
            return Err(aws_error("ClusterNotFoundException", "Cluster not found."));
        }
        let name = input.service().unwrap_or_default();
        let name = name.rsplit('/').next().unwrap_or(name).to_owned();
        if let Some(c) = input.deployment_configuration() {
            check_strategy(c)?;
        }
        let Some(svc) = st.services.get_mut(&name).filter(|s| s.status == "ACTIVE") else {
            return Err(aws_error("ServiceNotActiveException", "Service was not ACTIVE."));
        };
        let controller = input.deployment_controller().map(|c| c.r#type().as_str().to_owned());
        if controller.as_deref() == Some("CODE_DEPLOY") {
            return Err(aws_error(
                "InvalidParameterException",
                "Unable to update the deployment controller of a service to CODE_DEPLOY. Create a new service with a CODE_DEPLOY deployment controller.",
            ));
        }
        // CODE_DEPLOY -> ECS (the documented migration): one primary task set, whose task
        // definition the service then runs as a finished ECS deployment; the same call may
        // carry load balancers and the deployment configuration.
        let switching = controller.as_deref() == Some("ECS") && svc.deployment_controller == "CODE_DEPLOY";
        if switching {
            if svc.task_set_count > 1 {
                return Err(aws_error(
                    "InvalidParameterException",
                    "Updating the deployment controller is not supported when there are multiple tasksets in the service.",
                ));
            }
            if svc.task_set_count == 0 {
                return Err(aws_error("InvalidParameterException", "Updating the deployment controller requires a primary taskset in the service."));
            }
        }
        if !switching && svc.deployment_controller != "ECS" && (!input.load_balancers().is_empty() || input.deployment_configuration().is_some()) {
            return Err(aws_error("InvalidParameterException", "Unable to update the service: it is not on the ECS deployment controller."));
        }
        let mut changed = Vec::new();
        if switching {
            svc.deployment_controller = "ECS".to_owned();
            svc.task_set_count = 0;
            svc.deployments = vec![crate::inventory::DeploymentSummary {
                status: "PRIMARY".to_owned(),
                rollout_state: Some("COMPLETED".to_owned()),
                desired_count: svc.desired_count,
                running_count: svc.desired_count,
                id: Some("ecs-svc/switched".to_owned()),
                ..Default::default()
            }];
            changed.push("deploymentController");
        }
        if !input.load_balancers().is_empty() {
            let sdk = service_to_sdk(svc);
            let with = aws_sdk_ecs::types::Service::builder()
                .set_load_balancers(Some(input.load_balancers().to_vec()))
                .set_deployment_configuration(sdk.deployment_configuration().cloned())
                .build();
            svc.load_balancers = crate::convert::service_from_sdk(&with).load_balancers;
            // A rolling deployment replaces the tasks: new ones start and pass health checks,
            // then the old ones drain.
            for d in &mut svc.deployments {
                d.rollout_state = Some("IN_PROGRESS".into());
            }
            changed.push("loadBalancers");
        }
        if let Some(c) = input.deployment_configuration() {
            let given = crate::convert::service_from_sdk(&aws_sdk_ecs::types::Service::builder().deployment_configuration(c.clone()).build())
                .deployment_configuration
                .unwrap_or_default();
            let stored = svc.deployment_configuration.get_or_insert_with(Default::default);
            macro_rules! merge { ($($f:ident),*) => { $( if given.$f.is_some() { stored.$f = given.$f.clone(); } )* } }
            merge!(maximum_percent, minimum_healthy_percent, circuit_breaker, alarms, strategy, bake_time_in_minutes, linear, canary);
            changed.push("deploymentConfiguration");
        }
        if changed.contains(&"loadBalancers") {
            let t = st.timing;
            st.pending.insert(name.clone(), (AccountState::after(t.tasks_start + t.health_checks + t.drain), Pending::TasksRunning));
        }
        if input.force_new_deployment() == Some(true) {
            let svc = &st.services[&name];
            if svc.deployment_controller != "ECS" {
                return Err(aws_error("InvalidParameterException", "forceNewDeployment is only supported with the ECS deployment controller."));
            }
            start_service_deployment(st, &name);
            changed.push("forceNewDeployment");
        }
        st.log.push(format!("UpdateService {name} {}", changed.join(",")));
        let svc = &st.services[&name];
        Ok(aws_sdk_ecs::operation::update_service::UpdateServiceOutput::builder().service(service_to_sdk(svc)).build())
    });

    // The recorded service deployments (UpdateService `forceNewDeployment` starts one), and a
    // rollout in progress in the service's `deployments` list seen as an IN_PROGRESS one when no
    // recorded deployment is unfinished (a load balancer change starts a rolling deployment);
    // newest first, filtered by status.
    let list_deployments = answer(acct, "ListServiceDeployments", mock!(Client::list_service_deployments), |st, input| {
        if !cluster_matches(st, input.cluster()) {
            return Err(aws_error("ClusterNotFoundException", "Cluster not found."));
        }
        let name = input.service().unwrap_or_default();
        let name = name.rsplit('/').next().unwrap_or(name).to_owned();
        if !st.services.contains_key(&name) {
            return Err(aws_error("ServiceNotFoundException", "Service not found."));
        }
        let wanted: Vec<&str> = input.status().iter().map(|s| s.as_str()).collect();
        let mut found: Vec<(&String, &ServiceDeploymentState)> = st
            .service_deployments
            .iter()
            .filter(|(_, d)| d.service == name && (wanted.is_empty() || wanted.contains(&d.status.as_str())))
            .collect();
        found.sort_by_key(|(_, d)| std::cmp::Reverse(d.created));
        let recorded_unfinished = st
            .service_deployments
            .values()
            .any(|d| d.service == name && matches!(d.status.as_str(), "PENDING" | "IN_PROGRESS" | "STOP_REQUESTED"));
        let mut briefs: Vec<ServiceDeploymentBrief> = Vec::new();
        if !recorded_unfinished && (wanted.is_empty() || wanted.contains(&"IN_PROGRESS")) {
            let arn = service_arn(st, &name);
            let prefix = arn.rsplit_once(":service/").map_or("", |(p, _)| p);
            let rollouts = st.services[&name].deployments.iter().enumerate().filter(|(_, d)| d.rollout_state.as_deref() == Some("IN_PROGRESS"));
            briefs.extend(rollouts.map(|(i, d)| {
                let id = d.id.clone().unwrap_or_else(|| format!("deployment-{i}"));
                ServiceDeploymentBrief::builder()
                    .service_deployment_arn(format!("{prefix}:service-deployment/{}/{name}/{id}", st.cluster))
                    .service_arn(&arn)
                    .cluster_arn(cluster_arn(st))
                    .status(ServiceDeploymentStatus::InProgress)
                    .build()
            }));
        }
        briefs.extend(found.into_iter().map(|(arn, d)| {
            ServiceDeploymentBrief::builder()
                .service_deployment_arn(arn)
                .service_arn(service_arn(st, &d.service))
                .cluster_arn(cluster_arn(st))
                .status(ServiceDeploymentStatus::from(d.status.as_str()))
                .build()
        }));
        Ok(ListServiceDeploymentsOutput::builder().set_service_deployments(Some(briefs)).build())
    });

    // Each answer moves a deployment to its script's next step; a stop ends it.
    let describe_deployments = answer(acct, "DescribeServiceDeployments", mock!(Client::describe_service_deployments), |st, input| {
        let script = st.native_script.clone();
        let mut out = DescribeServiceDeploymentsOutput::builder();
        for arn in input.service_deployment_arns() {
            let Some(d) = st.service_deployments.get_mut(arn) else {
                out = out.failures(Failure::builder().arn(arn).reason("MISSING").build());
                continue;
            };
            match d.stop_type.as_deref() {
                Some("ROLLBACK") => d.status = "ROLLBACK_SUCCESSFUL".into(),
                Some(_) => d.status = "STOPPED".into(),
                None => {
                    if let Some((status, stage)) = script.steps.get(d.polls).or(script.steps.last()) {
                        d.status.clone_from(status);
                        d.lifecycle_stage.clone_from(stage);
                    }
                }
            }
            d.polls += 1;
            let d = d.clone();
            let ended_badly = d.status.starts_with("ROLLBACK") || d.status == "STOPPED";
            let reason = match (&d.stop_type, &script.status_reason) {
                (Some(t), _) => Some(format!("Service deployment stopped by StopServiceDeployment ({t}).")),
                (None, r) => r.clone().filter(|_| ended_badly),
            };
            let mut sd = ServiceDeployment::builder()
                .service_deployment_arn(arn)
                .service_arn(service_arn(st, &d.service))
                .cluster_arn(cluster_arn(st))
                .status(ServiceDeploymentStatus::from(d.status.as_str()))
                .set_status_reason(reason.clone())
                .set_lifecycle_stage(d.lifecycle_stage.as_deref().map(ServiceDeploymentLifecycleStage::from));
            if d.status.starts_with("ROLLBACK") {
                sd = sd.rollback(Rollback::builder().set_reason(reason).service_revision_arn(format!("{arn}/source-revision")).build());
            }
            out = out.service_deployments(sd.build());
        }
        Ok(out.build())
    });

    let stop_deployment = answer(acct, "StopServiceDeployment", mock!(Client::stop_service_deployment), |st, input| {
        let arn = input.service_deployment_arn().unwrap_or_default().to_owned();
        let Some(d) = st.service_deployments.get_mut(&arn) else {
            return Err(aws_error("ServiceDeploymentNotFoundException", "The service deployment does not exist."));
        };
        if !matches!(d.status.as_str(), "PENDING" | "IN_PROGRESS") {
            return Err(aws_error("ConflictException", "The service deployment is not in progress."));
        }
        d.stop_type = Some(input.stop_type().map_or("ROLLBACK", |t| t.as_str()).to_owned());
        st.log.push(format!("StopServiceDeployment {arn}"));
        Ok(StopServiceDeploymentOutput::builder().service_deployment_arn(arn).build())
    });

    vec![
        describe,
        list,
        create,
        delete,
        describe_td,
        list_tasks,
        describe_tasks,
        describe_instances,
        update,
        list_deployments,
        describe_deployments,
        stop_deployment,
    ]
}

/// Records the service deployment UpdateService `forceNewDeployment` starts, at its script's first step.
fn start_service_deployment(st: &mut AccountState, service: &str) {
    let id = st.fresh_id();
    let arn = format!(
        "arn:{}:ecs:{}:{}:service-deployment/{}/{service}/{id}",
        crate::inventory::partition_of_region(&st.region),
        st.region,
        st.account_id,
        st.cluster,
    );
    let (status, lifecycle_stage) = st.native_script.steps.first().cloned().unwrap_or_else(|| ("PENDING".into(), None));
    let created = st.service_deployments.len();
    st.service_deployments.insert(
        arn,
        ServiceDeploymentState { service: service.to_owned(), created, status, lifecycle_stage, polls: 0, stop_type: None },
    );
}

/// The documented rules of `deploymentConfiguration` (ECS API reference), with the moto
/// extension's texts.
fn check_strategy<E: aws_smithy_runtime_api::client::result::CreateUnhandledError>(c: &aws_sdk_ecs::types::DeploymentConfiguration) -> Result<(), E> {
    let refuse = |m: String| Err(aws_error("InvalidParameterException", &m));
    let range = |name: &str, v: Option<f64>, low: f64, high: f64| match v {
        Some(v) if !(low..=high).contains(&v) => Some(format!("{name} must be between {low} and {high}.")),
        _ => None,
    };
    let strategy = c.strategy().map_or("ROLLING", |s| s.as_str());
    if !["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"].contains(&strategy) {
        return refuse(format!("Invalid deployment strategy: {strategy}."));
    }
    if strategy == "BLUE_GREEN" && c.bake_time_in_minutes().is_none() {
        return refuse("bakeTimeInMinutes is required for the BLUE_GREEN deployment strategy.".to_owned());
    }
    let linear = c.linear_configuration();
    let canary = c.canary_configuration();
    let problems = [
        range("bakeTimeInMinutes", c.bake_time_in_minutes().map(f64::from), 0.0, 1440.0),
        range("linearConfiguration.stepPercent", linear.and_then(|l| l.step_percent()), 3.0, 100.0),
        range("linearConfiguration.stepBakeTimeInMinutes", linear.and_then(|l| l.step_bake_time_in_minutes()).map(f64::from), 0.0, 1440.0),
        range("canaryConfiguration.canaryPercent", canary.and_then(|l| l.canary_percent()), 0.1, 100.0),
        range("canaryConfiguration.canaryBakeTimeInMinutes", canary.and_then(|l| l.canary_bake_time_in_minutes()).map(f64::from), 0.0, 1440.0),
    ];
    match problems.into_iter().flatten().next() {
        Some(p) => refuse(p),
        None => Ok(()),
    }
}
