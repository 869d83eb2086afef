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
//! `shop/front.rs`, scheduled faults in `shop/faults.rs`, and the path read
//! from the topology in `shop/path.rs`.

mod cpu;
mod faults;
mod front;
mod listen;
mod path;

mod steps;

pub(crate) use path::Path;

use lab_core::record::{
    CounterId, CounterSpec, Fact, FactSender, GaugeId, GaugeKind, GaugeSpec, HistogramId, OutcomeId, RecordBuilder,
    RecordMeta, Source, outcomes, waits,
};
use lab_core::scenario::{App, Era, FpmPool, Kernel, RateProfile, Scenario, Work, Workload};
use rand_distr::{Distribution, Exp1};
use rand_pcg::Pcg64Mcg;
use slab::Slab;

use crate::arrivals::Arrivals;
use crate::budget::{Estimate, SimError};
use crate::cpu::Cpu;
use crate::engine::{Lane, Scheduler, Slot, Time};
use crate::fpm::{ChildId, MAINTENANCE_PERIOD, Pool};
use crate::mysql::{RowId, Server};
use crate::nginx::Conns;
use crate::nodes::vip::VipTimeline;
use crate::sample::{Sampler, Streams};
use crate::{Progress, Run};

/// A request's slab slot and its unique id: events that outlive their
/// request find a different id (or none) in the slot and are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// The redo-log flush in progress has ended.
    FlushDone,
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
    /// Its balancer died; the client does not know yet.
    Lost,
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
}

const NO_USER: u32 = u32::MAX;

/// A request in the system. Endpoints and steps are counted in `u32`:
/// `u16` once wrapped, running endpoint 65,536 as endpoint 0 and looping
/// forever over an endpoint of 65,536 steps.
pub(crate) struct Request {
    id: u64,
    arrived: Time,
    started: Time,
    query_start: Time,
    lock_wait_start: Time,
    cpu_job: u64,
    /// Draws about the request itself (endpoint, demands): the same in every era.
    rng: Pcg64Mcg,
    /// Draws about the network, which only some eras have.
    net: Pcg64Mcg,
    /// A closed-model user's pause after this request.
    think: u64,
    user: u32,
    /// The web node (nginx and its pool) serving the request.
    web: u32,
    child: ChildId,
    endpoint: u32,
    step: u32,
    phase: Phase,
    /// The row the current statement waits for ([`crate::mysql::NO_ROW`]:
    /// none; a sentinel keeps the request within two cache lines).
    row: RowId,
    /// The rows the request's transaction holds, chained through the lock
    /// table from this one ([`crate::mysql::NO_ROW`]: none).
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
    front: Front,
    /// Queued or running on its web node.
    at_web: bool,
    /// Its balancer, when it came through one.
    lb: u8,
    /// HAProxy's failed connection attempts (its `retries` count them).
    attempts: u8,
    /// The client's SYNs retransmitted to an entry that did not answer.
    syn_sent: u8,
    /// The next connection attempt goes to another server.
    redispatch: bool,
    /// Its place in HAProxy's queue, and since when.
    waiter: crate::haproxy::Waiter,
    queued_at: Time,
}

/// Sizes for the memory estimate (`crate::budget`). A slab entry is the
/// request behind the slab's tag, rounded to the request's alignment.
pub(crate) const SLAB_ENTRY_BYTES: usize = size_of::<Request>() + align_of::<Request>();
pub(crate) const TIMER_BYTES: usize = crate::engine::entry_bytes::<Ev>();
pub(crate) const BACKLOG_BYTES: usize = size_of::<crate::fpm::Waiting<Key>>();
pub(crate) const WAITER_BYTES: usize = size_of::<Key>();
pub(crate) const COMPILED_STEP_BYTES: usize = size_of::<CompiledStep>();

enum CompiledStep {
    Cpu(Sampler),
    Query {
        db_cpu: Option<Sampler>,
        db_wait: Option<Sampler>,
        lock: Option<(usize, u32)>,
    },
    Begin,
    /// The length of a redo-log flush, drawn by every commit.
    Commit(Sampler),
}

enum Driver {
    Open {
        arrivals: Arrivals,
        rng: Pcg64Mcg,
        slot: Slot,
    },
    Closed {
        think: Sampler,
        rng: Pcg64Mcg,
        users: u32,
    },
}

struct Host {
    cpu: Cpu,
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
}

struct Lanes {
    client: Lane,
    queue: Lane,
    server: Lane,
    upstream: Lane,
    lock: Lane,
    terminate: Lane,
    spawn: Lane,
}

