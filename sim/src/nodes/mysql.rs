//! MySQL's side of a query: client connections against `max_connections`,
//! exclusive row locks granted in arrival order (InnoDB's FIFO lock queue)
//! and held by their transaction until it ends, the lock-wait timeout
//! checker, and the redo log's group commit. A pure state machine: the shop
//! asks it what happens and schedules the events.
//! CPU-burning work runs on the database host's [`crate::cpu::Cpu`].

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use lab_core::scenario::{Lock, MySql};

use crate::engine::{Time, after};
use crate::sample::mix64;

/// A row: its lock set in the high half, the row number in the low half.
/// Lock sets may hold `u32::MAX` rows each.
pub type RowId = u64;

/// No row: the end of a transaction's chain of rows. Row numbers stop at
/// `u32::MAX - 1` and lock sets below `u32::MAX`, so no row has this id.
pub const NO_ROW: RowId = u64::MAX;

/// InnoDB's lock-wait timeout checker runs once a second
/// (`lock_wait_timeout_thread`); on the simulator's clock it ticks at whole
/// seconds.
pub const LOCK_CHECK_PERIOD: Time = 1_000_000_000;

/// A row that is held: its holder, the next row its holder holds (the
/// holder's rows form a chain threaded through the lock table, so a
/// transaction holding many rows costs its request one `RowId` and no
/// allocation), and its waiters in arrival order.
struct Row<K> {
    holder: K,
    next: RowId,
    waiters: VecDeque<K>,
}

/// Row ids are already well spread after [`mix64`]; SipHash would cost
/// more than the rest of a lock.
#[derive(Default)]
struct RowHasher(u64);

impl Hasher for RowHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix64(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = mix64(n);
    }
}

/// Waiter queues kept for reuse, so that a row that becomes contended
/// again does not allocate.
const SPARE_QUEUES: usize = 64;

/// What asking for a row lock did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acquire {
    /// The row was free: it is now held, and chained to the holder's rows.
    Granted,
    /// The transaction holds it already (a second statement on the row).
    AlreadyHeld,
    /// Queued behind the holder; [`Server::release_all`] grants it later.
    Wait,
}

/// The redo log's flushes (`log_write_up_to` with
/// `innodb_flush_log_at_trx_commit = 1`): a COMMIT waits for a flush that
/// starts after its commit record was written. One flush at a time; the
/// commits that arrive while one is in progress wait together for the
/// next, which serves them all with one fsync (group commit).
struct RedoLog<K> {
    flushing: bool,
    /// Commits the flush in progress serves.
    current: Vec<K>,
    /// Commits waiting for the next flush, and how long it will take (the
    /// first of them drew it).
    next: Vec<K>,
    next_flush: Time,
    flushes: u64,
}

pub struct Server<K> {
    pub cfg: MySql,
    connections: u32,
    /// Only rows that are held are here (with their waiters): memory follows
    /// the queries in flight, not the size of the tables.
    held: HashMap<RowId, Row<K>, BuildHasherDefault<RowHasher>>,
    spare: Vec<VecDeque<K>>,
    /// Rows in each lock set, to check row numbers.
    rows: Vec<u32>,
    waiting: u32,
    log: RedoLog<K>,
}

impl<K: Copy + PartialEq> Server<K> {
    pub fn new(cfg: MySql, locks: &[Lock]) -> Server<K> {
        assert!(locks.len() < u32::MAX as usize, "fewer than 2^32 - 1 lock sets");
        Server {
            cfg,
            connections: 0,
            held: HashMap::default(),
            spare: Vec::new(),
            rows: locks.iter().map(|l| l.rows).collect(),
            waiting: 0,
            log: RedoLog {
                flushing: false,
                current: Vec::new(),
                next: Vec::new(),
                next_flush: 0,
                flushes: 0,
            },
        }
    }

    /// Opens an application connection; `false` means ERROR 1040 (Too many
    /// connections). The application gets exactly `max_connections`: the
    /// one more MySQL accepts is kept for a user with SUPER
    /// (CONNECTION_ADMIN), which PHP never connects as.
    pub fn connect(&mut self) -> bool {
        if self.connections >= self.cfg.max_connections {
            return false;
        }
        self.connections += 1;
        true
    }

    pub fn disconnect(&mut self) {
        debug_assert!(self.connections > 0);
        self.connections -= 1;
    }

    pub fn connections(&self) -> u32 {
        self.connections
    }

