//! [`TextIndex`]: an in-memory inverted index ranked by Okapi BM25.
//!
//! # Scoring
//!
//! For a query with distinct terms `q` (after [tokenizing](fn@super::tokenize)), a document
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
//! - Terms live in a [dictionary](super::dictionary) of dense `u32` term ids (one
//!   string arena and an open-addressing table; most lookups read one cache line, and
//!   a term id gives its text back for [`TextIndex::matched_terms`] and encoding).
//!   Each term's posting list and statistics sit in one struct, so indexing a document
//!   costs about three cache misses per distinct term.
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
//! Two walks over the sorted posting lists give identical hits and scores; which one
//! runs depends on how many postings the query's terms hold against the slots.
//!
//! - **Term at a time** (most queries: postings fewer than slots). Each list in turn
//!   adds its contributions to a per-slot score array, and the documents it touched
//!   compete for the top k, dismissed on their score alone while below the k-th best.
//!   The array is lent by a small pool ([`TextIndex`] keeps at most four, 4 bytes a
//!   slot each; concurrent searches beyond that allocate their own) and given back
//!   zeroed by resetting only the slots the search touched, so a search costs what it
//!   touches, not the collection's size. On natural-language queries of the Rust
//!   documentation corpus (13,000 postings a query over 100,000 sentences) this is 2.5
//!   times faster than MaxScore, whose pruning barely starts at a depth of 50 hits
//!   when most query terms are common.
//! - **MaxScore** (Turtle & Flood, 1995), document at a time, for queries of very
//!   common terms: each term has an upper bound on its contribution (from its idf,
//!   largest tf and shortest document); once the k-th best score exceeds the summed
//!   bounds of the weakest terms, documents that hold only those terms are skipped and
//!   the weak lists are only probed (galloping search) for documents found in the
//!   strong ones.
//!
//! An allow-list much smaller than the postings to walk is scored directly instead
//! (each allowed id's slot is looked up and the query's lists are binary-searched); a
//! mid-sized one becomes a bitmap of slots for the walk. Scores are summed in a fixed
//! term order, so they do not depend on the walk or on pruning and are bit-identical
//! after an [encode](TextIndex::encode)/[decode](TextIndex::decode) round trip (the
//! encoding lives in [`codec`](super::codec), the scoring pieces in
//! [`score`](super::score)). The top k are kept by the engine's [`TopK`] of [`Scored`]
//! hits (higher score first, then smaller id).
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
//! [`MAX_QUERY_TERMS`] distinct terms, the rarest ones. Crafted colliding terms can
//! slow the dictionary down, not corrupt it.
//!
//! # Invariants
//!
//! Posting lists are strictly increasing by slot, each slot's term ids strictly
//! increasing, term ids dense (one `Term` per dictionary entry), the per-slot arrays of
//! one length, and the total length the sum of the live lengths. Inserts and removals
//! check their part with `debug_assert!`s at O(1) cost; compaction, linear anyway,
//! checks them all (`invariant_violation`), as do the model tests.

use std::fmt;

use roaring::RoaringTreemap;

use super::dictionary::TermDict;
use super::score::{
    Allow, BOUND_SLACK, Cursor, Norm, contribution, gallop, into_hits, kth_score, set_bit,
    term_weight,
};
use super::tokenize::Tokenizer;
use crate::base::{IdMap, Scored, TopK};

/// BM25's term-frequency saturation `k1` used by [`TextIndex::new`].
pub const DEFAULT_K1: f32 = 1.2;
/// BM25's length normalisation `b` used by [`TextIndex::new`].
pub const DEFAULT_B: f32 = 0.75;
/// The most distinct terms a query uses; longer queries keep their rarest terms (the
/// common ones add little to BM25 and would cost the most to walk).
pub const MAX_QUERY_TERMS: usize = 64;
/// Largest `k1` accepted; beyond it `tf` no longer saturates and f32 sums lose meaning.
pub(super) const MAX_K1: f32 = 1000.0;

