//! Cleaning a pose track into a lifter-centred track the analysis can trust.
//!
//! Conventions from here on: the *lifter frame* has x pointing the way the lifter faces and y
//! pointing up, in pixels of the upright video (so angles read like a coach's drawing). A clip
//! where the lifter faces -x is mirrored.
//!
//! Steps, per joint coordinate: gate landmarks below `min_visibility`; reject outliers (Hampel);
//! fill gaps shorter than `max_gap_s`; zero-phase low-pass each unbroken run on its own.
//!
//! Left and right: in profile the pose model often swaps the labels of the visible limbs, and in a
//! side view both sides project almost onto each other. Each joint here is therefore the
//! visibility-weighted mean of its left and right landmarks, which does not depend on the labels.
//! Which way the lifter faces is decided from geometry (toes ahead of heels, nose ahead of ears),
//! never from the labels.

use crate::analysis::config::TrackConfig;
use crate::posetrack::layout::{joint, weighted_pair};
use crate::posetrack::PoseTrack;
use crate::support::signal;

/// A 2D point in the lifter frame (pixels, x forward, y up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct P2 {
    pub x: f64,
    pub y: f64,
}

impl P2 {
    pub fn new(x: f64, y: f64) -> Self {
        P2 { x, y }
    }
    pub fn dist(self, o: P2) -> f64 {
        (self.x - o.x).hypot(self.y - o.y)
    }
}

impl std::ops::Sub for P2 {
    type Output = P2;
    fn sub(self, o: P2) -> P2 {
        P2::new(self.x - o.x, self.y - o.y)
    }
}

/// The joints the analysis uses, each a left/right pair in BlazePose order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Joint {
    Ear,
    Shoulder,
    Elbow,
    Wrist,
    Hip,
    Knee,
    Ankle,
    Heel,
    Toe,
}

impl Joint {
    pub const ALL: [Joint; 9] = [
        Joint::Ear,
        Joint::Shoulder,
        Joint::Elbow,
        Joint::Wrist,
        Joint::Hip,
        Joint::Knee,
        Joint::Ankle,
        Joint::Heel,
        Joint::Toe,
    ];

    /// BlazePose indices (left, right).
    pub fn indices(self) -> (usize, usize) {
        match self {
            Joint::Ear => (joint::LEFT_EAR, joint::RIGHT_EAR),
            Joint::Shoulder => (joint::LEFT_SHOULDER, joint::RIGHT_SHOULDER),
            Joint::Elbow => (joint::LEFT_ELBOW, joint::RIGHT_ELBOW),
            Joint::Wrist => (joint::LEFT_WRIST, joint::RIGHT_WRIST),
            Joint::Hip => (joint::LEFT_HIP, joint::RIGHT_HIP),
            Joint::Knee => (joint::LEFT_KNEE, joint::RIGHT_KNEE),
            Joint::Ankle => (joint::LEFT_ANKLE, joint::RIGHT_ANKLE),
            Joint::Heel => (joint::LEFT_HEEL, joint::RIGHT_HEEL),
            Joint::Toe => (joint::LEFT_FOOT_INDEX, joint::RIGHT_FOOT_INDEX),
        }
    }
}

/// Which way the lifter faced in the video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Facing {
    /// Toward +x (right): no mirroring.
    Right,
    /// Toward -x (left): the track was mirrored.
    Left,
}

/// The back outline of one frame on the lifter's dorsal side.
#[derive(Debug, Clone, PartialEq)]
pub struct BackSample {
    /// Widths (units of hip-shoulder distance) at 41 evenly spaced points from hip to shoulder.
    pub widths: Vec<Option<f64>>,
    /// Incline of the axis the widths were measured from (this frame's raw hip -> shoulder line),
    /// degrees from vertical in the lifter frame, positive forward.
    pub axis_incline_deg: f64,
}

/// How good the raw track was.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TrackQuality {
    /// Fraction of frames where the lifter was found.
    pub pose_fraction: f64,
    /// Fraction of frames the pose model skipped, their pose interpolated (`--pose-hz`).
    pub interpolated_fraction: f64,
    /// Median visibility of shoulders, hips and wrists over frames with a pose.
    pub median_visibility: f64,
    /// Median of shoulder width / shoulder-hip distance (about 0.1 from the side, 0.5 at 45 deg).
    pub shoulder_width_ratio: Option<f64>,
    /// Same for the hips.
    pub hip_width_ratio: Option<f64>,
    /// The camera's angle from side-on (median over the frames; 0 = side view, 90 = front or
    /// back), from the pose model's world landmarks.
    pub camera_angle_deg: Option<f64>,
}

