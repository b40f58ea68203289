//! The namespace's raw-event API: [`Namespace::ingest`],
//! [`Namespace::ingest_batch`], its stream ([`Namespace::events`]) and the
//! promotion folder's progress. The stream, its options and the folder are
//! in [`crate::ingest`]; this module gives the namespace the methods.

use std::sync::{Arc, Weak};
use std::time::Duration;

use mnemo_bus::{Event as BusEvent, Published, Receipt, Stream};

use crate::error::{Error, Result};
use crate::ingest::{
    Bus, Ingested, PromotionStats, RawEvent, Sink, StreamStats, bus_error, stream_dir,
};
use crate::input::{Limits, NewMemory};
use crate::model::Timestamp;
use crate::namespace::{Inner, Namespace};

impl Sink for Inner {
    fn remember(self: Arc<Self>, memories: Vec<NewMemory>) -> Result<()> {
        Namespace { inner: self }
            .remember_batch(memories)
            .map(|_| ())
    }

    fn limits(&self) -> Limits {
        Limits {
            max_content_bytes: self.options.max_content_bytes,
            dimension: Some(self.embedder.dimension),
        }
    }
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
        bus_error(&self.inner.name, source)
    }

    /// The namespace's bus, opened on first use.
    pub(crate) fn bus(&self) -> Result<Arc<Bus>> {
        let sink: Weak<dyn Sink> = Arc::downgrade(&self.inner) as Weak<Inner>;
        self.inner.events.open(
            &self.inner.name,
            self.inner.dir.as_deref(),
            &self.inner.options.ingest,
            sink,
        )
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
        let bus = self.inner.events.get()?;
        Some((bus.stream.stats(), bus.promotion.snapshot()))
    }

    /// Waits until the promotion folder has handled every event written so
    /// far, at most `timeout`; returns whether it caught up.
    pub fn wait_for_promotion(&self, timeout: Duration) -> Result<bool> {
        let bus = self.bus()?;
        if !bus.promotes() {
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
