//! Names the resource that saturated first in each phase of a run, and
//! what followed: "db CPU at 100 % from 1:16, then all 40 FPM workers busy
//! from 1:17, then the listen backlog full from 1:18 → 502 backlog full
//! 48 %". A queue chart shows the symptoms; the order in which resources
//! filled up tells the cause from its consequences.
//!
//! A resource is saturated from the first window of the phase where it is
//! full and stays full the next window (or the phase ends): a single busy
//! window is a burst, not a bottleneck. Resources that fill up in the same
//! window are ordered by depth (a host's CPU or a row lock before the
//! connections, the workers waiting on them, and the backlog in front of
//! the workers), since the deeper one is the cause.

use lab_core::record::{GaugeKind, OutcomeSpec, outcomes, percent};
use lab_core::scenario::{App, Phase};
use lab_core::{OutcomeId, Record};
use serde::Serialize;

use crate::table::clock;

/// Busy over capacity at which a CPU, the workers or the connections are
/// full: a few percent short of 100 % is saturation with Poisson arrivals.
pub const FULL: f64 = 0.95;
/// Share of the FPM workers waiting on row locks at which a lock is the
/// bottleneck.
pub const LOCKED: f64 = 0.25;

/// One resource that saturated in a phase.
#[derive(Clone, Debug, Serialize)]
pub struct Saturation {
    /// The gauge that showed it.
    pub gauge: String,
    /// When it became full, in seconds from the start of the run.
    pub from_s: f64,
    /// When it stopped being full, if it did before the phase ended.
    pub until_s: Option<f64>,
    /// What happened, in words: `db CPU at 100 %`.
    pub what: String,
    #[serde(skip)]
    depth: u8,
}

/// A phase's bottleneck and what followed, or the busiest resource when
/// nothing saturated.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseBottleneck {
    pub phase: String,
    /// In the order they saturated; the first is the bottleneck.
    pub saturated: Vec<Saturation>,
    /// One sentence for people.
    pub sentence: String,
}

/// Every phase's bottleneck, in the phases' order.
pub fn find(r: &Record, app: &App, phases: &[Phase]) -> Vec<PhaseBottleneck> {
    phases.iter().map(|p| phase(r, app, p)).collect()
}

