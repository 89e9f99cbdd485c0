//! The annotated video: a second pass over the clip that draws what the analysis found on every
//! frame and encodes H.264 (`avc1`, plays in browsers and phones) in the input's orientation and
//! frame count, at its size up to 720p (see [`encoder`]). Drawn: the skeleton with the side nearer the camera emphasised, the back
//! outline coloured by its bend, the bar path of the current rep (plate centre, or hands) and the
//! plate's rim, live trunk and lumbar angles, the rep counter and phase, the rep's range of motion
//! and speed after its lockout, and a banner for each fault from the moment it happens.
//! The frames where faults happen are also kept as JPEG stills for the HTML report.
//!
//! This module reads everything and nothing reads it. Colours are BGR.

mod encoder;
mod text;

use std::path::{Path, PathBuf};

use opencv::{core, imgcodecs, imgproc, prelude::*};

use encoder::Encoder;
pub use encoder::{output_size, MAX_SHORT_SIDE_PX};
use text::TextPainter;

use crate::analysis::config::Config;
use crate::analysis::faults::{Confidence, Severity};
use crate::analysis::report::{RepReport, Report};
use crate::capture::video::{spawn_decoder, FramePool, VideoError, VideoReader};
use crate::posetrack::layout::joint;
use crate::posetrack::PoseTrack;

/// Why the annotated video could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnnotateError {
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error("cannot create the video encoder for {path} (H.264 'avc1' unavailable?)")]
    Encoder { path: PathBuf },
    #[error("encoding {path} failed: {reason}")]
    EncoderFailed { path: PathBuf, reason: String },
    #[error("the decoding thread stopped unexpectedly")]
    DecoderPanicked,
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// An annotated frame at the moment of a fault, JPEG bytes.
#[derive(Debug, Clone)]
pub struct AnnotatedStill {
    /// 1-based rep index.
    pub rep_index: usize,
    pub code: String,
    pub at_s: f64,
    pub jpeg: Vec<u8>,
}

const GREEN: (f64, f64, f64) = (90.0, 220.0, 90.0);
const CYAN: (f64, f64, f64) = (230.0, 220.0, 40.0);
const WHITE: (f64, f64, f64) = (255.0, 255.0, 255.0);
const RED: (f64, f64, f64) = (60.0, 60.0, 235.0);
const AMBER: (f64, f64, f64) = (40.0, 170.0, 250.0);
const GREY: (f64, f64, f64) = (150.0, 150.0, 150.0);

fn color(c: (f64, f64, f64)) -> core::Scalar {
    core::Scalar::new(c.0, c.1, c.2, 0.0)
}

/// Frames in flight between the decoder and the drawing loop.
const FRAME_POOL: usize = 4;

/// Skeleton segments, left side then right side (same order), and the centre.
const LIMBS: [(usize, usize); 8] = [(11, 13), (13, 15), (11, 23), (23, 25), (25, 27), (27, 29), (29, 31), (27, 31)];

