//! Loading an ONNX model, checking it is the model we expect (input/output names, shapes, types),
//! and running it with preallocated input and output tensors, so the per-frame hot path allocates
//! nothing. One intra-op thread per session: on a 2-core machine the other core decodes video.

use std::path::{Path, PathBuf};

use ort::memory::Allocator;
use ort::session::{HasSelectedOutputs, OutputSelector, RunOptions, Session, SessionOutputs};
use ort::value::{Tensor, TensorElementType, ValueType};

/// A tensor the model must have: name, element type float32, and shape (-1 = any).
#[derive(Debug, Clone, Copy)]
pub struct TensorSpec {
    pub name: &'static str,
    pub shape: &'static [i64],
}

/// What a model file must look like.
#[derive(Debug, Clone, Copy)]
pub struct ModelSpec {
    /// Human name used in errors ("BlazePose landmark model").
    pub what: &'static str,
    pub input: TensorSpec,
    pub outputs: &'static [TensorSpec],
}

/// Why a model could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    #[error("model file not found: {path}")]
    NotFound { path: PathBuf },
    #[error(transparent)]
    Runtime(#[from] crate::capture::runtime::RuntimeError),
    #[error("cannot load model {path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("{path} is not the {what}: {problem}")]
    Mismatch { path: PathBuf, what: &'static str, problem: String },
    #[error("inference failed: {0}")]
    Run(String),
}

/// A loaded, validated model with its reusable buffers.
pub struct Model {
    session: Session,
    input: Tensor<f32>,
    run_options: RunOptions<HasSelectedOutputs>,
    spec: ModelSpec,
    path: PathBuf,
}

impl Model {
    /// Loads `path` with ONNX Runtime from `env` and checks it against `spec`.
    pub fn load(env: &ort::environment::Environment, path: &Path, spec: ModelSpec) -> Result<Model, ModelError> {
        if !path.is_file() {
            return Err(ModelError::NotFound { path: path.to_path_buf() });
        }
        let load_err = |e: ort::Error| ModelError::Load { path: path.to_path_buf(), reason: e.to_string() };
        // The builder's error type is not Send/Sync: build inside a closure returning ort::Result.
        let build = || -> ort::Result<Session> {
            Session::builder(env)?
                .with_intra_threads(1)?
                .with_inter_threads(1)?
                .with_optimization_level(ort::session::builder::GraphOptimizationLevel::All)?
                .commit_from_file(path)
        };
        let session = build().map_err(load_err)?;
        let mismatch = |problem: String| ModelError::Mismatch { path: path.to_path_buf(), what: spec.what, problem };
        check_outlets("input", session.inputs(), std::slice::from_ref(&spec.input)).map_err(mismatch)?;
        check_outlets("output", session.outputs(), spec.outputs).map_err(mismatch)?;
        let input =
            Tensor::<f32>::new(&Allocator::default(), spec.input.shape.iter().map(|&d| d.max(1)).collect::<Vec<_>>())
                .map_err(load_err)?;
        let mut selector = OutputSelector::no_default();
        for out in spec.outputs {
            let shape: Vec<i64> = out.shape.iter().map(|&d| d.max(1)).collect();
            let value = Tensor::<f32>::new(&Allocator::default(), shape).map_err(load_err)?;
            selector = selector.with(out.name).preallocate(out.name, value);
        }
        let run_options = RunOptions::new().map_err(load_err)?.with_outputs(selector);
        Ok(Model { session, input, run_options, spec, path: path.to_path_buf() })
    }

    /// The input buffer, to be filled before [`Model::run`].
    pub fn input_mut(&mut self) -> &mut [f32] {
        self.input.extract_tensor_mut().1
    }

    /// Runs the model on the current input.
    pub fn run(&mut self) -> Result<Outputs<'_>, ModelError> {
        let outputs = self
            .session
            .run_with_options(ort::inputs![&self.input], &self.run_options)
            .map_err(|e| ModelError::Run(e.to_string()))?;
        Ok(Outputs { outputs, spec: self.spec })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The outputs of one run, borrowed from the preallocated buffers.
pub struct Outputs<'r> {
    outputs: SessionOutputs<'r>,
    spec: ModelSpec,
}

impl Outputs<'_> {
    /// Output number `i` of the spec as a flat slice.
    pub fn get(&self, i: usize) -> Result<&[f32], ModelError> {
        let name = self.spec.outputs[i].name;
        let value = self.outputs.get(name).ok_or_else(|| ModelError::Run(format!("output {name} missing")))?;
        let (_, data) = value.try_extract_tensor::<f32>().map_err(|e| ModelError::Run(e.to_string()))?;
        Ok(data)
    }
}

fn check_outlets(kind: &str, found: &[ort::value::Outlet], expected: &[TensorSpec]) -> Result<(), String> {
    for spec in expected {
        let Some(outlet) = found.iter().find(|o| o.name() == spec.name) else {
            let names: Vec<&str> = found.iter().map(|o| o.name()).collect();
            return Err(format!("no {kind} named '{}' (it has {names:?})", spec.name));
        };
        let ValueType::Tensor { ty, shape, .. } = outlet.dtype() else {
            return Err(format!("{kind} '{}' is not a tensor", spec.name));
        };
        if *ty != TensorElementType::Float32 {
            return Err(format!("{kind} '{}' has element type {ty:?}, expected float32", spec.name));
        }
        let dims: &[i64] = shape;
        let ok = dims.len() == spec.shape.len() && dims.iter().zip(spec.shape).all(|(&d, &e)| e < 0 || d < 0 || d == e);
        if !ok {
            return Err(format!("{kind} '{}' has shape {dims:?}, expected {:?}", spec.name, spec.shape));
        }
    }
    Ok(())
}
