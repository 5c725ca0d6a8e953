//! Typed specs users compose: what the migration should create, with compile-checked required fields.
//!
//! Specs are plain data. Cross-field checks against the live account happen at plan
//! time ([`crate::plan`]), not in `build()`.
//!
//! # Settings read from configuration files
//!
//! Every optional setting has two setters, as the AWS SDK's builders have `x(T)` and
//! `set_x(Option<T>)`: `x(value)` sets it, and `x_opt(Option<value>)` sets it from an `Option`,
//! where `None` means "not given, use the default". So values read from a file apply in one
//! chain, without an `if let` per field or a different builder type per combination:
//!
//! ```
//! use ecs_bluegreen::spec::{DeploymentConfig, Migration, PipelineDeployStage, PipelineName, Port, ServiceCutover};
//! # struct File { port: Option<Port>, config: Option<DeploymentConfig>, cutover: Option<ServiceCutover>, pipeline: Option<PipelineName> }
//! # let file = File { port: Port::new(8080).ok(), config: None, cutover: None, pipeline: None };
//! let m = Migration::for_service("prod", "web")?
//!     .test_listener_port_opt(file.port)
//!     .deployment_config_opt(file.config)
//!     .cutover_opt(file.cutover)
//!     .pipeline_opt(file.pipeline.map(PipelineDeployStage::named))
//!     .build();
//! assert_eq!(m.test_listener_port().map(Port::get), Some(8080));
//! assert_eq!(m.deployment_config(), &DeploymentConfig::EcsAllAtOnce);
//! # Ok::<(), ecs_bluegreen::spec::ValidationError>(())
//! ```
//!
//! On the typed-builder specs (`TargetGroupPair::builder()`, ...) the `_opt` setter is
//! typed-builder's `strip_option(fallback = x_opt)`: it fills the same slot as `x`, so calling
//! both is a compile error like any repeated field. On [`MigrationForService`] (by value, kube
//! style) a later call replaces an earlier one, and `x_opt(None)` restores the default.
//!
//! Defaulted settings are stored as `Option`s, so a spec remembers what was given; their
//! accessors return the effective value (the one given, else the default).

mod names;
mod native;
mod step_id;

use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

pub(crate) use names::derive_target_group_name;
pub use step_id::StepId;
pub use native::{BakeTime, INFRASTRUCTURE_POLICY_ARN, MIN_LINEAR_STEP_PERCENT, NativeDeployment, NativeStrategy, Percent};
pub use names::{
    ApplicationName, ClusterName, DeploymentConfig, DeploymentGroupName, DrainTimeout, PipelineName, Port, ReadyWait, RoleArn,
    RoleName, ServiceName, TargetGroupName, TerminationWait, ValidationError,
};

/// The green (second) target group of the blue/green pair.
///
/// The blue group is the one the service uses today; the green group is a clone of it
/// on the same load balancer with a new name.
///
/// ```
/// use ecs_bluegreen::spec::{TargetGroupName, TargetGroupPair};
/// let pair = TargetGroupPair::builder().green_name(TargetGroupName::new("web-tg-2")?).build();
/// assert_eq!(pair.green_name().as_str(), "web-tg-2");
/// # Ok::<(), ecs_bluegreen::spec::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[builder(doc)]
pub struct TargetGroupPair {
    /// Name of the green target group (≤ 32 characters).
    green_name: TargetGroupName,
    /// Copy the blue group's attributes (deregistration delay, stickiness, ...). Default: yes.
    #[builder(default, setter(strip_option(fallback = copy_attributes_opt)))]
    copy_attributes: Option<bool>,
    /// Copy the blue group's tags. Default: yes.
    #[builder(default, setter(strip_option(fallback = copy_tags_opt)))]
    copy_tags: Option<bool>,
}

impl TargetGroupPair {
    /// Name of the green target group.
    pub fn green_name(&self) -> &TargetGroupName {
        &self.green_name
    }
    /// Whether the blue group's attributes are copied (default: yes).
    pub fn copy_attributes(&self) -> bool {
        self.copy_attributes.unwrap_or(true)
    }
    /// Whether the blue group's tags are copied (default: yes).
    pub fn copy_tags(&self) -> bool {
        self.copy_tags.unwrap_or(true)
    }
}

/// The managed policy attached to a created CodeDeploy service role.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ManagedPolicy {
    /// `AWSCodeDeployRoleForECS`: what the manual procedure uses.
    #[default]
    Full,
    /// `AWSCodeDeployRoleForECSLimited`: hook Lambdas must be named `CodeDeployHook_*`.
    Limited,
}

impl ManagedPolicy {
    /// The policy ARN in the `aws` partition.
    pub fn arn(self) -> &'static str {
        match self {
            ManagedPolicy::Full => "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS",
            ManagedPolicy::Limited => "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECSLimited",
        }
    }

    /// The policy ARN in `partition` (`aws`, `aws-cn`, `aws-us-gov`...).
    pub fn arn_in(self, partition: &str) -> String {
        self.arn().replacen("arn:aws:", &format!("arn:{partition}:"), 1)
    }
}

/// The CodeDeploy service role: created by the migration, or an existing one adopted.
///
/// Every field is optional: a role to create is named `<cluster>-<service>-codedeploy` unless
/// `role_name` is given (the migration fills it in, see [`Migration::role_spec`]). When
/// `existing_role_arn` is given, that role is used as it is and `role_name` and
/// `managed_policy` do not apply.
///
/// ```
/// use ecs_bluegreen::spec::{CodeDeployRole, ManagedPolicy, RoleArn};
/// // Adopt a role made by hand: no placeholder name needed.
/// let adopted = CodeDeployRole::existing(RoleArn::new("arn:aws:iam::123456789012:role/ecsCodeDeployRole")?);
/// assert_eq!(adopted.role_name(), None);
/// // Create the derived role with the limited policy.
/// let limited = CodeDeployRole::builder().managed_policy(ManagedPolicy::Limited).build();
/// assert_eq!(limited.existing_role_arn(), None);
/// # Ok::<(), ecs_bluegreen::spec::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[builder(doc)]
pub struct CodeDeployRole {
    /// Name of the role to create (trusted by `codedeploy.amazonaws.com`, scoped to this account).
    /// Default: `<cluster>-<service>-codedeploy`, cut to 64 characters.
    #[builder(default, setter(strip_option(fallback = role_name_opt)))]
    role_name: Option<RoleName>,
    /// Managed policy to attach to a created role. Default: `AWSCodeDeployRoleForECS`.
    #[builder(default, setter(strip_option(fallback = managed_policy_opt)))]
    managed_policy: Option<ManagedPolicy>,
    /// Use this existing role instead of creating one; the migration never modifies or deletes it.
    #[builder(default, setter(strip_option(fallback = existing_role_arn_opt)))]
    existing_role_arn: Option<RoleArn>,
}

