//! The layering of `src/` is checked, not just described: every `crate::...` path in a module of
//! one stage must name a stage that stage may use (see `src/lib.rs`). `testkit` is left out on
//! both sides: it may use anything, and the product can reach it only from its own tests, since a
//! build without the `testkit` feature has no `testkit` module to reach.

use std::path::{Path, PathBuf};

use crate::common::project_dir;

/// Each stage and the stages its code may name (itself included).
const MAY_USE: &[(&str, &[&str])] = &[
    ("support", &["support"]),
    ("posetrack", &["support", "posetrack"]),
    ("capture", &["support", "posetrack", "capture"]),
    ("analysis", &["support", "posetrack", "analysis"]),
    ("present", &["support", "posetrack", "capture", "analysis", "present"]),
    ("batch", &["support", "posetrack", "capture", "analysis", "present", "batch"]),
    ("serve", &["support", "posetrack", "capture", "analysis", "present", "batch", "serve"]),
    ("cli", &["support", "posetrack", "capture", "analysis", "present", "batch", "serve", "cli"]),
];

/// The stage a source file belongs to: its first folder under `src/`; `None` for the crate root
/// files and for `testkit`.
fn stage_of(relative: &Path) -> Option<&'static str> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let first = first.strip_suffix(".rs").unwrap_or(first);
    MAY_USE.iter().map(|(s, _)| *s).find(|s| *s == first)
}

/// The top-level modules a line of code names through `crate::` (`crate::a::b`, and each of
/// `crate::{a, b::c}`); comments are skipped.
fn crate_roots(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut roots = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            roots.extend(inner.split(',').filter_map(|item| ident_at(item.trim())));
        } else if let Some(root) = ident_at(rest) {
            roots.push(root);
        }
    }
    roots
}

fn ident_at(s: &str) -> Option<String> {
    let ident: String = s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!ident.is_empty()).then_some(ident)
}

/// Every use of a stage the file's stage may not use, as "file:line: stage -> used".
fn violations(relative: &Path, text: &str) -> Vec<String> {
    let Some(stage) = stage_of(relative) else { return Vec::new() };
    let allowed = MAY_USE.iter().find(|(s, _)| *s == stage).map(|(_, a)| *a).unwrap_or(&[]);
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for root in crate_roots(line) {
            let is_stage = MAY_USE.iter().any(|(s, _)| *s == root);
            if is_stage && !allowed.contains(&root.as_str()) {
                out.push(format!("src/{}:{}: {stage} -> {root}", relative.display(), n + 1));
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_uses_only_earlier_stages() {
    let src = project_dir().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut staged = 0;
    let mut bad = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(&src).expect("under src");
        staged += stage_of(relative).is_some() as usize;
        bad.extend(violations(relative, &std::fs::read_to_string(path).expect("readable")));
    }
    // The stages are folders that exist: a rename that left every file stage-less would pass.
    assert!(staged >= 30, "only {staged} files found in stage folders under {}", src.display());
    assert!(bad.is_empty(), "modules reaching a stage they may not use:\n{}", bad.join("\n"));
}

#[test]
fn a_wrong_import_is_caught() {
    let analysis = Path::new("analysis/kinematics.rs");
    assert_eq!(
        violations(analysis, "use crate::capture::video::VideoInfo;\n"),
        vec!["src/analysis/kinematics.rs:1: analysis -> capture"]
    );
    assert_eq!(
        violations(analysis, "use crate::{posetrack::PoseTrack, cli::main};"),
        vec!["src/analysis/kinematics.rs:1: analysis -> cli"]
    );
    assert_eq!(
        violations(Path::new("present/html/mod.rs"), "    let x = crate::cli::main();")[0],
        "src/present/html/mod.rs:1: present -> cli"
    );
    assert_eq!(violations(Path::new("capture/bar/mod.rs"), "use crate::analysis::config::BarConfig;").len(), 1);
    // What is allowed, and what is not code.
    assert!(violations(analysis, "use crate::posetrack::layout::joint;\nuse crate::analysis::signal;").is_empty());
    assert!(violations(analysis, "// see crate::capture::video for the decoder").is_empty());
    assert!(violations(Path::new("cli/mod.rs"), "use crate::capture::pipeline;").is_empty());
}
