//! `appspec.yml`: the CodeDeploy AppSpec of an ECS deployment.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use super::{ArtifactError, yaml};
use crate::inventory::{CapacityProviderItem, ServiceDefinition};

/// The token `CodeDeployToECS` replaces with the ARN of the revision it registers.
pub const TASK_DEFINITION_PLACEHOLDER: &str = "<TASK_DEFINITION>";

/// A lifecycle event an ECS deployment can run a hook Lambda in, in the order CodeDeploy runs
/// them (`Install`, `AllowTestTraffic` and `AllowTraffic` take no hooks).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HookEvent {
    /// Before the replacement task set is created; a failure here cannot roll back.
    BeforeInstall,
    /// After the replacement task set is created and its target group registered.
    AfterInstall,
    /// After test traffic reaches the replacement task set (the test listener).
    AfterAllowTestTraffic,
    /// Before production traffic is shifted.
    BeforeAllowTraffic,
    /// After production traffic is shifted.
    AfterAllowTraffic,
}

impl HookEvent {
    /// Every event, in AWS's order.
    pub const ALL: [HookEvent; 5] = [
        HookEvent::BeforeInstall,
        HookEvent::AfterInstall,
        HookEvent::AfterAllowTestTraffic,
        HookEvent::BeforeAllowTraffic,
        HookEvent::AfterAllowTraffic,
    ];

    /// The AppSpec key, e.g. `AfterAllowTestTraffic`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::BeforeInstall => "BeforeInstall",
            HookEvent::AfterInstall => "AfterInstall",
            HookEvent::AfterAllowTestTraffic => "AfterAllowTestTraffic",
            HookEvent::BeforeAllowTraffic => "BeforeAllowTraffic",
            HookEvent::AfterAllowTraffic => "AfterAllowTraffic",
        }
    }
}

impl fmt::Display for HookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lifecycle hooks: one Lambda function per event, written in AWS's event order.
///
/// Each function must report back with `PutLifecycleEventHookExecutionStatus` within an
/// hour; with the `AWSCodeDeployRoleForECSLimited` policy its name must start with
/// `CodeDeployHook_`.
///
/// ```
/// use ecs_bluegreen::artifacts::{HookEvent, Hooks};
/// let hooks = Hooks::new().with(HookEvent::AfterAllowTestTraffic, "CodeDeployHook_smoke");
/// assert_eq!(hooks.get(HookEvent::AfterAllowTestTraffic), Some("CodeDeployHook_smoke"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hooks(BTreeMap<HookEvent, String>);

impl Hooks {
    /// No hooks.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the Lambda function (name or ARN) run at `event`, replacing any earlier one.
    #[must_use]
    pub fn with(mut self, event: HookEvent, function: impl Into<String>) -> Self {
        self.0.insert(event, function.into());
        self
    }
    /// The function run at `event`.
    pub fn get(&self, event: HookEvent) -> Option<&str> {
        self.0.get(&event).map(String::as_str)
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `(event, function)` pairs in AWS's event order.
    pub fn iter(&self) -> impl Iterator<Item = (HookEvent, &str)> {
        self.0.iter().map(|(e, f)| (*e, f.as_str()))
    }
}

/// `NetworkConfiguration.AwsvpcConfiguration` of the AppSpec: all three keys or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSpecNetwork {
    subnets: Vec<String>,
    security_groups: Vec<String>,
    assign_public_ip: String,
}

impl AppSpecNetwork {
    /// A complete configuration; `None` when subnets or security groups are empty (CodeDeploy
    /// takes the three keys together or not at all). `assign_public_ip` is `ENABLED` or
    /// `DISABLED`; `None` means `DISABLED`, ECS's default.
    pub fn new(subnets: Vec<String>, security_groups: Vec<String>, assign_public_ip: Option<String>) -> Option<Self> {
        if subnets.is_empty() || security_groups.is_empty() {
            return None;
        }
        Some(Self { subnets, security_groups, assign_public_ip: assign_public_ip.unwrap_or_else(|| "DISABLED".into()) })
    }
    /// Subnet ids.
    pub fn subnets(&self) -> &[String] {
        &self.subnets
    }
    /// Security group ids.
    pub fn security_groups(&self) -> &[String] {
        &self.security_groups
    }
    /// `ENABLED` or `DISABLED`.
    pub fn assign_public_ip(&self) -> &str {
        &self.assign_public_ip
    }
}

