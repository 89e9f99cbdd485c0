use super::*;

/// The walked votes land where placing each vote afresh puts them, edge pixels far outside
/// the grid and axis-aligned gradients included.
#[test]
fn walked_votes_match_votes_placed_one_by_one() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    for round in 0..20 {
        let s = Search {
            center: (200.0 + 100.0 * next(), 150.0 + 100.0 * next()),
            half_size_px: 20.0 + 80.0 * next(),
            r_min_px: 15.0 + 60.0 * next(),
            r_max_px: 0.0,
            prior_sigma_px: f64::INFINITY,
            min_visible_rim: 0.3,
            min_edge_grey_per_px: 3.0,
            outer_ring_share: OUTER_RING_SHARE,
        };
        let s = Search { r_max_px: s.r_min_px * (1.0 + 1.5 * next()), ..s };
        let mut finder = CircleFinder::default();
        finder.pts = (0..400)
            .map(|i| {
                let a = std::f64::consts::TAU * next();
                // Every tenth gradient exactly along an axis.
                let (ux, uy) = if i % 10 == 0 { (1.0, 0.0) } else { (a.cos(), a.sin()) };
                EdgePt { x: (600.0 * next()) as f32, y: (500.0 * next()) as f32, ux: ux as f32, uy: uy as f32 }
            })
            .collect();
        let grid = finder.vote(&s);
        let mut reference = vec![0.0f32; grid.n * grid.n];
        let steps = ((s.r_max_px - s.r_min_px) / grid.cell).ceil().max(0.0) as usize + 1;
        for p in &finder.pts {
            for sign in [-1.0f64, 1.0] {
                for k in 0..steps {
                    let r = (s.r_min_px + k as f64 * grid.cell).min(s.r_max_px);
                    let (cx, cy) = (p.x as f64 + sign * r * p.ux as f64, p.y as f64 + sign * r * p.uy as f64);
                    if let Some(i) = grid.index(cx, cy) {
                        reference[i] += 1.0;
                    }
                }
            }
        }
        let total: f32 = reference.iter().sum();
        assert!(total > 0.0, "round {round}: no vote landed, the test checks nothing");
        assert_eq!(finder.acc, reference, "round {round}");
    }
}
