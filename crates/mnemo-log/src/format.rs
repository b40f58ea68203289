//! The on-disk format: segment headers and record frames.
//!
//! Everything here is pure byte manipulation with no I/O, so the same code
//! encodes records for files, for the in-memory log and for the fuzzers.
//! The layout is described byte by byte in the crate documentation.

use xxhash_rust::xxh3::xxh3_64;

/// Eight bytes every segment file starts with.
pub const SEGMENT_MAGIC: [u8; 8] = *b"MNEMOLOG";
/// Version of the segment and record layout written by this crate.
pub const FORMAT_VERSION: u16 = 1;
/// Size of the segment header in bytes.
pub const SEGMENT_HEADER_LEN: usize = 32;
/// Size of a record header in bytes.
pub const RECORD_HEADER_LEN: usize = 32;
/// The largest payload the format can express (the length field is a `u32`).
pub const MAX_PAYLOAD_LEN_FORMAT: usize = u32::MAX as usize;

/// The decoded header of a segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Sequence number of the first record stored in the segment.
    pub base_seq: u64,
}

/// Why a segment header or record frame failed to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer bytes are present than the header or frame needs.
    #[error("truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes needed to decode the item.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The segment does not start with [`SEGMENT_MAGIC`].
    #[error("bad magic (not a mnemo log segment)")]
    BadMagic,
    /// The segment was written by an unknown format version.
    #[error("unsupported format version {0} (this build reads version {FORMAT_VERSION})")]
    UnsupportedVersion(u16),
    /// A checksum did not match the bytes it covers.
    #[error("checksum mismatch: stored {stored:#018x}, computed {computed:#018x}")]
    Checksum {
        /// Checksum stored in the header.
        stored: u64,
        /// Checksum computed over the bytes.
        computed: u64,
    },
    /// The payload length field exceeds the configured maximum record size.
    #[error("payload length {len} exceeds the maximum of {max} bytes")]
    TooLong {
        /// Length found in the header.
        len: u64,
        /// Largest allowed payload length.
        max: u64,
    },
    /// Reserved header bits are not zero.
    #[error("reserved header field is {0:#x}, expected 0")]
    Reserved(u64),
}

/// Encodes a segment header for a segment whose first record is `base_seq`.
pub fn encode_segment_header(base_seq: u64) -> [u8; SEGMENT_HEADER_LEN] {
    let mut out = [0u8; SEGMENT_HEADER_LEN];
    out[0..8].copy_from_slice(&SEGMENT_MAGIC);
    out[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[10..12].copy_from_slice(&(SEGMENT_HEADER_LEN as u16).to_le_bytes());
    out[16..24].copy_from_slice(&base_seq.to_le_bytes());
    let checksum = xxh3_64(&out[0..24]);
    out[24..32].copy_from_slice(&checksum.to_le_bytes());
    out
}

/// Decodes and validates a segment header from the start of `bytes`.
pub fn decode_segment_header(bytes: &[u8]) -> Result<SegmentHeader, FrameError> {
    let header = bytes
        .get(..SEGMENT_HEADER_LEN)
        .ok_or(FrameError::Truncated {
            needed: SEGMENT_HEADER_LEN,
            available: bytes.len(),
        })?;
    if header[0..8] != SEGMENT_MAGIC {
        return Err(FrameError::BadMagic);
    }
    let stored = read_u64(header, 24);
    let computed = xxh3_64(&header[0..24]);
    if stored != computed {
        return Err(FrameError::Checksum { stored, computed });
    }
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version != FORMAT_VERSION {
        return Err(FrameError::UnsupportedVersion(version));
    }
    let header_len = u16::from_le_bytes([header[10], header[11]]);
    let reserved = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
    if header_len as usize != SEGMENT_HEADER_LEN || reserved != 0 {
        return Err(FrameError::Reserved(
            u64::from(reserved) | (u64::from(header_len) << 32),
        ));
    }
    Ok(SegmentHeader {
        base_seq: read_u64(header, 16),
    })
}

/// The decoded header of one record frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Payload length in bytes.
    pub len: u32,
    /// Sequence number of the record.
    pub seq: u64,
    /// Append time in nanoseconds since the Unix epoch.
    pub timestamp_nanos: u64,
}

impl RecordHeader {
    /// Total length of the frame (header plus payload) in bytes.
    pub fn frame_len(&self) -> usize {
        RECORD_HEADER_LEN + self.len as usize
    }
}

/// Writes a complete record frame (header, then payload) into `out`, which
/// must be exactly `RECORD_HEADER_LEN + payload.len()` bytes long.
///
/// The payload is copied first and the checksum computed over the frame in
/// place, so the payload bytes are read once from `out` while still hot.
pub fn write_frame(out: &mut [u8], seq: u64, timestamp_nanos: u64, payload: &[u8]) {
    debug_assert_eq!(out.len(), RECORD_HEADER_LEN + payload.len());
    out[8..12].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    out[12..16].copy_from_slice(&0u32.to_le_bytes());
    out[16..24].copy_from_slice(&seq.to_le_bytes());
    out[24..32].copy_from_slice(&timestamp_nanos.to_le_bytes());
    copy_payload(&mut out[RECORD_HEADER_LEN..], payload);
    let checksum = xxh3_64(&out[8..]);
    out[0..8].copy_from_slice(&checksum.to_le_bytes());
}

