//! Capacity planning: how much load an era sustains within the scenario's
//! SLO, what saturates first, and the cheapest configuration that meets a
//! target.
//!
//! - [`Load`] scales a scenario's traffic by a multiplier (the whole rate
//!   profile, or a steady rate at its peak; a closed model's users).
//! - [`evaluate`] runs an era at one multiplier with the plan's
//!   replications (common random numbers) into a [`Point`]: the SLO load
//!   with its interval, latency, errors, each resource's use and the
//!   bottleneck.
//! - [`capacity::search`] finds the largest multiplier at which the SLO
//!   holds ([`Capacity`]), the knee of the latency curve, the bottleneck
//!   there and the next one.
//! - [`cheapest::search`] finds the cheapest configuration of the era's
//!   [`Space`] of knobs that meets a target ([`Cheapest`]).
//! - [`theory`] gives the analytic capacity where queueing theory applies.
//! - [`plan`] does all of it for one era; [`report`] writes the pages.
//!
//! ```no_run
//! use lab_plan::{Load, capacity};
//! let s = lab_core::scenario::load(std::path::Path::new("scenarios/plan-shop.toml")).unwrap();
//! let load = Load::new(&s, false).unwrap();
//! let c = capacity::search(&load, &s.eras[0], 5, 0.05, &mut |_| {}).unwrap();
//! println!("{} sustains {:.0}{} ({})", s.eras[0].label, c.offered, c.unit, c.sentence);
//! ```

pub mod capacity;
pub mod cheapest;
mod era_plan;
mod fragment;
mod knobs;
mod load;
mod point;
pub mod report;
pub mod theory;

pub use capacity::Capacity;
pub use cheapest::{Candidate, Cheapest};
pub use era_plan::{Analytic, EraPlan, Options, Plan, Progress, plan, plan_era, written};
pub use fragment::Planned;
pub use knobs::{Knob, Space, cost};
pub use load::Load;
pub use point::{Bottleneck, Interval, Point, Utilisation, evaluate};

/// What can stop a plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A command-line choice the scenario rules out.
    #[error("{0}")]
    Usage(String),
    #[error("simulating era {era} at {multiplier:.3}× the traffic (seed {seed}): {message}")]
    Simulation {
        era: String,
        multiplier: f64,
        seed: u64,
        message: String,
    },
}
