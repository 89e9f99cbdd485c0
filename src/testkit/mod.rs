//! Test support, compiled only for the library's own tests or with the `testkit` feature (the
//! integration tests, the examples and the fuzzer turn it on; `formcheck` as shipped has none of
//! it): `synth` makes synthetic lifts with known truth, `fuzzing` holds the fuzz targets.
//!
//! May use every stage; no product module may use it outside its tests.

pub mod fuzzing;
pub mod synth;

/// CPU time of the calling thread in seconds (Linux, `/proc/thread-self/schedstat`), for the
/// fuzzer's slow-input check and the benchmarks; `None` where it cannot be read.
pub fn thread_cpu_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(text.split_whitespace().next()?.parse::<f64>().ok()? * 1e-9)
}
