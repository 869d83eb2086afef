//! Latency distributions: a live HDR histogram with exact sum, min and max
//! ([`Latencies`]), and its frozen, compact form kept per window ([`Digest`]).

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};

use crate::scenario::Percentile;
use crate::scenario::limits::MAX_DURATION_NS;

/// Values below this are not told apart (1 µs).
pub const LOWEST_NS: u64 = 1_000;
/// The longest value kept: the longest run `lab` accepts (366 days).
///
/// A latency or a wait is measured inside one run, so none can be longer
/// and no percentile is ever clamped. (It used to be 1 h, and a response
/// slower than that read as 1 h.) The alternative, saturating at 1 h and
/// counting the values beyond, would have pushed a "more than" into every
/// percentile of every report; widening costs only time, not memory per
/// window, as measured on this machine with two significant figures:
///
/// | highest | counters | live histogram | encoded window | merge + clear |
/// |---|---|---|---|---|
/// | 1 h | 3,456 | 27 KB | unchanged | ≈ 6 µs |
/// | 366 days | 5,120 | 40 KB | unchanged | ≈ 9 µs |
///
/// The per-window digests stay the same size because HdrHistogram's V2
/// encoding stops at the largest value recorded, so 100,000 windows hold
/// no more memory; only the few live histograms (one per distribution,
/// plus its total) grow. Merging into the totals and clearing walk every
/// counter, about 3 µs more per distribution and window (a third of a
/// second over 100,000 windows with two distributions, on the recorder's
/// own thread), and [`Latencies::reset`] skips the clearing when nothing
/// was recorded.
pub const HIGHEST_NS: u64 = MAX_DURATION_NS;
// Values past the range are clamped to it (`saturating_record`): the range
// must hold every span a run can measure.
const _: () = assert!(HIGHEST_NS >= MAX_DURATION_NS);
/// Two significant figures: every value is kept within 1 %, far finer than
/// the run-to-run noise of any percentile, and a histogram is 5,120 counters
/// (eight times fewer than with three), which matters because every window
/// is summarised, encoded, merged into the totals and cleared.
pub const SIGNIFICANT_FIGURES: u8 = 2;

/// A latency distribution under construction. Memory is fixed whatever the
/// number of values recorded.
#[derive(Clone, Debug)]
pub struct Latencies {
    hist: Histogram<u64>,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::with_precision(SIGNIFICANT_FIGURES)
    }
}

impl Latencies {
    /// An empty distribution that keeps `significant_figures` (1 to 5).
    pub fn with_precision(significant_figures: u8) -> Latencies {
        Latencies {
            hist: Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, significant_figures)
                .expect("valid histogram bounds"),
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.hist.saturating_record(ns);
        self.sum += u128::from(ns);
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The exact mean in nanoseconds.
    pub fn mean(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.sum as f64 / n as f64)
    }

    /// The value at quantile `q` (0..=1), within 1 % (or 1 µs).
    pub fn quantile(&self, q: f64) -> Option<u64> {
        (self.count() > 0).then(|| self.hist.value_at_quantile(q).min(self.max))
    }

    pub fn percentile(&self, p: Percentile) -> Option<u64> {
        self.quantile(p.quantile())
    }

    /// Every percentile of [`Percentile::ALL`]; zeros when empty.
    pub fn percentiles(&self) -> [u64; 5] {
        Percentile::ALL.map(|p| self.percentile(p).unwrap_or(0))
    }

    pub fn min(&self) -> Option<u64> {
        (self.count() > 0).then_some(self.min)
    }

    pub fn max(&self) -> Option<u64> {
        (self.count() > 0).then_some(self.max)
    }

    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// Adds every value of `other` (exact when both keep the same precision).
    pub fn merge(&mut self, other: &Latencies) {
        self.hist.add(&other.hist).expect("histograms share their bounds");
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn reset(&mut self) {
        // Clearing walks every counter; most windows of most waits are empty.
        if !self.hist.is_empty() {
            self.hist.reset();
        }
        self.sum = 0;
        self.min = u64::MAX;
        self.max = 0;
    }

    /// Freezes the distribution's figures without its histogram: a digest
    /// that cannot be merged, for what is read but never merged.
    pub fn figures(&self) -> Digest {
        Digest {
            count: self.count(),
            min: self.min().unwrap_or(0),
            max: self.max().unwrap_or(0),
            mean: self.mean().unwrap_or(0.0),
            percentiles: self.percentiles(),
            histogram: None,
        }
    }

    /// Freezes the distribution into its compact form, histogram included.
    pub fn digest(&self, scratch: &mut Vec<u8>) -> Digest {
        let mut d = self.figures();
        if d.count > 0 {
            scratch.clear();
            V2Serializer::new()
                .serialize(&self.hist, scratch)
                .expect("serialising into memory cannot fail");
            d.histogram = Some(Box::new(Kept {
                sum: self.sum,
                encoded: scratch.as_slice().into(),
            }));
        }
        d
    }
}

/// A latency distribution, frozen: the figures reports need and, when
/// it is merged later, the whole histogram in HdrHistogram's V2 encoding
/// (a few hundred bytes to a few KiB), so that merges stay exact.
///
/// Its figures are inline and its histogram behind one pointer, so that a
/// digest of figures only (a wait's, or a window's of a record that keeps
/// segments) takes 80 bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Digest {
    pub count: u64,
    pub min: u64,
    pub max: u64,
    /// The exact mean, as [`Latencies::mean`] gave it (0 when empty).
    mean: f64,
    percentiles: [u64; 5],
    histogram: Option<Box<Kept>>,
}

