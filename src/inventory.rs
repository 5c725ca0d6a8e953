//! The live snapshot discovery produces: plain, serialisable data, no SDK types.
//!
//! The plan is a pure function of a [`crate::spec::Migration`] and an [`Inventory`],
//! so tests can build inventories by hand.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Tag key put on every resource the migration creates; its value is the migration id.
pub const OWNERSHIP_TAG: &str = "ecs-bluegreen:migration-id";

/// Everything the plan needs to know about the account. Built by discovery (or the test kit's
/// `testing::sample::inventory()`); fields are added as discovery learns more.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// AWS account id, when known (used to scope the role trust policy).
    pub account_id: Option<String>,
    /// AWS region, when known.
    pub region: Option<String>,
    /// The service, or `None` when DescribeServices reported it missing.
    pub service: Option<ServiceDefinition>,
    /// The service's (blue) target group.
    pub blue_target_group: Option<TargetGroupInfo>,
    /// The load balancer of the blue target group, with all its listeners.
    pub load_balancer: Option<LoadBalancerInfo>,
    /// The task definition the service runs.
    pub task_definition: Option<TaskDefinitionInfo>,
    /// The named pipeline: `None` when none was asked for, `Some(None)` when it does not exist.
    pub pipeline: Option<Option<PipelineInfo>>,
    /// Resources that already carry the planned names.
    pub existing: ExistingResources,
    /// The custom deployment config the migration names, as GetDeploymentConfig reads it:
    /// `None` when it was not looked up (a predefined ECS config needs no lookup; the plan then
    /// checks nothing about it), `Some(None)` when it does not exist.
    #[serde(default, deserialize_with = "some_even_if_null", skip_serializing_if = "Option::is_none")]
    pub deployment_config: Option<Option<DeploymentConfigInfo>>,
    /// The pipeline's service role and what it lacks to run the `CodeDeployToECS` action;
    /// `None` when it was not checked (no pipeline, or an inventory built by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_role: Option<PipelineRoleInfo>,
    /// The service's deployments that ListServiceDeployments reports unfinished (pending, in
    /// progress, stopping or rolling back). Read for the rolling target only: AWS refuses to
    /// change the strategy during a deployment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfinished_service_deployments: Vec<ServiceDeploymentInfo>,
    /// For a service on the `CODE_DEPLOY` controller migrating onward (to ECS-native or rolling):
    /// the deployment group that deploys it, found by its `ecsServices`; `None` when none was
    /// looked for or found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codedeploy_source: Option<CodeDeploySource>,
}

/// The CodeDeploy setup of a `CODE_DEPLOY` service: what an onward migration reuses (target
/// groups, listeners, traffic shifting) and removes (the deployment group and application).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeDeploySource {
    /// The application holding the group.
    pub application: String,
    /// The application's tags.
    pub application_tags: Tags,
    /// The application's other deployment groups (the application is kept while it has any).
    pub other_groups: Vec<String>,
    /// The deployment group (with its tags).
    pub group: DeploymentGroupInfo,
    /// Minutes the blue task set is kept after a deployment (the ECS bake time's source).
    pub termination_wait_minutes: u32,
    /// Minutes a deployment waits for a manual go-ahead (`STOP_DEPLOYMENT` on timeout); `None`
    /// when it continues at once.
    pub ready_wait_minutes: Option<u32>,
    /// Auto-rollback events, when auto rollback is enabled.
    pub auto_rollback_events: Vec<String>,
    /// Alarm names of the group's alarm configuration.
    pub alarms: Vec<String>,
    /// The group's deployment config's traffic shifting.
    pub traffic: TrafficRouting,
}

/// How a CodeDeploy deployment config shifts traffic.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficRouting {
    /// `AllAtOnce`, `TimeBasedCanary` or `TimeBasedLinear`.
    pub r#type: String,
    /// The percent per step (linear) or of the first step (canary).
    pub percentage: Option<i32>,
    /// Minutes between steps.
    pub interval_minutes: Option<i32>,
}

