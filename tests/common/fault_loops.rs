//! The fault and crash loops of one migration direction against moto, shared by the
//! directions' tests. A fault at each mutating call in turn must leave the account as it
//! started (the run rolls back what it did); a crash after each journal write in turn must
//! resume to the end state, or roll back to the start. Every iteration seeds a fresh account at
//! the direction's start, so an iteration costs a seed and a run: a direction whose full loop is
//! slow on moto runs a subset here ([`Calls::AfterIntents`], [`Calls::Only`]) and the full loop
//! on the kit.

use std::sync::atomic::Ordering;

use ecs_bluegreen::spec::Migration;
use ecs_bluegreen::txn::journal::{Entry, JournalStatus, Record};
use ecs_bluegreen::{ApplyOptions, AwsClients, Error, InMemoryJournal, Journal, Outcome};
use futures::future::BoxFuture;
use serde_json::Value;

use super::faults::FailNthMutation;
use super::fixture::Fixture;
use super::snapshot::{assert_same, snapshot};
use super::{AccountHeader, fresh_account, moto_clients, moto_endpoint, moto_sdk_config};

/// One direction of migration, as the loops run it.
pub struct Direction {
    /// Names the direction in failure messages.
    pub name: &'static str,
    /// Seeds a fresh account (the clients act in it, the string is its id) at the start.
    pub seed: fn(AwsClients, String) -> BoxFuture<'static, Fixture>,
    /// The migration under test.
    pub migration: fn(&Fixture) -> Migration,
    /// The runs' options.
    pub opts: fn() -> ApplyOptions,
    /// Checks the end state of a finished run (a resumed one).
    pub assert_end: fn(AwsClients, Fixture) -> BoxFuture<'static, ()>,
    /// The snapshot as compared with the start's: without what AWS assigns anew to what a
    /// rollback recreates.
    pub comparable: fn(Value) -> Value,
}

/// Which iterations of a loop run: every one, or the numbered ones (1-based mutating calls,
/// or journal writes a crash comes after).
#[derive(Debug, Clone, Copy)]
pub enum Calls {
    /// Every mutating call / journal write of a clean run.
    All,
    /// These only.
    Only(&'static [usize]),
    /// Crash loop only: after each write that is an intent. The run then makes the call and
    /// the crash loses its `Done` record, the case resume and rollback must find out from AWS.
    AfterIntents,
}

impl Calls {
    fn numbers(self, total: usize) -> Vec<usize> {
        match self {
            Calls::All => (1..=total).collect(),
            Calls::AfterIntents => panic!("AfterIntents numbers journal writes: crash_after_every_journal_write only"),
            Calls::Only(n) => {
                assert!(n.iter().all(|&i| (1..=total).contains(&i)), "{n:?}: a clean run has {total}");
                n.to_vec()
            }
        }
    }
}

async fn seeded(d: &Direction) -> (AwsClients, String, Fixture) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = (d.seed)(aws.clone(), account.clone()).await;
    (aws, account, f)
}

async fn snap(d: &Direction, aws: &AwsClients, f: &Fixture) -> Value {
    (d.comparable)(snapshot(aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await)
}

/// Clients acting in `account` that fail the mutating calls `fault` numbers.
fn faulty_clients(account: &str, fault: FailNthMutation) -> AwsClients {
    AwsClients::builder(&moto_sdk_config(&moto_endpoint())).interceptor(AccountHeader(account.to_owned())).interceptor(fault).build()
}

/// The number of mutating calls of a clean run of the direction (which must apply).
pub async fn mutating_calls(d: &Direction) -> usize {
    let (_, account, f) = seeded(d).await;
    let counter = FailNthMutation::at(Vec::new());
    let aws = faulty_clients(&account, counter.clone());
    let plan = (d.migration)(&f).plan(&aws).await.unwrap();
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &(d.opts)()).await.unwrap(), Outcome::Applied, "{}: a clean run", d.name);
    counter.seen.load(Ordering::SeqCst)
}

