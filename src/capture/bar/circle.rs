//! One frame's circle search: colour edges in a window, gradient-direction voting for centres, a
//! radius histogram per candidate centre, a least-squares refit and a rim-support score. Pixel
//! coordinates are the frame's (x right, y down, pixel centres at integers). Buffers are kept
//! between frames; the edge window keeps a constant size while the search size does, so OpenCV
//! does not reallocate frame to frame.

use opencv::{core, imgproc, prelude::*};

use super::BarError;

mod prepared;
use prepared::WorkImage;

/// Where and what to look for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Search {
    /// Prior centre (px): the prediction or the hands.
    pub center: (f64, f64),
    /// Centres are looked for within this distance (px, per axis) of `center`.
    pub half_size_px: f64,
    pub r_min_px: f64,
    pub r_max_px: f64,
    /// Spread (px) of the closeness-to-prior weight; infinite for none.
    pub prior_sigma_px: f64,
    pub min_visible_rim: f64,
    pub min_edge_grey_per_px: f64,
    /// At a centre, the outermost ring with at least this share of the best ring's support is
    /// taken (a plate's rim over its hub and lip rings; see [`OUTER_RING_SHARE`]).
    pub outer_ring_share: f64,
}

/// A circle found, in frame pixels, with its rim support (0..1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Circle {
    pub x: f64,
    pub y: f64,
    pub r: f64,
    pub score: f64,
}

#[derive(Debug, Clone, Copy)]
struct EdgePt {
    x: f32,
    y: f32,
    /// Unit gradient direction.
    ux: f32,
    uy: f32,
}

/// An edge must point within this angle of the radial direction to count for a circle
/// (cos 30 deg): wide enough for blur and pixel quantisation, narrow enough to drop tangents.
const RADIAL_COS: f32 = 0.866;
/// Index of the channel (0..3) with the largest gradient magnitude.
fn strongest_channel(a: &core::Vec3s, b: &core::Vec3s) -> usize {
    let m = |c: usize| (a[c] as i32).pow(2) + (b[c] as i32).pow(2);
    let (m0, m1, m2) = (m(0), m(1), m(2));
    if m0 >= m1 && m0 >= m2 {
        0
    } else if m1 >= m2 {
        1
    } else {
        2
    }
}

/// Plates are searched at a scale where the smallest radius looked for is about this (px).
const WORK_R_MIN_PX: f64 = 60.0;
/// Below this reduction the full-resolution search is kept (resizing would cost more than it saves).
const MIN_SHRINK: f64 = 1.3;

/// Candidate centres examined per frame.
const MAX_CANDIDATES: usize = 8;
/// A weaker ring further out is still chosen if its support is at least this share of the best
/// ring's (prefer the plate's outer rim over its inner lip).
pub(super) const OUTER_RING_SHARE: f64 = 0.6;

#[derive(Default)]
pub(super) struct CircleFinder {
    smooth: core::Mat,
    dx3: core::Mat,
    dy3: core::Mat,
    dx: core::Mat,
    dy: core::Mat,
    edges: core::Mat,
    mags: Vec<f32>,
    pts: Vec<EdgePt>,
    /// Edge pixels near one candidate's rim, for its refit.
    near: Vec<EdgePt>,
    acc: Vec<f32>,
    acc_smooth: Vec<f32>,
    peaks: Vec<(f32, usize)>,
    hist: Vec<f32>,
    /// Support of each ring of the histogram, for one candidate.
    ring_support: Vec<f64>,
    /// The search region resized to the work scale (and stretched horizontally by
    /// `find_with_aspect`, for plates seen as upright ellipses).
    work_image: core::Mat,
    /// The edge window in frame pixels.
    rect: core::Rect,
    /// The prepared work image ([`CircleFinder::prepare`]): its edge points, and where it lies
    /// in the frame.
    prepared_pts: Vec<EdgePt>,
    prepared: Option<WorkImage>,
    /// How `pts` relate to the edge map: `Some(a)` when they are its points stretched
    /// horizontally by 1 / a (`search_prepared`), so the rim is looked up at x * a; `None` when
    /// they are its own (`edges_in_window`). Set by whichever filled `pts` last.
    squeeze: Option<f64>,
}

