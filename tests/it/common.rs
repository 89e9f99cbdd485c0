//! Helpers shared by the integration tests: where the clips are, running the pipeline in-process,
//! running the binary, and asking ffmpeg/ffprobe for ground truth.

use std::path::{Path, PathBuf};
use std::process::Command;

use formcheck::capture::pipeline::{self, ModelPaths, PoseEngine};
use formcheck::capture::pose::{self, ModelSize, TrackerConfig};
use formcheck::posetrack::PoseTrack;

pub fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared_dir() -> PathBuf {
    project_dir().join("..").join("shared")
}

/// The folder of real clips, or `None` (after saying why) when it is absent and not required.
pub fn clips_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FORMCHECK_CLIPS_DIR").map(PathBuf::from).unwrap_or_else(|| shared_dir().join("clips"));
    if dir.join("MANIFEST.tsv").is_file() {
        return Some(dir);
    }
    if std::env::var("FORMCHECK_REQUIRE_CLIPS").is_ok_and(|v| v == "1") {
        panic!("FORMCHECK_REQUIRE_CLIPS=1 but no clips at {}", dir.display());
    }
    eprintln!("SKIPPED: no clips at {} (set FORMCHECK_CLIPS_DIR)", dir.display());
    None
}

/// MediaPipe's own landmarks for the clips, beside the clips folder.
pub fn mediapipe_reference_dir(clips: &Path) -> PathBuf {
    clips.join("..").join("reference").join("mediapipe")
}

/// A clip by file name, or `None` when the clips are absent.
pub fn clip(name: &str) -> Option<PathBuf> {
    let p = clips_dir()?.join(name);
    assert!(p.is_file(), "clip {} missing", p.display());
    Some(p)
}

pub fn engine() -> PoseEngine {
    let env = formcheck::capture::runtime::environment(None).expect("ONNX Runtime (run scripts/setup.sh)");
    let models = project_dir().join("models");
    let paths =
        ModelPaths { landmark: models.join(ModelSize::Full.file_name()), detector: models.join(pose::DETECTOR_FILE) };
    PoseEngine::load(&env, &paths, TrackerConfig::default()).expect("models load")
}

/// Pose tracks of every clip in the clips folder, computed once per test process and shared by
/// the tests that need them (the fidelity and analysis tests), keyed by file stem.
pub fn all_tracks() -> Option<&'static std::collections::BTreeMap<String, PoseTrack>> {
    static TRACKS: std::sync::OnceLock<std::collections::BTreeMap<String, PoseTrack>> = std::sync::OnceLock::new();
    let dir = clips_dir()?;
    Some(TRACKS.get_or_init(|| {
        let mut engine = engine();
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("clips folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| (p.file_stem().expect("stem").to_string_lossy().into_owned(), track(&mut engine, &p)))
            .collect()
    }))
}

/// Runs decode + pose on a clip in-process.
pub fn track(engine: &mut PoseEngine, clip: &Path) -> PoseTrack {
    let reader = pipeline::open_clip(clip, 1.0).unwrap_or_else(|e| panic!("{}: {e}", clip.display()));
    pipeline::track_clip(engine, reader, &|_| {}).unwrap_or_else(|e| panic!("{}: {e}", clip.display())).0
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_formcheck"))
}

/// Runs a command that must succeed (ffmpeg and friends).
pub fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Presentation times (s, from the stream start) of every decodable frame, from ffprobe.
pub fn ffprobe_frame_times(clip: &Path) -> Vec<f64> {
    let out = run_ok(
        Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0"])
            .arg(clip),
    );
    let times: Vec<f64> =
        String::from_utf8_lossy(&out).lines().filter_map(|l| l.trim().trim_end_matches(',').parse().ok()).collect();
    let first = times.first().copied().unwrap_or(0.0);
    times.iter().map(|t| t - first).collect()
}

pub fn median(v: &mut [f64]) -> f64 {
    assert!(!v.is_empty());
    formcheck::support::signal::median_in_place(v)
}
