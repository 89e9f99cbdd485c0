//! Fuzz targets: the functions that turn arbitrary bytes into a run of formcheck's input-facing
//! code, shared by the in-process fuzzer (`examples/fuzz.rs`) and the regression replay test
//! (`tests/it/fuzz_regressions.rs`), so the test replays exactly what the fuzzer ran.
//!
//! Each target returns `Ok(signature)` (a hash of what the run did: warnings, rep count, fault
//! codes; the fuzzer keeps inputs that produce a new one) or a typed [`FuzzError`]. A panic, a
//! hang or [`FuzzError::Invariant`] is a bug; a parse or configuration error is the expected
//! answer to bad input.
//!
//! Targets:
//! - [`Target::Poses`]: the bytes are a `poses.json`; parsed as `formcheck report` reads it, then
//!   analysed with the default configuration and written as report.json, reps.csv and HTML.
//! - [`Target::Config`]: the bytes are a user TOML file, optionally followed by a line `%%` and
//!   one `--set KEY=VALUE` argument per line; the configuration is loaded as `--config` and
//!   `--set` load it, must round-trip through its own TOML, and is used to analyse a short
//!   synthetic lift.
//! - [`Target::Analysis`]: the bytes drive a generator ([`arbitrary_track`]) of structurally valid
//!   but arbitrary pose tracks (NaN, infinite and huge coordinates, visibilities outside 0..1,
//!   out-of-order and duplicate times, no frames, missing landmarks or plate, absurd video sizes
//!   and frame rates), which are analysed and written as above.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use crate::analysis;
use crate::analysis::config::{Config, ConfigError};
use crate::analysis::report::Report;
use crate::posetrack::{BackOutlineRecord, PoseFrame, PoseTrack, TrackFileError};
use crate::present::html;
use crate::testkit::synth::{self, InjectedFault, SynthLift};

/// One fuzz target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Poses,
    Config,
    Analysis,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::Poses, Target::Config, Target::Analysis];

    /// The name used on the command line and as the folder under `fuzz/seeds` and
    /// `fuzz/regressions`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Poses => "poses",
            Target::Config => "config",
            Target::Analysis => "analysis",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Runs the target on one input.
    pub fn run(self, data: &[u8]) -> Result<u64, FuzzError> {
        match self {
            Target::Poses => poses(data),
            Target::Config => config(data),
            Target::Analysis => analysis_of_arbitrary_track(data),
        }
    }
}

/// What a target answers besides success.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FuzzError {
    /// The input is not a usable pose track (expected for bad input).
    #[error(transparent)]
    Poses(#[from] TrackFileError),
    /// The input is not a usable configuration (expected for bad input).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An output broke a promise (e.g. report.json is not JSON): a bug.
    #[error("invariant broken: {what}")]
    Invariant { what: String },
}

/// Separates the TOML file from the `--set` lines in a [`Target::Config`] input.
pub const SET_SEPARATOR: &str = "\n%%\n";

/// [`Target::Poses`].
pub fn poses(data: &[u8]) -> Result<u64, FuzzError> {
    let track = PoseTrack::from_json(data, "fuzz/poses.json")?;
    let report = analysis::analyze(&track, &default_config());
    check_outputs(&report, &[])?;
    Ok(signature(&report))
}

/// [`Target::Config`].
pub fn config(data: &[u8]) -> Result<u64, FuzzError> {
    let text = String::from_utf8_lossy(data);
    let (file, sets) = match text.split_once(SET_SEPARATOR) {
        Some((file, sets)) => (file, sets.lines().map(str::to_string).collect::<Vec<_>>()),
        None => (text.as_ref(), Vec::new()),
    };
    let cfg = Config::from_layers(Some((file, "fuzz.toml")), &sets)?;
    // The run's configuration is saved as TOML; reading it back must give the same one.
    let saved = cfg.to_toml();
    let again = Config::from_layers(Some((&saved, "saved")), &[])
        .map_err(|e| FuzzError::Invariant { what: format!("the saved configuration does not load: {e}") })?;
    if again.to_toml() != saved {
        return Err(FuzzError::Invariant { what: "the saved configuration loads as another one".into() });
    }
    let report = analysis::analyze(config_lift(), &cfg);
    check_outputs(&report, &[])?;
    Ok(signature(&report))
}

