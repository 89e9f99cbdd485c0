//! Lifter selection on footage with a bystander, built from a real clip with ffmpeg: the lifter at
//! full size in the left part of a 1280x720 canvas, and a smaller mirrored copy of the same lift
//! on the right (a bystander who also moves). For half a second the lifter is blacked out: the
//! tracker must not jump to the bystander, and must pick the lifter up again afterwards. A control
//! clip with the lifter hidden throughout shows the bystander is there to be found.

use std::path::{Path, PathBuf};
use std::process::Command;

use formcheck::posetrack::PoseFrame;

use crate::common::{self, run_ok};

/// Hips left of this x belong to the lifter, right of it to the bystander.
const SPLIT_X: f64 = 800.0;
const HIDDEN_FROM_S: f64 = 1.5;
const HIDDEN_TO_S: f64 = 2.0;

/// Builds the two-person clip; the lifter is blacked out between `from_s` and `to_s`.
fn composite(src: &Path, dir: &Path, name: &str, from_s: f64, to_s: f64) -> PathBuf {
    let out = dir.join(name);
    let filter = format!(
        "[0:v]crop=380:720:275:0,split[a][b];[b]hflip,scale=228:432[s];[a]pad=1280:720:300:0[p];[p][s]overlay=950:288,\
         drawbox=x=300:y=0:w=380:h=720:color=black:t=fill:enable='between(t,{from_s},{to_s})'"
    );
    run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(src)
            .args(["-filter_complex", &filter, "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-an"])
            .arg(&out),
    );
    out
}

fn hip_x(f: &PoseFrame) -> Option<f64> {
    f.landmarks.as_ref().map(|l| (l[23][0] + l[24][0]) / 2.0)
}

#[test]
fn follows_the_lifter_not_the_bystander_and_reacquires_after_a_loss() {
    let Some(src) = common::clip("bichraix_good014.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    let mut engine = common::engine();

    // Control: with the lifter hidden all along, the bystander is found.
    let control = common::track(&mut engine, &composite(&src, dir.path(), "control.mp4", 0.0, 100.0));
    let bystander = control.frames.iter().filter(|f| hip_x(f).is_some_and(|x| x > SPLIT_X)).count();
    assert!(bystander as f64 > 0.8 * control.frames.len() as f64, "bystander found on only {bystander} frames");

    let track = common::track(&mut engine, &composite(&src, dir.path(), "loss.mp4", HIDDEN_FROM_S, HIDDEN_TO_S));
    let t0 = track.frames[0].t_s;
    let (mut visible, mut on_lifter, mut jumped, mut after, mut after_on_lifter) = (0, 0, 0, 0, 0);
    for f in &track.frames {
        let t = f.t_s - t0;
        let on_lifter_now = hip_x(f).is_some_and(|x| x < SPLIT_X);
        jumped += usize::from(hip_x(f).is_some_and(|x| x > SPLIT_X));
        if (HIDDEN_FROM_S - 0.05..HIDDEN_TO_S + 0.05).contains(&t) {
            continue;
        }
        visible += 1;
        on_lifter += usize::from(on_lifter_now);
        if t > HIDDEN_TO_S + 0.3 {
            after += 1;
            after_on_lifter += usize::from(on_lifter_now);
        }
    }
    assert_eq!(jumped, 0, "followed the bystander on {jumped} frames");
    assert!(on_lifter as f64 >= 0.95 * visible as f64, "on the lifter in {on_lifter} of {visible} visible frames");
    assert!(
        after > 20 && after_on_lifter as f64 >= 0.95 * after as f64,
        "re-acquired on {after_on_lifter} of {after} frames"
    );
}