/// Decodes `clip` again, draws on every frame and writes `out` (via a temporary file renamed into
/// place). Returns stills at each fault's moment. `on_frame(done)` reports progress.
///
/// Decoding runs on its own thread and encoding in its own process (see [`encoder`]), so the
/// three overlap.
pub fn write_annotated_video(
    clip: &Path,
    slowmo_factor: f64,
    poses: &PoseTrack,
    report: &Report,
    cfg: &Config,
    out: &Path,
    on_frame: &dyn Fn(u64),
) -> Result<Vec<AnnotatedStill>, AnnotateError> {
    let reader = VideoReader::open(clip, slowmo_factor)?;
    let (w, h) = (reader.info().width as i32, reader.info().height as i32);
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // The encoder picks the container from the extension: keep .mp4 on the temporary name.
    let tmp = dir.join(format!(".formcheck-{}.tmp.mp4", std::process::id()));
    let fps = if poses.video.fps.is_finite() && poses.video.fps > 0.0 { poses.video.fps } else { 30.0 };
    let mut encoder = match Encoder::open(&tmp, fps, w, h) {
        Ok(e) => e,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let wanted = still_moments(report, poses);
    let mut stills = Vec::new();
    let out_size = output_size(w, h);
    let painter = Painter::new(poses, report, cfg, (w, h), out_size);
    let result = std::thread::scope(|s| {
        let (FramePool { full: full_rx, free: free_tx }, decoder) = spawn_decoder(s, reader, FRAME_POOL);
        let drawn = (|| -> Result<(), AnnotateError> {
            let mut scaled = core::Mat::default();
            for mut frame in full_rx.iter() {
                let i = frame.index as usize;
                // Draw at the output size: a 1080p frame has 2.25 times the pixels of 720p, and
                // the lines and text cost as much more.
                let canvas = if (frame.image.cols(), frame.image.rows()) == out_size {
                    &mut frame.image
                } else {
                    encoder::scale_into(&frame.image, out_size, &mut scaled)?;
                    &mut scaled
                };
                painter.draw(canvas, i)?;
                for (rep_index, code, at_s) in wanted.iter().filter(|m| m.3 == i).map(|m| (m.0, &m.1, m.2)) {
                    stills.push(AnnotatedStill { rep_index, code: code.clone(), at_s, jpeg: encode_still(canvas)? });
                }
                encoder.write(canvas)?;
                on_frame(frame.index + 1);
                let _ = free_tx.send(frame);
            }
            Ok(())
        })();
        // Stop the decoder if drawing or encoding failed early.
        drop(free_tx);
        drop(full_rx);
        let decoded = decoder.join();
        drawn?;
        decoded.map_err(|_| AnnotateError::DecoderPanicked)??;
        Ok(())
    });
    let result = match result {
        Ok(()) => encoder.finish(),
        Err(e) => {
            encoder.abandon();
            Err(e)
        }
    };
    match result {
        Ok(()) => {
            std::fs::rename(&tmp, out)?;
            Ok(stills)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// (rep index, code, time, frame index) of each fault, at the frame nearest its time.
fn still_moments(report: &Report, poses: &PoseTrack) -> Vec<(usize, String, f64, usize)> {
    let nearest = |t: f64| {
        poses
            .frames
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1.t_s - t).abs().total_cmp(&(b.1.t_s - t).abs()))
            .map(|(i, _)| i)
            .unwrap_or(0)
    };
    report
        .reps
        .iter()
        .flat_map(|r| r.faults.iter().map(move |f| (r.rep.index, f.code.to_string(), f.at_s)))
        .map(|(rep, code, at_s)| (rep, code, at_s, nearest(at_s)))
        .collect()
}

/// JPEG of a frame, at most 960 px wide (the page shows it small).
fn encode_still(image: &core::Mat) -> Result<Vec<u8>, AnnotateError> {
    let mut small = core::Mat::default();
    let scale = (960.0 / image.cols() as f64).min(1.0);
    let src = if scale < 1.0 {
        imgproc::resize(image, &mut small, core::Size::default(), scale, scale, imgproc::INTER_AREA)?;
        &small
    } else {
        image
    };
    let mut buf = core::Vector::<u8>::new();
    imgcodecs::imencode(".jpg", src, &mut buf, &core::Vector::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, 82]))?;
    Ok(buf.to_vec())
}

/// What to draw, prepared once per clip.
struct Painter<'a> {
    poses: &'a PoseTrack,
    report: &'a Report,
    cfg: &'a Config,
    /// Line thickness for the output's size.
    thick: i32,
    /// Output pixels per frame pixel, across and down (the track is in frame pixels).
    scale: (f64, f64),
    text: TextPainter,
}

impl<'a> Painter<'a> {
    /// For frames `frame` (width, height) drawn on at `out` size.
    fn new(poses: &'a PoseTrack, report: &'a Report, cfg: &'a Config, frame: (i32, i32), out: (i32, i32)) -> Self {
        // Size by the short side, so portrait phone clips get text that fits across them.
        let short = out.0.min(out.1) as f64;
        let font = (short / 1100.0).clamp(0.35, 1.2);
        let thick = ((short / 400.0).round() as i32).max(1);
        let scale = (out.0 as f64 / frame.0.max(1) as f64, out.1 as f64 / frame.1.max(1) as f64);
        let text = TextPainter::new(font, 1 + thick / 2);
        Painter { poses, report, cfg, thick, scale, text }
    }

