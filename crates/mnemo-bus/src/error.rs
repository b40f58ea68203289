//! The bus's error type.

use std::time::Duration;

/// Why a bus operation failed. Every variant names what was wrong; none
/// leaves anything half done (a refused event was not enqueued).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The shard's ring is full and the stream's backpressure is `error`.
    #[error("stream {stream}: shard {shard} is full ({capacity} events queued); retry later")]
    Full {
        /// The stream's name.
        stream: String,
        /// The full shard.
        shard: usize,
        /// The ring's capacity in events.
        capacity: usize,
    },
    /// Under `block`, the ring stayed full for the whole block timeout.
    #[error(
        "stream {stream}: shard {shard} stayed full for {waited:?} (block timeout); the event was not enqueued"
    )]
    Timeout {
        /// The stream's name.
        stream: String,
        /// The full shard.
        shard: usize,
        /// How long the producer waited.
        waited: Duration,
    },
    /// The event's payload is larger than the stream's `max_event_bytes`.
    #[error("event of {len} bytes exceeds the stream's max_event_bytes ({max})")]
    TooLarge {
        /// The payload's length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The event's type is not declared in the stream (and the stream does
    /// not register new types).
    #[error("unknown event type {name:?} in stream {stream} (declared: {declared})")]
    UnknownType {
        /// The stream's name.
        stream: String,
        /// The type that was given.
        name: String,
        /// The declared types, comma-separated.
        declared: String,
    },
    /// A type id that the stream never assigned.
    #[error("unknown event type id {id} in stream {stream}")]
    UnknownTypeId {
        /// The stream's name.
        stream: String,
        /// The id that was given.
        id: u16,
    },
    /// A type name or consumer name is not allowed.
    #[error("invalid {what} {name:?}: {reason}")]
    InvalidName {
        /// `"event type"`, `"stream"` or `"consumer"`.
        what: &'static str,
        /// The name that was given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The configuration is inconsistent.
    #[error("invalid stream configuration: {0}")]
    Config(String),
    /// A stored record, manifest or cursor file could not be decoded.
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// Which file or record.
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// The shard's writer stopped after an I/O error; the events it had not
    /// made durable are not acknowledged. Reopen the stream to recover.
    #[error("stream {stream}: shard {shard} failed and must be reopened: {reason}")]
    Failed {
        /// The stream's name.
        stream: String,
        /// The failed shard.
        shard: usize,
        /// The error that stopped it.
        reason: String,
    },
    /// The stream was closed.
    #[error("stream {0} is closed")]
    Closed(String),
    /// The underlying log refused an operation.
    #[error(transparent)]
    Log(#[from] mnemo_log::Error),
    /// A file operation outside the log failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The bus's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}
