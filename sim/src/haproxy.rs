//! HAProxy's backend: picking a server, the queues, health checks and
//! connection retries, following HAProxy 2.6 (doc/configuration.txt and the
//! sources it describes: backend.c, queue.c, check.c, lb_*.c).
//!
//! A pure state machine: the caller owns time, timers and requests. It
//! [`Backend::dispatch`]es a request and gets a server, a place in a queue
//! or a 503; it [`Backend::release`]s a server's connection slot when the
//! exchange ends, which may hand the slot to the oldest waiting request; it
//! [`Backend::abandon`]s a request whose `timeout queue` struck (503). It
//! runs each server's checks at [`Backend::next_check`], and tells the
//! machine what the server really is ([`Backend::set_liveness`]): the checks
//! find out, [`Backend::is_up`] is what the balancer believes.
//!
//! - Only servers marked UP (and of non-zero weight) are picked; with none
//!   UP the request gets 503 at once (`assign_server`: no `tot_weight`).
//! - roundrobin, static-rr, random, leastconn and first never pick a *full*
//!   server (at `maxconn`, or with requests queued for it); when every
//!   server is full the request waits in the backend's queue. leastconn and
//!   first accept a server until `conns + queued < maxconn + maxqueue`, so
//!   with `maxqueue` > 0 requests also queue on the server itself
//!   (configuration.txt, `maxqueue`). source is a hash: it picks its server
//!   whatever its load, queues on it when it is full, and answers 503 when
//!   that server's `maxqueue` is reached (`srv_redispatch_connect`).
//! - With requests in the backend's queue, roundrobin, static-rr and first
//!   queue a new request behind them without looking for a server
//!   (`assign_server`), which keeps the queue FIFO.
//! - A released slot goes to the oldest request waiting in the server's own
//!   queue or the backend's (the latter only if the server is UP)
//!   (`pendconn_process_next_strm`). A server marked UP takes from the
//!   backend's queue up to its `maxconn` (`pendconn_grab_from_px`); one
//!   marked DOWN gives its own queue back to the balancer when `option
//!   redispatch` is set (`pendconn_redistribute`) and keeps it otherwise,
//!   until the requests time out. Its connections in flight are the
//!   caller's to fail.
//!
//! Costs: a pick is O(log n) for roundrobin/static-rr (a pass-ordered set),
//! leastconn (a load-ordered set) and first (the set of servers with room),
//! O(draws × log n) for random (a hash ring), O(1) for source map-based and
//! O(log n) consistent; skipping full servers adds O(log n) each. Queues are
//! `VecDeque`s of tickets into a slab, abandoned tickets dropped lazily:
//! no allocation per request once the queues have grown.

mod check;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, VecDeque};

use lab_core::scenario::{Balance, Haproxy, HashType};
use rand::Rng;
use slab::Slab;

use crate::engine::Time;
use check::Check;

pub use check::Transition;

pub type ServerId = u32;

/// BE_WEIGHT_SCALE × SRV_UWGHT_MAX: leastconn's scale (SRV_EWGHT_MAX).
const EWGHT_MAX: u64 = 16 * 256;
/// Points per unit of weight on the consistent-hash ring (BE_WEIGHT_SCALE).
const RING_POINTS: u32 = 16;
/// roundrobin's pass unit: a pick advances a server by this over its weight.
const RR_SCALE: u128 = 1 << 64;
/// HAProxy waits min(`timeout connect`, 1 s) before retrying after an error.
const RETRY_PAUSE: Time = 1_000_000_000;

/// A server's settings (`server … weight maxconn maxqueue`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerSpec {
    /// 0..=256; 0 takes no new request from the balancer.
    pub weight: u32,
    /// 0 = no limit.
    pub maxconn: u32,
    /// 0 = no limit.
    pub maxqueue: u32,
}

/// What is really at the server's address, as the simulator knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    /// The process died, the host is up: connections are refused at once (RST).
    Refusing,
    /// The host is gone: nothing answers, connections time out.
    Silent,
}

/// A request's place in a queue, to [`Backend::abandon`] it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Waiter {
    slot: u32,
    id: u32,
}

/// Where a new request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// It holds a connection slot on this server: connect.
    Server(ServerId),
    /// It waits; the caller arms `timeout queue`.
    Queued(Waiter),
    /// No server is UP: 503 at once.
    NoServer,
    /// The hashed server's `maxqueue` is reached: 503 at once.
    QueueFull,
}