/// Marks a removed slot in `doc_len`.
pub(super) const DEAD: u32 = u32::MAX;
/// Document lengths saturate here so they never collide with [`DEAD`].
pub(super) const MAX_DOC_LEN: u32 = u32::MAX - 1;
/// Slots are `0..MAX_SLOTS`, so a slot never equals [`DEAD`] either.
pub(super) const MAX_SLOTS: usize = (u32::MAX - 1) as usize;
/// Automatic compaction waits for at least this many dead slots, so small indices
/// under churn do not compact on every removal.
const COMPACT_MIN_DEAD: usize = 1024;

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextHit {
    /// The memory id given to [`TextIndex::insert`].
    pub id: u64,
    /// The BM25 score (positive; larger is better).
    pub score: f32,
}

/// One entry of a posting list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Posting {
    /// The document's slot.
    pub(super) slot: u32,
    /// How often the term occurs in it (at least 1).
    pub(super) tf: u32,
}

/// A term's postings and statistics, side by side so that indexing a document touches
/// one cache line per term. `max_tf` and `min_len` only feed MaxScore's upper bounds,
/// so they may be stale in the safe direction (not lowered/raised on removal).
#[derive(Debug, Clone)]
pub(super) struct Term {
    /// Sorted by slot, strictly increasing; dead slots stay until compaction.
    pub(super) postings: Vec<Posting>,
    /// Live documents holding the term.
    pub(super) df: u32,
    /// Largest tf seen in the term's postings.
    pub(super) max_tf: u32,
    /// Shortest document length seen in the term's postings.
    pub(super) min_len: u32,
}

impl Term {
    const EMPTY: Self = Self {
        postings: Vec::new(),
        df: 0,
        max_tf: 0,
        min_len: MAX_DOC_LEN,
    };
}

