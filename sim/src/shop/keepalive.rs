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
//! An idle connection keeps its place under HAProxy's `maxconn` until
//! HAProxy closes it, idle for `timeout client` (50 s, as `lab` writes it;
//! the keep-alive timeout falls back to it). Its FIN reaches the client
//! only while that balancer holds the address: otherwise the client learns
//! of it by a reset when it next uses the connection. The client drops a
//! connection idle for 90 s itself (reqwest's `pool_idle_timeout`).
//!
//! Not modelled: a request waiting for its new connection does not take
//! one another request returns meanwhile (hyper does); the clients' TCP
//! keepalive probes (reqwest: every 15 s of idleness), which find a dead
//! connection before a request does when it sits idle that long.
//!
//! The pool keeps at most as many idle connections as the load generator
//! of a real run has users (`Traffic::real_users`: its client's
//! `pool_max_idle_per_host`): a
//! connection returned to a full pool is closed by the client, and its
//! place under HAProxy's `maxconn` freed at once. Without the cap, the
//! thousands of connections a failover gap opens at a high rate would hold
//! `maxconn` idle for HAProxy's whole timeout.

use lab_core::scenario::Haproxy;

use super::{Ev, Front, Key, Shop, via, via_mut};
use crate::engine::{Time, after};

/// How long a client's pool keeps an idle connection: reqwest 0.13's
/// `pool_idle_timeout` (90 s), the load generator's client.
pub(super) const CLIENT_IDLE_TIMEOUT: Time = 90_000_000_000;

/// How long HAProxy keeps a client's idle connection open.
const SERVER_IDLE_TIMEOUT: Time = Haproxy::TIMEOUT_CLIENT_NS;

/// An idle connection in the clients' pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Idle {
    /// The balancer that accepted it (its kernel holds the connection).
    pub(super) lb: u8,
    /// That balancer's life then: a crash and a boot start a new one, whose
    /// kernel knows none of the old connections.
    pub(super) epoch: u16,
    /// Idle since.
    pub(super) since: Time,
    /// HAProxy closed it and its FIN reached the client, which dropped it.
    told: bool,
}

impl Idle {
    pub(super) fn new(lb: u8, epoch: u16, since: Time) -> Idle {
        Idle {
            lb,
            epoch,
            since,
            told: false,
        }
    }
}

/// The clients' idle connections, the one returned last on top. They were
/// returned in time order, so HAProxy's idle timeout closes them from the
/// bottom: `idle[..closed]` are closed at their balancer.
#[derive(Debug)]
pub(super) struct ClientPool {
    idle: Vec<Idle>,
    /// At most this many idle connections.
    cap: usize,
    closed: usize,
    /// When the `Ev::PoolExpiry` pending fires, if one is.
    pending: Option<Time>,
}

/// An idle connection taken from the pool, and whether its balancer still
/// keeps it open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Taken {
    pub(super) conn: Idle,
    pub(super) open: bool,
}

impl ClientPool {
    pub(super) fn new(cap: usize) -> ClientPool {
        ClientPool {
            idle: Vec::new(),
            cap,
            closed: 0,
            pending: None,
        }
    }

    /// A connection the client can use again, kept unless the pool is
    /// full (hyper drops the one returned then); false when it was not.
    pub(super) fn put(&mut self, conn: Idle) -> bool {
        if self.idle.len() >= self.cap {
            return false;
        }
        self.idle.push(conn);
        true
    }

    /// The idle connection returned last, at `now`; those the client knows
    /// are closed (told, or idle past its own timeout) are dropped on the
    /// way.
    pub(super) fn take(&mut self, now: Time) -> Option<Taken> {
        while let Some(conn) = self.idle.pop() {
            let open = self.idle.len() >= self.closed;
            self.closed = self.closed.min(self.idle.len());
            if !conn.told && now < after(conn.since, CLIENT_IDLE_TIMEOUT) {
                return Some(Taken { conn, open });
            }
        }
        None
    }

    /// When HAProxy next closes an idle connection, if it holds one.
    pub(super) fn next_close(&self) -> Option<Time> {
        self.idle.get(self.closed).map(|c| after(c.since, SERVER_IDLE_TIMEOUT))
    }