/// The AppSpec (version 0.0) of an ECS blue/green deployment.
///
/// CodeDeploy resets what the AppSpec leaves out, so [`AppSpec::from_service`] restates the
/// service's platform version, network configuration and capacity provider strategy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSpec {
    /// `TaskDefinition`: [`TASK_DEFINITION_PLACEHOLDER`] for the pipeline, or an ARN.
    pub task_definition: String,
    /// `LoadBalancerInfo.ContainerName`: must exist in every revision.
    pub container_name: String,
    /// `LoadBalancerInfo.ContainerPort`: written as a number.
    pub container_port: u16,
    /// `PlatformVersion` (Fargate).
    pub platform_version: Option<String>,
    /// `NetworkConfiguration.AwsvpcConfiguration`; left out when `None`, which keeps the
    /// service's current settings.
    pub network_configuration: Option<AppSpecNetwork>,
    /// `CapacityProviderStrategy`; left out when empty.
    pub capacity_provider_strategy: Vec<CapacityProviderItem>,
    /// `Hooks`; left out when empty.
    pub hooks: Hooks,
}

impl AppSpec {
    /// The AppSpec for a service: its single load balancer entry's container and port, and
    /// its platform version, awsvpc configuration and capacity provider strategy.
    ///
    /// ```
    /// use ecs_bluegreen::artifacts::{AppSpec, Hooks};
    /// use ecs_bluegreen::inventory::{LoadBalancerEntry, ServiceDefinition};
    /// let svc = ServiceDefinition {
    ///     name: "web".into(),
    ///     load_balancers: vec![LoadBalancerEntry {
    ///         target_group_arn: Some("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg/1".into()),
    ///         load_balancer_name: None,
    ///         container_name: Some("web".into()),
    ///         container_port: Some(8080),
    ///         advanced_configuration: None,
    ///     }],
    ///     ..Default::default()
    /// };
    /// let yaml = AppSpec::from_service(&svc, Hooks::new())?.to_yaml();
    /// assert!(yaml.contains("ContainerPort: 8080\n"));
    /// # Ok::<(), ecs_bluegreen::artifacts::ArtifactError>(())
    /// ```
    ///
    /// # Errors
    /// [`ArtifactError::AppSpec`] when the service does not have exactly one load balancer
    /// entry, or the entry lacks a container name or a valid port.
    pub fn from_service(service: &ServiceDefinition, hooks: Hooks) -> Result<Self, ArtifactError> {
        let err = |reason: String| ArtifactError::AppSpec { service: service.name.clone(), reason };
        let lb = service.single_load_balancer().ok_or_else(|| {
            err(format!(
                "it has {} load balancer entries; a CodeDeploy blue/green service has exactly one",
                service.load_balancers.len()
            ))
        })?;
        let container_name =
            lb.container_name.clone().ok_or_else(|| err("its load balancer entry names no container".into()))?;
        let port = lb.container_port.ok_or_else(|| err("its load balancer entry has no container port".into()))?;
        let container_port = u16::try_from(port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| err(format!("its container port {port} is not a valid port")))?;
        let network_configuration = service.network_configuration.as_ref().and_then(|n| {
            AppSpecNetwork::new(n.subnets.clone(), n.security_groups.clone(), n.assign_public_ip.clone())
        });
        Ok(Self {
            task_definition: TASK_DEFINITION_PLACEHOLDER.to_owned(),
            container_name,
            container_port,
            platform_version: service.platform_version.clone(),
            network_configuration,
            capacity_provider_strategy: service.capacity_provider_strategy.clone(),
            hooks,
        })
    }

