//! What a run produced, simulated or measured: per-window latency
//! histograms, outcome counts by cause, wait histograms, gauges
//! (utilisation, queue lengths, connections) and counters, plus whole-run
//! totals.
//!
//! Outcomes, waits, gauges and counters are declared by the components that
//! produce them, each with a key and a label, so that a record speaks every
//! era: the reports iterate over what a record declares. [`outcomes`] and
//! [`waits`] hold the specs eras share; outcome 0 is always
//! [`outcomes::OK`], so success means the same in every record.
//!
//! ```
//! use lab_core::record::{outcomes, waits, OutcomeId, RecordBuilder, RecordMeta, Source};
//!
//! let mut b = RecordBuilder::new(RecordMeta {
//!     scenario: "demo".into(),
//!     era: "silver".into(),
//!     model: "silver".into(),
//!     source: Source::Simulated,
//!     seed: 1,
//!     window: 1_000_000_000,
//!     warmup: 0,
//!     duration: 2_000_000_000,
//!     price_per_hour: 0.0,
//! });
//! // A component declares what it can record when it is built...
//! let unavailable = b.add_outcome(outcomes::LB_UNAVAILABLE);
//! let backlog = b.add_wait(waits::FPM_BACKLOG);
//! // ...and records by id.
//! b.wait(10_000_000, backlog, 4_000_000);
//! b.outcome(30_000_000, OutcomeId::OK, 30_000_000);
//! b.outcome(1_200_000_000, unavailable, 1_000_000);
//! let r = b.finish(2_000_000_000, 0, |_, _| 1.0);
//! assert_eq!(r.outcome_id("haproxy_503"), Some(unavailable));
//! assert_eq!(r.windows[1].outcomes[unavailable], 1);
//! assert_eq!(r.totals.waits[r.wait_index("queue_wait").unwrap()].count(), 1);
//! ```
//!
//! A [`RecordBuilder`] takes events in time order and closes windows as time
//! passes; its memory depends on the number of windows, never on the number
//! of requests. A [`FactSender`] runs a builder on a thread of its own, so a
//! simulator can record on a second core.

mod builder;
mod coarse;
mod endpoint;
mod facts;
mod latency;
mod outcome;
mod segment;
mod slo;
mod stretch;
mod timeline;
mod wait;

pub use builder::{CounterId, GaugeId, GroupId, RecordBuilder};
pub use coarse::{CoarseGauges, FULL_MEMBERS, POINTS, Point};
pub use endpoint::{EndpointTotals, EndpointWindow, MAX_SPLIT_ENDPOINTS, split_endpoints};
pub use facts::{Fact, FactSender};
pub use latency::{Digest, HIGHEST_NS, LOWEST_NS, Latencies, SIGNIFICANT_FIGURES};
pub use outcome::{OutcomeCounts, OutcomeId, OutcomeSpec, standard as outcomes};
pub use segment::{SETTLE_WINDOWS, Segment, same_rate};
pub use slo::{Check, Verdict, clock, format_ms, percent, thousands};
pub use stretch::Stretch;
pub use timeline::Timeline;
pub use wait::{HistogramId, HistogramSpec, standard as waits};

/// Where the figures came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Simulated,
    Measured,
}

impl Source {
    pub fn key(self) -> &'static str {
        match self {
            Source::Simulated => "simulated",
            Source::Measured => "measured",
        }
    }
}

/// Which run a record belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordMeta {
    pub scenario: String,
    /// The era's label in the scenario.
    pub era: String,
    /// The era's model (`stone`, `bronze`, ...).
    pub model: String,
    pub source: Source,
    pub seed: u64,
    pub window: u64,
    pub warmup: u64,
    pub duration: u64,
    /// What the era's hosts cost an hour together; 0 when not priced.
    pub price_per_hour: f64,
}

/// What a gauge measures, which decides the chart it is drawn in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GaugeKind {
    /// Busy cores of a host; capacity = cores.
    Cpu,
    /// Busy or alive workers of a pool; capacity = max_children.
    Workers,
    /// Requests waiting (listen backlog, lock queues).
    Queue,
    /// Database connections in use; capacity = max_connections.
    Connections,
    /// Requests anywhere in the system.
    InSystem,
}

/// A level that changes over time, averaged over each window.
#[derive(Clone, Debug, PartialEq)]
pub struct GaugeSpec {
    pub key: String,
    pub label: String,
    pub kind: GaugeKind,
    /// The level at which the resource is full, if it has one.
    pub capacity: Option<f64>,
}

