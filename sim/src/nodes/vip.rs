//! keepalived's virtual address in front of the silver era's two
//! balancers: who receives the clients' packets, over the whole run.
//!
//! Nothing the requests do changes VRRP (its adverts have their own
//! path), so the address's timeline is worked out before the run: the two
//! routers of [`lab_control::vrrp::VrrpPair`] — the very state machine a real
//! controller drives — are run with the era's faults on the balancer hosts,
//! and the simulator reads who holds the address at each instant.
//!
//! The system is up before the run starts: the pair is started a warm-up
//! ahead of the run's time zero (long enough for the cold start's master
//! election), so at time zero the higher-priority router is master.

use lab_control::vrrp::{Holders, Side, Vrrp, VrrpConfig, VrrpPair};
use lab_core::record::Timeline;
use lab_core::scenario::{Fault, FaultKind, LB_MASTER};

use crate::engine::Time;

/// The balancer that receives the packets sent to the address, from a
/// time on: `None` while nobody answers (the failover gap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    pub at: Time,
    pub holder: Option<u8>,
}

/// What a fault on a balancer does, resolved to the balancer it hit (for
/// `lb.master`, whoever held the address then).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LbFault {
    pub at: Time,
    pub until: Option<Time>,
    pub kind: FaultKind,
    pub lb: u8,
}

/// Who receives the address's packets over the run.
pub(crate) struct VipTimeline {
    changes: Vec<Change>,
    /// The balancers' hosts' names, for the record.
    names: [String; 2],
    /// The change in force at the last instant asked about: requests ask
    /// in time order, so the lookup only moves forward.
    cursor: usize,
}

impl VipTimeline {
    /// Runs keepalived on the two balancers (`names` are their hosts' names,
    /// which the faults' targets use) through the faults, up to `end`.
    /// Returns the timeline and the faults on the balancers, resolved.
    pub(crate) fn build(
        vrrp: &[VrrpConfig; 2],
        names: [&str; 2],
        faults: &[Fault],
        end: Time,
    ) -> (VipTimeline, Vec<LbFault>) {
        let warmup = warmup(vrrp);
        let routers = vrrp.map(|c| Vrrp::new(c).expect("keepalived settings validated with the scenario"));
        let [a, b] = routers;
        let mut pair = VrrpPair::new(a, b, 0);
        pair.start(0, Side::A);
        pair.start(0, Side::B);
        let side = |i: u8| if i == 0 { Side::A } else { Side::B };
        // Faults and their ends, in time order (an end before a start at
        // the same instant, so a restart's start follows its stop).
        let mut steps: Vec<(Time, bool, usize)> = Vec::new();
        let mut resolved = Vec::new();
        for (i, f) in faults.iter().enumerate() {
            if f.target == LB_MASTER || names.contains(&f.target.as_str()) {
                steps.push((f.at, false, i));
                if let Some(u) = f.until {
                    steps.push((u, true, i));
                }
            }
        }
        steps.sort_by_key(|&(t, is_end, i)| (t, !is_end, i));
        let mut hit = vec![0u8; faults.len()];
        // Faults past the run's end (a run shortened with --duration) are
        // resolved too: the shop schedules every fault, and its loop stops
        // before those strike.
        for (t, is_end, i) in steps {
            let at = warmup + t;
            let f = &faults[i];
            if !is_end {
                pair.run_until(at);
                let lb = match names.iter().position(|n| *n == f.target) {
                    Some(i) => i as u8,
                    None => receiver(&pair, pair.holders()).unwrap_or_else(|| {
                        // Nobody holds it: the master is whoever thinks so.
                        u8::from(pair.router(Side::B).is_master() && !pair.router(Side::A).is_master())
                    }),
                };
                hit[i] = lb;
                resolved.push(LbFault {
                    at: f.at,
                    until: f.until,
                    kind: f.kind,
                    lb,
                });
            }
            let s = side(hit[i]);
            match (f.kind, is_end) {
                (FaultKind::Crash, false) => pair.crash_host(at, s),
                (FaultKind::Crash, true) => pair.boot_host(at, s),
                // `isolate` takes the host's own link down (as `deploy`
                // does): keepalived sees it and gives the address up.
                (FaultKind::Isolate, false) => pair.cut_link(at, s),
                (FaultKind::Isolate, true) => pair.restore_link(at, s),
                (FaultKind::Restart, false) => {
                    pair.stop(at, s);
                    if f.until.is_none() {
                        pair.start(at, s);
                    }
                }
                (FaultKind::Restart, true) => pair.start(at, s),
                (FaultKind::Slow { .. }, _) => {}
            }
        }
        pair.run_until((warmup + end).max(pair.now()));
        let mut changes: Vec<Change> = Vec::new();
        let mut last = None;
        for c in pair.changes() {
            let holder = match c.holders {
                Holders::Nobody => None,
                Holders::Only(s) => Some(s as u8),
                // Split brain: the neighbours' ARP caches follow the last
                // gratuitous ARP, sent by the router that took the address
                // last, i.e. not the one that held it alone before.
                Holders::Both => last.map(|l: u8| 1 - l).or(Some(0)),
            };
            let at = c.at.saturating_sub(warmup);
            match changes.last_mut() {
                Some(prev) if prev.at == at => prev.holder = holder,
                Some(prev) if prev.holder == holder => {}
                _ => changes.push(Change { at, holder }),
            }
            if let Holders::Only(s) = c.holders {
                last = Some(s as u8);
            }
        }
        resolved.sort_by_key(|f| f.at);
        let names = names.map(String::from);
        (
            VipTimeline {
                changes,
                names,
                cursor: 0,
            },
            resolved,
        )
    }

