//! Tests of the synthetic lift generator: timing, image conventions, and that each injected
//! fault shows the signature the analysis is meant to find, measured from the landmarks.

use super::body::{BAR_FLOOR_Y, MID_FOOT_X, SHANK};
use super::*;
use crate::posetrack::layout::joint;

const NEAR_SHOULDER: usize = joint::LEFT_SHOULDER;
const NEAR_WRIST: usize = joint::LEFT_WRIST;
const NEAR_HIP: usize = joint::LEFT_HIP;
const NEAR_KNEE: usize = joint::LEFT_KNEE;
const NEAR_ANKLE: usize = joint::LEFT_ANKLE;
const NEAR_EAR: usize = joint::LEFT_EAR;

fn spec_with(faults: Vec<(usize, InjectedFault)>) -> SynthLift {
    SynthLift { faults, ..SynthLift::default() }
}

/// Near-side landmark `j` of frame `i` in the lifter frame: pixels, x forward, y up from the floor.
fn body_px(track: &PoseTrack, truth: &SynthTruth, i: usize, j: usize) -> V2 {
    let l = track.frames[i].landmarks.as_ref().expect("no dropouts here")[j];
    let x = if truth.facing_left { track.video.width as f64 - l[0] } else { l[0] };
    V2::new(x, truth.floor_y_px - l[1])
}

/// Index of the frame nearest to `t_s`.
fn frame_at(truth: &SynthTruth, t_s: f64) -> usize {
    let mut best = 0;
    for (i, f) in truth.frames.iter().enumerate() {
        if (f.t_s - t_s).abs() < (truth.frames[best].t_s - t_s).abs() {
            best = i;
        }
    }
    best
}

fn angle_at_deg(at: V2, a: V2, b: V2) -> f64 {
    let (u, v) = (a.sub(at), b.sub(at));
    (u.x * v.y - u.y * v.x).atan2(u.x * v.x + u.y * v.y).to_degrees().abs()
}

/// Trunk incline from vertical (0 upright, positive forward) measured from the landmarks.
fn trunk_incline_deg(track: &PoseTrack, truth: &SynthTruth, i: usize) -> f64 {
    let a = body_px(track, truth, i, NEAR_SHOULDER).sub(body_px(track, truth, i, NEAR_HIP));
    a.x.atan2(a.y).to_degrees()
}

fn knee_deg(track: &PoseTrack, truth: &SynthTruth, i: usize) -> f64 {
    let p = |j| body_px(track, truth, i, j);
    angle_at_deg(p(NEAR_KNEE), p(NEAR_HIP), p(NEAR_ANKLE))
}

/// Horizontal distance from the near shin line to the near wrist, at the wrist's height, in shin
/// lengths; positive = in front of the shin.
fn wrist_to_shin(track: &PoseTrack, truth: &SynthTruth, i: usize) -> f64 {
    let p = |j| body_px(track, truth, i, j);
    let (ankle, knee, wrist) = (p(NEAR_ANKLE), p(NEAR_KNEE), p(NEAR_WRIST));
    let k = (wrist.y - ankle.y) / (knee.y - ankle.y);
    let shin_x = ankle.x + k * (knee.x - ankle.x);
    (wrist.x - shin_x) / knee.sub(ankle).len()
}

/// The bend measure of `reference/back_outline_reference.py`: straight-line fits to the lower
/// (t <= 0.5) and upper (t >= 0.5) halves of the outline, atan(slope_low) - atan(slope_high).
fn reference_bend_deg(w: &[Option<f64>]) -> Option<f64> {
    let n = w.len();
    let pts: Vec<(f64, f64)> =
        w.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64 / (n - 1) as f64, v))).collect();
    if (pts.len() as f64) < 0.7 * n as f64 {
        return None;
    }
    let slope = |sel: &dyn Fn(f64) -> bool| {
        let p: Vec<&(f64, f64)> = pts.iter().filter(|(t, _)| sel(*t)).collect();
        let m = p.len() as f64;
        let (mt, my) = (p.iter().map(|q| q.0).sum::<f64>() / m, p.iter().map(|q| q.1).sum::<f64>() / m);
        let sxy: f64 = p.iter().map(|q| (q.0 - mt) * (q.1 - my)).sum();
        let sxx: f64 = p.iter().map(|q| (q.0 - mt).powi(2)).sum();
        sxy / sxx
    };
    let lo = slope(&|t| t <= 0.5 + 1e-9);
    let hi = slope(&|t| t >= 0.5 - 1e-9);
    Some((lo.atan() - hi.atan()).to_degrees())
}

