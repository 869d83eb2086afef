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
    /// Every gauge's level, in the order the gauges were added; the values
    /// travel beside the facts (see [`FactSender::levels`]).
    Levels {
        at: u64,
        count: u16,
    },
}

/// A batch: facts, and the gauge levels that `Fact::Levels` refers to.
#[derive(Default)]
struct Batch {
    facts: Vec<Fact>,
    levels: Vec<u64>,
}

impl RecordBuilder {
    /// Records one fact; `levels` holds the values of `Fact::Levels`.
    // Forced: the recorder thread's loop is this call, and when the
    // crate grew the inliner stopped taking it (the recorder then took
    // almost twice the time on M/M/4).
    #[inline(always)]
    fn apply_from(&mut self, fact: Fact, levels: &mut std::slice::Iter<'_, u64>) {
        match fact {
            Fact::Arrival { at } => self.arrival(at),
            Fact::Wait { at, histogram, wait } => self.wait(at, histogram, wait),
            Fact::Outcome { at, outcome, latency } => self.outcome(at, outcome, latency),
            Fact::Count { at, counter, n } => self.count(at, counter, n),
            Fact::Gauge { at, gauge, value } => self.gauge(at, gauge, value),
            Fact::Levels { at, count } => {
                // The fact's values as one slice, the gauges as another:
                // one pass over both, no check per value.
                let all = levels.as_slice();
                let (values, rest) = all.split_at(usize::from(count).min(all.len()));
                *levels = rest.iter();
                self.levels(at, values);
            }
        }
    }

    /// Records one fact (not `Fact::Levels`, whose values travel apart).
    pub fn apply(&mut self, fact: Fact) {
        self.apply_from(fact, &mut [].iter());
    }
}

/// Facts per batch: large enough that handing a batch over is rare, small
/// enough to stay in cache (8,192 × 32 bytes).
const BATCH: usize = 8192;
/// Batches in flight before the producer waits for the builder.
const IN_FLIGHT: usize = 8;

/// The producer's end: appends facts and hands full batches over.
pub struct FactSender {
    batch: Batch,
    full: Option<SyncSender<Batch>>,
    empty: Receiver<Batch>,
    builder: Option<JoinHandle<RecordBuilder>>,
}

impl FactSender {
    /// Moves `builder` to a thread of its own that records what is sent.
    pub fn spawn(mut builder: RecordBuilder) -> FactSender {
        let (full_tx, full_rx) = sync_channel::<Batch>(IN_FLIGHT);
        let (empty_tx, empty_rx) = sync_channel::<Batch>(IN_FLIGHT + 1);
        let handle = std::thread::Builder::new()
            .name("lab-recorder".into())
            .spawn(move || {
                for mut batch in full_rx {
                    let mut levels = batch.levels.iter();
                    for &fact in &batch.facts {
                        builder.apply_from(fact, &mut levels);
                    }
                    batch.facts.clear();
                    batch.levels.clear();
                    // Give the buffer back; if the producer has enough, drop it.
                    let _ = empty_tx.try_send(batch);
                }
                builder
            })
            .expect("the recorder thread starts");
        FactSender {
            batch: Batch {
                facts: Vec::with_capacity(BATCH),
                levels: Vec::new(),
            },
            full: Some(full_tx),
            empty: empty_rx,
            builder: Some(handle),
        }
    }

    #[inline]
    pub fn push(&mut self, fact: Fact) {
        self.batch.facts.push(fact);
        if self.batch.facts.len() == BATCH {
            self.hand_over();
        }
    }

    /// Sends every gauge's level at once, in the order the gauges were
    /// added. Cheaper for a producer than finding out which changed: the
    /// builder compares them on its own thread.
    ///
    /// The array's length is fixed at compile time so that copying it is a
    /// few vector moves, not a call to memcpy on every event; values beyond
    /// the gauges the builder has are padding and ignored.
    #[inline]
    pub fn levels<const N: usize>(&mut self, at: u64, values: &[u64; N]) {
        self.batch.levels.extend_from_slice(values);
        self.push(Fact::Levels { at, count: N as u16 });
    }

    #[cold]
    fn hand_over(&mut self) {
        let next = self.empty.try_recv().unwrap_or_else(|_| Batch {
            facts: Vec::with_capacity(BATCH),
            levels: Vec::new(),
        });
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
    fn a_fact_stays_three_words() {
        // Batches of facts are what the simulator's core writes on every
        // event: ids must not make them grow.
        assert_eq!(std::mem::size_of::<Fact>(), 24);
    }
}
