//! Per-rep measurements, each with its unit in its name (see `kinematics` for angle conventions;
//! `_torso` = lifter's shoulder-hip lengths, `_shin` = shin lengths, `_ms`/`_s` time; `_cm` and
//! `_m_per_s` from the plate's scale, present only when the plate was followed).
//!
//! Lumbar flexion is the back-outline bend (`kinematics::back_bend_deg`): the angle between
//! straight lines fitted to the lower (lumbar) and upper (thoracic) halves of the back's
//! silhouette edge, positive when rounded. It is reported at setup (the most reliable moment:
//! the ~0.15 s before the floor break), as its median and its worst between the floor break and
//! the knees (where the load bends a back that was set flat), and as the change from the first
//! rep's setup (belts and shirts bend the outline, so the lifter's own first rep is the
//! reference). The upper back's bend is not measured where a hood or hair covers the top of the
//! back.

use crate::analysis::config::MetricsConfig;
use crate::analysis::kinematics::{hidden_by_plate, Kinematics};
use crate::analysis::reps::{Rep, RepFrames};
use crate::support::signal;

/// An outline reaching this far up the hip->shoulder axis (mean over a phase) covered the whole
/// back; one cut lower ended at a hood, hair or the neck (`kinematics::back_top`).
pub const OUTLINE_TO_SHOULDERS_T: f64 = 0.95;

/// Everything measured on one rep. `None` = not measurable (points not seen).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RepMetrics {
    pub trunk_incline_setup_deg: Option<f64>,
    pub lumbar_flexion_setup_deg: Option<f64>,
    pub lumbar_flexion_max_pull_deg: Option<f64>,
    /// The bend's median from the floor break to the knees (at least three frames of outline).
    pub lumbar_flexion_pull_deg: Option<f64>,
    pub lumbar_flexion_change_deg: Option<f64>,
    /// The upper back's own bend (thoracic third against the middle third of the outline), at
    /// setup and at its worst from the floor to the knees; `None` where the outline did not reach
    /// the shoulders (a hood or hair over the top of the back).
    pub upper_back_bend_setup_deg: Option<f64>,
    pub upper_back_bend_max_pull_deg: Option<f64>,
    /// Its median from the floor break to the knees (at least three frames of outline).
    pub upper_back_bend_pull_deg: Option<f64>,
    /// Share of the setup window's frames with a back outline to measure.
    pub outline_seen_setup_frac: f64,
    /// How far up the back the outline reached at setup, as a share of the hip->shoulder axis
    /// (1 = to the shoulders; less where a hood, hair or the neck covered the top of the back).
    pub outline_top_setup_t: Option<f64>,
    pub hip_angle_floor_break_deg: Option<f64>,
    /// Hip height above knee height at setup, torso lengths (about 0 or below in a squat-style
    /// setup; a hinge keeps the hips well above the knees).
    pub hip_above_knee_setup_torso: Option<f64>,
    /// Knee ahead of the bar at setup, shin lengths.
    pub knee_ahead_of_bar_setup_shin: Option<f64>,
    pub knee_angle_floor_break_deg: Option<f64>,
    /// Hip rise over shoulder rise during the first part of the pull (1 = together).
    pub hip_shoulder_rise_ratio: Option<f64>,
    /// The most the trunk closed toward horizontal over that part of the pull, from its setup
    /// angle (positive = the hips rose ahead of the shoulders).
    pub trunk_incline_change_early_pull_deg: Option<f64>,
    /// How long before the bar the hips started rising (negative = after).
    pub hip_rise_lead_ms: Option<f64>,
    pub bar_to_shin_setup_shin: Option<f64>,
    pub bar_to_midfoot_setup_shin: Option<f64>,
    /// Largest forward move of the bar from its floor-break position during the pull.
    pub bar_forward_drift_shin: Option<f64>,
    /// Trunk past vertical at the top (positive = leaning back), its median over the hold: from
    /// the shoulder-hip line on frames where the hip is not on the plate's disc, else from the
    /// back's outline (`lean_back_from_outline`).
    pub trunk_lean_back_lockout_deg: Option<f64>,
    pub lean_back_from_outline: bool,
    /// Hip and knee angles at the top, only from frames where the joints (hip, knee) are not on
    /// the plate's disc: `None` = not measurable (the plate hides them).
    pub hip_angle_lockout_deg: Option<f64>,
    pub knee_angle_lockout_deg: Option<f64>,
    /// How far the hip and knee stayed from the plate's centre over the top, in plate radii (the
    /// nearer of the two, medians over the hold): under 1.15 they count as hidden; near the rim
    /// a lockout measure is of medium confidence.
    pub joints_plate_clearance_lockout_r: Option<f64>,
    /// After the knees: how far the bar dipped, and how much the knees bent again.
    pub bar_dip_after_knee_torso: Option<f64>,
    pub knee_rebend_after_knee_deg: Option<f64>,
    /// Time from the floor break until the bar reaches half its peak speed, as a fraction of the
    /// pull's duration (about 0.2 for a pull that builds speed smoothly). Absent when the load was
    /// already moving where the rep starts (a clip that starts mid-pull, a touch-and-go rep).
    pub bar_time_to_half_speed_frac: Option<f64>,
    pub neck_extension_setup_deg: Option<f64>,
    pub neck_extension_max_pull_deg: Option<f64>,
    pub concentric_s: f64,
    pub eccentric_s: Option<f64>,
    pub bar_rise_torso: f64,
    pub mean_concentric_speed_torso_per_s: f64,
    pub peak_concentric_speed_torso_per_s: Option<f64>,
    /// From the plate (absent when the bar is the hands or the plate was not followed over
    /// this rep): the bar's vertical range of motion, from its setup height to its top.
    pub rom_cm: Option<f64>,
    /// Mean concentric velocity: the middle 90 % of the range of motion (5 % to 95 %) over the
    /// time it took.
    pub mean_concentric_velocity_m_per_s: Option<f64>,
    pub peak_concentric_velocity_m_per_s: Option<f64>,
    /// How far the feet (heel, toe, ankle) and the knee stayed from the plate's centre over the
    /// setup, plate radii (medians; under 1.15 the plate hides them and the bar's distance from
    /// mid-foot and the shin is the model's guess).
    pub feet_plate_clearance_setup_r: Option<f64>,
    pub knee_plate_clearance_setup_r: Option<f64>,
    /// At setup, at the lifter's depth (depth-corrected scale).
    pub bar_to_shin_setup_cm: Option<f64>,
    pub bar_to_midfoot_setup_cm: Option<f64>,
    /// Largest forward move of the bar from its floor-break position during the pull.
    pub bar_forward_drift_cm: Option<f64>,
}