    /// The balancer receiving packets at `now`; `now` never goes back.
    #[inline]
    pub(crate) fn holder(&mut self, now: Time) -> Option<u8> {
        while self.changes.get(self.cursor + 1).is_some_and(|c| c.at <= now) {
            self.cursor += 1;
        }
        self.changes[self.cursor].holder
    }

    /// Every change, the first at time zero.
    pub(crate) fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// When a balancer other than `lb` next takes the address after `now`:
    /// the moment the clients of requests `lb` carried hear a reset.
    pub(crate) fn next_other_holder(&self, lb: u8, now: Time) -> Option<Time> {
        self.changes
            .iter()
            .find(|c| c.at > now && c.holder.is_some_and(|h| h != lb))
            .map(|c| c.at)
    }

    /// Who held the address before `end`, for the record and the report.
    pub(crate) fn timeline(&self, end: Time) -> Timeline {
        Timeline {
            key: "vip.holder".into(),
            label: "VIP holder".into(),
            states: self.names.to_vec(),
            changes: self
                .changes
                .iter()
                .filter(|c| c.at < end || c.at == 0)
                .map(|c| (c.at, c.holder.map(usize::from)))
                .collect(),
        }
    }
}

/// The balancer the neighbours send to when `holders` hold the address.
fn receiver(pair: &VrrpPair, holders: Holders) -> Option<u8> {
    match holders {
        Holders::Nobody => None,
        Holders::Only(s) => Some(s as u8),
        Holders::Both => Some(u8::from(pair.router(Side::B).is_master())),
    }
}

/// Long enough for a cold start's election to be over: the slowest
/// master-down interval, then an advert interval to settle.
fn warmup(vrrp: &[VrrpConfig; 2]) -> Time {
    let down = vrrp.iter().map(|c| c.master_down_interval()).max().unwrap_or(0);
    let advert = vrrp.iter().map(|c| c.advert_int).max().unwrap_or(0);
    down + 2 * advert
}

#[cfg(test)]
mod tests {
    use lab_control::vrrp::{SECOND, VrrpVersion};

    use super::*;

    fn cfg(priority: u8, address: u32) -> VrrpConfig {
        VrrpConfig {
            priority,
            address,
            ..VrrpConfig::default()
        }
    }

    fn fault(at: Time, until: Option<Time>, kind: FaultKind, target: &str) -> Fault {
        Fault {
            at,
            until,
            kind,
            target: target.into(),
        }
    }

    const NAMES: [&str; 2] = ["lb[0]", "lb[1]"];

    #[test]
    fn the_higher_priority_holds_the_address_from_the_start() {
        let (mut t, _) = VipTimeline::build(&[cfg(101, 1), cfg(100, 2)], NAMES, &[], 60 * SECOND);
        assert_eq!(t.holder(0), Some(0));
        assert_eq!(t.changes().len(), 1, "{:?}", t.changes());
    }

