use super::*;

const MS: u64 = MILLISECOND;

fn config(priority: u8) -> VrrpConfig {
    VrrpConfig {
        priority,
        address: u32::from(priority),
        ..VrrpConfig::default()
    }
}

fn master_config(priority: u8) -> VrrpConfig {
    VrrpConfig {
        initial: InitialState::Master,
        ..config(priority)
    }
}

fn started(config: VrrpConfig, now: u64) -> Vrrp {
    let mut r = Vrrp::new(config).unwrap();
    r.start(now);
    r
}

/// Started at 0 with nobody else on the link: master when its master-down
/// interval runs out, at the returned time.
fn mastered(config: VrrpConfig) -> (Vrrp, u64) {
    let mut r = started(config, 0);
    let t0 = config.master_down_interval();
    assert_eq!(r.timer_fired(t0).vip, VipAction::Take);
    (r, t0)
}

fn advert(priority: u8) -> Advert {
    Advert {
        priority,
        address: u32::from(priority),
        advert_int: SECOND,
    }
}

#[test]
fn v2_skew_is_256ths_of_a_second_whatever_the_interval() {
    // (256 − 100)/256 s = 156/256 = 0.609375 s; 3 × 1 s + that = 3.609375 s.
    assert_eq!(config(100).skew_time(), 609_375_000);
    assert_eq!(config(100).master_down_interval(), 3_609_375_000);
    // advert_int 3 s: the skew stays 0.609375 s, the interval is 9.609375 s.
    let slow = VrrpConfig {
        advert_int: 3 * SECOND,
        ..config(100)
    };
    assert_eq!(slow.skew_time(), 609_375_000);
    assert_eq!(slow.master_down_interval(), 9_609_375_000);
    // Priority 1: 255/256 s = 0.99609375 s; priority 254: 2/256 = 0.0078125 s.
    assert_eq!(config(1).skew_time(), 996_093_750);
    assert_eq!(config(254).skew_time(), 7_812_500);
    assert_eq!(config(255).skew_time(), 3_906_250);
}

#[test]
fn v3_skew_scales_with_the_interval() {
    let v3 = |advert_int| VrrpConfig {
        version: VrrpVersion::V3,
        advert_int,
        ..config(100)
    };
    // 1 s: the same figures as v2.
    assert_eq!(v3(SECOND).master_down_interval(), 3_609_375_000);
    // 0.5 s: skew 156 × 0.5/256 = 0.3046875 s; 1.5 + 0.3046875 = 1.8046875 s.
    assert_eq!(v3(500 * MS).skew_time(), 304_687_500);
    assert_eq!(v3(500 * MS).master_down_interval(), 1_804_687_500);
    // 10 ms: 156 × 10 ms / 256 = 6.09375 ms.
    assert_eq!(v3(10 * MS).skew_time(), 6_093_750);
    // 2 s: 156 × 2/256 = 1.21875 s, interval 7.21875 s.
    assert_eq!(v3(2 * SECOND).master_down_interval(), 7_218_750_000);
}

#[test]
fn configs_keepalived_refuses_are_refused() {
    use VrrpConfigError::*;
    let check = |c: VrrpConfig| c.validate().err();
    assert_eq!(check(config(100)), None);
    assert_eq!(check(config(0)), Some(PriorityZero));
    assert_eq!(
        check(VrrpConfig {
            advert_int: 1500 * MS,
            ..config(100)
        }),
        Some(AdvertIntV2(1500 * MS))
    );
    assert_eq!(
        check(VrrpConfig {
            advert_int: 256 * SECOND,
            ..config(100)
        }),
        Some(AdvertIntV2(256 * SECOND))
    );
    assert_eq!(
        check(VrrpConfig {
            advert_int: 0,
            ..config(100)
        }),
        Some(AdvertIntV2(0))
    );
    let v3 = |advert_int| VrrpConfig {
        version: VrrpVersion::V3,
        advert_int,
        ..config(100)
    };
    assert_eq!(check(v3(1500 * MS)), None);
    assert_eq!(check(v3(15 * MS)), Some(AdvertIntV3(15 * MS)));
    assert_eq!(check(v3(40_950 * MS)), None);
    assert_eq!(check(v3(40_960 * MS)), Some(AdvertIntV3(40_960 * MS)));
    assert_eq!(
        check(VrrpConfig {
            preempt: false,
            ..master_config(100)
        }),
        Some(NopreemptNeedsBackup)
    );
    assert_eq!(
        check(VrrpConfig {
            preempt_delay: SECOND,
            ..master_config(100)
        }),
        Some(PreemptDelayNeedsBackup)
    );
    assert_eq!(
        check(VrrpConfig {
            preempt_delay: 1001 * SECOND,
            ..config(100)
        }),
        Some(PreemptDelayTooLong(1001 * SECOND))
    );
    assert_eq!(
        check(VrrpConfig {
            preempt: false,
            ..config(255)
        }),
        Some(OwnerCannotNopreempt)
    );
    assert!(Vrrp::new(config(0)).is_err());
    assert_eq!(
        PriorityZero.to_string(),
        "priority must be 1..=255 (0 is the shutdown advert)"
    );
}

