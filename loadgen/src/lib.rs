//! # lab-loadgen
//!
//! Drives a real deployment with the scenario's traffic, on
//! [goose](https://docs.rs/goose/0.19), and returns what the clients
//! measured as the same [`Record`](lab_core::Record) the simulator
//! produces (`Source::Measured`), so `lab_reports` renders it unchanged.
//!
//! - [`drive`] runs one drive: a [`Plan`] says where ([`Target`], which
//!   refuses anything but the loopback range and addresses its caller
//!   declares), how many goose users, and which [`Scrape`]rs read the
//!   system's gauges; an [`Observer`] (such as [`Bar`], a progress bar) is
//!   told how it goes.
//! - Open model: Poisson arrivals at the scenario's rate profile, handed as
//!   tickets to idle goose users as k6's constant-arrival-rate executor
//!   does; latency from each arrival's *intended* time; arrivals no user
//!   was free to take are counted as `dropped`. The requests, their times
//!   and endpoints, are the simulator's for the same seed ([`requests`]
//!   lists them). Closed model: the
//!   scenario's users, each thinking between its requests.
//! - Outcomes by cause ([`outcome`]): 2xx is `ok`, errors by HTTP status,
//!   refused, reset, no answer to connect, client timeout, dropped.
//!
//! ```no_run
//! use std::path::Path;
//! use lab_loadgen::{drive, Plan, Target};
//!
//! let scenario = lab_core::scenario::load(Path::new("scenarios/flash-sale.toml")).unwrap();
//! let target = Target::new("http://127.0.0.1:8080").unwrap();
//! let record = drive(&scenario, Plan::new(target), &mut ()).unwrap();
//! println!("{} ok/s", record.totals.throughput());
//! ```
//!
//! See `docs/loadgen.md` for the scheduling, what "dropped" means and how
//! each cause is told apart.

mod clock;
mod drive;
mod error;
mod observe;
pub mod outcome;
mod recorder;
mod schedule;
mod target;

pub use drive::{DRAIN_WITHOUT_TIMEOUT, MAX_USERS, Plan, SEND_LAG, drive};
pub use error::LoadgenError;
pub use observe::{Bar, Observer, Reading, Scrape, Snapshot};
pub use schedule::requests;
pub use target::Target;
