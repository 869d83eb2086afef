//! Bringing an era up, node by node, from its topology: what [`up`] does.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use lab_core::scenario::{Architecture, Scenario};
use lab_core::topology::{NodeKind, Topology};

use crate::doctor;
use crate::netns::{self, Lan};
use crate::process::{self, ProcessId};
use crate::{
    Balancer, CpuControl, DeployError, Deployment, FpmAddress, HostPlacement, MariaDb, RunFolder, RunRecord, Teardown,
    UpOptions, WebNode, cgroup, cpuset, fpm, haproxy, keepalived, nginx, php,
};

/// A run's id: this process and the clock, short enough for socket paths
/// and interface-free namespace names.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}-{:06x}", std::process::id(), nanos & 0xff_ffff)
}

/// Silver's web hosts get addresses from `.10` on; the VIP is `.100`.
const FIRST_WEB: u8 = 10;
const MAX_WEB_HOSTS: usize = 80;
const VIP: u8 = 100;
const CLIENT: u8 = 250;
/// The load generator's cgroups, beside the hosts' under the run's.
const LOAD_GENERATOR: &str = "load-generator";

/// What `up` refuses before starting anything.
fn check_supported(label: &str, arch: &Architecture, t: &Topology) -> Result<(), DeployError> {
    let unsupported = |why: &str| DeployError::Unsupported {
        era: label.to_string(),
        model: arch.model(),
        why: why.to_string(),
    };
    match arch {
        Architecture::Stone { .. } | Architecture::Bronze { .. } | Architecture::Silver(_) => {}
        Architecture::Gold(_) => return Err(unsupported("services on clusters of their own come after silver")),
    }
    if !t.services.is_empty() {
        return Err(unsupported("calls are RPCs here"));
    }
    let dbs = t.nodes.iter().filter(|n| matches!(n.kind, NodeKind::MySql(_))).count();
    if dbs != 1 {
        return Err(unsupported(&format!("{dbs} MySQL nodes; one is deployed today")));
    }
    match &t.node(t.entry).kind {
        NodeKind::Nginx { .. } | NodeKind::Vip { .. } => {}
        _ => return Err(unsupported("its entry is neither nginx nor a VIP")),
    }
    let webs = t
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Nginx { .. }))
        .count();
    if is_silver(t) && webs > MAX_WEB_HOSTS {
        return Err(unsupported(&format!(
            "{webs} web nodes; at most {MAX_WEB_HOSTS} fit the run's network"
        )));
    }
    Ok(())
}

fn is_silver(t: &Topology) -> bool {
    t.nodes.iter().any(|n| matches!(n.kind, NodeKind::Vip { .. }))
}

