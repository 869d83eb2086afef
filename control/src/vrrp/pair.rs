//! Two routers sharing one virtual address over a lossless link with a fixed
//! one-way delay: the silver era's pair of HAProxy nodes under keepalived.

use std::collections::VecDeque;

use super::{Advert, Reaction, VipAction, Vrrp};

/// One of the two routers of a [`VrrpPair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The first router given to [`VrrpPair::new`].
    A,
    /// The second router given to [`VrrpPair::new`].
    B,
}

impl Side {
    /// The other router.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Who clients can reach on the virtual address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holders {
    /// Nobody: connections to the address fail (the failover gap).
    Nobody,
    /// Exactly one router.
    Only(Side),
    /// Both routers have the address and are reachable: split brain. Which
    /// one gets a client's packets is up to the neighbours' ARP caches (the
    /// last gratuitous ARP wins).
    Both,
}

/// The holders changed at `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VipChange {
    /// When, in nanoseconds.
    pub at: u64,
    /// Who holds the address from then on.
    pub holders: Holders,
}

/// Two [`Vrrp`] routers run against each other, with faults injected by the
/// caller, recording who holds the virtual address over time.
///
/// A router *holds* the address while it has it configured and its host is
/// reachable. That separates the faults that matter for the silver era:
/// - [`kill`](Self::kill): keepalived is SIGKILLed, the address stays on its
///   interface and the host still answers on it (FACTS.md: split brain once
///   the backup takes over too).
/// - [`crash_host`](Self::crash_host) / [`boot_host`](Self::boot_host): the
///   host dies (or its link goes down, as `deploy` emulates it): nothing on
///   it is reachable; a reboot comes back without the address.
/// - [`cut_link`](Self::cut_link) / [`restore_link`](Self::restore_link):
///   the host's own link goes down; keepalived sees it and enters FAULT
///   (the address goes), and on its return waits as a backup before it
///   preempts.
/// - [`isolate`](Self::isolate) / [`rejoin`](Self::rejoin): the host is cut
///   off beyond its interface; keepalived lives on, unaware, still master.
/// - [`partition`](Self::partition) / [`heal`](Self::heal): only the path
///   between the two routers fails; clients still reach both.
///
/// Whether a packet gets through is decided when it is sent; once on the
/// wire it arrives `one_way_delay` later. Events at the same instant run in
/// a fixed order (deliveries before timers, A before B); a fault at `now`
/// acts after everything already due at `now`, and what it sets off at `now`
/// (an advert over a zero-delay link) runs before the call returns. So runs
/// are deterministic.
///
/// This helper allocates (the in-flight queue and the change log); the
/// per-event work is [`Vrrp`]'s, which does not.
#[derive(Clone, Debug)]
pub struct VrrpPair {
    routers: [Vrrp; 2],
    delay: u64,
    now: u64,
    vip_configured: [bool; 2],
    reachable: [bool; 2],
    partitioned: bool,
    /// `wire[i]`: adverts on their way to router `i`, in arrival order.
    wire: [VecDeque<(u64, Advert)>; 2],
    changes: Vec<VipChange>,
}

#[derive(Clone, Copy)]
enum Event {
    Deliver(Side),
    Timer(Side),
}

impl VrrpPair {
    /// Two routers, not started yet, at time 0, nobody holding the address.
    pub fn new(a: Vrrp, b: Vrrp, one_way_delay: u64) -> Self {
        Self {
            routers: [a, b],
            delay: one_way_delay,
            now: 0,
            vip_configured: [false; 2],
            reachable: [true; 2],
            partitioned: false,
            wire: [VecDeque::new(), VecDeque::new()],
            changes: vec![VipChange {
                at: 0,
                holders: Holders::Nobody,
            }],
        }
    }

    /// The time the pair has been run to.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// One router's state machine.
    pub fn router(&self, side: Side) -> &Vrrp {
        &self.routers[side.index()]
    }

    /// Whether the address is on that router's interface, reachable or not.
    pub fn vip_configured(&self, side: Side) -> bool {
        self.vip_configured[side.index()]
    }

    /// Who holds the address now.
    pub fn holders(&self) -> Holders {
        self.changes.last().map_or(Holders::Nobody, |c| c.holders)
    }

    /// Every change of holders so far, the first being `Nobody` at 0.
    pub fn changes(&self) -> &[VipChange] {
        &self.changes
    }

    /// Who held the address at `t` (after every change at `t`).
    pub fn holders_at(&self, t: u64) -> Holders {
        let i = self.changes.partition_point(|c| c.at <= t);
        self.changes[i.saturating_sub(1)].holders
    }

    /// The first instant at or after `from` at which the holders were
    /// `holders`, if that happened before [`now`](Self::now).
    pub fn first(&self, holders: Holders, from: u64) -> Option<u64> {
        if self.holders_at(from) == holders {
            return Some(from);
        }
        self.changes
            .iter()
            .find(|c| c.at > from && c.holders == holders)
            .map(|c| c.at)
    }

    /// How long, within `[from, to)`, the holders were `holders`.
    pub fn time_with(&self, holders: Holders, from: u64, to: u64) -> u64 {
        let mut total = 0;
        for (i, c) in self.changes.iter().enumerate() {
            let end = self.changes.get(i + 1).map_or(u64::MAX, |n| n.at);
            if c.holders == holders {
                total += end.min(to).saturating_sub(c.at.max(from));
            }
        }
        total
    }

