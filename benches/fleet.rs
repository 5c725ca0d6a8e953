//! Fleets: 1, 10 and 50 services migrated (rolling → CodeDeploy blue/green) at concurrency 1, 4
//! and 16, planned and applied with [`ecs_bluegreen::fleet`], on the test kit under an ECS delay
//! model (tokio's paused clock: virtual time) and, when a moto server is reachable, on moto.
//!
//! `cargo bench --bench fleet` prints one table row per place, fleet size and concurrency: the
//! time from the fleet's plan to the end of its apply, its ratio to one service's time on the
//! same place, every AWS call the fleet made and the calls per service. On the kit the time is
//! virtual (what the waits cost against ECS's delays, the "typical" model of `benches/cutover.rs`:
//! tasks start in 45 s, pass health checks in 30 s, drain in 30 s; waits `WaitPolicy::AWS`); the
//! wall column is what computing it took. Each service is in a mock account of its own
//! ([`FleetScenario::spread`]: two load balancers).
//!
//! The moto part runs when `MOTO_ENDPOINT` is set or `scripts/moto status` finds the server of
//! `scripts/moto start`; it is skipped otherwise (and with `FLEET_BENCH_MOTO=0`). Every fleet is
//! seeded into a fresh moto account (not timed): `web` with its pipeline, the others as
//! `svc-NN` behind `web-alb` and a second ALB in turn. moto answers at once, so waits poll fast
//! (`WaitPolicy::FAST`) and its time is the tool's own work plus moto's. It is bounded by
//! `FLEET_BENCH_MOTO_BUDGET` seconds (default 900): the sizes left when it runs out are listed
//! as skipped.
//!
//! Under `cargo test` (no `--bench` argument) it runs a smoke-sized kit table only (1 and 3
//! services) so that `cargo test --all-targets` stays quick.

#[path = "../tests/common/fixture.rs"]
mod fixture;

#[path = "../tests/common/account_header.rs"]
mod account_header;

use std::time::{Duration, Instant as WallInstant};

use ecs_bluegreen::fleet::{self, FleetOptions, Member, OnFailure, ServiceOutcome};
use ecs_bluegreen::spec::{PipelineDeployStage, PipelineName, Port};
use ecs_bluegreen::testing::{EcsTiming, FleetScenario};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, CallRecorder, InMemoryJournal, Migration};

/// One fleet run.
struct Row {
    place: &'static str,
    services: usize,
    concurrency: usize,
    /// Plan start to apply end: virtual on the kit, wall on moto.
    time: Duration,
    wall: Duration,
    calls: usize,
    /// Calls per operation, most called first.
    operations: Vec<(String, usize)>,
}

/// Calls per operation, most called first.
fn by_operation(operations: impl IntoIterator<Item = String>) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for op in operations {
        *counts.entry(op).or_default() += 1;
    }
    let mut out: Vec<_> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Panics unless every service applied: a benchmark of failing runs measures nothing.
fn assert_applied(report: &fleet::FleetReport, context: &str) {
    let bad: Vec<_> = report.services.iter().filter(|s| s.outcome != ServiceOutcome::Applied).collect();
    assert!(bad.is_empty(), "{context}: not every service applied:\n{report}");
}

fn on_kit(services: usize, concurrency: usize) -> Row {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    rt.block_on(async move {
        let wall = WallInstant::now();
        let s = Duration::from_secs;
        let typical = EcsTiming::new(s(45), s(30)).with_health_checks(s(30));
        let fleet = FleetScenario::spread(services, 2).each(|sc| sc.ecs_timing(typical)).build();
        let options = ApplyOptions::new().service_wait(WaitPolicy::AWS).iam_propagation(WaitPolicy::IAM_PROPAGATION);
        let members = fleet.members(&options);
        let start = tokio::time::Instant::now();
        let plans = fleet::plan(&members, concurrency).await.expect("the fleet plans");
        let report = fleet::apply(&members, &plans, &FleetOptions::new(concurrency, OnFailure::Stop)).await;
        let time = start.elapsed();
        assert_applied(&report, &format!("kit, {services} services at {concurrency}"));
        let operations = by_operation(fleet.accounts().flat_map(|a| a.operations()));
        Row { place: "kit (virtual time)", services, concurrency, time, wall: wall.elapsed(), calls: fleet.call_count(), operations }
    })
}

