//! The log itself: appends, reads, durability, retention, proofs and
//! subscriptions, on any [`Storage`] or purely in memory.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Condvar, Mutex, RwLock};

use crate::arena::Arena;
use crate::config::{Config, SyncPolicy};
use crate::error::{Error, Result};
use crate::format::{
    RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, encode_segment_header, segment_file_name, write_frame,
};
use crate::index::{ORDINAL_MASK, OffsetIndex, location, offset_of, ordinal_of};
use crate::merkle::{
    ConsistencyProof, Hash, InclusionProof, LeafSource, MerkleTree, PrunedPrefix, leaf_hash,
};
use crate::record::{Record, Seq};
use crate::recovery::{MERKLE_PREFIX_FILE, RecoveryReport, Scan, scan};
use crate::storage::{Storage, StorageFile};
use crate::subscribe::{SubShared, Subscription};

/// First arena size for a new segment. Native builds reserve the whole
/// segment at once (address space only; pages are committed as they are
/// written), so the buffer never moves; WebAssembly starts small and doubles.
#[cfg(not(target_arch = "wasm32"))]
const INITIAL_ARENA_BYTES: usize = 256 * 1024 * 1024;
#[cfg(target_arch = "wasm32")]
const INITIAL_ARENA_BYTES: usize = 64 * 1024;
/// Records hashed per catch-up step (taken from the log under one read lock).
const CATCH_UP_CHUNK: u64 = 4096;

enum SegmentData {
    /// The segment being written.
    Active(Arena),
    /// A sealed segment, read through [`Segment::view`]: a memory map, or
    /// the frozen arena in memory.
    Sealed,
}

struct Segment {
    /// All of the segment's memory (for the active segment, the whole arena
    /// block, written or not), so reads take the same path for active and
    /// sealed segments. Only bytes below `bytes` are ever read or sliced.
    view: Bytes,
    name: String,
    base_seq: Seq,
    records: u64,
    /// Valid bytes, header included.
    bytes: u64,
    last_timestamp: u64,
    data: SegmentData,
}

impl Segment {
    /// Points `view` at the arena again after a write that may have moved
    /// it to a bigger block.
    #[inline]
    fn refresh_view(&mut self) {
        if let SegmentData::Active(arena) = &self.data
            && arena.block_ptr() != self.view.as_ptr()
        {
            self.view = arena.whole();
        }
    }
}

/// Statistics about a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStats {
    /// First retained seq.
    pub first_seq: Seq,
    /// Seq the next record will get.
    pub next_seq: Seq,
    /// Retained records.
    pub records: u64,
    /// Segment files (or in-memory segments).
    pub segments: usize,
    /// Bytes of retained segments, headers included.
    pub bytes: u64,
    /// Records known to be durable (all seqs below this are synced).
    pub durable_seq: Seq,
    /// Timestamp of the oldest retained segment's newest record (0 if empty).
    pub oldest_segment_last_timestamp: u64,
    /// Timestamp of the newest record (0 if empty).
    pub last_timestamp: u64,
    /// Bytes of Merkle hashes held in memory.
    pub merkle_bytes: usize,
    /// Bytes held by the dense offset index (8 per retained record, plus
    /// growth room and evicted entries not yet dropped: at most about 2×).
    pub index_bytes: usize,
    /// Leaves already folded into the stored Merkle levels.
    pub merkle_hashed: u64,
    /// Live subscriptions.
    pub subscribers: usize,
}

pub(crate) struct State {
    segments: Vec<Segment>,
    /// Ordinal (mod 2^24) of `segments[0]`.
    first_ordinal: u32,
    /// Location of every retained record.
    index: OffsetIndex,
    /// Stored checksum of every retained record, beside its location: what
    /// [`Log::records_digest`] hashes without reading the records.
    checksums: OffsetIndex,
    first_seq: Seq,
    next_seq: Seq,
    total_bytes: u64,
    last_timestamp: u64,
    active_file: Option<Arc<dyn StorageFile>>,
    /// Bytes of the active segment already handed to its file.
    flushed: usize,
    /// Sealed files whose last bytes were not yet synced.
    unsynced_files: Vec<Arc<dyn StorageFile>>,
    /// A file was created or removed since the last directory sync.
    dir_dirty: bool,
    appended_since_sync: u64,
    failed: Option<String>,
    closed: bool,
    read_only: bool,
    subscribers: Vec<Arc<SubShared>>,
    retention_due: bool,
    /// The previous segment's buffer, kept for reuse by the next segment
    /// (file logs only, once its segment is served from the memory map).
    spare_arena: Option<Arena>,
}

impl State {
    fn check_writable(&self) -> Result<()> {
        if self.closed {
            return Err(Error::Closed);
        }
        if self.read_only {
            return Err(Error::Config("the log was opened read-only".into()));
        }
        if let Some(reason) = &self.failed {
            return Err(Error::Failed(reason.clone()));
        }
        Ok(())
    }

    /// Where `seq`'s frame lies: its segment and byte range. Frames are
    /// packed back to back, so a frame ends where the next record's starts
    /// (or at the end of its segment's data): one index lookup, usually one
    /// cache line, and no access to the frame itself, with no branch on
    /// which kind of segment holds the record (see [`Segment::view`]).
    #[inline]
    fn locate(&self, seq: Seq) -> Option<(&Segment, Range<usize>)> {
        if seq >= self.next_seq {
            return None;
        }
        let i = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        let loc = self.index.get(i)?;
        let slot = ordinal_of(loc).wrapping_sub(self.first_ordinal) & ORDINAL_MASK;
        let segment = self.segments.get(slot as usize)?;
        let start = offset_of(loc);
        let end = match self.index.get(i + 1) {
            Some(next) if ordinal_of(next) == ordinal_of(loc) => offset_of(next),
            _ => segment.bytes as usize,
        };
        if start + RECORD_HEADER_LEN > end || end > segment.view.len() {
            return None;
        }
        Some((segment, start..end))
    }