impl CircleFinder {
    /// The best plate seen as an upright ellipse `aspect` (width / height, 0 < aspect <= 1) as
    /// wide as it is tall: the camera turned about the vertical axis, off the bar's line, shows
    /// the plate narrower than tall. The region is stretched horizontally by 1 / aspect and
    /// searched for a circle; the result is in frame pixels, with the *height* as its diameter.
    ///
    /// Large plates are searched at a reduced scale, so that the smallest radius looked for is
    /// about [`WORK_R_MIN_PX`]: a 1080p plate is 300-400 px across, and its rim is found as well
    /// from a third of the pixels (the refit averages hundreds of rim points either way), at a
    /// tenth of the cost.
    pub fn find_with_aspect(&mut self, frame: &core::Mat, s: &Search, aspect: f64) -> Result<Option<Circle>, BarError> {
        let shrink = (s.r_min_px / WORK_R_MIN_PX).max(1.0);
        if (aspect - 1.0).abs() < 1e-6 && shrink < MIN_SHRINK {
            return self.find(frame, s);
        }
        // (`find` checks the frame type; resizing keeps it.)
        let (crop, size, fx, fy) = work_region(frame, s, aspect, shrink);
        let (x0, y0) = (crop.x, crop.y);
        let interpolation = if fy < 1.0 { imgproc::INTER_AREA } else { imgproc::INTER_LINEAR };
        imgproc::resize(&core::Mat::roi(frame, crop)?, &mut self.work_image, size, 0.0, 0.0, interpolation)?;
        // Pixel centres: frame x maps to (x - x0 + 0.5) * fx - 0.5 in the resized region.
        let to_x = |x: f64| (x - x0 as f64 + 0.5) * fx - 0.5;
        let to_y = |y: f64| (y - y0 as f64 + 0.5) * fy - 0.5;
        let inner = Search {
            center: (to_x(s.center.0), to_y(s.center.1)),
            half_size_px: s.half_size_px * fy,
            r_min_px: s.r_min_px * fy,
            r_max_px: s.r_max_px * fy,
            prior_sigma_px: s.prior_sigma_px * fy,
            ..*s
        };
        let stretched = std::mem::take(&mut self.work_image);
        let found = self.find(&stretched, &inner);
        self.work_image = stretched;
        Ok(found?.map(|c| Circle {
            x: (c.x + 0.5) / fx - 0.5 + x0 as f64,
            y: (c.y + 0.5) / fy - 0.5 + y0 as f64,
            r: c.r / fy,
            ..c
        }))
    }

    /// The best circle, or `None` when nothing circular enough is in the window.
    pub fn find(&mut self, frame: &core::Mat, s: &Search) -> Result<Option<Circle>, BarError> {
        if frame.typ() != core::CV_8UC3 {
            return Err(BarError::BadFrame { cv_type: frame.typ() });
        }
        if !self.edges_in_window(frame, s)? {
            return Ok(None);
        }
        Ok(self.best_circle(s))
    }

    /// The best-ranked circle of the current edge points for `s` (in their coordinates).
    fn best_circle(&mut self, s: &Search) -> Option<Circle> {
        let grid = self.vote(s);
        self.find_peaks(&grid, s);
        let mut best: Option<(f64, Circle)> = None;
        for k in 0..self.peaks.len() {
            let (_, idx) = self.peaks[k];
            let (cx, cy) = grid.centroid(&self.acc_smooth, idx);
            let Some(r) = self.radius_from_histogram(cx, cy, s) else { continue };
            let Some(c) = self.refine(cx, cy, r, s) else { continue };
            let (support, visible) = self.rim_support(c.0, c.1, c.2);
            if visible < s.min_visible_rim {
                continue;
            }
            let d2 = (c.0 - s.center.0).powi(2) + (c.1 - s.center.1).powi(2);
            let prior = if s.prior_sigma_px.is_finite() { (-0.5 * d2 / s.prior_sigma_px.powi(2)).exp() } else { 1.0 };
            let rank = support * prior;
            if best.map_or(true, |(b, _)| rank > b) {
                best = Some((rank, Circle { x: c.0, y: c.1, r: c.2, score: support }));
            }
        }
        best.map(|(_, c)| c)
    }

