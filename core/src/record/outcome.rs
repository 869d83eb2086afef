//! How a request ended, by cause, as the client saw it.
//!
//! The causes are declared by the components that produce them
//! ([`RecordBuilder::add_outcome`](super::RecordBuilder::add_outcome)), not
//! fixed here: nginx, FPM and MySQL declare theirs today, HAProxy, a VIP pair
//! or a pod scheduler theirs tomorrow, and every report reads them the same
//! way. [`standard`] lists the specs every era shares, so that one cause keeps
//! one key (a CSV column, a summary.json key) whichever component records it.

use std::borrow::Cow;
use std::ops::{Index, IndexMut};

/// One way a request can end, as a record declares it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OutcomeSpec {
    /// A stable key for CSV columns and summary.json, e.g. `backlog_full_502`.
    pub key: Cow<'static, str>,
    /// What people call it in charts and tables, e.g. `502 backlog full`.
    pub label: Cow<'static, str>,
    /// The HTTP status the client received; `None` when it received none
    /// (it gave up, or the connection failed).
    pub http_status: Option<u16>,
}

impl OutcomeSpec {
    /// A spec known at compile time, as in [`standard`].
    pub const fn new(key: &'static str, label: &'static str, http_status: Option<u16>) -> OutcomeSpec {
        OutcomeSpec {
            key: Cow::Borrowed(key),
            label: Cow::Borrowed(label),
            http_status,
        }
    }
}

/// Handle of an outcome declared on a record: an index into its
/// [`OutcomeCounts`]. Small and `Copy`, so facts carrying it stay small.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutcomeId(pub(super) u16);

impl OutcomeId {
    /// Every record declares [`standard::OK`] first, so success is the same
    /// id everywhere and needs no look-up.
    pub const OK: OutcomeId = OutcomeId(0);

    /// Its position in the record's outcomes (and in its counts).
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    pub fn is_error(self) -> bool {
        self != OutcomeId::OK
    }
}

/// The specs every era shares. A component declares the ones it can
/// produce; the keys are what CSV columns and summary.json are named after,
/// so they never change.
pub mod standard {
    use super::OutcomeSpec;

    /// 200: the response arrived in time. Every record declares it first.
    pub const OK: OutcomeSpec = OutcomeSpec::new("ok", "200 ok", Some(200));
    /// 502: FPM's listen backlog was full, nginx could not hand the request over.
    pub const BACKLOG_FULL: OutcomeSpec = OutcomeSpec::new("backlog_full_502", "502 backlog full", Some(502));
    /// 504: FPM did not answer within nginx's `fastcgi_read_timeout`.
    pub const UPSTREAM_TIMEOUT: OutcomeSpec =
        OutcomeSpec::new("upstream_timeout_504", "504 upstream timeout", Some(504));
    /// 502: FPM killed the worker at `request_terminate_timeout`.
    pub const TERMINATED: OutcomeSpec = OutcomeSpec::new("terminated_502", "502 terminated", Some(502));
    /// 500: MySQL ERROR 1040, too many connections.
    pub const TOO_MANY_CONNECTIONS: OutcomeSpec = OutcomeSpec::new("mysql_1040_500", "500 MySQL 1040", Some(500));
    /// 500: MySQL ERROR 1205, lock wait timeout exceeded.
    pub const LOCK_WAIT_TIMEOUT: OutcomeSpec = OutcomeSpec::new("mysql_1205_500", "500 MySQL 1205", Some(500));
    /// No response before the client's own timeout.
    pub const CLIENT_TIMEOUT: OutcomeSpec = OutcomeSpec::new("client_timeout", "client timeout", None);

    /// 503 from HAProxy: no server up, `timeout queue`, a full queue, or
    /// every connection retry failed.
    pub const LB_UNAVAILABLE: OutcomeSpec = OutcomeSpec::new("haproxy_503", "503 HAProxy", Some(503));
    /// 504 from HAProxy: the server said nothing within `timeout server`.
    pub const LB_TIMEOUT: OutcomeSpec = OutcomeSpec::new("haproxy_504", "504 HAProxy", Some(504));
    /// Nobody answered the client's connection attempts (a VIP gap, a dead
    /// entry host) until the kernel gave up.
    pub const CONNECT_FAILED: OutcomeSpec = OutcomeSpec::new("connect_failed", "no answer to connect", None);
    /// The connection broke under the request: it went through a balancer
    /// that died, and the one that took over the address knew nothing of it.
    pub const CONNECTION_RESET: OutcomeSpec = OutcomeSpec::new("connection_reset", "connection reset", None);

    /// 504: a TCP connection to FPM was not established (its SYNs kept
    /// meeting a full backlog) within nginx's `fastcgi_connect_timeout`.
    pub const CONNECT_TIMEOUT: OutcomeSpec = OutcomeSpec::new("connect_timeout_504", "504 connect timeout", Some(504));
    /// 500: nginx accepted the client but had no connection left for FPM
    /// (`worker_connections`).
    pub const NGINX_NO_CONNECTION: OutcomeSpec =
        OutcomeSpec::new("nginx_connections_500", "500 nginx connections", Some(500));
    /// No response: nginx had no connection left for the client and closed
    /// it as soon as it was accepted (`worker_connections`).
    pub const NGINX_CLOSED: OutcomeSpec = OutcomeSpec::new("nginx_closed", "nginx closed", None);
    /// A call to a service got no answer within its timeout; the caller
    /// gave up and answered with an error.
    pub const RPC_TIMEOUT: OutcomeSpec = OutcomeSpec::new("rpc_timeout_504", "504 service call timeout", Some(504));
}

