//! `mnemo eval locomo`: exact scores on a hand-made conversation (hash
//! embedder), the regression floor on the first LoCoMo development
//! conversation (all-MiniLM-L6-v2), and plain errors for bad input; and
//! `mnemo recall --explain`.
//!
//! The development split lives outside the repository
//! (`../shared/data/locomo/locomo-dev.json`, by its licence) and the model
//! comes from `scripts/fetch-model`. Without either, the test that needs
//! them prints a notice and passes, unless `MNEMO_REQUIRE_MODEL=1` or `CI=true` (as
//! `scripts/test` sets), which makes their absence a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn mnemo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mnemo"))
        .args(args)
        .output()
        .expect("run mnemo")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parses a command's standard output as one JSON object.
fn parse(out: &Output) -> Value {
    serde_json::from_str(stdout(out).trim())
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

fn required() -> bool {
    std::env::var("MNEMO_REQUIRE_MODEL").as_deref() == Ok("1")
        || std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A conversation small enough to score by hand: five turns, six
/// questions, of which three are scored (see the test). The questions
/// repeat their turns' words (and name no speaker, whose name starts every
/// turn of theirs), so the ranks below hold whatever the fusion's details.
const TINY: &str = r#"[{"sample_id": "tiny-1",
  "conversation": {"speaker_a": "Ann", "speaker_b": "Bo",
    "session_1_date_time": "10:00 am on 1 May, 2023",
    "session_1": [
      {"speaker": "Ann", "dia_id": "D1:1", "text": "I bought a violin in Vienna last spring."},
      {"speaker": "Bo", "dia_id": "D1:2", "text": "I painted it yellow."},
      {"speaker": "Ann", "dia_id": "D1:3", "text": "I ran the Berlin marathon."}],
    "session_2_date_time": "6:30 pm on 20 June, 2023",
    "session_2": [
      {"speaker": "Bo", "dia_id": "D2:1", "text": "We saw a submarine near the harbour."},
      {"speaker": "Ann", "dia_id": "D2:2", "text": "My pottery class starts on Monday."}]},
  "observation": {
    "session_1_observation": {
      "Ann": [["Ann bought a violin in Vienna.", "D1:1"], ["Ann ran the Berlin marathon.", "D1:3"]],
      "Bo": [["Bo painted the violin yellow.", "D1:2"]]},
    "session_2_observation": {
      "Ann": [["Ann takes a pottery class from Monday.", ["D2:2"]]]}},
  "qa": [
    {"question": "bought a violin in Vienna last spring?", "answer": "Vienna",
     "evidence": ["D1:1"], "category": 4},
    {"question": "the Berlin marathon, and a pottery class on Monday?",
     "answer": "Berlin; Monday", "evidence": ["D1:3", "D2:2"], "category": 1},
    {"question": "When?", "answer": "never", "evidence": ["D9:9"], "category": 2},
    {"question": "saw a submarine near the harbour?", "answer": "yellow",
     "evidence": ["D1:2", "D:11:26"], "category": 3},
    {"question": "What is Bo's favourite planet?", "adversarial_answer": "Mars",
     "evidence": ["D1:2"], "category": 5},
    {"question": "Who?", "answer": "Ann", "evidence": [], "category": 4}]}]"#;

/// [`TINY`] in a temporary directory, with a data directory beside it.
struct Tiny {
    dir: tempfile::TempDir,
}

impl Tiny {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("tiny.json"), TINY).expect("write");
        Self { dir }
    }

    /// `mnemo --embedder hash --data DIR eval locomo tiny.json EXTRA...`.
    fn eval(&self, extra: &[&str]) -> Output {
        let file = self.dir.path().join("tiny.json");
        let data = self.dir.path().join("data");
        let mut args = vec![
            "--embedder",
            "hash",
            "--data",
            path(&data),
            "eval",
            "locomo",
            path(&file),
        ];
        args.extend_from_slice(extra);
        mnemo(&args)
    }
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-9)
}