/// Gauges of one kind over like hosts (the web nodes' CPUs), which the
/// reports draw together: the busiest apart, the others summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct GaugeGroup {
    pub key: String,
    pub label: String,
    /// Indices in [`Record::gauges`], in the order they were added.
    pub members: Vec<usize>,
}

/// Something that happens, counted per window.
#[derive(Clone, Debug, PartialEq)]
pub struct CounterSpec {
    pub key: String,
    pub label: String,
}

/// Time-weighted mean and maximum of a gauge over a span.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GaugeStat {
    pub mean: f64,
    pub max: f64,
}

/// One statistics window.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub start: u64,
    /// Usually the scenario's window; the last one may be shorter.
    pub len: u64,
    /// The arrival rate the traffic intended (requests per second).
    pub offered: f64,
    pub arrivals: u64,
    /// Requests that ended in this window, by outcome.
    pub outcomes: OutcomeCounts,
    /// End-to-end latency of successful responses that ended in this
    /// window; its histogram too unless the record keeps [`Record::segments`].
    pub latency: Digest,
    /// Waits that ended in this window, in the order of [`Record::waits`]:
    /// their figures, not their histograms (nothing merges a wait over
    /// windows but the totals, which are merged as the windows close).
    pub waits: Vec<Digest>,
    /// The gauges of [`Record::gauges`] before [`CoarseGauges::first`] (all
    /// of them unless a group has more than [`FULL_MEMBERS`] members), in
    /// that order; [`Record::gauge_in_window`] reads any gauge.
    pub gauges: Vec<GaugeStat>,
    /// In the order of [`Record::counters`].
    pub counters: Vec<u64>,
    /// Per endpoint, in the order of [`Record::endpoints`] (none when the
    /// run had one endpoint).
    pub endpoints: Vec<EndpointWindow>,
}

impl Window {
    pub fn seconds(&self) -> f64 {
        self.len as f64 / 1e9
    }

    /// Successful responses per second.
    pub fn throughput(&self) -> f64 {
        self.outcomes[OutcomeId::OK] as f64 / self.seconds()
    }
}

/// Whole-run figures over the windows after the warm-up.
#[derive(Clone, Debug)]
pub struct Totals {
    /// Length of the measured span (run minus warm-up).
    pub span: u64,
    pub arrivals: u64,
    pub outcomes: OutcomeCounts,
    pub latency: Latencies,
    /// In the order of [`Record::waits`].
    pub waits: Vec<Latencies>,
    /// In the order of [`Record::gauges`], exact for coarse gauges too.
    pub gauges: Vec<GaugeStat>,
    pub counters: Vec<u64>,
    /// Requests whose client had no answer yet when the run ended.
    pub unfinished: u64,
    /// Per endpoint, in the order of [`Record::endpoints`].
    pub endpoints: Vec<EndpointTotals>,
}

impl Totals {
    /// Successful responses per second over the measured span.
    pub fn throughput(&self) -> f64 {
        self.outcomes[OutcomeId::OK] as f64 / (self.span as f64 / 1e9)
    }
}

/// Everything one run of one era produced.
#[derive(Clone, Debug)]
pub struct Record {
    pub meta: RecordMeta,
    /// Indexed by [`OutcomeId`]; the first is [`outcomes::OK`].
    pub outcomes: Vec<OutcomeSpec>,
    /// Indexed by [`HistogramId`].
    pub waits: Vec<HistogramSpec>,
    /// The gauges kept in every window first, in the order they were
    /// added, then the coarse ones (see [`CoarseGauges`]), in that order.
    pub gauges: Vec<GaugeSpec>,
    /// Groups of [`Record::gauges`], in the order they were added.
    pub groups: Vec<GaugeGroup>,
    /// The figures of the gauges the windows do not hold.
    pub coarse: CoarseGauges,
    pub counters: Vec<CounterSpec>,
    /// The run's endpoints, whose results [`Window::endpoints`] and
    /// [`Totals::endpoints`] keep apart when there are two to
    /// [`MAX_SPLIT_ENDPOINTS`] (one endpoint's figures are the totals: see
    /// [`Record::endpoint_totals`]).
    pub endpoints: Vec<String>,
    pub windows: Vec<Window>,
    /// The windows merged as they closed, when the builder was told the
    /// spans that are merged later ([`RecordBuilder::merge_by`]): then the
    /// windows keep no histograms and [`Record::latency_over`] merges
    /// these. `None` when every window keeps its histograms.
    pub segments: Option<Vec<Segment>>,
    pub totals: Totals,
    /// Stretches of the run the charts mark: scheduled faults, and the
    /// times nobody held the entry's virtual address.
    pub spans: Vec<Span>,
    /// States over the run (who holds the virtual address), drawn as
    /// strips under the latency chart; filled at the end of a run.
    pub timelines: Vec<Timeline>,
}