/// The cleaned track.
#[derive(Debug, Clone)]
pub struct Track {
    pub t_s: Vec<f64>,
    pub facing: Facing,
    /// Frame width, for mapping lifter-frame x back to the video.
    pub frame_width: f64,
    pub frame_height: f64,
    /// Cleaned joint positions, indexed like [`Joint::ALL`].
    pub joints: Vec<Vec<Option<P2>>>,
    /// Dorsal back outline per frame.
    pub back: Vec<Option<BackSample>>,
    pub quality: TrackQuality,
}

impl Track {
    pub fn joint(&self, j: Joint) -> &[Option<P2>] {
        &self.joints[j as usize]
    }

    pub fn len(&self) -> usize {
        self.t_s.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t_s.is_empty()
    }
}

/// Cleans `poses` into a [`Track`].
pub fn clean(poses: &PoseTrack, cfg: &TrackConfig) -> Track {
    let t_s: Vec<f64> = poses.frames.iter().map(|f| f.t_s).collect();
    let n = t_s.len();
    let frame_width = poses.video.width as f64;
    let facing = decide_facing(poses);
    let mirror = facing == Facing::Left;
    let plausible: Vec<bool> = poses.frames.iter().map(|f| !leans_back_impossibly(f, mirror, cfg)).collect();
    let head_in_place = head_in_place(poses, cfg);
    let mut joints = Vec::with_capacity(Joint::ALL.len());
    for j in Joint::ALL {
        let (li, ri) = j.indices();
        let mut xs: Vec<Option<f64>> = Vec::with_capacity(n);
        let mut ys: Vec<Option<f64>> = Vec::with_capacity(n);
        for (i, (f, &plausible)) in poses.frames.iter().zip(&plausible).enumerate() {
            let ok = plausible && (j != Joint::Ear || head_in_place[i]);
            let gate = if j == Joint::Wrist { cfg.min_hand_visibility } else { cfg.min_visibility };
            let p = f.landmarks.as_ref().filter(|_| ok).and_then(|l| weighted_pair(l[li], l[ri], gate));
            xs.push(p.map(|(x, _)| if mirror { frame_width - x } else { x }));
            ys.push(p.map(|(_, y)| -y));
        }
        for series in [&mut xs, &mut ys] {
            signal::hampel(&t_s, series, cfg.outlier_window_s, cfg.outlier_sigmas);
            signal::fill_gaps(&t_s, series, cfg.max_gap_s);
            signal::lowpass(&t_s, series, cfg.lowpass_cutoff_hz);
        }
        joints.push(xs.iter().zip(&ys).map(|(x, y)| Some(P2::new((*x)?, (*y)?))).collect());
    }
    let back = poses
        .frames
        .iter()
        .zip(&plausible)
        .map(|(f, &ok)| {
            let rec = f.back.as_ref().filter(|_| ok)?;
            let widths = if mirror { &rec.back_if_facing_left } else { &rec.back_if_facing_right };
            let forward = (rec.shoulder[0] - rec.hip[0]) * if mirror { -1.0 } else { 1.0 };
            let up = rec.hip[1] - rec.shoulder[1];
            Some(BackSample { widths: widths.clone(), axis_incline_deg: forward.atan2(up).to_degrees() })
        })
        .collect();
    Track { t_s, facing, frame_width, frame_height: poses.video.height as f64, joints, back, quality: quality(poses) }
}

/// A trunk leaning back further than this from vertical (degrees) is no deadlift posture: even a
/// hyperextended lockout leans back a few tens of degrees.
const MAX_LEAN_BACK_DEG: f64 = 60.0;

