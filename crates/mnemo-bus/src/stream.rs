//! A stream: its shards, their writers, publishing and waiting.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use mnemo_log::{Config as LogConfig, Log, SyncPolicy};
use parking_lot::{Mutex, RwLock};

use crate::config::{Backpressure, StreamConfig, validate_name};
use crate::error::{Error, Result, io_error};
use crate::files::{read_checked, write_checked};
use crate::manifest::Manifest;
use crate::ring::Header;
use crate::shard::{Activity, Shard, WaitEnd};
use crate::stats::{ShardStats, StreamStats};

/// An event to publish: its type id (from [`Stream::type_id`]), producer,
/// optional event time and bytes.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// The event's type id.
    pub kind: u16,
    /// Who produced it; also the sharding key (all events of one producer go
    /// to one shard, in the order it published them).
    pub producer: u64,
    /// Event time in nanoseconds since the Unix epoch, or 0 for none (the
    /// time the writer appended it then stands for it).
    pub time_nanos: u64,
    /// The event's bytes.
    pub payload: &'a [u8],
}

/// Where an admitted event waits: its shard and ring position. Pass it to
/// [`Stream::wait`] to learn when it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// The shard the event went to.
    pub shard: usize,
    /// Its position in the shard's ring (counts every event ever admitted).
    pub position: u64,
}

/// What happened to one published event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// Enqueued; [`Stream::wait`] on the ticket returns once it is written.
    Accepted(Ticket),
    /// Dropped by the stream's backpressure, as counted in its stats.
    Dropped(Dropped),
}

/// Why backpressure dropped an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// `drop_newest`, or `sample(n)` with the ring completely full.
    Newest,
    /// `sample(n)` left it out.
    SampledOut,
}

/// What happened to a batch of events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Events enqueued.
    pub accepted: usize,
    /// Events dropped by backpressure.
    pub dropped: usize,
    /// For each shard the batch touched, the last position it took there.
    pub tickets: Vec<Ticket>,
}

impl Receipt {
    fn record(&mut self, outcome: Published) {
        match outcome {
            Published::Accepted(ticket) => {
                self.accepted += 1;
                self.record_position(ticket);
            }
            Published::Dropped(_) => self.dropped += 1,
        }
    }

    fn record_position(&mut self, ticket: Ticket) {
        match self.tickets.iter_mut().find(|t| t.shard == ticket.shard) {
            Some(t) => t.position = t.position.max(ticket.position),
            None => self.tickets.push(ticket),
        }
    }
}

/// A batch publish that stopped early: the first `receipt.accepted +
/// receipt.dropped` events were handled (waiting on the receipt works for
/// them), the event at that index met `error`, and none after it was
/// enqueued.
#[derive(Debug, thiserror::Error)]
#[error("batch stopped at event {stopped_at}: {error}")]
pub struct BatchError {
    /// What happened to the events before `stopped_at`.
    pub receipt: Receipt,
    /// Index of the event that was refused.
    pub stopped_at: usize,
    /// Why.
    pub error: Error,
}

pub(crate) struct Inner {
    pub name: String,
    pub config: StreamConfig,
    pub dir: Option<PathBuf>,
    pub manifest: RwLock<Manifest>,
    /// Number of assigned type ids (ids are 1..=this).
    pub type_count: AtomicU32,
    pub shards: Vec<Arc<Shard>>,
    pub activity: Arc<Activity>,
    writers: Mutex<Vec<JoinHandle<()>>>,
    closed: AtomicBool,
}

/// A stream of raw events, sharded onto bounded rings and drained into one
/// log per shard. Cheap to clone (all clones share the stream).
#[derive(Clone)]
pub struct Stream {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("name", &self.inner.name)
            .field("shards", &self.inner.shards.len())
            .finish_non_exhaustive()
    }
}

const MANIFEST_FILE: &str = "STREAM";

