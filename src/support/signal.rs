//! One-dimensional signal maths on variable-frame-rate samples: outlier rejection (Hampel),
//! filling short gaps, and a zero-phase Butterworth low-pass applied to each unbroken run of
//! valid samples on its own. Samples are `Option<f64>` (`None` = not seen); times are seconds
//! and need not be evenly spaced: each run is resampled to its median interval, filtered
//! forwards and backwards, and read back at the original times. A run also ends where the frames
//! are more than [`RUN_BREAK_S`] apart, and the uniform grid is never more than [`MAX_GRID_FACTOR`]
//! times denser than the samples: damaged timestamps cannot make it huge.

/// A step in time longer than this (seconds) ends a run: a cut in the video, not a motion to smooth.
pub const RUN_BREAK_S: f64 = 1.0;
/// A run whose uniform grid would hold more than this many points per sample is left unfiltered
/// (only timestamps far from evenly spaced do that: the filter would invent the data between).
pub const MAX_GRID_FACTOR: usize = 16;

/// Most neighbours on each side of a sample in the outlier window: 0.25 s at 480 fps. It bounds
/// the cost on a track whose times are absurdly close together (found by fuzzing: 2,000 frames
/// a nanosecond apart took seconds).
const HAMPEL_MAX_SIDE: usize = 120;

/// Marks samples further than `n_sigmas` robust standard deviations (1.4826 x MAD) from the
/// median of their neighbours within `half_window_s` as unseen.
pub fn hampel(t_s: &[f64], x: &mut [Option<f64>], half_window_s: f64, n_sigmas: f64) {
    let original: Vec<Option<f64>> = x.to_vec();
    let mut window = Vec::new();
    let mut lo = 0;
    for i in 0..x.len() {
        let Some(v) = original[i] else { continue };
        // `lo < i`: with a negative window or times out of order the left edge must not pass i.
        while lo < i && (t_s[i] - t_s[lo] > half_window_s || i - lo > HAMPEL_MAX_SIDE) {
            lo += 1;
        }
        window.clear();
        let hi = (i + HAMPEL_MAX_SIDE + 1).min(x.len());
        window.extend((lo..hi).take_while(|&j| t_s[j] - t_s[i] <= half_window_s).filter_map(|j| original[j]));
        if window.len() < 5 {
            continue;
        }
        let med = median_in_place(&mut window);
        for w in window.iter_mut() {
            *w = (*w - med).abs();
        }
        let mad = median_in_place(&mut window);
        // A flat window (MAD 0) says nothing about spread: keep the sample.
        if mad > 0.0 && (v - med).abs() > n_sigmas * 1.4826 * mad {
            x[i] = None;
        }
    }
}

/// Linearly interpolates gaps of at most `max_gap_s` between two seen samples.
pub fn fill_gaps(t_s: &[f64], x: &mut [Option<f64>], max_gap_s: f64) {
    let mut last: Option<usize> = None;
    for i in 0..x.len() {
        let Some(v) = x[i] else { continue };
        if let Some(j) = last {
            if i > j + 1 && t_s[i] - t_s[j] <= max_gap_s {
                let v0 = x[j].expect("last points at a seen sample");
                for k in j + 1..i {
                    let a = (t_s[k] - t_s[j]) / (t_s[i] - t_s[j]);
                    x[k] = Some(v0 + a * (v - v0));
                }
            }
        }
        last = Some(i);
    }
}

