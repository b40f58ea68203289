//! The fact commands (`fact ...`, `conflicts`, `resolve`) and the
//! procedural memory commands (`trajectory add`, `suggest`, `patterns`)
//! run as the built binary against temporary data directories, with the
//! hash embedder (no model needed).

mod common;

use common::{fails, json, ok};
use serde_json::Value;

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_u64().expect("an id"))
        .collect()
}

#[test]
fn a_fact_session_from_assertion_to_resolution_with_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    ok(
        data,
        &["remember", "Alice: I moved to Berlin in January 2023"],
    );

    // Paris, then Berlin from a later date: a knowledge update.
    let out = ok(
        data,
        &[
            "fact",
            "add",
            "alice",
            "lives_in",
            "Paris",
            "--from",
            "2020-01-01",
        ],
    );
    assert!(out.starts_with("fact 1 added"), "{out}");
    let out = ok(
        data,
        &[
            "fact",
            "add",
            "alice",
            "lives_in",
            "Berlin",
            "--from",
            "2023-01-01",
            "--evidence",
            "1",
        ],
    );
    assert!(out.starts_with("fact 2 added"), "{out}");
    assert!(out.contains("supersedes fact 1"), "{out}");
    assert!(out.contains("2023-01-01T00:00:00Z"), "{out}");

    // London from the same date contradicts Berlin: a conflict.
    let added = json(
        data,
        &[
            "fact",
            "add",
            "alice",
            "lives_in",
            "London",
            "--from",
            "2023-01-01",
            "--confidence",
            "0.9",
        ],
    );
    assert_eq!(added["id"], 3);
    assert_eq!(ids(&added["superseded"]), Vec::<u64>::new());
    assert_eq!(added["conflicts"][0]["id"], 1);
    assert_eq!(added["conflicts"][0]["with"], 2);
    let reason = added["conflicts"][0]["reason"].as_str().expect("a reason");
    assert!(
        reason.contains("Berlin") && reason.contains("London"),
        "{reason}"
    );

    let out = ok(data, &["conflicts"]);
    assert!(out.contains("detected"), "{out}");
    assert!(out.contains("alice/lives_in"), "{out}");
    assert!(out.contains("2 \"Berlin\" vs 3 \"London\""), "{out}");
    assert!(out.contains("1 open conflict"), "{out}");

    // Both facts are believed but flagged while the conflict is open.
    let listed = json(data, &["fact", "list", "--subject", "alice"]);
    assert_eq!(listed["count"], 3);
    assert_eq!(listed["facts"][1]["quarantine"], "conservative");

    let out = ok(
        data,
        &["fact", "challenge", "3", "--reason", "one message only"],
    );
    assert!(out.contains("requires-witness"), "{out}");
    let out = ok(data, &["conflicts"]);
    assert!(out.contains("challenged"), "{out}");

    let out = ok(
        data,
        &[
            "resolve",
            "1",
            "--accept",
            "2",
            "--deprecate",
            "3",
            "--rationale",
            "Berlin is confirmed by memory 1",
        ],
    );
    assert!(out.contains("conflict 1 resolved"), "{out}");
    assert!(out.contains("accepted 2, deprecated 3"), "{out}");

    assert_eq!(json(data, &["conflicts"])["count"], 0);
    let all = json(data, &["conflicts", "--all"]);
    assert_eq!(all["count"], 1);
    let c = &all["conflicts"][0];
    assert_eq!(c["state"], "resolved");
    assert_eq!(ids(&c["resolution"]["accepted"]), [2]);
    assert_eq!(ids(&c["resolution"]["deprecated"]), [3]);
    assert_eq!(c["facts"][1]["object"], "London");
    let out = ok(data, &["conflicts", "--all"]);
    assert!(out.contains("resolved"), "{out}");
    assert!(out.contains("Berlin is confirmed"), "{out}");

    // Believed now: Paris (for its closed window) and Berlin; London only
    // with --all.
    let out = ok(data, &["fact", "list"]);
    assert!(out.contains("Paris") && out.contains("Berlin"), "{out}");
    assert!(!out.contains("London"), "{out}");
    assert!(out.contains("2 facts"), "{out}");
    let now = json(
        data,
        &["fact", "list", "--subject", "alice", "--at", "2024-06-01"],
    );
    assert_eq!(now["count"], 1);
    assert_eq!(now["facts"][0]["object"], "Berlin");
    assert_eq!(now["facts"][0]["quarantine"], "none");
    assert_eq!(ids(&now["facts"][0]["evidence"]), [1]);
    let then = json(data, &["fact", "list", "--at", "2021-06-01"]);
    assert_eq!(then["facts"][0]["object"], "Paris");
    assert_eq!(then["facts"][0]["valid_until"], "2023-01-01T00:00:00Z");
    let every = json(data, &["fact", "list", "--all"]);
    assert_eq!(every["count"], 3);
    assert_eq!(every["facts"][2]["status"], "deprecated");
    assert_eq!(every["facts"][2]["quarantine"], "blocked");
    // Before anything was recorded, nothing was known.
    let before = json(data, &["fact", "list", "--known-at", "2000-01-01"]);
    assert_eq!(before["count"], 0);

    // The timeline, with every assertion proven against the current root.
    let out = ok(data, &["fact", "history", "alice", "lives_in", "--verify"]);
    for needle in [
        "fact 1  alice lives_in \"Paris\"",
        "superseded by fact 2",
        "conflict 1 opened with fact 3",
        "challenged: one message only",
        "deprecated (conflict 1): Berlin is confirmed by memory 1",
        "evidence: memories 1",
        ": verified",
        "all 3 assertion proofs verified",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    let out = ok(data, &["fact", "history", "alice", "lives_in"]);
    assert!(out.contains("not checked"), "{out}");
    assert!(!out.contains("erased evidence"), "{out}");
    let history = json(data, &["fact", "history", "alice", "lives_in", "--verify"]);
    assert_eq!(history["verified"], true);
    let root = history["root"].as_str().expect("a root").to_owned();
    assert_eq!(root.len(), 64);
    let stats = json(data, &["stats"]);
    assert_eq!(stats["merkle_root"], root.as_str());
    assert_eq!(stats["facts"], 3);
    assert_eq!(stats["open_conflicts"], 0);
    let facts = history["facts"].as_array().expect("facts");
    assert_eq!(facts.len(), 3);
    for f in facts {
        let proof = &f["proof"];
        assert_eq!(proof["verified"], true);
        assert_eq!(proof["root"], root.as_str());
        assert_eq!(proof["seq"], f["seq"]);
        assert!(proof["audit_path_len"].as_u64().expect("a length") > 0);
        assert_eq!(f["history"][0]["change"], "asserted");
    }
    assert_eq!(facts[2]["history"][3]["change"], "deprecated");
    assert_eq!(facts[2]["history"][3]["conflict"], 1);

    // Forgetting the evidence erases it; the facts keep its id, marked.
    ok(data, &["forget", "1"]);
    let now = json(
        data,
        &["fact", "list", "--subject", "alice", "--at", "2024-06-01"],
    );
    assert_eq!(ids(&now["facts"][0]["evidence"]), [1]);
    assert_eq!(ids(&now["facts"][0]["erased_evidence"]), [1]);
    let out = ok(data, &["fact", "history", "alice", "lives_in", "--verify"]);
    assert!(out.contains("erased evidence: memories 1"), "{out}");
    assert!(out.contains("all 3 assertion proofs verified"), "{out}");

    // A fact that no one asserted has no history; no proof can fail.
    let out = ok(data, &["fact", "history", "bob", "lives_in", "--verify"]);
    assert!(out.contains("no facts of bob lives_in"), "{out}");
}

