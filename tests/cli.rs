//! `lab run` and `lab check` as a user runs them.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn lab() -> Command {
    let mut c = Command::cargo_bin("lab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const SMALL: &str = r#"
duration = "20s"
[slo]
p99 = "SLO_P99"
[traffic]
rate = "20/s"
[app.endpoints.home]
steps = [{ cpu = "exp(mean = 5ms)" }, { query = "q", db_cpu = "1ms" }]
[eras.stone]
[eras.bronze]
"#;

#[test]
fn run_writes_the_report_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let assert = lab()
        .args(["run", "scenarios/theory/mm1.toml", "--duration", "3m", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("mm1 (stone)"), "{stdout}");
    assert!(stdout.contains("p99"), "{stdout}");
    for f in [
        "index.html",
        "summary.json",
        "mm1.csv",
        "mm1-latency.svg",
        "mm1-latency.png",
        "mm1-throughput.svg",
        "mm1-throughput.png",
        "mm1-utilisation.svg",
        "mm1-utilisation.png",
    ] {
        let meta = std::fs::metadata(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(meta.len() > 100, "{f} is empty");
    }
    assert!(!out.join("eras.svg").exists(), "no comparison for a single era");
    let s = summary(&out);
    assert_eq!(s["schema"], "lab-summary/2");
    assert_eq!(s["scenario"]["name"], "mm1");
    assert_eq!(s["eras"].as_array().unwrap().len(), 1);
    let era = &s["eras"][0];
    assert!(era["throughput_rps"].as_f64().unwrap() > 60.0);
    assert!(era["latency_ms"]["p99"].as_f64().unwrap() > era["latency_ms"]["p50"].as_f64().unwrap());
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<svg"), "charts are inline");
    assert!(html.contains("<figcaption>"), "each chart says what to look at");
    let png = std::fs::read(out.join("mm1-latency.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn csv_has_one_row_per_window_and_every_series() {
    let tmp = tempfile::tempdir().unwrap();
    lab()
        .args(["run", "scenarios/theory/mm1.toml", "--duration", "5m", "-q", "--out"])
        .arg(tmp.path())
        .assert()
        .success();
    let mut rdr = csv::Reader::from_path(tmp.path().join("mm1.csv")).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    for col in [
        "start_s",
        "offered_rps",
        "throughput_rps",
        "ok",
        "backlog_full_502",
        "latency_p99_ms",
        "queue_wait_mean_ms",
        "server.cpu_mean",
        "fpm.busy_mean",
        "fpm.backlog_max",
        "mysql.connections_mean",
        "mysql.slow_queries",
    ] {
        assert!(header.iter().any(|h| h == col), "missing column {col}: {header:?}");
    }
    assert_eq!(rdr.records().count(), 5, "five one-minute windows");
}

#[test]
fn era_selection_and_comparison() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.toml", &SMALL.replace("SLO_P99", "1s"));
    let both = tmp.path().join("both");
    lab()
        .arg("run")
        .arg(&file)
        .arg("-q")
        .arg("--out")
        .arg(&both)
        .assert()
        .success();
    let labels: Vec<_> = summary(&both)["eras"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].clone())
        .collect();
    assert_eq!(labels, ["stone", "bronze"]);
    assert!(both.join("eras.svg").exists() && both.join("eras.png").exists());
    assert!(
        std::fs::read_to_string(both.join("index.html"))
            .unwrap()
            .contains("Eras compared")
    );

    let one = tmp.path().join("one");
    lab()
        .arg("run")
        .arg(&file)
        .args(["-q", "--era", "bronze", "--out"])
        .arg(&one)
        .assert()
        .success();
    let s = summary(&one);
    assert_eq!(s["eras"].as_array().unwrap().len(), 1);
    assert_eq!(s["eras"][0]["label"], "bronze");
}

#[test]
fn unknown_eras_are_named_with_the_known_ones() {
    let assert = lab()
        .args(["run", "scenarios/flash-sale.toml", "--era", "iron", "-q"])
        .assert()
        .code(2);
    let err = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(err.contains("has no era \"iron\"; it declares: stone, bronze"), "{err}");
}

#[test]
fn check_slo_sets_the_exit_status() {
    let tmp = tempfile::tempdir().unwrap();
    let failing = write(tmp.path(), "strict.toml", &SMALL.replace("SLO_P99", "1ms"));
    let out = tmp.path().join("o");
    lab()
        .arg("run")
        .arg(&failing)
        .arg("--check-slo")
        .arg("--out")
        .arg(&out)
        .assert()
        .code(3);
    // Without --check-slo a missed SLO is reported but is not an error.
    let assert = lab().arg("run").arg(&failing).arg("--out").arg(&out).assert().success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("SLO missed by: stone, bronze"), "{stdout}");
    assert_eq!(summary(&out)["eras"][0]["slo"]["pass"], false);
    let passing = write(tmp.path(), "easy.toml", &SMALL.replace("SLO_P99", "10s"));
    lab()
        .arg("run")
        .arg(&passing)
        .arg("--check-slo")
        .arg("-q")
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
}

#[test]
fn bad_scenarios_fail_with_file_line_column_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = write(
        tmp.path(),
        "bad.toml",
        &SMALL
            .replace("SLO_P99", "1s")
            .replace("[eras.stone]", "[eras.stone]\nfpm = { max_children = 0 }"),
    );
    let assert = lab().arg("run").arg(&bad).assert().code(1);
    let err = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        err.contains(
            "bad.toml:10:24: eras.stone.fpm.max_children: max_children (pm.max_children) must be at least 1, found 0"
        ),
        "{err}"
    );
    lab().arg("check").arg(&bad).assert().code(1);
    let missing = lab().args(["run", "no/such/file.toml"]).assert().code(1);
    let err = String::from_utf8(missing.get_output().stderr.clone()).unwrap();
    assert!(err.contains("cannot read scenario no/such/file.toml"), "{err}");
}

