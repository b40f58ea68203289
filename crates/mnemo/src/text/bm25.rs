//! [`TextIndex`]: an in-memory inverted index ranked by Okapi BM25.
//!
//! # Scoring
//!
//! For a query with distinct terms `q` (after [tokenizing](super::tokenize)), a document
//! `d` of `len(d)` tokens scores
//!
//! ```text
//! score(d) = Σ_{t ∈ q ∩ d} idf(t) · tf(t,d) · (k1 + 1) / (tf(t,d) + k1 · (1 − b + b · len(d) / avglen))
//! idf(t)   = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
//! ```
//!
//! with `N` the number of documents in the index (empty ones included), `df(t)` the
//! number holding `t` and `avglen` their mean length: Lucene's BM25, whose idf stays
//! positive even for a term in every document. Repeated query terms count once. Hits
//! come best first; equal scores put the smaller id first.
//!
//! # Layout
//!
//! - Terms live in a dictionary of dense `u32` term ids: one string arena, and an
//!   open-addressing table probed by xxh3 hash whose 24-byte slots also hold the term's
//!   length and first 16 bytes, so most lookups read one cache line. No allocation per
//!   term, and a term id gives its text back (for [`TextIndex::matched_terms`] and
//!   encoding). Each term's posting list and statistics sit in one struct, so indexing
//!   a document costs about three cache misses per distinct term.
//! - Documents get dense `u32` slots in insertion order, never reused until compaction,
//!   so every posting list (`Vec<(slot, tf)>` per term, 8 bytes a posting) is sorted by
//!   slot just by appending. Per slot the index keeps the id, the length and the sorted
//!   distinct term ids (4 bytes each, in one arena) — what `remove` needs to update the
//!   document frequencies without the text.
//! - `remove` is a tombstone: the slot's length becomes a dead marker, its terms' `df`
//!   and the total length drop at once (so scores are exact immediately), and its
//!   postings stay until [compaction](TextIndex::compact), which runs by itself when
//!   dead slots outnumber live ones (and are at least 1024). Memory is therefore at most
//!   about twice that of the live documents, and compaction — linear in the index —
//!   costs amortised O(postings of one document) per removal. Replacing an id is a
//!   remove and an insert.
//!
//! # Search
//!
//! Document-at-a-time over the sorted posting lists with MaxScore (Turtle & Flood,
//! 1995): each term has an upper bound on its contribution (from its idf, largest tf
//! and shortest document); once the k-th best score exceeds the summed bounds of the
//! weakest terms, documents that hold only those terms are skipped and the weak lists
//! are only probed (galloping search) for documents found in the strong ones. A rare
//! term's list is short, so a rare-term query touches few postings; common-term
//! queries skip much of the weak lists once the top k fills. This needs no score array
//! the size of the collection (a dense accumulator would cost 4 MB of zeroing per query
//! at a million documents, or a `&mut self` scratch that concurrent readers cannot
//! share), and allocates only the query's cursors and a heap of k hits. An allow-list
//! much smaller than the postings to walk is scored directly instead (each allowed
//! id's slot is looked up and the query's lists are binary-searched); a mid-sized one
//! becomes a bitmap of slots for the walk. Scores are summed in a fixed term order, so
//! they do not depend on pruning and are bit-identical after an
//! [encode](TextIndex::encode)/[decode](TextIndex::decode) round trip.
//!
//! # Measured
//!
//! Release mode, the project's shared 2-vCPU machine (AMD EPYC), one million documents
//! of English sentences from the Rust documentation corpus (258 bytes, 25 tokens each):
//! insert 3.5 µs a document including 1.65 µs of tokenizing (so about 2.7 µs per 200
//! bytes), 450 MB in all; top-10 search for two or three common words 0.05–0.2 ms, for
//! rare words 1–5 µs; encode 0.22 s (83 MB), decode 0.83 s; remove 0.3 µs. On
//! synthetic Zipf text whose query words are all among the ten most frequent, top-10
//! search takes 1.5–4.5 ms. Timings on this machine vary by ±30% between runs.
//!
//! # Limits
//!
//! At most `u32::MAX - 1` document slots, `u32::MAX - 1` terms, 4 GiB of term text and
//! `2^32 - 1` stored (document, term) pairs; an insert past them (tens of gigabytes of
//! index, unreachable on `wasm32`) is ignored. Queries use at most
//! [`MAX_QUERY_TERMS`] distinct terms, the rarest ones. The term hash is unseeded xxh3:
//! crafted colliding terms can slow the dictionary down, not corrupt it.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hasher};

use roaring::RoaringTreemap;
use thiserror::Error;
use xxhash_rust::xxh3::xxh3_64;

use super::tokenize::{MAX_TOKEN_BYTES, Tokenizer};

/// BM25's term-frequency saturation `k1` used by [`TextIndex::new`].
pub const DEFAULT_K1: f32 = 1.2;
/// BM25's length normalisation `b` used by [`TextIndex::new`].
pub const DEFAULT_B: f32 = 0.75;
/// The most distinct terms a query uses; longer queries keep their rarest terms (the
/// common ones add little to BM25 and would cost the most to walk).
pub const MAX_QUERY_TERMS: usize = 64;
/// Largest `k1` accepted; beyond it `tf` no longer saturates and f32 sums lose meaning.
const MAX_K1: f32 = 1000.0;

/// Marks a removed slot in `doc_len`.
const DEAD: u32 = u32::MAX;
/// Document lengths saturate here so they never collide with [`DEAD`].
const MAX_DOC_LEN: u32 = u32::MAX - 1;
/// Slots are `0..MAX_SLOTS`, so a slot never equals [`DEAD`] either.
const MAX_SLOTS: usize = (u32::MAX - 1) as usize;
/// Automatic compaction waits for at least this many dead slots, so small indices
/// under churn do not compact on every removal.
const COMPACT_MIN_DEAD: usize = 1024;
/// MaxScore's term bounds are raised by this factor, so f32 rounding of a real score
/// above its computed bound can never prune a document that belongs in the top k.
const BOUND_SLACK: f32 = 1.0 + 1e-4;

/// First bytes of an encoded index.
const MAGIC: [u8; 4] = *b"MNTX";
/// Version of the layout written by [`TextIndex::encode`].
const FORMAT_VERSION: u8 = 1;

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextHit {
    /// The memory id given to [`TextIndex::insert`].
    pub id: u64,
    /// The BM25 score (positive; larger is better).
    pub score: f32,
}

/// Why [`TextIndex::decode`] refused its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TextDecodeError {
    /// The bytes do not start with the text index's magic bytes.
    #[error("bad magic bytes: not an encoded text index")]
    BadMagic,
    /// A format version this build cannot read.
    #[error("format version {found} is not supported (this build reads {supported})")]
    UnsupportedVersion {
        /// The version in the bytes.
        found: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// The bytes end inside a field.
    #[error("truncated at byte {offset}, in the {field}")]
    Truncated {
        /// Byte offset where the field starts.
        offset: usize,
        /// Which field.
        field: &'static str,
    },
    /// A field holds a value that breaks the format's rules.
    #[error("invalid {field} at byte {offset}: {reason}")]
    Invalid {
        /// Byte offset of the field.
        offset: usize,
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Bytes follow the end of the index.
    #[error("{count} unexpected bytes after the end, at byte {offset}")]
    TrailingBytes {
        /// Where the index ended.
        offset: usize,
        /// How many bytes follow.
        count: usize,
    },
}

/// One entry of a posting list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Posting {
    slot: u32,
    tf: u32,
}

/// A term's postings and statistics, side by side so that indexing a document touches
/// one cache line per term. `max_tf` and `min_len` only feed MaxScore's upper bounds,
/// so they may be stale in the safe direction (not lowered/raised on removal).
#[derive(Debug, Clone)]
struct Term {
    /// Sorted by slot; dead slots stay until compaction.
    postings: Vec<Posting>,
    /// Live documents holding the term.
    df: u32,
    /// Largest tf seen in the term's postings.
    max_tf: u32,
    /// Shortest document length seen in the term's postings.
    min_len: u32,
}

impl Term {
    const EMPTY: Self = Self {
        postings: Vec::new(),
        df: 0,
        max_tf: 0,
        min_len: MAX_DOC_LEN,
    };
}

/// An in-memory BM25 inverted index over memory ids; see the [module docs](self).
///
/// ```
/// use mnemo::text::TextIndex;
///
/// let mut index = TextIndex::new();
/// index.insert(1, "Kubernetes pod crashed with OOMKilled");
/// index.insert(2, "The pod restarted after the crash");
/// index.insert(3, "Bought oat milk");
/// let hits = index.search("kubernetes crash", 10, None);
/// assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [1, 2]);
/// assert!(index.remove(1));
/// assert_eq!(index.search("kubernetes", 10, None), []);
/// ```
#[derive(Clone)]
pub struct TextIndex {
    k1: f32,
    b: f32,
    dict: TermDict,
    /// By term id.
    terms: Vec<Term>,
    /// By slot: the memory id (stale for dead slots).
    doc_id: Vec<u64>,
    /// By slot: the number of tokens, or [`DEAD`].
    doc_len: Vec<u32>,
    /// By slot: end of its term ids in `doc_terms` (start is the previous slot's end).
    doc_terms_end: Vec<u32>,
    /// Sorted distinct term ids of every slot, concatenated.
    doc_terms: Vec<u32>,
    /// Live ids to their slots.
    slot_of: HashMap<u64, u32, IdHashBuilder>,
    /// Sum of live documents' lengths.
    total_len: u64,
    /// Dead slots not yet compacted.
    dead: usize,
    tokenizer: Tokenizer,
    /// Reused by `insert`: the document's term ids, then its (term, tf) runs.
    scratch_tokens: Vec<u32>,
    scratch_runs: Vec<(u32, u32)>,
}

