//! Byte-exact formats: the C2SP spec examples, and every field of the notes,
//! vkeys and key files this crate writes, rebuilt by hand from fixed seeds.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use ed25519_dalek::{Signer as _, Verifier as _};
use mnemo_trust::note::SignedNote;
use mnemo_trust::vkey::{KeyType, VerifierKey, key_id};
use mnemo_trust::{Checkpoint, Verifier};
use sha2::{Digest, Sha256};

fn sha256_prefix(parts: &[&[u8]]) -> u32 {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part);
    }
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// c2sp.org/signed-note "Example": the vkey verifies the note.
#[test]
fn signed_note_spec_example_verifies() {
    let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    let note = "This is an example message.\n\n\u{2014} example.com/foo \
                Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let key = VerifierKey::parse(vkey).expect("spec vkey parses");
    assert_eq!(key.key_type(), KeyType::Ed25519);
    assert_eq!(key.key_id(), 0x530d903a);
    // The key ID by hand: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pk)[:4].
    assert_eq!(
        sha256_prefix(&[b"example.com/foo", b"\n", &[0x01], key.public_key()]),
        0x530d903a
    );
    assert_eq!(key.to_line(), vkey);

    let parsed = SignedNote::parse(note).expect("spec note parses");
    assert_eq!(parsed.text, "This is an example message.\n");
    assert_eq!(parsed.signatures.len(), 1);
    let line = &parsed.signatures[0];
    assert_eq!(
        (line.name.as_str(), line.key_id),
        ("example.com/foo", key.key_id())
    );
    let pk: [u8; 32] = key.public_key().try_into().expect("32 bytes");
    let sig: [u8; 64] = line.signature.as_slice().try_into().expect("64 bytes");
    ed25519_dalek::VerifyingKey::from_bytes(&pk)
        .expect("valid point")
        .verify(
            parsed.text.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&sig),
        )
        .expect("the spec's signature verifies");
    assert_eq!(parsed.to_text(), note);
}

/// The opening example of c2sp.org/signed-note: a text with an empty line
/// inside, separated from its signature by the last empty line.
#[test]
fn signed_note_poem_example_parses() {
    let note = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let parsed = SignedNote::parse(note).expect("parses");
    assert!(parsed.text.ends_with("\n\ned \u{e8} subito sera.\n"));
    assert_eq!(parsed.signatures[0].name, "quasimodo.example/salvatore");
    assert_eq!(parsed.signatures[0].key_id, 0x367ba04b);
    assert_eq!(parsed.signatures[0].signature.len(), 64);
}

/// c2sp.org/tlog-checkpoint's example body.
#[test]
fn tlog_checkpoint_spec_example_parses() {
    let body =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let cp = Checkpoint::parse_body(body).expect("spec body parses");
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert_eq!(
        STANDARD.encode(cp.root),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.body(), body);
    // The spec's signature lines (a log key and a witness) are well formed.
    let note = format!(
        "{body}\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
         \u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
    );
    let parsed = SignedNote::parse(&note).expect("spec note parses");
    assert_eq!(parsed.text, body);
    assert_eq!(parsed.signatures.len(), 2);
    // The witness's Ed25519 cosignature: 8-byte timestamp then 64 bytes.
    assert_eq!(parsed.signatures[1].signature.len(), 72);
}

#[test]
fn checkpoint_body_layout() {
    let cp = Checkpoint {
        origin: "o".to_owned(),
        size: 0,
        root: [0; 32],
        extensions: vec!["ext one".to_owned(), "two".to_owned()],
    };
    assert_eq!(
        cp.body(),
        "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\ntwo\n"
    );
    assert_eq!(Checkpoint::parse_body(&cp.body()).expect("round trip"), cp);
}

