//! Merging batch outputs: `formcheck summarize OUT... [-o DIR]` rebuilds `summary.csv` and
//! `index.html` from the clip folders that one or more `analyze` runs (shards) left, byte for byte
//! what a single run over the same inputs writes.
//!
//! - A clip folder is read from disk only: `run.json` (the input) with `report.json` (the
//!   findings) for a clip that succeeded, `error.json` for one that failed. A `run.json` whose
//!   `report.json` cannot be read is a failed row; a folder with neither record (an interrupted
//!   clip, or not a clip at all) is left out with a note. Folders starting with `.` are ignored.
//! - The same folder name in two outputs is one clip analysed twice: the newer record (by the
//!   modification time of `run.json`/`error.json`) wins, with a note; two different records of
//!   the same time are an error, since neither can be preferred.
//! - Merging into a folder that is not where a clip's folder lies brings the clip folder over
//!   (hard links where the file system allows, else copies keeping modification times), so the
//!   links in `index.html` (`<folder>/report.html`) work and the merged folder can be summarised
//!   again. Nothing is ever half-written: each file is placed under a temporary name and renamed.
//! - Whatever a folder holds is listed, so a folder reused across batches lists them all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::batch::{self, ClipListing, ErrorRecord, Findings, Stamp};
use crate::support::output::write_atomic;

/// Why a merge could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SummarizeError {
    /// An output folder given could not be listed.
    #[error("cannot list {}: {source}", path.display())]
    ListOut { path: PathBuf, source: std::io::Error },
    /// Two outputs hold different results for one clip folder, written at the same moment.
    #[error("{name}: different results in {} and {}, written at the same time; remove one", first.display(), second.display())]
    Duplicate { name: String, first: PathBuf, second: PathBuf },
    /// No clip results in any of the folders given.
    #[error("no clip results (run.json, error.json) in {}", outs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NothingFound { outs: Vec<PathBuf> },
    /// A file of the merged output could not be written.
    #[error("writing {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// One clip's result and where its folder lies.
#[derive(Debug, Clone)]
pub struct ClipSource {
    pub listing: ClipListing,
    pub dir: PathBuf,
    /// When its record (`run.json` or `error.json`) was written.
    pub written: SystemTime,
}

/// Everything found in the outputs, one entry per clip folder name.
#[derive(Debug, Default)]
pub struct Gathered {
    pub clips: Vec<ClipSource>,
    /// Inputs that could not be listed, from each output's `input-errors.json`.
    pub input_problems: Vec<ErrorRecord>,
    /// Lines for the user: folders left out, duplicates resolved.
    pub notes: Vec<String>,
}

impl Gathered {
    /// The listings, as `summary.csv` and `index.html` take them.
    pub fn listings(&self) -> Vec<ClipListing> {
        self.clips
            .iter()
            .map(|c| c.listing.clone())
            .chain(self.input_problems.iter().map(ClipListing::input_problem))
            .collect()
    }
}

/// What one clip folder says about its clip.
#[derive(Debug)]
pub enum FolderState {
    Listed(ClipSource),
    /// No record: not a clip folder, or a clip that was interrupted. Why, in words.
    NoResults(String),
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Reads one clip folder (`dir` = OUT/<folder>).
pub fn read_clip_folder(dir: &Path) -> FolderState {
    let folder = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let error_path = dir.join(ErrorRecord::FILE);
    let stamp_path = dir.join(Stamp::FILE);
    let listed = |input: String, result: Result<Findings, String>, record: &Path| {
        FolderState::Listed(ClipSource {
            listing: ClipListing { input, folder: Some(folder.clone()), result },
            dir: dir.to_path_buf(),
            written: modified(record),
        })
    };
    if error_path.is_file() {
        return match std::fs::read(&error_path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<ErrorRecord>(&b).map_err(|e| e.to_string()))
        {
            Ok(r) => listed(r.input, Err(r.error), &error_path),
            Err(e) => FolderState::NoResults(format!("unreadable {}: {e}", ErrorRecord::FILE)),
        };
    }
    if !stamp_path.is_file() {
        return FolderState::NoResults("no run.json or error.json (not a clip folder, or a clip not finished)".into());
    }
    let stamp = match std::fs::read(&stamp_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<Stamp>(&b).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => return FolderState::NoResults(format!("unreadable {}: {e}", Stamp::FILE)),
    };
    let findings = std::fs::read(dir.join("report.json"))
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<Findings>(&b).map_err(|e| e.to_string()))
        .map_err(|e| format!("unreadable report.json: {e}"));
    listed(stamp.input, findings, &stamp_path)
}