impl Default for TextIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextIndex")
            .field("k1", &self.k1)
            .field("b", &self.b)
            .field("documents", &self.len())
            .field("terms", &self.dict.len())
            .field("dead_slots", &self.dead)
            .finish_non_exhaustive()
    }
}

impl TextIndex {
    /// An empty index with `k1 = 1.2`, `b = 0.75`.
    pub fn new() -> Self {
        Self::with_params(DEFAULT_K1, DEFAULT_B)
    }

    /// An empty index with BM25 parameters `k1` (term-frequency saturation, clamped to
    /// `0..=1000`) and `b` (length normalisation, clamped to `0..=1`). A NaN takes the
    /// default.
    pub fn with_params(k1: f32, b: f32) -> Self {
        let k1 = if k1.is_nan() {
            DEFAULT_K1
        } else {
            k1.clamp(0.0, MAX_K1)
        };
        let b = if b.is_nan() {
            DEFAULT_B
        } else {
            b.clamp(0.0, 1.0)
        };
        Self {
            k1,
            b,
            dict: TermDict::default(),
            terms: Vec::new(),
            doc_id: Vec::new(),
            doc_len: Vec::new(),
            doc_terms_end: Vec::new(),
            doc_terms: Vec::new(),
            slot_of: HashMap::with_hasher(IdHashBuilder),
            total_len: 0,
            dead: 0,
            tokenizer: Tokenizer::new(),
            scratch_tokens: Vec::new(),
            scratch_runs: Vec::new(),
        }
    }

    /// The BM25 parameters `(k1, b)`.
    pub fn params(&self) -> (f32, f32) {
        (self.k1, self.b)
    }

    /// Number of documents (memory ids) in the index.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// Whether `id` is in the index (also when its text had no token).
    pub fn contains(&self, id: u64) -> bool {
        self.slot_of.contains_key(&id)
    }

    /// Number of distinct terms in the dictionary (including terms whose documents
    /// were all removed, until compaction).
    pub fn term_count(&self) -> usize {
        self.dict.len()
    }

    /// Indexes `text` under `id`, replacing what `id` had. A text without tokens still
    /// counts as a (empty) document.
    pub fn insert(&mut self, id: u64, text: &str) {
        self.remove(id);

        let mut tokens = std::mem::take(&mut self.scratch_tokens);
        tokens.clear();
        let dict = &mut self.dict;
        self.tokenizer.tokenize(text, |token| {
            if let Some(term) = dict.get_or_insert(token) {
                tokens.push(term);
            }
        });
        if self.terms.len() < self.dict.len() {
            self.terms.resize(self.dict.len(), Term::EMPTY);
        }
        // Sorting ~30 term ids and counting runs is cheaper than a per-document map,
        // and leaves the sorted term list that `remove` and `matched_terms` use.
        tokens.sort_unstable();
        let mut runs = std::mem::take(&mut self.scratch_runs);
        runs.clear();
        for &term in &tokens {
            match runs.last_mut() {
                Some((last, tf)) if *last == term => *tf = tf.saturating_add(1),
                _ => runs.push((term, 1)),
            }
        }
        self.add_document(id, &runs);
        self.scratch_tokens = tokens;
        self.scratch_runs = runs;
    }

    /// Appends a document with its (term, tf) runs, sorted by term, in a new slot.
    fn add_document(&mut self, id: u64, runs: &[(u32, u32)]) {
        if self.doc_len.len() >= MAX_SLOTS || self.doc_terms.len() + runs.len() > u32::MAX as usize
        {
            self.compact();
            if self.doc_len.len() >= MAX_SLOTS
                || self.doc_terms.len() + runs.len() > u32::MAX as usize
            {
                return; // See "Limits" in the module docs.
            }
        }
        let len = doc_len_of(runs.iter().map(|&(_, tf)| tf));
        // Fits: checked against MAX_SLOTS above.
        let slot = self.doc_len.len() as u32;
        for &(term, tf) in runs {
            let t = term as usize;
            let entry = &mut self.terms[t];
            entry.postings.push(Posting { slot, tf });
            entry.df += 1;
            entry.max_tf = entry.max_tf.max(tf);
            entry.min_len = entry.min_len.min(len);
            self.doc_terms.push(term);
        }
        // Fits: checked against u32::MAX above.
        self.doc_terms_end.push(self.doc_terms.len() as u32);
        self.doc_id.push(id);
        self.doc_len.push(len);
        self.slot_of.insert(id, slot);
        self.total_len += u64::from(len);
    }

