//! Architectures, one per era, with the real systems' defaults
//! (see `docs/scenario.md` for the sources of each default).
//!
//! Each model has a file of its own under `era/`: its raw keys, their
//! validation into an [`Architecture`], and its lowering to a [`Topology`].

pub(super) mod bronze;
pub(super) mod gold;
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
    /// Its effective settings, each with where it came from (the file or
    /// a named default), recorded by the validator for `lab check`.
    pub settings: Vec<super::settings::Setting>,
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
    /// Silver's front tier, and every service of the application on a
    /// cluster of its own behind its own balancer, called by RPC.
    Gold(Box<Gold>),
}

pub use gold::{Gold, Placement, RpcSettings};

pub use silver::Silver;

/// The era models this version knows, in the order the article tells them.
pub const MODELS: &[&str] = &["stone", "bronze", "silver", "gold"];

impl Era {
    /// The era as hosts, nodes and routes: what the simulator builds.
    pub fn topology(&self) -> Topology {
        let mut t = TopologyBuilder::default();
        match &self.arch {
            Architecture::Stone { .. } => stone::lower(&mut t, &self.arch),
            Architecture::Bronze { .. } => bronze::lower(&mut t, &self.arch),
            Architecture::Silver(_) => silver::lower(&mut t, &self.arch),
            Architecture::Gold(_) => gold::lower(&mut t, &self.arch),
        }
        let mut t = t.build();
        t.faults = self.faults.clone();
        t
    }
}

impl Era {
    /// Work an era's own machinery adds, past the limit (silver's health
    /// checks), for `lab check` and `--duration`.
    pub fn check_work_problem(&self, duration: u64) -> Option<String> {
        match &self.arch {
            Architecture::Silver(s) => s.check_work_problem(duration),
            Architecture::Gold(g) => g.check_work_problem(duration),
            _ => None,
        }
    }
}

impl Architecture {
    pub fn model(&self) -> &'static str {
        match self {
            Architecture::Stone { .. } => "stone",
            Architecture::Bronze { .. } => "bronze",
            Architecture::Silver(_) => "silver",
            Architecture::Gold(_) => "gold",
        }
    }

    /// Whether a call is an RPC to the service's own cluster (gold on),
    /// not a function call inside the caller's PHP child.
    pub fn calls_are_remote(&self) -> bool {
        matches!(self, Architecture::Gold(_))
    }

    pub fn stack(&self) -> &Stack {
        match self {
            Architecture::Stone { stack, .. } | Architecture::Bronze { stack, .. } => stack,
            Architecture::Silver(s) => &s.stack,
            Architecture::Gold(g) => &g.front.stack,
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
    /// What the host costs an hour (any currency; 0 = not given).
    pub price_per_hour: f64,
    pub kernel: Kernel,
}

impl Host {
    pub const DEFAULT_CORES: u32 = 4;
}

/// The host's kernel settings that shape how connections wait (`sysctl`).
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    /// `net.core.somaxconn`: `listen()` caps every backlog at it.
    pub somaxconn: u32,
    /// `net.ipv4.tcp_syn_retries`: SYN retransmissions before `connect()` fails.
    pub tcp_syn_retries: u32,
    /// `net.ipv4.tcp_syn_linear_timeouts` (Linux 6.5+): retransmissions
    /// after a flat 1 s before the backoff starts doubling.
    pub tcp_syn_linear_timeouts: u32,
}

impl Kernel {
    /// `net.core.somaxconn` is 4096 since Linux 5.4.
    pub const DEFAULT_SOMAXCONN: u32 = 4096;
    pub const DEFAULT_SYN_RETRIES: u32 = 6;
    /// Debian 12's kernel (6.1) predates `tcp_syn_linear_timeouts`: the
    /// backoff doubles from the first retransmission, as with 0.
    pub const DEFAULT_SYN_LINEAR_TIMEOUTS: u32 = 0;

