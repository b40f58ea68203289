//! Tiers under a memory budget: the strongest memories stay hot, the next
//! warm, the rest cold; every move is an event replay and snapshots keep;
//! recall says which tier answered, finds cold memories by keyword, and by
//! vector only when asked to scan them.

use mnemo::lifecycle::Tier;
use mnemo::{Error, Mnemo, NewMemory, Options, Query, RecallOptions, SignalWeights};

fn options(budget: u64) -> Options {
    Options {
        max_resident_bytes: Some(budget),
        ..Options::default()
    }
}

/// A namespace of 120 notes whose budget holds about 10 hot vectors.
fn filled(mnemo: &Mnemo) -> (mnemo::Namespace, Vec<mnemo::MemoryId>) {
    let ns = mnemo.namespace("agent").expect("namespace");
    let ids = (0..120)
        .map(|i| {
            ns.remember(NewMemory::new(format!(
                "note {i}: the {} project meeting moved to room {}",
                ["alpha", "beta", "gamma", "delta"][i % 4],
                100 + i
            )))
            .expect("remember")
        })
        .collect::<Vec<_>>();
    (ns, ids)
}

fn budget_for(dimension: usize) -> u64 {
    // Ten hot vectors' worth in the hot half, the rest warm.
    2 * 10 * mnemo::lifecycle::min_budget(dimension)
}

#[test]
fn the_budget_keeps_the_strongest_hot_and_moves_the_rest_down() {
    let probe = Mnemo::in_memory();
    let dimension = probe
        .namespace("probe")
        .expect("probe")
        .embedder_info()
        .dimension;
    let budget = budget_for(dimension);
    let mnemo = Mnemo::in_memory_with(options(budget));
    let (ns, ids) = filled(&mnemo);
    // The oldest memory is used a lot: it should stay hot.
    for _ in 0..5 {
        ns.touch(&[ids[0]]).expect("touch");
    }
    let report = ns.rebalance_tiers().expect("rebalance");
    assert_eq!(report.hot + report.warm + report.cold, 120);
    assert!(report.hot >= 1 && report.hot <= 10, "{report:?}");
    assert!(report.warm > 0 && report.cold > 0, "{report:?}");
    assert!(report.resident_bytes <= budget, "{report:?}");
    // The moves are events (this call's, or the maintenance thread's).
    let log = ns.log();
    assert!(
        (log.first_seq()..log.next_seq())
            .any(|seq| log.read(seq).expect("record").payload()[1] == 24)
    );
    assert_eq!(ns.lifecycle(ids[0]).expect("live").tier, Tier::Hot);
    let stats = ns.stats();
    assert_eq!(stats.warm_vectors, report.warm);
    assert_eq!(stats.cold_memories, report.cold);
    // Nothing more to move.
    assert_eq!(ns.rebalance_tiers().expect("again").moved, 0);

    // A cold memory: found by keyword, its hit says cold.
    let cold = ids
        .iter()
        .copied()
        .find(|id| ns.lifecycle(*id).expect("live").tier == Tier::Cold)
        .expect("a cold memory");
    let text = ns.get(cold).expect("live").content.clone();
    let room = text.split_whitespace().last().expect("room").to_owned();
    let note = text.split(':').next().expect("note").to_owned();
    let hits = ns
        .recall(&format!("{note} room {room}"), 3, &Query::new())
        .expect("recall");
    assert_eq!(hits[0].memory.id, cold, "{hits:?}");
    assert_eq!(hits[0].tier, Tier::Cold);
    // Found by its words, it is scored by its exact vector (from the log).
    let by_words = ns
        .recall_with(
            &text,
            &RecallOptions {
                k: 1,
                ..RecallOptions::default()
            },
        )
        .expect("recall");
    assert_eq!(by_words.hits[0].memory.id, cold);
    let vector = by_words.hits[0].vector.as_ref().expect("a vector signal");
    assert!(vector.score > 0.999, "{vector:?}");
    // By vector alone it is found only when the cold tier is scanned.
    let vector_only = |scan_cold: bool| RecallOptions {
        k: 1,
        weights: SignalWeights {
            keyword: 0.0,
            activation: 0.0,
            ..SignalWeights::default()
        },
        spreading: false,
        scan_cold,
        ..RecallOptions::default()
    };
    let without = ns.recall_with(&text, &vector_only(false)).expect("recall");
    assert!(without.hits.iter().all(|h| h.memory.id != cold));
    let with = ns.recall_with(&text, &vector_only(true)).expect("recall");
    assert_eq!(with.hits[0].memory.id, cold);
    // A warm memory is found by vector through its codes.
    let warm = ids
        .iter()
        .copied()
        .find(|id| ns.lifecycle(*id).expect("live").tier == Tier::Warm)
        .expect("a warm memory");
    let warm_text = ns.get(warm).expect("live").content.clone();
    let found = ns
        .recall_with(&warm_text, &vector_only(false))
        .expect("recall");
    assert_eq!(found.hits[0].memory.id, warm);
    assert_eq!(found.hits[0].tier, Tier::Warm);

    // Use promotes: a cold memory touched often comes back hot, with its
    // exact vector (read from the log).
    for _ in 0..20 {
        ns.touch(&[cold]).expect("touch");
    }
    ns.rebalance_tiers().expect("rebalance");
    assert_eq!(ns.lifecycle(cold).expect("live").tier, Tier::Hot);
    let again = ns.recall_with(&text, &vector_only(false)).expect("recall");
    assert_eq!(again.hits[0].memory.id, cold);
    assert!(again.hits[0].vector.as_ref().expect("vector").score > 0.999);
}

