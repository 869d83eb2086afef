//! # lab-core
//!
//! The types every part of `lab` shares.
//!
//! - [`scenario`]: the TOML scenario format. [`scenario::load`] reads a file
//!   and returns a validated [`Scenario`] (traffic, application, eras, SLO) or
//!   a [`ScenarioError`] that names the file, line, column and key of each
//!   problem.
//! - [`topology`]: an era lowered to hosts, nodes and routes, from which
//!   the simulator builds its components.
//! - [`draw`]: the open model's arrivals and each request's endpoint, drawn
//!   the same way by the simulator and the load generator.
//! - [`record`]: what a run produced. A [`RecordBuilder`] turns timed events
//!   into a [`Record`]: per-window HDR latency histograms, outcomes by cause,
//!   gauges and counters, with memory that does not grow with the number of
//!   requests.
//!
//! ```
//! use std::path::Path;
//! use lab_core::scenario;
//!
//! let text = r#"
//!     duration = "1m"
//!     [traffic]
//!     rate = "50/s"
//!     [app.endpoints.home]
//!     steps = [{ cpu = "exp(mean = 5ms)" }, { query = "load", db_cpu = "1ms" }]
//!     [eras.stone]
//! "#;
//! let s = scenario::parse(text, Path::new("shop.toml")).unwrap();
//! assert_eq!(s.name, "shop");
//! assert_eq!(s.eras[0].arch.stack().fpm.max_children, 5); // Debian's www.conf
//!
//! let err = scenario::parse("duration = \"-5s\"", Path::new("bad.toml")).unwrap_err();
//! // Every problem is listed, in file order: here the duration, and the
//! // tables the file lacks.
//! let bad = err.problems().iter().find(|p| p.key == "duration").unwrap();
//! assert_eq!((bad.line, bad.column), (1, 12));
//! assert_eq!(bad.message, "a duration cannot be negative: \"-5s\"");
//! assert!(err.problems().iter().any(|p| p.message.starts_with("missing table [traffic]")));
//! ```

pub mod draw;
pub mod record;
pub mod scenario;
pub mod sizing;
pub mod streams;
pub mod topology;

pub use record::{OutcomeId, OutcomeSpec, Record, RecordBuilder};
pub use scenario::{Scenario, ScenarioError};
