//! lab-deploy: brings an era of a scenario up for real on this machine,
//! with Debian's MariaDB, PHP-FPM and nginx, and tears it down.
//!
//! [`up`] reads the era's [`Topology`] (the very value the simulator builds
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
//! Stone and bronze deploy today; silver's balancers and keepalived (in
//! network namespaces) and gold's services are refused with
//! [`DeployError::Unsupported`] until they land.

pub mod cgroup;
pub mod doctor;
mod error;
pub mod folder;
pub mod fpm;
pub mod mariadb;
pub mod netns;
pub mod nginx;
pub mod php;
pub mod process;
pub mod state;
pub mod teardown;

use std::path::PathBuf;

use lab_core::scenario::{Architecture, Scenario};
use lab_core::topology::{HostId, NodeKind, Topology};

pub use cgroup::CpuControl;
pub use error::DeployError;
pub use folder::RunFolder;
pub use fpm::FpmAddress;
pub use mariadb::MariaDb;
pub use state::RunRecord;
pub use teardown::{Signals, Teardown};

use doctor::Component;
use process::ProcessId;

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
}

/// A web node: nginx in front of an FPM pool.
#[derive(Clone, Debug)]
pub struct WebNode {
    pub nginx: String,
    pub fpm: String,
    pub port: u16,
    pub fpm_address: FpmAddress,
}

