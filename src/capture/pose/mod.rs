//! Pose estimation: the two-stage BlazePose pipeline (person detector, then landmark model on a
//! rotated square crop), ported from MediaPipe's graph, plus lifter selection and the back outline.
//!
//! Coordinates: every point that leaves this module is in pixels of the upright frame (x right,
//! y down). Inside, crop coordinates are pixels of the 256x256 model input. Angles are radians,
//! counter-clockwise positive in the usual maths sense *after* flipping y (MediaPipe's convention).
//! A landmark the model placed is `Some`, even with low visibility; downstream stages gate on
//! visibility. Only this module (and `video`) touch OpenCV and ONNX Runtime.

pub mod back;
pub mod detector;
pub mod geometry;
pub mod landmarks;
pub mod model;
pub mod segmentation;
pub mod tracker;

use std::path::{Path, PathBuf};

pub use back::BackOutline;
pub use geometry::Roi;
pub use tracker::{PoseTracker, TrackerConfig, DEFAULT_MAX_RATE_HZ, DEFAULT_OUTLINE_RATE_HZ};

pub use crate::posetrack::layout::{joint, weighted_pair, BLAZEPOSE_NAMES, NUM_LANDMARKS};

/// A point in pixels of the upright frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }
    pub fn dist(self, o: Point) -> f64 {
        (self.x - o.x).hypot(self.y - o.y)
    }
    pub fn mid(self, o: Point) -> Point {
        Point::new(0.5 * (self.x + o.x), 0.5 * (self.y + o.y))
    }
}

/// One landmark: position in frame pixels and the model's visibility probability (0..1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keypoint {
    pub x: f64,
    pub y: f64,
    pub visibility: f64,
}

impl Keypoint {
    pub fn point(&self) -> Point {
        Point::new(self.x, self.y)
    }
}

/// Everything the pose stage found on one frame for the lifter.
#[derive(Debug, Clone, PartialEq)]
pub struct PoseObservation {
    /// The 33 landmarks in frame pixels.
    pub keypoints: [Keypoint; NUM_LANDMARKS],
    /// Pose presence probability from the landmark model.
    pub presence: f64,
    /// The crop the landmarks came from.
    pub roi: Roi,
    /// Whether the crop came from the detector (`true`) or from the previous frame (`false`).
    pub from_detector: bool,
    /// Back outline from the segmentation mask, when it was read and the mask gave one.
    pub back: Option<BackOutline>,
    /// Whether the back outline was read on this frame (see
    /// [`TrackerConfig::outline_max_rate_hz`]); `back` is `None` when it was not.
    pub outline_read: bool,
    /// The camera's angle from side-on, degrees, from the world landmarks.
    pub camera_angle_deg: Option<f64>,
}

/// Seconds spent in each part of the pose stage, summed over a clip (for the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StageTimes {
    /// Person detector, pre- and post-processing included.
    pub detect_s: f64,
    pub detector_runs: u64,
    /// Warping the crop and filling the landmark model's input.
    pub crop_s: f64,
    /// Landmark model inference.
    pub landmark_infer_s: f64,
    /// Decoding landmarks, heatmap refinement, back outline (segmentation head included).
    pub landmark_post_s: f64,
    /// Of which the split-off segmentation head (0 with a whole model: it runs inside the model).
    pub segmentation_s: f64,
    /// Model runs whose back outline was read.
    pub outlines: u64,
}

/// Which BlazePose landmark model to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelSize {
    Lite,
    Full,
    Heavy,
}

impl ModelSize {
    pub fn file_name(self) -> &'static str {
        match self {
            ModelSize::Lite => "pose_landmark_lite.onnx",
            ModelSize::Full => "pose_landmark_full.onnx",
            ModelSize::Heavy => "pose_landmark_heavy.onnx",
        }
    }
}

/// File name of the BlazePose person detector.
pub const DETECTOR_FILE: &str = "pose_detection.onnx";

/// Where the model files are: an explicit directory, `$FORMCHECK_MODELS_DIR`, or the project's
/// `models/` folder (next to the executable's project, or the source tree it was built from).
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FORMCHECK_MODELS_DIR") {
        return PathBuf::from(dir);
    }
    let candidates = crate::capture::runtime::project_dirs().into_iter().map(|d| d.join("models"));
    let mut first = None;
    for dir in candidates {
        if dir.join(DETECTOR_FILE).is_file() {
            return dir;
        }
        first.get_or_insert(dir);
    }
    first.unwrap_or_else(|| Path::new("models").to_path_buf())
}