/// [`Target::Analysis`].
pub fn analysis_of_arbitrary_track(data: &[u8]) -> Result<u64, FuzzError> {
    let mut u = Unstructured::new(data);
    let track = arbitrary_track(&mut u);
    let report = analysis::analyze(&track, &default_config());
    // A still with arbitrary bytes exercises the HTML writer's image sniffing.
    let still = html::Still {
        rep_index: u.below(4),
        code: "rounded_lower_back".into(),
        at_s: u.weird_f64(),
        jpeg: data.iter().take(64).copied().collect(),
    };
    check_outputs(&report, &[still])?;
    Ok(signature(&report))
}

fn default_config() -> Config {
    static CFG: OnceLock<Config> = OnceLock::new();
    CFG.get_or_init(Config::default).clone()
}

/// The short lift the configuration target analyses: one rep with a plate, 30 fps.
fn config_lift() -> &'static PoseTrack {
    static TRACK: OnceLock<PoseTrack> = OnceLock::new();
    TRACK.get_or_init(|| {
        let spec = SynthLift {
            reps: 1,
            setup_s: 0.6,
            end_s: 0.3,
            noise_px: 1.0,
            plate_noise_px: Some(1.0),
            ..SynthLift::default()
        };
        synth::generate(&spec).0
    })
}

/// Writes the report every way the app does and checks that each output is well formed.
fn check_outputs(report: &Report, stills: &[html::Still]) -> Result<(), FuzzError> {
    let json = report.to_json();
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
        return Err(FuzzError::Invariant { what: format!("report.json is not JSON: {e}") });
    }
    let csv = report.to_csv();
    let widths: Vec<usize> = csv.lines().map(csv_width).collect();
    if widths.len() != report.reps.len() + 1 || widths.iter().any(|w| *w != widths[0]) {
        return Err(FuzzError::Invariant { what: format!("reps.csv rows have {widths:?} fields") });
    }
    let page = html::render(report, stills);
    if !page.trim_end().ends_with("</html>") {
        return Err(FuzzError::Invariant { what: "report.html does not end with </html>".into() });
    }
    let _ = report.summary();
    Ok(())
}

/// Fields in one CSV line (commas outside double quotes, plus one).
fn csv_width(line: &str) -> usize {
    let mut quoted = false;
    1 + line
        .chars()
        .filter(|&c| {
            if c == '"' {
                quoted = !quoted;
            }
            c == ',' && !quoted
        })
        .count()
}

/// What a report says, hashed: the fuzzer keeps inputs that make the analysis say something new.
fn signature(report: &Report) -> u64 {
    let mut h = DefaultHasher::new();
    report.reliable.hash(&mut h);
    format!("{:?}{:?}", report.facing, report.bar.source).hash(&mut h);
    for w in &report.warnings {
        w.code.hash(&mut h);
    }
    report.reps.len().min(8).hash(&mut h);
    for r in &report.reps {
        for f in &r.faults {
            (f.code, f.severity as u8).hash(&mut h);
        }
    }
    for f in &report.set.faults {
        f.code.hash(&mut h);
    }
    h.finish()
}

