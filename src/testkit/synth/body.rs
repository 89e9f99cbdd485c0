//! The synthetic lifter's body: proportions, forward kinematics, the setup and lockout postures
//! of each rep, and the paths the joints follow between them.
//!
//! Body frame: x forward (the way the lifter faces), y up, origin on the floor under the ankle;
//! lengths in units of standing height H. A [`Pose`] holds the driven degrees of freedom:
//! - `knee_deg`: interior knee angle (thigh vs shank), 180 = straight.
//! - `shin_deg`: shank lean from vertical, positive = knee ahead of the ankle.
//! - `trunk_deg`: hip->shoulder line above the forward horizontal, 90 = upright, > 90 = leaning
//!   back past vertical.
//! - `bar_x`: where the hands are horizontally (H units). The arms are straight, so their angle
//!   follows from the shoulder and `bar_x`; the bar *height* is an output of the posture.
//!
//! The bar is held at the grip point [`GRIP_BELOW_WRIST`] below the wrist along the arm; on the
//! floor its centre is one plate radius (0.225 m for a 1.75 m lifter) up.

use super::InjectedFault;

pub(super) const ANKLE_Y: f64 = 0.04;
pub(super) const SHANK: f64 = 0.25;
pub(super) const THIGH: f64 = 0.245;
pub(super) const TRUNK: f64 = 0.29;
pub(super) const UPPER_ARM: f64 = 0.19;
/// Shoulder to wrist, arm straight.
pub(super) const ARM: f64 = UPPER_ARM + 0.15;
/// The bar sits in the fingers this far past the wrist landmark (H units, ~8 cm).
pub const GRIP_BELOW_WRIST: f64 = 0.045;
/// Shoulder to the grip point, where the bar is.
pub(super) const REACH: f64 = ARM + GRIP_BELOW_WRIST;
/// Shoulder to ear along the neck axis.
pub(super) const NECK: f64 = 0.11;
pub(super) const HEEL: V2 = V2 { x: -0.04, y: 0.012 };
pub(super) const TOE: V2 = V2 { x: 0.11, y: 0.008 };
/// Mid-foot: halfway between heel and toe, where a good bar path runs.
pub(super) const MID_FOOT_X: f64 = 0.5 * (HEEL.x + TOE.x);
/// The height the synthetic lifter stands for, to turn H units into metres.
pub const LIFTER_HEIGHT_M: f64 = 1.75;
/// Bumper plate radius: the bar's height on the floor.
pub const PLATE_RADIUS_M: f64 = 0.225;
pub(super) const BAR_FLOOR_Y: f64 = PLATE_RADIUS_M / LIFTER_HEIGHT_M;

/// Clean setup: shin lean and how far the arms hang in front of vertical (shoulders ahead of
/// the bar), with the bar over mid-foot; knee and trunk angles follow from the proportions.
const SETUP_SHIN_DEG: f64 = 10.0;
const SETUP_ARM_DEG: f64 = 6.0;
/// Where the bar is at the knee in a clean pull (the knees have moved back out of its way).
const KNEE_PASS_TAU: f64 = 0.45;
/// `SquatStylePull` setup.
const SQUAT_KNEE_DEG: f64 = 55.0;
const SQUAT_SHIN_DEG: f64 = 32.0;
/// `HipsTooHighAtStart` setup.
const HIGH_HIP_KNEE_DEG: f64 = 150.0;
const HIGH_HIP_SHIN_DEG: f64 = -4.0;
/// `Hitching`: how far the bar dips once it has passed the knees (H units).
const HITCH_DIP: f64 = 0.03;
/// `EarlyHipRise`: bar rise by the end of the hip shoot (H units), at this fraction of the path.
const HIP_RISE_BAR: f64 = 0.03;
const HIP_RISE_TAU: f64 = 0.4;

/// A point or vector in the body frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(super) struct V2 {
    pub x: f64,
    pub y: f64,
}

