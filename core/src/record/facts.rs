//! Recording on a second core: a producer (the simulator's event loop)
//! sends [`Fact`]s in batches to a [`RecordBuilder`] running on its own
//! thread. The builder sees the facts in the order they were sent, so the
//! record is exactly the one a builder on the producer's thread would make;
//! the producer only pays for appending to a buffer.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::{CounterId, GaugeId, HistogramId, OutcomeId, RecordBuilder};

/// One thing to record, stamped with its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fact {
    Arrival {
        at: u64,
    },
    /// A wait of a declared histogram ended.
    Wait {
        at: u64,
        histogram: HistogramId,
        wait: u64,
    },
    /// A request ended for its client; `latency` is measured from its arrival.
    Outcome {
        at: u64,
        /// The endpoint's index, for [`RecordBuilder::outcome_of`].
        endpoint: u32,
        outcome: OutcomeId,
        latency: u64,
    },
    Count {
        at: u64,
        counter: CounterId,
        n: u64,
    },
    Gauge {
        at: u64,
        gauge: GaugeId,
        value: u64,
    },
    /// Four of the first eight gauges' levels, whatever changed: `gauges`
    /// has a bit set for each, and their levels follow in increasing
    /// order of the gauges, the first two in `narrow`, the others in
    /// `wide` ([`FactSender::levels4`]).
    Levels {
        at: u64,
        gauges: u8,
        narrow: [u16; 2],
        wide: [u32; 2],
    },
}

impl RecordBuilder {
    /// Records one fact.
    // Forced: the recorder thread's loop is this call, and when the
    // crate grew the inliner stopped taking it (the recorder then took
    // almost twice the time on M/M/4).
    #[inline(always)]
    pub fn apply(&mut self, fact: Fact) {
        match fact {
            Fact::Arrival { at } => self.arrival(at),
            Fact::Wait { at, histogram, wait } => self.wait(at, histogram, wait),
            Fact::Outcome {
                at,
                endpoint,
                outcome,
                latency,
            } => self.outcome_of(at, endpoint, outcome, latency),
            Fact::Count { at, counter, n } => self.count(at, counter, n),
            Fact::Gauge { at, gauge, value } => self.gauge(at, gauge, value),
            Fact::Levels {
                at,
                gauges,
                narrow,
                wide,
            } => {
                // `gauge` skips a level that did not change, as the
                // producer's comparison would have.
                let mut bits = gauges;
                for value in [narrow[0].into(), narrow[1].into(), wide[0].into(), wide[1].into()] {
                    let g = bits.trailing_zeros() as u16;
                    bits &= bits - 1;
                    self.gauge(at, GaugeId(g), value);
                }
            }
        }
    }
}

/// Facts per batch: large enough that handing a batch over, which wakes
/// the builder's thread (a system call on the producer's), is rare: one
/// every few thousand requests.
const BATCH: usize = 32768;
/// Room past a full batch, so that one call of [`FactSender::levels`]
/// never has to look for room gauge by gauge.
const SLACK: usize = 64;
/// Batches in flight before the producer waits for the builder.
const IN_FLIGHT: usize = 4;

/// A batch: its first `len` facts are to be recorded. The vector always
/// holds `BATCH + SLACK` facts, so that writing one is a store at `len`.
struct Batch {
    facts: Vec<Fact>,
    len: usize,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            facts: vec![Fact::Arrival { at: 0 }; BATCH + SLACK],
            len: 0,
        }
    }
}

/// The producer's end: appends facts and hands full batches over.
pub struct FactSender {
    batch: Batch,
    /// The levels last sent for the first gauges (see
    /// [`FactSender::levels`]): what the builder holds for them.
    last: Vec<u64>,
    full: Option<SyncSender<Batch>>,
    empty: Receiver<Batch>,
    builder: Option<JoinHandle<RecordBuilder>>,
}

impl FactSender {
    /// Moves `builder` to a thread of its own that records what is sent.
    pub fn spawn(mut builder: RecordBuilder) -> FactSender {
        let gauges = builder.gauge_count();
        let (full_tx, full_rx) = sync_channel::<Batch>(IN_FLIGHT);
        let (empty_tx, empty_rx) = sync_channel::<Batch>(IN_FLIGHT + 1);
        let handle = std::thread::Builder::new()
            .name("lab-recorder".into())
            .spawn(move || {
                for mut batch in full_rx {
                    for &fact in &batch.facts[..batch.len] {
                        builder.apply(fact);
                    }
                    batch.len = 0;
                    // Give the buffer back; if the producer has enough, drop it.
                    let _ = empty_tx.try_send(batch);
                }
                builder
            })
            .expect("the recorder thread starts");
        FactSender {
            batch: Batch::new(),
            // A new builder's gauges stand at 0.
            last: vec![0; gauges],
            full: Some(full_tx),
            empty: empty_rx,
            builder: Some(handle),
        }
    }

