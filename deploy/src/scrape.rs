//! The running system's gauges, read while the load generator drives it:
//! PHP-FPM's status page (active and idle workers, listen queue), HAProxy's
//! runtime API (`show stat`: sessions and queue per server, who is UP),
//! MariaDB's `SHOW GLOBAL STATUS` (threads connected, slow queries) and a
//! cgroup's CPU time (busy cores over the last interval).
//!
//! Each source has a parser, a pure function of the text the real program
//! prints, and a reader that fetches that text; the parsers are what the
//! tests pin to the programs' formats.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// What went wrong reading a gauge.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("cannot reach {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} answered something else than expected: {why}")]
    Format { what: String, why: String },
}

/// How long a reader waits: a gauge late by more than this is skipped, not
/// waited for (the load goes on either way).
const PATIENCE: Duration = Duration::from_millis(500);

/// PHP-FPM's pool as its status page shows it (`pm.status_path`, plain text).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FpmStatus {
    pub active: u64,
    pub idle: u64,
    pub total: u64,
    pub listen_queue: u64,
    pub max_children_reached: u64,
}

/// Parses the plain-text status page (`active processes:     2`, …).
pub fn parse_fpm_status(text: &str) -> Result<FpmStatus, String> {
    let mut fields = BTreeMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(':') {
            if let Ok(n) = v.trim().parse::<u64>() {
                fields.insert(k.trim().to_string(), n);
            }
        }
    }
    let get = |k: &str| fields.get(k).copied().ok_or_else(|| format!("no \"{k}\" line"));
    Ok(FpmStatus {
        active: get("active processes")?,
        idle: get("idle processes")?,
        total: get("total processes")?,
        listen_queue: get("listen queue")?,
        max_children_reached: get("max children reached")?,
    })
}

/// Reads FPM's status page through nginx at `addr`, `path`.
pub fn fpm_status(addr: SocketAddr, path: &str) -> Result<FpmStatus, ScrapeError> {
    let what = format!("PHP-FPM's status page at http://{addr}{path}");
    let body = http_get(addr, path).map_err(|source| ScrapeError::Io {
        what: what.clone(),
        source,
    })?;
    parse_fpm_status(&body).map_err(|why| ScrapeError::Format { what, why })
}

/// One server (or frontend, or backend) line of HAProxy's `show stat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaproxyStat {
    pub proxy: String,
    /// `FRONTEND`, `BACKEND` or the server's name.
    pub name: String,
    /// Requests waiting in the queue (`qcur`).
    pub queued: u64,
    /// Sessions open now (`scur`).
    pub sessions: u64,
    /// `UP`, `DOWN`, `OPEN`, `no check`, …
    pub status: String,
}

/// Parses `show stat`'s CSV (a `# pxname,svname,qcur,…` header, then a
/// line per proxy and server).
pub fn parse_haproxy_stat(text: &str) -> Result<Vec<HaproxyStat>, String> {
    let mut lines = text.lines();
    let header = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .ok_or("no \"# pxname,…\" header")?;
    let columns: Vec<&str> = header.split(',').collect();
    let at = |name: &str| {
        columns
            .iter()
            .position(|c| *c == name)
            .ok_or_else(|| format!("no column {name}"))
    };
    let (px, sv, qcur, scur, status) = (at("pxname")?, at("svname")?, at("qcur")?, at("scur")?, at("status")?);
    let number = |s: &str| s.parse::<u64>().unwrap_or(0);
    Ok(lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let field = |i: usize| f.get(i).copied().unwrap_or("");
            HaproxyStat {
                proxy: field(px).to_string(),
                name: field(sv).to_string(),
                queued: number(field(qcur)),
                sessions: number(field(scur)),
                status: field(status).to_string(),
            }
        })
        .collect())
}

/// Asks HAProxy's runtime API at `socket` for `show stat`.
pub fn haproxy_stat(socket: &Path) -> Result<Vec<HaproxyStat>, ScrapeError> {
    let what = format!("HAProxy's runtime API at {}", socket.display());
    let io = |source| ScrapeError::Io {
        what: what.clone(),
        source,
    };
    let mut s = UnixStream::connect(socket).map_err(io)?;
    s.set_read_timeout(Some(PATIENCE)).map_err(io)?;
    s.set_write_timeout(Some(PATIENCE)).map_err(io)?;
    s.write_all(b"show stat\n").map_err(io)?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(io)?;
    parse_haproxy_stat(&text).map_err(|why| ScrapeError::Format { what, why })
}

/// MariaDB's global status, as `mariadb -N -B -e 'SHOW GLOBAL STATUS'`
/// prints it: a name and a value per line, tab-separated.
pub fn parse_mariadb_status(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .filter_map(|(k, v)| Some((k.trim().to_string(), v.trim().parse().ok()?)))
        .collect()
}

/// A cgroup's CPU time so far, in ns: cgroup v2's `cpu.stat` (`usage_usec`)
/// or v1's `cpuacct.usage`.
pub fn parse_cgroup_cpu(file_name: &str, text: &str) -> Result<u64, String> {
    if file_name.ends_with("cpu.stat") {
        text.lines()
            .find_map(|l| l.strip_prefix("usage_usec "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|us| us * 1_000)
            .ok_or_else(|| "no usage_usec line".into())
    } else {
        text.trim()
            .parse()
            .map_err(|_| format!("not a number of ns: {:?}", text.trim()))
    }
}

/// Busy cores over an interval, from two readings of a cgroup's CPU time.
pub fn busy_cores(before_ns: u64, after_ns: u64, elapsed: Duration) -> f64 {
    after_ns.saturating_sub(before_ns) as f64 / elapsed.as_nanos().max(1) as f64
}

/// Connections waiting in a listening unix socket's accept queue, from
/// `ss -xlnH`'s line for `socket` (its Recv-Q): PHP-FPM's status page
/// reports its listen queue for TCP sockets only on Linux.
pub fn parse_unix_backlog(text: &str, socket: &Path) -> Option<u64> {
    let want = socket.to_str()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        // Netid State Recv-Q Send-Q Local-Address Port Peer-Address Port
        (f.len() >= 5 && f[1] == "LISTEN" && f[4] == want).then(|| f[2].parse().ok())?
    })
}

