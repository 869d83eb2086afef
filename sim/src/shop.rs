//! The shop of the stone and bronze eras: clients → nginx → a PHP-FPM pool →
//! MySQL, on one host (stone) or on a web VPS and a database VPS with a
//! network hop between them (bronze).
//!
//! A request's life: it arrives and nginx hands it to FPM at once (an idle
//! child takes it, or it waits in the listen backlog, or the backlog is full
//! and nginx answers 502). A child runs the endpoint's steps: PHP CPU on the
//! web host, queries on a MySQL connection opened at the first query and
//! held to the end (row lock, CPU on the database host, waiting, the network
//! back). Then nginx sends the response. Work that FPM accepted runs to the
//! end even when nginx (504) or the client (timeout) gave up — as in the real
//! stack — unless `request_terminate_timeout` kills the child.
//!
//! The shop is built from the era's `Topology` (the nodes on the path from
//! its entry: nginx, the pool nginx passes to, the MySQL that pool
//! queries), not from the era's model: the later eras compose more nodes
//! on the same plain data.
//!
//! This file holds the state, the construction and the event loop; the
//! request's steps are in `shop/steps.rs`, its transactions in
//! `shop/steps/txn.rs`, its CPU work in `shop/cpu.rs`, nginx's hand-over to
//! FPM in `shop/listen.rs`, the way in through a balancer in
//! `shop/front.rs` (the clients' kept-alive connections to it in
//! `shop/keepalive.rs`), scheduled faults in `shop/faults.rs`, and the path read
//! from the topology in `shop/path.rs`.

mod build;
mod cpu;
mod faults;
mod front;
mod keepalive;
mod lb_faults;
mod listen;
mod path;
mod program;
mod rpc;

mod steps;

pub(crate) use path::Path;

use lab_core::record::{CounterId, Fact, FactSender, GaugeId, HistogramId, OutcomeId};
use lab_core::scenario::{FpmPool, Kernel, RateProfile};
use rand_pcg::Pcg64Mcg;
use slab::Slab;

use crate::table::Table;

use crate::budget::SimError;
use crate::cpu::HostCpu;
use crate::engine::{Lane, Scheduler, Slot, Time};
use crate::feed::Feed;
use crate::nodes::fpm::{ChildId, MAINTENANCE_PERIOD, Pool};
use crate::nodes::mysql::{RowId, Server};
use crate::nodes::nginx::Conns;
use crate::sample::{Sampler, Streams};
use crate::{Progress, Run};

/// A request's slab slot and its unique id: events that outlive their
/// request find a different id (or none) in the slot and are ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Key {
    slot: u32,
    id: u64,
}

#[derive(Clone, Copy, Debug)]
enum Ev {
    Arrival,
    UserWakes(u32),
    /// A host's next completion; hosts are numbered when the shop is built.
    CpuDone(u32),
    /// A delay ended: connecting, waiting inside a query, the network back.
    Resume(Key),
    LockGranted(Key),
    ClientTimeout(Key),
    UpstreamTimeout(Key),
    LockTimeout(Key),
    /// The redo-log flush in progress on database `.0` has ended.
    FlushDone(u32),
    Terminate(Key),
    /// A child of web node `.0`'s pool (of generation `.1`) is ready.
    ChildReady(u32, u32, ChildId),
    Maintenance,
    /// The client's kernel sends its unanswered SYN again.
    SynRetry(Key),
    /// The client's kernel gives up connecting.
    ConnectGiveUp(Key),
    /// nginx's kernel sends a SYN to a TCP FPM pool again (or its attempt
    /// ends): see `shop/listen.rs`.
    FpmSyn(Key),
    /// HAProxy's connection to the server is established: the request
    /// reaches nginx.
    Forward(Key),
    /// HAProxy's connection attempt got no answer within `timeout connect`.
    ConnectTimeout(Key),
    /// HAProxy tries the connection again (same server or redispatched),
    /// or makes the first one for a request its queue handed a slot.
    ConnectRetry(Key),
    /// HAProxy on balancer `.0` accepts the connections waiting for it.
    Accept(u8),
    QueueTimeout(Key),
    ServerTimeout(Key),
    /// nginx's answer reaches HAProxy.
    LbReply(Key, OutcomeId),
    /// Health checks are due (`shop/front.rs` keeps them).
    Checks,
    /// Fault `.0` of the topology strikes (`false`) or ends (`true`).
    Fault(u32, bool),
    /// A client whose balancer died learns it from the one that took over.
    Reset(Key),
    /// A request sent on a kept-alive connection while nobody answered the
    /// address is sent again now that someone does (`shop/keepalive.rs`).
    Retransmit(Key),
    /// keepalived's address moves (change `.0` of its timeline).
    VipMoved(u32),
    /// HAProxy closes the clients' connections idle for its timeout.
    PoolExpiry,
    /// HAProxy on balancer `.0` (in life `.1`) closes an idle connection
    /// its client was reset on by another kernel.
    IdleClosed(u8, u16),
    /// A call (the request `.0`) reaches its service's balancer.
    CallArrives(Key),
    /// A call's answer (or its error) reaches its caller.
    CallReply(Key, OutcomeId),
    /// A caller's wait for its call's answer (the caller `.0`) runs out.
    CallTimeout(Key),
}

