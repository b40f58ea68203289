//! The namespace's vector index: an exact buffer in front of an HNSW graph.
//!
//! A new vector lands in the *pending* buffer (a [`FlatIndex`]) the moment
//! its memory is folded, so it is recallable as soon as `remember` returns.
//! Once the namespace holds more than [`VectorParams::flat_threshold`]
//! vectors, an indexer (a background thread on native targets, the writer
//! itself in the browser) moves pending vectors into the [`Hnsw`] graph in
//! small chunks; below the threshold everything stays in the exact buffer,
//! which is faster and exact at that size. Every search covers both: the
//! graph approximately and the pending buffer exactly, so nothing is ever
//! invisible.
//!
//! ## Locking
//!
//! Two locks, always taken in the order pending → graph. The indexer
//! copies a chunk out of pending (read lock), inserts it into the graph
//! (write lock, a few milliseconds per chunk so searches wait at most that
//! long), then, under the pending write lock, retires each copied id whose
//! pending *generation* is still the one it copied. An id that was
//! forgotten or revised meanwhile is taken out of the graph again (the
//! pending entry, if any, is newer). Searches read pending first, then the
//! graph: an id that leaves pending is already in the graph, so a search
//! can see it twice (deduplicated) but never miss it.
//!
//! ## Bounds
//!
//! The pending buffer holds at most [`VectorParams::pending_max`] vectors;
//! a writer that would exceed it indexes a chunk itself before adding
//! (back-pressure instead of unbounded growth).

use parking_lot::{Condvar, Mutex, RwLock};

use mnemo_vector::{
    Filter, FlatIndex, Hnsw, HnswParams, Metric, Neighbor, Quantization, RoaringTreemap,
    SearchParams,
};

use crate::base::IdMap;

/// Parameters of a namespace's vector index.
#[derive(Debug, Clone)]
pub struct VectorParams {
    /// Below this many vectors everything stays in the exact buffer.
    /// Default 4,096.
    pub flat_threshold: usize,
    /// Most vectors waiting for the graph. Default 262,144.
    pub pending_max: usize,
    /// Vectors moved into the graph per lock hold. Default 64.
    pub chunk: usize,
    /// Graph parameters (default M 16, ef_construction 100, ef_search 64;
    /// where the kernel set has an integer SQ8 kernel (AVX2, AVX-512 and
    /// WebAssembly's simd128), also SQ8 traversal,
    /// [`mnemo_vector::Quantization::Sq8`]: the graph is walked on one byte
    /// per component and the `ef` best are re-ranked with the f32 rows, so
    /// answers keep exact distances. At 100,000 384-d vectors, whose f32
    /// rows do not fit the cache, this cut recall's vector search by about a
    /// quarter on AVX2).
    pub hnsw: HnswParams,
}

impl Default for VectorParams {
    fn default() -> Self {
        let mut hnsw = HnswParams::new(16, 100);
        hnsw.ef_search = 64;
        // SQ8 traversal pays where the kernel set compares codes in integer
        // arithmetic; elsewhere (scalar, NEON) the f32 kernels are faster.
        if mnemo_vector::kernels::kernels().dot_q16_4.is_some() {
            hnsw.quantization = Quantization::Sq8;
        }
        Self {
            flat_threshold: 4096,
            pending_max: 262_144,
            chunk: 64,
            hnsw,
        }
    }
}

struct Pending {
    flat: FlatIndex,
    generation: IdMap<u64>,
    next_generation: u64,
}

/// The vector index (see the module docs).
pub struct VectorIndex {
    dimension: usize,
    params: VectorParams,
    pending: RwLock<Pending>,
    graph: RwLock<Option<Hnsw>>,
    /// Set when pending may have work for the indexer; the indexer thread
    /// waits on `wake`.
    signal: Mutex<Signal>,
    wake: Condvar,
    /// Held for a whole [`Self::index_chunk`]: the indexer thread, a writer
    /// under back-pressure and `flush` may all index, but one at a time, so
    /// the graph has one inserter and a retired id is retired once.
    indexing: Mutex<()>,
}

#[derive(Default)]
struct Signal {
    work: bool,
    shutdown: bool,
}