    #[inline(always)]
    pub fn push(&mut self, fact: Fact) {
        // A gauge set here is set in the builder too: `levels` compares
        // with it from now on (resolved at compile time for other facts).
        if let Fact::Gauge { gauge, value, .. } = fact {
            if let Some(last) = self.last.get_mut(usize::from(gauge.0)) {
                *last = value;
            }
        }
        let b = &mut self.batch;
        b.facts[b.len] = fact;
        b.len += 1;
        if b.len >= BATCH {
            self.hand_over();
        }
    }

    /// Sets the first gauges' levels at once, in the order the gauges were
    /// added (values beyond the builder's gauges are ignored): a gauge
    /// fact goes to the builder for each level that differs from the one
    /// last sent, which is what the builder would find out itself.
    #[inline]
    pub fn levels<const N: usize>(&mut self, at: u64, values: &[u64; N]) {
        self.levels_at(at, std::array::from_fn(|i| i as u16), *values);
    }

    /// Sets the levels of the gauges `gauges` (by the order they were
    /// added, increasing; those beyond the builder's gauges are ignored),
    /// sending a gauge fact for each that differs from the one last sent.
    ///
    /// Inlined, so that the values stay in the registers they were
    /// computed in (a copy through memory in wider moves waited for the
    /// stores just made) and the gauges' numbers are constants; most
    /// levels do not change from one event to the next.
    #[inline(always)]
    pub fn levels_at<const N: usize>(&mut self, at: u64, gauges: [u16; N], values: [u64; N]) {
        // A call starts with fewer than BATCH facts in the batch (every
        // call that adds facts hands a full batch over before it returns),
        // so N levels fit in the slack without a check.
        const { assert!(N <= SLACK) };
        let b = &mut self.batch;
        for (gauge, value) in gauges.into_iter().zip(values) {
            let Some(last) = self.last.get_mut(usize::from(gauge)) else {
                continue;
            };
            if value != *last {
                *last = value;
                b.facts[b.len] = Fact::Gauge {
                    at,
                    gauge: GaugeId(gauge),
                    value,
                };
                b.len += 1;
            }
        }
        if self.batch.len >= BATCH {
            self.hand_over();
        }
    }

    /// Sets four of the first eight gauges' levels (`gauges`, increasing)
    /// in one fact, without comparing them with the levels last sent: the
    /// builder, on its own thread, skips those that did not change. Where
    /// most levels do not change from one event to the next, that is one
    /// fact written in place of four comparisons, each a branch that
    /// depends on the data, and the facts of those that changed. Levels
    /// too large for the fact (the first two past 16 bits, the others past
    /// 32) go as a fact each.
    ///
    /// A gauge set here must not be set through [`FactSender::levels_at`]
    /// too, which compares with the levels it last sent itself.
    #[inline(always)]
    pub fn levels4(&mut self, at: u64, gauges: [u8; 4], values: [u64; 4]) {
        debug_assert!(gauges.is_sorted_by(|a, b| a < b) && gauges[3] < 8);
        let b = &mut self.batch;
        if (values[0] | values[1]) >> 16 == 0 && (values[2] | values[3]) >> 32 == 0 {
            b.facts[b.len] = Fact::Levels {
                at,
                gauges: gauges.iter().fold(0, |m, g| m | 1 << g),
                narrow: [values[0] as u16, values[1] as u16],
                wide: [values[2] as u32, values[3] as u32],
            };
            b.len += 1;
            if b.len >= BATCH {
                self.hand_over();
            }
        } else {
            self.levels4_wide(at, gauges, values);
        }
    }

    #[cold]
    #[inline(never)]
    fn levels4_wide(&mut self, at: u64, gauges: [u8; 4], values: [u64; 4]) {
        for (g, value) in gauges.into_iter().zip(values) {
            self.push(Fact::Gauge {
                at,
                gauge: GaugeId(g.into()),
                value,
            });
        }
    }

