//! Acquisition's shared edges: one work image and its edge points serve every aspect (and the
//! bands that share its scale) of one acquisition, instead of a resized, stretched image and its
//! edges per aspect. An upright ellipse of aspect a is searched as a circle among the edge points
//! stretched horizontally by 1 / a, with their gradients transformed to match, and its rim is
//! checked on the unstretched edge map.

use opencv::{core, imgproc, prelude::*};

use super::{work_region, BarError, Circle, CircleFinder, EdgePt, Search, MIN_SHRINK, WORK_R_MIN_PX};

/// A work image: frame pixels `x0 + (x + 0.5) / sx - 0.5`, `y0 + (y + 0.5) / sy - 0.5`.
#[derive(Debug, Clone, Copy)]
pub(super) struct WorkImage {
    x0: f64,
    y0: f64,
    sx: f64,
    sy: f64,
}

impl CircleFinder {
    /// Edges for several searches at once, for [`CircleFinder::search_prepared`]: `s` at a scale
    /// where its smallest radius is about [`WORK_R_MIN_PX`] (the frame itself when that would
    /// shrink it by less than [`MIN_SHRINK`]), over the window its rims can reach. Returns
    /// `false` when that window misses the frame.
    pub fn prepare(&mut self, frame: &core::Mat, s: &Search) -> Result<bool, BarError> {
        if frame.typ() != core::CV_8UC3 {
            return Err(BarError::BadFrame { cv_type: frame.typ() });
        }
        self.prepared = None;
        let shrink = (s.r_min_px / WORK_R_MIN_PX).max(1.0);
        let resized = shrink >= MIN_SHRINK;
        let work = if !resized {
            WorkImage { x0: 0.0, y0: 0.0, sx: 1.0, sy: 1.0 }
        } else {
            let (crop, size, sx, sy) = work_region(frame, s, 1.0, shrink);
            imgproc::resize(&core::Mat::roi(frame, crop)?, &mut self.work_image, size, 0.0, 0.0, imgproc::INTER_AREA)?;
            WorkImage { x0: crop.x as f64, y0: crop.y as f64, sx, sy }
        };
        let inner = work.search(s, 1.0);
        let found = if !resized {
            self.edges_in_window(frame, &inner)?
        } else {
            let image = std::mem::take(&mut self.work_image);
            let found = self.edges_in_window(&image, &inner);
            self.work_image = image;
            found?
        };
        if found {
            self.prepared_pts.clone_from(&self.pts);
            self.prepared = Some(work);
        }
        Ok(found)
    }

    /// The best plate of search `s` (frame pixels, within the prepared one's window and at its
    /// smallest radius) seen as an upright ellipse `aspect` (width / height) on the prepared
    /// edges, or `None` (also when nothing was prepared). As [`CircleFinder::find_with_aspect`]
    /// but without stretching the image: the edge points are stretched instead, with their
    /// gradients (a horizontal stretch by 1 / aspect scales the x-gradient by aspect), and the
    /// rim is checked on the unstretched edge map.
    pub fn search_prepared(&mut self, s: &Search, aspect: f64) -> Option<Circle> {
        let work = self.prepared?;
        self.pts.clear();
        self.pts.extend(self.prepared_pts.iter().map(|p| {
            let (ux, uy) = (p.ux * aspect as f32, p.uy);
            let m = (ux * ux + uy * uy).sqrt();
            EdgePt { x: p.x / aspect as f32, y: p.y, ux: ux / m, uy: uy / m }
        }));
        self.squeeze = Some(aspect);
        self.best_circle(&work.search(s, aspect)).map(|c| Circle {
            x: work.x0 + (c.x * aspect + 0.5) / work.sx - 0.5,
            y: work.y0 + (c.y + 0.5) / work.sy - 0.5,
            r: c.r / work.sy,
            ..c
        })
    }
}

impl WorkImage {
    /// Search `s` (frame pixels) in this work image's pixels, stretched horizontally by 1 / `aspect`
    /// (lengths are heights: the x factor differs from the y one by the rounding of the size).
    fn search(&self, s: &Search, aspect: f64) -> Search {
        Search {
            center: (
                ((s.center.0 - self.x0 + 0.5) * self.sx - 0.5) / aspect,
                (s.center.1 - self.y0 + 0.5) * self.sy - 0.5,
            ),
            half_size_px: s.half_size_px * self.sy,
            r_min_px: s.r_min_px * self.sy,
            r_max_px: s.r_max_px * self.sy,
            prior_sigma_px: s.prior_sigma_px * self.sy,
            ..*s
        }
    }
}
