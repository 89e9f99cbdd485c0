//! Batches: many clips in, one folder per clip out, plus a summary for the whole batch.
//!
//! - Inputs are files and folders (folders list their video files, recursively on request).
//! - Each clip gets `OUT/<name>/`, where `<name>` is the file stem made safe (no path separators,
//!   no leading dots or dashes, no control characters) and made unique when two clips share a stem (two
//!   `IMG_0001.MOV` from different folders) by a short hash of the clip's full path. A name can
//!   never point outside `OUT`.
//! - A clip is up to date when its `run.json` stamp matches the input (size, modification time),
//!   the configuration and formcheck's version, and all its outputs exist; it is then skipped.
//!   The stamp is written last, so an interrupted clip is redone. A clip that failed leaves
//!   `error.json` (input and error) in its folder instead of a stamp, so a folder says on its own
//!   how its clip ended.
//! - A batch can be split into shards (`I/N`, I from 0) run on separate machines: a clip belongs
//!   to the shard its folder name hashes to, so the split depends neither on argument order nor on
//!   the machine, and folder names are planned over the whole batch first.
//! - `summary.csv` has one row per rep per clip and one row per failed clip with its error;
//!   `index.html` links every clip's report with its headline findings. Both are built from
//!   [`ClipListing`]s, which hold only what `report.json`/`run.json`/`error.json` hold, sorted by
//!   folder name: so a fresh run, a rerun that skips up-to-date clips, and a merge of shard
//!   outputs (`formcheck summarize`) write the same bytes. For that reason the summary's status is
//!   the clip's result (`ok`, `failed`), not what this run did to it (the terminal and `--json`
//!   say which clips were skipped as up to date).
//!
//! `run` takes one clip start to finish into its folder, for the command line and the server alike.
//!
//! May use: `capture` (to run a clip), `analysis`, `present`, `posetrack`, `support`. Never `cli`
//! or `serve`, the front ends.

mod listing;
pub mod run;
pub mod summarize;

pub use listing::{
    headline, index_html, summary_csv, ClipListing, FindingLine, Findings, RepLine, RepLineMetrics, SetLine,
    WarningCode,
};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analysis::report::Report;
use crate::support::output::write_atomic;

/// Video file extensions picked up from folders (case-insensitive).
pub const VIDEO_EXTENSIONS: [&str; 6] = ["mp4", "mov", "m4v", "avi", "mkv", "webm"];

/// One clip to analyse and where its outputs go.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipJob {
    pub input: PathBuf,
    /// Folder name under OUT.
    pub name: String,
    pub out_dir: PathBuf,
}

/// How one clip ended.
#[derive(Debug, Clone)]
pub enum ClipOutcome {
    /// Analysed now, or skipped as up to date (`skipped`); the report as written.
    Done {
        job: ClipJob,
        report: Box<Report>,
        skipped: bool,
    },
    Failed {
        input: PathBuf,
        name: Option<String>,
        error: String,
    },
}

