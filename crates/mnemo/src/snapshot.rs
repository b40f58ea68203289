//! Snapshots: the folded state and its indices at a log seq, so opening
//! does not replay the whole log.
//!
//! ## File format (version 5)
//!
//! `DIR/<namespace>/snapshots/{seq:020}.snap`, where `seq` is the number of
//! events folded in (the state is the fold of events `0..seq`). All
//! integers little-endian.
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0 | 8 | magic `MNEMOSNP` |
//! | 8 | 2 | version `5` |
//! | 10 | 1 | flags: bit 0 set when the records digest below is present |
//! | 11 | 1 | the AEAD the sections are sealed with: `1` AES-256-GCM, `2` ChaCha20-Poly1305 |
//! | 12 | 4 | zero |
//! | 16 | 8 | `seq` |
//! | 24 | 32 | the log's Merkle root at tree size `seq` |
//! | 56 | 16 | the records digest: XXH3-128 of the stored checksums (u64 each) of log records `0..seq`, in seq order (zero when flag bit 0 is clear: retention had removed records before the snapshot was written) |
//! | 72 | 8 | `len`: bytes of the sections that follow |
//! | 80 | len | four sections, each a u64 length then its bytes: (1) postcard of the memories, links, next id, embedder, facts, conflicts and the pattern store (itself postcard, nested as bytes), then postcard of the memories' touches (`Vec<(u64, Accesses)>`; absent in files written before touches existed, which end after the pattern store), then postcard of the lifecycle tables (deadlines, duplicate flags, merged writes, tiers and revised vectors' seqs by id) and of the warm tier's vectors (`Vec<(u64, WarmVector)>`; both absent in files written before them, which end after the touches); (2) the BM25 index (`text` module format); (3) the HNSW graph (`mnemo-vector` format; empty when there is none); (4) the vectors not yet in the graph (`mnemo-vector` flat format) |
//! | 80+len | 8 | XXH3-64 of bytes `0..80+len` except the contents of sections (3) and (4) (their length fields included) |
//!
//! Sections (3) and (4) end with an XXH3-64 of their own (`mnemo-vector`
//! format), checked whenever they are decoded, so the file's checksum
//! skips them instead of hashing the vectors, most of the file, twice.
//!
//! Every section's bytes are a blob sealed (see [`crate::crypt`]) with the
//! snapshot's own key, with the 80 header bytes and the section's number
//! (one byte, 0 to 3) as associated data; the lengths above are those of
//! the sealed blobs. The AEAD is [`Options::aead`](crate::Options::aead)'s
//! when the snapshot is written: by default AES-256-GCM natively,
//! ChaCha20-Poly1305 in WebAssembly (which has no AES instructions); every
//! build opens both. The key is random, kept wrapped in the namespace's
//! key store, and destroyed when the snapshot is removed or when a memory
//! it holds is forgotten, after which the file is unreadable (and is
//! removed). Version 4 files (byte 11 zero,
//! the sections sealed with AES-256-GCM) are still read, as are version 3
//! files (the same layout with the sections in the clear), which are
//! removed once an encrypted snapshot is written.
//!
//! Version 2 files (written before version 3) are still read: the same
//! layout without the flags and the digest (a 64-byte header, `len` at
//! offset 56), with the checksum over every byte before it, always checked
//! by Merkle root.
//!
//! ## Tying a snapshot to its log
//!
//! A snapshot is only usable with the log it was taken from: the one whose
//! first `seq` records are exactly the records it folded. A snapshot of
//! another namespace, or of a log whose tail was lost in a crash and then
//! written again differently, must be refused. Version 2 checked this by
//! recomputing the log's Merkle root at `seq`, which SHA-256-hashes every
//! byte of the log prefix on every open (a quarter of opening a million
//! memories). Version 3 compares the records digest instead: opening the
//! log has already verified every record's XXH3-64 checksum against its
//! seq, timestamp, length and payload, so the sequence of stored checksums
//! identifies the prefix's bytes, and hashing it reads 8 bytes per record
//! instead of the whole log. Two different prefixes of equal length pass
//! only if every differing record's 64-bit checksum collides and the
//! 128-bit digest of the sequence does too. The log keeps those checksums
//! in memory beside each record's location (8 bytes a record), so neither
//! writing nor checking a snapshot reads a record.
//!
//! This is no weaker than the root check, because neither defends against
//! a forger: the snapshot file is not signed, so whoever can write it can
//! also copy the right root (or digest) into it. Both checks exist against
//! accidents, and the digest catches every accident the root does.
//! Cryptographic integrity stays where it was: roots and proofs the log
//! serves are always computed from the records themselves (nothing from a
//! snapshot enters the Merkle tree), signed checkpoints cover those, and
//! `mnemo verify` still compares the snapshot with a full replay. When retention has removed records the digest cannot be
//! recomputed, and opening falls back to the Merkle root check.
//!
//! Snapshots are kept through a [`Storage`] of their own (the directory
//! above on a real disk; a simulated disk in fault tests). A snapshot is
//! written with [`Storage::write_atomic_parts`]: to a temporary file
//! (`{seq:020}.snap.tmp`), synced, renamed into place and the directory
//! synced, so after any failure it is either wholly there or absent; the
//! two newest are kept. Opening maps the newest snapshot that passes every
//! check (checksum, seq within the log, records digest or Merkle root equal
//! to the log's at that seq, every section decoding and agreeing on
//! counts), restores it and replays the events after it. On native
//! targets the vector and text sections are decoded on threads of their
//! own while the log opens and the memories are decoded; a result is used
//! only after all finished and every check passed. A
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
use mnemo_vector::FlatIndex;

use crate::crypt::{self, KeyStore};
use crate::error::{Error, Result};
use crate::facts::{FactStore, FactsImage};
use crate::model::{Link, Memory};
use crate::patterns::PatternStore;
use crate::state::State;
use crate::strength::Accesses;
use crate::text::TextIndex;
use crate::vectors::VectorIndex;

