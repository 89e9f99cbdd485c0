//! The pose track: the saved boundary between the expensive half of formcheck (decoding and
//! inference) and the cheap half (cleaning, reps, metrics, report). Written as `poses.json`.
//!
//! Schema version 1. Coordinates are pixels of the upright frame (x right, y down), rounded to
//! 0.01 px; visibilities and presence are probabilities rounded to 1e-4; back-outline widths are
//! in units of the hip-shoulder distance, rounded to 1e-4. Values are rounded when the track is
//! built, so analysis of a freshly made track and of the same track read back from disk agree.
//!
//! Plain data that both halves share: capture builds it (`capture::record`), analysis reads it.
//! May use: `support`. Never a later stage.

use std::path::Path;

use serde::{Deserialize, Serialize};

pub mod layout;

use layout::{BLAZEPOSE_NAMES, NUM_LANDMARKS};

pub const SCHEMA_VERSION: u32 = 1;

/// Why a pose track could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackFileError {
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not a formcheck pose track: {reason}")]
    Parse { path: String, reason: String },
    #[error("{path} has schema version {found}; this formcheck reads version {SCHEMA_VERSION}")]
    Version { path: String, found: u32 },
}

/// A whole clip's pose track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoseTrack {
    pub schema_version: u32,
    /// File name of the clip.
    pub clip: String,
    pub video: VideoMeta,
    pub model: ModelMeta,
    pub frames: Vec<PoseFrame>,
}

/// Facts about the clip the track came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoMeta {
    /// Upright width and height in pixels.
    pub width: u32,
    pub height: u32,
    /// Average frame rate the container declares.
    pub fps: f64,
    /// Frames decoded (and listed in `frames`).
    pub frames: u64,
    /// Frames the container declares.
    pub frames_declared: u64,
    /// Rotation recorded in the container (0, 90, 180, 270); frames were turned upright by it.
    pub rotation_deg: u32,
    pub codec: String,
    /// Timestamps were divided by this (slow-motion exports).
    pub slowmo_factor: f64,
    /// Time of the last frame minus time of the first, in seconds.
    pub duration_s: f64,
}

/// Which models produced the track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Landmark layout name; `names` lists the landmarks in order.
    pub layout: String,
    pub names: Vec<String>,
    /// Landmark model file name and sha256.
    pub landmark_model: String,
    pub landmark_sha256: String,
    pub detector_model: String,
    pub detector_sha256: String,
}

/// One frame of the track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoseFrame {
    /// Frame index in decode order.
    pub i: u64,
    /// Presentation time, seconds.
    pub t_s: f64,
    /// `[x, y, visibility]` per landmark, or `null` when the lifter was not found.
    pub landmarks: Option<Vec<[f64; 3]>>,
    /// Pose presence probability (absent when not found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<f64>,
    /// The crop used: `[centre_x, centre_y, side, angle_rad]` in frame pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roi: Option<[f64; 4]>,
    /// `true` when this frame's crop came from the person detector rather than tracking.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub detected: bool,
    /// The back outline from the segmentation mask (see `pose::back`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back: Option<BackOutlineRecord>,
    /// The near plate, when it was measured on this frame (see `bar`):
    /// `[centre_x, centre_y, diameter, rim_support, aspect]`: frame pixels, rim support 0..1,
    /// aspect = width / height of the plate's outline (1 = circle; the diameter is the height).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate: Option<[f64; 5]>,
    /// The camera's angle from side-on (degrees; 0 = side view, 90 = front or back), from the
    /// landmark model's world landmarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_angle_deg: Option<f64>,
    /// `true` when the pose model did not run on this frame (see `TrackerConfig::max_rate_hz`):
    /// its landmarks, when present, are interpolated in time between the model's frames either
    /// side, and its back outline between the frames either side that read one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interpolated: bool,
    /// `true` when the pose model ran on this frame but the back outline was not read (see
    /// `TrackerConfig::outline_max_rate_hz`): the outline, when present, is interpolated in time
    /// between the frames either side that read it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outline_interpolated: bool,
}