/// Zero-phase 4th-order Butterworth low-pass (two passes of a 2nd-order filter, forwards and
/// backwards) at `cutoff_hz`, applied to each unbroken run separately. Runs too short to filter
/// (under 12 samples) are left as they are.
pub fn lowpass(t_s: &[f64], x: &mut [Option<f64>], cutoff_hz: f64) {
    let mut i = 0;
    while i < x.len() {
        if x[i].is_none() {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < x.len() && x[i].is_some() && t_s[i] - t_s[i - 1] <= RUN_BREAK_S {
            i += 1;
        }
        if i - start >= 12 {
            filter_run(&t_s[start..i], &mut x[start..i], cutoff_hz);
        }
    }
}

fn filter_run(t_s: &[f64], x: &mut [Option<f64>], cutoff_hz: f64) {
    let n = x.len();
    let mut dts: Vec<f64> = t_s.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0.0).collect();
    if dts.is_empty() {
        return;
    }
    let dt = median_in_place(&mut dts);
    let fs = 1.0 / dt;
    // A cutoff at or above Nyquist would be no filter at all.
    if cutoff_hz >= 0.45 * fs {
        return;
    }
    // Resample to a uniform grid. A run whose span is far more intervals than it has samples
    // (times out of order, or a huge jump) has no meaningful grid: it is left as it is.
    let steps = ((t_s[n - 1] - t_s[0]) / dt).round();
    if !(0.0..=(MAX_GRID_FACTOR * n) as f64).contains(&steps) {
        return;
    }
    let m = steps as usize + 1;
    let values: Vec<f64> = x.iter().map(|v| v.expect("a run holds only seen samples")).collect();
    let mut grid = Vec::with_capacity(m);
    let mut j = 0;
    for k in 0..m {
        let t = t_s[0] + k as f64 * dt;
        while j + 1 < n - 1 && t_s[j + 1] < t {
            j += 1;
        }
        grid.push(interp(t_s, &values, j, t));
    }
    let filtered = filtfilt(&grid, cutoff_hz, fs);
    // Read back at the original times.
    let mut k = 0;
    for (idx, t) in t_s.iter().enumerate() {
        let pos = (t - t_s[0]) / dt;
        while k + 1 < m - 1 && ((k + 1) as f64) < pos {
            k += 1;
        }
        let a = (pos - k as f64).clamp(0.0, 1.0);
        let v = if m == 1 { filtered[0] } else { filtered[k] * (1.0 - a) + filtered[(k + 1).min(m - 1)] * a };
        x[idx] = Some(v);
    }
}

fn interp(t_s: &[f64], v: &[f64], j: usize, t: f64) -> f64 {
    if j + 1 >= v.len() {
        return v[v.len() - 1];
    }
    let span = t_s[j + 1] - t_s[j];
    if span <= 0.0 {
        return v[j];
    }
    let a = ((t - t_s[j]) / span).clamp(0.0, 1.0);
    v[j] * (1.0 - a) + v[j + 1] * a
}

/// 2nd-order Butterworth low-pass coefficients (bilinear transform): (b0, b1, b2, a1, a2).
fn butter2(cutoff_hz: f64, fs: f64) -> [f64; 5] {
    let k = (std::f64::consts::PI * cutoff_hz / fs).tan();
    let q = std::f64::consts::FRAC_1_SQRT_2;
    let norm = 1.0 / (1.0 + k / q + k * k);
    let b0 = k * k * norm;
    [b0, 2.0 * b0, b0, 2.0 * (k * k - 1.0) * norm, (1.0 - k / q + k * k) * norm]
}

/// Forward-backward filtering with odd reflection at both ends to tame edge transients.
fn filtfilt(x: &[f64], cutoff_hz: f64, fs: f64) -> Vec<f64> {
    let n = x.len();
    let pad = (3 * 6).min(n - 1);
    let mut ext = Vec::with_capacity(n + 2 * pad);
    for i in (1..=pad).rev() {
        ext.push(2.0 * x[0] - x[i]);
    }
    ext.extend_from_slice(x);
    for i in 1..=pad {
        ext.push(2.0 * x[n - 1] - x[n - 1 - i]);
    }
    let c = butter2(cutoff_hz, fs);
    let pass = |v: &mut Vec<f64>| {
        // Start from the steady state of the first sample so the filter does not ring.
        let (mut x1, mut x2, mut y1, mut y2) = (v[0], v[0], v[0], v[0]);
        for s in v.iter_mut() {
            let y = c[0] * *s + c[1] * x1 + c[2] * x2 - c[3] * y1 - c[4] * y2;
            x2 = x1;
            x1 = *s;
            y2 = y1;
            y1 = y;
            *s = y;
        }
    };
    // Two 2nd-order passes each way: 4th order overall, zero phase.
    for _ in 0..2 {
        pass(&mut ext);
        ext.reverse();
        pass(&mut ext);
        ext.reverse();
    }
    ext[pad..pad + n].to_vec()
}

/// Median of a non-empty slice (reorders it).
pub fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    let (below, &mut upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        upper
    } else {
        // The lower middle is the largest of the values below the upper one.
        0.5 * (below.iter().copied().fold(f64::NEG_INFINITY, f64::max) + upper)
    }
}

