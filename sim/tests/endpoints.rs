//! Per-endpoint results: each endpoint's figures come from its own
//! requests, and together they are the whole run's.

mod support;

use lab_core::record::Verdict;
use lab_core::scenario::Percentile;
use lab_core::{OutcomeId, Record};
use support::{run, run_era};

/// Two endpoints, one ten times slower, on too few workers for the load:
/// the backlog overflows and both get 502s.
const OVERLOADED: &str = r#"
    duration = "60s"
    [stats]
    warmup = "5s"
    [traffic]
    rate = "260/s"
    [traffic.mix]
    fast = 3
    slow = 1
    [app.endpoints.fast]
    steps = [{ cpu = "2ms" }]
    [app.endpoints.slow]
    steps = [{ cpu = "20ms" }]
    [slo]
    p99 = "10s"
    [slo.endpoints.fast]
    p50 = "1s"
    [slo.endpoints.slow]
    p50 = "1ms"
    error_rate = "100%"
    [eras.stone]
    host = { cores = 2 }
    fpm = { pm = "static", max_children = 2, listen_backlog = 8 }
    [eras.gold]
"#;

fn check_sums(r: &Record) {
    assert_eq!(r.endpoints, ["fast", "slow"]);
    for o in r.outcome_ids() {
        let sum: u64 = r.totals.endpoints.iter().map(|e| e.outcomes[o]).sum();
        assert_eq!(sum, r.totals.outcomes[o], "outcome {}", r.outcome(o).key);
        for (i, w) in r.windows.iter().enumerate() {
            let sum: u64 = w.endpoints.iter().map(|e| e.outcomes[o]).sum();
            assert_eq!(sum, w.outcomes[o], "window {i}, outcome {}", r.outcome(o).key);
        }
    }
    let ok: u64 = r.totals.endpoints.iter().map(|e| e.latency.count()).sum();
    assert_eq!(ok, r.totals.latency.count());
    let max = r.totals.endpoints.iter().filter_map(|e| e.latency.max()).max();
    assert_eq!(max, r.totals.latency.max());
}

#[test]
fn endpoints_add_up_to_the_totals_and_keep_their_own_latency() {
    let r = run(OVERLOADED);
    check_sums(&r);
    let [fast, slow] = &r.totals.endpoints[..] else {
        unreachable!()
    };
    assert!(r.totals.outcomes.errors() > 100, "the backlog overflows");
    assert!(fast.outcomes.errors() > 0 && slow.outcomes.errors() > 0);
    // A request's endpoint is drawn 3 : 1, whatever happens to it after.
    let share = fast.outcomes.total() as f64 / r.totals.outcomes.total() as f64;
    assert!((share - 0.75).abs() < 0.02, "fast's share {share}");
    // Both queue in one backlog; the slow one's own work shows on top.
    let p50 = |l: &lab_core::record::Latencies| l.percentile(Percentile::P50).unwrap();
    assert!(p50(&slow.latency) > p50(&fast.latency) + 15_000_000);
}

#[test]
fn calls_are_not_endpoints_in_gold() {
    // Gold's services run the endpoints' steps as calls: only the client's
    // requests are counted, each under its endpoint.
    let r = run_era(OVERLOADED, 1);
    check_sums(&r);
    assert_eq!(
        r.totals.endpoints.iter().map(|e| e.outcomes.total()).sum::<u64>(),
        r.totals.outcomes.total()
    );
}

#[test]
fn an_endpoint_objective_is_judged_on_its_own_requests() {
    let s = lab_core::scenario::parse(OVERLOADED, std::path::Path::new("t.toml")).unwrap();
    let r = run(OVERLOADED);
    let v = Verdict::judge(&s.slo, &r);
    let names: Vec<(&str, bool)> = v.checks.iter().map(|c| (c.name.as_str(), c.pass)).collect();
    assert_eq!(
        names,
        [
            ("p99", true),
            ("fast p50", true),
            ("slow p50", false),
            ("slow error_rate", true)
        ]
    );
    assert!(!v.pass());
    assert_eq!(OutcomeId::OK.index(), 0);
}

#[test]
fn one_endpoint_is_the_totals() {
    let r = run(r#"
        duration = "10s"
        [traffic]
        rate = "50/s"
        [app.endpoints.home]
        steps = [{ cpu = "2ms" }]
        [slo.endpoints.home]
        p99 = "1s"
        [eras.stone]
    "#);
    assert_eq!(r.endpoints, ["home"]);
    assert!(r.totals.endpoints.is_empty());
    let v = r.endpoint_totals(0).unwrap();
    assert_eq!(v.latency.count(), r.totals.latency.count());
}

#[test]
fn a_request_that_finds_its_web_host_idle_pays_the_cold_overhead() {
    // 10 ms of PHP; the stack costs 1 ms more warm, and 5 ms more again
    // when the request finds the core idle. A lone request every 10 s
    // always does: 16 ms.
    let on = |traffic: &str, cores: u32, children: u32| {
        format!(
            r#"
            duration = "60s"
            [traffic]
            {traffic}
            [app.endpoints.home]
            steps = [{{ cpu = "10ms" }}]
            overhead = {{ web = "1ms", cold = "5ms" }}
            [eras.stone]
            host = {{ cores = {cores} }}
            fpm = {{ pm = "static", max_children = {children} }}
            "#
        )
    };
    let app = |traffic: &str| on(traffic, 1, 5);
    let lone = run(&app(r#"rate = "0.1/s""#));
    assert_eq!(lone.totals.latency.min(), Some(16_000_000));
    assert_eq!(lone.totals.latency.max(), Some(16_000_000));
    // One user who barely pauses finds the core idle every time.
    let one = run(&app("model = \"closed\"\nusers = 1\nthink = \"1us\""));
    let mean = one.totals.latency.mean().unwrap() / 1e6;
    assert!((mean - 16.0).abs() < 0.01, "one user: {mean} ms");
    // Two such users keep the core busy: past the first, each request
    // arrives while the other computes and pays 11 ms, warm; the two
    // share the core, 22 ms each.
    let two = run(&app("model = \"closed\"\nusers = 2\nthink = \"1us\""));
    let mean = two.totals.latency.mean().unwrap() / 1e6;
    assert!((mean / 22.0 - 1.0).abs() < 0.01, "two users: {mean} ms");
    let served = two.totals.outcomes[lab_core::OutcomeId::OK] as f64;
    assert!(
        (served / (60.0 / 0.011) - 1.0).abs() < 0.01,
        "{served} requests in 60 s"
    );
    // A pool with no more children than cores, kept busy by a backlog:
    // a child takes its next request the moment it frees, so the request
    // arrived while the host was busy and is served warm, 11 ms a request
    // per core.
    let busy = "model = \"closed\"\nusers = 20\nthink = \"1ms\"";
    for (cores, children) in [(1, 1), (4, 4)] {
        let r = run(&on(busy, cores, children));
        let rate = r.totals.outcomes[lab_core::OutcomeId::OK] as f64 / 60.0;
        let warm = f64::from(cores) / 0.011;
        assert!(
            (rate / warm - 1.0).abs() < 0.01,
            "{cores} cores: {rate}/s, warm {warm}/s"
        );
    }
}