/// Where a request stands on the way in (see `shop/front.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Front {
    /// No balancer: the client talks to nginx (stone, bronze).
    Direct,
    /// Its SYNs went unanswered so far.
    Syn,
    /// Waiting in the kernel for HAProxy to accept it (frontend maxconn).
    Accept,
    /// In HAProxy's queue.
    Queued,
    /// HAProxy connects to its server (or waits to retry).
    Connecting,
    /// At its server; HAProxy waits for the answer.
    AtServer,
    /// The answer is on its way back to HAProxy.
    Returning,
    /// Its client's connection to its balancer is broken (the balancer
    /// died or was cut off, or the request went out while nobody answered
    /// the address); the client does not know yet.
    Lost,
    /// A call on its way to its service's balancer.
    Sent,
    /// A call's answer on its way back to its caller.
    Replying,
    /// The balancer's side is over.
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// nginx's SYNs to a TCP pool met a full backlog; its kernel retransmits.
    Syn,
    Backlog,
    AppCpu,
    Connecting,
    /// MySQL refused the connection (ERROR 1040); the error is on its way.
    Refused,
    LockWait,
    DbCpu,
    DbWait,
    /// A COMMIT waiting for its redo-log flush.
    Commit,
    Returning,
    /// PHP encodes a call to a service (CPU).
    RpcSend,
    /// Waiting for the service's answer.
    RpcWait,
    /// PHP decodes the service's answer (CPU).
    RpcRecv,
    /// Waiting for the branches of a `parallel` step.
    ForkWait,
}

const NO_USER: u32 = u32::MAX;
/// No request: a top-level request's parent, a caller's call before it makes one.
pub(crate) const NO_KEY: Key = Key {
    slot: u32::MAX,
    id: u64::MAX,
};
/// Calls and parallel branches are numbered apart from clients' requests,
/// so that the clients' requests keep their numbers, and with them their
/// draws, in every era (common random numbers).
const FIRST_SUB_ID: u64 = 1 << 63;

/// A request in the system. Endpoints and steps are counted in `u32`:
/// `u16` once wrapped, running endpoint 65,536 as endpoint 0 and looping
/// forever over an endpoint of 65,536 steps.
pub(crate) struct Request {
    id: u64,
    arrived: Time,
    started: Time,
    /// When its current statement started; while it waits for a row lock,
    /// when that wait started too (the lock is asked for as it starts).
    query_start: Time,
    cpu_job: u64,
    /// Draws about the request itself (endpoint, demands): the same in every era.
    rng: Pcg64Mcg,
    /// Draws about the network, which only some eras have.
    net: Pcg64Mcg,
    /// Its closed-model user (whose pause after it is in `Shop::thinks`).
    user: u32,
    /// The web node (nginx and its pool) serving the request.
    web: u32,
    child: ChildId,
    /// The program it runs: an endpoint's, a service operation's or a
    /// parallel branch's (gold).
    program: u32,
    step: u32,
    phase: Phase,
    /// The row the current statement waits for ([`crate::nodes::mysql::NO_ROW`]:
    /// none; a sentinel keeps the request within two cache lines).
    row: RowId,
    /// The rows the request's transaction holds, chained through the lock
    /// table from this one ([`crate::nodes::mysql::NO_ROW`]: none).
    held: RowId,
    /// Between BEGIN and COMMIT: rows stay locked after each statement.
    in_txn: bool,
    client_waiting: bool,
    nginx_waiting: bool,
    /// It holds two of its web node's nginx connections (the client's and FPM's).
    in_nginx: bool,
    /// SYNs nginx's kernel sent again to a TCP pool whose backlog was full.
    syns: u8,
    has_conn: bool,
    /// FPM killed the child; only the query it left behind still runs.
    terminated: bool,
    /// A core of its web host was idle when nginx took it: its overhead
    /// step pays the overhead's `cold` (only looked at when one has it).
    cold: bool,
    front: Front,
    /// Queued or running on its web node.
    at_web: bool,
    /// Its entry in `Shop::links` ([`NO_LINK`]: none): only calls,
    /// branches and the requests that wait for them have one, so that the
    /// other eras' requests stay small.
    link: u32,
    /// Its entry in `Shop::vias` ([`NO_VIA`]: none, which reads as
    /// [`Via::default`]).
    via: u32,
}

