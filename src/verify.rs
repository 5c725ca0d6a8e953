//! Verification: a read-only check, end to end, that a migrated service is ready for
//! CodeDeploy blue/green, with a reason and a fix for every failure.
//!
//! [`verify`] reads the same [`Inventory`] as [`crate::discover::discover`], plus what the plan
//! does not need (both target groups of the deployment group, the role's trust policy and
//! attached policies, listeners outside the service's load balancer, the latest revision of the
//! task definition family). Before a migration (the service still on the `ECS` controller) it
//! reports what the plan would refuse instead.
//!
//! Check names (stable, see [`Check::name`]): `service`, `deployment-group`, `target-groups`,
//! `production-listener`, `test-listener`, `role`, `role-policy`, `pipeline`, `pipeline-role`
//! (once the Deploy action is `CodeDeployToECS`), `task-definition`, `scaling` (when the service
//! scales, or the journal's plan carried scaling); before a migration also `plan` and `plan: <refusal-kind>`; on a half-migrated
//! service ([`verify_with_journal`]) first `run`.
//!
//! For a migration to ECS-native blue/green ([`Target::EcsNative`](crate::spec::Target)) the
//! checks are those of that target: `service`, `deployment-configuration`,
//! `advanced-configuration`, `target-groups`, `production-rule`, `test-rule`, `rule-targets`,
//! `role`, `role-policy` (the infrastructure role), `pipeline` (its `ECS` action),
//! `task-definition`, `scaling`.

mod native;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::AwsClients;
use crate::discover::{TgLookup, alarms_naming_policies_of, code_is, describe_scaling, describe_target_group, discover};
use crate::error::{Result, SdkResultExt};
use crate::inventory::{
    Inventory, ListenerInfo, OWNERSHIP_TAG, PipelineRoleInfo, RoleCheck, RouteProblem, ServiceScaling, TargetGroupInfo,
    no_forward_message, policy_arn_parts, scaling_resource_id,
};
use crate::journal::{JournalStatus, Record};
use crate::spec::Migration;

/// Managed policies that let CodeDeploy run ECS blue/green deployments.
const CODEDEPLOY_POLICIES: [&str; 2] = ["AWSCodeDeployRoleForECS", "AWSCodeDeployRoleForECSLimited"];

/// One verified property of the setup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable name of the check (`service`, `deployment-group`, `target-groups`, ...).
    pub name: String,
    /// Whether the property holds.
    pub passed: bool,
    /// Why it failed (or, for some passed checks, what was found).
    pub reason: Option<String>,
    /// What to change, when it failed.
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &str) -> Self {
        Self { name: name.to_owned(), passed: true, reason: None, fix: None }
    }
    fn fail(name: &str, reason: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { name: name.to_owned(), passed: false, reason: Some(reason.into()), fix: Some(fix.into()) }
    }
    /// A check that passes when `problems` is empty, else fails with them joined.
    fn from_problems(name: &str, problems: Vec<String>, fix: impl Into<String>) -> Self {
        if problems.is_empty() { Self::ok(name) } else { Self::fail(name, problems.join("; "), fix) }
    }
}

/// Every check [`verify`] ran, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }
    /// The check named `name`, if it ran.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            if c.passed {
                write!(f, "[ok]   {}", c.name)?;
                if let Some(r) = &c.reason {
                    write!(f, ": {r}")?;
                }
            } else {
                write!(f, "[FAIL] {}: {}", c.name, c.reason.as_deref().unwrap_or("failed"))?;
                if let Some(fix) = &c.fix {
                    write!(f, " — {fix}")?;
                }
            }
            writeln!(f)?;
        }
        let passed = self.checks.iter().filter(|c| c.passed).count();
        if self.passed() {
            writeln!(f, "All {passed} checks passed: the service is ready for blue/green deployments.")
        } else {
            writeln!(f, "{passed} of {} checks passed.", self.checks.len())
        }
    }
}

/// Verifies, read-only, that `migration`'s service is set up for blue/green deployments of its
/// target (CodeDeploy, or ECS-native).
///
/// Never fails because a check fails: failures are in the [`Report`]. Before a migration
/// (service missing or not `CODE_DEPLOY`) the report holds the service check and what the
/// plan would refuse (each refusal a failed check), or a passed `plan` check.
///
/// # Errors
/// [`crate::Error::Aws`] when a read fails for another reason than a missing resource;
/// [`crate::Error::Validation`] when a derived name is invalid.
pub async fn verify(aws: &AwsClients, migration: &Migration) -> Result<Report> {
    let inv = discover(aws, migration).await?;
    // A large future (every target's checks): on the heap, as discovery's.
    Box::pin(verify_inventory(aws, migration, &inv, None)).await
}

/// [`verify`], knowing the journal of the migration's runs (`records`, read from `journal`,
/// the path or address shown in the advice). On a half-migrated service (the journal holds an
/// unfinished run or an incomplete rollback, or the account shows a cutover stopped halfway:
/// this migration's bridge service still serving) the report starts with a failed `run`
/// check advising `migrate resume` / `migrate rollback` with that journal, and no check
/// advises `migrate apply` (which an unfinished run refuses).
///
/// # Errors
/// As [`verify`].
pub async fn verify_with_journal(aws: &AwsClients, migration: &Migration, records: &[Record], journal: &str) -> Result<Report> {
    let inv = discover(aws, migration).await?;
    let mut report = Box::pin(verify_inventory(aws, migration, &inv, planned_scaling(records))).await?;
    if let Some(reason) = half_migrated(crate::journal::status(records), &inv, &migration.migration_id(), journal) {
        advise_resume_or_rollback(&mut report, migration, reason, journal);
    }
    Ok(report)
}

