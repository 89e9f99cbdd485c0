//! Synthetic deadlift sets seen from the side, with known ground truth: a pose track (schema 1,
//! BlazePose-33 layout, back outline included) that the analysis stages can be tested on without a
//! video or a model.
//!
//! Model: a sagittal stick figure of standing height H (`body.rs`: shank 0.25 H, thigh 0.245 H,
//! hip->shoulder 0.29 H, shoulder->wrist 0.34 H, shoulder->ear 0.11 H, foot 0.15 H) with the ankle
//! fixed. Knee angle, shin lean and trunk angle are driven through keyframes (standing -> setup ->
//! pull -> lockout -> descent -> floor) with minimum-jerk timing; the straight arms hang to where the
//! bar is. Clean keyframes: setup knee ~102 deg, shin 10 deg, trunk ~27 deg above horizontal, hip
//! ~50 deg, shoulders 6 deg of arm ahead of the bar, bar over mid-foot; at the knee knee ~146 deg,
//! trunk ~35 deg; lockout all straight, trunk vertical.
//!
//! Image: pixels, x right, y down. The lifter faces +x unless `facing_left`, which mirrors every x
//! (x' = width - x) and nothing else: landmark labels stay, so the near (camera-side) limbs are the
//! `left_*` landmarks either way; the far side sits 0.012 H behind and 0.006 H above with lower
//! visibility. Back outline: the dorsal widths are `back_if_facing_right` when facing +x and
//! `back_if_facing_left` when facing -x (see `pose::back`).
//!
//! Truth times are exact to the model, timed as the eye sees them (as the labels on real clips
//! are): floor break = the bar has risen 2 cm off the floor, knee pass = the bar centre (the
//! grip point, [`GRIP_BELOW_WRIST`] H below the wrist landmark) rises through the knee's height,
//! lockout = the bar within 1 cm of its top with the trunk within 3 deg of its final angle (a
//! minimum-jerk pull creeps into both ends), descent = the bar starts down, end = the bar is back
//! on the floor.
//! A rep's `start_s` is when its setup begins with the hands on the bar (the previous rep's end).
//! Partial reps (`start_mid_rep`, `end_mid_rep`) are not in the truth.
//!
//! Deterministic: a splitmix64 generator seeded from `seed`, one stream per purpose, so e.g.
//! turning on label swaps does not change the noise.

mod body;
#[cfg(test)]
mod tests;
mod timeline;

pub use body::{GRIP_BELOW_WRIST, LIFTER_HEIGHT_M, PLATE_RADIUS_M};

use body::{Skeleton, V2};
use timeline::build_timeline;

use crate::posetrack::layout::{BLAZEPOSE_NAMES, NUM_LANDMARKS};
use crate::posetrack::{BackOutlineRecord, ModelMeta, PoseFrame, PoseTrack, VideoMeta};

/// The bar has visibly left the floor once it is this far up (m).
const VISIBLE_LIFT_M: f64 = 0.02;
/// ...and is at the top once within this of it (m)...
const VISIBLE_TOP_M: f64 = 0.01;
/// ...with the trunk within this of its final angle (deg).
const VISIBLE_UPRIGHT_DEG: f64 = 3.0;

/// What to generate. `Default` is a clean, noise-free 3-rep conventional deadlift at 30 fps.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthLift {
    /// Complete reps (floor to lockout to floor).
    pub reps: usize,
    pub fps: f64,
    /// 0 = constant frame rate; 0.3 = each frame interval scaled by a random factor in
    /// [0.7, 1.3] (clamped below 0.9).
    pub vfr_jitter: f64,
    /// Standing (25 %), bending down to the bar (50 %), holding tension (25 %) before the first
    /// floor break.
    pub setup_s: f64,
    /// Floor break to lockout (x 1.4 on a rep with `Hitching`).
    pub concentric_s: f64,
    pub lockout_pause_s: f64,
    /// Lockout to bar on the floor.
    pub eccentric_s: f64,
    /// Pause on the floor between reps (0 = touch and go).
    pub floor_pause_s: f64,
    /// After the last rep: holding the bar on the floor, or standing up (`stand_up_at_end`).
    pub end_s: f64,
    /// The clip starts halfway up a rep (a partial rep before the first full one).
    pub start_mid_rep: bool,
    /// The clip ends halfway up an extra rep (after a floor pause).
    pub end_mid_rep: bool,
    /// Standard deviation of the gaussian noise on every landmark coordinate, pixels.
    pub noise_px: f64,
    /// Fraction of frames with no pose (landmarks null), in bursts of 1-4 frames.
    pub dropout_fraction: f64,
    /// The lifter faces -x: the whole image mirrored horizontally.
    pub facing_left: bool,
    /// Fraction of frames whose left/right limb labels (landmarks 11-32) are swapped.
    pub swap_labels_fraction: f64,
    /// Standing height in pixels; every length scales with it.
    pub body_height_px: f64,
    pub width: u32,
    pub height: u32,
    pub seed: u64,
    /// (rep index among the full reps, 0-based; fault). Several faults may share a rep.
    pub faults: Vec<(usize, InjectedFault)>,
    /// Let go of the bar and stand up during `end_s` (the hands rise without the bar).
    pub stand_up_at_end: bool,
    /// Record the near plate (a 450 mm plate around the bar, in the lifter's plane) on every
    /// frame with a pose, with this much gaussian noise on its centre (px); `None` = no plate.
    pub plate_noise_px: Option<f64>,
}

