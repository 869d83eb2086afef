//! A PHP-FPM pool: children, the listen backlog, and the process manager's
//! decisions, following php-src's `fpm_process_ctl.c`.
//!
//! - Idle children wait in `accept()`; the kernel wakes them in the order
//!   they started waiting, so the idle list is a FIFO.
//! - When every child is busy, connections wait in the listen backlog, which
//!   holds `backlog + 1` of them (Linux's test is `sk_ack_backlog >
//!   sk_max_ack_backlog`), `backlog` being `listen.backlog` capped at the
//!   host's `net.core.somaxconn`. Beyond, a Unix socket refuses the
//!   connection (nginx answers 502); a TCP listener drops the SYN and the
//!   client's kernel sends it again on its retransmission schedule
//!   ([`SynSchedule`]).
//! - `request_terminate_timeout` is checked on FPM's heartbeat
//!   ([`Pool::terminate_at`]).
//! - `dynamic`: a maintenance tick every second kills one idle child when
//!   more than `max_spare_servers` are idle, or forks a batch when fewer than
//!   `min_spare_servers` are, the batch doubling each tick up to 32.
//! - `ondemand`: a connection that finds no idle child forks one; the tick
//!   reaps the idle child that started first once it has idled
//!   `process_idle_timeout` (the child FPM's `last_idle_child` designates;
//!   the `dynamic` reaper kills that one too).
//! - A child that exits for another reason than idleness (it reached
//!   `max_requests`, or `request_terminate_timeout` killed it) is replaced.
//!
//! Costs: taking and parking a child are O(1) (the idle FIFO is a list
//! threaded through the children, so a reaped child leaves it in O(1)).
//! The idle child that started first is found in an ordered set that is
//! brought up to date only at the tick, from the children whose state
//! changed since: a tick costs O(log n) per child that changed, not a scan
//! of a hundred thousand idle children every second.

use std::collections::BTreeSet;

use lab_core::scenario::{FpmPool, Kernel, Listen, ProcessManager};

mod syn;
pub use syn::{SynSchedule, SynStep};

use crate::engine::Time;
use crate::ring::Ring;

/// FPM_MAX_SPAWN_RATE: the cap of the dynamic spawn batch.
pub const MAX_SPAWN_RATE: u32 = 32;
/// FPM_IDLE_SERVER_MAINTENANCE_HEARTBEAT.
pub const MAINTENANCE_PERIOD: Time = 1_000_000_000;
/// FPM_PCTL_MIN_HEARTBEAT: the request-timeout heartbeat is never shorter.
pub const MIN_HEARTBEAT: Time = 130_000_000;
const MILLISECOND: Time = 1_000_000;

/// FPM's request-timeout heartbeat (`fpm_conf.c`, `fpm_pctl_heartbeat`):
/// a third of `request_terminate_timeout`, counted in whole milliseconds
/// (`T * 1000 / 3`), and at least FPM_PCTL_MIN_HEARTBEAT.
pub fn heartbeat(terminate_timeout: Time) -> Time {
    let ms = terminate_timeout / MILLISECOND;
    (ms / 3 * MILLISECOND).max(MIN_HEARTBEAT)
}

pub type ChildId = u32;

/// The end of the idle list.
const NONE: ChildId = ChildId::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChildState {
    Spawning,
    Idle { since: Time },
    Busy,
    Gone,
}

#[derive(Clone, Debug)]
struct Child {
    state: ChildState,
    served: u32,
    /// When it was forked: FPM kills the idle child that started first.
    started: Time,
    /// Neighbours in the idle list, while idle.
    prev: ChildId,
    next: ChildId,
    /// The `started` under which the child is in `Pool::by_start`, if it is.
    listed: Option<Time>,
    /// Whether the child is in `Pool::changed`.
    changed: bool,
}

/// Bytes of one child's entry, for the memory estimate.
pub(crate) const CHILD_BYTES: usize = size_of::<Child>();

