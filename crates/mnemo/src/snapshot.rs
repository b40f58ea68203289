//! Snapshots: the folded state and its indices at a log seq, so opening
//! does not replay the whole log.
//!
//! ## File format (version 2)
//!
//! `DIR/<namespace>/snapshots/{seq:020}.snap`, where `seq` is the number of
//! events folded in (the state is the fold of events `0..seq`). All
//! integers little-endian.
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0 | 8 | magic `MNEMOSNP` |
//! | 8 | 2 | version `2` |
//! | 10 | 6 | zero |
//! | 16 | 8 | `seq` |
//! | 24 | 32 | the log's Merkle root at tree size `seq` (ties the snapshot to its log) |
//! | 56 | 8 | `len`: bytes of the sections that follow |
//! | 64 | len | four sections, each a u64 length then its bytes: (1) postcard of the memories, links, next id, embedder, facts, conflicts and the pattern store (itself postcard, nested as bytes); (2) the BM25 index (`text` module format); (3) the HNSW graph (`mnemo-vector` format; empty when there is none); (4) the vectors not yet in the graph (`mnemo-vector` flat format) |
//! | 64+len | 8 | XXH3-64 of bytes `0..64+len` |
//!
//! Snapshots are kept through a [`Storage`] of their own (the directory
//! above on a real disk; a simulated disk in fault tests). A snapshot is
//! written with [`Storage::write_atomic_parts`]: to a temporary file
//! (`{seq:020}.snap.tmp`), synced, renamed into place and the directory
//! synced, so after any failure it is either wholly there or absent; the
//! two newest are kept. Opening takes the
//! newest snapshot that passes every check (checksum, seq within the log,
//! Merkle root equal to the log's at that seq, every section decoding and
//! agreeing on counts), restores it and replays the events after it. A
//! snapshot failing a check is reported as a warning and the next older
//! one tried; with none left the whole log is replayed. Snapshots never
//! hold anything the log does not, so losing them loses no data.
//!
//! This module sees a namespace only through what it is given: the state
//! and vector index to capture, the storage to keep files in and the log
//! they must agree with. The caller holds the namespace's writer lock
//! while capturing (writes wait, reads do not): the state is copied by
//! reference and the indices encoded; the file is written after the lock
//! is released.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use mnemo_log::{Log, Storage};

use crate::error::{Error, Result};
use crate::facts::{FactStore, FactsImage};
use crate::model::{Link, Memory, MemoryId};
use crate::patterns::PatternStore;
use crate::state::State;
use crate::text::TextIndex;
use crate::vectors::VectorIndex;

const MAGIC: &[u8; 8] = b"MNEMOSNP";
const VERSION: u16 = 2;
const HEADER: usize = 64;
/// Snapshots kept on disk.
const KEEP: usize = 2;

#[derive(Serialize)]
struct MetaRef<'a> {
    next_id: u64,
    embedder: Option<(&'a str, u32)>,
    memories: Vec<&'a Memory>,
    links: Vec<Link>,
    facts: &'a FactsImage,
    /// The pattern store, encoded (postcard) during the capture.
    patterns: Option<&'a [u8]>,
}

#[derive(Deserialize)]
struct Meta {
    next_id: u64,
    embedder: Option<(String, u32)>,
    memories: Vec<Memory>,
    links: Vec<Link>,
    facts: FactsImage,
    patterns: Option<Vec<u8>>,
}

/// What a capture took from the state, ready to be written.
pub(crate) struct Captured {
    seq: u64,
    next_id: u64,
    embedder: Option<(String, u32)>,
    memories: Vec<Arc<Memory>>,
    links: Vec<Link>,
    facts: FactsImage,
    /// Encoded under the lock: cheaper than a copy of the store with its
    /// derived search index.
    patterns: Option<Vec<u8>>,
    text: Vec<u8>,
    graph: Option<Vec<u8>>,
    pending: Vec<u8>,
}

