//! Each logical host's cores enforced with the cgroup CPU controller: a
//! cgroup per run (`lab-<run id>`) with one child per host, whose CPU quota
//! is the host's cores.
//!
//! cgroup v2's `cpu.max` where the unified hierarchy has the cpu
//! controller; otherwise cgroup v1's `cpu.cfs_quota_us` (hybrid machines,
//! such as the one this project runs on, bind cpu to v1).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::DeployError;
use crate::process;

/// The CFS period every quota is written against: the kernel's default.
pub const PERIOD_US: u64 = 100_000;

/// The CPU controller this machine offers, with its mount point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpuControl {
    /// The unified hierarchy, `cpu.max`.
    V2 { root: PathBuf },
    /// The legacy cpu hierarchy, `cpu.cfs_quota_us` and `cpu.cfs_period_us`;
    /// `v2` is where the unified one is mounted without the cpu controller.
    V1 { root: PathBuf, v2: Option<PathBuf> },
}

impl CpuControl {
    /// Finds a writable CPU controller, or says why there is none.
    pub fn detect() -> Result<CpuControl, String> {
        let mounts =
            std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| format!("/proc/self/mountinfo: {e}"))?;
        let mut v2 = None;
        let mut v1 = None;
        for line in mounts.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let mountpoint = left.split(' ').nth(4).unwrap_or("");
            let mut r = right.split(' ');
            let fstype = r.next().unwrap_or("");
            let superopts = r.nth(1).unwrap_or("");
            match fstype {
                "cgroup2" => v2 = Some(PathBuf::from(mountpoint)),
                "cgroup" if superopts.split(',').any(|o| o == "cpu") => v1 = Some(PathBuf::from(mountpoint)),
                _ => {}
            }
        }
        if let Some(root) = &v2 {
            let controllers = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
            if controllers.split_whitespace().any(|c| c == "cpu") && writable(root) {
                return Ok(CpuControl::V2 { root: root.clone() });
            }
        }
        match v1 {
            Some(root) if writable(&root) && root.join("cpu.cfs_quota_us").exists() => Ok(CpuControl::V1 { root, v2 }),
            Some(root) => Err(format!(
                "the cgroup v1 cpu hierarchy at {} is not writable (run as root)",
                root.display()
            )),
            None => Err(match v2 {
                Some(root) => format!(
                    "cgroup v2 at {} offers no writable cpu controller and there is no cgroup v1 cpu hierarchy",
                    root.display()
                ),
                None => "no cgroup filesystem is mounted".into(),
            }),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            CpuControl::V2 { root } => format!("cgroup v2 at {}: quotas through cpu.max", root.display()),
            CpuControl::V1 { root, v2 } => {
                let why = match v2 {
                    Some(u) => format!(
                        "cgroup v2 at {} has no cpu controller (this machine binds cpu to v1)",
                        u.display()
                    ),
                    None => "no cgroup v2 is mounted".into(),
                };
                format!(
                    "{why}; using cgroup v1 at {}: quotas through cpu.cfs_quota_us",
                    root.display()
                )
            }
        }
    }

    fn root(&self) -> &Path {
        match self {
            CpuControl::V2 { root } | CpuControl::V1 { root, .. } => root,
        }
    }

    /// Creates the run's cgroup, `lab-<run>` under the controller's root.
    pub fn create_run(&self, run: &str) -> Result<PathBuf, DeployError> {
        let dir = self.root().join(format!("lab-{run}"));
        std::fs::create_dir(&dir).map_err(cg(&dir))?;
        if let CpuControl::V2 { root } = self {
            // Children get cpu.max only where every ancestor hands the
            // controller down.
            write(&root.join("cgroup.subtree_control"), "+cpu")?;
            write(&dir.join("cgroup.subtree_control"), "+cpu")?;
        }
        Ok(dir)
    }

    /// Where the quotas are cgroup v1's and the unified hierarchy is
    /// mounted beside them, the run's twin cgroup there: v1's cpu
    /// controller counts no CPU time (cpuacct does, in a hierarchy of its
    /// own on some machines), while every v2 cgroup has `cpu.stat`.
    pub fn create_accounting(&self, run: &str) -> Option<Result<PathBuf, DeployError>> {
        let CpuControl::V1 { v2: Some(root), .. } = self else {
            return None;
        };
        if !writable(root) {
            return None;
        }
        let dir = root.join(format!("lab-{run}"));
        Some(std::fs::create_dir(&dir).map(|()| dir.clone()).map_err(cg(&dir)))
    }

    /// Creates a cgroup under the run's with no quota (the load generator's).
    pub fn create_unlimited(&self, run_dir: &Path, name: &str) -> Result<PathBuf, DeployError> {
        let dir = run_dir.join(name);
        std::fs::create_dir(&dir).map_err(cg(&dir))?;
        Ok(dir)
    }

    /// Creates a host's cgroup under the run's and caps it at `cores`.
    pub fn create_host(&self, run_dir: &Path, host: &str, cores: u32) -> Result<PathBuf, DeployError> {
        let dir = run_dir.join(host);
        std::fs::create_dir(&dir).map_err(cg(&dir))?;
        let quota = u64::from(cores) * PERIOD_US;
        match self {
            CpuControl::V2 { .. } => write(&dir.join("cpu.max"), &format!("{quota} {PERIOD_US}"))?,
            CpuControl::V1 { .. } => {
                write(&dir.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
                write(&dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
            }
        }
        Ok(dir)
    }
}

/// A host's twin under the run's accounting cgroup ([`CpuControl::create_accounting`]).
pub fn create_twin(run_dir: &Path, host: &str) -> Result<PathBuf, DeployError> {
    let dir = run_dir.join(host);
    std::fs::create_dir(&dir).map_err(cg(&dir))?;
    Ok(dir)
}

/// A cgroup's CPU time so far, in ns (cgroup v2's `cpu.stat`).
pub fn cpu_time_ns(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("cpu.stat")).ok()?;
    crate::scrape::parse_cgroup_cpu("cpu.stat", &text).ok()
}

