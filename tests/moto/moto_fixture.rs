//! The "before" account fixture, read back through the SDK from moto.
//!
//! Run with `cargo test --test moto moto_fixture::` (starts moto if `MOTO_ENDPOINT` is unset,
//! see `tests/moto/main.rs`) or `scripts/test moto_fixture::`.

use crate::common;

use std::collections::{BTreeMap, HashSet};

use aws_sdk_codepipeline::types::{ActionCategory, ActionOwner};
use aws_sdk_ecs::types::{
    AssignPublicIp, Compatibility, DeploymentControllerType, LaunchType, LogDriver, NetworkMode,
    PropagateTags, ServiceField, TaskDefinitionField, TransportProtocol,
};
use aws_sdk_elasticloadbalancingv2::types::{
    ActionTypeEnum, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, ProtocolEnum, TargetTypeEnum,
};
use common::fixture::{self, Fixture, seed_rolling_account};
use common::{fresh_account, moto_clients, moto_clients_with, moto_endpoint};
use ecs_bluegreen::{AwsClients, CallRecorder};

async fn seeded() -> (AwsClients, Fixture) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let fx = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    (aws, fx)
}

#[test]
fn fresh_accounts_are_distinct_twelve_digit_ids() {
    let accounts: Vec<String> = (0..2000).map(|_| fresh_account()).collect();
    for a in &accounts {
        assert_eq!(a.len(), 12, "{a}");
        assert!(a.bytes().all(|b| b.is_ascii_digit()), "{a}");
        assert_ne!(a.as_bytes()[0], b'0', "{a}");
    }
    assert_eq!(
        accounts.iter().collect::<HashSet<_>>().len(),
        accounts.len()
    );
}

#[tokio::test]
async fn fixture_names_and_ids() {
    let (_aws, fx) = seeded().await;
    assert_eq!(fx.account.len(), 12);
    assert_eq!(fx.region, "us-east-1");
    assert!(fx.vpc_id.starts_with("vpc-"), "{}", fx.vpc_id);
    assert_eq!(fx.subnet_ids.len(), 2);
    assert!(
        fx.subnet_ids.iter().all(|s| s.starts_with("subnet-")),
        "{:?}",
        fx.subnet_ids
    );
    assert_ne!(fx.subnet_ids[0], fx.subnet_ids[1]);
    assert!(
        fx.security_group_id.starts_with("sg-"),
        "{}",
        fx.security_group_id
    );
    assert_eq!(
        fx.cluster_arn,
        format!("arn:aws:ecs:us-east-1:{}:cluster/prod", fx.account)
    );
    assert_eq!(
        fx.service_arn,
        format!("arn:aws:ecs:us-east-1:{}:service/prod/web", fx.account)
    );
    assert_eq!(
        fx.task_definition_arn,
        format!("arn:aws:ecs:us-east-1:{}:task-definition/web:1", fx.account)
    );
    assert_eq!(
        fx.execution_role_arn,
        format!("arn:aws:iam::{}:role/web-execution-role", fx.account)
    );
    assert_eq!(
        fx.task_role_arn,
        format!("arn:aws:iam::{}:role/web-task-role", fx.account)
    );
    assert_eq!(
        fx.pipeline_role_arn,
        format!("arn:aws:iam::{}:role/web-pipeline-role", fx.account)
    );
    let tg_prefix = format!(
        "arn:aws:elasticloadbalancing:us-east-1:{}:targetgroup/web-tg-1/",
        fx.account
    );
    assert!(
        fx.target_group_arn.starts_with(&tg_prefix),
        "{}",
        fx.target_group_arn
    );
    let lb_prefix = format!(
        "arn:aws:elasticloadbalancing:us-east-1:{}:loadbalancer/app/web-alb/",
        fx.account
    );
    assert!(
        fx.load_balancer_arn.starts_with(&lb_prefix),
        "{}",
        fx.load_balancer_arn
    );
    let listener_prefix = format!(
        "arn:aws:elasticloadbalancing:us-east-1:{}:listener/app/web-alb/",
        fx.account
    );
    assert!(
        fx.listener_arn.starts_with(&listener_prefix),
        "{}",
        fx.listener_arn
    );
    assert_eq!(
        (
            fx.cluster_name.as_str(),
            fx.service_name.as_str(),
            fx.target_group_name.as_str()
        ),
        ("prod", "web", "web-tg-1")
    );
    assert_eq!((fx.container_name.as_str(), fx.container_port), ("web", 80));
    assert_eq!(
        (fx.pipeline_name.as_str(), fx.artifact_bucket.as_str()),
        ("web-pipeline", "web-pipeline-artifacts")
    );
}