/// A count per declared outcome, indexed by [`OutcomeId`]. Sized once, when
/// the record's outcomes are known: counting a request is one add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeCounts(Vec<u64>);

impl OutcomeCounts {
    /// Zero for each of `outcomes` outcomes (at least `ok`).
    pub fn zeroed(outcomes: usize) -> OutcomeCounts {
        assert!(outcomes > 0, "every record declares the outcome ok");
        OutcomeCounts(vec![0; outcomes])
    }

    /// Room for one more outcome, declared while the first window is open.
    pub(super) fn push_zero(&mut self) {
        self.0.push(0);
    }

    /// How many outcomes are counted.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Everything but [`OutcomeId::OK`].
    pub fn errors(&self) -> u64 {
        self.total() - self[OutcomeId::OK]
    }

    /// Errors over finished requests; `None` when nothing finished.
    pub fn error_rate(&self) -> Option<f64> {
        let t = self.total();
        (t > 0).then(|| self.errors() as f64 / t as f64)
    }

    /// Adds counts of the same record's outcomes.
    pub fn add(&mut self, other: &OutcomeCounts) {
        assert_eq!(self.len(), other.len(), "counts of one record's outcomes");
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += b;
        }
    }

    /// Every outcome with its count, in the order they were declared.
    pub fn iter(&self) -> impl Iterator<Item = (OutcomeId, u64)> + '_ {
        self.0.iter().enumerate().map(|(i, n)| (OutcomeId(i as u16), *n))
    }
}

impl Index<OutcomeId> for OutcomeCounts {
    type Output = u64;
    #[inline]
    fn index(&self, o: OutcomeId) -> &u64 {
        &self.0[o.index()]
    }
}

impl IndexMut<OutcomeId> for OutcomeCounts {
    #[inline]
    fn index_mut(&mut self, o: OutcomeId) -> &mut u64 {
        &mut self.0[o.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::standard::*;
    use super::*;

    #[test]
    fn shared_outcomes_keep_their_keys_labels_and_statuses() {
        // These are CSV columns and summary.json keys: they must not change.
        let shared = [
            OK,
            BACKLOG_FULL,
            UPSTREAM_TIMEOUT,
            TERMINATED,
            TOO_MANY_CONNECTIONS,
            LOCK_WAIT_TIMEOUT,
            CLIENT_TIMEOUT,
            LB_UNAVAILABLE,
            LB_TIMEOUT,
            CONNECT_FAILED,
            CONNECTION_RESET,
        ];
        let keys: Vec<_> = shared.iter().map(|o| o.key.as_ref()).collect();
        assert_eq!(
            keys,
            [
                "ok",
                "backlog_full_502",
                "upstream_timeout_504",
                "terminated_502",
                "mysql_1040_500",
                "mysql_1205_500",
                "client_timeout",
                "haproxy_503",
                "haproxy_504",
                "connect_failed",
                "connection_reset"
            ]
        );
        let labels: Vec<_> = shared.iter().map(|o| o.label.as_ref()).collect();
        assert_eq!(
            labels,
            [
                "200 ok",
                "502 backlog full",
                "504 upstream timeout",
                "502 terminated",
                "500 MySQL 1040",
                "500 MySQL 1205",
                "client timeout",
                "503 HAProxy",
                "504 HAProxy",
                "no answer to connect",
                "connection reset"
            ]
        );
        let status: Vec<_> = shared.iter().map(|o| o.http_status).collect();
        assert_eq!(
            status,
            [
                Some(200),
                Some(502),
                Some(504),
                Some(502),
                Some(500),
                Some(500),
                None,
                Some(503),
                Some(504),
                None,
                None
            ]
        );
        assert_eq!(shared[0], OK);
    }

    #[test]
    fn error_rate_counts_every_failure() {
        let mut c = OutcomeCounts::zeroed(3);
        assert_eq!(c.error_rate(), None);
        c[OutcomeId::OK] = 90;
        c[OutcomeId(1)] = 6;
        c[OutcomeId(2)] = 4;
        assert_eq!(c.total(), 100);
        assert_eq!(c.errors(), 10);
        assert_eq!(c.error_rate(), Some(0.1));
        assert!(!OutcomeId::OK.is_error() && OutcomeId(2).is_error());
        let mut sum = c.clone();
        sum.add(&c);
        assert_eq!(
            sum.iter().collect::<Vec<_>>(),
            [(OutcomeId(0), 180), (OutcomeId(1), 12), (OutcomeId(2), 8)]
        );
    }

    #[test]
    #[should_panic(expected = "counts of one record's outcomes")]
    fn counts_of_different_records_do_not_add() {
        OutcomeCounts::zeroed(2).add(&OutcomeCounts::zeroed(3));
    }
}
