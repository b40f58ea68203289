//! `mnemo-vector`: vector search for the mnemo memory engine.
//!
//! - [`Hnsw`]: an HNSW graph (Malkov & Yashunin) with cosine, dot and L2
//!   metrics, parallel batch insertion, tombstone deletes with compaction,
//!   filtered search (predicate or `roaring` allow-list, exact when the
//!   filter is selective), optional SQ8 traversal with f32 re-ranking (the
//!   f32 rows kept in the index, or — [`Quantization::Sq8Compact`] — kept
//!   by the caller, so the index holds a quarter of the bytes), and
//!   allocation-free searches through a reusable [`SearchContext`].
//! - [`FlatIndex`]: exact search, for ground truth and small sets.
//! - [`kernels`]: the distance kernels (AVX-512F, AVX2+FMA, NEON,
//!   WebAssembly simd128, scalar), chosen at run time where the CPU varies.
//! - Both indices encode to a versioned, checksummed byte format
//!   ([`Hnsw::encode`], [`Hnsw::decode`]) whose decoder refuses damaged or
//!   inconsistent bytes with [`Error::Decode`].
//!
//! Bad input — a wrong dimension, NaN or infinite components, a zero vector
//! under cosine — is refused with a typed [`Error`] and changes nothing;
//! `k = 0` returns nothing. `k` beyond the index returns every vector that
//! passes from [`FlatIndex`] and from the exact paths of [`Hnsw`] (small
//! filters); a graph search returns the vectors it reaches, which can be
//! fewer (the neighbour selection can leave a node without incoming links,
//! most often under the dot product or with repeated vectors; the model
//! test `tests/hnsw_model.rs` measures it).
//!
//! ```
//! use mnemo_vector::{Hnsw, HnswParams, Metric};
//!
//! let mut index = Hnsw::new(3, Metric::Cosine, HnswParams::default())?;
//! index.insert(7, &[1.0, 0.0, 0.0])?;
//! index.insert(8, &[0.0, 1.0, 0.0])?;
//! let hits = index.search(&[0.9, 0.1, 0.0], 1)?;
//! assert_eq!(hits[0].id, 7);
//! # Ok::<(), mnemo_vector::Error>(())
//! ```
//!
//! The crate compiles for `wasm32-unknown-unknown` without its default
//! `parallel` feature.

mod codec;
mod error;
mod flat;
pub mod grow;
mod hnsw;
pub mod kernels;
mod metric;
mod search;
mod sq8;

pub use codec::FORMAT_VERSION;
pub use error::{Error, Result};
pub use flat::FlatIndex;
pub use hnsw::{
    Hnsw, HnswParams, MAX_SLOTS, Quantization, SQ8_TRAINING_ROWS, SearchParams, VectorSource,
};
pub use metric::Metric;
pub use roaring::RoaringTreemap;
pub use search::{Filter, Neighbor, SearchContext};