/// Serialised form of [`BackOutline`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackOutlineRecord {
    /// Hip and shoulder centres (the axis), frame pixels.
    pub hip: [f64; 2],
    pub shoulder: [f64; 2],
    /// 41 widths along the axis from hip to shoulder, in units of |shoulder - hip|, on the side
    /// that is the back when the lifter faces +x (`right`) or -x (`left`); `null` = no edge.
    pub back_if_facing_right: Vec<Option<f64>>,
    pub back_if_facing_left: Vec<Option<f64>>,
}

/// Rounds to `decimals` places so that the JSON shows the short decimal (dividing by a power of
/// ten gives the double nearest to it; multiplying by 0.01 does not).
pub(crate) fn round_to(v: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    (v * k).round() / k
}

impl PoseFrame {
    /// A frame on which the lifter was not found.
    pub fn unseen(i: u64, t_s: f64) -> Self {
        PoseFrame {
            i,
            t_s: round_to(t_s, 6),
            landmarks: None,
            presence: None,
            roi: None,
            detected: false,
            back: None,
            plate: None,
            camera_angle_deg: None,
            interpolated: false,
            outline_interpolated: false,
        }
    }

    /// A frame the pose model skipped; [`fill_skipped`] interpolates it.
    pub fn skipped(i: u64, t_s: f64) -> Self {
        PoseFrame { interpolated: true, ..PoseFrame::unseen(i, t_s) }
    }
}

/// What a skipped frame gets: landmarks and presence.
type Interpolated = (Vec<[f64; 3]>, Option<f64>);

/// Model frames further apart than this (s) are not interpolated between.
const MAX_INTERPOLATION_GAP_S: f64 = 0.1;
/// Frames that read the back outline further apart than this (s) are not interpolated between
/// (the outline is read at 15 Hz by default: 67-83 ms apart).
const MAX_OUTLINE_GAP_S: f64 = 0.15;

/// Fills each frame the pose model skipped with the linear interpolation in time of the model
/// frames either side, when both found the lifter; a skipped frame next to a frame without the
/// lifter, or after the last model frame, stays unseen. Then gives each frame with the lifter
/// that did not read the back outline (skipped, or `outline_interpolated`) the outline's widths
/// interpolated between the frames either side that read one, on its own trunk axis.
pub fn fill_skipped(frames: &mut [PoseFrame]) {
    for (a, b) in bridges(frames, |f| !f.interpolated, MAX_INTERPOLATION_GAP_S) {
        let (fa, fb) = (&frames[a], &frames[b]);
        let (Some(la), Some(lb)) = (&fa.landmarks, &fb.landmarks) else { continue };
        if la.len() != lb.len() {
            continue;
        }
        let fills: Vec<Interpolated> = (a + 1..b)
            .map(|k| {
                let w = weight(frames, a, b, k);
                let lerp = |x: f64, y: f64| x + w * (y - x);
                let landmarks = la
                    .iter()
                    .zip(lb)
                    .map(|(p, q)| {
                        [round_to(lerp(p[0], q[0]), 2), round_to(lerp(p[1], q[1]), 2), round_to(lerp(p[2], q[2]), 4)]
                    })
                    .collect();
                (landmarks, fa.presence.zip(fb.presence).map(|(p, q)| p.min(q)))
            })
            .collect();
        for (k, (landmarks, presence)) in (a + 1..b).zip(fills) {
            frames[k].landmarks = Some(landmarks);
            frames[k].presence = presence;
        }
    }
    fill_outlines(frames);
}