#[tokio::test]
async fn service_is_rolling_behind_the_target_group() {
    let (aws, fx) = seeded().await;
    let out = aws
        .ecs
        .describe_services()
        .cluster(&fx.cluster_name)
        .services(&fx.service_name)
        .include(ServiceField::Tags)
        .send()
        .await
        .unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    let [svc] = out.services() else {
        panic!("one service expected: {:?}", out.services())
    };

    assert_eq!(svc.service_arn(), Some(fx.service_arn.as_str()));
    assert_eq!(svc.cluster_arn(), Some(fx.cluster_arn.as_str()));
    assert_eq!(svc.status(), Some("ACTIVE"));
    assert_eq!(
        svc.deployment_controller().map(|c| c.r#type()),
        Some(&DeploymentControllerType::Ecs),
        "rolling services use the ECS controller"
    );
    assert_eq!(svc.task_definition(), Some(fx.task_definition_arn.as_str()));
    assert_eq!(svc.desired_count(), 2);
    assert_eq!(svc.running_count(), 2, "MOTO_ECS_SERVICE_RUNNING=2");
    assert_eq!(svc.launch_type(), Some(&LaunchType::Fargate));
    assert_eq!(svc.platform_version(), Some("LATEST"));
    assert_eq!(svc.propagate_tags(), Some(&PropagateTags::Service));

    let [lb] = svc.load_balancers() else {
        panic!(
            "one load balancer entry expected: {:?}",
            svc.load_balancers()
        )
    };
    assert_eq!(lb.target_group_arn(), Some(fx.target_group_arn.as_str()));
    assert_eq!(lb.container_name(), Some("web"));
    assert_eq!(lb.container_port(), Some(80));

    let vpc = svc
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .expect("awsvpc configuration");
    assert_eq!(vpc.subnets(), fx.subnet_ids.as_slice());
    assert_eq!(
        vpc.security_groups(),
        std::slice::from_ref(&fx.security_group_id)
    );
    assert_eq!(vpc.assign_public_ip(), Some(&AssignPublicIp::Disabled));

    let tags: BTreeMap<_, _> = svc
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    assert_eq!(tags, BTreeMap::from([("app", "web"), ("env", "prod")]));

    let [deployment] = svc.deployments() else {
        panic!("one deployment expected: {:?}", svc.deployments())
    };
    assert_eq!(deployment.status(), Some("PRIMARY"));
    assert_eq!(
        deployment.rollout_state().map(|s| s.as_str()),
        Some("COMPLETED")
    );
}

#[tokio::test]
async fn task_definition_round_trips() {
    let (aws, fx) = seeded().await;
    let out = aws
        .ecs
        .describe_task_definition()
        .task_definition(&fx.task_definition_arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    let td = out.task_definition().expect("task definition");
    assert_eq!(td.family(), Some("web"));
    assert_eq!(td.revision(), 1);
    assert_eq!(td.network_mode(), Some(&NetworkMode::Awsvpc));
    assert_eq!(td.requires_compatibilities(), [Compatibility::Fargate]);
    assert_eq!((td.cpu(), td.memory()), (Some("256"), Some("512")));
    assert_eq!(
        td.execution_role_arn(),
        Some(fx.execution_role_arn.as_str())
    );
    assert_eq!(td.task_role_arn(), Some(fx.task_role_arn.as_str()));

    let [c] = td.container_definitions() else {
        panic!("one container expected")
    };
    assert_eq!(c.name(), Some("web"));
    assert_eq!(c.image(), Some(fixture::IMAGE));
    let [pm] = c.port_mappings() else {
        panic!("one port mapping expected: {:?}", c.port_mappings())
    };
    assert_eq!(
        (pm.container_port(), pm.protocol()),
        (Some(80), Some(&TransportProtocol::Tcp))
    );
    let env: BTreeMap<_, _> = c
        .environment()
        .iter()
        .map(|kv| (kv.name().unwrap_or(""), kv.value().unwrap_or("")))
        .collect();
    assert_eq!(
        env,
        BTreeMap::from([("APP_ENV", "prod"), ("LOG_LEVEL", "info")])
    );
    let [secret] = c.secrets() else {
        panic!("one secret expected: {:?}", c.secrets())
    };
    assert_eq!(secret.name(), "DB_PASSWORD");
    assert_eq!(
        secret.value_from(),
        format!(
            "arn:aws:secretsmanager:us-east-1:{}:secret:prod/web/db-password-Ab12Cd",
            fx.account
        )
    );
    let logs = c.log_configuration().expect("log configuration");
    assert_eq!(logs.log_driver(), &LogDriver::Awslogs);
    let options = logs.options().expect("awslogs options");
    assert_eq!(
        options.get("awslogs-group").map(String::as_str),
        Some("/ecs/web")
    );
    assert_eq!(
        options.get("awslogs-stream-prefix").map(String::as_str),
        Some("web")
    );

    let tags: BTreeMap<_, _> = out
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    assert_eq!(tags, BTreeMap::from([("app", "web"), ("team", "platform")]));
}

#[tokio::test]
async fn load_balancer_listener_and_target_group() {
    let (aws, fx) = seeded().await;

    let lbs = aws
        .elbv2
        .describe_load_balancers()
        .load_balancer_arns(&fx.load_balancer_arn)
        .send()
        .await
        .unwrap();
    let [lb] = lbs.load_balancers() else {
        panic!("one load balancer expected")
    };
    assert_eq!(lb.load_balancer_name(), Some("web-alb"));
    assert_eq!(lb.r#type(), Some(&LoadBalancerTypeEnum::Application));
    assert_eq!(lb.scheme(), Some(&LoadBalancerSchemeEnum::InternetFacing));
    assert_eq!(lb.vpc_id(), Some(fx.vpc_id.as_str()));
    let mut lb_subnets: Vec<_> = lb
        .availability_zones()
        .iter()
        .filter_map(|az| az.subnet_id())
        .collect();
    lb_subnets.sort_unstable();
    let mut fx_subnets: Vec<_> = fx.subnet_ids.iter().map(String::as_str).collect();
    fx_subnets.sort_unstable();
    assert_eq!(lb_subnets, fx_subnets);

    let tgs = aws
        .elbv2
        .describe_target_groups()
        .names("web-tg-1")
        .send()
        .await
        .unwrap();
    let [tg] = tgs.target_groups() else {
        panic!("one target group expected")
    };
    assert_eq!(tg.target_group_arn(), Some(fx.target_group_arn.as_str()));
    assert_eq!(tg.protocol(), Some(&ProtocolEnum::Http));
    assert_eq!(tg.port(), Some(80));
    assert_eq!(tg.vpc_id(), Some(fx.vpc_id.as_str()));
    assert_eq!(tg.target_type(), Some(&TargetTypeEnum::Ip));
    assert_eq!(tg.health_check_path(), Some("/health"));
    assert_eq!(tg.matcher().and_then(|m| m.http_code()), Some("200-299"));
    assert_eq!(tg.health_check_interval_seconds(), Some(15));
    assert_eq!(tg.health_check_timeout_seconds(), Some(6));
    assert_eq!(tg.healthy_threshold_count(), Some(3));
    assert_eq!(tg.unhealthy_threshold_count(), Some(4));
    assert_eq!(
        tg.load_balancer_arns(),
        std::slice::from_ref(&fx.load_balancer_arn)
    );

    let attrs = aws
        .elbv2
        .describe_target_group_attributes()
        .target_group_arn(&fx.target_group_arn)
        .send()
        .await
        .unwrap();
    let attrs: BTreeMap<_, _> = attrs
        .attributes()
        .iter()
        .filter_map(|a| Some((a.key()?, a.value().unwrap_or(""))))
        .collect();
    for (key, value) in fixture::TARGET_GROUP_ATTRIBUTES {
        assert_eq!(
            attrs.get(key).copied(),
            Some(value),
            "target group attribute {key}"
        );
    }

    let tags = aws
        .elbv2
        .describe_tags()
        .resource_arns(&fx.target_group_arn)
        .send()
        .await
        .unwrap();
    let [desc] = tags.tag_descriptions() else {
        panic!("tags of one resource expected")
    };
    let tags: BTreeMap<_, _> = desc
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    assert_eq!(tags, BTreeMap::from([("app", "web"), ("env", "prod")]));

    let listeners = aws
        .elbv2
        .describe_listeners()
        .load_balancer_arn(&fx.load_balancer_arn)
        .send()
        .await
        .unwrap();
    let [listener] = listeners.listeners() else {
        panic!("one listener expected: {:?}", listeners.listeners())
    };
    assert_eq!(listener.listener_arn(), Some(fx.listener_arn.as_str()));
    assert_eq!(
        (listener.protocol(), listener.port()),
        (Some(&ProtocolEnum::Http), Some(80))
    );
    let [action] = listener.default_actions() else {
        panic!("one default action expected")
    };
    assert_eq!(action.r#type(), Some(&ActionTypeEnum::Forward));
    assert_eq!(
        action.target_group_arn(),
        Some(fx.target_group_arn.as_str())
    );
}

#[tokio::test]
async fn roles_are_trusted_by_their_services() {
    let (aws, fx) = seeded().await;
    for (name, arn, principal) in [
        (
            "web-execution-role",
            &fx.execution_role_arn,
            "ecs-tasks.amazonaws.com",
        ),
        (
            "web-task-role",
            &fx.task_role_arn,
            "ecs-tasks.amazonaws.com",
        ),
        (
            "web-pipeline-role",
            &fx.pipeline_role_arn,
            "codepipeline.amazonaws.com",
        ),
    ] {
        let role = aws.iam.get_role().role_name(name).send().await.unwrap();
        let role = role.role().expect("role");
        assert_eq!(role.arn(), arn.as_str());
        // IAM returns the trust policy URL-encoded; the principal has no characters to escape.
        let trust = role.assume_role_policy_document().expect("trust policy");
        assert!(trust.contains(principal), "{name} trust policy: {trust}");
    }
    let attached = aws
        .iam
        .list_attached_role_policies()
        .role_name("web-execution-role")
        .send()
        .await
        .unwrap();
    let attached: Vec<_> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(
        attached,
        ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]
    );
}

#[tokio::test]
async fn pipeline_deploys_with_the_ecs_provider() {
    let (aws, fx) = seeded().await;
    let out = aws
        .codepipeline
        .get_pipeline()
        .name(&fx.pipeline_name)
        .send()
        .await
        .unwrap();
    let p = out.pipeline().expect("pipeline");
    assert_eq!(p.name(), "web-pipeline");
    assert_eq!(p.role_arn(), fx.pipeline_role_arn);
    assert_eq!(
        p.artifact_store().map(|s| s.location()),
        Some("web-pipeline-artifacts")
    );
    let stage_names: Vec<_> = p.stages().iter().map(|s| s.name()).collect();
    assert_eq!(stage_names, ["Source", "Build", "Deploy"]);

    let [source] = p.stages()[0].actions() else {
        panic!("one source action expected")
    };
    assert_eq!(
        source.action_type_id().map(|t| t.provider()),
        Some("CodeStarSourceConnection")
    );
    let outputs: Vec<_> = source.output_artifacts().iter().map(|a| a.name()).collect();
    assert_eq!(outputs, ["SourceArtifact"]);

    let [build] = p.stages()[1].actions() else {
        panic!("one build action expected")
    };
    assert_eq!(
        build.action_type_id().map(|t| t.provider()),
        Some("CodeBuild")
    );
    let inputs: Vec<_> = build.input_artifacts().iter().map(|a| a.name()).collect();
    let outputs: Vec<_> = build.output_artifacts().iter().map(|a| a.name()).collect();
    assert_eq!(
        (inputs, outputs),
        (vec!["SourceArtifact"], vec!["BuildArtifact"])
    );

    let [deploy] = p.stages()[2].actions() else {
        panic!("one deploy action expected")
    };
    let kind = deploy.action_type_id().expect("action type");
    assert_eq!(kind.category(), &ActionCategory::Deploy);
    assert_eq!(kind.owner(), &ActionOwner::Aws);
    assert_eq!(kind.provider(), "ECS");
    assert_eq!(kind.version(), "1");
    let config = deploy.configuration().expect("deploy configuration");
    let config: BTreeMap<_, _> = config
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        config,
        BTreeMap::from([
            ("ClusterName", "prod"),
            ("ServiceName", "web"),
            ("FileName", "imagedefinitions.json")
        ])
    );
    let inputs: Vec<_> = deploy.input_artifacts().iter().map(|a| a.name()).collect();
    assert_eq!(inputs, ["BuildArtifact"]);
}

#[tokio::test]
async fn concurrently_seeded_accounts_do_not_collide() {
    let (a, b) = (fresh_account(), fresh_account());
    assert_ne!(a, b);
    let (aws_a, aws_b) = (moto_clients(&a), moto_clients(&b));
    let endpoint = moto_endpoint();
    let (fx_a, fx_b) = tokio::join!(
        seed_rolling_account(&aws_a, &endpoint, &a),
        seed_rolling_account(&aws_b, &endpoint, &b)
    );

    // Same names in both accounts, different resources.
    assert_eq!(
        (fx_a.service_name.as_str(), fx_b.service_name.as_str()),
        ("web", "web")
    );
    assert_ne!(fx_a.vpc_id, fx_b.vpc_id);
    assert_ne!(fx_a.target_group_arn, fx_b.target_group_arn);
    for (aws, fx, account) in [(&aws_a, &fx_a, &a), (&aws_b, &fx_b, &b)] {
        assert_eq!(&fx.account, account);
        let services = aws
            .ecs
            .list_services()
            .cluster("prod")
            .send()
            .await
            .unwrap();
        assert_eq!(
            services.service_arns(),
            std::slice::from_ref(&fx.service_arn)
        );
        assert!(
            fx.service_arn.contains(account.as_str()),
            "{}",
            fx.service_arn
        );
        let tgs = aws.elbv2.describe_target_groups().send().await.unwrap();
        let arns: Vec<_> = tgs
            .target_groups()
            .iter()
            .filter_map(|t| t.target_group_arn())
            .collect();
        assert_eq!(arns, [fx.target_group_arn.as_str()]);
        let pipelines = aws.codepipeline.list_pipelines().send().await.unwrap();
        let names: Vec<_> = pipelines
            .pipelines()
            .iter()
            .filter_map(|p| p.name())
            .collect();
        assert_eq!(names, ["web-pipeline"]);
    }
}

#[tokio::test]
async fn seeding_calls_are_recorded_once_each() {
    let account = fresh_account();
    let recorder = CallRecorder::new();
    let aws = moto_clients_with(&account, recorder.clone());
    seed_rolling_account(&aws, &moto_endpoint(), &account).await;

    let mut operations: Vec<String> = recorder
        .mutating_calls()
        .into_iter()
        .map(|c| c.operation)
        .collect();
    operations.sort_unstable();
    assert_eq!(
        operations,
        [
            "AttachRolePolicy",
            "CreateCluster",
            "CreateListener",
            "CreateLoadBalancer",
            "CreatePipeline",
            "CreateRole",
            "CreateRole",
            "CreateRole",
            "CreateService",
            "CreateTargetGroup",
            "ModifyTargetGroupAttributes",
            "PutRolePolicy",
            "RegisterTaskDefinition",
        ],
        "EC2 goes over plain HTTP and is not recorded; everything else once"
    );
    assert!(
        recorder.calls().iter().all(|c| !c.is_read_only()),
        "seeding only writes"
    );
}
