//! The HTML report page (`report.html`): one self-contained file that opens from disk offline.
//! Inline CSS, hand-written inline SVG plots, stills as `data:` URIs, no scripts (a
//! Content-Security-Policy forbids them, so even a slip in escaping could not run one).
//!
//! Conventions:
//! - every string from outside (clip name, warning messages, codes, cues, codec) goes through
//!   [`esc`] before it reaches the page;
//! - every number carries its unit: a metric's from its name's suffix (`_deg`, `_s`, `_ms`,
//!   `_torso`, `_shin`, `_torso_per_s`, `_frac`; `_ratio` is plain), a finding's from its `unit`;
//! - plots: SVG user units, y down; data y up. Series gaps (`null`) break the line; series are
//!   thinned to about [`MAX_POINTS`] points so the page stays small.
//!
//! The report carries a threshold only for findings that fired, so a graded metric shows its
//! threshold when its finding fired and "ok" otherwise.

mod plot;

use std::fmt::Write as _;

use crate::analysis::barpath::BarSource;
use crate::analysis::faults::{Fault, Severity};
use crate::analysis::metrics::RepMetrics;
use crate::analysis::report::{RepReport, Report};
use crate::analysis::track::Facing;
use plot::{bar_path_plot, speed_plot, time_plot};

/// A still image of one moment, already annotated (skeleton, back outline). The bytes may be JPEG
/// or PNG (the data URI's type is sniffed from them); unknown formats are left out.
pub struct Still {
    /// 1-based rep index (as `Rep::index`); 0 for a set-level finding.
    pub rep_index: usize,
    /// The finding's code (e.g. `rounded_lower_back`), or any other label for a still that shows
    /// no finding.
    pub code: String,
    pub at_s: f64,
    pub jpeg: Vec<u8>,
}

/// Most points drawn per plotted line.
pub const MAX_POINTS: usize = 300;

/// Each fault code and the metrics it grades (two when the analysis picks one of them).
const GRADED: [(&str, &[&str]); 11] = [
    ("rounded_lower_back", &["lumbar_flexion_setup_deg", "lumbar_flexion_pull_deg"]),
    ("rounded_upper_back", &["upper_back_bend_setup_deg"]),
    ("squatting_the_deadlift", &["trunk_incline_setup_deg"]),
    ("early_hip_rise", &["hip_shoulder_rise_ratio"]),
    ("hips_too_high_at_start", &["knee_angle_floor_break_deg"]),
    (
        "bar_away_from_shins",
        &["bar_to_shin_setup_cm", "bar_to_midfoot_setup_cm", "bar_to_shin_setup_shin", "bar_to_midfoot_setup_shin"],
    ),
    ("lockout_hyperextension", &["trunk_lean_back_lockout_deg"]),
    ("soft_lockout", &["hip_angle_lockout_deg", "knee_angle_lockout_deg"]),
    ("hitching", &["bar_dip_after_knee_torso"]),
    ("jerking_the_bar", &["bar_time_to_half_speed_frac"]),
    ("head_position", &["neck_extension_max_pull_deg"]),
];

/// Codes graded on the larger of their metrics against the same limits.
const SAME_LIMITS: [&str; 1] = ["rounded_lower_back"];
/// Codes that grade their metrics in the order listed, each only when those before it passed
/// (the knee at lockout when the hip is straight or hidden). The others pick one metric (the bar
/// from mid-foot when the feet are seen, else from the shin).
const IN_ORDER: [&str; 1] = ["soft_lockout"];

