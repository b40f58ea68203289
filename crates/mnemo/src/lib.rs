//! # mnemo
//!
//! The memory engine: agents remember, query, revise and forget memories,
//! and recall what is relevant, from one embedded library.
//!
//! ## How the pieces fit
//!
//! Data flows one way. A [`Namespace`] (one user, agent or tenant) owns one
//! event log (`mnemo-log`). A write becomes an [`Event`] (`event.rs`:
//! versioned postcard), is appended to the log (checksummed, hashed into
//! the Merkle tree, durable under the default sync policy) and is then
//! folded (`state.rs`) into the state: memories as copy-on-write
//! `Arc<Memory>` and the derived indices: client keys and content hashes
//! (deduplication), roaring bitmaps of tags, sources and kinds, B-trees of
//! event time, recorded time and importance, links, the BM25 text index
//! (`text`), and vectors (`vectors.rs`: an exact buffer in front of an
//! HNSW graph that a background thread fills). Each fold step yields the
//! memories it touched, which become a [`Delta`] for the caller and
//! deltas for the [`Watch`]es whose filters they can touch (`watch.rs`).
//!
//! Queries (`query.rs`, `exec.rs`) combine bitmaps, walk a B-tree or
//! select top-K with a bounded heap. [`Namespace::recall`] finds candidates
//! by vector and keyword search, spreads activation from the best of them
//! over the association graph (`assoc.rs`: temporal chains, links, the
//! HNSW graph's neighbour lists, rare shared words; `spread.rs`) and fuses
//! the three signals (`recall.rs`). Facts ([`facts`]) are checked for
//! contradictions at write time against the believed facts of their key,
//! and conflicts, resolutions and quarantine are events too; trajectories
//! are clustered into patterns that suggest an executor for a new task
//! ([`patterns`]); their namespace API is in `coherence.rs`. Everything after the
//! log is derived: opening a namespace restores the newest valid snapshot
//! (`snapshot.rs`) and replays the events after it, or replays the whole
//! log.

mod assoc;
mod batch;
pub mod base;
pub mod calendar;
mod coherence;
pub mod contains;
mod engine;
mod error;
pub mod event;
mod exec;
pub mod facts;
pub mod input;
mod model;
mod namespace;
mod options;
pub mod patterns;
mod query;
pub mod recall;
pub mod rfc3339;
pub mod snapshot;
pub mod spread;
mod state;
pub mod text;
pub mod timehint;
pub mod vectors;
pub mod watch;

pub use coherence::{
    Asserted, EventProof, FactRecord, MAX_EVIDENCE, MAX_SUGGEST_K, NewTrajectory, Recorded,
};
pub use engine::{Mnemo, StorageProvider, validate_namespace};
pub use error::{Error, Result};
pub use event::Event;
pub use facts::{
    Cardinality, Clock, Conflict, ConflictId, ConflictState, Fact, FactId, FactQuery, FactStatus,
    NewFact, Quarantine, Verdict, Verifier,
};
pub use batch::{Outcome, Remembered};
pub use input::{Invalid, Limits, MAX_LABEL_BYTES, NewMemory, Revision};
pub use mnemo_log::{Hash, SyncPolicy};
pub use model::{Kind, Link, Memory, MemoryId, Metadata, Timestamp, Validity, Value};
pub use namespace::{MemoryProof, Namespace, OpenReport, Progress, Stats};
pub use options::{CoherenceOptions, Options};
pub use query::{OrderBy, Query, TimeRange};
pub use recall::{Fusion, Recall, RecallHit, RecallOptions, SignalHit, SignalWeights};
pub use state::{Delta, Edge, State};
pub use vectors::VectorParams;
pub use watch::{Watch, WatchEvent};
