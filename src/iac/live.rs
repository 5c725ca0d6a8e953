//! The reader: what a journaled run created, recreated or changed (from the journal), with each
//! resource's live values (read-only calls), into a plain [`HandOff`]. The only I/O of the
//! hand-off; the renderers are pure.

use std::collections::BTreeSet;

use aws_sdk_codepipeline::types as cp;

use super::model::*;
use crate::AwsClients;
use crate::discover::{TgLookup, code_is, describe_service, describe_target_group, elb_tags};
use crate::error::{Error, Result, SdkResultExt};
use crate::journal::{Effect, Entry, Record};
use crate::plan::{ChangeDetail, Plan, StepId};
use crate::spec::{ServiceCutover, ValidationError};

/// What a run did, read from its journal records: its plan, how it ended, and the effects it
/// made (for a rolled-back run: the ones its rollback undid), in the order they were made.
pub(crate) fn run_effects(records: &[Record]) -> Result<(&Plan, RunEnd, Vec<Effect>)> {
    let refused = |reason: &str| Error::Validation(ValidationError::new("journal", "its last run", reason));
    let (plan, run) = crate::journal::last_run(records).ok_or_else(|| refused("records no run: apply the migration first"))?;
    let end = match crate::journal::status(records) {
        crate::journal::JournalStatus::Applied => RunEnd::Applied,
        crate::journal::JournalStatus::RolledBack => RunEnd::RolledBack,
        _ => {
            return Err(refused(
                "is unfinished or its rollback is incomplete: run `resume` or `rollback` first, then hand the result to the code",
            ));
        }
    };
    let mut done: Vec<(u64, Effect)> = Vec::new();
    let mut undone = BTreeSet::new();
    for r in run {
        match &r.entry {
            Entry::Done { intent, effect } => done.push((*intent, effect.clone())),
            Entry::Undone { intent } => {
                undone.insert(*intent);
            }
            _ => {}
        }
    }
    let effects = done
        .into_iter()
        .filter(|(intent, _)| undone.contains(intent) == (end == RunEnd::RolledBack))
        .map(|(_, e)| e)
        .collect();
    Ok((plan, end, effects))
}

/// Reads the hand-off of the journal's last run: for an applied run every resource it created,
/// recreated or changed with its values read live; for a rolled-back run what the rollback
/// deleted (no call is made then).
///
/// # Errors
/// [`Error::Validation`] when the journal holds no finished run (nothing is read); an AWS
/// error when a read fails, or a resource the run made is gone from the account.
pub async fn read(aws: &AwsClients, records: &[Record]) -> Result<HandOff> {
    let (plan, end, effects) = run_effects(records)?;
    let mut hand = HandOff {
        migration_id: plan.migration_id.clone(),
        cluster: plan.cluster.clone(),
        service: plan.service.clone(),
        target: plan.target,
        end,
        resources: Vec::new(),
        removed: Vec::new(),
    };
    match end {
        RunEnd::RolledBack => hand.removed = rolled_back(&effects, &plan.service),
        RunEnd::Applied => {
            let (resources, removed) = applied(aws, plan, &effects).await?;
            hand.resources = resources;
            hand.removed = removed;
        }
    }
    Ok(hand)
}

/// What a rollback deleted: the resources the run had created (state may hold them when the
/// hand-off of the apply was imported before the rollback).
/// `original`: the migrated service's name, which the rollback restored (its address stays).
pub(crate) fn rolled_back(effects: &[Effect], original: &str) -> Vec<RemovedResource> {
    let why = "created by the migration, deleted by its rollback";
    let mut out = Vec::new();
    for e in effects {
        let (kind, name) = match e {
            Effect::TargetGroupCreated { name, .. } => (RemovedKind::TargetGroup, name.clone()),
            Effect::ListenerCreated { port, .. } => (RemovedKind::Listener, port.to_string()),
            Effect::RoleCreated { name, policy_arn } => {
                out.push(RemovedResource { kind: RemovedKind::Role, name: name.clone(), why: why.into() });
                (RemovedKind::RolePolicyAttachment, format!("{name}/{policy_arn}"))
            }
            Effect::RolePolicyPut { role, policy_name, .. } => (RemovedKind::RolePolicy, format!("{role}:{policy_name}")),
            Effect::ApplicationCreated { name } => (RemovedKind::Application, name.clone()),
            Effect::DeploymentGroupCreated { application, name } => (RemovedKind::DeploymentGroup, format!("{application}:{name}")),
            // A service the run made under a new name; the original, restored, keeps its address.
            Effect::ServiceCreated { name, controller, .. } if controller == "CODE_DEPLOY" && name != original => {
                (RemovedKind::Service, name.clone())
            }
            _ => continue,
        };
        out.push(RemovedResource { kind, name, why: why.into() });
    }
    dedup_removed(out)
}

