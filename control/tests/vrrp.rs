//! The silver era's keepalived pair against figures from the RFCs, keepalived
//! and FACTS.md, each worked by hand in the comments.
//!
//! Unless a test says otherwise: A has priority 200 and `state MASTER`, B has
//! priority 100 and `state BACKUP`, VRRPv2, advert_int 1 s. A is master from
//! 0 s and advertises at every whole second.

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
    let ns = s * SECOND as f64;
    assert!(ns.fract() == 0.0, "{s} s is not a whole number of nanoseconds");
    ns as u64
}

#[test]
fn v2_backup_at_priority_100_detects_a_dead_master_after_3_609375_s() {
    // The host of A dies right after its advert at 10 s. B's timer was last
    // reset by that advert: 10 s + 3 × 1 s + (256 − 100)/256 s = 13.609375 s.
    let mut pair = pair_of(a_config(), b_config(), 0);
    pair.run_until(10 * SECOND);
    assert_eq!(pair.holders(), Holders::Only(A));
    pair.crash_host(10 * SECOND, A);
    pair.run_until(20 * SECOND);
    assert_eq!(pair.first(Holders::Only(B), 10 * SECOND), Some(secs(13.609375)));
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
    // The 10 s advert reaches B at 10.0001 s: takeover at 13.609475 s.
    let mut pair = pair_of(a_config(), b_config(), HOP);
    pair.crash_host(10 * SECOND, A);
    pair.run_until(20 * SECOND);
    assert_eq!(pair.first(Holders::Only(B), 10 * SECOND), Some(secs(13.609475)));
}

#[test]
fn detection_after_a_crash_depends_on_when_in_the_advert_cycle_it_strikes() {
    // The backup counts from the last advert, not from the crash: a crash φ
    // after an advert is seen 3.609375 s − φ later, anywhere in
    // (2.609375 s, 3.609375 s], 3.109375 s on average. FACTS.md's 3.0 s for
    // `kill -9` is φ = 0.609375 s.
    for (phase, seen_after) in [(0.0, 3.609375), (0.25, 3.359375), (0.609375, 3.0), (0.999, 2.610375)] {
        let mut pair = pair_of(a_config(), b_config(), 0);
        let crash = 10 * SECOND + secs(phase);
        pair.kill(crash, A);
        pair.run_until(20 * SECOND);
        let moved = pair.first(Holders::Both, crash).expect("B takes the address");
        assert_eq!(moved - crash, secs(seen_after), "crash {phase} s into the cycle");
    }
}

#[test]
fn kill_9_leaves_the_address_on_the_dead_master_split_brain() {
    // keepalived gone, address still on A's interface, host still up: A keeps
    // answering until B takes over at 13.609375 s; from then both hold it.
    let mut pair = pair_of(a_config(), b_config(), 0);
    pair.kill(10 * SECOND, A);
    pair.run_until(60 * SECOND);
    assert_eq!(pair.holders_at(secs(13.609374999)), Holders::Only(A));
    assert_eq!(pair.holders_at(secs(13.609375)), Holders::Both);
    assert_eq!(pair.holders(), Holders::Both);
    assert_eq!(pair.time_with(Holders::Nobody, 0, 60 * SECOND), 0);
    // A new keepalived on A clears the leftover address as it starts as
    // master, and B steps down at A's first advert.
    pair.start(60 * SECOND, A);
    assert_eq!(pair.holders(), Holders::Only(A));
}

#[test]
fn v3_with_a_1_s_interval_gives_the_same_3_609375_s() {
    let v3 = |c: VrrpConfig| VrrpConfig {
        version: VrrpVersion::V3,
        ..c
    };
    let mut pair = pair_of(v3(a_config()), v3(b_config()), 0);
    pair.crash_host(10 * SECOND, A);
    pair.run_until(20 * SECOND);
    // 3 × 1 s + 156 × 1 s / 256 = 3.609375 s.
    assert_eq!(pair.first(Holders::Only(B), 10 * SECOND), Some(secs(13.609375)));
}

