//! `mnemo-embed`: text embedders that run offline.
//!
//! Agents hand mnemo text, not vectors. This crate turns text into unit-length
//! `f32` vectors on the local machine, with no network and no paid API:
//!
//! - [`HashEmbedder`] needs no model at all: deterministic feature hashing of
//!   normalised words, word pairs and character n-grams. It is pure Rust,
//!   compiles for `wasm32-unknown-unknown`, and is the default when no model
//!   is present, so everything works on a fresh machine.
//! - `MiniLm` (feature `minilm`, native only) runs the
//!   sentence-transformers all-MiniLM-L6-v2 model with candle and the
//!   `tokenizers` crate from a local directory (see `model_dir` and the
//!   `scripts/fetch-model` script of the repository).
//! - `MiniLmQ8` (feature `minilm`, native only) runs the same model with
//!   int8 weights on the crate's own kernels (AVX2 when the CPU has it):
//!   several times faster than `MiniLm` on a small CPU, with vectors within
//!   cosine 0.99 of its, under its own id `minilm-l6-v2-q8`.
//!
//! - [`CallerVectors`] embeds nothing: for namespaces whose vectors all come
//!   from the caller's own model.
//!
//! Every embedder implements [`Embedder`] and describes itself with an
//! [`EmbedderInfo`] (a stable id and the dimension). A namespace records the
//! info it was built with and calls [`EmbedderInfo::ensure_same`] when it is
//! reopened, so vectors of different embedders are never mixed.
//!
//! ```
//! use mnemo_embed::{Embedder, HashEmbedder};
//!
//! let embedder = HashEmbedder::new();
//! let vectors = embedder.embed_batch(&["a cat sat on the mat", ""])?;
//! assert_eq!(vectors.len(), 2);
//! assert_eq!(vectors[0].len(), embedder.info().dimension);
//! let norm: f32 = vectors[0].iter().map(|x| x * x).sum::<f32>().sqrt();
//! assert!((norm - 1.0).abs() < 1e-5);
//! # Ok::<(), mnemo_embed::Error>(())
//! ```

mod caller;
mod choose;
mod error;
mod hash;
mod info;
#[cfg(feature = "minilm")]
mod int8_gemm;
#[cfg(feature = "minilm")]
mod minilm;
#[cfg(feature = "minilm")]
mod minilm_q8;
#[cfg(feature = "minilm")]
pub mod model_dir;
mod unit;
#[cfg(feature = "minilm")]
mod wordpiece;

pub use caller::{CallerVectors, MAX_CALLER_DIMENSION};
pub use choose::{Fallback, load_default, load_recorded};
pub use error::Error;
pub use hash::HashEmbedder;
pub use info::EmbedderInfo;
#[cfg(feature = "minilm")]
pub use minilm::MiniLm;
#[cfg(feature = "minilm")]
pub use minilm_q8::MiniLmQ8;
pub use unit::{cosine, l2_normalize};

/// A text embedder: turns texts into unit-length vectors of a fixed
/// dimension.
///
/// Implementations never panic on any input: empty, whitespace-only, exotic
/// Unicode and megabyte-long texts all get a vector (long inputs are
/// truncated; each embedder documents where).
pub trait Embedder: Send + Sync {
    /// Which embedder this is and the dimension of its vectors; a namespace
    /// stores this to refuse vectors of another embedder later.
    fn info(&self) -> &EmbedderInfo;

    /// Embeds every text of `texts`, in order: one L2-normalised vector of
    /// `self.info().dimension` values per text.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Error>;

    /// Embeds one text (a batch of one).
    fn embed(&self, text: &str) -> Result<Vec<f32>, Error> {
        let mut out = self.embed_batch(&[text])?;
        out.pop().ok_or_else(|| Error::Inference {
            reason: "the embedder returned no vector for a batch of one".to_owned(),
        })
    }
}
