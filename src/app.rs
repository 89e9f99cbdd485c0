//! The command line: parses arguments, runs clips one after another, shows progress on a terminal,
//! and turns each clip's outcome into a line of output and the process's exit code.
//! `anyhow` lives here only; the library returns typed errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::analysis;
use crate::config::{Config, DEFAULT_TOML};
use crate::output::write_atomic;
use crate::pipeline::{self, ModelPaths, PoseEngine, Progress, Timings};
use crate::pose::{self, ModelSize, TrackerConfig};
use crate::posetrack::PoseTrack;
use crate::report::Report;

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
}

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

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Video files (MP4/MOV, H.264 or HEVC).
    #[arg(required = true)]
    pub clips: Vec<PathBuf>,
    /// Output folder; each clip gets a sub-folder named after it.
    #[arg(short = 'o', long = "out", default_value = "out")]
    pub out_dir: PathBuf,
    /// BlazePose landmark model size (from the models folder).
    #[arg(long, value_enum, default_value_t = ModelSize::Full)]
    pub model_size: ModelSize,
    /// A BlazePose landmark model file to use instead of --model-size.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The BlazePose person-detector model file.
    #[arg(long)]
    pub detector: Option<PathBuf>,
    /// ONNX Runtime library (default: $FORMCHECK_ORT_LIB, then the project's .ort/ folder).
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
    /// Divide every timestamp by this: 8 for a 240 fps capture exported as a 30 fps video.
    #[arg(long, default_value_t = 1.0)]
    pub slowmo_factor: f64,
    /// Tracking parameter overrides for experiments: `drift_ratio=0`, `refine_from_heatmap=false`,
    /// `smooth_roi=false`, `min_presence=0.5`... (repeatable).
    #[arg(long = "tracker", value_name = "KEY=VALUE", hide = true)]
    pub tracker_overrides: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print per-stage times and frames/s for each clip.
    #[arg(long)]
    pub timings: bool,
    /// No progress bar and no per-clip lines; errors are still printed.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs the command line and returns the process exit code: 0 all clips done, 1 some failed,
/// 2 usage error (from clap) or nothing could start.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => analyze(&args),
        Command::Report(args) => report(&args),
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
    Ok(Config::load(args.file.as_deref(), &args.sets)?)
}

/// Writes a clip's report files into `dir`.
fn write_report(dir: &Path, report: &Report) -> anyhow::Result<()> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
    };
    write("report.json", report.to_json())?;
    write("reps.csv", report.to_csv())
}

