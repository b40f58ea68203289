//! Procedural memory through the namespace: trajectories, patterns,
//! suggestions, refinement, pruning and consolidation as log events, the
//! same patterns after a replay, and bad input.

// A failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mnemo::patterns::{PatternParams, PrunePolicy};
use mnemo::{Mnemo, Namespace, NewTrajectory, Options, Timestamp};

/// A deterministic stream of numbers in `[0, 1)`.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
    }
}

fn dimension(ns: &Namespace) -> usize {
    ns.stats().embedder.dimension
}

/// Three task families (far apart), each with its own best executor.
fn families(dim: usize) -> Vec<Vec<f32>> {
    (0..3)
        .map(|f| {
            (0..dim)
                .map(|i| if i % 3 == f { 1.0 } else { 0.0 })
                .collect()
        })
        .collect()
}

fn noisy(centre: &[f32], s: &mut Stream) -> Vec<f32> {
    centre.iter().map(|x| x + 0.2 * (s.next() - 0.5)).collect()
}

const EXECUTORS: [&str; 3] = ["planner", "coder", "searcher"];

/// Records `n` trajectories: family `f`'s best executor is `EXECUTORS[f]`
/// (succeeds 90% of the time), the others succeed 20% of the time.
fn train(ns: &Namespace, n: usize, s: &mut Stream) {
    let dim = dimension(ns);
    let centres = families(dim);
    for i in 0..n {
        let f = i % 3;
        let e = (s.next() * 3.0) as usize % 3;
        let p = if e == f { 0.9 } else { 0.2 };
        let success = s.next() < p;
        let t = NewTrajectory::from_vector(noisy(&centres[f], s), EXECUTORS[e], success)
            .latency_cost(10.0 + e as f32, 0.01)
            .at(Timestamp(i as i64 * 1_000_000_000));
        ns.record_trajectory(t).unwrap();
    }
}

#[test]
fn suggest_learns_the_best_executor_per_task_family() {
    let options = Options {
        patterns: PatternParams {
            refine_every: 100,
            ..PatternParams::default()
        },
        ..Options::default()
    };
    let m = Mnemo::in_memory_with(options);
    let ns = m.namespace("agent").unwrap();
    let mut s = Stream(1);
    train(&ns, 600, &mut s);
    let stats = ns.stats();
    assert_eq!(stats.trajectories, 600);
    assert!(
        (3..=12).contains(&stats.patterns),
        "{} patterns",
        stats.patterns
    );
    let centres = families(dimension(&ns));
    for (f, centre) in centres.iter().enumerate() {
        let suggest = ns.suggest_vector(&noisy(centre, &mut s), 3).unwrap();
        assert_eq!(
            suggest.executor.as_deref(),
            Some(EXECUTORS[f]),
            "family {f}"
        );
        let top = &suggest.suggestions[0];
        assert!(top.similarity > 0.8 && top.score > 0.0);
        assert!(!top.evidence.is_empty(), "evidence trajectories");
        let pattern = ns.pattern(top.pattern).unwrap();
        assert_eq!(pattern.best_executor.as_deref(), Some(EXECUTORS[f]));
        assert!(pattern.count > 0 && pattern.last_used > Timestamp(0));
    }
}

#[test]
fn text_tasks_are_embedded_and_suggested() {
    let m = Mnemo::in_memory();
    let ns = m.namespace("agent").unwrap();
    for _ in 0..3 {
        ns.record_trajectory(NewTrajectory::new(
            "sort a list of numbers in python",
            "python-tool",
            true,
        ))
        .unwrap();
        ns.record_trajectory(NewTrajectory::new(
            "sort a list of numbers in python",
            "shell-tool",
            false,
        ))
        .unwrap();
    }
    let r = ns
        .record_trajectory(NewTrajectory::new(
            "book a flight to Lisbon",
            "browser",
            true,
        ))
        .unwrap();
    assert!(r.new_pattern);
    let suggest = ns.suggest("sort a list of numbers in python", 2).unwrap();
    assert_eq!(suggest.executor.as_deref(), Some("python-tool"));
    assert_eq!(ns.patterns().len(), 2);
}

