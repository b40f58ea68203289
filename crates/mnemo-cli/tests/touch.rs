//! `mnemo touch` and the strength `mnemo get` shows.

use std::process::Command;

fn mnemo(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("MNEMO_NO_FETCH", "1")
        .output()
        .expect("run mnemo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn touch_counts_uses_and_get_shows_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, id, err) = mnemo(
        dir.path(),
        &["--embedder", "hash", "remember", "user prefers dark mode"],
    );
    assert!(ok, "{err}");
    let id = id.trim().to_owned();
    let (ok, out, err) = mnemo(dir.path(), &["touch", &id, &id]);
    assert!(ok, "{err}");
    assert!(out.contains("touched 1 times"), "{out}");
    let (ok, out, err) = mnemo(dir.path(), &["--json", "get", &id]);
    assert!(ok, "{err}");
    let got: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(got["touches"], 1);
    assert!(got["strength"].is_number());
    let (ok, _, err) = mnemo(dir.path(), &["touch", "999"]);
    assert!(!ok);
    assert!(err.contains("999"), "{err}");
}
