//! The back outline: where the body silhouette ends on each side of the hip->shoulder axis, read
//! from the landmark model's segmentation logits. This is the only evidence these models give of
//! the back's shape (no spine keypoints), and what the lumbar-flexion measure is built on.
//!
//! Definition (after `reference/back_outline_reference.py`): in the 256x256 crop, H = hip centre,
//! S = shoulder centre, L = |S - H|, u = (S - H) / L. At 41 evenly spaced points H + t (S - H),
//! t = 0..1, a ray is cast along a normal; the outline is where the logit first drops to <= 0
//! (linear interpolation between 0.25 px steps, up to 0.9 L), expressed in units of L. A ray that
//! starts outside the body or never leaves it within 0.9 L gives `None`.
//!
//! Both sides are kept because which side is the back depends on the facing direction, decided
//! later from the whole track: `back_if_facing_right` looks along n = (u.y, -u.x) (y-down image
//! coordinates), which is behind a lifter facing +x; `back_if_facing_left` looks along -n. The crop is a rotation plus uniform scale, so widths in units of L and
//! the angles between outline segments are the same in frame pixels.

use super::geometry::Affine;
use super::Point;

/// Samples along the hip->shoulder axis.
pub const OUTLINE_SAMPLES: usize = 41;
const STEP_PX: f64 = 0.25;
const MAX_WIDTH_L: f64 = 0.9;
/// Logit used outside the crop (clearly background).
const OUTSIDE_LOGIT: f64 = -10.0;

/// Outline widths on both sides of the trunk axis.
#[derive(Debug, Clone, PartialEq)]
pub struct BackOutline {
    /// Hip centre in frame pixels (t = 0).
    pub hip: Point,
    /// Shoulder centre in frame pixels (t = 1).
    pub shoulder: Point,
    /// Distance to the silhouette edge along n = (u.y, -u.x), in units of |shoulder - hip|:
    /// the back for a lifter facing +x.
    pub back_if_facing_right: [Option<f32>; OUTLINE_SAMPLES],
    /// Distance along -n: the back for a lifter facing -x.
    pub back_if_facing_left: [Option<f32>; OUTLINE_SAMPLES],
}

impl BackOutline {
    /// Maps the axis end points from crop to frame pixels (widths are scale-free).
    pub fn to_frame(mut self, crop_to_frame: &Affine) -> BackOutline {
        self.hip = crop_to_frame.apply(self.hip);
        self.shoulder = crop_to_frame.apply(self.shoulder);
        self
    }

    /// Edge point `i` on the chosen side, in the same pixels as `hip`/`shoulder`.
    pub fn edge_point(&self, i: usize, facing_right: bool) -> Option<Point> {
        let widths = if facing_right { &self.back_if_facing_right } else { &self.back_if_facing_left };
        let w = widths[i]? as f64;
        let (ax, ay) = (self.shoulder.x - self.hip.x, self.shoulder.y - self.hip.y);
        let sign = if facing_right { 1.0 } else { -1.0 };
        let t = i as f64 / (OUTLINE_SAMPLES - 1) as f64;
        Some(Point::new(self.hip.x + t * ax + w * sign * ay, self.hip.y + t * ay - w * sign * ax))
    }
}

/// Segmentation logits over a window of the crop: `width` x `height` values, row-major, the
/// first at crop pixel (`x0`, `y0`). Outside the window reads as background.
#[derive(Debug, Clone, Copy)]
pub struct Logits<'a> {
    pub values: &'a [f32],
    pub x0: usize,
    pub y0: usize,
    pub width: usize,
    pub height: usize,
}