/// A waiting request that got a connection slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handoff<K> {
    pub key: K,
    pub waiter: Waiter,
    pub server: ServerId,
}

/// A request taken out of a DOWN server's queue: the caller dispatches it
/// again (HAProxy restarts its `timeout queue` if it queues again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requeue<K> {
    pub key: K,
    pub waiter: Waiter,
    pub client: u64,
}

/// What a state change did to the queues; the caller's buffers, reused.
#[derive(Debug)]
pub struct Effects<K> {
    pub handoffs: Vec<Handoff<K>>,
    pub requeue: Vec<Requeue<K>>,
}

impl<K> Default for Effects<K> {
    fn default() -> Self {
        Effects {
            handoffs: Vec::new(),
            requeue: Vec::new(),
        }
    }
}

impl<K> Effects<K> {
    pub fn clear(&mut self) {
        self.handoffs.clear();
        self.requeue.clear();
    }
}

/// How a connection attempt to a server goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connect {
    Established,
    /// Refused at once (RST).
    Refused,
    /// No answer: fails after `timeout connect`.
    TimesOut {
        after: Time,
    },
}

/// What HAProxy does after a failed connection attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// No retries left: 503. The caller releases the slot.
    GiveUp,
    /// Connect again to the same server after `after`, keeping the slot.
    SameServer { after: Time },
    /// Release the slot, then dispatch again after `after`, avoiding the
    /// failed server.
    Redispatch { after: Time },
}

#[derive(Clone, Copy, Debug)]
struct Ticket {
    slot: u32,
    seq: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Backend,
    Server(ServerId),
}

struct Slot<K> {
    key: K,
    client: u64,
    id: u32,
    seq: u64,
    place: Place,
}

#[derive(Default)]
struct Queue {
    tickets: VecDeque<Ticket>,
    /// Tickets not abandoned.
    live: u32,
}

struct Server {
    spec: ServerSpec,
    conns: u32,
    queue: Queue,
    up: bool,
    liveness: Liveness,
    check: Option<Check>,
    /// Its entry in the leastconn set, while listed.
    lc_key: Option<(u64, u64)>,
    /// Its entry in the roundrobin set.
    rr_pass: u128,
}

impl Server {
    /// Room for the non-hash algorithms that never queue on a server.
    fn full(&self) -> bool {
        self.spec.maxconn > 0 && (self.queue.live > 0 || self.conns >= self.spec.maxconn)
    }

    /// Room for leastconn and first, which may queue up to `maxqueue`.
    fn accepts(&self) -> bool {
        self.spec.maxconn == 0 || self.conns + self.queue.live < self.spec.maxconn + self.spec.maxqueue
    }

    fn pickable(&self) -> bool {
        self.up && self.spec.weight > 0
    }
}

/// The balancer's index of the UP servers.
enum Lb {
    /// roundrobin and static-rr: the server with the smallest pass is next
    /// (stride scheduling, which interleaves by weight).
    Rr {
        order: BTreeSet<(u128, ServerId)>,
        clock: u128,
    },
    /// leastconn: by `(load key, when listed)`, so equal loads take turns.
    LeastConn {
        order: BTreeSet<(u64, u64, ServerId)>,
        stamp: u64,
    },
    /// first: the servers that accept a request, by id.
    First { open: BTreeSet<ServerId> },
    /// random and source consistent: points on a hash ring.
    Ring { points: BTreeSet<(u32, ServerId)> },
    /// source map-based: a table of `tot_weight` entries.
    Map { map: Vec<ServerId> },
}

pub struct Backend<K> {
    pub cfg: Haproxy,
    servers: Vec<Server>,
    lb: Lb,
    slots: Slab<Slot<K>>,
    backend: Queue,
    seq: u64,
    next_id: u32,
    up: u32,
    /// UP servers of non-zero weight (HAProxy's `srv_act`).
    pickable: u32,
}

impl<K: Copy> Backend<K> {
    /// `n` servers with the backend's `server_maxconn`, `maxqueue` and weight 1.
    pub fn new(cfg: Haproxy, n: usize) -> Backend<K> {
        let spec = ServerSpec {
            weight: 1,
            maxconn: cfg.server_maxconn,
            maxqueue: cfg.maxqueue,
        };
        Self::with_servers(cfg, &vec![spec; n])
    }