/// Sets a host cgroup's quota, microseconds per [`PERIOD_US`] (a `slow`
/// fault cuts it; healing writes the host's cores back).
pub fn set_quota(dir: &Path, quota: u64) -> Result<(), DeployError> {
    if dir.join("cpu.max").exists() {
        write(&dir.join("cpu.max"), &format!("{quota} {PERIOD_US}"))
    } else {
        write(&dir.join("cpu.cfs_quota_us"), &quota.to_string())
    }
}

/// A host cgroup's quota as written, in microseconds per period (`None`: no limit).
pub fn quota_us(dir: &Path) -> Option<u64> {
    if let Ok(max) = std::fs::read_to_string(dir.join("cpu.max")) {
        return max.split_whitespace().next().and_then(|q| q.parse().ok());
    }
    let q: i64 = std::fs::read_to_string(dir.join("cpu.cfs_quota_us"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    u64::try_from(q).ok()
}

/// Kills every process left in `dir` and its children cgroups, then removes
/// them, deepest first. A missing folder is already removed. This process
/// and `spare` (the run's owner, which `lab down --all` may find still
/// tearing down) are not killed: they are moved out ([`leave`]).
pub fn remove(dir: &Path, spare: &[i32]) -> Result<(), DeployError> {
    if !dir.exists() {
        return Ok(());
    }
    let children: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(cg(dir))?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    for c in &children {
        remove(c, spare)?;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = procs(dir);
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            if pid == std::process::id() as i32 || spare.contains(&pid) {
                // `lab` itself, as the load generator: it leaves, it does
                // not die.
                leave(dir, pid);
            } else {
                process::signal(pid, libc::SIGKILL);
            }
        }
        if Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::remove_dir(dir).map_err(cg(dir))
}

/// Moves process `pid` out of a run's cgroup `dir` into the cgroup the
/// run's was made in: the parent of the `lab-<run>` folder `dir` is or is
/// under (the hierarchy's root, where `lab` was when it began).
fn leave(dir: &Path, pid: i32) {
    let run = dir
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n.to_string_lossy().starts_with("lab-")));
    if let Some(parent) = run.and_then(Path::parent) {
        let _ = std::fs::write(parent.join("cgroup.procs"), pid.to_string());
    }
}

/// Puts this whole process (every thread) into `dir`.
pub fn join(dir: &Path) -> Result<(), DeployError> {
    write(&dir.join("cgroup.procs"), &std::process::id().to_string())
}

/// The processes in a cgroup.
pub fn procs(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

pub(crate) fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path; access() only reads it.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

fn write(path: &Path, value: &str) -> Result<(), DeployError> {
    std::fs::write(path, value).map_err(cg(path))
}

fn cg(path: &Path) -> impl FnOnce(std::io::Error) -> DeployError {
    let path = path.to_path_buf();
    move |source| DeployError::Cgroup { path, source }
}
