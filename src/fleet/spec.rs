//! The fleet spec file: defaults and per-service entries, in TOML or the same shape as JSON.
//!
//! Pure: text in, typed [`FleetSpec`] (or a [`SpecError`] naming the file, line and key) out.
//!
//! ```
//! use ecs_bluegreen::fleet::spec::FleetSpec;
//! let spec = FleetSpec::parse_toml("fleet.toml", r#"
//! [defaults]
//! cluster = "shop"
//! termination_wait_minutes = 5
//!
//! [[service]]
//! name = "checkout"
//! test_listener_port = 8080
//! "#)?;
//! let checkout = &spec.services()[0];
//! assert_eq!(checkout.migration().cluster().as_str(), "shop");
//! assert_eq!(checkout.migration().deployment_group_spec()?.termination_wait().get(), 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::spec::{
    ApplicationName, AutoRollbackEvent, BakeTime, CodeDeployApp, CodeDeployRole, DeploymentConfig, DeploymentGroupName,
    DeploymentGroupSpec, DrainTimeout, ManagedPolicy, Migration, NativeDeployment, NativeStrategy, PipelineDeployStage,
    PipelineName, Port, ReadyWait, RoleArn, RoleName, ServiceCutover, ServiceName, Target, TargetGroupName,
    TargetGroupPair, TerminationWait, ValidationError,
};

/// A spec file that cannot be used: where (file, line, key) and why. Nothing was changed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// The spec file.
    pub file: PathBuf,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// The key at fault, when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl SpecError {
    /// The coarse kind: always [`crate::ErrorKind::InvalidInput`].
    pub fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::InvalidInput
    }
}

/// The migration target as the spec file names it (`--target`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetSetting {
    /// CodeDeploy blue/green.
    Codedeploy,
    /// ECS-native blue/green.
    EcsNative,
    /// Back to rolling updates (from ECS-native blue/green, in place).
    Rolling,
}

/// The cutover as the spec file names it (`--cutover`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CutoverSetting {
    /// No downtime, same name (a bridge service serves meanwhile).
    ParallelKeepName,
    /// No downtime, the service gets `new_service_name`.
    Parallel,
    /// Delete and recreate: traffic drops.
    Recreate,
}

/// The ECS-native strategy as the spec file names it (`--strategy`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategySetting {
    /// All traffic at once.
    BlueGreen,
    /// In equal steps.
    Linear,
    /// A canary share first, then the rest.
    Canary,
}

/// The settings of one service (the `[defaults]` table holds the same keys, except `name`).
///
/// Every field is optional: a service's entry overrides `[defaults]`, and what neither sets
/// takes the library's default. The CLI builds one from its flags, so a single service and a
/// fleet go through the same checks.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// ECS cluster name or ARN.
    pub cluster: Option<String>,
    /// Migration target (default: codedeploy).
    pub target: Option<TargetSetting>,
    /// Cutover (default: parallel-keep-name).
    pub cutover: Option<CutoverSetting>,
    /// New service name, for cutover `parallel`.
    pub new_service_name: Option<ServiceName>,
    /// CodeDeploy deployment configuration.
    pub deployment_config: Option<DeploymentConfig>,
    /// Minutes the blue tasks are kept after a successful deployment (default 60).
    pub termination_wait_minutes: Option<TerminationWait>,
    /// Minutes a deployment waits in Ready for a go-ahead (default: none).
    pub ready_wait_minutes: Option<ReadyWait>,
    /// CloudWatch alarms that stop a deployment.
    pub alarms: Option<Vec<String>>,
    /// Events on which CodeDeploy rolls back (`DEPLOYMENT_FAILURE`, ...).
    pub auto_rollback: Option<Vec<AutoRollbackEvent>>,
    /// An existing CodeDeploy service role, used as it is.
    pub role_arn: Option<RoleArn>,
    /// Name of the CodeDeploy service role to create.
    pub role_name: Option<RoleName>,
    /// Managed policy of a created role (`Full` or `Limited`).
    pub managed_policy: Option<ManagedPolicy>,
    /// Port of the test listener.
    pub test_listener_port: Option<Port>,
    /// Pipeline whose ECS deploy action is rewired.
    pub pipeline: Option<PipelineName>,
    /// Name of the green target group.
    pub green_target_group: Option<TargetGroupName>,
    /// CodeDeploy application name.
    pub application: Option<ApplicationName>,
    /// CodeDeploy deployment group name.
    pub deployment_group: Option<DeploymentGroupName>,
    /// Identifier tagged on every created resource.
    pub migration_id: Option<String>,
    /// Seconds a deleted service may take to drain and become INACTIVE.
    pub drain_timeout_seconds: Option<DrainTimeout>,
    /// Directory the deploy artifacts are written into (plan and apply).
    pub artifacts_dir: Option<PathBuf>,
    /// ECS-native strategy (default: blue-green).
    pub strategy: Option<StrategySetting>,
    /// ECS-native bake time in minutes (default 5).
    pub bake_time_minutes: Option<BakeTime>,
    /// Linear strategy: percent per step (default 10).
    pub linear_step_percent: Option<f64>,
    /// Linear strategy: minutes between steps (default 6).
    pub linear_interval_minutes: Option<u32>,
    /// Canary strategy: percent moved first (default 5).
    pub canary_percent: Option<f64>,
    /// Canary strategy: minutes before the rest moves (default 10).
    pub canary_interval_minutes: Option<u32>,
    /// An existing ECS infrastructure role (ECS-native), used as it is.
    pub infrastructure_role_arn: Option<RoleArn>,
    /// Onward from a `CODE_DEPLOY` service: keep its deployment group and application (default:
    /// deleted when this tool created them).
    pub keep_codedeploy: Option<bool>,
}