#[test]
fn v3_with_a_half_second_interval_detects_in_1_8046875_s() {
    // A advertises every 0.5 s; its advert at 10 s is the last. B waits
    // 3 × 0.5 s + 156 × 0.5 s / 256 = 1.5 + 0.3046875 = 1.8046875 s.
    let v3 = |c: VrrpConfig| VrrpConfig {
        version: VrrpVersion::V3,
        advert_int: 500 * MILLISECOND,
        ..c
    };
    let mut pair = pair_of(v3(a_config()), v3(b_config()), 0);
    pair.crash_host(10 * SECOND, A);
    pair.run_until(20 * SECOND);
    assert_eq!(pair.first(Holders::Only(B), 10 * SECOND), Some(secs(11.8046875)));
}

#[test]
fn a_graceful_stop_hands_over_after_the_skew_alone() {
    // A stops at 10 s: releases the address and advertises priority 0. B
    // sets its timer to the skew, (256 − 100)/256 = 0.609375 s: takeover at
    // 10.609375 s, a 0.609375 s gap (measured: 0.63 s; the rest is outside
    // the protocol: process exit, netlink, the probe's own polling).
    let mut pair = pair_of(a_config(), b_config(), 0);
    pair.stop(10 * SECOND, A);
    pair.run_until(20 * SECOND);
    assert_eq!(pair.holders_at(10 * SECOND), Holders::Nobody);
    assert_eq!(pair.first(Holders::Only(B), 10 * SECOND), Some(secs(10.609375)));
    assert_eq!(
        pair.time_with(Holders::Nobody, 10 * SECOND, 20 * SECOND),
        secs(0.609375)
    );
    assert_eq!(pair.router(A).state(), VrrpState::Init);
}

/// A crashes at 10 s; B is master from `takeover`, with HOP on the link.
fn b_master_after_a_crash(a: VrrpConfig, takeover: u64) -> VrrpPair {
    let mut pair = pair_of(a, b_config(), HOP);
    pair.crash_host(10 * SECOND, A);
    pair.run_until(20 * SECOND);
    assert_eq!(pair.first(Holders::Only(B), 10 * SECOND), Some(takeover));
    pair
}

/// A at priority 150 and `state BACKUP` wins the cold start at 3.4140625 s
/// (3 s + 106/256 s, nobody advertising yet) and advertises at
/// 3.4140625 + k s. Its last advert before the crash at 10 s is 9.4140625 s,
/// so B takes over at 9.4140625 + 0.0001 + 3.609375 = 13.0235375 s, and B's
/// adverts reach A at 13.0236375 + k s.
fn backup_150(a: VrrpConfig) -> VrrpPair {
    let a = VrrpConfig {
        priority: 150,
        initial: InitialState::Backup,
        ..a
    };
    b_master_after_a_crash(a, secs(13.0235375))
}

#[test]
fn preempt_a_recovered_master_takes_the_address_back_at_its_first_advert() {
    // `state MASTER`: A becomes master the moment it boots at 20 s and
    // advertises; B hears 200 > 100 at 20.0001 s and releases. For that one
    // hop both hold the address.
    let mut pair = b_master_after_a_crash(a_config(), secs(13.609475));
    pair.boot_host(20 * SECOND, A);
    pair.run_until(30 * SECOND);
    assert_eq!(pair.holders_at(20 * SECOND), Holders::Both);
    assert_eq!(pair.first(Holders::Only(A), 20 * SECOND), Some(20 * SECOND + HOP));
    assert_eq!(pair.time_with(Holders::Both, 20 * SECOND, 30 * SECOND), HOP);
    assert_eq!(pair.router(B).state(), VrrpState::Backup);
}

#[test]
fn preempt_from_backup_waits_out_the_master_down_interval() {
    // `state BACKUP`, priority 150: A boots at 20 s as backup, timer
    // 3 s + 106/256 s = 3.4140625 s. B's adverts (100 < 150) are discarded,
    // so A takes over at 23.4140625 s and B releases one hop later.
    let mut pair = backup_150(a_config());
    pair.boot_host(20 * SECOND, A);
    pair.run_until(30 * SECOND);
    assert_eq!(pair.holders_at(secs(23.4140624)), Holders::Only(B));
    assert_eq!(pair.first(Holders::Both, 20 * SECOND), Some(secs(23.4140625)));
    assert_eq!(pair.first(Holders::Only(A), 20 * SECOND), Some(secs(23.4140625) + HOP));
}