/// Copies what a snapshot needs from a namespace's folded state and its
/// vector index. The caller holds the writer lock, so no event is
/// half-folded.
pub(crate) fn capture(state: &State, vectors: &VectorIndex) -> Captured {
    let mut memories: Vec<Arc<Memory>> = state.memories.values().cloned().collect();
    memories.sort_unstable_by_key(|m| m.id);
    let mut links = Vec::with_capacity(state.link_count());
    for m in &memories {
        for e in state.links_from(m.id) {
            links.push(Link {
                from: m.id,
                to: e.other,
                kind: e.kind.to_string(),
                weight: e.weight,
            });
        }
    }
    let mut text = Vec::new();
    state.text.encode(&mut text);
    let (graph, pending) = vectors.encode();
    Captured {
        seq: state.next_seq,
        next_id: state.next_id,
        embedder: state
            .embedder
            .as_ref()
            .map(|e| (e.id.clone(), e.dimension as u32)),
        memories,
        links,
        facts: state.facts.image(),
        patterns: state
            .patterns
            .as_ref()
            .and_then(|p| postcard::to_allocvec(p).ok()),
        text,
        graph,
        pending,
    }
}

/// The file name of the snapshot covering `seq` events.
fn file_name(seq: u64) -> String {
    format!("{seq:020}.snap")
}

/// Where a file of `storage` is, for messages (its path on a real disk).
fn file_path(storage: &dyn Storage, name: &str) -> String {
    format!("{}/{name}", storage.location())
}

/// Writes a captured snapshot of the namespace `namespace`, whose log is
/// `log`, to `storage` (see the module docs) and removes all but the
/// newest few; returns the snapshot's seq.
pub(crate) fn persist(
    storage: &dyn Storage,
    log: &Log,
    namespace: &str,
    c: Captured,
) -> Result<u64> {
    let root = if c.seq == 0 {
        mnemo_log::merkle::empty_root()
    } else {
        log.root_at(c.seq).map_err(|source| Error::Log {
            namespace: namespace.to_owned(),
            source,
        })?
    };
    let meta = postcard::to_allocvec(&MetaRef {
        next_id: c.next_id,
        embedder: c.embedder.as_ref().map(|(id, d)| (id.as_str(), *d)),
        memories: c.memories.iter().map(|m| &**m).collect(),
        links: c.links,
        facts: &c.facts,
        patterns: c.patterns.as_deref(),
    })
    .map_err(|e| Error::Encode(e.to_string()))?;
    let graph = c.graph.unwrap_or_default();
    let sections: [&[u8]; 4] = [&meta, &c.text, &graph, &c.pending];
    let len: u64 = sections.iter().map(|s| 8 + s.len() as u64).sum();
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&[0; 6]);
    header.extend_from_slice(&c.seq.to_le_bytes());
    header.extend_from_slice(&root);
    header.extend_from_slice(&len.to_le_bytes());
    let lengths = sections.map(|s| (s.len() as u64).to_le_bytes());
    let mut parts: Vec<&[u8]> = Vec::with_capacity(2 + 2 * sections.len());
    parts.push(&header);
    for (length, section) in lengths.iter().zip(sections) {
        parts.push(length);
        parts.push(section);
    }
    let mut hasher = Xxh3::new();
    for part in &parts {
        hasher.update(part);
    }
    let sum = hasher.digest().to_le_bytes();
    parts.push(&sum);
    let name = file_name(c.seq);
    storage
        .write_atomic_parts(&name, &parts)
        .map_err(|source| Error::Io {
            path: file_path(storage, &name),
            source,
        })?;
    // Keep the newest few. A removal that fails or is lost in a crash only
    // leaves an older snapshot behind, which opening never prefers.
    for (_, old) in newest_first(storage).into_iter().skip(KEEP) {
        let _ = storage.remove(&old);
    }
    Ok(c.seq)
}

/// Snapshot files of `storage` with their seqs, newest first (none when
/// the storage cannot be listed, e.g. before the first snapshot made its
/// directory).
fn newest_first(storage: &dyn Storage) -> Vec<(u64, String)> {
    let Ok(names) = storage.list() else {
        return Vec::new();
    };
    let mut all: Vec<(u64, String)> = names
        .into_iter()
        .filter_map(|name| Some((name.strip_suffix(".snap")?.parse::<u64>().ok()?, name)))
        .collect();
    all.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
    all
}

/// A snapshot restored by [`restore`].
pub(crate) struct Restored {
    /// The folded state of events `0..seq` (vectors are in the index given).
    pub(crate) state: State,
    /// The events it covers.
    pub(crate) seq: u64,
}