fn dorsal_bend_deg(track: &PoseTrack, truth: &SynthTruth, i: usize) -> f64 {
    let back = track.frames[i].back.as_ref().expect("outline");
    let w = if truth.facing_left { &back.back_if_facing_left } else { &back.back_if_facing_right };
    reference_bend_deg(w).expect("enough samples")
}

#[test]
fn frame_count_and_video_meta_follow_duration_and_fps() {
    for fps in [30.0, 60.0] {
        let spec = SynthLift { fps, ..SynthLift::default() };
        let (track, truth) = generate(&spec);
        // setup + 3 x (pull + lockout + descent) + 2 floor pauses + end.
        let duration_s = 1.5 + 3.0 * (1.2 + 0.5 + 1.0) + 2.0 * 0.5 + 1.0;
        let n = track.frames.len() as f64;
        assert!((n - (duration_s * fps + 1.0)).abs() <= 1.0, "{n} frames at {fps}");
        assert_eq!(track.video.frames, track.frames.len() as u64);
        assert_eq!(track.video.frames_declared, track.video.frames);
        assert_eq!((track.video.width, track.video.height), (1280, 720));
        assert_eq!(track.video.fps, fps);
        let last = track.frames.last().expect("frames").t_s;
        assert!((track.video.duration_s - last).abs() < 1e-9);
        assert!((last - duration_s).abs() <= 1.0 / fps);
        for (i, f) in track.frames.iter().enumerate() {
            assert_eq!(f.i, i as u64);
            assert!((f.t_s - i as f64 / fps).abs() < 2e-6, "frame {i} at {}", f.t_s);
            assert_eq!(f.landmarks.as_ref().map(Vec::len), Some(33));
            assert_eq!(f.detected, i == 0);
        }
        assert_eq!(truth.frames.len(), track.frames.len());
        assert_eq!(track.model.names.len(), 33);
        assert_eq!(track.model.layout, "blazepose33");
    }
}

#[test]
fn truth_has_the_spec_reps_in_order_with_the_spec_tempo() {
    let cases = [
        (1, false, false, 0.5),
        (3, true, true, 0.0),
        (5, false, true, 0.3),
        (2, true, false, 1.0),
        (0, false, false, 0.5),
    ];
    for (reps, start_mid_rep, end_mid_rep, floor_pause_s) in cases {
        let spec = SynthLift { reps, start_mid_rep, end_mid_rep, floor_pause_s, ..SynthLift::default() };
        let (track, truth) = generate(&spec);
        assert_eq!(truth.reps.len(), reps, "{reps} reps");
        let end_of_clip = track.frames.last().expect("frames").t_s;
        for (k, r) in truth.reps.iter().enumerate() {
            assert!(r.start_s <= r.pull_start_s && r.pull_start_s < r.knee_pass_s);
            assert!(r.knee_pass_s < r.pull_end_s && r.pull_end_s <= r.descent_s);
            assert!(r.descent_s < r.end_s && r.end_s < end_of_clip);
            assert!((r.pull_end_s - r.pull_start_s - 1.2).abs() < 1e-9);
            assert!((r.descent_s - r.pull_end_s - 0.5).abs() < 1e-9);
            assert!((r.end_s - r.descent_s - 1.0).abs() < 1e-9);
            // The bar passes the knees a little before the middle of a clean pull.
            let kp = (r.knee_pass_s - r.pull_start_s) / 1.2;
            assert!((0.35..0.55).contains(&kp), "knee pass at {kp} of the pull");
            if let Some(next) = truth.reps.get(k + 1) {
                assert!((next.start_s - r.end_s).abs() < 1e-9);
                assert!((next.pull_start_s - r.end_s - floor_pause_s).abs() < 1e-9);
            }
        }
        if let Some(first) = truth.reps.first() {
            if start_mid_rep {
                // Half a pull, lockout, descent and a floor pause come before the first rep.
                let before = 0.6 + 0.5 + 1.0 + floor_pause_s;
                assert!((first.pull_start_s - before).abs() < 1e-9);
                assert!(truth.frames[0].bar_px[1] < truth.floor_y_px - 0.2 * 600.0);
            } else {
                assert!((first.pull_start_s - 1.5).abs() < 1e-9);
                assert!((first.start_s - 1.125).abs() < 1e-9);
            }
        }
        if end_mid_rep {
            // The clip ends with the bar halfway up.
            let last = truth.frames.last().expect("frames");
            assert!(last.holds_bar && last.bar_px[1] < truth.floor_y_px - 0.1 * 600.0);
        }
    }
}

