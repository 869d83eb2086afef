//! How a real request ended, as its client saw it, and the record's
//! outcome for each cause.
//!
//! A client sees less than the simulator knows: a 502 is a 502, whether FPM's
//! backlog was full or a worker was killed. So a measured record counts HTTP
//! errors by status (`http_502`), and transport failures by what the socket
//! said (refused, reset, no answer to connect), with the shared keys of
//! [`outcomes`] where the meaning is the same (`client_timeout`,
//! `connect_failed`, `connection_reset`).

use std::error::Error as _;
use std::io;

use lab_core::record::{OutcomeId, OutcomeSpec, RecordBuilder, outcomes};

/// An arrival no user was free to send at its time (the pool was busy).
pub const DROPPED: OutcomeSpec = OutcomeSpec::new("dropped", "dropped (no user free)", None);
/// The target refused the connection (nothing listening, or a full
/// accept queue on a unix socket behind it).
pub const CONNECTION_REFUSED: OutcomeSpec = OutcomeSpec::new("connection_refused", "connection refused", None);
/// Any other failure below HTTP: a malformed response, a broken body.
pub const TRANSPORT: OutcomeSpec = OutcomeSpec::new("transport_error", "transport error", None);
/// Statuses with an outcome of their own; others go by class.
const STATUSES: [(u16, &str, &str); 4] = [
    (500, "http_500", "500"),
    (502, "http_502", "502"),
    (503, "http_503", "503"),
    (504, "http_504", "504"),
];
pub const HTTP_4XX: OutcomeSpec = OutcomeSpec::new("http_4xx", "4xx", Some(400));
pub const HTTP_5XX: OutcomeSpec = OutcomeSpec::new("http_5xx", "other 5xx", Some(500));
/// 1xx and 3xx: redirects are not followed, since the scenario's endpoint
/// is the page whose latency is measured.
pub const HTTP_OTHER: OutcomeSpec = OutcomeSpec::new("http_other", "1xx/3xx", Some(300));

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A response with this status arrived, body included.
    Status(u16),
    /// No complete response within the client's timeout.
    Timeout,
    /// The connection was not made within the connect timeout.
    ConnectTimeout,
    Refused,
    /// The connection broke under the request (RST, or closed before the
    /// response ended).
    Reset,
    Transport,
    Dropped,
}

impl Cause {
    /// What a failed request's error says about the socket under it.
    pub fn of(e: &reqwest::Error) -> Cause {
        let kind = io_kind(e);
        if e.is_connect() {
            return match kind {
                Some(io::ErrorKind::ConnectionRefused) => Cause::Refused,
                _ if e.is_timeout() => Cause::ConnectTimeout,
                Some(io::ErrorKind::TimedOut) => Cause::ConnectTimeout,
                _ => Cause::Transport,
            };
        }
        if e.is_timeout() {
            return Cause::Timeout;
        }
        match kind {
            Some(
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof,
            ) => Cause::Reset,
            _ if closed_early(e) => Cause::Reset,
            _ => Cause::Transport,
        }
    }
}

/// The first I/O error under `e`.
fn io_kind(e: &reqwest::Error) -> Option<io::ErrorKind> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// hyper's "connection closed before message completed": the server closed
/// the connection with the request unanswered, which a client sees as a
/// reset. hyper says so only in its message (its error type is private to
/// reqwest's public API).
fn closed_early(e: &reqwest::Error) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if text.contains("connection closed before message completed") || text.contains("connection reset") {
            return true;
        }
        source = s.source();
    }
    false
}

/// The outcomes a measured record declares, and the id of each cause.
#[derive(Clone, Debug)]
pub struct Outcomes {
    dropped: OutcomeId,
    timeout: OutcomeId,
    connect_failed: OutcomeId,
    refused: OutcomeId,
    reset: OutcomeId,
    transport: OutcomeId,
    statuses: [OutcomeId; 4],
    http_4xx: OutcomeId,
    http_5xx: OutcomeId,
    http_other: OutcomeId,
}

impl Outcomes {
    /// Declares every cause a client can see, so a record's columns do not
    /// depend on what happened in one run.
    pub fn declare(b: &mut RecordBuilder) -> Outcomes {
        let statuses = STATUSES.map(|(code, key, label)| b.add_outcome(OutcomeSpec::new(key, label, Some(code))));
        Outcomes {
            statuses,
            http_4xx: b.add_outcome(HTTP_4XX),
            http_5xx: b.add_outcome(HTTP_5XX),
            http_other: b.add_outcome(HTTP_OTHER),
            timeout: b.add_outcome(outcomes::CLIENT_TIMEOUT),
            connect_failed: b.add_outcome(outcomes::CONNECT_FAILED),
            refused: b.add_outcome(CONNECTION_REFUSED),
            reset: b.add_outcome(outcomes::CONNECTION_RESET),
            transport: b.add_outcome(TRANSPORT),
            dropped: b.add_outcome(DROPPED),
        }
    }

    pub fn id(&self, cause: Cause) -> OutcomeId {
        match cause {
            Cause::Status(s) if (200..300).contains(&s) => OutcomeId::OK,
            Cause::Status(s) => match STATUSES.iter().position(|(c, _, _)| *c == s) {
                Some(i) => self.statuses[i],
                None if (400..500).contains(&s) => self.http_4xx,
                None if (500..600).contains(&s) => self.http_5xx,
                None => self.http_other,
            },
            Cause::Timeout => self.timeout,
            Cause::ConnectTimeout => self.connect_failed,
            Cause::Refused => self.refused,
            Cause::Reset => self.reset,
            Cause::Transport => self.transport,
            Cause::Dropped => self.dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::record::{RecordMeta, Source};

    #[test]
    fn every_cause_has_its_outcome() {
        let mut b = RecordBuilder::new(RecordMeta {
            scenario: "t".into(),
            era: "e".into(),
            model: "real".into(),
            source: Source::Measured,
            seed: 1,
            window: 1_000_000_000,
            warmup: 0,
            duration: 1_000_000_000,
            price_per_hour: 0.0,
        });
        let o = Outcomes::declare(&mut b);
        let r = b.finish(1_000_000_000, 0, |_, _| 0.0);
        let key = |c| r.outcome(o.id(c)).key.to_string();
        assert_eq!(key(Cause::Status(200)), "ok");
        assert_eq!(key(Cause::Status(204)), "ok");
        assert_eq!(key(Cause::Status(502)), "http_502");
        assert_eq!(key(Cause::Status(503)), "http_503");
        assert_eq!(key(Cause::Status(404)), "http_4xx");
        assert_eq!(key(Cause::Status(507)), "http_5xx");
        assert_eq!(key(Cause::Status(302)), "http_other");
        assert_eq!(key(Cause::Timeout), "client_timeout");
        assert_eq!(key(Cause::ConnectTimeout), "connect_failed");
        assert_eq!(key(Cause::Refused), "connection_refused");
        assert_eq!(key(Cause::Reset), "connection_reset");
        assert_eq!(key(Cause::Dropped), "dropped");
        assert_eq!(r.outcome(o.id(Cause::Status(502))).http_status, Some(502));
    }
}
