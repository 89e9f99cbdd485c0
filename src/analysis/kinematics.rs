//! Per-frame kinematics of the cleaned track, in units a coach reads.
//!
//! Angle conventions (lifter frame: x forward, y up):
//! - `trunk_incline_deg`: the hip->shoulder line against vertical; 0 = upright, 90 = horizontal,
//!   negative = leaning back past vertical.
//! - `hip_angle_deg`: between hip->shoulder and hip->knee; 180 = straight.
//! - `knee_angle_deg`: between knee->hip and knee->ankle; 180 = straight.
//! - `neck_extension_deg`: the shoulder->ear line against the trunk's direction; positive = head
//!   tilted back (looking up), 0 = in line with the trunk. Unmeasured where the neck would bend
//!   further than a neck bends (ears off the head are dropped earlier, by `track::clean`).
//! - `back_bend_deg`: the back outline's bend (lumbar half against thoracic half), positive =
//!   rounded (convex), negative = arched. See [`back_bend_deg`].
//!
//! Lengths are divided by the lifter's own torso length (median shoulder-hip distance), so they
//! do not depend on how far the camera is; heights are above the floor (the feet's lowest
//! point, which does not move in a deadlift). Bar heights and speed in torso units (which time
//! the reps) come from the hands (mean of the wrists). Bar distances to the body use the plate's
//! bar point at the body's depth when `barpath` kept the plate (gaps bridged by the hands plus
//! their median offset), else the hands. With a plate, `plate_*_mm` series give the bar's own
//! motion in millimetres.

use crate::analysis::barpath::{BarPath, BarSource};
use crate::analysis::track::{Joint, Track, P2};
use crate::support::signal;

/// Per-frame series; `None` where the inputs were not seen.
#[derive(Debug, Clone)]
pub struct Kinematics {
    pub t_s: Vec<f64>,
    /// Median shoulder-hip distance, pixels: the unit of every `_torso` value.
    pub torso_px: f64,
    /// Median knee-ankle distance in torso lengths: the unit of `_shin` values.
    pub shin_torso: Option<f64>,
    /// Floor height in pixels (lifter frame, y up).
    pub floor_y_px: f64,
    pub trunk_incline_deg: Vec<Option<f64>>,
    pub hip_angle_deg: Vec<Option<f64>>,
    pub knee_angle_deg: Vec<Option<f64>>,
    pub neck_extension_deg: Vec<Option<f64>>,
    pub back_bend_deg: Vec<Option<f64>>,
    /// The upper back's own bend: the outline's thoracic third against the part below it,
    /// positive = rounded (see [`upper_back_bend_deg`]).
    pub upper_back_bend_deg: Vec<Option<f64>>,
    /// How far up the hip->shoulder axis the outline is the back's (1 = to the shoulders; less
    /// where a hood, hair or the neck covers the top of the back): see [`back_top`].
    pub back_top_t: Vec<Option<f64>>,
    /// Incline of the upper half of the back's outline (the silhouette's edge, not the joints),
    /// degrees from vertical, positive forward: the trunk's line where the plate hides the hips.
    pub back_line_incline_deg: Vec<Option<f64>>,
    /// Heights above the floor, torso lengths.
    pub bar_height_torso: Vec<Option<f64>>,
    pub hip_height_torso: Vec<Option<f64>>,
    pub shoulder_height_torso: Vec<Option<f64>>,
    pub knee_height_torso: Vec<Option<f64>>,
    /// Bar (hands) horizontal position, torso lengths, forward positive, relative to mid-foot.
    pub bar_x_midfoot_torso: Vec<Option<f64>>,
    /// Horizontal distance from the shin line (at the bar's height) to the bar, torso lengths;
    /// positive = bar in front of the shin.
    pub bar_to_shin_torso: Vec<Option<f64>>,
    /// How far the knee is ahead of the bar horizontally, torso lengths (positive = knee in
    /// front: a squat-style setup pushes the knees far past the bar).
    pub knee_ahead_of_bar_torso: Vec<Option<f64>>,
    /// Bar (hands) vertical velocity, torso lengths per second.
    pub bar_velocity_torso_per_s: Vec<Option<f64>>,
    /// The load's height above the floor, torso lengths: the plate's centre when the plate is
    /// the bar (its short gaps bridged by the hands plus their median offset), else the hands.
    /// Reps are found and timed on it.
    pub load_height_torso: Vec<Option<f64>>,
    /// Its vertical velocity, torso lengths per second.
    pub load_velocity_torso_per_s: Vec<Option<f64>>,
    /// The hip's (knee's) distance from the near plate's centre in plate radii (`None` without
    /// a plate on the frame): a landmark on the plate's disc ([`hidden_by_plate`]) is the model's
    /// guess, not something it saw.
    pub hip_plate_dist_r: Vec<Option<f64>>,
    pub knee_plate_dist_r: Vec<Option<f64>>,
    /// The same for the foot (the nearer of heel and toe) and the ankle.
    pub foot_plate_dist_r: Vec<Option<f64>>,
    /// Millimetres per pixel at the lifter's midline (with a plate).
    pub body_mm_per_px: Option<f64>,
    /// The plate centre (with a plate; `None` where it was not followed), millimetres in the
    /// lifter frame: forward and up, from the image's origin.
    pub plate_x_mm: Vec<Option<f64>>,
    pub plate_y_mm: Vec<Option<f64>>,
    /// Plate vertical velocity, metres per second (up positive); never across a gap.
    pub plate_velocity_m_per_s: Vec<Option<f64>>,
    /// The plate centre's height above the floor line, torso lengths (for the bar-path plot).
    pub plate_height_torso: Vec<Option<f64>>,
}