const MAGIC: &[u8; 8] = b"MNEMOSNP";
/// The version written (sealed sections, the AEAD named in the header).
const VERSION: u16 = 5;
/// The first version with sealed sections, always AES-256-GCM; still read.
const VERSION_AES: u16 = 4;
/// The last version with its sections in the clear; still read.
const VERSION_PLAIN: u16 = 3;
/// The oldest version still read (checked by Merkle root only).
const VERSION_ROOT_ONLY: u16 = 2;
/// Header bytes of the version written and of the older one.
const HEADER: usize = 80;
const HEADER_ROOT_ONLY: usize = 64;
/// Header flag: the records digest is present.
const FLAG_DIGEST: u8 = 1;
/// Snapshots kept on disk.
const KEEP: usize = 2;
/// Why a snapshot whose key was destroyed is not used.
const KEY_DESTROYED: &str = "its key is destroyed (a memory it held was forgotten)";

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
    /// The touches of the memories, by id.
    accesses: Vec<(u64, Accesses)>,
    /// Deadlines, duplicate flags, merges and tiers.
    lifecycle: crate::lifecycle::StoredTables,
    /// The warm tier's vectors.
    warm: Vec<(u64, crate::tiers::WarmVector)>,
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
    let mut accesses: Vec<(u64, Accesses)> = state
        .accesses
        .iter()
        .map(|(id, a)| (*id, a.clone()))
        .collect();
    accesses.sort_unstable_by_key(|(id, _)| *id);
    Captured {
        accesses,
        lifecycle: state.lifecycle.to_stored(),
        warm: state.warm.to_sorted(),
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
    keys: &KeyStore,
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
    // The touches follow the meta in the same section (see the format).
    let meta = postcard::to_extend(&c.accesses, meta).map_err(|e| Error::Encode(e.to_string()))?;
    let meta = postcard::to_extend(&c.lifecycle, meta).map_err(|e| Error::Encode(e.to_string()))?;
    let meta = postcard::to_extend(&c.warm, meta).map_err(|e| Error::Encode(e.to_string()))?;
    let digest = log.records_digest(c.seq);
    let graph = c.graph.unwrap_or_default();
    // Sealed in place (no second copy of the largest buffers): each
    // section is written as its nonce, its own bytes encrypted, its tag.
    let mut sections: [Vec<u8>; 4] = [meta, c.text, graph, c.pending];
    let len: u64 = sections
        .iter()
        .map(|s| 8 + (s.len() + crypt::SEALED_OVERHEAD) as u64)
        .sum();
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.push(if digest.is_some() { FLAG_DIGEST } else { 0 });
    let aead = keys.snapshot_aead();
    header.push(aead.id());
    header.extend_from_slice(&[0; 4]);
    header.extend_from_slice(&c.seq.to_le_bytes());
    header.extend_from_slice(&root);
    header.extend_from_slice(&digest.unwrap_or(0).to_le_bytes());
    header.extend_from_slice(&len.to_le_bytes());
    let (slot, key) = keys.create_snapshot_key(c.seq)?;
    let key = aead.bulk_cipher(&key);
    let mut seals = Vec::with_capacity(4);
    for (i, section) in sections.iter_mut().enumerate() {
        seals.push(crypt::seal_in_place(
            &key,
            &section_aad(&header, i),
            section,
        )?);
    }
    let lengths = std::array::from_fn::<_, 4, _>(|i| {
        ((sections[i].len() + crypt::SEALED_OVERHEAD) as u64).to_le_bytes()
    });
    // (part, hashed): the vector sections (the third and fourth) check
    // themselves, so the file's checksum skips their contents.
    let mut parts: Vec<(&[u8], bool)> = Vec::with_capacity(2 + 4 * sections.len());
    parts.push((&header, true));
    for (i, section) in sections.iter().enumerate() {
        let hashed = i < 2;
        parts.push((&lengths[i], true));
        parts.push((&seals[i].0, hashed));
        parts.push((section, hashed));
        parts.push((&seals[i].1, hashed));
    }
    let mut hasher = Xxh3::new();
    for (part, hashed) in &parts {
        if *hashed {
            hasher.update(part);
        }
    }
    let mut parts: Vec<&[u8]> = parts.into_iter().map(|(part, _)| part).collect();
    let sum = hasher.digest().to_le_bytes();
    parts.push(&sum);
    let name = file_name(c.seq);
    storage
        .write_atomic_parts(&name, &parts)
        .map_err(|source| Error::Io {
            path: file_path(storage, &name),
            source,
        })?;
    // Keep the newest few, and no snapshot in the clear. A removal that
    // fails or is lost in a crash only leaves an older snapshot behind,
    // which opening never prefers; its key is destroyed either way.
    let mut kept = Vec::with_capacity(KEEP);
    for (seq, name) in newest_first(storage) {
        if kept.len() < KEEP && is_sealed(storage, &name) {
            kept.push(seq);
        } else {
            let _ = storage.remove(&name);
        }
    }
    // The key of a snapshot this one replaced (the same seq) goes too.
    keys.destroy_snapshot_keys(|seq, s| kept.contains(&seq) && (seq != c.seq || s == slot))?;
    Ok(c.seq)
}

/// Whether snapshot file `name` is sealed (version 4 or 5).
fn is_sealed(storage: &dyn Storage, name: &str) -> bool {
    storage.read_lazily(name).is_ok_and(|b| {
        b.len() >= 10
            && b[..8] == MAGIC[..]
            && [VERSION, VERSION_AES].contains(&u16::from_le_bytes([b[8], b[9]]))
    })
}

