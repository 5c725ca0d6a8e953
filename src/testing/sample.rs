//! The realistic account the kit's default [`Scenario`](super::Scenario) describes, as plain data.
//!
//! Service `web` in cluster `prod` (account 123456789012, us-east-1) runs task definition `web:3`
//! behind the ALB `web-alb`, whose HTTP:80 listener forwards to target group `web-tg-1`. The pipeline
//! `web-pipeline` builds it (Source → Build → Deploy with the `ECS` provider). Nothing of the
//! migration exists yet: no role, application, deployment group or green target group.
//!
//! Pure data: plan tests and benchmarks use [`inventory`] directly, without any mock.

use std::collections::BTreeMap;

use crate::Inventory;
use crate::inventory::{ListenerAction, 
    ActionInfo, AwsVpcConfiguration, ContainerInfo, DeploymentConfigurationDef, DeploymentSummary, ExistingResources,
    ListenerInfo, LoadBalancerEntry, LoadBalancerInfo, OWNERSHIP_TAG, PipelineInfo, ServiceDefinition, StageInfo, Tags,
    TargetGroupInfo, TaskDefinitionInfo, WeightedTargetGroup,
};
use crate::spec::{Migration, MigrationForService, PipelineDeployStage, PipelineName, Port};

/// Account id.
pub const ACCOUNT: &str = "123456789012";
/// Region.
pub const REGION: &str = "us-east-1";
/// Cluster name.
pub const CLUSTER: &str = "prod";
/// Service name.
pub const SERVICE: &str = "web";
/// Cluster ARN.
pub const CLUSTER_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/prod";
/// Service ARN.
pub const SERVICE_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service/prod/web";
/// Task definition ARN (`web:3`).
pub const TASK_DEFINITION_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3";
/// Image of the `web` container (the task definition is never rendered in a plan).
pub const WEB_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a9c1";
/// VPC of the load balancer, the target group and the tasks.
pub const VPC_ID: &str = "vpc-0a1b2c3d4e5f60718";
/// Load balancer name.
pub const LB_NAME: &str = "web-alb";
/// Load balancer ARN.
pub const LB_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-alb/50dc6c495c0c9188";
/// ARN of the production listener (HTTP:80).
pub const PROD_LISTENER_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2";
/// ARN used for a listener on port 8080 when a test adds one.
pub const PORT_8080_LISTENER_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web-alb/50dc6c495c0c9188/8c2d91e4a7b36f05";
/// Blue target group name.
pub const BLUE_TG: &str = "web-tg-1";
/// Blue target group ARN.
pub const BLUE_TG_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1/73e2d6bc24d8a067";
/// The green target group name the plan derives.
pub const GREEN_TG: &str = "web-tg-1-green";
/// ARN given to the green target group when a test says it exists.
pub const GREEN_TG_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg-1-green/a91c3e5f7b2d4068";
/// Pipeline name.
pub const PIPELINE: &str = "web-pipeline";
/// The migration id derived for `prod`/`web`.
pub const MIGRATION_ID: &str = "prod/web";
/// Role name the plan derives.
pub const ROLE_NAME: &str = "prod-web-codedeploy";
/// The pipeline's service role (written for the `ECS` deploy action).
pub const PIPELINE_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/web-pipeline-role";
/// The pipeline role's name.
pub const PIPELINE_ROLE: &str = "web-pipeline-role";
/// The inline policy of a least-privilege pipeline role written for the `ECS` deploy action:
/// read and update the service, register task definitions, pass task roles to ECS tasks, read
/// the artifact bucket. Nothing for CodeDeploy.
pub const ECS_DEPLOY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["ecs:DescribeServices","ecs:DescribeTaskDefinition","ecs:DescribeTasks","ecs:ListTasks","ecs:RegisterTaskDefinition","ecs:TagResource","ecs:UpdateService"],"Resource":"*"},
{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEqualsIfExists":{"iam:PassedToService":["ecs-tasks.amazonaws.com"]}}},
{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion","s3:PutObject","s3:GetBucketVersioning"],"Resource":"*"}]}"#;
/// A policy that lets a pipeline role run the `CodeDeployToECS` action on any resource.
pub const CODEDEPLOY_TO_ECS_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["codedeploy:CreateDeployment","codedeploy:GetDeployment","codedeploy:GetApplication","codedeploy:GetApplicationRevision","codedeploy:RegisterApplicationRevision","codedeploy:GetDeploymentConfig","ecs:RegisterTaskDefinition"],"Resource":"*"},
{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}}]}"#;
/// ARN given to the role when a test says it exists.
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/prod-web-codedeploy";
/// Application name the plan derives.
pub const APPLICATION: &str = "prod-web";
/// Deployment group name the plan derives.
pub const DEPLOYMENT_GROUP: &str = "web-bluegreen";

