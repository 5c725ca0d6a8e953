//! `verify` on the test kit: the `scaling` and `pipeline-role` checks pass after a migration and
//! fail, with the reason, on an account broken afterwards. Run: `cargo test --test mocked verify_checks::`.

use ecs_bluegreen::inventory::scaling_resource_id;
use ecs_bluegreen::journal::Journal;
use ecs_bluegreen::spec::{Migration, PipelineDeployStage, PipelineName, Port};
use ecs_bluegreen::testing::sample::{self, PIPELINE, PIPELINE_ROLE};
use ecs_bluegreen::testing::{MockAccount, Scenario};
use ecs_bluegreen::verify::{Report, verify, verify_with_journal};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, InMemoryJournal, Outcome};

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn scaling_migration() -> Migration {
    sample::base().test_listener_port(Port::new(8080).unwrap()).build()
}

fn pipeline_migration() -> Migration {
    Migration::for_service("prod", "web").unwrap().pipeline(PipelineDeployStage::named(PipelineName::new(PIPELINE).unwrap())).build()
}

/// Applies `migration` on `account` and returns the journal of the run.
async fn migrate(account: &MockAccount, migration: &Migration) -> InMemoryJournal {
    let aws = account.clients();
    let plan = migration.plan(&aws).await.unwrap();
    let journal = InMemoryJournal::new();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);
    journal
}