/// Reads every clip folder in `outs`, resolving folders present in more than one.
pub fn gather(outs: &[PathBuf]) -> Result<Gathered, SummarizeError> {
    let mut found = Gathered::default();
    let mut by_name: BTreeMap<String, ClipSource> = BTreeMap::new();
    let mut problems: Vec<ErrorRecord> = Vec::new();
    for out in outs {
        let entries = std::fs::read_dir(out).map_err(|source| SummarizeError::ListOut { path: out.clone(), source })?;
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        dirs.sort();
        for dir in dirs {
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.starts_with('.') {
                continue;
            }
            let clip = match read_clip_folder(&dir) {
                FolderState::Listed(c) => c,
                FolderState::NoResults(why) => {
                    found.notes.push(format!("{}: left out: {why}", dir.display()));
                    continue;
                }
            };
            match by_name.remove(&name) {
                None => {
                    by_name.insert(name, clip);
                }
                Some(old) => {
                    let kept = pick(&name, old, clip, &mut found.notes)?;
                    by_name.insert(name, kept);
                }
            }
        }
        let inputs = out.join(ErrorRecord::INPUTS_FILE);
        if inputs.is_file() {
            match std::fs::read(&inputs)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Vec<ErrorRecord>>(&b).map_err(|e| e.to_string()))
            {
                Ok(records) => problems.extend(records),
                Err(e) => found.notes.push(format!("{}: left out: {e}", inputs.display())),
            }
        }
    }
    problems.sort_by(|a, b| (&a.input, &a.error).cmp(&(&b.input, &b.error)));
    problems.dedup();
    found.clips = by_name.into_values().collect();
    found.input_problems = problems;
    if found.clips.is_empty() && found.input_problems.is_empty() {
        return Err(SummarizeError::NothingFound { outs: outs.to_vec() });
    }
    Ok(found)
}

/// One of two records of the same clip folder.
fn pick(name: &str, a: ClipSource, b: ClipSource, notes: &mut Vec<String>) -> Result<ClipSource, SummarizeError> {
    let same_dir = match (std::fs::canonicalize(&a.dir), std::fs::canonicalize(&b.dir)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    };
    if same_dir {
        return Ok(a);
    }
    if a.written == b.written {
        if a.listing == b.listing {
            return Ok(a);
        }
        return Err(SummarizeError::Duplicate { name: name.to_string(), first: a.dir, second: b.dir });
    }
    let (newer, older) = if b.written > a.written { (b, a) } else { (a, b) };
    notes.push(format!(
        "{name}: in {} and {}; using the newer, {}",
        older.dir.display(),
        newer.dir.display(),
        newer.dir.display()
    ));
    Ok(newer)
}

/// Writes the merged batch into `dest`: each clip folder that lies elsewhere is brought in, then
/// `input-errors.json`, `summary.csv` and `index.html`. Returns the listings written.
pub fn write_merged(found: &Gathered, dest: &Path) -> Result<Vec<ClipListing>, SummarizeError> {
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SummarizeError::Write { path, source }
    };
    std::fs::create_dir_all(dest).map_err(write_err(dest))?;
    for clip in &found.clips {
        let Some(folder) = &clip.listing.folder else { continue };
        let target = dest.join(folder);
        let same = match (std::fs::canonicalize(&clip.dir), std::fs::canonicalize(&target)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        };
        if !same {
            bring_folder(&clip.dir, &target, clip.listing.failed()).map_err(write_err(&target))?;
        }
    }
    ErrorRecord::write_inputs(dest, &found.input_problems).map_err(write_err(&dest.join(ErrorRecord::INPUTS_FILE)))?;
    let listings = found.listings();
    let csv = dest.join("summary.csv");
    write_atomic(&csv, batch::summary_csv(&listings).as_bytes()).map_err(write_err(&csv))?;
    let index = dest.join("index.html");
    write_atomic(&index, batch::index_html(&listings).as_bytes()).map_err(write_err(&index))?;
    Ok(listings)
}

