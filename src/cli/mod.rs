//! The command line, one file per command: `analyze`, `report`, `summarize`, `serve` (and
//! `config` here).
//! Parses arguments into plain structs, runs the command, and turns its outcome into lines of
//! output and the process's exit code; `progress` draws the bars. `anyhow` lives here only; the
//! library returns typed errors.
//!
//! May use every stage; nothing uses it.

mod analyze;
mod progress;
mod report;
mod serve;
mod summarize;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::analysis::config::{Config, DEFAULT_TOML};
pub use analyze::AnalyzeArgs;
pub use report::ReportArgs;
pub use serve::ServeArgs;
pub use summarize::SummarizeArgs;

#[derive(Debug, Parser)]
#[command(name = "formcheck", version, about = "Rep-by-rep deadlift form analysis from a side-view video")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse clips: track the lifter with BlazePose, split the set into reps and write
    /// OUT/<clip>/{poses.json, report.json, reps.csv}.
    Analyze(AnalyzeArgs),
    /// Re-run the analysis from saved poses.json files (no video, no model): seconds, for
    /// re-tuning thresholds. Writes report.json and reps.csv beside each poses.json (or in --out).
    Report(ReportArgs),
    /// Merge the outputs of several `analyze` runs (shards of one batch) into one summary.csv and
    /// index.html, the same as a single run over all the clips would write.
    Summarize(SummarizeArgs),
    /// A web page for uploading clips from a phone and following athletes: analyses each upload
    /// like `analyze`, keeps clips and results in --data, and serves the reports and videos.
    Serve(ServeArgs),
    /// Configuration: `formcheck config print-default` prints every threshold with its unit.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the default configuration (TOML, with comments).
    PrintDefault,
}

/// Thresholds: defaults < --config FILE < --set KEY=VALUE.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// A TOML file with the thresholds to change (see `formcheck config print-default`).
    #[arg(long = "config", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Change one threshold, e.g. `--set faults.rounded_lower_back.fault_deg=20` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Diameter of the near plate in mm (450 for competition and bumper plates); sets the scale
    /// of every cm and m/s figure. Same as `--set bar.plate_diameter_mm=MM`.
    #[arg(long, value_name = "MM", value_parser = positive_mm)]
    pub plate_diameter_mm: Option<f64>,
}

fn positive_mm(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (50.0..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a plate diameter in mm (50-1000)")),
    }
}

/// Runs the command line and returns the process exit code: 0 all clips done, 1 some failed,
/// 2 usage error (from clap) or nothing could start.
pub fn main() -> ExitCode {
    // First, while this is the only thread (it sets environment variables).
    crate::capture::video::quiet_backend_logs();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => analyze::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Summarize(args) => summarize::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Config { action: ConfigAction::PrintDefault } => {
            print!("{DEFAULT_TOML}");
            Ok(ExitCode::SUCCESS)
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("formcheck: error: {e:#}");
        ExitCode::from(2)
    })
}

fn load_config(args: &ConfigArgs) -> anyhow::Result<Config> {
    let mut sets = args.sets.clone();
    if let Some(mm) = args.plate_diameter_mm {
        sets.push(format!("bar.plate_diameter_mm={mm:?}"));
    }
    Ok(Config::load(args.file.as_deref(), &sets)?)
}