/// Words for each metric; a metric not listed shows its name with spaces.
const LABELS: [(&str, &str); 39] = [
    ("trunk_incline_setup_deg", "Trunk incline at setup"),
    ("lumbar_flexion_setup_deg", "Lower-back bend at setup"),
    ("lumbar_flexion_max_pull_deg", "Lower-back bend, most in the pull"),
    ("lumbar_flexion_pull_deg", "Lower-back bend in the pull (median, floor to knees)"),
    ("lumbar_flexion_change_deg", "Lower-back bend vs rep 1"),
    ("hip_angle_floor_break_deg", "Hip angle at floor break"),
    ("upper_back_bend_setup_deg", "Upper-back bend at setup"),
    ("upper_back_bend_max_pull_deg", "Upper-back bend, most in the pull"),
    ("upper_back_bend_pull_deg", "Upper-back bend in the pull (median, floor to knees)"),
    ("outline_seen_setup_frac", "Back outline seen at setup"),
    ("outline_top_setup_t", "Back outline's reach up the back at setup (1 = to the shoulders)"),
    ("hip_above_knee_setup_torso", "Hips above knees at setup"),
    ("knee_ahead_of_bar_setup_shin", "Knees ahead of the bar at setup"),
    ("trunk_incline_change_early_pull_deg", "Trunk closing toward horizontal, early pull"),
    ("knee_angle_floor_break_deg", "Knee angle at setup"),
    ("hip_shoulder_rise_ratio", "Hip rise / shoulder rise, early pull"),
    ("hip_rise_lead_ms", "Hips started rising before the bar by"),
    ("bar_to_shin_setup_shin", "Bar ahead of shins at setup"),
    ("bar_to_midfoot_setup_shin", "Bar ahead of mid-foot at setup"),
    ("bar_forward_drift_shin", "Bar forward drift in the pull"),
    ("trunk_lean_back_lockout_deg", "Lean back past vertical at lockout"),
    ("hip_angle_lockout_deg", "Hip angle at lockout"),
    ("knee_angle_lockout_deg", "Knee angle at lockout"),
    ("bar_dip_after_knee_torso", "Bar dip after the knees"),
    ("knee_rebend_after_knee_deg", "Knee re-bend after the knees"),
    ("bar_time_to_half_speed_frac", "Time to half peak bar speed"),
    ("neck_extension_setup_deg", "Neck extension at setup"),
    ("neck_extension_max_pull_deg", "Neck extension, most in the pull"),
    ("concentric_s", "Pull, floor to lockout"),
    ("eccentric_s", "Lowering"),
    ("bar_rise_torso", "Bar rise"),
    ("mean_concentric_speed_torso_per_s", "Mean pull speed"),
    ("peak_concentric_speed_torso_per_s", "Peak pull speed"),
    ("rom_cm", "Bar range of motion"),
    ("mean_concentric_velocity_m_per_s", "Mean concentric velocity"),
    ("peak_concentric_velocity_m_per_s", "Peak concentric velocity"),
    ("bar_to_shin_setup_cm", "Bar ahead of shins at setup"),
    ("bar_to_midfoot_setup_cm", "Bar ahead of mid-foot at setup"),
    ("bar_forward_drift_cm", "Bar forward drift in the pull"),
];

/// Line colours for reps in the bar-path plot.
const PALETTE: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

/// The page's style sheet (kept in its own file to keep this one readable).
const CSS: &str = include_str!("html.css");

