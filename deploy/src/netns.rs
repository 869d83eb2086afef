//! Network namespaces a run creates (silver's balancers, each a host of
//! its own with its own interfaces and the VIP), named `lab-<run>-<host>`
//! and recorded before use, so that teardown and `lab down` remove them
//! with whatever still runs inside them and the veths they hold.

use std::path::PathBuf;

use crate::doctor::Component;
use crate::error::DeployError;
use crate::process;

/// Where `ip netns` keeps its named namespaces.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from("/run/netns").join(name)
}

pub fn exists(name: &str) -> bool {
    path(name).exists()
}

/// `ip netns add NAME`.
pub fn create(name: &str) -> Result<(), DeployError> {
    let ip = Component::Ip.find()?;
    process::run(&ip, &["netns".into(), "add".into(), name.into()]).map(drop)
}

/// Kills every process inside the namespace, then deletes it (its veths go
/// with it). A namespace that is already gone is not an error.
pub fn delete(name: &str) -> Result<(), DeployError> {
    if !exists(name) {
        return Ok(());
    }
    let ip = Component::Ip.find()?;
    let pids = process::run(&ip, &["netns".into(), "pids".into(), name.into()]).unwrap_or_default();
    for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
        process::signal(pid, libc::SIGKILL);
    }
    process::run(&ip, &["netns".into(), "delete".into(), name.into()]).map(drop)
}
