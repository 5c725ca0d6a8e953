//! IAM in the mock account: roles, their tags and attached managed policies.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput;
use aws_sdk_iam::operation::create_role::CreateRoleOutput;
use aws_sdk_iam::operation::delete_role::DeleteRoleOutput;
use aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput;
use aws_sdk_iam::operation::get_role::GetRoleOutput;
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::operation::list_roles::ListRolesOutput;
use aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyOutput;
use aws_sdk_iam::operation::get_policy::GetPolicyOutput;
use aws_sdk_iam::operation::get_role_policy::GetRolePolicyOutput;
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
use aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput;
use aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyOutput;
use aws_sdk_iam::types::{AttachedPolicy, Role};
use aws_smithy_mocks::mock;

use super::account::{Answer, RoleState, Shared, answer, aws_error};

fn sdk_role(name: &str, r: &RoleState) -> Role {
    crate::convert::role_to_sdk(name, &r.arn, &r.trust_policy, &r.tags)
}

fn no_role(name: &str) -> String {
    format!("The role with name {name} cannot be found.")
}

/// Only AWS-managed policies exist in the fake, in the account's partition.
fn policy_exists(arn: &str, region: &str) -> bool {
    arn.starts_with(&format!("arn:{}:iam::aws:policy/", crate::inventory::partition_of_region(region)))
}