/// The scaling the last planned run carried (its `ServiceScaling` change): the final service's
/// name and the original's scaling as discovery read it.
fn planned_scaling(records: &[Record]) -> Option<(String, ServiceScaling)> {
    records.iter().rev().find_map(|r| match &r.entry {
        crate::journal::Entry::Begin { plan, .. } => Some(plan.change(crate::StepId::ServiceScaling).and_then(|c| match &c.detail {
            crate::plan::ChangeDetail::ServiceScaling { service, scaling, .. } => Some((service.clone(), scaling.clone())),
            _ => None,
        })),
        _ => None,
    })?
}

/// Why the migration looks half done, if it does: the journal's state, or this migration's
/// bridge service (controller `ECS`, carrying the ownership tag) still in the account.
fn half_migrated(status: JournalStatus, inv: &Inventory, migration_id: &str, journal: &str) -> Option<String> {
    match status {
        JournalStatus::Unfinished => return Some(format!("journal {journal} holds an unfinished run (interrupted, or stopped)")),
        JournalStatus::RollbackIncomplete => return Some(format!("journal {journal} holds a rollback that left resources behind")),
        _ => {}
    }
    let bridge = inv.existing.cutover_service.as_ref().filter(|s| {
        s.deployment_controller == "ECS" && s.tags.get(OWNERSHIP_TAG).is_some_and(|m| m == migration_id)
    })?;
    Some(format!(
        "service {} of this migration is still running: the cutover stopped halfway (journal {journal} is {})",
        bridge.name,
        match status {
            JournalStatus::Empty => "empty or elsewhere",
            JournalStatus::Applied => "applied",
            JournalStatus::RolledBack => "rolled back",
            _ => "unfinished",
        }
    ))
}

/// Puts a failed `run` check first and turns every "run `migrate apply`" advice into the
/// resume/rollback one.
fn advise_resume_or_rollback(report: &mut Report, migration: &Migration, reason: String, journal: &str) {
    let flags = format!("--cluster {} --service {} --journal {journal}", migration.cluster_name(), migration.service().as_str());
    let fix = format!("finish the migration with `migrate resume {flags}`, or undo it with `migrate rollback {flags}` (apply is refused until then)");
    for c in &mut report.checks {
        if c.fix.as_deref().is_some_and(|f| f.contains("migrate apply")) {
            c.fix = Some(format!("first {fix}"));
        }
    }
    report.checks.insert(0, Check::fail("run", format!("the migration is half done: {reason}"), fix));
}

