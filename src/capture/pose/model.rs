//! Loading an ONNX model, checking it is the model we expect (input/output names, shapes, types),
//! and running it with preallocated input and output tensors, so the per-frame hot path allocates
//! nothing. One intra-op thread per session: on a 2-core machine the other core decodes video.

use std::path::{Path, PathBuf};

use ort::memory::Allocator;
use ort::session::builder::GraphOptimizationLevel;
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
    /// Output names, in the order [`Outputs::get`] numbers them.
    output_names: Vec<String>,
    run_options: RunOptions<HasSelectedOutputs>,
    path: PathBuf,
}

impl Model {
    /// Loads `path` with ONNX Runtime from `env` and checks it against `spec`.
    pub fn load(env: &ort::environment::Environment, path: &Path, spec: ModelSpec) -> Result<Model, ModelError> {
        let session = open_session(env, path, GraphOptimizationLevel::All)?;
        check_model(&session, path, &spec)?;
        let outputs: Vec<(String, Vec<i64>)> =
            spec.outputs.iter().map(|o| (o.name.to_string(), o.shape.to_vec())).collect();
        Model::prepare(session, path, spec.input, &outputs)
    }

    /// Preallocates the input and the selected `outputs` (name, shape; -1 = any, allocated as
    /// 1) of an opened, checked session.
    pub(super) fn prepare(
        session: Session,
        path: &Path,
        input: TensorSpec,
        outputs: &[(String, Vec<i64>)],
    ) -> Result<Model, ModelError> {
        let load_err = |e: ort::Error| ModelError::Load { path: path.to_path_buf(), reason: e.to_string() };
        let dims = |shape: &[i64]| shape.iter().map(|&d| d.max(1)).collect::<Vec<_>>();
        let input = Tensor::<f32>::new(&Allocator::default(), dims(input.shape)).map_err(load_err)?;
        let mut selector = OutputSelector::no_default();
        for (name, shape) in outputs {
            let value = Tensor::<f32>::new(&Allocator::default(), dims(shape)).map_err(load_err)?;
            selector = selector.with(name.as_str()).preallocate(name.as_str(), value);
        }
        let run_options = RunOptions::new().map_err(load_err)?.with_outputs(selector);
        Ok(Model {
            output_names: outputs.iter().map(|(name, _)| name.clone()).collect(),
            session,
            input,
            run_options,
            path: path.to_path_buf(),
        })
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
        Ok(Outputs { outputs, names: &self.output_names })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens `path` as an ONNX Runtime session with one intra-op thread and graph optimisations up
/// to `level` (`All` includes the NCHWc layout, which pays for itself on most models).
pub(super) fn open_session(
    env: &ort::environment::Environment,
    path: &Path,
    level: GraphOptimizationLevel,
) -> Result<Session, ModelError> {
    if !path.is_file() {
        return Err(ModelError::NotFound { path: path.to_path_buf() });
    }
    // The builder's error type is not Send/Sync: build inside a closure returning ort::Result.
    let build = || -> ort::Result<Session> {
        Session::builder(env)?
            .with_intra_threads(1)?
            .with_inter_threads(1)?
            .with_optimization_level(level)?
            .commit_from_file(path)
    };
    build().map_err(|e| ModelError::Load { path: path.to_path_buf(), reason: e.to_string() })
}

/// Checks an opened session's input and outputs against `spec`.
pub(super) fn check_model(session: &Session, path: &Path, spec: &ModelSpec) -> Result<(), ModelError> {
    let mismatch = |problem: String| ModelError::Mismatch { path: path.to_path_buf(), what: spec.what, problem };
    check_outlets("input", session.inputs(), named(std::slice::from_ref(&spec.input))).map_err(mismatch)?;
    check_outlets("output", session.outputs(), named(spec.outputs)).map_err(mismatch)
}

/// The outputs of one run, borrowed from the preallocated buffers.
pub struct Outputs<'r> {
    outputs: SessionOutputs<'r>,
    names: &'r [String],
}

impl Outputs<'_> {
    /// Output number `i` (in the order the model was prepared with) as a flat slice.
    pub fn get(&self, i: usize) -> Result<&[f32], ModelError> {
        let name = self.names.get(i).ok_or_else(|| ModelError::Run(format!("no output number {i}")))?;
        self.get_named(name)
    }

    /// The output called `name` as a flat slice.
    pub fn get_named(&self, name: &str) -> Result<&[f32], ModelError> {
        let value = self.outputs.get(name).ok_or_else(|| ModelError::Run(format!("output {name} missing")))?;
        let (_, data) = value.try_extract_tensor::<f32>().map_err(|e| ModelError::Run(e.to_string()))?;
        Ok(data)
    }
}

/// Checks that `found` has each `expected` tensor (name, shape; -1 = any) as float32.
pub(super) fn check_outlets<'a>(
    kind: &str,
    found: &[ort::value::Outlet],
    expected: impl IntoIterator<Item = (&'a str, &'a [i64])>,
) -> Result<(), String> {
    for (name, shape) in expected {
        let Some(outlet) = found.iter().find(|o| o.name() == name) else {
            let names: Vec<&str> = found.iter().map(|o| o.name()).collect();
            return Err(format!("no {kind} named '{name}' (it has {names:?})"));
        };
        let ValueType::Tensor { ty, shape: dims, .. } = outlet.dtype() else {
            return Err(format!("{kind} '{name}' is not a tensor"));
        };
        if *ty != TensorElementType::Float32 {
            return Err(format!("{kind} '{name}' has element type {ty:?}, expected float32"));
        }
        let dims: &[i64] = dims;
        let ok = dims.len() == shape.len() && dims.iter().zip(shape).all(|(&d, &e)| e < 0 || d < 0 || d == e);
        if !ok {
            return Err(format!("{kind} '{name}' has shape {dims:?}, expected {shape:?}"));
        }
    }
    Ok(())
}

/// The (name, shape) of each tensor in `specs`.
pub(super) fn named(specs: &[TensorSpec]) -> impl Iterator<Item = (&str, &[i64])> {
    specs.iter().map(|s| (s.name, s.shape))
}

/// Name and shape of each of `outlets` that is a tensor (-1 for a dimension left open).
pub(super) fn outlet_shapes(outlets: &[ort::value::Outlet]) -> Vec<(String, Vec<i64>)> {
    outlets
        .iter()
        .filter_map(|o| match o.dtype() {
            ValueType::Tensor { shape, .. } => Some((o.name().to_string(), shape.to_vec())),
            _ => None,
        })
        .collect()
}
