//! What the pipeline's service role needs to run the `CodeDeployToECS` action, and the inline
//! policy that grants what it lacks. Pure: no I/O (discovery asks IAM; the plan builds the
//! grant from what discovery found missing).
//!
//! CodePipeline's user guide ("Service role permissions: CodeDeployToECS action") lists
//! `codedeploy:CreateDeployment`, `GetDeployment`, `GetApplication`, `GetApplicationRevision`,
//! `RegisterApplicationRevision`, `GetDeploymentConfig`, `ecs:RegisterTaskDefinition` and
//! `iam:PassRole` for the task and execution roles. A role written for the `ECS` action has
//! none of the CodeDeploy ones, and the first run of the rewired pipeline fails.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::iam_policy::{Decision, PolicySet};

/// The service `iam:PassRole` must be allowed to pass the task roles to.
pub const PASSED_TO_SERVICE: &str = "ecs-tasks.amazonaws.com";
/// The condition key scoping `iam:PassRole`.
pub const PASSED_TO_SERVICE_KEY: &str = "iam:PassedToService";
/// Prefix of the inline policy this tool puts on the pipeline role.
pub const POLICY_NAME_PREFIX: &str = "ecs-bluegreen-";
/// Longest IAM inline policy name.
const MAX_POLICY_NAME: usize = 128;

/// One action on one resource the role must be allowed, with the request context it is made in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Permission {
    /// IAM action, e.g. `codedeploy:CreateDeployment`.
    pub action: String,
    /// Resource ARN (a task definition family as `task-definition/<family>:*`: every revision).
    pub resource: String,
    /// Condition context of the request (`iam:PassedToService` for `iam:PassRole`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, String>,
}

impl Permission {
    fn new(action: &str, resource: String) -> Self {
        Self { action: action.to_owned(), resource, context: BTreeMap::new() }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)?;
        for (k, v) in &self.context {
            write!(f, " ({k}={v})")?;
        }
        Ok(())
    }
}

/// The resources the deploy action works on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeployTargets {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// Region.
    pub region: String,
    /// Account id.
    pub account_id: String,
    /// CodeDeploy application.
    pub application: String,
    /// Deployment group.
    pub deployment_group: String,
    /// Deployment config of the group.
    pub deployment_config: String,
    /// Task definition family the action registers revisions of.
    pub family: String,
    /// Task role and execution role ARNs the task definition names.
    pub pass_roles: Vec<String>,
}

impl DeployTargets {
    /// The targets, with no roles to pass.
    pub fn new(
        partition: impl Into<String>,
        region: impl Into<String>,
        account_id: impl Into<String>,
        application: impl Into<String>,
        deployment_group: impl Into<String>,
        deployment_config: impl Into<String>,
        family: impl Into<String>,
    ) -> Self {
        Self {
            partition: partition.into(),
            region: region.into(),
            account_id: account_id.into(),
            application: application.into(),
            deployment_group: deployment_group.into(),
            deployment_config: deployment_config.into(),
            family: family.into(),
            pass_roles: Vec::new(),
        }
    }

    /// Adds a role the action passes (task or execution role); duplicates are kept once.
    pub fn pass_role(mut self, arn: impl Into<String>) -> Self {
        let arn = arn.into();
        if !self.pass_roles.contains(&arn) {
            self.pass_roles.push(arn);
        }
        self
    }
}

/// Every permission the `CodeDeployToECS` action needs on `t`, each scoped to its resource.
pub fn required(t: &DeployTargets) -> Vec<Permission> {
    let cd = |suffix: String| format!("arn:{}:codedeploy:{}:{}:{suffix}", t.partition, t.region, t.account_id);
    let app = cd(format!("application:{}", t.application));
    let group = cd(format!("deploymentgroup:{}/{}", t.application, t.deployment_group));
    let config = cd(format!("deploymentconfig:{}", t.deployment_config));
    let family = format!("arn:{}:ecs:{}:{}:task-definition/{}:*", t.partition, t.region, t.account_id, t.family);
    let mut out = vec![
        Permission::new("codedeploy:CreateDeployment", group.clone()),
        Permission::new("codedeploy:GetDeployment", group),
        Permission::new("codedeploy:GetApplication", app.clone()),
        Permission::new("codedeploy:GetApplicationRevision", app.clone()),
        Permission::new("codedeploy:RegisterApplicationRevision", app),
        Permission::new("codedeploy:GetDeploymentConfig", config),
        Permission::new("ecs:RegisterTaskDefinition", family),
    ];
    for role in &t.pass_roles {
        let mut p = Permission::new("iam:PassRole", role.clone());
        p.context.insert(PASSED_TO_SERVICE_KEY.to_owned(), PASSED_TO_SERVICE.to_owned());
        out.push(p);
    }
    out
}

