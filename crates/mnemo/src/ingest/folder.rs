//! The promotion folder: a thread that tails the namespace's stream and
//! writes the memories its rules ask for.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mnemo_bus::{Consumer, Delivered};
use parking_lot::Mutex;
use serde_json::Value as Json;

use super::Sink;
use super::rules::{PromotionRule, render, tag_of};
use crate::error::Error;
use crate::input::NewMemory;
use crate::model::{Metadata, Timestamp, Value};

/// The consumer name the folder reads as.
pub(crate) const CONSUMER: &str = "promotion";
/// How long one poll waits for events (and so how soon a stop is seen).
const POLL_WAIT: Duration = Duration::from_millis(50);
/// The cursor is committed after this many events or this much time.
const COMMIT_EVENTS: u64 = 8192;
const COMMIT_EVERY: Duration = Duration::from_millis(200);
/// Pause before retrying after a failed write.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// What the folder has done (shared with the namespace).
#[derive(Debug, Default)]
pub(crate) struct Progress {
    promoted: AtomicU64,
    unmatched: AtomicU64,
    rejected: AtomicU64,
    errors: AtomicU64,
    lag: AtomicU64,
    running: AtomicBool,
    cursors: Mutex<Vec<u64>>,
    last_error: Mutex<Option<String>>,
}

/// A snapshot of the promotion folder's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromotionStats {
    /// Whether a folder runs (the namespace has rules).
    pub running: bool,
    /// Events that became (or updated) memories.
    pub promoted: u64,
    /// Events no rule matched.
    pub unmatched: u64,
    /// Events a rule matched whose memory was invalid (too long a tag, an
    /// empty content, ...); see `last_error`.
    pub rejected: u64,
    /// Failed writes of promoted memories (retried).
    pub errors: u64,
    /// Written events the folder has not handled yet.
    pub lag_events: u64,
    /// The folder's position in each shard.
    pub cursors: Vec<u64>,
    /// The last rejection or error.
    pub last_error: Option<String>,
}

impl Progress {
    pub fn snapshot(&self) -> PromotionStats {
        PromotionStats {
            running: self.running.load(Ordering::Relaxed),
            promoted: self.promoted.load(Ordering::Relaxed),
            unmatched: self.unmatched.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            lag_events: self.lag.load(Ordering::Relaxed),
            cursors: self.cursors.lock().clone(),
            last_error: self.last_error.lock().clone(),
        }
    }

    /// Whether the folder's cursors have reached these per-shard positions.
    pub fn reached(&self, targets: &[u64]) -> bool {
        let cursors = self.cursors.lock();
        cursors.len() == targets.len() && cursors.iter().zip(targets).all(|(c, t)| c >= t)
    }

    fn note_error(&self, counter: &AtomicU64, message: String) {
        counter.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock() = Some(message);
    }
}

