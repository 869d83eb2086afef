//! The way in: the client's connection to the entry (a web node's nginx,
//! or keepalived's VIP and the HAProxy that holds it; the clients'
//! kept-alive connections to the VIP are `shop/keepalive.rs`'s), HAProxy's
//! queue, its connection to a web node, retries, `timeout server` and the
//! answer's way back.
//!
//! A request that comes through a balancer has two sides: the balancer's
//! ([`Front`]) and the web node's (`at_web`). It leaves the slab when
//! neither holds it any more, so a web node that works on after HAProxy
//! gave up (504) still finds its request, as a real FPM child does.

use lab_core::record::OutcomeId;
use lab_core::scenario::Haproxy;
use rand_pcg::Pcg64Mcg;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::keepalive::ClientPool;
use super::{Ev, Front, Key, Shop, via, via_mut};
use crate::engine::{Lane, Slot, Time, after};
use crate::nodes::haproxy::{Backend, Connect, Dispatch, Effects, Liveness, Retry, Transition};
use crate::nodes::vip::VipTimeline;
use crate::sample::Sampler;

/// One HAProxy host: one of the VIP's pair (balancers 0 and 1), or a
/// service's (gold).
pub(super) struct Balancer {
    pub(super) cfg: Haproxy,
    pub(super) backend: Backend<Key>,
    /// Its servers are web nodes `first`…`first + backend.servers() - 1`.
    pub(super) first: u32,
    /// Stopped gracefully (a restart of a service's balancer): it refuses
    /// connections.
    pub(super) refusing: bool,
    /// The lanes of its `timeout queue` and `timeout server` timers.
    pub(super) queue_lane: Lane,
    pub(super) server_lane: Lane,
    /// Its host is up, HAProxy running.
    pub(super) up: bool,
    /// Its link is up (`isolate` takes it down: HAProxy runs on, but
    /// nothing reaches it or leaves it).
    pub(super) linked: bool,
    /// How many times it booted again after a crash: its life. A kernel
    /// knows the connections of its own life only.
    pub(super) boots: u16,
    /// Client connections HAProxy has accepted (frontend `maxconn`).
    pub(super) conns: u32,
    /// Connections the kernel holds while HAProxy is at `maxconn`.
    pub(super) accept: VecDeque<Key>,
    /// An `Ev::Accept` is pending.
    pub(super) accepting: bool,
    /// The most it holds: HAProxy listens with the largest backlog, which
    /// the kernel caps at `somaxconn`, and Linux admits one more (its full
    /// test is `>`).
    pub(super) accept_limit: usize,
}

/// keepalived's VIP and the two HAProxy hosts behind it; in gold, each
/// service's balancer after them.
pub(super) struct FrontEnd {
    pub(super) lbs: Vec<Balancer>,
    pub(super) vip: VipTimeline,
    /// Draws for `balance random`.
    pub(super) rng: Pcg64Mcg,
    /// Every pending health check (start or end) of both balancers, behind
    /// one scheduler slot: with a thousand servers the checks would
    /// otherwise make the event heap, and every request's events, deeper.
    checks: BinaryHeap<Reverse<(Time, u8, u32, bool)>>,
    check_slot: Slot,
    pub(super) fx: Effects<Key>,
    /// A round trip between a balancer and a web node.
    pub(super) rtt: Option<Sampler>,
    /// The clients' idle kept-alive connections to the address.
    pub(super) pool: ClientPool,
}

impl FrontEnd {
    /// The VIP with no balancer yet: the pair comes first
    /// ([`FrontEnd::add_balancer`] twice), then the services' balancers.
    pub(super) fn new(
        vip: VipTimeline,
        rng: Pcg64Mcg,
        rtt: Option<Sampler>,
        check_slot: Slot,
        pool_cap: usize,
    ) -> FrontEnd {
        FrontEnd {
            lbs: Vec::new(),
            vip,
            rng,
            checks: BinaryHeap::new(),
            check_slot,
            fx: Effects::default(),
            rtt,
            pool: ClientPool::new(pool_cap),
        }
    }
}

impl Balancer {
    fn new(cfg: &Haproxy, first: usize, servers: usize, somaxconn: u32, lanes: [Lane; 2]) -> Balancer {
        Balancer {
            queue_lane: lanes[0],
            server_lane: lanes[1],
            cfg: cfg.clone(),
            backend: Backend::new(cfg.clone(), servers),
            first: u32::try_from(first).expect("fewer than 2^32 web nodes"),
            refusing: false,
            up: true,
            linked: true,
            boots: 0,
            conns: 0,
            accept: VecDeque::new(),
            accepting: false,
            accept_limit: somaxconn as usize + 1,
        }
    }

