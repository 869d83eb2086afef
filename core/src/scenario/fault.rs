//! Scheduled faults: `[[faults]]` entries that crash, cut off, slow down or
//! restart a host of an era's topology at a given time.

/// What happens to the target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// The host dies: everything on it stops, nothing on it answers (no
    /// connection reset reaches anyone); with `for`, it boots again.
    Crash,
    /// The host's link goes down: its software lives on, unaware, but
    /// nothing reaches it or leaves it.
    Isolate,
    /// The host's CPU runs at `factor` times its speed (0.5 = half).
    Slow { factor: f64 },
    /// The host's software is stopped gracefully (keepalived sends its
    /// priority-0 advert, connections close) and started again after `for`
    /// (at once without it).
    Restart,
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Isolate => "isolate",
            FaultKind::Slow { .. } => "slow",
            FaultKind::Restart => "restart",
        }
    }
}

/// One `[[faults]]` entry that applies to an era, its target named as in
/// that era's topology.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// When it strikes, from the start of the run.
    pub at: u64,
    /// When it is over (`at` + `for`); `None` = until the end.
    pub until: Option<u64>,
    pub kind: FaultKind,
    /// A host (`web[2]`, `db`, `server`) or `lb.master`, the balancer that
    /// holds the virtual address when the fault strikes.
    pub target: String,
}

/// The target `lb.master` resolves to whichever balancer holds the VIP.
pub const LB_MASTER: &str = "lb.master";
