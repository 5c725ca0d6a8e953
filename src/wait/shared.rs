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
    services: Batcher<Option<crate::inventory::ServiceDefinition>>,
    target_health: Batcher<Vec<TargetState>>,
}

/// One target of a target group and whether it is healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetState {
    pub(crate) id: String,
    pub(crate) port: Option<i32>,
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

    /// Polls service `cluster`/`name` until `check` says it is done: its DescribeServices in a
    /// batch with the other waiters of the cluster (see the [module docs](self)).
    pub(crate) async fn poll_service<T>(
        &self,
        aws: &crate::AwsClients,
        what: &str,
        policy: WaitPolicy,
        cluster: &str,
        name: &str,
        check: impl Fn(Option<crate::inventory::ServiceDefinition>) -> Result<Option<T>>,
    ) -> Result<T> {
        let region = aws.ecs.config().region().map(|r| r.to_string()).unwrap_or_default();
        let group = format!("{}/{region}/{cluster}", self.account.as_deref().unwrap_or_default());
        let fetch = |names: Vec<String>| async move { crate::discover::describe_services(aws, cluster, &names).await };
        self.inner.services.poll(what, policy, &group, name, DESCRIBE_SERVICES_MAX, fetch, |s| std::future::ready(check(s))).await
    }

    /// Polls the health of every target of `target_group` (one DescribeTargetHealth for all its
    /// waiters) until `check` says it is done.
    pub(crate) async fn poll_target_health<T, Fut>(
        &self,
        aws: &crate::AwsClients,
        what: &str,
        policy: WaitPolicy,
        target_group: &str,
        check: impl FnMut(Vec<TargetState>) -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<Option<T>>>,
    {
        let group = format!("{}/{target_group}", self.account.as_deref().unwrap_or_default());
        let fetch = |_: Vec<String>| async move { Ok(vec![target_health(aws, target_group).await?]) };
        self.inner.target_health.poll(what, policy, &group, target_group, usize::MAX, fetch, check).await
    }

    /// Whether waits may be shared: only within a known account.
    pub(crate) fn usable(&self) -> bool {
        self.account.is_some()
    }
}

