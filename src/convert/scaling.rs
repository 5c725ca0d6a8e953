//! Application Auto Scaling and CloudWatch alarms: a service's scaling.

use aws_sdk_applicationautoscaling::types as aas;
use aws_sdk_cloudwatch::types as cw;

use super::text;
use crate::inventory::{
    CustomizedMetricDef, MetricAlarmInfo, MetricQueryDef, ScalableTargetInfo, ScalingPolicyInfo, ScheduledActionInfo,
    StepAdjustmentDef, StepScalingConfig, TargetTrackingConfig,
};

/// A scalable target as DescribeScalableTargets reports it.
pub(crate) fn scalable_target_from_sdk(t: &aas::ScalableTarget) -> ScalableTargetInfo {
    let s = t.suspended_state();
    ScalableTargetInfo {
        min_capacity: t.min_capacity(),
        max_capacity: t.max_capacity(),
        dynamic_scaling_in_suspended: s.and_then(|s| s.dynamic_scaling_in_suspended()).unwrap_or(false),
        dynamic_scaling_out_suspended: s.and_then(|s| s.dynamic_scaling_out_suspended()).unwrap_or(false),
        scheduled_scaling_suspended: s.and_then(|s| s.scheduled_scaling_suspended()).unwrap_or(false),
        role_arn: Some(t.role_arn().to_owned()).filter(|r| !r.is_empty()),
    }
}

/// A scaling policy as DescribeScalingPolicies reports it.
pub(crate) fn scaling_policy_from_sdk(p: &aas::ScalingPolicy) -> ScalingPolicyInfo {
    ScalingPolicyInfo {
        name: p.policy_name().to_owned(),
        arn: p.policy_arn().to_owned(),
        policy_type: p.policy_type().as_str().to_owned(),
        step: p.step_scaling_policy_configuration().map(|c| StepScalingConfig {
            adjustment_type: text(c.adjustment_type()),
            step_adjustments: c
                .step_adjustments()
                .iter()
                .map(|s| StepAdjustmentDef {
                    lower_bound: s.metric_interval_lower_bound(),
                    upper_bound: s.metric_interval_upper_bound(),
                    scaling_adjustment: s.scaling_adjustment(),
                })
                .collect(),
            min_adjustment_magnitude: c.min_adjustment_magnitude(),
            cooldown: c.cooldown(),
            metric_aggregation_type: text(c.metric_aggregation_type()),
        }),
        target_tracking: p.target_tracking_scaling_policy_configuration().map(|c| TargetTrackingConfig {
            target_value: c.target_value(),
            predefined_metric: c
                .predefined_metric_specification()
                .map(|m| (m.predefined_metric_type().as_str().to_owned(), m.resource_label().map(str::to_owned))),
            customized_metric: c.customized_metric_specification().map(|m| CustomizedMetricDef {
                metric_name: m.metric_name().map(str::to_owned),
                namespace: m.namespace().map(str::to_owned),
                dimensions: m.dimensions().iter().map(|d| (d.name().to_owned(), d.value().to_owned())).collect(),
                statistic: text(m.statistic()),
                unit: m.unit().map(str::to_owned),
                metric_math: !m.metrics().is_empty(),
            }),
            scale_out_cooldown: c.scale_out_cooldown(),
            scale_in_cooldown: c.scale_in_cooldown(),
            disable_scale_in: c.disable_scale_in(),
        }),
    }
}

/// A scheduled action as DescribeScheduledActions reports it.
pub(crate) fn scheduled_action_from_sdk(a: &aas::ScheduledAction) -> ScheduledActionInfo {
    ScheduledActionInfo {
        name: a.scheduled_action_name().to_owned(),
        schedule: a.schedule().to_owned(),
        timezone: a.timezone().map(str::to_owned),
        start_time: a.start_time().map(|t| t.secs()),
        end_time: a.end_time().map(|t| t.secs()),
        min_capacity: a.scalable_target_action().and_then(|t| t.min_capacity()),
        max_capacity: a.scalable_target_action().and_then(|t| t.max_capacity()),
    }
}