/// A joint this close to the plate's rim (share of its radius) counts as hidden by it: the rim
/// hides what is just behind it too.
pub const PLATE_RIM_MARGIN_FRAC: f64 = 0.15;

/// Whether a joint this far from the plate's centre (plate radii) is hidden by the plate.
pub fn hidden_by_plate(dist_r: Option<f64>) -> bool {
    dist_r.is_some_and(|r| r <= 1.0 + PLATE_RIM_MARGIN_FRAC)
}

/// `primary` where known, else `fallback` moved by the median offset from it to `primary`.
fn bridged(primary: &[Option<P2>], fallback: &[Option<P2>]) -> Vec<Option<P2>> {
    let offsets = || primary.iter().zip(fallback).filter_map(|(p, f)| Some(*p.as_ref()? - *f.as_ref()?));
    let dx = signal::median_of(offsets().map(|d| d.x));
    let dy = signal::median_of(offsets().map(|d| d.y));
    primary
        .iter()
        .zip(fallback)
        .map(|(p, f)| p.or_else(|| Some(P2::new(f.as_ref()?.x + dx?, f.as_ref()?.y + dy?))))
        .collect()
}

/// The shoulder->ear line turns at most this far from the trunk's line either way: the neck
/// extends about 70 deg and flexes about 60 from neutral, where the line already leans a few tens
/// of degrees.
const MAX_NECK_ANGLE_DEG: f64 = 90.0;

/// Signed angle from `a` to `b` in degrees, counter-clockwise positive (y up).
fn signed_angle_deg(a: P2, b: P2) -> f64 {
    (a.x * b.y - a.y * b.x).atan2(a.x * b.x + a.y * b.y).to_degrees()
}

fn inner_angle_deg(at: P2, a: P2, b: P2) -> f64 {
    signed_angle_deg(a - at, b - at).abs()
}

/// Where the back's outline stops being the back, searched from this far up the hip->shoulder
/// axis: below it the outline is the lumbar and thoracic spine whatever the clothing.
const BACK_TOP_SEARCH_FROM_T: f64 = 0.7;
/// An outline that turns outward by this much (hip-shoulder lengths) above its narrowest point
/// near the shoulders has left the back: it runs onto a hood, hair or the neck. The back's own
/// outline near the shoulders stays level or falls toward the shoulder (it falls more the rounder
/// the upper back); hoods measured 0.06-0.09 on the development clips, the traps of a bare neck
/// 0.03-0.04. Either side of this the reading of a neutral back stays neutral (a hood read as
/// back makes a rounded back look arched, by 10 deg or more).
const BACK_TOP_OUTWARD_L: f64 = 0.05;

