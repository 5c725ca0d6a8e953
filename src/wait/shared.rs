//! Waits shared by several runs (a fleet): one DescribeServices polls up to 10 waiting
//! services of a cluster, one DescribeTargetHealth answers every waiter of a target group.
//!
//! Each waiter keeps its own [`WaitPolicy`]: its deadline, and its cadence (the pause before its
//! next poll, from the time it has waited). A batch is sent when the earliest waiter is due, by
//! that waiter, with the services of every other waiter that is due too (as many calls as
//! they need) and, in the calls' free places, those due soonest after. A waiter answered by
//! someone else's batch counts that as its poll and sets its next one from it, so no waiter
//! polls later than its own cadence says, and none waits for another to be due: a slow
//! service never delays a fast one. A failed batch call ends the wait of the waiter that sent
//! it (as its own call would have); the others it carried poll on their own.
//!
//! Runs share their waits when their [`ApplyOptions`](crate::ApplyOptions) carry the same
//! [`SharedWaits`] ([`ApplyOptions::shared_waits`](crate::ApplyOptions::shared_waits));
//! [`crate::fleet`] gives its members one. Waiters are grouped by account, region and cluster
//! (the plan's account; a plan without one waits alone).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::{WaitPolicy, next_delay};
use crate::error::{Error, Result};
use crate::inventory::ServiceDefinition;

/// Services one DescribeServices call may name.
pub const DESCRIBE_SERVICES_MAX: usize = 10;

/// A handle that runs share so their waits poll AWS together (clones share it).
#[derive(Clone, Default)]
pub struct SharedWaits {
    inner: Arc<Hubs>,
    /// The account the run's plan is in: waiters are only grouped within one account.
    account: Option<Arc<str>>,
}

#[derive(Default)]
struct Hubs {
    services: Batcher<Option<ServiceDefinition>>,
    target_health: Batcher<Vec<TargetState>>,
}

/// One target of a target group and whether it is healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetState {
    /// Instance id or IP address.
    pub(crate) id: String,
    /// Port.
    pub(crate) port: Option<i32>,
    /// Whether its state is `healthy`.
    pub(crate) healthy: bool,
}

impl fmt::Debug for SharedWaits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedWaits").field("account", &self.account).finish_non_exhaustive()
    }
}

/// Equal when they are the same handle (runs that share waits).
impl PartialEq for SharedWaits {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) && self.account == other.account
    }
}
impl Eq for SharedWaits {}

impl SharedWaits {
    /// A new handle: give clones of it to the runs that should poll together.
    pub fn new() -> Self {
        Self::default()
    }

    /// This handle for a run in `account` (`None`: unknown, the run waits alone).
    pub(crate) fn in_account(&self, account: Option<&str>) -> Self {
        Self { inner: self.inner.clone(), account: account.map(Arc::from) }
    }

    /// Polls service `cluster`/`name` until `check` says it is done: its read in a batch with
    /// the other waiters of the cluster in the same account and `region` (see the
    /// [module docs](self)). `describe` reads up to [`DESCRIBE_SERVICES_MAX`] services by name
    /// (DescribeServices), answering in their order.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn poll_service<T, F, Fut>(
        &self,
        what: &str,
        policy: WaitPolicy,
        region: &str,
        cluster: &str,
        name: &str,
        describe: F,
        check: impl Fn(Option<ServiceDefinition>) -> Result<Option<T>>,
    ) -> Result<T>
    where
        F: Fn(Vec<String>) -> Fut,
        Fut: Future<Output = Result<Vec<Option<ServiceDefinition>>>>,
    {
        let group = format!("{}/{region}/{cluster}", self.account.as_deref().unwrap_or_default());
        self.inner.services.poll(what, policy, &group, name, DESCRIBE_SERVICES_MAX, describe, |s| std::future::ready(check(s))).await
    }

    /// Polls the health of every target of `target_group` (one read, `health`, for all its
    /// waiters) until `check` says it is done.
    pub(crate) async fn poll_target_health<T, H, HFut, Fut>(
        &self,
        what: &str,
        policy: WaitPolicy,
        target_group: &str,
        health: H,
        check: impl FnMut(Vec<TargetState>) -> Fut,
    ) -> Result<T>
    where
        H: Fn() -> HFut,
        HFut: Future<Output = Result<Vec<TargetState>>>,
        Fut: Future<Output = Result<Option<T>>>,
    {
        let group = format!("{}/{target_group}", self.account.as_deref().unwrap_or_default());
        let fetch = |_: Vec<String>| {
            let read = health();
            async move { Ok(vec![read.await?]) }
        };
        self.inner.target_health.poll(what, policy, &group, target_group, usize::MAX, fetch, check).await
    }

    /// Whether waits may be shared: only within a known account.
    pub(crate) fn usable(&self) -> bool {
        self.account.is_some()
    }
}

