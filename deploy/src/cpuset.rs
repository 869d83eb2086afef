//! Each logical host pinned to CPUs of its own (cgroup v1's cpuset), beside
//! its CPU quota.
//!
//! A quota alone is a budget of CPU time per 100 ms, spent on any of the
//! machine's CPUs: a 1-core web host would run two PHP workers at once on a
//! 2-CPU machine until its budget ran out, then stall until the next
//! period, which no one-core server does. Pinned, a host of `cores` cores
//! runs on `cores` CPUs, as the simulator's host does. Hosts take CPUs in
//! the topology's order, round the machine's online CPUs; when the era has
//! more cores than the machine, later hosts share CPUs with earlier ones
//! and [`Placement::shared`] says so.

use std::path::{Path, PathBuf};

use crate::error::DeployError;

/// The cpuset hierarchy of cgroup v1, where one is mounted and writable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cpusets {
    pub root: PathBuf,
}

impl Cpusets {
    /// The cgroup v1 cpuset mount, if there is one this process may write.
    pub fn detect() -> Option<Cpusets> {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        mounts.lines().find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mountpoint = left.split(' ').nth(4)?;
            let mut r = right.split(' ');
            let fstype = r.next()?;
            let superopts = r.nth(1)?;
            let root = PathBuf::from(mountpoint);
            (fstype == "cgroup"
                && superopts.split(',').any(|o| o == "cpuset")
                && root.join("cpuset.cpus").exists()
                && crate::cgroup::writable(&root))
            .then_some(Cpusets { root })
        })
    }

    /// Where the run's cpuset goes, `lab-<run>` (record it before
    /// [`Cpusets::create_run`], so that a failure half-way is torn down).
    pub fn run_dir(&self, run: &str) -> PathBuf {
        self.root.join(format!("lab-{run}"))
    }

    /// Creates the run's cpuset with every CPU and memory node of the
    /// root (v1 lets no task into a cpuset whose own are empty).
    pub fn create_run(&self, dir: &Path) -> Result<(), DeployError> {
        std::fs::create_dir(dir).map_err(cg(dir))?;
        for f in ["cpuset.mems", "cpuset.cpus"] {
            copy(&self.root.join(f), &dir.join(f))?;
        }
        Ok(())
    }

    /// The CPUs the hierarchy's root may use (in a container, fewer than
    /// the machine's).
    pub fn cpus(&self) -> Vec<u32> {
        std::fs::read_to_string(self.root.join("cpuset.cpus"))
            .map(|s| parse_list(&s))
            .unwrap_or_default()
    }

    /// A host's cpuset under the run's, on `cpus`.
    pub fn create_host(&self, run_dir: &Path, host: &str, cpus: &[u32]) -> Result<PathBuf, DeployError> {
        let dir = run_dir.join(host);
        std::fs::create_dir(&dir).map_err(cg(&dir))?;
        copy(&run_dir.join("cpuset.mems"), &dir.join("cpuset.mems"))?;
        let list = format_list(cpus);
        std::fs::write(dir.join("cpuset.cpus"), &list).map_err(cg(&dir.join("cpuset.cpus")))?;
        Ok(dir)
    }
}

/// Which CPUs each host runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Per host, in the topology's order.
    pub cpus: Vec<Vec<u32>>,
    /// The hosts have more cores together than the machine has CPUs.
    pub shared: bool,
    /// Where the load generator runs: the CPUs no host was given, or else
    /// the one the hosts' cores weigh least on (the last of equals, where
    /// the scenarios put the database host and its spare room). Left to
    /// roam, it would take turns on the web host's CPU, which its quota
    /// does not see.
    pub load_generator: Vec<u32>,
}

