//! The reader on the real LoCoMo development split
//! (`../shared/data/locomo/locomo-dev.json` from the workspace root; by its
//! licence it stays outside the repository). Without the file the test
//! prints a notice and passes, unless `MNEMO_REQUIRE_MODEL=1` or `CI=true`
//! (as `crates/mnemo-cli/tests/eval.rs`): then a missing file fails it.

use std::collections::HashSet;
use std::path::Path;

use mnemo_eval::locomo::{self, Category};

fn required() -> bool {
    std::env::var("MNEMO_REQUIRE_MODEL").as_deref() == Ok("1")
        || std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

#[test]
fn reads_the_development_split() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(locomo::DEV_SPLIT);
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
    let convs = locomo::read(&file).unwrap_or_else(|e| panic!("{e}"));
    let shape: Vec<(&str, usize, usize)> = convs
        .iter()
        .map(|c| (c.sample_id.as_str(), c.sessions.len(), c.turns.len()))
        .collect();
    assert_eq!(
        shape,
        [
            ("conv-26", 19, 419),
            ("conv-30", 19, 369),
            ("conv-41", 32, 663),
            ("conv-42", 29, 629),
            ("conv-43", 29, 680)
        ]
    );
    let questions: usize = convs.iter().map(|c| c.questions.len()).sum();
    assert_eq!(questions, 999);
    // What `mnemo eval locomo` scores: answerable questions with at least
    // one evidence id that names a turn (bench-results/locomo-dev.json).
    let scored = |c: &locomo::Conversation| {
        c.questions
            .iter()
            .filter(|q| q.answerable() && q.evidence.iter().any(|d| c.turn(d).is_some()))
            .count()
    };
    assert_eq!(scored(&convs[0]), 150);
    assert_eq!(convs.iter().map(scored).sum::<usize>(), 760);
    let unknown: Vec<String> = convs
        .iter()
        .flat_map(|c| {
            c.questions
                .iter()
                .flat_map(|q| &q.evidence)
                .filter(|d| c.turn(d).is_none())
                .map(|d| format!("{}:{d}", c.sample_id))
        })
        .collect();
    assert_eq!(unknown, ["conv-42:D10:19", "conv-42:D", "conv-43:D:11:26"]);
    let categories: HashSet<Category> = convs
        .iter()
        .flat_map(|c| c.questions.iter().map(|q| q.category))
        .collect();
    assert_eq!(categories.len(), 5);

    // Every session has observations about both speakers, and every
    // observation cites turns of its own conversation.
    let mut observations = 0;
    for c in &convs {
        for s in &c.sessions {
            let speakers: HashSet<&str> =
                s.observations.iter().map(|o| o.speaker.as_str()).collect();
            assert_eq!(speakers.len(), 2, "{} session {}", c.sample_id, s.number);
            for o in &s.observations {
                assert!(!o.text.is_empty() && !o.evidence.is_empty());
                assert!(o.evidence.iter().all(|d| c.turn(d).is_some()), "{o:?}");
            }
            observations += s.observations.len();
        }
    }
    assert_eq!(observations, 1210);
    let first = &convs[0].sessions[0];
    assert_eq!(mnemo::rfc3339::format(first.at), "2023-05-08T13:56:00Z");
    assert_eq!(first.observations[0].evidence[0].as_str(), "D1:3");
}
