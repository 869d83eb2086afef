//! The clients' kept-alive connections to keepalived's address, and what a
//! move of the address does to them: a master cut off and back (what `lab
//! validate scenarios/validate-silver.toml` measures), a restart, and
//! HAProxy's idle timeout. Times are worked out by hand from keepalived's
//! and HAProxy's defaults.

mod support;

use support::run;

use lab_core::record::outcomes::{CONNECTION_RESET, LB_UNAVAILABLE};
use lab_core::{OutcomeId, Record};

const S: u64 = 1_000_000_000;
/// lb[0] at priority 101: 3 adverts and (256 − 101)/256 s.
const DOWN_101: u64 = 3 * S + 155 * S / 256;

/// The windows (start in ms, count) in which outcome `o` happened.
fn windows_of(r: &Record, o: OutcomeId) -> Vec<(u64, u64)> {
    r.windows
        .iter()
        .filter(|w| w.outcomes[o] > 0)
        .map(|w| (w.start / 1_000_000, w.outcomes[o]))
        .collect()
}

/// How many requests ended in `[from, to)` (ns, on window bounds), and how
/// many of those failed.
fn ended(r: &Record, from: u64, to: u64) -> (u64, u64) {
    let ws = r.windows.iter().filter(|w| w.start >= from && w.start < to);
    ws.fold((0, 0), |(n, bad), w| {
        let all: u64 = r.outcome_ids().map(|o| w.outcomes[o]).sum();
        (n + all, bad + all - w.outcomes[OutcomeId::OK])
    })
}

/// Who held the address from when: the record's `vip.holder` timeline.
fn holders(r: &Record) -> Vec<(u64, Option<usize>)> {
    r.timelines
        .iter()
        .find(|t| t.key == "vip.holder")
        .unwrap()
        .changes
        .clone()
}

/// 500 requests a second of 1 ms, two web nodes with room to spare, and
/// patient clients (60 s): nobody gives up, every request that arrives
/// while nobody holds the address opens a connection of its own and gets
/// in on a SYN retransmission. The ~1,800 connections of the gap stay
/// within the clients' pool (2,000: 500/s times 10 s of patience, at most
/// 2,000) and HAProxy's `maxconn` is out of reach: at its default, 2,000,
/// the pool's idle connections would fill it, and new ones would wait in
/// the kernel until HAProxy closes those for idleness, 50 s later.
fn cut_off(at: u64, back: u64, duration: u64) -> Record {
    run(&format!(
        r#"
        duration = "{duration}s"
        [stats]
        window = "100ms"
        [traffic]
        rate = "500/s"
        timeout = "60s"
        [app.endpoints.job]
        steps = [{{ cpu = "1ms" }}]
        [eras.silver]
        nodes = 2
        haproxy = {{ maxconn = 100000 }}
        fpm = {{ pm = "static", max_children = 20 }}
        [[faults]]
        at = "{at}s"
        for = "{}s"
        kind = "isolate"
        target = "lb.master"
    "#,
        back - at
    ))
}

#[test]
fn a_master_cut_off_and_back_resets_the_connections_kept_through_the_backup() {
    let r = cut_off(20, 40, 60);
    let reset = r.outcome_id(&CONNECTION_RESET.key).unwrap();
    // keepalived on lb[0] sees its link go down and gives the address up at
    // once; lb[1] takes it when its master-down interval since lb[0]'s last
    // advert runs out, G ∈ (2.609375, 3.609375] s later. When the link is
    // back at 40 s, lb[0] waits its own interval as a backup, 3.60546875 s,
    // then takes the address back.
    let h = holders(&r);
    assert_eq!(h.len(), 4, "{h:?}");
    assert_eq!(h[1], (20 * S, None));
    let gap = h[2].0 - 20 * S;
    assert!(
        gap > 2_609_375_000 && gap <= 3_609_375_000 && h[2].1 == Some(1),
        "{h:?}"
    );
    let home = 40 * S + DOWN_101;
    assert_eq!(h[3], (home, Some(0)));
    // The requests sent in the gap on the few connections the clients had
    // kept through lb[0] are reset once lb[1] answers (its kernel knows
    // nothing of them); the others opened a connection each through lb[1].
    let resets = windows_of(&r, reset);
    let at_strike: u64 = resets.iter().filter(|&&(t, _)| t < 30_000).map(|&(_, n)| n).sum();
    assert!(resets[0].0 == (20 * S + gap) / 100_000_000 * 100, "{resets:?}");
    assert!((1..=20).contains(&at_strike), "{at_strike} at the strike");
    // Nothing fails from then until lb[0] takes the address back: not at
    // the heal (40 s) itself, when lb[0]'s link returns but the address
    // stays with lb[1] for 3.6 s.
    let (n, bad) = ended(&r, 25 * S, home / 100_000_000 * 100_000_000);
    assert!(n > 9_000 && bad == 0, "{bad} of {n} failed before lb[0] is back");
    // From 43.60546875 s every request goes out on a connection opened
    // through lb[1], and lb[0]'s kernel resets it; the clients drop it and
    // take the next, until the pool is empty: it held one connection per
    // request of the gap (~500 × G), so the resets last about G.
    let at_heal: u64 = resets.iter().filter(|&&(t, _)| t >= 40_000).map(|&(_, n)| n).sum();
    let expected = gap as f64 / 2e6; // 500/s × G s
    println!("gap {gap} ns: {at_strike} resets at the strike, {at_heal} at the heal (~{expected:.0})");
    assert!(
        (at_heal as f64) > 0.9 * expected && (at_heal as f64) < 1.1 * expected + 20.0,
        "{at_heal} resets, ~{expected:.0} expected"
    );
    let first = resets.iter().find(|&&(t, _)| t >= 40_000).unwrap().0;
    let last = resets.last().unwrap().0;
    assert_eq!(first, home / 100_000_000 * 100, "the first reset when lb[0] is back");
    let drained = (last - first) as f64 / 1e3;
    assert!(
        (drained - gap as f64 / 1e9).abs() < 0.5,
        "reset for {drained} s after the heal, the gap was {gap} ns"
    );
    // Every request in between was reset (an open model of 500/s: the
    // 100 ms windows between the first and the last hold no success), and
    // none got HAProxy's 503: lb[0]'s checks, failing at once while it was
    // cut off, marked its servers UP within 2 × 2 s of the link's return,
    // and by then no new connection reached it yet.
    let inner = ended(&r, (first + 100) * 1_000_000, last * 1_000_000);
    assert_eq!(inner.0, inner.1, "{inner:?}");
    assert_eq!(r.totals.outcomes[r.outcome_id(&LB_UNAVAILABLE.key).unwrap()], 0);
    let (n, bad) = ended(&r, (last + 100) * 1_000_000, 60 * S);
    assert!(n > 5_000 && bad == 0, "{bad} of {n} failed after the pool drained");
}