impl CodeDeployRole {
    /// Adopts an existing role: the migration uses it as it is and never modifies or deletes it.
    pub fn existing(arn: RoleArn) -> Self {
        Self::builder().existing_role_arn(arn).build()
    }
    /// Name of the role to create, when one was given (else the migration derives it).
    pub fn role_name(&self) -> Option<&RoleName> {
        self.role_name.as_ref()
    }
    /// Managed policy attached to a created role (default: [`ManagedPolicy::Full`]).
    pub fn managed_policy(&self) -> ManagedPolicy {
        self.managed_policy.unwrap_or_default()
    }
    /// The adopted role, when one was given.
    pub fn existing_role_arn(&self) -> Option<&RoleArn> {
        self.existing_role_arn.as_ref()
    }
}

/// The service role as a migration uses it: a [`CodeDeployRole`] with its name filled in.
///
/// Returned by [`Migration::role_spec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRole {
    role_name: RoleName,
    managed_policy: ManagedPolicy,
    existing_role_arn: Option<RoleArn>,
}

impl ResolvedRole {
    /// Name of the role to create: the one given, or `<cluster>-<service>-codedeploy`.
    /// Not used when an existing role is adopted.
    pub fn role_name(&self) -> &RoleName {
        &self.role_name
    }
    /// Managed policy attached to a created role.
    pub fn managed_policy(&self) -> ManagedPolicy {
        self.managed_policy
    }
    /// The adopted role, when one was given.
    pub fn existing_role_arn(&self) -> Option<&RoleArn> {
        self.existing_role_arn.as_ref()
    }
}

/// The CodeDeploy application (compute platform ECS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[builder(doc)]
pub struct CodeDeployApp {
    /// Application name.
    application_name: ApplicationName,
}

impl CodeDeployApp {
    /// Application name.
    pub fn application_name(&self) -> &ApplicationName {
        &self.application_name
    }
}

/// Events on which CodeDeploy rolls a deployment back.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AutoRollbackEvent {
    /// The deployment failed.
    DeploymentFailure,
    /// A CloudWatch alarm stopped the deployment.
    DeploymentStopOnAlarm,
    /// A user stopped the deployment.
    DeploymentStopOnRequest,
}

impl AutoRollbackEvent {
    /// The name CodeDeploy uses.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoRollbackEvent::DeploymentFailure => "DEPLOYMENT_FAILURE",
            AutoRollbackEvent::DeploymentStopOnAlarm => "DEPLOYMENT_STOP_ON_ALARM",
            AutoRollbackEvent::DeploymentStopOnRequest => "DEPLOYMENT_STOP_ON_REQUEST",
        }
    }
}

/// The default deployment config, as a static so accessors can lend it.
static DEFAULT_DEPLOYMENT_CONFIG: DeploymentConfig = DeploymentConfig::EcsAllAtOnce;

/// Auto-rollback events when none are given.
const DEFAULT_AUTO_ROLLBACK_EVENTS: &[AutoRollbackEvent] =
    &[AutoRollbackEvent::DeploymentFailure, AutoRollbackEvent::DeploymentStopOnRequest];

/// The blue/green deployment group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[builder(doc)]
pub struct DeploymentGroupSpec {
    /// Deployment group name.
    deployment_group_name: DeploymentGroupName,
    /// Traffic-shifting configuration. Default: the [`Migration`]'s, else
    /// `CodeDeployDefault.ECSAllAtOnce`. When both this and the migration set one, this one
    /// wins and the plan warns.
    #[builder(default, setter(strip_option(fallback = deployment_config_opt)))]
    deployment_config: Option<DeploymentConfig>,
    /// Roll back on these events. Default: failure and stop on request
    /// (plus stop on alarm when alarms are given).
    #[builder(default, setter(strip_option(fallback = auto_rollback_events_opt)))]
    auto_rollback_events: Option<Vec<AutoRollbackEvent>>,
    /// Wait this long in `Ready` for a manual go-ahead before rerouting traffic; `None`
    /// reroutes as soon as the green tasks are ready.
    #[builder(default, setter(strip_option(fallback = ready_wait_opt)))]
    ready_wait: Option<ReadyWait>,
    /// Minutes the blue tasks are kept after a successful deployment. Default: 60.
    #[builder(default, setter(strip_option(fallback = termination_wait_opt)))]
    termination_wait: Option<TerminationWait>,
    /// CloudWatch alarm names that stop a deployment. Default: none.
    #[builder(default, setter(strip_option(fallback = alarms_opt)))]
    alarms: Option<Vec<String>>,
}