const NO_LINK: u32 = u32::MAX;
const NO_VIA: u32 = u32::MAX;

/// A request's way in through a balancer, and its client's retransmitted
/// SYNs: kept apart (`Shop::vias`), made when first written, so that a
/// request that goes straight to nginx stays within two cache lines.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Via {
    /// Its balancer, when it came through one.
    lb: u8,
    /// HAProxy's failed connection attempts (its `retries` count them).
    attempts: u8,
    /// The client's SYNs retransmitted to an entry that did not answer.
    syn_sent: u8,
    /// The next connection attempt goes to another server.
    redispatch: bool,
    /// Its client's connection is cut from its balancer (the balancer's
    /// link went down, or the address moved away from it): HAProxy's
    /// answer does not reach the client, who learns from a reset.
    deaf: bool,
    /// Its balancer's life ([`front::Balancer::epoch`]) when its client's
    /// connection was accepted, for one sent on a kept-alive connection
    /// while nobody answered the address (a balancer boots at most once
    /// per fault: `MAX_FAULTS` is 1,000).
    epoch: u16,
    /// Its place in HAProxy's queue, and since when.
    waiter: crate::nodes::haproxy::Waiter,
    queued_at: Time,
}

/// The request's [`Via`] (the defaults where it has none).
#[inline(always)]
fn via(vias: &Slab<Via>, r: &Request) -> Via {
    if r.via == NO_VIA {
        Via::default()
    } else {
        vias[r.via as usize]
    }
}

/// The request's [`Via`] to write, made on first need.
fn via_mut<'a>(vias: &'a mut Slab<Via>, r: &mut Request) -> &'a mut Via {
    if r.via == NO_VIA {
        r.via = u32::try_from(vias.insert(Via::default())).expect("fewer than 2^32 vias");
    }
    &mut vias[r.via as usize]
}

/// What ties a request to its calls and branches (gold).
pub(crate) struct Link {
    /// Who waits for it: the caller of a call, the request a branch belongs
    /// to; [`NO_KEY`] for a client's request.
    parent: Key,
    /// A parallel branch: it runs in its request's PHP child.
    fiber: bool,
    /// Its call in progress (a caller in `RpcWait`), and since when.
    call: Key,
    call_at: Time,
    /// Branches of its `parallel` step still running, and the first error
    /// one of them ended with.
    pending: u32,
    failed: OutcomeId,
}

/// Sizes for the memory estimate (`crate::budget`). A slab entry is the
/// request behind the slab's tag, rounded to the request's alignment.
pub(crate) const SLAB_ENTRY_BYTES: usize = size_of::<Request>() + align_of::<Request>();
pub(crate) const VIA_ENTRY_BYTES: usize = size_of::<Via>() + align_of::<Via>();
pub(crate) const TIMER_BYTES: usize = crate::engine::entry_bytes::<Ev>();
pub(crate) const BACKLOG_BYTES: usize = size_of::<crate::nodes::fpm::Waiting<Key>>();
pub(crate) const WAITER_BYTES: usize = size_of::<Key>();
pub(crate) const COMPILED_STEP_BYTES: usize = size_of::<program::CompiledStep>();

enum Driver {
    Open {
        /// The arrivals, drawn ahead on a thread of their own; its
        /// current one is the one the slot holds.
        feed: Feed,
        slot: Slot,
    },
    Closed {
        think: Sampler,
        rng: Pcg64Mcg,
        users: u32,
    },
}