async fn verify_inventory(
    aws: &AwsClients,
    migration: &Migration,
    inv: &Inventory,
    planned_scaling: Option<(String, ServiceScaling)>,
) -> Result<Report> {
    let mut checks = Vec::new();
    let service_name = migration.service().as_str();
    let cluster = migration.cluster_name();

    // 1. The service.
    let svc = match &inv.service {
        Some(s) if s.status == "ACTIVE" => s,
        other => {
            let reason = match other {
                Some(s) => format!("service {service_name} is {}, not ACTIVE", s.status),
                None => format!("service {service_name} was not found in cluster {cluster}"),
            };
            checks.push(Check::fail("service", reason, "check --cluster and --service (and the account and region)"));
            push_plan_checks(&mut checks, migration, inv);
            return Ok(Report { checks });
        }
    };
    if migration.target() == crate::spec::Target::EcsNative {
        return verify_native(aws, migration, inv, svc, planned_scaling).await;
    }
    if svc.deployment_controller != "CODE_DEPLOY" {
        checks.push(Check::fail(
            "service",
            format!("service {} uses the {} deployment controller, not CODE_DEPLOY: it is not migrated yet", svc.name, svc.deployment_controller),
            "run `migrate plan` to review the migration, then `migrate apply`",
        ));
        push_plan_checks(&mut checks, migration, inv);
        return Ok(Report { checks });
    }
    let tg_entries: Vec<_> = svc.load_balancers.iter().filter(|l| l.target_group_arn.is_some()).collect();
    let lb_entry = match (svc.load_balancers.len(), tg_entries.as_slice()) {
        (1, [one]) => {
            checks.push(Check::ok("service"));
            Some(*one)
        }
        (n, _) => {
            checks.push(Check::fail(
                "service",
                format!("service {} has {n} load balancer entries ({} with a target group); CODE_DEPLOY needs exactly one target group", svc.name, tg_entries.len()),
                "a CODE_DEPLOY service must have exactly one target group; recreate it with one",
            ));
            None
        }
    };
    let blue = inv.blue_target_group.as_ref();
    let blue_name = blue.map(|b| b.name.clone());

    // 2. The deployment group.
    let app_name = migration.application_spec()?.application_name().as_str().to_owned();
    let dg_name = migration.deployment_group_spec()?.deployment_group_name().as_str().to_owned();
    let dg = inv.existing.deployment_group.as_ref();
    let mut other_tg_name: Option<String> = None;
    match dg {
        None => checks.push(Check::fail(
            "deployment-group",
            format!("deployment group {app_name}/{dg_name} does not exist"),
            "run `migrate apply` to create it",
        )),
        Some(dg) => {
            let mut problems = Vec::new();
            if !dg.ecs_services.iter().any(|(c, s)| strip_cluster(c) == cluster && *s == svc.name) {
                let listed: Vec<String> = dg.ecs_services.iter().map(|(c, s)| format!("{c}/{s}")).collect();
                problems.push(format!(
                    "deployment group {app_name}/{dg_name} deploys [{}], not {cluster}/{}",
                    listed.join(", "),
                    svc.name
                ));
            }
            if dg.target_group_names.len() != 2 {
                problems.push(format!(
                    "deployment group {app_name}/{dg_name} names {} target groups ({}), not two",
                    dg.target_group_names.len(),
                    dg.target_group_names.join(", ")
                ));
            }
            match &blue_name {
                Some(b) if dg.target_group_names.contains(b) => {
                    other_tg_name = dg.target_group_names.iter().find(|n| *n != b).cloned();
                }
                Some(b) => problems.push(format!(
                    "deployment group {app_name}/{dg_name} names target groups [{}], not the service's {b}",
                    dg.target_group_names.join(", ")
                )),
                None => problems.push("the service's target group could not be read".to_owned()),
            }
            checks.push(Check::from_problems(
                "deployment-group",
                problems,
                "the deployment group must deploy this service with its target group and one other; delete it and run `migrate apply` again",
            ));
        }
    }

    // 3. The two target groups.
    if other_tg_name.is_none()
        && let Some(b) = &blue_name
    {
        other_tg_name = Some(migration.target_group_pair(b)?.green_name().as_str().to_owned());
    }
    let other = match &other_tg_name {
        Some(n) => describe_target_group(aws, TgLookup::Name(n)).await?,
        None => None,
    };
    let pair_arns: Vec<String> = blue.into_iter().chain(other.as_ref()).map(|t| t.arn.clone()).collect();
    let pair_names: Vec<String> = blue.into_iter().chain(other.as_ref()).map(|t| t.name.clone()).collect();
    match (blue, &other) {
        (None, _) => checks.push(Check::fail(
            "target-groups",
            format!("the service's target group {} does not exist", lb_entry.and_then(|l| l.target_group_arn.clone()).unwrap_or_default()),
            "recreate the target group, or the service with an existing one",
        )),
        (Some(_), None) => checks.push(Check::fail(
            "target-groups",
            format!("target group {} does not exist", other_tg_name.clone().unwrap_or_default()),
            "recreate it as a copy of the service's target group (same VPC, protocol, port, target type, health check)",
        )),
        (Some(b), Some(o)) => checks.push(Check::from_problems(
            "target-groups",
            target_group_differences(b, o),
            format!("make {} match {} (recreate it with the same settings; a target group's port cannot be changed)", o.name, b.name),
        )),
    }

    // 4. Listeners.
    let lb = inv.load_balancer.as_ref();
    let tg_label = |arn: &str| -> String {
        arn.split_once(":targetgroup/").and_then(|(_, r)| r.split('/').next()).unwrap_or(arn).to_owned()
    };
    let forwards_to_pair = |l: &ListenerInfo| -> std::result::Result<(), String> {
        let groups: Vec<&str> = pair_arns.iter().map(String::as_str).collect();
        match l.default_route(&groups) {
            Ok(()) => Ok(()),
            Err(RouteProblem::NoForward { rules }) => Err(no_forward_message(&rules)),
            Err(RouteProblem::Stray(stray)) => Err(format!(
                "its default action forwards to {}, not to one of the deployment group's target groups ({})",
                stray.iter().map(|a| tg_label(a)).collect::<Vec<_>>().join(", "),
                pair_names.join(", ")
            )),
        }
    };
    let prod_arns = dg.map(|d| d.prod_listener_arns.clone()).unwrap_or_default();
    let mut prod_ports = Vec::new();
    if dg.is_some() {
        let mut problems = Vec::new();
        if prod_arns.is_empty() {
            problems.push(format!("deployment group {app_name}/{dg_name} has no production listener"));
        }
        for arn in &prod_arns {
            match find_listener(aws, lb, arn).await? {
                Found::Here(l) => {
                    prod_ports.extend(l.port);
                    if let Err(e) = forwards_to_pair(l) {
                        problems.push(format!("production listener {} ({}): {e}", listener_label(l), arn));
                    }
                }
                Found::Elsewhere => problems.push(format!("production listener {arn} is not on the load balancer of the service's target group")),
                Found::Missing => problems.push(format!("production listener {arn} does not exist")),
            }
        }
        checks.push(Check::from_problems(
            "production-listener",
            problems,
            format!(
                "point the production listener's default action back at {} (aws elbv2 modify-listener --default-actions Type=forward,TargetGroupArn=...)",
                blue_name.clone().unwrap_or_else(|| "the service's target group".into())
            ),
        ));
    } else {
        checks.push(Check::fail("production-listener", "there is no deployment group naming a production listener", "run `migrate apply`"));
    }

    let test_arns = dg.map(|d| d.test_listener_arns.clone()).unwrap_or_default();
    let wanted_port = migration.test_listener_port().map(|p| i32::from(p.get()));
    if test_arns.is_empty() {
        if let (Some(_), Some(p)) = (dg, wanted_port) {
            checks.push(Check::fail(
                "test-listener",
                format!("deployment group {app_name}/{dg_name} has no test listener, but test listener port {p} was asked for"),
                "add the test listener to the deployment group, or leave --test-listener-port out",
            ));
        }
    } else {
        let mut problems = Vec::new();
        for arn in &test_arns {
            match find_listener(aws, lb, arn).await? {
                Found::Here(l) => {
                    if l.port.is_some_and(|p| prod_ports.contains(&p)) {
                        problems.push(format!("test listener {arn} uses the production port {}", l.port.unwrap_or_default()));
                    }
                    if let (Some(want), Some(have)) = (wanted_port, l.port)
                        && want != have
                    {
                        problems.push(format!("test listener {arn} is on port {have}, not {want}"));
                    }
                    if let Err(e) = forwards_to_pair(l) {
                        problems.push(format!("test listener {} ({arn}): {e}", listener_label(l)));
                    }
                }
                Found::Elsewhere => problems.push(format!("test listener {arn} is not on the load balancer of the service's target group")),
                Found::Missing => problems.push(format!("test listener {arn} does not exist")),
            }
        }
        checks.push(Check::from_problems(
            "test-listener",
            problems,
            "the test listener must be on another port of the same load balancer and forward to one of the two target groups",
        ));
    }

    // 5. The role.
    match dg.and_then(|d| d.service_role_arn.clone()) {
        None => checks.push(Check::fail("role", "no deployment group names a service role", "run `migrate apply`")),
        Some(role_arn) => {
            let role_name = role_arn.rsplit('/').next().unwrap_or(&role_arn).to_owned();
            let (role_check, policy_check) = check_role(aws, &role_name).await?;
            checks.push(role_check);
            checks.extend(policy_check);
        }
    }

    // 6. The pipeline.
    if let Some(spec) = migration.pipeline() {
        let pipeline = check_pipeline(migration, spec, inv, &app_name, &dg_name);
        // The role matters once the Deploy action is CodeDeployToECS.
        let role = pipeline.passed.then(|| inv.pipeline_role.as_ref().map(|r| check_pipeline_role(migration, r))).flatten();
        checks.push(pipeline);
        checks.extend(role);
    }

    // 7. The task definition: the live one, and the latest revision of its family.
    if let Some(entry) = lb_entry {
        checks.push(check_task_definition(aws, inv, entry).await?);
    }

    // 8. Auto scaling: checked when the service scales, or the journal says it did.
    checks.extend(check_scaling(aws, migration, svc, planned_scaling).await?);
    Ok(Report { checks })
}