/// The plate-based figures (cm, m/s; every other field left at its default), when the plate was
/// followed over at least `min_coverage` of the pull.
fn plate_metrics(k: &Kinematics, rep: &Rep, setup: std::ops::RangeInclusive<usize>, min_coverage: f64) -> RepMetrics {
    let f = rep.frames;
    let Some(body_mm_per_px) = k.body_mm_per_px else { return RepMetrics::default() };
    let pull = f.floor_break..=f.lockout;
    let seen = pull.clone().filter(|&i| k.plate_y_mm[i].is_some()).count();
    // The bar's height at rest on the floor: its lowest from the setup to the floor break (the
    // floor break is where it has visibly left the floor, a few cm up).
    let rest =
        (f.start..=f.floor_break)
            .filter_map(|i| k.plate_y_mm[i].map(|y| (i, y)))
            .reduce(|a, b| if b.1 < a.1 { b } else { a });
    let setup_y = rest.map(|r| r.1);
    let (Some(y0), true) = (setup_y, seen as f64 >= min_coverage * pull.clone().count() as f64) else {
        return RepMetrics::default();
    };
    let top_range = f.floor_break..=f.descent.max(f.lockout);
    let Some(y_top) = max_of(top_range.clone().map(|i| k.plate_y_mm[i])) else { return RepMetrics::default() };
    let rom_mm = y_top - y0;
    // Mean concentric velocity between 5 % and 95 % of the rise (crossing times interpolated
    // between frames): where exactly the bar leaves the floor and settles at the top is a matter
    // of thresholds (and of noise on a bar barely moving); the middle 90 % of the rise is not.
    let crossing = |frac: f64| -> Option<(usize, f64)> {
        let level = y0 + frac * rom_mm;
        let mut prev: Option<(f64, f64)> = None;
        // From the bar at rest: the floor break is already a few cm up.
        for i in rest.map_or(f.floor_break, |r| r.0)..=*top_range.end() {
            let Some(y) = k.plate_y_mm[i] else {
                prev = None;
                continue;
            };
            if y >= level {
                return Some((
                    i,
                    match prev {
                        Some((t0, y_prev)) if y > y_prev => t0 + (level - y_prev) / (y - y_prev) * (k.t_s[i] - t0),
                        _ => k.t_s[i],
                    },
                ));
            }
            prev = Some((k.t_s[i], y));
        }
        None
    };
    let (start, end) = (crossing(0.05), crossing(0.95));
    let mcv = match (start, end) {
        (Some((_, a)), Some((_, b))) if b > a => Some(0.9 * rom_mm / 1000.0 / (b - a)),
        _ => None,
    };
    let end = end.map(|(i, _)| i);
    let peak = max_of((f.floor_break..=end.unwrap_or(f.lockout)).map(|i| k.plate_velocity_m_per_s[i]));
    let torso_cm = k.torso_px * body_mm_per_px / 10.0;
    let x0 = k.plate_x_mm[f.floor_break];
    RepMetrics {
        rom_cm: Some(rom_mm / 10.0),
        mean_concentric_velocity_m_per_s: mcv,
        peak_concentric_velocity_m_per_s: peak,
        bar_to_shin_setup_cm: mean(setup.clone().map(|i| k.bar_to_shin_torso[i])).map(|v| v * torso_cm),
        bar_to_midfoot_setup_cm: mean(setup.map(|i| k.bar_x_midfoot_torso[i])).map(|v| v * torso_cm),
        bar_forward_drift_cm: x0.and_then(|x0| max_of(pull.map(|i| k.plate_x_mm[i].map(|x| (x - x0) / 10.0)))),
        ..RepMetrics::default()
    }
}

