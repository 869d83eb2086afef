//! The daemons a run starts: each in a process group of its own (so a
//! terminal's Ctrl-C reaches `lab`, which tears down in order, not the
//! daemons behind its back) and, where cgroups work, in its host's cgroup
//! from its first instruction.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::HostPlacement;
use crate::doctor::Component;
use crate::error::{DeployError, tail};

/// A process as the state file remembers it: its pid, which is also its
/// process group, and its start time, so that a reused pid is never killed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub name: String,
    pub pid: i32,
    /// Field 22 of `/proc/<pid>/stat`, clock ticks since boot.
    pub start_time: u64,
}

/// A daemon `lab` started and owns.
#[derive(Debug)]
pub struct Daemon {
    pub id: ProcessId,
    pub log: PathBuf,
    /// How it was started, to start it again after a crash or a restart.
    pub launch: Launch,
    child: Child,
}

/// A daemon's command line and place, as [`spawn`] was given them.
#[derive(Clone, Debug)]
pub struct Launch {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub host: HostPlacement,
    pub out: PathBuf,
}

impl Launch {
    /// Starts the daemon again, the same way (no readiness wait: a host
    /// that boots again takes the time it takes).
    pub fn respawn(&self) -> Result<Daemon, DeployError> {
        spawn(&self.name, &self.program, &self.args, &self.host, &self.out)
    }
}

/// Starts `program` with `args`, its output in `log`, on `host`: in its
/// cgroup and its network namespace, where it has them.
pub fn spawn(
    name: &str,
    program: &Path,
    args: &[String],
    host: &HostPlacement,
    log: &Path,
) -> Result<Daemon, DeployError> {
    let out = File::create(log).map_err(DeployError::io(log))?;
    let err = out.try_clone().map_err(DeployError::io(log))?;
    // `ip netns exec` enters the namespace and execs the program, so the
    // pid stays the daemon's.
    let mut argv: Vec<std::ffi::OsString> = Vec::new();
    if let Some(ns) = &host.netns {
        argv.extend([
            Component::Ip.find()?.into_os_string(),
            "netns".into(),
            "exec".into(),
            ns.into(),
        ]);
    }
    argv.push(program.as_os_str().to_owned());
    argv.extend(args.iter().map(std::ffi::OsString::from));
    // The quota's cgroup, its accounting twin and the cpuset, each once.
    let mut cgroups: Vec<&PathBuf> = Vec::new();
    for c in [&host.cgroup, &host.accounting, &host.cpuset].into_iter().flatten() {
        if !cgroups.contains(&c) {
            cgroups.push(c);
        }
    }
    let mut cmd = if cgroups.is_empty() {
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]);
        c
    } else {
        // The shell joins the cgroups and then becomes the daemon, so the
        // daemon and every child it forks are counted from the start.
        let mut c = Command::new("/bin/sh");
        c.arg("-c")
            .arg("n=$0; while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || exit 1; shift; n=$((n - 1)); done; exec \"$@\"")
            .arg(cgroups.len().to_string())
            .args(cgroups.iter().map(|c| c.join("cgroup.procs")))
            .args(&argv);
        c
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0);
    let child = cmd.spawn().map_err(DeployError::io(program))?;
    let pid = child.id() as i32;
    Ok(Daemon {
        id: ProcessId {
            name: name.to_string(),
            pid,
            start_time: start_time(pid).unwrap_or(0),
        },
        log: log.to_path_buf(),
        launch: Launch {
            name: name.to_string(),
            program: program.to_path_buf(),
            args: args.to_vec(),
            host: host.clone(),
            out: log.to_path_buf(),
        },
        child,
    })
}