#[test]
fn support_quarantine_retract_and_multi_valued_predicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    ok(data, &["remember", "Bob speaks French and Spanish"]);
    let out = ok(data, &["fact", "declare", "speaks", "multi"]);
    assert!(out.contains("multi-valued"), "{out}");
    ok(data, &["fact", "add", "bob", "speaks", "French"]);
    let added = json(data, &["fact", "add", "bob", "speaks", "Spanish"]);
    assert_eq!(added["conflicts"], Value::Array(vec![]));

    ok(data, &["fact", "challenge", "2", "--reason", "unsure"]);
    let listed = json(data, &["fact", "list", "--subject", "bob"]);
    assert_eq!(
        listed["count"], 1,
        "a challenged fact is withheld by default"
    );
    let listed = json(
        data,
        &[
            "fact",
            "list",
            "--subject",
            "bob",
            "--max-quarantine",
            "requires-witness",
        ],
    );
    assert_eq!(listed["count"], 2);

    let out = ok(
        data,
        &[
            "fact",
            "support",
            "2",
            "--evidence",
            "1",
            "--note",
            "he said so",
        ],
    );
    assert!(out.contains("quarantine none"), "{out}");
    assert!(out.contains("memories 1"), "{out}");

    let out = ok(
        data,
        &["fact", "quarantine", "1", "blocked", "--reason", "test"],
    );
    assert!(out.contains("quarantined at blocked"), "{out}");
    assert_eq!(json(data, &["fact", "list"])["count"], 1);
    let out = ok(
        data,
        &["fact", "quarantine", "1", "clear", "--reason", "done"],
    );
    assert!(out.contains("now none"), "{out}");
    assert_eq!(json(data, &["fact", "list"])["count"], 2);

    let retracted = json(data, &["fact", "retract", "1", "--reason", "wrong"]);
    assert_eq!(retracted["status"], "retracted");
    assert_eq!(json(data, &["fact", "list"])["count"], 1);

    let history = json(data, &["fact", "history", "bob", "speaks"]);
    let changes: Vec<&str> = history["facts"][1]["history"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["change"].as_str().expect("a change"))
        .collect();
    assert_eq!(changes, ["asserted", "challenged", "supported"]);
    assert_eq!(history["facts"][1]["history"][2]["note"], "he said so");
    assert_eq!(history["facts"][0]["proof"]["verified"], Value::Null);
}

