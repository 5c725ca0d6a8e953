//! Human rendering of a plan, in the spirit of `terraform plan`.
//!
//! Only identifiers and settings are printed; the task definition (where secrets live) is not.

use std::fmt::{self, Display, Formatter, Write as _};

use super::StepId;
use super::{Action, ChangeDetail, Plan, TestRoute};
use crate::inventory::ServiceDefinition;

fn symbol(a: Action) -> &'static str {
    match a {
        Action::Create => "+",
        Action::Update => "~",
        Action::Replace => "-/+",
        Action::Delete => "-",
        Action::NoOp => "=",
    }
}

fn verb(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::NoOp => "unchanged",
    }
}

struct Fields<'a, 'b> {
    f: &'a mut Formatter<'b>,
    rows: Vec<(String, String)>,
}

impl Fields<'_, '_> {
    fn row(&mut self, k: impl Into<String>, v: impl Display) -> &mut Self {
        self.rows.push((k.into(), v.to_string()));
        self
    }
    fn opt<T: Display>(&mut self, k: &str, v: Option<T>) -> &mut Self {
        if let Some(v) = v {
            self.row(k, v);
        }
        self
    }
    fn finish(&mut self) -> fmt::Result {
        let width = self.rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in &self.rows {
            writeln!(self.f, "        {k:width$} = {v}")?;
        }
        Ok(())
    }
}

fn fields<'a, 'b>(f: &'a mut Formatter<'b>) -> Fields<'a, 'b> {
    Fields { f, rows: Vec::new() }
}

/// Leaf-by-leaf differences between two service definitions, as `(path, "a -> b")` rows.
/// Runtime state and the settings reported as dropped are left out.
fn service_diff(from: &ServiceDefinition, to: &ServiceDefinition) -> Vec<(String, String)> {
    const SKIP: [&str; 7] = [
        "scaling",
        "deployments",
        "task_set_count",
        "running_count",
        "arn",
        "deployment_configuration.circuit_breaker",
        "deployment_configuration.alarms",
    ];
    fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<(String, String)>) {
        if SKIP.contains(&path) || a == b {
            return;
        }
        match (a, b) {
            (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    let null = serde_json::Value::Null;
                    walk(&p, x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null), out);
                }
            }
            _ => out.push((path.to_owned(), format!("{a} -> {b}"))),
        }
    }
    let mut out = Vec::new();
    let a = serde_json::to_value(from).unwrap_or_default();
    let b = serde_json::to_value(to).unwrap_or_default();
    walk("", &a, &b, &mut out);
    out
}

