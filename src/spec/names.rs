//! Validated newtypes for names, ports and durations, with AWS's limits.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A value given by the user (or derived) that AWS would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct ValidationError {
    what: &'static str,
    value: String,
    reason: String,
}

impl ValidationError {
    pub(crate) fn new(what: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { what, value: value.into(), reason: reason.into() }
    }
    /// Which kind of value was refused, e.g. `target group name`.
    pub fn what(&self) -> &'static str {
        self.what
    }
    /// The refused value.
    pub fn value(&self) -> &str {
        &self.value
    }
    /// Why it was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps the value.
            pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
                let value = value.into();
                let check: fn(&str) -> Result<(), String> = $check;
                check(&value).map_err(|reason| ValidationError::new($what, value.clone(), reason))?;
                Ok(Self(value))
            }
            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(v: String) -> Result<Self, ValidationError> {
                Self::new(v)
            }
        }
        impl TryFrom<&str> for $name {
            type Error = ValidationError;
            fn try_from(v: &str) -> Result<Self, ValidationError> {
                Self::new(v)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn length(v: &str, max: usize) -> Result<(), String> {
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    if v.chars().count() > max {
        return Err(format!("is {} characters long; the limit is {max}", v.chars().count()));
    }
    Ok(())
}

fn charset(v: &str, allowed: impl Fn(char) -> bool, desc: &str) -> Result<(), String> {
    match v.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(format!("contains {c:?}; allowed are {desc}")),
        None => Ok(()),
    }
}

name_type!(
    /// ECS cluster name: 1–255 letters, digits, `-`, `_` (an ARN is also accepted).
    ClusterName, "cluster name", |v| {
        length(v, 2048)?;
        if v.starts_with("arn:") { return Ok(()); }
        length(v, 255)?;
        charset(v, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_', "letters, digits, '-' and '_'")
    }
);
name_type!(
    /// ECS service name: 1–255 letters, digits, `-`, `_`.
    ServiceName, "service name", |v| {
        length(v, 255)?;
        charset(v, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_', "letters, digits, '-' and '_'")
    }
);
name_type!(
    /// ELBv2 target group name: 1–32 alphanumerics and hyphens, no leading or trailing hyphen.
    TargetGroupName, "target group name", |v| {
        length(v, 32)?;
        charset(v, |c| c.is_ascii_alphanumeric() || c == '-', "letters, digits and '-'")?;
        if v.starts_with('-') || v.ends_with('-') {
            return Err("must not begin or end with a hyphen".into());
        }
        Ok(())
    }
);
name_type!(
    /// IAM role name: 1–64 of `[A-Za-z0-9+=,.@_-]`.
    RoleName, "role name", |v| {
        length(v, 64)?;
        charset(v, |c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c), "letters, digits and '+=,.@_-'")
    }
);
name_type!(
    /// IAM role ARN, `arn:<partition>:iam::<account>:role/<path/name>`.
    RoleArn, "role ARN", |v| {
        length(v, 2048)?;
        let parts: Vec<&str> = v.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" || !parts[5].starts_with("role/") {
            return Err("expected arn:aws:iam::<account>:role/<name>".into());
        }
        Ok(())
    }
);
name_type!(
    /// CodeDeploy application name: 1–100 of letters, digits and `._+=,@-`.
    ApplicationName, "CodeDeploy application name", |v| {
        length(v, 100)?;
        charset(v, |c| c.is_ascii_alphanumeric() || "._+=,@-".contains(c), "letters, digits and '._+=,@-'")
    }
);
name_type!(
    /// CodeDeploy deployment group name: 1–100 of letters, digits and `._+=,@-`.
    DeploymentGroupName, "deployment group name", |v| {
        length(v, 100)?;
        charset(v, |c| c.is_ascii_alphanumeric() || "._+=,@-".contains(c), "letters, digits and '._+=,@-'")
    }
);
name_type!(
    /// CodePipeline pipeline, stage or action name: 1–100 of `[A-Za-z0-9.@_-]`.
    PipelineName, "pipeline name", |v| {
        length(v, 100)?;
        charset(v, |c| c.is_ascii_alphanumeric() || ".@_-".contains(c), "letters, digits and '.@_-'")
    }
);

/// A TCP port for a listener, 1–65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct Port(u16);

impl Port {
    /// Validates the port (0 is refused).
    pub fn new(port: u16) -> Result<Self, ValidationError> {
        if port == 0 {
            return Err(ValidationError::new("port", "0", "must be between 1 and 65535"));
        }
        Ok(Self(port))
    }
    /// The port number.
    pub fn get(self) -> u16 {
        self.0
    }
}
impl TryFrom<u16> for Port {
    type Error = ValidationError;
    fn try_from(v: u16) -> Result<Self, ValidationError> {
        Self::new(v)
    }
}
impl From<Port> for u16 {
    fn from(p: Port) -> u16 {
        p.0
    }
}
impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Minutes CodeDeploy keeps the blue task set after a successful deployment (0–2880).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct TerminationWait(u32);

impl TerminationWait {
    /// The most CodeDeploy allows: 48 hours.
    pub const MAX_MINUTES: u32 = 2880;
    /// Validates the number of minutes.
    pub fn minutes(minutes: u32) -> Result<Self, ValidationError> {
        if minutes > Self::MAX_MINUTES {
            return Err(ValidationError::new(
                "blue termination wait",
                minutes.to_string(),
                format!("is more than {} minutes (48 hours)", Self::MAX_MINUTES),
            ));
        }
        Ok(Self(minutes))
    }
    /// The number of minutes.
    pub fn get(self) -> u32 {
        self.0
    }
}
impl Default for TerminationWait {
    /// One hour, as in the console and the AWS tutorial.
    fn default() -> Self {
        Self(60)
    }
}
impl TryFrom<u32> for TerminationWait {
    type Error = ValidationError;
    fn try_from(v: u32) -> Result<Self, ValidationError> {
        Self::minutes(v)
    }
}
impl From<TerminationWait> for u32 {
    fn from(v: TerminationWait) -> u32 {
        v.0
    }
}

/// How long a deployment waits in `Ready` for a manual go-ahead before it is stopped (1–7200 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct ReadyWait(u32);

impl ReadyWait {
    /// CodeDeploy allows at most 120 hours between deploy and traffic shift for ECS.
    pub const MAX_MINUTES: u32 = 7200;
    /// Validates the number of minutes.
    pub fn minutes(minutes: u32) -> Result<Self, ValidationError> {
        if minutes == 0 || minutes > Self::MAX_MINUTES {
            return Err(ValidationError::new(
                "deployment ready wait",
                minutes.to_string(),
                format!("must be between 1 and {} minutes (120 hours)", Self::MAX_MINUTES),
            ));
        }
        Ok(Self(minutes))
    }
    /// The number of minutes.
    pub fn get(self) -> u32 {
        self.0
    }
}
impl TryFrom<u32> for ReadyWait {
    type Error = ValidationError;
    fn try_from(v: u32) -> Result<Self, ValidationError> {
        Self::minutes(v)
    }
}
impl From<ReadyWait> for u32 {
    fn from(v: ReadyWait) -> u32 {
        v.0
    }
}

/// How long the cutover waits for a deleted service to drain (its tasks deregistered from the
/// target group and stopped) and become INACTIVE, in seconds (1 s – 48 hours).
///
/// By default the plan derives it from the target group's deregistration delay (see
/// [`crate::wait::drain_deadline`]); set it when the service's tasks take longer to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct DrainTimeout(u64);

impl DrainTimeout {
    /// The longest accepted: 48 hours.
    pub const MAX_SECS: u64 = 48 * 3600;
    /// Validates the number of seconds.
    pub fn secs(secs: u64) -> Result<Self, ValidationError> {
        if secs == 0 || secs > Self::MAX_SECS {
            return Err(ValidationError::new(
                "drain timeout",
                secs.to_string(),
                format!("must be between 1 and {} seconds (48 hours)", Self::MAX_SECS),
            ));
        }
        Ok(Self(secs))
    }
    /// The number of seconds.
    pub fn get(self) -> u64 {
        self.0
    }
    /// As a duration.
    pub fn duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0)
    }
}
impl TryFrom<u64> for DrainTimeout {
    type Error = ValidationError;
    fn try_from(v: u64) -> Result<Self, ValidationError> {
        Self::secs(v)
    }
}
impl From<DrainTimeout> for u64 {
    fn from(v: DrainTimeout) -> u64 {
        v.0
    }
}

