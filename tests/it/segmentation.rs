//! The shipped landmark model is split in two (`scripts/split_landmark_model.py`): the body and the
//! segmentation head, which runs only on the frames whose back outline is read
//! (`--outline-hz`). The split must give the whole model's numbers, and reading the outline on
//! every other frame must give nearly the outline read on every frame.

use std::path::Path;

use formcheck::posetrack::{PoseFrame, PoseTrack};

use crate::common;

/// Analyses `clip` into `out` with `args` and reads back its pose track.
fn track(clip: &Path, out: &Path, args: &[&str]) -> PoseTrack {
    let res = common::bin().arg("analyze").arg(clip).arg("-o").arg(out).args(["--no-video", "-q"]).args(args).output();
    let res = res.expect("run");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let stem = clip.file_stem().expect("stem").to_string_lossy().into_owned();
    PoseTrack::load(&out.join(stem).join("poses.json")).expect("poses.json")
}

/// Differences between two tracks' back-outline widths (hip-shoulder lengths), over the frames
/// and samples both have; and how many frames have an outline in `a` but not in `b`.
fn width_differences(a: &[PoseFrame], b: &[PoseFrame]) -> (Vec<f64>, usize) {
    let mut diffs = Vec::new();
    let mut lost = 0;
    for (fa, fb) in a.iter().zip(b) {
        match (&fa.back, &fb.back) {
            (Some(oa), Some(ob)) => {
                let pairs = oa.back_if_facing_right.iter().zip(&ob.back_if_facing_right);
                let pairs = pairs.chain(oa.back_if_facing_left.iter().zip(&ob.back_if_facing_left));
                diffs.extend(pairs.filter_map(|(x, y)| Some((x.as_ref()? - y.as_ref()?).abs())));
            }
            (Some(_), None) => lost += 1,
            _ => {}
        }
    }
    diffs.sort_by(f64::total_cmp);
    (diffs, lost)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

#[test]
fn the_split_model_gives_the_whole_models_numbers_and_a_15_hz_outline_follows_the_every_frame_one() {
    let Some(clip) = common::clip("bichraix_bad005_rounded.mp4") else {
        return;
    };
    let whole = clip.parent().expect("clips").join("..").join("models").join("pose_landmark_full.onnx");
    assert!(whole.is_file(), "the whole landmark model beside the clips: {}", whole.display());
    let dir = tempfile::tempdir().expect("temp");
    let whole_model = whole.to_str().expect("utf-8 path");
    let from_whole = track(&clip, &dir.path().join("whole"), &["--model", whole_model, "--outline-hz", "0"]);
    let every = track(&clip, &dir.path().join("every"), &["--outline-hz", "0"]);
    let capped = track(&clip, &dir.path().join("capped"), &[]);

    // Split or whole, the same landmarks; the outline from the head (built without the NCHWc
    // layout) differs by float rounding only.
    assert_eq!(every.frames.len(), from_whole.frames.len());
    for (a, b) in every.frames.iter().zip(&from_whole.frames) {
        assert_eq!((a.landmarks.as_ref(), a.presence), (b.landmarks.as_ref(), b.presence), "frame {}", a.i);
    }
    let (diffs, lost) = width_differences(&from_whole.frames, &every.frames);
    let seen = from_whole.frames.iter().filter(|f| f.back.is_some()).count();
    println!(
        "split vs whole: {seen} outlines, {lost} lost; width differences median {:.5}, 99th percentile {:.5}, max {:.5}",
        quantile(&diffs, 0.5),
        quantile(&diffs, 0.99),
        quantile(&diffs, 1.0)
    );
    assert!(seen >= 80, "the lifter's outline on most of the clip's 104 frames: {seen}");
    assert!(lost <= 1 && quantile(&diffs, 0.99) < 0.002, "split and whole outlines differ");

    // At 15 Hz the outline is read on every other frame of this 30 frames/s clip and interpolated
    // on the others, from the frames either side.
    let skipped = capped.frames.iter().filter(|f| f.outline_interpolated).count();
    let n = capped.frames.len();
    assert!((skipped as f64 - n as f64 / 2.0).abs() <= 2.0, "{skipped} of {n} frames not read");
    assert!(every.frames.iter().all(|f| !f.outline_interpolated), "--outline-hz 0 reads every frame");
    let not_read = |t: &PoseTrack| -> Vec<PoseFrame> {
        t.frames.iter().zip(&capped.frames).filter(|(_, c)| c.outline_interpolated).map(|(f, _)| f.clone()).collect()
    };
    let (diffs, lost) = width_differences(&not_read(&every), &not_read(&capped));
    println!(
        "15 Hz vs every frame, on the {skipped} frames not read: {lost} outlines lost; width differences median {:.4}, \
         90th percentile {:.4}",
        quantile(&diffs, 0.5),
        quantile(&diffs, 0.9)
    );
    // A back is about 0.2-0.3 hip-shoulder lengths thick: interpolated widths within a few
    // hundredths of the ones read.
    // That is how far a frame's outline departs from the mean of its neighbours': the outline's own
    // frame-to-frame jitter (a back is about 0.25 hip-shoulder lengths thick).
    assert!(lost <= 4, "{lost} outlines lost to the 15 Hz reading");
    assert!(quantile(&diffs, 0.5) < 0.02 && quantile(&diffs, 0.9) < 0.08, "interpolated outlines far from read ones");
    // What the lifter is told: the back's bend at setup and in the pull, rep by rep.
    let bends = |name: &str| -> Vec<(f64, f64)> {
        let path = dir.path().join(name).join("bichraix_bad005_rounded").join("report.json");
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(path).expect("report")).expect("json");
        let reps = report["reps"].as_array().expect("reps").iter();
        let deg = |m: &serde_json::Value, k: &str| m[k].as_f64().unwrap_or(f64::NAN);
        reps.map(|r| (deg(&r["metrics"], "lumbar_flexion_setup_deg"), deg(&r["metrics"], "lumbar_flexion_pull_deg")))
            .collect()
    };
    let (read, interpolated) = (bends("every"), bends("capped"));
    println!("back bend (setup, pull) read on every frame {read:?}, at 15 Hz {interpolated:?}");
    assert!(!read.is_empty() && read.len() == interpolated.len());
    for ((s0, p0), (s1, p1)) in read.iter().zip(&interpolated) {
        assert!((s0 - s1).abs() < 2.0 && (p0 - p1).abs() < 3.0, "bend moved: {read:?} vs {interpolated:?}");
    }
}

#[test]
fn a_split_model_without_its_head_is_named_with_what_is_missing() {
    let dir = tempfile::tempdir().expect("temp");
    let body = dir.path().join("pose_landmark_full.onnx");
    std::fs::copy(common::project_dir().join("models").join("pose_landmark_full.onnx"), &body).expect("copy");
    let clip = dir.path().join("x.mp4");
    std::fs::write(&clip, b"unused").expect("write");
    let res = common::bin().arg("analyze").arg(&clip).arg("--model").arg(&body).output().expect("run");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no segmentation head beside it") && stderr.contains("pose_landmark_full.seg.onnx"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
