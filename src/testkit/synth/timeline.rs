//! The synthetic lift's timeline: the stretches of holding, blending and pulling that make up a
//! set (setup, pull, lockout, descent per rep, with the faults each rep carries), and the pose
//! at any moment of it.

use super::body::{self, Path, Pose, Warp};
use super::{InjectedFault, RepTruth, SynthLift, LIFTER_HEIGHT_M, VISIBLE_LIFT_M, VISIBLE_TOP_M, VISIBLE_UPRIGHT_DEG};

/// What the body does during one stretch of the timeline.
#[derive(Debug, Clone)]
pub(super) enum Motion {
    Hold(Pose),
    /// Every channel by minimum jerk.
    Blend {
        from: Pose,
        to: Pose,
    },
    /// Along a pull path from normalised time `s0` to `s1`; `down` runs it lockout -> floor.
    Pull {
        path: Path,
        warp: Warp,
        s0: f64,
        s1: f64,
        down: bool,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Segment {
    t0_s: f64,
    pub(super) dur_s: f64,
    pub(super) motion: Motion,
    pub(super) holds_bar: bool,
    /// Where the bar lies when not held (body frame x).
    pub(super) floor_bar_x: f64,
}

impl Segment {
    pub(super) fn pose_at(&self, t_s: f64) -> Pose {
        let s = if self.dur_s > 0.0 { ((t_s - self.t0_s) / self.dur_s).clamp(0.0, 1.0) } else { 1.0 };
        match &self.motion {
            Motion::Hold(p) => *p,
            Motion::Blend { from, to } => from.lerp(*to, body::min_jerk(s)),
            Motion::Pull { path, warp, s0, s1, down } => {
                let u = s0 + (s1 - s0) * s;
                path.at(if *down { 1.0 - warp.tau(u) } else { warp.tau(u) })
            }
        }
    }
}

/// A smooth 0 -> amount -> 0 bump in time: ramps in over [in0, in1], out over [out0, out1].
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub(super) in_s: (f64, f64),
    pub(super) out_s: (f64, f64),
    pub(super) amount: f64,
}

impl Window {
    pub(super) fn at(&self, t_s: f64) -> f64 {
        let ramp = |(a, b): (f64, f64)| {
            let s = if b > a {
                ((t_s - a) / (b - a)).clamp(0.0, 1.0)
            } else if t_s >= b {
                1.0
            } else {
                0.0
            };
            s * s * (3.0 - 2.0 * s)
        };
        self.amount * ramp(self.in_s) * (1.0 - ramp(self.out_s))
    }
}

#[derive(Debug, Default)]
pub(super) struct Timeline {
    pub(super) segments: Vec<Segment>,
    pub(super) end_s: f64,
    pub(super) reps: Vec<RepTruth>,
    pub(super) bend: Vec<Window>,
    pub(super) neck: Vec<Window>,
}

impl Timeline {
    pub(super) fn push(&mut self, dur_s: f64, motion: Motion, holds_bar: bool, floor_bar_x: f64) -> usize {
        let dur_s = dur_s.max(0.0);
        self.segments.push(Segment { t0_s: self.end_s, dur_s, motion, holds_bar, floor_bar_x });
        self.end_s += dur_s;
        self.segments.len() - 1
    }

    pub(super) fn segment_at(&self, t_s: f64) -> &Segment {
        let i = self.segments.iter().rposition(|s| s.t0_s <= t_s).unwrap_or(0);
        &self.segments[i]
    }

    /// When the bar rises through the knee's height during segment `seg`.
    pub(super) fn knee_pass_s(&self, seg: usize) -> Option<f64> {
        let s = &self.segments[seg];
        self.first_time(seg, |t| {
            let sk = body::skeleton(&s.pose_at(t));
            sk.bar.y - sk.knee.y
        })
    }

    /// When the pull in segment `seg` shows to the eye: the bar has risen [`VISIBLE_LIFT_M`] off
    /// the floor (floor break), and is within [`VISIBLE_TOP_M`] of its top with the trunk within
    /// [`VISIBLE_UPRIGHT_DEG`] of its final angle (lockout). A minimum-jerk pull creeps off the
    /// floor and into the top; the labels on real clips (`LABELING.md`) time what the eye sees.
    pub(super) fn visible_pull_s(&self, seg: usize) -> (f64, f64) {
        let s = &self.segments[seg];
        let (t0, t1) = (s.t0_s, s.t0_s + s.dur_s);
        let bar_y = |t: f64| body::skeleton(&s.pose_at(t)).bar.y;
        let (y0, y1, trunk1) = (bar_y(t0), bar_y(t1), s.pose_at(t1).trunk_deg);
        let off = self.first_time(seg, |t| bar_y(t) - y0 - VISIBLE_LIFT_M / LIFTER_HEIGHT_M).unwrap_or(t0);
        let top = self
            .first_time(seg, |t| {
                let near = VISIBLE_TOP_M / LIFTER_HEIGHT_M - (y1 - bar_y(t)).abs();
                let upright = VISIBLE_UPRIGHT_DEG - (trunk1 - s.pose_at(t).trunk_deg).abs();
                near.min(upright)
            })
            .unwrap_or(t1);
        (off, top)
    }

