//! Phases: named stretches of a run whose figures the report gives apart.
//! A whole-run p99 over a run with a two-minute spike describes a run that
//! never happened; the spike's own p99 is what a user asks about.
//!
//! A scenario names its phases (`[[phases]] name = "sale", from = "75s",
//! to = "165s"`), or they are derived from the rate profile: each stretch
//! where the rate holds, climbs or falls becomes `steady`, `ramp`, `peak`
//! (the highest steady rate, when the rate changes at all) or `decay`, so
//! that derived phases partition the run.

use super::Stats;
use super::traffic::{RateProfile, Workload};
use super::units::format_duration;

/// The most phases a run has, named or derived: each is a row of the
/// report's tables and a pass over the windows for its bottleneck.
pub const MAX_PHASES: usize = 64;

/// A stretch `[from, to)` of the run, in ns.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub name: String,
    pub from: u64,
    pub to: u64,
    /// Derived from the rate profile rather than named by the scenario.
    pub derived: bool,
}

impl Phase {
    /// Whether a window `[start, start + len)` counts in the phase: its
    /// middle is inside. Windows then belong to exactly one of phases that
    /// partition the run.
    pub fn holds_window(&self, start: u64, len: u64) -> bool {
        let mid = start + len / 2;
        self.from <= mid && mid < self.to
    }