    /// Removes `id`; returns whether it was there. Frees memory only at compaction.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(slot) = self.slot_of.remove(&id) else {
            return false;
        };
        let s = slot as usize;
        let len = std::mem::replace(&mut self.doc_len[s], DEAD);
        // Saturating: a decoded index is checked for consistency only in total.
        self.total_len = self.total_len.saturating_sub(u64::from(len));
        let (start, end) = self.terms_range(s);
        for &term in &self.doc_terms[start..end] {
            if let Some(entry) = self.terms.get_mut(term as usize) {
                entry.df = entry.df.saturating_sub(1);
            }
        }
        self.dead += 1;
        if self.dead >= COMPACT_MIN_DEAD && self.dead > self.slot_of.len() {
            self.compact();
        }
        true
    }

    /// The range of `doc_terms` holding slot `s`'s term ids.
    fn terms_range(&self, s: usize) -> (usize, usize) {
        let start = if s == 0 {
            0
        } else {
            self.doc_terms_end[s - 1] as usize
        };
        (start, self.doc_terms_end[s] as usize)
    }

    /// Drops removed documents' postings and slots and terms no document holds,
    /// renumbering slots and terms densely (order kept). Runs by itself when dead slots
    /// outnumber live ones; call it after a bulk removal to free memory at once.
    /// Linear in the index's size. Search results do not change.
    pub fn compact(&mut self) {
        if self.dead == 0 && self.terms.iter().all(|t| t.df > 0) {
            return;
        }
        // New term ids: terms still held by a live document, in old order.
        let mut term_map = vec![DEAD; self.dict.len()];
        let mut dict = TermDict::default();
        for (t, entry) in self.terms.iter().enumerate() {
            if entry.df > 0
                && let Ok(new) = dict.insert(self.dict.term(t as u32))
            {
                term_map[t] = new;
            }
        }
        // New slots: live slots in old order, so posting lists stay sorted.
        let mut slot_map = vec![DEAD; self.doc_len.len()];
        let mut doc_id = Vec::with_capacity(self.slot_of.len());
        let mut doc_len = Vec::with_capacity(self.slot_of.len());
        let mut doc_terms_end = Vec::with_capacity(self.slot_of.len());
        let mut doc_terms = Vec::with_capacity(self.doc_terms.len());
        for (s, (&len, &id)) in self.doc_len.iter().zip(&self.doc_id).enumerate() {
            if len == DEAD {
                continue;
            }
            slot_map[s] = doc_len.len() as u32;
            doc_id.push(id);
            doc_len.push(len);
            let (start, end) = self.terms_range(s);
            // A term no longer held (df 0) cannot be in a live document's list, unless
            // a decoded index lied about its pairs: drop it rather than keep DEAD.
            doc_terms.extend(
                self.doc_terms[start..end]
                    .iter()
                    .map(|&t| term_map[t as usize])
                    .filter(|&t| t != DEAD),
            );
            doc_terms_end.push(doc_terms.len() as u32);
        }
        let mut terms = Vec::with_capacity(dict.len());
        for (t, mut entry) in std::mem::take(&mut self.terms).into_iter().enumerate() {
            if term_map[t] == DEAD {
                continue;
            }
            let (mut max_tf, mut min_len) = (0, MAX_DOC_LEN);
            entry.postings.retain_mut(|p| {
                let new = slot_map[p.slot as usize];
                p.slot = new;
                if new != DEAD {
                    max_tf = max_tf.max(p.tf);
                    min_len = min_len.min(doc_len[new as usize]);
                }
                new != DEAD
            });
            if entry.postings.capacity() > 2 * entry.postings.len() {
                entry.postings.shrink_to_fit();
            }
            entry.df = entry.postings.len() as u32;
            entry.max_tf = max_tf;
            entry.min_len = min_len;
            terms.push(entry);
        }
        for slot in self.slot_of.values_mut() {
            *slot = slot_map[*slot as usize];
        }
        self.dict = dict;
        self.terms = terms;
        self.doc_id = doc_id;
        self.doc_len = doc_len;
        self.doc_terms_end = doc_terms_end;
        self.doc_terms = doc_terms;
        self.dead = 0;
    }

    /// Approximate heap bytes held by the index (capacities, not lengths; hash tables
    /// estimated). Walks the term list, so it costs O(terms).
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        let terms: usize = self
            .terms
            .iter()
            .map(|t| t.postings.capacity() * size_of::<Posting>())
            .sum::<usize>()
            + self.terms.capacity() * size_of::<Term>();
        // hashbrown: one control byte per bucket plus the entry.
        let slot_of = self.slot_of.capacity() * (size_of::<(u64, u32)>() + 1) * 8 / 7;
        self.dict.memory_bytes()
            + terms
            + self.doc_id.capacity() * size_of::<u64>()
            + self.doc_len.capacity() * size_of::<u32>()
            + self.doc_terms_end.capacity() * size_of::<u32>()
            + self.doc_terms.capacity() * size_of::<u32>()
            + slot_of
            + self.scratch_tokens.capacity() * size_of::<u32>()
            + self.scratch_runs.capacity() * size_of::<(u32, u32)>()
            + self.tokenizer.memory_bytes()
    }

    /// The distinct known term ids of `query`, in query order.
    fn query_terms(&self, query: &str) -> Vec<u32> {
        let mut terms = Vec::new();
        Tokenizer::new().tokenize(query, |token| {
            if let Some(term) = self.dict.get(token)
                && !terms.contains(&term)
            {
                terms.push(term);
            }
        });
        terms
    }

    /// The top `k` documents for `query` by BM25, best first (equal scores: smaller id
    /// first). Only documents holding at least one query term are returned, and with
    /// `allow` only those whose id it holds. An empty or stop-word-only query, or
    /// `k == 0`, gives nothing.
    pub fn search(&self, query: &str, k: usize, allow: Option<&RoaringTreemap>) -> Vec<TextHit> {
        let live = self.slot_of.len();
        if k == 0 || live == 0 {
            return Vec::new();
        }
        let mut terms = self.query_terms(query);
        terms.retain(|&t| self.terms[t as usize].df > 0);
        if terms.len() > MAX_QUERY_TERMS {
            terms.select_nth_unstable_by_key(MAX_QUERY_TERMS - 1, |&t| {
                (self.terms[t as usize].df, t)
            });
            terms.truncate(MAX_QUERY_TERMS);
        }
        if terms.is_empty() || self.total_len == 0 {
            return Vec::new();
        }
        // The fixed order in which scores are summed: common terms first (their bounds
        // are usually the lowest, which MaxScore wants first), then by term id.
        terms.sort_unstable_by_key(|&t| (std::cmp::Reverse(self.terms[t as usize].df), t));

        let n = live as f64;
        let (k1, b) = (f64::from(self.k1), f64::from(self.b));
        let avg_len = self.total_len as f64 / n;
        let norm = Norm {
            k1b1: (k1 * (1.0 - b)) as f32,
            kb: (k1 * b / avg_len) as f32,
        };
        let mut cursors: Vec<Cursor<'_>> = terms
            .iter()
            .map(|&t| {
                let entry = &self.terms[t as usize];
                let df = f64::from(entry.df);
                let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                let weight = (idf * (k1 + 1.0)) as f32;
                let bound = contribution(weight, entry.max_tf, norm.of(entry.min_len));
                Cursor {
                    list: &entry.postings,
                    pos: 0,
                    weight,
                    bound: bound * BOUND_SLACK,
                }
            })
            .collect();

        let mut top = TopK::new(k.min(live));
        // Three ways to honour an allow-list, by what they cost: scoring each allowed
        // id directly (a hash probe and a binary search per term: ~30 postings' worth
        // of walking per term, so only for a list far shorter than the postings);
        // walking the postings with the allowed slots in a bitmap (a hash probe per
        // allowed id up front, ~8 postings' worth, then excluded documents are
        // skipped unscored); or walking them with a `RoaringTreemap::contains` per
        // candidate that could enter the top k (few, once k allowed hits are found).
        let walk: u128 = cursors.iter().map(|c| c.list.len() as u128).sum();
        match allow {
            None => self.max_score(&mut cursors, norm, &Allow::All, &mut top),
            Some(allow) if u128::from(allow.len()) * (cursors.len() as u128) * 32 < walk => {
                self.score_allowed(&cursors, norm, allow, &mut top);
            }
            Some(allow) if u128::from(allow.len()) * 8 < walk => {
                let mut bits = vec![0u64; self.doc_len.len().div_ceil(64)];
                for id in allow.iter() {
                    if let Some(&slot) = self.slot_of.get(&id) {
                        bits[slot as usize / 64] |= 1 << (slot % 64);
                    }
                }
                self.max_score(&mut cursors, norm, &Allow::Slots(&bits), &mut top);
            }
            Some(allow) => self.max_score(&mut cursors, norm, &Allow::Ids(allow), &mut top),
        }
        top.into_hits()
    }

    /// Scores each allowed id directly.
    fn score_allowed(
        &self,
        cursors: &[Cursor<'_>],
        norm: Norm,
        allow: &RoaringTreemap,
        top: &mut TopK,
    ) {
        for id in allow.iter() {
            let Some(&slot) = self.slot_of.get(&id) else {
                continue;
            };
            let doc_norm = norm.of(self.doc_len[slot as usize]);
            let mut score = 0.0f32;
            let mut matched = false;
            for c in cursors {
                if let Ok(i) = c.list.binary_search_by_key(&slot, |p| p.slot) {
                    score += contribution(c.weight, c.list[i].tf, doc_norm);
                    matched = true;
                }
            }
            if matched {
                top.push(score, id);
            }
        }
    }

    /// Document-at-a-time MaxScore over `cursors` (in summation order).
    fn max_score(&self, cursors: &mut [Cursor<'_>], norm: Norm, allow: &Allow<'_>, top: &mut TopK) {
        // prefix[i]: the most that cursors[..=i] together can add to a score.
        let mut prefix = Vec::with_capacity(cursors.len());
        let mut sum = 0.0f32;
        for c in cursors.iter() {
            sum += c.bound;
            prefix.push(sum);
        }
        // cursors[..essential] are non-essential: a document found only in them
        // cannot reach the threshold, so only the others drive the walk.
        let mut essential = 0;
        let mut threshold = f32::NEG_INFINITY;
        loop {
            let mut slot = DEAD;
            for c in &cursors[essential..] {
                if let Some(p) = c.list.get(c.pos) {
                    slot = slot.min(p.slot);
                }
            }
            if slot == DEAD {
                break;
            }
            let len = self.doc_len[slot as usize];
            // Dead slots, and slots a bitmap filter excludes (a cheap test, so made
            // before scoring), are stepped over.
            if len == DEAD || !allow.allows_slot(slot) {
                for c in &mut cursors[essential..] {
                    if c.list.get(c.pos).is_some_and(|p| p.slot == slot) {
                        c.pos += 1;
                    }
                }
                continue;
            }
            let doc_norm = norm.of(len);
            let mut score = 0.0f32;
            for c in &mut cursors[essential..] {
                if let Some(p) = c.list.get(c.pos)
                    && p.slot == slot
                {
                    score += contribution(c.weight, p.tf, doc_norm);
                    c.pos += 1;
                }
            }
            let mut pruned = false;
            for i in (0..essential).rev() {
                if score + prefix[i] < threshold {
                    pruned = true;
                    break;
                }
                let c = &mut cursors[i];
                c.pos = gallop(c.list, c.pos, slot);
                if let Some(p) = c.list.get(c.pos)
                    && p.slot == slot
                {
                    score += contribution(c.weight, p.tf, doc_norm);
                    c.pos += 1;
                }
            }
            if pruned || score * BOUND_SLACK < threshold {
                continue;
            }
            // Re-sum in the fixed cursor order so the score does not depend on which
            // cursors were essential. A cursor just past `slot` matched it: cursors
            // only ever move past slots up to the current one.
            let mut exact = 0.0f32;
            for c in cursors.iter() {
                if let Some(p) = c.pos.checked_sub(1).and_then(|i| c.list.get(i))
                    && p.slot == slot
                {
                    exact += contribution(c.weight, p.tf, doc_norm);
                }
            }
            let id = self.doc_id[slot as usize];
            if top.admits(exact, id) && allow.allows(slot, id) {
                top.push(exact, id);
                let now = top.threshold();
                if now > threshold {
                    threshold = now;
                    while essential < cursors.len() && prefix[essential] < threshold {
                        essential += 1;
                    }
                }
            }
        }
    }

    /// The stemmed terms of `query` that occur in document `id`, in query order
    /// (repeats once), to explain a hit. Empty when `id` is not in the index.
    pub fn matched_terms(&self, query: &str, id: u64) -> Vec<String> {
        let Some(&slot) = self.slot_of.get(&id) else {
            return Vec::new();
        };
        let (start, end) = self.terms_range(slot as usize);
        let doc_terms = &self.doc_terms[start..end];
        self.query_terms(query)
            .into_iter()
            .filter(|t| doc_terms.binary_search(t).is_ok())
            .map(|t| self.dict.term(t).to_owned())
            .collect()
    }

    /// Calls `f(other_id, weight)` for each live document sharing a *rare*
    /// term with document `id`: a term at most `max_df` live documents hold
    /// (and at least two). The weight is `1 / (df - 1)` per shared term, so
    /// a term only two memories share links them most strongly; a document
    /// sharing two rare terms is reported twice. Terms in the document's
    /// order, postings in slot order, so the order is fixed.
    pub fn for_each_rare_neighbor(&self, id: u64, max_df: u32, mut f: impl FnMut(u64, f32)) {
        let Some(&slot) = self.slot_of.get(&id) else {
            return;
        };
        let (start, end) = self.terms_range(slot as usize);
        for &term in &self.doc_terms[start..end] {
            let Some(entry) = self.terms.get(term as usize) else {
                continue;
            };
            if entry.df < 2 || entry.df > max_df {
                continue;
            }
            let weight = 1.0 / (entry.df - 1) as f32;
            for p in &entry.postings {
                let s = p.slot as usize;
                if p.slot != slot && self.doc_len.get(s).is_some_and(|&l| l != DEAD) {
                    f(self.doc_id[s], weight);
                }
            }
        }
    }

    /// Appends the index to `out` in the layout below (version 1). Removed documents
    /// and unused terms are left out, slots and terms renumbered densely in order;
    /// [`decode`](Self::decode) gives an index with identical search results.
    ///
    /// ```text
    /// "MNTX"                  4 bytes, magic
    /// version                 u8 = 1
    /// k1, b                   f32 little-endian each
    /// T                       varint: number of terms
    /// T × term length         u8 each, 1..=64
    /// term text               the T terms' UTF-8 bytes, concatenated
    /// D                       varint: number of documents
    /// P                       varint: number of (document, term) pairs, Σ n = Σ df
    /// D × document            in slot order:
    ///     id                  varint (u64), distinct
    ///     length              varint: tokens in the document (the sum of its tfs)
    ///     n                   varint: number of distinct terms
    ///     n × term            varint: the first term id absolute, then the gap (≥ 1)
    ///                         to the previous one; all < T
    /// T × posting list        in term order:
    ///     df                  varint: number of documents holding the term, ≥ 1
    ///     df × (slot, tf)     varints: the first slot absolute, then the gap (≥ 1);
    ///                         all < D; tf ≥ 1 (u32)
    /// ```
    ///
    /// varint is unsigned LEB128 (7 bits a byte, low first, no overlong forms).
    /// Documents without terms are allowed, terms that no document holds are not.
    ///
    /// The (term, document) pairs are written twice, once per document and once per
    /// term, because the index keeps both and rebuilding one from the other is a
    /// transposition: random writes over arrays of hundreds of megabytes, several
    /// times slower than reading the bytes. So both encoding and decoding stream.
    /// `decode` checks that the two views hold the same pairs (per-term counts and an
    /// order-independent 64-bit hash of the pairs) and that the lengths add up to the
    /// tfs in total; the engine's checksum around the bytes guards the rest.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.k1.to_le_bytes());
        out.extend_from_slice(&self.b.to_le_bytes());

        // New term ids: terms some live document holds, in old order (monotone, so
        // each document's term list stays sorted).
        let mut term_map = vec![DEAD; self.dict.len()];
        let mut live_terms = Vec::new();
        for (t, entry) in self.terms.iter().enumerate() {
            if entry.df > 0 {
                term_map[t] = live_terms.len() as u32;
                live_terms.push(t as u32);
            }
        }
        put_varint(out, live_terms.len() as u64);
        for &t in &live_terms {
            // Terms come from the tokenizer or a validated decode: 1..=64 bytes.
            out.push(self.dict.term(t).len().min(MAX_TOKEN_BYTES) as u8);
        }
        for &t in &live_terms {
            out.extend_from_slice(self.dict.term(t).as_bytes());
        }

        put_varint(out, self.slot_of.len() as u64);
        let pairs: u64 = live_terms
            .iter()
            .map(|&t| u64::from(self.terms[t as usize].df))
            .sum();
        put_varint(out, pairs);
        let mut slot_map = vec![DEAD; self.doc_len.len()];
        let mut next = 0u32;
        for (s, (&len, &id)) in self.doc_len.iter().zip(&self.doc_id).enumerate() {
            if len == DEAD {
                continue;
            }
            slot_map[s] = next;
            next += 1;
            put_varint(out, id);
            put_varint(out, u64::from(len));
            let (start, end) = self.terms_range(s);
            put_varint(out, (end - start) as u64);
            let mut prev: Option<u32> = None;
            for &t in &self.doc_terms[start..end] {
                let new = term_map[t as usize];
                put_varint(out, u64::from(prev.map_or(new, |prev| new - prev)));
                prev = Some(new);
            }
        }
        for &t in &live_terms {
            let entry = &self.terms[t as usize];
            put_varint(out, u64::from(entry.df));
            let mut prev: Option<u32> = None;
            for p in &entry.postings {
                let slot = slot_map[p.slot as usize];
                if slot == DEAD {
                    continue;
                }
                put_varint(out, u64::from(prev.map_or(slot, |prev| slot - prev)));
                put_varint(out, u64::from(p.tf));
                prev = Some(slot);
            }
        }
    }

    /// Reads an index written by [`encode`](Self::encode). Any bytes that break the
    /// layout give an error, never a panic; allocations are bounded by the input's
    /// length.
    pub fn decode(bytes: &[u8]) -> Result<TextIndex, TextDecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(MAGIC.len(), "magic").ok() != Some(&MAGIC[..]) {
            return Err(TextDecodeError::BadMagic);
        }
        let version = r.u8("version")?;
        if version != FORMAT_VERSION {
            return Err(TextDecodeError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let k1 = r.f32("k1")?;
        if !(0.0..=MAX_K1).contains(&k1) {
            return Err(r.invalid(4, "k1", "must be within 0..=1000"));
        }
        let b = r.f32("b")?;
        if !(0.0..=1.0).contains(&b) {
            return Err(r.invalid(4, "b", "must be within 0..=1"));
        }
        let mut index = TextIndex::with_params(k1, b);

        // Every term takes a length byte, a text byte and a df byte.
        let term_count = r.count("term count", 3, u32::MAX as usize - 1)?;
        let lens_at = r.pos;
        let lens = r.take(term_count, "term lengths")?;
        let mut text_len = 0usize;
        for (i, &len) in lens.iter().enumerate() {
            if len == 0 || usize::from(len) > MAX_TOKEN_BYTES {
                return Err(TextDecodeError::Invalid {
                    offset: lens_at + i,
                    field: "term length",
                    reason: "must be within 1..=64",
                });
            }
            text_len += usize::from(len);
        }
        let text_at = r.pos;
        let text = r.take(text_len, "term text")?;
        let text =
            std::str::from_utf8(text).map_err(|_| r.invalid(text_len, "term text", "not UTF-8"))?;
        index.dict.reserve(term_count, text_len);
        let mut at = 0;
        for &len in lens {
            let end = at + usize::from(len);
            let term = text.get(at..end).ok_or(TextDecodeError::Invalid {
                offset: text_at + at,
                field: "term text",
                reason: "term boundary inside a character",
            })?;
            if let Err(existing) = index.dict.insert(term) {
                return Err(TextDecodeError::Invalid {
                    offset: text_at + at,
                    field: "term text",
                    reason: if existing.is_some() {
                        "duplicate term"
                    } else {
                        "too many terms"
                    },
                });
            }
            at = end;
        }

        // Documents: id, length, term list. Each takes at least three bytes.
        let doc_count = r.count("document count", 3, MAX_SLOTS)?;
        // Every pair takes a byte in its document and two in its posting list.
        let pair_count = r.count("pair count", 3, u32::MAX as usize)?;
        index.doc_terms.reserve_exact(pair_count);
        index.doc_id.reserve_exact(doc_count);
        index.doc_len.reserve_exact(doc_count);
        index.doc_terms_end.reserve_exact(doc_count);
        index.slot_of.reserve(doc_count);
        // By term: (documents listing it, shortest such document). Gathered here, in
        // document order, where each document's length is at hand; reading lengths by
        // slot from the posting lists instead would be a random read per posting.
        let mut df = vec![(0u32, MAX_DOC_LEN); term_count];
        let mut pairs_by_doc = 0u64;
        let mut saturated = false;
        for slot in 0..doc_count as u32 {
            let at = r.pos;
            let id = r.varint("document id")?;
            if index.slot_of.insert(id, slot).is_some() {
                return Err(TextDecodeError::Invalid {
                    offset: at,
                    field: "document id",
                    reason: "duplicate id",
                });
            }
            index.doc_id.push(id);
            let len = r.varint_u32("document length")?;
            if len > MAX_DOC_LEN {
                return Err(r.invalid(1, "document length", "too large"));
            }
            saturated |= len == MAX_DOC_LEN;
            index.doc_len.push(len);
            index.total_len += u64::from(len);
            let n = r.count("document term count", 1, term_count)?;
            let mut prev: Option<u32> = None;
            for _ in 0..n {
                let term = r.ascending("document term", prev, term_count)?;
                index.doc_terms.push(term);
                let (count, min_len) = &mut df[term as usize];
                *count += 1;
                *min_len = (*min_len).min(len);
                pairs_by_doc = pairs_by_doc.wrapping_add(pair_hash(term, slot));
                prev = Some(term);
            }
            if index.doc_terms.len() > pair_count {
                return Err(r.invalid(1, "document term count", "more pairs than announced"));
            }
            index.doc_terms_end.push(index.doc_terms.len() as u32);
        }

        if index.doc_terms.len() != pair_count {
            return Err(TextDecodeError::Invalid {
                offset: r.pos,
                field: "pair count",
                reason: "not the number of pairs in the documents",
            });
        }

        // Posting lists, each allocated at its final size and filled in slot order.
        index.terms.reserve_exact(term_count);
        let mut pairs_by_term = 0u64;
        let mut tf_total = 0u64;
        for (t, &(doc_df, min_len)) in df.iter().enumerate() {
            let at = r.pos;
            // Every posting takes at least two bytes.
            let list_len = r.count("document frequency", 2, doc_count)?;
            if list_len == 0 || list_len != doc_df as usize {
                return Err(TextDecodeError::Invalid {
                    offset: at,
                    field: "document frequency",
                    reason: "zero, or not the number of documents listing the term",
                });
            }
            let mut entry = Term {
                postings: Vec::with_capacity(list_len),
                df: doc_df,
                max_tf: 0,
                min_len,
            };
            let mut prev: Option<u32> = None;
            for _ in 0..list_len {
                let slot = r.ascending("posting slot", prev, doc_count)?;
                let tf = r.varint_u32("term frequency")?;
                if tf == 0 {
                    return Err(r.invalid(1, "term frequency", "must be at least 1"));
                }
                entry.postings.push(Posting { slot, tf });
                entry.max_tf = entry.max_tf.max(tf);
                pairs_by_term = pairs_by_term.wrapping_add(pair_hash(t as u32, slot));
                tf_total += u64::from(tf);
                prev = Some(slot);
            }
            index.terms.push(entry);
        }
        r.finish()?;
        if pairs_by_term != pairs_by_doc {
            return Err(TextDecodeError::Invalid {
                offset: lens_at,
                field: "posting lists",
                reason: "they disagree with the documents' term lists",
            });
        }
        if !saturated && tf_total != index.total_len {
            return Err(TextDecodeError::Invalid {
                offset: lens_at,
                field: "document length",
                reason: "the lengths do not add up to the term frequencies",
            });
        }
        Ok(index)
    }
}

/// A 64-bit mix of a (term, slot) pair; summed over all pairs it fingerprints the set
/// independently of order (SplitMix64's finaliser).
fn pair_hash(term: u32, slot: u32) -> u64 {
    let mut x = (u64::from(term) << 32) | u64::from(slot);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A document's length from its tfs, saturating below [`DEAD`].
fn doc_len_of(tfs: impl Iterator<Item = u32>) -> u32 {
    tfs.fold(0u32, |len, tf| len.saturating_add(tf))
        .min(MAX_DOC_LEN)
}

/// BM25's length normalisation, `k1 · (1 − b + b · len / avglen)`, precomputed per query.
#[derive(Debug, Clone, Copy)]
struct Norm {
    k1b1: f32,
    kb: f32,
}

impl Norm {
    fn of(self, len: u32) -> f32 {
        self.k1b1 + self.kb * len as f32
    }
}

/// One term's share of a score; `weight` is `idf · (k1 + 1)`.
fn contribution(weight: f32, tf: u32, norm: f32) -> f32 {
    let tf = tf as f32;
    weight * tf / (tf + norm)
}

/// Which documents a walk may return.
enum Allow<'a> {
    All,
    /// A bit per slot.
    Slots(&'a [u64]),
    Ids(&'a RoaringTreemap),
}

impl Allow<'_> {
    /// The cheap part of [`allows`](Self::allows): false only if `slot` is surely
    /// excluded.
    fn allows_slot(&self, slot: u32) -> bool {
        match self {
            Allow::Slots(bits) => bits
                .get(slot as usize / 64)
                .is_some_and(|word| word & (1 << (slot % 64)) != 0),
            Allow::All | Allow::Ids(_) => true,
        }
    }

    fn allows(&self, slot: u32, id: u64) -> bool {
        match self {
            Allow::All => true,
            Allow::Slots(bits) => bits
                .get(slot as usize / 64)
                .is_some_and(|word| word & (1 << (slot % 64)) != 0),
            Allow::Ids(ids) => ids.contains(id),
        }
    }
}

/// A query term's walk over its posting list.
struct Cursor<'a> {
    list: &'a [Posting],
    pos: usize,
    weight: f32,
    bound: f32,
}

/// The first index at or after `from` whose slot is at least `slot`: exponential then
/// binary search, so skipping far costs O(log distance).
fn gallop(list: &[Posting], from: usize, slot: u32) -> usize {
    let mut lo = from;
    let mut hi = from;
    let mut step = 1;
    loop {
        match list.get(hi) {
            None => {
                hi = list.len();
                break;
            }
            Some(p) if p.slot >= slot => break,
            Some(_) => {
                lo = hi + 1;
                hi += step;
                step *= 2;
            }
        }
    }
    match list.get(lo..hi) {
        Some(window) => lo + window.partition_point(|p| p.slot < slot),
        None => hi,
    }
}

/// A hit in the bounded heap. Ordered so that the *worse* hit is greater: the heap's
/// top is the worst hit kept, and an ascending sort lists the best first.
#[derive(Debug, Clone, Copy)]
struct Ranked {
    score: f32,
    id: u64,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

/// The best `k` hits seen so far.
struct TopK {
    k: usize,
    heap: BinaryHeap<Ranked>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k),
        }
    }

    /// The score a hit must reach to enter (−∞ until k hits are kept).
    fn threshold(&self) -> f32 {
        match self.heap.peek() {
            Some(worst) if self.heap.len() >= self.k => worst.score,
            _ => f32::NEG_INFINITY,
        }
    }

    fn admits(&self, score: f32, id: u64) -> bool {
        self.heap.len() < self.k || self.heap.peek().is_some_and(|w| Ranked { score, id } < *w)
    }

    fn push(&mut self, score: f32, id: u64) {
        let hit = Ranked { score, id };
        if self.heap.len() < self.k {
            self.heap.push(hit);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && hit < *worst
        {
            *worst = hit;
        }
    }

    fn into_hits(self) -> Vec<TextHit> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| TextHit {
                id: r.id,
                score: r.score,
            })
            .collect()
    }
}