    /// The same AppSpec naming a concrete task definition (an ARN) instead of
    /// [`TASK_DEFINITION_PLACEHOLDER`]: what a deployment created directly with
    /// `CreateDeployment` needs, since only the pipeline action substitutes the placeholder.
    ///
    /// ```
    /// use ecs_bluegreen::artifacts::{AppSpec, Hooks};
    /// use ecs_bluegreen::inventory::{LoadBalancerEntry, ServiceDefinition};
    /// let svc = ServiceDefinition {
    ///     name: "web".into(),
    ///     load_balancers: vec![LoadBalancerEntry {
    ///         target_group_arn: None,
    ///         load_balancer_name: None,
    ///         container_name: Some("web".into()),
    ///         container_port: Some(80),
    ///         advanced_configuration: None,
    ///     }],
    ///     ..Default::default()
    /// };
    /// let arn = "arn:aws:ecs:us-east-1:1:task-definition/web:3";
    /// let yaml = AppSpec::from_service(&svc, Hooks::new())?.with_task_definition(arn).to_yaml();
    /// assert!(yaml.contains(&format!("TaskDefinition: \"{arn}\"\n")));
    /// # Ok::<(), ecs_bluegreen::artifacts::ArtifactError>(())
    /// ```
    #[must_use]
    pub fn with_task_definition(mut self, arn: impl Into<String>) -> Self {
        self.task_definition = arn.into();
        self
    }

    /// The `appspec.yml` text. Strings are double-quoted (escaped); `ContainerPort`, `Base`
    /// and `Weight` are numbers; the task definition placeholder is written bare, as in AWS's
    /// examples.
    pub fn to_yaml(&self) -> String {
        let q = yaml::quote;
        let td = if self.task_definition == TASK_DEFINITION_PLACEHOLDER {
            self.task_definition.clone()
        } else {
            q(&self.task_definition)
        };
        let mut y = String::new();
        // `write!` to a String cannot fail.
        let _ = writeln!(y, "version: 0.0");
        let _ = writeln!(y, "Resources:");
        let _ = writeln!(y, "  - TargetService:");
        let _ = writeln!(y, "      Type: AWS::ECS::Service");
        let _ = writeln!(y, "      Properties:");
        let _ = writeln!(y, "        TaskDefinition: {td}");
        let _ = writeln!(y, "        LoadBalancerInfo:");
        let _ = writeln!(y, "          ContainerName: {}", q(&self.container_name));
        let _ = writeln!(y, "          ContainerPort: {}", self.container_port);
        if let Some(pv) = &self.platform_version {
            let _ = writeln!(y, "        PlatformVersion: {}", q(pv));
        }
        if let Some(n) = &self.network_configuration {
            let _ = writeln!(y, "        NetworkConfiguration:");
            let _ = writeln!(y, "          AwsvpcConfiguration:");
            let _ = writeln!(y, "            Subnets:");
            for s in &n.subnets {
                let _ = writeln!(y, "              - {}", q(s));
            }
            let _ = writeln!(y, "            SecurityGroups:");
            for s in &n.security_groups {
                let _ = writeln!(y, "              - {}", q(s));
            }
            let _ = writeln!(y, "            AssignPublicIp: {}", q(&n.assign_public_ip));
        }
        if !self.capacity_provider_strategy.is_empty() {
            let _ = writeln!(y, "        CapacityProviderStrategy:");
            for c in &self.capacity_provider_strategy {
                let _ = writeln!(y, "          - Base: {}", c.base);
                let _ = writeln!(y, "            CapacityProvider: {}", q(&c.capacity_provider));
                let _ = writeln!(y, "            Weight: {}", c.weight);
            }
        }
        if !self.hooks.is_empty() {
            let _ = writeln!(y, "Hooks:");
            for (event, function) in self.hooks.iter() {
                let _ = writeln!(y, "  - {event}: {}", q(function));
            }
        }
        y
    }
}