/// Makes `dst` hold the files of clip folder `src`, its record last (as `analyze` writes them).
fn bring_folder(src: &Path, dst: &Path, failed: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    let (record, other) = if failed { (ErrorRecord::FILE, Stamp::FILE) } else { (Stamp::FILE, ErrorRecord::FILE) };
    // The record that no longer holds goes first: the folder is never "done" with stale files.
    batch::remove_if_present(&dst.join(other))?;
    batch::remove_if_present(&dst.join(record))?;
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(src)?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name())
        .filter(|n| {
            let n = n.to_string_lossy();
            !n.starts_with(".formcheck-") && n != ErrorRecord::FILE && n != Stamp::FILE
        })
        .collect();
    names.sort();
    for name in names {
        place(&src.join(&name), &dst.join(&name))?;
    }
    place(&src.join(record), &dst.join(record))
}

/// Puts a copy of `src` at `dst` atomically: a hard link where possible, else a copy with the
/// same modification time. An identical file already there (same size and time) is kept.
fn place(src: &Path, dst: &Path) -> std::io::Result<()> {
    let meta = std::fs::metadata(src)?;
    let mtime = meta.modified()?;
    if let Ok(old) = std::fs::metadata(dst) {
        if old.len() == meta.len() && old.modified().ok() == Some(mtime) {
            return Ok(());
        }
    }
    let dir = dst.parent().unwrap_or(Path::new("."));
    let tmp =
        tempfile::Builder::new().prefix(".formcheck-").suffix(".tmp").make_in(dir, |path| match std::fs::hard_link(
            src, path,
        ) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
            Err(_) => {
                std::fs::copy(src, path)?;
                std::fs::File::options().write(true).open(path)?.set_modified(mtime)
            }
        })?;
    tmp.persist(dst).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const REPORT: &str = r#"{"reliable": true, "warnings": [{"code": "w1", "message": "m"}], "extra": 1,
        "reps": [{"index": 1, "floor_break_s": 1.23456, "lockout_s": 2.0, "metrics": {"concentric_s": 0.8,
        "lumbar_flexion_setup_deg": null, "hip_shoulder_rise_ratio": 1.1, "mean_concentric_speed_torso_per_s": 0.5},
        "faults": [{"code": "rounded_lower_back", "severity": "fault"}]}], "set": {"faults": []}}"#;

    fn ok_folder(out: &Path, name: &str, input: &str) -> PathBuf {
        let dir = out.join(name);
        write_atomic(&dir.join("report.json"), REPORT.as_bytes()).expect("write");
        write_atomic(&dir.join("report.html"), b"<html>").expect("write");
        let stamp = Stamp {
            input: input.into(),
            input_bytes: 1,
            input_modified_ns: 1,
            config_toml: String::new(),
            formcheck_version: String::new(),
            video: false,
        };
        stamp.write(&dir).expect("stamp");
        dir
    }

    fn set_time(path: &Path, secs: u64) {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        std::fs::File::options().write(true).open(path).expect("open").set_modified(t).expect("set time");
    }

    #[test]
    fn folders_read_as_ok_failed_or_left_out() {
        let tmp = tempfile::tempdir().expect("temp");
        let out = tmp.path();
        ok_folder(out, "good", "clips/good.mp4");
        ErrorRecord { input: "clips/bad.mp4".into(), error: "cannot decode".into() }
            .write(&out.join("bad"))
            .expect("write");
        let broken = ok_folder(out, "broken", "clips/broken.mp4");
        std::fs::write(broken.join("report.json"), b"{not json").expect("write");
        std::fs::create_dir_all(out.join("stray")).expect("mkdir");
        std::fs::create_dir_all(out.join(".hidden")).expect("mkdir");
        let found = gather(&[out.to_path_buf()]).expect("gather");
        let by: BTreeMap<_, _> =
            found.clips.iter().map(|c| (c.listing.folder.clone().unwrap_or_default(), &c.listing)).collect();
        assert_eq!(by.keys().collect::<Vec<_>>(), ["bad", "broken", "good"]);
        assert_eq!(by["good"].input, "clips/good.mp4");
        assert_eq!(by["good"].result.as_ref().map(|f| f.reps.len()), Ok(1));
        assert_eq!(by["bad"].result, Err("cannot decode".to_string()));
        assert!(by["broken"].result.as_ref().is_err_and(|e| e.contains("report.json")), "{:?}", by["broken"]);
        assert_eq!(found.notes.len(), 1, "{:?}", found.notes);
        assert!(found.notes[0].contains("stray"));
        let csv = batch::summary_csv(&found.listings());
        assert!(
            csv.contains("clips/good.mp4,good,ok,1,1.235,2.000,0.800,,1.100,0.500,rounded_lower_back:fault,w1,\n"),
            "{csv}"
        );
        assert!(csv.contains("clips/bad.mp4,bad,failed,,,,,,,,,,cannot decode\n"), "{csv}");
    }

    #[test]
    fn a_clip_in_two_outputs_takes_the_newer_and_a_tie_with_different_results_fails() {
        let tmp = tempfile::tempdir().expect("temp");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        let old = ok_folder(&a, "clip", "clips/clip.mp4");
        ErrorRecord { input: "clips/clip.mp4".into(), error: "boom".into() }.write(&b.join("clip")).expect("write");
        set_time(&old.join(Stamp::FILE), 1_000);
        set_time(&b.join("clip").join(ErrorRecord::FILE), 2_000);
        for outs in [[a.clone(), b.clone()], [b.clone(), a.clone()]] {
            let found = gather(&outs).expect("gather");
            assert_eq!(found.clips.len(), 1);
            assert_eq!(found.clips[0].listing.result, Err("boom".to_string()), "the newer record wins");
            assert_eq!(found.notes.len(), 1, "{:?}", found.notes);
        }
        set_time(&b.join("clip").join(ErrorRecord::FILE), 1_000);
        assert!(matches!(gather(&[a, b]), Err(SummarizeError::Duplicate { .. })));
    }

    #[test]
    fn merging_into_another_folder_brings_the_clip_folders_and_swaps_records() {
        let tmp = tempfile::tempdir().expect("temp");
        let (a, m) = (tmp.path().join("a"), tmp.path().join("m"));
        ok_folder(&a, "clip", "clips/clip.mp4");
        // An older failed record of the same clip in the destination must not survive.
        ErrorRecord { input: "clips/clip.mp4".into(), error: "old".into() }.write(&m.join("clip")).expect("write");
        set_time(&m.join("clip").join(ErrorRecord::FILE), 1_000);
        let found = gather(&[a.clone(), m.clone()]).expect("gather");
        let listings = write_merged(&found, &m).expect("merge");
        assert_eq!(listings.len(), 1);
        assert!(m.join("clip").join("report.html").is_file() && m.join("clip").join(Stamp::FILE).is_file());
        assert!(!m.join("clip").join(ErrorRecord::FILE).exists());
        let again = gather(std::slice::from_ref(&m)).expect("gather merged");
        assert_eq!(again.listings(), listings, "the merged folder summarises to the same");
        let leftovers: Vec<_> = std::fs::read_dir(m.join("clip"))
            .expect("list")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".formcheck-"))
            .collect();
        assert!(leftovers.is_empty());
        // Merging again changes nothing and leaves no temporaries.
        write_merged(&gather(&[a, m.clone()]).expect("gather"), &m).expect("merge again");
        assert_eq!(std::fs::read_dir(m.join("clip")).expect("list").count(), 3);
    }

    #[test]
    fn no_results_anywhere_is_an_error() {
        let tmp = tempfile::tempdir().expect("temp");
        assert!(matches!(gather(&[tmp.path().to_path_buf()]), Err(SummarizeError::NothingFound { .. })));
        assert!(matches!(gather(&[tmp.path().join("missing")]), Err(SummarizeError::ListOut { .. })));
    }
}
