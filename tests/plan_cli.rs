//! `lab plan` as a user runs it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn lab() -> Command {
    let mut c = Command::cargo_bin("lab").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

trait StderrHas {
    fn stderr_has(self, what: &str);
}

impl StderrHas for assert_cmd::assert::Assert {
    fn stderr_has(self, what: &str) {
        let err = String::from_utf8(self.get_output().stderr.clone()).unwrap();
        assert!(err.contains(what), "stderr lacks {what:?}: {err}");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const SHOP: &str = r#"
name = "tiny"
duration = "30s"
[stats]
window = "1s"
warmup = "5s"
[slo]
p99 = "200ms"
[traffic]
rate = "100/s"
[app.endpoints.home]
steps = [{ cpu = "exp(mean = 5ms)" }, { query = "q", db_cpu = "exp(mean = 2ms)" }]
[eras.bronze]
web = { cores = 2, price_per_hour = 0.04 }
db = { cores = 1, price_per_hour = 0.02 }
[plan]
replications = 2
tolerance = "20%"
web.cores = [1, 2]
db.cores = [1, 2]
fpm.max_children = [5, 10]
mysql.max_connections = [151, 151]
"#;

#[test]
fn plan_prints_the_capacity_and_writes_its_report() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "tiny.toml", SHOP);
    let out = tmp.path().join("plan");
    let a = lab()
        .args([
            "plan",
            file.to_str().unwrap(),
            "--target",
            "150/s",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
    let stdout = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("bronze: capacity"), "{stdout}");
    assert!(stdout.contains("cheapest for 150/s"), "{stdout}");
    assert!(stdout.contains("target 150/s (--target 150/s)"), "{stdout}");
    for f in [
        "index.html",
        "summary.json",
        "plan-bronze-curve.svg",
        "plan-bronze-utilisation.png",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let s: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let era = &s["plan"]["eras"][0];
    assert_eq!(era["era"], "bronze");
    assert!(era["capacity"]["offered"].as_f64().unwrap() > 0.0);
    assert_eq!(s["plan"]["target_offered"].as_f64().unwrap(), 150.0);
    // The winner's keys, as a fragment that parses as TOML.
    let fragment = era["fragment"].as_str().expect("a configuration meets 150/s");
    let t: toml::Table = fragment.parse().unwrap();
    assert!(t["eras"]["bronze"]["web"]["cores"].as_integer().is_some());
}

#[test]
fn plan_needs_an_slo() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "noslo.toml", &SHOP.replace("[slo]\np99 = \"200ms\"", ""));
    lab()
        .args([
            "plan",
            file.to_str().unwrap(),
            "--out",
            tmp.path().join("o").to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr_has("has no [slo]");
}

#[test]
fn plan_refuses_a_target_for_a_closed_model_and_a_bad_tolerance() {
    let tmp = tempfile::tempdir().unwrap();
    let closed = SHOP.replace(
        "rate = \"100/s\"",
        "model = \"closed\"\nusers = 10\nthink = \"exp(mean = 1s)\"",
    );
    let file = write(tmp.path(), "closed.toml", &closed);
    lab()
        .args(["plan", file.to_str().unwrap(), "--target", "50/s"])
        .assert()
        .code(2)
        .stderr_has("closed model");
    let file = write(tmp.path(), "tiny.toml", SHOP);
    lab()
        .args(["plan", file.to_str().unwrap(), "--tolerance", "90%"])
        .assert()
        .code(2)
        .stderr_has("tolerance");
    lab()
        .args(["plan", file.to_str().unwrap(), "--era", "gold"])
        .assert()
        .code(2)
        .stderr_has("--era");
}

#[test]
fn check_says_what_the_plan_asks() {
    let a = lab().args(["check", "scenarios/plan-shop.toml"]).assert().success();
    let out = String::from_utf8(a.get_output().stdout.clone()).unwrap();
    assert!(
        out.contains("plan (lab plan): target 3,000/s, 5 replications, tolerance 10.0%, nodes 2–6, web.cores 2–32"),
        "{out}"
    );
}

#[test]
fn plan_refuses_what_it_cannot_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "tiny.toml", SHOP);
    // A target past the work a run may simulate: refused, not hours long.
    lab()
        .args(["plan", file.to_str().unwrap(), "--target", "100000000/s"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr_has("--target");
    let zero = write(
        tmp.path(),
        "zero.toml",
        &SHOP.replace("rate = \"100/s\"", "rate = \"0/s\""),
    );
    lab()
        .args(["plan", zero.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr_has("0/s throughout");
    let short = write(
        tmp.path(),
        "short.toml",
        &SHOP
            .replace("duration = \"30s\"", "duration = \"10ms\"")
            .replace("window = \"1s\"\nwarmup = \"5s\"", "window = \"10ms\""),
    );
    lab()
        .args(["plan", short.to_str().unwrap()])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr_has("too few to judge an SLO on");
}