/// The back outlines of frames that did not read one (see [`fill_skipped`]).
fn fill_outlines(frames: &mut [PoseFrame]) {
    for (a, b) in bridges(frames, |f| !f.interpolated && !f.outline_interpolated, MAX_OUTLINE_GAP_S) {
        let (Some(oa), Some(ob)) = (&frames[a].back, &frames[b].back) else { continue };
        let fills: Vec<Option<BackOutlineRecord>> = (a + 1..b)
            .map(|k| {
                let (hip, shoulder) = trunk_axis(frames[k].landmarks.as_deref()?)?;
                let w = weight(frames, a, b, k);
                let widths = |u: &[Option<f64>], v: &[Option<f64>]| {
                    u.iter().zip(v).map(|(x, y)| x.zip(*y).map(|(x, y)| round_to(x + w * (y - x), 4))).collect()
                };
                Some(BackOutlineRecord {
                    hip,
                    shoulder,
                    back_if_facing_right: widths(&oa.back_if_facing_right, &ob.back_if_facing_right),
                    back_if_facing_left: widths(&oa.back_if_facing_left, &ob.back_if_facing_left),
                })
            })
            .collect();
        for (k, back) in (a + 1..b).zip(fills) {
            frames[k].back = back;
        }
    }
}

/// Consecutive frames `a`, `b` among those that are `measured`, with frames between them to
/// fill and at most `max_gap_s` apart in time.
fn bridges(frames: &[PoseFrame], measured: impl Fn(&PoseFrame) -> bool, max_gap_s: f64) -> Vec<(usize, usize)> {
    let anchors: Vec<usize> = (0..frames.len()).filter(|&k| measured(&frames[k])).collect();
    anchors
        .windows(2)
        .map(|pair| (pair[0], pair[1]))
        .filter(|&(a, b)| {
            let span_s = frames[b].t_s - frames[a].t_s;
            b > a + 1 && span_s > 0.0 && span_s <= max_gap_s
        })
        .collect()
}

/// Where frame `k` lies in time between frames `a` (0) and `b` (1).
fn weight(frames: &[PoseFrame], a: usize, b: usize, k: usize) -> f64 {
    ((frames[k].t_s - frames[a].t_s) / (frames[b].t_s - frames[a].t_s)).clamp(0.0, 1.0)
}

/// Hip centre and shoulder centre of a frame's landmarks (the back outline's axis), rounded as
/// the outline records them.
fn trunk_axis(landmarks: &[[f64; 3]]) -> Option<([f64; 2], [f64; 2])> {
    use layout::joint;
    let mid = |a: usize, b: usize| -> Option<[f64; 2]> {
        let (p, q) = (landmarks.get(a)?, landmarks.get(b)?);
        Some([round_to(0.5 * (p[0] + q[0]), 2), round_to(0.5 * (p[1] + q[1]), 2)])
    };
    Some((mid(joint::LEFT_HIP, joint::RIGHT_HIP)?, mid(joint::LEFT_SHOULDER, joint::RIGHT_SHOULDER)?))
}

impl ModelMeta {
    pub fn blazepose(
        landmark_model: &Path,
        landmark_sha256: String,
        detector_model: &Path,
        detector_sha256: String,
    ) -> Self {
        let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        ModelMeta {
            layout: "blazepose33".to_string(),
            names: BLAZEPOSE_NAMES.iter().map(|s| s.to_string()).collect(),
            landmark_model: name(landmark_model),
            landmark_sha256,
            detector_model: name(detector_model),
            detector_sha256,
        }
    }
}