fn dims(d: &[cw::Dimension]) -> Vec<(String, String)> {
    d.iter().map(|d| (d.name().unwrap_or_default().to_owned(), d.value().unwrap_or_default().to_owned())).collect()
}

/// A metric alarm as DescribeAlarms reports it: every field PutMetricAlarm takes.
pub(crate) fn alarm_from_sdk(a: &cw::MetricAlarm) -> MetricAlarmInfo {
    MetricAlarmInfo {
        name: a.alarm_name().unwrap_or_default().to_owned(),
        description: a.alarm_description().map(str::to_owned),
        actions_enabled: a.actions_enabled(),
        ok_actions: a.ok_actions().to_vec(),
        alarm_actions: a.alarm_actions().to_vec(),
        insufficient_data_actions: a.insufficient_data_actions().to_vec(),
        metric_name: a.metric_name().map(str::to_owned),
        namespace: a.namespace().map(str::to_owned),
        statistic: text(a.statistic()),
        extended_statistic: a.extended_statistic().map(str::to_owned),
        dimensions: dims(a.dimensions()),
        period: a.period(),
        unit: text(a.unit()),
        evaluation_periods: a.evaluation_periods(),
        datapoints_to_alarm: a.datapoints_to_alarm(),
        threshold: a.threshold(),
        comparison_operator: text(a.comparison_operator()),
        treat_missing_data: a.treat_missing_data().map(str::to_owned),
        evaluate_low_sample_count_percentile: a.evaluate_low_sample_count_percentile().map(str::to_owned),
        metrics: a
            .metrics()
            .iter()
            .map(|q| MetricQueryDef {
                id: q.id().unwrap_or_default().to_owned(),
                expression: q.expression().map(str::to_owned),
                label: q.label().map(str::to_owned),
                return_data: q.return_data(),
                period: q.period(),
                account_id: q.account_id().map(str::to_owned),
                metric: q.metric_stat().and_then(|s| s.metric()).map(|m| {
                    (m.namespace().map(str::to_owned), m.metric_name().map(str::to_owned), dims(m.dimensions()))
                }),
                stat_period: q.metric_stat().and_then(|s| s.period()),
                stat: q.metric_stat().and_then(|s| s.stat()).map(str::to_owned),
                stat_unit: q.metric_stat().and_then(|s| text(s.unit())),
            })
            .collect(),
        threshold_metric_id: a.threshold_metric_id().map(str::to_owned),
    }
}

fn cw_dims(d: &[(String, String)]) -> Vec<cw::Dimension> {
    d.iter().map(|(k, v)| cw::Dimension::builder().name(k).value(v).build()).collect()
}

/// The metric math queries of `a` in the SDK's shape (PutMetricAlarm's and DescribeAlarms').
fn metric_queries_to_sdk(a: &MetricAlarmInfo) -> Vec<cw::MetricDataQuery> {
    a
        .metrics
        .iter()
        .map(|q| {
            let stat = q.metric.as_ref().map(|(ns, name, d)| {
                cw::MetricStat::builder()
                    .metric(cw::Metric::builder().set_namespace(ns.clone()).set_metric_name(name.clone()).set_dimensions(Some(cw_dims(d))).build())
                    .set_period(q.stat_period)
                    .set_stat(q.stat.clone())
                    .set_unit(q.stat_unit.as_deref().map(cw::StandardUnit::from))
                    .build()
            });
            cw::MetricDataQuery::builder()
                .id(&q.id)
                .set_metric_stat(stat)
                .set_expression(q.expression.clone())
                .set_label(q.label.clone())
                .set_return_data(q.return_data)
                .set_period(q.period)
                .set_account_id(q.account_id.clone())
                .build()
        })
        .collect()
}

