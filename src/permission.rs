//! Permissions as data: one IAM action on some resources under some conditions, the context a
//! step writes its ARNs in, and the policy document they merge into. Pure: no I/O. What a run
//! needs, and the preflight, are in [`crate::permissions`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::identity::short_cluster;
use crate::plan::{ChangeDetail, Plan};

/// The condition key of `iam:PassRole`: which service a role is passed to.
pub const PASSED_TO_SERVICE: &str = "iam:PassedToService";

/// Condition operator → condition key → values, as a policy statement writes them.
pub type Conditions = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// One IAM action allowed on some resources, under some conditions.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Permission {
    /// IAM action, e.g. `ecs:DescribeServices`.
    pub action: String,
    /// Resource ARNs or ARN patterns (`*` only for actions AWS documents no resource type for).
    pub resources: Vec<String>,
    /// Conditions, e.g. `StringEquals` → `iam:PassedToService` → `[codedeploy.amazonaws.com]`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: Conditions,
}

impl Permission {
    /// `action` on `resources`.
    pub fn new<S: Into<String>>(action: impl Into<String>, resources: impl IntoIterator<Item = S>) -> Self {
        Self { action: action.into(), resources: resources.into_iter().map(Into::into).collect(), conditions: Conditions::new() }
    }

    /// `action` on one resource.
    pub fn on(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self::new(action, [resource.into()])
    }

    /// `action` on any resource: for actions AWS documents no resource type for.
    pub fn any_resource(action: impl Into<String>) -> Self {
        Self::on(action, "*")
    }

    /// `iam:PassRole` of `role_arn` to `service` only (e.g. `codedeploy.amazonaws.com`).
    pub fn pass_role(role_arn: impl Into<String>, service: &str) -> Self {
        Self::on("iam:PassRole", role_arn).with_condition("StringEquals", PASSED_TO_SERVICE, service)
    }

    /// Adds a condition (`operator` on `key` with `value`).
    #[must_use]
    pub fn with_condition(mut self, operator: &str, key: &str, value: &str) -> Self {
        let values = self.conditions.entry(operator.to_owned()).or_default().entry(key.to_owned()).or_default();
        if !values.iter().any(|v| v == value) {
            values.push(value.to_owned());
        }
        self
    }

    /// The request context a simulation of it needs (one value per condition key).
    pub fn context(&self) -> BTreeMap<String, String> {
        self.conditions.values().flat_map(|keys| keys.iter().filter_map(|(k, v)| Some((k.clone(), v.first()?.clone())))).collect()
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.action, self.resources.join(", "))?;
        for (op, keys) in &self.conditions {
            for (k, v) in keys {
                write!(f, " ({op} {k}={})", v.join("|"))?;
            }
        }
        Ok(())
    }
}

/// Where the run acts (partition, region, account) and on which plan: what a step needs to
/// write the ARNs of its permissions. A part not known reads `*` in the ARNs.
#[derive(Debug, Clone)]
pub struct PermissionContext<'a> {
    plan: &'a Plan,
    partition: String,
    region: String,
    account_id: String,
    caller_arn: Option<String>,
}

impl<'a> PermissionContext<'a> {
    /// The context of `plan`: its account, and the region of the ARNs it holds (`*` when it
    /// holds none; [`PermissionContext::region`] sets it).
    pub fn new(plan: &'a Plan) -> Self {
        let region = plan_region(plan).unwrap_or_else(|| "*".to_owned());
        let partition = partition_of(&region);
        let account_id = plan.account_id.clone().unwrap_or_else(|| "*".to_owned());
        Self { plan, partition, region, account_id, caller_arn: None }
    }

