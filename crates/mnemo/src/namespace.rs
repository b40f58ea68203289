//! [`Namespace`]: one log, its folded state and indices, and the API on
//! them.
//!
//! ## Writing
//!
//! One writer at a time per namespace (a mutex around the write path).
//! A write validates its input against the current state, embeds new
//! content, encodes its events, appends them to the log (durably, under
//! the default sync policy) and only then folds them into the state. An
//! error at any step before the append leaves everything unchanged; a
//! failed append applies nothing (the log refuses further writes after an
//! I/O error until the namespace is reopened, and reopening replays exactly
//! what the log kept).
//!
//! ## Reading
//!
//! Readers take the state's read lock per query. The fold takes the write
//! lock per memory, not per batch, so a reader never waits for a whole
//! batch to be folded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use mnemo_embed::EmbedderInfo;
use mnemo_log::{Config, ConsistencyProof, Hash, InclusionProof, Log, Storage, SyncPolicy};
use parking_lot::{Mutex, RwLock};

use crate::base::Seq;
use crate::batch::{self, Remembered};
use crate::crypt::{KeyStore, Keyring, WithFresh};
use crate::error::{Error, Result};
use crate::event::{Event, Init, Merged, Retag, Revise, Unlink};
use crate::exec;
use crate::input::{self, Invalid, Limits, NewMemory, Revision};
use crate::model::{Link, Memory, MemoryId, Timestamp};
use crate::options::Options;
use crate::query::Query;
use crate::recall::{self, Recall, RecallHit, RecallOptions};
use crate::snapshot;
use crate::state::{Change, Delta, Edge, State};
use crate::vectors::VectorIndex;
use crate::watch::{Requery, Watch, Watchers};

/// A Merkle inclusion proof of the event that last wrote a memory.
#[derive(Debug, Clone)]
pub struct MemoryProof {
    /// The memory.
    pub id: MemoryId,
    /// Seq of the event (its leaf index).
    pub seq: u64,
    /// The event's log record frame (the leaf's data).
    pub frame: Bytes,
    /// The audit path.
    pub proof: InclusionProof,
    /// The root the proof leads to.
    pub root: Hash,
}

impl MemoryProof {
    /// Checks the proof against its root (and, when given, a root the
    /// caller trusts).
    pub fn verify(&self, trusted_root: Option<&Hash>) -> Result<(), mnemo_log::VerifyError> {
        mnemo_log::verify_inclusion(&self.frame, &self.proof, trusted_root.unwrap_or(&self.root))
    }
}

/// Counts and sizes of a namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// The namespace.
    pub namespace: String,
    /// Live memories.
    pub memories: usize,
    /// Links.
    pub links: usize,
    /// Facts (any status).
    pub facts: usize,
    /// Conflicts not yet resolved.
    pub open_conflicts: usize,
    /// Learned patterns.
    pub patterns: usize,
    /// Trajectories in the patterns.
    pub trajectories: usize,
    /// Distinct tags in use.
    pub tags: usize,
    /// Distinct sources in use.
    pub sources: usize,
    /// Vectors (in the graph and pending).
    pub vectors: usize,
    /// Vectors not yet in the HNSW graph (searched exactly).
    pub vectors_pending: usize,
    /// Events in the log.
    pub events: u64,
    /// Bytes of log segments.
    pub log_bytes: u64,
    /// Approximate heap bytes of the vector index (the hot tier).
    pub vector_index_bytes: usize,
    /// Memories whose vectors are in the warm tier (SQ8 codes).
    pub warm_vectors: usize,
    /// Bytes of the warm tier's codes.
    pub warm_bytes: usize,
    /// Memories whose vectors are only in the log (the cold tier).
    pub cold_memories: usize,
    /// Approximate heap bytes of the BM25 index.
    pub text_index_bytes: usize,
    /// Approximate heap bytes of the association graph's node numbering and
    /// temporal chains (links, vector and keyword edges are not copied).
    pub graph_bytes: usize,
    /// Registered watchers.
    pub watchers: usize,
    /// The embedder.
    pub embedder: EmbedderInfo,
    /// The seq of the newest snapshot on disk, if any.
    pub snapshot_seq: Option<u64>,
}

/// What opening a namespace did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpenReport {
    /// Seq the snapshot used covered (events before it were not replayed).
    pub snapshot_seq: Option<u64>,
    /// Events replayed from the log.
    pub replayed: u64,
    /// Problems met and worked around (a corrupt snapshot, say).
    pub warnings: Vec<String>,
    /// Time the open took.
    pub took: Duration,
}

/// Called during replay with (events done, events in all).
pub type Progress<'a> = &'a dyn Fn(u64, u64);

/// Where an on-disk namespace keeps its files (given by the engine's
/// [`StorageProvider`](crate::StorageProvider)).
pub(crate) struct NamespaceFiles {
    /// The log's directory.
    pub(crate) log: Arc<dyn Storage>,
    /// The snapshots' directory.
    pub(crate) snapshots: Arc<dyn Storage>,
    /// The key store's directory.
    pub(crate) keys: Arc<dyn Storage>,
}

pub(crate) struct Inner {
    pub(crate) name: String,
    pub(crate) dir: Option<PathBuf>,
    /// Where snapshots are kept (none in memory).
    snapshots: Option<Arc<dyn Storage>>,
    pub(crate) log: Log,
    /// The namespace's keys (see [`crate::crypt`]).
    pub(crate) keys: Arc<KeyStore>,
    /// Erasures so far: a snapshot captured before one is shredded
    /// instead of kept.
    erasures: AtomicU64,
    /// Held while a snapshot file is finished or snapshots are shredded.
    snapshot_io: Mutex<()>,
    pub(crate) state: RwLock<State>,
    pub(crate) vectors: Arc<VectorIndex>,
    watchers: Mutex<Watchers>,
    pub(crate) writer: Mutex<()>,
    pub(crate) options: Options,
    pub(crate) embedder: EmbedderInfo,
    indexer: Mutex<Option<std::thread::JoinHandle<()>>>,
    snapshotter: Mutex<Option<std::thread::JoinHandle<()>>>,
    events_since_snapshot: AtomicU64,
    /// Set where snapshots cannot be written in the background (no
    /// threads): [`Namespace::snapshot_if_due`] writes it.
    snapshot_due: AtomicBool,
    pub(crate) snapshot_seq: Mutex<Option<u64>>,
    closed: AtomicBool,
    report: OpenReport,
    /// Spreading buffers reused across recalls.
    pub(crate) spreaders: recall::SpreaderPool,
    /// The raw-event stream and its promotion folder (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) events: crate::ingest::Events,
    /// Memories recalls used, not yet written (`reinforce_on_recall`).
    pub(crate) touches: crate::strength::TouchQueue,
    /// The maintenance thread: writes them and sweeps expired memories
    /// about once a second (native, when the namespace has either to do;
    /// see `expire.rs`).
    pub(crate) maintainer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Tells that thread to stop.
    pub(crate) maintainer_stop: AtomicBool,
    /// When that thread last ran a periodic consolidation.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) consolidated_at: Mutex<Option<std::time::Instant>>,
    /// When that thread last rebalanced the tiers.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) rebalanced_at: Mutex<Option<std::time::Instant>>,
}

