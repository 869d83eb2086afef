//! Builds a [`Record`] from events given in time order.

use super::coarse::{CoarseAcc, FULL_MEMBERS};
use super::endpoint::{EndpointAcc, EndpointTotals, split_endpoints};
use super::segment::Segmenter;
use super::{
    CounterSpec, GaugeGroup, GaugeSpec, GaugeStat, HistogramId, HistogramSpec, Latencies, OutcomeCounts, OutcomeId,
    OutcomeSpec, Record, RecordMeta, Totals, Window, outcomes,
};
use crate::scenario::Phase;

/// Handle of a gauge registered with [`RecordBuilder::add_gauge`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GaugeId(pub(super) u16);

/// Handle of a group registered with [`RecordBuilder::add_group`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupId(u16);

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
/// Components declare what they record (outcomes, waits, gauges,
/// counters) before the first window closes, and keep the ids they get
/// back. Every recording method takes the current time; times must not go
/// backwards.
pub struct RecordBuilder {
    meta: RecordMeta,
    outcome_specs: Vec<OutcomeSpec>,
    wait_specs: Vec<HistogramSpec>,
    gauge_specs: Vec<GaugeSpec>,
    /// Per gauge: its series among the coarse ones, if it is one.
    coarse_slot: Vec<Option<u32>>,
    coarse: CoarseAcc,
    /// Each group's key, label and members.
    groups: Vec<(String, String, Vec<GaugeId>)>,
    counter_specs: Vec<CounterSpec>,
    window_start: u64,
    window_end: u64,
    /// `window_end` while windows remain to close, else never: the one
    /// comparison every recording method makes.
    next_roll: u64,
    arrivals: u64,
    outcomes: OutcomeCounts,
    latency: Latencies,
    waits: Vec<Latencies>,
    gauges: Vec<GaugeAcc>,
    counters: Vec<u64>,
    windows: Vec<Window>,
    total_latency: Latencies,
    total_waits: Vec<Latencies>,
    /// The endpoints' keys, and their accumulators when there are two or more.
    endpoint_keys: Vec<String>,
    endpoints: Vec<EndpointAcc>,
    /// Merges windows into segments when told what is merged later.
    segmenter: Option<Segmenter>,
    scratch: Vec<u8>,
}

impl RecordBuilder {
    pub fn new(meta: RecordMeta) -> RecordBuilder {
        assert!(meta.window > 0, "a record needs a window longer than 0");
        let window_end = meta.window.min(meta.duration);
        let meta_duration = meta.duration;
        let windows = meta.duration.div_ceil(meta.window);
        RecordBuilder {
            meta,
            // Success is outcome 0 in every record: see `OutcomeId::OK`.
            outcome_specs: vec![outcomes::OK],
            wait_specs: Vec::new(),
            gauge_specs: Vec::new(),
            coarse_slot: Vec::new(),
            coarse: CoarseAcc::new(windows),
            groups: Vec::new(),
            counter_specs: Vec::new(),
            window_start: 0,
            window_end,
            next_roll: Self::roll_at(window_end, meta_duration),
            arrivals: 0,
            outcomes: OutcomeCounts::zeroed(1),
            latency: Latencies::default(),
            waits: Vec::new(),
            gauges: Vec::new(),
            counters: Vec::new(),
            windows: Vec::new(),
            total_latency: Latencies::default(),
            total_waits: Vec::new(),
            endpoint_keys: Vec::new(),
            endpoints: Vec::new(),
            segmenter: None,
            scratch: Vec::new(),
        }
    }

    /// Tells the builder what is merged later: the figures of `phases`
    /// (each a run of whole windows after the warm-up) and the levels of
    /// the intended rate `offered` gives each window, as `lab validate`
    /// takes them (see [`super::Segment`]). The windows then keep no
    /// histograms, only their figures, and the record keeps their merges
    /// over those spans in [`Record::segments`](super::Record::segments),
    /// which [`Record::latency_over`](super::Record::latency_over) reads.
    /// `offered` must be what [`RecordBuilder::finish`] is given.
    ///
    /// # Panics
    ///
    /// When a window has already closed, or with more than 64 phases.
    pub fn merge_by(&mut self, phases: &[Phase], offered: impl Fn(u64, u64) -> f64 + Send + 'static) {
        self.assert_no_window_closed("merge", "spans");
        self.segmenter = Some(Segmenter::new(
            phases,
            self.meta.warmup,
            self.endpoints.len(),
            Box::new(offered),
        ));
    }

