//! The barbell's near plate: found and followed frame by frame, for a real-world scale (a 450 mm
//! plate gives mm per pixel) and for the bar path (the plate centre is the point whose scale is
//! right; see DOMAIN.md "The plate").
//!
//! Method (after the Python prototype in DOMAIN.md), per frame:
//! 1. A search window: around the predicted centre while locked (constant-velocity prediction
//!    from the last two measured frames, using their timestamps), else around the hands.
//! 2. Edges in that window (Gaussian blur, per-pixel strongest colour channel of the Sobel
//!    gradient, so a red plate on a dark wall still has a rim; Canny with thresholds set from the
//!    window's own gradient statistics).
//! 3. Gradient-direction voting (the Hough gradient method): every edge pixel votes, both ways
//!    along its gradient, for centres at every radius of the expected range. The strongest
//!    accumulator peaks are candidate centres; each gets its radius from a histogram of the
//!    distances of radially-oriented edge pixels, preferring the outermost strong ring (a plate's
//!    rim and lip, and its hub, make concentric circles; the plate is the outer one).
//! 4. A least-squares (geometric, Gauss-Newton) circle fit to edge pixels near the candidate,
//!    twice with a narrowing band.
//! 5. A score: the fraction of the rim *inside the image* that has a radially-oriented edge on
//!    it, so a plate half out of frame scores as well as a whole one. Candidates are ranked by
//!    score x closeness to the prior position (prediction or hands).
//!
//! A frame whose best score is below [`PlateConfig::min_score`] is not measured: the tracker
//! coasts on its prediction for up to [`PlateConfig::max_coast_s`] (reported with
//! `measured: false`), then gives up and re-acquires from the hands.
//!
//! Units and conventions: image pixels, x to the right, y *down*, origin at the top-left pixel's
//! centre (OpenCV's convention); times in seconds from the video's own timestamps (never
//! `index / fps`); every threshold is in seconds or in fractions of the plate diameter.
//!
//! In the pipeline, [`PlateTracker::follow`] drives it from the lifter's pose: the hands place the
//! search, the torso length bounds the plate's size, and a plate that stays far from the hands
//! (a rack plate, a plate left on the floor) is dropped so the real one can be found. Whether a
//! followed plate moved *with* the hands is judged afterwards, on the whole clip (`barpath`).
//!
//! A camera turned off the bar's line sees the plate as an upright ellipse: when acquiring, a few
//! aspects (width / height) are tried on one set of edges, the edge points stretched horizontally
//! (`circle::prepared`), and the best-supported one is kept while the plate is followed (there the
//! search region itself is stretched); the diameter is the ellipse's height.
//!
//! Not here: tilted ellipses (camera rolled or pitched far); sub-pixel edge positions; scene-cut
//! detection (call [`PlateTracker::reset`] at a cut).

mod circle;
#[cfg(test)]
mod tests;

use opencv::{core, prelude::*};

use crate::capture::pose::PoseObservation;
use crate::posetrack::layout::{joint, weighted_pair};
use circle::{Circle, CircleFinder, Search};

/// Plate aspects (width / height) tried when acquiring: a camera turned off the bar's line shows
/// the plate as an upright ellipse (0.85 is about 30 deg; narrower ones were tried and lost to
/// plate hubs seen obliquely, and 45 deg views take the bar from the hands anyway).
const ACQUIRE_ASPECTS: [f64; 2] = [1.0, 0.85];
/// In those bands a ring outside the strongest one at a centre is taken only when nearly as
/// strong (a shadow or a pad around the plate is a fainter ring just outside its rim).
const FALLBACK_OUTER_RING_SHARE: f64 = 0.9;
/// The two radius bands acquisition searches overlap by this factor at their common edge.
const ACQUIRE_BAND_OVERLAP: f64 = 1.05;

/// Why a frame could not be searched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BarError {
    /// The expected plate diameter range is empty, non-finite or not positive.
    #[error("invalid plate diameter range {min_px}..{max_px} px")]
    BadDiameterRange { min_px: f64, max_px: f64 },
    /// The frame is not an 8-bit BGR image.
    #[error("plate search needs an 8-bit BGR frame (OpenCV type {cv_type})")]
    BadFrame { cv_type: i32 },
    /// An OpenCV call failed.
    #[error("OpenCV: {0}")]
    OpenCv(String),
}

impl From<opencv::Error> for BarError {
    fn from(e: opencv::Error) -> BarError {
        BarError::OpenCv(e.to_string())
    }
}