    /// Blur, colour Sobel and Canny over the window that can hold the rim of any centre searched.
    /// Returns `false` when the window misses the image.
    fn edges_in_window(&mut self, frame: &core::Mat, s: &Search) -> Result<bool, BarError> {
        let (w, h) = (frame.cols(), frame.rows());
        // Quantised so that the window's size, and so the buffers, stay the same frame to frame.
        let side = (((2.0 * (s.half_size_px + s.r_max_px) + 8.0) / 32.0).ceil() as i32 * 32).max(32);
        let (sw, sh) = (side.min(w), side.min(h));
        let x0 = ((s.center.0 - side as f64 / 2.0).round() as i32).clamp(0, w - sw);
        let y0 = ((s.center.1 - side as f64 / 2.0).round() as i32).clamp(0, h - sh);
        // The window is shifted into the image; it must still cover the search's rims.
        let reach = s.half_size_px + s.r_max_px;
        if s.center.0 + reach < 0.0
            || s.center.0 - reach > w as f64
            || s.center.1 + reach < 0.0
            || s.center.1 - reach > h as f64
        {
            return Ok(false);
        }
        self.rect = core::Rect::new(x0, y0, sw, sh);
        let roi = core::Mat::roi(frame, self.rect)?;
        // Colour edges: a red plate on a dark wall can be nearly invisible in grey. Each pixel
        // takes the gradient of the channel where it is strongest (as colour Canny does).
        imgproc::gaussian_blur(&roi, &mut self.smooth, core::Size::new(5, 5), 1.2, 1.2, core::BORDER_REFLECT_101)?;
        imgproc::sobel(&self.smooth, &mut self.dx3, core::CV_16S, 1, 0, 3, 1.0, 0.0, core::BORDER_REFLECT_101)?;
        imgproc::sobel(&self.smooth, &mut self.dy3, core::CV_16S, 0, 1, 3, 1.0, 0.0, core::BORDER_REFLECT_101)?;
        for m in [&mut self.dx, &mut self.dy] {
            if m.rows() != sh || m.cols() != sw || m.typ() != core::CV_16S {
                *m = core::Mat::new_rows_cols_with_default(sh, sw, core::CV_16S, core::Scalar::all(0.0))?;
            }
        }
        {
            let (gx3, gy3) = (self.dx3.data_typed::<core::Vec3s>()?, self.dy3.data_typed::<core::Vec3s>()?);
            let (gx, gy) = (self.dx.data_typed_mut::<i16>()?, self.dy.data_typed_mut::<i16>()?);
            for (i, (a, b)) in gx3.iter().zip(gy3).enumerate() {
                let c = strongest_channel(a, b);
                gx[i] = a[c];
                gy[i] = b[c];
            }
        }

        // Thresholds from this window: above the noise floor (a multiple of the median gradient)
        // and above the configured weakest edge. A 3x3 Sobel reads 8x the slope in grey/px.
        let (gx, gy) = (self.dx.data_typed::<i16>()?, self.dy.data_typed::<i16>()?);
        self.mags.clear();
        self.mags.extend(gx.iter().zip(gy).step_by(3).map(|(&a, &b)| ((a as f32).powi(2) + (b as f32).powi(2)).sqrt()));
        let median = if self.mags.is_empty() {
            0.0
        } else {
            let mid = self.mags.len() / 2;
            *self.mags.select_nth_unstable_by(mid, f32::total_cmp).1 as f64
        };
        let high = (8.0 * s.min_edge_grey_per_px).max(3.0 * median);
        imgproc::canny_derivative(&self.dx, &self.dy, &mut self.edges, 0.4 * high, high, true)?;

        let (gx, gy) = (self.dx.data_typed::<i16>()?, self.dy.data_typed::<i16>()?);
        let edges = self.edges.data_bytes()?;
        self.pts.clear();
        self.squeeze = None;
        for (i, &e) in edges.iter().enumerate() {
            if e == 0 {
                continue;
            }
            let (a, b) = (gx[i] as f32, gy[i] as f32);
            let m = (a * a + b * b).sqrt();
            if m <= 0.0 {
                continue;
            }
            let (col, row) = ((i as i32 % sw), (i as i32 / sw));
            self.pts.push(EdgePt { x: (x0 + col) as f32, y: (y0 + row) as f32, ux: a / m, uy: b / m });
        }
        Ok(true)
    }

