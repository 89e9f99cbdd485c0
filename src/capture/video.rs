//! Video input: opens phone clips (MP4/MOV, H.264/HEVC) with OpenCV's FFmpeg backend, checks that
//! what opened is really a video, turns frames upright and stamps each with its container time.
//!
//! Conventions and the reasons for them:
//! - Frames are BGR `Mat`s in pixels of the *upright* picture (x right, y down), as a player shows it.
//!   OpenCV 4.6 rotates +-90 deg clips the wrong way when it auto-orients, so auto-orientation is
//!   switched off and the rotation from the container metadata is applied here.
//! - `t_s` is the container presentation time of the frame (variable frame rate), divided by the
//!   slow-motion factor. OpenCV reports 0 for the last two frames of a file: those are extrapolated
//!   from the previous interval. On files with B-frames it reports the first frame's decode time
//!   instead of its presentation time: [`repair_first_timestamp`] fixes that once the second frame
//!   is known.
//! - A failed `read()` is not always the end: after damage mid-stream, retrying resumes. Only a run of
//!   failures longer than [`MAX_READ_RETRIES`] ends the stream.
//! - Damaged headers are bounded before anything is allocated: frame sizes up to [`MAX_SIDE_PX`] a
//!   side and [`MAX_PIXELS`] in all, frame gaps up to [`MAX_FRAME_GAP_S`]. When FFmpeg refuses a
//!   file, [`crate::capture::sniff`] says what the file is instead (a picture, an MP4 cut short...).
//! - Frames stream through caller-owned buffers, so memory does not grow with clip length.

use std::path::{Path, PathBuf};

use opencv::{core, prelude::*, videoio};

use crate::capture::sniff::Sniffed;

/// Consecutive failed reads tolerated before the stream is taken to have ended (12 recovered every
/// frame ffmpeg itself recovers from damaged test files).
pub const MAX_READ_RETRIES: u32 = 12;

/// Largest frame side accepted, in pixels (8K video is 7680 wide). A damaged header can claim
/// 65535x65535, which would need 12 GB per decoded frame.
pub const MAX_SIDE_PX: f64 = 8192.0;
/// Largest frame accepted, in pixels (8K UHD, 7680x4320, is 33 MP).
pub const MAX_PIXELS: f64 = 8192.0 * 4320.0;
/// Smallest frame side accepted, in pixels: nothing smaller can show a lifter.
pub const MIN_SIDE_PX: f64 = 16.0;
/// Longest time between two frames, in seconds, after the slow-motion factor. A longer jump is a
/// damaged timestamp (or a spliced file), not a lift, and would make every time series that is
/// resampled onto a uniform grid enormous.
pub const MAX_FRAME_GAP_S: f64 = 10.0;

/// Why a clip could not be opened or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    /// The path does not exist.
    #[error("no such file")]
    NotFound,
    /// The path is a directory or another non-regular file.
    #[error("not a regular file")]
    NotAFile,
    /// The file has no bytes.
    #[error("empty file (0 bytes)")]
    Empty,
    /// The file exists but cannot be read.
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
    /// FFmpeg found no container/stream it can decode, and the file is nothing recognisable.
    #[error("not a video that can be decoded (unknown format, or its index is missing: truncated or damaged file?)")]
    CannotOpen,
    /// The file is something else under a video name (a picture, text...).
    #[error("not a video: the file holds {what}")]
    NotAVideoFile { what: &'static str },
    /// An MP4/MOV without its `moov` index box: the recording or the copy stopped early.
    #[error(
        "not a video that can be decoded: its index (the MP4 'moov' box) is missing; the file was cut short or damaged"
    )]
    MissingIndex,
    /// An MP4/MOV whose index (`moov` box) is there but does not hold well-formed tracks.
    #[error("not a video that can be decoded: its index (the MP4 'moov' box) is damaged")]
    DamagedIndex,
    /// An MP4/MOV that ends inside one of its boxes.
    #[error("truncated: the file is {len} bytes but {}", cut_short(kind, *needed, *has_index))]
    CutShort { kind: String, len: u64, needed: u64, has_index: bool },
    /// An MP4/MOV with no video track.
    #[error("no video track in the file{}", if *audio { " (audio only)" } else { "" })]
    NoVideoTrack { audio: bool },
    /// An MP4/MOV whose video track lists no frames.
    #[error("the video track holds no frames")]
    EmptyVideoTrack,
    /// Something opened, but it is not a picture stream (text, raw bytes...).
    #[error("not a video stream (decoder '{fourcc}')")]
    NotVideo { fourcc: String },
    /// The header holds values no real clip has.
    #[error("implausible video header: {what}")]
    BadHeader { what: String },
    /// Opened, but not a single frame decoded.
    #[error("no frame could be decoded (the picture data is damaged, or in a codec this FFmpeg cannot decode)")]
    NoFrames,
    /// Two consecutive frames are further apart in time than any real recording.
    #[error(
        "damaged timestamps: {gap_s:.0} s between frame {before} and the next (at most {MAX_FRAME_GAP_S} s expected)"
    )]
    TimeGap { before: u64, gap_s: f64 },
    /// The slow-motion factor given is not a positive number.
    #[error("slow-motion factor must be a positive number, got {0}")]
    BadSlowmo(f64),
    /// An OpenCV call failed.
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
}

