//! A field-by-field snapshot of everything a migration may touch, to compare an account
//! before and after (rollback must give back exactly the before-snapshot).

use std::collections::BTreeMap;

use ecs_bluegreen::AwsClients;
use serde_json::{Value, json};

/// Reads services, target groups (+ attributes, tags), listeners (+ actions, tags), roles
/// (+ tags, attached and inline policies), CodeDeploy applications and groups, the pipeline, and
/// run locks.
/// Runtime noise (deployment ids, timestamps, pipeline version) is left out.
pub async fn snapshot(aws: &AwsClients, cluster: &str, lb_arn: &str, pipeline: &str) -> Value {
    let mut out = BTreeMap::new();

    let arns = aws.ecs.list_services().cluster(cluster).send().await.unwrap().service_arns.unwrap_or_default();
    let mut services = BTreeMap::new();
    for arn in arns {
        let name = arn.rsplit('/').next().unwrap().to_owned();
        if let Some(mut s) = ecs_bluegreen::discover::describe_service(aws, cluster, &name).await.unwrap() {
            if s.status == "INACTIVE" {
                continue;
            }
            s.deployments.clear();
            services.insert(name, serde_json::to_value(s).unwrap());
        }
    }
    out.insert("services", json!(services));

    let tgs = aws.elbv2.describe_target_groups().send().await.unwrap();
    let mut groups = BTreeMap::new();
    for tg in tgs.target_groups() {
        let arn = tg.target_group_arn().unwrap();
        let attrs = aws.elbv2.describe_target_group_attributes().target_group_arn(arn).send().await.unwrap();
        let tags = aws.elbv2.describe_tags().resource_arns(arn).send().await.unwrap();
        groups.insert(
            tg.target_group_name().unwrap().to_owned(),
            json!({
                "debug": format!("{tg:?}"),
                "attributes": attrs.attributes().iter().map(|a| (a.key().unwrap().to_owned(), a.value().unwrap_or_default().to_owned())).collect::<BTreeMap<_,_>>(),
                "tags": format!("{:?}", tags.tag_descriptions()),
            }),
        );
    }
    out.insert("target_groups", json!(groups));

    let listeners = aws.elbv2.describe_listeners().load_balancer_arn(lb_arn).send().await.unwrap();
    let mut ls = BTreeMap::new();
    for l in listeners.listeners() {
        let tags = aws.elbv2.describe_tags().resource_arns(l.listener_arn().unwrap()).send().await.unwrap();
        ls.insert(l.port().unwrap_or_default().to_string(), json!({"debug": format!("{l:?}"), "tags": format!("{:?}", tags.tag_descriptions())}));
    }
    out.insert("listeners", json!(ls));

    let roles = aws.iam.list_roles().send().await.unwrap();
    let mut rs = BTreeMap::new();
    for r in roles.roles() {
        let full = aws.iam.get_role().role_name(r.role_name()).send().await.unwrap();
        let attached = aws.iam.list_attached_role_policies().role_name(r.role_name()).send().await.unwrap();
        let mut policies: Vec<String> =
            attached.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect();
        policies.sort();
        // Inline policies by name, with their documents (the pipeline role's grant is one).
        let mut inline = BTreeMap::new();
        let names = aws.iam.list_role_policies().role_name(r.role_name()).send().await.unwrap();
        for name in names.policy_names() {
            let p = aws.iam.get_role_policy().role_name(r.role_name()).policy_name(name).send().await.unwrap();
            inline.insert(name.clone(), p.policy_document().to_owned());
        }
        let role = full.role().unwrap();
        rs.insert(
            r.role_name().to_owned(),
            json!({
                "arn": role.arn(),
                "trust": role.assume_role_policy_document(),
                "tags": format!("{:?}", role.tags()),
                "policies": policies,
                "inline_policies": inline,
            }),
        );
    }
    out.insert("roles", json!(rs));

    let apps = aws.codedeploy.list_applications().send().await.unwrap();
    let mut cd = BTreeMap::new();
    for app in apps.applications() {
        let mut groups = aws
            .codedeploy
            .list_deployment_groups()
            .application_name(app)
            .send()
            .await
            .unwrap()
            .deployment_groups
            .unwrap_or_default();
        groups.sort();
        let mut dgs = BTreeMap::new();
        for g in groups {
            let dg = aws.codedeploy.get_deployment_group().application_name(app).deployment_group_name(&g).send().await.unwrap();
            dgs.insert(g, format!("{:?}", dg.deployment_group_info()));
        }
        cd.insert(app.to_owned(), json!(dgs));
    }
    out.insert("codedeploy", json!(cd));

    let p = aws.codepipeline.get_pipeline().name(pipeline).send().await.unwrap();
    let mut decl = p.pipeline.unwrap();
    decl.version = None;
    // Configuration maps are HashMaps: sort them so equal pipelines print equally.
    let stages: Vec<Value> = decl
        .stages()
        .iter()
        .map(|s| {
            json!({
                "name": s.name(),
                "actions": s.actions().iter().map(|a| json!({
                    "name": a.name(),
                    "type": format!("{:?}", a.action_type_id()),
                    "configuration": a.configuration().map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<BTreeMap<_,_>>()),
                    "inputs": a.input_artifacts().iter().map(|i| i.name().to_owned()).collect::<Vec<_>>(),
                    "outputs": a.output_artifacts().iter().map(|i| i.name().to_owned()).collect::<Vec<_>>(),
                    "run_order": a.run_order(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    out.insert("pipeline", json!({"name": decl.name(), "role": decl.role_arn(), "stages": stages}));

    // Run locks (SSM parameters under /ecs-bluegreen/): a lock left behind is a leftover.
    let params = aws.ssm.get_parameters_by_path().path("/ecs-bluegreen").recursive(true).send().await.unwrap();
    let mut locks: Vec<String> = params.parameters().iter().filter_map(|p| p.name().map(str::to_owned)).collect();
    locks.sort();
    out.insert("run_locks", json!(locks));
    json!(out)
}

/// Panics with the differing top-level sections when `a != b`.
pub fn assert_same(a: &Value, b: &Value, context: &str) {
    if a == b {
        return;
    }
    let mut diffs = Vec::new();
    for (k, va) in a.as_object().unwrap() {
        let vb = &b[k];
        if va != vb {
            diffs.push(format!("  {k}:\n    before: {va}\n    after:  {vb}"));
        }
    }
    panic!("{context}: the account differs from the snapshot\n{}", diffs.join("\n"));
}