impl DeploymentGroupSpec {
    /// Deployment group name.
    pub fn deployment_group_name(&self) -> &DeploymentGroupName {
        &self.deployment_group_name
    }
    /// Traffic-shifting configuration: the one this spec sets, else `CodeDeployDefault.ECSAllAtOnce`.
    ///
    /// Inside a migration the effective one may come from the migration instead: read it from
    /// [`Migration::deployment_config`] or [`Migration::deployment_group_spec`].
    pub fn deployment_config(&self) -> &DeploymentConfig {
        self.deployment_config.as_ref().unwrap_or(&DEFAULT_DEPLOYMENT_CONFIG)
    }
    /// Auto-rollback events (default: failure and stop on request).
    pub fn auto_rollback_events(&self) -> &[AutoRollbackEvent] {
        self.auto_rollback_events.as_deref().unwrap_or(DEFAULT_AUTO_ROLLBACK_EVENTS)
    }
    /// Manual go-ahead wait, if any.
    pub fn ready_wait(&self) -> Option<ReadyWait> {
        self.ready_wait
    }
    /// Blue termination wait (default: 60 minutes).
    pub fn termination_wait(&self) -> TerminationWait {
        self.termination_wait.unwrap_or_default()
    }
    /// Alarm names (default: none).
    pub fn alarms(&self) -> &[String] {
        self.alarms.as_deref().unwrap_or_default()
    }
}

/// How the service becomes `CODE_DEPLOY`-controlled (AWS only allows it by recreating the service).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "kebab-case")]
pub enum ServiceCutover {
    /// Delete the service, wait until it is INACTIVE, create it again with `CODE_DEPLOY`.
    /// **Traffic drops** until the new tasks are healthy.
    Recreate,
    /// Create a `CODE_DEPLOY` service under `new_name` on the same target group, wait for
    /// its tasks, then drain and delete the old service. No downtime; the name changes.
    Parallel {
        /// Name of the new service.
        new_name: ServiceName,
    },
    /// A temporary bridge service serves from the target group while the original is
    /// deleted and recreated with `CODE_DEPLOY` under its own name. No downtime; same name.
    #[default]
    ParallelKeepName,
}

impl ServiceCutover {
    /// Short name as used by the CLI (`recreate`, `parallel`, `parallel-keep-name`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ServiceCutover::Recreate => "recreate",
            ServiceCutover::Parallel { .. } => "parallel",
            ServiceCutover::ParallelKeepName => "parallel-keep-name",
        }
    }
    /// Whether traffic drops during the cutover.
    pub fn has_downtime(&self) -> bool {
        matches!(self, ServiceCutover::Recreate)
    }
}

/// The pipeline whose `ECS` Deploy action becomes `CodeDeployToECS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[builder(doc)]
pub struct PipelineDeployStage {
    /// Pipeline name.
    pipeline_name: PipelineName,
    /// The Deploy action to rewrite; by default the one action that deploys this service.
    #[builder(default, setter(strip_option(fallback = action_name_opt)))]
    action_name: Option<String>,
    /// Path of the task definition template in the build artifact. Default: `taskdef.json`.
    #[builder(default, setter(into, strip_option(fallback = task_definition_template_path_opt)))]
    task_definition_template_path: Option<String>,
    /// Path of the AppSpec template in the build artifact. Default: `appspec.yml`.
    #[builder(default, setter(into, strip_option(fallback = app_spec_template_path_opt)))]
    app_spec_template_path: Option<String>,
}

impl PipelineDeployStage {
    /// A stage spec with every default, for the named pipeline.
    pub fn named(pipeline: PipelineName) -> Self {
        Self::builder().pipeline_name(pipeline).build()
    }
    /// Pipeline name.
    pub fn pipeline_name(&self) -> &PipelineName {
        &self.pipeline_name
    }
    /// The Deploy action to rewrite, if pinned.
    pub fn action_name(&self) -> Option<&str> {
        self.action_name.as_deref()
    }
    /// Task definition template path (default: `taskdef.json`).
    pub fn task_definition_template_path(&self) -> &str {
        self.task_definition_template_path.as_deref().unwrap_or("taskdef.json")
    }
    /// AppSpec template path (default: `appspec.yml`).
    pub fn app_spec_template_path(&self) -> &str {
        self.app_spec_template_path.as_deref().unwrap_or("appspec.yml")
    }
}

/// What the service migrates to.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// CodeDeploy blue/green (`CODE_DEPLOY` controller).
    #[default]
    Codedeploy,
    /// ECS-native blue/green (controller `ECS`, strategy `BLUE_GREEN`), in place.
    EcsNative,
    /// Rolling updates (controller `ECS`, strategy `ROLLING`): the way back from either blue/green.
    Rolling,
}

/// A whole migration: the service and every optional override.
///
/// Everything not set is derived from the live service at plan time (see
/// [`Migration::for_service`]). [`Migration::builder`] checks at compile time that cluster
/// and service are given.
///
/// ```
/// use ecs_bluegreen::spec::{DeploymentConfig, Migration, Port};
/// let m = Migration::for_service("prod", "web")?
///     .test_listener_port(Port::new(8080)?)
///     .deployment_config(DeploymentConfig::EcsCanary10Percent5Minutes)
///     .build();
/// assert_eq!(m.service().as_str(), "web");
/// # Ok::<(), ecs_bluegreen::spec::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[builder(doc)]
pub struct Migration {
    /// Cluster name or ARN.
    cluster: ClusterName,
    /// Service name.
    service: ServiceName,
    /// Port of the test listener. `None`: no test listener; the green group is attached to the
    /// production listener at weight 0 instead.
    #[builder(default, setter(strip_option(fallback = test_listener_port_opt)))]
    test_listener_port: Option<Port>,
    /// Traffic-shifting configuration. Default: `CodeDeployDefault.ECSAllAtOnce`.
    /// A [`DeploymentGroupSpec`] that sets its own wins over this one, and the plan warns.
    #[builder(default, setter(strip_option(fallback = deployment_config_opt)))]
    deployment_config: Option<DeploymentConfig>,
    /// How the service is switched to `CODE_DEPLOY`. Default: [`ServiceCutover::ParallelKeepName`].
    #[builder(default, setter(strip_option(fallback = cutover_opt)))]
    cutover: Option<ServiceCutover>,
    /// Migration target. Default: CodeDeploy.
    #[builder(default, setter(strip_option(fallback = target_opt)))]
    target: Option<Target>,
    /// Pipeline to rewire; none by default.
    #[builder(default, setter(strip_option(fallback = pipeline_opt)))]
    pipeline: Option<PipelineDeployStage>,
    /// Override of the green target group (default name: `<blue>-green`, ≤ 32 characters).
    #[builder(default, setter(strip_option(fallback = target_groups_opt)))]
    target_groups: Option<TargetGroupPair>,
    /// Override of the service role (default: create `<cluster>-<service>-codedeploy`).
    #[builder(default, setter(strip_option(fallback = role_opt)))]
    role: Option<CodeDeployRole>,
    /// Override of the application (default name: `<cluster>-<service>`).
    #[builder(default, setter(strip_option(fallback = application_opt)))]
    application: Option<CodeDeployApp>,
    /// Override of the deployment group (default name: `<service>-bluegreen`).
    #[builder(default, setter(strip_option(fallback = deployment_group_opt)))]
    deployment_group: Option<DeploymentGroupSpec>,
    /// ECS-native blue/green settings (strategy, bake time, infrastructure role), used with
    /// [`Target::EcsNative`]. Default: `BLUE_GREEN`, 5-minute bake, a created role.
    #[builder(default, setter(strip_option(fallback = native_opt)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    native: Option<NativeDeployment>,
    /// Identifier tagged on every resource the migration creates (default: derived from
    /// cluster and service, so reruns find their own resources).
    #[builder(default, setter(into, strip_option(fallback = migration_id_opt)))]
    migration_id: Option<String>,
    /// How long the cutover waits for a deleted service to become INACTIVE (default: derived
    /// from the blue target group's deregistration delay, see [`crate::wait::drain_deadline`]).
    #[builder(default, setter(strip_option(fallback = drain_timeout_opt)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    drain_timeout: Option<DrainTimeout>,
    /// Onward from CodeDeploy (a `CODE_DEPLOY` service to ECS-native or rolling): keep the
    /// deployment group and application instead of deleting them. Default: deleted when this
    /// tool created them (ownership tag), kept otherwise.
    #[builder(default, setter(strip_option(fallback = keep_codedeploy_opt)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keep_codedeploy: Option<bool>,
}