impl TrafficRouting {
    /// The traffic shifting of a deployment config given its `type`, percent and minutes.
    pub fn new(r#type: impl Into<String>, percentage: Option<i32>, interval_minutes: Option<i32>) -> Self {
        Self { r#type: r#type.into(), percentage, interval_minutes }
    }
    /// The traffic shifting of a predefined ECS config, by name (`None` for a custom one).
    pub fn predefined(name: &str) -> Option<Self> {
        let t = |ty: &str, p, m| Some(Self::new(ty, Some(p), Some(m)));
        match name {
            "CodeDeployDefault.ECSAllAtOnce" => Some(Self::new("AllAtOnce", None, None)),
            "CodeDeployDefault.ECSLinear10PercentEvery1Minutes" => t("TimeBasedLinear", 10, 1),
            "CodeDeployDefault.ECSLinear10PercentEvery3Minutes" => t("TimeBasedLinear", 10, 3),
            "CodeDeployDefault.ECSCanary10Percent5Minutes" => t("TimeBasedCanary", 10, 5),
            "CodeDeployDefault.ECSCanary10Percent15Minutes" => t("TimeBasedCanary", 10, 15),
            _ => None,
        }
    }
}

/// One service deployment, as ListServiceDeployments reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDeploymentInfo {
    /// Its ARN.
    pub arn: String,
    /// `PENDING`, `IN_PROGRESS`, `ROLLBACK_IN_PROGRESS`, ...
    pub status: String,
}

/// The ListServiceDeployments statuses of a deployment that has not finished.
pub const UNFINISHED_DEPLOYMENT_STATUSES: [&str; 5] =
    ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"];

/// The pipeline's service role, checked against what the `CodeDeployToECS` action needs
/// ([`crate::pipeline_role::required`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineRoleInfo {
    /// Role ARN (the pipeline's `roleArn`).
    pub arn: String,
    /// Role name.
    pub name: String,
    /// How it was checked.
    pub check: RoleCheck,
    /// What it lacks (everything needed when it could not be checked).
    pub shortfall: crate::pipeline_role::Shortfall,
}

impl PipelineRoleInfo {
    /// A checked role.
    pub fn new(arn: impl Into<String>, check: RoleCheck, shortfall: crate::pipeline_role::Shortfall) -> Self {
        let arn = arn.into();
        let name = arn.rsplit('/').next().unwrap_or_default().to_owned();
        Self { arn, name, check, shortfall }
    }
}

/// How the pipeline role's permissions were found out.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum RoleCheck {
    /// IAM `SimulatePrincipalPolicy` (sees boundaries and every policy type).
    Simulated,
    /// The role's inline and attached policies, evaluated here (the simulation was refused or
    /// is not available).
    Policies {
        /// Why the simulation was not used.
        reason: String,
    },
    /// Neither worked: everything needed is granted.
    Unchecked {
        /// Why.
        reason: String,
    },
    /// The role does not exist.
    RoleMissing,
}

/// `null` means "looked up, not found" (`Some(None)`); only a missing key means "not looked up".
fn some_even_if_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A CodeDeploy deployment configuration, as GetDeploymentConfig reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentConfigInfo {
    /// Name.
    pub name: String,
    /// `ECS`, `Server` or `Lambda`.
    pub compute_platform: Option<String>,
    /// The traffic routing type of an ECS or Lambda config: `AllAtOnce`, `TimeBasedCanary` or
    /// `TimeBasedLinear`.
    pub traffic_routing: Option<String>,
}

/// Resources found under the names the migration plans to use.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExistingResources {
    /// A target group with the green name.
    pub green_target_group: Option<TargetGroupInfo>,
    /// An IAM role with the planned name.
    pub role: Option<RoleInfo>,
    /// A CodeDeploy application with the planned name.
    pub application: Option<ApplicationInfo>,
    /// A deployment group with the planned name in that application.
    pub deployment_group: Option<DeploymentGroupInfo>,
    /// A service (not INACTIVE) under the name the cutover will create: the bridge of
    /// `ParallelKeepName` or the new name of `Parallel`.
    #[serde(default)]
    pub cutover_service: Option<ServiceDefinition>,
}

/// A key/value tag list, sorted by key.
pub type Tags = BTreeMap<String, String>;

/// The AWS partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, `aws`
/// otherwise. Every ARN the library builds uses it (`arn:aws-cn:iam::aws:policy/...`).
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// The most tags AWS allows on a target group, listener or ECS service.
pub const MAX_TAGS_PER_RESOURCE: usize = 50;