/// The checks of the ECS-native target, or the plan's checks before its migration.
async fn verify_native(
    aws: &AwsClients,
    migration: &Migration,
    inv: &Inventory,
    svc: &crate::inventory::ServiceDefinition,
    planned_scaling: Option<(String, ServiceScaling)>,
) -> Result<Report> {
    let mut checks = Vec::new();
    if svc.deployment_controller != "ECS" {
        checks.push(Check::fail(
            "service",
            format!("service {} uses the {} deployment controller, not ECS: it is not on ECS-native blue/green", svc.name, svc.deployment_controller),
            "run `migrate plan --target ecs-native` to review the migration, then `migrate apply --target ecs-native`",
        ));
        push_plan_checks(&mut checks, migration, inv);
        return Ok(Report { checks });
    }
    if !native::started(svc) {
        checks.push(Check::fail(
            "service",
            format!("service {} uses rolling updates (no blue/green strategy, no advanced configuration): it is not migrated yet", svc.name),
            "run `migrate plan --target ecs-native` to review the migration, then `migrate apply --target ecs-native`",
        ));
        push_plan_checks(&mut checks, migration, inv);
        return Ok(Report { checks });
    }
    checks.extend(native::checks(aws, migration, inv, svc, planned_scaling).await?);
    Ok(Report { checks })
}

fn strip_cluster(c: &str) -> &str {
    c.rsplit_once(":cluster/").map_or(c, |(_, n)| n)
}

fn listener_label(l: &ListenerInfo) -> String {
    format!("{}:{}", l.protocol.as_deref().unwrap_or("?"), l.port.map(|p| p.to_string()).unwrap_or_else(|| "?".into()))
}