/// `dst.copy_from_slice(src)` (equal lengths), with small payloads copied
/// as two overlapping fixed-size moves instead of a call to `memcpy`: the
/// call costs more than the copy for the short records agents write most.
#[inline(always)]
fn copy_payload(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if dst.len() != n {
        dst.copy_from_slice(src);
    } else if (16..=32).contains(&n) {
        dst[..16].copy_from_slice(&src[..16]);
        dst[n - 16..].copy_from_slice(&src[n - 16..]);
    } else if (33..=64).contains(&n) {
        dst[..32].copy_from_slice(&src[..32]);
        dst[n - 32..].copy_from_slice(&src[n - 32..]);
    } else {
        dst.copy_from_slice(src);
    }
}

/// Parses a record header without checking the checksum (for in-memory
/// frames that were verified when written or recovered).
///
/// Returns `None` when fewer than [`RECORD_HEADER_LEN`] bytes are given.
#[inline]
pub fn peek_header(bytes: &[u8]) -> Option<RecordHeader> {
    let header = bytes.get(..RECORD_HEADER_LEN)?;
    Some(RecordHeader {
        len: u32::from_le_bytes([header[8], header[9], header[10], header[11]]),
        seq: read_u64(header, 16),
        timestamp_nanos: read_u64(header, 24),
    })
}

/// The timestamp field of a frame the log wrote or verified (0 if `frame`
/// is shorter than a header).
#[inline]
pub fn frame_timestamp(frame: &[u8]) -> u64 {
    frame.get(24..32).map_or(0, |raw| {
        u64::from_le_bytes([
            raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
        ])
    })
}

/// The checksum field of a frame the log wrote or verified: the XXH3-64
/// of its header after the checksum and its payload (0 if `frame` is
/// shorter than a header).
#[inline]
pub fn frame_checksum(frame: &[u8]) -> u64 {
    frame.get(..8).map_or(0, |raw| {
        u64::from_le_bytes([
            raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
        ])
    })
}

/// Decodes and fully validates the record frame at the start of `bytes`.
///
/// `max_payload` bounds the length field, so a corrupt length can never make
/// the caller read past a sane limit.
pub fn decode_frame(bytes: &[u8], max_payload: usize) -> Result<RecordHeader, FrameError> {
    let header = peek_header(bytes).ok_or(FrameError::Truncated {
        needed: RECORD_HEADER_LEN,
        available: bytes.len(),
    })?;
    let reserved = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    if header.len as usize > max_payload {
        return Err(FrameError::TooLong {
            len: u64::from(header.len),
            max: max_payload as u64,
        });
    }
    let frame_len = header.frame_len();
    if bytes.len() < frame_len {
        return Err(FrameError::Truncated {
            needed: frame_len,
            available: bytes.len(),
        });
    }
    let stored = read_u64(bytes, 0);
    let computed = xxh3_64(&bytes[8..frame_len]);
    if stored != computed {
        return Err(FrameError::Checksum { stored, computed });
    }
    if reserved != 0 {
        return Err(FrameError::Reserved(u64::from(reserved)));
    }
    Ok(header)
}

#[inline]
fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(raw)
}

/// The file name of the segment whose first record is `base_seq`.
pub fn segment_file_name(base_seq: u64) -> String {
    format!("{base_seq:020}.seg")
}

/// Parses a segment file name back into its base sequence number.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trip_and_single_bit_flips_are_detected() {
        let payload = b"hello, mnemo";
        let mut frame = vec![0u8; RECORD_HEADER_LEN + payload.len()];
        write_frame(&mut frame, 42, 7, payload);
        let header = decode_frame(&frame, 1024).expect("valid frame");
        assert_eq!(
            header,
            RecordHeader {
                len: payload.len() as u32,
                seq: 42,
                timestamp_nanos: 7
            }
        );
        for bit in 0..frame.len() * 8 {
            let mut damaged = frame.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_frame(&damaged, 1024).is_err(), "flip of bit {bit}");
        }
    }

    #[test]
    fn segment_header_round_trip_and_rejections() {
        let header = encode_segment_header(1234);
        assert_eq!(
            decode_segment_header(&header),
            Ok(SegmentHeader { base_seq: 1234 })
        );
        assert!(matches!(
            decode_segment_header(&header[..10]),
            Err(FrameError::Truncated { .. })
        ));
        let mut bad = header;
        bad[0] = b'X';
        assert_eq!(decode_segment_header(&bad), Err(FrameError::BadMagic));
        let mut bad = header;
        bad[17] ^= 1;
        assert!(matches!(
            decode_segment_header(&bad),
            Err(FrameError::Checksum { .. })
        ));
    }

    #[test]
    fn payloads_of_every_small_length_are_copied_exactly() {
        for len in 0..=130usize {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
            let mut frame = vec![0xeeu8; RECORD_HEADER_LEN + len];
            write_frame(&mut frame, 3, 4, &payload);
            assert_eq!(&frame[RECORD_HEADER_LEN..], &payload[..], "length {len}");
            assert!(decode_frame(&frame, 1024).is_ok(), "length {len}");
        }
    }

    #[test]
    fn zero_filled_frame_is_rejected() {
        assert!(decode_frame(&[0u8; 64], 1024).is_err());
    }

    #[test]
    fn segment_names_round_trip() {
        assert_eq!(segment_file_name(7), "00000000000000000007.seg");
        assert_eq!(
            parse_segment_file_name(&segment_file_name(u64::MAX)),
            Some(u64::MAX)
        );
        assert_eq!(parse_segment_file_name("7.seg"), None);
        assert_eq!(parse_segment_file_name("0000000000000000000a.seg"), None);
    }
}
