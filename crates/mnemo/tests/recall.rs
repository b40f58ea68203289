//! Recall with spreading activation: what the association graph adds, how
//! hits explain themselves, and what bad options do.

// A failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use mnemo::recall::{Fusion, MAX_RECALL_K};
use mnemo::spread::EdgeKind;
use mnemo::{MemoryId, Mnemo, NewMemory, Query, RecallOptions, Revision, Timestamp};

const DAY: i64 = 86_400 * 1_000_000_000;

/// One conversation of `lines` in order, in source `chat`, on one day.
fn conversation(ns: &mnemo::Namespace, lines: &[&str], day: i64) -> Vec<MemoryId> {
    ns.remember_batch(
        lines
            .iter()
            .map(|l| {
                NewMemory::new(*l)
                    .source("chat")
                    .tag("chat")
                    .at(Timestamp(day * DAY))
            })
            .collect(),
    )
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect()
}

const CHAT: [&str; 8] = [
    "Ana: I finished the marathon training plan yesterday.",
    "Ben: Nice! By the way, which novel did you love most as a kid?",
    "Ana: Charlotte's Web, without a doubt.",
    "Ben: I planted tomatoes in the garden this weekend.",
    "Ana: The garden must look great with tomatoes.",
    "Ben: I repaired the bicycle chain too.",
    "Ana: Did the bicycle need new brakes?",
    "Ben: No, only the chain was worn out.",
];

fn ids_of(hits: &[mnemo::RecallHit]) -> Vec<MemoryId> {
    hits.iter().map(|h| h.memory.id).collect()
}

#[test]
fn the_reply_is_recalled_through_its_temporal_edge() {
    let db = Mnemo::in_memory();
    let ns = db.namespace("chat").unwrap();
    let ids = conversation(&ns, &CHAT, 19_000);
    let question = "which novel did you love most as a kid";
    let with = ns
        .recall_with(
            question,
            &RecallOptions {
                explain: true,
                ..RecallOptions::k(3)
            },
        )
        .unwrap();
    assert!(with.complete);
    assert!(with.spread.visits > 0);
    let answer = ids[2];
    let hit = with
        .hits
        .iter()
        .find(|h| h.memory.id == answer)
        .expect("the reply is in the top 3");
    // It shares no word with the question: activation found it.
    assert!(hit.keyword.is_none());
    assert!(hit.activation.is_some());
    let explanation = hit.explanation.as_ref().unwrap();
    assert_eq!(explanation.path.first().map(|s| s.id), Some(ids[1]));
    assert_eq!(explanation.path.first().and_then(|s| s.via), None);
    assert_eq!(explanation.path.last().map(|s| s.id), Some(answer));
    assert_eq!(
        explanation.path.last().and_then(|s| s.via),
        Some(EdgeKind::Temporal)
    );
    let parts: f32 = explanation.contributions.iter().map(|(_, v)| v).sum();
    assert!((parts - hit.score).abs() < 1e-5, "{parts} vs {}", hit.score);
    assert!(
        explanation
            .contributions
            .iter()
            .any(|(n, _)| *n == "activation")
    );

    let without = ns
        .recall_with(
            question,
            &RecallOptions {
                spreading: false,
                weights: mnemo::SignalWeights {
                    vector: 0.0,
                    ..Default::default()
                },
                ..RecallOptions::k(3)
            },
        )
        .unwrap();
    assert!(!ids_of(&without.hits).contains(&answer));
    assert_eq!(without.spread.visits, 0);
    assert!(without.hits.iter().all(|h| h.activation.is_none()));
}

#[test]
fn temporal_edges_respect_the_window_and_follow_revisions() {
    let db = Mnemo::in_memory();
    let ns = db.namespace("chat").unwrap();
    let ids = conversation(&ns, &CHAT[..2], 19_000);
    // The answer comes a week later: outside the default six-hour window.
    let late = conversation(&ns, &CHAT[2..3], 19_007)[0];
    let mut opts = RecallOptions {
        weights: mnemo::SignalWeights {
            vector: 0.0,
            ..Default::default()
        },
        ..RecallOptions::k(5)
    };
    // Only temporal edges ("Ana" is a rare word the turns share).
    opts.spread.kind_weights[EdgeKind::Keyword.index()] = 0.0;
    let question = "which novel did you love most as a kid";
    assert!(!ids_of(&ns.recall_with(question, &opts).unwrap().hits).contains(&late));
    let wide = RecallOptions {
        temporal_window: Duration::from_secs(8 * 86_400),
        ..opts.clone()
    };
    assert!(ids_of(&ns.recall_with(question, &wide).unwrap().hits).contains(&late));
    // Moving it to the same day brings it into the window.
    ns.revise(late, Revision::new().at(Timestamp(19_000 * DAY)))
        .unwrap();
    assert!(ids_of(&ns.recall_with(question, &opts).unwrap().hits).contains(&late));
    // Forgetting the question turn leaves nothing to spread from.
    ns.forget(ids[1]).unwrap();
    let hits = ns.recall_with(question, &opts).unwrap().hits;
    assert!(!ids_of(&hits).contains(&late));
}

