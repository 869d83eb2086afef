//! Live runs recorded on disk, so that `lab down` can remove what a killed
//! `lab` left: one JSON file per run in the state folder (`/run/lab` for
//! root, `$XDG_RUNTIME_DIR/lab` otherwise; `LAB_STATE_DIR` overrides),
//! rewritten as each process starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::DeployError;
use crate::process::{self, ProcessId};
use crate::{cgroup, netns};

/// What a run has created, enough to undo it from another process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    pub run: String,
    /// The `lab` process that owns the run; while it lives, `lab down`
    /// leaves the run to it.
    pub owner: ProcessId,
    pub era: String,
    /// The run folder.
    pub folder: PathBuf,
    /// Whether teardown removes the whole folder (a temporary one) or only
    /// [`RunRecord::scratch`] in it (one under `--out`, whose configs and
    /// logs are kept).
    pub remove_folder: bool,
    /// Folders removed even when the run folder is kept: data, sockets.
    pub scratch: Vec<PathBuf>,
    /// Started processes, each its own process group.
    pub processes: Vec<ProcessId>,
    /// The run's cgroup (its hosts' are inside it).
    pub cgroup: Option<PathBuf>,
    /// Its twin on the unified hierarchy, which counts the hosts' CPU time
    /// where the quotas are cgroup v1's.
    #[serde(default)]
    pub accounting: Option<PathBuf>,
    /// Its cpuset, pinning each host to its CPUs.
    #[serde(default)]
    pub cpuset: Option<PathBuf>,
    /// Network namespaces the run created (silver's hosts); removed with
    /// whatever runs inside them.
    #[serde(default)]
    pub netns: Vec<String>,
}

/// The folder of live-run records.
pub fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LAB_STATE_DIR") {
        return PathBuf::from(d);
    }
    // SAFETY: geteuid() cannot fail and touches no memory.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/run/lab");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(x) => PathBuf::from(x).join("lab"),
        // SAFETY: as above.
        None => std::env::temp_dir().join(format!("lab-state-{}", unsafe { libc::geteuid() })),
    }
}

impl RunRecord {
    pub fn path(&self) -> PathBuf {
        dir().join(format!("{}.json", self.run))
    }

    /// Writes the record (whole, through a rename, so a reader never sees
    /// half of it).
    pub fn save(&self) -> Result<(), DeployError> {
        let d = dir();
        std::fs::create_dir_all(&d).map_err(|source| DeployError::State {
            path: d.clone(),
            source,
        })?;
        let tmp = d.join(format!(".{}.json.tmp", self.run));
        let text = serde_json::to_string_pretty(self).expect("a run record serialises");
        std::fs::write(&tmp, text).map_err(DeployError::io(&tmp))?;
        std::fs::rename(&tmp, self.path()).map_err(DeployError::io(self.path()))
    }

    /// Undoes the run from any process: stops its processes, removes its
    /// cgroup, its scratch folders or whole folder, and its record. Goes
    /// on past errors and returns them, so one stuck piece leaves no other.
    pub fn tear_down(&self) -> Vec<DeployError> {
        let mut errors = Vec::new();
        for p in self.processes.iter().rev() {
            process::stop_group(p, Duration::from_secs(3));
        }
        // A helper the record could not hold (mariadb-install-db's
        // bootstrap, if `lab` died during it) still names the run folder.
        for pid in process::naming(&self.folder) {
            if pid != self.owner.pid {
                process::signal(pid, libc::SIGKILL);
            }
        }
        for ns in &self.netns {
            if let Err(e) = netns::delete(ns) {
                errors.push(e);
            }
        }
        for dir in [&self.cgroup, &self.accounting, &self.cpuset].into_iter().flatten() {
            if let Err(e) = cgroup::remove(dir, &[self.owner.pid]) {
                errors.push(e);
            }
        }
        let folders: Vec<&PathBuf> = if self.remove_folder {
            vec![&self.folder]
        } else {
            self.scratch.iter().collect()
        };
        for f in folders {
            if let Err(e) = remove_tree(f) {
                errors.push(e);
            }
        }
        let p = self.path();
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => errors.push(DeployError::Io { path: p, source: e }),
            _ => {}
        }
        errors
    }
}

impl RunRecord {
    /// What of the run is still there, each as a sentence: live processes
    /// (recorded, or any whose command line names the run folder), the
    /// cgroup, the folder (or its scratch parts when it is kept) and the
    /// record. Empty after a complete teardown.
    pub fn leftovers(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.processes {
            if process::group_alive(p.pid) {
                out.push(format!("process group {} ({}) is alive", p.pid, p.name));
            }
        }
        for pid in process::naming(&self.folder)
            .into_iter()
            .filter(|&p| p != self.owner.pid)
        {
            out.push(format!(
                "process {pid} names {} on its command line",
                self.folder.display()
            ));
        }
        for cg in [&self.cgroup, &self.accounting, &self.cpuset].into_iter().flatten() {
            if cg.exists() {
                out.push(format!("cgroup {} exists", cg.display()));
            }
        }
        out.extend(
            self.netns
                .iter()
                .filter(|ns| netns::exists(ns))
                .map(|ns| format!("network namespace {ns} exists")),
        );
        let folders: Vec<&PathBuf> = if self.remove_folder {
            vec![&self.folder]
        } else {
            self.scratch.iter().collect()
        };
        out.extend(
            folders
                .into_iter()
                .filter(|f| f.exists())
                .map(|f| format!("{} exists", f.display())),
        );
        if self.path().exists() {
            out.push(format!("the record {} exists", self.path().display()));
        }
        out
    }
}

fn remove_tree(p: &Path) -> Result<(), DeployError> {
    match std::fs::remove_dir_all(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DeployError::Io {
            path: p.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Every recorded run, live or left behind.
pub fn runs() -> Result<Vec<RunRecord>, DeployError> {
    let d = dir();
    let entries = match std::fs::read_dir(&d) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(DeployError::State { path: d, source }),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&p).map_err(DeployError::io(&p))?;
            match serde_json::from_str::<RunRecord>(&text) {
                Ok(r) => out.push(r),
                Err(err) => {
                    return Err(DeployError::State {
                        path: p,
                        source: std::io::Error::other(format!(
                            "not a run record ({err}); remove it by hand if it is not lab's"
                        )),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| a.run.cmp(&b.run));
    Ok(out)
}

/// What `lab down` did with one recorded run.
#[derive(Debug)]
pub enum Down {
    /// Its owner is dead; what it left was removed (with the errors met).
    Removed { run: RunRecord, errors: Vec<DeployError> },
    /// Its owner still runs; it was left alone.
    Live(RunRecord),
}

/// Removes what runs whose `lab` died left behind; with `all`, live runs
/// too (their owner is sent SIGTERM first, so it tears down itself).
pub fn down(all: bool) -> Result<Vec<Down>, DeployError> {
    let mut out = Vec::new();
    for run in runs()? {
        let owner_alive = process::alive(run.owner.pid, run.owner.start_time);
        if owner_alive && !all {
            out.push(Down::Live(run));
            continue;
        }
        if owner_alive {
            process::signal(run.owner.pid, libc::SIGTERM);
            let deadline = std::time::Instant::now() + Duration::from_secs(15);
            while process::alive(run.owner.pid, run.owner.start_time) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let errors = run.tear_down();
        out.push(Down::Removed { run, errors });
    }
    Ok(out)
}
