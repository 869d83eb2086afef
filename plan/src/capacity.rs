//! The capacity search: the largest multiplier of the traffic at which
//! the SLO still holds, with its interval, the latency-vs-load curve and
//! its knee, and what saturates there and next.
//!
//! The SLO load of a run is its largest figure over its bound (p99 over
//! 300 ms, errors over 0.1 %): at most 1 meets the SLO. Each point runs
//! the plan's replications; the SLO holds at a point when the geometric
//! mean of their SLO loads is at most 1 (the typical seed meets it).
//!
//! The search doubles (or halves) the multiplier until a holding point
//! lies just below a failing one, then bisects between them geometrically
//! until they are within half the tolerance of each other. The capacity is
//! where the SLO load crosses 1, interpolated between the two points around
//! it on log-log axes; its interval is where the ends of the SLO load's
//! 95 % interval cross 1: the loads another set of seeds could call the
//! capacity. While that interval is wider than the tolerance (times the
//! capacity), the points between its ends are run again with twice the
//! replications (the same seeds and more), up to [`MORE_REPLICATIONS`]
//! times the plan's; more seeds can move a point across the line, so the
//! bracket is looked for afresh after each round.

use lab_core::scenario::{Era, PlanSpec};
use serde::Serialize;

use crate::PlanError;
use crate::knobs::{Knob, Space};
use crate::load::Load;
use crate::point::{Bottleneck, Point, evaluate, role};

/// The smallest multiplier the search tries: below it an era sustains
/// almost nothing, which is an answer of its own.
pub const MIN_MULTIPLIER: f64 = 1.0 / 1024.0;
/// Requests one replication may simulate in a plan: the search stops
/// doubling there and reports the capacity as "at least".
pub const MAX_REQUESTS_PER_RUN: f64 = 20e6;
/// Points the bisection may add after bracketing: the interval halves
/// with each, so ten is a thousandth of the bracket.
pub const MAX_BISECTIONS: usize = 10;
/// How many times the plan's replications the points around the capacity
/// may get when the seeds leave its interval wider than the tolerance.
pub const MORE_REPLICATIONS: u32 = 8;
/// Requests that must finish in one run at the scenario's own traffic for
/// a plan to judge an SLO on them.
pub const MIN_REQUESTS: u64 = 20;
/// Points a search runs at most, re-runs not counted.
pub const MAX_POINTS: usize = 40;
/// How much more room the bottleneck gets to show the next one: at 1.5×
/// the load, four times the room leaves it busy 40 % of what it was, so
/// what saturates then is something else.
pub const RELIEF: u32 = 4;

#[derive(Clone, Debug, Serialize)]
pub struct Capacity {
    /// The largest multiplier at which the SLO holds (interpolated).
    pub multiplier: f64,
    /// The 95 % interval of the multiplier.
    pub low: f64,
    /// Infinite for [`Bound::AtLeast`]: written `null` in JSON.
    #[serde(serialize_with = "finite_or_null")]
    pub high: f64,
    /// The same as offered load (peak arrivals per second, or users).
    pub offered: f64,
    pub offered_low: f64,
    #[serde(serialize_with = "finite_or_null")]
    pub offered_high: f64,
    /// `/s` or ` users`.
    pub unit: String,
    /// How the search ended: `converged`, `wide` (wider than the
    /// tolerance), `at_least` (the run-size limit came first), `below` (the SLO
    /// fails at the smallest multiplier).
    pub bound: Bound,
    pub tolerance: f64,
    /// Every point run, in the order of their multipliers.
    pub points: Vec<Point>,
    /// The knee of the latency-vs-load curve, an index in `points`.
    pub knee: Option<usize>,
    /// What saturated first at the first point past the capacity.
    pub bottleneck: Option<Bottleneck>,
    /// The bottleneck pass's sentence there.
    pub sentence: String,
    /// What saturates once the bottleneck is relieved.
    pub next: Option<Next>,
    /// Each resource's use at the last point within the capacity.
    pub utilisation_at_capacity: Vec<crate::point::Utilisation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The interval is narrower than the tolerance.
    Converged,
    /// Even with [`MORE_REPLICATIONS`] times the replications around the
    /// capacity, the seeds leave its interval wider than the tolerance.
    Wide,
    /// The SLO still held at the largest load a plan may simulate.
    AtLeast,
    /// The SLO failed even at [`MIN_MULTIPLIER`].
    Below,
}

