//! H.264 encoding of the annotated frames.
//!
//! The `ffmpeg` program (installed beside OpenCV by `scripts/setup.sh`) is preferred: it takes raw
//! I420 frames on a pipe and runs libx264 in its own process, beside the decoding and drawing.
//! The preset is `ultrafast` (`$FORMCHECK_X264_PRESET` changes it): on a 2-core laptop a 1080p30
//! clip with its annotated video then analyses in real time (measured: 1 min of video in 50-58 s;
//! `veryfast` took 64 s when ultrafast took 58, and writes files a quarter the size). OpenCV's writer also uses libx264
//! but at the `medium` preset, which it does not let a caller change (about 2.5x veryfast's CPU per
//! frame), so it is only the fallback when `ffmpeg` cannot be started. Both write H.264 in MP4
//! (`avc1`), which browsers and phones play.
//!
//! Frames larger than [`MAX_SHORT_SIDE_PX`] on their short side are scaled down ([`scale_into`],
//! by the caller, before drawing): the video is for watching the lift on a laptop or a phone, and
//! a 4K encode would take several times the analysis itself. The report's stills are taken from
//! the same scaled frames.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use opencv::{core, imgproc, prelude::*, videoio};

use super::AnnotateError;

/// The annotated video's short side is at most this (px): 720p for landscape 1080p and 4K clips.
pub const MAX_SHORT_SIDE_PX: i32 = 720;

/// libx264 preset used by default (see the module comment for the measurements behind it).
pub const DEFAULT_PRESET: &str = "ultrafast";
/// libx264 constant rate factor: 26 keeps ultrafast's files at ~2/3 of its CRF 23 size, with
/// the overlay text still crisp.
const CRF: &str = "26";

/// The program used for encoding: `$FORMCHECK_FFMPEG`, else `ffmpeg` on the PATH.
fn ffmpeg_program() -> PathBuf {
    std::env::var_os("FORMCHECK_FFMPEG").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("ffmpeg"))
}

/// libx264's speed preset: `$FORMCHECK_X264_PRESET`, else [`DEFAULT_PRESET`].
fn x264_preset() -> String {
    std::env::var("FORMCHECK_X264_PRESET")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PRESET.to_string())
}

/// The encoded size for a `width` x `height` frame: scaled down to [`MAX_SHORT_SIDE_PX`] on the
/// short side, keeping the aspect ratio, with even sides (H.264 in 4:2:0 needs them).
pub fn output_size(width: i32, height: i32) -> (i32, i32) {
    let short = width.min(height);
    let even = |v: f64| ((v / 2.0).round() as i32 * 2).max(2);
    if short <= MAX_SHORT_SIDE_PX {
        return (even(width as f64), even(height as f64));
    }
    let k = MAX_SHORT_SIDE_PX as f64 / short as f64;
    (even(width as f64 * k), even(height as f64 * k))
}

/// An open encoder writing to a temporary file.
pub enum Encoder {
    Ffmpeg { child: Child, stdin: Option<ChildStdin>, size: (i32, i32), yuv: core::Mat, path: PathBuf },
    OpenCv { writer: videoio::VideoWriter, size: (i32, i32), path: PathBuf },
}

impl Encoder {
    /// Starts encoding `width` x `height` BGR frames at `fps` into `path` (an .mp4 name).
    pub fn open(path: &Path, fps: f64, width: i32, height: i32) -> Result<Encoder, AnnotateError> {
        let size = output_size(width, height);
        let spawned = Command::new(ffmpeg_program())
            // Frames go down the pipe as I420 (converted here by OpenCV, which is several times
            // faster than ffmpeg's own BGR conversion, and half the bytes of BGR).
            .args(["-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s"])
            .arg(format!("{}x{}", size.0, size.1))
            .arg("-r")
            .arg(format!("{fps}"))
            .args(["-i", "-", "-an", "-c:v", "libx264", "-preset", &x264_preset(), "-crf", CRF, "-pix_fmt", "yuv420p"])
            .args(["-movflags", "+faststart", "-f", "mp4"])
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        match spawned {
            Ok(mut child) => {
                let stdin = child.stdin.take();
                Ok(Encoder::Ffmpeg { child, stdin, size, yuv: core::Mat::default(), path: path.to_path_buf() })
            }
            Err(_) => {
                let fourcc = videoio::VideoWriter::fourcc('a', 'v', 'c', '1')?;
                let writer = videoio::VideoWriter::new(
                    path.to_string_lossy().as_ref(),
                    fourcc,
                    fps,
                    core::Size::new(size.0, size.1),
                    true,
                )?;
                if !writer.is_opened()? {
                    return Err(AnnotateError::Encoder { path: path.to_path_buf() });
                }
                Ok(Encoder::OpenCv { writer, size, path: path.to_path_buf() })
            }
        }
    }

