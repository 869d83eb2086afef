//! `lab`: a laboratory for web architectures.
//!
//! `lab run SCENARIO` simulates each era of a scenario in parallel, prints a
//! summary table and writes a report folder; `lab check SCENARIO` validates a
//! scenario and says what it describes.

mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "lab",
    version,
    about = "A laboratory for web architectures: simulate how a web shop copes, era by era."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario's eras, print a summary and write a report
    Run(RunArgs),
    /// Validate a scenario file and summarise what it describes
    Check {
        /// The scenario file (TOML)
        scenario: PathBuf,
    },
}

#[derive(Args)]
pub struct RunArgs {
    /// The scenario file (TOML)
    pub scenario: PathBuf,
    /// Report folder [default: out/<scenario name>]
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Run only this era (by its label in the scenario); repeat for several
    #[arg(long = "era", value_name = "ERA")]
    pub eras: Vec<String>,
    /// Exit with status 3 when an era misses the scenario's SLO
    #[arg(long)]
    pub check_slo: bool,
    /// Override the scenario's seed
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the scenario's duration, e.g. 50m (the rate profile's last rate holds)
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<u64>,
    /// Print nothing but errors
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_duration(s: &str) -> Result<u64, String> {
    lab_core::scenario::units::parse_duration(s)
}

/// Exit status when `--check-slo` is given and an SLO fails.
const SLO_FAILED: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args).map(|slo_ok| if slo_ok || !args.check_slo { 0 } else { SLO_FAILED }),
        Command::Check { scenario } => run::check(&scenario).map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