    #[cold]
    fn hand_over(&mut self) {
        let next = self.empty.try_recv().unwrap_or_else(|_| Batch::new());
        let batch = std::mem::replace(&mut self.batch, next);
        if let Some(tx) = &self.full {
            tx.send(batch).expect("the recorder thread is alive");
        }
    }

    /// Sends what is left and takes the builder back, every fact recorded.
    pub fn finish(mut self) -> RecordBuilder {
        self.hand_over();
        self.full = None; // closes the channel: the recorder loop ends
        match self.builder.take().expect("finish is called once").join() {
            Ok(b) => b,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::test_support::{meta, with_queue_and_counter};

    fn builder() -> (RecordBuilder, GaugeId, CounterId, HistogramId, OutcomeId) {
        let (mut b, g, c) = with_queue_and_counter(meta(1_000, 0, 100_000));
        let w = b.add_wait(crate::record::waits::FPM_BACKLOG);
        let o = b.add_outcome(crate::record::outcomes::BACKLOG_FULL);
        (b, g, c, w, o)
    }

    fn facts(g: GaugeId, c: CounterId, w: HistogramId, backlog_full: OutcomeId) -> Vec<Fact> {
        (0..50_000u64)
            .flat_map(|i| {
                let at = i * 2;
                [
                    Fact::Arrival { at },
                    Fact::Wait {
                        at,
                        histogram: w,
                        wait: i % 7 * 1_000,
                    },
                    Fact::Gauge {
                        at,
                        gauge: g,
                        value: i % 5,
                    },
                    Fact::Count { at, counter: c, n: 1 },
                    Fact::Outcome {
                        at,
                        endpoint: 0,
                        outcome: if i % 9 == 0 { backlog_full } else { OutcomeId::OK },
                        latency: 1_000 + i,
                    },
                ]
            })
            .collect()
    }

    #[test]
    fn a_threaded_builder_records_exactly_what_an_inline_one_does() {
        let (mut inline, g, c, w, o) = builder();
        for f in facts(g, c, w, o) {
            inline.apply(f);
        }
        let (threaded, g, c, w, o) = builder();
        let mut sender = FactSender::spawn(threaded);
        for f in facts(g, c, w, o) {
            // Send gauge changes as whole level vectors: the same record.
            match f {
                Fact::Gauge { at, value, .. } => sender.levels(at, &[value]),
                other => sender.push(other),
            }
        }
        let threaded = sender.finish();
        let a = inline.finish(100_000, 0, |_, _| 1.0);
        let b = threaded.finish(100_000, 0, |_, _| 1.0);
        assert_eq!(a.windows, b.windows);
        assert_eq!(a.totals.outcomes, b.totals.outcomes);
        assert_eq!(a.windows.len(), 100);
    }

    #[test]
    fn four_levels_in_one_fact_record_what_a_fact_per_change_does() {
        // Six gauges; levels for gauges 0, 1, 2 and 5 (the stack's without
        // MySQL), now and then too large for the fact.
        let make = || {
            let mut b = RecordBuilder::new(crate::record::test_support::meta(1_000, 0, 100_000));
            for i in 0..6 {
                b.add_gauge(crate::record::GaugeSpec {
                    key: format!("g{i}"),
                    label: format!("g{i}"),
                    kind: crate::record::GaugeKind::Queue,
                    capacity: None,
                });
            }
            b
        };
        let levels = |i: u64| -> [u64; 4] {
            let wide = if i % 1_000 == 7 { 1 << 40 } else { 0 };
            [i % 3, (i / 100) % 2 + wide, i % 11 * 1_000, i / 7 + wide]
        };
        let gauges = [0u8, 1, 2, 5];
        let mut inline = make();
        let mut sender = FactSender::spawn(make());
        for i in 0..50_000u64 {
            let at = i * 2;
            for (g, value) in gauges.iter().zip(levels(i)) {
                inline.apply(Fact::Gauge {
                    at,
                    gauge: GaugeId((*g).into()),
                    value,
                });
            }
            sender.levels4(at, gauges, levels(i));
        }
        let a = inline.finish(100_000, 0, |_, _| 1.0);
        let b = sender.finish().finish(100_000, 0, |_, _| 1.0);
        assert_eq!(a.windows, b.windows);
        assert_eq!(a.windows.len(), 100);
    }

    #[test]
    fn a_fact_stays_three_words() {
        // Batches of facts are what the simulator's core writes on every
        // event: ids must not make them grow.
        assert_eq!(std::mem::size_of::<Fact>(), 24);
    }
}
