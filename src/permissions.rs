//! Operator permissions: the IAM actions a run makes, as data, and the least-privilege policy
//! document a run of a plan needs (apply, rollback and resume together). Pure: no I/O, except
//! [`preflight`], which asks IAM to simulate that policy for the caller before anything changes.
//!
//! Every built-in step declares what it calls ([`Step::permissions`](crate::Step::permissions)):
//! the reads and mutations of its apply, undo, resume and waits, each scoped to the ARNs of the
//! resources it works on where the API allows it (ELBv2's and Auto Scaling's `Describe*` do not:
//! AWS documents no resource types for them, so they read `*`). The run itself adds what every
//! run makes whatever its steps: discovery's reads, the run lock (SSM), STS, and the preflight's
//! own simulation ([`run_permissions`]). A test runs the kit's scenarios and checks that every
//! call made is declared here.

use crate::plan::Plan;
use crate::registry::StepRegistry;

pub use crate::permission::{Conditions, PASSED_TO_SERVICE, Permission, PermissionContext, PolicyDocument, Statement, principal_arn};

/// What every run of `cx`'s plan makes besides its steps: discovery's and the stale-plan
/// check's reads, the run lock (SSM), STS, and the preflight's simulation of the caller.
pub fn run_permissions(cx: &PermissionContext<'_>) -> Vec<Permission> {
    let plan = cx.plan();
    let mut out = vec![
        // Needs no permission (AWS), declared so the policy lists every call.
        Permission::any_resource("sts:GetCallerIdentity"),
        // No resource types (AWS's service authorization reference).
        Permission::any_resource("ecs:DescribeTaskDefinition"),
        Permission::any_resource("elasticloadbalancing:DescribeTargetGroups"),
        Permission::any_resource("elasticloadbalancing:DescribeTargetGroupAttributes"),
        Permission::any_resource("elasticloadbalancing:DescribeLoadBalancers"),
        Permission::any_resource("elasticloadbalancing:DescribeListeners"),
        Permission::any_resource("elasticloadbalancing:DescribeRules"),
        Permission::any_resource("elasticloadbalancing:DescribeTags"),
        Permission::any_resource("elasticloadbalancing:DescribeListenerCertificates"),
        Permission::any_resource("application-autoscaling:DescribeScalableTargets"),
        Permission::any_resource("application-autoscaling:DescribeScalingPolicies"),
        Permission::any_resource("application-autoscaling:DescribeScheduledActions"),
        Permission::any_resource("cloudwatch:DescribeAlarms"),
    ];
    let lock = cx.parameter_arn(&crate::lock::parameter_name(&plan.cluster, &plan.service));
    for action in ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"] {
        out.push(Permission::on(action, lock.clone()));
    }
    if let Some(m) = plan.migration.as_deref() {
        // Discovery reads the service, the name a cutover creates, and what the plan names.
        let mut services = vec![cx.service_arn(&plan.cluster, &plan.service)];
        match m.cutover() {
            crate::spec::ServiceCutover::Parallel { new_name } => services.push(cx.service_arn(&plan.cluster, new_name.as_str())),
            crate::spec::ServiceCutover::ParallelKeepName => {
                services.push(cx.service_arn(&plan.cluster, &crate::spec::bridge_service_name(&plan.service)));
            }
            _ => {}
        }
        out.push(Permission::new("ecs:DescribeServices", services));
        if m.target() != crate::spec::Target::Codedeploy {
            // The rolling target's discovery refuses a service with a deployment in progress.
            out.push(Permission::on("ecs:ListServiceDeployments", cx.service_arn(&plan.cluster, &plan.service)));
        }
        if plan.changes.iter().any(|c| c.step == crate::spec::StepId::ControllerSwitch) {
            // Onward from CodeDeploy, discovery finds the service's deployment group among every
            // application's groups: their names are not known before it reads them.
            out.push(Permission::any_resource("codedeploy:ListApplications"));
            let (apps, groups) = (cx.application_arn("*"), cx.deployment_group_arn("*", "*"));
            out.push(Permission::on("codedeploy:ListDeploymentGroups", apps.clone()));
            out.push(Permission::on("codedeploy:GetApplication", apps.clone()));
            out.push(Permission::on("codedeploy:GetDeploymentGroup", groups.clone()));
            out.push(Permission::new("codedeploy:ListTagsForResource", [apps, groups]));
            out.push(Permission::on("codedeploy:GetDeploymentConfig", cx.deployment_config_arn("*")));
        }
        let native = m.target() == crate::spec::Target::EcsNative;
        let role = if native { m.infrastructure_role_name().ok().map(|r| r.to_string()) } else { m.role_spec().ok().map(|r| r.role_name().to_string()) };
        if let Some(role) = role {
            out.push(Permission::on("iam:GetRole", cx.role_arn(&role)));
        }
        if let (Ok(app), Ok(dg)) = (m.application_spec(), m.deployment_group_spec()) {
            let (app, dg) = (app.application_name().to_string(), dg.deployment_group_name().to_string());
            let (app_arn, dg_arn) = (cx.application_arn(&app), cx.deployment_group_arn(&app, &dg));
            out.push(Permission::on("codedeploy:GetApplication", app_arn.clone()));
            out.push(Permission::on("codedeploy:GetDeploymentGroup", dg_arn.clone()));
            out.push(Permission::new("codedeploy:ListTagsForResource", [app_arn, dg_arn.clone()]));
            // Rollback refuses while a deployment of the group is in flight.
            out.push(Permission::on("codedeploy:ListDeployments", dg_arn.clone()));
            out.push(Permission::on("codedeploy:GetDeployment", dg_arn));
        }
        if let Ok(dg) = m.deployment_group_spec()
            && let crate::spec::DeploymentConfig::Custom(name) = dg.deployment_config()
        {
            out.push(Permission::on("codedeploy:GetDeploymentConfig", cx.deployment_config_arn(name)));
        }
        if let Some(p) = m.pipeline() {
            out.push(Permission::on("codepipeline:GetPipeline", cx.pipeline_arn(p.pipeline_name().as_str())));
            // The pipeline role's check: simulated, else its policies read. The plan records
            // the role GetPipeline named; a plan without it: any role of the account, read-only.
            let roles = cx.pipeline_role_arn();
            for action in ["iam:SimulatePrincipalPolicy", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"] {
                out.push(Permission::on(action, roles.clone()));
            }
            let policies = format!("arn:{}:iam::*:policy/*", cx.partition_name());
            out.push(Permission::on("iam:GetPolicy", policies.clone()));
            out.push(Permission::on("iam:GetPolicyVersion", policies));
        }
    }
    // The preflight simulates the caller itself.
    // Whoever runs it (not known when the policy is printed for someone else): a user or a role.
    let callers = match cx.caller_principal() {
        Some(arn) => vec![principal_arn(arn)],
        None => ["user/*", "role/*"].map(|p| format!("arn:{}:iam::{}:{p}", cx.partition_name(), cx.account_id())).into(),
    };
    out.push(Permission::new("iam:SimulatePrincipalPolicy", callers));
    out
}

