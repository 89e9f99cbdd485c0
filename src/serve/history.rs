//! An athlete's history: per session (one analysed clip) the setup back bend, the mean bar speed
//! of the best rep and the findings per rep, drawn as small inline SVG trends; the load-velocity
//! profile and the one-rep max it estimates; and the coach's `summary.csv` over a date range.
//!
//! Load-velocity profile: the mean concentric velocity of each set's fastest rep against the
//! load lifted, a least-squares line v = a + b * load over the sets with both, and the estimated
//! one-rep max where the line reaches the minimum velocity threshold (MVT): load = (MVT - a) / b.
//! Its uncertainty is the standard error of that inverse prediction,
//! (s / |b|) * sqrt(1/n + (MVT - mean v)^2 / (b^2 * Sxx)), shown as +- 1.96 of it; with fewer
//! than three different loads, or a line that does not slow down as the load grows, there is no
//! estimate.

use std::fmt::Write as _;
use std::path::Path;

use super::db::ClipRow;
use crate::analysis::report::csv_field;
use crate::present::html::esc;

/// One analysed clip, as the trends use it.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub uploaded_s: i64,
    pub load_kg: Option<f64>,
    /// Mean over the reps of the setup back bend (deg).
    pub back_bend_setup_deg: Option<f64>,
    /// Mean concentric velocity of the fastest rep (m/s).
    pub best_speed_m_per_s: Option<f64>,
    /// Warnings and faults per rep.
    pub findings_per_rep: Option<f64>,
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Reads a finished clip's report (`None` when it is not there).
pub fn read_report(out_dir: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).ok()?).ok()
}

impl Session {
    pub fn of(row: &ClipRow, report: &serde_json::Value) -> Session {
        let reps = report.get("reps").and_then(|r| r.as_array()).cloned().unwrap_or_default();
        let metric = |r: &serde_json::Value, k: &str| r.pointer(&format!("/metrics/{k}")).and_then(|v| v.as_f64());
        let findings = reps
            .iter()
            .map(|r| {
                r.get("faults").and_then(|f| f.as_array()).map_or(0, |f| {
                    f.iter()
                        .filter(|f| matches!(f.get("severity").and_then(|s| s.as_str()), Some("warn" | "fault")))
                        .count()
                })
            })
            .sum::<usize>();
        Session {
            id: row.id.clone(),
            uploaded_s: row.uploaded_s,
            load_kg: row.load_kg,
            back_bend_setup_deg: mean(reps.iter().filter_map(|r| metric(r, "lumbar_flexion_setup_deg"))),
            best_speed_m_per_s: row.best_speed_m_per_s,
            findings_per_rep: (!reps.is_empty()).then(|| findings as f64 / reps.len() as f64),
        }
    }
}

/// The one-rep max a load-velocity profile gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneRepMax {
    pub load_kg: f64,
    /// Half-width of the 95 % interval, kg.
    pub plus_minus_kg: f64,
    /// Sets the line was fitted to.
    pub sets: usize,
    /// Velocity lost per kg (m/s per kg, negative).
    pub slope_m_per_s_per_kg: f64,
}

/// Fits the profile to `(load kg, velocity m/s)` points and estimates the one-rep max at `mvt`.
pub fn one_rep_max(points: &[(f64, f64)], mvt_m_per_s: f64) -> Option<OneRepMax> {
    let n = points.len();
    let mut loads: Vec<f64> = points.iter().map(|p| p.0).collect();
    loads.sort_by(f64::total_cmp);
    loads.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    if loads.len() < 3 {
        return None;
    }
    let nf = n as f64;
    let (mx, mv) = (points.iter().map(|p| p.0).sum::<f64>() / nf, points.iter().map(|p| p.1).sum::<f64>() / nf);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - mv)).sum();
    let b = sxy / sxx;
    // Bar speed must fall as the load grows; otherwise the points say nothing about the max.
    if !(b < 0.0) {
        return None;
    }
    let a = mv - b * mx;
    let load = (mvt_m_per_s - a) / b;
    let resid: f64 = points.iter().map(|p| (p.1 - (a + b * p.0)).powi(2)).sum();
    let s = (resid / (nf - 2.0)).sqrt();
    let se = s / b.abs() * (1.0 / nf + (mvt_m_per_s - mv).powi(2) / (b * b * sxx)).sqrt();
    (load.is_finite() && load > 0.0).then_some(OneRepMax {
        load_kg: load,
        plus_minus_kg: 1.96 * se,
        sets: n,
        slope_m_per_s_per_kg: b,
    })
}