/// Loads the newest valid snapshot kept in `storage` for the namespace
/// whose log is `log`, plus a warning for every snapshot that failed a
/// check. `vectors` receives the snapshot's vectors (and is left empty when
/// none loads).
pub(crate) fn restore(
    storage: &dyn Storage,
    log: &Log,
    vectors: &Arc<VectorIndex>,
) -> (Option<Restored>, Vec<String>) {
    let mut warnings = Vec::new();
    for (_, name) in newest_first(storage) {
        match load(storage, &name, log, vectors) {
            Ok((state, seq)) => return (Some(Restored { state, seq }), warnings),
            Err(reason) => {
                vectors.clear();
                warnings.push(format!(
                    "snapshot {} is unusable ({reason}); falling back to an older snapshot or a full replay",
                    file_path(storage, &name)
                ));
            }
        }
    }
    (None, warnings)
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if n > self.0.len() {
            return Err(format!(
                "truncated: {n} bytes wanted, {} left",
                self.0.len()
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u64(&mut self) -> std::result::Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn section(&mut self) -> std::result::Result<&'a [u8], String> {
        let n = self.u64()?;
        let n = usize::try_from(n).map_err(|_| "section too large".to_owned())?;
        self.take(n)
    }
}

/// Checks and decodes one snapshot file. The vector index is restored on a
/// second thread while the state is rebuilt (native targets).
fn load(
    storage: &dyn Storage,
    name: &str,
    log: &Log,
    vectors: &Arc<VectorIndex>,
) -> std::result::Result<(State, u64), String> {
    let bytes = storage.read(name).map_err(|e| e.to_string())?;
    let parts = split(&bytes, log)?;
    let restore = |parts: &Parts<'_>| {
        vectors
            .restore(
                (!parts.graph.is_empty()).then_some(parts.graph),
                parts.pending,
            )
            .map_err(|e| format!("vector index: {e}"))
    };
    #[cfg(not(target_arch = "wasm32"))]
    let (state, restored) = std::thread::scope(|scope| {
        let restoring = scope.spawn(|| restore(&parts));
        let state = rebuild(&parts, |_| Ok(Arc::clone(vectors)));
        let restored = restoring
            .join()
            .unwrap_or_else(|_| Err("vector restore panicked".to_owned()));
        (state, restored)
    });
    #[cfg(target_arch = "wasm32")]
    let (state, restored) = (
        rebuild(&parts, |_| Ok(Arc::clone(vectors))),
        restore(&parts),
    );
    let state = state?;
    restored?;
    if vectors.len() != state.len() {
        return Err(format!(
            "{} vectors for {} memories",
            vectors.len(),
            state.len()
        ));
    }
    Ok((state, parts.seq))
}

/// The checked sections of a snapshot file.
struct Parts<'a> {
    seq: u64,
    meta: &'a [u8],
    text: &'a [u8],
    graph: &'a [u8],
    pending: &'a [u8],
}

/// Checks the checksum, header and Merkle root, and splits the sections.
fn split<'a>(bytes: &'a [u8], log: &Log) -> std::result::Result<Parts<'a>, String> {
    if bytes.len() < HEADER + 8 {
        return Err("shorter than a header".into());
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let mut expected = [0u8; 8];
    expected.copy_from_slice(sum);
    if xxhash_rust::xxh3::xxh3_64(body) != u64::from_le_bytes(expected) {
        return Err("checksum mismatch".into());
    }
    let mut c = Cursor(body);
    if c.take(8)? != MAGIC {
        return Err("not a mnemo snapshot (bad magic)".into());
    }
    let version = u16::from_le_bytes([body[8], body[9]]);
    c.take(8)?;
    if version != VERSION {
        return Err(format!("unknown snapshot version {version}"));
    }
    let seq = c.u64()?;
    let root = c.take(32)?;
    let len = c.u64()?;
    if len != c.0.len() as u64 {
        return Err("length field disagrees with the file size".into());
    }
    if seq > log.next_seq() || seq < log.first_seq() {
        return Err(format!(
            "covers {seq} events but the log holds {}..{}",
            log.first_seq(),
            log.next_seq()
        ));
    }
    let log_root = if seq == 0 {
        mnemo_log::merkle::empty_root()
    } else {
        log.root_at(seq).map_err(|e| e.to_string())?
    };
    if root != log_root {
        return Err(format!(
            "its Merkle root differs from the log's at seq {seq} (a snapshot of another log)"
        ));
    }
    let meta = c.section()?;
    let text = c.section()?;
    let graph = c.section()?;
    let pending = c.section()?;
    if !c.0.is_empty() {
        return Err("bytes after the last section".into());
    }
    Ok(Parts {
        seq,
        meta,
        text,
        graph,
        pending,
    })
}

