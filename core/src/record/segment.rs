//! Exact merges over spans of windows, without a histogram in every window.
//!
//! What merges windows' histograms later: a phase's figures
//! ([`Record::stretch`]: the phase table, SLOs judged `during` a phase, with
//! their endpoints) and `lab validate`'s levels (the constant-rate
//! stretches of the profile). Charts, CSV and the worst window read a
//! window's five percentiles, mean and maximum, which every [`Digest`]
//! keeps; waits are merged only into the whole-run totals, which are
//! merged live.
//!
//! A builder told the run's phases and intended rate
//! ([`RecordBuilder::merge_by`](super::RecordBuilder::merge_by)) keeps no
//! histogram in its windows. It merges, as they close, the consecutive
//! windows that every such span takes or leaves together into a
//! [`Segment`]: the same phases hold them, all are measured or all in the
//! warm-up, and they are all in, or all out of, one settled stretch of one
//! intended rate. A span of windows is then the union of whole segments,
//! and its merge is exact. A window keeps a few hundred bytes, where its
//! histograms took a few KiB, and the segments are as many as the profile
//! has stretches: two for each stretch where the rate stays within 1 % of
//! its start and for each phase, and four more (a slow ramp makes a stretch
//! every 1 % of its rate), never more than the windows.

use std::ops::Range;

use crate::scenario::{MAX_PHASES, Phase};

use super::{Digest, Latencies, Record, Window};

/// Windows left out after the intended rate changes, for the system to
/// settle, before a level of `lab validate` begins.
pub const SETTLE_WINDOWS: usize = 2;

/// Whether two intended rates are one level's (within 1 %).
pub fn same_rate(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.01 * a.abs().max(b.abs())
}

/// Windows `from..to`, merged: the latency of their successful responses,
/// and each endpoint's the record keeps apart.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub from: usize,
    pub to: usize,
    pub latency: Digest,
    pub endpoints: Vec<Digest>,
}

/// What tells segments apart: windows with the same key in a row are merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    measured: bool,
    /// Bit `k`: phase `k` holds the window.
    phases: u64,
    /// Bumped where a level may begin or end.
    run: u64,
}

/// Cuts windows into segments as they close (see the module's text).
pub(super) struct Segmenter {
    phases: Vec<Phase>,
    warmup: u64,
    offered: Box<dyn Fn(u64, u64) -> f64 + Send>,
    /// The intended rate of the current stretch, and how many windows it has had.
    rate: f64,
    run_len: usize,
    run: u64,
    key: Option<Key>,
    from: usize,
    to: usize,
    latency: Latencies,
    endpoints: Vec<Latencies>,
    pub(super) segments: Vec<Segment>,
}

impl Segmenter {
    pub fn new(
        phases: &[Phase],
        warmup: u64,
        endpoints: usize,
        offered: Box<dyn Fn(u64, u64) -> f64 + Send>,
    ) -> Segmenter {
        assert!(phases.len() <= MAX_PHASES && MAX_PHASES <= 64, "at most 64 phases");
        Segmenter {
            phases: phases.to_vec(),
            warmup,
            offered,
            rate: 0.0,
            run_len: 0,
            run: 0,
            key: None,
            from: 0,
            to: 0,
            latency: Latencies::default(),
            endpoints: (0..endpoints).map(|_| Latencies::default()).collect(),
            segments: Vec::new(),
        }
    }

    /// The endpoints named after [`Segmenter::new`].
    pub fn set_endpoints(&mut self, endpoints: usize) {
        self.endpoints = (0..endpoints).map(|_| Latencies::default()).collect();
    }

    /// Window `index`, `[start, start + len)`, closes with these histograms.
    pub fn window<'a>(
        &mut self,
        index: usize,
        start: u64,
        len: u64,
        latency: &Latencies,
        endpoints: impl Iterator<Item = &'a Latencies>,
        scratch: &mut Vec<u8>,
    ) {
        let offered = (self.offered)(start, start + len);
        if self.run_len == 0 || !same_rate(offered, self.rate) {
            // A level ends where the rate changes, if the stretch before
            // settled; the windows before a stretch settles are in no level.
            if self.run_len > SETTLE_WINDOWS {
                self.run += 1;
            }
            self.rate = offered;
            self.run_len = 0;
        }
        self.run_len += 1;
        if self.run_len == SETTLE_WINDOWS + 1 {
            // A level begins once the stretch settled.
            self.run += 1;
        }
        let mut phases = 0u64;
        for (k, p) in self.phases.iter().enumerate() {
            if p.holds_window(start, len) {
                phases |= 1 << k;
            }
        }
        let key = Key {
            measured: start >= self.warmup,
            phases,
            run: self.run,
        };
        if self.key != Some(key) {
            self.flush(scratch);
            self.key = Some(key);
        }
        debug_assert_eq!(index, self.to, "windows close in order");
        self.latency.merge(latency);
        for (acc, l) in self.endpoints.iter_mut().zip(endpoints) {
            acc.merge(l);
        }
        self.to = index + 1;
    }

    /// Closes the current segment: the next window starts another.
    pub fn flush(&mut self, scratch: &mut Vec<u8>) {
        if self.to > self.from {
            self.segments.push(Segment {
                from: self.from,
                to: self.to,
                latency: self.latency.digest(scratch),
                endpoints: self.endpoints.iter().map(|l| l.digest(scratch)).collect(),
            });
            self.latency.reset();
            self.endpoints.iter_mut().for_each(Latencies::reset);
        }
        self.from = self.to;
        self.key = None;
    }
}