/// Median of the seen values, if any.
pub fn median_of(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        None
    } else {
        Some(median_in_place(&mut v))
    }
}

/// Time derivative by central differences on the real timestamps; `None` next to a gap.
pub fn derivative(t_s: &[f64], x: &[Option<f64>]) -> Vec<Option<f64>> {
    (0..x.len())
        .map(|i| {
            let prev = if i > 0 { x[i - 1].map(|v| (t_s[i - 1], v)) } else { None };
            let next = if i + 1 < x.len() { x[i + 1].map(|v| (t_s[i + 1], v)) } else { None };
            let here = x[i].map(|v| (t_s[i], v));
            let (a, b) = match (prev, here, next) {
                (Some(p), Some(_), Some(n)) => (p, n),
                (Some(p), Some(h), None) => (p, h),
                (None, Some(h), Some(n)) => (h, n),
                _ => return None,
            };
            (b.0 > a.0).then(|| (b.1 - a.1) / (b.0 - a.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(n: usize, fps: f64) -> Vec<f64> {
        (0..n).map(|i| i as f64 / fps).collect()
    }

    #[test]
    fn lowpass_keeps_slow_motion_and_removes_fast_noise() {
        let t = times(300, 60.0);
        let slow = |t: f64| (2.0 * std::f64::consts::PI * 0.5 * t).sin();
        let mut x: Vec<Option<f64>> =
            t.iter().enumerate().map(|(i, &t)| Some(slow(t) + if i % 2 == 0 { 0.2 } else { -0.2 })).collect();
        lowpass(&t, &mut x, 6.0);
        for (i, v) in x.iter().enumerate().skip(10).take(280) {
            let err = (v.expect("seen") - slow(t[i])).abs();
            assert!(err < 0.02, "sample {i}: error {err}");
        }
    }

    #[test]
    fn hampel_with_a_negative_window_or_times_out_of_order_stays_in_bounds() {
        // Found by fuzzing the configuration (outlier_window_s = -1e308).
        let t = times(40, 30.0);
        let mut x: Vec<Option<f64>> = (0..40).map(|i| Some(i as f64)).collect();
        hampel(&t, &mut x, -1e308, 3.0);
        assert!(x.iter().all(Option::is_some));
        let backwards: Vec<f64> = t.iter().rev().copied().collect();
        hampel(&backwards, &mut x, 0.2, 3.0);
    }

    #[test]
    fn lowpass_leaves_a_run_with_no_sensible_grid_as_it_is() {
        // A run spanning ~1e300 median intervals would need a grid larger than memory. The jump
        // ends the run (more than RUN_BREAK_S), so the sample after it is left alone and the ones
        // before are filtered on their own, finitely.
        let mut t = times(20, 30.0);
        t[19] = 1e300;
        let mut x: Vec<Option<f64>> = (0..20).map(|i| Some((i % 2) as f64)).collect();
        let before = x.clone();
        lowpass(&t, &mut x, 4.0);
        assert_eq!(x[19], before[19]);
        assert!(x.iter().all(|v| v.is_some_and(f64::is_finite)));
        let mut x = before.clone();
        // Times running backwards: the span is negative.
        let backwards: Vec<f64> = times(20, 30.0).into_iter().rev().collect();
        lowpass(&backwards, &mut x, 4.0);
        assert_eq!(x, before);
    }

    #[test]
    fn lowpass_is_zero_phase_on_a_step() {
        let t = times(200, 30.0);
        let mut x: Vec<Option<f64>> = (0..200).map(|i| Some(if i < 100 { 0.0 } else { 1.0 })).collect();
        lowpass(&t, &mut x, 4.0);
        // Symmetric around the step: the midpoint crossing stays at the step.
        let a = x[99].expect("seen");
        let b = x[100].expect("seen");
        assert!((a + b - 1.0).abs() < 0.05, "{a} {b}");
    }

    #[test]
    fn variable_frame_rate_is_filtered_on_real_time() {
        // Same motion sampled unevenly: the filtered curve follows the motion, not the index.
        let mut t = Vec::new();
        let mut acc = 0.0;
        for i in 0..240 {
            t.push(acc);
            acc += if i % 3 == 0 { 0.045 } else { 0.027 };
        }
        let f = |t: f64| t * 2.0;
        let mut x: Vec<Option<f64>> = t.iter().map(|&t| Some(f(t))).collect();
        lowpass(&t, &mut x, 6.0);
        for (i, v) in x.iter().enumerate().skip(5).take(230) {
            assert!((v.expect("seen") - f(t[i])).abs() < 0.01, "sample {i}");
        }
    }

    #[test]
    fn runs_are_filtered_separately_and_gaps_stay_gaps() {
        let t = times(100, 30.0);
        let mut x: Vec<Option<f64>> = (0..100).map(|i| if (40..60).contains(&i) { None } else { Some(1.0) }).collect();
        lowpass(&t, &mut x, 6.0);
        assert!(x[45].is_none());
        assert!((x[30].expect("seen") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_huge_time_gap_splits_the_run_and_allocates_nothing_big() {
        // Regression (corpus file time_gap_huge.mp4): frames 1e7 s apart made a 3e8-point grid.
        let mut t = times(40, 30.0);
        for v in t.iter_mut().skip(20) {
            *v += 1.0e7;
        }
        let mut x: Vec<Option<f64>> = (0..40).map(|i| Some(if i % 2 == 0 { 1.0 } else { -1.0 })).collect();
        lowpass(&t, &mut x, 3.0);
        // Both halves are filtered (the alternation is smoothed away), each on its own.
        for i in (5..15).chain(25..35) {
            assert!(x[i].is_some_and(|v| v.abs() < 0.5), "{i}: {x:?}");
        }
        // Uneven spacing inside one run: left as it is rather than resampled densely.
        let t: Vec<f64> = (0..20).map(|i| if i < 19 { i as f64 * 1e-6 } else { 0.9 }).collect();
        let mut y: Vec<Option<f64>> = (0..20).map(|i| Some(i as f64)).collect();
        lowpass(&t, &mut y, 3.0);
        assert_eq!(y[19], Some(19.0));
    }

    #[test]
    fn hampel_removes_a_spike_and_keeps_the_rest() {
        let t = times(60, 30.0);
        let mut x: Vec<Option<f64>> =
            (0..60).map(|i| Some(i as f64 * 0.1 + if i % 2 == 0 { 0.01 } else { 0.0 })).collect();
        x[30] = Some(50.0);
        hampel(&t, &mut x, 0.25, 3.5);
        assert!(x[30].is_none());
        assert_eq!(x.iter().filter(|v| v.is_none()).count(), 1);
    }

    #[test]
    fn median_matches_the_sorted_middle() {
        for n in 1..12usize {
            let v: Vec<f64> = (0..n).map(|i| ((i * 7919) % 13) as f64 - 0.5 * i as f64).collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let want = if n % 2 == 1 { sorted[n / 2] } else { 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]) };
            assert_eq!(median_in_place(&mut v.clone()), want, "n = {n}");
        }
    }

    #[test]
    fn hampel_on_absurdly_dense_times_uses_a_bounded_window() {
        // 3,000 samples a picosecond apart: every sample is inside every window by time.
        let t: Vec<f64> = (0..3000).map(|i| i as f64 * 1e-12).collect();
        let mut x: Vec<Option<f64>> = (0..3000).map(|i| Some((i % 5) as f64)).collect();
        x[1500] = Some(1e6);
        hampel(&t, &mut x, 0.25, 4.0);
        assert!(x[1500].is_none());
        assert_eq!(x.iter().filter(|v| v.is_none()).count(), 1);
    }

    #[test]
    fn only_short_gaps_are_filled() {
        let t = times(20, 10.0);
        let mut x: Vec<Option<f64>> =
            (0..20).map(|i| if (3..5).contains(&i) || (8..16).contains(&i) { None } else { Some(i as f64) }).collect();
        fill_gaps(&t, &mut x, 0.3);
        assert_eq!(x[3], Some(3.0));
        assert_eq!(x[4], Some(4.0));
        assert!(x[10].is_none(), "a 0.9 s gap must stay a gap");
    }

    #[test]
    fn derivative_uses_real_timestamps() {
        let t = vec![0.0, 0.1, 0.3, 0.4];
        let x = vec![Some(0.0), Some(1.0), Some(3.0), None];
        let d = derivative(&t, &x);
        assert!((d[1].expect("d") - 10.0).abs() < 1e-9);
        assert!((d[2].expect("d") - 10.0).abs() < 1e-9);
        assert!(d[3].is_none());
    }
}
