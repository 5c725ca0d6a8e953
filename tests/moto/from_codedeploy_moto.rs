//! Onward from CodeDeploy against moto: a service this tool moved to `CODE_DEPLOY` (the default
//! cutover) migrates in place to ECS-native blue/green and to rolling. The end state read back
//! field by field (the same service ARN and creation time as the `CODE_DEPLOY` service, the
//! `ECS` controller, the strategy mapped from the deployment group, the group's target groups
//! and listener rules reused, the deployment group and application gone, the pipeline's action
//! back to `ECS`), a service deployment that then succeeds (moto's extension rolls it back when
//! the rules do not carry both groups), and the rollback back to `CODE_DEPLOY` (AWS has no
//! in-place way back: the service is recreated under its name) with the account as it started.
//!
//! For both directions (`tests/common/fault_loops.rs`), a fault at every mutating call restores
//! the start, and a crash after each journal write that is an intent (the call is then made and
//! its `Done` lost) is resumed to the end state or rolled back to the start. Each iteration
//! seeds a `CODE_DEPLOY` account (a whole migration to CodeDeploy): the crash loop after every
//! write (22 writes to ECS-native) took about a minute on an idle moto and two to three beside
//! the other moto tests, so it runs in full on the kit only (`tests/mocked/from_codedeploy.rs`).
//!
//! Run with `cargo test --test moto from_codedeploy_moto::`.

use crate::common;

use aws_sdk_ecs::types::ServiceDeploymentStatus;
use common::fault_loops::{self, Calls, Direction};
use common::fixture::{Fixture, seed_rolling_account};
use common::snapshot::{assert_same, snapshot};
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::spec::{Migration, PipelineDeployStage, PipelineName, Port, Target};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal, Outcome};
use futures::FutureExt;

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn migration(f: &Fixture, target: Target) -> Migration {
    Migration::for_service(&f.cluster_name, &f.service_name)
        .unwrap()
        .target(target)
        .test_listener_port(Port::new(8080).unwrap())
        .pipeline(PipelineDeployStage::named(PipelineName::new(&f.pipeline_name).unwrap()))
        .build()
}

async fn service(aws: &AwsClients, f: &Fixture) -> aws_sdk_ecs::types::Service {
    let out = aws.ecs.describe_services().cluster(&f.cluster_name).services(&f.service_name).send().await.unwrap();
    out.services().iter().find(|s| s.status() == Some("ACTIVE")).cloned().expect("an ACTIVE service")
}