    /// VRRPv2: the backup (priority 100) takes over 3 × 1 s + 156/256 s
    /// after the last advert it heard. The master advertises at whole
    /// seconds of its own phase; a crash right after an advert leaves the
    /// full interval, so the gap lies in (2.609375 s, 3.609375 s].
    #[test]
    fn a_crashed_master_leaves_a_gap_of_three_adverts_and_the_skew() {
        let down = 3 * SECOND + 156 * SECOND / 256;
        let crash = 20 * SECOND;
        let f = [fault(crash, None, FaultKind::Crash, LB_MASTER)];
        let (mut t, lb) = VipTimeline::build(&[cfg(101, 1), cfg(100, 2)], NAMES, &f, 60 * SECOND);
        assert_eq!(lb[0].lb, 0, "lb.master was lb[0]");
        assert_eq!(t.holder(crash - 1), Some(0));
        assert_eq!(t.holder(crash), None, "nobody answers once the master's host is gone");
        let back = t.changes()[2].at;
        assert_eq!(t.holder(back), Some(1));
        let gap = back - crash;
        assert!(gap > down - SECOND && gap <= down, "gap {gap} ns");
        // The record's timeline names the balancers and stops at the end.
        let tl = t.timeline(back);
        assert_eq!(tl.states, ["lb[0]", "lb[1]"]);
        assert_eq!(tl.changes, [(0, Some(0)), (crash, None)]);
        assert_eq!(t.timeline(60 * SECOND).changes[2], (back, Some(1)));
    }

    #[test]
    fn a_graceful_stop_hands_over_after_the_skew_alone() {
        let skew = 156 * SECOND / 256;
        let f = [fault(20 * SECOND, Some(30 * SECOND), FaultKind::Restart, "lb[0]")];
        let (t, _) = VipTimeline::build(&[cfg(101, 1), cfg(100, 2)], NAMES, &f, 60 * SECOND);
        let c = t.changes();
        assert_eq!(
            c[1],
            Change {
                at: 20 * SECOND,
                holder: None
            }
        );
        assert_eq!(
            c[2],
            Change {
                at: 20 * SECOND + skew,
                holder: Some(1)
            }
        );
        // Back at 30 s, lb[0] (101 > 100) preempts after its own wait.
        assert_eq!(c.last().unwrap().holder, Some(0));
    }

    #[test]
    fn nopreempt_keeps_the_backup_as_master_after_the_return() {
        let mut a = cfg(101, 1);
        a.preempt = false;
        let mut b = cfg(100, 2);
        b.preempt = false;
        let f = [fault(20 * SECOND, Some(30 * SECOND), FaultKind::Crash, "lb[0]")];
        let (mut t, _) = VipTimeline::build(&[a, b], NAMES, &f, 120 * SECOND);
        assert_eq!(t.holder(119 * SECOND), Some(1));
    }

    #[test]
    fn vrrp_v3_scales_the_skew_with_the_interval() {
        let mut a = cfg(101, 1);
        let mut b = cfg(100, 2);
        for c in [&mut a, &mut b] {
            c.version = VrrpVersion::V3;
            c.advert_int = SECOND / 10;
        }
        let f = [fault(20 * SECOND, None, FaultKind::Crash, "lb[0]")];
        let (t, _) = VipTimeline::build(&[a, b], NAMES, &f, 60 * SECOND);
        let gap = t.changes()[2].at - t.changes()[1].at;
        // 3 × 100 ms + 156 × 100 ms / 256 = 360.9375 ms at most.
        let down = 300_000_000 + 156 * 100_000_000 / 256;
        assert!(gap > down - 100_000_000 && gap <= down, "gap {gap}");
    }

    /// `isolate` takes the master's own link down: keepalived goes FAULT
    /// and the address is nobody's until the backup's master-down interval
    /// since the last advert (3 s + 156/256 s at most); when the link is
    /// back, lb[0] (101) waits its own, 3 s + 155/256 s = 3.60546875 s,
    /// then takes the address back. Never both.
    #[test]
    fn an_isolated_master_gives_the_address_up_and_takes_it_back_a_master_down_interval_after_its_return() {
        let f = [fault(20 * SECOND, Some(40 * SECOND), FaultKind::Isolate, LB_MASTER)];
        let (mut t, lb) = VipTimeline::build(&[cfg(101, 1), cfg(100, 2)], NAMES, &f, 60 * SECOND);
        assert_eq!(lb[0].lb, 0);
        assert_eq!(t.holder(20 * SECOND), None);
        let c = t.changes().to_vec();
        assert_eq!(c.len(), 4, "{c:?}");
        let gap = c[2].at - c[1].at;
        let down = 3 * SECOND + 156 * SECOND / 256;
        assert!(gap > down - SECOND && gap <= down, "gap {gap}");
        assert_eq!(c[2].holder, Some(1));
        let back = 40 * SECOND + 3 * SECOND + 155 * SECOND / 256;
        assert_eq!(
            c[3],
            Change {
                at: back,
                holder: Some(0)
            }
        );
        assert_eq!(t.holder(back - 1), Some(1));
        assert_eq!(t.holder(back), Some(0));
    }
}
