//! Application Auto Scaling and CloudWatch alarms in the mock account, as AWS documents them:
//! a scalable target needs an ACTIVE ECS service, policies and scheduled actions need the
//! target, a re-created policy gets a new ARN (an updated one keeps it), deregistering the
//! target (or deleting the service, see `fake_ecs`) removes its policies and scheduled
//! actions, and PutMetricAlarm replaces the whole alarm.

use aws_sdk_applicationautoscaling::Client as Aas;
use aws_sdk_applicationautoscaling::operation::deregister_scalable_target::DeregisterScalableTargetOutput;
use aws_sdk_applicationautoscaling::operation::describe_scalable_targets::DescribeScalableTargetsOutput;
use aws_sdk_applicationautoscaling::operation::describe_scaling_policies::DescribeScalingPoliciesOutput;
use aws_sdk_applicationautoscaling::operation::describe_scheduled_actions::DescribeScheduledActionsOutput;
use aws_sdk_applicationautoscaling::operation::put_scaling_policy::PutScalingPolicyOutput;
use aws_sdk_applicationautoscaling::operation::put_scheduled_action::PutScheduledActionOutput;
use aws_sdk_applicationautoscaling::operation::register_scalable_target::RegisterScalableTargetOutput;
use aws_sdk_cloudwatch::Client as Cw;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput;
use aws_smithy_mocks::mock;

use super::account::{AccountState, Answer, Shared, answer, aws_error};
use crate::convert;
use crate::inventory::{ScalableTargetInfo, ScheduledActionInfo};

fn no_target(rid: &str) -> String {
    format!("No scalable target registered for service namespace: ecs, resource ID: {rid}, scalable dimension: ecs:service:DesiredCount")
}

/// Removes the scalable target of `rid` with its policies and scheduled actions; whether
/// there was one.
pub(crate) fn deregister(st: &mut AccountState, rid: &str) -> bool {
    let had = st.scalable_targets.remove(rid).is_some();
    st.scaling_policies.retain(|(r, _), _| r != rid);
    st.scheduled_actions.retain(|(r, _), _| r != rid);
    had
}

fn arn_prefix(st: &AccountState) -> String {
    format!("arn:{}:autoscaling:{}:{}", crate::inventory::partition_of_region(&st.region), st.region, st.account_id)
}

