//! The landmark model's segmentation head, split off the model (`scripts/split_landmark_model.py`)
//! and run on a window of the crop: the part the back outline reads, plus a margin.
//!
//! The head is fully convolutional (3x3 convolutions and 2x bilinear upsampling with half-pixel
//! centres from feature maps at 1/2 and 1/4 of the crop), so a window of its inputs gives the
//! same logits as the whole crop wherever the window reaches [`MARGIN_PX`] beyond (the head's
//! reach is 17 crop pixels); windows are aligned to the coarsest map so that the upsampling sees
//! the same pixel grid. The outline reads a band around the trunk, often a third of the crop.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;

use super::back::Logits;
use super::model::{check_outlets, open_session, outlet_shapes, ModelError, TensorSpec};

/// Crop pixels beyond what is read that the window must include for exact logits.
const MARGIN_PX: f64 = 20.0;
const WHAT: &str = "BlazePose segmentation head";

/// One input of the head: a feature map the landmark model outputs.
struct Feature {
    name: String,
    channels: usize,
    /// Its side (it is square) and how many crop pixels one of its pixels covers.
    side: usize,
    stride: usize,
}

/// The head, loaded and checked against the landmark model it belongs to.
pub struct SegmentationHead {
    session: Session,
    features: Vec<Feature>,
    /// The crop's side (px).
    crop_side: usize,
    /// Window edges are multiples of this (the coarsest feature map's stride).
    align: usize,
    /// The last run's logits over its window.
    logits: Vec<f32>,
    path: PathBuf,
}

impl SegmentationHead {
    /// Loads the head at `path`. Its inputs must be outputs of the landmark model (`model_outputs`:
    /// their names and shapes), square feature maps dividing the `crop_side` crop evenly; its
    /// output is `output` (the logits, one channel).
    pub fn load(
        env: &ort::environment::Environment,
        path: &Path,
        model_outputs: &[(String, Vec<i64>)],
        crop_side: usize,
        output: TensorSpec,
    ) -> Result<SegmentationHead, ModelError> {
        // Without the NCHWc layout: the head's last stage works on 8-channel maps at the crop's
        // size, which NCHWc pads to 16 channels and reorders around each operator (a whole-crop
        // run took 12.1 ms with it, 9.6 ms without, on the gymapp clip; the logits differ by
        // float rounding, a few hundredths).
        let session = open_session(env, path, GraphOptimizationLevel::Level2)?;
        let mismatch = |problem: String| ModelError::Mismatch { path: path.to_path_buf(), what: WHAT, problem };
        // The output's spatial size follows the window: only its name and rank are fixed.
        let rank_only: Vec<i64> = output.shape.iter().map(|_| -1).collect();
        check_outlets("output", session.outputs(), [(output.name, rank_only.as_slice())]).map_err(mismatch)?;
        let mut features = Vec::new();
        for (name, _) in outlet_shapes(session.inputs()) {
            let Some((_, shape)) = model_outputs.iter().find(|(n, _)| *n == name) else {
                return Err(mismatch(format!("its input '{name}' is not an output of the landmark model")));
            };
            let (channels, side) = match shape.as_slice() {
                [1, c, h, w] if *c > 0 && h == w && *h > 0 && crop_side % *h as usize == 0 => {
                    (*c as usize, *h as usize)
                }
                _ => return Err(mismatch(format!("its input '{name}' has shape {shape:?}, not a square feature map"))),
            };
            features.push(Feature { name, channels, side, stride: crop_side / side });
        }
        let align = features.iter().map(|f| f.stride).max().unwrap_or(1);
        Ok(SegmentationHead { session, features, crop_side, align, logits: Vec::new(), path: path.to_path_buf() })
    }

    /// The names of the landmark model's outputs the head reads.
    pub fn inputs(&self) -> impl Iterator<Item = &str> {
        self.features.iter().map(|f| f.name.as_str())
    }

    /// Runs the head on the window of the crop that holds `bounds` (crop pixels: x min, y min,
    /// x max, y max), reading its inputs with `feature` (name -> the whole map, NCHW). `None`
    /// when the bounds miss the crop.
    pub fn run<'f>(
        &mut self,
        bounds: [f64; 4],
        feature: impl Fn(&str) -> Result<&'f [f32], ModelError>,
    ) -> Result<Option<Logits<'_>>, ModelError> {
        let Some([x0, y0, x1, y1]) = window(bounds, self.crop_side, self.align) else { return Ok(None) };
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = Vec::with_capacity(self.features.len());
        for f in &self.features {
            let whole = feature(&f.name)?;
            if whole.len() < f.channels * f.side * f.side {
                return Err(ModelError::Run(format!("feature map {} is too small", f.name)));
            }
            let (fx0, fx1, fy0, fy1) = (x0 / f.stride, x1 / f.stride, y0 / f.stride, y1 / f.stride);
            let mut part = Vec::with_capacity(f.channels * (fx1 - fx0) * (fy1 - fy0));
            for c in 0..f.channels {
                for y in fy0..fy1 {
                    let row = (c * f.side + y) * f.side;
                    part.extend_from_slice(&whole[row + fx0..row + fx1]);
                }
            }
            let tensor = Tensor::from_array(([1usize, f.channels, fy1 - fy0, fx1 - fx0], part))
                .map_err(|e| ModelError::Run(e.to_string()))?;
            inputs.push((Cow::from(f.name.as_str()), SessionInputValue::from(tensor.into_dyn())));
        }
        let outputs = self.session.run(inputs).map_err(|e| ModelError::Run(e.to_string()))?;
        let (_, values) = outputs[0].try_extract_tensor::<f32>().map_err(|e| ModelError::Run(e.to_string()))?;
        let (width, height) = (x1 - x0, y1 - y0);
        if values.len() != width * height {
            return Err(ModelError::Run(format!(
                "{}: {} logits for a {width}x{height} window",
                self.path.display(),
                values.len()
            )));
        }
        self.logits.clear();
        self.logits.extend_from_slice(values);
        Ok(Some(Logits { values: &self.logits, x0, y0, width, height }))
    }
}

/// The window (x0, y0, x1, y1; crop pixels, ends exclusive) holding `bounds` and [`MARGIN_PX`]
/// around them, its edges on multiples of `align`, within the `side` x `side` crop.
fn window(bounds: [f64; 4], side: usize, align: usize) -> Option<[usize; 4]> {
    let [bx0, by0, bx1, by1] = bounds;
    if !bounds.iter().all(|v| v.is_finite()) {
        return None;
    }
    let down = |v: f64| (((v - MARGIN_PX).floor().max(0.0) as usize) / align * align).min(side);
    let up = |v: f64| ((((v + MARGIN_PX).ceil().max(0.0) as usize) + align - 1) / align * align).min(side);
    let (x0, y0, x1, y1) = (down(bx0), down(by0), up(bx1), up(by1));
    (x1 > x0 && y1 > y0).then_some([x0, y0, x1, y1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_hold_the_bounds_and_margin_on_the_coarsest_grid_within_the_crop() {
        let w = window([50.3, 61.0, 120.2, 130.0], 256, 4).expect("window");
        assert_eq!(w, [28, 40, 144, 152]);
        assert!(w.iter().all(|v| v % 4 == 0));
        // Clamped to the crop; a window off the crop is none.
        assert_eq!(window([-30.0, 240.0, 10.0, 300.0], 256, 4), Some([0, 220, 32, 256]));
        assert_eq!(window([300.0, 0.0, 400.0, 10.0], 256, 4), None);
        assert_eq!(window([f64::NAN, 0.0, 10.0, 10.0], 256, 4), None);
    }
}
