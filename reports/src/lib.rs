//! # lab-reports
//!
//! Turns the records of a run into what people read:
//!
//! - [`summary::build`] → a [`Summary`] (whole-run figures and SLO verdicts
//!   per era), written as `summary.json`;
//! - [`table::render`] → the terminal table `lab run` prints;
//! - [`write`] → the report folder: `index.html` with the charts inlined,
//!   each chart as SVG and PNG, one CSV of time series per era, and
//!   `summary.json`;
//! - [`validation::compare`] → a [`validation::Validation`]: a simulated
//!   and a measured record of one era compared metric by metric, level by
//!   level, against pass/fail bands; [`write_validation`] writes both runs'
//!   report with that table and `validation.json`.
//!
//! ```no_run
//! # fn demo(scenario: &lab_core::Scenario, records: &[lab_core::Record]) -> Result<(), lab_reports::ReportError> {
//! let report = lab_reports::write(scenario, records, std::path::Path::new("out/flash-sale"))?;
//! println!("{}", lab_reports::table::render(&report.summary));
//! # Ok(()) }
//! ```

pub mod bottleneck;
pub mod charts;
pub mod html;
pub mod replications;
pub mod series;
pub mod summary;
pub mod table;
pub mod validation;

use std::path::{Path, PathBuf};

use lab_core::{Record, Scenario};
use rayon::prelude::*;

pub use summary::Summary;

use charts::{Comparison, Endpoints, Latency, Rendered, Replicated, Services, Throughput, Utilisation};
use replications::EraReplications;

/// Why a report could not be written. The cause is the error's source, so
/// that a printed chain (`{:#}`) shows it once.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot create the report folder {} (check the path given to --out and its permissions)", path.display())]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}", path.display())]
    Csv { path: PathBuf, source: csv::Error },
    #[error("cannot draw a chart: {0}")]
    Chart(String),
}

/// What [`write`] produced.
pub struct Report {
    pub summary: Summary,
    pub dir: PathBuf,
    /// Every file written, relative to `dir`.
    pub files: Vec<String>,
}