    /// A point of the frame (track coordinates) on the output.
    fn pt(&self, x: f64, y: f64) -> core::Point {
        core::Point::new((x * self.scale.0).round() as i32, (y * self.scale.1).round() as i32)
    }

    fn draw(&self, img: &mut core::Mat, i: usize) -> Result<(), AnnotateError> {
        let Some(frame) = self.poses.frames.get(i) else { return Ok(()) };
        let t = frame.t_s;
        if let Some(lms) = &frame.landmarks {
            self.skeleton(img, lms)?;
        }
        self.back_outline(img, i)?;
        self.bar_path(img, i, t)?;
        self.panel(img, i, t)?;
        Ok(())
    }

    fn skeleton(&self, img: &mut core::Mat, l: &[[f64; 3]]) -> Result<(), AnnotateError> {
        // The side nearer the camera is the more visible one (labels may be swapped: go by
        // visibility, not by name).
        let vis = |side: usize| [11, 23, 25, 27].iter().map(|&k| l[k + side][2]).sum::<f64>();
        let near = if vis(0) >= vis(1) { 0 } else { 1 };
        for side in [1 - near, near] {
            let (c, th) = if side == near { (GREEN, self.thick + 1) } else { (GREY, self.thick.max(1)) };
            for (a, b) in LIMBS {
                let (a, b) = (a + side, b + side);
                imgproc::line(
                    img,
                    self.pt(l[a][0], l[a][1]),
                    self.pt(l[b][0], l[b][1]),
                    color(c),
                    th,
                    imgproc::LINE_AA,
                    0,
                )?;
            }
        }
        for (a, b) in [(11, 12), (23, 24), (joint::LEFT_EAR + near, 11 + near)] {
            imgproc::line(
                img,
                self.pt(l[a][0], l[a][1]),
                self.pt(l[b][0], l[b][1]),
                color(GREEN),
                self.thick,
                imgproc::LINE_AA,
                0,
            )?;
        }
        for k in [11, 23, 25, 27, 15].map(|k| k + near) {
            imgproc::circle(img, self.pt(l[k][0], l[k][1]), self.thick + 2, color(WHITE), -1, imgproc::LINE_AA, 0)?;
        }
        Ok(())
    }

    /// The dorsal outline up to where it stops being the back (a hood or hair above is not
    /// drawn: it was not measured), each segment coloured from green (neutral) to red (the
    /// rounded-back fault threshold) by this frame's bend.
    fn back_outline(&self, img: &mut core::Mat, i: usize) -> Result<(), AnnotateError> {
        let Some(back) = &self.poses.frames[i].back else { return Ok(()) };
        let facing_right = matches!(self.report.facing, crate::analysis::track::Facing::Right);
        let widths = if facing_right { &back.back_if_facing_right } else { &back.back_if_facing_left };
        let (hx, hy, sx, sy) = (back.hip[0], back.hip[1], back.shoulder[0], back.shoulder[1]);
        let (ax, ay) = (sx - hx, sy - hy);
        let sign = if facing_right { 1.0 } else { -1.0 };
        let n = widths.len().max(2);
        let top = crate::analysis::kinematics::back_top(&widths.iter().map(|w| w.map(f64::from)).collect::<Vec<_>>());
        let points: Vec<Option<core::Point>> = widths
            .iter()
            .take(top + 1)
            .enumerate()
            .map(|(k, w)| {
                let t = k as f64 / (n - 1) as f64;
                w.map(|w| self.pt(hx + t * ax + w * sign * ay, hy + t * ay - w * sign * ax))
            })
            .collect();
        let bend = self.report.series.lumbar_flexion_deg.get(i).copied().flatten();
        let c =
            bend_color(bend, self.cfg.faults.rounded_lower_back.warn_deg, self.cfg.faults.rounded_lower_back.fault_deg);
        for pair in points.windows(2) {
            if let [Some(a), Some(b)] = pair {
                imgproc::line(img, *a, *b, color(c), self.thick + 2, imgproc::LINE_AA, 0)?;
            }
        }
        Ok(())
    }