/// The whole page as a String.
pub fn render(report: &Report, stills: &[Still]) -> String {
    let images: usize = stills.iter().map(|s| s.jpeg.len() * 4 / 3 + 64).sum();
    let mut h = String::with_capacity(96 * 1024 + images);
    let clip = esc(&report.clip);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>formcheck: {clip}</title>\n<style>{CSS}</style>\n</head>\n<body><main>\n\
         <h1><small>formcheck deadlift report</small>{clip}</h1>\n"
    );
    if !report.reliable {
        h.push_str(
            "<section class=\"banner\" id=\"unreliable\"><strong>These results are not reliable.</strong>\
             <p>The view or the pose track was too poor for confident findings, so every finding below \
             is shown as <span class=\"badge info\">info</span> only. Treat the numbers as rough. Why:</p>",
        );
        warning_list(&mut h, report);
        h.push_str("</section>\n");
    }
    clip_facts(&mut h, report);
    set_summary(&mut h, report, stills);

    h.push_str("<h2>Over time</h2>\n<div class=\"plots\">\n");
    let s = &report.series;
    time_plot(
        &mut h,
        report,
        "Trunk incline and lower-back bend",
        "angle (deg)",
        &[("trunk incline", &s.trunk_incline_deg, "#1f77b4"), ("lower-back bend", &s.lumbar_flexion_deg, "#d62728")],
    );
    time_plot(
        &mut h,
        report,
        "Hip and shoulder height",
        "height (torso lengths)",
        &[("hip", &s.hip_height_torso, "#2ca02c"), ("shoulder", &s.shoulder_height_torso, "#9467bd")],
    );
    h.push_str("</div>\n<p class=\"muted\">Shaded: each rep's pull (floor break to lockout), lighter: lockout to the bar back down.</p>\n");
    if !report.reps.is_empty() {
        h.push_str("<h2>Per rep</h2>\n<div class=\"plots\">\n");
        bar_path_plot(&mut h, report);
        speed_plot(&mut h, report);
        h.push_str("</div>\n<h2>Reps</h2>\n<div class=\"cards\">\n");
        for r in &report.reps {
            rep_card(&mut h, r, stills);
        }
        h.push_str("</div>\n");
    }
    let bar_words = match report.bar.source {
        BarSource::Plate => format!(
            "the bar is the near plate's centre; cm and m/s assume a {} mm plate",
            report.bar.plate_diameter_mm.unwrap_or(f64::NAN)
        ),
        BarSource::Hands => "the bar is taken at the hands".to_string(),
    };
    let _ = write!(
        h,
        "<footer>formcheck {} &middot; report schema {} &middot; {bar_words} &middot; other lengths in the \
         lifter's own torso (shoulder to hip) and shin lengths</footer>\n</main></body></html>\n",
        esc(report.formcheck_version),
        report.schema_version
    );
    h
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A code in words: `rounded_lower_back` -> "rounded lower back" (escaped).
fn words(code: &str) -> String {
    esc(&code.replace('_', " "))
}

/// How a number is shown: its unit (empty for plain ratios) and decimals.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Unit {
    label: &'static str,
    decimals: usize,
}

const DEG: Unit = Unit { label: "deg", decimals: 1 };
const SECONDS: Unit = Unit { label: "s", decimals: 2 };
const PLAIN: Unit = Unit { label: "", decimals: 2 };

/// A metric's unit from its name's suffix.
fn metric_unit(name: &str) -> Unit {
    let table: [(&str, Unit); 10] = [
        ("_torso_per_s", Unit { label: "torso lengths/s", decimals: 2 }),
        ("_m_per_s", Unit { label: "m/s", decimals: 2 }),
        ("_cm", Unit { label: "cm", decimals: 1 }),
        ("_deg", DEG),
        ("_ms", Unit { label: "ms", decimals: 0 }),
        ("_pct", Unit { label: "%", decimals: 0 }),
        ("_torso", Unit { label: "torso lengths", decimals: 2 }),
        ("_shin", Unit { label: "shin lengths", decimals: 2 }),
        ("_frac", Unit { label: "of the pull", decimals: 2 }),
        ("_s", SECONDS),
    ];
    table.iter().find(|(suffix, _)| name.ends_with(suffix)).map_or(PLAIN, |(_, u)| *u)
}

/// A finding's unit from its `unit` field (`deg`, `shin`, `pct`, `fraction of pull`, `ratio`...).
fn fault_unit(unit: &str) -> Unit {
    match unit {
        "fraction of pull" => metric_unit("_frac"),
        "ratio" => PLAIN,
        u => metric_unit(&format!("_{u}")),
    }
}

/// A number with its unit, e.g. "18.3 deg"; "n/a" when not finite.
fn num(v: f64, u: Unit) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let d = u.decimals;
    match u.label {
        "" => format!("{v:.d$}"),
        label => format!("{v:.d$}\u{a0}{label}"),
    }
}

fn seconds(v: f64) -> String {
    num(v, SECONDS)
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warn => "warn",
        Severity::Fault => "fault",
    }
}

fn badge(s: Severity) -> String {
    let c = severity_class(s);
    format!("<span class=\"badge {c}\">{c}</span>")
}

