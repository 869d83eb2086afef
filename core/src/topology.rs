//! An era lowered to plain data: the hosts, the nodes that run on them and
//! how a request flows between them.
//!
//! Each era model validates its own keys into an
//! [`Architecture`](crate::scenario::Architecture) and lowers it here
//! ([`Era::topology`](crate::scenario::Era::topology)). The simulator builds
//! its components from a [`Topology`] only; real deployments will write
//! their configuration files from the very same value, so one scenario has
//! one meaning in both back ends.
//!
//! ```
//! use std::path::Path;
//! use lab_core::scenario;
//! use lab_core::topology::NodeKind;
//!
//! let s = scenario::parse(r#"
//!     duration = "1m"
//!     [traffic]
//!     rate = "50/s"
//!     [app.endpoints.home]
//!     steps = [{ cpu = "5ms" }, { query = "load", db_cpu = "1ms" }]
//!     [eras.bronze]
//! "#, Path::new("shop.toml")).unwrap();
//! let t = s.eras[0].topology();
//! let names: Vec<_> = t.hosts.iter().map(|h| h.name.as_str()).collect();
//! assert_eq!(names, ["web", "db"]);
//! let NodeKind::Nginx { upstream, .. } = &t.node(t.entry).kind else { panic!() };
//! let NodeKind::Fpm { db, .. } = &t.node(*upstream).kind else { panic!() };
//! assert_ne!(t.node(*upstream).host, t.node(*db).host); // a network hop
//! assert_eq!(t.fpm_workers(), 5); // Debian's pm.max_children
//! ```

use lab_control::vrrp::VrrpConfig;

use crate::scenario::{Dist, Fault, FpmPool, Haproxy, Host, Kernel, MySql, Nginx, Stack};

/// A host's index in [`Topology::hosts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub u32);

/// A node's index in [`Topology::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// One machine (a server, a VPS, later a container or a pod).
#[derive(Clone, Debug, PartialEq)]
pub struct HostSpec {
    /// Names the host in gauges and reports: `server`, `web`, `db`.
    pub name: String,
    pub cores: u32,
    /// CPU demands are written for speed 1.0.
    pub speed: f64,
    /// What it costs an hour; 0 when the scenario does not say.
    pub price_per_hour: f64,
    pub kernel: Kernel,
}

/// A piece of software on a host.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub host: HostId,
    pub kind: NodeKind,
}

/// What a node is, with its settings and the nodes it sends work to.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// nginx: accepts clients' requests and passes them to a FastCGI pool.
    Nginx { cfg: Nginx, upstream: NodeId },
    /// A PHP-FPM pool running the application; its queries go to `db`.
    Fpm { pool: FpmPool, db: NodeId },
    /// A MySQL server.
    MySql(MySql),
    /// HAProxy balancing over `servers` (web nodes' nginx).
    Haproxy { cfg: Haproxy, servers: Vec<NodeId> },
    /// A virtual address keepalived moves between two balancers
    /// (`members`, HAProxy nodes on two hosts), `vrrp[i]` on `members[i]`'s
    /// host. Its own `host` is where it starts, the first member's.
    Vip {
        members: [NodeId; 2],
        vrrp: [VrrpConfig; 2],
    },
}

/// An era as hosts, nodes and routes.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub hosts: Vec<HostSpec>,
    pub nodes: Vec<Node>,
    /// Where clients connect.
    pub entry: NodeId,
    /// One round trip between two different hosts; `None` when every node
    /// shares one host.
    pub rtt: Option<Dist>,
    /// Scheduled faults, in time order; their targets name hosts of this
    /// topology (or `lb.master`).
    pub faults: Vec<Fault>,
    /// Where a call to each of the application's services goes, by the
    /// application's service index; empty where calls are function calls
    /// inside the caller's PHP process (the monolith eras).
    pub services: Vec<ServiceRoute>,
    /// What a call costs besides the network, where calls are RPCs.
    pub rpc: Option<Rpc>,
}

