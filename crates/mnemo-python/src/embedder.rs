//! The engine's text embedders, chosen by name: `hash`, `minilm` or
//! `vectors` (the caller's own), and `Embedder`, their Python face.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use mnemo_embed::{CallerVectors, HashEmbedder, MiniLm};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::error::{invalid, native};

/// MiniLM models loaded so far, by directory: each is loaded once per
/// process and shared by every namespace and `Embedder` that uses it.
fn loaded_models() -> &'static Mutex<HashMap<PathBuf, Arc<MiniLm>>> {
    static MODELS: OnceLock<Mutex<HashMap<PathBuf, Arc<MiniLm>>>> = OnceLock::new();
    MODELS.get_or_init(Default::default)
}

/// all-MiniLM-L6-v2 from `dir`, or from the first place mnemo looks
/// (`MNEMO_MODEL_DIR`, the pip cache `scripts/fetch-model` fills, ...).
fn minilm(dir: Option<&Path>) -> Result<Arc<MiniLm>, mnemo_embed::Error> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => mnemo_embed::model_dir::find()?,
    };
    let mut models = loaded_models().lock();
    if let Some(model) = models.get(&dir) {
        return Ok(model.clone());
    }
    let model = Arc::new(MiniLm::load(&dir)?);
    models.insert(dir, model.clone());
    Ok(model)
}

/// The embedder named `kind`: `hash`, `minilm` (from `model_dir` or the
/// default places) or `vectors` (the caller supplies every vector, of
/// `dimension` values). Loading a model is slow: call it without the GIL.
pub fn load(
    kind: &str,
    model_dir: Option<&Path>,
    dimension: Option<usize>,
) -> PyResult<Arc<dyn mnemo_embed::Embedder>> {
    let refuse_dimension = |kind: &str| {
        invalid(format!(
            "dimension: the {kind} embedder has a fixed dimension; give dimension only with \
             embedder=\"vectors\""
        ))
    };
    match kind {
        "hash" => {
            if dimension.is_some() {
                return Err(refuse_dimension(kind));
            }
            Ok(Arc::new(HashEmbedder::new()))
        }
        "minilm" => {
            if dimension.is_some() {
                return Err(refuse_dimension(kind));
            }
            minilm(model_dir)
                .map(|m| m as Arc<dyn mnemo_embed::Embedder>)
                .map_err(|e| native("invalid_request", format!("embedder: {e}"), 400))
        }
        "vectors" => {
            let dimension = dimension.ok_or_else(|| {
                invalid("dimension: embedder=\"vectors\" needs the vectors' dimension")
            })?;
            CallerVectors::new(dimension)
                .map(|c| Arc::new(c) as Arc<dyn mnemo_embed::Embedder>)
                .map_err(|e| invalid(e.to_string()))
        }
        other => Err(invalid(format!(
            "embedder: {other:?} is not one of \"hash\", \"minilm\", \"vectors\""
        ))),
    }
}

/// A text embedder of the engine, for Python code that wants vectors:
/// `Embedder("minilm").embed(["a sentence"])` answers the float32 bytes of
/// one unit-length row per text.
#[pyclass(frozen, module = "mnemo._native")]
pub struct Embedder {
    inner: Arc<dyn mnemo_embed::Embedder>,
}

#[pymethods]
impl Embedder {
    /// Loads the embedder `kind` (`hash` or `minilm`; `model_dir` for
    /// MiniLM, else the default places).
    #[new]
    #[pyo3(signature = (kind, model_dir=None))]
    fn new(py: Python<'_>, kind: &str, model_dir: Option<PathBuf>) -> PyResult<Self> {
        if kind == "vectors" {
            return Err(invalid(
                "embedder: \"vectors\" embeds nothing; its vectors come from the caller",
            ));
        }
        let inner = py.detach(|| load(kind, model_dir.as_deref(), None))?;
        Ok(Self { inner })
    }

    /// The embedder's stable id (e.g. `minilm-l6-v2`).
    #[getter]
    fn id(&self) -> String {
        self.inner.info().id.clone()
    }

    /// The length of its vectors.
    #[getter]
    fn dimension(&self) -> usize {
        self.inner.info().dimension
    }

    /// Embeds `texts`: `len(texts) × dimension` little-endian float32
    /// values, row-major (`numpy.frombuffer(b, "<f4").reshape(n, d)`).
    fn embed<'py>(&self, py: Python<'py>, texts: Vec<String>) -> PyResult<Bound<'py, PyBytes>> {
        let inner = self.inner.clone();
        let rows = py.detach(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            inner.embed_batch(&refs)
        });
        let rows = rows.map_err(|e| native("invalid_request", format!("embedder: {e}"), 400))?;
        let mut bytes = Vec::with_capacity(rows.len() * self.dimension() * 4);
        for row in &rows {
            for x in row {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        Ok(PyBytes::new(py, &bytes))
    }

    fn __repr__(&self) -> String {
        format!(
            "Embedder(id={:?}, dimension={})",
            self.inner.info().id,
            self.inner.info().dimension
        )
    }
}
