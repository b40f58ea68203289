//! Reading a log directory back: validating every segment and record,
//! finding a torn tail, and refusing corruption anywhere else.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::format::{
    RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, decode_frame, decode_segment_header,
    parse_segment_file_name, peek_header, segment_file_name,
};
use crate::merkle::PrunedPrefix;
use crate::record::Seq;
use crate::storage::Storage;

/// Name of the file holding the compact Merkle range of records removed by
/// retention.
pub const MERKLE_PREFIX_FILE: &str = "MERKLE-PREFIX";

/// What recovery found and did when a log was opened (or what
/// [`verify`](crate::verify) found, without doing anything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segment files holding records.
    pub segments: usize,
    /// Records found intact.
    pub records: u64,
    /// Sequence number of the first retained record.
    pub first_seq: Seq,
    /// Sequence number of the last intact record, if any.
    pub last_seq: Option<Seq>,
    /// Bytes of torn tail cut from the last segment (or that would be cut).
    pub truncated_bytes: u64,
    /// The segment whose tail was torn, if any.
    pub truncated_segment: Option<String>,
    /// Byte offset in that segment where the torn tail starts.
    pub truncated_at: Option<u64>,
    /// Files removed (or that would be removed): a last segment whose header
    /// never reached the disk, and segments retention had already dropped.
    pub removed_files: Vec<String>,
    /// Total bytes of intact segment data.
    pub bytes: u64,
}

/// One segment as found on disk.
pub(crate) struct ScannedSegment {
    pub name: String,
    pub base_seq: Seq,
    /// The whole file content as read (possibly including a torn tail).
    pub data: Bytes,
    /// Length of the valid prefix (header and intact records).
    pub valid_len: usize,
    /// Offset of each intact record.
    pub offsets: Vec<u64>,
    /// Timestamp of the last record (0 if none).
    pub last_timestamp: u64,
}

/// Everything read from a directory.
pub(crate) struct Scan {
    pub prefix: PrunedPrefix,
    pub segments: Vec<ScannedSegment>,
    pub report: RecoveryReport,
}

fn corrupt(segment: &str, offset: u64, seq: Seq, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        segment: segment.to_owned(),
        offset,
        seq,
        reason: reason.into(),
    }
}

/// Looks for any intact frame after `from`: if one exists, the damage at
/// `from` is not a torn tail but corruption in the middle of the log.
fn intact_frame_after(data: &[u8], from: usize, expected_seq: Seq, max_payload: usize) -> bool {
    let end = data.len();
    let mut p = from + 1;
    while p + RECORD_HEADER_LEN <= end {
        if let Some(h) = peek_header(&data[p..]) {
            let max_seq = expected_seq + ((end - from) / RECORD_HEADER_LEN) as u64 + 1;
            if h.seq >= expected_seq
                && h.seq <= max_seq
                && h.frame_len() <= end - p
                && decode_frame(&data[p..], max_payload).is_ok()
            {
                return true;
            }
        }
        p += 1;
    }
    false
}

/// Reads and validates every segment. Nothing is modified.
pub(crate) fn scan(storage: &dyn Storage, max_payload: usize) -> Result<Scan> {
    let location = storage.location();
    let names = storage.list().map_err(|e| Error::io(&location, e))?;
    let prefix = if names.iter().any(|n| n == MERKLE_PREFIX_FILE) {
        let bytes = storage
            .read(MERKLE_PREFIX_FILE)
            .map_err(|e| Error::io(MERKLE_PREFIX_FILE, e))?;
        PrunedPrefix::decode(&bytes).ok_or_else(|| {
            corrupt(
                MERKLE_PREFIX_FILE,
                0,
                0,
                "the Merkle prefix file is damaged",
            )
        })?
    } else {
        PrunedPrefix::default()
    };
    let mut bases: Vec<(Seq, String)> = names
        .iter()
        .filter_map(|n| parse_segment_file_name(n).map(|b| (b, n.clone())))
        .collect();
    bases.sort_unstable();

    let mut report = RecoveryReport {
        first_seq: prefix.size,
        ..RecoveryReport::default()
    };
    // Segments entirely below the pruned prefix are leftovers of an
    // interrupted retention pass.
    let mut first_kept = 0;
    while first_kept + 1 < bases.len() && bases[first_kept + 1].0 <= prefix.size {
        report.removed_files.push(bases[first_kept].1.clone());
        first_kept += 1;
    }
    let bases = &bases[first_kept..];

    let mut segments = Vec::with_capacity(bases.len());
    let mut expected = prefix.size;
    for (i, (base, name)) in bases.iter().enumerate() {
        let is_last = i + 1 == bases.len();
        let data = storage.read(name).map_err(|e| Error::io(name, e))?;
        let header = match decode_segment_header(&data) {
            Ok(h) => h,
            Err(source) if is_last => {
                // The segment was being created when the power failed.
                let _ = source;
                report.removed_files.push(name.clone());
                report.truncated_bytes += data.len() as u64;
                report.truncated_segment = Some(name.clone());
                report.truncated_at = Some(0);
                break;
            }
            Err(source) => {
                return Err(Error::BadSegmentHeader {
                    segment: name.clone(),
                    source,
                });
            }
        };
        if header.base_seq != *base {
            return Err(corrupt(
                name,
                0,
                *base,
                format!(
                    "header says base seq {}, file name says {base}",
                    header.base_seq
                ),
            ));
        }
        if i == 0 {
            if *base > prefix.size {
                return Err(corrupt(
                    name,
                    0,
                    prefix.size,
                    format!(
                        "records {}..{base} are missing (no segment holds them)",
                        prefix.size
                    ),
                ));
            }
            expected = *base;
        } else if *base != expected {
            return Err(corrupt(
                name,
                0,
                expected,
                format!("segment starts at seq {base} but the previous one ends at {expected}"),
            ));
        }
        let mut offsets = Vec::new();
        let mut off = SEGMENT_HEADER_LEN;
        let mut last_timestamp = 0;
        while off < data.len() {
            match decode_frame(&data[off..], max_payload) {
                Ok(h) if h.seq == expected => {
                    offsets.push(off as u64);
                    last_timestamp = h.timestamp_nanos;
                    off += h.frame_len();
                    expected += 1;
                }
                Ok(h) => {
                    return Err(corrupt(
                        name,
                        off as u64,
                        expected,
                        format!("intact record carries seq {}", h.seq),
                    ));
                }
                Err(e) => {
                    if is_last && !intact_frame_after(&data, off, expected, max_payload) {
                        report.truncated_bytes += (data.len() - off) as u64;
                        report.truncated_segment = Some(name.clone());
                        report.truncated_at = Some(off as u64);
                        break;
                    }
                    return Err(corrupt(name, off as u64, expected, e.to_string()));
                }
            }
        }
        report.records += offsets.len() as u64;
        report.bytes += off as u64;
        segments.push(ScannedSegment {
            name: name.clone(),
            base_seq: *base,
            data,
            valid_len: off,
            offsets,
            last_timestamp,
        });
    }
    report.segments = segments.len();
    if let Some(first) = segments.first() {
        report.first_seq = first.base_seq;
    }
    if expected > report.first_seq {
        report.last_seq = Some(expected - 1);
    }
    debug_assert!(
        segments
            .iter()
            .all(|s| s.name == segment_file_name(s.base_seq))
    );
    Ok(Scan {
        prefix,
        segments,
        report,
    })
}
