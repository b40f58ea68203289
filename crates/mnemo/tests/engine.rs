//! End-to-end behaviour of the engine API.

use std::time::Duration;

use mnemo::{Kind, Mnemo, NewMemory, Options, OrderBy, Query, Revision, Timestamp, WatchEvent};

fn memory(content: &str) -> NewMemory {
    NewMemory::new(content)
}

#[test]
fn remember_get_query_forget() {
    let m = Mnemo::in_memory();
    let ns = m.namespace("t").expect("ns");
    let a = ns
        .remember(
            memory("Alice likes green tea")
                .tag("food")
                .at(Timestamp(10)),
        )
        .expect("a");
    let b = ns
        .remember(memory("Bob plays chess").tag("games").at(Timestamp(20)))
        .expect("b");
    let c = ns
        .remember(memory("Alice bought oolong").tag("food").at(Timestamp(30)))
        .expect("c");
    assert_eq!(ns.get(a).expect("get").content, "Alice likes green tea");
    let food = ns.query(&Query::new().tag("food").order_by(OrderBy::At).descending());
    assert_eq!(food.iter().map(|m| m.id).collect::<Vec<_>>(), vec![c, a]);
    assert_eq!(ns.count(&Query::new().contains("ALICE")), 2);
    assert!(ns.exists(&Query::new().tag("games")));
    ns.forget(b).expect("forget");
    assert!(ns.get(b).is_none());
    assert!(!ns.exists(&Query::new().tag("games")));
    assert!(ns.forget(b).is_err());
}

#[test]
fn dedup_and_keys() {
    let m = Mnemo::in_memory();
    let ns = m.namespace("t").expect("ns");
    let a = ns.remember(memory("same text")).expect("a");
    let b = ns.remember(memory("same text")).expect("b");
    assert_eq!(a, b);
    let k1 = ns.remember(memory("v1").key("pref")).expect("k1");
    let k2 = ns.remember(memory("v2").key("pref")).expect("k2");
    assert_eq!(k1, k2);
    assert_eq!(ns.get(k1).expect("get").content, "v2");
    let off = Mnemo::in_memory_with(Options::default().dedup(false));
    let ns = off.namespace("t").expect("ns");
    let a = ns.remember(memory("same text")).expect("a");
    let b = ns.remember(memory("same text")).expect("b");
    assert_ne!(a, b);
}

#[test]
fn bad_input_changes_nothing() {
    let m = Mnemo::in_memory();
    let ns = m.namespace("t").expect("ns");
    let before = ns.root().expect("root");
    assert!(ns.remember(memory("")).is_err());
    assert!(ns.remember(memory("x".repeat(10 << 20).as_str())).is_err());
    assert!(ns.remember(memory("ok").importance(2.0)).is_err());
    let err = ns
        .remember_batch(vec![memory("fine"), memory("   ")])
        .expect_err("batch refused");
    assert!(err.to_string().contains("item 1"), "{err}");
    assert_eq!(ns.root().expect("root"), before);
    assert!(
        ns.revise(mnemo::MemoryId(99), Revision::new().content("x"))
            .is_err()
    );
    assert!(m.namespace("bad/name").is_err());
    assert!(m.namespace("").is_err());
    assert!(m.namespace(".hidden").is_err());
}

#[test]
fn revise_retag_link_and_prove() {
    let m = Mnemo::in_memory();
    let ns = m.namespace("t").expect("ns");
    let a = ns.remember(memory("first draft").tag("x")).expect("a");
    let b = ns
        .remember(memory("other").kind(Kind::Semantic))
        .expect("b");
    let d = ns
        .revise(a, Revision::new().content("final text"))
        .expect("revise");
    assert_eq!(d.changed, vec![a]);
    ns.retag(a, &["y"], &["x"]).expect("retag");
    assert_eq!(ns.get(a).expect("a").tags, vec!["y".to_owned()]);
    assert!(ns.query(&Query::new().tag("x")).is_empty());
    ns.link(a, b, "refers_to", 0.5).expect("link");
    assert_eq!(ns.links(a).0.len(), 1);
    ns.unlink(a, b, "refers_to").expect("unlink");
    assert!(ns.unlink(a, b, "refers_to").is_err());
    let proof = ns.prove(a).expect("proof");
    proof.verify(None).expect("verifies");
    ns.forget(a).expect("forget");
    assert!(ns.revise(a, Revision::new().content("again")).is_err());
}

#[test]
fn recall_finds_by_words_and_meaning() {
    let m = Mnemo::in_memory();
    let ns = m.namespace("t").expect("ns");
    let ids = ns
        .remember_batch(vec![
            memory("Caroline went to the LGBTQ support group yesterday"),
            memory("Melanie painted a sunrise over the lake"),
            memory("The weather was rainy all week"),
        ])
        .expect("batch")
        .into_iter()
        .map(|r| r.id)
        .collect::<Vec<_>>();
    let hits = ns
        .recall("support group", 2, &Query::new())
        .expect("recall");
    assert_eq!(hits[0].memory.id, ids[0]);
    assert!(hits[0].keyword.is_some());
    assert!(!hits[0].matched_terms.is_empty());
    let none = ns
        .recall("support group", 2, &Query::new().tag("nothing"))
        .expect("recall");
    assert!(none.is_empty());
}