    /// Every edge pixel votes along its gradient, both ways (a plate may be darker or lighter
    /// than what is behind it), for centres at every radius of the range.
    fn vote(&mut self, s: &Search) -> Grid {
        let cell = (s.r_min_px / 30.0).max(1.0);
        let n = ((2.0 * s.half_size_px / cell).ceil() as usize).max(3);
        let grid = Grid { x0: s.center.0 - s.half_size_px, y0: s.center.1 - s.half_size_px, cell, n };
        self.acc.clear();
        self.acc.resize(n * n, 0.0);
        let steps = ((s.r_max_px - s.r_min_px) / cell).ceil().max(0.0) as usize + 1;
        let nf = n as f64;
        for p in &self.pts {
            for sign in [-1.0f64, 1.0] {
                // The radii step by one cell, so in cell units a vote moves by the unit gradient
                // per step: walk the line instead of placing each vote afresh, and only over
                // the steps whose votes can land in the grid. The last radius is clamped to
                // the range's end, so it is placed on its own.
                let (dx, dy) = (sign * p.ux as f64, sign * p.uy as f64);
                let gx0 = (p.x as f64 + sign * s.r_min_px * p.ux as f64 - grid.x0) / cell;
                let gy0 = (p.y as f64 + sign * s.r_min_px * p.uy as f64 - grid.y0) / cell;
                let (lo_x, hi_x) = steps_inside(gx0, dx, nf);
                let (lo_y, hi_y) = steps_inside(gy0, dy, nf);
                let lo = lo_x.max(lo_y).max(0.0) as usize;
                let hi = (hi_x.min(hi_y).min((steps - 1) as f64)).max(-1.0);
                if hi >= 0.0 {
                    for k in lo..(hi as usize + 1).min(steps - 1) {
                        let (gx, gy) = (gx0 + k as f64 * dx, gy0 + k as f64 * dy);
                        if gx >= 0.0 && gy >= 0.0 && gx < nf && gy < nf {
                            self.acc[gy as usize * n + gx as usize] += 1.0;
                        }
                    }
                }
                let r = (s.r_min_px + (steps - 1) as f64 * cell).min(s.r_max_px);
                if let Some(i) = grid.index(p.x as f64 + sign * r * p.ux as f64, p.y as f64 + sign * r * p.uy as f64) {
                    self.acc[i] += 1.0;
                }
            }
        }
        // 3x3 box smoothing: votes from a rim scatter over neighbouring cells.
        self.acc_smooth.clear();
        self.acc_smooth.resize(n * n, 0.0);
        for y in 1..n - 1 {
            for x in 1..n - 1 {
                let mut sum = 0.0;
                for yy in y - 1..=y + 1 {
                    for xx in x - 1..=x + 1 {
                        sum += self.acc[yy * n + xx];
                    }
                }
                self.acc_smooth[y * n + x] = sum;
            }
        }
        grid
    }