fn controller(s: &aws_sdk_ecs::types::Service) -> &str {
    s.deployment_controller().map(|c| c.r#type().as_str()).unwrap_or("ECS")
}

async fn default_rule(aws: &AwsClients, listener: &str) -> String {
    let rules = aws.elbv2.describe_rules().listener_arn(listener).send().await.unwrap();
    rules.rules().iter().find(|r| r.is_default() == Some(true)).unwrap().rule_arn().unwrap().to_owned()
}

async fn listener_on(aws: &AwsClients, f: &Fixture, port: i32) -> String {
    let out = aws.elbv2.describe_listeners().load_balancer_arn(&f.load_balancer_arn).send().await.unwrap();
    out.listeners().iter().find(|l| l.port() == Some(port)).and_then(|l| l.listener_arn()).map(str::to_owned).expect("the listener")
}

/// The deploy action's provider and configuration.
async fn deploy_action(aws: &AwsClients, f: &Fixture) -> (String, std::collections::HashMap<String, String>) {
    let out = aws.codepipeline.get_pipeline().name(&f.pipeline_name).send().await.unwrap();
    let pipeline = out.pipeline().unwrap();
    let action = pipeline
        .stages()
        .iter()
        .flat_map(|s| s.actions())
        .find(|a| a.action_type_id().map(|t| t.category().as_str()) == Some("Deploy"))
        .expect("a deploy action");
    (action.action_type_id().unwrap().provider().to_owned(), action.configuration().cloned().unwrap_or_default())
}

/// The CodeDeploy application and deployment group the cutover made for the service.
fn codedeploy_names(f: &Fixture) -> (String, String) {
    (format!("{}-{}", f.cluster_name, f.service_name), format!("{}-bluegreen", f.service_name))
}

/// Seeds a rolling service and moves it to CodeDeploy blue/green (the default cutover).
async fn on_codedeploy(aws: &AwsClients, account: &str) -> Fixture {
    let f = seed_rolling_account(aws, &moto_endpoint(), account).await;
    let plan = migration(&f, Target::Codedeploy).plan(aws).await.unwrap();
    assert_eq!(plan.apply(aws, &InMemoryJournal::new(), &opts()).await.unwrap(), Outcome::Applied);
    assert_eq!(controller(&service(aws, &f).await), "CODE_DEPLOY");
    f
}

/// The snapshot without the id CodeDeploy gives a deployment group the rollback recreates.
fn without_group_ids(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(apps) = v.get_mut("codedeploy").and_then(|c| c.as_object_mut()) {
        for groups in apps.values_mut().filter_map(|g| g.as_object_mut()) {
            for info in groups.values_mut() {
                let text = info.as_str().unwrap_or_default();
                let cleaned = match text.split_once("deployment_group_id: Some(\"") {
                    Some((head, tail)) => format!("{head}deployment_group_id: Some(ID{}", &tail[tail.find("\")").unwrap_or(0)..]),
                    None => text.to_owned(),
                };
                *info = serde_json::Value::String(cleaned);
            }
        }
    }
    v
}

/// The end state of the onward migration to `target`, read back field by field (but what only
/// the service before it can tell: its ARN and creation time, checked by the callers).
async fn assert_onward(aws: &AwsClients, f: &Fixture, target: Target) {
    let svc = service(aws, f).await;
    assert_eq!(controller(&svc), "ECS");
    let dc = svc.deployment_configuration().expect("deploymentConfiguration");
    let [lb] = svc.load_balancers() else { panic!("one entry: {:?}", svc.load_balancers()) };
    assert_eq!(lb.target_group_arn(), Some(f.target_group_arn.as_str()), "production's group stays the service's");
    assert_eq!((lb.container_name(), lb.container_port()), (Some(f.container_name.as_str()), Some(80)));
    let green = aws.elbv2.describe_target_groups().names(format!("{}-green", f.target_group_name)).send().await.unwrap();
    let green = green.target_groups()[0].target_group_arn().unwrap().to_owned();
    let role_name = format!("{}-{}-ecs-infra", f.cluster_name, f.service_name);
    match target {
        Target::EcsNative => {
            // AllAtOnce → BLUE_GREEN; the bake time is the blue termination wait (default 60).
            assert_eq!(dc.strategy().map(|s| s.as_str()), Some("BLUE_GREEN"));
            assert_eq!(dc.bake_time_in_minutes(), Some(60));
            let advanced = lb.advanced_configuration().expect("advancedConfiguration");
            assert_eq!(advanced.alternate_target_group_arn(), Some(green.as_str()));
            assert_eq!(advanced.production_listener_rule(), Some(default_rule(aws, &f.listener_arn).await.as_str()));
            let test = listener_on(aws, f, 8080).await;
            assert_eq!(advanced.test_listener_rule(), Some(default_rule(aws, &test).await.as_str()));
            let role = aws.iam.get_role().role_name(&role_name).send().await.unwrap().role.unwrap();
            assert_eq!(advanced.role_arn(), Some(role.arn()));
            assert!(role.assume_role_policy_document().unwrap_or_default().contains("ecs.amazonaws.com"));
            let attached = aws.iam.list_attached_role_policies().role_name(&role_name).send().await.unwrap();
            let policies: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
            assert_eq!(policies, ["arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"]);
        }
        _ => {
            assert_eq!(dc.strategy().map(|s| s.as_str()).unwrap_or("ROLLING"), "ROLLING");
            assert!(lb.advanced_configuration().is_none(), "{lb:?}");
            assert!(aws.iam.get_role().role_name(&role_name).send().await.is_err(), "no infrastructure role for rolling");
        }
    }
    // The CodeDeploy resources this tool made are gone; the pipeline deploys with ECS again.
    let (application, group) = codedeploy_names(f);
    let gone = aws.codedeploy.get_deployment_group().application_name(&application).deployment_group_name(&group).send().await;
    assert!(gone.is_err(), "the deployment group is gone");
    assert!(aws.codedeploy.get_application().application_name(&application).send().await.is_err(), "the application is gone");
    let (provider, config) = deploy_action(aws, f).await;
    assert_eq!(provider, "ECS");
    assert_eq!(config.get("ClusterName").map(String::as_str), Some(f.cluster_name.as_str()));
    assert_eq!(config.get("ServiceName").map(String::as_str), Some(f.service_name.as_str()));
    assert_eq!(config.get("FileName").map(String::as_str), Some("imagedefinitions.json"));
    assert_eq!(config.len(), 3, "{config:?}");
}

async fn onward(target: Target) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = on_codedeploy(&aws, &account).await;
    let before = service(&aws, &f).await;
    let start = without_group_ids(snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await);

    let journal = InMemoryJournal::new();
    let plan = migration(&f, target).plan(&aws).await.unwrap();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);

    // In place: the CODE_DEPLOY service itself, now on the ECS controller, every other field kept.
    let svc = service(&aws, &f).await;
    assert_eq!(svc.service_arn(), before.service_arn());
    assert_eq!(svc.created_at(), before.created_at());
    assert_eq!(svc.task_definition(), before.task_definition());
    assert_eq!(svc.desired_count(), before.desired_count());
    assert_eq!(svc.launch_type(), before.launch_type());
    assert_eq!(svc.network_configuration(), before.network_configuration());
    assert_eq!(svc.scheduling_strategy(), before.scheduling_strategy());
    assert_eq!(svc.tags(), before.tags());
    assert!(svc.task_sets().is_empty(), "the task sets are gone: {:?}", svc.task_sets());
    assert_onward(&aws, &f, target).await;
    // Nothing left to do.
    assert!(migration(&f, target).plan(&aws).await.unwrap().is_noop());

    if target == Target::EcsNative {
        // The real proof: a blue/green deployment now succeeds (moto rolls back on wrong rules).
        aws.ecs.update_service().cluster(&f.cluster_name).service(&f.service_name).force_new_deployment(true).send().await.unwrap();
        let list = aws.ecs.list_service_deployments().cluster(&f.cluster_name).service(&f.service_name).send().await.unwrap();
        let arn = list.service_deployments()[0].service_deployment_arn().unwrap().to_owned();
        let out = aws.ecs.describe_service_deployments().service_deployment_arns(arn).send().await.unwrap();
        let d = &out.service_deployments()[0];
        assert_eq!(d.status(), Some(&ServiceDeploymentStatus::Successful), "{:?}", d.status_reason());
    }

    // Rolled back: on CODE_DEPLOY again under its name (recreated: AWS has no way back in
    // place), with its deployment group, application and CodeDeployToECS action: the start.
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let svc = service(&aws, &f).await;
    assert_eq!(controller(&svc), "CODE_DEPLOY");
    assert_eq!(deploy_action(&aws, &f).await.0, "CodeDeployToECS");
    let end = without_group_ids(snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await);
    assert_same(&start, &end, "rollback of the onward migration");
}

