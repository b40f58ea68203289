//! Append-only checks between two checkpoints of one log: the newer tree
//! must contain the older one as a prefix (RFC 9162 §2.1.4 consistency
//! proofs, verified by [`mnemo_log::merkle::verify_consistency`]).

use mnemo_log::merkle::{self, ConsistencyProof};

use crate::{Checkpoint, Hash, TrustError};

/// More hashes than a consistency proof between any two trees of up to
/// 2^64 leaves has; longer proofs are refused before they are copied.
const MAX_PROOF_HASHES: usize = 128;

/// Checks that `new` extends `old`: same origin, `old.size <= new.size`, and
/// the RFC 9162 consistency proof `path` (as `mnemo_log::Log::consistency_proof`
/// returns it) takes `old.root` to `new.root`.
///
/// Equal sizes need equal roots and an empty `path`. An `old` of size 0 is
/// consistent with every tree, with an empty `path`, provided its root is
/// the empty tree's, `SHA-256("")`. Only the checkpoints' own fields are
/// checked: verify their signatures first.
///
/// ```
/// use mnemo_log::{Config, Log};
/// use mnemo_trust::{Checkpoint, verify_consistency};
///
/// let log = Log::in_memory(Config::default()).expect("in-memory log");
/// log.append(b"a").expect("append");
/// let old = Checkpoint::new("example.com/log", 1, log.root_at(1).expect("root"))?;
/// log.append(b"b").expect("append");
/// let new = Checkpoint::new("example.com/log", 2, log.root_at(2).expect("root"))?;
/// let proof = log.consistency_proof(1, 2).expect("proof");
/// verify_consistency(&old, &new, &proof.path)?;
/// assert!(verify_consistency(&new, &old, &[]).is_err()); // a rollback
/// # Ok::<(), mnemo_trust::TrustError>(())
/// ```
pub fn verify_consistency(
    old: &Checkpoint,
    new: &Checkpoint,
    path: &[Hash],
) -> Result<(), TrustError> {
    if old.origin != new.origin {
        return Err(TrustError::WrongOrigin {
            expected: old.origin.clone(),
            found: new.origin.clone(),
        });
    }
    if old.size > new.size {
        return Err(TrustError::NotConsistent(format!(
            "the new checkpoint's tree size {} is smaller than the old one's, {} (a rollback)",
            new.size, old.size
        )));
    }
    if old.size == new.size {
        if !path.is_empty() {
            return Err(TrustError::NotConsistent(format!(
                "equal tree sizes need an empty proof, got {} hashes",
                path.len()
            )));
        }
        if old.root != new.root {
            return Err(TrustError::NotConsistent(format!(
                "two different roots for tree size {} (a fork)",
                old.size
            )));
        }
        return Ok(());
    }
    if old.size == 0 {
        if !path.is_empty() {
            return Err(TrustError::NotConsistent(format!(
                "a proof from the empty tree must be empty, got {} hashes",
                path.len()
            )));
        }
        if old.root != merkle::empty_root() {
            return Err(TrustError::NotConsistent(
                "the size-0 checkpoint's root is not the empty tree's SHA-256(\"\")".to_owned(),
            ));
        }
        return Ok(());
    }
    if path.len() > MAX_PROOF_HASHES {
        return Err(TrustError::NotConsistent(format!(
            "the proof has {} hashes, more than any tree needs",
            path.len()
        )));
    }
    let proof = ConsistencyProof {
        old_size: old.size,
        new_size: new.size,
        path: path.to_vec(),
    };
    merkle::verify_consistency(&proof, &old.root, &new.root).map_err(|e| {
        TrustError::NotConsistent(format!(
            "proof from tree size {} to {} does not hold: {e}",
            old.size, new.size
        ))
    })
}
