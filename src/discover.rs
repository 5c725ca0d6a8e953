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
use futures::future::try_join_all;

use crate::convert::{self, pairs};
// The steps import it from here; it lives with the other conversions.
pub(crate) use crate::convert::forward_targets;
use crate::error::{Error, Result, SdkResultExt};
use crate::inventory::*;
use crate::spec::Migration;
use crate::AwsClients;

/// Reads everything the plan needs about `migration`'s service. Makes no mutating call.
pub async fn discover(aws: &AwsClients, migration: &Migration) -> Result<Inventory> {
    // Its many concurrent reads make a large future: on the heap, so a caller that awaits it
    // inline (a test's thread, a 2 MiB worker) does not carry it on its stack.
    Box::pin(discover_inline(aws, migration)).await
}

async fn discover_inline(aws: &AwsClients, migration: &Migration) -> Result<Inventory> {
    let native = migration.target() == crate::spec::Target::EcsNative;
    // The role under the planned name: the ECS infrastructure role for the ECS-native target.
    let role_name = if native { migration.infrastructure_role_name()? } else { migration.role_spec()?.role_name().clone() };
    let app_name = migration.application_spec()?.application_name().clone();
    let dg_name = migration.deployment_group_spec()?.deployment_group_name().clone();
    let pipeline_name = migration.pipeline().map(|p| p.pipeline_name().clone());
    let adopt_role = if native {
        migration.native().infrastructure_role_arn().is_some()
    } else {
        migration.role_spec()?.existing_role_arn().is_some()
    };

    let cutover_name = match migration.cutover() {
        crate::spec::ServiceCutover::Parallel { new_name } => Some(new_name.as_str().to_owned()),
        crate::spec::ServiceCutover::ParallelKeepName => {
            Some(crate::spec::bridge_service_name(migration.service().as_str()))
        }
        _ => None,
    };
    // One DescribeServices call reads the service and the name the cutover will create.
    let mut names = vec![migration.service().as_str().to_owned()];
    names.extend(cutover_name.clone());
    // A predefined ECS config needs no call; a custom one must exist and be an ECS config.
    let custom_config = match migration.deployment_group_spec()?.deployment_config() {
        crate::spec::DeploymentConfig::Custom(name) => Some(name.clone()),
        _ => None,
    };
    let (services, role, application, deployment_group, pipeline, deployment_config) = futures::try_join!(
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
        async {
            match &custom_config {
                Some(name) => get_deployment_config(aws, name).await.map(Some),
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
        (Some(r), Some(a)) => Some(format!("arn:{}:codedeploy:{r}:{a}:{suffix}", crate::inventory::partition_of_region(r))),
        _ => None,
    };
    let app_arn = application.as_ref().and_then(|_| codedeploy_arn(format!("application:{app_name}")));
    let dg_arn = deployment_group.as_ref().and_then(|_| codedeploy_arn(format!("deploymentgroup:{app_name}/{dg_name}")));

    let scaling_of = service.as_ref().filter(|s| s.status == "ACTIVE").map(|s| s.name.clone());
    // Back to rolling: the green group is the entry's alternate one, whatever its name, and a
    // deployment in progress must be seen (AWS refuses the strategy change during one).
    let rolling = migration.target() == crate::spec::Target::Rolling;
    let alternate_arn = service
        .as_ref()
        .filter(|_| rolling)
        .and_then(|s| s.single_load_balancer())
        .and_then(|lb| lb.advanced_configuration.as_ref())
        .and_then(|a| a.alternate_target_group_arn.clone());
    let deployments_of = service.as_ref().filter(|s| rolling && s.status == "ACTIVE" && s.deployment_controller == "ECS").map(|s| s.name.clone());
    let (blue_target_group, task_definition, app_tags, dg_tags, scaling, unfinished_service_deployments) = futures::try_join!(
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
        async {
            match &scaling_of {
                Some(name) => describe_scaling(aws, migration.cluster().as_str(), name).await,
                None => Ok(None),
            }
        },
        async {
            match &deployments_of {
                // Boxed: the joined future lives on the caller's stack, which tests keep small.
                Some(name) => Box::pin(unfinished_service_deployments(aws, migration.cluster().as_str(), name)).await,
                None => Ok(Vec::new()),
            }
        },
    )?;
    let service = service.map(|s| ServiceDefinition { scaling, ..s });
    let application = application.map(|a| ApplicationInfo { tags: app_tags, ..a });
    let deployment_group = deployment_group.map(|d| DeploymentGroupInfo { tags: dg_tags, ..d });

    let green_name = match &blue_target_group {
        Some(blue) => Some(migration.target_group_pair(&blue.name)?.green_name().clone()),
        None => None,
    };
    let lb_arn = blue_target_group.as_ref().and_then(|tg| tg.load_balancer_arns.first().cloned());
    // What the pipeline's role needs once the Deploy action is CodeDeployToECS.
    let pipeline_needs = match (&pipeline, &task_definition, &region, &account_id) {
        (Some(Some(p)), Some(td), Some(region), Some(account)) => p.role_arn.clone().map(|role| {
            let mut targets = crate::pipeline_role::DeployTargets::new(
                crate::inventory::partition_of_region(region),
                region.clone(),
                account.clone(),
                app_name.as_str(),
                dg_name.as_str(),
                migration.deployment_group_spec().map(|d| d.deployment_config().name().to_owned()).unwrap_or_default(),
                td.family.clone(),
            );
            for r in [&td.task_role_arn, &td.execution_role_arn].into_iter().flatten() {
                targets = targets.pass_role(r.clone());
            }
            (role, crate::pipeline_role::required(&targets))
        }),
        _ => None,
    };
    let (load_balancer, green_target_group, pipeline_role) = futures::try_join!(
        async {
            match (&lb_arn, &blue_arn) {
                (Some(lb), Some(blue)) => describe_load_balancer(aws, lb, blue).await,
                _ => Ok(None),
            }
        },
        async {
            match (&alternate_arn, &green_name) {
                (Some(arn), _) => describe_target_group(aws, TgLookup::Arn(arn)).await,
                (None, Some(name)) => describe_target_group(aws, TgLookup::Name(name.as_str())).await,
                (None, None) => Ok(None),
            }
        },
        async {
            match &pipeline_needs {
                Some((role, needs)) => check_pipeline_role(aws, role, needs).await.map(Some),
                None => Ok(None),
            }
        },
    )?;

    // An onward migration of a CODE_DEPLOY service reads the deployment group that deploys it.
    let onward = migration.target() != crate::spec::Target::Codedeploy;
    let codedeploy_source = match &service {
        Some(s) if onward && s.deployment_controller == "CODE_DEPLOY" => {
            find_codedeploy_source(aws, migration.cluster_name(), &s.name, codedeploy_arn).await?
        }
        _ => None,
    };

    Ok(Inventory {
        codedeploy_source,
        account_id,
        region,
        service,
        blue_target_group,
        load_balancer,
        task_definition,
        pipeline,
        existing: ExistingResources { green_target_group, role, application, deployment_group, cutover_service },
        deployment_config,
        pipeline_role,
        unfinished_service_deployments,
    })
}

/// The service's deployments ListServiceDeployments reports unfinished (every page).
pub(crate) async fn unfinished_service_deployments(aws: &AwsClients, cluster: &str, service: &str) -> Result<Vec<ServiceDeploymentInfo>> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let out = aws
            .ecs
            .list_service_deployments()
            .cluster(cluster)
            .service(service)
            .set_status(Some(UNFINISHED_DEPLOYMENT_STATUSES.iter().map(|s| ecs::ServiceDeploymentStatus::from(*s)).collect()))
            .set_next_token(token)
            .send()
            .await
            .ctx("ListServiceDeployments", format!("{cluster}/{service}"))?;
        found.extend(out.service_deployments().iter().filter_map(|d| {
            let status = d.status()?.as_str();
            UNFINISHED_DEPLOYMENT_STATUSES.contains(&status).then(|| ServiceDeploymentInfo {
                arn: d.service_deployment_arn().unwrap_or_default().to_owned(),
                status: status.to_owned(),
            })
        }));
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(found);
        }
    }
}