/// A CodeDeploy deployment configuration for ECS: the five predefined ones or a custom name.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeploymentConfig {
    /// `CodeDeployDefault.ECSAllAtOnce`: all traffic at once (the only one an NLB supports).
    #[default]
    EcsAllAtOnce,
    /// `CodeDeployDefault.ECSLinear10PercentEvery1Minutes`.
    EcsLinear10PercentEvery1Minutes,
    /// `CodeDeployDefault.ECSLinear10PercentEvery3Minutes`.
    EcsLinear10PercentEvery3Minutes,
    /// `CodeDeployDefault.ECSCanary10Percent5Minutes`.
    EcsCanary10Percent5Minutes,
    /// `CodeDeployDefault.ECSCanary10Percent15Minutes`.
    EcsCanary10Percent15Minutes,
    /// A custom configuration created with `CreateDeploymentConfig` (compute platform ECS).
    Custom(String),
}

impl DeploymentConfig {
    const PREDEFINED: [(&'static str, DeploymentConfig); 5] = [
        ("CodeDeployDefault.ECSAllAtOnce", DeploymentConfig::EcsAllAtOnce),
        ("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", DeploymentConfig::EcsLinear10PercentEvery1Minutes),
        ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", DeploymentConfig::EcsLinear10PercentEvery3Minutes),
        ("CodeDeployDefault.ECSCanary10Percent5Minutes", DeploymentConfig::EcsCanary10Percent5Minutes),
        ("CodeDeployDefault.ECSCanary10Percent15Minutes", DeploymentConfig::EcsCanary10Percent15Minutes),
    ];

    /// Parses a name: predefined ECS configs (case-insensitive) or a custom config name.
    ///
    /// Names in the `CodeDeployDefault.` namespace that are not ECS configs
    /// (e.g. `CodeDeployDefault.OneAtATime`) are refused: they do not work for ECS.
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        if let Some((_, c)) = Self::PREDEFINED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Ok(c.clone());
        }
        if name.to_ascii_lowercase().starts_with("codedeploydefault.") {
            let known: Vec<&str> = Self::PREDEFINED.iter().map(|(n, _)| *n).collect();
            return Err(ValidationError::new(
                "deployment config",
                name,
                format!("is not a predefined ECS config; use one of {}", known.join(", ")),
            ));
        }
        length(name, 100).map_err(|r| ValidationError::new("deployment config", name, r))?;
        charset(name, |c| c.is_ascii_alphanumeric() || "._+=,@-".contains(c), "letters, digits and '._+=,@-'")
            .map_err(|r| ValidationError::new("deployment config", name, r))?;
        Ok(DeploymentConfig::Custom(name.to_owned()))
    }

    /// The name CodeDeploy knows.
    pub fn name(&self) -> &str {
        match self {
            DeploymentConfig::Custom(n) => n,
            other => Self::PREDEFINED.iter().find(|(_, c)| c == other).map(|(n, _)| *n).unwrap_or_default(),
        }
    }

    /// Whether all traffic moves at once (required behind a Network Load Balancer).
    ///
    /// A custom config is not known to be all-at-once without reading it.
    pub fn is_all_at_once(&self) -> bool {
        matches!(self, DeploymentConfig::EcsAllAtOnce)
    }
}

