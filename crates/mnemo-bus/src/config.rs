//! A stream's configuration and its backpressure modes.

use std::str::FromStr;
use std::time::Duration;

use mnemo_log::{Retention, SyncPolicy};

use crate::error::{Error, Result};

/// What a producer's publish does when its shard's ring is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backpressure {
    /// The producer waits for room, at most [`StreamConfig::block_timeout`];
    /// after that the publish fails with [`Error::Timeout`] and the event is
    /// not enqueued. Nothing is dropped.
    Block,
    /// The new event is dropped (counted in `dropped_newest`); the publish
    /// reports it as dropped.
    DropNewest,
    /// The oldest queued event is dropped to make room for the new one
    /// (counted in `dropped_oldest`).
    DropOldest,
    /// While the ring is at least half full, only every `n`-th event offered
    /// to the shard is enqueued and the others are dropped (counted in
    /// `sampled_out`); an event the sample keeps that finds the ring
    /// completely full is dropped too (counted in `dropped_newest`).
    Sample(u32),
    /// The publish fails at once with [`Error::Full`]; nothing is enqueued,
    /// and the producer decides (counted in `rejected`).
    Error,
}

impl std::fmt::Display for Backpressure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backpressure::Block => f.write_str("block"),
            Backpressure::DropNewest => f.write_str("drop_newest"),
            Backpressure::DropOldest => f.write_str("drop_oldest"),
            Backpressure::Sample(n) => write!(f, "sample({n})"),
            Backpressure::Error => f.write_str("error"),
        }
    }
}

impl FromStr for Backpressure {
    type Err = Error;

    /// Parses `block`, `drop_newest`, `drop_oldest`, `sample(N)` (N ≥ 1) or
    /// `error`.
    fn from_str(text: &str) -> Result<Self> {
        let text = text.trim();
        match text {
            "block" => return Ok(Backpressure::Block),
            "drop_newest" => return Ok(Backpressure::DropNewest),
            "drop_oldest" => return Ok(Backpressure::DropOldest),
            "error" => return Ok(Backpressure::Error),
            _ => {}
        }
        if let Some(n) = text
            .strip_prefix("sample(")
            .and_then(|rest| rest.strip_suffix(')'))
        {
            return match n.trim().parse::<u32>() {
                Ok(n) if n >= 1 => Ok(Backpressure::Sample(n)),
                _ => Err(Error::Config(format!(
                    "backpressure {text:?}: sample(N) needs a whole number N >= 1"
                ))),
            };
        }
        Err(Error::Config(format!(
            "unknown backpressure {text:?} (expected block, drop_newest, drop_oldest, sample(N) or error)"
        )))
    }
}

/// Configuration of a [`Stream`](crate::Stream).
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Shards of a new stream (an existing stream keeps the count it was
    /// created with; a different value here is an error). Default 2.
    pub shards: usize,
    /// Slots per shard ring (rounded up to a power of two). Each slot takes
    /// 128 bytes, plus the payload of events larger than 96 bytes. Default
    /// 16,384.
    pub ring_capacity: usize,
    /// What a publish does when its shard's ring is full. Default
    /// [`Backpressure::Block`].
    pub backpressure: Backpressure,
    /// How long a blocked producer waits at most. Default 5 s.
    pub block_timeout: Duration,
    /// When a written event is durable, and so when a wait for it returns
    /// (group commit: one sync covers a whole drained batch). Default
    /// [`SyncPolicy::Always`].
    pub sync: SyncPolicy,
    /// Largest event payload. Default 64 KiB; at most 16 MiB.
    pub max_event_bytes: usize,
    /// Events a shard's writer appends to its log in one batch at most.
    /// Default 4,096.
    pub max_batch: usize,
    /// Event types the stream accepts (their ids are assigned in order and
    /// kept in the manifest).
    pub types: Vec<String>,
    /// Whether an undeclared type is registered on first use instead of
    /// refused. Default false.
    pub open_types: bool,
    /// Segment size of each shard's log. Default 64 MiB.
    pub segment_bytes: u64,
    /// How much of each shard's log is kept (whole segments leave from the
    /// head). Default: everything. A consumer whose unread events were
    /// removed is told how many it missed and resumes at the oldest kept.
    pub retention: Retention,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            shards: 2,
            ring_capacity: 16_384,
            backpressure: Backpressure::Block,
            block_timeout: Duration::from_secs(5),
            sync: SyncPolicy::Always,
            max_event_bytes: 64 * 1024,
            max_batch: 4096,
            types: Vec::new(),
            open_types: false,
            segment_bytes: 64 * 1024 * 1024,
            retention: Retention::forever(),
        }
    }
}