/// Tuning for [`PlateTracker`]. Lengths are fractions of the plate diameter, times in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateConfig {
    /// Least rim edge support (0..1, fraction of the in-image rim with an edge on it) for a frame
    /// to count as measured while locked. Blurred, fast frames of a real plate read ~0.5-0.9.
    pub min_score: f64,
    /// Least rim edge support to *start* tracking (stricter: nothing confirms the first frame).
    pub min_acquire_score: f64,
    /// Least part of the rim that must be inside the image (0..1); below it the circle is too
    /// poorly constrained to measure.
    pub min_visible_rim: f64,
    /// How long the tracker coasts on its prediction through unmeasured frames before it drops
    /// the plate and re-acquires from the hands.
    pub max_coast_s: f64,
    /// While locked: how far beyond the predicted centre to look, in predicted diameters.
    pub track_search_frac: f64,
    /// While locked: spread of the closeness-to-prediction weight, in predicted diameters.
    pub track_prior_sigma_frac: f64,
    /// While locked: how much the diameter may differ from the last one (fraction).
    pub track_diameter_change_frac: f64,
    /// Acquiring: how far from the hands a plate centre is looked for, in nominal diameters
    /// (the geometric mean of the hinted range).
    pub acquire_search_frac: f64,
    /// Acquiring: spread of the closeness-to-hands weight, in nominal diameters.
    pub acquire_prior_sigma_frac: f64,
    /// Weakest edge kept, in grey levels per pixel of (blurred) intensity slope; lower finds
    /// fainter rims and more clutter.
    pub min_edge_grey_per_px: f64,
    /// [`PlateTracker::follow`]: plausible plate diameters as multiples of the torso length
    /// (shoulder-hip distance). A 450 mm plate measured 0.92-1.55x (median 1.17) on the
    /// prototype's clips; the plate is nearer the camera than the lifter, and with the phone a
    /// metre or less from the plate it looks up to ~1.8x the torso (below 1.7 the hub is taken
    /// for the plate and every cm doubles). Wider admits large phantom circles around the lifter
    /// in cluttered scenes.
    pub diameter_torso_range: (f64, f64),
    /// [`PlateTracker::follow`]: a plate whose centre stays further than this many diameters from
    /// the hands for [`PlateConfig::max_far_from_hands_s`] is dropped.
    pub max_hands_distance_frac: f64,
    pub max_far_from_hands_s: f64,
}

impl Default for PlateConfig {
    fn default() -> PlateConfig {
        PlateConfig {
            min_score: 0.4,
            min_acquire_score: 0.55,
            min_visible_rim: 0.3,
            max_coast_s: 0.2,
            track_search_frac: 0.3,
            track_prior_sigma_frac: 0.25,
            track_diameter_change_frac: 0.08,
            acquire_search_frac: 0.8,
            acquire_prior_sigma_frac: 0.5,
            min_edge_grey_per_px: 3.0,
            diameter_torso_range: (0.8, 2.0),
            max_hands_distance_frac: 1.0,
            max_far_from_hands_s: 0.7,
        }
    }
}

/// The plate in one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlateObservation {
    /// The frame's timestamp (s), as given.
    pub t_s: f64,
    /// Plate centre (image pixels, y down).
    pub center_x_px: f64,
    pub center_y_px: f64,
    /// Plate diameter (pixels): its height, which a camera turned about the vertical does not
    /// foreshorten.
    pub diameter_px: f64,
    /// Width over height of the plate's outline (1 = a circle, seen square-on).
    pub aspect: f64,
    /// Rim edge support of the circle found (0..1); on an unmeasured frame, the best circle's
    /// support (0 when none was found).
    pub score: f64,
    /// `true` when the circle was found in this frame; `false` when the position is the
    /// tracker's prediction (coasting), which should not be used for scale or velocity.
    pub measured: bool,
}

#[derive(Debug, Clone, Copy)]
struct Fix {
    t_s: f64,
    x: f64,
    y: f64,
    d: f64,
}

/// Finds and follows one plate through a clip. Feed frames in time order.
pub struct PlateTracker {
    cfg: PlateConfig,
    finder: CircleFinder,
    /// Last measured frame.
    last: Option<Fix>,
    /// Centre velocity (px/s) from the last two measured frames.
    velocity: (f64, f64),
    /// Since when (s) the locked plate has been far from the hands.
    far_since_s: Option<f64>,
    /// The last measured diameters (px) of the plate being followed; their median bounds the
    /// next one, so the size cannot creep frame by frame onto a larger circle.
    recent_d: std::collections::VecDeque<f64>,
    /// Width over height of the plate being followed.
    aspect: f64,
    /// When acquisition was last tried (s), and where the hands were (px); see [`acquire_every_s`].
    last_acquire_s: Option<f64>,
    last_acquire_hands_px: Option<(f64, f64)>,
    /// Acquisitions tried in a row without finding a plate. Losing a plate does not clear it
    /// (each failed acquisition ends in [`PlateTracker::reset`]); finding one does.
    failed_acquires: u32,
    /// Acquisitions tried on this clip, for the timings.
    acquisitions_tried: u64,
}

