//! From a clip on disk to its pose track: decoding on one thread, pose inference on a second and
//! the plate search on a third, frames passed through a small pool of reused buffers so memory
//! stays flat however long the clip.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use crate::bar::{BarError, PlateConfig, PlateTracker};
use crate::pose::detector::{Detector, DETECTOR_SPEC};
use crate::pose::landmarks::{LandmarkModel, LANDMARK_SPEC};
use crate::pose::model::{Model, ModelError};
use crate::pose::{PoseObservation, PoseTracker, StageTimes, TrackerConfig};
use crate::posetrack::{ModelMeta, PoseFrame, PoseTrack, VideoMeta, SCHEMA_VERSION};
use crate::video::{spawn_decoder, Frame, FramePool, VideoError, VideoReader};

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
}

impl PoseEngine {
    /// Loads and checks both models with ONNX Runtime from `env`.
    pub fn load(
        env: &ort::environment::Environment,
        paths: &ModelPaths,
        cfg: TrackerConfig,
    ) -> Result<Self, PipelineError> {
        let landmark = Model::load(env, &paths.landmark, LANDMARK_SPEC)?;
        let detector = Model::load(env, &paths.detector, DETECTOR_SPEC)?;
        let sha = |p: &Path| {
            crate::output::sha256_file(p).map_err(|source| PipelineError::ModelFile { path: p.to_path_buf(), source })
        };
        let meta = ModelMeta::blazepose(&paths.landmark, sha(&paths.landmark)?, &paths.detector, sha(&paths.detector)?);
        let tracker = PoseTracker::new(Detector::new(detector), LandmarkModel::new(landmark), cfg);
        Ok(PoseEngine { tracker, plate: PlateTracker::new(PlateConfig::default()), meta })
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
    let (posed_tx, posed_rx) = mpsc::sync_channel::<(Frame, Option<PoseObservation>)>(FRAME_POOL);
    let (decode_result, pose_result, plate_result) = std::thread::scope(|s| {
        let (FramePool { full: full_rx, free: free_tx }, decoder) = spawn_decoder(s, reader, FRAME_POOL);
        let plates = s.spawn(move || -> Result<(Vec<PoseFrame>, f64), BarError> {
            let mut frames = Vec::with_capacity(expected.min(1 << 20) as usize);
            let mut busy_s = 0.0;
            for (frame, obs) in posed_rx.iter() {
                let t0 = Instant::now();
                let plate = plate_tracker.follow(&frame.image, frame.t_s, obs.as_ref())?;
                busy_s += t0.elapsed().as_secs_f64();
                frames.push(PoseFrame::new(frame.index, frame.t_s, obs.as_ref()).with_plate(plate.as_ref()));
                on_progress(Progress { frames_done: frames.len() as u64, frames_expected: expected });
                // The decoder may already have finished; a closed pool is fine.
                let _ = free_tx.send(frame);
            }
            Ok((frames, busy_s))
        });
        let mut pose_s = 0.0;
        let pose_result = (|| -> Result<f64, PipelineError> {
            for frame in full_rx.iter() {
                let t0 = Instant::now();
                let obs = tracker.process(&frame.image, frame.t_s)?;
                pose_s += t0.elapsed().as_secs_f64();
                if posed_tx.send((frame, obs)).is_err() {
                    // The plate stage stopped on an error; it is reported below.
                    break;
                }
            }
            Ok(pose_s)
        })();
        // Stop the other stages if the pose stage failed early, and let the plate stage finish.
        drop(posed_tx);
        drop(full_rx);
        let plate_result = plates.join();
        (decoder.join(), pose_result, plate_result)
    });
    let (reader, decode_s) = decode_result.map_err(|_| PipelineError::DecoderPanicked)??;
    let pose_s = pose_result?;
    let (mut frames, plate_s) = plate_result.map_err(|_| PipelineError::PlateStagePanicked)??;
    reader.finish()?;
    if let [first, second, ..] = frames.as_mut_slice() {
        first.t_s = crate::video::repair_first_timestamp(first.t_s, second.t_s, info.fps, info.slowmo_factor);
    }
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
