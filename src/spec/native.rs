//! The ECS-native blue/green target's settings: the deployment strategy (`BLUE_GREEN`, `LINEAR`,
//! `CANARY`), its bake times, and the ECS infrastructure role for load balancers.
//!
//! The documented ranges (ECS API reference, `DeploymentConfiguration`) are checked here, in
//! pure code: a traffic percent is 0.1–100 in steps of 0.1, a linear step at least 3 %, a bake
//! time 0–1440 minutes.

use std::fmt;

use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use super::{RoleArn, RoleName, ValidationError};

/// A share of traffic, 0.1 % to 100 % in steps of 0.1 (ECS's `canaryPercent` and `stepPercent`).
///
/// ```
/// use ecs_bluegreen::spec::Percent;
/// assert_eq!(Percent::new(12.5)?.get(), 12.5);
/// assert!(Percent::new(0.0).is_err());
/// assert!(Percent::new(100.1).is_err());
/// # Ok::<(), ecs_bluegreen::spec::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Percent(u16);

impl Percent {
    /// A percent between 0.1 and 100, rounded to a tenth.
    pub fn new(percent: f64) -> Result<Self, ValidationError> {
        let tenths = (percent * 10.0).round();
        if !percent.is_finite() || !(1.0..=1000.0).contains(&tenths) {
            return Err(ValidationError::new("traffic percent", percent.to_string(), "must be between 0.1 and 100"));
        }
        Ok(Self(tenths as u16))
    }
    /// The percent.
    pub fn get(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

impl TryFrom<f64> for Percent {
    type Error = ValidationError;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        Percent::new(v)
    }
}

impl From<Percent> for f64 {
    fn from(p: Percent) -> f64 {
        p.get()
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.get())
    }
}

/// Minutes, 0 to 1440 (one day): ECS's `bakeTimeInMinutes`, `stepBakeTimeInMinutes` and
/// `canaryBakeTimeInMinutes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct BakeTime(u16);

impl BakeTime {
    /// Most minutes ECS accepts.
    pub const MAX_MINUTES: u32 = 1440;
    /// The bake time given when none is: 5 minutes, long enough for alarms on the new revision to
    /// fire before the old one is gone, short enough not to hold a deployment up.
    pub const DEFAULT: BakeTime = BakeTime(5);

    /// A bake time of `minutes` (0–1440).
    pub fn minutes(minutes: u32) -> Result<Self, ValidationError> {
        if minutes > Self::MAX_MINUTES {
            return Err(ValidationError::new("bake time", minutes.to_string(), "must be 0 to 1440 minutes"));
        }
        Ok(Self(minutes as u16))
    }
    /// The minutes.
    pub fn get(self) -> u32 {
        u32::from(self.0)
    }
}

impl Default for BakeTime {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u32> for BakeTime {
    type Error = ValidationError;
    fn try_from(v: u32) -> Result<Self, Self::Error> {
        BakeTime::minutes(v)
    }
}

impl From<BakeTime> for u32 {
    fn from(b: BakeTime) -> u32 {
        b.get()
    }
}

/// How an ECS-native deployment moves production traffic to the new revision.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "kebab-case")]
pub enum NativeStrategy {
    /// `BLUE_GREEN`: all traffic at once after the test traffic stage.
    #[default]
    BlueGreen,
    /// `LINEAR`: `step_percent` more every `step_bake_time`. Build with [`NativeStrategy::linear`].
    Linear {
        /// Traffic moved per step (3–100 %).
        step_percent: Percent,
        /// Minutes between steps.
        step_bake_time: BakeTime,
    },
    /// `CANARY`: `canary_percent` first, the rest after `canary_bake_time`. Build with
    /// [`NativeStrategy::canary`].
    Canary {
        /// Traffic moved first (0.1–100 %).
        canary_percent: Percent,
        /// Minutes before the rest moves.
        canary_bake_time: BakeTime,
    },
}

/// The smallest linear step ECS accepts, in percent.
pub const MIN_LINEAR_STEP_PERCENT: f64 = 3.0;

impl NativeStrategy {
    /// `LINEAR` with a step of `step_percent` (3–100) every `step_bake_time` minutes.
    pub fn linear(step_percent: f64, step_bake_time: u32) -> Result<Self, ValidationError> {
        let step = Percent::new(step_percent)?;
        Self::check_linear_step(step)?;
        Ok(NativeStrategy::Linear { step_percent: step, step_bake_time: BakeTime::minutes(step_bake_time)? })
    }
    /// `CANARY` with `canary_percent` (0.1–100) first, the rest after `canary_bake_time` minutes.
    pub fn canary(canary_percent: f64, canary_bake_time: u32) -> Result<Self, ValidationError> {
        Ok(NativeStrategy::Canary { canary_percent: Percent::new(canary_percent)?, canary_bake_time: BakeTime::minutes(canary_bake_time)? })
    }
    /// ECS's name: `BLUE_GREEN`, `LINEAR` or `CANARY`.
    pub fn as_str(&self) -> &'static str {
        match self {
            NativeStrategy::BlueGreen => "BLUE_GREEN",
            NativeStrategy::Linear { .. } => "LINEAR",
            NativeStrategy::Canary { .. } => "CANARY",
        }
    }
    /// Refuses a value ECS refuses that the variant's types allow (a linear step under 3 %,
    /// e.g. from a configuration file).
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            NativeStrategy::Linear { step_percent, .. } => Self::check_linear_step(*step_percent),
            _ => Ok(()),
        }
    }
    fn check_linear_step(step: Percent) -> Result<(), ValidationError> {
        if step.get() < MIN_LINEAR_STEP_PERCENT {
            return Err(ValidationError::new("linear step percent", step.get().to_string(), "must be between 3 and 100"));
        }
        Ok(())
    }
}

