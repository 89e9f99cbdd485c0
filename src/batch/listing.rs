//! The batch listings: `summary.csv` (one row per rep per clip) and `index.html` (every clip
//! with its headline findings), built from [`ClipListing`]s that hold only what a clip's folder
//! holds, so a fresh run, a rerun and a merge of shards write the same bytes.

use serde::Deserialize;

use super::{ClipOutcome, ErrorRecord};
use crate::analysis::faults::Severity;
use crate::analysis::report::{csv_field, Report};
use crate::present::html::esc;

/// One clip's entry in the batch listings: only what its folder's `run.json` (or `error.json`)
/// and `report.json` hold, so it reads the same from a run in memory and from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipListing {
    /// The input as given on the command line.
    pub input: String,
    /// Folder under OUT; `None` for an input that could not be listed.
    pub folder: Option<String>,
    /// The findings, or the one-line error.
    pub result: Result<Findings, String>,
}

/// The parts of `report.json` the listings show.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Findings {
    pub reliable: bool,
    pub warnings: Vec<WarningCode>,
    pub reps: Vec<RepLine>,
    pub set: SetLine,
}

/// A clip-level warning, by code.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WarningCode {
    pub code: String,
}

/// A finding (fault), by code and severity.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FindingLine {
    pub code: String,
    pub severity: Severity,
}

/// A rep as `report.json` has it (times in seconds; `null` reads as not known).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RepLine {
    pub index: usize,
    pub floor_break_s: Option<f64>,
    pub lockout_s: Option<f64>,
    pub metrics: RepLineMetrics,
    pub faults: Vec<FindingLine>,
}

/// The rep metrics `summary.csv` shows, in the units their names give.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RepLineMetrics {
    pub concentric_s: Option<f64>,
    pub lumbar_flexion_setup_deg: Option<f64>,
    pub hip_shoulder_rise_ratio: Option<f64>,
    pub mean_concentric_speed_torso_per_s: Option<f64>,
}

/// Set-level findings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SetLine {
    pub faults: Vec<FindingLine>,
}

impl Findings {
    /// The findings as `report.json` states them: read back from the report's own JSON, so that
    /// numbers carry the file's rounding and a listing made from the file is identical.
    pub fn of(report: &Report) -> Findings {
        serde_json::from_str(&report.to_json()).expect("a report's JSON holds every listed field")
    }

    /// Rep count and the worst findings, for listings.
    pub fn headline(&self) -> String {
        let mut faults: Vec<(&str, Severity)> = self
            .reps
            .iter()
            .flat_map(|r| r.faults.iter())
            .chain(self.set.faults.iter())
            .map(|f| (f.code.as_str(), f.severity))
            .filter(|(_, s)| *s >= Severity::Warn)
            .collect();
        // Each code once, at its worst; then the worst codes first.
        faults.sort_by(|a, b| a.0.cmp(b.0).then(b.1.cmp(&a.1)));
        faults.dedup_by(|later, first| later.0 == first.0);
        faults.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut s = format!("{} rep{}", self.reps.len(), if self.reps.len() == 1 { "" } else { "s" });
        if !self.reliable {
            s.push_str(", unreliable");
        }
        if !faults.is_empty() {
            let list: Vec<String> =
                faults.iter().map(|(c, sev)| format!("{} ({sev:?})", c.replace('_', " "))).collect();
            s.push_str(": ");
            s.push_str(&list.join(", ").to_lowercase());
        }
        s
    }
}

/// Headline of a report for listings: rep count and the worst findings.
pub fn headline(report: &Report) -> String {
    Findings::of(report).headline()
}

impl ClipListing {
    pub fn of(outcome: &ClipOutcome) -> ClipListing {
        match outcome {
            ClipOutcome::Done { job, report, .. } => ClipListing {
                input: job.input.display().to_string(),
                folder: Some(job.name.clone()),
                result: Ok(Findings::of(report)),
            },
            ClipOutcome::Failed { input, name, error } => {
                ClipListing { input: input.display().to_string(), folder: name.clone(), result: Err(error.clone()) }
            }
        }
    }

    /// An input that could not be listed.
    pub fn input_problem(record: &ErrorRecord) -> ClipListing {
        ClipListing { input: record.input.clone(), folder: None, result: Err(record.error.clone()) }
    }

    pub fn failed(&self) -> bool {
        self.result.is_err()
    }
}

/// The listings in the order every summary uses: by folder name (inputs that could not be
/// listed first), then input.
fn ordered(listings: &[ClipListing]) -> Vec<&ClipListing> {
    let mut v: Vec<&ClipListing> = listings.iter().collect();
    v.sort_by(|a, b| (&a.folder, &a.input).cmp(&(&b.folder, &b.input)));
    v
}

