//! Step identities: the built-in steps' names and the rules for users' step names.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// Identifies a step of a transaction; also the key of its journal entries and the name
/// other steps use to depend on it.
///
/// The built-in steps are associated constants named like the variants of the enum this
/// type replaced (`StepId::GreenTargetGroup` ...), so code that names them keeps compiling.
/// Users' steps get theirs from [`StepId::new`]: lowercase letters, digits, `-`, `/` and `.`,
/// at most 64 characters (a namespace such as `acme/dns-record` keeps them apart from ours).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StepId(Cow<'static, str>);

#[allow(non_upper_case_globals)]
impl StepId {
    /// Clone the blue target group.
    pub const GreenTargetGroup: StepId = StepId(Cow::Borrowed("green-target-group"));
    /// Test listener (or weight-0 attachment to the production listener).
    pub const TestListener: StepId = StepId(Cow::Borrowed("test-listener"));
    /// CodeDeploy service role.
    pub const ServiceRole: StepId = StepId(Cow::Borrowed("service-role"));
    /// CodeDeploy application.
    pub const Application: StepId = StepId(Cow::Borrowed("application"));
    /// Blue/green deployment group.
    pub const DeploymentGroup: StepId = StepId(Cow::Borrowed("deployment-group"));
    /// Switch the service to `CODE_DEPLOY`.
    pub const ServiceCutover: StepId = StepId(Cow::Borrowed("service-cutover"));
    /// Rewrite the pipeline's Deploy action.
    pub const PipelineDeployAction: StepId = StepId(Cow::Borrowed("pipeline-deploy-action"));
    /// Register the service's auto scaling on the final service (planned only for a service
    /// with a scalable target).
    pub const ServiceScaling: StepId = StepId(Cow::Borrowed("service-scaling"));

    /// ECS infrastructure role for load balancers (ECS-native target).
    pub const InfrastructureRole: StepId = StepId(Cow::Borrowed("infrastructure-role"));
    /// The service's load balancer entry gains its `advancedConfiguration` (ECS-native target).
    pub const NativeLoadBalancer: StepId = StepId(Cow::Borrowed("native-load-balancer"));
    /// The service's deployment strategy becomes ECS-native blue/green (ECS-native target).
    pub const NativeStrategy: StepId = StepId(Cow::Borrowed("native-strategy"));

    /// Onward from CodeDeploy: the service's deployment group deleted (recreated on undo).
    pub const DeploymentGroupRemoval: StepId = StepId(Cow::Borrowed("deployment-group-removal"));
    /// Onward from CodeDeploy: the CodeDeploy application deleted (recreated on undo).
    pub const ApplicationRemoval: StepId = StepId(Cow::Borrowed("application-removal"));
    /// Onward from CodeDeploy: the service's controller switched from `CODE_DEPLOY` to `ECS`.
    pub const ControllerSwitch: StepId = StepId(Cow::Borrowed("controller-switch"));

    /// Every built-in step of CodeDeploy → ECS-native, in order: CodeDeploy's automation is
    /// turned off (pipeline, deployment group, application) before the controller switch, so no
    /// deployment can start in between, and the switch's undo (recreating the service as
    /// `CODE_DEPLOY`) runs before the group's undo, which needs such a service.
    pub const CODEDEPLOY_TO_NATIVE: [StepId; 5] = [
        StepId::InfrastructureRole,
        StepId::PipelineDeployAction,
        StepId::DeploymentGroupRemoval,
        StepId::ApplicationRemoval,
        StepId::ControllerSwitch,
    ];

    /// Every built-in step of CodeDeploy → rolling, in order (as [`StepId::CODEDEPLOY_TO_NATIVE`]
    /// without the infrastructure role).
    pub const CODEDEPLOY_TO_ROLLING: [StepId; 4] =
        [StepId::PipelineDeployAction, StepId::DeploymentGroupRemoval, StepId::ApplicationRemoval, StepId::ControllerSwitch];

    /// Every built-in step of the ECS-native target, in the order the migration lists them.
    pub const NATIVE: [StepId; 5] = [
        StepId::GreenTargetGroup,
        StepId::TestListener,
        StepId::InfrastructureRole,
        StepId::NativeLoadBalancer,
        StepId::NativeStrategy,
    ];

    /// ECS-native → rolling: the deployment strategy becomes `ROLLING` (UpdateService, no
    /// deployment).
    pub const RollingStrategy: StepId = StepId(Cow::Borrowed("rolling-strategy"));
    /// ECS-native → rolling: the load balancer entry loses its `advancedConfiguration` and keeps
    /// the target group that serves production (UpdateService, a rolling deployment).
    pub const RollingLoadBalancer: StepId = StepId(Cow::Borrowed("rolling-load-balancer"));

