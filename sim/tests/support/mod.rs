//! What the simulator's theory tests share: batch means over a record's
//! windows and the Erlang C formula.

#![allow(dead_code)]

use lab_core::Record;
use lab_core::record::Window;

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
