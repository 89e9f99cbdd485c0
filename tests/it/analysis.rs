//! The rep-by-rep analysis on the real clips (pose tracks shared with the fidelity test): rep
//! counts against the manifest, the faults the sources labelled, no fault-severity findings on the
//! clips labelled good, the view check, and other lifts producing no reps.

use std::collections::BTreeMap;
use std::time::Instant;

use formcheck::analysis;
use formcheck::analysis::config::Config;
use formcheck::analysis::faults::Severity;
use formcheck::analysis::report::Report;

use crate::common;

/// Reports for every clip, with the time the analysis took (no model, no video).
fn reports() -> Option<BTreeMap<String, Report>> {
    let tracks = common::all_tracks()?;
    let cfg = Config::default();
    let mut out = BTreeMap::new();
    let mut slowest = (String::new(), 0.0f64);
    for (name, track) in tracks {
        let start = Instant::now();
        let report = analysis::analyze(track, &cfg);
        let s = start.elapsed().as_secs_f64();
        if s > slowest.1 {
            slowest = (name.clone(), s);
        }
        out.insert(name.clone(), report);
    }
    println!("slowest analysis from a pose track: {} in {:.1} ms", slowest.0, 1000.0 * slowest.1);
    Some(out)
}

/// (clip stem, rep count) for the side-view deadlift clips whose manifest gives an exact count.
fn exact_counts() -> Vec<(String, usize)> {
    let dir = common::clips_dir().expect("clips present");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("manifest");
    let mut out = Vec::new();
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, view, lift, reps) = (cols[0], cols[9], cols[10], cols[11]);
        let deadlift = lift.starts_with("conventional") || lift.contains("deadlift");
        let count: Option<usize> = reps.split_whitespace().next().and_then(|n| n.parse().ok());
        if view.starts_with("side") && deadlift {
            if let Some(n) = count {
                out.push((file.trim_end_matches(".mp4").to_string(), n));
            }
        }
    }
    out
}

fn codes(report: &Report) -> Vec<(&'static str, Severity)> {
    report.reps.iter().flat_map(|r| r.faults.iter().map(|f| (f.code, f.severity))).collect()
}

fn describe(report: &Report) -> String {
    let faults: Vec<String> = codes(report).iter().map(|(c, s)| format!("{c}:{s:?}")).collect();
    let warnings: Vec<&str> = report.warnings.iter().map(|w| w.code).collect();
    format!("{} reps, warnings {warnings:?}, findings {faults:?}", report.reps.len())
}