    /// Sets the region (the clients' region).
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self.partition = partition_of(&self.region);
        self
    }

    /// Sets the caller's principal ARN (user or role), which the preflight simulates.
    #[must_use]
    pub fn caller(mut self, principal_arn: impl Into<String>) -> Self {
        self.caller_arn = Some(principal_arn.into());
        self
    }

    /// The plan.
    pub fn plan(&self) -> &'a Plan {
        self.plan
    }
    /// The partition (`aws`...).
    pub fn partition_name(&self) -> &str {
        &self.partition
    }
    /// The region, or `*`.
    pub fn region_name(&self) -> &str {
        &self.region
    }
    /// The caller's principal ARN, when set ([`PermissionContext::caller`]).
    pub fn caller_principal(&self) -> Option<&str> {
        self.caller_arn.as_deref()
    }
    /// The account id, or `*`.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    fn regional(&self, service: &str, rest: &str) -> String {
        format!("arn:{}:{service}:{}:{}:{rest}", self.partition, self.region, self.account_id)
    }
    /// The ECS cluster's ARN.
    pub fn cluster_arn(&self, cluster: &str) -> String {
        self.regional("ecs", &format!("cluster/{}", short_cluster(cluster)))
    }
    /// An ECS service's ARN.
    pub fn service_arn(&self, cluster: &str, service: &str) -> String {
        self.regional("ecs", &format!("service/{}/{service}", short_cluster(cluster)))
    }
    /// The tasks of a cluster.
    pub fn tasks_arn(&self, cluster: &str) -> String {
        self.regional("ecs", &format!("task/{}/*", short_cluster(cluster)))
    }
    /// The container instances of a cluster.
    pub fn container_instances_arn(&self, cluster: &str) -> String {
        self.regional("ecs", &format!("container-instance/{}/*", short_cluster(cluster)))
    }
    /// A target group, by name (its id is AWS's).
    pub fn target_group_arn(&self, name: &str) -> String {
        self.regional("elasticloadbalancing", &format!("targetgroup/{name}/*"))
    }
    /// The listeners of a load balancer, from its ARN.
    pub fn listeners_of(&self, load_balancer_arn: &str) -> String {
        match load_balancer_arn.split_once(":loadbalancer/") {
            Some((head, tail)) => format!("{head}:listener/{tail}/*"),
            None => self.regional("elasticloadbalancing", "listener/*"),
        }
    }
    /// An IAM role, by name.
    pub fn role_arn(&self, name: &str) -> String {
        format!("arn:{}:iam::{}:role/{name}", self.partition, self.account_id)
    }
    /// A CodeDeploy application.
    pub fn application_arn(&self, name: &str) -> String {
        self.regional("codedeploy", &format!("application:{name}"))
    }
    /// A CodeDeploy deployment group.
    pub fn deployment_group_arn(&self, application: &str, name: &str) -> String {
        self.regional("codedeploy", &format!("deploymentgroup:{application}/{name}"))
    }
    /// A CodeDeploy deployment configuration.
    pub fn deployment_config_arn(&self, name: &str) -> String {
        self.regional("codedeploy", &format!("deploymentconfig:{name}"))
    }
    /// A pipeline.
    pub fn pipeline_arn(&self, name: &str) -> String {
        self.regional("codepipeline", name)
    }
    /// A CloudWatch alarm.
    pub fn alarm_arn(&self, name: &str) -> String {
        self.regional("cloudwatch", &format!("alarm:{name}"))
    }
    /// An SSM parameter, by its name (`/a/b`).
    pub fn parameter_arn(&self, name: &str) -> String {
        self.regional("ssm", &format!("parameter{name}"))
    }
}

