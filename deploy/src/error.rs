//! What can go wrong bringing an era up, each message saying what to do.

use std::path::PathBuf;

/// An error of a real deployment. Every variant's message tells the person
/// at the terminal what to change or install.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(
        "{what} is not installed (looked for {looked_for}); install the Debian package `{package}` (scripts/install-real.sh installs every real component)"
    )]
    Missing {
        what: &'static str,
        looked_for: String,
        package: &'static str,
    },
    #[error("era \"{era}\" ({model}) cannot be deployed for real yet: {why}")]
    Unsupported {
        era: String,
        model: &'static str,
        why: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the run folder {path} would put unix sockets {len} bytes deep (at most {max}); choose a shorter --out")]
    PathTooLong { path: PathBuf, len: usize, max: usize },
    #[error("{what} did not start within {secs} s; its log {log} ends with:\n{tail}")]
    StartTimeout {
        what: String,
        secs: u64,
        log: PathBuf,
        tail: String,
    },
    #[error("{what} exited during start-up ({status}); its log {log} ends with:\n{tail}")]
    Exited {
        what: String,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("`{command}` failed ({status}): {output}")]
    Command {
        command: String,
        status: String,
        output: String,
    },
    #[error(
        "cgroup {path}: {source}; run as root on a machine whose cgroup cpu controller is writable (`lab doctor` tells)"
    )]
    Cgroup {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the state folder {path} of live runs is unusable: {source}")]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("interrupted while bringing the era up; everything started so far has been torn down")]
    Interrupted,
}

impl DeployError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DeployError {
        let path = path.into();
        move |source| DeployError::Io { path, source }
    }
}

/// The last lines of a log file, for an error message.
pub(crate) fn tail(path: &std::path::Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            let from = all.len().saturating_sub(lines);
            if all.is_empty() {
                "(empty)".into()
            } else {
                all[from..].join("\n")
            }
        }
        Err(e) => format!("(unreadable: {e})"),
    }
}
