//! The bar from the near plate (issue: plate tracking, scale, bar path and speed).
//!
//! - Synthetic: a plate riding with the synthetic lifter's bar, with noise, variable frame rate
//!   and dropouts; the report's range of motion, mean concentric and peak velocity come back
//!   within stated tolerances of the generator's truth.
//! - Real clips: the plate centres the pipeline recorded against hand labels
//!   (`tests/data/plate_labels.tsv`), the bar source per clip, and the range of motion of every
//!   barbell rep. A clip the analysis finds not side-on (a 45 deg view) takes the bar from the
//!   hands by design; its labels are listed, not scored.

use std::fmt::Write as _;

use formcheck::analysis;
use formcheck::analysis::barpath::BarSource;
use formcheck::analysis::config::Config;
use formcheck::testkit::synth::{self, SynthLift, SynthTruth};

use crate::common;

/// Tolerances against the synthetic truth: range of motion (fraction), mean concentric velocity
/// (fraction), peak velocity (fraction; the 6 Hz low-pass takes a little off a sharp peak).
const ROM_TOL: f64 = 0.02;
const MCV_TOL: f64 = 0.04;
const PEAK_TOL: f64 = 0.08;

/// The truth's bar height (m, up) at each frame.
fn truth_height_m(truth: &SynthTruth) -> Vec<(f64, f64)> {
    truth.frames.iter().map(|f| (f.t_s, (truth.floor_y_px - f.bar_px[1]) / truth.pixels_per_m)).collect()
}

/// Range of motion, mean concentric velocity (the middle 90 % of the rise over its duration, as
/// the report defines it) and peak velocity of the truth's rep `r`, from the noise-free bar.
fn truth_rep(truth: &SynthTruth, r: usize) -> (f64, f64, f64) {
    let rep = &truth.reps[r];
    let h = truth_height_m(truth);
    // The bar at rest on the floor before the pull (the floor break is when it is visibly up).
    let setup = h
        .iter()
        .filter(|(t, _)| *t >= rep.start_s && *t <= rep.floor_break_s)
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min);
    let pull: Vec<(f64, f64)> = h.iter().copied().filter(|(t, _)| *t >= rep.start_s && *t <= rep.descent_s).collect();
    let top = pull.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let rom = top - setup;
    let crossing = |frac: f64| {
        let level = setup + frac * rom;
        let w = pull.windows(2).find(|w| w[1].1 >= level && w[0].1 < level).expect("crosses");
        w[0].0 + (level - w[0].1) / (w[1].1 - w[0].1) * (w[1].0 - w[0].0)
    };
    let mcv = 0.9 * rom / (crossing(0.95) - crossing(0.05));
    let peak = pull.windows(2).map(|w| (w[1].1 - w[0].1) / (w[1].0 - w[0].0)).fold(f64::MIN, f64::max);
    (rom, mcv, peak)
}

