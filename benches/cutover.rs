//! The service cutover of each strategy under a scripted delay model of ECS, on the test kit with
//! tokio's paused clock: how long the migration takes in (virtual) time, and how late each wait
//! noticed its condition (a task set running, targets healthy, a service INACTIVE).
//!
//! `cargo bench --bench cutover` prints one table row per strategy and delay model. The waits
//! use `WaitPolicy::AWS` (first poll after 1 s, then a fifth of the time waited, at most every
//! 15 s), as against a real account. Each row is 15 runs whose task start time is shifted by
//! 0..14 s, so the conditions fall at every phase of the poll schedule; times are means over the
//! runs, lags over every wait of every run.
//!
//! "floor" is the sum of the ECS delays on the strategy's path that no tool can skip: for each
//! service started, its tasks starting and (parallel strategies) its targets passing health
//! checks; for each service deleted before the next step, its drain. "ratio" is the migration
//! time over the floor.
//!
//! The `ecs-native (in place)` rows are the rolling → ECS-native blue/green migration: no
//! service is created or deleted; its floor is the one rolling deployment that adds the advanced
//! configuration (new tasks start and pass health checks, the old ones drain).

use std::time::{Duration, Instant as WallInstant};

use ecs_bluegreen::spec::{Port, ServiceCutover, ServiceName, Target};
use ecs_bluegreen::testing::{EcsTiming, MockAccount, Scenario};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, InMemoryJournal, Migration, Outcome};

struct Row {
    model: &'static str,
    total: Duration,
    lags: Vec<Duration>,
    calls: usize,
    mutating: usize,
    wall: Duration,
}

/// The delays no tool can skip on the path of `cutover` (`None`: the ECS-native migration in place).
fn floor(cutover: &Option<ServiceCutover>, t: &EcsTiming) -> Duration {
    let Some(cutover) = cutover else {
        // One rolling deployment: new tasks up and healthy, the old ones drained.
        return t.tasks_start + t.health_checks + t.drain;
    };
    match cutover {
        // Bridge up and healthy, original drained; recreated up and healthy, bridge drained.
        ServiceCutover::ParallelKeepName => 2 * (t.tasks_start + t.health_checks + t.drain),
        ServiceCutover::Parallel { .. } => t.tasks_start + t.health_checks + t.drain,
        // Original drained, then the new tasks start (nobody waits for health: downtime).
        _ => t.drain + t.tasks_start,
    }
}

fn run(_strategy: &'static str, cutover: Option<ServiceCutover>, model: &'static str, timing: EcsTiming) -> Row {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    rt.block_on(async move {
        let wall = WallInstant::now();
        let account = MockAccount::new(Scenario::default().ecs_timing(timing));
        let aws = account.clients();
        let builder = Migration::for_service("prod", "web").unwrap().test_listener_port(Port::new(8080).unwrap());
        let migration = match cutover {
            Some(c) => builder.cutover(c).build(),
            None => builder.target(Target::EcsNative).build(),
        };
        let start = tokio::time::Instant::now();
        let plan = migration.plan(&aws).await.unwrap();
        let opts = ApplyOptions::new().service_wait(WaitPolicy::AWS).iam_propagation(WaitPolicy::IAM_PROPAGATION);
        assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap(), Outcome::Applied);
        let total = start.elapsed();
        let st = account.state();
        Row {
            model,
            total,
            lags: st.transitions.iter().filter_map(|t| t.lag()).collect(),
            calls: st.calls.len(),
            mutating: st.calls.iter().filter(|c| c.mutating).count(),
            wall: wall.elapsed(),
        }
    })
}

fn main() {
    let s = Duration::from_secs;
    let models = [
        ("fast (10s start, 10s health, 5s drain)", EcsTiming::new(s(10), s(5)).with_health_checks(s(10))),
        ("typical (45s start, 30s health, 30s drain)", EcsTiming::new(s(45), s(30)).with_health_checks(s(30))),
        ("slow (120s start, 90s health, 300s drain)", EcsTiming::new(s(120), s(300)).with_health_checks(s(90))),
    ];
    let strategies = || {
        [
            ("parallel-keep-name", Some(ServiceCutover::ParallelKeepName)),
            ("parallel", Some(ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() })),
            ("recreate", Some(ServiceCutover::Recreate)),
            ("ecs-native (in place)", None),
        ]
    };
    println!("| strategy | ECS delay model | migration time | floor | ratio | waits | lag max | lag mean | calls (mutating) | wall |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    const SHIFTS: u64 = 15;
    for (model, timing) in models {
        for (name, cutover) in strategies() {
            let runs: Vec<(Row, Duration)> = (0..SHIFTS)
                .map(|k| {
                    let mut t = timing;
                    t.tasks_start += s(k);
                    (run(name, cutover.clone(), model, t), floor(&cutover, &t))
                })
                .collect();
            let floor_mean = runs.iter().map(|(_, f)| f.as_secs_f64()).sum::<f64>() / runs.len() as f64;
            let rows: Vec<Row> = runs.into_iter().map(|(r, _)| r).collect();
            let lags: Vec<Duration> = rows.iter().flat_map(|r| r.lags.iter().copied()).collect();
            let max = lags.iter().max().copied().unwrap_or_default();
            let mean = if lags.is_empty() { Duration::ZERO } else { lags.iter().sum::<Duration>() / lags.len() as u32 };
            let mean_of = |f: &dyn Fn(&Row) -> f64| rows.iter().map(f).sum::<f64>() / rows.len() as f64;
            let total = mean_of(&|r| r.total.as_secs_f64());
            println!(
                "| {} | {} | {:.0} s | {:.0} s | {:.3} | {} | {:.1} s | {:.1} s | {:.0} ({}) | {:.1} ms |",
                name,
                rows[0].model,
                total,
                floor_mean,
                total / floor_mean,
                rows[0].lags.len(),
                max.as_secs_f64(),
                mean.as_secs_f64(),
                mean_of(&|r| r.calls as f64),
                rows[0].mutating,
                mean_of(&|r| r.wall.as_secs_f64() * 1000.0),
            );
        }
    }
}
