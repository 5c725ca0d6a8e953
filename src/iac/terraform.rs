//! The Terraform renderer: `imports.tf`, `resources.tf`, `removed.tf` and `README.md` from a
//! [`HandOff`]. Pure: no I/O. The HCL is built as an hcl-rs syntax tree and formatted by it
//! (valid by construction), then aligned as `terraform fmt` aligns it.

use std::collections::{BTreeMap, BTreeSet};

use hcl::expr::{Expression, FuncCall, Object, ObjectKey, Traversal, Variable};
use hcl::{Block, Body, Identifier, Structure};

use super::address::{Address, AddressMap};
use super::model::*;
use crate::inventory::{ListenerAction, ServiceDefinition, Tags, TargetGroupInfo};
use crate::spec::ValidationError;

/// One `import` block: where the resource goes and the provider's import ID.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportEntry {
    /// The address imported to (after the address map).
    pub address: Address,
    /// The provider's import ID.
    pub id: String,
    /// What the run did to the resource.
    pub origin: Origin,
}

/// The rendered Terraform hand-off.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerraformFiles {
    /// `imports.tf`: an `import` block per resource (Terraform ≥ 1.5); empty after a rollback.
    pub imports: String,
    /// `resources.tf`: a `resource` block per imported resource whose address is in the root
    /// module; empty after a rollback.
    pub resources: String,
    /// `removed.tf`: a `removed` block (Terraform ≥ 1.7, `destroy = false`) per resource gone
    /// from the account; empty when nothing is.
    pub removed: String,
    /// `README.md`: the order to apply, the caveats, what to edit.
    pub readme: String,
    /// The import blocks, in file order.
    pub entries: Vec<ImportEntry>,
    /// The addresses of the removed blocks, in file order.
    pub removed_addresses: Vec<Address>,
}

impl TerraformFiles {
    /// `(file name, content)` of each file to write; a file with nothing to say is left out.
    pub fn files(&self) -> Vec<(&'static str, &str)> {
        [("imports.tf", &self.imports), ("resources.tf", &self.resources), ("removed.tf", &self.removed), ("README.md", &self.readme)]
            .into_iter()
            .filter(|(_, c)| !c.is_empty())
            .map(|(n, c)| (n, c.as_str()))
            .collect()
    }
}

/// A resource ready to render: placeholder address, import ID, and its `resource` block body.
struct Rendered {
    placeholder: Address,
    id: String,
    origin: Origin,
    body: Vec<Structure>,
    /// Lines for the README about what the block cannot say.
    notes: Vec<String>,
}

