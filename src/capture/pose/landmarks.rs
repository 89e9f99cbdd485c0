//! BlazePose landmark model: warps the rotated square ROI straight from the full frame into the
//! 256x256 input, runs the model, refines landmarks from the heatmap as MediaPipe does, and maps
//! the 39 points (33 named + hip centre + full-body scale point) back to frame pixels.
//!
//! The segmentation (the body silhouette the back outline is read from) is either the model's
//! own `Identity_2` output (a whole model) or a separate head fed the model's feature maps (a
//! model split by `scripts/split_landmark_model.py`, with `NAME.seg.onnx` beside `NAME.onnx`).
//! ONNX Runtime runs every node of a model whatever outputs are asked for, and the head is about
//! half of the full model's time: split, it runs only on the frames whose outline is wanted, and
//! only over the part of the crop the outline reads (`segmentation`).

use std::time::Instant;

use opencv::{core, prelude::*};
use ort::session::builder::GraphOptimizationLevel;

use super::back::{back_outline, read_bounds, BackOutline, Logits};
use super::detector::{cv_err, sigmoid, warp_into};
use super::geometry::Roi;
use super::model::{
    check_model, check_outlets, named, open_session, outlet_shapes, Model, ModelError, ModelSpec, TensorSpec,
};
use super::segmentation::SegmentationHead;
use super::{Keypoint, Point, StageTimes, NUM_LANDMARKS};

pub const INPUT_SIZE: i32 = 256;
/// Landmarks the model outputs: 33 named ones plus two auxiliary alignment points.
pub const NUM_POINTS: usize = 39;
pub const AUX_HIP_CENTER: usize = 33;
pub const AUX_FULL_BODY_SCALE: usize = 34;
const HEATMAP_SIZE: usize = 64;
/// MediaPipe's RefineLandmarksFromHeatmap options for the pose graph.
const REFINE_KERNEL: usize = 7;
const REFINE_MIN_CONFIDENCE: f64 = 0.5;

/// What the landmark model must have, whole or split (the segmentation aside).
pub const LANDMARK_SPEC: ModelSpec = ModelSpec {
    what: "BlazePose landmark model",
    input: TensorSpec { name: "input_1", shape: &[1, 256, 256, 3] },
    outputs: &[
        TensorSpec { name: "Identity", shape: &[1, 195] },
        TensorSpec { name: "Identity_1", shape: &[1, 1] },
        TensorSpec { name: "Identity_3", shape: &[1, 64, 64, 39] },
        TensorSpec { name: "Identity_4", shape: &[1, 117] },
    ],
};
/// The segmentation logits: an output of a whole landmark model, or of its split-off head.
pub const SEGMENTATION: TensorSpec = TensorSpec { name: "Identity_2", shape: &[1, 256, 256, 1] };
/// Output numbers in the landmark model's outputs (the order of `LANDMARK_SPEC`, then the
/// segmentation when the model is whole).
const OUT_LANDMARKS: usize = 0;
const OUT_PRESENCE: usize = 1;
const OUT_HEATMAP: usize = 2;
const OUT_WORLD: usize = 3;
const OUT_SEGMENTATION: usize = 4;

/// The segmentation head's file beside a split landmark model: `NAME.seg.onnx` for `NAME.onnx`.
pub fn segmentation_head_path(landmark: &std::path::Path) -> std::path::PathBuf {
    landmark.with_extension("seg.onnx")
}

/// What one run of the landmark model gives, in frame pixels.
#[derive(Debug, Clone)]
pub struct LandmarkResult {
    pub keypoints: [Keypoint; NUM_LANDMARKS],
    /// Hip centre and full-body scale point, for the next frame's ROI.
    pub aux: [Point; 2],
    /// Pose presence probability.
    pub presence: f64,
    /// Distance from hip centre to shoulder centre in crop pixels: a drift check (the crop is
    /// sized to the body, so this stays steady while the crop stays on the person).
    pub torso_crop_px: f64,
    pub back: Option<BackOutline>,
    /// How far the camera is from side-on, degrees (0 = side view, 90 = from the front or
    /// back), from the world landmarks: see [`camera_angle_deg`].
    pub camera_angle_deg: Option<f64>,
}

/// How far the camera looks from side-on, from the model's world landmarks (`Identity_4`: 39 x
/// (x, y, z) metres, hip-centred, z along the camera's axis): the angle between the camera's axis
/// and the body's left-right lines (shoulder to shoulder, hip to hip), averaged over the two.
/// From the side those lines point along the camera's axis (0 deg); from the front they lie
/// across the picture (90 deg). Measured against the axis, it does not depend on how the crop is
/// rolled in the picture. `None` when a line is degenerate.
pub fn camera_angle_deg(world: &[f32]) -> Option<f64> {
    let p = |i: usize| world.get(3 * i..3 * i + 3).map(|v| [v[0] as f64, v[1] as f64, v[2] as f64]);
    let line_angle = |a: usize, b: usize| -> Option<f64> {
        let (a, b) = (p(a)?, p(b)?);
        let (dx, dy, dz) = (b[0] - a[0], b[1] - a[1], b[2] - a[2]);
        let across = dx.hypot(dy);
        (across + dz.abs() > 1e-6).then(|| across.atan2(dz.abs()).to_degrees())
    };
    Some(0.5 * (line_angle(11, 12)? + line_angle(23, 24)?))
}