fn report(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let cfg = load_config(&args.config)?;
    let mut failed = 0usize;
    for path in &args.poses {
        let outcome = (|| -> anyhow::Result<Report> {
            let track = PoseTrack::load(path)?;
            let report = analysis::analyze(&track, &cfg);
            let dir = match &args.out_dir {
                Some(out) => out.join(clip_folder_name(Path::new(&track.clip))),
                None => path.parent().map(Path::to_path_buf).unwrap_or_default(),
            };
            write_report(&dir, &report)?;
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

fn analyze(args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let env = crate::runtime::environment(args.ort_lib.as_deref())?;
    let models_dir = pose::default_models_dir();
    let paths = ModelPaths {
        landmark: args.model.clone().unwrap_or_else(|| models_dir.join(args.model_size.file_name())),
        detector: args.detector.clone().unwrap_or_else(|| models_dir.join(pose::DETECTOR_FILE)),
    };
    let cfg = load_config(&args.config)?;
    let tracker = tracker_config(&args.tracker_overrides)?;
    let mut engine = PoseEngine::load(&env, &paths, tracker).context("loading the pose models")?;
    let mut failed = 0usize;
    for clip in &args.clips {
        match analyze_clip(&mut engine, clip, args, &cfg) {
            Ok((out, found, timings, report)) => {
                if !args.quiet {
                    let pct = 100.0 * found as f64 / timings.frames.max(1) as f64;
                    println!(
                        "{}: {} frames, lifter found on {} ({pct:.1} %), {:.1} frames/s -> {}",
                        clip.display(),
                        timings.frames,
                        found,
                        timings.fps(),
                        out.display()
                    );
                }
                if args.timings {
                    print_timings(&timings);
                }
                if !args.quiet {
                    print!("{}", report.summary());
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("formcheck: {}: {e:#}", clip.display());
            }
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn tracker_config(overrides: &[String]) -> anyhow::Result<TrackerConfig> {
    let mut cfg = TrackerConfig::default();
    for o in overrides {
        let (key, value) = o.split_once('=').with_context(|| format!("--tracker {o}: expected KEY=VALUE"))?;
        let num = || value.parse::<f64>().with_context(|| format!("--tracker {key}: not a number: {value}"));
        let flag = || value.parse::<bool>().with_context(|| format!("--tracker {key}: not true/false: {value}"));
        match key {
            "min_detection_score" => cfg.min_detection_score = num()?,
            "min_presence" => cfg.min_presence = num()?,
            "roi_scale" => cfg.roi_scale = num()?,
            "drift_ratio" => cfg.drift_ratio = num()?,
            "reacquire_window_s" => cfg.reacquire_window_s = num()?,
            "reacquire_max_shift_scales" => cfg.reacquire_max_shift_scales = num()?,
            "confident_presence" => cfg.confident_presence = num()?,
            "confident_roi_max_age_s" => cfg.confident_roi_max_age_s = num()?,
            "refine_from_heatmap" => cfg.refine_from_heatmap = flag()?,
            "smooth_roi" => cfg.smooth_roi = flag()?,
            _ => anyhow::bail!("--tracker: unknown key '{key}'"),
        }
    }
    Ok(cfg)
}

/// Output folder name for a clip: its file stem, or "clip" when it has none.
pub fn clip_folder_name(clip: &Path) -> String {
    clip.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "clip".into())
}

fn analyze_clip(
    engine: &mut PoseEngine,
    clip: &Path,
    args: &AnalyzeArgs,
    cfg: &Config,
) -> anyhow::Result<(PathBuf, usize, Timings, Report)> {
    let reader = pipeline::open_clip(clip, args.slowmo_factor)?;
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(reader.info().frames_declared) };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} frames {per_sec} eta {eta}")
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(clip_folder_name(clip));
    let on_progress = |p: Progress| {
        if p.frames_done > bar.length().unwrap_or(0) {
            bar.set_length(p.frames_done);
        }
        bar.set_position(p.frames_done);
    };
    let result = pipeline::track_clip(engine, reader, &on_progress);
    bar.finish_and_clear();
    let (track, timings) = result?;
    let dir = args.out_dir.join(clip_folder_name(clip));
    let report = analysis::analyze(&track, cfg);
    track.save(&dir.join("poses.json"))?;
    write_report(&dir, &report)?;
    Ok((dir, track.frames_with_pose(), timings, report))
}

fn print_timings(t: &Timings) {
    let per_frame_ms = |s: f64| 1000.0 * s / t.frames.max(1) as f64;
    println!("  end to end      {:8.1} frames/s  ({:.2} s for {} frames)", t.fps(), t.wall_s, t.frames);
    println!("  decode thread   {:8.2} ms/frame", per_frame_ms(t.decode_s));
    println!("  pose thread     {:8.2} ms/frame", per_frame_ms(t.pose_s));
    println!("    crop + input  {:8.2} ms/frame", per_frame_ms(t.stages.crop_s));
    println!("    landmark net  {:8.2} ms/frame", per_frame_ms(t.stages.landmark_infer_s));
    println!("    landmark post {:8.2} ms/frame", per_frame_ms(t.stages.landmark_post_s));
    println!("    detector      {:8.2} ms/frame  ({} runs)", per_frame_ms(t.stages.detect_s), t.stages.detector_runs);
}
