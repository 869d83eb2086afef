//! Hooks a drive calls while it runs: progress for people, and scrapers
//! that read the system's gauges (FPM's status page, HAProxy's stats
//! socket, MariaDB's counters), which `deploy` supplies.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lab_core::record::{CounterId, GaugeId, RecordBuilder};

/// Where a drive stands, once a second and at its end.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Wall time since the first arrival's origin.
    pub elapsed: Duration,
    /// The scenario's duration (the traffic stops then; answers may take
    /// up to the client timeout longer).
    pub duration: Duration,
    pub arrivals: u64,
    pub ok: u64,
    /// Requests that ended in anything but a 2xx, drops included.
    pub errors: u64,
    pub dropped: u64,
    pub in_flight: u64,
    /// Arrivals per second over the last second.
    pub rate: f64,
}

/// Told how the drive goes; called on the driving thread.
pub trait Observer {
    fn update(&mut self, s: &Snapshot);
    /// The drive has ended (the record is being finished).
    fn finish(&mut self, _s: &Snapshot) {}
}

/// No progress shown.
impl Observer for () {
    fn update(&mut self, _: &Snapshot) {}
}

/// A progress bar in wall time with the current rate and errors.
pub struct Bar(ProgressBar);

impl Bar {
    /// On standard error; hidden when `quiet` (or when it is not a terminal,
    /// as indicatif decides).
    pub fn new(quiet: bool) -> Bar {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(1000), target).with_style(
            ProgressStyle::with_template("{prefix:>8} [{bar:40}] {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix("drive");
        Bar(bar)
    }
}

impl Observer for Bar {
    fn update(&mut self, s: &Snapshot) {
        let total = s.duration.as_secs_f64().max(1e-9);
        self.0
            .set_position((s.elapsed.as_secs_f64() / total * 1000.0).min(1000.0) as u64);
        self.0.set_message(format!(
            "{:.0}/{:.0} s · {:.0} req/s · {} ok · {} errors ({} dropped) · {} in flight",
            s.elapsed.as_secs_f64().min(total),
            total,
            s.rate,
            s.ok,
            s.errors,
            s.dropped,
            s.in_flight
        ));
    }

    fn finish(&mut self, s: &Snapshot) {
        self.update(s);
        self.0.finish();
    }
}

/// One reading of a scraper.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reading {
    /// The gauge's level from now on.
    Gauge(GaugeId, u64),
    /// A fractional level for the coming second, such as busy cores: the
    /// record holds whole levels, so it is laid down as the level above
    /// for the fraction of the second and the level below for the rest,
    /// which averages to it over any window.
    Level(GaugeId, f64),
    /// Events since the last reading.
    Count(CounterId, u64),
}

/// Reads some of the system's gauges while a drive runs (about once a
/// second, on the driving thread: a slow scrape delays the next one, never
/// the traffic, which runs on threads of its own).
///
/// `declare` is called before the traffic starts, with the record's
/// builder: add the gauges and counters there (`add_gauge`, `add_counter`)
/// and keep their ids.
pub trait Scrape: Send {
    fn declare(&mut self, builder: &mut RecordBuilder);
    fn scrape(&mut self, out: &mut Vec<Reading>);
}