/// The landmark model with its buffers.
pub struct LandmarkModel {
    model: Model,
    /// The split-off segmentation head (`None`: the model is whole and gives the logits itself).
    head: Option<SegmentationHead>,
    crop: core::Mat,
    /// Refine landmark positions from the heatmap (MediaPipe does).
    pub refine_from_heatmap: bool,
    /// Time spent so far, by stage.
    pub times: StageTimes,
}

impl LandmarkModel {
    /// Loads the landmark model at `path`, whole or split (its head beside it, see
    /// [`segmentation_head_path`]), and checks both parts.
    pub fn load(env: &ort::environment::Environment, path: &std::path::Path) -> Result<LandmarkModel, ModelError> {
        let session = open_session(env, path, GraphOptimizationLevel::All)?;
        check_model(&session, path, &LANDMARK_SPEC)?;
        let mismatch =
            |problem: String| ModelError::Mismatch { path: path.to_path_buf(), what: LANDMARK_SPEC.what, problem };
        let owned = |t: &TensorSpec| (t.name.to_string(), t.shape.to_vec());
        let mut outputs: Vec<(String, Vec<i64>)> = LANDMARK_SPEC.outputs.iter().map(owned).collect();
        let whole = session.outputs().iter().any(|o| o.name() == SEGMENTATION.name);
        let head = if whole {
            check_outlets("output", session.outputs(), named(&[SEGMENTATION])).map_err(mismatch)?;
            outputs.push(owned(&SEGMENTATION));
            None
        } else {
            let head_path = segmentation_head_path(path);
            if !head_path.is_file() {
                return Err(mismatch(format!(
                    "it has no segmentation output '{}' and no segmentation head beside it ({})",
                    SEGMENTATION.name,
                    head_path.display()
                )));
            }
            let model_outputs = outlet_shapes(session.outputs());
            let head = SegmentationHead::load(env, &head_path, &model_outputs, INPUT_SIZE as usize, SEGMENTATION)?;
            // The head's inputs are among the model's outputs (checked): select them too.
            outputs.extend(model_outputs.into_iter().filter(|(name, _)| head.inputs().any(|i| i == name)));
            Some(head)
        };
        let model = Model::prepare(session, path, LANDMARK_SPEC.input, &outputs)?;
        Ok(LandmarkModel {
            model,
            head,
            crop: core::Mat::default(),
            refine_from_heatmap: true,
            times: StageTimes::default(),
        })
    }

    /// Runs the model on `roi` of `frame` (BGR); reads the back outline only when `outline`.
    pub fn run(&mut self, frame: &core::Mat, roi: &Roi, outline: bool) -> Result<LandmarkResult, ModelError> {
        let t0 = Instant::now();
        let to_crop = roi.frame_to_crop(INPUT_SIZE as f64);
        warp_into(frame, &to_crop, INPUT_SIZE, &mut self.crop)?;
        let pixels = self.crop.data_bytes().map_err(cv_err)?;
        for (dst, bgr) in self.model.input_mut().chunks_exact_mut(3).zip(pixels.chunks_exact(3)) {
            dst[0] = bgr[2] as f32 / 255.0;
            dst[1] = bgr[1] as f32 / 255.0;
            dst[2] = bgr[0] as f32 / 255.0;
        }
        let refine = self.refine_from_heatmap;
        let t1 = Instant::now();
        self.times.crop_s += (t1 - t0).as_secs_f64();
        let outputs = self.model.run()?;
        let t2 = Instant::now();
        self.times.landmark_infer_s += (t2 - t1).as_secs_f64();
        let raw = outputs.get(OUT_LANDMARKS)?;
        let presence = outputs.get(OUT_PRESENCE)?[0] as f64;
        let heatmap = outputs.get(OUT_HEATMAP)?;
        let camera_angle_deg = camera_angle_deg(outputs.get(OUT_WORLD)?);

        let mut crop_pts = [Point::default(); NUM_POINTS];
        for (i, p) in crop_pts.iter_mut().enumerate() {
            *p = Point::new(raw[i * 5] as f64, raw[i * 5 + 1] as f64);
            if refine {
                refine_from_heatmap(p, heatmap, i);
            }
        }
        let to_frame = to_crop.inverse();
        let mut keypoints = [Keypoint { x: 0.0, y: 0.0, visibility: 0.0 }; NUM_LANDMARKS];
        for (i, k) in keypoints.iter_mut().enumerate() {
            let q = to_frame.apply(crop_pts[i]);
            *k = Keypoint { x: q.x, y: q.y, visibility: sigmoid(raw[i * 5 + 3] as f64) };
        }
        let aux = [to_frame.apply(crop_pts[AUX_HIP_CENTER]), to_frame.apply(crop_pts[AUX_FULL_BODY_SCALE])];
        let hip = crop_pts[23].mid(crop_pts[24]);
        let shoulder = crop_pts[11].mid(crop_pts[12]);
        let mut back = None;
        if outline {
            let read = |seg: Logits<'_>| back_outline(seg, hip, shoulder).map(|o| o.to_frame(&to_frame));
            match self.head.as_mut() {
                None => back = read(Logits::whole(outputs.get(OUT_SEGMENTATION)?, INPUT_SIZE as usize)),
                Some(head) => {
                    let t3 = Instant::now();
                    let logits = match read_bounds(hip, shoulder) {
                        Some(bounds) => head.run(bounds, |name| outputs.get_named(name))?,
                        None => None,
                    };
                    back = logits.and_then(read);
                    self.times.segmentation_s += t3.elapsed().as_secs_f64();
                }
            }
            self.times.outlines += 1;
        }
        drop(outputs);
        self.times.landmark_post_s += t2.elapsed().as_secs_f64();
        Ok(LandmarkResult { keypoints, aux, presence, torso_crop_px: hip.dist(shoulder), back, camera_angle_deg })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }
}

