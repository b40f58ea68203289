//! Round trips: body, note, vkeys and key files, and sign-then-verify.

mod common;

use common::*;
use mnemo_trust::note::SignedNote;
use mnemo_trust::vkey::KeyType;
use mnemo_trust::{Checkpoint, PqLevel, SigningKeys, TrustError, Verifier};

#[test]
fn body_round_trip() {
    for size in [0, 1, 9, 10, 1 << 40, u64::MAX] {
        let mut cp = checkpoint(size);
        assert_eq!(Checkpoint::parse_body(&cp.body()).expect("parses"), cp);
        cp.extensions = vec!["x".to_owned(), "ünïcode ext".to_owned()];
        assert_eq!(Checkpoint::parse_body(&cp.body()).expect("parses"), cp);
    }
}

#[test]
fn sign_then_verify_both_levels() {
    for keys in [keys44(), keys65()] {
        let verifier = keys.verifier();
        assert_eq!(verifier.name(), NAME);
        assert_eq!(verifier.level(), keys.level());
        for size in [0, 1, 1_000_000] {
            let cp = checkpoint(size);
            let note = keys.sign(&cp, 1_700_000_000 + size).expect("signs");
            let signed = verifier.verify(&note).expect("verifies");
            assert_eq!(signed.checkpoint, cp);
            assert_eq!(signed.timestamp, 1_700_000_000 + size);
        }
    }
}

#[test]
fn extensions_are_signed_and_returned() {
    let keys = keys44();
    let mut cp = checkpoint(3);
    cp.extensions = vec!["mnemo-epoch 2".to_owned()];
    let note = keys.sign(&cp, 0).expect("signs");
    assert_eq!(
        keys.verifier().verify(&note).expect("verifies").checkpoint,
        cp
    );
}

#[test]
fn timestamp_bounds() {
    let keys = keys44();
    let cp = checkpoint(1);
    let max = (1u64 << 63) - 1;
    let note = keys.sign(&cp, max).expect("2^63 - 1 is allowed");
    assert_eq!(
        keys.verifier().verify(&note).expect("verifies").timestamp,
        max
    );
    assert_eq!(
        keys.sign(&cp, max + 1),
        Err(TrustError::TimestampOutOfRange(max + 1))
    );
}

#[test]
fn note_round_trip() {
    let note = keys65().sign(&checkpoint(99), 42).expect("signs");
    let parsed = SignedNote::parse(&note).expect("parses");
    assert_eq!(parsed.signatures.len(), 3);
    assert_eq!(parsed.to_text(), note);
}

#[test]
fn vkeys_round_trip() {
    for keys in [keys44(), keys65()] {
        let vkeys = keys.verifier().to_vkeys();
        let verifier = Verifier::from_vkeys(&vkeys).expect("parses");
        assert_eq!(verifier.to_vkeys(), vkeys);
        assert_eq!(verifier.name(), NAME);
        assert_eq!(verifier.level(), keys.level());
        for key_type in [KeyType::Ed25519, KeyType::MlDsa44, KeyType::MlDsa65] {
            assert_eq!(verifier.key_id(key_type), keys.verifier().key_id(key_type));
        }
        // Comments, blank lines, other order, CRLF line ends.
        let mut lines: Vec<&str> = vkeys.lines().collect();
        lines.reverse();
        let decorated = format!("# {NAME}\n\n{}\r\n", lines.join("\r\n"));
        assert_eq!(
            Verifier::from_vkeys(&decorated).expect("parses").to_vkeys(),
            vkeys
        );
    }
}