fn s(v: &str) -> String {
    v.to_owned()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (s(k), s(v))).collect()
}

/// The ownership tag of migration `id`: what the tool puts on everything it creates.
pub fn owned_tags(id: &str) -> Tags {
    map(&[(OWNERSHIP_TAG, id)])
}

/// `Migration::for_service("prod", "web")`: cluster and service set, everything else default.
pub fn base() -> MigrationForService {
    Migration::for_service(CLUSTER, SERVICE).unwrap()
}

/// The pipeline stage spec for `web-pipeline`, every default.
pub fn pipeline_stage() -> PipelineDeployStage {
    PipelineDeployStage::named(PipelineName::new(PIPELINE).unwrap())
}

/// The usual migration: test listener on 8080 and the pipeline rewired.
pub fn migration() -> Migration {
    base().test_listener_port(Port::new(8080).unwrap()).pipeline(pipeline_stage()).build()
}

/// The rolling Fargate service `web`.
pub fn service() -> ServiceDefinition {
    ServiceDefinition {
        name: s(SERVICE),
        arn: Some(s(SERVICE_ARN)),
        cluster_arn: Some(s(CLUSTER_ARN)),
        status: s("ACTIVE"),
        deployment_controller: s("ECS"),
        task_definition: Some(s(TASK_DEFINITION_ARN)),
        desired_count: 2,
        running_count: 2,
        launch_type: Some(s("FARGATE")),
        capacity_provider_strategy: vec![],
        platform_version: Some(s("LATEST")),
        load_balancers: vec![LoadBalancerEntry {
            target_group_arn: Some(s(BLUE_TG_ARN)),
            load_balancer_name: None,
            container_name: Some(s("web")),
            container_port: Some(80),
            advanced_configuration: None,
        }],
        service_registries: vec![],
        network_configuration: Some(AwsVpcConfiguration {
            subnets: vec![s("subnet-0b1c2d3e4f5061728"), s("subnet-0c2d3e4f5061728a9")],
            security_groups: vec![s("sg-0d3e4f5061728a9b0")],
            assign_public_ip: Some(s("DISABLED")),
        }),
        health_check_grace_period_seconds: Some(60),
        placement_constraints: vec![],
        placement_strategy: vec![],
        scheduling_strategy: Some(s("REPLICA")),
        deployment_configuration: Some(DeploymentConfigurationDef {
            maximum_percent: Some(200),
            minimum_healthy_percent: Some(100),
            circuit_breaker: Some((true, true)),
            alarms: None,
            strategy: Some(s("ROLLING")),
            bake_time_in_minutes: None,
            linear: None,
            canary: None,
        }),
        tags: map(&[("env", "prod"), ("team", "storefront")]),
        enable_ecs_managed_tags: true,
        propagate_tags: Some(s("SERVICE")),
        enable_execute_command: false,
        availability_zone_rebalancing: Some(s("ENABLED")),
        role_arn: None,
        deployments: vec![DeploymentSummary {
            id: Some(s("ecs-svc/4730226164942587263")),
            status: s("PRIMARY"),
            rollout_state: Some(s("COMPLETED")),
            desired_count: 2,
            running_count: 2,
            service_connect: false,
            vpc_lattice: false,
            volume_configurations: 0,
        }],
        task_set_count: 0,
        scaling: None,
    }
}

