//! The scenario: one TOML file describing the application, its traffic, the
//! architectures (eras) to run it on and what counts as good enough (SLO).
//!
//! Loading is two-staged: serde reads the file into raw structs that reject
//! unknown keys, then validation turns them into the types below, which
//! cannot hold a bad value. Errors name the file, line, column and key.

mod app;
mod dist;
mod era;
mod error;
mod locate;
mod raw;
mod traffic;
pub mod units;
mod validate;

use std::path::{Path, PathBuf};

pub use app::{App, Endpoint, Lock, Query, Step};
pub use dist::{Dist, DistKind};
pub use era::{Architecture, Era, FpmPool, Host, MODELS, MySql, Network, Nginx, ProcessManager, Stack};
pub use error::{Problem, ScenarioError};
pub use locate::{KeyPath, Locator, Position};
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

impl Scenario {
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
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.to_path_buf(),
        source,
    })?;
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
    let raw: raw::RawScenario = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let pos = loc.position(offset);
        invalid(vec![Problem {
            line: pos.line,
            column: pos.column,
            key: loc.path_at(offset).to_string(),
            message: e.message().trim().to_string(),
        }])
    })?;
    validate::validate(raw, file, &loc).map_err(invalid)
}