impl Stream {
    /// Opens (or creates) the stream kept in `dir`: its manifest, one log
    /// per shard under `dir/shard-NNN`, and consumer cursors under
    /// `dir/consumers`. Recovery of each shard's log runs as for any
    /// `mnemo-log` log; the writers start at once.
    pub fn open(dir: impl AsRef<Path>, name: &str, config: StreamConfig) -> Result<Stream> {
        validate_name("stream", name)?;
        config.validate()?;
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let manifest_path = dir.join(MANIFEST_FILE);
        let what = manifest_path.display().to_string();
        let mut manifest = match read_checked(&manifest_path)? {
            Some(body) => {
                let manifest = Manifest::decode(&body, &what)?;
                if manifest.shards != config.shards {
                    return Err(Error::Config(format!(
                        "stream {name} in {} has {} shards; the configuration asks for {} (a stream keeps the shard count it was created with)",
                        dir.display(),
                        manifest.shards,
                        config.shards
                    )));
                }
                manifest
            }
            None => Manifest::new(config.shards),
        };
        let before = manifest.names.len();
        for ty in &config.types {
            manifest.register(ty)?;
        }
        if before != manifest.names.len() || !manifest_path.exists() {
            write_checked(&manifest_path, &manifest.encode())?;
        }
        let log_config = log_config(&config);
        let mut logs = Vec::with_capacity(config.shards);
        for shard in 0..config.shards {
            logs.push(Log::open(
                dir.join(format!("shard-{shard:03}")),
                log_config.clone(),
            )?);
        }
        Ok(Self::start(name, config, Some(dir), manifest, logs))
    }

    /// A stream whose shard logs live in memory (for tests and benchmarks;
    /// nothing survives the process).
    pub fn in_memory(name: &str, config: StreamConfig) -> Result<Stream> {
        validate_name("stream", name)?;
        config.validate()?;
        let mut manifest = Manifest::new(config.shards);
        for ty in &config.types {
            manifest.register(ty)?;
        }
        let log_config = log_config(&config);
        let logs = (0..config.shards)
            .map(|_| Log::in_memory(log_config.clone()))
            .collect::<mnemo_log::Result<Vec<_>>>()?;
        Ok(Self::start(name, config, None, manifest, logs))
    }

    fn start(
        name: &str,
        config: StreamConfig,
        dir: Option<PathBuf>,
        manifest: Manifest,
        logs: Vec<Log>,
    ) -> Stream {
        let activity = Arc::new(Activity::default());
        let shards: Vec<Arc<Shard>> = logs
            .into_iter()
            .enumerate()
            .map(|(i, log)| {
                Arc::new(Shard::new(
                    i,
                    config.ring_capacity,
                    log,
                    config.max_batch,
                    activity.clone(),
                ))
            })
            .collect();
        let writers = shards
            .iter()
            .map(|shard| {
                let shard = shard.clone();
                std::thread::Builder::new()
                    .name(format!("mnemo-bus-{name}-{}", shard.index))
                    .spawn(move || shard.run_writer())
                    .map_err(|e| e.to_string())
            })
            .collect::<Vec<_>>();
        let type_count = AtomicU32::new(manifest.names.len() as u32);
        let inner = Arc::new(Inner {
            name: name.to_owned(),
            config,
            dir,
            manifest: RwLock::new(manifest),
            type_count,
            shards,
            activity,
            writers: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        });
        let mut handles = inner.writers.lock();
        for (shard, writer) in inner.shards.iter().zip(writers) {
            match writer {
                Ok(handle) => handles.push(handle),
                // Without a writer the shard can take no event: it fails
                // every publish and wait with the reason.
                Err(reason) => {
                    *shard.failure.lock() = Some(format!("no writer thread: {reason}"));
                    shard.failed.store(true, Ordering::SeqCst);
                }
            }
        }
        drop(handles);
        Stream { inner }
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The stream's configuration.
    pub fn config(&self) -> &StreamConfig {
        &self.inner.config
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.inner.shards.len()
    }

    /// The log of one shard (for roots, proofs and direct reads), or `None`
    /// past the last shard.
    pub fn shard_log(&self, shard: usize) -> Option<&Log> {
        self.inner.shards.get(shard).map(|s| &s.log)
    }

    /// The id of an event type. A declared type always has one; an
    /// undeclared one is registered (and the manifest rewritten) when the
    /// stream has `open_types`, and refused otherwise.
    pub fn type_id(&self, name: &str) -> Result<u16> {
        if let Some(&id) = self.inner.manifest.read().ids.get(name) {
            return Ok(id);
        }
        if !self.inner.config.open_types {
            let manifest = self.inner.manifest.read();
            let declared = manifest
                .names
                .iter()
                .map(|n| &**n)
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::UnknownType {
                stream: self.inner.name.clone(),
                name: name.to_owned(),
                declared,
            });
        }
        let mut manifest = self.inner.manifest.write();
        if let Some(&id) = manifest.ids.get(name) {
            return Ok(id);
        }
        let mut updated = manifest.clone();
        let id = updated.register(name)?;
        if let Some(dir) = &self.inner.dir {
            write_checked(&dir.join(MANIFEST_FILE), &updated.encode())?;
        }
        *manifest = updated;
        self.inner
            .type_count
            .store(u32::from(id), Ordering::Release);
        Ok(id)
    }

