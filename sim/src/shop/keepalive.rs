//! The clients' kept-alive connections to keepalived's address, and what
//! becomes of them when the address moves.
//!
//! The clients keep their connections to the address alive and share one
//! pool of them, as the load generator does (one reqwest client: hyper's
//! pool) and as a crowd of browsers behind one proxy would. A request takes
//! the idle connection returned last (hyper's pool is a stack) and opens a
//! new one only when none is idle, so the pool holds as many connections as
//! were ever in use at once: after a failover gap, every request that waited
//! for the address had opened one.
//!
//! A connection lives in the kernel of the balancer that accepted it. When
//! the address moves to the other balancer, a request sent on a connection
//! opened through the first reaches a kernel that has no such connection,
//! which answers with a reset (`connection_reset`); the client drops that
//! connection and takes the next idle one, reset too, until the pool runs
//! out of them and a new connection reaches the new holder. Measured on the
//! real stack (`lab real scenarios/validate-silver.toml`, master cut off
//! 20–40 s): 320 connections through lb[1] after the failover gap; when lb[0]
//! took the address back at 43.7 s, every request was reset until ~48 s
//! (the client's connections fell from 318 to 6, lb[0] sent ~340 resets),
//! while a fresh connection (curl) every 0.3 s got 200 throughout.
//!
//! HAProxy closes a connection idle for `timeout client` (50 s, as `lab`
//! writes it; the keep-alive timeout falls back to it). Its FIN reaches the
//! client only while that balancer holds the address: otherwise the client
//! learns of it by a reset when it next uses the connection. The client
//! drops a connection idle for 90 s itself (reqwest's `pool_idle_timeout`).
//!
//! Not modelled: a request waiting for its new connection does not take
//! one another request returns meanwhile (hyper does); the clients' TCP
//! keepalive probes (reqwest: every 15 s of idleness), which find a dead
//! connection before a request does when it sits idle that long; the pool's
//! cap (`pool_max_idle_per_host`, the load generator's user count); HAProxy
//! counting idle connections against its `maxconn` (a client always reuses
//! an idle connection before it opens one, so they compete for a slot only
//! after the address moved).

use lab_core::scenario::Haproxy;

use super::{Ev, Front, Key, Shop, via, via_mut};
use crate::engine::{Time, after};

/// How long a client's pool keeps an idle connection: reqwest 0.13's
/// `pool_idle_timeout` (90 s), the load generator's client.
pub(super) const CLIENT_IDLE_TIMEOUT: Time = 90_000_000_000;

/// An idle connection in the clients' pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Idle {
    /// The balancer that accepted it (its kernel holds the connection).
    pub(super) lb: u8,
    /// That balancer's life then: a crash and a boot start a new one, whose
    /// kernel knows none of the old connections.
    pub(super) epoch: u32,
    /// Idle since.
    pub(super) since: Time,
}

/// The clients' idle connections, the one returned last on top.
#[derive(Debug, Default)]
pub(super) struct ClientPool {
    idle: Vec<Idle>,
}

/// An idle connection taken from the pool, and whether its balancer still
/// keeps it open (it has not closed it for idleness).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Taken {
    pub(super) conn: Idle,
    pub(super) open: bool,
}

impl ClientPool {
    /// A connection the client can use again.
    pub(super) fn put(&mut self, conn: Idle) {
        self.idle.push(conn);
    }

    /// The idle connection returned last, at `now`. Connections the client
    /// knows are closed are dropped on the way: idle past its own timeout,
    /// or closed by HAProxy when `told(conn, at)` (its FIN reached the
    /// client: the balancer held the address at `at`, in the same life).
    pub(super) fn take(&mut self, now: Time, mut told: impl FnMut(&Idle, Time) -> bool) -> Option<Taken> {
        while let Some(conn) = self.idle.pop() {
            if now >= after(conn.since, CLIENT_IDLE_TIMEOUT) {
                continue;
            }
            let closed = after(conn.since, Haproxy::TIMEOUT_CLIENT_NS);
            if now < closed {
                return Some(Taken { conn, open: true });
            }
            if !told(&conn, closed) {
                return Some(Taken { conn, open: false });
            }
        }
        None
    }

