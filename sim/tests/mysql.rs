//! MySQL's transactions, group commit, lock-wait timeouts and connection
//! refusals, each on a scenario small enough to work out by hand.

use std::path::Path;

use lab_core::record::outcomes::{LOCK_WAIT_TIMEOUT, TERMINATED, TOO_MANY_CONNECTIONS};
use lab_core::{OutcomeId, OutcomeSpec, Record, scenario};

/// The id of an outcome every shop declares.
fn id(r: &Record, o: OutcomeSpec) -> OutcomeId {
    r.outcome_id(&o.key).unwrap()
}

fn run(text: &str) -> Record {
    let s = scenario::parse(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    lab_sim::run(&s, &s.eras[0], &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"))
        .record
}

fn counter(r: &Record, key: &str) -> u64 {
    r.totals.counters[r.counter_index(key).unwrap()]
}

fn gauge(r: &Record, key: &str) -> (f64, f64) {
    let g = &r.totals.gauges[r.gauge_index(key).unwrap()];
    (g.mean, g.max)
}

fn ms(v: Option<u64>) -> f64 {
    v.unwrap() as f64 / 1e6
}

/// Latencies are kept to two significant figures; means are exact.
#[track_caller]
fn about(got: f64, want: f64) {
    assert!((got / want - 1.0).abs() < 0.01, "{got} ms, expected {want} ms");
}

/// Users who all send their first request at 10 s and none after the run
/// ends at 15 s: a scene that plays once.
fn once(users: u32, app: &str, era: &str) -> Record {
    run(&format!(
        "duration = \"15s\"\n[traffic]\nmodel = \"closed\"\nusers = {users}\nthink = \"const(10s)\"\n{app}\n{era}\n"
    ))
}

const CHECKOUT: &str = r#"
[app.locks.stock]
[app.endpoints.checkout]
steps = [{ transaction = [
    { query = "reserve", lock = "stock", db_cpu = "1ms" },
    { cpu = "10ms" },
    { query = "insert_order", db_cpu = "2ms" },
], commit_flush = "3ms" }]
"#;

#[test]
fn a_transaction_holds_its_row_until_commit() {
    // Two checkouts at T. A locks the stock row, runs 1 ms of SQL, 10 ms of
    // PHP and 2 ms of SQL, and commits at T+13: the row is released then
    // (before the flush), and A's flush ends at T+16. B waited for the whole
    // of A's transaction, PHP included: it gets the row at T+13, commits at
    // T+26 and its own flush ends at T+29. (Autocommit statements would
    // have let B in at T+1.)
    let stone = once(2, CHECKOUT, "[eras.stone]\nfpm = { pm = \"static\", max_children = 2 }");
    assert_eq!(stone.totals.outcomes[OutcomeId::OK], 2);
    about(ms(stone.totals.latency.min()), 16.0);
    about(ms(stone.totals.latency.max()), 29.0);
    assert_eq!(stone.totals.latency.mean().unwrap() / 1e6, 22.5);
    assert_eq!(counter(&stone, "mysql.lock_waits"), 1);
    assert_eq!(counter(&stone, "mysql.log_flushes"), 2);
    // On bronze (1 ms round trips) the row is also held across the network:
    // connect (2 RTT) and BEGIN (1) bring A to T+3; the lock is taken at
    // T+3, the reserve's answer is back at T+5, PHP ends at T+15, the insert
    // is back at T+18 and the COMMIT releases the row there; flush to T+21,
    // answer at T+22. B, granted at T+18: T+20 back, T+30 PHP, T+33 insert
    // back, flush T+33..T+36, answer at T+37.
    let bronze = once(
        2,
        CHECKOUT,
        "[eras.bronze]\nnetwork = { rtt = \"1ms\" }\nfpm = { pm = \"static\", max_children = 2 }",
    );
    about(ms(bronze.totals.latency.min()), 22.0);
    about(ms(bronze.totals.latency.max()), 37.0);
    assert_eq!(bronze.totals.latency.mean().unwrap() / 1e6, 29.5);
}

#[test]
fn commits_that_arrive_during_a_flush_share_the_next_one() {
    // Four checkouts at T, each 1 ms of SQL on the stock row, then a 10 ms
    // flush. A commits at T+1 and its flush runs to T+11. B, C and D get
    // the row in turn and commit at T+2, T+3 and T+4, while A's flush runs:
    // one flush, T+11 to T+21, serves all three (they wait 19, 18 and
    // 17 ms). Two flushes in all; one each would end D at T+41.
    let app = r#"
[app.locks.stock]
[app.endpoints.checkout]
steps = [{ transaction = [{ query = "reserve", lock = "stock", db_cpu = "1ms" }], commit_flush = "10ms" }]
"#;
    let r = once(4, app, "[eras.stone]\nfpm = { pm = \"static\", max_children = 4 }");
    assert_eq!(r.totals.outcomes[OutcomeId::OK], 4);
    assert_eq!(counter(&r, "mysql.commits"), 4);
    assert_eq!(counter(&r, "mysql.log_flushes"), 2);
    assert_eq!(counter(&r, "mysql.lock_waits"), 3);
    about(ms(r.totals.latency.min()), 11.0);
    about(ms(r.totals.latency.max()), 21.0);
    assert_eq!(r.totals.latency.mean().unwrap() / 1e6, (11.0 + 3.0 * 21.0) / 4.0);
}

#[test]
fn a_killed_request_rolls_back_and_frees_its_rows() {
    // One user; each request locks the stock row, then runs 2 s of PHP, and
    // request_terminate_timeout kills it after 1 s (502). The closed
    // connection rolls the transaction back: the user's next request, 10 s
    // later, finds the row free. Had the row stayed locked, that request
    // would wait, and fail with ERROR 1205 within 2 s.
    let r = run(r#"
        duration = "60s"
        [traffic]
        model = "closed"
        users = 1
        think = "const(10s)"
        [app.locks.stock]
        [app.endpoints.checkout]
        steps = [{ transaction = [
            { query = "reserve", lock = "stock", db_cpu = "1ms" },
            { cpu = "2s" },
            { query = "insert_order", db_cpu = "2ms" },
        ] }]
        [eras.stone]
        fpm = { pm = "static", max_children = 1, request_terminate_timeout = "1s" }
        mysql = { innodb_lock_wait_timeout = "1s" }
    "#);
    // Requests at 10, 21, 32, 43 and 54 s, each killed a second later.
    assert_eq!(r.totals.outcomes[id(&r, TERMINATED)], 5, "{:?}", r.totals.outcomes);
    assert_eq!(r.totals.outcomes.total(), 5);
    assert_eq!(counter(&r, "mysql.lock_waits"), 0);
    assert_eq!(counter(&r, "mysql.log_flushes"), 0, "nothing committed");
}

#[test]
fn a_lock_wait_timeout_rolls_back_and_frees_the_rows_for_others() {
    // Transactions lock two of two rows in random order: when two lock them
    // in opposite orders they deadlock. The model has no deadlock detector
    // (as with innodb_deadlock_detect = OFF), so they wait until one fails
    // with ERROR 1205, and the exception ends the request: the rollback
    // frees the row the other waits for.
    // Deadlocks are frequent here (about 100 a minute, each stalling the
    // row for 1 to 2 s); were the rows kept, the first one would block
    // every later request for good, and only the requests of the first
    // second or so would succeed.
    let r = run(r#"
        duration = "60s"
        [traffic]
        model = "closed"
        users = 8
        think = "exp(mean = 100ms)"
        [app.locks.pair]
        rows = 2
        [app.endpoints.transfer]
        steps = [{ transaction = [
            { query = "debit", lock = "pair", db_wait = "5ms" },
            { query = "credit", lock = "pair", db_wait = "5ms" },
        ] }]
        [eras.stone]
        fpm = { pm = "static", max_children = 8 }
        mysql = { innodb_lock_wait_timeout = "1s" }
    "#);
    let o = &r.totals.outcomes;
    assert!(o[id(&r, LOCK_WAIT_TIMEOUT)] > 10, "{o:?}");
    assert!(o[OutcomeId::OK] > 300, "{o:?}");
    assert_eq!(o[OutcomeId::OK] + o[id(&r, LOCK_WAIT_TIMEOUT)], o.total());
}

#[test]
fn a_lock_wait_fails_at_the_lock_checkers_next_tick() {
    // Two users at 10.2 s; A holds the stock row 3 s. B's wait is due to
    // time out at 11.2 s, but InnoDB checks once a second: ERROR 1205 at
    // 12 s, after 1.8 s. PHP children are busy 3 s (A) + 1.8 s (B) of the
    // 15 s run.
    let r = run(r#"
        duration = "15s"
        [traffic]
        model = "closed"
        users = 2
        think = "const(10200ms)"
        [app.locks.stock]
        [app.endpoints.buy]
        steps = [{ query = "reserve", lock = "stock", db_wait = "3s" }]
        [eras.stone]
        fpm = { pm = "static", max_children = 2 }
        mysql = { innodb_lock_wait_timeout = "1s" }
    "#);
    let o = &r.totals.outcomes;
    assert_eq!((o[OutcomeId::OK], o[id(&r, LOCK_WAIT_TIMEOUT)]), (1, 1), "{o:?}");
    let (busy, _) = gauge(&r, "fpm.busy");
    assert!((busy * 15.0 - 4.8).abs() < 1e-9, "{} worker-seconds", busy * 15.0);
}

#[test]
fn error_1040_costs_the_connections_round_trips() {
    // One connection allowed, two requests at 10 s. A connects and runs a
    // 100 ms query. B is refused; on bronze (1 ms round trips) the error
    // comes back where MySQL's greeting would, two round trips after the
    // SYN: B holds its PHP child 2 ms. A holds its child 2 + 100 + 1 ms.
    let app = r#"
[app.endpoints.home]
steps = [{ query = "q", db_wait = "100ms" }]
"#;
    let fpm = "fpm = { pm = \"static\", max_children = 2 }\nmysql = { max_connections = 1 }";
    let bronze = once(2, app, &format!("[eras.bronze]\nnetwork = {{ rtt = \"1ms\" }}\n{fpm}"));
    let o = &bronze.totals.outcomes;
    assert_eq!(
        (o[OutcomeId::OK], o[id(&bronze, TOO_MANY_CONNECTIONS)]),
        (1, 1),
        "{o:?}"
    );
    let (busy, _) = gauge(&bronze, "fpm.busy");
    assert!((busy * 15.0 - 0.105).abs() < 1e-9, "{} worker-seconds", busy * 15.0);
    // On one host the refusal is immediate.
    let stone = once(2, app, &format!("[eras.stone]\n{fpm}"));
    let (busy, _) = gauge(&stone, "fpm.busy");
    assert!((busy * 15.0 - 0.100).abs() < 1e-9, "{} worker-seconds", busy * 15.0);
}

#[test]
fn max_connections_151_admits_151_application_connections() {
    // 200 requests at once, each holding its connection 1 s: MySQL's
    // default admits 151 (the 152nd slot is for an administrator) and
    // refuses 49 with ERROR 1040.
    let r = once(
        200,
        "[app.endpoints.home]\nsteps = [{ query = \"q\", db_wait = \"1s\" }]",
        "[eras.stone]\nfpm = { pm = \"static\", max_children = 200 }",
    );
    let o = &r.totals.outcomes;
    assert_eq!((o[OutcomeId::OK], o[id(&r, TOO_MANY_CONNECTIONS)]), (151, 49), "{o:?}");
    assert_eq!(gauge(&r, "mysql.connections").1, 151.0);
}

#[test]
fn transactions_draw_the_same_in_every_era() {
    // Common random numbers: every COMMIT draws its flush from the
    // request's own stream, whether it starts a flush or joins one, so a
    // bronze era with a random network burns exactly the CPU stone burns.
    let app = r#"
        duration = "60s"
        [traffic]
        profile = [{ at = "0s", rate = "40/s" }, { at = "50s", rate = "40/s" }, { at = "50s", rate = "0/s" }]
        [app.locks.stock]
        rows = 10
        [app.endpoints.buy]
        steps = [
            { transaction = [
                { query = "reserve", lock = "stock", db_cpu = "exp(mean = 1ms)" },
                { cpu = "exp(mean = 5ms)" },
            ], commit_flush = "exp(mean = 2ms)" },
            { cpu = "exp(mean = 1ms)" },
        ]
    "#;
    let stone = run(&format!("{app}\n[eras.stone]\nhost = {{ cores = 8 }}\n"));
    let bronze = run(&format!(
        "{app}\n[eras.bronze]\nweb = {{ cores = 8 }}\ndb = {{ cores = 8 }}\nnetwork = {{ rtt = \"exp(mean = 250us)\" }}\n"
    ));
    let cpu = |r: &Record, key: &str| gauge(r, key).0;
    let (s, b) = (
        cpu(&stone, "server.cpu"),
        cpu(&bronze, "web.cpu") + cpu(&bronze, "db.cpu"),
    );
    assert!((s - b).abs() < 1e-9, "{s} vs {b}");
    assert_eq!(
        stone.totals.outcomes[OutcomeId::OK],
        bronze.totals.outcomes[OutcomeId::OK]
    );
    assert!(counter(&stone, "mysql.log_flushes") > 1_000);
}