/// `summary.csv`: one row per rep per clip, one row per failed clip (and per clip with no reps).
pub fn summary_csv(listings: &[ClipListing]) -> String {
    let mut out = String::from(
        "clip,folder,status,rep,floor_break_s,lockout_s,concentric_s,lumbar_flexion_setup_deg,hip_shoulder_rise_ratio,mean_concentric_speed_torso_per_s,faults,warnings,error\n",
    );
    let num = |v: Option<f64>| v.filter(|v| v.is_finite()).map(|v| format!("{v:.3}")).unwrap_or_default();
    for l in ordered(listings) {
        let clip = csv_field(&l.input);
        let folder = csv_field(l.folder.as_deref().unwrap_or(""));
        match &l.result {
            Ok(f) => {
                let warnings: Vec<&str> = f.warnings.iter().map(|w| w.code.as_str()).collect();
                if f.reps.is_empty() {
                    out.push_str(&format!("{clip},{folder},ok,,,,,,,,,{},\n", csv_field(&warnings.join(";"))));
                }
                for r in &f.reps {
                    let m = &r.metrics;
                    let faults: Vec<String> =
                        r.faults.iter().map(|f| format!("{}:{:?}", f.code, f.severity).to_lowercase()).collect();
                    out.push_str(&format!(
                        "{clip},{folder},ok,{},{},{},{},{},{},{},{},{},\n",
                        r.index,
                        num(r.floor_break_s),
                        num(r.lockout_s),
                        num(m.concentric_s),
                        num(m.lumbar_flexion_setup_deg),
                        num(m.hip_shoulder_rise_ratio),
                        num(m.mean_concentric_speed_torso_per_s),
                        csv_field(&faults.join(";")),
                        csv_field(&warnings.join(";")),
                    ));
                }
            }
            Err(error) => out.push_str(&format!("{clip},{folder},failed,,,,,,,,,,{}\n", csv_field(error))),
        }
    }
    out
}

/// Percent-encodes a folder name for a relative link.
pub(super) fn url_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(b) {
            out.push(*b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `index.html`: every clip with a link to its report (`<folder>/report.html`) and its headline
/// findings.
pub fn index_html(listings: &[ClipListing]) -> String {
    let mut rows = String::new();
    for l in ordered(listings) {
        match (&l.result, &l.folder) {
            (Ok(f), Some(folder)) => rows.push_str(&format!(
                "<tr><td><a href=\"{}/report.html\">{}</a></td><td>{}</td></tr>\n",
                url_segment(folder),
                esc(&l.input),
                esc(&f.headline()),
            )),
            (Ok(f), None) => {
                rows.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>\n", esc(&l.input), esc(&f.headline())))
            }
            (Err(error), _) => rows.push_str(&format!(
                "<tr class=\"failed\"><td>{}</td><td>failed: {}</td></tr>\n",
                esc(&l.input),
                esc(error)
            )),
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>formcheck batch</title><style>body{{font-family:system-ui,sans-serif;margin:1rem;color:#222}}table{{border-collapse:collapse;width:100%}}\
td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}}tr.failed td{{color:#b00020}}</style></head>\
<body><h1>formcheck: {} clip{}</h1><table><thead><tr><th>clip</th><th>findings</th></tr></thead><tbody>\n{rows}</tbody></table></body></html>\n",
        listings.len(),
        if listings.len() == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(index: usize, faults: &[(&str, Severity)]) -> RepLine {
        RepLine {
            index,
            floor_break_s: None,
            lockout_s: None,
            metrics: RepLineMetrics {
                concentric_s: None,
                lumbar_flexion_setup_deg: None,
                hip_shoulder_rise_ratio: None,
                mean_concentric_speed_torso_per_s: None,
            },
            faults: faults.iter().map(|(c, s)| FindingLine { code: c.to_string(), severity: *s }).collect(),
        }
    }

    #[test]
    fn the_headline_names_each_finding_once_at_its_worst() {
        let findings = Findings {
            reliable: true,
            warnings: vec![],
            reps: vec![
                rep(1, &[("rounded_lower_back", Severity::Fault), ("bar_away_from_shins", Severity::Warn)]),
                rep(2, &[("rounded_lower_back", Severity::Warn), ("early_hip_rise", Severity::Info)]),
            ],
            set: SetLine { faults: vec![] },
        };
        assert_eq!(findings.headline(), "2 reps: rounded lower back (fault), bar away from shins (warn)");
    }
}
