//! Following the lifter from frame to frame, as MediaPipe's pose graph does: detect a person, crop,
//! run the landmark model, and crop the next frame from this frame's auxiliary landmarks
//! (smoothed by a One Euro filter as in MediaPipe). When the pose presence of a tracked crop drops
//! below its threshold, the crop drifts off the body (the torso shrinking in the crop: it slides
//! onto a plate in close portrait framing), or the trunk jumps further than a body moves between
//! two model runs (a cut in an edited clip), the detector runs again on the same frame.
//!
//! Lifter selection: gyms have other people in frame. At first acquisition the lifter is the
//! person who is large and central (score x relative size x centrality). After a loss the
//! tracker looks for the *same* person (near the last hip centre, similar size) and, for
//! `reacquire_window_s`, prefers no pose to a bystander; after that the first-acquisition rule
//! applies again (the lifter may have walked).

use opencv::{core, prelude::*};

use super::detector::{Detection, Detector, KP_FULL_BODY_SCALE, KP_HIP_CENTER};
use super::geometry::Roi;
use super::landmarks::{LandmarkModel, LandmarkResult};
use super::model::ModelError;
use super::{joint, Point, PoseObservation, StageTimes};

/// Pose model runs per second of the clip, by default: every frame of a 24-30 frames/s clip,
/// every other frame at 60. The analysis low-passes the pose at about 6 Hz (DOMAIN.md), far below
/// the 15 Hz that 30 samples a second resolve; the plate (the bar's speed) is still measured on
/// every frame.
pub const DEFAULT_MAX_RATE_HZ: f64 = 30.0;
/// Back outlines read per second of the clip, by default: every other model run at 30 a second,
/// interpolated between. The back's shape is a posture held or changing over a pull of half a
/// second or more, and the analysis takes it as a mean or median over a phase; reading it costs
/// a quarter of the landmarks' time (the segmentation head on a window, see `segmentation`).
pub const DEFAULT_OUTLINE_RATE_HZ: f64 = 15.0;

/// A shoulder or hip centre that moves by this many torso lengths between two model runs has not
/// moved with the body: a fast pull moves them about 0.05 torso lengths in a 30 frames/s frame. On
/// the development clips a cut moved them 0.84, and the landmarks leaving a lifter behind a plate
/// 0.5-6.
const JUMP_TORSO_LENGTHS: f64 = 0.5;
/// Model runs further apart than this (a skipped stretch, a lost lifter) are not compared.
const JUMP_WITHIN_S: f64 = 0.1;

/// Shoulder centre and hip centre of a landmark result.
fn trunk_ends(result: &LandmarkResult) -> (Point, Point) {
    let mid = |a: usize, b: usize| {
        let (a, b) = (&result.keypoints[a], &result.keypoints[b]);
        Point::new(0.5 * (a.x + b.x), 0.5 * (a.y + b.y))
    };
    (mid(joint::LEFT_SHOULDER, joint::RIGHT_SHOULDER), mid(joint::LEFT_HIP, joint::RIGHT_HIP))
}

/// Tracking parameters, with MediaPipe's values as defaults (except [`TrackerConfig::max_rate_hz`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Minimum detector score to accept a person (0..1).
    pub min_detection_score: f64,
    /// Pose presence below this drops tracking (0..1).
    pub min_presence: f64,
    /// ROI side = 2 x hip-to-scale-point distance x this.
    pub roi_scale: f64,
    /// Refine landmarks from the heatmap (MediaPipe does).
    pub refine_from_heatmap: bool,
    /// Smooth the auxiliary landmarks that place the next crop (MediaPipe does).
    pub smooth_roi: bool,
    /// Re-detect when the torso in the crop is shorter than this fraction of its running median.
    pub drift_ratio: f64,
    /// After losing the lifter, how long to wait for the same person before accepting anyone (s).
    pub reacquire_window_s: f64,
    /// A re-acquired person must have its hip centre within this many body scales of the last one.
    pub reacquire_max_shift_scales: f64,
    /// Presence at which a frame's crop is remembered as a fallback (0..1).
    pub confident_presence: f64,
    /// How long a crop that found the lifter may be reused when tracking and detection both fail (s).
    pub confident_roi_max_age_s: f64,
    /// The pose model runs at most this many times per second of the clip; 0 = on every frame
    /// (MediaPipe's way). Used by the pipeline, which interpolates the frames between.
    pub max_rate_hz: f64,
    /// The back outline is read on model runs at most this many times per second of the clip;
    /// 0 = on every run. Used by the pipeline; `posetrack::fill_skipped` interpolates the others.
    pub outline_max_rate_hz: f64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            min_detection_score: 0.5,
            min_presence: 0.5,
            roi_scale: 1.25,
            refine_from_heatmap: true,
            smooth_roi: true,
            drift_ratio: 0.75,
            reacquire_window_s: 2.0,
            reacquire_max_shift_scales: 1.0,
            confident_presence: 0.9,
            confident_roi_max_age_s: 1.0,
            max_rate_hz: DEFAULT_MAX_RATE_HZ,
            outline_max_rate_hz: DEFAULT_OUTLINE_RATE_HZ,
        }
    }
}

