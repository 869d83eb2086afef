//! Validation of the keys that shape how connections wait: FPM's `listen`
//! and `request_terminate_timeout`, the hosts' kernel settings and nginx's
//! workers and connect timeout.

mod support;

use std::path::Path;

use lab_core::scenario::{self, Architecture, Listen, Scenario};
use support::*;

fn parse(text: &str) -> Scenario {
    scenario::parse(text, Path::new(FILE)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn defaults_are_debians() {
    let s = parse(&ok_doc());
    let Architecture::Stone { host, stack } = &s.eras[0].arch else {
        panic!()
    };
    assert_eq!(stack.fpm.listen, Listen::Unix);
    assert_eq!(stack.fpm.listen_backlog, None);
    assert_eq!(stack.fpm.backlog(host.kernel.somaxconn), 4096);
    assert_eq!(
        (host.kernel.tcp_syn_retries, host.kernel.tcp_syn_linear_timeouts),
        (6, 0)
    );
    assert_eq!(stack.nginx.fastcgi_connect_timeout, 60_000_000_000);
    assert_eq!(stack.nginx.worker_connections, 768);
    assert_eq!(stack.nginx.workers(host.cores), 4, "auto: one per core");
}

#[test]
fn the_backlog_is_capped_by_the_hosts_somaxconn() {
    let s = parse(&doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nhost = { somaxconn = 128 }\nfpm = { listen = \"tcp\", listen_backlog = 511 }",
    ));
    let Architecture::Stone { host, stack } = &s.eras[0].arch else {
        panic!()
    };
    assert_eq!(stack.fpm.listen, Listen::Tcp);
    assert_eq!(stack.fpm.backlog(host.kernel.somaxconn), 128);
    let t = s.eras[0].topology();
    assert_eq!(t.hosts[0].kernel.somaxconn, 128);
}

#[test]
fn listen_is_unix_or_tcp() {
    let text = doc("", "rate = 1", "", "[eras.stone]\nfpm = { listen = \"udp\" }");
    rejects(&text, "eras.stone.fpm.listen", "\"udp\"", "\"unix\" (a socket");
    let text = doc("", "rate = 1", "", "[eras.stone]\nfpm = { listen = 9000 }");
    rejects(&text, "eras.stone.fpm.listen", "9000", "expected \"unix\" or \"tcp\"");
}

#[test]
fn kernel_settings_are_bounded() {
    let text = doc("", "rate = 1", "", "[eras.stone]\nhost = { somaxconn = 0 }");
    rejects(&text, "eras.stone.host.somaxconn", "0 }", "at least 1");
    let text = doc("", "rate = 1", "", "[eras.bronze]\nweb = { tcp_syn_retries = 128 }");
    rejects(&text, "eras.bronze.web.tcp_syn_retries", "128", "at most 127");
    let text = doc(
        "",
        "rate = 1",
        "",
        "[eras.bronze]\ndb = { tcp_syn_linear_timeouts = -1 }",
    );
    rejects(&text, "eras.bronze.db.tcp_syn_linear_timeouts", "-1", "at least 0");
}

#[test]
fn the_clients_kernel_is_debian_12_s_unless_the_traffic_says() {
    let s = parse(&ok_doc());
    assert_eq!(
        (
            s.traffic.clients.tcp_syn_retries,
            s.traffic.clients.tcp_syn_linear_timeouts
        ),
        (6, 0)
    );
    let s = parse(&doc(
        "",
        "rate = 1\ntcp_syn_linear_timeouts = 4\ntcp_syn_retries = 2",
        "",
        "[eras.silver]",
    ));
    assert_eq!(
        (
            s.traffic.clients.tcp_syn_retries,
            s.traffic.clients.tcp_syn_linear_timeouts
        ),
        (2, 4)
    );
    let text = doc("", "rate = 1\ntcp_syn_retries = 0", "", "[eras.silver]");
    rejects(&text, "traffic.tcp_syn_retries", "0", "at least 1");
    let text = doc("", "rate = 1\ntcp_syn_linear_timeouts = 200", "", "[eras.silver]");
    rejects(&text, "traffic.tcp_syn_linear_timeouts", "200", "at most 127");
    let text = doc("", "rate = 1\ntcp_syn_linear_timeouts = -1", "", "[eras.silver]");
    rejects(&text, "traffic.tcp_syn_linear_timeouts", "-1", "at least 0");
    let text = doc("", "rate = 1\ntcp_syn_retries = 128", "", "[eras.silver]");
    rejects(&text, "traffic.tcp_syn_retries", "128", "at most 127");
    let text = doc("", "rate = 1\ntcp_syn_retries = \"4\"", "", "[eras.silver]");
    rejects(&text, "traffic.tcp_syn_retries", "\"4\"", "");
    let text = doc("", "rate = 1\ntcp_syn_linear_timeouts = 1.5", "", "[eras.silver]");
    rejects(&text, "traffic.tcp_syn_linear_timeouts", "1.5", "");
    let s = parse(&doc(
        "",
        "rate = 1\ntcp_syn_linear_timeouts = 127\ntcp_syn_retries = 127",
        "",
        "[eras.silver]",
    ));
    assert_eq!(s.traffic.clients.tcp_syn_linear_timeouts, 127);
}

#[test]
fn a_kernel_s_syn_schedule_follows_its_linear_timeouts() {
    use lab_core::scenario::Kernel;
    const S: u64 = 1_000_000_000;
    let (debian12, gives_up) = Kernel::default().syn_schedule();
    assert_eq!(debian12, [1, 3, 7, 15, 31, 63].map(|t| t * S));
    assert_eq!(gives_up, 127 * S);
    let newer = Kernel {
        tcp_syn_linear_timeouts: 4,
        ..Kernel::default()
    };
    let (linear, gives_up) = newer.syn_schedule();
    assert_eq!(linear, [1, 2, 3, 4, 5, 7, 11, 19, 35, 67].map(|t| t * S));
    assert_eq!(gives_up, 131 * S);
    // The most the keys take: the backoff stays at TCP_RTO_MAX (120 s).
    let most = Kernel {
        tcp_syn_retries: 127,
        tcp_syn_linear_timeouts: 127,
        ..Kernel::default()
    };
    let (all, gives_up) = most.syn_schedule();
    assert_eq!(all.len(), 254);
    assert!(all.windows(2).all(|w| w[1] - w[0] >= S && w[1] - w[0] <= 120 * S));
    assert_eq!(all[253] - all[252], 120 * S);
    assert_eq!(gives_up - all[253], 120 * S);
}

#[test]
fn request_terminate_timeout_is_whole_seconds() {
    let s = parse(&doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nfpm = { request_terminate_timeout = \"2000ms\" }",
    ));
    assert_eq!(
        s.eras[0].arch.stack().fpm.request_terminate_timeout,
        Some(2_000_000_000)
    );
    let text = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nfpm = { request_terminate_timeout = \"1.5s\" }",
    );
    rejects(
        &text,
        "eras.stone.fpm.request_terminate_timeout",
        "\"1.5s\"",
        "whole seconds",
    );
}

#[test]
fn nginx_keys_are_checked() {
    let s = parse(&doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nnginx = { worker_processes = 2, worker_connections = 1024, fastcgi_connect_timeout = \"5s\" }",
    ));
    let n = &s.eras[0].arch.stack().nginx;
    assert_eq!((n.worker_processes, n.worker_connections), (Some(2), 1024));
    assert_eq!(n.fastcgi_connect_timeout, 5_000_000_000);
    let auto = parse(&doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nnginx = { worker_processes = \"auto\" }",
    ));
    assert_eq!(auto.eras[0].arch.stack().nginx.worker_processes, None);

    let text = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nnginx = { worker_processes = \"many\" }",
    );
    rejects(
        &text,
        "eras.stone.nginx.worker_processes",
        "\"many\"",
        "a number or \"auto\"",
    );
    let text = doc("", "rate = 1", "", "[eras.stone]\nnginx = { worker_processes = 0 }");
    rejects(&text, "eras.stone.nginx.worker_processes", "0 }", "at least 1");
    let text = doc("", "rate = 1", "", "[eras.stone]\nnginx = { worker_connections = 4 }");
    rejects(&text, "eras.stone.nginx.worker_connections", "4 }", "at least 5");
    let text = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nnginx = { fastcgi_connect_timeout = \"90s\" }",
    );
    rejects(
        &text,
        "eras.stone.nginx.fastcgi_connect_timeout",
        "\"90s\"",
        "cannot usually exceed 75 seconds",
    );
}

#[test]
fn every_new_key_is_reported_with_the_others() {
    // One bad value does not hide the next.
    let text = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nfpm = { listen = \"x\", request_terminate_timeout = \"0.5s\" }\nnginx = { worker_connections = 1, worker_processes = -3 }",
    );
    let keys: Vec<_> = problems(&text).into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        [
            "eras.stone.fpm.listen",
            "eras.stone.fpm.request_terminate_timeout",
            "eras.stone.nginx.worker_connections",
            "eras.stone.nginx.worker_processes",
        ]
    );
}