fn phase(r: &Record, app: &App, phase: &Phase) -> PhaseBottleneck {
    let windows: Vec<usize> = (0..r.windows.len())
        .filter(|&w| {
            let win = &r.windows[w];
            phase.holds_window(win.start, win.len) && win.start >= r.meta.warmup
        })
        .collect();
    let gauge = |key: &str| r.gauge_index(key);
    let mean = |g: usize, w: usize| r.gauge_in_window(g, w).mean;
    let max = |g: usize, w: usize| r.gauge_in_window(g, w).max;
    // A refusal is the evidence a resource was full even where its gauge
    // is not: a backlog summed over pools that fill one at a time, the
    // connections of requests that hold them briefly.
    let refused = |o: &OutcomeSpec, w: usize| r.outcome_id(&o.key).is_some_and(|id| r.windows[w].outcomes[id] > 0);
    let mut found = Vec::new();
    for (g, spec) in r.gauges.iter().enumerate() {
        let Some(cap) = spec.capacity.filter(|c| *c > 0.0) else {
            continue;
        };
        let (depth, full): (u8, Box<dyn Fn(usize) -> bool>) = match spec.kind {
            GaugeKind::Cpu => (0, Box::new(move |w| mean(g, w) >= FULL * cap)),
            GaugeKind::Connections => (
                2,
                Box::new(move |w| mean(g, w) >= FULL * cap || refused(&outcomes::TOO_MANY_CONNECTIONS, w)),
            ),
            GaugeKind::Workers if spec.key == "fpm.busy" => {
                // A dynamic pool still forking is full below max_children:
                // every child it has is busy and requests wait behind them.
                let growing = gauge("fpm.children").zip(gauge("fpm.backlog"));
                (
                    4,
                    Box::new(move |w| {
                        mean(g, w) >= FULL * cap
                            || growing.is_some_and(|(c, b)| {
                                // Not a ratio: a big pool with its one or
                                // two spares is 95 % busy and fine, and a
                                // request that waits for the next fork now
                                // and then is no shortage. Full is no child
                                // idle on average and, waiting on average,
                                // a tenth of the busy children at least:
                                // by Little's law, waits a tenth of the
                                // time a child is held.
                                // And the pool must have room to fork: a
                                // full static pool is judged by its use.
                                let (alive, busy) = (mean(c, w), mean(g, w));
                                alive >= 1.0
                                    && alive <= cap - 1.0
                                    && alive - busy < 1.0
                                    && mean(b, w) >= (0.1 * busy).max(1.0)
                            })
                    }),
                )
            }
            // A service's pool is deeper than the front's that waits on it.
            GaugeKind::Workers if spec.key.ends_with("busy") => (
                if spec.key.starts_with("svc.") { 3 } else { 4 },
                Box::new(move |w| mean(g, w) >= FULL * cap),
            ),
            GaugeKind::Queue if spec.key == "fpm.backlog" => (
                5,
                Box::new(move |w| max(g, w) >= cap || refused(&outcomes::BACKLOG_FULL, w)),
            ),
            GaugeKind::Queue => (5, Box::new(move |w| max(g, w) >= cap)),
            _ => continue,
        };
        let Some((from, until)) = first_sustained(&windows, &*full) else {
            continue;
        };
        let after = full_stretch(&windows, from, &*full);
        let what = match spec.kind {
            GaugeKind::Cpu => {
                let u = after.iter().map(|&w| mean(g, w)).sum::<f64>() / after.len() as f64 / cap;
                format!("{} at {:.0} %", spec.label, u * 100.0)
            }
            GaugeKind::Connections => format!("{} at {:.0} of {:.0}", spec.label, peak(&after, |w| max(g, w)), cap),
            GaugeKind::Workers
                if spec.key == "fpm.busy"
                    && let Some(c) = gauge("fpm.children")
                    && peak(&after, |w| mean(c, w)) < FULL * cap =>
            {
                let first = after.first().map_or(0.0, |&w| mean(c, w));
                let most = peak(&after, |w| mean(c, w));
                if most - first >= 1.0 {
                    format!("every FPM worker busy while the pool forked from {first:.0} to {most:.0} (of {cap:.0})")
                } else {
                    format!("all {first:.0} FPM workers busy (the pool still forking towards {cap:.0})")
                }
            }
            GaugeKind::Workers if cap == 1.0 => {
                format!("the only {} busy", spec.label.replace(" busy workers", " worker"))
            }
            GaugeKind::Workers => format!("all {cap:.0} {} busy", spec.label.replace(" busy", "")),
            _ => format!("{} full", spec.label),
        };
        found.push(Saturation {
            gauge: spec.key.clone(),
            from_s: r.windows[from].start as f64 / 1e9,
            until_s: until.map(|w| r.windows[w].start as f64 / 1e9),
            what,
            depth,
        });
    }
    // nginx's connections have no gauge: its 500s are the evidence.
    let nginx = |w: usize| refused(&outcomes::NGINX_NO_CONNECTION, w);
    if let Some((from, until)) = first_sustained(&windows, &nginx) {
        found.push(Saturation {
            gauge: outcomes::NGINX_NO_CONNECTION.key.to_string(),
            from_s: r.windows[from].start as f64 / 1e9,
            until_s: until.map(|w| r.windows[w].start as f64 / 1e9),
            what: "nginx's worker_connections all in use".into(),
            depth: 5,
        });
    }
    // HAProxy queues a request when every server is at its maxconn; the
    // queue has no capacity of its own, so a queue that stays occupied (or
    // 503s when it times out) is the evidence that the servers' slots are
    // the limit.
    if let Some(queue) = gauge("haproxy.queue") {
        let queued = |w: usize| mean(queue, w) >= 1.0 || refused(&outcomes::LB_UNAVAILABLE, w);
        if let Some((from, until)) = first_sustained(&windows, &queued) {
            let after = full_stretch(&windows, from, &queued);
            found.push(Saturation {
                gauge: "haproxy.queue".into(),
                from_s: r.windows[from].start as f64 / 1e9,
                until_s: until.map(|w| r.windows[w].start as f64 / 1e9),
                what: format!(
                    "HAProxy's servers all at their maxconn, up to {:.0} requests queued",
                    peak(&after, |w| max(queue, w))
                ),
                depth: 6,
            });
        }
    }
    // Row locks: the waiters gauge has no capacity of its own; measure it
    // against the workers it holds.
    if let (Some(locks), Some(busy)) = (gauge("mysql.lock_waiters"), gauge("fpm.busy"))
        && let Some(cap) = r.gauges[busy].capacity.filter(|c| *c > 0.0)
    {
        let held = |w: usize| mean(locks, w) >= (LOCKED * cap).max(1.0);
        if let Some((from, until)) = first_sustained(&windows, &held) {
            let after = full_stretch(&windows, from, &held);
            let waiting = peak(&after, |w| mean(locks, w));
            let lock = match &app.locks[..] {
                [one] => format!("lock `{}`", one.name),
                _ => "row locks".to_string(),
            };
            found.push(Saturation {
                gauge: "mysql.lock_waiters".into(),
                from_s: r.windows[from].start as f64 / 1e9,
                until_s: until.map(|w| r.windows[w].start as f64 / 1e9),
                what: format!("{waiting:.0} of {cap:.0} FPM workers waiting on {lock}"),
                depth: 1,
            });
        }
    }
    found.sort_by(|a, b| a.from_s.total_cmp(&b.from_s).then(a.depth.cmp(&b.depth)));
    let sentence = sentence(r, &windows, &found);
    PhaseBottleneck {
        phase: phase.name.clone(),
        saturated: found,
        sentence,
    }
}

