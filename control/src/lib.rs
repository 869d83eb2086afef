//! # lab-control
//!
//! Control loops as plain code: state machines with no simulator types, no
//! clocks and no randomness. The simulator drives them with virtual time; a
//! real controller in `deploy` can drive the same code with wall-clock time,
//! so the behaviour validated in simulation is the behaviour that runs.
//! Time is integer nanoseconds (`u64`) handed in by the caller.
//!
//! - [`vrrp`]: keepalived's VRRP. [`Vrrp`] is one router (a
//!   [`VrrpConfig`] in, a [`Reaction`] out of every call: take or release the
//!   virtual address, send an advert); [`VrrpPair`] runs two routers over a
//!   link and records who holds the address ([`Holders`]), so a failover gap
//!   or a split brain can be read off.
//!
//! A VRRPv2 backup at priority 100 takes over 3 × 1 s + (256 − 100)/256 s =
//! 3.609375 s after the last advert of a master whose host died. Here the
//! master (priority 200) won the cold start at 3 s + 56/256 s = 3.21875 s and
//! advertises at 3.21875 + k s; its host dies just after its 10.21875 s advert:
//!
//! ```
//! use lab_control::vrrp::{Holders, InitialState, SECOND, Side, Vrrp, VrrpConfig, VrrpPair};
//!
//! let master = VrrpConfig { priority: 200, initial: InitialState::Master, address: 1, ..VrrpConfig::default() };
//! let backup = VrrpConfig { priority: 100, address: 2, ..VrrpConfig::default() };
//! assert_eq!(backup.master_down_interval(), 3_609_375_000);
//!
//! let mut pair = VrrpPair::new(Vrrp::new(master).unwrap(), Vrrp::new(backup).unwrap(), 0);
//! pair.start(0, Side::A);
//! pair.start(0, Side::B);
//! pair.crash_host(10_218_750_000, Side::A);
//! pair.run_until(20 * SECOND);
//! assert_eq!(pair.first(Holders::Only(Side::B), 10 * SECOND), Some(13_828_125_000));
//! assert_eq!(pair.time_with(Holders::Nobody, 10 * SECOND, 20 * SECOND), 3_609_375_000);
//! ```

pub mod vrrp;

pub use vrrp::{Holders, Reaction, Side, VipAction, Vrrp, VrrpConfig, VrrpPair, VrrpState};