    #[inline]
    fn record(&self, seq: Seq) -> Option<Record> {
        let (segment, frame) = self.locate(seq)?;
        Some(Record::new(seq, segment.view.slice(frame)))
    }

    /// The frame of `seq`, borrowed from the segment (no reference counting).
    #[inline]
    fn frame_ref(&self, seq: Seq) -> Option<RecordRef<'_>> {
        let (segment, frame) = self.locate(seq)?;
        Some(RecordRef {
            seq,
            frame: segment.view.get(frame)?,
        })
    }

    fn frame(&self, seq: Seq) -> Option<Bytes> {
        self.record(seq).map(|r| r.frame().clone())
    }

    fn active(&mut self) -> &mut Segment {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }

    /// Hands the active segment's unwritten bytes to its file.
    fn flush(&mut self) -> Result<()> {
        let Some(file) = self.active_file.clone() else {
            return Ok(());
        };
        let flushed = self.flushed;
        let segment = self.active();
        let name = segment.name.clone();
        let SegmentData::Active(arena) = &segment.data else {
            return Ok(());
        };
        if arena.len() == flushed {
            return Ok(());
        }
        let len = arena.len();
        let result = file.append(&arena.as_slice()[flushed..]);
        match result {
            Ok(()) => {
                self.flushed = len;
                Ok(())
            }
            Err(e) => Err(self.fail(Error::io(name, e))),
        }
    }

    fn fail(&mut self, error: Error) -> Error {
        if self.failed.is_none() {
            self.failed = Some(error.to_string());
        }
        error
    }

    fn new_segment(&mut self, storage: Option<&Arc<dyn Storage>>, config: &Config) -> Result<()> {
        let base = self.next_seq;
        let name = segment_file_name(base);
        let cap = INITIAL_ARENA_BYTES.min(config.segment_bytes as usize);
        let mut arena = match self.spare_arena.take() {
            Some(spare) => spare,
            None => Arena::with_capacity(cap),
        };
        arena.append_with(SEGMENT_HEADER_LEN, |b| {
            b.copy_from_slice(&encode_segment_header(base));
        });
        if let Some(storage) = storage {
            let file = storage
                .create(&name)
                .map_err(|e| self.fail(Error::io(name.clone(), e)))?;
            self.active_file = Some(file);
            self.flushed = 0;
            self.dir_dirty = true;
        }
        self.segments.push(Segment {
            view: arena.whole(),
            name,
            base_seq: base,
            records: 0,
            bytes: SEGMENT_HEADER_LEN as u64,
            last_timestamp: self.last_timestamp,
            data: SegmentData::Active(arena),
        });
        self.total_bytes += SEGMENT_HEADER_LEN as u64;
        Ok(())
    }

    /// Seals the active segment and starts a new one. The sealed segment (and
    /// its directory entry) is synced first, so a later segment never exists
    /// on disk while an earlier one is missing or lacks its tail.
    fn roll(&mut self, storage: Option<&Arc<dyn Storage>>, config: &Config) -> Result<()> {
        self.flush()?;
        if let (Some(storage), Some(file)) = (storage, self.active_file.take()) {
            let name = self.active().name.clone();
            file.sync_data()
                .map_err(|e| self.fail(Error::io(name.clone(), e)))?;
            if self.dir_dirty {
                storage
                    .sync_dir()
                    .map_err(|e| self.fail(Error::io(storage.location(), e)))?;
                self.dir_dirty = false;
            }
            let mapped = storage
                .read_lazily(&name)
                .map_err(|e| self.fail(Error::io(name.clone(), e)))?;
            let segment = self.active();
            let valid = segment.bytes as usize;
            if mapped.len() < valid {
                let error = Error::io(
                    name,
                    std::io::Error::other("segment file is shorter than the data written to it"),
                );
                return Err(self.fail(error));
            }
            segment.view = mapped.slice(..valid);
            let old = std::mem::replace(&mut segment.data, SegmentData::Sealed);
            if let SegmentData::Active(arena) = old {
                self.spare_arena = arena.recycle();
            }
        } else {
            let segment = self.active();
            if let SegmentData::Active(arena) = &segment.data {
                segment.view = arena.frozen();
                segment.data = SegmentData::Sealed;
            }
        }
        self.new_segment(storage, config)?;
        if self.segments.len() > (ORDINAL_MASK as usize) {
            return Err(self.fail(Error::Config(
                "too many segments; raise segment_bytes".into(),
            )));
        }
        self.retention_due = config.retention.is_bounded();
        Ok(())
    }

    /// Appends one frame. The caller validated the payload size.
    #[inline]
    fn push(
        &mut self,
        storage: Option<&Arc<dyn Storage>>,
        config: &Config,
        payload: &[u8],
        timestamp: u64,
    ) -> Result<Seq> {
        let frame_len = RECORD_HEADER_LEN + payload.len();
        let seq = self.next_seq;
        let needs_roll = {
            let active = self.active();
            active.records > 0 && active.bytes + frame_len as u64 > config.segment_bytes
        };
        if needs_roll {
            self.roll(storage, config)?;
        }
        self.push_run(std::slice::from_ref(&payload), frame_len as u64, timestamp)?;
        Ok(seq)
    }

    /// Appends a run of frames that all fit in the active segment (the
    /// caller rolled it or checked with [`State::fits_in_active`]): one
    /// capacity check, one reservation of the index, then frames written
    /// back to back.
    fn push_run<P: AsRef<[u8]>>(
        &mut self,
        payloads: &[P],
        run_bytes: u64,
        timestamp: u64,
    ) -> Result<()> {
        let ordinal = self
            .first_ordinal
            .wrapping_add(self.segments.len() as u32 - 1)
            & ORDINAL_MASK;
        let mut seq = self.next_seq;
        self.index.reserve(payloads.len());
        self.checksums.reserve(payloads.len());
        let last = self.segments.len() - 1;
        let active = &mut self.segments[last];
        let SegmentData::Active(arena) = &mut active.data else {
            return Err(Error::Failed("active segment is sealed".into()));
        };
        arena.reserve(run_bytes as usize);
        for payload in payloads {
            let payload = payload.as_ref();
            let mut checksum = 0;
            let offset = arena.append_with(RECORD_HEADER_LEN + payload.len(), |buf| {
                write_frame(buf, seq, timestamp, payload);
                checksum = crate::format::frame_checksum(buf);
            });
            self.index.push(location(ordinal, offset));
            self.checksums.push(checksum);
            seq += 1;
        }
        active.records += payloads.len() as u64;
        active.bytes += run_bytes;
        active.last_timestamp = timestamp;
        active.refresh_view();
        self.next_seq = seq;
        self.total_bytes += run_bytes;
        Ok(())
    }

    /// Whether `bytes` more frame bytes fit in the active segment without a
    /// roll.
    fn fits_in_active(&self, bytes: u64, config: &Config) -> bool {
        self.segments
            .last()
            .is_some_and(|active| active.bytes + bytes <= config.segment_bytes)
    }

    fn timestamp(&mut self, config: &Config) -> u64 {
        let now = config.clock.now_nanos().max(self.last_timestamp);
        self.last_timestamp = now;
        now
    }

    fn notify(&mut self, range: Range<Seq>, capacity: usize) {
        for sub in &self.subscribers {
            sub.push(range.clone(), capacity);
        }
    }

    fn pending_write_bytes(&self) -> usize {
        match self.segments.last().map(|s| &s.data) {
            Some(SegmentData::Active(arena)) => arena.len() - self.flushed,
            _ => 0,
        }
    }
}