/// Whether frame `f`'s trunk (hip centre to shoulder centre) leans back more than
/// [`MAX_LEAN_BACK_DEG`] for a lifter facing +x (`mirror`: facing -x). The pose model sometimes
/// lays the skeleton the wrong way round on a lifter bent over the bar (head on the hips' side);
/// such a frame is dropped as unseen rather than read as a lifter lying backwards.
fn leans_back_impossibly(f: &crate::posetrack::PoseFrame, mirror: bool, cfg: &TrackConfig) -> bool {
    let Some(l) = &f.landmarks else { return false };
    let pair = |a: usize, b: usize| weighted_pair(l[a], l[b], cfg.min_visibility);
    let (Some(sh), Some(hip)) =
        (pair(joint::LEFT_SHOULDER, joint::RIGHT_SHOULDER), pair(joint::LEFT_HIP, joint::RIGHT_HIP))
    else {
        return false;
    };
    let forward = if mirror { hip.0 - sh.0 } else { sh.0 - hip.0 };
    let up = hip.1 - sh.1;
    forward.atan2(up).to_degrees() < -MAX_LEAN_BACK_DEG
}

/// A body length (shoulder to ear, shoulder to hip) more than this factor from its median over
/// the clip is not that length: side on, turning the head or bending the back changes them by a
/// fifth at most.
const BODY_LENGTH_FACTOR: f64 = 1.6;

/// Per frame, whether the ears sit where a head sits: the shoulder-ear and shoulder-hip distances
/// both within [`BODY_LENGTH_FACTOR`] of their medians over the clip. A frame where one is not has
/// the ear or the trunk on something else, the plate or the other arm (one such stretch read a
/// neck bent back 171 deg), and its ears are dropped before smoothing, so that they are neither
/// measured nor smeared into the frames around them.
fn head_in_place(poses: &PoseTrack, cfg: &TrackConfig) -> Vec<bool> {
    let lengths = |f: &crate::posetrack::PoseFrame| {
        let l = f.landmarks.as_ref()?;
        let pair = |a: usize, b: usize| weighted_pair(l[a], l[b], cfg.min_visibility);
        let ear = pair(joint::LEFT_EAR, joint::RIGHT_EAR)?;
        let sh = pair(joint::LEFT_SHOULDER, joint::RIGHT_SHOULDER)?;
        let hip = pair(joint::LEFT_HIP, joint::RIGHT_HIP)?;
        Some(((ear.0 - sh.0).hypot(ear.1 - sh.1), (sh.0 - hip.0).hypot(sh.1 - hip.1)))
    };
    let seen: Vec<Option<(f64, f64)>> = poses.frames.iter().map(lengths).collect();
    let (Some(neck), Some(torso)) =
        (signal::median_of(seen.iter().flatten().map(|l| l.0)), signal::median_of(seen.iter().flatten().map(|l| l.1)))
    else {
        return vec![true; seen.len()];
    };
    let usual = |len: f64, median: f64| (median / BODY_LENGTH_FACTOR..=median * BODY_LENGTH_FACTOR).contains(&len);
    seen.iter().map(|l| l.map_or(true, |(n, t)| usual(n, neck) && usual(t, torso))).collect()
}

/// Toes ahead of heels and nose ahead of ears tell which way the lifter faces.
fn decide_facing(poses: &PoseTrack) -> Facing {
    let mut votes = 0.0;
    for f in &poses.frames {
        let Some(l) = &f.landmarks else { continue };
        let mid_x = |a: usize, b: usize| (l[a][0] + l[b][0]) / 2.0;
        let toe = mid_x(joint::LEFT_FOOT_INDEX, joint::RIGHT_FOOT_INDEX);
        let heel = mid_x(joint::LEFT_HEEL, joint::RIGHT_HEEL);
        let ear = mid_x(joint::LEFT_EAR, joint::RIGHT_EAR);
        let nose = l[joint::NOSE][0];
        votes += (toe - heel).signum() + (nose - ear).signum();
    }
    if votes >= 0.0 {
        Facing::Right
    } else {
        Facing::Left
    }
}

