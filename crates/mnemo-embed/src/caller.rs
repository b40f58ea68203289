//! [`CallerVectors`]: for namespaces whose every vector comes from the
//! caller's own embedding model.

use crate::{Embedder, EmbedderInfo, Error};

/// The embedder of a namespace that never embeds: the caller supplies the
/// vector of every memory and of every recall query (from any model of
/// its own, e.g. in Python), and this only fixes their dimension.
///
/// Its id is `caller-<dimension>`, so a namespace built from caller
/// vectors refuses to reopen with a text embedder, and the other way
/// round. Asking it to embed is an error naming the missing `vector`.
///
/// ```
/// use mnemo_embed::{CallerVectors, Embedder};
///
/// let caller = CallerVectors::new(384)?;
/// assert_eq!(caller.info().id, "caller-384");
/// assert!(caller.embed("no vector given").is_err());
/// # Ok::<(), mnemo_embed::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CallerVectors {
    info: EmbedderInfo,
}

/// The largest dimension accepted (a vector of more than 16,384 values is
/// far beyond any sentence embedding model's).
pub const MAX_CALLER_DIMENSION: usize = 16_384;

impl CallerVectors {
    /// Vectors of `dimension` values (1 to [`MAX_CALLER_DIMENSION`]).
    pub fn new(dimension: usize) -> Result<Self, Error> {
        if dimension == 0 || dimension > MAX_CALLER_DIMENSION {
            return Err(Error::Inference {
                reason: format!(
                    "dimension: {dimension} is not between 1 and {MAX_CALLER_DIMENSION}"
                ),
            });
        }
        Ok(Self {
            info: EmbedderInfo::new(format!("caller-{dimension}"), dimension),
        })
    }
}

impl Embedder for CallerVectors {
    fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Error> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        Err(Error::VectorRequired {
            dimension: self.info.dimension,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_embed_and_names_the_vector() {
        let caller = CallerVectors::new(3).expect("a valid dimension");
        let err = caller.embed_batch(&["text"]).expect_err("it never embeds");
        assert!(err.to_string().contains("vector"), "{err}");
        assert_eq!(caller.embed_batch(&[]).expect("nothing to embed").len(), 0);
    }

    #[test]
    fn refuses_impossible_dimensions() {
        assert!(CallerVectors::new(0).is_err());
        assert!(CallerVectors::new(MAX_CALLER_DIMENSION + 1).is_err());
        assert!(CallerVectors::new(MAX_CALLER_DIMENSION).is_ok());
    }
}