#[derive(Debug, Default)]
struct SyncState {
    /// Every seq below this is durable.
    durable_seq: Seq,
    syncing: bool,
    /// Appenders waiting for a sync to make their records durable.
    waiting: usize,
}

/// Longest time a group-commit leader waits for appenders that are already
/// inside `append` to add their records to its group (see
/// [`Inner::gather_group`]). Small beside an `fdatasync` (hundreds of µs).
#[cfg(not(target_arch = "wasm32"))]
const GROUP_GATHER_MAX: std::time::Duration = std::time::Duration::from_micros(100);

/// Counts a thread as inside `append*` (under [`SyncPolicy::Always`]) for
/// as long as it lives.
struct AppendGuard<'a>(Option<&'a std::sync::atomic::AtomicUsize>);

impl Drop for AppendGuard<'_> {
    fn drop(&mut self) {
        if let Some(count) = self.0 {
            count.fetch_sub(1, std::sync::atomic::Ordering::Release);
        }
    }
}

/// Shared core of a [`Log`]; subscriptions keep it alive.
pub(crate) struct Inner {
    config: Config,
    storage: Option<Arc<dyn Storage>>,
    state: RwLock<State>,
    sync: Mutex<SyncState>,
    synced: Condvar,
    /// Threads inside `append*` under [`SyncPolicy::Always`].
    appenders: std::sync::atomic::AtomicUsize,
    merkle: Mutex<MerkleTree>,
    recovery: RecoveryReport,
    #[cfg(not(target_arch = "wasm32"))]
    interval_stop: Mutex<bool>,
    #[cfg(not(target_arch = "wasm32"))]
    interval_wake: Condvar,
}

/// What [`Log::append_batch`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The records' seqs (empty for an empty batch).
    pub seqs: Range<Seq>,
    /// The timestamp every record of the batch carries, in nanoseconds
    /// since the Unix epoch (for an empty batch: the log's latest).
    pub timestamp_nanos: u64,
}

/// An append-only, checksummed, Merkle-hashed record log. See the crate
/// documentation for the format and guarantees.
///
/// All methods take `&self`; share a `Log` between threads with `Arc`.
pub struct Log {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
}

/// What `finish_append` still has to do after the state lock is released.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AfterAppend {
    Nothing,
    Sync(Seq),
}

struct LiveLeaves<'a>(&'a Inner);

impl LeafSource for LiveLeaves<'_> {
    fn leaf(&self, index: u64) -> Option<Hash> {
        let frame = self.0.state.read().frame(index)?;
        Some(leaf_hash(&frame))
    }
}

struct SnapshotLeaves {
    first: Seq,
    frames: Vec<Bytes>,
}

impl LeafSource for SnapshotLeaves {
    fn leaf(&self, index: u64) -> Option<Hash> {
        let i = usize::try_from(index.checked_sub(self.first)?).ok()?;
        self.frames.get(i).map(|f| leaf_hash(f))
    }
}