    /// The bar's path (the report's: plate centre or hands) since the current rep started, or
    /// over the last second between reps; with a plate, its rim on this frame.
    fn bar_path(&self, img: &mut core::Mat, i: usize, t: f64) -> Result<(), AnnotateError> {
        let from_s = self.current_rep(t).map_or(t - 1.0, |r| r.rep.start_s);
        let path = &self.report.bar.path;
        // Entries are in time order: the ones from `from_s` up to this frame's time.
        let lo = path.partition_point(|p| p[0] < from_s - 1e-6);
        let hi = path.partition_point(|p| p[0] <= t + 1e-6);
        let mut prev: Option<(f64, core::Point)> = None;
        for p in &path[lo..hi] {
            let here = self.pt(p[1], p[2]);
            // No line across a gap in the path.
            if let Some((_, a)) = prev.filter(|(t0, _)| p[0] - t0 < 0.2) {
                imgproc::line(img, a, here, color(CYAN), self.thick, imgproc::LINE_AA, 0)?;
            }
            prev = Some((p[0], here));
        }
        if let Some([x, y, d, _, aspect]) = self.poses.frames[i].plate {
            let axes = core::Size::new(
                (0.5 * d * aspect * self.scale.0).round() as i32,
                (0.5 * d * self.scale.1).round() as i32,
            );
            let thick = 1.max(self.thick / 2);
            imgproc::ellipse(img, self.pt(x, y), axes, 0.0, 0.0, 360.0, color(CYAN), thick, imgproc::LINE_AA, 0)?;
        }
        Ok(())
    }

    /// "ROM 58 cm, mean 0.52 m/s, peak 0.81 m/s" for a rep past its lockout, when measured.
    fn rep_speed_line(r: &RepReport) -> Option<String> {
        let m = &r.metrics;
        let mut parts = vec![format!("ROM {:.0} cm", m.rom_cm?)];
        if let Some(v) = m.mean_concentric_velocity_m_per_s {
            parts.push(format!("mean {v:.2} m/s"));
        }
        if let Some(v) = m.peak_concentric_velocity_m_per_s {
            parts.push(format!("peak {v:.2} m/s"));
        }
        Some(parts.join(", "))
    }

    fn current_rep(&self, t: f64) -> Option<&RepReport> {
        self.report.reps.iter().find(|r| r.rep.start_s <= t && t <= r.rep.end_s)
    }

    /// Rep counter, phase, live angles, and fault banners.
    fn panel(&self, img: &mut core::Mat, i: usize, t: f64) -> Result<(), AnnotateError> {
        let mut lines: Vec<(String, (f64, f64, f64))> = Vec::new();
        let total = self.report.reps.len();
        let status = match self.current_rep(t) {
            Some(r) => {
                let p = &r.rep;
                let phase = if t < p.floor_break_s {
                    "setup"
                } else if t < p.lockout_s {
                    "pull"
                } else if t < p.descent_s {
                    "lockout"
                } else {
                    "descent"
                };
                format!("Rep {}/{} - {}", p.index, total, phase)
            }
            None => format!("{} rep{} found", total, if total == 1 { "" } else { "s" }),
        };
        lines.push((status, WHITE));
        // Round first so that -0.3 shows as "0", not "-0".
        let fmt = |v: Option<f64>| v.map_or("--".to_string(), |v| format!("{:.0} deg", v.round() + 0.0));
        let s = &self.report.series;
        lines.push((
            format!(
                "trunk {}   back bend {}",
                fmt(s.trunk_incline_deg.get(i).copied().flatten()),
                fmt(s.lumbar_flexion_deg.get(i).copied().flatten())
            ),
            WHITE,
        ));
        if let Some(line) = self.current_rep(t).filter(|r| t >= r.rep.lockout_s).and_then(Self::rep_speed_line) {
            lines.push((line, CYAN));
        }
        if !self.report.reliable {
            lines.push(("view/track unreliable: findings are informational".into(), GREY));
        }
        if let Some(r) = rep_whose_findings_show(&self.report.reps, t) {
            for f in r.faults.iter().filter(|f| f.at_s <= t) {
                let c = match f.severity {
                    Severity::Fault => RED,
                    Severity::Warn => AMBER,
                    Severity::Info => GREY,
                };
                let sure = match f.confidence {
                    Confidence::High => "",
                    Confidence::Medium => " (medium confidence)",
                    Confidence::Low => " (low confidence)",
                };
                lines.push((format!("{}{sure}: {}", f.code.replace('_', " "), f.cue), c));
            }
        }
        self.text_box(img, &lines)
    }

