//! # mnemo-log
//!
//! The durable event log under mnemo: an append-only sequence of records,
//! each with a dense sequence number (`seq`, from 0), a timestamp and a
//! checksum, kept in segment files, indexed for O(1) reads, hashed into an
//! RFC 9162 Merkle tree, and streamed to subscribers.
//!
//! ```
//! use mnemo_log::{Config, Log};
//!
//! let log = Log::in_memory(Config::default())?;
//! let seq = log.append(b"remember the milk")?;
//! assert_eq!(log.read(seq).map(|r| r.payload().to_vec()), Some(b"remember the milk".to_vec()));
//! let batch = log.append_batch([&b"a"[..], &b"b"[..]])?;
//! assert_eq!(batch.seqs, 1..3);
//! assert_eq!(log.read(1).map(|r| r.timestamp_nanos()), Some(batch.timestamp_nanos));
//! let (root, size) = log.root()?;
//! let proof = log.inclusion_proof(seq, size)?;
//! let record = log.read(seq).expect("present");
//! mnemo_log::verify_inclusion(record.frame(), &proof, &root)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Storage format (version 1)
//!
//! A log directory holds segment files named `{base_seq:020}.seg` (the seq of
//! the segment's first record, zero-padded to 20 digits), a `LOCK` file, and,
//! once retention has removed segments, a `MERKLE-PREFIX` file. All integers
//! are little-endian.
//!
//! **Segment header** (32 bytes, at offset 0 of every segment):
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 8 | magic `MNEMOLOG` (ASCII) |
//! | 8  | 2 | format version, `1` |
//! | 10 | 2 | header length, `32` |
//! | 12 | 4 | reserved, zero |
//! | 16 | 8 | `base_seq`: seq of the first record in this segment |
//! | 24 | 8 | XXH3-64 (seed 0) of bytes 0..24 |
//!
//! **Record frame** (32-byte header, then the payload), packed back to back
//! after the segment header with no padding:
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 8 | XXH3-64 (seed 0) of bytes 8..32+len: the rest of the header *and* the payload |
//! | 8  | 4 | `len`: payload length in bytes |
//! | 12 | 4 | reserved, zero |
//! | 16 | 8 | `seq` |
//! | 24 | 8 | timestamp, nanoseconds since the Unix epoch (never decreasing) |
//! | 32 | len | payload |
//!
//! A segment is sealed and the next one started when appending a record
//! would take it past [`Config::segment_bytes`] (default 64 MiB); a segment
//! always holds at least one record, so a record larger than the limit gets a
//! segment of its own. Records in segment `k + 1` continue the seqs of
//! segment `k` without gaps.
//!
//! **`MERKLE-PREFIX`**: magic `MNEMOMKP` (8), version `1` (u16), 6 zero
//! bytes, `size` (u64: records removed by retention), `count` (u32, equal to
//! the number of set bits of `size`), 4 zero bytes, `count` × 32-byte
//! SHA-256 hashes (the roots of the aligned subtrees tiling `[0, size)`,
//! largest first), then XXH3-64 of everything before it. It is replaced
//! atomically (temporary file, sync, rename, directory sync) before the
//! segments it covers are deleted.
//!
//! ## Reads
//!
//! Every retained record has an 8-byte entry in a dense in-memory index
//! (segment number and byte offset), so [`Log::read`] is one array lookup.
//! Frames are packed back to back, so a frame ends where the next entry
//! begins (or at the end of its segment's data): a read touches the index
//! only, never the frame, until the caller looks at the record's bytes.
//! Active and sealed segments are read through the same code path, with
//! no branch on which kind holds the record.
//! Payloads are handed out as [`bytes::Bytes`] that share memory with the
//! log: sealed segments are memory-mapped, and the segment being written
//! lives in an append-only buffer whose written part is immutable.
//! For bulk work, [`Log::reader`] holds the read lock once and hands out
//! borrowed [`RecordRef`]s with no per-record reference counting. Prefer it
//! for many random reads: an owned [`Record`] costs atomic reference-count
//! updates, which on x86 are full memory barriers, so consecutive owned
//! reads cannot overlap their cache misses while borrowed reads can.
//!
//! ## Durability
//!
//! [`SyncPolicy`] decides when records reach stable storage. Under
//! [`SyncPolicy::Always`], `append` and `append_batch` return only after
//! `fdatasync` covered the records (and the directory, for a new segment);
//! concurrent appenders share syncs (group commit: while one sync runs, later
//! appends gather, and the next sync covers all of them; before it syncs,
//! the leader also waits, at most 100 µs, for threads already inside
//! `append` to add their records, so the appenders the previous sync woke
//! join one group instead of racing back one sync each). Readers and
//! subscribers may see a record before it is durable; [`Log::durable_seq`]
//! says how far durability reaches. A sealed segment is synced before the
//! next segment is created, so no later segment can survive a crash that an
//! earlier one's tail did not. On Linux, every 4 MiB written to a segment
//! file starts its writeback without waiting (`sync_file_range`), so the
//! disk works while appends continue and the `fdatasync` of a roll, `sync`
//! or `close` finds little left to do; durability still rests on
//! `fdatasync` alone. After an I/O error during a write or sync the
//! log refuses further writes ([`Error::Failed`]); reopening runs recovery.
//!
//! ## Recovery
//!
//! Opening a log validates every segment header and every record checksum,
//! and checks that seqs are contiguous within and across segments. Damage
//! at the end of the last segment with no intact record after it is a torn
//! write: it is cut off and reported in [`RecoveryReport`]. Damage anywhere
//! else is [`Error::Corrupt`] naming the segment file, byte offset and seq;
//! records are never skipped. [`verify`] performs the same checks without
//! changing anything.
//!
//! ## Retention
//!
//! [`Retention`] limits records, bytes and age. Whole segments leave from the
//! head (never the one being written); each decision looks at the oldest
//! segment's counters only. Disk use stays within the limit plus one segment.
//!
//! ## Merkle tree
//!
//! See [`merkle`] for the hashing rules. Hashing is lazy: no
//! hashing happens on append; the tree folds in new records in whole 16-leaf
//! blocks when a root or proof is requested ([`Log::root`],
//! [`Log::inclusion_proof`], [`Log::consistency_proof`]) and before retention
//! removes a segment. A reader therefore always gets roots and proofs for
//! exactly the tree size it asks for; the cost of hashing is paid by the
//! first request after a burst of appends (amortised O(1) hashes per record),
//! never by the appender.
//!
//! ## Subscriptions
//!
//! [`Log::subscribe`] delivers the backlog and then one batch per append
//! call. Each subscriber queues at most
//! [`Config::subscriber_queue_batches`] seq ranges (no record copies); one
//! that falls further behind is told [`SubscriptionError::Lagged`] and then
//! reads the missed records from the log, so the writer never blocks and
//! memory never grows.
//!
//! ## One writer
//!
//! [`Log::open`] takes an exclusive `flock` on `DIR/LOCK`; a second open of
//! the same directory, in any process, fails with [`Error::Locked`].

