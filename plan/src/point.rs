//! One point of a plan: an era at one load, run with the plan's seeds
//! (the same at every point and in every configuration: common random
//! numbers, so that two points differ by their load and not by their luck).

use lab_core::Record;
use lab_core::record::{GaugeKind, Verdict};
use lab_core::scenario::{Era, Scenario};
use lab_reports::bottleneck;
use lab_reports::replications::{Replica, seed, t975};
use rayon::prelude::*;
use serde::Serialize;

use crate::PlanError;
use crate::load::Load;

/// An SLO load past which a run counts as this far off: a run with no
/// successful response is infinitely far, and a mean needs a number.
pub const SLO_LOAD_CAP: f64 = 100.0;

/// A figure over the replications: its typical value and 95 % interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// The mean and its Student-t interval.
    pub fn of(v: &[f64]) -> Interval {
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n.max(1) as f64;
        if n < 2 {
            return Interval {
                mean,
                low: mean,
                high: mean,
            };
        }
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let h = t975(n - 1) * (var / n as f64).sqrt();
        Interval {
            mean,
            low: mean - h,
            high: mean + h,
        }
    }

    /// The geometric mean and its interval: the Student-t interval of the
    /// logarithms, taken back. For a figure that is a ratio and skewed
    /// (one seed's p99 at five times the others' near a saturation), the
    /// mean of the logarithms is the typical run, where one outlier would
    /// drag the plain mean and widen its interval. Values are floored at
    /// [`SLO_LOAD_FLOOR`] (a run with nothing to judge is not infinitely
    /// far below its SLO).
    pub fn geometric(v: &[f64]) -> Interval {
        let logs: Vec<f64> = v.iter().map(|x| x.max(SLO_LOAD_FLOOR).ln()).collect();
        let i = Interval::of(&logs);
        Interval {
            mean: i.mean.exp(),
            low: i.low.exp(),
            high: i.high.exp(),
        }
    }
}

/// The least SLO load a run counts as: a thousandth of the SLO.
pub const SLO_LOAD_FLOOR: f64 = 1e-3;

/// How busy one resource was in the busiest phase: its mean use over its
/// capacity, averaged over the replications. Like hosts (the web nodes)
/// count as one resource at the busiest one's use.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Utilisation {
    /// The gauge (or gauge group) key: `db.cpu`, `fpm.busy`, `web.cpu`.
    pub key: String,
    pub label: String,
    pub value: f64,
}

/// What saturated first in the busiest phase, in replication 0.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bottleneck {
    /// The gauge that showed it (`db.cpu`, `mysql.lock_waiters`, …).
    pub gauge: String,
    /// In words: `db CPU at 100 %`.
    pub what: String,
}

/// An era at one multiplier of the traffic.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    pub multiplier: f64,
    /// The peak arrival rate (open model) or the users (closed).
    pub offered: f64,
    /// How close the replications came to the SLO: each one's largest
    /// figure over its bound (capped at [`SLO_LOAD_CAP`]; at most 1
    /// passes), their geometric mean and its 95 % interval.
    pub slo_load: Interval,
    /// Replications that met the whole SLO.
    pub passed: u32,
    pub replications: u32,
    pub throughput_rps: f64,
    /// Means over the replications that had successful responses.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub error_rate: Option<f64>,
    pub utilisation: Vec<Utilisation>,
    /// The bottleneck in the busiest phase; `None` when nothing saturated.
    pub bottleneck: Option<Bottleneck>,
    /// The bottleneck pass's sentence for that phase.
    pub sentence: String,
    /// Requests simulated over all replications.
    pub requests: u64,
}

impl Point {
    /// The SLO holds at this point: the geometric mean of its SLO loads is
    /// at most 1 (the typical seed meets it).
    pub fn holds(&self) -> bool {
        self.slo_load.mean <= 1.0
    }

    /// Every replication met the SLO: what a configuration must do to meet
    /// a target (as `lab run --replications N --check-slo` asks).
    pub fn all_passed(&self) -> bool {
        self.passed == self.replications
    }

    pub fn utilisation_of(&self, key: &str) -> Option<f64> {
        self.utilisation.iter().find(|u| u.key == key).map(|u| u.value)
    }
}

/// What one replication leaves.
struct Run {
    slo_load: f64,
    pass: bool,
    replica: Replica,
    utilisation: Vec<Utilisation>,
    bottleneck: Option<(Option<Bottleneck>, String)>,
    requests: u64,
}

