//! Progress for people: one bar per clip and one for the batch on a terminal, plain lines
//! otherwise, nothing with `--quiet`; and the per-stage timings `--timings` prints.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::batch::{self, ClipJob, ClipOutcome};
use crate::capture::pipeline::Timings;

/// Progress for people: bars on a terminal, plain log lines otherwise, nothing with --quiet.
pub(super) struct Ui {
    quiet: bool,
    json: bool,
    terminal: bool,
    multi: MultiProgress,
    overall: ProgressBar,
}

impl Ui {
    pub(super) fn new(quiet: bool, json: bool, clips: u64) -> Ui {
        let terminal = std::io::stderr().is_terminal();
        let multi = MultiProgress::new();
        let overall = if quiet || !terminal { ProgressBar::hidden() } else { multi.add(ProgressBar::new(clips)) };
        overall.set_style(
            ProgressStyle::with_template("clips [{bar:30}] {pos}/{len} {elapsed_precise}")
                .expect("static template")
                .progress_chars("=> "),
        );
        Ui { quiet, json, terminal, multi, overall }
    }

    pub(super) fn clip_bar(&self, name: &str, len: u64) -> ProgressBar {
        if self.quiet || !self.terminal {
            return ProgressBar::hidden();
        }
        let bar = self.multi.add(ProgressBar::new(len));
        bar.set_style(
            ProgressStyle::with_template("  {msg:24!} [{bar:30}] {percent:>3}% {per_sec} eta {eta}")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_message(name.to_string());
        bar
    }

    pub(super) fn remove(&self, bar: &ProgressBar) {
        bar.finish_and_clear();
        self.multi.remove(bar);
    }

    pub(super) fn clip_done(&self, job: &ClipJob, outcome: &ClipOutcome) {
        self.overall.inc(1);
        let line = match outcome {
            ClipOutcome::Done { report, skipped, .. } => {
                if self.quiet {
                    return;
                }
                format!(
                    "{}: {} -> {}{}",
                    job.input.display(),
                    batch::headline(report),
                    job.out_dir.display(),
                    if *skipped { " (up to date)" } else { "" }
                )
            }
            ClipOutcome::Failed { error, .. } => {
                self.error(&format!("formcheck: {}: {error}", job.input.display()));
                return;
            }
        };
        if self.terminal {
            self.multi.println(line).ok();
        } else if self.json {
            // stdout carries only the JSON summary.
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    pub(super) fn error(&self, line: &str) {
        if self.terminal {
            self.multi.suspend(|| eprintln!("{line}"));
        } else {
            eprintln!("{line}");
        }
    }

    pub(super) fn finish(&self) {
        self.overall.finish_and_clear();
    }
}

pub(super) fn print_timings(t: &Timings) {
    let n = t.frames.max(1) as f64;
    let per_frame_ms = |s: f64| 1000.0 * s / n;
    let total_s = t.total_s();
    println!("  end to end      {:8.1} frames/s  ({:.2} s for {} frames)", n / total_s.max(1e-9), total_s, t.frames);
    println!("  tracking        {:8.1} frames/s  ({:.2} s: decode, pose and plate threads at once)", t.fps(), t.wall_s);
    println!("    decode thread {:8.2} ms/frame", per_frame_ms(t.decode_s));
    println!(
        "    pose thread   {:8.2} ms/frame  (model on {} of {} frames, the others interpolated)",
        per_frame_ms(t.pose_s),
        t.pose_frames,
        t.frames
    );
    println!("      crop+input  {:8.2} ms/frame", per_frame_ms(t.stages.crop_s));
    println!("      landmarks   {:8.2} ms/frame", per_frame_ms(t.stages.landmark_infer_s));
    println!(
        "      post        {:8.2} ms/frame  (back outline read on {} model runs; segmentation head {:.2} ms/frame)",
        per_frame_ms(t.stages.landmark_post_s),
        t.stages.outlines,
        per_frame_ms(t.stages.segmentation_s)
    );
    println!("      detector    {:8.2} ms/frame  ({} runs)", per_frame_ms(t.stages.detect_s), t.stages.detector_runs);
    println!(
        "    plate thread  {:8.2} ms/frame  ({} acquisition searches)",
        per_frame_ms(t.plate_s),
        t.plate_acquisitions
    );
    println!("  analysis        {:8.2} ms/frame", per_frame_ms(t.analysis_s));
    println!("  annotated video {:8.2} ms/frame", per_frame_ms(t.video_s));
    println!("  writing outputs {:8.2} ms/frame", per_frame_ms(t.write_s));
}