#[test]
fn trajectories_suggest_the_executor_that_succeeded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let sql = "write a SQL query joining the orders and customers tables";
    let haiku = "compose a haiku about autumn leaves falling";
    let first = json(
        data,
        &[
            "trajectory",
            "add",
            "--executor",
            "sql-agent",
            "--task",
            sql,
            "--success",
            "--latency-ms",
            "1200",
            "--cost",
            "0.02",
            "--tag",
            "db",
        ],
    );
    assert_eq!(first["trajectory"], 1);
    assert_eq!(first["new_pattern"], true);
    let sql_pattern = first["pattern"].as_u64().expect("a pattern");
    let out = ok(
        data,
        &[
            "trajectory",
            "add",
            "--executor",
            "sql-agent",
            "--task",
            sql,
            "--success",
            "--score",
            "0.9",
        ],
    );
    assert!(
        out.contains(&format!("trajectory 2 joined pattern {sql_pattern}")),
        "{out}"
    );
    for _ in 0..2 {
        ok(
            data,
            &[
                "trajectory",
                "add",
                "--executor",
                "small-model",
                "--task",
                sql,
                "--failure",
            ],
        );
    }
    let poem = json(
        data,
        &[
            "trajectory",
            "add",
            "--executor",
            "poet",
            "--task",
            haiku,
            "--success",
            "--at",
            "2024-05-01T12:00:00Z",
        ],
    );
    assert_eq!(poem["new_pattern"], true);

    let out = ok(data, &["suggest", sql]);
    assert!(out.contains("recommended executor: sql-agent"), "{out}");
    assert!(out.contains("trajectories 2, 1"), "{out}");
    let s = json(data, &["suggest", sql, "-k", "1"]);
    assert_eq!(s["executor"], "sql-agent");
    assert!(s["confidence"].as_f64().expect("a confidence") > 0.0);
    let top = &s["suggestions"][0];
    assert_eq!(s["suggestions"].as_array().expect("suggestions").len(), 1);
    assert_eq!(top["pattern"], sql_pattern);
    assert_eq!(top["executor"], "sql-agent");
    assert_eq!(top["count"], 4);
    assert_eq!(ids(&top["evidence"]), [2, 1]);
    assert_eq!(json(data, &["suggest", haiku])["executor"], "poet");

    let out = ok(data, &["patterns"]);
    assert!(out.contains("sql-agent 2/2"), "{out}");
    assert!(out.contains("small-model 0/2"), "{out}");
    assert!(out.contains("2 patterns over 5 trajectories"), "{out}");
    let listed = json(data, &["patterns", "list"]);
    assert_eq!(listed["count"], 2);
    assert_eq!(listed["patterns"][0]["best_executor"], "sql-agent");
    let stats = json(data, &["stats"]);
    assert_eq!(stats["patterns"], 2);
    assert_eq!(stats["trajectories"], 5);

    let refined = json(data, &["patterns", "refine"]);
    assert_eq!(refined["patterns_after"], 2);
    let merged = json(data, &["patterns", "consolidate", "--threshold", "0.99"]);
    assert_eq!(merged["merges"], Value::Array(vec![]));
    let pruned = json(data, &["patterns", "prune", "--min-count", "2"]);
    assert_eq!(
        ids(&pruned["pruned"]),
        [poem["pattern"].as_u64().expect("id")]
    );
    assert_eq!(pruned["patterns"], 1);
    let out = ok(data, &["patterns", "prune", "--unused-since", "2000-01-01"]);
    assert!(out.contains("no pattern matched"), "{out}");

    // A task given as its vector (the hash embedder's dimension, 384).
    let vector = vec!["0.5"; 384].join(",");
    let v = json(
        data,
        &[
            "trajectory",
            "add",
            "--executor",
            "vec",
            "--vector",
            &vector,
            "--success",
        ],
    );
    assert_eq!(v["trajectory"], 6);
    let s = json(data, &["suggest", "--vector", &vector]);
    assert_eq!(s["executor"], "vec");
}