    /// Servers with their own settings; all start UP and alive.
    pub fn with_servers(cfg: Haproxy, specs: &[ServerSpec]) -> Backend<K> {
        assert!(specs.len() < ServerId::MAX as usize, "fewer than 2^32 - 1 servers");
        let mut checks = cfg.check.map(|hc| Check::start_up(&hc, specs.len()).into_iter());
        let servers = specs
            .iter()
            .map(|&spec| Server {
                spec: ServerSpec {
                    weight: spec.weight.min(256),
                    ..spec
                },
                conns: 0,
                queue: Queue::default(),
                up: true,
                liveness: Liveness::Alive,
                check: checks.as_mut().and_then(|c| c.next()),
                lc_key: None,
                rr_pass: 0,
            })
            .collect();
        let lb = match cfg.balance {
            Balance::RoundRobin | Balance::StaticRr => Lb::Rr {
                order: BTreeSet::new(),
                clock: 0,
            },
            Balance::LeastConn => Lb::LeastConn {
                order: BTreeSet::new(),
                stamp: 0,
            },
            Balance::First => Lb::First { open: BTreeSet::new() },
            Balance::Random { .. } => Lb::Ring {
                points: BTreeSet::new(),
            },
            Balance::Source => match cfg.hash_type {
                HashType::Consistent => Lb::Ring {
                    points: BTreeSet::new(),
                },
                HashType::MapBased => Lb::Map { map: Vec::new() },
            },
        };
        let mut b = Backend {
            cfg,
            servers,
            lb,
            slots: Slab::new(),
            backend: Queue::default(),
            seq: 0,
            next_id: 0,
            up: specs.len() as u32,
            pickable: specs.iter().filter(|s| s.weight > 0).count() as u32,
        };
        for s in 0..specs.len() as ServerId {
            b.list(s);
        }
        b.rebuild_map();
        b
    }

    // ---- the balancer's index ----

    /// Puts an UP server in the balancer's index.
    fn list(&mut self, s: ServerId) {
        let srv = &mut self.servers[s as usize];
        if !srv.pickable() {
            return;
        }
        let w = srv.spec.weight;
        match &mut self.lb {
            Lb::Rr { order, clock } => {
                // Joins the rotation half a turn ahead, as at start-up.
                srv.rr_pass = *clock + RR_SCALE / u128::from(w) / 2;
                order.insert((srv.rr_pass, s));
            }
            Lb::LeastConn { order, stamp } => {
                // fwlc_queue_srv: (inflight + 1) × SRV_EWGHT_MAX / eweight, 0 when idle.
                let inflight = u64::from(srv.conns + srv.queue.live);
                let key = if inflight == 0 {
                    0
                } else {
                    (inflight + 1) * EWGHT_MAX / (16 * u64::from(w))
                };
                *stamp += 1;
                srv.lc_key = Some((key, *stamp));
                order.insert((key, *stamp, s));
            }
            Lb::First { open } => {
                if srv.accepts() {
                    open.insert(s);
                }
            }
            Lb::Ring { points } => {
                for node in 0..w * RING_POINTS {
                    points.insert((ring_point(s, node), s));
                }
            }
            Lb::Map { .. } => {}
        }
    }

    /// Takes a server out of the balancer's index (DOWN, or about to move).
    fn unlist(&mut self, s: ServerId) {
        let srv = &mut self.servers[s as usize];
        match &mut self.lb {
            Lb::Rr { order, .. } => {
                order.remove(&(srv.rr_pass, s));
            }
            Lb::LeastConn { order, .. } => {
                if let Some((key, stamp)) = srv.lc_key.take() {
                    order.remove(&(key, stamp, s));
                }
            }
            Lb::First { open } => {
                open.remove(&s);
            }
            Lb::Ring { points } => {
                for node in 0..srv.spec.weight * RING_POINTS {
                    points.remove(&(ring_point(s, node), s));
                }
            }
            Lb::Map { .. } => {}
        }
    }

    /// A server's load changed: leastconn and first re-place it.
    fn reposition(&mut self, s: ServerId) {
        if matches!(self.lb, Lb::LeastConn { .. } | Lb::First { .. }) {
            self.unlist(s);
            self.list(s);
        }
    }

