//! The ML-DSA signatures against another implementation, RustCrypto's
//! `ml-dsa`: natively this crate signs and verifies with AWS-LC (hedged
//! signing), on wasm32 with `ml-dsa` (deterministic signing). Notes signed
//! either way, and notes signed before the switch to AWS-LC, must verify
//! everywhere.

mod common;

use common::*;
use ml_dsa::{MlDsa44, MlDsa65, MlDsaParams};
use mnemo_trust::note::SignedNote;
use mnemo_trust::{Checkpoint, SigningKeys, Verifier};

/// A note and its vkeys written by this crate when it signed with
/// RustCrypto `ml-dsa` (deterministic): [`keys65`]'s seeds, this checkpoint
/// and timestamp. The format has not changed since, so it must verify as is.
const V1_NOTE: &str = include_str!("data/v1-note");
const V1_VKEYS: &str = include_str!("data/v1-vkeys");
const V1_TIMESTAMP: u64 = 1_700_000_000;

fn v1_checkpoint() -> Checkpoint {
    let mut root = [0u8; 32];
    for (i, b) in root.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(7).wrapping_add(42);
    }
    let mut cp = Checkpoint::new(NAME, 4242, root).expect("valid origin");
    cp.extensions = vec!["mnemo-epoch 1".to_owned()];
    cp
}

fn rust_crypto_key<P: MlDsaParams>(seed: [u8; 32]) -> ml_dsa::SigningKey<P> {
    ml_dsa::SigningKey::from_seed(&seed.into())
}

fn rust_crypto_verifies<P: MlDsaParams>(seed: [u8; 32], message: &[u8], signature: &[u8]) -> bool {
    let key = rust_crypto_key::<P>(seed);
    let key: &ml_dsa::VerifyingKey<P> = key.as_ref();
    ml_dsa::Signature::<P>::try_from(signature)
        .is_ok_and(|signature| key.verify_with_context(message, b"", &signature))
}

/// `key ID ‖ timestamp ‖` RustCrypto's deterministic signature of `message`.
fn rust_crypto_line_bytes<P: MlDsaParams>(
    seed: [u8; 32],
    key_id: &[u8],
    timestamp: u64,
    message: &[u8],
) -> Vec<u8> {
    let signature = ml_dsa::Signer::try_sign(&rust_crypto_key::<P>(seed), message).expect("signs");
    [key_id, &timestamp.to_be_bytes(), &signature.encode()].concat()
}

#[test]
fn notes_signed_before_the_switch_still_verify() {
    let keys = keys65();
    // The same seeds still derive the same keys, IDs and vkeys.
    assert_eq!(keys.verifier().to_vkeys(), V1_VKEYS);
    let signed = Verifier::from_vkeys(V1_VKEYS)
        .expect("vkeys parse")
        .verify(V1_NOTE)
        .expect("the old note verifies");
    assert_eq!(signed.checkpoint, v1_checkpoint());
    assert_eq!(signed.timestamp, V1_TIMESTAMP);
    assert_eq!(keys.verifier().verify(V1_NOTE), Ok(signed));

    // Its ML-DSA lines are RustCrypto's deterministic FIPS 204 signatures.
    let (text, lines) = split(V1_NOTE);
    let cp = v1_checkpoint();
    let (_, bytes44) = decode_line(&lines[1]);
    let (_, bytes65) = decode_line(&lines[2]);
    assert_eq!(
        bytes44,
        rust_crypto_line_bytes::<MlDsa44>(
            [0x44; 32],
            &bytes44[..4],
            V1_TIMESTAMP,
            &message44(V1_TIMESTAMP, &cp)
        )
    );
    assert_eq!(
        bytes65,
        rust_crypto_line_bytes::<MlDsa65>(
            [0x65; 32],
            &bytes65[..4],
            V1_TIMESTAMP,
            &message65(V1_TIMESTAMP, &cp)
        )
    );

    // Signing it again now: the same body and (deterministic) Ed25519 line.
    let note = keys.sign(&cp, V1_TIMESTAMP).expect("signs");
    let (new_text, new_lines) = split(&note);
    assert_eq!(new_text, text);
    assert_eq!(new_lines[0], lines[0]);
    for i in [1, 2] {
        let (_, old) = decode_line(&lines[i]);
        let (_, new) = decode_line(&new_lines[i]);
        assert_eq!(new[..12], old[..12], "same key ID and timestamp");
    }
}

