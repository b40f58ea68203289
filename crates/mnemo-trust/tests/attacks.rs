//! What a forger, a tamperer or a replaying server might try, and the error
//! each gets.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use mnemo_trust::{Checkpoint, SigningKeys, TrustError, Verifier, verify_consistency};

fn missing(key: &'static str) -> Result<(), TrustError> {
    Err(TrustError::MissingSignature { key })
}

fn bad(key: &'static str) -> Result<(), TrustError> {
    Err(TrustError::BadSignature { key })
}

fn check(verifier: &Verifier, note: &str) -> Result<(), TrustError> {
    verifier.verify(note).map(|_| ())
}

fn is_malformed(result: Result<(), TrustError>) -> bool {
    matches!(result, Err(TrustError::Malformed(_)))
}

#[test]
fn one_signature_alone_is_not_enough() {
    let keys = keys65();
    let verifier = keys.verifier();
    let note = keys.sign(&checkpoint(8), 100).expect("signs");
    let (text, lines) = split(&note);
    let only = |keep: &[usize]| {
        let kept: Vec<String> = keep.iter().map(|&i| lines[i].clone()).collect();
        join(&text, &kept)
    };
    assert_eq!(check(&verifier, &only(&[0])), missing("ml-dsa-44"));
    assert_eq!(check(&verifier, &only(&[1])), missing("ed25519"));
    assert_eq!(check(&verifier, &only(&[2])), missing("ed25519"));
    assert_eq!(check(&verifier, &only(&[0, 1])), missing("ml-dsa-65"));
    assert_eq!(check(&verifier, &only(&[0, 2])), missing("ml-dsa-44"));
    assert_eq!(check(&verifier, &only(&[1, 2])), missing("ed25519"));
    assert_eq!(
        check(&verifier, &only(&[2, 0, 1])),
        Ok(()),
        "order does not matter"
    );

    // A namespace without ML-DSA-65 ignores such a line.
    let verifier44 = keys44().verifier();
    assert_eq!(check(&verifier44, &note), Ok(()));
    assert_eq!(check(&verifier44, &only(&[0, 1])), Ok(()));
}

#[test]
fn tampered_body_fails() {
    let keys = keys65();
    let verifier = keys.verifier();
    let cp = checkpoint(12345);
    let note = keys.sign(&cp, 1).expect("signs");

    // Another size: Ed25519 (checked first) fails.
    let forged = note.replacen("\n12345\n", "\n12346\n", 1);
    assert_eq!(check(&verifier, &forged), bad("ed25519"));

    // Another root: flip one base64 character of the root line.
    let root_line = STANDARD.encode(cp.root);
    let mut flipped = root_line.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let forged = note.replacen(&root_line, std::str::from_utf8(&flipped).expect("ascii"), 1);
    assert_eq!(check(&verifier, &forged), bad("ed25519"));

    // Another origin.
    let forged = note.replacen(NAME, "example.com/mnemo/ns2", 1);
    assert_eq!(check(&verifier, &forged), bad("ed25519"));

    // An added extension line: ML-DSA does not cover it, Ed25519 does.
    let (text, lines) = split(&note);
    let forged = join(&format!("{text}evil extension\n"), &lines);
    assert_eq!(check(&verifier, &forged), bad("ed25519"));
}

#[test]
fn tampered_body_with_valid_ed25519_fails_on_ml_dsa() {
    // An attacker who can forge Ed25519 (say, with a quantum computer):
    // re-sign a changed body with the Ed25519 key, keep the ML-DSA lines.
    let keys = keys65();
    let note = keys.sign(&checkpoint(5), 1).expect("signs");
    let ed_only = SigningKeys::from_seeds(NAME, &RFC8032_SECRET, &[0x01; 32], Some(&[0x02; 32]))
        .expect("valid");
    let forged_note = ed_only.sign(&checkpoint(6), 1).expect("signs");
    let (forged_text, forged_lines) = split(&forged_note);
    let (_, lines) = split(&note);
    let mixed = join(
        &forged_text,
        &[forged_lines[0].clone(), lines[1].clone(), lines[2].clone()],
    );
    assert_eq!(check(&keys.verifier(), &mixed), bad("ml-dsa-44"));
    let mixed = join(
        &forged_text,
        &[
            forged_lines[0].clone(),
            lines[2].clone(),
            forged_lines[1].clone(),
        ],
    );
    // The forged ML-DSA-44 line has another key ID, so it is ignored.
    assert_eq!(check(&keys.verifier(), &mixed), missing("ml-dsa-44"));
}

