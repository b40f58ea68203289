//! The engine's error type.

/// Everything that can go wrong in the engine. Every variant names what was
/// wrong; none leaves the namespace half-changed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event log failed (I/O, corruption, a full disk, ...).
    #[error("namespace {namespace}: log: {source}")]
    Log {
        /// The namespace.
        namespace: String,
        /// What the log reported.
        #[source]
        source: mnemo_log::Error,
    },
    /// The embedder failed or does not match the namespace.
    #[error("namespace {namespace}: embedder: {source}")]
    Embed {
        /// The namespace.
        namespace: String,
        /// What the embedder reported.
        #[source]
        source: mnemo_embed::Error,
    },
    /// A log record is not a valid event.
    #[error("event at seq {seq}: {reason}")]
    BadEvent {
        /// Its log seq.
        seq: u64,
        /// What was wrong.
        reason: String,
    },
    /// An event could not be encoded.
    #[error("cannot encode event: {0}")]
    Encode(String),
    /// A namespace name is not allowed.
    #[error(
        "invalid namespace name {name:?}: {reason} (use 1 to 64 characters from a-z, A-Z, 0-9, '-', '_' and '.', not starting with '.')"
    )]
    InvalidNamespace {
        /// The name given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// No memory with this id (never written, or forgotten).
    #[error("namespace {namespace}: no memory with id {id}")]
    UnknownId {
        /// The namespace.
        namespace: String,
        /// The id asked for.
        id: u64,
    },
    /// A write or query argument is out of range.
    #[error("namespace {namespace}: invalid {field}: {reason}")]
    Invalid {
        /// The namespace.
        namespace: String,
        /// Which argument.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A snapshot could not be read or written (opening falls back to a
    /// full replay on read errors; this is returned only by explicit
    /// snapshot calls).
    #[error("snapshot {path}: {reason}")]
    Snapshot {
        /// The snapshot file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A file or directory operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A key is missing, wrong or damaged, or encryption failed.
    #[error("namespace {namespace}: keys: {reason}")]
    Crypto {
        /// The namespace.
        namespace: String,
        /// What was wrong.
        reason: String,
    },
    /// The engine or namespace was closed.
    #[error("namespace {0} is closed")]
    Closed(String),
    /// The namespace's raw-event stream refused an operation. For a batch,
    /// the events before the refused one (`accepted`) went in and were
    /// acknowledged; none after it did.
    #[cfg(not(target_arch = "wasm32"))]
    #[error(
        "namespace {namespace}: events: {source} ({accepted} events of the batch were accepted before it)"
    )]
    Ingest {
        /// The namespace.
        namespace: String,
        /// Events of the batch accepted (and written) before the refusal.
        accepted: usize,
        /// What the stream reported.
        #[source]
        source: mnemo_bus::Error,
    },
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