/// Facts about an opened clip, in the upright orientation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoInfo {
    /// Width of the upright picture in pixels.
    pub width: u32,
    /// Height of the upright picture in pixels.
    pub height: u32,
    /// Average frame rate the container declares (variable-frame-rate clips vary around it).
    pub fps: f64,
    /// Frame count the container declares (an estimate for some files); 0 when it gives none
    /// (Matroska and WebM written as a stream, by a browser's or a screen recorder, carry no
    /// duration).
    pub frames_declared: u64,
    /// Rotation recorded in the container (OpenCV's orientation metadata: 0, 90, 180, 270); the
    /// frames are already turned upright accordingly.
    pub rotation_deg: u32,
    /// Decoder four-character code, e.g. `avc1`, `hev1`.
    pub codec: String,
    /// Slow-motion factor the timestamps were divided by (1 = real time).
    pub slowmo_factor: f64,
}

/// One decoded, upright frame. The image buffer is reused between reads.
pub struct Frame {
    /// 0-based index in decode order.
    pub index: u64,
    /// Presentation time in seconds (container time / slow-motion factor).
    pub t_s: f64,
    /// Upright BGR picture.
    pub image: core::Mat,
}

impl Default for Frame {
    fn default() -> Self {
        Frame { index: 0, t_s: 0.0, image: core::Mat::default() }
    }
}

/// A clip that decodes fewer than this fraction of its declared frames is checked for truncation.
pub const SHORT_FRACTION: f64 = 0.75;

/// Decoders FFmpeg uses for things that are not pictures: text and raw bytes "open" as video.
const NON_VIDEO_FOURCCS: [&str; 6] = ["ansi", "bint", "tty", "xbin", "idf", "adf"];

/// A clip opened for streaming.
pub struct VideoReader {
    path: PathBuf,
    cap: videoio::VideoCapture,
    info: VideoInfo,
    rotate_code: Option<i32>,
    scratch: core::Mat,
    decoded: u64,
    last_t_s: Option<f64>,
    last_dt_s: f64,
}

