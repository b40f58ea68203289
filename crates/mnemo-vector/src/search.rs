//! What searches share: results ([`Neighbor`]), filters ([`Filter`]), the
//! reusable [`SearchContext`] and bounded top-k selection.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use roaring::RoaringTreemap;

/// One search result: an external id and its distance to the query (smaller
/// is closer; see [`crate::Metric`] for what the number means).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    /// The external id given at insertion.
    pub id: u64,
    /// Distance to the query under the index's metric.
    pub distance: f32,
}

/// Which ids a search may return. Filtered-out vectors still route a graph
/// search; they are never returned.
#[derive(Clone, Copy, Default)]
pub enum Filter<'a> {
    /// Every live vector.
    #[default]
    All,
    /// Only ids in this set. When the set is small the search is exact over
    /// it (see [`crate::Hnsw`]).
    Allow(&'a RoaringTreemap),
    /// Only ids for which the predicate returns true.
    Predicate(&'a dyn Fn(u64) -> bool),
}

impl Filter<'_> {
    /// Whether `id` passes.
    #[inline]
    pub fn accepts(&self, id: u64) -> bool {
        match self {
            Filter::All => true,
            Filter::Allow(set) => set.contains(id),
            Filter::Predicate(p) => p(id),
        }
    }

    /// Whether this filter lets everything through.
    pub fn is_all(&self) -> bool {
        matches!(self, Filter::All)
    }
}

impl std::fmt::Debug for Filter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filter::All => f.write_str("All"),
            Filter::Allow(set) => write!(f, "Allow({} ids)", set.len()),
            Filter::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

/// A distance and an internal slot, ordered by distance then slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scored {
    pub dist: f32,
    pub slot: u32,
}

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist
            .total_cmp(&other.dist)
            .then(self.slot.cmp(&other.slot))
    }
}

/// Reusable scratch space for searches: a visited set and preallocated heaps
/// and buffers. The visited set is a bit per slot whose touched words are
/// cleared when the next search starts: like epoch tags, resetting it costs
/// what the last search visited, not the index size, and at one bit per
/// node it stays in cache (a million-node index needs 128 KiB, where 16-bit
/// epoch tags need 2 MiB, more than this machine's L2). After its first few searches on an index
/// a context makes searches allocation-free. One context serves one search
/// at a time; keep one per thread.
#[derive(Debug, Default)]
pub struct SearchContext {
    /// One bit per slot.
    visited: Vec<u64>,
    /// Words of `visited` set since the last start, cleared at the next.
    touched: Vec<u32>,
    pub(crate) candidates: BinaryHeap<Reverse<Scored>>,
    pub(crate) results: BinaryHeap<Scored>,
    /// Unvisited neighbours of the node being expanded.
    pub(crate) batch: Vec<u32>,
    /// Candidates sorted for neighbour selection.
    pub(crate) sorted: Vec<Scored>,
    /// Selected neighbours.
    pub(crate) selected: Vec<u32>,
    /// A full neighbour list and its newcomer, while it is pruned.
    pub(crate) pool: Vec<Scored>,
    /// The pruned list.
    pub(crate) kept: Vec<u32>,
    /// Decoded rows for distances between stored codes.
    pub(crate) buffers: crate::hnsw::ProbeBuffers,
    /// The prepared (normalised) query.
    pub(crate) query: Vec<f32>,
    /// The query scaled for SQ8 distances.
    pub(crate) scaled_query: Vec<f32>,
    /// The scaled query quantised to i16 (integer SQ8 kernels).
    pub(crate) q16_query: Vec<i16>,
    /// The results handed back by `search_with`.
    pub(crate) out: Vec<Neighbor>,
}

impl SearchContext {
    /// An empty context; it grows to fit the indices it searches.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a search over `slots` slots: clears the visited words the last
    /// search touched (work proportional to what it visited, not to the
    /// index) and empties the heaps.
    pub(crate) fn start(&mut self, slots: usize) {
        let words = slots.div_ceil(64);
        if self.visited.len() < words {
            self.visited.resize(words, 0);
        }
        for &w in &self.touched {
            self.visited[w as usize] = 0;
        }
        self.touched.clear();
        self.candidates.clear();
        self.results.clear();
    }

    /// Marks `slot` visited; true if it was not visited before in this
    /// search.
    #[inline(always)]
    pub(crate) fn visit(&mut self, slot: u32) -> bool {
        let bit = 1u64 << (slot % 64);
        match self.visited.get_mut(slot as usize / 64) {
            Some(word) if *word & bit == 0 => {
                if *word == 0 {
                    self.touched.push(slot / 64);
                }
                *word |= bit;
                true
            }
            _ => false,
        }
    }

    /// Starts loading the visited bit of `slot`.
    #[inline(always)]
    pub(crate) fn prefetch_visited(&self, slot: u32) {
        crate::kernels::prefetch(self.visited.as_ptr().wrapping_add(slot as usize / 64));
    }

    /// Bytes held by this context's buffers.
    pub fn memory_bytes(&self) -> usize {
        self.visited.capacity() * 8
            + self.touched.capacity() * 4
            + (self.candidates.capacity()
                + self.results.capacity()
                + self.sorted.capacity()
                + self.pool.capacity())
                * size_of::<Scored>()
            + (self.batch.capacity() + self.selected.capacity() + self.kept.capacity()) * 4
            + (self.query.capacity() + self.scaled_query.capacity()) * 4
            + self.q16_query.capacity() * 2
            + self.out.capacity() * size_of::<Neighbor>()
            + self.buffers.memory_bytes()
    }
}

/// The `k` smallest of a stream of scored slots, by a bounded max-heap.
#[derive(Debug)]
pub(crate) struct TopK<'h> {
    k: usize,
    heap: &'h mut BinaryHeap<Scored>,
}

impl<'h> TopK<'h> {
    /// Selection of the `k` best into `heap` (cleared first).
    pub fn new(k: usize, heap: &'h mut BinaryHeap<Scored>) -> Self {
        heap.clear();
        Self { k, heap }
    }

    /// Offers one scored slot.
    #[inline]
    pub fn push(&mut self, dist: f32, slot: u32) {
        if self.k == 0 {
            return;
        }
        let item = Scored { dist, slot };
        if self.heap.len() < self.k {
            self.heap.push(item);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && item < *worst
        {
            *worst = item;
        }
    }
}

/// Empties `heap` into `out` in ascending order of distance.
pub(crate) fn drain_sorted(heap: &mut BinaryHeap<Scored>, out: &mut Vec<Scored>) {
    out.clear();
    out.extend(heap.drain());
    out.sort_unstable();
}
