//! Property tests: every decoder takes arbitrary input without panicking,
//! valid checkpoints round-trip, and no mutation of a signed note verifies
//! as anything but the original.

mod common;

use std::sync::LazyLock;

use common::*;
use mnemo_trust::note::SignedNote;
use mnemo_trust::{Checkpoint, SigningKeys, TrustError, Verifier, verify_consistency};
use proptest::prelude::*;

struct Fixture {
    verifier: Verifier,
    note: String,
    vkeys: String,
    private: String,
    checkpoint: Checkpoint,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let keys = keys65();
    let checkpoint = checkpoint(4242);
    Fixture {
        verifier: keys.verifier(),
        note: keys.sign(&checkpoint, 1_700_000_000).expect("signs"),
        vkeys: keys.verifier().to_vkeys(),
        private: keys.to_private_text(),
        checkpoint,
    }
});

/// `text` with the character at `at` (modulo its length) replaced by `with`.
fn replace_char(text: &str, at: usize, with: char) -> String {
    let count = text.chars().count().max(1);
    let at = at % count;
    text.chars()
        .enumerate()
        .map(|(i, c)| if i == at { with } else { c })
        .collect()
}

/// `text` without the characters in `from..from + len` (modulo its length).
fn cut(text: &str, from: usize, len: usize) -> String {
    let count = text.chars().count().max(1);
    let from = from % count;
    text.chars()
        .enumerate()
        .filter(|(i, _)| *i < from || *i >= from + len)
        .map(|(_, c)| c)
        .collect()
}

fn note_chars() -> impl Strategy<Value = char> {
    prop_oneof![
        Just('\n'),
        Just('\u{2014}'),
        Just(' '),
        Just('+'),
        Just('='),
        Just('0'),
        any::<char>(),
        proptest::char::range('A', 'z'),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parse_body_never_panics(text in ".{0,300}") {
        let _ = Checkpoint::parse_body(&text);
    }

    #[test]
    fn parse_body_of_structured_text_never_panics(
        origin in "[ -~]{0,20}",
        size in "[0-9+-]{0,22}",
        root in "[A-Za-z0-9+/=]{0,46}",
        ext in proptest::collection::vec("[ -~\n]{0,10}", 0..3),
        newline in any::<bool>(),
    ) {
        let mut text = format!("{origin}\n{size}\n{root}");
        for e in ext {
            text.push('\n');
            text.push_str(&e);
        }
        if newline {
            text.push('\n');
        }
        if let Ok(cp) = Checkpoint::parse_body(&text) {
            // Strict parsing: only the canonical text parses.
            prop_assert_eq!(cp.body(), text.clone());
        }
    }

    #[test]
    fn valid_checkpoints_round_trip(
        origin in "[a-z0-9./ +\u{e0}-\u{ff}]{1,60}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in proptest::collection::vec("[ -~]{1,30}", 0..4),
    ) {
        let mut cp = Checkpoint::new(&origin, size, root).expect("valid origin");
        cp.extensions = extensions;
        prop_assert_eq!(cp.validate(), Ok(()));
        prop_assert_eq!(Checkpoint::parse_body(&cp.body()), Ok(cp));
    }

    #[test]
    fn note_parse_never_panics(text in proptest::collection::vec(note_chars(), 0..200)) {
        let text: String = text.into_iter().collect();
        if let Ok(note) = SignedNote::parse(&text) {
            prop_assert_eq!(note.to_text(), text.clone());
        }
        let _ = FIXTURE.verifier.verify(&text);
    }

    #[test]
    fn verify_never_panics_on_arbitrary_text(text in ".{0,400}") {
        prop_assert!(FIXTURE.verifier.verify(&text).is_err());
    }

    #[test]
    fn mutated_notes_never_verify_as_something_else(
        at in any::<usize>(),
        with in note_chars(),
        cut_at in any::<usize>(),
        cut_len in 0usize..8,
        do_cut in any::<bool>(),
    ) {
        let fx = &*FIXTURE;
        let mutated = if do_cut {
            cut(&fx.note, cut_at, cut_len)
        } else {
            replace_char(&fx.note, at, with)
        };
        if let Ok(signed) = fx.verifier.verify(&mutated) {
            prop_assert_eq!(&signed.checkpoint, &fx.checkpoint);
            prop_assert_eq!(signed.timestamp, 1_700_000_000);
        }
    }

    #[test]
    fn random_signature_bytes_from_our_keys_are_bad(
        index in 0usize..3,
        noise in proptest::collection::vec(any::<u8>(), 0..3400),
        keep_len in any::<bool>(),
    ) {
        let fx = &*FIXTURE;
        let forged = edit_signature(&fx.note, index, |bytes| {
            let len = if keep_len { bytes.len() } else { 4 + noise.len() };
            let mut out = bytes[..4].to_vec(); // our key ID: the line must verify
            out.extend(noise.iter().cycle().take(len - 4));
            if out.len() < len {
                out.resize(len, 0);
            }
            *bytes = out;
        });
        let key = ["ed25519", "ml-dsa-44", "ml-dsa-65"][index];
        match fx.verifier.verify(&forged) {
            Err(TrustError::BadSignature { key: k }) => prop_assert_eq!(k, key),
            // A zero-length signature is malformed before it is checked.
            Err(TrustError::Malformed(_)) => prop_assert!(!keep_len && noise.is_empty()),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    #[test]
    fn from_vkeys_never_panics(text in ".{0,400}") {
        let _ = Verifier::from_vkeys(&text);
    }

    #[test]
    fn mutated_vkeys_never_panic(at in any::<usize>(), with in note_chars(), cut_at in any::<usize>(), cut_len in 0usize..8) {
        let fx = &*FIXTURE;
        for text in [replace_char(&fx.vkeys, at, with), cut(&fx.vkeys, cut_at, cut_len)] {
            if let Ok(v) = Verifier::from_vkeys(&text) {
                // Only a change that keeps every key intact can load.
                prop_assert_eq!(v.to_vkeys(), fx.vkeys.clone());
            }
        }
    }

    #[test]
    fn from_private_text_never_panics(text in ".{0,400}") {
        let _ = SigningKeys::from_private_text(&text);
    }

    #[test]
    fn mutated_private_text_never_panics(at in any::<usize>(), with in note_chars(), cut_at in any::<usize>(), cut_len in 0usize..8) {
        let fx = &*FIXTURE;
        for text in [replace_char(&fx.private, at, with), cut(&fx.private, cut_at, cut_len)] {
            if let Ok(keys) = SigningKeys::from_private_text(&text) {
                prop_assert_eq!(keys.to_private_text(), fx.private.clone());
            }
        }
    }

    #[test]
    fn consistency_never_panics(
        old_size in 0u64..70,
        new_size in 0u64..70,
        path in proptest::collection::vec(any::<[u8; 32]>(), 0..12),
        roots in any::<([u8; 32], [u8; 32])>(),
    ) {
        let old = Checkpoint::new(NAME, old_size, roots.0).expect("valid");
        let new = Checkpoint::new(NAME, new_size, roots.1).expect("valid");
        let result = verify_consistency(&old, &new, &path);
        if old_size > new_size {
            prop_assert!(result.is_err());
        }
    }
}
