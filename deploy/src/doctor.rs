//! What this machine has and lacks for real deployments: the programs from
//! Debian's packages, their versions, network namespaces and the cgroup
//! CPU controller.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cgroup::CpuControl;
use crate::error::DeployError;

/// A program a real deployment runs, with the Debian package that ships it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    MariaDb,
    MariaDbInstallDb,
    MariaDbClient,
    Nginx,
    PhpFpm,
    /// PHP's mysqli extension, loaded by php-fpm.
    PhpMysql,
    Haproxy,
    Keepalived,
    /// `ip` from iproute2 (network namespaces, for silver).
    Ip,
}

/// What stone and bronze need.
pub const MONOLITH: [Component; 6] = [
    Component::MariaDb,
    Component::MariaDbInstallDb,
    Component::MariaDbClient,
    Component::PhpFpm,
    Component::PhpMysql,
    Component::Nginx,
];

/// What silver needs besides [`MONOLITH`].
pub const SILVER: [Component; 3] = [Component::Haproxy, Component::Keepalived, Component::Ip];

impl Component {
    pub const ALL: [Component; 9] = [
        Component::MariaDb,
        Component::MariaDbInstallDb,
        Component::MariaDbClient,
        Component::Nginx,
        Component::PhpFpm,
        Component::PhpMysql,
        Component::Haproxy,
        Component::Keepalived,
        Component::Ip,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Component::MariaDb => "mariadbd",
            Component::MariaDbInstallDb => "mariadb-install-db",
            Component::MariaDbClient => "mariadb (client)",
            Component::Nginx => "nginx",
            Component::PhpFpm => "php-fpm",
            Component::PhpMysql => "php-mysql (mysqli)",
            Component::Haproxy => "haproxy",
            Component::Keepalived => "keepalived",
            Component::Ip => "ip (iproute2)",
        }
    }

    /// The Debian package to install when it is missing.
    pub fn package(self) -> &'static str {
        match self {
            Component::MariaDb | Component::MariaDbInstallDb => "mariadb-server",
            Component::MariaDbClient => "mariadb-client",
            Component::Nginx => "nginx",
            Component::PhpFpm => "php-fpm",
            Component::PhpMysql => "php-mysql",
            Component::Haproxy => "haproxy",
            Component::Keepalived => "keepalived",
            Component::Ip => "iproute2",
        }
    }

    /// The program's file names, preferred first.
    fn programs(self) -> Vec<String> {
        match self {
            Component::MariaDb => vec!["mariadbd".into(), "mysqld".into()],
            Component::MariaDbInstallDb => vec!["mariadb-install-db".into(), "mysql_install_db".into()],
            Component::MariaDbClient => vec!["mariadb".into(), "mysql".into()],
            Component::Nginx => vec!["nginx".into()],
            // Debian names the binary by PHP's version (php-fpm8.2).
            Component::PhpFpm | Component::PhpMysql => php_fpm_names(),
            Component::Haproxy => vec!["haproxy".into()],
            Component::Keepalived => vec!["keepalived".into()],
            Component::Ip => vec!["ip".into()],
        }
    }

    /// Where the program is, or an error naming the package to install.
    pub fn find(self) -> Result<PathBuf, DeployError> {
        let names = self.programs();
        let found = names.iter().find_map(|n| which(n));
        let path = found.ok_or_else(|| DeployError::Missing {
            what: self.name(),
            looked_for: names.join(", "),
            package: self.package(),
        })?;
        if self == Component::PhpMysql && !php_has_mysqli(&path) {
            return Err(DeployError::Missing {
                what: self.name(),
                looked_for: format!("the mysqli module in `{} -m`", path.display()),
                package: self.package(),
            });
        }
        Ok(path)
    }

    /// The program's version line, as it prints it.
    pub fn version(self, path: &Path) -> String {
        match self {
            // It has no version flag: any argument it does not know starts
            // an installation into the system's data directory.
            Component::MariaDbInstallDb => return "(ships with mariadbd)".into(),
            Component::PhpMysql => {
                return "mysqli loaded".into();
            }
            _ => {}
        }
        let args: &[&str] = match self {
            Component::Nginx | Component::PhpFpm | Component::PhpMysql | Component::Haproxy => &["-v"],
            Component::Ip => &["-V"],
            _ => &["--version"],
        };
        let out = Command::new(path).args(args).output();
        let Ok(out) = out else {
            return "(does not run)".into();
        };
        // nginx and keepalived print their version on stderr.
        let text = [out.stdout, out.stderr].concat();
        String::from_utf8_lossy(&text)
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string()
    }
}

