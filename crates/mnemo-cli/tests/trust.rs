//! Signed checkpoints from the command line: `mnemo key create`, `mnemo
//! checkpoint` and `mnemo verify --checkpoint OLD --key PUB`, run as the
//! built binary on temporary data directories, against the attacks a
//! signed checkpoint exists to catch.

mod common;

use std::fs;
use std::path::Path;

use common::{fails, mnemo, ok, stdout};

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