    /// HAProxy closes the connections idle for its timeout at `now`, in the
    /// order they went idle; `close(conn)` says whether the client heard.
    pub(super) fn expire(&mut self, now: Time, mut close: impl FnMut(&Idle) -> bool) {
        while let Some(c) = self.idle.get_mut(self.closed) {
            if after(c.since, SERVER_IDLE_TIMEOUT) > now {
                break;
            }
            c.told = close(c);
            self.closed += 1;
        }
    }

    /// HAProxy on `lb` stops and closes its connections; the clients hear
    /// it and drop them.
    pub(super) fn drop_lb(&mut self, lb: u8) {
        let closed_kept = self.idle[..self.closed].iter().filter(|c| c.lb != lb).count();
        self.idle.retain(|c| c.lb != lb);
        self.closed = closed_kept;
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
        match front.pool.take(now) {
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
            // HAProxy reads it on the connection it kept open (and counted
            // under its `maxconn`).
            Some(h) if h == c.lb && alive => self.dispatch_lb(key, None),
            // A kernel that knows nothing of the connection answers the
            // request with a reset. The balancer that has it keeps it open
            // until its idle timeout.
            Some(_) => {
                r.front = Front::Done;
                if alive {
                    let at = after(c.since, Haproxy::TIMEOUT_CLIENT_NS);
                    self.sched.at(at, Ev::IdleClosed(c.lb, c.epoch));
                }
                self.client_answer(key, self.outcomes.connection_reset);
                self.settle(key);
            }
            // Nobody answers: the client's kernel sends the request again
            // until someone does (approximated: the moment someone does).
            // Its balancer reads it then if it has the address and still
            // keeps the connection; it closes the connection's idle place
            // at its timeout either way, whatever became of the client,
            // and counts it again if it reads the request.
            None => {
                r.front = Front::Lost;
                let closes = after(c.since, Haproxy::TIMEOUT_CLIENT_NS);
                if alive {
                    self.sched.at(closes, Ev::IdleClosed(c.lb, c.epoch));
                }
                let next = front.vip.changes().iter().find(|ch| ch.at > now && ch.holder.is_some());
                match next {
                    Some(ch) if ch.holder == Some(c.lb) && alive && ch.at < closes => {
                        self.sched.at(ch.at, Ev::Retransmit(key));
                    }
                    Some(ch) => self.sched.at(ch.at, Ev::Reset(key)),
                    None => {}
                }
            }
        }
    }

    /// The request sent while nobody answered the address reaches its
    /// balancer, which holds it again: HAProxy reads it on the connection
    /// it kept (counted again under `maxconn`: its idle place closes at
    /// the idle timeout). A balancer that crashed meanwhile resets it.
    pub(super) fn retransmit(&mut self, key: Key) {
        let r = &self.reqs[key.slot as usize];
        if r.front != Front::Lost || !r.client_waiting {
            return;
        }
        let now = self.now;
        let v = via(&self.vias, r);
        let front = self.front.as_deref_mut().expect("the address");
        let b = &mut front.lbs[v.lb as usize];
        if front.vip.holder(now) == Some(v.lb) && b.reachable() && b.epoch() == v.epoch {
            b.conns += 1;
            self.dispatch_lb(key, None);
        } else {
            self.reset(key);
        }
    }

    /// HAProxy passed the server's answer on: the connection stays open,
    /// idle, and the client keeps it for its next request.
    pub(super) fn keep_alive(&mut self, lb: u8) {
        let front = self.front.as_deref_mut().expect("the address");
        let epoch = front.lbs[lb as usize].epoch();
        if front.pool.put(Idle::new(lb, epoch, self.now)) {
            self.arm_pool();
        } else {
            // The client closes it: HAProxy's place is free at once.
            self.close_frontend(lb);
        }
    }

    /// Makes sure an `Ev::PoolExpiry` is pending for HAProxy's next idle
    /// close. One pending at or before it is enough: the next close only
    /// moves later as connections are taken, and a new idle connection
    /// closes after those before it.
    fn arm_pool(&mut self) {
        let front = self.front.as_deref_mut().expect("the address");
        if front.pool.pending.is_none() {
            if let Some(t) = front.pool.next_close() {
                front.pool.pending = Some(t);
                self.sched.at(t, Ev::PoolExpiry);
            }
        }
    }

