//! The report page's plots: hand-written inline SVG. User units, y down; data y up. Series gaps
//! (`null`) break the line; series are thinned to about [`MAX_POINTS`] points so the page stays
//! small.

use std::fmt::Write as _;

use super::{esc, metric_unit, rep_speed, MAX_POINTS, PALETTE};
use crate::analysis::report::Report;

/// A plot's frame: viewBox size, margins, data ranges `(low, high, tick step)`.
struct Axes {
    w: f64,
    h: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x: (f64, f64, f64),
    y: (f64, f64, f64),
}

impl Axes {
    /// Margins for tick labels (left, bottom) and the legend (top).
    fn new(w: f64, h: f64, x: (f64, f64, f64), y: (f64, f64, f64)) -> Axes {
        Axes { w, h, left: 56.0, right: 12.0, top: 26.0, bottom: 44.0, x, y }
    }
    fn px(&self, v: f64) -> f64 {
        self.left + (v - self.x.0) / (self.x.1 - self.x.0) * (self.w - self.left - self.right)
    }
    fn py(&self, v: f64) -> f64 {
        self.h - self.bottom - (v - self.y.0) / (self.y.1 - self.y.0) * (self.h - self.top - self.bottom)
    }

    /// Opens the `<svg>` and draws grid, ticks and axis titles.
    fn open(&self, h: &mut String, label: &str, x_title: &str, y_title: &str) {
        let _ = write!(
            h,
            "<svg class=\"plot\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{label}\" xmlns=\"http://www.w3.org/2000/svg\">",
            self.w, self.h
        );
        let (x_lo, y_lo, x_hi, y_hi) = (self.left, self.h - self.bottom, self.w - self.right, self.top);
        for t in ticks(self.y) {
            let y = self.py(t);
            let _ = write!(h, "<line class=\"gr\" x1=\"{x_lo:.1}\" x2=\"{x_hi:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>");
            text(h, x_lo - 5.0, y + 4.0, "end", &tick_label(t, self.y.2));
        }
        for t in ticks(self.x) {
            let x = self.px(t);
            let _ =
                write!(h, "<line class=\"ax\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y_lo:.1}\" y2=\"{:.1}\"/>", y_lo + 4.0);
            text(h, x, y_lo + 18.0, "middle", &tick_label(t, self.x.2));
        }
        let _ = write!(
            h,
            "<path class=\"ax\" fill=\"none\" d=\"M{x_lo:.1} {y_hi:.1}V{y_lo:.1}H{x_hi:.1}\"/><g class=\"ttl\">\
             <text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{y_title}</text>",
            0.5 * (y_lo + y_hi)
        );
        text(h, 0.5 * (x_lo + x_hi), self.h - 6.0, "middle", x_title);
        h.push_str("</g>");
    }

    /// A line through the points; `None` breaks it.
    fn line(&self, h: &mut String, points: impl Iterator<Item = Option<(f64, f64)>>, colour: &str) {
        let mut d = String::new();
        let mut pen_down = false;
        for p in points {
            match p.filter(|(x, y)| x.is_finite() && y.is_finite()) {
                Some((x, y)) => {
                    let _ = write!(d, "{}{:.1} {:.1}", if pen_down { 'L' } else { 'M' }, self.px(x), self.py(y));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !d.is_empty() {
            let _ = write!(h, "<path class=\"ln\" stroke=\"{colour}\" d=\"{d}\"/>");
        }
    }

    /// Legend entries in a row above the plot area.
    fn legend(&self, h: &mut String, entries: &[(String, &str)]) {
        let mut x = self.left;
        for (name, colour) in entries {
            let _ = write!(
                h,
                "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"12\" y2=\"12\" stroke=\"{colour}\" stroke-width=\"3\"/>",
                x + 18.0
            );
            text(h, x + 22.0, 16.0, "start", name);
            x += 34.0 + 8.0 * name.chars().count() as f64;
        }
    }
}

/// An SVG `<text>` (`content` already escaped); `anchor`: start, middle or end.
fn text(h: &mut String, x: f64, y: f64, anchor: &str, content: &str) {
    let _ = write!(h, "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\">{content}</text>");
}

/// An SVG `<rect>` between two corners (any order), with `attrs` (class or fill).
fn rect(h: &mut String, attrs: &str, (x1, y1): (f64, f64), (x2, y2): (f64, f64)) {
    let (x, y, w, ht) = (x1.min(x2), y1.min(y2), (x2 - x1).abs(), (y2 - y1).abs());
    let _ = write!(h, "<rect {attrs} x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{ht:.1}\"/>");
}

/// A tick step of 1, 2, 2.5 or 5 times a power of ten giving about `target` ticks.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = (span / target).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    let r = raw / mag;
    mag * [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().find(|m| r <= *m + 1e-9).unwrap_or(10.0)
}

/// (low, high, step) covering `lo..hi`, the ends on ticks.
fn nice_range(lo: f64, hi: f64, target: f64) -> (f64, f64, f64) {
    let (lo, hi) = if hi - lo > 1e-9 { (lo, hi) } else { (lo - 0.5, hi + 0.5) };
    let step = nice_step(hi - lo, target);
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

fn ticks((lo, hi, step): (f64, f64, f64)) -> impl Iterator<Item = f64> {
    let first = (lo / step - 1e-6).ceil() as i64;
    let last = (hi / step + 1e-6).floor() as i64;
    (first..=last).map(move |k| k as f64 * step)
}

fn tick_label(v: f64, step: f64) -> String {
    let mut d = (-step.log10()).ceil().max(0.0) as usize;
    if (step * 10f64.powi(d as i32)).fract().abs() > 1e-6 {
        d += 1;
    }
    let v = if v.abs() < step * 1e-6 { 0.0 } else { v };
    format!("{v:.d$}")
}

/// Indices thinned to at most about [`MAX_POINTS`], the last one kept.
fn thin(range: std::ops::Range<usize>) -> impl Iterator<Item = usize> {
    let stride = range.len().div_ceil(MAX_POINTS).max(1);
    let last = range.end.saturating_sub(1);
    let start = range.start;
    range.step_by(stride).chain((last >= start && (last - start) % stride != 0).then_some(last))
}

/// Range of the finite values, if any.
fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |a, v| Some(a.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v)))))
}