#[test]
fn state_master_starts_as_backup_as_keepalived_2_2_7_does() {
    let mut r = Vrrp::new(master_config(200)).unwrap();
    assert_eq!(r.state(), VrrpState::Init);
    assert_eq!(r.next_timer(), None);
    let reaction = r.start(5 * SECOND);
    assert_eq!(
        reaction,
        Reaction {
            vip: VipAction::Release,
            advert: None
        }
    );
    assert_eq!(r.state(), VrrpState::Backup);
    // 3 s + (256 − 200)/256 s = 3.21875 s (measured: first advert after
    // 3.24–3.28 s, start-up included).
    assert_eq!(r.next_timer(), Some(5 * SECOND + 3_218_750_000));
    // Starting a running router changes nothing.
    assert_eq!(r.start(6 * SECOND), Reaction::NONE);
    assert_eq!(r.next_timer(), Some(8_218_750_000));
}

#[test]
fn start_as_backup_waits_a_master_down_interval_and_clears_a_leftover_address() {
    let mut r = Vrrp::new(config(100)).unwrap();
    let reaction = r.start(SECOND);
    assert_eq!(
        reaction,
        Reaction {
            vip: VipAction::Release,
            advert: None
        }
    );
    assert_eq!(r.state(), VrrpState::Backup);
    assert_eq!(r.next_timer(), Some(SECOND + 3_609_375_000));
}

#[test]
fn the_owner_starts_as_master_takes_the_address_and_advertises() {
    let mut r = Vrrp::new(config(255)).unwrap();
    let reaction = r.start(5 * SECOND);
    assert_eq!(reaction.vip, VipAction::Take);
    assert_eq!(
        reaction.advert,
        Some(Advert {
            priority: 255,
            address: 255,
            advert_int: SECOND
        })
    );
    assert_eq!(r.state(), VrrpState::Master);
    assert_eq!(r.next_timer(), Some(6 * SECOND));
}

#[test]
fn a_master_advertises_every_interval_and_ignores_early_or_stale_timers() {
    // Master at 3 s + 106/256 s = 3.4140625 s.
    let (mut r, t0) = mastered(config(150));
    assert_eq!(t0, 3_414_062_500);
    assert_eq!(r.next_timer(), Some(t0 + SECOND));
    assert_eq!(r.timer_fired(t0 + SECOND - 1), Reaction::NONE);
    assert_eq!(r.timer_fired(t0 + SECOND).advert.map(|a| a.priority), Some(150));
    assert_eq!(r.next_timer(), Some(t0 + 2 * SECOND));
    // The caller fires the deadline it had scheduled a second time.
    assert_eq!(r.timer_fired(t0 + SECOND), Reaction::NONE);
}

#[test]
fn a_backup_whose_timer_expires_becomes_master() {
    let mut r = started(config(100), 0);
    let reaction = r.timer_fired(3_609_375_000);
    assert_eq!(reaction.vip, VipAction::Take);
    assert_eq!(reaction.advert.map(|a| a.priority), Some(100));
    assert_eq!(r.state(), VrrpState::Master);
    assert_eq!(r.next_timer(), Some(4_609_375_000));
}