/// Reads choices from fuzz bytes; once the bytes run out every choice is 0, so any input is a
/// valid (if short) recipe.
pub struct Unstructured<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Unstructured<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Unstructured { data, pos: 0 }
    }

    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    pub fn u64(&mut self) -> u64 {
        (self.u32() as u64) << 32 | self.u32() as u64
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        if n <= 256 {
            self.byte() as usize % n
        } else {
            self.u32() as usize % n
        }
    }

    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// One of `items` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A float in `lo..hi`.
    pub fn unit_range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.u32() as f64 / u32::MAX as f64)
    }

    /// A float from the edge cases or any bit pattern.
    pub fn weird_f64(&mut self) -> f64 {
        match self.below(16) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => f64::MAX,
            4 => -f64::MAX,
            5 => f64::MIN_POSITIVE,
            6 => 5e-324,
            7 => -0.0,
            8 => 0.0,
            9 => 1e300,
            10 => -1e12,
            11 => f64::from_bits(self.u64()),
            12 => -1.0,
            13 => 2.0,
            _ => self.unit_range(-5000.0, 5000.0),
        }
    }
}

/// A structurally valid pose track (33 landmarks per frame with a pose, 41 outline widths) with
/// arbitrary values: a synthetic lift, or frames from nothing, then a string of corruptions.
pub fn arbitrary_track(u: &mut Unstructured) -> PoseTrack {
    let mut track = if u.below(4) == 0 { scratch_track(u) } else { synth_track(u) };
    let v = &mut track.video;
    if u.bool() {
        v.width = u.pick(&[0, 1, 2, 64, 1280, 4096, u32::MAX]);
        v.height = u.pick(&[0, 1, 2, 64, 720, 4096, u32::MAX]);
    }
    if u.bool() {
        v.fps = u.weird_f64();
        v.slowmo_factor = u.weird_f64();
        v.duration_s = u.weird_f64();
        v.frames = u.u64();
        v.frames_declared = u.u64();
    }
    for _ in 0..u.below(12) {
        corrupt(u, &mut track);
    }
    // Frames the pose model skipped (`--pose-hz`), then filled as the pipeline fills them: every
    // other one, every fourth, or at random, on the damaged track. (Drawn last, so that inputs
    // saved before this existed still make the same track.)
    let skip_every = u.pick(&[0, 0, 2, 4, 1]);
    if skip_every > 0 {
        for (k, f) in track.frames.iter_mut().enumerate() {
            if (skip_every == 1 && u.bool()) || (skip_every > 1 && k % skip_every != 0) {
                *f = PoseFrame { plate: f.plate, ..PoseFrame::skipped(f.i, f.t_s) };
            }
        }
        crate::posetrack::fill_skipped(&mut track.frames);
    }
    track
}

/// A synthetic lift with arbitrary (but bounded, so each run is quick) settings.
fn synth_track(u: &mut Unstructured) -> PoseTrack {
    let faults = InjectedFault::EACH;
    let reps = u.below(4);
    let spec = SynthLift {
        reps,
        fps: u.pick(&[10.0, 24.0, 30.0, 60.0, 120.0]),
        vfr_jitter: u.pick(&[0.0, 0.3, 0.9]),
        setup_s: u.pick(&[0.1, 1.5, 4.0]),
        concentric_s: u.pick(&[0.2, 1.2, 4.0]),
        lockout_pause_s: u.pick(&[0.0, 0.5, 2.0]),
        eccentric_s: u.pick(&[0.2, 1.0, 3.0]),
        floor_pause_s: u.pick(&[0.0, 0.5, 2.0]),
        end_s: u.pick(&[0.0, 1.0, 3.0]),
        start_mid_rep: u.bool(),
        end_mid_rep: u.bool(),
        noise_px: u.pick(&[0.0, 2.0, 40.0]),
        dropout_fraction: u.pick(&[0.0, 0.1, 0.5, 0.95]),
        facing_left: u.bool(),
        swap_labels_fraction: u.pick(&[0.0, 0.2, 1.0]),
        body_height_px: u.pick(&[2.0, 60.0, 600.0, 3000.0]),
        width: u.pick(&[64, 1280, 4000]),
        height: u.pick(&[64, 720, 4000]),
        seed: u.byte() as u64,
        faults: (0..u.below(3)).map(|_| (u.below(reps.max(1)), u.pick(&faults))).collect(),
        stand_up_at_end: u.bool(),
        plate_noise_px: u.pick(&[None, Some(0.0), Some(3.0), Some(200.0)]),
    };
    synth::generate(&spec).0
}