/// What a digest needs to thaw exactly besides its figures.
#[derive(Clone, Debug, PartialEq)]
struct Kept {
    sum: u128,
    encoded: Box<[u8]>,
}

impl Digest {
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then_some(self.mean)
    }

    pub fn percentile(&self, p: Percentile) -> Option<u64> {
        let i = Percentile::ALL.iter().position(|x| *x == p).expect("listed percentile");
        (self.count > 0).then_some(self.percentiles[i])
    }

    /// Size of the encoded histogram in bytes.
    pub fn encoded_len(&self) -> usize {
        self.histogram.as_ref().map_or(0, |h| h.encoded.len())
    }

    /// Whether the digest keeps its histogram (or has nothing to keep), so
    /// that [`Digest::latencies`] can thaw it.
    pub fn has_histogram(&self) -> bool {
        self.count == 0 || self.histogram.is_some()
    }

    /// Thaws the digest back into a live distribution, at the precision it was kept.
    ///
    /// # Panics
    ///
    /// When the digest kept only its figures ([`Latencies::figures`]).
    pub fn latencies(&self) -> Latencies {
        if self.count == 0 {
            return Latencies::with_precision(SIGNIFICANT_FIGURES);
        }
        let kept = self
            .histogram
            .as_ref()
            .expect("a digest of figures only cannot be merged: merge windows with Record::latency_over");
        // The encoding carries the histogram's own bounds and precision.
        let hist: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &kept.encoded[..])
            .expect("a digest holds a valid V2 histogram");
        Latencies {
            hist,
            sum: kept.sum,
            min: self.min,
            max: self.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_keep_figures_and_thaw_exactly() {
        let mut l = Latencies::default();
        for i in 1..=10_000u64 {
            l.record(i * 1_000);
        }
        assert_eq!(l.mean(), Some(5_000_500.0));
        let p99 = l.percentile(Percentile::P99).unwrap() as f64;
        // Two significant figures: within 1 %.
        assert!((p99 / 9_900_000.0 - 1.0).abs() < 0.01, "{p99}");
        let d = l.digest(&mut Vec::new());
        assert_eq!(d.count, 10_000);
        assert_eq!(d.max, 10_000_000);
        assert!(d.encoded_len() < 4_000, "{}", d.encoded_len());
        let back = d.latencies();
        assert_eq!(back.count(), 10_000);
        assert_eq!(back.percentiles(), l.percentiles());
        assert_eq!(back.mean(), l.mean());
    }

    #[test]
    fn figures_keep_everything_but_the_histogram() {
        let mut l = Latencies::default();
        for i in 1..=1_000u64 {
            l.record(i * 7_000);
        }
        let (f, d) = (l.figures(), l.digest(&mut Vec::new()));
        assert_eq!((f.count, f.min, f.max, f.mean()), (d.count, d.min, d.max, d.mean()));
        for p in Percentile::ALL {
            assert_eq!(f.percentile(p), d.percentile(p));
        }
        assert!(!f.has_histogram() && d.has_histogram() && f.encoded_len() == 0);
        assert!(Latencies::default().figures().has_histogram());
    }

    #[test]
    fn merge_adds_counts_and_extremes() {
        let mut a = Latencies::default();
        let mut b = Latencies::default();
        a.record(2_000);
        b.record(9_000_000);
        a.merge(&b);
        assert_eq!(a.count(), 2);
        assert_eq!(a.min(), Some(2_000));
        assert_eq!(a.max(), Some(9_000_000));
    }

    #[test]
    fn empty_distributions_have_no_figures() {
        let l = Latencies::default();
        assert_eq!(l.mean(), None);
        assert_eq!(l.percentile(Percentile::P99), None);
        let d = l.digest(&mut Vec::new());
        assert_eq!(d.encoded_len(), 0);
        assert_eq!(d.latencies().count(), 0);
    }

    #[test]
    fn a_response_slower_than_an_hour_keeps_its_percentiles() {
        const HOUR: u64 = 3_600_000_000_000;
        let mut l = Latencies::default();
        for _ in 0..90 {
            l.record(1_000_000);
        }
        for _ in 0..10 {
            l.record(3 * HOUR);
        }
        let p99 = l.percentile(Percentile::P99).unwrap() as f64;
        assert!((p99 / (3 * HOUR) as f64 - 1.0).abs() < 0.01, "p99 {p99}");
        let back = l.digest(&mut Vec::new()).latencies();
        assert_eq!(back.percentiles(), l.percentiles());
        assert_eq!(back.max(), Some(3 * HOUR));
        // The longest run lab accepts fits too.
        l.record(MAX_DURATION_NS);
        let top = l.quantile(1.0).unwrap() as f64;
        assert!((top / MAX_DURATION_NS as f64 - 1.0).abs() < 0.01, "{top}");
    }

    #[test]
    fn clearing_an_empty_distribution_keeps_it_empty() {
        let mut l = Latencies::default();
        l.reset();
        l.record(5_000);
        l.reset();
        l.reset();
        assert_eq!((l.count(), l.min(), l.max(), l.mean()), (0, None, None, None));
        l.record(7_000);
        assert_eq!((l.min(), l.max()), (Some(7_000), Some(7_000)));
    }
}
