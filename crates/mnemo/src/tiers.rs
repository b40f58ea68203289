//! The warm tier's vectors: one byte per component (SQ8 on each vector's
//! own range), searched by an exact scan over the codes. Hot memories keep
//! their f32 vectors in the HNSW graph ([`crate::vectors`]); cold ones keep
//! none in memory (their vectors stay in the log). See
//! [`crate::lifecycle`] for how memories move.

use serde::{Deserialize, Serialize};

use crate::base::IdMap;
use crate::base::{Scored, TopK};

/// Bytes a warm vector's entry takes in the store's table.
const ENTRY_BYTES: usize = std::mem::size_of::<(u64, WarmVector)>() + 1;

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
        self.codes
            .iter()
            .map(|&c| self.min + self.scale * f32::from(c))
            .collect()
    }

    /// Cosine similarity with `query` (whose length is `query_norm` and
    /// whose components sum to `query_sum`): `q·x = min·Σq + scale·Σ q[i]·c[i]`,
    /// the sum by the machine's SIMD kernel
    /// ([`mnemo_vector::kernels::Kernels::dot_u8`]).
    fn cosine(&self, query: &[f32], query_norm: f32, query_sum: f32) -> f32 {
        let dot_codes = (mnemo_vector::kernels::kernels().dot_u8)(query, &self.codes);
        let dot = self.min * query_sum + self.scale * dot_codes;
        let c = dot / (query_norm * self.norm);
        if c.is_finite() { c } else { 0.0 }
    }

    /// Heap bytes of this vector's codes (its inline fields live in the
    /// store's table: see [`WarmStore::memory_bytes`]).
    pub fn bytes(&self) -> usize {
        self.codes.capacity()
    }

    /// An upper bound of what [`WarmStore::memory_bytes`] counts per
    /// vector of `dimension` components: the codes and a table entry (id,
    /// fields, control byte), the table up to twice its entries. For a
    /// budget to plan by.
    pub fn planned_bytes(dimension: usize) -> usize {
        dimension + (2 * ENTRY_BYTES * 8).div_ceil(7)
    }
}

/// The warm tier's vectors by memory id.
#[derive(Debug, Default, Clone)]
pub struct WarmStore {
    vectors: IdMap<WarmVector>,
    bytes: usize,
}

impl WarmStore {
    /// Keeps `v` for memory `id` (replacing any).
    pub(crate) fn insert(&mut self, id: u64, v: WarmVector) {
        self.bytes += v.bytes();
        if let Some(old) = self.vectors.insert(id, v) {
            self.bytes -= old.bytes();
        }
    }

    /// Drops memory `id`'s vector; returns it.
    pub(crate) fn remove(&mut self, id: u64) -> Option<WarmVector> {
        let old = self.vectors.remove(&id)?;
        self.bytes -= old.bytes();
        Some(old)
    }

    /// Memory `id`'s vector.
    pub fn get(&self, id: u64) -> Option<&WarmVector> {
        self.vectors.get(&id)
    }

    /// Vectors kept.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// Heap bytes of the store: the codes, and the table's entries (id and
    /// fields, with its control byte) over its whole capacity.
    pub fn memory_bytes(&self) -> usize {
        self.bytes + self.vectors.capacity() * ENTRY_BYTES
    }

    /// Every kept vector, for snapshots (ids ascending).
    pub(crate) fn to_sorted(&self) -> Vec<(u64, WarmVector)> {
        let mut all: Vec<(u64, WarmVector)> = self
            .vectors
            .iter()
            .map(|(id, v)| (*id, v.clone()))
            .collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        all
    }

    /// The `k` most similar vectors to `query` among ids `allow` admits
    /// (all when `None`), most similar first, as `(id, cosine)`: an exact
    /// scan of the codes.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&roaring::RoaringTreemap>,
    ) -> Vec<(u64, f32)> {
        if k == 0 || self.vectors.is_empty() {
            return Vec::new();
        }
        let norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
        let sum: f32 = query.iter().sum();
        let mut top = TopK::new(k);
        for (id, v) in &self.vectors {
            if allow.is_some_and(|a| !a.contains(*id)) || v.codes.len() != query.len() {
                continue;
            }
            top.push(Scored {
                score: v.cosine(query, norm, sum),
                id: *id,
            });
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
        assert!(store.remove(1).is_some());
        assert!(store.memory_bytes() < before);
        assert_eq!(store.len(), 1);
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