impl PermissionContext<'_> {
    /// The ARN of the role a role step of the plan creates or adopts (`step`), when planned.
    pub fn planned_role_arn(&self, step: &crate::spec::StepId) -> Option<String> {
        match &self.plan.change(step)?.detail {
            ChangeDetail::ServiceRole { name, arn, .. } => {
                Some(if arn.starts_with("arn:") { arn.clone() } else { self.role_arn(name) })
            }
            _ => None,
        }
    }

    /// The pipeline's service role as the plan records it (GetPipeline's `roleArn`); any role
    /// of the account for a plan that does not (written before it was recorded).
    pub fn pipeline_role_arn(&self) -> String {
        self.plan.pipeline_role_arn.clone().unwrap_or_else(|| self.role_arn("*"))
    }

    /// `role` when it is an ARN; else the role the plan's `step` makes.
    pub fn role_or_planned(&self, role: Option<&str>, step: &crate::spec::StepId) -> Option<String> {
        role.filter(|r| r.starts_with("arn:")).map(str::to_owned).or_else(|| self.planned_role_arn(step))
    }
}

fn partition_of(region: &str) -> String {
    if region == "*" { "aws".to_owned() } else { crate::inventory::partition_of_region(region).to_owned() }
}

/// The region of the first ARN the plan holds (the service's, the load balancer's).
fn plan_region(plan: &Plan) -> Option<String> {
    let arns = plan.changes.iter().filter_map(|c| match &c.detail {
        ChangeDetail::ServiceCutover { from, .. } => from.arn.clone(),
        ChangeDetail::TestListener { load_balancer_arn, .. } => Some(load_balancer_arn.clone()),
        ChangeDetail::NativeLoadBalancer(v) => Some(v.load_balancer_arn.clone()),
        ChangeDetail::GreenTargetGroup { settings, .. } => settings.load_balancer_arns.first().cloned(),
        _ => None,
    });
    arns.filter_map(|arn| arn.split(':').nth(3).filter(|r| !r.is_empty()).map(str::to_owned)).next()
}

/// One statement of a [`PolicyDocument`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Statement id.
    #[serde(rename = "Sid")]
    pub sid: String,
    /// Always `Allow`.
    #[serde(rename = "Effect")]
    pub effect: String,
    /// Actions, sorted.
    #[serde(rename = "Action")]
    pub actions: Vec<String>,
    /// Resources, sorted.
    #[serde(rename = "Resource")]
    pub resources: Vec<String>,
    /// Conditions.
    #[serde(rename = "Condition", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: Conditions,
}

/// An IAM identity policy document, ready for `aws iam put-user-policy` / `put-role-policy`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    /// `2012-10-17`.
    #[serde(rename = "Version")]
    pub version: String,
    /// Statements, in a stable order.
    #[serde(rename = "Statement")]
    pub statements: Vec<Statement>,
}

impl PolicyDocument {
    /// Merges `permissions` into statements: actions with the same resources and conditions
    /// share one. Deterministic: the same permissions in any order give the same document.
    pub fn from_permissions(permissions: &[Permission]) -> Self {
        // (conditions, action) -> resources; then (conditions, resources) -> actions.
        let mut by_action: BTreeMap<(&Conditions, &str), BTreeSet<&str>> = BTreeMap::new();
        for p in permissions {
            let resources = by_action.entry((&p.conditions, p.action.as_str())).or_default();
            resources.extend(p.resources.iter().map(String::as_str));
        }
        let mut by_resources: BTreeMap<(&Conditions, Vec<&str>), BTreeSet<&str>> = BTreeMap::new();
        for ((conditions, action), mut resources) in by_action {
            // A pattern covers the ARNs it matches (`*` every one): they would only repeat it.
            let all: Vec<&str> = resources.iter().copied().collect();
            resources.retain(|r| !all.iter().any(|p| p != r && crate::iam_policy::glob(p, r, false)));
            by_resources.entry((conditions, resources.into_iter().collect())).or_default().insert(action);
        }
        let mut statements: Vec<Statement> = by_resources
            .into_iter()
            .map(|((conditions, resources), actions)| Statement {
                sid: String::new(),
                effect: "Allow".to_owned(),
                actions: actions.into_iter().map(str::to_owned).collect(),
                resources: resources.into_iter().map(str::to_owned).collect(),
                conditions: conditions.clone(),
            })
            .collect();
        statements.sort_by(|a, b| (&a.actions, &a.resources).cmp(&(&b.actions, &b.resources)));
        for (i, s) in statements.iter_mut().enumerate() {
            s.sid = format!("EcsBlueGreen{i}");
        }
        Self { version: "2012-10-17".to_owned(), statements }
    }

