//! The silver era's keepalived pair against figures from the RFCs, keepalived
//! and FACTS.md, each worked by hand in the comments.
//!
//! Unless a test says otherwise: A has priority 200 and `state MASTER`, B has
//! priority 100 and `state BACKUP`, VRRPv2, advert_int 1 s, both started at
//! 0. Like keepalived 2.2.7, A waits its master-down interval first,
//! 3 s + (256 − 200)/256 s = 3.21875 s (B's would be 3.609375 s), so A is
//! master from 3.21875 s and advertises at 3.21875 + k s: 10.21875 s is one
//! of its adverts.

use lab_control::vrrp::{
    Holders, InitialState, MILLISECOND, SECOND, Side, Vrrp, VrrpConfig, VrrpPair, VrrpState, VrrpVersion,
};

const A: Side = Side::A;
const B: Side = Side::B;
/// 100 µs: a LAN hop; where a test uses it, it shows up once per advert.
const HOP: u64 = 100_000;

fn a_config() -> VrrpConfig {
    VrrpConfig {
        priority: 200,
        initial: InitialState::Master,
        address: 1,
        ..VrrpConfig::default()
    }
}

fn b_config() -> VrrpConfig {
    VrrpConfig {
        priority: 100,
        address: 2,
        ..VrrpConfig::default()
    }
}

fn pair_of(a: VrrpConfig, b: VrrpConfig, delay: u64) -> VrrpPair {
    let mut pair = VrrpPair::new(Vrrp::new(a).unwrap(), Vrrp::new(b).unwrap(), delay);
    pair.start(0, A);
    pair.start(0, B);
    pair
}

fn secs(s: f64) -> u64 {
    let ns = (s * SECOND as f64).round();
    assert!(
        (ns - s * SECOND as f64).abs() < 1e-3,
        "{s} s is not a whole number of nanoseconds"
    );
    ns as u64
}

#[test]
fn both_start_as_backup_and_the_higher_priority_times_out_first() {
    // The skew is what makes A win: 3.21875 s against B's 3.609375 s. B
    // hears A's first advert one hop later and stays backup.
    let mut pair = pair_of(a_config(), b_config(), HOP);
    pair.run_until(10 * SECOND);
    assert_eq!(pair.first(Holders::Only(A), 0), Some(secs(3.21875)));
    assert_eq!(pair.time_with(Holders::Nobody, 0, 10 * SECOND), secs(3.21875));
    assert_eq!(pair.time_with(Holders::Both, 0, 10 * SECOND), 0);
    assert_eq!(pair.router(B).state(), VrrpState::Backup);
}

#[test]
fn v2_backup_at_priority_100_detects_a_dead_master_after_3_609375_s() {
    // The host of A dies right after its advert at 10.21875 s. B's timer was
    // last reset by that advert: + 3 × 1 s + (256 − 100)/256 s = 13.828125 s.
    let mut pair = pair_of(a_config(), b_config(), 0);
    pair.run_until(secs(10.21875));
    assert_eq!(pair.holders(), Holders::Only(A));
    pair.crash_host(secs(10.21875), A);
    pair.run_until(20 * SECOND);
    assert_eq!(pair.first(Holders::Only(B), 10 * SECOND), Some(secs(13.828125)));
    // Nobody answers on the address for the whole 3.609375 s.
    assert_eq!(
        pair.time_with(Holders::Nobody, 10 * SECOND, 20 * SECOND),
        secs(3.609375)
    );
    assert_eq!(pair.router(B).state(), VrrpState::Master);
    // The address was never removed from A; its host is just unreachable.
    assert!(pair.vip_configured(A));
}

#[test]
fn a_link_delay_adds_to_the_detection_time() {
    // The 10.21875 s advert reaches B at 10.21885 s: takeover at 13.828225 s.
    let mut pair = pair_of(a_config(), b_config(), HOP);
    pair.crash_host(secs(10.21875), A);
    pair.run_until(20 * SECOND);
    assert_eq!(pair.first(Holders::Only(B), 10 * SECOND), Some(secs(13.828225)));
}