#[test]
fn links_spread_and_filters_hide_without_blocking() {
    let db = Mnemo::in_memory();
    let ns = db.namespace("links").unwrap();
    let a = ns
        .remember(NewMemory::new("the deploy key rotation procedure").tag("ops"))
        .unwrap();
    let b = ns
        .remember(NewMemory::new("bridge note").tag("private"))
        .unwrap();
    let c = ns
        .remember(NewMemory::new("grafana dashboard for certificates").tag("ops"))
        .unwrap();
    ns.remember(NewMemory::new("unrelated lunch order").tag("ops"))
        .unwrap();
    ns.link(a, b, "see-also", 1.0).unwrap();
    ns.link(b, c, "see-also", 1.0).unwrap();
    // A cycle back to the start.
    ns.link(c, a, "see-also", 1.0).unwrap();
    let opts = RecallOptions {
        filter: Query::new().tag("ops"),
        weights: mnemo::SignalWeights {
            vector: 0.0,
            ..Default::default()
        },
        explain: true,
        ..RecallOptions::k(10)
    };
    let r = ns.recall_with("deploy key rotation", &opts).unwrap();
    let ids = ids_of(&r.hits);
    assert_eq!(ids[0], a);
    assert!(
        ids.contains(&c),
        "reached through the hidden bridge or the cycle"
    );
    assert!(!ids.contains(&b), "filtered out");
    let hit = r.hits.iter().find(|h| h.memory.id == c).unwrap();
    let path = &hit.explanation.as_ref().unwrap().path;
    assert!(
        path.iter()
            .all(|s| s.via.is_none_or(|k| k == EdgeKind::Link))
    );
}

#[test]
fn dates_in_the_query_favour_memories_from_then() {
    let db = Mnemo::in_memory();
    let ns = db.namespace("dates").unwrap();
    // 2023-05-07 and 2023-09-01.
    let may = ns
        .remember(NewMemory::new("went hiking in the hills").at(Timestamp(19_484 * DAY)))
        .unwrap();
    let sep = ns
        .remember(NewMemory::new("went hiking by the lake").at(Timestamp(19_601 * DAY)))
        .unwrap();
    let r = ns
        .recall_with("where did I go hiking in May 2023?", &RecallOptions::k(2))
        .unwrap();
    assert!(r.time_hint.is_some());
    assert_eq!(ids_of(&r.hits), vec![may, sep]);
    let r = ns
        .recall_with("where did I go hiking in September?", &RecallOptions::k(2))
        .unwrap();
    assert_eq!(ids_of(&r.hits), vec![sep, may]);
    let off = RecallOptions {
        time_hints: false,
        ..RecallOptions::k(2)
    };
    assert_eq!(
        ns.recall_with("hiking in May 2023", &off)
            .unwrap()
            .time_hint,
        None
    );
}