/// The endpoint of a reachable moto server, if any (never starts one).
fn moto_endpoint() -> Option<String> {
    if std::env::var("FLEET_BENCH_MOTO").is_ok_and(|v| v == "0") {
        return None;
    }
    if let Ok(e) = std::env::var("MOTO_ENDPOINT")
        && !e.is_empty()
    {
        return Some(e);
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/moto");
    let out = std::process::Command::new(script).arg("status").stderr(std::process::Stdio::null()).output().ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    out.status.success().then(|| stdout.lines().find_map(|l| l.trim().strip_prefix("MOTO_ENDPOINT=").map(str::to_owned)))?
}

/// Clients acting in `account` on the moto server at `endpoint`, recording into `recorders`.
fn moto_clients(endpoint: &str, account: &str, recorders: &[&CallRecorder]) -> AwsClients {
    use aws_types::sdk_config::SharedCredentialsProvider;
    let config = aws_types::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(fixture::REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(aws_sdk_ecs::config::Credentials::new("test", "test", None, None, "moto")))
        .build();
    let mut b = AwsClients::builder(&config).interceptor(account_header::AccountHeader(account.to_owned()));
    for r in recorders {
        b = b.interceptor((*r).clone());
    }
    b.build()
}

/// A fresh moto account id (12 digits) for run `n`.
fn fresh_account(n: usize) -> String {
    let micros = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
    format!("7{:05}{:06}", std::process::id() % 100_000, (micros / 1000 + n as u64) % 1_000_000)
}

async fn on_moto(endpoint: &str, services: usize, concurrency: usize, run: usize) -> Row {
    let account = fresh_account(run);
    let seeding = moto_clients(endpoint, &account, &[]);
    let f = fixture::seed_rolling_account(&seeding, endpoint, &account).await;
    let mut names = vec![f.service_name.clone()];
    let mut second_lb: Option<String> = None;
    for i in 1..services {
        let name = format!("svc-{i:02}");
        // Every other service behind web-alb, the rest behind a second ALB; one listener each.
        let lb = if i % 2 == 1 { Some(f.load_balancer_arn.clone()) } else { second_lb.clone() };
        let arn = fixture::seed_extra_service(&seeding, &f, &name, lb.as_deref(), 100 + i as i32).await;
        second_lb.get_or_insert(arn);
        names.push(name);
    }
    let recorder = CallRecorder::new();
    let fast = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    let members: Vec<Member> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let own = CallRecorder::new();
            let base = Migration::for_service("prod", name.as_str()).unwrap().test_listener_port(Port::new(8000 + i as u16).unwrap());
            let migration = if *name == f.service_name {
                base.pipeline(PipelineDeployStage::named(PipelineName::new(f.pipeline_name.as_str()).unwrap())).build()
            } else {
                base.build()
            };
            let clients = moto_clients(endpoint, &account, &[&recorder, &own]);
            Member::new(migration, clients, std::sync::Arc::new(InMemoryJournal::new())).recorder(own).options(fast.clone())
        })
        .collect();
    let wall = WallInstant::now();
    let plans = fleet::plan(&members, concurrency).await.expect("the fleet plans on moto");
    let report = fleet::apply(&members, &plans, &FleetOptions::new(concurrency, OnFailure::Stop)).await;
    let time = wall.elapsed();
    assert_applied(&report, &format!("moto, {services} services at {concurrency}"));
    let calls = recorder.calls();
    let operations = by_operation(calls.iter().map(|c| c.operation.clone()));
    Row { place: "moto (wall time)", services, concurrency, time, wall: time, calls: calls.len(), operations }
}

fn print(rows: &[Row]) {
    println!("| place | services | concurrency | time | ratio to one service | AWS calls | calls per service | wall |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        let one = rows.iter().find(|o| o.place == r.place && o.services == 1 && o.concurrency == r.concurrency);
        let ratio = one.map_or("-".to_owned(), |o| format!("{:.2}", r.time.as_secs_f64() / o.time.as_secs_f64()));
        println!(
            "| {} | {} | {} | {:.0} s | {} | {} | {:.1} | {:.2} s |",
            r.place,
            r.services,
            r.concurrency,
            r.time.as_secs_f64(),
            ratio,
            r.calls,
            r.calls as f64 / r.services as f64,
            r.wall.as_secs_f64(),
        );
    }
    // Where the calls go: the most called operations per service, for the smallest and the
    // largest fleet at the highest concurrency.
    let Some(top) = rows.iter().map(|r| r.concurrency).max() else { return };
    println!();
    for r in rows.iter().filter(|r| r.concurrency == top) {
        let per_service: Vec<String> =
            r.operations.iter().take(6).map(|(op, n)| format!("{op} {:.1}", *n as f64 / r.services as f64)).collect();
        println!("{} services at {}: calls per service by operation: {}", r.services, r.concurrency, per_service.join(", "));
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: a smoke run then.
    let full = std::env::args().any(|a| a == "--bench");
    let (sizes, concurrencies): (&[usize], &[usize]) = if full { (&[1, 10, 50], &[1, 4, 16]) } else { (&[1, 3], &[1, 2]) };
    let mut rows = Vec::new();
    for &c in concurrencies {
        for &n in sizes {
            rows.push(on_kit(n, c));
        }
    }
    print(&rows);
    if !full {
        return;
    }
    let Some(endpoint) = moto_endpoint() else {
        println!("\nmoto: no server reachable (set MOTO_ENDPOINT or run `scripts/moto start`): skipped");
        return;
    };
    let budget = Duration::from_secs(std::env::var("FLEET_BENCH_MOTO_BUDGET").ok().and_then(|v| v.parse().ok()).unwrap_or(900));
    let started = WallInstant::now();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut moto_rows = Vec::new();
    let mut skipped = Vec::new();
    for &c in concurrencies {
        for &n in sizes {
            if started.elapsed() > budget {
                skipped.push(format!("{n} at {c}"));
                continue;
            }
            moto_rows.push(rt.block_on(on_moto(&endpoint, n, c, moto_rows.len())));
        }
    }
    println!("\nmoto at {endpoint}:");
    print(&moto_rows);
    if !skipped.is_empty() {
        println!("skipped (budget of {} s spent): {}", budget.as_secs(), skipped.join(", "));
    }
}