/// Fills each field of `$over` that is unset from `$under`.
macro_rules! fill_from {
    ($over:ident, $under:ident: $($field:ident),* $(,)?) => {
        $( if $over.$field.is_none() { $over.$field = $under.$field.clone(); } )*
    };
}

/// A setting that cannot be used: the key and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingError {
    /// The key (as the spec file names it).
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for SettingError {}

fn setting(key: &'static str) -> impl Fn(ValidationError) -> SettingError {
    move |e| SettingError { key, message: e.to_string() }
}

impl ServiceSettings {
    /// These settings, each unset one taken from `defaults`.
    pub fn over(&self, defaults: &ServiceSettings) -> ServiceSettings {
        let mut s = self.clone();
        fill_from!(s, defaults: cluster, target, cutover, new_service_name, deployment_config, termination_wait_minutes,
            ready_wait_minutes, alarms, auto_rollback, role_arn, role_name, managed_policy, test_listener_port, pipeline,
            green_target_group, application, deployment_group, migration_id, drain_timeout_seconds, artifacts_dir,
            strategy, bake_time_minutes, linear_step_percent, linear_interval_minutes, canary_percent,
            canary_interval_minutes, infrastructure_role_arn, keep_codedeploy);
        s
    }

    /// The migration of `service` these settings describe.
    ///
    /// # Errors
    /// A [`SettingError`] naming the key: no cluster, an invalid name, `parallel` without
    /// `new_service_name`, a strategy value
    /// out of range.
    pub fn migration(&self, service: &str) -> Result<Migration, SettingError> {
        let cluster = self
            .cluster
            .as_deref()
            .ok_or(SettingError { key: "cluster", message: "missing: set it in [defaults] or in the service's entry".into() })?;
        let target = match self.target {
            None => None,
            Some(TargetSetting::Codedeploy) => Some(Target::Codedeploy),
            Some(TargetSetting::EcsNative) => Some(Target::EcsNative),
            Some(TargetSetting::Rolling) => Some(Target::Rolling),
        };
        let cutover = match self.cutover {
            None => None,
            Some(CutoverSetting::ParallelKeepName) => Some(ServiceCutover::ParallelKeepName),
            Some(CutoverSetting::Recreate) => Some(ServiceCutover::Recreate),
            Some(CutoverSetting::Parallel) => Some(ServiceCutover::Parallel {
                new_name: self.new_service_name.clone().ok_or(SettingError {
                    key: "new_service_name",
                    message: "cutover `parallel` needs a new service name".into(),
                })?,
            }),
        };
        let base = Migration::for_service(cluster, service).map_err(|e| SettingError {
            key: if e.what() == "cluster name" { "cluster" } else { "name" },
            message: e.to_string(),
        })?;
        let role = (self.role_arn.is_some() || self.role_name.is_some() || self.managed_policy.is_some()).then(|| {
            CodeDeployRole::builder()
                .role_name_opt(self.role_name.clone())
                .managed_policy_opt(self.managed_policy)
                .existing_role_arn_opt(self.role_arn.clone())
                .build()
        });
        let partial = base
            .clone()
            .deployment_config_opt(self.deployment_config.clone())
            .cutover_opt(cutover)
            .target_opt(target)
            .test_listener_port_opt(self.test_listener_port)
            .pipeline_opt(self.pipeline.clone().map(PipelineDeployStage::named))
            .target_groups_opt(self.green_target_group.clone().map(|g| TargetGroupPair::builder().green_name(g).build()))
            .role_opt(role)
            .application_opt(self.application.clone().map(|a| CodeDeployApp::builder().application_name(a).build()))
            .migration_id_opt(self.migration_id.clone())
            .drain_timeout_opt(self.drain_timeout_seconds)
            .keep_codedeploy_opt(self.keep_codedeploy)
            .native_opt(self.native()?);
        let group_settings = self.deployment_group.is_some()
            || self.termination_wait_minutes.is_some()
            || self.ready_wait_minutes.is_some()
            || self.alarms.is_some()
            || self.auto_rollback.is_some();
        if !group_settings {
            return Ok(partial.build());
        }
        // The group's settings need a group name: the one given, else the derived default.
        let name = match &self.deployment_group {
            Some(n) => n.clone(),
            None => partial.clone().build().deployment_group_spec().map_err(setting("deployment_group"))?.deployment_group_name().clone(),
        };
        let group = DeploymentGroupSpec::builder()
            .deployment_group_name(name)
            .termination_wait_opt(self.termination_wait_minutes)
            .ready_wait_opt(self.ready_wait_minutes)
            .alarms_opt(self.alarms.clone())
            .auto_rollback_events_opt(self.auto_rollback.clone())
            .build();
        Ok(partial.deployment_group(group).build())
    }