/// The bottleneck after the first is relieved: the knob behind it
/// [`RELIEF`] times larger and the load raised again.
#[derive(Clone, Debug, Serialize)]
pub struct Next {
    /// What was relieved: `db.cores = 16`.
    pub relieved: String,
    /// What saturated then (`None`: nothing did at that load).
    pub bottleneck: Option<Bottleneck>,
    pub sentence: String,
    pub multiplier: f64,
}

/// A bound that may be infinite, as JSON can write it: `null` for no
/// bound (serde_json would write any non-finite number as `null` too, but
/// silently; here the schema says so).
pub(crate) fn finite_or_null<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_none()
    }
}

/// Searches the capacity of `era` under `load`.
pub fn search(
    load: &Load,
    era: &Era,
    replications: u32,
    tolerance: f64,
    progress: &mut dyn FnMut(&Point),
) -> Result<Capacity, PlanError> {
    let max_m = (MAX_REQUESTS_PER_RUN / load.requests(1.0).max(1.0)).max(MIN_MULTIPLIER);
    let mut points: Vec<Point> = Vec::new();
    let mut run = |m: f64, reps: u32| -> Result<Point, PlanError> {
        let p = evaluate(load, era, m, reps)?;
        progress(&p);
        Ok(p)
    };
    let most = (replications * MORE_REPLICATIONS).min(PlanSpec::MAX_REPLICATIONS);
    let mut reps = replications;
    let mut bisections = 0;
    points.push(run(1.0f64.min(max_m), reps)?);
    let each = points[0].requests / u64::from(points[0].replications.max(1));
    if each < MIN_REQUESTS {
        return Err(PlanError::Usage(format!(
            "era {}: {each} requests finish in a run at {:.3}× the scenario's traffic, too few to judge an SLO on (at least {MIN_REQUESTS}): lengthen the duration or raise the rate",
            era.label, points[0].multiplier
        )));
    }
    // Each turn adds a point or more seeds where the answer is decided,
    // until the interval is narrow enough or cannot be made so. More seeds
    // can move a point across the line, so the bracket is found afresh
    // each turn.
    let bound = loop {
        if points.len() > MAX_POINTS {
            break Bound::Wide;
        }
        points.sort_by(|a, b| a.multiplier.total_cmp(&b.multiplier));
        let fail = points.iter().position(|p| !p.holds());
        let lo = fail.map_or(points.last(), |i| i.checked_sub(1).map(|j| &points[j]));
        let hi = fail.map(|i| &points[i]);
        let next = match (lo, hi) {
            // Below some load no request finishes in a run: nothing is
            // measured, which is no answer either way.
            (None, Some(h)) if h.multiplier <= MIN_MULTIPLIER || h.requests == 0 => break Bound::Below,
            (None, Some(h)) => (h.multiplier / 2.0).max(MIN_MULTIPLIER),
            (Some(l), None) if l.multiplier >= max_m => break Bound::AtLeast,
            (Some(l), None) => (l.multiplier * 2.0).min(max_m),
            (Some(l), Some(h))
                if h.multiplier / l.multiplier - 1.0 > tolerance / 2.0 && bisections < MAX_BISECTIONS =>
            {
                bisections += 1;
                (l.multiplier * h.multiplier).sqrt()
            }
            (Some(_), Some(_)) => {
                let (est, low, high) = crossing(&points);
                if high - low <= tolerance * est {
                    break Bound::Converged;
                }
                if reps >= most {
                    break Bound::Wide;
                }
                // The seeds' share of the interval: more replications at
                // the points that decide it (the first ones again, so that
                // the points stay comparable).
                reps = (reps * 2).min(most);
                let from = points.iter().rposition(|p| p.multiplier <= low).unwrap_or(0);
                let to = (points.iter())
                    .position(|p| p.multiplier >= high)
                    .unwrap_or(points.len() - 1);
                for p in &mut points[from..=to] {
                    *p = run(p.multiplier, reps)?;
                }
                continue;
            }
            (None, None) => unreachable!("a plan runs one point before it looks"),
        };
        points.push(run(next, reps)?);
    };
    // The interval comes from the search's points only: the curve's
    // points below add shape, not precision.
    let (multiplier, low, high) = match bound {
        Bound::AtLeast => {
            let m = points.last().map_or(max_m, |p| p.multiplier);
            (m, m, f64::INFINITY)
        }
        Bound::Below => (
            0.0,
            0.0,
            points.iter().map(|p| p.multiplier).fold(f64::INFINITY, f64::min),
        ),
        _ => crossing(&points),
    };
    // The curve's shape below the capacity, where the search did not go.
    let top = match bound {
        Bound::Below => MIN_MULTIPLIER,
        _ => multiplier,
    };
    for f in [0.25, 0.5, 0.75, 0.9] {
        let m = top * f;
        if m >= MIN_MULTIPLIER && !points.iter().any(|p| (p.multiplier / m - 1.0).abs() < 0.05) {
            points.push(run(m, replications)?);
        }
    }
    points.sort_by(|a, b| a.multiplier.total_cmp(&b.multiplier));
    // A resource idle at every load (a balancer's CPU, which the model
    // does not charge) says nothing about capacity.
    let idle: Vec<String> = points
        .first()
        .map(|p| p.utilisation.iter().map(|u| u.key.clone()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|k| points.iter().all(|p| p.utilisation_of(k).is_none_or(|v| v == 0.0)))
        .collect();
    for p in &mut points {
        p.utilisation.retain(|u| !idle.contains(&u.key));
    }
    let within = points
        .iter()
        .rev()
        .find(|p| p.multiplier <= multiplier.max(MIN_MULTIPLIER) && p.holds());
    let past = points.iter().find(|p| p.multiplier > multiplier && !p.holds());
    let (bottleneck, sentence) = match past.or(points.last()) {
        Some(p) => (p.bottleneck.clone().or_else(|| busiest(p)), p.sentence.clone()),
        None => (None, String::new()),
    };
    let next = match (&bottleneck, past) {
        (Some(b), Some(p)) => relieve(load, era, b, p.multiplier, replications)?,
        _ => None,
    };
    Ok(Capacity {
        multiplier,
        low,
        high,
        offered: load.offered(multiplier),
        offered_low: load.offered(low),
        offered_high: if high.is_finite() {
            load.offered(high)
        } else {
            f64::INFINITY
        },
        unit: load.unit_name().into(),
        bound,
        tolerance,
        knee: knee(&points),
        utilisation_at_capacity: within.map(|p| p.utilisation.clone()).unwrap_or_default(),
        points,
        bottleneck,
        sentence,
        next,
    })
}

/// The busiest resource at `p`, when nothing saturated but the SLO failed
/// (a slow tail, not a full resource).
fn busiest(p: &Point) -> Option<Bottleneck> {
    p.utilisation
        .iter()
        .max_by(|a, b| a.value.total_cmp(&b.value))
        .map(|u| Bottleneck {
            gauge: u.key.clone(),
            what: format!(
                "nothing saturated; the busiest was {} at {:.0} %",
                u.label,
                u.value * 100.0
            ),
        })
}

/// The knob that gives the resource behind `gauge` more room, if any does.
pub fn knob_for(gauge: &str, era: &Era) -> Option<Knob> {
    let role = role(gauge);
    let silver_like = matches!(
        era.arch,
        lab_core::scenario::Architecture::Silver(_) | lab_core::scenario::Architecture::Gold(_)
    );
    match role.as_str() {
        "server.cpu" => Some(Knob::HostCores),
        "web.cpu" if silver_like => Some(Knob::Nodes),
        "web.cpu" => Some(Knob::WebCores),
        "db.cpu" => Some(Knob::DbCores),
        "fpm.busy" | "fpm.backlog" | "front.fpm.busy" => Some(Knob::MaxChildren),
        "mysql.connections" => Some(Knob::MaxConnections),
        // A service's CPU or its pool: more nodes bring both.
        r => r
            .strip_prefix("svc.")
            .and_then(|s| s.strip_suffix(".cpu").or_else(|| s.strip_suffix(".fpm.busy")))
            .map(|s| Knob::ServiceNodes(s.to_string())),
    }
}

/// Gives what `b` names [`RELIEF`] times its room and runs the era again
/// at half as much load again as the point that failed: what saturates
/// then is the next bottleneck.
fn relieve(load: &Load, era: &Era, b: &Bottleneck, at: f64, replications: u32) -> Result<Option<Next>, PlanError> {
    let Some(knob) = knob_for(&b.gauge, era) else {
        return Ok(None);
    };
    let most = knob.most();
    let current = knob.current(era);
    let v = current.max(1).saturating_mul(RELIEF).min(most);
    if v <= current {
        return Ok(None);
    }
    let space = Space {
        knobs: vec![knob.clone()],
        values: vec![vec![v]],
    };
    let relieved = space.apply(era, &vec![v]);
    let m = at * 1.5;
    let p = evaluate(load, &relieved, m, replications)?;
    Ok(Some(Next {
        relieved: format!("{} = {}", knob.key(), knob.show(v)),
        bottleneck: p.bottleneck.clone().or_else(|| busiest(&p)),
        sentence: p.sentence,
        multiplier: m,
    }))
}

/// Where the SLO load, and the ends of its interval, cross 1:
/// `(estimate, low, high)`, the interval widened to the two points around
/// the estimate's crossing at least. Each is interpolated on log-log axes between
/// the first point above 1, in the order of the multipliers, and the one
/// before it: a noisy stretch that dips back below 1 is crossed where it
/// starts, so the capacity is never a load past a failing point.
pub fn crossing(points: &[Point]) -> (f64, f64, f64) {
    let mut sorted: Vec<&Point> = points.iter().collect();
    sorted.sort_by(|a, b| a.multiplier.total_cmp(&b.multiplier));
    let at = |f: &dyn Fn(&Point) -> f64| -> f64 {
        let first_fail = sorted.iter().position(|p| f(p) > 1.0);
        match first_fail {
            None => sorted.last().map_or(0.0, |p| p.multiplier),
            Some(0) => sorted[0].multiplier,
            Some(i) => {
                let (a, b) = (sorted[i - 1], sorted[i]);
                let (ya, yb) = (f(a).max(1e-3).ln(), f(b).max(1e-3).ln());
                let (xa, xb) = (a.multiplier.ln(), b.multiplier.ln());
                if yb <= ya {
                    return a.multiplier;
                }
                (xa + (0.0 - ya) * (xb - xa) / (yb - ya)).exp()
            }
        }
    };
    let est = at(&|p| p.slo_load.mean);
    let mut low = at(&|p| p.slo_load.high).min(est);
    let mut high = at(&|p| p.slo_load.low).max(est);
    // The interpolation is a guess between the two points around the
    // crossing: the interval holds both, whatever the seeds say.
    if let Some(i) = sorted.iter().position(|p| p.slo_load.mean > 1.0).filter(|&i| i > 0) {
        low = low.min(sorted[i - 1].multiplier);
        high = high.max(sorted[i].multiplier);
    }
    (est, low, high)
}

/// The knee of the p99-vs-load curve (Satopää et al., "Finding a
/// 'Kneedle' in a Haystack", 2011): with both axes scaled to [0, 1], the
/// point farthest below the chord from the first point to the last, among
/// the points up to and including the first that misses the SLO.
pub fn knee(points: &[Point]) -> Option<usize> {
    let end = points.iter().position(|p| !p.holds()).map_or(points.len(), |i| i + 1);
    let pts: Vec<(usize, f64, f64)> = points[..end]
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.p99_ms.map(|y| (i, p.offered, y)))
        .collect();
    if pts.len() < 3 {
        return None;
    }
    let (x0, x1) = (pts[0].1, pts[pts.len() - 1].1);
    let (y0, y1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.2), hi.max(p.2))
    });
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    pts.iter()
        .map(|&(i, x, y)| (i, (x - x0) / (x1 - x0) - (y - y0) / (y1 - y0)))
        .filter(|&(_, d)| d > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}
