//! Components of the topologies past bronze, one file per kind: each owns
//! its state and answers the shop's calls; none knows how it is wired.
//!
//! - `vip`: keepalived's virtual address over the run ([`vip::VipTimeline`]).

pub(crate) mod vip;
