//! Finding and loading the ONNX Runtime shared library at run time (`ort`'s `load-dynamic`), so
//! nothing is downloaded at build time and the user exports nothing.
//!
//! Search order: an explicit path (the `--ort-lib` flag), `$FORMCHECK_ORT_LIB`, `$ORT_DYLIB_PATH`,
//! then `.ort/libonnxruntime.so*` in the project folder (where `scripts/setup.sh` puts it), found
//! from the executable's location and from the source tree the binary was built from.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Why ONNX Runtime could not be made ready.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// No library file was found anywhere it is looked for.
    #[error("ONNX Runtime library not found (looked in: {searched}); run scripts/setup.sh or pass --ort-lib PATH")]
    NotFound { searched: String },
    /// A file was found but could not be loaded as ONNX Runtime.
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    Load { path: PathBuf, reason: String },
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, RuntimeError>> = OnceLock::new();

/// Folders that may be the project root: beside the executable (and up to three levels above it,
/// for `target/release/formcheck`), the current directory, and the source tree at build time.
pub fn project_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let mut d = exe.parent().map(Path::to_path_buf);
        for _ in 0..4 {
            match d {
                Some(dir) => {
                    dirs.push(dir.clone());
                    d = dir.parent().map(Path::to_path_buf);
                }
                None => break,
            }
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        dirs.push(cwd);
    }
    dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    dirs
}

/// Candidate library paths in search order.
pub fn library_candidates(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    let mut out = Vec::new();
    for var in ["FORMCHECK_ORT_LIB", "ORT_DYLIB_PATH"] {
        if let Some(v) = std::env::var_os(var) {
            out.push(PathBuf::from(v));
        }
    }
    for dir in project_dirs() {
        let ort_dir = dir.join(".ort");
        out.push(ort_dir.join("libonnxruntime.so"));
        if let Ok(entries) = std::fs::read_dir(&ort_dir) {
            let mut versioned: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libonnxruntime.so.")))
                .collect();
            versioned.sort();
            out.extend(versioned.into_iter().rev());
        }
    }
    out
}

/// Loads ONNX Runtime once per process and returns its environment. Later calls return the first
/// result (the library cannot be swapped once loaded).
pub fn environment(explicit: Option<&Path>) -> Result<ort::environment::Environment, RuntimeError> {
    ENVIRONMENT
        .get_or_init(|| {
            let candidates = library_candidates(explicit);
            let Some(path) = candidates.iter().find(|p| p.is_file()).cloned() else {
                let searched = candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
                return Err(RuntimeError::NotFound { searched });
            };
            let load_error = |reason: String| RuntimeError::Load { path: path.clone(), reason };
            ort::init_from(&path)
                .map_err(|e| load_error(e.to_string()))?
                .with_name("formcheck")
                .with_telemetry(false)
                .build()
                .map_err(|e| load_error(e.to_string()))
        })
        .clone()
}