/// Every byte of a note signed by fixed keys, rebuilt by hand.
#[test]
fn signed_note_layout_from_fixed_seeds() {
    let keys = keys65();
    let cp = checkpoint(1234);
    let timestamp = 1_700_000_123u64;
    let note = keys.sign(&cp, timestamp).expect("signs");
    let (text, lines) = split(&note);
    assert_eq!(text, cp.body());
    assert_eq!(lines.len(), 3);

    // Ed25519: the RFC 8032 test-1 key; key ID = SHA-256(name ‖ \n ‖ 0x01 ‖ pk)[:4].
    let ed_id = sha256_prefix(&[NAME.as_bytes(), b"\n", &[0x01], &RFC8032_PUBLIC]);
    let (name, bytes) = decode_line(&lines[0]);
    assert_eq!(name, NAME);
    assert_eq!(bytes.len(), 4 + 64);
    assert_eq!(bytes[..4], ed_id.to_be_bytes());
    let ed_sig: [u8; 64] = bytes[4..].try_into().expect("64 bytes");
    ed25519_dalek::VerifyingKey::from_bytes(&RFC8032_PUBLIC)
        .expect("valid")
        .verify_strict(
            text.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&ed_sig),
        )
        .expect("Ed25519 signs exactly the body");
    // Ed25519 is deterministic (RFC 8032): the exact bytes.
    assert_eq!(
        ed_sig,
        ed25519_dalek::SigningKey::from_bytes(&RFC8032_SECRET)
            .sign(text.as_bytes())
            .to_bytes()
    );

    // ML-DSA-44: pk from the FIPS 204 seed; key ID with type 0x06.
    let sk44 = ml_dsa::SigningKey::<ml_dsa::MlDsa44>::from_seed(&[0x44; 32].into());
    let vk44: &ml_dsa::VerifyingKey<ml_dsa::MlDsa44> = sk44.as_ref();
    let pk44 = vk44.encode();
    assert_eq!(pk44.len(), 1312);
    let id44 = sha256_prefix(&[NAME.as_bytes(), b"\n", &[0x06], &pk44]);
    let (name, bytes) = decode_line(&lines[1]);
    assert_eq!(name, NAME);
    assert_eq!(bytes.len(), 4 + 8 + 2420);
    assert_eq!(bytes[..4], id44.to_be_bytes());
    assert_eq!(bytes[4..12], timestamp.to_be_bytes());
    // cosigned_message, field by field (tlog-cosignature "ML-DSA-44 signed message").
    let mut message = Vec::new();
    message.extend_from_slice(b"subtree/v1\n\x00");
    message.push(NAME.len() as u8);
    message.extend_from_slice(NAME.as_bytes());
    message.extend_from_slice(&timestamp.to_be_bytes());
    message.push(NAME.len() as u8); // origin == name here
    message.extend_from_slice(NAME.as_bytes());
    message.extend_from_slice(&[0; 8]); // start
    message.extend_from_slice(&1234u64.to_be_bytes()); // end
    message.extend_from_slice(&cp.root);
    assert_eq!(message.len(), 12 + 1 + 21 + 8 + 1 + 21 + 8 + 8 + 32);
    assert_eq!(message, message44(timestamp, &cp));
    let sig44 = ml_dsa::Signature::<ml_dsa::MlDsa44>::try_from(&bytes[12..]).expect("decodes");
    assert!(vk44.verify_with_context(&message, b"", &sig44));
    assert!(
        !vk44.verify_with_context(&message, b"mnemo", &sig44),
        "context is empty"
    );
    // Natively the signature is hedged (randomized), so its bytes are not
    // fixed: RustCrypto's ml-dsa, another implementation, verifying it over
    // exactly this message (and not over another) is the check.
    let mut other = message.clone();
    *other.last_mut().expect("non-empty") ^= 1;
    assert!(!vk44.verify_with_context(&other, b"", &sig44));

    // ML-DSA-65: type bytes 0xff ‖ "mnemo-ml-dsa-65/v1", label "mnemo-mldsa65/v1\n\0".
    let sk65 = ml_dsa::SigningKey::<ml_dsa::MlDsa65>::from_seed(&[0x65; 32].into());
    let vk65: &ml_dsa::VerifyingKey<ml_dsa::MlDsa65> = sk65.as_ref();
    let pk65 = vk65.encode();
    assert_eq!(pk65.len(), 1952);
    let id65 = sha256_prefix(&[
        NAME.as_bytes(),
        b"\n",
        &[0xff],
        b"mnemo-ml-dsa-65/v1",
        &pk65,
    ]);
    let (name, bytes) = decode_line(&lines[2]);
    assert_eq!(name, NAME);
    assert_eq!(bytes.len(), 4 + 8 + 3309);
    assert_eq!(bytes[..4], id65.to_be_bytes());
    assert_eq!(bytes[4..12], timestamp.to_be_bytes());
    let mut message65 = b"mnemo-mldsa65/v1\n\x00".to_vec();
    message65.extend_from_slice(&message[12..]);
    assert_eq!(message65, common::message65(timestamp, &cp));
    let sig65 = ml_dsa::Signature::<ml_dsa::MlDsa65>::try_from(&bytes[12..]).expect("decodes");
    assert!(vk65.verify_with_context(&message65, b"", &sig65));
    assert!(
        !vk65.verify_with_context(&message, b"", &sig65),
        "own label"
    );

    // The vkeys carry the same keys and IDs.
    let vkeys = keys.verifier().to_vkeys();
    let vkey_lines: Vec<&str> = vkeys.lines().collect();
    assert_eq!(
        vkey_lines,
        [
            format!(
                "{NAME}+{ed_id:08x}+{}",
                STANDARD.encode([&[0x01][..], &RFC8032_PUBLIC].concat())
            ),
            format!(
                "{NAME}+{id44:08x}+{}",
                STANDARD.encode([&[0x06][..], &pk44].concat())
            ),
            format!(
                "{NAME}+{id65:08x}+{}",
                STANDARD.encode([&b"\xffmnemo-ml-dsa-65/v1"[..], &pk65].concat())
            ),
        ]
    );
    assert_eq!(key_id(NAME, KeyType::MlDsa44, &pk44), id44);

    // The private key file: PRIVATE+KEY+<name>+<hex id>+<base64(type ‖ seed)>.
    assert_eq!(
        keys.to_private_text(),
        format!(
            "PRIVATE+KEY+{NAME}+{ed_id:08x}+{}\nPRIVATE+KEY+{NAME}+{id44:08x}+{}\nPRIVATE+KEY+{NAME}+{id65:08x}+{}\n",
            STANDARD.encode([&[0x01][..], &RFC8032_SECRET].concat()),
            STANDARD.encode([&[0x06][..], &[0x44; 32]].concat()),
            STANDARD.encode([&b"\xffmnemo-ml-dsa-65/v1"[..], &[0x65; 32]].concat()),
        )
    );

    let signed = Verifier::from_vkeys(&vkeys)
        .expect("vkeys parse")
        .verify(&note)
        .expect("verifies");
    assert_eq!((signed.checkpoint, signed.timestamp), (cp, timestamp));
}

