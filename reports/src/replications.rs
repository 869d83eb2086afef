//! Replications: one scenario run with several seeds, each era with the
//! same seeds (common random numbers), summarised as means with 95 %
//! confidence intervals. One seed can pass an SLO that four others fail;
//! the interval says how much a figure owes to its seed.
//!
//! A [`Replica`] is what one run leaves once its record is dropped: the
//! whole-run figures and the p99 of each window, for the band chart. The
//! interval is Student's t over the replications' figures (each run is one
//! independent observation), so it is honest for any run length.

use lab_core::Record;
use lab_core::record::Verdict;
use lab_core::scenario::{Percentile, Scenario};
use serde::Serialize;

/// The seed of replication `k` (0-based): the scenario's, then the next
/// ones, so that replication 0 is the run without replications.
pub fn seed(base: u64, k: u32) -> u64 {
    base.wrapping_add(u64::from(k))
}

/// What one replication of one era leaves.
#[derive(Clone, Debug)]
pub struct Replica {
    pub seed: u64,
    pub throughput: f64,
    /// Mean, p50, p95, p99 of successful responses, in ms; `None` when
    /// nothing succeeded.
    pub latency: Option<[f64; 4]>,
    pub error_rate: Option<f64>,
    /// Whether the run met the whole SLO; `None` when the scenario has none.
    pub slo_pass: Option<bool>,
    /// The p99 of successful responses per window, in ms.
    pub window_p99: Vec<Option<f64>>,
}

impl Replica {
    pub fn of(scenario: &Scenario, r: &Record) -> Replica {
        let t = &r.totals;
        let ms = |v: u64| v as f64 / 1e6;
        let latency = t.latency.mean().map(|mean| {
            let p = |q| t.latency.percentile(q).map_or(0.0, ms);
            [mean / 1e6, p(Percentile::P50), p(Percentile::P95), p(Percentile::P99)]
        });
        Replica {
            seed: r.meta.seed,
            throughput: t.throughput(),
            latency,
            error_rate: t.outcomes.error_rate(),
            slo_pass: (!scenario.slo.is_empty()).then(|| Verdict::judge(&scenario.slo, r).pass()),
            window_p99: r
                .windows
                .iter()
                .map(|w| w.latency.percentile(Percentile::P99).map(ms))
                .collect(),
        }
    }
}

/// A figure over the replications.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// `throughput_rps`, `latency_mean_ms`, `p50_ms`, `p95_ms`, `p99_ms`,
    /// `error_rate`.
    pub name: &'static str,
    /// Replications that had the figure (a run without a success has no
    /// latency).
    pub n: usize,
    pub mean: f64,
    /// Half the width of the 95 % confidence interval of the mean; `null`
    /// with fewer than two replications.
    pub ci95: Option<f64>,
    /// The interval's ends, clipped to what the figure can be (no rate
    /// below 0, no error rate above 1); `null` with one replication.
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    pub min: f64,
    pub max: f64,
}

/// One era over its replications.
#[derive(Clone, Debug, Serialize)]
pub struct EraReplications {
    pub era: String,
    pub replications: usize,
    pub seeds: Vec<u64>,
    pub estimates: Vec<Estimate>,
    /// Replications whose run met the whole SLO; `None` without an SLO.
    pub slo_passed: Option<usize>,
    /// Per window: the lowest, mean and highest p99 over the replications
    /// that had one, in ms.
    #[serde(skip)]
    pub window_p99: Vec<Option<(f64, f64, f64)>>,
}

