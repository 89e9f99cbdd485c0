//! Big batches split into shards (`analyze --shard I/N`) run as separate processes, as a cluster
//! runs them, then merged with `summarize`: the shards share the clips out exactly once each, and
//! the merged summary.csv and index.html are byte for byte those of a single run, whether the
//! shards wrote into one shared folder or into folders of their own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Instant;

use crate::common;

/// Short real clips, two of them with the same file name in different folders, and an empty file.
fn batch_folder(dir: &Path) -> Option<PathBuf> {
    let clips = common::clips_dir()?;
    let folder = dir.join("clips");
    for sub in ["monday", "friday"] {
        std::fs::create_dir_all(folder.join(sub)).expect("mkdir");
    }
    for name in ["posereader_bad.mp4", "posereader_good.mp4", "bichraix_bad013_hyperextend.mp4", "bichraix_good015.mp4"]
    {
        std::fs::copy(clips.join(name), folder.join(name)).expect("copy clip");
    }
    std::fs::copy(clips.join("posereader_bad.mp4"), folder.join("monday").join("IMG_0001.mp4")).expect("copy");
    std::fs::copy(clips.join("posereader_good.mp4"), folder.join("friday").join("IMG_0001.mp4")).expect("copy");
    std::fs::write(folder.join("bad.mp4"), b"").expect("write");
    Some(folder)
}

fn analyze(clips: &Path, out: &Path, extra: &[&str]) -> std::process::Command {
    let mut cmd = common::bin();
    cmd.arg("analyze").arg(clips).args(["-r", "--no-video", "--json", "-q"]).args(extra).arg("-o").arg(out);
    cmd
}

/// The inputs a run's `--json` summary lists; the run must have ended with "some clips failed".
fn inputs_of(res: &Output) -> BTreeSet<String> {
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    json["clips"].as_array().expect("clips").iter().map(|c| c["input"].as_str().expect("input").to_string()).collect()
}