fn dedup_removed(list: Vec<RemovedResource>) -> Vec<RemovedResource> {
    let mut seen = BTreeSet::new();
    list.into_iter().filter(|r| seen.insert((r.kind, r.name.clone()))).collect()
}

/// The live resources of an applied run, and what it deleted.
async fn applied(aws: &AwsClients, plan: &Plan, effects: &[Effect]) -> Result<(Vec<LiveResource>, Vec<RemovedResource>)> {
    let mut out: Vec<LiveResource> = Vec::new();
    let mut removed = Vec::new();
    let mut services: Vec<(String, String, Origin)> = Vec::new();
    let mut listeners: Vec<(String, bool, Origin)> = Vec::new();
    let add_service = |cluster: &str, name: &str, origin: Origin, services: &mut Vec<(String, String, Origin)>| {
        if !services.iter().any(|(c, n, _)| c == cluster && n == name) {
            services.push((cluster.to_owned(), name.to_owned(), origin));
        }
    };
    // The final service of a CodeDeploy cutover (the bridge of parallel-keep-name is gone).
    let cutover = plan.change(StepId::ServiceCutover).and_then(|c| match &c.detail {
        ChangeDetail::ServiceCutover { strategy, from, to, .. } => Some((strategy.clone(), from.name.clone(), to.name.clone())),
        _ => None,
    });
    for e in effects {
        match e {
            Effect::TargetGroupCreated { name, arn } => {
                let lookup = arn.as_deref().map_or(TgLookup::Name(name), TgLookup::Arn);
                let tg = describe_target_group(aws, lookup).await?.ok_or_else(|| gone("target group", name))?;
                out.push(LiveResource::new(Origin::Created, ResourceValues::TargetGroup(Box::new(tg))));
            }
            Effect::ListenerCreated { arn: Some(arn), .. } => listeners.push((arn.clone(), false, Origin::Created)),
            Effect::ListenerCreated { arn: None, port, .. } => return Err(gone("listener on port", &port.to_string())),
            Effect::ListenerForwardChanged { listener_arn, .. } | Effect::ListenerActionsChanged { listener_arn, .. } => {
                listeners.push((listener_arn.clone(), true, Origin::Changed))
            }
            Effect::RoleCreated { name, policy_arn } => {
                out.push(LiveResource::new(Origin::Created, ResourceValues::Role(Box::new(role(aws, name).await?))));
                out.push(LiveResource::new(
                    Origin::Created,
                    ResourceValues::RolePolicyAttachment { role: name.clone(), policy_arn: policy_arn.clone() },
                ));
            }
            Effect::RolePolicyPut { role, policy_name, .. } => {
                let document = role_policy(aws, role, policy_name).await?;
                out.push(LiveResource::new(
                    Origin::Created,
                    ResourceValues::RolePolicy { role: role.clone(), name: policy_name.clone(), document },
                ));
            }
            Effect::ApplicationCreated { name } => out.push(LiveResource::new(Origin::Created, application(aws, plan, name).await?)),
            Effect::DeploymentGroupCreated { application, name } => {
                let dg = deployment_group(aws, plan, application, name).await?;
                out.push(LiveResource::new(Origin::Created, ResourceValues::DeploymentGroup(Box::new(dg))));
            }
            Effect::ServiceCreated { cluster, name, controller } if controller == "CODE_DEPLOY" => {
                let recreated = cutover.as_ref().is_some_and(|(_, from, _)| from == name);
                add_service(cluster, name, if recreated { Origin::Recreated } else { Origin::Created }, &mut services);
            }
            // The original of a parallel cutover: gone under its name, the new one replaces it.
            Effect::ServiceDeleted { definition, .. }
                if matches!(&cutover, Some((ServiceCutover::Parallel { .. }, from, _)) if *from == definition.name) =>
            {
                removed.push(RemovedResource {
                    kind: RemovedKind::Service,
                    name: definition.name.clone(),
                    why: "deleted by the parallel cutover; the service runs on under its new name".into(),
                });
            }
            Effect::ServiceLoadBalancersChanged { cluster, service, production_listener_arn, .. } => {
                add_service(cluster, service, Origin::Changed, &mut services);
                if let Some(arn) = production_listener_arn {
                    listeners.push((arn.clone(), true, Origin::Changed));
                }
            }
            Effect::ServiceDeploymentConfigurationChanged { cluster, service, .. } => {
                add_service(cluster, service, Origin::Changed, &mut services)
            }
            Effect::ServiceControllerSwitched { cluster, definition, .. } => {
                add_service(cluster, &definition.name, Origin::Changed, &mut services)
            }
            Effect::DeploymentGroupDeleted { values } => removed.push(RemovedResource {
                kind: RemovedKind::DeploymentGroup,
                name: format!("{}:{}", values.application, values.name),
                why: "deleted by the migration onward from CodeDeploy".into(),
            }),
            Effect::ApplicationDeleted { name, .. } => removed.push(RemovedResource {
                kind: RemovedKind::Application,
                name: name.clone(),
                why: "deleted by the migration onward from CodeDeploy".into(),
            }),
            Effect::PipelineActionReplaced { pipeline, .. }
                if !out.iter().any(|r| matches!(&r.values, ResourceValues::Pipeline(p) if p.name == *pipeline)) =>
            {
                out.push(LiveResource::new(Origin::Changed, ResourceValues::Pipeline(Box::new(pipeline_values(aws, pipeline).await?))));
            }
            // Scaling is read with its service below; alarms keep their names (see the README).
            _ => {}
        }
    }
    // ECS-native: the production rule ECS rewrites, even when the run did not touch it.
    if let Some(ChangeDetail::NativeLoadBalancer(v)) = plan.change(StepId::NativeLoadBalancer).map(|c| &c.detail) {
        listeners.push((v.production_listener_arn.clone(), true, Origin::Changed));
    }
    let mut seen = BTreeSet::new();
    for (arn, production, origin) in listeners {
        if seen.insert(arn.clone()) {
            out.push(LiveResource::new(origin, listener(aws, &arn, production).await?));
        }
    }
    for (cluster, name, origin) in services {
        let svc = describe_service(aws, &cluster, &name)
            .await?
            .filter(|s| s.status == "ACTIVE")
            .ok_or_else(|| gone("ECS service", &format!("{cluster}/{name}")))?;
        // Deleting a service deregistered its scaling: what the cutover registered again is new.
        let scaling = crate::discover::describe_scaling(aws, &cluster, &name).await?;
        out.push(LiveResource::new(origin, ResourceValues::Service { cluster: cluster.clone(), service: Box::new(svc) }));
        if let Some(s) = scaling.filter(|_| origin != Origin::Changed) {
            out.push(LiveResource::new(
                Origin::Created,
                ResourceValues::ScalableTarget { cluster: cluster.clone(), service: name.clone(), target: s.target.clone() },
            ));
            for p in s.policies {
                out.push(LiveResource::new(
                    Origin::Created,
                    ResourceValues::ScalingPolicy { cluster: cluster.clone(), service: name.clone(), policy: Box::new(p) },
                ));
            }
        }
    }
    Ok((out, dedup_removed(removed)))
}