impl<'a> Logits<'a> {
    /// The whole `side` x `side` crop.
    pub fn whole(values: &'a [f32], side: usize) -> Logits<'a> {
        Logits { values, x0: 0, y0: 0, width: side, height: side }
    }
}

/// The crop pixels [`back_outline`] reads for the axis `hip`->`shoulder`, as (x min, y min,
/// x max, y max): the rays' reach on both sides, and the pixel beyond that bilinear sampling
/// touches. `None` when the axis is degenerate.
pub fn read_bounds(hip: Point, shoulder: Point) -> Option<[f64; 4]> {
    let (ax, ay) = (shoulder.x - hip.x, shoulder.y - hip.y);
    let len = ax.hypot(ay);
    if !(len > 2.0) {
        return None;
    }
    let reach = MAX_WIDTH_L * len + 2.0 * STEP_PX + 1.0;
    let (nx, ny) = ((ay / len * reach).abs(), (ax / len * reach).abs());
    Some([
        hip.x.min(shoulder.x) - nx,
        hip.y.min(shoulder.y) - ny,
        hip.x.max(shoulder.x) + nx,
        hip.y.max(shoulder.y) + ny,
    ])
}

/// Reads the outline from the logits `seg` around the axis `hip`->`shoulder` given in crop
/// pixels. `None` when the axis is degenerate.
pub fn back_outline(seg: Logits<'_>, hip: Point, shoulder: Point) -> Option<BackOutline> {
    let (ax, ay) = (shoulder.x - hip.x, shoulder.y - hip.y);
    let len = ax.hypot(ay);
    // (Negated so that a NaN length is rejected too.)
    if !(len > 2.0) || seg.values.len() < seg.width * seg.height {
        return None;
    }
    let (ux, uy) = (ax / len, ay / len);
    let normal = (uy, -ux);
    let steps = (MAX_WIDTH_L * len / STEP_PX) as usize + 2;
    let mut out = BackOutline {
        hip,
        shoulder,
        back_if_facing_right: [None; OUTLINE_SAMPLES],
        back_if_facing_left: [None; OUTLINE_SAMPLES],
    };
    for i in 0..OUTLINE_SAMPLES {
        let t = i as f64 / (OUTLINE_SAMPLES - 1) as f64;
        let base = Point::new(hip.x + t * ax, hip.y + t * ay);
        for (sign, widths) in [(1.0, &mut out.back_if_facing_right), (-1.0, &mut out.back_if_facing_left)] {
            let dir = (sign * normal.0, sign * normal.1);
            widths[i] = edge_distance(seg, base, dir, steps).map(|d| (d / len) as f32);
        }
    }
    Some(out)
}

/// Distance in pixels from `base` along unit `dir` to where the logit first drops to <= 0.
fn edge_distance(seg: Logits<'_>, base: Point, dir: (f64, f64), steps: usize) -> Option<f64> {
    let mut prev = sample(seg, base.x, base.y);
    if prev <= 0.0 {
        return None;
    }
    for k in 1..steps {
        let s = k as f64 * STEP_PX;
        let v = sample(seg, base.x + s * dir.0, base.y + s * dir.1);
        if v <= 0.0 {
            return Some(s - STEP_PX + STEP_PX * prev / (prev - v));
        }
        prev = v;
    }
    None
}

/// Bilinear sample with a constant background outside the logits' window (as cv2.remap with a
/// border).
fn sample(seg: Logits<'_>, x: f64, y: f64) -> f64 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: f64, yi: f64| -> f64 {
        let (col, row) = (xi - seg.x0 as f64, yi - seg.y0 as f64);
        if col < 0.0 || row < 0.0 || col >= seg.width as f64 || row >= seg.height as f64 {
            OUTSIDE_LOGIT
        } else {
            seg.values[row as usize * seg.width + col as usize] as f64
        }
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
    top * (1.0 - fy) + bottom * fy
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A silhouette: a vertical band of logit +5 from x = 100 to x = 140, -5 elsewhere.
    fn band() -> Vec<f32> {
        let side = 256;
        let mut seg = vec![-5.0f32; side * side];
        for y in 0..side {
            for x in 100..=140 {
                seg[y * side + x] = 5.0;
            }
        }
        seg
    }

    #[test]
    fn straight_back_reads_constant_width_on_each_side() {
        let seg = band();
        // Axis at x = 120, hip below shoulder (upright): n = (u.y, -u.x) = (-1, 0) points to -x.
        let o = back_outline(Logits::whole(&seg, 256), Point::new(120.0, 200.0), Point::new(120.0, 100.0))
            .expect("outline");
        for i in 0..OUTLINE_SAMPLES {
            let right = o.back_if_facing_right[i].expect("edge") as f64 * 100.0;
            let left = o.back_if_facing_left[i].expect("edge") as f64 * 100.0;
            // Edge at x = 140.5 (between the last +5 and first -5 pixel) on +x, 99.5 on -x.
            assert!((right - 20.5).abs() < 0.3, "right {right}");
            assert!((left - 20.5).abs() < 0.3, "left {left}");
        }
        let p = o.edge_point(20, true).expect("point");
        assert!((p.x - 99.5).abs() < 0.3 && (p.y - 150.0).abs() < 1e-6, "{p:?}");
    }

    #[test]
    fn ray_starting_outside_gives_none() {
        let seg = band();
        let o =
            back_outline(Logits::whole(&seg, 256), Point::new(30.0, 200.0), Point::new(30.0, 100.0)).expect("outline");
        assert!(o.back_if_facing_right.iter().all(Option::is_none));
    }

    #[test]
    fn a_window_holding_what_the_rays_read_gives_the_whole_crops_outline() {
        let seg = band();
        let (hip, shoulder) = (Point::new(110.0, 190.0), Point::new(135.0, 105.0));
        let whole = back_outline(Logits::whole(&seg, 256), hip, shoulder).expect("outline");
        let [x0, y0, x1, y1] = read_bounds(hip, shoulder).expect("bounds");
        let (x0, y0) = (x0.floor().max(0.0) as usize, y0.floor().max(0.0) as usize);
        let (x1, y1) = ((x1.ceil() as usize + 1).min(256), (y1.ceil() as usize + 1).min(256));
        let values: Vec<f32> = (y0..y1).flat_map(|y| seg[y * 256 + x0..y * 256 + x1].to_vec()).collect();
        let window = Logits { values: &values, x0, y0, width: x1 - x0, height: y1 - y0 };
        assert!(window.width < 200 && window.height < 200, "{window:?}");
        assert_eq!(back_outline(window, hip, shoulder).expect("outline"), whole);
    }
}
