//! `formcheck summarize`: merges the output folders of several `analyze` runs (shards of one
//! batch) into one summary.csv and index.html.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SummarizeArgs {
    /// Output folders of `analyze` runs (shards); clip folders are read from each.
    #[arg(required = true)]
    pub outs: Vec<PathBuf>,
    /// Where to write the merged summary.csv and index.html (clip folders from other outputs
    /// are linked or copied in). Default: the output folder, when only one is given.
    #[arg(short = 'o', long = "out")]
    pub out_dir: Option<PathBuf>,
    /// No notes and no result line; errors are still printed.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: &SummarizeArgs) -> anyhow::Result<ExitCode> {
    let dest = match (&args.out_dir, args.outs.as_slice()) {
        (Some(d), _) => d.clone(),
        (None, [only]) => only.clone(),
        (None, _) => anyhow::bail!("several output folders given: say where the merged summary goes with -o DIR"),
    };
    let found = crate::batch::summarize::gather(&args.outs)?;
    if !args.quiet {
        for note in &found.notes {
            eprintln!("formcheck: {note}");
        }
    }
    let listings = crate::batch::summarize::write_merged(&found, &dest)?;
    let failed = listings.iter().filter(|l| l.failed()).count();
    for l in listings.iter().filter(|l| l.failed()) {
        if let Err(error) = &l.result {
            eprintln!("formcheck: {}: {error}", l.input);
        }
    }
    if !args.quiet {
        println!(
            "{} clip{} ({failed} failed) -> {}",
            listings.len(),
            if listings.len() == 1 { "" } else { "s" },
            dest.join("index.html").display()
        );
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