    /// Names the endpoints whose results are kept apart, in the order of
    /// the indices [`RecordBuilder::outcome_of`] takes. With one, nothing is
    /// split: its figures are the totals; nor with more than
    /// [`super::MAX_SPLIT_ENDPOINTS`].
    ///
    /// # Panics
    ///
    /// When a window has already closed, or endpoints were already named.
    pub fn set_endpoints<S: Into<String>>(&mut self, keys: impl IntoIterator<Item = S>) {
        assert!(self.endpoint_keys.is_empty(), "endpoints are named once");
        self.assert_no_window_closed("endpoint", "endpoints");
        let keys: Vec<String> = keys.into_iter().map(Into::into).collect();
        if split_endpoints(keys.len()) > 0 {
            self.endpoints = keys
                .iter()
                .map(|_| EndpointAcc::new(self.outcome_specs.len()))
                .collect();
        }
        self.endpoint_keys = keys;
        if let Some(s) = &mut self.segmenter {
            s.set_endpoints(self.endpoints.len());
        }
    }

    /// Declares a way requests can end and returns its id.
    ///
    /// # Panics
    ///
    /// When the key is already declared (`ok` always is): two causes under
    /// one key would be one CSV column and one summary.json entry. A
    /// component that shares another's outcome looks its id up with
    /// [`RecordBuilder::outcome_id`] instead. Also when a window has already
    /// closed, since every window counts the same outcomes.
    pub fn add_outcome(&mut self, spec: OutcomeSpec) -> OutcomeId {
        assert!(
            self.outcome_id(&spec.key).is_none(),
            "the outcome key `{}` is declared twice (its label: `{}`)",
            spec.key,
            spec.label
        );
        assert!(!spec.key.is_empty(), "an outcome key cannot be empty");
        if let Some(status) = spec.http_status {
            assert!(
                (100..=599).contains(&status),
                "outcome `{}`: no HTTP status {status}",
                spec.key
            );
        }
        self.assert_no_window_closed("outcome", &spec.key);
        let id = OutcomeId(u16::try_from(self.outcome_specs.len()).expect("fewer than 65536 outcomes"));
        self.outcome_specs.push(spec);
        self.outcomes.push_zero();
        for e in &mut self.endpoints {
            e.outcomes.push_zero();
        }
        id
    }

    /// The id of an outcome already declared with `key`.
    pub fn outcome_id(&self, key: &str) -> Option<OutcomeId> {
        let i = self.outcome_specs.iter().position(|o| o.key == key)?;
        Some(OutcomeId(i as u16))
    }

    /// Declares a wait, kept as a histogram per window, and returns its id.
    ///
    /// # Panics
    ///
    /// When the key is already declared, or is `latency` (the end-to-end
    /// latency's columns), or a window has already closed.
    pub fn add_wait(&mut self, spec: HistogramSpec) -> HistogramId {
        assert!(
            !self.wait_specs.iter().any(|w| w.key == spec.key),
            "the wait key `{}` is declared twice (its label: `{}`)",
            spec.key,
            spec.label
        );
        assert!(!spec.key.is_empty(), "a wait key cannot be empty");
        assert!(
            spec.key != "latency",
            "a wait cannot be keyed `latency`: its columns would clash with the latency's"
        );
        self.assert_no_window_closed("wait", &spec.key);
        let id = HistogramId(u16::try_from(self.wait_specs.len()).expect("fewer than 65536 waits"));
        self.wait_specs.push(spec);
        self.waits.push(Latencies::default());
        self.total_waits.push(Latencies::default());
        id
    }

    fn assert_no_window_closed(&self, what: &str, key: &str) {
        assert!(
            self.windows.is_empty(),
            "the {what} `{key}` is declared after a window closed: declare it when the component is built"
        );
    }

    pub fn add_gauge(&mut self, spec: GaugeSpec) -> GaugeId {
        self.gauge_specs.push(spec);
        self.gauges.push(GaugeAcc::default());
        self.coarse_slot.push(None);
        GaugeId(u16::try_from(self.gauges.len() - 1).expect("fewer than 65536 gauges"))
    }

    /// Declares a group of like gauges (one per web node), which
    /// [`RecordBuilder::add_gauge_in`] fills.
    pub fn add_group(&mut self, key: &str, label: &str) -> GroupId {
        self.groups.push((key.into(), label.into(), Vec::new()));
        GroupId(u16::try_from(self.groups.len() - 1).expect("fewer than 65536 groups"))
    }

