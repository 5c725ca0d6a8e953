//! `verify` against moto: after apply every check passes; each of five deliberate breakages
//! (each on its own freshly migrated account) fails the right check with the right reason; before
//! a migration the report says what the plan would refuse; the CLI exits 0 / 1 accordingly.
//!
//! How each breakage is made (moto cannot change a deployment group's target groups, a target
//! group's port, or a CODE_DEPLOY service's task definition):
//! 1. listener pointed elsewhere: a new target group, and ModifyListener on the production
//!    listener's default action;
//! 2. target group with another port: the test listener is pointed at the blue group for a
//!    moment, the green group is deleted and recreated under the same name with port 8081
//!    (everything else equal), and the test listener is pointed at the new green group;
//! 3. the managed policy detached: DetachRolePolicy;
//! 4. the pipeline action changed back: UpdatePipeline with the Deploy action on provider ECS;
//! 5. the container port changed: a new revision of the task definition family whose container
//!    listens on 8081 (the service keeps running the old one; verify checks the latest ACTIVE
//!    revision too, the one the next deployment starts from).

use crate::common;

use std::process::Output;

use aws_sdk_codepipeline::types as cp;
use aws_sdk_ecs::types as ecs;
use aws_sdk_elasticloadbalancingv2::types as elb;
use common::fixture::{Fixture, seed_rolling_account};
use common::cli::text;
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::spec::{Migration, PipelineDeployStage, PipelineName, Port};
use ecs_bluegreen::verify::{Report, verify};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal};

fn migration(f: &Fixture) -> Migration {
    Migration::for_service(&f.cluster_name, &f.service_name)
        .unwrap()
        .test_listener_port(Port::new(8080).unwrap())
        .pipeline(PipelineDeployStage::named(PipelineName::new(&f.pipeline_name).unwrap()))
        .build()
}

async fn seeded() -> (String, AwsClients, Fixture) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    (account, aws, f)
}

async fn migrated() -> (String, AwsClients, Fixture) {
    let (account, aws, f) = seeded().await;
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    migration(&f).plan(&aws).await.unwrap().apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap();
    (account, aws, f)
}

/// Asserts that exactly the check `name` failed, with a reason containing every `needles`.
fn assert_only_failure(report: &Report, name: &str, needles: &[&str]) {
    let failed: Vec<&str> = report.failures().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, vec![name], "only {name} should fail:\n{report}");
    let c = report.check(name).unwrap();
    let reason = c.reason.as_deref().unwrap();
    for n in needles {
        assert!(reason.contains(n), "reason of {name} lacks {n:?}: {reason}");
    }
    assert!(c.fix.as_deref().is_some_and(|f| !f.is_empty()), "{name} has a fix");
    assert!(report.to_string().contains(&format!("[FAIL] {name}: ")), "{report}");
}

async fn target_group(aws: &AwsClients, name: &str) -> elb::TargetGroup {
    aws.elbv2.describe_target_groups().names(name).send().await.unwrap().target_groups()[0].clone()
}

/// Creates a target group like `like`, under `name` and with `port`.
async fn create_like(aws: &AwsClients, like: &elb::TargetGroup, name: &str, port: i32) -> String {
    let out = aws
        .elbv2
        .create_target_group()
        .name(name)
        .set_protocol(like.protocol().cloned())
        .port(port)
        .set_vpc_id(like.vpc_id().map(str::to_owned))
        .set_target_type(like.target_type().cloned())
        .set_health_check_protocol(like.health_check_protocol().cloned())
        .set_health_check_path(like.health_check_path().map(str::to_owned))
        .set_health_check_port(like.health_check_port().map(str::to_owned))
        .set_matcher(like.matcher().cloned())
        .send()
        .await
        .unwrap();
    out.target_groups()[0].target_group_arn().unwrap().to_owned()
}

async fn forward(aws: &AwsClients, listener: &str, tg_arn: &str) {
    aws.elbv2
        .modify_listener()
        .listener_arn(listener)
        .default_actions(elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(tg_arn).build())
        .send()
        .await
        .unwrap();
}

async fn test_listener_arn(aws: &AwsClients, f: &Fixture) -> String {
    let out = aws.elbv2.describe_listeners().load_balancer_arn(&f.load_balancer_arn).send().await.unwrap();
    out.listeners().iter().find(|l| l.port() == Some(8080)).unwrap().listener_arn().unwrap().to_owned()
}