    /// Running and reachable.
    pub(super) fn reachable(&self) -> bool {
        self.up && self.linked
    }

    /// Its life: how many times it booted again after a crash (at most
    /// once per fault: `MAX_FAULTS` is 1,000).
    pub(super) fn epoch(&self) -> u16 {
        self.boots
    }

    /// Whether web node `web` is one of its servers, and which.
    fn server(&self, web: u32) -> Option<u32> {
        let s = web.checked_sub(self.first)?;
        ((s as usize) < self.backend.servers()).then_some(s)
    }
}

impl FrontEnd {
    /// A balancer in front of web nodes `first`…`first + servers - 1`.
    pub(super) fn add_balancer(
        &mut self,
        cfg: &Haproxy,
        first: usize,
        servers: usize,
        somaxconn: u32,
        lanes: [Lane; 2],
    ) {
        assert!(self.lbs.len() < usize::from(u8::MAX), "fewer than 255 balancers");
        self.lbs.push(Balancer::new(cfg, first, servers, somaxconn, lanes));
    }

    /// Queues every server's next check by balancer `lb`.
    pub(super) fn first_checks(&mut self, lb: u8) {
        let b = &self.lbs[lb as usize].backend;
        for s in 0..b.servers() as u32 {
            if let Some(t) = b.next_check(s) {
                self.checks.push(Reverse((t, lb, s, false)));
            }
        }
    }
}

impl Shop {
    /// A new request's client connects to the entry.
    pub(super) fn connect_entry(&mut self, key: Key) {
        let Some(front) = self.front.as_deref_mut() else {
            if self.webs[0].refusing {
                self.reqs[key.slot as usize].front = Front::Done;
                self.client_answer(key, self.outcomes.connect_failed);
                self.settle(key);
            } else if self.webs[0].up && self.webs[0].reachable {
                self.reqs[key.slot as usize].front = Front::Direct;
                self.enter_web(key, 0);
            } else {
                self.syn_lost(key);
            }
            return;
        };
        let now = self.now;
        let holder = front.vip.holder(now).filter(|&h| front.lbs[h as usize].reachable());
        let Some(lb) = holder else {
            self.syn_lost(key);
            return;
        };
        self.enter_balancer(key, lb);
    }

    /// The connection reaches balancer `lb`, which accepts it (up to its
    /// frontend `maxconn`, beyond which the kernel holds it) and dispatches.
    fn enter_balancer(&mut self, key: Key, lb: u8) {
        let front = self.front.as_deref_mut().expect("a balancer");
        let b = &mut front.lbs[lb as usize];
        let r = &mut self.reqs[key.slot as usize];
        via_mut(&mut self.vias, r).lb = lb;
        if b.conns >= b.cfg.maxconn {
            if b.accept.len() >= b.accept_limit {
                self.syn_lost(key);
                return;
            }
            r.front = Front::Accept;
            b.accept.push_back(key);
            return;
        }
        b.conns += 1;
        self.dispatch_lb(key, None);
    }

    /// A call reaches its service's balancer `lb`: a dead one says nothing
    /// (the caller waits for its timeout), a stopped one refuses.
    pub(super) fn call_arrives(&mut self, key: Key) {
        let r = &self.reqs[key.slot as usize];
        if r.front != Front::Sent {
            return;
        }
        let lb = via(&self.vias, r).lb;
        let b = &self.front.as_deref().expect("a balancer").lbs[lb as usize];
        // A dead balancer, or a caller cut off, answers nothing: the
        // caller's kernel sends the SYN again, as a client's does.
        if !b.reachable() || !self.caller_reachable(key) {
            self.syn_lost(key);
            return;
        }
        if b.refusing {
            self.reqs[key.slot as usize].front = Front::Done;
            self.client_answer(key, self.outcomes.connect_failed);
            self.settle(key);
            return;
        }
        self.enter_balancer(key, lb);
    }

