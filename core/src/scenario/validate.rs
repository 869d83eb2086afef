//! Stage two: raw serde structs to validated types. Every check reports the
//! key path; `Ctx` turns it into a line and column. Checking goes on after a
//! problem so that one run lists them all: each function evaluates every
//! key it owns before it combines them, so a bad key never hides another.

mod app;
mod era;
mod fault;
mod phase;
mod plan;
mod traffic;

pub(super) use era::{host, stack};
pub(super) use plan::target_work_problem;
pub(super) use traffic::work_problem;

use std::path::Path;

use super::dist::Dist;
use super::error::Problem;
use super::limits::{self, echo};
use super::locate::{KeyPath, Locator};
use super::raw::*;
use super::units::{format_duration, parse_duration, parse_percent};
use super::{App, LatencyObjective, Percentile, Phase, Scenario, Slo, Stats};

pub(in crate::scenario) struct Ctx<'a, 't> {
    loc: &'a Locator<'t>,
    problems: Vec<Problem>,
    /// Every key the file wrote, as its path: what `lab check` marks as
    /// set by the scenario, recorded here as each key is read so that the
    /// provenance never drifts from what validation actually used.
    given: std::collections::HashSet<String>,
}

/// The value of a key that may be absent: `Some(None)` when absent,
/// `Some(Some(v))` when written well, `None` when written badly (reported).
pub(super) type Got<'f, T> = Option<Option<&'f T>>;

impl<'a, 't> Ctx<'a, 't> {
    pub(super) fn new(loc: &'a Locator<'t>) -> Ctx<'a, 't> {
        Ctx {
            loc,
            problems: Vec::new(),
            given: std::collections::HashSet::new(),
        }
    }

    /// Whether the file wrote the key at `path` (and validation read it).
    pub(super) fn given(&self, path: &KeyPath) -> bool {
        self.given.contains(&path.to_string())
    }

    pub(super) fn report(&mut self, path: &KeyPath, message: impl Into<String>) {
        let pos = self.loc.find(path);
        self.push(pos, path, message.into());
    }

    /// A problem with a key itself (unknown, misplaced): points at the key.
    pub(super) fn report_key(&mut self, path: &KeyPath, message: impl Into<String>) {
        let pos = self.loc.find_key(path);
        self.push(pos, path, message.into());
    }

    fn push(&mut self, pos: super::Position, path: &KeyPath, message: String) {
        self.problems.push(Problem {
            line: pos.line,
            column: pos.column,
            key: path.to_string(),
            message,
        });
    }

    /// Every problem, in the order they appear in the file.
    pub(super) fn into_problems(mut self) -> Vec<Problem> {
        self.problems.sort_by_key(|p| (p.line, p.column));
        self.problems
    }

