//! The command line as a user meets it: what `analyze` writes, and how it fails on bad input (one
//! line naming the file and the reason, non-zero exit, no panic, nothing half-written), with good
//! clips in the same run still analysed.

use std::path::Path;
use std::process::Command;

use crate::common::{self, run_ok};

/// Every file under `dir`, relative paths, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).expect("under dir").display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// A few kinds of broken file, named .mp4, plus what the error line must mention.
fn bad_inputs(dir: &Path, real_clip: Option<&Path>) -> Vec<(std::path::PathBuf, &'static str)> {
    let mut bad = Vec::new();
    let empty = dir.join("empty.mp4");
    std::fs::write(&empty, b"").expect("write");
    bad.push((empty, "empty"));
    let text = dir.join("notes.mp4");
    std::fs::write(&text, "squat 100kg x5\n".repeat(200)).expect("write");
    bad.push((text, "not a video"));
    let random = dir.join("random.mp4");
    std::fs::write(&random, (0..200_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<_>>())
        .expect("write");
    bad.push((random, "not a video"));
    let png = dir.join("picture.mp4");
    image::RgbImage::from_pixel(64, 48, image::Rgb([200, 30, 30]))
        .save_with_format(&png, image::ImageFormat::Png)
        .expect("png");
    bad.push((png, ""));
    bad.push((dir.join("does_not_exist.mp4"), "no such file"));
    let folder = dir.join("folder.mp4");
    std::fs::create_dir(&folder).expect("mkdir");
    bad.push((folder, "no video files"));
    if let Some(real) = real_clip {
        let bytes = std::fs::read(real).expect("read clip");
        // Cut at 60 %: the index (at the end of this file) is gone.
        let cut = dir.join("truncated.mp4");
        std::fs::write(&cut, &bytes[..bytes.len() * 3 / 5]).expect("write");
        bad.push((cut, ""));
        // Index first (faststart), then cut at 60 %: it opens, then the stream ends early.
        let faststart = dir.join("faststart.mp4");
        run_ok(
            Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-i"])
                .arg(real)
                .args(["-c", "copy", "-movflags", "+faststart"])
                .arg(&faststart),
        );
        let fs_bytes = std::fs::read(&faststart).expect("read");
        let cut2 = dir.join("truncated_faststart.mp4");
        std::fs::write(&cut2, &fs_bytes[..fs_bytes.len() * 3 / 5]).expect("write");
        bad.push((cut2, "truncated"));
    }
    bad
}

#[test]
fn each_bad_input_gets_one_clear_line_and_only_an_error_record() {
    let dir = tempfile::tempdir().expect("temp");
    let real = common::clip("bichraix_good014.mp4");
    let bad = bad_inputs(dir.path(), real.as_deref());
    for (i, (path, reason)) in bad.iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        let res = common::bin().arg("analyze").arg(path).arg("-o").arg(&out).output().expect("run formcheck");
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(1), "{}: exit {:?}, stderr {stderr}", path.display(), res.status.code());
        assert!(!stderr.contains("panicked"), "{}: panic: {stderr}", path.display());
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{}: expected one error line, got {stderr:?}", path.display());
        let name = path.file_name().expect("name").to_string_lossy();
        assert!(lines[0].contains(name.as_ref()), "error line does not name the file: {}", lines[0]);
        assert!(lines[0].contains(reason), "{}: error line lacks '{reason}': {}", path.display(), lines[0]);
        // Only the batch summary (which lists the failure) and the failure's record may exist:
        // error.json in the clip's folder (input-errors.json for a folder that cannot be listed),
        // nothing partial.
        let left: Vec<String> =
            files_under(&out).into_iter().filter(|f| f != "summary.csv" && f != "index.html").collect();
        let stem = path.file_stem().expect("stem").to_string_lossy();
        let record_file = if path.is_dir() { "input-errors.json".to_string() } else { format!("{stem}/error.json") };
        assert_eq!(left, std::slice::from_ref(&record_file), "{}: left files behind", path.display());
        let record = std::fs::read_to_string(out.join(&record_file)).expect("record");
        let record: serde_json::Value = serde_json::from_str(&record).expect("record is JSON");
        let record = if path.is_dir() { &record[0] } else { &record };
        assert_eq!(record["input"], path.display().to_string());
        assert!(record["error"].as_str().is_some_and(|e| e.contains(reason)), "{record}");
        if let Ok(summary) = std::fs::read_to_string(out.join("summary.csv")) {
            assert!(summary.contains(",failed,"), "{summary}");
        }
    }
}