#[test]
fn watchers_get_current_then_deltas() {
    let m = Mnemo::in_memory();
    let ns = m.namespace("t").expect("ns");
    let a = ns.remember(memory("one").tag("w")).expect("a");
    let mut w = ns.watch(Query::new().tag("w")).expect("watch");
    match w.try_recv() {
        Some(WatchEvent::Current(v)) => assert_eq!(v.len(), 1),
        other => panic!("{other:?}"),
    }
    ns.remember(memory("elsewhere").tag("other")).expect("b");
    assert!(w.try_recv().is_none(), "a change outside the filter");
    let c = ns.remember(memory("two").tag("w")).expect("c");
    assert!(
        matches!(w.recv_timeout(Duration::from_secs(1)), Some(WatchEvent::Added(m)) if m.id == c)
    );
    ns.retag(a, &[], &["w"]).expect("retag");
    assert_eq!(w.try_recv(), Some(WatchEvent::Removed(a)));
}

#[test]
fn watchers_lag_explicitly() {
    let m = Mnemo::in_memory_with(Options {
        watch_buffer: 4,
        ..Options::default()
    });
    let ns = m.namespace("t").expect("ns");
    let mut w = ns.watch(Query::new()).expect("watch");
    for i in 0..10 {
        ns.remember(memory(&format!("m{i}"))).expect("write");
    }
    assert!(matches!(w.try_recv(), Some(WatchEvent::Lagged)));
    match w.try_recv() {
        Some(WatchEvent::Current(v)) => assert_eq!(v.len(), 10),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reopen_replays_and_snapshots() {
    let dir = tempfile::tempdir().expect("dir");
    let ids: Vec<mnemo::MemoryId>;
    let root;
    {
        let m = Mnemo::open(dir.path()).expect("open");
        let ns = m.namespace("t").expect("ns");
        ids = ns
            .remember_batch(
                (0..100)
                    .map(|i| {
                        memory(&format!("memory number {i}")).tag(if i % 2 == 0 {
                            "even"
                        } else {
                            "odd"
                        })
                    })
                    .collect(),
            )
            .expect("batch")
            .into_iter()
            .map(|r| r.id)
            .collect();
        ns.link(ids[0], ids[1], "next", 1.0).expect("link");
        ns.forget(ids[5]).expect("forget");
        root = ns.root().expect("root");
        m.close().expect("close");
    }
    {
        let m = Mnemo::open(dir.path()).expect("reopen");
        let ns = m.namespace("t").expect("ns");
        assert!(
            ns.open_report().snapshot_seq.is_some(),
            "{:?}",
            ns.open_report()
        );
        assert_eq!(ns.open_report().replayed, 0);
        assert_eq!(ns.root().expect("root"), root);
        assert_eq!(ns.count(&Query::new()), 99);
        assert_eq!(ns.count(&Query::new().tag("even")), 50);
        assert_eq!(ns.links(ids[0]).0.len(), 1);
        let hits = ns
            .recall("memory number 42", 1, &Query::new())
            .expect("recall");
        assert_eq!(hits[0].memory.id, ids[42]);
        m.close().expect("close");
    }
    // Damage every snapshot: opening replays the log instead.
    for e in std::fs::read_dir(dir.path().join("t/snapshots")).expect("dir") {
        let path = e.expect("entry").path();
        let mut bytes = std::fs::read(&path).expect("read");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&path, bytes).expect("write");
    }
    let m = Mnemo::open(dir.path()).expect("reopen");
    let ns = m.namespace("t").expect("ns");
    assert!(ns.open_report().snapshot_seq.is_none());
    assert!(!ns.open_report().warnings.is_empty());
    assert_eq!(ns.count(&Query::new()), 99);
    assert_eq!(ns.root().expect("root"), root);
}

/// `remember_batch` says per item whether it added, updated or found its
/// memory, and the seq of the memory's current version, as if the items
/// were remembered one by one.
#[test]
fn batch_outcomes_say_what_happened() {
    use mnemo::{Outcome, Remembered};
    let m = Mnemo::in_memory();
    let ns = m.namespace("t").expect("ns");
    let first = ns
        .remember_batch(vec![memory("tea at noon"), memory("k one").key("k")])
        .expect("batch");
    let outcomes: Vec<Outcome> = first.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, vec![Outcome::Added, Outcome::Added]);
    let seq = first[0].seq;
    assert_eq!(first[1].seq, seq, "one record, one seq");
    assert_eq!(ns.get(first[0].id).expect("live").updated_seq, seq.0);

    let second = ns
        .remember_batch(vec![
            memory("tea at noon"),             // stored already
            memory("k one").key("k"),          // same fields
            memory("k two").key("k"),          // changes the keyed memory
            memory("coffee at four"),          // new
            memory("coffee at four"),          // earlier in this batch
            memory("k two").key("k").tag("x"), // changes it again
        ])
        .expect("batch");
    let (tea, keyed) = (first[0].id, first[1].id);
    let got: Vec<(mnemo::MemoryId, Outcome)> = second.iter().map(|r| (r.id, r.outcome)).collect();
    let coffee = second[3].id;
    assert_eq!(
        got,
        vec![
            (tea, Outcome::Unchanged),
            (keyed, Outcome::Unchanged),
            (keyed, Outcome::Updated),
            (coffee, Outcome::Added),
            (coffee, Outcome::Unchanged),
            (keyed, Outcome::Updated),
        ]
    );
    assert_eq!(second[0].seq, seq, "an unchanged memory keeps its seq");
    let now = ns.get(keyed).expect("live");
    assert_eq!(now.content, "k two");
    assert_eq!(now.tags, vec!["x".to_owned()]);
    for r in &second[1..] {
        let Remembered { id, seq, .. } = *r;
        assert_eq!(
            ns.get(id).expect("live").updated_seq,
            seq.0,
            "the seq is the memory's current version"
        );
    }
    // Nothing to write: no event, the same root.
    let root = ns.root().expect("root");
    let again = ns
        .remember_batch(vec![
            memory("tea at noon"),
            memory("k two").key("k").tag("x"),
        ])
        .expect("batch");
    assert!(again.iter().all(|r| r.outcome == Outcome::Unchanged));
    assert_eq!(ns.root().expect("root"), root);
}

