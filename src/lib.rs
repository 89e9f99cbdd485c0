//! formcheck watches a side-view video of a deadlift set and tells the lifter, rep by rep, what
//! their back, hips and bar did.
//!
//! Stages, each depending only on those before it:
//! `video` (decode, upright, timestamps; `sniff` names what a refused file is) -> `pose`
//! (BlazePose detector + landmarks, lifter selection, back outline), with `bar` following the near
//! plate on the same frames ->
//! `posetrack` (the saved `poses.json`), driven by `pipeline`. Then, on plain data with no model or video,
//! `analysis` runs `track` (cleaning) -> `barpath` (the bar and its scale) -> `kinematics` ->
//! `reps` -> `metrics` -> `faults` -> `report`, with thresholds from `config`.
//! `runtime` finds ONNX Runtime; `output` writes files atomically; `batch` plans many clips (and
//! shards of them), `summarize` merges their outputs; `app` is the command line; `fuzzing` holds
//! the fuzz targets.

pub mod analysis;
pub mod annotate;
pub mod app;
pub mod bar;
pub mod barpath;
pub mod batch;
pub mod config;
pub mod faults;
pub mod fuzzing;
pub mod html;
pub mod kinematics;
pub mod metrics;
pub mod output;
pub mod pipeline;
pub mod pose;
pub mod posetrack;
pub mod report;
pub mod reps;
pub mod runtime;
pub mod signal;
pub mod sniff;
pub mod summarize;
pub mod synth;
pub mod track;
pub mod video;
