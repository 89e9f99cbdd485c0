//! Replays every fuzz seed and every saved fuzz finding (`fuzz/seeds/<target>/`,
//! `fuzz/regressions/<target>/`) through the same target functions the fuzzer ran
//! (`formcheck::testkit::fuzzing`): none may panic, and each must end in success or a typed input error,
//! never a broken invariant. Every file is run before the test fails, and the failure names each
//! file with its panic message or error.

use std::path::{Path, PathBuf};

use formcheck::testkit::fuzzing::{FuzzError, Target};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> =
        std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    out.sort();
    out
}

/// Runs `target` on every file of `kind` (`seeds` or `regressions`); returns the failures.
fn replay(target: Target, kind: &str) -> (usize, Vec<String>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind).join(target.name());
    let mut failures = Vec::new();
    let paths = files(&dir);
    for path in &paths {
        let data = std::fs::read(path).expect("readable fuzz input");
        let started = std::time::Instant::now();
        let outcome = std::panic::catch_unwind(|| target.run(&data));
        let took = started.elapsed();
        let name = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path).display();
        match outcome {
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{name}: panicked: {msg}"));
            }
            Ok(Err(e @ FuzzError::Invariant { .. })) => failures.push(format!("{name}: {e}")),
            // The fuzzer flags inputs over 2 s; leave room for a slow CI machine.
            Ok(_) if took.as_secs_f64() > 10.0 => failures.push(format!("{name}: took {took:?}")),
            Ok(Ok(_)) | Ok(Err(FuzzError::Poses(_))) | Ok(Err(FuzzError::Config(_))) => {}
            Ok(Err(e)) => failures.push(format!("{name}: unexpected error kind: {e}")),
        }
    }
    (paths.len(), failures)
}

fn replay_all(kind: &str) {
    let mut failures = Vec::new();
    let mut total = 0;
    for target in Target::ALL {
        let (n, f) = replay(target, kind);
        total += n;
        failures.extend(f);
    }
    println!("replayed {total} {kind} files");
    assert!(failures.is_empty(), "{} of {total} {kind} failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn fuzz_seeds_run_cleanly() {
    replay_all("seeds");
}

#[test]
fn fuzz_regressions_run_cleanly() {
    replay_all("regressions");
}

/// The seeds that are real `poses.json` files must load and give a report (a loader that
/// rejected everything would pass the replay above).
#[test]
fn real_pose_track_seeds_load_and_are_analysed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/poses");
    let paths = files(&dir);
    assert!(paths.len() >= 3, "pose seeds missing from {}", dir.display());
    for path in paths {
        let data = std::fs::read(&path).expect("seed");
        let result = Target::Poses.run(&data);
        assert!(result.is_ok(), "{}: {result:?}", path.display());
    }
}

/// Regressions that were written by hand for a bug must still be rejected with the typed error.
#[test]
fn a_track_whose_layout_is_not_blazepose_is_a_parse_error() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/poses/five_landmark_names.json");
    let err = Target::Poses.run(&std::fs::read(path).expect("regression file")).expect_err("five names");
    assert!(err.to_string().contains("landmark names"), "{err}");
}