/// What the maintenance tick decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Maintenance {
    Nothing,
    /// Fork this many children.
    Spawn(u32),
    /// Kill this idle child.
    Kill(ChildId),
}

/// A waiting connection: the request's slab slot and id, and when it arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Waiting<K> {
    pub key: K,
    pub since: Time,
}

/// What became of a connection nginx opened to the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connect {
    /// An idle child accepted it.
    Accepted(ChildId),
    /// It waits in the listen backlog.
    Queued,
    /// The backlog is full and the socket is a Unix one: `connect()` fails
    /// at once with EAGAIN.
    Refused,
    /// The backlog is full and the listener is TCP: the kernel dropped the
    /// SYN; the client's kernel will send it again ([`SynSchedule`]).
    Dropped,
}

/// Idle children in the order they started waiting in `accept()`.
struct IdleList {
    head: ChildId,
    tail: ChildId,
    len: u32,
}

pub struct Pool<K> {
    pub cfg: FpmPool,
    /// `listen.backlog` as the kernel enforces it (capped at `somaxconn`).
    max_backlog: u32,
    /// The request-timeout heartbeat, when `request_terminate_timeout` is on.
    heartbeat: Option<Time>,
    pub syn: SynSchedule,
    children: Vec<Child>,
    free_ids: Vec<ChildId>,
    idle: IdleList,
    /// Idle children by `(started, id)` as of the last [`Pool::sync`]; kept
    /// only for process managers that reap.
    by_start: BTreeSet<(Time, ChildId)>,
    /// Children whose state changed since the last sync.
    changed: Vec<ChildId>,
    track: bool,
    backlog: Ring<Waiting<K>>,
    /// Children forked and not yet exited (FPM's `running_children`).
    running: u32,
    busy: u32,
    idle_spawn_rate: u32,
}

impl<K: Copy + Default> Pool<K> {
    /// A pool at start-up on a host with `kernel`: `static` forks every
    /// child, `dynamic` forks `start_servers`, `ondemand` none; they are
    /// ready at time zero, when FPM's heartbeats start.
    pub fn new(cfg: FpmPool, kernel: &Kernel) -> Pool<K> {
        let initial = match cfg.pm {
            ProcessManager::Static => cfg.max_children,
            ProcessManager::Dynamic { start_servers, .. } => start_servers,
            ProcessManager::OnDemand { .. } => 0,
        };
        let track = !matches!(cfg.pm, ProcessManager::Static);
        let mut pool = Pool {
            max_backlog: cfg.backlog(kernel.somaxconn),
            heartbeat: cfg.request_terminate_timeout.map(heartbeat),
            syn: SynSchedule::new(kernel),
            cfg,
            children: Vec::new(),
            free_ids: Vec::new(),
            idle: IdleList {
                head: NONE,
                tail: NONE,
                len: 0,
            },
            by_start: BTreeSet::new(),
            changed: Vec::new(),
            track,
            backlog: Ring::new(),
            running: 0,
            busy: 0,
            idle_spawn_rate: 1,
        };
        for _ in 0..initial {
            let id = pool.fork(0);
            pool.park(id, 0);
        }
        pool
    }

    /// Forks a child. Once it has started, the caller gives it a connection
    /// ([`Pool::reuse`]) or lets it wait in `accept()` ([`Pool::park`]).
    pub fn fork(&mut self, now: Time) -> ChildId {
        self.running += 1;
        let id = match self.free_ids.pop() {
            Some(id) => {
                // Keeps `listed` and `changed`: the ordered set may still
                // hold the previous child of this id.
                let c = &mut self.children[id as usize];
                c.state = ChildState::Spawning;
                c.served = 0;
                c.started = now;
                id
            }
            None => {
                let id = ChildId::try_from(self.children.len())
                    .ok()
                    .filter(|&id| id != NONE)
                    .expect("fewer than 2^32 - 1 FPM children");
                self.children.push(Child {
                    state: ChildState::Spawning,
                    served: 0,
                    started: now,
                    prev: NONE,
                    next: NONE,
                    listed: None,
                    changed: false,
                });
                id
            }
        };
        self.touch(id);
        id
    }

