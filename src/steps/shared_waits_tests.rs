//! Shared waits ([`crate::wait::shared`]) on the test kit, in virtual time: the waits of many
//! services poll together, ten a DescribeServices call, one DescribeTargetHealth a target
//! group, and no wait ends later for it.
use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::testing::{Call, Fault, InjectedError, MockAccount};
use crate::wait::shared::{DESCRIBE_SERVICES_MAX, SharedWaits};
use crate::wait::{WaitPolicy, Waits};

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