#[test]
fn mirroring_flips_every_x_and_nothing_else() {
    let base = SynthLift {
        noise_px: 2.0,
        swap_labels_fraction: 0.1,
        dropout_fraction: 0.05,
        faults: vec![(1, InjectedFault::RoundedLowerBack { bend_deg: 25.0 })],
        ..SynthLift::default()
    };
    let mirrored = SynthLift { facing_left: true, ..base.clone() };
    let (a, ta) = generate(&base);
    let (b, tb) = generate(&mirrored);
    assert!(tb.facing_left && !ta.facing_left);
    assert_eq!(a.frames.len(), b.frames.len());
    let w = 1280.0;
    for (fa, fb) in a.frames.iter().zip(&b.frames) {
        assert_eq!(fa.t_s, fb.t_s);
        match (&fa.landmarks, &fb.landmarks) {
            (None, None) => continue,
            (Some(la), Some(lb)) => {
                for (pa, pb) in la.iter().zip(lb) {
                    assert!((pb[0] - (w - pa[0])).abs() < 0.011, "{pa:?} vs {pb:?}");
                    assert_eq!((pa[1], pa[2]), (pb[1], pb[2]));
                }
            }
            _ => panic!("dropout differs at frame {}", fa.i),
        }
        let (ba, bb) = (fa.back.as_ref().expect("back"), fb.back.as_ref().expect("back"));
        assert!((bb.hip[0] - (w - ba.hip[0])).abs() < 0.011);
        assert_eq!(ba.back_if_facing_right, bb.back_if_facing_left);
        assert_eq!(ba.back_if_facing_left, bb.back_if_facing_right);
    }
    for (x, y) in ta.frames.iter().zip(&tb.frames) {
        assert!((y.bar_px[0] - (w - x.bar_px[0])).abs() < 1e-9);
    }
    assert_eq!(ta.reps, tb.reps);
}

#[test]
fn label_swap_fraction_is_honoured_without_changing_anything_else() {
    let base = SynthLift { noise_px: 1.5, ..SynthLift::default() };
    let swapping = SynthLift { swap_labels_fraction: 0.2, ..base.clone() };
    let (a, _) = generate(&base);
    let (b, _) = generate(&swapping);
    let n = a.frames.len();
    let mut swapped = 0;
    for (fa, fb) in a.frames.iter().zip(&b.frames) {
        let (la, lb) = (fa.landmarks.as_ref().expect("pose"), fb.landmarks.as_ref().expect("pose"));
        assert_eq!(la[..11], lb[..11], "face landmarks keep their labels");
        if la == lb {
            continue;
        }
        swapped += 1;
        for j in (11..33).step_by(2) {
            assert_eq!((la[j], la[j + 1]), (lb[j + 1], lb[j]));
        }
    }
    assert_eq!(swapped, (0.2 * n as f64).round() as usize);
}

#[test]
fn dropouts_come_in_short_bursts_at_the_asked_fraction() {
    let spec = SynthLift { dropout_fraction: 0.1, seed: 7, ..SynthLift::default() };
    let (track, _) = generate(&spec);
    let missing: Vec<bool> = track.frames.iter().map(|f| f.landmarks.is_none()).collect();
    let n = missing.len();
    let count = missing.iter().filter(|&&m| m).count();
    assert_eq!(count, (0.1 * n as f64).round() as usize);
    assert!(!missing[0]);
    let mut run = 0;
    for (i, &m) in missing.iter().enumerate() {
        run = if m { run + 1 } else { 0 };
        assert!(run <= 4, "burst longer than 4 frames ending at {i}");
        if m {
            let f = &track.frames[i];
            assert!(f.presence.is_none() && f.back.is_none() && f.roi.is_none());
        }
    }
}