    /// The ECS-native settings, when any is given.
    fn native(&self) -> Result<Option<NativeDeployment>, SettingError> {
        let strategy = match self.strategy {
            None => None,
            Some(StrategySetting::BlueGreen) => Some(NativeStrategy::BlueGreen),
            Some(StrategySetting::Linear) => Some(
                NativeStrategy::linear(self.linear_step_percent.unwrap_or(10.0), self.linear_interval_minutes.unwrap_or(6))
                    .map_err(setting("linear_step_percent"))?,
            ),
            Some(StrategySetting::Canary) => Some(
                NativeStrategy::canary(self.canary_percent.unwrap_or(5.0), self.canary_interval_minutes.unwrap_or(10))
                    .map_err(setting("canary_percent"))?,
            ),
        };
        let any = strategy.is_some() || self.bake_time_minutes.is_some() || self.infrastructure_role_arn.is_some();
        Ok(any.then(|| {
            NativeDeployment::builder()
                .strategy_opt(strategy)
                .bake_time_opt(self.bake_time_minutes)
                .infrastructure_role_arn_opt(self.infrastructure_role_arn.clone())
                .build()
        }))
    }
}

/// One `[[service]]` entry as read: its name (with where it is) and its own settings.
#[derive(Deserialize)]
struct RawService<N> {
    name: N,
    #[serde(flatten)]
    settings: ServiceSettingsNoDeny,
}

/// `ServiceSettings` behind `flatten` (serde refuses `deny_unknown_fields` through it): unknown
/// keys land in `rest` and are refused by [`check_unknown`].
#[derive(Deserialize)]
struct ServiceSettingsNoDeny {
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "N: Deserialize<'de>"))]
struct RawSpec<N> {
    #[serde(default)]
    defaults: ServiceSettings,
    #[serde(default)]
    service: Vec<RawService<N>>,
}

/// One service of a fleet: its name, where its entry is, and its migration.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FleetService {
    name: String,
    line: Option<usize>,
    settings: ServiceSettings,
    migration: Migration,
}

impl FleetService {
    /// The service name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The line of its `name` in the spec file, when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }
    /// Its settings, defaults filled in.
    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }
    /// Its migration.
    pub fn migration(&self) -> &Migration {
        &self.migration
    }
    /// `<cluster>/<service>`: how reports name it.
    pub fn label(&self) -> String {
        format!("{}/{}", self.migration.cluster_name(), self.name)
    }
}