/// The term dictionary: term text in one arena, dense ids, an open-addressing table.
#[derive(Debug, Clone, Default)]
struct TermDict {
    /// All terms' text, concatenated.
    text: String,
    /// By term id: end offset in `text`.
    ends: Vec<u32>,
    /// Linear probing; length 0 or a power of two, at most half full.
    table: Vec<DictSlot>,
}

/// One slot of the dictionary's table. Nearly all terms are at most 16 bytes, and for
/// them the slot alone settles a lookup — one cache line, no visit to the text arena.
#[derive(Debug, Clone, Copy, Default)]
struct DictSlot {
    /// Low hash bits above 7, and the term's length (1..=64) in the low 7 bits.
    tag: u32,
    /// Term id + 1; 0 marks an empty slot.
    entry: u32,
    /// The term's first 16 bytes, zero padded.
    head: [u64; 2],
}

/// Terms up to this many bytes are compared through [`DictSlot::head`] alone.
const HEAD_BYTES: usize = 16;

/// A term's hash (probe start) and its [`DictSlot`] tag and head.
#[derive(Debug, Clone, Copy)]
struct TermKey {
    hash: u64,
    tag: u32,
    head: [u64; 2],
}

impl TermKey {
    fn of(term: &str) -> Self {
        let bytes = term.as_bytes();
        let hash = xxh3_64(bytes);
        let mut head = [0u64; 2];
        for (i, &b) in bytes.iter().take(HEAD_BYTES).enumerate() {
            head[i / 8] |= u64::from(b) << (8 * (i % 8));
        }
        // Terms hold at most 64 bytes (MAX_TOKEN_BYTES), so the length fits 7 bits.
        let tag = (hash as u32 & !0x7F) | (bytes.len() as u32 & 0x7F);
        Self { hash, tag, head }
    }
}

