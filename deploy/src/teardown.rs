//! Teardown, always: the [`Teardown`] guard undoes a run when it is
//! dropped (success, error, panic), and [`Signals`] turns SIGINT, SIGTERM
//! and SIGHUP into a flag the caller polls, so Ctrl-C ends in the same
//! drop instead of killing `lab` half-way. What a SIGKILLed `lab` leaves
//! is in its state file for `lab down`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::DeployError;
use crate::process::Daemon;
use crate::state::RunRecord;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: anything more is not async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// SIGINT, SIGTERM and SIGHUP caught as a flag for the whole process.
#[derive(Clone, Copy, Debug)]
pub struct Signals(());

impl Signals {
    /// Installs the handlers (idempotent).
    ///
    /// The `ctrlc` crate's one handler per process is taken first (with a
    /// handler that does nothing, replaced at once below): goose installs
    /// one when a drive starts, and its second Ctrl-C exits the process on
    /// the spot, which would leave a deployment behind. A drive of a
    /// deployment polls [`Signals::interrupted`] instead.
    pub fn install() -> Signals {
        let _ = ctrlc::set_handler(|| {});
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: the handler only stores to an atomic, which is
            // async-signal-safe; sigaction is given a zeroed, then filled, struct.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                libc::sigemptyset(&mut sa.sa_mask);
                sa.sa_flags = libc::SA_RESTART;
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
        Signals(())
    }

    /// Whether one of the signals has arrived.
    pub fn interrupted(&self) -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }

    /// Sleeps until a signal arrives.
    pub fn wait(&self) {
        while !self.interrupted() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Owns what a run started; undoes it on drop. Every piece is in the
/// run's [`RunRecord`] (on disk) before it can be left behind.
#[derive(Debug)]
pub struct Teardown {
    pub(crate) record: RunRecord,
    pub(crate) daemons: Vec<Daemon>,
    done: bool,
}

impl Teardown {
    pub(crate) fn new(record: RunRecord) -> Result<Teardown, DeployError> {
        record.save()?;
        Ok(Teardown {
            record,
            daemons: Vec::new(),
            done: false,
        })
    }

    /// Takes a started daemon into the run (and its state file).
    pub(crate) fn adopt(&mut self, d: Daemon) -> Result<(), DeployError> {
        self.record.processes.push(d.id.clone());
        self.daemons.push(d);
        self.record.save()
    }

    pub(crate) fn record(&self) -> &RunRecord {
        &self.record
    }

    /// Stops the daemons in the reverse order of their start (nginx before
    /// FPM before MariaDB, so nothing is cut off mid-request by what it
    /// depends on), then removes cgroups, scratch folders and the record.
    pub fn run(&mut self) -> Result<(), Vec<DeployError>> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        for d in self.daemons.drain(..).rev() {
            d.stop(Duration::from_secs(5));
        }
        let errors = self.record.tear_down();
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        if let Err(errors) = self.run() {
            for e in errors {
                eprintln!("lab: teardown of run {}: {e}", self.record.run);
            }
        }
    }
}