#[test]
fn clean_bar_starts_at_the_shin_over_mid_foot_and_rises_a_third_of_height() {
    for facing_left in [false, true] {
        let spec = SynthLift { facing_left, ..SynthLift::default() };
        let (track, truth) = generate(&spec);
        let h = spec.body_height_px;
        for r in &truth.reps {
            let i0 = frame_at(&truth, r.pull_start_s);
            let gap = wrist_to_shin(&track, &truth, i0);
            assert!((0.0..0.1).contains(&gap), "wrist {gap} shins from the shin");
            let bar = truth.frames[i0].bar_px;
            let bar_x = if facing_left { 1280.0 - bar[0] } else { bar[0] };
            let ankle = body_px(&track, &truth, i0, NEAR_ANKLE);
            assert!(((bar_x - ankle.x) / h - MID_FOOT_X).abs() < 1e-3, "bar over mid-foot");
            assert!(((truth.floor_y_px - bar[1]) / h - BAR_FLOOR_Y).abs() < 1e-6);
            let i1 = frame_at(&truth, r.pull_end_s);
            let rise = body_px(&track, &truth, i1, NEAR_WRIST).y - body_px(&track, &truth, i0, NEAR_WRIST).y;
            // 0.31 H: 0.54 m for a 1.75 m lifter.
            assert!((0.28..0.36).contains(&(rise / h)), "wrist rises {} H", rise / h);
            // Setup angles as documented.
            let knee = knee_deg(&track, &truth, i0);
            let trunk = trunk_incline_deg(&track, &truth, i0);
            assert!((95.0..110.0).contains(&knee), "setup knee {knee}");
            assert!((58.0..68.0).contains(&trunk), "setup trunk incline {trunk}");
            assert!(knee_deg(&track, &truth, i1) > 179.0);
            assert!(trunk_incline_deg(&track, &truth, i1).abs() < 0.5);
        }
    }
}

/// Bar heights (pixels above the floor) of the truth frames between `t0` and `t1`.
fn bar_heights(truth: &SynthTruth, t0: f64, t1: f64) -> Vec<f64> {
    truth.frames.iter().filter(|f| f.t_s >= t0 && f.t_s <= t1).map(|f| truth.floor_y_px - f.bar_px[1]).collect()
}

#[test]
fn bar_rises_steadily_in_every_pull_but_a_hitch_and_never_goes_through_the_floor() {
    // Every fault but the hitch, whose bar dips by design.
    let faults = InjectedFault::EACH.into_iter().filter(|f| !matches!(f, InjectedFault::Hitching));
    for fault in faults {
        let spec = SynthLift { fps: 120.0, floor_pause_s: 0.0, ..spec_with(vec![(0, fault), (1, fault)]) };
        let (_, truth) = generate(&spec);
        let floor_px = BAR_FLOOR_Y * spec.body_height_px;
        for f in &truth.frames {
            let height = truth.floor_y_px - f.bar_px[1];
            assert!(height > floor_px - 1e-6, "{fault:?}: bar below the floor");
        }
        for r in &truth.reps {
            let up = bar_heights(&truth, r.pull_start_s, r.pull_end_s);
            for w in up.windows(2) {
                // A hyperextended finish lifts the bar a hair past its top.
                assert!(w[1] >= w[0] - 0.5, "{fault:?}: bar drops in the pull");
            }
            let down = bar_heights(&truth, r.descent_s, r.end_s);
            for w in down.windows(2) {
                assert!(w[1] <= w[0] + 0.5, "{fault:?}: bar rises in the descent");
            }
        }
    }
}