    /// Local maxima of the smoothed accumulator, strongest first, at most [`MAX_CANDIDATES`],
    /// none within a quarter of the smallest radius of a stronger one.
    fn find_peaks(&mut self, g: &Grid, s: &Search) {
        self.peaks.clear();
        let n = g.n;
        let acc = &self.acc_smooth;
        let top = acc.iter().copied().fold(0.0f32, f32::max);
        if top <= 0.0 {
            return;
        }
        for y in 1..n - 1 {
            for x in 1..n - 1 {
                let v = acc[y * n + x];
                if v < 0.2 * top {
                    continue;
                }
                let mut is_max = true;
                'nb: for yy in y - 1..=y + 1 {
                    for xx in x - 1..=x + 1 {
                        let u = acc[yy * n + xx];
                        // Ties are broken by position so a plateau gives one peak.
                        if u > v || (u == v && yy * n + xx < y * n + x) {
                            is_max = false;
                            break 'nb;
                        }
                    }
                }
                if is_max {
                    self.peaks.push((v, y * n + x));
                }
            }
        }
        self.peaks.sort_by(|a, b| b.0.total_cmp(&a.0));
        let min_sep = (0.25 * s.r_min_px / g.cell).max(1.0);
        let mut kept = 0;
        for i in 0..self.peaks.len() {
            let (xi, yi) = ((self.peaks[i].1 % n) as f64, (self.peaks[i].1 / n) as f64);
            let far = self.peaks[..kept].iter().all(|&(_, j)| {
                let (xj, yj) = ((j % n) as f64, (j / n) as f64);
                (xi - xj).hypot(yi - yj) >= min_sep
            });
            if far {
                self.peaks[kept] = self.peaks[i];
                kept += 1;
                if kept == MAX_CANDIDATES {
                    break;
                }
            }
        }
        self.peaks.truncate(kept);
    }

    /// The radius for a candidate centre: a 1 px histogram of the distances of radially-oriented
    /// edge pixels, each bin divided by the in-image length of its circle; the outermost ring
    /// with at least [`OUTER_RING_SHARE`] of the best ring's support.
    fn radius_from_histogram(&mut self, cx: f64, cy: f64, s: &Search) -> Option<f64> {
        let r0 = (s.r_min_px - 2.0).max(1.0).floor();
        let bins = (s.r_max_px + 2.0 - r0).ceil() as usize + 1;
        self.hist.clear();
        self.hist.resize(bins, 0.0);
        for p in &self.pts {
            let (ex, ey) = (p.x as f64 - cx, p.y as f64 - cy);
            // sqrt, not hypot: this runs for every edge pixel of every candidate, and hypot's
            // overflow care costs several times more.
            let d = (ex * ex + ey * ey).sqrt();
            let b = (d - r0).round();
            if b < 0.0 || b >= bins as f64 || d <= 0.0 {
                continue;
            }
            let cos = ((ex * p.ux as f64 + ey * p.uy as f64) / d).abs() as f32;
            if cos >= RADIAL_COS {
                self.hist[b as usize] += 1.0;
            }
        }
        let support = |i: usize, hist: &[f32], me: &CircleFinder| -> f64 {
            let lo = i.saturating_sub(1);
            let hi = (i + 1).min(bins - 1);
            let sum: f32 = hist[lo..=hi].iter().sum();
            let r = r0 + i as f64;
            let visible = me.visible_fraction(cx, cy, r);
            if visible < s.min_visible_rim {
                0.0
            } else {
                sum as f64 / (std::f64::consts::TAU * r * visible)
            }
        };
        let first = ((s.r_min_px - r0).round() as usize).min(bins - 1);
        let last = ((s.r_max_px - r0).round() as usize).min(bins - 1);
        // Each ring's support once (the search below compares every ring with its neighbours).
        let mut rings = std::mem::take(&mut self.ring_support);
        rings.clear();
        rings.extend((first..=last).map(|i| support(i, &self.hist, self)));
        let best = rings.iter().copied().fold(0.0f64, f64::max);
        // Outermost ring that is a local maximum of support and strong enough.
        let strong_local_max = |j: usize| {
            let left = if j > 0 { rings[j - 1] } else { 0.0 };
            let right = rings.get(j + 1).copied().unwrap_or(0.0);
            rings[j] >= s.outer_ring_share * best && rings[j] >= left && rings[j] >= right
        };
        let found = if best > 0.0 { (0..rings.len()).rev().find(|&j| strong_local_max(j)) } else { None };
        let found = found.map(|j| r0 + (first + j) as f64);
        self.ring_support = rings;
        found
    }

    /// Geometric least-squares circle fit to the radially-oriented edge pixels within a band of
    /// the candidate, twice with a narrowing band (a trimmed fit: clutter crossing the rim drops
    /// out as the circle settles).
    fn refine(&mut self, cx: f64, cy: f64, mut r: f64, s: &Search) -> Option<(f64, f64, f64)> {
        // The fit moves the circle by a few pixels at most, so the edge pixels that can fall in
        // its bands are gathered once, relative to the starting centre, with a wide margin.
        let gate = (0.12 * r).max(8.0);
        self.near.clear();
        for p in &self.pts {
            let (ex, ey) = (p.x as f64 - cx, p.y as f64 - cy);
            if ((ex * ex + ey * ey).sqrt() - r).abs() <= gate {
                self.near.push(*p);
            }
        }
        let (x0, y0) = (cx, cy);
        let (mut cx, mut cy) = (0.0, 0.0);
        for band in [(0.05 * r).max(3.0), (0.025 * r).max(2.0)] {
            for _ in 0..4 {
                // Normal equations of the Gauss-Newton step for (cx, cy, r), in coordinates
                // relative to the starting centre.
                let mut a = [[0.0f64; 3]; 3];
                let mut g = [0.0f64; 3];
                let mut count = 0usize;
                for p in &self.near {
                    let (ex, ey) = (p.x as f64 - x0 - cx, p.y as f64 - y0 - cy);
                    let d = (ex * ex + ey * ey).sqrt();
                    if d <= 0.0 || (d - r).abs() > band {
                        continue;
                    }
                    if (((ex * p.ux as f64 + ey * p.uy as f64) / d).abs() as f32) < RADIAL_COS {
                        continue;
                    }
                    let j = [-ex / d, -ey / d, -1.0];
                    let res = d - r;
                    for (u, ju) in j.iter().enumerate() {
                        g[u] += ju * res;
                        for (v, jv) in j.iter().enumerate() {
                            a[u][v] += ju * jv;
                        }
                    }
                    count += 1;
                }
                // Fewer than ~1/8 of a small rim's pixels: not a circle worth fitting.
                if (count as f64) < 0.25 * s.r_min_px {
                    return None;
                }
                let step = solve3(a, [-g[0], -g[1], -g[2]])?;
                cx += step[0];
                cy += step[1];
                r += step[2];
                if step.iter().map(|v| v.abs()).sum::<f64>() < 0.01 {
                    break;
                }
            }
        }
        let (cx, cy) = (x0 + cx, y0 + cy);
        (r >= 0.9 * s.r_min_px && r <= 1.1 * s.r_max_px).then_some((cx, cy, r))
    }

    /// Rim support of a circle: the share of its in-window samples (one per ~2 px of rim) with a
    /// radially-oriented edge within a small radial distance; and the share of samples in the
    /// window. The window covers all of the image the rim could be in, so "in the window" is
    /// "in the image".
    fn rim_support(&self, cx: f64, cy: f64, r: f64) -> (f64, f64) {
        let Ok(edges) = self.edges.data_bytes() else { return (0.0, 0.0) };
        let (Ok(gx), Ok(gy)) = (self.dx.data_typed::<i16>(), self.dy.data_typed::<i16>()) else { return (0.0, 0.0) };
        let (w, h) = (self.rect.width, self.rect.height);
        // Stretched points (see `search_prepared`) map back to the edge map by x * squeeze.
        let q = self.squeeze.unwrap_or(1.0);
        let n = ((std::f64::consts::TAU * r / 2.0).round() as usize).clamp(32, 720);
        let tol = (0.02 * r).max(2.0).round() as i32;
        let (mut inside, mut hits) = (0usize, 0usize);
        for k in 0..n {
            let a = std::f64::consts::TAU * k as f64 / n as f64;
            let (c, sn) = (a.cos(), a.sin());
            let (px, py) = ((cx + r * c) * q - self.rect.x as f64, cy + r * sn - self.rect.y as f64);
            // Sobel and Canny are unreliable in the outermost 2 px of the window.
            if px < 2.0 || py < 2.0 || px > (w - 3) as f64 || py > (h - 3) as f64 {
                continue;
            }
            inside += 1;
            for o in -tol..=tol {
                let (x, y) = ((px + o as f64 * c * q).round() as i32, (py + o as f64 * sn).round() as i32);
                if x < 0 || y < 0 || x >= w || y >= h {
                    continue;
                }
                let i = (y * w + x) as usize;
                if edges[i] == 0 {
                    continue;
                }
                let (a, b) = (gx[i] as f64 * q, gy[i] as f64);
                let m = a.hypot(b);
                if m > 0.0 && ((a * c + b * sn) / m).abs() >= RADIAL_COS as f64 {
                    hits += 1;
                    break;
                }
            }
        }
        if inside == 0 {
            (0.0, 0.0)
        } else {
            (hits as f64 / inside as f64, inside as f64 / n as f64)
        }
    }

    /// Share of a circle's length inside the edge window (64 samples).
    fn visible_fraction(&self, cx: f64, cy: f64, r: f64) -> f64 {
        let rc = &self.rect;
        let q = self.squeeze.unwrap_or(1.0);
        let (x0, y0) = ((rc.x as f64 + 2.0) / q, rc.y as f64 + 2.0);
        let (x1, y1) = ((rc.x + rc.width - 3) as f64 / q, (rc.y + rc.height - 3) as f64);
        let inside = unit_circle_64()
            .iter()
            .filter(|&&(c, sn)| {
                let (x, y) = (cx + r * c, cy + r * sn);
                x >= x0 && x <= x1 && y >= y0 && y <= y1
            })
            .count();
        inside as f64 / 64.0
    }
}