#[track_caller]
fn failed_with<'a>(report: &'a Report, name: &str) -> &'a str {
    let c = report.check(name).unwrap_or_else(|| panic!("no {name} check:\n{report}"));
    assert!(!c.passed, "{name} passed:\n{report}");
    c.reason.as_deref().unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn scaling_passes_after_a_migration_with_and_without_the_journal() {
    let account = MockAccount::new(Scenario::default().with_scaling());
    let migration = scaling_migration();
    let journal = migrate(&account, &migration).await;
    let aws = account.clients();
    let report = verify(&aws, &migration).await.unwrap();
    assert!(report.check("scaling").is_some_and(|c| c.passed), "{report}");
    assert!(report.passed(), "{report}");
    let records = journal.records().unwrap();
    let report = verify_with_journal(&aws, &migration, &records, "j.json").await.unwrap();
    assert!(report.check("scaling").is_some_and(|c| c.passed), "{report}");
    assert!(report.passed(), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_service_without_scaling_has_no_scaling_check() {
    let account = MockAccount::default_scenario();
    let migration = scaling_migration();
    migrate(&account, &migration).await;
    let report = verify(&account.clients(), &migration).await.unwrap();
    assert!(report.check("scaling").is_none(), "{report}");
    assert!(report.passed(), "{report}");
}

#[tokio::test(start_paused = true)]
async fn an_alarm_naming_a_dead_policy_arn_fails_scaling() {
    let account = MockAccount::new(Scenario::default().with_scaling());
    let migration = scaling_migration();
    migrate(&account, &migration).await;
    // Point the step alarm back at the original's policy ARN, as before the migration.
    let original = &sample::scaling().policies.iter().find(|p| p.name == sample::STEP_POLICY).unwrap().arn.clone();
    let rid = scaling_resource_id(sample::CLUSTER, sample::SERVICE);
    let live = account.state().scaling_policies[&(rid, sample::STEP_POLICY.to_owned())].arn.clone();
    assert_ne!(&live, original, "the migration created the policy again with a new ARN");
    account.edit(|st| {
        let alarm = st.alarms.get_mut(sample::STEP_ALARM).unwrap();
        for a in &mut alarm.alarm_actions {
            if *a == live {
                a.clone_from(original);
            }
        }
    });
    let report = verify(&account.clients(), &migration).await.unwrap();
    let reason = failed_with(&report, "scaling");
    assert!(reason.contains(sample::STEP_ALARM) && reason.contains("no longer exists") && reason.contains(&live), "{reason}");
    assert!(!report.passed());
}

#[tokio::test(start_paused = true)]
async fn a_removed_policy_and_scheduled_action_fail_scaling_against_the_journal() {
    let account = MockAccount::new(Scenario::default().with_scaling());
    let migration = scaling_migration();
    let journal = migrate(&account, &migration).await;
    let rid = scaling_resource_id(sample::CLUSTER, sample::SERVICE);
    account.edit(|st| {
        st.scaling_policies.remove(&(rid.clone(), sample::STEP_POLICY.to_owned()));
        st.scheduled_actions.remove(&(rid.clone(), sample::SCHEDULED_ACTION.to_owned()));
        st.scalable_targets.get_mut(&rid).unwrap().max_capacity = 3;
    });
    let aws = account.clients();
    // Without the journal: the alarm still names the removed step policy.
    let report = verify(&aws, &migration).await.unwrap();
    let reason = failed_with(&report, "scaling");
    assert!(reason.contains(sample::STEP_ALARM) && reason.contains(sample::STEP_POLICY), "{reason}");
    // With it: every difference from the original's scaling.
    let report = verify_with_journal(&aws, &migration, &journal.records().unwrap(), "j.json").await.unwrap();
    let reason = failed_with(&report, "scaling");
    for want in [
        format!("scaling policy {} (StepScaling) is missing", sample::STEP_POLICY),
        format!("scheduled action {} is missing", sample::SCHEDULED_ACTION),
        "min 2 / max 3, the original's was min 2 / max 6".to_owned(),
    ] {
        assert!(reason.contains(&want), "{want} not in {reason}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_deregistered_target_fails_scaling_against_the_journal() {
    let account = MockAccount::new(Scenario::default().with_scaling());
    let migration = scaling_migration();
    let journal = migrate(&account, &migration).await;
    let rid = scaling_resource_id(sample::CLUSTER, sample::SERVICE);
    account.edit(|st| {
        st.scalable_targets.remove(&rid);
        st.scaling_policies.retain(|(r, _), _| *r != rid);
        st.scheduled_actions.retain(|(r, _), _| *r != rid);
    });
    let report = verify_with_journal(&account.clients(), &migration, &journal.records().unwrap(), "j.json").await.unwrap();
    let reason = failed_with(&report, "scaling");
    assert!(reason.contains("has no scalable target; the original scaled between 2 and 6"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn the_pipeline_role_passes_after_a_migration_and_fails_listing_what_it_lacks() {
    let account = MockAccount::default_scenario();
    let migration = pipeline_migration();
    migrate(&account, &migration).await;
    let aws = account.clients();
    let report = verify(&aws, &migration).await.unwrap();
    assert!(report.check("pipeline-role").is_some_and(|c| c.passed), "{report}");
    assert!(report.passed(), "{report}");

    // Remove the grant the migration put on the role.
    let policy = ecs_bluegreen::pipeline_role::policy_name(&migration.migration_id());
    account.edit(|st| st.roles.get_mut(PIPELINE_ROLE).unwrap().inline_policies.remove(&policy)).expect("the migration's grant");
    let report = verify(&aws, &migration).await.unwrap();
    let reason = failed_with(&report, "pipeline-role");
    assert!(reason.contains("codedeploy:CreateDeployment") && reason.contains("lacks"), "{reason}");
    let fix = report.check("pipeline-role").unwrap().fix.clone().unwrap();
    assert!(fix.contains("rerun `migrate apply`") && fix.contains(&policy) && fix.contains("codedeploy:CreateDeployment"), "{fix}");

    // A deleted role.
    account.edit(|st| st.roles.remove(PIPELINE_ROLE)).expect("the pipeline role");
    let report = verify(&aws, &migration).await.unwrap();
    assert!(failed_with(&report, "pipeline-role").contains("does not exist"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn no_pipeline_role_check_before_the_deploy_action_is_codedeploy() {
    let account = MockAccount::default_scenario();
    let report = verify(&account.clients(), &pipeline_migration()).await.unwrap();
    assert!(report.check("pipeline-role").is_none(), "{report}");
}