/// What the plan would do or refuse, as checks.
fn push_plan_checks(checks: &mut Vec<Check>, migration: &Migration, inv: &Inventory) {
    match crate::plan::plan(migration, inv) {
        Ok(plan) => {
            let (create, update, replace, delete, _) = plan.counts();
            checks.push(Check {
                name: "plan".into(),
                passed: true,
                reason: Some(format!(
                    "the migration can be applied: {create} to create, {update} to update, {replace} to replace, {delete} to delete"
                )),
                fix: None,
            });
        }
        Err(e) => {
            for r in e.refusals() {
                let kind = serde_json::to_value(r.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                checks.push(Check::fail(&format!("plan: {kind}"), r.problem.clone(), r.fix.clone()));
            }
        }
    }
}

fn target_group_differences(b: &TargetGroupInfo, o: &TargetGroupInfo) -> Vec<String> {
    let mut out = Vec::new();
    let mut cmp = |what: &str, x: Option<String>, y: Option<String>| {
        if x != y {
            let show = |v: Option<String>| v.unwrap_or_else(|| "none".into());
            out.push(format!("{what} differs: {} has {}, {} has {}", b.name, show(x), o.name, show(y)));
        }
    };
    cmp("VPC", b.vpc_id.clone(), o.vpc_id.clone());
    cmp("protocol", b.protocol.clone(), o.protocol.clone());
    cmp("port", b.port.map(|p| p.to_string()), o.port.map(|p| p.to_string()));
    cmp("target type", b.target_type.clone(), o.target_type.clone());
    cmp("health check path", b.health_check_path.clone(), o.health_check_path.clone());
    cmp("health check protocol", b.health_check_protocol.clone(), o.health_check_protocol.clone());
    cmp("health check matcher (HTTP)", b.matcher_http_code.clone(), o.matcher_http_code.clone());
    cmp("health check matcher (gRPC)", b.matcher_grpc_code.clone(), o.matcher_grpc_code.clone());
    out
}

enum Found<'a> {
    Here(&'a ListenerInfo),
    Elsewhere,
    Missing,
}

/// Finds a listener among the service's load balancer's; else says whether it exists elsewhere.
async fn find_listener<'a>(
    aws: &AwsClients,
    lb: Option<&'a crate::inventory::LoadBalancerInfo>,
    arn: &str,
) -> Result<Found<'a>> {
    if let Some(l) = lb.and_then(|lb| lb.listeners.iter().find(|l| l.arn == arn)) {
        return Ok(Found::Here(l));
    }
    match aws.elbv2.describe_listeners().listener_arns(arn).send().await {
        Ok(out) if !out.listeners().is_empty() => Ok(Found::Elsewhere),
        Ok(_) => Ok(Found::Missing),
        Err(e) if code_is(&e, &["ListenerNotFound", "LoadBalancerNotFound"]) => Ok(Found::Missing),
        Err(e) => Err(e).ctx("DescribeListeners", arn),
    }
}

/// What a service role must be: trusted by `principal`, with one of `policies` attached.
pub(crate) struct RoleRequirement<'a> {
    /// Who names the role, for the messages ("the deployment group").
    pub(crate) owner: &'a str,
    /// The service principal that must be able to assume it.
    pub(crate) principal: &'a str,
    /// Managed policy names, one of which must be attached (the first is the fix's).
    pub(crate) policies: &'a [&'a str],
    /// What to do when the role is missing.
    pub(crate) fix_missing: &'a str,
}

/// The role of a CodeDeploy deployment group.
const CODEDEPLOY_ROLE: RoleRequirement<'static> = RoleRequirement {
    owner: "the deployment group",
    principal: "codedeploy.amazonaws.com",
    policies: &CODEDEPLOY_POLICIES,
    fix_missing: "run `migrate rollback` and `migrate apply` again, or recreate the role",
};

/// The `role` check (exists, trusts CodeDeploy) and, when it exists, the `role-policy` check.
async fn check_role(aws: &AwsClients, role_name: &str) -> Result<(Check, Option<Check>)> {
    check_role_for(aws, role_name, &CODEDEPLOY_ROLE).await
}

/// The `role` check (exists, trusts `want.principal`) and, when it exists, the `role-policy`
/// check (one of `want.policies` attached).
pub(crate) async fn check_role_for(aws: &AwsClients, role_name: &str, want: &RoleRequirement<'_>) -> Result<(Check, Option<Check>)> {
    let role = match aws.iam.get_role().role_name(role_name).send().await {
        Ok(out) => out.role,
        Err(e) if code_is(&e, &["NoSuchEntity"]) => None,
        Err(e) => return Err(e).ctx("GetRole", role_name),
    };
    let Some(role) = role else {
        return Ok((Check::fail("role", format!("role {role_name} of {} does not exist", want.owner), want.fix_missing), None));
    };
    let doc = role.assume_role_policy_document().unwrap_or_default();
    let role_check = if trusts(doc, want.principal) {
        Check::ok("role")
    } else {
        Check::fail(
            "role",
            format!("role {role_name} does not let {} assume it (sts:AssumeRole)", want.principal),
            format!("add a trust statement: Effect Allow, Principal {{\"Service\": \"{}\"}}, Action sts:AssumeRole", want.principal),
        )
    };
    let mut attached = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .iam
            .list_attached_role_policies()
            .role_name(role_name)
            .set_marker(marker.take())
            .send()
            .await
            .ctx("ListAttachedRolePolicies", role_name)?;
        attached.extend(out.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned)));
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    let has = attached.iter().any(|a| want.policies.iter().any(|p| a.ends_with(&format!(":policy/{p}"))));
    let policy_check = if has {
        Check::ok("role-policy")
    } else {
        let names = match want.policies {
            [one] => one.to_string(),
            many => format!("neither {}", many.join(" nor ")),
        };
        let reason = if want.policies.len() == 1 { format!("role {role_name} does not have {names} attached") } else { format!("role {role_name} has {names} attached") };
        Check::fail(
            "role-policy",
            reason,
            format!("aws iam attach-role-policy --role-name {role_name} --policy-arn arn:aws:iam::aws:policy/{}", want.policies.first().copied().unwrap_or_default()),
        )
    };
    Ok((role_check, Some(policy_check)))
}

/// Whether a trust policy (raw or URL-encoded JSON) allows CodeDeploy to assume the role.
#[cfg(test)]
fn trusts_codedeploy(doc: &str) -> bool {
    trusts(doc, "codedeploy.amazonaws.com")
}