#[test]
fn recall_is_deterministic_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let question = "did the bicycle need new brakes";
    let opts = RecallOptions::k(5);
    let first = {
        let db = Mnemo::open(dir.path()).unwrap();
        let ns = db.namespace("chat").unwrap();
        conversation(&ns, &CHAT, 19_000);
        let ids = conversation(&ns, &CHAT[3..], 19_001);
        ns.forget(ids[1]).unwrap();
        let a = ids_of(&ns.recall_with(question, &opts).unwrap().hits);
        let b = ids_of(&ns.recall_with(question, &opts).unwrap().hits);
        assert_eq!(a, b);
        ns.snapshot().unwrap();
        ns.close().unwrap();
        a
    };
    // From the snapshot (bulk-built graph), then from a full replay.
    let db = Mnemo::open(dir.path()).unwrap();
    let ns = db.namespace("chat").unwrap();
    assert_eq!(
        ids_of(&ns.recall_with(question, &opts).unwrap().hits),
        first
    );
    ns.close().unwrap();
    drop(ns);
    drop(db);
    for entry in std::fs::read_dir(dir.path().join("chat")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("snap") {
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
    let db = Mnemo::open(dir.path()).unwrap();
    let ns = db.namespace("chat").unwrap();
    assert_eq!(
        ids_of(&ns.recall_with(question, &opts).unwrap().hits),
        first
    );
}

#[test]
fn bad_options_get_clear_errors_and_edge_cases_defined_results() {
    let db = Mnemo::in_memory();
    let ns = db.namespace("bad").unwrap();
    // Empty namespace.
    let r = ns.recall_with("anything", &RecallOptions::k(5)).unwrap();
    assert!(r.hits.is_empty() && r.complete);
    // One memory.
    let only = ns.remember(NewMemory::new("a single memory")).unwrap();
    let r = ns.recall_with("single", &RecallOptions::k(5)).unwrap();
    assert_eq!(ids_of(&r.hits), vec![only]);
    // A self-loop is refused or harmless.
    let _ = ns.link(only, only, "self", 1.0);
    assert_eq!(
        ids_of(&ns.recall_with("single", &RecallOptions::k(5)).unwrap().hits),
        vec![only]
    );
    // Empty query, k = 0.
    assert!(
        ns.recall_with("", &RecallOptions::k(5))
            .unwrap()
            .hits
            .is_empty()
    );
    assert!(
        ns.recall_with("   ", &RecallOptions::k(5))
            .unwrap()
            .hits
            .is_empty()
    );
    assert!(
        ns.recall_with("single", &RecallOptions::k(0))
            .unwrap()
            .hits
            .is_empty()
    );
    assert!(ns.recall("single", 0, &Query::new()).unwrap().is_empty());

    let err = |o: RecallOptions| ns.recall_with("single", &o).unwrap_err().to_string();
    assert!(err(RecallOptions::k(MAX_RECALL_K + 1)).contains("k"));
    let mut o = RecallOptions::k(5);
    o.weights.vector = f32::NAN;
    assert!(err(o).contains("weights.vector"));
    let mut o = RecallOptions::k(5);
    o.weights.keyword = -1.0;
    assert!(err(o).contains("weights.keyword"));
    let mut o = RecallOptions::k(5);
    o.weights.vector = 0.0;
    o.weights.keyword = 0.0;
    o.weights.activation = 0.0;
    assert!(err(o).contains("at least one"));
    let mut o = RecallOptions::k(5);
    o.spread.decay = f32::NAN;
    assert!(err(o).contains("decay"));
    let mut o = RecallOptions::k(5);
    o.spread.threshold = 0.0;
    assert!(err(o).contains("threshold"));
    let mut o = RecallOptions::k(5);
    o.spread.kind_weights[1] = f32::INFINITY;
    assert!(err(o).contains("kind_weights"));
    let mut o = RecallOptions::k(5);
    o.temporal_backward = -0.5;
    assert!(err(o).contains("temporal_backward"));
    let mut o = RecallOptions::k(5);
    o.query_vector = Some(vec![0.1; 3]);
    assert!(err(o).contains("dimension"));
    let mut o = RecallOptions::k(5);
    o.query_vector = Some(vec![f32::NAN; 384]);
    assert!(err(o).contains("query_vector"));

    // A budget that is already spent returns what it has and says so.
    let o = RecallOptions {
        budget: Some(Duration::ZERO),
        ..RecallOptions::k(5)
    };
    let r = ns.recall_with("single", &o).unwrap();
    assert!(!r.complete);
    // Huge k within the bound, reciprocal-rank fusion.
    let o = RecallOptions {
        fusion: Fusion::ReciprocalRank,
        ..RecallOptions::k(MAX_RECALL_K)
    };
    assert_eq!(
        ids_of(&ns.recall_with("single", &o).unwrap().hits),
        vec![only]
    );
}

/// The tag bonus is the same whether the namespace's few tags are matched
/// against the query once per recall or, with many tags, each candidate's
/// own tags are: every hit tagged with a name the query says gets the tag
/// weight, no other hit does, and each score is its explanation's sum.
#[test]
fn the_tag_bonus_holds_with_few_and_with_many_tags() {
    for fillers in [0usize, 100] {
        let db = Mnemo::in_memory();
        let ns = db.namespace("chat").unwrap();
        let lines: Vec<NewMemory> = CHAT
            .iter()
            .map(|l| {
                let speaker = l.split(':').next().unwrap();
                NewMemory::new(*l).source("chat").tag(speaker)
            })
            .chain((0..fillers).map(|i| {
                NewMemory::new(format!("filler note {i} about the garden"))
                    .tag(format!("topic-{i}"))
            }))
            .collect();
        ns.remember_batch(lines).unwrap();
        let question = "what did ben plant in the garden";
        let options = RecallOptions {
            k: 8,
            ..RecallOptions::default()
        };
        let plain = ns.recall_with(question, &options).unwrap();
        let explained = ns
            .recall_with(
                question,
                &RecallOptions {
                    explain: true,
                    ..options.clone()
                },
            )
            .unwrap();
        assert_eq!(
            ids_of(&plain.hits),
            ids_of(&explained.hits),
            "fillers {fillers}"
        );
        assert!(
            plain
                .hits
                .iter()
                .any(|h| h.memory.tags.iter().any(|t| t == "Ben"))
        );
        for (hit, shown) in plain.hits.iter().zip(&explained.hits) {
            let parts = &shown.explanation.as_ref().unwrap().contributions;
            let tag_part = parts.iter().find(|(name, _)| *name == "tags").map(|p| p.1);
            let named = hit.memory.tags.iter().any(|t| t == "Ben");
            assert_eq!(tag_part, named.then_some(0.8), "fillers {fillers}: {hit:?}");
            let sum: f32 = parts.iter().map(|p| p.1).sum();
            assert!(
                (sum - hit.score).abs() < 1e-5,
                "fillers {fillers}: {sum} against {}",
                hit.score
            );
        }
    }
}