    /// Why the phase would have no figures in a run of `duration` with
    /// these statistics windows: no window after the warm-up has its
    /// middle inside it. `None` when some window counts.
    pub fn unmeasured(&self, stats: &Stats, duration: u64) -> Option<String> {
        let counted = (0..duration.div_ceil(stats.window)).any(|k| {
            let start = k * stats.window;
            start >= stats.warmup && self.holds_window(start, stats.window.min(duration - start))
        });
        (!counted).then(|| {
            format!(
                "phase \"{}\" ({} to {}) holds no statistics window after the warm-up ({} windows, warm-up {}): make it longer than a window, or start it after the warm-up",
                self.name,
                format_duration(self.from),
                format_duration(self.to),
                format_duration(stats.window),
                format_duration(stats.warmup)
            )
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trend {
    Steady,
    Ramp,
    Decay,
}

/// The phases of a run of `duration` ns with this workload: one phase for
/// a constant rate or a closed model (`steady`; `ramp` or `decay` for a
/// profile that only climbs or falls), else one per stretch of the profile
/// where the rate holds, climbs or falls (steps are instants and belong to
/// no stretch). Consecutive stretches of one trend merge; a stretch shorter
/// than a statistics `window` joins the one before it (the first, the one
/// after), since no window could be given to it alone; a name that repeats
/// is numbered (`steady 2`). `peak` is a steady stretch at the profile's
/// highest rate within the run.
pub fn derive(workload: &Workload, duration: u64, window: u64) -> Vec<Phase> {
    let one = |name: &str| {
        vec![Phase {
            name: name.into(),
            from: 0,
            to: duration,
            derived: true,
        }]
    };
    let Workload::Open(profile) = workload else {
        return one("steady");
    };
    let stretches = fold_short(stretches(profile, duration), window);
    if let [only] = &stretches[..] {
        return one(match only.2 {
            Trend::Steady => "steady",
            Trend::Ramp => "ramp",
            Trend::Decay => "decay",
        });
    }
    if stretches.is_empty() {
        return one("steady");
    }
    // A sawtooth of thousands of points is no set of phases a reader can
    // follow: past the limit the run is one phase.
    if stretches.len() > MAX_PHASES {
        return one("run");
    }
    let highest = profile
        .points()
        .iter()
        .filter(|&&(t, _)| t < duration)
        .map(|&(_, r)| r)
        .chain(std::iter::once(profile.rate_at(duration.saturating_sub(1))))
        .fold(f64::NEG_INFINITY, f64::max);
    let mut phases: Vec<Phase> = Vec::new();
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for (from, to, trend, rate) in stretches {
        let base = match trend {
            Trend::Ramp => "ramp",
            Trend::Decay => "decay",
            Trend::Steady if same_rate(rate, highest) => "peak",
            Trend::Steady => "steady",
        };
        let n = match counts.iter_mut().find(|c| c.0 == base) {
            Some(c) => {
                c.1 += 1;
                c.1
            }
            None => {
                counts.push((base, 1));
                1
            }
        };
        let name = if n == 1 {
            base.to_string()
        } else {
            format!("{base} {n}")
        };
        phases.push(Phase {
            name,
            from,
            to,
            derived: true,
        });
    }
    phases
}

/// Relative, so that 1000.0000001 → 1000 is no ramp.
fn same_rate(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// `(from, to, trend, rate)` of each stretch of the profile within the run,
/// consecutive ones of one trend (and, when steady, one rate) merged.
fn stretches(profile: &RateProfile, duration: u64) -> Vec<(u64, u64, Trend, f64)> {
    let points = profile.points();
    let mut out: Vec<(u64, u64, Trend, f64)> = Vec::new();
    for (i, &(t0, r0)) in points.iter().enumerate() {
        if t0 >= duration {
            break;
        }
        let (t1, r1) = match points.get(i + 1) {
            Some(&(t1, r1)) => (t1.min(duration), r1),
            None => (duration, r0),
        };
        if t1 <= t0 {
            continue; // a step
        }
        let trend = if same_rate(r0, r1) {
            Trend::Steady
        } else if r1 > r0 {
            Trend::Ramp
        } else {
            Trend::Decay
        };
        match out.last_mut() {
            Some(last) if last.2 == trend && (trend != Trend::Steady || same_rate(last.3, r0)) => last.1 = t1,
            _ => out.push((t0, t1, trend, r0)),
        }
    }
    out
}

/// Stretches shorter than a window joined to a neighbour, so that every
/// phase can hold a window of its own; neighbours of one trend and rate
/// that meet then merge.
fn fold_short(stretches: Vec<(u64, u64, Trend, f64)>, window: u64) -> Vec<(u64, u64, Trend, f64)> {
    let mut out: Vec<(u64, u64, Trend, f64)> = Vec::new();
    let mut pending_from: Option<u64> = None;
    for s in stretches {
        let (from, to, trend, rate) = s;
        if to - from < window {
            match out.last_mut() {
                Some(last) => last.1 = to,
                None => pending_from = Some(pending_from.unwrap_or(from)),
            }
            continue;
        }
        let from = pending_from.take().unwrap_or(from);
        match out.last_mut() {
            Some(last) if last.2 == trend && (trend != Trend::Steady || same_rate(last.3, rate)) => last.1 = to,
            _ => out.push((from, to, trend, rate)),
        }
    }
    // Every stretch short (a run shorter than a window): `out` is empty and
    // the run is one phase.
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn names(p: &[(u64, f64)], duration: u64) -> Vec<(String, u64, u64)> {
        derive(&Workload::Open(RateProfile::new(p.to_vec()).unwrap()), duration, S)
            .into_iter()
            .map(|p| (p.name, p.from / S, p.to / S))
            .collect()
    }

    #[test]
    fn a_flash_sale_profile_gives_steady_ramp_peak_decay_and_they_partition_the_run() {
        let p = [
            (0, 100.0),
            (60 * S, 100.0),
            (75 * S, 1500.0),
            (165 * S, 1500.0),
            (180 * S, 100.0),
        ];
        let got = names(&p, 240 * S);
        let want = [
            ("steady", 0, 60),
            ("ramp", 60, 75),
            ("peak", 75, 165),
            ("decay", 165, 180),
            ("steady 2", 180, 240),
        ];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0.as_str(), g.1, g.2), w);
        }
    }

    #[test]
    fn steps_belong_to_no_stretch_and_the_run_cuts_the_profile() {
        // A step up at 10 s, then down at 20 s; the run ends at 15 s.
        let p = [
            (0, 10.0),
            (10 * S, 10.0),
            (10 * S, 50.0),
            (20 * S, 50.0),
            (20 * S, 10.0),
        ];
        let got = names(&p, 15 * S);
        assert_eq!(got, [("steady".into(), 0, 10), ("peak".into(), 10, 15)]);
    }

    #[test]
    fn a_constant_rate_or_a_closed_model_is_one_steady_phase() {
        assert_eq!(names(&[(0, 5.0)], 9 * S), [("steady".into(), 0, 9)]);
        assert_eq!(names(&[(0, 5.0), (4 * S, 5.0)], 9 * S), [("steady".into(), 0, 9)]);
    }

    #[test]
    fn past_64_stretches_the_run_is_one_phase() {
        let saw: Vec<(u64, f64)> = (0..200)
            .map(|i| (i * 10 * S, if i % 2 == 0 { 10.0 } else { 50.0 }))
            .collect();
        assert_eq!(names(&saw, 2000 * S), [("run".into(), 0, 2000)]);
    }

    #[test]
    fn a_lone_ramp_is_a_ramp_and_peak_is_the_highest_rate_only() {
        assert_eq!(names(&[(0, 5.0), (9 * S, 50.0)], 9 * S), [("ramp".into(), 0, 9)]);
        assert_eq!(names(&[(0, 50.0), (9 * S, 5.0)], 9 * S), [("decay".into(), 0, 9)]);
        // The highest rate is reached at the top of a ramp that falls at
        // once: the steady stretches below it are no peak.
        let got = names(
            &[(0, 100.0), (10 * S, 100.0), (20 * S, 1000.0), (30 * S, 200.0)],
            60 * S,
        );
        let got: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(got, ["steady", "ramp", "decay", "steady 2"]);
    }

    #[test]
    fn a_stretch_shorter_than_a_window_joins_its_neighbour() {
        // A half-second ramp between two steady rates: no window could be
        // the ramp's alone.
        let p = [(0, 10.0), (10 * S, 10.0), (10 * S + S / 2, 50.0), (20 * S, 50.0)];
        assert_eq!(names(&p, 20 * S), [("steady".into(), 0, 10), ("peak".into(), 10, 20)]);
        // A short first stretch joins the one after it.
        let p = [(0, 10.0), (S / 2, 50.0), (20 * S, 50.0)];
        assert_eq!(names(&p, 20 * S), [("steady".into(), 0, 20)]);
        // Rates equal within rounding merge as they do for trends.
        let p = [(0, 1000.0), (10 * S, 1_000.000_000_1), (20 * S, 1000.0)];
        assert_eq!(names(&p, 20 * S), [("steady".into(), 0, 20)]);
    }

    #[test]
    fn a_window_belongs_to_the_phase_holding_its_middle() {
        let p = Phase {
            name: "x".into(),
            from: 10,
            to: 20,
            derived: false,
        };
        assert!(p.holds_window(6, 10) && !p.holds_window(0, 10) && !p.holds_window(15, 10));
    }
}