    /// The name of a type id, if the stream assigned it.
    pub fn type_name(&self, id: u16) -> Option<Arc<str>> {
        self.inner.manifest.read().name(id).cloned()
    }

    /// Every type the stream knows, in id order (the id of the `i`-th is
    /// `i + 1`).
    pub fn types(&self) -> Vec<Arc<str>> {
        self.inner.manifest.read().names.clone()
    }

    /// The shard that takes a producer's events.
    #[inline]
    pub fn shard_of(&self, producer: u64) -> usize {
        // Fibonacci hashing, then a multiply-shift into 0..shards (no
        // division on the hot path).
        let mixed = producer.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        ((mixed * self.inner.shards.len() as u64) >> 32) as usize
    }

    #[inline]
    fn check(&self, event: &Event<'_>) -> Result<()> {
        if event.payload.len() > self.inner.config.max_event_bytes {
            return Err(Error::TooLarge {
                len: event.payload.len(),
                max: self.inner.config.max_event_bytes,
            });
        }
        if event.kind == 0 || u32::from(event.kind) > self.inner.type_count.load(Ordering::Acquire)
        {
            return Err(Error::UnknownTypeId {
                stream: self.inner.name.clone(),
                id: event.kind,
            });
        }
        Ok(())
    }

    fn shard_error(&self, shard: &Shard) -> Option<Error> {
        if shard.failed.load(Ordering::Acquire) {
            return Some(Error::Failed {
                stream: self.inner.name.clone(),
                shard: shard.index,
                reason: shard.failure.lock().clone().unwrap_or_default(),
            });
        }
        if shard.closing.load(Ordering::Acquire) {
            return Some(Error::Closed(self.inner.name.clone()));
        }
        None
    }

    /// Publishes one event under the stream's backpressure mode. Returns
    /// once it is enqueued (or dropped); [`wait`](Self::wait) on the ticket
    /// to learn when it is written and, under `SyncPolicy::Always`, durable.
    #[inline]
    pub fn publish(&self, event: &Event<'_>) -> Result<Published> {
        self.check(event)?;
        let shard = &*self.inner.shards[self.shard_of(event.producer)];
        self.publish_to(shard, event)
    }

