//! Splitting a set into reps and phases.
//!
//! A deadlift rep is the load leaving the floor, rising to the top with the lifter standing up,
//! and coming back down, whatever the trunk does on the way (squat-style pulls keep it nearly
//! upright, arched backs bend it oddly). So the driving signal is the load's height
//! (`Kinematics::load_height_torso`: the plate's centre when the plate is followed, else the
//! hands): its turning points, each at least `min_bar_rise_torso` from the one before, give the
//! candidate pulls (low -> high). The body only rules out what is not a deadlift: a load that
//! does not start hanging from the arms (a squat's bar on the back, a bench press), one that
//! starts above the knees (hands at the sides while standing, arms waved overhead), or a lifter
//! who never stands up straight at the top. Phase times come from the load's height as fractions of the rep's own
//! rise, so no threshold is in pixels or frames:
//! setup (start) -> floor break -> knee pass -> lockout -> descent -> end (load back down).
//! Touch-and-go and paused reps differ only in how long the load stays down.

use crate::analysis::config::RepConfig;
use crate::analysis::kinematics::{hidden_by_plate, Kinematics};
use crate::support::signal;

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
    /// Load height at the floor and at the top, torso lengths.
    pub bar_floor_torso: f64,
    pub bar_top_torso: f64,
    /// Whether the bar came back down before the clip ended.
    pub descent_complete: bool,
}

#[cfg(test)]
impl Rep {
    /// A 3-second rep starting at `start_s` (floor break 1.0 s in, knees 1.3, lockout 1.8, down
    /// from 2.2), for tests of what is built on reps.
    pub(crate) fn example(index: usize, start_s: f64) -> Rep {
        Rep {
            index,
            start_s,
            floor_break_s: start_s + 1.0,
            knee_pass_s: Some(start_s + 1.3),
            lockout_s: start_s + 1.8,
            descent_s: start_s + 2.2,
            end_s: start_s + 3.0,
            frames: Default::default(),
            bar_floor_torso: 0.3,
            bar_top_torso: 1.5,
            descent_complete: true,
        }
    }
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
    /// Pulls were seen but they were not deadlifts (the load started at the shoulders or above
    /// the knees, the lifter never stood up, or too little rise).
    NotADeadlift { reason: String },
}

/// Reps found, and notes about what else was seen.
#[derive(Debug, Clone, Default)]
pub struct Segmentation {
    pub reps: Vec<Rep>,
    pub notes: Vec<RepNote>,
}

/// A turning point of the load's height: a low (the load on the floor) or a high (the top).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Turn {
    i: usize,
    height: f64,
    high: bool,
}

/// The load's turning points, alternating low and high, each at least `swing` (torso lengths)
/// from the one before: the classic zig-zag. Wobbles smaller than that (hands settling at
/// lockout, a plate's jitter, a hitch) are not turns, so how many reps there are does not hang on
/// a small change in the signal. The last extreme is kept as a turn even though nothing after it
/// confirms it (a clip that ends at lockout).
fn turns(h: &[Option<f64>], swing: f64) -> Vec<Turn> {
    let mut out: Vec<Turn> = Vec::new();
    // Until the first swing: the lowest and highest so far. After: the extreme of the current leg.
    let (mut lo, mut hi): (Option<(usize, f64)>, Option<(usize, f64)>) = (None, None);
    let mut rising: Option<bool> = None;
    let mut ext = (0usize, 0.0f64);
    for (i, v) in h.iter().enumerate() {
        let Some(v) = *v else { continue };
        match rising {
            None => {
                lo = Some(lo.filter(|l| l.1 <= v).unwrap_or((i, v)));
                hi = Some(hi.filter(|x| x.1 >= v).unwrap_or((i, v)));
                let (l, x) = (lo.expect("set"), hi.expect("set"));
                if x.1 - l.1 >= swing {
                    let low_first = l.0 < x.0;
                    let first = if low_first { l } else { x };
                    out.push(Turn { i: first.0, height: first.1, high: !low_first });
                    rising = Some(low_first);
                    ext = if low_first { x } else { l };
                }
            }
            Some(up) => {
                if (up && v > ext.1) || (!up && v < ext.1) {
                    ext = (i, v);
                } else if (ext.1 - v).abs() >= swing {
                    out.push(Turn { i: ext.0, height: ext.1, high: up });
                    rising = Some(!up);
                    ext = (i, v);
                }
            }
        }
    }
    if let Some(up) = rising {
        out.push(Turn { i: ext.0, height: ext.1, high: up });
    }
    out
}

