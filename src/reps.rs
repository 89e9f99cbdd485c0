//! Splitting a set into reps and phases.
//!
//! The driving signal is the trunk incline (robust to feet out of frame and plates hiding the
//! legs): the lifter is *down* at the bar when it is at least `bottom_trunk_incline_deg` from
//! vertical and *up* when within `top_trunk_incline_deg`. Every down -> up transition is a
//! candidate pull; it counts as a deadlift rep when the hands start below the knees and rise at
//! least `min_bar_rise_torso`. Phase times then come from the bar (hands) height, as fractions of
//! the rep's own rise, so no threshold is in pixels or frames:
//! setup (start) -> floor break -> knee pass -> lockout -> descent -> end (bar back down).
//! Touch-and-go and paused reps differ only in how long the lifter stays down.

use crate::config::RepConfig;
use crate::kinematics::Kinematics;
use crate::signal;

/// Times of one rep's phases, seconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rep {
    pub index: usize,
    /// Set up at the bar (down, before the floor break).
    pub start_s: f64,
    pub floor_break_s: f64,
    /// The bar passes knee height (absent when the knees are not seen).
    pub knee_pass_s: Option<f64>,
    pub lockout_s: f64,
    /// The bar starts down.
    pub descent_s: f64,
    /// The bar is back down (or the clip ended).
    pub end_s: f64,
    /// Frame indices of the same events.
    #[serde(skip)]
    pub frames: RepFrames,
    /// Bar height at the floor and at the top, torso lengths.
    pub bar_floor_torso: f64,
    pub bar_top_torso: f64,
    /// Whether the bar came back down before the clip ended.
    pub descent_complete: bool,
}

/// Frame indices of a rep's events.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RepFrames {
    pub start: usize,
    pub floor_break: usize,
    pub knee_pass: Option<usize>,
    pub lockout: usize,
    pub descent: usize,
    pub end: usize,
}

/// Something about the set that is not a rep.
#[derive(Debug, Clone, PartialEq)]
pub enum RepNote {
    /// The clip starts or ends during a rep.
    PartialRep { at_s: f64, starts: bool },
    /// Pulls were seen but they were not deadlifts (hands not below the knees, or too little rise).
    NotADeadlift { reason: String },
}

/// Reps found, and notes about what else was seen.
#[derive(Debug, Clone, Default)]
pub struct Segmentation {
    pub reps: Vec<Rep>,
    pub notes: Vec<RepNote>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Down,
    Up,
}

/// A run of frames in one state: [first, last].
#[derive(Debug, Clone, Copy)]
struct Segment {
    state: State,
    first: usize,
    last: usize,
}

fn segments(k: &Kinematics, cfg: &RepConfig) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for (i, incl) in k.trunk_incline_deg.iter().enumerate() {
        let state = match incl {
            Some(a) if *a >= cfg.bottom_trunk_incline_deg => State::Down,
            Some(a) if *a <= cfg.top_trunk_incline_deg => State::Up,
            _ => continue,
        };
        match out.last_mut() {
            Some(s) if s.state == state => s.last = i,
            _ => out.push(Segment { state, first: i, last: i }),
        }
    }
    out
}

fn bar(k: &Kinematics, i: usize) -> Option<f64> {
    k.bar_height_torso[i]
}

/// Plate seen at most this share of the hands' rise above its floor counts as still down.
const PLATE_STILL_DOWN_FRAC: f64 = 0.2;
/// Share of the frames with the hands high and the plate seen on which the plate must still be
/// down to call the pull one without the bar (a few frames of a misread plate do not).
const PLATE_DOWN_SHARE: f64 = 0.8;
/// ... and how long (s) the plate must have been seen down with the hands high.
const PLATE_DOWN_MIN_S: f64 = 0.15;

/// Letting go of the bar after the set and standing up moves the hands (and the trunk) exactly as
/// a pull does; only the bar tells them apart. With the plate followed, a "pull" in `fb..=top_i`
/// during which the hands were above `hands_high` (torso lengths) while the plate stayed within
/// [`PLATE_STILL_DOWN_FRAC`] of the hands' `rise` of its own floor (its lowest point from
/// `floor_i`) is no rep. Says why, or `None` (also when the plate was not seen: no evidence).
fn bar_left_on_the_floor(
    k: &Kinematics,
    fb: usize,
    top_i: usize,
    floor_i: usize,
    hands_high: f64,
    rise: f64,
) -> Option<String> {
    let plate = |i: usize| k.plate_height_torso.get(i).copied().flatten();
    let plate_floor = (floor_i..=fb).filter_map(plate).fold(f64::INFINITY, f64::min);
    if !plate_floor.is_finite() {
        return None;
    }
    let (mut seen, mut down, mut down_s) = (0usize, 0usize, 0.0);
    for i in fb..=top_i {
        let (Some(h), Some(p)) = (bar(k, i), plate(i)) else { continue };
        if h < hands_high {
            continue;
        }
        seen += 1;
        if p <= plate_floor + PLATE_STILL_DOWN_FRAC * rise {
            down += 1;
            if i > fb {
                down_s += k.t_s[i] - k.t_s[i - 1];
            }
        }
    }
    (seen > 0 && down as f64 >= PLATE_DOWN_SHARE * seen as f64 && down_s >= PLATE_DOWN_MIN_S).then(|| {
        format!(
            "the hands rose {rise:.2} torso lengths but the plate stayed on the floor (the lifter let go of the bar)"
        )
    })
}