#[test]
fn a_batch_with_bad_files_still_analyses_the_good_clip() {
    let Some(good) = common::clip("posereader_good.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    let bad = bad_inputs(dir.path(), None);
    let out = dir.path().join("out");
    let res = common::bin()
        .arg("analyze")
        .arg(&bad[0].0)
        .arg(&good)
        .arg(&bad[1].0)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run formcheck");
    assert_eq!(res.status.code(), Some(1), "some clips failed: exit must be 1");
    let mut expected: Vec<String> =
        ["annotated.mp4", "poses.json", "report.html", "report.json", "reps.csv", "run.json"]
            .iter()
            .map(|f| format!("posereader_good/{f}"))
            .collect();
    // Each failed clip keeps its error in its folder, for `formcheck summarize`.
    expected.extend(["empty/error.json", "notes/error.json", "index.html", "summary.csv"].map(String::from));
    expected.sort();
    assert_eq!(files_under(&out), expected);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(stderr.lines().count(), 2, "one line per bad file: {stderr}");
}

#[test]
fn poses_json_has_the_documented_shape() {
    let Some(clip) = common::clip("posereader_nico.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    let res = common::bin().arg("analyze").arg(&clip).arg("-o").arg(dir.path()).output().expect("run");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let path = dir.path().join("posereader_nico").join("poses.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("poses.json")).expect("json");
    assert_eq!(json["schema_version"], 1);
    let video = &json["video"];
    assert_eq!((video["width"].as_u64(), video["height"].as_u64()), (Some(600), Some(600)));
    assert_eq!(video["rotation_deg"], 0);
    let frames = json["frames"].as_array().expect("frames");
    assert_eq!(frames.len() as u64, video["frames"].as_u64().expect("count"));
    assert_eq!(frames.len(), common::ffprobe_frame_times(&clip).len());
    assert_eq!(json["model"]["names"].as_array().expect("names").len(), 33);
    let mut found = 0;
    for (k, f) in frames.iter().enumerate() {
        assert_eq!(f["i"].as_u64(), Some(k as u64));
        if let Some(lms) = f["landmarks"].as_array() {
            found += 1;
            assert_eq!(lms.len(), 33);
            for p in lms {
                let (x, y, v) = (p[0].as_f64().expect("x"), p[1].as_f64().expect("y"), p[2].as_f64().expect("v"));
                assert!((-600.0..1200.0).contains(&x) && (-600.0..1200.0).contains(&y) && (0.0..=1.0).contains(&v));
            }
            let back = &f["back"];
            assert_eq!(back["back_if_facing_right"].as_array().expect("outline").len(), 41);
        }
    }
    assert!(found as f64 >= 0.95 * frames.len() as f64, "lifter found on {found} of {} frames", frames.len());
    // The saved track reads back through the library's own loader.
    let track = formcheck::posetrack::PoseTrack::load(&path).expect("load");
    assert_eq!(track.frames.len(), frames.len());
}

/// Frames of a `poses.json` the pose model skipped, and how many of them have landmarks.
fn interpolated_frames(path: &Path) -> (usize, usize, usize) {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).expect("poses.json")).expect("json");
    let frames = json["frames"].as_array().expect("frames");
    let skipped: Vec<&serde_json::Value> = frames.iter().filter(|f| f["interpolated"] == true).collect();
    let filled = skipped.iter().filter(|f| f["landmarks"].is_array() && f["roi"].is_null()).count();
    (frames.len(), skipped.len(), filled)
}