    /// Every built-in step of ECS-native blue/green → rolling, in AWS's documented order.
    pub const NATIVE_TO_ROLLING: [StepId; 2] = [StepId::RollingStrategy, StepId::RollingLoadBalancer];

    /// The built-in steps of a full migration to `target` (for a service on the `ECS` controller).
    pub fn built_in_for(target: super::Target) -> &'static [StepId] {
        match target {
            super::Target::EcsNative => &StepId::NATIVE,
            super::Target::Rolling => &StepId::NATIVE_TO_ROLLING,
            _ => &StepId::BUILT_IN,
        }
    }

    /// The built-in steps of a full migration to `target` of a service on the deployment
    /// `controller` it has now (`ECS`, `CODE_DEPLOY`, ...): the way there depends on both (a
    /// `CODE_DEPLOY` service migrating onward has its own steps).
    pub fn built_in_for_service(target: super::Target, controller: &str) -> &'static [StepId] {
        match (target, controller) {
            (super::Target::EcsNative, "CODE_DEPLOY") => &StepId::CODEDEPLOY_TO_NATIVE,
            (super::Target::Rolling, "CODE_DEPLOY") => &StepId::CODEDEPLOY_TO_ROLLING,
            (super::Target::Rolling, "ECS") => &StepId::NATIVE_TO_ROLLING,
            _ => StepId::built_in_for(target),
        }
    }

    /// Grant the pipeline's role what the `CodeDeployToECS` action needs (an inline policy).
    pub const PipelineRolePolicy: StepId = StepId(Cow::Borrowed("pipeline-role-policy"));

    /// Every built-in step of the CodeDeploy target, in the order the full migration lists them.
    pub const BUILT_IN: [StepId; 9] = [
        StepId::GreenTargetGroup,
        StepId::TestListener,
        StepId::ServiceRole,
        StepId::Application,
        StepId::ServiceCutover,
        StepId::ServiceScaling,
        StepId::DeploymentGroup,
        StepId::PipelineRolePolicy,
        StepId::PipelineDeployAction,
    ];

    /// The built-in steps of plans written before [`StepId::PipelineRolePolicy`] existed (a plan
    /// file without `built_in_steps` is read with these, so re-planning it adds no step).
    pub(crate) const BUILT_IN_BEFORE_ROLE_POLICY: [StepId; 8] = [
        StepId::GreenTargetGroup,
        StepId::TestListener,
        StepId::ServiceRole,
        StepId::Application,
        StepId::ServiceCutover,
        StepId::ServiceScaling,
        StepId::DeploymentGroup,
        StepId::PipelineDeployAction,
    ];

    /// A user's step id, validated (see the type's docs for the rules).
    pub fn new(id: impl Into<String>) -> Result<Self, ValidationError> {
        let id = id.into();
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '/' | '.');
        let reason = if id.is_empty() || id.len() > 64 {
            Some("must be 1 to 64 characters")
        } else if !id.chars().all(ok_char) {
            Some("may hold only lowercase letters, digits, '-', '/' and '.'")
        } else {
            None
        };
        match reason {
            Some(r) => Err(ValidationError::new("step id", id, r)),
            None => Ok(StepId(Cow::Owned(id))),
        }
    }

    /// The id as text (kebab-case for the built-in steps).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is one of the built-in steps.
    pub fn is_built_in(&self) -> bool {
        StepId::BUILT_IN.contains(self)
            || StepId::NATIVE.contains(self)
            || StepId::NATIVE_TO_ROLLING.contains(self)
            || StepId::CODEDEPLOY_TO_NATIVE.contains(self)
            || StepId::CODEDEPLOY_TO_ROLLING.contains(self)
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StepId({})", self.0)
    }
}

impl TryFrom<String> for StepId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        StepId::new(s)
    }
}

impl From<StepId> for String {
    fn from(s: StepId) -> String {
        s.0.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_ids_keep_their_journal_names() {
        assert_eq!(serde_json::to_string(&StepId::GreenTargetGroup).unwrap(), "\"green-target-group\"");
        let back: StepId = serde_json::from_str("\"pipeline-deploy-action\"").unwrap();
        assert_eq!(back, StepId::PipelineDeployAction);
        assert!(back.is_built_in());
    }

    #[test]
    fn user_ids_are_validated() {
        assert_eq!(StepId::new("acme/dns-record").unwrap().as_str(), "acme/dns-record");
        assert!(!StepId::new("acme/dns-record").unwrap().is_built_in());
        assert!(StepId::new("").is_err());
        assert!(StepId::new("Upper").is_err());
        assert!(StepId::new("a b").is_err());
        assert!(StepId::new("x".repeat(65)).is_err());
        assert!(serde_json::from_str::<StepId>("\"no spaces\"").is_err());
    }
}
