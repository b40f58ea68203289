//! Errors returned by the log.

use std::io;

use crate::format::FrameError;
use crate::merkle::ProofError;

/// Everything that can go wrong when opening, writing or reading a log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O call failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// File or directory the call was about.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Another process or `Log` instance holds the directory's lock file.
    #[error(
        "log directory {dir} is already open by another process or Log instance (lock file {lock_file} is held)"
    )]
    Locked {
        /// The log directory.
        dir: String,
        /// The lock file that could not be acquired.
        lock_file: String,
    },
    /// A record before the tail of the log failed validation. The log refuses
    /// to open rather than silently dropping acknowledged records.
    #[error("corrupt log: segment {segment}, byte offset {offset}, seq {seq}: {reason}")]
    Corrupt {
        /// Segment file name.
        segment: String,
        /// Byte offset of the bad frame within the segment file.
        offset: u64,
        /// Sequence number that was expected at that offset.
        seq: u64,
        /// What was wrong.
        reason: String,
    },
    /// A segment header could not be decoded.
    #[error("corrupt segment header in {segment}: {source}")]
    BadSegmentHeader {
        /// Segment file name.
        segment: String,
        /// The decoding failure.
        #[source]
        source: FrameError,
    },
    /// A payload is larger than [`Config::max_record_bytes`](crate::Config::max_record_bytes).
    #[error("record payload of {len} bytes exceeds max_record_bytes ({max})")]
    RecordTooLarge {
        /// Offending payload length.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An earlier I/O failure left the log in an unknown state; it refuses
    /// further writes until it is reopened (which runs recovery).
    #[error("log failed after an earlier I/O error and must be reopened: {0}")]
    Failed(String),
    /// The log was closed.
    #[error("log is closed")]
    Closed,
    /// A Merkle root or proof could not be produced.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

impl Error {
    pub(crate) fn io(path: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
