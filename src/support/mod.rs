//! Helpers every stage may use and that use no stage: numeric signal processing (`signal`) and
//! writing files whole or not at all (`output`).

pub mod output;
pub mod signal;
