//! The components a topology is made of, one file per kind: each owns its
//! state as a pure state machine and answers the shop's calls; none knows
//! how it is wired (the shop, `shop.rs`, wires them from a `Topology`).
//!
//! - `fpm`: a PHP-FPM pool (process manager, listen backlog, heartbeat) and
//!   the kernel's SYN retransmissions towards a TCP listener;
//! - `mysql`: a MySQL server (connections, row locks, the lock-wait
//!   checker, group commit);
//! - `nginx`: nginx's worker connections;
//! - `haproxy`: HAProxy's backend (balancing, queues, health checks,
//!   retries);
//! - `vip`: keepalived's virtual address over the run ([`vip::VipTimeline`]).
//!
//! A call between services (gold) is not a component of its own: it is a
//! request whose parent is its caller (`shop/rpc.rs`), going through the
//! callee's `haproxy`, `nginx` and `fpm` like any other.

pub(crate) mod fpm;
pub(crate) mod haproxy;
pub(crate) mod mysql;
pub(crate) mod nginx;
pub(crate) mod vip;