#[tokio::test]
async fn after_apply_every_check_passes_and_the_report_round_trips() {
    let (account, _, f) = migrated().await;
    let recorder = ecs_bluegreen::CallRecorder::new();
    let aws = common::moto_clients_with(&account, recorder.clone());
    let report = verify(&aws, &migration(&f)).await.unwrap();
    assert!(report.passed(), "{report}");
    let mutating: Vec<String> = recorder.calls().iter().filter(|c| !c.is_read_only()).map(|c| c.operation.to_string()).collect();
    assert!(mutating.is_empty(), "verify made mutating calls: {mutating:?}");
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "service",
            "deployment-group",
            "target-groups",
            "production-listener",
            "test-listener",
            "role",
            "role-policy",
            "pipeline",
            // The role the CodeDeployToECS action runs with (moto simulates its policies).
            "pipeline-role",
            "task-definition"
        ]
    );
    assert!(report.to_string().contains("[ok]   pipeline"), "{report}");
    let json = serde_json::to_string(&report).unwrap();
    assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
}

#[tokio::test]
async fn breakage_1_production_listener_pointed_elsewhere() {
    let (_, aws, f) = migrated().await;
    let blue = target_group(&aws, &f.target_group_name).await;
    let other = create_like(&aws, &blue, "web-elsewhere", 80).await;
    forward(&aws, &f.listener_arn, &other).await;
    let report = verify(&aws, &migration(&f)).await.unwrap();
    assert_only_failure(&report, "production-listener", &["HTTP:80", "forwards to web-elsewhere", "web-tg-1-green"]);
}

#[tokio::test]
async fn breakage_2_green_target_group_with_another_port() {
    let (_, aws, f) = migrated().await;
    let blue = target_group(&aws, &f.target_group_name).await;
    let green_name = format!("{}-green", f.target_group_name);
    let green = target_group(&aws, &green_name).await;
    let test_listener = test_listener_arn(&aws, &f).await;
    forward(&aws, &test_listener, blue.target_group_arn().unwrap()).await;
    aws.elbv2.delete_target_group().target_group_arn(green.target_group_arn().unwrap()).send().await.unwrap();
    let new_green = create_like(&aws, &green, &green_name, 8081).await;
    forward(&aws, &test_listener, &new_green).await;

    let report = verify(&aws, &migration(&f)).await.unwrap();
    assert_only_failure(&report, "target-groups", &["port differs", "web-tg-1 has 80", "web-tg-1-green has 8081"]);
}

/// Detaches AWSCodeDeployRoleForECS from the migration's role; returns the role name.
async fn detach_codedeploy_policy(aws: &AwsClients, f: &Fixture) -> String {
    let role = format!("{}-{}-codedeploy", f.cluster_name, f.service_name);
    aws.iam
        .detach_role_policy()
        .role_name(&role)
        .policy_arn("arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS")
        .send()
        .await
        .unwrap();
    role
}

#[tokio::test]
async fn breakage_3_managed_policy_detached() {
    let (_, aws, f) = migrated().await;
    let role = detach_codedeploy_policy(&aws, &f).await;
    let report = verify(&aws, &migration(&f)).await.unwrap();
    assert_only_failure(&report, "role-policy", &[&role, "AWSCodeDeployRoleForECS"]);
    assert!(report.check("role-policy").unwrap().fix.as_deref().unwrap().contains("attach-role-policy"));
}

