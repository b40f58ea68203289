//! Keyword search: the tokenizer and the BM25 index behind recall's keyword signal.
//!
//! - [`tokenize`](fn@tokenize) (and the reusable [`Tokenizer`]) turn text into terms: Unicode-aware
//!   splitting and lowercasing, English stop words dropped, Porter2 stemming. Documents
//!   and queries go through the same tokenizer, so a query matches what was indexed.
//! - [`TextIndex`] is an in-memory inverted index ranked by Okapi BM25: insert, replace
//!   and remove by memory id, top-k search with an optional allow-list of ids, "which
//!   query terms matched this memory" for explanations, and a versioned binary encoding
//!   for the engine's snapshots.
//!
//! Like every index after the log, the text index is derived state: the engine builds
//! it by folding events, rebuilds it by replaying the log, and saves it only to make
//! restarts fast.
//!
//! # Map
//!
//! Text flows down this list: a text becomes terms, terms become ids and postings,
//! postings are walked to score a query, and the whole index becomes bytes.
//!
//! | file            | holds                                                              |
//! |-----------------|--------------------------------------------------------------------|
//! | `tokenize.rs`   | [`Tokenizer`]: the scanning loop, lowercasing, the stem cache      |
//! | `stopwords.rs`  | [`STOP_WORDS`] and their compile-time lookup table                 |
//! | `porter2.rs`    | the Porter2 (Snowball English) stemmer                             |
//! | `dictionary.rs` | the term dictionary: term text to dense term id and back           |
//! | `bm25.rs`       | [`TextIndex`]: postings, insert, remove, compact, search           |
//! | `score.rs`      | a score's pieces: normalisation, cursors, galloping, hit ranking   |
//! | `codec.rs`      | [`TextIndex::encode`], [`TextIndex::decode`], [`TextDecodeError`]  |
//! | `model.rs`      | tests only: brute-force BM25 and random operations to compare with |
//!
//! # Why not tantivy
//!
//! tantivy was considered and rejected for the engine. It is a full search engine with
//! its own segment files, merge threads and storage directory; it is heavy for
//! `wasm32-unknown-unknown`, where there are no threads and no files, and its storage
//! would be a second source of truth beside the log. An own inverted index keeps
//! everything in memory, is derived from and rebuildable from the log, serialises into
//! the engine's snapshot with the rest of the state, and is small enough (a few short
//! files) to read in one sitting and tune for the engine's budget of about 2 µs per
//! remembered memory.
//!
//! ```
//! use mnemo::text::TextIndex;
//!
//! let mut index = TextIndex::new();
//! index.insert(1, "The deploy failed because the database migration timed out");
//! index.insert(2, "Lunch with Ana on Friday");
//! let hits = index.search("database migrations", 10, None);
//! assert_eq!(hits[0].id, 1);
//! assert_eq!(index.matched_terms("database migrations", 1), ["databas", "migrat"]);
//! ```

mod bm25;
mod codec;
mod dictionary;
#[cfg(test)]
mod model;
mod porter2;
mod score;
mod stopwords;
mod tokenize;

pub use bm25::{DEFAULT_B, DEFAULT_K1, MAX_QUERY_TERMS, TextHit, TextIndex};
pub use codec::TextDecodeError;
pub use stopwords::{STOP_WORDS, is_stop_word};
pub use tokenize::{MAX_TOKEN_BYTES, Tokenizer, tokenize};