    /// Notes that the child's state changed, for the next [`Pool::sync`].
    #[inline(always)]
    fn touch(&mut self, id: ChildId) {
        if self.track {
            let c = &mut self.children[id as usize];
            if !c.changed {
                c.changed = true;
                self.changed.push(id);
            }
        }
    }

    /// Brings `by_start` up to date with the children that changed.
    fn sync(&mut self) {
        for id in self.changed.drain(..) {
            let c = &mut self.children[id as usize];
            c.changed = false;
            let want = matches!(c.state, ChildState::Idle { .. }).then_some(c.started);
            if c.listed != want {
                if let Some(s) = c.listed {
                    self.by_start.remove(&(s, id));
                }
                if let Some(s) = want {
                    self.by_start.insert((s, id));
                }
                c.listed = want;
            }
        }
    }

    #[inline]
    fn push_idle(&mut self, id: ChildId) {
        let tail = self.idle.tail;
        let c = &mut self.children[id as usize];
        c.prev = tail;
        c.next = NONE;
        if tail == NONE {
            self.idle.head = id;
        } else {
            self.children[tail as usize].next = id;
        }
        self.idle.tail = id;
        self.idle.len += 1;
    }

    /// Takes `id` out of the idle list, wherever it is.
    fn unlink_idle(&mut self, id: ChildId) {
        let Child { prev, next, .. } = self.children[id as usize];
        if prev == NONE {
            self.idle.head = next;
        } else {
            self.children[prev as usize].next = next;
        }
        if next == NONE {
            self.idle.tail = prev;
        } else {
            self.children[next as usize].prev = prev;
        }
        self.idle.len -= 1;
    }

    /// The child that accepts the next connection, if one is idle.
    #[inline]
    pub fn take_idle(&mut self) -> Option<ChildId> {
        let id = self.idle.head;
        if id == NONE {
            return None;
        }
        // `unlink_idle` for the head, which has no predecessor.
        let next = self.children[id as usize].next;
        self.idle.head = next;
        if next == NONE {
            self.idle.tail = NONE;
        } else {
            self.children[next as usize].prev = NONE;
        }
        self.idle.len -= 1;
        let c = &mut self.children[id as usize];
        c.state = ChildState::Busy;
        c.served += 1;
        self.busy += 1;
        self.touch(id);
        Some(id)
    }

    /// A connection arrives: an idle child takes it, or it waits in the
    /// backlog, or the full backlog refuses it or drops its SYN.
    #[inline(always)]
    pub fn connect(&mut self, key: K, now: Time) -> Connect {
        if let Some(id) = self.take_idle() {
            return Connect::Accepted(id);
        }
        if self.enqueue(key, now) {
            return Connect::Queued;
        }
        match self.cfg.listen {
            Listen::Unix => Connect::Refused,
            Listen::Tcp => Connect::Dropped,
        }
    }

    /// Queues a connection in the listen backlog; `false` when it is full.
    /// Linux counts a listener full when more than `backlog` wait
    /// (`sk_acceptq_is_full`, `unix_recvq_full`), so `backlog + 1` fit.
    #[inline(always)]
    pub fn enqueue(&mut self, key: K, now: Time) -> bool {
        if self.backlog.len() as u64 > u64::from(self.max_backlog) {
            return false;
        }
        self.backlog.push_back(Waiting { key, since: now });
        true
    }

    /// Connections the backlog holds at most: `backlog + 1`.
    #[cfg(test)]
    pub fn backlog_capacity(&self) -> u64 {
        u64::from(self.max_backlog) + 1
    }

