//! The scenario: one TOML file describing the application, its traffic, the
//! architectures (eras) to run it on and what counts as good enough (SLO).
//!
//! Loading is two-staged: serde reads the file into raw structs that reject
//! unknown keys, then validation turns them into the types below, which
//! cannot hold a bad value. Errors name the file, line, column and key.

mod app;
pub mod calibrate;
mod dist;
mod era;
mod error;
mod fault;
mod haproxy;
pub mod limits;
mod locate;
mod mix;
mod phase;
mod plan;
mod raw;
mod settings;
mod traffic;
pub mod units;
mod validate;

use std::path::{Path, PathBuf};

use units::format_duration;

pub use app::{App, Endpoint, Lock, Op, OpRef, Overhead, Query, Service, Step, Transaction, Work};
pub use dist::{Dist, DistKind};
pub use era::{
    Architecture, Era, FpmPool, Gold, Host, Kernel, Listen, MODELS, MySql, Network, Nginx, Placement, ProcessManager,
    RpcSettings, Silver, Stack,
};
pub use error::{Problem, ScenarioError};
pub use fault::{Fault, FaultKind, LB_MASTER};
pub use haproxy::{Balance, Haproxy, HashType, HealthCheck};
pub use locate::{KeyPath, Locator, Position};
pub use mix::{Mix, lerp};
pub use phase::{MAX_PHASES, Phase, derive as derive_phases};
pub use plan::{KnobRange, KnobRanges, PlanSpec, PmChoice};
pub use settings::{Origin, Setting};
pub use traffic::{RateProfile, Traffic, Workload};

/// A validated scenario. Durations are integer nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Names the output folder; defaults to the file's stem.
    pub name: String,
    pub description: String,
    pub file: PathBuf,
    pub seed: u64,
    pub duration: u64,
    pub stats: Stats,
    pub slo: Slo,
    pub traffic: Traffic,
    pub app: App,
    pub eras: Vec<Era>,
    /// The stretches the report gives apart: the scenario's `[[phases]]`,
    /// or phases derived from the rate profile, which partition the run.
    pub phases: Vec<Phase>,
    /// `[plan]`: what `lab plan` searches, with its defaults.
    pub plan: PlanSpec,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Length of one statistics window.
    pub window: u64,
    /// Windows that start before this are left out of whole-run figures.
    pub warmup: u64,
}

/// Service-level objectives: latency percentiles of successful responses and
/// the share of requests that fail.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Slo {
    /// Ordered by percentile, each bound no lower than the one before.
    pub latency: Vec<LatencyObjective>,
    pub error_rate: Option<f64>,
    /// `[slo] during = "<phase>"`: the objectives are judged on that
    /// phase's windows only.
    pub during: Option<Phase>,
    /// `[slo.endpoints.<name>]`: objectives for one endpoint's requests,
    /// in the file's order; their own `endpoints` are empty.
    pub endpoints: Vec<(String, Slo)>,
}

impl Slo {
    /// True when nothing is asked, of the whole run or of any endpoint.
    pub fn is_empty(&self) -> bool {
        self.latency.is_empty() && self.error_rate.is_none() && self.endpoints.is_empty()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyObjective {
    pub percentile: Percentile,
    pub max: u64,
}

/// The percentiles an SLO or a report speaks of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Percentile {
    P50,
    P90,
    P95,
    P99,
    P999,
}

impl Percentile {
    pub const ALL: [Percentile; 5] = [
        Percentile::P50,
        Percentile::P90,
        Percentile::P95,
        Percentile::P99,
        Percentile::P999,
    ];

    pub fn quantile(self) -> f64 {
        match self {
            Percentile::P50 => 0.5,
            Percentile::P90 => 0.9,
            Percentile::P95 => 0.95,
            Percentile::P99 => 0.99,
            Percentile::P999 => 0.999,
        }
    }

    /// The key used in scenarios, CSV columns and summary.json.
    pub fn key(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P95 => "p95",
            Percentile::P99 => "p99",
            Percentile::P999 => "p999",
        }
    }
}