/// Where the lifter was last seen.
#[derive(Debug, Clone, Copy)]
struct LastSeen {
    hip: Point,
    scale_px: f64,
    /// Shoulder and hip centres from the landmarks (the trunk's ends).
    shoulder: Point,
    trunk_hip: Point,
    t_s: f64,
}

/// A crop on which the lifter was found with high presence, and when.
#[derive(Debug, Clone, Copy)]
struct UsedRoi {
    roi: Roi,
    t_s: f64,
}

/// Per-clip tracking state around the two models.
pub struct PoseTracker {
    detector: Detector,
    landmarks: LandmarkModel,
    cfg: TrackerConfig,
    next_roi: Option<Roi>,
    last_seen: Option<LastSeen>,
    /// Crop of the last frame with a confident pose.
    last_confident: Option<UsedRoi>,
    roi_filter: AuxFilter,
    torso: RunningMedian,
    detections: Vec<Detection>,
    /// Frame size, for centrality.
    frame_size: (f64, f64),
    detect_s: f64,
    detector_runs: u64,
}

impl PoseTracker {
    pub fn new(mut detector: Detector, mut landmarks: LandmarkModel, cfg: TrackerConfig) -> PoseTracker {
        detector.min_score = cfg.min_detection_score;
        landmarks.refine_from_heatmap = cfg.refine_from_heatmap;
        PoseTracker {
            detector,
            landmarks,
            cfg,
            next_roi: None,
            last_seen: None,
            last_confident: None,
            roi_filter: AuxFilter::default(),
            torso: RunningMedian::default(),
            detections: Vec::with_capacity(16),
            frame_size: (0.0, 0.0),
            detect_s: 0.0,
            detector_runs: 0,
        }
    }

    /// Forgets everything about the previous clip.
    pub fn reset(&mut self) {
        self.next_roi = None;
        self.last_seen = None;
        self.last_confident = None;
        self.roi_filter = AuxFilter::default();
        self.torso = RunningMedian::default();
        self.detect_s = 0.0;
        self.detector_runs = 0;
        self.landmarks.times = StageTimes::default();
    }

    /// Time spent so far in this clip, by stage.
    pub fn times(&self) -> StageTimes {
        StageTimes { detect_s: self.detect_s, detector_runs: self.detector_runs, ..self.landmarks.times }
    }

    /// Finds the lifter's pose on one upright BGR frame taken at `t_s`, with the back outline
    /// when `outline` (see [`TrackerConfig::outline_max_rate_hz`]).
    pub fn process(
        &mut self,
        frame: &core::Mat,
        t_s: f64,
        outline: bool,
    ) -> Result<Option<PoseObservation>, ModelError> {
        self.frame_size = (frame.cols() as f64, frame.rows() as f64);
        let (roi, from_detector) = match self.next_roi.take() {
            Some(roi) => (roi, false),
            None => match self.detect_lifter(frame, t_s)? {
                Some(roi) => (roi, true),
                None => return Ok(None),
            },
        };
        let mut result = self.landmarks.run(frame, &roi, outline)?;
        let mut roi = roi;
        let mut from_detector = from_detector;
        // A tracked crop that lost the person (presence dropped), slid off the body while
        // presence still looks fine (the torso shrinks in the crop), or saw the trunk jump further
        // than a body moves (a cut in an edited clip: the crop that followed the last shot lands
        // on the next one turned the wrong way, and the crops that follow from it take several
        // frames to come right): look again on this frame rather than keep it.
        let lost = result.presence < self.cfg.min_presence;
        let drifted = self.torso.is_drift(result.torso_crop_px, self.cfg.drift_ratio);
        if !from_detector && (lost || drifted || self.trunk_jumped(&result, t_s)) {
            if let Some(fresh) = self.detect_lifter(frame, t_s)? {
                let retry = self.landmarks.run(frame, &fresh, outline)?;
                if lost || retry.presence >= self.cfg.min_presence {
                    result = retry;
                    roi = fresh;
                    from_detector = true;
                }
            }
        }
        // Still nobody: the detector misses people half hidden behind a plate, who have not moved
        // far since they were last seen clearly. Try that crop.
        if result.presence < self.cfg.min_presence {
            if let Some(good) = self.last_confident.filter(|g| t_s - g.t_s <= self.cfg.confident_roi_max_age_s) {
                if good.roi != roi {
                    let retry = self.landmarks.run(frame, &good.roi, outline)?;
                    if retry.presence >= self.cfg.min_presence {
                        result = retry;
                        roi = good.roi;
                        from_detector = false;
                    }
                }
            }
        }
        // A degenerate output (non-finite numbers) is no pose, whatever the presence says.
        let finite = result.keypoints.iter().all(|k| k.x.is_finite() && k.y.is_finite() && k.visibility.is_finite())
            && result.aux.iter().all(|p| p.x.is_finite() && p.y.is_finite());
        if result.presence < self.cfg.min_presence || !finite {
            self.roi_filter = AuxFilter::default();
            return Ok(None);
        }
        if result.presence >= self.cfg.confident_presence {
            self.last_confident = Some(UsedRoi { roi, t_s });
        }
        self.torso.push(result.torso_crop_px);
        self.accept(&result, t_s);
        Ok(Some(PoseObservation {
            keypoints: result.keypoints,
            presence: result.presence,
            roi,
            from_detector,
            back: result.back,
            outline_read: outline,
            camera_angle_deg: result.camera_angle_deg,
        }))
    }

