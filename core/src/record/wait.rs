//! Where requests wait: one latency histogram per queue a component declares
//! ([`RecordBuilder::add_wait`](super::RecordBuilder::add_wait)): FPM's
//! listen backlog today, HAProxy's server queue or a pod's accept queue
//! tomorrow. Each is kept per window, as the end-to-end latency is.

use std::borrow::Cow;

/// A wait a record measures.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HistogramSpec {
    /// A stable key: CSV columns are `<key>_count`, `<key>_mean_ms`, …
    pub key: Cow<'static, str>,
    /// What people call it in charts and tables.
    pub label: Cow<'static, str>,
}

impl HistogramSpec {
    /// A spec known at compile time, as in [`standard`].
    pub const fn new(key: &'static str, label: &'static str) -> HistogramSpec {
        HistogramSpec {
            key: Cow::Borrowed(key),
            label: Cow::Borrowed(label),
        }
    }
}

/// Handle of a wait histogram declared on a record: its position in
/// [`Record::waits`](super::Record::waits) and in each window's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HistogramId(pub(super) u16);

impl HistogramId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// The waits every era shares, by the key their CSV columns carry.
pub mod standard {
    use super::HistogramSpec;

    /// Time a request spent in FPM's listen backlog before a child took it.
    /// Its key is the one the CSV columns (`queue_wait_mean_ms`, …) and
    /// summary.json's `queue_wait_ms` had before waits were declared.
    pub const FPM_BACKLOG: HistogramSpec = HistogramSpec::new("queue_wait", "FPM listen backlog wait");
    /// Time a query waited for a row lock that it then got.
    pub const LOCK_WAIT: HistogramSpec = HistogramSpec::new("lock_wait", "MySQL row-lock wait");
    /// Time a request waited in HAProxy's queue before a server's slot
    /// freed for it.
    pub const HAPROXY_QUEUE: HistogramSpec = HistogramSpec::new("haproxy_queue_wait", "HAProxy queue wait");
}
