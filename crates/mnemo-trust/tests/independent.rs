//! Runs `tests/independent_check.py`, a verifier written from the specs in
//! Python with other libraries (`cryptography`, `dilithium-py`), on notes
//! signed here. Ignored by default: it needs those packages.
//!
//! ```text
//! python3 -m venv /tmp/trust-venv && /tmp/trust-venv/bin/pip install cryptography dilithium-py
//! MNEMO_TRUST_PYTHON=/tmp/trust-venv/bin/python cargo test -p mnemo-trust --test independent -- --ignored
//! ```

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn run_script(dir: &Path) -> std::process::Output {
    let python = std::env::var("MNEMO_TRUST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/independent_check.py");
    Command::new(python)
        .arg(script)
        .arg(dir)
        .output()
        .expect("python runs")
}

#[test]
#[ignore = "needs Python with cryptography and dilithium-py (set MNEMO_TRUST_PYTHON)"]
fn python_verifies_our_notes_and_rejects_tampered_ones() {
    for keys in [keys44(), keys65()] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cp = checkpoint(31_337);
        cp.extensions = vec!["an extension".to_owned()];
        let note = keys.sign(&cp, 1_700_000_001).expect("signs");
        std::fs::write(dir.path().join("vkeys"), keys.verifier().to_vkeys()).expect("write");
        std::fs::write(dir.path().join("checkpoint"), &note).expect("write");
        std::fs::write(dir.path().join("private"), keys.to_private_text()).expect("write");
        assert_script_accepts(dir.path());

        // A tampered note: the script must say no.
        let forged = note.replacen("\n31337\n", "\n31338\n", 1);
        std::fs::write(dir.path().join("checkpoint"), forged).expect("write");
        std::fs::remove_file(dir.path().join("private")).expect("remove");
        let out = run_script(dir.path());
        assert_eq!(out.status.code(), Some(1), "tampered note accepted");
    }
}

/// The note in `tests/data`, signed by this crate before its native ML-DSA
/// signing moved to AWS-LC, verifies independently too.
#[test]
#[ignore = "needs Python with cryptography and dilithium-py (set MNEMO_TRUST_PYTHON)"]
fn python_verifies_the_v1_note() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    std::fs::copy(data.join("v1-vkeys"), dir.path().join("vkeys")).expect("copy");
    std::fs::copy(data.join("v1-note"), dir.path().join("checkpoint")).expect("copy");
    std::fs::write(dir.path().join("private"), keys65().to_private_text()).expect("write");
    assert_script_accepts(dir.path());
}

/// Runs the script on `dir` and fails the test, with its output, unless it
/// accepts.
fn assert_script_accepts(dir: &Path) {
    let out = run_script(dir);
    assert!(
        out.status.success(),
        "independent check failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
