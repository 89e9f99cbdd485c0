//! BlazePose person detector: letterboxed 224x224 input, 2254 SSD anchors, sigmoid scores,
//! weighted non-maximum suppression (MediaPipe's `WEIGHTED` algorithm: overlapping boxes are
//! averaged by score, which steadies the first crop). Returns every person found, best first.

use opencv::{core, imgproc, prelude::*};

use super::geometry::{letterbox, Affine};
use super::model::{Model, ModelError, ModelSpec, TensorSpec};
use super::Point;

pub const INPUT_SIZE: i32 = 224;
pub const NUM_ANCHORS: usize = 2254;
const NUM_COORDS: usize = 12;
/// Keypoint indices of a detection.
pub const KP_HIP_CENTER: usize = 0;
pub const KP_FULL_BODY_SCALE: usize = 1;

pub const DETECTOR_SPEC: ModelSpec = ModelSpec {
    what: "BlazePose person detector",
    input: TensorSpec { name: "input_1", shape: &[1, 224, 224, 3] },
    outputs: &[
        TensorSpec { name: "Identity", shape: &[1, 2254, 12] },
        TensorSpec { name: "Identity_1", shape: &[1, 2254, 1] },
    ],
};

/// One person found by the detector, in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Probability that this is a person (0..1).
    pub score: f64,
    /// Box: top-left and bottom-right corners.
    pub min: Point,
    pub max: Point,
    /// Alignment keypoints: hip centre, full-body scale point, shoulder centre, upper-body point.
    pub keypoints: [Point; 4],
}

impl Detection {
    /// Half the body length: the distance from hip centre to the full-body scale point.
    pub fn body_scale_px(&self) -> f64 {
        self.keypoints[KP_HIP_CENTER].dist(self.keypoints[KP_FULL_BODY_SCALE])
    }
}

/// SSD anchor centres (normalised 0..1) for MediaPipe's pose detector options: 5 layers, strides
/// 8, 16, 32, 32, 32 on a 224 input, two anchors per cell per layer, layers of equal stride sharing
/// one grid, offset 0.5, fixed anchor size (so anchors have unit width and height).
pub fn ssd_anchors() -> Vec<Point> {
    let strides = [8, 16, 32, 32, 32];
    let mut anchors = Vec::with_capacity(NUM_ANCHORS);
    let mut i = 0;
    while i < strides.len() {
        let mut j = i;
        let mut per_cell = 0;
        while j < strides.len() && strides[j] == strides[i] {
            per_cell += 2;
            j += 1;
        }
        let grid = (INPUT_SIZE as f64 / strides[i] as f64).ceil() as usize;
        for y in 0..grid {
            for x in 0..grid {
                for _ in 0..per_cell {
                    anchors.push(Point::new((x as f64 + 0.5) / grid as f64, (y as f64 + 0.5) / grid as f64));
                }
            }
        }
        i = j;
    }
    anchors
}

/// The detector with its buffers.
pub struct Detector {
    model: Model,
    anchors: Vec<Point>,
    letterboxed: core::Mat,
    raw: Vec<Detection>,
    /// Minimum person score (0..1).
    pub min_score: f64,
    /// Boxes overlapping more than this (intersection over union) are merged.
    pub nms_iou: f64,
}

impl Detector {
    pub fn new(model: Model) -> Detector {
        Detector {
            model,
            anchors: ssd_anchors(),
            letterboxed: core::Mat::default(),
            raw: Vec::with_capacity(64),
            min_score: 0.5,
            nms_iou: 0.3,
        }
    }

    /// Finds people in a BGR frame, best score first, into `out` (cleared first).
    pub fn detect(&mut self, frame: &core::Mat, out: &mut Vec<Detection>) -> Result<(), ModelError> {
        out.clear();
        let (w, h) = (frame.cols() as f64, frame.rows() as f64);
        let to_input = letterbox(w, h, INPUT_SIZE as f64);
        warp_into(frame, &to_input, INPUT_SIZE, &mut self.letterboxed)?;
        let pixels = self.letterboxed.data_bytes().map_err(cv_err)?;
        for (dst, bgr) in self.model.input_mut().chunks_exact_mut(3).zip(pixels.chunks_exact(3)) {
            dst[0] = bgr[2] as f32 / 127.5 - 1.0;
            dst[1] = bgr[1] as f32 / 127.5 - 1.0;
            dst[2] = bgr[0] as f32 / 127.5 - 1.0;
        }
        let to_frame = to_input.inverse();
        let outputs = self.model.run()?;
        let boxes = outputs.get(0)?;
        let scores = outputs.get(1)?;
        self.raw.clear();
        let size = INPUT_SIZE as f64;
        for (i, anchor) in self.anchors.iter().enumerate() {
            let score = sigmoid(scores[i].clamp(-100.0, 100.0) as f64);
            if score < self.min_score {
                continue;
            }
            let r = &boxes[i * NUM_COORDS..(i + 1) * NUM_COORDS];
            // Regressions are in input pixels relative to the anchor centre.
            let at = |dx: f32, dy: f32| {
                to_frame.apply(Point::new((dx as f64 / size + anchor.x) * size, (dy as f64 / size + anchor.y) * size))
            };
            let center = at(r[0], r[1]);
            let half_w = r[2] as f64 / 2.0 * to_frame.0[0];
            let half_h = r[3] as f64 / 2.0 * to_frame.0[4];
            self.raw.push(Detection {
                score,
                min: Point::new(center.x - half_w, center.y - half_h),
                max: Point::new(center.x + half_w, center.y + half_h),
                keypoints: [at(r[4], r[5]), at(r[6], r[7]), at(r[8], r[9]), at(r[10], r[11])],
            });
        }
        weighted_nms(&mut self.raw, self.nms_iou, out);
        Ok(())
    }
}