    /// HAProxy on `lb` stops and closes its connections, the clients hear
    /// it: they drop them.
    pub(super) fn drop_lb(&mut self, lb: u8) {
        self.idle.retain(|c| c.lb != lb);
    }

    /// How many idle connections the pool holds, live or not.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.idle.len()
    }
}

impl Shop {
    /// A client's new request to the address: on the idle connection
    /// returned last, if the pool has one, else on a new connection.
    pub(super) fn client_sends(&mut self, key: Key) {
        let now = self.now;
        let front = self.front.as_deref_mut().expect("the address");
        let (vip, lbs) = (&front.vip, &front.lbs);
        let taken = front.pool.take(now, |c, at| {
            vip.holder_at(at) == Some(c.lb) && lbs[c.lb as usize].epoch_at(at) == c.epoch
        });
        match taken {
            Some(t) => self.send_on(key, t),
            None => self.connect_entry(key),
        }
    }

    /// The request goes out on a kept-alive connection.
    fn send_on(&mut self, key: Key, t: Taken) {
        let now = self.now;
        let front = self.front.as_deref_mut().expect("the address");
        let c = t.conn;
        let holder = front.vip.holder(now).filter(|&h| front.lbs[h as usize].reachable());
        let alive = t.open && front.lbs[c.lb as usize].epoch() == c.epoch;
        let r = &mut self.reqs[key.slot as usize];
        let v = via_mut(&mut self.vias, r);
        v.lb = c.lb;
        v.epoch = c.epoch;
        match holder {
            Some(h) if h == c.lb && alive => self.reuse(key),
            // A kernel that knows nothing of the connection answers the
            // request with a reset.
            Some(_) => {
                r.front = Front::Done;
                self.client_answer(key, self.outcomes.connection_reset);
                self.settle(key);
            }
            // Nobody answers: the client's kernel sends the request again
            // until someone does (approximated: the moment someone does).
            None => {
                r.front = Front::Lost;
                let next = front.vip.changes().iter().find(|ch| ch.at > now && ch.holder.is_some());
                if let Some(ch) = next {
                    self.sched.at(ch.at, Ev::Retransmit(key));
                }
            }
        }
    }

    /// HAProxy reads the request on the connection it kept open.
    fn reuse(&mut self, key: Key) {
        let front = self.front.as_deref_mut().expect("the address");
        let lb = via(&self.vias, &self.reqs[key.slot as usize]).lb;
        // It held its place under `maxconn` while idle (not counted here).
        front.lbs[lb as usize].conns += 1;
        self.dispatch_lb(key, None);
    }

    /// The request sent while nobody answered the address reaches whoever
    /// holds it now: the balancer that kept its connection reads it, any
    /// other kernel resets it.
    pub(super) fn retransmit(&mut self, key: Key) {
        let r = &self.reqs[key.slot as usize];
        if r.front != Front::Lost || !r.client_waiting {
            return;
        }
        let now = self.now;
        let v = via(&self.vias, r);
        let front = self.front.as_deref_mut().expect("the address");
        let b = &front.lbs[v.lb as usize];
        if front.vip.holder(now) == Some(v.lb) && b.reachable() && b.epoch() == v.epoch {
            self.reuse(key);
        } else {
            self.reset(key);
        }
    }

    /// HAProxy passed the server's answer on: the client keeps the
    /// connection for its next request.
    pub(super) fn keep_alive(&mut self, lb: u8) {
        let front = self.front.as_deref_mut().expect("the address");
        if lb >= 2 {
            return; // a service's balancer: calls are not the clients'
        }
        let epoch = front.lbs[lb as usize].epoch();
        front.pool.put(Idle {
            lb,
            epoch,
            since: self.now,
        });
    }

