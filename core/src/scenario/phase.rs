//! Phases: named stretches of a run whose figures the report gives apart.
//! A whole-run p99 over a run with a two-minute spike describes a run that
//! never happened; the spike's own p99 is what a user asks about.
//!
//! A scenario names its phases (`[[phases]] name = "sale", from = "75s",
//! to = "165s"`), or they are derived from the rate profile: each stretch
//! where the rate holds, climbs or falls becomes `steady`, `ramp`, `peak`
//! (the highest steady rate, when the rate changes at all) or `decay`, so
//! that derived phases partition the run.

use super::traffic::{RateProfile, Workload};

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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trend {
    Steady,
    Ramp,
    Decay,
}

/// The phases of a run of `duration` ns with this workload: one `steady`
/// phase for a constant rate or a closed model, else one per stretch of
/// the profile where the rate holds, climbs or falls (steps are instants
/// and belong to no stretch). Consecutive stretches of one trend merge; a
/// name that repeats is numbered (`steady 2`).
pub fn derive(workload: &Workload, duration: u64) -> Vec<Phase> {
    let whole = || {
        vec![Phase {
            name: "steady".into(),
            from: 0,
            to: duration,
            derived: true,
        }]
    };
    let Workload::Open(profile) = workload else {
        return whole();
    };
    let stretches = stretches(profile, duration);
    if stretches.len() <= 1 {
        return whole();
    }
    let peak = stretches
        .iter()
        .filter(|s| s.2 == Trend::Steady)
        .map(|s| s.3)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut phases: Vec<Phase> = Vec::new();
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for (from, to, trend, rate) in stretches {
        let base = match trend {
            Trend::Ramp => "ramp",
            Trend::Decay => "decay",
            Trend::Steady if rate >= peak => "peak",
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
        // Relative, so that 1000.0000001 → 1000 is no ramp.
        let trend = if (r1 - r0).abs() <= 1e-9 * r0.abs().max(r1.abs()) {
            Trend::Steady
        } else if r1 > r0 {
            Trend::Ramp
        } else {
            Trend::Decay
        };
        match out.last_mut() {
            Some(last) if last.2 == trend && (trend != Trend::Steady || last.3 == r0) => last.1 = t1,
            _ => out.push((t0, t1, trend, r0)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn names(p: &[(u64, f64)], duration: u64) -> Vec<(String, u64, u64)> {
        derive(&Workload::Open(RateProfile::new(p.to_vec()).unwrap()), duration)
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