impl V2 {
    pub fn new(x: f64, y: f64) -> V2 {
        V2 { x, y }
    }
    pub fn add(self, o: V2) -> V2 {
        V2::new(self.x + o.x, self.y + o.y)
    }
    pub fn sub(self, o: V2) -> V2 {
        V2::new(self.x - o.x, self.y - o.y)
    }
    pub fn scale(self, k: f64) -> V2 {
        V2::new(self.x * k, self.y * k)
    }
    pub fn len(self) -> f64 {
        self.x.hypot(self.y)
    }
    /// Unit vector at `deg` counter-clockwise from +x.
    pub fn polar(deg: f64) -> V2 {
        let r = deg.to_radians();
        V2::new(r.cos(), r.sin())
    }
}

/// The driven degrees of freedom (see the module header).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Pose {
    pub knee_deg: f64,
    pub shin_deg: f64,
    pub trunk_deg: f64,
    pub bar_x: f64,
}

impl Pose {
    /// Standing tall, arms hanging straight down.
    pub const STANDING: Pose = Pose { knee_deg: 180.0, shin_deg: 0.0, trunk_deg: 90.0, bar_x: 0.0 };

    fn to_array(self) -> [f64; 4] {
        [self.knee_deg, self.shin_deg, self.trunk_deg, self.bar_x]
    }

    fn from_array(a: [f64; 4]) -> Pose {
        Pose { knee_deg: a[0], shin_deg: a[1], trunk_deg: a[2], bar_x: a[3] }
    }

    /// Channel-wise `self + w (to - self)`.
    pub fn lerp(self, to: Pose, w: f64) -> Pose {
        let (a, b) = (self.to_array(), to.to_array());
        Pose::from_array(std::array::from_fn(|i| a[i] + w * (b[i] - a[i])))
    }
}

/// Joint positions of one posture (body frame, H units).
#[derive(Debug, Clone, Copy)]
pub(super) struct Skeleton {
    pub ankle: V2,
    pub knee: V2,
    pub hip: V2,
    pub shoulder: V2,
    pub elbow: V2,
    pub wrist: V2,
    /// Bar centre when held (the grip point).
    pub bar: V2,
    /// Unit vector from shoulder to hand.
    pub arm_dir: V2,
    /// Interior hip angle (trunk vs thigh), 180 = straight.
    pub hip_deg: f64,
}

pub(super) fn skeleton(p: &Pose) -> Skeleton {
    let ankle = V2::new(0.0, ANKLE_Y);
    let knee = ankle.add(V2::polar(90.0 - p.shin_deg).scale(SHANK));
    // Thigh lean back from vertical, seen from the knee.
    let thigh_back_deg = 180.0 - p.knee_deg - p.shin_deg;
    let hip = knee.add(V2::polar(90.0 + thigh_back_deg).scale(THIGH));
    let shoulder = hip.add(V2::polar(p.trunk_deg).scale(TRUNK));
    let sin_arm = ((shoulder.x - p.bar_x) / REACH).clamp(-0.99, 0.99);
    let arm_dir = V2::new(-sin_arm, -(1.0 - sin_arm * sin_arm).sqrt());
    let to_knee = knee.sub(hip);
    let to_shoulder = shoulder.sub(hip);
    let hip_deg = (to_knee.x * to_shoulder.y - to_knee.y * to_shoulder.x)
        .atan2(to_knee.x * to_shoulder.x + to_knee.y * to_shoulder.y)
        .to_degrees()
        .abs();
    Skeleton {
        ankle,
        knee,
        hip,
        shoulder,
        elbow: shoulder.add(arm_dir.scale(UPPER_ARM)),
        wrist: shoulder.add(arm_dir.scale(ARM)),
        bar: shoulder.add(arm_dir.scale(REACH)),
        arm_dir,
        hip_deg,
    }
}

/// Horizontal position of the shin line (ankle->knee) at height `y`.
pub(super) fn shin_x_at(shin_deg: f64, y: f64) -> f64 {
    (y - ANKLE_Y) * shin_deg.to_radians().tan()
}