impl PoseTrack {
    /// Writes the track as JSON atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), TrackFileError> {
        crate::support::output::write_atomic_with(path, |w| {
            serde_json::to_writer(w, self).map_err(std::io::Error::other)
        })
        .map_err(|source| TrackFileError::Write { path: path.display().to_string(), source })
    }

    /// Reads and checks a track written by [`PoseTrack::save`].
    pub fn load(path: &Path) -> Result<PoseTrack, TrackFileError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| TrackFileError::Read { path: shown.clone(), source })?;
        PoseTrack::from_json(&bytes, &shown)
    }

    /// Parses and checks the bytes of a `poses.json`; `shown` names the source in errors.
    pub fn from_json(bytes: &[u8], shown: &str) -> Result<PoseTrack, TrackFileError> {
        let shown = shown.to_string();
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| TrackFileError::Parse { path: shown.clone(), reason: e.to_string() })?;
        match value.get("schema_version").and_then(|v| v.as_u64()) {
            Some(v) if v == SCHEMA_VERSION as u64 => {}
            Some(v) => return Err(TrackFileError::Version { path: shown, found: v as u32 }),
            None => return Err(TrackFileError::Parse { path: shown, reason: "no schema_version".into() }),
        }
        let track: PoseTrack = serde_json::from_value(value)
            .map_err(|e| TrackFileError::Parse { path: shown.clone(), reason: e.to_string() })?;
        // The analysis reads landmarks by their BlazePose index.
        if track.model.names.len() != NUM_LANDMARKS {
            return Err(TrackFileError::Parse {
                path: shown,
                reason: format!("{} landmark names; the BlazePose layout has {NUM_LANDMARKS}", track.model.names.len()),
            });
        }
        if let Some(bad) =
            track.frames.iter().find(|f| f.landmarks.as_ref().is_some_and(|l| l.len() != track.model.names.len()))
        {
            return Err(TrackFileError::Parse {
                path: shown,
                reason: format!("frame {} has a landmark count other than {}", bad.i, track.model.names.len()),
            });
        }
        // The video stage gives every frame a finite time after the previous one's.
        if let Some(f) = track.frames.iter().find(|f| !f.t_s.is_finite()) {
            return Err(TrackFileError::Parse { path: shown, reason: format!("frame {} has no finite time", f.i) });
        }
        if let Some(w) = track.frames.windows(2).find(|w| w[1].t_s <= w[0].t_s) {
            return Err(TrackFileError::Parse {
                path: shown,
                reason: format!(
                    "frame {} has time {} s, not after the previous frame's {} s",
                    w[1].i, w[1].t_s, w[0].t_s
                ),
            });
        }
        Ok(track)
    }

    /// Whether every frame has a finite time after the previous frame's, as the video stage
    /// gives them and [`PoseTrack::from_json`] checks.
    pub fn times_increase(&self) -> bool {
        self.frames.iter().all(|f| f.t_s.is_finite()) && self.frames.windows(2).all(|w| w[1].t_s > w[0].t_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::synth::{self, SynthLift};

    fn json_of(track: &PoseTrack) -> Vec<u8> {
        serde_json::to_vec(track).expect("serialises")
    }

    #[test]
    fn a_saved_track_reads_back_equal() {
        let (track, _) = synth::generate(&SynthLift { reps: 1, ..SynthLift::default() });
        assert_eq!(PoseTrack::from_json(&json_of(&track), "t").expect("reads"), track);
    }

    #[test]
    fn times_that_do_not_increase_are_a_parse_error() {
        let (track, _) = synth::generate(&SynthLift { reps: 1, ..SynthLift::default() });
        let mut dup = track.clone();
        dup.frames[5].t_s = dup.frames[4].t_s;
        let err = PoseTrack::from_json(&json_of(&dup), "dup.json").expect_err("duplicate time").to_string();
        assert!(err.contains("dup.json") && err.contains("frame 5") && err.contains("not after"), "{err}");
        let mut huge = track;
        huge.frames[5].t_s = 1e308;
        huge.frames[6].t_s = f64::MAX;
        huge.frames.truncate(7);
        // 1e999 is not a number JSON can carry as f64; a finite but absurd time is only checked
        // for order.
        assert!(PoseTrack::from_json(&json_of(&huge), "huge.json").is_ok());
    }

    #[test]
    fn a_layout_other_than_blazepose_is_a_parse_error() {
        let (mut track, _) = synth::generate(&SynthLift { reps: 1, ..SynthLift::default() });
        track.model.names.truncate(5);
        for l in track.frames.iter_mut().filter_map(|f| f.landmarks.as_mut()) {
            l.truncate(5);
        }
        let err = PoseTrack::from_json(&json_of(&track), "five.json").expect_err("five landmarks").to_string();
        assert!(err.contains("5 landmark names"), "{err}");
    }

    #[test]
    fn outlines_not_read_are_interpolated_on_the_frames_own_axis() {
        let spec = SynthLift {
            reps: 1,
            fps: 30.0,
            noise_px: 0.0,
            dropout_fraction: 0.0,
            swap_labels_fraction: 0.0,
            ..SynthLift::default()
        };
        let (track, _) = synth::generate(&spec);
        let truth = track.frames.clone();
        let mut frames = truth.clone();
        // The outline read on even frames only; none found on frame 20; frames 31-35 not read
        // (a gap of 0.2 s, too long to bridge).
        for (k, f) in frames.iter_mut().enumerate() {
            if k % 2 == 1 || (31..=35).contains(&k) {
                f.outline_interpolated = true;
                f.back = None;
            }
        }
        frames[20].back = None;
        let last = frames.len() - 1;
        fill_skipped(&mut frames);
        for (k, (got, want)) in frames.iter().zip(&truth).enumerate() {
            assert_eq!(got.landmarks, want.landmarks, "frame {k}: landmarks untouched");
            let unbridged = k == 19 || k == 20 || k == 21 || (31..=35).contains(&k) || (k == last && k % 2 == 1);
            if unbridged {
                assert!(got.back.is_none(), "frame {k}: no outline read on one side, or too far");
                continue;
            }
            let (g, w) = (got.back.as_ref().expect("outline"), want.back.as_ref().expect("synthetic"));
            // The axis is the frame's own hip and shoulder centres, not the neighbours'.
            let off = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
            assert!(off(g.hip, w.hip).max(off(g.shoulder, w.shoulder)) <= 0.011, "frame {k}: axis {g:?} vs {w:?}");
            for (a, b) in g.back_if_facing_right.iter().zip(&w.back_if_facing_right) {
                let (a, b) = (a.expect("width"), b.expect("width"));
                assert!((a - b).abs() < 0.01, "frame {k}: width {a} vs {b}");
            }
        }
    }

    #[test]
    fn skipped_frames_are_interpolated_between_model_frames_only() {
        let spec = SynthLift {
            reps: 1,
            fps: 60.0,
            noise_px: 0.0,
            dropout_fraction: 0.0,
            swap_labels_fraction: 0.0,
            ..SynthLift::default()
        };
        let (track, _) = synth::generate(&spec);
        let truth = track.frames.clone();
        let mut frames: Vec<PoseFrame> =
            truth
                .iter()
                .map(|f| {
                    if f.i % 2 == 1 {
                        PoseFrame { plate: f.plate, ..PoseFrame::skipped(f.i, f.t_s) }
                    } else {
                        f.clone()
                    }
                })
                .collect();
        // The lifter not found on model frame 40: frames 39 and 41 stay unseen.
        frames[40] = PoseFrame::unseen(40, truth[40].t_s);
        let last = frames.len() - 1;
        fill_skipped(&mut frames);
        for (k, (got, want)) in frames.iter().zip(&truth).enumerate() {
            assert_eq!(got.interpolated, k % 2 == 1, "frame {k}");
            assert_eq!(got.plate, want.plate, "frame {k}: the plate is kept");
            if k == 39 || k == 41 || k == 40 || (k == last && k % 2 == 1) {
                assert!(got.landmarks.is_none(), "frame {k} has no model frame on one side");
                continue;
            }
            let (g, w) = (got.landmarks.as_ref().expect("filled"), want.landmarks.as_ref().expect("synthetic"));
            // Halfway between two 60 Hz samples of a lift is within 0.2 % of the lifter's height
            // of the truth (the largest errors are where the bar leaves or reaches the floor).
            let worst = g.iter().zip(w).map(|(p, q)| (p[0] - q[0]).hypot(p[1] - q[1])).fold(0.0, f64::max);
            assert!(worst < 0.002 * spec.body_height_px, "frame {k}: {worst:.2} px off");
            assert_eq!(got.back.is_some(), want.back.is_some(), "frame {k}: back outline");
        }
    }
}
