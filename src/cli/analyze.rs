//! `formcheck analyze`: clips in, one folder per clip out (pose track, report files, annotated
//! video), a batch summary, and an exit code that says whether every clip was done. Clips run on
//! worker threads, each with its own pose models.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Context;

use super::progress::{print_timings, Ui};
use super::{load_config, ConfigArgs};
use crate::analysis;
use crate::analysis::config::Config;
use crate::analysis::report::Report;
use crate::batch::run::{ClipProgress, RunOptions, Stage};
use crate::batch::{self, ClipJob, ClipListing, ClipOutcome, ErrorRecord, Stamp};
use crate::capture::pipeline::{ModelPaths, PoseEngine, Timings};
use crate::capture::pose::{self, ModelSize, TrackerConfig};
use crate::posetrack::PoseTrack;
use crate::support::output::write_atomic;

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Video files (MP4/MOV from phones, H.264 or HEVC; also M4V, AVI, MKV and WebM) and folders of
    /// them.
    #[arg(required = true)]
    pub clips: Vec<PathBuf>,
    /// Output folder; each clip gets a sub-folder named after it.
    #[arg(short = 'o', long = "out", default_value = "out")]
    pub out_dir: PathBuf,
    /// Look for clips in sub-folders of the folders given.
    #[arg(short, long)]
    pub recursive: bool,
    /// Clips analysed at once (default: one per core).
    #[arg(short = 'j', long = "jobs")]
    pub jobs: Option<usize>,
    /// Skip the annotated video (much faster).
    #[arg(long)]
    pub no_video: bool,
    /// Analyse only shard I of N (I from 0 to N-1) of the clips, for batches split over several
    /// machines; `formcheck summarize` merges the outputs. Folder names are as in a single run.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<batch::Shard>,
    /// Redo clips whose outputs are already up to date.
    #[arg(long)]
    pub force: bool,
    /// Print the batch summary as JSON on stdout (for scripts).
    #[arg(long)]
    pub json: bool,
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
    /// Run the pose model at most this many times per second of the clip; 0 = on every frame. At
    /// 60 frames/s it runs on every other frame and the frames between are interpolated; the bar
    /// (plate) is still measured on every frame. The analysis smooths the pose at about 6 Hz, well
    /// below what 30 samples a second resolve; 0 runs the model on every frame, as MediaPipe does,
    /// at up to twice the time.
    #[arg(long, value_name = "HZ", default_value_t = pose::DEFAULT_MAX_RATE_HZ)]
    pub pose_hz: f64,
    /// Read the back's outline (the segmentation head, a quarter of the landmarks' cost) on the
    /// pose model's runs at most this many times per second of the clip, interpolated between;
    /// 0 = on every run. Below about 8 the outline is missing on the frames between.
    #[arg(long, value_name = "HZ", default_value_t = pose::DEFAULT_OUTLINE_RATE_HZ)]
    pub outline_hz: f64,
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

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let cfg = load_config(&args.config)?;
    anyhow::ensure!(
        args.pose_hz.is_finite() && args.pose_hz >= 0.0,
        "--pose-hz {}: expected a number of times a second, 0 or more",
        args.pose_hz
    );
    anyhow::ensure!(
        args.outline_hz.is_finite() && args.outline_hz >= 0.0,
        "--outline-hz {}: expected a number of times a second, 0 or more",
        args.outline_hz
    );
    let tracker = TrackerConfig {
        max_rate_hz: args.pose_hz,
        outline_max_rate_hz: args.outline_hz,
        ..tracker_config(&args.tracker_overrides)?
    };
    let env = crate::capture::runtime::environment(args.ort_lib.as_deref())?;
    let models_dir = pose::default_models_dir();
    let paths = ModelPaths {
        landmark: args.model.clone().unwrap_or_else(|| models_dir.join(args.model_size.file_name())),
        detector: args.detector.clone().unwrap_or_else(|| models_dir.join(pose::DETECTOR_FILE)),
    };
    // Load once up front: a wrong model is a usage error, not a failure of every clip.
    let first_engine = PoseEngine::load(&env, &paths, tracker.clone()).context("loading the pose models")?;
    let (clips, problems) = batch::collect_inputs(&args.clips, args.recursive);
    anyhow::ensure!(!clips.is_empty() || !problems.is_empty(), "no video files found in the paths given");
    // Names come from the whole batch (collision suffixes), then the shard keeps its part.
    let mut jobs = batch::plan(&clips, &args.out_dir);
    if let Some(shard) = args.shard {
        let all = jobs.len();
        jobs = shard.select(jobs);
        if !args.quiet {
            eprintln!("formcheck: shard {shard}: {} of {all} clips", jobs.len());
        }
    }
    // The stamp covers everything that changes the outputs.
    let settings = format!(
        "{}\n# tracker {:?}\n# pose {} Hz\n# outline {} Hz\n# slowmo {}\n# model {}",
        cfg.to_toml(),
        args.tracker_overrides,
        args.pose_hz,
        args.outline_hz,
        args.slowmo_factor,
        paths.landmark.display()
    );
    let workers = args.jobs.unwrap_or_else(crate::batch::default_jobs).clamp(1, jobs.len().max(1));
    let ui = Ui::new(args.quiet, args.json, jobs.len() as u64);
    let order = batch::longest_first(&jobs);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, ClipOutcome)>> = Mutex::new(Vec::new());
    let first_engine = Mutex::new(Some(first_engine));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let taken = first_engine.lock().map(|mut e| e.take()).unwrap_or(None);
                let mut engine = match taken {
                    Some(e) => e,
                    None => match PoseEngine::load(&env, &paths, tracker.clone()) {
                        Ok(e) => e,
                        Err(e) => {
                            ui.error(&format!("formcheck: error: loading the pose models: {e}"));
                            return;
                        }
                    },
                };
                // The next job in `order` (longest clips first), until none is left.
                while let Some(&idx) = order.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let job = &jobs[idx];
                    let outcome = run_clip(&mut engine, job, args, &cfg, &settings, &ui);
                    ui.clip_done(job, &outcome);
                    results.lock().expect("no worker panics while holding the lock").push((idx, outcome));
                }
            });
        }
    });
    ui.finish();
    let mut outcomes: Vec<(usize, ClipOutcome)> = results.into_inner().expect("workers finished");
    outcomes.sort_by_key(|(i, _)| *i);
    let mut outcomes: Vec<ClipOutcome> = outcomes.into_iter().map(|(_, o)| o).collect();
    let mut input_problems = Vec::new();
    for (path, error) in problems {
        ui.error(&format!("formcheck: {}: {error}", path.display()));
        input_problems.push(ErrorRecord { input: path.display().to_string(), error: error.clone() });
        outcomes.push(ClipOutcome::Failed { input: path, name: None, error });
    }
    // Every shard lists all inputs, so each writes the same record: `summarize` finds it.
    ErrorRecord::write_inputs(&args.out_dir, &input_problems).context("writing input-errors.json")?;
    let listings: Vec<ClipListing> = outcomes.iter().map(ClipListing::of).collect();
    write_atomic(&args.out_dir.join("summary.csv"), batch::summary_csv(&listings).as_bytes())
        .context("writing summary.csv")?;
    write_atomic(&args.out_dir.join("index.html"), batch::index_html(&listings).as_bytes())
        .context("writing index.html")?;
    let failed = outcomes.iter().filter(|o| matches!(o, ClipOutcome::Failed { .. })).count();
    if args.json {
        println!("{}", batch_json(&outcomes, &args.out_dir));
    } else if let [ClipOutcome::Done { report, .. }] = outcomes.as_slice() {
        // One clip: the lifter wants the reps, not just the headline.
        if !args.quiet {
            print!("{}", report.summary());
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The batch summary for scripts.
fn batch_json(outcomes: &[ClipOutcome], out: &Path) -> String {
    let clips: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| match o {
            ClipOutcome::Done { job, report, skipped } => serde_json::json!({
                "input": job.input.display().to_string(),
                "folder": out.join(&job.name).display().to_string(),
                "status": if *skipped { "up_to_date" } else { "ok" },
                "reps": report.reps.len(),
                "reliable": report.reliable,
                "headline": batch::headline(report),
            }),
            ClipOutcome::Failed { input, error, .. } => serde_json::json!({
                "input": input.display().to_string(), "status": "failed", "error": error,
            }),
        })
        .collect();
    let failed = clips.iter().filter(|c| c["status"] == "failed").count();
    serde_json::json!({ "clips": clips, "failed": failed, "out": out.display().to_string() }).to_string()
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

/// One clip, start to finish: skip when up to date, else pose track, analysis, annotated video,
/// report files, and the stamp last.
fn run_clip(
    engine: &mut PoseEngine,
    job: &ClipJob,
    args: &AnalyzeArgs,
    cfg: &Config,
    settings: &str,
    ui: &Ui,
) -> ClipOutcome {
    let fail = |e: anyhow::Error| {
        let error = format!("{e:#}");
        // The folder keeps the failure for `summarize`; if even that cannot be written, the
        // batch summary still has the row.
        let record = ErrorRecord { input: job.input.display().to_string(), error: error.clone() };
        if let Err(w) = record.write(&job.out_dir) {
            ui.error(&format!("formcheck: {}: cannot write {}: {w}", job.out_dir.display(), ErrorRecord::FILE));
        }
        ClipOutcome::Failed { input: job.input.clone(), name: Some(job.name.clone()), error }
    };
    let stamp = match Stamp::new(&job.input, settings, !args.no_video) {
        Ok(s) => s,
        Err(e) => return fail(anyhow::anyhow!(describe_io(&job.input, e))),
    };
    if !args.force && stamp.is_current(&job.out_dir) {
        // Up to date: the report is re-derived from the saved track (milliseconds, identical).
        return match PoseTrack::load(&job.out_dir.join("poses.json")) {
            Ok(track) => {
                ClipOutcome::Done { job: job.clone(), report: Box::new(analysis::analyze(&track, cfg)), skipped: true }
            }
            Err(e) => fail(e.into()),
        };
    }
    remove_stale_temporaries(&job.out_dir);
    match analyze_clip(engine, job, args, cfg, ui).and_then(|r| {
        stamp.write(&job.out_dir).context("writing run.json")?;
        Ok(r)
    }) {
        Ok((report, timings)) => {
            if args.timings && !args.quiet {
                print_timings(&timings);
            }
            ClipOutcome::Done { job: job.clone(), report: Box::new(report), skipped: false }
        }
        Err(e) => {
            // A clip that failed leaves no folder of its own behind (only an empty one is removed:
            // outputs of an earlier run stay).
            let _ = std::fs::remove_dir(&job.out_dir);
            fail(e)
        }
    }
}

/// Temporary files left by a run that was killed (a kill skips their clean-up).
fn remove_stale_temporaries(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(".formcheck-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Why a clip's file cannot be looked at, in words (the path itself is already on the line).
fn describe_io(path: &Path, e: std::io::Error) -> String {
    let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    match e.kind() {
        std::io::ErrorKind::NotFound if link => match std::fs::read_link(path) {
            Ok(target) => format!("broken symbolic link: its target {} does not exist", target.display()),
            Err(_) => "broken symbolic link: its target does not exist".to_string(),
        },
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => format!("cannot read the file: permission denied ({e})"),
        _ => format!("cannot read the file: {e}"),
    }
}

fn analyze_clip(
    engine: &mut PoseEngine,
    job: &ClipJob,
    args: &AnalyzeArgs,
    cfg: &Config,
    ui: &Ui,
) -> anyhow::Result<(Report, Timings)> {
    let passes = if args.no_video { 1 } else { 2 };
    let bar = ui.clip_bar(&job.name, 0);
    let on_progress = |p: ClipProgress| match p.stage {
        // Length unknown (a streamed WebM): the bar grows with the frames decoded.
        Stage::Tracking if p.total == 0 => {
            bar.set_length(p.done * passes);
            bar.set_position(p.done);
        }
        Stage::Tracking => {
            bar.set_length(p.total * passes);
            bar.set_position(p.done.min(p.total));
        }
        Stage::Analysing => {
            bar.set_length(p.total * passes);
            bar.set_position(p.total);
        }
        Stage::Drawing => bar.set_position(p.total + p.done.min(p.total)),
    };
    let opts = RunOptions { slowmo_factor: args.slowmo_factor, video: !args.no_video, clip_name: None };
    let result = batch::run::run_clip(engine, &job.input, &job.out_dir, opts, cfg, &on_progress);
    ui.remove(&bar);
    Ok(result?)
}
