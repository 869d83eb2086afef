//! `lab`: a laboratory for web architectures.
//!
//! `lab run SCENARIO` simulates each era of a scenario in parallel, prints a
//! summary table and writes a report folder; `lab check SCENARIO` validates a
//! scenario, says what it describes, lists each era's effective settings
//! with their sources and warns about risky ones; `lab drive SCENARIO --target URL`
//! sends the scenario's traffic to a running server and writes the same
//! report from what the clients measured. `lab doctor`, `lab up` and
//! `lab down` deploy an era for real on this machine (lab-deploy).

mod calibrate;
mod compare;
mod drive;
mod gauges;
mod measure;
mod plan;
mod real;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "lab",
    version,
    about = "A laboratory for web architectures: simulate how a web shop copes, era by era, and deploy it for real."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario's eras, print a summary and write a report
    Run(RunArgs),
    /// Find each era's capacity, its bottleneck and the cheapest configuration that meets a target
    Plan(PlanArgs),
    /// Send a scenario's traffic to a running server (goose) and report what the clients measured
    Drive(DriveArgs),
    /// Validate a scenario file, summarise it, show each era's effective
    /// settings (with where every default comes from) and warn about risky ones
    Check {
        /// The scenario file (TOML)
        scenario: PathBuf,
        /// Show only this era (by its label in the scenario); repeat for several
        #[arg(long = "era", value_name = "ERA")]
        eras: Vec<String>,
    },
    /// Deploy an era for real, drive it with the scenario's traffic and faults, tear it down, report
    Real(RealArgs),
    /// Simulate an era and run it for real; compare them against pass/fail bands
    Validate(ValidateArgs),
    /// Measure each endpoint's CPU on the real stack and write a calibrated scenario
    Calibrate(CalibrateArgs),
    /// Say what this machine has and lacks for real deployments
    Doctor,
    /// Bring an era up for real, print its URL, keep it up until Ctrl-C, then tear down
    Up {
        /// The scenario file (TOML)
        scenario: PathBuf,
        /// The era to bring up (its label in the scenario)
        #[arg(long)]
        era: String,
        /// Run folder, kept after teardown with its configs and logs [default: a temporary one, removed]
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Remove what killed `lab up` runs left (processes, cgroups, run folders)
    Down {
        /// Also stop runs whose `lab` is still alive
        #[arg(long)]
        all: bool,
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
    /// Override the scenario's seed (a whole number from 0)
    #[arg(long, allow_negative_numbers = true, value_parser = parse_seed)]
    pub seed: Option<u64>,
    /// Override the scenario's duration, e.g. 50m (the rate profile's last rate holds)
    #[arg(long, allow_hyphen_values = true, value_parser = parse_duration)]
    pub duration: Option<u64>,
    /// Run every era with N seeds (the scenario's and the next ones), in
    /// parallel, and report means with 95 % confidence intervals
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=MAX_REPLICATIONS as i64))]
    pub replications: u32,
    /// Print nothing but errors
    #[arg(long, short)]
    pub quiet: bool,
}

/// The most replications a run takes: enough for an interval a tenth of
/// the spread; more belongs in several runs.
pub const MAX_REPLICATIONS: u32 = 100;

#[derive(Args)]
pub struct PlanArgs {
    /// The scenario file (TOML), with an [slo] to plan for
    pub scenario: PathBuf,
    /// Plan only this era (by its label in the scenario); repeat for several
    #[arg(long = "era", value_name = "ERA")]
    pub eras: Vec<String>,
    /// Report folder [default: out/<scenario name>-plan]
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// The peak arrival rate the cheapest configuration must carry, e.g.
    /// 5000/s (the profile scaled to peak there) [default: [plan] target,
    /// else the scenario's own traffic]
    #[arg(long, allow_hyphen_values = true, value_parser = parse_target)]
    pub target: Option<f64>,
    /// Plan for a steady rate at the profile's peak instead of the profile
    #[arg(long)]
    pub steady: bool,
    /// Seeds run at each load and configuration [default: [plan] replications, else 5]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_REPLICATIONS as i64))]
    pub replications: Option<u32>,
    /// The capacity search stops once its interval is narrower than this
    /// share of it, e.g. 5% [default: [plan] tolerance, else 5%]
    #[arg(long, allow_hyphen_values = true, value_parser = parse_tolerance)]
    pub tolerance: Option<f64>,
    /// Find the capacity only, not the cheapest configuration
    #[arg(long)]
    pub capacity_only: bool,
    /// Print every load and configuration run, with its outcome
    #[arg(long, short, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Override the scenario's seed (a whole number from 0)
    #[arg(long, allow_negative_numbers = true, value_parser = parse_seed)]
    pub seed: Option<u64>,
    /// Print nothing but errors
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct DriveArgs {
    /// The scenario file (TOML): its traffic, endpoints, duration and SLO
    pub scenario: PathBuf,
    /// The server, such as http://127.0.0.1:8080 (loopback, or an address given with --allow)
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// Also allow this address as a target (the lab's own network namespaces); repeatable
    #[arg(long, value_name = "ADDR", value_parser = drive::parse_addr)]
    pub allow: Vec<std::net::IpAddr>,
    /// Override the scenario's duration, e.g. 30s
    #[arg(long, allow_hyphen_values = true, value_parser = parse_duration)]
    pub duration: Option<u64>,
    /// Report folder [default: out/<scenario name>-drive]
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Label the record with this era of the scenario (the one the server runs)
    #[arg(long, value_name = "ERA")]
    pub era: Option<String>,
    /// Open model: goose users taking arrivals [default: the peak rate × 1 s, 16 to 2,000]
    #[arg(long, value_name = "N")]
    pub users: Option<usize>,
    /// Exit with status 3 when the run misses the scenario's SLO
    #[arg(long)]
    pub check_slo: bool,
    /// Print nothing but errors
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct RealArgs {
    /// The scenario file (TOML)
    pub scenario: PathBuf,
    /// The era to deploy (its label in the scenario): stone, bronze or silver models
    #[arg(long)]
    pub era: String,
    /// Report folder; the deployment's configs and logs go to its `deployment/`
    /// [default: out/<scenario name>-real, or -validate]
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Override the scenario's duration, e.g. 30s
    #[arg(long, allow_hyphen_values = true, value_parser = parse_duration)]
    pub duration: Option<u64>,
    /// Open model: goose users taking arrivals [default: the peak rate × the client's timeout
    /// (at most 10 s), 16 to 2,000]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub users: Option<u32>,
    /// Print nothing but errors
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub real: RealArgs,
    /// Calibrate the era on the very deployment that is then validated, just
    /// before its run (as `lab calibrate` does), and simulate the calibrated
    /// scenario: the machine's drift between a calibration and a later run no
    /// longer counts against the model. The calibrated file goes to the report
    /// folder
    #[arg(long)]
    pub calibrate: bool,
    /// With --calibrate: seconds each endpoint, and then the mix at load, is driven
    #[arg(long, default_value_t = 10, value_name = "SECONDS", requires = "calibrate",
          value_parser = clap::value_parser!(u64).range(2..=600))]
    pub calibrate_seconds: u64,
}

