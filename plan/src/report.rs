//! The plan's report folder: `index.html` (charts inlined), `summary.json`
//! (the whole [`Plan`]), each era's two charts as SVG and PNG, and
//! `<era>.toml` holding the keys of its cheapest configuration.

mod charts;
mod html;

use std::path::{Path, PathBuf};

use lab_core::record::thousands;
use lab_core::scenario::Percentile;
use rayon::prelude::*;
use serde::Serialize;

use crate::capacity::{Bound, Capacity};
use crate::era_plan::Plan;

pub use charts::{Curve, Use};

/// The name `summary.json` gives its own layout.
pub const SCHEMA: &str = "lab-plan/1";

/// Why a plan's report could not be written. The cause is the error's
/// source, so that a printed chain (`{:#}`) shows it once.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot create the report folder {} (check the path given to --out and its permissions)", path.display())]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot write {} as JSON", path.display())]
    Json { path: PathBuf, source: serde_json::Error },
    #[error("cannot draw the chart {}: {message}", path.display())]
    Chart { path: PathBuf, message: String },
}

#[derive(Serialize)]
struct Summary<'a> {
    schema: &'static str,
    lab_version: &'static str,
    scenario: ScenarioRef,
    plan: &'a Plan,
}

#[derive(Serialize)]
struct ScenarioRef {
    name: String,
    file: String,
}

/// Writes the plan's report into `dir` (created if needed): index.html,
/// summary.json, each era's charts (SVG + PNG) and `<era>.toml`: the scenario with the era's
/// cheapest configuration written in (or, when its file could not be rewritten, the keys to set).
pub fn write(plan: &Plan, scenario: &lab_core::Scenario, dir: &Path) -> Result<PathBuf, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Folder {
        path: dir.to_path_buf(),
        source,
    })?;
    let put = |name: &str, text: &str| -> Result<(), ReportError> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| ReportError::Write { path, source })
    };
    let file = scenario.file.display().to_string();
    let summary = Summary {
        schema: SCHEMA,
        lab_version: env!("CARGO_PKG_VERSION"),
        scenario: ScenarioRef {
            name: scenario.name.clone(),
            file: file.clone(),
        },
        plan,
    };
    let json = serde_json::to_string_pretty(&summary).map_err(|source| ReportError::Json {
        path: dir.join("summary.json"),
        source,
    })?;
    put("summary.json", &(json + "\n"))?;

    let slo: Vec<(String, f64)> = scenario
        .slo
        .latency
        .iter()
        .map(|o| (percentile_name(o.percentile).to_string(), o.max as f64 / 1e6))
        .collect();
    let pages = plan
        .eras
        .par_iter()
        .map(|e| {
            let stem = file_stem(&e.era);
            let curve = Curve {
                id: format!("plan-{stem}-curve"),
                era: e,
                slo: slo.clone(),
                replications: plan.replications,
            };
            let uses = Use {
                id: format!("plan-{stem}-utilisation"),
                era: e,
                phase: plan.busiest_phase.clone(),
            };
            let failed = |id: String, message: String| ReportError::Chart {
                path: dir.join(format!("{id}.svg")),
                message,
            };
            let charts = vec![
                lab_reports::charts::render(&curve, dir).map_err(|m| failed(curve.id.clone(), m))?,
                lab_reports::charts::render(&uses, dir).map_err(|m| failed(uses.id.clone(), m))?,
            ];
            // The whole scenario with the winner written in when the file
            // could be rewritten (`lab run` takes it as it is), else the keys.
            let fragment_file = match e.scenario_file.as_ref().or(e.fragment.as_ref()) {
                Some(f) => {
                    let name = format!("{stem}.toml");
                    put(&name, f)?;
                    Some(name)
                }
                None => None,
            };
            let cost_unit = scenario
                .eras
                .iter()
                .find(|x| x.label == e.era)
                .map(|x| crate::knobs::cost(x).1.to_string())
                .or_else(|| e.cheapest.as_ref().map(|c| c.cost_unit.clone()))
                .unwrap_or_else(|| "/h".into());
            Ok(html::EraPage {
                plan: e,
                cost_unit,
                charts,
                fragment_file,
            })
        })
        .collect::<Result<Vec<_>, ReportError>>()?;
    put("index.html", &html::page(plan, &file, &pages))?;
    Ok(dir.join("index.html"))
}

/// A label as a file name: an era's label may hold anything TOML quotes.
fn file_stem(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn percentile_name(p: Percentile) -> &'static str {
    match p {
        Percentile::P50 => "p50",
        Percentile::P90 => "p90",
        Percentile::P95 => "p95",
        Percentile::P99 => "p99",
        Percentile::P999 => "p999",
    }
}

