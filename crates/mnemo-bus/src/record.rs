//! How an event is stored in a shard's log record.
//!
//! Every event is one record of the shard's `mnemo-log` log, so the log's
//! checksums, Merkle tree and proofs cover it. The record's payload is a
//! 24-byte header and the event's bytes (all integers little-endian):
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 1 | format version, `1` |
//! | 1  | 1 | reserved, zero |
//! | 2  | 2 | type id (assigned by the stream's manifest, from 1) |
//! | 4  | 4 | reserved, zero |
//! | 8  | 8 | producer id |
//! | 16 | 8 | event time, nanoseconds since the Unix epoch (0: not given) |
//! | 24 | len | the event's bytes |
//!
//! The record's own timestamp is the time the shard's writer appended it.

use crate::ring::Header;

/// Bytes before an event's payload in its log record.
pub const RECORD_HEADER_BYTES: usize = 24;

/// The format version this crate writes and reads.
pub const RECORD_VERSION: u8 = 1;

/// Appends the record of one event to `out`.
#[inline]
pub fn encode_into(header: &Header, payload: &[u8], out: &mut Vec<u8>) {
    let mut head = [0u8; RECORD_HEADER_BYTES];
    head[0] = RECORD_VERSION;
    head[2..4].copy_from_slice(&header.kind.to_le_bytes());
    head[8..16].copy_from_slice(&header.producer.to_le_bytes());
    head[16..24].copy_from_slice(&header.time_nanos.to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
}

/// Why a record is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Shorter than the header.
    #[error("record of {0} bytes is shorter than the 24-byte event header")]
    Short(usize),
    /// A version this crate does not read.
    #[error("event record version {0} (this build reads version 1)")]
    Version(u8),
    /// A reserved field is not zero.
    #[error("reserved bytes of the event header are not zero")]
    Reserved,
    /// Type id 0 is never assigned.
    #[error("event type id 0 is never assigned")]
    NoType,
}

/// Splits a record into the event's header and payload.
pub fn decode(record: &[u8]) -> Result<(Header, &[u8]), RecordError> {
    if record.len() < RECORD_HEADER_BYTES {
        return Err(RecordError::Short(record.len()));
    }
    let (head, payload) = record.split_at(RECORD_HEADER_BYTES);
    if head[0] != RECORD_VERSION {
        return Err(RecordError::Version(head[0]));
    }
    if head[1] != 0 || head[4..8] != [0; 4] {
        return Err(RecordError::Reserved);
    }
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&head[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    let kind = u16::from_le_bytes([head[2], head[3]]);
    if kind == 0 {
        return Err(RecordError::NoType);
    }
    Ok((
        Header {
            kind,
            producer: word(8),
            time_nanos: word(16),
        },
        payload,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decode_inverts_encode(kind in 1u16.., producer: u64, time: u64,
                                 payload in proptest::collection::vec(any::<u8>(), 0..300)) {
            let header = Header { kind, producer, time_nanos: time };
            let mut out = Vec::new();
            encode_into(&header, &payload, &mut out);
            prop_assert_eq!(out.len(), RECORD_HEADER_BYTES + payload.len());
            let (back, bytes) = decode(&out).expect("decodes");
            prop_assert_eq!(back, header);
            prop_assert_eq!(bytes, &payload[..]);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok((header, payload)) = decode(&bytes) {
                let mut again = Vec::new();
                encode_into(&header, payload, &mut again);
                prop_assert_eq!(again, bytes);
            }
        }
    }

    #[test]
    fn each_defect_is_named() {
        let mut good = Vec::new();
        encode_into(
            &Header {
                kind: 3,
                producer: 9,
                time_nanos: 1,
            },
            b"x",
            &mut good,
        );
        assert_eq!(decode(&good[..10]), Err(RecordError::Short(10)));
        let mut bad = good.clone();
        bad[0] = 2;
        assert_eq!(decode(&bad), Err(RecordError::Version(2)));
        let mut bad = good.clone();
        bad[5] = 1;
        assert_eq!(decode(&bad), Err(RecordError::Reserved));
        let mut bad = good;
        bad[2] = 0;
        bad[3] = 0;
        assert_eq!(decode(&bad), Err(RecordError::NoType));
    }
}