/// Reads a listening unix socket's accept queue with `ss`, in network
/// namespace `ns` (where its listener was created) or this one.
pub fn unix_backlog(ns: Option<&str>, socket: &Path) -> Result<u64, ScrapeError> {
    let what = format!("the accept queue of {} (ss -xl)", socket.display());
    // iproute2 ships ss beside ip, though not in the same folder.
    let ss = crate::doctor::which("ss").ok_or_else(|| ScrapeError::Format {
        what: what.clone(),
        why: "no ss on the PATH (Debian's iproute2 ships it)".into(),
    })?;
    let mut cmd = std::process::Command::new(ss);
    if let Some(ns) = ns {
        cmd.args(["-N", ns]);
    }
    let out = cmd.args(["-xlnH"]).output().map_err(|source| ScrapeError::Io {
        what: what.clone(),
        source,
    })?;
    parse_unix_backlog(&String::from_utf8_lossy(&out.stdout), socket).ok_or_else(|| ScrapeError::Format {
        what,
        why: "no listening socket of that path".into(),
    })
}

/// A plain HTTP/1.0 GET's body.
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, PATIENCE)?;
    s.set_read_timeout(Some(PATIENCE))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: lab\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    match text.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200") => {
            Ok(body.to_string())
        }
        _ => Err(std::io::Error::other(format!(
            "not a 200 response: {}",
            text.lines().next().unwrap_or("")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What php-fpm 8.2 prints for `GET /fpm-status`.
    const FPM: &str = "pool:                 www\nprocess manager:      static\nstart time:           28/Nov/2026:04:31:02 +0000\nstart since:          12\naccepted conn:        40\nlisten queue:         3\nmax listen queue:     7\nlisten queue len:     64\nidle processes:       0\nactive processes:     8\ntotal processes:      8\nmax active processes: 8\nmax children reached: 1\nslow requests:        0\n";

    #[test]
    fn fpm_status_is_read_field_by_field() {
        assert_eq!(
            parse_fpm_status(FPM).unwrap(),
            FpmStatus {
                active: 8,
                idle: 0,
                total: 8,
                listen_queue: 3,
                max_children_reached: 1
            }
        );
        let cut = FPM.replace("listen queue:         3\n", "");
        assert_eq!(parse_fpm_status(&cut).unwrap_err(), "no \"listen queue\" line");
    }

    #[test]
    fn haproxy_stat_finds_its_columns_by_name() {
        // The head of HAProxy 2.6's `show stat` (columns cut after status).
        let text = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status\n\
                    web,FRONTEND,,,3,9,2000,120,0,0,0,0,0,,,,,OPEN\n\
                    webs,web0,2,5,1,4,,60,0,0,,0,,0,0,0,0,UP\n\
                    webs,web1,0,0,0,4,,60,0,0,,0,,3,0,0,0,DOWN\n\
                    webs,BACKEND,2,5,1,9,200,120,0,0,0,0,,3,0,0,0,UP\n";
        let s = parse_haproxy_stat(text).unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(
            (s[1].name.as_str(), s[1].queued, s[1].sessions, s[1].status.as_str()),
            ("web0", 2, 1, "UP")
        );
        assert_eq!(s[2].status, "DOWN");
        assert_eq!(s[0].queued, 0, "an empty field reads as 0");
        assert!(parse_haproxy_stat("pxname,svname\n").is_err());
    }

    #[test]
    fn a_unix_listeners_accept_queue_is_its_recv_q() {
        // What iproute2 6.1's `ss -xlnH` prints.
        let text = "u_str LISTEN 0      4096   /run/systemd/private 13123 * 0\n\
                    u_str LISTEN 65     64     /tmp/lab/run/fpm.sock 88121 * 0\n\
                    u_str LISTEN 0      4096   /tmp/lab/run/fpm-status.sock 88122 * 0\n";
        let p = Path::new("/tmp/lab/run/fpm.sock");
        assert_eq!(parse_unix_backlog(text, p), Some(65));
        assert_eq!(
            parse_unix_backlog(text, Path::new("/tmp/lab/run/fpm-status.sock")),
            Some(0)
        );
        assert_eq!(parse_unix_backlog(text, Path::new("/tmp/lab/run/other.sock")), None);
    }

    #[test]
    fn mariadb_status_and_cgroup_cpu_time() {
        let m = parse_mariadb_status("Threads_connected\t5\nSlow_queries\t2\nUptime_since_flush_status\tx\n");
        assert_eq!((m["Threads_connected"], m["Slow_queries"]), (5, 2));
        assert!(!m.contains_key("Uptime_since_flush_status"));
        let v2 = "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n";
        assert_eq!(
            parse_cgroup_cpu("/sys/fs/cgroup/lab-x/web/cpu.stat", v2),
            Ok(1_500_000_000)
        );
        assert_eq!(parse_cgroup_cpu("cpuacct.usage", "2500000000\n"), Ok(2_500_000_000));
        assert!(parse_cgroup_cpu("cpuacct.usage", "lots").is_err());
        assert!((busy_cores(1_000_000_000, 1_500_000_000, Duration::from_secs(1)) - 0.5).abs() < 1e-9);
    }
}
