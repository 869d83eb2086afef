//! Turns what the users saw into a [`Record`], on a thread of its own.
//!
//! A [`RecordBuilder`] takes facts in time order, but users finish their
//! requests concurrently and report a moment later. The recorder holds the
//! facts of the last [`HORIZON`] in a heap and hands them over in order;
//! its memory depends on the rate, never on the length of the run. A fact
//! that comes later than that (a stalled thread) is counted at the time the
//! builder has reached, one window late at worst.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use lab_core::record::{CounterId, GaugeId, HistogramId, OutcomeId, Record, RecordBuilder};

use crate::clock::Clock;

/// How long a fact waits for those that happened before it.
pub const HORIZON: u64 = 100_000_000;

/// Something that happened at a time, in ns from the start of the run.
#[derive(Clone, Copy, Debug)]
pub enum Fact {
    Arrival,
    /// `endpoint`: its index among the scenario's endpoints.
    Outcome {
        id: OutcomeId,
        endpoint: u32,
        latency: u64,
    },
    Wait {
        id: HistogramId,
        wait: u64,
    },
    Gauge {
        id: GaugeId,
        value: u64,
    },
    Count {
        id: CounterId,
        n: u64,
    },
}

#[derive(Debug)]
struct Timed {
    at: u64,
    seq: u64,
    fact: Fact,
}

impl PartialEq for Timed {
    fn eq(&self, o: &Timed) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, o: &Timed) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timed {
    fn cmp(&self, o: &Timed) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// What the progress bar shows, counted as facts are sent.
#[derive(Debug, Default)]
pub struct Live {
    pub arrivals: AtomicU64,
    pub ok: AtomicU64,
    pub errors: AtomicU64,
    pub dropped: AtomicU64,
    pub in_flight: AtomicU64,
}

/// The users' and the scheduler's handle on the recorder.
#[derive(Clone)]
pub struct Facts {
    tx: flume::Sender<(u64, Fact)>,
    pub live: Arc<Live>,
}

impl Facts {
    pub fn send(&self, at: u64, fact: Fact) {
        match fact {
            Fact::Arrival => {
                self.live.arrivals.fetch_add(1, Ordering::Relaxed);
            }
            Fact::Outcome { id, .. } if id == OutcomeId::OK => {
                self.live.ok.fetch_add(1, Ordering::Relaxed);
            }
            Fact::Outcome { .. } => {
                self.live.errors.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        // The recorder outlives every sender; a closed channel means the
        // drive is being torn down, and the fact has nowhere to go.
        let _ = self.tx.send((at, fact));
    }
}

/// The recorder's thread; [`Recorder::finish`] returns the record.
pub struct Recorder {
    handle: JoinHandle<Record>,
}

impl Recorder {
    /// Starts the thread with a builder whose outcomes, gauges and counters
    /// are declared. `offered` gives the intended rate over a span (`None`:
    /// a closed model, whose offered load is what its users sent).
    pub fn start(
        builder: RecordBuilder,
        clock: Clock,
        duration: u64,
        offered: Option<lab_core::scenario::RateProfile>,
    ) -> Result<(Recorder, Facts), crate::LoadgenError> {
        let (tx, rx) = flume::unbounded();
        let handle = std::thread::Builder::new()
            .name("lab-recorder".into())
            .spawn(move || run(builder, rx, clock, duration, offered))
            .map_err(|source| crate::LoadgenError::Start {
                what: "recorder thread",
                source,
            })?;
        Ok((
            Recorder { handle },
            Facts {
                tx,
                live: Arc::new(Live::default()),
            },
        ))
    }

    /// Waits for every sender to be dropped and returns the record.
    pub fn finish(self) -> Record {
        self.handle.join().expect("the recorder thread does not panic")
    }
}

fn run(
    mut b: RecordBuilder,
    rx: flume::Receiver<(u64, Fact)>,
    clock: Clock,
    duration: u64,
    offered: Option<lab_core::scenario::RateProfile>,
) -> Record {
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    let mut reached = 0u64;
    let mut unfinished = 0u64;
    let mut release = |heap: &mut BinaryHeap<Reverse<Timed>>, upto: u64, b: &mut RecordBuilder| {
        while heap.peek().is_some_and(|t| t.0.at <= upto) {
            let Reverse(t) = heap.pop().expect("peeked");
            let at = t.at.max(reached);
            reached = at;
            if at >= duration {
                // The run is over: the simulator counts a request still
                // unanswered at its end as unfinished, and so does a drive.
                if matches!(t.fact, Fact::Outcome { .. }) {
                    unfinished += 1;
                }
                continue;
            }
            match t.fact {
                Fact::Arrival => b.arrival(at),
                Fact::Outcome { id, endpoint, latency } => b.outcome_of(at, endpoint, id, latency),
                Fact::Wait { id, wait } => b.wait(at, id, wait),
                Fact::Gauge { id, value } => b.gauge(at, id, value),
                Fact::Count { id, n } => b.count(at, id, n),
            }
        }
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok((at, fact)) => {
                seq += 1;
                heap.push(Reverse(Timed { at, seq, fact }));
            }
            Err(flume::RecvTimeoutError::Timeout) => {}
            Err(flume::RecvTimeoutError::Disconnected) => break,
        }
        if let Some(now) = clock.now() {
            release(&mut heap, now.saturating_sub(HORIZON), &mut b);
        }
    }
    release(&mut heap, u64::MAX, &mut b);
    let mut r = match &offered {
        Some(p) => b.finish(duration, unfinished, |a, z| p.mean_rate(a, z)),
        None => {
            let mut r = b.finish(duration, unfinished, |_, _| 0.0);
            for w in &mut r.windows {
                w.offered = w.arrivals as f64 / w.seconds();
            }
            r
        }
    };
    r.totals.unfinished = unfinished;
    r
}