/// A resource in the account that carries a migration's [`OWNERSHIP_TAG`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OwnedResource {
    /// What it is: `target group`, `listener`, `IAM role`, `CodeDeploy application`,
    /// `deployment group`, `ECS service`.
    pub kind: &'static str,
    /// Its name (`application/group` for a deployment group, `:port` for a listener).
    pub name: String,
    /// Its ARN, when known.
    pub arn: Option<String>,
}

impl std::fmt::Display for OwnedResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)?;
        match &self.arn {
            Some(arn) => write!(f, " ({arn})"),
            None => Ok(()),
        }
    }
}

/// The resources under the names `migration` plans to use (green target group, test
/// listener, role, CodeDeploy application and deployment group, the cutover's service, the
/// service) that carry its ownership tag: what a run of it created and has not undone, found
/// without a journal. Read-only: the same calls as [`discover`].
pub async fn owned_resources(aws: &AwsClients, migration: &Migration) -> Result<Vec<OwnedResource>> {
    let inv = discover(aws, migration).await?;
    let id = migration.migration_id();
    let ours = |tags: &Tags| tags.get(OWNERSHIP_TAG).is_some_and(|v| *v == id);
    let mut out = Vec::new();
    let e = &inv.existing;
    if let Some(tg) = e.green_target_group.as_ref().filter(|t| ours(&t.tags)) {
        out.push(OwnedResource { kind: "target group", name: tg.name.clone(), arn: Some(tg.arn.clone()) });
    }
    for l in inv.load_balancer.iter().flat_map(|lb| &lb.listeners).filter(|l| ours(&l.tags)) {
        let port = l.port.map_or_else(String::new, |p| p.to_string());
        out.push(OwnedResource { kind: "listener", name: format!(":{port}"), arn: Some(l.arn.clone()) });
    }
    if let Some(r) = e.role.as_ref().filter(|r| ours(&r.tags)) {
        out.push(OwnedResource { kind: "IAM role", name: r.name.clone(), arn: Some(r.arn.clone()) });
    }
    if let Some(a) = e.application.as_ref().filter(|a| ours(&a.tags)) {
        out.push(OwnedResource { kind: "CodeDeploy application", name: a.name.clone(), arn: None });
    }
    if let Some(d) = e.deployment_group.as_ref().filter(|d| ours(&d.tags)) {
        let app = migration.application_spec()?.application_name().as_str().to_owned();
        out.push(OwnedResource { kind: "deployment group", name: format!("{app}/{}", d.name), arn: None });
    }
    for s in [e.cutover_service.as_ref(), inv.service.as_ref()].into_iter().flatten() {
        if s.status != "INACTIVE" && ours(&s.tags) {
            out.push(OwnedResource { kind: "ECS service", name: s.name.clone(), arn: s.arn.clone() });
        }
    }
    Ok(out)
}