/// Whether a tag key is reserved for AWS (`aws:` in any case, e.g. CloudFormation's
/// `aws:cloudformation:stack-name`): AWS sets such tags itself and refuses them in a request.
pub fn is_reserved_tag_key(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// `tags` without the keys reserved for AWS: what a copy of the resource can carry.
pub fn copyable_tags(tags: &Tags) -> Tags {
    tags.iter().filter(|(k, _)| !is_reserved_tag_key(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The service as DescribeServices reports it, with every field CreateService takes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceDefinition {
    /// Service name.
    pub name: String,
    /// Service ARN.
    pub arn: Option<String>,
    /// Cluster ARN.
    pub cluster_arn: Option<String>,
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: String,
    /// `ECS`, `CODE_DEPLOY` or `EXTERNAL` (absent is reported as `ECS`).
    pub deployment_controller: String,
    /// Task definition ARN.
    pub task_definition: Option<String>,
    /// Desired number of tasks.
    pub desired_count: i32,
    /// Tasks running now.
    pub running_count: i32,
    /// `EC2`, `FARGATE`, `EXTERNAL`, `MANAGED_INSTANCES`, or `None` with a capacity provider strategy.
    pub launch_type: Option<String>,
    /// Capacity provider strategy.
    pub capacity_provider_strategy: Vec<CapacityProviderItem>,
    /// Fargate platform version.
    pub platform_version: Option<String>,
    /// Load balancer entries.
    pub load_balancers: Vec<LoadBalancerEntry>,
    /// Cloud Map registries.
    pub service_registries: Vec<ServiceRegistryEntry>,
    /// awsvpc network configuration.
    pub network_configuration: Option<AwsVpcConfiguration>,
    /// Health-check grace period.
    pub health_check_grace_period_seconds: Option<i32>,
    /// Placement constraints.
    pub placement_constraints: Vec<PlacementConstraintDef>,
    /// Placement strategy.
    pub placement_strategy: Vec<PlacementStrategyDef>,
    /// `REPLICA` or `DAEMON`.
    pub scheduling_strategy: Option<String>,
    /// Deployment configuration (moto does not return it).
    pub deployment_configuration: Option<DeploymentConfigurationDef>,
    /// Service tags.
    pub tags: Tags,
    /// ECS managed tags.
    pub enable_ecs_managed_tags: bool,
    /// `TASK_DEFINITION`, `SERVICE` or `NONE`.
    pub propagate_tags: Option<String>,
    /// ECS Exec.
    pub enable_execute_command: bool,
    /// `ENABLED` or `DISABLED`.
    pub availability_zone_rebalancing: Option<String>,
    /// Service-linked role given at creation (classic setups).
    pub role_arn: Option<String>,
    /// The deployments in the service's `deployments` list.
    pub deployments: Vec<DeploymentSummary>,
    /// Number of task sets (CODE_DEPLOY / EXTERNAL services).
    pub task_set_count: usize,
    /// Its Application Auto Scaling (scalable target, policies, scheduled actions, the alarms
    /// of its step policies), as discovery read it for the migrated service; `None` when the
    /// service has no scalable target or it was not read. Deleting a service deregisters all
    /// of it, so the cutover registers it again (and a rollback restores it from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<ServiceScaling>,
}

impl ServiceDefinition {
    /// The single load balancer entry, when there is exactly one.
    pub fn single_load_balancer(&self) -> Option<&LoadBalancerEntry> {
        match self.load_balancers.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
    /// The PRIMARY deployment, if listed.
    pub fn primary_deployment(&self) -> Option<&DeploymentSummary> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }
}

/// One capacity provider strategy item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityProviderItem {
    /// Capacity provider name.
    pub capacity_provider: String,
    /// Relative weight.
    pub weight: i32,
    /// Base task count.
    pub base: i32,
}

/// One load balancer entry of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerEntry {
    /// Target group ARN (ALB/NLB).
    pub target_group_arn: Option<String>,
    /// Load balancer name (Classic Load Balancer only).
    pub load_balancer_name: Option<String>,
    /// Container that receives traffic.
    pub container_name: Option<String>,
    /// Its port.
    pub container_port: Option<i32>,
    /// ECS-native blue/green settings of the entry (`advancedConfiguration`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_configuration: Option<AdvancedConfigurationDef>,
}

/// A load balancer entry's `advancedConfiguration`: what ECS-native blue/green shifts traffic with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvancedConfigurationDef {
    /// The second (green) target group.
    pub alternate_target_group_arn: Option<String>,
    /// The production listener rule (ALB: a rule ARN; NLB: the listener ARN).
    pub production_listener_rule: Option<String>,
    /// The test listener rule, if any.
    pub test_listener_rule: Option<String>,
    /// The infrastructure role ECS uses to change the rules.
    pub role_arn: Option<String>,
}

/// One Cloud Map registry entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRegistryEntry {
    /// Registry ARN.
    pub registry_arn: Option<String>,
    /// Port (SRV records).
    pub port: Option<i32>,
    /// Container name.
    pub container_name: Option<String>,
    /// Container port.
    pub container_port: Option<i32>,
}