/// Every registered target of `target_group` with its health (DescribeTargetHealth naming no
/// target answers for all of them).
pub(crate) async fn target_health(aws: &crate::AwsClients, target_group: &str) -> Result<Vec<TargetState>> {
    use crate::error::SdkResultExt;
    let out = aws.elbv2.describe_target_health().target_group_arn(target_group).send().await.ctx("DescribeTargetHealth", target_group)?;
    Ok(out
        .target_health_descriptions()
        .iter()
        .map(|d| TargetState {
            id: d.target().and_then(|t| t.id()).unwrap_or_default().to_owned(),
            port: d.target().and_then(|t| t.port()),
            healthy: d.target_health().and_then(|h| h.state())
                == Some(&aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum::Healthy),
        })
        .collect())
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

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::{Call, Fault, InjectedError, MockAccount};
    use crate::wait::Waits;

    const ACCOUNT: &str = "111122223333";

    /// The default account with `n` more services like `web` (`svc-00`, ...), none of whose
    /// tasks run yet.
    fn account_with(n: usize) -> MockAccount {
        let account = MockAccount::default_scenario();
        account.edit(|st| {
            let web = st.services["web"].clone();
            for i in 0..n {
                let name = format!("svc-{i:02}");
                let mut s = web.clone();
                s.arn = s.arn.map(|a| a.replace("/web", &format!("/{name}")));
                s.name = name.clone();
                s.running_count = 0;
                st.services.insert(name, s);
            }
        });
        account
    }

    fn shared() -> Waits {
        Waits { shared: Some(SharedWaits::new().in_account(Some(ACCOUNT))), ..Waits::default() }
    }

    /// Starts the tasks of each `(service, after)` that long from now, behind the library's
    /// back, as ECS would.
    async fn start_tasks(account: &MockAccount, at: Vec<(String, Duration)>) {
        let start = Instant::now();
        let mut at = at;
        at.sort_by_key(|(_, d)| *d);
        for (name, d) in at {
            tokio::time::sleep_until(start + d).await;
            account.edit(|st| {
                let s = st.services.get_mut(&name).expect("service");
                s.running_count = s.desired_count;
            });
        }
    }

    /// Each service waited for to run its tasks from `starts` (after that long), with `waits`:
    /// when each wait returned, from the start.
    async fn wait_running(account: &MockAccount, waits: &Waits, starts: &[(String, Duration)]) -> Vec<Duration> {
        let aws = account.clients();
        let t0 = Instant::now();
        let waiters = starts.iter().map(|(name, after)| {
            let (aws, waits) = (&aws, waits);
            async move {
                tokio::time::sleep(*after).await;
                crate::steps::ecs_service::wait_running(aws, "prod", name, waits).await.expect("running");
                t0.elapsed()
            }
        });
        futures::future::join_all(waiters).await
    }

    fn describe_services(account: &MockAccount) -> Vec<Call> {
        account.calls().into_iter().filter(|c| c.operation == "DescribeServices").collect()
    }

    /// Calls by the instant they were made.
    fn rounds(calls: &[Call]) -> BTreeMap<Duration, Vec<&Call>> {
        let mut out: BTreeMap<Duration, Vec<&Call>> = BTreeMap::new();
        for c in calls {
            out.entry(c.at).or_default().push(c);
        }
        out
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("svc-{i:02}")).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn services_waiting_together_share_describe_services_ten_a_call() {
        const N: usize = 25;
        let ready: Vec<(String, Duration)> = names(N).into_iter().map(|n| (n, Duration::from_secs(95))).collect();
        let starts: Vec<(String, Duration)> = names(N).into_iter().map(|n| (n, Duration::ZERO)).collect();

        let (solo, sharing) = (Waits::default(), shared());
        let alone = account_with(N);
        let (_, done_alone) = tokio::join!(start_tasks(&alone, ready.clone()), wait_running(&alone, &solo, &starts));
        let together = account_with(N);
        let (_, done_together) = tokio::join!(start_tasks(&together, ready), wait_running(&together, &sharing, &starts));

        assert_eq!(done_together, done_alone, "sharing polls slows no wait");
        let (solo_calls, shared_calls) = (describe_services(&alone), describe_services(&together));
        let polls = rounds(&solo_calls).len();
        assert_eq!(solo_calls.len(), N * polls, "alone: one call per service per poll");
        let shared_rounds = rounds(&shared_calls);
        assert_eq!(shared_rounds.len(), polls, "the same poll rounds");
        for (at, calls) in &shared_rounds {
            assert_eq!(calls.len(), N.div_ceil(DESCRIBE_SERVICES_MAX), "at {at:?}: {calls:#?}");
            let named: usize = calls.iter().map(|c| c.input.matches("\"svc-").count()).sum();
            assert_eq!(named, N, "at {at:?}: every waiting service once");
            assert!(calls.iter().all(|c| c.input.matches("\"svc-").count() <= DESCRIBE_SERVICES_MAX));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_service_does_not_delay_a_fast_one() {
        // Eleven services wait long; a twelfth starts its wait later and is ready soon.
        let slow = names(11);
        let mut starts: Vec<(String, Duration)> = slow.iter().map(|n| (n.clone(), Duration::ZERO)).collect();
        starts.push(("svc-11".into(), Duration::from_secs(200)));
        let mut ready: Vec<(String, Duration)> = slow.iter().map(|n| (n.clone(), Duration::from_secs(900))).collect();
        ready.push(("svc-11".into(), Duration::from_secs(230)));

        let (solo, sharing) = (Waits::default(), shared());
        let alone = account_with(12);
        let (_, done_alone) = tokio::join!(start_tasks(&alone, ready.clone()), wait_running(&alone, &solo, &starts));
        let together = account_with(12);
        let (_, done_together) = tokio::join!(start_tasks(&together, ready), wait_running(&together, &sharing, &starts));

        assert_eq!(done_together[11], done_alone[11], "the fast one is done when it would be alone");
        assert!(done_together[11] < Duration::from_secs(240), "{done_together:?}");
        let cadence = WaitPolicy::AWS.max_delay;
        for (i, (t, a)) in done_together.iter().zip(&done_alone).enumerate().take(11) {
            assert!(*t <= *a + cadence && *t >= Duration::from_secs(900), "slow {i}: {t:?}, alone {a:?}");
        }
        // While the fast one waits, its polls carry the others: no call besides its own.
        let fast_polls = describe_services(&alone).iter().filter(|c| c.input.contains("\"svc-11\"")).count();
        let window = |c: &&Call| c.at >= Duration::from_secs(200) && c.at <= done_together[11];
        let shared = describe_services(&together);
        assert_eq!(shared.iter().filter(window).count(), fast_polls, "{:#?}", shared.iter().filter(window).collect::<Vec<_>>());
        assert!(shared.len() * 4 < describe_services(&alone).len(), "{} shared calls, {} alone", shared.len(), describe_services(&alone).len());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_batch_fails_its_sender_and_the_others_poll_on_their_own() {
        let account = account_with(3);
        account.inject(Fault::nth_call("DescribeServices", 1, InjectedError::aws("AccessDeniedException", "denied")));
        let aws = account.clients();
        let waits = shared();
        let ready: Vec<(String, Duration)> = names(3).into_iter().map(|n| (n, Duration::from_secs(10))).collect();
        let waiters = names(3).into_iter().map(|name| {
            let (aws, waits) = (&aws, &waits);
            async move { crate::steps::ecs_service::wait_running(aws, "prod", &name, waits).await.map(|_| ()) }
        });
        let (_, results) = tokio::join!(start_tasks(&account, ready), futures::future::join_all(waiters));
        let failed: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
        assert_eq!(failed.len(), 1, "{results:?}");
        assert!(failed[0].as_ref().unwrap_err().to_string().contains("denied"), "{failed:?}");
        let calls = describe_services(&account);
        assert!(calls[1..].iter().all(|c| c.fault.is_none()) && calls.len() > 2, "{calls:#?}");
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_on_one_target_group_share_describe_target_health() {
        let account = account_with(3);
        account.edit(|st| {
            for n in names(3) {
                let s = st.services.get_mut(&n).expect("service");
                s.running_count = s.desired_count;
                st.healthy_at.insert(n, Instant::now() + Duration::from_secs(40));
            }
        });
        let aws = account.clients();
        let waits = shared();
        let state = account.state();
        let t0 = Instant::now();
        let waiters = names(3).into_iter().map(|name| {
            let (aws, waits, def) = (&aws, &waits, state.services[&name].clone());
            async move {
                crate::steps::ecs_service::wait_healthy(aws, "prod", &def, &name, waits).await.expect("healthy");
                t0.elapsed()
            }
        });
        let done = futures::future::join_all(waiters).await;
        assert!(done.iter().all(|d| *d >= Duration::from_secs(40) && *d <= Duration::from_secs(40) + WaitPolicy::AWS.max_delay), "{done:?}");
        let health: Vec<Call> = account.calls().into_iter().filter(|c| c.operation == "DescribeTargetHealth").collect();
        let per_round = rounds(&health);
        assert!(per_round.values().all(|calls| calls.len() == 1), "one call per target group per round: {health:#?}");
        let list_tasks = account.calls().iter().filter(|c| c.operation == "ListTasks").count();
        assert_eq!(list_tasks, 3 * per_round.len(), "each waiter reads its own tasks each round");
    }
}