#[test]
fn the_pose_model_runs_30_times_a_second_unless_asked_for_every_frame() {
    let Some(clip) = common::clip("gymapp_deadlift_1080p60.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    let mut counts = Vec::new();
    for (name, hz) in [("capped", None), ("every", Some("0"))] {
        let out = dir.path().join(name);
        let mut cmd = common::bin();
        cmd.arg("analyze").arg(&clip).arg("-o").arg(&out).arg("--no-video");
        if let Some(hz) = hz {
            cmd.args(["--pose-hz", hz]);
        }
        let res = cmd.output().expect("run");
        assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
        counts.push(interpolated_frames(&out.join("gymapp_deadlift_1080p60").join("poses.json")));
    }
    // 60 frames/s: every other frame interpolated, and the lifter is in view throughout.
    let (frames, skipped, filled) = counts[0];
    println!("default: {skipped} of {frames} frames interpolated, {filled} with landmarks");
    assert!((skipped as f64 - frames as f64 / 2.0).abs() <= 2.0, "{skipped} of {frames}");
    assert!(filled + 1 >= skipped, "{filled} of {skipped} skipped frames filled");
    assert_eq!(counts[1], (frames, 0, 0), "--pose-hz 0 runs the model on every frame");
    let bad = common::bin().arg("analyze").arg(&clip).arg("--pose-hz=-1").output().expect("run");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--pose-hz"));
}

#[test]
fn a_wrong_model_file_is_named_with_what_is_wrong() {
    let dir = tempfile::tempdir().expect("temp");
    let clip = dir.path().join("x.mp4");
    std::fs::write(&clip, b"unused").expect("write");
    // The detector given as the landmark model: loads, but its inputs are wrong.
    let detector = common::project_dir().join("models").join("pose_detection.onnx");
    let res = common::bin().arg("analyze").arg(&clip).arg("--model").arg(&detector).output().expect("run");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2));
    assert!(stderr.contains("pose_detection.onnx") && stderr.contains("not the BlazePose landmark model"), "{stderr}");
    assert!(stderr.contains("shape"), "{stderr}");
    // A file that is not a model at all.
    let res = common::bin().arg("analyze").arg(&clip).arg("--model").arg(&clip).output().expect("run");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2));
    assert!(stderr.contains("cannot load model") && stderr.contains("x.mp4"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn a_missing_runtime_library_is_reported() {
    let dir = tempfile::tempdir().expect("temp");
    let res = common::bin()
        .arg("analyze")
        .arg(dir.path().join("x.mp4"))
        .arg("--ort-lib")
        .arg(dir.path().join("nowhere.so"))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(2));
    assert!(stderr.contains("ONNX Runtime") && stderr.contains("nowhere.so"), "{stderr}");
}

#[test]
fn report_from_poses_json_equals_the_analyze_report() {
    let Some(clip) = common::clip("posereader_good.mp4") else { return };
    let dir = tempfile::tempdir().expect("temp");
    let res = common::bin().arg("analyze").arg(&clip).arg("-o").arg(dir.path()).arg("-q").output().expect("run");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let out = dir.path().join("posereader_good");
    for name in ["poses.json", "report.json", "reps.csv"] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let again = dir.path().join("again");
    let res =
        common::bin().arg("report").arg(out.join("poses.json")).arg("-o").arg(&again).arg("-q").output().expect("run");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    for name in ["report.json", "reps.csv"] {
        let a = std::fs::read_to_string(out.join(name)).expect("first");
        let b = std::fs::read_to_string(again.join("posereader_good").join(name)).expect("second");
        assert_eq!(a, b, "{name} differs between analyze and report");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("read")).expect("json");
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["reps"].as_array().expect("reps").len(), 1);
    let csv = std::fs::read_to_string(out.join("reps.csv")).expect("csv");
    assert_eq!(csv.lines().count(), 2, "header and one rep: {csv}");
    // A changed threshold changes the result...
    assert!(!report["reps"][0]["faults"].to_string().contains("rounded_lower_back"));
    let strict = dir.path().join("strict");
    let res = common::bin()
        .arg("report")
        .arg(out.join("poses.json"))
        .args(["-o", &strict.display().to_string(), "-q", "--set", "faults.rounded_lower_back.warn_deg=-100"])
        .output()
        .expect("run");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let strict_report = std::fs::read_to_string(strict.join("posereader_good").join("report.json")).expect("read");
    assert!(strict_report.contains("rounded_lower_back"), "a -100 deg warning threshold must flag every back");
    // ...and an unknown key is refused with its name.
    let res = common::bin()
        .arg("report")
        .arg(out.join("poses.json"))
        .args(["-o", &dir.path().join("x").display().to_string(), "--set", "faults.rounded_lower_backk.fault_deg=1"])
        .output()
        .expect("run");
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("faults.rounded_lower_backk"));
}

#[test]
fn config_print_default_is_the_checked_in_file() {
    let res = common::bin().args(["config", "print-default"]).output().expect("run");
    assert!(res.status.success());
    let file = std::fs::read_to_string(common::project_dir().join("src").join("analysis").join("default_config.toml"))
        .expect("file");
    assert_eq!(String::from_utf8_lossy(&res.stdout), file);
}