#[test]
fn nopreempt_a_recovered_higher_priority_router_stays_backup() {
    // The same, with nopreempt: B's adverts reset A's timer; B keeps the
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
    // B's adverts reach A at 13.0236375 + k s. A boots at 20 s; the first
    // lower advert it hears, at 20.0236375 s, starts the delay: preempt from
    // 25.0236375 s. The arrivals at 21.0236375 … 24.0236375 s are still
    // accepted and reset A's timer; the one at 25.0236375 s is discarded, so
    // the timer runs out 3.4140625 s after 24.0236375 s: 27.4377 s (without
    // the delay: 23.4140625 s, as in the test above).
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
    // B's timer was last reset by the 10 s advert (at 10.0001 s): B becomes
    // master at 13.609475 s and both hold the address. The path heals at
    // 20.5 s. B's advert of 20.609475 s reaches A at 20.609575 s; A (200)
    // answers at once (keepalived; the RFC would wait for A's 21 s advert)
    // and B steps down when that answer lands, at 20.609675 s.
    let mut pair = pair_of(a_config(), b_config(), HOP);
    pair.partition(secs(10.5));
    pair.run_until(20 * SECOND);
    assert_eq!(pair.holders_at(secs(13.609474999)), Holders::Only(A));
    assert_eq!(pair.first(Holders::Both, 10 * SECOND), Some(secs(13.609475)));
    assert!(pair.router(A).is_master() && pair.router(B).is_master());
    pair.heal(secs(20.5));
    pair.run_until(30 * SECOND);
    assert_eq!(pair.first(Holders::Only(A), 14 * SECOND), Some(secs(20.609675)));
    assert_eq!(
        pair.time_with(Holders::Both, 0, 30 * SECOND),
        secs(20.609675) - secs(13.609475)
    );
    assert_eq!(pair.router(B).state(), VrrpState::Backup);
}

#[test]
fn a_link_down_master_keeps_the_address_while_the_backup_takes_it_too() {
    // A's link goes down at 10.5 s; its keepalived lives on as master with
    // the address configured, but nobody reaches it: a gap until B takes over
    // at 13.609475 s (3.109475 s), then the address is on both hosts. When
    // the link is back at 20.5 s, A is reachable at once (both answer) until
    // B steps down at 20.609675 s, as in the partition above.
    let mut pair = pair_of(a_config(), b_config(), HOP);
    pair.isolate(secs(10.5), A);
    pair.run_until(20 * SECOND);
    assert_eq!(
        pair.time_with(Holders::Nobody, 0, 20 * SECOND),
        secs(13.609475) - secs(10.5)
    );
    assert_eq!(pair.holders(), Holders::Only(B));
    assert!(pair.router(A).is_master() && pair.vip_configured(A));
    assert!(pair.router(B).is_master() && pair.vip_configured(B));
    pair.rejoin(secs(20.5), A);
    pair.run_until(30 * SECOND);
    assert_eq!(pair.holders_at(secs(20.5)), Holders::Both);
    assert_eq!(pair.first(Holders::Only(A), secs(20.5)), Some(secs(20.609675)));
}

#[test]
fn the_higher_priority_backup_wins_a_cold_start() {
    // Both start as backup: A (150) times out at 3.4140625 s, B (100) would
    // at 3.609375 s. The skew is what makes A win; B hears A's advert at
    // 3.4141625 s and stays backup.
    let a = VrrpConfig {
        priority: 150,
        initial: InitialState::Backup,
        ..a_config()
    };
    let mut pair = pair_of(a, b_config(), HOP);
    pair.run_until(10 * SECOND);
    assert_eq!(pair.first(Holders::Only(A), 0), Some(secs(3.4140625)));
    assert_eq!(pair.router(B).state(), VrrpState::Backup);
    assert_eq!(pair.time_with(Holders::Both, 0, 10 * SECOND), 0);
}
