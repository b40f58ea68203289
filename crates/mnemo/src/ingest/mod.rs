//! Raw events beside the memories: a namespace's `mnemo-bus` stream and the
//! background folder that promotes selected events into memories.
//!
//! [`Namespace::ingest`] and [`Namespace::ingest_batch`] are the cheap path
//! for what agents produce far more of than memories (tool calls,
//! observations, token streams): no embedding, no index, one slot in a ring
//! and a share of a group commit. The stream lives in `NAMESPACE/events/`
//! (its shards' logs are `mnemo-log` logs of their own, proven like the
//! namespace's log) and opens with the namespace when it exists, or on the
//! first ingest.
//!
//! **Promotion**: [`IngestOptions::rules`] ([`PromotionRule`]) pick events
//! that become memories. A folder thread tails the stream as the consumer
//! `promotion`, applies the rules, writes the memories with
//! [`Namespace::remember_batch`] and then commits its cursor. The bus never
//! waits for it: a slow folder only grows its lag, which
//! [`Namespace::ingest_stats`] reports. Each promoted memory carries the
//! client key `event/SHARD/SEQ`, so an event promoted again after a crash
//! (between the memories' write and the cursor's commit) lands in the same
//! memory instead of a duplicate.

mod folder;
pub mod rules;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mnemo_bus::{Event as BusEvent, Published, Receipt, Stream};
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::model::Timestamp;
use crate::namespace::{Inner, Namespace};

pub use folder::PromotionStats;
pub use mnemo_bus as bus;
pub use mnemo_bus::{Backpressure, Consumer, Delivered, Missed, Poll, StreamConfig, StreamStats};
pub use rules::{Predicate, PromotionRule};

/// How a namespace's raw-event stream and its promotion behave.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The stream (shards, ring size, backpressure, sync, types). Default:
    /// [`StreamConfig::default`] with `open_types` on, so any valid type
    /// name is accepted and registered on first use.
    pub stream: StreamConfig,
    /// Promotion rules, tried in order (empty: nothing is promoted).
    pub rules: Vec<PromotionRule>,
    /// Events the folder reads per poll at most. Default 1,024.
    pub folder_batch: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            stream: StreamConfig::default().open_types(true),
            rules: Vec::new(),
            folder_batch: 1024,
        }
    }
}

impl IngestOptions {
    /// Checks the stream's configuration and every rule.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.stream.validate().map_err(|e| e.to_string())?;
        if self.folder_batch == 0 {
            return Err("folder_batch must be at least 1".into());
        }
        for rule in &self.rules {
            rule.validate()?;
        }
        Ok(())
    }
}

/// A raw event to ingest.
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'a> {
    /// Its type (a name of 1–64 ASCII letters, digits, `_`, `-`, `.`).
    pub kind: &'a str,
    /// Who produced it; events of one producer keep their order.
    pub producer: u64,
    /// When it happened (default: when the stream's writer appends it).
    pub at: Option<Timestamp>,
    /// Its bytes (JSON, for the promotion rules to read fields).
    pub payload: &'a [u8],
}

/// What [`Namespace::ingest_batch`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    /// Events written (and durable, under `SyncPolicy::Always`) when the
    /// call returned.
    pub accepted: usize,
    /// Events the stream's backpressure dropped (never under `block` or
    /// `error`).
    pub dropped: usize,
}

/// A namespace's stream and folder, once opened.
pub(crate) struct Bus {
    pub stream: Stream,
    folder: Mutex<Option<folder::Folder>>,
    pub promotion: Arc<folder::Progress>,
}

/// The namespace's slot for its bus (opened at most once).
#[derive(Default)]
pub(crate) struct Events {
    bus: Mutex<Option<Arc<Bus>>>,
    closed: AtomicBool,
}

impl Events {
    /// Stops the folder and closes the stream (idempotent).
    pub fn close(&self) -> std::result::Result<(), mnemo_bus::Error> {
        self.closed.store(true, Ordering::SeqCst);
        let Some(bus) = self.bus.lock().take() else {
            return Ok(());
        };
        if let Some(folder) = bus.folder.lock().take() {
            folder.stop();
        }
        bus.stream.close()
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The stream directory of a namespace directory.
fn stream_dir(ns_dir: &Path) -> std::path::PathBuf {
    ns_dir.join("events")
}

impl Inner {
    /// Opens the bus at namespace open when the namespace has a stream on
    /// disk, so promotion resumes where it stopped.
    pub(crate) fn resume_events(self: &Arc<Self>) -> Result<()> {
        if let Some(dir) = &self.dir
            && stream_dir(dir).join("STREAM").exists()
        {
            Namespace {
                inner: self.clone(),
            }
            .bus()?;
        }
        Ok(())
    }
}

impl Namespace {
    fn bus_error(&self, source: mnemo_bus::Error) -> Error {
        match source {
            mnemo_bus::Error::Closed(_) => Error::Closed(self.inner.name.clone()),
            source => Error::Ingest {
                namespace: self.inner.name.clone(),
                accepted: 0,
                source,
            },
        }
    }

    /// The namespace's bus, opened on first use.
    pub(crate) fn bus(&self) -> Result<Arc<Bus>> {
        let events = &self.inner.events;
        let mut slot = events.bus.lock();
        if let Some(bus) = slot.as_ref() {
            return Ok(bus.clone());
        }
        if events.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed(self.inner.name.clone()));
        }
        let options = &self.inner.options.ingest;
        options.validate().map_err(|reason| Error::Invalid {
            namespace: self.inner.name.clone(),
            field: "ingest options",
            reason,
        })?;
        let stream = match &self.inner.dir {
            Some(dir) => Stream::open(stream_dir(dir), "events", options.stream.clone()),
            None => Stream::in_memory("events", options.stream.clone()),
        }
        .map_err(|e| self.bus_error(e))?;
        let promotion = Arc::new(folder::Progress::default());
        let folder = if options.rules.is_empty() {
            None
        } else {
            let consumer = stream
                .consumer(folder::CONSUMER)
                .map_err(|e| self.bus_error(e))?;
            Some(
                folder::Folder::start(
                    Arc::downgrade(&self.inner),
                    consumer,
                    options.rules.clone(),
                    options.folder_batch,
                    promotion.clone(),
                )
                .map_err(|source| Error::Io {
                    path: format!("{}: promotion folder thread", self.inner.name),
                    source,
                })?,
            )
        };
        let bus = Arc::new(Bus {
            stream,
            folder: Mutex::new(folder),
            promotion,
        });
        *slot = Some(bus.clone());
        Ok(bus)
    }

