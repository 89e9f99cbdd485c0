//! The cheap half of formcheck: from a pose track to a report, with no model and no video.
//! `track` (clean) -> `barpath` -> `kinematics` -> `reps` -> `metrics` -> `faults` -> `report`,
//! with every threshold from `config`. Running it on a saved `poses.json` gives the same report as
//! running it right after inference.
//!
//! May use: `posetrack`, `support`. Never `capture` (no OpenCV, no ONNX Runtime here), `present`,
//! `batch` or `cli`: the report is this stage's product, and rendering it is the next stage's job.

pub mod barpath;
pub mod config;
pub mod faults;
pub mod kinematics;
pub mod metrics;
pub mod report;
pub mod reps;
pub mod track;

use crate::posetrack::PoseTrack;
use barpath::{BarPath, BarSource};
use config::{BarConfig, Config};
use kinematics::Kinematics;
use report::{BarReport, RepReport, Report, Scale, Series, SetSummary, Warning, SCHEMA_VERSION};
use reps::RepNote;
use track::{Facing, Joint, Track, P2};

/// Below this share of its declared frames decoded, the report says the header over-counts.
const SHORT_FRACTION: f64 = 0.75;

/// Analyses one clip's pose track.
pub fn analyze(poses: &PoseTrack, cfg: &Config) -> Report {
    let mut warnings = Vec::new();
    // Every stage takes times as finite and increasing (the video stage makes them so, the
    // loader checks it); a track built otherwise loses the frames that are not.
    let repaired;
    let poses = if poses.times_increase() {
        poses
    } else {
        repaired = with_increasing_times(poses);
        warnings.push(Warning {
            code: "bad_timestamps",
            message: format!(
                "{} of {} frames had a time that was not after the previous frame's and were left out",
                poses.frames.len() - repaired.frames.len(),
                poses.frames.len()
            ),
        });
        &repaired
    };
    let declared = poses.video.frames_declared;
    if declared > 0 && (poses.video.frames as f64) < SHORT_FRACTION * declared as f64 {
        warnings.push(Warning {
            code: "fewer_frames_than_declared",
            message: format!(
                "the file's header declares {declared} frames but {} decoded (a trimmed clip's edit list, or a variable frame rate); the clip was analysed as it decodes",
                poses.video.frames
            ),
        });
    }
    let track = track::clean(poses, &cfg.track);
    let q = track.quality;
    let mut reliable = true;
    if q.pose_fraction < cfg.view.min_pose_fraction {
        reliable = false;
        warnings.push(Warning {
            code: "lifter_not_found",
            message: format!("the lifter was found on only {:.0} % of the frames", 100.0 * q.pose_fraction),
        });
    } else if q.median_visibility < cfg.view.min_visibility {
        reliable = false;
        warnings.push(Warning {
            code: "low_confidence",
            message: format!("the pose model was unsure of the lifter (median visibility {:.2})", q.median_visibility),
        });
    }
    let width_ratio = q
        .shoulder_width_ratio
        .into_iter()
        .chain(q.hip_width_ratio)
        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
    // The camera's angle from the body's 3D pose, backed by the shoulders' and hips' width in
    // the picture (which reads small whenever the two shoulders overlap, also at 30-45 deg).
    let angled = q.camera_angle_deg.filter(|a| *a > cfg.view.max_camera_angle_deg);
    let wide = width_ratio.filter(|r| *r > cfg.view.max_width_ratio);
    if angled.is_some() || wide.is_some() {
        reliable = false;
        let seen = match (angled, wide) {
            (Some(a), _) => format!(
                "the body is turned about {a:.0} deg from side-on (a side view is under {:.0})",
                cfg.view.max_camera_angle_deg
            ),
            (None, Some(ratio)) => format!(
                "shoulders/hips appear {ratio:.2} torso lengths wide, a side view shows under {:.2}",
                cfg.view.max_width_ratio
            ),
            (None, None) => unreachable!("one of them is set"),
        };
        warnings.push(Warning {
            code: "not_side_view",
            message: format!("the camera is not side-on ({seen}): film from the side, phone perpendicular to the bar"),
        });
    }
    // The plate's scale and the depth correction assume a side view.
    let side_view = angled.is_none() && wide.is_none();
    let bar = barpath::follow(poses, &track, &cfg.bar, &cfg.track, side_view);
    let kin = kinematics::compute(&track, &bar);
    if let Some(reason) = &bar.hands_reason {
        warnings.push(Warning {
            code: "no_plate",
            message: format!(
                "{reason}: the bar is taken at the hands, and distances and speeds are in body lengths, not cm and m/s"
            ),
        });
    }
    let seg = reps::segment(&kin, &cfg.reps);
    for note in &seg.notes {
        warnings.push(match note {
            RepNote::PartialRep { at_s, starts } => Warning {
                code: "partial_rep",
                message: format!(
                    "the clip {} during a rep (at {at_s:.2} s); that rep is not counted",
                    if *starts { "starts" } else { "ends" }
                ),
            },
            RepNote::NotADeadlift { reason } => {
                Warning { code: "not_a_deadlift", message: format!("movement was seen but no deadlift rep: {reason}") }
            }
        });
    }
    if seg.reps.is_empty() && !warnings.iter().any(|w| w.code == "not_a_deadlift") {
        warnings.push(Warning {
            code: "no_reps",
            message: "no deadlift rep found (the lifter never went from down at the bar to standing with it)".into(),
        });
    }
    let mut rep_metrics: Vec<metrics::RepMetrics> = Vec::with_capacity(seg.reps.len());
    for rep in &seg.reps {
        // Lumbar change is against the first rep's setup; the first rep is its own reference.
        let reference = rep_metrics.first().and_then(|m| m.lumbar_flexion_setup_deg);
        let mut m = metrics::measure(&kin, rep, &cfg.metrics, reference, cfg.bar.min_rep_coverage_frac);
        if rep_metrics.is_empty() {
            m.lumbar_flexion_change_deg = m.lumbar_flexion_setup_deg.map(|_| 0.0);
        }
        rep_metrics.push(m);
    }
    if let Some(w) = scale_check(&kin, &rep_metrics, &cfg.bar) {
        warnings.push(w);
    }
    let speed_basis = if rep_metrics.iter().all(|m| m.mean_concentric_velocity_m_per_s.is_some()) {
        "mean_concentric_velocity_m_per_s"
    } else {
        "mean_concentric_speed_torso_per_s"
    };
    let (speed_loss_pct, fastest_rep, mut set_faults) = faults::set_faults(&seg.reps, &rep_metrics, &cfg.set);
    let evidence = faults::Evidence {
        bar_from_plate: bar.source == BarSource::Plate,
        reliable,
        frame_interval_s: crate::support::signal::median_of(kin.t_s.windows(2).map(|w| w[1] - w[0])).unwrap_or(0.0),
    };
    let mut reps_out: Vec<RepReport> = seg
        .reps
        .iter()
        .zip(rep_metrics)
        .map(|(rep, metrics)| {
            let faults = faults::rep_faults(rep, &metrics, &cfg.faults, evidence);
            RepReport { rep: rep.clone(), metrics, faults }
        })
        .collect();
    if !reliable {
        for f in reps_out.iter_mut().flat_map(|r| r.faults.iter_mut()).chain(set_faults.iter_mut()) {
            f.severity = faults::Severity::Info;
        }
    }
    Report {
        schema_version: SCHEMA_VERSION,
        formcheck_version: env!("CARGO_PKG_VERSION"),
        clip: poses.clip.clone(),
        video: poses.video.clone(),
        reliable,
        facing: track.facing,
        scale: Scale { torso_px: kin.torso_px, shin_torso: kin.shin_torso },
        bar: bar_report(&track, &bar, &cfg.bar),
        quality: q,
        warnings,
        reps: reps_out,
        series: Series {
            t_s: kin.t_s.clone(),
            trunk_incline_deg: kin.trunk_incline_deg.clone(),
            // Only where it is graded, each rep's setup and pull (start to lockout): standing,
            // walking about and lowering the bar, the outline takes in arms, bar and plate, and the
            // chart and the video's colours showed spikes of 40-75 deg there as rounding.
            lumbar_flexion_deg: (0..kin.back_bend_deg.len())
                .map(|i| {
                    let graded = seg.reps.iter().any(|r| (r.frames.start..=r.frames.lockout).contains(&i));
                    kin.back_bend_deg[i].filter(|_| graded)
                })
                .collect(),
            hip_height_torso: kin.hip_height_torso.clone(),
            shoulder_height_torso: kin.shoulder_height_torso.clone(),
            // The bar's path as drawn: the plate's centre when it is the bar, like the x series.
            bar_height_torso: match bar.source {
                BarSource::Plate => kin.plate_height_torso.clone(),
                BarSource::Hands => kin.bar_height_torso.clone(),
            },
            bar_x_midfoot_torso: kin.bar_x_midfoot_torso.clone(),
        },
        set: SetSummary { rep_count: seg.reps.len(), fastest_rep, speed_loss_pct, speed_basis, faults: set_faults },
    }
}

