//! MySQL's side of a query: client connections against `max_connections`
//! and exclusive row locks granted in arrival order (InnoDB's FIFO lock queue).
//! CPU-burning work runs on the database host's [`crate::cpu::Cpu`].

use std::collections::VecDeque;

use lab_core::scenario::{Lock, MySql};

/// A row: a lock set's base index plus the row number.
pub type RowId = u32;

struct Row<K> {
    held: bool,
    waiters: VecDeque<K>,
}

pub struct Server<K> {
    pub cfg: MySql,
    connections: u32,
    rows: Vec<Row<K>>,
    /// Index of each lock set's first row in `rows`.
    bases: Vec<RowId>,
    waiting: u32,
}

impl<K: Copy + PartialEq> Server<K> {
    pub fn new(cfg: MySql, locks: &[Lock]) -> Server<K> {
        let mut bases = Vec::with_capacity(locks.len());
        let mut rows = Vec::new();
        for l in locks {
            bases.push(rows.len() as RowId);
            rows.extend((0..l.rows).map(|_| Row {
                held: false,
                waiters: VecDeque::new(),
            }));
        }
        Server {
            cfg,
            connections: 0,
            rows,
            bases,
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
        self.bases[lock] + row
    }

    /// Takes the row for `key`, or queues `key` behind its holder. Returns
    /// whether the lock was granted at once.
    pub fn lock(&mut self, row: RowId, key: K) -> bool {
        let r = &mut self.rows[row as usize];
        if !r.held {
            r.held = true;
            return true;
        }
        r.waiters.push_back(key);
        self.waiting += 1;
        false
    }

    /// Releases the row; the next waiter, if any, now holds it.
    pub fn unlock(&mut self, row: RowId) -> Option<K> {
        let r = &mut self.rows[row as usize];
        debug_assert!(r.held);
        match r.waiters.pop_front() {
            Some(next) => {
                self.waiting -= 1;
                Some(next)
            }
            None => {
                r.held = false;
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
        let r = &mut self.rows[row as usize];
        match r.waiters.iter().position(|k| *k == key) {
            Some(i) => {
                r.waiters.remove(i);
                self.waiting -= 1;
                true
            }
            None => false,
        }
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
        assert_eq!(s.row(1, 2), 3);
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
}
