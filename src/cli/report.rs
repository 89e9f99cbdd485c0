//! `formcheck report`: the analysis again from saved pose tracks, in seconds, for re-tuning
//! thresholds without the video or the models.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{load_config, ConfigArgs};
use crate::analysis;
use crate::analysis::report::Report;
use crate::batch;
use crate::batch::run::write_report;
use crate::posetrack::PoseTrack;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// poses.json files written by `formcheck analyze`.
    #[arg(required = true)]
    pub poses: Vec<PathBuf>,
    /// Write into OUT/<clip>/ instead of beside each poses.json.
    #[arg(short = 'o', long = "out")]
    pub out_dir: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// No summaries; errors are still printed.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let cfg = load_config(&args.config)?;
    let mut failed = 0usize;
    for path in &args.poses {
        let outcome = (|| -> anyhow::Result<Report> {
            let track = PoseTrack::load(path)?;
            let report = analysis::analyze(&track, &cfg);
            let dir = match &args.out_dir {
                Some(out) => out.join(batch::safe_name(Path::new(&track.clip))),
                None => path.parent().map(Path::to_path_buf).unwrap_or_default(),
            };
            write_report(&dir, &report, &[])?;
            Ok(report)
        })();
        match outcome {
            Ok(report) if !args.quiet => print!("{}", report.summary()),
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                eprintln!("formcheck: {}: {e:#}", path.display());
            }
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
