//! Property tests (proptest) of the kinematics and analysis invariants, on synthetic lifts
//! (`synth::generate`) with random settings, transformed as whole pose tracks:
//! - mirroring the image left-right (x -> width - x, the back outline's sides swapped) changes the
//!   reported facing and nothing else: same rep times, angles, metrics, findings, series;
//! - scaling every coordinate and the frame by k changes nothing measured (angles, torso units,
//!   times, and cm through the plate, which scales too);
//! - translating the lifter in the frame changes nothing measured;
//! - the same lift sampled at 30 fps, 60 fps or with a jittery frame rate gives reps at the same
//!   times within two 30 fps frames and the graded metrics within a tolerance.
//!
//! Cases are few (16 a property) and the seed is fixed (override with `PROPTEST_RNG_SEED`), so
//! CI runs the same cases every time in a few seconds.

use formcheck::analysis;
use formcheck::analysis::config::Config;
use formcheck::analysis::report::Report;
use formcheck::posetrack::PoseTrack;
use formcheck::testkit::synth::{self, InjectedFault, SynthLift};
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, RngSeed};
use serde_json::Value;

fn prop_config() -> PropConfig {
    let base = PropConfig::default();
    let rng_seed = if base.rng_seed == RngSeed::Random { RngSeed::Fixed(0x5eed_f0c5) } else { base.rng_seed };
    PropConfig { cases: 16, failure_persistence: None, max_shrink_iters: 64, rng_seed, ..base }
}

/// The defaults, except that the synthetic plate is in the lifter's plane (no depth correction).
fn config() -> Config {
    Config::load(None, &["bar.plate_depth_offset_m=0.0".to_string()]).expect("valid setting")
}

fn fault() -> impl Strategy<Value = Option<(usize, InjectedFault)>> {
    let faults = InjectedFault::EACH.to_vec();
    proptest::option::of((0usize..2, proptest::sample::select(faults)))
}

/// A lift with random reps, seed, noise, dropouts, label swaps, facing, plate and maybe a fault.
fn any_lift() -> impl Strategy<Value = SynthLift> {
    (
        1usize..=3,
        any::<u64>(),
        prop_oneof![Just(0.0), 0.0..2.0f64],
        prop_oneof![Just(0.0), Just(0.05)],
        prop_oneof![Just(0.0), Just(0.1)],
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(30.0), Just(60.0)],
        fault(),
    )
        .prop_map(|(reps, seed, noise_px, dropout_fraction, swap, facing_left, plate, fps, fault)| SynthLift {
            reps,
            seed,
            noise_px,
            dropout_fraction,
            swap_labels_fraction: swap,
            facing_left,
            fps,
            plate_noise_px: plate.then_some(0.5),
            faults: fault.into_iter().map(|(r, f)| (r.min(reps - 1), f)).collect(),
            ..SynthLift::default()
        })
}

/// Applies `f` to every image point of the track (landmarks, plate centre, crop centre, back
/// outline axis).
fn map_points(track: &mut PoseTrack, f: impl Fn(f64, f64) -> (f64, f64)) {
    for frame in &mut track.frames {
        for p in frame.landmarks.iter_mut().flatten() {
            (p[0], p[1]) = f(p[0], p[1]);
        }
        if let Some(p) = frame.plate.as_mut() {
            (p[0], p[1]) = f(p[0], p[1]);
        }
        if let Some(r) = frame.roi.as_mut() {
            (r[0], r[1]) = f(r[0], r[1]);
        }
        if let Some(b) = frame.back.as_mut() {
            (b.hip[0], b.hip[1]) = f(b.hip[0], b.hip[1]);
            (b.shoulder[0], b.shoulder[1]) = f(b.shoulder[0], b.shoulder[1]);
        }
    }
}

fn mirrored(track: &PoseTrack) -> PoseTrack {
    let mut t = track.clone();
    let w = t.video.width as f64;
    map_points(&mut t, |x, y| (w - x, y));
    for b in t.frames.iter_mut().filter_map(|f| f.back.as_mut()) {
        // The dorsal side of a lifter facing +x is the ventral side once mirrored.
        std::mem::swap(&mut b.back_if_facing_left, &mut b.back_if_facing_right);
    }
    t
}

fn scaled(track: &PoseTrack, k: u32) -> PoseTrack {
    let mut t = track.clone();
    let kf = k as f64;
    map_points(&mut t, |x, y| (kf * x, kf * y));
    for f in &mut t.frames {
        if let Some(p) = f.plate.as_mut() {
            p[2] *= kf;
        }
        if let Some(r) = f.roi.as_mut() {
            r[2] *= kf;
        }
    }
    t.video.width *= k;
    t.video.height *= k;
    t
}

fn translated(track: &PoseTrack, dx: f64, dy: f64) -> PoseTrack {
    let mut t = track.clone();
    map_points(&mut t, |x, y| (x + dx, y + dy));
    t
}

/// What the analysis measured, without what depends on pixels or on which way the image faces.
fn measured(report: &Report) -> Value {
    let mut v = serde_json::to_value(report).expect("report serialises");
    let o = v.as_object_mut().expect("report is an object");
    for pixel_bound in ["video", "bar", "facing", "scale", "clip"] {
        o.remove(pixel_bound);
    }
    o.insert("shin_torso".into(), serde_json::json!(report.scale.shin_torso));
    o.insert("bar_source".into(), serde_json::json!(report.bar.source));
    o.insert("mm_per_torso".into(), serde_json::json!(report.bar.body_mm_per_px.map(|m| m * report.scale.torso_px)));
    // Warning texts quote pixel sizes; the codes are what matter.
    let codes: Vec<&str> = report.warnings.iter().map(|w| w.code).collect();
    o.insert("warnings".into(), serde_json::json!(codes));
    v
}