    fn text_box(&self, img: &mut core::Mat, lines: &[(String, (f64, f64, f64))]) -> Result<(), AnnotateError> {
        let portrait = img.rows() > img.cols();
        let max_w = (img.cols() as f64 * if portrait { 0.92 } else { 0.6 }) as i32;
        let mut wrapped: Vec<(String, (f64, f64, f64))> = Vec::new();
        for (text, c) in lines {
            for l in self.wrap(text, max_w)? {
                wrapped.push((l, *c));
            }
        }
        let line_h = self.text.size("Ag")?.height + 10;
        let width = wrapped
            .iter()
            .map(|(l, _)| self.text.size(l).map(|s| s.width))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .max()
            .unwrap_or(0);
        let rect = core::Rect::new(8, 8, width + 20, line_h * wrapped.len() as i32 + 10);
        let rect = rect & core::Rect::new(0, 0, img.cols(), img.rows());
        // Darken the box for legibility.
        {
            let mut roi = core::Mat::roi_mut(img, rect)?;
            let src = roi.try_clone()?;
            src.convert_to(&mut roi, -1, 0.35, 0.0)?;
        }
        for (k, (l, c)) in wrapped.iter().enumerate() {
            let org = core::Point::new(18, 8 + line_h * (k as i32 + 1));
            self.text.draw(img, l, org, color(*c))?;
        }
        Ok(())
    }

    fn wrap(&self, text: &str, max_w: i32) -> Result<Vec<String>, AnnotateError> {
        let mut out = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            let w = self.text.size(&candidate)?.width;
            if w > max_w && !line.is_empty() {
                out.push(std::mem::replace(&mut line, word.to_string()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            out.push(line);
        }
        Ok(out)
    }
}

/// Green below the warning threshold, amber up to the fault threshold, red beyond; grey unknown.
fn bend_color(bend: Option<f64>, warn: f64, fault: f64) -> (f64, f64, f64) {
    match bend {
        None => GREY,
        Some(b) if b >= fault => RED,
        Some(b) if b >= warn => AMBER,
        Some(_) => GREEN,
    }
}

/// The rep whose findings the video shows at `t`: the current rep, or for a second after it ends
/// the one just finished; never a finished rep's beside the next one's.
fn rep_whose_findings_show(reps: &[RepReport], t: f64) -> Option<&RepReport> {
    reps.iter().filter(|r| r.rep.start_s <= t).last().filter(|r| t <= r.rep.end_s + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_video_shows_one_reps_findings_at_a_time() {
        let rep = |index: usize, start_s: f64| RepReport {
            rep: crate::analysis::reps::Rep::example(index, start_s),
            metrics: Default::default(),
            faults: Vec::new(),
        };
        // Three-second reps back to back (the first ends as the second starts), then a pause.
        let reps = [rep(1, 0.0), rep(2, 3.0), rep(3, 8.0)];
        let shown = |t: f64| rep_whose_findings_show(&reps, t).map(|r| r.rep.index);
        assert_eq!(shown(1.0), Some(1));
        assert_eq!(shown(3.5), Some(2), "the next rep's start ends the last one's findings");
        assert_eq!(shown(6.8), Some(2), "a second after the last rep");
        assert_eq!(shown(7.5), None);
        assert_eq!(shown(12.5), None);
    }

    #[test]
    fn bend_colours_follow_the_thresholds() {
        assert_eq!(bend_color(Some(0.0), 12.0, 18.0), GREEN);
        assert_eq!(bend_color(Some(13.0), 12.0, 18.0), AMBER);
        assert_eq!(bend_color(Some(30.0), 12.0, 18.0), RED);
        assert_eq!(bend_color(None, 12.0, 18.0), GREY);
    }
}
