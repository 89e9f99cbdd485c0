//! Geometry shared by the detector and the landmark model: the rotated square region of interest
//! (ROI) and the affine maps between frame pixels and model-input pixels.
//!
//! A ROI is a square of side `size_px` centred on `center`, rotated by `angle_rad`. MediaPipe's
//! convention: the angle is measured with y pointing up, so the crop appears rotated by `-angle`
//! in image terms; `angle = 90deg - atan2(-(p.y - c.y), p.x - c.x)` puts the body's hip->head axis
//! upright in the crop.

use super::Point;

/// A rotated square crop of the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    /// Centre in frame pixels.
    pub center: Point,
    /// Side length in frame pixels.
    pub size_px: f64,
    /// Rotation in radians, in (-pi, pi].
    pub angle_rad: f64,
}

/// 2x3 affine map `[a b c; d e f]`: (x, y) -> (a x + b y + c, d x + e y + f).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine(pub [f64; 6]);

impl Affine {
    pub fn apply(&self, p: Point) -> Point {
        let m = &self.0;
        Point::new(m[0] * p.x + m[1] * p.y + m[2], m[3] * p.x + m[4] * p.y + m[5])
    }

    /// Inverse of a non-degenerate map.
    pub fn inverse(&self) -> Affine {
        let [a, b, c, d, e, f] = self.0;
        let det = a * e - b * d;
        let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
        Affine([ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)])
    }
}

/// Normalises an angle to (-pi, pi].
pub fn normalize_angle(a: f64) -> f64 {
    let two_pi = 2.0 * std::f64::consts::PI;
    let mut r = (a + std::f64::consts::PI).rem_euclid(two_pi) - std::f64::consts::PI;
    if r <= -std::f64::consts::PI {
        r += two_pi;
    }
    r
}

impl Roi {
    /// MediaPipe's AlignmentPointsRects (target angle 90 deg) followed by RectTransformation
    /// (scale 1.25, square): `center` is the hip centre, `scale_point` the full-body scale point.
    pub fn from_alignment(center: Point, scale_point: Point, scale: f64) -> Roi {
        let size_px = 2.0 * center.dist(scale_point) * scale;
        let angle = std::f64::consts::FRAC_PI_2 - (-(scale_point.y - center.y)).atan2(scale_point.x - center.x);
        Roi { center, size_px, angle_rad: normalize_angle(angle) }
    }

    /// Smallest crop side worth running the model on (a person a few pixels tall is noise).
    pub const MIN_SIZE_PX: f64 = 16.0;

    /// Finite, and large enough to hold a person.
    pub fn is_usable(&self) -> bool {
        self.center.x.is_finite()
            && self.center.y.is_finite()
            && self.angle_rad.is_finite()
            && self.size_px.is_finite()
            && self.size_px >= Self::MIN_SIZE_PX
    }

    /// Map from frame pixels to pixels of a `side` x `side` crop of this ROI.
    pub fn frame_to_crop(&self, side: f64) -> Affine {
        let s = side / self.size_px;
        let (sin, cos) = self.angle_rad.sin_cos();
        let (a, b, d, e) = (cos * s, sin * s, -sin * s, cos * s);
        let half = side / 2.0;
        Affine([
            a,
            b,
            half - (a * self.center.x + b * self.center.y),
            d,
            e,
            half - (d * self.center.x + e * self.center.y),
        ])
    }
}

/// Map from frame pixels to a `side` x `side` square that holds the whole frame letterboxed
/// (centred, padded with black), as the detector expects.
pub fn letterbox(width: f64, height: f64, side: f64) -> Affine {
    let long = width.max(height);
    let s = side / long;
    let ox = (long - width) / 2.0;
    let oy = (long - height) / 2.0;
    Affine([s, 0.0, s * ox, 0.0, s, s * oy])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upright_body_gives_zero_angle() {
        // Scale point straight above the hip centre: the body is already upright.
        let roi = Roi::from_alignment(Point::new(100.0, 200.0), Point::new(100.0, 100.0), 1.25);
        assert!(roi.angle_rad.abs() < 1e-12);
        assert!((roi.size_px - 250.0).abs() < 1e-9);
        // The hip centre lands in the middle of the crop, the scale point straight above it.
        let m = roi.frame_to_crop(256.0);
        let c = m.apply(Point::new(100.0, 200.0));
        assert!((c.x - 128.0).abs() < 1e-9 && (c.y - 128.0).abs() < 1e-9);
        let p = m.apply(Point::new(100.0, 100.0));
        assert!((p.x - 128.0).abs() < 1e-9 && p.y < 128.0);
    }

    #[test]
    fn lying_body_is_rotated_upright_in_the_crop() {
        // Scale point to the right of the hip: the head end must still end up at the top of the crop.
        let c = Point::new(300.0, 300.0);
        let p = Point::new(400.0, 300.0);
        let roi = Roi::from_alignment(c, p, 1.25);
        assert!((roi.angle_rad - std::f64::consts::FRAC_PI_2).abs() < 1e-12);
        let q = roi.frame_to_crop(256.0).apply(p);
        assert!((q.x - 128.0).abs() < 1e-9, "{q:?}");
        assert!(q.y < 128.0, "{q:?}");
    }

    #[test]
    fn degenerate_rois_are_not_usable() {
        let p = Point::new(10.0, 10.0);
        assert!(!Roi::from_alignment(p, p, 1.25).is_usable(), "zero size");
        assert!(!Roi::from_alignment(p, Point::new(f64::NAN, 0.0), 1.25).is_usable());
        assert!(Roi::from_alignment(p, Point::new(10.0, 110.0), 1.25).is_usable());
    }

    #[test]
    fn inverse_round_trips() {
        let roi = Roi { center: Point::new(640.0, 360.0), size_px: 413.0, angle_rad: 0.7 };
        let m = roi.frame_to_crop(256.0);
        let p = Point::new(12.5, 700.25);
        let q = m.inverse().apply(m.apply(p));
        assert!(p.dist(q) < 1e-9);
    }

    #[test]
    fn letterbox_centres_portrait_frames() {
        let m = letterbox(720.0, 1280.0, 224.0);
        let tl = m.apply(Point::new(0.0, 0.0));
        let br = m.apply(Point::new(720.0, 1280.0));
        assert!((tl.y - 0.0).abs() < 1e-9 && (br.y - 224.0).abs() < 1e-9);
        assert!((tl.x - (224.0 - br.x)).abs() < 1e-9);
    }

    #[test]
    fn angles_normalise_into_half_open_range() {
        use std::f64::consts::PI;
        assert!((normalize_angle(3.0 * PI) - PI).abs() < 1e-12);
        assert!((normalize_angle(-PI) - PI).abs() < 1e-12);
        assert!((normalize_angle(0.5) - 0.5).abs() < 1e-12);
    }
}