impl Daemon {
    /// Fails when the daemon has already exited, with the end of its log.
    pub fn check_running(&mut self) -> Result<(), DeployError> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(DeployError::Exited {
                what: self.id.name.clone(),
                status: status.to_string(),
                log: self.log.clone(),
                tail: tail(&self.log, 15),
            }),
            _ => Ok(()),
        }
    }

    /// Waits until `ready` says yes, failing if the daemon exits or
    /// `timeout` passes.
    pub fn wait_ready(&mut self, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<(), DeployError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_running()?;
            if ready() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(DeployError::StartTimeout {
                    what: self.id.name.clone(),
                    secs: timeout.as_secs(),
                    log: self.log.clone(),
                    tail: tail(&self.log, 15),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGTERM to the whole group, SIGKILL after `grace`; reaps the daemon.
    pub fn stop(mut self, grace: Duration) {
        stop_group(&self.id, grace);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stops a process group that may not be a child of this process (`lab down`):
/// SIGTERM, then SIGKILL after `grace`. A leader whose pid now belongs to
/// another program (its start time differs) is left alone.
pub fn stop_group(id: &ProcessId, grace: Duration) {
    if start_time(id.pid).is_some_and(|t| id.start_time != 0 && t != id.start_time) {
        return;
    }
    signal(-id.pid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while group_alive(id.pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(-id.pid, libc::SIGKILL);
}

/// Whether any process of group `pgid` is alive (not a zombie).
pub fn group_alive(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter_map(stat_fields)
        .any(|f| {
            f.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) && f.first().map(String::as_str) != Some("Z")
        })
}

/// Live processes other than this one whose command line names `path` (a
/// run folder) or a file in it: what a run started, recorded or not. (A
/// `lab up --out DIR` names its folder too: its owner is not a daemon, and
/// callers leave it out.)
pub fn naming(path: &Path) -> Vec<i32> {
    let needle = path.as_os_str().as_encoded_bytes();
    if needle.is_empty() {
        return Vec::new();
    }
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|&pid| pid != me && alive(pid, 0))
        .filter(|&pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| names(&c, needle)))
        .collect()
}

/// Whether a NUL-separated command line holds `path` whole: followed by a
/// `/` or the argument's end, so `/x/run` is not found in `/x/run2`.
fn names(cmdline: &[u8], path: &[u8]) -> bool {
    cmdline
        .windows(path.len() + 1)
        .any(|w| &w[..path.len()] == path && matches!(w[path.len()], b'/' | 0))
}

/// Whether `pid` is alive (not a zombie) and was started at `start_time`.
pub fn alive(pid: i32, start: u64) -> bool {
    match stat_fields(pid) {
        Some(f) => f.first().map(String::as_str) != Some("Z") && (start == 0 || field_u64(&f, 19) == Some(start)),
        None => false,
    }
}

pub fn start_time(pid: i32) -> Option<u64> {
    field_u64(&stat_fields(pid)?, 19)
}

/// The fields of `/proc/<pid>/stat` after the command name: state, ppid,
/// pgrp, … (so field 22 of the man page is index 19).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &s[s.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

fn field_u64(f: &[String], i: usize) -> Option<u64> {
    f.get(i)?.parse().ok()
}

pub fn signal(pid: i32, sig: i32) {
    // SAFETY: kill() has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Runs a short command to its end; fails with its output.
pub fn run(program: &Path, args: &[String]) -> Result<String, DeployError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .process_group(0)
        .output()
        .map_err(DeployError::io(program))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        return Err(DeployError::Command {
            command: format!("{} {}", program.display(), args.join(" ")),
            status: out.status.to_string(),
            output: text.trim().to_string(),
        });
    }
    Ok(text)
}

/// CPU time (ns) the process's threads have used, from the scheduler's
/// per-thread statistics (precise to the nanosecond, unlike clock ticks).
pub fn cpu_ns(pid: i32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_names_a_folder_whole() {
        let c = b"mariadbd\0--defaults-file=/x/run/etc/my.cnf\0";
        assert!(names(c, b"/x/run"));
        assert!(names(b"nginx\0-p\0/x/run\0", b"/x/run"));
        assert!(!names(b"nginx\0-p\0/x/run2\0", b"/x/run"));
        assert!(!names(b"/x/ru\0", b"/x/run"));
    }
}