/// `php-fpm`, then every versioned `php-fpmX.Y` in the usual folders,
/// newest first.
fn php_fpm_names() -> Vec<String> {
    let mut versioned: Vec<String> = SEARCH_DIRS
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("php-fpm") && n.len() > "php-fpm".len())
        .collect();
    versioned.sort_by_key(|n| std::cmp::Reverse(version_key(n)));
    versioned.dedup();
    let mut names = vec!["php-fpm".to_string()];
    names.extend(versioned);
    names
}

fn version_key(name: &str) -> Vec<u32> {
    name.trim_start_matches("php-fpm")
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn php_has_mysqli(fpm: &Path) -> bool {
    Command::new(fpm)
        .arg("-m")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == "mysqli"))
        .unwrap_or(false)
}

/// Root's PATH on a fresh machine may lack the sbin folders, where Debian
/// puts the daemons.
const SEARCH_DIRS: [&str; 4] = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// A program by name, on the PATH or in the folders Debian puts daemons in.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(SEARCH_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// One line of `lab doctor`.
#[derive(Clone, Debug)]
pub struct Finding {
    pub what: String,
    /// What was found (a path and version), or what is missing and how to get it.
    pub detail: String,
    pub ok: bool,
    /// Whether stone and bronze need it (the others are silver's).
    pub needed_now: bool,
}

/// What this machine has and lacks, in the order `lab doctor` prints it.
pub fn examine() -> Vec<Finding> {
    let mut out: Vec<Finding> = Component::ALL
        .iter()
        .map(|&c| {
            let needed_now = !matches!(c, Component::Haproxy | Component::Keepalived | Component::Ip);
            match c.find() {
                Ok(path) => Finding {
                    what: c.name().into(),
                    detail: format!("{} — {}", path.display(), c.version(&path)),
                    ok: true,
                    needed_now,
                },
                Err(e) => Finding {
                    what: c.name().into(),
                    detail: e.to_string(),
                    ok: false,
                    needed_now,
                },
            }
        })
        .collect();
    out.push(netns_finding());
    out.push(match CpuControl::detect() {
        Ok(ctl) => Finding {
            what: "cgroup cpu".into(),
            detail: ctl.describe(),
            ok: true,
            needed_now: true,
        },
        Err(why) => Finding {
            what: "cgroup cpu".into(),
            detail: format!("{why}; hosts' cores will NOT be enforced"),
            ok: false,
            needed_now: true,
        },
    });
    out
}

/// Network namespaces need `ip` and the right to create them (root).
fn netns_finding() -> Finding {
    let what = "ip netns".to_string();
    let Ok(ip) = Component::Ip.find() else {
        return Finding {
            what,
            detail: "needs `ip`: install iproute2".into(),
            ok: false,
            needed_now: false,
        };
    };
    // Creating and deleting a namespace is the only honest test of the right to.
    let name = format!("lab-doctor-{}", std::process::id());
    let added = Command::new(&ip).args(["netns", "add", &name]).output();
    let ok = added.as_ref().is_ok_and(|o| o.status.success());
    if ok {
        let _ = Command::new(&ip).args(["netns", "delete", &name]).output();
    }
    Finding {
        what,
        detail: if ok {
            "can create network namespaces (for silver)".into()
        } else {
            let why = added
                .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
                .unwrap_or_else(|e| e.to_string());
            format!("cannot create network namespaces: {why} (run as root)")
        },
        ok,
        needed_now: false,
    }
}