/// awsvpc network configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsVpcConfiguration {
    /// Subnet ids.
    pub subnets: Vec<String>,
    /// Security group ids.
    pub security_groups: Vec<String>,
    /// `ENABLED` or `DISABLED`.
    pub assign_public_ip: Option<String>,
}

/// A placement constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementConstraintDef {
    /// `distinctInstance` or `memberOf`.
    pub r#type: Option<String>,
    /// Cluster query expression.
    pub expression: Option<String>,
}

/// A placement strategy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementStrategyDef {
    /// `random`, `spread` or `binpack`.
    pub r#type: Option<String>,
    /// Field to apply it to.
    pub field: Option<String>,
}

/// Deployment configuration of an `ECS`-controlled service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentConfigurationDef {
    /// Maximum percent.
    pub maximum_percent: Option<i32>,
    /// Minimum healthy percent.
    pub minimum_healthy_percent: Option<i32>,
    /// Circuit breaker `(enable, rollback)`, rolling updates only.
    pub circuit_breaker: Option<(bool, bool)>,
    /// CloudWatch alarms, `ECS` controller only.
    pub alarms: Option<DeploymentAlarmsDef>,
    /// `ROLLING`, `BLUE_GREEN`, `LINEAR`, `CANARY` (absent means rolling).
    pub strategy: Option<String>,
    /// Bake time of ECS-native blue/green.
    pub bake_time_in_minutes: Option<i32>,
    /// `linearConfiguration` of the LINEAR strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<TrafficShiftDef>,
    /// `canaryConfiguration` of the CANARY strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<TrafficShiftDef>,
}

/// A LINEAR step or a CANARY first shift: how much traffic, and how long to wait after it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficShiftDef {
    /// `stepPercent` / `canaryPercent`.
    pub percent: Option<crate::spec::Percent>,
    /// `stepBakeTimeInMinutes` / `canaryBakeTimeInMinutes`.
    pub bake_time_in_minutes: Option<i32>,
}

/// Alarm-based rollback settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentAlarmsDef {
    /// Alarm names.
    pub alarm_names: Vec<String>,
    /// Whether alarms are watched.
    pub enable: bool,
    /// Whether an alarm rolls back.
    pub rollback: bool,
}