    #[inline]
    fn publish_to(&self, shard: &Shard, event: &Event<'_>) -> Result<Published> {
        if let Some(error) = self.shard_error(shard) {
            return Err(error);
        }
        let header = Header {
            kind: event.kind,
            producer: event.producer,
            time_nanos: event.time_nanos,
        };
        let mode = self.inner.config.backpressure;
        if let Backpressure::Sample(n) = mode
            && n > 1
            && shard.ring.len() * 2 >= shard.ring.capacity()
        {
            let tick = shard.counters.sample_tick.fetch_add(1, Ordering::Relaxed);
            if !tick.is_multiple_of(u64::from(n)) {
                shard.counters.sampled_out.fetch_add(1, Ordering::Relaxed);
                return Ok(Published::Dropped(Dropped::SampledOut));
            }
        }
        if let Some(position) = shard.ring.try_push(&header, event.payload) {
            shard.wake_writer();
            return Ok(Published::Accepted(Ticket {
                shard: shard.index,
                position,
            }));
        }
        self.publish_full(shard, &header, event.payload)
    }

    /// The ring was full: do what the backpressure mode says.
    #[cold]
    fn publish_full(&self, shard: &Shard, header: &Header, payload: &[u8]) -> Result<Published> {
        let accepted = |position| {
            shard.wake_writer();
            Ok(Published::Accepted(Ticket {
                shard: shard.index,
                position,
            }))
        };
        match self.inner.config.backpressure {
            Backpressure::DropNewest | Backpressure::Sample(_) => {
                shard
                    .counters
                    .dropped_newest
                    .fetch_add(1, Ordering::Relaxed);
                Ok(Published::Dropped(Dropped::Newest))
            }
            Backpressure::Error => {
                shard.counters.rejected.fetch_add(1, Ordering::Relaxed);
                Err(Error::Full {
                    stream: self.inner.name.clone(),
                    shard: shard.index,
                    capacity: shard.ring.capacity(),
                })
            }
            Backpressure::DropOldest => loop {
                if shard.ring.evict_oldest() {
                    shard
                        .counters
                        .dropped_oldest
                        .fetch_add(1, Ordering::Relaxed);
                }
                if let Some(position) = shard.ring.try_push(header, payload) {
                    return accepted(position);
                }
                if let Some(error) = self.shard_error(shard) {
                    return Err(error);
                }
            },
            Backpressure::Block => {
                shard.counters.blocked.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let deadline = started + self.inner.config.block_timeout;
                loop {
                    if let Some(position) = shard.ring.try_push(header, payload) {
                        return accepted(position);
                    }
                    if let Some(error) = self.shard_error(shard) {
                        return Err(error);
                    }
                    if !shard.wait_space(deadline) {
                        shard.counters.timed_out.fetch_add(1, Ordering::Relaxed);
                        return Err(Error::Timeout {
                            stream: self.inner.name.clone(),
                            shard: shard.index,
                            waited: started.elapsed(),
                        });
                    }
                }
            }
        }
    }