    /// Schedules every move of the address after time zero.
    pub(super) fn schedule_vip_moves(&mut self) {
        let Some(front) = self.front.as_deref() else { return };
        let moves: Vec<(Time, u32)> = front
            .vip
            .changes()
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, c)| (c.at, i as u32))
            .collect();
        for (at, i) in moves {
            self.sched.at(at, Ev::VipMoved(i));
        }
    }

    /// The address moves. A balancer that loses it while it runs and is
    /// reachable can no longer answer its clients (its replies have no
    /// source address, their packets reach the new holder): the requests
    /// it carries are reset. Approximated at the move; for real, at the
    /// client's next packet.
    pub(super) fn vip_moved(&mut self, i: u32) {
        let front = self.front.as_deref().expect("the address");
        let changes = front.vip.changes();
        let (old, new) = (changes[i as usize - 1].holder, changes[i as usize].holder);
        let Some(old) = old.filter(|&o| Some(o) != new && front.lbs[o as usize].reachable()) else {
            return;
        };
        for key in self.carried_by(old) {
            self.deafen(key);
            if self.reqs[key.slot as usize].client_waiting {
                self.client_answer(key, self.outcomes.connection_reset);
            }
        }
    }

    /// The clients' requests balancer `lb` holds: accepted, queued, at a
    /// server or on their way back.
    pub(super) fn carried_by(&self, lb: u8) -> Vec<Key> {
        self.reqs
            .iter()
            .filter(|(_, r)| {
                via(&self.vias, r).lb == lb
                    && matches!(
                        r.front,
                        Front::Accept | Front::Queued | Front::Connecting | Front::AtServer | Front::Returning
                    )
            })
            .map(|(slot, r)| Key {
                slot: slot as u32,
                id: r.id,
            })
            .collect()
    }

    /// HAProxy's answer to the request will not reach its client.
    pub(super) fn deafen(&mut self, key: Key) {
        let r = &mut self.reqs[key.slot as usize];
        via_mut(&mut self.vias, r).deaf = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Time = 1_000_000_000;

    fn idle(lb: u8, since: Time) -> Idle {
        Idle { lb, epoch: 0, since }
    }

    #[test]
    fn the_connection_returned_last_goes_first() {
        let mut p = ClientPool::default();
        p.put(idle(0, S));
        p.put(idle(1, 2 * S));
        let t = p.take(3 * S, |_, _| true).unwrap();
        assert_eq!(t, Taken { conn: idle(1, 2 * S), open: true });
        assert_eq!(p.take(3 * S, |_, _| true).unwrap().conn, idle(0, S));
        assert_eq!(p.take(3 * S, |_, _| true), None);
    }

    /// HAProxy closes a connection idle for 50 s; the client drops it if it
    /// heard, keeps it (and will be reset on it) if not; past 90 s it drops
    /// it whatever happened.
    #[test]
    fn idle_connections_close_after_haproxys_timeout_and_the_clients() {
        let mut p = ClientPool::default();
        p.put(idle(0, 0));
        let mut asked = Vec::new();
        assert_eq!(
            p.take(50 * S, |c, at| {
                asked.push((c.lb, at));
                true
            }),
            None
        );
        assert_eq!(asked, [(0, 50 * S)]);
        p.put(idle(0, 0));
        assert_eq!(p.take(50 * S - 1, |_, _| true).map(|t| t.open), Some(true));
        p.put(idle(0, 0));
        assert_eq!(p.take(60 * S, |_, _| false).map(|t| t.open), Some(false));
        p.put(idle(0, 0));
        assert_eq!(p.take(90 * S, |_, _| false), None);
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn a_stopped_balancers_connections_leave_the_pool() {
        let mut p = ClientPool::default();
        for (lb, t) in [(0, 1), (1, 2), (0, 3)] {
            p.put(idle(lb, t * S));
        }
        p.drop_lb(0);
        assert_eq!(p.take(4 * S, |_, _| true).unwrap().conn, idle(1, 2 * S));
        assert_eq!(p.len(), 0);
    }
}
