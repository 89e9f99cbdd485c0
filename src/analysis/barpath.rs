//! The bar, from the near plate the pipeline followed, with a real-world scale; or from the hands
//! when no plate was followed (kettlebells, trap bars, small plates, a plate out of frame).
//!
//! 1. **Segments.** The plate measurements in `poses.json` are split where the tracker lost the
//!    plate (a gap over `max_gap_s`) or where it jumped (size or position). A segment is kept only
//!    when it moved *with the hands*: its median distance from the hands is at most
//!    `max_hands_distance_frac` diameters and, when the hands rose or fell by half a diameter, the
//!    plate did too. Rack plates, a plate left on the floor and round graphics fail this.
//! 2. **Source.** `plate` when the kept segments cover at least `min_plate_fraction` of the frames
//!    with a pose (and `min_plate_s`) and the view is side-on; else `hands`, and the report says
//!    why.
//! 3. **Scale.** mm per pixel = `plate_diameter_mm` / median diameter: right *at the plate*. The
//!    plate is nearer the camera than the lifter (`plate_depth_offset_m`, ~0.22 m to the midline),
//!    so the body looks smaller. With a pinhole camera of `camera_hfov_deg` across the frame's long
//!    side, the plate's distance is f x D / d, and body lengths scale by (Z + offset) / Z.
//!    Range of motion, drift and velocity are the plate's own motion (parallel to the image):
//!    plate scale. Bar-to-shin and bar-to-mid-foot compare the bar with the body: the bar point at
//!    the body's depth (the bar runs along the camera axis, so it projects toward the image centre)
//!    and the body scale.
//! 4. **Path.** Kept centres, mirrored into the lifter frame (x forward, y up); outliers dropped
//!    (Hampel); gaps up to `max_gap_s` interpolated, none longer; zero-phase low-pass per unbroken
//!    run (`lowpass_cutoff_hz`: the plate's centre is far steadier than a landmark). Velocities are taken on this, so never across a gap.

use crate::analysis::config::{BarConfig, TrackConfig};
use crate::analysis::track::{Facing, Track, P2};
use crate::posetrack::layout::{joint, weighted_pair};
use crate::posetrack::{PoseFrame, PoseTrack};
use crate::support::signal;

/// Where the bar position comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BarSource {
    Plate,
    Hands,
}

/// The plate's scale and what it implies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlateScale {
    /// Median measured plate diameter, pixels.
    pub plate_diameter_px: f64,
    /// Millimetres per pixel at the plate.
    pub mm_per_px: f64,
    /// Millimetres per pixel at the lifter's midline (the depth correction applied).
    pub body_mm_per_px: f64,
    /// Estimated camera-to-plate distance, metres (pinhole with the configured field of view).
    pub camera_to_plate_m: f64,
}

/// The bar through the clip.
#[derive(Debug, Clone)]
pub struct BarPath {
    pub source: BarSource,
    /// Present when `source` is `Plate`.
    pub scale: Option<PlateScale>,
    /// Why the hands are used, when they are.
    pub hands_reason: Option<String>,
    /// Plate centre per frame, lifter frame (x forward, y up, pixels), cleaned; `None` where the
    /// plate was not followed.
    pub plate: Vec<Option<P2>>,
    /// The bar at the lifter's midline depth per frame, lifter frame pixels (from the plate).
    pub bar_at_body: Vec<Option<P2>>,
    /// Share of frames with a pose where a kept plate measurement exists.
    pub plate_fraction: f64,
}

/// Raw hands (visibility-weighted wrists), image pixels: where the pipeline looked for the plate.
fn hands_px(l: &[[f64; 3]]) -> Option<(f64, f64)> {
    weighted_pair(l[joint::LEFT_WRIST], l[joint::RIGHT_WRIST], 0.0)
}

/// The frame's plate measurement, unless it is not a plate (a value not finite, a diameter not
/// above zero): such a record is treated as no measurement.
fn measured_plate(f: &PoseFrame) -> Option<[f64; 5]> {
    f.plate.filter(|p| p.iter().all(|v| v.is_finite()) && p[2] > 0.0)
}