/// An in-memory BM25 inverted index over memory ids; see [`text`](crate::text).
///
/// Scores follow Lucene's BM25 (`k1`, `b`, an idf that stays positive); equal
/// scores put the smaller id first.
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
    /// BM25's term-frequency saturation.
    pub(super) k1: f32,
    /// BM25's length normalisation.
    pub(super) b: f32,
    /// Term text to dense term ids and back.
    pub(super) dict: TermDict,
    /// By term id (as many as the dictionary has terms).
    pub(super) terms: Vec<Term>,
    /// By slot: the memory id (stale for dead slots).
    pub(super) doc_id: Vec<u64>,
    /// By slot: the number of tokens, or [`DEAD`].
    pub(super) doc_len: Vec<u32>,
    /// By slot: end of its term ids in `doc_terms` (start is the previous slot's end).
    pub(super) doc_terms_end: Vec<u32>,
    /// Sorted distinct term ids of every slot, concatenated.
    pub(super) doc_terms: Vec<u32>,
    /// Live ids to their slots.
    pub(super) slot_of: IdMap<u32>,
    /// Sum of live documents' lengths.
    pub(super) total_len: u64,
    /// Dead slots not yet compacted.
    dead: usize,
    /// Splits inserted texts into terms (its stem cache warms up over many inserts).
    tokenizer: Tokenizer,
    /// Reused by `insert`: the document's term ids.
    scratch_tokens: Vec<u32>,
    /// Reused by `insert`: the document's (term, tf) runs.
    scratch_runs: Vec<(u32, u32)>,
    /// Score arrays lent to concurrent searches (see [`Accumulators`]).
    accumulators: Accumulators,
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
            slot_of: IdMap::default(),
            total_len: 0,
            dead: 0,
            tokenizer: Tokenizer::new(),
            scratch_tokens: Vec::new(),
            scratch_runs: Vec::new(),
            accumulators: Accumulators::default(),
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
        debug_assert_eq!(self.terms.len(), self.dict.len(), "term ids are dense");
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
        debug_assert!(
            runs.windows(2).all(|w| w[0].0 < w[1].0),
            "a document's term ids are sorted and distinct"
        );
        for &(term, tf) in runs {
            let t = term as usize;
            let entry = &mut self.terms[t];
            // The new slot is the largest yet, so appending keeps the list sorted.
            debug_assert!(
                entry.postings.last().is_none_or(|p| p.slot < slot),
                "posting list not strictly increasing by slot"
            );
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
        debug_assert!(
            self.per_slot_arrays_agree(),
            "per-slot arrays differ in length"
        );
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
        debug_assert!(
            self.per_slot_arrays_agree(),
            "dead and live slots do not add up"
        );
        if self.dead >= COMPACT_MIN_DEAD && self.dead > self.slot_of.len() {
            self.compact();
        }
        true
    }

    /// The range of `doc_terms` holding slot `s`'s term ids.
    pub(super) fn terms_range(&self, s: usize) -> (usize, usize) {
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
        // Linear, like the compaction itself.
        debug_assert_eq!(self.invariant_violation(), None);
    }

    /// Whether every slot has an id, a length and a term range, and every slot is
    /// either live (in `slot_of`) or dead (counted in `dead`). O(1).
    fn per_slot_arrays_agree(&self) -> bool {
        let slots = self.doc_len.len();
        self.doc_id.len() == slots
            && self.doc_terms_end.len() == slots
            && self.slot_of.len() + self.dead == slots
    }

    /// The first broken invariant among those the index relies on, or `None`: the
    /// per-slot arrays agree; term ids are dense (one `Term` per dictionary entry);
    /// posting lists are strictly increasing by slot, in range, with tf ≥ 1 and no
    /// more live documents than postings; each slot's term ids are strictly increasing
    /// and in range; `dead` counts the dead slots; the total length is the sum of the
    /// live lengths. Linear in the index: for compaction (itself linear) and tests.
    pub(super) fn invariant_violation(&self) -> Option<&'static str> {
        let slots = self.doc_len.len();
        if !self.per_slot_arrays_agree() {
            return Some("per-slot arrays or slot counts disagree");
        }
        if self.terms.len() != self.dict.len() {
            return Some("term ids are not dense");
        }
        for term in &self.terms {
            let sorted = term.postings.windows(2).all(|w| w[0].slot < w[1].slot);
            let in_range = term
                .postings
                .iter()
                .all(|p| (p.slot as usize) < slots && p.tf > 0);
            if !sorted || !in_range || term.df as usize > term.postings.len() {
                return Some("a posting list is unsorted, out of range or short of its df");
            }
        }
        let mut start = 0;
        for &end in &self.doc_terms_end {
            let Some(list) = self.doc_terms.get(start..end as usize) else {
                return Some("a slot's term range is out of order");
            };
            let sorted = list.windows(2).all(|w| w[0] < w[1]);
            if !sorted || list.iter().any(|&t| t as usize >= self.terms.len()) {
                return Some("a slot's term ids are unsorted or out of range");
            }
            start = end as usize;
        }
        if start != self.doc_terms.len() {
            return Some("term ids beyond the last slot");
        }
        let live_lens = self.doc_len.iter().filter(|&&l| l != DEAD);
        if self.doc_len.len() - live_lens.clone().count() != self.dead {
            return Some("dead slots are miscounted");
        }
        if live_lens.map(|&l| u64::from(l)).sum::<u64>() != self.total_len {
            return Some("the total length is not the sum of the live lengths");
        }
        None
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
            + self.accumulators.memory_bytes()
    }

    /// The distinct known term ids of `query`, in query order.
    pub fn query_terms(&self, query: &str) -> Vec<u32> {
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
        self.search_by(query, k, allow, None)
    }

    /// [`Self::search`], walking the lists by `strategy` when given (the tests compare
    /// the strategies), otherwise by what the postings suggest.
    fn search_by(
        &self,
        query: &str,
        k: usize,
        allow: Option<&RoaringTreemap>,
        strategy: Option<Walk>,
    ) -> Vec<TextHit> {
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
        let norm = Norm::new(k1, b, avg_len);
        let mut cursors: Vec<Cursor<'_>> = terms
            .iter()
            .map(|&t| {
                let entry = &self.terms[t as usize];
                let weight = term_weight(n, entry.df, k1);
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
        // Without a filter, or with one too large to score directly: term at a time
        // when the postings to walk are fewer than the slots, MaxScore otherwise.
        let strategy = strategy.unwrap_or(if walk <= self.doc_len.len() as u128 {
            Walk::TermAtATime
        } else {
            Walk::MaxScore
        });
        match allow {
            None => self.walk(strategy, &mut cursors, norm, &Allow::All, &mut top),
            Some(allow) if u128::from(allow.len()) * (cursors.len() as u128) * 32 < walk => {
                self.score_allowed(&cursors, norm, allow, &mut top);
            }
            Some(allow) if u128::from(allow.len()) * 8 < walk => {
                let mut bits = vec![0u64; self.doc_len.len().div_ceil(64)];
                for id in allow.iter() {
                    if let Some(&slot) = self.slot_of.get(&id) {
                        set_bit(&mut bits, slot);
                    }
                }
                self.walk(strategy, &mut cursors, norm, &Allow::Slots(&bits), &mut top);
            }
            Some(allow) => self.walk(strategy, &mut cursors, norm, &Allow::Ids(allow), &mut top),
        }
        into_hits(top)
    }

    /// Ranks the documents of `cursors` (in summation order) into `top` by `strategy`.
    fn walk(
        &self,
        strategy: Walk,
        cursors: &mut [Cursor<'_>],
        norm: Norm,
        allow: &Allow<'_>,
        top: &mut TopK<Scored>,
    ) {
        match strategy {
            Walk::TermAtATime => self.term_at_a_time(cursors, norm, allow, top),
            Walk::MaxScore => self.max_score(cursors, norm, allow, top),
        }
    }

    /// Term at a time: each list in summation order adds its contributions to a
    /// per-slot score array, then the touched documents compete for the top k. Every
    /// score is the same sum in the same order as [`Self::max_score`]'s, so both give
    /// identical hits.
    fn term_at_a_time(
        &self,
        cursors: &[Cursor<'_>],
        norm: Norm,
        allow: &Allow<'_>,
        top: &mut TopK<Scored>,
    ) {
        let mut acc = self.accumulators.take(self.doc_len.len());
        let Accumulator { scores, touched } = &mut acc;
        // Each posting writes its slot at the end of `touched`, which only grows when
        // the slot was untouched: no branch to mispredict on half the postings.
        touched.resize(cursors.iter().map(|c| c.list.len()).sum::<usize>() + 1, 0);
        let mut count = 0;
        for c in cursors {
            for p in c.list {
                let len = self.doc_len[p.slot as usize];
                if len == DEAD {
                    continue;
                }
                let score = &mut scores[p.slot as usize];
                touched[count] = p.slot;
                // Contributions are positive, so zero means untouched.
                count += usize::from(*score == 0.0);
                *score += contribution(c.weight, p.tf, norm.of(len));
            }
        }
        touched.truncate(count);
        // Most documents score below the k-th best: they are dismissed on the score
        // alone, before their id (a cache miss) is read for the tie-break. Where the
        // filter needs no id, a guess at a score the k best all reach, from a sample
        // of the scores, dismisses most of them from the start; when fewer than k
        // documents reach it, the guess was too high and the selection starts over
        // without it (so the hits are exact either way).
        let k = top.k();
        let guess = match allow {
            Allow::All | Allow::Slots(_) => guess_top_k_floor(scores, touched, k),
            Allow::Ids(_) => f32::NEG_INFINITY,
        };
        self.select(scores, touched, guess, allow, top);
        if guess > f32::NEG_INFINITY && top.len() < k {
            *top = TopK::new(k);
            self.select(scores, touched, f32::NEG_INFINITY, allow, top);
        }
        self.accumulators.give_back(acc);
    }

    /// Pushes into `top` the `touched` documents `allow` admits that score at
    /// least `floor` and could enter it.
    fn select(
        &self,
        scores: &[f32],
        touched: &[u32],
        floor: f32,
        allow: &Allow<'_>,
        top: &mut TopK<Scored>,
    ) {
        let mut worst = floor;
        for &slot in touched {
            let score = scores[slot as usize];
            if score < worst {
                continue;
            }
            let id = self.doc_id[slot as usize];
            let hit = Scored { score, id };
            if top.admits(&hit) && allow.allows(slot, id) {
                top.push(hit);
                worst = worst.max(kth_score(top));
            }
        }
    }

    /// Scores each allowed id directly.
    fn score_allowed(
        &self,
        cursors: &[Cursor<'_>],
        norm: Norm,
        allow: &RoaringTreemap,
        top: &mut TopK<Scored>,
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
                top.push(Scored { score, id });
            }
        }
    }

    /// Document-at-a-time MaxScore over `cursors` (in summation order).
    fn max_score(
        &self,
        cursors: &mut [Cursor<'_>],
        norm: Norm,
        allow: &Allow<'_>,
        top: &mut TopK<Scored>,
    ) {
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
            let hit = Scored { score: exact, id };
            if top.admits(&hit) && allow.allows(slot, id) {
                top.push(hit);
                let now = kth_score(top);
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
        self.matched(&self.query_terms(query), id)
    }

    /// [`Self::matched_terms`] with the query's terms from
    /// [`Self::query_terms`] (tokenised once for every hit of a recall).
    pub fn matched(&self, query_terms: &[u32], id: u64) -> Vec<String> {
        if query_terms.is_empty() {
            return Vec::new();
        }
        let Some(&slot) = self.slot_of.get(&id) else {
            return Vec::new();
        };
        let (start, end) = self.terms_range(slot as usize);
        let doc_terms = &self.doc_terms[start..end];
        query_terms
            .iter()
            .filter(|t| doc_terms.binary_search(t).is_ok())
            .map(|&t| self.dict.term(t).to_owned())
            .collect()
    }

    /// The terms of `query_terms` (from [`Self::query_terms`]) that document
    /// `id` holds, ascending. Empty when `id` is not in the index.
    pub fn matched_ids(&self, query_terms: &[u32], id: u64) -> Vec<u32> {
        let Some(&slot) = self.slot_of.get(&id) else {
            return Vec::new();
        };
        let (start, end) = self.terms_range(slot as usize);
        let doc_terms = &self.doc_terms[start..end];
        let mut held: Vec<u32> = query_terms
            .iter()
            .copied()
            .filter(|t| doc_terms.binary_search(t).is_ok())
            .collect();
        held.sort_unstable();
        held.dedup();
        held
    }

    /// How alike documents `a` and `b` are in words: the Jaccard
    /// similarity of their stemmed term sets (stop words left out), in
    /// `[0, 1]`. It depends on the two texts only, not on the rest of the
    /// index. `None` when either is not in the index; two documents without
    /// terms are alike (1).
    pub fn jaccard(&self, a: u64, b: u64) -> Option<f32> {
        let terms_of = |id: u64| {
            let slot = *self.slot_of.get(&id)?;
            let (start, end) = self.terms_range(slot as usize);
            Some(&self.doc_terms[start..end])
        };
        let (x, y) = (terms_of(a)?, terms_of(b)?);
        if x.is_empty() && y.is_empty() {
            return Some(1.0);
        }
        // Both sorted and distinct: count the shared terms in one pass.
        let (mut shared, mut i, mut j) = (0usize, 0, 0);
        while let (Some(s), Some(t)) = (x.get(i), y.get(j)) {
            match s.cmp(t) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    shared += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        Some(shared as f32 / (x.len() + y.len() - shared) as f32)
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
}

/// A guess at a score the `k` best of the `touched` slots all reach, or
/// negative infinity when there are too few to bother. A fixed stride samples
/// about `4n/k` of the `n` scores (at most a quarter); the guess is the
/// sample's best at four places past the rank the `2k`-th best overall would
/// have there, so about `2k` documents reach it and the `k` best almost
/// always do (the caller checks).
fn guess_top_k_floor(scores: &[f32], touched: &[u32], k: usize) -> f32 {
    let n = touched.len();
    if k == 0 || n < 16 * k {
        return f32::NEG_INFINITY;
    }
    let stride = (k / 4).max(4);
    let mut sample: Vec<f32> = touched
        .iter()
        .step_by(stride)
        .map(|&slot| scores[slot as usize])
        .collect();
    let rank = (2 * k * sample.len() / n + 4).min(sample.len() - 1);
    let (_, &mut guess, _) = sample.select_nth_unstable_by(rank, |a, b| b.total_cmp(a));
    guess
}

/// How a search walks its posting lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// Every posting once, into a per-slot score array: the fastest when the query's
    /// postings are few against the slots (most natural-language queries).
    TermAtATime,
    /// Document at a time with MaxScore pruning: for queries of very common terms,
    /// whose lists would add up to more postings than there are slots.
    MaxScore,
}

/// One search's score array: a score per slot (zero where no query term matched)
/// and the slots it touched, so that resetting costs what the search touched.
#[derive(Debug, Default)]
struct Accumulator {
    scores: Vec<f32>,
    touched: Vec<u32>,
}

/// Score arrays kept between searches. A search takes one (or makes one), sized to
/// the slots, and gives it back zeroed; concurrent searches each get their own. At
/// most [`Accumulators::KEPT`] are kept (4 bytes a slot each); more concurrent
/// searches allocate and free theirs. A clone starts with none.
#[derive(Debug, Default)]
struct Accumulators(parking_lot::Mutex<Vec<Accumulator>>);

impl Accumulators {
    /// Most arrays kept for reuse.
    const KEPT: usize = 4;

    /// A zeroed array of at least `slots` scores.
    fn take(&self, slots: usize) -> Accumulator {
        let mut acc = self.0.lock().pop().unwrap_or_default();
        if acc.scores.len() < slots {
            acc.scores.resize(slots, 0.0);
        }
        acc
    }

    /// Zeroes what `acc` touched and keeps it for the next search.
    fn give_back(&self, mut acc: Accumulator) {
        for &slot in &acc.touched {
            acc.scores[slot as usize] = 0.0;
        }
        acc.touched.clear();
        let mut kept = self.0.lock();
        if kept.len() < Self::KEPT {
            kept.push(acc);
        }
    }

    /// Heap bytes of the arrays kept.
    fn memory_bytes(&self) -> usize {
        self.0
            .lock()
            .iter()
            .map(|a| a.scores.capacity() * 4 + a.touched.capacity() * 4)
            .sum()
    }
}

impl Clone for Accumulators {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// A document's length from its tfs, saturating below [`DEAD`].
fn doc_len_of(tfs: impl Iterator<Item = u32>) -> u32 {
    tfs.fold(0u32, |len, tf| len.saturating_add(tf))
        .min(MAX_DOC_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::model::{allow, apply, brute_force, check_against_model, ops, query, text};
    use crate::text::tokenize;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn ids(hits: &[TextHit]) -> Vec<u64> {
        hits.iter().map(|h| h.id).collect()
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

    /// Term at a time guesses a floor for the top k from a sample of the
    /// scores: when the best documents are exactly the sampled ones, fewer
    /// than k reach the guess and the selection starts over, with the same
    /// hits as MaxScore's; when the guess holds, likewise.
    #[test]
    fn a_wrong_top_k_guess_still_gives_the_exact_hits() {
        let mut index = TextIndex::new();
        for i in 0..256u64 {
            let text = if i % 4 == 0 {
                format!("common {}", "rare ".repeat(1 + (i as usize / 4) % 20))
            } else {
                "common".to_owned()
            };
            index.insert(i, &text);
        }
        for k in [1, 5, 16, 40, 64] {
            let by_term = index.search_by("common rare", k, None, Some(Walk::TermAtATime));
            let by_doc = index.search_by("common rare", k, None, Some(Walk::MaxScore));
            assert_eq!(by_term, by_doc, "k {k}");
            assert_eq!(by_term.len(), k);
        }
    }

    /// Rare neighbours are those the terms' exact df gives, for limits
    /// around the documents' df (some above 255), after removals and after
    /// compaction.
    #[test]
    fn rare_neighbors_agree_with_the_exact_df() {
        fn exact(index: &TextIndex, id: u64, max_df: u32) -> Vec<(u64, u32)> {
            let mut out = Vec::new();
            let Some(&slot) = index.slot_of.get(&id) else {
                return out;
            };
            let (start, end) = index.terms_range(slot as usize);
            for &term in &index.doc_terms[start..end] {
                let entry = &index.terms[term as usize];
                if entry.df < 2 || entry.df > max_df {
                    continue;
                }
                let weight = 1.0 / (entry.df - 1) as f32;
                for p in &entry.postings {
                    if p.slot != slot && index.doc_len[p.slot as usize] != DEAD {
                        out.push((index.doc_id[p.slot as usize], weight.to_bits()));
                    }
                }
            }
            out
        }
        let mut index = TextIndex::new();
        for id in 0..400u64 {
            let pair = format!("pairword{}", id / 2);
            let triple = format!("tripleword{}", id / 3);
            let crowd = if id < 300 { "crowdword" } else { "" };
            index.insert(id, &format!("sharedword {pair} {triple} {crowd}"));
        }
        let check = |index: &TextIndex| {
            assert_eq!(index.invariant_violation(), None);
            for id in [0, 1, 5, 299, 300, 399] {
                for max_df in [0, 1, 2, 3, 8, 254, 255, 256, 300, 400, u32::MAX] {
                    let mut got = Vec::new();
                    index.for_each_rare_neighbor(id, max_df, |other, w| {
                        got.push((other, w.to_bits()))
                    });
                    assert_eq!(got, exact(index, id, max_df), "id {id}, max_df {max_df}");
                }
            }
        };
        check(&index);
        for id in (0..400).step_by(7) {
            index.remove(id);
        }
        check(&index);
        index.compact();
        check(&index);
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn search_matches_brute_force(
            ops in ops(),
            queries in prop::collection::vec((query(), 1usize..8, allow()), 1..6),
            params in prop_oneof![Just((1.2f32, 0.75f32)), (0.0f32..3.0, 0.0f32..=1.0)],
        ) {
            let (index, model) = apply(&ops, params);
            prop_assert_eq!(index.invariant_violation(), None);
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

        /// Term at a time and MaxScore give identical hits and scores, with and without
        /// allow-lists, on indices with removed documents.
        #[test]
        fn both_strategies_give_identical_hits(
            texts in prop::collection::vec(text(), 1..200),
            removed in prop::collection::vec(0u64..200, 0..40),
            queries in prop::collection::vec(
                (query(), 1usize..60, prop::option::of(prop::collection::vec(0u64..200, 0..150))),
                1..6,
            ),
        ) {
            let mut index = TextIndex::with_params(DEFAULT_K1, 0.3);
            for (id, text) in texts.iter().enumerate() {
                index.insert(id as u64, text);
            }
            for id in &removed {
                index.remove(*id);
            }
            for (query, k, allow) in &queries {
                let allow: Option<RoaringTreemap> = allow.as_ref().map(|a| a.iter().copied().collect());
                let by_term = index.search_by(query, *k, allow.as_ref(), Some(Walk::TermAtATime));
                let by_doc = index.search_by(query, *k, allow.as_ref(), Some(Walk::MaxScore));
                prop_assert_eq!(&by_term, &by_doc);
                // Twice: the score arrays given back are zeroed.
                let again = index.search_by(query, *k, allow.as_ref(), Some(Walk::TermAtATime));
                prop_assert_eq!(&by_term, &again);
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
    }
}