fn gone(what: &'static str, name: &str) -> Error {
    Error::Validation(ValidationError::new(
        what,
        name,
        "was made by the migration but is not in the account any more: the journal no longer describes the account",
    ))
}

async fn role(aws: &AwsClients, name: &str) -> Result<RoleValues> {
    let out = match aws.iam.get_role().role_name(name).send().await {
        Ok(o) => o,
        Err(e) if code_is(&e, &["NoSuchEntity"]) => return Err(gone("IAM role", name)),
        Err(e) => return Err(e).ctx("GetRole", name),
    };
    let r = out.role().ok_or_else(|| gone("IAM role", name))?;
    Ok(RoleValues {
        name: r.role_name().to_owned(),
        arn: r.arn().to_owned(),
        path: r.path().to_owned(),
        description: r.description().filter(|d| !d.is_empty()).map(str::to_owned),
        max_session_duration: r.max_session_duration(),
        trust_policy: crate::iam_policy::url_decode(r.assume_role_policy_document().unwrap_or_default()),
        tags: r.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect(),
    })
}

async fn role_policy(aws: &AwsClients, role: &str, name: &str) -> Result<String> {
    let out = match aws.iam.get_role_policy().role_name(role).policy_name(name).send().await {
        Ok(o) => o,
        Err(e) if code_is(&e, &["NoSuchEntity"]) => return Err(gone("inline role policy", &format!("{role}:{name}"))),
        Err(e) => return Err(e).ctx("GetRolePolicy", format!("{role}:{name}")),
    };
    Ok(crate::iam_policy::url_decode(out.policy_document()))
}