/// A small line chart of one measure over sessions (oldest left), inline SVG with presentation
/// attributes only (the page's CSP allows no inline style).
pub fn trend_svg(title: &str, unit: &str, values: &[Option<f64>]) -> String {
    let seen: Vec<(usize, f64)> = values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i, v))).collect();
    let mut h = format!("<figure class=\"trend\"><figcaption>{}</figcaption>", esc(title));
    if seen.is_empty() {
        h.push_str("<p class=\"muted\">Not measured yet.</p></figure>");
        return h;
    }
    let (w, ht, left, right, top, bottom) = (320.0, 140.0, 44.0, 10.0, 10.0, 22.0);
    let (mut lo, mut hi) = seen.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.1), h.max(p.1)));
    if hi - lo < 1e-9 {
        (lo, hi) = (lo - 1.0, hi + 1.0);
    }
    let pad = 0.1 * (hi - lo);
    let (lo, hi) = (lo - pad, hi + pad);
    let n = values.len().max(2) as f64 - 1.0;
    let px = |i: usize| left + i as f64 / n * (w - left - right);
    let py = |v: f64| top + (hi - v) / (hi - lo) * (ht - top - bottom);
    let (title_attr, axis_y, axis_x_end) = (esc(title), ht - bottom, w - right);
    let _ = write!(
        h,
        "<svg viewBox=\"0 0 {w} {ht}\" role=\"img\" aria-label=\"{title_attr}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{axis_y}\" stroke=\"#c4cdd6\"/>\
         <line x1=\"{left}\" y1=\"{axis_y:.1}\" x2=\"{axis_x_end:.1}\" y2=\"{axis_y:.1}\" stroke=\"#c4cdd6\"/>"
    );
    for v in [lo + pad, hi - pad] {
        let _ = write!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5f6b78\">{v:.2}</text>",
            left - 4.0,
            py(v) + 4.0
        );
    }
    let _ = write!(
        h,
        "<text x=\"{left}\" y=\"{:.1}\" font-size=\"11\" fill=\"#5f6b78\">oldest</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5f6b78\">latest ({})</text>",
        ht - 6.0,
        w - right,
        ht - 6.0,
        esc(unit)
    );
    let path: Vec<String> = seen.iter().map(|&(i, v)| format!("{:.1},{:.1}", px(i), py(v))).collect();
    let _ = write!(h, "<polyline points=\"{}\" fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2\"/>", path.join(" "));
    for &(i, v) in &seen {
        let _ = write!(
            h,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#1f6feb\"><title>{v:.2}</title></circle>",
            px(i),
            py(v)
        );
    }
    h.push_str("</svg></figure>");
    h
}

/// `summary.csv` for a coach: one row per rep of every finished clip (one row for a clip without
/// reps or that failed), in upload order.
pub fn summary_csv(rows: &[(ClipRow, Option<serde_json::Value>)]) -> String {
    let mut out = String::from(
        "athlete,uploaded_utc,clip,status,load_kg,rep,floor_break_s,lockout_s,mean_concentric_velocity_m_per_s,\
         lumbar_flexion_setup_deg,findings,error\n",
    );
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
    for (row, report) in rows {
        let head = format!(
            "{},{},{},{},{}",
            csv_field(&row.athlete),
            super::pages::when(row.uploaded_s),
            csv_field(&row.file_name),
            row.status,
            num(row.load_kg)
        );
        let reps = report.as_ref().and_then(|r| r.get("reps")).and_then(|r| r.as_array()).cloned().unwrap_or_default();
        if reps.is_empty() {
            let _ = writeln!(out, "{head},,,,,,,{}", csv_field(row.error.as_deref().unwrap_or("")));
            continue;
        }
        for r in &reps {
            let m = |k: &str| r.pointer(&format!("/metrics/{k}")).and_then(|v| v.as_f64());
            let findings: Vec<String> = r
                .get("faults")
                .and_then(|f| f.as_array())
                .map(|f| {
                    f.iter()
                        .map(|f| {
                            format!(
                                "{}:{}",
                                f.get("code").and_then(|c| c.as_str()).unwrap_or(""),
                                f.get("severity").and_then(|c| c.as_str()).unwrap_or("")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{head},{},{},{},{},{},{},",
                r.get("index").and_then(|v| v.as_u64()).unwrap_or(0),
                num(r.get("floor_break_s").and_then(|v| v.as_f64())),
                num(r.get("lockout_s").and_then(|v| v.as_f64())),
                num(m("mean_concentric_velocity_m_per_s")),
                num(m("lumbar_flexion_setup_deg")),
                csv_field(&findings.join(";"))
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rep_max_from_a_linear_profile() {
        // v = 1.2 - 0.006 * load: reaches 0.15 m/s at 175 kg.
        let exact: Vec<(f64, f64)> = [100.0, 120.0, 140.0, 160.0].iter().map(|&l| (l, 1.2 - 0.006 * l)).collect();
        let e = one_rep_max(&exact, 0.15).expect("an estimate");
        assert!((e.load_kg - 175.0).abs() < 1e-6 && e.plus_minus_kg < 1e-6, "{e:?}");
        // Noise widens the interval; the estimate stays near.
        let noisy: Vec<(f64, f64)> =
            exact.iter().zip([0.03, -0.02, 0.025, -0.03]).map(|(&(l, v), n)| (l, v + n)).collect();
        let e = one_rep_max(&noisy, 0.15).expect("an estimate");
        assert!((e.load_kg - 175.0).abs() < 15.0 && e.plus_minus_kg > 5.0, "{e:?}");
        // Two loads, or speed that does not fall with load: no estimate.
        assert_eq!(one_rep_max(&[(100.0, 0.8), (100.0, 0.82), (140.0, 0.5)], 0.15), None);
        assert_eq!(one_rep_max(&[(100.0, 0.5), (120.0, 0.6), (140.0, 0.7)], 0.15), None);
    }

    #[test]
    fn a_trend_draws_the_seen_values_and_says_when_there_are_none() {
        let svg = trend_svg("Bar speed <best rep>", "m/s", &[Some(0.5), None, Some(0.6)]);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("Bar speed &lt;best rep&gt;") && !svg.contains("style="));
        assert!(trend_svg("x", "deg", &[None]).contains("Not measured yet"));
    }
}