/// The track without the frames whose time is not finite or not after the last kept frame's.
fn with_increasing_times(poses: &PoseTrack) -> PoseTrack {
    let mut last = f64::NEG_INFINITY;
    let frames = poses
        .frames
        .iter()
        .filter(|f| {
            let keep = f.t_s.is_finite() && f.t_s > last;
            if keep {
                last = f.t_s;
            }
            keep
        })
        .cloned()
        .collect();
    PoseTrack {
        schema_version: poses.schema_version,
        clip: poses.clip.clone(),
        video: poses.video.clone(),
        model: poses.model.clone(),
        frames,
    }
}

/// A warning when the plate's scale makes the lifter or the lift implausibly sized (a plate
/// that is not the assumed diameter).
fn scale_check(kin: &Kinematics, reps: &[metrics::RepMetrics], cfg: &BarConfig) -> Option<Warning> {
    let torso_cm = kin.body_mm_per_px? * kin.torso_px / 10.0;
    let max_rom = reps.iter().filter_map(|m| m.rom_cm).fold(f64::NAN, f64::max);
    let torso_off = torso_cm < cfg.min_plausible_torso_cm || torso_cm > cfg.max_plausible_torso_cm;
    let rom_off = max_rom > cfg.max_plausible_rom_cm;
    (torso_off || rom_off).then(|| Warning {
        code: "plate_scale_implausible",
        message: format!(
            "with a {:.0} mm plate the lifter's torso measures {torso_cm:.0} cm (adults: {:.0}-{:.0}){}: the plate is probably another size; give it with --plate-diameter-mm",
            cfg.plate_diameter_mm,
            cfg.min_plausible_torso_cm,
            cfg.max_plausible_torso_cm,
            if rom_off { format!(" and the bar moves {max_rom:.0} cm") } else { String::new() },
        ),
    })
}