/// A handle on one namespace (cheap to clone; all clones share it).
#[derive(Clone)]
pub struct Namespace {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.inner.name)
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl Namespace {
    /// Opens (or creates) the namespace `name` kept in `files` (in memory
    /// when `None`); `dir` is its directory on a real disk, for messages.
    pub(crate) fn open(
        name: &str,
        dir: Option<&Path>,
        files: Option<NamespaceFiles>,
        options: Options,
        progress: Option<Progress<'_>>,
    ) -> Result<Namespace> {
        let mut started = recall::Stopwatch::start();
        let log_error = |source| Error::Log {
            namespace: name.to_owned(),
            source,
        };
        let decay = options.strength_decay;
        if !(decay > 0.0 && decay < 1.0) {
            return Err(Error::Invalid {
                namespace: name.to_owned(),
                field: "strength_decay",
                reason: format!("must be in (0, 1), got {decay}"),
            });
        }
        let every = match options.consolidate_every {
            Some(d) if d.is_zero() => Err(("consolidate_every", "must be positive".to_owned())),
            _ => Ok(()),
        };
        for check in [
            options.duplicates.validate(),
            options.expiry.validate(),
            every,
        ] {
            if let Err((field, reason)) = check {
                return Err(Error::Invalid {
                    namespace: name.to_owned(),
                    field,
                    reason,
                });
            }
        }
        let config = Config::default().sync(options.sync);
        let mut options = options;
        if let Some(budget) = options.max_resident_bytes {
            let least = crate::lifecycle::min_budget(options.embedder.info().dimension);
            if budget < least {
                return Err(Error::Invalid {
                    namespace: name.to_owned(),
                    field: "max_resident_bytes",
                    reason: format!(
                        "{budget} bytes is less than one memory's vector ({least} bytes at this dimension)"
                    ),
                });
            }
        }
        let mut embedder = options.embedder.info().clone();
        let vector_index = |dimension: usize| {
            VectorIndex::new(dimension, options.vectors.clone())
                .map(Arc::new)
                .map_err(|e| Error::Invalid {
                    namespace: name.to_owned(),
                    field: "vector parameters",
                    reason: e.to_string(),
                })
        };
        let mut vectors = vector_index(embedder.dimension)?;
        let mut report = OpenReport::default();
        let keys = Arc::new(KeyStore::open(
            name,
            files.as_ref().map(|f| Arc::clone(&f.keys)),
            &options.data_key,
            options.sync == SyncPolicy::Always,
            options.aead,
        )?);
        // The newest snapshot is checked and decoded while the log opens.
        let (mut log, mut restored) = match &files {
            Some(f) => {
                let (log, found, warnings) = snapshot::restore(
                    f.snapshots.as_ref(),
                    || Log::open_on(Arc::clone(&f.log), config.clone()),
                    &vectors,
                    &keys,
                )
                .map_err(log_error)?;
                report.warnings = warnings;
                (log, found)
            }
            None => (Log::in_memory(config).map_err(log_error)?, None),
        };
        // Refuse a different embedder before spending a replay on it, or
        // take the one the log records when the options can load it.
        let recorded = log.read(log.first_seq()).and_then(|first| {
            match Event::decode(first.seq(), first.payload()) {
                Ok(Event::Init(init)) => {
                    Some(EmbedderInfo::new(init.embedder, init.dimension as usize))
                }
                _ => None,
            }
        });
        if let Some(recorded) = recorded {
            let embed_error = |source| Error::Embed {
                namespace: name.to_owned(),
                source,
            };
            if let Err(mismatch) = recorded.ensure_same(&embedder) {
                let loaded = match &options.recorded_embedders {
                    Some(load) => load(&recorded).map_err(embed_error)?,
                    None => None,
                };
                match loaded {
                    Some(e) if recorded.ensure_same(e.info()).is_ok() => options.embedder = e,
                    _ => return Err(embed_error(mismatch)),
                }
                if recorded.dimension != embedder.dimension {
                    // The snapshot went into an index of the other
                    // dimension: restore it again into one of this.
                    vectors = vector_index(recorded.dimension)?;
                    if let Some(f) = &files {
                        let (reopened, found, warnings) = snapshot::restore(
                            f.snapshots.as_ref(),
                            move || Ok::<_, mnemo_log::Error>(log),
                            &vectors,
                            &keys,
                        )
                        .map_err(log_error)?;
                        log = reopened;
                        report.warnings = warnings;
                        restored = found;
                    }
                }
                embedder = recorded;
            }
        }
        let mut state = State::new(Arc::clone(&vectors));
        let mut from = log.first_seq();
        let mut snapshot_seq = None;
        if let Some(restored) = restored {
            state = restored.state;
            from = restored.seq;
            snapshot_seq = Some(restored.seq);
            report.snapshot_seq = Some(restored.seq);
        }
        let end = log.next_seq();
        if keys.is_new() {
            // A key store made just now opens no sealed record: their keys
            // were in the store that is missing (not restored with the
            // log, say). Replaying would show every memory erased.
            let sealed = log
                .reader()
                .iter(log.first_seq()..end)
                .find(|r| Event::is_sealed(r.payload()))
                .map(|r| r.seq());
            if let Some(seq) = sealed {
                keys.discard();
                return Err(Error::Crypto {
                    namespace: name.to_owned(),
                    reason: format!(
                        "the log holds encrypted events (the first at seq {seq}) but the namespace's key store is missing: restore its keys directory with the log"
                    ),
                });
            }
        }
        let mut forgot_in_replay = false;
        {
            let reader = log.reader();
            let mut changes = Vec::new();
            let total = end - from;
            for record in reader.iter(from..end) {
                let seq = record.seq();
                let event = Event::decode_with(seq, record.payload(), Some(&*keys))?;
                forgot_in_replay |= matches!(event, Event::Forget(_) | Event::Expire(_));
                changes.clear();
                state.apply(
                    seq,
                    Timestamp(record.timestamp_nanos() as i64),
                    &event,
                    &mut changes,
                );
                report.replayed += 1;
                if let Some(p) = progress
                    && (report.replayed % 4096 == 0 || report.replayed == total)
                {
                    p(report.replayed, total);
                }
            }
        }
        // Finish any erasure a crash interrupted: a memory that is not
        // live keeps no key, and a snapshot taken before a forget that
        // was replayed here may hold it.
        // (Keys of ids no memory has yet are kept ready for new ones.)
        let unkept: Vec<u64> = keys
            .memories_with_keys()
            .into_iter()
            .filter(|id| *id < state.next_id && !state.memories.contains_key(id))
            .collect();
        keys.destroy_memory_keys(&unkept)?;
        if forgot_in_replay
            && let Some(f) = &files
            && snapshot::shred_all(f.snapshots.as_ref(), &keys)? > 0
        {
            snapshot_seq = None;
        }
        let inner = Arc::new(Inner {
            name: name.to_owned(),
            dir: dir.map(Path::to_path_buf),
            snapshots: files.map(|f| f.snapshots),
            log,
            keys,
            erasures: AtomicU64::new(0),
            snapshot_io: Mutex::new(()),
            state: RwLock::new(state),
            vectors,
            watchers: Mutex::new(Watchers::default()),
            writer: Mutex::new(()),
            embedder: embedder.clone(),
            indexer: Mutex::new(None),
            snapshotter: Mutex::new(None),
            events_since_snapshot: AtomicU64::new(report.replayed),
            snapshot_due: AtomicBool::new(false),
            snapshot_seq: Mutex::new(snapshot_seq),
            closed: AtomicBool::new(false),
            spreaders: Default::default(),
            #[cfg(not(target_arch = "wasm32"))]
            events: Default::default(),
            touches: Default::default(),
            maintainer: Mutex::new(None),
            maintainer_stop: AtomicBool::new(false),
            #[cfg(not(target_arch = "wasm32"))]
            consolidated_at: Mutex::new(None),
            #[cfg(not(target_arch = "wasm32"))]
            rebalanced_at: Mutex::new(None),
            options,
            report,
        });
        let ns = Namespace { inner };
        let stored = ns.inner.state.read().embedder.clone();
        match stored {
            Some(info) => info.ensure_same(&embedder).map_err(|source| Error::Embed {
                namespace: name.to_owned(),
                source,
            })?,
            None if ns.inner.log.next_seq() == 0 => {
                let _w = ns.inner.writer.lock();
                ns.commit(vec![Event::Init(Init {
                    embedder: embedder.id.clone(),
                    dimension: embedder.dimension as u32,
                })])?;
            }
            None => {
                return Err(Error::BadEvent {
                    seq: ns.inner.log.first_seq(),
                    reason: "the log does not start with the namespace's init event".into(),
                });
            }
        }
        ns.start_indexer();
        let mut ns = ns;
        if let Some(inner) = Arc::get_mut(&mut ns.inner) {
            inner.report.took = started.lap();
        }
        // After the line above: the folder's weak handle would stop
        // `get_mut` from timing the open.
        #[cfg(not(target_arch = "wasm32"))]
        ns.inner.resume_events()?;
        ns.inner.start_maintainer();
        Ok(ns)
    }

    fn start_indexer(&self) {
        // Vectors replayed on open wait for the indexer too.
        self.inner.vectors.notify();
        #[cfg(not(target_arch = "wasm32"))]
        if self.inner.options.background_indexing {
            let vectors = Arc::clone(&self.inner.vectors);
            let handle = std::thread::Builder::new()
                .name(format!("mnemo-index-{}", self.inner.name))
                .spawn(move || vectors.run_indexer());
            if let Ok(h) = handle {
                *self.inner.indexer.lock() = Some(h);
            }
        }
    }

    /// The embedder this namespace was built with (its id and dimension).
    pub fn embedder_info(&self) -> &EmbedderInfo {
        &self.inner.embedder
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// What opening it did (snapshot used, events replayed, warnings).
    pub fn open_report(&self) -> &OpenReport {
        &self.inner.report
    }

    pub(crate) fn invalid(&self, field: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            namespace: self.inner.name.clone(),
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn unknown(&self, id: MemoryId) -> Error {
        Error::UnknownId {
            namespace: self.inner.name.clone(),
            id: id.0,
        }
    }

    /// Whether the namespace was closed ([`Self::close`], or its engine's
    /// close): every later call fails with [`Error::Closed`].
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::Acquire) {
            Err(Error::Closed(self.inner.name.clone()))
        } else {
            Ok(())
        }
    }

    // ----- validation -----

    /// What this namespace accepts (see [`Limits`]).
    pub fn limits(&self) -> Limits {
        Limits {
            max_content_bytes: self.inner.options.max_content_bytes,
            dimension: Some(self.inner.embedder.dimension),
        }
    }

    /// An [`Invalid`] input as this namespace's error.
    pub(crate) fn refused(&self, e: Invalid) -> Error {
        self.invalid(e.field, e.reason)
    }

    pub(crate) fn check_label(&self, field: &'static str, label: &str) -> Result<()> {
        input::validate_label(field, label).map_err(|e| self.refused(e))
    }

    pub(crate) fn check_unit(&self, field: &'static str, x: f32) -> Result<()> {
        input::validate_unit(field, x).map_err(|e| self.refused(e))
    }

    pub(crate) fn check_vector(&self, v: &[f32]) -> Result<()> {
        input::validate_vector(v, &self.limits()).map_err(|e| self.refused(e))
    }

    pub(crate) fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let embedder = &*self.inner.options.embedder;
        let vectors = embedder.embed_batch(texts).map_err(|source| Error::Embed {
            namespace: self.inner.name.clone(),
            source,
        })?;
        if vectors.len() != texts.len() {
            return Err(self.invalid("embedder output", "wrong number of vectors"));
        }
        for v in &vectors {
            self.check_vector(v)?;
        }
        Ok(vectors)
    }

    // ----- writes -----

    /// Remembers one memory and returns its id (the existing id when the
    /// same content or client key is already there; see
    /// [`Self::remember_batch`]).
    pub fn remember(&self, memory: NewMemory) -> Result<MemoryId> {
        let done = self.remember_batch(vec![memory])?;
        done.first()
            .map(|r| r.id)
            .ok_or_else(|| self.invalid("batch", "no id returned"))
    }

    /// Remembers several memories in one append (one lock, at most one
    /// sync): the new memories are one log record, and each keyed update
    /// adds a record (a power failure before the sync may keep a prefix of
    /// those records; an error leaves nothing written). Returns,
    /// per item in order, its memory, what happened ([`Outcome`](crate::Outcome)) and the
    /// seq of the memory's current version.
    ///
    /// - Identical content (already stored, or earlier in the batch) is
    ///   stored once and its id returned ([`Outcome::Unchanged`](crate::Outcome::Unchanged)), unless
    ///   deduplication is off; where near-duplicates merge
    ///   ([`crate::lifecycle::DuplicateMode::Merge`]) the repeat is
    ///   recorded as a merge with its source and time
    ///   ([`Outcome::Merged`](crate::Outcome::Merged)).
    /// - A client key already in use updates that memory to the new
    ///   content and fields (a revision; [`Outcome::Updated`](crate::Outcome::Updated), or
    ///   [`Outcome::Unchanged`](crate::Outcome::Unchanged) when nothing differs) and returns its id;
    ///   the same key twice in one batch: the later one wins.
    /// - Any invalid item fails the whole batch, naming the item; nothing
    ///   is written.
    pub fn remember_batch(&self, memories: Vec<NewMemory>) -> Result<Vec<Remembered>> {
        self.check_open()?;
        let limits = self.limits();
        for (i, m) in memories.iter().enumerate() {
            m.validate(&limits).map_err(|e| {
                self.invalid(e.field, format!("item {i} of the batch: {}", e.reason))
            })?;
        }
        let _writer = self.inner.writer.lock();
        let now = Timestamp::now();
        if self.inner.state.read().lifecycle.any_overdue(now) {
            self.sweep_locked(now)?;
        }
        // Per item: the deadline it asks for, and the namespace's default.
        let expiry = &self.inner.options.expiry;
        let deadlines: Vec<(Option<Timestamp>, Option<Timestamp>)> = memories
            .iter()
            .map(|m| (m.expires, expiry.deadline(now, &m.tags)))
            .collect();
        let mut plan = batch::plan(&self.inner.state.read(), memories, self.inner.options.dedup);
        // In a namespace that merges duplicates, an exact repeat is a merge
        // too: its source and time are recorded (its deadline still
        // applies, as for any repeat).
        let merges_repeats =
            self.inner.options.duplicates.mode == crate::lifecycle::DuplicateMode::Merge;
        let repeats: std::collections::BTreeMap<usize, batch::Repeat> = if merges_repeats {
            std::mem::take(&mut plan.repeats)
                .into_iter()
                .map(|r| (r.item, r))
                .collect()
        } else {
            std::collections::BTreeMap::new()
        };
        let mut events = Vec::new();
        let mut duplicates = batch::DuplicateDecisions::default();
        // Per event: the memory it writes.
        let mut writes = Vec::new();
        if !plan.fresh.is_empty() {
            let missing: Vec<&str> = plan
                .fresh
                .iter()
                .filter(|(_, m)| m.vector.is_none())
                .map(|(_, m)| m.content.as_str())
                .collect();
            let mut embedded = self.embed(&missing)?.into_iter();
            let mut items = Vec::with_capacity(plan.fresh.len());
            for (id, mut m) in plan.fresh {
                let vector = match m.vector.take() {
                    Some(v) => v,
                    None => embedded
                        .next()
                        .ok_or_else(|| self.invalid("embedder output", "too few vectors"))?,
                };
                items.push(batch::remember_event(id, m, vector));
            }
            let state = self.inner.state.read();
            duplicates = batch::near_duplicates(
                &state,
                &mut items,
                &self.inner.options.duplicates,
                now,
                |id| self.log_vector(&state, id),
            )
            .map_err(|e| match e {
                Error::Invalid { field, reason, .. } => self.invalid(field, reason),
                other => other,
            })?;
            drop(state);
            if !items.is_empty() {
                writes.push(items.iter().map(|r| r.id).collect::<Vec<_>>());
                events.push(Event::Remember(items));
            }
        }
        for (old, m) in &plan.updates {
            let mut upsert = batch::upsert(old, m);
            if upsert.needs_vector()
                && let Some(revise) = &mut upsert.revise
            {
                revise.vector = Some(
                    self.embed(&[m.content.as_str()])?
                        .pop()
                        .ok_or_else(|| self.invalid("embedder output", "no vector"))?,
                );
            }
            for event in [
                upsert.revise.map(Event::Revise),
                upsert.retag.map(Event::Retag),
            ]
            .into_iter()
            .flatten()
            {
                writes.push(vec![old.id]);
                events.push(event);
            }
        }
        for (item, repeat) in &repeats {
            if let Some((id, _, _)) = plan.items.get(*item) {
                // A repeat of a new memory that was itself merged lands
                // where that went.
                let into = duplicates.merged_into.get(id).copied().unwrap_or(*id);
                duplicates.merges.push(Merged {
                    into,
                    source: repeat.source.clone(),
                    at: repeat.at.unwrap_or(now),
                    vector_similarity: 1.0,
                    text_similarity: 1.0,
                });
            }
        }
        // Merged items land on the memory they were merged into.
        let items: Vec<(MemoryId, batch::Outcome, Option<Seq>)> = plan
            .items
            .into_iter()
            .enumerate()
            .map(
                |(i, (id, outcome, seq))| match duplicates.merged_into.get(&id) {
                    None if repeats.contains_key(&i) => (id, batch::Outcome::Merged, seq),
                    Some(&into) => {
                        let repeat = repeats.contains_key(&i);
                        let seq = self
                            .inner
                            .state
                            .read()
                            .get(into)
                            .map(|m| Seq(m.updated_seq));
                        let outcome = if outcome == batch::Outcome::Added || repeat {
                            batch::Outcome::Merged
                        } else {
                            outcome
                        };
                        (into, outcome, seq)
                    }
                    None => (id, outcome, seq),
                },
            )
            .collect();
        // Deadlines: an item's own is set when it differs from the memory's;
        // a default only on a memory without one (the default counts from
        // the first write, and a retry after a crash between the memory and
        // its deadline sets it).
        let mut wanted: HashMap<MemoryId, Timestamp> = HashMap::new();
        {
            let state = self.inner.state.read();
            for (i, ((id, outcome, _), (own, default))) in items.iter().zip(&deadlines).enumerate()
            {
                if *outcome == batch::Outcome::Merged && !repeats.contains_key(&i) {
                    continue;
                }
                let current = wanted
                    .get(id)
                    .copied()
                    .or_else(|| state.lifecycle.deadlines.get(&id.0).copied());
                match (own, default) {
                    (Some(t), _) if current != Some(*t) => {
                        wanted.insert(*id, *t);
                    }
                    (None, Some(t)) if current.is_none() => {
                        wanted.insert(*id, *t);
                    }
                    _ => {}
                }
            }
        }
        let sets_deadlines = !wanted.is_empty();
        if sets_deadlines {
            let mut set: Vec<(MemoryId, Option<Timestamp>)> =
                wanted.into_iter().map(|(id, t)| (id, Some(t))).collect();
            set.sort_unstable_by_key(|(id, _)| *id);
            events.push(Event::Expiry(set));
        }
        if !duplicates.flags.is_empty() {
            events.push(Event::Flag(std::mem::take(&mut duplicates.flags)));
        }
        if !duplicates.merges.is_empty() {
            events.push(Event::Merge(std::mem::take(&mut duplicates.merges)));
        }
        let deltas = if events.is_empty() {
            Vec::new()
        } else {
            self.commit(events)?
        };
        if sets_deadlines {
            self.inner.start_maintainer();
        }
        let mut written: HashMap<MemoryId, Seq> = HashMap::new();
        for (delta, ids) in deltas.iter().zip(&writes) {
            for &id in ids {
                written.insert(id, Seq(delta.seq));
            }
        }
        items
            .into_iter()
            .map(|(id, outcome, seq)| {
                let seq = written.get(&id).copied().or(seq).ok_or_else(|| {
                    self.invalid("batch", format!("memory {id} has no recorded seq"))
                })?;
                Ok(Remembered { id, outcome, seq })
            })
            .collect()
    }

    pub(crate) fn live(&self, id: MemoryId) -> Result<Arc<Memory>> {
        self.inner
            .state
            .read()
            .get(id)
            .cloned()
            .ok_or_else(|| self.unknown(id))
    }

    /// Changes fields of memory `id`; returns what changed. A forgotten or
    /// unknown id is an error.
    pub fn revise(&self, id: MemoryId, revision: Revision) -> Result<Delta> {
        self.check_open()?;
        revision
            .validate(&self.limits())
            .map_err(|e| self.refused(e))?;
        let _writer = self.inner.writer.lock();
        self.live(id)?;
        let vector = match (&revision.content, revision.vector) {
            (Some(_), Some(v)) => Some(v),
            (Some(c), None) => self.embed(&[c.as_str()])?.pop(),
            (None, _) => None,
        };
        let event = Event::Revise(Revise {
            id,
            content: revision.content,
            vector,
            kind: revision.kind,
            source: revision.source,
            metadata: revision.metadata,
            at: revision.at,
            valid: revision.valid,
            importance: revision.importance,
            confidence: revision.confidence,
        });
        Ok(self.commit(vec![event])?.pop().unwrap_or_default())
    }

    /// Adds and removes tags of memory `id`.
    pub fn retag(&self, id: MemoryId, add: &[&str], remove: &[&str]) -> Result<Delta> {
        self.check_open()?;
        for t in add.iter().chain(remove) {
            self.check_label("tag", t)?;
        }
        let _writer = self.inner.writer.lock();
        self.live(id)?;
        let event = Event::Retag(Retag {
            id,
            add: add.iter().map(|s| (*s).to_owned()).collect(),
            remove: remove.iter().map(|s| (*s).to_owned()).collect(),
        });
        Ok(self.commit(vec![event])?.pop().unwrap_or_default())
    }

    /// Links `from` to `to` with `kind` and `weight` in `[0, 1]` (replacing
    /// the weight of an existing link of that kind).
    pub fn link(&self, from: MemoryId, to: MemoryId, kind: &str, weight: f32) -> Result<Delta> {
        self.check_open()?;
        self.check_label("link kind", kind)?;
        self.check_unit("weight", weight)?;
        let _writer = self.inner.writer.lock();
        self.live(from)?;
        self.live(to)?;
        let event = Event::Link(Link {
            from,
            to,
            kind: kind.to_owned(),
            weight,
        });
        Ok(self.commit(vec![event])?.pop().unwrap_or_default())
    }

    /// Removes the link `from` → `to` of `kind` (an error if there is none).
    pub fn unlink(&self, from: MemoryId, to: MemoryId, kind: &str) -> Result<Delta> {
        self.check_open()?;
        let _writer = self.inner.writer.lock();
        let exists = self
            .inner
            .state
            .read()
            .links_from(from)
            .iter()
            .any(|e| e.other == to && &*e.kind == kind);
        if !exists {
            return Err(self.invalid("link", format!("no {kind} link from {from} to {to}")));
        }
        let event = Event::Unlink(Unlink {
            from,
            to,
            kind: kind.to_owned(),
        });
        Ok(self.commit(vec![event])?.pop().unwrap_or_default())
    }

    /// Forgets memory `id` and erases it: it leaves the state and every
    /// index at once, and its key is destroyed, so what the log holds of
    /// it can no longer be read; snapshots that hold it are shredded. The
    /// forget event is durable when this returns (under
    /// [`SyncPolicy::Always`]); the zeroed key slot is synced right after
    /// (see [`crate::crypt`]), and opening after a crash finishes the
    /// erasure from the log.
    pub fn forget(&self, id: MemoryId) -> Result<Delta> {
        self.check_open()?;
        let _writer = self.inner.writer.lock();
        self.live(id)?;
        let delta = self
            .commit(vec![Event::Forget(id)])?
            .pop()
            .unwrap_or_default();
        self.erase(&[id.0])?;
        Ok(delta)
    }

    /// Forgets and erases every live memory `filter` matches (a tag, a
    /// source, or everything: `Query::new()`), as [`Namespace::forget`]
    /// does one; `limit` and `offset` are ignored. Returns the ids
    /// forgotten, ascending.
    pub fn purge(&self, filter: &Query) -> Result<Vec<MemoryId>> {
        self.check_open()?;
        let _writer = self.inner.writer.lock();
        let mut all = filter.clone();
        all.limit = None;
        all.offset = 0;
        all.order = crate::query::OrderBy::Id;
        all.descending = false;
        let ids: Vec<MemoryId> = exec::run(&self.inner.state.read(), &all)
            .iter()
            .map(|m| m.id)
            .collect();
        // One record per forget, appended in batches of bounded size.
        for chunk in ids.chunks(4096) {
            self.commit(chunk.iter().map(|&id| Event::Forget(id)).collect())?;
        }
        let raw: Vec<u64> = ids.iter().map(|id| id.0).collect();
        self.erase(&raw)?;
        Ok(ids)
    }

    /// Destroys the keys of forgotten memories `ids` and shreds every
    /// snapshot (each may hold them). The caller holds the writer lock and
    /// has appended their forget events.
    pub(crate) fn erase(&self, ids: &[u64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.inner.erasures.fetch_add(1, Ordering::AcqRel);
        self.inner.keys.destroy_memory_keys(ids)?;
        let Some(storage) = &self.inner.snapshots else {
            return Ok(());
        };
        let _io = self.inner.snapshot_io.lock();
        if self.inner.snapshot_seq.lock().take().is_some() || self.inner.keys.has_snapshot_keys() {
            snapshot::shred_all(storage.as_ref(), &self.inner.keys)?;
        }
        Ok(())
    }

    /// The key of this namespace's snapshot of `seq`, to inspect the file
    /// with [`snapshot::inspect`]; `None` when it has none (destroyed).
    pub fn snapshot_key(&self, seq: u64) -> Option<snapshot::SnapshotKey> {
        let newest = self.inner.keys.snapshot_keys(seq).pop();
        newest.map(snapshot::SnapshotKey)
    }

    /// Re-wraps this namespace's keys under the data key `new` (see
    /// [`crate::crypt`]); the log is not rewritten. After it the namespace
    /// opens only with `new`.
    pub fn rotate_data_key(&self, new: &crate::DataKey) -> Result<()> {
        self.check_open()?;
        self.wait_for_snapshot();
        let _writer = self.inner.writer.lock();
        let _io = self.inner.snapshot_io.lock();
        self.inner.keys.rotate(new.clone())
    }

    /// The id of the data key this namespace's keys are wrapped with, and
    /// whether it was generated and is kept beside the namespace.
    pub fn data_key(&self) -> (crate::KeyId, bool) {
        (
            self.inner.keys.data_key_id(),
            self.inner.keys.is_generated(),
        )
    }

    /// Appends `events` to the log and folds them; returns one delta per
    /// event. The caller holds the writer lock.
    pub(crate) fn commit(&self, events: Vec<Event>) -> Result<Vec<Delta>> {
        let mut payloads = Vec::with_capacity(events.len());
        let max = self.inner.log.config().max_record_bytes;
        // Every memory an event writes has a key before its event is
        // appended (a new memory's is made here; so is one for a memory
        // written before encryption, from its next change on).
        let keys = &self.inner.keys;
        let mut need_keys: Vec<u64> = Vec::new();
        // New memories take ids upwards from the namespace's next id: the
        // id after the last one is the first no memory has.
        let mut first_unassigned: Option<u64> = None;
        for e in &events {
            match e {
                Event::Remember(items) => {
                    need_keys.extend(items.iter().map(|r| r.id.0));
                    let after = items.iter().map(|r| r.id.0.saturating_add(1)).max();
                    first_unassigned = first_unassigned.max(after);
                }
                Event::Derive(items) => {
                    need_keys.extend(items.iter().map(|d| d.memory.id.0));
                    let after = items.iter().map(|d| d.memory.id.0.saturating_add(1)).max();
                    first_unassigned = first_unassigned.max(after);
                }
                Event::Revise(Revise { id, .. }) | Event::Retag(Retag { id, .. })
                    if keys.memory(id.0).is_none() =>
                {
                    need_keys.push(id.0);
                }
                _ => {}
            }
        }
        let keyring = WithFresh {
            store: keys,
            fresh: keys.create_memory_keys(&need_keys, first_unassigned)?,
        };
        for e in &events {
            let payload = e.encode_sealed(&keyring)?;
            if payload.len() > max {
                return Err(self.invalid(
                    "batch",
                    format!(
                        "its {} event encodes to {} bytes, more than the log's record limit of {max} bytes; split it into smaller batches",
                        e.name(),
                        payload.len()
                    ),
                ));
            }
            payloads.push(payload);
        }
        // The memories' keys are not kept past sealing.
        drop(keyring);
        let appended = self
            .inner
            .log
            .append_batch(&payloads)
            .map_err(|source| Error::Log {
                namespace: self.inner.name.clone(),
                source,
            })?;
        drop(payloads);
        let seqs = appended.seqs;
        // The time the log stamped on the records, converted as replay does.
        let recorded = Timestamp(appended.timestamp_nanos as i64);
        let mut deltas = Vec::with_capacity(events.len());
        let mut changes = Vec::new();
        let mut scratch = Vec::new();
        for (seq, event) in seqs.clone().zip(&events) {
            changes.clear();
            match event {
                Event::Remember(items) => {
                    // One memory per lock hold: readers interleave.
                    for item in items {
                        let mut state = self.inner.state.write();
                        let before = changes.len();
                        state.apply_remember(seq, recorded, item, &mut changes);
                        self.dispatch(&changes[before..], &mut scratch);
                        state.next_seq = state.next_seq.max(seq + 1);
                    }
                }
                other => {
                    let mut state = self.inner.state.write();
                    state.apply(seq, recorded, other, &mut changes);
                    self.dispatch(&changes, &mut scratch);
                }
            }
            deltas.push(Delta::from_changes(seq, &changes));
        }
        // Forgets add nothing for the indexer (their vectors left the graph
        // and the pending set above): it is not woken for them.
        if !events.iter().all(|e| matches!(e, Event::Forget(_))) {
            self.inner.vectors.notify();
        }
        #[cfg(target_arch = "wasm32")]
        self.inner.vectors.flush();
        #[cfg(not(target_arch = "wasm32"))]
        if !self.inner.options.background_indexing {
            self.inner.vectors.flush();
        }
        let n = seqs.end - seqs.start;
        let since = self
            .inner
            .events_since_snapshot
            .fetch_add(n, Ordering::Relaxed)
            + n;
        // Past `snapshot_every` memories the interval grows with the
        // namespace, so the total work of periodic snapshots stays linear in
        // the number of events instead of quadratic.
        let every = self.inner.options.snapshot_every;
        if every > 0 && since >= every && since >= self.inner.state.read().len() as u64 {
            self.snapshot_in_background();
        }
        Ok(deltas)
    }

    /// Sends changes to watchers (called with the state write lock held, so
    /// a watcher registered under the read lock sees each change exactly
    /// once: in its first result or as a delta).
    fn dispatch(&self, changes: &[Change], scratch: &mut Vec<u64>) {
        let watchers = self.inner.watchers.lock();
        if watchers.len() == 0 {
            return;
        }
        for c in changes {
            watchers.dispatch(c, scratch);
        }
    }

    // ----- reads -----

    /// The memory with this id, if it is live.
    pub fn get(&self, id: MemoryId) -> Option<Arc<Memory>> {
        self.inner.state.read().get(id).cloned()
    }

    /// The memory with this client key, if any.
    pub fn get_by_key(&self, key: &str) -> Option<Arc<Memory>> {
        let state = self.inner.state.read();
        state.by_key.get(key).and_then(|id| state.get(*id)).cloned()
    }

    /// Runs a query (see [`Query`]).
    pub fn query(&self, query: &Query) -> Vec<Arc<Memory>> {
        exec::run(&self.inner.state.read(), query)
    }

    /// Counts the memories matching the query's filters.
    pub fn count(&self, query: &Query) -> u64 {
        exec::count(&self.inner.state.read(), query, u64::MAX)
    }

    /// Whether any memory matches the query's filters.
    pub fn exists(&self, query: &Query) -> bool {
        exec::exists(&self.inner.state.read(), query)
    }

    /// Links leaving and arriving at `id`: `(outgoing, incoming)`.
    pub fn links(&self, id: MemoryId) -> (Vec<Link>, Vec<Link>) {
        let state = self.inner.state.read();
        let to_link = |e: &Edge, out: bool| Link {
            from: if out { id } else { e.other },
            to: if out { e.other } else { id },
            kind: e.kind.to_string(),
            weight: e.weight,
        };
        (
            state
                .links_from(id)
                .iter()
                .map(|e| to_link(e, true))
                .collect(),
            state
                .links_to(id)
                .iter()
                .map(|e| to_link(e, false))
                .collect(),
        )
    }

    /// Watches a query: first its current result (ordered, offset and
    /// limited as the query says; [`Watch::total`] counts every match),
    /// then deltas (see [`crate::watch`]).
    pub fn watch(&self, query: Query) -> Result<Watch> {
        self.check_open()?;
        let state = self.inner.state.read();
        let current = exec::run(&state, &query);
        // Counted under the same read lock as the result, so the total
        // and the result describe the same moment.
        let total = crate::watch::matched(&state, &query, current.len());
        let (id, shared) =
            self.inner
                .watchers
                .lock()
                .register(query, current, self.inner.options.watch_buffer);
        drop(state);
        let owner: Arc<dyn Requery> = Arc::clone(&self.inner) as Arc<dyn Requery>;
        let weak: Weak<dyn Requery> = Arc::downgrade(&owner);
        Ok(Watch::new(id, shared, weak, total))
    }

    /// Recall with the default options (spreading activation on): the `k`
    /// memories most relevant to `text` among those the filters of
    /// `filter` admit, each with why it was recalled. See
    /// [`Self::recall_with`].
    pub fn recall(&self, text: &str, k: usize, filter: &Query) -> Result<Vec<RecallHit>> {
        let options = RecallOptions {
            k,
            filter: filter.clone(),
            ..RecallOptions::default()
        };
        Ok(self.recall_with(text, &options)?.hits)
    }

    /// Cognitive recall (see [`crate::recall`]): vector kNN and BM25 find
    /// candidates, the best seed spreading activation over the association
    /// graph, and the signals are fused by weighted reciprocal rank. The
    /// query is embedded unless `options.query_vector` is given or the
    /// vector signal is off.
    pub fn recall_with(&self, text: &str, options: &RecallOptions) -> Result<Recall> {
        self.check_open()?;
        options
            .validate()
            .map_err(|e| recall::invalid(&self.inner.name, e))?;
        if let Some(v) = &options.query_vector
            && v.len() != self.inner.embedder.dimension
        {
            return Err(self.invalid(
                "query_vector",
                "its dimension differs from the namespace's embedder",
            ));
        }
        // The monotonic clock that also runs in the browser (`base::Tick`).
        let mut clock = recall::Stopwatch::start();
        let embedded = match &options.query_vector {
            Some(_) => None,
            None if options.weights.vector > 0.0 && !text.trim().is_empty() && options.k > 0 => {
                self.embed(&[text])?.pop()
            }
            None => None,
        };
        let embed_time = if embedded.is_some() {
            clock.lap()
        } else {
            Duration::ZERO
        };
        let vector = options.query_vector.as_deref().or(embedded.as_deref());
        let state = self.inner.state.read();
        let cold = match vector {
            Some(v) if options.scan_cold => self.scan_cold(&state, v, options)?,
            _ => Vec::new(),
        };
        let source = recall::Source {
            namespace: &self.inner.name,
            state: &state,
            spreaders: &self.inner.spreaders,
            strength_decay: self.inner.options.strength_decay,
            cold: &cold,
            cold_vector: &|id| self.log_vector(&state, id),
        };
        let recall = recall::run(&source, text, vector, options, embed_time)?;
        drop(state);
        if self.inner.options.reinforce_on_recall {
            self.inner
                .touches
                .queue(recall.hits.iter().map(|h| h.memory.id));
        }
        Ok(recall)
    }

    /// The current Merkle root of the log and the number of events it
    /// covers.
    pub fn root(&self) -> Result<(Hash, u64)> {
        // The events folded, not the log's end: after a failed append the
        // log holds the refused records in memory until it is reopened.
        let size = self.inner.state.read().next_seq;
        Ok((self.log_root(size)?, size))
    }

    /// The Merkle root of the log's first `size` events (the root
    /// [`Namespace::root`] answered when the log held that many). `size`
    /// may be at most the events the namespace holds.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        let held = self.inner.state.read().next_seq;
        if size > held {
            return Err(self.invalid(
                "size",
                format!("the log holds {held} events, fewer than {size}"),
            ));
        }
        self.log_root(size)
    }

    fn log_root(&self, size: u64) -> Result<Hash> {
        if size == 0 {
            return Ok(mnemo_log::merkle::empty_root());
        }
        self.inner.log.root_at(size).map_err(|source| Error::Log {
            namespace: self.inner.name.clone(),
            source,
        })
    }

    /// Proof that the log's first `old_size` events are a prefix of its
    /// first `new_size` (RFC 9162 §2.1.4): what a client holding an older
    /// root, or a signed checkpoint, checks to know that the history since
    /// was only appended to, never rewritten. The proof is empty when
    /// `old_size` is 0 or equals `new_size`. `new_size` may be at most the
    /// events the namespace holds ([`Namespace::root`]'s count).
    pub fn prove_consistency(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof> {
        let (_, size) = self.root()?;
        if new_size > size {
            return Err(self.invalid(
                "to",
                format!("the log holds {size} events, fewer than {new_size}"),
            ));
        }
        if old_size > new_size {
            return Err(self.invalid(
                "from",
                format!("{old_size} is past the newer size {new_size}"),
            ));
        }
        if old_size == 0 || old_size == new_size {
            return Ok(ConsistencyProof {
                old_size,
                new_size,
                path: Vec::new(),
            });
        }
        self.inner
            .log
            .consistency_proof(old_size, new_size)
            .map_err(|source| Error::Log {
                namespace: self.inner.name.clone(),
                source,
            })
    }

    /// The Merkle inclusion proof of the event that last wrote memory `id`
    /// (its remember, or its latest revision or retag).
    pub fn prove(&self, id: MemoryId) -> Result<MemoryProof> {
        let memory = self.live(id)?;
        let p = self.prove_event(memory.updated_seq)?;
        Ok(MemoryProof {
            id,
            seq: p.seq,
            frame: p.frame,
            proof: p.proof,
            root: p.root,
        })
    }

    /// Counts and sizes.
    pub fn stats(&self) -> Stats {
        let state = self.inner.state.read();
        let log = self.inner.log.stats();
        Stats {
            namespace: self.inner.name.clone(),
            memories: state.len(),
            links: state.link_count(),
            facts: state.facts.len(),
            open_conflicts: state.facts.open_conflicts(),
            patterns: state.patterns.as_ref().map_or(0, |p| p.len()),
            trajectories: state.patterns.as_ref().map_or(0, |p| p.trajectory_count()),
            tags: state.tags.len(),
            sources: state.sources.len(),
            vectors: self.inner.vectors.len(),
            vectors_pending: self.inner.vectors.pending_len(),
            events: state.next_seq.saturating_sub(log.first_seq),
            log_bytes: log.bytes,
            vector_index_bytes: self.inner.vectors.memory_bytes(),
            warm_vectors: state.warm.len(),
            warm_bytes: state.warm.memory_bytes(),
            cold_memories: state
                .lifecycle
                .tiers
                .values()
                .filter(|t| **t == crate::lifecycle::Tier::Cold)
                .count(),
            text_index_bytes: state.text.memory_bytes(),
            graph_bytes: state.assoc.memory_bytes(),
            watchers: self.inner.watchers.lock().len(),
            embedder: self.inner.embedder.clone(),
            snapshot_seq: *self.inner.snapshot_seq.lock(),
        }
    }

    /// The log (read-only use: verification, export of raw events).
    pub fn log(&self) -> &Log {
        &self.inner.log
    }

    /// Waits until every vector is in the HNSW graph (when past the flat
    /// threshold).
    pub fn flush_index(&self) {
        self.inner.vectors.flush();
    }

    /// Writes a snapshot now (on this thread); returns its seq. In-memory
    /// namespaces have none.
    pub fn snapshot(&self) -> Result<Option<u64>> {
        self.wait_for_snapshot();
        self.inner.write_snapshot()
    }

    fn snapshot_in_background(&self) {
        let mut slot = self.inner.snapshotter.lock();
        if slot.as_ref().is_some_and(|h| !h.is_finished())
            || self.inner.snapshots.is_none()
            || self.inner.closed.load(Ordering::Acquire)
        {
            return;
        }
        if let Some(h) = slot.take() {
            let _ = h.join();
        }
        #[cfg(target_arch = "wasm32")]
        self.inner.snapshot_due.store(true, Ordering::Release);
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.inner.events_since_snapshot.store(0, Ordering::Relaxed);
            let inner = Arc::clone(&self.inner);
            let spawned = std::thread::Builder::new()
                .name(format!("mnemo-snapshot-{}", self.inner.name))
                .spawn(move || {
                    if let Err(e) = inner.write_snapshot() {
                        eprintln!("mnemo: warning: background snapshot failed: {e}");
                    }
                });
            if let Ok(h) = spawned {
                *slot = Some(h);
            }
        }
    }

    /// Writes the snapshot the last writes made due, on this thread, and
    /// returns its seq (`None` when none was due). On targets without
    /// threads (the browser) writes only mark a snapshot due, and the
    /// embedder calls this when idle; elsewhere snapshots are written in
    /// the background and this finds none due.
    pub fn snapshot_if_due(&self) -> Result<Option<u64>> {
        if !self.inner.snapshot_due.swap(false, Ordering::AcqRel)
            || self.inner.closed.load(Ordering::Acquire)
        {
            return Ok(None);
        }
        self.inner.events_since_snapshot.store(0, Ordering::Relaxed);
        self.inner.write_snapshot()
    }

    fn wait_for_snapshot(&self) {
        if let Some(h) = self.inner.snapshotter.lock().take() {
            let _ = h.join();
        }
    }

    /// Closes the namespace: stops the indexer, writes a snapshot (on disk
    /// namespaces with events since the last one), syncs the log. Other
    /// handles get [`Error::Closed`] on writes afterwards. The log's
    /// directory lock is released when the last handle is dropped, so
    /// reopening the directory in the same process needs every clone of
    /// this handle dropped first.
    pub fn close(&self) -> Result<()> {
        if self.inner.is_closed() {
            return Ok(());
        }
        // Touches recalls queued are written while writes are still taken.
        self.inner.stop_maintainer()?;
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // The promotion folder writes memories: stop it before the writer
        // lock is taken for good.
        #[cfg(not(target_arch = "wasm32"))]
        self.inner.events.close().map_err(|source| Error::Ingest {
            namespace: self.inner.name.clone(),
            accepted: 0,
            source,
        })?;
        // A background snapshot takes the writer lock: join it first (none
        // starts once `closed` is set).
        self.wait_for_snapshot();
        let _writer = self.inner.writer.lock();
        self.inner.vectors.shutdown();
        if let Some(h) = self.inner.indexer.lock().take() {
            let _ = h.join();
        }
        self.inner.watchers.lock().close_all();
        if self.inner.events_since_snapshot.load(Ordering::Relaxed) > 0 {
            let captured = snapshot::capture(&self.inner.state.read(), &self.inner.vectors);
            let erasures = self.inner.erasures.load(Ordering::Acquire);
            self.inner.persist_snapshot(captured, erasures)?;
        }
        // Keys before the log: the log never holds a memory whose key a
        // crash could lose.
        self.inner.keys.sync()?;
        self.inner.log.sync().map_err(|source| Error::Log {
            namespace: self.inner.name.clone(),
            source,
        })
    }
}