#[test]
fn detection_after_a_crash_depends_on_when_in_the_advert_cycle_it_strikes() {
    // The backup counts from the last advert, not from the crash: a crash φ
    // after an advert is seen 3.609375 s − φ later, anywhere in
    // (2.609375 s, 3.609375 s], 3.109375 s on average. FACTS.md's 3.0 s for
    // `kill -9` is φ = 0.609375 s. keepalived 2.2.7 here, kill at φ = 0.05,
    // 0.30, 0.61, 0.80, 0.95 s: takeover 3.560, 3.311, 3.001, 2.810, 2.660 s
    // after the kill.
    for (phase, seen_after) in [(0.0, 3.609375), (0.05, 3.559375), (0.609375, 3.0), (0.95, 2.659375)] {
        let mut pair = pair_of(a_config(), b_config(), 0);
        let crash = secs(10.21875 + phase);
        pair.kill(crash, A);
        pair.run_until(20 * SECOND);
        let moved = pair.first(Holders::Both, crash).expect("B takes the address");
        assert_eq!(moved - crash, secs(seen_after), "crash {phase} s into the cycle");
    }
}

#[test]
fn kill_9_leaves_the_address_on_the_dead_master_split_brain() {
    // keepalived gone, address still on A's interface, host still up (as
    // measured): A keeps answering until B takes over at 13.828125 s; from
    // then both hold it.
    let mut pair = pair_of(a_config(), b_config(), 0);
    pair.kill(secs(10.21875), A);
    pair.run_until(60 * SECOND);
    assert_eq!(pair.holders_at(secs(13.828124999)), Holders::Only(A));
    assert_eq!(pair.holders_at(secs(13.828125)), Holders::Both);
    assert_eq!(pair.holders(), Holders::Both);
    assert_eq!(pair.time_with(Holders::Nobody, 4 * SECOND, 60 * SECOND), 0);
    // A new keepalived on A removes the leftover address as it starts (as
    // backup), then preempts B when its master-down interval is out:
    // 60 s + 3.21875 s.
    pair.start(60 * SECOND, A);
    assert_eq!(pair.holders(), Holders::Only(B));
    pair.run_until(70 * SECOND);
    assert_eq!(pair.first(Holders::Only(A), 60 * SECOND), Some(secs(63.21875)));
}

#[test]
fn v3_with_a_1_s_interval_gives_the_same_3_609375_s() {
    let v3 = |c: VrrpConfig| VrrpConfig {
        version: VrrpVersion::V3,
        ..c
    };
    let mut pair = pair_of(v3(a_config()), v3(b_config()), 0);
    pair.crash_host(secs(10.21875), A);
    pair.run_until(20 * SECOND);
    // 3 × 1 s + 156 × 1 s / 256 = 3.609375 s after 10.21875 s.
    assert_eq!(pair.first(Holders::Only(B), 10 * SECOND), Some(secs(13.828125)));
}

#[test]
fn v3_with_a_half_second_interval_detects_in_1_8046875_s() {
    // A's cold start: 3 × 0.5 s + 56 × 0.5 s / 256 = 1.609375 s, then an
    // advert every 0.5 s: 10.109375 s is one. B waits
    // 3 × 0.5 s + 156 × 0.5 s / 256 = 1.5 + 0.3046875 = 1.8046875 s.
    let v3 = |c: VrrpConfig| VrrpConfig {
        version: VrrpVersion::V3,
        advert_int: 500 * MILLISECOND,
        ..c
    };
    let mut pair = pair_of(v3(a_config()), v3(b_config()), 0);
    pair.run_until(10 * SECOND);
    assert_eq!(pair.first(Holders::Only(A), 0), Some(secs(1.609375)));
    pair.crash_host(secs(10.109375), A);
    pair.run_until(20 * SECOND);
    assert_eq!(pair.first(Holders::Only(B), 10 * SECOND), Some(secs(11.9140625)));
}

