//! # mnemo
//!
//! The memory engine: agents remember, query, revise and forget memories,
//! and recall what is relevant, from one embedded library.
//!
//! ## Where things are
//!
//! Each entry is one concept; the list runs from the ground floor up (a
//! module imports only from modules above it in this list, never back).
//!
//! | module | what it holds |
//! |---|---|
//! | `base/` | ids ([`MemoryId`], [`FactId`], ...), the log position [`base::Seq`], integer-keyed maps, top-K selection |
//! | `model.rs` | a [`Memory`] and its fields: [`Kind`], [`Timestamp`], [`Validity`], [`Metadata`], [`Link`] |
//! | `error.rs` | the engine's [`Error`] |
//! | `crypt.rs` | encryption at rest and erasure: the [`DataKey`], each namespace's key store, sealed blobs |
//! | `contains.rs` | substring search for `contains` filters |
//! | `input.rs` | what callers write ([`NewMemory`], [`Revision`]) and the one check of it ([`Limits`], [`Invalid`]) |
//! | `query.rs` | filters and orders ([`Query`]) |
//! | `ingest/` | raw events: the stream's options, promotion rules and the folder that applies them (native only) |
//! | `calendar.rs`, `rfc3339.rs`, `timehint.rs` | civil dates, RFC 3339 text times, dates named in a query |
//! | `spread.rs` | spreading activation over any graph (the rule and its buffers) |
//! | `strength.rs` | a memory's strength from use (ACT-R base-level activation over its accesses) |
//! | `text/` | BM25 keyword search: tokenizer, Porter2 stemmer, stopwords, dictionary, postings, scoring, codec |
//! | `lifecycle.rs` | expiry (TTLs and deadlines) and near-duplicate settings, and the state's lifecycle tables |
//! | `consolidation.rs` | planning consolidation: related episodic memories grouped and summarised extractively (a pure function) |
//! | `vectors.rs` | the vector index: an exact buffer in front of an HNSW graph a background thread fills |
//! | `tiers.rs` | the warm tier's vectors: SQ8 codes searched by an exact scan |
//! | `facts/` | facts, their validity windows, verifiers, conflicts, decisions and the fact store |
//! | `patterns/` | trajectories clustered into patterns that suggest an executor |
//! | `options.rs` | a namespace's [`Options`] |
//! | `event.rs` | every write as an [`Event`] (versioned postcard) |
//! | `assoc.rs` | the association graph's node numbering and temporal chains |
//! | `state.rs` | the fold: events into memories and every derived index ([`State`]) |
//! | `exec.rs` | running a [`Query`] over the state (bitmaps, B-trees, bounded heaps) |
//! | `watch.rs` | live queries: a [`Watch`] gets each change its filter can see |
//! | `batch.rs` | planning a batch of remembers (a pure function) and its outcomes ([`Remembered`]) |
//! | `recall/` | the recall pipeline: `candidates`, `seeds`, `spread`, `fuse`, `explain` |
//! | `snapshot.rs` | snapshots of the state, written and read through the log's `Storage` |
//! | `namespace.rs` | a [`Namespace`]: one log, its state, writes, reads, recall, proofs |
//! | `raw_events.rs` | [`Namespace::ingest`] and the namespace's raw-event stream (native only) |
//! | `touch.rs` | [`Namespace::touch`], [`Namespace::strength`] and writing the touches recalls queue |
//! | `consolidate.rs` | [`Namespace::consolidate`]: consolidated memories written with their `derived_from` links, and provenance reads |
//! | `tiering.rs` | [`Namespace::rebalance_tiers`]: tiers under a memory budget, and the cold tier's scan |
//! | `expire.rs` | [`Namespace::expire_due`], [`Namespace::set_expiry`], [`Namespace::lifecycle`] and the background sweep |
//! | `proof_at.rs` | [`Namespace::prove_at`]: a memory's inclusion proof at an older tree size (a signed checkpoint's) |
//! | `coherence.rs` | the namespace's facts and trajectories API (assert, conflicts, suggest) |
//! | `engine.rs` | [`Mnemo`]: the namespaces of one data directory (or storage) |
//!
//! ## How the pieces fit
//!
//! Data flows one way. A [`Namespace`] (one user, agent or tenant) owns one
//! event log (`mnemo-log`). A write is checked ([`NewMemory::validate`]),
//! planned (`batch.rs`: added, updated or unchanged), becomes an [`Event`],
//! is appended to the log (checksummed, hashed into the Merkle tree,
//! durable under the default sync policy) and is then folded (`state.rs`)
//! into the state: memories as copy-on-write `Arc<Memory>` and the derived
//! indices: client keys and content hashes (deduplication), roaring bitmaps
//! of tags, sources and kinds, B-trees of event time, recorded time and
//! importance, links, the BM25 text index (`text/`), and vectors
//! (`vectors.rs`). Each fold step yields the memories it touched, which
//! become a [`Delta`] for the caller and deltas for the [`Watch`]es whose
//! filters they can touch (`watch.rs`).
//!
//! Queries (`query.rs`, `exec.rs`) combine bitmaps, walk a B-tree or
//! select top-K with a bounded heap. [`Namespace::recall`] finds candidates
//! by vector and keyword search, spreads activation from the best of them
//! over the association graph (`assoc.rs`: temporal chains, links, rare
//! shared words and, when asked, the HNSW graph's neighbour lists;
//! `spread.rs`) and fuses
//! the three signals (`recall/`). Facts ([`facts`]) are checked for
//! contradictions at write time against the believed facts of their key,
//! and conflicts, resolutions and quarantine are events too; trajectories
//! are clustered into patterns that suggest an executor for a new task
//! ([`patterns`]). Everything after the log is derived: opening a
//! namespace restores the newest valid snapshot (`snapshot.rs`) and replays
//! the events after it, or replays the whole log.

