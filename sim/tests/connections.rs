//! How connections wait before a PHP child takes them: the listen backlog
//! (its `+ 1`, `somaxconn`), a TCP listener's SYN retransmissions, FPM's
//! heartbeat for `request_terminate_timeout` and nginx's connections. Each
//! scenario is small enough to work out by hand; times are read from
//! one-millisecond windows, so they are exact.

use std::path::Path;

use lab_core::record::outcomes as o;
use lab_core::{OutcomeSpec, Record, scenario};

fn run(text: &str) -> Record {
    let s = scenario::parse(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    lab_sim::run(&s, &s.eras[0], &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"))
        .record
}

fn counter(r: &Record, key: &str) -> u64 {
    r.totals.counters[r.counter_index(key).unwrap()]
}

fn gauge_max(r: &Record, key: &str) -> f64 {
    r.totals.gauges[r.gauge_index(key).unwrap()].max
}

/// When each request with this outcome ended, in milliseconds.
fn ends(r: &Record, spec: OutcomeSpec) -> Vec<u64> {
    let id = r.outcome_id(&spec.key).unwrap();
    r.windows
        .iter()
        .flat_map(|w| std::iter::repeat_n(w.start / 1_000_000, w.outcomes[id] as usize))
        .collect()
}

/// How many requests ended with this outcome.
fn count(r: &Record, spec: OutcomeSpec) -> u64 {
    r.totals.outcomes[r.outcome_id(&spec.key).unwrap()]
}

/// `users` users who all arrive at 30 s (one think time) and never come
/// back within the run; each request burns `cpu` on one static child.
fn burst(users: u32, cpu: &str, era: &str) -> String {
    format!(
        r#"
        duration = "60s"
        [stats]
        window = "1ms"
        [traffic]
        model = "closed"
        users = {users}
        think = "30s"
        timeout = "off"
        [app.endpoints.home]
        steps = [{{ cpu = "{cpu}" }}]
        [eras.stone]
        {era}
        "#
    )
}

#[test]
fn the_backlog_holds_listen_backlog_plus_one() {
    // Ten connections at once, one child, listen_backlog = 2: the child
    // takes one, the backlog holds 3 (Linux: full when more than 2
    // wait), six are refused.
    let r = run(&burst(
        10,
        "1s",
        "fpm = { pm = \"static\", max_children = 1, listen_backlog = 2 }\nnginx = { fastcgi_read_timeout = \"off\" }",
    ));
    assert_eq!(count(&r, o::BACKLOG_FULL), 6);
    assert_eq!(ends(&r, o::BACKLOG_FULL), [30_000; 6]);
    assert_eq!(gauge_max(&r, "fpm.backlog"), 3.0);
    assert_eq!(ends(&r, o::OK), [31_000, 32_000, 33_000, 34_000]);
}

#[test]
fn somaxconn_caps_the_backlog() {
    // The same with the host's somaxconn at 1: listen(511) gets 1, which
    // holds 2; seven are refused.
    let r = run(&burst(
        10,
        "1s",
        "host = { somaxconn = 1 }\nfpm = { pm = \"static\", max_children = 1, listen_backlog = 511 }",
    ));
    assert_eq!(count(&r, o::BACKLOG_FULL), 7);
    assert_eq!(gauge_max(&r, "fpm.backlog"), 2.0);
    let r = run(&burst(
        10,
        "1s",
        "host = { somaxconn = 1 }\nfpm = { pm = \"static\", max_children = 1, listen_backlog = -1 }",
    ));
    assert_eq!(count(&r, o::BACKLOG_FULL), 7, "-1 takes somaxconn");
}

const TCP: &str = "fpm = { pm = \"static\", max_children = 1, listen_backlog = 1, listen = \"tcp\" }";

#[test]
fn a_tcp_backlog_drops_syns_which_get_in_on_a_retransmission() {
    // Four connections at 30 s on one child whose requests take 2.5 s,
    // a backlog holding 2. A runs 30–32.5; B and C wait; D's SYN is
    // dropped. Its retransmission at 31 s (1 s later) meets the same full
    // backlog; the one at 33 s (3 s after the first) finds room, B having
    // left it at 32.5 s. So B ends at 35, C at 37.5 and D at 40 s, all
    // served: the connection waited "in the network" for 3 s.
    let r = run(&burst(4, "2.5s", TCP));
    assert_eq!(ends(&r, o::OK), [32_500, 35_000, 37_500, 40_000]);
    assert_eq!(counter(&r, "fpm.syn_dropped"), 2);
    // A Unix socket refuses D at once.
    let unix = run(&burst(4, "2.5s", &TCP.replace("tcp", "unix")));
    assert_eq!(ends(&unix, o::BACKLOG_FULL), [30_000]);
    assert_eq!(counter(&unix, "fpm.syn_dropped"), 0);
}

#[test]
fn nginx_gives_up_at_fastcgi_connect_timeout_and_the_kernel_after_its_retries() {
    // As above, but nginx waits 2 s for the connection: after the drop at
    // 30 s and the one at 31 s, the next retransmission would be at 33 s,
    // so nginx answers 504 at 32 s.
    let r = run(&burst(
        4,
        "2.5s",
        &format!("{TCP}\nnginx = {{ fastcgi_connect_timeout = \"2s\" }}"),
    ));
    assert_eq!(ends(&r, o::CONNECT_TIMEOUT), [32_000]);
    assert_eq!(ends(&r, o::OK).len(), 3);
    // With tcp_syn_retries = 1 the kernel retransmits once (at 31 s) and
    // gives up one doubled timeout later, at 33 s: connect() fails, 502.
    let r = run(&burst(4, "2.5s", &format!("{TCP}\nhost = {{ tcp_syn_retries = 1 }}")));
    assert_eq!(ends(&r, o::BACKLOG_FULL), [33_000]);
    // Linux 6.5's linear timeouts retransmit at 31, 32, 33 s: D gets in
    // at 33 s all the same.
    let r = run(&burst(
        4,
        "2.5s",
        &format!("{TCP}\nhost = {{ tcp_syn_linear_timeouts = 4 }}"),
    ));
    assert_eq!(ends(&r, o::OK), [32_500, 35_000, 37_500, 40_000]);
    assert_eq!(counter(&r, "fpm.syn_dropped"), 3);
}

#[test]
fn request_terminate_timeout_kills_on_the_heartbeat() {
    // T = 1 s: FPM's heartbeat ticks every 333 ms from start-up. A request
    // started at 30 s is due at 11 s; ticks fall at 10.989 s and 11.322 s:
    // killed at 11.322 s, 1.322 s after it started (between T and T + T/3).
    let r = run(&burst(
        1,
        "5s",
        "fpm = { pm = \"static\", max_children = 1, request_terminate_timeout = \"1s\" }",
    ));
    assert_eq!(ends(&r, o::TERMINATED), [31_302]);
    // T = 2 s (heartbeat 666 ms), two requests started at 30 s: due at
    // 12 s, killed at the tick at 18 × 666 = 11.988 s? No: that is before
    // 12 s; the next, 12.654 s.
    let r = run(&burst(
        2,
        "5s",
        "fpm = { pm = \"static\", max_children = 2, request_terminate_timeout = \"2s\" }",
    ));
    assert_eq!(ends(&r, o::TERMINATED), [32_634, 32_634]);
}

#[test]
fn nginx_closes_clients_beyond_its_worker_connections() {
    // One worker with 7 connections keeps 3 for itself: 4 hold two
    // requests. The third client's connection is closed at once; with 8
    // (5 free), the third gets its own connection but none for FPM: 500.
    let era = |wc: u32| {
        format!(
            "fpm = {{ pm = \"static\", max_children = 10 }}\nnginx = {{ worker_processes = 1, worker_connections = {wc} }}"
        )
    };
    let r = run(&burst(3, "1s", &era(7)));
    assert_eq!(ends(&r, o::NGINX_CLOSED), [30_000]);
    assert_eq!(ends(&r, o::OK), [31_000, 31_000]);
    let r = run(&burst(3, "1s", &era(8)));
    assert_eq!(ends(&r, o::NGINX_NO_CONNECTION), [30_000]);
    // The default (768 connections on as many workers as cores) holds them all.
    let r = run(&burst(9, "1s", "fpm = { pm = \"static\", max_children = 10 }"));
    assert_eq!(count(&r, o::OK), 9);
}

#[test]
fn a_client_that_gives_up_frees_nginx_and_its_retrying_syn() {
    // Four connections at 10 s to one child (5 s requests) behind a TCP
    // backlog holding 2, nginx with one worker of 11 connections (8 free:
    // four requests). A runs, B and C wait, D's SYN is dropped at 10 s and
    // again at 11 s. The clients give up at 12 s: nginx closes all four
    // (499), D's SYN is never sent again. The users come back at 22 s and
    // nginx has its connections back: none is closed. The child still
    // works for nobody (A until 15 s, B until 20 s, C from 20 s), so A'
    // and B' wait in the backlog and C' and D' are dropped.
    let r = run(r#"
        duration = "23s"
        [stats]
        window = "1ms"
        [traffic]
        model = "closed"
        users = 4
        think = "10s"
        timeout = "2s"
        [app.endpoints.home]
        steps = [{ cpu = "5s" }]
        [eras.stone]
        fpm = { pm = "static", max_children = 1, listen_backlog = 1, listen = "tcp" }
        nginx = { worker_processes = 1, worker_connections = 11 }
    "#);
    assert_eq!(ends(&r, o::CLIENT_TIMEOUT), [12_000; 4]);
    assert_eq!(count(&r, o::NGINX_CLOSED), 0);
    assert_eq!(counter(&r, "fpm.syn_dropped"), 2 + 2);
    assert_eq!(counter(&r, "fpm.abandoned"), 2, "A and B ran for nobody");
}