/// Whether a trust policy (raw or URL-encoded JSON) allows service `principal` to assume the role.
fn trusts(doc: &str, principal: &str) -> bool {
    let parsed: Option<serde_json::Value> =
        serde_json::from_str(doc).ok().or_else(|| serde_json::from_str(&crate::iam_policy::percent_decode(doc)).ok());
    let Some(policy) = parsed else { return false };
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        s @ serde_json::Value::Object(_) => vec![s.clone()],
        _ => return false,
    };
    let has = |v: &serde_json::Value, want: &str| match v {
        serde_json::Value::String(s) => s == want,
        serde_json::Value::Array(a) => a.iter().any(|x| x.as_str() == Some(want)),
        _ => false,
    };
    statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && has(&s["Principal"]["Service"], principal)
            && (has(&s["Action"], "sts:AssumeRole") || has(&s["Action"], "sts:*") || has(&s["Action"], "*"))
    })
}

fn check_pipeline(
    migration: &Migration,
    spec: &crate::spec::PipelineDeployStage,
    inv: &Inventory,
    app_name: &str,
    dg_name: &str,
) -> Check {
    const NAME: &str = "pipeline";
    let pname = spec.pipeline_name().as_str();
    let Some(Some(p)) = &inv.pipeline else {
        return Check::fail(NAME, format!("pipeline {pname} does not exist"), "name an existing pipeline, or leave --pipeline out");
    };
    let cluster = migration.cluster_name();
    let service = inv.service.as_ref().map_or(migration.service().as_str(), |s| s.name.as_str());
    let mut ours = Vec::new();
    let mut ecs_for_service = Vec::new();
    for (i, stage) in p.stages.iter().enumerate() {
        for a in &stage.actions {
            if a.category != "Deploy" || spec.action_name().is_some_and(|n| n != a.name) {
                continue;
            }
            let cfg = |k: &str| a.configuration.get(k).map(String::as_str);
            match a.provider.as_str() {
                "CodeDeployToECS" if cfg("ApplicationName") == Some(app_name) && cfg("DeploymentGroupName") == Some(dg_name) => {
                    ours.push((i, stage, a));
                }
                "ECS" if cfg("ClusterName").map(strip_cluster) == Some(cluster)
                    && (cfg("ServiceName") == Some(service) || cfg("ServiceName") == Some(migration.service().as_str())) =>
                {
                    ecs_for_service.push(format!("{}/{}", stage.name, a.name));
                }
                _ => {}
            }
        }
    }
    let (idx, stage, action) = match ours.as_slice() {
        [one] => *one,
        [] => {
            let extra = if ecs_for_service.is_empty() {
                String::new()
            } else {
                format!("; Deploy action {} still uses provider ECS", ecs_for_service.join(", "))
            };
            return Check::fail(
                NAME,
                format!("pipeline {pname} has no CodeDeployToECS Deploy action for deployment group {app_name}/{dg_name}{extra}"),
                "switch the Deploy action to provider CodeDeployToECS with this application and deployment group (`migrate apply` does it)",
            );
        }
        many => {
            let names: Vec<String> = many.iter().map(|(_, s, a)| format!("{}/{}", s.name, a.name)).collect();
            return Check::fail(
                NAME,
                format!("pipeline {pname} has several CodeDeployToECS Deploy actions for {app_name}/{dg_name}: {}", names.join(", ")),
                "keep exactly one Deploy action for the deployment group",
            );
        }
    };
    if !ecs_for_service.is_empty() {
        return Check::fail(
            NAME,
            format!("pipeline {pname} also deploys service {service} with provider ECS in {}, which fails on a CODE_DEPLOY service", ecs_for_service.join(", ")),
            "remove the ECS Deploy action",
        );
    }
    let produced = p.artifacts_produced_before(idx, action);
    if action.input_artifacts.is_empty() {
        return Check::fail(
            NAME,
            format!("Deploy action {}/{} has no input artifact", stage.name, action.name),
            "give the Deploy action the build stage's output artifact (taskdef.json, appspec.yml, imageDetail.json) as input",
        );
    }
    if let Some(missing) = action.input_artifacts.iter().find(|i| !produced.contains(i)) {
        return Check::fail(
            NAME,
            format!("Deploy action {}/{} reads artifact {missing}, which no earlier action of pipeline {pname} produces", stage.name, action.name),
            "make the build stage output that artifact (with taskdef.json, appspec.yml and imageDetail.json)",
        );
    }
    Check::ok(NAME)
}

