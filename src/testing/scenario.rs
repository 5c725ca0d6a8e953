//! What the mock account holds when a test starts: plain data, changed in one line per variation.

use std::collections::BTreeMap;
use std::time::Duration;

use super::sample::{self, *};
use crate::inventory::{
    DeploymentSummary, ListenerInfo, LoadBalancerInfo, OWNERSHIP_TAG, PipelineInfo, ServiceDefinition, TargetGroupInfo,
    TaskDefinitionInfo,
};

/// Name of the role [`Scenario::with_existing_role`] adds (the name the ECS console suggests).
pub const EXISTING_ROLE_NAME: &str = "ecsCodeDeployRole";
/// Its ARN.
pub const EXISTING_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/ecsCodeDeployRole";
/// The AWS-managed policy CodeDeploy needs for ECS.
pub const CODEDEPLOY_FOR_ECS_POLICY: &str = "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS";
/// ARN of the second target group [`Scenario::with_two_target_groups`] attaches.
pub const ADMIN_TG_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-admin/0f1e2d3c4b5a6978";

/// How long ECS takes, in the fake, for what happens in the background.
///
/// Durations are measured on tokio's clock, so under `#[tokio::test(start_paused = true)]` they
/// cost no real time. With the default (all zero) a change becomes visible just after the call
/// that caused it, never at the same instant, so a wait still polls at least twice, as on AWS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EcsTiming {
    /// From CreateService until all desired tasks run.
    pub tasks_start: Duration,
    /// From DeleteService (forced) until the service is INACTIVE.
    pub drain: Duration,
    /// From the tasks running until their targets pass the load balancer's health checks.
    pub health_checks: Duration,
}

impl EcsTiming {
    /// Tasks start after `tasks_start`; a deleted service drains for `drain`; targets are
    /// healthy as soon as the tasks run.
    pub fn new(tasks_start: Duration, drain: Duration) -> Self {
        Self { tasks_start, drain, health_checks: Duration::ZERO }
    }

    /// Targets pass health checks `health_checks` after their tasks run.
    pub fn with_health_checks(mut self, health_checks: Duration) -> Self {
        self.health_checks = health_checks;
        self
    }
}

/// An IAM role in a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoleSetup {
    /// Name.
    pub name: String,
    /// Trust policy document (JSON).
    pub trust_policy: String,
    /// Attached managed policy ARNs.
    pub policies: Vec<String>,
    /// Inline policies: name → document.
    pub inline_policies: BTreeMap<String, String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// The account a [`MockAccount`](super::MockAccount) starts from.
///
/// [`Scenario::default`] is a rolling Fargate service `web` in cluster `prod`, two tasks of
/// `web:3`, behind the ALB `web-alb` whose HTTP:80 listener forwards to `web-tg-1`, built by the
/// pipeline `web-pipeline` (Source → Build → Deploy with the `ECS` provider); nothing of a
/// migration exists. The constants of [`sample`](super::sample) name its resources. Each method
/// changes one thing:
///
/// ```
/// use ecs_bluegreen::testing::Scenario;
/// let scenario = Scenario::default().on_ec2().with_existing_role().without_pipeline();
/// assert_eq!(scenario.service.launch_type.as_deref(), Some("EC2"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Scenario {
    /// Account id.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Cluster name.
    pub cluster: String,
    /// The service, as DescribeServices reports it.
    pub service: ServiceDefinition,
    /// Its task definition.
    pub task_definition: TaskDefinitionInfo,
    /// The load balancer, with its listeners.
    pub load_balancer: LoadBalancerInfo,
    /// Target groups (the first is the service's).
    pub target_groups: Vec<TargetGroupInfo>,
    /// The pipeline, if any.
    pub pipeline: Option<PipelineInfo>,
    /// IAM roles that exist before the run.
    pub roles: Vec<RoleSetup>,
    /// Whether the account looks as a finished migration with default settings left it.
    pub migrated: bool,
    /// The target of that migration (CodeDeploy unless [`Scenario::already_on_ecs_native`]).
    pub migrated_to: crate::spec::Target,
    /// Background timing of ECS.
    pub ecs_timing: EcsTiming,
    /// How CodeDeploy deployments created in the account progress.
    pub deployments: DeploymentScript,
    /// How ECS-native service deployments (UpdateService `forceNewDeployment`) progress.
    pub native_deployments: NativeDeploymentScript,
}