/// A new, empty vector index of `dimension` with default parameters.
fn empty_index(dimension: usize) -> std::result::Result<Arc<VectorIndex>, String> {
    VectorIndex::new(dimension, crate::vectors::VectorParams::default())
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Rebuilds the state from checked sections, over the vector index
/// `vectors` makes for the namespace's dimension (the vectors themselves
/// are restored separately).
fn rebuild(
    parts: &Parts<'_>,
    vectors: impl FnOnce(usize) -> std::result::Result<Arc<VectorIndex>, String>,
) -> std::result::Result<State, String> {
    let meta: Meta = postcard::from_bytes(parts.meta).map_err(|e| format!("state: {e}"))?;
    let text = TextIndex::decode(parts.text).map_err(|e| format!("text index: {e}"))?;
    let dimension = meta
        .embedder
        .as_ref()
        .map_or(1, |(_, d)| (*d as usize).max(1));
    let mut state = State::new(vectors(dimension)?);
    state.next_id = meta.next_id;
    state.next_seq = parts.seq;
    state.embedder = meta
        .embedder
        .map(|(id, d)| mnemo_embed::EmbedderInfo::new(id, d as usize));
    if meta.memories.windows(2).any(|w| w[0].id >= w[1].id)
        || meta.memories.last().is_some_and(|m| m.id.0 >= meta.next_id)
    {
        return Err("memories are not in increasing id order below the next id".into());
    }
    state.bulk_load(meta.memories);
    let mut scratch = Vec::new();
    for l in &meta.links {
        state.apply_link(l, &mut scratch);
        scratch.clear();
    }
    if state.link_count() != meta.links.len() {
        return Err("links name memories that are not there".into());
    }
    if text.len() != state.len() || state.memories.keys().any(|id| !text.contains(*id)) {
        return Err("the text index does not match the memories".into());
    }
    state.text = text;
    state.facts = FactStore::from_image(meta.facts).map_err(|e| format!("facts: {e}"))?;
    state.patterns = meta
        .patterns
        .map(|bytes| {
            postcard::from_bytes::<PatternStore>(&bytes).map(|mut p| {
                p.rebuild_index();
                p
            })
        })
        .transpose()
        .map_err(|e| format!("patterns: {e}"))?;
    if state.patterns.as_ref().map(PatternStore::dimension)
        != state.embedder.as_ref().map(|e| e.dimension)
    {
        return Err("the patterns' dimension differs from the embedder's".into());
    }
    Ok(state)
}

/// What [`inspect`] found in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// Events folded into it.
    pub seq: u64,
    /// Memories it holds.
    pub memories: usize,
    /// Links it holds.
    pub links: usize,
}

/// Checks and decodes the bytes of a snapshot file of the namespace whose
/// log is `log`, without restoring it anywhere (every check opening does,
/// except the vector sections' agreement with the memories).
pub fn inspect(bytes: &[u8], log: &Log) -> std::result::Result<SnapshotSummary, String> {
    let parts = split(bytes, log)?;
    let state = rebuild(&parts, empty_index)?;
    state
        .vectors
        .restore(
            (!parts.graph.is_empty()).then_some(parts.graph),
            parts.pending,
        )
        .map_err(|e| format!("vector index: {e}"))?;
    Ok(SnapshotSummary {
        seq: parts.seq,
        memories: state.len(),
        links: state.link_count(),
    })
}

/// Checks the newest snapshot in the directory `snapshots` against a full
/// replay of the log up to its seq: same memories, same links. Returns the
/// snapshot's seq (`None` when there is no snapshot).
#[cfg(not(target_arch = "wasm32"))]
pub fn verify_against_log(
    snapshots: &std::path::Path,
    log: &Log,
    replayed: impl FnOnce(u64) -> Result<State>,
) -> Result<Option<u64>> {
    verify_against_log_on(&mnemo_log::FsStorage::open_lazily(snapshots), log, replayed)
}