struct Host {
    cpu: HostCpu,
    /// Whether its jobs can never share a core (`cpu::dedicated_hosts`).
    dedicated: bool,
    slot: Slot,
    /// Its number in `Ev::CpuDone`, checked once here so that it is never
    /// cut short when an event is made.
    id: u32,
    cores: u32,
    /// Its busy-cores gauge and the level last recorded there.
    gauge: GaugeId,
    busy: u64,
}

/// nginx and its PHP-FPM pool on a host of their own (or the one host of
/// stone): the web tier has one of these per node.
pub(crate) struct WebNode {
    pool: Pool<Key>,
    /// nginx's connections on the node.
    nginx: Conns,
    /// Its host's kernel settings, for a pool started after a crash.
    kernel: Kernel,
    /// Index in `Shop::hosts`.
    host: usize,
    /// The pool's levels last added into the stack's gauges (busy,
    /// children, backlog), so that an event updates the totals from the
    /// nodes it touched only.
    reported: [u64; 3],
    touched: bool,
    /// Its host is running (not crashed).
    up: bool,
    /// Its host's link is up.
    reachable: bool,
    /// Restarting: nginx refuses connections.
    refusing: bool,
    /// Counts the pools the node has had (a crash and a boot each start a
    /// new one), so that a child forked by an older one is not taken for
    /// one of the new pool's.
    generation: u32,
    /// Its pool's settings, for a pool started after a crash.
    fpm: FpmPool,
    /// Index in `Shop::dbs` of the MySQL its pool queries.
    db: u32,
    /// nginx's `fastcgi_read_timeout` and `fastcgi_connect_timeout`.
    read_timeout: Option<Time>,
    connect_timeout: Time,
    /// Lanes of nginx's read timeout, FPM's kills and FPM's forks.
    read_lane: Lane,
    terminate_lane: Lane,
    spawn_lane: Lane,
}

/// A MySQL server, its host and its redo log's pending `FlushDone`.
pub(crate) struct Database {
    server: Server<Key>,
    host: usize,
    /// Only where a program commits: the scheduler scans its slots at
    /// every event.
    flush: Option<Slot>,
    /// The lane of its lock-wait timeouts.
    lock_lane: Lane,
}

/// A service that calls reach over the network (gold).
struct Service {
    /// Its balancer's index in the front end's balancers.
    lb: u8,
    /// How long callers wait; `None`: for ever.
    timeout: Option<Time>,
    /// Its callers' timers (a lane holds one timeout, so it stays in time order).
    lane: Lane,
    /// How long its callers waited for it.
    latency: HistogramId,
}

/// The clients' timers. Every other timer lane belongs to the node whose
/// timeout it holds (a lane keeps one timeout, so its times never
/// decrease); nodes with the same timeout share one.
struct Lanes {
    client: Lane,
}

/// The stack's gauges, which come first in the record, in this order; the
/// hosts' follow, each recorded when it changes.
const FPM_BUSY: u16 = 0;
const FPM_CHILDREN: u16 = 1;
const FPM_BACKLOG: u16 = 2;
const MYSQL_CONNECTIONS: u16 = 3;
const MYSQL_LOCK_WAITERS: u16 = 4;
const IN_SYSTEM: u16 = 5;

struct Counters {
    slow_queries: CounterId,
    lock_waits: CounterId,
    commits: CounterId,
    log_flushes: CounterId,
    spawned: CounterId,
    terminated: CounterId,
    abandoned: CounterId,
    marked_down: CounterId,
    marked_up: CounterId,
    syn_dropped: CounterId,
}

/// How requests end besides `OutcomeId::OK`, declared in the order of the
/// CSV columns the eras always had.
struct Outcomes {
    backlog_full: OutcomeId,
    upstream_timeout: OutcomeId,
    terminated: OutcomeId,
    too_many_connections: OutcomeId,
    lock_wait_timeout: OutcomeId,
    client_timeout: OutcomeId,
    lb_unavailable: OutcomeId,
    lb_timeout: OutcomeId,
    connect_failed: OutcomeId,
    connection_reset: OutcomeId,
    connect_timeout: OutcomeId,
    nginx_no_connection: OutcomeId,
    nginx_closed: OutcomeId,
    /// Declared where there are services to call.
    rpc_timeout: Option<OutcomeId>,
}

/// Where the shop's facts go: a [`RecordBuilder`] on its own thread, so
/// statistics are kept on the second core while this one simulates.
struct Recorder(FactSender);