#[test]
fn real_clips_give_the_expected_reps_faults_and_warnings() {
    let Some(reports) = reports() else { return };
    let mut problems = Vec::new();
    for (name, want) in exact_counts() {
        let got = reports[&name].reps.len();
        println!("{name:32} reps {got} (manifest {want})");
        if got != want {
            problems.push(format!("{name}: {got} reps, manifest says {want}"));
        }
    }
    let expected_faults = [
        ("bichraix_bad005_rounded", "rounded_lower_back"),
        ("kettlebell_rounded", "rounded_lower_back"),
        ("bichraix_bad012_bar_far", "bar_away_from_shins"),
        ("bichraix_bad013_hyperextend", "lockout_hyperextension"),
        ("kettlebell_hip_first", "early_hip_rise"),
        ("kettlebell_knee_dominant", "squatting_the_deadlift"),
    ];
    for (name, code) in expected_faults {
        let r = &reports[name];
        let found = codes(r).iter().any(|(c, s)| *c == code && *s >= Severity::Warn);
        println!("{name:32} expects {code}: {}", describe(r));
        if !found {
            problems.push(format!("{name}: no {code} ({})", describe(r)));
        }
    }
    let good = [
        "bichraix_good014",
        "bichraix_good015",
        "bichraix_example6_good",
        "kettlebell_correct",
        "mattiolato_good_01",
        "mattiolato_good_02",
        "mattiolato_good_03",
        "mattiolato_good_04",
        "mattiolato_good_05",
    ];
    for name in good {
        let r = &reports[name];
        println!("{name:32} good: {}", describe(r));
        if codes(r).iter().any(|(_, s)| *s == Severity::Fault) {
            problems.push(format!("{name} (labelled good) has a fault-severity finding: {}", describe(r)));
        }
    }
    // Every squat-style rep is flagged, and no hinge: the squat label is 'no' on every other
    // clip.
    for (name, r) in &reports {
        let flagged = r
            .reps
            .iter()
            .filter(|rep| rep.faults.iter().any(|f| f.code == "squatting_the_deadlift" && f.severity >= Severity::Warn))
            .count();
        let want = if name == "kettlebell_knee_dominant" { r.reps.len() } else { 0 };
        if flagged != want && name != "gymapp_deadlift_1080p60" {
            problems
                .push(format!("{name}: squatting_the_deadlift on {flagged} of {} reps, expected {want}", r.reps.len()));
        }
    }
    // The plate hides the hips at lockout: a lifter standing tall is not told "soft lockout".
    if codes(&reports["bichraix_bad005_rounded"]).iter().any(|(c, _)| *c == "soft_lockout") {
        problems
            .push(format!("bichraix_bad005_rounded: soft_lockout ({})", describe(&reports["bichraix_bad005_rounded"])));
    }
    for name in ["front_view_deadlift", "angled45_deadlift"] {
        let r = &reports[name];
        if !r.warnings.iter().any(|w| w.code == "not_side_view") || r.reliable {
            problems.push(format!("{name}: expected not_side_view and an unreliable report: {}", describe(r)));
        }
    }
    for name in ["other_back_squat", "other_bench_press"] {
        let r = &reports[name];
        let warned = r.warnings.iter().any(|w| w.code == "not_a_deadlift" || w.code == "no_reps");
        if !r.reps.is_empty() || !warned {
            problems.push(format!("{name}: expected no deadlift reps and a warning: {}", describe(r)));
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn rep_phases_are_in_order_and_inside_the_clip() {
    let Some(reports) = reports() else { return };
    for (name, r) in &reports {
        let end = r.video.duration_s + 0.05;
        for rep in &r.reps {
            let p = &rep.rep;
            let knee = p.knee_pass_s.unwrap_or(p.floor_break_s);
            let ordered = p.start_s <= p.floor_break_s
                && p.floor_break_s <= knee
                && knee <= p.lockout_s
                && p.lockout_s <= p.descent_s
                && p.descent_s <= p.end_s
                && p.end_s <= end;
            assert!(ordered, "{name} rep {}: phases out of order: {p:?}", p.index);
        }
    }
}

/// Checks of `scripts/score.py` (the rep-by-rep score against `LABELS.tsv`) that do not hold yet:
/// the upper back's rounding recall (10 of its 15 rounded reps are one lifter's under a hood,
/// where the upper back is not measurable). Every other check must pass; these are printed, and the test fails
/// if one of them starts passing without being moved out of this list.
const NOT_YET: [&str; 1] = ["rounded_upper_back recall"];

#[test]
fn findings_score_against_the_per_rep_labels() {
    let Some(reports) = reports() else { return };
    let clips = common::clips_dir().expect("clips present");
    let dir = tempfile::tempdir().expect("temp");
    for (name, report) in &reports {
        let folder = dir.path().join(name);
        std::fs::create_dir_all(&folder).expect("folder");
        std::fs::write(folder.join("report.json"), report.to_json()).expect("report");
    }
    let score = common::project_dir().join("scripts").join("score.py");
    let json = dir.path().join("score.json");
    let out = std::process::Command::new("python3")
        .arg(&score)
        .arg(dir.path())
        .arg(clips.join("LABELS.tsv"))
        .arg("--json")
        .arg(&json)
        .output()
        .expect("python3 runs");
    println!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "score.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("score.json")).expect("json");
    let checks = result["checks"].as_array().expect("checks");
    assert!(checks.len() > 10, "score.py checked too little: {checks:?}");
    let mut problems = Vec::new();
    for c in checks {
        let (name, pass) = (c["name"].as_str().unwrap_or("?"), c["pass"].as_bool().unwrap_or(false));
        let detail = c["detail"].as_str().unwrap_or("");
        match (NOT_YET.contains(&name), pass) {
            (false, false) => problems.push(format!("FAIL {name}: {detail}")),
            (true, true) => problems.push(format!("{name} now passes ({detail}): take it out of NOT_YET")),
            (true, false) => println!("not yet: {name}: {detail}"),
            (false, true) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