impl EraReplications {
    pub fn of(era: &str, reps: &[Replica]) -> EraReplications {
        let fig = |name, f: &dyn Fn(&Replica) -> Option<f64>| estimate(name, reps.iter().filter_map(f).collect());
        let lat = |i: usize| move |r: &Replica| r.latency.map(|l| l[i]);
        let estimates = vec![
            fig("throughput_rps", &|r| Some(r.throughput)),
            fig("latency_mean_ms", &lat(0)),
            fig("p50_ms", &lat(1)),
            fig("p95_ms", &lat(2)),
            fig("p99_ms", &lat(3)),
            fig("error_rate", &|r| r.error_rate).map(|e| e.clipped_to(1.0)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let windows = reps.iter().map(|r| r.window_p99.len()).max().unwrap_or(0);
        let window_p99 = (0..windows)
            .map(|w| {
                let v: Vec<f64> = reps
                    .iter()
                    .filter_map(|r| r.window_p99.get(w).copied().flatten())
                    .collect();
                (!v.is_empty()).then(|| {
                    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    (lo, v.iter().sum::<f64>() / v.len() as f64, hi)
                })
            })
            .collect();
        EraReplications {
            era: era.to_string(),
            replications: reps.len(),
            seeds: reps.iter().map(|r| r.seed).collect(),
            estimates,
            slo_passed: reps.iter().map(|r| r.slo_pass.map(usize::from)).sum::<Option<usize>>(),
            window_p99,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Estimate> {
        self.estimates.iter().find(|e| e.name == name)
    }
}

fn estimate(name: &'static str, v: Vec<f64>) -> Option<Estimate> {
    let n = v.len();
    if n == 0 {
        return None;
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    let ci95 = (n >= 2).then(|| {
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        t975(n - 1) * (var / n as f64).sqrt()
    });
    // Every figure here is a rate, a latency or a share: none is negative.
    Some(Estimate {
        name,
        n,
        mean,
        ci95,
        ci95_low: ci95.map(|c| (mean - c).max(0.0)),
        ci95_high: ci95.map(|c| mean + c),
        min: v.iter().copied().fold(f64::INFINITY, f64::min),
        max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

impl Estimate {
    fn clipped_to(mut self, most: f64) -> Estimate {
        self.ci95_high = self.ci95_high.map(|h| h.min(most));
        self
    }

    /// Whether the interval is `mean ± ci95` as it stands, unclipped.
    pub fn symmetric(&self) -> bool {
        match (self.ci95, self.ci95_low, self.ci95_high) {
            (Some(c), Some(lo), Some(hi)) => lo == self.mean - c && hi == self.mean + c,
            _ => true,
        }
    }
}

/// Student's t 0.975 quantile for `df` degrees of freedom (df ≥ 1).
pub fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => T[df - 1],
        // Beyond the table, the Cornish–Fisher expansion around the normal
        // quantile: within 1e-4 of the exact value from 30 degrees on.
        _ => {
            const Z: f64 = 1.959_963_985;
            let (z3, z5, z7, z9) = (Z.powi(3), Z.powi(5), Z.powi(7), Z.powi(9));
            let n = df as f64;
            Z + (z3 + Z) / (4.0 * n)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * Z) / (96.0 * n * n)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * Z) / (384.0 * n.powi(3))
                + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * Z) / (92160.0 * n.powi(4))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(throughput: f64, p99: f64, pass: bool) -> Replica {
        Replica {
            seed: 0,
            throughput,
            latency: Some([p99 / 2.0, p99 / 3.0, p99 / 1.5, p99]),
            error_rate: Some(0.0),
            slo_pass: Some(pass),
            window_p99: vec![Some(p99), None],
        }
    }

    #[test]
    fn the_interval_is_student_s_t_over_the_replications() {
        let reps = [rep(100.0, 10.0, true), rep(102.0, 20.0, false), rep(104.0, 30.0, true)];
        let e = EraReplications::of("stone", &reps);
        let t = e.get("throughput_rps").unwrap();
        // Mean 102, sd 2, n 3: 4.303 × 2 / √3.
        assert_eq!(t.mean, 102.0);
        assert!((t.ci95.unwrap() - 4.303 * 2.0 / 3f64.sqrt()).abs() < 1e-9);
        assert_eq!((t.min, t.max), (100.0, 104.0));
        assert_eq!(e.slo_passed, Some(2));
        assert_eq!(e.window_p99, [Some((10.0, 20.0, 30.0)), None]);
    }

    #[test]
    fn one_replication_has_no_interval_and_seeds_start_at_the_scenario_s() {
        let e = EraReplications::of("stone", &[rep(1.0, 1.0, true)]);
        assert_eq!(e.get("p99_ms").unwrap().ci95, None);
        assert_eq!(seed(7, 0), 7);
        assert_eq!(seed(u64::MAX, 1), 0);
        assert!(t975(1) > t975(10) && t975(10) > t975(1000));
    }

    #[test]
    fn beyond_the_table_the_quantile_keeps_falling_as_t_does() {
        // Exact values (R: qt(0.975, df)); a band's lower edge used to take
        // its upper edge's value, which made intervals too narrow.
        for (df, t) in [
            (31, 2.039_513),
            (40, 2.021_075),
            (60, 2.000_298),
            (120, 1.979_930),
            (1000, 1.962_339),
        ] {
            assert!((t975(df) - t).abs() < 1e-4, "df {df}: {} vs {t}", t975(df));
        }
        assert!(t975(30) > t975(31));
    }

    #[test]
    fn an_error_rate_s_interval_stays_between_0_and_1() {
        let mut reps = [rep(1.0, 1.0, true), rep(1.0, 1.0, true), rep(1.0, 1.0, true)];
        for (r, e) in reps.iter_mut().zip([0.0, 0.0, 0.03]) {
            r.error_rate = Some(e);
        }
        let e = EraReplications::of("stone", &reps);
        let err = e.get("error_rate").unwrap();
        assert_eq!(err.ci95_low, Some(0.0));
        assert!(err.ci95.unwrap() > err.mean && !err.symmetric());
        let mut all = reps.clone();
        all.iter_mut().for_each(|r| r.error_rate = Some(0.99));
        all[0].error_rate = Some(0.9);
        let e = EraReplications::of("stone", &all);
        assert_eq!(e.get("error_rate").unwrap().ci95_high, Some(1.0));
    }

    #[test]
    fn without_an_slo_no_replication_is_said_to_pass() {
        let mut r = rep(1.0, 1.0, true);
        r.slo_pass = None;
        assert_eq!(EraReplications::of("stone", &[r.clone(), r]).slo_passed, None);
    }
}
