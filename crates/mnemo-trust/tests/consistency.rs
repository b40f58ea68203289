//! `verify_consistency` against real proofs: from a reference RFC 9162
//! tree written here (straight from the RFC's recursive definitions) and
//! from a `mnemo_log::Log`, for every pair of sizes up to 40, plus
//! tampered proofs.

mod common;

use common::NAME;
use mnemo_log::merkle::{empty_root, leaf_hash, node_hash};
use mnemo_log::{Config, Log};
use mnemo_trust::{Checkpoint, Hash, TrustError, verify_consistency};

const MAX_SIZE: usize = 40;

/// The largest power of two smaller than `n` (n > 1).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// RFC 9162 §2.1.1 MTH over leaf hashes.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b).
fn subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete {
            Vec::new()
        } else {
            vec![mth(leaves)]
        };
    }
    let k = split_point(n);
    if m <= k {
        let mut proof = subproof(m, &leaves[..k], complete);
        proof.push(mth(&leaves[k..]));
        proof
    } else {
        let mut proof = subproof(m - k, &leaves[k..], false);
        proof.push(mth(&leaves[..k]));
        proof
    }
}

fn reference_leaves() -> Vec<Hash> {
    (0..MAX_SIZE)
        .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
        .collect()
}

fn cp(size: usize, root: Hash) -> Checkpoint {
    Checkpoint::new(NAME, size as u64, root).expect("valid origin")
}

#[test]
fn reference_proofs_are_accepted_and_tampering_is_caught() {
    let leaves = reference_leaves();
    for n in 1..=MAX_SIZE {
        let new = cp(n, mth(&leaves[..n]));
        for m in 0..=n {
            let old = cp(m, mth(&leaves[..m]));
            let proof = if m == 0 {
                Vec::new()
            } else {
                subproof(m, &leaves[..n], true)
            };
            assert_eq!(verify_consistency(&old, &new, &proof), Ok(()), "{m} -> {n}");
            if m == n || m == 0 {
                continue;
            }
            // Every single flipped bit position class, per hash.
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i][i % 32] ^= 1 << (i % 8);
                assert!(
                    verify_consistency(&old, &new, &bad).is_err(),
                    "{m} -> {n}, hash {i}"
                );
            }
            let mut shorter = proof.clone();
            shorter.pop();
            assert!(verify_consistency(&old, &new, &shorter).is_err());
            let mut longer = proof.clone();
            longer.push([0; 32]);
            assert!(verify_consistency(&old, &new, &longer).is_err());
            // The right proof, the wrong roots.
            let mut wrong_old = old.clone();
            wrong_old.root[0] ^= 1;
            assert!(verify_consistency(&wrong_old, &new, &proof).is_err());
            let mut wrong_new = new.clone();
            wrong_new.root[31] ^= 1;
            assert!(verify_consistency(&old, &wrong_new, &proof).is_err());
            // Newer and older swapped: a rollback.
            assert!(matches!(
                verify_consistency(&new, &old, &proof),
                Err(TrustError::NotConsistent(_))
            ));
        }
    }
}

#[test]
fn a_rewritten_history_is_caught() {
    let leaves = reference_leaves();
    let mut rewritten = leaves.clone();
    rewritten[3] = leaf_hash(b"something else");
    for m in 4..=20 {
        let old = cp(m, mth(&leaves[..m]));
        for n in m + 1..=MAX_SIZE {
            let new = cp(n, mth(&rewritten[..n]));
            // The honest proof for the rewritten tree does not link to the old root.
            let proof = subproof(m, &rewritten[..n], true);
            assert!(
                verify_consistency(&old, &new, &proof).is_err(),
                "{m} -> {n}"
            );
        }
    }
}

#[test]
fn empty_old_tree() {
    let leaves = reference_leaves();
    let new = cp(5, mth(&leaves[..5]));
    let empty = cp(0, empty_root());
    assert_eq!(verify_consistency(&empty, &new, &[]), Ok(()));
    assert_eq!(verify_consistency(&empty, &empty, &[]), Ok(()));
    assert!(verify_consistency(&empty, &new, &[[0; 32]]).is_err());
    assert!(verify_consistency(&cp(0, [1; 32]), &new, &[]).is_err());
}

#[test]
fn log_proofs_are_accepted_end_to_end() {
    let log = Log::in_memory(Config::default()).expect("in-memory log");
    let keys = common::keys44();
    let verifier = keys.verifier();
    let mut frames = Vec::new();
    let mut signed = vec![
        verifier
            .verify(&keys.sign(&cp(0, empty_root()), 0).expect("signs"))
            .expect("verifies")
            .checkpoint,
    ];
    for i in 0..MAX_SIZE {
        let seq = log
            .append(format!("record {i}").as_bytes())
            .expect("append");
        frames.push(leaf_hash(log.read(seq).expect("record").frame()));
        let size = i + 1;
        let root = log.root_at(size as u64).expect("root");
        // mnemo-log's root is the RFC 9162 root of its record frames.
        assert_eq!(root, mth(&frames));
        let note = keys.sign(&cp(size, root), size as u64).expect("signs");
        signed.push(verifier.verify(&note).expect("verifies").checkpoint);
    }
    for m in 1..=MAX_SIZE {
        for n in m..=MAX_SIZE {
            let proof = log.consistency_proof(m as u64, n as u64).expect("proof");
            assert_eq!(proof.path, subproof(m, &frames[..n], true), "{m} -> {n}");
            assert_eq!(
                verify_consistency(&signed[m], &signed[n], &proof.path),
                Ok(()),
                "{m} -> {n}"
            );
            if m < n {
                assert!(verify_consistency(&signed[n], &signed[m], &proof.path).is_err());
            }
        }
        assert_eq!(verify_consistency(&signed[0], &signed[m], &[]), Ok(()));
    }
}