    /// The namespace's raw-event stream (opened on first use), for
    /// consumers, proofs over its shards and its counters.
    pub fn events(&self) -> Result<Stream> {
        self.check_open()?;
        Ok(self.bus()?.stream.clone())
    }

    fn to_bus_event<'a>(&self, stream: &Stream, event: &RawEvent<'a>) -> Result<BusEvent<'a>> {
        let kind = stream.type_id(event.kind).map_err(|e| self.bus_error(e))?;
        let time_nanos = match event.at {
            None => 0,
            Some(Timestamp(t)) if t > 0 => t as u64,
            Some(Timestamp(t)) => {
                return Err(self.invalid(
                    "at",
                    format!("event time must be after 1970-01-01, got {t} ns"),
                ));
            }
        };
        Ok(BusEvent {
            kind,
            producer: event.producer,
            time_nanos,
            payload: event.payload,
        })
    }

    /// Ingests one raw event and returns once it is written to the stream
    /// (durable, under the stream's default `SyncPolicy::Always`): then it
    /// is acknowledged. Returns whether it was accepted (`false`: the
    /// stream's backpressure dropped it).
    pub fn ingest(&self, event: &RawEvent<'_>) -> Result<bool> {
        Ok(self.ingest_batch(std::slice::from_ref(event))?.accepted == 1)
    }

    /// Ingests raw events and returns once all of them are written (group
    /// commit: one sync covers the whole batch and whatever other producers
    /// added meanwhile). Every event is checked first (type name, size,
    /// time): a bad one fails the call naming its index, and nothing is
    /// enqueued. Under `error` backpressure a full ring fails the call after
    /// the events before it were enqueued and written; the error says how
    /// many.
    pub fn ingest_batch(&self, events: &[RawEvent<'_>]) -> Result<Ingested> {
        self.check_open()?;
        let bus = self.bus()?;
        let stream = &bus.stream;
        let mut converted = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            converted.push(self.to_bus_event(stream, event).map_err(|e| match e {
                Error::Invalid {
                    namespace,
                    field,
                    reason,
                } => Error::Invalid {
                    namespace,
                    field,
                    reason: format!("event {i} of the batch: {reason}"),
                },
                other => other,
            })?);
        }
        let receipt: Receipt = match stream.publish_batch(&converted) {
            Ok(receipt) => receipt,
            Err(batch) => {
                // What went in before the refusal is still made durable, so
                // the caller can trust the count it is given.
                stream
                    .wait_receipt(&batch.receipt)
                    .map_err(|e| self.bus_error(e))?;
                return Err(match batch.error {
                    mnemo_bus::Error::Closed(_) => Error::Closed(self.inner.name.clone()),
                    source => Error::Ingest {
                        namespace: self.inner.name.clone(),
                        accepted: batch.receipt.accepted,
                        source,
                    },
                });
            }
        };
        stream
            .wait_receipt(&receipt)
            .map_err(|e| self.bus_error(e))?;
        Ok(Ingested {
            accepted: receipt.accepted,
            dropped: receipt.dropped,
        })
    }

    /// Publishes one raw event without waiting for it to be written (the
    /// firehose path): returns as soon as the ring took it. Not yet
    /// acknowledged; [`Stream::wait`] on the ticket (from
    /// [`events`](Self::events)) or [`Stream::flush`] makes it so.
    pub fn ingest_nowait(&self, event: &RawEvent<'_>) -> Result<Published> {
        let bus = self.bus()?;
        let event = self.to_bus_event(&bus.stream, event)?;
        bus.stream.publish(&event).map_err(|e| self.bus_error(e))
    }

    /// The stream's counters and the promotion folder's progress, or `None`
    /// while the namespace has no stream open (nothing ingested yet, and no
    /// stream on disk).
    pub fn ingest_stats(&self) -> Option<(StreamStats, PromotionStats)> {
        let bus = self.inner.events.bus.lock().clone()?;
        Some((bus.stream.stats(), bus.promotion.snapshot()))
    }

    /// Waits until the promotion folder has handled every event written so
    /// far, at most `timeout`; returns whether it caught up.
    pub fn wait_for_promotion(&self, timeout: Duration) -> Result<bool> {
        let bus = self.bus()?;
        if bus.folder.lock().is_none() {
            return Ok(true);
        }
        let deadline = std::time::Instant::now() + timeout;
        let targets: Vec<u64> = bus
            .stream
            .stats()
            .shards
            .iter()
            .map(|s| s.log_records)
            .collect();
        loop {
            if bus.promotion.reached(&targets) {
                return Ok(true);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}