    /// HAProxy closes the connections idle for its timeout: each frees its
    /// place under `maxconn`, and its FIN reaches the client (which drops
    /// it) only if its balancer holds the address.
    pub(super) fn pool_expiry(&mut self) {
        let now = self.now;
        let front = self.front.as_deref_mut().expect("the address");
        front.pool.pending = None;
        let holder = front.vip.holder(now);
        let lbs = &front.lbs;
        let mut freed = [0u32; 2];
        front.pool.expire(now, |c| {
            let b = &lbs[c.lb as usize];
            let same = b.up && b.epoch() == c.epoch;
            if same {
                freed[c.lb as usize] += 1;
            }
            same && b.linked && holder == Some(c.lb)
        });
        for (lb, n) in freed.into_iter().enumerate() {
            for _ in 0..n {
                self.close_frontend(lb as u8);
            }
        }
        self.arm_pool();
    }

    /// HAProxy closes, at its idle timeout, a connection whose client was
    /// reset on it by another kernel (`lb` in life `epoch`).
    pub(super) fn idle_closed(&mut self, lb: u8, epoch: u16) {
        let b = &self.front.as_deref().expect("the address").lbs[lb as usize];
        if b.up && b.epoch() == epoch {
            self.close_frontend(lb);
        }
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
        Idle::new(lb, 0, since)
    }

    #[test]
    fn a_full_pool_refuses_the_connection_returned() {
        let mut p = ClientPool::new(2);
        assert!(p.put(idle(0, S)));
        assert!(p.put(idle(1, 2 * S)));
        assert!(!p.put(idle(0, 3 * S)), "the client closes the third");
        assert_eq!(p.len(), 2);
        p.take(4 * S).unwrap();
        assert!(p.put(idle(0, 5 * S)), "room again once one is taken");
    }

    #[test]
    fn the_connection_returned_last_goes_first() {
        let mut p = ClientPool::new(usize::MAX);
        p.put(idle(0, S));
        p.put(idle(1, 2 * S));
        let t = p.take(3 * S).unwrap();
        assert_eq!(
            t,
            Taken {
                conn: idle(1, 2 * S),
                open: true
            }
        );
        assert_eq!(p.take(3 * S).unwrap().conn, idle(0, S));
        assert_eq!(p.take(3 * S), None);
    }

    /// HAProxy closes a connection idle for 50 s, oldest first; the client
    /// drops it if it heard, keeps it (and will be reset on it) if not;
    /// past 90 s idle it drops it whatever happened.
    #[test]
    fn idle_connections_close_after_haproxys_timeout_then_the_clients() {
        let mut p = ClientPool::new(usize::MAX);
        for t in [0, 1, 2] {
            p.put(idle(0, t * S));
        }
        assert_eq!(p.next_close(), Some(50 * S));
        let mut closed = Vec::new();
        p.expire(51 * S, |c| {
            closed.push(c.since);
            c.since == 0
        });
        assert_eq!(closed, [0, S], "the third is idle for 49 s only");
        assert_eq!(p.next_close(), Some(52 * S));
        // Open on top; then the one the client did not hear of; the one it
        // heard of is gone.
        assert_eq!(p.take(51 * S).map(|t| (t.conn.since, t.open)), Some((2 * S, true)));
        assert_eq!(p.take(51 * S).map(|t| (t.conn.since, t.open)), Some((S, false)));
        assert_eq!(p.take(51 * S), None);
        assert_eq!(p.next_close(), None);
        p.put(idle(0, 0));
        assert_eq!(p.take(90 * S), None);
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn a_stopped_balancers_connections_leave_the_pool() {
        let mut p = ClientPool::new(usize::MAX);
        for (lb, t) in [(0, 1), (1, 2), (0, 3), (1, 4)] {
            p.put(idle(lb, t * S));
        }
        p.expire(53 * S, |_| false);
        p.drop_lb(0);
        assert_eq!(p.next_close(), Some(54 * S));
        assert_eq!(p.take(4 * S).map(|t| (t.conn.since, t.open)), Some((4 * S, true)));
        assert_eq!(p.take(4 * S).map(|t| (t.conn.since, t.open)), Some((2 * S, false)));
        assert_eq!(p.len(), 0);
    }
}