pub(crate) fn rules(acct: &Shared) -> Vec<Answer> {
    let get = answer(acct, "GetRole", mock!(Client::get_role), |st, input| {
        let name = input.role_name().unwrap_or_default();
        match st.roles.get(name) {
            Some(r) => Ok(GetRoleOutput::builder().role(sdk_role(name, r)).build()),
            None => Err(aws_error("NoSuchEntity", &no_role(name))),
        }
    });

    let list = answer(acct, "ListRoles", mock!(Client::list_roles), |st, _| {
        Ok(ListRolesOutput::builder()
            .set_roles(Some(st.roles.iter().map(|(n, r)| sdk_role(n, r)).collect()))
            .is_truncated(false)
            .build()
            .expect("roles set"))
    });

    let create = answer(acct, "CreateRole", mock!(Client::create_role), |st, input| {
        let name = input.role_name().unwrap_or_default().to_owned();
        if st.roles.contains_key(&name) {
            return Err(aws_error("EntityAlreadyExists", &format!("Role with name {name} already exists.")));
        }
        let role = RoleState {
            arn: format!(
                "arn:{}:iam::{}:role{}{name}",
                crate::inventory::partition_of_region(&st.region),
                st.account_id,
                input.path().unwrap_or("/")
            ),
            trust_policy: input.assume_role_policy_document().unwrap_or_default().to_owned(),
            policies: vec![],
            inline_policies: Default::default(),
            tags: input.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect(),
        };
        let out = CreateRoleOutput::builder().role(sdk_role(&name, &role)).build();
        st.roles.insert(name.clone(), role);
        st.log.push(format!("CreateRole {name}"));
        Ok(out)
    });

    let attach = answer(acct, "AttachRolePolicy", mock!(Client::attach_role_policy), |st, input| {
        let name = input.role_name().unwrap_or_default().to_owned();
        let policy = input.policy_arn().unwrap_or_default().to_owned();
        if !policy_exists(&policy, &st.region) {
            return Err(aws_error("NoSuchEntity", &format!("Policy {policy} does not exist or is not attachable.")));
        }
        let Some(role) = st.roles.get_mut(&name) else { return Err(aws_error("NoSuchEntity", &no_role(&name))) };
        if !role.policies.contains(&policy) {
            role.policies.push(policy);
        }
        st.log.push(format!("AttachRolePolicy {name}"));
        Ok(AttachRolePolicyOutput::builder().build())
    });

    let list_attached = answer(acct, "ListAttachedRolePolicies", mock!(Client::list_attached_role_policies), |st, input| {
        let name = input.role_name().unwrap_or_default();
        let Some(r) = st.roles.get(name) else { return Err(aws_error("NoSuchEntity", &no_role(name))) };
        Ok(ListAttachedRolePoliciesOutput::builder()
            .set_attached_policies(Some(
                r.policies
                    .iter()
                    .map(|p| AttachedPolicy::builder().policy_arn(p).policy_name(p.rsplit('/').next().unwrap_or_default()).build())
                    .collect(),
            ))
            .is_truncated(false)
            .build())
    });

    let detach = answer(acct, "DetachRolePolicy", mock!(Client::detach_role_policy), |st, input| {
        let name = input.role_name().unwrap_or_default().to_owned();
        let policy = input.policy_arn().unwrap_or_default();
        let Some(r) = st.roles.get_mut(&name) else { return Err(aws_error("NoSuchEntity", &no_role(&name))) };
        if !r.policies.iter().any(|p| p == policy) {
            return Err(aws_error("NoSuchEntity", &format!("Policy {policy} was not found.")));
        }
        r.policies.retain(|p| p != policy);
        st.log.push(format!("DetachRolePolicy {name}"));
        Ok(DetachRolePolicyOutput::builder().build())
    });

    let delete = answer(acct, "DeleteRole", mock!(Client::delete_role), |st, input| {
        let name = input.role_name().unwrap_or_default().to_owned();
        match st.roles.get(&name) {
            None => Err(aws_error("NoSuchEntity", &no_role(&name))),
            Some(r) if !r.policies.is_empty() => {
                Err(aws_error("DeleteConflict", "Cannot delete entity, must detach all policies first."))
            }
            Some(_) => {
                st.roles.remove(&name);
                st.log.push(format!("DeleteRole {name}"));
                Ok(DeleteRoleOutput::builder().build())
            }
        }
    });

    let put_inline = answer(acct, "PutRolePolicy", mock!(Client::put_role_policy), |st, input| {
        let name = input.role_name().unwrap_or_default().to_owned();
        let policy = input.policy_name().unwrap_or_default().to_owned();
        let document = input.policy_document().unwrap_or_default();
        if serde_json::from_str::<serde_json::Value>(document).map_or(true, |d| d.get("Statement").is_none()) {
            return Err(aws_error("MalformedPolicyDocument", "Syntax errors in policy."));
        }
        let Some(r) = st.roles.get_mut(&name) else { return Err(aws_error("NoSuchEntity", &no_role(&name))) };
        r.inline_policies.insert(policy.clone(), document.to_owned());
        st.log.push(format!("PutRolePolicy {name}/{policy}"));
        Ok(PutRolePolicyOutput::builder().build())
    });

    let get_inline = answer(acct, "GetRolePolicy", mock!(Client::get_role_policy), |st, input| {
        let name = input.role_name().unwrap_or_default();
        let policy = input.policy_name().unwrap_or_default();
        let Some(r) = st.roles.get(name) else { return Err(aws_error("NoSuchEntity", &no_role(name))) };
        let Some(doc) = r.inline_policies.get(policy) else {
            return Err(aws_error("NoSuchEntity", &format!("The role policy with name {policy} cannot be found.")));
        };
        // IAM answers with the document URL-encoded.
        Ok(GetRolePolicyOutput::builder()
            .role_name(name)
            .policy_name(policy)
            .policy_document(url_encode(doc))
            .build()
            .expect("all fields set"))
    });

    let list_inline = answer(acct, "ListRolePolicies", mock!(Client::list_role_policies), |st, input| {
        let name = input.role_name().unwrap_or_default();
        let Some(r) = st.roles.get(name) else { return Err(aws_error("NoSuchEntity", &no_role(name))) };
        Ok(ListRolePoliciesOutput::builder()
            .set_policy_names(Some(r.inline_policies.keys().cloned().collect()))
            .is_truncated(false)
            .build()
            .expect("names set"))
    });

    let delete_inline = answer(acct, "DeleteRolePolicy", mock!(Client::delete_role_policy), |st, input| {
        let name = input.role_name().unwrap_or_default().to_owned();
        let policy = input.policy_name().unwrap_or_default();
        let Some(r) = st.roles.get_mut(&name) else { return Err(aws_error("NoSuchEntity", &no_role(&name))) };
        if r.inline_policies.remove(policy).is_none() {
            return Err(aws_error("NoSuchEntity", &format!("The role policy with name {policy} cannot be found.")));
        }
        st.log.push(format!("DeleteRolePolicy {name}/{policy}"));
        Ok(DeleteRolePolicyOutput::builder().build())
    });

    // The kit holds no managed policy documents: a role with attached policies cannot be read.
    let get_policy = answer(acct, "GetPolicy", mock!(Client::get_policy), |_, input| {
        let arn = input.policy_arn().unwrap_or_default();
        Err::<GetPolicyOutput, _>(aws_error("NoSuchEntity", &format!("Policy {arn} was not found.")))
    });

    // Callers are often not allowed to simulate: the kit refuses, as IAM does then, so
    // discovery reads the role's policies instead; unless the test gave the caller policies,
    // which then decide for the caller's principal.
    let simulate = answer(acct, "SimulatePrincipalPolicy", mock!(Client::simulate_principal_policy), |st, input| {
        let caller = st.caller_arn.clone().unwrap_or_else(|| super::fake_sts::caller_arn(&st.account_id, &st.region));
        let source = input.policy_source_arn().unwrap_or_default();
        match &st.caller_policies {
            Some(docs) if source == crate::permission::principal_arn(&caller) => Ok(simulated(docs, input)),
            _ => Err::<SimulatePrincipalPolicyOutput, _>(aws_error(
                "AccessDenied",
                &format!(
                    "User: arn:aws:iam::{}:user/ecs-bluegreen is not authorized to perform: iam:SimulatePrincipalPolicy",
                    st.account_id
                ),
            )),
        }
    });

    vec![get, list, create, attach, list_attached, detach, delete, put_inline, get_inline, list_inline, delete_inline, get_policy, simulate]
}

