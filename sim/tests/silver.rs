//! The silver era: keepalived's VIP, HAProxy's balancing, queue and health
//! checks, and faults on balancers and web nodes, each on a scenario whose
//! outcome is worked out by hand or by queueing theory.

mod support;

use support::{batch_means, check, erlang_c, run};

use std::path::Path;

use lab_core::record::outcomes::{CLIENT_TIMEOUT, CONNECT_FAILED, CONNECTION_RESET, LB_UNAVAILABLE};
use lab_core::{OutcomeId, OutcomeSpec, Record, scenario};

/// The id of an outcome every shop declares.
fn id(r: &Record, o: OutcomeSpec) -> OutcomeId {
    r.outcome_id(&o.key).unwrap()
}

/// The windows in which a counter moved.
fn counted_in(r: &Record, key: &str) -> Vec<(u64, u64)> {
    let i = r.counter_index(key).unwrap();
    r.windows
        .iter()
        .filter(|w| w.counters[i] > 0)
        .map(|w| (w.start / 1_000_000_000, w.counters[i]))
        .collect()
}

fn ms(v: Option<u64>) -> f64 {
    v.unwrap() as f64 / 1e6
}

const S: f64 = 1e9;

#[test]
fn an_unloaded_request_pays_one_more_round_trip_through_the_balancer() {
    // Bronze: 10 ms PHP + 2 RTT to connect to MySQL + 4 + 6 ms + 1 RTT back
    // = 23 ms at a 1 ms RTT. Silver adds the balancer's hop to the web node
    // and back: one more RTT, 24 ms.
    let r = run(r#"
        duration = "100s"
        [traffic]
        rate = "0.1/s"
        [app.endpoints.home]
        steps = [{ cpu = "10ms" }, { query = "q", db_cpu = "4ms", db_wait = "6ms" }]
        [eras.silver]
        network = { rtt = "1ms" }
    "#);
    assert_eq!(ms(r.totals.latency.min()), 24.0);
    assert_eq!(ms(r.totals.latency.max()), 24.0);
}

/// c web nodes with one PHP worker on one core each, exponential 10 ms
/// jobs, no network time: the balancer alone decides the queueing.
fn workers(balance: &str, server_maxconn: u32) -> String {
    format!(
        r#"
        duration = "2400s"
        [stats]
        window = "1m"
        [traffic]
        rate = "300/s"
        timeout = "off"
        [app.endpoints.job]
        steps = [{{ cpu = "exp(mean = 10ms)" }}]
        [eras.silver]
        nodes = 4
        web = {{ cores = 1 }}
        network = {{ rtt = "0s" }}
        fpm = {{ pm = "static", max_children = 1, listen_backlog = 100000 }}
        nginx = {{ fastcgi_read_timeout = "off" }}
        haproxy = {{ balance = "{balance}", server_maxconn = {server_maxconn}, timeout_queue = "1h", timeout_server = "1h" }}
        "#
    )
}

#[test]
fn leastconn_with_one_connection_per_server_is_an_mmc_queue() {
    // maxconn 1 per server: HAProxy holds every waiting request in its own
    // queue and hands it to the first server that frees: M/M/4 FCFS.
    // λ = 300/s, μ = 100/s, ρ = 0.75: W = C(4, 3)/(4μ − λ) + 1/μ.
    let r = run(&workers("leastconn", 1));
    let theory = erlang_c(4, 3.0) / (400.0 - 300.0) + 0.01;
    let w = batch_means(&r, |w| w.latency.mean().map(|ns| ns / S));
    check("leastconn maxconn=1: W (s)", w, theory);
    // The queue is HAProxy's: the requests it held got there after
    // Wq = C(4, 3)/(4μ − λ) on average, counting only those that waited,
    // so their mean wait is 1/(4μ − λ) = 10 ms.
    let q = r.wait_index("haproxy_queue_wait").unwrap();
    let waited = batch_means(&r, |w| w.waits[q].mean().map(|ns| ns / S));
    check(
        "leastconn maxconn=1: wait of the queued (s)",
        waited,
        1.0 / (400.0 - 300.0),
    );
}

#[test]
fn roundrobin_splits_arrivals_into_four_erlang_streams() {
    // Without maxconn every fourth arrival goes to a server: each sees
    // Erlang-4 interarrival times of mean 4/λ and queues alone, E4/M/1.
    // Its wait: W = 1/(μ(1 − σ)), where σ solves σ = (λ/(λ + μ(1 − σ)))^4.
    let r = run(&workers("roundrobin", 0));
    let (lambda, mu) = (300.0f64, 100.0f64);
    let mut sigma = 0.5;
    for _ in 0..200 {
        sigma = (lambda / (lambda + mu * (1.0 - sigma))).powi(4);
    }
    let theory = 1.0 / (mu * (1.0 - sigma));
    let w = batch_means(&r, |w| w.latency.mean().map(|ns| ns / S));
    check("roundrobin: W (s)", w, theory);
    // And it is worse than sharing one queue (M/M/4).
    assert!(theory > erlang_c(4, 3.0) / 100.0 + 0.01);
}

#[test]
fn a_crashed_master_balancer_leaves_a_gap_of_three_adverts_and_the_skew() {
    // VRRPv2, priorities 101/100: the backup takes over 3 s + 156/256 s
    // after the master's last advert, so (2.609, 3.609] s after the crash.
    // A client that gives up after 0.5 s (before its first SYN
    // retransmission, at 1 s) fails for every arrival in the gap.
    let r = run(r#"
        duration = "60s"
        [traffic]
        rate = "2000/s"
        timeout = "500ms"
        [app.endpoints.job]
        steps = [{ cpu = "1ms" }]
        [eras.silver]
        nodes = 2
        fpm = { pm = "static", max_children = 20 }
        [[faults]]
        at = "20s"
        kind = "crash"
        target = "lb.master"
    "#);
    let lost = r.totals.outcomes[id(&r, CLIENT_TIMEOUT)] as f64;
    let (lo, hi) = (2000.0 * 2.609, 2000.0 * 3.609);
    println!("client timeouts in the gap: {lost}, expected {lo}..{hi}");
    assert!(lost > lo * 0.95 && lost < hi * 1.05, "{lost}");
    // The few requests in flight through the dead balancer are reset once
    // the backup answers.
    let resets = r.totals.outcomes[id(&r, CONNECTION_RESET)];
    assert!(resets <= 10, "{resets}");
    // The charts shade the fault and the gap.
    use lab_core::record::SpanKind;
    let fault = r.spans.iter().find(|s| s.kind == SpanKind::Fault).unwrap();
    assert_eq!(
        (fault.start, fault.end, fault.label.as_str()),
        (20_000_000_000, 60_000_000_000, "crash lb.master")
    );
    let gap = r.spans.iter().find(|s| s.kind == SpanKind::NoEntry).unwrap();
    assert_eq!(gap.start, 20_000_000_000);
    assert!(gap.end > 22_609_375_000 && gap.end <= 23_609_375_000, "{gap:?}");
    assert_eq!(r.totals.outcomes[id(&r, LB_UNAVAILABLE)], 0);
}

/// The slowest request's latency (ms) when lb[0] crashes at 20 s under
/// patient clients whose kernel has `linear` SYN linear timeouts; every
/// request gets in.
fn slowest_through_a_vip_gap(linear: u32) -> f64 {
    let r = run(&format!(
        r#"
        duration = "60s"
        [traffic]
        rate = "200/s"
        timeout = "60s"
        tcp_syn_linear_timeouts = {linear}
        [app.endpoints.job]
        steps = [{{ cpu = "1ms" }}]
        [eras.silver]
        [[faults]]
        at = "20s"
        kind = "crash"
        target = "lb[0]"
        "#
    ));
    assert_eq!(r.totals.outcomes[id(&r, CLIENT_TIMEOUT)], 0);
    assert_eq!(r.totals.outcomes[id(&r, CONNECT_FAILED)], 0);
    ms(r.totals.latency.max())
}

#[test]
fn a_client_whose_syn_went_unanswered_gets_in_on_a_retransmission() {
    // With patient clients, arrivals in the VIP gap are served late: their
    // SYN is sent again 1 s, then 3 s (and 7 s) after the first.
    let max = slowest_through_a_vip_gap(0);
    assert!(
        max > 3000.0 && max < 7100.0,
        "the latest got in on the 7 s retransmission: {max} ms"
    );
}

#[test]
fn clients_on_a_newer_kernel_resend_their_syns_every_second_first() {
    // Linux 6.5+: four retransmissions 1 s apart before the backoff (1, 2,
    // 3, 4, 5, 7, 11 … s). The VIP is back 3 adverts + skew (3.6 s) after
    // the crash, so the gap's arrivals get in by their 4 s retransmission,
    // not the 7 s one of Debian 12's kernel (above).
    let max = slowest_through_a_vip_gap(4);
    assert!(
        max > 3000.0 && max < 4100.0,
        "the latest got in on the 4 s retransmission: {max} ms"
    );
}

/// Four web nodes behind roundrobin, web[1] struck at 30 s for 40 s.
fn struck(kind: &str, retries: u32) -> Record {
    run(&format!(
        r#"
        duration = "100s"
        [stats]
        window = "1s"
        [traffic]
        rate = "400/s"
        timeout = "off"
        [app.endpoints.job]
        steps = [{{ cpu = "1ms" }}]
        [eras.silver]
        nodes = 4
        network = {{ rtt = "0s" }}
        haproxy = {{ retries = {retries} }}
        [[faults]]
        at = "30s"
        for = "40s"
        kind = "{kind}"
        target = "web[1]"
        "#
    ))
}

#[test]
fn a_crashed_web_node_takes_its_share_until_the_checks_mark_it_down() {
    // inter 2 s, fall 3, no `timeout check`: a check that gets no answer
    // fails after inter, and the next starts inter after that, so the third
    // failure ends 10 to 12 s after the crash. Until then roundrobin sends
    // it a quarter of the requests; with no retries each fails after
    // `timeout connect` (5 s) with 503.
    let r = struck("crash", 0);
    let down = counted_in(&r, "haproxy.marked_down");
    assert_eq!(down.iter().map(|d| d.1).sum::<u64>(), 2, "both balancers: {down:?}");
    assert!(down.iter().all(|&(t, _)| (40..=42).contains(&t)), "{down:?}");
    let failed = r.totals.outcomes[id(&r, LB_UNAVAILABLE)] as f64;
    let (lo, hi) = (100.0 * 10.0, 100.0 * 12.0);
    println!("503s {failed}, expected {lo}..{hi}");
    assert!(failed > lo * 0.95 && failed < hi * 1.05, "{failed}");
    // Back at 70 s: the DOWN server is checked every 2 s and passes at
    // once; rise 2 marks it UP within 2 to 4 s.
    // The balancers' view, charted: four servers UP, three while web[1]
    // is marked DOWN.
    let g = r.gauge_index("haproxy.up_servers").unwrap();
    assert_eq!((r.windows[20].gauges[g].mean, r.windows[50].gauges[g].mean), (4.0, 3.0));
    let up = counted_in(&r, "haproxy.marked_up");
    assert_eq!(up.iter().map(|d| d.1).sum::<u64>(), 2, "{up:?}");
    assert!(up.iter().all(|&(t, _)| (71..=74).contains(&t)), "{up:?}");
}

#[test]
fn a_refusing_web_node_is_marked_down_sooner_and_retries_hide_it() {
    // A restart refuses connections (RST): checks fail at once, so the
    // third failure comes 4 to 6 s after. With the default 3 retries and
    // no redispatch, a refused request retries the same server after 1 s
    // each time, and gives up (503) after the fourth refusal.
    let r = struck("restart", 3);
    let down = counted_in(&r, "haproxy.marked_down");
    assert!(down.iter().all(|&(t, _)| (34..=36).contains(&t)), "{down:?}");
    let failed = r.totals.outcomes[id(&r, LB_UNAVAILABLE)] as f64;
    assert!(failed > 100.0 * 4.0 * 0.5 && failed < 100.0 * 6.0 * 1.05, "{failed}");
}

#[test]
fn first_fills_the_first_server_before_the_next() {
    // 50/s of 10 ms jobs keep about 0.5 connections open: with maxconn 4
    // per server, web[0] takes nearly everything and web[2] nothing.
    let r = run(r#"
        duration = "200s"
        [traffic]
        rate = "50/s"
        [app.endpoints.job]
        steps = [{ cpu = "10ms" }]
        [eras.silver]
        nodes = 3
        haproxy = { balance = "first", server_maxconn = 4 }
    "#);
    let cpu = |host: &str| r.totals.gauges[r.gauge_index(&format!("{host}.cpu")).unwrap()].mean;
    println!("busy cores: {} {} {}", cpu("web[0]"), cpu("web[1]"), cpu("web[2]"));
    assert!(cpu("web[0]") > 0.45);
    assert!(cpu("web[2]") < 0.001);
}

#[test]
fn leastconn_beats_roundrobin_when_one_server_is_slow() {
    // web[0] runs at a quarter of its speed for the whole run: roundrobin
    // still sends it a third of the requests, leastconn sends it fewer.
    let scenario = |balance: &str| {
        format!(
            r#"
            duration = "300s"
            [traffic]
            rate = "150/s"
            timeout = "off"
            [app.endpoints.job]
            steps = [{{ cpu = "exp(mean = 10ms)" }}]
            [eras.silver]
            nodes = 3
            web = {{ cores = 1 }}
            haproxy = {{ balance = "{balance}" }}
            [[faults]]
            at = "0s"
            kind = "slow"
            factor = 0.25
            target = "web[0]"
            "#
        )
    };
    let rr = run(&scenario("roundrobin"));
    let lc = run(&scenario("leastconn"));
    let mean = |r: &Record| r.totals.latency.mean().unwrap() / 1e6;
    println!("mean latency: roundrobin {} ms, leastconn {} ms", mean(&rr), mean(&lc));
    assert!(mean(&lc) * 2.0 < mean(&rr));
}

#[test]
fn a_full_server_queue_times_out_with_503_at_the_rate_the_server_cannot_take() {
    // One server, one connection at a time, 100 ms of work each: it serves
    // 10/s. 20/s arrive; `timeout queue` 1 s. At twice its capacity the
    // queue is never empty, the server never idle: it serves 10/s and the
    // other half time out in HAProxy's queue (503).
    let r = run(r#"
        duration = "200s"
        [traffic]
        rate = "20/s"
        timeout = "off"
        [app.endpoints.job]
        steps = [{ cpu = "100ms" }]
        [eras.silver]
        nodes = 1
        haproxy = { server_maxconn = 1, timeout_queue = "1s" }
    "#);
    let o = &r.totals.outcomes;
    let share = o[id(&r, LB_UNAVAILABLE)] as f64 / o.total() as f64;
    let q = r.gauge_index("haproxy.queue").unwrap();
    assert!(
        r.totals.gauges[q].max >= 5.0,
        "the queue holds about a second of arrivals"
    );
    println!("503 share {share}");
    assert!((share - 0.5).abs() < 0.03, "{share}");
}

// Regressions found by review: each ran into a panic, a stack overflow or
// a wrong outcome before.

/// A crash catches requests between statements (a 40 ms round trip to
/// MySQL makes that likely): their pending steps must not run on the
/// node's new pool, in silver (the balancer still holds them) or in bronze
/// (their clients still wait).
#[test]
fn a_crash_between_statements_does_not_resume_on_the_new_pool() {
    for era in [
        "[eras.silver]\nnodes = 2\nnetwork = { rtt = \"const(40ms)\" }\nhaproxy = { timeout_server = \"20s\" }\nfpm = { pm = \"static\", max_children = 50, request_terminate_timeout = \"1s\" }\n[[faults]]\nat = \"10s\"\nfor = \"1s\"\nkind = \"crash\"\ntarget = \"web[0]\"\n",
        "[eras.bronze]\nnetwork = { rtt = \"const(40ms)\" }\nfpm = { pm = \"static\", max_children = 50, request_terminate_timeout = \"1s\" }\n[[faults]]\nat = \"10s\"\nfor = \"1s\"\nkind = \"crash\"\ntarget = \"web\"\n",
    ] {
        let r = run(&format!(
            "duration = \"30s\"\n[traffic]\nrate = \"200/s\"\ntimeout = \"60s\"\n[app.endpoints.p]\nsteps = [{{ cpu = \"1ms\" }}, {{ query = \"q\", db_cpu = \"0.5ms\" }}, {{ cpu = \"1ms\" }}]\n{era}"
        ));
        assert!(r.totals.outcomes[OutcomeId::OK] > 5000, "{era}");
    }
}

/// Hundreds of thousands of connections waiting in the kernel for a
/// balancer at maxconn 1, answered 503 one after the other once its only
/// server is marked DOWN: they are accepted one event at a time, not one
/// nested call per connection (that overflowed the stack).
#[test]
fn a_long_accept_queue_drains_without_nesting() {
    let r = run(r#"
        duration = "40s"
        [traffic]
        rate = "20000/s"
        timeout = "off"
        [app.endpoints.job]
        steps = [{ cpu = "50ms" }]
        [eras.silver]
        nodes = 1
        lb = { somaxconn = 1000000 }
        fpm = { pm = "static", max_children = 1 }
        haproxy = { maxconn = 1, timeout_server = "20s", inter = "100ms" }
        [[faults]]
        at = "1s"
        kind = "crash"
        target = "web[0]"
    "#);
    assert!(r.totals.outcomes[id(&r, LB_UNAVAILABLE)] > 1000);
}

/// The client's SYN retransmissions are not HAProxy's retries: a request
/// that got in on its second SYN still has its 3 retries of 5 s each, so
/// no 503 comes before 20 s after the VIP answered (43.6 s here).
#[test]
fn syn_retransmissions_do_not_spend_haproxys_retries() {
    let r = run(r#"
        duration = "60s"
        [stats]
        window = "1s"
        [traffic]
        rate = "100/s"
        timeout = "59s"
        [app.endpoints.job]
        steps = [{ cpu = "1ms" }]
        [eras.silver]
        nodes = 2
        fpm = { pm = "static", max_children = 20 }
        [[faults]]
        at = "20s"
        kind = "crash"
        target = "lb.master"
        [[faults]]
        at = "18s"
        kind = "crash"
        target = "web[0]"
    "#);
    let unavailable = id(&r, LB_UNAVAILABLE);
    let first = r.windows.iter().find(|w| w.outcomes[unavailable] > 0).unwrap();
    assert!(
        first.start >= 43_000_000_000,
        "first 503 at {} s",
        first.start / 1_000_000_000
    );
}

/// An isolated bronze web host works on, but its answers do not get out.
#[test]
fn an_isolated_entry_host_answers_nobody() {
    let r = run(r#"
        duration = "30s"
        [stats]
        window = "1s"
        [traffic]
        rate = "10/s"
        timeout = "20s"
        [app.endpoints.p]
        steps = [{ cpu = "3s" }]
        [eras.bronze]
        web = { cores = 64 }
        fpm = { pm = "static", max_children = 100 }
        [[faults]]
        at = "5s"
        for = "10s"
        kind = "isolate"
        target = "web"
    "#);
    let ok: u64 = r.windows[5..15].iter().map(|w| w.outcomes[OutcomeId::OK]).sum();
    assert_eq!(ok, 0);
    assert!(r.windows[20..].iter().any(|w| w.outcomes[OutcomeId::OK] > 0));
}

/// A run cut short by --duration before a balancer's fault strikes.
#[test]
fn a_balancer_fault_after_the_end_of_a_shortened_run() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/lb-failover.toml");
    let mut s = scenario::load(&path).unwrap();
    s.set_duration(60_000_000_000).unwrap();
    let r = lab_sim::run(&s, &s.eras[0], &mut |_| {}).unwrap().record;
    assert_eq!(r.totals.outcomes[id(&r, CONNECTION_RESET)], 0);
}

#[test]
fn nginx_frees_its_connections_when_haproxy_gives_up() {
    // nginx holds 4 proxied requests (one worker: 11 connections, 3 kept
    // for itself, 2 per request). Each request waits 2 s in MySQL, and
    // HAProxy gives up after 100 ms (504): nginx sees its client close and
    // frees both connections then, while PHP works on. Were they held for
    // the 2 s, 20 requests would want them at once and most would find
    // none (500).
    let r = run(r#"
        duration = "60s"
        [traffic]
        rate = "10/s"
        [app.endpoints.slow]
        steps = [{ query = "q", db_wait = "2s" }]
        [eras.silver]
        nodes = 1
        network = { rtt = "0s" }
        nginx = { worker_processes = 1, worker_connections = 11 }
        fpm = { pm = "static", max_children = 50 }
        haproxy = { timeout_server = "100ms" }
    "#);
    let all: u64 = r.outcome_ids().map(|o| r.totals.outcomes[o]).sum();
    let timed_out = r.totals.outcomes[id(&r, lab_core::record::outcomes::LB_TIMEOUT)];
    let refused = r.totals.outcomes[id(&r, lab_core::record::outcomes::NGINX_NO_CONNECTION)];
    let closed = r.totals.outcomes[id(&r, lab_core::record::outcomes::NGINX_CLOSED)];
    assert!(all > 400);
    assert_eq!(timed_out + refused + closed, all);
    // Held 100 ms each at 10/s, about one request is in nginx at a time:
    // an arrival finds all four places taken with P(Poisson(1) ≥ 4) ≈ 1.9 %.
    let full = (refused + closed) as f64 / all as f64;
    assert!(full < 0.04, "{full}");
    // PHP ran every request to its end, for nobody.
    let i = r.counter_index("fpm.abandoned").unwrap();
    assert!(
        r.totals.counters[i] + 25 >= timed_out,
        "{} of {timed_out}",
        r.totals.counters[i]
    );
}

#[test]
fn many_web_nodes_keep_their_cpu_figures_in_bounded_memory_and_the_vip_is_on_record() {
    // 40 nodes and 3,000 windows of 10 ms: the first 16 nodes' CPUs have a
    // figure in every window, the other 24 at most 256 points each (3,000
    // windows: 16 a point, 188 points).
    let r = run(r#"
        duration = "30s"
        [stats]
        window = "10ms"
        [traffic]
        rate = "400/s"
        [app.endpoints.job]
        steps = [{ cpu = "exp(mean = 20ms)" }]
        [eras.silver]
        nodes = 40
        [[faults]]
        at = "10s"
        for = "10s"
        kind = "crash"
        target = "lb.master"
    "#);
    let web = &r.groups[0];
    assert_eq!((web.key.as_str(), web.members.len()), ("web.cpu", 40));
    assert_eq!(r.windows.len(), 3000);
    assert_eq!(r.windows[0].gauges.len(), r.gauges.len() - 24);
    assert_eq!(r.coarse.windows_per_point, 16);
    assert_eq!(r.coarse.series.len(), 24);
    assert!(
        r.coarse
            .series
            .iter()
            .all(|s| s.len() == 188 && s.capacity() <= lab_core::record::POINTS)
    );
    // A coarse node's points average to its exact whole-run mean, and it
    // works like a node kept in every window.
    let last = web.members[39];
    let points = r.gauge_points(last);
    let mean = points.iter().map(|(_, len, s)| s.mean * *len as f64).sum::<f64>() / 30.0 / S;
    let exact = r.totals.gauges[last].mean;
    assert!((mean - exact).abs() < 1e-6 * exact, "{mean} vs {exact}");
    let first = r.totals.gauges[web.members[0]].mean;
    assert!(exact > 0.5 * first && exact < 2.0 * first, "{exact} vs {first}");
    // Who held the VIP: lb[0], nobody for three adverts and the skew, lb[1],
    // and lb[0] again once it is back (it preempts).
    let vip = &r.timelines[0];
    assert_eq!(
        (vip.key.as_str(), &vip.states[..]),
        ("vip.holder", &["lb[0]".to_string(), "lb[1]".to_string()][..])
    );
    let states: Vec<Option<usize>> = vip.changes.iter().map(|c| c.1).collect();
    assert_eq!(states, [Some(0), None, Some(1), Some(0)]);
    assert_eq!(vip.changes[1].0, 10_000_000_000);
}
