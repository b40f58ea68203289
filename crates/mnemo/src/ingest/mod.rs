//! Raw events beside the memories: a namespace's `mnemo-bus` stream and the
//! background folder that promotes selected events into memories.
//!
//! [`Namespace::ingest`](crate::Namespace::ingest) and
//! [`Namespace::ingest_batch`](crate::Namespace::ingest_batch) are the cheap path
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
//! [`Namespace::remember_batch`](crate::Namespace::remember_batch) and then
//! commits its cursor. The bus never waits for it: a slow folder only grows
//! its lag, which [`Namespace::ingest_stats`](crate::Namespace::ingest_stats)
//! reports. Each promoted memory carries the
//! client key `event/SHARD/SEQ`, so an event promoted again after a crash
//! (between the memories' write and the cursor's commit) lands in the same
//! memory instead of a duplicate.

mod folder;
pub mod rules;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mnemo_bus::Stream;
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::input::{Limits, NewMemory};
use crate::model::Timestamp;

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

/// Where promoted memories go: the namespace (implemented above this
/// module, so the folder needs no handle on the namespace's type).
pub(crate) trait Sink: Send + Sync {
    /// Writes a batch of memories (as `Namespace::remember_batch`).
    fn remember(self: Arc<Self>, memories: Vec<NewMemory>) -> Result<()>;
    /// The namespace's input limits.
    fn limits(&self) -> Limits;
}

/// A namespace's stream and folder, once opened.
pub(crate) struct Bus {
    pub stream: Stream,
    folder: Mutex<Option<folder::Folder>>,
    pub promotion: Arc<folder::Progress>,
}

impl Bus {
    /// Whether a promotion folder runs.
    pub fn promotes(&self) -> bool {
        self.folder.lock().is_some()
    }
}

/// The namespace's slot for its bus (opened at most once).
#[derive(Default)]
pub(crate) struct Events {
    bus: Mutex<Option<Arc<Bus>>>,
    closed: AtomicBool,
}

impl Events {
    /// The bus, if it is open.
    pub fn get(&self) -> Option<Arc<Bus>> {
        self.bus.lock().clone()
    }

    /// The bus, opened (stream and folder) on first use. `dir` is the
    /// namespace's directory (`None` in memory); promoted memories go to
    /// `sink`.
    pub fn open(
        &self,
        namespace: &str,
        dir: Option<&Path>,
        options: &IngestOptions,
        sink: std::sync::Weak<dyn Sink>,
    ) -> Result<Arc<Bus>> {
        let mut slot = self.bus.lock();
        if let Some(bus) = slot.as_ref() {
            return Ok(bus.clone());
        }
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed(namespace.to_owned()));
        }
        options.validate().map_err(|reason| Error::Invalid {
            namespace: namespace.to_owned(),
            field: "ingest options",
            reason,
        })?;
        let bus_error = |source| bus_error(namespace, source);
        let stream = match dir {
            Some(dir) => Stream::open(stream_dir(dir), "events", options.stream.clone()),
            None => Stream::in_memory("events", options.stream.clone()),
        }
        .map_err(bus_error)?;
        let promotion = Arc::new(folder::Progress::default());
        let folder = if options.rules.is_empty() {
            None
        } else {
            let consumer = stream.consumer(folder::CONSUMER).map_err(bus_error)?;
            Some(
                folder::Folder::start(
                    sink,
                    consumer,
                    options.rules.clone(),
                    options.folder_batch,
                    promotion.clone(),
                )
                .map_err(|source| Error::Io {
                    path: format!("{namespace}: promotion folder thread"),
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
pub(crate) fn stream_dir(ns_dir: &Path) -> std::path::PathBuf {
    ns_dir.join("events")
}

/// The engine's error for a refusal of the stream.
pub(crate) fn bus_error(namespace: &str, source: mnemo_bus::Error) -> Error {
    match source {
        mnemo_bus::Error::Closed(_) => Error::Closed(namespace.to_owned()),
        source => Error::Ingest {
            namespace: namespace.to_owned(),
            accepted: 0,
            source,
        },
    }
}