/// A parsed spec file: every service, defaults applied, each migration built.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FleetSpec {
    file: PathBuf,
    services: Vec<FleetService>,
}

impl FleetSpec {
    /// Reads `path`: JSON when it ends in `.json`, TOML otherwise.
    ///
    /// # Errors
    /// A [`SpecError`] when the file cannot be read or is not a valid spec.
    pub fn read(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            file: path.to_owned(),
            line: None,
            key: None,
            message: format!("cannot read the spec file: {e}"),
        })?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            Self::parse_json(path, &text)
        } else {
            Self::parse_toml(path, &text)
        }
    }

    /// Parses a TOML spec; `file` names it in errors.
    ///
    /// # Errors
    /// A [`SpecError`] naming the line and key: unknown key, bad value, missing `name` or
    /// `cluster`, a service listed twice.
    pub fn parse_toml(file: impl AsRef<Path>, text: &str) -> Result<Self, SpecError> {
        let file = file.as_ref();
        let raw: RawSpec<toml::Spanned<String>> = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let key = key_of(e.message(), line.and_then(|l| text.lines().nth(l - 1)), false);
            SpecError { file: file.to_owned(), line, key, message: e.message().trim().to_owned() }
        })?;
        let entries = raw
            .service
            .into_iter()
            .map(|s| (s.name.get_ref().clone(), Some(line_of(text, s.name.span().start)), s.settings))
            .collect();
        Self::resolve(file, text, raw.defaults, entries, false)
    }

    /// Parses the JSON form of a spec; `file` names it in errors.
    ///
    /// # Errors
    /// As [`FleetSpec::parse_toml`].
    pub fn parse_json(file: impl AsRef<Path>, text: &str) -> Result<Self, SpecError> {
        let file = file.as_ref();
        let raw: RawSpec<String> = serde_json::from_str(text).map_err(|e| {
            let line = (e.line() > 0).then_some(e.line());
            let message = e.to_string();
            // serde_json appends " at line L column C": the line is reported on its own.
            let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m).to_owned();
            let key = key_of(&message, line.and_then(|l| text.lines().nth(l - 1)), true);
            SpecError { file: file.to_owned(), line, key, message }
        })?;
        // JSON has no spans: each name's line is the n-th `"name": "<value>"` of the text.
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let entries = raw
            .service
            .into_iter()
            .map(|s| {
                let n = seen.entry(s.name.clone()).or_default();
                *n += 1;
                let line = json_name_line(text, &s.name, *n);
                (s.name, line, s.settings)
            })
            .collect();
        Self::resolve(file, text, raw.defaults, entries, true)
    }

    fn resolve(
        file: &Path,
        text: &str,
        defaults: ServiceSettings,
        entries: Vec<(String, Option<usize>, ServiceSettingsNoDeny)>,
        json: bool,
    ) -> Result<Self, SpecError> {
        let error = |line: Option<usize>, key: Option<String>, message: String| SpecError { file: file.to_owned(), line, key, message };
        if entries.is_empty() {
            return Err(error(None, Some("service".into()), "no [[service]] entry: nothing to migrate".into()));
        }
        let mut services: Vec<FleetService> = Vec::new();
        for (name, line, raw) in entries {
            let own = check_unknown(raw).map_err(|(key, message)| {
                // The line of the offending key: the first after the entry's name that starts with it.
                let key_line = key_line_after(text, line, &key, json);
                error(key_line.or(line), Some(key), message)
            })?;
            let settings = own.over(&defaults);
            let migration = settings.migration(&name).map_err(|e| {
                error(line, Some(e.key.to_owned()), format!("service `{name}`: {}", e.message))
            })?;
            let service = FleetService { name, line, settings, migration };
            if let Some(first) = services.iter().find(|s| s.label() == service.label()) {
                return Err(error(
                    service.line,
                    Some("name".into()),
                    format!(
                        "service {} is listed twice (first at line {})",
                        service.label(),
                        first.line.map_or("?".into(), |l| l.to_string())
                    ),
                ));
            }
            services.push(service);
        }
        Ok(Self { file: file.to_owned(), services })
    }

    /// The spec file.
    pub fn file(&self) -> &Path {
        &self.file
    }
    /// The services, in file order.
    pub fn services(&self) -> &[FleetService] {
        &self.services
    }
}

