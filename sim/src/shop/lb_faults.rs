//! What faults do to a balancer: a crash (its requests lost, a fresh
//! HAProxy when it boots), a cut link (HAProxy runs on, cut off), a
//! restart (HAProxy stops, then starts afresh; a service's balancer
//! refuses calls meanwhile); and the reset by which a client learns that
//! its connection is gone.

use super::{Ev, Front, Key, Shop, via};
use crate::engine::Time;
use crate::nodes::haproxy::{Backend, Liveness};

impl Shop {
    /// A service's balancer stops gracefully (or starts again).
    pub(super) fn set_lb_refusing(&mut self, lb: u8, refusing: bool) {
        self.front.as_deref_mut().expect("a balancer").lbs[lb as usize].refusing = refusing;
    }

    /// A balancer's host dies: the requests it carried are lost. Their
    /// clients learn it when the address answers again, from a balancer
    /// that knows nothing of their connection (a reset).
    pub(super) fn balancer_down(&mut self, lb: u8) {
        let now = self.now;
        let front = self.front.as_deref_mut().expect("a balancer");
        // A service's balancer has no VIP: its callers wait for their timeout.
        let reset_at = (lb < 2).then(|| front.vip.next_other_holder(lb, now)).flatten();
        self.lose_requests(lb, reset_at);
    }

    /// HAProxy on one of the address's balancers stops with its host's
    /// daemons (`restart`: SIGTERM, HAProxy's hard stop) while keepalived
    /// hands the address over: it closes every connection, so the clients
    /// of the requests it carried get a reset now, and drop its idle
    /// connections (its FIN reaches them).
    pub(super) fn balancer_stop(&mut self, lb: u8) {
        let now = self.now;
        self.front.as_deref_mut().expect("a balancer").pool.drop_lb(lb);
        self.lose_requests(lb, Some(now));
    }

    /// Balancer `lb` is gone; the requests it carried are lost, their
    /// clients reset at `reset_at` if ever.
    fn lose_requests(&mut self, lb: u8, reset_at: Option<Time>) {
        self.front.as_deref_mut().expect("a balancer").lbs[lb as usize].up = false;
        let lost: Vec<Key> = self
            .reqs
            .iter()
            .filter(|(_, r)| {
                via(&self.vias, r).lb == lb
                    && !matches!(
                        r.front,
                        Front::Direct | Front::Syn | Front::Done | Front::Sent | Front::Replying
                    )
            })
            .map(|(slot, r)| Key {
                slot: slot as u32,
                id: r.id,
            })
            .collect();
        for key in lost {
            self.reqs[key.slot as usize].front = Front::Lost;
            if let Some(t) = reset_at {
                self.sched.at(t, Ev::Reset(key));
            }
        }
    }

    /// The balancer is back with a fresh HAProxy: every server starts UP
    /// and its checks start again.
    pub(super) fn balancer_up(&mut self, lb: u8) {
        let now = self.now;
        let front = self.front.as_deref_mut().expect("a balancer");
        let b = &mut front.lbs[lb as usize];
        let servers = b.backend.servers();
        b.backend = Backend::new(b.cfg.clone(), servers);
        b.up = true;
        b.boots += 1;
        b.conns = 0;
        b.accept.clear();
        self.servers_seen_by(lb);
        let front = self.front.as_deref_mut().expect("a balancer");
        let b = &mut front.lbs[lb as usize];
        // Start-up checks are spread over the first interval from now.
        b.backend.delay_checks(now);
        front.first_checks(lb);
        self.rearm_checks();
    }

    /// Balancer `lb` sees its servers as they are.
    fn servers_seen_by(&mut self, lb: u8) {
        let front = self.front.as_deref_mut().expect("a balancer");
        let b = &mut front.lbs[lb as usize];
        for s in 0..b.backend.servers() as u32 {
            let w = &self.webs[(b.first + s) as usize];
            let l = if !(w.up && w.reachable) {
                Liveness::Silent
            } else if w.refusing {
                Liveness::Refusing
            } else {
                Liveness::Alive
            };
            b.backend.set_liveness(s, l);
        }
    }

    /// A balancer's link goes down: HAProxy runs on, but its checks and
    /// connections fail at once ("Network is unreachable", measured: every
    /// server DOWN `fall` checks later), and its answers reach nobody. The
    /// clients of the requests it carries learn it from a reset once the
    /// address answers from the other balancer (keepalived gave it up:
    /// `nodes/vip.rs`); a service's callers wait for their timeout.
    pub(super) fn balancer_cut(&mut self, lb: u8) {
        let now = self.now;
        let front = self.front.as_deref_mut().expect("a balancer");
        let b = &mut front.lbs[lb as usize];
        b.linked = false;
        for s in 0..b.backend.servers() as u32 {
            b.backend.set_liveness(s, Liveness::Refusing);
        }
        let reset_at = (lb < 2).then(|| front.vip.next_other_holder(lb, now)).flatten();
        for key in self.carried_by(lb) {
            self.deafen(key);
            if let Some(t) = reset_at {
                self.sched.at(t, Ev::Reset(key));
            }
        }
    }

    /// A balancer's link is back: its checks reach the servers again (and
    /// take `rise` of them to mark each UP).
    pub(super) fn balancer_rejoined(&mut self, lb: u8) {
        self.front.as_deref_mut().expect("a balancer").lbs[lb as usize].linked = true;
        self.servers_seen_by(lb);
    }

    /// The client learns its connection is gone: a request lost with its
    /// balancer, or one whose balancer's answer cannot reach it.
    pub(super) fn reset(&mut self, key: Key) {
        let r = &mut self.reqs[key.slot as usize];
        if r.front == Front::Lost {
            r.front = Front::Done;
        } else if !via(&self.vias, r).deaf {
            return;
        }
        self.client_answer(key, self.outcomes.connection_reset);
        self.settle(key);
    }
}
