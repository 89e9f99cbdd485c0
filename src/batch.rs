//! Batches: many clips in, one folder per clip out, plus a summary for the whole batch.
//!
//! - Inputs are files and folders (folders list their video files, recursively on request).
//! - Each clip gets `OUT/<name>/`, where `<name>` is the file stem made safe (no path separators,
//!   no leading dots or dashes, no control characters) and made unique when two clips share a stem (two
//!   `IMG_0001.MOV` from different folders) by a short hash of the clip's full path. A name can
//!   never point outside `OUT`.
//! - A clip is up to date when its `run.json` stamp matches the input (size, modification time),
//!   the configuration and formcheck's version, and all its outputs exist; it is then skipped.
//!   The stamp is written last, so an interrupted clip is redone.
//! - `summary.csv` has one row per rep per clip and one row per failed clip with its error;
//!   `index.html` links every clip's report with its headline findings.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::html::esc;
use crate::output::write_atomic;
use crate::report::{csv_field, Report};

/// Video file extensions picked up from folders (case-insensitive).
pub const VIDEO_EXTENSIONS: [&str; 6] = ["mp4", "mov", "m4v", "avi", "mkv", "webm"];

/// One clip to analyse and where its outputs go.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipJob {
    pub input: PathBuf,
    /// Folder name under OUT.
    pub name: String,
    pub out_dir: PathBuf,
}

/// How one clip ended.
#[derive(Debug, Clone)]
pub enum ClipOutcome {
    /// Analysed now, or skipped as up to date (`skipped`); the report as written.
    Done {
        job: ClipJob,
        report: Box<Report>,
        skipped: bool,
    },
    Failed {
        input: PathBuf,
        name: Option<String>,
        error: String,
    },
}

/// Files given directly are taken as they are (a bad one fails as a clip); folders contribute
/// their video files, sorted. A file reached twice (named twice, or through a folder and by name)
/// is analysed once: two jobs would write the same folder at the same time. Returns the clips,
/// and paths that could not be listed with why.
pub fn collect_inputs(paths: &[PathBuf], recursive: bool) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut clips = Vec::new();
    let mut problems = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            match list_videos(p, recursive, &mut found, 0) {
                Err(e) => problems.push((p.clone(), format!("cannot list folder: {e}"))),
                Ok(()) if found.is_empty() => problems.push((p.clone(), "folder holds no video files".to_string())),
                Ok(()) => {}
            }
            found.sort();
            clips.extend(found);
        } else {
            clips.push(p.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    clips.retain(|c| seen.insert(std::fs::canonicalize(c).unwrap_or_else(|_| c.clone())));
    (clips, problems)
}

fn list_videos(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    // Folder symlink loops stop at a fixed depth.
    if depth > 32 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if recursive {
                list_videos(&path, recursive, out, depth + 1)?;
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|v| v.eq_ignore_ascii_case(e)))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// A file stem made safe as a single folder name: not hidden (leading dots), not taken for an
/// option by a shell command run in OUT (`rm *` with a folder called `-rf`).
pub fn safe_name(input: &Path) -> String {
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let cleaned: String =
        stem.chars().map(|c| if c.is_control() || matches!(c, '/' | '\\' | ':' | '\0') { '_' } else { c }).collect();
    let trimmed = cleaned.trim().trim_start_matches(['.', '-']).trim().to_string();
    if trimmed.is_empty() || trimmed == ".." {
        "clip".to_string()
    } else {
        trimmed.chars().take(120).collect()
    }
}

/// Short stable hash of a path (FNV-1a), for telling apart clips with the same name.
fn short_hash(p: &Path) -> String {
    let full = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut h: u64 = 0xcbf29ce484222325;
    for b in full.to_string_lossy().as_bytes() {
        h = (h ^ *b as u64).wrapping_mul(0x100000001b3);
    }
    format!("{:08x}", h as u32)
}

/// Output folders for the clips: the safe stem, with a path hash when stems collide.
pub fn plan(clips: &[PathBuf], out: &Path) -> Vec<ClipJob> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for c in clips {
        *counts.entry(safe_name(c).to_lowercase()).or_default() += 1;
    }
    clips
        .iter()
        .map(|c| {
            let base = safe_name(c);
            let name = if counts[&base.to_lowercase()] > 1 { format!("{base}-{}", short_hash(c)) } else { base };
            ClipJob { input: c.clone(), out_dir: out.join(&name), name }
        })
        .collect()
}

