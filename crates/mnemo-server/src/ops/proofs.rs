//! Stats, the log's Merkle root, inclusion proofs, and checking a proof
//! answer with nothing but the answer itself.

use mnemo::{MemoryId, Namespace};
use mnemo_log::{Hash, InclusionProof};

use crate::dto::{ProofOut, RootOut, StatsOut, hex};
use crate::error::ApiError;

/// `stats`: counts and sizes of a namespace.
pub fn stats(ns: &Namespace) -> StatsOut {
    StatsOut::from(&ns.stats())
}

/// `root`: the Merkle root of the namespace's event log and the number of
/// events it covers.
pub fn root(ns: &Namespace) -> Result<RootOut, ApiError> {
    let (root, length) = ns.root()?;
    Ok(RootOut {
        root: hex(&root),
        length,
    })
}

/// `proof`: the Merkle inclusion proof of the event that last wrote
/// memory `id`, checked against the current root (`verified`). Anyone
/// can check it again with [`verify_proof`].
pub fn proof(ns: &Namespace, id: u64) -> Result<ProofOut, ApiError> {
    let p = ns.prove(MemoryId(id))?;
    let verified = p.verify(None).is_ok();
    Ok(ProofOut {
        id,
        seq: p.seq,
        frame: hex(&p.frame),
        path: p.proof.path.iter().map(|h| hex(h)).collect(),
        length: p.proof.tree_size,
        root: hex(&p.root),
        verified,
    })
}

/// Checks a [`ProofOut`] by itself, trusting nothing the server said
/// about it (its `verified` is ignored): the leaf hash of `frame`, walked
/// up `path` as leaf `seq` of a tree of `length` leaves (RFC 9162), must
/// give `root`; and `root` must equal `trusted_root` when one is given (a
/// root the caller got from elsewhere, e.g. an earlier `root` answer).
///
/// `Ok(false)` when the proof does not hold; 400 naming the field
/// (`frame`, `path[i]`, `root`, `trusted_root`) when one is not hex or a
/// hash is not 32 bytes.
pub fn verify_proof(proof: &ProofOut, trusted_root: Option<&str>) -> Result<bool, ApiError> {
    let frame = unhex("frame", &proof.frame)?;
    let path = proof
        .path
        .iter()
        .enumerate()
        .map(|(i, h)| hash(&format!("path[{i}]"), h))
        .collect::<Result<Vec<_>, _>>()?;
    let root = hash("root", &proof.root)?;
    let trusted = trusted_root.map(|t| hash("trusted_root", t)).transpose()?;
    let inclusion = InclusionProof {
        leaf_index: proof.seq,
        tree_size: proof.length,
        path,
    };
    let leads_to_root = mnemo_log::verify_inclusion(&frame, &inclusion, &root).is_ok();
    Ok(leads_to_root && trusted.is_none_or(|t| t == root))
}

/// A 32-byte hash in hex, or 400 naming `field`.
fn hash(field: &str, text: &str) -> Result<Hash, ApiError> {
    let bytes = unhex(field, text)?;
    Hash::try_from(bytes.as_slice()).map_err(|_| {
        ApiError::bad_request(format!(
            "{field}: {} bytes, but a hash has 32 (64 hex digits)",
            bytes.len()
        ))
    })
}

/// Bytes from hex (either case), or 400 naming `field`.
fn unhex(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    if !text.len().is_multiple_of(2) {
        return Err(ApiError::bad_request(format!(
            "{field}: an odd number of hex digits ({})",
            text.len()
        )));
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    text.as_bytes()
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| match (digit(pair[0]), digit(pair[1])) {
            // Two hex digits: at most 0xff, so the cast cannot truncate.
            (Some(hi), Some(lo)) => Ok((hi * 16 + lo) as u8),
            _ => Err(ApiError::bad_request(format!(
                "{field}: not hex at character {}",
                i * 2
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proven() -> ProofOut {
        let engine = mnemo::Mnemo::in_memory();
        let ns = engine.namespace("t").expect("a namespace in memory");
        for text in ["one", "two", "three", "four", "five"] {
            ns.remember(mnemo::NewMemory::new(text))
                .expect("remembered");
        }
        proof(&ns, 2).expect("memory 2 exists")
    }

    /// `text` with the hex digit at `at` changed.
    fn flip(text: &str, at: usize) -> String {
        let mut bytes = text.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
        String::from_utf8(bytes).expect("hex is ASCII")
    }

    #[test]
    fn a_real_proof_verifies_and_any_flipped_byte_does_not() {
        let p = proven();
        assert!(p.verified);
        assert!(!p.path.is_empty());
        assert_eq!(verify_proof(&p, None), Ok(true));
        assert_eq!(verify_proof(&p, Some(&p.root.clone())), Ok(true));

        let mut bad = p.clone();
        bad.frame = flip(&p.frame, 10);
        assert_eq!(verify_proof(&bad, None), Ok(false));

        let mut bad = p.clone();
        bad.path[0] = flip(&p.path[0], 0);
        assert_eq!(verify_proof(&bad, None), Ok(false));

        let mut bad = p.clone();
        bad.root = flip(&p.root, 63);
        assert_eq!(verify_proof(&bad, None), Ok(false));

        let mut bad = p.clone();
        bad.seq += 1;
        assert_eq!(verify_proof(&bad, None), Ok(false));
    }

    #[test]
    fn a_trusted_root_other_than_the_proofs_fails_it() {
        let p = proven();
        let other = flip(&p.root, 0);
        assert_eq!(verify_proof(&p, Some(&other)), Ok(false));
        assert_eq!(
            verify_proof(&p, Some(&p.root.to_uppercase())),
            Ok(true),
            "hex in either case"
        );
    }

    #[test]
    fn malformed_hex_names_the_field() {
        let p = proven();
        let spoilt = |field: &str| {
            let mut bad = p.clone();
            match field {
                "frame" => bad.frame.push('a'),
                "path[0]" => bad.path[0] = "zz".repeat(32),
                _ => bad.root.truncate(62),
            }
            bad
        };
        for field in ["frame", "path[0]", "root"] {
            let e = verify_proof(&spoilt(field), None).expect_err(field);
            assert_eq!(e.code, "invalid_request");
            assert!(e.message.starts_with(&format!("{field}: ")), "{e}");
        }
        let e = verify_proof(&p, Some("xyz")).expect_err("trusted_root");
        assert!(e.message.starts_with("trusted_root: "), "{e}");
    }
}
