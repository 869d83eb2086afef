//! Results kept apart per endpoint: a checkout's latency is not a home
//! page's, and a whole-run figure that merges them answers neither.
//!
//! A record keeps them only when a run has two endpoints or more: with
//! one, the endpoint's figures are the totals, and the simulator's
//! fastest cases (one endpoint) pay nothing for the split.

use super::{Digest, Latencies, OutcomeCounts, OutcomeId};

/// The most endpoints a record keeps apart. Each costs three live latency
/// histograms (about 100 KiB each: the window's, the total and, when the
/// record keeps segments, the segment's), a digest per window and an
/// encoded histogram per segment; an application
/// generated with thousands of endpoints would need gigabytes, and a table
/// of thousands of rows answers nothing. Past this, only the totals are kept.
pub const MAX_SPLIT_ENDPOINTS: usize = 64;

/// How many endpoints a run with `endpoints` of them keeps apart: none
/// with one (its figures are the totals) or more than [`MAX_SPLIT_ENDPOINTS`].
pub fn split_endpoints(endpoints: usize) -> usize {
    if (2..=MAX_SPLIT_ENDPOINTS).contains(&endpoints) {
        endpoints
    } else {
        0
    }
}

/// One endpoint's requests that ended in one window.
///
/// Its latency keeps the histogram unless the record keeps
/// [`Record::segments`](super::Record::segments).
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointWindow {
    pub outcomes: OutcomeCounts,
    /// Latency of its successful responses.
    pub latency: Digest,
}

/// One endpoint's figures over the measured span (after the warm-up).
#[derive(Clone, Debug)]
pub struct EndpointTotals {
    pub outcomes: OutcomeCounts,
    /// Latency of its successful responses.
    pub latency: Latencies,
}

impl EndpointTotals {
    /// Successful responses per second over a span of `span` ns.
    pub fn throughput(&self, span: u64) -> f64 {
        self.outcomes[OutcomeId::OK] as f64 / (span as f64 / 1e9).max(f64::MIN_POSITIVE)
    }
}

/// What the builder accumulates for one endpoint.
#[derive(Clone, Debug)]
pub(super) struct EndpointAcc {
    pub outcomes: OutcomeCounts,
    pub latency: Latencies,
    pub total_latency: Latencies,
}

impl EndpointAcc {
    pub fn new(outcomes: usize) -> EndpointAcc {
        EndpointAcc {
            outcomes: OutcomeCounts::zeroed(outcomes),
            latency: Latencies::default(),
            total_latency: Latencies::default(),
        }
    }

    #[inline]
    pub fn outcome(&mut self, outcome: OutcomeId, latency: u64) {
        self.outcomes[outcome] += 1;
        if outcome == OutcomeId::OK {
            self.latency.record(latency);
        }
    }

    /// Freezes the window that ends and starts the next; its latency's
    /// histogram only when `keep` (the record keeps no segments).
    pub fn close(&mut self, measured: bool, keep: bool, scratch: &mut Vec<u8>) -> EndpointWindow {
        if measured {
            self.total_latency.merge(&self.latency);
        }
        let n = self.outcomes.len();
        let w = EndpointWindow {
            outcomes: std::mem::replace(&mut self.outcomes, OutcomeCounts::zeroed(n)),
            latency: if keep {
                self.latency.digest(scratch)
            } else {
                self.latency.figures()
            },
        };
        self.latency.reset();
        w
    }
}

#[cfg(test)]
mod tests {
    use crate::record::outcomes::BACKLOG_FULL;
    use crate::record::test_support::meta;
    use crate::record::{OutcomeId, RecordBuilder};
    use crate::scenario::Percentile;

    const S: u64 = 1_000_000_000;

    #[test]
    fn endpoints_figures_add_up_to_the_totals() {
        let mut b = RecordBuilder::new(meta(S, S, 3 * S));
        b.set_endpoints(["home", "checkout"]);
        // Declared after the endpoints were named: each endpoint counts it.
        let full = b.add_outcome(BACKLOG_FULL);
        b.outcome_of(S / 2, 1, OutcomeId::OK, 900_000_000); // warm-up
        for i in 0..100u64 {
            let at = S + i * 10_000_000;
            b.outcome_of(
                at,
                (i % 4 == 0) as u32,
                OutcomeId::OK,
                if i % 4 == 0 { 50_000_000 } else { 5_000_000 },
            );
        }
        b.outcome_of(2 * S + 1, 1, full, 1_000);
        let r = b.finish(3 * S, 0, |_, _| 0.0);
        assert_eq!(r.endpoints, ["home", "checkout"]);
        assert_eq!(r.endpoint_totals(1).unwrap().outcomes[full], 1);
        let (home, checkout) = (&r.totals.endpoints[0], &r.totals.endpoints[1]);
        assert_eq!(home.outcomes[OutcomeId::OK], 75);
        assert_eq!(checkout.outcomes[OutcomeId::OK], 25);
        assert_eq!(checkout.outcomes[full], 1);
        for o in r.outcome_ids() {
            let sum: u64 = r.totals.endpoints.iter().map(|e| e.outcomes[o]).sum();
            assert_eq!(sum, r.totals.outcomes[o], "{}", r.outcome(o).key);
        }
        let p50 = |l: &crate::record::Latencies| l.percentile(Percentile::P50).unwrap() as f64;
        assert!((p50(&home.latency) / 5e6 - 1.0).abs() < 0.01);
        assert!((p50(&checkout.latency) / 5e7 - 1.0).abs() < 0.01);
        // The warm-up's slow checkout is in its window, not in the totals.
        assert_eq!(r.windows[0].endpoints[1].outcomes[OutcomeId::OK], 1);
        assert!(checkout.latency.max().unwrap() < 100_000_000);
        assert_eq!(checkout.throughput(r.totals.span), 12.5);
        assert_eq!(r.windows[2].endpoints[1].outcomes[full], 1);
    }

    #[test]
    fn too_many_endpoints_are_not_split() {
        let mut b = RecordBuilder::new(meta(S, 0, S));
        let keys: Vec<String> = (0..=super::MAX_SPLIT_ENDPOINTS).map(|i| format!("e{i}")).collect();
        b.set_endpoints(keys);
        b.outcome_of(1, 3, OutcomeId::OK, 10);
        let r = b.finish(S, 0, |_, _| 0.0);
        assert_eq!(r.endpoints.len(), super::MAX_SPLIT_ENDPOINTS + 1);
        assert!(r.totals.endpoints.is_empty() && r.endpoint_totals(3).is_none());
        assert_eq!(r.totals.latency.count(), 1);
    }

    #[test]
    fn one_endpoint_is_not_split() {
        let mut b = RecordBuilder::new(meta(S, 0, S));
        b.set_endpoints(["only"]);
        b.outcome_of(1, 0, OutcomeId::OK, 10);
        let r = b.finish(S, 0, |_, _| 0.0);
        assert_eq!(r.endpoints, ["only"]);
        assert!(r.totals.endpoints.is_empty() && r.windows[0].endpoints.is_empty());
        assert_eq!(r.endpoint_totals(0).unwrap().latency.count(), 1);
        assert_eq!(r.endpoint_in_window(0, 0).unwrap().1.count, 1);
        assert!(r.endpoint_totals(1).is_none());
    }
}