    /// Nobody took the SYN: the client's kernel sends it again later, or
    /// gives up.
    fn syn_lost(&mut self, key: Key) {
        let now = self.now;
        // A call's caller is a web node: its host's kernel sends the SYN.
        let caller_host = self.caller_node(key).map(|w| self.webs[w as usize].host);
        let r = &mut self.reqs[key.slot as usize];
        let sent = via(&self.vias, r).syn_sent as usize;
        if sent == 0 && self.front.is_none() {
            // The client's own timer (with a balancer, set on arrival).
            if let Some(t) = self.client_timeout {
                self.timer(self.lanes.client, after(now, t), Ev::ClientTimeout(key));
            }
        }
        let r = &mut self.reqs[key.slot as usize];
        r.front = Front::Syn;
        let syn = match caller_host {
            Some(h) => &self.hosts_syn[h],
            None => &self.client_syn,
        };
        // (A call whose caller is gone now follows the clients' schedule,
        // which may be shorter: past its end the call gives up at once.)
        let sent_at = if sent == 0 {
            0
        } else {
            syn.retransmits.get(sent - 1).copied().unwrap_or(syn.gives_up)
        };
        let first = now.saturating_sub(sent_at);
        match syn.retransmits.get(sent) {
            Some(&t) => {
                via_mut(&mut self.vias, r).syn_sent += 1;
                self.sched.at(after(first, t), Ev::SynRetry(key));
            }
            None => {
                let at = after(first, syn.gives_up);
                self.sched.at(at, Ev::ConnectGiveUp(key));
            }
        }
    }

    pub(super) fn syn_retry(&mut self, key: Key) {
        if self.reqs[key.slot as usize].front == Front::Syn {
            if self.is_call(key) {
                // A call's SYN goes to its service's balancer again.
                self.reqs[key.slot as usize].front = Front::Sent;
                self.call_arrives(key);
            } else {
                self.connect_entry(key);
            }
        }
    }

    pub(super) fn connect_give_up(&mut self, key: Key) {
        let r = &mut self.reqs[key.slot as usize];
        if r.front == Front::Syn {
            r.front = Front::Done;
            self.client_answer(key, self.outcomes.connect_failed);
            self.settle(key);
        }
    }

    /// HAProxy picks a server for the request, or queues it, or answers 503.
    pub(super) fn dispatch_lb(&mut self, key: Key, avoid: Option<u32>) {
        let r = &self.reqs[key.slot as usize];
        let client = if r.user != super::NO_USER {
            u64::from(r.user)
        } else {
            r.id
        };
        let client = self.caller_node(key).map_or(client, |web| u64::MAX - u64::from(web));
        let front = self.front.as_deref_mut().expect("a balancer");
        let r = &mut self.reqs[key.slot as usize];
        let b = &mut front.lbs[via(&self.vias, r).lb as usize];
        let avoid = avoid.map(|w| w - b.first);
        match b.backend.dispatch(key, client, avoid, &mut front.rng) {
            Dispatch::Server(s) => {
                r.web = b.first + s;
                self.connect_server(key);
            }
            Dispatch::Queued(w) => {
                r.front = Front::Queued;
                let v = via_mut(&mut self.vias, r);
                v.waiter = w;
                v.queued_at = self.now;
                let (t, lane) = (after(self.now, b.cfg.timeout_queue), b.queue_lane);
                self.timer(lane, t, Ev::QueueTimeout(key));
            }
            Dispatch::NoServer | Dispatch::QueueFull => self.lb_answer(key, self.outcomes.lb_unavailable, false, false),
        }
    }

    /// The request holds a connection slot on server `r.web`: connect.
    fn connect_server(&mut self, key: Key) {
        let front = self.front.as_deref_mut().expect("a balancer");
        let r = &mut self.reqs[key.slot as usize];
        r.front = Front::Connecting;
        let b = &front.lbs[via(&self.vias, r).lb as usize];
        match b.backend.connect(r.web - b.first) {
            Connect::Established => {
                // Half a round trip to the server; the other half brings
                // the answer back.
                let d = front.rtt.as_ref().map_or(0, |s| s.sample(&mut r.net) / 2);
                self.sched.at(after(self.now, d), Ev::Forward(key));
            }
            Connect::Refused => self.connect_failed(key, true),
            Connect::TimesOut { after: t } => {
                self.sched.at(after(self.now, t), Ev::ConnectTimeout(key));
            }
        }
    }

    pub(super) fn connect_timeout(&mut self, key: Key) {
        if self.reqs[key.slot as usize].front == Front::Connecting {
            self.connect_failed(key, false);
        }
    }

