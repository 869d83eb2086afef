//! scenarios/flash-sale.toml end to end: both eras simulated (in parallel, as
//! `lab run` does) and the full report written to a temporary folder.
//!
//!     cargo bench --bench flash_sale

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use rayon::prelude::*;

fn flash_sale(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/flash-sale.toml");
    let s = lab_core::scenario::load(&path).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("flash_sale");
    g.sample_size(10);
    g.bench_function("simulate_both_eras", |b| {
        b.iter(|| {
            s.eras
                .par_iter()
                .map(|e| lab_sim::run(&s, e, &mut |_| {}).unwrap().record)
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("simulate_and_report", |b| {
        b.iter(|| {
            let records: Vec<_> = s
                .eras
                .par_iter()
                .map(|e| lab_sim::run(&s, e, &mut |_| {}).unwrap().record)
                .collect();
            lab_reports::write(&s, &records, out.path()).unwrap().files.len()
        })
    });
    g.finish();
}

criterion_group!(benches, flash_sale);
criterion_main!(benches);