fn mean(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn max_of(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.flatten().reduce(f64::max)
}

/// Frames within `window_s` before frame `i` (inclusive), at least frame `i` itself.
fn window_before(t_s: &[f64], i: usize, window_s: f64) -> std::ops::RangeInclusive<usize> {
    let mut a = i;
    while a > 0 && t_s[i] - t_s[a - 1] <= window_s {
        a -= 1;
    }
    a..=i
}

/// Hips this near (torso lengths) to their height at the end of the setup are down in the start
/// position; further up, the lifter is still dropping into it.
const SETUP_HIP_BAND_TORSO: f64 = 0.08;

/// The setup: up to `window_s` before `end`, but only the frames since the hips came down to their
/// setup height (within [`SETUP_HIP_BAND_TORSO`]). A lifter still dropping into the start (a clip
/// that begins mid-descent, a dynamic start) is not set up yet, and frames of that fast descent
/// would make the setup's measures depend on exactly which frames the window caught.
fn setup_window(k: &Kinematics, end: usize, window_s: f64) -> std::ops::RangeInclusive<usize> {
    let full = window_before(&k.t_s, end, window_s);
    let Some(settled) = k.hip_height_torso[end] else { return full };
    let mut a = end;
    while a > *full.start() {
        match k.hip_height_torso[a - 1] {
            Some(h) if (h - settled).abs() > SETUP_HIP_BAND_TORSO => break,
            _ => a -= 1,
        }
    }
    a..=end
}

/// At the top the hips stand at least this far (torso lengths) above the knees (a thigh is
/// about 0.8-0.9 torso long and nearly vertical there).
const MIN_THIGH_DROP_TOP_TORSO: f64 = 0.5;

/// The load is moving once it rises faster than this share of its peak speed.
const MOTION_ONSET_SPEED_FRAC: f64 = 0.05;

/// Jerk: a smooth pull builds speed from rest; a yanked bar reaches half its peak speed almost
/// at once. Time to half speed is scale-free and does not depend on a window length. Timed from
/// when the load starts to move (the floor break is where it is visibly up, a few cm later):
/// back from the floor break while it still rose faster than a twentieth of its peak speed.
/// `None` when the load was still moving at the rep's first frame (it never rested: a clip that
/// starts mid-pull, a touch-and-go rep), so there is no start to time.
/// `peak`: the load's peak speed over the pull.
fn time_to_half_speed_frac(t_s: &[f64], speed: &[Option<f64>], f: &RepFrames, peak: Option<f64>) -> Option<f64> {
    let p = peak?;
    let moving = |i: usize| speed[i].is_some_and(|x| x > MOTION_ONSET_SPEED_FRAC * p);
    let mut onset = f.floor_break;
    while onset > f.start && moving(onset - 1) {
        onset -= 1;
    }
    if onset == f.start && moving(f.start) {
        return None;
    }
    (onset..=f.lockout)
        .find(|&i| speed[i].is_some_and(|x| x >= 0.5 * p))
        .map(|i| (t_s[i] - t_s[onset]) / (t_s[f.lockout] - t_s[onset]).max(1e-3))
}

/// Measures one rep. `first_setup_lumbar_deg` is the first rep's setup value, for the change.
///
/// `min_plate_coverage`: the share of the pull the plate must have been followed over for the
/// cm and m/s figures.
pub fn measure(
    k: &Kinematics,
    rep: &Rep,
    cfg: &MetricsConfig,
    first_setup_lumbar_deg: Option<f64>,
    min_plate_coverage: f64,
) -> RepMetrics {
    let f = rep.frames;
    // Setup ends when the body starts moving: at the floor break, or earlier when the hips rise
    // first (walk back while the hips were still lower the frame before).
    let mut setup_end = f.floor_break;
    while setup_end > f.start {
        match (k.hip_height_torso[setup_end - 1], k.hip_height_torso[setup_end]) {
            (Some(prev), Some(here)) if prev < here => setup_end -= 1,
            _ => break,
        }
    }
    let setup = setup_window(k, setup_end, cfg.setup_window_s);
    let series_mean = |s: &[Option<f64>], r: std::ops::RangeInclusive<usize>| mean(r.map(|i| s[i]));
    let pull_to_knee = f.floor_break..=f.knee_pass.unwrap_or(f.lockout);
    let top = f.lockout..=f.descent.max(f.lockout);
    let shin = k.shin_torso.filter(|s| *s > 0.05);
    let rise = rep.bar_top_torso - rep.bar_floor_torso;
    let lumbar_setup = series_mean(&k.back_bend_deg, setup.clone());
    // A bend's median from the floor to the knees: one noisy frame does not make it.
    let pull_median = |s: &[Option<f64>]| {
        let seen: Vec<f64> = pull_to_knee.clone().filter_map(|i| s[i]).collect();
        if seen.len() >= 3 {
            signal::median_of(seen)
        } else {
            None
        }
    };
    // The upper back is the outline's top third: where a hood or hair covers it, it is not
    // measured (what is left of the outline is the middle of the back).
    let outline_top_setup_t = series_mean(&k.back_top_t, setup.clone());
    let to_shoulders = |t: Option<f64>| t.is_some_and(|t| t >= OUTLINE_TO_SHOULDERS_T);
    let upper_seen_setup = to_shoulders(outline_top_setup_t);
    let upper_seen_pull = to_shoulders(series_mean(&k.back_top_t, pull_to_knee.clone()));

    // Hip vs shoulder rise over the early pull.
    let early_end = (f.floor_break..=f.lockout)
        .find(|&i| k.load_height_torso[i].is_some_and(|b| b >= rep.bar_floor_torso + cfg.early_pull_rise_frac * rise))
        .unwrap_or(f.lockout);
    let rise_of = |s: &[Option<f64>]| Some(s[early_end]? - series_mean(s, setup.clone())?);
    let hip_shoulder_rise_ratio = match (rise_of(&k.hip_height_torso), rise_of(&k.shoulder_height_torso)) {
        // Shoulders that barely move make the ratio explode: floor them at a small rise.
        (Some(h), Some(s)) if h > 0.0 => Some(h / s.max(0.02)),
        _ => None,
    };
    let start_of_rise = |s: &[Option<f64>]| -> Option<f64> {
        let base = series_mean(s, setup.clone())?;
        let from = *setup.start();
        (from..=f.lockout).find(|&i| s[i].is_some_and(|v| v >= base + cfg.rise_start_torso)).map(|i| k.t_s[i])
    };
    let hip_rise_lead_ms = match (start_of_rise(&k.load_height_torso), start_of_rise(&k.hip_height_torso)) {
        (Some(bar), Some(hip)) => Some(1000.0 * (bar - hip)),
        _ => None,
    };

    // Bar path.
    let fb_x = k.bar_x_midfoot_torso[f.floor_break];
    let drift =
        fb_x.and_then(|x0| max_of((f.floor_break..=f.lockout).map(|i| k.bar_x_midfoot_torso[i].map(|x| x - x0))));

    // Hitch: after the knees, the largest drop from a running maximum of the bar, and the
    // largest bend from a running maximum of the knee angle.
    // (A hitch happens on the thighs: stop before the bar nears its top, where the hands may
    // overshoot and settle as the hips come through.)
    let thigh_top = (f.knee_pass.unwrap_or(f.lockout)..=f.lockout)
        .find(|&i| k.load_height_torso[i].is_some_and(|b| b >= rep.bar_floor_torso + 0.85 * rise))
        .unwrap_or(f.lockout);
    let after_knee = f.knee_pass.unwrap_or(f.lockout)..=thigh_top;
    let largest_drop = |s: &[Option<f64>]| -> Option<f64> {
        let mut best: Option<f64> = None;
        let mut peak: Option<f64> = None;
        for i in after_knee.clone() {
            let Some(v) = s[i] else { continue };
            peak = Some(peak.map_or(v, |p: f64| p.max(v)));
            let drop = peak.expect("just set") - v;
            best = Some(best.map_or(drop, |b: f64| b.max(drop)));
        }
        best
    };

    let v = &k.load_velocity_torso_per_s;
    let peak_speed = max_of((f.floor_break..=f.lockout).map(|i| v[i]));
    let concentric_s = k.t_s[f.lockout] - k.t_s[f.floor_break];
    let bar_time_to_half_speed_frac = time_to_half_speed_frac(&k.t_s, v, &f, peak_speed);
    // Mean concentric speed between 10 % and 90 % of the rise: independent of exactly where a
    // slow break from the floor or a slow finish is cut.
    let at_frac = |frac: f64| {
        (f.floor_break..=f.lockout)
            .find(|&i| k.load_height_torso[i].is_some_and(|b| b >= rep.bar_floor_torso + frac * rise))
            .map(|i| k.t_s[i])
    };
    let mean_speed = match (at_frac(0.1), at_frac(0.9)) {
        (Some(a), Some(b)) if b > a => 0.8 * rise / (b - a),
        _ => rise / (k.t_s[f.lockout] - k.t_s[f.floor_break]).max(1e-3),
    };
    // At the top the plate sits at the thighs: whether it hides the hip (knee) is decided once
    // for the whole hold, from the joint's median distance from the plate's centre, so one frame
    // of a landmark sliding off the rim does not make a measure appear. Hidden joints are not
    // measured; joints seen but near the rim give a measure of medium confidence.
    let clearance = |d: &[Option<f64>]| signal::median_of(top.clone().filter_map(|i| d[i]));
    let hip_clear_r = clearance(&k.hip_plate_dist_r);
    let knee_clear_r = clearance(&k.knee_plate_dist_r);
    // A lifter at the top of a deadlift stands on straight-ish legs: the knees well below the
    // hips. A pose that puts them level (the model lost in a close shot, the plate over the
    // body) shows nothing about the lockout.
    let thigh_drop =
        signal::median_of(top.clone().filter_map(|i| Some(k.hip_height_torso[i]? - k.knee_height_torso[i]?)));
    let legs_plausible = thigh_drop.map_or(true, |d| d >= MIN_THIGH_DROP_TOP_TORSO);
    let seen = |c: Option<f64>| legs_plausible && !hidden_by_plate(c);
    let (hip_seen, knee_seen) = (seen(hip_clear_r), seen(knee_clear_r));
    // Leaning back: the shoulder-hip line where the hip is seen; where the plate hides it, the
    // line of the back's own outline (the silhouette's edge). Its median over the hold: a lifter
    // who hyperextends holds it, while the most leaned-back single frame is as often an outline
    // reaching onto a caption or the plate.
    let lean_back = if hip_seen {
        signal::median_of(top.clone().filter_map(|i| k.trunk_incline_deg[i])).map(|a| (-a, false))
    } else {
        signal::median_of(top.clone().filter_map(|i| k.back_line_incline_deg[i])).map(|a| (-a, true))
    };
    RepMetrics {
        trunk_incline_setup_deg: series_mean(&k.trunk_incline_deg, setup.clone()),
        lumbar_flexion_setup_deg: lumbar_setup,
        lumbar_flexion_max_pull_deg: max_of(pull_to_knee.clone().map(|i| k.back_bend_deg[i])),
        lumbar_flexion_pull_deg: pull_median(&k.back_bend_deg),
        upper_back_bend_setup_deg: series_mean(&k.upper_back_bend_deg, setup.clone()).filter(|_| upper_seen_setup),
        upper_back_bend_max_pull_deg: max_of(pull_to_knee.clone().map(|i| k.upper_back_bend_deg[i]))
            .filter(|_| upper_seen_pull),
        upper_back_bend_pull_deg: pull_median(&k.upper_back_bend_deg).filter(|_| upper_seen_pull),
        outline_seen_setup_frac: setup.clone().filter(|&i| k.back_bend_deg[i].is_some()).count() as f64
            / setup.clone().count().max(1) as f64,
        outline_top_setup_t,
        lumbar_flexion_change_deg: match (lumbar_setup, first_setup_lumbar_deg) {
            (Some(a), Some(b)) => Some(a - b),
            _ => None,
        },
        hip_angle_floor_break_deg: series_mean(&k.hip_angle_deg, setup.clone()),
        hip_above_knee_setup_torso: mean(setup.clone().map(|i| Some(k.hip_height_torso[i]? - k.knee_height_torso[i]?))),
        knee_ahead_of_bar_setup_shin: shin
            .and_then(|s| Some(series_mean(&k.knee_ahead_of_bar_torso, setup.clone())? / s)),
        knee_angle_floor_break_deg: series_mean(&k.knee_angle_deg, setup.clone()),
        hip_shoulder_rise_ratio,
        trunk_incline_change_early_pull_deg: series_mean(&k.trunk_incline_deg, setup.clone())
            .and_then(|base| max_of((f.floor_break..=early_end).map(|i| k.trunk_incline_deg[i])).map(|m| m - base)),
        hip_rise_lead_ms,
        bar_to_shin_setup_shin: shin.and_then(|s| Some(series_mean(&k.bar_to_shin_torso, setup.clone())? / s)),
        bar_to_midfoot_setup_shin: shin.and_then(|s| Some(series_mean(&k.bar_x_midfoot_torso, setup.clone())? / s)),
        bar_forward_drift_shin: shin.and_then(|s| Some(drift? / s)),
        trunk_lean_back_lockout_deg: lean_back.map(|(v, _)| v),
        lean_back_from_outline: lean_back.is_some_and(|(_, outline)| outline),
        hip_angle_lockout_deg: max_of(top.clone().map(|i| k.hip_angle_deg[i])).filter(|_| hip_seen && knee_seen),
        knee_angle_lockout_deg: max_of(top.clone().map(|i| k.knee_angle_deg[i])).filter(|_| knee_seen),
        joints_plate_clearance_lockout_r: match (hip_clear_r, knee_clear_r) {
            (Some(h), Some(kn)) => Some(h.min(kn)),
            (h, kn) => h.or(kn),
        },
        bar_dip_after_knee_torso: f.knee_pass.and_then(|_| largest_drop(&k.load_height_torso)),
        knee_rebend_after_knee_deg: f.knee_pass.and_then(|_| largest_drop(&k.knee_angle_deg)),
        bar_time_to_half_speed_frac,
        feet_plate_clearance_setup_r: signal::median_of(setup.clone().filter_map(|i| k.foot_plate_dist_r[i])),
        knee_plate_clearance_setup_r: signal::median_of(setup.clone().filter_map(|i| k.knee_plate_dist_r[i])),
        neck_extension_setup_deg: series_mean(&k.neck_extension_deg, setup.clone()),
        neck_extension_max_pull_deg: max_of((f.floor_break..=f.lockout).map(|i| k.neck_extension_deg[i])),
        concentric_s,
        eccentric_s: rep.descent_complete.then(|| k.t_s[f.end] - k.t_s[f.descent]),
        bar_rise_torso: rise,
        mean_concentric_speed_torso_per_s: mean_speed,
        peak_concentric_speed_torso_per_s: peak_speed,
        ..plate_metrics(k, rep, setup, min_plate_coverage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_to_half_speed_is_timed_from_rest_and_not_without_it() {
        let t_s: Vec<f64> = (0..40).map(|i| i as f64 / 30.0).collect();
        // Speed 0 until frame `from`, then up to 1 over 10 frames.
        let pull = |from: f64| -> Vec<Option<f64>> {
            (0..40).map(|i| Some(((i as f64 - from) / 10.0).clamp(0.0, 1.0))).collect()
        };
        let f = RepFrames { start: 0, floor_break: 8, lockout: 30, ..Default::default() };
        let timed =
            |speed: &[Option<f64>]| time_to_half_speed_frac(&t_s, speed, &f, max_of(speed[8..=30].iter().copied()));
        // Moving from frame 6 (speed 0.1 > a twentieth), half speed at frame 10: 4 of 24 frames.
        let frac = timed(&pull(5.0)).expect("a pull from rest is timed");
        assert!((frac - 4.0 / 24.0).abs() < 1e-9, "{frac}");
        // Already at half speed on the rep's first frame (a clip that starts mid-pull).
        assert_eq!(timed(&pull(-5.0)), None);
    }
}
