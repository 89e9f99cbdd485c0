//! Video input on real clips: upright frames for rotated containers (pixel-compared with ffmpeg's
//! own rotation), container timestamps (compared with ffprobe), the slow-motion factor, and damage
//! mid-stream being skipped rather than ending the clip.

use std::path::Path;
use std::process::Command;

use formcheck::capture::video::{Frame, VideoReader};
use opencv::prelude::*;

use crate::common::{self, run_ok};

/// First `n` frames as raw BGR from ffmpeg (which applies the rotation metadata itself).
fn ffmpeg_frames_bgr(clip: &Path, n: usize) -> Vec<u8> {
    run_ok(Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(clip).args([
        "-frames:v",
        &n.to_string(),
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-",
    ]))
}

fn read_all(path: &Path, slowmo: f64) -> (VideoReader, Vec<(u64, f64)>, Vec<u8>) {
    let mut reader = VideoReader::open(path, slowmo).expect("open");
    let mut frame = Frame::default();
    let mut stamps = Vec::new();
    let mut first = Vec::new();
    while reader.read_into(&mut frame).expect("read") {
        if stamps.is_empty() {
            first = frame.image.data_bytes().expect("bytes").to_vec();
        }
        stamps.push((frame.index, frame.t_s));
    }
    (reader, stamps, first)
}

fn rotated_copy(src: &Path, dir: &Path, rotate: u32) -> std::path::PathBuf {
    let out = dir.join(format!("rot{rotate}.mov"));
    run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(src)
            .args(["-c", "copy", "-metadata:s:v:0", &format!("rotate={rotate}")])
            .arg(&out),
    );
    out
}

#[test]
fn rotated_containers_decode_upright_like_ffmpeg() {
    let Some(src) = common::clip("bichraix_good014.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    for rotate in [90u32, 180, 270] {
        let rotated = rotated_copy(&src, dir.path(), rotate);
        let reader = VideoReader::open(&rotated, 1.0).expect("open rotated");
        let info = reader.info().clone();
        assert_eq!(info.rotation_deg, rotate);
        if rotate == 180 {
            assert_eq!((info.width, info.height), (1280, 720));
        } else {
            assert_eq!((info.width, info.height), (720, 1280), "rotate={rotate}");
        }
        drop(reader);
        let (_, stamps, ours) = read_all(&rotated, 1.0);
        assert_eq!(stamps.len(), 111);
        let theirs = ffmpeg_frames_bgr(&rotated, 1);
        assert_eq!(ours.len(), theirs.len(), "rotate={rotate}: frame size differs from ffmpeg's");
        let mean_abs =
            ours.iter().zip(&theirs).map(|(a, b)| (*a as f64 - *b as f64).abs()).sum::<f64>() / ours.len() as f64;
        assert!(mean_abs < 1.0, "rotate={rotate}: mean abs difference from ffmpeg's upright frame {mean_abs:.2}");
    }
}

