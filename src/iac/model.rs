//! What the hand-off is made from: the resources a journaled run created, recreated or changed,
//! with their live values, and what its rollback deleted. Plain data: the reader
//! ([`super::read`]) fills it, the renderers turn it into files; tests build it by hand.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inventory::{ListenerInfo, ScalableTargetInfo, ScalingPolicyInfo, ServiceDefinition, Tags, TargetGroupInfo};
use crate::spec::Target;

/// How the journaled run ended.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunEnd {
    /// The migration was applied: the code must take over what it made.
    Applied,
    /// The migration was rolled back: the code must forget what the rollback deleted.
    RolledBack,
}

/// What the run did to a resource.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// A new resource.
    Created,
    /// Deleted and created again under the same identifier (the recreated service).
    Recreated,
    /// An existing resource changed in place.
    Changed,
}

impl Origin {
    /// One word for READMEs.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Created => "created",
            Origin::Recreated => "recreated",
            Origin::Changed => "changed",
        }
    }
}

/// Everything a hand-off renders.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandOff {
    /// The run's migration id (the ownership tag's value).
    pub migration_id: String,
    /// Cluster name.
    pub cluster: String,
    /// The migrated service's name before the run.
    pub service: String,
    /// What the service migrated to.
    pub target: Target,
    /// How the run ended.
    pub end: RunEnd,
    /// The resources the code must hold after an apply, in the order they were made.
    pub resources: Vec<LiveResource>,
    /// What the rollback (or the migration itself) deleted and state may still hold.
    pub removed: Vec<RemovedResource>,
}

/// One resource with its live values.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveResource {
    /// What the run did to it.
    pub origin: Origin,
    /// Its values.
    pub values: ResourceValues,
}

impl LiveResource {
    /// A resource the run did `origin` to.
    pub fn new(origin: Origin, values: ResourceValues) -> Self {
        Self { origin, values }
    }
}

/// The live values of one resource, per kind.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ResourceValues {
    /// A target group, with its attributes and tags.
    TargetGroup(Box<TargetGroupInfo>),
    /// A listener of `load_balancer_arn`.
    Listener {
        /// The listener (its default actions, TLS settings and tags).
        listener: Box<ListenerInfo>,
        /// Its load balancer.
        load_balancer_arn: String,
        /// Whether it carries production traffic: its forward weights are rewritten by every
        /// blue/green deployment, so the code must not fight them.
        production: bool,
    },
    /// An IAM role.
    Role(Box<RoleValues>),
    /// A managed policy attached to a role.
    RolePolicyAttachment {
        /// Role name.
        role: String,
        /// Policy ARN.
        policy_arn: String,
    },
    /// An inline policy of a role.
    RolePolicy {
        /// Role name.
        role: String,
        /// Policy name.
        name: String,
        /// Policy document (JSON).
        document: String,
    },
    /// A CodeDeploy application.
    Application {
        /// Name.
        name: String,
        /// `ECS`.
        compute_platform: String,
        /// Tags.
        tags: Tags,
    },
    /// A CodeDeploy deployment group.
    DeploymentGroup(Box<DeploymentGroupValues>),
    /// An ECS service.
    Service {
        /// Cluster name.
        cluster: String,
        /// The service as DescribeServices reports it.
        service: Box<ServiceDefinition>,
    },
    /// The service's Application Auto Scaling target.
    ScalableTarget {
        /// Cluster name.
        cluster: String,
        /// Service name.
        service: String,
        /// The target.
        target: ScalableTargetInfo,
    },
    /// A scaling policy of the service's scalable target.
    ScalingPolicy {
        /// Cluster name.
        cluster: String,
        /// Service name.
        service: String,
        /// The policy.
        policy: Box<ScalingPolicyInfo>,
    },
    /// A pipeline.
    Pipeline(Box<PipelineValues>),
}

/// An IAM role as GetRole reports it.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleValues {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Path (`/` by default).
    pub path: String,
    /// Description.
    pub description: Option<String>,
    /// Maximum session duration in seconds.
    pub max_session_duration: Option<i32>,
    /// Trust policy document (JSON, decoded).
    pub trust_policy: String,
    /// Tags.
    pub tags: Tags,
}