impl Default for SynthLift {
    fn default() -> Self {
        SynthLift {
            reps: 3,
            fps: 30.0,
            vfr_jitter: 0.0,
            setup_s: 1.5,
            concentric_s: 1.2,
            lockout_pause_s: 0.5,
            eccentric_s: 1.0,
            floor_pause_s: 0.5,
            end_s: 1.0,
            start_mid_rep: false,
            end_mid_rep: false,
            noise_px: 0.0,
            dropout_fraction: 0.0,
            facing_left: false,
            swap_labels_fraction: 0.0,
            body_height_px: 600.0,
            width: 1280,
            height: 720,
            seed: 1,
            faults: Vec::new(),
            stand_up_at_end: false,
            plate_noise_px: None,
        }
    }
}

/// A form fault injected into one rep. Numbers in the comments are what the generator does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InjectedFault {
    /// The dorsal outline's lower and upper halves differ in slope by `bend_deg` (reference bend
    /// measure reads it), fading in over 0.45-0.15 s before floor break, full to knee pass,
    /// fading out by lockout. Keypoints are unchanged.
    RoundedLowerBack { bend_deg: f64 },
    /// Over the first 40 % of the pull path the knees go 102 -> 140 deg and the trunk drops from
    /// ~27 to ~9 deg above horizontal while the bar rises only 0.03 H (hips +0.10 H, shoulders
    /// +0.02 H); the back then finishes the lift.
    EarlyHipRise,
    /// Setup with knee 150 deg, shin leaning back 4 deg, trunk ~1.5 deg above horizontal (hip
    /// ~58 deg), bar still over mid-foot.
    HipsTooHighAtStart,
    /// Bar centre `distance_frac_shin` shin lengths in front of the shin line at setup (trunk
    /// re-solved so the bar is on the floor), drifting a further 0.15 x that forward mid-pull,
    /// back to the thighs at lockout.
    BarAwayFromShins { distance_frac_shin: f64 },
    /// At lockout the trunk leans `lean_back_deg` back past vertical (knees straight).
    LockoutHyperextension { lean_back_deg: f64 },
    /// At lockout the hip angle is 180 - `hip_short_deg`, the knee 180 - 0.4 x that, shins
    /// leaning half the knee bend forward.
    SoftLockout { hip_short_deg: f64 },
    /// Bar ~0.06 H above the knees, the knees re-bend 160 -> 148 deg while the bar sinks 0.03 H,
    /// then the hips finish; the pull takes 1.4 x `concentric_s`.
    Hitching,
    /// No pre-tension hold before rep 0, and the bar leaves the floor at full speed: progress
    /// along the path starts at 1.8 x the mean rate instead of from rest.
    JerkingTheBar,
    /// The neck (shoulder->ear) extends `neck_ext_deg` beyond its usual 10 deg relative to the
    /// trunk, fading in over 0.45-0.15 s before floor break and out over 0.3 s after lockout.
    HeadPosition { neck_ext_deg: f64 },
    /// A squat-style pull: setup with the knees bent to 55 deg and the shins leaning 32 deg
    /// forward (knees far past the bar), hips at knee height, trunk solved to reach the bar on
    /// the floor (about 20 deg from vertical).
    SquatStylePull,
}