    /// Whether the shoulder or hip centre moved by more than [`JUMP_TORSO_LENGTHS`] of the last
    /// torso length since the last model run, [`JUMP_WITHIN_S`] or less before.
    fn trunk_jumped(&self, result: &LandmarkResult, t_s: f64) -> bool {
        let Some(last) = self.last_seen.filter(|l| t_s - l.t_s <= JUMP_WITHIN_S) else { return false };
        let torso_px = last.shoulder.dist(last.trunk_hip);
        let (shoulder, hip) = trunk_ends(result);
        torso_px > 0.0 && shoulder.dist(last.shoulder).max(hip.dist(last.trunk_hip)) > JUMP_TORSO_LENGTHS * torso_px
    }

    /// Records the lifter's position and prepares the next frame's crop.
    fn accept(&mut self, result: &LandmarkResult, t_s: f64) {
        let [hip, scale_point] = if self.cfg.smooth_roi { self.roi_filter.apply(result.aux, t_s) } else { result.aux };
        self.next_roi = Some(Roi::from_alignment(hip, scale_point, self.cfg.roi_scale)).filter(Roi::is_usable);
        let (shoulder, trunk_hip) = trunk_ends(result);
        self.last_seen = Some(LastSeen {
            hip: result.aux[0],
            scale_px: result.aux[0].dist(result.aux[1]),
            shoulder,
            trunk_hip,
            t_s,
        });
    }

    /// Runs the detector and picks the lifter among the people found.
    fn detect_lifter(&mut self, frame: &core::Mat, t_s: f64) -> Result<Option<Roi>, ModelError> {
        self.detector_runs += 1;
        let start = std::time::Instant::now();
        self.detector.detect(frame, &mut self.detections)?;
        self.detect_s += start.elapsed().as_secs_f64();
        self.roi_filter = AuxFilter::default();
        let chosen = match self.last_seen {
            Some(last) if t_s - last.t_s <= self.cfg.reacquire_window_s => self.same_person(&last),
            _ => self.most_likely_lifter(),
        };
        Ok(chosen
            .map(|d| {
                Roi::from_alignment(d.keypoints[KP_HIP_CENTER], d.keypoints[KP_FULL_BODY_SCALE], self.cfg.roi_scale)
            })
            .filter(Roi::is_usable))
    }

    /// The detection nearest the last known lifter, if one is close enough and of similar size.
    fn same_person(&self, last: &LastSeen) -> Option<Detection> {
        self.detections
            .iter()
            .filter(|d| {
                let ratio = d.body_scale_px() / last.scale_px.max(1.0);
                (0.6..=1.6).contains(&ratio)
                    && d.keypoints[KP_HIP_CENTER].dist(last.hip) <= self.cfg.reacquire_max_shift_scales * last.scale_px
            })
            .min_by(|a, b| {
                a.keypoints[KP_HIP_CENTER].dist(last.hip).total_cmp(&b.keypoints[KP_HIP_CENTER].dist(last.hip))
            })
            .copied()
    }

    /// First acquisition: the large, central person with a confident detection.
    fn most_likely_lifter(&self) -> Option<Detection> {
        let (w, h) = self.frame_size;
        let centre = Point::new(w / 2.0, h / 2.0);
        let half_diag = 0.5 * w.hypot(h);
        let largest = self.detections.iter().map(Detection::body_scale_px).fold(0.0, f64::max);
        let value = |d: &Detection| {
            let size = d.body_scale_px() / largest.max(1e-9);
            let off_centre = (d.keypoints[KP_HIP_CENTER].dist(centre) / half_diag).min(1.0);
            d.score * size * (1.0 - 0.5 * off_centre)
        };
        self.detections.iter().max_by(|a, b| value(a).total_cmp(&value(b))).copied()
    }
}

