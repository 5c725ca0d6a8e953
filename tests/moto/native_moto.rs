//! Rolling → ECS-native blue/green in place (`Target::EcsNative`) against moto: the end state read
//! back field by field, the service's ARN and creation time unchanged, a service deployment that
//! then succeeds (moto's extension rolls it back when the rules do not carry both groups: the
//! proof the rules are right), and the migration's rollback back to ROLLING with what it created
//! gone. The way back to rolling (`Target::Rolling`) on the ALB, and rolling → native →
//! deployment → rolling on a Network Load Balancer (the fixture moves the service behind one):
//! listener ARNs in the advanced configuration, and the service keeps the group ECS's deployment
//! moved production to. ECS-native → rolling: a fault at every mutating call restores the native
//! start and a crash after every journal write is resumed or rolled back
//! (`tests/common/fault_loops.rs`); rolling → native's faults and crashes are covered on the kit
//! (`tests/mocked/native.rs`, and `tests/mocked/native_to_rolling.rs` again).
//!
//! Run with `cargo test --test moto native_moto::`.

use crate::common;

use aws_sdk_ecs::types::ServiceDeploymentStatus;
use common::fault_loops::{self, Calls, Direction};
use common::fixture::{Fixture, seed_rolling_account};
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::spec::{BakeTime, Migration, NativeDeployment, NativeStrategy, Port, Target};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal, Outcome};
use futures::FutureExt;

const INFRA_POLICY: &str = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers";

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn native(f: &Fixture, test_port: Option<u16>) -> Migration {
    Migration::for_service(&f.cluster_name, &f.service_name)
        .unwrap()
        .target(Target::EcsNative)
        .test_listener_port_opt(test_port.map(|p| Port::new(p).unwrap()))
        .native(NativeDeployment::builder().strategy(NativeStrategy::BlueGreen).bake_time(BakeTime::minutes(3).unwrap()).build())
        .build()
}

async fn service(aws: &AwsClients, f: &Fixture) -> aws_sdk_ecs::types::Service {
    let out = aws.ecs.describe_services().cluster(&f.cluster_name).services(&f.service_name).send().await.unwrap();
    out.services()[0].clone()
}

async fn default_rule(aws: &AwsClients, listener: &str) -> String {
    let rules = aws.elbv2.describe_rules().listener_arn(listener).send().await.unwrap();
    rules.rules().iter().find(|r| r.is_default() == Some(true)).unwrap().rule_arn().unwrap().to_owned()
}