#[tokio::test]
async fn codedeploy_to_native_in_place_deploys_and_rolls_back_to_code_deploy() {
    onward(Target::EcsNative).await;
}

#[tokio::test]
async fn codedeploy_to_rolling_in_place_and_rolled_back_to_code_deploy() {
    onward(Target::Rolling).await;
}

fn direction(target: Target) -> Direction {
    fn seed(aws: AwsClients, account: String) -> futures::future::BoxFuture<'static, Fixture> {
        async move { on_codedeploy(&aws, &account).await }.boxed()
    }
    match target {
        Target::EcsNative => Direction {
            name: "CodeDeploy → ECS-native",
            seed,
            migration: |f| migration(f, Target::EcsNative),
            opts,
            assert_end: |aws, f| async move { assert_onward(&aws, &f, Target::EcsNative).await }.boxed(),
            comparable: without_group_ids,
        },
        _ => Direction {
            name: "CodeDeploy → rolling",
            seed,
            migration: |f| migration(f, Target::Rolling),
            opts,
            assert_end: |aws, f| async move { assert_onward(&aws, &f, Target::Rolling).await }.boxed(),
            comparable: without_group_ids,
        },
    }
}

#[tokio::test]
async fn codedeploy_to_native_a_fault_at_every_mutating_call_restores_the_start() {
    let calls = fault_loops::fault_at_every_mutating_call(&direction(Target::EcsNative), Calls::All).await;
    assert!(calls >= 6, "role, policy, pipeline, group, application, service: {calls}");
}

#[tokio::test]
async fn codedeploy_to_rolling_a_fault_at_every_mutating_call_restores_the_start() {
    let calls = fault_loops::fault_at_every_mutating_call(&direction(Target::Rolling), Calls::All).await;
    assert!(calls >= 4, "pipeline, group, application, service: {calls}");
}

#[tokio::test]
async fn codedeploy_to_native_a_crash_after_each_intent_resumes_or_rolls_back() {
    let writes = fault_loops::crash_after_every_journal_write(&direction(Target::EcsNative), Calls::AfterIntents).await;
    assert!(writes > 8, "{writes}");
}

#[tokio::test]
async fn codedeploy_to_rolling_a_crash_after_each_intent_resumes_or_rolls_back() {
    let writes = fault_loops::crash_after_every_journal_write(&direction(Target::Rolling), Calls::AfterIntents).await;
    assert!(writes > 6, "{writes}");
}
