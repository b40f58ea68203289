//! Signed checkpoints from the command line: `mnemo key create`, `mnemo
//! checkpoint` and `mnemo verify --checkpoint OLD --key PUB`, run as the
//! built binary on temporary data directories, against the attacks a
//! signed checkpoint exists to catch.

mod common;

use std::fs;
use std::path::Path;

use common::{fails, json, mnemo, ok, stdout};

/// `mnemo verify --checkpoint NOTE --key PUB`: (exit code, output).
fn verify(data: &Path, note: &Path, key: &Path) -> (Option<i32>, String) {
    let out = mnemo(
        data,
        &[
            "verify",
            "--checkpoint",
            note.to_str().expect("utf-8"),
            "--key",
            key.to_str().expect("utf-8"),
        ],
    );
    (out.status.code(), stdout(&out))
}

/// `mnemo key create --name NAME --out OUT` (arguments only).
fn key_create<'a>(name: &'a str, out: &'a Path) -> [&'a str; 6] {
    [
        "key",
        "create",
        "--name",
        name,
        "--out",
        out.to_str().expect("utf-8"),
    ]
}

/// Runs `verify` expecting it to fail with `why` in the checkpoint row.
fn refused(data: &Path, note: &Path, key: &Path, why: &str) {
    let (code, out) = verify(data, note, key);
    assert_eq!(code, Some(1), "{out}");
    assert!(checkpoint_row(&out).contains(why), "{why}: {out}");
}

/// The checkpoint row of `mnemo verify`'s table.
fn checkpoint_row(out: &str) -> &str {
    out.lines()
        .find(|l| l.trim_start().starts_with("checkpoint"))
        .unwrap_or_else(|| panic!("no checkpoint row: {out}"))
}

/// Writes `mnemo checkpoint` of namespace `ns` to `to`.
fn sign(data: &Path, key: &Path, ns: &str, to: &Path) -> String {
    let note = ok(
        data,
        &[
            "--namespace",
            ns,
            "checkpoint",
            "--key",
            key.to_str().expect("utf-8"),
        ],
    );
    fs::write(to, &note).expect("write the note");
    note
}

#[test]
fn a_log_that_only_grew_verifies_and_every_attack_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = &dir.path().join("data");
    let key = &dir.path().join("signer.key");
    let public = &dir.path().join("signer.pub");

    let out = ok(data, &key_create("example.com/mnemo", key));
    assert!(out.contains("example.com/mnemo+"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(key).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is the owner's alone");
    }
    let vkeys = fs::read_to_string(public).expect("public keys");
    assert_eq!(vkeys.lines().count(), 2, "Ed25519 and ML-DSA-44: {vkeys}");
    let again = fails(data, &key_create("x", key));
    assert!(again.contains("never overwrites"), "{again}");

    for text in ["one", "two", "three"] {
        ok(data, &["remember", text]);
    }
    let old = &dir.path().join("old.note");
    let note = sign(data, key, "default", old);
    assert!(note.starts_with("example.com/mnemo/default\n"), "{note}");
    assert_eq!(note.matches("\n— example.com/mnemo ").count(), 2, "{note}");
    for text in ["four", "five", "six", "seven"] {
        ok(data, &["remember", text]);
    }

    // The log grew: both signatures and the consistency proof hold.
    let (code, out) = verify(data, old, public);
    assert_eq!(code, Some(0), "{out}");
    assert!(checkpoint_row(&out).contains("OK"), "{out}");

    // Signed by one key only: the ML-DSA line removed.
    let lines: Vec<&str> = note.lines().collect();
    let sig_lines: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with('—'))
        .collect();
    assert_eq!(sig_lines.len(), 2);
    let body_end = lines.iter().position(|l| l.is_empty()).expect("blank line");
    let first_key_only = format!("{}\n\n{}\n", lines[..body_end].join("\n"), sig_lines[0]);
    let second_key_only = format!("{}\n\n{}\n", lines[..body_end].join("\n"), sig_lines[1]);
    for (what, text) in [
        ("Ed25519 only", first_key_only),
        ("ML-DSA only", second_key_only),
    ] {
        let one_key = &dir.path().join(format!("{what}.note"));
        fs::write(one_key, text).expect("write");
        refused(data, one_key, public, "FAILED");
    }

    // A changed root or size in the signed body.
    let tampered = &dir.path().join("tampered.note");
    let mut body: Vec<String> = note.lines().map(str::to_owned).collect();
    body[1] = "2".to_owned();
    fs::write(tampered, body.join("\n") + "\n").expect("write");
    let (code, out) = verify(data, tampered, public);
    assert_eq!(code, Some(1), "{out}");

    // Another signer's keys.
    let other_key = &dir.path().join("other.key");
    ok(data, &key_create("example.com/mnemo", other_key));
    refused(data, old, &dir.path().join("other.pub"), "FAILED");

    // A checkpoint of another namespace.
    ok(data, &["--namespace", "elsewhere", "remember", "elsewhere"]);
    let elsewhere = &dir.path().join("elsewhere.note");
    sign(data, key, "elsewhere", elsewhere);
    refused(data, elsewhere, public, "not this namespace");

    // A history rolled back to before a newer checkpoint: the data
    // directory restored from a copy taken at the old checkpoint.
    let backup = &dir.path().join("backup");
    copy_dir(data, backup);
    for text in ["eight", "nine"] {
        ok(data, &["remember", text]);
    }
    let newer = &dir.path().join("newer.note");
    sign(data, key, "default", newer);
    refused(backup, newer, public, "cut back");

    // A rewritten history of the same length: another data directory whose
    // log holds other events, checked against the old checkpoint.
    let forged = &dir.path().join("forged");
    for text in ["uno", "dos", "tres", "cuatro", "cinco", "seis", "siete"] {
        ok(forged, &["remember", text]);
    }
    refused(forged, old, public, "does not extend");

    // Garbage instead of a note, and a note without its keys.
    fs::write(tampered, "not a checkpoint").expect("write");
    let (code, out) = verify(data, tampered, public);
    assert_eq!(code, Some(1), "{out}");
    let missing = mnemo(data, &["verify", "--checkpoint", "x.note"]);
    assert_eq!(missing.status.code(), Some(2), "--checkpoint needs --key");
}