/// The settings of a service entry; the first key that is unknown or has a bad value is
/// refused (key, message). Key by key, so the error names the key whatever serde says.
fn check_unknown(raw: ServiceSettingsNoDeny) -> Result<ServiceSettings, (String, String)> {
    for (key, value) in &raw.rest {
        let one = serde_json::Value::Object([(key.clone(), value.clone())].into_iter().collect());
        if let Err(e) = serde_json::from_value::<ServiceSettings>(one) {
            return Err((key.clone(), e.to_string()));
        }
    }
    let all = serde_json::Value::Object(raw.rest.into_iter().collect());
    serde_json::from_value(all).map_err(|e| (String::new(), e.to_string()))
}

/// 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// The key an error is about: the one a serde message quotes (`unknown field `x``,
/// `missing field `x``), else the key assigned on the error's line.
fn key_of(message: &str, line: Option<&str>, json: bool) -> Option<String> {
    for prefix in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(rest) = message.split_once(prefix).map(|(_, r)| r) {
            return rest.split_once('`').map(|(k, _)| k.to_owned());
        }
    }
    let line = line?;
    let key = if json { line.split_once(':')?.0 } else { line.split_once('=')?.0 };
    let key = key.trim().trim_matches('"').trim();
    (!key.is_empty() && !key.starts_with('[') && !key.starts_with('{')).then(|| key.to_owned())
}

/// Line of the `n`-th `"name": "<value>"` in a JSON text.
fn json_name_line(text: &str, value: &str, n: usize) -> Option<usize> {
    let quoted = serde_json::to_string(value).ok()?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.split("\"name\"").skip(1).any(|after| after.trim_start().strip_prefix(':').is_some_and(|v| v.trim_start().starts_with(&quoted)))
        })
        .nth(n - 1)
        .map(|(i, _)| i + 1)
}

