//! Text on the annotated video. OpenCV's anti-aliased Hershey text cost more than everything else
//! drawn on a frame put together (a fifth of the whole video pass), yet the panel shows the same
//! lines frame after frame. So each distinct line is drawn once, white on black, into a coverage
//! mask, and the mask is blended onto every frame that shows the line, in the line's colour.

use std::cell::RefCell;
use std::collections::HashMap;

use opencv::{core, imgproc, prelude::*};

use super::AnnotateError;

const FONT: i32 = imgproc::FONT_HERSHEY_SIMPLEX;
/// Distinct lines kept (a line's mask is about 20-40 kB at 720p); past this the cache starts
/// again. The rep, speed and fault lines stay for seconds; the live angles line changes in whole
/// degrees, so it is mostly drawn afresh.
const MAX_CACHED: usize = 256;

/// One line's coverage (0 = background, 255 = ink) and where it sits from the text's origin.
struct Mask {
    coverage: core::Mat,
    /// Top-left of the mask relative to the origin put_text takes (the baseline's left end).
    offset: core::Point,
}

/// Draws lines of text at one size and weight, remembering each line's mask.
pub(super) struct TextPainter {
    scale: f64,
    thickness: i32,
    masks: RefCell<HashMap<String, Mask>>,
}

impl TextPainter {
    pub fn new(scale: f64, thickness: i32) -> TextPainter {
        TextPainter { scale, thickness, masks: RefCell::new(HashMap::new()) }
    }

    /// Width and height above the baseline (px) of `text` as drawn.
    pub fn size(&self, text: &str) -> Result<core::Size, AnnotateError> {
        let mut baseline = 0;
        Ok(imgproc::get_text_size(text, FONT, self.scale, self.thickness, &mut baseline)?)
    }

    /// Draws `text` with its baseline starting at `org`, in `color` (BGR), clipped to `img`
    /// (8-bit, 3 channels).
    pub fn draw(
        &self,
        img: &mut core::Mat,
        text: &str,
        org: core::Point,
        color: core::Scalar,
    ) -> Result<(), AnnotateError> {
        let mut masks = self.masks.borrow_mut();
        if !masks.contains_key(text) {
            if masks.len() >= MAX_CACHED {
                masks.clear();
            }
            let mask = self.render(text)?;
            masks.insert(text.to_string(), mask);
        }
        let mask = &masks[text];
        blend(img, &mask.coverage, org + mask.offset, color)
    }

    fn render(&self, text: &str) -> Result<Mask, AnnotateError> {
        let mut baseline = 0;
        let size = imgproc::get_text_size(text, FONT, self.scale, self.thickness, &mut baseline)?;
        let pad = self.thickness + 2;
        let mut coverage = core::Mat::new_rows_cols_with_default(
            size.height + baseline + 2 * pad,
            size.width + 2 * pad,
            core::CV_8UC1,
            core::Scalar::all(0.0),
        )?;
        let origin = core::Point::new(pad, pad + size.height);
        imgproc::put_text(
            &mut coverage,
            text,
            origin,
            FONT,
            self.scale,
            core::Scalar::all(255.0),
            self.thickness,
            imgproc::LINE_AA,
            false,
        )?;
        Ok(Mask { coverage, offset: core::Point::new(-origin.x, -origin.y) })
    }
}

/// `img = img + (color - img) * coverage / 255` over the mask placed with its top-left at `at`.
fn blend(img: &mut core::Mat, coverage: &core::Mat, at: core::Point, color: core::Scalar) -> Result<(), AnnotateError> {
    let ink = [color[0], color[1], color[2]].map(|c| c.clamp(0.0, 255.0).round() as u32);
    let (x0, y0) = (at.x.max(0), at.y.max(0));
    let x1 = (at.x + coverage.cols()).min(img.cols());
    let y1 = (at.y + coverage.rows()).min(img.rows());
    for y in y0..y1 {
        let cov = coverage.at_row::<u8>(y - at.y)?;
        let row = img.at_row_mut::<core::Vec3b>(y)?;
        for x in x0..x1 {
            let a = cov[(x - at.x) as usize] as u32;
            if a == 0 {
                continue;
            }
            let px = &mut row[x as usize];
            for (c, &k) in ink.iter().enumerate() {
                px[c] = ((px[c] as u32 * (255 - a) + k * a + 127) / 255) as u8;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(v: f64) -> core::Mat {
        core::Mat::new_rows_cols_with_default(60, 300, core::CV_8UC3, core::Scalar::all(v)).expect("alloc")
    }

    /// Largest per-channel difference between two images.
    fn max_diff(a: &core::Mat, b: &core::Mat) -> f64 {
        let mut diff = core::Mat::default();
        core::absdiff(a, b, &mut diff).expect("absdiff");
        let mut max = 0.0;
        core::min_max_loc(&diff.reshape(1, 0).expect("reshape"), None, Some(&mut max), None, None, &core::no_array())
            .expect("minmax");
        max
    }

    #[test]
    fn looks_like_opencv_text_and_is_clipped_at_the_edges() {
        let painter = TextPainter::new(0.8, 2);
        let red = core::Scalar::new(60.0, 60.0, 235.0, 0.0);
        for org in [core::Point::new(10, 40), core::Point::new(-20, 10), core::Point::new(250, 58)] {
            let mut ours = grey(80.0);
            // Twice: the second draw comes from the cache.
            for _ in 0..2 {
                ours = grey(80.0);
                painter.draw(&mut ours, "Rep 2/3 - pull", org, red).expect("draws");
            }
            let mut theirs = grey(80.0);
            imgproc::put_text(&mut theirs, "Rep 2/3 - pull", org, FONT, 0.8, red, 2, imgproc::LINE_AA, false)
                .expect("put_text");
            // Ink where OpenCV put ink; anti-aliased edges may differ a little where strokes overlap.
            let mut ink = core::Mat::default();
            core::absdiff(&theirs, &grey(80.0), &mut ink).expect("absdiff");
            assert!(core::count_non_zero(&ink.reshape(1, 0).expect("reshape")).expect("count") > 0);
            assert!(max_diff(&ours, &theirs) <= 64.0, "at {org:?}: {}", max_diff(&ours, &theirs));
            let mut differs = core::Mat::default();
            core::absdiff(&ours, &theirs, &mut differs).expect("absdiff");
            let mut big = core::Mat::default();
            imgproc::threshold(&differs.reshape(1, 0).expect("reshape"), &mut big, 8.0, 255.0, imgproc::THRESH_BINARY)
                .expect("threshold");
            let inked = core::count_non_zero(&ink.reshape(1, 0).expect("reshape")).expect("count");
            let off = core::count_non_zero(&big).expect("count");
            assert!((off as f64) < 0.05 * inked as f64, "at {org:?}: {off} of {inked} inked values differ");
        }
    }
}