/// Index of the outline's last sample on the back: the narrowest point in the outline's top part
/// when the outline turns outward beyond it by [`BACK_TOP_OUTWARD_L`], else the last sample.
pub fn back_top(widths: &[Option<f64>]) -> usize {
    let n = widths.len();
    let from = ((n.saturating_sub(1)) as f64 * BACK_TOP_SEARCH_FROM_T).ceil() as usize;
    let seen = || (from..n).filter_map(|i| Some((i, widths[i]?)));
    // The first of equal minima, so the back never ends later than its narrowest point.
    let Some((notch, narrowest)) = seen().reduce(|a, b| if b.1 < a.1 { b } else { a }) else {
        return n.saturating_sub(1);
    };
    let outward = seen().filter(|&(i, _)| i > notch).map(|(_, w)| w - narrowest).fold(0.0, f64::max);
    if outward >= BACK_TOP_OUTWARD_L {
        notch
    } else {
        n.saturating_sub(1)
    }
}

/// The back-bend measure validated by the prototype (`reference/back_outline_reference.py`):
/// straight lines fitted to the outline's lower half and upper half, width in hip-shoulder units
/// against position t along the hip->shoulder axis; the bend is the angle between them, positive
/// when the back is convex (rounded). The outline ends at sample `top` ([`back_top`]: the
/// prototype's whole axis when nothing covers the top of the back). Needs 70 % of the outline and
/// three points in each half.
///
/// An outline that ends short of the shoulders spans less of the back, and a back curved the
/// same turns through less over less of it (for an even curve the angle between the two halves'
/// lines is in proportion to the span): the angle is scaled to the whole hip-shoulder span, so
/// the same back reads the same under a hood and the limits keep their meaning.
pub fn back_bend_deg(widths: &[Option<f64>], top: usize) -> Option<f64> {
    let n = widths.len();
    if n < 7 || !mostly_seen(widths) {
        return None;
    }
    let half = top / 2;
    let lo = line_slope(widths, 0, half + 1)?;
    let hi = line_slope(widths, half, top + 1)?;
    Some((lo.atan() - hi.atan()).to_degrees() / top_t(widths.len(), top))
}

/// Sample `top` of an `n`-sample outline as a share of the hip->shoulder axis (1 = the shoulders).
fn top_t(n: usize, top: usize) -> f64 {
    top.min(n.saturating_sub(1)) as f64 / (n.max(2) - 1) as f64
}

/// At least 70 % of the outline was found.
fn mostly_seen(widths: &[Option<f64>]) -> bool {
    widths.iter().filter(|w| w.is_some()).count() as f64 >= 0.7 * widths.len() as f64
}