    /// When FPM kills a request a child took at `started`, if
    /// `request_terminate_timeout` is on: at the first heartbeat tick at
    /// which it has run the timeout or longer (`fpm_request_check_timed_out`
    /// compares whole elapsed seconds, `>=`). The heartbeat ticks every
    /// `heartbeat` from start-up, so the kill lands between `T` and
    /// `T + heartbeat` after the request started. Monotonic in `started`,
    /// so the timers can share a FIFO lane.
    pub fn terminate_at(&self, started: Time) -> Option<Time> {
        let t = self.cfg.request_terminate_timeout?;
        let h = self.heartbeat?;
        let due = started.saturating_add(t);
        Some(due.div_ceil(h).saturating_mul(h))
    }

    #[inline(always)]
    pub fn dequeue(&mut self) -> Option<Waiting<K>> {
        self.backlog.pop_front()
    }

    /// `ondemand` forks when a connection finds no idle child.
    pub fn wants_fork_on_connect(&self) -> bool {
        matches!(self.cfg.pm, ProcessManager::OnDemand { .. })
            && self.idle.len == 0
            && self.running < self.cfg.max_children
    }

    /// A busy child finished its request. Returns `true` if it stays (and is
    /// now idle, not yet queued: the caller gives it the next connection or
    /// calls [`Pool::park`]), `false` if it exits at `max_requests`.
    pub fn release(&mut self, id: ChildId) -> bool {
        self.busy -= 1;
        let c = &mut self.children[id as usize];
        if self.cfg.max_requests > 0 && c.served >= self.cfg.max_requests {
            self.exit(id);
            return false;
        }
        true
    }

    /// Hands a connection from the backlog to a child that just finished or
    /// just started.
    pub fn reuse(&mut self, id: ChildId) {
        let c = &mut self.children[id as usize];
        c.state = ChildState::Busy;
        c.served += 1;
        self.busy += 1;
    }

    /// A released or newly started child with nothing to do waits in `accept()`.
    #[inline]
    pub fn park(&mut self, id: ChildId, now: Time) {
        self.children[id as usize].state = ChildState::Idle { since: now };
        self.push_idle(id);
        self.touch(id);
    }

    /// A busy child is killed (request_terminate_timeout).
    pub fn kill_busy(&mut self, id: ChildId) {
        debug_assert_eq!(self.children[id as usize].state, ChildState::Busy);
        self.busy -= 1;
        self.exit(id);
    }

    fn exit(&mut self, id: ChildId) {
        self.children[id as usize].state = ChildState::Gone;
        self.running -= 1;
        self.free_ids.push(id);
        self.touch(id);
    }

    /// Whether FPM replaces a child that exited for a reason other than
    /// idleness (`fpm_children_bury` forks one in every pm).
    pub fn respawns(&self) -> bool {
        self.running < self.cfg.max_children
    }

    /// The idle child that started first (ties to the lower id): the one
    /// FPM's maintenance looks at (`last_idle_child`).
    fn first_started_idle(&mut self) -> Option<ChildId> {
        self.sync();
        self.by_start.first().map(|&(_, id)| id)
    }

    /// The process manager's once-a-second decision.
    pub fn maintain(&mut self, now: Time) -> Maintenance {
        let idle = self.idle.len;
        match self.cfg.pm {
            ProcessManager::Static => Maintenance::Nothing,
            ProcessManager::OnDemand { process_idle_timeout } => {
                // FPM checks only the first-started idle child's last activity.
                let Some(id) = self.first_started_idle() else {
                    return Maintenance::Nothing;
                };
                match self.children[id as usize].state {
                    ChildState::Idle { since } if since.saturating_add(process_idle_timeout) < now => {
                        self.unlink_idle(id);
                        self.exit(id);
                        Maintenance::Kill(id)
                    }
                    _ => Maintenance::Nothing,
                }
            }
            ProcessManager::Dynamic {
                min_spare_servers,
                max_spare_servers,
                ..
            } => {
                if idle > max_spare_servers {
                    let id = self
                        .first_started_idle()
                        .expect("more idle children than max_spare_servers");
                    self.unlink_idle(id);
                    self.exit(id);
                    self.idle_spawn_rate = 1;
                    return Maintenance::Kill(id);
                }
                if idle < min_spare_servers {
                    let room = self.cfg.max_children.saturating_sub(self.running);
                    let n = self.idle_spawn_rate.min(min_spare_servers - idle).min(room);
                    if n == 0 {
                        self.idle_spawn_rate = 1;
                        return Maintenance::Nothing;
                    }
                    if self.idle_spawn_rate < MAX_SPAWN_RATE {
                        self.idle_spawn_rate *= 2;
                    }
                    return Maintenance::Spawn(n);
                }
                self.idle_spawn_rate = 1;
                Maintenance::Nothing
            }
        }
    }