/// Removes every snapshot file of `storage` and destroys every snapshot
/// key (when a memory they hold is forgotten); returns how many files
/// were removed.
pub(crate) fn shred_all(storage: &dyn Storage, keys: &KeyStore) -> Result<usize> {
    keys.destroy_snapshot_keys(|_, _| false)?;
    let mut removed = 0;
    for (_, name) in newest_first(storage) {
        match storage.remove(&name) {
            Ok(()) => removed += 1,
            // Already gone: a snapshot being written prunes older files
            // without this lock, and a file it removed is what we want.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Io {
                    path: file_path(storage, &name),
                    source,
                });
            }
        }
    }
    if removed > 0 {
        storage.sync_dir().map_err(|source| Error::Io {
            path: storage.location(),
            source,
        })?;
    }
    Ok(removed)
}

/// Associated data of sealed section `i`: the header, then `i`.
fn section_aad(header: &[u8], i: usize) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 1);
    aad.extend_from_slice(header);
    aad.push(i as u8);
    aad
}

/// The sections of a sealed snapshot, opened with its key.
fn unseal(parts: &Parts<'_>, key: &SnapshotKey) -> std::result::Result<[Vec<u8>; 4], String> {
    let mut out: [Vec<u8>; 4] = Default::default();
    for (i, plain) in out.iter_mut().enumerate() {
        *plain = open_section(parts, Some(key), i)?.into_owned();
    }
    Ok(out)
}

/// Section `i` of `parts` (0 meta, 1 text, 2 graph, 3 pending), opened
/// with `key` when the snapshot is sealed.
fn open_section<'a>(
    parts: &Parts<'a>,
    key: Option<&SnapshotKey>,
    i: usize,
) -> std::result::Result<std::borrow::Cow<'a, [u8]>, String> {
    let section = [parts.meta, parts.text, parts.graph, parts.pending][i];
    match (key, parts.sealed) {
        (_, None) | (None, _) => Ok(std::borrow::Cow::Borrowed(section)),
        (Some(key), Some(bulk)) => crypt::open(
            &bulk.bulk_cipher(&key.0),
            &section_aad(parts.header, i),
            section,
        )
        .map(std::borrow::Cow::Owned)
        .ok_or_else(|| not_authentic(i)),
    }
}

/// The pending vectors (section 4), opened with `key` when the snapshot is
/// sealed. Sealed, the section is decrypted straight into the buffer of
/// f32s the index keeps ([`FlatIndex::decode_words`]): at a million
/// memories that spares a second buffer of 1.5 GB, its page faults and a
/// copy.
fn decode_pending(
    parts: &Parts<'_>,
    key: Option<&SnapshotKey>,
) -> std::result::Result<FlatIndex, String> {
    let decoded = match (key, parts.sealed) {
        (Some(key), Some(bulk)) => {
            let sealed = parts.pending;
            let len = sealed.len().saturating_sub(crypt::SEALED_OVERHEAD);
            let mut words = vec![0f32; len.div_ceil(4)];
            let out = &mut bytemuck::cast_slice_mut::<f32, u8>(&mut words)[..len];
            if !crypt::open_to(
                &bulk.bulk_cipher(&key.0),
                &section_aad(parts.header, 3),
                sealed,
                out,
            ) {
                return Err(not_authentic(3));
            }
            FlatIndex::decode_words(words, len)
        }
        _ => FlatIndex::decode(parts.pending),
    };
    decoded.map_err(|e| format!("vector index: {e}"))
}

/// Why section `i` (from 0) is refused: it does not open with the key.
fn not_authentic(i: usize) -> String {
    format!(
        "section {} does not authenticate with the snapshot's key",
        i + 1
    )
}

/// Whether `key` opens the smallest section of sealed `parts` (all are
/// sealed under one key).
fn opens_smallest_section(parts: &Parts<'_>, key: &SnapshotKey) -> bool {
    let sections = [parts.meta, parts.text, parts.graph, parts.pending];
    let smallest = (0..4).min_by_key(|&i| sections[i].len()).unwrap_or(0);
    open_section(parts, Some(key), smallest).is_ok()
}

/// `parts` with its sections replaced by their opened contents.
fn with_plain<'b>(parts: Parts<'b>, plain: &'b [Vec<u8>; 4]) -> Parts<'b> {
    Parts {
        meta: &plain[0],
        text: &plain[1],
        graph: &plain[2],
        pending: &plain[3],
        ..parts
    }
}

/// The key a sealed snapshot opens with (see
/// [`Namespace::snapshot_key`](crate::Namespace::snapshot_key)).
pub struct SnapshotKey(pub(crate) zeroize::Zeroizing<[u8; crypt::KEY_LEN]>);

impl std::fmt::Debug for SnapshotKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SnapshotKey(..)")
    }
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

