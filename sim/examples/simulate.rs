//! Simulates every era of a scenario in parallel, as `lab run` does, without
//! writing a report; prints each era's events, time and a fingerprint of its
//! record. For timing the simulator alone and for checking that a change
//! leaves the records as they were:
//!
//!     cargo run --release -p lab-sim --example simulate -- scenarios/flash-sale.toml

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: simulate SCENARIO");
        std::process::exit(2);
    };
    let s = lab_core::scenario::load(Path::new(&path)).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1);
    });
    let started = Instant::now();
    let results: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = s
            .eras
            .iter()
            .map(|era| scope.spawn(|| (era.label.clone(), lab_sim::run(&s, era, &mut |_| {}))))
            .collect();
        runs.into_iter().map(|h| h.join().expect("an era's thread")).collect()
    });
    for (label, run) in results {
        match run {
            Ok(run) => {
                let mut h = DefaultHasher::new();
                format!("{:?}", run.record.windows).hash(&mut h);
                let t = &run.record.totals;
                println!(
                    "{label}: {} events, record {:016x}; outcomes {:?}, p50 {:?} p99 {:?} mean {:.0?} ns",
                    run.events,
                    h.finish(),
                    t.outcomes,
                    t.latency.quantile(0.5),
                    t.latency.quantile(0.99),
                    t.latency.mean()
                );
            }
            Err(e) => {
                eprintln!("{label}: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("{:.3} s", started.elapsed().as_secs_f64());
}
