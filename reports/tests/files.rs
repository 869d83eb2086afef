//! The report files from a record built by hand, so every figure is known.

use std::path::Path;

use lab_core::record::{CounterSpec, GaugeKind, GaugeSpec, RecordBuilder, RecordMeta, Source, outcomes, waits};
use lab_core::{OutcomeId, OutcomeSpec, Record, scenario};

const S: u64 = 1_000_000_000;

fn scenario() -> lab_core::Scenario {
    let text = r#"
        name = "hand"
        duration = "4s"
        [slo]
        p99 = "50ms"
        error_rate = "10%"
        [traffic]
        rate = 1
        [app.endpoints.home]
        steps = [{ cpu = "1ms" }]
        [eras.stone]
    "#;
    scenario::parse(text, Path::new("hand.toml")).unwrap()
}

/// Four one-second windows: 10 requests a second, 20 ms each, one 502 in
/// the third second; a gauge at 2 of 4 cores.
fn record() -> Record {
    record_with(&[])
}

/// [`record`], with `extra` outcomes declared after the 502; the first of
/// them ends request 33 (in the fourth second).
fn record_with(extra: &[OutcomeSpec]) -> Record {
    let mut b = RecordBuilder::new(RecordMeta {
        scenario: "hand".into(),
        era: "stone".into(),
        model: "stone".into(),
        source: Source::Simulated,
        seed: 1,
        window: S,
        warmup: 0,
        duration: 4 * S,
        price_per_hour: 0.36,
    });
    let cpu = b.add_gauge(GaugeSpec {
        key: "server.cpu".into(),
        label: "server CPU".into(),
        kind: GaugeKind::Cpu,
        capacity: Some(4.0),
    });
    let slow = b.add_counter(CounterSpec {
        key: "mysql.slow_queries".into(),
        label: "slow".into(),
    });
    let backlog_full = b.add_outcome(outcomes::BACKLOG_FULL);
    let extra: Vec<OutcomeId> = extra.iter().map(|o| b.add_outcome(o.clone())).collect();
    let backlog = b.add_wait(waits::FPM_BACKLOG);
    b.gauge(0, cpu, 2);
    for i in 0..40u64 {
        let t = i * S / 10;
        b.arrival(t);
        b.wait(t + 1_000_000, backlog, 1_000_000);
        let outcome = match i {
            25 => backlog_full,
            33 if !extra.is_empty() => extra[0],
            _ => OutcomeId::OK,
        };
        b.outcome(t + 20_000_000, outcome, 20_000_000);
    }
    b.count(3 * S, slow, 2);
    b.finish(4 * S, 0, |_, _| 10.0)
}

#[test]
fn summary_holds_the_whole_run_figures() {
    let s = lab_reports::summary::build(&scenario(), &[record()]);
    let e = &s.eras[0];
    assert_eq!(e.requests.arrived, 40);
    assert_eq!(e.requests.ok, 39);
    assert_eq!(e.outcomes["backlog_full_502"], 1);
    assert!((e.throughput_rps - 39.0 / 4.0).abs() < 1e-9);
    let l = e.latency_ms.as_ref().unwrap();
    assert!((l.p99 - 20.0).abs() < 0.2 && (l.mean - 20.0).abs() < 1e-9);
    assert_eq!(e.error_rate, Some(1.0 / 40.0));
    assert_eq!(e.gauges[0].utilisation, Some(0.5));
    assert_eq!(e.counters["mysql.slow_queries"], 2);
    assert!(e.slo.pass, "{:?}", e.slo);
    assert_eq!(s.slo.len(), 2);
    // 0.36 an hour for 4 s is 0.0004, over 39 successes: 10.26 per million.
    let cost = e.cost.as_ref().unwrap();
    assert_eq!(cost.per_hour, 0.36);
    assert!((cost.per_million_ok.unwrap() - 0.36 * 4.0 / 3600.0 / 39.0 * 1e6).abs() < 1e-9);
    let table = lab_reports::table::render(&s);
    assert!(
        table.contains("│ stone ")
            && !table.contains("stone (stone)")
            && table.contains("502 backlog full 2.50%")
            && table.contains("pass"),
        "{table}"
    );
    assert!(table.contains("cost: stone 0.3600/h (10.26 per million ok)"), "{table}");
}

#[test]
fn csv_has_a_row_per_window_and_a_column_per_series() {
    let r = record();
    let mut out = Vec::new();
    lab_reports::series::write(&r, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.len(), lab_reports::series::header(&r).len());
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4);
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert_eq!(rows[2][col("backlog_full_502")], "1");
    assert_eq!(rows[0][col("offered_rps")], "10");
    assert_eq!(rows[0][col("server.cpu_mean")], "2");
    assert_eq!(rows[3][col("mysql.slow_queries")], "2");
    assert_eq!(rows[1][col("latency_mean_ms")], "20");
}

#[test]
fn the_report_folder_has_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let report = lab_reports::write(&scenario(), &[record()], tmp.path()).unwrap();
    for f in &report.files {
        assert!(tmp.path().join(f).metadata().unwrap().len() > 0, "{f} is empty");
    }
    assert!(report.files.contains(&"index.html".to_string()));
    assert!(report.files.contains(&"stone-latency.png".to_string()));
    let err = lab_reports::write(&scenario(), &[record()], Path::new("/proc/no/such/folder"))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("cannot create the report folder /proc/no/such/folder"),
        "{err}"
    );
}

