//! Strength from use: touches raise it, time lowers it, replay and
//! snapshots keep it, recall weighs it when asked, and recalls can count
//! as uses.

use mnemo::{Error, Mnemo, NewMemory, Options, Query, RecallOptions, Timestamp};

const DAY_NS: i64 = 86_400 * 1_000_000_000;

#[test]
fn touches_strengthen_and_time_weakens() {
    let mnemo = Mnemo::in_memory();
    let ns = mnemo.namespace("agent").expect("namespace");
    let a = ns
        .remember(NewMemory::new("user prefers dark mode"))
        .expect("a");
    let b = ns
        .remember(NewMemory::new("user prefers light mode"))
        .expect("b");
    let before = ns.strength(a).expect("live");
    ns.touch(&[a, a, a]).expect("touch");
    assert_eq!(ns.touches(a), Some(1), "repeats in one call count once");
    ns.touch(&[a]).expect("touch");
    assert_eq!(ns.touches(a), Some(2));
    assert_eq!(ns.touches(b), Some(0));
    assert!(ns.strength(a).expect("live") > before);
    assert!(ns.strength(a).expect("live") > ns.strength(b).expect("live"));
    let now = Timestamp::now();
    let later = Timestamp(now.0 + 30 * DAY_NS);
    assert!(ns.strength_at(a, later).expect("live") < ns.strength_at(a, now).expect("live"));

    let seq = ns.log().next_seq();
    let e = ns
        .touch(&[a, mnemo::MemoryId(999)])
        .expect_err("unknown id");
    assert!(matches!(e, Error::UnknownId { id: 999, .. }), "{e}");
    assert_eq!(ns.log().next_seq(), seq, "a refused touch writes nothing");
    ns.forget(a).expect("forget");
    assert_eq!(ns.strength(a), None);
    assert_eq!(ns.touches(a), None);
}

#[test]
fn replay_and_snapshots_keep_the_touches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ids;
    let at = Timestamp(Timestamp::now().0 + DAY_NS);
    let strengths: Vec<f64>;
    {
        let mnemo = Mnemo::open(dir.path()).expect("open");
        let ns = mnemo.namespace("agent").expect("namespace");
        ids = (0..20)
            .map(|i| {
                ns.remember(NewMemory::new(format!("note {i}")))
                    .expect("remember")
            })
            .collect::<Vec<_>>();
        for (i, id) in ids.iter().enumerate() {
            for _ in 0..(i % 12) {
                ns.touch(&[*id]).expect("touch");
            }
        }
        strengths = ids
            .iter()
            .map(|id| ns.strength_at(*id, at).expect("live"))
            .collect();
        mnemo.close().expect("close");
    }
    let check = |label: &str| {
        let mnemo = Mnemo::open(dir.path()).expect("reopen");
        let ns = mnemo.namespace("agent").expect("namespace");
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(
                ns.touches(*id),
                Some((i % 12) as u64),
                "{label}: touches of {i}"
            );
            let s = ns.strength_at(*id, at).expect("live");
            assert!((s - strengths[i]).abs() < 1e-12, "{label}: strength of {i}");
        }
        mnemo.close().expect("close");
    };
    check("from the snapshot");
    for entry in std::fs::read_dir(dir.path().join("agent/snapshots")).expect("snapshots") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "snap") {
            std::fs::remove_file(path).expect("remove snapshot");
        }
    }
    check("by replay");
}

#[test]
fn recall_weighs_strength_when_asked_and_recalls_can_count_as_use() {
    let options = Options {
        reinforce_on_recall: true,
        ..Options::default()
    };
    let mnemo = Mnemo::in_memory_with(options);
    let ns = mnemo.namespace("agent").expect("namespace");
    let a = ns
        .remember(NewMemory::new("the launch checklist, version one"))
        .expect("a");
    let b = ns
        .remember(NewMemory::new("the launch checklist, version two"))
        .expect("b");
    for _ in 0..5 {
        ns.touch(&[b]).expect("touch");
    }
    let mut options = RecallOptions::k(2);
    options.weights.strength = 2.0;
    let hits = ns
        .recall_with("launch checklist", &options)
        .expect("recall")
        .hits;
    assert_eq!(hits[0].memory.id, b, "the memory used more comes first");
    // The two recalls' hits were queued; a flush writes them as one event.
    let touched = ns.flush_touches().expect("flush");
    assert_eq!(touched, 2);
    assert_eq!(ns.touches(a), Some(1));
    assert_eq!(ns.touches(b), Some(6));
    assert_eq!(
        ns.flush_touches().expect("flush"),
        0,
        "nothing is queued twice"
    );
    // Without the weight, the two are ranked by the query alone.
    options.weights.strength = 0.0;
    let hits = ns
        .recall_with("version one", &options)
        .expect("recall")
        .hits;
    assert_eq!(hits[0].memory.id, a);
    assert!(ns.query(&Query::new()).len() == 2);
}

#[test]
fn a_decay_outside_zero_to_one_is_refused() {
    for decay in [0.0, 1.0, -0.5, f64::NAN, f64::INFINITY] {
        let mnemo = Mnemo::in_memory_with(Options {
            strength_decay: decay,
            ..Options::default()
        });
        let e = mnemo.namespace("agent").expect_err("bad decay");
        assert!(e.to_string().contains("strength_decay"), "{e}");
    }
}
