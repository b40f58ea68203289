//! `mnemo remember --expires / --ttl`, the deadline, duplicate flag and
//! merged writes `mnemo get` shows, and `mnemo expire`.

mod common;

use mnemo::lifecycle::{DuplicateMode, Duplicates};

/// Runs `mnemo --data DATA --embedder hash ARGS`: whether it succeeded, its
/// standard output and its standard error.
fn mnemo(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = common::mnemo(data, args);
    (
        out.status.success(),
        common::stdout(&out),
        common::stderr(&out),
    )
}

fn get_json(data: &std::path::Path, id: &str) -> serde_json::Value {
    let (ok, out, err) = mnemo(data, &["--json", "get", id]);
    assert!(ok, "{err}");
    serde_json::from_str(out.trim()).expect("JSON")
}

fn seconds(value: &serde_json::Value) -> i64 {
    mnemo::rfc3339::parse(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .as_secs()
}

#[test]
fn deadlines_from_remember_show_in_get_and_expire_sweeps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let before = mnemo::Timestamp::now().as_secs();
    let (ok, id, err) = mnemo(
        data,
        &["remember", "the meeting room is B12", "--ttl", "12h"],
    );
    assert!(ok, "{err}");
    let after = mnemo::Timestamp::now().as_secs();
    let soon = id.trim().to_owned();
    let got = get_json(data, &soon);
    let deadline = seconds(&got["expires_at"]);
    assert!(
        (before + 43_200..=after + 43_200).contains(&deadline),
        "{got}"
    );
    assert_eq!(got["duplicate_of"], serde_json::Value::Null);
    assert_eq!(got["merged"], serde_json::json!({"count": 0, "recent": []}));
    let (ok, table, err) = mnemo(data, &["get", &soon]);
    assert!(ok, "{err}");
    let line = table
        .lines()
        .find(|l| l.starts_with("expires"))
        .unwrap_or_else(|| panic!("no expires line:\n{table}"));
    assert!(
        line.contains(got["expires_at"].as_str().expect("time")),
        "{line}"
    );

    let (ok, id, err) = mnemo(
        data,
        &[
            "remember",
            "the one-time code is 449120",
            "--expires",
            "2000-01-01T00:00:00Z",
        ],
    );
    assert!(ok, "{err}");
    let gone = id.trim().to_owned();
    let (ok, _, err) = mnemo(data, &["get", &gone]);
    assert!(!ok, "past its deadline, it is gone from reads");
    assert!(err.contains(&gone), "{err}");

    let (ok, out, err) = mnemo(data, &["--json", "expire"]);
    assert!(ok, "{err}");
    let swept: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    let gone_id: u64 = gone.parse().expect("an id");
    // This sweep's, or the namespace's own maintenance thread's if that
    // came first.
    assert!(
        swept == serde_json::json!({"expired": [gone_id]})
            || swept == serde_json::json!({"expired": []}),
        "{swept}"
    );
    let (ok, out, err) = mnemo(data, &["expire"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "nothing to expire");
    let (ok, out, err) = mnemo(data, &["--json", "query"]);
    assert!(ok, "{err}");
    assert!(out.contains("B12") && !out.contains("449120"), "{out}");

    // One or the other, and only a lifetime the engine accepts.
    for bad in [
        &["--ttl", "1h", "--expires", "2200-01-01T00:00:00Z"][..],
        &["--ttl", "0"][..],
        &["--ttl", "3y"][..],
        &["--expires", "someday"][..],
    ] {
        let mut args = vec!["remember", "refused"];
        args.extend_from_slice(bad);
        let (ok, _, err) = mnemo(data, &args);
        assert!(!ok, "{bad:?} is refused");
        let flag = if bad.contains(&"--expires") && !bad.contains(&"--ttl") {
            "--expires"
        } else {
            "--ttl"
        };
        assert!(err.contains(flag), "{bad:?}: {err}");
    }
    let (ok, out, err) = mnemo(data, &["--json", "query", "--contains", "refused"]);
    assert!(ok, "{err}");
    assert!(!out.contains("refused"), "nothing was written: {out}");
}

#[test]
fn get_shows_merged_writes_and_duplicate_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let with = |mode| {
        mnemo::Options::default().duplicates(Duplicates {
            mode,
            ..Duplicates::default()
        })
    };
    let (first, flagged, original) = {
        let engine = mnemo::Mnemo::open_with(data, with(DuplicateMode::Merge)).expect("open");
        let ns = engine.namespace("default").expect("namespace");
        let first = ns
            .remember(
                mnemo::NewMemory::new("The user prefers dark mode in the editor").source("chat-1"),
            )
            .expect("first");
        let done = ns
            .remember_batch(vec![
                mnemo::NewMemory::new("the user prefers dark mode in the editor!").source("chat-2"),
            ])
            .expect("repeat");
        assert_eq!(done[0].outcome, mnemo::Outcome::Merged);
        // The log's lock goes with the last handle.
        drop(ns);
        engine.close().expect("close");
        let engine = mnemo::Mnemo::open_with(data, with(DuplicateMode::Flag)).expect("reopen");
        let ns = engine.namespace("default").expect("namespace");
        let original = ns
            .remember(mnemo::NewMemory::new("Alice moved to Lisbon in May"))
            .expect("original");
        let flagged = ns
            .remember(mnemo::NewMemory::new("alice moved to Lisbon in May."))
            .expect("flagged");
        drop(ns);
        engine.close().expect("close");
        (first.0.to_string(), flagged.0.to_string(), original.0)
    };

    let got = get_json(data, &first);
    assert_eq!(got["merged"]["count"], 1, "{got}");
    assert_eq!(got["merged"]["recent"][0]["source"], "chat-2", "{got}");
    let (ok, table, err) = mnemo(data, &["get", &first]);
    assert!(ok, "{err}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("merged") && l.contains("1 writes") && l.contains("chat-2")),
        "{table}"
    );

    let got = get_json(data, &flagged);
    assert_eq!(got["duplicate_of"]["id"], original, "{got}");
    let (ok, table, err) = mnemo(data, &["get", &flagged]);
    assert!(ok, "{err}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("duplicate of") && l.contains(&original.to_string())),
        "{table}"
    );
}