/// Splits the kinematics into reps.
pub fn segment(k: &Kinematics, cfg: &RepConfig) -> Segmentation {
    let segs = segments(k, cfg);
    let mut out = Segmentation::default();
    let n = k.t_s.len();
    if n == 0 {
        return out;
    }
    let mut rejected = Vec::new();
    for w in 0..segs.len().saturating_sub(1) {
        let (down, up) = (segs[w], segs[w + 1]);
        if down.state != State::Down || up.state != State::Up {
            continue;
        }
        // The bar's floor: lowest hands in the down segment. Its top: the median hand height
        // while standing (the bar sits at lockout most of that time; a maximum would follow a
        // one-frame landmark spike).
        let Some((floor_i, floor)) = extreme(k, down.first, down.last, false) else {
            continue;
        };
        let Some(top) = signal::median_of((up.first..=up.last).filter_map(|i| bar(k, i))) else {
            continue;
        };
        let top_i = up.last;
        let rise = top - floor;
        if rise < cfg.min_bar_rise_torso {
            rejected.push(format!("the hands rose only {rise:.2} torso lengths"));
            continue;
        }
        let level = |frac: f64| floor + frac * rise;
        // Floor break: the last frame at the floor level before the bar first reaches mid-rise.
        let Some(mid) = (floor_i..=top_i).find(|&i| bar(k, i).is_some_and(|b| b >= level(0.5))) else {
            rejected.push("the hands never reached half their rise".into());
            continue;
        };
        let Some(crossing) =
            (floor_i..=mid).rev().find(|&i| bar(k, i).is_some_and(|b| b <= level(cfg.floor_break_rise_frac)))
        else {
            continue;
        };
        // The crossing comes a few frames after the bar starts moving: walk back while the bar was
        // still clearly moving up (faster than a small fraction of this pull's peak speed). Slow
        // drifts of the hands during the setup stop the walk.
        let peak_speed = (crossing..=top_i).filter_map(|i| k.bar_velocity_torso_per_s[i]).fold(0.0, f64::max);
        let moving =
            |i: usize| k.bar_velocity_torso_per_s[i].is_some_and(|v| v > cfg.floor_break_speed_frac * peak_speed);
        let mut fb = crossing;
        while fb > floor_i && moving(fb - 1) {
            fb -= 1;
        }
        if let Some(reason) = bar_left_on_the_floor(k, fb, top_i, floor_i, level(0.5), rise) {
            rejected.push(reason);
            continue;
        }
        let knee_at_fb = k.knee_height_torso[fb];
        if let Some(knee) = knee_at_fb {
            if floor > cfg.max_setup_hand_height_knee_frac * knee {
                rejected.push(format!("the hands started {:.2} torso lengths up, above the knees ({knee:.2})", floor));
                continue;
            }
        }
        // Lockout: the bar at its top with the lifter standing tall and the hips as open as they
        // get in this rep (a soft lockout never reaches 180 deg: its own best is its lockout).
        // (75th percentile, not the maximum: one misplaced hip landmark must not set the bar.)
        let hip_best = {
            let mut v: Vec<f64> = (up.first..=up.last).filter_map(|i| k.hip_angle_deg[i]).collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() * 3 / 4).copied()
        };
        let standing = |i: usize| {
            k.trunk_incline_deg[i].is_some_and(|a| a <= cfg.top_trunk_incline_deg)
                && match (hip_best, k.hip_angle_deg[i]) {
                    (Some(best), Some(h)) => h >= best - cfg.lockout_hip_within_deg,
                    _ => true,
                }
        };
        let Some(lockout) =
            (fb..=top_i).find(|&i| standing(i) && bar(k, i).is_some_and(|b| b >= level(cfg.lockout_rise_frac)))
        else {
            rejected.push("the lifter never stood tall with the bar at the top".into());
            continue;
        };
        if k.t_s[lockout] - k.t_s[fb] < cfg.min_concentric_s {
            rejected.push("the pull was too fast to be a rep".into());
            continue;
        }
        let knee_pass =
            (fb..=lockout).find(|&i| matches!((bar(k, i), k.knee_height_torso[i]), (Some(b), Some(kn)) if b >= kn));
        // Descent: the last frame near the top before the bar goes back down.
        let next_down = segs[w + 2..].iter().find(|s| s.state == State::Down).copied();
        let search_end = next_down.map_or(n - 1, |s| s.last);
        let first_low = (top_i..=search_end).find(|&i| bar(k, i).is_some_and(|b| b < level(cfg.lockout_rise_frac)));
        let descent = match first_low {
            Some(i) => (top_i..i).rev().find(|&j| bar(k, j).is_some()).unwrap_or(top_i),
            None => search_end,
        };
        // End: the bar back at the floor level (the lowest point of the next down segment).
        let (end, descent_complete) = match next_down.and_then(|s| extreme(k, s.first, s.last, false)) {
            Some((low_i, low)) if low <= level(0.3) => {
                let end =
                    (descent..=low_i).find(|&i| bar(k, i).is_some_and(|b| b <= low + cfg.floor_break_rise_frac * rise));
                (end.unwrap_or(low_i), true)
            }
            _ => (n - 1, false),
        };
        let start = out.reps.last().map_or(down.first, |r: &Rep| r.frames.end.max(down.first)).min(fb);
        let frames = RepFrames { start, floor_break: fb, knee_pass, lockout, descent, end };
        out.reps.push(Rep {
            index: out.reps.len() + 1,
            start_s: k.t_s[start],
            floor_break_s: k.t_s[fb],
            knee_pass_s: knee_pass.map(|i| k.t_s[i]),
            lockout_s: k.t_s[lockout],
            descent_s: k.t_s[descent],
            end_s: k.t_s[end],
            frames,
            bar_floor_torso: floor,
            bar_top_torso: top,
            descent_complete,
        });
    }
    partial_reps(k, cfg, &segs, &mut out);
    if out.reps.is_empty() && !rejected.is_empty() {
        out.notes.push(RepNote::NotADeadlift { reason: rejected.join("; ") });
    }
    out
}