async fn codedeploy_tags(aws: &AwsClients, arn: Option<&str>) -> Result<Tags> {
    let Some(arn) = arn else { return Ok(Tags::new()) };
    let out = aws.codedeploy.list_tags_for_resource().resource_arn(arn).send().await.ctx("ListTagsForResource", arn)?;
    Ok(pairs(out.tags(), |t| (t.key(), t.value())))
}

/// `(account, region)` from an ARN.
pub(crate) fn arn_account_region(arn: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = arn.split(':').collect();
    let get = |i: usize| parts.get(i).filter(|s| !s.is_empty()).map(|s| (*s).to_owned());
    (get(4), get(3))
}

/// Whether an SDK error is a service error carrying one of `codes`.
pub(crate) fn code_is<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    codes: &[&str],
) -> bool {
    err.as_service_error().and_then(|e| e.code()).is_some_and(|c| codes.contains(&c))
}


/// DescribeServices with tags for up to 10 names (or ARNs), in the order asked; `None` for a
/// missing one.
pub(crate) async fn describe_services(aws: &AwsClients, cluster: &str, names: &[String]) -> Result<Vec<Option<ServiceDefinition>>> {
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
            out.services().iter().find(|s| s.service_name() == n || s.service_arn() == n).map(convert::service_from_sdk)
        })
        .collect())
}