    /// `retries` and `option redispatch` after a failed connection.
    fn connect_failed(&mut self, key: Key, refused: bool) {
        let front = self.front.as_deref_mut().expect("a balancer");
        let r = &mut self.reqs[key.slot as usize];
        let v = via_mut(&mut self.vias, r);
        v.attempts += 1;
        let b = &front.lbs[v.lb as usize];
        match b.backend.retry(r.web - b.first, u32::from(v.attempts), refused) {
            Retry::GiveUp => self.lb_answer(key, self.outcomes.lb_unavailable, true, false),
            Retry::SameServer { after: t } => {
                v.redispatch = false;
                self.sched.at(after(self.now, t), Ev::ConnectRetry(key));
            }
            Retry::Redispatch { after: t } => {
                v.redispatch = true;
                let (lb, s) = (v.lb, r.web);
                self.release_slot(lb, s);
                self.sched.at(after(self.now, t), Ev::ConnectRetry(key));
            }
        }
    }

    pub(super) fn connect_retry(&mut self, key: Key) {
        let r = &self.reqs[key.slot as usize];
        if r.front != Front::Connecting {
            return;
        }
        if via(&self.vias, r).redispatch {
            let avoid = r.web;
            self.dispatch_lb(key, Some(avoid));
        } else {
            self.connect_server(key);
        }
    }

    /// The request reaches its server's nginx.
    pub(super) fn forward(&mut self, key: Key) {
        let now = self.now;
        let front = self.front.as_deref().expect("a balancer");
        let r = &mut self.reqs[key.slot as usize];
        if r.front != Front::Connecting {
            return;
        }
        r.front = Front::AtServer;
        let web = r.web;
        let b = &front.lbs[via(&self.vias, r).lb as usize];
        let (t, lane, linked) = (after(now, b.cfg.timeout_server), b.server_lane, b.linked);
        self.timer(lane, t, Ev::ServerTimeout(key));
        if self.webs[web as usize].up && self.webs[web as usize].reachable && linked {
            self.enter_web(key, web);
        }
        // A server that died after accepting says nothing, nor reaches a
        // balancer cut off: `timeout server`.
    }

    pub(super) fn queue_timeout(&mut self, key: Key) {
        let now = self.now;
        let front = self.front.as_deref_mut().expect("a balancer");
        let r = &self.reqs[key.slot as usize];
        let v = via(&self.vias, r);
        if r.front != Front::Queued || after(v.queued_at, front.lbs[v.lb as usize].cfg.timeout_queue) != now {
            return;
        }
        if front.lbs[v.lb as usize].backend.abandon(v.waiter).is_some() {
            self.lb_answer(key, self.outcomes.lb_unavailable, false, false);
        }
    }

    pub(super) fn server_timeout(&mut self, key: Key) {
        let r = &self.reqs[key.slot as usize];
        if matches!(r.front, Front::AtServer | Front::Returning) {
            self.lb_answer(key, self.outcomes.lb_timeout, true, false);
        }
    }

    /// nginx's answer reaches HAProxy, which passes it on.
    pub(super) fn lb_reply(&mut self, key: Key, outcome: OutcomeId) {
        if self.reqs[key.slot as usize].front == Front::Returning {
            self.lb_answer(key, outcome, true, true);
        }
    }

    /// HAProxy answers the client and closes both sides of the request;
    /// `holds_slot` says whether it had a connection slot on `r.web`,
    /// `server` whether the answer is the server's (the client keeps its
    /// connection; after an answer of its own, 503 or 504, HAProxy closes
    /// it).
    fn lb_answer(&mut self, key: Key, outcome: OutcomeId, holds_slot: bool, server: bool) {
        let r = &mut self.reqs[key.slot as usize];
        let at_server = r.front == Front::AtServer;
        let v = via(&self.vias, r);
        let (lb, s) = (v.lb, r.web);
        let mut keeps = false;
        if v.deaf {
            // Its client cannot hear it: it learns from a reset.
            r.front = Front::Lost;
        } else {
            r.front = Front::Done;
            keeps = server && r.client_waiting && lb < 2 && !self.is_call(key);
            self.client_answer(key, outcome);
        }
        if holds_slot {
            self.release_slot(lb, s);
        }
        if at_server {
            self.nginx_sees_close(key);
        }
        if keeps {
            self.keep_alive(lb);
        } else {
            self.close_frontend(lb);
        }
        self.settle(key);
    }