/// Trunk angle that puts the bar at height `bar_y` with the legs and hands given. Bisection:
/// the bar rises with the trunk over the range used here; outside it the nearest end is returned.
fn solve_trunk(knee_deg: f64, shin_deg: f64, bar_x: f64, bar_y: f64) -> f64 {
    let bar_at = |trunk_deg: f64| skeleton(&Pose { knee_deg, shin_deg, trunk_deg, bar_x }).bar.y;
    let (mut lo, mut hi) = (-45.0, 89.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if bar_at(mid) < bar_y {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The clean setup: bar on the floor over mid-foot, shins at [`SETUP_SHIN_DEG`], arms
/// [`SETUP_ARM_DEG`] in front of vertical. The hip is where a thigh from the knee meets a trunk
/// from the shoulder (the rear of the two circle intersections).
pub(super) fn clean_setup() -> Pose {
    let arm = V2::polar(90.0 - SETUP_ARM_DEG);
    let shoulder = V2::new(MID_FOOT_X, BAR_FLOOR_Y).add(arm.scale(REACH));
    let knee = V2::new(0.0, ANKLE_Y).add(V2::polar(90.0 - SETUP_SHIN_DEG).scale(SHANK));
    let d = shoulder.sub(knee);
    let dist = d.len();
    // Distance from the knee along d to the chord of the two circles, and half the chord.
    let along = (THIGH * THIGH - TRUNK * TRUNK + dist * dist) / (2.0 * dist);
    let half = (THIGH * THIGH - along * along).max(0.0).sqrt();
    let base = knee.add(d.scale(along / dist));
    let perp = V2::new(-d.y / dist, d.x / dist);
    // perp points to the left of knee->shoulder (up-back): the hip is behind.
    let hip = base.add(perp.scale(half));
    let thigh = hip.sub(knee);
    let thigh_back_deg = (-thigh.x).atan2(thigh.y).to_degrees();
    let trunk = shoulder.sub(hip);
    Pose {
        knee_deg: 180.0 - thigh_back_deg - SETUP_SHIN_DEG,
        shin_deg: SETUP_SHIN_DEG,
        trunk_deg: trunk.y.atan2(trunk.x).to_degrees(),
        bar_x: MID_FOOT_X,
    }
}

/// The posture with the bar on the floor before a rep with these faults.
pub(super) fn setup_pose(faults: &[InjectedFault]) -> Pose {
    let mut p = clean_setup();
    let mut moved = false;
    for f in faults {
        if let InjectedFault::HipsTooHighAtStart = f {
            p.knee_deg = HIGH_HIP_KNEE_DEG;
            p.shin_deg = HIGH_HIP_SHIN_DEG;
            moved = true;
        }
        if let InjectedFault::SquatStylePull = f {
            p.knee_deg = SQUAT_KNEE_DEG;
            p.shin_deg = SQUAT_SHIN_DEG;
            moved = true;
        }
    }
    for f in faults {
        if let InjectedFault::BarAwayFromShins { distance_frac_shin } = f {
            p.bar_x = shin_x_at(p.shin_deg, BAR_FLOOR_Y) + distance_frac_shin * SHANK;
            moved = true;
        }
    }
    if moved {
        p.trunk_deg = solve_trunk(p.knee_deg, p.shin_deg, p.bar_x, BAR_FLOOR_Y);
    }
    p
}

/// The posture at the top of a rep with these faults.
pub(super) fn lockout_pose(faults: &[InjectedFault]) -> Pose {
    let mut p = Pose { bar_x: MID_FOOT_X, ..Pose::STANDING };
    for f in faults {
        if let InjectedFault::SoftLockout { hip_short_deg } = f {
            p.knee_deg = 180.0 - 0.4 * hip_short_deg;
            p.shin_deg = 0.5 * (180.0 - p.knee_deg);
            let thigh_back_deg = 180.0 - p.knee_deg - p.shin_deg;
            p.trunk_deg = (180.0 - hip_short_deg) + thigh_back_deg - 90.0;
        }
    }
    for f in faults {
        if let InjectedFault::LockoutHyperextension { lean_back_deg } = f {
            p.trunk_deg += lean_back_deg;
        }
    }
    p
}

/// How the pull's progress `tau` (0 = setup, 1 = lockout) follows normalised time `s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Warp {
    /// Minimum jerk: starts and ends at rest with zero acceleration.
    MinJerk,
    /// Starts at speed `v0` (in tau per unit s) instantly, ends at rest: a yanked bar.
    Yank { v0: f64 },
}

impl Warp {
    pub fn tau(self, s: f64) -> f64 {
        let s = s.clamp(0.0, 1.0);
        match self {
            Warp::MinJerk => min_jerk(s),
            Warp::Yank { v0 } => v0 * s + (3.0 - 2.0 * v0) * s * s + (v0 - 2.0) * s * s * s,
        }
    }
}

pub(super) fn min_jerk(s: f64) -> f64 {
    let s = s.clamp(0.0, 1.0);
    s * s * s * (10.0 - 15.0 * s + 6.0 * s * s)
}

/// A smooth path through posture knots: monotone piecewise-cubic (Fritsch-Carlson) per channel,
/// so no channel overshoots its knots; end slopes are the end secants.
#[derive(Debug, Clone)]
pub(super) struct Path {
    tau: Vec<f64>,
    values: Vec<[f64; 4]>,
    slopes: Vec<[f64; 4]>,
}

impl Path {
    fn new(knots: &[(f64, Pose)]) -> Path {
        let tau: Vec<f64> = knots.iter().map(|k| k.0).collect();
        let values: Vec<[f64; 4]> = knots.iter().map(|k| k.1.to_array()).collect();
        let n = knots.len();
        let mut slopes = vec![[0.0; 4]; n];
        for c in 0..4 {
            let h: Vec<f64> = (0..n - 1).map(|i| tau[i + 1] - tau[i]).collect();
            let d: Vec<f64> = (0..n - 1).map(|i| (values[i + 1][c] - values[i][c]) / h[i]).collect();
            slopes[0][c] = d[0];
            slopes[n - 1][c] = d[n - 2];
            for i in 1..n - 1 {
                slopes[i][c] = if d[i - 1] * d[i] <= 0.0 {
                    0.0
                } else {
                    let (w1, w2) = (2.0 * h[i] + h[i - 1], h[i] + 2.0 * h[i - 1]);
                    (w1 + w2) / (w1 / d[i - 1] + w2 / d[i])
                };
            }
        }
        Path { tau, values, slopes }
    }

    pub fn at(&self, tau: f64) -> Pose {
        let n = self.tau.len();
        let tau = tau.clamp(self.tau[0], self.tau[n - 1]);
        let i = (0..n - 1).find(|&i| tau <= self.tau[i + 1]).unwrap_or(n - 2);
        let h = self.tau[i + 1] - self.tau[i];
        let t = (tau - self.tau[i]) / h;
        let (t2, t3) = (t * t, t * t * t);
        let (a, b) = (&self.values[i], &self.values[i + 1]);
        let (ma, mb) = (&self.slopes[i], &self.slopes[i + 1]);
        Pose::from_array(std::array::from_fn(|c| {
            (2.0 * t3 - 3.0 * t2 + 1.0) * a[c]
                + (t3 - 2.0 * t2 + t) * h * ma[c]
                + (-2.0 * t3 + 3.0 * t2) * b[c]
                + (t3 - t2) * h * mb[c]
        }))
    }
}

/// The pull from `setup` to `lockout`, shaped by the rep's faults. The eccentric runs the clean
/// path of the next setup backwards.
pub(super) fn pull_path(setup: Pose, lockout: Pose, faults: &[InjectedFault]) -> Path {
    let drift: f64 = faults
        .iter()
        .map(|f| match f {
            InjectedFault::BarAwayFromShins { distance_frac_shin } => 0.15 * distance_frac_shin * SHANK,
            _ => 0.0,
        })
        .sum();
    // The bar stays out where it started over the first half and swings in to the thighs over
    // the second, plus the forward excursion of a bar that drifts away.
    let bar_x = |tau: f64| {
        let s = (2.0 * tau - 1.0).clamp(0.0, 1.0);
        let w = s * s * (3.0 - 2.0 * s);
        setup.bar_x + w * (lockout.bar_x - setup.bar_x) + drift * (std::f64::consts::PI * tau).sin()
    };
    let knot = |tau: f64, knee_deg: f64, shin_deg: f64, trunk_deg: f64| {
        (tau, Pose { knee_deg, shin_deg, trunk_deg, bar_x: bar_x(tau) })
    };
    let hitch = faults.iter().any(|f| matches!(f, InjectedFault::Hitching));
    let hip_rise = faults.iter().any(|f| matches!(f, InjectedFault::EarlyHipRise));
    let knots = if hitch {
        // Past the knees (bar ~0.06 H above them), the knees re-bend and the bar sinks, then
        // the hips finish.
        let past = knot(0.5, 160.0, 1.0, 44.0);
        let past_bar_y = skeleton(&past.1).bar.y;
        let (knee, shin) = (148.0, 4.0);
        let sunk = solve_trunk(knee, shin, bar_x(0.65), past_bar_y - HITCH_DIP);
        vec![
            (0.0, setup),
            knot(0.4, 146.0, 2.5, 35.5),
            past,
            knot(0.65, knee, shin, sunk),
            knot(0.85, 172.0, 0.3, 65.0),
            (1.0, lockout),
        ]
    } else if hip_rise {
        // Knees shoot straight while the trunk drops toward horizontal: the bar barely leaves.
        let (knee, shin) = (140.0, 2.0);
        let low = solve_trunk(knee, shin, bar_x(HIP_RISE_TAU), BAR_FLOOR_Y + HIP_RISE_BAR);
        vec![(0.0, setup), knot(HIP_RISE_TAU, knee, shin, low), knot(0.75, 170.0, 0.5, 50.0), (1.0, lockout)]
    } else {
        let kp = if setup.knee_deg > 140.0 {
            knot(KNEE_PASS_TAU, 165.0, 0.0, 40.0)
        } else {
            knot(KNEE_PASS_TAU, 150.0, 2.0, 37.0)
        };
        // Knees finish before the hips.
        let m = kp.1;
        let mid = knot(
            0.75,
            m.knee_deg + 0.73 * (lockout.knee_deg - m.knee_deg),
            m.shin_deg + 0.85 * (lockout.shin_deg - m.shin_deg),
            m.trunk_deg + 0.5 * (lockout.trunk_deg - m.trunk_deg),
        );
        vec![(0.0, setup), kp, mid, (1.0, lockout)]
    };
    Path::new(&knots)
}

/// Back outline widths (41 samples, units of |shoulder - hip|) on the dorsal and ventral sides.
/// The dorsal line rises gently toward the shoulders; a bend of `bend_deg` tilts its lower half
/// out and its upper half in by half the bend each, so that the reference measure
/// atan(slope_low) - atan(slope_high) reads `bend_deg`.
pub(super) fn outline_widths(bend_deg: f64, mut noise: impl FnMut() -> f64) -> ([f64; 41], [f64; 41]) {
    const BASE: f64 = 0.20;
    const RISE: f64 = 0.04;
    let base_deg = RISE.atan().to_degrees();
    let slope_low = (base_deg + 0.5 * bend_deg).to_radians().tan();
    let slope_high = (base_deg - 0.5 * bend_deg).to_radians().tan();
    let mut dorsal = [0.0; 41];
    let mut ventral = [0.0; 41];
    for i in 0..41 {
        let t = i as f64 / 40.0;
        let w = if t <= 0.5 { BASE + slope_low * t } else { BASE + 0.5 * slope_low + slope_high * (t - 0.5) };
        dorsal[i] = w + noise();
        ventral[i] = 0.34 + 0.06 * t + 0.03 * (std::f64::consts::PI * t).sin() + noise();
    }
    (dorsal, ventral)
}