#[test]
fn knee_pass_truth_is_where_the_bar_crosses_knee_height() {
    let spec =
        SynthLift { fps: 240.0, ..spec_with(vec![(1, InjectedFault::Hitching), (2, InjectedFault::EarlyHipRise)]) };
    let (track, truth) = generate(&spec);
    for r in &truth.reps {
        for (dt, below) in [(-0.01, true), (0.01, false)] {
            let i = frame_at(&truth, r.knee_pass_s + dt);
            let bar_y = truth.floor_y_px - truth.frames[i].bar_px[1];
            let knee_y = body_px(&track, &truth, i, NEAR_KNEE).y;
            assert_eq!(bar_y < knee_y, below, "at knee pass {dt:+} s");
        }
    }
}

#[test]
fn reference_back_bend_reads_neutral_and_rounded() {
    for facing_left in [false, true] {
        let spec = SynthLift {
            noise_px: 2.0,
            facing_left,
            ..spec_with(vec![(1, InjectedFault::RoundedLowerBack { bend_deg: 25.0 })])
        };
        let (track, truth) = generate(&spec);
        for (k, r) in truth.reps.iter().enumerate() {
            let setup = frame_at(&truth, r.pull_start_s - 0.1);
            let bend = dorsal_bend_deg(&track, &truth, setup);
            if k == 1 {
                assert!((bend - 25.0).abs() < 3.0, "rounded rep reads {bend}");
                let to_knee = frame_at(&truth, 0.5 * (r.pull_start_s + r.knee_pass_s));
                assert!((dorsal_bend_deg(&track, &truth, to_knee) - 25.0).abs() < 3.0);
            } else {
                assert!(bend.abs() < 3.0, "neutral rep {k} reads {bend}");
            }
            let top = frame_at(&truth, r.pull_end_s + 0.1);
            assert!(dorsal_bend_deg(&track, &truth, top).abs() < 3.0);
        }
        // The dorsal side is the back: bent over, it lies above the hip->shoulder axis.
        let i = frame_at(&truth, truth.reps[0].pull_start_s - 0.1);
        let back = track.frames[i].back.as_ref().expect("back");
        let (w, sign) = if facing_left {
            (back.back_if_facing_left[20].expect("edge"), -1.0)
        } else {
            (back.back_if_facing_right[20].expect("edge"), 1.0)
        };
        let (ax, ay) = (back.shoulder[0] - back.hip[0], back.shoulder[1] - back.hip[1]);
        let edge_y = back.hip[1] + 0.5 * ay - w * sign * ax;
        assert!(edge_y < back.hip[1] + 0.5 * ay - 0.1 * ax.abs(), "back edge is up");
    }
}

#[test]
fn vfr_times_are_strictly_increasing_and_uneven() {
    let spec = SynthLift { vfr_jitter: 0.3, fps: 60.0, ..SynthLift::default() };
    let (track, _) = generate(&spec);
    let dts: Vec<f64> = track.frames.windows(2).map(|w| w[1].t_s - w[0].t_s).collect();
    assert!(dts.iter().all(|&d| d > 0.0));
    let (lo, hi) = dts.iter().fold((f64::MAX, 0.0f64), |(a, b), &d| (a.min(d), b.max(d)));
    assert!(lo < 0.8 / 60.0 && hi > 1.2 / 60.0, "dt from {lo} to {hi}");
    assert!(lo >= 0.7 / 60.0 - 2e-6 && hi <= 1.3 / 60.0 + 2e-6);
    let mean = dts.iter().sum::<f64>() / dts.len() as f64;
    assert!((mean * 60.0 - 1.0).abs() < 0.03, "mean dt {mean}");
}

#[test]
fn same_spec_same_output_and_the_seed_matters() {
    let spec = SynthLift {
        noise_px: 2.0,
        vfr_jitter: 0.2,
        dropout_fraction: 0.05,
        swap_labels_fraction: 0.1,
        ..SynthLift::default()
    };
    assert_eq!(generate(&spec), generate(&spec));
    let other = SynthLift { seed: 2, ..spec.clone() };
    assert_ne!(generate(&spec).0, generate(&other).0);
}

#[test]
fn track_reads_back_from_json_unchanged() {
    let spec = SynthLift { noise_px: 1.0, dropout_fraction: 0.05, ..SynthLift::default() };
    let (track, _) = generate(&spec);
    let json = serde_json::to_string(&track).expect("serialise");
    let back: PoseTrack = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, track);
}

