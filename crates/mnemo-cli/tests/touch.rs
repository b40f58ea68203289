//! `mnemo touch` and the strength `mnemo get` shows.

mod common;

use common::{fails, json, ok};

#[test]
fn touch_counts_uses_and_get_shows_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let id = ok(d, &["remember", "user prefers dark mode"]);
    let id = id.trim();
    let out = ok(d, &["touch", id, id]);
    assert!(out.contains("touched 1 times"), "{out}");
    let got = json(d, &["get", id]);
    assert_eq!(got["touches"], 1);
    assert!(got["strength"].is_number());
    let err = fails(d, &["touch", "999"]);
    assert!(err.contains("999"), "{err}");
}
