//! Choosing the default embedder: the model where it is present, the hash
//! embedder only when the caller allows it.

use crate::{Embedder, Error, HashEmbedder};

/// Whether [`load_default`] may fall back to [`HashEmbedder`] when the model
/// is missing or this build has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Use the hash embedder when the model cannot be loaded.
    AllowHash,
    /// Return the model's error instead.
    Deny,
}

/// The best embedder available: `MiniLm` from its usual places (see
/// `model_dir`) when this build has the `minilm` feature and the files load;
/// otherwise [`HashEmbedder`] if `fallback` allows it, else the error that
/// says where the model was looked for and how to fetch it.
pub fn load_default(fallback: Fallback) -> Result<Box<dyn Embedder>, Error> {
    match load_model() {
        Ok(model) => Ok(model),
        Err(_) if fallback == Fallback::AllowHash => Ok(Box::new(HashEmbedder::new())),
        Err(err) => Err(err),
    }
}

#[cfg(feature = "minilm")]
fn load_model() -> Result<Box<dyn Embedder>, Error> {
    Ok(Box::new(crate::MiniLm::load_default()?))
}

#[cfg(not(feature = "minilm"))]
fn load_model() -> Result<Box<dyn Embedder>, Error> {
    Err(Error::ModelUnsupported)
}
