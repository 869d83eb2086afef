//! Figures over a stretch of a run (a phase): the windows whose middle it
//! holds, after the warm-up, merged.

use crate::scenario::{Percentile, Phase};

use super::{Latencies, OutcomeCounts, Record};

/// A phase's figures, merged from its windows.
#[derive(Clone, Debug)]
pub struct Stretch {
    /// The windows' total length, in ns (0 when every window of the phase
    /// is in the warm-up).
    pub span: u64,
    /// How many of the phase's windows the warm-up left out.
    pub warmup_windows: usize,
    pub arrivals: u64,
    /// The rate the traffic intended, averaged over the windows.
    pub offered: f64,
    pub outcomes: OutcomeCounts,
    /// Latency of successful responses.
    pub latency: Latencies,
    /// The window with the highest p99 of successful responses: its start
    /// and that p99, in ns.
    pub worst_p99: Option<(u64, u64)>,
    /// Per endpoint the record keeps apart: outcomes and latency.
    pub endpoints: Vec<(OutcomeCounts, Latencies)>,
}

impl Stretch {
    /// Successful responses per second over the stretch.
    pub fn throughput(&self) -> f64 {
        self.outcomes[super::OutcomeId::OK] as f64 / (self.span as f64 / 1e9).max(f64::MIN_POSITIVE)
    }
}

impl Record {
    /// The figures of `phase`: every window whose middle it holds and that
    /// starts after the warm-up.
    pub fn stretch(&self, phase: &Phase) -> Stretch {
        let n = self.outcomes.len();
        let mut s = Stretch {
            span: 0,
            warmup_windows: 0,
            arrivals: 0,
            offered: 0.0,
            outcomes: OutcomeCounts::zeroed(n),
            latency: Latencies::default(),
            worst_p99: None,
            endpoints: self
                .totals
                .endpoints
                .iter()
                .map(|_| (OutcomeCounts::zeroed(n), Latencies::default()))
                .collect(),
        };
        let mut offered = 0.0;
        // The windows a phase holds are consecutive, and so are those after the warm-up.
        let (mut from, mut to) = (0, 0);
        for (i, w) in self.windows.iter().enumerate() {
            if !phase.holds_window(w.start, w.len) {
                continue;
            }
            if w.start < self.meta.warmup {
                s.warmup_windows += 1;
                continue;
            }
            if from == to {
                from = i;
            }
            to = i + 1;
            s.span += w.len;
            s.arrivals += w.arrivals;
            offered += w.offered * w.len as f64;
            s.outcomes.add(&w.outcomes);
            if let Some(p99) = w.latency.percentile(Percentile::P99)
                && s.worst_p99.is_none_or(|(_, worst)| p99 > worst)
            {
                s.worst_p99 = Some((w.start, p99));
            }
            for ((outcomes, _), e) in s.endpoints.iter_mut().zip(&w.endpoints) {
                outcomes.add(&e.outcomes);
            }
        }
        s.latency = self.latency_over(from..to);
        for (i, (_, latency)) in s.endpoints.iter_mut().enumerate() {
            *latency = self.endpoint_latency_over(i, from..to);
        }
        s.offered = if s.span > 0 { offered / s.span as f64 } else { 0.0 };
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::record::test_support::meta;
    use crate::record::{OutcomeId, RecordBuilder};
    use crate::scenario::Phase;

    const S: u64 = 1_000_000_000;

    #[test]
    fn a_stretch_merges_its_windows_and_names_the_worst() {
        let mut b = RecordBuilder::new(meta(S, S, 6 * S));
        b.set_endpoints(["a", "b"]);
        for t in 0..6u64 {
            for i in 0..10u64 {
                // Window 3 is the slow one.
                let latency = if t == 3 { 50_000_000 } else { 5_000_000 + i };
                b.outcome_of(t * S + i * 1000, (i % 2) as u32, OutcomeId::OK, latency);
            }
        }
        let r = b.finish(6 * S, 0, |_, _| 100.0);
        let phase = |from, to| Phase {
            name: "p".into(),
            from: from * S,
            to: to * S,
            derived: false,
        };
        // Windows 0..3 by their middles; window 0 is the warm-up.
        let s = r.stretch(&phase(0, 3));
        assert_eq!((s.span, s.warmup_windows), (2 * S, 1));
        assert_eq!(s.outcomes[OutcomeId::OK], 20);
        assert_eq!(s.throughput(), 10.0);
        assert_eq!(s.offered, 100.0);
        assert_eq!(s.endpoints[1].0[OutcomeId::OK], 10);
        let s = r.stretch(&phase(2, 6));
        assert_eq!(s.worst_p99.map(|w| w.0), Some(3 * S));
        assert!((s.worst_p99.unwrap().1 as f64 / 5e7 - 1.0).abs() < 0.01);
        // The phases of a partition add up to the totals.
        let (a, b) = (r.stretch(&phase(0, 4)), r.stretch(&phase(4, 6)));
        assert_eq!(a.outcomes.total() + b.outcomes.total(), r.totals.outcomes.total());
        assert_eq!(a.latency.count() + b.latency.count(), r.totals.latency.count());
    }
}
