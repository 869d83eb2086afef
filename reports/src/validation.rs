//! Simulation against reality: the error of each metric between a simulated
//! and a measured record of the same era, per load level, against pass/fail
//! bands.
//!
//! A *level* is a stretch of the run where the intended arrival rate holds
//! still (the windows' `offered` rate within 1 %), past the warm-up and the
//! first [`SETTLE_WINDOWS`] windows after the rate changed, so that the
//! queues have settled before they are compared. Within a level the
//! windows are merged: throughput is successes per second, latency
//! percentiles come from the merged histograms, the error rate is failures
//! over ended requests. A *disruption* is the longest run of windows in
//! which more than [`DISRUPTED_ERRORS`] of the ended requests failed or
//! fewer than [`DISRUPTED_SERVED`] of the offered requests succeeded (a
//! failover gap, a crash: nothing answers, nothing fails yet); the two
//! records' disruptions are compared in seconds. Slow answers alone do not
//! count: after a gap, the requests that waited through it end late in
//! both runs, but when depends on each client's connect retries.
//!
//! ```
//! use lab_reports::validation::Bands;
//! let b = Bands::default();
//! assert_eq!((b.throughput, b.p50, b.p99), (0.05, 0.15, 0.25));
//! ```

use std::fmt::Write as _;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Color, Table};
use lab_core::Record;
/// Windows left out after the rate changes, for the queues to settle (a
/// simulated record merges its windows as they close along these levels:
/// see [`lab_core::record::Segment`]).
pub use lab_core::record::SETTLE_WINDOWS;
use lab_core::record::{Latencies, OutcomeId, Window, same_rate};
use lab_core::scenario::units::format_duration;
use lab_core::scenario::{Fault, Percentile};
use serde::Serialize;

/// A level needs at least this many windows once settled.
pub const MIN_LEVEL_WINDOWS: usize = 3;
/// A window whose failed share is above this is disrupted.
pub const DISRUPTED_ERRORS: f64 = 0.05;
/// A window whose p99 is above this (1 s) is disrupted.
pub const DISRUPTED_SERVED: f64 = 0.5;

/// How far the measured figure may be from the simulated one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bands {
    /// Relative, for successes per second.
    pub throughput: f64,
    /// Relative, for each percentile.
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    /// Absolute, in percentage points of ended requests.
    pub error_rate_points: f64,
    /// Absolute, in seconds, for the longest disruption.
    pub disruption_s: f64,
}

impl Default for Bands {
    /// The bands the real-deployment issue set for a calibrated era.
    fn default() -> Self {
        Bands {
            throughput: 0.05,
            p50: 0.15,
            p95: 0.20,
            p99: 0.25,
            error_rate_points: 1.0,
            disruption_s: 1.0,
        }
    }
}

/// One metric of one level (or of the whole run, for the disruption).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// `"100/s"` for a level, `"whole run"` for the longest disruption,
    /// `"isolate lb.master at 20s"` for the disruption a fault began.
    pub level: String,
    pub metric: &'static str,
    pub unit: &'static str,
    pub simulated: Option<f64>,
    pub measured: Option<f64>,
    /// Relative for throughput and latency, absolute otherwise (see
    /// [`Bands`]); `None` when a side has no figure.
    pub error: Option<f64>,
    pub relative: bool,
    pub band: f64,
    pub pass: bool,
}

/// Every row, and whether they all pass.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Validation {
    pub era: String,
    pub bands: Bands,
    pub rows: Vec<Row>,
    pub pass: bool,
}

/// A stretch of windows at one intended rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    /// Window indexes, `from..to`.
    pub from: usize,
    pub to: usize,
    pub rate: f64,
}

/// The constant-rate stretches of `windows`, warm-up and settling left out.
pub fn levels(windows: &[Window], warmup: u64) -> Vec<Level> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < windows.len() {
        let rate = windows[i].offered;
        let mut j = i + 1;
        while j < windows.len() && same_rate(windows[j].offered, rate) {
            j += 1;
        }
        let from = (i + SETTLE_WINDOWS).max(windows.partition_point(|w| w.start < warmup));
        // The last window may be shorter than the others: leave it out.
        let to = if j == windows.len() && windows.len() > 1 && windows[j - 1].len < windows[0].len {
            j - 1
        } else {
            j
        };
        if to >= from + MIN_LEVEL_WINDOWS && rate > 0.0 {
            out.push(Level { from, to, rate });
        }
        i = j;
    }
    out
}