#[test]
fn synthetic_plate_path_gives_range_of_motion_and_velocity() {
    // The synthetic plate is in the lifter's plane: no depth correction.
    let cfg = Config::load(None, &["bar.plate_depth_offset_m=0.0".into()]).expect("config");
    let cases = [
        ("clean 30 fps", SynthLift { reps: 3, plate_noise_px: Some(0.0), ..SynthLift::default() }),
        ("noise 1 px, 60 fps", SynthLift { reps: 3, fps: 60.0, plate_noise_px: Some(1.0), ..SynthLift::default() }),
        (
            "noise, variable frame rate, dropouts",
            SynthLift {
                reps: 3,
                vfr_jitter: 0.3,
                noise_px: 1.5,
                dropout_fraction: 0.03,
                plate_noise_px: Some(1.0),
                ..SynthLift::default()
            },
        ),
    ];
    let mut failures = String::new();
    for (name, spec) in cases {
        let (track, truth) = synth::generate(&spec);
        let report = analysis::analyze(&track, &cfg);
        if report.bar.source != BarSource::Plate || report.reps.len() != truth.reps.len() {
            let _ = writeln!(
                failures,
                "{name}: source {:?}, {} reps (truth {})",
                report.bar.source,
                report.reps.len(),
                truth.reps.len()
            );
            continue;
        }
        let want_mm_per_px = 1000.0 / truth.pixels_per_m;
        let scale = report.bar.mm_per_px.expect("scale");
        if (scale / want_mm_per_px - 1.0).abs() > 0.01 {
            let _ = writeln!(failures, "{name}: {scale:.4} mm/px, truth {want_mm_per_px:.4}");
        }
        for (r, rep) in report.reps.iter().enumerate() {
            let (rom, mcv, peak) = truth_rep(&truth, r);
            let m = &rep.metrics;
            let checks = [
                ("rom", m.rom_cm.map(|v| v / 100.0), rom, ROM_TOL),
                ("mcv", m.mean_concentric_velocity_m_per_s, mcv, MCV_TOL),
                ("peak", m.peak_concentric_velocity_m_per_s, peak, PEAK_TOL),
            ];
            for (what, got, want, tol) in checks {
                match got {
                    Some(g) if (g / want - 1.0).abs() <= tol => {}
                    _ => {
                        let _ = writeln!(
                            failures,
                            "{name} rep {}: {what} {got:?}, truth {want:.3} (tolerance {tol})",
                            r + 1
                        );
                    }
                }
            }
        }
        eprintln!(
            "{name}: {}",
            report
                .reps
                .iter()
                .enumerate()
                .map(|(r, rep)| {
                    let (rom, mcv, peak) = truth_rep(&truth, r);
                    let m = &rep.metrics;
                    format!(
                        "rep {} rom {:.1}/{:.1} cm mcv {:.3}/{:.3} peak {:.3}/{:.3} m/s",
                        r + 1,
                        m.rom_cm.unwrap_or(f64::NAN),
                        100.0 * rom,
                        m.mean_concentric_velocity_m_per_s.unwrap_or(f64::NAN),
                        mcv,
                        m.peak_concentric_velocity_m_per_s.unwrap_or(f64::NAN),
                        peak
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    assert!(failures.is_empty(), "plate metrics off the truth:\n{failures}");
}

#[test]
fn without_a_plate_the_bar_is_the_hands_and_says_why() {
    let (track, _) = synth::generate(&SynthLift { reps: 2, ..SynthLift::default() });
    let report = analysis::analyze(&track, &Config::default());
    assert_eq!(report.bar.source, BarSource::Hands);
    assert!(report.bar.reason.is_some() && report.bar.mm_per_px.is_none());
    assert!(report.warnings.iter().any(|w| w.code == "no_plate"));
    assert!(report
        .reps
        .iter()
        .all(|r| r.metrics.rom_cm.is_none() && r.metrics.mean_concentric_velocity_m_per_s.is_none()));
    assert_eq!(report.reps.len(), 2);
}

#[test]
fn a_plate_that_does_not_move_with_the_hands_is_not_the_bar() {
    // A plate fixed in the image (a rack plate, a round poster) near where the hands start.
    let (mut track, _) = synth::generate(&SynthLift { reps: 2, plate_noise_px: Some(0.5), ..SynthLift::default() });
    let first = track.frames.iter().find_map(|f| f.plate).expect("plate");
    for f in &mut track.frames {
        f.plate = f.plate.map(|_| first);
    }
    let report = analysis::analyze(&track, &Config::default());
    assert_eq!(report.bar.source, BarSource::Hands, "a static plate was taken for the bar");
    assert_eq!(report.reps.len(), 2);
}

/// One hand label.
struct Label {
    clip: String,
    frame: u64,
    x: f64,
    y: f64,
    diameter: Option<f64>,
}

fn labels() -> Vec<Label> {
    let text = std::fs::read_to_string(common::project_dir().join("tests/data/plate_labels.tsv")).expect("labels");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Label {
                clip: c[0].trim_end_matches(".mp4").to_string(),
                frame: c[1].parse().expect("frame"),
                x: c[2].parse().expect("x"),
                y: c[3].parse().expect("y"),
                diameter: c.get(4).and_then(|d| d.parse().ok()),
            }
        })
        .collect()
}

#[test]
fn plate_centres_match_hand_labels() {
    let Some(tracks) = common::all_tracks() else { return };
    let labels = labels();
    // Clips the analysis finds not side-on take the bar from the hands: listed, not scored.
    let side_on = |clip: &str| {
        !analysis::analyze(&tracks[clip], &Config::default()).warnings.iter().any(|w| w.code == "not_side_view")
    };
    let (scored, skipped): (Vec<&Label>, Vec<&Label>) = labels.iter().partition(|l| side_on(&l.clip));
    let clips: std::collections::BTreeSet<&str> = scored.iter().map(|l| l.clip.as_str()).collect();
    let skipped_clips: std::collections::BTreeSet<&str> = skipped.iter().map(|l| l.clip.as_str()).collect();
    assert!(scored.len() >= 60 && clips.len() >= 6, "{} scored labels over {} clips", scored.len(), clips.len());
    let mut errors = Vec::new();
    let mut table = String::new();
    for l in &scored {
        let track = &tracks[&l.clip];
        let frame = track.frames.iter().find(|f| f.i == l.frame).expect("labelled frame decoded");
        // A frame where the plate was not measured counts as a miss (error of a whole diameter).
        let (err, shown) = match frame.plate {
            Some(p) => {
                let d = l.diameter.unwrap_or(p[2]);
                let e = (p[0] - l.x).hypot(p[1] - l.y) / d;
                (e, format!("{:.1} %", 100.0 * e))
            }
            None => (1.0, "not measured".to_string()),
        };
        errors.push(err);
        let _ = writeln!(table, "  {} frame {}: {shown}", l.clip, l.frame);
    }
    errors.sort_by(f64::total_cmp);
    let median = errors[errors.len() / 2];
    let p90 = errors[((errors.len() as f64 * 0.9).ceil() as usize - 1).min(errors.len() - 1)];
    eprintln!(
        "plate centre error over {} labels in {} clips: median {:.2} %, p90 {:.2} % of the diameter \
         (not scored, not side-on: {} labels in {:?})\n{table}",
        errors.len(),
        clips.len(),
        100.0 * median,
        100.0 * p90,
        skipped.len(),
        skipped_clips
    );
    assert!(median <= 0.05 && p90 <= 0.15, "median {:.3}, p90 {:.3} of the diameter\n{table}", median, p90);
}

/// Barbell clips whose near plate cannot be seen at setup, as seen by eye (the bar is then the
/// hands, correctly).
const NEAR_PLATE_HIDDEN_AT_SETUP: [(&str, &str); 1] = [(
    "siriwan_edited7",
    "camera about 45 deg to the bar: at setup the near plate is below the frame and behind the \
     lifter's shins; the plate in view is the far one",
)];

/// `Some(true)` for side-view barbell deadlifts (the near plate faces the camera), `Some(false)`
/// for the kettlebell clips, `None` for the rest (front and 45 deg views, other lifts).
fn lift_kind(lift_type: &str, camera_view: &str) -> Option<bool> {
    if lift_type.contains("kettlebell") {
        Some(false)
    } else if lift_type.starts_with("conventional") && camera_view.starts_with("side") {
        Some(true)
    } else {
        None
    }
}

#[test]
fn barbell_clips_use_the_plate_and_kettlebells_the_hands_with_plausible_range_of_motion() {
    let Some(tracks) = common::all_tracks() else { return };
    let dir = common::clips_dir().expect("clips");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("manifest");
    let header: Vec<&str> = manifest.lines().next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (lift_col, view_col) = (col("lift_type"), col("camera_view"));
    let mut failures = String::new();
    let mut table = String::new();
    let (mut plate_reps, mut plate_reps_measured) = (0, 0);
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let stem = cols[0].trim_end_matches(".mp4");
        let Some(barbell) = lift_kind(cols[lift_col], cols[view_col]) else { continue };
        let barbell = barbell && !NEAR_PLATE_HIDDEN_AT_SETUP.iter().any(|(clip, _)| *clip == stem);
        let report = analysis::analyze(&tracks[stem], &Config::default());
        let roms: Vec<String> =
            report.reps.iter().map(|r| r.metrics.rom_cm.map_or("-".into(), |v| format!("{v:.0}"))).collect();
        let _ = writeln!(
            table,
            "  {stem}: source {:?}, plate {:.0} px, {} reps, ROM cm [{}]{}",
            report.bar.source,
            report.bar.plate_diameter_px.unwrap_or(f64::NAN),
            report.reps.len(),
            roms.join(", "),
            if report.warnings.iter().any(|w| w.code == "plate_scale_implausible") {
                " (scale questioned)"
            } else {
                ""
            }
        );
        // A barbell clip the view check finds not side-on takes the hands, and says so.
        let side_on = !report.warnings.iter().any(|w| w.code == "not_side_view");
        let want = if barbell && side_on { BarSource::Plate } else { BarSource::Hands };
        if report.bar.source != want {
            let _ = writeln!(failures, "{stem}: source {:?}, expected {want:?}", report.bar.source);
        }
        // "Roughly 45-75 cm": within 5 cm of it, for reps seen from the floor (setup before
        // the floor break) on clips whose plate scale the analysis did not itself question.
        let scale_questioned = report.warnings.iter().any(|w| w.code == "plate_scale_implausible");
        for r in &report.reps {
            let from_floor = r.rep.floor_break_s - report.series.t_s.first().copied().unwrap_or(0.0) > 0.1;
            match r.metrics.rom_cm {
                Some(v) if (40.0..=80.0).contains(&v) || scale_questioned || !from_floor => {}
                Some(v) => {
                    let _ = writeln!(failures, "{stem} rep {}: range of motion {v:.1} cm", r.rep.index);
                }
                None => {}
            }
        }
        if want == BarSource::Plate {
            plate_reps += report.reps.len();
            plate_reps_measured += report.reps.iter().filter(|r| r.metrics.rom_cm.is_some()).count();
        }
    }
    // A rep gets no cm figures when the plate was not followed over most of its pull; that must
    // stay the exception.
    if (plate_reps_measured as f64) < 0.75 * plate_reps as f64 {
        let _ =
            writeln!(failures, "only {plate_reps_measured} of {plate_reps} reps on plate clips have a range of motion");
    }
    eprintln!("bar per clip:\n{table}");
    assert!(failures.is_empty(), "{failures}\nall clips:\n{table}");
}