/// How an ECS service deployment started in the mock account (UpdateService
/// `forceNewDeployment`) progresses: each DescribeServiceDeployments answers the next step of
/// `steps`; the last one stays. StopServiceDeployment ends it (`ROLLBACK` →
/// `ROLLBACK_SUCCESSFUL`, `ABORT` → `STOPPED`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NativeDeploymentScript {
    /// `(status, lifecycle stage)` in order, e.g. `("IN_PROGRESS", Some("SCALE_UP"))`.
    pub steps: Vec<(String, Option<String>)>,
    /// ECS's `statusReason` (and the rollback's reason) of a `ROLLBACK_*` or `STOPPED` step.
    pub status_reason: Option<String>,
}

impl Default for NativeDeploymentScript {
    /// PENDING, then IN_PROGRESS through SCALE_UP, TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT and
    /// BAKE_TIME, then SUCCESSFUL.
    fn default() -> Self {
        Self::steps(&[
            ("PENDING", None),
            ("IN_PROGRESS", Some("SCALE_UP")),
            ("IN_PROGRESS", Some("TEST_TRAFFIC_SHIFT")),
            ("IN_PROGRESS", Some("PRODUCTION_TRAFFIC_SHIFT")),
            ("IN_PROGRESS", Some("BAKE_TIME")),
            ("SUCCESSFUL", Some("CLEAN_UP")),
        ])
    }
}

impl NativeDeploymentScript {
    /// These steps, one per DescribeServiceDeployments.
    pub fn steps(steps: &[(&str, Option<&str>)]) -> Self {
        Self { steps: steps.iter().map(|(s, l)| ((*s).to_owned(), l.map(str::to_owned))).collect(), status_reason: None }
    }
}

/// How a CodeDeploy deployment created in the mock account progresses: each GetDeployment
/// answers the next status of `statuses`; the last one stays.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeploymentScript {
    /// Statuses in order (`Created`, `InProgress`, `Ready`, `Baking`, `Succeeded`, `Failed`,
    /// `Stopped`).
    pub statuses: Vec<String>,
    /// For a `Failed` end: CodeDeploy's error code and message.
    pub error: Option<(String, String)>,
    /// From this GetDeployment on (0 = the first), production traffic is fully on the
    /// replacement task set (the ECS target's `AllowTraffic` succeeded, green weight 100);
    /// `None`: only once the deployment succeeded.
    pub traffic_shifted_from: Option<usize>,
}

impl Default for DeploymentScript {
    /// Created → InProgress → Succeeded.
    fn default() -> Self {
        Self::statuses(&["Created", "InProgress", "Succeeded"])
    }
}

impl DeploymentScript {
    /// These statuses, one per GetDeployment.
    pub fn statuses(statuses: &[&str]) -> Self {
        Self { statuses: statuses.iter().map(|s| (*s).to_owned()).collect(), error: None, traffic_shifted_from: None }
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            account_id: ACCOUNT.into(),
            region: REGION.into(),
            cluster: CLUSTER.into(),
            service: sample::service(),
            task_definition: sample::task_definition(),
            load_balancer: sample::load_balancer(),
            target_groups: vec![sample::blue_target_group()],
            pipeline: Some(sample::pipeline()),
            roles: vec![pipeline_role()],
            migrated: false,
            migrated_to: crate::spec::Target::Codedeploy,
            ecs_timing: EcsTiming::default(),
            deployments: DeploymentScript::default(),
            native_deployments: NativeDeploymentScript::default(),
        }
    }
}

/// The pipeline's service role of the default scenario: trusted by CodePipeline, with the
/// inline policy a least-privilege role for the `ECS` deploy action has
/// ([`sample::ECS_DEPLOY_POLICY`]), nothing for CodeDeploy.
fn pipeline_role() -> RoleSetup {
    RoleSetup {
        name: sample::PIPELINE_ROLE.into(),
        trust_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codepipeline.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
        policies: vec![],
        inline_policies: [("ecs-deploy".to_owned(), sample::ECS_DEPLOY_POLICY.to_owned())].into(),
        tags: BTreeMap::new(),
    }
}

impl Scenario {
    /// The default: a rolling Fargate service behind an ALB, with its pipeline.
    pub fn rolling_fargate_alb() -> Self {
        Self::default()
    }

