//! Choosing the default embedder (the model where it is present, the hash
//! embedder only when the caller allows it), and loading the built-in
//! embedder a namespace records.

use crate::{Embedder, EmbedderInfo, Error, HashEmbedder};

/// The ids `MiniLm` and `MiniLmQ8` record (a loaded model's own id is
/// compared with the recorded one as well).
const MINILM: &str = "minilm-l6-v2";
const MINILM_Q8: &str = "minilm-l6-v2-q8";

/// Whether [`load_default`] may fall back to [`HashEmbedder`] when the model
/// is missing or this build has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Use the hash embedder when the model cannot be loaded.
    AllowHash,
    /// Return the model's error instead.
    Deny,
}

/// The best embedder available: `MiniLmQ8` (all-MiniLM-L6-v2 with int8
/// weights, from the model files `MiniLm` uses: the same retrieval quality
/// measured on LoCoMo, several times faster) when this build has the
/// `minilm` feature and the files load; otherwise [`HashEmbedder`] if
/// `fallback` allows it, else the error that says where the model was
/// looked for and how to fetch it.
pub fn load_default(fallback: Fallback) -> Result<Box<dyn Embedder>, Error> {
    match load_model() {
        Ok(model) => Ok(model),
        Err(_) if fallback == Fallback::AllowHash => Ok(Box::new(HashEmbedder::new())),
        Err(err) => Err(err),
    }
}

/// The built-in embedder whose id and dimension are `info` (a namespace's
/// recorded embedder): [`HashEmbedder`], `MiniLm` (`minilm-l6-v2`) or
/// `MiniLmQ8` (`minilm-l6-v2-q8`), the models loaded from their usual
/// places. `Ok(None)` for any other embedder (caller vectors, a custom
/// model); the model's error when its files do not load or this build has
/// no models.
pub fn load_recorded(info: &EmbedderInfo) -> Result<Option<Box<dyn Embedder>>, Error> {
    let hash = HashEmbedder::new();
    let loaded: Box<dyn Embedder> = if hash.info() == info {
        Box::new(hash)
    } else if let Some(model) = load_model_by_id(info)? {
        model
    } else {
        return Ok(None);
    };
    Ok((loaded.info() == info).then_some(loaded))
}

#[cfg(feature = "minilm")]
fn load_model() -> Result<Box<dyn Embedder>, Error> {
    Ok(Box::new(crate::MiniLmQ8::load_default()?))
}

#[cfg(not(feature = "minilm"))]
fn load_model() -> Result<Box<dyn Embedder>, Error> {
    Err(Error::ModelUnsupported)
}

#[cfg(feature = "minilm")]
fn load_model_by_id(info: &EmbedderInfo) -> Result<Option<Box<dyn Embedder>>, Error> {
    Ok(match info.id.as_str() {
        MINILM => Some(Box::new(crate::MiniLm::load_default()?)),
        MINILM_Q8 => Some(Box::new(crate::MiniLmQ8::load_default()?)),
        _ => None,
    })
}

#[cfg(not(feature = "minilm"))]
fn load_model_by_id(info: &EmbedderInfo) -> Result<Option<Box<dyn Embedder>>, Error> {
    match info.id.as_str() {
        MINILM | MINILM_Q8 => Err(Error::ModelUnsupported),
        _ => Ok(None),
    }
}