/// Line of `key` at or after `from` (a service entry's name line).
fn key_line_after(text: &str, from: Option<usize>, key: &str, json: bool) -> Option<usize> {
    let from = from?;
    text.lines().enumerate().skip(from.saturating_sub(1)).find_map(|(i, l)| {
        let t = l.trim_start();
        let hit = if json { t.contains(&format!("\"{key}\"")) } else { t.starts_with(key) && t[key.len()..].trim_start().starts_with('=') };
        hit.then_some(i + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"[defaults]
cluster = "shop"
target = "codedeploy"
cutover = "parallel-keep-name"
deployment_config = "CodeDeployDefault.ECSAllAtOnce"
termination_wait_minutes = 5

[[service]]
name = "checkout"
test_listener_port = 8080
pipeline = "checkout-pipeline"

[[service]]
name = "cart"
cutover = "recreate"
termination_wait_minutes = 15
ready_wait_minutes = 30
alarms = ["cart-5xx"]
auto_rollback = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
green_target_group = "cart-green"
application = "AppECS-cart"
deployment_group = "DgpECS-cart"
role_arn = "arn:aws:iam::123456789012:role/ecsCodeDeployRole"
migration_id = "change-42"
drain_timeout_seconds = 600
"#;

    fn toml_err(text: &str) -> SpecError {
        FleetSpec::parse_toml("fleet.toml", text).expect_err("refused")
    }

    fn json_err(text: &str) -> SpecError {
        FleetSpec::parse_json("fleet.json", text).expect_err("refused")
    }

    #[test]
    fn defaults_apply_and_entries_override() {
        let spec = FleetSpec::parse_toml("fleet.toml", SPEC).unwrap();
        let [checkout, cart] = spec.services() else { panic!("two services") };
        assert_eq!((checkout.label(), checkout.line()), ("shop/checkout".to_owned(), Some(9)));
        let m = checkout.migration();
        assert_eq!(m.test_listener_port().map(Port::get), Some(8080));
        assert_eq!(m.pipeline().unwrap().pipeline_name().as_str(), "checkout-pipeline");
        let dg = m.deployment_group_spec().unwrap();
        assert_eq!((dg.deployment_group_name().as_str(), dg.termination_wait().get()), ("checkout-bluegreen", 5));
        assert_eq!(m.cutover(), &ServiceCutover::ParallelKeepName);

        let m = cart.migration();
        assert_eq!(cart.line(), Some(14));
        assert_eq!(m.cutover(), &ServiceCutover::Recreate);
        let dg = m.deployment_group_spec().unwrap();
        assert_eq!(dg.deployment_group_name().as_str(), "DgpECS-cart");
        assert_eq!((dg.termination_wait().get(), dg.ready_wait().map(ReadyWait::get)), (15, Some(30)));
        assert_eq!(dg.alarms(), ["cart-5xx"]);
        assert_eq!(dg.auto_rollback_events(), [AutoRollbackEvent::DeploymentFailure, AutoRollbackEvent::DeploymentStopOnAlarm]);
        assert_eq!(m.target_group_pair("cart-tg").unwrap().green_name().as_str(), "cart-green");
        assert_eq!(m.application_spec().unwrap().application_name().as_str(), "AppECS-cart");
        assert_eq!(m.role_spec().unwrap().existing_role_arn().unwrap().as_str(), "arn:aws:iam::123456789012:role/ecsCodeDeployRole");
        assert_eq!(m.migration_id(), "change-42");
        assert_eq!(m.drain_timeout().map(DrainTimeout::get), Some(600));
        assert_eq!(m.deployment_config_conflict(), None);
    }

    #[test]
    fn the_json_form_gives_the_same_services() {
        let json = r#"{
  "defaults": { "cluster": "shop", "termination_wait_minutes": 5 },
  "service": [
    { "name": "checkout", "test_listener_port": 8080, "pipeline": "checkout-pipeline" },
    { "name": "cart" }
  ]
}"#;
        let spec = FleetSpec::parse_json("fleet.json", json).unwrap();
        let names: Vec<_> = spec.services().iter().map(|s| (s.name(), s.line())).collect();
        assert_eq!(names, [("checkout", Some(4)), ("cart", Some(5))]);
        let toml = FleetSpec::parse_toml(
            "fleet.toml",
            "[defaults]\ncluster = \"shop\"\ntermination_wait_minutes = 5\n[[service]]\nname = \"checkout\"\ntest_listener_port = 8080\npipeline = \"checkout-pipeline\"\n[[service]]\nname = \"cart\"\n",
        )
        .unwrap();
        let migrations = |s: &FleetSpec| s.services().iter().map(|s| s.migration().clone()).collect::<Vec<_>>();
        assert_eq!(migrations(&spec), migrations(&toml));
    }

    #[test]
    fn an_unknown_key_in_a_service_names_its_line_and_key() {
        let e = toml_err("[defaults]\ncluster = \"shop\"\n\n[[service]]\nname = \"checkout\"\ntest_port = 8080\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(6), Some("test_port")), "{e}");
        assert!(e.to_string().starts_with("fleet.toml:6: key `test_port`: unknown field `test_port`"), "{e}");
        let e = json_err("{\"defaults\": {\"cluster\": \"shop\"},\n \"service\": [\n {\"name\": \"checkout\",\n  \"test_port\": 8080}]}");
        assert_eq!((e.line, e.key.as_deref()), (Some(4), Some("test_port")), "{e}");
    }

    #[test]
    fn an_unknown_key_in_defaults_or_at_the_top_names_its_line_and_key() {
        let e = toml_err("[defaults]\ncluster = \"shop\"\nterminaton_wait_minutes = 5\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("terminaton_wait_minutes")), "{e}");
        let e = toml_err("[defaults]\ncluster = \"shop\"\n[[services]]\nname = \"a\"\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("services")), "{e}");
        // `name` belongs to a service, not to the defaults.
        let e = toml_err("[defaults]\ncluster = \"shop\"\nname = \"web\"\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("name")), "{e}");
        let e = json_err("{\"defaults\": {\"cluster\": \"shop\",\n \"colour\": \"blue\"}, \"service\": []}");
        assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("colour")), "{e}");
    }

    #[test]
    fn a_service_listed_twice_names_the_second_line() {
        let e = toml_err("[defaults]\ncluster = \"shop\"\n[[service]]\nname = \"cart\"\n[[service]]\nname = \"web\"\n[[service]]\nname = \"cart\"\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(8), Some("name")), "{e}");
        assert!(e.message.contains("shop/cart is listed twice (first at line 4)"), "{e}");
        let e = json_err("{\"defaults\": {\"cluster\": \"shop\"}, \"service\": [\n{\"name\": \"cart\"},\n{\"name\": \"cart\"}]}");
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("name")), "{e}");
        // The same name in two clusters is two services.
        assert!(FleetSpec::parse_toml("f.toml", "[[service]]\nname = \"cart\"\ncluster = \"a\"\n[[service]]\nname = \"cart\"\ncluster = \"b\"\n").is_ok());
    }

    #[test]
    fn a_missing_cluster_or_name_is_refused() {
        let e = toml_err("[[service]]\nname = \"cart\"\ntest_listener_port = 8080\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("cluster")), "{e}");
        assert!(e.message.contains("service `cart`"), "{e}");
        let e = toml_err("[defaults]\ncluster = \"shop\"\n[[service]]\ntest_listener_port = 8080\n");
        assert_eq!(e.key.as_deref(), Some("name"), "{e}");
        assert!(e.line.is_some_and(|l| (3..=4).contains(&l)), "{e}");
        let e = json_err("{\"service\": [{\"cluster\": \"shop\"}]}");
        assert_eq!((e.line, e.key.as_deref()), (Some(1), Some("name")), "{e}");
        let e = toml_err("[defaults]\ncluster = \"shop\"\n");
        assert_eq!(e.key.as_deref(), Some("service"), "{e}");
    }

    #[test]
    fn a_bad_port_names_its_line() {
        let e = toml_err("[defaults]\ncluster = \"shop\"\ntest_listener_port = 0\n[[service]]\nname = \"a\"\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("test_listener_port")), "{e}");
        let e = toml_err("[defaults]\ncluster = \"shop\"\n[[service]]\nname = \"a\"\ntest_listener_port = 70000\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(5), Some("test_listener_port")), "{e}");
        let e = json_err("{\"defaults\": {\"cluster\": \"shop\",\n\"test_listener_port\": 0}, \"service\": [{\"name\": \"a\"}]}");
        assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("test_listener_port")), "{e}");
    }

    #[test]
    fn a_bad_enum_value_names_its_line() {
        let e = toml_err("[defaults]\ncluster = \"shop\"\ncutover = \"sideways\"\n[[service]]\nname = \"a\"\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("cutover")), "{e}");
        assert!(e.message.contains("sideways"), "{e}");
        let e = toml_err("[defaults]\ncluster = \"shop\"\n[[service]]\nname = \"a\"\n\ntarget = \"lambda\"\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(6), Some("target")), "{e}");
        // Deployment configs may be custom (a user's own), so any name is taken; policies are not.
        let e = toml_err("[defaults]\ncluster = \"shop\"\nmanaged_policy = \"Huge\"\n[[service]]\nname = \"a\"\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("managed_policy")), "{e}");
    }

    #[test]
    fn rolling_is_the_way_back_target() {
        let ok = FleetSpec::parse_toml("f", "[defaults]\ncluster = \"shop\"\ntarget = \"rolling\"\n[[service]]\nname = \"a\"\n").unwrap();
        assert_eq!(ok.services()[0].migration().target(), Target::Rolling);
    }

    #[test]
    fn parallel_without_a_new_name_is_refused() {
        let e = toml_err("[[service]]\nname = \"a\"\ncluster = \"shop\"\ncutover = \"parallel\"\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("new_service_name")), "{e}");
        let ok = FleetSpec::parse_toml("f", "[[service]]\nname = \"a\"\ncluster = \"shop\"\ncutover = \"parallel\"\nnew_service_name = \"a2\"\n").unwrap();
        assert_eq!(ok.services()[0].migration().cutover(), &ServiceCutover::Parallel { new_name: ServiceName::new("a2").unwrap() });
    }

    #[test]
    fn native_settings_reach_the_migration() {
        let spec = FleetSpec::parse_toml(
            "f",
            "[defaults]\ncluster = \"shop\"\ntarget = \"ecs-native\"\nstrategy = \"canary\"\ncanary_percent = 20\nbake_time_minutes = 3\n[[service]]\nname = \"a\"\n",
        )
        .unwrap();
        let m = spec.services()[0].migration();
        assert_eq!(m.target(), Target::EcsNative);
        assert_eq!((m.native().strategy().as_str(), m.native().bake_time().get()), ("CANARY", 3));
        let e = toml_err("[defaults]\ncluster = \"shop\"\nstrategy = \"linear\"\nlinear_step_percent = 1\n[[service]]\nname = \"a\"\n");
        assert_eq!(e.key.as_deref(), Some("linear_step_percent"), "{e}");
    }
}