/// Opens the namespace's log with `open_log` and loads the newest valid
/// snapshot kept in `storage` for it, plus a warning for every snapshot
/// that failed a check. `vectors` receives the snapshot's vectors (and is
/// left empty when none loads). The newest snapshot is checked and decoded
/// while the log opens (native targets), since neither needs the other
/// until the snapshot is compared with the log. Fails only when the log
/// does not open.
pub(crate) fn restore<E>(
    storage: &dyn Storage,
    open_log: impl FnOnce() -> std::result::Result<Log, E>,
    vectors: &Arc<VectorIndex>,
    keys: &KeyStore,
) -> std::result::Result<(Log, Option<Restored>, Vec<String>), E> {
    let mut warnings = Vec::new();
    let mut candidates = newest_first(storage).into_iter();
    let Some((_, newest)) = candidates.next() else {
        return Ok((open_log()?, None, warnings));
    };
    let (log, mut loaded) = load(storage, &newest, open_log, vectors, keys)?;
    let mut name = newest;
    loop {
        match loaded {
            Ok((state, seq)) => return Ok((log, Some(Restored { state, seq }), warnings)),
            // A snapshot whose key an erasure destroyed is expected
            // (a crash came before its file was removed): not a problem.
            Err(reason) if reason == KEY_DESTROYED => vectors.clear(),
            Err(reason) => {
                vectors.clear();
                warnings.push(format!(
                    "snapshot {} is unusable ({reason}); falling back to an older snapshot or a full replay",
                    file_path(storage, &name)
                ));
            }
        }
        let Some((_, older)) = candidates.next() else {
            return Ok((log, None, warnings));
        };
        loaded = load(storage, &older, || Ok::<_, E>(&log), vectors, keys)?.1;
        name = older;
    }
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

/// A snapshot's state and the seq it covers, or why it is unusable.
type Loaded = std::result::Result<(State, u64), String>;

/// Checks and decodes one snapshot file against the log `get_log` gives
/// (opening it, for the newest snapshot). After the file's checksum, on
/// native targets one thread restores the vector index (its sections
/// check their own checksums first) and another decodes the text index,
/// while this one gets the log and decodes the memories; the result is
/// used only when all succeeded and the file matches the log. Fails only
/// when `get_log` does.
fn load<G: std::borrow::Borrow<Log>, E>(
    storage: &dyn Storage,
    name: &str,
    get_log: impl FnOnce() -> std::result::Result<G, E>,
    vectors: &Arc<VectorIndex>,
    keys: &KeyStore,
) -> std::result::Result<(G, Loaded), E> {
    let bytes = match storage.read(name) {
        Ok(bytes) => bytes,
        Err(e) => return Ok((get_log()?, Err(e.to_string()))),
    };
    let parts = match parse(&bytes) {
        Ok(parts) => parts,
        Err(reason) => return Ok((get_log()?, Err(reason))),
    };
    if let Err(reason) = check_checksum(&parts) {
        return Ok((get_log()?, Err(reason)));
    }
    // A sealed snapshot's key is the one that opens its smallest section;
    // each section is then opened by the thread that decodes it.
    let key = if parts.sealed.is_some() {
        let candidates = keys.snapshot_keys(parts.seq);
        if candidates.is_empty() {
            return Ok((get_log()?, Err(KEY_DESTROYED.to_owned())));
        }
        match candidates
            .into_iter()
            .map(SnapshotKey)
            .find(|k| opens_smallest_section(&parts, k))
        {
            Some(key) => Some(key),
            None => {
                return Ok((
                    get_log()?,
                    Err("its sections do not authenticate with any key kept for it".to_owned()),
                ));
            }
        }
    } else {
        None
    };
    let key = key.as_ref();
    let restore = |parts: &Parts<'_>| {
        let graph = open_section(parts, key, 2)?;
        let pending = decode_pending(parts, key)?;
        vectors
            .restore((!graph.is_empty()).then_some(&graph[..]), pending)
            .map_err(|e| format!("vector index: {e}"))
    };
    let decode_text = |parts: &Parts<'_>| {
        let text = open_section(parts, key, 1)?;
        decode_text(&Parts {
            text: &text,
            ..*parts
        })
    };
    let decode_state = |parts: &Parts<'_>| {
        let meta = open_section(parts, key, 0)?;
        decode_state(
            &Parts {
                meta: &meta,
                ..*parts
            },
            |_| Ok(Arc::clone(vectors)),
        )
    };
    #[cfg(not(target_arch = "wasm32"))]
    let (log, state, restored, text) = std::thread::scope(|scope| {
        let restoring = scope.spawn(|| restore(&parts));
        let text = scope.spawn(|| decode_text(&parts));
        let log = get_log();
        // Nothing to decode for when the log does not open.
        let state = match &log {
            Ok(_) => decode_state(&parts),
            Err(_) => Err("the log did not open".to_owned()),
        };
        let restored = restoring
            .join()
            .unwrap_or_else(|_| Err("vector restore panicked".to_owned()));
        let text = text
            .join()
            .unwrap_or_else(|_| Err("text index decoding panicked".to_owned()));
        (log, state, restored, text)
    });
    #[cfg(target_arch = "wasm32")]
    let (log, state, restored, text) = (
        get_log(),
        decode_state(&parts),
        restore(&parts),
        decode_text(&parts),
    );
    let log = log?;
    let loaded = (|| {
        check_log(&parts, log.borrow())?;
        restored?;
        let state = with_text(state?, text?)?;
        if vectors.len() != state.len() {
            return Err(format!(
                "{} vectors for {} memories",
                vectors.len(),
                state.len()
            ));
        }
        Ok((state, parts.seq))
    })();
    Ok((log, loaded))
}

/// The sections of a snapshot file and what its header claims, split but
/// not yet checked against the checksum or the log ([`check`] does that).
#[derive(Clone, Copy)]
struct Parts<'a> {
    seq: u64,
    /// The header bytes (sealed sections' associated data).
    header: &'a [u8],
    /// The AEAD the sections are sealed with (versions 4 and 5), or
    /// `None` when they are in the clear.
    sealed: Option<crypt::AeadAlgorithm>,
    /// The bytes the trailing checksum covers (one or two ranges of the
    /// file), and the checksum.
    covered: [&'a [u8]; 2],
    checksum: u64,
    /// The log's Merkle root at `seq`, as the header states it.
    root: &'a [u8],
    /// The records digest, when the header holds one (version 3 with the
    /// flag set).
    digest: Option<u128>,
    meta: &'a [u8],
    text: &'a [u8],
    graph: &'a [u8],
    pending: &'a [u8],
}