#[test]
fn patterns_are_the_same_after_a_snapshot_restore_and_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let options = || Options {
        patterns: PatternParams {
            refine_every: 64,
            ..PatternParams::default()
        },
        ..Options::default()
    };
    let expected = {
        let m = Mnemo::open_with(dir.path(), options()).unwrap();
        let ns = m.namespace("p").unwrap();
        let mut s = Stream(7);
        train(&ns, 300, &mut s);
        ns.consolidate_patterns(Some(0.9)).unwrap();
        let patterns = ns.patterns();
        m.close().unwrap();
        patterns
    };
    {
        let m = Mnemo::open_with(dir.path(), options()).unwrap();
        let ns = m.namespace("p").unwrap();
        assert!(ns.open_report().snapshot_seq.is_some());
        assert_eq!(ns.patterns(), expected);
        m.close().unwrap();
    }
    std::fs::remove_dir_all(dir.path().join("p").join("snapshots")).unwrap();
    let m = Mnemo::open_with(dir.path(), options()).unwrap();
    let ns = m.namespace("p").unwrap();
    assert_eq!(ns.open_report().snapshot_seq, None);
    assert_eq!(ns.patterns(), expected, "a replay refines the same way");
}

#[test]
fn prune_and_consolidate_are_logged() {
    let m = Mnemo::in_memory();
    let ns = m.namespace("agent").unwrap();
    let mut s = Stream(3);
    train(&ns, 90, &mut s);
    let before = ns.stats();
    // A lone, failing pattern far from the rest.
    let dim = dimension(&ns);
    let lone: Vec<f32> = (0..dim).map(|i| if i == 1 { -1.0 } else { 0.0 }).collect();
    let r = ns
        .record_trajectory(NewTrajectory::from_vector(lone, "coder", false))
        .unwrap();
    assert!(r.new_pattern);
    let pruned = ns
        .prune_patterns(&PrunePolicy {
            min_count: Some(2),
            ..PrunePolicy::default()
        })
        .unwrap();
    assert!(pruned.contains(&r.pattern));
    assert!(ns.pattern(r.pattern).is_none());
    let after = ns.stats();
    assert_eq!(
        after.events,
        before.events + 2,
        "the trajectory and the prune"
    );
    assert_eq!(after.trajectories, before.trajectories);
    // Nothing to prune: nothing written.
    assert!(
        ns.prune_patterns(&PrunePolicy::default())
            .unwrap()
            .is_empty()
    );
    assert_eq!(ns.stats().events, after.events);
    // Everything merges at a threshold of -1.
    let merges = ns.consolidate_patterns(Some(-1.0)).unwrap();
    assert!(!merges.is_empty());
    assert!(ns.patterns().len() < after.patterns);
    assert_eq!(ns.stats().trajectories, after.trajectories);
}

#[test]
fn bad_trajectories_are_refused_and_write_nothing() {
    let m = Mnemo::in_memory();
    let ns = m.namespace("agent").unwrap();
    let dim = dimension(&ns);
    ns.record_trajectory(NewTrajectory::new("warm up", "e", true))
        .unwrap();
    let events = ns.stats().events;
    let good = || NewTrajectory::from_vector(vec![0.5; dim], "e", true);
    let cases: Vec<(NewTrajectory, &str)> = vec![
        (
            NewTrajectory::from_vector(vec![0.5; dim + 1], "e", true),
            "vector",
        ),
        (
            NewTrajectory::from_vector(vec![0.0; dim], "e", true),
            "vector",
        ),
        (
            NewTrajectory::from_vector(vec![f32::NAN; dim], "e", true),
            "vector",
        ),
        (NewTrajectory::new("  ", "e", true), "task"),
        (NewTrajectory::new("task", "", true), "executor"),
        (good().score(1.5), "score"),
        (good().score(f32::NAN), "score"),
        (good().latency_cost(-1.0, 0.0), "latency"),
        (good().latency_cost(f32::INFINITY, 0.0), "latency"),
        (good().latency_cost(0.0, f32::NAN), "cost"),
        (good().tags([""]), "tag"),
    ];
    for (t, word) in cases {
        let err = ns.record_trajectory(t.clone()).unwrap_err().to_string();
        assert!(err.contains(word), "{t:?}: {err}");
    }
    assert!(ns.suggest_vector(&[1.0; 3], 5).is_err());
    assert!(ns.suggest("", 5).is_err());
    assert!(ns.suggest("task", mnemo::MAX_SUGGEST_K + 1).is_err());
    assert!(ns.consolidate_patterns(Some(2.0)).is_err());
    assert!(
        ns.prune_patterns(&PrunePolicy {
            min_quality: Some(f32::NAN),
            ..PrunePolicy::default()
        })
        .is_err()
    );
    assert_eq!(ns.stats().events, events);
    assert!(ns.suggest("task", 0).unwrap().suggestions.is_empty());
}