impl VideoReader {
    /// Opens and validates `path`. `slowmo_factor` divides every timestamp (8 for a 240 fps capture
    /// exported at 30 fps).
    pub fn open(path: &Path, slowmo_factor: f64) -> Result<Self, VideoError> {
        if !(slowmo_factor.is_finite() && slowmo_factor > 0.0) {
            return Err(VideoError::BadSlowmo(slowmo_factor));
        }
        check_file(path)?;
        let name = path.to_str().ok_or(VideoError::CannotOpen)?;
        quiet_opencv_log();
        let mut cap = videoio::VideoCapture::from_file(name, videoio::CAP_FFMPEG)?;
        if !cap.is_opened()? {
            return Err(diagnose(path).unwrap_or(VideoError::CannotOpen));
        }
        // OpenCV 4.6 does not take this as an open() parameter; it is honoured from the next read.
        cap.set(videoio::CAP_PROP_ORIENTATION_AUTO, 0.0)?;
        let fourcc_code = cap.get(videoio::CAP_PROP_FOURCC)? as i64 as u32;
        let codec = fourcc_to_string(fourcc_code);
        if NON_VIDEO_FOURCCS.contains(&codec.trim()) {
            return Err(diagnose(path).unwrap_or(VideoError::NotVideo { fourcc: codec }));
        }
        let coded_w = cap.get(videoio::CAP_PROP_FRAME_WIDTH)?;
        let coded_h = cap.get(videoio::CAP_PROP_FRAME_HEIGHT)?;
        let fps = cap.get(videoio::CAP_PROP_FPS)?;
        let frames = cap.get(videoio::CAP_PROP_FRAME_COUNT)?;
        // A still picture opens with an "unknown" (negative) frame count: name the real problem.
        let bad_header = |what: String| diagnose(path).unwrap_or(VideoError::BadHeader { what });
        let side_ok = |s: f64| (MIN_SIDE_PX..=MAX_SIDE_PX).contains(&s);
        if !side_ok(coded_w) || !side_ok(coded_h) || coded_w * coded_h > MAX_PIXELS {
            return Err(bad_header(format!(
                "frame size {coded_w}x{coded_h} (accepted: {MIN_SIDE_PX}-{MAX_SIDE_PX} pixels a side, \
                 {:.0} megapixels in all)",
                MAX_PIXELS / 1e6
            )));
        }
        if !(fps.is_finite() && fps > 0.0 && fps <= 2000.0) {
            return Err(bad_header(format!("frame rate {fps} frames/s")));
        }
        let frames = if frames > 1.0e8 {
            return Err(bad_header(format!("frame count {frames}")));
        } else if frames >= 1.0 {
            frames as u64
        } else {
            // No count (OpenCV derives it from a duration the file does not give): a picture or
            // a damaged MP4 is named; anything else is decoded to its end.
            if let Some(e) = diagnose(path) {
                return Err(e);
            }
            0
        };
        let meta = cap.get(videoio::CAP_PROP_ORIENTATION_META)?;
        let rotation_deg = (((meta.round() as i64) % 360 + 360) % 360) as u32;
        // Verified pixel-identical to ffmpeg's own auto-rotation (tests/it/video.rs).
        let rotate_code = match rotation_deg {
            90 => Some(core::ROTATE_90_COUNTERCLOCKWISE),
            180 => Some(core::ROTATE_180),
            270 => Some(core::ROTATE_90_CLOCKWISE),
            _ => None,
        };
        let rotation_deg = if rotate_code.is_some() { rotation_deg } else { 0 };
        let (width, height) = if rotation_deg % 180 == 90 { (coded_h, coded_w) } else { (coded_w, coded_h) };
        Ok(VideoReader {
            path: path.to_path_buf(),
            cap,
            info: VideoInfo {
                width: width as u32,
                height: height as u32,
                fps,
                frames_declared: frames,
                rotation_deg,
                codec,
                slowmo_factor,
            },
            rotate_code,
            scratch: core::Mat::default(),
            decoded: 0,
            last_t_s: None,
            last_dt_s: 1.0 / fps / slowmo_factor,
        })
    }

    /// Facts about the clip.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// The file this reader decodes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames decoded so far.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// Decodes the next frame into `frame`, reusing its buffer. Returns `Ok(false)` at the end.
    pub fn read_into(&mut self, frame: &mut Frame) -> Result<bool, VideoError> {
        let mut failures = 0;
        loop {
            let target = if self.rotate_code.is_some() { &mut self.scratch } else { &mut frame.image };
            if self.cap.read(target)? && !target.empty() {
                break;
            }
            failures += 1;
            if failures > MAX_READ_RETRIES {
                return Ok(false);
            }
        }
        if let Some(code) = self.rotate_code {
            core::rotate(&self.scratch, &mut frame.image, code)?;
        }
        let pos_s = self.cap.get(videoio::CAP_PROP_POS_MSEC)? / 1000.0 / self.info.slowmo_factor;
        let t_s = match self.last_t_s {
            // OpenCV reports 0 (or repeats) for the last frames of a file: extrapolate.
            // (Negated so that a NaN position also counts as "not after the last".)
            Some(last) if !(pos_s > last) => last + self.last_dt_s,
            Some(last) if pos_s - last > MAX_FRAME_GAP_S => {
                return Err(VideoError::TimeGap { before: self.decoded - 1, gap_s: pos_s - last });
            }
            Some(last) => {
                self.last_dt_s = pos_s - last;
                pos_s
            }
            None => pos_s,
        };
        frame.index = self.decoded;
        frame.t_s = t_s;
        self.last_t_s = Some(t_s);
        self.decoded += 1;
        Ok(true)
    }

