//! From a clip on disk to its pose track: decoding on one thread, pose inference on a second and
//! the plate search on a third, frames passed through a small pool of reused buffers so memory
//! stays flat however long the clip. The pose model runs at most `TrackerConfig::max_rate_hz`
//! times a second of the clip, the frames between interpolated; the plate is searched on every
//! frame.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use crate::capture::bar::{BarError, PlateConfig, PlateTracker};
use crate::capture::pose::detector::{Detector, DETECTOR_SPEC};
use crate::capture::pose::landmarks::LandmarkModel;
use crate::capture::pose::model::{Model, ModelError};
use crate::capture::pose::{PoseObservation, PoseTracker, StageTimes, TrackerConfig};
use crate::capture::video::{spawn_decoder, Frame, FramePool, VideoError, VideoReader};
use crate::posetrack::{ModelMeta, PoseFrame, PoseTrack, VideoMeta, SCHEMA_VERSION};

/// Frames in flight between the decoder and the pose thread.
const FRAME_POOL: usize = 6;

/// Why a clip could not be turned into a pose track.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("cannot read model file {path}: {source}")]
    ModelFile { path: PathBuf, source: std::io::Error },
    #[error("plate tracking: {0}")]
    Plate(#[from] BarError),
    #[error("the decoding thread stopped unexpectedly")]
    DecoderPanicked,
    #[error("the plate tracking thread stopped unexpectedly")]
    PlateStagePanicked,
}

/// Which model files to load.
#[derive(Debug, Clone)]
pub struct ModelPaths {
    pub landmark: PathBuf,
    pub detector: PathBuf,
}

/// Models loaded once and reused for every clip.
pub struct PoseEngine {
    tracker: PoseTracker,
    plate: PlateTracker,
    meta: ModelMeta,
    /// Pose model runs per second of the clip at most (0 = every frame).
    max_rate_hz: f64,
    /// Back outlines read per second of the clip at most (0 = on every model run).
    outline_max_rate_hz: f64,
}

impl PoseEngine {
    /// Loads and checks both models with ONNX Runtime from `env`.
    pub fn load(
        env: &ort::environment::Environment,
        paths: &ModelPaths,
        cfg: TrackerConfig,
    ) -> Result<Self, PipelineError> {
        let landmark = LandmarkModel::load(env, &paths.landmark)?;
        let detector = Model::load(env, &paths.detector, DETECTOR_SPEC)?;
        let sha = |p: &Path| {
            crate::support::output::sha256_file(p)
                .map_err(|source| PipelineError::ModelFile { path: p.to_path_buf(), source })
        };
        let meta = ModelMeta::blazepose(&paths.landmark, sha(&paths.landmark)?, &paths.detector, sha(&paths.detector)?);
        let (max_rate_hz, outline_max_rate_hz) = (cfg.max_rate_hz, cfg.outline_max_rate_hz);
        let tracker = PoseTracker::new(Detector::new(detector), landmark, cfg);
        Ok(PoseEngine {
            tracker,
            plate: PlateTracker::new(PlateConfig::default()),
            meta,
            max_rate_hz,
            outline_max_rate_hz,
        })
    }
}

/// Progress of one clip, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub frames_done: u64,
    pub frames_expected: u64,
}

/// Where the time went on one clip.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Timings {
    pub frames: u64,
    /// Frames the pose model ran on (the others are interpolated).
    pub pose_frames: u64,
    /// Whole clip, opening to finished track.
    pub wall_s: f64,
    /// Decoder thread busy time (read + rotate).
    pub decode_s: f64,
    /// Pose thread busy time, split below.
    pub pose_s: f64,
    pub stages: StageTimes,
    /// Plate thread busy time: finding and following the plate, beside the pose thread.
    pub plate_s: f64,
    /// Times the plate's costly acquisition search ran.
    pub plate_acquisitions: u64,
    /// After tracking (filled in by the caller): the analysis from the pose track, the annotated
    /// video's pass (decode, draw, encode), and writing the other outputs.
    pub analysis_s: f64,
    pub video_s: f64,
    pub write_s: f64,
}

impl Timings {
    /// Frames per second of tracking alone (decode, pose, plate).
    pub fn fps(&self) -> f64 {
        self.frames as f64 / self.wall_s.max(1e-9)
    }

    /// Whole clip: tracking, analysis, annotated video and outputs.
    pub fn total_s(&self) -> f64 {
        self.wall_s + self.analysis_s + self.video_s + self.write_s
    }
}

/// Which frames the pose model runs on: each one at least `0.8 / max_rate_hz` after the last it
/// ran on (at a 30 Hz cap: every frame at 24-36 frames/s, every other at 48-60, every fourth at
/// 120), so that frame-time jitter does not drop frames of a clip at the cap. The same rule, over
/// the model's runs, picks those that read the back outline.
#[derive(Debug, Clone, Copy)]
struct PoseRate {
    min_interval_s: f64,
    last_s: Option<f64>,
}

impl PoseRate {
    fn new(max_rate_hz: f64) -> PoseRate {
        let min_interval_s = if max_rate_hz.is_finite() && max_rate_hz > 0.0 { 0.8 / max_rate_hz } else { 0.0 };
        PoseRate { min_interval_s, last_s: None }
    }

    /// Whether the model runs on the frame at `t_s` (s); counts it as run when it does.
    fn due(&mut self, t_s: f64) -> bool {
        // (A time that is not a number counts as due.)
        let due = !matches!(self.last_s, Some(last) if t_s - last < self.min_interval_s);
        if due {
            self.last_s = Some(t_s);
        }
        due
    }
}