    /// Whether the process manager needs its periodic tick.
    pub fn needs_maintenance(&self) -> bool {
        !matches!(self.cfg.pm, ProcessManager::Static)
    }

    pub fn busy(&self) -> u32 {
        self.busy
    }

    pub fn running(&self) -> u32 {
        self.running
    }

    #[cfg(test)]
    pub fn idle(&self) -> u32 {
        self.idle.len
    }

    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Time = 1_000_000_000;

    fn cfg(pm: ProcessManager, max_children: u32) -> FpmPool {
        FpmPool {
            pm,
            max_children,
            listen: Listen::Unix,
            listen_backlog: Some(2),
            max_requests: 0,
            request_terminate_timeout: None,
            spawn_time: 1_000_000,
        }
    }

    fn dynamic(start: u32, min: u32, max: u32, max_children: u32) -> Pool<u32> {
        Pool::new_default(cfg(
            ProcessManager::Dynamic {
                start_servers: start,
                min_spare_servers: min,
                max_spare_servers: max,
            },
            max_children,
        ))
    }

    #[test]
    fn start_up_follows_pm() {
        assert_eq!(Pool::<u32>::new_default(cfg(ProcessManager::Static, 7)).idle(), 7);
        assert_eq!(dynamic(3, 2, 4, 10).idle(), 3);
        assert_eq!(
            Pool::<u32>::new_default(cfg(
                ProcessManager::OnDemand {
                    process_idle_timeout: 10 * S
                },
                7
            ))
            .idle(),
            0
        );
    }

    impl<K: Copy + Default> Pool<K> {
        fn new_default(cfg: FpmPool) -> Pool<K> {
            Pool::new(cfg, &Kernel::default())
        }
    }

    #[test]
    fn a_backlog_of_two_holds_three_then_refuses() {
        // Linux admits backlog + 1: its full test is `>`, not `>=`.
        let mut p = Pool::new_default(cfg(ProcessManager::Static, 1));
        assert!(matches!(p.connect(0, 0), Connect::Accepted(_)));
        assert_eq!(p.connect(1, 0), Connect::Queued);
        assert_eq!(p.connect(2, 0), Connect::Queued);
        assert_eq!(p.connect(3, 0), Connect::Queued);
        assert_eq!(p.connect(4, 0), Connect::Refused);
        assert_eq!(p.backlog_capacity(), 3);
        assert_eq!(p.dequeue().unwrap().key, 1);
    }

    #[test]
    fn somaxconn_caps_the_backlog_and_tcp_drops_instead_of_refusing() {
        let mut c = cfg(ProcessManager::Static, 1);
        c.listen = Listen::Tcp;
        c.listen_backlog = Some(511);
        let kernel = Kernel {
            somaxconn: 1,
            ..Kernel::default()
        };
        let mut p: Pool<u32> = Pool::new(c.clone(), &kernel);
        assert_eq!(p.backlog_capacity(), 2);
        p.take_idle();
        assert_eq!(p.connect(1, 0), Connect::Queued);
        assert_eq!(p.connect(2, 0), Connect::Queued);
        assert_eq!(p.connect(3, 0), Connect::Dropped);
        // -1 takes somaxconn whole.
        c.listen_backlog = None;
        assert_eq!(Pool::<u32>::new(c, &Kernel::default()).backlog_capacity(), 4097);
    }