/// The ARN of a CodeDeploy resource (`application:NAME`, `deploymentgroup:APP/NAME`).
fn codedeploy_arn(aws: &AwsClients, plan: &Plan, resource: &str) -> Option<String> {
    let region = aws.codedeploy.config().region()?.to_string();
    let account = plan.account_id.as_deref()?;
    Some(format!("arn:{}:codedeploy:{region}:{account}:{resource}", crate::inventory::partition_of_region(&region)))
}

async fn codedeploy_tags(aws: &AwsClients, arn: Option<String>) -> Result<crate::inventory::Tags> {
    let Some(arn) = arn else { return Ok(Default::default()) };
    let out = aws.codedeploy.list_tags_for_resource().resource_arn(&arn).send().await.ctx("ListTagsForResource", &arn)?;
    Ok(out.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect())
}

async fn application(aws: &AwsClients, plan: &Plan, name: &str) -> Result<ResourceValues> {
    let app = match aws.codedeploy.get_application().application_name(name).send().await {
        Ok(o) => o.application.ok_or_else(|| gone("CodeDeploy application", name))?,
        Err(e) if code_is(&e, &["ApplicationDoesNotExistException"]) => return Err(gone("CodeDeploy application", name)),
        Err(e) => return Err(e).ctx("GetApplication", name),
    };
    let tags = codedeploy_tags(aws, codedeploy_arn(aws, plan, &format!("application:{name}"))).await?;
    Ok(ResourceValues::Application {
        name: name.to_owned(),
        compute_platform: app.compute_platform().map_or("ECS", |p| p.as_str()).to_owned(),
        tags,
    })
}

async fn deployment_group(aws: &AwsClients, plan: &Plan, application: &str, name: &str) -> Result<DeploymentGroupValues> {
    let what = format!("{application}:{name}");
    let out = match aws.codedeploy.get_deployment_group().application_name(application).deployment_group_name(name).send().await {
        Ok(o) => o,
        Err(e) if code_is(&e, &["ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"]) => {
            return Err(gone("deployment group", &what));
        }
        Err(e) => return Err(e).ctx("GetDeploymentGroup", &what),
    };
    let dg = out.deployment_group_info().ok_or_else(|| gone("deployment group", &what))?;
    let bg = dg.blue_green_deployment_configuration();
    let ready = bg.and_then(|b| b.deployment_ready_option());
    let terminate = bg.and_then(|b| b.terminate_blue_instances_on_deployment_success());
    let pair = dg.load_balancer_info().and_then(|l| l.target_group_pair_info_list().first());
    let rollback = dg.auto_rollback_configuration();
    let alarms = dg.alarm_configuration();
    let tags = codedeploy_tags(aws, codedeploy_arn(aws, plan, &format!("deploymentgroup:{application}/{name}"))).await?;
    Ok(DeploymentGroupValues {
        application: application.to_owned(),
        name: name.to_owned(),
        service_role_arn: dg.service_role_arn().unwrap_or_default().to_owned(),
        deployment_config_name: dg.deployment_config_name().map(str::to_owned),
        deployment_type: dg.deployment_style().and_then(|s| s.deployment_type()).map(|t| t.as_str().to_owned()),
        deployment_option: dg.deployment_style().and_then(|s| s.deployment_option()).map(|t| t.as_str().to_owned()),
        ready_action: ready.and_then(|r| r.action_on_timeout()).map(|a| a.as_str().to_owned()),
        ready_wait_minutes: ready.map(|r| r.wait_time_in_minutes()).filter(|m| *m > 0),
        termination_action: terminate.and_then(|t| t.action()).map(|a| a.as_str().to_owned()),
        termination_wait_minutes: terminate.map(|t| t.termination_wait_time_in_minutes()),
        ecs_services: dg
            .ecs_services()
            .iter()
            .map(|s| (s.cluster_name().unwrap_or_default().to_owned(), s.service_name().unwrap_or_default().to_owned()))
            .collect(),
        target_groups: pair.map(|p| p.target_groups().iter().filter_map(|t| t.name().map(str::to_owned)).collect()).unwrap_or_default(),
        prod_listener_arns: pair.and_then(|p| p.prod_traffic_route()).map(|r| r.listener_arns().to_vec()).unwrap_or_default(),
        test_listener_arns: pair.and_then(|p| p.test_traffic_route()).map(|r| r.listener_arns().to_vec()).unwrap_or_default(),
        auto_rollback_enabled: rollback.is_some_and(|r| r.enabled()),
        auto_rollback_events: rollback.map(|r| r.events().iter().map(|e| e.as_str().to_owned()).collect()).unwrap_or_default(),
        alarms_enabled: alarms.is_some_and(|a| a.enabled()),
        alarms: alarms.map(|a| a.alarms().iter().filter_map(|x| x.name().map(str::to_owned)).collect()).unwrap_or_default(),
        tags,
    })
}

