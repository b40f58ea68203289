//! The HNSW graph over the patterns' rows `quality · centroid` that serves
//! [`PatternStore::suggest`] in large stores, with the exact pending buffer
//! in front of it, and its upkeep as the store changes.
//!
//! Read path only: the graph is derived from the state, never serialised,
//! and nothing that changes state consults it.

use mnemo_vector::{Hnsw, HnswParams, Metric};

use super::PatternId;
use super::store::PatternStore;

/// Candidates (and search width) per requested suggestion that `suggest`
/// fetches from the HNSW graph (at least [`GRAPH_CANDIDATES_MIN`]).
pub const GRAPH_CANDIDATES_PER_K: usize = 6;
/// Fewest candidates `suggest` fetches from the HNSW graph.
pub const GRAPH_CANDIDATES_MIN: usize = 24;
/// From this many patterns up, `suggest` uses an HNSW graph over the
/// centroids instead of scanning every sketch.
pub const ANN_MIN_PATTERNS: usize = 8_192;
/// Patterns the exact buffer in front of the graph holds before it is
/// inserted in one batch.
pub const ANN_PENDING_MAX: usize = 256;
/// An indexed row `quality · centroid` that has moved from the current
/// one by more than a cosine of this would allow (about 2.6°) is
/// re-indexed.
pub const ANN_DRIFT_COS: f32 = 0.999;

/// The HNSW graph of large stores, with its exact pending buffer. Derived:
/// never serialised; cloned through its byte encoding.
#[derive(Debug, Default)]
pub(super) struct Ann {
    pub(super) index: Option<Hnsw>,
    /// Patterns not (or no longer faithfully) in the graph, ascending.
    pub(super) pending: Vec<PatternId>,
}

impl Clone for Ann {
    fn clone(&self) -> Self {
        // A failed round trip (it does not happen: the bytes come straight
        // from `encode`) leaves a store that scans its sketches until
        // `rebuild_index`.
        let index = self
            .index
            .as_ref()
            .and_then(|h| Hnsw::decode(&h.encode()).ok());
        let pending = if index.is_some() {
            self.pending.clone()
        } else {
            Vec::new()
        };
        Self { index, pending }
    }
}

/// Graph parameters: the defaults with a narrower construction search
/// (centroids change, so inserts should be cheap), built on every core.
fn ann_params() -> HnswParams {
    HnswParams {
        ef_construction: 100,
        build_threads: 0,
        ..HnswParams::default()
    }
}

impl PatternStore {
    /// Builds the HNSW graph if the store is large enough and has none
    /// (after a restore), or drops it if the store has shrunk below half of
    /// [`ANN_MIN_PATTERNS`]. Idempotent; does nothing when nothing is
    /// needed. The sketch arrays are rebuilt on deserialisation already.
    pub fn rebuild_index(&mut self) {
        let len = self.len();
        if self.ann.index.is_none() && len >= ANN_MIN_PATTERNS {
            self.ann_build();
        } else if self.ann.index.is_some() && len < ANN_MIN_PATTERNS / 2 {
            self.ann = Ann::default();
        }
    }

    /// Whether the HNSW graph is in use (for tests and diagnostics).
    pub fn has_graph(&self) -> bool {
        self.ann.index.is_some()
    }

    /// Builds the graph from every centroid (zero centroids stay out: the
    /// graph would never rank them above 0 either).
    fn ann_build(&mut self) {
        self.ann = Ann::default();
        let Ok(mut index) = Hnsw::new(self.core.dimension, Metric::Dot, ann_params()) else {
            return;
        };
        let (ids, rows) = self.graph_rows(self.ids.iter().copied());
        if index.insert_batch(&ids, &rows).is_ok() {
            self.ann.index = Some(index);
        }
    }

    /// The ids and graph rows (flat) of these patterns: `quality ·
    /// centroid`, so that the inner product with a unit query is the
    /// pattern's score (patterns whose row is zero stay out: they never
    /// score above 0).
    fn graph_rows(&self, ids: impl Iterator<Item = PatternId>) -> (Vec<u64>, Vec<f32>) {
        let mut out_ids = Vec::new();
        let mut rows = Vec::new();
        for id in ids {
            if let Some(i) = self.slot_index(id) {
                let p = &self.core.slots[i].pattern;
                if p.quality > 0.0 && p.centroid.iter().any(|&x| x != 0.0) {
                    out_ids.push(id.0);
                    rows.extend(p.centroid.iter().map(|x| x * p.quality));
                }
            }
        }
        (out_ids, rows)
    }