/// One entry of the service's `deployments` list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentSummary {
    /// Deployment id.
    pub id: Option<String>,
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED`.
    pub rollout_state: Option<String>,
    /// Desired tasks.
    pub desired_count: i32,
    /// Running tasks.
    pub running_count: i32,
    /// Whether this deployment uses Service Connect.
    pub service_connect: bool,
    /// Whether this deployment uses VPC Lattice.
    pub vpc_lattice: bool,
    /// Number of EBS volume configurations.
    pub volume_configurations: usize,
}

/// A target group with its attributes and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupInfo {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// `HTTP`, `HTTPS`, `TCP`, ...
    pub protocol: Option<String>,
    /// `HTTP1`, `HTTP2`, `GRPC`.
    pub protocol_version: Option<String>,
    /// Port.
    pub port: Option<i32>,
    /// VPC id.
    pub vpc_id: Option<String>,
    /// `ip`, `instance`, `lambda`, `alb`.
    pub target_type: Option<String>,
    /// `ipv4` or `ipv6`.
    pub ip_address_type: Option<String>,
    /// Health check protocol.
    pub health_check_protocol: Option<String>,
    /// Health check port (`traffic-port` by default).
    pub health_check_port: Option<String>,
    /// Whether health checks are on.
    pub health_check_enabled: Option<bool>,
    /// Health check path.
    pub health_check_path: Option<String>,
    /// Interval.
    pub health_check_interval_seconds: Option<i32>,
    /// Timeout.
    pub health_check_timeout_seconds: Option<i32>,
    /// Healthy threshold.
    pub healthy_threshold_count: Option<i32>,
    /// Unhealthy threshold.
    pub unhealthy_threshold_count: Option<i32>,
    /// HTTP success codes.
    pub matcher_http_code: Option<String>,
    /// gRPC success codes.
    pub matcher_grpc_code: Option<String>,
    /// Load balancers that route to it.
    pub load_balancer_arns: Vec<String>,
    /// Attributes (`DescribeTargetGroupAttributes`).
    pub attributes: BTreeMap<String, String>,
    /// Tags.
    pub tags: Tags,
}

/// A load balancer and its listeners.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerInfo {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// `application`, `network` or `gateway`.
    pub r#type: String,
    /// VPC id.
    pub vpc_id: Option<String>,
    /// Every listener of the load balancer.
    pub listeners: Vec<ListenerInfo>,
}

/// A listener and the target groups its default action and rules forward to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerInfo {
    /// ARN.
    pub arn: String,
    /// Port.
    pub port: Option<i32>,
    /// Protocol.
    pub protocol: Option<String>,
    /// Target groups the default action forwards to, with weights.
    pub default_forward: Vec<WeightedTargetGroup>,
    /// The whole default action list as DescribeListeners reports it (authentication,
    /// forward with stickiness, ...), in order; re-sent with only the forward changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_actions: Vec<ListenerAction>,
    /// TLS settings of an HTTPS or TLS listener (policy, default certificate, ALPN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTls>,
    /// Non-default rules that forward to the blue target group.
    pub rules_to_blue: Vec<String>,
    /// The ARN of the listener's default rule (DescribeRules `IsDefault`): what ECS-native
    /// blue/green names as an ALB's production or test listener rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_rule_arn: Option<String>,
    /// Tags (used to recognise a listener this tool created).
    pub tags: Tags,
}

/// Why a listener cannot be the production listener: plan and verify use the same rule.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteProblem {
    /// The default action does not forward; `rules` are the listener's rules to the blue group.
    NoForward {
        /// Rules that forward to the blue group.
        rules: Vec<String>,
    },
    /// The default action forwards to these groups too.
    Stray(Vec<String>),
}

impl ListenerInfo {
    /// Checks that the default action forwards, and only to `groups`. CodeDeploy shifts traffic
    /// on the listener's default action; how it treats other rules is not documented, so a
    /// listener that reaches the service only through a rule is not a production listener.
    pub fn default_route(&self, groups: &[&str]) -> Result<(), RouteProblem> {
        if self.default_forward.is_empty() {
            return Err(RouteProblem::NoForward { rules: self.rules_to_blue.clone() });
        }
        let stray: Vec<String> = self
            .default_forward
            .iter()
            .filter(|t| !groups.contains(&t.target_group_arn.as_str()))
            .map(|t| t.target_group_arn.clone())
            .collect();
        if stray.is_empty() { Ok(()) } else { Err(RouteProblem::Stray(stray)) }
    }
}

/// The words for [`RouteProblem::NoForward`], the same in plan refusals and verify.
pub(crate) fn no_forward_message(rules: &[String]) -> String {
    if rules.is_empty() {
        "its default action does not forward".to_owned()
    } else {
        format!(
            "its default action does not forward; it reaches the service's target group only through rule {} (CodeDeploy shifts traffic on the listener's default action)",
            rules.join(", ")
        )
    }
}

/// One action of a listener's default actions or a rule's actions, every field AWS reports.
///
/// An OIDC client secret is never kept: DescribeListeners does not return it, and the
/// action is re-sent with `UseExistingClientSecret`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerAction {
    /// `forward`, `authenticate-oidc`, `authenticate-cognito`, `redirect`, `fixed-response`.
    pub r#type: String,
    /// Order within the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
    /// Single target group of a forward (the short form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    /// Weighted forward config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_config: Option<ForwardSettings>,
    /// OIDC authentication config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticate_oidc: Option<AuthSettings>,
    /// Cognito authentication config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticate_cognito: Option<AuthSettings>,
    /// Redirect or fixed-response config: field name to value (`Protocol`, `Port`, `Host`,
    /// `Path`, `Query`, `StatusCode`, `MessageBody`, `ContentType`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response: BTreeMap<String, String>,
}

/// A weighted forward: target groups and stickiness.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardSettings {
    /// Target groups with weights.
    pub target_groups: Vec<WeightedTargetGroup>,
    /// `TargetGroupStickinessConfig.Enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness_enabled: Option<bool>,
    /// `TargetGroupStickinessConfig.DurationSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness_duration_seconds: Option<i32>,
}