/// MediaPipe's One Euro filter for the auxiliary landmarks (min cutoff 0.01 Hz, beta 10,
/// derivative cutoff 1 Hz), with velocities divided by the object size (the side of the
/// alignment rectangle) so the filter is independent of how large the lifter appears. Getting
/// that scale right halved the disagreement with MediaPipe on hard clips.
#[derive(Debug, Clone, Default)]
struct AuxFilter {
    last_t_s: Option<f64>,
    freq_hz: f64,
    x: [OneEuroAxis; 4],
}

#[derive(Debug, Clone, Copy, Default)]
struct OneEuroAxis {
    raw: Option<f64>,
    smoothed: f64,
    deriv: Option<f64>,
}

impl AuxFilter {
    const MIN_CUTOFF_HZ: f64 = 0.01;
    const BETA: f64 = 10.0;
    const DERIV_CUTOFF_HZ: f64 = 1.0;

    fn apply(&mut self, pts: [Point; 2], t_s: f64) -> [Point; 2] {
        match self.last_t_s {
            Some(last) if t_s > last => self.freq_hz = 1.0 / (t_s - last),
            Some(_) => return pts,
            None => self.freq_hz = 30.0,
        }
        self.last_t_s = Some(t_s);
        // MediaPipe takes the object scale from the alignment rectangle of these two points
        // (side 2 x their distance), not from their bounding box.
        let scale = 2.0 * pts[0].dist(pts[1]);
        if scale < 1e-6 {
            return pts;
        }
        let values = [pts[0].x, pts[0].y, pts[1].x, pts[1].y];
        let mut out = [0.0; 4];
        let freq = self.freq_hz;
        let alpha = |cutoff: f64| 1.0 / (1.0 + freq / (2.0 * std::f64::consts::PI * cutoff));
        for (k, axis) in self.x.iter_mut().enumerate() {
            let v = values[k];
            let dv = axis.raw.map_or(0.0, |r| (v - r) / scale * freq);
            let ed = match axis.deriv {
                Some(prev) => prev + alpha(Self::DERIV_CUTOFF_HZ) * (dv - prev),
                None => dv,
            };
            axis.deriv = Some(ed);
            let a = alpha(Self::MIN_CUTOFF_HZ + Self::BETA * ed.abs());
            axis.smoothed = if axis.raw.is_some() { axis.smoothed + a * (v - axis.smoothed) } else { v };
            axis.raw = Some(v);
            out[k] = axis.smoothed;
        }
        [Point::new(out[0], out[1]), Point::new(out[2], out[3])]
    }
}

/// Median of the last few torso lengths in the crop, without allocating.
#[derive(Debug, Clone, Default)]
struct RunningMedian {
    values: [f64; 31],
    len: usize,
    next: usize,
}

impl RunningMedian {
    /// Needs this many samples before judging drift.
    const MIN_SAMPLES: usize = 10;

    fn push(&mut self, v: f64) {
        self.values[self.next] = v;
        self.next = (self.next + 1) % self.values.len();
        self.len = (self.len + 1).min(self.values.len());
    }

    fn median(&self) -> Option<f64> {
        if self.len < Self::MIN_SAMPLES {
            return None;
        }
        let mut sorted = self.values;
        let s = &mut sorted[..self.len];
        s.sort_by(f64::total_cmp);
        Some(s[self.len / 2])
    }

    fn is_drift(&self, v: f64, ratio: f64) -> bool {
        self.median().is_some_and(|m| v < ratio * m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aux_filter_holds_still_points_and_follows_fast_moves() {
        let mut f = AuxFilter::default();
        let p = |x: f64| [Point::new(x, 100.0), Point::new(x, 0.0)];
        for i in 0..30 {
            let jitter = if i % 2 == 0 { 0.5 } else { -0.5 };
            let out = f.apply(p(200.0 + jitter), i as f64 / 30.0);
            if i > 5 {
                assert!((out[0].x - 200.0).abs() < 0.5, "jitter passes through: {}", out[0].x);
            }
        }
        // A fast 100 px jump (a body length) is followed within a few frames.
        let mut last = 0.0;
        for i in 30..36 {
            last = f.apply(p(300.0), i as f64 / 30.0)[0].x;
        }
        assert!(last > 280.0, "lags behind a fast move: {last}");
    }

    #[test]
    fn running_median_flags_a_shrinking_torso() {
        let mut m = RunningMedian::default();
        for _ in 0..12 {
            m.push(60.0);
        }
        assert!(!m.is_drift(55.0, 0.75));
        assert!(m.is_drift(40.0, 0.75));
    }
}