impl Inner {
    /// Whether the namespace was closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl Inner {
    /// Takes the namespace's writer lock (no event is half-folded while it
    /// is held).
    pub(crate) fn writer_lock(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.writer.lock()
    }

    /// Captures a snapshot under the writer lock and writes it (after the
    /// lock is released); returns its seq (`None` in memory).
    fn write_snapshot(&self) -> Result<Option<u64>> {
        if self.snapshots.is_none() {
            return Ok(None);
        }
        let (captured, erasures) = {
            let _writer = self.writer_lock();
            (
                snapshot::capture(&self.state.read(), &self.vectors),
                self.erasures.load(Ordering::Acquire),
            )
        };
        self.persist_snapshot(captured, erasures)
    }

    /// Writes a captured snapshot to the snapshot storage and notes its seq
    /// (nothing in memory). `erasures` is the count when it was captured:
    /// if a memory was erased since, the snapshot may hold it and is
    /// shredded at once instead (`None`).
    fn persist_snapshot(&self, captured: snapshot::Captured, erasures: u64) -> Result<Option<u64>> {
        let Some(storage) = &self.snapshots else {
            return Ok(None);
        };
        let seq = snapshot::persist(
            storage.as_ref(),
            &self.log,
            &self.name,
            captured,
            &self.keys,
        )?;
        let _io = self.snapshot_io.lock();
        if self.erasures.load(Ordering::Acquire) != erasures {
            snapshot::shred_all(storage.as_ref(), &self.keys)?;
            *self.snapshot_seq.lock() = None;
            return Ok(None);
        }
        *self.snapshot_seq.lock() = Some(seq);
        Ok(Some(seq))
    }
}