/// MediaPipe's weighted non-maximum suppression. `dets` is consumed (left empty).
pub fn weighted_nms(dets: &mut Vec<Detection>, iou_threshold: f64, out: &mut Vec<Detection>) {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    while !dets.is_empty() {
        let best = dets[0];
        let (mut total, mut acc) = (0.0, [0.0f64; 12]);
        dets.retain(|d| {
            if iou(&best, d) <= iou_threshold {
                return true;
            }
            total += d.score;
            let coords = [d.min.x, d.min.y, d.max.x, d.max.y];
            for (k, v) in coords.iter().chain(d.keypoints.iter().flat_map(|p| [&p.x, &p.y])).enumerate().take(12) {
                acc[k] += d.score * v;
            }
            false
        });
        let mut merged = best;
        if total > 0.0 {
            let a = acc.map(|v| v / total);
            merged.min = Point::new(a[0], a[1]);
            merged.max = Point::new(a[2], a[3]);
            for k in 0..4 {
                merged.keypoints[k] = Point::new(a[4 + 2 * k], a[5 + 2 * k]);
            }
        }
        out.push(merged);
    }
}

fn iou(a: &Detection, b: &Detection) -> f64 {
    let ix = (a.max.x.min(b.max.x) - a.min.x.max(b.min.x)).max(0.0);
    let iy = (a.max.y.min(b.max.y) - a.min.y.max(b.min.y)).max(0.0);
    let inter = ix * iy;
    let area = |d: &Detection| (d.max.x - d.min.x).max(0.0) * (d.max.y - d.min.y).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub(crate) fn cv_err(e: opencv::Error) -> ModelError {
    ModelError::Run(format!("OpenCV: {e}"))
}

/// Warps the frame straight into a `side` x `side` BGR buffer (black outside the frame).
pub(crate) fn warp_into(frame: &core::Mat, m: &Affine, side: i32, dst: &mut core::Mat) -> Result<(), ModelError> {
    let a = &m.0;
    // A stack-allocated 2x3 matrix: nothing is allocated per frame.
    let mat = core::Matx23d::from_array([a[0], a[1], a[2], a[3], a[4], a[5]]);
    imgproc::warp_affine(
        frame,
        dst,
        &mat,
        core::Size::new(side, side),
        imgproc::INTER_LINEAR,
        core::BORDER_CONSTANT,
        core::Scalar::all(0.0),
    )
    .map_err(cv_err)?;
    if !dst.is_continuous() || dst.typ() != core::CV_8UC3 {
        return Err(ModelError::Run(format!("unexpected crop layout (type {})", dst.typ())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_count_and_layout() {
        let a = ssd_anchors();
        assert_eq!(a.len(), NUM_ANCHORS);
        // First grid is 28x28 with 2 anchors per cell, the first at the first cell centre.
        assert!((a[0].x - 0.5 / 28.0).abs() < 1e-12 && (a[1].x - 0.5 / 28.0).abs() < 1e-12);
        // Last block: 7x7 cells, 6 anchors per cell, last at the bottom-right cell centre.
        let last = a[NUM_ANCHORS - 1];
        assert!((last.x - 6.5 / 7.0).abs() < 1e-12 && (last.y - 6.5 / 7.0).abs() < 1e-12);
    }

    fn det(score: f64, x: f64) -> Detection {
        let p = Point::new(x, 0.0);
        Detection { score, min: Point::new(x, 0.0), max: Point::new(x + 10.0, 10.0), keypoints: [p; 4] }
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_separate_people() {
        let mut dets = vec![det(0.6, 1.0), det(0.9, 0.0), det(0.8, 100.0)];
        let mut out = Vec::new();
        weighted_nms(&mut dets, 0.3, &mut out);
        assert_eq!(out.len(), 2);
        assert!((out[0].score - 0.9).abs() < 1e-12);
        // Score-weighted average of x = 0 (0.9) and x = 1 (0.6).
        assert!((out[0].min.x - 0.6 / 1.5).abs() < 1e-12);
        assert!((out[1].min.x - 100.0).abs() < 1e-12);
    }
}