impl WebNode {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

/// An era running for real. Dropping it tears it down.
#[derive(Debug)]
pub struct Deployment {
    teardown: Teardown,
    folder: RunFolder,
    db: MariaDb,
    entry: usize,
    pub web: Vec<WebNode>,
    pub hosts: Vec<HostPlacement>,
    /// Why cores are not enforced, when they are not.
    pub unenforced: Option<String>,
}

impl Deployment {
    /// Where clients connect: the entry node's base URL.
    pub fn url(&self) -> String {
        self.web[self.entry].url()
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

/// A run's id: this process and the clock, short enough for socket paths.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}-{:06x}", std::process::id(), nanos & 0xff_ffff)
}

/// What `up` refuses before starting anything.
fn check_supported(label: &str, arch: &Architecture, t: &Topology) -> Result<(), DeployError> {
    let unsupported = |why: &str| DeployError::Unsupported {
        era: label.to_string(),
        model: arch.model(),
        why: why.to_string(),
    };
    match arch {
        Architecture::Stone { .. } | Architecture::Bronze { .. } => {}
        Architecture::Silver(_) => {
            return Err(unsupported(
                "HAProxy and keepalived in network namespaces are the next step; stone and bronze deploy today",
            ));
        }
        Architecture::Gold(_) => return Err(unsupported("services on clusters of their own come after silver")),
    }
    if !t.services.is_empty() {
        return Err(unsupported("calls are RPCs here"));
    }
    let dbs = t.nodes.iter().filter(|n| matches!(n.kind, NodeKind::MySql(_))).count();
    if dbs != 1 {
        return Err(unsupported(&format!("{dbs} MySQL nodes; one is deployed today")));
    }
    if !matches!(t.node(t.entry).kind, NodeKind::Nginx { .. }) {
        return Err(unsupported("its entry is not nginx"));
    }
    Ok(())
}

/// Brings era `label` of `scenario` up: MariaDB, then each FPM pool with
/// the generated application, then nginx in front of each. On any error
/// (or a signal, see [`UpOptions::signals`]) what was started is torn down
/// before the error is returned.
pub fn up(scenario: &Scenario, label: &str, opts: &UpOptions) -> Result<Deployment, DeployError> {
    let era = scenario.eras.iter().find(|e| e.label == label).ok_or_else(|| {
        let known: Vec<_> = scenario.eras.iter().map(|e| e.label.as_str()).collect();
        DeployError::Unsupported {
            era: label.to_string(),
            model: "unknown",
            why: format!("the scenario declares no such era; it has: {}", known.join(", ")),
        }
    })?;
    let t = era.topology();
    check_supported(label, &era.arch, &t)?;
    // Every program first: a missing package is said before anything starts.
    for c in [
        Component::MariaDb,
        Component::MariaDbInstallDb,
        Component::MariaDbClient,
        Component::PhpFpm,
        Component::PhpMysql,
        Component::Nginx,
    ] {
        c.find()?;
    }
    let interrupted = || opts.signals.is_some_and(|s| s.interrupted());

    let run = run_id();
    let folder = RunFolder::create(opts.out.as_deref(), &run)?;
    let record = RunRecord {
        run: run.clone(),
        owner: ProcessId {
            name: "lab".into(),
            pid: std::process::id() as i32,
            start_time: process::start_time(std::process::id() as i32).unwrap_or(0),
        },
        era: label.to_string(),
        folder: folder.root.clone(),
        remove_folder: folder.temporary,
        scratch: folder.scratch(),
        processes: Vec::new(),
        cgroup: None,
        netns: Vec::new(),
    };
    let mut td = match Teardown::new(record.clone()) {
        Ok(td) => td,
        Err(e) => {
            // Nothing has started: undo the folder the record could not cover.
            record.tear_down();
            return Err(e);
        }
    };

    // The hosts' cgroups.
    let (control, unenforced) = match CpuControl::detect() {
        Ok(c) => (Some(c), None),
        Err(why) => (None, Some(why)),
    };
    let mut hosts: Vec<HostPlacement> = t
        .hosts
        .iter()
        .map(|h| HostPlacement {
            name: h.name.clone(),
            cores: h.cores,
            cgroup: None,
        })
        .collect();
    if let Some(ctl) = &control {
        let dir = ctl.create_run(&run)?;
        td.record.cgroup = Some(dir.clone());
        td.record.save()?;
        for h in &mut hosts {
            h.cgroup = Some(ctl.create_host(&dir, &h.name, h.cores)?);
        }
    }
    let procs =
        |host: HostId| -> Option<PathBuf> { hosts[host.0 as usize].cgroup.as_ref().map(|c| c.join("cgroup.procs")) };
    let stop_if_interrupted = || {
        if interrupted() {
            Err(DeployError::Interrupted)
        } else {
            Ok(())
        }
    };
    stop_if_interrupted()?;

    // MariaDB.
    let (db_id, db_node) = t
        .nodes
        .iter()
        .enumerate()
        .find(|(_, n)| matches!(n.kind, NodeKind::MySql(_)))
        .expect("checked: one MySQL node");
    let NodeKind::MySql(mysql) = &db_node.kind else {
        unreachable!()
    };
    let db = MariaDb::start(
        &folder,
        &db_node.name,
        mysql,
        &scenario.app,
        procs(db_node.host).as_deref(),
        &mut |d| td.adopt(d),
    )?;
    stop_if_interrupted()?;

    // The pools, each with the application generated for its host.
    let mut fpm_addrs: Vec<Option<FpmAddress>> = vec![None; t.nodes.len()];
    for (i, n) in t.nodes.iter().enumerate() {
        let NodeKind::Fpm { pool, db: to } = &n.kind else {
            continue;
        };
        debug_assert_eq!(to.0 as usize, db_id);
        let app_dir = folder.app().join(&n.name);
        std::fs::create_dir_all(&app_dir).map_err(DeployError::io(&app_dir))?;
        let code = php::index(
            &scenario.app,
            &php::PhpSettings {
                db_socket: db.socket.display().to_string(),
                db_password: db.password.clone(),
                web_speed: t.host(n.host).speed,
                db_speed: t.host(db_node.host).speed,
                md5_ns: db.md5_ns,
            },
        );
        folder.write(&app_dir.join("index.php"), &code)?;
        let addr = fpm::address(&folder, &n.name, pool)?;
        fpm::start(&folder, &n.name, pool, &addr, procs(n.host).as_deref(), &mut |d| {
            td.adopt(d)
        })?;
        fpm_addrs[i] = Some(addr);
        stop_if_interrupted()?;
    }

    // nginx in front of each pool.
    let mut web = Vec::new();
    let mut entry = 0;
    for (i, n) in t.nodes.iter().enumerate() {
        let NodeKind::Nginx { cfg, upstream } = &n.kind else {
            continue;
        };
        let addr = fpm_addrs[upstream.0 as usize]
            .clone()
            .expect("nginx's upstream is a pool");
        let port = free_port()?;
        let script = folder.app().join(&t.node(*upstream).name).join("index.php");
        let node = nginx::NginxNode {
            name: &n.name,
            cfg,
            cores: t.host(n.host).cores,
            port,
            upstream: &addr,
            script: &script,
        };
        nginx::start(&folder, &node, procs(n.host).as_deref(), &mut |d| td.adopt(d))?;
        if i == t.entry.0 as usize {
            entry = web.len();
        }
        web.push(WebNode {
            nginx: n.name.clone(),
            fpm: t.node(*upstream).name.clone(),
            port,
            fpm_address: addr,
        });
        stop_if_interrupted()?;
    }

    Ok(Deployment {
        teardown: td,
        folder,
        db,
        entry,
        web,
        hosts,
        unenforced,
    })
}
