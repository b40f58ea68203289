//! What the CLI tests that run `mnemo` on a data directory share: running
//! the built binary with the hash embedder, and checking its exit.

// Each test file uses its own subset.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs `mnemo --data DATA --embedder hash ARGS`.
pub fn mnemo(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .arg("--data")
        .arg(data)
        .args(["--embedder", "hash"])
        .args(args)
        .output()
        .expect("run mnemo")
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command that must succeed and returns its standard output.
pub fn ok(data: &Path, args: &[&str]) -> String {
    let out = mnemo(data, args);
    assert!(
        out.status.success(),
        "mnemo {args:?} failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Runs a command with `--json` that must succeed and parses its output.
pub fn json(data: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let text = ok(data, &all);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Runs a command that must fail with exit code 2 (a panic exits with 101)
/// and returns its standard error.
pub fn fails(data: &Path, args: &[&str]) -> String {
    let out = mnemo(data, args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "mnemo {args:?} should fail: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stderr(&out)
}

/// The committed LoCoMo result (`bench-results/locomo-dev.json`, written by
/// `scripts/bench-all`): the `mnemo eval locomo --json` object, whether at
/// the top of the file or wrapped with the commit it was measured at.
pub fn committed_locomo_eval(granularity: &str) -> Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench-results/locomo-dev.json");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/bench-all writes it)", file.display()));
    let json: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    match granularity {
        "turn" => json["eval"].clone(),
        _ => json[format!("eval_{granularity}")].clone(),
    }
}