#[test]
fn a_backup_resets_its_timer_on_an_equal_or_higher_advert_only() {
    let mut r = started(config(100), 0);
    // Higher: the timer restarts from the advert (2 s + 3.609375 s).
    assert_eq!(r.advert_received(2 * SECOND, advert(150)), Reaction::NONE);
    assert_eq!(r.next_timer(), Some(5_609_375_000));
    // Equal: accepted too (RFC 3768 §6.4.2 "greater than or equal").
    r.advert_received(3 * SECOND, advert(100));
    assert_eq!(r.next_timer(), Some(6_609_375_000));
    // Lower, preempting: discarded; the timer runs on from the 3 s advert.
    r.advert_received(4 * SECOND, advert(50));
    assert_eq!(r.next_timer(), Some(6_609_375_000));
    assert_eq!(r.state(), VrrpState::Backup);
}

#[test]
fn a_nopreempt_backup_accepts_a_lower_master() {
    let mut r = started(
        VrrpConfig {
            preempt: false,
            ..config(150)
        },
        0,
    );
    r.advert_received(4 * SECOND, advert(100));
    // 4 s + 3 s + 106/256 s (0.4140625 s).
    assert_eq!(r.next_timer(), Some(7_414_062_500));
}

#[test]
fn a_shutdown_advert_leaves_only_the_skew_time() {
    let mut r = started(config(100), 0);
    r.advert_received(SECOND, advert(150));
    r.advert_received(
        2 * SECOND,
        Advert {
            priority: PRIORITY_STOP,
            ..advert(150)
        },
    );
    assert_eq!(r.next_timer(), Some(2 * SECOND + 609_375_000));
    assert_eq!(r.timer_fired(2_609_375_000).vip, VipAction::Take);
}

#[test]
fn preempt_delay_keeps_accepting_a_lower_master_until_it_runs_out() {
    let mut r = started(
        VrrpConfig {
            preempt_delay: 5 * SECOND,
            ..config(150)
        },
        0,
    );
    // The first lower advert, at 1 s, starts the delay: preempt at 6 s.
    for s in 1..=5 {
        r.advert_received(s * SECOND, advert(100));
        assert_eq!(r.next_timer(), Some(s * SECOND + 3_414_062_500), "advert at {s} s");
    }
    // At 6 s the delay is over: discarded, the timer set at 5 s stands.
    r.advert_received(6 * SECOND, advert(100));
    assert_eq!(r.next_timer(), Some(8_414_062_500));
    // A higher master clears the delay; the next lower master starts anew.
    r.advert_received(7 * SECOND, advert(200));
    r.advert_received(8 * SECOND, advert(100));
    r.advert_received(12 * SECOND, advert(100));
    assert_eq!(r.next_timer(), Some(12 * SECOND + 3_414_062_500));
    r.advert_received(13 * SECOND, advert(100));
    assert_eq!(r.next_timer(), Some(12 * SECOND + 3_414_062_500));
}

#[test]
fn a_master_steps_down_for_a_higher_priority() {
    let (mut r, t0) = mastered(config(100));
    let reaction = r.advert_received(t0 + SECOND / 2, advert(150));
    assert_eq!(
        reaction,
        Reaction {
            vip: VipAction::Release,
            advert: None
        }
    );
    assert_eq!(r.state(), VrrpState::Backup);
    assert_eq!(r.next_timer(), Some(t0 + SECOND / 2 + 3_609_375_000));
}

#[test]
fn equal_priorities_go_to_the_higher_address() {
    let (mut r, t0) = mastered(VrrpConfig {
        address: 10,
        ..config(100)
    });
    let lower = Advert {
        priority: 100,
        address: 9,
        advert_int: SECOND,
    };
    assert_eq!(r.advert_received(t0 + 1, lower).vip, VipAction::Keep);
    assert!(r.is_master());
    assert_eq!(
        r.advert_received(t0 + 2, Advert { address: 10, ..lower }),
        Reaction::NONE
    );
    assert!(r.is_master());
    assert_eq!(
        r.advert_received(t0 + 3, Advert { address: 11, ..lower }).vip,
        VipAction::Release
    );
    assert_eq!(r.state(), VrrpState::Backup);
}

#[test]
fn a_master_answers_a_lower_master_at_once() {
    let (mut r, t0) = mastered(config(150));
    let reaction = r.advert_received(t0 + SECOND / 3, advert(100));
    assert_eq!(
        reaction,
        Reaction {
            vip: VipAction::Keep,
            advert: Some(r.advert())
        }
    );
    // Its own schedule is unchanged.
    assert_eq!(r.next_timer(), Some(t0 + SECOND));
    // And to a shutdown advert from another master too.
    let stop = Advert {
        priority: 0,
        ..advert(100)
    };
    assert_eq!(r.advert_received(t0 + SECOND / 2, stop).advert, Some(r.advert()));
}

