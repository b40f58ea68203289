//! The warm tier's vectors: one byte per component (SQ8 on each vector's
//! own range) in one contiguous buffer, searched by an exact scan over
//! the codes that streams through memory. Hot memories keep
//! their f32 vectors in the HNSW graph ([`crate::vectors`]); cold ones keep
//! none in memory (their vectors stay in the log). See
//! [`crate::lifecycle`] for how memories move.

use serde::{Deserialize, Serialize};

use crate::base::IdMap;
use crate::base::{Scored, TopK};

/// One vector as the warm tier keeps it: `x[i] ≈ min + scale · code[i]`.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmVector {
    /// The codes, one byte per component.
    pub codes: Vec<u8>,
    /// The smallest component.
    pub min: f32,
    /// The step between codes.
    pub scale: f32,
    /// The decoded vector's length (for cosine).
    pub norm: f32,
}

impl WarmVector {
    /// Quantises `v` (finite components; the writer checked them).
    pub fn encode(v: &[f32]) -> Self {
        let min = v.iter().copied().fold(f32::INFINITY, f32::min);
        let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let (min, scale) =
            if v.is_empty() || max.partial_cmp(&min) != Some(std::cmp::Ordering::Greater) {
                (if v.is_empty() { 0.0 } else { min }, 0.0)
            } else {
                (min, (max - min) / 255.0)
            };
        let codes: Vec<u8> = v
            .iter()
            .map(|x| {
                if scale > 0.0 {
                    ((x - min) / scale).round().clamp(0.0, 255.0) as u8
                } else {
                    0
                }
            })
            .collect();
        let mut w = WarmVector {
            codes,
            min,
            scale,
            norm: 0.0,
        };
        w.norm = w.decode().iter().map(|x| x * x).sum::<f32>().sqrt();
        w
    }

    /// The vector the codes stand for.
    pub fn decode(&self) -> Vec<f32> {
        self.params().decode(&self.codes)
    }

    /// Cosine similarity with `query` (whose length is `query_norm` and
    /// whose components sum to `query_sum`; see [`RowParams::cosine`]).
    fn cosine(&self, query: &[f32], query_norm: f32, query_sum: f32) -> f32 {
        let dot_codes = (mnemo_vector::kernels::kernels().dot_u8)(query, &self.codes);
        self.params().cosine(dot_codes, query_norm, query_sum)
    }

    /// The decoding parameters.
    fn params(&self) -> RowParams {
        RowParams {
            min: self.min,
            scale: self.scale,
            norm: self.norm,
        }
    }

    /// Heap bytes of this vector's codes (its inline fields live in the
    /// store's table: see [`WarmStore::memory_bytes`]).
    pub fn bytes(&self) -> usize {
        self.codes.capacity()
    }

    /// An upper bound of what [`WarmStore::memory_bytes`] counts per
    /// vector of `dimension` components: its row (codes, id, parameters)
    /// with the buffers' spare capacity (at most an eighth), and its entry
    /// in the id table (the table up to twice its entries). For a budget
    /// to plan by.
    pub fn planned_bytes(dimension: usize) -> usize {
        ((dimension + ROW_OVERHEAD) * 9).div_ceil(8) + (2 * MAP_ENTRY_BYTES * 8).div_ceil(7)
    }
}

/// A row's decoding parameters: `x[i] ≈ min + scale · code[i]`, and the
/// decoded vector's length.
#[derive(Debug, Clone, Copy)]
struct RowParams {
    min: f32,
    scale: f32,
    norm: f32,
}

impl RowParams {
    /// The vector `codes` stand for.
    fn decode(&self, codes: &[u8]) -> Vec<f32> {
        codes
            .iter()
            .map(|&c| self.min + self.scale * f32::from(c))
            .collect()
    }

    /// Cosine similarity with a query of length `query_norm` whose
    /// components sum to `query_sum`, from `dot_codes = Σ q[i]·c[i]` (by the
    /// machine's SIMD kernel, [`mnemo_vector::kernels::Kernels::dot_u8`]):
    /// `q·x = min·Σq + scale·dot_codes`. 0 when undefined (a zero vector).
    fn cosine(&self, dot_codes: f32, query_norm: f32, query_sum: f32) -> f32 {
        let c = (self.min * query_sum + self.scale * dot_codes) / (query_norm * self.norm);
        if c.is_finite() { c } else { 0.0 }
    }
}

/// Bytes of a row's id and parameters, besides its codes.
const ROW_OVERHEAD: usize = 8 + std::mem::size_of::<RowParams>();

