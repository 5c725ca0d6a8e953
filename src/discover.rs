//! Discovery: read-only calls that fill an [`Inventory`]. Independent reads run concurrently.
//!
//! Call graph (each level waits only for what it needs):
//! 1. `DescribeServices`, and in parallel everything keyed by planned names that do not
//!    depend on the service (role, application, deployment group, pipeline);
//! 2. the blue target group (+ attributes, tags) and the task definition;
//! 3. the load balancer, its listeners, and a green target group under the planned name;
//! 4. rules and tags of those listeners.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as ecs;
use aws_sdk_elasticloadbalancingv2::types as elb;
use futures::future::try_join_all;

use crate::error::{Error, Result, SdkResultExt};
use crate::inventory::*;
use crate::spec::Migration;
use crate::AwsClients;

/// Reads everything the plan needs about `migration`'s service. Makes no mutating call.
pub async fn discover(aws: &AwsClients, migration: &Migration) -> Result<Inventory> {
    let role_name = migration.role_spec()?.role_name().clone();
    let app_name = migration.application_spec()?.application_name().clone();
    let dg_name = migration.deployment_group_spec()?.deployment_group_name().clone();
    let pipeline_name = migration.pipeline().map(|p| p.pipeline_name().clone());
    let adopt_role = migration.role_spec()?.existing_role_arn().is_some();

    let cutover_name = match migration.cutover() {
        crate::spec::ServiceCutover::Parallel { new_name } => Some(new_name.as_str().to_owned()),
        crate::spec::ServiceCutover::ParallelKeepName => {
            Some(crate::plan::bridge_service_name(migration.service().as_str()))
        }
        _ => None,
    };
    // One DescribeServices call reads the service and the name the cutover will create.
    let mut names = vec![migration.service().as_str().to_owned()];
    names.extend(cutover_name.clone());
    let (services, role, application, deployment_group, pipeline) = futures::try_join!(
        describe_services(aws, migration.cluster().as_str(), &names),
        async {
            if adopt_role { Ok(None) } else { get_role(aws, role_name.as_str()).await }
        },
        get_application(aws, app_name.as_str()),
        get_deployment_group(aws, app_name.as_str(), dg_name.as_str()),
        async {
            match &pipeline_name {
                Some(name) => get_pipeline(aws, name.as_str()).await.map(Some),
                None => Ok(None),
            }
        },
    )?;
    let mut services = services.into_iter();
    let service = services.next().flatten();
    let cutover_service = services.next().flatten().filter(|s| s.status != "INACTIVE");

    // A finished Parallel cutover left the service under its new name: look there.
    let service = match (migration.cutover(), &service) {
        (crate::spec::ServiceCutover::Parallel { new_name }, s) if s.as_ref().is_none_or(|s| s.status == "INACTIVE") => {
            match describe_service(aws, migration.cluster().as_str(), new_name.as_str()).await? {
                Some(renamed) if renamed.status == "ACTIVE" => Some(renamed),
                _ => service,
            }
        }
        _ => service,
    };

    let (account_id, region) = service
        .as_ref()
        .and_then(|s| s.arn.as_deref())
        .map(arn_account_region)
        .unwrap_or((None, None));

    let blue_arn = service
        .as_ref()
        .and_then(|s| s.single_load_balancer())
        .and_then(|lb| lb.target_group_arn.clone());
    let task_def_arn = service.as_ref().and_then(|s| s.task_definition.clone());

    let codedeploy_arn = |suffix: String| match (&region, &account_id) {
        (Some(r), Some(a)) => Some(format!("arn:aws:codedeploy:{r}:{a}:{suffix}")),
        _ => None,
    };
    let app_arn = application.as_ref().and_then(|_| codedeploy_arn(format!("application:{app_name}")));
    let dg_arn = deployment_group.as_ref().and_then(|_| codedeploy_arn(format!("deploymentgroup:{app_name}/{dg_name}")));

    let (blue_target_group, task_definition, app_tags, dg_tags) = futures::try_join!(
        async {
            match &blue_arn {
                Some(arn) => describe_target_group(aws, TgLookup::Arn(arn)).await,
                None => Ok(None),
            }
        },
        async {
            match &task_def_arn {
                Some(arn) => describe_task_definition(aws, arn).await.map(Some),
                None => Ok(None),
            }
        },
        codedeploy_tags(aws, app_arn.as_deref()),
        codedeploy_tags(aws, dg_arn.as_deref()),
    )?;
    let application = application.map(|a| ApplicationInfo { tags: app_tags, ..a });
    let deployment_group = deployment_group.map(|d| DeploymentGroupInfo { tags: dg_tags, ..d });

    let green_name = match &blue_target_group {
        Some(blue) => Some(migration.target_group_pair(&blue.name)?.green_name().clone()),
        None => None,
    };
    let lb_arn = blue_target_group.as_ref().and_then(|tg| tg.load_balancer_arns.first().cloned());
    let (load_balancer, green_target_group) = futures::try_join!(
        async {
            match (&lb_arn, &blue_arn) {
                (Some(lb), Some(blue)) => describe_load_balancer(aws, lb, blue).await,
                _ => Ok(None),
            }
        },
        async {
            match &green_name {
                Some(name) => describe_target_group(aws, TgLookup::Name(name.as_str())).await,
                None => Ok(None),
            }
        },
    )?;

    Ok(Inventory {
        account_id,
        region,
        service,
        blue_target_group,
        load_balancer,
        task_definition,
        pipeline,
        existing: ExistingResources { green_target_group, role, application, deployment_group, cutover_service },
    })
}