/// [`verify_against_log`] for snapshots kept on any [`Storage`].
pub fn verify_against_log_on(
    snapshots: &dyn Storage,
    log: &Log,
    replayed: impl FnOnce(u64) -> Result<State>,
) -> Result<Option<u64>> {
    let Some((_, name)) = newest_first(snapshots).into_iter().next() else {
        return Ok(None);
    };
    let path = file_path(snapshots, &name);
    let bad = |reason: String| Error::Snapshot {
        path: path.clone(),
        reason,
    };
    let bytes = snapshots.read(&name).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let parts = split(&bytes, log).map_err(bad)?;
    let seq = parts.seq;
    let state = rebuild(&parts, empty_index).map_err(bad)?;
    let fresh = replayed(seq)?;
    if fresh.len() != state.len() {
        return Err(bad(format!(
            "{} memories in the snapshot, {} in a replay of the log",
            state.len(),
            fresh.len()
        )));
    }
    for (id, m) in &fresh.memories {
        if state.memories.get(id).map(|x| &**x) != Some(&**m) {
            return Err(bad(format!("memory {id} differs from a replay of the log")));
        }
        let a = fresh.links_from(MemoryId(*id));
        let b = state.links_from(MemoryId(*id));
        if a.len() != b.len() || a.iter().any(|e| !b.contains(e)) {
            return Err(bad(format!(
                "links of memory {id} differ from a replay of the log"
            )));
        }
    }
    if fresh.facts.image() != state.facts.image() {
        return Err(bad("facts differ from a replay of the log".into()));
    }
    let pattern_counts = |s: &State| s.patterns.as_ref().map(|p| (p.len(), p.trajectory_count()));
    if pattern_counts(&fresh) != pattern_counts(&state) {
        return Err(bad("patterns differ from a replay of the log".into()));
    }
    if fresh.next_id != state.next_id {
        return Err(bad("next id differs from a replay of the log".into()));
    }
    Ok(Some(seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mnemo, NewMemory, Options};
    use proptest::prelude::*;

    fn sample() -> (tempfile::TempDir, Mnemo, crate::Namespace, Vec<u8>) {
        let dir = tempfile::tempdir().expect("dir");
        let engine = Mnemo::open_with(
            dir.path(),
            Options::default().sync(mnemo_log::SyncPolicy::Never),
        )
        .expect("open");
        let ns = engine.namespace("s").expect("ns");
        let ids = ns
            .remember_batch(
                (0..20)
                    .map(|i| NewMemory::new(format!("note {i} on tea")).tag(format!("t{}", i % 4)))
                    .collect(),
            )
            .expect("remember");
        ns.link(ids[0].id, ids[1].id, "next", 0.5).expect("link");
        let seq = ns.snapshot().expect("snapshot").expect("on disk");
        let bytes = std::fs::read(
            dir.path()
                .join("s/snapshots")
                .join(format!("{seq:020}.snap")),
        )
        .expect("read");
        (dir, engine, ns, bytes)
    }

    #[test]
    fn a_snapshot_inspects_and_names_its_contents() {
        let (_dir, _engine, ns, bytes) = sample();
        let summary = inspect(&bytes, ns.log()).expect("valid");
        assert_eq!(summary.memories, 20);
        assert_eq!(summary.links, 1);
        assert_eq!(summary.seq, ns.log().next_seq());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn damaged_snapshots_are_refused_without_panicking(
            edits in proptest::collection::vec((any::<u32>(), any::<u8>()), 1..6),
            fix_checksum in any::<bool>(),
            cut in any::<u32>(),
        ) {
            let (_dir, _engine, ns, original) = sample();
            let mut bytes = original.clone();
            let body = bytes.len() - 8;
            for (at, value) in edits {
                bytes[at as usize % body] = value;
            }
            if fix_checksum {
                let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..body]);
                bytes[body..].copy_from_slice(&sum.to_le_bytes());
            }
            let _ = inspect(&bytes, ns.log());
            bytes.truncate(cut as usize % (bytes.len() + 1));
            prop_assert!(bytes.len() == original.len() || inspect(&bytes, ns.log()).is_err());
        }
    }
}