impl InjectedFault {
    /// One of each hinge fault, at a magnitude past its default fault threshold: for generators
    /// that pick a fault at random (the fuzzer, the property tests). `SquatStylePull` changes the
    /// whole setup and has its own test.
    pub const EACH: [InjectedFault; 9] = [
        InjectedFault::RoundedLowerBack { bend_deg: 25.0 },
        InjectedFault::EarlyHipRise,
        InjectedFault::HipsTooHighAtStart,
        InjectedFault::BarAwayFromShins { distance_frac_shin: 0.4 },
        InjectedFault::LockoutHyperextension { lean_back_deg: 15.0 },
        InjectedFault::SoftLockout { hip_short_deg: 20.0 },
        InjectedFault::Hitching,
        InjectedFault::JerkingTheBar,
        InjectedFault::HeadPosition { neck_ext_deg: 30.0 },
    ];
}

/// Ground truth for a generated clip.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthTruth {
    /// Full reps, in order.
    pub reps: Vec<RepTruth>,
    pub facing_left: bool,
    /// Pixels per metre for a lifter of [`LIFTER_HEIGHT_M`].
    pub pixels_per_m: f64,
    /// Floor height in image pixels (y down).
    pub floor_y_px: f64,
    /// The noise-free model at every frame's time.
    pub frames: Vec<FrameTruth>,
}

/// Times of one rep, seconds from the first frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepTruth {
    pub start_s: f64,
    /// The model's pull: from the bar at rest to the body at its final lockout posture.
    pub pull_start_s: f64,
    pub pull_end_s: f64,
    /// As the eye sees them (see the module header).
    pub floor_break_s: f64,
    pub knee_pass_s: f64,
    pub lockout_s: f64,
    pub descent_s: f64,
    pub end_s: f64,
}

/// The model at one frame (before noise, mirroring applied).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameTruth {
    pub t_s: f64,
    /// Bar centre in image pixels (on the floor when not held).
    pub bar_px: [f64; 2],
    pub holds_bar: bool,
    /// Interior knee and hip angles, 180 = straight.
    pub knee_deg: f64,
    pub hip_deg: f64,
    /// Hip->shoulder against vertical: 0 upright, 90 horizontal, negative = leaning back.
    pub trunk_incline_deg: f64,
    pub back_bend_deg: f64,
    /// Shoulder->ear against the trunk direction, positive = head back.
    pub neck_extension_deg: f64,
}

/// Usual neck extension (looking at the floor a little ahead), degrees.
const NECK_BASE_DEG: f64 = 10.0;
/// Far-side landmarks relative to the near side (body frame, H units).
const FAR_OFFSET: V2 = V2 { x: -0.012, y: 0.006 };
const PRESENCE: f64 = 0.99;

/// splitmix64: tiny, fast, and good enough for test data.
struct Rng(u64);