async fn codedeploy_tags(aws: &AwsClients, arn: Option<&str>) -> Result<Tags> {
    let Some(arn) = arn else { return Ok(Tags::new()) };
    let out = aws.codedeploy.list_tags_for_resource().resource_arn(arn).send().await.ctx("ListTagsForResource", arn)?;
    Ok(out.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect())
}

/// `(account, region)` from an ARN.
pub(crate) fn arn_account_region(arn: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = arn.split(':').collect();
    let get = |i: usize| parts.get(i).filter(|s| !s.is_empty()).map(|s| (*s).to_owned());
    (get(4), get(3))
}

fn code_is<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    codes: &[&str],
) -> bool {
    err.as_service_error().and_then(|e| e.code()).is_some_and(|c| codes.contains(&c))
}


/// DescribeServices with tags for up to 10 names (or ARNs), in the order asked; `None` for a
/// missing one.
pub async fn describe_services(aws: &AwsClients, cluster: &str, names: &[String]) -> Result<Vec<Option<ServiceDefinition>>> {
    let out = aws
        .ecs
        .describe_services()
        .cluster(cluster)
        .set_services(Some(names.to_vec()))
        .include(ecs::ServiceField::Tags)
        .send()
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e) if code_is(&e, &["ClusterNotFoundException"]) => return Ok(vec![None; names.len()]),
        Err(e) => return Err(e).ctx("DescribeServices", format!("services {} in {cluster}", names.join(", "))),
    };
    Ok(names
        .iter()
        .map(|n| {
            let n = Some(n.as_str());
            out.services().iter().find(|s| s.service_name() == n || s.service_arn() == n).map(service_from_sdk)
        })
        .collect())
}

/// DescribeServices with tags; `None` when the service is missing.
pub async fn describe_service(aws: &AwsClients, cluster: &str, service: &str) -> Result<Option<ServiceDefinition>> {
    Ok(describe_services(aws, cluster, &[service.to_owned()]).await?.pop().flatten())
}

