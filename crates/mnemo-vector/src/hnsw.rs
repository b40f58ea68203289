//! [`Hnsw`]: a hierarchical navigable small world graph (Malkov & Yashunin,
//! 2016) over contiguous vectors.
//!
//! # Layout
//!
//! - Vectors: one `Vec<f32>`, row `slot` at `slot · dimension` (normalised
//!   under [`Metric::Cosine`]).
//! - Level 0 neighbours: one flat array of `M0 + 1` words per slot — a count,
//!   then up to `M0` slots.
//! - Upper levels: one flat array of blocks of `M + 1` words; a slot of level
//!   `L` owns `L` consecutive blocks (levels `1..=L`) from `upper_start`.
//! - External ids (u64) map to slots through a hash map; deleted slots are
//!   tombstones in a bit set: never returned, still routed through, dropped
//!   by [`Hnsw::compact`].
//!
//! Neighbour words are atomics so that a batch can be inserted from several
//! threads: each slot's list is changed under that slot's one-byte lock, and
//! searches read lists without locks (a list being rewritten may be seen
//! half old, half new, but every word is always a valid slot). On x86-64 and
//! AArch64 these relaxed loads are plain loads.
//!
//! # Searching
//!
//! A search descends greedily through the upper levels, then runs a
//! best-first search of width `ef` on level 0, expanding each node's
//! unvisited neighbours as one prefetched batch. Filters and tombstones keep
//! nodes out of the results but not out of the routing; a search that finds
//! fewer than `ef` acceptable nodes keeps going until it has them or the
//! graph is exhausted. A filter expected to pass few vectors — an allow-list
//! with at most [`Hnsw::exact_limit`] ids, or a predicate that passes a small
//! share of a sample — is answered by exact search over what passes instead.
//! With [`Quantization::Sq8`] the traversal compares the query with the SQ8
//! codes and the `ef` best are re-ranked with the f32 vectors.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::kernels::{DotQ16, DotQ16x4, Kernels, kernels, prefetch};
use crate::metric::Metric;
use crate::search::{Filter, Neighbor, Scored, SearchContext, TopK, drain_sorted};
use crate::sq8::{QueryTerms, Sq8};

/// Most slots an index holds (slot numbers are `u32`; one value is kept
/// free as a sentinel).
pub const MAX_SLOTS: usize = u32::MAX as usize - 1;
/// Highest level a node may get (`M^16` nodes is far beyond [`MAX_SLOTS`]).
pub(crate) const MAX_LEVEL: u8 = 16;
/// Vectors an SQ8 index collects before it fits its ranges; until then
/// searches use the f32 vectors.
pub const SQ8_TRAINING_ROWS: usize = 1_024;
/// Slots sampled to estimate how many vectors a predicate passes.
const PREDICATE_SAMPLE: usize = 256;
/// Batches smaller than this are inserted on the calling thread.
#[cfg(feature = "parallel")]
const PARALLEL_MIN_BATCH: usize = 256;
/// Slots a construction thread takes from the shared counter at a time.
#[cfg(feature = "parallel")]
const PARALLEL_CHUNK: usize = 32;
/// `entry` value of an empty graph.
const NO_ENTRY: u64 = u64::MAX;

/// How distances from one vector to stored slots are computed.
#[derive(Clone, Copy)]
enum Probe<'a> {
    /// Exact: a prepared f32 vector against the f32 rows.
    F32(&'a [f32]),
    /// Asymmetric: a prepared (scaled) query against the SQ8 codes.
    Sq8(&'a Sq8, &'a [f32], QueryTerms),
    /// The same with the scaled query quantised to i16 (its unit and the
    /// integer kernel), where the kernel set has one.
    Sq8Q16(&'a Sq8, &'a [i16], f32, QueryTerms, Q16Kernels),
}

/// The integer SQ8 kernels of one row and of four
/// ([`Kernels::dot_q16`], [`Kernels::dot_q16_4`]).
#[derive(Clone, Copy)]
struct Q16Kernels {
    one: DotQ16,
    four: DotQ16x4,
}

/// Scratch rows for distances between two stored slots when only codes are
/// kept.
#[derive(Debug, Default)]
pub(crate) struct ProbeBuffers {
    decoded: Vec<f32>,
    scaled: Vec<f32>,
}

impl ProbeBuffers {
    /// Bytes held.
    pub(crate) fn memory_bytes(&self) -> usize {
        (self.decoded.capacity() + self.scaled.capacity()) * 4
    }
}

/// Where an [`Quantization::Sq8Compact`] index finds the f32 vectors to
/// re-rank its candidates with: the caller's own copy (the engine's
/// records, a file). Vectors are given as inserted (not normalised).
pub trait VectorSource {
    /// The vector stored under `id`, if the source has it.
    fn vector(&self, id: u64) -> Option<&[f32]>;
}

/// How vectors are compared during graph traversal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quantization {
    /// f32 vectors only.
    #[default]
    None,
    /// SQ8 codes (per-dimension ranges) for traversal, f32 re-ranking of the
    /// `ef` best. Costs one byte per component on top of the f32 vectors.
    /// Once the ranges are fitted, construction also searches on the codes
    /// (where the kernels compare them as integers: simd128, AVX2,
    /// AVX-512) and chooses a new node's neighbours on the exact distances
    /// of what it found: about a quarter of the bytes read per distance.
    Sq8,
    /// SQ8 codes only: the index keeps a quarter of the f32 bytes. Graph
    /// construction compares codes; searches re-rank the `ef` best with the
    /// vectors of [`SearchParams::vectors`] when given (results are ranked
    /// by the approximate distance otherwise). Until
    /// [`SQ8_TRAINING_ROWS`] vectors have arrived the index holds f32 rows
    /// to fit its ranges on.
    Sq8Compact,
}

/// The parameters of an [`Hnsw`] index.
#[derive(Debug, Clone, PartialEq)]
pub struct HnswParams {
    /// Neighbours per node on the upper levels (and the number chosen for a
    /// new node on every level). Default 16.
    pub m: usize,
    /// Neighbours per node on level 0. Default `2 · m`.
    pub m0: usize,
    /// Width of the search that finds a new node's neighbours. Default 200.
    pub ef_construction: usize,
    /// Default search width (raised to `k` when smaller). Default 64.
    pub ef_search: usize,
    /// Seed of the level assignment.
    pub seed: u64,
    /// Threads for batch insertion: 0 uses every core, 1 inserts on the
    /// calling thread in batch order, which makes the graph a pure function
    /// of the seed and the insertion sequence. Ignored (always 1) without
    /// the `parallel` feature.
    pub build_threads: usize,
    /// Share of tombstoned slots past which [`Hnsw::compact`] rebuilds the
    /// graph. Default 0.2.
    pub compact_threshold: f64,
    /// Traversal representation.
    pub quantization: Quantization,
}

impl Default for HnswParams {
    fn default() -> Self {
        Self {
            m: 16,
            m0: 32,
            ef_construction: 200,
            ef_search: 64,
            seed: 0x6d6e_656d_6f5f_7678,
            build_threads: 0,
            compact_threshold: 0.2,
            quantization: Quantization::None,
        }
    }
}