    /// Publishes events in order. Every event is checked first (size, type),
    /// so a bad one refuses the whole batch before anything is enqueued.
    /// Then each is published as by [`publish`](Self::publish). If the backpressure refuses one (`error`, or a `block` timeout),
    /// the batch stops there: [`BatchError`] says how far it got.
    pub fn publish_batch(&self, events: &[Event<'_>]) -> Result<Receipt, BatchError> {
        for (i, event) in events.iter().enumerate() {
            if let Err(error) = self.check(event) {
                return Err(BatchError {
                    receipt: Receipt::default(),
                    stopped_at: i,
                    error,
                });
            }
        }
        let mut receipt = Receipt::default();
        for (i, event) in events.iter().enumerate() {
            let shard = &*self.inner.shards[self.shard_of(event.producer)];
            match self.publish_to(shard, event) {
                Ok(outcome) => receipt.record(outcome),
                Err(error) => {
                    return Err(BatchError {
                        receipt,
                        stopped_at: i,
                        error,
                    });
                }
            }
        }
        Ok(receipt)
    }

    /// Waits until the event behind `ticket` is written to its shard's log
    /// (and durable, under `SyncPolicy::Always`). Under `drop_oldest`, an
    /// event evicted before the writer reached it also ends the wait: only
    /// `block` and `error` promise that every accepted event is written.
    pub fn wait(&self, ticket: Ticket) -> Result<()> {
        let shard = self
            .inner
            .shards
            .get(ticket.shard)
            .ok_or_else(|| Error::Config(format!("no shard {}", ticket.shard)))?;
        match shard.wait_done(ticket.position) {
            Ok(()) => Ok(()),
            Err(WaitEnd::Failed) => Err(self.shard_error(shard).unwrap_or_else(|| Error::Failed {
                stream: self.inner.name.clone(),
                shard: shard.index,
                reason: "unknown".into(),
            })),
            Err(WaitEnd::Stopped) => Err(Error::Closed(self.inner.name.clone())),
        }
    }

    /// Waits for every event of a receipt (see [`wait`](Self::wait)).
    pub fn wait_receipt(&self, receipt: &Receipt) -> Result<()> {
        for ticket in &receipt.tickets {
            self.wait(*ticket)?;
        }
        Ok(())
    }

    /// Waits until every event admitted so far is written.
    pub fn flush(&self) -> Result<()> {
        for shard in &self.inner.shards {
            let tail = shard.ring.tail_position();
            if tail > 0 {
                self.wait(Ticket {
                    shard: shard.index,
                    position: tail - 1,
                })?;
            }
        }
        Ok(())
    }

    /// Counters and positions of every shard.
    pub fn stats(&self) -> StreamStats {
        let shards = self
            .inner
            .shards
            .iter()
            .map(|s| ShardStats::of(s))
            .collect();
        StreamStats {
            name: self.inner.name.clone(),
            backpressure: self.inner.config.backpressure,
            shards,
        }
    }

    /// Stops taking events, lets every writer drain what is queued, syncs
    /// the logs and joins the writers. Publishing afterwards fails with
    /// [`Error::Closed`]. Calling it again does nothing.
    pub fn close(&self) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        for shard in &self.inner.shards {
            shard.closing.store(true, Ordering::SeqCst);
            shard.wake_writer();
        }
        let handles: Vec<_> = self.inner.writers.lock().drain(..).collect();
        for shard in &self.inner.shards {
            // The writer may be parked; make sure it sees the close.
            shard.wake_writer();
        }
        for handle in handles {
            let _ = handle.join();
        }
        for shard in &self.inner.shards {
            if let Some(error) = shard
                .failed
                .load(Ordering::Acquire)
                .then(|| shard.failure.lock().clone())
                .flatten()
            {
                return Err(Error::Failed {
                    stream: self.inner.name.clone(),
                    shard: shard.index,
                    reason: error,
                });
            }
        }
        Ok(())
    }

    /// Stops the writers draining: events queue in the rings (and the
    /// backpressure mode applies when they fill) until [`resume`](Self::resume).
    /// Waits for events not yet written keep waiting. Closing the stream
    /// drains it even while paused.
    pub fn pause(&self) {
        for shard in &self.inner.shards {
            shard.paused.store(true, Ordering::SeqCst);
        }
    }

    /// Lets the writers drain again after [`pause`](Self::pause).
    pub fn resume(&self) {
        for shard in &self.inner.shards {
            shard.paused.store(false, Ordering::SeqCst);
            shard.wake_writer();
        }
    }

    /// The directory the stream lives in (`None` in memory).
    pub fn dir(&self) -> Option<&Path> {
        self.inner.dir.as_deref()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            for shard in &self.shards {
                shard.closing.store(true, Ordering::SeqCst);
                shard.wake_writer();
            }
            for handle in self.writers.get_mut().drain(..) {
                let _ = handle.join();
            }
        }
    }
}

fn log_config(config: &StreamConfig) -> LogConfig {
    let mut log = LogConfig::default()
        .sync(config.sync)
        .segment_bytes(config.segment_bytes)
        .max_record_bytes(config.max_event_bytes + crate::record::RECORD_HEADER_BYTES);
    log.retention = config.retention;
    if config.sync == SyncPolicy::Always {
        // Group commit is the writer's batch; the log's own buffer only
        // matters for the other policies.
        log.write_buffer_bytes = 1 << 20;
    }
    log
}