mod arena;
mod clock;
mod config;
mod error;
pub mod format;
mod index;
mod log;
pub mod merkle;
mod record;
mod recovery;
pub mod sim;
mod storage;
mod subscribe;

pub use clock::{Clock, ManualClock, PreciseClock, SystemClock};
pub use config::{Config, Retention, SyncPolicy};
pub use error::{Error, Result};
pub use log::{Appended, Iter, Log, LogReader, LogStats, RecordRef};
pub use merkle::{
    ConsistencyProof, Hash, InclusionProof, ProofError, VerifyError, verify_consistency,
    verify_inclusion,
};
pub use record::{Record, Seq};
pub use recovery::{MERKLE_PREFIX_FILE, RecoveryReport};
#[cfg(not(target_arch = "wasm32"))]
pub use storage::FsStorage;
pub use storage::{Storage, StorageFile};
pub use subscribe::{Subscription, SubscriptionError};

/// Checks the log in `dir` the way opening it would, without taking the lock
/// or changing anything. Returns what recovery would report, or the
/// corruption it would refuse.
#[cfg(not(target_arch = "wasm32"))]
pub fn verify(dir: impl AsRef<std::path::Path>, config: &Config) -> Result<RecoveryReport> {
    let storage = FsStorage::open_read_only(dir)?;
    verify_on(&storage, config)
}

/// Like [`verify`], for any [`Storage`].
pub fn verify_on(storage: &dyn Storage, config: &Config) -> Result<RecoveryReport> {
    config.validate()?;
    Ok(recovery::scan(storage, config.max_record_bytes)?.report)
}
