//! A silver-like record built by hand: twenty web nodes' CPUs in a group
//! (four of them coarse), one of them hot; a fault and who held the VIP.
//! What summary.json, the CSV and the charts make of them.

use std::path::Path;

use lab_core::record::{GaugeKind, GaugeSpec, RecordBuilder, RecordMeta, Source, Span, SpanKind, Timeline};
use lab_core::{OutcomeId, Record, scenario};
use lab_reports::charts::Plot;

const S: u64 = 1_000_000_000;
const WINDOWS: u64 = 300;
const NODES: usize = 20;
const HOT: usize = 18;

fn scenario() -> lab_core::Scenario {
    let text = r#"
        name = "groups"
        duration = "300s"
        [traffic]
        rate = 1
        [app.endpoints.home]
        steps = [{ cpu = "1ms" }]
        [eras.silver]
    "#;
    scenario::parse(text, Path::new("groups.toml")).unwrap()
}

/// 300 one-second windows (more than a coarse gauge's 256 points, so each
/// of its points covers two); node `m` busy `1 + (m + t) % 2` cores of 4 in
/// second `t`, node 18 all 4; a crash of lb[0] from 100 s to 160 s, the
/// VIP with nobody from 100 s to 103.5 s, then lb[1], then lb[0] from 163 s.
fn record() -> Record {
    let mut b = RecordBuilder::new(RecordMeta {
        scenario: "groups".into(),
        era: "silver".into(),
        model: "silver".into(),
        source: Source::Simulated,
        seed: 1,
        window: S,
        warmup: 0,
        duration: WINDOWS * S,
        price_per_hour: 0.0,
    });
    let web = b.add_group("web.cpu", "web nodes' CPU");
    let cpus: Vec<_> = (0..NODES)
        .map(|m| {
            b.add_gauge_in(
                web,
                GaugeSpec {
                    key: format!("web[{m}].cpu"),
                    label: format!("web[{m}] CPU"),
                    kind: GaugeKind::Cpu,
                    capacity: Some(4.0),
                },
            )
        })
        .collect();
    for t in 0..WINDOWS {
        b.arrival(t * S);
        b.outcome(t * S + 1, OutcomeId::OK, 1_000_000);
        for (m, &g) in cpus.iter().enumerate() {
            let busy = if m == HOT { 4 } else { 1 + (m as u64 + t) % 2 };
            b.gauge(t * S, g, busy);
        }
    }
    let mut r = b.finish(WINDOWS * S, 0, |_, _| 1.0);
    r.spans = vec![
        Span {
            start: 100 * S,
            end: 160 * S,
            kind: SpanKind::Fault,
            label: "crash lb.master".into(),
        },
        Span {
            start: 100 * S,
            end: 103 * S + S / 2,
            kind: SpanKind::NoEntry,
            label: "nobody holds the VIP".into(),
        },
    ];
    r.timelines = vec![Timeline {
        key: "vip.holder".into(),
        label: "VIP holder".into(),
        states: vec!["lb[0]".into(), "lb[1]".into()],
        changes: vec![
            (0, Some(0)),
            (100 * S, None),
            (103 * S + S / 2, Some(1)),
            (163 * S, Some(0)),
        ],
    }];
    r
}

#[test]
fn summary_json_has_the_spans_the_timelines_and_each_gauges_resolution() {
    let tmp = tempfile::tempdir().unwrap();
    lab_reports::write(&scenario(), &[record()], tmp.path()).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("summary.json")).unwrap()).unwrap();
    let era = &json["eras"][0];
    assert_eq!(era["spans"][0]["kind"], "fault");
    assert_eq!(era["spans"][0]["label"], "crash lb.master");
    assert_eq!(
        (era["spans"][1]["start_s"].as_f64(), era["spans"][1]["end_s"].as_f64()),
        (Some(100.0), Some(103.5))
    );
    assert_eq!(era["spans"][1]["kind"], "no_entry");
    let vip = &era["timelines"][0];
    assert_eq!(vip["key"], "vip.holder");
    assert_eq!(vip["states"], serde_json::json!(["lb[0]", "lb[1]"]));
    let changes: Vec<(f64, Option<&str>)> = vip["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["at_s"].as_f64().unwrap(), c["state"].as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            (0.0, Some("lb[0]")),
            (100.0, None),
            (103.5, Some("lb[1]")),
            (163.0, Some("lb[0]"))
        ]
    );
    let members = era["gauge_groups"][0]["members"].as_array().unwrap();
    assert_eq!(members.len(), NODES);
    assert_eq!(members[17], "web[17].cpu");
    // The first 16 have a figure per window; the others a point per two.
    let gauge = |key: &str| {
        era["gauges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(gauge("web[15].cpu")["resolution_s"], 1.0);
    assert_eq!(gauge("web[16].cpu")["resolution_s"], 2.0);
    // Whole-run figures stay exact: node 18 is always at 4 of 4 cores.
    assert_eq!(gauge("web[18].cpu")["utilisation"], 1.0);
    assert_eq!(gauge("web[17].cpu")["mean"], 1.5);
}

#[test]
fn the_csv_repeats_a_coarse_gauges_point_in_each_of_its_windows() {
    let r = record();
    let mut out = Vec::new();
    lab_reports::series::write(&r, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), WINDOWS as usize);
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    // web[1] alternates 2 and 1 cores a second; web[17], coarse, averages
    // each pair of seconds (its max is the pair's).
    let (full, coarse) = (col("web[1].cpu_mean"), col("web[17].cpu_mean"));
    assert_eq!((rows[0][full], rows[1][full]), ("2", "1"));
    assert_eq!((rows[0][coarse], rows[1][coarse]), ("1.500000", "1.500000"));
    assert_eq!(rows[299][col("web[17].cpu_max")], "2");
}

#[test]
fn the_charts_draw_the_vip_strip_and_the_busiest_nodes_apart_from_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let report = lab_reports::write(&scenario(), &[record()], tmp.path()).unwrap();
    let svg = |name: &str| std::fs::read_to_string(tmp.path().join(name)).unwrap();
    let latency = svg("silver-latency.svg");
    for text in ["VIP holder", "lb[1]", "nobody"] {
        assert!(latency.contains(text), "the strip shows {text}");
    }
    let util = svg("silver-utilisation.svg");
    assert!(
        util.contains("web[18] CPU (of 4), 100% over the run"),
        "the hot node first"
    );
    assert!(util.contains("the other 15: least to most busy") && util.contains("the other 15: mean"));
    let named = (0..NODES).filter(|m| util.contains(&format!("web[{m}] CPU"))).count();
    assert_eq!(named, 5, "only the busiest have a line of their own");
    let html = std::fs::read_to_string(report.dir.join("index.html")).unwrap();
    assert!(html.contains("who held the VIP"), "the caption explains the strip");
}

#[test]
fn an_era_without_timelines_or_groups_draws_as_before() {
    let mut r = record();
    r.timelines.clear();
    let tall = lab_reports::charts::Latency(&record()).size().1;
    let plain = lab_reports::charts::Latency(&r).size().1;
    assert!(tall > plain, "{tall} vs {plain}");
    assert_eq!(plain, 460);
}