    /// HAProxy closed its connection to nginx before the answer: nginx sees
    /// its client go (499) and closes its connection to FPM too, freeing
    /// both (`fastcgi_ignore_client_abort off`). PHP works on unaware; a
    /// connection still retrying its SYN towards a TCP pool is forgotten.
    fn nginx_sees_close(&mut self, key: Key) {
        let r = &mut self.reqs[key.slot as usize];
        if !r.at_web || !r.nginx_waiting {
            return;
        }
        r.nginx_waiting = false;
        super::steps::leave_nginx(r, &mut self.webs[r.web as usize].nginx);
        if r.phase == super::Phase::Syn {
            // Off the node; whoever closed settles the request.
            r.at_web = false;
        }
    }

    /// A caller gave up on its call (its timeout): it closes its connection
    /// to the service's HAProxy, which closes its own to the server if it
    /// has one. A call still queued stays queued (no `option
    /// abortonclose`), as does one on its way.
    pub(super) fn call_abandoned(&mut self, key: Key) {
        let r = &self.reqs[key.slot as usize];
        if !matches!(r.front, Front::Connecting | Front::AtServer | Front::Returning) {
            return;
        }
        // Between a failed attempt and its redispatch it holds no slot.
        let v = via(&self.vias, r);
        let holds_slot = !(r.front == Front::Connecting && v.redispatch);
        let at_server = r.front == Front::AtServer;
        let r = &mut self.reqs[key.slot as usize];
        r.front = Front::Done;
        let (lb, s) = (v.lb, r.web);
        if holds_slot {
            self.release_slot(lb, s);
        }
        if at_server {
            self.nginx_sees_close(key);
        }
        self.close_frontend(lb);
    }

    /// A frontend connection closed: the kernel's next waiting one is
    /// accepted.
    ///
    /// The next connection is taken by an event at this same instant, not
    /// here: a dispatch can end at once (503) and close its connection,
    /// and thousands of waiting connections would otherwise nest that many
    /// calls deep.
    pub(super) fn close_frontend(&mut self, lb: u8) {
        let front = self.front.as_deref_mut().expect("a balancer");
        let b = &mut front.lbs[lb as usize];
        b.conns -= 1;
        if !b.accept.is_empty() && !b.accepting {
            b.accepting = true;
            self.sched.at(self.now, Ev::Accept(lb));
        }
    }

    /// HAProxy accepts the connections the kernel holds, up to `maxconn`.
    pub(super) fn accept(&mut self, lb: u8) {
        loop {
            let front = self.front.as_deref_mut().expect("a balancer");
            let b = &mut front.lbs[lb as usize];
            b.accepting = false;
            if !b.up || b.conns >= b.cfg.maxconn {
                return;
            }
            let Some(next) = b.accept.pop_front() else { return };
            if self
                .reqs
                .get(next.slot as usize)
                .is_some_and(|r| r.id == next.id && r.front == Front::Accept)
            {
                b.conns += 1;
                self.dispatch_lb(next, None);
            }
        }
    }

    /// A server's connection slot is free; the oldest request waiting for
    /// it connects.
    fn release_slot(&mut self, lb: u8, web: u32) {
        let front = self.front.as_deref_mut().expect("a balancer");
        let b = &mut front.lbs[lb as usize];
        if let Some(h) = b.backend.release(web - b.first) {
            let web = b.first + h.server;
            self.handoff(h.key, web);
        }
    }

    /// A queued request got a slot on web node `web`; it connects in an
    /// event of its own at this instant (a refused connection that gives up
    /// frees the slot for the next one: done here, that would nest a call
    /// per queued request).
    fn handoff(&mut self, key: Key, web: u32) {
        let r = &mut self.reqs[key.slot as usize];
        r.web = web;
        r.front = Front::Connecting;
        let v = via_mut(&mut self.vias, r);
        v.redispatch = false;
        if let Some(h) = self.haproxy_wait {
            self.rec.wait(self.now, h, self.now - v.queued_at);
        }
        self.sched.at(self.now, Ev::ConnectRetry(key));
    }

    /// The answer (or nginx's error) leaves the web node for HAProxy.
    pub(super) fn answer_to_lb(&mut self, key: Key, outcome: OutcomeId) {
        let front = self.front.as_deref().expect("a balancer");
        let r = &mut self.reqs[key.slot as usize];
        let linked = front.lbs[via(&self.vias, r).lb as usize].linked;
        if r.front != Front::AtServer || !self.webs[r.web as usize].reachable || !linked {
            return;
        }
        r.front = Front::Returning;
        let d = front.rtt.as_ref().map_or(0, |s| s.sample(&mut r.net) / 2);
        self.sched.at(after(self.now, d), Ev::LbReply(key, outcome));
    }