#[test]
fn pose_on_a_rotated_container_matches_the_original() {
    let Some(src) = common::clip("bichraix_good014.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    // rotate=270: players (and formcheck) turn the 1280x720 picture 90 deg clockwise, so the
    // upright frame is 720x1280 and a point (x, y) of the original lands at (719 - y, x).
    let rotated = rotated_copy(&src, dir.path(), 270);
    let mut engine = common::engine();
    let a = common::track(&mut engine, &src);
    let b = common::track(&mut engine, &rotated);
    assert_eq!(a.frames.len(), b.frames.len());
    assert_eq!((b.video.width, b.video.height), (a.video.height, a.video.width));
    let h = a.video.height as f64;
    let mut dists = Vec::new();
    for (fa, fb) in a.frames.iter().zip(&b.frames) {
        if let (Some(la), Some(lb)) = (&fa.landmarks, &fb.landmarks) {
            let mid = |i: usize, j: usize| ((la[i][0] + la[j][0]) / 2.0, (la[i][1] + la[j][1]) / 2.0);
            let (sh, hp) = (mid(11, 12), mid(23, 24));
            let torso = (sh.0 - hp.0).hypot(sh.1 - hp.1);
            for i in [11, 12, 23, 24, 25, 26, 27, 28] {
                let (x, y) = (h - 1.0 - la[i][1], la[i][0]);
                dists.push((x - lb[i][0]).hypot(y - lb[i][1]) / torso);
            }
        }
    }
    assert!(dists.len() > 100 * 8, "too few frames with a pose on both");
    let med = common::median(&mut dists);
    // The crop follows the body's own axis, so the model sees nearly the same pixels either way;
    // a wrong rotation direction would put the pose tens of percent away.
    assert!(med < 0.03, "median landmark distance {:.1} % of the torso between rotated and original", 100.0 * med);
}

#[test]
fn timestamps_follow_the_container() {
    // Clips with a variable or fractional frame rate, and one with B-frames whose first frame
    // OpenCV mistimes. Checked on the pose track: what users get.
    let mut engine = None;
    for name in ["mattiolato_bad_02.mp4", "mattiolato_bad_03.mp4", "siriwan_edited7.mp4", "gymapp_deadlift_1080p60.mp4"]
    {
        let Some(path) = common::clip(name) else {
            return;
        };
        let truth = common::ffprobe_frame_times(&path);
        let track = common::track(engine.get_or_insert_with(common::engine), &path);
        assert_eq!(track.frames.len(), truth.len(), "{name}: frame count differs from ffprobe");
        let t0 = track.frames[0].t_s;
        for (f, want) in track.frames.iter().zip(&truth) {
            assert!(
                ((f.t_s - t0) - want).abs() < 0.002,
                "{name} frame {}: t = {:.4} s, ffprobe {want:.4} s",
                f.i,
                f.t_s - t0
            );
        }
        // Strictly increasing, the last two frames included (OpenCV reports 0 there).
        assert!(track.frames.windows(2).all(|w| w[1].t_s > w[0].t_s), "{name}: timestamps not increasing");
    }
}

#[test]
fn slowmo_factor_divides_time() {
    let Some(path) = common::clip("posereader_good.mp4") else {
        return;
    };
    let (_, real, _) = read_all(&path, 1.0);
    let (_, slow, _) = read_all(&path, 4.0);
    for (a, b) in real.iter().zip(&slow) {
        assert!((a.1 / 4.0 - b.1).abs() < 1e-9);
    }
}

#[test]
fn damage_mid_stream_is_skipped_not_treated_as_the_end() {
    let Some(src) = common::clip("bichraix_good014.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    let mut bytes = std::fs::read(&src).expect("read");
    // Overwrite 8 KiB of the compressed stream at 40 % of the file with garbage.
    let at = bytes.len() * 2 / 5;
    for (k, b) in bytes[at..at + 8192].iter_mut().enumerate() {
        *b = (k * 131 % 251) as u8;
    }
    let damaged = dir.path().join("damaged.mp4");
    std::fs::write(&damaged, &bytes).expect("write");
    let (reader, stamps, _) = read_all(&damaged, 1.0);
    let declared = reader.info().frames_declared as usize;
    // Frames after the damage still arrive: far more than the 40 % before it.
    assert!(stamps.len() as f64 >= 0.9 * declared as f64, "decoded {} of {declared}", stamps.len());
    assert!(stamps.last().expect("frames").1 > 3.0, "stopped at the damage");
    reader.finish().expect("a damaged but mostly decodable clip is accepted");
}

#[test]
fn hevc_in_a_mov_with_a_rotation_flag_decodes_like_an_iphone_clip() {
    let Some(src) = common::clip("posereader_good.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    let hevc = dir.path().join("hevc.mov");
    run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&src)
            .args(["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1"])
            .arg(&hevc),
    );
    // The rotation flag is only kept on a stream copy.
    let rotated = dir.path().join("IMG_0001.MOV");
    run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&hevc)
            .args(["-c", "copy", "-metadata:s:v:0", "rotate=90"])
            .arg(&rotated),
    );
    let (reader, stamps, ours) = read_all(&rotated, 1.0);
    assert_eq!(reader.info().codec, "hvc1");
    assert_eq!(reader.info().rotation_deg, 90);
    assert_eq!(stamps.len(), 62);
    let theirs = ffmpeg_frames_bgr(&rotated, 1);
    let mean_abs =
        ours.iter().zip(&theirs).map(|(a, b)| (*a as f64 - *b as f64).abs()).sum::<f64>() / ours.len() as f64;
    assert_eq!(ours.len(), theirs.len());
    assert!(mean_abs < 1.0, "mean abs difference from ffmpeg's upright frame {mean_abs:.2}");
    let track = common::track(&mut common::engine(), &rotated);
    let found = track.frames.iter().filter(|f| f.landmarks.is_some()).count();
    assert!(found >= 59, "lifter found on {found} of 62 frames");
}