impl VectorIndex {
    /// An empty index for cosine similarity over vectors of `dimension`.
    pub fn new(dimension: usize, params: VectorParams) -> crate::Result<Self, mnemo_vector::Error> {
        let flat = FlatIndex::new(dimension, Metric::Cosine)?;
        params.hnsw.validate()?;
        Ok(Self {
            dimension,
            params,
            pending: RwLock::new(Pending {
                flat,
                generation: IdMap::default(),
                next_generation: 0,
            }),
            graph: RwLock::new(None),
            signal: Mutex::new(Signal::default()),
            wake: Condvar::new(),
            indexing: Mutex::new(()),
        })
    }

    /// The vectors' dimension.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Number of vectors (pending and in the graph).
    pub fn len(&self) -> usize {
        let pending = self.pending.read();
        let graph = self.graph.read();
        let in_graph = graph.as_ref().map_or(0, Hnsw::len);
        // An id retired by the indexer is in both only between its graph
        // insert and its retirement; count pending ids not in the graph.
        pending
            .flat
            .ids()
            .iter()
            .filter(|id| !graph.as_ref().is_some_and(|g| g.contains(**id)))
            .count()
            + in_graph
    }

    /// Whether the index holds no vector.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of vectors waiting for the graph.
    pub fn pending_len(&self) -> usize {
        self.pending.read().flat.len()
    }

    /// Whether `id` has a vector.
    pub fn contains(&self, id: u64) -> bool {
        self.pending.read().flat.contains(id)
            || self.graph.read().as_ref().is_some_and(|g| g.contains(id))
    }

    /// The stored vector of `id` (normalised for cosine).
    pub fn get(&self, id: u64) -> Option<Vec<f32>> {
        if let Some(v) = self.pending.read().flat.get(id) {
            return Some(v.to_vec());
        }
        self.graph
            .read()
            .as_ref()
            .and_then(|g| g.get(id).map(|v| v.into_owned()))
    }

    /// Adds the vector of a new memory. Vectors of the wrong dimension are
    /// ignored (the writer checks them; a foreign log cannot break the
    /// index).
    pub(crate) fn add(&self, id: u64, vector: &[f32]) {
        if vector.len() != self.dimension {
            return;
        }
        self.apply_backpressure();
        let mut pending = self.pending.write();
        let generation = pending.next_generation;
        pending.next_generation += 1;
        let done = if pending.flat.contains(id) {
            pending.flat.update(id, vector)
        } else {
            pending.flat.insert(id, vector)
        };
        if done.is_ok() {
            pending.generation.insert(id, generation);
        }
        // The indexer is woken once per commit (`notify`), not per vector:
        // a futex wake per vector was most of the cost of adding one.
        drop(pending);
    }

    /// Replaces the vector of a revised memory.
    pub(crate) fn replace(&self, id: u64, vector: &[f32]) {
        if vector.len() != self.dimension {
            return;
        }
        {
            let pending = self.pending.read();
            if !pending.flat.contains(id) {
                drop(pending);
                if let Some(g) = self.graph.write().as_mut() {
                    let _ = g.erase(id);
                }
            }
        }
        self.add(id, vector);
    }

    /// Removes the vector of a forgotten memory.
    pub(crate) fn remove(&self, id: u64) {
        let mut pending = self.pending.write();
        if pending.flat.delete(id).is_ok() {
            pending.generation.remove(&id);
            // If the indexer holds a copy, its retirement step sees the id
            // gone and takes it out of the graph.
            return;
        }
        let mut graph = self.graph.write();
        if let Some(g) = graph.as_mut() {
            // Nothing of a forgotten memory's vector stays in the graph.
            let _ = g.erase(id);
        }
    }

