//! One clip, start to finish, into its output folder: the pose track (decode, BlazePose, plate),
//! the analysis, the annotated video, and the report files, every file written whole or not at
//! all. The command line and the server both run clips through here, so they write the same
//! files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::analysis;
use crate::analysis::config::Config;
use crate::analysis::report::Report;
use crate::capture::pipeline::{self, PipelineError, PoseEngine, Progress, Timings};
use crate::capture::video::VideoError;
use crate::posetrack::TrackFileError;
use crate::present::annotate::{self, AnnotateError, AnnotatedStill};
use crate::present::html;
use crate::support::output::write_atomic;

/// Why a clip could not be analysed. The messages are the one-line reasons users see.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClipError {
    #[error(transparent)]
    Open(#[from] VideoError),
    #[error(transparent)]
    Tracking(#[from] PipelineError),
    #[error(transparent)]
    Video(#[from] AnnotateError),
    #[error(transparent)]
    Track(#[from] TrackFileError),
    #[error("writing {}: {error}", path.display())]
    Write { path: PathBuf, error: std::io::Error },
}

/// How to run a clip.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions<'a> {
    /// Divide every timestamp by this (slow-motion exports).
    pub slowmo_factor: f64,
    /// Draw the annotated video (the second, slower pass).
    pub video: bool,
    /// The clip's name in the outputs, when not the input's file name (the server stores uploads
    /// under a name of its own).
    pub clip_name: Option<&'a str>,
}

/// Where a clip is, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Decoding, pose and plate: `done` of `total` frames (`total` 0 = not known yet).
    Tracking,
    /// The analysis: `total` is now the number of frames decoded.
    Analysing,
    /// The annotated video: `done` of `total` frames.
    Drawing,
}

/// A progress report.
#[derive(Debug, Clone, Copy)]
pub struct ClipProgress {
    pub stage: Stage,
    pub done: u64,
    pub total: u64,
}

/// Runs `input` into `out_dir` (poses.json, report.json, reps.csv, report.html and, with
/// `opts.video`, annotated.mp4), reporting progress through `on_progress`.
pub fn run_clip(
    engine: &mut PoseEngine,
    input: &Path,
    out_dir: &Path,
    opts: RunOptions<'_>,
    cfg: &Config,
    on_progress: &(dyn Fn(ClipProgress) + Sync),
) -> Result<(Report, Timings), ClipError> {
    let reader = pipeline::open_clip(input, opts.slowmo_factor)?;
    let declared = reader.info().frames_declared;
    let on_frames =
        |p: Progress| on_progress(ClipProgress { stage: Stage::Tracking, done: p.frames_done, total: declared });
    let (mut track, mut timings) = pipeline::track_clip(engine, reader, &on_frames)?;
    if let Some(name) = opts.clip_name {
        track.clip = name.to_string();
    }
    let frames = track.frames.len() as u64;
    on_progress(ClipProgress { stage: Stage::Analysing, done: 0, total: frames });
    let t0 = Instant::now();
    let report = analysis::analyze(&track, cfg);
    timings.analysis_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let stills = if opts.video {
        let on_frame = |done: u64| on_progress(ClipProgress { stage: Stage::Drawing, done, total: frames });
        let video = out_dir.join("annotated.mp4");
        annotate::write_annotated_video(input, opts.slowmo_factor, &track, &report, cfg, &video, &on_frame)?
    } else {
        Vec::new()
    };
    timings.video_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    track.save(&out_dir.join("poses.json"))?;
    write_report(out_dir, &report, &stills)?;
    timings.write_s = t0.elapsed().as_secs_f64();
    Ok((report, timings))
}

/// Writes a clip's report files into `dir`: report.json, reps.csv and report.html.
pub fn write_report(dir: &Path, report: &Report, stills: &[AnnotatedStill]) -> Result<(), ClipError> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes()).map_err(|error| ClipError::Write { path, error })
    };
    write("report.json", report.to_json())?;
    write("reps.csv", report.to_csv())?;
    let stills: Vec<html::Still> = stills
        .iter()
        .map(|s| html::Still { rep_index: s.rep_index, code: s.code.clone(), at_s: s.at_s, jpeg: s.jpeg.clone() })
        .collect();
    write("report.html", html::render(report, &stills))
}
