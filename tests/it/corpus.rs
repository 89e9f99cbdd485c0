//! Malformed input corpus: `scripts/make_corpus.py` derives 50+ broken files from a real clip
//! (truncations, damaged boxes and frame data, pictures and text named .mp4, audio-only files,
//! absurd header values, timestamp jumps, symlink loops...). A batch over them plus good clips
//! must finish within a time bound without a panic, account for every file in summary.csv (a
//! one-line reason, or a whole set of outputs), leave nothing temporary or half-written behind,
//! and still analyse the good clips. A few files run alone must each give one line naming them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, run_ok};

/// A hang is a failure: the whole batch takes under a minute on two cores.
const BATCH_LIMIT: Duration = Duration::from_secs(300);
const SINGLE_LIMIT: Duration = Duration::from_secs(60);

/// Everything a finished clip folder holds with `--no-video`.
const OUTPUTS: [&str; 5] = ["poses.json", "report.json", "reps.csv", "report.html", "run.json"];

/// Good clips copied into the corpus folder.
const GOOD: [&str; 2] = ["posereader_bad.mp4", "posereader_good.mp4"];

/// Cases that must fail, with a word their error must contain. The rest may fail or give a
/// report (a damaged but decodable clip); either way they must be accounted for.
const MUST_FAIL: [(&str, &str); 30] = [
    ("empty.mp4", "empty"),
    ("trunc_tail_0b.mp4", "empty"),
    ("trunc_fast_0b.mp4", "empty"),
    ("trunc_tail_8b.mp4", "truncated"),
    ("trunc_fast_8b.mp4", "truncated"),
    ("trunc_tail_100b.mp4", "truncated"),
    ("trunc_fast_100b.mp4", "truncated"),
    ("trunc_tail_1pct.mp4", "truncated"),
    ("trunc_tail_10pct.mp4", "truncated"),
    ("trunc_tail_50pct.mp4", "truncated"),
    ("trunc_tail_90pct.mp4", "truncated"),
    ("trunc_tail_99pct.mp4", "truncated"),
    ("trunc_fast_1pct.mp4", "truncated"),
    ("trunc_fast_10pct.mp4", "truncated"),
    ("trunc_fast_50pct.mp4", "truncated"),
    ("png_named.mp4", "PNG picture"),
    ("text_named.mp4", "not a video"),
    ("json_named.mp4", "JSON"),
    ("random_bytes.mp4", "not a video"),
    ("audio_only_aac.mp4", "audio only"),
    ("audio_only_m4a.mp4", "audio only"),
    ("zero_frames.mp4", "no video track"),
    ("absurd_stsz_count_0.mp4", "no frames"),
    ("absurd_stts_count_huge.mp4", "frame count"),
    ("tiny_2x2.mp4", "frame size"),
    ("wide_8208x16.mp4", "frame size"),
    ("time_gap_huge.mp4", "timestamps"),
    ("time_gap_hour.mp4", "timestamps"),
    ("dangling_link.mp4", "broken symbolic link"),
    ("loop_a.mp4", "symbolic links"),
];

/// One line of the corpus manifest.
struct Case {
    name: String,
    /// Picked up from the folder (a video extension, not a folder).
    in_folder: bool,
}

/// Builds the corpus in `dir/corpus` with the good clips beside it, or `None` without clips.
fn corpus(dir: &Path) -> Option<(PathBuf, Vec<Case>)> {
    let clips = common::clips_dir()?;
    let folder = dir.join("corpus");
    let script = common::project_dir().join("scripts").join("make_corpus.py");
    run_ok(Command::new("python3").arg(script).arg(&clips).arg(&folder));
    let manifest = std::fs::read_to_string(folder.join("CORPUS.tsv")).expect("CORPUS.tsv");
    let cases: Vec<Case> = manifest
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "manifest line {l:?}");
            Case { name: cols[0].to_string(), in_folder: cols[1] == "yes" }
        })
        .collect();
    for c in &cases {
        assert!(std::fs::symlink_metadata(folder.join(&c.name)).is_ok(), "{} listed but not made", c.name);
    }
    for g in GOOD {
        std::fs::copy(clips.join(g), folder.join(format!("good_{g}"))).expect("copy good clip");
    }
    Some((folder, cases))
}

