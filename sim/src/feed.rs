//! An open model's arrivals, made ahead on a thread of their own.
//!
//! Everything about the next arrival that does not depend on the shop is
//! drawn there: its time (an Exp(1) draw from the traffic stream, turned
//! into a time by the rate profile), its request's stream and endpoint
//! (request number `n` is the `n`-th arrival, whose stream starts with the
//! endpoint's draw from the mix at its time), all by
//! [`lab_core::draw::OpenDraws`] as the load generator draws them, and its
//! network stream where the era has round trips, and the demand of its
//! program's first step where that is a `cpu` step (the request's next
//! draw: drawn here, it leaves the simulating thread's hot path).
//! The draws are the ones the shop made itself, in the same order, so the
//! run is the same; the simulating thread only reads them, in batches, as
//! the recorder's thread reads its facts.
//!
//! The thread stops after the first arrival at or past the end of the run
//! (which never happens), after the last one (the rate stays at zero from
//! there), or when the shop drops the feed.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use lab_core::draw::OpenDraws;
use rand_pcg::Pcg64Mcg;

use crate::engine::Time;
use crate::sample::{Sampler, Streams};

/// Arrivals per batch, and batches made ahead of the shop.
const BATCH: usize = 4096;
const AHEAD: usize = 2;

/// Bytes the feed holds at most: its batches in flight, the one being
/// filled and the one being read, for the memory estimate.
pub(crate) const FEED_BYTES: usize = (AHEAD + 3) * BATCH * size_of::<Arrival>();

/// One arrival, and the request it brings.
pub(crate) struct Arrival {
    /// When; `None` when no arrival comes any more.
    pub time: Option<Time>,
    /// The request's stream, after the endpoint's draw.
    pub rng: Pcg64Mcg,
    /// The request's network stream (where the era has round trips).
    pub net: Pcg64Mcg,
    pub endpoint: u32,
    /// Its first step's CPU demand, already drawn from `rng`, marked with
    /// [`DRAWN`]; 0 when its endpoint's program does not start with a
    /// `cpu` step.
    pub first: u64,
}

/// The mark of a demand drawn ahead ([`Arrival::first`]); no job number
/// and no draw ([`crate::sample::MAX_DRAW`]) reaches it.
pub(crate) const DRAWN: u64 = 1 << 63;

/// The draws of `scenario`'s open model (`None` for a closed one): the
/// one place a run and [`crate::arrivals`] start them.
pub(crate) fn draws(scenario: &lab_core::Scenario) -> Option<OpenDraws> {
    match &scenario.traffic.workload {
        lab_core::scenario::Workload::Open(profile) => {
            Some(OpenDraws::new(profile, &scenario.traffic.mix, scenario.seed))
        }
        lab_core::scenario::Workload::Closed { .. } => None,
    }
}

/// What the thread needs to draw the arrivals.
pub(crate) struct Source {
    pub draws: OpenDraws,
    /// For the network streams.
    pub streams: Streams,
    /// Whether requests draw a network stream.
    pub network: bool,
    /// Per endpoint, its program's first step's demand when that is a
    /// `cpu` step.
    pub first: Vec<Option<Sampler>>,
    /// The end of the run.
    pub end: Time,
}

impl Source {
    /// Fills `batch` with the arrivals from number `n` on; `true` when the
    /// last one it will ever make is in.
    fn fill(&mut self, batch: &mut Vec<Arrival>, n: &mut u64) -> bool {
        batch.clear();
        while batch.len() < BATCH {
            let d = self.draws.draw();
            let (time, mut rng, endpoint) = (d.time, d.rng, d.endpoint);
            let first = match self.first.get(endpoint as usize) {
                Some(Some(s)) => DRAWN | s.sample(&mut rng),
                _ => 0,
            };
            *n += 1;
            let net = if self.network {
                self.streams.network(d.id)
            } else {
                Pcg64Mcg::new(1)
            };
            batch.push(Arrival {
                time,
                rng,
                net,
                endpoint,
                first,
            });
            if time.is_none_or(|t| t >= self.end) {
                return true;
            }
        }
        false
    }
}

/// The shop's end: the arrivals, one by one.
pub(crate) struct Feed {
    batch: Vec<Arrival>,
    /// Past the current arrival in `batch`.
    at: usize,
    full: Option<Receiver<Vec<Arrival>>>,
    empty: SyncSender<Vec<Arrival>>,
    thread: Option<JoinHandle<()>>,
}