impl Stats {
    /// What is wrong with these windows for a run of `duration`, by key
    /// under `[stats]`.
    fn problems(window: u64, warmup: u64, duration: u64) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if window > duration {
            out.push((
                "window",
                format!(
                    "the stats window ({}) is longer than the run ({})",
                    format_duration(window),
                    format_duration(duration)
                ),
            ));
        } else if duration.div_ceil(window) > limits::MAX_WINDOWS {
            out.push((
                "window",
                format!(
                    "{} windows of {} in a {} run: at most {} are kept (each holds histograms and gauges); make the window at least {}",
                    duration.div_ceil(window),
                    format_duration(window),
                    format_duration(duration),
                    limits::MAX_WINDOWS,
                    format_duration(duration.div_ceil(limits::MAX_WINDOWS))
                ),
            ));
        }
        if warmup >= duration {
            out.push((
                "warmup",
                format!(
                    "the warm-up ({}) must end before the run does ({})",
                    format_duration(warmup),
                    format_duration(duration)
                ),
            ));
        } else if window > 0 && window <= duration && warmup.div_ceil(window).saturating_mul(window) >= duration {
            // Windows after the warm-up are the ones measured: a warm-up
            // that ends inside the last window leaves none.
            out.push((
                "warmup",
                format!(
                    "no statistics window starts after the warm-up ({}) and before the run ends ({}) with {} windows: shorten the warm-up or the window",
                    format_duration(warmup),
                    format_duration(duration),
                    format_duration(window)
                ),
            ));
        }
        out
    }
}

impl Scenario {
    /// Why a plan at a peak rate of `target` would simulate more than a run
    /// may (the limit validation applies to `[plan] target`), if it would.
    pub fn target_problem(&self, target: f64) -> Option<String> {
        let remote = self.eras.iter().any(|e| e.arch.calls_are_remote());
        validate::target_work_problem(&self.traffic, &self.app, self.duration, remote, target)
    }