#[test]
fn a_graceful_stop_hands_over_after_the_skew_alone() {
    // A stops at 10.21875 s: releases the address and advertises priority 0.
    // B sets its timer to the skew, (256 − 100)/256 = 0.609375 s: takeover at
    // 10.828125 s, a 0.609375 s gap. Measured with keepalived 2.2.7 here:
    // 0.612–0.614 s from SIGTERM to B's first advert; FACTS.md's 0.63 s adds
    // the probe's own polling.
    let mut pair = pair_of(a_config(), b_config(), 0);
    pair.stop(secs(10.21875), A);
    pair.run_until(20 * SECOND);
    assert_eq!(pair.holders_at(secs(10.21875)), Holders::Nobody);
    assert_eq!(pair.first(Holders::Only(B), 10 * SECOND), Some(secs(10.828125)));
    assert_eq!(
        pair.time_with(Holders::Nobody, 10 * SECOND, 20 * SECOND),
        secs(0.609375)
    );
    assert_eq!(pair.router(A).state(), VrrpState::Init);
}

/// A crashes at `crash`, just after one of its adverts; with HOP on the link
/// B takes over 3.609475 s later.
fn b_master_after_a_crash(a: VrrpConfig, crash: u64) -> VrrpPair {
    let mut pair = pair_of(a, b_config(), HOP);
    pair.crash_host(crash, A);
    pair.run_until(20 * SECOND);
    assert_eq!(pair.first(Holders::Only(B), crash), Some(crash + secs(3.609475)));
    pair
}

/// A at priority 150 and `state BACKUP` wins the cold start at 3.4140625 s
/// (3 s + 106/256 s) and advertises at 3.4140625 + k s. It crashes after its
/// advert of 10.4140625 s, so B takes over at 14.0235375 s, and B's adverts
/// reach A at 14.0236375 + k s.
fn backup_150(a: VrrpConfig) -> VrrpPair {
    let a = VrrpConfig {
        priority: 150,
        initial: InitialState::Backup,
        ..a
    };
    b_master_after_a_crash(a, secs(10.4140625))
}

#[test]
fn preempt_a_recovered_higher_priority_router_takes_over_after_its_master_down_interval() {
    // A (200, state MASTER) boots at 20 s as backup; B's adverts (100 < 200)
    // are discarded, so A takes over when 3.21875 s are out, at 23.21875 s,
    // and B releases when A's advert lands one hop later. Measured with
    // keepalived 2.2.7: A's first advert 3.239 s after its start.
    let mut pair = b_master_after_a_crash(a_config(), secs(10.21875));
    pair.boot_host(20 * SECOND, A);
    pair.run_until(30 * SECOND);
    assert_eq!(pair.holders_at(secs(23.2187499)), Holders::Only(B));
    assert_eq!(pair.first(Holders::Both, 20 * SECOND), Some(secs(23.21875)));
    assert_eq!(pair.first(Holders::Only(A), 20 * SECOND), Some(secs(23.21875) + HOP));
    assert_eq!(pair.router(B).state(), VrrpState::Backup);
}

#[test]
fn preempt_from_backup_at_150_waits_its_own_longer_interval() {
    // A (150) boots at 20 s: timer 3 s + 106/256 s = 3.4140625 s, takeover
    // at 23.4140625 s.
    let mut pair = backup_150(a_config());
    pair.boot_host(20 * SECOND, A);
    pair.run_until(30 * SECOND);
    assert_eq!(pair.first(Holders::Both, 20 * SECOND), Some(secs(23.4140625)));
    assert_eq!(pair.first(Holders::Only(A), 20 * SECOND), Some(secs(23.4140625) + HOP));
}

#[test]
fn the_address_owner_takes_the_address_back_at_its_first_advert() {
    // Priority 255 skips the wait: master the moment it boots at 20 s; B
    // hears 255 > 100 one hop later and releases. Both hold it for that hop.
    let owner = VrrpConfig {
        priority: 255,
        ..a_config()
    };
    // The owner is master from 0 and advertises at whole seconds.
    let mut pair = b_master_after_a_crash(owner, 10 * SECOND);
    pair.boot_host(20 * SECOND, A);
    pair.run_until(30 * SECOND);
    assert_eq!(pair.holders_at(20 * SECOND), Holders::Both);
    assert_eq!(pair.first(Holders::Only(A), 20 * SECOND), Some(20 * SECOND + HOP));
    assert_eq!(pair.time_with(Holders::Both, 20 * SECOND, 30 * SECOND), HOP);
}

