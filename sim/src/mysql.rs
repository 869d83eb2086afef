//! MySQL's side of a query: client connections against `max_connections`
//! and exclusive row locks granted in arrival order (InnoDB's FIFO lock queue).
//! CPU-burning work runs on the database host's [`crate::cpu::Cpu`].

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use lab_core::scenario::{Lock, MySql};

use crate::sample::mix64;

/// A row: its lock set in the high half, the row number in the low half.
/// Lock sets may hold `u32::MAX` rows each.
pub type RowId = u64;

/// A row that is held; its waiters in arrival order.
struct Row<K> {
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
}

impl<K: Copy + PartialEq> Server<K> {
    pub fn new(cfg: MySql, locks: &[Lock]) -> Server<K> {
        assert!(locks.len() <= u32::MAX as usize, "at most 2^32 lock sets");
        Server {
            cfg,
            connections: 0,
            held: HashMap::default(),
            spare: Vec::new(),
            rows: locks.iter().map(|l| l.rows).collect(),
            waiting: 0,
        }
    }

    /// Opens a connection; `false` means ERROR 1040 (Too many connections).
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

    /// Takes the row for `key`, or queues `key` behind its holder. Returns
    /// whether the lock was granted at once.
    pub fn lock(&mut self, row: RowId, key: K) -> bool {
        match self.held.entry(row) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(Row {
                    waiters: self.spare.pop().unwrap_or_default(),
                });
                true
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                o.get_mut().waiters.push_back(key);
                self.waiting += 1;
                false
            }
        }
    }

    /// Releases the row; the next waiter, if any, now holds it.
    pub fn unlock(&mut self, row: RowId) -> Option<K> {
        let r = self.held.get_mut(&row).expect("unlock of a row that is held");
        match r.waiters.pop_front() {
            Some(next) => {
                self.waiting -= 1;
                Some(next)
            }
            None => {
                let r = self.held.remove(&row).expect("the row just looked up");
                if r.waiters.capacity() > 0 && self.spare.len() < SPARE_QUEUES {
                    self.spare.push(r.waiters);
                }
                None
            }
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
            innodb_lock_wait_timeout: 50,
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

    #[test]
    fn max_connections_refuses_the_next() {
        let mut s = server(2);
        assert!(s.connect());
        assert!(s.connect());
        assert!(!s.connect());
        s.disconnect();
        assert!(s.connect());
    }

    #[test]
    fn row_locks_are_granted_in_order() {
        let mut s = server(10);
        let stock = s.row(0, 0);
        assert_ne!(s.row(1, 0), stock);
        assert!(s.lock(stock, 1));
        assert!(!s.lock(stock, 2));
        assert!(!s.lock(stock, 3));
        assert!(!s.lock(stock, 4));
        assert!(s.abandon(stock, 3));
        assert!(!s.abandon(stock, 1), "the holder is not waiting");
        assert_eq!(s.lock_waiters(), 2);
        assert_eq!(s.unlock(stock), Some(2));
        assert_eq!(s.unlock(stock), Some(4));
        assert_eq!(s.unlock(stock), None);
        assert!(s.lock(stock, 5), "free again");
        assert!(s.lock(s.row(1, 0), 6), "other rows are independent");
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
        assert!(s.lock(last, 1));
        assert!(!s.lock(last, 2));
        assert!(s.lock(s.row(0, u32::MAX - 1), 3), "the same row number in another set");
        assert_eq!(s.rows_held(), 2);
        assert_eq!(s.unlock(last), Some(2));
        assert_eq!(s.unlock(last), None);
        assert_eq!(s.unlock(s.row(0, u32::MAX - 1)), None);
        assert_eq!(s.rows_held(), 0);
        // A million distinct rows locked and released leave nothing behind.
        for n in 0..1_000_000 {
            let row = s.row(0, n * 4_000);
            assert!(s.lock(row, n));
            assert_eq!(s.unlock(row), None);
        }
        assert_eq!(s.rows_held(), 0);
        assert!(!s.abandon(last, 2), "nobody waits on a free row");
    }
}