    /// Runs the scenario for `duration` instead (the rate profile's last
    /// rate holds), after the checks validation makes of a duration: the
    /// error says which limit the new length breaks.
    pub fn set_duration(&mut self, duration: u64) -> Result<(), String> {
        if duration == 0 {
            return Err("a run must be longer than 0s".into());
        }
        if duration > limits::MAX_DURATION_NS {
            return Err(format!(
                "a run lasts at most {} (a year) of virtual time",
                format_duration(limits::MAX_DURATION_NS)
            ));
        }
        let mut problems: Vec<String> = Stats::problems(self.stats.window, self.stats.warmup, duration)
            .into_iter()
            .map(|(key, m)| format!("stats.{key} in {}: {m}", self.file.display()))
            .collect();
        let remote = self.eras.iter().any(|e| e.arch.calls_are_remote());
        problems.extend(validate::work_problem(&self.traffic, &self.app, duration, remote));
        if let Some(target) = self.plan.target {
            problems.extend(
                validate::target_work_problem(&self.traffic, &self.app, duration, remote, target)
                    .map(|m| format!("plan.target in {}: {m}", self.file.display())),
            );
        }
        problems.extend(self.eras.iter().filter_map(|e| {
            e.check_work_problem(duration)
                .map(|m| format!("era \"{}\": {m}", e.label))
        }));
        // Derived phases follow the profile over the new length; named ones
        // keep their times, except that one ending with the run still does.
        let phases = if self.phases.iter().all(|p| p.derived) {
            phase::derive(&self.traffic.workload, duration, self.stats.window)
        } else {
            self.phases
                .iter()
                .map(|p| Phase {
                    to: if p.to == self.duration { duration } else { p.to },
                    ..p.clone()
                })
                .collect()
        };
        for p in phases.iter().filter(|p| !p.derived) {
            if p.from >= duration {
                problems.push(format!(
                    "phases: \"{}\" in {} starts at {}, when a run of {} is over: give a duration longer than that",
                    p.name,
                    self.file.display(),
                    format_duration(p.from),
                    format_duration(duration)
                ));
            } else if p.to > duration {
                problems.push(format!(
                    "phases: \"{}\" in {} ends at {}, after the run: give a duration of {} at least",
                    p.name,
                    self.file.display(),
                    format_duration(p.to),
                    format_duration(p.to)
                ));
            } else if let Some(m) = p.unmeasured(&self.stats, duration) {
                problems.push(format!("phases in {}: {m}", self.file.display()));
            }
        }
        let during = match &self.slo.during {
            None => None,
            Some(d) => match phases.iter().find(|p| p.name == d.name) {
                // A named phase's problem is reported once, above.
                Some(p) if !p.derived => Some(p.clone()),
                Some(p) => match p.unmeasured(&self.stats, duration) {
                    Some(m) => {
                        problems.push(format!("slo.during in {}: {m}", self.file.display()));
                        None
                    }
                    None => Some(p.clone()),
                },
                None => {
                    problems.push(format!(
                        "slo.during in {}: the run of {} has no phase \"{}\" (its phases: {})",
                        self.file.display(),
                        format_duration(duration),
                        d.name,
                        phases.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                    None
                }
            },
        };
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        self.duration = duration;
        self.phases = phases;
        self.slo.during = during;
        Ok(())
    }

    /// The eras whose labels are listed, in the scenario's order; all of them
    /// when `labels` is empty. The error names the unknown label and the known ones.
    pub fn select_eras(&self, labels: &[String]) -> Result<Vec<&Era>, String> {
        for l in labels {
            if !self.eras.iter().any(|e| &e.label == l) {
                let known: Vec<_> = self.eras.iter().map(|e| e.label.as_str()).collect();
                return Err(format!(
                    "{} has no era \"{l}\"; it declares: {}",
                    self.file.display(),
                    known.join(", ")
                ));
            }
        }
        Ok(self
            .eras
            .iter()
            .filter(|e| labels.is_empty() || labels.contains(&e.label))
            .collect())
    }
}

/// Reads and validates a scenario file.
///
/// Reads at most [`limits::MAX_FILE_BYTES`], so that a device or a huge
/// file is refused instead of filling the memory; text that is not UTF-8
/// is reported at the line and column of its first bad byte.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    use std::io::Read;
    let read_err = |source| ScenarioError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(limits::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(ScenarioError::TooLarge {
            path: path.to_path_buf(),
            limit: limits::MAX_FILE_BYTES,
        });
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let good = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let text = String::from_utf8_lossy(&bytes[..good]);
            let pos = Locator::new(&text).position(good);
            return Err(ScenarioError::Invalid {
                file: path.to_path_buf(),
                problems: vec![Problem {
                    line: pos.line,
                    column: pos.column,
                    key: String::new(),
                    message: format!(
                        "the file is not UTF-8 text: byte 0x{:02X} here starts no character (save the file as UTF-8)",
                        bytes[good]
                    ),
                }],
            });
        }
    };
    parse(&text, path)
}

/// Validates scenario text; `file` is only used to name the file in errors
/// and to default the scenario's name.
pub fn parse(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
    let loc = Locator::new(text);
    let invalid = |problems| ScenarioError::Invalid {
        file: file.to_path_buf(),
        problems,
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let pos = loc.position(span.start);
        let mut message = e.message().trim().to_string();
        if message == "duplicate key" {
            let key = text.get(span.clone()).unwrap_or("").trim();
            message = format!("duplicate key \"{}\": each key is written once per table", limits::echo(key));
        } else if message.contains("i128") || message.contains("too large") {
            message = format!("a number too large: TOML integers lie between {} and {}", i64::MIN, i64::MAX);
        } else if message.contains("recursion") {
            message = "arrays, tables or dotted keys are nested deeper than this reader allows; a scenario needs a few levels".into();
        }
        invalid(vec![Problem {
            line: pos.line,
            column: pos.column,
            key: loc.path_at(span.start).to_string(),
            message,
        }])
    })?;
    let raw = raw::Field::<raw::RawScenario>::read(toml::Value::Table(table));
    validate::validate(&raw, file, &loc).map_err(invalid)
}