/// Every permission a run of `plan` needs: the run's own ([`run_permissions`]) and each
/// step's, built-in and users' (rebuilt from `registry`), for apply, rollback and resume.
///
/// # Errors
/// A user's step whose kind `registry` does not know.
pub fn required(cx: &PermissionContext<'_>, registry: &StepRegistry) -> crate::Result<Vec<Permission>> {
    let mut out = run_permissions(cx);
    for change in &cx.plan().changes {
        let step = crate::steps::build(change, registry)?;
        out.extend(step.permissions(cx));
    }
    Ok(out)
}

/// The policy document a run of `plan` needs (built-in steps and the run's own calls).
pub fn policy(cx: &PermissionContext<'_>) -> PolicyDocument {
    // The built-in steps need no registry; users' steps are added by `policy_with`.
    let mut all = run_permissions(cx);
    for change in cx.plan().changes.iter().filter(|c| c.step.is_built_in()) {
        if let Ok(step) = crate::steps::build(change, &StepRegistry::new()) {
            all.extend(step.permissions(cx));
        }
    }
    PolicyDocument::from_permissions(&all)
}

/// [`policy`] with users' steps too, rebuilt from `registry`.
///
/// # Errors
/// A user's step whose kind `registry` does not know.
pub fn policy_with(cx: &PermissionContext<'_>, registry: &StepRegistry) -> crate::Result<PolicyDocument> {
    Ok(PolicyDocument::from_permissions(&required(cx, registry)?))
}

/// What the preflight found, when it did not refuse.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreflightOutcome {
    /// IAM's simulation allows the caller every action of the policy on its resources.
    Allowed {
        /// The principal simulated (an assumed role's role).
        principal: String,
    },
    /// The caller may not simulate (or IAM did not answer): nothing was checked. The plan
    /// carries a warning saying so.
    NotChecked {
        /// Why, as IAM said it.
        reason: String,
    },
}