#[test]
fn an_outcome_a_later_era_declares_is_reported_like_the_others() {
    let r = record_with(&[outcomes::LB_UNAVAILABLE]);
    let s = lab_reports::summary::build(&scenario(), std::slice::from_ref(&r));
    let e = &s.eras[0];
    assert_eq!(e.outcomes["haproxy_503"], 1);
    assert_eq!(e.outcomes["backlog_full_502"], 1);
    assert_eq!(e.outcomes.len(), 3, "only what the era declares: {:?}", e.outcomes);
    assert_eq!(e.error_rate, Some(2.0 / 40.0));
    let declared: Vec<_> = e
        .outcome_specs
        .iter()
        .map(|o| (o.key.as_str(), o.http_status))
        .collect();
    assert_eq!(
        declared,
        [
            ("ok", Some(200)),
            ("backlog_full_502", Some(502)),
            ("haproxy_503", Some(503))
        ]
    );
    let table = lab_reports::table::render(&s);
    assert!(table.contains("503 HAProxy 2.50%"), "{table}");

    let mut out = Vec::new();
    lab_reports::series::write(&r, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert!(at("ok") < at("backlog_full_502") && at("backlog_full_502") < at("haproxy_503"));
    assert!(!header.contains(&"client_timeout"), "{header:?}");
    let row3: Vec<&str> = text.lines().nth(4).unwrap().split(',').collect();
    assert_eq!(row3[at("haproxy_503")], "1");

    let tmp = tempfile::tempdir().unwrap();
    lab_reports::write(&scenario(), &[r], tmp.path()).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("summary.json")).unwrap()).unwrap();
    let era = &json["eras"][0];
    assert_eq!(json["schema"], "lab-summary/2");
    assert_eq!(era["outcomes"]["haproxy_503"], 1);
    assert_eq!(era["outcome_specs"][2]["label"], "503 HAProxy");
    assert_eq!(era["outcome_specs"][2]["http_status"], 503);
    let svg = std::fs::read_to_string(tmp.path().join("stone-throughput.svg")).unwrap();
    assert!(svg.contains("503 HAProxy"), "the chart's legend names it");
}

#[test]
fn declared_waits_have_their_columns_and_summary() {
    let r = record();
    let header = lab_reports::series::header(&r);
    for col in [
        "queue_wait_count",
        "queue_wait_mean_ms",
        "queue_wait_p99_ms",
        "queue_wait_max_ms",
    ] {
        assert!(header.iter().any(|h| h == col), "missing {col}: {header:?}");
    }
    let s = lab_reports::summary::build(&scenario(), &[r]);
    let e = &s.eras[0];
    let w = &e.waits[0];
    assert_eq!(
        (w.key.as_str(), w.label.as_str()),
        ("queue_wait", "FPM listen backlog wait")
    );
    let ms = w.ms.as_ref().unwrap();
    assert_eq!(ms.count, 40);
    assert!((ms.mean - 1.0).abs() < 1e-9);
    // The first name of the FPM backlog's wait stays.
    assert_eq!(e.queue_wait_ms.as_ref().unwrap().count, 40);
}

#[test]
fn each_era_s_page_lists_its_waits() {
    let dir = tempfile::tempdir().unwrap();
    lab_reports::write(&scenario(), &[record()], dir.path()).unwrap();
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let table = html.split("waits</h3>").nth(1).expect("a waits table");
    assert!(table.contains("FPM listen backlog wait <code>queue_wait</code></td><td>40</td><td>1.00ms</td>"));
}

#[test]
fn an_era_with_services_gets_a_chart_of_its_calls() {
    let mut b = RecordBuilder::new(RecordMeta {
        scenario: "hand".into(),
        era: "gold".into(),
        model: "gold".into(),
        source: Source::Simulated,
        seed: 1,
        window: S,
        warmup: 0,
        duration: 4 * S,
        price_per_hour: 0.0,
    });
    let calls = b.add_wait(lab_core::record::HistogramSpec {
        key: "rpc.cart".into(),
        label: "calls to cart".into(),
    });
    for i in 0..40u64 {
        let t = i * S / 10;
        b.arrival(t);
        b.wait(t + 5_000_000, calls, 5_000_000);
        b.outcome(t + 6_000_000, OutcomeId::OK, 6_000_000);
    }
    let gold = b.finish(4 * S, 0, |_, _| 10.0);
    let tmp = tempfile::tempdir().unwrap();
    let report = lab_reports::write(&scenario(), &[record(), gold], tmp.path()).unwrap();
    assert!(report.files.contains(&"gold-services.svg".to_string()));
    assert!(!report.files.iter().any(|f| f.starts_with("stone-services")));
    let svg = std::fs::read_to_string(tmp.path().join("gold-services.svg")).unwrap();
    assert!(svg.contains("cart"), "the legend names the service");
    let html = std::fs::read_to_string(tmp.path().join("index.html")).unwrap();
    let gold_part = html.split("<h2>Era: gold</h2>").nth(1).unwrap();
    assert!(gold_part.contains("id=\"gold-services\""));
    assert!(gold_part.contains("calls to cart <code>rpc.cart</code>"));
}

#[test]
fn a_validation_report_lays_both_runs_side_by_side_with_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let simulated = record();
    let mut measured = record();
    measured.meta.source = Source::Measured;
    let (report, v) = lab_reports::write_validation(
        &scenario(),
        &simulated,
        &measured,
        lab_reports::validation::Bands::default(),
        dir.path(),
    )
    .unwrap();
    let labels: Vec<_> = report.summary.eras.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(labels, ["stone · simulated", "stone · measured"]);
    assert_eq!(report.summary.eras[1].source, "measured");
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(
        page.contains("Simulation against reality: stone"),
        "no validation section"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("validation.json")).unwrap()).unwrap();
    assert_eq!(json["pass"], v.pass);
    assert!(report.files.contains(&"validation.json".to_string()));
}