/// What a check found: the permissions the role lacks, and those a `Deny` blocks (an added
/// `Allow` cannot help those).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Shortfall {
    /// Not allowed (implicitly denied).
    pub missing: Vec<Permission>,
    /// Explicitly denied.
    pub denied: Vec<Permission>,
}

impl Shortfall {
    /// Sorts `needs` by their decisions.
    pub fn from_decisions<'a>(decisions: impl IntoIterator<Item = (&'a Permission, Decision)>) -> Self {
        let mut s = Shortfall::default();
        for (p, d) in decisions {
            match d {
                Decision::Allowed => {}
                Decision::ImplicitDeny => s.missing.push(p.clone()),
                Decision::ExplicitDeny => s.denied.push(p.clone()),
            }
        }
        s
    }

    /// Evaluates `needs` against the role's policy documents (the fallback when the
    /// simulation is not available).
    pub fn evaluate(needs: &[Permission], policies: &PolicySet) -> Self {
        Self::from_decisions(needs.iter().map(|p| (p, policies.evaluate(&p.action, &p.resource, &p.context))))
    }
}

/// The name of the inline policy migration `migration_id` puts on the pipeline role:
/// `ecs-bluegreen-<id>`, characters IAM does not allow replaced by `-` and, when that changed
/// the id or it is too long, a stable hash of the id appended (so two ids never share it).
pub fn policy_name(migration_id: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    let clean: String = migration_id.chars().map(|c| if allowed(c) { c } else { '-' }).collect();
    let plain = format!("{POLICY_NAME_PREFIX}{clean}");
    if clean == migration_id && plain.len() <= MAX_POLICY_NAME {
        return plain;
    }
    // FNV-1a: stable across Rust versions (the name must match across runs).
    let hash = migration_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let keep = MAX_POLICY_NAME - POLICY_NAME_PREFIX.len() - 17;
    format!("{POLICY_NAME_PREFIX}{}-{hash:016x}", clean.chars().take(keep).collect::<String>())
}