impl fmt::Display for DeploymentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
impl TryFrom<String> for DeploymentConfig {
    type Error = ValidationError;
    fn try_from(v: String) -> Result<Self, ValidationError> {
        Self::parse(&v)
    }
}
impl From<DeploymentConfig> for String {
    fn from(v: DeploymentConfig) -> String {
        v.name().to_owned()
    }
}
impl std::str::FromStr for DeploymentConfig {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        Self::parse(s)
    }
}

/// Derives a target group name from `base` plus `suffix`, truncated so the result has
/// at most 32 characters and no trailing hyphen before the suffix.
pub(crate) fn derive_target_group_name(base: &str, suffix: &str) -> String {
    let room = 32usize.saturating_sub(suffix.len());
    let mut stem: String = base.chars().take(room).collect();
    while stem.ends_with('-') {
        stem.pop();
    }
    format!("{stem}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_group_names_follow_elb_rules() {
        assert!(TargetGroupName::new("web-tg-1").is_ok());
        assert!(TargetGroupName::new("a".repeat(32)).is_ok());
        let long = TargetGroupName::new("a".repeat(33)).unwrap_err();
        assert_eq!(long.reason(), "is 33 characters long; the limit is 32");
        assert!(TargetGroupName::new("-web").unwrap_err().reason().contains("hyphen"));
        assert!(TargetGroupName::new("web-").unwrap_err().reason().contains("hyphen"));
        assert!(TargetGroupName::new("web_tg").unwrap_err().reason().contains("'_'"));
        assert!(TargetGroupName::new("").unwrap_err().reason().contains("empty"));
    }

    #[test]
    fn other_names_follow_their_limits() {
        assert!(ServiceName::new("web_1-a").is_ok());
        assert!(ServiceName::new("web.1").is_err());
        assert!(RoleName::new("a".repeat(64)).is_ok());
        assert!(RoleName::new("a".repeat(65)).is_err());
        assert!(ApplicationName::new("a".repeat(101)).is_err());
        assert!(DeploymentGroupName::new("web dg").is_err());
        assert!(RoleArn::new("arn:aws:iam::123456789012:role/x").is_ok());
        assert!(RoleArn::new("arn:aws:iam::123456789012:user/x").is_err());
        assert!(ClusterName::new("arn:aws:ecs:us-east-1:123456789012:cluster/prod").is_ok());
        assert!(PipelineName::new("web pipeline").is_err());
    }

    #[test]
    fn ports_and_durations_are_bounded() {
        assert!(Port::new(0).is_err());
        assert_eq!(Port::new(8080).unwrap().get(), 8080);
        assert!(TerminationWait::minutes(2880).is_ok());
        assert!(TerminationWait::minutes(2881).is_err());
        assert_eq!(TerminationWait::default().get(), 60);
        assert!(ReadyWait::minutes(0).is_err());
        assert!(ReadyWait::minutes(7201).is_err());
    }

    #[test]
    fn deployment_configs_parse() {
        assert_eq!(DeploymentConfig::parse("CodeDeployDefault.ECSAllAtOnce").unwrap(), DeploymentConfig::EcsAllAtOnce);
        assert_eq!(
            DeploymentConfig::parse("codedeploydefault.ecscanary10percent5minutes").unwrap().name(),
            "CodeDeployDefault.ECSCanary10Percent5Minutes"
        );
        assert!(DeploymentConfig::parse("CodeDeployDefault.OneAtATime").unwrap_err().reason().contains("ECSAllAtOnce"));
        assert_eq!(DeploymentConfig::parse("my-config").unwrap(), DeploymentConfig::Custom("my-config".into()));
        let json = serde_json::to_string(&DeploymentConfig::EcsLinear10PercentEvery3Minutes).unwrap();
        assert_eq!(json, "\"CodeDeployDefault.ECSLinear10PercentEvery3Minutes\"");
    }

    #[test]
    fn derived_target_group_names_fit_32_characters() {
        assert_eq!(derive_target_group_name("web-tg-1", "-green"), "web-tg-1-green");
        let blue = "a".repeat(32);
        let green = derive_target_group_name(&blue, "-green");
        assert_eq!(green.len(), 32);
        assert!(TargetGroupName::new(&green).is_ok());
        // A hyphen left at the cut is dropped, so the name stays valid.
        let blue = format!("{}-{}", "a".repeat(25), "bbbbbb");
        let green = derive_target_group_name(&blue, "-green");
        assert!(TargetGroupName::new(&green).is_ok(), "{green}");
        assert!(!green.contains("--"));
    }
}
