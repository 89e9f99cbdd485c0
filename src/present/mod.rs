//! What a lifter or coach looks at, drawn from a finished report: the self-contained HTML page
//! (`html`, with its inline SVG plots) and the annotated video (`annotate`, which decodes the clip
//! again to draw on it).
//!
//! May use: `analysis` (the report and its types), `posetrack`, `capture` (decoding, for the
//! video), `support`. Never `batch` or `cli`.

pub mod annotate;
pub mod html;
