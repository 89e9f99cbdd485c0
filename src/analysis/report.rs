//! The per-clip report: what the analysis found, in the forms people and scripts read it.
//! `report.json` (schema version 1), `reps.csv` (one row per rep, metrics as columns) and a short
//! summary for the terminal. Output types live here, separate from the analysis types they
//! are built from.

use std::fmt::Write as _;

use serde::Serialize;

use crate::analysis::barpath::BarSource;
use crate::analysis::faults::{Fault, Severity};
use crate::analysis::metrics::RepMetrics;
use crate::analysis::reps::Rep;
use crate::analysis::track::{Facing, TrackQuality};
use crate::posetrack::VideoMeta;

pub const SCHEMA_VERSION: u32 = 1;

/// Something about the whole clip the lifter should know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

/// One rep in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepReport {
    #[serde(flatten)]
    pub rep: Rep,
    pub metrics: RepMetrics,
    pub faults: Vec<Fault>,
}

/// Set-level summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetSummary {
    pub rep_count: usize,
    /// 1-based index of the fastest rep (mean concentric speed), the reference for speed loss.
    pub fastest_rep: Option<usize>,
    /// Last rep's speed loss against the fastest, percent: from the plate's mean concentric
    /// velocity when every rep has one, else from the hands' speed.
    pub speed_loss_pct: Option<f64>,
    /// Which measure `speed_loss_pct` and `fastest_rep` compare.
    pub speed_basis: &'static str,
    pub faults: Vec<Fault>,
}

/// Units that turn `_torso` and `_shin` values into pixels of this clip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scale {
    pub torso_px: f64,
    pub shin_torso: Option<f64>,
}

/// The bar: where its position came from and, with a plate, the scale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BarReport {
    pub source: BarSource,
    /// The image point reported as the bar: the plate's centre, or the hands (mean of the wrists,
    /// which sit a few cm above the bar).
    pub point: &'static str,
    /// Why the hands are used, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub plate_diameter_px: Option<f64>,
    /// The plate diameter assumed (`--plate-diameter-mm`).
    pub plate_diameter_mm: Option<f64>,
    /// Millimetres per pixel at the plate (range of motion, drift, velocity).
    pub mm_per_px: Option<f64>,
    /// Millimetres per pixel at the lifter's midline (bar to shin, bar to mid-foot), corrected
    /// for the plate being nearer the camera.
    pub body_mm_per_px: Option<f64>,
    /// Camera to plate distance implied by the plate's size and the assumed field of view.
    pub camera_to_plate_m: Option<f64>,
    /// Share of frames with the lifter where the plate was followed.
    pub plate_fraction: f64,
    /// `[t_s, x_px, y_px]` (upright frame pixels, y down) for every frame where the bar is known:
    /// the cleaned plate centre, or the cleaned hands.
    pub path: Vec<[f64; 3]>,
}

/// Per-frame series for plots ("over time"), `null` where not seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub t_s: Vec<f64>,
    pub trunk_incline_deg: Vec<Option<f64>>,
    pub lumbar_flexion_deg: Vec<Option<f64>>,
    pub hip_height_torso: Vec<Option<f64>>,
    pub shoulder_height_torso: Vec<Option<f64>>,
    pub bar_height_torso: Vec<Option<f64>>,
    pub bar_x_midfoot_torso: Vec<Option<f64>>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub formcheck_version: &'static str,
    pub clip: String,
    pub video: VideoMeta,
    /// False when the view or the track is too poor for confident findings (then every finding
    /// is downgraded to `info`); the warnings say why.
    pub reliable: bool,
    pub facing: Facing,
    pub scale: Scale,
    pub bar: BarReport,
    pub quality: TrackQuality,
    pub warnings: Vec<Warning>,
    pub reps: Vec<RepReport>,
    pub set: SetSummary,
    pub series: Series,
}

impl Report {
    /// Pretty JSON with numbers rounded to 4 decimals (measurement noise is far larger).
    pub fn to_json(&self) -> String {
        let mut value = serde_json::to_value(self).expect("a report always serialises");
        round_numbers(&mut value);
        serde_json::to_string_pretty(&value).expect("a JSON value always serialises")
    }

    /// One row per rep; metric columns in a fixed order; faults as `code:severity` joined by `;`.
    pub fn to_csv(&self) -> String {
        let metric_names: Vec<String> = match serde_json::to_value(RepMetrics::default()) {
            Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let mut out = String::from("clip,rep,start_s,floor_break_s,knee_pass_s,lockout_s,descent_s,end_s");
        for name in &metric_names {
            out.push(',');
            out.push_str(name);
        }
        out.push_str(",faults\n");
        let num = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
        for r in &self.reps {
            let _ = write!(
                out,
                "{},{},{},{},{},{},{},{}",
                csv_field(&self.clip),
                r.rep.index,
                num(Some(r.rep.start_s)),
                num(Some(r.rep.floor_break_s)),
                num(r.rep.knee_pass_s),
                num(Some(r.rep.lockout_s)),
                num(Some(r.rep.descent_s)),
                num(Some(r.rep.end_s))
            );
            let values = serde_json::to_value(&r.metrics).unwrap_or_default();
            for name in &metric_names {
                out.push(',');
                out.push_str(&num(values.get(name).and_then(|v| v.as_f64())));
            }
            let faults: Vec<String> =
                r.faults.iter().map(|f| format!("{}:{}", f.code, severity_word(f.severity))).collect();
            out.push(',');
            out.push_str(&csv_field(&faults.join(";")));
            out.push('\n');
        }
        out
    }

    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: {} rep(s){}",
            self.clip,
            self.reps.len(),
            if self.reliable { "" } else { " (unreliable)" }
        );
        for w in &self.warnings {
            let _ = writeln!(s, "  warning {}: {}", w.code, w.message);
        }
        for r in &self.reps {
            let m = &r.metrics;
            let _ = writeln!(
                s,
                "  rep {} ({:.2}-{:.2} s): pull {:.2} s{}, back bend at setup {}",
                r.rep.index,
                r.rep.start_s,
                r.rep.end_s,
                m.concentric_s,
                match (m.rom_cm, m.mean_concentric_velocity_m_per_s) {
                    (Some(rom), Some(v)) => format!(" over {rom:.0} cm at {v:.2} m/s"),
                    (Some(rom), None) => format!(" over {rom:.0} cm"),
                    _ => String::new(),
                },
                m.lumbar_flexion_setup_deg.map_or("n/a".into(), |v| format!("{:.0} deg", v.round() + 0.0))
            );
            for f in &r.faults {
                let _ = writeln!(
                    s,
                    "    {} {} at {:.2} s: {:.2} {} (threshold {:.2}, {} confidence). {}",
                    severity_word(f.severity),
                    f.code,
                    f.at_s,
                    f.value,
                    f.unit,
                    f.threshold,
                    f.confidence.word(),
                    f.cue
                );
            }
        }
        for f in &self.set.faults {
            let _ = writeln!(
                s,
                "  set: {} {}: {:.1} {} (threshold {:.1}). {}",
                severity_word(f.severity),
                f.code,
                f.value,
                f.unit,
                f.threshold,
                f.cue
            );
        }
        s
    }
}

fn round_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(r) = n.as_f64().map(|f| (f * 1e4).round() / 1e4).and_then(serde_json::Number::from_f64) {
                *n = r;
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(round_numbers),
        serde_json::Value::Object(o) => o.values_mut().for_each(round_numbers),
        _ => {}
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warn => "warn",
        Severity::Fault => "fault",
    }
}

/// Quotes a CSV field when it holds a comma, quote or newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