/// The `pipeline-role` check: the pipeline's role can run the `CodeDeployToECS` action.
fn check_pipeline_role(migration: &Migration, role: &PipelineRoleInfo) -> Check {
    const NAME: &str = "pipeline-role";
    let list = |ps: &[crate::pipeline_role::Permission]| ps.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    match &role.check {
        RoleCheck::RoleMissing => {
            return Check::fail(NAME, format!("the pipeline's service role {} does not exist", role.arn), "recreate the role, or give the pipeline an existing one");
        }
        RoleCheck::Unchecked { reason } => {
            return Check::fail(
                NAME,
                format!("the permissions of pipeline role {} could not be read ({reason})", role.name),
                "allow iam:SimulatePrincipalPolicy (or iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicy, iam:GetPolicyVersion) on the role and verify again",
            );
        }
        RoleCheck::Policies { .. } | RoleCheck::Simulated => {}
    }
    let shortfall = &role.shortfall;
    let mut problems = Vec::new();
    if !shortfall.missing.is_empty() {
        problems.push(format!("pipeline role {} lacks what the CodeDeployToECS action needs: {}", role.name, list(&shortfall.missing)));
    }
    if !shortfall.denied.is_empty() {
        problems.push(format!("pipeline role {} is explicitly denied {}", role.name, list(&shortfall.denied)));
    }
    let mut fix = String::new();
    if !shortfall.missing.is_empty() {
        fix = format!(
            "rerun `migrate apply` (its pipeline-role-policy step grants them), or grant them: aws iam put-role-policy --role-name {} --policy-name {} --policy-document '{}'",
            role.name,
            crate::pipeline_role::policy_name(&migration.migration_id()),
            crate::pipeline_role::grant_document(&shortfall.missing),
        );
    }
    if !shortfall.denied.is_empty() {
        if !fix.is_empty() {
            fix.push_str("; ");
        }
        fix.push_str("remove the Deny statements (an added Allow cannot lift them)");
    }
    Check::from_problems(NAME, problems, fix)
}

/// The `scaling` check: the service's scalable target, policies and scheduled actions are those
/// the journal's plan carried (when known), and no alarm names a scaling policy of the service
/// (or of the original, when the final service has another name) that no longer exists. `None`
/// when the service has no scaling and none was planned.
async fn check_scaling(
    aws: &AwsClients,
    migration: &Migration,
    svc: &crate::inventory::ServiceDefinition,
    planned: Option<(String, ServiceScaling)>,
) -> Result<Option<Check>> {
    const NAME: &str = "scaling";
    let cluster = migration.cluster().as_str();
    // The plan names the final service; it may not be the one verify looked up.
    let (final_name, live) = match &planned {
        Some((name, _)) if *name != svc.name => (name.clone(), describe_scaling(aws, cluster, name).await?),
        _ => (svc.name.clone(), svc.scaling.clone()),
    };
    let expected = planned.map(|(_, s)| s);
    if live.is_none() && expected.is_none() {
        return Ok(None);
    }
    let rid = scaling_resource_id(cluster, &final_name);
    let mut problems = Vec::new();
    if let Some(want) = &expected {
        problems.extend(scaling_differences(&rid, want, live.as_ref()));
    }
    // Policies of the original and the final service: an alarm naming one that is not live is dead.
    let mut rids = vec![rid.clone()];
    rids.extend(Some(scaling_resource_id(cluster, migration.service().as_str())).filter(|r| *r != rid));
    let live_arns: Vec<&str> = live.iter().flat_map(|l| l.policies.iter().map(|p| p.arn.as_str())).collect();
    let is_live = |action: &str| live_arns.iter().any(|a| action == *a || action.strip_prefix(a).is_some_and(|r| r.starts_with(":createdBy/")));
    for alarm in alarms_naming_policies_of(aws, &rids).await? {
        for action in alarm.all_actions() {
            if let Some((resource, policy)) = policy_arn_parts(action)
                && rids.iter().any(|r| r == resource)
                && !is_live(action)
            {
                let now = live.iter().flat_map(|l| &l.policies).find(|p| p.name == policy && resource == rid);
                problems.push(match now {
                    Some(p) => format!("alarm {} names policy {policy} by an ARN that no longer exists ({action}); its current ARN is {}", alarm.name, p.arn),
                    None => format!("alarm {} names scaling policy {policy} ({action}), which no longer exists", alarm.name),
                });
            }
        }
    }
    Ok(Some(Check::from_problems(
        NAME,
        problems,
        format!(
            "restore the scaling of {rid} as the original had it (aws application-autoscaling register-scalable-target / put-scaling-policy / put-scheduled-action) and point each step policy's alarm at the policy's current ARN (aws cloudwatch put-metric-alarm)"
        ),
    )))
}

/// How the live scaling of `rid` differs from `want` (the original's).
fn scaling_differences(rid: &str, want: &ServiceScaling, live: Option<&ServiceScaling>) -> Vec<String> {
    let Some(live) = live else {
        return vec![format!(
            "{rid} has no scalable target; the original scaled between {} and {} tasks",
            want.target.min_capacity, want.target.max_capacity
        )];
    };
    let mut out = Vec::new();
    let (w, l) = (&want.target, &live.target);
    if (w.min_capacity, w.max_capacity) != (l.min_capacity, l.max_capacity) {
        out.push(format!(
            "the scalable target of {rid} is min {} / max {}, the original's was min {} / max {}",
            l.min_capacity, l.max_capacity, w.min_capacity, w.max_capacity
        ));
    }
    for p in &want.policies {
        match live.policies.iter().find(|x| x.name == p.name) {
            None => out.push(format!("scaling policy {} ({}) is missing on {rid}", p.name, p.policy_type)),
            Some(x) if x.policy_type != p.policy_type => {
                out.push(format!("scaling policy {} of {rid} is {}, the original's was {}", p.name, x.policy_type, p.policy_type));
            }
            Some(_) => {}
        }
    }
    for a in &want.scheduled_actions {
        match live.scheduled_actions.iter().find(|x| x.name == a.name) {
            None => out.push(format!("scheduled action {} is missing on {rid}", a.name)),
            Some(x) if (&x.schedule, x.min_capacity, x.max_capacity) != (&a.schedule, a.min_capacity, a.max_capacity) => {
                out.push(format!("scheduled action {} of {rid} differs from the original's ({} → {})", a.name, a.schedule, x.schedule));
            }
            Some(_) => {}
        }
    }
    out
}