/// Splits a snapshot file into its header fields and sections (any bytes:
/// every length is checked before it is used).
fn parse(bytes: &[u8]) -> std::result::Result<Parts<'_>, String> {
    if bytes.len() < HEADER_ROOT_ONLY + 8 {
        return Err("shorter than a header".into());
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let mut c = Cursor(body);
    if c.take(8)? != MAGIC {
        return Err("not a mnemo snapshot (bad magic)".into());
    }
    let fixed = c.take(8)?;
    let version = u16::from_le_bytes([fixed[0], fixed[1]]);
    let seq = c.u64()?;
    let root = c.take(32)?;
    let digest = match version {
        VERSION | VERSION_AES | VERSION_PLAIN => {
            let mut d = [0u8; 16];
            d.copy_from_slice(c.take(16)?);
            (fixed[2] & FLAG_DIGEST != 0).then_some(u128::from_le_bytes(d))
        }
        VERSION_ROOT_ONLY => None,
        _ => return Err(format!("unknown snapshot version {version}")),
    };
    let len = c.u64()?;
    let header = &body[..body.len() - c.0.len()];
    if len != c.0.len() as u64 {
        return Err("length field disagrees with the file size".into());
    }
    let meta = c.section()?;
    let text = c.section()?;
    let graph_at = body.len() - c.0.len() + 8;
    let graph = c.section()?;
    let pending_at = body.len() - c.0.len() + 8;
    let pending = c.section()?;
    if !c.0.is_empty() {
        return Err("bytes after the last section".into());
    }
    let covered = if version == VERSION_ROOT_ONLY {
        [body, &body[..0]]
    } else {
        // Everything but the contents of the vector sections (see the
        // module docs); both offsets were just read within `body`.
        [&body[..graph_at], &body[graph_at + graph.len()..pending_at]]
    };
    let mut checksum = [0u8; 8];
    checksum.copy_from_slice(sum);
    Ok(Parts {
        seq,
        header,
        sealed: match version {
            VERSION => Some(
                crypt::AeadAlgorithm::from_id(fixed[3])
                    .ok_or_else(|| format!("unknown sealing AEAD {}", fixed[3]))?,
            ),
            VERSION_AES => Some(crypt::AeadAlgorithm::Aes256Gcm),
            _ => None,
        },
        covered,
        checksum: u64::from_le_bytes(checksum),
        root,
        digest,
        meta,
        text,
        graph,
        pending,
    })
}

/// Checks a parsed snapshot's checksum.
fn check_checksum(parts: &Parts<'_>) -> std::result::Result<(), String> {
    let mut hasher = Xxh3::new();
    for range in parts.covered {
        hasher.update(range);
    }
    if hasher.digest() != parts.checksum {
        return Err("checksum mismatch".into());
    }
    Ok(())
}

/// Checks that a parsed snapshot belongs to `log`: its seq within the log
/// and its records digest equal to the log's (see the module docs), or,
/// where there is no digest to compare, its Merkle root.
fn check_log(parts: &Parts<'_>, log: &Log) -> std::result::Result<(), String> {
    let seq = parts.seq;
    if seq > log.next_seq() || seq < log.first_seq() {
        return Err(format!(
            "covers {seq} events but the log holds {}..{}",
            log.first_seq(),
            log.next_seq()
        ));
    }
    match parts.digest.zip(log.records_digest(seq)) {
        Some((stored, actual)) if stored == actual => Ok(()),
        Some(_) => Err(format!(
            "its records digest differs from the log's at seq {seq} (a snapshot of another log, or of records since written again)"
        )),
        None => check_root(parts, log),
    }
}

/// Checks that the snapshot's Merkle root equals the log's at its seq
/// (hashes every record of the log up to it that the tree has not yet).
fn check_root(parts: &Parts<'_>, log: &Log) -> std::result::Result<(), String> {
    let seq = parts.seq;
    let log_root = if seq == 0 {
        mnemo_log::merkle::empty_root()
    } else {
        log.root_at(seq).map_err(|e| e.to_string())?
    };
    if parts.root != log_root {
        return Err(format!(
            "its Merkle root differs from the log's at seq {seq} (a snapshot of another log)"
        ));
    }
    Ok(())
}

