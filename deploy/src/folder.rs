//! The run folder: every file a real run writes, in one folder of mode 0700.
//!
//! ```text
//! <run>/etc/    generated configuration: mariadb.cnf, <fpm node>.conf, <nginx node>.conf
//! <run>/app/    the generated PHP application, one folder per FPM node
//! <run>/log/    every daemon's log (MariaDB's error and slow-query logs, FPM's, nginx's)
//! <run>/run/    pid files and unix sockets            (scratch: removed at teardown)
//! <run>/data/   MariaDB's data directory              (scratch)
//! <run>/tmp/    nginx's and MariaDB's temporary folders (scratch)
//! ```
//!
//! A folder given with `--out` keeps `etc/`, `app/` and `log/` after the run
//! for inspection; a temporary one is removed whole.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::DeployError;

/// `sockaddr_un` holds 108 bytes, the terminating NUL included.
const MAX_SOCKET_PATH: usize = 107;
/// The longest socket name the run writes under `run/`.
const LONGEST_SOCKET: usize = 40;

/// The run folder and its parts.
#[derive(Clone, Debug)]
pub struct RunFolder {
    pub root: PathBuf,
    /// Removed whole at teardown (not under `--out`).
    pub temporary: bool,
}

impl RunFolder {
    /// `out` if given (created if need be), else a new folder in the
    /// temporary directory named after the run.
    pub fn create(out: Option<&Path>, run: &str) -> Result<RunFolder, DeployError> {
        let (root, temporary) = match out {
            Some(o) => (absolute(o)?, false),
            None => (std::env::temp_dir().join(format!("lab-{run}")), true),
        };
        let deep = root.join("run").as_os_str().len() + 1 + LONGEST_SOCKET;
        if deep > MAX_SOCKET_PATH {
            return Err(DeployError::PathTooLong {
                path: root,
                len: deep,
                max: MAX_SOCKET_PATH,
            });
        }
        if !temporary {
            for scratch in ["run", "data"] {
                let p = root.join(scratch);
                if p.exists() {
                    return Err(DeployError::Io {
                        path: p,
                        source: std::io::Error::other(
                            "left by a run that is still going or was killed; `lab down` removes what a killed run left",
                        ),
                    });
                }
            }
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&root)
            .map_err(DeployError::io(&root))?;
        // An existing --out folder keeps its mode unless we tighten it.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).map_err(DeployError::io(&root))?;
        let f = RunFolder { root, temporary };
        for d in ["etc", "app", "log", "run", "data", "tmp"] {
            let p = f.root.join(d);
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&p)
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .map_err(DeployError::io(&p))?;
        }
        Ok(f)
    }

    pub fn etc(&self, name: &str) -> PathBuf {
        self.root.join("etc").join(name)
    }
    pub fn app(&self) -> PathBuf {
        self.root.join("app")
    }
    pub fn log(&self, name: &str) -> PathBuf {
        self.root.join("log").join(name)
    }
    pub fn run(&self, name: &str) -> PathBuf {
        self.root.join("run").join(name)
    }
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The folders teardown removes even when the run folder is kept.
    pub fn scratch(&self) -> Vec<PathBuf> {
        vec![self.root.join("run"), self.data(), self.tmp()]
    }

    /// Writes a generated file, readable by its owner only.
    pub fn write(&self, path: &Path, text: &str) -> Result<(), DeployError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(DeployError::io(path))?;
        f.write_all(text.as_bytes()).map_err(DeployError::io(path))
    }
}

fn absolute(p: &Path) -> Result<PathBuf, DeployError> {
    std::path::absolute(p).map_err(DeployError::io(p))
}

/// A secret for MariaDB's application user: 24 hex digits from the kernel's
/// random source.
pub fn password() -> Result<String, DeployError> {
    use std::io::Read;
    let mut b = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(DeployError::io("/dev/urandom"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_out_folder_is_0700_and_keeps_nothing_scratch_from_before() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("o");
        let f = RunFolder::create(Some(&out), "x").unwrap();
        let mode = std::fs::metadata(&f.root).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(!f.temporary);
        // A second run into the same folder while `run/` is there is refused.
        let again = RunFolder::create(Some(&out), "y").unwrap_err();
        assert!(again.to_string().contains("lab down"), "{again}");
    }

    #[test]
    fn a_folder_too_deep_for_unix_sockets_is_refused() {
        let long = PathBuf::from("/tmp").join("d".repeat(80));
        let e = RunFolder::create(Some(&long), "x").unwrap_err();
        assert!(e.to_string().contains("shorter --out"), "{e}");
        assert!(!long.exists());
    }

    #[test]
    fn passwords_differ() {
        let (a, b) = (password().unwrap(), password().unwrap());
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
    }
}