/// "fault at &ge; 18.0 deg": the threshold a finding crossed ("threshold" when it was made
/// `info` because the clip is unreliable).
fn threshold_words(f: &Fault) -> String {
    let cmp = if f.value >= f.threshold { "&ge;" } else { "&le;" };
    let what = if f.severity == Severity::Info { "threshold" } else { severity_class(f.severity) };
    format!(
        "{what} {}{cmp} {}",
        if f.severity == Severity::Info { "" } else { "at " },
        num(f.threshold, fault_unit(f.unit))
    )
}

/// A shown value with `f`'s limit under it, as the check rows give it.
fn with_limit(shown: String, f: &Fault) -> String {
    format!("{shown}<span class=\"thr\">{}</span>", threshold_words(f))
}

/// "21.3 deg (fault at &ge; 18.0 deg)": the value against the threshold it crossed.
fn against_threshold(f: &Fault) -> String {
    format!("{} ({})", num(f.value, fault_unit(f.unit)), threshold_words(f))
}

fn warning_list(h: &mut String, report: &Report) {
    h.push_str("<ul class=\"warnings\">");
    for w in &report.warnings {
        let _ = write!(h, "<li><code>{}</code> {}</li>", esc(w.code), esc(&w.message));
    }
    h.push_str("</ul>");
}

fn clip_facts(h: &mut String, report: &Report) {
    let v = &report.video;
    let q = &report.quality;
    let mut facts: Vec<(&str, String)> = vec![
        ("Duration", seconds(v.duration_s)),
        (
            "Frames",
            if v.frames_declared > 0 {
                format!("{} decoded of {} declared", v.frames, v.frames_declared)
            } else {
                format!("{} decoded (the file gives no count)", v.frames)
            },
        ),
        ("Frame rate", format!("{:.1}\u{a0}fps", v.fps)),
        ("Size (upright)", format!("{} &times; {}\u{a0}px", v.width, v.height)),
        ("Rotation", format!("{}\u{a0}deg", v.rotation_deg)),
        ("Codec", esc(&v.codec)),
        ("Lifter faces", if report.facing == Facing::Left { "left" } else { "right" }.into()),
        (
            "Lifter found on",
            if q.interpolated_fraction > 0.0 {
                format!(
                    "{:.0}\u{a0}% of frames (pose model on {:.0}\u{a0}%, the others interpolated)",
                    100.0 * q.pose_fraction,
                    100.0 * (1.0 - q.interpolated_fraction)
                )
            } else {
                format!("{:.0}\u{a0}% of frames", 100.0 * q.pose_fraction)
            },
        ),
        ("Median visibility", format!("{:.2} (0-1)", q.median_visibility)),
        ("Torso length", format!("{:.0}\u{a0}px", report.scale.torso_px)),
    ];
    if let Some(shin) = report.scale.shin_torso {
        facts.push(("Shin length", num(shin, metric_unit("_torso"))));
    }
    if let Some(r) = q.shoulder_width_ratio.into_iter().chain(q.hip_width_ratio).reduce(f64::max) {
        facts.push(("Shoulder/hip width in view", num(r, metric_unit("_torso"))));
    }
    if (v.slowmo_factor - 1.0).abs() > 1e-9 {
        facts.push(("Slow-motion factor", format!("{:.2}&times;", v.slowmo_factor)));
    }
    let b = &report.bar;
    let bar = match (b.source, b.plate_diameter_px, b.mm_per_px) {
        (BarSource::Plate, Some(d), Some(mm)) => format!(
            "near plate, {d:.0}\u{a0}px = {:.0}\u{a0}mm ({mm:.2}\u{a0}mm/px at the plate, {:.2} at the lifter; camera about {:.1}\u{a0}m away); followed on {:.0}\u{a0}% of frames",
            b.plate_diameter_mm.unwrap_or(f64::NAN),
            b.body_mm_per_px.unwrap_or(f64::NAN),
            b.camera_to_plate_m.unwrap_or(f64::NAN),
            100.0 * b.plate_fraction
        ),
        _ => format!("hands ({})", esc(b.reason.as_deref().unwrap_or("no plate"))),
    };
    facts.push(("Bar", bar));
    facts.push(("Findings reliable", if report.reliable { "yes" } else { "no" }.into()));
    h.push_str("<section class=\"card\" id=\"clip\"><h2 style=\"margin-top:0\">Clip</h2><dl class=\"facts\">");
    for (k, val) in facts {
        let _ = write!(h, "<div><dt>{k}</dt><dd>{val}</dd></div>");
    }
    h.push_str("</dl>");
    if report.reliable && !report.warnings.is_empty() {
        h.push_str("<h4>Warnings</h4>");
        warning_list(h, report);
    }
    h.push_str("</section>\n");
}