async fn forward_groups(aws: &AwsClients, listener: &str) -> Vec<String> {
    let out = aws.elbv2.describe_listeners().listener_arns(listener).send().await.unwrap();
    let l = &out.listeners()[0];
    let mut groups: Vec<String> = l
        .default_actions()
        .iter()
        .flat_map(|a| {
            a.forward_config()
                .map(|f| f.target_groups().iter().filter_map(|t| t.target_group_arn().map(str::to_owned)).collect::<Vec<_>>())
                .unwrap_or_else(|| a.target_group_arn().map(str::to_owned).into_iter().collect())
        })
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

async fn listener_on(aws: &AwsClients, f: &Fixture, port: i32) -> Option<String> {
    let out = aws.elbv2.describe_listeners().load_balancer_arn(&f.load_balancer_arn).send().await.unwrap();
    out.listeners().iter().find(|l| l.port() == Some(port)).and_then(|l| l.listener_arn()).map(str::to_owned)
}

async fn newest_deployment(aws: &AwsClients, f: &Fixture) -> aws_sdk_ecs::types::ServiceDeployment {
    let list = aws.ecs.list_service_deployments().cluster(&f.cluster_name).service(&f.service_name).send().await.unwrap();
    let arn = list.service_deployments()[0].service_deployment_arn().unwrap().to_owned();
    let out = aws.ecs.describe_service_deployments().service_deployment_arns(arn).send().await.unwrap();
    out.service_deployments()[0].clone()
}

async fn migrate_deploy_and_roll_back(test_port: Option<u16>) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let before = service(&aws, &f).await;
    let journal = InMemoryJournal::new();
    let plan = native(&f, test_port).plan(&aws).await.unwrap();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);

    // The same service, in place: ARN, creation time, controller.
    let svc = service(&aws, &f).await;
    assert_eq!(svc.service_arn(), before.service_arn());
    assert_eq!(svc.created_at(), before.created_at());
    assert_eq!(svc.deployment_controller().map(|c| c.r#type().as_str()).unwrap_or("ECS"), "ECS");
    let dc = svc.deployment_configuration().expect("deploymentConfiguration");
    assert_eq!(dc.strategy().map(|s| s.as_str()), Some("BLUE_GREEN"));
    assert_eq!(dc.bake_time_in_minutes(), Some(3));
    let green = aws.elbv2.describe_target_groups().names(format!("{}-green", f.target_group_name)).send().await.unwrap();
    let green = green.target_groups()[0].target_group_arn().unwrap().to_owned();
    let lb = &svc.load_balancers()[0];
    assert_eq!(lb.target_group_arn(), Some(f.target_group_arn.as_str()));
    let advanced = lb.advanced_configuration().expect("advancedConfiguration");
    assert_eq!(advanced.alternate_target_group_arn(), Some(green.as_str()));
    assert_eq!(advanced.production_listener_rule(), Some(default_rule(&aws, &f.listener_arn).await.as_str()));
    let role_name = format!("{}-{}-ecs-infra", f.cluster_name, f.service_name);
    let role = aws.iam.get_role().role_name(&role_name).send().await.unwrap().role.unwrap();
    assert_eq!(advanced.role_arn(), Some(role.arn()));
    let trust = urlencoding_decode(role.assume_role_policy_document().unwrap_or_default());
    assert!(trust.contains("ecs.amazonaws.com"), "{trust}");
    let attached = aws.iam.list_attached_role_policies().role_name(&role_name).send().await.unwrap();
    assert_eq!(attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect::<Vec<_>>(), vec![INFRA_POLICY]);
    let mut pair = vec![f.target_group_arn.clone(), green.clone()];
    pair.sort();
    match test_port {
        Some(port) => {
            let test = listener_on(&aws, &f, i32::from(port)).await.expect("the test listener");
            assert_eq!(advanced.test_listener_rule(), Some(default_rule(&aws, &test).await.as_str()));
            assert_eq!(forward_groups(&aws, &test).await, vec![green.clone()]);
            assert_eq!(forward_groups(&aws, &f.listener_arn).await, vec![f.target_group_arn.clone()], "production untouched");
        }
        None => {
            assert_eq!(advanced.test_listener_rule(), None);
            assert_eq!(forward_groups(&aws, &f.listener_arn).await, pair, "both groups on the production rule");
        }
    }

    // The real proof: a blue/green deployment now succeeds (moto rolls it back on wrong rules).
    aws.ecs.update_service().cluster(&f.cluster_name).service(&f.service_name).force_new_deployment(true).send().await.unwrap();
    let deployment = newest_deployment(&aws, &f).await;
    assert_eq!(deployment.status(), Some(&ServiceDeploymentStatus::Successful), "{:?}", deployment.status_reason());
    assert_eq!(deployment.deployment_configuration().and_then(|c| c.strategy()).map(|s| s.as_str()), Some("BLUE_GREEN"));

    // Rolled back: ROLLING again, no advanced configuration, what the run created gone.
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let svc = service(&aws, &f).await;
    assert_eq!(svc.service_arn(), before.service_arn());
    assert_eq!(svc.deployment_configuration().and_then(|c| c.strategy()).map(|s| s.as_str()), Some("ROLLING"));
    assert!(svc.load_balancers()[0].advanced_configuration().is_none(), "{:?}", svc.load_balancers());
    assert_eq!(svc.load_balancers()[0].target_group_arn(), Some(f.target_group_arn.as_str()));
    let gone = aws.elbv2.describe_target_groups().names(format!("{}-green", f.target_group_name)).send().await;
    assert!(gone.is_err() || gone.unwrap().target_groups().is_empty(), "the green group is gone");
    assert!(aws.iam.get_role().role_name(&role_name).send().await.is_err(), "the role is gone");
    if let Some(port) = test_port {
        assert_eq!(listener_on(&aws, &f, i32::from(port)).await, None, "the test listener is gone");
    }
    assert_eq!(forward_groups(&aws, &f.listener_arn).await, vec![f.target_group_arn.clone()]);
}

/// moto returns the trust policy as given or URL-encoded, depending on the call.
fn urlencoding_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn rolling_to_native_alb_without_a_test_listener_deploys_and_rolls_back() {
    migrate_deploy_and_roll_back(None).await;
}

#[tokio::test]
async fn rolling_to_native_alb_with_a_test_listener_deploys_and_rolls_back() {
    migrate_deploy_and_roll_back(Some(8080)).await;
}

fn to_rolling(f: &Fixture) -> Migration {
    Migration::for_service(&f.cluster_name, &f.service_name).unwrap().target(Target::Rolling).build()
}

/// The rolling service after the way back, field by field against the original: the same
/// service (ARN, creation time), the same task definition, count, network, launch, tags and
/// rolling settings; one entry on `target_group` without advanced configuration. (moto's
/// UpdateService merges `deploymentConfiguration`, so the bake time it stored stays, unused
/// under ROLLING: not compared.)
#[track_caller]
fn assert_rolling_again(before: &aws_sdk_ecs::types::Service, after: &aws_sdk_ecs::types::Service, target_group: &str) {
    assert_eq!(after.service_arn(), before.service_arn());
    assert_eq!(after.created_at(), before.created_at());
    assert_eq!(after.status(), Some("ACTIVE"));
    assert_eq!(after.deployment_controller().map(|c| c.r#type().as_str()).unwrap_or("ECS"), "ECS");
    assert_eq!(after.task_definition(), before.task_definition());
    assert_eq!(after.desired_count(), before.desired_count());
    assert_eq!(after.launch_type(), before.launch_type());
    assert_eq!(after.network_configuration(), before.network_configuration());
    assert_eq!(after.scheduling_strategy(), before.scheduling_strategy());
    assert_eq!(after.tags(), before.tags());
    let (b, a) = (before.deployment_configuration().unwrap(), after.deployment_configuration().expect("deploymentConfiguration"));
    assert_eq!(a.strategy().map(|s| s.as_str()), Some("ROLLING"));
    assert_eq!((a.maximum_percent(), a.minimum_healthy_percent()), (b.maximum_percent(), b.minimum_healthy_percent()));
    assert_eq!(a.deployment_circuit_breaker(), b.deployment_circuit_breaker());
    assert_eq!(a.alarms(), b.alarms());
    let [lb] = after.load_balancers() else { panic!("one entry: {:?}", after.load_balancers()) };
    let original = &before.load_balancers()[0];
    assert_eq!(lb.target_group_arn(), Some(target_group));
    assert_eq!((lb.container_name(), lb.container_port()), (original.container_name(), original.container_port()));
    assert!(lb.advanced_configuration().is_none(), "{lb:?}");
}

#[tokio::test]
async fn native_back_to_rolling_on_the_alb_gives_the_original_service_back_and_keeps_what_it_made() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let before = service(&aws, &f).await;
    let plan = native(&f, Some(8080)).plan(&aws).await.unwrap();
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts()).await.unwrap(), Outcome::Applied);

    let journal = InMemoryJournal::new();
    let plan = to_rolling(&f).plan(&aws).await.unwrap();
    assert!(plan.to_string().contains("deployment strategy BLUE_GREEN -> ROLLING"), "{plan}");
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);
    assert_rolling_again(&before, &service(&aws, &f).await, &f.target_group_arn);
    // Kept by default: the green group, the test listener, the role.
    let green = aws.elbv2.describe_target_groups().names(format!("{}-green", f.target_group_name)).send().await.unwrap();
    assert_eq!(green.target_groups().len(), 1, "the green group is kept");
    assert!(listener_on(&aws, &f, 8080).await.is_some(), "the test listener is kept");
    assert_eq!(forward_groups(&aws, &f.listener_arn).await, vec![f.target_group_arn.clone()], "production untouched");
    let role_name = format!("{}-{}-ecs-infra", f.cluster_name, f.service_name);
    assert!(aws.iam.get_role().role_name(&role_name).send().await.is_ok(), "the role is kept");
    // Nothing left to do; and the way back rolls back to native.
    assert!(to_rolling(&f).plan(&aws).await.unwrap().is_noop());
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let svc = service(&aws, &f).await;
    assert_eq!(svc.deployment_configuration().and_then(|c| c.strategy()).map(|s| s.as_str()), Some("BLUE_GREEN"));
    assert!(svc.load_balancers()[0].advanced_configuration().is_some());
}

