//! The plan: a pure function from a [`Migration`] and an [`Inventory`] to the exact
//! changes the migration will make, or a [`PlanError`] listing every refusal.
//!
//! Nothing here performs I/O; [`Migration::plan`] is the convenience that discovers first.

mod changes;
mod from_codedeploy;
mod native;
mod render;
mod to_rolling;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::refusal::{PlanError, Refusal, RefusalKind};
pub use crate::spec::StepId;
pub use from_codedeploy::{IMAGE_DEFINITIONS, NO_PRIMARY_TASK_SET, SEVERAL_TASK_SETS, strategy_of};
// What verify checks an ECS-native service against: the planner's own rules.
pub(crate) use native::{MIXED_ACTION_TYPES as NATIVE_MIXED_ACTION_TYPES, wanted_configuration as native_configuration};

use crate::inventory::*;
use crate::spec::{
    AutoRollbackEvent, DeploymentConfig, Migration, ReadyWait, ServiceCutover, Target, TerminationWait,
    ValidationError,
};

/// Longest tag value ELBv2, IAM and CodeDeploy accept.
const MAX_TAG_VALUE: usize = 256;

/// Placeholder shown for identifiers AWS assigns during apply.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// What a change does to its resource.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A new resource.
    Create,
    /// An existing resource is modified in place.
    Update,
    /// An existing resource is deleted and created again.
    Replace,
    /// An existing resource is deleted.
    Delete,
    /// Already in the wanted shape; nothing to do.
    NoOp,
}

/// One planned change.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The step that carries it out.
    pub step: StepId,
    /// Create, update, replace, delete or no-op.
    pub action: Action,
    /// Steps that must finish first.
    pub depends_on: Vec<StepId>,
    /// The exact values to be written.
    pub detail: ChangeDetail,
}