/// While no plate is followed, acquisition (several aspects over a wide window, the costly
/// search) is tried at most this often: a lifter sets up for far longer.
const ACQUIRE_EVERY_S: f64 = 0.1;
/// Each acquisition that finds nothing doubles the wait before the next, from
/// [`ACQUIRE_EVERY_S`] up to this (tries at 0, 0.1, 0.3, 0.7, 1.5, 2.5 s...): on a clip that
/// never shows a plate (a kettlebell, a trap bar, a plate seen edge-on) the search cost as much
/// as the pose model, for nothing. A plate found resets it, so a plate lost is looked for again
/// at the fast pace.
const ACQUIRE_SLOWEST_EVERY_S: f64 = 1.0;
/// ...and hands that have moved this many plate diameters (the hinted range's geometric mean)
/// since the last try are somewhere new, where the plate may now be (reaching down to the bar
/// after walking in): they are searched after [`ACQUIRE_EVERY_S`].
const ACQUIRE_MOVED_DIAMETERS: f64 = 0.6;

/// The wait (s) before the next acquisition after `failed` in a row found nothing.
fn acquire_every_s(failed: u32) -> f64 {
    let doublings = failed.saturating_sub(1).min(16) as i32;
    (ACQUIRE_EVERY_S * 2f64.powi(doublings)).min(ACQUIRE_SLOWEST_EVERY_S)
}

/// Measured diameters kept for the reference size.
const RECENT_DIAMETERS: usize = 15;

impl PlateTracker {
    pub fn new(cfg: PlateConfig) -> PlateTracker {
        PlateTracker {
            cfg,
            finder: CircleFinder::default(),
            last: None,
            velocity: (0.0, 0.0),
            far_since_s: None,
            recent_d: std::collections::VecDeque::with_capacity(RECENT_DIAMETERS),
            aspect: 1.0,
            last_acquire_s: None,
            last_acquire_hands_px: None,
            failed_acquires: 0,
            acquisitions_tried: 0,
        }
    }

    /// Forgets the plate (for example at a scene cut); the next frame re-acquires.
    pub fn reset(&mut self) {
        self.last = None;
        self.velocity = (0.0, 0.0);
        self.far_since_s = None;
        self.recent_d.clear();
        self.aspect = 1.0;
    }

    /// Median of the recently measured diameters.
    fn reference_diameter_px(&self) -> Option<f64> {
        crate::support::signal::median_of(self.recent_d.iter().copied())
    }

    /// One frame of the pipeline: looks for the plate near the lifter's hands, sized from the
    /// torso. Without a pose, a locked plate is still followed but none is acquired (searching
    /// the whole frame finds wheels and clocks). Returns the plate only when it was measured on
    /// this frame (coasted predictions carry no new information).
    pub fn follow(
        &mut self,
        frame: &core::Mat,
        t_s: f64,
        pose: Option<&PoseObservation>,
    ) -> Result<Option<PlateObservation>, BarError> {
        let hands = pose.and_then(hands_px);
        let torso_px = pose.and_then(torso_px);
        let range = match (torso_px, self.last) {
            (Some(t), _) => (self.cfg.diameter_torso_range.0 * t, self.cfg.diameter_torso_range.1 * t),
            // No torso this frame: the locked plate's own size bounds it.
            (None, Some(last)) => (0.5 * last.d, 2.0 * last.d),
            (None, None) => return Ok(None),
        };
        let acquiring = self.last.is_none();
        if acquiring {
            let Some(h) = hands else { return Ok(None) };
            let nominal_px = (range.0 * range.1).sqrt();
            let moved = self
                .last_acquire_hands_px
                .is_some_and(|p| (h.0 - p.0).hypot(h.1 - p.1) > ACQUIRE_MOVED_DIAMETERS * nominal_px);
            let every_s = if moved { ACQUIRE_EVERY_S } else { acquire_every_s(self.failed_acquires) };
            if self.last_acquire_s.is_some_and(|t| (t_s - t).abs() < every_s) {
                return Ok(None);
            }
            self.last_acquire_s = Some(t_s);
            self.last_acquire_hands_px = Some(h);
            self.acquisitions_tried += 1;
        }
        let obs = self.track(frame, t_s, hands, range)?;
        if acquiring {
            self.failed_acquires = if obs.is_some() { 0 } else { self.failed_acquires.saturating_add(1) };
        }
        if let (Some(o), Some(h)) = (obs, hands) {
            let far =
                (o.center_x_px - h.0).hypot(o.center_y_px - h.1) > self.cfg.max_hands_distance_frac * o.diameter_px;
            match (far, self.far_since_s) {
                (false, _) => self.far_since_s = None,
                (true, None) => self.far_since_s = Some(t_s),
                (true, Some(since)) if t_s - since > self.cfg.max_far_from_hands_s => {
                    self.reset();
                    return Ok(None);
                }
                (true, Some(_)) => {}
            }
        }
        Ok(obs.filter(|o| o.measured))
    }

