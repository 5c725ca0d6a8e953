//! Full migrations against moto: apply reaches the wanted end state, a rerun changes
//! nothing, rollback restores the account exactly, a fault at every mutating call and a
//! crash after every journal write leave nothing behind (or resume to the end state).

use crate::common;

use std::sync::atomic::Ordering;

use common::fault_loops::CrashingJournal;
use common::faults::FailNthMutation;
use common::fixture::{Fixture, seed_rolling_account};
use common::snapshot::{assert_same, snapshot};
use common::{AccountHeader, fresh_account, moto_clients, moto_endpoint, moto_sdk_config};
use ecs_bluegreen::spec::{Migration, PipelineDeployStage, PipelineName, Port, ServiceCutover, ServiceName};
use ecs_bluegreen::txn::journal::JournalStatus;
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, Error, InMemoryJournal, Journal, Outcome};

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn migration(f: &Fixture, cutover: ServiceCutover) -> Migration {
    Migration::for_service(&f.cluster_name, &f.service_name)
        .unwrap()
        .test_listener_port(Port::new(8080).unwrap())
        .pipeline(PipelineDeployStage::named(PipelineName::new(&f.pipeline_name).unwrap()))
        .cutover(cutover)
        .build()
}

async fn seeded() -> (AwsClients, Fixture) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    (aws, f)
}

async fn snap(aws: &AwsClients, f: &Fixture) -> serde_json::Value {
    snapshot(aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await
}

/// Reads the account back and checks every part of the blue/green setup.
async fn assert_migrated(aws: &AwsClients, f: &Fixture, before: &serde_json::Value, service: &str) {
    let after = snap(aws, f).await;
    // Service: CODE_DEPLOY with every carried field equal to the original.
    let orig = &before["services"][&f.service_name];
    let now = &after["services"][service];
    assert_eq!(now["deployment_controller"], "CODE_DEPLOY", "{now}");
    for field in [
        "task_definition",
        "desired_count",
        "launch_type",
        "platform_version",
        "load_balancers",
        "network_configuration",
        "tags",
        "propagate_tags",
        "enable_execute_command",
        "scheduling_strategy",
        "placement_constraints",
        "placement_strategy",
        "service_registries",
        "capacity_provider_strategy",
    ] {
        assert_eq!(now[field], orig[field], "service field {field}");
    }
    let services = after["services"].as_object().unwrap();
    assert_eq!(services.len(), 1, "only the migrated service is left: {:?}", services.keys());

    // Target groups alike but for name (and our ownership tag).
    let groups = after["target_groups"].as_object().unwrap();
    let green = &groups[&format!("{}-green", f.target_group_name)];
    let blue = &groups[&f.target_group_name];
    assert_eq!(green["attributes"], blue["attributes"]);
    let strip = |v: &serde_json::Value| {
        v["debug"]
            .as_str()
            .unwrap()
            .replace(&f.target_group_name, "NAME")
            .replace("NAME-green", "NAME")
            .split(", load_balancer_arns")
            .next()
            .unwrap()
            .split("target_group_arn: ")
            .nth(1)
            .map(|s| s.split_once(',').unwrap().1.to_owned())
            .unwrap()
    };
    assert_eq!(strip(green), strip(blue), "green target group settings equal the blue group's");
    assert!(green["tags"].as_str().unwrap().contains("ecs-bluegreen:migration-id"));

    // Test listener on 8080 forwarding to the green group.
    let l8080 = after["listeners"]["8080"]["debug"].as_str().expect("test listener exists");
    assert!(l8080.contains(&format!("{}-green", f.target_group_name)) || l8080.contains("-green/"), "{l8080}");
    assert_eq!(after["listeners"]["80"], before["listeners"]["80"], "production listener unchanged");

    // Role: trust + managed policy.
    let role = &after["roles"][format!("{}-{}-codedeploy", f.cluster_name, f.service_name)];
    assert!(role["trust"].as_str().unwrap().contains("codedeploy.amazonaws.com"));
    assert!(role["trust"].as_str().unwrap().contains(&f.account));
    assert_eq!(role["policies"], serde_json::json!(["arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"]));

    // Deployment group.
    let dg = after["codedeploy"][format!("{}-{}", f.cluster_name, f.service_name)][format!("{}-bluegreen", f.service_name)]
        .as_str()
        .expect("deployment group exists");
    for needle in [
        "BlueGreen",
        "WithTrafficControl",
        "CodeDeployDefault.ECSAllAtOnce",
        f.target_group_name.as_str(),
        f.listener_arn.as_str(),
        "DeploymentFailure",
        "termination_wait_time_in_minutes: 60",
        service,
    ] {
        assert!(dg.contains(needle), "deployment group lacks {needle}: {dg}");
    }
    // Pipeline: Deploy action rewritten, everything else unchanged.
    let stages = after["pipeline"]["stages"].as_array().unwrap();
    let deploy = &stages[2]["actions"][0];
    assert!(deploy["type"].as_str().unwrap().contains("CodeDeployToECS"));
    assert_eq!(deploy["configuration"]["ApplicationName"], format!("{}-{}", f.cluster_name, f.service_name));
    assert_eq!(deploy["configuration"]["Image1ContainerName"], "IMAGE1_NAME");
    assert_eq!(stages[0], before["pipeline"]["stages"][0]);
    assert_eq!(stages[1], before["pipeline"]["stages"][1]);
}

async fn run_strategy(cutover: ServiceCutover, final_name: &str) {
    let (aws, f) = seeded().await;
    let before = snap(&aws, &f).await;
    let m = migration(&f, cutover);
    let plan = m.plan(&aws).await.unwrap();
    let journal = InMemoryJournal::new();
    let outcome = plan.apply(&aws, &journal, &opts()).await.unwrap();
    assert_eq!(outcome, Outcome::Applied);
    assert_migrated(&aws, &f, &before, final_name).await;

    // A second apply plans nothing and changes nothing.
    let again = m.plan(&aws).await.unwrap();
    assert!(again.already_migrated, "{again}");
    assert!(again.is_noop(), "{again}");
    let mid = snap(&aws, &f).await;
    assert_eq!(again.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::NothingToDo);
    assert_same(&mid, &snap(&aws, &f).await, "second apply");

    // Rollback of the completed migration restores the before-snapshot.
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert_same(&before, &snap(&aws, &f).await, "rollback after apply");
}

#[tokio::test]
async fn parallel_keep_name_migrates_and_rolls_back() {
    run_strategy(ServiceCutover::ParallelKeepName, "web").await;
}

#[tokio::test]
async fn recreate_migrates_and_rolls_back() {
    run_strategy(ServiceCutover::Recreate, "web").await;
}

#[tokio::test]
async fn parallel_migrates_under_a_new_name_and_rolls_back() {
    run_strategy(ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() }, "web-bg").await;
}