/// The top of a rep: the frames around its peak where the load stays within this share of the
/// rise of the peak.
const TOP_BAND_FRAC: f64 = 0.15;
/// The floor break is looked for within this long before the load reaches half its rise (a
/// slow drift of the hands earlier in a long setup is not the pull).
const FLOOR_BREAK_LOOKBACK_S: f64 = 1.0;

/// Splits the kinematics into reps.
pub fn segment(k: &Kinematics, cfg: &RepConfig) -> Segmentation {
    let mut out = Segmentation::default();
    let n = k.t_s.len();
    if n == 0 {
        return out;
    }
    let h = &k.load_height_torso;
    let tp = turns(h, cfg.min_bar_rise_torso);
    let mut rejected = Vec::new();
    // A pull at the clip's end that did not finish: (its low, how far it rose).
    let mut unfinished: Option<(usize, f64)> = None;
    for w in 0..tp.len().saturating_sub(1) {
        let (low, high) = (tp[w], tp[w + 1]);
        if low.high || !high.high {
            continue;
        }
        let at_end = w + 2 == tp.len();
        let next_low = tp.get(w + 2).copied();
        match pull(k, cfg, low, high, next_low, out.reps.last()) {
            Ok(rep) => out.reps.push(Rep { index: out.reps.len() + 1, ..rep }),
            Err(reason) if at_end => {
                unfinished = Some((low.i, high.height - low.height));
                rejected.push(reason);
            }
            Err(reason) => rejected.push(reason),
        }
    }
    let typical_rise = out.reps.iter().map(|r| r.bar_top_torso - r.bar_floor_torso).fold(f64::NAN, f64::max);
    let rise = if typical_rise.is_finite() { typical_rise } else { cfg.min_bar_rise_torso * 2.0 };
    if starts_mid_rep(h, &tp, &out.reps, rise) {
        out.notes.push(RepNote::PartialRep { at_s: k.t_s[0], starts: true });
    }
    let ends_mid_rep = match (unfinished, tp.last()) {
        (Some((_, rose)), _) => rose > 0.3 * rise,
        // The clip ends on the way up from a low, less than a swing above it.
        (None, Some(last)) if !last.high => {
            let high = (last.i..n).filter_map(|i| h[i]).fold(f64::NEG_INFINITY, f64::max);
            high - last.height > 0.3 * rise
        }
        _ => false,
    };
    if ends_mid_rep {
        out.notes.push(RepNote::PartialRep { at_s: k.t_s[n - 1], starts: false });
    }
    if out.reps.is_empty() && !rejected.is_empty() {
        out.notes.push(RepNote::NotADeadlift { reason: rejected.join("; ") });
    }
    out
}

