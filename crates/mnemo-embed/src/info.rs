//! [`EmbedderInfo`]: which embedder produced a vector, and its dimension.

use std::fmt;

use crate::Error;

/// The identity of an embedder: a stable id that changes whenever its
/// vectors would change (model, version, hashing scheme), and the dimension.
///
/// Namespaces store it beside their vectors and check it on reopening:
///
/// ```
/// use mnemo_embed::{Embedder, EmbedderInfo, HashEmbedder};
///
/// let stored = EmbedderInfo::new("minilm-l6-v2", 384);
/// let now = HashEmbedder::new();
/// let err = stored.ensure_same(now.info()).expect_err("a mismatch");
/// assert!(err.to_string().contains("minilm-l6-v2"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmbedderInfo {
    /// Stable id, e.g. `hash-v1` or `minilm-l6-v2`.
    pub id: String,
    /// Length of every vector.
    pub dimension: usize,
}

impl EmbedderInfo {
    /// An info from its parts.
    pub fn new(id: impl Into<String>, dimension: usize) -> Self {
        Self {
            id: id.into(),
            dimension,
        }
    }

    /// `Ok` if `found` is the same embedder with the same dimension as
    /// `self` (the one the data was built with), else [`Error::Mismatch`].
    pub fn ensure_same(&self, found: &EmbedderInfo) -> Result<(), Error> {
        if self == found {
            Ok(())
        } else {
            Err(Error::Mismatch {
                expected: self.clone(),
                found: found.clone(),
            })
        }
    }
}

impl fmt::Display for EmbedderInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "embedder {} (dimension {})", self.id, self.dimension)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_info_passes_and_other_dimension_fails() {
        let a = EmbedderInfo::new("hash-v1", 384);
        assert!(a.ensure_same(&a.clone()).is_ok());
        let b = EmbedderInfo::new("hash-v1", 256);
        let msg = a.ensure_same(&b).expect_err("a mismatch").to_string();
        assert!(
            msg.contains("dimension 384") && msg.contains("dimension 256"),
            "{msg}"
        );
    }
}
