//! [`Options`]: how an engine opens its namespaces.

use std::sync::Arc;

use mnemo_embed::{Embedder, HashEmbedder};
use mnemo_log::SyncPolicy;

use crate::vectors::VectorParams;

/// Settings shared by every namespace of a [`crate::Mnemo`].
#[derive(Clone)]
pub struct Options {
    /// Turns contents (and recall queries) into vectors. Default
    /// [`HashEmbedder`] (no model needed). A namespace remembers which
    /// embedder built it and refuses to open with another.
    pub embedder: Arc<dyn Embedder>,
    /// Identical content in one namespace is stored once (`remember`
    /// returns the existing id). Default true.
    pub dedup: bool,
    /// When writes reach stable storage. Default [`SyncPolicy::Always`]:
    /// `remember` returns only once its event is durable.
    pub sync: SyncPolicy,
    /// A snapshot is written in the background after this many events, or
    /// after as many events as there are memories when that is more, so
    /// snapshot work stays proportional to the writes (0: only on close).
    /// Default 50,000.
    pub snapshot_every: u64,
    /// Largest content accepted, in bytes. Default 1 MiB.
    pub max_content_bytes: usize,
    /// Events a watcher buffers before it is marked lagged. Default 1,024.
    pub watch_buffer: usize,
    /// The vector index.
    pub vectors: VectorParams,
    /// Move vectors into the HNSW graph on a background thread (native
    /// only). When false (and in the browser) the writer does it.
    /// Default true.
    pub background_indexing: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            embedder: Arc::new(HashEmbedder::new()),
            dedup: true,
            sync: SyncPolicy::Always,
            snapshot_every: 50_000,
            max_content_bytes: 1 << 20,
            watch_buffer: 1024,
            vectors: VectorParams::default(),
            background_indexing: cfg!(not(target_arch = "wasm32")),
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("embedder", self.embedder.info())
            .field("dedup", &self.dedup)
            .field("sync", &self.sync)
            .field("snapshot_every", &self.snapshot_every)
            .field("max_content_bytes", &self.max_content_bytes)
            .field("watch_buffer", &self.watch_buffer)
            .field("vectors", &self.vectors)
            .field("background_indexing", &self.background_indexing)
            .finish()
    }
}

impl Options {
    /// Uses `embedder`.
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = embedder;
        self
    }

    /// Turns deduplication of identical content on or off.
    pub fn dedup(mut self, on: bool) -> Self {
        self.dedup = on;
        self
    }

    /// Sets the durability policy.
    pub fn sync(mut self, policy: SyncPolicy) -> Self {
        self.sync = policy;
        self
    }

    /// Writes a snapshot every `events` events (0: only on close).
    pub fn snapshot_every(mut self, events: u64) -> Self {
        self.snapshot_every = events;
        self
    }
}