#[test]
fn bad_input_gets_plain_errors_without_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();

    let err = fails(data, &["fact", "list"]);
    assert!(err.contains("no namespace default"), "{err}");
    let err = fails(data, &["fact", "add", "a", "p", "o", "--confidence", "1.5"]);
    assert!(
        err.contains("--confidence 1.5 is not a number in [0, 1]"),
        "{err}"
    );
    let err = fails(
        data,
        &[
            "fact",
            "add",
            "a",
            "p",
            "o",
            "--from",
            "2024-01-01",
            "--until",
            "2023-01-01",
        ],
    );
    assert!(
        err.contains("--until 2023-01-01T00:00:00Z is not after --from"),
        "{err}"
    );
    let err = fails(data, &["fact", "add", "a", "p", "o", "--from", "soon"]);
    assert!(err.contains("not a time"), "{err}");

    ok(data, &["fact", "add", "alice", "age", "41"]);
    ok(data, &["fact", "add", "alice", "age", "42"]);
    let err = fails(data, &["fact", "add", "", "age", "41"]);
    assert!(err.contains("invalid subject"), "{err}");
    let err = fails(
        data,
        &["fact", "add", "alice", "age", "43", "--evidence", "9"],
    );
    assert!(err.contains("no memory with id 9"), "{err}");
    let err = fails(data, &["fact", "challenge", "99", "--reason", "x"]);
    assert!(err.contains("no fact with id 99"), "{err}");
    let err = fails(
        data,
        &["fact", "quarantine", "1", "severe", "--reason", "x"],
    );
    assert!(
        err.contains("\"severe\" is not a quarantine level"),
        "{err}"
    );
    let err = fails(data, &["fact", "list", "--max-quarantine", "bogus"]);
    assert!(err.contains("not a quarantine level"), "{err}");
    let err = fails(data, &["fact", "declare", "age", "sometimes"]);
    assert!(err.contains("neither single nor multi"), "{err}");
    let err = fails(data, &["fact", "support", "1"]);
    assert!(err.contains("--evidence"), "{err}");

    let err = fails(data, &["resolve", "7", "--accept", "1", "--rationale", "r"]);
    assert!(err.contains("no conflict with id 7"), "{err}");
    let err = fails(data, &["resolve", "1", "--rationale", "r"]);
    assert!(err.contains("--accept"), "{err}");
    let err = fails(data, &["resolve", "1", "--accept", "9", "--rationale", "r"]);
    assert!(err.contains("fact 9 is not part of conflict 1"), "{err}");
    let err = fails(
        data,
        &[
            "resolve",
            "1",
            "--accept",
            "1",
            "--deprecate",
            "1",
            "--rationale",
            "r",
        ],
    );
    assert!(err.contains("both accepted and deprecated"), "{err}");
    ok(
        data,
        &["resolve", "1", "--deprecate", "1", "--rationale", "r"],
    );
    let err = fails(data, &["resolve", "1", "--accept", "2", "--rationale", "r"]);
    assert!(err.contains("already resolved"), "{err}");
    let err = fails(data, &["fact", "retract", "1", "--reason", "again"]);
    assert!(err.contains("fact 1 is deprecated, not believed"), "{err}");

    let err = fails(data, &["trajectory", "add", "--executor", "x", "--success"]);
    assert!(err.contains("--task") && err.contains("--vector"), "{err}");
    let err = fails(
        data,
        &["trajectory", "add", "--executor", "x", "--task", "t"],
    );
    assert!(err.contains("--success"), "{err}");
    let err = fails(
        data,
        &[
            "trajectory",
            "add",
            "--executor",
            "x",
            "--vector",
            "0.1,0.2",
            "--success",
        ],
    );
    assert!(
        err.contains("2 components given, the namespace uses 384"),
        "{err}"
    );
    let err = fails(
        data,
        &[
            "trajectory",
            "add",
            "--executor",
            "x",
            "--vector",
            "0.1,abc",
            "--success",
        ],
    );
    assert!(
        err.contains("component 2 (\"abc\") is not a number"),
        "{err}"
    );
    let err = fails(
        data,
        &[
            "trajectory",
            "add",
            "--executor",
            "x",
            "--task",
            "t",
            "--success",
            "--score",
            "2",
        ],
    );
    assert!(err.contains("--score 2 is not a number in [0, 1]"), "{err}");
    let err = fails(data, &["suggest", "anything", "-k", "5000"]);
    assert!(err.contains("exceeds the limit"), "{err}");
    let err = fails(data, &["patterns", "prune"]);
    assert!(err.contains("name what to prune"), "{err}");
    let err = fails(data, &["patterns", "consolidate", "--threshold", "2"]);
    assert!(err.contains("not a cosine in [-1, 1]"), "{err}");

    // Nothing learned yet: no recommendation, but no error either.
    let s = json(data, &["suggest", "anything"]);
    assert_eq!(s["executor"], Value::Null);
    assert_eq!(s["suggestions"], Value::Array(vec![]));
}