impl Log {
    /// Opens (creating if needed) the log in directory `dir`, running
    /// recovery, and takes the directory's writer lock.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(dir: impl AsRef<std::path::Path>, config: Config) -> Result<Self> {
        config.validate()?;
        let storage = crate::storage::FsStorage::open(dir)?;
        Self::open_on(Arc::new(storage), config)
    }

    /// Opens a log directory without locking or changing it; every write
    /// fails. Used by tools that inspect a log another process may own.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open_read_only(dir: impl AsRef<std::path::Path>, config: Config) -> Result<Self> {
        config.validate()?;
        let storage: Arc<dyn Storage> = Arc::new(crate::storage::FsStorage::open_read_only(dir)?);
        let scanned = scan(storage.as_ref(), config.max_record_bytes)?;
        Self::build(Some(storage), config, scanned, true)
    }

    /// Opens the log kept on `storage` (a real directory or a simulated
    /// disk), running recovery: a torn tail is cut off and reported in
    /// [`Log::recovery_report`]; corruption anywhere else is an error.
    pub fn open_on(storage: Arc<dyn Storage>, config: Config) -> Result<Self> {
        config.validate()?;
        let scanned = scan(storage.as_ref(), config.max_record_bytes)?;
        Self::build(Some(storage), config, scanned, false)
    }

    /// A log that lives only in memory. Same code and format, minus files.
    pub fn in_memory(config: Config) -> Result<Self> {
        config.validate()?;
        let scanned = Scan {
            prefix: PrunedPrefix::default(),
            segments: Vec::new(),
            report: RecoveryReport::default(),
        };
        Self::build(None, config, scanned, false)
    }

    fn build(
        storage: Option<Arc<dyn Storage>>,
        config: Config,
        scanned: Scan,
        read_only: bool,
    ) -> Result<Self> {
        let Scan {
            prefix,
            segments: found,
            report,
        } = scanned;
        let mut state = State {
            segments: Vec::with_capacity(found.len() + 1),
            first_ordinal: 0,
            index: OffsetIndex::with_capacity(report.records as usize),
            checksums: OffsetIndex::with_capacity(report.records as usize),
            first_seq: report.first_seq,
            next_seq: report.first_seq,
            total_bytes: 0,
            last_timestamp: 0,
            active_file: None,
            flushed: 0,
            unsynced_files: Vec::new(),
            dir_dirty: false,
            appended_since_sync: 0,
            failed: None,
            closed: false,
            read_only,
            subscribers: Vec::new(),
            retention_due: config.retention.is_bounded(),
            spare_arena: None,
        };
        let found_count = found.len();
        for (i, seg) in found.into_iter().enumerate() {
            let ordinal = i as u32 & ORDINAL_MASK;
            for &off in &seg.offsets {
                state.index.push(location(ordinal, off as usize));
                let frame = seg.data.get(off as usize..).unwrap_or_default();
                state.checksums.push(crate::format::frame_checksum(frame));
            }
            state.next_seq = seg.base_seq + seg.offsets.len() as u64;
            if seg.last_timestamp > 0 {
                state.last_timestamp = seg.last_timestamp;
            }
            let is_last = i + 1 == found_count;
            let (data, view) = if is_last && !read_only {
                let cap = INITIAL_ARENA_BYTES
                    .min(config.segment_bytes as usize)
                    .max(seg.valid_len);
                let mut arena = Arena::with_capacity(cap);
                arena.append_with(seg.valid_len, |b| {
                    b.copy_from_slice(&seg.data[..seg.valid_len])
                });
                if let Some(storage) = &storage {
                    let file = storage
                        .open_append(&seg.name, seg.valid_len as u64)
                        .map_err(|e| Error::io(seg.name.clone(), e))?;
                    state.active_file = Some(file);
                    state.flushed = seg.valid_len;
                }
                let view = arena.whole();
                (SegmentData::Active(arena), view)
            } else {
                (SegmentData::Sealed, seg.data.slice(..seg.valid_len))
            };
            state.total_bytes += seg.valid_len as u64;
            state.segments.push(Segment {
                view,
                name: seg.name,
                base_seq: seg.base_seq,
                records: seg.offsets.len() as u64,
                bytes: seg.valid_len as u64,
                last_timestamp: seg.last_timestamp,
                data,
            });
        }
        if !read_only {
            if let Some(storage) = &storage {
                for name in &report.removed_files {
                    storage
                        .remove(name)
                        .map_err(|e| Error::io(name.clone(), e))?;
                }
                if !report.removed_files.is_empty() {
                    storage
                        .sync_dir()
                        .map_err(|e| Error::io(storage.location(), e))?;
                }
            }
            if state.segments.is_empty() {
                state.new_segment(storage.as_ref(), &config)?;
            }
        }
        let durable = state.next_seq;
        let inner = Arc::new(Inner {
            merkle: Mutex::new(MerkleTree::with_prefix(prefix)),
            config,
            storage,
            state: RwLock::new(state),
            sync: Mutex::new(SyncState {
                durable_seq: durable,
                syncing: false,
                waiting: 0,
            }),
            synced: Condvar::new(),
            appenders: std::sync::atomic::AtomicUsize::new(0),
            recovery: report,
            #[cfg(not(target_arch = "wasm32"))]
            interval_stop: Mutex::new(false),
            #[cfg(not(target_arch = "wasm32"))]
            interval_wake: Condvar::new(),
        });
        #[cfg(not(target_arch = "wasm32"))]
        if let SyncPolicy::Interval(period) = inner.config.sync
            && inner.storage.is_some()
            && !read_only
        {
            spawn_interval_syncer(Arc::downgrade(&inner), period);
        }
        let log = Log { inner };
        if !read_only {
            log.apply_retention()?;
        }
        Ok(log)
    }

    /// What recovery found when this log was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// The configuration the log was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    fn check_size(&self, len: usize) -> Result<()> {
        let max = self.inner.config.max_record_bytes;
        if len > max {
            return Err(Error::RecordTooLarge { len, max });
        }
        Ok(())
    }

    /// Appends one record and returns its seq. Under [`SyncPolicy::Always`]
    /// the record is durable when this returns.
    pub fn append(&self, payload: &[u8]) -> Result<Seq> {
        self.check_size(payload.len())?;
        let inner = &*self.inner;
        let _counted = inner.enter_append();
        let mut state = inner.state.write();
        state.check_writable()?;
        let timestamp = state.timestamp(&inner.config);
        let seq = state.push(inner.storage.as_ref(), &inner.config, payload, timestamp)?;
        let after = inner.after_append(&mut state, seq..seq + 1)?;
        drop(state);
        inner.finish_append(after)?;
        Ok(seq)
    }

    /// Appends several records at once (one lock, one timestamp, one
    /// subscriber notification, at most one sync) and returns their seqs
    /// and the timestamp they carry. Either every payload fits
    /// [`Config::max_record_bytes`] and all are appended, or none is.
    pub fn append_batch<I>(&self, payloads: I) -> Result<Appended>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let payloads: Vec<I::Item> = payloads.into_iter().collect();
        for p in &payloads {
            self.check_size(p.as_ref().len())?;
        }
        let inner = &*self.inner;
        let _counted = inner.enter_append();
        let mut state = inner.state.write();
        state.check_writable()?;
        let start = state.next_seq;
        if payloads.is_empty() {
            return Ok(Appended {
                seqs: start..start,
                timestamp_nanos: state.last_timestamp,
            });
        }
        let timestamp = state.timestamp(&inner.config);
        let run_bytes: u64 = payloads
            .iter()
            .map(|p| (RECORD_HEADER_LEN + p.as_ref().len()) as u64)
            .sum();
        if state.fits_in_active(run_bytes, &inner.config) {
            state.push_run(&payloads, run_bytes, timestamp)?;
        } else {
            for p in &payloads {
                state.push(inner.storage.as_ref(), &inner.config, p.as_ref(), timestamp)?;
            }
        }
        let end = state.next_seq;
        let after = inner.after_append(&mut state, start..end)?;
        drop(state);
        inner.finish_append(after)?;
        Ok(Appended {
            seqs: start..end,
            timestamp_nanos: timestamp,
        })
    }

    /// The record with this seq, if it is in the log. O(1): one index lookup,
    /// no copy of the payload.
    #[inline]
    pub fn read(&self, seq: Seq) -> Option<Record> {
        self.inner.state.read().record(seq)
    }

    /// A read view that holds the log's read lock, for many reads without
    /// per-record reference counting (see [`LogReader`]). Appends wait while
    /// it is alive, so keep it short-lived.
    pub fn reader(&self) -> LogReader<'_> {
        LogReader {
            state: self.inner.state.read(),
        }
    }

    /// An iterator over the records in `range` that are still in the log.
    pub fn range(&self, range: Range<Seq>) -> Iter {
        Iter {
            log: self.inner.clone(),
            next: range.start,
            end: range.end,
            budget: None,
            used: 0,
            buffer: VecDeque::new(),
            budget_spent: false,
            started: false,
        }
    }

    /// An iterator from `from` to the current end of the log.
    pub fn iter_from(&self, from: Seq) -> Iter {
        self.range(from..Seq::MAX)
    }

    /// Seq of the first retained record.
    pub fn first_seq(&self) -> Seq {
        self.inner.state.read().first_seq
    }

    /// Seq the next appended record will get.
    pub fn next_seq(&self) -> Seq {
        self.inner.state.read().next_seq
    }

    /// Every seq below this is durable on storage.
    pub fn durable_seq(&self) -> Seq {
        self.inner.sync.lock().durable_seq
    }

    /// Makes every record appended so far durable.
    pub fn sync(&self) -> Result<()> {
        let target = self.inner.state.read().next_seq;
        self.inner.sync_to(target)
    }

    /// Statistics.
    pub fn stats(&self) -> LogStats {
        let (merkle_bytes, merkle_hashed) = {
            let tree = self.inner.merkle.lock();
            (tree.memory_bytes(), tree.hashed_leaves())
        };
        let durable_seq = self.durable_seq();
        let state = self.inner.state.read();
        LogStats {
            first_seq: state.first_seq,
            next_seq: state.next_seq,
            records: state.next_seq - state.first_seq,
            segments: state.segments.len(),
            bytes: state.total_bytes,
            durable_seq,
            oldest_segment_last_timestamp: state.segments.first().map_or(0, |s| s.last_timestamp),
            last_timestamp: state.last_timestamp,
            merkle_bytes,
            index_bytes: state.index.memory_bytes() + state.checksums.memory_bytes(),
            merkle_hashed,
            subscribers: state.subscribers.len(),
        }
    }

    /// Subscribes to records from `from`: the backlog first, then one batch
    /// per append call. If `from` was already removed by retention, the first
    /// call reports [`Lagged`](crate::SubscriptionError::Lagged).
    pub fn subscribe(&self, from: Seq) -> Subscription {
        let shared = Arc::new(SubShared::default());
        let mut state = self.inner.state.write();
        if state.closed {
            shared.close();
        }
        state.subscribers.push(shared.clone());
        let live_from = state.next_seq;
        drop(state);
        Subscription::new(self.inner.clone(), shared, from, live_from)
    }

    /// XXH3-128 of the stored checksums of records `0..seq` (each 8 bytes,
    /// little-endian, in seq order), from memory: it identifies those
    /// records' bytes (the log verified every checksum when it recovered or
    /// wrote the record) in time proportional to `seq` without reading a
    /// record, where the Merkle root re-hashes them all. `None` when the
    /// log holds fewer than `seq` records or no longer holds record 0.
    pub fn records_digest(&self, seq: u64) -> Option<u128> {
        /// Checksums hashed per update.
        const CHUNK: usize = 512;
        let state = self.inner.state.read();
        if state.first_seq != 0 || seq > state.next_seq {
            return None;
        }
        let sums = state.checksums.retained(0, seq as usize)?;
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut bytes = [0u8; 8 * CHUNK];
        for chunk in sums.chunks(CHUNK) {
            for (out, sum) in bytes.chunks_exact_mut(8).zip(chunk) {
                out.copy_from_slice(&sum.to_le_bytes());
            }
            hasher.update(&bytes[..8 * chunk.len()]);
        }
        Some(hasher.digest128())
    }

    /// The Merkle root of all records appended so far, and the tree size.
    pub fn root(&self) -> Result<(Hash, u64)> {
        let size = self.next_seq();
        Ok((self.root_at(size)?, size))
    }

    /// The Merkle root of the first `tree_size` records.
    pub fn root_at(&self, tree_size: u64) -> Result<Hash> {
        let tree = self.inner.caught_up(tree_size)?;
        Ok(tree.root(tree_size, &LiveLeaves(&self.inner))?)
    }

    /// Proof that record `seq` is in the tree of the first `tree_size` records.
    pub fn inclusion_proof(&self, seq: Seq, tree_size: u64) -> Result<InclusionProof> {
        if seq >= tree_size {
            return Err(crate::merkle::ProofError::LeafOutOfRange {
                seq,
                size: tree_size,
            }
            .into());
        }
        let tree = self.inner.caught_up(tree_size)?;
        let path = tree.inclusion_path(seq, tree_size, &LiveLeaves(&self.inner))?;
        Ok(InclusionProof {
            leaf_index: seq,
            tree_size,
            path,
        })
    }

    /// Proof that the tree of `old_size` records is a prefix of the tree of
    /// `new_size` records.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof> {
        let tree = self.inner.caught_up(new_size)?;
        let path = tree.consistency_path(old_size, new_size, &LiveLeaves(&self.inner))?;
        Ok(ConsistencyProof {
            old_size,
            new_size,
            path,
        })
    }

    /// Removes head segments that the retention limits no longer require.
    /// Runs automatically after a segment is sealed and on open; call it to
    /// apply age limits to a log that is not being written.
    pub fn apply_retention(&self) -> Result<()> {
        self.inner.apply_retention()
    }

    /// Flushes and syncs everything, wakes subscribers and releases the
    /// directory lock. Later calls on the log fail with [`Error::Closed`].
    pub fn close(self) -> Result<()> {
        self.inner.close()
    }
}