/// MediaPipe's RefineLandmarksFromHeatmapCalculator: when the heatmap is confident near the
/// landmark, replace its position by the confidence-weighted mean of a 7x7 window.
fn refine_from_heatmap(p: &mut Point, heatmap: &[f32], channel: usize) {
    let n = HEATMAP_SIZE as i64;
    // C++ truncates toward zero when converting to int.
    let col = (p.x / INPUT_SIZE as f64 * n as f64) as i64;
    let row = (p.y / INPUT_SIZE as f64 * n as f64) as i64;
    if col < 0 || col >= n || row < 0 || row >= n {
        return;
    }
    let off = (REFINE_KERNEL as i64 - 1) / 2;
    let (mut sum, mut wc, mut wr, mut max) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for r in (row - off).max(0)..(row + off + 1).min(n) {
        for c in (col - off).max(0)..(col + off + 1).min(n) {
            let conf = sigmoid(heatmap[((r * n + c) as usize) * NUM_POINTS + channel] as f64);
            sum += conf;
            max = max.max(conf);
            wc += c as f64 * conf;
            wr += r as f64 * conf;
        }
    }
    if max >= REFINE_MIN_CONFIDENCE && sum > 0.0 {
        let scale = INPUT_SIZE as f64 / n as f64;
        *p = Point::new(wc / sum * scale, wr / sum * scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_refinement_moves_to_weighted_peak() {
        let mut hm = vec![-20.0f32; 64 * 64 * NUM_POINTS];
        // A confident blob centred on heatmap cell (10, 20) for channel 5.
        hm[(20 * 64 + 10) * NUM_POINTS + 5] = 10.0;
        let mut p = Point::new(10.0 * 4.0 + 3.0, 20.0 * 4.0 + 1.0);
        refine_from_heatmap(&mut p, &hm, 5);
        assert!((p.x - 40.0).abs() < 0.01 && (p.y - 80.0).abs() < 0.01, "{p:?}");
        // Not confident: untouched.
        let mut q = Point::new(100.0, 100.0);
        refine_from_heatmap(&mut q, &hm, 6);
        assert_eq!(q, Point::new(100.0, 100.0));
    }

    #[test]
    fn camera_angle_is_zero_from_the_side_and_ninety_from_the_front_whatever_the_roll() {
        // Shoulders (11, 12) and hips (23, 24) 0.4 m and 0.3 m apart along a direction `d`.
        let world = |d: [f32; 3]| {
            let mut w = vec![0.0f32; 117];
            for (i, half) in [(11, 0.2f32), (12, -0.2), (23, 0.15), (24, -0.15)] {
                w[3 * i..3 * i + 3].copy_from_slice(&[d[0] * half, d[1] * half - 0.5, d[2] * half]);
            }
            w
        };
        let side = camera_angle_deg(&world([0.0, 0.0, 1.0])).expect("angle");
        assert!(side.abs() < 1e-6, "{side}");
        let front = camera_angle_deg(&world([1.0, 0.0, 0.0])).expect("angle");
        assert!((front - 90.0).abs() < 1e-6, "{front}");
        // 40 deg from side-on, and the same with the crop rolled 60 deg in the picture.
        let (s, c) = 40f32.to_radians().sin_cos();
        let turned = camera_angle_deg(&world([s, 0.0, c])).expect("angle");
        let (rs, rc) = 60f32.to_radians().sin_cos();
        let rolled = camera_angle_deg(&world([s * rc, s * rs, c])).expect("angle");
        assert!((turned - 40.0).abs() < 1e-3 && (rolled - 40.0).abs() < 1e-3, "{turned} {rolled}");
    }
}
