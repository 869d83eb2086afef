//! How a request ended, by cause, as the client saw it.

use std::ops::{Index, IndexMut};

/// The end of one request from the client's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// 200: the response arrived in time.
    Ok,
    /// 502: FPM's listen backlog was full, nginx could not hand the request over.
    BacklogFull,
    /// 504: FPM did not answer within nginx's `fastcgi_read_timeout`.
    UpstreamTimeout,
    /// 502: FPM killed the worker at `request_terminate_timeout`.
    Terminated,
    /// 500: MySQL ERROR 1040, too many connections.
    TooManyConnections,
    /// 500: MySQL ERROR 1205, lock wait timeout exceeded.
    LockWaitTimeout,
    /// No response before the client's own timeout.
    ClientTimeout,
    /// 503 from HAProxy: no server up, `timeout queue`, a full queue, or
    /// every connection retry failed.
    LbUnavailable,
    /// 504 from HAProxy: the server said nothing within `timeout server`.
    LbTimeout,
    /// Nobody answered the client's connection attempts (a VIP gap, a dead
    /// entry host) until the kernel gave up.
    ConnectFailed,
    /// The connection broke under the request: it went through a balancer
    /// that died, and the one that took over the address knew nothing of it.
    ConnectionReset,
    /// 504: a TCP connection to FPM was not established (its SYNs kept
    /// meeting a full backlog) within nginx's `fastcgi_connect_timeout`.
    ConnectTimeout,
    /// 500: nginx accepted the client but had no connection left for FPM
    /// (`worker_connections`).
    NginxNoConnection,
    /// No response: nginx had no connection left for the client and closed
    /// it as soon as it was accepted (`worker_connections`).
    NginxClosed,
}

impl Outcome {
    pub const COUNT: usize = 14;
    pub const ALL: [Outcome; Outcome::COUNT] = [
        Outcome::Ok,
        Outcome::BacklogFull,
        Outcome::UpstreamTimeout,
        Outcome::Terminated,
        Outcome::TooManyConnections,
        Outcome::LockWaitTimeout,
        Outcome::ClientTimeout,
        Outcome::LbUnavailable,
        Outcome::LbTimeout,
        Outcome::ConnectFailed,
        Outcome::ConnectionReset,
        Outcome::ConnectTimeout,
        Outcome::NginxNoConnection,
        Outcome::NginxClosed,
    ];

    /// A stable key for CSV columns and summary.json.
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::BacklogFull => "backlog_full_502",
            Outcome::UpstreamTimeout => "upstream_timeout_504",
            Outcome::Terminated => "terminated_502",
            Outcome::TooManyConnections => "mysql_1040_500",
            Outcome::LockWaitTimeout => "mysql_1205_500",
            Outcome::ClientTimeout => "client_timeout",
            Outcome::LbUnavailable => "haproxy_503",
            Outcome::LbTimeout => "haproxy_504",
            Outcome::ConnectFailed => "connect_failed",
            Outcome::ConnectionReset => "connection_reset",
            Outcome::ConnectTimeout => "connect_timeout_504",
            Outcome::NginxNoConnection => "nginx_connections_500",
            Outcome::NginxClosed => "nginx_closed",
        }
    }

    /// What people call it in charts and tables.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "200 ok",
            Outcome::BacklogFull => "502 backlog full",
            Outcome::UpstreamTimeout => "504 upstream timeout",
            Outcome::Terminated => "502 terminated",
            Outcome::TooManyConnections => "500 MySQL 1040",
            Outcome::LockWaitTimeout => "500 MySQL 1205",
            Outcome::ClientTimeout => "client timeout",
            Outcome::LbUnavailable => "503 HAProxy",
            Outcome::LbTimeout => "504 HAProxy",
            Outcome::ConnectFailed => "no answer to connect",
            Outcome::ConnectionReset => "connection reset",
            Outcome::ConnectTimeout => "504 connect timeout",
            Outcome::NginxNoConnection => "500 nginx connections",
            Outcome::NginxClosed => "nginx closed",
        }
    }

    /// The HTTP status the client received, if any.
    pub fn http_status(self) -> Option<u16> {
        match self {
            Outcome::Ok => Some(200),
            Outcome::BacklogFull | Outcome::Terminated => Some(502),
            Outcome::UpstreamTimeout | Outcome::ConnectTimeout => Some(504),
            Outcome::TooManyConnections | Outcome::LockWaitTimeout | Outcome::NginxNoConnection => Some(500),
            Outcome::LbUnavailable => Some(503),
            Outcome::LbTimeout => Some(504),
            Outcome::ClientTimeout | Outcome::ConnectFailed | Outcome::ConnectionReset | Outcome::NginxClosed => None,
        }
    }

    pub fn is_error(self) -> bool {
        self != Outcome::Ok
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A count per [`Outcome`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutcomeCounts([u64; Outcome::COUNT]);

impl OutcomeCounts {
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn errors(&self) -> u64 {
        self.total() - self[Outcome::Ok]
    }

    /// Errors over finished requests; `None` when nothing finished.
    pub fn error_rate(&self) -> Option<f64> {
        let t = self.total();
        (t > 0).then(|| self.errors() as f64 / t as f64)
    }

    pub fn add(&mut self, other: &OutcomeCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (Outcome, u64)> + '_ {
        Outcome::ALL.iter().map(|o| (*o, self[*o]))
    }
}

impl Index<Outcome> for OutcomeCounts {
    type Output = u64;
    fn index(&self, o: Outcome) -> &u64 {
        &self.0[o.index()]
    }
}

impl IndexMut<Outcome> for OutcomeCounts {
    fn index_mut(&mut self, o: Outcome) -> &mut u64 {
        &mut self.0[o.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_indexes_match() {
        let mut keys: Vec<_> = Outcome::ALL.iter().map(|o| o.key()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), Outcome::COUNT);
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(o.index(), i);
        }
    }

    #[test]
    fn statuses_are_the_ones_nginx_and_php_send() {
        let status: Vec<_> = Outcome::ALL.iter().map(|o| o.http_status()).collect();
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
                None,
                Some(504),
                Some(500),
                None
            ]
        );
        assert!(Outcome::ALL.iter().all(|o| o.is_error() == (*o != Outcome::Ok)));
    }

    #[test]
    fn error_rate_counts_every_failure() {
        let mut c = OutcomeCounts::default();
        assert_eq!(c.error_rate(), None);
        c[Outcome::Ok] = 90;
        c[Outcome::BacklogFull] = 6;
        c[Outcome::ClientTimeout] = 4;
        assert_eq!(c.total(), 100);
        assert_eq!(c.error_rate(), Some(0.1));
    }
}