/// Bytes a row's entry takes in the id table (id, row, control byte).
const MAP_ENTRY_BYTES: usize = std::mem::size_of::<(u64, u32)>() + 1;

/// The warm tier's vectors: each one's codes in one row of a contiguous
/// buffer, so a search streams through memory instead of chasing one
/// allocation per vector. Rows stay dense: a removed row takes the last
/// row's place. Vectors whose length is not the first kept vector's (a
/// namespace has one dimension, so only by mistake) are kept aside and
/// scanned the same way.
#[derive(Debug, Default, Clone)]
pub struct WarmStore {
    /// The row of each memory id.
    rows: IdMap<u32>,
    /// The memory id in each row.
    ids: Vec<u64>,
    /// Each row's parameters.
    params: Vec<RowParams>,
    /// The rows' codes, `dimension` bytes each, row after row.
    codes: Vec<u8>,
    /// The length of every row's codes (set by the first vector kept while
    /// the store is empty).
    dimension: usize,
    /// Vectors of another length.
    odd: IdMap<WarmVector>,
}

impl WarmStore {
    /// Keeps `v` for memory `id` (replacing any).
    pub(crate) fn insert(&mut self, id: u64, v: WarmVector) {
        self.remove(id);
        if self.ids.is_empty() && self.odd.is_empty() {
            self.dimension = v.codes.len();
        }
        if v.codes.len() != self.dimension {
            self.odd.insert(id, v);
            return;
        }
        let row = self.ids.len();
        mnemo_vector::grow::reserve(&mut self.ids, 1);
        mnemo_vector::grow::reserve(&mut self.params, 1);
        mnemo_vector::grow::reserve(&mut self.codes, self.dimension);
        self.ids.push(id);
        self.params.push(RowParams {
            min: v.min,
            scale: v.scale,
            norm: v.norm,
        });
        self.codes.extend_from_slice(&v.codes);
        self.rows.insert(id, row as u32);
    }

