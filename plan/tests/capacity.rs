//! The capacity search against queueing theory, and the bottleneck it
//! names on cases built to saturate one resource each.

use std::path::Path;

use lab_core::Scenario;
use lab_plan::capacity::{self, Bound};
use lab_plan::{Load, theory};

fn parse(text: &str) -> Scenario {
    lab_core::scenario::parse(text, Path::new("case.toml")).unwrap()
}

/// An M/M/c queue as a stone era: `c` static workers on `c` cores, an
/// exponential job of `mean_ms`, room for any queue.
fn mmc(c: u32, mean_ms: f64, rate: f64, slo: &str) -> Scenario {
    parse(&format!(
        r#"
seed = 7
duration = "200s"
[stats]
window = "10s"
warmup = "20s"
[slo]
{slo}
[traffic]
rate = "{rate}/s"
timeout = "off"
[app.endpoints.job]
steps = [{{ cpu = "exp(mean = {mean_ms}ms)" }}]
[eras.queue]
model = "stone"
host = {{ cores = {c}, somaxconn = 1000000 }}
fpm = {{ pm = "static", max_children = {c}, listen_backlog = 1000000 }}
nginx = {{ fastcgi_read_timeout = "off", worker_connections = 1048576 }}
"#
    ))
}

/// The capacity the search finds holds Erlang C's within its interval,
/// on queues and objectives nobody tuned the search on.
#[test]
fn the_capacity_of_an_mmc_queue_is_erlang_cs() {
    for (c, mean, rate, slo) in [
        (4, 10.0, 300.0, r#"p99 = "100ms""#),
        (1, 20.0, 30.0, r#"p95 = "200ms""#),
        (8, 40.0, 150.0, r#"p90 = "150ms""#),
    ] {
        let s = mmc(c, mean, rate, slo);
        let era = &s.eras[0];
        let m = theory::mmc(&s, era).expect("an M/M/c era");
        let analytic = theory::slo_capacity(&m, &s.slo).unwrap();
        let load = Load::new(&s, false).unwrap();
        let cap = capacity::search(&load, era, 5, 0.05, &mut |_| {}).unwrap();
        assert!(matches!(cap.bound, Bound::Converged | Bound::Wide), "{:?}", cap.bound);
        assert!(
            cap.offered_low <= analytic && analytic <= cap.offered_high,
            "M/M/{c}, {slo}: Erlang C says {analytic:.1}/s, the plan {:.1}/s ({:.1} to {:.1})",
            cap.offered,
            cap.offered_low,
            cap.offered_high
        );
        assert!(
            (cap.offered / analytic - 1.0).abs() < 0.05,
            "{} vs {analytic}",
            cap.offered
        );
    }
}

fn bronze(steps: &str, era: &str) -> Scenario {
    parse(&format!(
        r#"
seed = 3
duration = "60s"
[stats]
window = "2s"
warmup = "10s"
[slo]
p99 = "500ms"
error_rate = "1%"
[traffic]
rate = "50/s"
timeout = "30s"
[app.locks.stock]
rows = 1
[app.endpoints.page]
steps = {steps}
[eras.bronze]
{era}
"#
    ))
}

fn bottleneck(s: &Scenario) -> String {
    let load = Load::new(s, false).unwrap();
    let cap = capacity::search(&load, &s.eras[0], 3, 0.1, &mut |_| {}).unwrap();
    cap.bottleneck.map(|b| b.gauge).unwrap_or_default()
}

#[test]
fn a_lock_held_across_php_work_is_named() {
    // Every request locks the one row for 10 ms of PHP work: at most 100
    // a second, far below the cores, workers and connections.
    let s = bronze(
        r#"[{ transaction = [{ query = "take", db_cpu = "const(0.1ms)", lock = "stock" }, { cpu = "const(10ms)" }] }]"#,
        r#"web = { cores = 16 }
db = { cores = 8 }
fpm = { pm = "static", max_children = 64 }"#,
    );
    assert_eq!(bottleneck(&s), "mysql.lock_waiters");
}

#[test]
fn a_busy_database_is_named() {
    let s = bronze(
        r#"[{ cpu = "exp(mean = 1ms)" }, { query = "report", db_cpu = "exp(mean = 10ms)" }]"#,
        r#"web = { cores = 16 }
db = { cores = 1 }
fpm = { pm = "static", max_children = 64 }"#,
    );
    assert_eq!(bottleneck(&s), "db.cpu");
}

#[test]
fn too_few_php_workers_are_named() {
    // Each request holds its worker 50 ms waiting on the database and
    // barely uses a CPU: eight workers carry 160 a second.
    let s = bronze(
        r#"[{ cpu = "exp(mean = 1ms)" }, { query = "slow", db_cpu = "const(0.1ms)", db_wait = "const(50ms)" }]"#,
        r#"web = { cores = 16 }
db = { cores = 8 }
fpm = { pm = "static", max_children = 8 }"#,
    );
    assert_eq!(bottleneck(&s), "fpm.busy");
}

/// The shipped planning scenario: its bronze runs out of database CPU
/// (the slow searches and the order history) about halfway to the sale.
#[test]
fn plan_shops_bronze_runs_out_of_database_cpu() {
    let s =
        lab_core::scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/plan-shop.toml")).unwrap();
    let era = s.eras.iter().find(|e| e.label == "bronze").unwrap();
    let load = Load::new(&s, false).unwrap();
    let cap = capacity::search(&load, era, 5, 0.1, &mut |_| {}).unwrap();
    assert_eq!(cap.bottleneck.as_ref().unwrap().gauge, "db.cpu", "{}", cap.sentence);
    assert!((400.0..800.0).contains(&cap.offered), "{}", cap.offered);
    assert!(theory::mmc(&s, era).is_none(), "no M/M/c: queries, several steps");
}