/// An `authenticate-oidc` or `authenticate-cognito` config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthSettings {
    /// Scalar fields by API name (`Issuer`, `ClientId`, `UserPoolArn`, `Scope`,
    /// `SessionCookieName`, `OnUnauthenticatedRequest`, ...); never `ClientSecret`.
    pub fields: BTreeMap<String, String>,
    /// `SessionTimeout` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_timeout: Option<i64>,
    /// `AuthenticationRequestExtraParams`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_params: BTreeMap<String, String>,
}

/// The TLS settings of an HTTPS (ALB) or TLS (NLB) listener, copied onto the test listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerTls {
    /// Security policy (`SslPolicy`).
    pub ssl_policy: Option<String>,
    /// Default certificate ARN.
    pub certificate_arn: Option<String>,
    /// ALPN policy (NLB TLS listeners).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn_policy: Vec<String>,
    /// The listener's other certificates (DescribeListenerCertificates without the default
    /// one), for clients that ask for another host name (SNI).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_certificates: Vec<String>,
}

/// A target group in a forward action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedTargetGroup {
    /// Target group ARN.
    pub target_group_arn: String,
    /// Weight (1 when the action has a single target group).
    pub weight: i32,
}

/// The parts of the task definition the plan needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDefinitionInfo {
    /// ARN.
    pub arn: String,
    /// The task role (`taskRoleArn`), if any.
    #[serde(default)]
    pub task_role_arn: Option<String>,
    /// The task execution role (`executionRoleArn`), if any.
    #[serde(default)]
    pub execution_role_arn: Option<String>,
    /// Family.
    pub family: String,
    /// Network mode.
    pub network_mode: Option<String>,
    /// Required compatibilities.
    pub requires_compatibilities: Vec<String>,
    /// Containers: name, image and container ports.
    pub containers: Vec<ContainerInfo>,
}

/// A container of the task definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerInfo {
    /// Name.
    pub name: String,
    /// Image.
    pub image: Option<String>,
    /// Container ports.
    pub ports: Vec<i32>,
    /// Static host ports of a `bridge`/`host` network mode task, by container port (a port
    /// mapping with a non-zero `hostPort`; `host` mode maps every port to itself). Two tasks
    /// with one cannot run on the same instance. Empty for `awsvpc` and dynamic host ports.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub static_host_ports: BTreeMap<i32, i32>,
}

/// A pipeline's stages and actions (summary used for planning).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineInfo {
    /// Name.
    pub name: String,
    /// The pipeline's service role (`roleArn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Version.
    pub version: Option<i32>,
    /// Stages in order.
    pub stages: Vec<StageInfo>,
}

impl PipelineInfo {
    /// Artifacts produced before `action` of stage `stage_index` runs: by every action of an
    /// earlier stage, and by actions of its own stage with a lower run order.
    pub fn artifacts_produced_before(&self, stage_index: usize, action: &ActionInfo) -> Vec<&String> {
        let run_order = action.run_order.unwrap_or(1);
        let own_stage = self.stages.get(stage_index).map(|s| s.actions.as_slice()).unwrap_or_default();
        self.stages[..stage_index.min(self.stages.len())]
            .iter()
            .flat_map(|s| s.actions.iter())
            .chain(own_stage.iter().filter(|a| a.run_order.unwrap_or(1) < run_order))
            .flat_map(|a| a.output_artifacts.iter())
            .collect()
    }
}

/// A pipeline stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageInfo {
    /// Name.
    pub name: String,
    /// Actions.
    pub actions: Vec<ActionInfo>,
}

/// A pipeline action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionInfo {
    /// Name.
    pub name: String,
    /// Category (`Source`, `Build`, `Deploy`, ...).
    pub category: String,
    /// Owner.
    pub owner: String,
    /// Provider (`ECS`, `CodeDeployToECS`, ...).
    pub provider: String,
    /// Version.
    pub version: String,
    /// Configuration.
    pub configuration: BTreeMap<String, String>,
    /// Input artifact names.
    pub input_artifacts: Vec<String>,
    /// Output artifact names.
    pub output_artifacts: Vec<String>,
    /// Run order within the stage.
    pub run_order: Option<i32>,
}

/// An IAM role found under the planned name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleInfo {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Tags.
    pub tags: Tags,
}

/// A CodeDeploy application found under the planned name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationInfo {
    /// Name.
    pub name: String,
    /// Application id.
    pub id: Option<String>,
    /// `ECS`, `Server` or `Lambda`.
    pub compute_platform: Option<String>,
    /// Tags.
    pub tags: Tags,
}