/// Waiters of one kind of read, grouped (by account, region and cluster, or target group);
/// each waits for one item (a service name) of its group.
struct Batcher<A> {
    groups: Mutex<HashMap<String, Group<A>>>,
}

impl<A> Default for Batcher<A> {
    fn default() -> Self {
        Self { groups: Mutex::default() }
    }
}

struct Group<A> {
    next_id: u64,
    slots: BTreeMap<u64, Slot<A>>,
}

struct Slot<A> {
    item: String,
    /// When it polls next on its own.
    due: Instant,
    state: State<A>,
    wake: Arc<Notify>,
}

enum State<A> {
    /// Waiting for its due time; another waiter's batch may carry it.
    Idle,
    /// In a batch in flight, or looking at an answer: no batch carries it.
    Busy,
    /// Answered by another waiter's batch, not looked at yet.
    Answered(A),
    /// The batch that carried it failed: it polls on its own.
    OnItsOwn,
}

/// What a waiter does next.
enum Next<A> {
    Look(A),
    /// Send a batch of these items, carrying the waiters `others` besides this one.
    Send { items: Vec<String>, others: Vec<u64> },
    Sleep { until: Option<Instant>, wake: Arc<Notify> },
}

impl<A: Clone> Batcher<A> {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Group<A>>> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Polls `item` of `group` until `check` returns `Some`, or fails with [`Error::Timeout`]
    /// after a last poll at the deadline, like [`super::poll`]. `fetch` reads up to `per_call`
    /// items in one call, answering in their order.
    #[allow(clippy::too_many_arguments)]
    async fn poll<T, F, FFut, C, CFut>(
        &self,
        what: &str,
        policy: WaitPolicy,
        group: &str,
        item: &str,
        per_call: usize,
        fetch: F,
        mut check: C,
    ) -> Result<T>
    where
        F: Fn(Vec<String>) -> FFut,
        FFut: Future<Output = Result<Vec<A>>>,
        C: FnMut(A) -> CFut,
        CFut: Future<Output = Result<Option<T>>>,
    {
        let start = Instant::now();
        let me = Registration::new(self, group, item, start);
        // Waiters that start at the same instant all register before the first of them sends.
        tokio::task::yield_now().await;
        loop {
            let answer = match me.next(per_call) {
                Next::Look(a) => a,
                Next::Sleep { until, wake } => {
                    match until {
                        Some(at) => tokio::select! {
                            () = wake.notified() => {}
                            () = tokio::time::sleep_until(at) => {}
                        },
                        None => wake.notified().await,
                    }
                    continue;
                }
                Next::Send { items, others } => me.send(items, others, per_call, &fetch).await?,
            };
            if let Some(v) = check(answer).await? {
                return Ok(v);
            }
            let elapsed = start.elapsed();
            if elapsed >= policy.deadline {
                return Err(Error::Timeout { what: what.to_owned(), waited_secs: elapsed.as_secs() });
            }
            let pause = next_delay(&policy, elapsed).min(policy.deadline - elapsed);
            tracing::debug!(what, ?pause, "waiting");
            me.idle_until(Instant::now() + pause);
        }
    }
}

/// A waiter's place in its group; leaving (on return or when dropped) removes it.
struct Registration<'a, A> {
    batcher: &'a Batcher<A>,
    group: String,
    item: String,
    id: u64,
}

impl<'a, A: Clone> Registration<'a, A> {
    fn new(batcher: &'a Batcher<A>, group: &str, item: &str, due: Instant) -> Self {
        let mut groups = batcher.lock();
        let g = groups.entry(group.to_owned()).or_insert_with(|| Group { next_id: 0, slots: BTreeMap::new() });
        let id = g.next_id;
        g.next_id += 1;
        g.slots.insert(id, Slot { item: item.to_owned(), due, state: State::Idle, wake: Arc::new(Notify::new()) });
        Self { batcher, group: group.to_owned(), item: item.to_owned(), id }
    }