impl Requery for Inner {
    fn requery(&self, query: &Query) -> Option<(Vec<Arc<Memory>>, u64)> {
        let state = self.state.read();
        let current = exec::run(&state, query);
        let total = crate::watch::matched(&state, query, current.len());
        Some((current, total))
    }

    fn unregister(&self, id: u64) {
        self.watchers.lock().unregister(id);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.vectors.shutdown();
        if let Some(h) = self.indexer.get_mut().take() {
            let _ = h.join();
        }
        // The snapshot thread may hold the last handle: never join itself.
        if let Some(h) = self.snapshotter.get_mut().take()
            && h.thread().id() != std::thread::current().id()
        {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Mnemo, NewMemory, Options};

    #[test]
    fn a_durable_batch_is_synced_and_folded_before_remember_batch_returns() {
        let dir = tempfile::tempdir().expect("dir");
        let engine = Mnemo::open_with(dir.path(), Options::default()).expect("open");
        let ns = engine.namespace("d").expect("ns");
        let batch: Vec<NewMemory> = (0..100)
            .map(|i| NewMemory::new(format!("durable note {i}")))
            .collect();
        let done = ns.remember_batch(batch).expect("remember");
        let last = done.iter().map(|r| r.seq.0).max().expect("some");
        assert!(ns.log().durable_seq() > last, "acknowledged before durable");
        assert_eq!(ns.stats().memories, 100);
        for r in &done {
            assert!(ns.get(r.id).is_some(), "memory {} not folded", r.id);
        }
    }
}

/// A crash in the middle of a forget, on a simulated disk: whatever the
/// moment of the power cut, the reopened namespace either still has the
/// memory (the forget never became durable) or has erased it completely:
/// no key for it, and no snapshot key left that could open a snapshot
/// taken before it.
#[cfg(test)]
mod erase_tests {
    use std::sync::Arc;