    #[test]
    fn kills_land_on_heartbeat_ticks_between_t_and_t_plus_a_third() {
        assert_eq!(heartbeat(S), 333 * MILLISECOND);
        assert_eq!(heartbeat(10 * S), 3333 * MILLISECOND);
        assert_eq!(heartbeat(0), MIN_HEARTBEAT);
        let mut c = cfg(ProcessManager::Static, 1);
        c.request_terminate_timeout = Some(S);
        let p: Pool<u32> = Pool::new_default(c);
        let h = 333 * MILLISECOND;
        // Started at 0: due at 1 s, ticks at 999 ms and 1332 ms.
        assert_eq!(p.terminate_at(0), Some(4 * h));
        // Due exactly on a tick (started 332 ms): killed on it.
        assert_eq!(p.terminate_at(332 * MILLISECOND), Some(4 * h));
        assert_eq!(p.terminate_at(332 * MILLISECOND + 1), Some(5 * h));
        for started in (0..5 * S).step_by(7_777_777) {
            let k = p.terminate_at(started).unwrap();
            assert_eq!(k % h, 0, "on a tick");
            assert!(k >= started + S && k < started + S + h, "{started}: {k}");
        }
    }

    #[test]
    fn dynamic_spawn_batches_double_up_to_the_shortfall() {
        // Everything stays busy, min_spare 20: batches double until capped by the shortfall.
        let mut p = dynamic(1, 20, 30, 100);
        p.take_idle();
        let mut batches = Vec::new();
        for tick in 1..=6 {
            match p.maintain(tick * S) {
                Maintenance::Spawn(n) => {
                    for _ in 0..n {
                        let id = p.fork(0);
                        p.park(id, tick * S);
                        // keep them busy so the shortfall stays
                        p.take_idle();
                    }
                    batches.push(n);
                }
                other => panic!("tick {tick}: {other:?}"),
            }
        }
        assert_eq!(batches, vec![1, 2, 4, 8, 16, 20]);
    }

    #[test]
    fn dynamic_stops_at_max_children_and_reaps_spares_one_per_tick() {
        let mut p = dynamic(2, 2, 3, 3);
        p.take_idle();
        p.take_idle();
        assert_eq!(p.maintain(S), Maintenance::Spawn(1));
        let id = p.fork(0);
        p.park(id, S);
        p.take_idle();
        assert_eq!(p.maintain(2 * S), Maintenance::Nothing, "max_children reached");
        // All three finish: idle 3 is not above max_spare 3.
        for id in 0..3 {
            assert!(p.release(id));
            p.park(id, 3 * S);
        }
        assert_eq!(p.maintain(4 * S), Maintenance::Nothing);
        let mut q = dynamic(5, 1, 2, 5);
        assert!(matches!(q.maintain(S), Maintenance::Kill(_)));
        assert!(matches!(q.maintain(2 * S), Maintenance::Kill(_)));
        assert!(matches!(q.maintain(3 * S), Maintenance::Kill(_)));
        assert_eq!(q.maintain(4 * S), Maintenance::Nothing);
        assert_eq!(q.running(), 2);
    }

    #[test]
    fn ondemand_forks_on_connect_and_reaps_idle_children() {
        let mut p: Pool<u32> = Pool::new_default(cfg(
            ProcessManager::OnDemand {
                process_idle_timeout: 10 * S,
            },
            2,
        ));
        assert!(p.wants_fork_on_connect());
        let id = p.fork(0);
        p.park(id, 0);
        assert!(!p.wants_fork_on_connect());
        assert_eq!(p.maintain(10 * S), Maintenance::Nothing);
        assert_eq!(p.maintain(11 * S), Maintenance::Kill(id));
        assert_eq!(p.running(), 0);
    }