    /// The value of a field, its unknown keys and a wrong type reported;
    /// `what` says what the key takes, for "expected …, found …".
    pub(super) fn field<'f, T: Shape>(&mut self, path: &KeyPath, f: &'f Field<T>, what: &str) -> Option<&'f T> {
        for (key, expected) in &f.unknown {
            let where_ = if path.segments().is_empty() {
                "the top level".to_string()
            } else {
                format!("[{path}]")
            };
            self.report_key(
                &path.key(key),
                format!("unknown key \"{}\": {where_} takes {expected}", echo(key)),
            );
        }
        match &f.wrong {
            None => f.value.as_ref(),
            Some(Wrong::Found(found)) => {
                let what = if what.is_empty() { T::WHAT } else { what };
                self.report(path, format!("expected {what}, found {found}"));
                None
            }
            Some(Wrong::Other(msg)) => {
                self.report(path, msg.clone());
                None
            }
        }
    }

    /// An optional key: see [`Got`].
    pub(super) fn get<'f, T: Shape>(&mut self, path: &KeyPath, f: &'f Opt<T>) -> Got<'f, T> {
        self.get_as(path, f, "")
    }

    pub(super) fn get_as<'f, T: Shape>(&mut self, path: &KeyPath, f: &'f Opt<T>, what: &str) -> Got<'f, T> {
        match f {
            None => Some(None),
            Some(f) => {
                self.given.insert(path.to_string());
                self.field(path, f, what).map(Some)
            }
        }
    }

    /// An optional table: absent reads as its default (every key absent).
    pub(super) fn table<'f, T: Shape>(&mut self, path: &KeyPath, f: &'f Opt<T>, default: &'f T) -> Option<&'f T> {
        self.get(path, f).map(|t| t.unwrap_or(default))
    }

    /// A duration key: absent → `Some(None)`.
    pub(super) fn duration(&mut self, path: &KeyPath, f: &Opt<String>) -> Option<Option<u64>> {
        match self.get_as(path, f, DURATION)? {
            None => Some(None),
            Some(text) => self.parse_duration(path, text).map(Some),
        }
    }

    pub(super) fn parse_duration(&mut self, path: &KeyPath, text: &str) -> Option<u64> {
        parse_duration(text).map_err(|e| self.report(path, e)).ok()
    }

    /// A timeout: a duration, or `"off"` (also `"0s"`) for none.
    pub(super) fn timeout(&mut self, path: &KeyPath, f: &Opt<String>, default: Option<u64>) -> Option<Option<u64>> {
        match self
            .get_as(path, f, "a duration such as \"30s\", or \"off\"")?
            .map(|s| s.trim())
        {
            None => Some(default),
            Some("off") => Some(None),
            Some(t) => self.parse_duration(path, t).map(|ns| (ns > 0).then_some(ns)),
        }
    }

    /// A distribution key: absent → `Some(None)`.
    pub(super) fn dist(&mut self, path: &KeyPath, f: &Opt<String>) -> Option<Option<Dist>> {
        match self.get_as(path, f, DIST)? {
            None => Some(None),
            Some(text) => Dist::parse(text).map_err(|e| self.report(path, e)).ok().map(Some),
        }
    }

    /// A key that names one of a few choices (`balance`, `pm`, a fault's
    /// `kind`…): absent → `Some(None)`. Every such key says the same thing
    /// about a name it does not know, or a value that is not a string:
    /// `noun` names the key in "unknown {noun} \"x\": expected …". A name
    /// may carry a note for that message, `"tcp (a port such as …)"`.
    pub(super) fn choice<T: Clone>(
        &mut self,
        path: &KeyPath,
        f: &Opt<String>,
        noun: &str,
        names: &[(&str, T)],
    ) -> Option<Option<T>> {
        match f {
            None => Some(None),
            Some(f) => {
                self.given.insert(path.to_string());
                self.pick(path, f, noun, names).map(Some)
            }
        }
    }

    /// [`Ctx::choice`] for a value that is there, such as one element of a
    /// list of choices.
    pub(super) fn pick<T: Clone>(
        &mut self,
        path: &KeyPath,
        f: &Field<String>,
        noun: &str,
        names: &[(&str, T)],
    ) -> Option<T> {
        let plain = one_of(names.iter().map(|(n, _)| format!("\"{}\"", name_of(n))));
        let text = self.field(path, f, &plain)?;
        match names.iter().find(|(n, _)| name_of(n) == text) {
            Some((_, v)) => Some(v.clone()),
            None => {
                let noted = one_of(names.iter().map(|(n, _)| match n.split_once(" (") {
                    Some((n, note)) => format!("\"{n}\" ({note}"),
                    None => format!("\"{n}\""),
                }));
                self.report(path, format!("unknown {noun} \"{}\": expected {noted}", echo(text)));
                None
            }
        }
    }

    /// [`Ctx::choice`], `default` when absent.
    pub(super) fn choice_or<T: Clone>(
        &mut self,
        path: &KeyPath,
        f: &Opt<String>,
        noun: &str,
        names: &[(&str, T)],
        default: T,
    ) -> Option<T> {
        self.choice(path, f, noun, names).map(|c| c.unwrap_or(default))
    }

    /// A whole number in `min..=max`, `default` when absent.
    pub(super) fn count(
        &mut self,
        path: &KeyPath,
        f: &Opt<i64>,
        default: u32,
        min: u32,
        max: u32,
        what: &str,
    ) -> Option<u32> {
        let Some(&v) = self.get(path, f)? else {
            return Some(default);
        };
        self.bounded(path, v, min, max, what)
    }

    pub(super) fn bounded(&mut self, path: &KeyPath, v: i64, min: u32, max: u32, what: &str) -> Option<u32> {
        if v < i64::from(min) {
            self.report(path, format!("{what} must be at least {min}, found {v}"));
            return None;
        }
        if v > i64::from(max) {
            self.report(path, format!("{what} must be at most {}, found {v}", thousands(max)));
            return None;
        }
        Some(v as u32)
    }
}