    /// Call after the last frame: an error when nothing decoded, or when the container shows the
    /// file was cut short. A header that declares more frames than decode is no error: edit lists
    /// (a phone's or an editor's trim) and variable frame rates make whole clips decode fewer
    /// frames than their header says, and what FFmpeg decodes is the clip. The pose track keeps
    /// both counts, and the report says when they differ by much.
    pub fn finish(&self) -> Result<(), VideoError> {
        if self.decoded == 0 {
            return Err(diagnose(&self.path).unwrap_or(VideoError::NoFrames));
        }
        let declared = self.info.frames_declared;
        if (self.decoded as f64) < SHORT_FRACTION * declared as f64 {
            // A file cut short says so in its box sizes.
            if let Some(e @ VideoError::CutShort { .. }) = diagnose(&self.path) {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// OpenCV and FFmpeg print their own complaints about bad files on stderr; formcheck reports each
/// problem once, in its own words. A user's explicit settings win.
///
/// Sets environment variables, so call it at the start of the program, before any thread exists:
/// setting one while another thread reads the environment (OpenCV and FFmpeg do, as they open
/// a clip) can crash the process, and did, once in a batch of 32 clips on two workers.
pub fn quiet_backend_logs() {
    for (var, value) in [("OPENCV_LOG_LEVEL", "SILENT"), ("OPENCV_FFMPEG_LOGLEVEL", "-8")] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, value);
        }
    }
    quiet_opencv_log();
}

/// OpenCV's own log level, through its API (safe from any thread).
fn quiet_opencv_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = core::set_log_level(core::LogLevel::LOG_LEVEL_SILENT);
    });
}

/// Decoded frames flowing to a consumer through a pool of `pool` reused buffers, so memory stays
/// flat however long the clip: the consumer takes frames from `full` and hands each back on
/// `free` when done with it. Dropping `full` (or `free`) stops the decoder.
pub struct FramePool {
    pub full: std::sync::mpsc::Receiver<Frame>,
    pub free: std::sync::mpsc::Sender<Frame>,
}

/// Starts decoding `reader` on a thread of `scope`. The thread returns the reader (for
/// [`VideoReader::finish`]) and its busy time in seconds.
pub fn spawn_decoder<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    mut reader: VideoReader,
    pool: usize,
) -> (FramePool, std::thread::ScopedJoinHandle<'scope, Result<(VideoReader, f64), VideoError>>) {
    let (full_tx, full) = std::sync::mpsc::sync_channel::<Frame>(pool);
    let (free, free_rx) = std::sync::mpsc::channel::<Frame>();
    for _ in 0..pool {
        free.send(Frame::default()).expect("receiver is alive");
    }
    let handle = scope.spawn(move || {
        let mut busy_s = 0.0;
        while let Ok(mut frame) = free_rx.recv() {
            let t0 = std::time::Instant::now();
            let more = reader.read_into(&mut frame)?;
            busy_s += t0.elapsed().as_secs_f64();
            if !more || full_tx.send(frame).is_err() {
                break;
            }
        }
        Ok((reader, busy_s))
    });
    (FramePool { full, free }, handle)
}