/// Largest number of shards a stream may have.
pub const MAX_SHARDS: usize = 256;
/// Largest ring a shard may have (slots).
pub const MAX_RING_CAPACITY: usize = 1 << 24;
/// Largest event payload any stream accepts.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;
/// Largest number of event types in one stream.
pub const MAX_TYPES: usize = 4096;

impl StreamConfig {
    /// Declares the event types the stream accepts.
    pub fn types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the backpressure mode.
    pub fn backpressure(mut self, mode: Backpressure) -> Self {
        self.backpressure = mode;
        self
    }

    /// Sets the number of shards of a new stream.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = shards;
        self
    }

    /// Sets the ring capacity per shard.
    pub fn ring_capacity(mut self, slots: usize) -> Self {
        self.ring_capacity = slots;
        self
    }

    /// Sets the durability policy.
    pub fn sync(mut self, policy: SyncPolicy) -> Self {
        self.sync = policy;
        self
    }

    /// Sets the block timeout.
    pub fn block_timeout(mut self, timeout: Duration) -> Self {
        self.block_timeout = timeout;
        self
    }

    /// Lets undeclared types register on first use.
    pub fn open_types(mut self, open: bool) -> Self {
        self.open_types = open;
        self
    }

    /// Checks every field against its bounds.
    pub fn validate(&self) -> Result<()> {
        if self.shards == 0 || self.shards > MAX_SHARDS {
            return Err(Error::Config(format!(
                "shards must be 1..={MAX_SHARDS}, got {}",
                self.shards
            )));
        }
        if self.ring_capacity < 2 || self.ring_capacity > MAX_RING_CAPACITY {
            return Err(Error::Config(format!(
                "ring_capacity must be 2..={MAX_RING_CAPACITY}, got {}",
                self.ring_capacity
            )));
        }
        if self.max_event_bytes == 0 || self.max_event_bytes > MAX_EVENT_BYTES {
            return Err(Error::Config(format!(
                "max_event_bytes must be 1..={MAX_EVENT_BYTES}, got {}",
                self.max_event_bytes
            )));
        }
        if self.max_batch == 0 {
            return Err(Error::Config("max_batch must be at least 1".into()));
        }
        if self.block_timeout.is_zero() {
            return Err(Error::Config(
                "block_timeout must be positive (use backpressure `error` not to wait)".into(),
            ));
        }
        if let Backpressure::Sample(0) = self.backpressure {
            return Err(Error::Config("sample(N) needs N >= 1".into()));
        }
        if self.types.len() > MAX_TYPES {
            return Err(Error::Config(format!(
                "at most {MAX_TYPES} event types, got {}",
                self.types.len()
            )));
        }
        for name in &self.types {
            validate_name("event type", name)?;
        }
        Ok(())
    }
}

/// Checks a type, stream or consumer name: 1 to 64 bytes of ASCII letters,
/// digits, `_`, `-` and `.`.
pub fn validate_name(what: &'static str, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("must not be empty")
    } else if name.len() > 64 {
        Some("must be at most 64 bytes")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        Some("may hold only ASCII letters, digits, '_', '-' and '.'")
    } else if name.starts_with('.') {
        Some("must not start with '.'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidName {
            what,
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backpressure_parses_and_prints_every_mode() {
        for mode in [
            Backpressure::Block,
            Backpressure::DropNewest,
            Backpressure::DropOldest,
            Backpressure::Sample(7),
            Backpressure::Error,
        ] {
            assert_eq!(
                mode.to_string().parse::<Backpressure>().expect("test step"),
                mode
            );
        }
        for bad in ["", "drop", "sample(0)", "sample(x)", "sample(3", "BLOCK"] {
            assert!(bad.parse::<Backpressure>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn bounds_are_checked() {
        assert!(StreamConfig::default().validate().is_ok());
        assert!(StreamConfig::default().shards(0).validate().is_err());
        assert!(StreamConfig::default().ring_capacity(1).validate().is_err());
        assert!(
            StreamConfig::default()
                .block_timeout(Duration::ZERO)
                .validate()
                .is_err()
        );
        assert!(
            StreamConfig::default()
                .types(["ok", "not ok"])
                .validate()
                .is_err()
        );
        assert!(validate_name("consumer", "../x").is_err());
        assert!(validate_name("consumer", "tail-1.a_b").is_ok());
    }
}