/// The part of `frame` the rims of search `s` can reach (narrowed horizontally by `aspect`), the
/// size it is resized to (`1 / shrink`, stretched horizontally by `1 / aspect`), and the exact
/// x and y factors after rounding that size, so coordinates map back without a drift.
fn work_region(frame: &core::Mat, s: &Search, aspect: f64, shrink: f64) -> (core::Rect, core::Size, f64, f64) {
    let (w, h) = (frame.cols(), frame.rows());
    let reach = s.half_size_px + s.r_max_px + 8.0;
    let x0 = ((s.center.0 - reach * aspect).floor() as i32).clamp(0, w - 1);
    let x1 = ((s.center.0 + reach * aspect).ceil() as i32).clamp(x0 + 1, w);
    let y0 = ((s.center.1 - reach).floor() as i32).clamp(0, h - 1);
    let y1 = ((s.center.1 + reach).ceil() as i32).clamp(y0 + 1, h);
    let crop = core::Rect::new(x0, y0, x1 - x0, y1 - y0);
    let fy = 1.0 / shrink;
    let fx = fy / aspect;
    let size = core::Size::new(
        ((crop.width as f64 * fx).round() as i32).max(1),
        ((crop.height as f64 * fy).round() as i32).max(1),
    );
    (crop, size, size.width as f64 / crop.width as f64, size.height as f64 / crop.height as f64)
}

