//! What the simulator's theory tests share: batch means over a record's
//! windows and the Erlang C formula.

#![allow(dead_code)]

use std::path::Path;

use lab_core::record::Window;
use lab_core::{Record, scenario};

/// Mean and standard error of a per-window statistic over measured windows.
pub fn batch_means(r: &Record, stat: impl Fn(&Window) -> Option<f64>) -> (f64, f64) {
    let xs: Vec<f64> = r
        .windows
        .iter()
        .filter(|w| w.start >= r.meta.warmup && w.len == r.meta.window)
        .filter_map(stat)
        .collect();
    let n = xs.len() as f64;
    assert!(n >= 30.0, "need enough batches, got {n}");
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue
/// offered `a` = λ/μ.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / f64::from(c);
    let (mut term, mut sum) = (1.0, 0.0);
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let last = term * a / f64::from(c) / (1.0 - rho);
    last / (sum + last)
}

/// Era `era` of the scenario `text`, simulated.
pub fn run_era(text: &str, era: usize) -> Record {
    let s = scenario::parse(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    lab_sim::run(&s, &s.eras[era], &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"))
        .record
}

/// The scenario's first era, simulated.
pub fn run(text: &str) -> Record {
    run_era(text, 0)
}

/// A batch-means estimate within five standard errors of theory, with
/// enough batches for the standard error to mean something.
#[track_caller]
pub fn check(what: &str, (mean, se): (f64, f64), theory: f64) {
    println!("{what}: simulated {mean:.6} ± {se:.6}, theory {theory:.6}");
    assert!(se / theory < 0.03, "{what}: too few samples (se {se})");
    assert!(
        (mean - theory).abs() < 5.0 * se,
        "{what}: {mean} is {:.1} standard errors from {theory}",
        (mean - theory).abs() / se
    );
}