    #[test]
    fn max_requests_retires_children() {
        let mut c = cfg(ProcessManager::Static, 1);
        c.max_requests = 2;
        let mut p: Pool<u32> = Pool::new_default(c);
        let id = p.take_idle().unwrap();
        assert!(p.release(id));
        p.reuse(id);
        assert!(!p.release(id));
        assert_eq!(p.running(), 0);
        assert!(p.respawns());
    }

    /// The first-started idle child by brute force, as the pool once did.
    fn naive_first_started(p: &Pool<u32>) -> Option<ChildId> {
        let mut id = p.idle.head;
        let mut best: Option<(Time, ChildId)> = None;
        while id != NONE {
            let key = (p.children[id as usize].started, id);
            best = Some(best.map_or(key, |b| b.min(key)));
            id = p.children[id as usize].next;
        }
        best.map(|b| b.1)
    }

    #[test]
    fn reaping_picks_the_first_started_idle_child_through_any_history() {
        // Random forks, takes, releases, kills and ticks on a dynamic pool;
        // after each step the ordered set must agree with a scan of the idle
        // list, which must be a FIFO of the idle children.
        let mut p = dynamic(8, 3, 6, 40);
        let mut busy: Vec<ChildId> = Vec::new();
        let (mut kills, mut spawns) = (0, 0);
        let mut x = 99u64;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x >> 33
        };
        for step in 0..20_000u64 {
            let now = step * S / 10;
            match next() % 12 {
                0..=3 => {
                    if let Some(id) = p.take_idle() {
                        busy.push(id);
                    }
                }
                4..=8 if !busy.is_empty() => {
                    let id = busy.swap_remove(next() as usize % busy.len());
                    if p.release(id) {
                        p.park(id, now);
                    }
                }
                9 if !busy.is_empty() => {
                    let id = busy.swap_remove(next() as usize % busy.len());
                    p.kill_busy(id);
                }
                _ => {
                    let expect = naive_first_started(&p);
                    let idle = p.idle();
                    match p.maintain(now) {
                        Maintenance::Kill(id) => {
                            assert_eq!(Some(id), expect);
                            assert_eq!(p.idle(), idle - 1);
                            kills += 1;
                        }
                        Maintenance::Spawn(n) => {
                            spawns += 1;
                            for _ in 0..n {
                                let id = p.fork(now);
                                p.park(id, now);
                            }
                        }
                        Maintenance::Nothing => {}
                    }
                }
            }
            assert_eq!(p.first_started_idle(), naive_first_started(&p), "step {step}");
        }
        assert!(kills > 50 && spawns > 50, "{kills} kills, {spawns} spawns");
    }

    #[test]
    fn the_tick_does_not_scan_a_hundred_thousand_idle_children() {
        // 100,000 idle children that never idle long enough to be reaped:
        // the tick once scanned them all, every second of a run of up to a
        // year (3e12 steps).
        let mut p: Pool<u32> = Pool::new_default(cfg(
            ProcessManager::OnDemand {
                process_idle_timeout: u64::MAX,
            },
            100_000,
        ));
        for _ in 0..100_000 {
            let id = p.fork(0);
            p.park(id, 0);
        }
        assert_eq!(p.idle(), 100_000);
        let started = std::time::Instant::now();
        for tick in 1..=1_000_000 {
            // A request comes and goes between ticks.
            let id = p.take_idle().unwrap();
            p.release(id);
            p.park(id, tick * S);
            assert_eq!(p.maintain(tick * S), Maintenance::Nothing);
        }
        let took = started.elapsed();
        assert!(took.as_secs() < 10, "a million ticks took {took:?}");
    }

    #[test]
    fn a_static_pool_of_100_000_children_is_small() {
        let p: Pool<u32> = Pool::new_default(cfg(ProcessManager::Static, 100_000));
        assert_eq!(p.idle(), 100_000);
        let bytes = p.children.capacity() * std::mem::size_of::<Child>();
        assert!(bytes < 8 << 20, "{bytes} bytes");
    }
}