impl TermDict {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn term(&self, id: u32) -> &str {
        let i = id as usize;
        let start = match i.checked_sub(1) {
            Some(prev) => self.ends.get(prev).copied().unwrap_or(0) as usize,
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        self.text.get(start..end).unwrap_or("")
    }

    /// The id of `term`, or the empty table position where it would go. The table
    /// must not be empty.
    fn find(&self, term: &str, key: TermKey) -> Result<u32, usize> {
        let mask = self.table.len() - 1;
        let mut i = (key.hash >> 32) as usize & mask;
        loop {
            let slot = self.table[i];
            if slot.entry == 0 {
                return Err(i);
            }
            if slot.tag == key.tag
                && slot.head == key.head
                && (term.len() <= HEAD_BYTES || self.term(slot.entry - 1) == term)
            {
                return Ok(slot.entry - 1);
            }
            i = (i + 1) & mask;
        }
    }

    fn get(&self, term: &str) -> Option<u32> {
        if self.table.is_empty() || term.len() > MAX_TOKEN_BYTES {
            return None;
        }
        self.find(term, TermKey::of(term)).ok()
    }

    /// The id of `term`, added if new; `None` when the dictionary is full.
    fn get_or_insert(&mut self, term: &str) -> Option<u32> {
        match self.insert(term) {
            Ok(id) | Err(Some(id)) => Some(id),
            Err(None) => None,
        }
    }

    /// Adds `term` (1..=64 bytes): `Ok(new id)`, `Err(Some(existing id))`, or
    /// `Err(None)` when full or the term is too long or empty.
    fn insert(&mut self, term: &str) -> Result<u32, Option<u32>> {
        if term.is_empty() || term.len() > MAX_TOKEN_BYTES {
            return Err(None);
        }
        if (self.len() + 1) * 2 > self.table.len() {
            self.grow();
        }
        let key = TermKey::of(term);
        let at = match self.find(term, key) {
            Ok(id) => return Err(Some(id)),
            Err(at) => at,
        };
        let id = self.len();
        let end = self.text.len() + term.len();
        if id >= u32::MAX as usize - 1 || end > u32::MAX as usize {
            return Err(None);
        }
        self.text.push_str(term);
        self.ends.push(end as u32);
        self.table[at] = DictSlot {
            tag: key.tag,
            entry: id as u32 + 1,
            head: key.head,
        };
        Ok(id as u32)
    }