/// The stack's gauges, which come first in the record; the hosts' follow,
/// each recorded when it changes.
const STACK_GAUGES: usize = 6;

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
    fn outcome(&mut self, at: Time, outcome: OutcomeId, latency: u64) {
        self.0.push(Fact::Outcome { at, outcome, latency });
    }
    #[inline]
    fn count(&mut self, at: Time, counter: CounterId, n: u64) {
        self.0.push(Fact::Count { at, counter, n });
    }
    #[inline]
    fn levels(&mut self, at: Time, values: &[u64; STACK_GAUGES]) {
        self.0.levels(at, values);
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
    reqs: Slab<Request>,
    next_id: u64,
    next_job: u64,
    streams: Streams,
    endpoints: Vec<Vec<CompiledStep>>,
    /// Cumulative probabilities of the endpoint mix.
    mix: Vec<(f64, u32)>,
    driver: Driver,
    /// The open model's rate profile, for the offered load of each window.
    profile: Option<RateProfile>,
    client_timeout: Option<Time>,
    upstream_timeout: Option<Time>,
    connect_timeout: Time,
    hosts: Vec<Host>,
    /// Each host's speed without faults.
    base_speed: Vec<f64>,
    webs: Vec<WebNode>,
    /// Web nodes whose pool changed during the current event.
    touched: Vec<u32>,
    /// The stack's levels as last recorded; the pool totals are kept up to
    /// date from the touched nodes.
    levels: [u64; STACK_GAUGES],
    fpm: FpmPool,
    db_host: usize,
    /// One network round trip between web and database; `None` on one host.
    rtt: Option<Sampler>,
    db: Server<Key>,
    /// When the clients' kernels send an unanswered SYN again (Debian's
    /// defaults: the clients are not one of the scenario's hosts).
    client_syn: crate::fpm::SynSchedule,
    /// keepalived's VIP and the HAProxy pair, in the eras that have them.
    front: Option<Box<front::FrontEnd>>,
    /// The topology's faults and the host each strikes.
    faults: Vec<faults::Strike>,
    /// Each fault as the charts name it (`crash lb.master`).
    fault_labels: Vec<String>,
    /// The redo log's pending `FlushDone`.
    flush: Slot,
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

/// Each endpoint's program as the monolith runs it: calls are function
/// calls inside the same PHP child (inlined), and PHP runs parallel
/// branches one after the other.
fn compile(app: &App) -> Vec<Vec<CompiledStep>> {
    assert!(u32::try_from(app.endpoints.len()).is_ok(), "fewer than 2^32 endpoints");
    (0..app.endpoints.len())
        .map(|i| {
            let program = app.monolith_program(i);
            assert!(
                u32::try_from(program.len()).is_ok(),
                "fewer than 2^32 steps per endpoint"
            );
            program
                .into_iter()
                .map(|w| match w {
                    Work::Cpu(d) => CompiledStep::Cpu(Sampler::new(d)),
                    Work::Query(q) => CompiledStep::Query {
                        db_cpu: q.db_cpu.as_ref().map(Sampler::new),
                        db_wait: q.db_wait.as_ref().map(Sampler::new),
                        lock: q.lock.map(|l| (l, app.locks[l].rows)),
                    },
                    Work::Begin => CompiledStep::Begin,
                    Work::Commit(d) => CompiledStep::Commit(Sampler::new(d)),
                })
                .collect()
        })
        .collect()
}

impl Shop {
    pub(crate) fn new(scenario: &Scenario, era: &Era, estimate: &Estimate) -> Shop {
        let topology = era.topology();
        let path = Path::of(&topology);
        let (nginx, fpm, mysql) = (path.nginx, path.fpm, path.mysql);
        // A round trip only where the pool and the database are apart.
        let rtt = (path.webs[0] != path.db)
            .then(|| topology.rtt.as_ref().map(Sampler::new))
            .flatten();
        let mut rec = RecordBuilder::new(RecordMeta {
            scenario: scenario.name.clone(),
            era: era.label.clone(),
            model: era.arch.model().to_string(),
            source: Source::Simulated,
            seed: scenario.seed,
            window: scenario.stats.window,
            warmup: scenario.stats.warmup,
            duration: scenario.duration,
            price_per_hour: topology.price_per_hour(),
        });
        let mut sched = Scheduler::default();
        let nodes = path.webs.len() as f64;
        let children = f64::from(fpm.max_children) * nodes;
        let mut gauge = |key: String, label: String, kind, capacity: Option<f64>| {
            rec.add_gauge(GaugeSpec {
                key,
                label,
                kind,
                capacity,
            });
        };
        // In the order `sample_gauges` gives their levels: the stack's
        // STACK_GAUGES levels, then each host's busy cores.
        for (key, label, kind, capacity) in [
            ("fpm.busy", "FPM busy workers", GaugeKind::Workers, Some(children)),
            ("fpm.children", "FPM children", GaugeKind::Workers, Some(children)),
            (
                "fpm.backlog",
                "listen backlog",
                GaugeKind::Queue,
                Some((f64::from(fpm.backlog(topology.hosts[path.webs[0]].kernel.somaxconn)) + 1.0) * nodes),
            ),
            (
                "mysql.connections",
                "MySQL connections",
                GaugeKind::Connections,
                Some(f64::from(mysql.max_connections)),
            ),
            ("mysql.lock_waiters", "row-lock waiters", GaugeKind::Queue, None),
            (
                "requests.in_system",
                "requests in the system",
                GaugeKind::InSystem,
                None,
            ),
        ] {
            gauge(key.into(), label.into(), kind, capacity);
        }
        let hosts = Host::all(&topology, &path, &mut rec, &mut sched);
        let db_host = path.db;
        let base_speed = topology.hosts.iter().map(|h| h.speed).collect();
        let mut counter = |key: &str, label: &str| {
            rec.add_counter(CounterSpec {
                key: key.into(),
                label: label.into(),
            })
        };
        let counters = Counters {
            slow_queries: counter("mysql.slow_queries", "slow queries (over long_query_time)"),
            lock_waits: counter("mysql.lock_waits", "queries that waited for a row lock"),
            commits: counter("mysql.commits", "transactions committed"),
            log_flushes: counter(
                "mysql.log_flushes",
                "redo-log flushes (one serves every commit waiting)",
            ),
            spawned: counter("fpm.spawned", "FPM children forked"),
            terminated: counter("fpm.terminated", "requests killed at request_terminate_timeout"),
            abandoned: counter("fpm.abandoned", "requests finished after their client had gone"),
            marked_down: counter("haproxy.marked_down", "servers marked DOWN by health checks"),
            marked_up: counter("haproxy.marked_up", "servers marked UP by health checks"),
            syn_dropped: counter("fpm.syn_dropped", "SYNs a full TCP backlog dropped"),
        };
        let outcomes = Outcomes {
            backlog_full: rec.add_outcome(outcomes::BACKLOG_FULL),
            upstream_timeout: rec.add_outcome(outcomes::UPSTREAM_TIMEOUT),
            terminated: rec.add_outcome(outcomes::TERMINATED),
            too_many_connections: rec.add_outcome(outcomes::TOO_MANY_CONNECTIONS),
            lock_wait_timeout: rec.add_outcome(outcomes::LOCK_WAIT_TIMEOUT),
            client_timeout: rec.add_outcome(outcomes::CLIENT_TIMEOUT),
            lb_unavailable: rec.add_outcome(outcomes::LB_UNAVAILABLE),
            lb_timeout: rec.add_outcome(outcomes::LB_TIMEOUT),
            connect_failed: rec.add_outcome(outcomes::CONNECT_FAILED),
            connection_reset: rec.add_outcome(outcomes::CONNECTION_RESET),
            connect_timeout: rec.add_outcome(outcomes::CONNECT_TIMEOUT),
            nginx_no_connection: rec.add_outcome(outcomes::NGINX_NO_CONNECTION),
            nginx_closed: rec.add_outcome(outcomes::NGINX_CLOSED),
        };
        let backlog_wait = rec.add_wait(waits::FPM_BACKLOG);
        let lock_wait = rec.add_wait(waits::LOCK_WAIT);
        let haproxy_wait = path.front.is_some().then(|| rec.add_wait(waits::HAPROXY_QUEUE));
        let lb_gauges = path.front.as_ref().map(|_| {
            let queue = rec.add_gauge(GaugeSpec {
                key: "haproxy.queue".into(),
                label: "HAProxy queue".into(),
                kind: GaugeKind::Queue,
                capacity: None,
            });
            let up = rec.add_gauge(GaugeSpec {
                key: "haproxy.up_servers".into(),
                label: "servers UP (HAProxy)".into(),
                kind: GaugeKind::Workers,
                capacity: Some(path.webs.len() as f64),
            });
            (queue, up, [0, 0])
        });
        let streams = Streams::new(scenario.seed);
        let driver = match &scenario.traffic.workload {
            Workload::Open(profile) => Driver::Open {
                arrivals: Arrivals::new(profile),
                rng: streams.traffic(),
                slot: sched.add_slot(),
            },
            Workload::Closed { users, think } => Driver::Closed {
                think: Sampler::new(think),
                rng: streams.traffic(),
                users: *users,
            },
        };
        let mut acc = 0.0;
        let mix = scenario
            .traffic
            .mix
            .iter()
            .map(|(i, w)| {
                acc += w;
                (acc, u32::try_from(*i).expect("fewer than 2^32 endpoints"))
            })
            .collect();
        let lanes = Lanes {
            client: sched.add_lane(),
            queue: sched.add_lane(),
            server: sched.add_lane(),
            upstream: sched.add_lane(),
            lock: sched.add_lane(),
            terminate: sched.add_lane(),
            spawn: sched.add_lane(),
        };
        let webs = path
            .webs
            .iter()
            .map(|&host| WebNode {
                pool: Pool::new(fpm.clone(), &topology.hosts[host].kernel),
                nginx: Conns::new(nginx, topology.hosts[host].cores),
                kernel: topology.hosts[host].kernel.clone(),
                host,
                reported: [0; 3],
                touched: true,
                up: true,
                reachable: true,
                refusing: false,
                generation: 0,
            })
            .collect::<Vec<_>>();
        let touched = (0..webs.len() as u32).collect();
        let streams_for_front = Streams::new(scenario.seed);
        let (front, lb_faults) = match &path.front {
            None => (None, Vec::new()),
            Some(f) => {
                let names = f.lbs.map(|h| topology.hosts[h].name.as_str());
                let (vip, lb_faults) = VipTimeline::build(f.vrrp, names, &topology.faults, scenario.duration);
                let rtt = topology.rtt.as_ref().map(Sampler::new);
                let fe = front::FrontEnd::new(
                    f.haproxy,
                    webs.len(),
                    vip,
                    streams_for_front.balancer(),
                    rtt,
                    sched.add_slot(),
                    f.lbs.map(|h| topology.hosts[h].kernel.somaxconn),
                );
                (Some(Box::new(fe)), lb_faults)
            }
        };
        let faults = faults::strikes(&topology, &path.webs, path.front.as_ref().map(|f| f.lbs), &lb_faults);
        let flush = sched.add_slot();
        let mut shop = Shop {
            now: 0,
            end: scenario.duration,
            sched,
            lanes,
            reqs: Slab::new(),
            next_id: 0,
            next_job: 0,
            streams,
            endpoints: compile(&scenario.app),
            mix,
            driver,
            profile: match &scenario.traffic.workload {
                Workload::Open(p) => Some(p.clone()),
                Workload::Closed { .. } => None,
            },
            client_timeout: scenario.traffic.timeout,
            upstream_timeout: nginx.fastcgi_read_timeout,
            connect_timeout: nginx.fastcgi_connect_timeout,
            hosts,
            base_speed,
            webs,
            touched,
            levels: [0; STACK_GAUGES],
            fpm: fpm.clone(),
            db_host,
            rtt,
            db: Server::new(mysql.clone(), &scenario.app.locks),
            client_syn: crate::fpm::SynSchedule::new(&lab_core::scenario::Kernel::default()),
            front,
            fault_labels: topology
                .faults
                .iter()
                .map(|f| format!("{} {}", f.kind.name(), f.target))
                .collect(),
            faults,
            flush,
            rec: Recorder(FactSender::spawn(rec)),
            counters,
            outcomes,
            backlog_wait,
            lock_wait,
            haproxy_wait,
            lb_gauges,
            done: Vec::new(),
            granted: Vec::new(),
            served: Vec::new(),
            limits: Limits {
                events: estimate.event_limit(),
                estimated_events: estimate.events,
                in_system: estimate.in_system_limit,
            },
        };
        shop.start();
        shop
    }

    fn start(&mut self) {
        self.sample_gauges();
        self.start_checks();
        self.schedule_faults();
        if self.webs[0].pool.needs_maintenance() {
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

    fn schedule_arrival(&mut self) {
        if let Driver::Open { arrivals, rng, slot } = &mut self.driver {
            let e: f64 = Exp1.sample(rng);
            match arrivals.next(e) {
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
        let unfinished = self.reqs.iter().filter(|(_, r)| r.client_waiting).count() as u64;
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
