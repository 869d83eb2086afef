//! lab-deploy: brings an era of a scenario up for real on this machine,
//! with Debian's MariaDB, PHP-FPM and nginx, and tears it down.
//!
//! [`up`] reads the era's [`Topology`](lab_core::topology::Topology) (the value the simulator builds
//! from) and the scenario's application, and starts, under one
//! [`RunFolder`] of mode 0700: a [`MariaDb`] with its own data directory
//! and a unix socket, the generated PHP application in an FPM pool per web
//! node ([`fpm`]), and nginx in front of each pool on a free loopback
//! port ([`nginx`]); each logical host's cores are a CPU quota on a cgroup
//! of its own ([`CpuControl`]). The [`Deployment`] it returns owns a
//! [`Teardown`] that undoes everything when dropped, whatever the exit
//! (error, panic, or [`Signals`] after Ctrl-C); [`state::down`] removes
//! what a killed run left. [`doctor::examine`] says what this machine has.
//!
//! ```no_run
//! use std::path::Path;
//! use lab_deploy::{UpOptions, up};
//!
//! let scenario = lab_core::scenario::load(Path::new("scenarios/flash-sale.toml")).unwrap();
//! let d = up(&scenario, "bronze", &UpOptions::default()).unwrap();
//! println!("bronze answers at {}", d.url());
//! d.tear_down().unwrap(); // or let it drop
//! ```
//!
//! Stone, bronze and silver deploy. Silver's hosts other than the
//! database's are network namespaces on a bridge of the run's own
//! ([`netns::Lan`]): a web node per namespace, HAProxy ([`haproxy`]) and
//! keepalived ([`keepalived`]) on each balancer, the VIP reachable from the
//! run's client namespace ([`Deployment::as_client`]);
//! [`Deployment::set_link`] takes a host's link down, and
//! [`Deployment::strike`] and [`Deployment::heal`] play the scenario's
//! faults for real ([`faults`]). Gold is refused with
//! [`DeployError::Unsupported`] until its services land.

pub mod cgroup;
pub mod cpuset;
pub mod doctor;
mod error;
pub mod faults;
pub mod folder;
pub mod fpm;
pub mod haproxy;
pub mod keepalived;
pub mod mariadb;
pub mod netns;
pub mod nginx;
pub mod php;
pub mod process;
pub mod scrape;
pub mod state;
pub mod teardown;
mod up;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

pub use cgroup::CpuControl;
pub use error::DeployError;
pub use folder::RunFolder;
pub use fpm::FpmAddress;
pub use mariadb::MariaDb;
pub use state::RunRecord;
pub use teardown::{Signals, Teardown};

pub use up::up;

/// How to bring an era up.
#[derive(Clone, Debug, Default)]
pub struct UpOptions {
    /// The run folder; a temporary one (removed at teardown) when `None`.
    pub out: Option<PathBuf>,
    /// Checked between start-up steps: a Ctrl-C while the era comes up
    /// stops it there and tears down.
    pub signals: Option<Signals>,
}

/// A logical host as placed on this machine.
#[derive(Clone, Debug)]
pub struct HostPlacement {
    pub name: String,
    pub cores: u32,
    /// Its cgroup, with a CPU quota of `cores`; `None` when this machine's
    /// cgroups are not writable.
    pub cgroup: Option<PathBuf>,
    /// The cgroup whose `cpu.stat` counts its CPU time (`usage_usec`): its
    /// own on cgroup v2, a twin on the unified hierarchy where the quotas
    /// are cgroup v1's; `None` when neither exists.
    pub accounting: Option<PathBuf>,
    /// Its cpuset, pinning it to [`HostPlacement::cpus`] ([`cpuset`]).
    pub cpuset: Option<PathBuf>,
    pub cpus: Vec<u32>,
    /// Its network namespace (silver's balancers and web nodes), where its
    /// daemons run with `eth0` at `address`; `None`: this machine's.
    pub netns: Option<String>,
    pub address: Option<Ipv4Addr>,
}

/// A web node: nginx in front of an FPM pool.
#[derive(Clone, Debug)]
pub struct WebNode {
    pub nginx: String,
    pub fpm: String,
    /// Where nginx listens: 127.0.0.1 and a free port, or in silver port 80
    /// of the node's address, inside [`WebNode::netns`].
    pub listen: SocketAddr,
    pub netns: Option<String>,
    pub fpm_address: FpmAddress,
}

impl WebNode {
    pub fn url(&self) -> String {
        format!("http://{}/", self.listen)
    }

    /// nginx's stub_status page.
    pub fn nginx_status_url(&self) -> String {
        format!("http://{}{}", self.listen, nginx::NGINX_STATUS_PATH)
    }

    /// FPM's status page (active, idle, listen queue), through nginx.
    pub fn fpm_status_url(&self) -> String {
        format!("http://{}{}", self.listen, fpm::STATUS_PATH)
    }
}

/// One of silver's balancers: HAProxy and keepalived on a host of its own.
#[derive(Clone, Debug)]
pub struct Balancer {
    pub haproxy: String,
    /// Its host's index in [`Deployment::hosts`].
    pub host: usize,
    /// HAProxy's stats socket (`show stat`, `show servers state`).
    pub stats: PathBuf,
}