impl Display for Plan {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let target = match self.target {
            crate::spec::Target::EcsNative => "ECS-native blue/green, in place",
            crate::spec::Target::Rolling => "rolling updates, in place",
            _ => "CodeDeploy blue/green",
        };
        writeln!(f, "Migration {} of service {} (cluster {}) to {target}", self.migration_id, self.service, self.cluster)?;
        if self.already_migrated && self.target == crate::spec::Target::Rolling {
            writeln!(f, "The service already uses rolling updates.")?;
        } else if self.already_migrated {
            writeln!(f, "The service is already migrated to an identical blue/green setup.")?;
        }
        writeln!(f)?;
        for c in &self.changes {
            let sym = symbol(c.action);
            let v = verb(c.action);
            match &c.detail {
                ChangeDetail::GreenTargetGroup { settings: s, blue_name } => {
                    writeln!(f, "  {sym} {v} target group {} (clone of {blue_name})", s.name)?;
                    let mut w = fields(f);
                    w.row("arn", &s.arn)
                        .opt("protocol", s.protocol.as_ref())
                        .opt("protocol_version", s.protocol_version.as_ref())
                        .opt("port", s.port)
                        .opt("vpc_id", s.vpc_id.as_ref())
                        .opt("target_type", s.target_type.as_ref())
                        .opt("ip_address_type", s.ip_address_type.as_ref())
                        .opt("health_check_protocol", s.health_check_protocol.as_ref())
                        .opt("health_check_port", s.health_check_port.as_ref())
                        .opt("health_check_path", s.health_check_path.as_ref())
                        .opt("health_check_interval", s.health_check_interval_seconds)
                        .opt("health_check_timeout", s.health_check_timeout_seconds)
                        .opt("healthy_threshold", s.healthy_threshold_count)
                        .opt("unhealthy_threshold", s.unhealthy_threshold_count)
                        .opt("matcher", s.matcher_http_code.as_ref().or(s.matcher_grpc_code.as_ref()));
                    for (k, val) in &s.attributes {
                        w.row(format!("attribute {k}"), val);
                    }
                    for (k, val) in &s.tags {
                        w.row(format!("tag {k}"), val);
                    }
                    w.finish()?;
                }
                ChangeDetail::TestListener { load_balancer_arn, route, .. } => match route {
                    TestRoute::Listener { port, protocol, arn, target_group, tls } => {
                        writeln!(f, "  {sym} {v} test listener {protocol}:{port} -> {target_group}")?;
                        let mut rows = fields(f);
                        rows.row("arn", arn).row("load_balancer", load_balancer_arn);
                        if let Some(t) = tls {
                            rows.row("ssl_policy", t.ssl_policy.as_deref().unwrap_or("-"))
                                .row("certificate", t.certificate_arn.as_deref().unwrap_or("-"));
                            if !t.additional_certificates.is_empty() {
                                rows.row("additional_certificates", t.additional_certificates.join(", "));
                            }
                        }
                        rows.finish()?;
                    }
                    TestRoute::ProductionWeightZero { listener_arn, before, actions } => {
                        if c.action == Action::NoOp {
                            writeln!(f, "  {sym} {v} production listener (the green target group is attached)")?;
                        } else {
                            writeln!(f, "  {sym} {v} production listener: add the green target group at weight 0")?;
                        }
                        let now: Vec<String> =
                            before.iter().map(|t| format!("{}@{}", t.target_group_arn, t.weight)).collect();
                        let kept: Vec<&str> = actions.iter().filter(|a| a.r#type != "forward").map(|a| a.r#type.as_str()).collect();
                        let mut rows = fields(f);
                        rows.row("listener", listener_arn).row("forward now", now.join(", "));
                        if !kept.is_empty() {
                            rows.row("actions kept", kept.join(", "));
                        }
                        rows.finish()?;
                    }
                },
                ChangeDetail::ServiceRole { name, arn, adopted, trust_policy, managed_policy_arn, .. } => {
                    if *adopted {
                        writeln!(f, "  {sym} adopt IAM role {name} (never modified or deleted)")?;
                        fields(f).row("arn", arn).finish()?;
                    } else {
                        writeln!(f, "  {sym} {v} IAM role {name}")?;
                        fields(f)
                            .row("arn", arn)
                            .row("trust_policy", trust_policy)
                            .row("managed_policy", managed_policy_arn)
                            .finish()?;
                    }
                }
                ChangeDetail::Application { name, .. } => {
                    writeln!(f, "  {sym} {v} CodeDeploy application {name}")?;
                    fields(f).row("compute_platform", "ECS").finish()?;
                }
                ChangeDetail::DeploymentGroup(d) => {
                    writeln!(f, "  {sym} {v} deployment group {}/{}", d.application, d.name)?;
                    let events: Vec<&str> = d.auto_rollback_events.iter().map(|e| e.as_str()).collect();
                    let mut w = fields(f);
                    w.row("service", format!("{}/{}", d.cluster, d.service))
                        .row("service_role", &d.service_role_arn)
                        .row("deployment_config", &d.deployment_config)
                        .row("deployment_style", "BLUE_GREEN / WITH_TRAFFIC_CONTROL")
                        .row("target_groups", d.target_groups.join(", "))
                        .row("production_listener", &d.prod_listener_arn)
                        .row("test_listener", d.test_listener_arn.as_deref().unwrap_or("(none)"))
                        .row("auto_rollback", events.join(", "))
                        .row(
                            "deployment_ready",
                            d.ready_wait.map_or("continue at once".to_owned(), |w| {
                                format!("wait up to {} min for a go-ahead", w.get())
                            }),
                        )
                        .row("blue_termination", format!("{} min after success", d.termination_wait.get()));
                    if !d.alarms.is_empty() {
                        w.row("alarms", d.alarms.join(", "));
                    }
                    w.finish()?;
                }
                ChangeDetail::ServiceCutover { from, to, .. } if c.action == Action::NoOp => {
                    writeln!(f, "  {sym} {v} ECS service {} ({})", to.name, from.deployment_controller)?;
                }
                ChangeDetail::ServiceCutover { strategy, from, to, bridge_name, dropped, drain_deadline_secs } => {
                    let downtime = if strategy.has_downtime() { "WITH DOWNTIME" } else { "no downtime" };
                    writeln!(
                        f,
                        "  {sym} {v} ECS service {} -> {} (controller ECS -> CODE_DEPLOY, cutover {}, {downtime})",
                        from.name,
                        to.name,
                        strategy.as_str()
                    )?;
                    let mut w = fields(f);
                    if let Some(b) = bridge_name {
                        w.row("bridge_service", format!("{b} (temporary, removed at the end)"));
                    }
                    for (k, d) in service_diff(from, to) {
                        w.row(k, d);
                    }
                    w.row("task_definition", from.task_definition.as_deref().unwrap_or("?"))
                        .row("desired_count", from.desired_count);
                    for d in dropped {
                        w.row(format!("drop {}", d.field), &d.reason);
                    }
                    if let Some(secs) = drain_deadline_secs {
                        w.row("drain_wait", format!("up to {secs}s for each deleted service to become INACTIVE"));
                    }
                    w.finish()?;
                }
                ChangeDetail::PipelineDeployAction { pipeline, stage, before, after } => {
                    writeln!(f, "  {sym} {v} pipeline {pipeline}: action {stage}/{}", before.name)?;
                    let mut w = fields(f);
                    if before.provider != after.provider {
                        w.row("provider", format!("{:?} -> {:?}", before.provider, after.provider));
                    }
                    let keys: std::collections::BTreeSet<&String> =
                        before.configuration.keys().chain(after.configuration.keys()).collect();
                    for k in keys {
                        let (a, b) = (before.configuration.get(k), after.configuration.get(k));
                        if a != b {
                            let show = |x: Option<&String>| x.map_or("(none)".to_owned(), |s| format!("{s:?}"));
                            w.row(format!("configuration.{k}"), format!("{} -> {}", show(a), show(b)));
                        }
                    }
                    w.row("input_artifacts", after.input_artifacts.join(", "));
                    w.finish()?;
                }
                ChangeDetail::ServiceScaling { cluster, service, scaling } => {
                    writeln!(f, "  {sym} {v} auto scaling of ECS service {service} (deleting the original deregisters it)")?;
                    let t = &scaling.target;
                    let mut w = fields(f);
                    w.row("scalable_target", format!("service/{cluster}/{service} min {} max {}", t.min_capacity, t.max_capacity));
                    let suspended: Vec<&str> = [
                        (t.dynamic_scaling_in_suspended, "dynamic scale-in"),
                        (t.dynamic_scaling_out_suspended, "dynamic scale-out"),
                        (t.scheduled_scaling_suspended, "scheduled scaling"),
                    ]
                    .into_iter()
                    .filter_map(|(on, what)| on.then_some(what))
                    .collect();
                    if !suspended.is_empty() {
                        w.row("suspended", suspended.join(", "));
                    }
                    for p in &scaling.policies {
                        let detail = match (&p.target_tracking, &p.step) {
                            (Some(tt), _) => format!(
                                "target tracking {} = {}",
                                tt.predefined_metric
                                    .as_ref()
                                    .map(|(m, _)| m.clone())
                                    .or_else(|| tt.customized_metric.as_ref().and_then(|m| m.metric_name.clone()))
                                    .unwrap_or_else(|| "?".to_owned()),
                                tt.target_value
                            ),
                            (None, Some(st)) => format!(
                                "step scaling {}, {} step(s)",
                                st.adjustment_type.as_deref().unwrap_or("?"),
                                st.step_adjustments.len()
                            ),
                            (None, None) => p.policy_type.clone(),
                        };
                        w.row(format!("policy {}", p.name), detail);
                    }
                    for a in &scaling.scheduled_actions {
                        let cap = |c: Option<i32>| c.map_or("-".to_owned(), |n| n.to_string());
                        w.row(format!("scheduled {}", a.name), format!("{} min {} max {}", a.schedule, cap(a.min_capacity), cap(a.max_capacity)));
                    }
                    for a in &scaling.alarms {
                        w.row(format!("alarm {}", a.name), "re-pointed to the new step policy ARN (previous actions journaled)");
                    }
                    w.finish()?;
                }
                ChangeDetail::NativeLoadBalancer(n) => {
                    writeln!(f, "  {sym} {v} ECS service {}: load balancer advancedConfiguration (a rolling deployment, waited for)", n.service)?;
                    let mut w = fields(f);
                    w.row("target_group", n.after.target_group_arn.as_deref().unwrap_or("-"));
                    if let Some(a) = &n.after.advanced_configuration {
                        w.row("alternate_target_group", format!("{} ({})", a.alternate_target_group_arn.as_deref().unwrap_or("-"), n.green_name))
                            .row(if n.network { "production_listener" } else { "production_listener_rule" }, a.production_listener_rule.as_deref().unwrap_or("-"))
                            .row(if n.network { "test_listener" } else { "test_listener_rule" }, a.test_listener_rule.as_deref().unwrap_or("(none)"))
                            .row("role", a.role_arn.as_deref().unwrap_or("-"));
                    }
                    w.row("service", "kept in place (same ARN, no recreation, controller ECS)");
                    w.finish()?;
                }
                ChangeDetail::NativeStrategy { service, before, after, kept, .. } => {
                    let from = before.as_ref().and_then(|b| b.strategy.as_deref()).unwrap_or("ROLLING");
                    writeln!(f, "  {sym} {v} ECS service {service}: deployment strategy {from} -> {}", after.strategy.as_deref().unwrap_or("-"))?;
                    let mut w = fields(f);
                    w.opt("bake_time_in_minutes", after.bake_time_in_minutes);
                    if let Some(l) = &after.linear {
                        w.opt("linear.step_percent", l.percent).opt("linear.step_bake_time_in_minutes", l.bake_time_in_minutes);
                    }
                    if let Some(c) = &after.canary {
                        w.opt("canary.canary_percent", c.percent).opt("canary.canary_bake_time_in_minutes", c.bake_time_in_minutes);
                    }
                    for k in kept {
                        w.row(format!("keep {}", k.field), &k.reason);
                    }
                    w.finish()?;
                }
                ChangeDetail::RollingStrategy { service, before, after, dropped, .. } => {
                    let from = before.as_ref().and_then(|b| b.strategy.as_deref()).unwrap_or("ROLLING");
                    writeln!(f, "  {sym} {v} ECS service {service}: deployment strategy {from} -> ROLLING (no deployment)")?;
                    let mut w = fields(f);
                    w.opt("maximum_percent", after.maximum_percent).opt("minimum_healthy_percent", after.minimum_healthy_percent);
                    if let Some((enable, rollback)) = after.circuit_breaker {
                        w.row("keep deploymentCircuitBreaker", format!("enable {enable}, rollback {rollback}"));
                    }
                    if let Some(a) = &after.alarms {
                        w.row("keep alarms", a.alarm_names.join(", "));
                    }
                    for d in dropped {
                        w.row(format!("drop {}", d.field), &d.reason);
                    }
                    w.finish()?;
                }
                ChangeDetail::RollingLoadBalancer(r) => {
                    writeln!(f, "  {sym} {v} ECS service {}: load balancer entry without advancedConfiguration (a rolling deployment, waited for)", r.service)?;
                    let mut w = fields(f);
                    w.row("target_group", format!("{} ({}, serves production now)", r.after.target_group_arn.as_deref().unwrap_or("-"), r.serving_name));
                    if let Some(rule) = &r.production_listener_rule {
                        w.row("weights_read_from", rule);
                    }
                    for k in &r.kept {
                        w.row(format!("keep {}", k.field), &k.reason);
                    }
                    w.row("service", "kept in place (same ARN, no recreation, controller ECS)");
                    w.finish()?;
                }
                ChangeDetail::PipelineRolePolicy { role_name, policy_name, grants, .. } => {
                    writeln!(f, "  {sym} {v} inline policy {policy_name} on pipeline role {role_name}")?;
                    let mut by_resource: std::collections::BTreeMap<String, Vec<&str>> = std::collections::BTreeMap::new();
                    for g in grants {
                        let when: Vec<String> = g.context.iter().map(|(k, v)| format!(" if {k} = {v}")).collect();
                        by_resource.entry(format!("{}{}", g.resource, when.concat())).or_default().push(g.action.as_str());
                    }
                    let mut w = fields(f);
                    for (resource, actions) in by_resource {
                        w.row(format!("allow {}", actions.join(", ")), resource);
                    }
                    w.finish()?;
                }
                ChangeDetail::DeploymentGroupRemoval(d) => {
                    writeln!(f, "  {sym} {v} CodeDeploy deployment group {}/{} (recreated on rollback)", d.application, d.name)?;
                    let mut w = fields(f);
                    w.row("deployment_config", d.deployment_config.name())
                        .row("target_groups", d.target_groups.join(", "))
                        .row("termination_wait_minutes", d.termination_wait.get().to_string());
                    w.finish()?;
                }
                ChangeDetail::ApplicationRemoval { name, .. } => {
                    writeln!(f, "  {sym} {v} CodeDeploy application {name} (recreated on rollback)")?;
                }
                ChangeDetail::ControllerSwitch(s) => {
                    let strategy = s.deployment_configuration.strategy.as_deref().unwrap_or("ROLLING");
                    writeln!(f, "  {sym} {v} ECS service {}: deployment controller CODE_DEPLOY -> ECS, strategy {strategy} (one UpdateService, a deployment waited for)", s.service)?;
                    let mut w = fields(f);
                    w.row("strategy_from", &s.strategy_source).opt("bake_time_in_minutes", s.deployment_configuration.bake_time_in_minutes);
                    if let Some(l) = &s.deployment_configuration.linear {
                        w.opt("linear.step_percent", l.percent).opt("linear.step_bake_time_in_minutes", l.bake_time_in_minutes);
                    }
                    if let Some(c) = &s.deployment_configuration.canary {
                        w.opt("canary.canary_percent", c.percent).opt("canary.canary_bake_time_in_minutes", c.bake_time_in_minutes);
                    }
                    for lb in &s.load_balancers {
                        w.row("target_group", lb.target_group_arn.as_deref().unwrap_or("-"));
                        if let Some(a) = &lb.advanced_configuration {
                            w.row("alternate_target_group", a.alternate_target_group_arn.as_deref().unwrap_or("-"))
                                .row("production_listener_rule", a.production_listener_rule.as_deref().unwrap_or("-"))
                                .row("test_listener_rule", a.test_listener_rule.as_deref().unwrap_or("(none)"))
                                .row("role", a.role_arn.as_deref().unwrap_or("-"));
                        }
                    }
                    w.row("service", "kept in place (same ARN); a rollback recreates it on CODE_DEPLOY (a new ARN)");
                    w.finish()?;
                }
                ChangeDetail::Custom(custom) => {
                    writeln!(f, "  {sym} {v} {} ({}: {})", custom.summary(), c.step, custom.kind())?;
                    if !c.depends_on.is_empty() {
                        let deps: Vec<&str> = c.depends_on.iter().map(StepId::as_str).collect();
                        let mut w = fields(f);
                        w.row("after", deps.join(", "));
                        w.finish()?;
                    }
                }
            }
        }
        let (create, update, replace, delete, noop) = self.counts();
        writeln!(
            f,
            "\nPlan: {create} to create, {update} to update, {replace} to replace, {delete} to delete, {noop} unchanged."
        )?;
        if !self.notes.is_empty() {
            writeln!(f, "\nNotes:")?;
            for n in &self.notes {
                writeln!(f, "  - {n}")?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(f, "\nWarnings:")?;
            for w in &self.warnings {
                let mut line = String::new();
                let _ = write!(line, "  ! {w}");
                writeln!(f, "{line}")?;
            }
        }
        Ok(())
    }
}