/// Checks, before anything changes, that the caller may make every call a run of `plan`
/// needs: STS names the caller (an assumed role maps to its role), and IAM's
/// `SimulatePrincipalPolicy` decides each action of [`policy_with`] on its resources (with
/// its conditions as context). Read-only.
///
/// When the caller may not simulate (itself a common denial), the plan gets a warning and the
/// run goes on.
///
/// # Errors
/// [`Error::Plan`](crate::Error::Plan) with one [`RefusalKind::PermissionDenied`] per denied
/// action and resource; an STS failure; a user's step `registry` does not know.
///
/// [`RefusalKind::PermissionDenied`]: crate::refusal::RefusalKind::PermissionDenied
pub async fn preflight(aws: &crate::AwsClients, plan: &mut Plan, registry: &StepRegistry) -> crate::Result<PreflightOutcome> {
    preflight_of(aws, plan, |cx| required(cx, registry)).await
}

/// [`preflight`] of the permissions `needs` gives for the caller's context.
pub(crate) async fn preflight_of(
    aws: &crate::AwsClients,
    plan: &mut Plan,
    needs: impl FnOnce(&PermissionContext<'_>) -> crate::Result<Vec<Permission>>,
) -> crate::Result<PreflightOutcome> {
    let caller = crate::identity::Caller::of(aws).await?;
    let principal = principal_arn(&caller.arn);
    let document = {
        let cx = PermissionContext::new(plan).region(caller.region.clone()).caller(principal.clone());
        PolicyDocument::from_permissions(&needs(&cx)?)
    };
    let denied = match simulate(aws, &principal, &document).await {
        Ok(denied) => denied,
        Err(e) => {
            let reason = format!("SimulatePrincipalPolicy: {}", e.code().or(e.message()).unwrap_or("no answer"));
            plan.warnings.push(format!(
                "permissions not checked: {principal} may not simulate its own policies ({reason}); \
                 `migrate permissions` prints the policy a run needs"
            ));
            return Ok(PreflightOutcome::NotChecked { reason });
        }
    };
    if denied.is_empty() {
        return Ok(PreflightOutcome::Allowed { principal });
    }
    let refusals = denied
        .into_iter()
        .map(|(action, resource, decision)| {
            crate::refusal::Refusal::new(
                crate::refusal::RefusalKind::PermissionDenied,
                format!("{principal} may not {action} on {resource} ({decision})"),
                if decision == "explicit deny" {
                    "remove the Deny that matches it (identity policy, boundary or SCP)".to_owned()
                } else {
                    "allow it: `migrate permissions --output json` prints the policy a run needs".to_owned()
                },
            )
        })
        .collect();
    Err(crate::Error::Plan(crate::plan::PlanError::new(refusals)))
}

/// Each statement simulated (its actions on its resources, its conditions as context): the
/// (action, resource, decision) IAM does not allow, in the document's order.
async fn simulate(
    aws: &crate::AwsClients,
    principal: &str,
    document: &PolicyDocument,
) -> std::result::Result<Vec<(String, String, &'static str)>, crate::AwsApiError> {
    use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType as D};
    let mut denied = Vec::new();
    for s in &document.statements {
        let mut req = aws.iam.simulate_principal_policy().policy_source_arn(principal).set_action_names(Some(s.actions.clone()));
        if s.resources != ["*"] {
            req = req.set_resource_arns(Some(s.resources.clone()));
        }
        for keys in s.conditions.values() {
            for (key, values) in keys {
                let entry =
                    ContextEntry::builder().context_key_name(key).set_context_key_values(Some(values.clone())).context_key_type(ContextKeyTypeEnum::String).build();
                req = req.context_entries(entry);
            }
        }
        let out = req.send().await.map_err(|e| crate::AwsApiError::from_sdk("SimulatePrincipalPolicy", principal, e))?;
        let name = |d: &D| match d {
            D::Allowed => None,
            D::ExplicitDeny => Some("explicit deny"),
            _ => Some("implicit deny"),
        };
        for r in out.evaluation_results() {
            let per_resource = r.resource_specific_results();
            if per_resource.is_empty()
                && let Some(d) = name(r.eval_decision())
            {
                denied.push((r.eval_action_name().to_owned(), r.eval_resource_name().unwrap_or("*").to_owned(), d));
            }
            for rr in per_resource {
                if let Some(d) = name(rr.eval_resource_decision()) {
                    denied.push((r.eval_action_name().to_owned(), rr.eval_resource_name().to_owned(), d));
                }
            }
        }
    }
    Ok(denied)
}