/// PutMetricAlarm for `a`: the whole alarm (PutMetricAlarm replaces every field).
pub(crate) fn put_alarm_request(
    client: &aws_sdk_cloudwatch::Client,
    a: &MetricAlarmInfo,
) -> aws_sdk_cloudwatch::operation::put_metric_alarm::builders::PutMetricAlarmFluentBuilder {
    let metrics = metric_queries_to_sdk(a);
    client
        .put_metric_alarm()
        .alarm_name(&a.name)
        .set_alarm_description(a.description.clone())
        .set_actions_enabled(a.actions_enabled)
        .set_ok_actions(Some(a.ok_actions.clone()))
        .set_alarm_actions(Some(a.alarm_actions.clone()))
        .set_insufficient_data_actions(Some(a.insufficient_data_actions.clone()))
        .set_metric_name(a.metric_name.clone())
        .set_namespace(a.namespace.clone())
        .set_statistic(a.statistic.as_deref().map(cw::Statistic::from))
        .set_extended_statistic(a.extended_statistic.clone())
        .set_dimensions(Some(cw_dims(&a.dimensions)).filter(|d| !d.is_empty()))
        .set_period(a.period)
        .set_unit(a.unit.as_deref().map(cw::StandardUnit::from))
        .set_evaluation_periods(a.evaluation_periods)
        .set_datapoints_to_alarm(a.datapoints_to_alarm)
        .set_threshold(a.threshold)
        .set_comparison_operator(a.comparison_operator.as_deref().map(cw::ComparisonOperator::from))
        .set_treat_missing_data(a.treat_missing_data.clone())
        .set_evaluate_low_sample_count_percentile(a.evaluate_low_sample_count_percentile.clone())
        .set_metrics(Some(metrics).filter(|m| !m.is_empty()))
        .set_threshold_metric_id(a.threshold_metric_id.clone())
}

/// The step scaling configuration as the SDK takes it.
pub(crate) fn step_config_to_sdk(c: &StepScalingConfig) -> aas::StepScalingPolicyConfiguration {
    aas::StepScalingPolicyConfiguration::builder()
        .set_adjustment_type(c.adjustment_type.as_deref().map(aas::AdjustmentType::from))
        .set_step_adjustments(Some(
            c.step_adjustments
                .iter()
                .filter_map(|s| {
                    aas::StepAdjustment::builder()
                        .set_metric_interval_lower_bound(s.lower_bound)
                        .set_metric_interval_upper_bound(s.upper_bound)
                        .scaling_adjustment(s.scaling_adjustment)
                        .build()
                        .ok()
                })
                .collect(),
        ))
        .set_min_adjustment_magnitude(c.min_adjustment_magnitude)
        .set_cooldown(c.cooldown)
        .set_metric_aggregation_type(c.metric_aggregation_type.as_deref().map(aas::MetricAggregationType::from))
        .build()
}

/// The target tracking configuration as the SDK takes it.
pub(crate) fn target_tracking_to_sdk(
    c: &TargetTrackingConfig,
) -> Result<aas::TargetTrackingScalingPolicyConfiguration, aws_smithy_types::error::operation::BuildError> {
    let predefined = c.predefined_metric.as_ref().and_then(|(t, label)| {
        aas::PredefinedMetricSpecification::builder()
            .predefined_metric_type(aas::MetricType::from(t.as_str()))
            .set_resource_label(label.clone())
            .build()
            .ok()
    });
    let customized = c.customized_metric.as_ref().map(|m| {
        aas::CustomizedMetricSpecification::builder()
            .set_metric_name(m.metric_name.clone())
            .set_namespace(m.namespace.clone())
            .set_dimensions(Some(
                m.dimensions.iter().filter_map(|(k, v)| aas::MetricDimension::builder().name(k).value(v).build().ok()).collect(),
            ))
            .set_statistic(m.statistic.as_deref().map(aas::MetricStatistic::from))
            .set_unit(m.unit.clone())
            .build()
    });
    aas::TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(c.target_value)
        .set_predefined_metric_specification(predefined)
        .set_customized_metric_specification(customized)
        .set_scale_out_cooldown(c.scale_out_cooldown)
        .set_scale_in_cooldown(c.scale_in_cooldown)
        .set_disable_scale_in(c.disable_scale_in)
        .build()
}