    pub fn row(&self, lock: usize, row: u32) -> RowId {
        debug_assert!(row < self.rows[lock]);
        ((lock as u64) << 32) | u64::from(row)
    }

    /// Takes the row for `key`, whose transaction holds the rows chained
    /// from `held`, or queues `key` behind its holder.
    pub fn lock(&mut self, row: RowId, key: K, held: &mut RowId) -> Acquire {
        match self.held.entry(row) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(Row {
                    holder: key,
                    next: *held,
                    waiters: self.spare.pop().unwrap_or_default(),
                });
                *held = row;
                Acquire::Granted
            }
            std::collections::hash_map::Entry::Occupied(o) if o.get().holder == key => Acquire::AlreadyHeld,
            std::collections::hash_map::Entry::Occupied(mut o) => {
                o.get_mut().waiters.push_back(key);
                self.waiting += 1;
                Acquire::Wait
            }
        }
    }

    /// A row [`Server::release_all`] granted to a waiter joins the chain of
    /// rows its new holder holds.
    pub fn granted(&mut self, row: RowId, held: &mut RowId) {
        let r = self.held.get_mut(&row).expect("a granted row is held");
        r.next = *held;
        *held = row;
    }

    /// Releases every row chained from `held` (a commit or a rollback: InnoDB
    /// releases a transaction's locks all at once). Each row's first waiter
    /// now holds it and is appended to `granted`, to be told.
    pub fn release_all(&mut self, held: &mut RowId, granted: &mut Vec<K>) {
        let mut at = std::mem::replace(held, NO_ROW);
        while at != NO_ROW {
            let r = self.held.get_mut(&at).expect("a chained row is held");
            let next = r.next;
            match r.waiters.pop_front() {
                Some(w) => {
                    self.waiting -= 1;
                    r.holder = w;
                    r.next = NO_ROW;
                    granted.push(w);
                }
                None => {
                    let r = self.held.remove(&at).expect("the row just looked up");
                    if r.waiters.capacity() > 0 && self.spare.len() < SPARE_QUEUES {
                        self.spare.push(r.waiters);
                    }
                }
            }
            at = next;
        }
    }

    /// A waiter gives up (lock wait timeout). Waits are FIFO with one
    /// timeout, so the one giving up is almost always at the front.
    ///
    /// Returns `false` when `key` is no longer waiting: the lock was granted
    /// to it at this very instant, and the grant wins.
    pub fn abandon(&mut self, row: RowId, key: K) -> bool {
        let Some(r) = self.held.get_mut(&row) else {
            return false;
        };
        match r.waiters.iter().position(|k| *k == key) {
            Some(i) => {
                r.waiters.remove(i);
                self.waiting -= 1;
                true
            }
            None => false,
        }
    }

    /// When a lock wait that began at `since` fails with ERROR 1205: at the
    /// first tick of InnoDB's once-a-second checker after
    /// `innodb_lock_wait_timeout` has passed (the check is `wait > timeout`),
    /// so between the timeout and one second more. Never earlier for a
    /// later wait, so these timers can share a FIFO lane.
    pub fn lock_wait_deadline(&self, since: Time) -> Time {
        let due = after(since, self.cfg.innodb_lock_wait_timeout);
        (due / LOCK_CHECK_PERIOD)
            .saturating_add(1)
            .saturating_mul(LOCK_CHECK_PERIOD)
    }

    /// A COMMIT (its locks already released) waits for the redo log to be
    /// flushed; `flush` is how long a flush would take if this commit
    /// started one. Returns the flush's length when one starts now (the
    /// caller calls [`Server::flush_done`] that much later); otherwise the
    /// commit waits for the next flush.
    pub fn commit(&mut self, key: K, flush: Time) -> Option<Time> {
        let log = &mut self.log;
        if log.flushing {
            if log.next.is_empty() {
                log.next_flush = flush;
            }
            log.next.push(key);
            return None;
        }
        log.flushing = true;
        log.flushes += 1;
        log.current.push(key);
        Some(flush)
    }

    /// The flush in progress has ended: the commits it served are appended
    /// to `served`, in the order they arrived. If commits arrived meanwhile,
    /// the next flush starts now, for all of them: returns its length.
    pub fn flush_done(&mut self, served: &mut Vec<K>) -> Option<Time> {
        let log = &mut self.log;
        debug_assert!(log.flushing);
        served.append(&mut log.current);
        if log.next.is_empty() {
            log.flushing = false;
            return None;
        }
        std::mem::swap(&mut log.current, &mut log.next);
        log.flushes += 1;
        Some(log.next_flush)
    }

    /// Redo-log flushes started so far.
    #[cfg(test)]
    pub fn log_flushes(&self) -> u64 {
        self.log.flushes
    }

    /// Rows held right now.
    #[cfg(test)]
    pub fn rows_held(&self) -> usize {
        self.held.len()
    }

    /// Queries waiting for a row lock right now.
    pub fn lock_waiters(&self) -> u32 {
        self.waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(max: u32) -> Server<u32> {
        let cfg = MySql {
            max_connections: max,
            long_query_time: 1,
            innodb_lock_wait_timeout: 50_000_000_000,
        };
        Server::new(
            cfg,
            &[
                Lock {
                    name: "stock".into(),
                    rows: 1,
                },
                Lock {
                    name: "cart".into(),
                    rows: 3,
                },
            ],
        )
    }

    /// Locks `row` for `key` in a transaction of its own.
    fn lock1(s: &mut Server<u32>, row: RowId, key: u32) -> Acquire {
        let mut held = NO_ROW;
        s.lock(row, key, &mut held)
    }

    /// Releases a transaction's rows; the waiters granted.
    fn release(s: &mut Server<u32>, held: &mut RowId) -> Vec<u32> {
        let mut granted = Vec::new();
        s.release_all(held, &mut granted);
        granted
    }

    #[test]
    fn the_application_gets_exactly_max_connections() {
        // 151 is MySQL's default; the 152nd connection MySQL accepts is for
        // an administrator, never for PHP.
        let mut s = server(151);
        for _ in 0..151 {
            assert!(s.connect());
        }
        assert!(!s.connect(), "the 152nd application connection gets ERROR 1040");
        assert_eq!(s.connections(), 151);
        s.disconnect();
        assert!(s.connect());
    }

    #[test]
    fn row_locks_are_granted_in_order() {
        let mut s = server(10);
        let stock = s.row(0, 0);
        assert_ne!(s.row(1, 0), stock);
        let mut held = [NO_ROW; 7];
        assert_eq!(s.lock(stock, 1, &mut held[1]), Acquire::Granted);
        assert_eq!(s.lock(stock, 1, &mut held[1]), Acquire::AlreadyHeld);
        assert_eq!(s.lock(stock, 2, &mut held[2]), Acquire::Wait);
        assert_eq!(s.lock(stock, 3, &mut held[3]), Acquire::Wait);
        assert_eq!(s.lock(stock, 4, &mut held[4]), Acquire::Wait);
        assert!(s.abandon(stock, 3));
        assert!(!s.abandon(stock, 1), "the holder is not waiting");
        assert_eq!(s.lock_waiters(), 2);
        assert_eq!(release(&mut s, &mut held[1]), [2]);
        assert_eq!(held[1], NO_ROW);
        s.granted(stock, &mut held[2]);
        assert_eq!(release(&mut s, &mut held[2]), [4]);
        s.granted(stock, &mut held[4]);
        assert_eq!(release(&mut s, &mut held[4]), []);
        assert_eq!(lock1(&mut s, stock, 5), Acquire::Granted, "free again");
        let cart = s.row(1, 0);
        assert_eq!(lock1(&mut s, cart, 6), Acquire::Granted, "other rows are independent");
    }

    #[test]
    fn a_transaction_holds_its_rows_until_it_releases_them_all() {
        let mut s = server(10);
        let (stock, cart0, cart2) = (s.row(0, 0), s.row(1, 0), s.row(1, 2));
        let mut t1 = NO_ROW;
        for row in [stock, cart0, cart2] {
            assert_eq!(s.lock(row, 1, &mut t1), Acquire::Granted);
        }
        // Two transactions wait on t1's rows, one of them on two.
        let mut t2 = NO_ROW;
        assert_eq!(s.lock(cart0, 2, &mut t2), Acquire::Wait);
        let mut t3 = NO_ROW;
        assert_eq!(s.lock(stock, 3, &mut t3), Acquire::Wait);
        assert_eq!(s.lock_waiters(), 2);
        assert_eq!(s.rows_held(), 3);
        // The commit releases all three rows at once: each row's first waiter
        // holds it now (the chain runs from the last row taken).
        let mut granted = release(&mut s, &mut t1);
        granted.sort();
        assert_eq!(granted, [2, 3]);
        assert_eq!(s.rows_held(), 2, "cart2 is free, the others are held by their waiters");
        assert_eq!(s.lock_waiters(), 0);
        s.granted(cart0, &mut t2);
        assert_eq!(s.lock(cart2, 2, &mut t2), Acquire::Granted);
        assert_eq!(release(&mut s, &mut t2), []);
        assert_eq!(s.rows_held(), 1, "only the stock row, held by 3");
    }

    #[test]
    fn a_lock_wait_times_out_at_the_checkers_next_tick() {
        // 50 s after a wait that began at 0.2 s is 50.2 s; the checker next
        // runs at 51 s. A wait due on a tick is caught one tick later (the
        // check is wait > timeout).
        let s = server(10);
        let sec = LOCK_CHECK_PERIOD;
        assert_eq!(s.lock_wait_deadline(sec / 5), 51 * sec);
        assert_eq!(s.lock_wait_deadline(0), 51 * sec);
        assert_eq!(s.lock_wait_deadline(sec - 1), 51 * sec);
        assert_eq!(s.lock_wait_deadline(sec), 52 * sec);
        assert!(
            s.lock_wait_deadline(u64::MAX - 5) >= u64::MAX - 5,
            "saturates, never wraps"
        );
    }

    #[test]
    fn commits_during_a_flush_share_the_next_one() {
        let mut s = server(10);
        let mut served = Vec::new();
        // The first commit finds the log idle: a flush of its own, 2 ms.
        assert_eq!(s.commit(1, 2), Some(2));
        // Three commits arrive while it runs: they wait, and the first of
        // them says how long the next flush takes.
        assert_eq!(s.commit(2, 5), None);
        assert_eq!(s.commit(3, 7), None);
        assert_eq!(s.commit(4, 9), None);
        assert_eq!(s.log_flushes(), 1);
        // The first flush serves only the first commit; the next starts at
        // once for the other three.
        assert_eq!(s.flush_done(&mut served), Some(5));
        assert_eq!(served, [1]);
        assert_eq!(s.commit(5, 1), None, "arrived during the second flush");
        served.clear();
        assert_eq!(s.flush_done(&mut served), Some(1));
        assert_eq!(served, [2, 3, 4]);
        served.clear();
        assert_eq!(s.flush_done(&mut served), None);
        assert_eq!(served, [5]);
        assert_eq!(s.log_flushes(), 3);
        assert_eq!(s.commit(6, 4), Some(4), "the log is idle again");
    }

    #[test]
    fn rows_take_memory_only_while_held() {
        // Four billion rows per set: once a Vec of them aborted on allocation.
        let cfg = MySql {
            max_connections: 10,
            long_query_time: 1,
            innodb_lock_wait_timeout: 50,
        };
        let sets = [u32::MAX, u32::MAX].map(|rows| Lock { name: "t".into(), rows });
        let mut s: Server<u32> = Server::new(cfg, &sets);
        let last = s.row(1, u32::MAX - 1);
        assert_ne!(last, s.row(0, u32::MAX - 1));
        assert_ne!(last, NO_ROW);
        let (mut t1, mut t2, mut t3) = (NO_ROW, NO_ROW, NO_ROW);
        assert_eq!(s.lock(last, 1, &mut t1), Acquire::Granted);
        assert_eq!(s.lock(last, 2, &mut t2), Acquire::Wait);
        let other = s.row(0, u32::MAX - 1);
        assert_eq!(
            s.lock(other, 3, &mut t3),
            Acquire::Granted,
            "the same row number in another set"
        );
        assert_eq!(s.rows_held(), 2);
        assert_eq!(release(&mut s, &mut t1), [2]);
        s.granted(last, &mut t2);
        assert_eq!(release(&mut s, &mut t2), []);
        assert_eq!(release(&mut s, &mut t3), []);
        assert_eq!(s.rows_held(), 0);
        // A million distinct rows locked and released leave nothing behind.
        for n in 0..1_000_000 {
            let row = s.row(0, n * 4_000);
            let mut t = NO_ROW;
            assert_eq!(s.lock(row, n, &mut t), Acquire::Granted);
            assert_eq!(release(&mut s, &mut t), []);
        }
        assert_eq!(s.rows_held(), 0);
        assert!(!s.abandon(last, 2), "nobody waits on a free row");
    }
}