/// Converts the SDK's service into our plain definition.
pub fn service_from_sdk(s: &ecs::Service) -> ServiceDefinition {
    let deployments = s
        .deployments()
        .iter()
        .map(|d| DeploymentSummary {
            id: d.id().map(str::to_owned),
            status: d.status().unwrap_or_default().to_owned(),
            rollout_state: d.rollout_state().map(|r| r.as_str().to_owned()),
            desired_count: d.desired_count(),
            running_count: d.running_count(),
            service_connect: d.service_connect_configuration().is_some_and(|c| c.enabled()),
            vpc_lattice: !d.vpc_lattice_configurations().is_empty(),
            volume_configurations: d.volume_configurations().len(),
        })
        .collect();
    ServiceDefinition {
        name: s.service_name().unwrap_or_default().to_owned(),
        arn: s.service_arn().map(str::to_owned),
        cluster_arn: s.cluster_arn().map(str::to_owned),
        status: s.status().unwrap_or_default().to_owned(),
        deployment_controller: s
            .deployment_controller()
            .map(|c| c.r#type().as_str().to_owned())
            .unwrap_or_else(|| "ECS".to_owned()),
        task_definition: s.task_definition().map(str::to_owned),
        desired_count: s.desired_count(),
        running_count: s.running_count(),
        launch_type: s.launch_type().map(|l| l.as_str().to_owned()),
        capacity_provider_strategy: s
            .capacity_provider_strategy()
            .iter()
            .map(|c| CapacityProviderItem {
                capacity_provider: c.capacity_provider().to_owned(),
                weight: c.weight(),
                base: c.base(),
            })
            .collect(),
        platform_version: s.platform_version().map(str::to_owned),
        load_balancers: s
            .load_balancers()
            .iter()
            .map(|l| LoadBalancerEntry {
                target_group_arn: l.target_group_arn().map(str::to_owned),
                load_balancer_name: l.load_balancer_name().map(str::to_owned),
                container_name: l.container_name().map(str::to_owned),
                container_port: l.container_port(),
            })
            .collect(),
        service_registries: s
            .service_registries()
            .iter()
            .map(|r| ServiceRegistryEntry {
                registry_arn: r.registry_arn().map(str::to_owned),
                port: r.port(),
                container_name: r.container_name().map(str::to_owned),
                container_port: r.container_port(),
            })
            .collect(),
        network_configuration: s.network_configuration().and_then(|n| n.awsvpc_configuration()).map(|a| {
            AwsVpcConfiguration {
                subnets: a.subnets().to_vec(),
                security_groups: a.security_groups().to_vec(),
                assign_public_ip: a.assign_public_ip().map(|p| p.as_str().to_owned()),
            }
        }),
        health_check_grace_period_seconds: s.health_check_grace_period_seconds(),
        placement_constraints: s
            .placement_constraints()
            .iter()
            .map(|p| PlacementConstraintDef {
                r#type: p.r#type().map(|t| t.as_str().to_owned()),
                expression: p.expression().map(str::to_owned),
            })
            .collect(),
        placement_strategy: s
            .placement_strategy()
            .iter()
            .map(|p| PlacementStrategyDef {
                r#type: p.r#type().map(|t| t.as_str().to_owned()),
                field: p.field().map(str::to_owned),
            })
            .collect(),
        scheduling_strategy: s.scheduling_strategy().map(|x| x.as_str().to_owned()),
        deployment_configuration: s.deployment_configuration().map(|c| DeploymentConfigurationDef {
            maximum_percent: c.maximum_percent(),
            minimum_healthy_percent: c.minimum_healthy_percent(),
            circuit_breaker: c.deployment_circuit_breaker().map(|b| (b.enable(), b.rollback())),
            alarms: c.alarms().map(|a| DeploymentAlarmsDef {
                alarm_names: a.alarm_names().to_vec(),
                enable: a.enable(),
                rollback: a.rollback(),
            }),
            strategy: c.strategy().map(|x| x.as_str().to_owned()),
            bake_time_in_minutes: c.bake_time_in_minutes(),
        }),
        tags: s
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
            .collect(),
        enable_ecs_managed_tags: s.enable_ecs_managed_tags(),
        propagate_tags: s.propagate_tags().map(|p| p.as_str().to_owned()),
        enable_execute_command: s.enable_execute_command(),
        availability_zone_rebalancing: s.availability_zone_rebalancing().map(|a| a.as_str().to_owned()),
        role_arn: s.role_arn().map(str::to_owned),
        deployments,
        task_set_count: s.task_sets().len(),
    }
}

pub(crate) enum TgLookup<'a> {
    Arn(&'a str),
    Name(&'a str),
}

/// Describes one target group with its attributes and tags; `None` when it does not exist.
pub(crate) async fn describe_target_group(aws: &AwsClients, lookup: TgLookup<'_>) -> Result<Option<TargetGroupInfo>> {
    let (req, what) = match lookup {
        TgLookup::Arn(a) => (aws.elbv2.describe_target_groups().target_group_arns(a), a.to_owned()),
        TgLookup::Name(n) => (aws.elbv2.describe_target_groups().names(n), format!("target group {n}")),
    };
    let out = match req.send().await {
        Ok(o) => o,
        Err(e) if code_is(&e, &["TargetGroupNotFound"]) => return Ok(None),
        Err(e) => return Err(e).ctx("DescribeTargetGroups", what),
    };
    let Some(tg) = out.target_groups().first() else { return Ok(None) };
    let arn = tg.target_group_arn().unwrap_or_default().to_owned();
    let (attrs, tags) = futures::try_join!(
        async {
            aws.elbv2
                .describe_target_group_attributes()
                .target_group_arn(&arn)
                .send()
                .await
                .ctx("DescribeTargetGroupAttributes", &arn)
        },
        elb_tags(aws, std::slice::from_ref(&arn)),
    )?;
    Ok(Some(TargetGroupInfo {
        name: tg.target_group_name().unwrap_or_default().to_owned(),
        protocol: tg.protocol().map(|p| p.as_str().to_owned()),
        protocol_version: tg.protocol_version().map(str::to_owned),
        port: tg.port(),
        vpc_id: tg.vpc_id().map(str::to_owned),
        target_type: tg.target_type().map(|t| t.as_str().to_owned()),
        ip_address_type: tg.ip_address_type().map(|t| t.as_str().to_owned()),
        health_check_protocol: tg.health_check_protocol().map(|p| p.as_str().to_owned()),
        health_check_port: tg.health_check_port().map(str::to_owned),
        health_check_enabled: tg.health_check_enabled(),
        health_check_path: tg.health_check_path().map(str::to_owned),
        health_check_interval_seconds: tg.health_check_interval_seconds(),
        health_check_timeout_seconds: tg.health_check_timeout_seconds(),
        healthy_threshold_count: tg.healthy_threshold_count(),
        unhealthy_threshold_count: tg.unhealthy_threshold_count(),
        matcher_http_code: tg.matcher().and_then(|m| m.http_code()).map(str::to_owned),
        matcher_grpc_code: tg.matcher().and_then(|m| m.grpc_code()).map(str::to_owned),
        load_balancer_arns: tg.load_balancer_arns().to_vec(),
        attributes: attrs
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_owned(), a.value().unwrap_or_default().to_owned())))
            .collect(),
        tags: tags.into_iter().next().map(|(_, t)| t).unwrap_or_default(),
        arn,
    }))
}