    /// The first time in segment `seg` where `f` goes from negative to at least zero.
    pub(super) fn first_time(&self, seg: usize, gap: impl Fn(f64) -> f64) -> Option<f64> {
        let s = &self.segments[seg];
        const STEPS: usize = 1000;
        let at = |k: usize| s.t0_s + s.dur_s * k as f64 / STEPS as f64;
        let k = (1..=STEPS).find(|&k| gap(at(k - 1)) < 0.0 && gap(at(k)) >= 0.0)?;
        let (mut lo, mut hi) = (at(k - 1), at(k));
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if gap(mid) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(0.5 * (lo + hi))
    }
}

pub(super) fn faults_of(spec: &SynthLift, rep: usize) -> Vec<InjectedFault> {
    spec.faults.iter().filter(|(i, _)| *i == rep).map(|(_, f)| *f).collect()
}

pub(super) fn build_timeline(spec: &SynthLift) -> Timeline {
    let mut tl = Timeline::default();
    let clean_setup = body::clean_setup();
    let clean_lockout = body::lockout_pose(&[]);
    // setups[k]: bar on the floor before rep k; setups[reps]: after the last one.
    let setups: Vec<Pose> = (0..=spec.reps)
        .map(|k| if k < spec.reps { body::setup_pose(&faults_of(spec, k)) } else { clean_setup })
        .collect();
    let descend = |from: Pose, to: Pose| Motion::Pull {
        path: body::pull_path(to, from, &[]),
        warp: Warp::MinJerk,
        s0: 0.0,
        s1: 1.0,
        down: true,
    };
    let mut start_s;
    if spec.start_mid_rep {
        let path = body::pull_path(clean_setup, clean_lockout, &[]);
        let motion = Motion::Pull { path, warp: Warp::MinJerk, s0: 0.5, s1: 1.0, down: false };
        tl.push(0.5 * spec.concentric_s, motion, true, 0.0);
        tl.push(spec.lockout_pause_s, Motion::Hold(clean_lockout), true, 0.0);
        tl.push(spec.eccentric_s, descend(clean_lockout, setups[0]), true, 0.0);
        start_s = tl.end_s;
        let x = setups[0].bar_x;
        tl.push(spec.floor_pause_s, Motion::Hold(setups[0]), true, x);
    } else {
        let yank0 = faults_of(spec, 0).iter().any(|f| matches!(f, InjectedFault::JerkingTheBar));
        let x = setups[0].bar_x;
        tl.push(0.25 * spec.setup_s, Motion::Hold(Pose::STANDING), false, x);
        let bend = Motion::Blend { from: Pose::STANDING, to: setups[0] };
        tl.push(if yank0 { 0.75 } else { 0.5 } * spec.setup_s, bend, false, x);
        start_s = tl.end_s;
        if !yank0 {
            tl.push(0.25 * spec.setup_s, Motion::Hold(setups[0]), true, x);
        }
    }
    for k in 0..spec.reps {
        let faults = faults_of(spec, k);
        let has = |pred: fn(&InjectedFault) -> bool| faults.iter().any(pred);
        let lockout = body::lockout_pose(&faults);
        let warp =
            if has(|f| matches!(f, InjectedFault::JerkingTheBar)) { Warp::Yank { v0: 1.8 } } else { Warp::MinJerk };
        let stretch = if has(|f| matches!(f, InjectedFault::Hitching)) { 1.4 } else { 1.0 };
        let pull_start_s = tl.end_s;
        let pull =
            Motion::Pull { path: body::pull_path(setups[k], lockout, &faults), warp, s0: 0.0, s1: 1.0, down: false };
        let seg = tl.push(stretch * spec.concentric_s, pull, true, 0.0);
        let pull_end_s = tl.end_s;
        tl.push(spec.lockout_pause_s, Motion::Hold(lockout), true, 0.0);
        let descent_s = tl.end_s;
        tl.push(spec.eccentric_s, descend(lockout, setups[k + 1]), true, 0.0);
        let end_s = tl.end_s;
        let knee_pass_s = tl.knee_pass_s(seg).unwrap_or(0.5 * (pull_start_s + pull_end_s));
        let (floor_break_s, lockout_s) = tl.visible_pull_s(seg);
        tl.reps.push(RepTruth {
            start_s,
            pull_start_s,
            pull_end_s,
            floor_break_s,
            knee_pass_s,
            lockout_s,
            descent_s,
            end_s,
        });
        for f in &faults {
            let early = (pull_start_s - 0.45, pull_start_s - 0.15);
            match *f {
                InjectedFault::RoundedLowerBack { bend_deg } => {
                    tl.bend.push(Window { in_s: early, out_s: (knee_pass_s, pull_end_s), amount: bend_deg })
                }
                InjectedFault::HeadPosition { neck_ext_deg } => {
                    tl.neck.push(Window { in_s: early, out_s: (pull_end_s, pull_end_s + 0.3), amount: neck_ext_deg })
                }
                _ => {}
            }
        }
        if k + 1 < spec.reps || spec.end_mid_rep {
            let x = setups[k + 1].bar_x;
            tl.push(spec.floor_pause_s, Motion::Hold(setups[k + 1]), true, x);
        }
        start_s = end_s;
    }
    let last = setups[spec.reps];
    if spec.end_mid_rep {
        let motion = Motion::Pull {
            path: body::pull_path(last, clean_lockout, &[]),
            warp: Warp::MinJerk,
            s0: 0.0,
            s1: 0.5,
            down: false,
        };
        tl.push(0.5 * spec.concentric_s, motion, true, 0.0);
    } else if spec.stand_up_at_end {
        tl.push(0.3 * spec.end_s, Motion::Hold(last), true, last.bar_x);
        let up = Motion::Blend { from: last, to: Pose::STANDING };
        tl.push(0.7 * spec.end_s, up, false, last.bar_x);
    } else {
        tl.push(spec.end_s, Motion::Hold(last), true, last.bar_x);
    }
    tl
}