    /// Takes an answer, or picks the batch to send when due, or says how long to sleep.
    fn next(&self, per_call: usize) -> Next<A> {
        let mut groups = self.batcher.lock();
        let g = groups.get_mut(&self.group).expect("a registered waiter's group exists");
        let slot = g.slots.get_mut(&self.id).expect("registered");
        match std::mem::replace(&mut slot.state, State::Busy) {
            State::Answered(a) => return Next::Look(a),
            State::Busy => return Next::Sleep { until: None, wake: slot.wake.clone() },
            State::Idle | State::OnItsOwn => slot.state = State::Idle,
        }
        let now = Instant::now();
        if slot.due > now {
            return Next::Sleep { until: Some(slot.due), wake: slot.wake.clone() };
        }
        // Due: this waiter sends the batch. Every idle waiter that is due goes in it, in as
        // many calls as they need; the calls' free places go to those due soonest after.
        let mut idle: Vec<(Instant, u64, String)> =
            g.slots.iter().filter(|(_, s)| matches!(s.state, State::Idle)).map(|(id, s)| (s.due, *id, s.item.clone())).collect();
        idle.sort();
        let mut items: Vec<String> = Vec::new();
        for (_, _, item) in idle.iter().filter(|(due, _, _)| *due <= now) {
            if !items.contains(item) {
                items.push(item.clone());
            }
        }
        let room = items.len().div_ceil(per_call).saturating_mul(per_call);
        for (_, _, item) in idle.iter().filter(|(due, _, _)| *due > now) {
            if items.len() >= room {
                break;
            }
            if !items.contains(item) {
                items.push(item.clone());
            }
        }
        let mut others = Vec::new();
        for (id, s) in g.slots.iter_mut().filter(|(_, s)| matches!(s.state, State::Idle) && items.contains(&s.item)) {
            s.state = State::Busy;
            if *id != self.id {
                others.push(*id);
            }
        }
        Next::Send { items, others }
    }

    /// Sends the batch (`per_call` items a call, the calls at once) and hands each waiter it
    /// carries its answer; returns this waiter's.
    async fn send<F, FFut>(&self, items: Vec<String>, others: Vec<u64>, per_call: usize, fetch: &F) -> Result<A>
    where
        F: Fn(Vec<String>) -> FFut,
        FFut: Future<Output = Result<Vec<A>>>,
    {
        // Dropped before it answers (the run stopped): the others poll on their own.
        let mut carried = Carried { batcher: self.batcher, group: &self.group, others, done: false };
        let chunks: Vec<Vec<String>> = items.chunks(per_call.max(1)).map(<[String]>::to_vec).collect();
        let answers = futures::future::join_all(chunks.iter().map(|c| fetch(c.clone()))).await;
        let mut own: Option<Result<A>> = None;
        {
            let mut groups = self.batcher.lock();
            let g = groups.get_mut(&self.group).expect("registered");
            for (chunk, answer) in chunks.iter().zip(answers) {
                match answer {
                    Ok(values) => {
                        for (item, value) in chunk.iter().zip(values) {
                            if *item == self.item {
                                own = Some(Ok(value.clone()));
                            }
                            for id in &carried.others {
                                if let Some(s) = g.slots.get_mut(id).filter(|s| s.item == *item && matches!(s.state, State::Busy)) {
                                    s.state = State::Answered(value.clone());
                                    s.wake.notify_one();
                                }
                            }
                        }
                    }
                    Err(e) if chunk.contains(&self.item) => own = Some(Err(e)),
                    Err(_) => {}
                }
            }
            // Those a failed call did not answer poll on their own.
            release(g, &carried.others);
            carried.done = true;
        }
        own.unwrap_or_else(|| Err(Error::custom(format!("{}: no answer for {} in its batch", self.group, self.item))))
    }

    /// Looked at an answer and not done: idle until `due`, or until a batch carries it.
    fn idle_until(&self, due: Instant) {
        let mut groups = self.batcher.lock();
        if let Some(s) = groups.get_mut(&self.group).and_then(|g| g.slots.get_mut(&self.id)) {
            s.due = due;
            if matches!(s.state, State::Busy) {
                s.state = State::Idle;
            }
        }
    }
}

impl<A> Drop for Registration<'_, A> {
    fn drop(&mut self) {
        let mut groups = self.batcher.groups.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = groups.get_mut(&self.group) {
            g.slots.remove(&self.id);
            if g.slots.is_empty() {
                groups.remove(&self.group);
            }
        }
    }
}

/// The other waiters a batch carries: released to poll on their own when it did not answer
/// them (a failed call, or the batch dropped).
struct Carried<'a, A> {
    batcher: &'a Batcher<A>,
    group: &'a str,
    others: Vec<u64>,
    done: bool,
}

/// The waiters `ids` that a batch carried and did not answer poll on their own.
fn release<A>(g: &mut Group<A>, ids: &[u64]) {
    for id in ids {
        if let Some(s) = g.slots.get_mut(id).filter(|s| matches!(s.state, State::Busy)) {
            s.state = State::OnItsOwn;
            s.wake.notify_one();
        }
    }
}

impl<A> Drop for Carried<'_, A> {
    fn drop(&mut self) {
        if !self.done {
            let mut groups = self.batcher.groups.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(g) = groups.get_mut(self.group) {
                release(g, &self.others);
            }
        }
    }
}