/// Fails the `calls` mutating calls in turn (each in a fresh account); after each failed run
/// the account must equal its start, field by field. Returns the clean run's number of calls.
pub async fn fault_at_every_mutating_call(d: &Direction, calls: Calls) -> usize {
    let total = mutating_calls(d).await;
    for n in calls.numbers(total) {
        let (aws, account, f) = seeded(d).await;
        let before = snap(d, &aws, &f).await;
        let faulty = faulty_clients(&account, FailNthMutation::new(n));
        let plan = (d.migration)(&f).plan(&faulty).await.unwrap();
        let context = format!("{}: a fault at mutating call {n} of {total}", d.name);
        match plan.apply(&faulty, &InMemoryJournal::new(), &(d.opts)()).await {
            Err(Error::Apply(failed)) => {
                let cause = ecs_bluegreen::error::Report(&failed.cause).to_string();
                assert!(cause.contains("injected fault"), "{context}: {cause}");
                assert!(failed.rollback.is_clean(), "{context}: {}", failed.rollback);
            }
            other => panic!("{context}: {other:?}"),
        }
        assert_same(&before, &snap(d, &aws, &f).await, &context);
    }
    total
}

/// A journal that "crashes" (fails) at its `crash_at`-th append, keeping what came before.
pub struct CrashingJournal {
    /// What was written before the crash.
    pub inner: InMemoryJournal,
    /// The write that fails (1-based).
    pub crash_at: usize,
}

impl Journal for CrashingJournal {
    fn append(&self, entry: Entry) -> ecs_bluegreen::Result<u64> {
        if self.inner.records()?.len() + 1 == self.crash_at {
            return Err(Error::Journal("simulated crash".into()));
        }
        self.inner.append(entry)
    }
    fn records(&self) -> ecs_bluegreen::Result<Vec<Record>> {
        self.inner.records()
    }
}

/// The journal of a clean run of the direction.
pub async fn clean_journal(d: &Direction) -> Vec<Record> {
    let (aws, _, f) = seeded(d).await;
    let journal = InMemoryJournal::new();
    let plan = (d.migration)(&f).plan(&aws).await.unwrap();
    assert_eq!(plan.apply(&aws, &journal, &(d.opts)()).await.unwrap(), Outcome::Applied, "{}: a clean run", d.name);
    journal.records().unwrap()
}

/// Stops a run after each of the `writes` journal writes in turn (as a crash does; each in a
/// fresh account). A new apply then refuses the unfinished journal; after an even-numbered
/// write the run is resumed to the end state and then rolled back, after an odd one rolled
/// back: either way the account must equal its start. Returns the clean run's writes.
pub async fn crash_after_every_journal_write(d: &Direction, writes: Calls) -> usize {
    let clean = clean_journal(d).await;
    let total = clean.len();
    // After the last write the run is over: nothing to resume.
    let numbers = match writes {
        Calls::AfterIntents => clean.iter().filter(|r| matches!(r.entry, Entry::Intent { .. })).map(|r| r.seq as usize + 1).collect(),
        other => other.numbers(total - 1),
    };
    for written in numbers {
        let (aws, _, f) = seeded(d).await;
        let before = snap(d, &aws, &f).await;
        let plan = (d.migration)(&f).plan(&aws).await.unwrap();
        let journal = CrashingJournal { inner: InMemoryJournal::new(), crash_at: written + 1 };
        let context = format!("{}: a crash after journal write {written} of {total}", d.name);
        match plan.apply(&aws, &journal, &(d.opts)()).await {
            Err(Error::Journal(_)) => {}
            other => panic!("{context}: {other:?}"),
        }
        let records = journal.records().unwrap();
        assert_eq!(records.len(), written, "{context}");
        assert_eq!(ecs_bluegreen::txn::journal::status(&records), JournalStatus::Unfinished, "{context}");
        let crashed = InMemoryJournal::from_records(records);
        let refused = plan.apply(&aws, &crashed, &(d.opts)()).await.unwrap_err();
        assert!(matches!(refused, Error::Unfinished(_)), "{context}: {refused}");
        if written % 2 == 0 {
            assert_eq!(ecs_bluegreen::resume(&aws, &crashed, &(d.opts)()).await.unwrap(), Outcome::Applied, "{context}");
            (d.assert_end)(aws.clone(), f.clone()).await;
        }
        let report = ecs_bluegreen::rollback(&aws, &crashed, &(d.opts)()).await.unwrap();
        assert!(report.is_clean(), "{context}: {report}");
        assert_same(&before, &snap(d, &aws, &f).await, &context);
    }
    total
}