    // ---- health checks ----

    /// A check of server `s` by balancer `lb` starts (or, `end`, ends) at `t`.
    fn schedule_check(&mut self, t: Time, lb: u8, s: u32, end: bool) {
        let front = self.front.as_deref_mut().expect("a balancer");
        front.checks.push(Reverse((t, lb, s, end)));
        let next = front.checks.peek().expect("just pushed").0.0;
        if self.sched.slot_time(&front.check_slot) != Some(next) {
            self.sched.set_slot(&front.check_slot, next, Ev::Checks);
        }
    }

    /// Runs the checks due now, in (time, balancer, server) order.
    pub(super) fn checks_due(&mut self) {
        let now = self.now;
        loop {
            let front = self.front.as_deref_mut().expect("a balancer");
            match front.checks.peek() {
                Some(&Reverse((t, lb, s, end))) if t <= now => {
                    front.checks.pop();
                    if end {
                        self.check_end(lb, s);
                    } else {
                        self.check_start(lb, s);
                    }
                }
                Some(&Reverse((t, ..))) => {
                    self.sched.set_slot(&front.check_slot, t, Ev::Checks);
                    return;
                }
                None => {
                    self.sched.clear_slot(&front.check_slot);
                    return;
                }
            }
        }
    }

    /// Schedules every server's first check on every balancer.
    pub(super) fn start_checks(&mut self) {
        let Some(front) = self.front.as_deref_mut() else { return };
        for lb in 0..front.lbs.len() as u8 {
            front.first_checks(lb);
        }
        self.rearm_checks();
    }

    /// Sets the checks' slot to the earliest pending check.
    pub(super) fn rearm_checks(&mut self) {
        let front = self.front.as_deref_mut().expect("a balancer");
        match front.checks.peek() {
            Some(&Reverse((t, ..))) => self.sched.set_slot(&front.check_slot, t, Ev::Checks),
            None => self.sched.clear_slot(&front.check_slot),
        }
    }

    fn check_start(&mut self, lb: u8, s: u32) {
        let now = self.now;
        let front = self.front.as_deref_mut().expect("a balancer");
        let b = &mut front.lbs[lb as usize];
        if !b.up || b.backend.next_check(s) != Some(now) {
            return; // a check of a balancer that died, or rescheduled
        }
        let end = b.backend.start_check(s, now);
        self.schedule_check(end, lb, s, true);
    }

    fn check_end(&mut self, lb: u8, s: u32) {
        let now = self.now;
        let front = self.front.as_deref_mut().expect("a balancer");
        let b = &mut front.lbs[lb as usize];
        if !b.up || b.backend.check_ends(s) != Some(now) {
            return;
        }
        let mut fx = std::mem::take(&mut front.fx);
        fx.clear();
        let change = b.backend.end_check(s, now, &mut fx);
        if let Some(t) = b.backend.next_check(s) {
            self.schedule_check(t, lb, s, false);
        }
        if let Some(change) = change {
            let counter = match change {
                Transition::MarkedDown => self.counters.marked_down,
                Transition::MarkedUp => self.counters.marked_up,
            };
            self.rec.count(now, counter, 1);
        }
        let first = self.front.as_deref().expect("a balancer").lbs[lb as usize].first;
        for h in fx.handoffs.drain(..) {
            self.handoff(h.key, first + h.server);
        }
        for q in fx.requeue.drain(..) {
            if self.reqs.get(q.key.slot as usize).is_some_and(|r| r.id == q.key.id) {
                self.dispatch_lb(q.key, None);
            }
        }
        self.front.as_deref_mut().expect("a balancer").fx = fx;
    }

    /// What is really at a web node's address, for both balancers' checks
    /// and connections.
    pub(super) fn set_liveness(&mut self, web: u32, l: Liveness) {
        if let Some(front) = self.front.as_deref_mut() {
            // A balancer cut off sees every server unreachable until its
            // link is back.
            for b in front.lbs.iter_mut().filter(|b| b.linked) {
                if let Some(s) = b.server(web) {
                    b.backend.set_liveness(s, l);
                }
            }
        }
    }
}