/// What one record shows over one level.
struct Figures {
    throughput: f64,
    latency: Latencies,
    error_rate: Option<f64>,
}

fn figures(r: &Record, windows: std::ops::Range<usize>) -> Figures {
    let latency = r.latency_over(windows.clone());
    let (mut ok, mut ended, mut seconds) = (0u64, 0u64, 0.0);
    for w in &r.windows[windows] {
        ok += w.outcomes[OutcomeId::OK];
        ended += w.outcomes.total();
        seconds += w.seconds();
    }
    Figures {
        throughput: ok as f64 / seconds,
        latency,
        error_rate: (ended > 0).then(|| 100.0 * (ended - ok) as f64 / ended as f64),
    }
}

fn disrupted(w: &Window) -> bool {
    let (ended, failed) = (w.outcomes.total(), w.outcomes.errors());
    let offered = w.offered * w.seconds();
    (ended > 0 && failed as f64 > DISRUPTED_ERRORS * ended as f64)
        || (offered >= 1.0 && ((ended - failed) as f64) < DISRUPTED_SERVED * offered)
}

/// The longest disruption of a record, in seconds (0 when none).
pub fn disruption(r: &Record) -> f64 {
    let (mut best, mut run) = (0.0f64, 0.0f64);
    for w in &r.windows {
        if disrupted(w) {
            run += w.seconds();
            best = best.max(run);
        } else {
            run = 0.0;
        }
    }
    best
}

/// How long after a fault's strike (or heal) its disruption may begin and
/// still be its own.
pub const FAULT_REACH_NS: u64 = 10_000_000_000;

/// The disruption under way in the window holding `at`, or the first that
/// begins within [`FAULT_REACH_NS`] after it, in seconds from that window
/// to its end (0 when none).
pub fn disruption_after(r: &Record, at: u64) -> f64 {
    let end = |w: &Window| w.start + w.len;
    let Some(first) = r
        .windows
        .iter()
        .position(|w| end(w) > at && w.start < at.saturating_add(FAULT_REACH_NS) && disrupted(w))
    else {
        return 0.0;
    };
    r.windows[first..]
        .iter()
        .take_while(|w| disrupted(w))
        .map(Window::seconds)
        .sum()
}

/// A row per moment a fault strikes or heals: the disruption that follows
/// it in each record, against the disruption band. This is how a failover
/// gap is compared: the longest disruption of a run may be another one.
pub fn fault_rows(simulated: &Record, measured: &Record, bands: Bands, faults: &[Fault]) -> Vec<Row> {
    let mut moments = Vec::new();
    for f in faults.iter().filter(|f| f.at < simulated.meta.duration) {
        let what = format!("{} {}", f.kind.name(), f.target);
        moments.push((f.at, format!("{what} at {}", format_duration(f.at))));
        if let Some(until) = f.until.filter(|u| *u < simulated.meta.duration) {
            moments.push((until, format!("{what} healed at {}", format_duration(until))));
        }
    }
    moments
        .into_iter()
        .map(|(at, level)| {
            let (ds, dm) = (disruption_after(simulated, at), disruption_after(measured, at));
            disruption_row(level, ds, dm, bands)
        })
        .collect()
}

/// A disruption's row: seconds simulated and measured, against the band.
fn disruption_row(level: String, simulated: f64, measured: f64, bands: Bands) -> Row {
    let error = measured - simulated;
    Row {
        level,
        metric: "disruption",
        unit: "s",
        simulated: Some(simulated),
        measured: Some(measured),
        error: Some(error),
        relative: false,
        band: bands.disruption_s,
        pass: error.abs() <= bands.disruption_s,
    }
}