#[test]
fn tiers_survive_replay_and_snapshots_with_the_same_answers() {
    let dimension = Mnemo::in_memory()
        .namespace("probe")
        .expect("probe")
        .embedder_info()
        .dimension;
    let dir = tempfile::tempdir().expect("dir");
    let query = "alpha project meeting room";
    let (tiers, answer);
    {
        let mnemo = Mnemo::open_with(dir.path(), options(budget_for(dimension))).expect("open");
        let (ns, ids) = filled(&mnemo);
        ns.rebalance_tiers().expect("rebalance");
        tiers = ids
            .iter()
            .map(|id| ns.lifecycle(*id).expect("live").tier)
            .collect::<Vec<_>>();
        answer = ns
            .recall(query, 10, &Query::new())
            .expect("recall")
            .iter()
            .map(|h| (h.memory.id, h.tier))
            .collect::<Vec<_>>();
        mnemo.close().expect("close");
    }
    for round in 0..2 {
        let mnemo = Mnemo::open_with(dir.path(), options(budget_for(dimension))).expect("reopen");
        let ns = mnemo.namespace("agent").expect("namespace");
        let now: Vec<Tier> = ns
            .query(&Query::new())
            .iter()
            .map(|m| ns.lifecycle(m.id).expect("live").tier)
            .collect();
        assert_eq!(now, tiers, "round {round}");
        let got: Vec<_> = ns
            .recall(query, 10, &Query::new())
            .expect("recall")
            .iter()
            .map(|h| (h.memory.id, h.tier))
            .collect();
        assert_eq!(got, answer, "round {round}");
        if round == 0 {
            ns.snapshot().expect("snapshot");
        }
        mnemo.close().expect("close");
    }
}

#[test]
fn a_budget_smaller_than_one_memory_is_refused() {
    match Mnemo::in_memory_with(options(10)).namespace("agent") {
        Err(Error::Invalid { field, .. }) => assert_eq!(field, "max_resident_bytes"),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    // Without a budget nothing moves.
    let mnemo = Mnemo::in_memory();
    let (ns, _) = filled(&mnemo);
    let report = ns.rebalance_tiers().expect("rebalance");
    assert_eq!(
        (report.hot, report.warm, report.cold, report.moved),
        (120, 0, 0, 0)
    );
}

#[test]
fn a_repeat_of_a_warm_or_cold_memory_merges_into_it() {
    let dimension = Mnemo::in_memory()
        .namespace("probe")
        .expect("probe")
        .embedder_info()
        .dimension;
    let mnemo = Mnemo::in_memory_with(options(budget_for(dimension)).duplicates(
        mnemo::lifecycle::Duplicates {
            mode: mnemo::lifecycle::DuplicateMode::Merge,
            ..mnemo::lifecycle::Duplicates::default()
        },
    ));
    let (ns, ids) = filled(&mnemo);
    ns.rebalance_tiers().expect("rebalance");
    for tier in [Tier::Warm, Tier::Cold] {
        let old = ids
            .iter()
            .copied()
            .find(|id| ns.lifecycle(*id).expect("live").tier == tier)
            .expect("a memory in the tier");
        let text = ns.get(old).expect("live").content.clone();
        let done = ns
            .remember_batch(vec![NewMemory::new(format!("{}.", text.to_uppercase()))])
            .expect("repeat");
        assert_eq!(done[0].id, old, "{tier:?}");
        assert_eq!(done[0].outcome, mnemo::Outcome::Merged, "{tier:?}");
        assert_eq!(ns.lifecycle(old).expect("live").merged.count, 1);
    }
    assert_eq!(ns.count(&Query::new()), 120);
}