/// The values a change writes.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ChangeDetail {
    /// The green target group, a clone of the blue one but for name and tags.
    GreenTargetGroup {
        /// Settings, attributes and tags of the new group (`arn` known after apply).
        settings: TargetGroupInfo,
        /// Blue group it clones.
        blue_name: String,
    },
    /// Route test traffic to the green group.
    TestListener {
        /// Load balancer ARN.
        load_balancer_arn: String,
        /// How the green group is attached.
        route: TestRoute,
        /// Tags of a created listener.
        tags: Tags,
        /// The green group's ARN when it exists already (e.g. a partial transaction without
        /// the green-target-group step).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        green_arn: Option<String>,
    },
    /// The CodeDeploy service role.
    ServiceRole {
        /// Role name.
        name: String,
        /// Role ARN (known after apply when created).
        arn: String,
        /// Whether an existing role is adopted (never modified or deleted).
        adopted: bool,
        /// Trust policy document (JSON).
        trust_policy: String,
        /// Managed policy attached.
        managed_policy_arn: String,
        /// Tags.
        tags: Tags,
    },
    /// The CodeDeploy application.
    Application {
        /// Application name.
        name: String,
        /// Tags.
        tags: Tags,
    },
    /// The blue/green deployment group.
    DeploymentGroup(DeploymentGroupValues),
    /// The service switched to `CODE_DEPLOY`.
    ServiceCutover {
        /// Strategy.
        strategy: ServiceCutover,
        /// The service as it is now (kept in the journal for undo).
        from: Box<ServiceDefinition>,
        /// The service as it will be.
        to: Box<ServiceDefinition>,
        /// Temporary bridge service name (ParallelKeepName).
        bridge_name: Option<String>,
        /// Settings that `CODE_DEPLOY` forbids and that are dropped, with the reason.
        dropped: Vec<DroppedSetting>,
        /// Deadline, in seconds, of each wait for a deleted service to become INACTIVE: the
        /// migration's drain timeout, else the blue target group's deregistration delay plus
        /// [`crate::wait::DRAIN_MARGIN`]. `None` in plans written before it was planned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drain_deadline_secs: Option<u64>,
    },
    /// The service's auto scaling registered again on the final service (deleting the
    /// original deregistered it), and the step policies' alarms re-pointed.
    ServiceScaling {
        /// Cluster name.
        cluster: String,
        /// The service that gets the scaling (after the cutover).
        service: String,
        /// The scaling as discovery read it from the original service.
        scaling: ServiceScaling,
    },
    /// The pipeline's Deploy action rewritten to `CodeDeployToECS`.
    PipelineDeployAction {
        /// Pipeline name.
        pipeline: String,
        /// Stage name.
        stage: String,
        /// The action now.
        before: ActionInfo,
        /// The action after the change.
        after: ActionInfo,
    },
    /// ECS-native target: the service's load balancer entry gains its `advancedConfiguration`
    /// (UpdateService, a rolling deployment that must finish).
    NativeLoadBalancer(Box<NativeLoadBalancerValues>),
    /// ECS-native target: the service's deployment strategy becomes `BLUE_GREEN`, `LINEAR` or
    /// `CANARY` (UpdateService, no deployment), merged with the rest of its configuration.
    NativeStrategy {
        /// Cluster name.
        cluster: String,
        /// Service name.
        service: String,
        /// The configuration now (restored on undo; strategy `ROLLING`).
        before: Option<DeploymentConfigurationDef>,
        /// The configuration after the change.
        after: DeploymentConfigurationDef,
        /// What this target keeps that the CodeDeploy target would drop or refuse (circuit
        /// breaker, alarms, EBS volumes, Service Connect, the pipeline's `ECS` action).
        kept: Vec<DroppedSetting>,
    },
    /// Back to rolling: the service's deployment strategy becomes `ROLLING` (UpdateService, no
    /// deployment), percents, circuit breaker and alarms kept.
    RollingStrategy {
        /// Cluster name.
        cluster: String,
        /// Service name.
        service: String,
        /// The configuration now (restored on undo).
        before: Option<DeploymentConfigurationDef>,
        /// The configuration after the change.
        after: DeploymentConfigurationDef,
        /// What ROLLING has no use for and is dropped (bake time, linear / canary settings).
        dropped: Vec<DroppedSetting>,
    },
    /// Back to rolling: the service's load balancer entry without `advancedConfiguration`, on
    /// the target group that serves production now (UpdateService, a rolling deployment).
    RollingLoadBalancer(Box<RollingLoadBalancerValues>),
    /// An inline policy on the pipeline's service role granting what the `CodeDeployToECS`
    /// action needs and the role lacks, scoped by ARN; undo deletes exactly this policy.
    PipelineRolePolicy {
        /// Role name.
        role_name: String,
        /// Role ARN.
        role_arn: String,
        /// Inline policy name (`ecs-bluegreen-<migration id>`).
        policy_name: String,
        /// Policy document (JSON).
        document: String,
        /// What it grants.
        grants: Vec<crate::pipeline_role::Permission>,
    },
    /// Onward from CodeDeploy: the service's deployment group deleted; its values recreate it
    /// on undo.
    DeploymentGroupRemoval(Box<DeploymentGroupValues>),
    /// Onward from CodeDeploy: the CodeDeploy application deleted (recreated on undo).
    ApplicationRemoval {
        /// Application name.
        name: String,
        /// Its tags (put back on undo).
        tags: Tags,
    },
    /// Onward from CodeDeploy: one UpdateService switching the controller to `ECS` with the
    /// strategy and the load balancer entry.
    ControllerSwitch(Box<ControllerSwitchValues>),
    /// A user's step (see [`crate::step`]).
    Custom(CustomChange),
}

/// The values of [`ChangeDetail::ControllerSwitch`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControllerSwitchValues {
    /// Cluster name.
    pub cluster: String,
    /// Service name.
    pub service: String,
    /// The service as it is now, on `CODE_DEPLOY`: AWS has no way back into `CODE_DEPLOY` in
    /// place, so undo recreates the service from it (a new ARN).
    pub from: Box<ServiceDefinition>,
    /// The load balancer entries sent with the switch; identifiers made during the run read
    /// [`KNOWN_AFTER_APPLY`] (the infrastructure role).
    pub load_balancers: Vec<LoadBalancerEntry>,
    /// The deployment configuration sent with the switch (strategy and bake time).
    pub deployment_configuration: DeploymentConfigurationDef,
    /// How the strategy was chosen (from the deployment group's config, or as given).
    pub strategy_source: String,
    /// The production listener, whose weights ECS's blue/green deployments swing (the one the
    /// switch starts among them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_listener_arn: Option<String>,
    /// Its default actions before the switch, which undo puts back once the service is
    /// recreated on the group they served.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub production_actions: Vec<crate::inventory::ListenerAction>,
}