    /// When this kernel retransmits a SYN nobody answers, as offsets (ns)
    /// from the first one, and when `connect()` gives up
    /// (`tcp_retransmit_timer`, `tcp_write_timeout`): the first
    /// `tcp_syn_linear_timeouts + 1` timeouts are the initial 1 s, then
    /// each doubles up to TCP_RTO_MAX (120 s); there are `tcp_syn_retries +
    /// tcp_syn_linear_timeouts` retransmissions and the attempt fails one
    /// timeout after the last. With Linux 6.1's defaults (6 retries, no
    /// linear timeouts): 1, 3, 7, 15, 31, 63 s, failing at 127 s; with
    /// 6.5's `tcp_syn_linear_timeouts = 4`: 1, 2, 3, 4, 5, 7, 11, 19, 35,
    /// 67 s, failing at 131 s (`Documentation/networking/ip-sysctl.rst`).
    pub fn syn_schedule(&self) -> (Vec<u64>, u64) {
        const SECOND: u64 = 1_000_000_000;
        const RTO_MAX: u64 = 120 * SECOND;
        let linear = self.tcp_syn_linear_timeouts;
        let n = self.tcp_syn_retries + linear;
        let timeout = |i: u32| {
            // The i-th timeout (1-based).
            if i <= linear + 1 {
                SECOND
            } else {
                // 2^7 s is past TCP_RTO_MAX already; a wider shift would
                // push the bits out (to 0) rather than fail.
                let shift = i - linear - 1;
                if shift >= 7 {
                    RTO_MAX
                } else {
                    (SECOND << shift).min(RTO_MAX)
                }
            }
        };
        let mut at = 0;
        let retransmits = (1..=n)
            .map(|i| {
                at += timeout(i);
                at
            })
            .collect();
        (retransmits, at + timeout(n + 1))
    }
}

impl Default for Kernel {
    fn default() -> Kernel {
        Kernel {
            somaxconn: Kernel::DEFAULT_SOMAXCONN,
            tcp_syn_retries: Kernel::DEFAULT_SYN_RETRIES,
            tcp_syn_linear_timeouts: Kernel::DEFAULT_SYN_LINEAR_TIMEOUTS,
        }
    }
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
    /// `fastcgi_connect_timeout`: nginx answers 504 when a TCP connection
    /// to FPM is not established this long after it started.
    pub fastcgi_connect_timeout: u64,
    /// `worker_processes`; `None` is `auto`, one per core of nginx's host.
    pub worker_processes: Option<u32>,
    /// `worker_connections`: connections each worker can hold, clients'
    /// and upstream ones alike.
    pub worker_connections: u32,
}

impl Nginx {
    pub const DEFAULT_FASTCGI_READ_TIMEOUT_NS: u64 = 60_000_000_000;
    pub const DEFAULT_FASTCGI_CONNECT_TIMEOUT_NS: u64 = 60_000_000_000;
    /// nginx's documentation: the connect timeout "cannot usually exceed
    /// 75 seconds".
    pub const MAX_FASTCGI_CONNECT_TIMEOUT_NS: u64 = 75_000_000_000;
    /// Debian's `nginx.conf`.
    pub const DEFAULT_WORKER_CONNECTIONS: u32 = 768;
    /// Connections every worker holds for itself: one per listening socket
    /// (Debian's default site listens on port 80 over IPv4 and IPv6,
    /// `ngx_event_process_init`) and one for the channel to the master
    /// (`ngx_add_channel_event`).
    pub const RESERVED_PER_WORKER: u32 = 3;

    /// The workers nginx runs on a host of `cores` cores.
    pub fn workers(&self, cores: u32) -> u32 {
        self.worker_processes.unwrap_or(cores)
    }
}

/// A PHP-FPM pool (`[www]` in `www.conf`).
#[derive(Clone, Debug, PartialEq)]
pub struct FpmPool {
    pub pm: ProcessManager,
    pub max_children: u32,
    /// What the pool listens on: a Unix socket refuses a connection when
    /// the backlog is full, TCP drops the SYN and the client retries.
    pub listen: Listen,
    /// `listen.backlog` as written; `None` is `-1`, which `listen()` caps at
    /// `net.core.somaxconn` like any other value ([`FpmPool::backlog`]).
    pub listen_backlog: Option<u32>,
    /// Requests a child serves before it is replaced; 0 = never.
    pub max_requests: u32,
    /// A request running this long is killed (nginx answers 502), at the
    /// next tick of FPM's heartbeat. Whole seconds, as FPM reads it. `None` = off.
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
    pub const DEFAULT_SPAWN_TIME_NS: u64 = 3_000_000;

    /// The backlog the kernel enforces: `listen()` caps the asked value at
    /// `net.core.somaxconn` (and `-1`, read as unsigned, is above any cap).
    pub fn backlog(&self, somaxconn: u32) -> u32 {
        self.listen_backlog.map_or(somaxconn, |b| b.min(somaxconn))
    }
}

/// `listen` in `www.conf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    /// A Unix socket, Debian's default (`/run/php/php8.2-fpm.sock`).
    Unix,
    /// A TCP port (`127.0.0.1:9000`).
    Tcp,
}

impl Listen {
    pub fn name(self) -> &'static str {
        match self {
            Listen::Unix => "unix",
            Listen::Tcp => "tcp",
        }
    }
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