impl Inner {
    #[inline]
    fn after_append(&self, state: &mut State, range: Range<Seq>) -> Result<AfterAppend> {
        if !state.subscribers.is_empty() {
            state.notify(range.clone(), self.config.subscriber_queue_batches);
        }
        let count = range.end - range.start;
        state.appended_since_sync += count;
        if self.storage.is_none() {
            return Ok(AfterAppend::Nothing);
        }
        let after = match self.config.sync {
            SyncPolicy::Always => AfterAppend::Sync(range.end),
            SyncPolicy::EveryN(n) if state.appended_since_sync >= n => AfterAppend::Sync(range.end),
            _ => AfterAppend::Nothing,
        };
        if after == AfterAppend::Nothing
            && state.pending_write_bytes() >= self.config.write_buffer_bytes
        {
            state.flush()?;
        }
        #[cfg(target_arch = "wasm32")]
        if let SyncPolicy::Interval(_) = self.config.sync {
            return Ok(AfterAppend::Sync(range.end));
        }
        Ok(after)
    }

    #[inline]
    fn finish_append(&self, after: AfterAppend) -> Result<()> {
        if let AfterAppend::Sync(target) = after {
            self.sync_to(target)?;
        }
        if self.config.retention.is_bounded() && self.state.read().retention_due {
            self.apply_retention()?;
        }
        Ok(())
    }