/// Compares two JSON values, numbers within `tol` (absolute, or relative above 1); returns the
/// first difference.
fn diff(a: &Value, b: &Value, tol: f64, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64()?, y.as_f64()?);
            ((x - y).abs() > tol * x.abs().max(y.abs()).max(1.0)).then(|| format!("{at}: {x} vs {y}"))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (x, y))| diff(x, y, tol, &format!("{at}[{i}]")))
        }
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => x.iter().find_map(|(k, xv)| match y.get(k) {
            Some(yv) => diff(xv, yv, tol, &format!("{at}.{k}")),
            None => Some(format!("{at}.{k} missing")),
        }),
        _ => (a != b).then(|| format!("{at}: {a} vs {b}")),
    }
}

/// Differences from rounding (coordinates are stored to 0.01 px) and filter arithmetic only.
const SAME: f64 = 1e-6;

proptest! {
    #![proptest_config(prop_config())]

    #[test]
    fn mirroring_changes_only_the_facing(spec in any_lift()) {
        let (track, _) = synth::generate(&spec);
        let cfg = config();
        let a = analysis::analyze(&track, &cfg);
        let b = analysis::analyze(&mirrored(&track), &cfg);
        prop_assert_ne!(a.facing, b.facing);
        prop_assert!(!a.reps.is_empty(), "no reps found in the base lift");
        if let Some(d) = diff(&measured(&a), &measured(&b), SAME, "report") {
            prop_assert!(false, "mirrored: {d}");
        }
    }

    #[test]
    fn scaling_the_image_changes_nothing_measured(spec in any_lift(), k in 2u32..=3) {
        let (track, _) = synth::generate(&SynthLift { body_height_px: 300.0, width: 640, height: 360, ..spec });
        let cfg = config();
        let a = analysis::analyze(&track, &cfg);
        let b = analysis::analyze(&scaled(&track, k), &cfg);
        prop_assert!((b.scale.torso_px / a.scale.torso_px - k as f64).abs() < 1e-6);
        if let Some(d) = diff(&measured(&a), &measured(&b), SAME, "report") {
            prop_assert!(false, "scaled x{k}: {d}");
        }
    }

    #[test]
    fn translating_the_lifter_changes_nothing_measured(
        spec in any_lift(), dx in -200.0..200.0f64, dy in -150.0..40.0f64,
    ) {
        let (track, _) = synth::generate(&spec);
        let cfg = config();
        let a = analysis::analyze(&track, &cfg);
        let b = analysis::analyze(&translated(&track, dx, dy), &cfg);
        if let Some(d) = diff(&measured(&a), &measured(&b), SAME, "report") {
            prop_assert!(false, "moved by ({dx:.1}, {dy:.1}): {d}");
        }
    }

    #[test]
    fn the_frame_rate_does_not_move_reps_or_change_metrics(
        spec in any_lift(), jitter in prop_oneof![Just(0.0), Just(0.3)],
    ) {
        // Noise is drawn per frame, so it would differ between the rates; the lift itself is the same.
        let base = SynthLift { noise_px: 0.0, fps: 30.0, vfr_jitter: 0.0, swap_labels_fraction: 0.0, dropout_fraction: 0.0, ..spec };
        let cfg = config();
        let a = analysis::analyze(&synth::generate(&base).0, &cfg);
        let b = analysis::analyze(&synth::generate(&SynthLift { fps: 60.0, vfr_jitter: jitter, ..base.clone() }).0, &cfg);
        prop_assert_eq!(a.reps.len(), b.reps.len());
        let frame_s = 1.0 / 30.0;
        for (ra, rb) in a.reps.iter().zip(&b.reps) {
            for (what, ta, tb) in [
                ("floor break", ra.rep.floor_break_s, rb.rep.floor_break_s),
                ("lockout", ra.rep.lockout_s, rb.rep.lockout_s),
                ("descent", ra.rep.descent_s, rb.rep.descent_s),
            ] {
                prop_assert!((ta - tb).abs() <= 2.0 * frame_s + 1e-9, "rep {} {what}: {ta:.3} s vs {tb:.3} s", ra.rep.index);
            }
            let (ma, mb) = (&ra.metrics, &rb.metrics);
            let close = |what: &str, x: Option<f64>, y: Option<f64>, tol: f64| match (x, y) {
                (Some(x), Some(y)) if (x - y).abs() <= tol => Ok(()),
                (None, None) => Ok(()),
                _ => Err(format!("rep {} {what}: {x:?} vs {y:?} (tolerance {tol})", ra.rep.index)),
            };
            let checks = [
                close("trunk incline at setup", ma.trunk_incline_setup_deg, mb.trunk_incline_setup_deg, 3.0),
                close("knee angle at floor break", ma.knee_angle_floor_break_deg, mb.knee_angle_floor_break_deg, 4.0),
                close("hip angle at lockout", ma.hip_angle_lockout_deg, mb.hip_angle_lockout_deg, 3.0),
                close("lumbar flexion at setup", ma.lumbar_flexion_setup_deg, mb.lumbar_flexion_setup_deg, 2.0),
                close("concentric time", Some(ma.concentric_s), Some(mb.concentric_s), 2.0 * frame_s),
                close("bar rise", Some(ma.bar_rise_torso), Some(mb.bar_rise_torso), 0.03),
                close(
                    "mean concentric speed",
                    Some(ma.mean_concentric_speed_torso_per_s),
                    Some(mb.mean_concentric_speed_torso_per_s),
                    0.08 * ma.mean_concentric_speed_torso_per_s,
                ),
            ];
            for c in checks {
                if let Err(e) = c {
                    prop_assert!(false, "{}", e);
                }
            }
        }
    }
}