    /// Declares a gauge as a member of `group`. The group's first
    /// [`FULL_MEMBERS`] members have a figure in every window like any
    /// gauge; the others are coarse (see [`super::CoarseGauges`]), so that
    /// a thousand of them take the same memory in a long run as in a short
    /// one.
    ///
    /// # Panics
    ///
    /// When a window has already closed.
    pub fn add_gauge_in(&mut self, group: GroupId, spec: GaugeSpec) -> GaugeId {
        self.assert_no_window_closed("gauge", &spec.key);
        let coarse = self.groups[group.0 as usize].2.len() >= FULL_MEMBERS;
        let id = self.add_gauge(spec);
        if coarse {
            *self.coarse_slot.last_mut().expect("just added") = Some(self.coarse.add());
        }
        self.groups[group.0 as usize].2.push(id);
        id
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
    pub fn outcome(&mut self, now: u64, outcome: OutcomeId, latency: u64) {
        self.advance(now);
        self.outcomes[outcome] += 1;
        if outcome == OutcomeId::OK {
            self.latency.record(latency);
        }
    }

    /// A request to endpoint `endpoint` (its index among
    /// [`RecordBuilder::set_endpoints`]'s) ended for its client.
    #[inline]
    pub fn outcome_of(&mut self, now: u64, endpoint: u32, outcome: OutcomeId, latency: u64) {
        self.outcome(now, outcome, latency);
        if let Some(e) = self.endpoints.get_mut(endpoint as usize) {
            e.outcome(outcome, latency);
        }
    }

    /// A wait of the declared `histogram` ended.
    #[inline]
    pub fn wait(&mut self, now: u64, histogram: HistogramId, wait: u64) {
        self.advance(now);
        self.waits[histogram.index()].record(wait);
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
        let measured = self.window_start >= self.meta.warmup;
        self.coarse.next_window();
        let mut gauges = Vec::with_capacity(self.gauges.len() - self.coarse.len());
        for (g, slot) in self.gauges.iter_mut().zip(&self.coarse_slot) {
            g.integral += u128::from(g.value) * u128::from(end - g.since);
            let stat = GaugeStat {
                mean: g.integral as f64 / len.max(1) as f64,
                max: g.max as f64,
            };
            match slot {
                None => gauges.push(stat),
                Some(c) => self.coarse.record(*c, g.integral as f64, stat.max, measured),
            }
            g.since = end;
            g.integral = 0;
            g.max = g.value;
        }
        if measured {
            self.total_latency.merge(&self.latency);
            for (total, w) in self.total_waits.iter_mut().zip(&self.waits) {
                total.merge(w);
            }
        }
        let scratch = &mut self.scratch;
        if let Some(s) = &mut self.segmenter {
            let endpoints = self.endpoints.iter().map(|e| &e.latency);
            s.window(
                self.windows.len(),
                self.window_start,
                len,
                &self.latency,
                endpoints,
                scratch,
            );
        }
        // A window keeps its histograms only when nothing merged them as it closed.
        let keep = self.segmenter.is_none();
        let window = Window {
            start: self.window_start,
            len,
            offered: 0.0,
            arrivals: std::mem::take(&mut self.arrivals),
            outcomes: std::mem::replace(&mut self.outcomes, OutcomeCounts::zeroed(self.outcome_specs.len())),
            latency: if keep {
                self.latency.digest(scratch)
            } else {
                self.latency.figures()
            },
            waits: self.waits.iter().map(Latencies::figures).collect(),
            gauges,
            counters: self.counters.iter_mut().map(std::mem::take).collect(),
            endpoints: self
                .endpoints
                .iter_mut()
                .map(|e| e.close(measured, keep, scratch))
                .collect(),
        };
        self.latency.reset();
        self.waits.iter_mut().for_each(Latencies::reset);
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
            // The last window may be shorter, and levels leave it out: it
            // is a segment of its own.
            if let Some(s) = &mut self.segmenter {
                s.flush(&mut self.scratch);
            }
            self.close_window(end.max(self.window_start));
        }
        let segments = self.segmenter.take().map(|mut s| {
            s.flush(&mut self.scratch);
            s.segments
        });
        for w in &mut self.windows {
            w.offered = offered(w.start, w.start + w.len);
        }
        let measured: Vec<&Window> = self.windows.iter().filter(|w| w.start >= self.meta.warmup).collect();
        let span: u64 = measured.iter().map(|w| w.len).sum();
        let mut outcomes = OutcomeCounts::zeroed(self.outcome_specs.len());
        let mut counters = vec![0; self.counter_specs.len()];
        let mut gauges = vec![GaugeStat::default(); self.gauge_specs.len() - self.coarse.len()];
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
        let arrivals = measured.iter().map(|w| w.arrivals).sum();
        let endpoints = self
            .endpoints
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let mut outcomes = OutcomeCounts::zeroed(self.outcome_specs.len());
                for w in &measured {
                    outcomes.add(&w.endpoints[i].outcomes);
                }
                EndpointTotals {
                    outcomes,
                    latency: e.total_latency,
                }
            })
            .collect();
        // The gauges the windows hold keep their order; the coarse ones
        // follow, in theirs (a coarse gauge's slot is its rank among them).
        let first = self.gauge_specs.len() - self.coarse.len();
        let mut specs = Vec::with_capacity(self.gauge_specs.len());
        let mut coarse_specs = Vec::with_capacity(self.coarse.len());
        let mut index = Vec::with_capacity(self.gauge_specs.len());
        for (spec, slot) in self.gauge_specs.into_iter().zip(&self.coarse_slot) {
            match slot {
                None => {
                    index.push(specs.len());
                    specs.push(spec);
                }
                Some(c) => {
                    index.push(first + *c as usize);
                    coarse_specs.push(spec);
                }
            }
        }
        specs.extend(coarse_specs);
        let (coarse, coarse_totals) = self.coarse.finish(first, &self.windows, span);
        gauges.extend(coarse_totals);
        let groups = self
            .groups
            .into_iter()
            .map(|(key, label, members)| GaugeGroup {
                key,
                label,
                members: members.iter().map(|g| index[g.0 as usize]).collect(),
            })
            .collect();
        let totals = Totals {
            span,
            arrivals,
            outcomes,
            latency: self.total_latency,
            waits: self.total_waits,
            gauges,
            counters,
            unfinished,
            endpoints,
        };
        Record {
            meta: self.meta,
            outcomes: self.outcome_specs,
            waits: self.wait_specs,
            gauges: specs,
            groups,
            coarse,
            counters: self.counter_specs,
            endpoints: self.endpoint_keys,
            windows: self.windows,
            segments,
            totals,
            spans: Vec::new(),
            timelines: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::outcomes::{BACKLOG_FULL, CLIENT_TIMEOUT, LB_UNAVAILABLE};
    use crate::record::test_support::{meta, with_queue_and_counter};
    use crate::record::waits::FPM_BACKLOG;

    const S: u64 = 1_000_000_000;

    #[test]
    fn windows_split_time_and_gauges_are_time_weighted() {
        let (mut b, g, c) = with_queue_and_counter(meta(S, 0, 3 * S + S / 2));
        b.gauge(S / 2, g, 4); // 0 for 0.5 s, 4 for 0.5 s
        b.arrival(S / 2);
        let backlog_full = b.add_outcome(BACKLOG_FULL);
        b.outcome(S / 2 + 10, OutcomeId::OK, 2_000_000);
        b.count(2 * S + 1, c, 3);
        b.gauge(2 * S + S / 4, g, 0);
        b.outcome(3 * S + 1, backlog_full, 1_000);
        let r = b.finish(3 * S + S / 2, 7, |_, _| 10.0);
        assert_eq!(r.windows.len(), 4);
        assert_eq!(r.windows[3].len, S / 2);
        assert_eq!(r.windows[0].gauges[0], GaugeStat { mean: 2.0, max: 4.0 });
        assert_eq!(r.windows[1].gauges[0], GaugeStat { mean: 4.0, max: 4.0 });
        assert_eq!(r.windows[2].gauges[0], GaugeStat { mean: 1.0, max: 4.0 });
        assert_eq!(r.windows[3].gauges[0], GaugeStat { mean: 0.0, max: 0.0 });
        assert_eq!(r.windows[2].counters[0], 3);
        assert_eq!(r.windows[0].latency.count, 1);
        assert_eq!(r.windows[3].outcomes[backlog_full], 1);
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
        b.outcome(S, OutcomeId::OK, 5_000);
        b.arrival(3 * S);
        b.outcome(3 * S, OutcomeId::OK, 7_000);
        let r = b.finish(4 * S, 0, |_, _| 0.0);
        assert_eq!(r.windows.len(), 4);
        assert_eq!(r.totals.arrivals, 1);
        assert_eq!(r.totals.latency.count(), 1);
        assert_eq!(r.totals.span, 2 * S);
        assert_eq!(r.totals.throughput(), 0.5);
    }

    #[test]
    fn ok_is_outcome_zero_and_declared_outcomes_are_counted_by_id() {
        let mut b = RecordBuilder::new(meta(S, 0, 2 * S));
        assert_eq!(b.outcome_id("ok"), Some(OutcomeId::OK));
        let timeout = b.add_outcome(CLIENT_TIMEOUT);
        // One declared while the first window is open keeps what was counted.
        b.outcome(S / 4, timeout, 9_000);
        let haproxy = b.add_outcome(LB_UNAVAILABLE);
        assert_eq!((timeout.index(), haproxy.index()), (1, 2));
        assert_eq!(b.outcome_id("haproxy_503"), Some(haproxy));
        b.outcome(S / 2, haproxy, 1_000);
        b.outcome(S + 1, haproxy, 1_000);
        b.outcome(S + 2, OutcomeId::OK, 3_000);
        let r = b.finish(2 * S, 0, |_, _| 0.0);
        let keys: Vec<_> = r.outcomes.iter().map(|o| o.key.as_ref()).collect();
        assert_eq!(keys, ["ok", "client_timeout", "haproxy_503"]);
        assert_eq!(r.outcome_id("haproxy_503"), Some(haproxy));
        assert_eq!(r.outcome(haproxy).http_status, Some(503));
        assert_eq!(r.outcome_id("backlog_full_502"), None);
        let counts: Vec<_> = r
            .windows
            .iter()
            .map(|w| w.outcomes.iter().map(|(_, n)| n).collect::<Vec<_>>())
            .collect();
        assert_eq!(counts, [vec![0, 1, 1], vec![1, 0, 1]]);
        assert_eq!(r.totals.outcomes[haproxy], 2);
        assert_eq!(r.totals.outcomes.errors(), 3);
        // Only successes make the latency distribution.
        assert_eq!(r.totals.latency.count(), 1);
    }

    #[test]
    #[should_panic(expected = "the outcome key `backlog_full_502` is declared twice")]
    fn an_outcome_key_is_declared_once() {
        let mut b = RecordBuilder::new(meta(S, 0, S));
        b.add_outcome(BACKLOG_FULL);
        b.add_outcome(OutcomeSpec {
            label: "502 from elsewhere".into(),
            ..BACKLOG_FULL
        });
    }

    #[test]
    #[should_panic(expected = "the outcome key `ok` is declared twice")]
    fn ok_is_always_declared() {
        RecordBuilder::new(meta(S, 0, S)).add_outcome(crate::record::outcomes::OK);
    }

    #[test]
    #[should_panic(expected = "declared after a window closed")]
    fn outcomes_are_declared_before_the_first_window_closes() {
        let mut b = RecordBuilder::new(meta(S, 0, 3 * S));
        b.arrival(S + 1);
        b.add_outcome(BACKLOG_FULL);
    }

    #[test]
    fn waits_are_kept_per_window_and_in_the_totals() {
        let mut b = RecordBuilder::new(meta(S, S, 3 * S));
        let backlog = b.add_wait(FPM_BACKLOG);
        let haproxy = b.add_wait(HistogramSpec::new("haproxy.queue_wait", "HAProxy queue wait"));
        b.wait(S / 2, backlog, 4_000_000);
        b.wait(S + 1, backlog, 2_000_000);
        b.wait(2 * S + 1, haproxy, 7_000_000);
        let r = b.finish(3 * S, 0, |_, _| 0.0);
        assert_eq!(r.wait_index("queue_wait"), Some(backlog.index()));
        assert_eq!(r.wait_index("haproxy.queue_wait"), Some(haproxy.index()));
        assert_eq!(r.waits[1].label, "HAProxy queue wait");
        let counts: Vec<Vec<u64>> = r
            .windows
            .iter()
            .map(|w| w.waits.iter().map(|d| d.count).collect())
            .collect();
        assert_eq!(counts, [[1, 0], [1, 0], [0, 1]]);
        // The warm-up's wait stays out of the totals.
        assert_eq!(r.totals.waits[0].count(), 1);
        assert_eq!(r.totals.waits[0].max(), Some(2_000_000));
        assert_eq!(r.totals.waits[1].max(), Some(7_000_000));
    }

    #[test]
    #[should_panic(expected = "the wait key `queue_wait` is declared twice")]
    fn a_wait_key_is_declared_once() {
        let mut b = RecordBuilder::new(meta(S, 0, S));
        b.add_wait(FPM_BACKLOG);
        b.add_wait(FPM_BACKLOG);
    }

    #[test]
    #[should_panic(expected = "clash with the latency's")]
    fn a_wait_is_not_the_latency() {
        RecordBuilder::new(meta(S, 0, S)).add_wait(HistogramSpec::new("latency", "latency"));
    }
}