/// `mnemo prove ID --checkpoint NOTE --key PUB [--json]`: the output.
fn prove(data: &Path, id: &str, note: &Path, key: &Path, json: bool) -> std::process::Output {
    let mut args = vec![
        "prove",
        id,
        "--checkpoint",
        note.to_str().expect("utf-8"),
        "--key",
        key.to_str().expect("utf-8"),
    ];
    if json {
        args.insert(0, "--json");
    }
    mnemo(data, &args)
}

#[test]
fn a_memory_is_proven_against_a_signed_checkpoint_and_bad_sizes_and_notes_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = &dir.path().join("data");
    let key = &dir.path().join("signer.key");
    let public = &dir.path().join("signer.pub");
    ok(data, &key_create("example.com/mnemo", key));
    let ids: Vec<String> = ["one", "two", "three"]
        .iter()
        .map(|text| ok(data, &["remember", text]).trim().to_owned())
        .collect();
    let old = &dir.path().join("old.note");
    let note = sign(data, key, "default", old);
    let verifier = mnemo_trust::Verifier::from_vkeys(&fs::read_to_string(public).expect("vkeys"))
        .expect("vkeys");
    let signed = verifier
        .verify(&note)
        .expect("the note verifies")
        .checkpoint;
    let later = ok(data, &["remember", "four"]).trim().to_owned();
    ok(data, &["remember", "five"]);

    // Proven against the checkpoint's root, not the head's.
    let out = prove(data, &ids[1], old, public, true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        common::stderr(&out)
    );
    let answer: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["size"], signed.size);
    let root_hex: String = signed.root.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(answer["root"], root_hex);
    assert_eq!(answer["checkpoint"]["origin"], "example.com/mnemo/default");
    let head = json(data, &["stats"]);
    assert!(head["merkle_root"].is_string(), "{head}");
    assert_ne!(
        head["merkle_root"], root_hex,
        "the head has moved on: {head}"
    );
    let table = prove(data, &ids[0], old, public, false);
    assert_eq!(table.status.code(), Some(0), "{}", stdout(&table));
    assert!(stdout(&table).contains("OK: memory"), "{}", stdout(&table));
    // Without a checkpoint: against the current head.
    let now = ok(data, &["prove", &later]);
    assert!(now.contains("current head") && now.contains("OK"), "{now}");

    // A memory written after the checkpoint is not in its tree.
    let out = prove(data, &later, old, public, false);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = common::stderr(&out);
    assert!(
        err.contains("size") && err.contains("does not contain"),
        "{err}"
    );

    // A checkpoint past the local log (a copy taken before it grew).
    let backup = &dir.path().join("backup");
    copy_dir(data, backup);
    ok(data, &["remember", "six"]);
    let newer = &dir.path().join("newer.note");
    sign(data, key, "default", newer);
    let out = prove(backup, &ids[1], newer, public, false);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = common::stderr(&out);
    assert!(
        err.contains("size") && err.contains("past the log"),
        "{err}"
    );

    // Another history of the same length: the proof leads elsewhere.
    let forged = &dir.path().join("forged");
    for text in ["uno", "dos", "tres", "cuatro", "cinco"] {
        ok(forged, &["remember", text]);
    }
    let out = prove(forged, &ids[1], old, public, false);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("FAILED"), "{}", stdout(&out));

    // A tampered note, and another signer's keys.
    let tampered = &dir.path().join("tampered.note");
    let mut lines: Vec<&str> = note.split('\n').collect();
    lines[1] = "2";
    fs::write(tampered, lines.join("\n")).expect("write");
    let out = prove(data, &ids[1], tampered, public, false);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("does not verify"), "{}", stdout(&out));
    ok(
        data,
        &key_create("example.com/mnemo", &dir.path().join("other.key")),
    );
    let out = prove(data, &ids[1], old, &dir.path().join("other.pub"), false);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    // --checkpoint needs --key.
    let missing = mnemo(data, &["prove", &ids[1], "--checkpoint", "x.note"]);
    assert_eq!(missing.status.code(), Some(2));
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy");
        }
    }
}