/// Index ranges (inclusive) of consistent plate measurements.
fn segments(poses: &PoseTrack, max_gap_s: f64) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for (i, f) in poses.frames.iter().enumerate() {
        let Some(p) = measured_plate(f) else { continue };
        current = match current {
            Some((a, last)) => {
                let Some(q) = measured_plate(&poses.frames[last]) else { continue };
                let gap = f.t_s - poses.frames[last].t_s > max_gap_s.max(1e-6);
                let resized = (p[2] - q[2]).abs() > 0.15 * q[2];
                let jumped = (p[0] - q[0]).hypot(p[1] - q[1]) > 0.5 * q[2];
                if gap || resized || jumped {
                    out.push((a, last));
                    Some((i, i))
                } else {
                    Some((a, i))
                }
            }
            None => Some((i, i)),
        };
    }
    out.extend(current);
    out
}

/// Whether the plate in frames `a..=b` moved with the hands.
fn moves_with_hands(poses: &PoseTrack, (a, b): (usize, usize), cfg: &BarConfig) -> bool {
    let mut dist = Vec::new();
    let (mut hand_y, mut plate_y) = (Vec::new(), Vec::new());
    let mut diam = Vec::new();
    for f in &poses.frames[a..=b] {
        let (Some(p), Some(l)) = (measured_plate(f), f.landmarks.as_ref()) else { continue };
        let Some(h) = hands_px(l) else { continue };
        dist.push((p[0] - h.0).hypot(p[1] - h.1) / p[2]);
        hand_y.push(h.1);
        plate_y.push(p[1]);
        diam.push(p[2]);
    }
    let Some(median_dist) = signal::median_of(dist.iter().copied()) else { return false };
    let d = signal::median_of(diam).unwrap_or(1.0);
    let spread = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let q = |f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
        q(0.9) - q(0.1)
    };
    let (hands_moved, plate_moved) = (spread(&mut hand_y), spread(&mut plate_y));
    let static_plate = hands_moved > 0.5 * d && plate_moved < 0.3 * hands_moved;
    median_dist <= cfg.max_hands_distance_frac && !static_plate
}