#[test]
fn flipped_signature_bytes_fail() {
    let keys = keys65();
    let verifier = keys.verifier();
    let note = keys.sign(&checkpoint(77), 1_000).expect("signs");
    for (index, key, len) in [
        (0, "ed25519", 68),
        (1, "ml-dsa-44", 2432),
        (2, "ml-dsa-65", 3321),
    ] {
        for at in [4, 5, 11, 12, 40, len / 2, len - 1] {
            let forged = edit_signature(&note, index, |b| b[at] ^= 0x01);
            assert_eq!(check(&verifier, &forged), bad(key), "{key} byte {at}");
        }
        // Truncated and extended signatures.
        let forged = edit_signature(&note, index, |b| {
            b.pop();
        });
        assert_eq!(check(&verifier, &forged), bad(key));
        let forged = edit_signature(&note, index, |b| b.push(0));
        assert_eq!(check(&verifier, &forged), bad(key));
    }
}

#[test]
fn flipped_key_id_or_name_is_ignored() {
    let keys = keys44();
    let verifier = keys.verifier();
    let note = keys.sign(&checkpoint(3), 1).expect("signs");
    // Another key ID: not our key, ignored, so the signature is missing.
    let forged = edit_signature(&note, 0, |b| b[0] ^= 0x80);
    assert_eq!(check(&verifier, &forged), missing("ed25519"));
    let forged = edit_signature(&note, 1, |b| b[3] ^= 0x01);
    assert_eq!(check(&verifier, &forged), missing("ml-dsa-44"));
    // Another name with the same key ID: ignored too.
    let (text, lines) = split(&note);
    let renamed: Vec<String> = lines
        .iter()
        .map(|l| l.replacen(NAME, "example.com/mnemo/other", 1))
        .collect();
    assert_eq!(check(&verifier, &join(&text, &renamed)), missing("ed25519"));
}

#[test]
fn unknown_signature_lines_are_ignored() {
    let keys = keys44();
    let note = keys.sign(&checkpoint(3), 1).expect("signs");
    let (text, mut lines) = split(&note);
    let witness = other_keys().sign(&checkpoint(3), 1).expect("signs");
    let (_, witness_lines) = split(&witness);
    lines.insert(0, encode_line("witness.example/w1", &[1, 2, 3, 4, 5, 6]));
    lines.extend(
        witness_lines
            .iter()
            .map(|l| l.replacen(NAME, "witness.example/w2", 1)),
    );
    // Same name, unknown key IDs (another key of the namespace, rotated out).
    lines.extend(witness_lines.iter().cloned());
    let note = join(&text, &lines);
    assert_eq!(check(&keys.verifier(), &note), Ok(()));
}

#[test]
fn a_second_line_from_one_key_is_rejected() {
    let keys = keys44();
    let note = keys.sign(&checkpoint(3), 1).expect("signs");
    let other_time = keys.sign(&checkpoint(3), 2).expect("signs");
    let (text, mut lines) = split(&note);
    let (_, other_lines) = split(&other_time);
    lines.push(other_lines[1].clone());
    assert!(is_malformed(check(&keys.verifier(), &join(&text, &lines))));
}

#[test]
fn colliding_name_and_id_must_verify() {
    // A line that claims our name and key ID but was made by another key.
    let keys = keys44();
    let note = keys.sign(&checkpoint(3), 1).expect("signs");
    let other = other_keys().sign(&checkpoint(3), 1).expect("signs");
    let (_, other_lines) = split(&other);
    let (_, our_lines) = split(&note);
    let (_, our_ed) = decode_line(&our_lines[0]);
    let (_, their_ed) = decode_line(&other_lines[0]);
    let forged = edit_signature(&note, 0, |b| {
        *b = [&our_ed[..4], &their_ed[4..]].concat();
    });
    assert_eq!(check(&keys.verifier(), &forged), bad("ed25519"));
}

#[test]
fn a_wrong_key_fails() {
    let note = keys44().sign(&checkpoint(3), 1).expect("signs");
    // Same name, other keys: none of the lines is theirs.
    assert_eq!(check(&other_keys().verifier(), &note), missing("ed25519"));
    // Other name.
    let stranger = SigningKeys::from_seeds("example.org/x", &RFC8032_SECRET, &[0x44; 32], None)
        .expect("valid");
    assert_eq!(check(&stranger.verifier(), &note), missing("ed25519"));
}

#[test]
fn ml_dsa_65_timestamp_must_match() {
    let keys = keys65();
    let a = keys.sign(&checkpoint(3), 1).expect("signs");
    let b = keys.sign(&checkpoint(3), 2).expect("signs");
    let (text, mut lines) = split(&a);
    let (_, other) = split(&b);
    lines[2] = other[2].clone();
    assert!(is_malformed(check(&keys.verifier(), &join(&text, &lines))));
}

#[test]
fn timestamp_above_2_63_is_rejected() {
    let keys = keys44();
    let note = keys.sign(&checkpoint(3), 1).expect("signs");
    let forged = edit_signature(&note, 1, |b| b[4] = 0x80);
    assert_eq!(check(&keys.verifier(), &forged), bad("ml-dsa-44"));
}