/// The values of [`ChangeDetail::NativeLoadBalancer`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeLoadBalancerValues {
    /// Cluster name.
    pub cluster: String,
    /// Service name.
    pub service: String,
    /// The service's load balancer entries now (restored on undo).
    pub before: Vec<LoadBalancerEntry>,
    /// The entry after the change; identifiers made during the run read
    /// [`KNOWN_AFTER_APPLY`] and are resolved by the step.
    pub after: LoadBalancerEntry,
    /// The green target group's name (its ARN when it exists is in `after`).
    pub green_name: String,
    /// The load balancer.
    pub load_balancer_arn: String,
    /// Whether it is a Network Load Balancer (rules are listener ARNs).
    pub network: bool,
    /// The test listener's port, when test traffic has its own listener.
    pub test_listener_port: Option<u16>,
    /// The production listener, and its default actions before the migration: ECS's own
    /// deployments swing its weights, so undo puts them back once the service is on blue again.
    pub production_listener_arn: String,
    /// Its default actions now.
    pub production_actions: Vec<crate::inventory::ListenerAction>,
}

/// The values of [`ChangeDetail::RollingLoadBalancer`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollingLoadBalancerValues {
    /// Cluster name.
    pub cluster: String,
    /// Service name.
    pub service: String,
    /// The service's load balancer entries now, with their advanced configuration (restored on
    /// undo).
    pub before: Vec<LoadBalancerEntry>,
    /// The entry after the change: the serving target group, no advanced configuration.
    pub after: LoadBalancerEntry,
    /// Name of the target group that serves production (read from the production rule's weights).
    pub serving_name: String,
    /// The other group of the pair, no longer used by the service: kept.
    pub idle_target_group: Option<String>,
    /// The production listener rule (ALB) or listener (NLB) the weights were read from.
    pub production_listener_rule: Option<String>,
    /// Resources of the blue/green setup left in place, with why.
    pub kept: Vec<DroppedSetting>,
}

/// The planned change of a user's step: its registered kind, the line the plan shows, and the
/// step's serialised state (from which the registry rebuilds it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomChange {
    // `kind` already tags the ChangeDetail variant in JSON.
    #[serde(rename = "step_kind")]
    kind: String,
    summary: String,
    state: serde_json::Value,
}

impl CustomChange {
    /// A user's planned change.
    pub fn new(kind: impl Into<String>, summary: impl Into<String>, state: serde_json::Value) -> Self {
        Self { kind: kind.into(), summary: summary.into(), state }
    }
    /// The kind the step is registered under.
    pub fn kind(&self) -> &str {
        &self.kind
    }
    /// The line the plan shows.
    pub fn summary(&self) -> &str {
        &self.summary
    }
    /// The step's serialised state.
    pub fn state(&self) -> &serde_json::Value {
        &self.state
    }
}

/// How the green target group receives test traffic.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum TestRoute {
    /// A separate listener on `port` forwarding to the green group.
    Listener {
        /// Listener port.
        port: u16,
        /// Listener protocol.
        protocol: String,
        /// Listener ARN (known after apply when created).
        arn: String,
        /// Green target group name.
        target_group: String,
        /// For an HTTPS/TLS production listener: its policy and default certificate, copied.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls: Option<crate::inventory::ListenerTls>,
    },
    /// No test port: the green group joins the production listener's forward action at weight 0.
    ProductionWeightZero {
        /// Production listener ARN.
        listener_arn: String,
        /// Its forward action now.
        before: Vec<WeightedTargetGroup>,
        /// Its whole default action list now (restored on undo); empty in plans written
        /// before it was kept.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        actions: Vec<crate::inventory::ListenerAction>,
    },
}

/// Every value of the deployment group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentGroupValues {
    /// Application name.
    pub application: String,
    /// Deployment group name.
    pub name: String,
    /// Service role ARN (known after apply when the role is created).
    pub service_role_arn: String,
    /// Deployment configuration.
    pub deployment_config: DeploymentConfig,
    /// Cluster name.
    pub cluster: String,
    /// Service name (after cutover).
    pub service: String,
    /// Blue and green target group names.
    pub target_groups: [String; 2],
    /// Production listener ARN.
    pub prod_listener_arn: String,
    /// Test listener ARN, if any (known after apply when created).
    pub test_listener_arn: Option<String>,
    /// Auto-rollback events.
    pub auto_rollback_events: Vec<AutoRollbackEvent>,
    /// Manual go-ahead wait.
    pub ready_wait: Option<ReadyWait>,
    /// Blue termination wait.
    pub termination_wait: TerminationWait,
    /// Alarm names.
    pub alarms: Vec<String>,
    /// Tags.
    pub tags: Tags,
}

