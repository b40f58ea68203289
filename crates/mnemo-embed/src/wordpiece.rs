//! [`WordPieces`]: all-MiniLM-L6-v2's tokeniser, as both MiniLM embedders
//! use it.
//!
//! BERT WordPiece tokenisation with the model's own `tokenizer.json`,
//! truncated at [`MAX_TOKENS`] tokens including `[CLS]` and `[SEP]`. Long
//! texts are cut before tokenising (see [`WordPieces::ids`]), so a megabyte
//! string costs little more than a short one.

use std::path::Path;

use tokenizers::{Tokenizer, TruncationParams};

use crate::Error;
use crate::model_dir::TOKENIZER_FILE;

/// Longest input in tokens, `[CLS]` and `[SEP]` included (the model's
/// `max_seq_length`); longer texts are truncated.
pub const MAX_TOKENS: usize = 256;
/// Bytes of a text tokenised at first; longer texts are cut at a white-space
/// boundary and the prefix doubled until it yields [`MAX_TOKENS`] tokens, so
/// a megabyte string costs little more than a short one.
const FIRST_PREFIX_BYTES: usize = 4096;

/// The model's WordPiece tokeniser, truncating at [`MAX_TOKENS`].
pub(crate) struct WordPieces {
    tokenizer: Tokenizer,
}

impl WordPieces {
    /// Loads `tokenizer.json` from the model directory `dir`.
    pub(crate) fn load(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(TOKENIZER_FILE);
        let corrupt = |reason: String| Error::ModelFile {
            path: path.clone(),
            reason,
        };
        let mut tokenizer = Tokenizer::from_file(&path).map_err(|e| corrupt(e.to_string()))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| corrupt(e.to_string()))?;
        tokenizer.with_padding(None);
        Ok(Self { tokenizer })
    }

    /// The token ids of `text` as the model sees them: `[CLS]`, at most
    /// `MAX_TOKENS - 2` WordPiece tokens, `[SEP]`.
    pub(crate) fn ids(&self, text: &str) -> Result<Vec<u32>, Error> {
        let mut end = FIRST_PREFIX_BYTES;
        loop {
            let (prefix, whole) = whitespace_prefix(text, end);
            let encoding = self
                .tokenizer
                .encode(prefix, true)
                .map_err(|e| Error::Inference {
                    reason: format!("tokenizer: {e}"),
                })?;
            // A prefix cut at white space tokenises exactly like the start of
            // the whole text, so a full-length encoding of it is the answer.
            if whole || encoding.len() >= MAX_TOKENS {
                return Ok(encoding.get_ids().to_vec());
            }
            end = end.saturating_mul(2);
        }
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends at white
/// space (or the whole text), and whether it is the whole text. With no
/// white space in the first `max` bytes, the prefix runs to the first white
/// space after them.
fn whitespace_prefix(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, true);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text[..end]
        .rfind(char::is_whitespace)
        .or_else(|| text[end..].find(char::is_whitespace).map(|i| end + i));
    match cut {
        Some(i) => (&text[..i], false),
        None => (text, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_end_at_white_space() {
        assert_eq!(whitespace_prefix("short", 10), ("short", true));
        assert_eq!(whitespace_prefix("aaa bbb ccc", 6), ("aaa", false));
        assert_eq!(whitespace_prefix("aaaaaaa bbb", 3), ("aaaaaaa", false));
        assert_eq!(whitespace_prefix("aaaaaaaaaa", 3), ("aaaaaaaaaa", true));
        assert_eq!(whitespace_prefix("éé é", 3), ("éé", false));
    }
}
