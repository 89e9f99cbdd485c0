//! The landmark layout: BlazePose's 33 landmark names in model order, the indices of the joints
//! the analysis uses, and the one rule that merges a left/right pair. Shared by capture (which
//! writes landmarks in this order) and everything that reads a pose track.

/// Number of named BlazePose landmarks.
pub const NUM_LANDMARKS: usize = 33;

/// BlazePose's 33 landmark names, in model order.
pub const BLAZEPOSE_NAMES: [&str; NUM_LANDMARKS] = [
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
];

/// Indices of the joints later stages use, in BlazePose order.
pub mod joint {
    pub const NOSE: usize = 0;
    pub const LEFT_EAR: usize = 7;
    pub const RIGHT_EAR: usize = 8;
    pub const LEFT_SHOULDER: usize = 11;
    pub const RIGHT_SHOULDER: usize = 12;
    pub const LEFT_ELBOW: usize = 13;
    pub const RIGHT_ELBOW: usize = 14;
    pub const LEFT_WRIST: usize = 15;
    pub const RIGHT_WRIST: usize = 16;
    pub const LEFT_HIP: usize = 23;
    pub const RIGHT_HIP: usize = 24;
    pub const LEFT_KNEE: usize = 25;
    pub const RIGHT_KNEE: usize = 26;
    pub const LEFT_ANKLE: usize = 27;
    pub const RIGHT_ANKLE: usize = 28;
    pub const LEFT_HEEL: usize = 29;
    pub const RIGHT_HEEL: usize = 30;
    pub const LEFT_FOOT_INDEX: usize = 31;
    pub const RIGHT_FOOT_INDEX: usize = 32;
}

/// Visibility-weighted mean position of a left/right landmark pair (`[x, y, visibility]`);
/// `None` when neither side is at least `min_visibility`. In profile both sides project close
/// together, so the mean does not depend on the model's left/right labels.
pub fn weighted_pair(l: [f64; 3], r: [f64; 3], min_visibility: f64) -> Option<(f64, f64)> {
    // A tiny floor keeps the weights defined when both sides are hidden but still wanted. A
    // landmark with a value that is not finite (a damaged track) counts as not seen.
    let weight = |p: [f64; 3]| {
        if p.iter().all(|v| v.is_finite()) && p[2] >= min_visibility {
            p[2].max(1e-3)
        } else {
            0.0
        }
    };
    let (wl, wr) = (weight(l), weight(r));
    let w = wl + wr;
    let mid = ((wl * l[0] + wr * r[0]) / w, (wl * l[1] + wr * r[1]) / w);
    (w > 0.0 && mid.0.is_finite() && mid.1.is_finite()).then_some(mid)
}