impl Rng {
    /// Independent stream `stream` of generator `seed`.
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    fn gauss(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

fn frame_times(spec: &SynthLift, total_s: f64) -> Vec<f64> {
    let mut rng = Rng::new(spec.seed, 1);
    let dt = 1.0 / spec.fps.max(1.0);
    let jitter = spec.vfr_jitter.clamp(0.0, 0.9);
    let mut times = Vec::new();
    let mut t = 0.0;
    while t <= total_s + 1e-9 {
        times.push(t);
        t += dt * (1.0 + jitter * (2.0 * rng.uniform() - 1.0));
    }
    times
}

/// Frames without a pose: bursts of 1-4 frames that neither overlap nor touch, never frame 0.
fn dropout_frames(spec: &SynthLift, n: usize) -> Vec<bool> {
    let mut rng = Rng::new(spec.seed, 2);
    let mut dropped = vec![false; n];
    let target = (spec.dropout_fraction.clamp(0.0, 1.0) * n as f64).round() as usize;
    let mut count = 0;
    let mut tries = 0;
    while count < target && tries < 100 * n + 100 && n > 2 {
        tries += 1;
        let len = (1 + (rng.uniform() * 4.0) as usize).min(target - count);
        let start = 1 + (rng.uniform() * (n - 1) as f64) as usize;
        let end = start + len;
        if end > n || dropped[start - 1] || (end < n && dropped[end]) {
            continue;
        }
        if dropped[start..end].iter().any(|&d| d) {
            continue;
        }
        dropped[start..end].iter_mut().for_each(|d| *d = true);
        count += len;
    }
    dropped
}

/// Exactly round(fraction x n) frames, chosen at random.
fn swapped_frames(spec: &SynthLift, n: usize) -> Vec<bool> {
    let mut rng = Rng::new(spec.seed, 3);
    let k = (spec.swap_labels_fraction.clamp(0.0, 1.0) * n as f64).round() as usize;
    let mut order: Vec<usize> = (0..n).collect();
    let mut swapped = vec![false; n];
    for i in 0..k.min(n) {
        let j = i + (rng.uniform() * (n - i) as f64) as usize;
        order.swap(i, j.min(n - 1));
        swapped[order[i]] = true;
    }
    swapped
}

/// The 33 landmarks in the body frame (H units) with their visibility before jitter.
fn landmarks_body(sk: &Skeleton, trunk_deg: f64, neck_deg: f64) -> [(V2, f64); NUM_LANDMARKS] {
    let neck_dir = V2::polar(trunk_deg + neck_deg);
    let face = V2::new(neck_dir.y, -neck_dir.x);
    let ear = sk.shoulder.add(neck_dir.scale(body::NECK));
    let head = |fwd: f64, up: f64| ear.add(face.scale(fwd)).add(neck_dir.scale(up));
    let hand_fwd = V2::new(-sk.arm_dir.y, sk.arm_dir.x);
    let hand = |along: f64, fwd: f64| sk.shoulder.add(sk.arm_dir.scale(along)).add(hand_fwd.scale(fwd));
    let far = |p: V2| p.add(FAR_OFFSET);
    let heel = sk.ankle.add(body::HEEL.sub(V2::new(0.0, body::ANKLE_Y)));
    let toe = sk.ankle.add(body::TOE.sub(V2::new(0.0, body::ANKLE_Y)));
    let (eye_in, eye, eye_out) = (head(0.072, 0.018), head(0.062, 0.02), head(0.052, 0.02));
    let mouth = head(0.07, -0.045);
    let pinky = hand(body::ARM + 0.06, -0.01);
    let index = hand(body::ARM + 0.065, 0.012);
    let thumb = hand(body::ARM + 0.035, 0.02);
    // Near side = left_* labels, far side = right_*.
    [
        (head(0.085, -0.012), 0.97),
        (eye_in, 0.93),
        (eye, 0.93),
        (eye_out, 0.92),
        (far(eye_in), 0.6),
        (far(eye), 0.6),
        (far(eye_out), 0.55),
        (ear, 0.93),
        (far(ear), 0.45),
        (mouth, 0.9),
        (far(mouth), 0.6),
        (sk.shoulder, 0.98),
        (far(sk.shoulder), 0.75),
        (sk.elbow, 0.95),
        (far(sk.elbow), 0.7),
        (sk.wrist, 0.94),
        (far(sk.wrist), 0.7),
        (pinky, 0.9),
        (far(pinky), 0.65),
        (index, 0.9),
        (far(index), 0.65),
        (thumb, 0.9),
        (far(thumb), 0.65),
        (sk.hip, 0.97),
        (far(sk.hip), 0.75),
        (sk.knee, 0.93),
        (far(sk.knee), 0.3),
        (sk.ankle, 0.9),
        (far(sk.ankle), 0.3),
        (heel, 0.88),
        (far(heel), 0.3),
        (toe, 0.9),
        (far(toe), 0.3),
    ]
}

/// Rounds as `posetrack` does, so a generated track equals itself read back from disk.
fn round_to(v: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    (v * k).round() / k
}

/// Generates the pose track and its ground truth.
pub fn generate(spec: &SynthLift) -> (PoseTrack, SynthTruth) {
    let tl = build_timeline(spec);
    let times = frame_times(spec, tl.end_s);
    let n = times.len();
    let dropped = dropout_frames(spec, n);
    let swapped = swapped_frames(spec, n);
    let mut noise = Rng::new(spec.seed, 4);
    let mut vis_rng = Rng::new(spec.seed, 5);
    let mut outline_rng = Rng::new(spec.seed, 6);
    let mut plate_rng = Rng::new(spec.seed, 7);

    let h_px = spec.body_height_px;
    let (w_px, img_h) = (spec.width as f64, spec.height as f64);
    let floor_y_px = (0.5 * (img_h + h_px)).min(img_h - 2.0);
    let ankle_x_px = 0.5 * w_px - 0.05 * h_px;
    let to_image = |p: V2| [ankle_x_px + p.x * h_px, floor_y_px - p.y * h_px];
    let mirror = |x: f64| if spec.facing_left { w_px - x } else { x };

    let mut frames = Vec::with_capacity(n);
    let mut truth_frames = Vec::with_capacity(n);
    for (i, &t_s) in times.iter().enumerate() {
        let seg = tl.segment_at(t_s);
        let pose = seg.pose_at(t_s);
        let sk = body::skeleton(&pose);
        let bend_deg: f64 = tl.bend.iter().map(|w| w.at(t_s)).sum();
        let neck_deg = NECK_BASE_DEG + tl.neck.iter().map(|w| w.at(t_s)).sum::<f64>();

        let mut lm: Vec<[f64; 3]> = landmarks_body(&sk, pose.trunk_deg, neck_deg)
            .iter()
            .map(|&(p, vis)| {
                let [x, y] = to_image(p);
                let (nx, ny) = (noise.gauss(), noise.gauss());
                let v = (vis + 0.03 * (2.0 * vis_rng.uniform() - 1.0)).clamp(0.01, 1.0);
                [round_to(mirror(x + spec.noise_px * nx), 2), round_to(y + spec.noise_px * ny, 2), round_to(v, 4)]
            })
            .collect();
        if swapped[i] {
            for a in (11..NUM_LANDMARKS).step_by(2) {
                lm.swap(a, a + 1);
            }
        }
        let width_noise = if spec.noise_px > 0.0 { 0.002 } else { 0.0 };
        let (dorsal, ventral) = body::outline_widths(bend_deg, || width_noise * outline_rng.gauss());
        let widths = |w: &[f64; 41]| w.iter().map(|v| Some(round_to(*v, 4))).collect();
        let (right, left) =
            if spec.facing_left { (widths(&ventral), widths(&dorsal)) } else { (widths(&dorsal), widths(&ventral)) };
        let mid =
            |a: usize, b: usize| [round_to(0.5 * (lm[a][0] + lm[b][0]), 2), round_to(0.5 * (lm[a][1] + lm[b][1]), 2)];
        let back = BackOutlineRecord {
            hip: mid(23, 24),
            shoulder: mid(11, 12),
            back_if_facing_right: right,
            back_if_facing_left: left,
        };
        let roi = [back.hip[0], back.hip[1], round_to(1.25 * h_px, 2), 0.0];
        let bar = if seg.holds_bar { sk.bar } else { V2::new(seg.floor_bar_x, body::BAR_FLOOR_Y) };
        let [bx, by] = to_image(bar);
        let plate = spec.plate_noise_px.map(|sd| {
            let (nx, ny) = (plate_rng.gauss(), plate_rng.gauss());
            let d = 2.0 * body::PLATE_RADIUS_M / LIFTER_HEIGHT_M * h_px;
            [round_to(mirror(bx) + sd * nx, 2), round_to(by + sd * ny, 2), round_to(d, 2), 0.9, 1.0]
        });
        frames.push(if dropped[i] {
            PoseFrame::unseen(i as u64, t_s)
        } else {
            PoseFrame {
                i: i as u64,
                t_s: round_to(t_s, 6),
                landmarks: Some(lm),
                presence: Some(PRESENCE),
                roi: Some(roi),
                detected: i == 0,
                back: Some(back),
                plate,
                camera_angle_deg: None,
                interpolated: false,
                outline_interpolated: false,
            }
        });

        truth_frames.push(FrameTruth {
            t_s,
            bar_px: [mirror(bx), by],
            holds_bar: seg.holds_bar,
            knee_deg: pose.knee_deg,
            hip_deg: sk.hip_deg,
            trunk_incline_deg: 90.0 - pose.trunk_deg,
            back_bend_deg: bend_deg,
            neck_extension_deg: neck_deg,
        });
    }

    let duration_s = times.last().copied().unwrap_or(0.0);
    let track = PoseTrack {
        schema_version: crate::posetrack::SCHEMA_VERSION,
        clip: "synthetic".to_string(),
        video: VideoMeta {
            width: spec.width,
            height: spec.height,
            fps: spec.fps,
            frames: n as u64,
            frames_declared: n as u64,
            rotation_deg: 0,
            codec: "synthetic".to_string(),
            slowmo_factor: 1.0,
            duration_s: round_to(duration_s, 6),
        },
        model: ModelMeta {
            layout: "blazepose33".to_string(),
            names: BLAZEPOSE_NAMES.iter().map(|s| s.to_string()).collect(),
            landmark_model: "synthetic".to_string(),
            landmark_sha256: String::new(),
            detector_model: "synthetic".to_string(),
            detector_sha256: String::new(),
        },
        frames,
    };
    let truth = SynthTruth {
        reps: tl.reps,
        facing_left: spec.facing_left,
        pixels_per_m: h_px / LIFTER_HEIGHT_M,
        floor_y_px,
        frames: truth_frames,
    };
    (track, truth)
}