    fn reserve(&mut self, terms: usize, text_bytes: usize) {
        self.text.reserve_exact(text_bytes);
        self.ends.reserve_exact(terms);
        if (terms + 1) * 2 > self.table.len() {
            self.grow_to((terms + 1) * 2);
        }
    }

    fn grow(&mut self) {
        self.grow_to(self.table.len() * 2);
    }

    /// Rebuilds the table with at least `min_slots` slots, re-hashing the terms in id
    /// order (a sequential walk of the text arena).
    fn grow_to(&mut self, min_slots: usize) {
        let size = min_slots.max(64).next_power_of_two();
        let mut table = vec![DictSlot::default(); size];
        let mask = size - 1;
        for id in 0..self.len() as u32 {
            let key = TermKey::of(self.term(id));
            let mut i = (key.hash >> 32) as usize & mask;
            while table[i].entry != 0 {
                i = (i + 1) & mask;
            }
            table[i] = DictSlot {
                tag: key.tag,
                entry: id + 1,
                head: key.head,
            };
        }
        self.table = table;
    }

    fn memory_bytes(&self) -> usize {
        self.text.capacity()
            + 4 * self.ends.capacity()
            + std::mem::size_of::<DictSlot>() * self.table.capacity()
    }
}

/// Hashes memory ids for the id → slot map: one multiply-fold, since ids are integers
/// the caller assigns (usually sequential) and SipHash would be a tenth of the insert
/// budget.
#[derive(Debug, Clone, Copy, Default)]
struct IdHashBuilder;

impl BuildHasher for IdHashBuilder {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// The [`IdHashBuilder`]'s hasher.
#[derive(Debug, Clone, Copy, Default)]
struct IdHasher(u64);

impl IdHasher {
    fn mix(&mut self, x: u64) {
        let product = u128::from(self.0 ^ x) * 0x9E37_79B9_7F4A_7C15_u128;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.mix(xxh3_64(bytes));
    }