/// A CodeDeploy deployment group as GetDeploymentGroup reports it.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentGroupValues {
    /// Application name.
    pub application: String,
    /// Group name.
    pub name: String,
    /// Service role ARN.
    pub service_role_arn: String,
    /// Deployment config name.
    pub deployment_config_name: Option<String>,
    /// `BLUE_GREEN` (ECS groups).
    pub deployment_type: Option<String>,
    /// `WITH_TRAFFIC_CONTROL` (ECS groups).
    pub deployment_option: Option<String>,
    /// `CONTINUE_DEPLOYMENT` or `STOP_DEPLOYMENT`.
    pub ready_action: Option<String>,
    /// Minutes to wait for a go-ahead (with `STOP_DEPLOYMENT`).
    pub ready_wait_minutes: Option<i32>,
    /// `TERMINATE` (ECS groups).
    pub termination_action: Option<String>,
    /// Minutes the blue tasks are kept.
    pub termination_wait_minutes: Option<i32>,
    /// `(cluster, service)` pairs.
    pub ecs_services: Vec<(String, String)>,
    /// Target group names of the pair.
    pub target_groups: Vec<String>,
    /// Production listener ARNs.
    pub prod_listener_arns: Vec<String>,
    /// Test listener ARNs.
    pub test_listener_arns: Vec<String>,
    /// Whether auto rollback is on.
    pub auto_rollback_enabled: bool,
    /// Its events.
    pub auto_rollback_events: Vec<String>,
    /// Whether the alarm configuration is on.
    pub alarms_enabled: bool,
    /// Alarm names.
    pub alarms: Vec<String>,
    /// Tags.
    pub tags: Tags,
}

/// A pipeline as GetPipeline reports it.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineValues {
    /// Name.
    pub name: String,
    /// Service role ARN.
    pub role_arn: String,
    /// `V1` or `V2`, when reported.
    pub pipeline_type: Option<String>,
    /// `QUEUED`, `SUPERSEDED` or `PARALLEL`, when reported.
    pub execution_mode: Option<String>,
    /// Artifact stores (one, or one per region).
    pub artifact_stores: Vec<ArtifactStoreValues>,
    /// Stages in order.
    pub stages: Vec<StageValues>,
    /// Parts of the declaration the configuration does not carry (variables, triggers).
    pub not_rendered: Vec<String>,
}

/// An artifact store of a pipeline.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArtifactStoreValues {
    /// Region (cross-region pipelines only).
    pub region: Option<String>,
    /// Bucket.
    pub location: String,
    /// `S3`.
    pub r#type: String,
    /// KMS key: `(id, type)`.
    pub encryption_key: Option<(String, String)>,
}

/// A stage of a pipeline.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageValues {
    /// Name.
    pub name: String,
    /// Actions in order.
    pub actions: Vec<ActionValues>,
}

/// An action of a pipeline stage.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionValues {
    /// Name.
    pub name: String,
    /// Category.
    pub category: String,
    /// Owner.
    pub owner: String,
    /// Provider.
    pub provider: String,
    /// Version.
    pub version: String,
    /// Configuration.
    pub configuration: BTreeMap<String, String>,
    /// Input artifacts.
    pub input_artifacts: Vec<String>,
    /// Output artifacts.
    pub output_artifacts: Vec<String>,
    /// Run order.
    pub run_order: Option<i32>,
    /// Region.
    pub region: Option<String>,
    /// Variable namespace.
    pub namespace: Option<String>,
    /// Role the action assumes.
    pub role_arn: Option<String>,
}

/// A resource gone from the account that state may still hold.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedResource {
    /// Its kind.
    pub kind: RemovedKind,
    /// Its name (the placeholder address is made from it).
    pub name: String,
    /// Why it is gone, for the README.
    pub why: String,
}

/// The kinds of resource a run or its rollback deletes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemovedKind {
    /// A target group.
    TargetGroup,
    /// A listener (named by its port).
    Listener,
    /// An IAM role.
    Role,
    /// A managed policy attachment (named `role/policy-arn`).
    RolePolicyAttachment,
    /// An inline role policy (named `role:policy`).
    RolePolicy,
    /// A CodeDeploy application.
    Application,
    /// A deployment group (named `application:group`).
    DeploymentGroup,
    /// An ECS service.
    Service,
    /// A scalable target (named by its service).
    ScalableTarget,
}
