//! What a stream reports about itself: per shard, what was admitted,
//! dropped, refused, written and made durable.

use std::sync::atomic::Ordering;

use crate::config::Backpressure;
use crate::shard::Shard;

/// Counters and positions of one shard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardStats {
    /// The shard's index.
    pub shard: usize,
    /// Events admitted to the ring since the stream opened.
    pub accepted: u64,
    /// Events queued in the ring now.
    pub queued: u64,
    /// The ring's capacity.
    pub capacity: u64,
    /// Events dropped because the ring was full (`drop_newest`, or a kept
    /// sample finding no room).
    pub dropped_newest: u64,
    /// Queued events evicted for newer ones (`drop_oldest`).
    pub dropped_oldest: u64,
    /// Events `sample(n)` left out.
    pub sampled_out: u64,
    /// Publishes refused with `Full` (`error`).
    pub rejected: u64,
    /// Publishes that had to wait for room (`block`).
    pub blocked: u64,
    /// Blocked publishes that gave up after the block timeout.
    pub timed_out: u64,
    /// Events the writer appended since the stream opened.
    pub written: u64,
    /// Batches the writer appended (one sync each under `Always`).
    pub batches: u64,
    /// Records in the shard's log (all time, including earlier runs).
    pub log_records: u64,
    /// Records of the shard's log known to be durable.
    pub durable_records: u64,
    /// First record still kept by retention.
    pub first_record: u64,
    /// Whether the shard failed (its writer stopped after an I/O error).
    pub failed: bool,
}

impl ShardStats {
    pub(crate) fn of(shard: &Shard) -> ShardStats {
        let c = &shard.counters;
        let log = shard.log.stats();
        ShardStats {
            shard: shard.index,
            accepted: shard.ring.tail_position(),
            queued: shard.ring.len() as u64,
            capacity: shard.ring.capacity() as u64,
            dropped_newest: c.dropped_newest.load(Ordering::Relaxed),
            dropped_oldest: c.dropped_oldest.load(Ordering::Relaxed),
            sampled_out: c.sampled_out.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            blocked: c.blocked.load(Ordering::Relaxed),
            timed_out: c.timed_out.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            log_records: log.next_seq,
            durable_records: log.durable_seq,
            first_record: log.first_seq,
            failed: shard.failed.load(Ordering::Relaxed),
        }
    }
}

/// Counters and positions of a whole stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStats {
    /// The stream's name.
    pub name: String,
    /// Its backpressure mode.
    pub backpressure: Backpressure,
    /// One entry per shard.
    pub shards: Vec<ShardStats>,
}

impl StreamStats {
    /// The sum of every shard's counters (positions summed too; `shard` is
    /// the shard count, `failed` whether any failed).
    pub fn total(&self) -> ShardStats {
        let mut t = ShardStats {
            shard: self.shards.len(),
            ..ShardStats::default()
        };
        for s in &self.shards {
            t.accepted += s.accepted;
            t.queued += s.queued;
            t.capacity += s.capacity;
            t.dropped_newest += s.dropped_newest;
            t.dropped_oldest += s.dropped_oldest;
            t.sampled_out += s.sampled_out;
            t.rejected += s.rejected;
            t.blocked += s.blocked;
            t.timed_out += s.timed_out;
            t.written += s.written;
            t.batches += s.batches;
            t.log_records += s.log_records;
            t.durable_records += s.durable_records;
            t.first_record += s.first_record;
            t.failed |= s.failed;
        }
        t
    }
}