/// What an output folder was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    pub input: String,
    pub input_bytes: u64,
    pub input_modified_ns: u128,
    pub config_toml: String,
    pub formcheck_version: String,
    pub video: bool,
}

impl Stamp {
    pub fn new(input: &Path, config_toml: &str, video: bool) -> std::io::Result<Stamp> {
        let meta = std::fs::metadata(input)?;
        let modified = meta.modified()?.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        Ok(Stamp {
            input: input.display().to_string(),
            input_bytes: meta.len(),
            input_modified_ns: modified,
            config_toml: config_toml.to_string(),
            formcheck_version: env!("CARGO_PKG_VERSION").to_string(),
            video,
        })
    }

    pub const FILE: &'static str = "run.json";

    /// Outputs a finished clip folder holds.
    pub fn outputs(video: bool) -> Vec<&'static str> {
        let mut v = vec!["poses.json", "report.json", "reps.csv", "report.html"];
        if video {
            v.push("annotated.mp4");
        }
        v
    }

    /// True when `dir` was made from exactly this input and configuration and is complete.
    pub fn is_current(&self, dir: &Path) -> bool {
        let Ok(text) = std::fs::read(dir.join(Self::FILE)) else { return false };
        let Ok(old) = serde_json::from_slice::<Stamp>(&text) else { return false };
        old == *self && Self::outputs(self.video).iter().all(|f| dir.join(f).is_file())
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        write_atomic(&dir.join(Self::FILE), &serde_json::to_vec_pretty(self).expect("a stamp serialises"))
    }
}

/// Headline of a report for listings: rep count and the worst findings.
pub fn headline(report: &Report) -> String {
    use crate::faults::Severity;
    let mut faults: Vec<(&str, Severity)> = report
        .reps
        .iter()
        .flat_map(|r| r.faults.iter().map(|f| (f.code, f.severity)))
        .chain(report.set.faults.iter().map(|f| (f.code, f.severity)))
        .filter(|(_, s)| *s >= Severity::Warn)
        .collect();
    faults.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    faults.dedup_by(|a, b| a.0 == b.0);
    let mut s = format!("{} rep{}", report.reps.len(), if report.reps.len() == 1 { "" } else { "s" });
    if !report.reliable {
        s.push_str(", unreliable");
    }
    if !faults.is_empty() {
        let list: Vec<String> = faults.iter().map(|(c, sev)| format!("{} ({sev:?})", c.replace('_', " "))).collect();
        s.push_str(": ");
        s.push_str(&list.join(", ").to_lowercase());
    }
    s
}

/// `summary.csv`: one row per rep per clip, one row per failed clip (and per clip with no reps).
pub fn summary_csv(outcomes: &[ClipOutcome]) -> String {
    let mut out = String::from(
        "clip,folder,status,rep,floor_break_s,lockout_s,concentric_s,lumbar_flexion_setup_deg,hip_shoulder_rise_ratio,mean_concentric_speed_torso_per_s,faults,warnings,error\n",
    );
    let num = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
    for o in outcomes {
        match o {
            ClipOutcome::Done { job, report, skipped } => {
                let status = if *skipped { "up_to_date" } else { "ok" };
                let warnings: Vec<&str> = report.warnings.iter().map(|w| w.code).collect();
                let clip = csv_field(&job.input.display().to_string());
                let folder = csv_field(&job.name);
                if report.reps.is_empty() {
                    out.push_str(&format!("{clip},{folder},{status},,,,,,,,,{},\n", csv_field(&warnings.join(";"))));
                }
                for r in &report.reps {
                    let m = &r.metrics;
                    let faults: Vec<String> =
                        r.faults.iter().map(|f| format!("{}:{:?}", f.code, f.severity).to_lowercase()).collect();
                    out.push_str(&format!(
                        "{clip},{folder},{status},{},{},{},{},{},{},{},{},{},\n",
                        r.rep.index,
                        num(Some(r.rep.floor_break_s)),
                        num(Some(r.rep.lockout_s)),
                        num(Some(m.concentric_s)),
                        num(m.lumbar_flexion_setup_deg),
                        num(m.hip_shoulder_rise_ratio),
                        num(Some(m.mean_concentric_speed_torso_per_s)),
                        csv_field(&faults.join(";")),
                        csv_field(&warnings.join(";")),
                    ));
                }
            }
            ClipOutcome::Failed { input, name, error } => {
                out.push_str(&format!(
                    "{},{},failed,,,,,,,,,,{}\n",
                    csv_field(&input.display().to_string()),
                    csv_field(name.as_deref().unwrap_or("")),
                    csv_field(error)
                ));
            }
        }
    }
    out
}

