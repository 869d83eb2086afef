//! `lab up`, `lab down` and `lab doctor` as a person runs them: a `lab up`
//! child answers on the URL it prints and leaves nothing after SIGINT; one
//! killed with SIGKILL leaves its daemons (and silver its namespaces),
//! which `lab down` removes; while an era is up, nothing new listens in
//! this network namespace beyond 127.0.0.0/8.
//!
//! Without the real components (or root) these tests print why and pass;
//! with `CI` set they fail.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use lab_deploy::RunRecord;
use support::{lab, lock, ready, wait_exit};

fn scenario() -> PathBuf {
    support::repo("deploy/tests/scenarios/shop.toml")
}

/// Starts `lab up` on `era` (with `extra` arguments) and waits for the URL it prints.
fn lab_up(era: &str, extra: &[&str]) -> (Child, String) {
    let mut child = lab()
        .args(["up", scenario().to_str().unwrap(), "--era", era])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(u) = l.split(" is up at ").nth(1) {
                    break u.trim().to_string();
                }
            }
            _ => {
                let mut err = String::new();
                child.stderr.take().unwrap().read_to_string(&mut err).ok();
                panic!("lab up ended before printing its URL: {err}");
            }
        }
    };
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// The record of the run `pid` owns.
fn record_of(pid: u32) -> RunRecord {
    lab_deploy::state::runs()
        .unwrap()
        .into_iter()
        .find(|r| r.owner.pid == pid as i32)
        .expect("the live run is recorded")
}

fn status_of(url: &str, path: &str) -> u16 {
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    let addr: std::net::SocketAddr = hostport.parse().unwrap();
    assert!(addr.ip().is_loopback(), "{addr}");
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\n\r\n").unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).unwrap();
    r.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn sigint_to_lab_up_tears_everything_down() {
    if !ready() {
        return;
    }
    let _one = lock();
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    let (mut child, url) = lab_up("bronze", &["--out", run.to_str().unwrap()]);
    assert_eq!(status_of(&url, "home"), 200);
    let record = record_of(child.id());
    assert_eq!(record.processes.len(), 3, "{record:?}");
    assert!(!record.leftovers().is_empty(), "while up, the run is there");
    // SAFETY: kill() has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_exit(&mut child, Duration::from_secs(60));
    assert!(status.success(), "lab up after SIGINT: {status}");
    assert_eq!(record.leftovers(), Vec::<String>::new());
    // --out keeps the configs and logs.
    assert!(run.join("etc/nginx.conf").exists() && run.join("log/mysql.err").exists());
    assert!(TcpStream::connect(url.trim_start_matches("http://").trim_end_matches('/')).is_err());
}

#[test]
fn lab_down_removes_what_a_killed_lab_up_left() {
    if !ready() {
        return;
    }
    let _one = lock();
    let (mut child, url) = lab_up("stone", &[]);
    let record = record_of(child.id());
    child.kill().unwrap(); // SIGKILL: no teardown of its own
    child.wait().unwrap();
    assert_eq!(status_of(&url, "home"), 200, "the daemons outlive a killed lab");
    assert!(!record.leftovers().is_empty());
    let out = lab().arg("down").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("run {} (era stone)", record.run)), "{text}");
    assert_eq!(record.leftovers(), Vec::<String>::new());
}

#[test]
fn lab_down_removes_a_killed_silver_run_namespaces_included() {
    if !ready() {
        return;
    }
    let _one = lock();
    let (mut child, url) = lab_up("silver", &[]);
    assert_eq!(url, "http://10.77.0.100:80/");
    let record = record_of(child.id());
    assert_eq!(record.netns.len(), 6, "{record:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    let left = record.leftovers();
    assert!(left.iter().any(|l| l.contains("network namespace")), "{left:?}");
    let out = lab().arg("down").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("6 network namespace(s)"), "{text}");
    assert_eq!(record.leftovers(), Vec::<String>::new());
}