/// A running folder thread.
pub(crate) struct Folder {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Folder {
    pub fn start(
        namespace: Weak<dyn Sink>,
        consumer: Consumer,
        rules: Vec<PromotionRule>,
        batch: usize,
        progress: Arc<Progress>,
    ) -> std::io::Result<Folder> {
        let stop = Arc::new(AtomicBool::new(false));
        progress.running.store(true, Ordering::Relaxed);
        *progress.cursors.lock() = consumer.cursors().to_vec();
        let handle = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("mnemo-promotion".into())
                .spawn(move || {
                    run(namespace, consumer, &rules, batch, &progress, &stop);
                    progress.running.store(false, Ordering::Relaxed);
                })?
        };
        Ok(Folder {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops the thread after its current poll and waits for it (unless
    /// called from the thread itself, which then stops on its own).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.take()
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
    }
}

fn run(
    namespace: Weak<dyn Sink>,
    mut consumer: Consumer,
    rules: &[PromotionRule],
    batch: usize,
    progress: &Progress,
    stop: &AtomicBool,
) {
    let mut uncommitted = 0u64;
    let mut last_commit = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let before = consumer.cursors().to_vec();
        let poll = match consumer.poll(batch, POLL_WAIT) {
            Ok(poll) => poll,
            Err(e) => {
                progress.note_error(&progress.errors, format!("reading the stream: {e}"));
                std::thread::sleep(RETRY_AFTER);
                continue;
            }
        };
        if !poll.events.is_empty() {
            let Some(sink) = namespace.upgrade() else {
                return;
            };
            match promote(sink, rules, &poll.events, progress) {
                Ok(()) => uncommitted += poll.events.len() as u64,
                Err(Error::Closed(_)) => return,
                Err(e) => {
                    progress.note_error(&progress.errors, format!("writing memories: {e}"));
                    // Read the same events again after a pause.
                    for (shard, seq) in before.into_iter().enumerate() {
                        let _ = consumer.seek(shard, seq);
                    }
                    std::thread::sleep(RETRY_AFTER);
                    continue;
                }
            }
        }
        if uncommitted > 0
            && (uncommitted >= COMMIT_EVENTS
                || last_commit.elapsed() >= COMMIT_EVERY
                || poll.events.is_empty())
        {
            match consumer.commit() {
                Ok(()) => {
                    uncommitted = 0;
                    last_commit = Instant::now();
                }
                Err(e) => {
                    progress.note_error(&progress.errors, format!("committing the cursor: {e}"))
                }
            }
        }
        *progress.cursors.lock() = consumer.cursors().to_vec();
        progress.lag.store(consumer.lag(), Ordering::Relaxed);
    }
    if uncommitted > 0 {
        let _ = consumer.commit();
    }
}

/// Applies the rules to a poll's events and writes the memories.
fn promote(
    sink: Arc<dyn Sink>,
    rules: &[PromotionRule],
    events: &[Delivered],
    progress: &Progress,
) -> crate::Result<()> {
    let limits = sink.limits();
    let mut memories = Vec::new();
    for event in events {
        let payload: Option<Json> = serde_json::from_slice::<Json>(&event.payload)
            .ok()
            .filter(Json::is_object);
        let Some(rule) = rules
            .iter()
            .find(|r| r.takes(&event.type_name) && r.when.holds(payload.as_ref()))
        else {
            progress.unmatched.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let memory = memory_of(rule, event, payload.as_ref());
        match memory.validate(&limits) {
            Ok(()) => memories.push(memory),
            Err(e) => progress.note_error(
                &progress.rejected,
                format!(
                    "rule {} on event {}/{}: {}: {}",
                    rule.name, event.shard, event.seq, e.field, e.reason
                ),
            ),
        }
    }
    if !memories.is_empty() {
        let n = memories.len() as u64;
        sink.remember(memories)?;
        progress.promoted.fetch_add(n, Ordering::Relaxed);
    }
    Ok(())
}

/// The memory a rule writes for an event.
fn memory_of(rule: &PromotionRule, event: &Delivered, payload: Option<&Json>) -> NewMemory {
    let content = render(&rule.content, &event.type_name, &event.payload, payload);
    let mut tags = rule.tags.clone();
    tags.extend(rule.tag_fields.iter().filter_map(|f| tag_of(payload, f)));
    let mut metadata = Metadata::new();
    metadata.insert(
        "event_type".into(),
        Value::Text(event.type_name.to_string()),
    );
    metadata.insert("event_shard".into(), Value::Int(event.shard as i64));
    metadata.insert("event_seq".into(), Value::Int(event.seq as i64));
    metadata.insert("producer".into(), Value::Text(event.producer.to_string()));
    metadata.insert("promoted_by".into(), Value::Text(rule.name.clone()));
    let mut memory = NewMemory::new(content).key(format!("event/{}/{}", event.shard, event.seq));
    memory.kind = rule.kind;
    memory.tags = tags;
    memory.source = rule
        .source
        .as_ref()
        .map(|t| render(t, &event.type_name, &event.payload, payload))
        .filter(|s| !s.is_empty());
    memory.metadata = metadata;
    memory.importance = rule.importance;
    memory.at = Some(Timestamp(
        i64::try_from(event.time_or_recorded()).unwrap_or(i64::MAX),
    ));
    memory
}