/// A store driven through every state-changing path (online clustering,
/// k-means++ and warm-start refinement, the sketch paths above 64
/// patterns, pruning, consolidation), fingerprinted: its serialised bytes
/// and its suggestions (patterns, executors, evidence) must keep the same
/// bits on every platform and across refactors: snapshots hold this state.
#[test]
fn the_store_is_bit_for_bit_deterministic() {
    use mnemo::patterns::{PatternStore, Trajectory, TrajectoryId};

    fn drive(dim: usize, n: usize, families: usize, noise: f32, seed: u64) -> (Vec<u8>, String) {
        let mut s = Stream(seed);
        let mut store = PatternStore::new(dim);
        for i in 0..n {
            let f = i % families;
            let vector: Vec<f32> = (0..dim)
                .map(|j| f32::from(u8::from(j % families == f)) + noise * (s.next() - 0.5))
                .collect();
            let pattern = store.assign(&vector, 0.8);
            let id: TrajectoryId = store.next_trajectory_id();
            let success = s.next() < 0.6;
            assert!(store.record(Trajectory {
                id,
                task: None,
                vector,
                success,
                score: s.next(),
                latency_ms: 100.0 * s.next(),
                cost: s.next(),
                executor: EXECUTORS[i % 3].to_owned(),
                tags: Vec::new(),
                at: Timestamp(i as i64),
                pattern,
                seq: id.0,
            }));
            if i % 97 == 96 {
                store.refine(i as u64, &PatternParams::default());
            }
        }
        let small = PatternParams {
            refine_max_trajectories: n / 3,
            ..PatternParams::default()
        };
        store.refine(seed, &small);
        let merges = store.plan_consolidate(0.9);
        store.consolidate(&merges);
        let weak = store.plan_prune(&PrunePolicy {
            min_count: Some(2),
            ..PrunePolicy::default()
        });
        store.prune(&weak);
        let mut answers = String::new();
        for f in 0..families {
            let q: Vec<f32> = (0..dim)
                .map(|j| f32::from(u8::from(j % families == f)) + 0.3 * s.next())
                .collect();
            // Similarities come from the CPU's SIMD kernels (the read path
            // may use them): only what does not depend on their last bits.
            let answer = store.suggest(&q, 5);
            for x in &answer.suggestions {
                let rate = x.executor_success_rate.to_bits();
                let fields = (x.pattern, &x.executor, &x.evidence, x.count, rate);
                answers.push_str(&format!("{fields:?} "));
            }
            answers.push_str(&format!("{:?}\n", answer.executor));
            answers.push_str(&format!("{:?}\n", store.assign(&q, 0.5)));
        }
        assert!(store.len() >= families / 2, "{} patterns", store.len());
        (postcard::to_allocvec(&store).unwrap(), answers)
    }

    let mut fingerprint = Vec::new();
    for (dim, n, families, noise, seed) in [
        (16, 700, 4, 0.6, 1),
        (96, 1_500, 90, 0.12, 2),
        (5, 300, 3, 0.6, 3),
    ] {
        let (bytes, answers) = drive(dim, n, families, noise, seed);
        fingerprint.push(xxhash_rust::xxh3::xxh3_64(&bytes));
        fingerprint.push(xxhash_rust::xxh3::xxh3_64(answers.as_bytes()));
    }
    assert_eq!(
        fingerprint,
        [
            0xd2d3_82f8_d5d1_f9ce,
            0x4862_ed72_9c04_75d8,
            0x688f_27e2_f818_867c,
            0x6975_f2c8_fc94_8f7b,
            0xf62b_cf21_2068_8724,
            0x4d0b_72c3_3e81_387c,
        ],
        "{fingerprint:#x?}"
    );
}