/// A series (or several) against time, with each rep's phases shaded.
pub(super) fn time_plot(
    h: &mut String,
    report: &Report,
    title: &str,
    y_title: &str,
    lines: &[(&str, &[Option<f64>], &str)],
) {
    let t = &report.series.t_s;
    let _ = write!(h, "<figure class=\"card\"><figcaption>{title}</figcaption>");
    let ys = extent(lines.iter().flat_map(|(_, s, _)| s.iter().flatten().copied()));
    let (Some((t0, t1)), Some((y0, y1))) = (extent(t.iter().copied()), ys) else {
        h.push_str("<p class=\"na\">Not seen in this clip.</p></figure>\n");
        return;
    };
    let x = nice_range(t0, t1.max(t0 + 1e-3), 8.0);
    let a = Axes::new(520.0, 270.0, (t0, t1.max(t0 + 1e-3), x.2), nice_range(y0, y1, 5.0));
    a.open(h, &esc(title), "time (s)", &esc(y_title));
    let (top, bottom) = (a.top, a.h - a.bottom);
    for r in &report.reps {
        let rep = &r.rep;
        let (x1, x2, x3) = (a.px(rep.floor_break_s), a.px(rep.lockout_s), a.px(rep.end_s));
        rect(h, "class=\"ph1\"", (x1, top), (x2, bottom));
        rect(h, "class=\"ph2\"", (x2, top), (x3, bottom));
        text(h, 0.5 * (x1 + x2), top + 13.0, "middle", &rep.index.to_string());
    }
    for (_, s, colour) in lines {
        a.line(h, thin(0..t.len().min(s.len())).map(|i| s[i].map(|v| (t[i], v))), colour);
    }
    let legend: Vec<(String, &str)> = lines.iter().map(|(n, _, c)| (esc(n), *c)).collect();
    a.legend(h, &legend);
    h.push_str("</svg></figure>\n");
}