    /// Runs both routers and the link up to `t` inclusive.
    pub fn run_until(&mut self, t: u64) {
        assert!(t >= self.now, "time ran backwards: {t} < {}", self.now);
        while let Some((at, event)) = self.next_event().filter(|&(at, _)| at <= t) {
            self.now = at;
            match event {
                Event::Deliver(to) => {
                    let (_, advert) = self.wire[to.index()].pop_front().expect("a queued advert");
                    let reaction = self.routers[to.index()].advert_received(at, advert);
                    self.apply(to, reaction);
                }
                Event::Timer(side) => {
                    let reaction = self.routers[side.index()].timer_fired(at);
                    self.apply(side, reaction);
                }
            }
        }
        self.now = t;
    }

    /// Starts (or restarts) keepalived on one router.
    pub fn start(&mut self, now: u64, side: Side) {
        self.run_until(now);
        let reaction = self.routers[side.index()].start(now);
        self.apply(side, reaction);
        self.run_until(now);
    }

    /// Stops keepalived gracefully on one router.
    pub fn stop(&mut self, now: u64, side: Side) {
        self.run_until(now);
        let reaction = self.routers[side.index()].stop(now);
        self.apply(side, reaction);
        self.run_until(now);
    }

    /// `kill -9` of keepalived: the address it held stays on its interface.
    pub fn kill(&mut self, now: u64, side: Side) {
        self.run_until(now);
        self.routers[side.index()].crash();
        self.record();
    }

    /// The host dies: keepalived with it, and nothing on it is reachable.
    pub fn crash_host(&mut self, now: u64, side: Side) {
        self.run_until(now);
        self.routers[side.index()].crash();
        self.reachable[side.index()] = false;
        self.record();
    }

    /// The host is back after a reboot (without the address) and keepalived
    /// starts on it.
    pub fn boot_host(&mut self, now: u64, side: Side) {
        self.run_until(now);
        self.vip_configured[side.index()] = false;
        self.reachable[side.index()] = true;
        self.record();
        self.start(now, side);
    }

    /// The host's own link goes down (`ip link set eth0 down`, a pulled
    /// cable): keepalived hears it from netlink and enters FAULT, removing
    /// the address (its priority-0 advert cannot get out), and nothing on
    /// the host is reachable. Measured with keepalived 2.2.7 (`lab real`,
    /// `validate-silver`): "Netlink reports eth0 down", "Entering FAULT
    /// STATE", the address gone from the interface at once.
    pub fn cut_link(&mut self, now: u64, side: Side) {
        self.run_until(now);
        self.reachable[side.index()] = false;
        let reaction = self.routers[side.index()].fault(now);
        self.apply(side, reaction);
        self.run_until(now);
    }

    /// The host's own link is back: keepalived leaves FAULT as a backup and
    /// waits a whole master-down interval; with `preempt` it discards the
    /// lower-priority master's adverts meanwhile, then takes the address
    /// back and the other steps down on its first advert (keepalived 2.2.7,
    /// measured: "Entering BACKUP STATE", four "received lower priority
    /// (100) advert … discarding", "Entering MASTER STATE" 3–4 s after the
    /// link came up at priority 101).
    pub fn restore_link(&mut self, now: u64, side: Side) {
        self.run_until(now);
        self.reachable[side.index()] = true;
        self.record();
        let reaction = self.routers[side.index()].recover(now);
        self.apply(side, reaction);
        self.run_until(now);
    }

    /// The host's link goes down beyond its interface (a switch port, an
    /// upstream partition) under a live keepalived that does not notice.
    pub fn isolate(&mut self, now: u64, side: Side) {
        self.run_until(now);
        self.reachable[side.index()] = false;
        self.record();
    }

    /// The host's link is back.
    pub fn rejoin(&mut self, now: u64, side: Side) {
        self.run_until(now);
        self.reachable[side.index()] = true;
        self.record();
    }

    /// The path between the two routers fails; clients still reach both.
    pub fn partition(&mut self, now: u64) {
        self.run_until(now);
        self.partitioned = true;
    }

    /// The path between the two routers is back.
    pub fn heal(&mut self, now: u64) {
        self.run_until(now);
        self.partitioned = false;
    }

    fn next_event(&self) -> Option<(u64, Event)> {
        let candidates = [
            (self.wire[0].front().map(|&(at, _)| at), Event::Deliver(Side::A)),
            (self.wire[1].front().map(|&(at, _)| at), Event::Deliver(Side::B)),
            (self.routers[0].next_timer(), Event::Timer(Side::A)),
            (self.routers[1].next_timer(), Event::Timer(Side::B)),
        ];
        let mut best: Option<(u64, Event)> = None;
        for (at, event) in candidates {
            if let Some(at) = at.filter(|&at| best.is_none_or(|(b, _)| at < b)) {
                best = Some((at, event));
            }
        }
        best
    }

    fn apply(&mut self, side: Side, reaction: Reaction) {
        match reaction.vip {
            VipAction::Take => self.vip_configured[side.index()] = true,
            VipAction::Release => self.vip_configured[side.index()] = false,
            VipAction::Keep => {}
        }
        let link_up = !self.partitioned && self.reachable.iter().all(|&r| r);
        if let Some(advert) = reaction.advert.filter(|_| link_up) {
            self.wire[side.other().index()].push_back((self.now + self.delay, advert));
        }
        self.record();
    }

    fn record(&mut self) {
        let holds = |i: usize| self.vip_configured[i] && self.reachable[i];
        let holders = match (holds(0), holds(1)) {
            (false, false) => Holders::Nobody,
            (true, false) => Holders::Only(Side::A),
            (false, true) => Holders::Only(Side::B),
            (true, true) => Holders::Both,
        };
        if holders != self.holders() {
            self.changes.push(VipChange { at: self.now, holders });
        }
    }
}
