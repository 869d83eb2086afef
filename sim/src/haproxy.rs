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
//! - roundrobin, static-rr, random and first never pick a *full* server (at
//!   `maxconn`, or with requests queued for it); when every server is full
//!   the request waits in the backend's queue. leastconn accepts a server
//!   until `conns + queued < maxconn + maxqueue` (lb_fwlc.c), so with
//!   `maxqueue` > 0 its requests also queue on the server itself
//!   (configuration.txt, `maxqueue`: "some load balancing algorithms such as
//!   leastconn take this into account"). source is a hash: it picks its server
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
//! O(log n) consistent. roundrobin and leastconn step over the full servers
//! ahead of the one they pick, as HAProxy's trees do; once every server is
//! full they do not look (a backend queue, or leastconn's count of servers
//! with room). The map-based table is rebuilt in O(total weight × n) when a
//! server changes state. Queues are `VecDeque`s of tickets into a slab,
//! abandoned tickets dropped lazily: no allocation per request once the
//! queues have grown.

mod check;
mod lb;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use lab_core::scenario::{Balance, Haproxy};
use rand::Rng;
use slab::Slab;

use crate::engine::Time;
use check::Check;
use lb::Lb;

pub use check::Transition;

pub type ServerId = u32;

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
    /// Its entry in the leastconn set (key, stamp, whether it accepted a
    /// request then), while listed.
    lc_key: Option<(u64, u64, bool)>,
    /// Its entry in the roundrobin set.
    rr_pass: u128,
}

impl Server {
    /// No room for the algorithms that never queue on a server.
    fn full(&self) -> bool {
        self.spec.maxconn > 0 && (self.queue.live > 0 || self.conns >= self.spec.maxconn)
    }

    /// Room for leastconn, which may queue up to `maxqueue`.
    fn accepts(&self) -> bool {
        self.spec.maxconn == 0 || self.conns + self.queue.live < self.spec.maxconn + self.spec.maxqueue
    }

    fn pickable(&self) -> bool {
        self.up && self.spec.weight > 0
    }
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
        let lb = Lb::new(&cfg);
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

    // ---- what the report charts (the rest, per server, for tests) ----

    pub fn servers(&self) -> usize {
        self.servers.len()
    }

    #[cfg(test)]
    pub fn conns(&self, s: ServerId) -> u32 {
        self.servers[s as usize].conns
    }

    #[cfg(test)]
    /// Requests waiting in the server's own queue.
    pub fn server_queue(&self, s: ServerId) -> u32 {
        self.servers[s as usize].queue.live
    }

    #[cfg(test)]
    /// Requests waiting in the backend's queue, for any server.
    pub fn backend_queue(&self) -> u32 {
        self.backend.live
    }

    /// Every waiting request, backend's and servers' queues together.
    pub fn queued(&self) -> usize {
        self.slots.len()
    }

    #[cfg(test)]
    /// Whether the checks have the server UP.
    pub fn is_up(&self, s: ServerId) -> bool {
        self.servers[s as usize].up
    }

    pub fn up_servers(&self) -> u32 {
        self.up
    }
}