/// A rep's mean pull speed in the set's basis: the plate's m/s when every rep has it, else
/// torso lengths per second from the hands.
fn rep_speed(report: &Report, m: &RepMetrics) -> (f64, Unit) {
    match m.mean_concentric_velocity_m_per_s {
        Some(v) if report.set.speed_basis == "mean_concentric_velocity_m_per_s" => (v, metric_unit("_m_per_s")),
        _ => (m.mean_concentric_speed_torso_per_s, metric_unit("_torso_per_s")),
    }
}

fn set_summary(h: &mut String, report: &Report, stills: &[Still]) {
    let set = &report.set;
    h.push_str("<h2>Set summary</h2>\n<section class=\"card\" id=\"set\">");
    let _ = write!(h, "<p><strong>{} rep{}</strong>", set.rep_count, if set.rep_count == 1 { "" } else { "s" });
    if let Some(k) = set.fastest_rep {
        let _ = write!(h, " &middot; fastest: rep {k}");
    }
    if let Some(loss) = set.speed_loss_pct {
        let _ = write!(h, " &middot; speed loss, last rep vs fastest: {}", num(loss, metric_unit("_pct")));
    }
    h.push_str("</p>");
    for f in &set.faults {
        finding(h, f, still_for(stills, 0, f));
    }
    if report.reps.is_empty() {
        h.push_str("<p class=\"muted\">No reps were found.</p></section>\n");
        return;
    }
    let best = report.reps.iter().map(|r| rep_speed(report, &r.metrics).0).fold(f64::MIN, f64::max);
    h.push_str(
        "<div class=\"scroll\"><table class=\"sum\"><thead><tr><th>Rep</th><th>Pull</th><th>Range</th><th>Mean speed</th>\
         <th>vs fastest</th><th>Back bend vs rep 1</th><th>Findings</th></tr></thead><tbody>",
    );
    for r in &report.reps {
        let m = &r.metrics;
        let (speed, speed_unit) = rep_speed(report, m);
        let vs = 100.0 * (speed / best.max(1e-9) - 1.0);
        let vs = if vs.abs() < 0.05 { "fastest".to_string() } else { format!("{vs:+.0}\u{a0}%") };
        let drift = m.lumbar_flexion_change_deg.map_or("n/a".into(), |d| format!("{d:+.1}\u{a0}deg"));
        let _ = write!(
            h,
            "<tr><td data-l=\"Rep\"><a href=\"#rep-{i}\">{i}</a></td><td class=\"n\" data-l=\"Pull\">{}</td>\
             <td class=\"n\" data-l=\"Range\">{}</td>\
             <td class=\"n\" data-l=\"Mean speed\">{}</td><td class=\"n\" data-l=\"vs fastest\">{vs}</td>\
             <td class=\"n\" data-l=\"Back bend vs rep 1\">{drift}</td><td class=\"f\" data-l=\"Findings\">",
            seconds(m.concentric_s),
            m.rom_cm.map_or("n/a".into(), |v| num(v, metric_unit("_cm"))),
            num(speed, speed_unit),
            i = r.rep.index
        );
        if r.faults.is_empty() {
            h.push_str("<span class=\"ok\">none</span>");
        }
        for f in &r.faults {
            let _ = write!(h, "<div>{} {}</div>", badge(f.severity), words(f.code));
        }
        h.push_str("</td></tr>");
    }
    h.push_str("</tbody></table></div></section>\n");
}

