//! `lab run --replications N`: the intervals cover queueing theory on
//! M/M/c cases, one replication writes what a run without the flag does,
//! and the report says how many replications met the SLO.

use std::path::Path;

use assert_cmd::Command;
use lab_reports::replications::{EraReplications, Replica, seed};
use serde_json::Value;

/// M/M/c as lab writes it: c cores and c static workers, exponential work
/// of mean 10 ms, Poisson arrivals, room for any queue.
fn mmc(c: u32, rate: f64, duration: &str) -> String {
    format!(
        "duration = \"{duration}\"\nseed = 11\n[stats]\nwarmup = \"20s\"\n[traffic]\nrate = \"{rate}/s\"\ntimeout = \"off\"\n\
         [slo]\np99 = \"200ms\"\n\
         [app.endpoints.job]\nsteps = [{{ cpu = \"exp(mean = 10ms)\" }}]\n\
         [eras.mmc]\nmodel = \"stone\"\nhost = {{ cores = {c}, somaxconn = 1000000 }}\n\
         fpm = {{ pm = \"static\", max_children = {c}, listen_backlog = 1000000 }}\n\
         nginx = {{ fastcgi_read_timeout = \"off\", worker_connections = 1048576 }}\n"
    )
}

fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / f64::from(k);
        sum += term;
    }
    let last = term * a / f64::from(c) * f64::from(c) / (f64::from(c) - a);
    last / (sum + last)
}

fn replicate(text: &str, n: u32) -> EraReplications {
    let s = lab_core::scenario::parse(text, Path::new("mmc.toml")).unwrap();
    let reps: Vec<Replica> = (0..n)
        .map(|k| {
            let mut s = s.clone();
            s.seed = seed(s.seed, k);
            let r = lab_sim::run(&s, &s.eras[0], &mut |_| {}).unwrap().record;
            Replica::of(&s, &r)
        })
        .collect();
    EraReplications::of("mmc", &reps)
}

#[test]
fn the_intervals_cover_erlang_c() {
    // Mean time in system W = P(wait) / (cμ − λ) + 1/μ, μ = 100/s.
    for (c, rate) in [(1, 70.0), (2, 160.0), (4, 340.0)] {
        let reps = replicate(&mmc(c, rate, "200s"), 10);
        let a = rate / 100.0;
        let theory = 1000.0 * (erlang_c(c, a) / (f64::from(c) * 100.0 - rate) + 0.01);
        let w = reps.get("latency_mean_ms").unwrap();
        let ci = w.ci95.unwrap();
        println!(
            "M/M/{c} at {rate}/s: W {:.3} ± {ci:.3} ms, theory {theory:.3} ms",
            w.mean
        );
        assert!(
            (w.mean - theory).abs() <= ci,
            "M/M/{c}: {} ± {ci} misses {theory}",
            w.mean
        );
        // An interval that covers anything would pass too: it is narrow.
        assert!(ci < 0.1 * theory, "M/M/{c}: ± {ci} ms is no test");
        let t = reps.get("throughput_rps").unwrap();
        assert!((t.mean - rate).abs() <= t.ci95.unwrap() + 0.5, "throughput {t:?}");
    }
}

#[test]
fn one_replication_writes_the_report_a_plain_run_does_and_several_count_slo_passes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mmc.toml");
    // Near saturation the p99 swings from seed to seed around the SLO.
    std::fs::write(&file, mmc(1, 88.0, "60s")).unwrap();
    let run = |out: &str, extra: &[&str]| {
        Command::cargo_bin("lab")
            .unwrap()
            .arg("run")
            .arg(&file)
            .args(["--quiet", "--out"])
            .arg(dir.path().join(out))
            .args(extra)
            .assert()
            .success();
        std::fs::read(dir.path().join(out).join("summary.json")).unwrap()
    };
    let plain = run("plain", &[]);
    let one = run("one", &["--replications", "1"]);
    assert_eq!(plain, one, "--replications 1 changes nothing");
    for f in ["index.html", "mmc.csv"] {
        assert_eq!(
            std::fs::read(dir.path().join("plain").join(f)).unwrap(),
            std::fs::read(dir.path().join("one").join(f)).unwrap(),
            "{f}"
        );
    }
    let five: Value = serde_json::from_slice(&run("five", &["--replications", "5"])).unwrap();
    let plain: Value = serde_json::from_slice(&plain).unwrap();
    // The first replication is the plain run.
    assert_eq!(five["eras"], plain["eras"]);
    let reps = &five["replications"][0];
    assert_eq!(reps["replications"], 5);
    assert_eq!(reps["seeds"], serde_json::json!([11, 12, 13, 14, 15]));
    let passed = reps["slo_passed"].as_u64().unwrap();
    println!("{passed} of 5 passed: {reps}");
    assert!(dir.path().join("five/mmc-replications.svg").exists());
    let html = std::fs::read_to_string(dir.path().join("five/index.html")).unwrap();
    assert!(html.contains(&format!("<td>{passed} of 5</td>")));
    assert!(plain.get("replications").is_none());

    // --check-slo with replications: an era passes only if all of them do,
    // whatever the first seed says.
    assert!(passed < 5, "the case is meant to fail some seeds");
    let checked = |extra: &[&str]| {
        Command::cargo_bin("lab")
            .unwrap()
            .arg("run")
            .arg(&file)
            .args(["--check-slo", "--out"])
            .arg(dir.path().join("checked"))
            .args(extra)
            .output()
            .unwrap()
    };
    let first_passes = plain["eras"][0]["slo"]["pass"].as_bool().unwrap();
    assert_eq!(checked(&[]).status.code(), Some(if first_passes { 0 } else { 3 }));
    let out = checked(&["--replications", "5"]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("SLO missed by: mmc ({passed} of 5 replications passed)")),
        "{stdout}"
    );
}