/// OpenCV reports the *decode* time of the first packet as the first frame's time on files with
/// B-frames (e.g. 32.8 ms where the frame's presentation time is 0, with the second frame at
/// 33.0 ms). When the first interval is under half a frame, the first time is rebuilt from the
/// second and the nominal interval. Returns the corrected first timestamp.
pub fn repair_first_timestamp(t0_s: f64, t1_s: f64, fps: f64, slowmo_factor: f64) -> f64 {
    let interval_s = 1.0 / fps / slowmo_factor;
    if t1_s - t0_s < 0.5 * interval_s {
        (t1_s - interval_s).max(0.0).min(t0_s)
    } else {
        t0_s
    }
}

fn cut_short(kind: &str, needed: u64, has_index: bool) -> String {
    if kind == "moov" {
        format!("its index (the 'moov' box) runs to byte {needed}")
    } else if has_index {
        format!("its '{kind}' box runs to byte {needed}")
    } else {
        format!("its '{kind}' box runs to byte {needed}, and its index (the 'moov' box) is missing")
    }
}

/// What is wrong with a file FFmpeg refused, when its bytes say so; `None` when they do not.
fn diagnose(path: &Path) -> Option<VideoError> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    match crate::capture::sniff::sniff(&mut file, len).ok()? {
        Sniffed::NotVideo { what } => Some(VideoError::NotAVideoFile { what }),
        Sniffed::CutShort { kind, len, needed, has_index } => {
            Some(VideoError::CutShort { kind, len, needed, has_index })
        }
        Sniffed::NoIndex => Some(VideoError::MissingIndex),
        Sniffed::DamagedIndex => Some(VideoError::DamagedIndex),
        Sniffed::NoVideoTrack { audio } => Some(VideoError::NoVideoTrack { audio }),
        Sniffed::EmptyVideoTrack => Some(VideoError::EmptyVideoTrack),
        Sniffed::Unknown => None,
    }
}

fn check_file(path: &Path) -> Result<(), VideoError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(VideoError::NotFound),
        Err(e) => return Err(VideoError::Io(e)),
    };
    if !meta.is_file() {
        return Err(VideoError::NotAFile);
    }
    if meta.len() == 0 {
        return Err(VideoError::Empty);
    }
    // OpenCV reports an unreadable file only as "cannot open": find out the real reason first.
    std::fs::File::open(path)?;
    Ok(())
}

fn fourcc_to_string(code: u32) -> String {
    code.to_le_bytes()
        .iter()
        .map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' })
        .collect::<String>()
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourcc_round_trip() {
        let code = u32::from_le_bytes(*b"avc1");
        assert_eq!(fourcc_to_string(code), "avc1");
        assert_eq!(fourcc_to_string(u32::from_le_bytes(*b"tty ")), "tty");
    }

    #[test]
    fn first_timestamp_repair_only_touches_a_too_short_first_interval() {
        // The case seen on a real clip: 32.78 ms then 32.99 ms at 30 fps.
        assert_eq!(repair_first_timestamp(0.03278, 0.03299, 30.0, 1.0), 0.0);
        // Regular clips are left alone, including ones that start later than 0.
        assert_eq!(repair_first_timestamp(0.0, 0.0333, 30.0, 1.0), 0.0);
        assert_eq!(repair_first_timestamp(1.5, 1.5333, 30.0, 1.0), 1.5);
        // Never moves the first frame later than OpenCV said.
        assert!(repair_first_timestamp(1.0, 1.01, 30.0, 1.0) <= 1.0);
    }

    #[test]
    fn missing_and_empty_files_are_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("nope.mp4");
        assert!(matches!(VideoReader::open(&missing, 1.0), Err(VideoError::NotFound)));
        let empty = dir.path().join("empty.mp4");
        std::fs::write(&empty, b"").expect("write");
        assert!(matches!(VideoReader::open(&empty, 1.0), Err(VideoError::Empty)));
        assert!(matches!(VideoReader::open(dir.path(), 1.0), Err(VideoError::NotAFile)));
        let text = dir.path().join("text.mp4");
        std::fs::write(&text, b"hello, this is not a video\n".repeat(100)).expect("write");
        assert!(VideoReader::open(&text, 1.0).is_err());
        assert!(matches!(VideoReader::open(&text, 0.0), Err(VideoError::BadSlowmo(_))));
    }
}