/// One finding: badge, code in words, value against threshold, time, cue, and its still.
fn finding(h: &mut String, f: &Fault, still: Option<&Still>) {
    let c = severity_class(f.severity);
    let _ = write!(
        h,
        "<div class=\"finding {c}\" data-code=\"{code}\"><p>{} <strong>{}</strong> <span class=\"when\">at {}</span></p>\
         <p>{} &middot; {} confidence</p><p class=\"cue\">{}</p>",
        badge(f.severity),
        words(f.code),
        seconds(f.at_s),
        against_threshold(f),
        f.confidence.word(),
        esc(f.cue),
        code = esc(f.code)
    );
    if let Some(s) = still {
        figure_still(h, s);
    }
    h.push_str("</div>");
}

fn figure_still(h: &mut String, s: &Still) {
    if let Some(uri) = data_uri(&s.jpeg) {
        let what = format!("{} at {}", words(&s.code), seconds(s.at_s));
        let _ = write!(
            h,
            "<figure class=\"still\"><img src=\"{uri}\" alt=\"{what}\"><figcaption>{what}</figcaption></figure>"
        );
    }
}

/// The still for a finding: same code and rep, nearest in time.
fn still_for<'a>(stills: &'a [Still], rep_index: usize, f: &Fault) -> Option<&'a Still> {
    stills
        .iter()
        .filter(|s| s.rep_index == rep_index && s.code == f.code)
        .min_by(|a, b| (a.at_s - f.at_s).abs().total_cmp(&(b.at_s - f.at_s).abs()))
}

fn metric_label(name: &str) -> String {
    LABELS.iter().find(|(n, _)| *n == name).map_or_else(|| words(name), |(_, l)| (*l).to_string())
}