/// A service reached by RPC: its balancer, in front of its nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceRoute {
    pub name: String,
    /// Its HAProxy node.
    pub balancer: NodeId,
    /// How long a caller waits for its answer; `None`: for ever.
    pub timeout: Option<u64>,
}

/// The cost of a remote call on each side.
#[derive(Clone, Debug, PartialEq)]
pub struct Rpc {
    /// CPU each side spends on a call's messages (encoding and decoding).
    pub cpu: Dist,
}

impl Topology {
    /// The PHP workers of every pool together (their `max_children`).
    pub fn fpm_workers(&self) -> u32 {
        self.nodes
            .iter()
            .map(|n| match &n.kind {
                NodeKind::Fpm { pool, .. } => pool.max_children,
                _ => 0,
            })
            .sum()
    }

    /// What the era's hosts cost an hour together.
    pub fn price_per_hour(&self) -> f64 {
        self.hosts.iter().map(|h| h.price_per_hour).sum()
    }

    pub fn host(&self, id: HostId) -> &HostSpec {
        &self.hosts[id.0 as usize]
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }
}

/// Builds a [`Topology`] host by host and node by node; era models use it
/// to lower themselves.
#[derive(Default)]
pub struct TopologyBuilder {
    hosts: Vec<HostSpec>,
    nodes: Vec<Node>,
    entry: Option<NodeId>,
    rtt: Option<Dist>,
    services: Vec<ServiceRoute>,
    rpc: Option<Rpc>,
}

impl TopologyBuilder {
    pub fn host(&mut self, name: &str, h: &Host) -> HostId {
        self.hosts.push(HostSpec {
            name: name.to_string(),
            cores: h.cores,
            speed: h.speed,
            price_per_hour: h.price_per_hour,
            kernel: h.kernel.clone(),
        });
        HostId(self.hosts.len() as u32 - 1)
    }

    pub fn node(&mut self, name: &str, host: HostId, kind: NodeKind) -> NodeId {
        self.nodes.push(Node {
            name: name.to_string(),
            host,
            kind,
        });
        NodeId(self.nodes.len() as u32 - 1)
    }

    pub fn rtt(&mut self, rtt: Dist) {
        self.rtt = Some(rtt);
    }

    pub fn service(&mut self, route: ServiceRoute) {
        self.services.push(route);
    }

    pub fn rpc(&mut self, rpc: Rpc) {
        self.rpc = Some(rpc);
    }

    pub fn entry(&mut self, node: NodeId) {
        self.entry = Some(node);
    }

    /// nginx and PHP-FPM on `web`, MySQL on `db` (the same host or not),
    /// nginx taking the clients: the stack of the first eras.
    pub fn lamp(&mut self, stack: &Stack, web: HostId, db: HostId) {
        let mysql = self.node("mysql", db, NodeKind::MySql(stack.mysql.clone()));
        let nginx = self.web_node(stack, web, mysql, "");
        self.entry(nginx);
    }

    /// nginx and its PHP-FPM pool on `web`, querying `mysql`; returns
    /// nginx. `suffix` tells nodes apart where there are several (`[2]`).
    pub fn web_node(&mut self, stack: &Stack, web: HostId, mysql: NodeId, suffix: &str) -> NodeId {
        let fpm = self.node(
            &format!("fpm{suffix}"),
            web,
            NodeKind::Fpm {
                pool: stack.fpm.clone(),
                db: mysql,
            },
        );
        self.node(
            &format!("nginx{suffix}"),
            web,
            NodeKind::Nginx {
                cfg: stack.nginx.clone(),
                upstream: fpm,
            },
        )
    }

    pub fn build(self) -> Topology {
        Topology {
            hosts: self.hosts,
            nodes: self.nodes,
            entry: self.entry.expect("an era model names its entry node"),
            rtt: self.rtt,
            faults: Vec::new(),
            services: self.services,
            rpc: self.rpc,
        }
    }
}