/// Runs shards 0..n as parallel processes into `outs[i]` (all the same folder, or one each).
fn run_shards(clips: &Path, outs: &[PathBuf]) -> Vec<Output> {
    let n = outs.len();
    let children: Vec<Child> = outs
        .iter()
        .enumerate()
        .map(|(i, out)| {
            analyze(clips, out, &["-j", "1", "--shard", &format!("{i}/{n}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn shard")
        })
        .collect();
    children.into_iter().map(|c| c.wait_with_output().expect("shard")).collect()
}

fn summarize(outs: &[&Path], merged: Option<&Path>) -> Output {
    let mut cmd = common::bin();
    cmd.arg("summarize").args(outs);
    if let Some(m) = merged {
        cmd.arg("-o").arg(m);
    }
    cmd.output().expect("run summarize")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts that `out` holds the single run's summary.csv and index.html, byte for byte.
fn assert_same_summary(single: &Path, out: &Path, what: &str) {
    for file in ["summary.csv", "index.html"] {
        let (a, b) = (read(&single.join(file)), read(&out.join(file)));
        assert!(a == b, "{what}: {file} differs from the single run's\n--- single\n{a}\n--- {what}\n{b}");
    }
}

/// The folders `index.html` links to must hold a report.
fn assert_links_resolve(out: &Path) {
    let index = read(&out.join("index.html"));
    let links: Vec<&str> = index.split("<a href=\"").skip(1).filter_map(|s| s.split('"').next()).collect();
    assert!(!links.is_empty(), "{index}");
    for link in links {
        assert!(out.join(link).is_file(), "{}: broken link {link}", out.display());
    }
}

#[test]
fn three_shards_partition_the_batch_and_merge_to_the_single_run_summary() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp");
    let Some(clips) = batch_folder(dir.path()) else { return };

    // One machine.
    let single = dir.path().join("single");
    let res = analyze(&clips, &single, &["-j", "2"]).output().expect("run");
    assert_eq!(res.status.code(), Some(1), "bad.mp4 fails: {}", String::from_utf8_lossy(&res.stderr));
    let all = inputs_of(&res);
    assert_eq!(all.len(), 7, "{all:?}");
    let summary = read(&single.join("summary.csv"));
    assert_eq!(summary.lines().filter(|l| l.contains(",failed,")).count(), 1, "{summary}");
    assert!(summary.lines().any(|l| l.starts_with(&format!("{},bad,failed,", clips.join("bad.mp4").display()))));

    // Three shards writing into one shared folder, as on a cluster with a shared file system.
    let shared = dir.path().join("shared");
    let results = run_shards(&clips, &[shared.clone(), shared.clone(), shared.clone()]);
    let parts: Vec<BTreeSet<String>> = results.iter().map(inputs_of).collect();
    let mut union = BTreeSet::new();
    for (i, part) in parts.iter().enumerate() {
        for input in part {
            assert!(union.insert(input.clone()), "{input} is in two shards (shard {i}): {parts:?}");
        }
    }
    assert_eq!(union, all, "the shards together are the batch");
    assert!(parts.iter().filter(|p| !p.is_empty()).count() >= 2, "one shard took everything: {parts:?}");
    let res = summarize(&[&shared], None);
    assert_eq!(res.status.code(), Some(1), "a failed clip: exit 1; {}", String::from_utf8_lossy(&res.stderr));
    assert_same_summary(&single, &shared, "shards into one folder");
    assert_links_resolve(&shared);

    // Three shards each with its own folder, merged into a fourth.
    let own: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("shard{i}"))).collect();
    let results = run_shards(&clips, &own);
    let parts_again: Vec<BTreeSet<String>> = results.iter().map(inputs_of).collect();
    assert_eq!(parts_again, parts, "the same split on every run");
    let merged = dir.path().join("merged");
    let refs: Vec<&Path> = own.iter().map(PathBuf::as_path).collect();
    let res = summarize(&refs, Some(&merged));
    assert_eq!(res.status.code(), Some(1), "{}", String::from_utf8_lossy(&res.stderr));
    assert_same_summary(&single, &merged, "shards merged with summarize -o");
    assert_links_resolve(&merged);
    // The merged folder is a batch output in its own right.
    let again = dir.path().join("again");
    let res = summarize(&[&merged], Some(&again));
    assert_eq!(res.status.code(), Some(1));
    assert_same_summary(&single, &again, "a merged folder merged again");

    // A rerun that skips every clip as up to date writes the same summary: status is the result.
    let before = read(&single.join("summary.csv"));
    let res = analyze(&clips, &single, &[]).output().expect("rerun");
    let json: serde_json::Value = serde_json::from_slice(&res.stdout).expect("json");
    let skipped = json["clips"].as_array().expect("clips").iter().filter(|c| c["status"] == "up_to_date").count();
    assert_eq!(skipped, 6, "{json}");
    assert_eq!(read(&single.join("summary.csv")), before, "a rerun changed summary.csv");
    eprintln!("shard test: {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn a_failed_clip_that_later_succeeds_is_listed_as_ok_by_summarize() {
    let Some(good) = common::clip("posereader_bad.mp4") else { return };
    let dir = tempfile::tempdir().expect("temp");
    let clip = dir.path().join("lift.mp4");
    std::fs::write(&clip, b"").expect("write");
    let out = dir.path().join("out");
    let res = analyze(&clip, &out, &[]).output().expect("run");
    assert_eq!(res.status.code(), Some(1));
    let record: serde_json::Value = serde_json::from_str(&read(&out.join("lift").join("error.json"))).expect("json");
    assert_eq!(record["input"], clip.display().to_string());
    assert!(record["error"].as_str().is_some_and(|e| e.contains("empty")), "{record}");
    let res = summarize(&[&out], None);
    assert_eq!(res.status.code(), Some(1));
    assert!(read(&out.join("summary.csv")).contains(",lift,failed,"));

    std::fs::copy(&good, &clip).expect("replace with a real clip");
    let res = analyze(&clip, &out, &[]).output().expect("run");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(!out.join("lift").join("error.json").exists(), "the stale error record was kept");
    let fresh = read(&out.join("summary.csv"));
    let res = summarize(&[&out], None);
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert_eq!(read(&out.join("summary.csv")), fresh);
    assert!(fresh.contains(",lift,ok,"), "{fresh}");
}

#[test]
fn bad_shard_values_are_refused_before_any_work() {
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("out");
    for (value, says) in [("3/3", "0 to 2"), ("0/0", "at least 1"), ("1", "I/N"), ("-1/3", "I/N"), ("a/b", "I/N")] {
        let res = common::bin()
            .arg("analyze")
            .arg(dir.path())
            .arg(format!("--shard={value}"))
            .arg("-o")
            .arg(&out)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(2), "--shard {value}: {stderr}");
        assert!(stderr.contains(says) && stderr.contains("--shard"), "--shard {value}: {stderr}");
        assert!(!out.exists(), "--shard {value} wrote output");
    }
    // Several outputs and nowhere to merge them.
    let res = summarize(&[dir.path(), dir.path()], None);
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("-o DIR"));
}