#[test]
fn nopreempt_a_recovered_higher_priority_router_stays_backup() {
    // The same with nopreempt: B's adverts reset A's timer; B keeps the
    // address for good.
    let mut pair = backup_150(VrrpConfig {
        preempt: false,
        ..a_config()
    });
    pair.boot_host(20 * SECOND, A);
    pair.run_until(120 * SECOND);
    assert_eq!(
        pair.time_with(Holders::Only(B), 20 * SECOND, 120 * SECOND),
        100 * SECOND
    );
    assert_eq!(pair.router(A).state(), VrrpState::Backup);
    assert_eq!(pair.router(B).state(), VrrpState::Master);
}

#[test]
fn preempt_delay_5_s_holds_the_takeover_back() {
    // B's adverts reach A at 14.0236375 + k s. A boots at 20 s; the first
    // lower advert it hears, at 20.0236375 s, starts the delay: preempt from
    // 25.0236375 s. The arrivals at 21.0236375 … 24.0236375 s are still
    // accepted and reset A's timer; the one at 25.0236375 s is discarded, so
    // the timer runs out 3.4140625 s after 24.0236375 s: 27.4377 s (without
    // the delay: 23.4140625 s, as above). Measured with keepalived 2.2.7
    // (A at 200, B's adverts reaching A 0.619 + k s after A's start): A's
    // first advert 7.842 s after its start, the model's 4.619 + 3.21875 s.
    let mut pair = backup_150(VrrpConfig {
        preempt_delay: 5 * SECOND,
        ..a_config()
    });
    pair.boot_host(20 * SECOND, A);
    pair.run_until(40 * SECOND);
    assert_eq!(pair.holders_at(secs(27.4376999)), Holders::Only(B));
    assert_eq!(pair.first(Holders::Both, 20 * SECOND), Some(secs(27.4377)));
    assert_eq!(pair.first(Holders::Only(A), 20 * SECOND), Some(secs(27.4377) + HOP));
}

#[test]
fn a_partition_between_live_routers_is_a_split_brain_until_it_heals() {
    // The path between A and B fails at 10.5 s; clients still reach both.
    // B's timer was last reset by the 10.21875 s advert (at 10.21885 s): B
    // becomes master at 13.828225 s and both hold the address. The path
    // heals at 20.5 s. B's advert of 20.828225 s reaches A at 20.828325 s;
    // A (200) answers at once (keepalived; the RFC would wait for A's
    // 21.21875 s advert) and B steps down when that answer lands, at
    // 20.828425 s.
    let mut pair = pair_of(a_config(), b_config(), HOP);
    pair.partition(secs(10.5));
    pair.run_until(20 * SECOND);
    assert_eq!(pair.holders_at(secs(13.828224999)), Holders::Only(A));
    assert_eq!(pair.first(Holders::Both, 10 * SECOND), Some(secs(13.828225)));
    assert!(pair.router(A).is_master() && pair.router(B).is_master());
    pair.heal(secs(20.5));
    pair.run_until(30 * SECOND);
    assert_eq!(pair.first(Holders::Only(A), 14 * SECOND), Some(secs(20.828425)));
    assert_eq!(
        pair.time_with(Holders::Both, 0, 30 * SECOND),
        secs(20.828425) - secs(13.828225)
    );
    assert_eq!(pair.router(B).state(), VrrpState::Backup);
}

#[test]
fn a_link_down_master_keeps_the_address_while_the_backup_takes_it_too() {
    // A's link goes down at 10.5 s; its keepalived lives on as master with
    // the address configured, but nobody reaches it: a gap until B takes over
    // at 13.828225 s (3.328225 s), then the address is on both hosts. When
    // the link is back at 20.5 s, A is reachable at once (both answer) until
    // B steps down at 20.828425 s, as in the partition above.
    let mut pair = pair_of(a_config(), b_config(), HOP);
    pair.isolate(secs(10.5), A);
    pair.run_until(20 * SECOND);
    assert_eq!(
        pair.time_with(Holders::Nobody, 4 * SECOND, 20 * SECOND),
        secs(13.828225) - secs(10.5)
    );
    assert_eq!(pair.holders(), Holders::Only(B));
    assert!(pair.router(A).is_master() && pair.vip_configured(A));
    assert!(pair.router(B).is_master() && pair.vip_configured(B));
    pair.rejoin(secs(20.5), A);
    pair.run_until(30 * SECOND);
    assert_eq!(pair.holders_at(secs(20.5)), Holders::Both);
    assert_eq!(pair.first(Holders::Only(A), secs(20.5)), Some(secs(20.828425)));
}