#[tokio::test]
async fn rolling_to_native_on_an_nlb_deploys_then_back_to_rolling_keeps_the_group_that_serves() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let mut f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    common::fixture::move_service_behind_nlb(&aws, &mut f).await;
    let before = service(&aws, &f).await;

    let plan = native(&f, Some(8080)).plan(&aws).await.unwrap();
    assert!(plan.warnings.iter().any(|w| w.contains("Network Load Balancer") && w.contains("10-minute")), "{:?}", plan.warnings);
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts()).await.unwrap(), Outcome::Applied);

    // Read back: in place, the listener ARNs (not rule ARNs) in the advanced configuration.
    let svc = service(&aws, &f).await;
    assert_eq!((svc.service_arn(), svc.created_at()), (before.service_arn(), before.created_at()));
    let dc = svc.deployment_configuration().expect("deploymentConfiguration");
    assert_eq!((dc.strategy().map(|s| s.as_str()), dc.bake_time_in_minutes()), (Some("BLUE_GREEN"), Some(3)));
    let green = aws.elbv2.describe_target_groups().names(format!("{}-green", f.target_group_name)).send().await.unwrap();
    let green_tg = &green.target_groups()[0];
    assert_eq!(green_tg.protocol().map(|p| p.as_str()), Some("TCP"));
    let green = green_tg.target_group_arn().unwrap().to_owned();
    let lb = &svc.load_balancers()[0];
    assert_eq!(lb.target_group_arn(), Some(f.target_group_arn.as_str()));
    let advanced = lb.advanced_configuration().expect("advancedConfiguration");
    assert_eq!(advanced.alternate_target_group_arn(), Some(green.as_str()));
    assert_eq!(advanced.production_listener_rule(), Some(f.listener_arn.as_str()), "NLB: the listener ARN");
    let test = listener_on(&aws, &f, 8080).await.expect("the test listener");
    let out = aws.elbv2.describe_listeners().listener_arns(&test).send().await.unwrap();
    assert_eq!(out.listeners()[0].protocol().map(|p| p.as_str()), Some("TCP"));
    assert_eq!(advanced.test_listener_rule(), Some(test.as_str()), "NLB: the listener ARN");
    assert_eq!(forward_groups(&aws, &test).await, vec![green.clone()]);
    let role_name = format!("{}-{}-ecs-infra", f.cluster_name, f.service_name);
    let role = aws.iam.get_role().role_name(&role_name).send().await.unwrap().role.unwrap();
    assert_eq!(advanced.role_arn(), Some(role.arn()));

    // A blue/green deployment succeeds (moto rolls back on wrong rules) and moves production to green.
    aws.ecs.update_service().cluster(&f.cluster_name).service(&f.service_name).force_new_deployment(true).send().await.unwrap();
    let deployment = newest_deployment(&aws, &f).await;
    assert_eq!(deployment.status(), Some(&ServiceDeploymentStatus::Successful), "{:?}", deployment.status_reason());

    // Back to rolling: the service keeps green, the group that serves production now.
    let plan = to_rolling(&f).plan(&aws).await.unwrap();
    assert!(plan.warnings.iter().any(|w| w.contains("production traffic is on")), "{:?}", plan.warnings);
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts()).await.unwrap(), Outcome::Applied);
    assert_rolling_again(&before, &service(&aws, &f).await, &green);
}