/// Compares `measured` with `simulated`, level by level. The levels are
/// the simulated record's (the intended rates are the scenario's, the same
/// on both sides).
pub fn compare(simulated: &Record, measured: &Record, bands: Bands) -> Validation {
    let mut rows = Vec::new();
    for l in levels(&simulated.windows, simulated.meta.warmup) {
        let to = l.to.min(measured.windows.len());
        if to < l.from + MIN_LEVEL_WINDOWS {
            continue;
        }
        let s = figures(simulated, l.from..l.to);
        let m = figures(measured, l.from..to);
        let level = format!("{}/s", trim(l.rate));
        let mut row = |metric, unit, sim: Option<f64>, real: Option<f64>, relative: bool, band: f64| {
            let error = match (sim, real) {
                (Some(a), Some(b)) if relative && a > 0.0 => Some((b - a) / a),
                (Some(a), Some(b)) if !relative => Some(b - a),
                _ => None,
            };
            rows.push(Row {
                level: level.clone(),
                metric,
                unit,
                simulated: sim,
                measured: real,
                error,
                relative,
                band,
                pass: error.is_some_and(|e| e.abs() <= band),
            });
        };
        row(
            "throughput",
            "/s",
            Some(s.throughput),
            Some(m.throughput),
            true,
            bands.throughput,
        );
        for (p, band) in [
            (Percentile::P50, bands.p50),
            (Percentile::P95, bands.p95),
            (Percentile::P99, bands.p99),
        ] {
            let ms = |f: &Figures| f.latency.percentile(p).map(|ns| ns as f64 / 1e6);
            row(p.key(), "ms", ms(&s), ms(&m), true, band);
        }
        row(
            "error rate",
            "%",
            s.error_rate,
            m.error_rate,
            false,
            bands.error_rate_points,
        );
    }
    let (ds, dm) = (disruption(simulated), disruption(measured));
    if ds > 0.0 || dm > 0.0 {
        rows.push(disruption_row("whole run".into(), ds, dm, bands));
    }
    let pass = !rows.is_empty() && rows.iter().all(|r| r.pass);
    Validation {
        era: simulated.meta.era.clone(),
        bands,
        rows,
        pass,
    }
}

fn trim(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn figure(v: Option<f64>, unit: &str) -> String {
    v.map_or("–".into(), |v| match unit {
        "ms" | "/s" => format!("{v:.1}"),
        "%" => format!("{v:.2}"),
        _ => format!("{v:.2}"),
    })
}

fn error_text(r: &Row) -> String {
    match r.error {
        None => "–".into(),
        Some(e) if r.relative => format!("{:+.1} % (±{:.0} %)", 100.0 * e, 100.0 * r.band),
        Some(e) => format!("{e:+.2} {} (±{})", r.unit, trim(r.band)),
    }
}

/// The table `lab validate` prints.
pub fn render_table(v: &Validation) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["level", "metric", "simulated", "measured", "error (band)", "verdict"]);
    for r in &v.rows {
        let verdict = if r.pass {
            Cell::new("pass").fg(Color::Green)
        } else {
            Cell::new("FAIL").fg(Color::Red)
        };
        t.add_row(vec![
            Cell::new(&r.level),
            Cell::new(format!("{} ({})", r.metric, r.unit)),
            Cell::new(figure(r.simulated, r.unit)).set_alignment(CellAlignment::Right),
            Cell::new(figure(r.measured, r.unit)).set_alignment(CellAlignment::Right),
            Cell::new(error_text(r)).set_alignment(CellAlignment::Right),
            verdict,
        ]);
    }
    t.to_string()
}

/// The same table as an HTML fragment for the report's page.
pub fn html(v: &Validation) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<h2>Simulation against reality: {}</h2>\n<p>Each constant-rate level of the run, after {SETTLE_WINDOWS} windows to settle; the error is relative for throughput and latency and absolute for the error rate and for the disruptions (the one each fault begins, or without faults the longest; a disruption is seconds where over 5 % of the requests failed or fewer than half were answered). Overall: {}.</p>",
        crate::html::escape(&v.era),
        if v.pass {
            "<span class=\"pass\">pass</span>"
        } else {
            "<span class=\"fail\">fail</span>"
        }
    );
    h.push_str("<table><tr><th class=\"l\">level</th><th class=\"l\">metric</th><th>simulated</th><th>measured</th><th>error (band)</th><th>verdict</th></tr>\n");
    for r in &v.rows {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            crate::html::escape(&r.level),
            r.metric,
            r.unit,
            figure(r.simulated, r.unit),
            figure(r.measured, r.unit),
            crate::html::escape(&error_text(r)),
            if r.pass {
                "<span class=\"pass\">pass</span>"
            } else {
                "<span class=\"fail\">fail</span>"
            }
        );
    }
    h.push_str("</table>\n");
    h
}

#[cfg(test)]
mod tests;
