//! A record read from the log.

use bytes::{Buf, Bytes};

use crate::format::{RECORD_HEADER_LEN, frame_timestamp};
use crate::merkle::{Hash, leaf_hash};

/// A record's position in its log: 0 for the first record ever appended,
/// then consecutive.
pub type Seq = u64;

/// One record, sharing its bytes with the log (no copy is made on read).
///
/// Reading a record does not touch its bytes: the header fields are parsed
/// from the frame only when asked for, so a read that only needs the handle
/// costs one index lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    seq: Seq,
    frame: Bytes,
}

impl Record {
    /// `frame` must be a complete frame (at least a header).
    pub(crate) fn new(seq: Seq, frame: Bytes) -> Self {
        debug_assert!(frame.len() >= RECORD_HEADER_LEN);
        Self { seq, frame }
    }

    /// The record's sequence number.
    pub fn seq(&self) -> Seq {
        self.seq
    }

    /// When the record was appended, in nanoseconds since the Unix epoch.
    pub fn timestamp_nanos(&self) -> u64 {
        frame_timestamp(&self.frame)
    }

    /// The payload.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.frame[RECORD_HEADER_LEN..]
    }

    /// Payload length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.frame.len() - RECORD_HEADER_LEN
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload as shared bytes (no copy).
    pub fn payload_bytes(&self) -> Bytes {
        self.frame.slice(RECORD_HEADER_LEN..)
    }

    /// Consumes the record, returning its payload (no copy).
    pub fn into_payload(self) -> Bytes {
        let mut frame = self.frame;
        frame.advance(RECORD_HEADER_LEN);
        frame
    }

    /// The record exactly as stored: header followed by payload. This is
    /// what the Merkle leaf hashes.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// The record's Merkle leaf hash, `SHA-256(0x00 ‖ frame)`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.frame)
    }
}
