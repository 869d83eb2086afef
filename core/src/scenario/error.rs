use std::fmt;
use std::path::PathBuf;

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    // The cause is the error's source, shown once by whoever prints the chain.
    #[error("cannot read scenario {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "scenario {} is larger than {} MiB: a scenario is a hand-written or generated TOML file of a few kilobytes; is this the right file?",
        path.display(),
        (*limit as f64 / 1_048_576.0)
    )]
    TooLarge { path: PathBuf, limit: u64 },
    /// The file was read but is not a valid scenario. Every problem found is
    /// listed, each with its position and key.
    #[error("{}", Problems { file, problems })]
    Invalid { file: PathBuf, problems: Vec<Problem> },
}

impl ScenarioError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            ScenarioError::Read { .. } | ScenarioError::TooLarge { .. } => &[],
            ScenarioError::Invalid { problems, .. } => problems,
        }
    }
}

/// One thing wrong in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    /// The key path, e.g. `eras.bronze.fpm.max_children`; empty for the whole file.
    pub key: String,
    pub message: String,
}

struct Problems<'a> {
    file: &'a PathBuf,
    problems: &'a [Problem],
}

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        if n > 1 {
            writeln!(f, "{} has {n} problems:", self.file.display())?;
        }
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: ", self.file.display(), p.line, p.column)?;
            if !p.key.is_empty() {
                write!(f, "{}: ", p.key)?;
            }
            write!(f, "{}", p.message)?;
        }
        Ok(())
    }
}
