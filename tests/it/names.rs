//! Clip names from the wild: spaces, unicode, quotes, HTML, a newline, leading dots and dashes,
//! the same name in two folders, names that differ only in case, and markup in the container's
//! title tag. Every clip must get its own folder directly under OUT, nothing may be written
//! elsewhere, the HTML pages may show the names only escaped, and summary.csv must quote them so
//! that a standard CSV reader gets them back exactly.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{self, run_ok};
use crate::corpus::{summary_rows, tree};

/// Input names relative to the input folder (a `/` is a sub-folder: no file name can hold one).
fn names() -> Vec<&'static str> {
    let mut v = vec![
        "with spaces 1.mp4",
        "Übung 1 — ß.mp4",
        "a\"b'c.mp4",
        "<script>alert(1)</script>.mp4",
        "<img src=x onerror=alert(1)>.mp4",
        "..mp4",
        "-rf.mp4",
        "a,b;c.mp4",
        "a/IMG_0001.mp4",
        "b/IMG_0001.mp4",
        "Clip.mp4",
        "clip.MP4",
    ];
    if cfg!(unix) {
        v.push("line\nbreak.mp4");
    }
    v
}

const TITLE: &str = "<script>alert('title')</script>";

/// Copies of one short real clip under every name, plus one with markup in its title tag.
fn inputs(dir: &Path) -> Option<(PathBuf, Vec<PathBuf>)> {
    let src = common::clip("posereader_bad.mp4")?;
    let folder = dir.join("in");
    let mut made = Vec::new();
    for n in names() {
        let p = folder.join(n);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&src, &p).expect("copy");
        made.push(p);
    }
    let titled = folder.join("title_tag.mp4");
    run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&src)
            .args([
                "-map",
                "0:v:0",
                "-c",
                "copy",
                "-metadata",
                &format!("title={TITLE}"),
                "-metadata",
                &format!("comment={TITLE}"),
            ])
            .arg(&titled),
    );
    made.push(titled);
    Some((folder, made))
}

#[test]
fn odd_clip_names_get_their_own_folders_and_only_escaped_in_pages() {
    let dir = tempfile::tempdir().expect("temp");
    let Some((folder, clips)) = inputs(dir.path()) else { return };
    let before = tree(&folder);
    let out = dir.path().join("out");
    let res = common::bin()
        .arg("analyze")
        .args(["-r", "--no-video", "-q", "-j", "2", "-o"])
        .arg(&out)
        .arg("--")
        .arg(&folder)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(res.status.success(), "{stderr}");

    // Nothing outside OUT; the inputs untouched.
    let mut top: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("e").file_name().to_string_lossy().into())
        .collect();
    top.sort();
    assert_eq!(top, ["in", "out"]);
    assert_eq!(tree(&folder), before);

    // One row per clip, its exact path back from the CSV, and a folder of its own directly in OUT.
    let rows = summary_rows(&out);
    let mut folders = BTreeSet::new();
    for clip in &clips {
        let key = clip.display().to_string();
        let r = rows.get(&key).unwrap_or_else(|| panic!("no row for {key:?}; rows: {:?}", rows.keys()));
        let (status, name, _) = &r[0];
        assert_eq!(status, "ok", "{key:?}");
        assert!(r.iter().all(|(_, n, _)| n == name), "{key:?}: rows name two folders");
        assert!(!name.is_empty() && !name.contains(['/', '\\', '\n']), "{key:?}: folder {name:?}");
        assert!(!name.starts_with(['.', '-']), "{key:?}: folder {name:?} would be hidden or read as an option");
        assert!(out.join(name).join("report.json").is_file(), "{key:?}: {name:?} has no report");
        // Distinct even on a case-insensitive file system.
        assert!(folders.insert(name.to_lowercase()), "{key:?}: folder {name:?} shared");
    }
    let dirs: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_lowercase())
        .collect();
    assert_eq!(dirs.iter().cloned().collect::<BTreeSet<_>>(), folders, "folders in OUT");
    assert_eq!(dirs.len(), clips.len());

    // Python's csv module reads the same clip names back.
    let py = "import csv,json,sys\nprint(json.dumps([r['clip'] for r in csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8'))]))";
    let json = run_ok(Command::new("python3").arg("-c").arg(py).arg(out.join("summary.csv")));
    let from_python: BTreeSet<String> = serde_json::from_slice(&json).expect("python output");
    let expected: BTreeSet<String> = clips.iter().map(|c| c.display().to_string()).collect();
    assert_eq!(from_python, expected);

    // Pages: no live markup from a name or a title tag; the names are there, escaped.
    let mut pages = vec![out.join("index.html")];
    for e in std::fs::read_dir(&out).expect("out").flatten() {
        if e.path().join("report.html").is_file() {
            pages.push(e.path().join("report.html"));
        }
    }
    assert_eq!(pages.len(), clips.len() + 1);
    for page in &pages {
        let html = std::fs::read_to_string(page).expect("page").to_lowercase();
        assert!(!html.contains("<script"), "{}: live <script", page.display());
        assert!(!html.contains("<img src=x"), "{}: live <img", page.display());
        assert!(!html.contains("alert('title')"), "{}: the title tag got in unescaped", page.display());
    }
    let index = std::fs::read_to_string(out.join("index.html")).expect("index");
    assert!(index.contains("&lt;img src=x onerror=alert(1)&gt;.mp4"), "escaped name missing from index.html");
    assert!(index.contains("&lt;script&gt;alert(1)&lt;/script&gt;.mp4"), "escaped name missing from index.html");
    assert!(index.contains("Übung 1 — ß.mp4") && index.contains("a&quot;b&#39;c.mp4"));
    let img_row = &rows[&clips[4].display().to_string()][0];
    let report = std::fs::read_to_string(out.join(&img_row.1).join("report.html")).expect("report.html");
    assert!(report.contains("&lt;img src=x onerror=alert(1)&gt;"), "the name is shown, escaped");

    // A leading dash is a file name after `--`, not an option.
    let out2 = dir.path().join("out2");
    let res = common::bin()
        .current_dir(folder.as_path())
        .args(["analyze", "--no-video", "-q", "-o"])
        .arg(&out2)
        .args(["--", "-rf.mp4"])
        .output()
        .expect("run");
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let made: Vec<String> = tree(&out2).into_iter().filter(|p| p.ends_with("report.json")).collect();
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(!made[0].starts_with('-'), "{made:?}");
}