/// IAM's answer for `input` under `docs` ([`crate::iam_policy`]'s evaluation): per action, the
/// most restrictive decision and one result per resource.
fn simulated(
    docs: &[String],
    input: &aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyInput,
) -> SimulatePrincipalPolicyOutput {
    use aws_sdk_iam::types::{EvaluationResult, PolicyEvaluationDecisionType as D, ResourceSpecificResult};
    use crate::iam_policy::{Decision, PolicySet};
    let set = PolicySet::parse(docs.iter().map(|d| ("caller", d.as_str()))).expect("the test's caller policies are policies");
    let context: BTreeMap<String, String> = input
        .context_entries()
        .iter()
        .filter_map(|e| Some((e.context_key_name()?.to_owned(), e.context_key_values().first()?.clone())))
        .collect();
    let resources: Vec<String> = if input.resource_arns().is_empty() { vec!["*".to_owned()] } else { input.resource_arns().to_vec() };
    let decision = |d: Decision| match d {
        Decision::Allowed => D::Allowed,
        Decision::ExplicitDeny => D::ExplicitDeny,
        _ => D::ImplicitDeny,
    };
    let results = input.action_names().iter().map(|action| {
        let per: Vec<ResourceSpecificResult> = resources
            .iter()
            .map(|r| {
                ResourceSpecificResult::builder()
                    .eval_resource_name(r)
                    .eval_resource_decision(decision(set.evaluate(action, r, &context)))
                    .build()
                    .expect("resource result")
            })
            .collect();
        let worst = per
            .iter()
            .map(|r| r.eval_resource_decision().clone())
            .max_by_key(|d| match d {
                D::Allowed => 0,
                D::ImplicitDeny => 1,
                _ => 2,
            })
            .unwrap_or(D::ImplicitDeny);
        EvaluationResult::builder()
            .eval_action_name(action)
            .eval_resource_name(if resources.len() == 1 { resources[0].as_str() } else { "*" })
            .eval_decision(worst)
            .set_resource_specific_results(Some(per))
            .build()
            .expect("evaluation result")
    });
    SimulatePrincipalPolicyOutput::builder().set_evaluation_results(Some(results.collect())).is_truncated(false).build()
}

/// Percent-encodes everything but RFC 3986's unreserved characters, as IAM encodes documents.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