/// Runs `era` at `multiplier` times the load with `replications` seeds
/// (the scenario's and the next ones), in parallel.
pub fn evaluate(load: &Load, era: &Era, multiplier: f64, replications: u32) -> Result<Point, PlanError> {
    let scenario = load.at(multiplier);
    let runs: Vec<Run> = (0..replications)
        .into_par_iter()
        .map(|k| {
            let mut s = scenario.clone();
            s.seed = seed(scenario.seed, k);
            let run = lab_sim::run(&s, era, &mut |_| {}).map_err(|e| PlanError::Simulation {
                era: era.label.clone(),
                multiplier,
                seed: s.seed,
                message: e.to_string(),
            })?;
            Ok(one(&s, load, &run.record, k == 0))
        })
        .collect::<Result<_, PlanError>>()?;
    let n = runs.len().max(1) as f64;
    let mean_of = |f: &dyn Fn(&Run) -> Option<f64>| {
        let v: Vec<f64> = runs.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let mut utilisation = runs[0].utilisation.clone();
    for u in &mut utilisation {
        u.value = runs
            .iter()
            .filter_map(|r| r.utilisation.iter().find(|x| x.key == u.key))
            .map(|x| x.value)
            .sum::<f64>()
            / n;
    }
    let (bottleneck, sentence) = runs[0].bottleneck.clone().unwrap_or_default();
    Ok(Point {
        multiplier,
        offered: load.offered(multiplier),
        slo_load: Interval::geometric(&runs.iter().map(|r| r.slo_load).collect::<Vec<_>>()),
        passed: runs.iter().filter(|r| r.pass).count() as u32,
        replications,
        throughput_rps: runs.iter().map(|r| r.replica.throughput).sum::<f64>() / n,
        p50_ms: mean_of(&|r| r.replica.latency.map(|l| l[1])),
        p99_ms: mean_of(&|r| r.replica.latency.map(|l| l[3])),
        error_rate: mean_of(&|r| r.replica.error_rate),
        utilisation,
        bottleneck,
        sentence,
        requests: runs.iter().map(|r| r.requests).sum(),
    })
}

fn one(s: &Scenario, load: &Load, r: &Record, first: bool) -> Run {
    let verdict = Verdict::judge(&s.slo, r);
    let windows: Vec<usize> = (0..r.windows.len())
        .filter(|&w| {
            let win = &r.windows[w];
            load.busiest.holds_window(win.start, win.len) && win.start >= r.meta.warmup
        })
        .collect();
    let bottleneck = first.then(|| {
        let b = bottleneck::find(r, &s.app, std::slice::from_ref(&load.busiest))
            .pop()
            .expect("one phase asked, one answered");
        let first = b.saturated.first().map(|f| Bottleneck {
            gauge: f.gauge.clone(),
            what: f.what.clone(),
        });
        (first, b.sentence)
    });
    Run {
        slo_load: verdict.load().min(SLO_LOAD_CAP),
        pass: verdict.pass(),
        replica: Replica::of(s, r),
        utilisation: utilisation(r, &windows),
        bottleneck,
        requests: r.windows.iter().map(|w| w.outcomes.total()).sum(),
    }
}

/// A gauge's key or label without its host's index: `web[1].cpu` is
/// `web.cpu`, `svc.catalog[0] CPU` is `svc.catalog CPU`.
pub fn role(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut skipping = false;
    for c in s.chars() {
        match c {
            '[' => skipping = true,
            ']' if skipping => skipping = false,
            _ if !skipping => out.push(c),
            _ => {}
        }
    }
    out
}

/// Each resource's mean use over its capacity in `windows`; a group's
/// members as one, at the busiest member's.
fn utilisation(r: &Record, windows: &[usize]) -> Vec<Utilisation> {
    let mut out: Vec<Utilisation> = Vec::new();
    for (g, spec) in r.gauges.iter().enumerate() {
        let Some(cap) = spec.capacity.filter(|c| *c > 0.0) else {
            continue;
        };
        let resource = match spec.kind {
            GaugeKind::Cpu | GaugeKind::Connections => true,
            GaugeKind::Workers => spec.key.ends_with("busy"),
            _ => false,
        };
        if !resource || windows.is_empty() {
            continue;
        }
        let value = windows.iter().map(|&w| r.gauge_in_window(g, w).mean).sum::<f64>() / windows.len() as f64 / cap;
        // Like hosts (`web[0]`, `web[1]`) are one resource, at the busiest.
        let (key, label) = (role(&spec.key), role(&spec.label));
        match out.iter_mut().find(|u| u.key == key) {
            Some(u) => u.value = u.value.max(value),
            None => out.push(Utilisation { key, label, value }),
        }
    }
    out
}