/// An offered load as people read it: `2,710` (thousands apart), `45.5`,
/// `0.75`, `50`; a load so small that whole numbers would round it away
/// keeps its decimals.
pub(crate) fn load(v: f64) -> String {
    if !v.is_finite() {
        "∞".into()
    } else if v >= 100.0 {
        thousands(v)
    } else {
        let s = if v >= 10.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.2}")
        };
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The capacity with its interval: `2,710/s (2,650–2,770)`, `≥ 12,000/s`
/// when the search stopped at the largest run, `< 0.49/s` when the SLO
/// failed even at the smallest.
pub(crate) fn capacity_figure(c: &Capacity) -> String {
    let u = &c.unit;
    match c.bound {
        Bound::AtLeast => format!("≥ {}{u}", load(c.offered)),
        Bound::Below => format!("< {}{u}", load(c.offered_high)),
        Bound::Converged | Bound::Wide => format!(
            "{}{u} ({}–{})",
            load(c.offered),
            load(c.offered_low),
            load(c.offered_high)
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use lab_core::scenario::{KnobRange, KnobRanges};

    use super::*;
    use crate::era_plan::{Options, plan};

    const TINY: &str = r#"
duration = "20s"
[traffic]
rate = "50/s"
[slo]
p99 = "100ms"
[app.endpoints.page]
steps = [{ cpu = "exp(mean = 10ms)" }]
[eras.stone]
"#;

    /// Planned once for every test: the search runs a few dozen points.
    fn planned() -> (Plan, lab_core::Scenario) {
        static PLANNED: std::sync::OnceLock<(Plan, lab_core::Scenario)> = std::sync::OnceLock::new();
        PLANNED.get_or_init(plan_tiny).clone()
    }

    fn plan_tiny() -> (Plan, lab_core::Scenario) {
        let s = lab_core::scenario::parse(TINY, Path::new("tiny.toml")).unwrap();
        let o = Options {
            replications: 2,
            tolerance: 0.2,
            target: 1.0,
            target_source: "the scenario's own".into(),
            ranges: KnobRanges {
                host_cores: Some(KnobRange { min: 1, max: 2 }),
                max_children: Some(KnobRange { min: 4, max: 8 }),
                max_connections: Some(KnobRange { min: 10, max: 10 }),
                ..KnobRanges::default()
            },
            cheapest: true,
            steady: false,
        };
        let eras: Vec<_> = s.eras.iter().collect();
        let p = plan(&s, &eras, &o, &mut |_, _| {}).unwrap();
        (p, s)
    }

    #[test]
    fn a_plan_writes_its_page_summary_charts_and_fragment() {
        let (p, s) = planned();
        let dir = tempfile::tempdir().unwrap();
        let index = write(&p, &s, dir.path()).unwrap();
        let html = std::fs::read_to_string(&index).unwrap();
        let e = &p.eras[0];
        assert!(html.contains("Era: stone"), "era section");
        assert!(html.contains(&capacity_figure(&e.capacity)), "capacity figure");
        let fragment = e.fragment.as_ref().expect("a configuration meets 50/s");
        assert!(
            html.contains(&lab_reports::html::escape(fragment)),
            "fragment in a <pre>"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("stone.toml")).unwrap(),
            *fragment
        );
        for f in ["plan-stone-curve", "plan-stone-utilisation"] {
            for ext in ["svg", "png"] {
                let path = dir.path().join(format!("{f}.{ext}"));
                assert!(std::fs::metadata(&path).unwrap().len() > 0, "{}", path.display());
            }
            assert!(html.contains(&format!("<figure id=\"{f}\">")));
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap()).unwrap();
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(json["scenario"]["file"], "tiny.toml");
        assert!(json["plan"]["eras"][0]["capacity"]["multiplier"].is_f64());
        let winner = &json["plan"]["eras"][0]["cheapest"]["winner"];
        assert!(winner["settings"]["host.cores"].is_string(), "{winner}");
    }

    #[test]
    fn an_unbounded_capacity_is_null_in_json_and_at_least_on_the_page() {
        let (mut p, s) = planned();
        let c = &mut p.eras[0].capacity;
        c.bound = Bound::AtLeast;
        c.high = f64::INFINITY;
        c.offered_high = f64::INFINITY;
        let v = serde_json::to_value(&p).unwrap();
        assert!(v["eras"][0]["capacity"]["high"].is_null());
        assert!(v["eras"][0]["capacity"]["offered_high"].is_null());
        assert!(v["eras"][0]["capacity"]["low"].is_f64());
        let dir = tempfile::tempdir().unwrap();
        let html = std::fs::read_to_string(write(&p, &s, dir.path()).unwrap()).unwrap();
        assert!(html.contains("≥ "), "at least");
    }

    #[test]
    fn loads_read_with_their_figures() {
        assert_eq!(load(2710.4), "2,710");
        assert_eq!(load(45.55), "45.5");
        assert_eq!(load(0.754), "0.75");
        assert_eq!(load(50.0), "50");
        assert_eq!(load(0.0), "0");
        assert_eq!(load(f64::INFINITY), "∞");
    }

    #[test]
    fn an_unwritable_folder_names_its_path() {
        let (p, s) = planned();
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let err = write(&p, &s, &blocker.join("out")).unwrap_err();
        assert!(err.to_string().contains("file/out"), "{err}");
    }
}