#[test]
fn check_describes_a_valid_scenario() {
    let assert = lab().args(["check", "scenarios/flash-sale.toml"]).assert().success();
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(out.contains("flash-sale.toml: ok"), "{out}");
    assert!(out.contains("peaking at 1200/s"), "{out}");
    assert!(out.contains("eras: stone, bronze"), "{out}");
}

#[test]
fn same_scenario_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        lab()
            .args(["run", "scenarios/flash-sale.toml", "--duration", "90s", "-q", "--out"])
            .arg(dir)
            .assert()
            .success();
    }
    let mut names: Vec<_> = std::fs::read_dir(&a).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert!(names.len() > 10);
    for n in names {
        let (x, y) = (std::fs::read(a.join(&n)).unwrap(), std::fs::read(b.join(&n)).unwrap());
        assert!(x == y, "{n:?} differs between two runs of the same scenario");
    }
}

#[test]
fn overrides_change_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    lab()
        .args(["run", "scenarios/theory/mm1.toml", "--duration", "3m", "-q", "--out"])
        .arg(&a)
        .assert()
        .success();
    lab()
        .args([
            "run",
            "scenarios/theory/mm1.toml",
            "--duration",
            "3m",
            "--seed",
            "7",
            "-q",
            "--out",
        ])
        .arg(&b)
        .assert()
        .success();
    let (sa, sb) = (summary(&a), summary(&b));
    assert_eq!(sa["scenario"]["duration_s"], 180.0);
    assert_eq!(sb["scenario"]["seed"], 7);
    assert_ne!(sa["eras"][0]["latency_ms"], sb["eras"][0]["latency_ms"]);
    let err = lab()
        .args(["run", "scenarios/theory/mm1.toml", "--duration", "30s"])
        .assert()
        .code(2);
    let msg = String::from_utf8(err.get_output().stderr.clone()).unwrap();
    assert!(
        msg.contains("--duration 30s: stats.window in scenarios/theory/mm1.toml: the stats window (1m) is longer than the run (30s)"),
        "{msg}"
    );
    lab()
        .args(["run", "scenarios/theory/mm1.toml", "--duration", "soon"])
        .assert()
        .code(2);
}