#[test]
fn a_graceful_stop_releases_and_advertises_priority_zero() {
    let (mut r, t0) = mastered(config(150));
    let reaction = r.stop(t0 + SECOND / 2);
    assert_eq!(reaction.vip, VipAction::Release);
    assert_eq!(
        reaction.advert,
        Some(Advert {
            priority: 0,
            address: 150,
            advert_int: SECOND
        })
    );
    assert_eq!(r.state(), VrrpState::Init);
    assert_eq!(r.next_timer(), None);
    let mut b = started(config(100), 0);
    assert_eq!(b.stop(1), Reaction::NONE);
    assert_eq!(b.state(), VrrpState::Init);
}

#[test]
fn a_crashed_router_does_nothing_until_restarted() {
    let (mut r, t0) = mastered(config(150));
    assert_eq!(r.crash(), Reaction::NONE);
    assert_eq!(r.state(), VrrpState::Init);
    assert_eq!(r.next_timer(), None);
    assert_eq!(r.advert_received(t0 + SECOND, advert(200)), Reaction::NONE);
    assert_eq!(r.timer_fired(t0 + 2 * SECOND), Reaction::NONE);
    // Back as backup, clearing the address the dead process left behind.
    assert_eq!(r.restart(t0 + 3 * SECOND).vip, VipAction::Release);
    assert_eq!(r.state(), VrrpState::Backup);
    assert_eq!(r.next_timer(), Some(t0 + 3 * SECOND + 3_414_062_500));
}

#[test]
fn fault_releases_and_recovery_waits_as_keepalived_does() {
    let (mut r, t0) = mastered(master_config(150));
    let reaction = r.fault(t0 + SECOND / 2);
    assert_eq!(reaction.vip, VipAction::Release);
    assert_eq!(reaction.advert.map(|a| a.priority), Some(0));
    assert_eq!(r.state(), VrrpState::Fault);
    assert_eq!(r.next_timer(), None);
    assert_eq!(r.advert_received(t0 + SECOND, advert(100)), Reaction::NONE);
    // Back as backup for a full master-down interval, state MASTER or not.
    assert_eq!(r.recover(t0 + 2 * SECOND), Reaction::NONE);
    assert_eq!(r.state(), VrrpState::Backup);
    assert_eq!(r.next_timer(), Some(t0 + 2 * SECOND + 3_414_062_500));
    let mut b = started(config(100), 0);
    assert_eq!(b.fault(1), Reaction::NONE);
    assert_eq!(b.state(), VrrpState::Fault);
    b.recover(SECOND);
    assert_eq!(b.next_timer(), Some(SECOND + 3_609_375_000));
    // The owner goes straight back to master; a stopped router stays stopped.
    let mut o = started(config(255), 0);
    o.fault(1);
    assert_eq!(o.recover(2).vip, VipAction::Take);
    let mut s = Vrrp::new(config(100)).unwrap();
    assert_eq!(s.fault(1), Reaction::NONE);
    assert_eq!(s.state(), VrrpState::Init);
    assert_eq!(s.recover(2), Reaction::NONE);
}

#[test]
fn a_v3_backup_times_out_on_its_masters_interval() {
    let v3 = VrrpConfig {
        version: VrrpVersion::V3,
        ..config(100)
    };
    let mut r = started(v3, 0);
    r.advert_received(
        SECOND,
        Advert {
            priority: 150,
            address: 150,
            advert_int: 2 * SECOND,
        },
    );
    assert_eq!(r.master_adver_int(), 2 * SECOND);
    // 1 s + 3 × 2 s + 156 × 2/256 s (1.21875 s).
    assert_eq!(r.next_timer(), Some(8_218_750_000));
    // As master it advertises on its own interval again.
    r.timer_fired(8_218_750_000);
    assert_eq!(r.master_adver_int(), SECOND);
    assert_eq!(r.next_timer(), Some(9_218_750_000));
    // A v2 backup ignores the advertised interval.
    let mut v2 = started(config(100), 0);
    v2.advert_received(
        SECOND,
        Advert {
            priority: 150,
            address: 150,
            advert_int: 2 * SECOND,
        },
    );
    assert_eq!(v2.next_timer(), Some(SECOND + 3_609_375_000));
}