#[derive(Args)]
pub struct CalibrateArgs {
    /// The scenario file (TOML)
    pub scenario: PathBuf,
    /// The era to deploy and measure (its label in the scenario)
    #[arg(long)]
    pub era: String,
    /// The calibrated scenario to write [default: <scenario>.calibrated.toml beside it]
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Requests per second while an endpoint is measured [default: 20 % of the
    /// busiest host's (or the PHP workers') modelled capacity, 0.5 to 100]
    #[arg(long, allow_hyphen_values = true, value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Requests per second while the scenario's mix is measured at load, to
    /// tell the cold cost of a request on an idle web host from the warm one
    /// [default: 70 % of the capacity the endpoints' own measurements give, 0.5 to 2000]
    #[arg(long, allow_hyphen_values = true, value_parser = parse_rate)]
    pub load_rate: Option<f64>,
    /// Seconds each endpoint, and then the mix at load, is driven
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=600))]
    pub seconds: u64,
    /// Print nothing but errors and the result
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let r = lab_core::scenario::units::parse_rate(s)?;
    if r > 0.0 && r <= 10_000.0 {
        Ok(r)
    } else {
        Err("a calibration rate is above 0/s and at most 10000/s".into())
    }
}

fn parse_target(s: &str) -> Result<f64, String> {
    let r = lab_core::scenario::units::parse_rate(s)?;
    if r > 0.0 && r <= lab_core::scenario::limits::MAX_RATE_PER_SECOND {
        Ok(r)
    } else {
        Err(format!(
            "a target is a peak arrival rate above 0/s and at most {:.0e}/s",
            lab_core::scenario::limits::MAX_RATE_PER_SECOND
        ))
    }
}

fn parse_tolerance(s: &str) -> Result<f64, String> {
    use lab_core::scenario::PlanSpec;
    let t = lab_core::scenario::units::parse_percent(s)?;
    if (PlanSpec::MIN_TOLERANCE..=PlanSpec::MAX_TOLERANCE).contains(&t) {
        Ok(t)
    } else {
        Err(format!(
            "a tolerance is from {}% to {}% of the capacity",
            PlanSpec::MIN_TOLERANCE * 100.0,
            PlanSpec::MAX_TOLERANCE * 100.0
        ))
    }
}

fn parse_duration(s: &str) -> Result<u64, String> {
    match lab_core::scenario::units::parse_duration(s)? {
        0 => Err("a run must be longer than 0s".into()),
        d => Ok(d),
    }
}

fn parse_seed(s: &str) -> Result<u64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("a seed is a whole number from 0 to {}", u64::MAX))
}

/// Exit status when `--check-slo` is given and an SLO fails.
const SLO_FAILED: u8 = 3;
/// Exit status of `lab validate` when a figure is outside its band.
const BANDS_MISSED: u8 = 4;
/// Exit status of a bad command line, as clap gives for what it checks.
const USAGE: u8 = 2;

/// A command-line value that clap accepted but the scenario rules out
/// (an unknown era, a duration its windows do not fit): exit status 2 like
/// any other bad command line.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Run(_) | Command::Check { .. } | Command::Plan(_)) {
        // `lab check x.toml | head` should stop quietly as other tools do,
        // not panic on a closed stdout. Only the commands that open no
        // socket: a peer closing one must stay an error, not a signal.
        // SAFETY: restoring a signal's default disposition before any
        // thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let result = match cli.command {
        Command::Run(args) => run::run(&args).map(|slo_ok| if slo_ok || !args.check_slo { 0 } else { SLO_FAILED }),
        Command::Plan(args) => plan::plan(&args).map(|()| 0),
        Command::Drive(args) => {
            drive::drive(&args).map(|slo_ok| if slo_ok || !args.check_slo { 0 } else { SLO_FAILED })
        }
        Command::Check { scenario, eras } => run::check(&scenario, &eras).map(|()| 0),
        Command::Real(args) => compare::real(&args).map(|_slo_ok| 0),
        Command::Validate(args) => compare::validate(&args).map(|ok| if ok { 0 } else { BANDS_MISSED }),
        Command::Calibrate(args) => calibrate::calibrate(&args).map(|()| 0),
        Command::Doctor => real::doctor().map(|()| 0),
        Command::Up { scenario, era, out } => real::up(&scenario, &era, out).map(|()| 0),
        Command::Down { all } => real::down(all).map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
