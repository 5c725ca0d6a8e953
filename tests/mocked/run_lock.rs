//! The run lock and journal identity on the test kit, through the library alone (no CLI): a
//! script gets the same protection. A run that died holding the lock is resumed by its own
//! journal (which takes the lock over); any other run is refused with nothing changed; a lock
//! that cannot be released does not turn a finished run into a failure.

use std::sync::{Arc, Mutex};

use ecs_bluegreen::journal::{Entry, Record};
use ecs_bluegreen::testing::{Fault, InjectedError, MockAccount, Scenario};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, Error, EventKind, InMemoryJournal, Journal, Migration, Outcome, StepId};

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn migration() -> Migration {
    Migration::for_service("prod", "web").unwrap().build()
}

const LOCK: &str = "/ecs-bluegreen/lock/prod/web";

/// A journal whose process "dies" as the cutover is about to start.
struct CrashBeforeCutover(InMemoryJournal);

impl Journal for CrashBeforeCutover {
    fn append(&self, entry: Entry) -> ecs_bluegreen::Result<u64> {
        if matches!(&entry, Entry::StepStarted { step, .. } if *step == StepId::ServiceCutover) {
            return Err(Error::Journal("simulated crash".into()));
        }
        self.0.append(entry)
    }
    fn records(&self) -> ecs_bluegreen::Result<Vec<Record>> {
        self.0.records()
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_that_died_holding_the_lock_is_resumed_by_its_journal_and_other_runs_are_refused() {
    let account = MockAccount::new(Scenario::default());
    let aws = account.clients();
    let plan = migration().plan(&aws).await.unwrap();
    let crashed = CrashBeforeCutover(InMemoryJournal::new());
    let err = plan.apply(&aws, &crashed, &opts()).await.unwrap_err();
    assert!(matches!(err, Error::Journal(_)), "{err:?}");
    let records = crashed.records().unwrap();
    let run = ecs_bluegreen::journal::last_run_info(&records).expect("the run records its identity").clone();
    assert_eq!((run.identity.account_id.as_str(), run.identity.cluster.as_str(), run.identity.service.as_str()), (account.state().account_id.as_str(), "prod", "web"));
    // The process died before it could release its lock: put back what it held.
    let held = serde_json::json!({
        "lock_id": "aaaabbbbccccdddd", "run_id": run.run_id, "operation": "apply",
        "holder": "the crashed run", "since_ms": 1u64,
    });
    account.edit(|st| st.parameters.insert(LOCK.into(), held.to_string()));

    // Another operator's run (a fresh journal, a fresh plan) is refused, naming the holder.
    let at_crash = account.state();
    let other = migration().plan(&aws).await.unwrap();
    let err = other.apply(&aws, &InMemoryJournal::new(), &opts()).await.unwrap_err();
    let Error::Locked(held) = &err else { panic!("not refused by the lock: {err:?}") };
    assert_eq!(held.holder.lock_id, "aaaabbbbccccdddd");
    assert!(err.to_string().contains("--lock-id aaaabbbbccccdddd"), "{err}");
    assert_eq!(at_crash.differences(&account.state()), Vec::<String>::new(), "the refused run changed something");

    // The crashed run's own journal takes its lock over and finishes; the lock is then released.
    let journal = InMemoryJournal::from_records(records);
    let outcome = ecs_bluegreen::resume(&aws, &journal, &opts()).await.unwrap();
    assert_eq!(outcome, Outcome::Applied);
    assert!(account.state().parameters.is_empty(), "{:?}", account.state().parameters);
    assert_eq!(account.state().services["web"].deployment_controller, "CODE_DEPLOY");
}

#[tokio::test(start_paused = true)]
async fn a_lock_that_cannot_be_released_is_reported_and_the_run_still_succeeds() {
    let account = MockAccount::new(Scenario::default());
    let aws = account.clients();
    let plan = migration().plan(&aws).await.unwrap();
    account.inject(Fault::every_call("DeleteParameter", InjectedError::AccessDenied));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let o = opts().observer(move |e| {
        if let EventKind::LockNotReleased { lock, error } = &e.kind {
            seen2.lock().unwrap().push((lock.lock_id.clone(), error.clone()));
        }
    });
    let outcome = plan.apply(&aws, &InMemoryJournal::new(), &o).await.unwrap();
    assert_eq!(outcome, Outcome::Applied);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].1.contains("AccessDenied"), "{seen:?}");
    // The lock is still there, under the id the event names (what `unlock` needs).
    let value: serde_json::Value = serde_json::from_str(&account.state().parameters[LOCK]).unwrap();
    assert_eq!(value["lock_id"], seen[0].0.as_str());
    account.clear_faults();
    ecs_bluegreen::lock::unlock(&aws, "prod", "web", &seen[0].0).await.unwrap();
    assert!(account.state().parameters.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_lock_that_cannot_be_taken_changes_nothing_and_without_run_lock_no_lock_call_is_made() {
    let account = MockAccount::new(Scenario::default());
    let aws = account.clients();
    let start = account.state();
    let plan = migration().plan(&aws).await.unwrap();
    account.inject(Fault::every_call("PutParameter", InjectedError::AccessDenied));
    let err = plan.apply(&aws, &InMemoryJournal::new(), &opts()).await.unwrap_err();
    assert!(err.to_string().contains("PutParameter"), "{err}");
    assert_eq!(start.differences(&account.state()), Vec::<String>::new());
    assert!(account.mutating_operations().is_empty(), "{:?}", account.mutating_operations());

    // A script that locks by other means can opt out: no SSM call at all.
    account.clear_faults();
    let calls_before = account.operations().len();
    let outcome = plan.apply(&aws, &InMemoryJournal::new(), &opts().without_run_lock()).await.unwrap();
    assert_eq!(outcome, Outcome::Applied);
    let ops = account.operations()[calls_before..].to_vec();
    assert!(!ops.iter().any(|o| o.ends_with("Parameter")), "{ops:?}");
}
