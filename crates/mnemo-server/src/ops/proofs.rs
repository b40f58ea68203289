//! Stats, the log's Merkle root, inclusion proofs, and checking a proof
//! answer with nothing but the answer itself.

use mnemo::{MemoryId, Namespace};
use mnemo_log::{Hash, InclusionProof};

use crate::dto::{
    ConsistencyOut, ConsistencyParams, ProofOut, ProofParams, RootOut, StatsOut, hex,
};
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
/// memory `id`, in the tree of the log's first `params.size` events (a
/// signed checkpoint's size; default: the current head), checked against
/// that tree's root (`verified`). Anyone can check it again with
/// [`verify_proof`]. A `size` past the log, or too small to hold the
/// memory's event, is a 400 naming `size`.
pub fn proof(ns: &Namespace, id: u64, params: &ProofParams) -> Result<ProofOut, ApiError> {
    let p = match params.size {
        Some(size) => ns.prove_at(MemoryId(id), size)?,
        None => ns.prove(MemoryId(id))?,
    };
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

/// `consistency`: the proof that the log's first `from` events are a
/// prefix of its first `to` (default: all of them), with both roots,
/// checked by the server (`verified`). Anyone can check it again with
/// [`verify_consistency`].
pub fn consistency(ns: &Namespace, params: &ConsistencyParams) -> Result<ConsistencyOut, ApiError> {
    let (root, size) = ns.root()?;
    let to = params.to.unwrap_or(size);
    let proof = ns.prove_consistency(params.from, to)?;
    let root_at = |n: u64| if n == size { Ok(root) } else { ns.root_at(n) };
    let (from_root, to_root) = (root_at(params.from)?, root_at(to)?);
    let out = ConsistencyOut {
        from: params.from,
        to,
        from_root: hex(&from_root),
        to_root: hex(&to_root),
        path: proof.path.iter().map(|h| hex(h)).collect(),
        verified: false,
    };
    let verified = verify_consistency(&out, None)?;
    Ok(ConsistencyOut { verified, ..out })
}

/// Checks a [`ConsistencyOut`] by itself, trusting nothing the server said
/// about it (its `verified` is ignored): the proof must lead from
/// `from_root` to `to_root` (RFC 9162 §2.1.4.2; any size 0 proof holds
/// with an empty path, as does an equal size with equal roots), and
/// `from_root` must equal `trusted_root` when one is given.
///
/// `Ok(false)` when it does not hold; 400 naming the field when a hash is
/// not 32 bytes of hex.
pub fn verify_consistency(
    proof: &ConsistencyOut,
    trusted_root: Option<&str>,
) -> Result<bool, ApiError> {
    let path = hashes(&proof.path)?;
    let from_root = hash("from_root", &proof.from_root)?;
    let to_root = hash("to_root", &proof.to_root)?;
    let trusted = trusted_root.map(|t| hash("trusted_root", t)).transpose()?;
    let holds = if proof.from == 0 {
        path.is_empty() && proof.to >= proof.from
    } else {
        let p = mnemo_log::ConsistencyProof {
            old_size: proof.from,
            new_size: proof.to,
            path,
        };
        mnemo_log::verify_consistency(&p, &from_root, &to_root).is_ok()
    };
    Ok(holds && trusted.is_none_or(|t| t == from_root))
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
    let path = hashes(&proof.path)?;
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

/// A proof's `path` of hex hashes, or 400 naming `path[i]`.
fn hashes(path: &[String]) -> Result<Vec<Hash>, ApiError> {
    path.iter()
        .enumerate()
        .map(|(i, h)| hash(&format!("path[{i}]"), h))
        .collect()
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
        proof(&ns, 2, &ProofParams::default()).expect("memory 2 exists")
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
    fn a_consistency_proof_verifies_and_any_change_to_it_does_not() {
        let engine = mnemo::Mnemo::in_memory();
        let ns = engine.namespace("t").expect("a namespace in memory");
        let mut roots = Vec::new();
        for i in 0..9 {
            ns.remember(mnemo::NewMemory::new(format!("memory {i}")))
                .expect("remembered");
            roots.push(root(&ns).expect("root"));
        }
        let old = &roots[2];
        let params = ConsistencyParams {
            from: old.length,
            to: None,
        };
        let p = consistency(&ns, &params).expect("a proof");
        assert!(p.verified);
        assert_eq!(p.to, roots[8].length);
        assert_eq!((&p.from_root, &p.to_root), (&old.root, &roots[8].root));
        assert_eq!(verify_consistency(&p, Some(&old.root)), Ok(true));

        let mut bad = p.clone();
        bad.path[0] = flip(&p.path[0], 5);
        assert_eq!(verify_consistency(&bad, None), Ok(false));
        let mut bad = p.clone();
        bad.from_root = flip(&p.from_root, 0);
        assert_eq!(verify_consistency(&bad, None), Ok(false));
        let other = flip(&old.root, 1);
        assert_eq!(verify_consistency(&p, Some(&other)), Ok(false));

        // An explicit `to`, and the trivial proofs.
        let mid = consistency(
            &ns,
            &ConsistencyParams {
                from: old.length,
                to: Some(roots[5].length),
            },
        )
        .expect("a proof to a middle size");
        assert_eq!(mid.to_root, roots[5].root);
        assert_eq!(verify_consistency(&mid, Some(&old.root)), Ok(true));
        let from_empty = consistency(&ns, &ConsistencyParams { from: 0, to: None }).expect("0");
        assert!(from_empty.path.is_empty() && from_empty.verified);

        let e = consistency(
            &ns,
            &ConsistencyParams {
                from: 1,
                to: Some(roots[8].length + 1),
            },
        )
        .expect_err("past the log");
        assert_eq!(e.code, "invalid_request", "{e}");
        assert!(e.message.contains("to"), "{e}");
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
