//! Drift-aware rollback on the test kit: what an operator changed on the migrated service after
//! apply (desired count, task definition) is kept by the restored service; a CodeDeploy
//! deployment in flight refuses the rollback (nothing changed) unless forced; the rollback plan
//! says all of it before anything runs. Run: `cargo test --test mocked drift_rollback::`.

use aws_sdk_codedeploy::types::{AppSpecContent, RevisionLocation, RevisionLocationType};
use ecs_bluegreen::plan::RefusalKind;
use ecs_bluegreen::testing::{MockAccount, default_migration, sample};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, Error, InMemoryJournal, Outcome};

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

async fn applied(account: &MockAccount) -> (AwsClients, InMemoryJournal) {
    let aws = account.clients();
    let plan = default_migration(account.scenario()).plan(&aws).await.unwrap();
    let journal = InMemoryJournal::new();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);
    (aws, journal)
}

#[tokio::test(start_paused = true)]
async fn rollback_keeps_the_desired_count_an_operator_set_after_apply() {
    let account = MockAccount::default_scenario();
    let (aws, journal) = applied(&account).await;
    assert_eq!(account.state().services["web"].deployment_controller, "CODE_DEPLOY");
    // What an operator's UpdateService (desiredCount 6) leaves (the kit does not answer it).
    account.edit(|st| st.services.get_mut("web").unwrap().desired_count = 6);

    let plan = ecs_bluegreen::txn::rollback_plan(&aws, &journal, &opts()).await.unwrap();
    let text = plan.to_string();
    assert!(text.contains("desired count 2 -> 6 (kept by the restored service)"), "{text}");
    assert!(text.contains("recreated with the live desired count 6"), "{text}");
    assert_eq!(plan.carry_over.desired_count, Some(6));
    assert!(!plan.is_refused(), "{text}");

    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let web = &account.state().services["web"];
    assert_eq!((web.deployment_controller.as_str(), web.status.as_str()), ("ECS", "ACTIVE"));
    assert_eq!(web.desired_count, 6, "the restored rolling service runs the count the operator set");
    assert_eq!(web.task_definition.as_deref(), Some(sample::TASK_DEFINITION_ARN));
}

#[tokio::test(start_paused = true)]
async fn rollback_keeps_the_task_definition_a_deployment_rolled_out_after_apply() {
    let account = MockAccount::default_scenario();
    let (aws, journal) = applied(&account).await;
    let newer = sample::TASK_DEFINITION_ARN.replace("web:3", "web:4");
    account.edit(|st| {
        let mut td = st.task_definitions[sample::TASK_DEFINITION_ARN].clone();
        td.arn = newer.clone();
        st.task_definitions.insert(newer.clone(), td);
        // What a finished blue/green deployment of revision 4 leaves.
        st.services.get_mut("web").unwrap().task_definition = Some(newer.clone());
    });

    let plan = ecs_bluegreen::txn::rollback_plan(&aws, &journal, &opts()).await.unwrap();
    assert_eq!(plan.carry_over.task_definition.as_deref(), Some(newer.as_str()), "{plan}");
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let web = &account.state().services["web"];
    assert_eq!(web.deployment_controller, "ECS");
    assert_eq!(web.task_definition.as_deref(), Some(newer.as_str()), "the restored service runs the revision deployed since");
    assert_eq!(web.desired_count, 2, "an unchanged count stays as journaled");
}

#[tokio::test(start_paused = true)]
async fn rollback_is_refused_while_a_deployment_is_in_flight_unless_forced() {
    let account = MockAccount::default_scenario();
    let (aws, journal) = applied(&account).await;
    let id = aws
        .codedeploy
        .create_deployment()
        .application_name("prod-web")
        .deployment_group_name("web-bluegreen")
        .revision(
            RevisionLocation::builder()
                .revision_type(RevisionLocationType::AppSpecContent)
                .app_spec_content(AppSpecContent::builder().content("version: 0.0").build())
                .build(),
        )
        .send()
        .await
        .unwrap()
        .deployment_id()
        .unwrap()
        .to_owned();
    let migrated = account.state();
    let records = journal.records_len();

    let plan = ecs_bluegreen::txn::rollback_plan(&aws, &journal, &opts()).await.unwrap();
    assert!(plan.is_refused(), "{plan}");
    assert_eq!(plan.deployments_in_flight, std::slice::from_ref(&id));
    let err = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap_err();
    let Error::Plan(p) = &err else { panic!("not a refusal: {err:?}") };
    assert_eq!(p.refusals()[0].kind, RefusalKind::DeploymentInFlight);
    assert!(p.refusals()[0].problem.contains(&id), "{err}");
    assert_eq!(migrated.differences(&account.state()), Vec::<String>::new(), "a refused rollback changed the account");
    assert_eq!(journal.records_len(), records, "a refused rollback wrote to the journal");

    let report = ecs_bluegreen::rollback(&aws, &journal, &opts().force_rollback()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(account.state().services["web"].deployment_controller, "ECS");
}

/// The number of records, for "nothing was written" checks.
trait RecordsLen {
    fn records_len(&self) -> usize;
}

impl RecordsLen for InMemoryJournal {
    fn records_len(&self) -> usize {
        use ecs_bluegreen::Journal;
        self.records().unwrap().len()
    }
}

/// A run stopped through its cancel token (what the CLI does on SIGINT/SIGTERM) starts nothing
/// new, returns `Error::Cancelled`, and leaves an unfinished journal that rollback undoes
/// completely and resume finishes.
#[tokio::test(start_paused = true)]
async fn a_cancelled_apply_leaves_an_unfinished_journal_that_rollback_and_resume_handle() {
    use ecs_bluegreen::txn::journal::{self, JournalStatus};
    use ecs_bluegreen::{CancelToken, EventKind, Journal, StepId};
    for then_resume in [false, true] {
        let account = MockAccount::default_scenario();
        let start = account.state();
        let aws = account.clients();
        let plan = default_migration(account.scenario()).plan(&aws).await.unwrap();
        let journal = InMemoryJournal::new();
        let token = CancelToken::new();
        let stop = token.clone();
        let stopping = opts().cancel(token).observer(move |e| {
            if matches!(&e.kind, EventKind::StepStarted { step } if *step == StepId::ServiceCutover) {
                stop.cancel();
            }
        });
        let err = plan.apply(&aws, &journal, &stopping).await.unwrap_err();
        let Error::Cancelled(c) = &err else { panic!("not cancelled: {err:?}") };
        assert_eq!((c.operation(), c.changed()), ("apply", true), "{err}");
        let records = journal.records().unwrap();
        assert_eq!(journal::status(&records), JournalStatus::Unfinished);
        assert!(
            !records.iter().any(|r| matches!(&r.entry, journal::Entry::StepStarted { step } if *step == StepId::DeploymentGroup)),
            "a step started after the cancel"
        );
        assert!(!records.iter().any(|r| matches!(r.entry, journal::Entry::StepFailed { .. })), "a cancel is not a failure");
        if then_resume {
            assert_eq!(ecs_bluegreen::resume(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);
            assert_eq!(account.state().services["web"].deployment_controller, "CODE_DEPLOY");
        } else {
            let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
            assert!(report.is_clean(), "{report}");
            assert_eq!(start.differences(&account.state()), Vec::<String>::new());
        }
    }
}