/// Lowest (or highest) seen bar height in frames `a..=b`.
fn extreme(k: &Kinematics, a: usize, b: usize, highest: bool) -> Option<(usize, f64)> {
    (a..=b).filter_map(|i| bar(k, i).map(|v| (i, v))).reduce(|best, cur| {
        if (cur.1 > best.1) == highest && cur.1 != best.1 {
            cur
        } else {
            best
        }
    })
}

/// A clip that starts on the way up, or ends on the way up, holds part of a rep.
fn partial_reps(k: &Kinematics, cfg: &RepConfig, segs: &[Segment], out: &mut Segmentation) {
    let typical_rise = out.reps.iter().map(|r| r.bar_top_torso - r.bar_floor_torso).fold(f64::NAN, f64::max);
    let rise = if typical_rise.is_finite() { typical_rise } else { cfg.min_bar_rise_torso * 2.0 };
    if starts_mid_rep(k, segs, rise, out) {
        out.notes.push(RepNote::PartialRep { at_s: k.t_s[0], starts: true });
    }
    partial_end(k, cfg, segs, rise, out);
}

/// The clip began during a pull: either it begins down with a pull that did not count (the hands
/// were already on their way up) in a set that has reps, or the first state seen is "up",
/// reached from hands clearly below their top.
fn starts_mid_rep(k: &Kinematics, segs: &[Segment], rise: f64, out: &Segmentation) -> bool {
    match segs {
        [first, second, ..] if first.state == State::Down && second.state == State::Up => {
            let counted = out.reps.iter().any(|r| (first.first..=first.last).contains(&r.frames.floor_break));
            !out.reps.is_empty() && !counted
        }
        [first, ..] if first.state == State::Up => {
            let top = extreme(k, first.first, first.last, true).map(|e| e.1);
            let start_bar = (0..first.first).find_map(|i| bar(k, i));
            matches!((top, start_bar), (Some(top), Some(b0)) if top - b0 > 0.3 * rise)
        }
        _ => false,
    }
}

/// End: after the last down segment the bar climbs clearly but the lifter never stands up.
fn partial_end(k: &Kinematics, cfg: &RepConfig, segs: &[Segment], rise: f64, out: &mut Segmentation) {
    if let Some(last) = segs.last() {
        if last.state == State::Down {
            if let Some((low_i, low)) = extreme(k, last.first, last.last, false) {
                let n = k.t_s.len();
                let high = (low_i..n).filter_map(|i| bar(k, i)).fold(f64::NEG_INFINITY, f64::max);
                let rose = high - low;
                if rose > 0.3 * rise && rose < cfg.min_bar_rise_torso.max(0.8 * rise) {
                    out.notes.push(RepNote::PartialRep { at_s: k.t_s[n - 1], starts: false });
                }
            }
        }
    }
}
