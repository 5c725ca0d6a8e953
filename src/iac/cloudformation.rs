//! The CloudFormation renderer: template snippets (`DeletionPolicy: Retain`) for the resources a
//! run made, the resource-import file for `create-change-set --change-set-type IMPORT`, and a
//! README saying which types cannot be imported. Pure: no I/O.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::model::*;
use crate::inventory::{ListenerAction, ServiceDefinition, Tags, TargetGroupInfo};

/// The template snippet's file name.
pub const TEMPLATE_FILE: &str = "template-snippet.yaml";
/// The `--resources-to-import` file.
pub const IMPORT_FILE: &str = "resources-to-import.json";

/// The rendered CloudFormation hand-off.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct CloudFormationFiles {
    /// `template-snippet.yaml`: a `Resources:` section to merge into the stack's template.
    pub template: String,
    /// `resources-to-import.json`: the importable resources with their identifiers.
    pub resources_to_import: String,
    /// `README.md`: the import steps, what cannot be imported, the blue/green hook note.
    pub readme: String,
    /// `(logical id, resource type)` of the resources that cannot be imported.
    pub not_importable: Vec<(String, String)>,
}

impl CloudFormationFiles {
    /// `(file name, content)` of each file to write; a file with nothing to say is left out.
    pub fn files(&self) -> Vec<(&'static str, &str)> {
        [(TEMPLATE_FILE, &self.template), (IMPORT_FILE, &self.resources_to_import), ("README.md", &self.readme)]
            .into_iter()
            .filter(|(_, c)| !c.is_empty())
            .map(|(n, c)| (n, c.as_str()))
            .collect()
    }
}

/// Types whose primary identifier CloudFormation cannot take from an existing resource
/// (`AWS::CodeDeploy::DeploymentGroup`: read-only id).
const NOT_IMPORTABLE: [&str; 1] = ["AWS::CodeDeploy::DeploymentGroup"];

/// Renders the CloudFormation hand-off of `hand`.
pub fn render(hand: &HandOff) -> CloudFormationFiles {
    let mut resources = Map::new();
    let mut imports = Vec::new();
    let mut not_importable = Vec::new();
    let mut used = BTreeSet::new();
    // Managed policies of a role are its `ManagedPolicyArns` in CloudFormation.
    let attached = |role: &str| -> Vec<Value> {
        hand.resources
            .iter()
            .filter_map(|r| match &r.values {
                ResourceValues::RolePolicyAttachment { role: of, policy_arn } if of == role => Some(json!(policy_arn)),
                _ => None,
            })
            .collect()
    };
    for r in &hand.resources {
        let Some((ty, base, props, id)) = resource(hand, &r.values, &attached) else { continue };
        let mut logical = base.clone();
        let mut n = 2;
        while !used.insert(logical.clone()) {
            logical = format!("{base}{n}");
            n += 1;
        }
        resources.insert(
            logical.clone(),
            json!({ "Type": ty, "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": props }),
        );
        if NOT_IMPORTABLE.contains(&ty) {
            not_importable.push((logical, ty.to_owned()));
        } else {
            imports.push(json!({ "ResourceType": ty, "LogicalResourceId": logical, "ResourceIdentifier": id }));
        }
    }
    let template = if resources.is_empty() {
        String::new()
    } else {
        let mut out = String::from("# Merge into the Resources of the stack that should own these resources.\n");
        yaml(&json!({ "Resources": resources }), 0, &mut out);
        out
    };
    let resources_to_import = if imports.is_empty() { String::new() } else { serde_json::to_string_pretty(&imports).unwrap_or_default() + "\n" };
    let readme = readme(hand, &imports, &not_importable);
    CloudFormationFiles { template, resources_to_import, readme, not_importable }
}

/// `web-tg-1-green` → `WebTg1Green`; `prefix` when the name starts with a digit.
fn logical_id(prefix: &str, name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, prefix);
    }
    out
}

fn tags(tags: &Tags) -> Value {
    Value::Array(tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect())
}

/// Inserts `key: value` when `value` is some.
fn put<T: Into<Value>>(m: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        m.insert(key.to_owned(), v.into());
    }
}