/// Runs `cmd` with stdout and stderr in files, killing it after `limit` (then panics: a hang).
fn run_bounded(cmd: &mut Command, logs: &Path, limit: Duration) -> (ExitStatus, String, String) {
    std::fs::create_dir_all(logs).expect("log dir");
    let (out_path, err_path) = (logs.join("stdout"), logs.join("stderr"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("spawn formcheck");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().expect("kill");
            child.wait().expect("reap");
            panic!("{cmd:?} still running after {limit:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).expect("log")).into_owned();
    (status, read(&out_path), read(&err_path))
}

/// Records of a CSV file (RFC 4180: quoted fields may hold commas, quotes and newlines).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted field");
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// summary.csv as maps from the `clip` column: (status, folder, error) of each row.
pub fn summary_rows(out: &Path) -> BTreeMap<String, Vec<(String, String, String)>> {
    let text = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    let rows = parse_csv(&text);
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let (clip, folder, status, error) = (col("clip"), col("folder"), col("status"), col("error"));
    let mut map: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for r in &rows[1..] {
        assert_eq!(r.len(), header.len(), "row with {} fields: {r:?}", r.len());
        map.entry(r[clip].clone()).or_default().push((r[status].clone(), r[folder].clone(), r[error].clone()));
    }
    map
}

/// Every path under `dir` (files and folders), relative, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).expect("under dir").to_string_lossy().into_owned());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

fn assert_no_panic(stderr: &str, what: &str) {
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{what}: panic:\n{stderr}");
}

#[test]
fn a_folder_of_broken_files_fails_each_clearly_and_still_analyses_the_good_clips() {
    let dir = tempfile::tempdir().expect("temp");
    let t0 = Instant::now();
    let Some((folder, cases)) = corpus(dir.path()) else { return };
    assert!(cases.len() >= 50, "corpus has only {} cases", cases.len());
    let made_s = t0.elapsed().as_secs_f64();
    let corpus_before = tree(&folder);
    let out = dir.path().join("out");
    let t1 = Instant::now();
    let (status, _stdout, stderr) = run_bounded(
        common::bin().arg("analyze").arg(&folder).arg("-o").arg(&out).args(["--no-video", "-j", "2"]),
        &dir.path().join("logs"),
        BATCH_LIMIT,
    );
    let batch_s = t1.elapsed().as_secs_f64();
    assert_no_panic(&stderr, "batch");
    assert_eq!(status.code(), Some(1), "some clips failed: exit 1 expected; stderr:\n{stderr}");

    // Nothing was written outside OUT (the logs are this test's own).
    let mut top: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["corpus", "logs", "out"]);
    assert_eq!(tree(&folder), corpus_before, "the input folder changed");

    // Nothing temporary anywhere under OUT.
    let all_out = tree(&out);
    let temporaries: Vec<&String> = all_out
        .iter()
        .filter(|p| {
            let name = Path::new(p).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with(".formcheck-") || name.ends_with(".tmp") || name.contains(".tmp.")
        })
        .collect();
    assert!(temporaries.is_empty(), "temporary files left: {temporaries:?}");

    // Every clip folder is complete, or holds only the failed clip's error record (which
    // `formcheck summarize` reads).
    let rows = summary_rows(&out);
    for entry in std::fs::read_dir(&out).expect("out").flatten() {
        if entry.path().is_dir() {
            let files = tree(&entry.path());
            if files == ["error.json"] {
                let record: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(entry.path().join("error.json")).expect("read"))
                        .expect("error.json is JSON");
                assert!(
                    record["error"].as_str().is_some_and(|e| !e.is_empty()),
                    "{}: empty error",
                    entry.path().display()
                );
                continue;
            }
            let missing: Vec<&str> = OUTPUTS.iter().copied().filter(|f| !entry.path().join(f).is_file()).collect();
            assert!(missing.is_empty(), "{} is a half set: {missing:?} missing", entry.path().display());
        }
    }

    let must_fail: BTreeMap<&str, &str> = MUST_FAIL.iter().copied().collect();
    let (mut failed, mut reports, mut with_warnings) = (Vec::new(), Vec::new(), 0);
    let folder_cases: Vec<&Case> = cases.iter().filter(|c| c.in_folder).collect();
    for case in &folder_cases {
        let input = folder.join(&case.name).display().to_string();
        let Some(clip_rows) = rows.get(&input) else { panic!("{} has no row in summary.csv", case.name) };
        let (status, name, error) = &clip_rows[0];
        if status == "failed" {
            assert_eq!(clip_rows.len(), 1, "{}: one failed row", case.name);
            assert!(!error.trim().is_empty(), "{}: failed without a reason", case.name);
            assert!(!error.contains('\n'), "{}: error over several lines: {error:?}", case.name);
            let line = format!("formcheck: {input}: {error}");
            assert!(stderr.lines().any(|l| l == line), "{}: no stderr line {line:?}:\n{stderr}", case.name);
            if let Some(word) = must_fail.get(case.name.as_str()) {
                assert!(error.contains(word), "{}: error lacks '{word}': {error}", case.name);
            }
            // A failed clip's folder holds only its error record.
            assert!(
                name.is_empty() || !out.join(name).exists() || tree(&out.join(name)) == ["error.json"],
                "{}: failed but left {:?}",
                case.name,
                tree(&out.join(name))
            );
            failed.push(case.name.as_str());
        } else {
            assert!(!must_fail.contains_key(case.name.as_str()), "{} gave a report ({status}), should fail", case.name);
            assert_eq!(status, "ok", "{}", case.name);
            let text = std::fs::read_to_string(out.join(name).join("report.json")).expect("report.json");
            let report: serde_json::Value = serde_json::from_str(&text).expect("report.json is JSON");
            if report["warnings"].as_array().is_some_and(|w| !w.is_empty()) {
                with_warnings += 1;
            }
            reports.push(case.name.as_str());
        }
    }
    for name in must_fail.keys() {
        assert!(folder_cases.iter().any(|c| c.name == *name), "{name} is not in the corpus any more");
    }
    for g in GOOD {
        let input = folder.join(format!("good_{g}")).display().to_string();
        let (status, name, error) = &rows.get(&input).unwrap_or_else(|| panic!("no row for good clip {g}"))[0];
        assert_eq!(status, "ok", "good clip {g}: {error}");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(name).join("report.json")).expect("report")).expect("json");
        assert!(report["reps"].as_array().is_some_and(|r| !r.is_empty()), "good clip {g}: no rep");
    }
    println!(
        "corpus: {} cases ({} in the folder), made in {made_s:.1} s; batch {batch_s:.1} s: {} failed, {} gave a report \
         ({with_warnings} with warnings), plus {} good clips",
        cases.len(),
        folder_cases.len(),
        failed.len(),
        reports.len(),
        GOOD.len()
    );
    println!("reports from damaged files: {reports:?}");
}