/// One endpoint's whole-run figures, borrowed from a record.
#[derive(Clone, Copy, Debug)]
pub struct EndpointView<'a> {
    pub outcomes: &'a OutcomeCounts,
    /// Latency of its successful responses.
    pub latency: &'a Latencies,
}

/// A stretch of the run worth marking on the charts.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub start: u64,
    pub end: u64,
    pub kind: SpanKind,
    /// What happened, for people: `crash lb.master`.
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// A scheduled fault, from its strike to its end (or the run's).
    Fault,
    /// Nobody answered on the entry's address (a VIP gap).
    NoEntry,
}

impl Record {
    /// The id of the outcome declared with `key`, if the record has one.
    pub fn outcome_id(&self, key: &str) -> Option<OutcomeId> {
        let i = self.outcomes.iter().position(|o| o.key == key)?;
        Some(OutcomeId(i as u16))
    }

    /// Every declared outcome, `ok` first.
    pub fn outcome_ids(&self) -> impl Iterator<Item = OutcomeId> + '_ {
        (0..self.outcomes.len()).map(|i| OutcomeId(i as u16))
    }

    /// The spec of a declared outcome.
    pub fn outcome(&self, id: OutcomeId) -> &OutcomeSpec {
        &self.outcomes[id.index()]
    }

    /// The position of the wait declared with `key` in [`Record::waits`]
    /// and in each window's and the totals' waits.
    pub fn wait_index(&self, key: &str) -> Option<usize> {
        self.waits.iter().position(|w| w.key == key)
    }

    /// The whole-run figures of endpoint `i` of [`Record::endpoints`]:
    /// its own, or the totals when the run had that one endpoint.
    pub fn endpoint_totals(&self, i: usize) -> Option<EndpointView<'_>> {
        match self.totals.endpoints.get(i) {
            Some(e) => Some(EndpointView {
                outcomes: &e.outcomes,
                latency: &e.latency,
            }),
            None if i == 0 && self.endpoints.len() == 1 => Some(EndpointView {
                outcomes: &self.totals.outcomes,
                latency: &self.totals.latency,
            }),
            None => None,
        }
    }

    /// Endpoint `i`'s figures in window `w`, like [`Record::endpoint_totals`].
    pub fn endpoint_in_window(&self, w: usize, i: usize) -> Option<(&OutcomeCounts, &Digest)> {
        let win = self.windows.get(w)?;
        match win.endpoints.get(i) {
            Some(e) => Some((&e.outcomes, &e.latency)),
            None if i == 0 && self.endpoints.len() == 1 => Some((&win.outcomes, &win.latency)),
            None => None,
        }
    }

    pub fn gauge_index(&self, key: &str) -> Option<usize> {
        self.gauges.iter().position(|g| g.key == key)
    }

    pub fn counter_index(&self, key: &str) -> Option<usize> {
        self.counters.iter().position(|c| c.key == key)
    }
}

/// What the record's unit tests build on.
#[cfg(test)]
mod test_support {
    use super::*;

    pub fn meta(window: u64, warmup: u64, duration: u64) -> RecordMeta {
        RecordMeta {
            scenario: "t".into(),
            era: "stone".into(),
            model: "stone".into(),
            source: Source::Simulated,
            seed: 1,
            window,
            warmup,
            duration,
            price_per_hour: 0.0,
        }
    }

    /// A builder with one queue gauge and one counter.
    pub fn with_queue_and_counter(meta: RecordMeta) -> (RecordBuilder, GaugeId, CounterId) {
        let mut b = RecordBuilder::new(meta);
        let g = b.add_gauge(GaugeSpec {
            key: "q".into(),
            label: "q".into(),
            kind: GaugeKind::Queue,
            capacity: None,
        });
        let c = b.add_counter(CounterSpec {
            key: "slow".into(),
            label: "slow".into(),
        });
        (b, g, c)
    }
}