#[test]
fn sigint_while_coming_up_stops_there_and_tears_down() {
    if !ready() {
        return;
    }
    let _one = lock();
    let mut child = lab()
        .args(["up", scenario().to_str().unwrap(), "--era", "stone"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The record appears with the run folder, before MariaDB is installed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let record = loop {
        let found = lab_deploy::state::runs()
            .unwrap()
            .into_iter()
            .find(|r| r.owner.pid == child.id() as i32);
        if let Some(r) = found {
            break r;
        }
        assert!(Instant::now() < deadline, "no record of the run appeared");
        std::thread::sleep(Duration::from_millis(10));
    };
    // SAFETY: kill() has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_exit(&mut child, Duration::from_secs(90));
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(!status.success(), "{out}{err}");
    assert!(err.contains("interrupted while bringing the era up"), "{err}");
    assert!(!out.contains("is up at"), "{out}");
    // The record read early holds no process: look for any by the folder.
    let mut done = record.clone();
    done.processes.clear();
    assert_eq!(done.leftovers(), Vec::<String>::new());
    assert!(!record.folder.exists());
}

#[test]
fn lab_down_all_stops_a_live_run_through_its_own_teardown() {
    if !ready() {
        return;
    }
    let _one = lock();
    let (mut child, url) = lab_up("stone", &[]);
    let record = record_of(child.id());
    let out = lab().args(["down", "--all"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    // SIGTERM made lab up tear down itself and exit as after Ctrl-C.
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status}");
    assert_eq!(record.leftovers(), Vec::<String>::new());
    assert!(TcpStream::connect(url.trim_start_matches("http://").trim_end_matches('/')).is_err());
}

#[test]
fn doctor_names_every_component() {
    let out = lab().arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for what in [
        "mariadbd",
        "nginx",
        "php-fpm",
        "haproxy",
        "keepalived",
        "ip netns",
        "cgroup cpu",
    ] {
        assert!(text.contains(what), "{what} missing from\n{text}");
    }
    if ready() {
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("can be deployed"), "{text}");
    } else {
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("install-real.sh"));
    }
}

#[test]
fn lab_up_refuses_an_unknown_era_as_a_usage_error() {
    let out = lab()
        .args(["up", scenario().to_str().unwrap(), "--era", "iron"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no era \"iron\""));
}

/// The TCP sockets listening in this network namespace.
fn listeners() -> std::collections::HashSet<std::net::SocketAddr> {
    let mut out = std::collections::HashSet::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st …; 0A is LISTEN.
            if f.len() < 4 || f[3] != "0A" {
                continue;
            }
            let (addr, port) = f[1].split_once(':').unwrap();
            let port = u16::from_str_radix(port, 16).unwrap();
            // The kernel prints each 32-bit word in host (little-endian) order.
            let words: Vec<u32> = (0..addr.len() / 8)
                .map(|i| u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16).unwrap().swap_bytes())
                .collect();
            let ip: std::net::IpAddr = match words.as_slice() {
                [w] => std::net::Ipv4Addr::from(*w).into(),
                ws => {
                    let bytes: Vec<u8> = ws.iter().flat_map(|w| w.to_be_bytes()).collect();
                    std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).unwrap()).into()
                }
            };
            out.insert(std::net::SocketAddr::new(ip, port));
        }
    }
    out
}

#[test]
fn nothing_listens_beyond_loopback_while_an_era_is_up() {
    if !ready() {
        return;
    }
    let _one = lock();
    let mut eras = vec!["bronze"];
    if support::ready_with(&lab_deploy::doctor::SILVER) {
        eras.push("silver");
    }
    for era in eras {
        let before = listeners();
        let (mut child, _url) = lab_up(era, &[]);
        let during = listeners();
        // SAFETY: kill() has no memory-safety preconditions.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        assert!(wait_exit(&mut child, Duration::from_secs(60)).success());
        let new: Vec<_> = during.difference(&before).collect();
        // Bronze's nginx listens here, on 127.0.0.1; silver's balancers and
        // nodes listen only inside the run's own namespaces.
        if era == "bronze" {
            assert!(!new.is_empty(), "nginx's listener was not seen");
        }
        assert!(
            new.iter().all(|a| a.ip().is_loopback()),
            "{era}: listening beyond loopback: {new:?}"
        );
    }
}
