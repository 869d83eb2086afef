//! Architectures, one per era, with the real systems' defaults
//! (see `docs/scenario.md` for the sources of each default).
//!
//! Each model has a file of its own under `era/`: its raw keys, their
//! validation into an [`Architecture`], and its lowering to a [`Topology`].

pub(super) mod bronze;
pub(super) mod silver;
pub(super) mod stone;

use super::dist::Dist;
use crate::topology::{Topology, TopologyBuilder};

/// One architecture to run the scenario against, under a label of its own
/// (several labels may share a model, e.g. `bronze` and `bronze-tuned`).
#[derive(Clone, Debug, PartialEq)]
pub struct Era {
    pub label: String,
    pub arch: Architecture,
    /// The scenario's faults that apply to this era, in time order.
    pub faults: Vec<super::fault::Fault>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Architecture {
    /// One server: nginx, PHP-FPM and MySQL share its cores.
    Stone { host: Host, stack: Stack },
    /// PHP-FPM (behind nginx) on one VPS, MySQL on another, a network hop between.
    Bronze {
        web: Host,
        db: Host,
        network: Network,
        stack: Stack,
    },
    /// Two HAProxy hosts sharing a VIP under keepalived, N web nodes, the
    /// database host.
    Silver(Box<Silver>),
}

pub use silver::Silver;

/// The era models this version knows, in the order the article tells them.
pub const MODELS: &[&str] = &["stone", "bronze", "silver"];

impl Era {
    /// The era as hosts, nodes and routes: what the simulator builds.
    pub fn topology(&self) -> Topology {
        let mut t = TopologyBuilder::default();
        match &self.arch {
            Architecture::Stone { .. } => stone::lower(&mut t, &self.arch),
            Architecture::Bronze { .. } => bronze::lower(&mut t, &self.arch),
            Architecture::Silver(_) => silver::lower(&mut t, &self.arch),
        }
        let mut t = t.build();
        t.faults = self.faults.clone();
        t
    }
}

impl Architecture {
    pub fn model(&self) -> &'static str {
        match self {
            Architecture::Stone { .. } => "stone",
            Architecture::Bronze { .. } => "bronze",
            Architecture::Silver(_) => "silver",
        }
    }

    pub fn stack(&self) -> &Stack {
        match self {
            Architecture::Stone { stack, .. } | Architecture::Bronze { stack, .. } => stack,
            Architecture::Silver(s) => &s.stack,
        }
    }
}

/// The software every LAMP-style era runs: nginx in front of a PHP-FPM pool
/// that talks to MySQL.
#[derive(Clone, Debug, PartialEq)]
pub struct Stack {
    pub nginx: Nginx,
    pub fpm: FpmPool,
    pub mysql: MySql,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Host {
    pub cores: u32,
    /// CPU demands are written for speed 1.0; a host at speed 2.0 halves them.
    pub speed: f64,
}

impl Host {
    pub const DEFAULT_CORES: u32 = 4;
}

#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// One round trip between the web and the database VPS.
    pub rtt: Dist,
}

impl Network {
    pub const DEFAULT_RTT_NS: u64 = 250_000;
}

#[derive(Clone, Debug, PartialEq)]
pub struct Nginx {
    /// `fastcgi_read_timeout`: nginx answers 504 when FPM has not responded
    /// this long after the request was handed over. `None` = never.
    pub fastcgi_read_timeout: Option<u64>,
}

impl Nginx {
    pub const DEFAULT_FASTCGI_READ_TIMEOUT_NS: u64 = 60_000_000_000;
}

/// A PHP-FPM pool (`[www]` in `www.conf`).
#[derive(Clone, Debug, PartialEq)]
pub struct FpmPool {
    pub pm: ProcessManager,
    pub max_children: u32,
    /// Connections the kernel holds while every child is busy; beyond, 502.
    pub listen_backlog: u32,
    /// Requests a child serves before it is replaced; 0 = never.
    pub max_requests: u32,
    /// A request running this long is killed (nginx answers 502). `None` = off.
    pub request_terminate_timeout: Option<u64>,
    /// Time to fork and initialise a child before it accepts.
    pub spawn_time: u64,
}

impl FpmPool {
    /// Debian's `www.conf` ships `pm.max_children = 5`.
    pub const DEFAULT_MAX_CHILDREN: u32 = 5;
    pub const DEFAULT_MIN_SPARE: u32 = 1;
    pub const DEFAULT_MAX_SPARE: u32 = 3;
    pub const DEFAULT_IDLE_TIMEOUT_NS: u64 = 10_000_000_000;
    /// `listen.backlog = -1` takes `net.core.somaxconn`, 4096 on current kernels.
    pub const SOMAXCONN: u32 = 4096;
    pub const DEFAULT_SPAWN_TIME_NS: u64 = 3_000_000;
}

/// `pm`: how FPM decides how many children to keep.
#[derive(Clone, Debug, PartialEq)]
pub enum ProcessManager {
    /// Exactly `max_children`, forked at start.
    Static,
    /// `start_servers` at start; every second keeps idle children between the spares.
    Dynamic {
        start_servers: u32,
        min_spare_servers: u32,
        max_spare_servers: u32,
    },
    /// None at start; forks on demand, reaps children idle for `process_idle_timeout`.
    OnDemand { process_idle_timeout: u64 },
}

impl ProcessManager {
    pub fn name(&self) -> &'static str {
        match self {
            ProcessManager::Static => "static",
            ProcessManager::Dynamic { .. } => "dynamic",
            ProcessManager::OnDemand { .. } => "ondemand",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MySql {
    /// Client connections beyond this get ERROR 1040 (Too many connections).
    pub max_connections: u32,
    /// Queries that take longer are counted as slow.
    pub long_query_time: u64,
    /// A row-lock wait longer than this fails with ERROR 1205.
    pub innodb_lock_wait_timeout: u64,
}

impl MySql {
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 151;
    pub const DEFAULT_LONG_QUERY_TIME_NS: u64 = 10_000_000_000;
    pub const DEFAULT_LOCK_WAIT_TIMEOUT_NS: u64 = 50_000_000_000;
}
