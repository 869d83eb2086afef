//! Engine speed: events per second on M/M/4 at ρ = 0.9 (scenarios/theory/mm4.toml
//! cut to ten minutes of virtual time, ~216,000 customers, ~432,000 events).
//!
//!     cargo bench --bench engine

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn mmc(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/theory/mm4.toml");
    let mut s = lab_core::scenario::load(&path).unwrap();
    s.duration = 600_000_000_000;
    let era = s.eras[0].clone();
    let events = lab_sim::run(&s, &era, &mut |_| {}).unwrap().events;
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(events));
    g.sample_size(20);
    g.bench_function("mm4_rho0.9_events", |b| {
        b.iter(|| lab_sim::run(&s, &era, &mut |_| {}).unwrap().events)
    });
    g.finish();
}

criterion_group!(benches, mmc);
criterion_main!(benches);