/// Signing twice: the same body, Ed25519 line (RFC 8032 is deterministic),
/// key IDs and timestamps; the ML-DSA signatures differ natively (hedged
/// FIPS 204 signing) and are equal on wasm32 (deterministic), and all
/// verify.
#[test]
fn signing_twice() {
    let keys = keys65();
    let cp = checkpoint(7);
    let a = keys.sign(&cp, 5).expect("signs");
    let b = keys.sign(&cp, 5).expect("signs");
    let (text_a, lines_a) = split(&a);
    let (text_b, lines_b) = split(&b);
    assert_eq!(text_a, text_b);
    assert_eq!(lines_a[0], lines_b[0]);
    for i in [1, 2] {
        let (_, sig_a) = decode_line(&lines_a[i]);
        let (_, sig_b) = decode_line(&lines_b[i]);
        assert_eq!(sig_a[..12], sig_b[..12], "key ID and timestamp");
        #[cfg(not(target_arch = "wasm32"))]
        assert_ne!(sig_a, sig_b, "hedged signing");
        #[cfg(target_arch = "wasm32")]
        assert_eq!(sig_a, sig_b, "deterministic signing");
    }
    for note in [&a, &b] {
        assert_eq!(
            keys.verifier().verify(note).expect("verifies").checkpoint,
            cp
        );
    }
}