    /// Appends one frame: 8-bit BGR at [`output_size`] of the size given to `open`.
    pub fn write(&mut self, image: &core::Mat) -> Result<(), AnnotateError> {
        match self {
            Encoder::Ffmpeg { stdin, size, yuv, path, .. } => {
                check_size(image, *size, path)?;
                imgproc::cvt_color_def(image, yuv, imgproc::COLOR_BGR2YUV_I420)?;
                let bytes = if yuv.is_continuous() { yuv.data_bytes()? } else { return Err(not_continuous(path)) };
                let pipe = stdin.as_mut().ok_or_else(|| AnnotateError::EncoderFailed {
                    path: path.clone(),
                    reason: "the encoder's input is closed".to_string(),
                })?;
                // A write error means ffmpeg stopped; `finish` reports why.
                pipe.write_all(bytes).map_err(|e| AnnotateError::EncoderFailed {
                    path: path.clone(),
                    reason: format!("ffmpeg stopped taking frames ({e})"),
                })
            }
            Encoder::OpenCv { writer, size, path } => {
                check_size(image, *size, path)?;
                writer.write(image)?;
                Ok(())
            }
        }
    }

    /// Flushes and closes the file; an error says why the encoder failed.
    pub fn finish(self) -> Result<(), AnnotateError> {
        match self {
            Encoder::Ffmpeg { child, stdin, path, .. } => {
                drop(stdin);
                let out = child.wait_with_output()?;
                if out.status.success() {
                    Ok(())
                } else {
                    let text = String::from_utf8_lossy(&out.stderr);
                    let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim();
                    Err(AnnotateError::EncoderFailed { path, reason: format!("ffmpeg {}: {last}", out.status) })
                }
            }
            Encoder::OpenCv { mut writer, .. } => {
                writer.release()?;
                Ok(())
            }
        }
    }

    /// Stops encoding without a usable file (the caller removes it).
    pub fn abandon(self) {
        if let Encoder::Ffmpeg { mut child, stdin, .. } = self {
            drop(stdin);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn not_continuous(path: &Path) -> AnnotateError {
    AnnotateError::EncoderFailed { path: path.to_path_buf(), reason: "frame memory is not contiguous".to_string() }
}

/// Frames come at the encoder's size (the caller scales them with [`scale_into`], to draw on the
/// pixels that are kept).
fn check_size(image: &core::Mat, size: (i32, i32), path: &Path) -> Result<(), AnnotateError> {
    if (image.cols(), image.rows()) == size {
        return Ok(());
    }
    Err(AnnotateError::EncoderFailed {
        path: path.to_path_buf(),
        reason: format!("a {}x{} frame for a {}x{} video", image.cols(), image.rows(), size.0, size.1),
    })
}

/// `image` scaled to `size` (width, height) into `out`.
pub(super) fn scale_into(image: &core::Mat, size: (i32, i32), out: &mut core::Mat) -> Result<(), AnnotateError> {
    // Bilinear is a third of the cost of area averaging at 1080p -> 720p (a 1.5x step, for which
    // OpenCV has no fast area path); from 2x down, area averaging avoids aliasing.
    let shrink = image.rows() as f64 / size.1 as f64;
    let interpolation = if shrink < 2.0 { imgproc::INTER_LINEAR } else { imgproc::INTER_AREA };
    imgproc::resize(image, out, core::Size::new(size.0, size.1), 0.0, 0.0, interpolation)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_frames_are_scaled_to_720_on_the_short_side_with_even_sides() {
        assert_eq!(output_size(1920, 1080), (1280, 720));
        assert_eq!(output_size(1080, 1920), (720, 1280));
        assert_eq!(output_size(3840, 2160), (1280, 720));
        assert_eq!(output_size(1280, 720), (1280, 720));
        assert_eq!(output_size(600, 600), (600, 600));
        // Odd sizes round to even ones.
        assert_eq!(output_size(853, 479), (854, 480));
        let (w, h) = output_size(1000, 3000);
        assert_eq!((w, h), (720, 2160));
    }
}