/// Clients for the account with a fault at the n-th mutating call.
fn faulty_clients(account: &str, fault: FailNthMutation) -> AwsClients {
    AwsClients::builder(&moto_sdk_config(&moto_endpoint()))
        .interceptor(AccountHeader(account.to_owned()))
        .interceptor(fault)
        .build()
}

/// Fails the 1st, 2nd, ... mutating call in turn until a run gets through; after each failed
/// run the account must equal the before-snapshot, field by field.
async fn fault_at_every_mutating_call(cutover: ServiceCutover) {
    let mut n = 1;
    loop {
        let account = fresh_account();
        let aws = moto_clients(&account);
        let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
        let before = snap(&aws, &f).await;
        let fault = FailNthMutation::new(n);
        let faulty = faulty_clients(&account, fault.clone());
        let plan = migration(&f, cutover.clone()).plan(&faulty).await.unwrap();
        let journal = InMemoryJournal::new();
        let context = format!("{} with a fault at mutating call {n}", cutover.as_str());
        match plan.apply(&faulty, &journal, &opts()).await {
            Ok(_) => {
                assert!(fault.seen.load(Ordering::SeqCst) < n, "{context}: apply succeeded although the call failed");
                assert!(n > 10, "a full migration makes at least ten mutating calls, saw {}", n - 1);
                break;
            }
            Err(Error::Apply(failed)) => {
                // The fault is no answer from the service: its text is the cause's source.
                let cause = ecs_bluegreen::error::Report(&failed.cause).to_string();
                assert!(cause.contains("injected fault"), "{context}: {cause}");
                assert!(failed.rollback.is_clean(), "{context}: {}", failed.rollback);
                assert_same(&before, &snap(&aws, &f).await, &context);
            }
            Err(other) => panic!("{context}: unexpected error {other}"),
        }
        n += 1;
    }
}