/// Up to 63 frames of random landmarks from the synthetic track's metadata.
fn scratch_track(u: &mut Unstructured) -> PoseTrack {
    let mut track = synth::generate(&SynthLift { reps: 0, setup_s: 0.1, end_s: 0.0, ..SynthLift::default() }).0;
    let template = track.frames.first().cloned();
    track.frames.clear();
    let Some(template) = template else { return track };
    let (w, h) = (track.video.width as f64, track.video.height as f64);
    let mut t = 0.0;
    for i in 0..u.below(64) {
        let mut f = template.clone();
        f.i = i as u64;
        t += u.pick(&[0.0, 1.0 / 30.0, 1.0 / 240.0, 1.0, -0.5]);
        f.t_s = t;
        f.landmarks = u.bool().then(|| {
            (0..crate::capture::pose::NUM_LANDMARKS)
                .map(|_| [u.unit_range(-w, 2.0 * w), u.unit_range(-h, 2.0 * h), u.unit_range(-0.5, 1.5)])
                .collect()
        });
        if u.bool() {
            f.plate = Some([u.unit_range(0.0, w), u.unit_range(0.0, h), u.unit_range(-10.0, h), u.weird_f64(), 1.0]);
        }
        track.frames.push(f);
    }
    track
}

/// One corruption of the track, chosen by the bytes.
fn corrupt(u: &mut Unstructured, track: &mut PoseTrack) {
    let n = track.frames.len();
    let fi = u.below(n);
    match u.below(16) {
        0 | 1 => {
            let (lm, c, v) = (u.below(crate::capture::pose::NUM_LANDMARKS), u.below(3), u.weird_f64());
            for f in track.frames.iter_mut().skip(fi).take(1 + u.below(40)) {
                if let Some(p) = f.landmarks.as_mut().and_then(|l| l.get_mut(lm)) {
                    p[c] = v;
                }
            }
        }
        2 => {
            for f in track.frames.iter_mut().skip(fi).take(1 + u.below(n.max(1))) {
                f.landmarks = None;
            }
        }
        3 => {
            let v = u.weird_f64();
            if let Some(f) = track.frames.get_mut(fi) {
                f.t_s = v;
            }
        }
        4 => {
            // Duplicate times, or time running backwards.
            let backwards = u.bool();
            let end = (fi + 1 + u.below(n.max(1))).min(n);
            let t0 = track.frames.get(fi).map_or(0.0, |f| f.t_s);
            for (k, f) in track.frames[fi.min(end)..end].iter_mut().enumerate() {
                f.t_s = if backwards { t0 - k as f64 * 0.01 } else { t0 };
            }
        }
        5 => {
            let end = (fi + 1 + u.below(n.max(1))).min(n);
            track.frames[fi.min(end)..end].reverse();
        }
        6 => {
            let any = u.below(n + 1);
            let keep = u.pick(&[0, 1, 2, 3, any]);
            track.frames.truncate(keep);
        }
        7 => {
            let end = (fi + 1 + u.below(20)).min(n);
            let copy: Vec<_> = track.frames[fi.min(end)..end].to_vec();
            let at = u.below(n + 1);
            track.frames.splice(at..at, copy);
        }
        8 => {
            let all = u.bool();
            let values = [u.weird_f64(), u.weird_f64(), u.weird_f64(), u.weird_f64(), u.weird_f64()];
            for (k, f) in track.frames.iter_mut().enumerate() {
                if all || k == fi {
                    f.plate = if values[4].is_sign_negative() { None } else { Some(values) };
                }
            }
        }
        9 => {
            let k = u.pick(&[0.0, -1.0, 1e-9, 1e9, f64::NAN, 2.0]);
            let component = u.below(3);
            for p in track.frames.iter_mut().flat_map(|f| f.landmarks.iter_mut().flatten()) {
                p[component] *= k;
            }
        }
        10 => {
            let dx = u.weird_f64();
            for p in track.frames.iter_mut().flat_map(|f| f.landmarks.iter_mut().flatten()) {
                p[0] += dx;
            }
        }
        11 => {
            let k = u.pick(&[0.0, -1.0, 1e-9, 1e9, f64::INFINITY]);
            for f in &mut track.frames {
                f.t_s *= k;
            }
        }
        12 => {
            let (a, b) = (u.weird_f64(), u.weird_f64());
            let width = u.weird_f64();
            let len = u.pick(&[0, 1, 41, 80]);
            if let Some(f) = track.frames.get_mut(fi) {
                let widths = (0..len).map(|k| (k % 3 != 0).then_some(width)).collect::<Vec<_>>();
                f.back = Some(BackOutlineRecord {
                    hip: [a, b],
                    shoulder: [b, a],
                    back_if_facing_right: widths.clone(),
                    back_if_facing_left: widths,
                });
            }
        }
        13 => {
            let v = u.weird_f64();
            if let Some(f) = track.frames.get_mut(fi) {
                f.presence = Some(v);
                f.roi = Some([v, v, v, v]);
                f.i = u.u64();
            }
        }
        14 => {
            // A joint frozen in one place (the model lost it and kept its last guess).
            let lm = u.below(crate::capture::pose::NUM_LANDMARKS);
            let at = track.frames.get(fi).and_then(|f| f.landmarks.as_ref()).and_then(|l| l.get(lm).copied());
            if let Some(p) = at {
                for l in track.frames.iter_mut().filter_map(|f| f.landmarks.as_mut()) {
                    l[lm] = p;
                }
            }
        }
        _ => {
            let v = u.weird_f64();
            for f in &mut track.frames {
                f.back = None;
                if let Some(l) = f.landmarks.as_mut() {
                    for p in l.iter_mut() {
                        p[2] = v;
                    }
                }
            }
        }
    }
}