    /// The `k` nearest vectors to `query` among ids in `allow` (all when
    /// `None`), nearest first, as cosine distances. `width` is the graph
    /// search's `ef` (the index's own when `None`; never below `k`).
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        width: Option<usize>,
        allow: Option<&RoaringTreemap>,
    ) -> crate::Result<Vec<Neighbor>, mnemo_vector::Error> {
        let filter = allow.map_or(Filter::All, Filter::Allow);
        let mut hits = {
            let pending = self.pending.read();
            if pending.flat.is_empty() {
                Vec::new()
            } else {
                pending.flat.search_filtered(query, k, filter)?
            }
        };
        let graph = self.graph.read();
        if let Some(g) = graph.as_ref().filter(|g| !g.is_empty()) {
            let params = SearchParams {
                k,
                ef: width,
                filter,
                vectors: None,
            };
            hits.extend(g.search_params(query, &params)?);
        }
        drop(graph);
        hits.sort_unstable_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
        let mut seen = IdMap::<()>::default();
        hits.retain(|n| seen.insert(n.id, ()).is_none());
        hits.truncate(k);
        Ok(hits)
    }

    /// A read guard on the HNSW part (for walking its neighbour lists).
    pub(crate) fn graph(&self) -> parking_lot::RwLockReadGuard<'_, Option<Hnsw>> {
        self.graph.read()
    }

    /// Whether the indexer has work: the index passed the flat threshold
    /// and vectors are pending.
    pub fn has_indexing_work(&self) -> bool {
        let pending = self.pending.read().flat.len();
        if pending == 0 {
            return false;
        }
        let in_graph = self.graph.read().as_ref().map_or(0, Hnsw::len);
        pending + in_graph > self.params.flat_threshold
    }

    /// Moves one chunk of pending vectors into the graph; returns how many
    /// it moved (0 when there is nothing to do).
    pub fn index_chunk(&self) -> usize {
        let one_indexer = self.indexing.lock();
        if !self.has_indexing_work() {
            return 0;
        }
        let (ids, vectors, generations) = {
            let pending = self.pending.read();
            let ids: Vec<u64> = pending
                .flat
                .ids()
                .iter()
                .take(self.params.chunk)
                .copied()
                .collect();
            let mut vectors = Vec::with_capacity(ids.len() * self.dimension);
            let mut generations = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(v) = pending.flat.get(*id) {
                    vectors.extend_from_slice(v);
                }
                generations.push(pending.generation.get(id).copied().unwrap_or(u64::MAX));
            }
            (ids, vectors, generations)
        };
        if ids.is_empty() || vectors.len() != ids.len() * self.dimension {
            return 0;
        }
        {
            let mut graph = self.graph.write();
            if graph.is_none() {
                match Hnsw::new(self.dimension, Metric::Cosine, self.params.hnsw.clone()) {
                    Ok(g) => *graph = Some(g),
                    Err(_) => return 0,
                }
            }
            let Some(g) = graph.as_mut() else {
                return 0;
            };
            for id in &ids {
                if g.contains(*id) {
                    let _ = g.erase(*id);
                }
            }
            if g.insert_batch(&ids, &vectors).is_err() {
                return 0;
            }
        }
        let mut pending = self.pending.write();
        let mut stale = Vec::new();
        for (id, generation) in ids.iter().zip(&generations) {
            match pending.generation.get(id) {
                Some(g) if g == generation => {
                    pending.generation.remove(id);
                    let _ = pending.flat.delete(*id);
                }
                // Revised (a newer pending entry) or forgotten meanwhile.
                _ => stale.push(*id),
            }
        }
        if !stale.is_empty() {
            let mut graph = self.graph.write();
            if let Some(g) = graph.as_mut() {
                for id in stale {
                    let _ = g.erase(id);
                }
            }
        }
        drop(pending);
        self.compact_if_needed();
        self.shrink_pending(2.0);
        // Handed to a waiting caller (a rebalance's compaction) rather
        // than taken again at once by the next chunk of a long backlog.
        parking_lot::MutexGuard::unlock_fair(one_indexer);
        ids.len()
    }

    /// Rebuilds the graph without its tombstones if they passed the
    /// compaction threshold, and gives the pending buffer's spare memory
    /// back: what a rebalance that moved vectors out of the index calls
    /// (searches and writes go on meanwhile; it waits for the indexer).
    pub(crate) fn compact(&self) {
        let _one_indexer = self.indexing.lock();
        self.compact_if_needed();
        self.shrink_pending(1.0 + mnemo_vector::grow::GROWTH_SLACK);
    }

    /// Shrinks the pending buffer once it holds more than `factor` times
    /// the memory its vectors need (the indexer, which drains it a chunk
    /// at a time, passes 2 so that it shrinks a logarithmic number of
    /// times).
    fn shrink_pending(&self, factor: f64) {
        let mut pending = self.pending.write();
        let needed = (pending.flat.len() * (4 * self.dimension + 64)) as f64;
        let held = pending.flat.memory_bytes() + pending.generation.capacity() * 16;
        if held as f64 > factor * needed {
            pending.flat.shrink_to_fit();
            pending.generation.shrink_to_fit();
        }
    }

    /// Bytes [`Self::memory_bytes`] is planned to hold per vector, an upper
    /// bound once the graph holds it ([`Hnsw::bytes_per_vector`]) with
    /// room for the tombstones the graph keeps until it compacts (its
    /// compaction threshold's share of the slots).
    pub(crate) fn planned_bytes_per_vector(&self) -> usize {
        let live = Hnsw::bytes_per_vector(self.dimension, &self.params.hnsw) as f64;
        let tombstones = self.params.hnsw.compact_threshold.clamp(0.0, 0.9);
        (live / (1.0 - tombstones)).ceil() as usize
    }

    /// Rebuilds the graph without its tombstones once they pass the
    /// compaction threshold. The new graph is built from a copy of the live
    /// vectors with no lock held (searches go on against the old graph);
    /// only the indexer inserts into the graph, so the one thing that can
    /// happen meanwhile is deletion, replayed onto the new graph before it
    /// replaces the old one under the write lock.
    fn compact_if_needed(&self) {
        let (ids, vectors) = {
            let graph = self.graph.read();
            let Some(g) = graph.as_ref().filter(|g| g.needs_compaction()) else {
                return;
            };
            let ids: Vec<u64> = g.ids().collect();
            let mut vectors = Vec::with_capacity(ids.len() * self.dimension);
            for id in &ids {
                if let Some(v) = g.get(*id) {
                    vectors.extend_from_slice(&v);
                }
            }
            (ids, vectors)
        };
        if vectors.len() != ids.len() * self.dimension {
            return;
        }
        let Ok(mut fresh) = Hnsw::new(self.dimension, Metric::Cosine, self.params.hnsw.clone())
        else {
            return;
        };
        if fresh.insert_batch(&ids, &vectors).is_err() {
            return;
        }
        let mut graph = self.graph.write();
        if let Some(g) = graph.as_mut() {
            for id in &ids {
                if !g.contains(*id) {
                    let _ = fresh.erase(*id);
                }
            }
            *g = fresh;
        }
    }

    /// Moves every pending vector into the graph (when past the flat
    /// threshold) before returning.
    pub fn flush(&self) {
        while self.index_chunk() > 0 {}
    }

    fn apply_backpressure(&self) {
        while self.pending.read().flat.len() >= self.params.pending_max {
            if self.index_chunk() == 0 {
                break;
            }
        }
    }

    /// Wakes the indexer when vectors were added.
    pub(crate) fn notify(&self) {
        let mut signal = self.signal.lock();
        if !signal.work {
            signal.work = true;
            self.wake.notify_one();
        }
    }

    /// The indexer loop: waits for work, indexes chunks until none is left,
    /// returns on [`Self::shutdown`]. Run on its own thread.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn run_indexer(&self) {
        loop {
            {
                let mut signal = self.signal.lock();
                while !signal.work && !signal.shutdown {
                    self.wake.wait(&mut signal);
                }
                if signal.shutdown {
                    return;
                }
                signal.work = false;
            }
            while self.index_chunk() > 0 {
                if self.signal.lock().shutdown {
                    return;
                }
            }
        }
    }

    /// Stops [`Self::run_indexer`].
    pub(crate) fn shutdown(&self) {
        let mut signal = self.signal.lock();
        signal.shutdown = true;
        self.wake.notify_all();
    }

    /// Approximate heap bytes of the vectors and the graph.
    pub fn memory_bytes(&self) -> usize {
        let pending = self.pending.read();
        let graph = self.graph.read();
        pending.flat.memory_bytes()
            + pending.generation.capacity() * 16
            + graph.as_ref().map_or(0, Hnsw::memory_bytes)
    }

    /// Bytes of the f32 vectors alone.
    pub fn vector_bytes(&self) -> usize {
        self.len() * self.dimension * 4
    }

    /// Drops every vector (before a full replay after a bad snapshot).
    pub(crate) fn clear(&self) {
        let _one_indexer = self.indexing.lock();
        let mut pending = self.pending.write();
        if let Ok(flat) = FlatIndex::new(self.dimension, Metric::Cosine) {
            pending.flat = flat;
        }
        pending.generation.clear();
        *self.graph.write() = None;
    }

    /// Encodes the index for a snapshot: the graph (if any) and the pending
    /// vectors, each in `mnemo-vector`'s checksummed format.
    pub(crate) fn encode(&self) -> (Option<Vec<u8>>, Vec<u8>) {
        let pending = self.pending.read();
        let graph = self.graph.read();
        (graph.as_ref().map(Hnsw::encode), pending.flat.encode())
    }

    /// Restores what [`Self::encode`] wrote: the graph's encoding, and the
    /// pending vectors already decoded.
    pub(crate) fn restore(
        &self,
        graph: Option<&[u8]>,
        flat: FlatIndex,
    ) -> crate::Result<(), mnemo_vector::Error> {
        let _one_indexer = self.indexing.lock();
        let graph = graph.map(Hnsw::decode).transpose()?;
        if flat.dimension() != self.dimension
            || graph
                .as_ref()
                .is_some_and(|g| g.dimension() != self.dimension)
        {
            return Err(mnemo_vector::Error::InvalidParams(
                "snapshot vectors have another dimension".into(),
            ));
        }
        let mut p = self.pending.write();
        p.generation = flat
            .ids()
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u64))
            .collect();
        p.next_generation = flat.len() as u64;
        p.flat = flat;
        *self.graph.write() = graph.map(|mut g| {
            let _ = g.set_ef_search(self.params.hnsw.ef_search);
            g
        });
        drop(p);
        self.notify();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::sync::Arc;

    fn random_vector(rng: &mut rand::rngs::StdRng, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    fn small_params() -> VectorParams {
        let mut hnsw = HnswParams::new(8, 40);
        hnsw.ef_search = 64;
        VectorParams {
            flat_threshold: 100,
            pending_max: 1000,
            chunk: 16,
            hnsw,
        }
    }

    #[test]
    fn every_live_vector_is_found_while_the_indexer_runs() {
        let dim = 16;
        let index = Arc::new(VectorIndex::new(dim, small_params()).expect("index"));
        let worker = {
            let index = Arc::clone(&index);
            std::thread::spawn(move || index.run_indexer())
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut live: std::collections::BTreeMap<u64, Vec<f32>> = Default::default();
        for id in 0..3000u64 {
            let v = random_vector(&mut rng, dim);
            index.add(id, &v);
            index.notify();
            live.insert(id, v);
            if id % 7 == 3 {
                let victim = rng.random_range(0..=id);
                if live.remove(&victim).is_some() {
                    index.remove(victim);
                }
            }
            if id % 11 == 5 {
                let target = rng.random_range(0..=id);
                if live.contains_key(&target) {
                    let v = random_vector(&mut rng, dim);
                    index.replace(target, &v);
                    live.insert(target, v);
                }
            }
            // Everything written is searchable at once, indexed or not.
            if id % 97 == 0 {
                let (probe, v) = live.iter().next_back().expect("one live");
                let hits = index.search(v, 1, None, None).expect("search");
                assert_eq!(hits[0].id, *probe, "write {id}");
            }
        }
        index.flush();
        index.shutdown();
        worker.join().expect("indexer");
        assert_eq!(index.len(), live.len());
        let mut found = 0;
        for (id, v) in &live {
            let hits = index.search(v, 3, None, None).expect("search");
            assert!(
                hits.iter().all(|h| live.contains_key(&h.id)),
                "a forgotten id came back"
            );
            found += usize::from(hits.first().is_some_and(|h| h.id == *id));
        }
        assert!(
            found * 100 >= live.len() * 97,
            "found {found} of {}",
            live.len()
        );
        assert!(index.pending_len() == 0);
    }

    #[test]
    fn filters_apply_to_both_parts() {
        let dim = 8;
        let index = VectorIndex::new(dim, small_params()).expect("index");
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for id in 0..500u64 {
            index.add(id, &random_vector(&mut rng, dim));
            if id == 300 {
                index.flush();
            }
        }
        assert!(index.pending_len() > 0);
        let allow: RoaringTreemap = (0..500u64).filter(|i| i % 50 == 0).collect();
        let hits = index
            .search(&random_vector(&mut rng, dim), 20, None, Some(&allow))
            .expect("search");
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| h.id % 50 == 0));
    }
}
