//! Log configuration: segment size, durability and retention.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::format::{MAX_PAYLOAD_LEN_FORMAT, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};

/// When appended records are forced to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Never sync implicitly; records reach the OS when the write buffer
    /// fills, on roll, and on [`Log::sync`](crate::Log::sync) / close.
    Never,
    /// `append*` returns only after the records are durable (`fdatasync`).
    /// Concurrent appenders share one sync (group commit).
    Always,
    /// Sync after every `n` records (the appender that crosses the
    /// threshold performs the sync before returning).
    EveryN(u64),
    /// Sync at most this long after a record was appended: a background
    /// thread syncs pending records once per interval (native only; in
    /// WebAssembly the first append after the interval syncs).
    Interval(Duration),
}

/// Which records the log may drop from its head. Whole segments are removed,
/// oldest first, and never the segment being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    /// Keep at least this many records; the oldest segment is removed once
    /// the records after it number at least this many.
    pub max_records: Option<u64>,
    /// Keep at least this many bytes of segment files; the oldest segment is
    /// removed once the segments after it hold at least this many bytes.
    pub max_bytes: Option<u64>,
    /// Remove a segment once its newest record is older than this.
    pub max_age: Option<Duration>,
}

impl Retention {
    /// Keeps everything forever (the default).
    pub fn forever() -> Self {
        Self::default()
    }

    /// Whether any limit is set.
    pub fn is_bounded(&self) -> bool {
        self.max_records.is_some() || self.max_bytes.is_some() || self.max_age.is_some()
    }
}

/// Configuration of a [`Log`](crate::Log).
#[derive(Clone)]
pub struct Config {
    /// A segment is sealed and a new one started once it would exceed this
    /// size (a single record larger than the rest of a segment still gets a
    /// segment of its own). Default 64 MiB.
    pub segment_bytes: u64,
    /// Largest accepted payload. Default 16 MiB. Larger payloads are refused
    /// with [`Error::RecordTooLarge`](crate::Error::RecordTooLarge).
    pub max_record_bytes: usize,
    /// Durability policy. Default [`SyncPolicy::Never`].
    pub sync: SyncPolicy,
    /// Bytes appended in memory before they are written to the segment file
    /// (under `Never`, `EveryN` and `Interval`). Default 256 KiB.
    pub write_buffer_bytes: usize,
    /// Retention limits. Default: keep everything.
    pub retention: Retention,
    /// Number of batches a subscriber may have queued before it is marked
    /// lagged and its queue is dropped. Default 1024.
    pub subscriber_queue_batches: usize,
    /// Source of record timestamps.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("segment_bytes", &self.segment_bytes)
            .field("max_record_bytes", &self.max_record_bytes)
            .field("sync", &self.sync)
            .field("write_buffer_bytes", &self.write_buffer_bytes)
            .field("retention", &self.retention)
            .field("subscriber_queue_batches", &self.subscriber_queue_batches)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            segment_bytes: 64 * 1024 * 1024,
            max_record_bytes: 16 * 1024 * 1024,
            sync: SyncPolicy::Never,
            write_buffer_bytes: 256 * 1024,
            retention: Retention::default(),
            subscriber_queue_batches: 1024,
            clock: Arc::new(SystemClock),
        }
    }
}

impl Config {
    /// Sets the durability policy.
    pub fn sync(mut self, policy: SyncPolicy) -> Self {
        self.sync = policy;
        self
    }

    /// Sets the segment size.
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes;
        self
    }

    /// Sets the largest accepted payload.
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Sets the retention limits.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Sets the clock that stamps records.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the per-subscriber queue bound, in batches.
    pub fn subscriber_queue_batches(mut self, batches: usize) -> Self {
        self.subscriber_queue_batches = batches;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let min_segment = (SEGMENT_HEADER_LEN + RECORD_HEADER_LEN) as u64;
        if self.segment_bytes < min_segment {
            return Err(Error::Config(format!(
                "segment_bytes must be at least {min_segment}, got {}",
                self.segment_bytes
            )));
        }
        if self.segment_bytes > (1 << 40) {
            return Err(Error::Config(format!(
                "segment_bytes must be at most 1 TiB, got {}",
                self.segment_bytes
            )));
        }
        // Always false where usize is 32 bits (wasm32): the format's limit
        // is u32::MAX.
        #[allow(clippy::absurd_extreme_comparisons)]
        if self.max_record_bytes > MAX_PAYLOAD_LEN_FORMAT {
            return Err(Error::Config(format!(
                "max_record_bytes must be at most {MAX_PAYLOAD_LEN_FORMAT}, got {}",
                self.max_record_bytes
            )));
        }
        if let SyncPolicy::EveryN(0) = self.sync {
            return Err(Error::Config("SyncPolicy::EveryN(0) is not allowed".into()));
        }
        if let SyncPolicy::Interval(d) = self.sync
            && d.is_zero()
        {
            return Err(Error::Config(
                "SyncPolicy::Interval must be longer than zero".into(),
            ));
        }
        if self.subscriber_queue_batches == 0 {
            return Err(Error::Config(
                "subscriber_queue_batches must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
