//! # mnemo-bus
//!
//! A sharded in-process event bus in front of `mnemo-log`: the cheap path
//! for the raw events agents produce far more of than memories (tool calls,
//! observations, token streams, sensor readings, messages between agents).
//!
//! ```
//! use mnemo_bus::{Event, Published, Stream, StreamConfig};
//!
//! let stream = Stream::in_memory("agent-7", StreamConfig::default().types(["tool_result"]))?;
//! let kind = stream.type_id("tool_result")?;
//! let event = Event { kind, producer: 1, time_nanos: 0, payload: br#"{"tool":"search","ok":true}"# };
//! let Published::Accepted(ticket) = stream.publish(&event)? else { unreachable!("block never drops") };
//! stream.wait(ticket)?; // written (and durable, under SyncPolicy::Always)
//! let mut tail = stream.consumer("reader")?;
//! let poll = tail.poll_now(10)?;
//! assert_eq!(&poll.events[0].payload[..], event.payload);
//! stream.close()?;
//! # Ok::<(), mnemo_bus::Error>(())
//! ```
//!
//! ## How the pieces fit
//!
//! - A [`Stream`] (one per name, usually one or a few per namespace) has a
//!   fixed number of **shards**. An event goes to the shard its producer id
//!   hashes to, so one producer's events stay in order.
//! - Each shard is a bounded lock-free [`ring`] of 128-byte slots and one
//!   **writer thread** that drains the ring in batches into the shard's own
//!   `mnemo-log` log ([`record`] gives the record format). The log's
//!   checksums, Merkle tree and proofs cover every event like any record.
//! - Producers [`publish`](Stream::publish) (or
//!   [`publish_batch`](Stream::publish_batch)) and get a [`Ticket`] back at
//!   once; [`Stream::wait`] on it returns when the writer has appended the
//!   event, after the sync under `SyncPolicy::Always`. One sync covers
//!   a whole drained batch: group commit. An event is **acknowledged** when
//!   that wait returns.
//! - When a ring is full, the stream's [`Backpressure`] decides: `block`
//!   (wait, bounded), `drop_newest`, `drop_oldest`, `sample(n)` or `error`.
//!   [`StreamStats`] counts everything admitted, dropped, refused and
//!   written.
//! - [`Consumer`]s tail the shards' logs from cursors that survive restarts
//!   ([`consumer`]).
//!
//! ## Bounds
//!
//! A shard's memory is its ring (`ring_capacity` × 128 bytes) plus the
//! payloads larger than 96 bytes it holds (each at most `max_event_bytes`)
//! plus one writer batch (`max_batch` events). A consumer holds one poll.
//! Nothing else grows with load.
//!
//! ## On disk
//!
//! `DIR/STREAM` is the manifest (shard count and the type table, see
//! `manifest.rs`), `DIR/shard-NNN/` the shards' logs, and
//! `DIR/consumers/NAME` each consumer's committed cursors. The manifest and
//! the cursors are small text files with a checksum, replaced atomically.

pub mod config;
pub mod consumer;
mod error;
mod files;
mod manifest;
pub mod record;
pub mod ring;
mod shard;
mod stats;
mod stream;

pub use config::{Backpressure, StreamConfig};
pub use consumer::{Consumer, Delivered, Missed, Poll};
pub use error::{Error, Result};
pub use mnemo_log::{Retention, SyncPolicy};
pub use stats::{ShardStats, StreamStats};
pub use stream::{BatchError, Dropped, Event, Published, Receipt, Stream, Ticket};