impl fmt::Display for AppSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_yaml())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{AwsVpcConfiguration, LoadBalancerEntry};

    fn service() -> ServiceDefinition {
        ServiceDefinition {
            name: "web".into(),
            load_balancers: vec![LoadBalancerEntry {
                target_group_arn: Some(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1/abc".into(),
                ),
                load_balancer_name: None,
                container_name: Some("web".into()),
                container_port: Some(80),
                advanced_configuration: None,
            }],
            platform_version: Some("1.4.0".into()),
            network_configuration: Some(AwsVpcConfiguration {
                subnets: vec!["subnet-a".into(), "subnet-b".into()],
                security_groups: vec!["sg-1".into()],
                assign_public_ip: None,
            }),
            capacity_provider_strategy: vec![
                CapacityProviderItem { capacity_provider: "FARGATE".into(), weight: 1, base: 1 },
                CapacityProviderItem { capacity_provider: "FARGATE_SPOT".into(), weight: 3, base: 0 },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn golden_with_every_section() {
        let hooks = Hooks::new()
            .with(HookEvent::AfterAllowTraffic, "CodeDeployHook_after")
            .with(HookEvent::BeforeInstall, "CodeDeployHook_before")
            .with(HookEvent::AfterAllowTestTraffic, "CodeDeployHook_smoke");
        let yaml = AppSpec::from_service(&service(), hooks).unwrap().to_yaml();
        assert_eq!(
            yaml,
            r#"version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 80
        PlatformVersion: "1.4.0"
        NetworkConfiguration:
          AwsvpcConfiguration:
            Subnets:
              - "subnet-a"
              - "subnet-b"
            SecurityGroups:
              - "sg-1"
            AssignPublicIp: "DISABLED"
        CapacityProviderStrategy:
          - Base: 1
            CapacityProvider: "FARGATE"
            Weight: 1
          - Base: 0
            CapacityProvider: "FARGATE_SPOT"
            Weight: 3
Hooks:
  - BeforeInstall: "CodeDeployHook_before"
  - AfterAllowTestTraffic: "CodeDeployHook_smoke"
  - AfterAllowTraffic: "CodeDeployHook_after"
"#
        );
    }

    #[test]
    fn ec2_bridge_service_has_only_the_load_balancer_info() {
        let mut svc = service();
        svc.platform_version = None;
        svc.network_configuration = None;
        svc.capacity_provider_strategy.clear();
        let yaml = AppSpec::from_service(&svc, Hooks::new()).unwrap().to_yaml();
        assert_eq!(
            yaml,
            "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: \"web\"\n          ContainerPort: 80\n"
        );
    }

    #[test]
    fn a_concrete_task_definition_is_quoted() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3";
        let yaml = AppSpec::from_service(&service(), Hooks::new()).unwrap().with_task_definition(arn).to_yaml();
        assert!(yaml.contains(&format!("        TaskDefinition: \"{arn}\"\n")), "{yaml}");
        assert!(!yaml.contains(TASK_DEFINITION_PLACEHOLDER));
    }

    #[test]
    fn network_is_all_or_none() {
        let mut svc = service();
        svc.network_configuration.as_mut().unwrap().security_groups.clear();
        let spec = AppSpec::from_service(&svc, Hooks::new()).unwrap();
        assert_eq!(spec.network_configuration, None);
        assert!(!spec.to_yaml().contains("NetworkConfiguration"));
    }

    #[test]
    fn refuses_services_it_cannot_describe() {
        let mut svc = service();
        svc.load_balancers.clear();
        assert!(AppSpec::from_service(&svc, Hooks::new()).unwrap_err().to_string().contains("0 load balancer"));
        let mut svc = service();
        svc.load_balancers[0].container_port = Some(70000);
        assert!(AppSpec::from_service(&svc, Hooks::new()).unwrap_err().to_string().contains("70000"));
        let mut svc = service();
        svc.load_balancers[0].container_name = None;
        assert!(AppSpec::from_service(&svc, Hooks::new()).unwrap_err().to_string().contains("no container"));
    }

    #[test]
    fn strings_are_quoted_and_escaped() {
        let mut svc = service();
        svc.load_balancers[0].container_name = Some("we\"b: #1\\".into());
        let yaml = AppSpec::from_service(&svc, Hooks::new()).unwrap().to_yaml();
        assert!(yaml.contains(r#"ContainerName: "we\"b: #1\\""#), "{yaml}");
    }
}