/// A stable name for a crash input: 16 hex digits of a 64-bit FNV-1a hash.
pub fn input_name(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_accepts_empty_and_tiny_inputs() {
        for t in Target::ALL {
            for data in [&b""[..], b"\0", b"{}", b"%%", b"\xff\xff\xff\xff"] {
                let r = t.run(data);
                assert!(!matches!(r, Err(FuzzError::Invariant { .. })), "{} {data:?}: {r:?}", t.name());
            }
        }
    }

    #[test]
    fn generator_makes_structurally_valid_tracks() {
        for seed in 0u8..40 {
            let data: Vec<u8> = (0..200u32).map(|k| (k as u8).wrapping_mul(seed).wrapping_add(seed)).collect();
            let track = arbitrary_track(&mut Unstructured::new(&data));
            for f in &track.frames {
                if let Some(l) = &f.landmarks {
                    assert_eq!(l.len(), track.model.names.len());
                }
            }
        }
    }

    #[test]
    fn config_input_splits_file_and_sets() {
        let ok = config(b"[reps]\nmin_concentric_s = 0.3\n%%\nreps.top_trunk_incline_deg=20");
        assert!(ok.is_ok(), "{ok:?}");
        let err = config(b"\n%%\nreps.nope=1");
        assert!(matches!(err, Err(FuzzError::Config(ConfigError::UnknownKey { .. }))), "{err:?}");
    }

    #[test]
    fn csv_width_ignores_quoted_commas() {
        assert_eq!(csv_width("a,\"b,c\",d"), 3);
        assert_eq!(csv_width(""), 1);
    }
}