/// Gives each host `cores[i]` CPUs of `online`, in turn, wrapping round;
/// `None` when there are no CPUs to give.
pub fn place(cores: &[u32], online: &[u32]) -> Option<Placement> {
    if online.is_empty() {
        return None;
    }
    let mut next = 0usize;
    let mut cpus = Vec::with_capacity(cores.len());
    for &c in cores {
        let want = (c as usize).min(online.len()).max(1);
        let mut mine: Vec<u32> = (0..want).map(|k| online[(next + k) % online.len()]).collect();
        mine.sort_unstable();
        next = (next + want) % online.len().max(1);
        cpus.push(mine);
    }
    let total: u64 = cores.iter().map(|&c| u64::from(c)).sum();
    // Each host's cores weigh evenly on its CPUs.
    let mut weight = vec![0.0f64; online.len()];
    for (mine, &c) in cpus.iter().zip(cores) {
        for cpu in mine {
            let k = online.iter().position(|o| o == cpu).expect("given from online");
            weight[k] += f64::from(c) / mine.len() as f64;
        }
    }
    let free: Vec<u32> = online
        .iter()
        .zip(&weight)
        .filter(|(_, w)| **w == 0.0)
        .map(|(c, _)| *c)
        .collect();
    let load_generator = if free.is_empty() {
        let least = weight
            .iter()
            .enumerate()
            .fold(0, |best, (k, w)| if *w <= weight[best] { k } else { best });
        vec![online[least]]
    } else {
        free
    };
    Some(Placement {
        cpus,
        shared: total > online.len() as u64,
        load_generator,
    })
}

/// This machine's online CPUs.
pub fn online() -> Vec<u32> {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map(|s| parse_list(&s))
        .unwrap_or_default()
}

/// A kernel CPU list (`0-3,6`) as numbers.
pub fn parse_list(s: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<u32>().ok()),
        }
    }
    out
}

/// Numbers as a kernel CPU list, one by one (`0,1`).
pub fn format_list(cpus: &[u32]) -> String {
    cpus.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn copy(from: &Path, to: &Path) -> Result<(), DeployError> {
    let v = std::fs::read_to_string(from).map_err(cg(from))?;
    std::fs::write(to, v.trim()).map_err(cg(to))
}

fn cg(path: &Path) -> impl FnOnce(std::io::Error) -> DeployError {
    let path = path.to_path_buf();
    move |source| DeployError::Cgroup { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_take_cpus_in_turn_and_share_when_there_are_too_few() {
        assert_eq!(parse_list("0-1\n"), [0, 1]);
        assert_eq!(parse_list("0-2,5,7-8"), [0, 1, 2, 5, 7, 8]);
        assert_eq!(format_list(&[0, 3]), "0,3");
        // Bronze on two CPUs: the web host on one, the database on the other.
        let p = place(&[1, 1], &[0, 1]).unwrap();
        assert_eq!(p.cpus, [vec![0], vec![1]]);
        assert!(!p.shared);
        // The load generator beside the database, off the web host's CPU.
        assert_eq!(p.load_generator, [1]);
        // Stone's one host leaves a CPU free.
        assert_eq!(place(&[1], &[0, 1]).unwrap().load_generator, [1]);
        assert_eq!(place(&[2], &[0, 1, 2, 3]).unwrap().load_generator, [2, 3]);
        // The CPU with the fewest hosts' cores.
        assert_eq!(place(&[2, 1], &[0, 1, 2]).unwrap().load_generator, [2]);
        assert_eq!(place(&[1, 1, 1], &[0, 1]).unwrap().load_generator, [1]);
        // Silver's six one-core hosts on two CPUs share them, in turn.
        let p = place(&[1; 6], &[0, 1]).unwrap();
        assert_eq!(p.cpus, [[0], [1], [0], [1], [0], [1]]);
        assert!(p.shared);
        assert_eq!(p.load_generator, [1]);
        // A host wider than the machine gets all of it.
        let p = place(&[4], &[0, 1]).unwrap();
        assert_eq!(place(&[1], &[]), None);
        assert_eq!((p.cpus, p.shared), (vec![vec![0, 1]], true));
    }
}