/// A host's name as a namespace or cgroup name: `lb[0]` → `lb0`.
fn plain(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// Brings era `label` of `scenario` up: MariaDB, then each FPM pool with
/// the generated application, then nginx in front of each; in silver first
/// the run's network (a namespace per balancer and web host on a bridge of
/// their own) and last HAProxy and keepalived on each balancer. On any
/// error (or a signal, see [`UpOptions::signals`]) what was started is torn
/// down before the error is returned.
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
    let silver = is_silver(&t);
    // Every program first: a missing package is said before anything starts.
    let mut needed = doctor::MONOLITH.to_vec();
    if silver {
        needed.extend(doctor::SILVER);
    }
    for c in needed {
        c.find()?;
    }
    let interrupted = || opts.signals.is_some_and(|s| s.interrupted());
    let stop_if_interrupted = || {
        if interrupted() {
            Err(DeployError::Interrupted)
        } else {
            Ok(())
        }
    };

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
        accounting: None,
        cpuset: None,
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

    let mut hosts: Vec<HostPlacement> = t
        .hosts
        .iter()
        .map(|h| HostPlacement {
            name: h.name.clone(),
            cores: h.cores,
            cgroup: None,
            accounting: None,
            cpuset: None,
            cpus: Vec::new(),
            netns: None,
            address: None,
        })
        .collect();

    // Silver's network: each host that is not the database's in a namespace.
    let mut client_netns = None;
    if silver {
        let mut rec = |ns: &str| {
            td.record.netns.push(ns.to_string());
            td.record.save()
        };
        let mut lan = Lan::create(&run, &mut rec)?;
        let mut next_web = FIRST_WEB;
        for (i, h) in t.hosts.iter().enumerate() {
            let kinds: Vec<&NodeKind> = t
                .nodes
                .iter()
                .filter(|n| n.host.0 as usize == i)
                .map(|n| &n.kind)
                .collect();
            if kinds.iter().all(|k| matches!(k, NodeKind::MySql(_))) {
                continue;
            }
            let addr = if kinds.iter().any(|k| matches!(k, NodeKind::Haproxy { .. })) {
                let lb = t
                    .nodes
                    .iter()
                    .filter(|n| matches!(n.kind, NodeKind::Haproxy { .. }))
                    .position(|n| n.host.0 as usize == i)
                    .expect("a balancer host holds a balancer");
                netns::address(2 + lb as u8)
            } else {
                next_web += 1;
                netns::address(next_web - 1)
            };
            let ns = format!("lab-{run}-{}", plain(&h.name));
            lan.join(&ns, addr, &mut rec)?;
            hosts[i].netns = Some(ns);
            hosts[i].address = Some(addr);
        }
        let ns = format!("lab-{run}-client");
        lan.join(&ns, netns::address(CLIENT), &mut rec)?;
        client_netns = Some(ns);
    }
    stop_if_interrupted()?;

    // The hosts' cgroups.
    let (control, unenforced) = match CpuControl::detect() {
        Ok(c) => (Some(c), None),
        Err(why) => (None, Some(why)),
    };
    if let Some(ctl) = &control {
        let dir = ctl.create_run(&run)?;
        td.record.cgroup = Some(dir.clone());
        td.record.save()?;
        let twins = match ctl.create_accounting(&run) {
            Some(made) => {
                let twins = made?;
                td.record.accounting = Some(twins.clone());
                td.record.save()?;
                Some(twins)
            }
            None => None,
        };
        for h in &mut hosts {
            let name = plain(&h.name);
            let dir = ctl.create_host(&dir, &name, h.cores)?;
            h.accounting = match (&twins, ctl) {
                (Some(t), _) => Some(cgroup::create_twin(t, &name)?),
                // v2's own cgroup counts; v1's cpu controller does not.
                (None, CpuControl::V2 { .. }) => Some(dir.clone()),
                (None, CpuControl::V1 { .. }) => None,
            };
            h.cgroup = Some(dir);
        }
    }
    // The load generator: `lab` itself, counted beside the hosts.
    let mut load_generator = Vec::new();
    if let (Some(ctl), Some(dir)) = (&control, &td.record.cgroup) {
        load_generator.push(ctl.create_unlimited(dir, LOAD_GENERATOR)?);
        if let Some(t) = &td.record.accounting {
            load_generator.push(cgroup::create_twin(t, LOAD_GENERATOR)?);
        }
    }
    let mut load_generator_cpuset = None;
    let sets = cpuset::Cpusets::detect();
    let online = sets.as_ref().map(|s| s.cpus()).unwrap_or_default();
    let cores: Vec<u32> = hosts.iter().map(|h| h.cores).collect();
    let unpinned = match sets.zip(cpuset::place(&cores, &online)) {
        Some((sets, placement)) => {
            let dir = sets.run_dir(&run);
            td.record.cpuset = Some(dir.clone());
            td.record.save()?;
            sets.create_run(&dir)?;
            for (h, cpus) in hosts.iter_mut().zip(placement.cpus) {
                h.cpuset = Some(sets.create_host(&dir, &plain(&h.name), &cpus)?);
                h.cpus = cpus;
            }
            load_generator_cpuset = Some(sets.create_host(&dir, LOAD_GENERATOR, &placement.load_generator)?);
            placement.shared.then(|| {
                format!(
                    "the era's hosts have {} cores together and this machine {} CPUs: some hosts share CPUs",
                    cores.iter().sum::<u32>(),
                    online.len()
                )
            })
        }
        None => Some("no writable cgroup v1 cpuset hierarchy: hosts run on any CPU, within their quotas".into()),
    };
    stop_if_interrupted()?;

    // MariaDB.
    let db_node = t
        .nodes
        .iter()
        .find(|n| matches!(n.kind, NodeKind::MySql(_)))
        .expect("checked: one MySQL node");
    let NodeKind::MySql(mysql) = &db_node.kind else {
        unreachable!()
    };
    let db = MariaDb::start(
        &folder,
        &plain(&db_node.name),
        mysql,
        &scenario.app,
        &hosts[db_node.host.0 as usize],
        &mut |d| td.adopt(d),
    )?;
    stop_if_interrupted()?;

    // The pools, each with the application generated for its host.
    let mut fpm_addrs: Vec<Option<FpmAddress>> = vec![None; t.nodes.len()];
    for (i, n) in t.nodes.iter().enumerate() {
        let NodeKind::Fpm { pool, .. } = &n.kind else { continue };
        let name = plain(&n.name);
        let app_dir = folder.app().join(&name);
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
        let host = &hosts[n.host.0 as usize];
        // A tcp pool in a namespace listens on that namespace's loopback,
        // which only its nginx shares.
        let addr = fpm::address(&folder, &name, pool)?;
        fpm::start(&folder, &name, pool, &addr, host, &mut |d| td.adopt(d))?;
        fpm_addrs[i] = Some(addr);
        stop_if_interrupted()?;
    }

    // nginx in front of each pool.
    let mut web = Vec::new();
    let mut entry_url = None;
    for (i, n) in t.nodes.iter().enumerate() {
        let NodeKind::Nginx { cfg, upstream } = &n.kind else {
            continue;
        };
        let addr = fpm_addrs[upstream.0 as usize]
            .clone()
            .expect("nginx's upstream is a pool");
        let host = &hosts[n.host.0 as usize];
        let listen = match host.address {
            Some(a) => haproxy::web_address(a),
            None => SocketAddr::from((Ipv4Addr::LOCALHOST, crate::free_port()?)),
        };
        let name = plain(&n.name);
        let script = folder.app().join(plain(&t.node(*upstream).name)).join("index.php");
        let status = fpm::status_socket(&folder, &plain(&t.node(*upstream).name));
        let node = nginx::NginxNode {
            name: &name,
            cfg,
            cores: t.host(n.host).cores,
            listen,
            upstream: &addr,
            status: &status,
            script: &script,
        };
        nginx::start(&folder, &node, host, &mut |d| td.adopt(d))?;
        let w = WebNode {
            nginx: name.clone(),
            fpm: plain(&t.node(*upstream).name),
            listen,
            netns: host.netns.clone(),
            fpm_address: addr,
        };
        if i == t.entry.0 as usize {
            entry_url = Some(w.url());
        }
        web.push(w);
        stop_if_interrupted()?;
    }

    // Silver's balancers and the VIP they share.
    let mut balancers = Vec::new();
    let mut vip = None;
    if let NodeKind::Vip { members, vrrp } = &t.node(t.entry).kind {
        let address = netns::address(VIP);
        let front = SocketAddr::from((address, 80));
        for (k, m) in members.iter().enumerate() {
            let node = t.node(*m);
            let NodeKind::Haproxy { cfg, servers } = &node.kind else {
                unreachable!("a VIP's members are balancers")
            };
            let servers: Vec<(String, SocketAddr)> = servers
                .iter()
                .map(|s| {
                    let host = &hosts[t.node(*s).host.0 as usize];
                    (
                        plain(&t.node(*s).name),
                        haproxy::web_address(host.address.expect("web hosts have addresses")),
                    )
                })
                .collect();
            let host = &hosts[node.host.0 as usize];
            let name = plain(&node.name);
            haproxy::start(&folder, &name, cfg, front, &servers, host, &mut |d| td.adopt(d))?;
            let ka = format!("keepalived{k}");
            keepalived::start(&folder, &ka, &vrrp[k], address, host, &mut |d| td.adopt(d))?;
            balancers.push(Balancer {
                haproxy: name.clone(),
                host: node.host.0 as usize,
                stats: folder.run(&format!("{name}.stat")),
            });
            stop_if_interrupted()?;
        }
        // Up means answering on the VIP: a backup becomes master after
        // three adverts and its skew.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !netns::connects(client_netns.as_deref(), front) {
            stop_if_interrupted()?;
            if Instant::now() > deadline {
                return Err(DeployError::StartTimeout {
                    what: format!("the VIP {address}"),
                    secs: 30,
                    log: folder.log("keepalived0.log"),
                    tail: crate::error::tail(&folder.log("keepalived0.log"), 15),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        entry_url = Some(format!("http://{front}/"));
        vip = Some(address);
    }

    Ok(Deployment {
        teardown: td,
        folder,
        db,
        entry_url: entry_url.expect("the entry is nginx or a VIP"),
        client_netns,
        vip,
        web,
        balancers,
        hosts,
        stopped: Vec::new(),
        unenforced,
        unpinned,
        load_generator,
        load_generator_cpuset,
    })
}