#[test]
fn truncated_notes_fail_without_panic() {
    let keys = keys44();
    let verifier = keys.verifier();
    let note = keys.sign(&checkpoint(21), 1).expect("signs");
    let mut ends: Vec<usize> = (0..note.len())
        .filter(|&i| note.is_char_boundary(i))
        .collect();
    // Every prefix near the structure, a sample of the long signature lines.
    ends.retain(|&i| i < 200 || i % 7 == 0 || note.len() - i < 16);
    for end in ends {
        assert!(verifier.verify(&note[..end]).is_err(), "prefix {end}");
    }
    // Cut at line ends: all lines, but fewer signature lines.
    let (text, lines) = split(&note);
    assert_eq!(
        check(&verifier, &join(&text, &lines[..1])),
        missing("ml-dsa-44")
    );
    assert!(is_malformed(check(&verifier, &text)));
}

#[test]
fn garbled_notes_are_malformed() {
    let keys = keys44();
    let verifier = keys.verifier();
    let note = keys.sign(&checkpoint(21), 1).expect("signs");
    let (text, lines) = split(&note);
    let garbled = [
        String::new(),
        "\n".to_owned(),
        "\n\n".to_owned(),
        note.replace('\n', "\r\n"),
        note.trim_end().to_owned(),
        note.replacen("\n\n", "\n", 1),
        format!("{note}\n"),
        note.replace('\u{2014}', "-"),
        note.replacen(
            &format!("\u{2014} {NAME} "),
            &format!("\u{2014} {NAME}  "),
            1,
        ),
        note.replacen(
            &format!("\u{2014} {NAME} "),
            &format!("\u{2014}  {NAME} "),
            1,
        ),
        note.replacen(&format!("\u{2014} {NAME} "), "\u{2014} a+b ", 1),
        note.replacen(&format!("\u{2014} {NAME} "), "\u{2014} ", 1),
        join(&text, &[format!("{}=", lines[0]), lines[1].clone()]),
        join(&text, &[encode_line(NAME, &[1, 2, 3, 4]), lines[1].clone()]),
        join(&text, &[encode_line(NAME, &[1, 2, 3]), lines[1].clone()]),
        note.replacen("\n21\n", "\n021\n", 1),
        note.replacen("\n21\n", "\n+21\n", 1),
        note.replacen("\n21\n", "\n 21\n", 1),
        note.replacen("\n21\n", "\n\n", 1),
        note.replacen("\n21\n", "\n21\n\n", 1),
        format!("x\u{1}{note}"),
        format!("{text}\n{}", "\u{2014} a AQIDBAU=\n".repeat(101)),
        "x".repeat(mnemo_trust::MAX_NOTE_BYTES + 1),
    ];
    for (i, bad_note) in garbled.iter().enumerate() {
        assert!(is_malformed(check(&verifier, bad_note)), "garbled note {i}");
    }
    // The 100-line limit is inclusive.
    let (text, lines) = split(&note);
    let mut many = vec![encode_line("w.example/x", &[1, 2, 3, 4, 5]); 98];
    many.extend(lines.iter().cloned());
    assert_eq!(check(&verifier, &join(&text, &many)), Ok(()));
}

#[test]
fn consistency_rejects_other_logs_rollbacks_and_forks() {
    let keys = keys44();
    let verifier = keys.verifier();
    let old = verifier
        .verify(&keys.sign(&checkpoint(10), 1).expect("signs"))
        .expect("verifies")
        .checkpoint;
    let new = verifier
        .verify(&keys.sign(&checkpoint(20), 2).expect("signs"))
        .expect("verifies")
        .checkpoint;

    // Another log.
    let other = Checkpoint::new("example.com/mnemo/ns2", 20, new.root).expect("valid");
    assert!(matches!(
        verify_consistency(&old, &other, &[[0; 32]]),
        Err(TrustError::WrongOrigin { .. })
    ));
    // A replayed older checkpoint as the new one.
    assert!(matches!(
        verify_consistency(&new, &old, &[]),
        Err(TrustError::NotConsistent(_))
    ));
    // Same size, another root.
    let fork = Checkpoint::new(NAME, 10, [0xee; 32]).expect("valid");
    assert!(matches!(
        verify_consistency(&old, &fork, &[]),
        Err(TrustError::NotConsistent(_))
    ));
    assert_eq!(verify_consistency(&old, &old, &[]), Ok(()));
    assert!(verify_consistency(&old, &old, &[[0; 32]]).is_err());
    // A made-up proof for unrelated roots.
    assert!(matches!(
        verify_consistency(&old, &new, &[[1; 32], [2; 32], [3; 32]]),
        Err(TrustError::NotConsistent(_))
    ));
    assert!(verify_consistency(&old, &new, &vec![[0; 32]; 10_000]).is_err());
}
