//! formcheck watches a side-view video of a deadlift set and tells the lifter, rep by rep, what
//! their back, hips and bar did.
//!
//! Stages, each depending only on those before it:
//! `video` (decode, upright, timestamps) -> `pose` (BlazePose detector + landmarks, lifter
//! selection, back outline) -> `posetrack` (the saved `poses.json`), driven by `pipeline`.
//! `runtime` finds ONNX Runtime; `output` writes files atomically; `app` is the command line.

pub mod app;
pub mod output;
pub mod pipeline;
pub mod pose;
pub mod posetrack;
pub mod runtime;
pub mod video;