/// The blue target group `web-tg-1` (ip targets, HTTP:80, `/health`, `200-299`).
pub fn blue_target_group() -> TargetGroupInfo {
    TargetGroupInfo {
        arn: s(BLUE_TG_ARN),
        name: s(BLUE_TG),
        protocol: Some(s("HTTP")),
        protocol_version: Some(s("HTTP1")),
        port: Some(80),
        vpc_id: Some(s(VPC_ID)),
        target_type: Some(s("ip")),
        ip_address_type: Some(s("ipv4")),
        health_check_protocol: Some(s("HTTP")),
        health_check_port: Some(s("traffic-port")),
        health_check_enabled: Some(true),
        health_check_path: Some(s("/health")),
        health_check_interval_seconds: Some(30),
        health_check_timeout_seconds: Some(5),
        healthy_threshold_count: Some(5),
        unhealthy_threshold_count: Some(2),
        matcher_http_code: Some(s("200-299")),
        matcher_grpc_code: None,
        load_balancer_arns: vec![s(LB_ARN)],
        attributes: map(&[
            ("deregistration_delay.timeout_seconds", "30"),
            ("stickiness.enabled", "true"),
            ("stickiness.type", "lb_cookie"),
        ]),
        tags: map(&[("env", "prod"), ("team", "storefront")]),
    }
}

/// The HTTP:80 production listener, default action forwarding to `web-tg-1`.
pub fn prod_listener() -> ListenerInfo {
    ListenerInfo {
        arn: s(PROD_LISTENER_ARN),
        port: Some(80),
        protocol: Some(s("HTTP")),
        default_forward: vec![WeightedTargetGroup { target_group_arn: s(BLUE_TG_ARN), weight: 1 }],
        default_actions: vec![forward_action(BLUE_TG_ARN)],
        tls: None,
        rules_to_blue: vec![],
        default_rule_arn: Some(default_rule_of(PROD_LISTENER_ARN)),
        tags: Tags::new(),
    }
}