    use mnemo_log::Storage;
    use mnemo_log::sim::SimDisk;

    use crate::crypt::Keyring;
    use crate::{Mnemo, NewMemory, Options, StorageProvider, SyncPolicy};

    struct Sim(SimDisk);

    impl StorageProvider for Sim {
        fn location(&self) -> String {
            self.0.location()
        }
        fn log(&self, ns: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
            Ok(Arc::new(self.0.dir(ns).dir("log")))
        }
        fn snapshots(&self, ns: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
            Ok(Arc::new(self.0.dir(ns).dir("snapshots")))
        }
        fn keys(&self, ns: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
            Ok(Arc::new(self.0.dir(ns).dir("keys")))
        }
        fn namespaces(&self) -> Vec<String> {
            self.0.dirs()
        }
    }

    const SECRET: &str = "my social security number is 078-05-1120";

    fn options() -> Options {
        let mut o = Options::default().sync(SyncPolicy::Always);
        o.background_indexing = false;
        o
    }

    /// Every file of the disk, recursively.
    fn all_files(disk: &SimDisk) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = disk
            .file_names()
            .iter()
            .filter_map(|n| disk.file(n))
            .collect();
        for d in disk.dirs() {
            out.extend(all_files(&disk.dir(&d)));
        }
        out
    }