/// The ECS-native blue/green settings of a migration with [`Target::EcsNative`](super::Target).
///
/// ```
/// use ecs_bluegreen::spec::{BakeTime, NativeDeployment, NativeStrategy};
/// let native = NativeDeployment::builder()
///     .strategy(NativeStrategy::canary(10.0, 5)?)
///     .bake_time(BakeTime::minutes(15)?)
///     .build();
/// assert_eq!(native.strategy().as_str(), "CANARY");
/// assert_eq!(native.bake_time().get(), 15);
/// // Every setting has a default: BLUE_GREEN with a 5-minute bake, a created role.
/// let default = NativeDeployment::builder().build();
/// assert_eq!((default.strategy().as_str(), default.bake_time().get()), ("BLUE_GREEN", 5));
/// # Ok::<(), ecs_bluegreen::spec::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TypedBuilder)]
#[builder(doc)]
pub struct NativeDeployment {
    /// The strategy. Default: `BLUE_GREEN`.
    #[builder(default, setter(strip_option(fallback = strategy_opt)))]
    strategy: Option<NativeStrategy>,
    /// Minutes both revisions are kept after production traffic moved (`bakeTimeInMinutes`,
    /// which ECS requires with `BLUE_GREEN`). Default: [`BakeTime::DEFAULT`] (5).
    #[builder(default, setter(strip_option(fallback = bake_time_opt)))]
    bake_time: Option<BakeTime>,
    /// Name of the infrastructure role to create. Default: `<cluster>-<service>-ecs-infra`.
    #[builder(default, setter(strip_option(fallback = infrastructure_role_name_opt)))]
    infrastructure_role_name: Option<RoleName>,
    /// An existing infrastructure role (trusting `ecs.amazonaws.com`, with
    /// `AmazonECSInfrastructureRolePolicyForLoadBalancers`), used as it is: none is created.
    #[builder(default, setter(strip_option(fallback = infrastructure_role_arn_opt)))]
    infrastructure_role_arn: Option<RoleArn>,
}

impl NativeDeployment {
    /// The strategy (default: `BLUE_GREEN`).
    pub fn strategy(&self) -> NativeStrategy {
        self.strategy.unwrap_or_default()
    }
    /// The strategy, when one was given (onward from CodeDeploy, the deployment group's
    /// config chooses otherwise).
    pub fn strategy_given(&self) -> Option<NativeStrategy> {
        self.strategy
    }
    /// The bake time, when one was given.
    pub fn bake_time_given(&self) -> Option<BakeTime> {
        self.bake_time
    }
    /// The bake time (default: 5 minutes).
    pub fn bake_time(&self) -> BakeTime {
        self.bake_time.unwrap_or_default()
    }
    /// The name of the role to create, when one was given.
    pub fn infrastructure_role_name(&self) -> Option<&RoleName> {
        self.infrastructure_role_name.as_ref()
    }
    /// The existing role to use, when one was given.
    pub fn infrastructure_role_arn(&self) -> Option<&RoleArn> {
        self.infrastructure_role_arn.as_ref()
    }
}

/// The managed policy of the ECS infrastructure role for load balancers, in partition `aws`.
pub const INFRASTRUCTURE_POLICY_ARN: &str = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_ranges_are_enforced() {
        assert!(NativeStrategy::linear(3.0, 0).is_ok());
        assert!(NativeStrategy::linear(100.0, 1440).is_ok());
        assert_eq!(NativeStrategy::linear(2.9, 1).unwrap_err().what(), "linear step percent");
        assert!(NativeStrategy::linear(10.0, 1441).is_err());
        assert!(NativeStrategy::canary(0.1, 0).is_ok());
        assert!(NativeStrategy::canary(0.04, 0).is_err());
        assert!(NativeStrategy::canary(100.5, 0).is_err());
        assert!(BakeTime::minutes(1441).is_err());
        assert!(Percent::new(f64::NAN).is_err());
    }

    #[test]
    fn a_linear_step_under_three_percent_from_a_file_is_caught_by_validate() {
        let parsed: NativeStrategy =
            serde_json::from_str(r#"{"strategy":"linear","step_percent":1.5,"step_bake_time":5}"#).unwrap();
        assert!(parsed.validate().is_err());
        assert!(serde_json::from_str::<NativeStrategy>(r#"{"strategy":"canary","canary_percent":0,"canary_bake_time":5}"#).is_err());
        let round = NativeStrategy::canary(12.5, 7).unwrap();
        assert_eq!(serde_json::from_str::<NativeStrategy>(&serde_json::to_string(&round).unwrap()).unwrap(), round);
    }
}