#[test]
fn eval_scores_a_hand_made_conversation_exactly() {
    let tiny = Tiny::new();
    let run = |extra: &[&str]| tiny.eval(extra);

    // Scored: "violin" (evidence D1:1, whose words it repeats: first),
    // "marathon ... pottery" (D1:3 and D2:2: both on top, one of them
    // first, so recall@1 is 1/2) and "submarine" (evidence D1:2, which
    // shares no word with it, while D2:1 repeats it: D2:1 comes first; five
    // turns, all found by vector search, so every turn is in the top 5).
    // "When?" names only a turn that does not exist and is not scored;
    // D:11:26 is skipped; category 5 and a question without evidence are
    // not asked.
    let out = run(&["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = parse(&out);
    let overall = &r["overall"];
    assert_eq!(overall["questions"], 3, "{r}");
    assert!(close(&overall["hit@1"], 2.0 / 3.0), "{r}");
    assert!(close(&overall["hit@5"], 1.0), "{r}");
    assert!(close(&overall["hit@10"], 1.0), "{r}");
    assert!(close(&overall["recall@1"], 0.5), "{r}");
    assert!(close(&overall["recall@5"], 1.0), "{r}");
    assert!(close(&overall["recall@10"], 1.0), "{r}");
    let cat = &r["per_category"];
    assert_eq!(cat["1"]["questions"], 1);
    assert!(close(&cat["1"]["recall@1"], 0.5), "{r}");
    assert_eq!(cat["2"]["questions"], 0);
    assert!(cat["2"]["hit@5"].is_null(), "{r}");
    assert!(close(&cat["3"]["hit@1"], 0.0), "{r}");
    assert!(close(&cat["4"]["hit@1"], 1.0), "{r}");
    assert_eq!(r["skipped"]["evidence"], 2, "{r}");
    assert_eq!(r["skipped"]["questions"], 1, "{r}");
    assert_eq!(
        r["skipped"]["evidence_ids"],
        serde_json::json!(["tiny-1:D9:9", "tiny-1:D:11:26"])
    );
    assert_eq!(r["conversations"][0]["namespace"], "locomo-tiny-1");
    assert_eq!(r["conversations"][0]["new"], 5);
    assert_eq!(r["latency_ms"]["recalls"], 3);
    assert_eq!(r["embed_ms"]["questions"], 3);
    assert_eq!(r["options"]["embedder"], "hash-v1");
    assert_eq!(r["options"]["spreading"], true);

    // Keywords alone, against the kept namespace (nothing stored again):
    // the submarine question's evidence is no longer found at all, so
    // hit@5 is 2/3 and a floor of 0.9 fails with exit code 1.
    let out = run(&["--json", "--no-vector", "--no-spread", "--min-hit5", "0.9"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("hit@5 is 0.6667, below --min-hit5 0.9"),
        "{}",
        stderr(&out)
    );
    let r = parse(&out);
    assert!(close(&r["overall"]["hit@5"], 2.0 / 3.0), "{r}");
    assert_eq!(r["conversations"][0]["new"], 0, "{r}");
    assert_eq!(r["embed_ms"]["questions"], 0, "{r}");
    assert_eq!(r["options"]["vector"], false);
    assert_eq!(r["options"]["spreading"], false);

    // The table.
    let out = run(&["--min-hit5", "0.9"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    for needle in [
        "1 multi-hop",
        "4 single-hop",
        "overall",
        "hit@5",
        "recall@10",
        "p95",
        "already there",
        "2 evidence ids that name no turn (tiny-1:D9:9, tiny-1:D:11:26)",
    ] {
        assert!(table.contains(needle), "{needle:?} missing from\n{table}");
    }
}

/// The observation regime on the hand-made conversation: its four
/// observations are the memories, scored by the turns they cite.
#[test]
fn eval_scores_observations_by_the_turns_they_cite() {
    let tiny = Tiny::new();
    let run = |extra: &[&str]| {
        let mut args = vec!["--json", "--granularity", "observation"];
        args.extend_from_slice(extra);
        tiny.eval(&args)
    };
    // Scored: "violin" (D1:1: its observation repeats the words),
    // "marathon ... pottery" (D1:3 and D2:2, each cited by one observation
    // that repeats its words) and "submarine" (D1:2, cited by the yellow
    // violin's observation, found among all four by vector search; the
    // submarine turn D2:1 has no observation). "When?" (D9:9) and D:11:26
    // are cited by no observation.
    let out = run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = parse(&out);
    assert_eq!(r["granularity"], "observation", "{r}");
    assert_eq!(r["seed"], 26, "{r}");
    let overall = &r["overall"];
    assert_eq!(overall["questions"], 3, "{r}");
    assert!(close(&overall["hit@5"], 1.0), "{r}");
    assert!(close(&overall["recall@5"], 1.0), "{r}");
    assert!(
        overall["hit@1"].as_f64().expect("hit@1") >= 2.0 / 3.0,
        "{r}"
    );
    assert!(close(&r["per_category"]["1"]["recall@1"], 0.5), "{r}");
    assert!(close(&r["per_category"]["4"]["hit@1"], 1.0), "{r}");
    assert_eq!(
        r["skipped"]["evidence_ids"],
        serde_json::json!(["tiny-1:D9:9", "tiny-1:D:11:26"])
    );
    assert_eq!(r["skipped"]["questions"], 1, "{r}");
    let conv = &r["conversations"][0];
    assert_eq!(conv["namespace"], "locomo-tiny-1-observations", "{r}");
    assert_eq!(conv["turns"], 5, "{r}");
    assert_eq!(conv["memories"], 4, "{r}");
    assert_eq!(conv["new"], 4, "{r}");

    // Another seed writes them in another order: a new namespace's worth of
    // memories is not needed (the keys are the observations'), and the
    // scores that do not hang on ties are the same.
    let out = run(&["--seed", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = parse(&out);
    assert_eq!(r["seed"], 3, "{r}");
    assert!(close(&r["overall"]["hit@5"], 1.0), "{r}");
    assert_eq!(r["conversations"][0]["new"], 0, "{r}");
}

#[test]
fn eval_refuses_bad_input_plainly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let fails = |file: &Path, extra: &[&str]| {
        let mut args = vec!["--embedder", "hash", "eval", "locomo", path(file)];
        args.extend_from_slice(extra);
        let out = mnemo(&args);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        stderr(&out)
    };
    let err = fails(Path::new("/nonexistent/locomo.json"), &[]);
    assert!(
        err.contains("cannot read /nonexistent/locomo.json"),
        "{err}"
    );
    let err = fails(&write("empty.json", "\n"), &[]);
    assert!(err.contains("is empty"), "{err}");
    let err = fails(
        &write(
            "lines.jsonl",
            "{\"content\": \"x\"}\n{\"content\": \"y\"}\n",
        ),
        &[],
    );
    assert!(err.contains("not valid JSON (line 2"), "{err}");
    let err = fails(&write("object.json", "{\"sample_id\": \"c\"}"), &[]);
    assert!(
        err.contains("is not LoCoMo") && err.contains("array of conversations"),
        "{err}"
    );
    let err = fails(&write("none.json", "[]"), &[]);
    assert!(err.contains("holds no conversations"), "{err}");
    let err = fails(
        &write("broken.json", r#"[{"sample_id": "c1", "conversation": 3}]"#),
        &[],
    );
    assert!(err.contains("conversation c1"), "{err}");
    let no_questions = write(
        "no-questions.json",
        r#"[{"sample_id": "c1", "qa": [], "conversation": {
              "session_1_date_time": "1:56 pm on 8 May, 2023",
              "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "Hi!"}]}}]"#,
    );
    let err = fails(&no_questions, &[]);
    assert!(err.contains("no question to evaluate"), "{err}");
    let tiny = write("tiny.json", TINY);
    let err = fails(&tiny, &["--conversations", "tiny-1,conv-99"]);
    assert!(
        err.contains("no conversation conv-99") && err.contains("it holds tiny-1"),
        "{err}"
    );
    let err = fails(&tiny, &["--no-vector", "--no-keyword"]);
    assert!(err.contains("no candidates"), "{err}");
    let err = fails(&tiny, &["--decay=-1"]);
    assert!(err.contains("decay"), "{err}");
    let err = fails(&tiny, &["--budget-ms", "0"]);
    assert!(err.contains("--budget-ms"), "{err}");
    let out = mnemo(&["eval", "locomo", path(&tiny), "--min-hit5", "5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("between 0 and 1"), "{}", stderr(&out));
}

/// The committed LoCoMo result (`bench-results/locomo-dev.json`, written by
/// `scripts/bench-all` with `mnemo eval locomo --json`): its hit@5 on one
/// conversation of the development split.
fn committed_hit5(granularity: &str, sample_id: &str) -> f64 {
    common::committed_locomo_eval(granularity)["conversations"]
        .as_array()
        .and_then(|list| list.iter().find(|c| c["sample_id"] == sample_id))
        .and_then(|c| c["hit@5"].as_f64())
        .unwrap_or_else(|| {
            panic!("bench-results/locomo-dev.json: no {granularity} hit@5 for {sample_id}")
        })
}

/// How far below the committed figure the regression guard lets hit@5 fall
/// (the issue's bound: a guard looser than this would let a real loss
/// through).
const GUARD_MARGIN: f64 = 0.05;

/// The first conversation of the development split through MiniLM must
/// score within [`GUARD_MARGIN`] of its committed hit@5, stored turn by
/// turn and observation by observation.
#[test]
fn eval_on_the_first_dev_conversation_clears_the_floor() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/locomo/locomo-dev.json");
    if !file.is_file() {
        assert!(
            !required(),
            "MNEMO_REQUIRE_MODEL=1 or CI=true but {} is missing",
            file.display()
        );
        eprintln!(
            "SKIPPED: the LoCoMo development split is not at {}",
            file.display()
        );
        return;
    }
    let model = mnemo(&["embed", "--embedder", "minilm", "x"]);
    if !model.status.success() {
        assert!(
            !required(),
            "MNEMO_REQUIRE_MODEL=1 or CI=true but the model did not load: {}",
            stderr(&model)
        );
        eprintln!("SKIPPED: all-MiniLM-L6-v2 not found: {}", stderr(&model));
        return;
    }
    // conv-26 has 150 scored questions; 121 of them have evidence that
    // some observation cites.
    for (granularity, questions) in [("turn", 150), ("observation", 121)] {
        guard_conv26(&file, granularity, questions);
    }
}

fn guard_conv26(file: &Path, granularity: &str, questions: u64) {
    let committed = committed_hit5(granularity, "conv-26");
    let floor = format!("{:.4}", committed - GUARD_MARGIN);
    let out = mnemo(&[
        "--embedder",
        "minilm",
        "--json",
        "eval",
        "locomo",
        path(file),
        "--conversations",
        "conv-26",
        "--granularity",
        granularity,
        "--min-hit5",
        &floor,
    ]);
    let r = parse(&out);
    assert!(out.status.success(), "{granularity}: {}\n{r}", stderr(&out));
    assert_eq!(r["granularity"], granularity, "{r}");
    let overall = &r["overall"];
    assert_eq!(overall["questions"], questions, "{r}");
    let rate = |key: &str| {
        overall[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {r}"))
    };
    assert!(
        rate("hit@1") <= rate("hit@5") && rate("hit@5") <= rate("hit@10"),
        "{r}"
    );
    assert!(
        rate("recall@1") <= rate("recall@5") && rate("recall@5") <= rate("recall@10"),
        "{r}"
    );
    assert!(
        rate("hit@5") >= committed - GUARD_MARGIN,
        "{granularity}: hit@5 {} fell more than {GUARD_MARGIN} below the committed \
         {committed}: {r}",
        rate("hit@5")
    );
    let per_category: u64 = ["1", "2", "3", "4"]
        .iter()
        .map(|c| r["per_category"][c]["questions"].as_u64().expect("count"))
        .sum();
    assert_eq!(per_category, questions, "{r}");
    let l = &r["latency_ms"];
    let ms = |key: &str| l[key].as_f64().unwrap_or_else(|| panic!("{key}: {r}"));
    assert!(ms("p50") <= ms("p95") && ms("p95") <= ms("p99"), "{r}");
    assert_eq!(r["embed_ms"]["questions"], questions, "{r}");
    assert_eq!(r["conversations"][0]["sample_id"], "conv-26");
    assert!(
        r["options"]["embedder"]
            .as_str()
            .is_some_and(|e| e.starts_with("minilm")),
        "{r}"
    );
    eprintln!("conv-26 by {granularity} with all-MiniLM-L6-v2: {overall}");
}

#[test]
fn recall_explains_scores_and_activation_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let file = data.join("notes.jsonl");
    // Thirty notes of one source, moments apart: a temporal chain, more
    // memories than recall seeds, so activation reaches some from others.
    let mut lines = String::from(
        "{\"content\": \"Alice likes green tea in the morning\", \"source\": \"chat\", \
         \"at\": 1714000000}\n",
    );
    for i in 1..30 {
        lines.push_str(&format!(
            "{{\"content\": \"filler note number {i} about nothing much\", \"source\": \
             \"chat\", \"at\": {}}}\n",
            1714000000 + 60 * i
        ));
    }
    std::fs::write(&file, lines).expect("write");
    let run = |args: &[&str]| {
        let mut all = vec!["--data", path(data), "--embedder", "hash"];
        all.extend_from_slice(args);
        let out = mnemo(&all);
        assert!(out.status.success(), "mnemo {args:?}: {}", stderr(&out));
        out
    };
    run(&["import", path(&file)]);

    let r = parse(&run(&[
        "--json",
        "recall",
        "green tea",
        "-k",
        "30",
        "--explain",
    ]));
    assert_eq!(r["complete"], true, "{r}");
    let hits = r["hits"].as_array().expect("hits");
    assert_eq!(
        hits[0]["memory"]["content"],
        "Alice likes green tea in the morning"
    );
    assert!(hits[0]["activation"]["rank"].is_u64(), "{r}");
    let mut longest = 0;
    for h in hits {
        let e = &h["explanation"];
        let parts: f64 = e["contributions"]
            .as_object()
            .expect("contributions")
            .values()
            .map(|v| v.as_f64().expect("number"))
            .sum();
        let score = h["score"].as_f64().expect("score");
        assert!((parts - score).abs() < 1e-4, "{parts} != {score}: {h}");
        let path = e["path"].as_array().expect("path");
        if let Some(first) = path.first() {
            assert!(first["via"].is_null(), "{h}");
            assert_eq!(path.last().expect("last")["id"], h["id"], "{h}");
            for step in &path[1..] {
                let via = step["via"].as_str().expect("an edge kind");
                assert!(
                    ["link", "temporal", "vector", "keyword"].contains(&via),
                    "{h}"
                );
            }
        }
        longest = longest.max(path.len());
    }
    assert!(longest >= 2, "no hit was reached over an edge: {r}");

    let text = stdout(&run(&["recall", "green tea", "-k", "30", "--explain"]));
    assert!(text.contains("activation"), "{text}");
    assert!(text.contains("why:") && text.contains("path: "), "{text}");
    assert!(text.contains("(a seed)") && text.contains("-> "), "{text}");
    assert!(text.contains(" = ") && text.contains("keyword "), "{text}");

    let r = parse(&run(&["--json", "recall", "green tea", "--no-spread"]));
    let hits = r["hits"].as_array().expect("hits");
    assert!(!hits.is_empty(), "{r}");
    assert!(
        hits.iter()
            .all(|h| h["activation"].is_null() && h["explanation"].is_null()),
        "{r}"
    );
    let r = parse(&run(&[
        "--json",
        "recall",
        "green tea",
        "--budget-ms",
        "10000",
    ]));
    assert_eq!(r["complete"], true, "{r}");
    let out = mnemo(&["--data", path(data), "recall", "tea", "--budget-ms=-3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--budget-ms"), "{}", stderr(&out));
}