    #[test]
    fn a_forget_cut_anywhere_either_did_not_happen_or_erased_completely() {
        let (mut kept, mut erased) = (0, 0);
        for cut in 0..24 {
            for seed in 0..4 {
                let disk = SimDisk::new();
                let engine = Mnemo::open_on(Arc::new(Sim(disk.clone())), options());
                let ns = engine.namespace("p").expect("namespace");
                let id = ns.remember(NewMemory::new(SECRET)).expect("remember");
                ns.remember(NewMemory::new("water the plants"))
                    .expect("remember");
                ns.snapshot().expect("snapshot");
                disk.cut_power_after(cut);
                let acked = ns.forget(id).is_ok();
                let image = disk.power_fail(seed);
                drop(ns);
                drop(engine);

                let engine = Mnemo::open_on(Arc::new(Sim(image.clone())), options());
                let ns = engine.namespace("p").expect("reopen");
                let keys = &ns.inner.keys;
                match ns.get(id) {
                    Some(m) => {
                        assert!(
                            !acked,
                            "cut {cut} seed {seed}: an acknowledged forget was lost"
                        );
                        assert_eq!(m.content, SECRET);
                        kept += 1;
                    }
                    None => {
                        assert!(
                            keys.memory(id.0).is_none(),
                            "cut {cut} seed {seed}: the forgotten memory's key survived"
                        );
                        assert!(
                            !keys.has_snapshot_keys(),
                            "cut {cut} seed {seed}: a snapshot from before the forget can still be opened"
                        );
                        erased += 1;
                    }
                }
                engine.close().expect("close");
                for file in all_files(&image) {
                    assert!(
                        !file
                            .windows(8)
                            .any(|w| SECRET.as_bytes().windows(8).any(|s| s == w)),
                        "cut {cut} seed {seed}: a file holds the secret in the clear"
                    );
                }
            }
        }
        assert!(kept > 0 && erased > 0, "kept {kept}, erased {erased}");
    }
}