/// The first window of `windows` that is full and stays full the next one
/// (or ends the phase), and the first window after it that is not full,
/// if any.
fn first_sustained(windows: &[usize], full: &dyn Fn(usize) -> bool) -> Option<(usize, Option<usize>)> {
    let i = windows
        .iter()
        .enumerate()
        .position(|(i, &w)| full(w) && windows.get(i + 1).is_none_or(|&next| full(next)))?;
    let until = windows[i..].iter().copied().find(|&w| !full(w));
    Some((windows[i], until))
}

/// The windows from `from` while the resource stays full.
fn full_stretch(windows: &[usize], from: usize, full: &dyn Fn(usize) -> bool) -> Vec<usize> {
    windows
        .iter()
        .copied()
        .skip_while(|&w| w < from)
        .take_while(|&w| full(w))
        .collect()
}

fn peak(windows: &[usize], f: impl Fn(usize) -> f64) -> f64 {
    windows.iter().map(|&w| f(w)).fold(0.0, f64::max)
}

fn sentence(r: &Record, windows: &[usize], found: &[Saturation]) -> String {
    if windows.is_empty() {
        return "no window after the warm-up".into();
    }
    let Some((first, rest)) = found.split_first() else {
        return busiest(r, windows);
    };
    let when = |f: &Saturation| match f.until_s {
        Some(u) => format!("from {} to {}", clock(f.from_s), clock(u)),
        None => format!("from {}", clock(f.from_s)),
    };
    let mut s = format!("{} {}", first.what, when(first));
    for f in rest {
        s.push_str(&format!(", then {} {}", f.what, when(f)));
    }
    // What the users saw: the phase's main error.
    let mut counts = lab_core::record::OutcomeCounts::zeroed(r.outcomes.len());
    for &w in windows {
        counts.add(&r.windows[w].outcomes);
    }
    let finished = counts.total().max(1) as f64;
    if let Some((o, n)) = counts
        .iter()
        .filter(|&(o, n)| o != OutcomeId::OK && n > 0)
        .max_by_key(|&(_, n)| n)
    {
        s.push_str(&format!(" → {} {}", r.outcome(o).label, percent(n as f64 / finished)));
    }
    s
}

/// Nothing saturated: the resource closest to it, with its mean use.
fn busiest(r: &Record, windows: &[usize]) -> String {
    let mut best: Option<(f64, &str)> = None;
    for (g, spec) in r.gauges.iter().enumerate() {
        let Some(cap) = spec.capacity.filter(|c| *c > 0.0) else {
            continue;
        };
        if !matches!(spec.kind, GaugeKind::Cpu | GaugeKind::Connections) && !spec.key.ends_with("busy") {
            continue;
        }
        let u = windows.iter().map(|&w| r.gauge_in_window(g, w).mean).sum::<f64>() / windows.len() as f64 / cap;
        if best.is_none_or(|b| u > b.0) {
            best = Some((u, &spec.label));
        }
    }
    match best {
        Some((u, label)) => format!("nothing saturated; the busiest was {label} at {:.0} %", u * 100.0),
        None => "nothing saturated".into(),
    }
}
