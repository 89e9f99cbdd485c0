//! formcheck watches a side-view video of a deadlift set and tells the lifter, rep by rep, what
//! their back, hips and bar did.
//!
//! The modules are the pipeline's stages, and each may use only those before it:
//!
//! 1. `support`: numeric signal helpers and atomic file output; uses nothing.
//! 2. `posetrack`: the saved boundary (`poses.json`) between the two halves, and the landmark
//!    layout both share; plain data.
//! 3. `capture`: the expensive half, from a video file to its pose track (decode, BlazePose
//!    through ONNX Runtime, the near plate). The only stage that touches OpenCV or ort.
//! 4. `analysis`: the cheap half, from a pose track to a report (clean, bar path, kinematics,
//!    reps, metrics, faults), thresholds from its `config`. Plain Rust over plain data.
//! 5. `present`: the report drawn for people: the HTML page and the annotated video.
//! 6. `batch`: many clips and shards of them, and the summary over their outputs.
//! 7. `serve`: the web server, a second front end: uploads from a phone, a job queue in SQLite,
//!    result pages and athletes' histories.
//! 8. `cli`: the command line, one file per command.
//!
//! `testkit` (synthetic lifts, fuzz targets) is test support, behind the `testkit` feature.
//! `tests/it/layers.rs` checks the order on every `use crate::...` line.

pub mod analysis;
pub mod batch;
pub mod capture;
pub mod cli;
pub mod posetrack;
pub mod present;
pub mod serve;
pub mod support;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
