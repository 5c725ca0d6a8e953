//! Application Auto Scaling through the migration against moto (with the extension's
//! DeleteService deregistration, as AWS does): a service with a scalable target, a target
//! tracking policy, a step policy with its CloudWatch alarm and a scheduled action keeps all
//! of it after apply with each cutover strategy (the alarm re-pointed to the new step policy
//! ARN), read back from moto; after rollback the original has it again.
//! Run: `MOTO_ENDPOINT=... cargo test --test moto scaling_moto::`.

use crate::common;

use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalableTargetAction,
    ServiceNamespace, StepAdjustment, StepScalingPolicyConfiguration, TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use common::fixture::{Fixture, seed_rolling_account};
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::discover::describe_scaling;
use ecs_bluegreen::spec::{Migration, Port, ServiceCutover, ServiceName};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal, Outcome};

const ALARM: &str = "web-cpu-high";
const SNS: &str = "arn:aws:sns:us-east-1:123456789012:ops";

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

/// Gives the fixture's service auto scaling; returns the step policy's ARN.
async fn add_scaling(aws: &AwsClients, f: &Fixture) -> String {
    let aas = aws.autoscaling.as_ref().unwrap();
    let rid = format!("service/{}/{}", f.cluster_name, f.service_name);
    aas.register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&rid)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(2)
        .max_capacity(6)
        .send()
        .await
        .unwrap();
    aas.put_scaling_policy()
        .policy_name("cpu-60")
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&rid)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(60.0)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder().predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization).build().unwrap(),
                )
                .scale_in_cooldown(300)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let step = aas
        .put_scaling_policy()
        .policy_name("step-out")
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&rid)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .policy_type(PolicyType::StepScaling)
        .step_scaling_policy_configuration(
            StepScalingPolicyConfiguration::builder()
                .adjustment_type(AdjustmentType::ChangeInCapacity)
                .step_adjustments(StepAdjustment::builder().metric_interval_lower_bound(0.0).scaling_adjustment(2).build().unwrap())
                .cooldown(120)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .policy_arn()
        .to_owned();
    aas.put_scheduled_action()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&rid)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .scheduled_action_name("night")
        .schedule("cron(0 22 * * ? *)")
        .scalable_target_action(ScalableTargetAction::builder().min_capacity(1).max_capacity(2).build())
        .send()
        .await
        .unwrap();
    aws.cloudwatch
        .as_ref()
        .unwrap()
        .put_metric_alarm()
        .alarm_name(ALARM)
        .alarm_description("CPU above 85 %")
        .metric_name("CPUUtilization")
        .namespace("AWS/ECS")
        .statistic(Statistic::Average)
        .period(60)
        .evaluation_periods(3)
        .threshold(85.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .alarm_actions(&step)
        .alarm_actions(SNS)
        .send()
        .await
        .unwrap();
    step
}

/// Panics unless `service` has the scaling [`add_scaling`] gave, with the alarm naming its live
/// step policy (and the SNS topic), read back from moto. Returns the step policy's ARN.
async fn assert_scaling(aws: &AwsClients, f: &Fixture, service: &str, context: &str) -> String {
    let s = describe_scaling(aws, &f.cluster_name, service).await.unwrap().unwrap_or_else(|| panic!("{context}: {service} has no scalable target"));
    assert_eq!((s.target.min_capacity, s.target.max_capacity), (2, 6), "{context}");
    let names: Vec<&str> = s.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{context}: {names:?}");
    let tracking = s.policies.iter().find(|p| p.name == "cpu-60").expect("target tracking policy");
    let tt = tracking.target_tracking.as_ref().expect("its configuration");
    assert_eq!((tt.target_value, tt.scale_in_cooldown), (60.0, Some(300)), "{context}");
    let step = s.policies.iter().find(|p| p.name == "step-out").expect("step policy");
    let sc = step.step.as_ref().expect("its configuration");
    assert_eq!((sc.adjustment_type.as_deref(), sc.cooldown, sc.step_adjustments[0].scaling_adjustment), (Some("ChangeInCapacity"), Some(120), 2), "{context}");
    assert_eq!(s.scheduled_actions.len(), 1, "{context}");
    assert_eq!((s.scheduled_actions[0].min_capacity, s.scheduled_actions[0].max_capacity), (Some(1), Some(2)), "{context}");
    let alarm = s.alarms.iter().find(|a| a.name == ALARM).unwrap_or_else(|| panic!("{context}: alarm {ALARM} does not name {}", step.arn));
    assert_eq!(alarm.alarm_actions, vec![step.arn.clone(), SNS.to_owned()], "{context}");
    assert_eq!((alarm.threshold, alarm.evaluation_periods), (Some(85.0), Some(3)), "{context}: the rest of the alarm is kept");
    step.arn.clone()
}