#[test]
fn a_master_whose_own_link_goes_down_gives_the_address_up_then_preempts_a_master_down_interval_after_it_returns() {
    // A's own interface goes down at 10.5 s: keepalived enters FAULT and
    // removes the address (its priority-0 advert cannot get out), so nobody
    // holds it until B's timer, last reset by A's 10.21875 s advert (heard
    // at 10.21885 s), runs out at 10.21885 + 3.609375 = 13.828225 s. Unlike
    // `isolate`, A holds nothing meanwhile: no split brain.
    let mut pair = pair_of(a_config(), b_config(), HOP);
    pair.cut_link(secs(10.5), A);
    assert_eq!(pair.router(A).state(), VrrpState::Fault);
    assert!(!pair.vip_configured(A));
    pair.run_until(20 * SECOND);
    assert_eq!(pair.holders_at(secs(10.5)), Holders::Nobody);
    assert_eq!(pair.first(Holders::Only(B), secs(10.5)), Some(secs(13.828225)));
    assert_eq!(pair.first(Holders::Both, 0), None);
    // Back at 20.5 s: A is a backup for its own master-down interval,
    // 3.21875 s, discarding B's lower-priority adverts (preempt), so it
    // takes the address at 23.71875 s; its advert reaches B one hop later
    // and B (100) steps down: the address was on both for that hop only.
    pair.restore_link(secs(20.5), A);
    assert_eq!(pair.router(A).state(), VrrpState::Backup);
    pair.run_until(30 * SECOND);
    assert_eq!(pair.holders_at(secs(23.71875) - 1), Holders::Only(B));
    assert_eq!(pair.first(Holders::Both, secs(20.5)), Some(secs(23.71875)));
    assert_eq!(pair.first(Holders::Only(A), secs(20.5)), Some(secs(23.71885)));
    assert_eq!(pair.router(B).state(), VrrpState::Backup);
    // The validated pair (priorities 101 and 100, both BACKUP, no delay):
    // the address comes back 3 s + 155/256 s = 3.60546875 s after the link.
    let cfg = |priority, address| VrrpConfig {
        priority,
        address,
        ..VrrpConfig::default()
    };
    let mut pair = pair_of(cfg(101, 2), cfg(100, 3), 0);
    pair.run_until(20 * SECOND);
    assert_eq!(pair.holders(), Holders::Only(A));
    pair.cut_link(20 * SECOND, A);
    pair.restore_link(40 * SECOND, A);
    pair.run_until(60 * SECOND);
    assert_eq!(pair.holders_at(secs(43.60546875) - 1), Holders::Only(B));
    assert_eq!(pair.holders_at(secs(43.60546875)), Holders::Only(A));
}

#[test]
fn an_advert_landing_as_the_backups_timer_expires_keeps_it_backup() {
    // B starts at 0 (timer 3.609375 s); the owner starts one hop earlier, at
    // 3.609275 s, so its first advert lands on B's deadline. Deliveries run
    // before timers: B resets and never claims the address.
    let owner = VrrpConfig {
        priority: 255,
        ..a_config()
    };
    let mut pair = VrrpPair::new(Vrrp::new(owner).unwrap(), Vrrp::new(b_config()).unwrap(), HOP);
    pair.start(0, B);
    pair.start(secs(3.609275), A);
    pair.run_until(10 * SECOND);
    assert_eq!(pair.router(B).state(), VrrpState::Backup);
    let b_held = |c: &lab_control::vrrp::VipChange| matches!(c.holders, Holders::Both | Holders::Only(B));
    assert!(!pair.changes().iter().any(b_held));
    assert_eq!(pair.first(Holders::Only(A), 0), Some(secs(3.609275)));
}