fn rep_card(h: &mut String, r: &RepReport, stills: &[Still]) {
    let rep = &r.rep;
    let m = &r.metrics;
    let values: Vec<(String, Option<f64>)> = match serde_json::to_value(m) {
        Ok(serde_json::Value::Object(o)) => o.into_iter().map(|(k, v)| (k, v.as_f64())).collect(),
        _ => Vec::new(),
    };
    let _ = write!(
        h,
        "<article class=\"card rep-card\" id=\"rep-{i}\"><div class=\"rephead\"><h3>Rep {i}</h3><span class=\"when\">{} to {}</span>",
        seconds(rep.start_s),
        seconds(rep.end_s),
        i = rep.index
    );
    for f in &r.faults {
        h.push_str(&badge(f.severity));
    }
    let knees = rep.knee_pass_s.map_or(String::new(), |t| format!(" &middot; knees {}", seconds(t)));
    let _ = write!(
        h,
        "</div><p class=\"muted\">floor break {}{knees} &middot; lockout {} &middot; down from {}</p>\
         <p>Pull {}{} &middot; mean speed {}{}</p>",
        seconds(rep.floor_break_s),
        seconds(rep.lockout_s),
        seconds(rep.descent_s),
        seconds(m.concentric_s),
        m.rom_cm.map_or(String::new(), |v| format!(" over {}", num(v, metric_unit("_cm")))),
        match m.mean_concentric_velocity_m_per_s {
            Some(v) => num(v, metric_unit("_m_per_s")),
            None => num(m.mean_concentric_speed_torso_per_s, metric_unit("_torso_per_s")),
        },
        match (m.peak_concentric_velocity_m_per_s, m.peak_concentric_speed_torso_per_s) {
            (Some(p), _) => format!(" (peak {})", num(p, metric_unit("_m_per_s"))),
            (None, Some(p)) => format!(" (peak {})", num(p, metric_unit("_torso_per_s"))),
            (None, None) => String::new(),
        }
    );
    // Checks: every graded metric, with the threshold of the finding it fired (closest value
    // where a code grades one of two metrics).
    h.push_str("<h4>Checks</h4><table class=\"checks\"><tbody>");
    let value_of = |n: &str| values.iter().find(|(k, _)| k == n).and_then(|(_, v)| *v);
    let mut shown = Vec::new();
    for (code, names) in GRADED {
        let fault = r.faults.iter().find(|f| f.code == code);
        let owner = fault.and_then(|f| {
            let off = |n: &str| value_of(n).map_or(f64::MAX, |v| (v - f.value).abs());
            names.iter().copied().min_by(|a, b| off(a).total_cmp(&off(b)))
        });
        for name in names.iter().copied() {
            shown.push(name);
            // A distance measured both in cm (with the plate's scale) and in shin lengths shows
            // once: in cm when there is a scale, else in shin lengths (unless a finding was
            // graded on the other).
            let in_cm = name.strip_suffix("_shin").map(|stem| format!("{stem}_cm"));
            let in_shin = name.strip_suffix("_cm").map(|stem| format!("{stem}_shin"));
            let repeats = in_cm.is_some_and(|cm| value_of(&cm).is_some())
                || (value_of(name).is_none() && in_shin.is_some_and(|sh| value_of(&sh).is_some()));
            if owner != Some(name) && repeats {
                continue;
            }
            let (class, value, status) = match (fault, value_of(name)) {
                (Some(f), _) if owner == Some(name) => {
                    (severity_class(f.severity), with_limit(num(f.value, fault_unit(f.unit)), f), badge(f.severity))
                }
                // The finding came from the code's other metric: this one is not "ok" unless it is
                // inside every limit, which only a same-limits code's warning tells.
                (Some(f), Some(v)) => {
                    let shown = num(v, metric_unit(name));
                    let past = (v - f.threshold) * (f.value - f.threshold).signum() >= 0.0;
                    let rank = |n: &str| names.iter().position(|m| *m == n);
                    let before_owner = matches!((rank(name), owner.and_then(rank)), (Some(a), Some(b)) if a < b);
                    match (SAME_LIMITS.contains(&code), past, f.severity) {
                        (true, true, _) => (
                            severity_class(f.severity),
                            with_limit(shown, f),
                            "<span class=\"na\">also past</span>".into(),
                        ),
                        (true, false, Severity::Warn) => ("", shown, "<span class=\"ok\">ok</span>".into()),
                        (true, false, _) => ("", with_limit(shown, f), "<span class=\"na\">not past it</span>".into()),
                        // Graded first, and passed: the finding came from the next one.
                        (false, ..) if IN_ORDER.contains(&code) && before_owner => {
                            ("", shown, "<span class=\"ok\">ok</span>".into())
                        }
                        (false, ..) => ("", shown, "<span class=\"na\">not graded</span>".into()),
                    }
                }
                (None, Some(v)) => ("", num(v, metric_unit(name)), "<span class=\"ok\">ok</span>".into()),
                (_, None) => ("", "&mdash;".into(), "<span class=\"na\">not measurable</span>".into()),
            };
            let label = metric_label(name);
            let _ = write!(
                h,
                "<tr class=\"{class}\"><th>{label}</th><td class=\"n\">{value}</td><td class=\"s\">{status}</td></tr>"
            );
        }
    }
    h.push_str("</tbody></table><h4>Findings</h4>");
    if r.faults.is_empty() {
        h.push_str("<p class=\"ok\">No findings on this rep.</p>");
    }
    for f in &r.faults {
        finding(h, f, still_for(stills, rep.index, f));
    }
    for s in stills.iter().filter(|s| s.rep_index == rep.index && !r.faults.iter().any(|f| f.code == s.code)) {
        figure_still(h, s);
    }
    h.push_str("<details><summary>All measurements</summary><table><tbody>");
    for (name, value) in values.iter().filter(|(k, _)| !shown.contains(&k.as_str())) {
        let v = value.map_or("&mdash;".into(), |v| num(v, metric_unit(name)));
        let _ = write!(h, "<tr><th>{}</th><td class=\"n\">{v}</td></tr>", metric_label(name));
    }
    h.push_str("</tbody></table></details></article>\n");
}

/// `data:` URI for PNG or JPEG bytes (sniffed); `None` for anything else.
fn data_uri(bytes: &[u8]) -> Option<String> {
    let mime = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else {
        return None;
    };
    Some(format!("data:{mime};base64,{}", base64(bytes)))
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