#[tokio::test]
async fn breakage_4_pipeline_action_changed_back_to_ecs() {
    let (_, aws, f) = migrated().await;
    let p = aws.codepipeline.get_pipeline().name(&f.pipeline_name).send().await.unwrap().pipeline.unwrap();
    let stages: Vec<cp::StageDeclaration> = p
        .stages()
        .iter()
        .map(|s| {
            if s.name() != "Deploy" {
                return s.clone();
            }
            let old = &s.actions()[0];
            let action = cp::ActionDeclaration::builder()
                .name(old.name())
                .action_type_id(
                    cp::ActionTypeId::builder()
                        .category(cp::ActionCategory::Deploy)
                        .owner(cp::ActionOwner::Aws)
                        .provider("ECS")
                        .version("1")
                        .build()
                        .unwrap(),
                )
                .configuration("ClusterName", &f.cluster_name)
                .configuration("ServiceName", &f.service_name)
                .configuration("FileName", "imagedefinitions.json")
                .set_input_artifacts(Some(old.input_artifacts().to_vec()))
                .run_order(1)
                .build()
                .unwrap();
            cp::StageDeclaration::builder().name(s.name()).actions(action).build().unwrap()
        })
        .collect();
    let updated = cp::PipelineDeclaration::builder()
        .name(p.name())
        .role_arn(p.role_arn())
        .set_artifact_store(p.artifact_store().cloned())
        .set_stages(Some(stages))
        .set_version(p.version())
        .build()
        .unwrap();
    aws.codepipeline.update_pipeline().pipeline(updated).send().await.unwrap();

    let report = verify(&aws, &migration(&f)).await.unwrap();
    assert_only_failure(&report, "pipeline", &["no CodeDeployToECS Deploy action", "prod-web/web-bluegreen", "Deploy/Deploy still uses provider ECS"]);
}

#[tokio::test]
async fn breakage_5_container_port_changed_in_a_new_revision() {
    let (_, aws, f) = migrated().await;
    let live = aws.ecs.describe_task_definition().task_definition(&f.task_definition_arn).send().await.unwrap();
    let td = live.task_definition().unwrap();
    let c = &td.container_definitions()[0];
    let container = ecs::ContainerDefinition::builder()
        .name(c.name().unwrap())
        .image(c.image().unwrap())
        .essential(true)
        .port_mappings(ecs::PortMapping::builder().container_port(8081).protocol(ecs::TransportProtocol::Tcp).build())
        .build();
    let new = aws
        .ecs
        .register_task_definition()
        .family(td.family().unwrap())
        .requires_compatibilities(ecs::Compatibility::Fargate)
        .network_mode(ecs::NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(container)
        .send()
        .await
        .unwrap();
    let rev = new.task_definition().unwrap().revision();
    assert!(rev > td.revision());

    let report = verify(&aws, &migration(&f)).await.unwrap();
    let latest = format!("{}:{rev}", td.family().unwrap());
    assert_only_failure(&report, "task-definition", &[&latest, "[8081]", "container port 80", "latest revision"]);
}

#[tokio::test]
async fn before_a_migration_it_reports_the_plan_and_its_refusals() {
    let (_, aws, f) = seeded().await;
    let report = verify(&aws, &migration(&f)).await.unwrap();
    assert!(!report.passed(), "{report}");
    let service = report.check("service").unwrap();
    assert!(!service.passed && service.reason.as_deref().unwrap().contains("ECS deployment controller"), "{report}");
    assert!(report.check("plan").is_some_and(|c| c.passed), "{report}");

    // A test port equal to the production port: the plan's refusal becomes a failed check.
    let bad = Migration::for_service(&f.cluster_name, &f.service_name).unwrap().test_listener_port(Port::new(80).unwrap()).build();
    let report = verify(&aws, &bad).await.unwrap();
    let refusal = report.check("plan: test-port-is-production-port").unwrap_or_else(|| panic!("{report}"));
    assert!(!refusal.passed && refusal.fix.is_some(), "{report}");
    assert!(report.check("plan").is_none());
}

// ------------------------------------------------------------------------------------------ CLI

fn cli(account: &str, args: &[&str]) -> Output {
    common::cli::migrate_with(account, &std::env::temp_dir(), args, None)
}

#[tokio::test]
async fn cli_verify_exits_0_when_ready_and_1_after_a_breakage() {
    let (account, aws, f) = migrated().await;
    let args = ["verify", "--cluster", "prod", "--service", "web", "--pipeline", f.pipeline_name.as_str(), "--test-listener-port", "8080"];
    let out = cli(&account, &args);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("[ok]   deployment-group"), "{}", text(&out.stdout));

    detach_codedeploy_policy(&aws, &f).await;
    let out = cli(&account, &args);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("[FAIL] role-policy: "), "{}", text(&out.stdout));

    let json = cli(&account, &[&args[..], &["--output", "json"]].concat());
    assert_eq!(json.status.code(), Some(1));
    let report: Report = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report.failures().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["role-policy"]);
}