#[test]
fn whole_body_stays_in_frame() {
    let faults = vec![
        (0, InjectedFault::HipsTooHighAtStart),
        (1, InjectedFault::LockoutHyperextension { lean_back_deg: 20.0 }),
        (2, InjectedFault::BarAwayFromShins { distance_frac_shin: 1.0 }),
    ];
    for facing_left in [false, true] {
        let spec = SynthLift { facing_left, noise_px: 3.0, stand_up_at_end: true, ..spec_with(faults.clone()) };
        let (track, _) = generate(&spec);
        for f in &track.frames {
            for p in f.landmarks.as_ref().expect("pose") {
                assert!((0.0..1280.0).contains(&p[0]) && (0.0..720.0).contains(&p[1]));
                assert!((0.0..=1.0).contains(&p[2]));
            }
        }
    }
}

#[test]
fn early_hip_rise_lifts_the_hips_not_the_shoulders() {
    let (track, truth) = generate(&spec_with(vec![(1, InjectedFault::EarlyHipRise)]));
    for (k, r) in truth.reps.iter().enumerate() {
        let i0 = frame_at(&truth, r.pull_start_s);
        let i1 = frame_at(&truth, r.pull_start_s + 0.45 * 1.2);
        let rise = |j| body_px(&track, &truth, i1, j).y - body_px(&track, &truth, i0, j).y;
        let (hip, shoulder) = (rise(NEAR_HIP), rise(NEAR_SHOULDER));
        let trunk = trunk_incline_deg(&track, &truth, i1);
        if k == 1 {
            assert!(hip > 4.0 * shoulder && hip > 0.08 * 600.0, "hip {hip} shoulder {shoulder}");
            assert!(trunk > 75.0, "trunk incline {trunk}");
        } else {
            assert!(shoulder > hip, "clean: hip {hip} shoulder {shoulder}");
            assert!(trunk < 60.0, "clean trunk incline {trunk}");
        }
    }
}

#[test]
fn hips_too_high_opens_the_knees_and_flattens_the_trunk_at_floor_break() {
    let (track, truth) = generate(&spec_with(vec![(2, InjectedFault::HipsTooHighAtStart)]));
    for (k, r) in truth.reps.iter().enumerate() {
        let i = frame_at(&truth, r.pull_start_s);
        let (knee, trunk) = (knee_deg(&track, &truth, i), trunk_incline_deg(&track, &truth, i));
        if k == 2 {
            assert!((knee - 150.0).abs() < 1.0 && trunk > 85.0, "knee {knee} trunk {trunk}");
        } else {
            assert!(knee < 110.0 && trunk < 68.0, "clean knee {knee} trunk {trunk}");
        }
    }
}

#[test]
fn bar_away_from_shins_starts_forward_and_drifts_further() {
    let fault = InjectedFault::BarAwayFromShins { distance_frac_shin: 0.6 };
    let (track, truth) = generate(&spec_with(vec![(0, fault)]));
    let r = truth.reps[0];
    let i0 = frame_at(&truth, r.pull_start_s);
    let gap = wrist_to_shin(&track, &truth, i0);
    assert!((0.5..0.65).contains(&gap), "wrist {gap} shins ahead");
    let bar_x = |f: &FrameTruth| f.bar_px[0];
    let start = bar_x(&truth.frames[i0]);
    let furthest = truth
        .frames
        .iter()
        .filter(|f| f.t_s > r.pull_start_s && f.t_s < r.knee_pass_s)
        .map(bar_x)
        .fold(f64::MIN, f64::max);
    let drift = (furthest - start) / (SHANK * 600.0);
    assert!(drift > 0.05, "forward drift {drift} shins");
    let clean = wrist_to_shin(&track, &truth, frame_at(&truth, truth.reps[1].pull_start_s));
    assert!(clean < 0.1, "clean rep {clean}");
}