/// Tags of up to 20 ELBv2 resources, keyed by ARN.
pub(crate) async fn elb_tags(aws: &AwsClients, arns: &[String]) -> Result<BTreeMap<String, Tags>> {
    let mut all = BTreeMap::new();
    for chunk in arns.chunks(20) {
        let out = aws
            .elbv2
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .ctx("DescribeTags", chunk.join(","))?;
        for d in out.tag_descriptions() {
            let tags = d
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect();
            all.insert(d.resource_arn().unwrap_or_default().to_owned(), tags);
        }
    }
    Ok(all)
}

/// The target groups (with weights) a listener's or rule's forward action sends to.
pub(crate) fn forward_targets(actions: &[elb::Action]) -> Vec<WeightedTargetGroup> {
    let Some(fwd) = actions.iter().find(|a| a.r#type() == Some(&elb::ActionTypeEnum::Forward)) else {
        return Vec::new();
    };
    if let Some(cfg) = fwd.forward_config() {
        let tgs: Vec<_> = cfg
            .target_groups()
            .iter()
            .filter_map(|t| {
                Some(WeightedTargetGroup { target_group_arn: t.target_group_arn()?.to_owned(), weight: t.weight().unwrap_or(1) })
            })
            .collect();
        if !tgs.is_empty() {
            return tgs;
        }
    }
    fwd.target_group_arn()
        .map(|a| vec![WeightedTargetGroup { target_group_arn: a.to_owned(), weight: 1 }])
        .unwrap_or_default()
}