    /// Group commit: returns once every seq below `target` is durable. One
    /// caller at a time performs the sync for everyone waiting.
    fn sync_to(&self, target: Seq) -> Result<()> {
        let mut sync = self.sync.lock();
        loop {
            if sync.durable_seq >= target {
                return Ok(());
            }
            if sync.syncing {
                sync.waiting += 1;
                self.synced.wait(&mut sync);
                sync.waiting -= 1;
                continue;
            }
            sync.syncing = true;
            drop(sync);
            self.gather_group();
            let result = self.sync_once();
            sync = self.sync.lock();
            sync.syncing = false;
            self.synced.notify_all();
            match result {
                Ok(upto) => sync.durable_seq = sync.durable_seq.max(upto),
                Err(e) => return Err(e),
            }
        }
    }

    /// Counts the calling thread as an appender until the guard drops (only
    /// under [`SyncPolicy::Always`], the one policy that groups commits).
    #[inline]
    fn enter_append(&self) -> AppendGuard<'_> {
        if self.config.sync == SyncPolicy::Always && self.storage.is_some() {
            self.appenders
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            AppendGuard(Some(&self.appenders))
        } else {
            AppendGuard(None)
        }
    }

    /// Group commit's gathering step, run by the leader before it syncs:
    /// while other threads are inside `append*` but not yet waiting for a
    /// sync (they are about to add records), wait for them, yielding the
    /// CPU, for at most [`GROUP_GATHER_MAX`]. Without it, the appenders woken
    /// by the previous sync race back one at a time and each sync covers
    /// only the first of them.
    fn gather_group(&self) {
        #[cfg(not(target_arch = "wasm32"))]
        {
            if self.config.sync != SyncPolicy::Always {
                return;
            }
            let started = std::time::Instant::now();
            loop {
                let inside = self.appenders.load(std::sync::atomic::Ordering::Acquire);
                let waiting = self.sync.lock().waiting;
                // The leader itself is inside too.
                if inside <= waiting + 1 || started.elapsed() >= GROUP_GATHER_MAX {
                    return;
                }
                std::thread::yield_now();
            }
        }
    }

    /// Writes pending bytes, then syncs outside the state lock so appenders
    /// can keep filling the next group. Returns the durable seq reached.
    fn sync_once(&self) -> Result<Seq> {
        let Some(storage) = &self.storage else {
            return Ok(self.state.read().next_seq);
        };
        let (files, upto, dir_dirty) = {
            let mut state = self.state.write();
            if let Some(reason) = &state.failed {
                return Err(Error::Failed(reason.clone()));
            }
            if state.read_only {
                return Ok(state.next_seq);
            }
            state.flush()?;
            let mut files = std::mem::take(&mut state.unsynced_files);
            if let Some(active) = &state.active_file {
                files.push(active.clone());
            }
            state.appended_since_sync = 0;
            let dir_dirty = std::mem::replace(&mut state.dir_dirty, false);
            (files, state.next_seq, dir_dirty)
        };
        let result = (|| -> Result<Seq> {
            if dir_dirty {
                storage
                    .sync_dir()
                    .map_err(|e| Error::io(storage.location(), e))?;
            }
            for file in &files {
                file.sync_data()
                    .map_err(|e| Error::io(storage.location(), e))?;
            }
            Ok(upto)
        })();
        if let Err(e) = &result {
            let mut state = self.state.write();
            if state.failed.is_none() {
                state.failed = Some(e.to_string());
            }
        }
        result
    }

    /// Locks the tree after folding in every complete block below `size`.
    fn caught_up(&self, size: u64) -> Result<parking_lot::MutexGuard<'_, MerkleTree>> {
        let available = self.state.read().next_seq;
        if size > available {
            return Err(crate::merkle::ProofError::TreeTooLarge { size, available }.into());
        }
        let mut tree = self.merkle.lock();
        self.catch_up(&mut tree, size)?;
        Ok(tree)
    }

    fn catch_up(&self, tree: &mut MerkleTree, size: u64) -> Result<()> {
        while tree.hashed_leaves() + (1 << crate::merkle::STORED_HEIGHT) <= size {
            let from = tree.hashed_leaves();
            let to = (from + CATCH_UP_CHUNK).min(size);
            let snapshot = {
                let state = self.state.read();
                let first = from.max(state.first_seq);
                SnapshotLeaves {
                    first,
                    frames: (first..to).filter_map(|s| state.frame(s)).collect(),
                }
            };
            tree.catch_up(to, &snapshot)?;
        }
        Ok(())
    }

    fn apply_retention(&self) -> Result<()> {
        let retention = self.config.retention;
        if !retention.is_bounded() {
            return Ok(());
        }
        let mut tree = self.merkle.lock();
        let now = self.config.clock.now_nanos();
        let (evict, new_first) = {
            let mut state = self.state.write();
            state.retention_due = false;
            if state.read_only {
                return Ok(());
            }
            let mut records = state.next_seq - state.first_seq;
            let mut bytes = state.total_bytes;
            let mut evict = 0usize;
            // Never the active (last) segment; each check is O(1), so the
            // decision costs O(segments removed).
            while evict + 1 < state.segments.len() {
                let seg = &state.segments[evict];
                let by_records = retention
                    .max_records
                    .is_some_and(|max| records - seg.records >= max);
                let by_bytes = retention
                    .max_bytes
                    .is_some_and(|max| bytes - seg.bytes >= max);
                let by_age = retention.max_age.is_some_and(|age| {
                    seg.last_timestamp
                        .saturating_add(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX))
                        < now
                });
                if !(by_records || by_bytes || by_age) {
                    break;
                }
                records -= seg.records;
                bytes -= seg.bytes;
                evict += 1;
            }
            if evict == 0 {
                return Ok(());
            }
            (evict, state.segments[evict].base_seq)
        };
        self.catch_up(&mut tree, new_first)?;
        let prefix = tree.compact_range(new_first, &LiveLeaves(self))?;
        if let Some(storage) = &self.storage {
            storage
                .write_atomic(MERKLE_PREFIX_FILE, &prefix.encode())
                .map_err(|e| Error::io(MERKLE_PREFIX_FILE, e))?;
        }
        tree.prune(prefix);
        drop(tree);
        let removed: Vec<Segment> = {
            let mut state = self.state.write();
            let removed: Vec<Segment> = state.segments.drain(..evict).collect();
            let count: u64 = removed.iter().map(|s| s.records).sum();
            let bytes: u64 = removed.iter().map(|s| s.bytes).sum();
            state.index.evict_front(count as usize);
            state.checksums.evict_front(count as usize);
            state.first_seq = new_first;
            state.total_bytes -= bytes;
            state.first_ordinal = state.first_ordinal.wrapping_add(evict as u32) & ORDINAL_MASK;
            removed
        };
        if let Some(storage) = &self.storage {
            for seg in &removed {
                storage
                    .remove(&seg.name)
                    .map_err(|e| Error::io(seg.name.clone(), e))?;
            }
            storage
                .sync_dir()
                .map_err(|e| Error::io(storage.location(), e))?;
        }
        Ok(())
    }

    /// Records `[from, end)` still in the log, and the first seq actually
    /// available (greater than `from` if retention removed some).
    pub(crate) fn read_span(&self, from: Seq, end: Seq) -> (Vec<Record>, Seq) {
        let state = self.state.read();
        let first = from.max(state.first_seq);
        let end = end.min(state.next_seq);
        let records = (first..end).filter_map(|s| state.record(s)).collect();
        (records, first)
    }

    pub(crate) fn unsubscribe(&self, shared: &Arc<SubShared>) {
        self.state
            .write()
            .subscribers
            .retain(|s| !Arc::ptr_eq(s, shared));
    }

    fn close(&self) -> Result<()> {
        let result = {
            let state = self.state.read();
            if state.closed {
                return Ok(());
            }
            let writable = !state.read_only && state.failed.is_none();
            let target = state.next_seq;
            drop(state);
            if writable {
                self.sync_to(target)
            } else {
                Ok(())
            }
        };
        let mut state = self.state.write();
        state.closed = true;
        for sub in state.subscribers.drain(..) {
            sub.close();
        }
        drop(state);
        #[cfg(not(target_arch = "wasm32"))]
        {
            *self.interval_stop.lock() = true;
            self.interval_wake.notify_all();
        }
        if let Some(storage) = &self.storage {
            storage.unlock();
        }
        result
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        // Best effort: make everything durable and let go of the lock. Errors
        // have nowhere to go here; call `close` to see them.
        let _ = self.inner.close();
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn spawn_interval_syncer(log: std::sync::Weak<Inner>, period: std::time::Duration) {
    let spawned = std::thread::Builder::new()
        .name("mnemo-log-sync".into())
        .spawn(move || {
            loop {
                let Some(inner) = log.upgrade() else { return };
                {
                    let mut stop = inner.interval_stop.lock();
                    if *stop {
                        return;
                    }
                    inner.interval_wake.wait_for(&mut stop, period);
                    if *stop {
                        return;
                    }
                }
                let target = inner.state.read().next_seq;
                // A failure marks the log failed; appenders will see it.
                let _ = inner.sync_to(target);
            }
        });
    // Without the thread, records still become durable on sync/close.
    drop(spawned);
}

/// Iterator over records, created by [`Log::range`] and [`Log::iter_from`].
///
/// It reads in small batches (one lock acquisition per batch) and ends at the
/// end of its range, at the current end of the log, at the byte budget, or
/// where retention removed records (compare [`Iter::position`] with
/// [`Log::first_seq`] to tell).
pub struct Iter {
    log: Arc<Inner>,
    next: Seq,
    end: Seq,
    budget: Option<u64>,
    used: u64,
    buffer: VecDeque<Record>,
    budget_spent: bool,
    started: bool,
}

impl std::fmt::Debug for Iter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter")
            .field("next", &self.next)
            .field("end", &self.end)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

const ITER_BATCH: u64 = 256;

impl Iter {
    /// Stops once the payload bytes yielded would exceed `bytes` (at least
    /// one record is always yielded).
    pub fn byte_budget(mut self, bytes: u64) -> Self {
        self.budget = Some(bytes);
        self
    }

    /// Seq of the next record this iterator would yield.
    pub fn position(&self) -> Seq {
        self.buffer.front().map_or(self.next, |r| r.seq())
    }
}

impl Iterator for Iter {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.budget_spent {
            return None;
        }
        if self.buffer.is_empty() {
            if self.next >= self.end {
                return None;
            }
            let state = self.log.state.read();
            if self.next < state.first_seq {
                return None;
            }
            let end = self.end.min(state.next_seq).min(self.next + ITER_BATCH);
            for seq in self.next..end {
                match state.record(seq) {
                    Some(r) => self.buffer.push_back(r),
                    None => break,
                }
            }
            drop(state);
            self.next += self.buffer.len() as u64;
        }
        let record = self.buffer.front()?;
        if let Some(budget) = self.budget {
            let len = record.len() as u64;
            if self.started && self.used + len > budget {
                self.budget_spent = true;
                return None;
            }
            self.used += len;
        }
        self.started = true;
        self.buffer.pop_front()
    }
}