/// Clips run at once unless told otherwise: one per core. A clip's decoding, pose and plate
/// threads overlap but keep about 1.3 cores busy, so one per two cores left a third of the
/// machine idle (12 dev clips on 2 cores: 54-61 s at two at once, 80-82 s at one).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Files given directly are taken as they are (a bad one fails as a clip); folders contribute
/// their video files, sorted. A file reached twice (named twice, or through a folder and by name)
/// is analysed once: two jobs would write the same folder at the same time. Returns the clips,
/// and paths that could not be listed with why.
pub fn collect_inputs(paths: &[PathBuf], recursive: bool) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut clips = Vec::new();
    let mut problems = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            match list_videos(p, recursive, &mut found, 0) {
                Err(e) => problems.push((p.clone(), format!("cannot list folder: {e}"))),
                Ok(()) if found.is_empty() => problems.push((p.clone(), "folder holds no video files".to_string())),
                Ok(()) => {}
            }
            found.sort();
            clips.extend(found);
        } else {
            clips.push(p.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    clips.retain(|c| seen.insert(std::fs::canonicalize(c).unwrap_or_else(|_| c.clone())));
    (clips, problems)
}

fn list_videos(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    // Folder symlink loops stop at a fixed depth.
    if depth > 32 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if recursive {
                list_videos(&path, recursive, out, depth + 1)?;
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|v| v.eq_ignore_ascii_case(e)))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// A file stem made safe as a single folder name: not hidden (leading dots), not taken for an
/// option by a shell command run in OUT (`rm *` with a folder called `-rf`).
pub fn safe_name(input: &Path) -> String {
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let cleaned: String =
        stem.chars().map(|c| if c.is_control() || matches!(c, '/' | '\\' | ':' | '\0') { '_' } else { c }).collect();
    let trimmed = cleaned.trim().trim_start_matches(['.', '-']).trim().to_string();
    if trimmed.is_empty() || trimmed == ".." {
        "clip".to_string()
    } else {
        trimmed.chars().take(120).collect()
    }
}

/// Short stable hash of a path (FNV-1a), for telling apart clips with the same name.
fn short_hash(p: &Path) -> String {
    let full = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut h: u64 = 0xcbf29ce484222325;
    for b in full.to_string_lossy().as_bytes() {
        h = (h ^ *b as u64).wrapping_mul(0x100000001b3);
    }
    format!("{:08x}", h as u32)
}

/// Output folders for the clips: the safe stem, with a path hash when stems collide.
pub fn plan(clips: &[PathBuf], out: &Path) -> Vec<ClipJob> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for c in clips {
        *counts.entry(safe_name(c).to_lowercase()).or_default() += 1;
    }
    clips
        .iter()
        .map(|c| {
            let base = safe_name(c);
            let name = if counts[&base.to_lowercase()] > 1 { format!("{base}-{}", short_hash(c)) } else { base };
            ClipJob { input: c.clone(), out_dir: out.join(&name), name }
        })
        .collect()
}

/// Bytes of a typical phone clip per frame (1080p at about 6 Mbit/s, 30 frames/s): turns a file
/// size into frames for a clip whose index lists none, to order it among the others.
const GUESSED_BYTES_PER_FRAME: u64 = 25_000;

/// The order to start `jobs` in: the clips with the most frames first (from their MP4 index, or
/// guessed from their size), so that the batch does not end with one long clip running alone
/// while the other workers have nothing left to do. Results are still listed in `jobs`' order.
/// (12 dev clips on 2 cores: 97 % of the CPU busy instead of 92 %, the batch 6 % sooner.)
pub fn longest_first(jobs: &[ClipJob]) -> Vec<usize> {
    let frames = |job: &ClipJob| -> u64 {
        // Only regular files are read here (opening a named pipe would wait for a writer).
        let len = match std::fs::metadata(&job.input) {
            Ok(m) if m.is_file() => m.len(),
            _ => return 0,
        };
        let Ok(mut file) = std::fs::File::open(&job.input) else { return 0 };
        crate::capture::sniff::video_frames(&mut file, len).ok().flatten().unwrap_or(len / GUESSED_BYTES_PER_FRAME)
    };
    let work: Vec<u64> = jobs.iter().map(frames).collect();
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    // Stable: clips of equal size keep their listed order.
    order.sort_by_key(|&i| std::cmp::Reverse(work[i]));
    order
}

/// One part of a batch split over `count` machines: the clips whose folder names hash to `index`.
/// Written `I/N` with I counting from 0, as Kubernetes' `JOB_COMPLETION_INDEX` and Slurm's
/// `SLURM_ARRAY_TASK_ID` (with `--array=0-(N-1)`) do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// Why a `--shard` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardError {
    /// Not two whole numbers separated by `/`.
    #[error("'{text}' is not a shard: expected I/N with whole numbers, e.g. 0/3 (I counts from 0)")]
    Syntax { text: String },
    /// N is 0.
    #[error("'{text}': the number of shards must be at least 1")]
    NoShards { text: String },
    /// I is not below N.
    #[error("'{text}': shard index {index} is out of range; with {count} shards it is 0 to {}", count - 1)]
    OutOfRange { text: String, index: u32, count: u32 },
}