/// An era running for real. Dropping it tears it down.
#[derive(Debug)]
pub struct Deployment {
    teardown: Teardown,
    folder: RunFolder,
    db: MariaDb,
    entry_url: String,
    /// The namespace clients must be in to reach [`Deployment::url`]:
    /// silver's VIP is on the run's own network.
    client_netns: Option<String>,
    vip: Option<Ipv4Addr>,
    pub web: Vec<WebNode>,
    pub balancers: Vec<Balancer>,
    pub hosts: Vec<HostPlacement>,
    /// Daemons a crash or a restart stopped, to start again when it heals.
    stopped: Vec<process::Launch>,
    /// Why cores are not enforced, when they are not.
    pub unenforced: Option<String>,
    /// Why hosts are not pinned to CPUs of their own, or share them, when
    /// so (the quotas still hold).
    pub unpinned: Option<String>,
    /// The load generator's cgroups (no quota: counted, not capped), which
    /// [`Deployment::join_load_generator`] puts `lab` in; the last one
    /// counts its CPU time.
    pub load_generator: Vec<PathBuf>,
    /// The load generator's cpuset, off the CPUs the hosts' cores weigh
    /// on most ([`cpuset::Placement::load_generator`]).
    pub load_generator_cpuset: Option<PathBuf>,
}

impl Deployment {
    /// Where clients connect: the entry node's base URL (silver: the VIP's,
    /// reachable from [`Deployment::client_netns`] only).
    pub fn url(&self) -> String {
        self.entry_url.clone()
    }

    /// The namespace a client must be in to reach [`Deployment::url`];
    /// `None` for stone and bronze (127.0.0.1).
    pub fn client_netns(&self) -> Option<&str> {
        self.client_netns.as_deref()
    }

    /// Runs `f` where clients are: on a thread inside the client namespace
    /// for silver, here otherwise. Sockets `f` opens reach [`Deployment::url`].
    pub fn as_client<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, DeployError> {
        netns::run_in(self.client_netns(), f)
    }

    /// Takes a host's link down (a crash, as keepalived sees it) or up
    /// again: silver's hosts only, which have a namespace and a link.
    pub fn set_link(&self, host: &str, up: bool) -> Result<(), DeployError> {
        let h = self.hosts.iter().find(|h| h.name == host);
        let ns = h
            .and_then(|h| h.netns.as_deref())
            .ok_or_else(|| DeployError::Unsupported {
                era: self.record().era.clone(),
                model: "this",
                why: format!("host {host} has no link of its own to take down"),
            })?;
        netns::ip(ns, &["link", "set", "eth0", if up { "up" } else { "down" }]).map(drop)
    }

    /// Moves this process, the load generator, into a cgroup of its own,
    /// so that the CPU it takes from the hosts is counted (teardown moves
    /// it back out before removing the cgroup).
    pub fn join_load_generator(&self) -> Result<(), DeployError> {
        self.load_generator
            .iter()
            .chain(&self.load_generator_cpuset)
            .try_for_each(|c| cgroup::join(c))
    }

    /// Where the load generator's CPU time is counted, if it is.
    pub fn load_generator_accounting(&self) -> Option<&std::path::Path> {
        self.load_generator.last().map(PathBuf::as_path)
    }

    /// Silver's virtual address, which clients connect to.
    pub fn vip(&self) -> Option<Ipv4Addr> {
        self.vip
    }

    /// The host whose balancer holds the VIP now, if one does.
    pub fn vip_holder(&self) -> Option<&str> {
        let vip = self.vip?.to_string();
        self.balancers.iter().map(|b| &self.hosts[b.host]).find_map(|h| {
            let out = netns::ip(h.netns.as_deref()?, &["-4", "addr", "show", "dev", "eth0"]).ok()?;
            out.contains(&format!("inet {vip}/")).then_some(h.name.as_str())
        })
    }

    pub fn folder(&self) -> &RunFolder {
        &self.folder
    }

    /// The run's record as `lab down` would read it.
    pub fn record(&self) -> &RunRecord {
        self.teardown.record()
    }

    pub fn db(&self) -> &MariaDb {
        &self.db
    }

    /// Runs SQL as MariaDB's root in the application's database; rows come
    /// back tab-separated, one a line.
    pub fn sql(&self, sql: &str) -> Result<String, DeployError> {
        self.db.root_sql(&format!("USE {}; {sql}", mariadb::DATABASE))
    }

    /// Tears the run down now, reporting what could not be undone.
    pub fn tear_down(mut self) -> Result<(), Vec<DeployError>> {
        self.teardown.run()
    }
}

/// A free TCP port on 127.0.0.1 (the kernel's choice, so two runs do not
/// pick the same one).
pub fn free_port() -> Result<u16, DeployError> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(DeployError::io("127.0.0.1:0"))?;
    Ok(l.local_addr().map_err(DeployError::io("127.0.0.1:0"))?.port())
}