/// The bar for a cleaned track. `side_view`: the camera looks along the bar (the view check);
/// otherwise the plate's scale does not hold across the image and the hands are used.
pub fn follow(poses: &PoseTrack, track: &Track, cfg: &BarConfig, track_cfg: &TrackConfig, side_view: bool) -> BarPath {
    let n = poses.frames.len();
    // Frames where the lifter or the plate was seen (the plate is followed through short pose
    // losses).
    let with_pose = poses.frames.iter().filter(|f| f.landmarks.is_some() || measured_plate(f).is_some()).count().max(1);
    let mut kept = vec![false; n];
    for seg in segments(poses, cfg.max_gap_s) {
        let long_enough = poses.frames[seg.1].t_s - poses.frames[seg.0].t_s >= cfg.min_segment_s;
        if long_enough && moves_with_hands(poses, seg, cfg) {
            kept[seg.0..=seg.1].iter_mut().for_each(|k| *k = true);
        }
    }
    let measured: Vec<[f64; 5]> =
        poses.frames.iter().zip(&kept).filter_map(|(f, &k)| if k { measured_plate(f) } else { None }).collect();
    let plate_fraction = measured.len() as f64 / with_pose as f64;
    let followed_s = measured.len() as f64 / poses.video.fps.max(1.0);
    let hands = |reason: String| BarPath {
        source: BarSource::Hands,
        scale: None,
        hands_reason: Some(reason),
        plate: vec![None; n],
        bar_at_body: vec![None; n],
        plate_fraction,
    };
    if measured.is_empty() {
        return hands("no plate was found near the hands".into());
    }
    if !side_view {
        return hands("the camera is not side-on, so the plate gives no single scale".into());
    }
    if plate_fraction < cfg.min_plate_fraction || followed_s < cfg.min_plate_s {
        return hands(format!(
            "the plate was followed on only {:.0} % of the frames with the lifter",
            100.0 * plate_fraction
        ));
    }
    let Some(d_px) = signal::median_of(measured.iter().map(|p| p[2])) else {
        return hands("no plate was found near the hands".into());
    };
    let scale = plate_scale(d_px, poses.video.width as f64, poses.video.height as f64, cfg);

    // Per-frame centres in image pixels, only from kept segments and plausible sizes.
    let mirror = track.facing == Facing::Left;
    let w = poses.video.width as f64;
    let (cx, cy) = (w / 2.0, poses.video.height as f64 / 2.0);
    let mut xs: Vec<Option<f64>> = vec![None; n];
    let mut ys: Vec<Option<f64>> = vec![None; n];
    for (i, f) in poses.frames.iter().enumerate() {
        if let (true, Some(p)) = (kept[i], measured_plate(f)) {
            if (p[2] - d_px).abs() <= 0.15 * d_px {
                xs[i] = Some(p[0]);
                ys[i] = Some(p[1]);
            }
        }
    }
    for series in [&mut xs, &mut ys] {
        signal::hampel(&track.t_s, series, track_cfg.outlier_window_s, track_cfg.outlier_sigmas);
        signal::fill_gaps(&track.t_s, series, cfg.max_gap_s);
        signal::lowpass(&track.t_s, series, cfg.lowpass_cutoff_hz);
    }
    let to_lifter = |x: f64, y: f64| P2::new(if mirror { w - x } else { x }, -y);
    // The bar runs along the camera axis: at the body's depth it projects toward the image
    // centre by the ratio of the distances.
    let k = scale.mm_per_px / scale.body_mm_per_px;
    let plate = (0..n).map(|i| Some(to_lifter(xs[i]?, ys[i]?))).collect();
    let bar_at_body = (0..n).map(|i| Some(to_lifter(cx + (xs[i]? - cx) * k, cy + (ys[i]? - cy) * k))).collect();
    BarPath { source: BarSource::Plate, scale: Some(scale), hands_reason: None, plate, bar_at_body, plate_fraction }
}

/// Scale at the plate and at the lifter's midline for a plate `d_px` wide in a `w` x `h` frame.
pub fn plate_scale(d_px: f64, w: f64, h: f64, cfg: &BarConfig) -> PlateScale {
    let mm_per_px = cfg.plate_diameter_mm / d_px;
    let focal_px = 0.5 * w.max(h) / (0.5 * cfg.camera_hfov_deg.to_radians()).tan();
    let camera_to_plate_m = focal_px * cfg.plate_diameter_mm / d_px / 1000.0;
    let body_mm_per_px = mm_per_px * (camera_to_plate_m + cfg.plate_depth_offset_m) / camera_to_plate_m;
    PlateScale { plate_diameter_px: d_px, mm_per_px, body_mm_per_px, camera_to_plate_m }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BarConfig {
        crate::analysis::config::Config::default().bar
    }

    #[test]
    fn scale_is_the_plate_and_the_body_looks_smaller_by_the_depth_ratio() {
        let c = cfg();
        let s = plate_scale(150.0, 1280.0, 720.0, &c);
        assert!((s.mm_per_px - c.plate_diameter_mm / 150.0).abs() < 1e-12);
        let ratio = s.body_mm_per_px / s.mm_per_px;
        assert!(((ratio - 1.0) * s.camera_to_plate_m - c.plate_depth_offset_m).abs() < 1e-9);
        // A plate twice as large is half as far: the correction grows.
        let near = plate_scale(300.0, 1280.0, 720.0, &c);
        assert!((near.camera_to_plate_m * 2.0 - s.camera_to_plate_m).abs() < 1e-9);
        assert!(near.body_mm_per_px / near.mm_per_px > ratio);
        // With no depth offset, body and plate scales agree.
        let flat = plate_scale(150.0, 1280.0, 720.0, &BarConfig { plate_depth_offset_m: 0.0, ..c });
        assert!((flat.body_mm_per_px - flat.mm_per_px).abs() < 1e-12);
    }
}
