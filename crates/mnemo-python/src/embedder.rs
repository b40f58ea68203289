//! The engine's text embedders, chosen by name: `hash`, `minilm`,
//! `minilm-q8` or `vectors` (the caller's own), and `Embedder`, their
//! Python face.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use mnemo_embed::{CallerVectors, Embedder as _, EmbedderInfo, HashEmbedder, MiniLm, MiniLmQ8};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::error::{invalid, native};

/// The two builds of all-MiniLM-L6-v2 (from the same model files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Model {
    /// `minilm`: f32 weights (`minilm-l6-v2`).
    F32,
    /// `minilm-q8`: int8 weights (`minilm-l6-v2-q8`).
    Q8,
}

/// Models loaded so far, by build and directory: each is loaded once per
/// process and shared by every namespace and `Embedder` that uses it.
type Loaded = Mutex<HashMap<(Model, PathBuf), Arc<dyn mnemo_embed::Embedder>>>;

fn loaded_models() -> &'static Loaded {
    static MODELS: OnceLock<Loaded> = OnceLock::new();
    MODELS.get_or_init(Default::default)
}

/// all-MiniLM-L6-v2 in build `model` from `dir`, or from the first place
/// mnemo looks (`MNEMO_MODEL_DIR`, the pip cache `scripts/fetch-model`
/// fills, ...).
fn minilm(
    model: Model,
    dir: Option<&Path>,
) -> Result<Arc<dyn mnemo_embed::Embedder>, mnemo_embed::Error> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => mnemo_embed::model_dir::find()?,
    };
    let mut models = loaded_models().lock();
    let key = (model, dir);
    if let Some(loaded) = models.get(&key) {
        return Ok(loaded.clone());
    }
    let loaded: Arc<dyn mnemo_embed::Embedder> = match model {
        Model::F32 => Arc::new(MiniLm::load(&key.1)?),
        Model::Q8 => Arc::new(MiniLmQ8::load(&key.1)?),
    };
    models.insert(key, loaded.clone());
    Ok(loaded)
}

/// The built-in embedder a stored namespace records (`info`), the models
/// from `model_dir` or the default places: what an engine opens such a
/// namespace with when its default embedder is another. `Ok(None)` for
/// caller vectors and unknown ids.
pub fn recorded(
    info: &EmbedderInfo,
    model_dir: Option<&Path>,
) -> Result<Option<Arc<dyn mnemo_embed::Embedder>>, mnemo_embed::Error> {
    let hash = HashEmbedder::new();
    let loaded: Arc<dyn mnemo_embed::Embedder> = if hash.info() == info {
        Arc::new(hash)
    } else {
        match info.id.as_str() {
            "minilm-l6-v2" => minilm(Model::F32, model_dir)?,
            "minilm-l6-v2-q8" => minilm(Model::Q8, model_dir)?,
            _ => return Ok(None),
        }
    };
    Ok((loaded.info() == info).then_some(loaded))
}

/// The embedder named `kind`: `hash`, `minilm` or `minilm-q8` (from `model_dir` or the
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
        "minilm" | "minilm-q8" => {
            if dimension.is_some() {
                return Err(refuse_dimension(kind));
            }
            let model = if kind == "minilm" {
                Model::F32
            } else {
                Model::Q8
            };
            minilm(model, model_dir)
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
            "embedder: {other:?} is not one of \"hash\", \"minilm\", \"minilm-q8\", \"vectors\""
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
    /// Loads the embedder `kind` (`hash`, `minilm` or `minilm-q8`;
    /// `model_dir` for MiniLM, else the default places).
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