impl Recorder {
    #[inline]
    fn arrival(&mut self, at: Time) {
        self.0.push(Fact::Arrival { at });
    }
    #[inline]
    fn wait(&mut self, at: Time, histogram: HistogramId, wait: u64) {
        self.0.push(Fact::Wait { at, histogram, wait });
    }
    #[inline]
    fn outcome(&mut self, at: Time, endpoint: u32, outcome: OutcomeId, latency: u64) {
        self.0.push(Fact::Outcome {
            at,
            endpoint,
            outcome,
            latency,
        });
    }
    #[inline]
    fn count(&mut self, at: Time, counter: CounterId, n: u64) {
        self.0.push(Fact::Count { at, counter, n });
    }
    /// The levels of the stack's gauges `gauges` after an event.
    #[inline(always)]
    fn levels<const N: usize>(&mut self, at: Time, gauges: [u16; N], values: [u64; N]) {
        self.0.levels_at(at, gauges, values);
    }
    /// Four of the stack's gauges' levels after an event, changed or not.
    #[inline(always)]
    fn levels4(&mut self, at: Time, gauges: [u16; 4], values: [u64; 4]) {
        self.0.levels4(at, gauges.map(|g| g as u8), values);
    }
    #[inline]
    fn gauge(&mut self, at: Time, gauge: GaugeId, value: u64) {
        self.0.push(Fact::Gauge { at, gauge, value });
    }
}

pub(crate) struct Shop {
    now: Time,
    end: Time,
    sched: Scheduler<Ev>,
    lanes: Lanes,
    reqs: Table<Request>,
    links: Slab<Link>,
    vias: Slab<Via>,
    /// Each closed-model user's pause after its request in progress (a
    /// user has one at a time), drawn as it arrives.
    thinks: Vec<Time>,
    next_id: u64,
    /// The next call's or branch's number (from [`FIRST_SUB_ID`]).
    next_sub: u64,
    next_job: u64,
    streams: Streams,
    /// Programs of steps: the endpoints' first (by endpoint index), then,
    /// in gold, the operations' and the parallel branches'.
    programs: Vec<Vec<program::CompiledStep>>,
    /// The endpoint mix, for a closed model's requests (an open model's
    /// come drawn from the feed).
    mix: lab_core::draw::Picker,
    driver: Driver,
    /// The open model's rate profile, for the offered load of each window.
    profile: Option<RateProfile>,
    client_timeout: Option<Time>,
    hosts: Vec<Host>,
    /// Each host's speed without faults.
    base_speed: Vec<f64>,
    webs: Vec<WebNode>,
    /// Web nodes whose pool changed during the current event.
    touched: Vec<u32>,
    /// The pools' totals (busy, children, backlog) over several web nodes,
    /// kept up to date from the touched nodes.
    pool_levels: [u64; 3],
    /// Whether a program queries a database: without a query, MySQL's
    /// connections and lock waiters stay at zero, and are not looked at.
    db_levels: bool,
    /// Whether an endpoint's overhead has a `cold` extra: only then does
    /// nginx look at its host's cores when it takes a request.
    cold_overhead: bool,
    /// One network round trip between two hosts; `None` on one host.
    rtt: Option<Sampler>,
    /// The MySQL servers; the front's is the first.
    dbs: Vec<Database>,
    /// The services calls go to, by the application's service index
    /// (gold; empty where calls are function calls).
    services: Vec<Service>,
    /// CPU each side of a call spends on its messages (gold).
    rpc_cpu: Option<Sampler>,
    /// When the clients' kernels send an unanswered SYN again
    /// (`[traffic]`'s kernel keys: the clients are not one of the
    /// scenario's hosts).
    client_syn: crate::nodes::fpm::SynSchedule,
    /// Per host, its kernel's: a service call's caller sends its SYNs so.
    hosts_syn: Vec<crate::nodes::fpm::SynSchedule>,
    /// keepalived's VIP and the HAProxy pair, in the eras that have them.
    front: Option<Box<front::FrontEnd>>,
    /// The topology's faults and the host each strikes.
    faults: Vec<faults::Strike>,
    /// Each fault as the charts name it (`crash lb.master`).
    fault_labels: Vec<String>,
    rec: Recorder,
    counters: Counters,
    outcomes: Outcomes,
    backlog_wait: HistogramId,
    lock_wait: HistogramId,
    /// Declared only where there is a balancer.
    haproxy_wait: Option<HistogramId>,
    /// HAProxy's queue (both balancers) and the servers the balancers
    /// believe UP, with the levels last recorded; only where there is one.
    lb_gauges: Option<(GaugeId, GaugeId, [u64; 2])>,
    /// Gold: each tier's busy workers (the front's, then each service's),
    /// so that one service's full pool is seen, not lost in the total.
    tiers: Option<Box<Tiers>>,
    done: Vec<crate::cpu::JobTag>,
    /// Scratch lists: waiters granted a row, commits a flush served.
    granted: Vec<Key>,
    served: Vec<Key>,
    /// Where the run stops with an error rather than exhaust memory or time.
    limits: Limits,
}