/// A setting dropped because `CODE_DEPLOY` forbids it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedSetting {
    /// Field path.
    pub field: String,
    /// Why.
    pub reason: String,
}

/// The migration's plan: ordered changes with exact values, and warnings.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Tagged on every created resource.
    pub migration_id: String,
    /// Cluster name.
    pub cluster: String,
    /// Service name.
    pub service: String,
    /// Account id, when known.
    pub account_id: Option<String>,
    /// The service already runs on an identical blue/green setup.
    pub already_migrated: bool,
    /// Changes in execution order.
    pub changes: Vec<Change>,
    /// Things the user should know that do not block the migration.
    pub warnings: Vec<String>,
    /// Informational lines (e.g. the pipeline role already has what it needs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The migration spec planned, so `apply` can read the account again and refuse a stale
    /// plan. Plans without it (written by older versions) are refused by `apply`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<Box<Migration>>,
    /// The built-in steps the transaction holds (all of them for a full migration).
    #[serde(default = "all_built_in")]
    pub built_in_steps: Vec<StepId>,
    /// What the service migrates to (plans written before it are CodeDeploy plans).
    #[serde(default)]
    pub target: Target,
    /// The pipeline's service role (GetPipeline's `roleArn`), whose permissions discovery
    /// checks on every run: the policy a run needs scopes those reads to it. `None` when the
    /// migration names no pipeline (or the plan was written before it was recorded: the policy
    /// then allows those reads on any role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_role_arn: Option<String>,
}

/// The pipeline's service role as discovery read it (the plan's `pipeline_role_arn`).
fn pipeline_role_arn(inv: &Inventory) -> Option<String> {
    inv.pipeline.as_ref().and_then(Option::as_ref).and_then(|p| p.role_arn.clone())
}

fn all_built_in() -> Vec<StepId> {
    StepId::BUILT_IN_BEFORE_ROLE_POLICY.to_vec()
}

impl Plan {
    /// Whether applying it would change anything.
    pub fn is_noop(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::NoOp)
    }
    /// The change of a step, if planned.
    pub fn change(&self, step: impl std::borrow::Borrow<StepId>) -> Option<&Change> {
        let step = step.borrow();
        self.changes.iter().find(|c| &c.step == step)
    }
    /// Count of changes per action: (create, update, replace, delete, no-op).
    pub fn counts(&self) -> (usize, usize, usize, usize, usize) {
        let n = |a| self.changes.iter().filter(|c| c.action == a).count();
        (n(Action::Create), n(Action::Update), n(Action::Replace), n(Action::Delete), n(Action::NoOp))
    }
}

fn invalid_name(e: ValidationError) -> Refusal {
    Refusal::new(
        RefusalKind::InvalidName,
        format!("the {} {:?} {}", e.what(), e.value(), e.reason()),
        format!("choose a shorter or valid {} with an override", e.what()),
    )
}

fn owned(tags: &Tags, id: &str) -> bool {
    tags.get(OWNERSHIP_TAG).is_some_and(|v| v == id)
}

/// Trust policy of the ECS infrastructure role for load balancers (AWS's documented one).
pub fn ecs_infrastructure_trust_policy() -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowAccessToECSForInfrastructureManagement",
            "Effect": "Allow",
            "Principal": { "Service": "ecs.amazonaws.com" },
            "Action": "sts:AssumeRole",
        }],
    })
    .to_string()
}

/// Trust policy of the CodeDeploy role, scoped to the account when it is known.
pub fn codedeploy_trust_policy(account_id: Option<&str>) -> String {
    let mut stmt = serde_json::json!({
        "Effect": "Allow",
        "Principal": { "Service": "codedeploy.amazonaws.com" },
        "Action": "sts:AssumeRole",
    });
    if let Some(acct) = account_id {
        stmt["Condition"] = serde_json::json!({ "StringEquals": { "aws:SourceAccount": acct } });
    }
    serde_json::json!({ "Version": "2012-10-17", "Statement": [stmt] }).to_string()
}

