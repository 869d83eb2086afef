//! What the CLI's real-deployment tests share: whether this machine can
//! deploy (failing loudly with `CI` set), the `lab` binary, and one run at
//! a time within a test binary (the machine has two cores, and `lab down
//! --all` stops every live run).

#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use lab_deploy::doctor::Component;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn lock() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn lab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lab"))
}

/// A file of the repository, by its path from the root.
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Whether the real components (those of `extra` too) and root are here.
pub fn ready_with(extra: &[Component]) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mut missing: Vec<String> = lab_deploy::doctor::MONOLITH
        .iter()
        .chain(extra)
        .filter_map(|c| c.find().err().map(|e| e.to_string()))
        .collect();
    if std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(1) != 0 {
        missing.push("root".into());
    }
    if missing.is_empty() {
        return true;
    }
    let why = missing.join("; ");
    if std::env::var_os("CI").is_some() {
        panic!("CI is set and this machine lacks what real deployments need: {why}");
    }
    eprintln!("skipping a real-deployment test: {why}");
    false
}

pub fn ready() -> bool {
    ready_with(&[])
}

pub fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "lab did not exit within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