pub(crate) fn rules(acct: &Shared) -> Vec<Answer> {
    let register = answer(acct, "RegisterScalableTarget", mock!(Aas::register_scalable_target), |st, input| {
        let rid = input.resource_id().unwrap_or_default().to_owned();
        let service = rid.strip_prefix(&format!("service/{}/", st.cluster)).unwrap_or_default();
        if st.services.get(service).is_none_or(|s| s.status != "ACTIVE") {
            return Err(aws_error("ValidationException", &format!("ECS service doesn't exist: {rid}")));
        }
        let suspended = input.suspended_state();
        let old = st.scalable_targets.get(&rid).cloned();
        let (Some(min), Some(max)) = (input.min_capacity().or(old.as_ref().map(|t| t.min_capacity)), input.max_capacity().or(old.as_ref().map(|t| t.max_capacity))) else {
            return Err(aws_error("ValidationException", "MinCapacity and MaxCapacity are required for registering a new scalable target"));
        };
        let old = old.unwrap_or_default();
        let target = ScalableTargetInfo {
            min_capacity: min,
            max_capacity: max,
            dynamic_scaling_in_suspended: suspended.and_then(|s| s.dynamic_scaling_in_suspended()).unwrap_or(old.dynamic_scaling_in_suspended),
            dynamic_scaling_out_suspended: suspended.and_then(|s| s.dynamic_scaling_out_suspended()).unwrap_or(old.dynamic_scaling_out_suspended),
            scheduled_scaling_suspended: suspended.and_then(|s| s.scheduled_scaling_suspended()).unwrap_or(old.scheduled_scaling_suspended),
            role_arn: Some(input.role_arn().map(str::to_owned).unwrap_or_else(|| {
                format!(
                    "arn:{}:iam::{}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
                    crate::inventory::partition_of_region(&st.region),
                    st.account_id
                )
            })),
        };
        st.scalable_targets.insert(rid.clone(), target);
        st.log.push(format!("RegisterScalableTarget {rid}"));
        Ok(RegisterScalableTargetOutput::builder().build())
    });
    let deregister_target = answer(acct, "DeregisterScalableTarget", mock!(Aas::deregister_scalable_target), |st, input| {
        let rid = input.resource_id().unwrap_or_default().to_owned();
        if !deregister(st, &rid) {
            return Err(aws_error(
                "ObjectNotFoundException",
                &format!("No scalable target found for service namespace: ecs, resource ID: {rid}, scalable dimension: ecs:service:DesiredCount"),
            ));
        }
        st.log.push(format!("DeregisterScalableTarget {rid}"));
        Ok(DeregisterScalableTargetOutput::builder().build())
    });
    let describe_targets = answer(acct, "DescribeScalableTargets", mock!(Aas::describe_scalable_targets), |st, input| {
        let targets = st
            .scalable_targets
            .iter()
            .filter(|(rid, _)| input.resource_ids().is_empty() || input.resource_ids().contains(rid))
            .map(|(rid, t)| convert::scalable_target_to_sdk(rid, t))
            .collect();
        Ok(DescribeScalableTargetsOutput::builder().set_scalable_targets(Some(targets)).build())
    });
    let put_policy = answer(acct, "PutScalingPolicy", mock!(Aas::put_scaling_policy), |st, input| {
        let rid = input.resource_id().unwrap_or_default().to_owned();
        let name = input.policy_name().unwrap_or_default().to_owned();
        if !st.scalable_targets.contains_key(&rid) {
            return Err(aws_error("ObjectNotFoundException", &no_target(&rid)));
        }
        let key = (rid.clone(), name.clone());
        let arn = match st.scaling_policies.get(&key) {
            Some(p) => p.arn.clone(),
            None => {
                let uuid = st.fresh_id();
                format!("{}:scalingPolicy:{uuid}:resource/ecs/{rid}:policyName/{name}", arn_prefix(st))
            }
        };
        st.scaling_policies.insert(key, convert::scaling_policy_from_put(input, &arn));
        st.log.push(format!("PutScalingPolicy {rid} {name}"));
        Ok(PutScalingPolicyOutput::builder().policy_arn(arn).build().expect("policy_arn is set"))
    });
    let describe_policies = answer(acct, "DescribeScalingPolicies", mock!(Aas::describe_scaling_policies), |st, input| {
        let policies = st
            .scaling_policies
            .iter()
            .filter(|((rid, _), _)| input.resource_id().is_none_or(|r| r == rid))
            .map(|((rid, _), p)| convert::scaling_policy_to_sdk(rid, p))
            .collect();
        Ok(DescribeScalingPoliciesOutput::builder().set_scaling_policies(Some(policies)).build())
    });
    let put_scheduled = answer(acct, "PutScheduledAction", mock!(Aas::put_scheduled_action), |st, input| {
        let rid = input.resource_id().unwrap_or_default().to_owned();
        let name = input.scheduled_action_name().unwrap_or_default().to_owned();
        if !st.scalable_targets.contains_key(&rid) {
            return Err(aws_error("ObjectNotFoundException", &no_target(&rid)));
        }
        let action = ScheduledActionInfo {
            name: name.clone(),
            schedule: input.schedule().unwrap_or_default().to_owned(),
            timezone: input.timezone().map(str::to_owned),
            start_time: input.start_time().map(|t| t.secs()),
            end_time: input.end_time().map(|t| t.secs()),
            min_capacity: input.scalable_target_action().and_then(|a| a.min_capacity()),
            max_capacity: input.scalable_target_action().and_then(|a| a.max_capacity()),
        };
        st.scheduled_actions.insert((rid.clone(), name.clone()), action);
        st.log.push(format!("PutScheduledAction {rid} {name}"));
        Ok(PutScheduledActionOutput::builder().build())
    });
    let describe_scheduled = answer(acct, "DescribeScheduledActions", mock!(Aas::describe_scheduled_actions), |st, input| {
        let prefix = arn_prefix(st);
        let actions = st
            .scheduled_actions
            .iter()
            .filter(|((rid, _), _)| input.resource_id().is_none_or(|r| r == rid))
            .map(|((rid, name), a)| {
                let arn = format!("{prefix}:scheduledAction:ecs/{rid}:scheduledActionName/{name}");
                convert::scheduled_action_to_sdk(rid, &arn, a)
            })
            .collect();
        Ok(DescribeScheduledActionsOutput::builder().set_scheduled_actions(Some(actions)).build())
    });
    let put_alarm = answer(acct, "PutMetricAlarm", mock!(Cw::put_metric_alarm), |st, input| {
        let alarm = convert::alarm_from_put(input);
        st.log.push(format!("PutMetricAlarm {}", alarm.name));
        st.alarms.insert(alarm.name.clone(), alarm);
        Ok(PutMetricAlarmOutput::builder().build())
    });
    let describe_alarms = answer(acct, "DescribeAlarms", mock!(Cw::describe_alarms), |st, input| {
        let alarms = st
            .alarms
            .values()
            .filter(|a| input.alarm_names().is_empty() || input.alarm_names().contains(&a.name))
            .map(convert::alarm_to_sdk)
            .collect();
        Ok(DescribeAlarmsOutput::builder().set_metric_alarms(Some(alarms)).build())
    });
    vec![register, deregister_target, describe_targets, put_policy, describe_policies, put_scheduled, describe_scheduled, put_alarm, describe_alarms]
}