/// The run's safety net, from the scenario's [`Estimate`].
struct Limits {
    events: u64,
    estimated_events: f64,
    in_system: u64,
}

impl Shop {
    fn start(&mut self) {
        self.sample_gauges();
        self.start_checks();
        self.schedule_faults();
        self.schedule_vip_moves();
        if self.webs.iter().any(|w| w.pool.needs_maintenance()) {
            self.sched.at(MAINTENANCE_PERIOD, Ev::Maintenance);
        }
        match &mut self.driver {
            Driver::Open { .. } => self.schedule_arrival(),
            Driver::Closed { think, rng, users } => {
                // Each user starts after one think time, so they do not all
                // arrive at once.
                for u in 0..*users {
                    let t = think.sample(rng);
                    self.sched.at(t, Ev::UserWakes(u));
                }
            }
        }
    }

    #[inline(always)]
    fn schedule_arrival(&mut self) {
        if let Driver::Open { feed, slot } = &mut self.driver {
            match feed.advance() {
                Some(t) => self.sched.set_slot(slot, t, Ev::Arrival),
                None => self.sched.clear_slot(slot),
            }
        }
    }

    pub(crate) fn run(mut self, progress: &mut dyn FnMut(Progress)) -> Result<Run, SimError> {
        const REPORT_EVERY: u64 = 1 << 16;
        while let Some((t, ev)) = self.sched.pop() {
            if t >= self.end {
                break;
            }
            self.now = t;
            self.dispatch(ev);
            // The safety net is checked with the progress, so that it costs
            // nothing per event; between checks a run can grow by at most
            // REPORT_EVERY requests, which memory holds.
            if self.sched.popped() % REPORT_EVERY == 0 {
                progress(Progress {
                    now: t,
                    end: self.end,
                    events: self.sched.popped(),
                });
                self.check_limits()?;
            }
        }
        let events = self.sched.popped();
        progress(Progress {
            now: self.end,
            end: self.end,
            events,
        });
        // Requests whose client has no answer yet (others may still be in the
        // system, their work going on after a timeout).
        let unfinished = self
            .reqs
            .iter()
            .filter(|(_, r)| {
                // Clients' requests only: a call's "client" is its caller.
                r.client_waiting && (r.link == NO_LINK || self.links[r.link as usize].parent == NO_KEY)
            })
            .count() as u64;
        let spans = self.spans();
        let timelines = self.timelines();
        let record = match &self.profile {
            Some(p) => self
                .rec
                .0
                .finish()
                .finish(self.end, unfinished, |a, b| p.mean_rate(a, b)),
            None => {
                // A closed model has no intended rate: its offered load is
                // whatever the users managed to send.
                let mut r = self.rec.0.finish().finish(self.end, unfinished, |_, _| 0.0);
                for w in &mut r.windows {
                    w.offered = w.arrivals as f64 / w.seconds();
                }
                r
            }
        };
        let mut record = record;
        record.spans = spans;
        record.timelines = timelines;
        Ok(Run { record, events })
    }

    #[cold]
    fn check_limits(&self) -> Result<(), SimError> {
        let events = self.sched.popped();
        if events > self.limits.events {
            return Err(SimError::TooManyEvents {
                at: self.now,
                events,
                limit: self.limits.events,
                estimate: self.limits.estimated_events,
            });
        }
        let in_system = self.reqs.len() as u64;
        if in_system > self.limits.in_system {
            return Err(SimError::TooManyRequests {
                at: self.now,
                in_system,
                limit: self.limits.in_system,
            });
        }
        Ok(())
    }
}

/// Busy workers per tier of a gold era: the front's nodes, then each
/// service's.
pub(crate) struct Tiers {
    /// Each web node's tier.
    of_web: Vec<u16>,
    busy: Vec<u64>,
    /// What was last recorded, to record changes only.
    recorded: Vec<u64>,
    gauges: Vec<GaugeId>,
}
