//! Refusals: what the plan will not do, why, and how to fix it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a plan was refused. One variant per rule AWS (or safety) imposes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefusalKind {
    /// The service does not exist.
    ServiceMissing,
    /// The service is DRAINING or INACTIVE.
    ServiceNotActive,
    /// The service is already `CODE_DEPLOY`-controlled, but not by an identical setup.
    AlreadyCodeDeploy,
    /// The service uses the `EXTERNAL` controller.
    ExternalController,
    /// The service uses ECS-native blue/green (`BLUE_GREEN`, `LINEAR`, `CANARY` strategy).
    EcsNativeStrategy,
    /// DAEMON services cannot use `CODE_DEPLOY`.
    DaemonScheduling,
    /// The service has no load balancer.
    NoLoadBalancer,
    /// The service uses a Classic Load Balancer.
    ClassicLoadBalancer,
    /// The service has more than one target group.
    SeveralTargetGroups,
    /// The blue target group or its load balancer could not be read.
    TargetGroupMissing,
    /// The service uses Service Connect.
    ServiceConnect,
    /// The service uses VPC Lattice.
    VpcLattice,
    /// A deployment is in progress.
    DeploymentInFlight,
    /// The test listener port equals the production port.
    TestPortIsProductionPort,
    /// Another listener already uses the test port.
    TestPortInUse,
    /// A Network Load Balancer supports only `CodeDeployDefault.ECSAllAtOnce`.
    NlbNeedsAllAtOnce,
    /// The custom deployment config does not exist (GetDeploymentConfig).
    DeploymentConfigMissing,
    /// The custom deployment config is not for the ECS compute platform.
    DeploymentConfigNotEcs,
    /// A name breaks an AWS limit.
    InvalidName,
    /// The named pipeline does not exist.
    PipelineMissing,
    /// The pipeline has no Deploy action for this service.
    PipelineNoDeployAction,
    /// Several Deploy actions deploy this service.
    PipelineAmbiguous,
    /// The Deploy action's input artifact is not produced by an earlier stage.
    PipelineInputNotProduced,
    /// A resource with a planned name exists and this tool did not create it.
    NotOwned,
    /// The production listener forwarding to the service could not be found.
    NoProductionListener,
    /// The container named in the load balancer entry is not in the task definition.
    ContainerMismatch,
    /// The requested migration target is not available.
    UnsupportedTarget,
    /// A deployment group of this migration exists with other settings than asked for.
    ExistingDiffers,
    /// The transaction's steps do not form a graph the executor can run: a dependency on a
    /// step that is not in the transaction, a cycle, or two steps with one id.
    StepGraph,
    /// A step of a partial transaction needs a resource that neither exists nor is created by
    /// another step of the transaction (a pipeline step without a deployment group...).
    MissingPrerequisite,
    /// The account changed since the plan was made: plan again.
    StalePlan,
    /// A user's step refused.
    Custom,
    /// The service attaches EBS volumes at deployment time (`volumeConfigurations`), which
    /// CodeDeploy blue/green cannot carry.
    ManagedEbsVolumes,
    /// A resource the migration creates would carry more tags than AWS allows (50).
    TooManyTags,
    /// The role uses `AWSCodeDeployRoleForECSLimited`, which lets CodeDeploy pass only roles
    /// named `ecsTaskExecutionRole` / `ECSTaskExecution*`, and the task definition names another.
    LimitedPolicyPassRole,
    /// The service's auto scaling holds what the migration cannot register again (a predictive
    /// scaling policy, a target tracking policy on a metric math expression).
    ScalingNotCarried,
    /// The tasks bind static host ports (`bridge`/`host` network mode on EC2): a second
    /// service's tasks cannot run next to the original's, so the parallel cutover strategies
    /// cannot serve from both at once (`recreate` can).
    StaticHostPorts,
    /// ECS-native blue/green: the production listener's default actions mix the forward with
    /// a redirect, fixed-response or authenticate action, which fails ECS-native deployments.
    NativeMixedActions,
    /// ECS-native blue/green: the strategy's settings are outside the documented ranges.
    InvalidNativeStrategy,
    /// The preflight found that IAM would deny the caller an action the run needs
    /// ([`crate::permissions::preflight`]).
    PermissionDenied,
    /// Onward from CodeDeploy: the service has several task sets, or no primary one (AWS
    /// switches the controller only with a single primary task set).
    TaskSets,
    /// Onward from CodeDeploy: no CodeDeploy deployment group deploys the service.
    NoDeploymentGroup,
    /// The service's journal holds an earlier run that is not done (unfinished, or a rollback
    /// that left resources behind): resume it or roll it back first.
    UnfinishedRun,
    /// Another run holds the service's run lock ([`crate::lock`]) or its journal.
    RunLocked,
}

/// One reason the plan was refused, with the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Which rule.
    pub kind: RefusalKind,
    /// What is wrong, naming the resource.
    pub problem: String,
    /// What to change.
    pub fix: String,
}

impl Refusal {
    /// A refusal: what is wrong and how to fix it. Users' steps use [`RefusalKind::Custom`].
    pub fn new(kind: RefusalKind, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { kind, problem: problem.into(), fix: fix.into() }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n    fix: {}", self.problem, self.fix)
    }
}

/// The plan was refused before any change; every reason is listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct PlanError {
    refusals: Vec<Refusal>,
}

impl PlanError {
    /// A plan error from its refusals (at least one).
    pub fn new(refusals: Vec<Refusal>) -> Self {
        debug_assert!(!refusals.is_empty());
        Self { refusals }
    }
    /// Every reason, in the order found.
    pub fn refusals(&self) -> &[Refusal] {
        &self.refusals
    }
    /// Whether one of the reasons is `kind`.
    pub fn has(&self, kind: RefusalKind) -> bool {
        self.refusals.iter().any(|r| r.kind == kind)
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plan refused; nothing was changed:")?;
        for r in &self.refusals {
            write!(f, "\n  - {r}")?;
        }
        Ok(())
    }
}
