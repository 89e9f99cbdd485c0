//! Turning measurements into findings a lifter can act on. Each fault has a stable code (see
//! DOMAIN.md), a severity, the measured value and the threshold it crossed (with unit), when it
//! happened, and a short cue in our own words.

use crate::analysis::config::{FaultsConfig, SetConfig};
use crate::analysis::kinematics::hidden_by_plate;
use crate::analysis::metrics::{RepMetrics, OUTLINE_TO_SHOULDERS_T};
use crate::analysis::reps::Rep;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Fault,
}

/// How far a finding can be trusted, from what the picture showed: whether the joints it rests
/// on were seen (not on the plate's disc, not out of frame), whether the bar was the plate or the
/// hands, and how much of the back's outline there was. Only a `high` finding can be a `fault`;
/// a `medium` one is at most a `warn`, a `low` one at most `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    /// The word the report and the page use.
    pub fn word(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// The most severe a finding of this confidence may be.
    pub fn max_severity(self) -> Severity {
        match self {
            Confidence::Low => Severity::Info,
            Confidence::Medium => Severity::Warn,
            Confidence::High => Severity::Fault,
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Fault {
    pub code: &'static str,
    pub severity: Severity,
    pub confidence: Confidence,
    pub at_s: f64,
    pub value: f64,
    pub threshold: f64,
    pub unit: &'static str,
    pub cue: &'static str,
}

pub const CUES: [(&str, &str); 13] = [
    ("rounded_lower_back", "Brace before you pull: breathe into your belly, lift your chest and pull the slack out of the bar so your lower back stays flat as the bar leaves the floor."),
    ("rounded_upper_back", "Your upper back is rounded. Held still, many strong lifters pull like this; if it rounds more as the bar comes up, set your shoulders down and back and squeeze the bar into your legs before you pull."),
    ("squatting_the_deadlift", "The deadlift turned into a squat: hips low, chest upright, knees far past the bar. Push your hips back until your shoulders are over the bar and your shins are nearly vertical, then pull."),
    ("early_hip_rise", "Push the floor away with your legs and let hips and chest rise together; if your hips shoot up first, start with them a little lower and keep your lats tight."),
    ("hips_too_high_at_start", "Bring your shins to the bar and sit your hips a little lower so your legs start the pull instead of your back."),
    ("bar_away_from_shins", "Start with the bar over mid-foot, about an inch from your shins, and keep it brushing your legs all the way up."),
    ("lockout_hyperextension", "Finish tall, not leaning back: squeeze your glutes and stop once hips and knees are straight."),
    ("soft_lockout", "Finish the rep: stand all the way up with hips and knees straight before you lower the bar."),
    ("hitching", "Drive your hips through in one smooth pull instead of resting the bar on your thighs and re-bending your knees."),
    ("jerking_the_bar", "Take the slack out first: wedge into the bar until it clicks against the plates, then push the floor away smoothly."),
    ("head_position", "Keep your neck in line with your back: eyes on the floor a few metres ahead, not up at the ceiling."),
    ("rep_speed_loss", "Your reps slowed down a lot: that is a good place to end the set or lower the weight."),
    ("lumbar_flexion_drift", "Your back rounded more as the set went on: rest longer, or stop the set when it starts to happen."),
];

pub fn cue(code: &str) -> &'static str {
    CUES.iter().find(|(c, _)| *c == code).map(|(_, cue)| *cue).unwrap_or("")
}

/// Grades a value that is bad when high: `Some(severity, threshold crossed)`.
fn grade_high(value: f64, warn: f64, fault: f64) -> Option<(Severity, f64)> {
    if value >= fault {
        Some((Severity::Fault, fault))
    } else if value >= warn {
        Some((Severity::Warn, warn))
    } else {
        None
    }
}

/// Grades a value that is bad when low.
fn grade_low(value: f64, warn: f64, fault: f64) -> Option<(Severity, f64)> {
    if value <= fault {
        Some((Severity::Fault, fault))
    } else if value <= warn {
        Some((Severity::Warn, warn))
    } else {
        None
    }
}

/// A hip or knee nearer the plate's centre than this many plate radii at the top is close enough
/// to its rim that the model may be guessing it.
const NEAR_PLATE_R: f64 = 1.6;

/// What the picture showed of a rep, for the findings' confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// The bar was the plate (else the hands).
    pub bar_from_plate: bool,
    /// The report is reliable (side view, lifter found, model confident).
    pub reliable: bool,
    /// The clip's frame interval (median), seconds: what a time can be resolved to.
    pub frame_interval_s: f64,
}

/// The faults of one rep.
pub fn rep_faults(rep: &Rep, m: &RepMetrics, cfg: &FaultsConfig, ev: Evidence) -> Vec<Fault> {
    let mut out = Vec::new();
    let mut add = |code: &'static str,
                   confidence: Confidence,
                   at_s: f64,
                   value: Option<f64>,
                   unit: &'static str,
                   grade: &dyn Fn(f64) -> Option<(Severity, f64)>| {
        if let Some(v) = value {
            if let Some((severity, threshold)) = grade(v) {
                let confidence = if ev.reliable { confidence } else { Confidence::Low };
                let severity = severity.min(confidence.max_severity());
                out.push(Fault { code, severity, confidence, at_s, value: v, threshold, unit, cue: cue(code) });
            }
        }
    };
    let fb = rep.floor_break_s;
    // The back's outline: high when it was there on most of the setup and reached the shoulders;
    // a back whose top was covered (a hood, hair) was measured on less than itself: medium.
    let outline = match m.outline_seen_setup_frac {
        f if f >= 0.8 && m.outline_top_setup_t.is_some_and(|t| t >= OUTLINE_TO_SHOULDERS_T) => Confidence::High,
        f if f >= 0.5 => Confidence::Medium,
        _ => Confidence::Low,
    };
    // Rounded at setup, or bent round by the load between the floor and the knees (the pull's
    // median: one noisy frame does not make it).
    let c = &cfg.rounded_lower_back;
    let lumbar = m.lumbar_flexion_setup_deg.into_iter().chain(m.lumbar_flexion_pull_deg).reduce(f64::max);
    add("rounded_lower_back", outline, fb, lumbar, "deg", &|v| grade_high(v, c.warn_deg, c.fault_deg));
    // Thoracic rounding is common and often tolerated while it holds still: a warning, and a
    // fault only when it grows under the load.
    let c = &cfg.rounded_upper_back;
    // Grown: the pull's median against the setup (the pull's single worst frame is noise as much
    // as back: it crossed the limit on a re-encode of a clip whose median did not move).
    let grew = match (m.upper_back_bend_setup_deg, m.upper_back_bend_pull_deg) {
        (Some(a), Some(b)) => b - a >= c.fault_growth_deg,
        _ => false,
    };
    add("rounded_upper_back", outline, fb, m.upper_back_bend_setup_deg, "deg", &|v| {
        (v >= c.warn_deg).then_some(if grew { (Severity::Fault, c.warn_deg) } else { (Severity::Warn, c.warn_deg) })
    });
    let c = &cfg.early_hip_rise;
    let closed = m.trunk_incline_change_early_pull_deg.unwrap_or(0.0);
    // Hips shooting up show twice: they rise more than the shoulders, and the back angle closes
    // toward horizontal. Either alone is often camera motion or a landmark moving on its own.
    add("early_hip_rise", Confidence::High, fb, m.hip_shoulder_rise_ratio, "ratio", &|v| {
        if closed >= c.fault_trunk_close_deg {
            grade_high(v, c.warn_ratio, c.fault_ratio)
        } else if closed >= c.warn_trunk_close_deg {
            grade_high(v, c.warn_ratio, f64::INFINITY)
        } else {
            None
        }
    });
    // A squat-style pull: the trunk nearly upright at the floor with the hips down near the
    // knees (a hinge keeps them well above).
    let c = &cfg.squatting_the_deadlift;
    let hips_low = m.hip_above_knee_setup_torso.map_or(true, |h| h <= c.max_hip_above_knee_torso);
    if hips_low {
        let seen = if m.hip_above_knee_setup_torso.is_some() { Confidence::High } else { Confidence::Medium };
        add("squatting_the_deadlift", seen, fb, m.trunk_incline_setup_deg, "deg", &|v| {
            grade_low(v, c.warn_trunk_incline_deg, c.fault_trunk_incline_deg)
        });
    }
    let c = &cfg.hips_too_high_at_start;
    add("hips_too_high_at_start", Confidence::High, fb, m.knee_angle_floor_break_deg, "deg", &|v| {
        grade_high(v, c.warn_knee_deg, c.fault_knee_deg)
    });
    let c = &cfg.bar_away_from_shins;
    let knees_plausible = m.knee_angle_floor_break_deg.is_some_and(|k| k >= c.min_plausible_knee_deg);
    // Feet or knees on the plate's disc at setup are placed by the model, not seen; and where the
    // plate was not found at setup, nothing says they were clear of it.
    let clear = |dist_r: Option<f64>| dist_r.is_some() && !hidden_by_plate(dist_r);
    let feet_seen = if clear(m.feet_plate_clearance_setup_r) { Confidence::High } else { Confidence::Medium };
    let shin_seen = if clear(m.feet_plate_clearance_setup_r) && clear(m.knee_plate_clearance_setup_r) {
        Confidence::High
    } else {
        Confidence::Medium
    };
    match (m.bar_to_midfoot_setup_cm, m.bar_to_shin_setup_cm) {
        // With the plate, in cm: from mid-foot (the feet stay in view; the knees that make the
        // shin line are often behind the plate), or from the shin line when the feet are not seen.
        (Some(foot), _) => add("bar_away_from_shins", feet_seen, fb, Some(foot), "cm", &|v| {
            grade_high(v, c.warn_midfoot_cm, c.fault_midfoot_cm)
        }),
        (None, Some(shin)) if knees_plausible => add("bar_away_from_shins", shin_seen, fb, Some(shin), "cm", &|v| {
            grade_high(v, c.warn_shin_cm, c.fault_shin_cm)
        }),
        _ => {
            // The hands sit in front of the bar and move on their own: an indication.
            let bar_away = if knees_plausible { m.bar_to_shin_setup_shin } else { m.bar_to_midfoot_setup_shin };
            add("bar_away_from_shins", Confidence::Medium, fb, bar_away, "shin", &|v| {
                grade_high(v, c.warn_shin, c.fault_shin)
            });
        }
    }
    // Hips and knees hidden by the plate are not measured (`None`), so never graded; seen but
    // close to its rim, they may be the model's guess: a warning at most.
    let near_plate = m.joints_plate_clearance_lockout_r.is_some_and(|r| r < NEAR_PLATE_R);
    let lockout_seen = if near_plate { Confidence::Medium } else { Confidence::High };
    // Leaning back from the back's outline (the plate hid the hips) reads the upper back's
    // curve too: an indication.
    let c = &cfg.lockout_hyperextension;
    let lean = if m.lean_back_from_outline || near_plate { Confidence::Medium } else { Confidence::High };
    add("lockout_hyperextension", lean, rep.lockout_s, m.trunk_lean_back_lockout_deg, "deg", &|v| {
        grade_high(v, c.warn_deg, c.fault_deg)
    });
    let c = &cfg.soft_lockout;
    let soft = grade_low(m.hip_angle_lockout_deg.unwrap_or(180.0), c.warn_hip_deg, c.fault_hip_deg);
    match soft {
        Some(_) => add("soft_lockout", lockout_seen, rep.lockout_s, m.hip_angle_lockout_deg, "deg", &|v| {
            grade_low(v, c.warn_hip_deg, c.fault_hip_deg)
        }),
        None => add("soft_lockout", lockout_seen, rep.lockout_s, m.knee_angle_lockout_deg, "deg", &|v| {
            (v <= c.warn_knee_deg).then_some((Severity::Warn, c.warn_knee_deg))
        }),
    }
    let c = &cfg.hitching;
    if m.knee_rebend_after_knee_deg.is_some_and(|r| r >= c.min_knee_rebend_deg) {
        let seen = if ev.bar_from_plate { Confidence::High } else { Confidence::Medium };
        add("hitching", seen, rep.knee_pass_s.unwrap_or(fb), m.bar_dip_after_knee_torso, "torso", &|v| {
            grade_high(v, c.warn_dip_torso, c.fault_dip_torso)
        });
    }
    // The bar's own speed off the floor, from the plate; the hands' jitter says little. A yank
    // happens within about a tenth of a second of the bar leaving the floor (the warn threshold:
    // a tenth of a one-second pull), three frames at 30 fps: there, where the motion starts and
    // where half speed is reached move by several frames between a clip, its re-encode and a copy
    // shifted 2 px (one development rep read 0.05, 0.09 and 0.38), so only a clip filmed fast
    // enough (`min_frame_rate_hz`: slow motion) resolves it; slower, it is an indication.
    // The fault threshold (3 % of a one-second pull) is resolved only when a frame is a third of
    // it or less.
    let c = &cfg.jerking_the_bar;
    let frame_frac = ev.frame_interval_s / m.concentric_s.max(1e-3);
    let resolved = ev.frame_interval_s <= 1.0 / c.min_frame_rate_hz;
    let seen = match (ev.bar_from_plate && resolved, frame_frac <= c.fault_time_to_half_speed_frac / 3.0) {
        (false, _) => Confidence::Low,
        (true, false) => Confidence::Medium,
        (true, true) => Confidence::High,
    };
    add("jerking_the_bar", seen, fb, m.bar_time_to_half_speed_frac, "fraction of pull", &|v| {
        grade_low(v, c.warn_time_to_half_speed_frac, c.fault_time_to_half_speed_frac)
    });
    // The ear is the model's least certain point (hair, hoods, a head cut off at the top of a
    // close shot reads as fully visible): an indication.
    let c = &cfg.head_position;
    add("head_position", Confidence::Medium, fb, m.neck_extension_max_pull_deg, "deg", &|v| {
        grade_high(v, c.warn_deg, c.fault_deg)
    });
    out
}

/// Set-level findings: rep-speed loss against the fastest rep, and lumbar flexion drifting up.
pub fn set_faults(reps: &[Rep], metrics: &[RepMetrics], cfg: &SetConfig) -> (Option<f64>, Option<usize>, Vec<Fault>) {
    let mut out = Vec::new();
    if reps.len() < 2 {
        return (None, None, out);
    }
    // Mean concentric velocity from the plate when every rep has it; else the hands' speed.
    let plate: Option<Vec<f64>> = metrics.iter().map(|m| m.mean_concentric_velocity_m_per_s).collect();
    let speeds = plate.unwrap_or_else(|| metrics.iter().map(|m| m.mean_concentric_speed_torso_per_s).collect());
    let (fastest, best) =
        speeds.iter().copied().enumerate().fold((0, f64::MIN), |a, (i, v)| if v > a.1 { (i, v) } else { a });
    let last = *speeds.last().expect("two reps or more");
    let loss_pct = 100.0 * (best - last) / best.max(1e-9);
    if let Some((severity, threshold)) = grade_high(loss_pct, cfg.warn_speed_loss_pct, cfg.fault_speed_loss_pct) {
        let at_s = reps.last().expect("two reps or more").lockout_s;
        out.push(Fault {
            code: "rep_speed_loss",
            severity,
            confidence: Confidence::High,
            at_s,
            value: loss_pct,
            threshold,
            unit: "pct",
            cue: cue("rep_speed_loss"),
        });
    }
    if let Some(drift) = metrics.last().and_then(|m| m.lumbar_flexion_change_deg) {
        if drift >= cfg.warn_lumbar_drift_deg {
            let at_s = reps.last().expect("two reps or more").floor_break_s;
            out.push(Fault {
                code: "lumbar_flexion_drift",
                severity: Severity::Warn,
                confidence: Confidence::Medium,
                at_s,
                value: drift,
                threshold: cfg.warn_lumbar_drift_deg,
                unit: "deg",
                cue: cue("lumbar_flexion_drift"),
            });
        }
    }
    (Some(loss_pct), Some(fastest + 1), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grading_crosses_the_right_threshold() {
        assert_eq!(grade_high(5.0, 10.0, 20.0), None);
        assert_eq!(grade_high(10.0, 10.0, 20.0), Some((Severity::Warn, 10.0)));
        assert_eq!(grade_high(25.0, 10.0, 20.0), Some((Severity::Fault, 20.0)));
        assert_eq!(grade_low(150.0, 165.0, 155.0), Some((Severity::Fault, 155.0)));
        assert_eq!(grade_low(170.0, 165.0, 155.0), None);
    }

    /// (code, severity, confidence) of one rep's findings whose code starts with `prefix`.
    fn findings(m: &RepMetrics, prefix: &str) -> Vec<(&'static str, Severity, Confidence)> {
        let cfg = crate::analysis::config::Config::default().faults;
        let ev = Evidence { bar_from_plate: true, reliable: true, frame_interval_s: 1.0 / 30.0 };
        rep_faults(&Rep::example(1, 0.0), m, &cfg, ev)
            .into_iter()
            .filter(|f| f.code.starts_with(prefix))
            .map(|f| (f.code, f.severity, f.confidence))
            .collect()
    }

    fn back_findings(m: &RepMetrics) -> Vec<(&'static str, Severity, Confidence)> {
        findings(m, "rounded")
    }

    /// A rep whose back outline was seen whole all through the setup, nothing measured on it yet.
    fn outline_seen_whole() -> RepMetrics {
        RepMetrics { outline_seen_setup_frac: 1.0, outline_top_setup_t: Some(1.0), ..Default::default() }
    }

    #[test]
    fn a_back_bent_by_the_load_is_rounded_and_a_covered_one_is_at_most_a_warning() {
        let flat_setup = RepMetrics { lumbar_flexion_setup_deg: Some(4.0), ..outline_seen_whole() };
        assert!(back_findings(&flat_setup).is_empty());
        // Set flat, rounded by the load from the floor to the knees.
        let bent = RepMetrics { lumbar_flexion_pull_deg: Some(25.0), ..flat_setup.clone() };
        assert_eq!(back_findings(&bent), vec![("rounded_lower_back", Severity::Fault, Confidence::High)]);
        // The same reading with a hood over the top of the back: measured on less than the back.
        let hooded = RepMetrics { outline_top_setup_t: Some(0.82), ..bent };
        assert_eq!(back_findings(&hooded), vec![("rounded_lower_back", Severity::Warn, Confidence::Medium)]);
    }

    #[test]
    fn an_upper_back_is_a_fault_only_when_the_pull_as_a_whole_rounds_it_further() {
        let rounded = RepMetrics { upper_back_bend_setup_deg: Some(21.0), ..outline_seen_whole() };
        let warn = vec![("rounded_upper_back", Severity::Warn, Confidence::High)];
        // One frame of the pull 9 deg rounder than the setup, the pull's median 3 deg: held.
        let held = RepMetrics {
            upper_back_bend_max_pull_deg: Some(30.0),
            upper_back_bend_pull_deg: Some(24.0),
            ..rounded.clone()
        };
        assert_eq!(back_findings(&held), warn);
        let grew = RepMetrics { upper_back_bend_pull_deg: Some(30.0), ..held };
        assert_eq!(back_findings(&grew), vec![("rounded_upper_back", Severity::Fault, Confidence::High)]);
    }

    #[test]
    fn a_bar_far_from_feet_not_seen_clear_of_the_plate_is_at_most_a_warning() {
        let bar = |m: &RepMetrics| findings(m, "bar_away_from_shins");
        let (fault, warn) = (
            vec![("bar_away_from_shins", Severity::Fault, Confidence::High)],
            vec![("bar_away_from_shins", Severity::Warn, Confidence::Medium)],
        );
        let far = RepMetrics { bar_to_midfoot_setup_cm: Some(20.0), ..Default::default() };
        let clear = RepMetrics { feet_plate_clearance_setup_r: Some(2.0), ..far.clone() };
        assert_eq!(bar(&clear), fault);
        let covered = RepMetrics { feet_plate_clearance_setup_r: Some(0.6), ..far.clone() };
        assert_eq!(bar(&covered), warn);
        // The plate not found at setup: nothing says where the feet were against it.
        assert_eq!(bar(&far), warn);
    }

    #[test]
    fn a_jerk_is_flagged_only_where_the_frames_resolve_it() {
        let cfg = crate::analysis::config::Config::default().faults;
        // Half speed after 5 % of the pull: between the warn (10 %) and fault (3 %) thresholds.
        let jerk = |fps: f64, bar_from_plate: bool, concentric_s: f64| {
            let yanked = RepMetrics { bar_time_to_half_speed_frac: Some(0.05), concentric_s, ..Default::default() };
            let ev = Evidence { bar_from_plate, reliable: true, frame_interval_s: 1.0 / fps };
            rep_faults(&Rep::example(1, 0.0), &yanked, &cfg, ev)
                .into_iter()
                .filter(|f| f.code == "jerking_the_bar")
                .map(|f| (f.severity, f.confidence))
                .collect::<Vec<_>>()
        };
        let (warn, info) = (Severity::Warn, Severity::Info);
        assert_eq!(jerk(30.0, true, 1.0), vec![(info, Confidence::Low)]);
        assert_eq!(jerk(60.0, true, 1.0), vec![(info, Confidence::Low)]);
        // Slow motion: a frame is 1.7 % of a half-second pull, 0.8 % of a one-second one.
        assert_eq!(jerk(120.0, true, 0.5), vec![(warn, Confidence::Medium)]);
        assert_eq!(jerk(120.0, true, 1.0), vec![(warn, Confidence::High)]);
        // The hands stand in for the bar: an indication at any frame rate.
        assert_eq!(jerk(240.0, false, 1.0), vec![(info, Confidence::Low)]);
    }

    #[test]
    fn every_code_has_a_cue() {
        for code in [
            "rounded_lower_back",
            "rounded_upper_back",
            "squatting_the_deadlift",
            "early_hip_rise",
            "hips_too_high_at_start",
            "bar_away_from_shins",
            "lockout_hyperextension",
            "soft_lockout",
            "hitching",
            "jerking_the_bar",
            "head_position",
        ] {
            assert!(!cue(code).is_empty(), "{code}");
        }
    }
}