/// A forward to one target group, as DescribeListeners reports it.
pub fn forward_action(target_group_arn: &str) -> ListenerAction {
    ListenerAction { r#type: s("forward"), target_group_arn: Some(s(target_group_arn)), ..ListenerAction::default() }
}

/// A listener on port 8080 forwarding to `target_group_arn`, with `tags`.
pub fn listener_8080(target_group_arn: &str, tags: Tags) -> ListenerInfo {
    ListenerInfo {
        arn: s(PORT_8080_LISTENER_ARN),
        port: Some(8080),
        protocol: Some(s("HTTP")),
        default_forward: vec![WeightedTargetGroup { target_group_arn: s(target_group_arn), weight: 1 }],
        default_actions: vec![forward_action(target_group_arn)],
        tls: None,
        rules_to_blue: vec![],
        default_rule_arn: Some(default_rule_of(PORT_8080_LISTENER_ARN)),
        tags,
    }
}

/// The ARN of a listener's default rule, as the test kit's DescribeRules names it.
pub fn default_rule_of(listener_arn: &str) -> String {
    format!("{}/default", listener_arn.replace(":listener/", ":listener-rule/"))
}

/// The ALB `web-alb` with its single HTTP:80 listener.
pub fn load_balancer() -> LoadBalancerInfo {
    LoadBalancerInfo {
        arn: s(LB_ARN),
        name: s(LB_NAME),
        r#type: s("application"),
        vpc_id: Some(s(VPC_ID)),
        listeners: vec![prod_listener()],
    }
}

/// Task definition `web:3`: container `web` on port 80 and a log router without ports.
pub fn task_definition() -> TaskDefinitionInfo {
    TaskDefinitionInfo {
        arn: s(TASK_DEFINITION_ARN),
        task_role_arn: None,
        execution_role_arn: Some(s("arn:aws:iam::123456789012:role/ecsTaskExecutionRole")),
        family: s("web"),
        network_mode: Some(s("awsvpc")),
        requires_compatibilities: vec![s("FARGATE")],
        containers: vec![
            ContainerInfo { name: s("web"), image: Some(s(WEB_IMAGE)), ports: vec![80], ..Default::default() },
            ContainerInfo {
                name: s("log_router"),
                image: Some(s("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")),
                ports: vec![],
                ..Default::default()
            },
        ],
    }
}

/// The `Deploy` action of `web-pipeline` (provider `ECS`, input `BuildArtifact`).
pub fn ecs_deploy_action() -> ActionInfo {
    ActionInfo {
        name: s("Deploy"),
        category: s("Deploy"),
        owner: s("AWS"),
        provider: s("ECS"),
        version: s("1"),
        configuration: map(&[
            ("ClusterName", CLUSTER),
            ("ServiceName", SERVICE),
            ("FileName", "imagedefinitions.json"),
        ]),
        input_artifacts: vec![s("BuildArtifact")],
        output_artifacts: vec![],
        run_order: Some(1),
    }
}

/// `web-pipeline`: Source (→ SourceArtifact), Build (SourceArtifact → BuildArtifact), Deploy (ECS).
pub fn pipeline() -> PipelineInfo {
    PipelineInfo {
        name: s(PIPELINE),
        role_arn: Some(s(PIPELINE_ROLE_ARN)),
        version: Some(4),
        stages: vec![
            StageInfo {
                name: s("Source"),
                actions: vec![ActionInfo {
                    name: s("Source"),
                    category: s("Source"),
                    owner: s("AWS"),
                    provider: s("CodeStarSourceConnection"),
                    version: s("1"),
                    configuration: map(&[
                        (
                            "ConnectionArn",
                            "arn:aws:codestar-connections:us-east-1:123456789012:connection/6f1d8a52-0c3b-4e7a-9d15-2b8e4c7f9a30",
                        ),
                        ("FullRepositoryId", "acme/web"),
                        ("BranchName", "main"),
                        ("OutputArtifactFormat", "CODE_ZIP"),
                    ]),
                    input_artifacts: vec![],
                    output_artifacts: vec![s("SourceArtifact")],
                    run_order: Some(1),
                }],
            },
            StageInfo {
                name: s("Build"),
                actions: vec![ActionInfo {
                    name: s("Build"),
                    category: s("Build"),
                    owner: s("AWS"),
                    provider: s("CodeBuild"),
                    version: s("1"),
                    configuration: map(&[("ProjectName", "web-build")]),
                    input_artifacts: vec![s("SourceArtifact")],
                    output_artifacts: vec![s("BuildArtifact")],
                    run_order: Some(1),
                }],
            },
            StageInfo { name: s("Deploy"), actions: vec![ecs_deploy_action()] },
        ],
    }
}

/// The whole inventory: the service as it runs today, nothing of the migration existing yet.
pub fn inventory() -> Inventory {
    Inventory {
        account_id: Some(s(ACCOUNT)),
        region: Some(s(REGION)),
        service: Some(service()),
        blue_target_group: Some(blue_target_group()),
        load_balancer: Some(load_balancer()),
        task_definition: Some(task_definition()),
        pipeline: Some(Some(pipeline())),
        existing: ExistingResources::default(),
        deployment_config: None,
        pipeline_role: Some(pipeline_role()),
        unfinished_service_deployments: Vec::new(),
        codedeploy_source: None,
    }
}

/// Name of the step scaling policy of [`scaling`].
pub const STEP_POLICY: &str = "web-step-out";
/// ARN of the step scaling policy of [`scaling`], as the original service has it.
pub const STEP_POLICY_ARN: &str = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0b5e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b:resource/ecs/service/prod/web:policyName/web-step-out";
/// Name of the target tracking policy of [`scaling`].
pub const TRACKING_POLICY: &str = "web-cpu-60";
/// Name of the CloudWatch alarm that invokes [`STEP_POLICY`].
pub const STEP_ALARM: &str = "web-cpu-high";
/// Name of the scheduled action of [`scaling`].
pub const SCHEDULED_ACTION: &str = "web-night";

/// The auto scaling of the sample service: a target of 2 to 6 tasks, a target tracking policy
/// on CPU (60 %), a step policy (+1 task, +2 above 20 over the threshold) invoked by the alarm
/// [`STEP_ALARM`] (which also notifies an SNS topic), and a nightly scheduled action.
pub fn scaling() -> crate::inventory::ServiceScaling {
    use crate::inventory::*;
    let mut s = ServiceScaling::new(ScalableTargetInfo {
        min_capacity: 2,
        max_capacity: 6,
        role_arn: Some(format!(
            "arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"
        )),
        ..Default::default()
    });
    s.policies = vec![
        ScalingPolicyInfo {
            name: TRACKING_POLICY.into(),
            arn: format!("arn:aws:autoscaling:{REGION}:{ACCOUNT}:scalingPolicy:7d1c2b3a-4e5f-4a6b-9c8d-1e2f3a4b5c6d:resource/ecs/service/{CLUSTER}/{SERVICE}:policyName/{TRACKING_POLICY}"),
            policy_type: "TargetTrackingScaling".into(),
            step: None,
            target_tracking: Some(TargetTrackingConfig {
                target_value: 60.0,
                predefined_metric: Some(("ECSServiceAverageCPUUtilization".into(), None)),
                scale_out_cooldown: Some(60),
                scale_in_cooldown: Some(300),
                ..Default::default()
            }),
        },
        ScalingPolicyInfo {
            name: STEP_POLICY.into(),
            arn: STEP_POLICY_ARN.into(),
            policy_type: "StepScaling".into(),
            step: Some(StepScalingConfig {
                adjustment_type: Some("ChangeInCapacity".into()),
                step_adjustments: vec![
                    StepAdjustmentDef { lower_bound: Some(0.0), upper_bound: Some(20.0), scaling_adjustment: 1 },
                    StepAdjustmentDef { lower_bound: Some(20.0), upper_bound: None, scaling_adjustment: 2 },
                ],
                cooldown: Some(120),
                metric_aggregation_type: Some("Average".into()),
                min_adjustment_magnitude: None,
            }),
            target_tracking: None,
        },
    ];
    s.scheduled_actions = vec![ScheduledActionInfo {
        name: SCHEDULED_ACTION.into(),
        schedule: "cron(0 22 * * ? *)".into(),
        timezone: Some("Europe/Berlin".into()),
        min_capacity: Some(1),
        max_capacity: Some(2),
        ..Default::default()
    }];
    s.alarms = vec![MetricAlarmInfo {
        name: STEP_ALARM.into(),
        description: Some("web CPU above 85 %".into()),
        actions_enabled: Some(true),
        alarm_actions: vec![STEP_POLICY_ARN.into(), format!("arn:aws:sns:{REGION}:{ACCOUNT}:ops")],
        metric_name: Some("CPUUtilization".into()),
        namespace: Some("AWS/ECS".into()),
        statistic: Some("Average".into()),
        dimensions: vec![("ClusterName".into(), CLUSTER.into()), ("ServiceName".into(), SERVICE.into())],
        period: Some(60),
        evaluation_periods: Some(3),
        datapoints_to_alarm: Some(2),
        threshold: Some(85.0),
        comparison_operator: Some("GreaterThanThreshold".into()),
        treat_missing_data: Some("notBreaching".into()),
        ..Default::default()
    }];
    s
}

/// The pipeline role as discovery finds it in the default scenario: the kit refuses the policy
/// simulation, its [`ECS_DEPLOY_POLICY`] allows registering task definitions and passing roles to
/// ECS tasks, nothing of CodeDeploy.
pub fn pipeline_role() -> crate::inventory::PipelineRoleInfo {
    use crate::pipeline_role::{DeployTargets, Shortfall, required};
    let targets = DeployTargets::new("aws", REGION, ACCOUNT, APPLICATION, DEPLOYMENT_GROUP, "CodeDeployDefault.ECSAllAtOnce", "web")
        .pass_role("arn:aws:iam::123456789012:role/ecsTaskExecutionRole");
    let policies = crate::iam_policy::PolicySet::parse([("ecs-deploy", ECS_DEPLOY_POLICY)]).expect("the sample policy parses");
    crate::inventory::PipelineRoleInfo::new(
        PIPELINE_ROLE_ARN,
        crate::inventory::RoleCheck::Policies {
            reason: "SimulatePrincipalPolicy: AccessDenied".into(),
        },
        Shortfall::evaluate(&required(&targets), &policies),
    )
}
