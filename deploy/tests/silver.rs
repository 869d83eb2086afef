//! Silver for real: two HAProxy hosts and keepalived's VIP in network
//! namespaces of the run's own, two web nodes behind them; requests through
//! the VIP reach both nodes, and when the master balancer's link goes down
//! the VIP moves to the backup and service resumes after keepalived's
//! master-down interval; a crashed web node is routed around and answers
//! again once healed. Nothing is left after teardown, namespaces included.

mod support;

use std::time::{Duration, Instant};

use lab_core::scenario::FaultKind;
use lab_deploy::{UpOptions, up};
use support::{get, ready, scenario, try_get};

/// `accepted conn` on a pool's status page.
fn accepted(status_page: &str) -> u64 {
    status_page
        .lines()
        .find_map(|l| l.strip_prefix("accepted conn:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no accepted conn in {status_page}"))
}

fn wait_for(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "waited {within:?} for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn silver_balances_over_its_nodes_and_fails_over_when_the_master_dies() {
    if !ready() {
        return;
    }
    if let Err(e) = lab_deploy::doctor::Component::Haproxy
        .find()
        .and(lab_deploy::doctor::Component::Keepalived.find())
    {
        assert!(std::env::var_os("CI").is_none(), "CI lacks silver's components: {e}");
        eprintln!("skipping silver: {e}");
        return;
    }
    let s = scenario();
    let d = up(&s, "silver", &UpOptions::default()).expect("silver comes up");
    let url = d.url();
    assert_eq!(url, "http://10.77.0.100:80/");
    assert!(d.client_netns().is_some());
    assert_eq!(d.balancers.len(), 2);
    assert_eq!(d.web.len(), 2);
    // Every daemon runs in its host's cgroup, inside its namespace.
    for p in &d.record().processes {
        let h = d
            .hosts
            .iter()
            .find(|h| {
                h.cgroup
                    .as_ref()
                    .is_some_and(|c| lab_deploy::cgroup::procs(c).contains(&p.pid))
            })
            .unwrap_or_else(|| panic!("{} ({}) is in no host's cgroup", p.name, p.pid));
        let ns = std::fs::read_link(format!("/proc/{}/ns/net", p.pid)).unwrap();
        match &h.netns {
            Some(name) => {
                let want = std::fs::metadata(lab_deploy::netns::path(name)).unwrap();
                let got = std::fs::metadata(format!("/proc/{}/ns/net", p.pid)).unwrap();
                use std::os::unix::fs::MetadataExt;
                assert_eq!(
                    (got.dev(), got.ino()),
                    (want.dev(), want.ino()),
                    "{} in {name}: {ns:?}",
                    p.name
                );
            }
            None => assert_eq!(h.name, "db", "only the database stays in this machine's network"),
        }
    }
    // lb[0] has the higher priority (101): it holds the VIP.
    assert_eq!(d.vip_holder(), Some("lb[0]"));

    // Round robin over both web nodes, every answer a 200 from the PHP.
    let before: Vec<u64> = d
        .as_client(|| {
            d.web
                .iter()
                .map(|w| accepted(&get(&w.url(), "fpm-status").body))
                .collect()
        })
        .unwrap();
    let statuses: Vec<u16> = d
        .as_client(|| (0..6).map(|_| get(&url, "home").status).collect())
        .unwrap();
    assert_eq!(statuses, vec![200; 6]);
    let after: Vec<u64> = d
        .as_client(|| {
            d.web
                .iter()
                .map(|w| accepted(&get(&w.url(), "fpm-status").body))
                .collect()
        })
        .unwrap();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        // The status page itself counts once.
        assert!(
            a - b >= 2,
            "web node {i} served {} of 6: {before:?} -> {after:?}",
            a - b - 1
        );
    }

    // The master's link goes down: the VIP is gone until the backup's
    // master-down timer (3 adverts + skew, about 3.6 s) fires.
    d.set_link("lb[0]", false).unwrap();
    let down_at = Instant::now();
    let (failed, back_after) = d
        .as_client(|| {
            let mut failed = 0;
            loop {
                let r = try_get(&url, "home", Duration::from_millis(200));
                if r.as_ref().is_some_and(|r| r.status == 200) {
                    return (failed, down_at.elapsed());
                }
                failed += 1;
                assert!(down_at.elapsed() < Duration::from_secs(20), "no failover within 20 s");
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .unwrap();
    assert!(
        failed >= 1,
        "the VIP answered at once after the master's link went down"
    );
    assert!(
        back_after > Duration::from_secs(2) && back_after < Duration::from_secs(8),
        "failover took {back_after:?}"
    );
    assert_eq!(d.vip_holder(), Some("lb[1]"));
    eprintln!("silver failover: {back_after:?}, {failed} failed attempts");

    // lb[0]'s link back: with preemption (the default) it takes the VIP back.
    d.set_link("lb[0]", true).unwrap();
    wait_for(Duration::from_secs(15), "lb[0] to take the VIP back", || {
        d.vip_holder() == Some("lb[0]")
    });

    // web[0] crashes: HAProxy's checks mark it DOWN (fall 3 × inter 2 s) and
    // web[1] takes every request; healed, web[0] answers again.
    let mut d = d;
    let crash = lab_deploy::faults::fault(FaultKind::Crash, "web[0]");
    let host = d.strike(&crash).unwrap();
    let web0 = d.web[0].url();
    assert!(
        d.as_client(|| try_get(&web0, "home", Duration::from_millis(500)))
            .unwrap()
            .is_none()
    );
    wait_for(Duration::from_secs(60), "five 200s in a row without web[0]", || {
        d.as_client(|| (0..5).all(|_| try_get(&url, "home", Duration::from_secs(2)).is_some_and(|r| r.status == 200)))
            .unwrap()
    });
    d.heal(&crash, &host).unwrap();
    wait_for(
        Duration::from_secs(30),
        "web[0] to answer after its crash healed",
        || {
            d.as_client(|| try_get(&web0, "home", Duration::from_millis(500)).is_some_and(|r| r.status == 200))
                .unwrap()
        },
    );
    // lb.master names the VIP's holder.
    let isolate = lab_deploy::faults::fault(FaultKind::Isolate, "lb.master");
    let struck = d.strike(&isolate).unwrap();
    assert_eq!(struck, "lb[0]");
    d.heal(&isolate, &struck).unwrap();

    let record = d.record().clone();
    assert_eq!(
        record.netns.len(),
        6,
        "lan, lb0, lb1, web0, web1, client: {:?}",
        record.netns
    );
    d.tear_down().expect("teardown succeeds");
    assert_eq!(record.leftovers(), Vec::<String>::new());
}