    fn write_u64(&mut self, x: u64) {
        self.mix(x);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Appends `x` as unsigned LEB128.
fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// A bounds-checked cursor over the encoded bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// An `Invalid` error for the field that ended `back` bytes ago.
    fn invalid(&self, back: usize, field: &'static str, reason: &'static str) -> TextDecodeError {
        TextDecodeError::Invalid {
            offset: self.pos.saturating_sub(back),
            field,
            reason,
        }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], TextDecodeError> {
        if n > self.remaining() {
            return Err(TextDecodeError::Truncated {
                offset: self.pos,
                field,
            });
        }
        let bytes = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, TextDecodeError> {
        Ok(self.take(1, field)?[0])
    }

    fn f32(&mut self, field: &'static str) -> Result<f32, TextDecodeError> {
        let bytes = self.take(4, field)?;
        Ok(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn varint(&mut self, field: &'static str) -> Result<u64, TextDecodeError> {
        let start = self.pos;
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.pos) else {
                return Err(TextDecodeError::Truncated {
                    offset: start,
                    field,
                });
            };
            self.pos += 1;
            let bits = u64::from(byte & 0x7F);
            if shift == 63 && bits > 1 {
                return Err(TextDecodeError::Invalid {
                    offset: start,
                    field,
                    reason: "varint overflows u64",
                });
            }
            x |= bits << shift;
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 {
                    return Err(TextDecodeError::Invalid {
                        offset: start,
                        field,
                        reason: "overlong varint",
                    });
                }
                return Ok(x);
            }
        }
        Err(TextDecodeError::Invalid {
            offset: start,
            field,
            reason: "varint longer than 10 bytes",
        })
    }

    fn varint_u32(&mut self, field: &'static str) -> Result<u32, TextDecodeError> {
        let start = self.pos;
        let x = self.varint(field)?;
        u32::try_from(x).map_err(|_| TextDecodeError::Invalid {
            offset: start,
            field,
            reason: "exceeds u32",
        })
    }

    /// A count of items that each take at least `min_bytes` bytes later on, checked
    /// against the remaining bytes (so it can size an allocation) and against `max`.
    fn count(
        &mut self,
        field: &'static str,
        min_bytes: usize,
        max: usize,
    ) -> Result<usize, TextDecodeError> {
        let start = self.pos;
        let x = self.varint(field)?;
        match usize::try_from(x) {
            Ok(n) if n <= max && n.saturating_mul(min_bytes) <= self.remaining() => Ok(n),
            _ => Err(TextDecodeError::Invalid {
                offset: start,
                field,
                reason: "larger than the bytes that follow can hold",
            }),
        }
    }

    /// A strictly ascending sequence's next value, below `limit`: the first absolute
    /// (`prev` is `None`), then a gap of at least 1.
    fn ascending(
        &mut self,
        field: &'static str,
        prev: Option<u32>,
        limit: usize,
    ) -> Result<u32, TextDecodeError> {
        let at = self.pos;
        let step = self.varint_u32(field)?;
        let value = match prev {
            None => Some(step),
            Some(_) if step == 0 => None,
            Some(prev) => prev.checked_add(step),
        };
        match value {
            Some(value) if (value as usize) < limit => Ok(value),
            _ => Err(TextDecodeError::Invalid {
                offset: at,
                field,
                reason: "not ascending, or out of range",
            }),
        }
    }

    fn finish(&self) -> Result<(), TextDecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(TextDecodeError::TrailingBytes {
                offset: self.pos,
                count,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn ids(hits: &[TextHit]) -> Vec<u64> {
        hits.iter().map(|h| h.id).collect()
    }

    fn round_trip(index: &TextIndex) -> TextIndex {
        let mut bytes = Vec::new();
        index.encode(&mut bytes);
        TextIndex::decode(&bytes).expect("decode")
    }

    /// BM25 from scratch over `(id, text)` documents: every matching id with its score,
    /// best first.
    fn brute_force(docs: &BTreeMap<u64, String>, query: &str, k1: f64, b: f64) -> Vec<(u64, f64)> {
        let tokenized: Vec<(u64, Vec<String>)> = docs
            .iter()
            .map(|(&id, text)| {
                let mut tokens = Vec::new();
                tokenize(text, |t| tokens.push(t.to_owned()));
                (id, tokens)
            })
            .collect();
        let n = tokenized.len() as f64;
        if n == 0.0 {
            return Vec::new();
        }
        let avg = tokenized.iter().map(|(_, t)| t.len()).sum::<usize>() as f64 / n;
        let mut terms: Vec<String> = Vec::new();
        tokenize(query, |t| {
            if !terms.iter().any(|x| x == t) {
                terms.push(t.to_owned());
            }
        });
        let mut out = Vec::new();
        for (id, tokens) in &tokenized {
            let mut score = 0.0;
            let mut matched = false;
            for term in &terms {
                let tf = tokens.iter().filter(|t| *t == term).count() as f64;
                if tf == 0.0 {
                    continue;
                }
                matched = true;
                let df = tokenized.iter().filter(|(_, t)| t.contains(term)).count() as f64;
                let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                let len = tokens.len() as f64;
                score += idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * len / avg));
            }
            if matched {
                out.push((*id, score));
            }
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// Checks `hits` against the model: scores within 1e-4 relative, the right
    /// number of hits, and the right ids except for ties at the k-th score.
    fn check_against_model(
        hits: &[TextHit],
        model: &[(u64, f64)],
        k: usize,
        allow: Option<&RoaringTreemap>,
    ) -> Result<(), TestCaseError> {
        let model: Vec<(u64, f64)> = model
            .iter()
            .copied()
            .filter(|(id, _)| allow.is_none_or(|a| a.contains(*id)))
            .collect();
        let scores: BTreeMap<u64, f64> = model.iter().copied().collect();
        prop_assert_eq!(
            hits.len(),
            model.len().min(k),
            "hits {:?} model {:?}",
            hits,
            model
        );
        for pair in hits.windows(2) {
            prop_assert!(pair[0].score >= pair[1].score);
        }
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-4 * a.abs().max(b.abs()).max(1e-9);
        for hit in hits {
            let Some(&expected) = scores.get(&hit.id) else {
                return Err(TestCaseError::fail(format!("{} is not a match", hit.id)));
            };
            prop_assert!(
                close(f64::from(hit.score), expected),
                "{} vs {}",
                hit.score,
                expected
            );
        }
        if let Some(last) = hits.last() {
            let kth = f64::from(last.score);
            for &(id, score) in &model {
                if score > kth && !close(score, kth) {
                    prop_assert!(hits.iter().any(|h| h.id == id), "missing {id} ({score})");
                }
            }
        }
        Ok(())
    }

    #[test]
    fn rare_term_outranks_common_terms() {
        let mut index = TextIndex::new();
        for i in 0..50 {
            index.insert(i, "meeting notes about the project schedule");
        }
        index.insert(100, "meeting about the zeppelin");
        let hits = index.search("meeting zeppelin", 3, None);
        assert_eq!(hits[0].id, 100);
        assert!(hits[0].score > 2.0 * hits[1].score);
    }

    #[test]
    fn shorter_document_wins_at_equal_tf() {
        let mut index = TextIndex::new();
        index.insert(
            1,
            "rust compiler error borrow checker lifetime generic trait impl macro",
        );
        index.insert(2, "rust lunch");
        index.insert(3, "python");
        let hits = index.search("rust", 10, None);
        assert_eq!(ids(&hits), [2, 1]);
        assert!(hits[0].score > hits[1].score);
    }

    #[test]
    fn equal_scores_put_smaller_ids_first() {
        let mut index = TextIndex::new();
        for id in [9, 3, 7, 1, 5] {
            index.insert(id, "same text here");
        }
        index.insert(2, "different words");
        assert_eq!(ids(&index.search("text", 3, None)), [1, 3, 5]);
        assert_eq!(ids(&index.search("text", 10, None)), [1, 3, 5, 7, 9]);
    }

    #[test]
    fn remove_then_search() {
        let mut index = TextIndex::new();
        index.insert(1, "alpha beta");
        index.insert(2, "beta gamma");
        assert!(index.remove(1));
        assert!(!index.remove(1));
        assert!(!index.contains(1));
        assert_eq!(index.len(), 1);
        assert_eq!(index.search("alpha", 10, None), []);
        assert_eq!(ids(&index.search("beta", 10, None)), [2]);
        assert_eq!(index.matched_terms("alpha beta", 1), Vec::<String>::new());
    }

    #[test]
    fn insert_replaces() {
        let mut index = TextIndex::new();
        index.insert(1, "old words");
        index.insert(1, "fresh content");
        assert_eq!(index.len(), 1);
        assert_eq!(index.search("old", 10, None), []);
        assert_eq!(ids(&index.search("fresh", 10, None)), [1]);
        let mut fresh = TextIndex::new();
        fresh.insert(1, "fresh content");
        assert_eq!(
            index.search("fresh content", 10, None),
            fresh.search("fresh content", 10, None)
        );
    }

    #[test]
    fn allow_filter_restricts_hits() {
        let mut index = TextIndex::new();
        for id in 0..200 {
            index.insert(
                id,
                if id % 2 == 0 {
                    "even number memory"
                } else {
                    "odd number memory"
                },
            );
        }
        let allow: RoaringTreemap = [3u64, 4, 150, 999].into_iter().collect();
        let hits = index.search("number", 10, Some(&allow));
        assert_eq!(ids(&hits), [3, 4, 150]);
        let wide: RoaringTreemap = (0..150u64).collect();
        let hits = index.search("odd", 5, Some(&wide));
        assert_eq!(ids(&hits), [1, 3, 5, 7, 9]);
        assert_eq!(index.search("number", 10, Some(&RoaringTreemap::new())), []);
    }

    #[test]
    fn stop_words_and_empty_queries_give_nothing() {
        let mut index = TextIndex::new();
        index.insert(1, "the cat sat on the mat");
        index.insert(2, "");
        assert!(index.contains(2));
        assert_eq!(index.search("the and of", 10, None), []);
        assert_eq!(index.search("", 10, None), []);
        assert_eq!(index.search("cat", 0, None), []);
        assert_eq!(index.search("unknownword", 10, None), []);
        assert_eq!(ids(&index.search("the cats", 10, None)), [1]);
    }

    #[test]
    fn repeated_query_terms_count_once() {
        let mut index = TextIndex::new();
        index.insert(1, "apple banana");
        index.insert(2, "banana cherry");
        let once = index.search("apple banana", 10, None);
        let repeated = index.search("apple apple APPLE banana apples", 10, None);
        assert_eq!(once, repeated);
    }

    #[test]
    fn unicode_terms() {
        let mut index = TextIndex::new();
        index.insert(1, "Die Straße ist lang");
        index.insert(2, "ÉCOLE normale");
        index.insert(3, "東京タワーに行く");
        index.insert(4, "strasse");
        assert_eq!(ids(&index.search("straße", 10, None)), [1]);
        assert_eq!(ids(&index.search("STRASSE", 10, None)), [4]);
        assert_eq!(ids(&index.search("école", 10, None)), [2]);
        assert_eq!(ids(&index.search("École ÉCOLE", 10, None)), [2]);
        assert_eq!(ids(&index.search("東京", 10, None)), [3]);
        assert_eq!(index.matched_terms("京都 タワー", 3), ["京", "タワー"]);
    }

    #[test]
    fn matched_terms_explains_hits() {
        let mut index = TextIndex::new();
        index.insert(7, "Connected the databases and ran migrations");
        assert_eq!(
            index.matched_terms("database connection failures", 7),
            ["databas", "connect"]
        );
        assert_eq!(index.matched_terms("the", 7), Vec::<String>::new());
        assert_eq!(index.matched_terms("database", 8), Vec::<String>::new());
    }

    #[test]
    fn compaction_keeps_results_and_frees_memory() {
        let mut index = TextIndex::new();
        for id in 0..3000u64 {
            index.insert(
                id,
                &format!(
                    "memory number {id} about topic{} and word{}",
                    id % 7,
                    id % 13
                ),
            );
        }
        let before = index.memory_bytes();
        for id in 0..2500u64 {
            index.remove(id);
        }
        assert_eq!(
            index.dead, 999,
            "automatic compaction ran at 1501 dead of 3000"
        );
        assert!(index.memory_bytes() < before);
        let mut fresh = TextIndex::new();
        for id in 2500..3000u64 {
            fresh.insert(
                id,
                &format!(
                    "memory number {id} about topic{} and word{}",
                    id % 7,
                    id % 13
                ),
            );
        }
        for query in ["memory topic3", "word5 2999", "number 2600"] {
            assert_eq!(
                index.search(query, 20, None),
                fresh.search(query, 20, None),
                "{query}"
            );
        }
        assert!(index.term_count() < 3100);
    }

    #[test]
    fn long_queries_keep_the_rarest_terms() {
        // Document j holds w0..wj, so df(wi) falls as i grows.
        let mut index = TextIndex::new();
        for j in 0..100u64 {
            let words: Vec<String> = (0..=j).map(|i| format!("w{i}")).collect();
            index.insert(j, &words.join(" "));
        }
        let all: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        let rarest = all[100 - MAX_QUERY_TERMS..].join(" ");
        assert_eq!(
            index.search(&all.join(" "), 10, None),
            index.search(&rarest, 10, None)
        );
        assert_ne!(
            index.search(&all.join(" "), 10, None),
            index.search(&all[..64].join(" "), 10, None)
        );
    }

    #[test]
    fn params_are_clamped() {
        assert_eq!(
            TextIndex::with_params(f32::NAN, 2.0).params(),
            (DEFAULT_K1, 1.0)
        );
        assert_eq!(TextIndex::with_params(-1.0, -1.0).params(), (0.0, 0.0));
        let mut index = TextIndex::with_params(0.0, 0.0);
        index.insert(1, "a b c word word");
        index.insert(2, "word");
        let hits = index.search("word", 10, None);
        assert_eq!(hits[0].score, hits[1].score, "k1 = 0 ignores tf");
    }

    #[test]
    fn encode_layout_is_stable() {
        let mut index = TextIndex::new();
        index.insert(5, "cat cat dog");
        index.insert(9, "dog");
        let mut bytes = Vec::new();
        index.encode(&mut bytes);
        let mut expected = b"MNTX\x01".to_vec();
        expected.extend_from_slice(&1.2f32.to_le_bytes());
        expected.extend_from_slice(&0.75f32.to_le_bytes());
        expected.extend_from_slice(&[2, 3, 3]); // two terms of 3 bytes
        expected.extend_from_slice(b"catdog");
        expected.extend_from_slice(&[2, 3]); // two documents, three pairs
        expected.extend_from_slice(&[5, 3, 2, 0, 1]); // id 5, length 3: cat, dog (gap 1)
        expected.extend_from_slice(&[9, 1, 1, 1]); // id 9, length 1: dog
        expected.extend_from_slice(&[1, 0, 2]); // cat: slot 0 tf 2
        expected.extend_from_slice(&[2, 0, 1, 1, 1]); // dog: slot 0 tf 1, slot 1 tf 1
        assert_eq!(bytes, expected);
        let decoded = TextIndex::decode(&bytes).expect("decode");
        assert_eq!(
            decoded.search("dog cat", 10, None),
            index.search("dog cat", 10, None)
        );
    }

    #[test]
    fn decode_rejects_bad_structure() {
        let mut index = TextIndex::new();
        index.insert(5, "cat cat dog");
        index.insert(9, "dog");
        let mut good = Vec::new();
        index.encode(&mut good);
        let patch = |at: usize, byte: u8| {
            let mut bytes = good.clone();
            bytes[at] = byte;
            TextIndex::decode(&bytes)
        };
        let invalid = |result: Result<TextIndex, TextDecodeError>| match result {
            Err(TextDecodeError::Invalid { field, reason, .. }) => (field, reason),
            other => panic!("expected Invalid, got {other:?}"),
        };
        assert!(matches!(
            TextIndex::decode(b"nope"),
            Err(TextDecodeError::BadMagic)
        ));
        assert!(matches!(
            patch(4, 2),
            Err(TextDecodeError::UnsupportedVersion { found: 2, .. })
        ));
        // Offsets: 13 term count, 14..16 lengths, 16..22 "catdog", 22 document count,
        // 23 pair count, 24..29 and 29..33 the documents (id, length, n, terms),
        // 33..36 cat's list (df, slot, tf), 36..41 dog's.
        let mut same_terms = good.clone();
        same_terms[19..22].copy_from_slice(b"cat");
        assert_eq!(
            invalid(TextIndex::decode(&same_terms)),
            ("term text", "duplicate term")
        );
        assert_eq!(invalid(patch(14, 0)).0, "term length");
        assert_eq!(invalid(patch(17, 0xFF)), ("term text", "not UTF-8"));
        assert_eq!(invalid(patch(12, 0x7F)).0, "b");
        assert_eq!(invalid(patch(29, 5)), ("document id", "duplicate id"));
        assert_eq!(invalid(patch(27, 2)).0, "document term");
        assert_eq!(invalid(patch(28, 0)).0, "document term");
        assert_eq!(invalid(patch(35, 0)).0, "term frequency");
        assert_eq!(invalid(patch(34, 2)).0, "posting slot");
        assert_eq!(invalid(patch(39, 0)).0, "posting slot");
        assert_eq!(invalid(patch(33, 2)).0, "document frequency");
        assert_eq!(invalid(patch(34, 1)).0, "posting lists");
        assert_eq!(invalid(patch(25, 4)).0, "document length");
        let mut unused = good[..22].to_vec();
        unused.extend_from_slice(&[1, 1, 5, 1, 1, 0, 1, 0, 1, 0]); // dog is in no document
        assert_eq!(invalid(patch(23, 2)).0, "document term count");
        assert_eq!(invalid(patch(23, 4)).0, "pair count");
        assert_eq!(invalid(TextIndex::decode(&unused)).0, "document frequency");
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            TextIndex::decode(&trailing),
            Err(TextDecodeError::TrailingBytes { count: 1, .. })
        ));
        // A huge count must be refused before anything is allocated for it.
        let mut huge = good[..13].to_vec();
        huge.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
        assert_eq!(invalid(TextIndex::decode(&huge)).0, "term count");
        let mut overlong = good[..13].to_vec();
        overlong.extend_from_slice(&[0x82, 0x00]);
        assert_eq!(
            invalid(TextIndex::decode(&overlong)),
            ("term count", "overlong varint")
        );
        for cut in 0..good.len() {
            assert!(TextIndex::decode(&good[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn empty_index_round_trips() {
        let index = TextIndex::new();
        let decoded = round_trip(&index);
        assert!(decoded.is_empty());
        assert_eq!(decoded.search("x", 1, None), []);
    }

    #[test]
    fn debug_is_a_summary() {
        let mut index = TextIndex::new();
        index.insert(1, "hello world");
        let text = format!("{index:?}");
        assert!(
            text.contains("documents: 1") && text.contains("terms: 2"),
            "{text}"
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64, String),
        Remove(u64),
        Compact,
    }

    const VOCAB: &[&str] = &[
        "memory", "memories", "agent", "database", "rust", "rusty", "graph", "vector", "alpha",
        "beta", "gamma", "zeta", "the", "and", "Straße", "ÉCOLE", "école", "東京", "42", "x",
    ];

    fn text() -> impl Strategy<Value = String> {
        // Skewed toward the first words so that some terms are common and some rare.
        prop::collection::vec((0usize..VOCAB.len(), 0usize..VOCAB.len()), 0..12).prop_map(|words| {
            words
                .into_iter()
                .map(|(a, b)| VOCAB[a.min(b)])
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(
            prop_oneof![
                6 => (0u64..24, text()).prop_map(|(id, t)| Op::Insert(id, t)),
                2 => (0u64..24).prop_map(Op::Remove),
                1 => Just(Op::Compact),
            ],
            0..60,
        )
    }

    fn query() -> impl Strategy<Value = String> {
        prop::collection::vec(0usize..VOCAB.len(), 1..5).prop_map(|w| {
            w.into_iter()
                .map(|i| VOCAB[i])
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    fn allow() -> impl Strategy<Value = Option<RoaringTreemap>> {
        prop::option::of(
            prop::collection::vec(0u64..24, 0..10).prop_map(|v| v.into_iter().collect()),
        )
    }

    fn apply(ops: &[Op], params: (f32, f32)) -> (TextIndex, BTreeMap<u64, String>) {
        let mut index = TextIndex::with_params(params.0, params.1);
        let mut model = BTreeMap::new();
        for op in ops {
            match op {
                Op::Insert(id, text) => {
                    index.insert(*id, text);
                    model.insert(*id, text.clone());
                }
                Op::Remove(id) => {
                    assert_eq!(index.remove(*id), model.remove(id).is_some());
                }
                Op::Compact => index.compact(),
            }
        }
        (index, model)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn search_matches_brute_force(
            ops in ops(),
            queries in prop::collection::vec((query(), 1usize..8, allow()), 1..6),
            params in prop_oneof![Just((1.2f32, 0.75f32)), (0.0f32..3.0, 0.0f32..=1.0)],
        ) {
            let (index, model) = apply(&ops, params);
            prop_assert_eq!(index.len(), model.len());
            for id in 0..24 {
                prop_assert_eq!(index.contains(id), model.contains_key(&id));
            }
            let (k1, b) = index.params();
            for (query, k, allow) in &queries {
                let hits = index.search(query, *k, allow.as_ref());
                let expected = brute_force(&model, query, f64::from(k1), f64::from(b));
                check_against_model(&hits, &expected, *k, allow.as_ref())?;
                for (id, text) in &model {
                    let mut doc = Vec::new();
                    tokenize(text, |t| doc.push(t.to_owned()));
                    let mut expected_terms = Vec::new();
                    tokenize(query, |t| {
                        if doc.iter().any(|d| d == t) && !expected_terms.iter().any(|e| e == t) {
                            expected_terms.push(t.to_owned());
                        }
                    });
                    prop_assert_eq!(index.matched_terms(query, *id), expected_terms);
                }
            }
        }

        /// Larger indices, so that all three ways of applying an allow-list (direct
        /// scoring, slot bitmap, per-candidate lookup) are taken.
        #[test]
        fn allow_lists_of_every_size_match_brute_force(
            texts in prop::collection::vec(text(), 150..400),
            removed in prop::collection::vec(0u64..400, 0..40),
            queries in prop::collection::vec(
                (query(), 1usize..12, prop_oneof![
                    prop::collection::vec(0u64..400, 1..4),
                    prop::collection::vec(0u64..400, 10..60),
                    prop::collection::vec(0u64..400, 150..400),
                ]),
                1..6,
            ),
        ) {
            let mut index = TextIndex::new();
            let mut model = BTreeMap::new();
            for (id, text) in texts.iter().enumerate() {
                index.insert(id as u64, text);
                model.insert(id as u64, text.clone());
            }
            for id in &removed {
                index.remove(*id);
                model.remove(id);
            }
            for (query, k, allow) in &queries {
                let allow: RoaringTreemap = allow.iter().copied().collect();
                let hits = index.search(query, *k, Some(&allow));
                let (k1, b) = (f64::from(DEFAULT_K1), f64::from(DEFAULT_B));
                let expected = brute_force(&model, query, k1, b);
                check_against_model(&hits, &expected, *k, Some(&allow))?;
            }
        }

        #[test]
        fn round_trip_gives_identical_results(
            ops in ops(),
            queries in prop::collection::vec((query(), 1usize..8, allow()), 1..6),
        ) {
            let (index, _) = apply(&ops, (DEFAULT_K1, DEFAULT_B));
            let decoded = round_trip(&index);
            prop_assert_eq!(decoded.len(), index.len());
            for (query, k, allow) in &queries {
                prop_assert_eq!(
                    decoded.search(query, *k, allow.as_ref()),
                    index.search(query, *k, allow.as_ref())
                );
                for id in 0..24 {
                    prop_assert_eq!(
                        decoded.matched_terms(query, id),
                        index.matched_terms(query, id)
                    );
                }
            }
            // Encoding is canonical: the decoded index encodes to the same bytes.
            let (mut a, mut b) = (Vec::new(), Vec::new());
            index.encode(&mut a);
            decoded.encode(&mut b);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn decode_of_arbitrary_bytes_never_panics(
            bytes in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let _ = TextIndex::decode(&bytes);
            let mut with_magic = b"MNTX\x01".to_vec();
            with_magic.extend_from_slice(&bytes);
            if let Ok(index) = TextIndex::decode(&with_magic) {
                let _ = index.search("memory agent", 5, None);
            }
        }

        #[test]
        fn damaged_encodings_never_panic(ops in ops()) {
            let (index, _) = apply(&ops, (DEFAULT_K1, DEFAULT_B));
            let mut good = Vec::new();
            index.encode(&mut good);
            for cut in 0..good.len() {
                prop_assert!(TextIndex::decode(&good[..cut]).is_err());
            }
            for at in 0..good.len() {
                for flip in [0x01u8, 0x80, 0xFF] {
                    let mut bad = good.clone();
                    bad[at] ^= flip;
                    if let Ok(decoded) = TextIndex::decode(&bad) {
                        // Structurally valid after all (e.g. another tf): it must work.
                        let _ = decoded.search("memory rust 42", 5, None);
                        let _ = decoded.matched_terms("memory", 3);
                        let mut again = Vec::new();
                        decoded.encode(&mut again);
                        prop_assert!(TextIndex::decode(&again).is_ok());
                    }
                }
            }
        }
    }
}