#[test]
fn private_text_round_trip() {
    for keys in [keys44(), keys65()] {
        let text = keys.to_private_text();
        let loaded = SigningKeys::from_private_text(&text).expect("loads");
        assert_eq!(loaded.name(), NAME);
        assert_eq!(loaded.level(), keys.level());
        assert_eq!(loaded.to_private_text(), text);
        assert_eq!(loaded.verifier().to_vkeys(), keys.verifier().to_vkeys());
        // Each signs notes the other's verifier accepts, with the same
        // body and Ed25519 line (the ML-DSA lines are hedged natively).
        let cp = checkpoint(5);
        let from_loaded = loaded.sign(&cp, 9).expect("signs");
        let from_keys = keys.sign(&cp, 9).expect("signs");
        assert_eq!(
            keys.verifier()
                .verify(&from_loaded)
                .expect("verifies")
                .checkpoint,
            cp
        );
        assert_eq!(
            loaded
                .verifier()
                .verify(&from_keys)
                .expect("verifies")
                .checkpoint,
            cp
        );
        let (text_a, lines_a) = split(&from_loaded);
        let (text_b, lines_b) = split(&from_keys);
        assert_eq!((text_a, &lines_a[0]), (text_b, &lines_b[0]));
    }
}

#[test]
fn generated_keys_work_and_differ() {
    for level in [PqLevel::MlDsa44, PqLevel::MlDsa44And65] {
        let a = SigningKeys::generate(NAME, level).expect("generates");
        let b = SigningKeys::generate(NAME, level).expect("generates");
        assert_eq!(a.level(), level);
        assert_ne!(a.to_private_text(), b.to_private_text());
        let note = a.sign(&checkpoint(10), 1).expect("signs");
        let verifier = Verifier::from_vkeys(&a.verifier().to_vkeys()).expect("parses");
        assert_eq!(
            verifier.verify(&note).expect("verifies").checkpoint,
            checkpoint(10)
        );
        assert!(b.verifier().verify(&note).is_err());
        let reloaded = SigningKeys::from_private_text(&a.to_private_text()).expect("loads");
        assert_eq!(reloaded.verifier().to_vkeys(), a.verifier().to_vkeys());
    }
}

#[test]
fn debug_output_hides_secrets() {
    let keys = keys44();
    let debug = format!("{keys:?}");
    assert!(debug.contains(NAME));
    let text = keys.to_private_text();
    for line in text.lines() {
        let secret = line.rsplit('+').next().expect("has parts");
        assert!(!debug.contains(secret));
    }
}

#[test]
fn invalid_names_are_refused() {
    for name in ["", "a b", "a+b", "a\u{2003}b", "a\nb", &"x".repeat(256)] {
        assert!(
            matches!(
                SigningKeys::generate(name, PqLevel::MlDsa44),
                Err(TrustError::InvalidKeyName { .. })
            ),
            "{name:?}"
        );
    }
    assert!(SigningKeys::generate(&"x".repeat(255), PqLevel::MlDsa44).is_ok());
}

#[test]
fn invalid_origins_are_refused() {
    for origin in ["", "a\nb", "a\rb", "a\u{7f}b", &"x".repeat(256)] {
        assert!(
            matches!(
                Checkpoint::new(origin, 1, [0; 32]),
                Err(TrustError::Malformed(_))
            ),
            "{origin:?}"
        );
    }
    // Spaces and '+' are allowed in an origin (the spec only recommends against them).
    assert!(Checkpoint::new("a b+c", 1, [0; 32]).is_ok());
    assert!(Checkpoint::new(&"x".repeat(255), 1, [0; 32]).is_ok());
}

#[test]
fn invalid_hand_built_checkpoints_are_not_signed() {
    let keys = keys44();
    let mut cp = checkpoint(1);
    cp.origin = "two\nlines".to_owned();
    assert!(matches!(keys.sign(&cp, 0), Err(TrustError::Malformed(_))));
    let mut cp = checkpoint(1);
    cp.extensions = vec![String::new()];
    assert!(matches!(keys.sign(&cp, 0), Err(TrustError::Malformed(_))));
    let mut cp = checkpoint(1);
    cp.extensions = vec!["a\nb".to_owned()];
    assert!(matches!(keys.sign(&cp, 0), Err(TrustError::Malformed(_))));
}