async fn describe_load_balancer(aws: &AwsClients, lb_arn: &str, blue_arn: &str) -> Result<Option<LoadBalancerInfo>> {
    let (lbs, listeners) = futures::try_join!(
        async {
            aws.elbv2.describe_load_balancers().load_balancer_arns(lb_arn).send().await.ctx("DescribeLoadBalancers", lb_arn)
        },
        async { aws.elbv2.describe_listeners().load_balancer_arn(lb_arn).send().await.ctx("DescribeListeners", lb_arn) },
    )?;
    let Some(lb) = lbs.load_balancers().first() else { return Ok(None) };
    let arns: Vec<String> = listeners.listeners().iter().filter_map(|l| l.listener_arn().map(str::to_owned)).collect();
    let rules = try_join_all(listeners.listeners().iter().map(|l| async move {
        let arn = l.listener_arn().unwrap_or_default();
        let out = aws.elbv2.describe_rules().listener_arn(arn).send().await.ctx("DescribeRules", arn)?;
        Ok::<_, Error>(
            out.rules()
                .iter()
                .filter(|r| !r.is_default().unwrap_or(false))
                .filter(|r| forward_targets(r.actions()).iter().any(|t| t.target_group_arn == blue_arn))
                .filter_map(|r| r.rule_arn().map(str::to_owned))
                .collect::<Vec<_>>(),
        )
    }));
    let (rules, mut tags) = futures::try_join!(rules, async {
        if arns.is_empty() { Ok(BTreeMap::new()) } else { elb_tags(aws, &arns).await }
    })?;
    let listeners = listeners
        .listeners()
        .iter()
        .zip(rules)
        .map(|(l, rules_to_blue)| {
            let arn = l.listener_arn().unwrap_or_default().to_owned();
            ListenerInfo {
                port: l.port(),
                protocol: l.protocol().map(|p| p.as_str().to_owned()),
                default_forward: forward_targets(l.default_actions()),
                rules_to_blue,
                tags: tags.remove(&arn).unwrap_or_default(),
                arn,
            }
        })
        .collect();
    Ok(Some(LoadBalancerInfo {
        arn: lb.load_balancer_arn().unwrap_or_default().to_owned(),
        name: lb.load_balancer_name().unwrap_or_default().to_owned(),
        r#type: lb.r#type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
        vpc_id: lb.vpc_id().map(str::to_owned),
        listeners,
    }))
}

async fn describe_task_definition(aws: &AwsClients, arn: &str) -> Result<TaskDefinitionInfo> {
    let out = aws
        .ecs
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await
        .ctx("DescribeTaskDefinition", arn)?;
    let td = out.task_definition().ok_or_else(|| {
        Error::Aws(crate::AwsApiError::new("DescribeTaskDefinition", arn, None, "response carried no task definition"))
    })?;
    Ok(TaskDefinitionInfo {
        arn: td.task_definition_arn().unwrap_or(arn).to_owned(),
        family: td.family().unwrap_or_default().to_owned(),
        network_mode: td.network_mode().map(|n| n.as_str().to_owned()),
        requires_compatibilities: td.requires_compatibilities().iter().map(|c| c.as_str().to_owned()).collect(),
        containers: td
            .container_definitions()
            .iter()
            .map(|c| ContainerInfo {
                name: c.name().unwrap_or_default().to_owned(),
                image: c.image().map(str::to_owned),
                ports: c.port_mappings().iter().filter_map(|p| p.container_port()).collect(),
            })
            .collect(),
    })
}

