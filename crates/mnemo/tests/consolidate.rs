//! Consolidation: related episodic memories summarised into semantic
//! memories linked `derived_from` to their sources, in one event; a no-op
//! on an empty namespace or when nothing groups; kept by replay.

use mnemo::consolidation::ConsolidationParams;
use mnemo::{
    CONSOLIDATED_TAG, ConsolidateOptions, Error, Kind, MemoryId, Mnemo, NewMemory, Query,
    RecallOptions, Timestamp,
};

const DAY: i64 = 86_400 * 1_000_000_000;

/// A unit vector near axis `topic`, nudged by `i`.
fn topic_vector(dimension: usize, topic: usize, i: usize) -> Vec<f32> {
    let mut v = vec![0.0f32; dimension];
    v[topic * 7] = 1.0;
    v[(topic * 7 + 1 + i) % dimension] = 0.25;
    v
}

const TOPICS: [[&str; 4]; 3] = [
    [
        "Caroline went to a pottery class on Saturday.",
        "Caroline finished her first bowl at the pottery class.",
        "Caroline said the pottery class teacher praised her glaze.",
        "Caroline signed up for another month of pottery.",
    ],
    [
        "Melanie flew to Lisbon in May 2023.",
        "Melanie walked around Alfama in Lisbon.",
        "Melanie loved the pastries in Lisbon.",
        "Melanie came back from Lisbon with tiles.",
    ],
    [
        "John started a job at a bakery.",
        "John gets up at 5am for the bakery shifts.",
        "John learned to make sourdough at the bakery.",
        "John got a raise at the bakery.",
    ],
];

fn fill(ns: &mnemo::Namespace) -> Vec<Vec<MemoryId>> {
    let dimension = ns.embedder_info().dimension;
    let start = Timestamp::now().0 - 400 * DAY;
    TOPICS
        .iter()
        .enumerate()
        .map(|(t, texts)| {
            texts
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    ns.remember(
                        NewMemory::new(*text)
                            .vector(topic_vector(dimension, t, i))
                            .tag(format!("session_{i}"))
                            .at(Timestamp(start + (i as i64 * 30 + t as i64) * DAY)),
                    )
                    .expect("remember")
                })
                .collect()
        })
        .collect()
}

#[test]
fn related_episodes_become_one_semantic_memory_each_with_their_provenance() {
    let mnemo = Mnemo::in_memory();
    let ns = mnemo.namespace("agent").expect("namespace");
    let topics = fill(&ns);
    let records = ns.log().next_seq();
    let done = ns
        .consolidate(&ConsolidateOptions::default())
        .expect("consolidate");
    assert_eq!(done.considered, 12);
    assert_eq!(done.created.len(), 3, "{:?}", done.planned);
    assert_eq!(ns.log().next_seq(), records + 1, "one event for all of it");
    for (created, sources) in done.created.iter().zip(&topics) {
        let memory = ns.get(*created).expect("live");
        assert_eq!(memory.kind, Kind::Semantic);
        assert!(memory.tags.iter().any(|t| t == CONSOLIDATED_TAG));
        let mut want = sources.clone();
        want.sort_unstable();
        assert_eq!(ns.derived_from(*created), want);
        for s in sources {
            assert_eq!(ns.consolidated_into(*s), vec![*created]);
            assert!(ns.get(*s).is_some(), "sources stay");
        }
    }
    let lisbon = ns.get(done.created[1]).expect("live");
    assert!(lisbon.content.contains("Lisbon"), "{}", lisbon.content);
    // By default a summary yields to its sources: the sources answer a
    // question about the topic, and no summary is among the hits with one
    // of its own sources (above or below it).
    let hits = ns
        .recall("what did Melanie do in Lisbon", 10, &Query::new())
        .expect("recall");
    let ids: Vec<MemoryId> = hits.iter().map(|h| h.memory.id).collect();
    assert!(topics[1].iter().any(|s| ids.contains(s)), "{ids:?}");
    for (created, sources) in done.created.iter().zip(&topics) {
        if ids.contains(created) {
            assert!(sources.iter().all(|s| !ids.contains(s)), "{ids:?}");
        }
    }
    // Where none of its sources would be among the hits, the summary
    // stands in for them.
    let summaries_only = ns
        .recall(
            "what did Melanie do in Lisbon",
            10,
            &Query::new().tag(CONSOLIDATED_TAG),
        )
        .expect("recall");
    assert_eq!(summaries_only[0].memory.id, done.created[1]);
    // Preferring consolidated memories: the summary stands for its sources.
    let preferred = ns
        .recall_with(
            "what did Melanie do in Lisbon",
            &RecallOptions {
                k: 5,
                prefer_consolidated: true,
                ..RecallOptions::default()
            },
        )
        .expect("recall");
    let ids: Vec<MemoryId> = preferred.hits.iter().map(|h| h.memory.id).collect();
    assert!(ids.contains(&done.created[1]), "{ids:?}");
    assert!(topics[1].iter().all(|s| !ids.contains(s)), "{ids:?}");
    // A second run finds nothing new: a no-op that writes nothing.
    let again = ns
        .consolidate(&ConsolidateOptions::default())
        .expect("again");
    assert!(again.created.is_empty() && again.seq.is_none());
    assert_eq!(again.considered, 0);
    assert_eq!(ns.log().next_seq(), records + 1);
    // Forgetting a source drops it from the provenance.
    ns.forget(topics[2][0]).expect("forget");
    assert_eq!(ns.derived_from(done.created[2]).len(), 3);
    // One that matches the query in a word none of its sources holds
    // keeps its place above them.
    let overview = ns
        .remember(
            NewMemory::new("Overview: Melanie in Lisbon")
                .kind(Kind::Semantic)
                .vector(topic_vector(ns.embedder_info().dimension, 1, 0)),
        )
        .expect("remember");
    for source in &topics[1] {
        ns.link(overview, *source, "derived_from", 1.0)
            .expect("link");
    }
    let hits = ns
        .recall("an overview of Melanie in Lisbon", 10, &Query::new())
        .expect("recall");
    let ids: Vec<MemoryId> = hits.iter().map(|h| h.memory.id).collect();
    assert_eq!(ids[0], overview, "{ids:?}");
    assert!(topics[1].iter().any(|s| ids.contains(s)), "{ids:?}");
}