/// A timestamp in seconds as the SDK's type.
pub(crate) fn datetime(secs: i64) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(secs)
}

/// A metric alarm in the SDK's shape (the test kit answers DescribeAlarms with it).
#[cfg(feature = "test-util")]
pub(crate) fn alarm_to_sdk(a: &MetricAlarmInfo) -> cw::MetricAlarm {
    let metrics = metric_queries_to_sdk(a);
    cw::MetricAlarm::builder()
        .alarm_name(&a.name)
        .set_alarm_description(a.description.clone())
        .set_actions_enabled(a.actions_enabled)
        .set_ok_actions(Some(a.ok_actions.clone()))
        .set_alarm_actions(Some(a.alarm_actions.clone()))
        .set_insufficient_data_actions(Some(a.insufficient_data_actions.clone()))
        .set_metric_name(a.metric_name.clone())
        .set_namespace(a.namespace.clone())
        .set_statistic(a.statistic.as_deref().map(cw::Statistic::from))
        .set_extended_statistic(a.extended_statistic.clone())
        .set_dimensions(Some(cw_dims(&a.dimensions)))
        .set_period(a.period)
        .set_unit(a.unit.as_deref().map(cw::StandardUnit::from))
        .set_evaluation_periods(a.evaluation_periods)
        .set_datapoints_to_alarm(a.datapoints_to_alarm)
        .set_threshold(a.threshold)
        .set_comparison_operator(a.comparison_operator.as_deref().map(cw::ComparisonOperator::from))
        .set_treat_missing_data(a.treat_missing_data.clone())
        .set_evaluate_low_sample_count_percentile(a.evaluate_low_sample_count_percentile.clone())
        .set_metrics(Some(metrics))
        .set_threshold_metric_id(a.threshold_metric_id.clone())
        .build()
}

/// The alarm a PutMetricAlarm request writes.
#[cfg(feature = "test-util")]
pub(crate) fn alarm_from_put(i: &aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmInput) -> MetricAlarmInfo {
    alarm_from_sdk(
        &cw::MetricAlarm::builder()
            .set_alarm_name(i.alarm_name().map(str::to_owned))
            .set_alarm_description(i.alarm_description().map(str::to_owned))
            .set_actions_enabled(i.actions_enabled())
            .set_ok_actions(Some(i.ok_actions().to_vec()))
            .set_alarm_actions(Some(i.alarm_actions().to_vec()))
            .set_insufficient_data_actions(Some(i.insufficient_data_actions().to_vec()))
            .set_metric_name(i.metric_name().map(str::to_owned))
            .set_namespace(i.namespace().map(str::to_owned))
            .set_statistic(i.statistic().cloned())
            .set_extended_statistic(i.extended_statistic().map(str::to_owned))
            .set_dimensions(Some(i.dimensions().to_vec()))
            .set_period(i.period())
            .set_unit(i.unit().cloned())
            .set_evaluation_periods(i.evaluation_periods())
            .set_datapoints_to_alarm(i.datapoints_to_alarm())
            .set_threshold(i.threshold())
            .set_comparison_operator(i.comparison_operator().cloned())
            .set_treat_missing_data(i.treat_missing_data().map(str::to_owned))
            .set_evaluate_low_sample_count_percentile(i.evaluate_low_sample_count_percentile().map(str::to_owned))
            .set_metrics(Some(i.metrics().to_vec()))
            .set_threshold_metric_id(i.threshold_metric_id().map(str::to_owned))
            .build(),
    )
}