/// A CodeDeploy deployment group found under the planned name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentGroupInfo {
    /// Name.
    pub name: String,
    /// Service role ARN.
    pub service_role_arn: Option<String>,
    /// Deployment config name.
    pub deployment_config_name: Option<String>,
    /// `(cluster, service)` pairs.
    pub ecs_services: Vec<(String, String)>,
    /// Target group names of the pair.
    pub target_group_names: Vec<String>,
    /// Production listener ARNs.
    pub prod_listener_arns: Vec<String>,
    /// Test listener ARNs.
    pub test_listener_arns: Vec<String>,
    /// Tags.
    pub tags: Tags,
}

/// The Application Auto Scaling of an ECS service (`service/<cluster>/<service>`, dimension
/// `ecs:service:DesiredCount`): everything DeleteService removes with the service, and the
/// CloudWatch alarms that invoke its step policies (they outlive it, naming dead ARNs).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceScaling {
    /// The scalable target.
    pub target: ScalableTargetInfo,
    /// Every scaling policy, in the order DescribeScalingPolicies lists them.
    #[serde(default)]
    pub policies: Vec<ScalingPolicyInfo>,
    /// Every scheduled action.
    #[serde(default)]
    pub scheduled_actions: Vec<ScheduledActionInfo>,
    /// The alarms whose actions name one of the step policies, with every field PutMetricAlarm
    /// takes (it rewrites the whole alarm).
    #[serde(default)]
    pub alarms: Vec<MetricAlarmInfo>,
}

impl ServiceScaling {
    /// A scaling of `target` alone (policies, scheduled actions and alarms added to the fields).
    pub fn new(target: ScalableTargetInfo) -> Self {
        Self { target, ..Self::default() }
    }
}

/// The namespace of ECS scalable targets.
pub const ECS_NAMESPACE: &str = "ecs";
/// The scalable dimension of an ECS service.
pub const ECS_DESIRED_COUNT: &str = "ecs:service:DesiredCount";

/// The Application Auto Scaling resource id of an ECS service.
pub fn scaling_resource_id(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

/// A scalable target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalableTargetInfo {
    /// Minimum capacity.
    pub min_capacity: i32,
    /// Maximum capacity.
    pub max_capacity: i32,
    /// `SuspendedState.DynamicScalingInSuspended`.
    #[serde(default)]
    pub dynamic_scaling_in_suspended: bool,
    /// `SuspendedState.DynamicScalingOutSuspended`.
    #[serde(default)]
    pub dynamic_scaling_out_suspended: bool,
    /// `SuspendedState.ScheduledScalingSuspended`.
    #[serde(default)]
    pub scheduled_scaling_suspended: bool,
    /// The role Application Auto Scaling uses (the service-linked role unless one was given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// A scaling policy with its whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScalingPolicyInfo {
    /// Name (unique per scalable target).
    pub name: String,
    /// Its ARN (a new one each time it is created).
    pub arn: String,
    /// `StepScaling`, `TargetTrackingScaling` or `PredictiveScaling`.
    pub policy_type: String,
    /// The step scaling configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepScalingConfig>,
    /// The target tracking configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tracking: Option<TargetTrackingConfig>,
}

/// `StepScalingPolicyConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepScalingConfig {
    /// `ChangeInCapacity`, `PercentChangeInCapacity` or `ExactCapacity`.
    pub adjustment_type: Option<String>,
    /// The steps.
    pub step_adjustments: Vec<StepAdjustmentDef>,
    /// Minimum adjustment magnitude (percent adjustments).
    pub min_adjustment_magnitude: Option<i32>,
    /// Cooldown in seconds.
    pub cooldown: Option<i32>,
    /// `Average`, `Minimum` or `Maximum`.
    pub metric_aggregation_type: Option<String>,
}

/// One step of a step scaling policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepAdjustmentDef {
    /// Lower bound (relative to the alarm threshold).
    pub lower_bound: Option<f64>,
    /// Upper bound.
    pub upper_bound: Option<f64>,
    /// Adjustment.
    pub scaling_adjustment: i32,
}

/// `TargetTrackingScalingPolicyConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetTrackingConfig {
    /// The target value.
    pub target_value: f64,
    /// A predefined metric: `(type, resource label)`.
    pub predefined_metric: Option<(String, Option<String>)>,
    /// A customized metric.
    pub customized_metric: Option<CustomizedMetricDef>,
    /// Scale-out cooldown in seconds.
    pub scale_out_cooldown: Option<i32>,
    /// Scale-in cooldown in seconds.
    pub scale_in_cooldown: Option<i32>,
    /// Whether scale-in is disabled.
    pub disable_scale_in: Option<bool>,
}