impl std::str::FromStr for Shard {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax { text: text.to_string() };
        let (i, n) = text.trim().split_once('/').ok_or_else(syntax)?;
        let number = |s: &str| {
            let s = s.trim();
            // `u32::from_str` takes a leading '+'; a shard is plain digits.
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            s.parse::<u32>().map_err(|_| syntax())
        };
        let (index, count) = (number(i)?, number(n)?);
        if count == 0 {
            return Err(ShardError::NoShards { text: text.to_string() });
        }
        if index >= count {
            return Err(ShardError::OutOfRange { text: text.to_string(), index, count });
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The shard (0-based) a clip's output folder belongs to among `count`: a fixed 64-bit hash
    /// of the folder name's UTF-8 bytes (FNV-1a, then the MurmurHash3 finaliser so that every bit
    /// of the name reaches the low bits used by the remainder). The same on every machine and
    /// for every order of the inputs.
    pub fn of(folder_name: &str, count: u32) -> u32 {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in folder_name.as_bytes() {
            h = (h ^ *b as u64).wrapping_mul(0x100000001b3);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51afd7ed558ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ceb9fe1a85ec53);
        h ^= h >> 33;
        (h % count.max(1) as u64) as u32
    }

    /// Keeps the jobs of this shard, in their order. Plan the whole batch first: a name's
    /// collision suffix depends on every clip in it.
    pub fn select(&self, jobs: Vec<ClipJob>) -> Vec<ClipJob> {
        jobs.into_iter().filter(|j| Shard::of(&j.name, self.count) == self.index).collect()
    }
}

/// `error.json`: why a clip failed, left in its folder (and, as a list, `input-errors.json` at
/// the top of the output for inputs that could not even be listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// The input as given on the command line.
    pub input: String,
    /// One line.
    pub error: String,
}

impl ErrorRecord {
    pub const FILE: &'static str = "error.json";
    /// Inputs that could not be listed (a folder without videos, an unreadable folder).
    pub const INPUTS_FILE: &'static str = "input-errors.json";

    /// Records a failed clip in its folder. The stamp goes, so the folder says "failed" only and
    /// the clip is redone on the next run.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        write_atomic(&dir.join(Self::FILE), &serde_json::to_vec_pretty(self).expect("a record serialises"))?;
        remove_if_present(&dir.join(Stamp::FILE))
    }

    /// Writes `OUT/input-errors.json`, or removes it when no input had a problem.
    pub fn write_inputs(out: &Path, records: &[ErrorRecord]) -> std::io::Result<()> {
        let path = out.join(Self::INPUTS_FILE);
        if records.is_empty() {
            remove_if_present(&path)
        } else {
            write_atomic(&path, &serde_json::to_vec_pretty(records).expect("records serialise"))
        }
    }
}

/// Removes a file; one that is not there is fine.
pub fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// What an output folder was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    pub input: String,
    pub input_bytes: u64,
    pub input_modified_ns: u128,
    pub config_toml: String,
    pub formcheck_version: String,
    pub video: bool,
}

impl Stamp {
    pub fn new(input: &Path, config_toml: &str, video: bool) -> std::io::Result<Stamp> {
        let meta = std::fs::metadata(input)?;
        let modified = meta.modified()?.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        Ok(Stamp {
            input: input.display().to_string(),
            input_bytes: meta.len(),
            input_modified_ns: modified,
            config_toml: config_toml.to_string(),
            formcheck_version: env!("CARGO_PKG_VERSION").to_string(),
            video,
        })
    }

    pub const FILE: &'static str = "run.json";

    /// Outputs a finished clip folder holds.
    pub fn outputs(video: bool) -> Vec<&'static str> {
        let mut v = vec!["poses.json", "report.json", "reps.csv", "report.html"];
        if video {
            v.push("annotated.mp4");
        }
        v
    }

    /// True when `dir` was made from exactly this input and configuration and is complete.
    pub fn is_current(&self, dir: &Path) -> bool {
        let Ok(text) = std::fs::read(dir.join(Self::FILE)) else { return false };
        let Ok(old) = serde_json::from_slice::<Stamp>(&text) else { return false };
        old == *self && Self::outputs(self.video).iter().all(|f| dir.join(f).is_file())
    }

    /// Marks the folder done. An `error.json` from an earlier failed run goes first, so a folder
    /// never holds both a stamp and a stale error.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        remove_if_present(&dir.join(ErrorRecord::FILE))?;
        write_atomic(&dir.join(Self::FILE), &serde_json::to_vec_pretty(self).expect("a stamp serialises"))
    }
}