/// The inline policy document granting `missing`: one statement per set of actions on the same
/// resources and context, each scoped by ARN (`iam:PassRole` with its `iam:PassedToService`
/// condition). Deterministic: the same shortfall gives the same text.
pub fn grant_document(missing: &[Permission]) -> String {
    // (context, resource) -> actions, then (context, actions) -> resources.
    type Context = BTreeMap<String, String>;
    let mut by_resource: BTreeMap<(&Context, &str), BTreeSet<&str>> = BTreeMap::new();
    for p in missing {
        by_resource.entry((&p.context, p.resource.as_str())).or_default().insert(p.action.as_str());
    }
    let mut by_actions: BTreeMap<(&Context, Vec<&str>), Vec<&str>> = BTreeMap::new();
    for ((context, resource), actions) in by_resource {
        by_actions.entry((context, actions.into_iter().collect())).or_default().push(resource);
    }
    let statements: Vec<serde_json::Value> = by_actions
        .into_iter()
        .enumerate()
        .map(|(i, ((context, actions), resources))| {
            let mut s = serde_json::json!({
                "Sid": format!("EcsBlueGreenPipeline{i}"),
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources,
            });
            if !context.is_empty() {
                s["Condition"] = serde_json::json!({ "StringEquals": context });
            }
            s
        })
        .collect();
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> DeployTargets {
        DeployTargets::new("aws", "us-east-1", "123456789012", "prod-web", "web-bluegreen", "CodeDeployDefault.ECSAllAtOnce", "web")
            .pass_role("arn:aws:iam::123456789012:role/web-task-role")
            .pass_role("arn:aws:iam::123456789012:role/web-execution-role")
            .pass_role("arn:aws:iam::123456789012:role/web-task-role")
    }

    #[test]
    fn every_needed_action_is_scoped_to_its_resource() {
        let needs = required(&targets());
        let find = |a: &str| needs.iter().filter(|p| p.action == a).map(|p| p.resource.as_str()).collect::<Vec<_>>();
        assert_eq!(find("codedeploy:CreateDeployment"), ["arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:prod-web/web-bluegreen"]);
        assert_eq!(find("codedeploy:GetApplication"), ["arn:aws:codedeploy:us-east-1:123456789012:application:prod-web"]);
        assert_eq!(
            find("codedeploy:GetDeploymentConfig"),
            ["arn:aws:codedeploy:us-east-1:123456789012:deploymentconfig:CodeDeployDefault.ECSAllAtOnce"]
        );
        assert_eq!(find("ecs:RegisterTaskDefinition"), ["arn:aws:ecs:us-east-1:123456789012:task-definition/web:*"]);
        assert_eq!(find("iam:PassRole").len(), 2, "each role once");
        assert!(needs.iter().filter(|p| p.action == "iam:PassRole").all(|p| p.context[PASSED_TO_SERVICE_KEY] == PASSED_TO_SERVICE));
        assert_eq!(needs.len(), 9);
    }

    #[test]
    fn the_grant_allows_exactly_what_was_missing() {
        let needs = required(&targets());
        let grant = grant_document(&needs);
        let policies = PolicySet::parse([("grant", grant.as_str())]).unwrap();
        assert_eq!(Shortfall::evaluate(&needs, &policies), Shortfall::default(), "{grant}");
        // Scoped: another group, another family, another role, or PassRole to another service is not allowed.
        let other = |p: &Permission, r: &str| policies.evaluate(&p.action, r, &p.context);
        assert_eq!(other(&needs[0], "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:prod-web/other"), Decision::ImplicitDeny);
        assert_eq!(other(&needs[6], "arn:aws:ecs:us-east-1:123456789012:task-definition/other:1"), Decision::ImplicitDeny);
        assert_eq!(other(&needs[7], "arn:aws:iam::123456789012:role/admin"), Decision::ImplicitDeny);
        let lambda: BTreeMap<String, String> = [(PASSED_TO_SERVICE_KEY.to_owned(), "lambda.amazonaws.com".to_owned())].into();
        assert_eq!(policies.evaluate("iam:PassRole", &needs[7].resource, &lambda), Decision::ImplicitDeny);
        // Only what is missing is granted.
        let partial = grant_document(&needs[..2]);
        let p = PolicySet::parse([("grant", partial.as_str())]).unwrap();
        assert_eq!(Shortfall::evaluate(&needs, &p).missing, needs[2..].to_vec());
        assert_eq!(grant_document(&needs), grant, "deterministic");
    }

    #[test]
    fn an_ecs_action_role_lacks_the_codedeploy_permissions_and_a_deny_is_reported_apart() {
        let ecs_role = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["ecs:DescribeServices","ecs:DescribeTaskDefinition","ecs:RegisterTaskDefinition","ecs:UpdateService"],"Resource":"*"},
            {"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEqualsIfExists":{"iam:PassedToService":["ecs-tasks.amazonaws.com"]}}},
            {"Effect":"Deny","Action":"codedeploy:CreateDeployment","Resource":"*"}]}"#;
        let needs = required(&targets());
        let s = Shortfall::evaluate(&needs, &PolicySet::parse([("ecs", ecs_role)]).unwrap());
        fn actions(v: &[Permission]) -> Vec<&str> {
            v.iter().map(|p| p.action.as_str()).collect()
        }
        assert_eq!(
            actions(&s.missing),
            [
                "codedeploy:GetDeployment",
                "codedeploy:GetApplication",
                "codedeploy:GetApplicationRevision",
                "codedeploy:RegisterApplicationRevision",
                "codedeploy:GetDeploymentConfig"
            ]
        );
        assert_eq!(actions(&s.denied), ["codedeploy:CreateDeployment"]);
    }

    #[test]
    fn policy_names_are_valid_and_stable() {
        assert_eq!(policy_name("web-migration"), "ecs-bluegreen-web-migration");
        let slash = policy_name("prod/web");
        assert!(slash.starts_with("ecs-bluegreen-prod-web-"), "{slash}");
        assert_ne!(slash, policy_name("prod-web"), "ids that clean to the same text keep apart");
        assert_eq!(slash, policy_name("prod/web"));
        let long = policy_name(&"x".repeat(300));
        assert!(long.len() <= 128, "{}", long.len());
        assert!(long.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)));
    }
}