/// A borrowed record: seq, timestamp and frame bytes, valid while the
/// [`LogReader`] it came from is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    seq: Seq,
    frame: &'a [u8],
}

impl<'a> RecordRef<'a> {
    /// The record's seq.
    pub fn seq(&self) -> Seq {
        self.seq
    }

    /// Append time in nanoseconds since the Unix epoch.
    pub fn timestamp_nanos(&self) -> u64 {
        crate::format::frame_timestamp(self.frame)
    }

    /// The payload.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.frame[RECORD_HEADER_LEN..]
    }

    /// The record's stored checksum: XXH3-64 of its seq, timestamp, length
    /// and payload (see the crate's format docs). The log checked it when it
    /// recovered the record or computed it when appending, so it identifies
    /// the record's bytes without reading the payload: two records with the
    /// same seq and different bytes differ in it unless their 64-bit hashes
    /// collide.
    #[inline]
    pub fn checksum(&self) -> u64 {
        crate::format::frame_checksum(self.frame)
    }

    /// The record exactly as stored (header and payload).
    pub fn frame(&self) -> &'a [u8] {
        self.frame
    }
}

/// A consistent view of the log for bulk reads, from [`Log::reader`].
///
/// Reads through it take no lock and touch no reference count per record:
/// [`LogReader::get`] is an index lookup and a header parse, and
/// [`LogReader::iter`] walks frames at memory speed. It holds the log's read
/// lock, so appends (and retention) wait until it is dropped.
pub struct LogReader<'a> {
    state: parking_lot::RwLockReadGuard<'a, State>,
}

impl std::fmt::Debug for LogReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("first_seq", &self.state.first_seq)
            .field("next_seq", &self.state.next_seq)
            .finish()
    }
}

impl LogReader<'_> {
    /// First retained seq in this view.
    pub fn first_seq(&self) -> Seq {
        self.state.first_seq
    }

    /// One past the last seq in this view.
    pub fn next_seq(&self) -> Seq {
        self.state.next_seq
    }

    /// The record with this seq, borrowed.
    #[inline]
    pub fn get(&self, seq: Seq) -> Option<RecordRef<'_>> {
        self.state.frame_ref(seq)
    }

    /// The record with this seq as an owned [`Record`] (one reference count).
    pub fn record(&self, seq: Seq) -> Option<Record> {
        self.state.record(seq)
    }

    /// The retained records in `range`, in order.
    pub fn iter(&self, range: Range<Seq>) -> impl Iterator<Item = RecordRef<'_>> + '_ {
        let start = range.start.max(self.state.first_seq);
        let end = range.end.min(self.state.next_seq);
        (start..end).filter_map(move |seq| self.state.frame_ref(seq))
    }
}