/// DescribeServices with tags; `None` when the service is missing.
pub async fn describe_service(aws: &AwsClients, cluster: &str, service: &str) -> Result<Option<ServiceDefinition>> {
    Ok(describe_services(aws, cluster, &[service.to_owned()]).await?.pop().flatten())
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
    let attributes = pairs(attrs.attributes(), |a| (a.key(), a.value()));
    let tags = tags.into_iter().next().map(|(_, t)| t).unwrap_or_default();
    Ok(Some(convert::target_group_from_sdk(tg, attributes, tags)))
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
            all.insert(d.resource_arn().unwrap_or_default().to_owned(), pairs(d.tags(), |t| (t.key(), t.value())));
        }
    }
    Ok(all)
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
        let default_rule = out.rules().iter().find(|r| r.is_default() == Some(true)).and_then(|r| r.rule_arn()).map(str::to_owned);
        Ok::<_, Error>((
            out.rules()
                .iter()
                .filter(|r| !r.is_default().unwrap_or(false))
                .filter(|r| forward_targets(r.actions()).iter().any(|t| t.target_group_arn == blue_arn))
                .filter_map(|r| r.rule_arn().map(str::to_owned))
                .collect::<Vec<_>>(),
            default_rule,
        ))
    }));
    let (rules, mut tags) = futures::try_join!(rules, async {
        if arns.is_empty() { Ok(BTreeMap::new()) } else { elb_tags(aws, &arns).await }
    })?;
    let mut listeners: Vec<ListenerInfo> = listeners
        .listeners()
        .iter()
        .zip(rules)
        .map(|(l, (rules_to_blue, default_rule))| {
            let tags = tags.remove(l.listener_arn().unwrap_or_default()).unwrap_or_default();
            convert::listener_from_sdk(l, rules_to_blue, default_rule, tags)
        })
        .collect();
    // The additional certificates of the HTTPS/TLS listeners that route to the service (the
    // test listener copies the production listener's).
    let to_blue = |l: &ListenerInfo| l.default_forward.iter().any(|t| t.target_group_arn == blue_arn) || !l.rules_to_blue.is_empty();
    let extra = try_join_all(listeners.iter().filter(|l| l.tls.is_some() && to_blue(l)).map(|l| async move {
        Ok::<_, Error>((l.arn.clone(), listener_certificates(aws, &l.arn).await?))
    }))
    .await?;
    for (arn, certs) in extra {
        if let Some(tls) = listeners.iter_mut().find(|l| l.arn == arn).and_then(|l| l.tls.as_mut()) {
            tls.additional_certificates = certs;
        }
    }
    Ok(Some(convert::load_balancer_from_sdk(lb, listeners)))
}

/// The non-default certificates of a listener (DescribeListenerCertificates, every page).
pub(crate) async fn listener_certificates(aws: &AwsClients, listener_arn: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = aws
            .elbv2
            .describe_listener_certificates()
            .listener_arn(listener_arn)
            .set_marker(marker)
            .send()
            .await
            .ctx("DescribeListenerCertificates", listener_arn)?;
        out.extend(
            page.certificates()
                .iter()
                .filter(|c| !c.is_default().unwrap_or(false))
                .filter_map(|c| c.certificate_arn().map(str::to_owned)),
        );
        marker = page.next_marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
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
    Ok(convert::task_definition_from_sdk(td, arn))
}

async fn get_pipeline(aws: &AwsClients, name: &str) -> Result<Option<PipelineInfo>> {
    let out = match aws.codepipeline.get_pipeline().name(name).send().await {
        Ok(o) => o,
        Err(e) if code_is(&e, &["PipelineNotFoundException"]) => return Ok(None),
        Err(e) => return Err(e).ctx("GetPipeline", name),
    };
    Ok(out.pipeline().map(convert::pipeline_from_sdk))
}