impl Feed {
    /// Starts the thread that draws the arrivals of `source`.
    pub fn spawn(mut source: Source) -> Feed {
        let (full_tx, full_rx) = sync_channel::<Vec<Arrival>>(AHEAD);
        let (empty_tx, empty_rx) = sync_channel::<Vec<Arrival>>(AHEAD + 2);
        let thread = std::thread::Builder::new()
            .name("lab-arrivals".into())
            .spawn(move || {
                let mut n = 0;
                loop {
                    let mut batch = empty_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    let last = source.fill(&mut batch, &mut n);
                    if full_tx.send(batch).is_err() || last {
                        return;
                    }
                }
            })
            .expect("the arrivals' thread starts");
        Feed {
            batch: Vec::new(),
            at: 0,
            full: Some(full_rx),
            empty: empty_tx,
            thread: Some(thread),
        }
    }

    /// Moves on to the next arrival and returns its time. Never called past
    /// the one the thread made last: that one is past the end of the run,
    /// or has no time.
    #[inline(always)]
    pub fn advance(&mut self) -> Option<Time> {
        if self.at == self.batch.len() {
            self.refill();
        }
        self.at += 1;
        self.batch[self.at - 1].time
    }

    /// The arrival [`Feed::advance`] moved to, read where it lies.
    #[inline(always)]
    pub fn current(&self) -> &Arrival {
        &self.batch[self.at - 1]
    }

    #[cold]
    #[inline(never)]
    fn refill(&mut self) {
        let next = self
            .full
            .as_ref()
            .and_then(|rx| rx.recv().ok())
            .expect("the arrivals' thread makes arrivals until the last");
        let done = std::mem::replace(&mut self.batch, next);
        let _ = self.empty.try_send(done);
        self.at = 0;
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        // Closing the channel stops the thread at its next batch.
        self.full = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::draw::Arrivals;
    use lab_core::scenario::{Mix, RateProfile};
    use rand::Rng;
    use rand_distr::{Distribution, Exp1};

    const S: Time = 1_000_000_000;

    fn source(profile: &RateProfile, network: bool, end: Time) -> Source {
        let mix = Mix::constant(vec![(3, 0.25), (1, 0.5), (0, 0.25)]);
        Source {
            draws: OpenDraws::new(profile, &mix, 5),
            streams: Streams::new(5),
            network,
            first: Vec::new(),
            end,
        }
    }

    /// The draws as the shop made them itself, written out.
    struct Own {
        arrivals: Arrivals,
        rng: Pcg64Mcg,
        streams: Streams,
    }

    fn endpoint(u: f64) -> u32 {
        [(0.25, 3), (0.75, 1), (1.0, 0)]
            .iter()
            .find(|(c, _)| u < *c)
            .map_or(0, |e| e.1)
    }

    #[test]
    fn the_feed_draws_what_the_shop_drew_itself() {
        // A rate that rises and stops, so that the last arrival has no time.
        let p = RateProfile::new(vec![(0, 100.0), (60 * S, 3000.0), (61 * S, 0.0)]).unwrap();
        for network in [false, true] {
            let mut own = Own {
                arrivals: Arrivals::new(&p),
                rng: Streams::new(5).traffic(),
                streams: Streams::new(5),
            };
            let mut feed = Feed::spawn(source(&p, network, u64::MAX));
            let mut n = 0u64;
            loop {
                let e: f64 = Exp1.sample(&mut own.rng);
                let time = own.arrivals.next(e);
                let mut rng = own.streams.request(n);
                let u: f64 = rng.random();
                assert_eq!(feed.advance(), time, "arrival {n}");
                let a = feed.current();
                assert_eq!(a.endpoint, endpoint(u));
                assert_eq!(a.rng.clone().random::<u64>(), rng.random::<u64>());
                let mut net = if network {
                    own.streams.network(n)
                } else {
                    Pcg64Mcg::new(1)
                };
                assert_eq!(a.net.clone().random::<u64>(), net.random::<u64>());
                n += 1;
                if time.is_none() {
                    break;
                }
            }
            assert!(n > 3 * BATCH as u64, "{n} arrivals: several batches");
        }
    }

    #[test]
    fn the_thread_stops_at_the_end_of_the_run_or_when_dropped() {
        let p = RateProfile::constant(1000.0);
        // Past the end: the thread makes nothing more, and the shop asks
        // for nothing more.
        let mut feed = Feed::spawn(source(&p, false, 10 * S));
        let mut last = 0;
        while let Some(t) = feed.advance() {
            last = t;
            if t >= 10 * S {
                break;
            }
        }
        assert!(last >= 10 * S);
        drop(feed);
        // Dropped early, with batches waiting: the thread ends (the drop
        // joins it).
        let mut feed = Feed::spawn(source(&p, false, u64::MAX));
        feed.advance();
        drop(feed);
    }
}