#[test]
fn lockout_faults_show_at_lockout() {
    let (track, truth) = generate(&spec_with(vec![
        (0, InjectedFault::LockoutHyperextension { lean_back_deg: 15.0 }),
        (1, InjectedFault::SoftLockout { hip_short_deg: 25.0 }),
    ]));
    let at = |k: usize| frame_at(&truth, truth.reps[k].pull_end_s + 0.2);
    let i = at(0);
    assert!((trunk_incline_deg(&track, &truth, i) + 15.0).abs() < 0.5);
    assert!((truth.frames[i].trunk_incline_deg + 15.0).abs() < 1e-9);
    let i = at(1);
    let p = |j| body_px(&track, &truth, i, j);
    let hip = angle_at_deg(p(NEAR_HIP), p(NEAR_SHOULDER), p(NEAR_KNEE));
    assert!((hip - 155.0).abs() < 0.5, "soft hip {hip}");
    assert!((knee_deg(&track, &truth, i) - 170.0).abs() < 0.5);
    let i = at(2);
    assert!(knee_deg(&track, &truth, i) > 179.5 && trunk_incline_deg(&track, &truth, i).abs() < 0.5);
}

#[test]
fn hitch_dips_the_bar_after_the_knees_with_the_knees_rebending() {
    let (track, truth) = generate(&spec_with(vec![(1, InjectedFault::Hitching)]));
    let r = truth.reps[1];
    assert!((r.pull_end_s - r.pull_start_s - 1.4 * 1.2).abs() < 1e-9);
    let frames: Vec<usize> = (0..truth.frames.len())
        .filter(|&i| truth.frames[i].t_s > r.knee_pass_s && truth.frames[i].t_s < r.pull_end_s)
        .collect();
    let height = |i: usize| truth.floor_y_px - truth.frames[i].bar_px[1];
    let mut peak = f64::MIN;
    let mut dip = 0.0f64;
    let mut knee_peak = f64::MIN;
    let mut rebend = 0.0f64;
    for &i in &frames {
        peak = peak.max(height(i));
        dip = dip.max(peak - height(i));
        let knee = knee_deg(&track, &truth, i);
        knee_peak = knee_peak.max(knee);
        rebend = rebend.max(knee_peak - knee);
        let knee_y = body_px(&track, &truth, i, NEAR_KNEE).y;
        assert!(height(i) > knee_y, "bar falls back below the knee");
    }
    assert!((0.02..0.04).contains(&(dip / 600.0)), "dip {} H", dip / 600.0);
    assert!(rebend > 8.0, "knees re-bend {rebend} deg");
}

#[test]
fn jerking_the_bar_leaves_the_floor_at_speed() {
    let spec = SynthLift { fps: 60.0, ..spec_with(vec![(0, InjectedFault::JerkingTheBar)]) };
    let (_, truth) = generate(&spec);
    let first_rise = |r: &RepTruth| {
        let i = frame_at(&truth, r.pull_start_s);
        (truth.frames[i].bar_px[1] - truth.frames[i + 2].bar_px[1]) / 600.0
    };
    let (yank, clean) = (first_rise(&truth.reps[0]), first_rise(&truth.reps[1]));
    assert!(yank > 0.02 && yank > 20.0 * clean, "yank {yank} H vs clean {clean} H");
    // No tension hold: the hands reach the bar and it leaves the floor at once.
    assert!((truth.reps[0].start_s - truth.reps[0].pull_start_s).abs() < 1e-9);
}

#[test]
fn head_position_extends_the_neck_against_the_trunk() {
    let (track, truth) = generate(&spec_with(vec![(2, InjectedFault::HeadPosition { neck_ext_deg: 30.0 })]));
    for (k, r) in truth.reps.iter().enumerate() {
        let i = frame_at(&truth, r.knee_pass_s);
        let p = |j| body_px(&track, &truth, i, j);
        let trunk = p(NEAR_SHOULDER).sub(p(NEAR_HIP));
        let neck = p(NEAR_EAR).sub(p(NEAR_SHOULDER));
        let ext = (trunk.x * neck.y - trunk.y * neck.x).atan2(trunk.x * neck.x + trunk.y * neck.y).to_degrees();
        let want = if k == 2 { 40.0 } else { 10.0 };
        assert!((ext - want).abs() < 0.5, "rep {k}: neck {ext}");
        // The face looks the way the lifter faces: nose ahead of the ear, toe ahead of the heel.
        assert!(p(joint::NOSE).x > p(NEAR_EAR).x);
        assert!(p(joint::LEFT_FOOT_INDEX).x > p(joint::LEFT_HEEL).x);
    }
}
