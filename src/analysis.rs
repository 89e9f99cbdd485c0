//! The cheap half of formcheck: from a pose track to a report, with no model and no video.
//! `track` (clean) -> `kinematics` -> `reps` -> `metrics` -> `faults` -> `report`. Running it on
//! a saved `poses.json` gives the same report as running it right after inference.

use crate::config::Config;
use crate::faults;
use crate::kinematics;
use crate::metrics;
use crate::posetrack::PoseTrack;
use crate::report::{RepReport, Report, Scale, Series, SetSummary, Warning, SCHEMA_VERSION};
use crate::reps::{self, RepNote};
use crate::track;

/// Analyses one clip's pose track.
pub fn analyze(poses: &PoseTrack, cfg: &Config) -> Report {
    let track = track::clean(poses, &cfg.track);
    let kin = kinematics::compute(&track);
    let q = track.quality;
    let mut warnings = Vec::new();
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
    if let Some(ratio) = width_ratio.filter(|r| *r > cfg.view.max_width_ratio) {
        reliable = false;
        warnings.push(Warning {
            code: "not_side_view",
            message: format!(
                "the camera is not side-on (shoulders/hips appear {:.2} torso lengths wide, a side view shows under {:.2}): film from the side, phone perpendicular to the bar",
                ratio, cfg.view.max_width_ratio
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
        let mut m = metrics::measure(&kin, rep, &cfg.metrics, reference);
        if rep_metrics.is_empty() {
            m.lumbar_flexion_change_deg = m.lumbar_flexion_setup_deg.map(|_| 0.0);
        }
        rep_metrics.push(m);
    }
    let (speed_loss_pct, fastest_rep, mut set_faults) = faults::set_faults(&seg.reps, &rep_metrics, &cfg.set);
    let mut reps_out: Vec<RepReport> = seg
        .reps
        .iter()
        .zip(rep_metrics)
        .map(|(rep, metrics)| {
            let faults = faults::rep_faults(rep, &metrics, &cfg.faults);
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
        quality: q,
        warnings,
        reps: reps_out,
        series: Series {
            t_s: kin.t_s.clone(),
            trunk_incline_deg: kin.trunk_incline_deg.clone(),
            lumbar_flexion_deg: kin.back_bend_deg.clone(),
            hip_height_torso: kin.hip_height_torso.clone(),
            shoulder_height_torso: kin.shoulder_height_torso.clone(),
            bar_height_torso: kin.bar_height_torso.clone(),
            bar_x_midfoot_torso: kin.bar_x_midfoot_torso.clone(),
        },
        set: SetSummary { rep_count: seg.reps.len(), fastest_rep, speed_loss_pct, faults: set_faults },
    }
}
