//! Test support, compiled only for the library's own tests or with the `testkit` feature (the
//! integration tests, the examples and the fuzzer turn it on; `formcheck` as shipped has none of
//! it): `synth` makes synthetic lifts with known truth, `fuzzing` holds the fuzz targets.
//!
//! May use every stage; no product module may use it outside its tests.

pub mod fuzzing;
pub mod synth;
