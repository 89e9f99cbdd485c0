//! Lifter selection on footage with a bystander, built from a real clip with ffmpeg: the lifter
//! (full size, left half of a wide canvas) and a smaller mirrored copy of the same lift (right
//! half, a bystander who also moves). For half a second the lifter is blacked out: the tracker
//! must not jump to the bystander, and must pick the lifter up again afterwards.

use std::process::Command;

use crate::common::{self, run_ok};

const CANVAS_W: f64 = 1280.0;
const HIDDEN_FROM_S: f64 = 1.5;
const HIDDEN_TO_S: f64 = 2.0;

#[test]
fn follows_the_lifter_not_the_bystander_and_reacquires_after_a_loss() {
    let Some(src) = common::clip("bichraix_good014.mp4") else { return };
    let dir = tempfile::tempdir().expect("temp");
    let composite = dir.path().join("with_bystander.mp4");
    let filter = format!(
        "[0:v]scale=640:360,split[a][b];[b]hflip,scale=384:216[s];[a]pad=1280:360[p];[p][s]overlay=896:144,\
         drawbox=x=0:y=0:w=640:h=360:color=black:t=fill:enable='between(t,{HIDDEN_FROM_S},{HIDDEN_TO_S})'"
    );
    run_ok(Command::new("ffmpeg").args(["-v", "error", "-y", "-i"]).arg(&src).args([
        "-filter_complex",
        &filter,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "18",
        "-an",
    ]).arg(&composite));
    let mut engine = common::engine();
    let track = common::track(&mut engine, &composite);
    let hip_x = |f: &formcheck::posetrack::PoseFrame| f.landmarks.as_ref().map(|l| (l[23][0] + l[24][0]) / 2.0);
    let t0 = track.frames[0].t_s;
    let (mut visible, mut on_lifter, mut on_bystander_while_hidden, mut after_found, mut after) = (0, 0, 0, 0, 0);
    for f in &track.frames {
        let t = f.t_s - t0;
        let x = hip_x(f);
        if (HIDDEN_FROM_S + 0.05..HIDDEN_TO_S - 0.05).contains(&t) {
            on_bystander_while_hidden += usize::from(x.is_some_and(|x| x > CANVAS_W / 2.0));
            continue;
        }
        visible += 1;
        on_lifter += usize::from(x.is_some_and(|x| x < CANVAS_W / 2.0));
        if t > HIDDEN_TO_S + 0.3 {
            after += 1;
            after_found += usize::from(x.is_some_and(|x| x < CANVAS_W / 2.0));
        }
    }
    assert_eq!(on_bystander_while_hidden, 0, "jumped to the bystander while the lifter was hidden");
    assert!(on_lifter as f64 >= 0.9 * visible as f64, "on the lifter in {on_lifter} of {visible} visible frames");
    assert!(after > 20 && after_found as f64 >= 0.9 * after as f64, "re-acquired the lifter on {after_found} of {after} frames");
}