impl HnswParams {
    /// Parameters with `m` (and `m0 = 2m`) and `ef_construction`, the rest
    /// default.
    pub fn new(m: usize, ef_construction: usize) -> Self {
        Self {
            m,
            m0: 2 * m,
            ef_construction,
            ..Self::default()
        }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidParams(why));
        if !(2..=256).contains(&self.m) {
            return bad(format!("m = {} (must be 2..=256)", self.m));
        }
        if !(self.m..=1024).contains(&self.m0) {
            return bad(format!("m0 = {} (must be m..=1024)", self.m0));
        }
        if !(1..=100_000).contains(&self.ef_construction) {
            return bad(format!(
                "ef_construction = {} (must be 1..=100000)",
                self.ef_construction
            ));
        }
        if !(1..=100_000).contains(&self.ef_search) {
            return bad(format!(
                "ef_search = {} (must be 1..=100000)",
                self.ef_search
            ));
        }
        if !(0.0..=1.0).contains(&self.compact_threshold) {
            return bad(format!(
                "compact_threshold = {} (must be in 0..=1)",
                self.compact_threshold
            ));
        }
        Ok(())
    }
}

/// One search request.
#[derive(Clone, Copy)]
pub struct SearchParams<'a> {
    /// Results wanted (fewer when fewer vectors pass).
    pub k: usize,
    /// Search width; `None` uses the index's `ef_search`. Raised to `k`.
    pub ef: Option<usize>,
    /// Which ids may be returned.
    pub filter: Filter<'a>,
    /// The f32 vectors a [`Quantization::Sq8Compact`] index re-ranks with
    /// (ignored by other indices).
    pub vectors: Option<&'a dyn VectorSource>,
}

impl SearchParams<'_> {
    /// The `k` nearest, default width, no filter.
    pub fn k(k: usize) -> Self {
        Self {
            k,
            ef: None,
            filter: Filter::All,
            vectors: None,
        }
    }
}

impl std::fmt::Debug for SearchParams<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchParams")
            .field("k", &self.k)
            .field("ef", &self.ef)
            .field("filter", &self.filter)
            .field("vectors", &self.vectors.is_some())
            .finish()
    }
}

/// An HNSW index (see the module documentation).
pub struct Hnsw {
    pub(crate) dimension: usize,
    pub(crate) metric: Metric,
    pub(crate) params: HnswParams,
    pub(crate) kernels: &'static Kernels,
    pub(crate) vectors: Vec<f32>,
    pub(crate) ids: Vec<u64>,
    pub(crate) levels: Vec<u8>,
    pub(crate) upper_start: Vec<u32>,
    pub(crate) links0: Vec<AtomicU32>,
    pub(crate) upper: Vec<AtomicU32>,
    locks: Vec<Mutex<()>>,
    /// `slot << 8 | level` of the entry point, or [`NO_ENTRY`].
    pub(crate) entry: AtomicU64,
    /// Held by an insertion that raises the top level.
    grow: Mutex<()>,
    /// The search context of insertions on the calling thread, kept so that
    /// single inserts into a large index do not allocate a visited set each.
    build_context: Mutex<SearchContext>,
    pub(crate) deleted: Vec<u64>,
    pub(crate) deleted_count: usize,
    pub(crate) slot_of: HashMap<u64, u32>,
    pub(crate) sq8: Option<Sq8>,
}

impl std::fmt::Debug for Hnsw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hnsw")
            .field("dimension", &self.dimension)
            .field("metric", &self.metric)
            .field("params", &self.params)
            .field("len", &self.len())
            .field("deleted", &self.deleted_count)
            .field("kernels", &self.kernels.name)
            .finish_non_exhaustive()
    }
}

thread_local! {
    static CONTEXT: std::cell::RefCell<SearchContext> = std::cell::RefCell::new(SearchContext::new());
}

impl Hnsw {
    /// An empty index of `dimension`-component vectors.
    pub fn new(dimension: usize, metric: Metric, params: HnswParams) -> Result<Self> {
        params.validate()?;
        crate::metric::check_dimension(dimension)?;
        Ok(Self {
            dimension,
            metric,
            params,
            kernels: kernels(),
            vectors: Vec::new(),
            ids: Vec::new(),
            levels: Vec::new(),
            upper_start: Vec::new(),
            links0: Vec::new(),
            upper: Vec::new(),
            locks: Vec::new(),
            entry: AtomicU64::new(NO_ENTRY),
            grow: Mutex::new(()),
            build_context: Mutex::new(SearchContext::new()),
            deleted: Vec::new(),
            deleted_count: 0,
            slot_of: HashMap::new(),
            sq8: None,
        })
    }

    /// Vector dimension.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Distance metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Parameters.
    pub fn params(&self) -> &HnswParams {
        &self.params
    }

    /// Changes the default search width.
    pub fn set_ef_search(&mut self, ef: usize) -> Result<()> {
        let mut params = self.params.clone();
        params.ef_search = ef;
        params.validate()?;
        self.params = params;
        Ok(())
    }

    /// Live (not deleted) vectors.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    /// Whether no live vector is present.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// Slots in the graph, tombstones included.
    pub fn slots(&self) -> usize {
        self.ids.len()
    }

    /// Tombstoned slots (deleted, not yet compacted away).
    pub fn deleted(&self) -> usize {
        self.deleted_count
    }

    /// Whether `id` is live in the index.
    pub fn contains(&self, id: u64) -> bool {
        self.slot_of.contains_key(&id)
    }

