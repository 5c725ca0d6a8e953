//! Plan computation (pure) for fleets of 1, 100 and 1000 services.
//!
//! `cargo bench --bench plan`; under `cargo test` each benchmark runs once as a smoke test.

#[path = "../tests/support/sample.rs"]
mod sample;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ecs_bluegreen::plan::plan;

fn fleet(n: usize) -> Vec<(ecs_bluegreen::Migration, ecs_bluegreen::Inventory)> {
    (0..n)
        .map(|i| {
            let mut inv = sample::inventory();
            let name = format!("web{i}");
            if let Some(s) = inv.service.as_mut() {
                s.name = name.clone();
            }
            let m = ecs_bluegreen::Migration::for_service("prod", &name)
                .unwrap()
                .test_listener_port(ecs_bluegreen::spec::Port::new(8080).unwrap())
                .build();
            (m, inv)
        })
        .collect()
}

fn bench_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    for n in [1usize, 100, 1000] {
        let services = fleet(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &services, |b, services| {
            b.iter(|| {
                for (m, inv) in services {
                    let p = plan(m, inv).expect("sample plans");
                    assert_eq!(p.changes.len(), 6);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
