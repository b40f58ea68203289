//! [`FlatIndex`]: exact nearest-neighbour search over contiguous vectors.
//!
//! Every search computes the distance to every live vector with the SIMD
//! kernels and keeps the best `k` in a bounded heap. It is the ground truth
//! the graph is measured against, and the right index for small sets, where
//! a scan of a few thousand vectors is as fast as a graph walk and always
//! exact. Deletion moves the last row into the hole, so rows stay contiguous
//! and there are no tombstones.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::kernels::{Kernels, kernels};
use crate::metric::Metric;
use crate::search::{Filter, Neighbor, SearchContext, TopK, drain_sorted};

/// An exact (brute-force) vector index.
#[derive(Clone)]
pub struct FlatIndex {
    dimension: usize,
    metric: Metric,
    kernels: &'static Kernels,
    vectors: Vec<f32>,
    ids: Vec<u64>,
    slot_of: HashMap<u64, u32>,
}

impl std::fmt::Debug for FlatIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlatIndex")
            .field("dimension", &self.dimension)
            .field("metric", &self.metric)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl FlatIndex {
    /// An empty index of `dimension`-component vectors.
    pub fn new(dimension: usize, metric: Metric) -> Result<Self> {
        crate::metric::check_dimension(dimension)?;
        Ok(Self {
            dimension,
            metric,
            kernels: kernels(),
            vectors: Vec::new(),
            ids: Vec::new(),
            slot_of: HashMap::new(),
        })
    }

    /// An index holding `ids` and their already prepared `vectors` (the
    /// decoder's constructor: ids must be distinct, vectors finite).
    pub(crate) fn from_parts(
        dimension: usize,
        metric: Metric,
        ids: Vec<u64>,
        vectors: Vec<f32>,
    ) -> Result<Self> {
        let mut index = Self::new(dimension, metric)?;
        if vectors.len() != ids.len() * dimension {
            return Err(Error::InvalidParams(
                "ids and vectors differ in count".to_owned(),
            ));
        }
        for (slot, &id) in ids.iter().enumerate() {
            if index.slot_of.insert(id, slot as u32).is_some() {
                return Err(Error::DuplicateId(id));
            }
        }
        index.ids = ids;
        index.vectors = vectors;
        if cfg!(debug_assertions) {
            for slot in 0..index.ids.len() {
                index.debug_check_slot(slot);
            }
        }
        Ok(index)
    }

    /// Asserts, in debug builds, that rows and ids agree in number with the
    /// id map, and that `slot` (if still present) is where its id maps.
    fn debug_check_slot(&self, slot: usize) {
        debug_assert!(
            self.vectors.len() == self.ids.len() * self.dimension
                && self.slot_of.len() == self.ids.len(),
            "{} ids, {} mapped, {} components of dimension {}",
            self.ids.len(),
            self.slot_of.len(),
            self.vectors.len(),
            self.dimension
        );
        debug_assert!(
            self.ids
                .get(slot)
                .is_none_or(|id| self.slot_of.get(id) == Some(&(slot as u32))),
            "slot {slot} and the id map disagree"
        );
    }

    /// Vector dimension.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Distance metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Vectors held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no vector is held.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether `id` is present.
    pub fn contains(&self, id: u64) -> bool {
        self.slot_of.contains_key(&id)
    }

    /// The stored vector of `id` (normalised under cosine).
    pub fn get(&self, id: u64) -> Option<&[f32]> {
        self.slot_of.get(&id).map(|&s| self.row(s as usize))
    }

    /// The ids, in storage order.
    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    fn row(&self, slot: usize) -> &[f32] {
        &self.vectors[slot * self.dimension..(slot + 1) * self.dimension]
    }

    /// Inserts one vector (refused if `id` is present: use
    /// [`Self::update`]).
    pub fn insert(&mut self, id: u64, vector: &[f32]) -> Result<()> {
        if self.contains(id) {
            return Err(Error::DuplicateId(id));
        }
        self.push(id, vector)
    }

    /// Inserts `ids.len()` vectors given as consecutive rows; on any error
    /// nothing is inserted.
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
        if self.len() + ids.len() > crate::hnsw::MAX_SLOTS {
            return Err(Error::Full(crate::hnsw::MAX_SLOTS));
        }
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        let mut scratch = Vec::with_capacity(dim);
        for (&id, row) in ids.iter().zip(vectors.chunks_exact(dim)) {
            self.metric.prepare_into(dim, row, &mut scratch)?;
            if self.contains(id) || !seen.insert(id) {
                return Err(Error::DuplicateId(id));
            }
        }
        crate::grow::reserve(&mut self.vectors, vectors.len());
        crate::grow::reserve(&mut self.ids, ids.len());
        for (&id, row) in ids.iter().zip(vectors.chunks_exact(dim)) {
            self.push(id, row)?;
        }
        Ok(())
    }

    /// Replaces the vector of `id`, or inserts it.
    pub fn update(&mut self, id: u64, vector: &[f32]) -> Result<()> {
        let mut prepared = Vec::with_capacity(self.dimension);
        self.metric
            .prepare_into(self.dimension, vector, &mut prepared)?;
        match self.slot_of.get(&id) {
            Some(&slot) => {
                let at = slot as usize * self.dimension;
                self.vectors[at..at + self.dimension].copy_from_slice(&prepared);
                Ok(())
            }
            None => self.push(id, vector),
        }
    }

    fn push(&mut self, id: u64, vector: &[f32]) -> Result<()> {
        if self.len() >= crate::hnsw::MAX_SLOTS {
            return Err(Error::Full(crate::hnsw::MAX_SLOTS));
        }
        let mut prepared = Vec::with_capacity(self.dimension);
        self.metric
            .prepare_into(self.dimension, vector, &mut prepared)?;
        self.slot_of.insert(id, self.ids.len() as u32);
        crate::grow::reserve(&mut self.ids, 1);
        self.ids.push(id);
        crate::grow::reserve(&mut self.vectors, prepared.len());
        self.vectors.extend_from_slice(&prepared);
        self.debug_check_slot(self.ids.len() - 1);
        Ok(())
    }

    /// Removes `id`; the last row moves into its place.
    pub fn delete(&mut self, id: u64) -> Result<()> {
        let slot = self.slot_of.remove(&id).ok_or(Error::NotFound(id))? as usize;
        let last = self.ids.len() - 1;
        if slot != last {
            let moved = self.ids[last];
            self.ids[slot] = moved;
            self.slot_of.insert(moved, slot as u32);
            let dim = self.dimension;
            self.vectors
                .copy_within(last * dim..(last + 1) * dim, slot * dim);
        }
        self.ids.pop();
        self.vectors.truncate(last * self.dimension);
        self.debug_check_slot(slot);
        Ok(())
    }

    /// The `k` nearest vectors to `query`, nearest first.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Neighbor>> {
        self.search_filtered(query, k, Filter::All)
    }

    /// The `k` nearest vectors that pass `filter`, nearest first.
    pub fn search_filtered(
        &self,
        query: &[f32],
        k: usize,
        filter: Filter<'_>,
    ) -> Result<Vec<Neighbor>> {
        let mut ctx = SearchContext::new();
        self.search_with(&mut ctx, query, k, filter)
            .map(<[_]>::to_vec)
    }

    /// [`Self::search_filtered`] with a caller-held context (no allocation
    /// once the context has grown).
    pub fn search_with<'c>(
        &self,
        ctx: &'c mut SearchContext,
        query: &[f32],
        k: usize,
        filter: Filter<'_>,
    ) -> Result<&'c [Neighbor]> {
        let mut prepared = std::mem::take(&mut ctx.query);
        let checked = self
            .metric
            .prepare_into(self.dimension, query, &mut prepared);
        ctx.out.clear();
        if checked.is_ok() {
            let mut top = TopK::new(k, &mut ctx.results);
            match filter {
                Filter::All => {
                    let dim = self.dimension;
                    let mut blocks = self.vectors.chunks_exact(4 * dim);
                    let mut slot = 0u32;
                    for block in &mut blocks {
                        let (r0, rest) = block.split_at(dim);
                        let (r1, rest) = rest.split_at(dim);
                        let (r2, r3) = rest.split_at(dim);
                        let d = self
                            .metric
                            .distance4(self.kernels, &prepared, [r0, r1, r2, r3]);
                        for (j, dist) in d.into_iter().enumerate() {
                            top.push(dist, slot + j as u32);
                        }
                        slot += 4;
                    }
                    for row in blocks.remainder().chunks_exact(dim) {
                        top.push(self.distance(&prepared, row), slot);
                        slot += 1;
                    }
                }
                Filter::Allow(set) if (set.len() as usize) < self.len() / 4 => {
                    for slot in set.iter().filter_map(|id| self.slot_of.get(&id)) {
                        top.push(self.distance(&prepared, self.row(*slot as usize)), *slot);
                    }
                }
                _ => {
                    for (slot, row) in self.vectors.chunks_exact(self.dimension).enumerate() {
                        if filter.accepts(self.ids[slot]) {
                            top.push(self.distance(&prepared, row), slot as u32);
                        }
                    }
                }
            }
            drain_sorted(&mut ctx.results, &mut ctx.sorted);
            ctx.out.extend(ctx.sorted.iter().map(|s| Neighbor {
                id: self.ids[s.slot as usize],
                distance: s.dist,
            }));
        }
        ctx.query = prepared;
        checked?;
        Ok(&ctx.out)
    }

    /// The `k` nearest to each of `queries` (consecutive rows), split over
    /// one thread per core with the `parallel` feature. Any bad query fails
    /// the whole call.
    pub fn search_batch(&self, queries: &[f32], k: usize) -> Result<Vec<Vec<Neighbor>>> {
        if !queries.len().is_multiple_of(self.dimension) {
            return Err(Error::InvalidParams(format!(
                "{} query components is not a multiple of the dimension {}",
                queries.len(),
                self.dimension
            )));
        }
        let rows: Vec<&[f32]> = queries.chunks_exact(self.dimension).collect();
        let mut out: Vec<Result<Vec<Neighbor>>> = Vec::with_capacity(rows.len());
        out.resize_with(rows.len(), || Ok(Vec::new()));
        let threads = if cfg!(feature = "parallel") {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            1
        };
        let share = rows.len().div_ceil(threads.max(1)).max(1);
        let run = |queries: &[&[f32]], results: &mut [Result<Vec<Neighbor>>]| {
            let mut ctx = SearchContext::new();
            for (q, r) in queries.iter().zip(results) {
                *r = self
                    .search_with(&mut ctx, q, k, Filter::All)
                    .map(<[_]>::to_vec);
            }
        };
        if threads > 1 && rows.len() > 1 {
            std::thread::scope(|scope| {
                for (queries, results) in rows.chunks(share).zip(out.chunks_mut(share)) {
                    scope.spawn(move || run(queries, results));
                }
            });
        } else {
            run(&rows, &mut out);
        }
        out.into_iter().collect()
    }

    #[inline(always)]
    fn distance(&self, query: &[f32], row: &[f32]) -> f32 {
        self.metric.distance(self.kernels, query, row)
    }

    /// Gives spare capacity back (after many deletions).
    pub fn shrink_to_fit(&mut self) {
        self.vectors.shrink_to_fit();
        self.ids.shrink_to_fit();
        self.slot_of.shrink_to_fit();
    }

    /// Approximate heap bytes of the vectors, ids and id map.
    pub fn memory_bytes(&self) -> usize {
        self.vectors.capacity() * 4
            + self.ids.capacity() * 8
            + self.slot_of.capacity() * (size_of::<u64>() + size_of::<u32>() + 1)
    }
}