/// Each rep's bar path (hands) from setup to the bar back down, drawn to scale (equal units).
pub(super) fn bar_path_plot(h: &mut String, report: &Report) {
    let s = &report.series;
    // With a plate, centimetres at the plate's scale; else torso lengths.
    let (k, unit, what) = match report.bar.mm_per_px {
        Some(mm) => (report.scale.torso_px * mm / 10.0, "cm", "plate centre"),
        None => (1.0, "torso lengths", "hands"),
    };
    let paths: Vec<Vec<Option<(f64, f64)>>> = report
        .reps
        .iter()
        .map(|r| {
            let a = s.t_s.partition_point(|t| *t < r.rep.start_s);
            let b = s.t_s.partition_point(|t| *t <= r.rep.end_s);
            let b = b.min(s.bar_x_midfoot_torso.len()).min(s.bar_height_torso.len()).max(a);
            // Heights from the rep's lowest bar position: the feet's floor line is at the body's
            // depth, the plate nearer the camera, so absolute heights would mix the two.
            let floor = (a..b).filter_map(|i| s.bar_height_torso[i]).fold(f64::INFINITY, f64::min);
            thin(a..b).map(|i| Some((k * s.bar_x_midfoot_torso[i]?, k * (s.bar_height_torso[i]? - floor)))).collect()
        })
        .collect();
    let _ = write!(h, "<figure class=\"card\"><figcaption>Bar path per rep ({what}), to scale</figcaption>");
    let points = || paths.iter().flatten().flatten();
    let (Some((x0, x1)), Some((y0, y1))) = (extent(points().map(|p| p.0).chain([0.0])), extent(points().map(|p| p.1)))
    else {
        h.push_str("<p class=\"na\">The bar was not seen.</p></figure>\n");
        return;
    };
    let frame = Axes::new(480.0, 400.0, (0.0, 1.0, 1.0), (0.0, 1.0, 1.0));
    let (pw, ph) = (frame.w - frame.left - frame.right, frame.h - frame.top - frame.bottom);
    // Equal scale: widen whichever range is narrower for its side of the plot.
    let per_px = ((x1 - x0) / pw).max((y1 - y0) / ph).max(1e-6) * 1.08;
    let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
    let xr = (cx - 0.5 * per_px * pw, cx + 0.5 * per_px * pw);
    let yr = (cy - 0.5 * per_px * ph, cy + 0.5 * per_px * ph);
    let step = nice_step(per_px * ph, 6.0);
    let a = Axes { x: (xr.0, xr.1, step), y: (yr.0, yr.1, step), ..frame };
    a.open(
        h,
        "Bar path per rep",
        &format!("bar ahead of mid-foot ({unit})"),
        &format!("bar height above its floor position ({unit})"),
    );
    let _ = write!(
        h,
        "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#6b7280\" stroke-dasharray=\"4 4\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">mid-foot</text>",
        a.top,
        a.h - a.bottom,
        a.px(0.0) - 4.0,
        a.top - 6.0,
        x = a.px(0.0)
    );
    // The legend in HTML below the plot, where it wraps however many reps there are.
    let mut legend = String::from("<p class=\"legend\">");
    for (r, path) in report.reps.iter().zip(&paths) {
        let colour = PALETTE[(r.rep.index.max(1) - 1) % PALETTE.len()];
        a.line(h, path.iter().copied(), colour);
        let _ = write!(legend, "<span style=\"color:{colour}\">&#9644;</span>&nbsp;rep&nbsp;{} ", r.rep.index);
    }
    let _ = writeln!(h, "</svg>{legend}</p></figure>");
}

/// Mean concentric speed of each rep, the fastest marked.
pub(super) fn speed_plot(h: &mut String, report: &Report) {
    let speeds: Vec<f64> = report.reps.iter().map(|r| rep_speed(report, &r.metrics).0).collect();
    let unit = report.reps.first().map_or(metric_unit("_torso_per_s"), |r| rep_speed(report, &r.metrics).1);
    let best = speeds.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
    let fastest = report.set.fastest_rep.or_else(|| speeds.iter().position(|v| *v == best).map(|i| i + 1));
    h.push_str("<figure class=\"card\"><figcaption>Mean pull speed per rep</figcaption>");
    let (n, lo) = (speeds.len().max(1) as f64, 0.5);
    let a = Axes::new(480.0, 400.0, (lo, n + lo, 1.0), nice_range(0.0, (best * 1.15).max(1e-3), 5.0));
    a.open(h, "Mean pull speed per rep", "rep", &format!("speed ({})", unit.label));
    let bw = 0.6 * (a.px(1.0) - a.px(0.0));
    for (r, v) in report.reps.iter().zip(&speeds) {
        let i = r.rep.index;
        let is_fastest = fastest == Some(i);
        let (x, y) = (a.px(i as f64) - 0.5 * bw, a.py(v.max(0.0)));
        rect(h, if is_fastest { "fill=\"#2e7d32\"" } else { "fill=\"#93a8c4\"" }, (x, y), (x + bw, a.h - a.bottom));
        text(h, x + 0.5 * bw, y - 5.0, "middle", &format!("{v:.2}{}", if is_fastest { " fastest" } else { "" }));
    }
    h.push_str("</svg></figure>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_lines_break_at_gaps_and_are_thinned() {
        let a = Axes {
            left: 0.0,
            right: 0.0,
            top: 0.0,
            bottom: 0.0,
            ..Axes::new(100.0, 100.0, (0.0, 1.0, 1.0), (0.0, 1.0, 1.0))
        };
        let mut s = String::new();
        a.line(
            &mut s,
            [Some((0.0, 0.0)), Some((0.5, 0.5)), None, Some((1.0, 1.0)), Some((1.0, 0.0))].into_iter(),
            "#000",
        );
        assert!(s.contains("d=\"M0.0 100.0L50.0 50.0M100.0 0.0L100.0 100.0\""), "{s}");
        let idx: Vec<usize> = thin(0..1000).collect();
        assert!(idx.len() <= MAX_POINTS + 1 && idx.first() == Some(&0) && idx.last() == Some(&999));
        assert_eq!(thin(0..5).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn html_ticks_are_round_numbers() {
        assert_eq!(nice_range(0.13, 9.7, 5.0), (0.0, 10.0, 2.0));
        assert_eq!(
            ticks((0.0, 1.0, 0.25)).map(|t| tick_label(t, 0.25)).collect::<Vec<_>>(),
            ["0.00", "0.25", "0.50", "0.75", "1.00"]
        );
        assert_eq!(tick_label(-0.0, 5.0), "0");
    }
}