/// A customized metric of a target tracking policy (a single metric; metric math is refused
/// at plan time).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomizedMetricDef {
    /// Metric name.
    pub metric_name: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Dimensions, in order.
    pub dimensions: Vec<(String, String)>,
    /// Statistic.
    pub statistic: Option<String>,
    /// Unit.
    pub unit: Option<String>,
    /// Whether it uses metric math (`Metrics`), which is not carried.
    #[serde(default)]
    pub metric_math: bool,
}

/// A scheduled action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledActionInfo {
    /// Name.
    pub name: String,
    /// `at(...)`, `rate(...)` or `cron(...)`.
    pub schedule: String,
    /// Time zone of the schedule.
    pub timezone: Option<String>,
    /// Start time, seconds since the epoch.
    pub start_time: Option<i64>,
    /// End time, seconds since the epoch.
    pub end_time: Option<i64>,
    /// New minimum capacity.
    pub min_capacity: Option<i32>,
    /// New maximum capacity.
    pub max_capacity: Option<i32>,
}

/// A CloudWatch metric alarm with every field PutMetricAlarm takes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricAlarmInfo {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Whether actions run.
    pub actions_enabled: Option<bool>,
    /// Actions on OK.
    pub ok_actions: Vec<String>,
    /// Actions on ALARM.
    pub alarm_actions: Vec<String>,
    /// Actions on INSUFFICIENT_DATA.
    pub insufficient_data_actions: Vec<String>,
    /// Metric name (single-metric alarms).
    pub metric_name: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Statistic.
    pub statistic: Option<String>,
    /// Extended statistic (`p99`).
    pub extended_statistic: Option<String>,
    /// Dimensions, in order.
    pub dimensions: Vec<(String, String)>,
    /// Period in seconds.
    pub period: Option<i32>,
    /// Unit.
    pub unit: Option<String>,
    /// Evaluation periods.
    pub evaluation_periods: Option<i32>,
    /// Datapoints to alarm.
    pub datapoints_to_alarm: Option<i32>,
    /// Threshold.
    pub threshold: Option<f64>,
    /// Comparison operator.
    pub comparison_operator: Option<String>,
    /// `breaching`, `notBreaching`, `ignore`, `missing`.
    pub treat_missing_data: Option<String>,
    /// `evaluate` or `ignore`.
    pub evaluate_low_sample_count_percentile: Option<String>,
    /// Metric math queries (alarms on several metrics).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricQueryDef>,
    /// Threshold metric id (anomaly detection).
    pub threshold_metric_id: Option<String>,
}

impl MetricAlarmInfo {
    /// Every action of the alarm (OK, ALARM, INSUFFICIENT_DATA).
    pub fn all_actions(&self) -> impl Iterator<Item = &String> {
        self.ok_actions.iter().chain(&self.alarm_actions).chain(&self.insufficient_data_actions)
    }
}

/// A CloudWatch metric as `(namespace, name, dimensions)`.
pub type MetricId = (Option<String>, Option<String>, Vec<(String, String)>);

/// One metric query of a metric math alarm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricQueryDef {
    /// Id.
    pub id: String,
    /// Expression.
    pub expression: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Whether it returns data.
    pub return_data: Option<bool>,
    /// Period.
    pub period: Option<i32>,
    /// Account id.
    pub account_id: Option<String>,
    /// The metric: `(namespace, name, dimensions)`.
    pub metric: Option<MetricId>,
    /// Metric stat period.
    pub stat_period: Option<i32>,
    /// Metric stat statistic.
    pub stat: Option<String>,
    /// Metric stat unit.
    pub stat_unit: Option<String>,
}

/// The parts of a scaling policy ARN
/// (`arn:aws:autoscaling:region:account:scalingPolicy:uuid:resource/ecs/service/c/s:policyName/n`):
/// `(resource id, policy name)` of an ECS service's policy, else `None`.
pub fn policy_arn_parts(arn: &str) -> Option<(&str, &str)> {
    if !arn.contains(":scalingPolicy:") {
        return None;
    }
    let (_, rest) = arn.split_once(":resource/ecs/")?;
    let (resource, name) = rest.split_once(":policyName/")?;
    // A target tracking alarm's action carries `:createdBy/<uuid>` after the name.
    let name = name.split(":createdBy/").next().unwrap_or(name);
    Some((resource, name))
}
