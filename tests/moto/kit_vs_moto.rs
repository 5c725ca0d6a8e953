//! The test kit's account agrees with moto, for each cutover strategy: moto's seeded rolling
//! service is read by discovery, replayed on the kit (`Scenario::from_inventory`), and the same
//! migration script runs on both. Discovery reads the same inventory from both before and after, the deployment group
//! reads back the same, and `verify` passes the same checks. AWS-assigned ids (target group
//! and listener suffixes, application and group ids) are replaced by names before comparing.

use crate::common;

use std::collections::BTreeMap;

use common::fixture::seed_rolling_account;
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::spec::{Migration, PipelineDeployStage, PipelineName, Port, ServiceCutover, ServiceName};
use ecs_bluegreen::testing::{MockAccount, Scenario};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal, Inventory, Outcome};
use serde_json::Value;

/// The script both backends run.
async fn migrate(aws: &AwsClients, migration: &Migration) -> Outcome {
    let plan = migration.plan(aws).await.expect("plan");
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    plan.apply(aws, &InMemoryJournal::new(), &opts).await.expect("apply")
}

/// Replaces the ids each backend assigns by stable names: target group ARNs by `tg:<name>`,
/// listener ARNs by `listener:<port>`, and drops ids and per-deployment runtime fields.
fn normalized(inv: &Inventory) -> Value {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for tg in [&inv.blue_target_group, &inv.existing.green_target_group].into_iter().flatten() {
        names.insert(tg.arn.clone(), format!("tg:{}", tg.name));
    }
    if let Some(lb) = &inv.load_balancer {
        names.insert(lb.arn.clone(), "lb".into());
        for l in &lb.listeners {
            names.insert(l.arn.clone(), format!("listener:{}", l.port.unwrap_or_default()));
            // Default rule ARNs are assigned by each side, like listener ARNs.
            if let Some(rule) = &l.default_rule_arn {
                names.insert(rule.clone(), format!("default-rule:{}", l.port.unwrap_or_default()));
            }
        }
    }
    let mut v = serde_json::to_value(inv).unwrap();
    fn walk(v: &mut Value, names: &BTreeMap<String, String>) {
        match v {
            Value::String(s) => {
                if let Some(n) = names.get(s.as_str()) {
                    *s = n.clone();
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, names)),
            Value::Object(o) => o.values_mut().for_each(|x| walk(x, names)),
            _ => {}
        }
    }
    walk(&mut v, &names);
    v["service"]["deployments"] = Value::Null;
    v["service"]["task_set_count"] = Value::Null;
    v["existing"]["application"]["id"] = Value::Null;
    if let Some(p) = v["pipeline"].as_object_mut() {
        p.remove("version");
    }
    // The kit replays no IAM policy documents (the inventory holds none), and moto simulates
    // where the kit refuses to: the pipeline role's check is compared in its own tests.
    if let Some(o) = v.as_object_mut() {
        o.remove("pipeline_role");
    }
    v
}

/// The deployment group as GetDeploymentGroup returns it, ids left out.
async fn deployment_group(aws: &AwsClients) -> String {
    let out = aws.codedeploy.get_deployment_group().application_name("prod-web").deployment_group_name("web-bluegreen").send().await.unwrap();
    let dg = out.deployment_group_info().unwrap();
    format!(
        "config={:?} role={:?} services={:?} style={:?} blue_green={:?} rollback={:?} platform={:?}",
        dg.deployment_config_name(),
        dg.service_role_arn(),
        dg.ecs_services(),
        dg.deployment_style(),
        dg.blue_green_deployment_configuration(),
        dg.auto_rollback_configuration(),
        dg.compute_platform(),
    )
}

async fn agree(cutover: ServiceCutover) {
    let account = fresh_account();
    let moto = moto_clients(&account);
    let fx = seed_rolling_account(&moto, &moto_endpoint(), &account).await;
    let migration = Migration::for_service(&fx.cluster_name, &fx.service_name)
        .unwrap()
        .test_listener_port(Port::new(8080).unwrap())
        .pipeline(PipelineDeployStage::named(PipelineName::new(&fx.pipeline_name).unwrap()))
        .cutover(cutover.clone())
        .build();
    let context = cutover.as_str();

    let before = ecs_bluegreen::discover::discover(&moto, &migration).await.unwrap();
    let kit = MockAccount::new(Scenario::from_inventory(&before).expect("a complete inventory"));
    let kit_aws = kit.clients();
    let kit_before = ecs_bluegreen::discover::discover(&kit_aws, &migration).await.unwrap();
    assert_eq!(normalized(&kit_before), normalized(&before), "{context}: the kit reads back the account it was given");

    assert_eq!(migrate(&moto, &migration).await, Outcome::Applied, "{context}");
    assert_eq!(migrate(&kit_aws, &migration).await, Outcome::Applied, "{context}");

    let (moto_after, kit_after) = futures::join!(
        ecs_bluegreen::discover::discover(&moto, &migration),
        ecs_bluegreen::discover::discover(&kit_aws, &migration)
    );
    let (moto_after, kit_after) = (normalized(&moto_after.unwrap()), normalized(&kit_after.unwrap()));
    for section in ["service", "blue_target_group", "load_balancer", "task_definition", "pipeline", "existing"] {
        assert_eq!(kit_after[section], moto_after[section], "{context}: {section} differs between the kit and moto");
    }
    assert_eq!(deployment_group(&kit_aws).await, deployment_group(&moto).await, "{context}");

    let (moto_report, kit_report) = futures::join!(
        ecs_bluegreen::verify::verify(&moto, &migration),
        ecs_bluegreen::verify::verify(&kit_aws, &migration)
    );
    let (moto_report, kit_report) = (moto_report.unwrap(), kit_report.unwrap());
    assert!(moto_report.passed(), "{context}: {moto_report:?}");
    assert!(kit_report.passed(), "{context}: {kit_report:?}");
    let names = |r: &ecs_bluegreen::verify::Report| r.checks.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&kit_report), names(&moto_report), "{context}");
}

#[tokio::test]
async fn the_kit_and_moto_reach_the_same_end_state_for_the_default_migration() {
    agree(ServiceCutover::ParallelKeepName).await;
}

#[tokio::test]
async fn the_kit_and_moto_reach_the_same_end_state_for_parallel_and_recreate() {
    agree(ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() }).await;
    agree(ServiceCutover::Recreate).await;
}
