//! The bottleneck sentence names the resource a hand-built scenario
//! saturates: a host's CPU, the FPM workers, MySQL's connections, a row
//! lock, and the listen backlog that overflows behind them.

use std::path::Path;

use lab_reports::bottleneck::{PhaseBottleneck, find};

fn bottleneck(text: &str) -> PhaseBottleneck {
    let s = lab_core::scenario::parse(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    let r = lab_sim::run(&s, &s.eras[0], &mut |_| {}).unwrap().record;
    let mut b = find(&r, &s.app, &s.phases);
    assert_eq!(b.len(), 1, "one steady phase");
    let b = b.remove(0);
    println!("{}", b.sentence);
    b
}

/// One endpoint's `steps` on a stone server at `rate`, with `era` settings.
fn shop(rate: &str, steps: &str, era: &str) -> String {
    format!(
        "duration = \"30s\"\n[stats]\nwarmup = \"5s\"\n[traffic]\nrate = \"{rate}\"\n[app.locks.stock]\n\
         [app.endpoints.home]\nsteps = {steps}\n[eras.stone]\n{era}\n"
    )
}

fn first(b: &PhaseBottleneck) -> &str {
    &b.saturated
        .first()
        .unwrap_or_else(|| panic!("nothing saturated: {}", b.sentence))
        .gauge
}

#[test]
fn a_cpu_bound_server_names_its_cpu() {
    // 300/s × 4 ms = 1.2 cores on one.
    let b = bottleneck(&shop(
        "300/s",
        "[{ cpu = \"exp(mean = 4ms)\" }]",
        "host = { cores = 1 }\nfpm = { pm = \"static\", max_children = 16 }",
    ));
    assert_eq!(first(&b), "server.cpu", "{}", b.sentence);
    assert!(b.sentence.starts_with("server CPU at 100 %"), "{}", b.sentence);
    // nginx's 512 connections run out behind the CPU (before FPM's 511
    // backlog does), and the users see its 500s.
    assert!(
        b.saturated.iter().any(|s| s.gauge == "nginx_connections_500"),
        "{}",
        b.sentence
    );
    assert!(b.sentence.contains("→ 500 nginx"), "{}", b.sentence);
}

#[test]
fn a_short_backlog_overflows_behind_the_workers() {
    let b = bottleneck(&shop(
        "300/s",
        "[{ cpu = \"exp(mean = 4ms)\" }]",
        "host = { cores = 1 }\nfpm = { pm = \"static\", max_children = 16, listen_backlog = 16 }",
    ));
    assert_eq!(first(&b), "server.cpu", "{}", b.sentence);
    assert!(b.sentence.contains("then listen backlog full from"), "{}", b.sentence);
    assert!(b.sentence.contains("→ 502 backlog full"), "{}", b.sentence);
}

#[test]
fn waiting_workers_name_the_workers() {
    // 4 workers each held 50 ms serve 80/s; 100/s arrive; the CPU idles.
    let b = bottleneck(&shop(
        "100/s",
        "[{ query = \"q\", db_wait = \"const(50ms)\" }]",
        "host = { cores = 4 }\nfpm = { pm = \"static\", max_children = 4 }",
    ));
    assert_eq!(first(&b), "fpm.busy", "{}", b.sentence);
    assert!(b.sentence.starts_with("all 4 FPM workers busy"), "{}", b.sentence);
}

#[test]
fn too_few_connections_name_mysql() {
    let b = bottleneck(&shop(
        "100/s",
        "[{ query = \"q\", db_wait = \"const(50ms)\" }]",
        "host = { cores = 4 }\nfpm = { pm = \"static\", max_children = 32 }\nmysql = { max_connections = 3 }",
    ));
    assert_eq!(first(&b), "mysql.connections", "{}", b.sentence);
    assert!(b.sentence.contains("1040"), "{}", b.sentence);
}

#[test]
fn a_hot_row_names_its_lock() {
    // Every request holds the one row for 10 ms: at most 100/s pass.
    let b = bottleneck(&shop(
        "150/s",
        "[{ transaction = [{ query = \"take\", db_wait = \"const(10ms)\", lock = \"stock\" }] }]",
        "host = { cores = 4 }\nfpm = { pm = \"static\", max_children = 40 }",
    ));
    assert_eq!(first(&b), "mysql.lock_waiters", "{}", b.sentence);
    assert!(
        b.sentence.contains("of 40 FPM workers waiting on lock `stock`"),
        "{}",
        b.sentence
    );
}

#[test]
fn a_light_load_saturates_nothing_and_names_the_busiest() {
    let b = bottleneck(&shop(
        "50/s",
        "[{ cpu = \"exp(mean = 4ms)\" }]",
        "host = { cores = 1 }\nfpm = { pm = \"static\", max_children = 16 }",
    ));
    assert!(b.saturated.is_empty());
    assert!(
        b.sentence
            .starts_with("nothing saturated; the busiest was server CPU at 2"),
        "{}",
        b.sentence
    );
}

#[test]
fn servers_at_haproxy_s_maxconn_name_haproxy_s_queue() {
    // Two web nodes with two slots each behind HAProxy: 4 requests at a
    // time of 20 ms serve 200/s; 300/s arrive. The workers (16 a node)
    // and the CPUs idle, and the queue in HAProxy is where requests wait.
    let text = "duration = \"30s\"\n[stats]\nwarmup = \"5s\"\n[traffic]\nrate = \"300/s\"\ntimeout = \"5s\"\n\
        [app.endpoints.home]\nsteps = [{ query = \"q\", db_wait = \"const(20ms)\" }]\n\
        [eras.silver]\nnodes = 2\nweb = { cores = 4 }\ndb = { cores = 4 }\n\
        haproxy = { server_maxconn = 2 }\nfpm = { pm = \"static\", max_children = 16 }\n";
    let b = bottleneck(text);
    assert_eq!(first(&b), "haproxy.queue", "{}", b.sentence);
    assert!(
        b.sentence.starts_with("HAProxy's servers all at their maxconn"),
        "{}",
        b.sentence
    );
    assert!(!b.saturated.iter().any(|s| s.gauge == "fpm.busy"), "{}", b.sentence);
}

#[test]
fn a_single_worker_is_the_only_one() {
    let b = bottleneck(&shop(
        "30/s",
        "[{ query = \"q\", db_wait = \"const(50ms)\" }]",
        "host = { cores = 4 }\nfpm = { pm = \"static\", max_children = 1 }",
    ));
    assert_eq!(first(&b), "fpm.busy", "{}", b.sentence);
    assert!(b.sentence.starts_with("the only FPM worker busy"), "{}", b.sentence);
}

#[test]
fn a_dynamic_pool_still_forking_is_full_below_max_children() {
    // 300/s held 50 ms keep 15 children busy; with min_spare_servers = 1
    // php-fpm forks one a second, so for seconds every child is busy and
    // requests queue while max_children (40) is far off.
    let b = bottleneck(&shop(
        "300/s",
        "[{ query = \"q\", db_wait = \"const(50ms)\" }]",
        "host = { cores = 8 }\nfpm = { pm = \"dynamic\", max_children = 40, start_servers = 2, min_spare_servers = 1, max_spare_servers = 3 }",
    ));
    assert_eq!(first(&b), "fpm.busy", "{}", b.sentence);
    assert!(
        b.sentence
            .starts_with("every FPM worker busy while the pool forked from"),
        "{}",
        b.sentence
    );
    assert!(b.sentence.contains("(of 40)"), "{}", b.sentence);
}

#[test]
fn a_big_dynamic_pool_with_spares_for_the_surges_is_not_full() {
    // 800/s held 50 ms: 40 busy of 200, the CPU at a tenth, and spares
    // (10 to 20) that absorb Poisson's surges: a pool 95 % busy is not
    // full. (With Debian's 1 to 3 spares the same load does run short for
    // seconds at a time, one fork a second behind a surge, and is named.)
    let text = "duration = \"120s\"\n[stats]\nwarmup = \"80s\"\n[traffic]\nrate = \"800/s\"\n\
        [app.endpoints.home]\nsteps = [{ query = \"q\", db_wait = \"exp(mean = 50ms)\" }]\n[eras.stone]\n\
        host = { cores = 8 }\nfpm = { pm = \"dynamic\", max_children = 200, start_servers = 20, min_spare_servers = 10, max_spare_servers = 20 }\n";
    let b = bottleneck(text);
    assert!(!b.saturated.iter().any(|s| s.gauge == "fpm.busy"), "{}", b.sentence);
}