/// Plans the whole migration. Pure: no I/O. Refuses, with every reason and its fix, what AWS
/// would refuse or what would be unsafe.
pub fn plan(migration: &Migration, inv: &Inventory) -> Result<Plan, PlanError> {
    let controller = inv.service.as_ref().map_or("ECS", |s| s.deployment_controller.as_str());
    plan_steps(migration, inv, StepId::built_in_for_service(migration.target(), controller))
}

/// Plans the built-in steps named in `steps` only: a partial migration (the rest exists
/// already, or is someone else's job). Pure: no I/O. Besides what [`plan`] refuses, it refuses
/// a step whose prerequisite neither exists in the account nor is planned (a pipeline step
/// without a deployment group, a deployment group for a service not on `CODE_DEPLOY`, ...).
pub fn plan_steps(migration: &Migration, inv: &Inventory, steps: &[StepId]) -> Result<Plan, PlanError> {
    // The way there depends on the target and on the service's controller now.
    let controller = inv.service.as_ref().map(|s| s.deployment_controller.as_str());
    match (controller, migration.target()) {
        (Some("CODE_DEPLOY"), target @ (Target::EcsNative | Target::Rolling)) => {
            // A transaction built for the target alone names that target's default steps.
            let steps = if steps == StepId::built_in_for(target) { StepId::built_in_for_service(target, "CODE_DEPLOY") } else { steps };
            return from_codedeploy::plan(migration, inv, steps);
        }
        (_, Target::EcsNative) => return native::plan(migration, inv, steps),
        (_, Target::Rolling) => return to_rolling::plan(migration, inv, steps),
        _ => {}
    }
    let mut b = validate::validate(migration, inv, steps)?;
    let mut warnings = std::mem::take(&mut b.warnings);
    let (route, test_listener_arn) = changes::test_route(&b);
    let (role, role_arn) = changes::service_role(&b, &mut warnings);
    let (cutover, final_service) = changes::service_cutover(&b, &mut warnings);
    let scaling = changes::service_scaling(&b, &final_service);
    let mut notes = Vec::new();
    let mut changes = vec![changes::green_target_group(&b), route, role, changes::application(&b), cutover];
    changes.extend(scaling);
    changes.push(changes::deployment_group(&b, role_arn, test_listener_arn, final_service));
    let pipeline_role = changes::pipeline_role(&b, steps, &mut warnings, &mut notes);
    let mut pipeline = b.pipeline_change.take();
    if let (Some(p), Some(_)) = (&mut pipeline, &pipeline_role) {
        p.depends_on.push(StepId::PipelineRolePolicy);
    }
    changes.extend(pipeline_role);
    changes.extend(pipeline);
    // Keep the planned steps only, and dependencies among them (the others exist: checked).
    changes.retain(|c| steps.contains(&c.step));
    for c in &mut changes {
        c.depends_on.retain(|d| steps.contains(d));
    }
    let has_scaling = changes.iter().any(|c| c.step == StepId::ServiceScaling);
    Ok(Plan {
        migration_id: b.id,
        cluster: b.cluster,
        service: b.service_name,
        account_id: inv.account_id.clone(),
        already_migrated: b.identical,
        changes,
        warnings,
        notes,
        migration: Some(Box::new(migration.clone())),
        // The scaling step exists only for a service with scaling: a plan without it lists
        // the steps it listed before that step existed.
        built_in_steps: StepId::BUILT_IN
            .iter()
            .filter(|s| steps.contains(s))
            .filter(|s| **s != StepId::ServiceScaling || has_scaling)
            .cloned()
            .collect(),
        target: Target::Codedeploy,
        pipeline_role_arn: pipeline_role_arn(inv),
    })
}

/// A digest of the built-in changes, blind to running task counts (they move on their own and
/// the plan writes none of them), so that a plan made again from an unchanged account has the
/// same one. A changed desired count does count: the cutover would recreate the service with
/// the count it planned.
pub(crate) fn fingerprint(changes: &[Change]) -> String {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("running_count");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    // Users' steps add themselves to built-in steps' dependencies; those are not the account's.
    let built_in: Vec<Change> = changes
        .iter()
        .filter(|c| c.step.is_built_in())
        .map(|c| {
            let mut c = c.clone();
            c.depends_on.retain(StepId::is_built_in);
            c
        })
        .collect();
    let mut v = serde_json::to_value(&built_in).unwrap_or_default();
    strip(&mut v);
    crate::digest::sha256_hex(&v.to_string())
}


