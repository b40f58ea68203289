//! The errors of `mnemo-vector`.

use thiserror::Error;

/// Why a vector operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A vector's length is not the index's dimension.
    #[error("vector of dimension {got} given to an index of dimension {expected}")]
    DimensionMismatch {
        /// The index's dimension.
        expected: usize,
        /// The vector's length.
        got: usize,
    },
    /// A component is NaN or infinite.
    #[error("vector component {index} is {value}: components must be finite")]
    NonFinite {
        /// Position of the first bad component.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// An all-zero vector under the cosine metric, which has no direction.
    #[error("zero vector under the cosine metric (it has no direction)")]
    ZeroVector,
    /// `insert` of an id that is already present (use `update`).
    #[error("id {0} is already in the index (use update to replace its vector)")]
    DuplicateId(u64),
    /// An id that is not in the index.
    #[error("id {0} is not in the index")]
    NotFound(u64),
    /// Parameters out of range.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// The index is full (its slot count would pass `u32::MAX - 1`).
    #[error("the index holds its maximum of {0} slots (compact it or use another index)")]
    Full(usize),
    /// Bytes that are not a valid encoded index.
    #[error("not a valid encoded vector index: {0}")]
    Decode(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