/// Percent-encodes a folder name for a relative link.
fn url_segment(s: &str) -> String {
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

/// `index.html`: every clip with a link to its report and its headline findings.
pub fn index_html(outcomes: &[ClipOutcome]) -> String {
    let mut rows = String::new();
    for o in outcomes {
        match o {
            ClipOutcome::Done { job, report, skipped } => rows.push_str(&format!(
                "<tr><td><a href=\"{}/report.html\">{}</a></td><td>{}</td><td>{}</td></tr>\n",
                url_segment(&job.name),
                esc(&job.input.display().to_string()),
                esc(&headline(report)),
                if *skipped { "up to date" } else { "analysed" }
            )),
            ClipOutcome::Failed { input, error, .. } => rows.push_str(&format!(
                "<tr class=\"failed\"><td>{}</td><td>failed: {}</td><td></td></tr>\n",
                esc(&input.display().to_string()),
                esc(error)
            )),
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>formcheck batch</title><style>body{{font-family:system-ui,sans-serif;margin:1rem;color:#222}}table{{border-collapse:collapse;width:100%}}\
td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}}tr.failed td{{color:#b00020}}</style></head>\
<body><h1>formcheck: {} clip{}</h1><table><thead><tr><th>clip</th><th>findings</th><th></th></tr></thead><tbody>\n{rows}</tbody></table></body></html>\n",
        outcomes.len(),
        if outcomes.len() == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        let clips = vec![
            PathBuf::from("/a/IMG_0001.MOV"),
            PathBuf::from("/b/IMG_0001.MOV"),
            PathBuf::from("/c/../../etc.mp4"),
            PathBuf::from("/d/..mp4"),
            PathBuf::from("/e/<script>.mp4"),
            PathBuf::from("/f/-rf.mp4"),
            PathBuf::from("/g/.-. x.mp4"),
        ];
        let jobs = plan(&clips, Path::new("OUT"));
        assert_ne!(jobs[0].name, jobs[1].name);
        assert!(jobs[0].name.starts_with("IMG_0001-") && jobs[1].name.starts_with("IMG_0001-"));
        for j in &jobs {
            assert_eq!(j.out_dir.parent(), Some(Path::new("OUT")), "{j:?}");
            assert!(!j.name.contains('/') && !j.name.starts_with(['.', '-']) && j.name != "..", "{j:?}");
        }
        assert_eq!(jobs[4].name, "<script>");
        assert_eq!(jobs[5].name, "rf");
        assert_eq!(jobs[6].name, "x");
    }

    #[test]
    fn a_clip_named_twice_is_one_job() {
        let dir = tempfile::tempdir().expect("temp");
        let a = dir.path().join("a.mp4");
        std::fs::write(&a, b"x").expect("write");
        let again = dir.path().join(".").join("a.mp4");
        let (clips, problems) = collect_inputs(&[a.clone(), dir.path().to_path_buf(), again], false);
        assert_eq!(clips, vec![a]);
        assert!(problems.is_empty());
    }

    #[test]
    fn folder_links_are_percent_encoded() {
        assert_eq!(url_segment("a b/<"), "a%20b%2F%3C");
    }

    #[test]
    fn stamps_detect_changes() {
        let dir = tempfile::tempdir().expect("temp");
        let input = dir.path().join("x.mp4");
        std::fs::write(&input, b"abc").expect("write");
        let out = dir.path().join("out");
        let s = Stamp::new(&input, "cfg", false).expect("stamp");
        for f in Stamp::outputs(false) {
            write_atomic(&out.join(f), b"x").expect("write");
        }
        assert!(!s.is_current(&out), "no stamp yet");
        s.write(&out).expect("write stamp");
        assert!(s.is_current(&out));
        assert!(!Stamp::new(&input, "other cfg", false).expect("stamp").is_current(&out));
        std::fs::write(&input, b"abcd").expect("write");
        assert!(!Stamp::new(&input, "cfg", false).expect("stamp").is_current(&out));
    }
}