/// ECS-native → rolling, from a service this tool moved to ECS-native (test listener on 8080).
fn native_to_rolling() -> Direction {
    Direction {
        name: "ECS-native → rolling",
        seed: |aws, account| {
            async move {
                let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
                let plan = native(&f, Some(8080)).plan(&aws).await.unwrap();
                assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts()).await.unwrap(), Outcome::Applied);
                f
            }
            .boxed()
        },
        migration: to_rolling,
        opts,
        assert_end: |aws, f| {
            async move {
                let svc = service(&aws, &f).await;
                assert_eq!(svc.deployment_configuration().and_then(|c| c.strategy()).map(|s| s.as_str()), Some("ROLLING"));
                let [lb] = svc.load_balancers() else { panic!("one entry: {:?}", svc.load_balancers()) };
                assert_eq!(lb.target_group_arn(), Some(f.target_group_arn.as_str()));
                assert!(lb.advanced_configuration().is_none(), "{lb:?}");
            }
            .boxed()
        },
        comparable: |v| v,
    }
}

#[tokio::test]
async fn native_to_rolling_a_fault_at_every_mutating_call_restores_the_native_service() {
    let calls = fault_loops::fault_at_every_mutating_call(&native_to_rolling(), Calls::All).await;
    assert!(calls >= 1, "the strategy and the load balancer entry: {calls}");
}

#[tokio::test]
async fn native_to_rolling_a_crash_after_every_journal_write_resumes_or_rolls_back() {
    let writes = fault_loops::crash_after_every_journal_write(&native_to_rolling(), Calls::All).await;
    assert!(writes > 4, "{writes}");
}
