//! Folders of clips as a coach uses them: good clips and broken files side by side, every good
//! clip gets all five outputs, the broken ones are rows in summary.csv, a rerun skips what is up
//! to date, the annotated video keeps the input's frames and timing, and a batch killed midway
//! leaves no half-written report file and completes on the next run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, run_ok};

const OUTPUTS: [&str; 5] = ["poses.json", "report.json", "reps.csv", "report.html", "annotated.mp4"];

/// A folder with three short real clips and three broken files.
fn batch_folder(dir: &Path) -> Option<PathBuf> {
    let clips = common::clips_dir()?;
    let folder = dir.join("athlete clips");
    std::fs::create_dir_all(&folder).expect("mkdir");
    for name in ["posereader_good.mp4", "posereader_bad.mp4", "posereader_nico.mp4"] {
        std::fs::copy(clips.join(name), folder.join(name)).expect("copy clip");
    }
    std::fs::write(folder.join("empty.mp4"), b"").expect("write");
    std::fs::write(folder.join("notes.mp4"), "deadlift 180 x 3\n".repeat(50)).expect("write");
    let faststart = dir.join("faststart.mp4");
    run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(clips.join("bichraix_good014.mp4"))
            .args(["-c", "copy", "-movflags", "+faststart"])
            .arg(&faststart),
    );
    let bytes = std::fs::read(&faststart).expect("read");
    std::fs::write(folder.join("cut_short.mp4"), &bytes[..bytes.len() / 2]).expect("write");
    Some(folder)
}

fn frame_count_and_duration(path: &Path) -> (u64, f64) {
    let out = run_ok(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-count_frames",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=nb_read_frames:format=duration",
                "-of",
                "default=nw=1",
            ])
            .arg(path),
    );
    let text = String::from_utf8_lossy(&out);
    let get = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).map(str::trim).unwrap_or("").to_string();
    (get("nb_read_frames=").parse().unwrap_or(0), get("duration=").parse().unwrap_or(0.0))
}

#[test]
fn a_folder_with_bad_files_gives_full_results_for_the_good_clips_and_reruns_skip_them() {
    let dir = tempfile::tempdir().expect("temp");
    let Some(folder) = batch_folder(dir.path()) else { return };
    let out = dir.path().join("out");
    let res = common::bin().arg("analyze").arg(&folder).arg("-o").arg(&out).arg("-j").arg("2").output().expect("run");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "some clips failed: exit 1; stderr {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for name in ["posereader_good", "posereader_bad", "posereader_nico"] {
        for f in OUTPUTS {
            assert!(out.join(name).join(f).is_file(), "{name}/{f} missing");
        }
    }
    let summary = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    for bad in ["empty.mp4", "notes.mp4", "cut_short.mp4"] {
        let row = summary.lines().find(|l| l.contains(bad)).unwrap_or_else(|| panic!("no row for {bad}:\n{summary}"));
        assert!(row.contains(",failed,"), "{row}");
        assert!(!row.trim_end().ends_with(','), "failed row without a reason: {row}");
    }
    assert!(summary.lines().filter(|l| l.contains(",ok,")).count() >= 3, "{summary}");
    let index = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    assert!(index.contains("posereader_good/report.html") && index.contains("failed"), "{index}");

    // The annotated video keeps the input's frames and timing.
    for name in ["posereader_good", "posereader_nico"] {
        let (f_in, d_in) = frame_count_and_duration(&folder.join(format!("{name}.mp4")));
        let (f_out, d_out) = frame_count_and_duration(&out.join(name).join("annotated.mp4"));
        assert_eq!(f_out, f_in, "{name}: frame count");
        assert!((d_out - d_in).abs() < 0.05, "{name}: duration {d_out} vs {d_in}");
    }

    // Second run: everything good is up to date and left alone.
    let before =
        std::fs::metadata(out.join("posereader_good").join("report.json")).and_then(|m| m.modified()).expect("mtime");
    let res = common::bin().arg("analyze").arg(&folder).arg("-o").arg(&out).arg("--json").output().expect("run");
    assert_eq!(res.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&res.stdout).expect("--json output");
    let clips = json["clips"].as_array().expect("clips");
    assert_eq!(clips.iter().filter(|c| c["status"] == "up_to_date").count(), 3, "{json}");
    assert_eq!(json["failed"], 3);
    let after =
        std::fs::metadata(out.join("posereader_good").join("report.json")).and_then(|m| m.modified()).expect("mtime");
    assert_eq!(before, after, "an up-to-date clip was rewritten");
}

#[test]
fn two_clips_with_the_same_name_get_separate_folders_inside_out() {
    let Some(clips) = common::clips_dir() else { return };
    let dir = tempfile::tempdir().expect("temp");
    for sub in ["monday", "friday"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        std::fs::copy(clips.join("posereader_bad.mp4"), dir.path().join(sub).join("IMG_0001.MOV")).expect("copy");
    }
    let out = dir.path().join("out");
    let res = common::bin()
        .arg("analyze")
        .arg(dir.path())
        .arg("-r")
        .arg("--no-video")
        .arg("-q")
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let folders: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(folders.len(), 2, "{folders:?}");
    assert!(folders.iter().all(|f| f.starts_with("IMG_0001-")), "{folders:?}");
}

/// Every file under `dir` whose name is a final output (not a temporary), with its size.
fn report_files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".formcheck-")) {
                out.push((p.clone(), e.metadata().map(|m| m.len()).unwrap_or(0)));
            }
        }
    }
    out
}

#[test]
fn killing_a_batch_midway_leaves_no_partial_files_and_the_rerun_completes_it() {
    let Some(clips) = common::clips_dir() else { return };
    let dir = tempfile::tempdir().expect("temp");
    let folder = dir.path().join("in");
    std::fs::create_dir_all(&folder).expect("mkdir");
    for name in ["bichraix_good014.mp4", "bichraix_good015.mp4", "posereader_nico.mp4"] {
        std::fs::copy(clips.join(name), folder.join(name)).expect("copy");
    }
    let out = dir.path().join("out");
    let mut child = common::bin()
        .arg("analyze")
        .arg(&folder)
        .args(["-j", "1", "-q", "-o"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Kill it once the first clip is done and the second is under way.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) && !out.join("bichraix_good014").join("run.json").is_file() {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().expect("kill");
    child.wait().expect("wait");
    // Whatever exists is whole: JSON parses, the video plays to its end.
    for (path, size) in report_files(&out) {
        assert!(size > 0, "empty {}", path.display());
        if path.extension().is_some_and(|e| e == "json") {
            let bytes = std::fs::read(&path).expect("read");
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("{} is cut: {e}", path.display()));
        }
    }
    assert!(!out.join("summary.csv").exists(), "the batch did not finish, so there is no summary yet");
    let res = common::bin().arg("analyze").arg(&folder).args(["-q", "--json", "-o"]).arg(&out).output().expect("rerun");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let json: serde_json::Value = serde_json::from_slice(&res.stdout).expect("json");
    let statuses: Vec<&str> =
        json["clips"].as_array().expect("clips").iter().map(|c| c["status"].as_str().unwrap_or("")).collect();
    assert_eq!(statuses.len(), 3);
    assert!(statuses.contains(&"up_to_date"), "the finished clip is kept: {statuses:?}");
    for name in ["bichraix_good014", "bichraix_good015", "posereader_nico"] {
        for f in OUTPUTS {
            assert!(out.join(name).join(f).is_file(), "{name}/{f} missing after the rerun");
        }
    }
}