/// A new, empty vector index of `dimension` with default parameters.
fn empty_index(dimension: usize) -> std::result::Result<Arc<VectorIndex>, String> {
    VectorIndex::new(dimension, crate::vectors::VectorParams::default())
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Decodes the text index section.
fn decode_text(parts: &Parts<'_>) -> std::result::Result<TextIndex, String> {
    TextIndex::decode(parts.text).map_err(|e| format!("text index: {e}"))
}

/// Rebuilds the state but its text index from parsed sections, over the
/// vector index `vectors` makes for the namespace's dimension (the vectors
/// themselves are restored separately, the text index by [`with_text`]).
fn decode_state(
    parts: &Parts<'_>,
    vectors: impl FnOnce(usize) -> std::result::Result<Arc<VectorIndex>, String>,
) -> std::result::Result<State, String> {
    let (meta, rest): (Meta, &[u8]) =
        postcard::take_from_bytes(parts.meta).map_err(|e| format!("state: {e}"))?;
    // Snapshots written before touches existed end with the meta.
    let (accesses, rest): (Vec<(u64, Accesses)>, &[u8]) = if rest.is_empty() {
        (Vec::new(), rest)
    } else {
        postcard::take_from_bytes(rest).map_err(|e| format!("touches: {e}"))?
    };
    // ... and those written before lifecycle tables existed with the
    // touches.
    let (lifecycle, rest): (crate::lifecycle::StoredTables, &[u8]) = if rest.is_empty() {
        (crate::lifecycle::StoredTables::default(), rest)
    } else {
        postcard::take_from_bytes(rest).map_err(|e| format!("lifecycle: {e}"))?
    };
    let warm: Vec<(u64, crate::tiers::WarmVector)> = if rest.is_empty() {
        Vec::new()
    } else {
        postcard::from_bytes(rest).map_err(|e| format!("warm vectors: {e}"))?
    };
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
    for (id, a) in accesses {
        if !state.memories.contains_key(&id) || a.recent.len() > crate::strength::RECENT {
            return Err(format!("touches of memory {id}, which is not there"));
        }
        state.accesses.insert(id, a);
    }
    state.lifecycle =
        crate::lifecycle::Tables::from_stored(lifecycle, |id| state.memories.contains_key(&id))?;
    for (id, v) in warm {
        if state.lifecycle.tier(id) != crate::lifecycle::Tier::Warm {
            return Err(format!("a warm vector of memory {id}, which is not warm"));
        }
        state.warm.insert(id, v);
    }
    state.facts = FactStore::from_image(meta.facts).map_err(|e| format!("facts: {e}"))?;
    state
        .facts
        .mark_erased_evidence(|m| state.memories.contains_key(&m.0));
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

/// Puts the decoded text index into the state, once it is known to index
/// exactly the state's memories.
fn with_text(mut state: State, text: TextIndex) -> std::result::Result<State, String> {
    if text.len() != state.len() || state.memories.keys().any(|id| !text.contains(*id)) {
        return Err("the text index does not match the memories".into());
    }
    state.text = text;
    Ok(state)
}

/// Parses, checks and decodes a whole snapshot on this thread, into a
/// state over a fresh vector index.
fn decode_all(
    bytes: &[u8],
    log: &Log,
    key: Option<&SnapshotKey>,
) -> std::result::Result<(u64, State), String> {
    let parts = parse(bytes)?;
    check_checksum(&parts)?;
    check_log(&parts, log)?;
    let plain;
    let parts = match (parts.sealed, key) {
        (None, _) => parts,
        (Some(_), None) => {
            return Err("the snapshot is sealed: inspecting it needs its key".into());
        }
        (Some(_), Some(key)) => {
            plain = unseal(&parts, key)?;
            with_plain(parts, &plain)
        }
    };
    let state = decode_state(&parts, empty_index)?;
    let pending = FlatIndex::decode(parts.pending).map_err(|e| format!("vector index: {e}"))?;
    state
        .vectors
        .restore((!parts.graph.is_empty()).then_some(parts.graph), pending)
        .map_err(|e| format!("vector index: {e}"))?;
    let text = decode_text(&parts)?;
    let state = with_text(state, text)?;
    Ok((parts.seq, state))
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
/// except the vector sections' agreement with the memories). A sealed
/// snapshot needs its `key`; one in the clear (version 3 or older) none.
pub fn inspect(
    bytes: &[u8],
    log: &Log,
    key: Option<&SnapshotKey>,
) -> std::result::Result<SnapshotSummary, String> {
    let (seq, state) = decode_all(bytes, log, key)?;
    Ok(SnapshotSummary {
        seq,
        memories: state.len(),
        links: state.link_count(),
    })
}

/// Rewrites the trailing checksum of the snapshot file `bytes` to match
/// its content, so that edits made behind it reach the structural checks
/// (for fuzzing and tests of the decoders). Returns `false`, changing
/// nothing, when the header and section lengths do not parse.
pub fn reseal(bytes: &mut [u8]) -> bool {
    let Ok(parts) = parse(bytes) else {
        return false;
    };
    let mut hasher = Xxh3::new();
    for range in parts.covered {
        hasher.update(range);
    }
    let sum = hasher.digest().to_le_bytes();
    let at = bytes.len() - 8;
    bytes[at..].copy_from_slice(&sum);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mnemo, NewMemory, Options};
    use proptest::prelude::*;

    /// A namespace with a snapshot: the snapshot file as written (sealed)
    /// and as version 3 (its sections in the clear), for the decoders.
    fn sample() -> (tempfile::TempDir, Mnemo, crate::Namespace, Vec<u8>) {
        let (dir, engine, ns, sealed) = sample_sealed();
        let seq = u64::from_le_bytes(sealed[16..24].try_into().expect("8 bytes"));
        let key = ns.snapshot_key(seq).expect("the snapshot's key");
        let plain = as_version_3(&sealed, &key);
        (dir, engine, ns, plain)
    }

    /// A sealed snapshot rewritten as version 3: the same header with
    /// version 3, the sections opened, the checksum recomputed.
    fn as_version_3(sealed: &[u8], key: &SnapshotKey) -> Vec<u8> {
        let parts = parse(sealed).expect("parses");
        let plain = unseal(&parts, key).expect("opens");
        let len: u64 = plain.iter().map(|p| 8 + p.len() as u64).sum();
        let mut out = sealed[..HEADER].to_vec();
        out[8..10].copy_from_slice(&VERSION_PLAIN.to_le_bytes());
        out[72..80].copy_from_slice(&len.to_le_bytes());
        for p in &plain {
            out.extend_from_slice(&(p.len() as u64).to_le_bytes());
            out.extend_from_slice(p);
        }
        out.extend_from_slice(&[0u8; 8]);
        assert!(reseal(&mut out));
        out
    }

    fn sample_sealed() -> (tempfile::TempDir, Mnemo, crate::Namespace, Vec<u8>) {
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
        let (_dir, _engine, ns, sealed) = sample_sealed();
        let seq = ns.log().next_seq();
        let key = ns.snapshot_key(seq).expect("key");
        for (bytes, key) in [(&sealed, Some(&key)), (&as_version_3(&sealed, &key), None)] {
            let summary = inspect(bytes, ns.log(), key).expect("valid");
            assert_eq!(summary.memories, 20);
            assert_eq!(summary.links, 1);
            assert_eq!(summary.seq, seq);
        }
        let err = inspect(&sealed, ns.log(), None).expect_err("needs its key");
        assert!(err.contains("needs its key"), "{err}");
    }

    #[test]
    fn a_snapshot_after_a_forget_holds_nothing_of_it_even_opened() {
        let (dir, _engine, ns, _) = sample_sealed();
        let old = only_snapshot(dir.path(), "s");
        let victim = ns.query(&crate::Query::new().contains("note 7 "))[0].id;
        ns.forget(victim).expect("forget");
        assert!(
            !old.exists(),
            "the snapshot taken before the forget is removed"
        );
        let seq = ns.snapshot().expect("snapshot").expect("on disk");
        let sealed = std::fs::read(only_snapshot(dir.path(), "s")).expect("read");
        let opened = as_version_3(&sealed, &ns.snapshot_key(seq).expect("key"));
        assert!(
            opened.windows(7).any(|w| w == b"note 8 "),
            "the others are there"
        );
        assert!(
            !opened.windows(7).any(|w| w == b"note 7 "),
            "the forgotten one is not"
        );
    }

    #[test]
    fn a_sealed_snapshot_holds_no_plaintext_and_any_change_fails_to_authenticate() {
        let (_dir, _engine, ns, sealed) = sample_sealed();
        assert!(!sealed.windows(6).any(|w| w == b"on tea"));
        let key = ns.snapshot_key(ns.log().next_seq()).expect("key");
        for at in [HEADER + 8, HEADER + 40, sealed.len() / 2, sealed.len() - 20] {
            let mut bytes = sealed.clone();
            bytes[at] ^= 0x40;
            assert!(reseal(&mut bytes));
            let err = inspect(&bytes, ns.log(), Some(&key)).expect_err("refused");
            assert!(err.contains("authenticate"), "byte {at}: {err}");
        }
    }

    /// `sealed` (as written) with its sections sealed again under the same
    /// key with `bulk`, as `version` (5, or 4 with AES-256-GCM and byte 11
    /// zero), the checksum recomputed.
    fn resealed(
        sealed: &[u8],
        key: &SnapshotKey,
        bulk: crypt::AeadAlgorithm,
        version: u16,
    ) -> Vec<u8> {
        let parts = parse(sealed).expect("parses");
        let plain = unseal(&parts, key).expect("opens");
        // The same plaintexts and overhead: `len` stays as it is.
        let mut out = sealed[..HEADER].to_vec();
        out[8..10].copy_from_slice(&version.to_le_bytes());
        out[11] = if version == VERSION { bulk.id() } else { 0 };
        let header = out.clone();
        let cipher = bulk.bulk_cipher(&key.0);
        for (i, p) in plain.iter().enumerate() {
            let mut section = Vec::new();
            crypt::seal(&cipher, &section_aad(&header, i), p, &mut section).expect("seal");
            out.extend_from_slice(&(section.len() as u64).to_le_bytes());
            out.extend_from_slice(&section);
        }
        out.extend_from_slice(&[0u8; 8]);
        assert!(reseal(&mut out));
        out
    }

    #[test]
    fn snapshots_sealed_with_either_aead_and_version_4_ones_open() {
        let (dir, engine, ns, sealed) = sample_sealed();
        let seq = ns.log().next_seq();
        assert_eq!(sealed[11], crypt::AeadAlgorithm::PREFERRED.id());
        let key = ns.snapshot_key(seq).expect("key");
        let browser = resealed(
            &sealed,
            &key,
            crypt::AeadAlgorithm::ChaCha20Poly1305,
            VERSION,
        );
        let native = resealed(&sealed, &key, crypt::AeadAlgorithm::Aes256Gcm, VERSION);
        let version_4 = resealed(&sealed, &key, crypt::AeadAlgorithm::Aes256Gcm, VERSION_AES);
        for (bytes, what) in [
            (&browser, "ChaCha20-Poly1305"),
            (&native, "AES-256-GCM"),
            (&version_4, "version 4"),
        ] {
            let summary = inspect(bytes, ns.log(), Some(&key)).expect(what);
            assert_eq!(summary.memories, 20, "{what}");
        }
        // The AEAD's id is checked, and authenticated with the header.
        let mut unknown = browser.clone();
        unknown[11] = 9;
        let err = inspect(&unknown, ns.log(), Some(&key)).expect_err("refused");
        assert!(err.contains("unknown sealing AEAD 9"), "{err}");
        let mut relabelled = browser.clone();
        relabelled[11] = crypt::AeadAlgorithm::Aes256Gcm.id();
        assert!(reseal(&mut relabelled));
        let err = inspect(&relabelled, ns.log(), Some(&key)).expect_err("refused");
        assert!(err.contains("authenticate"), "{err}");
        // On disk, the browser's snapshot is what the namespace opens from
        // (closing wrote a snapshot of its own: seal that one's sections).
        engine.close().expect("close");
        drop((ns, engine));
        let path = only_snapshot(dir.path(), "s");
        let engine = Mnemo::open_with(dir.path(), Options::default()).expect("reopen");
        let ns = engine.namespace("s").expect("ns");
        let key = ns.snapshot_key(seq).expect("key");
        let browser = resealed(
            &std::fs::read(&path).expect("read"),
            &key,
            crypt::AeadAlgorithm::ChaCha20Poly1305,
            VERSION,
        );
        engine.close().expect("close");
        drop((ns, engine));
        std::fs::write(&path, &browser).expect("write");
        let (opened_from, warnings, contents) = reopened(dir.path(), "s");
        assert_eq!(opened_from, Some(seq), "{warnings:?}");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(contents.len(), 20);
    }

    /// The path of the only snapshot of namespace `ns` under `dir`.
    fn only_snapshot(dir: &std::path::Path, ns: &str) -> std::path::PathBuf {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(ns).join("snapshots"))
            .expect("snapshots")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "snap"))
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files.remove(0)
    }

    /// A closed namespace `ns` under `dir` holding `texts` (one event per
    /// text after the init event) and its snapshot.
    fn closed(dir: &std::path::Path, ns: &str, texts: &[&str]) {
        let engine = Mnemo::open_with(dir, Options::default().sync(mnemo_log::SyncPolicy::Never))
            .expect("open");
        let n = engine.namespace(ns).expect("ns");
        for t in texts {
            n.remember(NewMemory::new(*t)).expect("remember");
        }
        engine.close().expect("close");
    }

    /// Reopens `ns` under `dir`: the snapshot seq it used, its warnings and
    /// its memories' contents, sorted.
    fn reopened(dir: &std::path::Path, ns: &str) -> (Option<u64>, Vec<String>, Vec<String>) {
        let engine = Mnemo::open_with(dir, Options::default().sync(mnemo_log::SyncPolicy::Never))
            .expect("reopen");
        let n = engine.namespace(ns).expect("ns");
        let report = n.open_report().clone();
        let state = n.inner.state.read();
        let mut contents: Vec<String> =
            state.memories.values().map(|m| m.content.clone()).collect();
        contents.sort_unstable();
        (report.snapshot_seq, report.warnings, contents)
    }

    #[test]
    fn a_snapshot_of_another_log_of_the_same_length_is_refused_and_the_log_replayed() {
        let dir = tempfile::tempdir().expect("dir");
        closed(dir.path(), "a", &["tea at noon", "coffee at dawn"]);
        closed(dir.path(), "b", &["rain on monday", "sun on tuesday"]);
        let (a, b) = (
            only_snapshot(dir.path(), "a"),
            only_snapshot(dir.path(), "b"),
        );
        assert_eq!(a.file_name(), b.file_name(), "same seq");
        std::fs::copy(&a, &b).expect("copy");
        let (seq, warnings, contents) = reopened(dir.path(), "b");
        assert_eq!(seq, None);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("records digest differs") || w.contains("authenticate")),
            "{warnings:?}"
        );
        assert_eq!(contents, ["rain on monday", "sun on tuesday"]);
    }

    #[test]
    fn a_records_digest_that_does_not_match_the_log_is_refused() {
        let (dir, engine, ns, mut bytes) = sample_sealed();
        let key = ns.snapshot_key(ns.log().next_seq()).expect("key");
        bytes[60] ^= 1;
        assert!(reseal(&mut bytes));
        let err = inspect(&bytes, ns.log(), Some(&key)).expect_err("refused");
        assert!(err.contains("records digest differs"), "{err}");
        // On disk, opening falls back to a full replay with every memory.
        let path = only_snapshot(dir.path(), "s");
        std::fs::write(&path, &bytes).expect("write");
        engine.close().expect("close");
        drop((ns, engine));
        std::fs::write(&path, &bytes).expect("write again after close");
        let (seq, warnings, contents) = reopened(dir.path(), "s");
        assert_eq!(seq, None);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(contents.len(), 20);
    }

    #[test]
    fn a_truncated_snapshot_falls_back_to_replay_wherever_it_is_cut() {
        let (dir, engine, ns, bytes) = sample_sealed();
        engine.close().expect("close");
        drop((ns, engine));
        let path = only_snapshot(dir.path(), "s");
        for cut in [
            0,
            7,
            63,
            79,
            80,
            200,
            bytes.len() / 2,
            bytes.len() - 9,
            bytes.len() - 1,
        ] {
            std::fs::write(&path, &bytes[..cut]).expect("write");
            let (seq, warnings, contents) = reopened(dir.path(), "s");
            assert_eq!(seq, None, "cut at {cut}");
            assert_eq!(warnings.len(), 1, "cut at {cut}: {warnings:?}");
            assert_eq!(contents.len(), 20, "cut at {cut}");
            // Closing the reopened namespace wrote a fresh snapshot; keep
            // testing the cut one alone.
            for p in std::fs::read_dir(path.parent().expect("dir"))
                .expect("list")
                .flatten()
            {
                std::fs::remove_file(p.path()).expect("remove");
            }
        }
    }

    /// `bytes` (a version 3 snapshot) rewritten as version 2: the 64-byte
    /// header without flags and digest, the checksum over everything.
    fn as_version_2(bytes: &[u8]) -> Vec<u8> {
        let mut v2 = Vec::new();
        v2.extend_from_slice(MAGIC);
        v2.extend_from_slice(&VERSION_ROOT_ONLY.to_le_bytes());
        v2.extend_from_slice(&[0; 6]);
        v2.extend_from_slice(&bytes[16..56]);
        v2.extend_from_slice(&bytes[72..bytes.len() - 8]);
        let sum = xxhash_rust::xxh3::xxh3_64(&v2);
        v2.extend_from_slice(&sum.to_le_bytes());
        v2
    }

    #[test]
    fn version_2_snapshots_are_still_read_and_checked_by_merkle_root() {
        let (_dir, _engine, ns, bytes) = sample();
        let v2 = as_version_2(&bytes);
        assert_eq!(inspect(&v2, ns.log(), None).expect("valid").memories, 20);
        let mut wrong_root = bytes.clone();
        wrong_root[24] ^= 1;
        let err = inspect(&as_version_2(&wrong_root), ns.log(), None).expect_err("refused");
        assert!(err.contains("Merkle root differs"), "{err}");
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
                reseal(&mut bytes);
            }
            let _ = inspect(&bytes, ns.log(), None);
            bytes.truncate(cut as usize % (bytes.len() + 1));
            prop_assert!(bytes.len() == original.len() || inspect(&bytes, ns.log(), None).is_err());
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_header_are_refused_without_panicking(
            tail in proptest::collection::vec(any::<u8>(), 0..512),
            keep in 0usize..200,
        ) {
            let (_dir, _engine, ns, original) = sample();
            let mut bytes = original[..keep.min(original.len())].to_vec();
            bytes.extend_from_slice(&tail);
            reseal(&mut bytes);
            prop_assert!(inspect(&bytes, ns.log(), None).is_err());
        }
    }
}