/// The rep from the load's `low` to its `high`, or why it is not one. `next_low`: the turn after
/// (the load back down); `previous`: the rep before, whose end bounds this one's setup.
fn pull(
    k: &Kinematics,
    cfg: &RepConfig,
    low: Turn,
    high: Turn,
    next_low: Option<Turn>,
    previous: Option<&Rep>,
) -> Result<Rep, String> {
    let h = &k.load_height_torso;
    let n = h.len();
    let floor = low.height;
    // The top: the median height over the frames around the peak where the load stays near it
    // (a maximum would follow a one-frame spike).
    let near_top = |i: usize| h[i].is_some_and(|x| x >= high.height - TOP_BAND_FRAC * (high.height - floor));
    let last_top = next_low.map_or(n - 1, |t| t.i);
    let (mut a, mut b) = (high.i, high.i);
    while a > low.i && near_top(a - 1) {
        a -= 1;
    }
    while b < last_top && near_top(b + 1) {
        b += 1;
    }
    let top = signal::median_of((a..=b).filter_map(|i| h[i])).unwrap_or(high.height);
    let rise = top - floor;
    if rise < cfg.min_bar_rise_torso {
        return Err(format!("the bar rose only {rise:.2} torso lengths"));
    }
    let level = |frac: f64| floor + frac * rise;

    // Is it a deadlift? The body only rules out what is not, and only from what is seen: at the
    // floor the load hangs from the arms, about an arm's length below the shoulders whatever the
    // trunk does (a squat's bar on the back and a bench press's bar are at the shoulders), and
    // below the knees where they are seen (not hands at the sides while standing, or a rack
    // pull); at the top the lifter stands up straight somewhere (not a press lying down).
    let shoulders_at_floor = median_near(k, &k.shoulder_height_torso, low.i, |_| true);
    if let Some(sh) = shoulders_at_floor.filter(|sh| sh - floor < cfg.min_load_below_shoulders_torso) {
        return Err(format!(
            "the bar started at the shoulders ({floor:.2} vs {sh:.2} torso lengths up): a squat or a press, not a deadlift"
        ));
    }
    if let Some(knee) = median_near(k, &k.knee_height_torso, low.i, |i| !hidden_by_plate(k.knee_plate_dist_r[i])) {
        if floor > cfg.max_setup_hand_height_knee_frac * knee {
            return Err(format!("the bar started {floor:.2} torso lengths up, above the knees ({knee:.2})"));
        }
    }
    let most_upright = (a..=b).filter_map(|i| k.trunk_incline_deg[i]).fold(f64::INFINITY, f64::min);
    if most_upright.is_finite() && most_upright > cfg.top_trunk_incline_deg {
        return Err(format!(
            "the lifter never stood up with the bar (trunk {most_upright:.0} deg from vertical at the top)"
        ));
    }

    // Floor break: the last frame at the floor before the load reaches half its rise, the floor
    // being its lowest within the second before (a long setup's slow drift of the hands is not
    // the pull) and "at the floor" within `floor_break_rise_frac` of the rise: a bar bends and
    // the hands take up slack by a few cm before the plates leave the floor.
    let mid = (low.i..=high.i).find(|&i| h[i].is_some_and(|x| x >= level(0.5))).unwrap_or(high.i);
    let mut from = mid;
    while from > low.i && k.t_s[mid] - k.t_s[from - 1] <= FLOOR_BREAK_LOOKBACK_S {
        from -= 1;
    }
    let local_floor = (from..=mid).filter_map(|i| h[i]).fold(f64::INFINITY, f64::min);
    let fb = (from..=mid)
        .rev()
        .find(|&i| h[i].is_some_and(|x| x <= local_floor + cfg.floor_break_rise_frac * rise))
        .unwrap_or(from);

    // Lockout: the load at its top with the lifter standing tall and the hips as open as they
    // get in this rep (a soft lockout never reaches 180 deg: its own best is its lockout). Hips
    // and knees on the plate's disc are guesses and do not count. (75th percentile, not the
    // maximum: one misplaced hip landmark must not set the bar.)
    let hip_seen = |i: usize| {
        k.hip_angle_deg[i]
            .filter(|_| !hidden_by_plate(k.hip_plate_dist_r[i]) && !hidden_by_plate(k.knee_plate_dist_r[i]))
    };
    let hip_best = {
        let mut s: Vec<f64> = (a..=b).filter_map(hip_seen).collect();
        s.sort_by(f64::total_cmp);
        s.get(s.len() * 3 / 4).copied()
    };
    // Upright: within a few degrees of vertical, or of the most upright the lifter got (a soft
    // lockout stays forward; a lean-back goes past vertical and is upright on its way there).
    let upright_deg = most_upright.max(0.0) + cfg.lockout_trunk_within_deg;
    let standing = |i: usize| {
        k.trunk_incline_deg[i].map_or(true, |t| t <= upright_deg)
            && match (hip_best, hip_seen(i)) {
                (Some(best), Some(x)) => x >= best - cfg.lockout_hip_within_deg,
                _ => true,
            }
    };
    let at_top = |i: usize| h[i].is_some_and(|x| x >= level(cfg.lockout_rise_frac));
    let lockout = (fb..=b)
        .find(|&i| at_top(i) && standing(i))
        .or_else(|| (fb..=b).find(|&i| at_top(i)))
        .unwrap_or(high.i.max(fb));
    if k.t_s[lockout] - k.t_s[fb] < cfg.min_concentric_s {
        return Err("the pull was too fast to be a rep".into());
    }
    let knee_pass = (fb..=lockout).find(|&i| matches!((h[i], k.knee_height_torso[i]), (Some(x), Some(kn)) if x >= kn));
    // Descent: the last frame at the top before the load goes back down.
    let descent = (lockout..=b).rev().find(|&i| at_top(i)).unwrap_or(lockout);
    // End: the load back at its floor (the next low), or the clip ends.
    let (end, descent_complete) = match next_low {
        Some(nl) if nl.height <= level(0.3) => {
            let end =
                (descent..=nl.i).find(|&i| h[i].is_some_and(|x| x <= nl.height + cfg.floor_break_rise_frac * rise));
            (end.unwrap_or(nl.i), true)
        }
        _ => (n - 1, false),
    };
    // Setup: from when the load came down near the floor before this pull (not before the last
    // rep's end).
    let earliest = previous.map_or(0, |r| r.frames.end);
    let mut start = fb;
    while start > earliest && h[start - 1].map_or(true, |x| x <= level(0.25)) {
        start -= 1;
    }
    let frames = RepFrames { start, floor_break: fb, knee_pass, lockout, descent, end };
    Ok(Rep {
        index: 0,
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
    })
}

/// Half-width of the window (s) a body height is read over around a moment.
const BODY_WINDOW_S: f64 = 0.1;