#[cfg(test)]
mod tests {
    use super::listing::url_segment;
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        let clips = vec![
            PathBuf::from("/a/IMG_0001.MOV"),
            PathBuf::from("/b/IMG_0001.MOV"),
            PathBuf::from("/c/../../etc.mp4"),
            PathBuf::from("/d/..mp4"),
            PathBuf::from("/e/<script>.mp4"),
            PathBuf::from("/f/-rf.mp4"),
            PathBuf::from("/g/.-. x.mp4"),
        ];
        let jobs = plan(&clips, Path::new("OUT"));
        assert_ne!(jobs[0].name, jobs[1].name);
        assert!(jobs[0].name.starts_with("IMG_0001-") && jobs[1].name.starts_with("IMG_0001-"));
        for j in &jobs {
            assert_eq!(j.out_dir.parent(), Some(Path::new("OUT")), "{j:?}");
            assert!(!j.name.contains('/') && !j.name.starts_with(['.', '-']) && j.name != "..", "{j:?}");
        }
        assert_eq!(jobs[4].name, "<script>");
        assert_eq!(jobs[5].name, "rf");
        assert_eq!(jobs[6].name, "x");
    }

    #[test]
    fn a_clip_named_twice_is_one_job() {
        let dir = tempfile::tempdir().expect("temp");
        let a = dir.path().join("a.mp4");
        std::fs::write(&a, b"x").expect("write");
        let again = dir.path().join(".").join("a.mp4");
        let (clips, problems) = collect_inputs(&[a.clone(), dir.path().to_path_buf(), again], false);
        assert_eq!(clips, vec![a]);
        assert!(problems.is_empty());
    }

    #[test]
    fn long_clips_start_first() {
        use crate::capture::sniff::fixtures::mp4_with_frames;
        let dir = tempfile::tempdir().expect("temp");
        let files: [(&str, Vec<u8>); 5] = [
            ("short.mp4", mp4_with_frames(90)),
            ("long.mp4", mp4_with_frames(900)),
            // No index to read: guessed from its size (about 8 frames).
            ("unknown.mkv", vec![0u8; 200_000]),
            ("medium.mov", mp4_with_frames(300)),
            ("also_short.mp4", mp4_with_frames(90)),
        ];
        let clips: Vec<PathBuf> = files
            .iter()
            .map(|(name, bytes)| {
                let p = dir.path().join(name);
                std::fs::write(&p, bytes).expect("write");
                p
            })
            .collect();
        let jobs = plan(&clips, Path::new("OUT"));
        let names: Vec<&str> = longest_first(&jobs).into_iter().map(|i| jobs[i].name.as_str()).collect();
        assert_eq!(names, ["long", "medium", "short", "also_short", "unknown"]);
    }

    #[test]
    fn shard_values_are_checked() {
        assert_eq!("0/3".parse(), Ok(Shard { index: 0, count: 3 }));
        assert_eq!(" 2/3 ".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("0/1".parse::<Shard>().map(|s| s.to_string()), Ok("0/1".to_string()));
        assert!(matches!("3/3".parse::<Shard>(), Err(ShardError::OutOfRange { index: 3, count: 3, .. })));
        assert!(matches!("0/0".parse::<Shard>(), Err(ShardError::NoShards { .. })));
        for bad in ["", "1", "1/", "/3", "-1/3", "+1/3", "a/3", "1/b", "1/3/5", "1.0/3", "99999999999/3"] {
            assert!(matches!(bad.parse::<Shard>(), Err(ShardError::Syntax { .. })), "{bad:?}");
        }
        let message = "4/3".parse::<Shard>().expect_err("out of range").to_string();
        assert!(message.contains("0 to 2"), "{message}");
    }

    #[test]
    fn shards_partition_a_batch_whatever_the_order_and_share_it_evenly() {
        let clips: Vec<PathBuf> = (0..600)
            .map(|i| PathBuf::from(format!("/{}/IMG_{:04}.MOV", if i < 500 { "a" } else { "b" }, i % 500)))
            .collect();
        let jobs = plan(&clips, Path::new("OUT"));
        let mut reversed_clips = clips.clone();
        reversed_clips.reverse();
        for count in [1u32, 2, 3, 4, 7, 16] {
            let mut seen: HashMap<String, u32> = HashMap::new();
            let mut sizes = Vec::new();
            for index in 0..count {
                let shard = Shard { index, count };
                let part = shard.select(jobs.clone());
                // The same clips from any order of the inputs.
                let mut a: Vec<String> = part.iter().map(|j| j.name.clone()).collect();
                let mut b: Vec<String> =
                    shard.select(plan(&reversed_clips, Path::new("OUT"))).into_iter().map(|j| j.name).collect();
                a.sort();
                b.sort();
                assert_eq!(a, b, "shard {shard}");
                sizes.push(part.len());
                for j in part {
                    assert!(seen.insert(j.name.clone(), index).is_none(), "{} in two shards", j.name);
                }
            }
            assert_eq!(seen.len(), jobs.len(), "every clip in one shard ({count} shards)");
            let mean = jobs.len() as f64 / count as f64;
            for n in &sizes {
                // A hash, not a deal: within ~4 standard deviations of the mean.
                let sd = (mean * (1.0 - 1.0 / count as f64)).sqrt();
                assert!((*n as f64 - mean).abs() <= 4.0 * sd + 1.0, "{count} shards: sizes {sizes:?}");
            }
        }
        // Fixed across platforms and releases: a changed hash would split running batches badly.
        let pinned = ["IMG_0001", "IMG_0002", "deadlift", "clip", "é"].map(|n| Shard::of(n, 1000));
        assert_eq!(pinned, [372, 873, 556, 130, 43]);
    }

    #[test]
    fn listings_come_from_the_report_json_and_sort_by_folder() {
        use crate::testkit::synth::{self, SynthLift};
        let report = crate::analysis::analyze(
            &synth::generate(&SynthLift { reps: 2, ..SynthLift::default() }).0,
            &crate::analysis::config::Config::default(),
        );
        let findings = Findings::of(&report);
        let from_disk: Findings = serde_json::from_str(&report.to_json()).expect("parse");
        assert_eq!(findings, from_disk);
        assert_eq!(findings.reps.len(), report.reps.len());
        assert_eq!(findings.headline(), headline(&report));
        let ok = |input: &str, folder: &str| ClipListing {
            input: input.into(),
            folder: Some(folder.into()),
            result: Ok(findings.clone()),
        };
        let failed =
            ClipListing { input: "/x/bad.mp4".into(), folder: Some("bad".into()), result: Err("no video".into()) };
        let a = vec![ok("/x/b.mp4", "b"), failed.clone(), ok("/x/a.mp4", "a")];
        let b = vec![ok("/x/a.mp4", "a"), ok("/x/b.mp4", "b"), failed];
        assert_eq!(summary_csv(&a), summary_csv(&b));
        assert_eq!(index_html(&a), index_html(&b));
        let csv = summary_csv(&a);
        let folders: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').nth(1).unwrap_or("")).collect();
        let mut sorted = folders.clone();
        sorted.sort();
        assert_eq!(folders, sorted, "{csv}");
        assert!(csv.lines().skip(1).all(|l| l.contains(",ok,") || l.contains(",failed,")), "{csv}");
    }

    #[test]
    fn a_failed_clip_leaves_a_record_that_a_later_success_removes() {
        let dir = tempfile::tempdir().expect("temp");
        let out = dir.path().join("clip");
        let input = dir.path().join("x.mp4");
        std::fs::write(&input, b"abc").expect("write");
        let s = Stamp::new(&input, "cfg", false).expect("stamp");
        s.write(&out).expect("stamp");
        let record = ErrorRecord { input: input.display().to_string(), error: "cannot decode".into() };
        record.write(&out).expect("record");
        assert!(!out.join(Stamp::FILE).exists(), "a failed clip is not done");
        let back: ErrorRecord =
            serde_json::from_slice(&std::fs::read(out.join(ErrorRecord::FILE)).expect("read")).expect("parse");
        assert_eq!(back, record);
        s.write(&out).expect("stamp");
        assert!(!out.join(ErrorRecord::FILE).exists() && out.join(Stamp::FILE).is_file());
    }

    #[test]
    fn folder_links_are_percent_encoded() {
        assert_eq!(url_segment("a b/<"), "a%20b%2F%3C");
    }

    #[test]
    fn stamps_detect_changes() {
        let dir = tempfile::tempdir().expect("temp");
        let input = dir.path().join("x.mp4");
        std::fs::write(&input, b"abc").expect("write");
        let out = dir.path().join("out");
        let s = Stamp::new(&input, "cfg", false).expect("stamp");
        for f in Stamp::outputs(false) {
            write_atomic(&out.join(f), b"x").expect("write");
        }
        assert!(!s.is_current(&out), "no stamp yet");
        s.write(&out).expect("write stamp");
        assert!(s.is_current(&out));
        assert!(!Stamp::new(&input, "other cfg", false).expect("stamp").is_current(&out));
        std::fs::write(&input, b"abcd").expect("write");
        assert!(!Stamp::new(&input, "cfg", false).expect("stamp").is_current(&out));
    }
}
