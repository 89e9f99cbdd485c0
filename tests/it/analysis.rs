//! The rep-by-rep analysis on the real clips (pose tracks shared with the fidelity test): rep
//! counts against the manifest, the faults the sources labelled, no fault-severity findings on the
//! clips labelled good, the view check, and other lifts producing no reps.

use std::collections::BTreeMap;
use std::time::Instant;

use formcheck::analysis;
use formcheck::config::Config;
use formcheck::faults::Severity;
use formcheck::report::Report;

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