#[tokio::test]
async fn a_fault_at_every_mutating_call_rolls_back_to_the_start() {
    fault_at_every_mutating_call(ServiceCutover::ParallelKeepName).await;
}

#[tokio::test]
async fn a_fault_at_every_mutating_call_of_recreate_and_parallel_rolls_back_to_the_start() {
    fault_at_every_mutating_call(ServiceCutover::Recreate).await;
    fault_at_every_mutating_call(ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() }).await;
}

/// Whether some ACTIVE service is registered with the blue target group (traffic is served).
async fn blue_is_served(aws: &AwsClients, f: &Fixture) -> bool {
    let arns = aws.ecs.list_services().cluster(&f.cluster_name).send().await.unwrap().service_arns.unwrap_or_default();
    for arn in arns {
        let name = arn.rsplit('/').next().unwrap();
        if let Some(s) = ecs_bluegreen::discover::describe_service(aws, &f.cluster_name, name).await.unwrap()
            && s.status == "ACTIVE"
            && s.load_balancers.iter().any(|l| l.target_group_arn.as_deref() == Some(f.target_group_arn.as_str()))
        {
            return true;
        }
    }
    false
}

/// Stops the run after each journal write in turn (like a crash), then resumes it or rolls it
/// back. For the parallel strategies it also observes, at every one of those points, that an
/// ACTIVE service still serves from the blue target group.
async fn crash_after_every_journal_write(cutover: ServiceCutover, final_name: &str) {
    let zero_downtime = !cutover.has_downtime();
    let mut crash_at = 2; // the first write is Begin; a crash before it changes nothing.
    loop {
        let (aws, f) = seeded().await;
        let before = snap(&aws, &f).await;
        let plan = migration(&f, cutover.clone()).plan(&aws).await.unwrap();
        let journal = CrashingJournal { inner: InMemoryJournal::new(), crash_at };
        match plan.apply(&aws, &journal, &opts()).await {
            Ok(Outcome::Applied) => break,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(Error::Journal(_)) => {}
            Err(other) => panic!("crash at write {crash_at}: unexpected {other}"),
        }
        if zero_downtime {
            assert!(blue_is_served(&aws, &f).await, "no service serves the blue target group after journal write {crash_at}");
        }
        let records = journal.records().unwrap();
        assert_eq!(ecs_bluegreen::txn::journal::status(&records), JournalStatus::Unfinished);
        // A new apply refuses to start over an unfinished journal.
        let crashed = InMemoryJournal::from_records(records.clone());
        let refused = plan.apply(&aws, &crashed, &opts()).await.unwrap_err();
        assert!(matches!(refused, Error::Unfinished(_)), "{refused}");

        if crash_at % 2 == 0 {
            // Resume finishes the migration.
            assert_eq!(ecs_bluegreen::resume(&aws, &crashed, &opts()).await.unwrap(), Outcome::Applied);
            assert_migrated(&aws, &f, &before, final_name).await;
            let report = ecs_bluegreen::rollback(&aws, &crashed, &opts()).await.unwrap();
            assert!(report.is_clean(), "{report}");
        } else {
            let report = ecs_bluegreen::rollback(&aws, &crashed, &opts()).await.unwrap();
            assert!(report.is_clean(), "crash at write {crash_at}: {report}");
        }
        assert_same(&before, &snap(&aws, &f).await, &format!("crash at journal write {crash_at}"));
        crash_at += 1;
    }
    assert!(crash_at > 20, "a run writes more than twenty journal entries, saw {crash_at}");
}

#[tokio::test]
async fn a_crash_after_every_journal_write_is_resumed_or_rolled_back() {
    crash_after_every_journal_write(ServiceCutover::ParallelKeepName, "web").await;
}

#[tokio::test]
async fn parallel_cutover_serves_traffic_at_every_step_and_survives_crashes() {
    crash_after_every_journal_write(ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() }, "web-bg").await;
}