/// Cosine and sine of 64 equally spaced angles, computed once.
fn unit_circle_64() -> &'static [(f64, f64); 64] {
    static TABLE: std::sync::OnceLock<[(f64, f64); 64]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|k| {
            let a = std::f64::consts::TAU * k as f64 / 64.0;
            (a.cos(), a.sin())
        })
    })
}

/// The steps `k` (as a closed range, one step of margin either side for rounding) at which
/// `g0 + k * d` lies in `[0, n)`; an empty range has its low end above its high end.
fn steps_inside(g0: f64, d: f64, n: f64) -> (f64, f64) {
    if d.abs() < 1e-12 {
        return if g0 >= 0.0 && g0 < n { (f64::NEG_INFINITY, f64::INFINITY) } else { (1.0, 0.0) };
    }
    let (a, b) = ((0.0 - g0) / d, (n - g0) / d);
    (a.min(b).floor() - 1.0, a.max(b).ceil() + 1.0)
}

/// The accumulator's square grid of candidate centres, in frame pixels.
#[derive(Debug, Clone, Copy)]
struct Grid {
    x0: f64,
    y0: f64,
    cell: f64,
    n: usize,
}

impl Grid {
    fn index(&self, x: f64, y: f64) -> Option<usize> {
        let (gx, gy) = ((x - self.x0) / self.cell, (y - self.y0) / self.cell);
        if gx < 0.0 || gy < 0.0 || gx >= self.n as f64 || gy >= self.n as f64 {
            return None;
        }
        Some(gy as usize * self.n + gx as usize)
    }

    /// Vote-weighted centre of the 3x3 cells around `idx`, in frame pixels.
    fn centroid(&self, acc: &[f32], idx: usize) -> (f64, f64) {
        let (x, y) = (idx % self.n, idx / self.n);
        let (mut sw, mut sx, mut sy) = (0.0f64, 0.0f64, 0.0f64);
        for yy in y.saturating_sub(1)..=(y + 1).min(self.n - 1) {
            for xx in x.saturating_sub(1)..=(x + 1).min(self.n - 1) {
                let v = acc[yy * self.n + xx] as f64;
                sw += v;
                sx += v * xx as f64;
                sy += v * yy as f64;
            }
        }
        let (fx, fy) = if sw > 0.0 { (sx / sw, sy / sw) } else { (x as f64, y as f64) };
        (self.x0 + (fx + 0.5) * self.cell, self.y0 + (fy + 0.5) * self.cell)
    }
}

/// Solves a 3x3 linear system by Gaussian elimination with partial pivoting; `None` if singular.
pub(super) fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let piv = (col..3).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col];
        for row in col + 1..3 {
            let f = a[row][col] / pivot_row[col];
            for (v, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *v -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let s: f64 = (row + 1..3).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests;