    /// The stored vector of `id` (normalised under cosine; decoded from its
    /// codes in an [`Quantization::Sq8Compact`] index).
    pub fn get(&self, id: u64) -> Option<std::borrow::Cow<'_, [f32]>> {
        let slot = *self.slot_of.get(&id)?;
        Some(match &self.sq8 {
            Some(sq8) if !self.keeps_f32() => {
                let mut decoded = Vec::new();
                sq8.decode_into(slot, self.dimension, &mut decoded);
                std::borrow::Cow::Owned(decoded)
            }
            _ => std::borrow::Cow::Borrowed(self.vector(slot)),
        })
    }

    /// The live ids, in slot order.
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.ids
            .iter()
            .enumerate()
            .filter(|&(slot, _)| !self.is_deleted(slot as u32))
            .map(|(_, &id)| id)
    }

    /// The kernel set in use (e.g. `"avx2+fma"`).
    pub fn kernel_name(&self) -> &'static str {
        self.kernels.name
    }

    /// Whether SQ8 codes are in use for traversal (an SQ8 index switches
    /// them on once it holds [`SQ8_TRAINING_ROWS`] vectors).
    pub fn sq8_active(&self) -> bool {
        self.sq8.is_some()
    }

    /// Heap bytes of the vector representation: f32 rows and SQ8 codes,
    /// ranges and norms.
    pub fn vector_bytes(&self) -> usize {
        self.vectors.capacity() * 4 + self.sq8.as_ref().map_or(0, Sq8::memory_bytes)
    }

    /// Gives the buffers' spare capacity back (after a rebuild, or once
    /// the index stops growing).
    pub fn shrink_to_fit(&mut self) {
        self.vectors.shrink_to_fit();
        self.ids.shrink_to_fit();
        self.levels.shrink_to_fit();
        self.upper_start.shrink_to_fit();
        self.links0.shrink_to_fit();
        self.upper.shrink_to_fit();
        self.locks.shrink_to_fit();
        self.deleted.shrink_to_fit();
        self.slot_of.shrink_to_fit();
        if let Some(sq8) = &mut self.sq8 {
            sq8.shrink_to_fit();
        }
    }

    /// An upper bound of what [`Self::memory_bytes`] counts per live
    /// vector of an index of `dimension`-component vectors built with
    /// `params` that holds no tombstones: the row (f32 and SQ8 codes as
    /// `params` keep them), id, level, links (the upper layers' expected
    /// share), lock, tombstone bit and id map entry (its table up to twice
    /// the entries), all with the buffers' spare capacity
    /// ([`crate::grow::GROWTH_SLACK`]). For a budget to plan by. (A
    /// [`Quantization::Sq8Compact`] index keeps f32 rows too until it holds
    /// [`SQ8_TRAINING_ROWS`] vectors.)
    pub fn bytes_per_vector(dimension: usize, params: &HnswParams) -> usize {
        let f32_row = if params.quantization == Quantization::Sq8Compact {
            0
        } else {
            4 * dimension
        };
        let codes = if params.quantization == Quantization::None {
            0
        } else {
            dimension + size_of::<f32>()
        };
        let links0 = (params.m0 + 1) * size_of::<u32>();
        // P(level >= l) = m^-l: 1/(m - 1) upper levels per vector expected.
        let upper = ((params.m + 1) * size_of::<u32>()).div_ceil(params.m.max(2) - 1);
        let fixed = size_of::<u64>() + 1 + size_of::<u32>() + size_of::<Mutex<()>>() + 1;
        let map = (2 * (size_of::<u64>() + size_of::<u32>() + 1) * 8).div_ceil(7);
        let exact = f32_row + codes + links0 + upper + fixed + map;
        (exact as f64 * (1.0 + crate::grow::GROWTH_SLACK)).ceil() as usize
    }

    /// Heap bytes held by the index (vectors, codes, graph, id map,
    /// tombstones), excluding search contexts.
    pub fn memory_bytes(&self) -> usize {
        let map = self.slot_of.capacity() * (size_of::<u64>() + size_of::<u32>() + 1);
        self.vectors.capacity() * 4
            + self.ids.capacity() * 8
            + self.levels.capacity()
            + self.upper_start.capacity() * 4
            + (self.links0.capacity() + self.upper.capacity()) * 4
            + self.locks.capacity() * size_of::<Mutex<()>>()
            + self.deleted.capacity() * 8
            + map
            + self.sq8.as_ref().map_or(0, Sq8::memory_bytes)
    }

    // ----- slots -----

    #[inline(always)]
    pub(crate) fn vector(&self, slot: u32) -> &[f32] {
        let at = slot as usize * self.dimension;
        &self.vectors[at..at + self.dimension]
    }

    #[inline(always)]
    pub(crate) fn is_deleted(&self, slot: u32) -> bool {
        self.deleted
            .get(slot as usize / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    /// The neighbour block of `slot` on `level`: a count, then the slots.
    #[inline(always)]
    pub(crate) fn block(&self, slot: u32, level: usize) -> &[AtomicU32] {
        if level == 0 {
            let width = self.params.m0 + 1;
            let at = slot as usize * width;
            &self.links0[at..at + width]
        } else {
            let width = self.params.m + 1;
            let at = (self.upper_start[slot as usize] as usize + level - 1) * width;
            &self.upper[at..at + width]
        }
    }

    /// The neighbours of `slot` on `level`.
    #[inline(always)]
    fn neighbours(&self, slot: u32, level: usize) -> &[AtomicU32] {
        let block = self.block(slot, level);
        let count = (block[0].load(Relaxed) as usize).min(block.len() - 1);
        &block[1..1 + count]
    }

    fn entry_point(&self) -> Option<(u32, usize)> {
        let e = self.entry.load(std::sync::atomic::Ordering::Acquire);
        (e != NO_ENTRY).then_some(((e >> 8) as u32, (e & 0xff) as usize))
    }

    fn set_entry_point(&self, slot: u32, level: usize) {
        debug_assert!(
            self.levels.get(slot as usize).map(|&l| usize::from(l)) == Some(level),
            "entry point {slot} at level {level} is not a node of that level"
        );
        self.entry.store(
            (u64::from(slot) << 8) | level as u64,
            std::sync::atomic::Ordering::Release,
        );
    }

    /// The level of a new node in `slot`: `⌊−ln(u) / ln(M)⌋` for a uniform
    /// `u` drawn from the seed and the slot.
    fn level_for(&self, slot: usize) -> u8 {
        let bits = splitmix64(self.params.seed ^ (slot as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let u = ((bits >> 11) + 1) as f64 / (1u64 << 53) as f64;
        let level = (-u.ln() / (self.params.m as f64).ln()).floor();
        (level as u8).min(MAX_LEVEL)
    }

    // ----- distances -----

    /// Whether the f32 rows are held (always, except in an
    /// [`Quantization::Sq8Compact`] index once its ranges are fitted).
    #[inline(always)]
    pub(crate) fn keeps_f32(&self) -> bool {
        !(self.params.quantization == Quantization::Sq8Compact && self.sq8.is_some())
    }

    /// A probe for distances from `v` (prepared) to stored slots during
    /// construction: once the SQ8 codes exist, the integer SQ8 probe where
    /// the kernels have one and the f32 rows are held (they then re-rank
    /// what it finds: see [`Hnsw::link`]), asymmetric SQ8 when only codes
    /// are kept, else exact (`scaled` and `q16` hold the prepared query).
    fn construction_probe<'a>(
        &'a self,
        v: &'a [f32],
        scaled: &'a mut Vec<f32>,
        q16: &'a mut Vec<i16>,
    ) -> Probe<'a> {
        match (&self.sq8, self.q16_kernels()) {
            (Some(sq8), Some(kernels)) if self.keeps_f32() => {
                let terms = sq8.prepare_query(v, scaled);
                let unit = Sq8::quantize_query(scaled, q16);
                Probe::Sq8Q16(sq8, q16, unit, terms, kernels)
            }
            (Some(sq8), _) if !self.keeps_f32() => {
                let terms = sq8.prepare_query(v, scaled);
                Probe::Sq8(sq8, scaled, terms)
            }
            _ => Probe::F32(v),
        }
    }

    /// The integer SQ8 kernels, where this CPU's kernel set has them.
    fn q16_kernels(&self) -> Option<Q16Kernels> {
        match (self.kernels.dot_q16, self.kernels.dot_q16_4) {
            (Some(one), Some(four)) => Some(Q16Kernels { one, four }),
            _ => None,
        }
    }

    /// Replaces the distances of `sorted` (approximate) by exact ones from
    /// the prepared `row`, and sorts it again.
    fn rerank_exact(&self, row: &[f32], sorted: &mut [Scored]) {
        let probe = Probe::F32(row);
        let mut fours = sorted.chunks_exact_mut(4);
        for four in &mut fours {
            let slots = [0, 1, 2, 3].map(|j| four[j].slot);
            for (item, d) in four.iter_mut().zip(self.distance4(&probe, slots)) {
                item.dist = d;
            }
        }
        for item in fours.into_remainder() {
            item.dist = self.distance(&probe, item.slot);
        }
        sorted.sort_unstable();
    }

    /// The distance from a probe to `slot`.
    #[inline(always)]
    fn distance(&self, probe: &Probe<'_>, slot: u32) -> f32 {
        match *probe {
            Probe::F32(q) => self.metric.distance(self.kernels, q, self.vector(slot)),
            Probe::Sq8(sq8, scaled, terms) => {
                sq8.distance(self.kernels, self.metric, scaled, terms, slot)
            }
            Probe::Sq8Q16(sq8, query, unit, terms, q16) => {
                sq8.distance_q16(q16.one, self.metric, query, unit, terms, slot)
            }
        }
    }

    /// The distances from a probe to four slots.
    #[inline(always)]
    fn distance4(&self, probe: &Probe<'_>, slots: [u32; 4]) -> [f32; 4] {
        match *probe {
            Probe::F32(q) => self
                .metric
                .distance4(self.kernels, q, slots.map(|s| self.vector(s))),
            Probe::Sq8(sq8, scaled, terms) => {
                sq8.distance4(self.kernels, self.metric, scaled, terms, slots)
            }
            Probe::Sq8Q16(sq8, query, unit, terms, q16) => {
                sq8.distance4_q16(q16.four, self.metric, query, unit, terms, slots)
            }
        }
    }

    /// The distance between two stored slots (`buffers` holds a decoded row
    /// when only codes are kept).
    fn slot_probe<'a>(&'a self, slot: u32, buffers: &'a mut ProbeBuffers) -> Probe<'a> {
        match &self.sq8 {
            Some(sq8) if !self.keeps_f32() => {
                sq8.decode_into(slot, self.dimension, &mut buffers.decoded);
                let terms = sq8.prepare_query(&buffers.decoded, &mut buffers.scaled);
                Probe::Sq8(sq8, &buffers.scaled, terms)
            }
            _ => Probe::F32(self.vector(slot)),
        }
    }

    // ----- insertion -----

    /// Inserts one vector under `id` (refused if `id` is live: use
    /// [`Self::update`]).
    pub fn insert(&mut self, id: u64, vector: &[f32]) -> Result<()> {
        crate::metric::check(self.dimension, vector)?;
        self.insert_batch(&[id], vector)
    }

    /// Replaces the vector of `id` (delete, then insert), or inserts it.
    pub fn update(&mut self, id: u64, vector: &[f32]) -> Result<()> {
        self.metric
            .prepare_into(self.dimension, vector, &mut Vec::new())?;
        if self.contains(id) {
            self.delete(id)?;
        }
        self.insert_batch(&[id], vector)
    }

    /// Inserts `ids.len()` vectors given as consecutive rows of `vectors`.
    /// Every row is checked first: on any error nothing is inserted. With
    /// the `parallel` feature and `build_threads != 1`, large batches are
    /// linked from several threads.
    pub fn insert_batch(&mut self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        let dim = self.dimension;
        if vectors.len() != ids.len() * dim {
            return Err(Error::InvalidParams(format!(
                "batch of {} ids with {} components (expected {} per vector)",
                ids.len(),
                vectors.len(),
                dim
            )));
        }
        let first = self.ids.len();
        if first + ids.len() > MAX_SLOTS {
            return Err(Error::Full(MAX_SLOTS));
        }
        let mut batch_ids = std::collections::HashSet::with_capacity(ids.len());
        let mut prepared = Vec::with_capacity(vectors.len());
        let mut row_buffer = Vec::with_capacity(dim);
        for (&id, row) in ids.iter().zip(vectors.chunks_exact(dim)) {
            self.metric.prepare_into(dim, row, &mut row_buffer)?;
            if self.slot_of.contains_key(&id) || !batch_ids.insert(id) {
                return Err(Error::DuplicateId(id));
            }
            prepared.extend_from_slice(&row_buffer);
        }
        drop(batch_ids);
        debug_assert_eq!(prepared.len(), vectors.len(), "prepared rows");

        // Every check passed: grow the arrays, then link.
        let n = ids.len();
        if self.keeps_f32() {
            crate::grow::reserve(&mut self.vectors, prepared.len());
            self.vectors.extend_from_slice(&prepared);
        }
        if let Some(sq8) = &mut self.sq8 {
            for row in prepared.chunks_exact(dim) {
                sq8.push(row);
            }
        }
        crate::grow::reserve(&mut self.ids, n);
        self.ids.extend_from_slice(ids);
        crate::grow::reserve(&mut self.links0, n * (self.params.m0 + 1));
        self.links0
            .extend((0..n * (self.params.m0 + 1)).map(|_| AtomicU32::new(0)));
        crate::grow::reserve(&mut self.locks, n);
        self.locks.extend((0..n).map(|_| Mutex::new(())));
        crate::grow::reserve(&mut self.levels, n);
        crate::grow::reserve(&mut self.upper_start, n);
        let mut blocks = self.upper.len() / (self.params.m + 1);
        for slot in first..first + n {
            let level = self.level_for(slot);
            self.levels.push(level);
            self.upper_start.push(blocks as u32);
            blocks += usize::from(level);
        }
        let upper = blocks * (self.params.m + 1);
        let more = upper.saturating_sub(self.upper.len());
        crate::grow::reserve(&mut self.upper, more);
        self.upper.resize_with(upper, || AtomicU32::new(0));
        self.deleted.resize((first + n).div_ceil(64), 0);
        self.slot_of.reserve(n);
        for (i, &id) in ids.iter().enumerate() {
            self.slot_of.insert(id, (first + i) as u32);
        }

        let mut ctx = std::mem::take(self.build_context.get_mut());
        self.link_range(&mut ctx, first as u32, &prepared);
        *self.build_context.get_mut() = ctx;

        if self.params.quantization != Quantization::None
            && self.sq8.is_none()
            && self.ids.len() >= SQ8_TRAINING_ROWS
        {
            self.sq8 = Some(Sq8::train(dim, &self.vectors));
            if !self.keeps_f32() {
                self.vectors = Vec::new();
            }
        }
        if n >= first {
            self.debug_check_all();
        } else {
            self.debug_check_layout();
            for (i, id) in ids.iter().enumerate() {
                debug_assert_eq!(self.slot_of.get(id), Some(&((first + i) as u32)));
            }
        }
        Ok(())
    }

    /// Links the slots from `first` on, whose prepared rows are `rows`, into
    /// the graph: on the calling thread with the index's construction
    /// context, or — large batches with the `parallel` feature — on
    /// `build_threads` scoped threads that take slots in chunks from a shared
    /// counter, each with a context of its own.
    fn link_range(&self, ctx: &mut SearchContext, first: u32, rows: &[f32]) {
        let dim = self.dimension;
        let count = rows.len() / dim;
        let row = |i: usize| &rows[i * dim..(i + 1) * dim];
        let mut done = 0;
        if count > 0 && self.entry_point().is_none() {
            self.link(ctx, first, row(0));
            done = 1;
        }
        #[cfg(feature = "parallel")]
        {
            let threads = match self.params.build_threads {
                0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
                n => n,
            };
            if threads > 1 && count - done >= PARALLEL_MIN_BATCH {
                let next = std::sync::atomic::AtomicUsize::new(done);
                let work = |ctx: &mut SearchContext| {
                    loop {
                        let start = next.fetch_add(PARALLEL_CHUNK, Relaxed);
                        if start >= count {
                            return;
                        }
                        for i in start..(start + PARALLEL_CHUNK).min(count) {
                            self.link(ctx, first + i as u32, row(i));
                        }
                    }
                };
                std::thread::scope(|scope| {
                    for _ in 1..threads {
                        scope.spawn(|| work(&mut SearchContext::new()));
                    }
                    work(ctx);
                });
                return;
            }
        }
        for i in done..count {
            self.link(ctx, first + i as u32, row(i));
        }
    }

    /// Finds the neighbours of `slot` (whose prepared vector is `row`) on
    /// each of its levels and links it both ways.
    fn link(&self, ctx: &mut SearchContext, slot: u32, row: &[f32]) {
        let level = usize::from(self.levels[slot as usize]);
        let Some((mut entry, mut top)) = self.entry_point() else {
            self.set_entry_point(slot, level);
            return;
        };
        let _grow = (level > top).then(|| {
            let guard = self.grow.lock();
            if let Some(e) = self.entry_point() {
                (entry, top) = e;
            }
            guard
        });
        let mut scaled = std::mem::take(&mut ctx.scaled_query);
        let mut q16 = std::mem::take(&mut ctx.q16_query);
        let probe = self.construction_probe(row, &mut scaled, &mut q16);
        // Approximate (integer SQ8) distances find the candidates; with the
        // f32 rows held, the neighbours are chosen on exact ones.
        let rerank = matches!(probe, Probe::Sq8Q16(..));
        let mut nearest = Scored {
            dist: self.distance(&probe, entry),
            slot: entry,
        };
        for l in (level + 1..=top).rev() {
            nearest = self.greedy(nearest, l, &probe);
        }
        for l in (0..=level.min(top)).rev() {
            ctx.start(self.slots());
            ctx.visit(slot);
            self.search_layer(
                ctx,
                nearest,
                self.params.ef_construction,
                l,
                |s| !self.is_deleted(s),
                &probe,
            );
            drain_sorted(&mut ctx.results, &mut ctx.sorted);
            if let Some(best) = ctx.sorted.first() {
                nearest = *best;
            }
            if rerank {
                self.rerank_exact(row, &mut ctx.sorted);
            }
            self.connect(ctx, slot, l);
        }
        ctx.scaled_query = scaled;
        ctx.q16_query = q16;
        if level > top {
            self.set_entry_point(slot, level);
        }
    }

    /// Greedy descent on one level: moves to the closest neighbour until none
    /// is closer.
    fn greedy(&self, mut at: Scored, level: usize, probe: &Probe<'_>) -> Scored {
        loop {
            let mut moved = false;
            let neighbours = self.neighbours(at.slot, level);
            let mut fours = neighbours.chunks_exact(4);
            for four in &mut fours {
                let slots = [0, 1, 2, 3].map(|j| four[j].load(Relaxed));
                for (d, n) in self.distance4(probe, slots).into_iter().zip(slots) {
                    if d < at.dist {
                        at = Scored { dist: d, slot: n };
                        moved = true;
                    }
                }
            }
            for n in fours.remainder() {
                let n = n.load(Relaxed);
                let d = self.distance(probe, n);
                if d < at.dist {
                    at = Scored { dist: d, slot: n };
                    moved = true;
                }
            }
            if !moved {
                return at;
            }
        }
    }

    /// Best-first search of width `ef` on `level` from `entry`; the `ef`
    /// closest accepted nodes end up in `ctx.results`. `ctx.start` must have
    /// been called.
    fn search_layer(
        &self,
        ctx: &mut SearchContext,
        entry: Scored,
        ef: usize,
        level: usize,
        accept: impl Fn(u32) -> bool,
        probe: &Probe<'_>,
    ) {
        ctx.visit(entry.slot);
        ctx.candidates.push(std::cmp::Reverse(entry));
        let mut bound = f32::INFINITY;
        if accept(entry.slot) {
            ctx.results.push(entry);
            bound = entry.dist;
        }
        while let Some(std::cmp::Reverse(current)) = ctx.candidates.pop() {
            if current.dist > bound && ctx.results.len() >= ef {
                break;
            }
            // The next candidate's neighbour list is likely needed next.
            if let Some(std::cmp::Reverse(next)) = ctx.candidates.peek() {
                prefetch(self.block(next.slot, level).as_ptr());
            }
            let neighbours = self.neighbours(current.slot, level);
            for n in neighbours {
                ctx.prefetch_visited(n.load(Relaxed));
            }
            ctx.batch.clear();
            for n in neighbours {
                let n = n.load(Relaxed);
                if ctx.visit(n) {
                    self.prefetch_row(probe, n);
                    ctx.batch.push(n);
                }
            }
            let mut i = 0;
            while i < ctx.batch.len() {
                let (slots, dists, count) = match ctx.batch[i..] {
                    [a, b, c, d, ..] => {
                        let slots = [a, b, c, d];
                        (slots, self.distance4(probe, slots), 4)
                    }
                    // Two or three left: one four-row call (the last row
                    // repeated) costs less than two or three single ones.
                    [a, b, c] => {
                        let slots = [a, b, c, c];
                        (slots, self.distance4(probe, slots), 3)
                    }
                    [a, b] => {
                        let slots = [a, b, b, b];
                        (slots, self.distance4(probe, slots), 2)
                    }
                    [a, ..] => ([a; 4], [self.distance(probe, a); 4], 1),
                    [] => break,
                };
                i += count;
                for (&n, &d) in slots.iter().zip(&dists).take(count) {
                    if ctx.results.len() < ef || d < bound {
                        ctx.candidates
                            .push(std::cmp::Reverse(Scored { dist: d, slot: n }));
                        if accept(n) {
                            let item = Scored { dist: d, slot: n };
                            if ctx.results.len() < ef {
                                ctx.results.push(item);
                            } else if let Some(mut worst) = ctx.results.peek_mut() {
                                // One sift instead of a push and a pop.
                                *worst = item;
                            }
                            if let Some(worst) = ctx.results.peek() {
                                bound = worst.dist;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Asks the CPU to start loading the first cache line of the row the
    /// probe's distance to `slot` reads (f32 row or SQ8 codes); the hardware
    /// prefetcher follows on from there.
    #[inline(always)]
    fn prefetch_row(&self, probe: &Probe<'_>, slot: u32) {
        let at = slot as usize * self.dimension;
        match probe {
            Probe::Sq8(sq8, ..) | Probe::Sq8Q16(sq8, ..) => prefetch(sq8.codes[at..].as_ptr()),
            Probe::F32(_) => prefetch(self.vectors[at..].as_ptr()),
        }
    }

    /// Gives `slot` its neighbours on `level` from the sorted candidates in
    /// `ctx.sorted`, and adds `slot` to each of theirs (pruning full lists
    /// with the same heuristic).
    fn connect(&self, ctx: &mut SearchContext, slot: u32, level: usize) {
        let SearchContext {
            sorted,
            selected,
            pool,
            kept,
            buffers,
            ..
        } = ctx;
        self.select(sorted, self.params.m, selected, buffers);
        {
            let _lock = self.locks[slot as usize].lock();
            let block = self.block(slot, level);
            let count = selected.len().min(block.len() - 1);
            for (word, &n) in block[1..].iter().zip(selected.iter()) {
                word.store(n, Relaxed);
            }
            block[0].store(count as u32, Relaxed);
            debug_assert_eq!(count, selected.len(), "more selected than M");
            self.debug_check_block(slot, level);
        }
        let capacity = if level == 0 {
            self.params.m0
        } else {
            self.params.m
        };
        for &n in selected.iter() {
            if n == slot {
                continue;
            }
            let _lock = self.locks[n as usize].lock();
            let block = self.block(n, level);
            let count = (block[0].load(Relaxed) as usize).min(capacity);
            if block[1..1 + count].iter().any(|w| w.load(Relaxed) == slot) {
                continue;
            }
            if count < capacity {
                block[1 + count].store(slot, Relaxed);
                block[0].store(count as u32 + 1, Relaxed);
                self.debug_check_block(n, level);
                continue;
            }
            pool.clear();
            {
                let base = self.slot_probe(n, buffers);
                pool.push(Scored {
                    dist: self.distance(&base, slot),
                    slot,
                });
                let neighbours = &block[1..1 + count];
                let mut fours = neighbours.chunks_exact(4);
                for four in &mut fours {
                    let slots = [0, 1, 2, 3].map(|j| four[j].load(Relaxed));
                    let dists = self.distance4(&base, slots);
                    pool.extend(
                        dists
                            .into_iter()
                            .zip(slots)
                            .map(|(dist, slot)| Scored { dist, slot }),
                    );
                }
                pool.extend(fours.remainder().iter().map(|w| {
                    let s = w.load(Relaxed);
                    Scored {
                        dist: self.distance(&base, s),
                        slot: s,
                    }
                }));
            }
            pool.sort_unstable();
            self.select(pool, capacity, kept, buffers);
            for (word, &s) in block[1..].iter().zip(kept.iter()) {
                word.store(s, Relaxed);
            }
            block[0].store(kept.len() as u32, Relaxed);
            self.debug_check_block(n, level);
        }
    }

    /// Asserts, in debug builds, what searches and the encoder rely on in
    /// the neighbour block of `slot` on `level`: at most its capacity (`M0`
    /// or `M`) of neighbours, each an existing slot other than `slot` whose
    /// level reaches `level`. Called after each block is written, under its
    /// lock, at the cost of one pass over the block the write just made.
    fn debug_check_block(&self, slot: u32, level: usize) {
        if !cfg!(debug_assertions) {
            return;
        }
        let block = self.block(slot, level);
        let count = block[0].load(Relaxed) as usize;
        debug_assert!(
            count < block.len(),
            "slot {slot} has {count} neighbours on level {level} (capacity {})",
            block.len() - 1
        );
        for word in &block[1..1 + count.min(block.len() - 1)] {
            let n = word.load(Relaxed);
            debug_assert!(
                n != slot
                    && self
                        .levels
                        .get(n as usize)
                        .is_some_and(|&l| usize::from(l) >= level),
                "slot {slot} links to {n} on level {level}, which is not another node there"
            );
        }
    }

    /// Asserts, in debug builds, the sizes of the per-slot arrays (O(1)).
    fn debug_check_layout(&self) {
        let slots = self.slots();
        debug_assert!(
            self.levels.len() == slots
                && self.upper_start.len() == slots
                && self.locks.len() == slots
                && self.links0.len() == slots * (self.params.m0 + 1)
                && self.deleted.len() == slots.div_ceil(64),
            "per-slot arrays disagree with {slots} slots"
        );
        debug_assert_eq!(
            self.vectors.len(),
            if self.keeps_f32() {
                slots * self.dimension
            } else {
                0
            },
            "f32 rows"
        );
        debug_assert_eq!(
            self.slot_of.len() + self.deleted_count,
            slots,
            "live ids and tombstones do not add up to the slots"
        );
        if let Some(sq8) = &self.sq8 {
            sq8.debug_check(self.dimension, slots);
        }
    }

    /// Asserts, in debug builds, every structural invariant: the layout,
    /// the id ↔ slot bijection over live slots, the tombstone count, the
    /// levels and upper-block offsets, every neighbour block and the entry
    /// point (a node of the top level). O(slots · M0): called after bulk
    /// work of at least that cost (a decode, a batch at least as large as
    /// the index was — which every rebuild is).
    fn debug_check_all(&self) {
        if !cfg!(debug_assertions) {
            return;
        }
        self.debug_check_layout();
        let tombstones: usize = self.deleted.iter().map(|w| w.count_ones() as usize).sum();
        debug_assert_eq!(tombstones, self.deleted_count, "tombstone count");
        for (&id, &slot) in &self.slot_of {
            debug_assert!(
                self.ids.get(slot as usize) == Some(&id) && !self.is_deleted(slot),
                "id {id} maps to slot {slot}, which does not hold it live"
            );
        }
        let mut blocks = 0u32;
        for (slot, &level) in self.levels.iter().enumerate() {
            debug_assert!(level <= MAX_LEVEL, "slot {slot} has level {level}");
            debug_assert_eq!(self.upper_start[slot], blocks, "upper blocks of {slot}");
            blocks += u32::from(level);
            for l in 0..=usize::from(level) {
                self.debug_check_block(slot as u32, l);
            }
        }
        debug_assert_eq!(
            self.upper.len(),
            blocks as usize * (self.params.m + 1),
            "upper blocks"
        );
        let top = self.levels.iter().max().map(|&l| usize::from(l));
        debug_assert_eq!(
            self.entry_point().map(|(slot, level)| {
                debug_assert_eq!(usize::from(self.levels[slot as usize]), level);
                level
            }),
            top,
            "the entry point is not a node of the top level"
        );
    }

    /// The neighbour-selection heuristic (the paper's algorithm 4): walks the
    /// candidates from the closest and keeps one only if it is closer to the
    /// base than to every one kept so far, up to `m`. With at most `m`
    /// candidates all are kept.
    fn select(&self, sorted: &[Scored], m: usize, out: &mut Vec<u32>, buffers: &mut ProbeBuffers) {
        out.clear();
        if sorted.len() <= m {
            out.extend(sorted.iter().map(|s| s.slot));
            return;
        }
        for c in sorted {
            if out.len() >= m {
                break;
            }
            let probe = self.slot_probe(c.slot, buffers);
            let mut fours = out.chunks_exact(4);
            let diverse = fours.all(|four| {
                let slots = [four[0], four[1], four[2], four[3]];
                self.distance4(&probe, slots).iter().all(|&d| d > c.dist)
            }) && fours
                .remainder()
                .iter()
                .all(|&kept| self.distance(&probe, kept) > c.dist);
            if diverse {
                out.push(c.slot);
            }
        }
    }

    // ----- deletion and compaction -----

    /// Deletes `id`: its slot becomes a tombstone (never returned, still
    /// routed through) until [`Self::compact`] removes it.
    pub fn delete(&mut self, id: u64) -> Result<()> {
        let slot = self.slot_of.remove(&id).ok_or(Error::NotFound(id))?;
        debug_assert!(
            self.ids[slot as usize] == id && !self.is_deleted(slot),
            "id {id} mapped to slot {slot}, which does not hold it live"
        );
        self.deleted[slot as usize / 64] |= 1 << (slot % 64);
        self.deleted_count += 1;
        Ok(())
    }

    /// Deletes `id` like [`Hnsw::delete`] and overwrites what the index
    /// keeps of its vector (the f32 row and the SQ8 codes, with zeros), so
    /// nothing of it stays in memory or in an encoding of the index. Until
    /// compaction the slot still routes searches, as a point at the
    /// origin (SQ8: at the per-dimension minimum).
    pub fn erase(&mut self, id: u64) -> Result<()> {
        let slot = *self.slot_of.get(&id).ok_or(Error::NotFound(id))? as usize;
        self.delete(id)?;
        let d = self.dimension;
        if let Some(row) = self.vectors.get_mut(slot * d..(slot + 1) * d) {
            row.fill(0.0);
        }
        if let Some(sq8) = &mut self.sq8 {
            sq8.erase(slot, d);
        }
        Ok(())
    }

    /// Whether tombstones exceed `compact_threshold` of the slots.
    pub fn needs_compaction(&self) -> bool {
        self.deleted_count > 0
            && self.deleted_count as f64 > self.params.compact_threshold * self.slots() as f64
    }

    /// Rebuilds the graph from the live vectors once tombstones pass the
    /// threshold ([`Self::needs_compaction`]); returns whether it did.
    pub fn compact(&mut self) -> Result<bool> {
        if !self.needs_compaction() {
            return Ok(false);
        }
        self.rebuild()?;
        Ok(true)
    }

    /// Rebuilds the graph from the live vectors now: tombstones are dropped,
    /// slots renumbered, SQ8 ranges refitted. Ids are kept; vectors too,
    /// except that a [`Quantization::Sq8Compact`] index rebuilds from its
    /// decoded codes.
    pub fn rebuild(&mut self) -> Result<()> {
        let mut fresh = Hnsw::new(self.dimension, self.metric, self.params.clone())?;
        let live: Vec<u32> = (0..self.slots() as u32)
            .filter(|&s| !self.is_deleted(s))
            .collect();
        let ids: Vec<u64> = live.iter().map(|&s| self.ids[s as usize]).collect();
        let mut vectors = Vec::with_capacity(live.len() * self.dimension);
        let mut decoded = Vec::new();
        for &s in &live {
            vectors.extend_from_slice(self.row(s, &mut decoded));
        }
        fresh.insert_batch(&ids, &vectors)?;
        *self = fresh;
        Ok(())
    }

    /// The stored row of `slot`: the f32 row, or the decoded codes (in
    /// `decoded`) when only codes are kept.
    fn row<'a>(&'a self, slot: u32, decoded: &'a mut Vec<f32>) -> &'a [f32] {
        match &self.sq8 {
            Some(sq8) if !self.keeps_f32() => {
                sq8.decode_into(slot, self.dimension, decoded);
                decoded
            }
            _ => self.vector(slot),
        }
    }

    // ----- search -----

    /// The `k` nearest live vectors to `query` at the default width, nearest
    /// first (uses a per-thread [`SearchContext`]).
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Neighbor>> {
        self.search_params(query, &SearchParams::k(k))
    }

    /// [`Self::search_with`] on a per-thread context, returning an owned
    /// vector.
    pub fn search_params(&self, query: &[f32], params: &SearchParams<'_>) -> Result<Vec<Neighbor>> {
        CONTEXT.with(|ctx| match ctx.try_borrow_mut() {
            Ok(mut ctx) => self.search_with(&mut ctx, query, params).map(<[_]>::to_vec),
            // A predicate that searches this thread's indices again.
            Err(_) => self
                .search_with(&mut SearchContext::new(), query, params)
                .map(<[_]>::to_vec),
        })
    }

    /// Searches with a caller-held context: once the context has grown to
    /// the index, the search allocates nothing. Results, nearest first, live
    /// in the context until its next search.
    pub fn search_with<'c>(
        &self,
        ctx: &'c mut SearchContext,
        query: &[f32],
        params: &SearchParams<'_>,
    ) -> Result<&'c [Neighbor]> {
        let mut prepared = std::mem::take(&mut ctx.query);
        let checked = self
            .metric
            .prepare_into(self.dimension, query, &mut prepared);
        if checked.is_ok() {
            self.search_prepared(ctx, &prepared, params);
        }
        ctx.query = prepared;
        checked?;
        Ok(&ctx.out)
    }

    /// The search proper, on a checked and prepared query; results go to
    /// `ctx.out`.
    fn search_prepared(&self, ctx: &mut SearchContext, query: &[f32], params: &SearchParams<'_>) {
        ctx.out.clear();
        if params.k == 0 || self.is_empty() {
            return;
        }
        let ef = params.ef.unwrap_or(self.params.ef_search).max(params.k);
        let mut scaled = std::mem::take(&mut ctx.scaled_query);
        let mut q16 = std::mem::take(&mut ctx.q16_query);
        let probe = match (&self.sq8, self.q16_kernels()) {
            (Some(sq8), Some(kernels)) => {
                let terms = sq8.prepare_query(query, &mut scaled);
                let unit = Sq8::quantize_query(&scaled, &mut q16);
                Probe::Sq8Q16(sq8, &q16, unit, terms, kernels)
            }
            (Some(sq8), None) => {
                let terms = sq8.prepare_query(query, &mut scaled);
                Probe::Sq8(sq8, &scaled, terms)
            }
            (None, _) => Probe::F32(query),
        };
        // Approximate distances are re-ranked, so keep `ef` of them.
        let keep = if self.sq8.is_some() { ef } else { params.k };
        let exact_slots: Option<Box<dyn Iterator<Item = u32> + '_>> = match params.filter {
            Filter::Allow(set) if set.len() <= self.exact_limit(ef) as u64 => Some(Box::new(
                set.iter().filter_map(|id| self.slot_of.get(&id).copied()),
            )),
            Filter::Predicate(p) if self.predicate_is_selective(p, ef) => {
                Some(Box::new((0..self.slots() as u32).filter(move |&s| {
                    !self.is_deleted(s) && p(self.ids[s as usize])
                })))
            }
            _ => None,
        };
        if let Some(slots) = exact_slots {
            let mut top = TopK::new(keep, &mut ctx.results);
            for s in slots {
                top.push(self.distance(&probe, s), s);
            }
        } else if let Some((entry, top)) = self.entry_point() {
            let filter = params.filter;
            let accept = |s: u32| {
                !self.is_deleted(s) && (filter.is_all() || filter.accepts(self.ids[s as usize]))
            };
            ctx.start(self.slots());
            let mut at = Scored {
                dist: self.distance(&probe, entry),
                slot: entry,
            };
            for l in (1..=top).rev() {
                at = self.greedy(at, l, &probe);
            }
            self.search_layer(ctx, at, ef, 0, accept, &probe);
        }
        if self.sq8.is_some() {
            self.rerank(ctx, query, params.vectors);
        } else {
            drain_sorted(&mut ctx.results, &mut ctx.sorted);
        }
        ctx.scaled_query = scaled;
        ctx.q16_query = q16;
        ctx.out
            .extend(ctx.sorted.iter().take(params.k).map(|s| Neighbor {
                id: self.ids[s.slot as usize],
                distance: s.dist,
            }));
        debug_assert!(
            ctx.out
                .windows(2)
                .all(|w| w[0].distance.total_cmp(&w[1].distance).is_le()),
            "results out of order"
        );
    }

    /// Moves `ctx.results` (approximate SQ8 distances) to `ctx.sorted` with
    /// exact distances: from the f32 rows when the index keeps them, else
    /// from `source` (rows it lacks keep their approximate distance).
    fn rerank(&self, ctx: &mut SearchContext, query: &[f32], source: Option<&dyn VectorSource>) {
        ctx.sorted.clear();
        if self.keeps_f32() {
            ctx.sorted.extend(ctx.results.drain());
            // Four rows per kernel call: each query block is loaded once.
            let mut quads = ctx.sorted.chunks_exact_mut(4);
            for quad in &mut quads {
                let slots = [quad[0].slot, quad[1].slot, quad[2].slot, quad[3].slot];
                let dists =
                    self.metric
                        .distance4(self.kernels, query, slots.map(|s| self.vector(s)));
                for (s, dist) in quad.iter_mut().zip(dists) {
                    s.dist = dist;
                }
            }
            for s in quads.into_remainder() {
                s.dist = self
                    .metric
                    .distance(self.kernels, query, self.vector(s.slot));
            }
            ctx.sorted.sort_unstable();
            return;
        }
        for s in ctx.results.drain() {
            let dist = source
                .and_then(|src| src.vector(self.ids[s.slot as usize]))
                .filter(|v| v.len() == self.dimension)
                .map_or(s.dist, |v| self.external_distance(query, v));
            ctx.sorted.push(Scored { dist, slot: s.slot });
        }
        ctx.sorted.sort_unstable();
    }

    /// The distance from a prepared query to a vector as the caller stored
    /// it (not normalised).
    fn external_distance(&self, query: &[f32], v: &[f32]) -> f32 {
        let k = self.kernels;
        match self.metric {
            Metric::Cosine => {
                let norm = (k.dot)(v, v).sqrt();
                if norm > 0.0 {
                    1.0 - (k.dot)(query, v) / norm
                } else {
                    1.0
                }
            }
            metric => metric.distance(k, query, v),
        }
    }

    /// Filters passing at most this many vectors are answered by exact search
    /// over them: the larger of `2 · ef · M0` (about what a graph search of
    /// width `ef` computes) and 5% of the live vectors.
    pub fn exact_limit(&self, ef: usize) -> usize {
        (2 * ef * self.params.m0).max(self.len() / 20)
    }

    /// Whether a predicate passing the share of a sample of slots it passes
    /// would let through at most [`Self::exact_limit`] vectors.
    fn predicate_is_selective(&self, p: &dyn Fn(u64) -> bool, ef: usize) -> bool {
        let slots = self.slots();
        if self.len() <= self.exact_limit(ef) {
            return true;
        }
        let step = (slots / PREDICATE_SAMPLE).max(1);
        let (mut seen, mut passed) = (0usize, 0usize);
        for slot in (0..slots).step_by(step) {
            if !self.is_deleted(slot as u32) {
                seen += 1;
                passed += usize::from(p(self.ids[slot]));
            }
        }
        seen > 0 && passed * self.len() <= self.exact_limit(ef) * seen
    }

    /// Rebuilds the parts of the index that are not stored: locks and the
    /// upper-level offsets (used by the decoder).
    pub(crate) fn restore_derived(&mut self) {
        self.locks = (0..self.ids.len()).map(|_| Mutex::new(())).collect();
        self.upper_start.clear();
        let mut blocks = 0u32;
        for &level in &self.levels {
            self.upper_start.push(blocks);
            blocks += u32::from(level);
        }
    }

    /// Assembles an index from decoded parts (the decoder has checked them).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        dimension: usize,
        metric: Metric,
        params: HnswParams,
        vectors: Vec<f32>,
        ids: Vec<u64>,
        levels: Vec<u8>,
        links0: Vec<u32>,
        upper: Vec<u32>,
        entry: Option<(u32, u8)>,
        deleted: Vec<u64>,
        sq8: Option<Sq8>,
    ) -> Result<Self> {
        let mut index = Hnsw::new(dimension, metric, params)?;
        index.vectors = vectors;
        index.levels = levels;
        index.links0 = links0.into_iter().map(AtomicU32::new).collect();
        index.upper = upper.into_iter().map(AtomicU32::new).collect();
        if let Some((slot, level)) = entry {
            index.set_entry_point(slot, usize::from(level));
        }
        index.deleted_count = deleted.iter().map(|w| w.count_ones() as usize).sum();
        index.deleted = deleted;
        index.slot_of = ids
            .iter()
            .enumerate()
            .filter(|&(slot, _)| !index.is_deleted(slot as u32))
            .map(|(slot, &id)| (id, slot as u32))
            .collect();
        index.ids = ids;
        index.sq8 = sq8;
        index.restore_derived();
        index.debug_check_all();
        Ok(index)
    }

    /// The entry point as stored (slot, level).
    pub(crate) fn stored_entry(&self) -> Option<(u32, u8)> {
        self.entry_point().map(|(s, l)| (s, l as u8))
    }

    /// The ids of `id`'s neighbours on layer 0, in stored order, leaving out
    /// deleted ones: the graph's own near-neighbour lists, for callers that
    /// walk associations (empty when `id` is not in the index).
    pub fn neighbour_ids(&self, id: u64) -> impl Iterator<Item = u64> + '_ {
        let block = match self.slot_of.get(&id) {
            Some(&slot) if !self.is_deleted(slot) => self.neighbours(slot, 0),
            _ => &[],
        };
        block.iter().filter_map(move |s| {
            let s = s.load(Relaxed);
            (!self.is_deleted(s))
                .then(|| self.ids.get(s as usize).copied())
                .flatten()
        })
    }

    /// Per-slot neighbour counts on level 0 (for statistics and tests).
    pub fn level0_degrees(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.slots() as u32).map(|s| self.neighbours(s, 0).len())
    }
}

/// splitmix64: a fast, well-mixed hash of a 64-bit value.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{SCALAR, scalar};

    /// The scalar set with the integer SQ8 kernels switched on (as the
    /// simd128 set has them), so native tests run the `Sq8Q16` probe.
    static SCALAR_Q16: Kernels = Kernels {
        name: "scalar+q16",
        dot_q16: Some(scalar::dot_q16),
        dot_q16_4: Some(scalar::dot_q16_4),
        ..SCALAR
    };

    #[test]
    fn integer_sq8_traversal_finds_what_the_f32_sq8_traversal_finds() {
        let (dimension, count) = (48, 3_000);
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_add(1);
            (splitmix64(seed) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let vectors: Vec<f32> = (0..count * dimension).map(|_| next()).collect();
        let queries: Vec<f32> = (0..40 * dimension).map(|_| next()).collect();
        for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
            let mut params = HnswParams::new(12, 60);
            params.quantization = Quantization::Sq8;
            params.build_threads = 1;
            let mut index = Hnsw::new(dimension, metric, params).expect("index");
            let ids: Vec<u64> = (0..count as u64).collect();
            index.insert_batch(&ids, &vectors).expect("insert");
            assert!(index.sq8_active());
            let (mut same, mut total) = (0usize, 0usize);
            for query in queries.chunks_exact(dimension) {
                index.kernels = &SCALAR;
                let plain = index.search(query, 10).expect("search");
                index.kernels = &SCALAR_Q16;
                let integer = index.search(query, 10).expect("search");
                for hit in &integer {
                    // Re-ranked: the distance is the exact one.
                    let row = &vectors[hit.id as usize * dimension..][..dimension];
                    let mut prepared = Vec::new();
                    metric
                        .prepare_into(dimension, query, &mut prepared)
                        .expect("query");
                    let mut stored = Vec::new();
                    metric
                        .prepare_into(dimension, row, &mut stored)
                        .expect("row");
                    let exact = metric.distance(&SCALAR, &prepared, &stored);
                    assert!((hit.distance - exact).abs() < 1e-4, "{metric}");
                }
                same += integer.iter().filter(|h| plain.contains(h)).count();
                total += plain.len();
            }
            assert!(same * 100 >= total * 97, "{metric}: {same} of {total}");
        }
    }
}