/// A scaling policy in the SDK's shape, on resource `rid`.
#[cfg(feature = "test-util")]
pub(crate) fn scaling_policy_to_sdk(rid: &str, p: &crate::inventory::ScalingPolicyInfo) -> aas::ScalingPolicy {
    aas::ScalingPolicy::builder()
        .policy_arn(&p.arn)
        .policy_name(&p.name)
        .service_namespace(aas::ServiceNamespace::Ecs)
        .resource_id(rid)
        .scalable_dimension(aas::ScalableDimension::EcsServiceDesiredCount)
        .policy_type(aas::PolicyType::from(p.policy_type.as_str()))
        .set_step_scaling_policy_configuration(p.step.as_ref().map(step_config_to_sdk))
        .set_target_tracking_scaling_policy_configuration(p.target_tracking.as_ref().and_then(|t| target_tracking_to_sdk(t).ok()))
        .creation_time(aws_smithy_types::DateTime::from_secs(0))
        .build()
        .expect("every required field is set")
}

/// The policy a PutScalingPolicy request writes, with `arn`.
#[cfg(feature = "test-util")]
pub(crate) fn scaling_policy_from_put(
    i: &aws_sdk_applicationautoscaling::operation::put_scaling_policy::PutScalingPolicyInput,
    arn: &str,
) -> crate::inventory::ScalingPolicyInfo {
    scaling_policy_from_sdk(
        &aas::ScalingPolicy::builder()
            .policy_arn(arn)
            .policy_name(i.policy_name().unwrap_or_default())
            .service_namespace(aas::ServiceNamespace::Ecs)
            .resource_id(i.resource_id().unwrap_or_default())
            .scalable_dimension(aas::ScalableDimension::EcsServiceDesiredCount)
            .policy_type(i.policy_type().cloned().unwrap_or(aas::PolicyType::StepScaling))
            .set_step_scaling_policy_configuration(i.step_scaling_policy_configuration().cloned())
            .set_target_tracking_scaling_policy_configuration(i.target_tracking_scaling_policy_configuration().cloned())
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .expect("every required field is set"),
    )
}

/// A scalable target in the SDK's shape.
#[cfg(feature = "test-util")]
pub(crate) fn scalable_target_to_sdk(rid: &str, t: &ScalableTargetInfo) -> aas::ScalableTarget {
    aas::ScalableTarget::builder()
        .service_namespace(aas::ServiceNamespace::Ecs)
        .resource_id(rid)
        .scalable_dimension(aas::ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(t.min_capacity)
        .max_capacity(t.max_capacity)
        .role_arn(t.role_arn.clone().unwrap_or_default())
        .creation_time(aws_smithy_types::DateTime::from_secs(0))
        .suspended_state(
            aas::SuspendedState::builder()
                .dynamic_scaling_in_suspended(t.dynamic_scaling_in_suspended)
                .dynamic_scaling_out_suspended(t.dynamic_scaling_out_suspended)
                .scheduled_scaling_suspended(t.scheduled_scaling_suspended)
                .build(),
        )
        .build()
        .expect("every required field is set")
}

/// A scheduled action in the SDK's shape.
#[cfg(feature = "test-util")]
pub(crate) fn scheduled_action_to_sdk(rid: &str, arn: &str, a: &ScheduledActionInfo) -> aas::ScheduledAction {
    aas::ScheduledAction::builder()
        .scheduled_action_name(&a.name)
        .scheduled_action_arn(arn)
        .service_namespace(aas::ServiceNamespace::Ecs)
        .schedule(&a.schedule)
        .set_timezone(a.timezone.clone())
        .resource_id(rid)
        .scalable_dimension(aas::ScalableDimension::EcsServiceDesiredCount)
        .set_start_time(a.start_time.map(datetime))
        .set_end_time(a.end_time.map(datetime))
        .scalable_target_action(aas::ScalableTargetAction::builder().set_min_capacity(a.min_capacity).set_max_capacity(a.max_capacity).build())
        .creation_time(aws_smithy_types::DateTime::from_secs(0))
        .build()
        .expect("every required field is set")
}