#[test]
fn empty_dry_run_and_bad_settings_write_nothing() {
    let mnemo = Mnemo::in_memory();
    let ns = mnemo.namespace("agent").expect("namespace");
    let records = ns.log().next_seq();
    let empty = ns
        .consolidate(&ConsolidateOptions::default())
        .expect("empty namespace");
    assert_eq!(empty.considered, 0);
    assert!(empty.planned.is_empty() && empty.created.is_empty());
    assert_eq!(ns.log().next_seq(), records);
    fill(&ns);
    let records = ns.log().next_seq();
    let dry = ns
        .consolidate(&ConsolidateOptions {
            dry_run: true,
            ..ConsolidateOptions::default()
        })
        .expect("dry run");
    assert_eq!(dry.planned.len(), 3);
    assert!(dry.created.is_empty());
    assert_eq!(ns.log().next_seq(), records);
    for (options, field) in [
        (
            ConsolidateOptions {
                params: ConsolidationParams {
                    similarity: f32::NAN,
                    ..ConsolidationParams::default()
                },
                ..ConsolidateOptions::default()
            },
            "consolidation",
        ),
        (
            ConsolidateOptions {
                params: ConsolidationParams {
                    min_group: 1,
                    ..ConsolidationParams::default()
                },
                ..ConsolidateOptions::default()
            },
            "consolidation",
        ),
        (
            ConsolidateOptions {
                max_episodes: 0,
                ..ConsolidateOptions::default()
            },
            "max_episodes",
        ),
    ] {
        match ns.consolidate(&options) {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected a refusal naming {field}, got {other:?}"),
        }
    }
    assert_eq!(ns.log().next_seq(), records);
    // Nothing groupable: unrelated memories only.
    let other = mnemo.namespace("scattered").expect("namespace");
    let dimension = other.embedder_info().dimension;
    for t in 0..5 {
        other
            .remember(
                NewMemory::new(format!("note number {t}")).vector(topic_vector(dimension, t, 0)),
            )
            .expect("remember");
    }
    let none = other
        .consolidate(&ConsolidateOptions::default())
        .expect("nothing groupable");
    assert_eq!(none.considered, 5);
    assert!(none.created.is_empty() && none.seq.is_none());
}

#[test]
fn consolidations_survive_replay_and_snapshots() {
    let dir = tempfile::tempdir().expect("dir");
    let (created, sources);
    {
        let mnemo = Mnemo::open(dir.path()).expect("open");
        let ns = mnemo.namespace("agent").expect("namespace");
        let topics = fill(&ns);
        let done = ns
            .consolidate(&ConsolidateOptions::default())
            .expect("consolidate");
        created = done.created.clone();
        sources = topics;
        mnemo.close().expect("close");
    }
    for round in 0..2 {
        let mnemo = Mnemo::open(dir.path()).expect("reopen");
        let ns = mnemo.namespace("agent").expect("namespace");
        for (c, s) in created.iter().zip(&sources) {
            assert_eq!(ns.get(*c).expect("live").kind, Kind::Semantic);
            assert_eq!(&ns.derived_from(*c), s, "round {round}");
        }
        if round == 0 {
            ns.snapshot().expect("snapshot");
        }
        mnemo.close().expect("close");
    }
}