mod assoc;
pub mod base;
mod batch;
pub mod calendar;
mod coherence;
mod consolidate;
pub mod consolidation;
pub mod contains;
pub mod crypt;
mod engine;
mod error;
pub mod event;
mod exec;
mod expire;
pub mod facts;
#[cfg(not(target_arch = "wasm32"))]
pub mod ingest;
pub mod input;
pub mod lifecycle;
mod model;
mod namespace;
mod options;
pub mod patterns;
mod proof_at;
mod query;
#[cfg(not(target_arch = "wasm32"))]
mod raw_events;
pub mod recall;
pub mod rfc3339;
pub mod snapshot;
pub mod spread;
mod state;
pub mod strength;
pub mod text;
mod tiering;
pub mod tiers;
pub mod timehint;
mod touch;
pub mod vectors;
pub mod watch;

pub use batch::{Outcome, Remembered};
pub use coherence::{
    Asserted, EventProof, FactRecord, MAX_EVIDENCE, MAX_SUGGEST_K, NewTrajectory, Recorded,
};
pub use consolidate::{CONSOLIDATED_TAG, ConsolidateOptions, Consolidated};
pub use crypt::{AeadAlgorithm, DataKey, DataKeySource, KeyId};
pub use engine::{Mnemo, StorageProvider, validate_namespace};
pub use error::{Error, Result};
pub use event::Event;
pub use facts::{
    Cardinality, Clock, Conflict, ConflictId, ConflictState, Fact, FactId, FactQuery, FactStatus,
    NewFact, Quarantine, Verdict, Verifier,
};
pub use input::{Invalid, Limits, MAX_LABEL_BYTES, NewMemory, Revision};
pub use mnemo_log::{ConsistencyProof, Hash, SyncPolicy};
pub use model::{Kind, Link, Memory, MemoryId, Metadata, Timestamp, Validity, Value};
pub use namespace::{MemoryProof, Namespace, OpenReport, Progress, Stats};
pub use options::{CoherenceOptions, EmbedderLoader, Options};
pub use query::{OrderBy, Query, TimeRange};
pub use recall::{Fusion, Recall, RecallHit, RecallOptions, SignalHit, SignalWeights};
pub use state::{Delta, Edge, State};
pub use tiering::TierReport;
pub use vectors::VectorParams;
pub use watch::{Watch, WatchEvent};