type Parts = (&'static str, String, Value, Value);

fn resource(hand: &HandOff, v: &ResourceValues, attached: &dyn Fn(&str) -> Vec<Value>) -> Option<Parts> {
    Some(match v {
        ResourceValues::TargetGroup(tg) => {
            ("AWS::ElasticLoadBalancingV2::TargetGroup", logical_id("TargetGroup", &tg.name), target_group(tg), json!({ "TargetGroupArn": tg.arn }))
        }
        ResourceValues::Listener { listener, load_balancer_arn, production } => {
            let mut p = Map::new();
            p.insert("LoadBalancerArn".into(), json!(load_balancer_arn));
            put(&mut p, "Port", listener.port);
            put(&mut p, "Protocol", listener.protocol.clone());
            if let Some(tls) = &listener.tls {
                put(&mut p, "SslPolicy", tls.ssl_policy.clone());
                put(&mut p, "Certificates", tls.certificate_arn.as_ref().map(|c| json!([{ "CertificateArn": c }])));
                if !tls.alpn_policy.is_empty() {
                    p.insert("AlpnPolicy".into(), json!(tls.alpn_policy));
                }
            }
            p.insert("DefaultActions".into(), Value::Array(listener.default_actions.iter().map(action).collect()));
            let name = if *production { "ProductionListener" } else { "TestListener" };
            ("AWS::ElasticLoadBalancingV2::Listener", format!("{name}{}", listener.port.unwrap_or_default()), Value::Object(p), json!({ "ListenerArn": listener.arn }))
        }
        ResourceValues::Role(role) => {
            let mut p = Map::new();
            p.insert("RoleName".into(), json!(role.name));
            if role.path != "/" && !role.path.is_empty() {
                p.insert("Path".into(), json!(role.path));
            }
            put(&mut p, "Description", role.description.clone());
            p.insert(
                "AssumeRolePolicyDocument".into(),
                serde_json::from_str(&role.trust_policy).unwrap_or_else(|_| json!(role.trust_policy)),
            );
            let managed = attached(&role.name);
            if !managed.is_empty() {
                p.insert("ManagedPolicyArns".into(), Value::Array(managed));
            }
            put(&mut p, "MaxSessionDuration", role.max_session_duration.filter(|d| *d != 3600));
            if !role.tags.is_empty() {
                p.insert("Tags".into(), tags(&role.tags));
            }
            ("AWS::IAM::Role", logical_id("Role", &role.name), Value::Object(p), json!({ "RoleName": role.name }))
        }
        // Part of the role's ManagedPolicyArns.
        ResourceValues::RolePolicyAttachment { .. } => return None,
        ResourceValues::RolePolicy { role, name, document } => (
            "AWS::IAM::RolePolicy",
            logical_id("Policy", &format!("{role}-{name}")),
            json!({ "RoleName": role, "PolicyName": name, "PolicyDocument": serde_json::from_str::<Value>(document).unwrap_or_else(|_| json!(document)) }),
            json!({ "RoleName": role, "PolicyName": name }),
        ),
        ResourceValues::Application { name, compute_platform, tags: t } => {
            let mut p = Map::new();
            p.insert("ApplicationName".into(), json!(name));
            p.insert("ComputePlatform".into(), json!(compute_platform));
            if !t.is_empty() {
                p.insert("Tags".into(), tags(t));
            }
            ("AWS::CodeDeploy::Application", logical_id("Application", name), Value::Object(p), json!({ "ApplicationName": name }))
        }
        ResourceValues::DeploymentGroup(dg) => {
            let mut p = Map::new();
            p.insert("ApplicationName".into(), json!(dg.application));
            p.insert("DeploymentGroupName".into(), json!(dg.name));
            p.insert("ServiceRoleArn".into(), json!(dg.service_role_arn));
            put(&mut p, "DeploymentConfigName", dg.deployment_config_name.clone());
            p.insert(
                "DeploymentStyle".into(),
                json!({
                    "DeploymentType": dg.deployment_type.as_deref().unwrap_or("BLUE_GREEN"),
                    "DeploymentOption": dg.deployment_option.as_deref().unwrap_or("WITH_TRAFFIC_CONTROL"),
                }),
            );
            let mut bg = Map::new();
            if let Some(a) = &dg.ready_action {
                let mut r = Map::new();
                r.insert("ActionOnTimeout".into(), json!(a));
                put(&mut r, "WaitTimeInMinutes", dg.ready_wait_minutes.filter(|_| a == "STOP_DEPLOYMENT"));
                bg.insert("DeploymentReadyOption".into(), Value::Object(r));
            }
            let mut t = Map::new();
            put(&mut t, "Action", dg.termination_action.clone());
            put(&mut t, "TerminationWaitTimeInMinutes", dg.termination_wait_minutes);
            bg.insert("TerminateBlueInstancesOnDeploymentSuccess".into(), Value::Object(t));
            p.insert("BlueGreenDeploymentConfiguration".into(), Value::Object(bg));
            p.insert(
                "ECSServices".into(),
                Value::Array(dg.ecs_services.iter().map(|(c, s)| json!({ "ClusterName": c, "ServiceName": s })).collect()),
            );
            let mut pair = Map::new();
            pair.insert("ProdTrafficRoute".into(), json!({ "ListenerArns": dg.prod_listener_arns }));
            if !dg.test_listener_arns.is_empty() {
                pair.insert("TestTrafficRoute".into(), json!({ "ListenerArns": dg.test_listener_arns }));
            }
            pair.insert("TargetGroups".into(), Value::Array(dg.target_groups.iter().map(|n| json!({ "Name": n })).collect()));
            p.insert("LoadBalancerInfo".into(), json!({ "TargetGroupPairInfoList": [Value::Object(pair)] }));
            let mut events = dg.auto_rollback_events.clone();
            events.sort();
            p.insert("AutoRollbackConfiguration".into(), json!({ "Enabled": dg.auto_rollback_enabled, "Events": events }));
            if dg.alarms_enabled || !dg.alarms.is_empty() {
                let alarms: Vec<Value> = dg.alarms.iter().map(|a| json!({ "Name": a })).collect();
                p.insert("AlarmConfiguration".into(), json!({ "Enabled": dg.alarms_enabled, "Alarms": alarms }));
            }
            if !dg.tags.is_empty() {
                p.insert("Tags".into(), tags(&dg.tags));
            }
            let id = json!({ "ApplicationName": dg.application, "DeploymentGroupName": dg.name });
            ("AWS::CodeDeploy::DeploymentGroup", logical_id("DeploymentGroup", &dg.name), Value::Object(p), id)
        }
        ResourceValues::Service { service, .. } => {
            let cluster = service.cluster_arn.clone().unwrap_or_else(|| hand.cluster.clone());
            let id = json!({ "ServiceArn": service.arn.clone().unwrap_or_default(), "Cluster": cluster });
            ("AWS::ECS::Service", logical_id("Service", &service.name), ecs_service(service, &cluster), id)
        }
        ResourceValues::ScalableTarget { cluster, service, target } => {
            let rid = format!("service/{}/{service}", cluster.rsplit('/').next().unwrap_or(cluster));
            let mut p = Map::new();
            p.insert("ServiceNamespace".into(), json!("ecs"));
            p.insert("ResourceId".into(), json!(rid));
            p.insert("ScalableDimension".into(), json!("ecs:service:DesiredCount"));
            p.insert("MinCapacity".into(), json!(target.min_capacity));
            p.insert("MaxCapacity".into(), json!(target.max_capacity));
            put(&mut p, "RoleARN", target.role_arn.clone());
            let id = json!({ "ResourceId": rid, "ScalableDimension": "ecs:service:DesiredCount", "ServiceNamespace": "ecs" });
            ("AWS::ApplicationAutoScaling::ScalableTarget", logical_id("ScalableTarget", service), Value::Object(p), id)
        }
        ResourceValues::ScalingPolicy { cluster, service, policy } => {
            let rid = format!("service/{}/{service}", cluster.rsplit('/').next().unwrap_or(cluster));
            let p = json!({
                "PolicyName": policy.name, "PolicyType": policy.policy_type, "ServiceNamespace": "ecs",
                "ResourceId": rid, "ScalableDimension": "ecs:service:DesiredCount",
            });
            let id = json!({ "Arn": policy.arn, "ScalableDimension": "ecs:service:DesiredCount" });
            ("AWS::ApplicationAutoScaling::ScalingPolicy", logical_id("ScalingPolicy", &policy.name), p, id)
        }
        ResourceValues::Pipeline(p) => {
            let stages: Vec<Value> = p
                .stages
                .iter()
                .map(|s| {
                    let actions: Vec<Value> = s
                        .actions
                        .iter()
                        .map(|a| {
                            let mut m = Map::new();
                            m.insert("Name".into(), json!(a.name));
                            m.insert(
                                "ActionTypeId".into(),
                                json!({ "Category": a.category, "Owner": a.owner, "Provider": a.provider, "Version": a.version }),
                            );
                            if !a.configuration.is_empty() {
                                m.insert("Configuration".into(), json!(a.configuration));
                            }
                            let named = |names: &[String]| Value::Array(names.iter().map(|n| json!({ "Name": n })).collect());
                            if !a.input_artifacts.is_empty() {
                                m.insert("InputArtifacts".into(), named(&a.input_artifacts));
                            }
                            if !a.output_artifacts.is_empty() {
                                m.insert("OutputArtifacts".into(), named(&a.output_artifacts));
                            }
                            put(&mut m, "RunOrder", a.run_order);
                            put(&mut m, "Region", a.region.clone());
                            put(&mut m, "Namespace", a.namespace.clone());
                            put(&mut m, "RoleArn", a.role_arn.clone());
                            Value::Object(m)
                        })
                        .collect();
                    json!({ "Name": s.name, "Actions": actions })
                })
                .collect();
            let mut m = Map::new();
            m.insert("Name".into(), json!(p.name));
            m.insert("RoleArn".into(), json!(p.role_arn));
            put(&mut m, "PipelineType", p.pipeline_type.clone());
            put(&mut m, "ExecutionMode", p.execution_mode.clone());
            if let [one] = p.artifact_stores.as_slice()
                && one.region.is_none()
            {
                m.insert("ArtifactStore".into(), json!({ "Location": one.location, "Type": one.r#type }));
            }
            m.insert("Stages".into(), Value::Array(stages));
            ("AWS::CodePipeline::Pipeline", logical_id("Pipeline", &p.name), Value::Object(m), json!({ "Name": p.name }))
        }
    })
}

fn target_group(tg: &TargetGroupInfo) -> Value {
    let mut p = Map::new();
    p.insert("Name".into(), json!(tg.name));
    put(&mut p, "Port", tg.port);
    put(&mut p, "Protocol", tg.protocol.clone());
    put(&mut p, "ProtocolVersion", tg.protocol_version.clone().filter(|_| matches!(tg.protocol.as_deref(), Some("HTTP" | "HTTPS"))));
    put(&mut p, "VpcId", tg.vpc_id.clone());
    put(&mut p, "TargetType", tg.target_type.clone());
    put(&mut p, "IpAddressType", tg.ip_address_type.clone());
    put(&mut p, "HealthCheckEnabled", tg.health_check_enabled);
    put(&mut p, "HealthCheckPath", tg.health_check_path.clone());
    put(&mut p, "HealthCheckPort", tg.health_check_port.clone());
    put(&mut p, "HealthCheckProtocol", tg.health_check_protocol.clone());
    put(&mut p, "HealthCheckIntervalSeconds", tg.health_check_interval_seconds);
    put(&mut p, "HealthCheckTimeoutSeconds", tg.health_check_timeout_seconds);
    put(&mut p, "HealthyThresholdCount", tg.healthy_threshold_count);
    put(&mut p, "UnhealthyThresholdCount", tg.unhealthy_threshold_count);
    if let Some(c) = &tg.matcher_http_code {
        p.insert("Matcher".into(), json!({ "HttpCode": c }));
    } else if let Some(c) = &tg.matcher_grpc_code {
        p.insert("Matcher".into(), json!({ "GrpcCode": c }));
    }
    if !tg.attributes.is_empty() {
        p.insert("TargetGroupAttributes".into(), Value::Array(tg.attributes.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect()));
    }
    if !tg.tags.is_empty() {
        p.insert("Tags".into(), tags(&tg.tags));
    }
    Value::Object(p)
}

fn action(a: &ListenerAction) -> Value {
    let mut m = Map::new();
    m.insert("Type".into(), json!(a.r#type));
    put(&mut m, "Order", a.order);
    match (&a.forward_config, &a.target_group_arn) {
        (Some(f), _) => {
            let groups: Vec<Value> = f.target_groups.iter().map(|t| json!({ "TargetGroupArn": t.target_group_arn, "Weight": t.weight })).collect();
            m.insert("ForwardConfig".into(), json!({ "TargetGroups": groups }));
        }
        (None, Some(arn)) => {
            m.insert("TargetGroupArn".into(), json!(arn));
        }
        _ => {}
    }
    if !a.response.is_empty() {
        let key = if a.r#type == "redirect" { "RedirectConfig" } else { "FixedResponseConfig" };
        m.insert(key.into(), json!(a.response));
    }
    Value::Object(m)
}

fn ecs_service(s: &ServiceDefinition, cluster: &str) -> Value {
    let mut p = Map::new();
    p.insert("ServiceName".into(), json!(s.name));
    p.insert("Cluster".into(), json!(cluster));
    put(&mut p, "TaskDefinition", s.task_definition.clone());
    p.insert("DesiredCount".into(), json!(s.desired_count));
    put(&mut p, "LaunchType", s.launch_type.clone());
    put(&mut p, "PlatformVersion", s.platform_version.clone());
    put(&mut p, "SchedulingStrategy", s.scheduling_strategy.clone());
    put(&mut p, "HealthCheckGracePeriodSeconds", s.health_check_grace_period_seconds);
    put(&mut p, "PropagateTags", s.propagate_tags.clone());
    p.insert("EnableECSManagedTags".into(), json!(s.enable_ecs_managed_tags));
    p.insert("EnableExecuteCommand".into(), json!(s.enable_execute_command));
    p.insert("DeploymentController".into(), json!({ "Type": s.deployment_controller }));
    if let Some(dc) = &s.deployment_configuration {
        let mut d = Map::new();
        put(&mut d, "MaximumPercent", dc.maximum_percent);
        put(&mut d, "MinimumHealthyPercent", dc.minimum_healthy_percent);
        if let Some((enable, rollback)) = dc.circuit_breaker {
            d.insert("DeploymentCircuitBreaker".into(), json!({ "Enable": enable, "Rollback": rollback }));
        }
        put(&mut d, "Strategy", dc.strategy.clone());
        put(&mut d, "BakeTimeInMinutes", dc.bake_time_in_minutes);
        if !d.is_empty() {
            p.insert("DeploymentConfiguration".into(), Value::Object(d));
        }
    }
    let lbs: Vec<Value> = s
        .load_balancers
        .iter()
        .map(|l| {
            let mut m = Map::new();
            put(&mut m, "TargetGroupArn", l.target_group_arn.clone());
            put(&mut m, "ContainerName", l.container_name.clone());
            put(&mut m, "ContainerPort", l.container_port);
            if let Some(a) = &l.advanced_configuration {
                let mut am = Map::new();
                put(&mut am, "AlternateTargetGroupArn", a.alternate_target_group_arn.clone());
                put(&mut am, "ProductionListenerRule", a.production_listener_rule.clone());
                put(&mut am, "TestListenerRule", a.test_listener_rule.clone());
                put(&mut am, "RoleArn", a.role_arn.clone());
                m.insert("AdvancedConfiguration".into(), Value::Object(am));
            }
            Value::Object(m)
        })
        .collect();
    if !lbs.is_empty() {
        p.insert("LoadBalancers".into(), Value::Array(lbs));
    }
    if let Some(n) = &s.network_configuration {
        let mut a = Map::new();
        a.insert("Subnets".into(), json!(n.subnets));
        a.insert("SecurityGroups".into(), json!(n.security_groups));
        put(&mut a, "AssignPublicIp", n.assign_public_ip.clone());
        p.insert("NetworkConfiguration".into(), json!({ "AwsvpcConfiguration": a }));
    }
    if !s.tags.is_empty() {
        p.insert("Tags".into(), tags(&s.tags));
    }
    Value::Object(p)
}

/// Block-style YAML of a JSON value: every string double-quoted, so it reads back exactly.
fn yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push_str(&format!("{pad}{}:", crate::artifacts::yaml_quote(k)));
                value_after_key(v, indent, out);
            }
        }
        Value::Array(a) => {
            for item in a {
                out.push_str(&format!("{pad}-"));
                match item {
                    Value::Object(m) if !m.is_empty() => {
                        // The first key on the dash's line, the rest under it.
                        let mut first = true;
                        for (k, v) in m {
                            if first {
                                out.push_str(&format!(" {}:", crate::artifacts::yaml_quote(k)));
                                first = false;
                            } else {
                                out.push_str(&format!("{pad}  {}:", crate::artifacts::yaml_quote(k)));
                            }
                            value_after_key(v, indent + 2, out);
                        }
                    }
                    Value::Array(inner) if !inner.is_empty() => {
                        out.push('\n');
                        yaml(item, indent + 2, out);
                    }
                    other => out.push_str(&format!(" {}\n", scalar(other))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            yaml(v, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            yaml(v, indent + 2, out);
        }
        other => out.push_str(&format!(" {}\n", scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => crate::artifacts::yaml_quote(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

fn readme(hand: &HandOff, imports: &[Value], not_importable: &[(String, String)]) -> String {
    let mut r = format!("# Back to CloudFormation: {}/{}\n\n", hand.cluster, hand.service);
    if hand.end == RunEnd::RolledBack {
        r.push_str(
            "The migration was rolled back: what it created is deleted. If those resources were imported into a stack, \
             delete them from its template: their `DeletionPolicy: Retain` makes the update forget them without a \
             delete call. They were:\n\n",
        );
        for x in &hand.removed {
            r.push_str(&format!("- {:?} `{}` ({})\n", x.kind, x.name, x.why));
        }
        return r;
    }
    r.push_str(
        "`template-snippet.yaml` holds a resource per thing the migration created, recreated or changed, with the values \
         read from the account and `DeletionPolicy: Retain` / `UpdateReplacePolicy: Retain` (resource import requires the \
         first; both keep the resource if the stack ever lets go of it). `resources-to-import.json` names the importable \
         ones with their identifiers.\n\n## Import steps\n\n\
         1. Merge the snippet's `Resources` into the template of the stack that should own them (replace literal ARNs by \
         `!Ref`/`!GetAtt` where the stack declares the referenced resource). A resource the stack already declares (the \
         service, the pipeline) is not imported again: give its existing declaration the values shown instead, and drop it \
         from `resources-to-import.json`.\n\
         2. `aws cloudformation create-change-set --stack-name STACK --change-set-name ecs-bluegreen-import \
         --change-set-type IMPORT --resources-to-import file://resources-to-import.json --template-body file://TEMPLATE`\n\
         3. Review the change set (`describe-change-set`): only imports, then `execute-change-set`.\n\
         4. Run drift detection on the stack: every imported resource must be `IN_SYNC`.\n\n",
    );
    r.push_str(&format!("{} resource(s) can be imported:\n\n", imports.len()));
    for i in imports {
        r.push_str(&format!("- `{}` ({})\n", i["LogicalResourceId"].as_str().unwrap_or_default(), i["ResourceType"].as_str().unwrap_or_default()));
    }
    if !not_importable.is_empty() {
        r.push_str("\n## Cannot be imported\n\n");
        for (logical, ty) in not_importable {
            r.push_str(&format!(
                "- `{logical}` ({ty}): its primary identifier is read-only, so resource import cannot adopt it. Keep it outside \
                 the stack (the snippet documents its values), or let the stack create its own after deleting this one in a \
                 maintenance window (deployments stop meanwhile).\n"
            ));
        }
    }
    r.push_str(
        "\n## The AWS::CodeDeploy::BlueGreen hook\n\n\
         CloudFormation's blue/green transform (`AWS::CodeDeployBlueGreen` with the `AWS::CodeDeploy::BlueGreen` hook) models \
         a different setup than the one this tool builds: ECS task sets under the `EXTERNAL` deployment controller, one ECS \
         service per template, deployments run by stack updates. It does not describe a service on the `CODE_DEPLOY` \
         controller deployed through a CodeDeploy deployment group. Do not add the transform to adopt this service; keep it \
         an `AWS::ECS::Service` with `DeploymentController: CODE_DEPLOY` and deploy through CodeDeploy (the pipeline).\n\n\
         CloudFormation treats a change of `DeploymentController` as a replacement: never update the stack with a template \
         whose controller differs from the live service's.\n",
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HandOff {
        let tg = crate::inventory::TargetGroupInfo {
            arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1-green/1".into(),
            name: "web-tg-1-green".into(),
            port: Some(80),
            protocol: Some("HTTP".into()),
            attributes: [("deregistration_delay.timeout_seconds".to_owned(), "300".to_owned())].into(),
            tags: [("ecs-bluegreen:migration-id".to_owned(), "prod/web".to_owned())].into(),
            ..Default::default()
        };
        let dg = DeploymentGroupValues {
            application: "prod-web".into(),
            name: "web-bluegreen".into(),
            service_role_arn: "arn:aws:iam::123456789012:role/prod-web-codedeploy".into(),
            target_groups: vec!["web-tg-1".into(), "web-tg-1-green".into()],
            prod_listener_arns: vec!["arn:l".into()],
            ..Default::default()
        };
        let role = RoleValues {
            name: "prod-web-codedeploy".into(),
            path: "/".into(),
            trust_policy: r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
            ..Default::default()
        };
        let service = crate::inventory::ServiceDefinition {
            name: "web".into(),
            arn: Some("arn:aws:ecs:us-east-1:123456789012:service/prod/web".into()),
            deployment_controller: "CODE_DEPLOY".into(),
            desired_count: 2,
            ..Default::default()
        };
        HandOff {
            migration_id: "prod/web".into(),
            cluster: "prod".into(),
            service: "web".into(),
            target: crate::spec::Target::Codedeploy,
            end: RunEnd::Applied,
            resources: vec![
                LiveResource::new(Origin::Created, ResourceValues::TargetGroup(Box::new(tg))),
                LiveResource::new(Origin::Created, ResourceValues::Role(Box::new(role))),
                LiveResource::new(
                    Origin::Created,
                    ResourceValues::RolePolicyAttachment {
                        role: "prod-web-codedeploy".into(),
                        policy_arn: "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS".into(),
                    },
                ),
                LiveResource::new(Origin::Created, ResourceValues::DeploymentGroup(Box::new(dg))),
                LiveResource::new(Origin::Recreated, ResourceValues::Service { cluster: "prod".into(), service: Box::new(service) }),
            ],
            removed: vec![],
        }
    }

    #[test]
    fn the_snippet_parses_retains_everything_and_the_deployment_group_is_not_imported() {
        let files = render(&sample());
        let template: Value = serde_norway::from_str(&files.template).expect("the snippet is YAML");
        let resources = template["Resources"].as_object().unwrap();
        let mut ids: Vec<&String> = resources.keys().collect();
        ids.sort();
        assert_eq!(ids, ["ProdWebCodedeploy", "Web", "WebBluegreen", "WebTg1Green"], "the attachment is the role's ManagedPolicyArns");
        for (id, r) in resources {
            assert_eq!((r["DeletionPolicy"].as_str(), r["UpdateReplacePolicy"].as_str()), (Some("Retain"), Some("Retain")), "{id}");
        }
        assert_eq!(resources["WebTg1Green"]["Properties"]["TargetGroupAttributes"][0]["Value"], "300");
        assert_eq!(resources["ProdWebCodedeploy"]["Properties"]["ManagedPolicyArns"][0], "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS");
        assert_eq!(resources["Web"]["Properties"]["DeploymentController"]["Type"], "CODE_DEPLOY");
        assert_eq!(resources["Web"]["Properties"]["DesiredCount"], 2);
        let imports: Vec<Value> = serde_json::from_str(&files.resources_to_import).unwrap();
        let ids: Vec<(&str, &Value)> = imports.iter().map(|i| (i["LogicalResourceId"].as_str().unwrap(), &i["ResourceIdentifier"])).collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        assert!(ids.iter().any(|(l, id)| *l == "WebTg1Green" && id["TargetGroupArn"].as_str().unwrap().ends_with("web-tg-1-green/1")));
        assert!(ids.iter().any(|(l, id)| *l == "Web" && id["Cluster"] == "prod" && id["ServiceArn"].as_str().unwrap().ends_with("service/prod/web")));
        assert_eq!(files.not_importable, [("WebBluegreen".to_owned(), "AWS::CodeDeploy::DeploymentGroup".to_owned())]);
        assert!(files.readme.contains("AWS::CodeDeploy::BlueGreen") && files.readme.contains("EXTERNAL"), "{}", files.readme);
        assert!(files.readme.contains("Cannot be imported") && files.readme.contains("WebBluegreen"));
    }

    #[test]
    fn logical_ids_are_alphanumeric_and_start_with_a_letter() {
        assert_eq!(logical_id("TargetGroup", "web-tg-1-green"), "WebTg1Green");
        assert_eq!(logical_id("Role", "1st-role"), "Role1stRole");
        assert_eq!(logical_id("Service", "web"), "Web");
    }
}
