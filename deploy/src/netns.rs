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

/// Runs `f` on a thread that has entered namespace `name` (only that
/// thread moves: sockets it opens belong to the namespace), or here when
/// `name` is `None`.
pub fn run_in<T: Send>(name: Option<&str>, f: impl FnOnce() -> T + Send) -> Result<T, DeployError> {
    let Some(name) = name else { return Ok(f()) };
    let p = path(name);
    let file = std::fs::File::open(&p).map_err(DeployError::io(&p))?;
    std::thread::scope(|s| {
        s.spawn(move || {
            use std::os::fd::AsRawFd;
            // SAFETY: setns() on an open namespace file moves this thread
            // only; the thread ends with the scope.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(DeployError::io(&p)(std::io::Error::last_os_error()));
            }
            Ok(f())
        })
        .join()
        .expect("a thread in a network namespace panicked")
    })
}

/// Whether a TCP connection to `addr` succeeds from inside `ns`.
pub fn connects(ns: Option<&str>, addr: std::net::SocketAddr) -> bool {
    run_in(ns, || {
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).is_ok()
    })
    .unwrap_or(false)
}

/// `ip` inside a namespace (`ip -n NAME …`).
pub fn ip(name: &str, args: &[&str]) -> Result<String, DeployError> {
    let ip = Component::Ip.find()?;
    let mut all = vec!["-n".to_string(), name.to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    process::run(&ip, &all)
}

/// The run's network: a namespace holding a bridge, and each host's
/// namespace joined to it by a veth pair, its end `eth0` holding the
/// host's address. Every run's network is its own (the namespaces are),
/// so every run uses the same private /24.
pub struct Lan {
    /// The namespace holding the bridge.
    pub ns: String,
    hosts: u32,
}

/// The run's subnet; a /24 inside namespaces no other run can reach.
pub const SUBNET: [u8; 3] = [10, 77, 0];

pub fn address(last: u8) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], last)
}

impl Lan {
    /// Creates the bridge's namespace, recording it through `record` first.
    pub fn create(run: &str, record: &mut dyn FnMut(&str) -> Result<(), DeployError>) -> Result<Lan, DeployError> {
        let ns = format!("lab-{run}-lan");
        record(&ns)?;
        create(&ns)?;
        ip(&ns, &["link", "set", "lo", "up"])?;
        ip(&ns, &["link", "add", "br0", "type", "bridge"])?;
        ip(&ns, &["link", "set", "br0", "up"])?;
        Ok(Lan { ns, hosts: 0 })
    }

    /// Creates host `name`'s namespace with `eth0` at `addr` on the bridge.
    pub fn join(
        &mut self,
        ns: &str,
        addr: std::net::Ipv4Addr,
        record: &mut dyn FnMut(&str) -> Result<(), DeployError>,
    ) -> Result<(), DeployError> {
        record(ns)?;
        create(ns)?;
        // The bridge's end is named by its index: interface names have 15 bytes.
        let port = format!("h{}", self.hosts);
        self.hosts += 1;
        ip(
            &self.ns,
            &[
                "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ],
        )?;
        ip(&self.ns, &["link", "set", &port, "master", "br0", "up"])?;
        ip(ns, &["link", "set", "lo", "up"])?;
        ip(ns, &["addr", "add", &format!("{addr}/24"), "dev", "eth0"])?;
        ip(ns, &["link", "set", "eth0", "up"])?;
        Ok(())
    }
}
