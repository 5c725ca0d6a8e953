//! `verify` and `deploy-check` of the ECS-native target against moto: after a rolling →
//! ECS-native migration every check passes and a service deployment started by
//! `native_deployment` succeeds; with the alternate group taken off the production rule, verify's
//! `rule-targets` fails and the next deployment is rolled back by moto's extension with AWS's
//! reason, which the report carries.
//!
//! Run with `cargo test --test moto native_watch_moto::`.

use crate::common;

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum};
use common::fixture::{Fixture, seed_rolling_account};
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::deploy::{DeployOptions, DeploymentOutcome, native_deployment};
use ecs_bluegreen::spec::{BakeTime, Migration, NativeDeployment, NativeStrategy, Port, Target};
use ecs_bluegreen::verify::verify;
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, InMemoryJournal, Outcome};

fn native(f: &Fixture, test_port: Option<u16>) -> Migration {
    Migration::for_service(&f.cluster_name, &f.service_name)
        .unwrap()
        .target(Target::EcsNative)
        .test_listener_port_opt(test_port.map(|p| Port::new(p).unwrap()))
        .native(NativeDeployment::builder().strategy(NativeStrategy::BlueGreen).bake_time(BakeTime::minutes(3).unwrap()).build())
        .build()
}

fn deploy_options() -> DeployOptions {
    DeployOptions::builder().wait(WaitPolicy { deadline: Duration::from_secs(30), ..WaitPolicy::FAST }).build()
}

async fn verify_and_deploy(test_port: Option<u16>) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let migration = native(&f, test_port);

    // Before: not migrated, and the plan would go ahead.
    let report = verify(&aws, &migration).await.unwrap();
    assert!(report.check("service").is_some_and(|c| !c.passed), "{report}");
    assert!(report.check("plan").is_some_and(|c| c.passed), "{report}");

    let plan = migration.plan(&aws).await.unwrap();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap(), Outcome::Applied);

    let report = verify(&aws, &migration).await.unwrap();
    assert!(report.passed(), "{report}");
    for name in ["deployment-configuration", "advanced-configuration", "production-rule", "rule-targets", "role", "role-policy"] {
        assert!(report.check(name).is_some_and(|c| c.passed), "{name}:\n{report}");
    }
    assert_eq!(report.check("test-rule").is_some(), test_port.is_some(), "{report}");

    let deployed = native_deployment(&aws, &f.cluster_name, &f.service_name, &deploy_options(), |_| {}).await.unwrap();
    assert!(deployed.succeeded(), "{deployed}");
    assert_eq!(deployed.status, "SUCCESSFUL");
    assert!(deployed.deployment_arn.contains(":service-deployment/"), "{deployed}");
    let listed = aws.ecs.list_service_deployments().cluster(&f.cluster_name).service(&f.service_name).send().await.unwrap();
    assert_eq!(listed.service_deployments()[0].service_deployment_arn(), Some(deployed.deployment_arn.as_str()), "the newest one");
}

#[tokio::test]
async fn after_a_native_migration_verify_passes_and_a_deployment_succeeds() {
    verify_and_deploy(None).await;
}

#[tokio::test]
async fn with_a_test_listener_verify_passes_and_a_deployment_succeeds() {
    verify_and_deploy(Some(8080)).await;
}

#[tokio::test]
async fn the_alternate_group_off_the_rules_fails_verify_and_the_deployment_rolls_back() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let migration = native(&f, None);
    let plan = migration.plan(&aws).await.unwrap();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap(), Outcome::Applied);

    // Production forwards to the service's group alone again.
    let forward = Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&f.target_group_arn).build();
    aws.elbv2.modify_listener().listener_arn(&f.listener_arn).default_actions(forward).send().await.unwrap();

    let report = verify(&aws, &migration).await.unwrap();
    let c = report.check("rule-targets").unwrap_or_else(|| panic!("{report}"));
    assert!(!c.passed && c.reason.as_deref().unwrap_or_default().contains("associated with neither"), "{report}");

    let deployed = native_deployment(&aws, &f.cluster_name, &f.service_name, &deploy_options(), |_| {}).await.unwrap();
    assert_eq!(deployed.outcome, DeploymentOutcome::Failed, "{deployed}");
    assert_eq!(deployed.status, "ROLLBACK_SUCCESSFUL");
    let reason = deployed.status_reason.clone().unwrap_or_default();
    assert!(reason.contains("Both targetGroup and alternateTargetGroup must be associated"), "{reason}");
    assert!(deployed.rollback.is_some(), "{deployed}");
}

/// The reference CLI with `--target ecs-native`: apply, then verify (exit 0, the native checks
/// named) and deploy-check (exit 0, the service deployment and its status on stderr); after
/// the rule is broken, verify exits 1 and deploy-check exits 1 naming the rollback.
#[tokio::test]
async fn the_cli_verifies_and_deploy_checks_the_native_target() {
    use common::cli::{migrate_with, text};
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let dir = std::env::temp_dir().join(format!("ebg-native-cli-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    let args = ["--cluster", f.cluster_name.as_str(), "--service", f.service_name.as_str(), "--target", "ecs-native"];
    let run = |cmd: &[&str]| migrate_with(&account, &dir, &[cmd, &args[..]].concat(), None);

    let applied = run(&["apply", "--yes"]);
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    let verified = run(&["verify"]);
    let out = text(&verified.stdout);
    assert_eq!(verified.status.code(), Some(0), "{out}{}", text(&verified.stderr));
    assert!(out.contains("[ok]   rule-targets") && out.contains("[ok]   deployment-configuration"), "{out}");

    let checked = run(&["deploy-check"]);
    let (out, err) = (text(&checked.stdout), text(&checked.stderr));
    assert_eq!(checked.status.code(), Some(0), "{out}{err}");
    assert!(err.contains("ECS-native blue/green") && err.contains("status: SUCCESSFUL"), "{err}");
    assert!(out.contains(":service-deployment/") && out.contains("succeeded"), "{out}");
    let json = run(&["deploy-check", "--output", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((report["outcome"].as_str(), report["status"].as_str()), (Some("succeeded"), Some("SUCCESSFUL")), "{report}");

    let forward = Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&f.target_group_arn).build();
    aws.elbv2.modify_listener().listener_arn(&f.listener_arn).default_actions(forward).send().await.unwrap();
    let verified = run(&["verify"]);
    assert_eq!(verified.status.code(), Some(1), "{}", text(&verified.stdout));
    assert!(text(&verified.stdout).contains("[FAIL] rule-targets"), "{}", text(&verified.stdout));
    let checked = run(&["deploy-check"]);
    let (out, err) = (text(&checked.stdout), text(&checked.stderr));
    assert_eq!(checked.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("ROLLBACK_SUCCESSFUL") && out.contains("ECS rolled back"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