/// A namespace built with one embedder opens under an engine whose default
/// is another only through `Options::recorded_embedders`, and only with an
/// embedder of the recorded id and dimension.
#[test]
fn recorded_embedders_open_namespaces_built_with_another_embedder() {
    use std::sync::Arc;

    use mnemo::{EmbedderLoader, RecallOptions};
    use mnemo_embed::{CallerVectors, Embedder, HashEmbedder};

    let dir = tempfile::tempdir().expect("dir");
    {
        let m = Mnemo::open(dir.path()).expect("open");
        m.namespace("old")
            .expect("ns")
            .remember(memory("the ferry to Lisbon leaves at noon"))
            .expect("remember");
        m.close().expect("close");
    }
    let caller: Arc<dyn Embedder> = Arc::new(CallerVectors::new(8).expect("caller"));
    let with = |loader: Option<EmbedderLoader>| {
        let mut options = Options::default().embedder(Arc::clone(&caller));
        if let Some(loader) = loader {
            options = options.recorded_embedders(loader);
        }
        Mnemo::open_with(dir.path(), options).expect("open")
    };
    let hash_id = HashEmbedder::new().info().id.clone();

    // No loader, a loader that does not know the id, one that fails, and
    // one that answers another embedder: the namespace refuses to open.
    let refused = with(None).namespace("old").expect_err("no loader");
    assert!(refused.to_string().contains(&hash_id), "{refused}");
    let unknown: EmbedderLoader = Arc::new(|_| Ok(None));
    assert!(with(Some(unknown)).namespace("old").is_err());
    let failing: EmbedderLoader = Arc::new(|_| {
        Err(mnemo_embed::Error::Inference {
            reason: "model files missing".into(),
        })
    });
    let failed = with(Some(failing)).namespace("old").expect_err("failing");
    assert!(
        failed.to_string().contains("model files missing"),
        "{failed}"
    );
    let wrong: EmbedderLoader = Arc::new(|_| Ok(Some(Arc::new(CallerVectors::new(384)?))));
    assert!(with(Some(wrong)).namespace("old").is_err());

    // A loader that knows the recorded id opens it with that embedder,
    // and new namespaces still get the engine's.
    let knows: EmbedderLoader = Arc::new(move |info| {
        Ok((info.id == hash_id).then(|| Arc::new(HashEmbedder::new()) as Arc<dyn Embedder>))
    });
    let m = with(Some(knows));
    let old = m
        .namespace("old")
        .expect("opens with the recorded embedder");
    assert_eq!(old.embedder_info().id, HashEmbedder::new().info().id);
    let hits = old
        .recall_with("ferry to Lisbon", &RecallOptions::k(1))
        .expect("recall embeds with the recorded embedder")
        .hits;
    assert_eq!(hits[0].memory.content, "the ferry to Lisbon leaves at noon");
    assert_eq!(
        m.namespace("new").expect("new").embedder_info().id,
        "caller-8"
    );
    // A namespace given its own embedder does not use the loader.
    assert!(
        m.namespace_with_embedder("other", Arc::clone(&caller))
            .is_ok()
            && with(Some(Arc::new(|_| Ok(Some(
                Arc::new(HashEmbedder::new()) as Arc<dyn Embedder>
            )))))
            .namespace_with_embedder("old", Arc::clone(&caller))
            .is_err()
    );
}