#[test]
fn streamed_webm_and_matroska_without_a_duration_decode_to_the_end() {
    // Browser and screen recorders write WebM as a stream: no duration, so no frame count.
    let Some(src) = common::clip("posereader_nico.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    let want = common::ffprobe_frame_times(&src).len();
    for (name, codec) in [
        ("stream.webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime"]),
        ("stream.mkv", ["-c:v", "copy", "-an", "-sn"]),
    ] {
        let path = dir.path().join(name);
        let format = if name.ends_with("webm") { "webm" } else { "matroska" };
        // Written to a pipe, the muxer cannot go back to fill in the duration.
        let bytes = run_ok(
            Command::new("ffmpeg")
                .args(["-v", "error", "-i"])
                .arg(&src)
                .args(codec)
                .args(["-an", "-f", format, "pipe:1"]),
        );
        std::fs::write(&path, bytes).expect("write");
        let (reader, stamps, _) = read_all(&path, 1.0);
        assert_eq!(reader.info().frames_declared, 0, "{name}: the file gives no count");
        assert_eq!(stamps.len(), want, "{name}: every frame decoded");
        let out = dir.path().join(format!("out-{name}"));
        let res = common::bin().arg("analyze").arg(&path).arg("-o").arg(&out).arg("--no-video").output().expect("run");
        assert!(res.status.success(), "{name}: {}", String::from_utf8_lossy(&res.stderr));
    }
}

#[test]
fn a_clip_whose_header_declares_more_frames_than_it_holds_is_analysed() {
    // A trim without re-encoding keeps the frames from the keyframe before the cut and an edit
    // list that hides them: the header declares every frame, FFmpeg decodes those after the cut.
    let Some(src) = common::clip("mattiolato_bad_02.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    let one_gop = dir.path().join("one_gop.mp4");
    run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&src)
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "1000", "-an"])
            .arg(&one_gop),
    );
    let trimmed = dir.path().join("trimmed.mp4");
    run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-ss", "2.0", "-i"])
            .arg(&one_gop)
            .args(["-c", "copy"])
            .arg(&trimmed),
    );
    let want = common::ffprobe_frame_times(&trimmed).len();
    let (reader, stamps, _) = read_all(&trimmed, 1.0);
    let declared = reader.info().frames_declared;
    assert_eq!(stamps.len(), want, "every frame FFmpeg decodes");
    assert!((want as f64) < 0.75 * declared as f64, "the header over-counts: {want} of {declared}");
    let out = dir.path().join("out");
    let res = common::bin().arg("analyze").arg(&trimmed).arg("-o").arg(&out).arg("--no-video").output().expect("run");
    assert!(res.status.success(), "refused: {}", String::from_utf8_lossy(&res.stderr));
    let report = std::fs::read_to_string(out.join("trimmed").join("report.json")).expect("report.json");
    assert!(report.contains("fewer_frames_than_declared"), "the report says the header over-counts");
}
