//! Consistency proofs between the log's sizes: every older root is proven a
//! prefix of every newer one, across a reopen, and a rewritten history or a
//! bad size is refused.

use mnemo::{Mnemo, NewMemory};
use mnemo_log::{ConsistencyProof, Hash, VerifyError, verify_consistency};

/// Remembers `n` memories one event at a time and answers the root after each.
fn grow(ns: &mnemo::Namespace, from: usize, n: usize) -> Vec<(Hash, u64)> {
    (from..from + n)
        .map(|i| {
            ns.remember(NewMemory::new(format!("event number {i}")))
                .expect("remember");
            ns.root().expect("root")
        })
        .collect()
}

#[test]
fn every_older_root_is_a_prefix_of_every_newer_one_across_a_reopen() {
    let dir = tempfile::tempdir().expect("dir");
    let mut roots;
    {
        let m = Mnemo::open(dir.path()).expect("open");
        let ns = m.namespace("t").expect("ns");
        roots = grow(&ns, 0, 20);
        m.close().expect("close");
    }
    let m = Mnemo::open(dir.path()).expect("reopen");
    let ns = m.namespace("t").expect("ns");
    roots.extend(grow(&ns, 20, 13));
    for (i, &(old_root, old_size)) in roots.iter().enumerate() {
        for &(new_root, new_size) in &roots[i..] {
            let proof = ns
                .prove_consistency(old_size, new_size)
                .expect("a proof between two sizes the log holds");
            assert_eq!((proof.old_size, proof.new_size), (old_size, new_size));
            assert_eq!(
                verify_consistency(&proof, &old_root, &new_root),
                Ok(()),
                "{old_size} -> {new_size}"
            );
        }
    }
}

#[test]
fn a_rewritten_history_or_a_tampered_proof_does_not_verify() {
    let m = Mnemo::in_memory();
    let ns = m.namespace("t").expect("ns");
    let roots = grow(&ns, 0, 12);
    let (old_root, old_size) = roots[4];
    let (new_root, new_size) = roots[11];
    let proof = ns.prove_consistency(old_size, new_size).expect("proof");
    assert!(!proof.path.is_empty());

    // Another namespace with a different fifth event: same sizes, other roots.
    let other = m.namespace("u").expect("ns");
    let forged = grow(&other, 100, 12);
    assert_eq!(
        verify_consistency(&proof, &forged[4].0, &new_root),
        Err(VerifyError::RootMismatch),
        "an old root of another history"
    );
    assert_eq!(
        verify_consistency(&proof, &old_root, &forged[11].0),
        Err(VerifyError::RootMismatch),
        "a new root of another history"
    );
    for i in 0..proof.path.len() {
        let mut bad = proof.clone();
        bad.path[i][0] ^= 1;
        assert!(
            verify_consistency(&bad, &old_root, &new_root).is_err(),
            "hash {i} flipped"
        );
    }
    let mut short = proof.clone();
    short.path.pop();
    assert!(verify_consistency(&short, &old_root, &new_root).is_err());
}

#[test]
fn sizes_outside_the_log_are_refused_and_trivial_ones_are_empty() {
    let m = Mnemo::in_memory();
    let ns = m.namespace("t").expect("ns");
    let roots = grow(&ns, 0, 5);
    let (_, size) = roots[4];
    let e = ns.prove_consistency(1, size + 1).expect_err("past the log");
    assert!(e.to_string().contains("to"), "{e}");
    let e = ns.prove_consistency(4, 3).expect_err("old past new");
    assert!(e.to_string().contains("from"), "{e}");
    for (old, new) in [(0, size), (3, 3), (0, 0)] {
        let proof = ns.prove_consistency(old, new).expect("trivial");
        assert_eq!(
            proof,
            ConsistencyProof {
                old_size: old,
                new_size: new,
                path: Vec::new()
            }
        );
    }
    assert_eq!(ns.root().expect("root").1, size, "nothing written");
}