#[test]
fn broken_files_given_alone_each_get_one_line_naming_them() {
    let dir = tempfile::tempdir().expect("temp");
    let Some((folder, _)) = corpus(dir.path()) else { return };
    let alone = [
        ("png_named.mp4", "PNG picture"),
        ("trunc_tail_50pct.mp4", "truncated"),
        ("trunc_fast_50pct.mp4", "truncated"),
        ("audio_only_aac.mp4", "audio only"),
        ("hdr_tail_moov_garbage_start.mp4", "index"),
        ("time_gap_huge.mp4", "timestamps"),
        ("folder_named.mp4", "no video files"),
        ("dangling_link.mp4", "broken symbolic link"),
        ("loop_b.mp4", "symbolic links"),
    ];
    for (i, (name, reason)) in alone.iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        let (status, _, stderr) = run_bounded(
            common::bin().arg("analyze").arg(folder.join(name)).arg("-o").arg(&out).arg("--no-video"),
            &dir.path().join(format!("logs{i}")),
            SINGLE_LIMIT,
        );
        assert_no_panic(&stderr, name);
        assert_eq!(status.code(), Some(1), "{name}: exit {:?}; {stderr}", status.code());
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{name}: one line expected: {stderr:?}");
        assert!(lines[0].contains(name) && lines[0].contains(reason), "{name}: '{reason}' expected: {}", lines[0]);
        // Only the batch listings and the failure's own record (a clip's error.json, or
        // input-errors.json for what could not even be listed).
        let stem = Path::new(name).file_stem().expect("stem").to_string_lossy().into_owned();
        let left: Vec<String> = tree(&out)
            .into_iter()
            .filter(|f| !["summary.csv", "index.html", "input-errors.json"].contains(&f.as_str()))
            .filter(|f| *f != format!("{stem}/error.json") && *f != stem)
            .collect();
        assert!(left.is_empty(), "{name}: left {left:?}");
    }
    // A real clip under a wrong extension, named explicitly, is still a clip.
    let out = dir.path().join("out_txt");
    let (status, _, stderr) = run_bounded(
        common::bin().arg("analyze").arg(folder.join("mp4_named.txt")).arg("-o").arg(&out).arg("--no-video"),
        &dir.path().join("logs_txt"),
        SINGLE_LIMIT,
    );
    assert!(status.success(), "mp4_named.txt: {stderr}");
    assert!(out.join("mp4_named").join("report.json").is_file());
}