enum Job<'a> {
    Compare(Comparison<'a>),
    Latency(Latency<'a>),
    Throughput(Throughput<'a>),
    Utilisation(Utilisation<'a>),
    Services(Services<'a>),
    Endpoints(Endpoints<'a>),
    Replicated(Replicated<'a>),
}

impl Job<'_> {
    fn render(&self, dir: &Path) -> Result<Rendered, String> {
        match self {
            Job::Compare(p) => charts::render(p, dir),
            Job::Latency(p) => charts::render(p, dir),
            Job::Throughput(p) => charts::render(p, dir),
            Job::Utilisation(p) => charts::render(p, dir),
            Job::Services(p) => charts::render(p, dir),
            Job::Endpoints(p) => charts::render(p, dir),
            Job::Replicated(p) => charts::render(p, dir),
        }
    }
}

/// Writes the report folder for `records` (one per era, in order) and
/// returns the summary. Charts are drawn in parallel.
pub fn write(scenario: &Scenario, records: &[Record], dir: &Path) -> Result<Report, ReportError> {
    write_with(scenario, records, &[], dir, "")
}

/// [`write`] for a run with replications: `records` are the first
/// replication's (the scenario's own seed), `reps` each era's figures over
/// all of them, in the same order. The summary, the page and summary.json
/// gain the means with their 95 % intervals and a band chart per era.
pub fn write_replicated(
    scenario: &Scenario,
    records: &[Record],
    reps: &[EraReplications],
    dir: &Path,
) -> Result<Report, ReportError> {
    write_with(scenario, records, reps, dir, "")
}

/// Writes the report of a simulated and a measured run of one era side by
/// side (as two eras, `<era> · simulated` and `<era> · measured`), with
/// the table of [`validation::compare`] under the summary and as
/// `validation.json`.
pub fn write_validation(
    scenario: &Scenario,
    simulated: &Record,
    measured: &Record,
    bands: validation::Bands,
    dir: &Path,
) -> Result<(Report, validation::Validation), ReportError> {
    let mut v = validation::compare(simulated, measured, bands);
    let faults = scenario
        .eras
        .iter()
        .find(|e| e.label == simulated.meta.era)
        .map_or(&[][..], |e| &e.faults[..]);
    // Each fault's own disruption, beside the longest one (which may be
    // one no fault explains).
    v.rows
        .extend(validation::fault_rows(simulated, measured, bands, faults));
    v.pass = !v.rows.is_empty() && v.rows.iter().all(|r| r.pass);
    let mut records = [simulated.clone(), measured.clone()];
    for r in &mut records {
        r.meta.era = format!("{} · {}", r.meta.era, r.meta.source.key());
    }
    let mut report = write_with(scenario, &records, &[], dir, &validation::html(&v))?;
    let path = dir.join("validation.json");
    let json = serde_json::to_string_pretty(&v).expect("the validation serialises");
    std::fs::write(&path, json + "\n").map_err(|source| ReportError::Write { path, source })?;
    report.files.push("validation.json".to_string());
    Ok((report, v))
}

fn write_with(
    scenario: &Scenario,
    records: &[Record],
    reps: &[EraReplications],
    dir: &Path,
    after_summary: &str,
) -> Result<Report, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Folder {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut summary = summary::build(scenario, records);
    if !reps.is_empty() {
        summary.replications = Some(reps.to_vec());
    }
    let after_summary = format!("{}{after_summary}", html::replications(reps));
    let mut files = Vec::new();

    let json_path = dir.join("summary.json");
    let json = serde_json::to_string_pretty(&summary).expect("the summary serialises");
    std::fs::write(&json_path, json + "\n").map_err(|source| ReportError::Write {
        path: json_path,
        source,
    })?;
    files.push("summary.json".to_string());

    for r in records {
        let name = summary::csv_name(&r.meta.era);
        let path = dir.join(&name);
        let file = std::fs::File::create(&path).map_err(|source| ReportError::Write {
            path: path.clone(),
            source,
        })?;
        series::write(r, std::io::BufWriter::new(file)).map_err(|source| ReportError::Csv { path, source })?;
        files.push(name);
    }

    // Comparing eras needs two of them.
    let compare = records.len() > 1;
    let mut jobs = Vec::new();
    if compare {
        jobs.push(Job::Compare(Comparison(records)));
    }
    for (i, r) in records.iter().enumerate() {
        for j in era_charts(r, reps.get(i)) {
            jobs.push(j);
        }
    }
    let mut rendered: Vec<Rendered> = jobs
        .par_iter()
        .map(|j| j.render(dir))
        .collect::<Result<_, _>>()
        .map_err(ReportError::Chart)?;
    for c in &rendered {
        files.push(format!("{}.svg", c.id));
        files.push(format!("{}.png", c.id));
    }
    let comparison = compare.then(|| rendered.remove(0));
    let mut per_era = Vec::new();
    let mut rest = rendered.into_iter();
    for r in records {
        let charts = era_charts(r, None).len() + usize::from(!reps.is_empty());
        per_era.push((r.meta.era.clone(), rest.by_ref().take(charts).collect::<Vec<_>>()));
    }
    let page = html::page(&summary, comparison.as_ref(), &per_era, &after_summary);
    let index = dir.join("index.html");
    std::fs::write(&index, page).map_err(|source| ReportError::Write { path: index, source })?;
    files.push("index.html".to_string());
    Ok(Report {
        summary,
        dir: dir.to_path_buf(),
        files,
    })
}

/// An era's charts, in the order the page shows them.
fn era_charts<'a>(r: &'a Record, reps: Option<&'a EraReplications>) -> Vec<Job<'a>> {
    let mut jobs = vec![Job::Latency(Latency(r))];
    if let Some(reps) = reps {
        jobs.push(Job::Replicated(Replicated(r, reps)));
    }
    if charts::has_endpoints(r) {
        jobs.push(Job::Endpoints(Endpoints(r)));
    }
    jobs.push(Job::Throughput(Throughput(r)));
    jobs.push(Job::Utilisation(Utilisation(r)));
    if !charts::service_waits(r).is_empty() {
        jobs.push(Job::Services(Services(r)));
    }
    jobs
}