/// Renders the Terraform hand-off of `hand`, placing resources at the addresses `map` gives.
///
/// # Errors
/// [`ValidationError`] when `map` names a placeholder the hand-off does not have, or sends two
/// resources to one address.
pub fn render(hand: &HandOff, map: &AddressMap) -> Result<TerraformFiles, ValidationError> {
    let mut used = BTreeSet::new();
    let mut unique = |ty: &str, base: &str| -> Address {
        let base = local_name(base);
        let mut name = base.clone();
        let mut n = 2;
        while !used.insert((ty.to_owned(), name.clone())) {
            name = format!("{base}_{n}");
            n += 1;
        }
        Address::resource(ty, name)
    };
    let rendered: Vec<Rendered> = hand
        .resources
        .iter()
        .map(|r| {
            let (ty, base, id, body, notes) = resource(hand, r);
            Rendered { placeholder: unique(ty, &base), id, origin: r.origin, body, notes }
        })
        .collect();
    let removed: Vec<(Address, &RemovedResource)> = hand
        .removed
        .iter()
        .map(|r| {
            let (ty, base) = removed_name(r);
            (unique(ty, &base), r)
        })
        .collect();

    // The map names only placeholders of this hand-off, and sends no two to one address.
    let known: BTreeSet<&Address> = rendered.iter().map(|r| &r.placeholder).chain(removed.iter().map(|(a, _)| a)).collect();
    for p in map.placeholders() {
        if !known.contains(p) {
            return Err(ValidationError::new(
                "address map entry",
                p.to_string(),
                format!(
                    "names no resource of this hand-off; its placeholders are: {}",
                    known.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    let mut targets = BTreeMap::new();
    for p in &known {
        if let Some(other) = targets.insert(map.resolve(p), *p) {
            return Err(ValidationError::new(
                "address map",
                map.resolve(p).to_string(),
                format!("receives both {other} and {p}"),
            ));
        }
    }

    let mut imports = Body::builder();
    let mut resources = Body::builder();
    let mut entries = Vec::new();
    let mut in_modules: Vec<(Address, String)> = Vec::new();
    for r in &rendered {
        let address = map.resolve(&r.placeholder);
        imports = imports.add_block(
            Block::builder("import").add_attribute(("to", address.to_expression())).add_attribute(("id", r.id.as_str())).build(),
        );
        let block = Block::builder("resource")
            .add_label(address.resource_type())
            .add_label(address.name())
            .add_structures(r.body.clone())
            .build();
        if address.is_root_block() {
            resources = resources.add_block(block);
        } else {
            in_modules.push((address.clone(), format_hcl(&Body::builder().add_block(block).build())));
        }
        entries.push(ImportEntry { address, id: r.id.clone(), origin: r.origin });
    }
    let mut removed_body = Body::builder();
    let mut removed_addresses = Vec::new();
    for (placeholder, _) in &removed {
        let address = map.resolve(placeholder);
        removed_body = removed_body.add_block(
            Block::builder("removed")
                .add_attribute(("from", address.to_expression()))
                .add_block(Block::builder("lifecycle").add_attribute(("destroy", false)).build())
                .build(),
        );
        removed_addresses.push(address);
    }
    let nonempty = |b: Body| if b.iter().next().is_some() { format_hcl(&b) } else { String::new() };
    let files = TerraformFiles {
        imports: nonempty(imports.build()),
        resources: nonempty(resources.build()),
        removed: nonempty(removed_body.build()),
        readme: String::new(),
        entries,
        removed_addresses,
    };
    let readme = readme(hand, &files, &rendered, &removed, &in_modules, map);
    Ok(TerraformFiles { readme, ..files })
}

/// Formatted HCL, aligned as `terraform fmt` aligns it.
fn format_hcl(body: &Body) -> String {
    // The formatter writes into memory: it fails only on a tree it cannot print, which the
    // builders here do not make.
    let text = hcl::format::to_string(body).expect("a built HCL body formats");
    super::fmt::align_equals(&text)
}

/// A Terraform-style local name from an AWS name (`web-tg-1-green` → `web_tg_1_green`).
fn local_name(name: &str) -> String {
    let mut s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s.insert_str(0, "r_");
    }
    s
}

/// The cluster's name (the import IDs take names, the journal may hold an ARN).
fn cluster_name(cluster: &str) -> &str {
    cluster.rsplit('/').next().unwrap_or(cluster)
}

fn scaling_id(cluster: &str, service: &str) -> String {
    format!("ecs/service/{}/{service}/ecs:service:DesiredCount", cluster_name(cluster))
}

type Parts = (&'static str, String, String, Vec<Structure>, Vec<String>);

/// Type, base local name, import ID, block body and README notes of a live resource.
fn resource(hand: &HandOff, r: &LiveResource) -> Parts {
    let mut notes = Vec::new();
    match &r.values {
        ResourceValues::TargetGroup(tg) => {
            let (body, n) = target_group(tg);
            notes.extend(n);
            ("aws_lb_target_group", tg.name.clone(), tg.arn.clone(), body, notes)
        }
        ResourceValues::Listener { listener, load_balancer_arn, production } => {
            let port = listener.port.unwrap_or_default();
            let mut b = B::new().s("load_balancer_arn", load_balancer_arn).opt_n("port", listener.port.map(i64::from));
            b = b.opt_s("protocol", listener.protocol.as_deref());
            if let Some(tls) = &listener.tls {
                b = b.opt_s("ssl_policy", tls.ssl_policy.as_deref()).opt_s("certificate_arn", tls.certificate_arn.as_deref());
                b = b.opt_s("alpn_policy", tls.alpn_policy.first().map(String::as_str));
                if !tls.additional_certificates.is_empty() {
                    notes.push(format!(
                        "its additional certificates ({}) are `aws_lb_listener_certificate` resources: import them as `LISTENER_ARN_CERTIFICATE_ARN`",
                        tls.additional_certificates.join(", ")
                    ));
                }
            }
            for a in &listener.default_actions {
                let (action, n) = listener_action(a);
                notes.extend(n);
                b = b.block("default_action", action);
            }
            b = b.tags(&listener.tags);
            if *production {
                b = b.block("lifecycle", B::new().e("ignore_changes", refs(&["default_action"])));
                notes.push("every blue/green deployment rewrites the weights of its forward: `ignore_changes = [default_action]`".into());
            }
            let base = if *production { format!("production_{port}") } else { format!("test_{port}") };
            ("aws_lb_listener", base, listener.arn.clone(), b.0, notes)
        }
        ResourceValues::Role(role) => {
            let mut b = B::new().s("name", &role.name);
            if role.path != "/" && !role.path.is_empty() {
                b = b.s("path", &role.path);
            }
            b = b.opt_s("description", role.description.as_deref());
            b = b.e("assume_role_policy", json_encode(&role.trust_policy));
            if let Some(d) = role.max_session_duration.filter(|d| *d != 3600) {
                b = b.n("max_session_duration", i64::from(d));
            }
            b = b.tags(&role.tags);
            ("aws_iam_role", role.name.clone(), role.name.clone(), b.0, notes)
        }
        ResourceValues::RolePolicyAttachment { role, policy_arn } => {
            let policy = policy_arn.rsplit('/').next().unwrap_or(policy_arn);
            let b = B::new().s("role", role).s("policy_arn", policy_arn);
            ("aws_iam_role_policy_attachment", format!("{role}_{policy}"), format!("{role}/{policy_arn}"), b.0, notes)
        }
        ResourceValues::RolePolicy { role, name, document } => {
            let b = B::new().s("name", name).s("role", role).e("policy", json_encode(document));
            ("aws_iam_role_policy", format!("{role}_{name}"), format!("{role}:{name}"), b.0, notes)
        }
        ResourceValues::Application { name, compute_platform, tags } => {
            let b = B::new().s("name", name).s("compute_platform", compute_platform).tags(tags);
            ("aws_codedeploy_app", name.clone(), name.clone(), b.0, notes)
        }
        ResourceValues::DeploymentGroup(dg) => {
            let id = format!("{}:{}", dg.application, dg.name);
            ("aws_codedeploy_deployment_group", dg.name.clone(), id, deployment_group(dg), notes)
        }
        ResourceValues::Service { cluster, service } => {
            let (body, n) = ecs_service(hand, service);
            notes.extend(n);
            let id = format!("{}/{}", cluster_name(cluster), service.name);
            ("aws_ecs_service", service.name.clone(), id, body, notes)
        }
        ResourceValues::ScalableTarget { cluster, service, target } => {
            let mut b = B::new()
                .s("service_namespace", "ecs")
                .s("resource_id", &format!("service/{}/{service}", cluster_name(cluster)))
                .s("scalable_dimension", "ecs:service:DesiredCount")
                .n("min_capacity", i64::from(target.min_capacity))
                .n("max_capacity", i64::from(target.max_capacity))
                .opt_s("role_arn", target.role_arn.as_deref());
            if target.dynamic_scaling_in_suspended || target.dynamic_scaling_out_suspended || target.scheduled_scaling_suspended {
                b = b.block(
                    "suspended_state",
                    B::new()
                        .b("dynamic_scaling_in_suspended", target.dynamic_scaling_in_suspended)
                        .b("dynamic_scaling_out_suspended", target.dynamic_scaling_out_suspended)
                        .b("scheduled_scaling_suspended", target.scheduled_scaling_suspended),
                );
            }
            ("aws_appautoscaling_target", service.clone(), scaling_id(cluster, service), b.0, notes)
        }
        ResourceValues::ScalingPolicy { cluster, service, policy } => {
            let b = scaling_policy(cluster, service, policy);
            let id = format!("{}/{}", scaling_id(cluster, service), policy.name);
            ("aws_appautoscaling_policy", policy.name.clone(), id, b, notes)
        }
        ResourceValues::Pipeline(p) => {
            if !p.not_rendered.is_empty() {
                notes.push(format!("its {} are not rendered: copy them from your code", p.not_rendered.join(" and ")));
            }
            ("aws_codepipeline", p.name.clone(), p.name.clone(), pipeline(p), notes)
        }
    }
}

/// Type and base local name of a removed resource: the placeholder the apply's hand-off gave it.
fn removed_name(r: &RemovedResource) -> (&'static str, String) {
    let after = |sep: char| r.name.split_once(sep).map_or(r.name.clone(), |(_, b)| b.to_owned());
    match r.kind {
        RemovedKind::TargetGroup => ("aws_lb_target_group", r.name.clone()),
        RemovedKind::Listener => ("aws_lb_listener", format!("test_{}", r.name)),
        RemovedKind::Role => ("aws_iam_role", r.name.clone()),
        RemovedKind::RolePolicyAttachment => {
            let (role, arn) = r.name.split_once('/').unwrap_or((&r.name, ""));
            ("aws_iam_role_policy_attachment", format!("{role}_{}", arn.rsplit('/').next().unwrap_or(arn)))
        }
        RemovedKind::RolePolicy => ("aws_iam_role_policy", r.name.replace(':', "_")),
        RemovedKind::Application => ("aws_codedeploy_app", r.name.clone()),
        RemovedKind::DeploymentGroup => ("aws_codedeploy_deployment_group", after(':')),
        RemovedKind::Service => ("aws_ecs_service", r.name.clone()),
        RemovedKind::ScalableTarget => ("aws_appautoscaling_target", r.name.clone()),
    }
}

/// A block or resource body under construction, in writing order.
struct B(Vec<Structure>);

impl B {
    fn new() -> Self {
        Self(Vec::new())
    }
    fn e(mut self, key: &str, value: Expression) -> Self {
        self.0.push(Structure::Attribute(hcl::Attribute::new(Identifier::unchecked(key), value)));
        self
    }
    fn s(self, key: &str, value: &str) -> Self {
        self.e(key, Expression::String(value.to_owned()))
    }
    fn opt_s(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.s(key, v),
            None => self,
        }
    }
    fn n(self, key: &str, value: i64) -> Self {
        self.e(key, Expression::Number(value.into()))
    }
    fn opt_n(self, key: &str, value: Option<i64>) -> Self {
        match value {
            Some(v) => self.n(key, v),
            None => self,
        }
    }
    fn f(self, key: &str, value: f64) -> Self {
        match hcl::Number::from_f64(value) {
            Some(n) => self.e(key, Expression::Number(n)),
            None => self,
        }
    }
    fn b(self, key: &str, value: bool) -> Self {
        self.e(key, Expression::Bool(value))
    }
    fn list(self, key: &str, items: &[String]) -> Self {
        self.e(key, Expression::Array(items.iter().map(|s| Expression::String(s.clone())).collect()))
    }
    fn map(self, key: &str, map: &BTreeMap<String, String>) -> Self {
        self.e(key, object(map))
    }
    fn tags(self, tags: &Tags) -> Self {
        if tags.is_empty() { self } else { self.map("tags", tags) }
    }
    fn block(mut self, ident: &str, body: B) -> Self {
        self.0.push(Structure::Block(Block::builder(Identifier::unchecked(ident)).add_structures(body.0).build()));
        self
    }
    /// An attribute from an AWS string value: a number or bool when it reads as one (Terraform
    /// converts between the three, so the written type never differs from the schema's).
    fn guessed(self, key: &str, value: &str) -> Self {
        match value {
            "true" => self.b(key, true),
            "false" => self.b(key, false),
            _ => match value.parse::<i64>() {
                Ok(n) if n.to_string() == value => self.n(key, n),
                _ => self.s(key, value),
            },
        }
    }
}

fn object(map: &BTreeMap<String, String>) -> Expression {
    let mut o = Object::new();
    for (k, v) in map {
        let plain = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let key = if plain { ObjectKey::Identifier(Identifier::unchecked(k)) } else { ObjectKey::Expression(Expression::String(k.clone())) };
        o.insert(key, Expression::String(v.clone()));
    }
    Expression::Object(o)
}

/// `[a, b]` of bare names (`ignore_changes`).
fn refs(names: &[&str]) -> Expression {
    Expression::Array(names.iter().map(|n| Expression::Variable(Variable::unchecked(*n))).collect())
}

/// `jsonencode({...})` of a JSON document; the document as a string when it is not JSON.
fn json_encode(document: &str) -> Expression {
    match serde_json::from_str::<serde_json::Value>(document).ok().and_then(|v| hcl::to_expression(&v).ok()) {
        Some(e) => Expression::from(FuncCall::builder("jsonencode").arg(e).build()),
        None => Expression::String(document.to_owned()),
    }
}

/// `AuthorizationEndpoint` → `authorization_endpoint`.
fn snake(api_name: &str) -> String {
    let mut out = String::new();
    for (i, c) in api_name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The target group attributes the provider's `aws_lb_target_group` sets by argument.
const TG_ATTRIBUTES: [(&str, &str); 9] = [
    ("deregistration_delay.timeout_seconds", "deregistration_delay"),
    ("slow_start.duration_seconds", "slow_start"),
    ("load_balancing.algorithm.type", "load_balancing_algorithm_type"),
    ("load_balancing.algorithm.anomaly_mitigation", "load_balancing_anomaly_mitigation"),
    ("load_balancing.cross_zone.enabled", "load_balancing_cross_zone_enabled"),
    ("lambda.multi_value_headers.enabled", "lambda_multi_value_headers_enabled"),
    ("proxy_protocol_v2.enabled", "proxy_protocol_v2"),
    ("preserve_client_ip.enabled", "preserve_client_ip"),
    ("deregistration_delay.connection_termination.enabled", "connection_termination"),
];

fn target_group(tg: &TargetGroupInfo) -> (Vec<Structure>, Vec<String>) {
    let mut notes = Vec::new();
    let mut b = B::new()
        .s("name", &tg.name)
        .opt_n("port", tg.port.map(i64::from))
        .opt_s("protocol", tg.protocol.as_deref())
        .opt_s("protocol_version", tg.protocol_version.as_deref().filter(|_| matches!(tg.protocol.as_deref(), Some("HTTP" | "HTTPS"))))
        .opt_s("vpc_id", tg.vpc_id.as_deref())
        .opt_s("target_type", tg.target_type.as_deref())
        .opt_s("ip_address_type", tg.ip_address_type.as_deref());
    let mut rest: BTreeMap<&str, &str> = tg.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for (key, arg) in TG_ATTRIBUTES {
        if let Some(v) = rest.remove(key) {
            b = b.guessed(arg, v);
        }
    }
    let mut hc = B::new();
    if let Some(v) = tg.health_check_enabled {
        hc = hc.b("enabled", v);
    }
    hc = hc
        .opt_n("healthy_threshold", tg.healthy_threshold_count.map(i64::from))
        .opt_n("interval", tg.health_check_interval_seconds.map(i64::from))
        .opt_s("matcher", tg.matcher_http_code.as_deref().or(tg.matcher_grpc_code.as_deref()))
        .opt_s("path", tg.health_check_path.as_deref())
        .opt_s("port", tg.health_check_port.as_deref())
        .opt_s("protocol", tg.health_check_protocol.as_deref())
        .opt_n("timeout", tg.health_check_timeout_seconds.map(i64::from))
        .opt_n("unhealthy_threshold", tg.unhealthy_threshold_count.map(i64::from));
    if !hc.0.is_empty() {
        b = b.block("health_check", hc);
    }
    let sticky_type = rest.remove("stickiness.type");
    let sticky_enabled = rest.remove("stickiness.enabled");
    let lb_cookie = rest.remove("stickiness.lb_cookie.duration_seconds");
    let app_cookie = rest.remove("stickiness.app_cookie.duration_seconds");
    let cookie_name = rest.remove("stickiness.app_cookie.cookie_name");
    if let Some(ty) = sticky_type {
        let mut s = B::new().s("type", ty);
        if let Some(e) = sticky_enabled {
            s = s.guessed("enabled", e);
        }
        match ty {
            "app_cookie" => {
                s = s.opt_s("cookie_name", cookie_name);
                if let Some(d) = app_cookie {
                    s = s.guessed("cookie_duration", d);
                }
            }
            "lb_cookie" => {
                if let Some(d) = lb_cookie {
                    s = s.guessed("cookie_duration", d);
                }
            }
            _ => {}
        }
        b = b.block("stickiness", s);
    }
    // Attributes the provider models as nested blocks of their own, or not at all: named, so
    // the user can check them (the provider keeps AWS's values when the block is absent).
    for (k, v) in rest {
        notes.push(format!("attribute `{k}` = `{v}` is not written as an argument; the provider keeps it as AWS has it"));
    }
    b = b.tags(&tg.tags);
    (b.0, notes)
}

fn listener_action(a: &ListenerAction) -> (B, Vec<String>) {
    let mut notes = Vec::new();
    let mut b = B::new().s("type", &a.r#type).opt_n("order", a.order.map(i64::from));
    match a.r#type.as_str() {
        "forward" => match (&a.forward_config, &a.target_group_arn) {
            (Some(f), _) if f.target_groups.len() > 1 || f.stickiness_enabled.is_some() => {
                let mut fw = B::new();
                for t in &f.target_groups {
                    fw = fw.block("target_group", B::new().s("arn", &t.target_group_arn).n("weight", i64::from(t.weight)));
                }
                if let Some(enabled) = f.stickiness_enabled {
                    let mut st = B::new().b("enabled", enabled);
                    st = st.opt_n("duration", f.stickiness_duration_seconds.map(i64::from));
                    fw = fw.block("stickiness", st);
                }
                b = b.block("forward", fw);
            }
            (Some(f), _) if f.target_groups.len() == 1 => b = b.s("target_group_arn", &f.target_groups[0].target_group_arn),
            (_, Some(arn)) => b = b.s("target_group_arn", arn),
            _ => {}
        },
        "fixed-response" | "redirect" => {
            let mut inner = B::new();
            for (k, v) in &a.response {
                inner = inner.guessed(&snake(k), v);
            }
            b = b.block(&a.r#type.replace('-', "_"), inner);
        }
        kind @ ("authenticate-oidc" | "authenticate-cognito") => {
            let settings = if kind == "authenticate-oidc" { a.authenticate_oidc.as_ref() } else { a.authenticate_cognito.as_ref() };
            let mut inner = B::new();
            if let Some(s) = settings {
                if !s.extra_params.is_empty() {
                    inner = inner.map("authentication_request_extra_params", &s.extra_params);
                }
                for (k, v) in &s.fields {
                    inner = inner.s(&snake(k), v);
                }
                inner = inner.opt_n("session_timeout", s.session_timeout);
            }
            if kind == "authenticate-oidc" {
                // AWS never returns the secret: the user's code holds it.
                inner = inner.e("client_secret", Expression::from(Traversal::builder(Variable::unchecked("var")).attr("oidc_client_secret").build()));
                notes.push("its OIDC action needs the client secret AWS never returns: declare `variable \"oidc_client_secret\"` or use your own reference".into());
            }
            b = b.block(&a.r#type.replace('-', "_"), inner);
        }
        _ => {}
    }
    (b, notes)
}

fn deployment_group(dg: &DeploymentGroupValues) -> Vec<Structure> {
    let mut b = B::new()
        .s("app_name", &dg.application)
        .s("deployment_group_name", &dg.name)
        .s("service_role_arn", &dg.service_role_arn)
        .opt_s("deployment_config_name", dg.deployment_config_name.as_deref());
    if dg.auto_rollback_enabled || !dg.auto_rollback_events.is_empty() {
        let mut events = dg.auto_rollback_events.clone();
        events.sort();
        b = b.block("auto_rollback_configuration", B::new().b("enabled", dg.auto_rollback_enabled).list("events", &events));
    }
    if dg.alarms_enabled || !dg.alarms.is_empty() {
        b = b.block("alarm_configuration", B::new().list("alarms", &dg.alarms).b("enabled", dg.alarms_enabled));
    }
    let mut bg = B::new();
    if let Some(action) = &dg.ready_action {
        let mut r = B::new().s("action_on_timeout", action);
        if action == "STOP_DEPLOYMENT" {
            r = r.opt_n("wait_time_in_minutes", dg.ready_wait_minutes.map(i64::from));
        }
        bg = bg.block("deployment_ready_option", r);
    }
    if dg.termination_action.is_some() || dg.termination_wait_minutes.is_some() {
        let t = B::new()
            .opt_s("action", dg.termination_action.as_deref())
            .opt_n("termination_wait_time_in_minutes", dg.termination_wait_minutes.map(i64::from));
        bg = bg.block("terminate_blue_instances_on_deployment_success", t);
    }
    b = b.block("blue_green_deployment_config", bg);
    b = b.block(
        "deployment_style",
        B::new()
            .s("deployment_option", dg.deployment_option.as_deref().unwrap_or("WITH_TRAFFIC_CONTROL"))
            .s("deployment_type", dg.deployment_type.as_deref().unwrap_or("BLUE_GREEN")),
    );
    for (cluster, service) in &dg.ecs_services {
        b = b.block("ecs_service", B::new().s("cluster_name", cluster).s("service_name", service));
    }
    let mut pair = B::new().block("prod_traffic_route", B::new().list("listener_arns", &dg.prod_listener_arns));
    for tg in &dg.target_groups {
        pair = pair.block("target_group", B::new().s("name", tg));
    }
    if !dg.test_listener_arns.is_empty() {
        pair = pair.block("test_traffic_route", B::new().list("listener_arns", &dg.test_listener_arns));
    }
    b = b.block("load_balancer_info", B::new().block("target_group_pair_info", pair));
    b.tags(&dg.tags).0
}

fn ecs_service(hand: &HandOff, s: &ServiceDefinition) -> (Vec<Structure>, Vec<String>) {
    let mut notes = Vec::new();
    let cluster = s.cluster_arn.clone().unwrap_or_else(|| hand.cluster.clone());
    let mut b = B::new()
        .s("name", &s.name)
        .s("cluster", &cluster)
        .opt_s("task_definition", s.task_definition.as_deref())
        .n("desired_count", i64::from(s.desired_count))
        .opt_s("launch_type", s.launch_type.as_deref())
        .opt_s("platform_version", s.platform_version.as_deref())
        .opt_s("scheduling_strategy", s.scheduling_strategy.as_deref())
        .opt_n("health_check_grace_period_seconds", s.health_check_grace_period_seconds.map(i64::from))
        .opt_s("iam_role", s.role_arn.as_deref())
        .b("enable_ecs_managed_tags", s.enable_ecs_managed_tags)
        .b("enable_execute_command", s.enable_execute_command)
        .opt_s("propagate_tags", s.propagate_tags.as_deref())
        .opt_s("availability_zone_rebalancing", s.availability_zone_rebalancing.as_deref());
    let dc = s.deployment_configuration.as_ref();
    if let Some(dc) = dc {
        b = b
            .opt_n("deployment_maximum_percent", dc.maximum_percent.map(i64::from))
            .opt_n("deployment_minimum_healthy_percent", dc.minimum_healthy_percent.map(i64::from));
    }
    b = b.block("deployment_controller", B::new().s("type", &s.deployment_controller));
    if let Some(dc) = dc {
        if let Some((enable, rollback)) = dc.circuit_breaker {
            b = b.block("deployment_circuit_breaker", B::new().b("enable", enable).b("rollback", rollback));
        }
        if let Some(a) = &dc.alarms {
            b = b.block("alarms", B::new().list("alarm_names", &a.alarm_names).b("enable", a.enable).b("rollback", a.rollback));
        }
        if let Some(strategy) = &dc.strategy {
            let mut d = B::new().s("strategy", strategy).opt_n("bake_time_in_minutes", dc.bake_time_in_minutes.map(i64::from));
            if let Some(l) = &dc.linear {
                let mut lb = B::new();
                if let Some(p) = l.percent {
                    lb = lb.f("step_percent", p.get());
                }
                d = d.block("linear_configuration", lb.opt_n("step_bake_time_in_minutes", l.bake_time_in_minutes.map(i64::from)));
            }
            if let Some(c) = &dc.canary {
                let mut cb = B::new();
                if let Some(p) = c.percent {
                    cb = cb.f("canary_percent", p.get());
                }
                d = d.block("canary_configuration", cb.opt_n("canary_bake_time_in_minutes", c.bake_time_in_minutes.map(i64::from)));
            }
            b = b.block("deployment_configuration", d);
        }
    } else {
        notes.push("DescribeServices reported no deploymentConfiguration: the provider's defaults apply".into());
    }
    for c in &s.capacity_provider_strategy {
        b = b.block(
            "capacity_provider_strategy",
            B::new().s("capacity_provider", &c.capacity_provider).n("weight", i64::from(c.weight)).n("base", i64::from(c.base)),
        );
    }
    for lb in &s.load_balancers {
        let mut l = B::new()
            .opt_s("target_group_arn", lb.target_group_arn.as_deref())
            .opt_s("elb_name", lb.load_balancer_name.as_deref())
            .opt_s("container_name", lb.container_name.as_deref())
            .opt_n("container_port", lb.container_port.map(i64::from));
        if let Some(a) = &lb.advanced_configuration {
            l = l.block(
                "advanced_configuration",
                B::new()
                    .opt_s("alternate_target_group_arn", a.alternate_target_group_arn.as_deref())
                    .opt_s("production_listener_rule", a.production_listener_rule.as_deref())
                    .opt_s("test_listener_rule", a.test_listener_rule.as_deref())
                    .opt_s("role_arn", a.role_arn.as_deref()),
            );
        }
        b = b.block("load_balancer", l);
    }
    if let Some(n) = &s.network_configuration {
        let mut nb = B::new().list("subnets", &n.subnets).list("security_groups", &n.security_groups);
        if let Some(ip) = &n.assign_public_ip {
            nb = nb.b("assign_public_ip", ip == "ENABLED");
        }
        b = b.block("network_configuration", nb);
    }
    for p in &s.placement_constraints {
        b = b.block("placement_constraints", B::new().opt_s("type", p.r#type.as_deref()).opt_s("expression", p.expression.as_deref()));
    }
    for p in &s.placement_strategy {
        b = b.block("ordered_placement_strategy", B::new().opt_s("type", p.r#type.as_deref()).opt_s("field", p.field.as_deref()));
    }
    for r in &s.service_registries {
        b = b.block(
            "service_registries",
            B::new()
                .opt_s("registry_arn", r.registry_arn.as_deref())
                .opt_n("port", r.port.map(i64::from))
                .opt_s("container_name", r.container_name.as_deref())
                .opt_n("container_port", r.container_port.map(i64::from)),
        );
    }
    b = b.tags(&s.tags);
    // What blue/green deployments change behind Terraform's back.
    let blue_green = s.deployment_controller == "CODE_DEPLOY" || dc.and_then(|d| d.strategy.as_deref()).is_some_and(|st| st != "ROLLING");
    let scaled = hand.resources.iter().any(|r| matches!(&r.values, ResourceValues::ScalableTarget { service, .. } if *service == s.name))
        || s.scaling.is_some();
    let mut ignore: Vec<&str> = Vec::new();
    if blue_green {
        ignore.extend(["task_definition", "load_balancer"]);
    }
    if scaled {
        ignore.push("desired_count");
    }
    if !ignore.is_empty() {
        b = b.block("lifecycle", B::new().e("ignore_changes", refs(&ignore)));
    }
    (b.0, notes)
}

fn scaling_policy(cluster: &str, service: &str, p: &crate::inventory::ScalingPolicyInfo) -> Vec<Structure> {
    let mut b = B::new()
        .s("name", &p.name)
        .s("policy_type", &p.policy_type)
        .s("resource_id", &format!("service/{}/{service}", cluster_name(cluster)))
        .s("scalable_dimension", "ecs:service:DesiredCount")
        .s("service_namespace", "ecs");
    if let Some(st) = &p.step {
        let mut c = B::new()
            .opt_s("adjustment_type", st.adjustment_type.as_deref())
            .opt_n("cooldown", st.cooldown.map(i64::from))
            .opt_s("metric_aggregation_type", st.metric_aggregation_type.as_deref())
            .opt_n("min_adjustment_magnitude", st.min_adjustment_magnitude.map(i64::from));
        for s in &st.step_adjustments {
            let mut a = B::new();
            if let Some(l) = s.lower_bound {
                a = a.f("metric_interval_lower_bound", l);
            }
            if let Some(u) = s.upper_bound {
                a = a.f("metric_interval_upper_bound", u);
            }
            c = c.block("step_adjustment", a.n("scaling_adjustment", i64::from(s.scaling_adjustment)));
        }
        b = b.block("step_scaling_policy_configuration", c);
    }
    if let Some(t) = &p.target_tracking {
        let mut c = B::new().f("target_value", t.target_value);
        c = c.opt_n("scale_in_cooldown", t.scale_in_cooldown.map(i64::from)).opt_n("scale_out_cooldown", t.scale_out_cooldown.map(i64::from));
        if let Some(d) = t.disable_scale_in {
            c = c.b("disable_scale_in", d);
        }
        if let Some((ty, label)) = &t.predefined_metric {
            c = c.block(
                "predefined_metric_specification",
                B::new().s("predefined_metric_type", ty).opt_s("resource_label", label.as_deref()),
            );
        }
        if let Some(m) = &t.customized_metric {
            let mut cm = B::new()
                .opt_s("metric_name", m.metric_name.as_deref())
                .opt_s("namespace", m.namespace.as_deref())
                .opt_s("statistic", m.statistic.as_deref())
                .opt_s("unit", m.unit.as_deref());
            for (name, value) in &m.dimensions {
                cm = cm.block("dimensions", B::new().s("name", name).s("value", value));
            }
            c = c.block("customized_metric_specification", cm);
        }
        b = b.block("target_tracking_scaling_policy_configuration", c);
    }
    b.0
}

fn pipeline(p: &PipelineValues) -> Vec<Structure> {
    let mut b = B::new()
        .s("name", &p.name)
        .s("role_arn", &p.role_arn)
        .opt_s("pipeline_type", p.pipeline_type.as_deref())
        .opt_s("execution_mode", p.execution_mode.as_deref());
    for s in &p.artifact_stores {
        let mut a = B::new().s("location", &s.location).s("type", &s.r#type).opt_s("region", s.region.as_deref());
        if let Some((id, ty)) = &s.encryption_key {
            a = a.block("encryption_key", B::new().s("id", id).s("type", ty));
        }
        b = b.block("artifact_store", a);
    }
    for stage in &p.stages {
        let mut sb = B::new().s("name", &stage.name);
        for a in &stage.actions {
            let mut ab = B::new()
                .s("name", &a.name)
                .s("category", &a.category)
                .s("owner", &a.owner)
                .s("provider", &a.provider)
                .s("version", &a.version);
            if !a.input_artifacts.is_empty() {
                ab = ab.list("input_artifacts", &a.input_artifacts);
            }
            if !a.output_artifacts.is_empty() {
                ab = ab.list("output_artifacts", &a.output_artifacts);
            }
            ab = ab
                .opt_n("run_order", a.run_order.map(i64::from))
                .opt_s("region", a.region.as_deref())
                .opt_s("namespace", a.namespace.as_deref())
                .opt_s("role_arn", a.role_arn.as_deref());
            if !a.configuration.is_empty() {
                ab = ab.map("configuration", &a.configuration);
            }
            sb = sb.block("action", ab);
        }
        b = b.block("stage", sb);
    }
    b.0
}

fn readme(
    hand: &HandOff,
    files: &TerraformFiles,
    rendered: &[Rendered],
    removed: &[(Address, &RemovedResource)],
    in_modules: &[(Address, String)],
    map: &AddressMap,
) -> String {
    let mut r = String::new();
    let target = match hand.target {
        crate::spec::Target::Codedeploy => "CodeDeploy blue/green",
        crate::spec::Target::EcsNative => "ECS-native blue/green",
        crate::spec::Target::Rolling => "rolling updates",
    };
    r.push_str(&format!("# Back to Terraform: {}/{}\n\n", hand.cluster, hand.service));
    match hand.end {
        RunEnd::Applied => r.push_str(&format!(
            "The migration `{}` moved the service to {target} outside Terraform. These files hand what it created, \
             recreated or changed back to your code, so that the next `terraform apply` neither undoes the migration \
             nor recreates the service.\n\n",
            hand.migration_id
        )),
        RunEnd::RolledBack => r.push_str(&format!(
            "The migration `{}` was rolled back: what it created is deleted. If you imported its hand-off before the \
             rollback, your state still holds those resources; `removed.tf` lets Terraform forget them without \
             trying to destroy them again.\n\n",
            hand.migration_id
        )),
    }
    r.push_str("## Files\n\n");
    for (name, _) in files.files() {
        let what = match name {
            "imports.tf" => "an `import` block per resource (Terraform >= 1.5), with the AWS provider's documented import ID",
            "resources.tf" => "the configuration of each imported resource, with the values read from the account",
            "removed.tf" => "a `removed` block per resource gone from the account (Terraform >= 1.7; `destroy = false`)",
            _ => "this file",
        };
        r.push_str(&format!("- `{name}`: {what}\n"));
    }
    r.push_str("\n## Order\n\n");
    r.push_str(
        "1. Copy the `.tf` files into the root module of your configuration (import and removed blocks work only there).\n\
         2. Where your code already declares one of these resources, delete the generated block, and map the placeholder to \
         your address instead (see below); where it declares a resource the migration replaced, update it as described below.\n\
         3. `terraform plan`: it must show only imports (and removals from state), and **no changes and no replacement**. \
         If it shows a change, edit the block until it does not: never apply a plan that would update or replace the service.\n\
         4. `terraform apply` performs the imports. The import blocks may stay (Terraform skips an address already in state) or be deleted.\n\n",
    );
    if hand.end == RunEnd::Applied {
        r.push_str("## Resources\n\n| address | import ID | what the migration did |\n|---|---|---|\n");
        for (e, rr) in files.entries.iter().zip(rendered) {
            r.push_str(&format!("| `{}` | `{}` | {} |\n", e.address, e.id, rr.origin.as_str()));
        }
        r.push('\n');
        let notes: Vec<String> = files
            .entries
            .iter()
            .zip(rendered)
            .flat_map(|(e, rr)| rr.notes.iter().map(move |n| format!("- `{}`: {n}", e.address)))
            .collect();
        if !notes.is_empty() {
            r.push_str("Notes:\n\n");
            r.push_str(&notes.join("\n"));
            r.push_str("\n\n");
        }
    }
    if !removed.is_empty() {
        r.push_str("## Removed from the account\n\n| address | why |\n|---|---|\n");
        for ((_, rr), a) in removed.iter().zip(&files.removed_addresses) {
            r.push_str(&format!("| `{a}` | {} |\n", rr.why));
        }
        r.push_str(
            "\nDelete the blocks of these resources from your code: `removed.tf` then lets Terraform forget them \
             (Terraform >= 1.7; with an older one, run `terraform state rm ADDRESS` for each).\n\n",
        );
    }
    if hand.end == RunEnd::RolledBack {
        r.push_str(
            "The service is restored as it was before the migration (same name, its original deployment controller and \
             settings, the desired count and task definition it had at rollback time): if your code was changed for the \
             migration (`deployment_controller`, `deployment_configuration`, `ignore_changes`), change it back, then \
             `terraform plan` must show no change for the service.\n\n",
        );
    }
    if hand.end == RunEnd::Applied {
        r.push_str("## The service\n\n");
        match hand.target {
            crate::spec::Target::Codedeploy => r.push_str(
                "The service now runs on the `CODE_DEPLOY` deployment controller: CodeDeploy deploys task definitions and swaps \
                 target groups, so the block carries `deployment_controller { type = \"CODE_DEPLOY\" }` and \
                 `lifecycle { ignore_changes = [task_definition, load_balancer] }` (the advice of terraform-provider-aws #7315 \
                 and terraform-aws-modules/terraform-aws-ecs #81/#154). Deploy new revisions through CodeDeploy (the pipeline), \
                 not by changing `task_definition` in Terraform.\n\n\
                 **Provider version caveat:** older AWS providers mark `deployment_controller.type` as ForceNew: with them the plan \
                 shows the service **replaced** (destroyed and created). Do not apply that: upgrade the provider until the plan \
                 shows no change for the service.\n\n",
            ),
            crate::spec::Target::EcsNative => r.push_str(
                "The service keeps the `ECS` controller with a blue/green `deployment_configuration` and the load balancer's \
                 `advanced_configuration` (alternate target group, production and test listener rules, infrastructure role): \
                 this needs an AWS provider with ECS-native blue/green support (added July 2025, terraform-provider-aws #43434). \
                 ECS rewrites the production rule's forward weights on every deployment, so the production listener carries \
                 `ignore_changes = [default_action]`, and swaps the service's target groups, so the service ignores \
                 `load_balancer` and `task_definition` (terraform-provider-aws #45678).\n\n",
            ),
            _ => r.push_str("The service's deployment configuration changed in place; its block carries the live values.\n\n"),
        }
        if hand.resources.iter().any(|r| matches!(&r.values, ResourceValues::Pipeline(_))) {
            r.push_str(
                "The pipeline's deploy action changed: its block carries the live declaration. If your code builds the \
                 pipeline, change its deploy action to match (provider, configuration) rather than keeping both blocks.\n\n",
            );
        }
        if hand.resources.iter().any(|r| matches!(&r.values, ResourceValues::ScalingPolicy { .. })) {
            r.push_str(
                "Recreating the service re-registered its auto scaling: the step policies have new ARNs, and the CloudWatch \
                 alarms that invoke them were re-pointed (`alarm_actions`). If your code declares those alarms, refer to the \
                 policies' `arn` there.\n\n",
            );
        }
    }
    r.push_str("## Placeholder addresses\n\n");
    r.push_str(
        "The addresses above are placeholders made from the AWS names. To import into your own addresses (inside \
         modules too), pass `--address-map FILE`: a flat table of placeholder = your address, JSON (a `.json` file) or \
         TOML, e.g.\n\n```json\n{ \"aws_ecs_service.web\": \"module.svc.aws_ecs_service.this\" }\n```\n\n\
         Both sides must name the same resource type. A resource mapped into a module gets no block in `resources.tf`: \
         this README then shows the block under \"Edit these resources in your modules\"; make the module's resource \
         carry those values.\n\n",
    );
    if !map.is_empty() && !in_modules.is_empty() {
        r.push_str("## Edit these resources in your modules\n\n");
        for (a, text) in in_modules {
            r.push_str(&format!("`{a}`:\n\n```hcl\n{}```\n\n", text));
        }
    }
    r
}

#[cfg(test)]
mod tests {
    //! Golden files of the renderer (`tests/golden/iac/`; `UPDATE_GOLDEN=1` rewrites them, then
    //! read the diff), the HCL parsed back, and `terraform fmt -check` where the binary is on PATH.

    use std::path::{Path, PathBuf};

    use super::*;
    use crate::inventory::*;
    use crate::spec::Target;

    const ACCOUNT: &str = "123456789012";
    const LB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-alb/50dc6c495c0c9188";
    const BLUE: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1/73e2d6bc24d8a067";
    const GREEN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1-green/0f6f3e5ab56bc1d2";
    const PROD: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2";
    const TEST: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web-alb/50dc6c495c0c9188/2a8c4b3d1e0f9a77";

    fn ours() -> Tags {
        [(OWNERSHIP_TAG.to_owned(), "prod/web".to_owned())].into()
    }

    fn green() -> LiveResource {
        let attributes = [
            ("deregistration_delay.timeout_seconds", "300"),
            ("slow_start.duration_seconds", "0"),
            ("stickiness.enabled", "false"),
            ("stickiness.type", "lb_cookie"),
            ("stickiness.lb_cookie.duration_seconds", "86400"),
            ("load_balancing.algorithm.type", "round_robin"),
            ("target_group_health.dns_failover.minimum_healthy_targets.count", "1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        let mut tags = ours();
        tags.insert("team".into(), "payments".into());
        LiveResource::new(
            Origin::Created,
            ResourceValues::TargetGroup(Box::new(TargetGroupInfo {
                arn: GREEN.into(),
                name: "web-tg-1-green".into(),
                protocol: Some("HTTP".into()),
                protocol_version: Some("HTTP1".into()),
                port: Some(8080),
                vpc_id: Some("vpc-0abc".into()),
                target_type: Some("ip".into()),
                ip_address_type: Some("ipv4".into()),
                health_check_protocol: Some("HTTP".into()),
                health_check_port: Some("traffic-port".into()),
                health_check_enabled: Some(true),
                health_check_path: Some("/health".into()),
                health_check_interval_seconds: Some(30),
                health_check_timeout_seconds: Some(5),
                healthy_threshold_count: Some(5),
                unhealthy_threshold_count: Some(2),
                matcher_http_code: Some("200".into()),
                attributes,
                tags,
                ..Default::default()
            })),
        )
    }

    fn listener(arn: &str, port: i32, forward: Vec<WeightedTargetGroup>, production: bool) -> LiveResource {
        let action = if forward.len() == 1 {
            ListenerAction { r#type: "forward".into(), target_group_arn: Some(forward[0].target_group_arn.clone()), ..Default::default() }
        } else {
            ListenerAction {
                r#type: "forward".into(),
                forward_config: Some(ForwardSettings { target_groups: forward.clone(), ..Default::default() }),
                ..Default::default()
            }
        };
        LiveResource::new(
            if production { Origin::Changed } else { Origin::Created },
            ResourceValues::Listener {
                listener: Box::new(ListenerInfo {
                    arn: arn.into(),
                    port: Some(port),
                    protocol: Some("HTTP".into()),
                    default_forward: forward,
                    default_actions: vec![action],
                    tags: if production { Tags::new() } else { ours() },
                    ..Default::default()
                }),
                load_balancer_arn: LB.into(),
                production,
            },
        )
    }

    fn role(name: &str, service: &str, policy: &str) -> [LiveResource; 2] {
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"aws:SourceAccount":"{ACCOUNT}"}}}}}}]}}"#
        );
        [
            LiveResource::new(
                Origin::Created,
                ResourceValues::Role(Box::new(RoleValues {
                    name: name.into(),
                    arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
                    path: "/".into(),
                    max_session_duration: Some(3600),
                    trust_policy: trust,
                    tags: ours(),
                    ..Default::default()
                })),
            ),
            LiveResource::new(Origin::Created, ResourceValues::RolePolicyAttachment { role: name.into(), policy_arn: policy.into() }),
        ]
    }

    fn service(controller: &str, origin: Origin, configuration: DeploymentConfigurationDef, advanced: Option<AdvancedConfigurationDef>) -> LiveResource {
        LiveResource::new(
            origin,
            ResourceValues::Service {
                cluster: "prod".into(),
                service: Box::new(ServiceDefinition {
                    name: "web".into(),
                    arn: Some(format!("arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/web")),
                    cluster_arn: Some(format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod")),
                    status: "ACTIVE".into(),
                    deployment_controller: controller.into(),
                    task_definition: Some(format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:7")),
                    desired_count: 3,
                    launch_type: Some("FARGATE".into()),
                    platform_version: Some("LATEST".into()),
                    load_balancers: vec![LoadBalancerEntry {
                        target_group_arn: Some(BLUE.into()),
                        load_balancer_name: None,
                        container_name: Some("app".into()),
                        container_port: Some(8080),
                        advanced_configuration: advanced,
                    }],
                    network_configuration: Some(AwsVpcConfiguration {
                        subnets: vec!["subnet-1".into(), "subnet-2".into()],
                        security_groups: vec!["sg-1".into()],
                        assign_public_ip: Some("DISABLED".into()),
                    }),
                    health_check_grace_period_seconds: Some(60),
                    scheduling_strategy: Some("REPLICA".into()),
                    deployment_configuration: Some(configuration),
                    tags: [("team".to_owned(), "payments".to_owned())].into(),
                    propagate_tags: Some("SERVICE".into()),
                    ..Default::default()
                }),
            },
        )
    }

    /// Rolling → CodeDeploy, cutover parallel-keep-name, with a test listener, scaling and a
    /// pipeline.
    fn codedeploy() -> HandOff {
        let mut resources = vec![green(), listener(TEST, 8080, vec![WeightedTargetGroup { target_group_arn: GREEN.into(), weight: 1 }], false)];
        resources.extend(role("prod-web-codedeploy", "codedeploy.amazonaws.com", "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"));
        resources.push(LiveResource::new(
            Origin::Created,
            ResourceValues::Application { name: "prod-web".into(), compute_platform: "ECS".into(), tags: ours() },
        ));
        let config = DeploymentConfigurationDef { maximum_percent: Some(200), minimum_healthy_percent: Some(100), ..Default::default() };
        resources.push(service("CODE_DEPLOY", Origin::Recreated, config, None));
        resources.push(LiveResource::new(
            Origin::Created,
            ResourceValues::ScalableTarget {
                cluster: "prod".into(),
                service: "web".into(),
                target: ScalableTargetInfo { min_capacity: 2, max_capacity: 10, ..Default::default() },
            },
        ));
        resources.push(LiveResource::new(
            Origin::Created,
            ResourceValues::ScalingPolicy {
                cluster: "prod".into(),
                service: "web".into(),
                policy: Box::new(ScalingPolicyInfo {
                    name: "web-scale-out".into(),
                    arn: "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:resource/ecs/service/prod/web:policyName/web-scale-out".into(),
                    policy_type: "StepScaling".into(),
                    step: Some(StepScalingConfig {
                        adjustment_type: Some("ChangeInCapacity".into()),
                        step_adjustments: vec![StepAdjustmentDef { lower_bound: Some(0.0), upper_bound: None, scaling_adjustment: 2 }],
                        cooldown: Some(60),
                        metric_aggregation_type: Some("Average".into()),
                        ..Default::default()
                    }),
                    target_tracking: None,
                }),
            },
        ));
        resources.push(LiveResource::new(
            Origin::Created,
            ResourceValues::DeploymentGroup(Box::new(DeploymentGroupValues {
                application: "prod-web".into(),
                name: "web-bluegreen".into(),
                service_role_arn: format!("arn:aws:iam::{ACCOUNT}:role/prod-web-codedeploy"),
                deployment_config_name: Some("CodeDeployDefault.ECSAllAtOnce".into()),
                deployment_type: Some("BLUE_GREEN".into()),
                deployment_option: Some("WITH_TRAFFIC_CONTROL".into()),
                ready_action: Some("CONTINUE_DEPLOYMENT".into()),
                ready_wait_minutes: None,
                termination_action: Some("TERMINATE".into()),
                termination_wait_minutes: Some(60),
                ecs_services: vec![("prod".into(), "web".into())],
                target_groups: vec!["web-tg-1".into(), "web-tg-1-green".into()],
                prod_listener_arns: vec![PROD.into()],
                test_listener_arns: vec![TEST.into()],
                auto_rollback_enabled: true,
                auto_rollback_events: vec!["DEPLOYMENT_STOP_ON_REQUEST".into(), "DEPLOYMENT_FAILURE".into()],
                alarms_enabled: false,
                alarms: vec![],
                tags: ours(),
            })),
        ));
        resources.push(LiveResource::new(
            Origin::Created,
            ResourceValues::RolePolicy {
                role: "web-pipeline-role".into(),
                name: "ecs-bluegreen-prod-web".into(),
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codedeploy:CreateDeployment"],"Resource":"*"}]}"#.into(),
            },
        ));
        resources.push(LiveResource::new(
            Origin::Changed,
            ResourceValues::Pipeline(Box::new(PipelineValues {
                name: "web-pipeline".into(),
                role_arn: format!("arn:aws:iam::{ACCOUNT}:role/web-pipeline-role"),
                artifact_stores: vec![ArtifactStoreValues { location: "web-artifacts".into(), r#type: "S3".into(), ..Default::default() }],
                stages: vec![StageValues {
                    name: "Deploy".into(),
                    actions: vec![ActionValues {
                        name: "Deploy".into(),
                        category: "Deploy".into(),
                        owner: "AWS".into(),
                        provider: "CodeDeployToECS".into(),
                        version: "1".into(),
                        configuration: [("ApplicationName", "prod-web"), ("DeploymentGroupName", "web-bluegreen"), ("TaskDefinitionTemplatePath", "taskdef.json")]
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .into(),
                        input_artifacts: vec!["BuildOutput".into()],
                        run_order: Some(1),
                        ..Default::default()
                    }],
                }],
                ..Default::default()
            })),
        ));
        HandOff {
            migration_id: "prod/web".into(),
            cluster: "prod".into(),
            service: "web".into(),
            target: Target::Codedeploy,
            end: RunEnd::Applied,
            resources,
            removed: vec![],
        }
    }

    /// Rolling → ECS-native blue/green, green at weight 0 on the production listener.
    fn native() -> HandOff {
        let both = vec![
            WeightedTargetGroup { target_group_arn: BLUE.into(), weight: 100 },
            WeightedTargetGroup { target_group_arn: GREEN.into(), weight: 0 },
        ];
        let mut resources = vec![green(), listener(PROD, 80, both, true)];
        resources.extend(role("prod-web-ecs-infra", "ecs.amazonaws.com", "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"));
        let config = DeploymentConfigurationDef {
            maximum_percent: Some(200),
            minimum_healthy_percent: Some(100),
            circuit_breaker: Some((true, true)),
            strategy: Some("BLUE_GREEN".into()),
            bake_time_in_minutes: Some(5),
            ..Default::default()
        };
        let advanced = AdvancedConfigurationDef {
            alternate_target_group_arn: Some(GREEN.into()),
            production_listener_rule: Some(format!("{}/9683b2d02a6cabee", PROD.replace(":listener/", ":listener-rule/"))),
            test_listener_rule: None,
            role_arn: Some(format!("arn:aws:iam::{ACCOUNT}:role/prod-web-ecs-infra")),
        };
        resources.push(service("ECS", Origin::Changed, config, Some(advanced)));
        HandOff { target: Target::EcsNative, resources, ..codedeploy() }
    }

    /// The CodeDeploy migration, rolled back.
    fn rolled_back() -> HandOff {
        let removed = super::super::live::rolled_back(&[
            crate::journal::Effect::TargetGroupCreated { name: "web-tg-1-green".into(), arn: Some(GREEN.into()) },
            crate::journal::Effect::ListenerCreated { load_balancer_arn: LB.into(), port: 8080, arn: Some(TEST.into()) },
            crate::journal::Effect::RoleCreated {
                name: "prod-web-codedeploy".into(),
                policy_arn: "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS".into(),
            },
            crate::journal::Effect::ApplicationCreated { name: "prod-web".into() },
            crate::journal::Effect::ServiceCreated { cluster: "prod".into(), name: "web-bridge".into(), controller: "ECS".into() },
            crate::journal::Effect::DeploymentGroupCreated { application: "prod-web".into(), name: "web-bluegreen".into() },
            crate::journal::Effect::ServiceCreated { cluster: "prod".into(), name: "web".into(), controller: "CODE_DEPLOY".into() },
        ], "web");
        HandOff { end: RunEnd::RolledBack, resources: vec![], removed, ..codedeploy() }
    }

    fn golden_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/iac")
    }

    fn golden(name: &str, actual: &str) {
        let path = golden_dir().join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
        if expected != actual {
            let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
            let i = (0..e.len().max(a.len())).find(|i| e.get(*i) != a.get(*i)).unwrap_or(0);
            panic!("{} differs from line {} (UPDATE_GOLDEN=1 rewrites it):\n  - {:?}\n  + {:?}", path.display(), i + 1, e.get(i), a.get(i));
        }
    }

    fn goldens(dir: &str, files: &TerraformFiles) {
        for (name, content) in [("imports.tf", &files.imports), ("resources.tf", &files.resources), ("removed.tf", &files.removed), ("README.md", &files.readme)] {
            golden(&format!("{dir}/{name}"), content);
        }
    }

    /// `(type, name, id)` of each import block, parsed back with hcl-rs.
    fn parsed_imports(text: &str) -> Vec<(String, String)> {
        let body = hcl::parse(text).expect("imports.tf parses");
        body.blocks()
            .map(|b| {
                assert_eq!(b.identifier(), "import");
                let attrs: BTreeMap<&str, &Expression> = b.body().attributes().map(|a| (a.key(), a.expr())).collect();
                let to = match attrs["to"] {
                    Expression::Traversal(t) => hcl::format::to_string(&**t).unwrap(),
                    other => panic!("to is not an address: {other:?}"),
                };
                let Expression::String(id) = attrs["id"] else { panic!("id is not a string") };
                (to, id.clone())
            })
            .collect()
    }

    /// Runs `terraform fmt -check` on `files` when `terraform` is on PATH; says so otherwise.
    fn terraform_fmt_check(label: &str, files: &TerraformFiles) {
        let dir = std::env::temp_dir().join(format!("ebg-iac-fmt-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        files.write_to(&dir).unwrap();
        match std::process::Command::new("terraform").args(["fmt", "-check", "-diff"]).current_dir(&dir).output() {
            Ok(out) => assert!(
                out.status.success(),
                "terraform fmt -check fails on the {label} hand-off:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("SKIPPED: terraform is not on PATH, so `terraform fmt -check` did not run on the {label} hand-off")
            }
            Err(e) => panic!("terraform: {e}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn codedeploy_hand_off_matches_its_golden_files_and_terraform_fmt() {
        let files = render(&codedeploy(), &AddressMap::new()).unwrap();
        goldens("codedeploy", &files);
        let imports = parsed_imports(&files.imports);
        let want = [
            ("aws_lb_target_group.web_tg_1_green", GREEN.to_owned()),
            ("aws_lb_listener.test_8080", TEST.to_owned()),
            ("aws_iam_role.prod_web_codedeploy", "prod-web-codedeploy".to_owned()),
            (
                "aws_iam_role_policy_attachment.prod_web_codedeploy_awscodedeployroleforecs",
                "prod-web-codedeploy/arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS".to_owned(),
            ),
            ("aws_codedeploy_app.prod_web", "prod-web".to_owned()),
            ("aws_ecs_service.web", "prod/web".to_owned()),
            ("aws_appautoscaling_target.web", "ecs/service/prod/web/ecs:service:DesiredCount".to_owned()),
            ("aws_appautoscaling_policy.web_scale_out", "ecs/service/prod/web/ecs:service:DesiredCount/web-scale-out".to_owned()),
            ("aws_codedeploy_deployment_group.web_bluegreen", "prod-web:web-bluegreen".to_owned()),
            ("aws_iam_role_policy.web_pipeline_role_ecs_bluegreen_prod_web", "web-pipeline-role:ecs-bluegreen-prod-web".to_owned()),
            ("aws_codepipeline.web_pipeline", "web-pipeline".to_owned()),
        ];
        assert_eq!(imports, want.clone().map(|(a, i)| (a.to_owned(), i)));
        // Every import has its resource block, and the service the blue/green settings.
        let resources = hcl::parse(&files.resources).expect("resources.tf parses");
        let declared: Vec<String> = resources.blocks().map(|b| format!("{}.{}", b.labels()[0].as_str(), b.labels()[1].as_str())).collect();
        assert_eq!(declared, want.map(|(a, _)| a.to_owned()));
        let svc = resources.blocks().find(|b| b.labels()[0].as_str() == "aws_ecs_service").unwrap();
        let controller = svc.body().blocks().find(|b| b.identifier() == "deployment_controller").unwrap();
        assert_eq!(controller.body().attributes().next().map(|a| a.expr().clone()), Some(Expression::String("CODE_DEPLOY".into())));
        let lifecycle = hcl::format::to_string(svc.body().blocks().find(|b| b.identifier() == "lifecycle").unwrap()).unwrap();
        assert!(lifecycle.contains("task_definition") && lifecycle.contains("load_balancer") && lifecycle.contains("desired_count"), "{lifecycle}");
        assert!(files.removed.is_empty());
        terraform_fmt_check("codedeploy", &files);
    }

    #[test]
    fn native_hand_off_keeps_the_strategy_and_ignores_the_production_weights() {
        let files = render(&native(), &AddressMap::new()).unwrap();
        goldens("native", &files);
        let resources = hcl::parse(&files.resources).expect("resources.tf parses");
        let prod = resources.blocks().find(|b| b.labels()[0].as_str() == "aws_lb_listener").unwrap();
        assert_eq!(prod.labels()[1].as_str(), "production_80");
        let lifecycle = hcl::format::to_string(prod.body().blocks().find(|b| b.identifier() == "lifecycle").unwrap()).unwrap();
        assert!(lifecycle.contains("default_action"), "{lifecycle}");
        let svc = hcl::format::to_string(resources.blocks().find(|b| b.labels()[0].as_str() == "aws_ecs_service").unwrap()).unwrap();
        for wanted in ["strategy", "BLUE_GREEN", "bake_time_in_minutes", "advanced_configuration", "alternate_target_group_arn", "production_listener_rule"] {
            assert!(svc.contains(wanted), "{wanted} missing:\n{svc}");
        }
        terraform_fmt_check("native", &files);
    }

    #[test]
    fn a_rolled_back_hand_off_has_removed_blocks_only() {
        let files = render(&rolled_back(), &AddressMap::new()).unwrap();
        goldens("rolled-back", &files);
        assert!(files.imports.is_empty() && files.resources.is_empty());
        let body = hcl::parse(&files.removed).expect("removed.tf parses");
        let from: Vec<String> = body
            .blocks()
            .map(|b| {
                assert_eq!(b.identifier(), "removed");
                let lifecycle = hcl::format::to_string(b.body().blocks().next().unwrap()).unwrap();
                assert!(lifecycle.contains("destroy = false"), "{lifecycle}");
                match b.body().attributes().next().unwrap().expr() {
                    Expression::Traversal(t) => hcl::format::to_string(&**t).unwrap(),
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        // The bridge service was the run's, on ECS, and gone before the rollback; the service
        // recreated under its own name is the restored original again: no block for either.
        assert_eq!(
            from,
            [
                "aws_lb_target_group.web_tg_1_green",
                "aws_lb_listener.test_8080",
                "aws_iam_role.prod_web_codedeploy",
                "aws_iam_role_policy_attachment.prod_web_codedeploy_awscodedeployroleforecs",
                "aws_codedeploy_app.prod_web",
                "aws_codedeploy_deployment_group.web_bluegreen",
            ]
        );
        terraform_fmt_check("rolled-back", &files);
    }

    #[test]
    fn the_address_map_moves_imports_and_takes_module_resources_out_of_resources_tf() {
        let mut map = AddressMap::new();
        map.insert(Address::resource("aws_ecs_service", "web"), Address::parse("module.svc.aws_ecs_service.this").unwrap()).unwrap();
        map.insert(Address::resource("aws_lb_target_group", "web_tg_1_green"), Address::resource("aws_lb_target_group", "green")).unwrap();
        let files = render(&codedeploy(), &map).unwrap();
        let imports = parsed_imports(&files.imports);
        assert!(imports.contains(&("module.svc.aws_ecs_service.this".to_owned(), "prod/web".to_owned())), "{imports:?}");
        assert!(imports.contains(&("aws_lb_target_group.green".to_owned(), GREEN.to_owned())), "{imports:?}");
        let resources = hcl::parse(&files.resources).unwrap();
        let labels: Vec<String> = resources.blocks().map(|b| format!("{}.{}", b.labels()[0].as_str(), b.labels()[1].as_str())).collect();
        assert!(labels.contains(&"aws_lb_target_group.green".to_owned()) && !labels.iter().any(|l| l.starts_with("aws_ecs_service")), "{labels:?}");
        assert!(files.readme.contains("`module.svc.aws_ecs_service.this`:") && files.readme.contains("deployment_controller"), "{}", files.readme);

        let mut typo = AddressMap::new();
        typo.insert(Address::resource("aws_ecs_service", "webb"), Address::resource("aws_ecs_service", "x")).unwrap();
        let e = render(&codedeploy(), &typo).unwrap_err();
        assert!(e.to_string().contains("aws_ecs_service.webb") && e.to_string().contains("aws_ecs_service.web"), "{e}");
    }
}