    /// `recalc_server_map()`: each entry goes to the server with the highest
    /// score, scores growing by weight; O(tot_weight × n), at state changes.
    fn rebuild_map(&mut self) {
        let Lb::Map { map } = &mut self.lb else { return };
        map.clear();
        let live: Vec<(ServerId, i64)> = (0..self.servers.len() as ServerId)
            .filter(|&s| self.servers[s as usize].pickable())
            .map(|s| (s, i64::from(self.servers[s as usize].spec.weight)))
            .collect();
        let gcd = live.iter().fold(0, |g, &(_, w)| gcd(g, w)).max(1);
        let tot: i64 = live.iter().map(|&(_, w)| w / gcd).sum();
        let mut score = vec![0i64; live.len()];
        for _ in 0..tot {
            let mut best = 0;
            let mut max = i64::MIN;
            for (i, &(_, w)) in live.iter().enumerate() {
                score[i] += w / gcd;
                let v = (score[i] + tot) / tot;
                if v > max {
                    max = v;
                    best = i;
                }
            }
            map.push(live[best].0);
            score[best] -= tot;
        }
    }

    fn pick<R: Rng + ?Sized>(&mut self, client: u64, avoid: Option<ServerId>, rng: &mut R) -> Option<ServerId> {
        let servers = &self.servers;
        let avoided = |s: ServerId| Some(s) == avoid;
        match &mut self.lb {
            Lb::Rr { order, clock } => {
                // fwrr_get_next_server: skip full servers, use the avoided one
                // only if nothing else is left.
                let mut fallback = None;
                let mut chosen = None;
                for &(pass, s) in order.iter() {
                    if servers[s as usize].full() {
                        continue;
                    }
                    if avoided(s) {
                        fallback.get_or_insert((pass, s));
                        continue;
                    }
                    chosen = Some((pass, s));
                    break;
                }
                let (pass, s) = chosen.or(fallback)?;
                order.remove(&(pass, s));
                *clock = pass;
                let next = pass + RR_SCALE / u128::from(servers[s as usize].spec.weight);
                order.insert((next, s));
                self.servers[s as usize].rr_pass = next;
                Some(s)
            }
            Lb::LeastConn { order, .. } => first_accepting(order.iter().map(|e| e.2), servers, avoid),
            Lb::First { open } => first_accepting(open.iter().copied(), servers, avoid),
            Lb::Ring { points } => match self.cfg.balance {
                Balance::Random { draws } => {
                    // get_server_rnd: keep the least loaded relative to weight,
                    // then give up on it if it is full (backend queue).
                    let mut best: Option<ServerId> = None;
                    for _ in 0..draws.max(1) {
                        let cur = ring_lookup(points, rng.random::<u32>(), avoid)?;
                        best = Some(match best {
                            Some(prev) if prev != cur => {
                                let (p, c) = (&servers[prev as usize], &servers[cur as usize]);
                                if u64::from(c.conns) * u64::from(p.spec.weight)
                                    > u64::from(p.conns) * u64::from(c.spec.weight)
                                {
                                    prev
                                } else {
                                    cur
                                }
                            }
                            _ => cur,
                        });
                    }
                    best.filter(|&s| !servers[s as usize].full())
                }
                _ => ring_lookup(points, client_hash(client), None),
            },
            Lb::Map { map } => {
                if map.is_empty() {
                    None
                } else {
                    Some(map[client_hash(client) as usize % map.len()])
                }
            }
        }
    }

    // ---- requests ----

    /// Assigns a new (or redispatched) request: `client` identifies the
    /// client for `balance source`, `avoid` is the server a retry gives up on.
    pub fn dispatch<R: Rng + ?Sized>(&mut self, key: K, client: u64, avoid: Option<ServerId>, rng: &mut R) -> Dispatch {
        if self.pickable == 0 {
            return Dispatch::NoServer;
        }
        let fifo = matches!(
            self.cfg.balance,
            Balance::RoundRobin | Balance::StaticRr | Balance::First
        );
        if fifo && self.backend.live > 0 {
            return Dispatch::Queued(self.enqueue(Place::Backend, key, client));
        }
        let Some(s) = self.pick(client, avoid, rng) else {
            return Dispatch::Queued(self.enqueue(Place::Backend, key, client));
        };
        // assign_server_and_queue: a full server queues it, up to maxqueue.
        let srv = &self.servers[s as usize];
        if srv.spec.maxconn > 0 && (srv.queue.live > 0 || srv.conns >= srv.spec.maxconn) {
            if srv.spec.maxqueue > 0 && srv.queue.live >= srv.spec.maxqueue {
                return Dispatch::QueueFull;
            }
            return Dispatch::Queued(self.enqueue(Place::Server(s), key, client));
        }
        self.take_slot(s);
        Dispatch::Server(s)
    }