const DURATION: &str = "a duration such as \"250ms\" or \"1m30s\"";
const DIST: &str = "a distribution such as \"exp(mean = 20ms)\" or a duration";

/// `a, b or c`: the names a key takes, for a message.
pub(super) fn one_of(names: impl IntoIterator<Item = String>) -> String {
    let names: Vec<String> = names.into_iter().collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// A choice's name without its note: `"tcp (a port)"` → `"tcp"`.
fn name_of(choice: &str) -> &str {
    choice.split_once(" (").map_or(choice, |(n, _)| n)
}

/// `1000000` as `1,000,000`.
pub(super) fn thousands(n: u32) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(super) fn validate(f: &Field<RawScenario>, file: &Path, loc: &Locator) -> Result<Scenario, Vec<Problem>> {
    let mut cx = Ctx::new(loc);
    let root = KeyPath::root();
    let Some(raw) = cx.field(&root, f, "a table of keys") else {
        return Err(cx.into_problems());
    };

    let name = name(&mut cx, raw, file);
    let description = cx.get(&root.key("description"), &raw.description);
    let seed = match cx.get(&root.key("seed"), &raw.seed) {
        None => None,
        Some(None) => Some(1),
        Some(Some(&s)) if s < 0 => {
            cx.report(
                &root.key("seed"),
                format!("seed must be a non-negative integer, found {s}"),
            );
            None
        }
        Some(Some(&s)) => Some(s as u64),
    };
    let duration = match cx.duration(&root.key("duration"), &raw.duration) {
        None => None,
        Some(None) => {
            cx.report(
                &root,
                "missing key \"duration\": how long to run, e.g. duration = \"5m\"",
            );
            None
        }
        Some(Some(0)) => {
            cx.report(&root.key("duration"), "duration must be longer than 0s");
            None
        }
        Some(Some(ns)) if ns > limits::MAX_DURATION_NS => {
            cx.report(
                &root.key("duration"),
                format!(
                    "a run lasts at most {} (a year) of virtual time, found {}",
                    format_duration(limits::MAX_DURATION_NS),
                    format_duration(ns)
                ),
            );
            None
        }
        Some(Some(ns)) => Some(ns),
    };

    let stats = stats(&mut cx, &raw.stats, duration);
    let app = match cx.get(&root.key("app"), &raw.app) {
        None => None,
        Some(None) => {
            cx.report(
                &root,
                "missing table [app]: declare the endpoints, e.g. [app.endpoints.home] steps = [{ cpu = \"5ms\" }]",
            );
            None
        }
        Some(Some(a)) => app::app(&mut cx, a),
    };
    let traffic = match cx.get(&root.key("traffic"), &raw.traffic) {
        None => None,
        Some(None) => {
            cx.report(
                &root,
                "missing table [traffic]: say what hits the shop, e.g. [traffic] rate = \"100/s\"",
            );
            None
        }
        Some(Some(t)) => traffic::traffic(&mut cx, t, app.as_ref()),
    };
    let phases = phase::phases(&mut cx, &raw.phases, duration, traffic.as_ref(), stats.as_ref());
    let slo = slo(
        &mut cx,
        &raw.slo,
        app.as_ref(),
        phases.as_deref(),
        stats.as_ref().zip(duration),
    );
    let mut eras = era::eras(&mut cx, &raw.eras);
    if let (Some(eras), Some(app)) = (eras.as_mut(), app.as_ref()) {
        super::era::gold::place_services(&mut cx, eras, app);
    }
    if let Some(eras) = eras.as_mut() {
        for e in eras {
            let p = root.key("eras").key(&e.label);
            e.settings = super::settings::describe(e, &|key: &[&str]| {
                cx.given(&key.iter().fold(p.clone(), |p, k| p.key(k)))
            });
        }
    }
    let faults = fault::faults(&mut cx, &raw.faults, eras.as_mut(), duration);
    let remote = eras.iter().flatten().any(|e| e.arch.calls_are_remote());
    if let (Some(t), Some(a), Some(d)) = (&traffic, &app, duration) {
        traffic::work(&mut cx, t, a, d, remote);
    }
    // Without the eras, whether calls are remote is unknown: the target's
    // work is then not checked rather than checked wrong.
    let run = match (&traffic, &app, duration, &eras) {
        (Some(t), Some(a), Some(d), Some(_)) => Some((t, a, d, remote)),
        _ => None,
    };
    let plan = plan::plan(&mut cx, &raw.plan, &raw.traffic, run);
    if let (Some(eras), Some(d)) = (&eras, duration) {
        for e in eras {
            if let Some(m) = e.check_work_problem(d) {
                cx.report(&root.key("eras").key(&e.label).key("haproxy").key("inter"), m);
            }
        }
    }

    if !cx.problems.is_empty() {
        return Err(cx.into_problems());
    }
    let (Some(name), Some(description), Some(seed), Some(duration), Some(stats), Some(slo), Some(app)) =
        (name, description, seed, duration, stats, slo, app)
    else {
        unreachable!("every missing part reported a problem")
    };
    let (Some(traffic), Some(eras), Some(()), Some(phases), Some(plan)) = (traffic, eras, faults, phases, plan) else {
        unreachable!("every missing part reported a problem")
    };
    Ok(Scenario {
        name,
        description: description.cloned().unwrap_or_default(),
        file: file.to_path_buf(),
        seed,
        duration,
        stats,
        slo,
        traffic,
        app,
        eras,
        phases,
        plan,
    })
}

/// A name that is safe as one path component: it names the report folder.
pub(super) fn is_safe_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 100
        && !n.starts_with('.')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn name(cx: &mut Ctx<'_, '_>, raw: &RawScenario, file: &Path) -> Option<String> {
    let path = KeyPath::root().key("name");
    match cx.get(&path, &raw.name)? {
        Some(n) => {
            if !is_safe_name(n) {
                cx.report(
                    &path,
                    format!(
                        "a name may hold ASCII letters, digits, '-', '_' and '.', not start with '.' and be at most 100 characters (it names the output folder), found \"{}\"",
                        echo(n)
                    ),
                );
                return None;
            }
            Some(n.clone())
        }
        None => {
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if is_safe_name(&stem) {
                Some(stem)
            } else {
                cx.report(
                    &KeyPath::root(),
                    format!(
                        "the file name gives no usable scenario name (\"{}\" would not stay inside the output folder): add name = \"my-scenario\" (ASCII letters, digits, '-', '_', '.')",
                        echo(&stem)
                    ),
                );
                None
            }
        }
    }
}

fn stats(cx: &mut Ctx<'_, '_>, raw: &Opt<RawStats>, duration: Option<u64>) -> Option<Stats> {
    let p = KeyPath::root().key("stats");
    let default = RawStats::default();
    let raw = cx.table(&p, raw, &default)?;
    let window = cx
        .duration(&p.key("window"), &raw.window)
        .map(|w| w.unwrap_or(1_000_000_000));
    let warmup = cx.duration(&p.key("warmup"), &raw.warmup).map(|w| w.unwrap_or(0));
    let (window, warmup) = (window?, warmup?);
    if window == 0 {
        cx.report(&p.key("window"), "the stats window must be longer than 0s");
        return None;
    }
    let d = duration?;
    let problems = Stats::problems(window, warmup, d);
    for (key, message) in &problems {
        cx.report(&p.key(key), message.clone());
    }
    problems.is_empty().then_some(Stats { window, warmup })
}

fn slo(
    cx: &mut Ctx<'_, '_>,
    raw: &Opt<RawSlo>,
    app: Option<&App>,
    phases: Option<&[Phase]>,
    run: Option<(&Stats, u64)>,
) -> Option<Slo> {
    let p = KeyPath::root().key("slo");
    let default = RawSlo::default();
    let raw = cx.table(&p, raw, &default)?;
    let whole = objectives(
        cx,
        &p,
        [&raw.p50, &raw.p90, &raw.p95, &raw.p99, &raw.p999],
        &raw.error_rate,
    );
    let during = match (cx.get(&p.key("during"), &raw.during), phases) {
        (None, _) => None,
        (Some(None), _) => Some(None),
        (Some(Some(_)), None) => None,
        (Some(Some(name)), Some(phases)) => match phases.iter().find(|ph| &ph.name == name) {
            // A derived phase inside the warm-up has no figures to judge.
            Some(ph) => match run.and_then(|(st, d)| ph.unmeasured(st, d)) {
                Some(problem) => {
                    cx.report(&p.key("during"), problem);
                    None
                }
                None => Some(Some(ph.clone())),
            },
            None => {
                cx.report(
                    &p.key("during"),
                    format!(
                        "no phase \"{}\": the scenario's phases are {}",
                        echo(name),
                        one_of(phases.iter().map(|ph| ph.name.clone()))
                    ),
                );
                None
            }
        },
    };
    let mut endpoints = Vec::new();
    let mut ok = true;
    let ep = p.key("endpoints");
    let table = cx.get(&ep, &raw.endpoints)?;
    if let (Some(app), Some(t)) = (app, table)
        && !t.is_empty()
        && app.endpoints.len() > crate::record::MAX_SPLIT_ENDPOINTS
    {
        // Past the limit the record keeps only the totals: an endpoint's
        // objective would have nothing to be judged on.
        cx.report(
            &ep,
            format!(
                "objectives per endpoint need at most {} endpoints; this app has {} (the record keeps only totals past the limit): judge the whole run in [slo] instead",
                crate::record::MAX_SPLIT_ENDPOINTS,
                app.endpoints.len()
            ),
        );
        return None;
    }
    for (name, f) in table.into_iter().flatten() {
        let np = ep.key(name);
        let Some(r) = cx.field(&np, f, "") else {
            ok = false;
            continue;
        };
        if let Some(app) = app
            && !app.endpoints.iter().any(|e| &e.name == name)
        {
            cx.report_key(
                &np,
                format!(
                    "unknown endpoint \"{}\": [slo.endpoints] takes {}",
                    echo(name),
                    one_of(app.endpoints.iter().map(|e| e.name.clone()))
                ),
            );
            ok = false;
        }
        match objectives(cx, &np, [&r.p50, &r.p90, &r.p95, &r.p99, &r.p999], &r.error_rate) {
            Some(o) => endpoints.push((name.clone(), o)),
            None => ok = false,
        }
    }
    let mut whole = whole?;
    whole.endpoints = endpoints;
    whole.during = during?;
    ok.then_some(whole)
}

/// The objectives of one table of `[slo]`, the whole run's or an
/// endpoint's: the p50, p90, p95, p99 and p999 limits and the error rate.
fn objectives(cx: &mut Ctx<'_, '_>, p: &KeyPath, limits: [&Opt<String>; 5], error_rate: &Opt<String>) -> Option<Slo> {
    let mut latency = Vec::new();
    let mut ok = true;
    let percentiles = [
        Percentile::P50,
        Percentile::P90,
        Percentile::P95,
        Percentile::P99,
        Percentile::P999,
    ];
    for (pct, text) in percentiles.into_iter().zip(limits) {
        match cx.duration(&p.key(pct.key()), text) {
            Some(Some(max)) => latency.push(LatencyObjective { percentile: pct, max }),
            Some(None) => {}
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
    let error_rate = match cx.get_as(&p.key("error_rate"), error_rate, "a percentage such as \"1%\"") {
        None => None,
        Some(None) => Some(None),
        Some(Some(t)) => match parse_percent(t) {
            Ok(f) => Some(Some(f)),
            Err(e) => {
                cx.report(&p.key("error_rate"), e);
                None
            }
        },
    };
    let error_rate = error_rate?;
    ok.then_some(Slo {
        latency,
        error_rate,
        during: None,
        endpoints: Vec::new(),
    })
}
