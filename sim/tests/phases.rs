//! Phases: derived ones partition the run, and an SLO judged during one
//! sees only its windows.

mod support;

use lab_core::record::Verdict;
use lab_core::scenario::Percentile;
use support::run;

/// 20 s at 50/s, a 10 s ramp to 400/s (past one core's 250/s), 20 s there,
/// then back down: the peak overloads, the rest does not.
const SPIKE: &str = r#"
    duration = "60s"
    [traffic]
    profile = [
        { at = "0s", rate = "50/s" },
        { at = "20s", rate = "50/s" },
        { at = "30s", rate = "400/s" },
        { at = "50s", rate = "400/s" },
        { at = "50s", rate = "50/s" },
    ]
    [app.endpoints.home]
    steps = [{ cpu = "4ms" }]
    [slo]
    p99 = "100ms"
    during = "steady"
    [eras.stone]
    host = { cores = 1 }
    fpm = { pm = "static", max_children = 4 }
"#;

#[test]
fn derived_phases_partition_the_run_and_the_peak_is_where_it_hurts() {
    let s = lab_core::scenario::parse(SPIKE, std::path::Path::new("t.toml")).unwrap();
    let names: Vec<&str> = s.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["steady", "ramp", "peak", "steady 2"]);
    let r = run(SPIKE);
    let stretches: Vec<_> = s.phases.iter().map(|p| r.stretch(p)).collect();
    let finished: u64 = stretches.iter().map(|x| x.outcomes.total()).sum();
    assert_eq!(finished, r.totals.outcomes.total());
    let ok: u64 = stretches.iter().map(|x| x.latency.count()).sum();
    assert_eq!(ok, r.totals.latency.count());
    let span: u64 = stretches.iter().map(|x| x.span).sum();
    assert_eq!(span, r.totals.span);
    let p99 = |i: usize| stretches[i].latency.percentile(Percentile::P99).unwrap();
    assert!(p99(2) > 10 * p99(0), "peak {} vs steady {}", p99(2), p99(0));
    // The worst window of the peak is in the peak.
    let (at, worst) = stretches[2].worst_p99.unwrap();
    assert!((30_000_000_000..50_000_000_000).contains(&at) && worst >= p99(2));
    assert!((stretches[2].offered - 400.0).abs() < 1e-6);
}

#[test]
fn an_slo_during_a_phase_is_judged_on_it_alone() {
    let s = lab_core::scenario::parse(SPIKE, std::path::Path::new("t.toml")).unwrap();
    let r = run(SPIKE);
    let v = Verdict::judge(&s.slo, &r);
    assert!(v.pass(), "{v:?}");
    assert!(v.checks[0].target.ends_with("during steady"));
    let peak = SPIKE.replace("during = \"steady\"", "during = \"peak\"");
    let s = lab_core::scenario::parse(&peak, std::path::Path::new("t.toml")).unwrap();
    assert!(!Verdict::judge(&s.slo, &r).pass());
    // The whole run's p99 dilutes the peak.
    let whole = SPIKE.replace("during = \"steady\"\n", "");
    let s = lab_core::scenario::parse(&whole, std::path::Path::new("t.toml")).unwrap();
    assert!(s.slo.during.is_none());
}
