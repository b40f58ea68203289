//! The binary messages the ML-DSA keys sign (c2sp.org/tlog-cosignature
//! `cosigned_message`, and this crate's ML-DSA-65 twin), and the
//! `timestamped_signature` that carries the timestamp next to a signature.

use crate::vkey::KeyType;
use crate::{Checkpoint, MAX_NAME_BYTES, MAX_TIMESTAMP, TrustError};

/// tlog-cosignature's label for ML-DSA-44 (sub)tree cosignatures.
const SUBTREE_LABEL: &[u8; 12] = b"subtree/v1\n\0";

/// This crate's label for ML-DSA-65 checkpoint signatures: a different
/// string with the same `\n\0` ending.
const ML_DSA_65_LABEL: &[u8; 18] = b"mnemo-mldsa65/v1\n\0";

/// The message a `key_type` ML-DSA key signs for `checkpoint`: label,
/// `name<1..255>`, timestamp, `origin<1..255>`, start 0, end = size, root.
/// Ed25519 signs the note text instead, so it has none.
pub(crate) fn signed_message(
    key_type: KeyType,
    name: &str,
    timestamp: u64,
    checkpoint: &Checkpoint,
) -> Result<Vec<u8>, TrustError> {
    let label: &[u8] = match key_type {
        KeyType::MlDsa44 => SUBTREE_LABEL,
        KeyType::MlDsa65 => ML_DSA_65_LABEL,
        KeyType::Ed25519 => {
            return Err(TrustError::Signing(
                "Ed25519 signs the note text, not a cosigned message".to_owned(),
            ));
        }
    };
    let name_len = short_len(name, "key name")?;
    let origin_len = short_len(&checkpoint.origin, "checkpoint origin")?;
    if timestamp > MAX_TIMESTAMP {
        return Err(TrustError::TimestampOutOfRange(timestamp));
    }
    let mut out = Vec::with_capacity(label.len() + 2 + name.len() + checkpoint.origin.len() + 56);
    out.extend_from_slice(label);
    out.push(name_len);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.push(origin_len);
    out.extend_from_slice(checkpoint.origin.as_bytes());
    out.extend_from_slice(&0u64.to_be_bytes());
    out.extend_from_slice(&checkpoint.size.to_be_bytes());
    out.extend_from_slice(&checkpoint.root);
    Ok(out)
}

/// `timestamp (u64, big-endian) ‖ signature`.
pub(crate) fn timestamped(timestamp: u64, signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + signature.len());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(signature);
    out
}

/// Splits a `timestamped_signature` into its timestamp and signature.
pub(crate) fn split_timestamped(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (timestamp, signature) = bytes.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*timestamp), signature))
}

/// The one-byte length of a TLS `opaque<1..2^8-1>` field.
fn short_len(value: &str, what: &str) -> Result<u8, TrustError> {
    match u8::try_from(value.len()) {
        Ok(len) if len > 0 && usize::from(len) <= MAX_NAME_BYTES => Ok(len),
        _ => Err(TrustError::Malformed(format!(
            "{what}: must be 1..=255 bytes, is {}",
            value.len()
        ))),
    }
}
