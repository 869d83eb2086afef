//! Builds a [`Record`] from events given in time order.

use super::{CounterSpec, GaugeSpec, GaugeStat, Latencies, Outcome, OutcomeCounts, Record, RecordMeta, Totals, Window};

/// Handle of a gauge registered with [`RecordBuilder::add_gauge`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GaugeId(pub(super) u16);

/// Handle of a counter registered with [`RecordBuilder::add_counter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterId(u16);

#[derive(Clone, Debug, Default)]
struct GaugeAcc {
    value: u64,
    since: u64,
    /// Value × nanoseconds since the window started.
    integral: u128,
    max: u64,
}

/// Accumulates one window at a time and freezes each as time passes it.
///
/// Every method takes the current time; times must not go backwards.
pub struct RecordBuilder {
    meta: RecordMeta,
    gauge_specs: Vec<GaugeSpec>,
    counter_specs: Vec<CounterSpec>,
    window_start: u64,
    window_end: u64,
    /// `window_end` while windows remain to close, else never: the one
    /// comparison every recording method makes.
    next_roll: u64,
    arrivals: u64,
    outcomes: OutcomeCounts,
    latency: Latencies,
    queue_wait: Latencies,
    gauges: Vec<GaugeAcc>,
    counters: Vec<u64>,
    windows: Vec<Window>,
    total_latency: Latencies,
    total_queue_wait: Latencies,
    scratch: Vec<u8>,
}

impl RecordBuilder {
    pub fn new(meta: RecordMeta) -> RecordBuilder {
        assert!(meta.window > 0, "a record needs a window longer than 0");
        let window_end = meta.window.min(meta.duration);
        let meta_duration = meta.duration;
        RecordBuilder {
            meta,
            gauge_specs: Vec::new(),
            counter_specs: Vec::new(),
            window_start: 0,
            window_end,
            next_roll: Self::roll_at(window_end, meta_duration),
            arrivals: 0,
            outcomes: OutcomeCounts::default(),
            latency: Latencies::default(),
            queue_wait: Latencies::default(),
            gauges: Vec::new(),
            counters: Vec::new(),
            windows: Vec::new(),
            total_latency: Latencies::default(),
            total_queue_wait: Latencies::default(),
            scratch: Vec::new(),
        }
    }

    pub fn add_gauge(&mut self, spec: GaugeSpec) -> GaugeId {
        self.gauge_specs.push(spec);
        self.gauges.push(GaugeAcc::default());
        GaugeId(u16::try_from(self.gauges.len() - 1).expect("fewer than 65536 gauges"))
    }

    pub fn add_counter(&mut self, spec: CounterSpec) -> CounterId {
        self.counter_specs.push(spec);
        self.counters.push(0);
        CounterId(u16::try_from(self.counters.len() - 1).expect("fewer than 65536 counters"))
    }

    /// How many gauges have been added.
    pub fn gauge_count(&self) -> usize {
        self.gauges.len()
    }

    /// Closes every window that ends at or before `now`.
    #[inline]
    pub fn advance(&mut self, now: u64) {
        if now >= self.next_roll {
            self.roll(now);
        }
    }

    #[inline]
    pub fn arrival(&mut self, now: u64) {
        self.advance(now);
        self.arrivals += 1;
    }

    /// A request ended for its client; `latency` is measured from its arrival.
    #[inline]
    pub fn outcome(&mut self, now: u64, outcome: Outcome, latency: u64) {
        self.advance(now);
        self.outcomes[outcome] += 1;
        if outcome == Outcome::Ok {
            self.latency.record(latency);
        }
    }

    #[inline]
    pub fn queue_wait(&mut self, now: u64, wait: u64) {
        self.advance(now);
        self.queue_wait.record(wait);
    }

    #[inline]
    pub fn count(&mut self, now: u64, id: CounterId, n: u64) {
        self.advance(now);
        self.counters[id.0 as usize] += n;
    }

    /// Sets a gauge's level from `now` on.
    #[inline(always)]
    pub fn gauge(&mut self, now: u64, id: GaugeId, value: u64) {
        // An unchanged level needs no bookkeeping: windows integrate each
        // gauge from its last change when they close.
        if self.gauges[id.0 as usize].value == value {
            return;
        }
        self.set_gauge(now, id.0 as usize, value);
    }

    /// Sets the first gauges' levels from `now` on, in the order they
    /// were added; values beyond the gauges are ignored.
    #[inline(always)]
    pub(super) fn levels(&mut self, now: u64, values: &[u64]) {
        for (i, &value) in values.iter().enumerate().take(self.gauges.len()) {
            if self.gauges[i].value != value {
                self.set_gauge(now, i, value);
            }
        }
    }

    #[inline]
    fn set_gauge(&mut self, now: u64, i: usize, value: u64) {
        self.advance(now);
        let g = &mut self.gauges[i];
        g.integral += u128::from(g.value) * u128::from(now - g.since);
        g.since = now;
        g.value = value;
        g.max = g.max.max(value);
    }

    fn roll_at(window_end: u64, duration: u64) -> u64 {
        if window_end < duration { window_end } else { u64::MAX }
    }

    fn roll(&mut self, now: u64) {
        while now >= self.window_end && self.window_end < self.meta.duration {
            self.close_window(self.window_end);
            self.window_start = self.window_end;
            self.window_end = (self.window_start + self.meta.window).min(self.meta.duration);
            self.next_roll = Self::roll_at(self.window_end, self.meta.duration);
        }
    }

