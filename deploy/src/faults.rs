//! The scenario's faults struck for real on a running deployment, for the
//! caller to time (`at`, `until`): [`Deployment::strike`] and
//! [`Deployment::heal`].
//!
//! | fault | struck | healed |
//! |---|---|---|
//! | `crash` | SIGKILL to every daemon of the host, and its link down where it has one (silver: nothing answers, as a dead host) | link up, its daemons started again |
//! | `isolate` | its link down (silver's hosts only) | link up |
//! | `slow` (`factor`) | its cgroup's quota cut to `cores × factor` | the quota back to `cores` |
//! | `restart` | SIGTERM to its daemons (keepalived sends its priority-0 advert); started again at once when the fault has no `for` | its daemons started again |
//!
//! `lb.master` is whichever balancer holds the VIP when the fault strikes.

use lab_core::scenario::{Fault, FaultKind, LB_MASTER};

use crate::{DeployError, Deployment, cgroup};

impl Deployment {
    /// The host a fault's target names, by index.
    fn target_host(&self, target: &str) -> Result<usize, DeployError> {
        let name = if target == LB_MASTER {
            self.vip_holder()
                .map(str::to_string)
                .ok_or_else(|| self.cannot(target, "no balancer holds the VIP"))?
        } else {
            target.to_string()
        };
        self.hosts
            .iter()
            .position(|h| h.name == name)
            .ok_or_else(|| self.cannot(target, "the era has no such host"))
    }

    fn cannot(&self, target: &str, why: &str) -> DeployError {
        DeployError::Unsupported {
            era: self.record().era.clone(),
            model: "this",
            why: format!("a fault on {target}: {why}"),
        }
    }

    /// Strikes `fault` now; returns the host it struck (what `lb.master`
    /// meant), which [`Deployment::heal`] takes.
    pub fn strike(&mut self, fault: &Fault) -> Result<String, DeployError> {
        let h = self.target_host(&fault.target)?;
        let host = self.hosts[h].name.clone();
        match fault.kind {
            FaultKind::Crash => {
                self.stop_host(&host, true);
                if self.hosts[h].netns.is_some() {
                    self.set_link(&host, false)?;
                }
            }
            FaultKind::Isolate => {
                if self.hosts[h].netns.is_none() {
                    return Err(self.cannot(&host, "it has no link of its own (silver's hosts do)"));
                }
                self.set_link(&host, false)?;
            }
            FaultKind::Slow { factor } => self.set_quota(h, factor)?,
            FaultKind::Restart => {
                self.stop_host(&host, false);
                if fault.until.is_none() {
                    self.start_host(&host)?;
                }
            }
        }
        Ok(host)
    }

    /// Ends `fault` on `host` (as [`Deployment::strike`] returned it).
    pub fn heal(&mut self, fault: &Fault, host: &str) -> Result<(), DeployError> {
        let h = self
            .hosts
            .iter()
            .position(|x| x.name == host)
            .ok_or_else(|| self.cannot(host, "the era has no such host"))?;
        match fault.kind {
            FaultKind::Crash => {
                if self.hosts[h].netns.is_some() {
                    self.set_link(host, true)?;
                }
                self.start_host(host)
            }
            FaultKind::Isolate => self.set_link(host, true),
            FaultKind::Slow { .. } => self.set_quota(h, 1.0),
            FaultKind::Restart => self.start_host(host),
        }
    }

    fn set_quota(&self, h: usize, factor: f64) -> Result<(), DeployError> {
        let host = &self.hosts[h];
        let dir = host
            .cgroup
            .as_ref()
            .ok_or_else(|| self.cannot(&host.name, "this machine's cgroups are not writable"))?;
        let quota = (f64::from(host.cores) * factor * cgroup::PERIOD_US as f64)
            .round()
            .max(1000.0) as u64;
        cgroup::set_quota(dir, quota)
    }

    /// Stops the host's daemons (SIGKILL, or SIGTERM and a grace period)
    /// and keeps how to start them again.
    fn stop_host(&mut self, host: &str, kill: bool) {
        let (on_host, others): (Vec<_>, Vec<_>) = self
            .teardown
            .daemons
            .drain(..)
            .partition(|d| d.launch.host.name == host);
        self.teardown.daemons = others;
        for d in on_host {
            self.stopped.push(d.launch.clone());
            let grace = if kill {
                std::time::Duration::ZERO
            } else {
                std::time::Duration::from_secs(5)
            };
            d.stop(grace);
        }
    }

    /// Starts again, in their first order, the daemons a crash or a restart stopped.
    fn start_host(&mut self, host: &str) -> Result<(), DeployError> {
        let (again, rest): (Vec<_>, Vec<_>) = self.stopped.drain(..).partition(|l| l.host.name == host);
        self.stopped = rest;
        for l in again {
            let d = l.respawn()?;
            self.teardown.adopt(d)?;
        }
        Ok(())
    }
}

/// A fault by kind and target, struck now and healed by the caller.
pub fn fault(kind: FaultKind, target: &str) -> Fault {
    Fault {
        at: 0,
        until: None,
        kind,
        target: target.to_string(),
    }
}