#[test]
fn a_cut_off_balancer_s_checks_fail_at_once_and_rise_after_its_return() {
    // lb[0]'s checks get "Network is unreachable" at once while its link is
    // down: each server DOWN after `fall` (3) of them, every 2 s, within
    // 4–6 s of the cut; UP after `rise` (2) passing ones, the first within
    // 2 s of the link's return and the second 2 s later. lb[1]'s checks
    // never fail.
    let r = cut_off(20, 40, 60);
    let counted = |key: &str| -> Vec<(u64, u64)> {
        let i = r.counter_index(key).unwrap();
        r.windows
            .iter()
            .filter(|w| w.counters[i] > 0)
            .map(|w| (w.start / 100_000_000, w.counters[i]))
            .collect()
    };
    let down = counted("haproxy.marked_down");
    let up = counted("haproxy.marked_up");
    assert_eq!(down.iter().map(|d| d.1).sum::<u64>(), 2, "{down:?}");
    assert!(down.iter().all(|&(t, _)| (240..=260).contains(&t)), "{down:?}");
    assert_eq!(up.iter().map(|u| u.1).sum::<u64>(), 2, "{up:?}");
    assert!(up.iter().all(|&(t, _)| (420..=440).contains(&t)), "{up:?}");
}

#[test]
fn haproxy_closes_the_idle_connections_of_a_long_failover_and_the_return_is_clean() {
    // Cut off at 10 s for 70 s: the connections opened through lb[1] in the
    // gap went idle by ~15 s; lb[1]'s HAProxy closes them after `timeout
    // client` (50 s) and, holding the address, its FIN reaches the clients,
    // who drop them. When lb[0] takes the address back at 83.6 s the pool
    // holds only the few connections in use lately: a handful of resets.
    let r = cut_off(10, 80, 100);
    let reset = r.outcome_id(&CONNECTION_RESET.key).unwrap();
    let at_heal: u64 = windows_of(&r, reset)
        .iter()
        .filter(|&&(t, _)| t >= 80_000)
        .map(|&(_, n)| n)
        .sum();
    assert!(at_heal <= 20, "{at_heal} resets at the return");
    let short = cut_off(10, 30, 50);
    let at_short: u64 = windows_of(&short, reset)
        .iter()
        .filter(|&&(t, _)| t >= 30_000)
        .map(|&(_, n)| n)
        .sum();
    assert!(at_short > 1_000, "a 20 s cut still leaves {at_short} resets");
}

#[test]
fn a_restarted_master_closes_its_connections_then_takes_the_address_back() {
    // `restart` of lb[0] at 20 s for 10 s: keepalived's priority-0 advert
    // lets lb[1] take the address after its skew, 156/256 s; HAProxy stops
    // too and closes its connections (its FIN reaches the clients, which
    // drop them, so none is reset later). lb[0] starts again at 30 s and
    // takes the address back 3.60546875 s later: the connections opened
    // through lb[1] since then are reset, one per request of the skew's
    // gap (~1,000 × 0.609375) and the few in use after.
    let r = run(r#"
        duration = "50s"
        [stats]
        window = "100ms"
        [traffic]
        rate = "1000/s"
        timeout = "60s"
        [app.endpoints.job]
        steps = [{ cpu = "1ms" }]
        [eras.silver]
        nodes = 2
        fpm = { pm = "static", max_children = 20 }
        [[faults]]
        at = "20s"
        for = "10s"
        kind = "restart"
        target = "lb.master"
    "#);
    let reset = r.outcome_id(&CONNECTION_RESET.key).unwrap();
    let h = holders(&r);
    let home = 30 * S + DOWN_101;
    assert_eq!(
        h,
        [
            (0, Some(0)),
            (20 * S, None),
            (20 * S + 156 * S / 256, Some(1)),
            (home, Some(0))
        ]
    );
    let resets = windows_of(&r, reset);
    let before: u64 = resets.iter().filter(|&&(t, _)| t < 30_000).map(|&(_, n)| n).sum();
    let after: u64 = resets.iter().filter(|&&(t, _)| t >= 30_000).map(|&(_, n)| n).sum();
    println!("{before} resets at the stop, {after} when lb[0] is back");
    // At the stop only the requests in flight through lb[0] (1 ms each).
    assert!(before <= 20, "{before}");
    assert!((550..=700).contains(&after), "{after}");
    assert_eq!(
        resets.iter().find(|&&(t, _)| t >= 30_000).unwrap().0,
        home / 100_000_000 * 100
    );
}