    fn take_slot(&mut self, s: ServerId) {
        self.servers[s as usize].conns += 1;
        self.reposition(s);
    }

    fn enqueue(&mut self, place: Place, key: K, client: u64) -> Waiter {
        self.seq += 1;
        self.next_id = self.next_id.wrapping_add(1);
        let (seq, id) = (self.seq, self.next_id);
        let slot = self.slots.insert(Slot {
            key,
            client,
            id,
            seq,
            place,
        }) as u32;
        let q = match place {
            Place::Backend => &mut self.backend,
            Place::Server(s) => &mut self.servers[s as usize].queue,
        };
        q.tickets.push_back(Ticket { slot, seq });
        q.live += 1;
        if let Place::Server(s) = place {
            self.reposition(s);
        }
        Waiter { slot, id }
    }

    /// The oldest live ticket of a queue, dropping abandoned ones.
    fn head(slots: &Slab<Slot<K>>, q: &mut Queue) -> Option<Ticket> {
        while let Some(&t) = q.tickets.front() {
            if slots.get(t.slot as usize).is_some_and(|s| s.seq == t.seq) {
                return Some(t);
            }
            q.tickets.pop_front();
        }
        None
    }

    /// Takes a ticket out of its queue (it is its queue's head).
    fn unqueue(&mut self, t: Ticket) -> Slot<K> {
        let slot = self.slots.remove(t.slot as usize);
        let q = match slot.place {
            Place::Backend => &mut self.backend,
            Place::Server(s) => &mut self.servers[s as usize].queue,
        };
        q.tickets.pop_front();
        q.live -= 1;
        slot
    }

    /// A request left the queue because `timeout queue` struck (503) or the
    /// client went away. `None` if it had already left it.
    pub fn abandon(&mut self, w: Waiter) -> Option<K> {
        if self.slots.get(w.slot as usize)?.id != w.id {
            return None;
        }
        let slot = self.slots.remove(w.slot as usize);
        let q = match slot.place {
            Place::Backend => &mut self.backend,
            Place::Server(s) => &mut self.servers[s as usize].queue,
        };
        q.live -= 1;
        if q.live == 0 {
            // Nothing live behind the dead tickets: free them now.
            q.tickets.clear();
        }
        if let Place::Server(s) = slot.place {
            self.reposition(s);
        }
        Some(slot.key)
    }

    /// The server's next waiting request, oldest first between its own queue
    /// and (if it is UP) the backend's, if it has a free slot.
    fn next_waiting(&mut self, s: ServerId) -> Option<Handoff<K>> {
        let srv = &mut self.servers[s as usize];
        if srv.spec.maxconn > 0 && srv.conns >= srv.spec.maxconn {
            return None;
        }
        let own = Self::head(&self.slots, &mut srv.queue);
        let shared = if srv.up {
            Self::head(&self.slots, &mut self.backend)
        } else {
            None
        };
        let t = match (own, shared) {
            (Some(a), Some(b)) => {
                if a.seq <= b.seq {
                    a
                } else {
                    b
                }
            }
            (a, b) => a.or(b)?,
        };
        let waiter = Waiter {
            slot: t.slot,
            id: self.slots[t.slot as usize].id,
        };
        let slot = self.unqueue(t);
        self.take_slot(s);
        Some(Handoff {
            key: slot.key,
            waiter,
            server: s,
        })
    }

    /// A connection to `s` ended (or its attempt was given up): its slot
    /// goes to the oldest request waiting for it, if any.
    pub fn release(&mut self, s: ServerId) -> Option<Handoff<K>> {
        let srv = &mut self.servers[s as usize];
        debug_assert!(srv.conns > 0, "release without a connection");
        srv.conns -= 1;
        self.reposition(s);
        self.next_waiting(s)
    }

    // ---- connections and retries ----

    pub fn set_liveness(&mut self, s: ServerId, l: Liveness) {
        self.servers[s as usize].liveness = l;
    }