    /// A scenario holding what discovery found in a real account (or an emulator): the
    /// service, its task definition, target group, load balancer and pipeline. Resources of an
    /// earlier migration (`inventory.existing`) are not carried. `None` when the inventory lacks
    /// the service, its target group, load balancer or task definition.
    ///
    /// Lets a test replay a live service's shape on the kit.
    pub fn from_inventory(inventory: &crate::Inventory) -> Option<Self> {
        let service = inventory.service.clone()?;
        let (account_id, region) = crate::discover::arn_account_region(service.arn.as_deref()?);
        Some(Self {
            account_id: account_id?,
            region: region?,
            cluster: service.cluster_arn.as_deref()?.rsplit('/').next()?.to_owned(),
            task_definition: inventory.task_definition.clone()?,
            load_balancer: inventory.load_balancer.clone()?,
            target_groups: vec![inventory.blue_target_group.clone()?],
            pipeline: inventory.pipeline.clone().flatten(),
            service,
            // The pipeline's role exists; its policies are not in the inventory.
            roles: inventory
                .pipeline
                .iter()
                .flatten()
                .filter_map(|p| p.role_arn.as_deref())
                .map(|arn| RoleSetup {
                    name: arn.rsplit('/').next().unwrap_or(arn).to_owned(),
                    inline_policies: BTreeMap::new(),
                    ..pipeline_role()
                })
                .collect(),
            migrated: false,
            migrated_to: crate::spec::Target::Codedeploy,
            ecs_timing: EcsTiming::default(),
            deployments: DeploymentScript::default(),
            native_deployments: NativeDeploymentScript::default(),
        })
    }

    /// The service is named `name` (its ARN too), everything else as it was: accounts of
    /// several such scenarios stand for a fleet (see [`crate::fleet`]), one service each.
    pub fn with_service_name(mut self, name: &str) -> Self {
        if let Some(arn) = &self.service.arn {
            let stem = arn.rsplit_once('/').map_or(arn.as_str(), |(stem, _)| stem);
            self.service.arn = Some(format!("{stem}/{name}"));
        }
        self.service.name = name.to_owned();
        self
    }

    /// Behind a load balancer named `name` (its ARN and its listeners' ARNs follow the name),
    /// everything else as it was: services of a [`FleetScenario`](super::FleetScenario) that
    /// name the same load balancer show the same one.
    pub fn behind_load_balancer(mut self, name: &str) -> Self {
        let old_stem = self.load_balancer.arn.split_once(":loadbalancer/").map(|(_, s)| s.to_owned()).unwrap_or_default();
        let kind = old_stem.split('/').next().unwrap_or("app");
        let new_stem = format!("{kind}/{name}/{:016x}", name_hash(name));
        let rename = |arn: &mut String| *arn = arn.replace(&old_stem, &new_stem);
        rename(&mut self.load_balancer.arn);
        self.load_balancer.name = name.to_owned();
        for l in &mut self.load_balancer.listeners {
            rename(&mut l.arn);
            l.default_rule_arn.as_mut().map(rename);
        }
        for tg in &mut self.target_groups {
            tg.load_balancer_arns.iter_mut().for_each(rename);
        }
        self
    }

    /// Built by a pipeline named `name` whose `ECS` deploy actions deploy this scenario's
    /// service (name it after [`with_service_name`](Self::with_service_name)).
    pub fn with_pipeline_name(mut self, name: &str) -> Self {
        let (cluster, service) = (self.cluster.clone(), self.service.name.clone());
        if let Some(p) = &mut self.pipeline {
            p.name = name.to_owned();
            for a in p.stages.iter_mut().flat_map(|s| s.actions.iter_mut()).filter(|a| a.provider == "ECS") {
                a.configuration.insert("ClusterName".into(), cluster.clone());
                a.configuration.insert("ServiceName".into(), service.clone());
            }
        }
        self
    }

    /// EC2 launch type, `bridge` networking, instance targets.
    pub fn on_ec2(mut self) -> Self {
        self.service.launch_type = Some("EC2".into());
        self.service.platform_version = None;
        self.service.network_configuration = None;
        self.service.placement_strategy = vec![crate::inventory::PlacementStrategyDef {
            r#type: Some("spread".into()),
            field: Some("attribute:ecs.availability-zone".into()),
        }];
        self.task_definition.network_mode = Some("bridge".into());
        self.task_definition.requires_compatibilities = vec!["EC2".into()];
        for tg in &mut self.target_groups {
            tg.target_type = Some("instance".into());
        }
        self
    }

    /// With [`on_ec2`](Self::on_ec2): the load-balanced container port is bound to the same
    /// static host port (`80:80` instead of a dynamic host port), so two tasks of it cannot run
    /// on one instance (the parallel cutovers are refused).
    pub fn with_static_host_ports(mut self) -> Self {
        for c in &mut self.task_definition.containers {
            c.static_host_ports = c.ports.iter().map(|p| (*p, *p)).collect();
        }
        self
    }

