//! What the real-deployment tests share: whether this machine can run
//! them, the test scenario, a tiny HTTP client (loopback only).

// Each test binary includes this module and uses part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lab_core::scenario::Scenario;
use lab_deploy::CpuControl;

/// Whether the real components, root and a CPU cgroup are here. Without
/// them: with `CI` set, a panic saying what is missing; otherwise `false`
/// after printing why the test is skipped.
pub fn ready() -> bool {
    let mut missing = Vec::new();
    for c in lab_deploy::doctor::MONOLITH {
        if let Err(e) = c.find() {
            missing.push(e.to_string());
        }
    }
    // SAFETY: geteuid() cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root (cgroups and the daemons' users)".into());
    }
    if let Err(why) = CpuControl::detect() {
        missing.push(format!("a writable cgroup CPU controller: {why}"));
    }
    if missing.is_empty() {
        return true;
    }
    let why = missing.join("; ");
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI is set and this machine lacks what real deployments need: {why} (scripts/install-real.sh installs it)"
        );
    }
    eprintln!("skipping a real-deployment test: {why}");
    false
}

pub fn scenario_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/shop.toml")
}

pub fn scenario() -> Scenario {
    lab_core::scenario::load(&scenario_path()).expect("the test scenario is valid")
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// GET `base` + `path` over HTTP/1.0; `base` must be on 127.0.0.0/8, or
/// on the run's own network from inside one of its namespaces.
pub fn get(base: &str, path: &str) -> Response {
    try_get(base, path, Duration::from_secs(10)).expect("a response")
}

/// As [`get`], `None` when connecting takes longer than `connect` or the
/// connection fails.
pub fn try_get(base: &str, path: &str, connect: Duration) -> Option<Response> {
    let hostport = base
        .strip_prefix("http://")
        .and_then(|r| r.split('/').next())
        .expect("an http:// URL");
    let addr: std::net::SocketAddr = hostport.parse().expect("an address and port");
    let own_network = matches!(addr.ip(), std::net::IpAddr::V4(a) if a.octets()[..3] == lab_deploy::netns::SUBNET);
    let in_namespace = std::fs::read_link("/proc/thread-self/ns/net").ok() != std::fs::read_link("/proc/1/ns/net").ok();
    assert!(
        addr.ip().is_loopback() || (own_network && in_namespace),
        "tests contact loopback or the run's own namespaced network only, not {addr}"
    );
    let mut s = TcpStream::connect_timeout(&addr, connect).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw:?}"));
    Some(Response {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

/// The cgroups of this process's runs (`lab-<pid>-…`), by name.
pub fn our_cgroups() -> Vec<String> {
    let Ok(ctl) = CpuControl::detect() else {
        return Vec::new();
    };
    let root = match ctl {
        CpuControl::V2 { root } | CpuControl::V1 { root, .. } => root,
    };
    let prefix = format!("lab-{}-", std::process::id());
    let mut v: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    v.sort();
    v
}