    /// Drops memory `id`'s vector; whether there was one.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let Some(row) = self.rows.remove(&id) else {
            return self.odd.remove(&id).is_some();
        };
        let row = row as usize;
        let last = self.ids.len() - 1;
        if row != last {
            let d = self.dimension;
            self.ids[row] = self.ids[last];
            self.params[row] = self.params[last];
            self.codes.copy_within(last * d..(last + 1) * d, row * d);
            self.rows.insert(self.ids[row], row as u32);
        }
        self.ids.truncate(last);
        self.params.truncate(last);
        self.codes.truncate(last * self.dimension);
        self.give_back_spare();
        true
    }

    /// Frees spare capacity once it passes an eighth of what is kept (the
    /// buffers) or the entries (the id table, past twice them),
    /// so the store's bytes stay within [`WarmVector::planned_bytes`] per
    /// vector as it shrinks.
    fn give_back_spare(&mut self) {
        let n = self.ids.len();
        if self.ids.capacity() > n + n / 8 {
            self.ids.shrink_to(n + n / 16);
            self.params.shrink_to(n + n / 16);
            self.codes.shrink_to((n + n / 16) * self.dimension);
        }
        if self.rows.capacity() > 2 * self.rows.len() {
            self.rows.shrink_to_fit();
        }
    }

    /// The vector in `row`.
    fn vector_at(&self, row: usize) -> WarmVector {
        let p = self.params[row];
        WarmVector {
            codes: self.row_codes(row).to_vec(),
            min: p.min,
            scale: p.scale,
            norm: p.norm,
        }
    }

    /// The codes of `row`.
    fn row_codes(&self, row: usize) -> &[u8] {
        &self.codes[row * self.dimension..(row + 1) * self.dimension]
    }

    /// Memory `id`'s vector, decoded from its codes.
    pub fn decode(&self, id: u64) -> Option<Vec<f32>> {
        match self.rows.get(&id) {
            Some(&row) => {
                let row = row as usize;
                Some(self.params[row].decode(self.row_codes(row)))
            }
            None => self.odd.get(&id).map(WarmVector::decode),
        }
    }

    /// Vectors kept.
    pub fn len(&self) -> usize {
        self.ids.len() + self.odd.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes of the store: the rows' codes, ids and parameters and
    /// the id table's entries (id, row, control byte) over the buffers'
    /// and the table's whole capacity, and any vectors of another length.
    pub fn memory_bytes(&self) -> usize {
        self.codes.capacity()
            + self.ids.capacity() * 8
            + self.params.capacity() * std::mem::size_of::<RowParams>()
            + self.rows.capacity() * MAP_ENTRY_BYTES
            + self
                .odd
                .values()
                .map(|v| v.bytes() + std::mem::size_of::<(u64, WarmVector)>() + 1)
                .sum::<usize>()
    }

    /// Every kept vector, for snapshots (ids ascending).
    pub(crate) fn to_sorted(&self) -> Vec<(u64, WarmVector)> {
        let mut all: Vec<(u64, WarmVector)> = (0..self.ids.len())
            .map(|row| (self.ids[row], self.vector_at(row)))
            .chain(self.odd.iter().map(|(id, v)| (*id, v.clone())))
            .collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        all
    }

    /// The `k` most similar vectors to `query` among ids `allow` admits
    /// (all when `None`), most similar first, as `(id, cosine)`: an exact
    /// scan of the codes (of the admitted rows only, when `allow` admits
    /// fewer than an eighth of them), four rows at a time.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&roaring::RoaringTreemap>,
    ) -> Vec<(u64, f32)> {
        if k == 0 || self.is_empty() {
            return Vec::new();
        }
        let query_norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
        let query_sum: f32 = query.iter().sum();
        let cosine = |p: &RowParams, dot_codes: f32| p.cosine(dot_codes, query_norm, query_sum);
        let kernels = mnemo_vector::kernels::kernels();
        let mut top = TopK::new(k);
        if query.len() == self.dimension && !self.ids.is_empty() {
            let few_admitted =
                allow.is_some_and(|a| a.len().saturating_mul(8) < self.ids.len() as u64);
            match allow {
                Some(a) if few_admitted => {
                    for id in a.iter() {
                        if let Some(&row) = self.rows.get(&id) {
                            let row = row as usize;
                            let dot = (kernels.dot_u8)(query, self.row_codes(row));
                            top.push(Scored {
                                score: cosine(&self.params[row], dot),
                                id,
                            });
                        }
                    }
                }
                _ => {
                    let d = self.dimension;
                    let mut chunks = self.codes.chunks_exact(4 * d.max(1));
                    let mut row = 0;
                    for four in chunks.by_ref() {
                        let dots = (kernels.dot_u8_4)(
                            query,
                            [
                                &four[..d],
                                &four[d..2 * d],
                                &four[2 * d..3 * d],
                                &four[3 * d..],
                            ],
                        );
                        for (i, dot) in dots.into_iter().enumerate() {
                            let id = self.ids[row + i];
                            if allow.is_none_or(|a| a.contains(id)) {
                                top.push(Scored {
                                    score: cosine(&self.params[row + i], dot),
                                    id,
                                });
                            }
                        }
                        row += 4;
                    }
                    for row in row..self.ids.len() {
                        let id = self.ids[row];
                        if allow.is_none_or(|a| a.contains(id)) {
                            let dot = (kernels.dot_u8)(query, self.row_codes(row));
                            top.push(Scored {
                                score: cosine(&self.params[row], dot),
                                id,
                            });
                        }
                    }
                }
            }
        }
        for (id, v) in &self.odd {
            if allow.is_none_or(|a| a.contains(*id)) && v.codes.len() == query.len() {
                top.push(Scored {
                    score: v.cosine(query, query_norm, query_sum),
                    id: *id,
                });
            }
        }
        top.into_sorted_vec()
            .into_iter()
            .map(|s| (s.id, s.score))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_keep_the_vector_close_and_the_scan_ranks_by_cosine() {
        let a = [0.6f32, -0.8, 0.0, 0.0];
        let b = [0.0f32, 0.6, 0.8, 0.0];
        let w = WarmVector::encode(&a);
        assert_eq!(w.codes.len(), 4);
        for (x, y) in w.decode().iter().zip(a) {
            assert!((x - y).abs() <= w.scale, "{x} vs {y}");
        }
        let mut store = WarmStore::default();
        store.insert(1, w);
        store.insert(2, WarmVector::encode(&b));
        let hits = store.search(&a, 2, None);
        assert_eq!(hits[0].0, 1);
        assert!((hits[0].1 - 1.0).abs() < 0.01, "{hits:?}");
        assert_eq!(hits[1].0, 2);
        let only_two: roaring::RoaringTreemap = [2u64].into_iter().collect();
        assert_eq!(store.search(&a, 2, Some(&only_two)).len(), 1);
        let before = store.memory_bytes();
        assert!(store.remove(1));
        assert!(store.memory_bytes() < before);
        assert_eq!(store.len(), 1);
    }

    /// A seeded stream of floats in [-1, 1).
    fn uniform(seed: u64) -> impl FnMut() -> f32 {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        }
    }

    /// The exact top `k` by decoded cosine, for checking the scan.
    fn brute_force(store: &WarmStore, query: &[f32], k: usize) -> Vec<u64> {
        let mut all: Vec<(u64, f32)> = store
            .to_sorted()
            .into_iter()
            .filter(|(_, v)| v.codes.len() == query.len())
            .map(|(id, v)| (id, crate::lifecycle::cosine(query, &v.decode())))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.into_iter().take(k).map(|(id, _)| id).collect()
    }

    #[test]
    fn rows_stay_dense_and_searchable_through_replacements_and_removals() {
        let d = 24;
        let mut next = uniform(3);
        let vectors: Vec<Vec<f32>> = (0..1000)
            .map(|_| (0..d).map(|_| next()).collect())
            .collect();
        let mut store = WarmStore::default();
        for (id, v) in vectors.iter().enumerate() {
            store.insert(id as u64, WarmVector::encode(v));
        }
        // Replace every third, remove every fifth (rows move to fill holes).
        for id in (0..1000u64).step_by(3) {
            store.insert(id, WarmVector::encode(&vectors[999 - id as usize]));
        }
        for id in (0..1000u64).step_by(5) {
            assert!(store.remove(id));
            assert!(!store.remove(id));
        }
        assert_eq!(store.len(), 800);
        for (id, _) in store.to_sorted() {
            let expected = if id % 3 == 0 {
                999 - id as usize
            } else {
                id as usize
            };
            let decoded = store.decode(id).expect("kept");
            assert!(
                crate::lifecycle::cosine(&decoded, &vectors[expected]) > 0.99,
                "id {id}"
            );
        }
        for q in vectors.iter().step_by(97) {
            let hits: Vec<u64> = store.search(q, 7, None).iter().map(|h| h.0).collect();
            assert_eq!(hits, brute_force(&store, q, 7));
        }
        // Filters: few admitted (looked up), many admitted (scanned).
        let few: roaring::RoaringTreemap = [1u64, 2, 4, 5, 7].into_iter().collect();
        let hits = store.search(&vectors[4], 10, Some(&few));
        assert_eq!(hits.len(), 4, "5 was removed");
        assert_eq!(hits[0].0, 4);
        let odd_ids: roaring::RoaringTreemap = (0..1000u64).filter(|i| i % 2 == 1).collect();
        let hits = store.search(&vectors[7], 10, Some(&odd_ids));
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|(id, _)| id % 2 == 1));
        assert_eq!(hits[0].0, 7);
        // Bytes stay within the plan as the store grows and shrinks.
        let within_plan =
            |s: &WarmStore| s.memory_bytes() <= s.len() * WarmVector::planned_bytes(d);
        assert!(
            within_plan(&store),
            "{} B for {}",
            store.memory_bytes(),
            store.len()
        );
        for id in 0..900u64 {
            store.remove(id);
        }
        assert_eq!(store.len(), 80);
        assert!(
            within_plan(&store),
            "{} B for {}",
            store.memory_bytes(),
            store.len()
        );
    }

    #[test]
    fn a_vector_of_another_length_is_kept_aside() {
        let mut store = WarmStore::default();
        store.insert(1, WarmVector::encode(&[1.0, 0.0, 0.0]));
        store.insert(2, WarmVector::encode(&[1.0, 0.0]));
        store.insert(3, WarmVector::encode(&[0.0, 1.0, 0.0]));
        assert_eq!(store.len(), 3);
        assert_eq!(store.search(&[1.0, 0.1], 5, None)[0].0, 2);
        let hits = store.search(&[1.0, 0.1, 0.0], 5, None);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(store.decode(2).map(|v| v.len()), Some(2));
        assert_eq!(store.to_sorted().len(), 3);
        assert!(store.remove(2));
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn constant_empty_and_degenerate_vectors_do_not_panic() {
        for v in [vec![], vec![0.5f32; 8], vec![0.0f32; 3]] {
            let w = WarmVector::encode(&v);
            assert_eq!(w.decode().len(), v.len());
            let mut store = WarmStore::default();
            store.insert(7, w);
            let hits = store.search(&v, 3, None);
            assert!(hits.iter().all(|(_, c)| c.is_finite()));
        }
    }
}