    fn close_window(&mut self, end: u64) {
        let len = end - self.window_start;
        let gauges = self
            .gauges
            .iter_mut()
            .map(|g| {
                g.integral += u128::from(g.value) * u128::from(end - g.since);
                let stat = GaugeStat {
                    mean: g.integral as f64 / len.max(1) as f64,
                    max: g.max as f64,
                };
                g.since = end;
                g.integral = 0;
                g.max = g.value;
                stat
            })
            .collect();
        if self.window_start >= self.meta.warmup {
            self.total_latency.merge(&self.latency);
            self.total_queue_wait.merge(&self.queue_wait);
        }
        let window = Window {
            start: self.window_start,
            len,
            offered: 0.0,
            arrivals: std::mem::take(&mut self.arrivals),
            outcomes: std::mem::take(&mut self.outcomes),
            latency: self.latency.digest(&mut self.scratch),
            queue_wait: self.queue_wait.digest(&mut self.scratch),
            gauges,
            counters: self.counters.iter_mut().map(std::mem::take).collect(),
        };
        self.latency.reset();
        self.queue_wait.reset();
        self.windows.push(window);
    }

    /// Closes the last window at `end` and computes the totals.
    ///
    /// `unfinished` is the number of requests still unanswered; `offered`
    /// gives the intended arrival rate over a span, for each window.
    pub fn finish(mut self, end: u64, unfinished: u64, offered: impl Fn(u64, u64) -> f64) -> Record {
        let end = end.min(self.meta.duration);
        self.advance(end);
        if end > self.window_start || self.windows.is_empty() {
            self.close_window(end.max(self.window_start));
        }
        for w in &mut self.windows {
            w.offered = offered(w.start, w.start + w.len);
        }
        let measured: Vec<&Window> = self.windows.iter().filter(|w| w.start >= self.meta.warmup).collect();
        let span: u64 = measured.iter().map(|w| w.len).sum();
        let mut outcomes = OutcomeCounts::default();
        let mut counters = vec![0; self.counter_specs.len()];
        let mut gauges = vec![GaugeStat::default(); self.gauge_specs.len()];
        for w in &measured {
            outcomes.add(&w.outcomes);
            for (t, c) in counters.iter_mut().zip(&w.counters) {
                *t += c;
            }
            for (t, g) in gauges.iter_mut().zip(&w.gauges) {
                t.mean += g.mean * w.len as f64 / span.max(1) as f64;
                t.max = t.max.max(g.max);
            }
        }
        let totals = Totals {
            span,
            arrivals: measured.iter().map(|w| w.arrivals).sum(),
            outcomes,
            latency: self.total_latency,
            queue_wait: self.total_queue_wait,
            gauges,
            counters,
            unfinished,
        };
        Record {
            meta: self.meta,
            gauges: self.gauge_specs,
            counters: self.counter_specs,
            windows: self.windows,
            totals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_support::{meta, with_queue_and_counter};

    const S: u64 = 1_000_000_000;

    #[test]
    fn windows_split_time_and_gauges_are_time_weighted() {
        let (mut b, g, c) = with_queue_and_counter(meta(S, 0, 3 * S + S / 2));
        b.gauge(S / 2, g, 4); // 0 for 0.5 s, 4 for 0.5 s
        b.arrival(S / 2);
        b.outcome(S / 2 + 10, Outcome::Ok, 2_000_000);
        b.count(2 * S + 1, c, 3);
        b.gauge(2 * S + S / 4, g, 0);
        b.outcome(3 * S + 1, Outcome::BacklogFull, 1_000);
        let r = b.finish(3 * S + S / 2, 7, |_, _| 10.0);
        assert_eq!(r.windows.len(), 4);
        assert_eq!(r.windows[3].len, S / 2);
        assert_eq!(r.windows[0].gauges[0], GaugeStat { mean: 2.0, max: 4.0 });
        assert_eq!(r.windows[1].gauges[0], GaugeStat { mean: 4.0, max: 4.0 });
        assert_eq!(r.windows[2].gauges[0], GaugeStat { mean: 1.0, max: 4.0 });
        assert_eq!(r.windows[3].gauges[0], GaugeStat { mean: 0.0, max: 0.0 });
        assert_eq!(r.windows[2].counters[0], 3);
        assert_eq!(r.windows[0].latency.count, 1);
        assert_eq!(r.windows[3].outcomes[Outcome::BacklogFull], 1);
        assert_eq!(r.totals.outcomes.total(), 2);
        assert_eq!(r.totals.unfinished, 7);
        assert_eq!(r.totals.span, 3 * S + S / 2);
        assert!((r.totals.gauges[0].mean - 7.0 / 3.5).abs() < 1e-9);
        assert_eq!(r.windows[1].offered, 10.0);
    }

    #[test]
    fn warmup_windows_stay_out_of_totals() {
        let mut b = RecordBuilder::new(meta(S, 2 * S, 4 * S));
        b.arrival(S);
        b.outcome(S, Outcome::Ok, 5_000);
        b.arrival(3 * S);
        b.outcome(3 * S, Outcome::Ok, 7_000);
        let r = b.finish(4 * S, 0, |_, _| 0.0);
        assert_eq!(r.windows.len(), 4);
        assert_eq!(r.totals.arrivals, 1);
        assert_eq!(r.totals.latency.count(), 1);
        assert_eq!(r.totals.span, 2 * S);
        assert_eq!(r.totals.throughput(), 0.5);
    }
}
