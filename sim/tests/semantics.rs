//! The components' real-system semantics, each on a small scenario whose
//! outcome can be worked out by hand.

use std::path::Path;

use lab_core::record::outcomes::{
    BACKLOG_FULL, CLIENT_TIMEOUT, LOCK_WAIT_TIMEOUT, TERMINATED, TOO_MANY_CONNECTIONS, UPSTREAM_TIMEOUT,
};
use lab_core::{OutcomeId, OutcomeSpec, Record, scenario};

fn run(text: &str) -> Record {
    let s = scenario::parse(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    lab_sim::run(&s, &s.eras[0], &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"))
        .record
}

/// The id of an outcome every shop declares.
fn id(r: &Record, o: OutcomeSpec) -> OutcomeId {
    r.outcome_id(&o.key).unwrap()
}

fn counter(r: &Record, key: &str) -> u64 {
    r.totals.counters[r.counter_index(key).unwrap()]
}

fn gauge_max(r: &Record, key: &str) -> f64 {
    r.totals.gauges[r.gauge_index(key).unwrap()].max
}

fn ms(v: Option<u64>) -> f64 {
    v.unwrap() as f64 / 1e6
}

#[test]
fn a_lone_request_takes_its_demands_plus_the_network() {
    // One request every 10 s never meets another: latency is the sum of
    // its steps. Bronze adds a TCP+MySQL handshake (2 RTT) and one RTT per query.
    let app = r#"
        duration = "100s"
        [traffic]
        rate = "0.1/s"
        [app.endpoints.home]
        steps = [{ cpu = "10ms" }, { query = "q", db_cpu = "4ms", db_wait = "6ms" }]
    "#;
    let stone = run(&format!("{app}\n[eras.stone]\n"));
    assert_eq!(ms(stone.totals.latency.max()), 20.0);
    assert_eq!(ms(stone.totals.latency.min()), 20.0);
    let bronze = run(&format!("{app}\n[eras.bronze]\nnetwork = {{ rtt = \"1ms\" }}\n"));
    assert_eq!(ms(bronze.totals.latency.max()), 23.0);
}

#[test]
fn php_and_mysql_contend_for_the_stone_servers_cores() {
    // Two users who barely pause, each request 10 ms of PHP then 10 ms of
    // MySQL (exponential). On one core (stone) both share it: by mean value
    // analysis a request takes 20 × (1 + 1) = 40 ms. With PHP and MySQL on a
    // core each (bronze) the two requests pipeline: 2 × 10 × 1.5 = 30 ms.
    let app = r#"
        duration = "120s"
        [traffic]
        model = "closed"
        users = 2
        think = "1us"
        [app.endpoints.home]
        steps = [{ cpu = "exp(mean = 10ms)" }, { query = "q", db_cpu = "exp(mean = 10ms)" }]
    "#;
    let stone = run(&format!("{app}\n[eras.stone]\nhost = {{ cores = 1 }}\n"));
    let mean = stone.totals.latency.mean().unwrap() / 1e6;
    assert!((mean / 40.0 - 1.0).abs() < 0.05, "stone mean {mean}");
    let bronze = run(&format!(
        "{app}\n[eras.bronze]\nweb = {{ cores = 1 }}\ndb = {{ cores = 1 }}\nnetwork = {{ rtt = \"1us\" }}\n"
    ));
    let mean = bronze.totals.latency.mean().unwrap() / 1e6;
    assert!((mean / 30.0 - 1.0).abs() < 0.05, "bronze mean {mean}");
    let cpu = stone.gauge_index("server.cpu").unwrap();
    assert!(stone.totals.gauges[cpu].mean > 0.99, "the core is always busy");
}

#[test]
fn a_full_listen_backlog_answers_502() {
    let r = run(r#"
        duration = "60s"
        [traffic]
        rate = "200/s"
        [app.endpoints.home]
        steps = [{ cpu = "10ms" }]
        [eras.stone]
        host = { cores = 1 }
        fpm = { pm = "static", max_children = 1, listen_backlog = 3 }
    "#);
    let o = &r.totals.outcomes;
    // One child serves 100/s of the 200/s offered: about half is refused.
    let refused = o[id(&r, BACKLOG_FULL)] as f64 / o.total() as f64;
    assert!((0.45..0.55).contains(&refused), "refused {refused}");
    // Linux holds backlog + 1 connections.
    assert_eq!(gauge_max(&r, "fpm.backlog"), 4.0);
    // Waiting at most four requests' worth: 50 ms including its own service.
    assert!(ms(r.totals.latency.max()) <= 50.5);
}

#[test]
fn nginx_answers_504_when_fpm_is_too_slow_and_the_work_still_runs() {
    // Arrivals stop 10 s before the end, so every request's work is done.
    let r = run(r#"
        duration = "60s"
        [traffic]
        profile = [{ at = "0s", rate = "0.2/s" }, { at = "50s", rate = "0.2/s" }, { at = "50s", rate = "0/s" }]
        [app.endpoints.home]
        steps = [{ cpu = "2s" }]
        [eras.stone]
        nginx = { fastcgi_read_timeout = "1s" }
    "#);
    let o = &r.totals.outcomes;
    assert_eq!(o[OutcomeId::OK], 0);
    assert!(o[id(&r, UPSTREAM_TIMEOUT)] > 5);
    assert_eq!(r.totals.unfinished, 0);
    // Every request still burnt its 2 s in a PHP worker, for nobody.
    assert_eq!(counter(&r, "fpm.abandoned"), o[id(&r, UPSTREAM_TIMEOUT)]);
}

#[test]
fn clients_give_up_at_their_timeout() {
    let r = run(r#"
        duration = "60s"
        [traffic]
        rate = "0.2/s"
        timeout = "500ms"
        [app.endpoints.home]
        steps = [{ cpu = "2s" }]
        [eras.stone]
    "#);
    let o = &r.totals.outcomes;
    assert_eq!(o[id(&r, CLIENT_TIMEOUT)], o.total());
    assert!(o.total() > 5);
}

#[test]
fn request_terminate_timeout_kills_the_child_and_fpm_replaces_it() {
    let r = run(r#"
        duration = "60s"
        [traffic]
        rate = "1/s"
        [app.endpoints.home]
        steps = [{ cpu = "mix(50% 10ms, 50% 5s)" }]
        [eras.stone]
        fpm = { pm = "static", max_children = 4, request_terminate_timeout = "1s" }
    "#);
    let o = &r.totals.outcomes;
    assert!(o[id(&r, TERMINATED)] > 15, "{o:?}");
    assert!(o[OutcomeId::OK] > 15, "{o:?}");
    assert_eq!(counter(&r, "fpm.terminated"), o[id(&r, TERMINATED)]);
    // Each killed child is forked again: static keeps max_children.
    assert_eq!(counter(&r, "fpm.spawned"), o[id(&r, TERMINATED)]);
    let latency = ms(r.totals.latency.max());
    assert!(latency < 20.0, "only the short requests succeed: {latency}");
}

#[test]
fn mysql_refuses_connections_beyond_max_connections() {
    // Ten workers, two connections: the third concurrent query fails (1040).
    let r = run(r#"
        duration = "60s"
        [traffic]
        rate = "20/s"
        [app.endpoints.home]
        steps = [{ query = "q", db_wait = "200ms" }]
        [eras.stone]
        fpm = { pm = "static", max_children = 10 }
        mysql = { max_connections = 2 }
    "#);
    let o = &r.totals.outcomes;
    assert!(o[id(&r, TOO_MANY_CONNECTIONS)] > 100, "{o:?}");
    assert!(o[OutcomeId::OK] > 100, "{o:?}");
    assert_eq!(gauge_max(&r, "mysql.connections"), 2.0);
}

#[test]
fn a_hot_row_makes_queries_wait_and_time_out_with_1205() {
    // Every request locks the same row for 2 s; lock waits give up after 1 s.
    let r = run(r#"
        duration = "120s"
        [traffic]
        rate = "1/s"
        [app.locks.stock]
        rows = 1
        [app.endpoints.checkout]
        steps = [{ query = "reserve", db_wait = "2s", lock = "stock" }]
        [eras.stone]
        fpm = { pm = "static", max_children = 20 }
        mysql = { innodb_lock_wait_timeout = "1s" }
    "#);
    let o = &r.totals.outcomes;
    assert!(o[id(&r, LOCK_WAIT_TIMEOUT)] > 30, "{o:?}");
    assert!(o[OutcomeId::OK] > 30, "{o:?}");
    assert!(counter(&r, "mysql.lock_waits") >= o[id(&r, LOCK_WAIT_TIMEOUT)]);
    // A query that got the lock held it 2 s, after less than 2 s of waiting
    // (the wait fails at the lock checker's first tick past 1 s).
    assert!(ms(r.totals.latency.max()) <= 4000.0 * 1.01);
}

#[test]
fn slow_queries_are_counted_against_long_query_time() {
    let r = run(r#"
        duration = "30s"
        [traffic]
        rate = "10/s"
        [app.endpoints.home]
        steps = [{ query = "fast", db_cpu = "1ms" }, { query = "slow", db_wait = "mix(80% 10ms, 20% 300ms)" }]
        [eras.stone]
        fpm = { pm = "static", max_children = 50 }
        mysql = { long_query_time = "100ms" }
    "#);
    let slow = counter(&r, "mysql.slow_queries") as f64;
    let requests = r.totals.outcomes.total() as f64;
    assert!((slow / requests - 0.2).abs() < 0.05, "{slow} of {requests}");
}

#[test]
fn dynamic_pools_grow_in_doubling_batches_and_shrink_one_per_second() {
    // A burst needs more workers than the pool's 40 (= min_spare): each tick
    // forks min(spawn rate, min_spare − idle, room), the rate doubling 1, 2,
    // 4, 8, 16, 32. After the burst idle children are reaped one a second.
    let r = run(r#"
        duration = "120s"
        [stats]
        window = "1s"
        [traffic]
        profile = [{ at = "0s", rate = "1000/s" }, { at = "20s", rate = "1000/s" }, { at = "20s", rate = "0/s" }]
        [app.endpoints.home]
        steps = [{ cpu = "100ms" }]
        [eras.stone]
        host = { cores = 256 }
        fpm = { pm = "dynamic", max_children = 200, start_servers = 40, min_spare_servers = 40, max_spare_servers = 50, listen_backlog = 100000 }
    "#);
    let children = r.gauge_index("fpm.children").unwrap();
    let at = |s: usize| r.windows[s].gauges[children].max;
    let grown: Vec<f64> = (0..6).map(at).collect();
    assert_eq!(grown, vec![40.0, 41.0, 43.0, 47.0, 55.0, 71.0]);
    // The queued burst keeps every child busy, so the pool grows to max_children.
    assert_eq!(at(10), 200.0);
    for w in 25..100 {
        assert_eq!(at(w + 1), at(w) - 1.0, "one idle child reaped per second at {w} s");
    }
}

#[test]
fn ondemand_pools_fork_on_arrival_and_reap_idle_children() {
    let r = run(r#"
        duration = "60s"
        [traffic]
        profile = [{ at = "0s", rate = "50/s" }, { at = "10s", rate = "50/s" }, { at = "10s", rate = "0/s" }]
        [app.endpoints.home]
        steps = [{ cpu = "50ms" }]
        [eras.stone]
        host = { cores = 16 }
        fpm = { pm = "ondemand", max_children = 20, process_idle_timeout = "5s" }
    "#);
    let children = r.gauge_index("fpm.children").unwrap();
    assert!(r.windows[5].gauges[children].mean >= 2.0);
    assert_eq!(
        r.windows.last().unwrap().gauges[children].max,
        0.0,
        "all reaped after the traffic stopped"
    );
    assert!(counter(&r, "fpm.spawned") >= 2);
}

#[test]
fn max_requests_replaces_children() {
    let r = run(r#"
        duration = "10s"
        [traffic]
        rate = "100/s"
        [app.endpoints.home]
        steps = [{ cpu = "1ms" }]
        [eras.stone]
        fpm = { pm = "static", max_children = 4, max_requests = 50 }
    "#);
    let served = r.totals.outcomes[OutcomeId::OK] as f64;
    let spawned = counter(&r, "fpm.spawned") as f64;
    assert!(
        (spawned - served / 50.0).abs() <= 4.0,
        "{spawned} forks for {served} requests"
    );
}

#[test]
fn same_seed_same_record_other_seed_other_record() {
    let text = |seed: u64| {
        format!(
            r#"
            seed = {seed}
            duration = "30s"
            [traffic]
            rate = "50/s"
            [app.endpoints.home]
            steps = [{{ cpu = "exp(mean = 10ms)" }}, {{ query = "q", db_cpu = "exp(mean = 3ms)" }}]
            [eras.bronze]
        "#
        )
    };
    let a = run(&text(1));
    let b = run(&text(1));
    let c = run(&text(2));
    assert_eq!(format!("{:?}", a.windows), format!("{:?}", b.windows));
    assert_ne!(format!("{:?}", a.windows), format!("{:?}", c.windows));
}

#[test]
fn memory_does_not_grow_with_requests() {
    // Ten times the requests in the same windows: a window's histogram has a
    // fixed number of buckets, so the record hardly grows.
    let text = |rate: u32| {
        format!(
            "duration = \"20s\"\n[traffic]\nrate = {rate}\n[app.endpoints.home]\nsteps = [{{ cpu = \"exp(mean = 1ms)\" }}]\n[eras.stone]\nhost = {{ cores = 64 }}\nfpm = {{ pm = \"static\", max_children = 64 }}\n"
        )
    };
    let small = run(&text(2_000));
    let big = run(&text(20_000));
    assert_eq!(small.windows.len(), big.windows.len());
    // The windows keep figures only; the histograms merged over the spans
    // that are merged later (here the one phase) are the segments'.
    let size = |r: &Record| {
        let windows = r
            .windows
            .iter()
            .map(|w| w.latency.encoded_len() + w.waits[0].encoded_len())
            .sum::<usize>();
        assert_eq!(windows, 0);
        let segments = r.segments.as_ref().expect("a simulated record keeps segments");
        segments.iter().map(|s| s.latency.encoded_len()).sum::<usize>()
            + r.windows.len() * size_of::<lab_core::record::Window>()
    };
    assert!(
        (size(&big) as f64) < 1.3 * size(&small) as f64,
        "{} vs {}",
        size(&big),
        size(&small)
    );
}

#[test]
fn a_lock_granted_as_its_wait_times_out_goes_ahead() {
    // Two users start together at 10 ms: one holds the row 1.99 s, to 2 s,
    // the very tick at which InnoDB's once-a-second checker times out the
    // other's wait (due at 1.01 s, caught at 2 s), so grant and timeout fall
    // on the same nanosecond. The grant wins (the waiter is no longer
    // waiting) and the row is never left locked without an owner.
    let r = run(r#"
        duration = "30s"
        [traffic]
        model = "closed"
        users = 2
        think = "const(10ms)"
        [app.locks.stock]
        rows = 1
        [app.endpoints.buy]
        steps = [{ query = "reserve", db_wait = "1990ms", lock = "stock" }]
        [eras.stone]
        mysql = { innodb_lock_wait_timeout = "1s" }
    "#);
    let o = &r.totals.outcomes;
    // Later waits start 10 ms after a grant and some time out; had the
    // first grant been lost, the row would stay locked and nearly all fail.
    assert!(o[OutcomeId::OK] >= 10, "{o:?}");
    assert!(gauge_max(&r, "mysql.lock_waiters") <= 1.0);
}

#[test]
fn eras_see_the_same_requests_whatever_their_network() {
    // The CPU each request burns comes from its own stream: a bronze era
    // with a random network must burn exactly what the stone era burns.
    let app = r#"
        duration = "60s"
        [traffic]
        profile = [{ at = "0s", rate = "20/s" }, { at = "50s", rate = "20/s" }, { at = "50s", rate = "0/s" }]
        [app.endpoints.home]
        steps = [{ query = "q", db_cpu = "exp(mean = 1ms)" }, { cpu = "exp(mean = 5ms)" }]
    "#;
    let stone = run(&format!("{app}\n[eras.stone]\nhost = {{ cores = 8 }}\n"));
    let bronze = run(&format!(
        "{app}\n[eras.bronze]\nweb = {{ cores = 8 }}\ndb = {{ cores = 8 }}\nnetwork = {{ rtt = \"exp(mean = 250us)\" }}\n"
    ));
    let busy = |r: &Record, key: &str| r.totals.gauges[r.gauge_index(key).unwrap()].mean;
    let stone_cpu = busy(&stone, "server.cpu");
    let bronze_cpu = busy(&bronze, "web.cpu") + busy(&bronze, "db.cpu");
    assert!((stone_cpu - bronze_cpu).abs() < 1e-9, "{stone_cpu} vs {bronze_cpu}");
    assert_eq!(stone.totals.arrivals, bronze.totals.arrivals);
}

#[test]
fn ondemand_replaces_a_child_killed_at_max_requests() {
    // One child that serves a single request: FPM forks its replacement at
    // once, so the second user does not wait for a third arrival.
    let r = run(r#"
        duration = "60s"
        [traffic]
        model = "closed"
        users = 2
        think = "10s"
        [app.endpoints.home]
        steps = [{ cpu = "10ms" }]
        [eras.stone]
        fpm = { pm = "ondemand", max_children = 1, max_requests = 1 }
    "#);
    let wait = r.totals.waits[r.wait_index("queue_wait").unwrap()].mean().unwrap() / 1e6;
    assert!(wait < 20.0, "mean backlog wait {wait} ms");
}

#[test]
fn a_monolith_runs_calls_in_its_php_child_and_branches_one_after_the_other() {
    // A lone request: a call is a function call (no hop, no cost of its
    // own), and PHP runs parallel branches in sequence, so the latency is
    // the sum of every step: 1 + (2 + 3) + (4 + 5) + 6 = 21 ms.
    let app = r#"
        duration = "100s"
        [traffic]
        rate = "0.1/s"
        [app.services.catalog.ops.list]
        steps = [{ cpu = "2ms" }, { query = "list", db_cpu = "3ms" }]
        [app.services.reviews.ops.top]
        steps = [{ cpu = "4ms" }]
        [app.endpoints.home]
        steps = [
            { cpu = "1ms" },
            { call = "catalog.list" },
            { parallel = [[{ call = "reviews.top" }], [{ query = "ads", db_wait = "5ms" }]] },
            { cpu = "6ms" },
        ]
        [eras.stone]
    "#;
    let r = run(app);
    assert_eq!(ms(r.totals.latency.min()), 21.0);
    assert_eq!(ms(r.totals.latency.max()), 21.0);
}

#[test]
fn calls_draw_what_the_same_steps_written_inline_draw() {
    // Common random numbers: inlining a call changes nothing a request
    // draws, so the record is the same to the byte.
    let inline = r#"
        duration = "2m"
        [traffic]
        rate = "80/s"
        [app.endpoints.home]
        steps = [{ cpu = "exp(mean = 5ms)" }, { query = "q", db_cpu = "exp(mean = 2ms)" }, { cpu = "exp(mean = 1ms)" }]
        [eras.bronze]
    "#;
    let called = r#"
        duration = "2m"
        [traffic]
        rate = "80/s"
        [app.services.s.ops.load]
        steps = [{ query = "q", db_cpu = "exp(mean = 2ms)" }]
        [app.endpoints.home]
        steps = [{ cpu = "exp(mean = 5ms)" }, { call = "s.load" }, { cpu = "exp(mean = 1ms)" }]
        [eras.bronze]
    "#;
    let (a, b) = (run(inline), run(called));
    assert!(a.totals.outcomes[OutcomeId::OK] > 9_000);
    assert_eq!(a.windows, b.windows);
}