    /// Keeps the graph in step with pattern `id` after its centroid changed
    /// (or it was created); builds the graph when the store reaches
    /// [`ANN_MIN_PATTERNS`]; flushes the pending buffer if `flush` and it
    /// is full.
    pub(super) fn ann_touch(&mut self, id: PatternId, flush: bool) {
        let Some(index) = &mut self.ann.index else {
            if self.len() >= ANN_MIN_PATTERNS {
                self.ann_build();
            }
            return;
        };
        let Some(i) = self.ids.binary_search(&id).ok() else {
            return;
        };
        let p = &self.core.slots[i].pattern;
        // Stale when `|indexed − current|² > 2·(1 − ANN_DRIFT_COS)·|current|²`
        // (for rows of equal length: a cosine below ANN_DRIFT_COS).
        let stale = match index.get(id.0) {
            Some(indexed) => {
                let mut diff = 0.0f32;
                let mut norm = 0.0f32;
                for (&a, &c) in indexed.iter().zip(&p.centroid) {
                    let b = c * p.quality;
                    diff += (a - b) * (a - b);
                    norm += b * b;
                }
                diff > 2.0 * (1.0 - ANN_DRIFT_COS) * norm
            }
            None => false,
        };
        if stale {
            let _ = index.delete(id.0);
        }
        if (stale || !index.contains(id.0))
            && let Err(at) = self.ann.pending.binary_search(&id)
        {
            self.ann.pending.insert(at, id);
        }
        debug_assert!(
            self.ann.pending.windows(2).all(|w| w[0] < w[1]),
            "pending ids ascending, unique"
        );
        if flush && self.ann.pending.len() >= ANN_PENDING_MAX {
            self.ann_flush();
        }
    }

    /// Inserts the pending patterns into the graph in one batch (and
    /// compacts it when tombstones pass its threshold); on any error the
    /// graph is dropped and `suggest` falls back to the sketch scan.
    fn ann_flush(&mut self) {
        let pending = std::mem::take(&mut self.ann.pending);
        let (ids, rows) = self.graph_rows(pending.into_iter());
        let Some(index) = &mut self.ann.index else {
            return;
        };
        let ok = index.insert_batch(&ids, &rows).is_ok() && index.compact().is_ok();
        if !ok {
            self.ann = Ann::default();
        }
    }

    /// Brings the graph up to date after a bulk change that removed these
    /// patterns and may have moved any centroid.
    pub(super) fn ann_after_bulk(&mut self, removed: &[PatternId]) {
        if self.ann.index.is_none() {
            if self.len() >= ANN_MIN_PATTERNS {
                self.ann_build();
            }
            return;
        }
        if self.len() < ANN_MIN_PATTERNS / 2 {
            self.ann = Ann::default();
            return;
        }
        if let Some(index) = &mut self.ann.index {
            for id in removed {
                let _ = index.delete(id.0);
            }
        }
        self.ann
            .pending
            .retain(|id| removed.binary_search(id).is_err());
        for i in 0..self.len() {
            self.ann_touch(self.ids[i], false);
        }
        if self.ann.pending.len() >= ANN_PENDING_MAX {
            self.ann_flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::kmeans::SplitMix64;
    use crate::patterns::testkit::{bytes, near, trajectory};

    #[test]
    fn the_graph_serves_large_stores() {
        let dim = 8;
        let mut rng = SplitMix64(5);
        let mut store = PatternStore::new(dim);
        // Force a new pattern per trajectory.
        for i in 0..ANN_MIN_PATTERNS + ANN_PENDING_MAX + 10 {
            let v = near(dim, i, 3.0, &mut rng);
            let mut t = trajectory(&store, v, i.is_multiple_of(2), "e", 2.0);
            t.pattern = store.next_pattern_id();
            assert!(store.record(t));
        }
        assert!(store.has_graph());
        let mut plain = store.clone();
        plain.ann = Ann::default();
        let mut agree = 0;
        for _ in 0..50 {
            let q = near(dim, rng.below(dim), 3.0, &mut rng);
            let a = store.suggest(&q, 5);
            let b = plain.suggest(&q, 5);
            assert_eq!(a.suggestions.len(), 5);
            agree += usize::from(a.suggestions[0].pattern == b.suggestions[0].pattern);
        }
        assert!(
            agree >= 45,
            "graph and exact scan agree on the top pattern: {agree}/50"
        );
        // Restore: no graph until rebuild_index, answers all the same.
        let mut restored: PatternStore = postcard::from_bytes(&bytes(&store)).expect("decodes");
        assert!(!restored.has_graph());
        restored.rebuild_index();
        assert!(restored.has_graph());
        restored.rebuild_index();
        // Pruning most patterns drops the graph.
        let ids: Vec<PatternId> = store.patterns().map(|p| p.id).skip(100).collect();
        store.prune(&ids);
        assert!(!store.has_graph());
        assert_eq!(store.suggest(&[1.0; 8], 5).suggestions.len(), 5);
    }
}
