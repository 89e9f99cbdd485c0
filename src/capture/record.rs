//! From what capture saw to the pose track's records: landmarks, presence, crop, back outline
//! and plate of a frame, and the clip's facts, rounded as `posetrack` documents (so a track
//! analysed fresh and one read back from disk agree).

use crate::posetrack::{round_to, BackOutlineRecord, PoseFrame, VideoMeta};

use super::bar::PlateObservation;
use super::pose::{BackOutline, PoseObservation};
use super::video::VideoInfo;

impl BackOutlineRecord {
    pub fn from_outline(o: &BackOutline) -> Self {
        let widths = |w: &[Option<f32>]| w.iter().map(|v| v.map(|v| round_to(v as f64, 4))).collect();
        BackOutlineRecord {
            hip: [round_to(o.hip.x, 2), round_to(o.hip.y, 2)],
            shoulder: [round_to(o.shoulder.x, 2), round_to(o.shoulder.y, 2)],
            back_if_facing_right: widths(&o.back_if_facing_right),
            back_if_facing_left: widths(&o.back_if_facing_left),
        }
    }
}

impl PoseFrame {
    /// A frame record from what the pose stage saw (`None` = lifter not found).
    pub fn new(i: u64, t_s: f64, obs: Option<&PoseObservation>) -> Self {
        let Some(o) = obs else { return PoseFrame::unseen(i, t_s) };
        PoseFrame {
            i,
            t_s: round_to(t_s, 6),
            landmarks: Some(
                o.keypoints.iter().map(|k| [round_to(k.x, 2), round_to(k.y, 2), round_to(k.visibility, 4)]).collect(),
            ),
            presence: Some(round_to(o.presence, 4)),
            roi: Some([
                round_to(o.roi.center.x, 2),
                round_to(o.roi.center.y, 2),
                round_to(o.roi.size_px, 2),
                round_to(o.roi.angle_rad, 5),
            ]),
            detected: o.from_detector,
            back: o.back.as_ref().map(BackOutlineRecord::from_outline),
            plate: None,
            camera_angle_deg: o.camera_angle_deg.map(|a| round_to(a, 2)),
            interpolated: false,
            outline_interpolated: !o.outline_read,
        }
    }

    /// Records the plate measured on this frame.
    pub fn with_plate(mut self, plate: Option<&PlateObservation>) -> Self {
        self.plate = plate.map(|p| {
            [
                round_to(p.center_x_px, 2),
                round_to(p.center_y_px, 2),
                round_to(p.diameter_px, 2),
                round_to(p.score, 3),
                round_to(p.aspect, 3),
            ]
        });
        self
    }
}

impl VideoMeta {
    pub fn new(info: &VideoInfo, frames: u64, duration_s: f64) -> Self {
        VideoMeta {
            width: info.width,
            height: info.height,
            fps: info.fps,
            frames,
            frames_declared: info.frames_declared,
            rotation_deg: info.rotation_deg,
            codec: info.codec.clone(),
            slowmo_factor: info.slowmo_factor,
            duration_s: round_to(duration_s, 6),
        }
    }
}