/// What the pose thread hands the plate thread with each frame.
enum Posed {
    /// The model ran: what it found (`None`: no lifter).
    Ran(Option<PoseObservation>),
    /// The model skipped the frame: the last pose it found, for the plate search to go by.
    Skipped(Option<PoseObservation>),
}

/// Opens `clip` first (so a bad file fails fast, before any thread starts) and returns its reader.
pub fn open_clip(clip: &Path, slowmo_factor: f64) -> Result<VideoReader, VideoError> {
    VideoReader::open(clip, slowmo_factor)
}

/// Decodes `reader`'s clip and tracks the lifter on every frame.
pub fn track_clip(
    engine: &mut PoseEngine,
    reader: VideoReader,
    on_progress: &(dyn Fn(Progress) + Sync),
) -> Result<(PoseTrack, Timings), PipelineError> {
    let started = Instant::now();
    let info = reader.info().clone();
    let clip_name = reader.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    engine.tracker.reset();
    let expected = info.frames_declared;
    engine.plate = PlateTracker::new(PlateConfig::default());
    let (tracker, plate_tracker) = (&mut engine.tracker, &mut engine.plate);
    // Three stages, each on its own thread: decode -> pose -> plate. The plate search needs the
    // frame's pose (hands and torso), and runs beside the next frame's landmark network, on the
    // core the decoder leaves mostly idle.
    let (posed_tx, posed_rx) = mpsc::sync_channel::<(Frame, Posed)>(FRAME_POOL);
    let mut rate = PoseRate::new(engine.max_rate_hz);
    let mut outline_rate = PoseRate::new(engine.outline_max_rate_hz);
    let (decode_result, pose_result, plate_result) = std::thread::scope(|s| {
        let (FramePool { full: full_rx, free: free_tx }, decoder) = spawn_decoder(s, reader, FRAME_POOL);
        let plates = s.spawn(move || -> Result<(Vec<PoseFrame>, f64), BarError> {
            let mut frames = Vec::with_capacity(expected.min(1 << 20) as usize);
            let mut busy_s = 0.0;
            for (frame, posed) in posed_rx.iter() {
                let (obs, ran) = match &posed {
                    Posed::Ran(obs) => (obs.as_ref(), true),
                    Posed::Skipped(last) => (last.as_ref(), false),
                };
                let t0 = Instant::now();
                let plate = plate_tracker.follow(&frame.image, frame.t_s, obs)?;
                busy_s += t0.elapsed().as_secs_f64();
                let record = if ran {
                    PoseFrame::new(frame.index, frame.t_s, obs)
                } else {
                    PoseFrame::skipped(frame.index, frame.t_s)
                };
                frames.push(record.with_plate(plate.as_ref()));
                on_progress(Progress { frames_done: frames.len() as u64, frames_expected: expected });
                // The decoder may already have finished; a closed pool is fine.
                let _ = free_tx.send(frame);
            }
            Ok((frames, busy_s))
        });
        let mut pose_s = 0.0;
        let mut last: Option<PoseObservation> = None;
        let pose_result = (|| -> Result<(f64, u64), PipelineError> {
            let mut ran = 0;
            for frame in full_rx.iter() {
                let posed = if rate.due(frame.t_s) {
                    let t0 = Instant::now();
                    let outline = outline_rate.due(frame.t_s);
                    let obs = tracker.process(&frame.image, frame.t_s, outline)?;
                    pose_s += t0.elapsed().as_secs_f64();
                    ran += 1;
                    last.clone_from(&obs);
                    Posed::Ran(obs)
                } else {
                    Posed::Skipped(last.clone())
                };
                if posed_tx.send((frame, posed)).is_err() {
                    // The plate stage stopped on an error; it is reported below.
                    break;
                }
            }
            Ok((pose_s, ran))
        })();
        // Stop the other stages if the pose stage failed early, and let the plate stage finish.
        drop(posed_tx);
        drop(full_rx);
        let plate_result = plates.join();
        (decoder.join(), pose_result, plate_result)
    });
    let (reader, decode_s) = decode_result.map_err(|_| PipelineError::DecoderPanicked)??;
    let (pose_s, pose_frames) = pose_result?;
    let (mut frames, plate_s) = plate_result.map_err(|_| PipelineError::PlateStagePanicked)??;
    reader.finish()?;
    if let [first, second, ..] = frames.as_mut_slice() {
        first.t_s = crate::capture::video::repair_first_timestamp(first.t_s, second.t_s, info.fps, info.slowmo_factor);
    }
    // After the repair: the interpolation weights come from the frame times.
    crate::posetrack::fill_skipped(&mut frames);
    let duration_s = match (frames.first(), frames.last()) {
        (Some(a), Some(b)) => b.t_s - a.t_s,
        _ => 0.0,
    };
    let track = PoseTrack {
        schema_version: SCHEMA_VERSION,
        clip: clip_name,
        video: VideoMeta::new(&info, frames.len() as u64, duration_s),
        model: engine.meta.clone(),
        frames,
    };
    let timings = Timings {
        frames: track.frames.len() as u64,
        pose_frames,
        wall_s: started.elapsed().as_secs_f64(),
        decode_s,
        pose_s,
        stages: engine.tracker.times(),
        plate_s,
        plate_acquisitions: engine.plate.acquisitions_tried(),
        ..Timings::default()
    };
    Ok((track, timings))
}