async fn get_role(aws: &AwsClients, name: &str) -> Result<Option<RoleInfo>> {
    match aws.iam.get_role().role_name(name).send().await {
        Ok(out) => Ok(out.role().map(convert::role_from_sdk)),
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
    Ok(app.map(|a| convert::application_from_sdk(&a, name)))
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
    Ok(Some(convert::deployment_group_from_sdk(dg, name)))
}

/// GetDeploymentConfig; `None` when it does not exist.
/// The deployment group whose `ecsServices` names `cluster/service`, with its application, the
/// application's other groups, both tag sets and its config's traffic shifting (ListApplications,
/// ListDeploymentGroups, GetDeploymentGroup, ListTagsForResource, GetDeploymentConfig for a
/// custom config). `None` when no group deploys the service.
async fn find_codedeploy_source(
    aws: &AwsClients,
    cluster: &str,
    service: &str,
    arn_of: impl Fn(String) -> Option<String>,
) -> Result<Option<CodeDeploySource>> {
    let mut apps = Vec::new();
    let mut token = None;
    loop {
        let out = aws.codedeploy.list_applications().set_next_token(token).send().await.ctx("ListApplications", "")?;
        apps.extend(out.applications().iter().cloned());
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    for app in apps {
        let mut groups = Vec::new();
        let mut token = None;
        loop {
            let out = aws
                .codedeploy
                .list_deployment_groups()
                .application_name(&app)
                .set_next_token(token)
                .send()
                .await
                .ctx("ListDeploymentGroups", &app)?;
            groups.extend(out.deployment_groups().iter().cloned());
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        for name in &groups {
            let out = match aws.codedeploy.get_deployment_group().application_name(&app).deployment_group_name(name).send().await {
                Ok(o) => o,
                Err(e) if code_is(&e, &["ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"]) => continue,
                Err(e) => return Err(e).ctx("GetDeploymentGroup", format!("{app}/{name}")),
            };
            let Some(dg) = out.deployment_group_info() else { continue };
            let info = convert::deployment_group_from_sdk(dg, name);
            if !info.ecs_services.iter().any(|(c, s)| c == cluster && s == service) {
                continue;
            }
            let config = info.deployment_config_name.clone().unwrap_or_else(|| "CodeDeployDefault.ECSAllAtOnce".to_owned());
            let (app_arn, group_arn) = (arn_of(format!("application:{app}")), arn_of(format!("deploymentgroup:{app}/{name}")));
            let (app_tags, group_tags, traffic) = futures::try_join!(
                codedeploy_tags(aws, app_arn.as_deref()),
                codedeploy_tags(aws, group_arn.as_deref()),
                async {
                    if let Some(t) = TrafficRouting::predefined(&config) {
                        return Ok(t);
                    }
                    let out = aws.codedeploy.get_deployment_config().deployment_config_name(&config).send().await.ctx("GetDeploymentConfig", &config)?;
                    Ok(convert::traffic_routing_from_sdk(out.deployment_config_info().and_then(|c| c.traffic_routing_config())))
                },
            )?;
            let mut source = convert::codedeploy_source_from_sdk(dg, &app, info);
            source.group.tags = group_tags;
            source.application_tags = app_tags;
            source.other_groups = groups.iter().filter(|g| *g != name).cloned().collect();
            source.traffic = traffic;
            return Ok(Some(source));
        }
    }
    Ok(None)
}

async fn get_deployment_config(aws: &AwsClients, name: &str) -> Result<Option<DeploymentConfigInfo>> {
    match aws.codedeploy.get_deployment_config().deployment_config_name(name).send().await {
        Ok(out) => Ok(out.deployment_config_info().map(|c| convert::deployment_config_from_sdk(c, name))),
        Err(e) if code_is(&e, &["DeploymentConfigDoesNotExistException"]) => Ok(None),
        Err(e) => Err(e).ctx("GetDeploymentConfig", name),
    }
}

/// The Application Auto Scaling of service `cluster/service`: its scalable target, every policy
/// and scheduled action, and the CloudWatch metric alarms whose actions (ALARM, OK or
/// INSUFFICIENT_DATA) name one of its step policies. `None` when it has no scalable target.
pub async fn describe_scaling(aws: &AwsClients, cluster: &str, service: &str) -> Result<Option<ServiceScaling>> {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let rid = scaling_resource_id(cluster, service);
    let targets = aws
        .scaling_client()?
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(&rid)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await
        .ctx("DescribeScalableTargets", &rid)?;
    let Some(target) = targets.scalable_targets().first() else { return Ok(None) };
    let mut scaling = ServiceScaling::new(convert::scalable_target_from_sdk(target));
    let (policies, scheduled) = futures::try_join!(scaling_policies(aws, &rid), scheduled_actions(aws, &rid))?;
    scaling.policies = policies;
    scaling.scheduled_actions = scheduled;
    let step_arns: Vec<&str> =
        scaling.policies.iter().filter(|p| p.policy_type == "StepScaling").map(|p| p.arn.as_str()).collect();
    if !step_arns.is_empty() {
        scaling.alarms = alarms_naming(aws, &step_arns).await?;
    }
    Ok(Some(scaling))
}

/// Every scaling policy of resource `rid` (all pages).
pub(crate) async fn scaling_policies(aws: &AwsClients, rid: &str) -> Result<Vec<ScalingPolicyInfo>> {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .scaling_client()?
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(rid)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .set_next_token(token)
            .send()
            .await
            .ctx("DescribeScalingPolicies", rid)?;
        out.extend(page.scaling_policies().iter().map(convert::scaling_policy_from_sdk));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Every scheduled action of resource `rid` (all pages).
pub(crate) async fn scheduled_actions(aws: &AwsClients, rid: &str) -> Result<Vec<ScheduledActionInfo>> {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .scaling_client()?
            .describe_scheduled_actions()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(rid)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .set_next_token(token)
            .send()
            .await
            .ctx("DescribeScheduledActions", rid)?;
        out.extend(page.scheduled_actions().iter().map(convert::scheduled_action_from_sdk));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// The metric alarms any of whose actions name one of `arns`. DescribeAlarms' `ActionPrefix`
/// filter is documented for alarm actions only, so every metric alarm is read (all pages) and
/// the three action lists are matched here.
pub(crate) async fn alarms_naming(aws: &AwsClients, arns: &[&str]) -> Result<Vec<MetricAlarmInfo>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .cloudwatch_client()?
            .describe_alarms()
            .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
            .set_next_token(token)
            .send()
            .await
            .ctx("DescribeAlarms", "metric alarms")?;
        out.extend(
            page.metric_alarms()
                .iter()
                .map(convert::alarm_from_sdk)
                .filter(|a| a.all_actions().any(|x| arns.contains(&x.as_str()))),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// The metric alarms any of whose actions names a scaling policy of one of the resources `rids`
/// (`service/<cluster>/<name>`), live or not (all pages).
pub(crate) async fn alarms_naming_policies_of(aws: &AwsClients, rids: &[String]) -> Result<Vec<MetricAlarmInfo>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .cloudwatch_client()?
            .describe_alarms()
            .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
            .set_next_token(token)
            .send()
            .await
            .ctx("DescribeAlarms", "metric alarms")?;
        out.extend(page.metric_alarms().iter().map(convert::alarm_from_sdk).filter(|a| {
            a.all_actions().any(|x| crate::inventory::policy_arn_parts(x).is_some_and(|(r, _)| rids.iter().any(|rid| rid == r)))
        }));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// The metric alarms named `names` (missing ones left out).
pub(crate) async fn alarms_named(aws: &AwsClients, names: &[String]) -> Result<Vec<MetricAlarmInfo>> {
    let mut out = Vec::new();
    for chunk in names.chunks(100) {
        let page = aws
            .cloudwatch_client()?
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
            .send()
            .await
            .ctx("DescribeAlarms", chunk.join(","))?;
        out.extend(page.metric_alarms().iter().map(convert::alarm_from_sdk));
    }
    Ok(out)
}

/// Checks the pipeline's role against `needs`: with IAM's policy simulation (one call per
/// resource), or, when that is refused or not available, by evaluating the role's inline and
/// attached policies here ([`crate::iam_policy`]). Never fails for lack of IAM read access: a
/// role that cannot be checked is reported so, with everything needed as missing.
pub(crate) async fn check_pipeline_role(
    aws: &AwsClients,
    role_arn: &str,
    needs: &[crate::pipeline_role::Permission],
) -> Result<PipelineRoleInfo> {
    use crate::pipeline_role::Shortfall;
    let simulated = simulate(aws, role_arn, needs).await;
    let reason = match simulated {
        Ok(shortfall) => return Ok(PipelineRoleInfo::new(role_arn, RoleCheck::Simulated, shortfall)),
        Err(e) if e.code() == Some("NoSuchEntity") => {
            return Ok(PipelineRoleInfo::new(role_arn, RoleCheck::RoleMissing, Shortfall::default()));
        }
        Err(e) => format!("SimulatePrincipalPolicy: {}", e.code().or(e.message()).unwrap_or("no answer")),
    };
    let name = role_arn.rsplit('/').next().unwrap_or_default();
    match role_policies(aws, name).await {
        Ok(docs) => {
            let parsed = crate::iam_policy::PolicySet::parse(docs.iter().map(|(n, d)| (n.as_str(), d.as_str())));
            match parsed {
                Ok(set) => Ok(PipelineRoleInfo::new(role_arn, RoleCheck::Policies { reason }, Shortfall::evaluate(needs, &set))),
                Err(e) => Ok(unchecked(role_arn, needs, format!("{reason}; {e}"))),
            }
        }
        // The role itself is missing (a policy that cannot be found is not that).
        Err(e) if e.code() == Some("NoSuchEntity") && e.operation() == "ListRolePolicies" => {
            Ok(PipelineRoleInfo::new(role_arn, RoleCheck::RoleMissing, Shortfall::default()))
        }
        Err(e) => Ok(unchecked(role_arn, needs, format!("{reason}; {}: {}", e.operation(), e.code().or(e.message()).unwrap_or("no answer")))),
    }
}

fn unchecked(role_arn: &str, needs: &[crate::pipeline_role::Permission], reason: String) -> PipelineRoleInfo {
    let shortfall = crate::pipeline_role::Shortfall { missing: needs.to_vec(), ..Default::default() };
    PipelineRoleInfo::new(role_arn, RoleCheck::Unchecked { reason }, shortfall)
}

/// SimulatePrincipalPolicy for `needs`, one call per resource and context.
async fn simulate(
    aws: &AwsClients,
    role_arn: &str,
    needs: &[crate::pipeline_role::Permission],
) -> std::result::Result<crate::pipeline_role::Shortfall, crate::AwsApiError> {
    use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType as D};
    use crate::iam_policy::Decision;
    let mut groups: BTreeMap<(&str, &BTreeMap<String, String>), Vec<&crate::pipeline_role::Permission>> = BTreeMap::new();
    for p in needs {
        groups.entry((p.resource.as_str(), &p.context)).or_default().push(p);
    }
    let calls = groups.into_iter().map(|((resource, context), perms)| async move {
        let mut req = aws.iam.simulate_principal_policy().policy_source_arn(role_arn).resource_arns(resource);
        for p in &perms {
            req = req.action_names(&p.action);
        }
        for (k, v) in context {
            req = req.context_entries(
                ContextEntry::builder().context_key_name(k).context_key_values(v).context_key_type(ContextKeyTypeEnum::String).build(),
            );
        }
        let out = req.send().await.map_err(|e| crate::AwsApiError::from_sdk("SimulatePrincipalPolicy", role_arn, e))?;
        Ok::<_, crate::AwsApiError>(
            perms
                .into_iter()
                .map(|p| {
                    let found = out.evaluation_results().iter().find(|r| r.eval_action_name().eq_ignore_ascii_case(&p.action));
                    let decision = match found.map(|r| r.eval_decision()) {
                        Some(D::Allowed) => Decision::Allowed,
                        Some(D::ExplicitDeny) => Decision::ExplicitDeny,
                        _ => Decision::ImplicitDeny,
                    };
                    (p, decision)
                })
                .collect::<Vec<_>>(),
        )
    });
    let decided = try_join_all(calls).await?;
    // Back in the order of `needs`.
    let mut all: Vec<(&crate::pipeline_role::Permission, Decision)> = decided.into_iter().flatten().collect();
    all.sort_by_key(|(p, _)| needs.iter().position(|n| n == *p));
    Ok(crate::pipeline_role::Shortfall::from_decisions(all))
}

/// The role's inline and attached (default version) policy documents, by name.
async fn role_policies(aws: &AwsClients, role: &str) -> std::result::Result<Vec<(String, String)>, crate::AwsApiError> {
    macro_rules! err {
        ($op:literal, $what:expr) => {
            |e| crate::AwsApiError::from_sdk($op, $what, e)
        };
    }
    let mut docs = Vec::new();
    let mut marker = None;
    loop {
        let out = aws.iam.list_role_policies().role_name(role).set_marker(marker).send().await.map_err(err!("ListRolePolicies", role))?;
        for name in out.policy_names() {
            let p = aws.iam.get_role_policy().role_name(role).policy_name(name).send().await.map_err(err!("GetRolePolicy", name.as_str()))?;
            docs.push((name.clone(), p.policy_document().to_owned()));
        }
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    loop {
        let out = aws
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .map_err(err!("ListAttachedRolePolicies", role))?;
        for arn in out.attached_policies().iter().filter_map(|p| p.policy_arn()) {
            let policy = aws.iam.get_policy().policy_arn(arn).send().await.map_err(err!("GetPolicy", arn))?;
            let version = policy.policy().and_then(|p| p.default_version_id()).unwrap_or("v1");
            let v = aws.iam.get_policy_version().policy_arn(arn).version_id(version).send().await.map_err(err!("GetPolicyVersion", arn))?;
            docs.push((arn.to_owned(), v.policy_version().and_then(|v| v.document()).unwrap_or_default().to_owned()));
        }
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    Ok(docs)
}
