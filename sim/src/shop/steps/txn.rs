//! A request's row locks and transaction: a lock wait that times out, the
//! rows a transaction holds until COMMIT, the commit's wait for the redo
//! log (group commit), and the rollback that frees the rows when the
//! request ends without one. The state lives in [`crate::nodes::mysql::Server`];
//! these are the events around it.

use super::super::{Ev, Key, Phase, Shop};
use super::Freed;
use crate::engine::after;
use crate::nodes::mysql::NO_ROW;

impl Shop {
    /// A waiter now holds the row: it joins its transaction's rows.
    pub(super) fn lock_granted(&mut self, key: Key) -> Option<Freed> {
        let r = &mut self.reqs[key.slot as usize];
        self.rec.wait(self.now, self.lock_wait, self.now - r.query_start);
        let row = std::mem::replace(&mut r.row, NO_ROW);
        debug_assert_ne!(row, NO_ROW, "a granted request waited for a row");
        self.dbs[self.webs[r.web as usize].db as usize]
            .server
            .granted(row, &mut r.held);
        self.after_lock(key)
    }

    /// COMMIT: InnoDB commits in memory first, releasing every row lock
    /// (`trx_commit_in_memory`), then waits for the redo log to be flushed
    /// (`trx_flush_log_if_needed`), sharing a flush with the commits that
    /// wait with it. Without the binary log, as MariaDB and MySQL before 8.0
    /// ship, nothing holds the rows during the fsync.
    pub(super) fn commit(&mut self, key: Key, flush: u64) -> Option<Freed> {
        self.reqs[key.slot as usize].in_txn = false;
        self.release_rows(key);
        self.reqs[key.slot as usize].phase = Phase::Commit;
        self.rec.count(self.now, self.counters.commits, 1);
        let db = self.webs[self.reqs[key.slot as usize].web as usize].db;
        if let Some(len) = self.dbs[db as usize].server.commit(key, flush) {
            self.flush_starts(db, len);
        }
        None
    }

    fn flush_starts(&mut self, db: u32, len: u64) {
        let slot = self.dbs[db as usize].flush.as_ref().expect("a database that commits");
        self.sched.set_slot(slot, after(self.now, len), Ev::FlushDone(db));
        self.rec.count(self.now, self.counters.log_flushes, 1);
    }

    /// The flush has ended: every commit it served is done. If commits
    /// arrived meanwhile, the next flush starts first, for all of them.
    pub(super) fn flush_done(&mut self, db: u32) {
        self.served.clear();
        match self.dbs[db as usize].server.flush_done(&mut self.served) {
            Some(len) => self.flush_starts(db, len),
            None => {
                let slot = self.dbs[db as usize].flush.as_ref().expect("a database that commits");
                self.sched.clear_slot(slot);
            }
        }
        // `served` is this function's list; nothing it calls touches it.
        for i in 0..self.served.len() {
            let key = self.served[i];
            debug_assert!(self.live(key), "a commit in progress keeps its request");
            if let Some((web, child)) = self.end_query(key) {
                self.child_free(web, child);
            }
        }
    }

    /// Releases every row the request's transaction holds (a commit, or
    /// the rollback when the request ends without one), granting each row
    /// to its first waiter.
    #[inline(always)]
    pub(in crate::shop) fn release_rows(&mut self, key: Key) {
        if self.reqs[key.slot as usize].held != NO_ROW {
            self.release_held_rows(key);
        }
    }

    /// [`Shop::release_rows`] for a request that holds some.
    fn release_held_rows(&mut self, key: Key) {
        let r = &mut self.reqs[key.slot as usize];
        self.granted.clear();
        let db = &mut self.dbs[self.webs[r.web as usize].db as usize].server;
        db.release_all(&mut r.held, &mut self.granted);
        for &next in &self.granted {
            self.sched.at(self.now, Ev::LockGranted(next));
        }
    }

    /// ERROR 1205 at the lock checker's tick, unless the wait has ended.
    pub(super) fn lock_timeout(&mut self, key: Key) -> Option<Freed> {
        let now = self.now;
        let r = &mut self.reqs[key.slot as usize];
        let db = &mut self.dbs[self.webs[r.web as usize].db as usize].server;
        if r.phase != Phase::LockWait || db.lock_wait_deadline(r.query_start) != now {
            return None; // an earlier wait of this request, long over
        }
        let row = r.row;
        debug_assert_ne!(row, NO_ROW, "a waiting query has a row");
        if !db.abandon(row, key) {
            // Granted at this same instant (its LockGranted event is
            // pending): the query goes ahead, as in InnoDB where a granted
            // lock ends the wait.
            return None;
        }
        r.row = NO_ROW;
        // The statement took innodb_lock_wait_timeout before failing: it
        // counts as slow like any other.
        if now - r.query_start > db.cfg.long_query_time {
            self.rec.count(now, self.counters.slow_queries, 1);
        }
        if self.reqs[key.slot as usize].terminated {
            self.drop_request(key);
            return None;
        }
        // ERROR 1205 rolls back the statement only
        // (innodb_rollback_on_timeout = OFF), but reaches PHP as an
        // exception: a 500, and `finish` rolls the rest back.
        self.finish(key, self.outcomes.lock_wait_timeout)
    }
}