/// The builder returned by [`Migration::for_service`]: cluster and service are set, every
/// other setting is optional.
///
/// By value, kube style: each setter takes and returns the builder. Each setting has `x(value)`
/// and `x_opt(Option<value>)`; a later call replaces an earlier one, and `x_opt(None)` restores
/// the default (as the AWS SDK's `set_x(None)` does).
#[must_use = "a builder does nothing until build() is called"]
#[derive(Debug, Clone)]
pub struct MigrationForService {
    // The migration as built so far; cluster and service are set by `for_service`.
    migration: Migration,
}

/// Defines `x(value)` and `x_opt(Option<value>)` for each optional field of [`Migration`].
macro_rules! migration_setters {
    ($($(#[$doc:meta])* $field:ident, $field_opt:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $field(self, value: $ty) -> Self {
                self.$field_opt(Some(value))
            }
            $(#[$doc])*
            ///
            /// `None` restores the default.
            pub fn $field_opt(mut self, value: Option<$ty>) -> Self {
                self.migration.$field = value;
                self
            }
        )*
    };
}

impl MigrationForService {
    migration_setters! {
        /// Port of the test listener. Default: no test listener; the green group is attached to
        /// the production listener at weight 0 instead.
        test_listener_port, test_listener_port_opt: Port;
        /// Traffic-shifting configuration. Default: `CodeDeployDefault.ECSAllAtOnce`. A
        /// [`DeploymentGroupSpec`] that sets its own wins over this one, and the plan warns.
        deployment_config, deployment_config_opt: DeploymentConfig;
        /// How the service is switched to `CODE_DEPLOY`. Default: [`ServiceCutover::ParallelKeepName`].
        cutover, cutover_opt: ServiceCutover;
        /// Migration target. Default: CodeDeploy.
        target, target_opt: Target;
        /// Pipeline to rewire. Default: none.
        pipeline, pipeline_opt: PipelineDeployStage;
        /// Override of the green target group (default name: `<blue>-green`, ≤ 32 characters).
        target_groups, target_groups_opt: TargetGroupPair;
        /// Override of the service role (default: create `<cluster>-<service>-codedeploy`).
        role, role_opt: CodeDeployRole;
        /// Override of the application (default name: `<cluster>-<service>`).
        application, application_opt: CodeDeployApp;
        /// Override of the deployment group (default name: `<service>-bluegreen`).
        deployment_group, deployment_group_opt: DeploymentGroupSpec;
        /// How long the cutover waits for a deleted service to drain and become INACTIVE.
        /// Default: the blue target group's deregistration delay plus a margin
        /// ([`crate::wait::drain_deadline`]).
        drain_timeout, drain_timeout_opt: DrainTimeout;
        /// ECS-native blue/green settings, used with [`Target::EcsNative`]. Default:
        /// `BLUE_GREEN`, 5-minute bake, a created infrastructure role.
        native, native_opt: NativeDeployment;
        /// Onward from CodeDeploy: keep the deployment group and application. Default: deleted
        /// when this tool created them, kept otherwise.
        keep_codedeploy, keep_codedeploy_opt: bool;
    }

    /// Identifier tagged on every resource the migration creates (default: derived from
    /// cluster and service, so reruns find their own resources).
    pub fn migration_id(self, id: impl Into<String>) -> Self {
        self.migration_id_opt(Some(id.into()))
    }
    /// Identifier tagged on every resource the migration creates (default: derived from
    /// cluster and service, so reruns find their own resources).
    ///
    /// `None` restores the default.
    pub fn migration_id_opt(mut self, id: Option<String>) -> Self {
        self.migration.migration_id = id;
        self
    }

    /// The migration.
    pub fn build(self) -> Migration {
        self.migration
    }
}

/// The default cutover, as a static so [`Migration::cutover`] can lend it.
static DEFAULT_CUTOVER: ServiceCutover = ServiceCutover::ParallelKeepName;

impl Migration {
    /// Starts a migration of `service` in `cluster`, every other setting derived from the live service.
    pub fn for_service(
        cluster: impl AsRef<str>,
        service: impl AsRef<str>,
    ) -> Result<MigrationForService, ValidationError> {
        let migration = Migration::builder()
            .cluster(ClusterName::new(cluster.as_ref())?)
            .service(ServiceName::new(service.as_ref())?)
            .build();
        Ok(MigrationForService { migration })
    }

    /// Cluster name or ARN.
    pub fn cluster(&self) -> &ClusterName {
        &self.cluster
    }
    /// Cluster name (the part after `cluster/` when an ARN was given).
    pub fn cluster_name(&self) -> &str {
        let c = self.cluster.as_str();
        c.rsplit_once(":cluster/").map_or(c, |(_, n)| n)
    }
    /// Service name.
    pub fn service(&self) -> &ServiceName {
        &self.service
    }
    /// Test listener port, if any.
    pub fn test_listener_port(&self) -> Option<Port> {
        self.test_listener_port
    }
    /// The deployment config the migration uses: the [`DeploymentGroupSpec`]'s when it sets
    /// one, else this migration's, else `CodeDeployDefault.ECSAllAtOnce`.
    pub fn deployment_config(&self) -> &DeploymentConfig {
        self.deployment_group
            .as_ref()
            .and_then(|d| d.deployment_config.as_ref())
            .or(self.deployment_config.as_ref())
            .unwrap_or(&DEFAULT_DEPLOYMENT_CONFIG)
    }
    /// When the migration and its [`DeploymentGroupSpec`] both set a deployment config and
    /// they differ: a warning naming both and which one is used.
    pub fn deployment_config_conflict(&self) -> Option<String> {
        let from_group = self.deployment_group.as_ref()?.deployment_config.as_ref()?;
        let from_migration = self.deployment_config.as_ref()?;
        (from_group != from_migration).then(|| {
            format!(
                "two deployment configs are given: the deployment group spec's {from_group} is used and the migration's {from_migration} is ignored; set it in one place"
            )
        })
    }
    /// Cutover strategy (default: [`ServiceCutover::ParallelKeepName`]).
    pub fn cutover(&self) -> &ServiceCutover {
        self.cutover.as_ref().unwrap_or(&DEFAULT_CUTOVER)
    }
    /// Migration target (default: CodeDeploy).
    pub fn target(&self) -> Target {
        self.target.unwrap_or_default()
    }
    /// The drain timeout set, if any (the plan derives one otherwise).
    pub fn drain_timeout(&self) -> Option<DrainTimeout> {
        self.drain_timeout
    }
    /// Pipeline to rewire.
    pub fn pipeline(&self) -> Option<&PipelineDeployStage> {
        self.pipeline.as_ref()
    }
    /// Onward from CodeDeploy: whether the deployment group and application are kept.
    pub fn keep_codedeploy(&self) -> bool {
        self.keep_codedeploy.unwrap_or(false)
    }
    /// The ECS-native settings (the defaults when none were given).
    pub fn native(&self) -> NativeDeployment {
        self.native.clone().unwrap_or_default()
    }
    /// The ECS infrastructure role's name: the one given, or `<cluster>-<service>-ecs-infra`
    /// cut to 64 characters.
    pub fn infrastructure_role_name(&self) -> Result<RoleName, ValidationError> {
        match self.native.as_ref().and_then(NativeDeployment::infrastructure_role_name) {
            Some(name) => Ok(name.clone()),
            None => RoleName::new(cut_with_suffix(&format!("{}-{}", self.cluster_name(), self.service), "-ecs-infra", 64)),
        }
    }

    /// The migration id tagged on every created resource.
    ///
    /// The default is `<cluster>/<service>`; when that is longer than an AWS tag value may be
    /// (256 characters) it is cut and a stable hash of the whole is appended, so it stays unique.
    pub fn migration_id(&self) -> String {
        if let Some(id) = &self.migration_id {
            return id.clone();
        }
        let full = format!("{}/{}", self.cluster_name(), self.service);
        if full.chars().count() <= 256 {
            return full;
        }
        // FNV-1a: stable across Rust versions, unlike std's hashers (ids must match across runs).
        let hash = full.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        format!("{}-{hash:016x}", full.chars().take(256 - 17).collect::<String>())
    }

    /// The green target group spec: the override, or `<blue>-green` cut to 32 characters.
    pub fn target_group_pair(&self, blue_name: &str) -> Result<TargetGroupPair, ValidationError> {
        if let Some(tg) = &self.target_groups {
            return Ok(tg.clone());
        }
        let green = TargetGroupName::new(derive_target_group_name(blue_name, "-green"))?;
        Ok(TargetGroupPair::builder().green_name(green).build())
    }

    /// The role spec: the override's settings, named as the override says or
    /// `<cluster>-<service>-codedeploy` cut to 64 characters.
    pub fn role_spec(&self) -> Result<ResolvedRole, ValidationError> {
        let given = self.role.as_ref();
        let role_name = match given.and_then(CodeDeployRole::role_name) {
            Some(name) => name.clone(),
            None => RoleName::new(cut_with_suffix(&format!("{}-{}", self.cluster_name(), self.service), "-codedeploy", 64))?,
        };
        Ok(ResolvedRole {
            role_name,
            managed_policy: given.map(CodeDeployRole::managed_policy).unwrap_or_default(),
            existing_role_arn: given.and_then(|r| r.existing_role_arn.clone()),
        })
    }

    /// The application spec: the override, or `<cluster>-<service>`.
    pub fn application_spec(&self) -> Result<CodeDeployApp, ValidationError> {
        if let Some(a) = &self.application {
            return Ok(a.clone());
        }
        let name = cut_with_suffix(&format!("{}-{}", self.cluster_name(), self.service), "", 100);
        Ok(CodeDeployApp::builder().application_name(ApplicationName::new(name)?).build())
    }

    /// The deployment group spec: the override, or `<service>-bluegreen`; either way with the
    /// effective [`deployment_config`](Migration::deployment_config) set.
    pub fn deployment_group_spec(&self) -> Result<DeploymentGroupSpec, ValidationError> {
        let config = self.deployment_config().clone();
        if let Some(d) = &self.deployment_group {
            return Ok(DeploymentGroupSpec { deployment_config: Some(config), ..d.clone() });
        }
        let name = cut_with_suffix(self.service.as_str(), "-bluegreen", 100);
        Ok(DeploymentGroupSpec::builder()
            .deployment_group_name(DeploymentGroupName::new(name)?)
            .deployment_config(config)
            .build())
    }
}

/// Name of the temporary bridge service of [`ServiceCutover::ParallelKeepName`]: `<service>-bg-bridge`.
pub(crate) fn bridge_service_name(service: &str) -> String {
    let suffix = "-bg-bridge";
    let stem: String = service.chars().take(255 - suffix.len()).collect();
    format!("{stem}{suffix}")
}

fn cut_with_suffix(base: &str, suffix: &str, max: usize) -> String {
    let room = max.saturating_sub(suffix.len());
    let stem: String = base.chars().take(room).collect();
    format!("{stem}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_derive_from_the_service() {
        let m = Migration::for_service("prod", "web").unwrap().build();
        assert_eq!(m.migration_id(), "prod/web");
        assert_eq!(m.target_group_pair("web-tg-1").unwrap().green_name().as_str(), "web-tg-1-green");
        assert_eq!(m.role_spec().unwrap().role_name().as_str(), "prod-web-codedeploy");
        assert_eq!(m.role_spec().unwrap().managed_policy().arn(), "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS");
        assert_eq!(m.application_spec().unwrap().application_name().as_str(), "prod-web");
        let dg = m.deployment_group_spec().unwrap();
        assert_eq!(dg.deployment_group_name().as_str(), "web-bluegreen");
        assert_eq!(dg.deployment_config(), &DeploymentConfig::EcsAllAtOnce);
        assert_eq!(dg.termination_wait().get(), 60);
        assert_eq!(m.cutover(), &ServiceCutover::ParallelKeepName);
    }

    #[test]
    fn cluster_arn_gives_the_cluster_name() {
        let m = Migration::for_service("arn:aws:ecs:us-east-1:123456789012:cluster/prod", "web").unwrap().build();
        assert_eq!(m.cluster_name(), "prod");
        assert_eq!(m.application_spec().unwrap().application_name().as_str(), "prod-web");
    }

    #[test]
    fn green_name_of_a_32_character_blue_group_stays_valid() {
        let m = Migration::for_service("prod", "web").unwrap().build();
        let blue = "abcdefghijklmnopqrstuvwxyz-12345";
        assert_eq!(blue.len(), 32);
        let green = m.target_group_pair(blue).unwrap();
        assert_eq!(green.green_name().as_str().len(), 32);
        assert!(green.green_name().as_str().ends_with("-green"));
        assert_ne!(green.green_name().as_str(), blue);
    }

    #[test]
    fn long_names_are_cut_to_aws_limits() {
        let service = "s".repeat(200);
        let m = Migration::for_service("prod", &service).unwrap().build();
        assert_eq!(m.role_spec().unwrap().role_name().as_str().len(), 64);
        assert!(m.role_spec().unwrap().role_name().as_str().ends_with("-codedeploy"));
        assert_eq!(m.application_spec().unwrap().application_name().as_str().len(), 100);
        assert_eq!(m.deployment_group_spec().unwrap().deployment_group_name().as_str().len(), 100);
    }

    #[test]
    fn overrides_win_over_defaults() {
        let m = Migration::for_service("prod", "web")
            .unwrap()
            .role(
                CodeDeployRole::builder()
                    .role_name(RoleName::new("ecsCodeDeployRole").unwrap())
                    .managed_policy(ManagedPolicy::Limited)
                    .build(),
            )
            .application(CodeDeployApp::builder().application_name(ApplicationName::new("AppECS-prod-web").unwrap()).build())
            .target_groups(TargetGroupPair::builder().green_name(TargetGroupName::new("web-tg-2").unwrap()).build())
            .deployment_group(
                DeploymentGroupSpec::builder()
                    .deployment_group_name(DeploymentGroupName::new("DgpECS-web").unwrap())
                    .termination_wait(TerminationWait::minutes(5).unwrap())
                    .build(),
            )
            .migration_id("change-42")
            .build();
        assert_eq!(m.role_spec().unwrap().role_name().as_str(), "ecsCodeDeployRole");
        assert_eq!(m.role_spec().unwrap().managed_policy(), ManagedPolicy::Limited);
        assert_eq!(m.application_spec().unwrap().application_name().as_str(), "AppECS-prod-web");
        assert_eq!(m.target_group_pair("web-tg-1").unwrap().green_name().as_str(), "web-tg-2");
        assert_eq!(m.deployment_group_spec().unwrap().termination_wait().get(), 5);
        assert_eq!(m.migration_id(), "change-42");
    }

    #[test]
    fn invalid_names_are_refused_by_for_service() {
        let Err(err) = Migration::for_service("prod", "web.api") else { panic!("web.api was accepted") };
        assert_eq!(err.what(), "service name");
    }

    #[test]
    fn an_adopted_role_needs_no_name() {
        let arn = RoleArn::new("arn:aws:iam::123456789012:role/ecsCodeDeployRole").unwrap();
        let role = CodeDeployRole::existing(arn.clone());
        assert_eq!(role.role_name(), None);
        let m = Migration::for_service("prod", "web").unwrap().role(role).build();
        let resolved = m.role_spec().unwrap();
        assert_eq!(resolved.existing_role_arn(), Some(&arn));
        // The derived name is what a created role would get; an adopted role is used as it is.
        assert_eq!(resolved.role_name().as_str(), "prod-web-codedeploy");
    }

    #[test]
    fn a_role_override_without_a_name_keeps_the_derived_name() {
        let m = Migration::for_service("prod", "web")
            .unwrap()
            .role(CodeDeployRole::builder().managed_policy(ManagedPolicy::Limited).build())
            .build();
        let role = m.role_spec().unwrap();
        assert_eq!(role.role_name().as_str(), "prod-web-codedeploy");
        assert_eq!(role.managed_policy(), ManagedPolicy::Limited);
    }

    fn group(config: Option<DeploymentConfig>) -> DeploymentGroupSpec {
        DeploymentGroupSpec::builder()
            .deployment_group_name(DeploymentGroupName::new("DgpECS-web").unwrap())
            .deployment_config_opt(config)
            .build()
    }

    fn migration(own: Option<DeploymentConfig>, group_config: Option<Option<DeploymentConfig>>) -> Migration {
        Migration::for_service("prod", "web")
            .unwrap()
            .deployment_config_opt(own)
            .deployment_group_opt(group_config.map(group))
            .build()
    }

    #[test]
    fn the_deployment_groups_config_wins_then_the_migrations_then_the_default() {
        let canary = DeploymentConfig::EcsCanary10Percent5Minutes;
        let linear = DeploymentConfig::EcsLinear10PercentEvery1Minutes;
        let cases = [
            (None, None, DeploymentConfig::EcsAllAtOnce),
            (Some(linear.clone()), None, linear.clone()),
            (Some(linear.clone()), Some(None), linear.clone()),
            (None, Some(Some(canary.clone())), canary.clone()),
            (Some(linear.clone()), Some(Some(canary.clone())), canary.clone()),
        ];
        for (own, group_config, want) in cases {
            let m = migration(own.clone(), group_config.clone());
            assert_eq!(m.deployment_config(), &want, "{own:?} / {group_config:?}");
            assert_eq!(m.deployment_group_spec().unwrap().deployment_config(), &want, "{own:?} / {group_config:?}");
        }
    }

    #[test]
    fn two_different_deployment_configs_are_a_conflict_naming_both() {
        let m = migration(
            Some(DeploymentConfig::EcsLinear10PercentEvery1Minutes),
            Some(Some(DeploymentConfig::EcsCanary10Percent5Minutes)),
        );
        let warning = m.deployment_config_conflict().expect("a conflict");
        assert!(warning.contains("deployment group spec's CodeDeployDefault.ECSCanary10Percent5Minutes is used"), "{warning}");
        assert!(warning.contains("migration's CodeDeployDefault.ECSLinear10PercentEvery1Minutes is ignored"), "{warning}");
    }

    #[test]
    fn one_deployment_config_or_the_same_twice_is_no_conflict() {
        let canary = DeploymentConfig::EcsCanary10Percent5Minutes;
        for (own, group_config) in [
            (None, None),
            (Some(canary.clone()), None),
            (Some(canary.clone()), Some(None)),
            (None, Some(Some(canary.clone()))),
            (Some(canary.clone()), Some(Some(canary.clone()))),
        ] {
            assert_eq!(migration(own.clone(), group_config.clone()).deployment_config_conflict(), None, "{own:?} / {group_config:?}");
        }
    }

    /// A configuration file as a user's tool might read it: every setting optional.
    #[derive(Deserialize)]
    struct FileConfig {
        cluster: String,
        service: String,
        test_listener_port: Option<Port>,
        deployment_config: Option<DeploymentConfig>,
        cutover: Option<ServiceCutover>,
        migration_id: Option<String>,
        pipeline: Option<PipelineSection>,
        role: Option<RoleSection>,
        green_target_group: Option<GreenSection>,
        deployment_group: Option<GroupSection>,
    }

    #[derive(Deserialize)]
    struct PipelineSection {
        name: PipelineName,
        action: Option<String>,
        taskdef: Option<String>,
        appspec: Option<String>,
    }

    #[derive(Deserialize)]
    struct RoleSection {
        name: Option<RoleName>,
        arn: Option<RoleArn>,
        policy: Option<ManagedPolicy>,
    }

    #[derive(Deserialize)]
    struct GreenSection {
        name: TargetGroupName,
        copy_attributes: Option<bool>,
        copy_tags: Option<bool>,
    }

    #[derive(Deserialize)]
    struct GroupSection {
        name: DeploymentGroupName,
        deployment_config: Option<DeploymentConfig>,
        termination_wait: Option<TerminationWait>,
        ready_wait: Option<ReadyWait>,
        alarms: Option<Vec<String>>,
        auto_rollback_events: Option<Vec<AutoRollbackEvent>>,
    }

    /// The one chain of setters that applies a file: no `if let`, no branch per combination.
    fn from_file(json: &str) -> Migration {
        let c: FileConfig = serde_json::from_str(json).unwrap();
        let pipeline = c.pipeline.map(|p| {
            PipelineDeployStage::builder()
                .pipeline_name(p.name)
                .action_name_opt(p.action)
                .task_definition_template_path_opt(p.taskdef)
                .app_spec_template_path_opt(p.appspec)
                .build()
        });
        let role = c.role.map(|r| {
            CodeDeployRole::builder().role_name_opt(r.name).existing_role_arn_opt(r.arn).managed_policy_opt(r.policy).build()
        });
        let green = c.green_target_group.map(|g| {
            TargetGroupPair::builder()
                .green_name(g.name)
                .copy_attributes_opt(g.copy_attributes)
                .copy_tags_opt(g.copy_tags)
                .build()
        });
        let group = c.deployment_group.map(|d| {
            DeploymentGroupSpec::builder()
                .deployment_group_name(d.name)
                .deployment_config_opt(d.deployment_config)
                .termination_wait_opt(d.termination_wait)
                .ready_wait_opt(d.ready_wait)
                .alarms_opt(d.alarms)
                .auto_rollback_events_opt(d.auto_rollback_events)
                .build()
        });
        let by_hand = Migration::for_service(&c.cluster, &c.service)
            .unwrap()
            .test_listener_port_opt(c.test_listener_port)
            .deployment_config_opt(c.deployment_config.clone())
            .cutover_opt(c.cutover.clone())
            .migration_id_opt(c.migration_id.clone())
            .pipeline_opt(pipeline.clone())
            .role_opt(role.clone())
            .target_groups_opt(green.clone())
            .deployment_group_opt(group.clone())
            .build();
        // The compile-checked builder takes the same chain.
        let typed = Migration::builder()
            .cluster(ClusterName::new(&c.cluster).unwrap())
            .service(ServiceName::new(&c.service).unwrap())
            .test_listener_port_opt(c.test_listener_port)
            .deployment_config_opt(c.deployment_config)
            .cutover_opt(c.cutover)
            .migration_id_opt(c.migration_id)
            .pipeline_opt(pipeline)
            .role_opt(role)
            .target_groups_opt(green)
            .deployment_group_opt(group)
            .build();
        assert_eq!(by_hand, typed);
        by_hand
    }

    #[test]
    fn a_configuration_file_with_every_setting_applies_in_one_chain() {
        let m = from_file(
            r#"{
                "cluster": "prod", "service": "web", "test_listener_port": 8080,
                "cutover": { "strategy": "recreate" }, "migration_id": "change-42",
                "pipeline": { "name": "web-pipeline", "action": "Deploy", "taskdef": "ci/taskdef.json", "appspec": "ci/appspec.yml" },
                "role": { "name": "web-cd", "policy": "Limited" },
                "green_target_group": { "name": "web-tg-2", "copy_attributes": false, "copy_tags": false },
                "deployment_group": {
                    "name": "DgpECS-web", "deployment_config": "CodeDeployDefault.ECSCanary10Percent5Minutes",
                    "termination_wait": 5, "ready_wait": 30, "alarms": ["web-5xx"],
                    "auto_rollback_events": ["DEPLOYMENT_FAILURE"]
                }
            }"#,
        );
        assert_eq!(m.test_listener_port().map(Port::get), Some(8080));
        assert_eq!(m.cutover(), &ServiceCutover::Recreate);
        assert_eq!(m.migration_id(), "change-42");
        let p = m.pipeline().unwrap();
        assert_eq!(
            (p.pipeline_name().as_str(), p.action_name(), p.task_definition_template_path(), p.app_spec_template_path()),
            ("web-pipeline", Some("Deploy"), "ci/taskdef.json", "ci/appspec.yml")
        );
        let role = m.role_spec().unwrap();
        assert_eq!((role.role_name().as_str(), role.managed_policy(), role.existing_role_arn()), ("web-cd", ManagedPolicy::Limited, None));
        let green = m.target_group_pair("web-tg-1").unwrap();
        assert_eq!((green.green_name().as_str(), green.copy_attributes(), green.copy_tags()), ("web-tg-2", false, false));
        let dg = m.deployment_group_spec().unwrap();
        assert_eq!(dg.deployment_group_name().as_str(), "DgpECS-web");
        assert_eq!(dg.deployment_config(), &DeploymentConfig::EcsCanary10Percent5Minutes);
        assert_eq!(m.deployment_config(), &DeploymentConfig::EcsCanary10Percent5Minutes);
        assert_eq!(dg.termination_wait().get(), 5);
        assert_eq!(dg.ready_wait().map(ReadyWait::get), Some(30));
        assert_eq!(dg.alarms(), ["web-5xx"]);
        assert_eq!(dg.auto_rollback_events(), [AutoRollbackEvent::DeploymentFailure]);
    }

    #[test]
    fn a_configuration_file_without_settings_gives_the_defaults() {
        let m = from_file(r#"{ "cluster": "prod", "service": "web" }"#);
        assert_eq!(m, Migration::for_service("prod", "web").unwrap().build());
        // Empty sections: every field of every spec at its default.
        let m = from_file(
            r#"{ "cluster": "prod", "service": "web", "pipeline": { "name": "web-pipeline" }, "role": {},
                 "green_target_group": { "name": "web-tg-2" }, "deployment_group": { "name": "DgpECS-web" } }"#,
        );
        let p = m.pipeline().unwrap();
        assert_eq!(p, &PipelineDeployStage::named(PipelineName::new("web-pipeline").unwrap()));
        assert_eq!((p.action_name(), p.task_definition_template_path(), p.app_spec_template_path()), (None, "taskdef.json", "appspec.yml"));
        let role = m.role_spec().unwrap();
        assert_eq!(role.role_name().as_str(), "prod-web-codedeploy");
        assert_eq!((role.managed_policy(), role.existing_role_arn()), (ManagedPolicy::Full, None));
        let green = m.target_group_pair("web-tg-1").unwrap();
        assert!(green.copy_attributes() && green.copy_tags());
        let dg = m.deployment_group_spec().unwrap();
        assert_eq!(dg.deployment_config(), &DeploymentConfig::EcsAllAtOnce);
        assert_eq!(dg.termination_wait().get(), 60);
        assert_eq!(dg.ready_wait(), None);
        assert!(dg.alarms().is_empty());
        assert_eq!(dg.auto_rollback_events(), [AutoRollbackEvent::DeploymentFailure, AutoRollbackEvent::DeploymentStopOnRequest]);
        assert_eq!(m.cutover(), &ServiceCutover::ParallelKeepName);
        assert_eq!(m.target(), Target::Codedeploy);
        assert_eq!(m.deployment_config_conflict(), None);
    }

    #[test]
    fn for_service_setters_replace_earlier_calls_and_none_restores_the_default() {
        let m = Migration::for_service("prod", "web")
            .unwrap()
            .test_listener_port(Port::new(8080).unwrap())
            .test_listener_port(Port::new(9090).unwrap())
            .cutover(ServiceCutover::Recreate)
            .cutover_opt(None)
            .migration_id("change-42")
            .migration_id_opt(None)
            .build();
        assert_eq!(m.test_listener_port().map(Port::get), Some(9090));
        assert_eq!(m.cutover(), &ServiceCutover::ParallelKeepName);
        assert_eq!(m.migration_id(), "prod/web");
    }

    #[test]
    fn migration_round_trips_through_json() {
        let m = Migration::for_service("prod", "web")
            .unwrap()
            .test_listener_port(Port::new(8080).unwrap())
            .pipeline(PipelineDeployStage::named(PipelineName::new("web-pipeline").unwrap()))
            .build();
        let json = serde_json::to_string(&m).unwrap();
        let back: Migration = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }
}