/// The report's `bar` section: the source, the scale, and the path in frame pixels.
fn bar_report(track: &Track, bar: &BarPath, cfg: &BarConfig) -> BarReport {
    let points: &[Option<P2>] = match bar.source {
        BarSource::Plate => &bar.plate,
        BarSource::Hands => track.joint(Joint::Wrist),
    };
    let to_frame_x = |x: f64| if track.facing == Facing::Left { track.frame_width - x } else { x };
    let path = track.t_s.iter().zip(points).filter_map(|(&t, p)| p.map(|p| [t, to_frame_x(p.x), -p.y])).collect();
    BarReport {
        source: bar.source,
        point: match bar.source {
            BarSource::Plate => "plate_centre",
            BarSource::Hands => "hands",
        },
        reason: bar.hands_reason.clone(),
        plate_diameter_px: bar.scale.map(|s| s.plate_diameter_px),
        plate_diameter_mm: bar.scale.map(|_| cfg.plate_diameter_mm),
        mm_per_px: bar.scale.map(|s| s.mm_per_px),
        body_mm_per_px: bar.scale.map(|s| s.body_mm_per_px),
        camera_to_plate_m: bar.scale.map(|s| s.camera_to_plate_m),
        plate_fraction: bar.plate_fraction,
        path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::synth::{self, SynthLift};

    #[test]
    fn frames_with_times_out_of_order_are_left_out_with_a_warning() {
        let (mut track, _) = synth::generate(&SynthLift { plate_noise_px: Some(0.5), ..SynthLift::default() });
        let n = track.frames.len();
        track.frames[11].t_s = track.frames[10].t_s;
        track.frames[20].t_s = f64::NAN;
        track.frames[30].t_s = -1.0;
        let report = analyze(&track, &Config::default());
        let w = report.warnings.iter().find(|w| w.code == "bad_timestamps").expect("warned");
        assert!(w.message.starts_with(&format!("3 of {n} frames")), "{}", w.message);
        assert_eq!(report.series.t_s.len(), n - 3);
        assert_eq!(report.reps.len(), 3);
    }

    #[test]
    fn a_plate_whose_size_is_not_finite_is_no_plate() {
        // Every kept plate diameter infinite would leave no median to scale by.
        let (mut track, _) = synth::generate(&SynthLift { plate_noise_px: Some(0.5), ..SynthLift::default() });
        for p in track.frames.iter_mut().filter_map(|f| f.plate.as_mut()) {
            p[2] = f64::INFINITY;
        }
        let report = analyze(&track, &Config::default());
        assert_eq!(report.bar.source, BarSource::Hands);
        assert_eq!(report.reps.len(), 3);
    }

    #[test]
    fn landmarks_that_are_not_finite_count_as_not_seen() {
        let (mut track, _) = synth::generate(&SynthLift::default());
        for (k, l) in track.frames.iter_mut().filter_map(|f| f.landmarks.as_mut()).enumerate() {
            let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][k % 3];
            l[crate::posetrack::layout::joint::LEFT_KNEE][k % 3] = bad;
            l[crate::posetrack::layout::joint::RIGHT_KNEE][k % 3] = bad;
        }
        let report = analyze(&track, &Config::default());
        let json = report.to_json();
        assert!(!json.contains("NaN") && !json.contains("inf"), "non-finite values in the report");
        assert!(report.reps.iter().all(|r| r.metrics.knee_angle_floor_break_deg.is_none()));
    }
}