fn quality(poses: &PoseTrack) -> TrackQuality {
    let with_pose: Vec<&Vec<[f64; 3]>> = poses.frames.iter().filter_map(|f| f.landmarks.as_ref()).collect();
    let pose_fraction = with_pose.len() as f64 / poses.frames.len().max(1) as f64;
    let key = [
        joint::LEFT_SHOULDER,
        joint::RIGHT_SHOULDER,
        joint::LEFT_HIP,
        joint::RIGHT_HIP,
        joint::LEFT_WRIST,
        joint::RIGHT_WRIST,
    ];
    let median_visibility =
        signal::median_of(with_pose.iter().map(|l| key.iter().map(|&i| l[i][2]).fold(0.0, f64::max))).unwrap_or(0.0);
    let ratio = |a: usize, b: usize| {
        signal::median_of(with_pose.iter().filter_map(|l| {
            let mid = |i: usize, j: usize| ((l[i][0] + l[j][0]) / 2.0, (l[i][1] + l[j][1]) / 2.0);
            let (sx, sy) = mid(joint::LEFT_SHOULDER, joint::RIGHT_SHOULDER);
            let (hx, hy) = mid(joint::LEFT_HIP, joint::RIGHT_HIP);
            let torso = (sx - hx).hypot(sy - hy);
            (torso > 1.0).then(|| (l[a][0] - l[b][0]).hypot(l[a][1] - l[b][1]) / torso)
        }))
    };
    let interpolated = poses.frames.iter().filter(|f| f.interpolated).count();
    TrackQuality {
        pose_fraction,
        interpolated_fraction: interpolated as f64 / poses.frames.len().max(1) as f64,
        median_visibility,
        shoulder_width_ratio: ratio(joint::LEFT_SHOULDER, joint::RIGHT_SHOULDER),
        hip_width_ratio: ratio(joint::LEFT_HIP, joint::RIGHT_HIP),
        camera_angle_deg: signal::median_of(poses.frames.iter().filter_map(|f| f.camera_angle_deg)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trunk_laid_the_wrong_way_round_is_dropped() {
        use crate::testkit::synth::{self, SynthLift};
        let spec = SynthLift { reps: 1, noise_px: 0.0, dropout_fraction: 0.0, ..SynthLift::default() };
        let (mut poses, truth) = synth::generate(&spec);
        let cfg = crate::analysis::config::Config::default().track;
        // In the setup, bent over the bar: on ten frames lay the trunk horizontally *behind* the
        // hips (the model's reading of aigym's first half second: -87 to -95 deg).
        let first_bent = truth.frames.iter().position(|f| f.trunk_incline_deg > 30.0).expect("a bent frame");
        let flipped: Vec<usize> = (first_bent..first_bent + 10).collect();
        for &i in &flipped {
            let l = poses.frames[i].landmarks.as_mut().expect("pose");
            let mid = |l: &Vec<[f64; 3]>, a: usize, b: usize| ((l[a][0] + l[b][0]) / 2.0, (l[a][1] + l[b][1]) / 2.0);
            let (hx, hy) = mid(l, joint::LEFT_HIP, joint::RIGHT_HIP);
            let (sx, sy) = mid(l, joint::LEFT_SHOULDER, joint::RIGHT_SHOULDER);
            let torso = (sx - hx).hypot(sy - hy);
            // The synthetic lifter faces +x: behind is -x.
            for k in [joint::LEFT_SHOULDER, joint::RIGHT_SHOULDER] {
                l[k][0] = hx - torso;
                l[k][1] = hy;
            }
        }
        let lean = |t: &Track, i: usize| {
            let (sh, hip) = (t.joint(Joint::Shoulder)[i]?, t.joint(Joint::Hip)[i]?);
            Some((sh.x - hip.x).atan2(sh.y - hip.y).to_degrees())
        };
        let track = clean(&poses, &cfg);
        assert_eq!(track.facing, Facing::Right);
        for &i in &flipped {
            // Unseen, never leaning back.
            assert!(lean(&track, i).map_or(true, |a| a > 0.0), "frame {i}: {:?}", lean(&track, i));
        }
        // The frames after them are the setup, bent forward, as in the truth.
        let after = first_bent + 12;
        let want = truth.frames[after].trunk_incline_deg;
        assert!(
            lean(&track, after).is_some_and(|a| (a - want).abs() < 5.0),
            "frame {after}: {:?} vs {want:.1}",
            lean(&track, after)
        );
    }

    #[test]
    fn pairs_are_weighted_by_visibility_and_gated() {
        let p = weighted_pair([0.0, 0.0, 0.9], [10.0, 10.0, 0.1], 0.3).expect("left visible");
        assert_eq!(p, (0.0, 0.0));
        let p = weighted_pair([0.0, 0.0, 0.5], [10.0, 0.0, 0.5], 0.3).expect("both");
        assert_eq!(p, (5.0, 0.0));
        assert!(weighted_pair([0.0, 0.0, 0.1], [1.0, 1.0, 0.2], 0.3).is_none());
    }
}
