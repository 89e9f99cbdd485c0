//! The expensive half of formcheck: everything that touches OpenCV or ONNX Runtime, from a video
//! file to its pose track. `video` decodes (upright frames, container timestamps; `sniff` names
//! what a refused file is), `pose` runs BlazePose (detector, landmarks, lifter selection, back
//! outline) with `runtime` finding ONNX Runtime, `bar` follows the near plate on the same frames,
//! and `pipeline` drives the three in parallel into a `PoseTrack`, built by `record`.
//!
//! May use: `posetrack` (what it produces), `support`. Never `analysis`, `present`, `batch` or
//! `cli`: capture knows nothing of reps or faults.

pub mod bar;
pub mod pipeline;
pub mod pose;
pub mod record;
pub mod runtime;
pub mod sniff;
pub mod video;