    /// How a connection attempt to `s` goes, from what is really there.
    pub fn connect(&self, s: ServerId) -> Connect {
        match self.servers[s as usize].liveness {
            Liveness::Alive => Connect::Established,
            Liveness::Refusing => Connect::Refused,
            Liveness::Silent => Connect::TimesOut {
                after: self.cfg.timeout_connect,
            },
        }
    }

    /// After the `failures`-th failed attempt on `s` (1 for the first),
    /// refused (RST) or timed out: `back_handle_st_cer` and
    /// `stream_choose_redispatch` of HAProxy 2.4–2.6.
    ///
    /// - `retries` failures are retried; the next one gives up (503).
    /// - `option redispatch` (as `redispatch -1`) moves the retry to another
    ///   server when the server is no longer UP, on the last retry, and on
    ///   every retry when the algorithm is roundrobin, static-rr or random
    ///   with more than one server UP ("we don't care about this particular
    ///   server").
    /// - After a refusal HAProxy waits min(`timeout connect`, 1 s), unless
    ///   it redispatches with one of those algorithms and more than one
    ///   server UP; after a timeout it retries at once.
    pub fn retry(&self, s: ServerId, failures: u32, refused: bool) -> Retry {
        if failures > self.cfg.retries {
            return Retry::GiveUp;
        }
        let rr_kind = matches!(
            self.cfg.balance,
            Balance::RoundRobin | Balance::StaticRr | Balance::Random { .. }
        );
        let redispatch = self.cfg.redispatch
            && (!self.servers[s as usize].up || failures % self.cfg.retries == 0 || (self.pickable > 1 && rr_kind));
        let wait = refused && (!redispatch || !rr_kind || self.pickable <= 1);
        let after = if wait {
            self.cfg.timeout_connect.min(RETRY_PAUSE)
        } else {
            0
        };
        if redispatch {
            Retry::Redispatch { after }
        } else {
            Retry::SameServer { after }
        }
    }

    // ---- health checks ----

    /// Moves every check's due time `by` later: a balancer that starts
    /// mid-run spreads its first checks from then, not from time zero.
    pub fn delay_checks(&mut self, by: Time) {
        for srv in &mut self.servers {
            if let Some(c) = srv.check.as_mut() {
                c.due = c.due.saturating_add(by);
            }
        }
    }

    /// When the server's next check starts; `None` without checks or while
    /// one is under way (then [`Backend::check_ends`] says when it ends).
    pub fn next_check(&self, s: ServerId) -> Option<Time> {
        let c = self.servers[s as usize].check.as_ref()?;
        (!c.in_progress()).then_some(c.due)
    }

    /// Starts the check due at `now`; returns when its result is in: at once
    /// when the server answers or refuses, after the check's timeout when
    /// nothing answers. Then call [`Backend::end_check`] at that time.
    pub fn start_check(&mut self, s: ServerId, now: Time) -> Time {
        let hc = self.cfg.check.expect("health checks configured");
        let timeout = match self.cfg.timeout_check {
            None => hc.inter,
            Some(_) => hc.inter.min(self.cfg.timeout_connect),
        };
        let srv = &mut self.servers[s as usize];
        let answer = match srv.liveness {
            Liveness::Alive => Some(true),
            Liveness::Refusing => Some(false),
            Liveness::Silent => None,
        };
        srv.check
            .as_mut()
            .expect("health checks configured")
            .start(now, answer, timeout)
    }

    /// When the check under way ends, if one is.
    pub fn check_ends(&self, s: ServerId) -> Option<Time> {
        let c = self.servers[s as usize].check.as_ref()?;
        c.in_progress().then_some(c.due)
    }

    /// The check under way ends at `now`; a server marked DOWN leaves the
    /// balancer (its queue goes to `fx.requeue` with `option redispatch`),
    /// one marked UP joins it and takes waiting requests (`fx.handoffs`).
    pub fn end_check(&mut self, s: ServerId, now: Time, fx: &mut Effects<K>) -> Option<Transition> {
        let hc = self.cfg.check.expect("health checks configured");
        let srv = &mut self.servers[s as usize];
        let change = srv
            .check
            .as_mut()
            .expect("health checks configured")
            .finish(&hc, srv.up, now)?;
        match change {
            Transition::MarkedDown => self.mark_down(s, fx),
            Transition::MarkedUp => self.mark_up(s, fx),
        }
        Some(change)
    }

