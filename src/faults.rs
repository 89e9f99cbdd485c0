//! Turning measurements into findings a lifter can act on. Each fault has a stable code (see
//! DOMAIN.md), a severity, the measured value and the threshold it crossed (with unit), when it
//! happened, and a short cue in our own words.

use crate::config::{FaultsConfig, SetConfig};
use crate::metrics::RepMetrics;
use crate::reps::Rep;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Fault,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Fault {
    pub code: &'static str,
    pub severity: Severity,
    pub at_s: f64,
    pub value: f64,
    pub threshold: f64,
    pub unit: &'static str,
    pub cue: &'static str,
}

pub const CUES: [(&str, &str); 11] = [
    ("rounded_lower_back", "Brace before you pull: breathe into your belly, lift your chest and pull the slack out of the bar so your lower back stays flat as the bar leaves the floor."),
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

/// The faults of one rep.
pub fn rep_faults(rep: &Rep, m: &RepMetrics, cfg: &FaultsConfig) -> Vec<Fault> {
    let mut out = Vec::new();
    let mut add = |code: &'static str,
                   at_s: f64,
                   value: Option<f64>,
                   unit: &'static str,
                   grade: &dyn Fn(f64) -> Option<(Severity, f64)>| {
        if let Some(v) = value {
            if let Some((severity, threshold)) = grade(v) {
                out.push(Fault { code, severity, at_s, value: v, threshold, unit, cue: cue(code) });
            }
        }
    };
    let fb = rep.floor_break_s;
    let c = &cfg.rounded_lower_back;
    add("rounded_lower_back", fb, m.lumbar_flexion_setup_deg, "deg", &|v| grade_high(v, c.warn_deg, c.fault_deg));
    let c = &cfg.early_hip_rise;
    add("early_hip_rise", fb, m.hip_shoulder_rise_ratio, "ratio", &|v| grade_high(v, c.warn_ratio, c.fault_ratio));
    let c = &cfg.hips_too_high_at_start;
    add("hips_too_high_at_start", fb, m.knee_angle_floor_break_deg, "deg", &|v| {
        grade_high(v, c.warn_knee_deg, c.fault_knee_deg)
    });
    let c = &cfg.bar_away_from_shins;
    let knees_plausible = m.knee_angle_floor_break_deg.is_some_and(|k| k >= c.min_plausible_knee_deg);
    match (m.bar_to_midfoot_setup_cm, m.bar_to_shin_setup_cm) {
        // With the plate, in cm: from mid-foot (the feet stay in view; the knees that make the
        // shin line are often behind the plate), or from the shin line when the feet are not seen.
        (Some(foot), _) => {
            add("bar_away_from_shins", fb, Some(foot), "cm", &|v| grade_high(v, c.warn_midfoot_cm, c.fault_midfoot_cm))
        }
        (None, Some(shin)) if knees_plausible => {
            add("bar_away_from_shins", fb, Some(shin), "cm", &|v| grade_high(v, c.warn_shin_cm, c.fault_shin_cm))
        }
        _ => {
            let bar_away = if knees_plausible { m.bar_to_shin_setup_shin } else { m.bar_to_midfoot_setup_shin };
            add("bar_away_from_shins", fb, bar_away, "shin", &|v| grade_high(v, c.warn_shin, c.fault_shin));
        }
    }
    let c = &cfg.lockout_hyperextension;
    add("lockout_hyperextension", rep.lockout_s, m.trunk_lean_back_lockout_deg, "deg", &|v| {
        grade_high(v, c.warn_deg, c.fault_deg)
    });
    let c = &cfg.soft_lockout;
    let soft = grade_low(m.hip_angle_lockout_deg.unwrap_or(180.0), c.warn_hip_deg, c.fault_hip_deg);
    match soft {
        Some(_) => add("soft_lockout", rep.lockout_s, m.hip_angle_lockout_deg, "deg", &|v| {
            grade_low(v, c.warn_hip_deg, c.fault_hip_deg)
        }),
        None => add("soft_lockout", rep.lockout_s, m.knee_angle_lockout_deg, "deg", &|v| {
            (v <= c.warn_knee_deg).then_some((Severity::Warn, c.warn_knee_deg))
        }),
    }
    let c = &cfg.hitching;
    if m.knee_rebend_after_knee_deg.is_some_and(|r| r >= c.min_knee_rebend_deg) {
        add("hitching", rep.knee_pass_s.unwrap_or(fb), m.bar_dip_after_knee_torso, "torso", &|v| {
            grade_high(v, c.warn_dip_torso, c.fault_dip_torso)
        });
    }
    let c = &cfg.jerking_the_bar;
    add("jerking_the_bar", fb, m.bar_time_to_half_speed_frac, "fraction of pull", &|v| {
        grade_low(v, c.warn_time_to_half_speed_frac, c.fault_time_to_half_speed_frac)
    });
    let c = &cfg.head_position;
    add("head_position", fb, m.neck_extension_max_pull_deg, "deg", &|v| grade_high(v, c.warn_deg, c.fault_deg));
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

    #[test]
    fn every_code_has_a_cue() {
        for code in [
            "rounded_lower_back",
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