async fn listener(aws: &AwsClients, arn: &str, production: bool) -> Result<ResourceValues> {
    let out = match aws.elbv2.describe_listeners().listener_arns(arn).send().await {
        Ok(o) => o,
        Err(e) if code_is(&e, &["ListenerNotFound"]) => return Err(gone("listener", arn)),
        Err(e) => return Err(e).ctx("DescribeListeners", arn),
    };
    let l = out.listeners().first().ok_or_else(|| gone("listener", arn))?;
    let mut tags = elb_tags(aws, &[arn.to_owned()]).await?;
    let mut info = crate::convert::listener_from_sdk(l, Vec::new(), None, tags.remove(arn).unwrap_or_default());
    if let Some(tls) = info.tls.as_mut() {
        tls.additional_certificates = crate::discover::listener_certificates(aws, arn).await?;
    }
    Ok(ResourceValues::Listener {
        listener: Box::new(info),
        load_balancer_arn: l.load_balancer_arn().unwrap_or_default().to_owned(),
        production,
    })
}

async fn pipeline_values(aws: &AwsClients, name: &str) -> Result<PipelineValues> {
    let out = match aws.codepipeline.get_pipeline().name(name).send().await {
        Ok(o) => o,
        Err(e) if code_is(&e, &["PipelineNotFoundException"]) => return Err(gone("pipeline", name)),
        Err(e) => return Err(e).ctx("GetPipeline", name),
    };
    let p = out.pipeline().ok_or_else(|| gone("pipeline", name))?;
    Ok(pipeline_from_sdk(p))
}

fn pipeline_from_sdk(p: &cp::PipelineDeclaration) -> PipelineValues {
    let store = |region: Option<&str>, s: &cp::ArtifactStore| ArtifactStoreValues {
        region: region.map(str::to_owned),
        location: s.location().to_owned(),
        r#type: s.r#type().as_str().to_owned(),
        encryption_key: s.encryption_key().map(|k| (k.id().to_owned(), k.r#type().as_str().to_owned())),
    };
    let mut artifact_stores: Vec<ArtifactStoreValues> = p.artifact_store().map(|s| store(None, s)).into_iter().collect();
    if let Some(stores) = p.artifact_stores() {
        let mut regions: Vec<(&String, &cp::ArtifactStore)> = stores.iter().collect();
        regions.sort_by_key(|(r, _)| r.as_str());
        artifact_stores.extend(regions.into_iter().map(|(r, s)| store(Some(r), s)));
    }
    let mut not_rendered = Vec::new();
    if !p.variables().is_empty() {
        not_rendered.push("variables".to_owned());
    }
    if !p.triggers().is_empty() {
        not_rendered.push("triggers".to_owned());
    }
    PipelineValues {
        name: p.name().to_owned(),
        role_arn: p.role_arn().to_owned(),
        pipeline_type: p.pipeline_type().map(|t| t.as_str().to_owned()),
        execution_mode: p.execution_mode().map(|m| m.as_str().to_owned()),
        artifact_stores,
        stages: p
            .stages()
            .iter()
            .map(|s| StageValues {
                name: s.name().to_owned(),
                actions: s
                    .actions()
                    .iter()
                    .map(|a| {
                        let ty = a.action_type_id();
                        ActionValues {
                            name: a.name().to_owned(),
                            category: ty.map(|t| t.category().as_str().to_owned()).unwrap_or_default(),
                            owner: ty.map(|t| t.owner().as_str().to_owned()).unwrap_or_default(),
                            provider: ty.map(|t| t.provider().to_owned()).unwrap_or_default(),
                            version: ty.map(|t| t.version().to_owned()).unwrap_or_default(),
                            configuration: a.configuration().map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
                            input_artifacts: a.input_artifacts().iter().map(|i| i.name().to_owned()).collect(),
                            output_artifacts: a.output_artifacts().iter().map(|o| o.name().to_owned()).collect(),
                            run_order: a.run_order(),
                            region: a.region().map(str::to_owned),
                            namespace: a.namespace().map(str::to_owned),
                            role_arn: a.role_arn().map(str::to_owned),
                        }
                    })
                    .collect(),
            })
            .collect(),
        not_rendered,
    }
}