    fn mark_down(&mut self, s: ServerId, fx: &mut Effects<K>) {
        self.unlist(s);
        self.servers[s as usize].up = false;
        self.up -= 1;
        self.pickable -= u32::from(self.servers[s as usize].spec.weight > 0);
        self.rebuild_map();
        if !self.cfg.redispatch {
            return;
        }
        while let Some(t) = Self::head(&self.slots, &mut self.servers[s as usize].queue) {
            let waiter = Waiter {
                slot: t.slot,
                id: self.slots[t.slot as usize].id,
            };
            let slot = self.unqueue(t);
            fx.requeue.push(Requeue {
                key: slot.key,
                waiter,
                client: slot.client,
            });
        }
        self.servers[s as usize].queue.tickets.clear();
    }

    fn mark_up(&mut self, s: ServerId, fx: &mut Effects<K>) {
        self.servers[s as usize].up = true;
        self.up += 1;
        self.pickable += u32::from(self.servers[s as usize].spec.weight > 0);
        self.list(s);
        self.rebuild_map();
        // pendconn_grab_from_px: only the backend's queue.
        loop {
            let srv = &self.servers[s as usize];
            if srv.spec.maxconn > 0 && srv.conns >= srv.spec.maxconn {
                break;
            }
            let Some(t) = Self::head(&self.slots, &mut self.backend) else {
                break;
            };
            let waiter = Waiter {
                slot: t.slot,
                id: self.slots[t.slot as usize].id,
            };
            let slot = self.unqueue(t);
            self.take_slot(s);
            fx.handoffs.push(Handoff {
                key: slot.key,
                waiter,
                server: s,
            });
        }
    }

    // ---- what the report charts ----

    pub fn servers(&self) -> usize {
        self.servers.len()
    }

    pub fn conns(&self, s: ServerId) -> u32 {
        self.servers[s as usize].conns
    }

    /// Requests waiting in the server's own queue.
    pub fn server_queue(&self, s: ServerId) -> u32 {
        self.servers[s as usize].queue.live
    }

    /// Requests waiting in the backend's queue, for any server.
    pub fn backend_queue(&self) -> u32 {
        self.backend.live
    }

    /// Every waiting request, backend's and servers' queues together.
    pub fn queued(&self) -> usize {
        self.slots.len()
    }

    /// Whether the checks have the server UP.
    pub fn is_up(&self, s: ServerId) -> bool {
        self.servers[s as usize].up
    }

    pub fn up_servers(&self) -> u32 {
        self.up
    }

    pub fn liveness(&self, s: ServerId) -> Liveness {
        self.servers[s as usize].liveness
    }
}

/// The first server in `order` that accepts a request, the avoided one only
/// if no other does (fwlc/fas_get_next_server).
fn first_accepting(
    order: impl Iterator<Item = ServerId>,
    servers: &[Server],
    avoid: Option<ServerId>,
) -> Option<ServerId> {
    let mut fallback = None;
    for s in order {
        if !servers[s as usize].accepts() {
            continue;
        }
        if Some(s) == avoid {
            fallback = Some(s);
            continue;
        }
        return Some(s);
    }
    fallback
}

/// The server owning the first point at or after `hash`, wrapping round;
/// past `avoid` to the next other server if there is one
/// (`chash_get_server_hash`).
fn ring_lookup(points: &BTreeSet<(u32, ServerId)>, hash: u32, avoid: Option<ServerId>) -> Option<ServerId> {
    let mut walk = points.range((hash, 0)..).chain(points.iter()).map(|p| p.1);
    let first = walk.next()?;
    if Some(first) != avoid {
        return Some(first);
    }
    Some(walk.take(points.len()).find(|&s| s != first).unwrap_or(first))
}

/// A server's `node`-th point on the ring (HAProxy hashes `puid ×
/// SRV_EWGHT_RANGE + node` with its `full_hash`; any good mix will do).
fn ring_point(s: ServerId, node: u32) -> u32 {
    mix64((u64::from(s) << 32) | u64::from(node)) as u32
}

/// The hash `balance source` takes of a client (HAProxy hashes the source
/// address's bytes; the simulator's clients are numbers).
fn client_hash(client: u64) -> u32 {
    (mix64(client) >> 32) as u32
}

/// splitmix64's finaliser.
fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}