/// Median of `series` over the frames within [`BODY_WINDOW_S`] of frame `i` that pass `ok`
/// (one frame without a pose, or a joint on the plate, does not decide).
fn median_near(k: &Kinematics, series: &[Option<f64>], i: usize, ok: impl Fn(usize) -> bool) -> Option<f64> {
    let t = k.t_s[i];
    let (mut a, mut b) = (i, i);
    while a > 0 && t - k.t_s[a - 1] <= BODY_WINDOW_S {
        a -= 1;
    }
    while b + 1 < k.t_s.len() && k.t_s[b + 1] - t <= BODY_WINDOW_S {
        b += 1;
    }
    signal::median_of((a..=b).filter(|&j| ok(j)).filter_map(|j| series[j]))
}

/// The clip began during a pull: the load rises first, either to a high well above where it
/// started, or from a start well above the floor the reps start from (a clip that starts in the
/// setup starts at that floor, one that starts standing starts at its high). A pull's high is its
/// lockout: a first high well off the reps' lockout height is something else (the hands raised
/// over the head before the set read as a pull in progress).
fn starts_mid_rep(h: &[Option<f64>], tp: &[Turn], reps: &[Rep], rise: f64) -> bool {
    let Some((first_seen, h0)) = h.iter().enumerate().find_map(|(i, v)| v.map(|v| (i, v))) else {
        return false;
    };
    let floor = signal::median_of(reps.iter().map(|r| r.bar_floor_torso))
        .or_else(|| signal::median_of(tp.iter().filter(|t| !t.high).map(|t| t.height)));
    let lockout = signal::median_of(reps.iter().map(|r| r.bar_top_torso));
    let at_lockout = |height: f64| lockout.map_or(true, |top| (height - top).abs() <= 0.3 * rise);
    match tp {
        [first, ..] if first.high => first.height - h0 > 0.3 * rise && at_lockout(first.height),
        [first, second, ..] if first.i == first_seen && second.high => {
            floor.is_some_and(|floor| h0 - floor > 0.3 * rise) && at_lockout(second.height)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two pulls (floor 0.5, top 1.6 torso lengths) with wobbles of `wobble` at the top and on the
    /// floor, sampled at 30 Hz.
    fn two_pulls(wobble: f64) -> Vec<Option<f64>> {
        let mut h = Vec::new();
        for rep in 0..2 {
            for i in 0..90 {
                let phase = i as f64 / 90.0;
                let up = (std::f64::consts::PI * phase).sin().max(0.0);
                let jitter = wobble * (i as f64 * 1.7 + rep as f64).sin();
                h.push(Some(0.5 + 1.1 * up + jitter));
            }
        }
        h.push(Some(0.5));
        h
    }

    #[test]
    fn turns_alternate_and_ignore_wobbles_smaller_than_the_swing() {
        let tp = turns(&two_pulls(0.05), 0.4);
        let kinds: Vec<bool> = tp.iter().map(|t| t.high).collect();
        assert_eq!(kinds, vec![false, true, false, true, false], "{tp:?}");
        // The count does not hang on a tiny change of the signal.
        for wobble in [0.0, 0.001, 0.05, 0.1] {
            assert_eq!(turns(&two_pulls(wobble), 0.4).len(), 5, "wobble {wobble}");
        }
        // Gaps are skipped, not turned into lows.
        let mut gappy = two_pulls(0.0);
        for v in gappy.iter_mut().skip(40).take(10) {
            *v = None;
        }
        assert_eq!(turns(&gappy, 0.4).len(), 5);
    }

    #[test]
    fn a_clip_starts_mid_rep_only_when_its_first_high_is_a_lockout() {
        let reps: Vec<Rep> =
            (1..=2).map(|i| Rep { bar_floor_torso: 0.5, bar_top_torso: 1.6, ..Rep::example(i, 0.0) }).collect();
        let mid_rep = |before: &[f64]| {
            let h: Vec<Option<f64>> =
                before.iter().copied().chain(two_pulls(0.0).into_iter().flatten()).map(Some).collect();
            starts_mid_rep(&h, &turns(&h, 0.4), &reps, 1.1)
        };
        // Cut during a pull: up from 1.0 to the lockout, down to the floor, then the two pulls.
        let pulling: Vec<f64> =
            (0..30).map(|i| 1.0 + 0.02 * i as f64).chain((0..30).map(|i| 1.6 - 0.037 * i as f64)).collect();
        assert!(mid_rep(&pulling));
        // A hand raised over the head first (from 1.8 up to 2.5 and down): no lockout.
        let waving: Vec<f64> =
            (0..30).map(|i| 1.8 + 0.023 * i as f64).chain((0..30).map(|i| 2.5 - 0.067 * i as f64)).collect();
        assert!(!mid_rep(&waving));
    }
}