    /// How many times the costly acquisition search ran on this clip.
    pub fn acquisitions_tried(&self) -> u64 {
        self.acquisitions_tried
    }

    /// `true` while a plate is being followed (measured recently enough to coast).
    pub fn is_locked(&self) -> bool {
        self.last.is_some()
    }

    /// Looks for the plate in `frame` (8-bit BGR) at time `t_s` (s). `hands`: the hands' position
    /// (px), where the bar is held; used to acquire the plate. `diameter_px_range`: the plausible
    /// plate diameters (px), e.g. 0.9-1.6 x torso length.
    ///
    /// Returns `None` when no plate is locked (not found yet, or lost after coasting too long);
    /// otherwise the plate, `measured: false` on coasted frames.
    pub fn track(
        &mut self,
        frame: &core::Mat,
        t_s: f64,
        hands: Option<(f64, f64)>,
        diameter_px_range: (f64, f64),
    ) -> Result<Option<PlateObservation>, BarError> {
        let (d_min, d_max) = diameter_px_range;
        if !(d_min.is_finite() && d_max.is_finite() && d_min > 0.0 && d_max >= d_min) {
            return Err(BarError::BadDiameterRange { min_px: d_min, max_px: d_max });
        }
        let cfg = &self.cfg;
        let (w, h) = (frame.cols() as f64, frame.rows() as f64);

        let search = match self.last {
            Some(last) => {
                let dt = (t_s - last.t_s).max(0.0);
                let (px, py) = (last.x + self.velocity.0 * dt, last.y + self.velocity.1 * dt);
                // Narrow the radius range around the recent diameters, within the hint when they
                // overlap (the hint is coarse, the plate's own size is not; but without the hint
                // a followed size can wander onto larger circles over re-acquisitions).
                let d_ref = self.reference_diameter_px().unwrap_or(last.d);
                let lo = d_ref * (1.0 - cfg.track_diameter_change_frac);
                let hi = d_ref * (1.0 + cfg.track_diameter_change_frac);
                let (lo, hi) = if hi < d_min || lo > d_max { (lo, hi) } else { (lo.max(d_min), hi.min(d_max)) };
                Search {
                    center: (px, py),
                    half_size_px: cfg.track_search_frac * last.d,
                    r_min_px: lo / 2.0,
                    r_max_px: hi / 2.0,
                    prior_sigma_px: cfg.track_prior_sigma_frac * last.d,
                    min_visible_rim: cfg.min_visible_rim,
                    min_edge_grey_per_px: cfg.min_edge_grey_per_px,
                    outer_ring_share: circle::OUTER_RING_SHARE,
                }
            }
            None => {
                let nominal = (d_min * d_max).sqrt();
                let (center, half) = match hands {
                    Some(hp) => (hp, cfg.acquire_search_frac * nominal),
                    // No hint: the whole image, no preference.
                    None => ((w / 2.0, h / 2.0), w.max(h) / 2.0),
                };
                Search {
                    center,
                    half_size_px: half,
                    r_min_px: d_min / 2.0,
                    r_max_px: d_max / 2.0,
                    prior_sigma_px: if hands.is_some() {
                        cfg.acquire_prior_sigma_frac * nominal
                    } else {
                        f64::INFINITY
                    },
                    min_visible_rim: cfg.min_visible_rim,
                    min_edge_grey_per_px: cfg.min_edge_grey_per_px,
                    outer_ring_share: circle::OUTER_RING_SHARE,
                }
            }
        };

        let found = if self.last.is_some() {
            self.finder.find_with_aspect(frame, &search, self.aspect)?
        } else {
            // Acquiring: the plate may be seen off axis. Phones are mostly set up side-on, and
            // a plate's hub seen obliquely is an ellipse too, so the rim support of a narrower
            // outline is discounted by sqrt(aspect).
            let mut best: Option<(Circle, f64, f64)> = None;
            // The whole hinted range first. It is wide (a plate is 0.8-2x the torso), and within
            // one search the votes of large circles outnumber a smaller plate's (a longer rim
            // gathers more edge pixels), so a faint phantom ring around the lifter can hide the
            // plate itself: when that search finds only such a large ring, and too faint, the
            // range is searched again in two bands, and what each finds is compared by rim
            // support, which does not grow with size.
            let split = (search.r_min_px * search.r_max_px).sqrt();
            let searches = [
                search,
                Search {
                    r_max_px: (split * ACQUIRE_BAND_OVERLAP).min(search.r_max_px),
                    outer_ring_share: FALLBACK_OUTER_RING_SHARE,
                    ..search
                },
                Search {
                    r_min_px: (split / ACQUIRE_BAND_OVERLAP).max(search.r_min_px),
                    outer_ring_share: FALLBACK_OUTER_RING_SHARE,
                    ..search
                },
            ];
            for (k, s) in searches.iter().enumerate() {
                // Only when the whole-range search found nothing strong enough, and what it
                // found was a large ring (the upper half of the range), which may have hidden
                // the plate.
                let weak_large = best.map_or(false, |(c, _, _)| c.score < cfg.min_acquire_score && c.r > split);
                if k == 1 && !weak_large {
                    break;
                }
                // Edges once per scale, for every aspect: the lower band has the whole range's
                // smallest radius and lies inside its window, so it reuses them.
                if k != 1 && !self.finder.prepare(frame, s)? {
                    break;
                }
                for aspect in ACQUIRE_ASPECTS {
                    if let Some(c) = self.finder.search_prepared(s, aspect) {
                        let rank = c.score * aspect.sqrt();
                        if best.map_or(true, |(_, _, r)| rank > r) {
                            best = Some((c, aspect, rank));
                        }
                    }
                }
            }
            if let Some((_, aspect, _)) = best {
                self.aspect = aspect;
            }
            best.map(|(c, _, _)| c)
        };
        let need = if self.last.is_some() { cfg.min_score } else { cfg.min_acquire_score };
        match (found, self.last) {
            (Some(c), last) if c.score >= need => {
                if let Some(last) = last {
                    let dt = t_s - last.t_s;
                    if dt > 0.0 {
                        self.velocity = ((c.x - last.x) / dt, (c.y - last.y) / dt);
                    }
                } else {
                    self.velocity = (0.0, 0.0);
                }
                self.last = Some(Fix { t_s, x: c.x, y: c.y, d: 2.0 * c.r });
                if self.recent_d.len() == RECENT_DIAMETERS {
                    self.recent_d.pop_front();
                }
                self.recent_d.push_back(2.0 * c.r);
                Ok(Some(PlateObservation {
                    t_s,
                    center_x_px: c.x,
                    center_y_px: c.y,
                    diameter_px: 2.0 * c.r,
                    aspect: self.aspect,
                    score: c.score,
                    measured: true,
                }))
            }
            (found, Some(last)) if t_s - last.t_s <= cfg.max_coast_s => {
                let dt = (t_s - last.t_s).max(0.0);
                Ok(Some(PlateObservation {
                    t_s,
                    center_x_px: last.x + self.velocity.0 * dt,
                    center_y_px: last.y + self.velocity.1 * dt,
                    diameter_px: last.d,
                    aspect: self.aspect,
                    score: found.map_or(0.0, |c| c.score),
                    measured: false,
                }))
            }
            _ => {
                self.reset();
                Ok(None)
            }
        }
    }
}

/// Where the bar is held: the visibility-weighted mean of the wrists (in a side view both project
/// near the bar; the far one is often behind the plate, with low visibility).
fn hands_px(pose: &PoseObservation) -> Option<(f64, f64)> {
    let k = |i: usize| [pose.keypoints[i].x, pose.keypoints[i].y, pose.keypoints[i].visibility];
    weighted_pair(k(joint::LEFT_WRIST), k(joint::RIGHT_WRIST), 0.0).filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// Shoulder-centre to hip-centre distance (px).
fn torso_px(pose: &PoseObservation) -> Option<f64> {
    let k = &pose.keypoints;
    let sh = k[joint::LEFT_SHOULDER].point().mid(k[joint::RIGHT_SHOULDER].point());
    let hip = k[joint::LEFT_HIP].point().mid(k[joint::RIGHT_HIP].point());
    Some(sh.dist(hip)).filter(|d| d.is_finite() && *d > 1.0)
}