/// The load balancer entry's container and port, in the live task definition and in the latest
/// ACTIVE revision of its family (the one a deployment built from the family would start from).
async fn check_task_definition(
    aws: &AwsClients,
    inv: &Inventory,
    entry: &crate::inventory::LoadBalancerEntry,
) -> Result<Check> {
    const NAME: &str = "task-definition";
    let fix = "the load balancer entry's container and port must exist in the task definition: restore the port mapping in the task definition (and taskdef.json), or recreate the service with the new container port";
    let (Some(container), Some(port)) = (entry.container_name.as_deref(), entry.container_port) else {
        return Ok(Check::fail(NAME, "the service's load balancer entry names no container or no port", fix));
    };
    let Some(td) = &inv.task_definition else {
        return Ok(Check::fail(NAME, "the service's task definition could not be read", "register the task definition the service runs"));
    };
    let mut problems = Vec::new();
    let check = |arn: &str, containers: &[(String, Vec<i32>)], problems: &mut Vec<String>| {
        let label = arn.rsplit('/').next().unwrap_or(arn);
        match containers.iter().find(|(n, _)| n == container) {
            None => problems.push(format!("task definition {label} has no container {container}")),
            Some((_, ports)) if !ports.contains(&port) => problems.push(format!(
                "container {container} of task definition {label} exposes port(s) {:?}, not the load balancer's container port {port}",
                ports
            )),
            Some(_) => {}
        }
    };
    let live: Vec<(String, Vec<i32>)> = td.containers.iter().map(|c| (c.name.clone(), c.ports.clone())).collect();
    check(&td.arn, &live, &mut problems);

    let out = aws.ecs.describe_task_definition().task_definition(&td.family).send().await.ctx("DescribeTaskDefinition", &td.family)?;
    if let Some(latest) = out.task_definition()
        && latest.task_definition_arn() != Some(td.arn.as_str())
    {
        let containers: Vec<(String, Vec<i32>)> = latest
            .container_definitions()
            .iter()
            .map(|c| (c.name().unwrap_or_default().to_owned(), c.port_mappings().iter().filter_map(|p| p.container_port()).collect()))
            .collect();
        let mut p = Vec::new();
        check(latest.task_definition_arn().unwrap_or(&td.family), &containers, &mut p);
        problems.extend(p.into_iter().map(|s| format!("{s} (latest revision of family {}; the next deployment starts from it)", td.family)));
    }
    Ok(Check::from_problems(NAME, problems, fix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policy_raw_and_encoded() {
        let doc = crate::plan::codedeploy_trust_policy(Some("123456789012"));
        assert!(trusts_codedeploy(&doc));
        let encoded: String = doc.bytes().map(|b| format!("%{b:02X}")).collect();
        assert!(trusts_codedeploy(&encoded));
        assert!(!trusts_codedeploy(&doc.replace("codedeploy", "ecs-tasks")));
    }

    #[test]
    fn report_display() {
        let r = Report { checks: vec![Check::ok("service"), Check::fail("role", "gone", "recreate")] };
        assert!(!r.passed());
        let s = r.to_string();
        assert!(s.contains("[ok]   service") && s.contains("[FAIL] role: gone — recreate"), "{s}");
    }

    #[test]
    fn a_half_migrated_service_is_advised_resume_or_rollback_not_apply() {
        let migration = Migration::for_service("prod", "web").unwrap().build();
        let id = migration.migration_id();
        let mut inv = crate::testing::sample::inventory();
        assert_eq!(half_migrated(JournalStatus::Empty, &inv, &id, "j.json"), None);
        assert_eq!(half_migrated(JournalStatus::Applied, &inv, &id, "j.json"), None);
        assert!(half_migrated(JournalStatus::Unfinished, &inv, &id, "j.json").unwrap().contains("j.json holds an unfinished run"));
        // The bridge of this migration still serving: the cutover stopped halfway.
        let mut bridge = inv.service.clone().unwrap();
        bridge.name = "web-bridge".into();
        bridge.tags.insert(OWNERSHIP_TAG.into(), id.clone());
        inv.existing.cutover_service = Some(bridge.clone());
        assert!(half_migrated(JournalStatus::Empty, &inv, &id, "j.json").unwrap().contains("web-bridge"));
        bridge.tags.insert(OWNERSHIP_TAG.into(), "another".into());
        inv.existing.cutover_service = Some(bridge);
        assert_eq!(half_migrated(JournalStatus::Empty, &inv, &id, "j.json"), None, "not this migration's service");

        let mut report = Report { checks: vec![Check::fail("deployment-group", "missing", "run `migrate apply` to create it")] };
        advise_resume_or_rollback(&mut report, &migration, "x".into(), "j.json");
        assert_eq!(report.checks[0].name, "run");
        let text = report.to_string();
        assert!(text.contains("migrate resume --cluster prod --service web --journal j.json"), "{text}");
        assert!(text.contains("migrate rollback --cluster prod --service web --journal j.json"), "{text}");
        assert!(!text.contains("`migrate apply`"), "{text}");
    }
}