impl Record {
    /// The latency of successful responses over windows `windows`, merged
    /// exactly.
    ///
    /// # Panics
    ///
    /// When the record merged its windows into segments (see the module's
    /// text) and `windows` cuts one: the span is neither a phase's nor a
    /// level's.
    pub fn latency_over(&self, windows: Range<usize>) -> Latencies {
        self.merge_over(windows, |w| &w.latency, |s| &s.latency)
    }

    /// Endpoint `i`'s latency over windows `windows`, like [`Record::latency_over`].
    pub fn endpoint_latency_over(&self, i: usize, windows: Range<usize>) -> Latencies {
        self.merge_over(windows, |w| &w.endpoints[i].latency, |s| &s.endpoints[i])
    }

    fn merge_over(
        &self,
        windows: Range<usize>,
        of_window: impl Fn(&Window) -> &Digest,
        of_segment: impl Fn(&Segment) -> &Digest,
    ) -> Latencies {
        let mut l = Latencies::default();
        if windows.is_empty() {
            return l;
        }
        match &self.segments {
            None => {
                for w in &self.windows[windows] {
                    l.merge(&of_window(w).latencies());
                }
            }
            Some(segments) => {
                for s in segments.iter().filter(|s| s.to > windows.start && s.from < windows.end) {
                    assert!(
                        windows.start <= s.from && s.to <= windows.end,
                        "windows {windows:?} cut the merged windows {}..{}: the record keeps exact merges over its phases and levels only",
                        s.from,
                        s.to
                    );
                    l.merge(&of_segment(s).latencies());
                }
            }
        }
        l
    }
}

#[cfg(test)]
mod tests {
    use crate::record::test_support::meta;
    use crate::record::{Latencies, OutcomeId, Record, RecordBuilder};
    use crate::scenario::{Percentile, Phase};

    const S: u64 = 1_000_000_000;

    /// 10/s for 6 s, a ramp over 3 s, 40/s to the end (a short last window).
    fn offered(a: u64, _b: u64) -> f64 {
        match a / S {
            0..6 => 10.0,
            6..9 => 10.0 + 10.0 * (a / S - 5) as f64,
            _ => 40.0,
        }
    }

    fn phase(name: &str, from: u64, to: u64) -> Phase {
        Phase {
            name: name.into(),
            from: from * S,
            to: to * S,
            derived: false,
        }
    }

    /// The same events recorded twice: with every window's histograms,
    /// and merged by `phases` and the rate.
    fn both(phases: &[Phase]) -> (Record, Record) {
        let end = 16 * S + S / 2;
        let build = |merge: bool| {
            let mut b = RecordBuilder::new(meta(S, 2 * S, end));
            b.set_endpoints(["a", "b"]);
            if merge {
                b.merge_by(phases, offered);
            }
            for t in 0..end / 10_000_000 {
                let at = t * 10_000_000;
                let latency = 1_000_000 + (t * 7_919 % 97) * 1_000_000 * (1 + at / (4 * S));
                b.outcome_of(at, (t % 3 == 0) as u32, OutcomeId::OK, latency);
            }
            b.finish(end, 0, offered)
        };
        (build(false), build(true))
    }

    fn same(a: &Latencies, b: &Latencies) {
        assert_eq!(
            (a.count(), a.min(), a.max(), a.mean()),
            (b.count(), b.min(), b.max(), b.mean())
        );
        for p in Percentile::ALL {
            assert_eq!(a.percentile(p), b.percentile(p));
        }
        assert_eq!(a.histogram(), b.histogram());
    }

    #[test]
    fn phases_and_levels_merge_exactly_without_window_histograms() {
        let phases = [
            phase("calm", 0, 6),
            phase("ramp", 6, 9),
            phase("busy", 9, 17),
            phase("x", 3, 12),
        ];
        let (all, merged) = both(&phases);
        assert!(all.segments.is_none());
        let segments = merged.segments.as_ref().unwrap();
        assert!(merged.windows.iter().all(|w| w.latency.encoded_len() == 0));
        assert!(
            merged
                .windows
                .iter()
                .all(|w| w.endpoints.iter().all(|e| e.latency.encoded_len() == 0))
        );
        // Figures read from windows do not change.
        for (a, b) in all.windows.iter().zip(&merged.windows) {
            assert_eq!((a.latency.count, a.latency.mean()), (b.latency.count, b.latency.mean()));
            assert_eq!(
                a.latency.percentile(Percentile::P99),
                b.latency.percentile(Percentile::P99)
            );
        }
        for p in &phases {
            let (a, b) = (all.stretch(p), merged.stretch(p));
            same(&a.latency, &b.latency);
            for (x, y) in a.endpoints.iter().zip(&b.endpoints) {
                same(&x.1, &y.1);
            }
            assert_eq!(a.worst_p99, b.worst_p99);
        }
        // The levels, as `lab validate` takes them: 10/s from window 2 (the
        // warm-up) to 6, 40/s from 8 + 2 to 16 (the short last window out).
        for span in [2..6, 10..16] {
            same(&all.latency_over(span.clone()), &merged.latency_over(span.clone()));
            same(
                &all.endpoint_latency_over(1, span.clone()),
                &merged.endpoint_latency_over(1, span),
            );
        }
        // A few segments, however long the run.
        assert!(segments.len() <= 10, "{segments:?}");
        assert_eq!(segments.last().map(|s| (s.from, s.to)), Some((16, 17)));
    }

    #[test]
    #[should_panic(expected = "cut the merged windows")]
    fn a_span_that_cuts_a_segment_is_refused() {
        let (_, merged) = both(&[phase("all", 0, 17)]);
        merged.latency_over(12..14);
    }
}