/// Least-squares slope of outline width against position t (0 at the hip, 1 at the shoulder) over
/// samples `a..b`, with at least three seen.
fn line_slope(widths: &[Option<f64>], a: usize, b: usize) -> Option<f64> {
    let n = widths.len();
    if n < 2 {
        return None;
    }
    let pts: Vec<(f64, f64)> =
        (a..b.min(n)).filter_map(|i| widths[i].map(|w| (i as f64 / (n - 1) as f64, w))).collect();
    if pts.len() < 3 {
        return None;
    }
    let k = pts.len() as f64;
    let (mx, my) = (pts.iter().map(|p| p.0).sum::<f64>() / k, pts.iter().map(|p| p.1).sum::<f64>() / k);
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The thoracic bend: lines fitted to the middle third and the top third of the outline up to
/// sample `top` ([`back_top`]; toward the shoulders), the angle between them, positive when
/// convex (the upper back rounds over). The lower back does not enter it, so a rounded upper back
/// over a flat lower back reads here and not in [`back_bend_deg`]'s lower half. Needs 70 % of
/// the outline.
pub fn upper_back_bend_deg(widths: &[Option<f64>], top: usize) -> Option<f64> {
    let n = widths.len();
    if n < 9 || !mostly_seen(widths) {
        return None;
    }
    let len = top + 1;
    let mid = line_slope(widths, len / 3, 2 * len / 3 + 1)?;
    let upper = line_slope(widths, 2 * len / 3, len)?;
    Some((mid.atan() - upper.atan()).to_degrees())
}

/// Computes the per-frame series of a cleaned track and its bar.
pub fn compute(track: &Track, bar: &BarPath) -> Kinematics {
    let n = track.len();
    let get = |j: Joint| track.joint(j);
    let (sh, hip, knee, ankle, wrist, ear, heel, toe) = (
        get(Joint::Shoulder),
        get(Joint::Hip),
        get(Joint::Knee),
        get(Joint::Ankle),
        get(Joint::Wrist),
        get(Joint::Ear),
        get(Joint::Heel),
        get(Joint::Toe),
    );
    let torso_px = signal::median_of((0..n).filter_map(|i| Some(sh[i]?.dist(hip[i]?)))).unwrap_or(1.0).max(1.0);
    let shin_torso = signal::median_of((0..n).filter_map(|i| Some(knee[i]?.dist(ankle[i]?) / torso_px)));
    // The floor: the feet's lowest point, robust over the clip (feet stay put in a deadlift).
    let floor_y_px = signal::median_of(
        (0..n).filter_map(|i| [ankle[i], heel[i], toe[i]].iter().flatten().map(|p| p.y).reduce(f64::min)),
    )
    .unwrap_or(0.0);
    let midfoot_x = signal::median_of((0..n).filter_map(|i| match (heel[i], toe[i]) {
        (Some(h), Some(t)) => Some(0.5 * (h.x + t.x)),
        _ => ankle[i].map(|a| a.x),
    }));
    let height = |p: Option<P2>| p.map(|p| (p.y - floor_y_px) / torso_px);
    // Rep timing and the torso-unit bar measures stay on the hands (validated on the clips; on
    // two of them the plate-driven timing moved floor breaks and lost a rep); bar distances to
    // the body use the plate.
    let bar_body = match bar.source {
        BarSource::Plate => bridged(&bar.bar_at_body, wrist),
        BarSource::Hands => wrist.to_vec(),
    };
    let mm = bar.scale.map(|s| s.mm_per_px);
    let plate_x_mm: Vec<Option<f64>> = bar.plate.iter().map(|p| Some(p.as_ref()?.x * mm?)).collect();
    let plate_y_mm: Vec<Option<f64>> = bar.plate.iter().map(|p| Some(p.as_ref()?.y * mm?)).collect();
    let plate_velocity_m_per_s =
        signal::derivative(&track.t_s, &plate_y_mm).into_iter().map(|v| v.map(|v| v / 1000.0)).collect();
    let mut k = Kinematics {
        t_s: track.t_s.clone(),
        torso_px,
        shin_torso,
        floor_y_px,
        trunk_incline_deg: vec![None; n],
        hip_angle_deg: vec![None; n],
        knee_angle_deg: vec![None; n],
        neck_extension_deg: vec![None; n],
        back_bend_deg: vec![None; n],
        upper_back_bend_deg: vec![None; n],
        back_top_t: vec![None; n],
        back_line_incline_deg: vec![None; n],
        bar_height_torso: vec![None; n],
        hip_height_torso: vec![None; n],
        shoulder_height_torso: vec![None; n],
        knee_height_torso: vec![None; n],
        bar_x_midfoot_torso: vec![None; n],
        bar_to_shin_torso: vec![None; n],
        bar_velocity_torso_per_s: vec![None; n],
        knee_ahead_of_bar_torso: vec![None; n],
        load_height_torso: vec![None; n],
        load_velocity_torso_per_s: vec![None; n],
        hip_plate_dist_r: vec![None; n],
        knee_plate_dist_r: vec![None; n],
        foot_plate_dist_r: vec![None; n],
        body_mm_per_px: bar.scale.map(|s| s.body_mm_per_px),
        plate_x_mm,
        plate_y_mm,
        plate_velocity_m_per_s,
        plate_height_torso: bar.plate.iter().map(|p| height(*p)).collect(),
    };
    for i in 0..n {
        if let (Some(s), Some(h)) = (sh[i], hip[i]) {
            let up = s - h;
            k.trunk_incline_deg[i] = Some(up.x.atan2(up.y).to_degrees());
            if let Some(kn) = knee[i] {
                k.hip_angle_deg[i] = Some(inner_angle_deg(h, s, kn));
            }
            if let Some(e) = ear[i] {
                // Counter-clockwise from the trunk direction = toward the back for a lifter facing +x.
                // (Ears far from where a head sits were dropped when the track was cleaned.) A
                // neck bent further than a neck bends is no measure either.
                let angle = signed_angle_deg(up, e - s);
                k.neck_extension_deg[i] = (angle.abs() <= MAX_NECK_ANGLE_DEG).then_some(angle);
            }
        }
        if let (Some(h), Some(kn), Some(a)) = (hip[i], knee[i], ankle[i]) {
            k.knee_angle_deg[i] = Some(inner_angle_deg(kn, h, a));
        }
        if let Some(b) = track.back[i].as_ref() {
            let top = back_top(&b.widths);
            k.back_bend_deg[i] = back_bend_deg(&b.widths, top);
            k.upper_back_bend_deg[i] = upper_back_bend_deg(&b.widths, top);
            k.back_line_incline_deg[i] =
                line_slope(&b.widths, top / 2, top + 1).map(|m| b.axis_incline_deg - m.atan().to_degrees());
            k.back_top_t[i] = Some(top_t(b.widths.len(), top));
        }
        k.bar_height_torso[i] = height(wrist[i]);
        k.hip_height_torso[i] = height(hip[i]);
        k.shoulder_height_torso[i] = height(sh[i]);
        k.knee_height_torso[i] = height(knee[i]);
        if let (Some(w), Some(kn)) = (bar_body[i], knee[i]) {
            k.knee_ahead_of_bar_torso[i] = Some((kn.x - w.x) / torso_px);
        }
        if let (Some(w), Some(mx)) = (bar_body[i], midfoot_x) {
            k.bar_x_midfoot_torso[i] = Some((w.x - mx) / torso_px);
        }
        if let (Some(w), Some(kn), Some(a)) = (bar_body[i], knee[i], ankle[i]) {
            // Shin line x at the bar's height (extended beyond the knee or ankle if needed).
            if (kn.y - a.y).abs() > 1e-6 {
                let shin_x = a.x + (w.y - a.y) / (kn.y - a.y) * (kn.x - a.x);
                k.bar_to_shin_torso[i] = Some((w.x - shin_x) / torso_px);
            }
        }
    }
    if let Some(scale) = bar.scale {
        let radius_px = scale.plate_diameter_px / 2.0;
        for (i, centre) in bar.plate.iter().enumerate() {
            let Some(c) = *centre else { continue };
            let dist_r = |p: &P2| p.dist(c) / radius_px;
            k.hip_plate_dist_r[i] = hip[i].as_ref().map(dist_r);
            k.knee_plate_dist_r[i] = knee[i].as_ref().map(dist_r);
            k.foot_plate_dist_r[i] = [heel[i], toe[i], ankle[i]].iter().flatten().map(dist_r).reduce(f64::min);
        }
    }
    k.bar_velocity_torso_per_s = signal::derivative(&k.t_s, &k.bar_height_torso);
    k.load_height_torso = match bar.source {
        BarSource::Plate => bridged(&bar.plate, wrist).iter().map(|p| height(*p)).collect(),
        BarSource::Hands => k.bar_height_torso.clone(),
    };
    k.load_velocity_torso_per_s = signal::derivative(&k.t_s, &k.load_height_torso);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_outline_has_no_bend_and_a_kinked_one_has_its_angle() {
        let straight: Vec<Option<f64>> = (0..41).map(|i| Some(0.2 + 0.001 * i as f64)).collect();
        assert!(back_bend_deg(&straight, 40).expect("bend").abs() < 1e-6);
        // Lower half slope tan(30 deg) outward, upper half flat: a 30 deg rounded back.
        let s = 30f64.to_radians().tan();
        let kinked: Vec<Option<f64>> = (0..41).map(|i| i as f64 / 40.0).map(|t| Some(0.2 + s * t.min(0.5))).collect();
        assert!((back_bend_deg(&kinked, 40).expect("bend") - 30.0).abs() < 1e-6);
        let sparse: Vec<Option<f64>> = (0..41).map(|i| (i % 2 == 0).then_some(0.2)).collect();
        assert!(back_bend_deg(&sparse, 40).is_none(), "under 70 % of the outline seen");
    }

    /// A back with a 20 deg dome (widths rising over the lower half, falling over the upper) and,
    /// above t = 0.8, a hood standing out from it.
    fn domed_back(hood_l: f64) -> Vec<Option<f64>> {
        let s = 10f64.to_radians().tan();
        (0..41)
            .map(|i| i as f64 / 40.0)
            .map(|t| {
                let back = 0.3 + s * (0.5 - (t - 0.5).abs());
                Some(if t > 0.8 { back + hood_l * ((t - 0.8) / 0.1).min(1.0) } else { back })
            })
            .collect()
    }

    #[test]
    fn a_hood_over_the_top_of_the_back_ends_the_outline_below_it() {
        let bare = domed_back(0.0);
        assert_eq!(back_top(&bare), 40, "nothing covers the top of a bare back");
        assert!((back_bend_deg(&bare, back_top(&bare)).expect("bend") - 20.0).abs() < 1e-6);
        let hooded = domed_back(0.08);
        assert_eq!(back_top(&hooded), 32, "the outline stops at the notch under the hood");
        // Measured to its top the dome is still there, not flattened into an arch by the hood.
        let bend = back_bend_deg(&hooded, back_top(&hooded)).expect("bend");
        assert!(bend > 15.0, "hooded bend {bend}");
        // The notch is a hood only when the outline stands out beyond it: the traps of a bare
        // neck (0.03 L) leave the whole outline in.
        assert_eq!(back_top(&domed_back(0.03)), 40);
        // Unseen samples near the top do not move the back's end.
        let mut gappy = hooded.clone();
        gappy[38] = None;
        assert_eq!(back_top(&gappy), 32);
    }

    #[test]
    fn an_evenly_curved_back_reads_the_same_under_a_hood() {
        // A back curved evenly from hip to shoulder (a sagitta of 0.09 L), about 20 deg.
        let arc = |hood_l: f64| -> Vec<Option<f64>> {
            (0..41)
                .map(|i| i as f64 / 40.0)
                .map(|t| {
                    Some(0.3 + 0.35 * t * (1.0 - t) + if t > 0.8 { hood_l * ((t - 0.8) / 0.1).min(1.0) } else { 0.0 })
                })
                .collect()
        };
        let bare = arc(0.0);
        let whole = back_bend_deg(&bare, back_top(&bare)).expect("bend");
        assert!((18.0..22.0).contains(&whole), "whole back {whole}");
        let hooded = arc(0.08);
        assert_eq!(back_top(&hooded), 32);
        let cut = back_bend_deg(&hooded, back_top(&hooded)).expect("bend");
        // Unscaled, the lower four fifths alone turn through a fifth less (16 deg).
        assert!((cut - whole).abs() < 1.0, "hooded {cut} vs whole {whole}");
    }

    #[test]
    fn angle_conventions() {
        let h = P2::new(0.0, 0.0);
        // Shoulder ahead of and above the hip at 45 deg: trunk incline 45.
        assert!((signed_angle_deg(P2::new(0.0, 1.0), P2::new(1.0, 1.0)) + 45.0).abs() < 1e-9);
        assert!((inner_angle_deg(h, P2::new(0.0, 1.0), P2::new(0.0, -1.0)) - 180.0).abs() < 1e-9);
        assert!((inner_angle_deg(h, P2::new(1.0, 0.0), P2::new(0.0, -1.0)) - 90.0).abs() < 1e-9);
    }
}
