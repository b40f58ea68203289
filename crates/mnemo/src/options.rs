//! [`Options`]: how an engine opens its namespaces.

use std::sync::Arc;

use mnemo_embed::{Embedder, EmbedderInfo, HashEmbedder};
use mnemo_log::SyncPolicy;

use crate::crypt::{AeadAlgorithm, DataKeySource};
use crate::facts::{DefaultVerifier, Verifier};
use crate::lifecycle::{Duplicates, Expiry};
use crate::patterns::PatternParams;
use crate::vectors::VectorParams;

/// How facts are checked for contradictions (see [`crate::facts`]).
#[derive(Clone)]
pub struct CoherenceOptions {
    /// Decides whether two facts of one key contradict each other. Default
    /// [`DefaultVerifier`]. Its decisions are logged, so a namespace
    /// reopened with another verifier keeps the conflicts it had.
    pub verifier: Arc<dyn Verifier>,
    /// Facts less confident than this neither conflict nor supersede.
    /// Default 0.5.
    pub confidence_threshold: f32,
}

impl Default for CoherenceOptions {
    fn default() -> Self {
        Self {
            verifier: Arc::new(DefaultVerifier),
            confidence_threshold: 0.5,
        }
    }
}

impl std::fmt::Debug for CoherenceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoherenceOptions")
            .field("verifier", &self.verifier.name())
            .field("confidence_threshold", &self.confidence_threshold)
            .finish()
    }
}

/// Loads the embedder a stored namespace was built with, given the id and
/// dimension its log records (see [`Options::recorded_embedders`]): `Ok(None)`
/// when it is not one the loader knows.
pub type EmbedderLoader = Arc<
    dyn Fn(&EmbedderInfo) -> Result<Option<Arc<dyn Embedder>>, mnemo_embed::Error> + Send + Sync,
>;

/// Settings shared by every namespace of a [`crate::Mnemo`].
#[derive(Clone)]
pub struct Options {
    /// Turns contents (and recall queries) into vectors. Default
    /// [`HashEmbedder`] (no model needed). A namespace remembers which
    /// embedder built it and refuses to open with another.
    pub embedder: Arc<dyn Embedder>,
    /// Opens a stored namespace built with another embedder than
    /// [`Self::embedder`] with the one it was built with, when this loader
    /// knows it; without a loader (the default), or when it answers
    /// `Ok(None)`, such a namespace refuses to open. Only namespaces opened
    /// without an embedder of their own use it, so the engine's default
    /// embedder can change without stranding namespaces built before.
    pub recorded_embedders: Option<EmbedderLoader>,
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
    /// Contradiction checks of facts.
    pub coherence: CoherenceOptions,
    /// Clustering of trajectories into patterns.
    pub patterns: PatternParams,
    /// The decay `d` of strength from use, in (0, 1) (see
    /// [`crate::strength`]). Default 0.5, ACT-R's customary value.
    pub strength_decay: f64,
    /// Whether each recall's hits count as a use of them: recall queues
    /// their ids (a bounded buffer, off the hot path) and they are written
    /// as one `Touch` event per flush ([`crate::Namespace::flush_touches`],
    /// about once a second on a background thread natively, and on close).
    /// Default false.
    pub reinforce_on_recall: bool,
    /// Near-duplicate writes: off, flagged or merged (see
    /// [`crate::lifecycle`]). Default off.
    pub duplicates: Duplicates,
    /// Default deadlines: a TTL for every memory and per tag (see
    /// [`crate::lifecycle`]). Default none.
    pub expiry: Expiry,
    /// Runs [`crate::Namespace::consolidate`] with its default settings
    /// this often on the maintenance thread (native). Default none: on
    /// demand only.
    pub consolidate_every: Option<std::time::Duration>,
    /// A budget for the vectors kept in memory, in bytes: memories move
    /// between the hot, warm and cold tiers to stay within it (see
    /// [`crate::Namespace::rebalance_tiers`]; the maintenance thread does
    /// it natively once the estimate passes the budget, and every minute;
    /// in the browser, call it).
    /// At least one hot vector (`4 × dimension + 200` bytes). Default none:
    /// every vector stays hot.
    pub max_resident_bytes: Option<u64>,
    /// The raw-event stream and its promotion rules (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub ingest: crate::ingest::IngestOptions,
    /// The data key that wraps each namespace's keys (see
    /// [`crate::crypt`]). Default [`DataKeySource::Generated`]: a key made
    /// with the namespace and kept beside it, which makes forgetting erase
    /// but does not protect a stolen disk; give a key to do that.
    pub data_key: DataKeySource,
    /// The AEAD new namespaces seal their events with (an existing one
    /// keeps its own) and new snapshots are sealed with. Default
    /// [`AeadAlgorithm::PREFERRED`]: AES-256-GCM natively,
    /// ChaCha20-Poly1305 in WebAssembly, which has no AES instructions;
    /// ChaCha20-Poly1305 is also the faster choice on CPUs without them.
    /// Every build opens both.
    pub aead: AeadAlgorithm,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            embedder: Arc::new(HashEmbedder::new()),
            recorded_embedders: None,
            dedup: true,
            sync: SyncPolicy::Always,
            snapshot_every: 50_000,
            max_content_bytes: 1 << 20,
            watch_buffer: 1024,
            vectors: VectorParams::default(),
            data_key: DataKeySource::Generated,
            aead: AeadAlgorithm::PREFERRED,
            background_indexing: cfg!(not(target_arch = "wasm32")),
            coherence: CoherenceOptions::default(),
            patterns: PatternParams::default(),
            strength_decay: crate::strength::DEFAULT_DECAY,
            reinforce_on_recall: false,
            duplicates: Duplicates::default(),
            expiry: Expiry::default(),
            consolidate_every: None,
            max_resident_bytes: None,
            #[cfg(not(target_arch = "wasm32"))]
            ingest: crate::ingest::IngestOptions::default(),
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("embedder", self.embedder.info())
            .field("recorded_embedders", &self.recorded_embedders.is_some())
            .field("dedup", &self.dedup)
            .field("sync", &self.sync)
            .field("snapshot_every", &self.snapshot_every)
            .field("max_content_bytes", &self.max_content_bytes)
            .field("watch_buffer", &self.watch_buffer)
            .field("vectors", &self.vectors)
            .field("background_indexing", &self.background_indexing)
            .field("coherence", &self.coherence)
            .field("patterns", &self.patterns)
            .field("strength_decay", &self.strength_decay)
            .field("reinforce_on_recall", &self.reinforce_on_recall)
            .field("duplicates", &self.duplicates)
            .field("expiry", &self.expiry)
            .field("consolidate_every", &self.consolidate_every)
            .field("max_resident_bytes", &self.max_resident_bytes)
            .field("data_key", &self.data_key)
            .field("aead", &self.aead)
            .finish()
    }
}