#[tokio::test]
async fn every_cutover_carries_the_scaling_and_rollback_restores_it() {
    for (cutover, final_name) in [
        (ServiceCutover::ParallelKeepName, None),
        (ServiceCutover::Recreate, None),
        (ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() }, Some("web-bg")),
    ] {
        let context = cutover.as_str().to_owned();
        let account = fresh_account();
        let aws = moto_clients(&account);
        let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
        let original_step = add_scaling(&aws, &f).await;
        let migration = Migration::for_service(&f.cluster_name, &f.service_name)
            .unwrap()
            .test_listener_port(Port::new(8080).unwrap())
            .cutover(cutover)
            .build();
        let plan = migration.plan(&aws).await.unwrap();
        let journal = InMemoryJournal::new();
        assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied, "{context}");
        let final_name = final_name.unwrap_or(&f.service_name);
        let migrated_step = assert_scaling(&aws, &f, final_name, &context).await;
        assert_ne!(migrated_step, original_step, "{context}: the step policy was created again");
        if final_name != f.service_name {
            assert!(describe_scaling(&aws, &f.cluster_name, &f.service_name).await.unwrap().is_none(), "{context}: the original's went with it");
        }
        let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
        assert!(report.is_clean(), "{context}: {report}");
        let restored_step = assert_scaling(&aws, &f, &f.service_name, &format!("{context}, rolled back")).await;
        assert_ne!(restored_step, migrated_step, "{context}");
        if final_name != f.service_name {
            assert!(describe_scaling(&aws, &f.cluster_name, final_name).await.unwrap().is_none(), "{context}");
        }
    }
}

/// The moto extension: DeleteService deregisters the service's scaling, as AWS does (fails
/// without it: moto 5.2.5 keeps it), and a deleted service cannot get a scalable target.
#[tokio::test]
async fn delete_service_deregisters_its_scaling() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    add_scaling(&aws, &f).await;
    assert!(describe_scaling(&aws, &f.cluster_name, &f.service_name).await.unwrap().is_some());
    aws.ecs.delete_service().cluster(&f.cluster_name).service(&f.service_name).force(true).send().await.unwrap();
    let rid = format!("service/{}/{}", f.cluster_name, f.service_name);
    let aas = aws.autoscaling.as_ref().unwrap();
    let targets = aas.describe_scalable_targets().service_namespace(ServiceNamespace::Ecs).resource_ids(&rid).send().await.unwrap();
    assert!(targets.scalable_targets().is_empty(), "{targets:?}");
    let policies = aas.describe_scaling_policies().service_namespace(ServiceNamespace::Ecs).resource_id(&rid).send().await.unwrap();
    assert!(policies.scaling_policies().is_empty(), "{policies:?}");
    let scheduled = aas.describe_scheduled_actions().service_namespace(ServiceNamespace::Ecs).resource_id(&rid).send().await.unwrap();
    assert!(scheduled.scheduled_actions().is_empty(), "{scheduled:?}");
    let err = aas
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&rid)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(1)
        .max_capacity(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_sdk_applicationautoscaling::error::ProvideErrorMetadata::code(&err), Some("ValidationException"), "{err:?}");
}
