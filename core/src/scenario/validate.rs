//! Stage two: raw serde structs to validated types. Every check reports the
//! key path; `Ctx` turns it into a line and column. Checking goes on after a
//! problem so that one run lists them all.

mod app;
mod era;
mod traffic;

use std::path::Path;

use super::dist::Dist;
use super::error::Problem;
use super::locate::{KeyPath, Locator};
use super::raw::*;
use super::units::{format_duration, parse_duration, parse_percent};
use super::{LatencyObjective, Percentile, Scenario, Slo, Stats};

pub(super) struct Ctx<'a> {
    loc: &'a Locator<'a>,
    problems: Vec<Problem>,
}

impl Ctx<'_> {
    pub(super) fn report(&mut self, path: &KeyPath, message: impl Into<String>) {
        let pos = self.loc.find(path);
        self.problems.push(Problem {
            line: pos.line,
            column: pos.column,
            key: path.to_string(),
            message: message.into(),
        });
    }

    pub(super) fn duration(&mut self, path: &KeyPath, text: &str) -> Option<u64> {
        parse_duration(text).map_err(|e| self.report(path, e)).ok()
    }

    /// A timeout: a duration, or `"off"` (also `"0s"`) for none.
    pub(super) fn timeout(
        &mut self,
        path: &KeyPath,
        text: Option<&String>,
        default: Option<u64>,
    ) -> Option<Option<u64>> {
        match text.map(|s| s.trim()) {
            None => Some(default),
            Some("off") => Some(None),
            Some(t) => self.duration(path, t).map(|ns| (ns > 0).then_some(ns)),
        }
    }

    pub(super) fn dist(&mut self, path: &KeyPath, text: &str) -> Option<Dist> {
        Dist::parse(text).map_err(|e| self.report(path, e)).ok()
    }

    pub(super) fn count(
        &mut self,
        path: &KeyPath,
        value: Option<i64>,
        default: u32,
        min: i64,
        what: &str,
    ) -> Option<u32> {
        let Some(v) = value else { return Some(default) };
        if v < min {
            let need = if min == 1 {
                "at least 1".to_string()
            } else {
                format!("at least {min}")
            };
            self.report(path, format!("{what} must be {need}, found {v}"));
            return None;
        }
        match u32::try_from(v) {
            Ok(n) => Some(n),
            Err(_) => {
                self.report(path, format!("{what} is too large: {v}"));
                None
            }
        }
    }
}

pub(super) fn validate(raw: RawScenario, file: &Path, loc: &Locator) -> Result<Scenario, Vec<Problem>> {
    let mut cx = Ctx {
        loc,
        problems: Vec::new(),
    };
    let root = KeyPath::root();

    let name = match raw.name {
        Some(n) => {
            if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) || n.starts_with('.')
            {
                cx.report(
                    &root.key("name"),
                    "a name may hold letters, digits, '-', '_' and '.' (it names the output folder)",
                );
            }
            n
        }
        None => file
            .file_stem()
            .map_or("scenario".into(), |s| s.to_string_lossy().into_owned()),
    };
    let seed = match raw.seed {
        Some(s) if s < 0 => {
            cx.report(
                &root.key("seed"),
                format!("seed must be a non-negative integer, found {s}"),
            );
            0
        }
        Some(s) => s as u64,
        None => 1,
    };
    let duration = match &raw.duration {
        None => {
            cx.report(
                &root,
                "missing key \"duration\": how long to run, e.g. duration = \"5m\"",
            );
            None
        }
        Some(d) => cx.duration(&root.key("duration"), d).and_then(|ns| {
            if ns == 0 {
                cx.report(&root.key("duration"), "duration must be longer than 0s");
                None
            } else {
                Some(ns)
            }
        }),
    };

    let stats = stats(&mut cx, &raw.stats, duration);
    let slo = slo(&mut cx, &raw.slo);
    let app = match &raw.app {
        Some(a) => app::app(&mut cx, a),
        None => {
            cx.report(
                &root,
                "missing table [app]: declare the endpoints, e.g. [app.endpoints.home] steps = [{ cpu = \"5ms\" }]",
            );
            None
        }
    };
    let traffic = match &raw.traffic {
        Some(t) => traffic::traffic(&mut cx, t, app.as_ref()),
        None => {
            cx.report(
                &root,
                "missing table [traffic]: say what hits the shop, e.g. [traffic] rate = \"100/s\"",
            );
            None
        }
    };
    let eras = era::eras(&mut cx, &raw.eras);

    if !cx.problems.is_empty() {
        return Err(cx.problems);
    }
    let (Some(duration), Some(stats), Some(slo), Some(app), Some(traffic), Some(eras)) =
        (duration, stats, slo, app, traffic, eras)
    else {
        unreachable!("every missing part reported a problem")
    };
    Ok(Scenario {
        name,
        description: raw.description.unwrap_or_default(),
        file: file.to_path_buf(),
        seed,
        duration,
        stats,
        slo,
        traffic,
        app,
        eras,
    })
}

fn stats(cx: &mut Ctx, raw: &RawStats, duration: Option<u64>) -> Option<Stats> {
    let p = KeyPath::root().key("stats");
    let window = match &raw.window {
        Some(w) => cx.duration(&p.key("window"), w)?,
        None => 1_000_000_000,
    };
    let warmup = match &raw.warmup {
        Some(w) => cx.duration(&p.key("warmup"), w)?,
        None => 0,
    };
    if window == 0 {
        cx.report(&p.key("window"), "the stats window must be longer than 0s");
        return None;
    }
    if let Some(d) = duration {
        if window > d {
            cx.report(
                &p.key("window"),
                format!(
                    "the stats window ({}) is longer than the run ({})",
                    format_duration(window),
                    format_duration(d)
                ),
            );
            return None;
        }
        if warmup >= d {
            cx.report(
                &p.key("warmup"),
                format!(
                    "the warm-up ({}) must end before the run does ({})",
                    format_duration(warmup),
                    format_duration(d)
                ),
            );
            return None;
        }
    }
    Some(Stats { window, warmup })
}

fn slo(cx: &mut Ctx, raw: &RawSlo) -> Option<Slo> {
    let p = KeyPath::root().key("slo");
    let mut latency = Vec::new();
    let mut ok = true;
    for (pct, text) in [
        (Percentile::P50, &raw.p50),
        (Percentile::P90, &raw.p90),
        (Percentile::P95, &raw.p95),
        (Percentile::P99, &raw.p99),
        (Percentile::P999, &raw.p999),
    ] {
        let Some(text) = text else { continue };
        match cx.duration(&p.key(pct.key()), text) {
            Some(max) => latency.push(LatencyObjective { percentile: pct, max }),
            None => ok = false,
        }
    }
    for w in latency.windows(2) {
        if w[1].max < w[0].max {
            cx.report(
                &p.key(w[1].percentile.key()),
                format!(
                    "{} ({}) is below {} ({}): a higher percentile cannot be faster",
                    w[1].percentile.key(),
                    format_duration(w[1].max),
                    w[0].percentile.key(),
                    format_duration(w[0].max)
                ),
            );
            ok = false;
        }
    }
    let error_rate = match &raw.error_rate {
        Some(t) => match parse_percent(t) {
            Ok(f) => Some(f),
            Err(e) => {
                cx.report(&p.key("error_rate"), e);
                ok = false;
                None
            }
        },
        None => None,
    };
    ok.then_some(Slo { latency, error_rate })
}