    /// Fargate through capacity providers (2 tasks on `FARGATE` as a base, the rest 3:1 on
    /// `FARGATE_SPOT`) instead of a launch type.
    pub fn on_fargate_spot(mut self) -> Self {
        self.service.launch_type = None;
        self.service.capacity_provider_strategy = vec![
            crate::inventory::CapacityProviderItem { capacity_provider: "FARGATE".into(), weight: 1, base: 2 },
            crate::inventory::CapacityProviderItem { capacity_provider: "FARGATE_SPOT".into(), weight: 3, base: 0 },
        ];
        self
    }

    /// A Network Load Balancer: TCP listener and target group (CodeDeploy then allows only
    /// `CodeDeployDefault.ECSAllAtOnce`).
    pub fn behind_nlb(mut self) -> Self {
        self.load_balancer.r#type = "network".into();
        self.load_balancer.arn = self.load_balancer.arn.replace("/app/", "/net/");
        for l in &mut self.load_balancer.listeners {
            l.arn = l.arn.replace("/app/", "/net/");
            l.protocol = Some("TCP".into());
        }
        for tg in &mut self.target_groups {
            tg.load_balancer_arns = vec![self.load_balancer.arn.clone()];
            tg.protocol = Some("TCP".into());
            tg.protocol_version = None;
            tg.health_check_protocol = Some("TCP".into());
            tg.health_check_path = None;
            tg.matcher_http_code = None;
            tg.attributes = [("deregistration_delay.timeout_seconds", "30"), ("stickiness.enabled", "false")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        }
        self
    }

    /// A listener on `port` that this tool did not create, answering 404 itself (the plan
    /// refuses to use that port for test traffic).
    pub fn with_listener_on(mut self, port: u16) -> Self {
        self.load_balancer.listeners.push(ListenerInfo {
            arn: format!("{}/{:016x}", self.load_balancer.arn.replace(":loadbalancer/", ":listener/"), port),
            port: Some(i32::from(port)),
            protocol: self.load_balancer.listeners[0].protocol.clone(),
            default_forward: vec![],
            default_actions: vec![],
            tls: None,
            rules_to_blue: vec![],
            default_rule_arn: None,
            tags: BTreeMap::new(),
        });
        self
    }

    /// The service has Application Auto Scaling ([`sample::scaling`]): a scalable target,
    /// a target tracking and a step policy, the step policy's CloudWatch alarm, and a
    /// scheduled action.
    pub fn with_scaling(self) -> Self {
        self.with_scaling_of(sample::scaling())
    }

    /// The service has this auto scaling (its policies' ARNs and alarms as given).
    pub fn with_scaling_of(mut self, scaling: crate::inventory::ServiceScaling) -> Self {
        self.service.scaling = Some(scaling);
        self
    }

    /// No pipeline in the account (nor its role).
    pub fn without_pipeline(mut self) -> Self {
        self.pipeline = None;
        self.roles.retain(|r| r.name != sample::PIPELINE_ROLE);
        self
    }

    /// The pipeline's role already has what the `CodeDeployToECS` action needs (an inline
    /// policy `codedeploy-to-ecs` allowing it on every resource), so the plan grants nothing.
    pub fn with_pipeline_role_ready(mut self) -> Self {
        if let Some(r) = self.roles.iter_mut().find(|r| r.name == sample::PIPELINE_ROLE) {
            r.inline_policies.insert("codedeploy-to-ecs".into(), sample::CODEDEPLOY_TO_ECS_POLICY.into());
        }
        self
    }

    /// A CodeDeploy service role [`EXISTING_ROLE_NAME`] with the managed policy attached, for a
    /// migration that adopts it (`existing_role_arn(EXISTING_ROLE_ARN)`).
    pub fn with_existing_role(mut self) -> Self {
        self.roles.push(RoleSetup {
            name: EXISTING_ROLE_NAME.into(),
            trust_policy: codedeploy_trust_policy(),
            policies: vec![CODEDEPLOY_FOR_ECS_POLICY.into()],
            inline_policies: BTreeMap::new(),
            tags: BTreeMap::new(),
        });
        self
    }

    /// The service registers with a second target group too (CODE_DEPLOY allows one).
    pub fn with_two_target_groups(mut self) -> Self {
        let mut admin = self.target_groups[0].clone();
        admin.arn = ADMIN_TG_ARN.into();
        admin.name = "web-admin".into();
        admin.port = Some(8081);
        self.service.load_balancers.push(crate::inventory::LoadBalancerEntry {
            target_group_arn: Some(ADMIN_TG_ARN.into()),
            load_balancer_name: None,
            container_name: Some("web".into()),
            container_port: Some(8081),
            advanced_configuration: None,
        });
        self.task_definition.containers[0].ports.push(8081);
        self.target_groups.push(admin);
        self
    }

    /// The service uses Service Connect (ECS controller only).
    pub fn with_service_connect(mut self) -> Self {
        for d in &mut self.service.deployments {
            d.service_connect = true;
        }
        self
    }

    /// A rolling deployment is still in progress.
    pub fn with_deployment_in_flight(mut self) -> Self {
        self.service.deployments = vec![
            DeploymentSummary {
                id: Some("ecs-svc/9120384756102938475".into()),
                status: "PRIMARY".into(),
                rollout_state: Some("IN_PROGRESS".into()),
                desired_count: 2,
                running_count: 1,
                ..Default::default()
            },
            DeploymentSummary {
                id: Some("ecs-svc/4730226164942587263".into()),
                status: "ACTIVE".into(),
                rollout_state: Some("COMPLETED".into()),
                desired_count: 2,
                running_count: 1,
                ..Default::default()
            },
        ];
        self
    }

    /// The account as a finished migration with default settings (test listener on 8080,
    /// pipeline rewired) left it: a plan for it has nothing to do. The kit runs the real
    /// migration when the account is built, so combine it only with variations that migrate
    /// (building the account panics with the plan's refusal otherwise).
    pub fn already_migrated(mut self) -> Self {
        self.migrated = true;
        self
    }

    /// The account as a finished rolling → ECS-native migration with default settings left it
    /// (`BLUE_GREEN`, 5-minute bake, test listener on 8080, created infrastructure role): the
    /// start of a way back to rolling. The kit runs the real migration when the account is built.
    pub fn already_on_ecs_native(mut self) -> Self {
        self.migrated = true;
        self.migrated_to = crate::spec::Target::EcsNative;
        self
    }

    /// Deployments fail after `InProgress` with CodeDeploy's error `code` and `message`; the
    /// group's auto-rollback starts a rollback deployment.
    pub fn deployments_fail(mut self, code: &str, message: &str) -> Self {
        self.deployments = DeploymentScript {
            statuses: vec!["Created".into(), "InProgress".into(), "Failed".into()],
            error: Some((code.to_owned(), message.to_owned())),
            traffic_shifted_from: None,
        };
        self
    }

    /// Deployments progress through `statuses` (e.g. never past `InProgress`). A `Ready` holds
    /// a deployment of a group with a ready wait (`STOP_DEPLOYMENT`) until `ContinueDeployment`.
    pub fn deployments_progress(mut self, statuses: &[&str]) -> Self {
        self.deployments.statuses = statuses.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Production traffic of a deployment is fully shifted to the replacement task set from its
    /// `poll`-th GetDeployment on (0 = the first), e.g. while it stays `InProgress` through the
    /// blue termination wait.
    pub fn deployments_shift_traffic_at(mut self, poll: usize) -> Self {
        self.deployments.traffic_shifted_from = Some(poll);
        self
    }

    /// ECS-native service deployments progress through `steps` of `(status, lifecycle stage)`
    /// (e.g. never past `IN_PROGRESS`).
    pub fn native_deployments_progress(mut self, steps: &[(&str, Option<&str>)]) -> Self {
        self.native_deployments = NativeDeploymentScript::steps(steps);
        self
    }

    /// ECS-native service deployments fail during the test traffic shift and roll back, with
    /// ECS's `reason`.
    pub fn native_deployments_roll_back(mut self, reason: &str) -> Self {
        self.native_deployments = NativeDeploymentScript {
            status_reason: Some(reason.to_owned()),
            ..NativeDeploymentScript::steps(&[
                ("PENDING", None),
                ("IN_PROGRESS", Some("SCALE_UP")),
                ("IN_PROGRESS", Some("TEST_TRAFFIC_SHIFT")),
                ("ROLLBACK_IN_PROGRESS", Some("TEST_TRAFFIC_SHIFT")),
                ("ROLLBACK_SUCCESSFUL", Some("TEST_TRAFFIC_SHIFT")),
            ])
        };
        self
    }

    /// Background timing of ECS (task start, drain).
    pub fn ecs_timing(mut self, timing: EcsTiming) -> Self {
        self.ecs_timing = timing;
        self
    }

    /// The ownership tag this tool puts on what it creates for `cluster`/`service`.
    pub fn ownership_tag(&self) -> (String, String) {
        (OWNERSHIP_TAG.to_owned(), format!("{}/{}", self.cluster, self.service.name))
    }
}

/// A stable 64-bit hash of a name (FNV-1a), for ids derived from names.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The trust policy of a CodeDeploy service role.
pub(crate) fn codedeploy_trust_policy() -> String {
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codedeploy.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.to_owned()
}