    /// The document as JSON (pretty-printed).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a policy document serialises")
    }

    /// Every (action, resource) pair it allows, for checks.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.statements.iter().flat_map(|s| s.actions.iter().flat_map(|a| s.resources.iter().map(|r| (a.clone(), r.clone())))).collect()
    }
}

impl std::fmt::Display for PolicyDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "IAM policy a run of this plan needs (apply, rollback, resume):")?;
        for s in &self.statements {
            writeln!(f, "\n  {}", s.actions.join("\n  "))?;
            writeln!(f, "    on {}", s.resources.join("\n       "))?;
            for (op, keys) in &s.conditions {
                for (k, v) in keys {
                    writeln!(f, "    when {op} {k} = {}", v.join(" | "))?;
                }
            }
        }
        writeln!(f, "\n`--output json` prints it as a policy document (aws iam put-role-policy --policy-document file://...).")
    }
}

/// The IAM principal to simulate for a caller ARN from STS: an assumed role's session ARN
/// (`arn:aws:sts::1:assumed-role/NAME/session`) maps to its role (`arn:aws:iam::1:role/NAME`;
/// a role with a path needs that path: pass the role ARN itself then); a user's ARN is itself.
pub fn principal_arn(caller_arn: &str) -> String {
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    if let [_, partition, "sts", _, account, resource] = parts.as_slice()
        && let Some(rest) = resource.strip_prefix("assumed-role/")
    {
        let role = rest.split('/').next().unwrap_or(rest);
        return format!("arn:{partition}:iam::{account}:role/{role}");
    }
    caller_arn.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assumed_role_maps_to_its_role_and_a_user_to_itself() {
        assert_eq!(
            principal_arn("arn:aws:sts::123456789012:assumed-role/Deployer/alice@example.com"),
            "arn:aws:iam::123456789012:role/Deployer"
        );
        assert_eq!(principal_arn("arn:aws-cn:sts::1:assumed-role/R/s"), "arn:aws-cn:iam::1:role/R");
        assert_eq!(principal_arn("arn:aws:iam::1:user/ops/bob"), "arn:aws:iam::1:user/ops/bob");
    }

    #[test]
    fn merging_is_deterministic_and_star_absorbs_arns() {
        let a = [
            Permission::on("ecs:UpdateService", "arn:s/1"),
            Permission::on("ecs:DescribeServices", "arn:s/1"),
            Permission::on("ecs:DescribeServices", "arn:s/2"),
            Permission::any_resource("elasticloadbalancing:DescribeRules"),
            Permission::on("elasticloadbalancing:DescribeRules", "arn:l/1"),
            Permission::pass_role("arn:r", "codedeploy.amazonaws.com"),
        ];
        let mut b = a.clone();
        b.reverse();
        let (da, db) = (PolicyDocument::from_permissions(&a), PolicyDocument::from_permissions(&b));
        assert_eq!(da, db);
        let rules = da.statements.iter().find(|s| s.actions.contains(&"elasticloadbalancing:DescribeRules".to_owned())).unwrap();
        assert_eq!(rules.resources, ["*"]);
        let pass = da.statements.iter().find(|s| s.actions == ["iam:PassRole"]).unwrap();
        assert_eq!(pass.conditions["StringEquals"][PASSED_TO_SERVICE], ["codedeploy.amazonaws.com"]);
        let update = da.statements.iter().find(|s| s.actions == ["ecs:UpdateService"]).unwrap();
        assert_eq!(update.resources, ["arn:s/1"]);
        assert!(da.statements.iter().all(|s| !s.actions.iter().any(|a| a == "*")));
    }
}