async fn get_pipeline(aws: &AwsClients, name: &str) -> Result<Option<PipelineInfo>> {
    let out = match aws.codepipeline.get_pipeline().name(name).send().await {
        Ok(o) => o,
        Err(e) if code_is(&e, &["PipelineNotFoundException"]) => return Ok(None),
        Err(e) => return Err(e).ctx("GetPipeline", name),
    };
    Ok(out.pipeline().map(pipeline_from_sdk))
}

/// Converts the SDK's pipeline declaration into our summary.
pub(crate) fn pipeline_from_sdk(p: &aws_sdk_codepipeline::types::PipelineDeclaration) -> PipelineInfo {
    PipelineInfo {
        name: p.name().to_owned(),
        version: p.version(),
        stages: p
            .stages()
            .iter()
            .map(|s| StageInfo {
                name: s.name().to_owned(),
                actions: s
                    .actions()
                    .iter()
                    .map(|a| {
                        let t = a.action_type_id();
                        ActionInfo {
                            name: a.name().to_owned(),
                            category: t.map(|t| t.category().as_str().to_owned()).unwrap_or_default(),
                            owner: t.map(|t| t.owner().as_str().to_owned()).unwrap_or_default(),
                            provider: t.map(|t| t.provider().to_owned()).unwrap_or_default(),
                            version: t.map(|t| t.version().to_owned()).unwrap_or_default(),
                            configuration: a
                                .configuration()
                                .map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                                .unwrap_or_default(),
                            input_artifacts: a.input_artifacts().iter().map(|i| i.name().to_owned()).collect(),
                            output_artifacts: a.output_artifacts().iter().map(|o| o.name().to_owned()).collect(),
                            run_order: a.run_order(),
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

async fn get_role(aws: &AwsClients, name: &str) -> Result<Option<RoleInfo>> {
    match aws.iam.get_role().role_name(name).send().await {
        Ok(out) => Ok(out.role().map(|r| RoleInfo {
            name: r.role_name().to_owned(),
            arn: r.arn().to_owned(),
            tags: r.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect(),
        })),
        Err(e) if code_is(&e, &["NoSuchEntity"]) => Ok(None),
        Err(e) => Err(e).ctx("GetRole", name),
    }
}

async fn get_application(aws: &AwsClients, name: &str) -> Result<Option<ApplicationInfo>> {
    let app = match aws.codedeploy.get_application().application_name(name).send().await {
        Ok(out) => out.application,
        Err(e) if code_is(&e, &["ApplicationDoesNotExistException"]) => return Ok(None),
        Err(e) => return Err(e).ctx("GetApplication", name),
    };
    let Some(app) = app else { return Ok(None) };
    Ok(Some(ApplicationInfo {
        name: app.application_name().unwrap_or(name).to_owned(),
        id: app.application_id().map(str::to_owned),
        compute_platform: app.compute_platform().map(|c| c.as_str().to_owned()),
        tags: Tags::new(),
    }))
}

pub(crate) async fn get_deployment_group(aws: &AwsClients, app: &str, name: &str) -> Result<Option<DeploymentGroupInfo>> {
    let out = match aws.codedeploy.get_deployment_group().application_name(app).deployment_group_name(name).send().await {
        Ok(o) => o,
        Err(e) if code_is(&e, &["ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"]) => {
            return Ok(None);
        }
        Err(e) => return Err(e).ctx("GetDeploymentGroup", format!("{app}/{name}")),
    };
    let Some(dg) = out.deployment_group_info() else { return Ok(None) };
    let pair = dg.load_balancer_info().and_then(|l| l.target_group_pair_info_list().first());
    Ok(Some(DeploymentGroupInfo {
        name: dg.deployment_group_name().unwrap_or(name).to_owned(),
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
        prod_listener_arns: pair
            .and_then(|p| p.prod_traffic_route())
            .map(|r| r.listener_arns().to_vec())
            .unwrap_or_default(),
        test_listener_arns: pair
            .and_then(|p| p.test_traffic_route())
            .map(|r| r.listener_arns().to_vec())
            .unwrap_or_default(),
        tags: Tags::new(),
    }))
}