impl Options {
    /// Uses `embedder`.
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = embedder;
        self
    }

    /// Opens stored namespaces built with another embedder with the one
    /// `loader` gives for their recorded id (see
    /// [`Self::recorded_embedders`]).
    pub fn recorded_embedders(mut self, loader: EmbedderLoader) -> Self {
        self.recorded_embedders = Some(loader);
        self
    }

    /// Turns deduplication of identical content on or off.
    pub fn dedup(mut self, on: bool) -> Self {
        self.dedup = on;
        self
    }

    /// Sets the AEAD (see [`Options::aead`]).
    pub fn aead(mut self, aead: AeadAlgorithm) -> Self {
        self.aead = aead;
        self
    }

    /// Sets the data key (see [`Options::data_key`]).
    pub fn data_key(mut self, key: crate::DataKey) -> Self {
        self.data_key = DataKeySource::Given(key);
        self
    }

    /// Sets the durability policy.
    pub fn sync(mut self, policy: SyncPolicy) -> Self {
        self.sync = policy;
        self
    }

    /// Sets the raw-event stream's options and promotion rules (native
    /// only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn ingest(mut self, ingest: crate::ingest::IngestOptions) -> Self {
        self.ingest = ingest;
        self
    }

    /// Uses `verifier` to find contradicting facts.
    pub fn verifier(mut self, verifier: Arc<dyn Verifier>) -> Self {
        self.coherence.verifier = verifier;
        self
    }

    /// Sets what near-duplicate writes do (see [`Options::duplicates`]).
    pub fn duplicates(mut self, duplicates: Duplicates) -> Self {
        self.duplicates = duplicates;
        self
    }

    /// Sets the default deadlines (see [`Options::expiry`]).
    pub fn expiry(mut self, expiry: Expiry) -> Self {
        self.expiry = expiry;
        self
    }

    /// Writes a snapshot every `events` events (0: only on close).
    pub fn snapshot_every(mut self, events: u64) -> Self {
        self.snapshot_every = events;
        self
    }
}