#[test]
fn our_signatures_verify_with_rust_crypto() {
    let keys = keys65();
    for size in [0, 1, 99, 1 << 40] {
        let cp = checkpoint(size);
        let timestamp = 1_700_000_000 + size;
        let note = keys.sign(&cp, timestamp).expect("signs");
        let parsed = SignedNote::parse(&note).expect("parses");
        let sig44 = &parsed.signatures[1].signature;
        let sig65 = &parsed.signatures[2].signature;
        assert_eq!(sig44[..8], timestamp.to_be_bytes());
        assert_eq!(sig65[..8], timestamp.to_be_bytes());
        let (m44, m65) = (message44(timestamp, &cp), message65(timestamp, &cp));
        assert!(rust_crypto_verifies::<MlDsa44>(
            [0x44; 32],
            &m44,
            &sig44[8..]
        ));
        assert!(rust_crypto_verifies::<MlDsa65>(
            [0x65; 32],
            &m65,
            &sig65[8..]
        ));
        // Each over its own message only.
        assert!(!rust_crypto_verifies::<MlDsa44>(
            [0x44; 32],
            &m65,
            &sig44[8..]
        ));
        assert!(!rust_crypto_verifies::<MlDsa44>(
            [0x44; 32],
            &message44(timestamp + 1, &cp),
            &sig44[8..]
        ));
    }
}

#[test]
fn rust_crypto_signatures_verify_here() {
    let keys = keys65();
    let verifier = keys.verifier();
    for size in [0, 5, 1 << 40] {
        let cp = checkpoint(size);
        let timestamp = 1_600_000_000 + size;
        // Our note, with both ML-DSA lines replaced by RustCrypto's.
        let note = keys.sign(&cp, timestamp).expect("signs");
        let note = edit_signature(&note, 1, |b| {
            *b = rust_crypto_line_bytes::<MlDsa44>(
                [0x44; 32],
                &b[..4],
                timestamp,
                &message44(timestamp, &cp),
            );
        });
        let note = edit_signature(&note, 2, |b| {
            *b = rust_crypto_line_bytes::<MlDsa65>(
                [0x65; 32],
                &b[..4],
                timestamp,
                &message65(timestamp, &cp),
            );
        });
        let signed = verifier
            .verify(&note)
            .expect("RustCrypto's signatures verify");
        assert_eq!((signed.checkpoint, signed.timestamp), (cp, timestamp));
        // And a RustCrypto signature of another message does not.
        let wrong = edit_signature(&note, 1, |b| {
            *b = rust_crypto_line_bytes::<MlDsa44>(
                [0x44; 32],
                &b[..4],
                timestamp,
                &message44(timestamp, &checkpoint(size + 1)),
            );
        });
        assert!(verifier.verify(&wrong).is_err());
    }
}

#[test]
fn keys_from_seeds_match_rust_crypto() {
    for seed in [[0u8; 32], [0x44; 32], [0xff; 32]] {
        let keys =
            SigningKeys::from_seeds(NAME, &RFC8032_SECRET, &seed, Some(&seed)).expect("valid name");
        let vk44 = rust_crypto_key::<MlDsa44>(seed);
        let vk65 = rust_crypto_key::<MlDsa65>(seed);
        let vk44: &ml_dsa::VerifyingKey<MlDsa44> = vk44.as_ref();
        let vk65: &ml_dsa::VerifyingKey<MlDsa65> = vk65.as_ref();
        let vkeys = keys.verifier().keys();
        assert_eq!(vkeys[1].public_key(), vk44.encode().as_slice());
        assert_eq!(vkeys[2].public_key(), vk65.encode().as_slice());
    }
}
