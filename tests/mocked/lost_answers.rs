//! Lost answers on the test kit: the service does the call, the answer never arrives (a
//! timeout after the fact), and the SDK's standard retry sends the call again
//! ([`InjectedError::LostAnswer`]; `aws-smithy-mocks` cannot compute an answer for a retried
//! attempt, so the account plays the retry). A create retried
//! this way meets "already exists" for what its first attempt made; the run must adopt it (it
//! carries this run's ownership tag) rather than record "nothing changed", so that the run ends
//! applied, or rolled back with nothing left over. A retried delete that meets "not found" has
//! succeeded. Each case: a lost answer at every mutating call of apply, and of rollback.

use ecs_bluegreen::testing::{Fault, InjectedError, MockAccount, Scenario};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, Error, InMemoryJournal, Migration, Outcome};

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn migration() -> Migration {
    Migration::for_service("prod", "web").unwrap().test_listener_port(ecs_bluegreen::spec::Port::new(8080).unwrap()).build()
}

/// The kit's clients (retries off): [`InjectedError::LostAnswer`] plays the SDK's retry.
fn retrying(account: &MockAccount) -> AwsClients {
    account.clients()
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_at_any_call_of_apply_ends_applied_or_rolled_back_with_nothing_left() {
    let clean = MockAccount::new(Scenario::default());
    let plan = migration().plan(&retrying(&clean)).await.unwrap();
    assert_eq!(plan.apply(&retrying(&clean), &InMemoryJournal::new(), &opts()).await.unwrap(), Outcome::Applied);
    let mutations = clean.mutating_operations();
    assert!(mutations.iter().any(|o| o == "CreateRole") && mutations.iter().any(|o| o == "CreateApplication"), "{mutations:?}");
    let migrated = clean.state();

    for (i, op) in mutations.iter().enumerate() {
        let account = MockAccount::new(Scenario::default());
        let start = account.state();
        let aws = retrying(&account);
        let plan = migration().plan(&aws).await.unwrap();
        account.inject(Fault::nth_mutation(i + 1, InjectedError::LostAnswer));
        let journal = InMemoryJournal::new();
        let result = plan.apply(&aws, &journal, &opts()).await;
        account.clear_faults();
        let context = format!("answer of mutating call {} ({op}) lost", i + 1);
        match result {
            // The retry adopted what the first attempt made: the migration is whole.
            Ok(Outcome::Applied) => {
                let diff = migrated.differences(&account.state());
                // Names AWS assigns (ARN suffixes, ids) differ between accounts; compare shapes.
                assert_eq!(account.state().services["web"].deployment_controller, "CODE_DEPLOY", "{context}: {diff:?}");
                assert_eq!(account.state().roles.len(), migrated.roles.len(), "{context}: a role too many or too few");
                assert_eq!(account.state().applications.len(), migrated.applications.len(), "{context}");
                assert_eq!(account.state().target_groups.len(), migrated.target_groups.len(), "{context}");
                assert_eq!(account.state().load_balancer.listeners.len(), migrated.load_balancer.listeners.len(), "{context}");
                // And its rollback leaves nothing behind, the adopted resource included.
                let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
                assert!(report.is_clean(), "{context}: {report}");
                assert_eq!(start.differences(&account.state()), Vec::<String>::new(), "{context}: left after rollback");
            }
            Err(Error::Apply(failed)) => {
                assert!(failed.rollback.is_clean(), "{context}: {}", failed.rollback);
                assert_eq!(start.differences(&account.state()), Vec::<String>::new(), "{context}: orphaned");
            }
            other => panic!("{context}: {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_create_that_meets_already_exists_adopts_only_what_carries_its_tag() {
    // The retry meets "already exists" and adopts the role: it carries this run's tag.
    let account = MockAccount::new(Scenario::default());
    let start = account.state();
    let aws = retrying(&account);
    let plan = migration().plan(&aws).await.unwrap();
    account.inject(Fault::nth_call("CreateRole", 1, InjectedError::LostAnswer));
    let journal = InMemoryJournal::new();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);
    let creates = account.operations().iter().filter(|o| *o == "CreateRole").count();
    assert_eq!(creates, 2, "the SDK retried the create");
    let records = ecs_bluegreen::Journal::records(&journal).unwrap();
    let role_done = records.iter().any(|r| matches!(&r.entry, ecs_bluegreen::journal::Entry::Done { effect: ecs_bluegreen::journal::Effect::RoleCreated { .. }, .. }));
    assert!(role_done, "the adopted role is journaled as created, so its undo removes it");
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(start.differences(&account.state()), Vec::<String>::new());

    // A role of the same name that is not ours, made by someone else after the plan was
    // checked again and before the create, is not adopted: the run fails, rolls back, and
    // leaves that role alone. (The scenario's other role is the template for theirs.)
    let account = MockAccount::new(Scenario::default().with_existing_role());
    let aws = retrying(&account);
    let plan = migration().plan(&aws).await.unwrap();
    let Some(ecs_bluegreen::plan::ChangeDetail::ServiceRole { name, .. }) = plan.change(ecs_bluegreen::StepId::ServiceRole).map(|c| c.detail.clone())
    else {
        panic!("the plan creates no role")
    };
    let (acct, role_name) = (account.clone(), name.clone());
    let someone_else = move |e: &ecs_bluegreen::Event| {
        if matches!(&e.kind, ecs_bluegreen::EventKind::StepStarted { step } if *step == ecs_bluegreen::StepId::ServiceRole) {
            acct.edit(|st| {
                let mut theirs = st.roles.values().next().expect("the scenario has roles").clone();
                theirs.tags.clear();
                theirs.policies.clear();
                theirs.arn = format!("arn:aws:iam::{}:role/{role_name}", st.account_id);
                st.roles.insert(role_name.clone(), theirs);
            });
        }
    };
    let err = plan.apply(&aws, &InMemoryJournal::new(), &opts().observer(someone_else)).await.unwrap_err();
    let Error::Apply(failed) = &err else { panic!("{err:?}") };
    assert!(failed.rollback.is_clean(), "{}", failed.rollback);
    assert!(err.to_string().contains("EntityAlreadyExists") || format!("{err:?}").contains("EntityAlreadyExists"), "{err:?}");
    let role = account.state().roles.get(&name).cloned().expect("the other role was removed");
    assert!(role.tags.is_empty() && role.policies.is_empty(), "the other role was changed: {role:?}");
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_at_any_call_of_rollback_still_leaves_nothing() {
    let clean = MockAccount::new(Scenario::default());
    let aws = retrying(&clean);
    let plan = migration().plan(&aws).await.unwrap();
    let journal = InMemoryJournal::new();
    plan.apply(&aws, &journal, &opts()).await.unwrap();
    let applied = clean.mutating_operations().len();
    assert!(ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap().is_clean());
    let undo_calls = clean.mutating_operations()[applied..].to_vec();
    assert!(undo_calls.iter().any(|o| o.starts_with("Delete")), "{undo_calls:?}");

    for (k, op) in undo_calls.iter().enumerate() {
        let account = MockAccount::new(Scenario::default());
        let start = account.state();
        let aws = retrying(&account);
        let plan = migration().plan(&aws).await.unwrap();
        let journal = InMemoryJournal::new();
        plan.apply(&aws, &journal, &opts()).await.unwrap();
        let n = account.mutating_operations().len() + k + 1;
        account.inject(Fault::nth_mutation(n, InjectedError::LostAnswer));
        let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await;
        account.clear_faults();
        let context = format!("answer of undo call {} ({op}) lost", k + 1);
        let report = report.unwrap_or_else(|e| panic!("{context}: {e}"));
        assert!(report.is_clean(), "{context}: {report}");
        assert_eq!(start.differences(&account.state()), Vec::<String>::new(), "{context}");
    }
}
