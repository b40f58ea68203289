//! Lifecycle: hard expiry (per memory, per tag, per namespace) that leaves
//! reads at once and is written as an event, and near-duplicate writes
//! flagged or merged, each decision an event that replay and snapshots
//! keep.

use std::time::{Duration, Instant};

use mnemo::lifecycle::{DuplicateMode, Duplicates, Expiry};
use mnemo::{Error, Mnemo, NewMemory, Options, Outcome, Query, Timestamp};

const SECOND_NS: i64 = 1_000_000_000;

fn past() -> Timestamp {
    Timestamp(Timestamp::now().0 - SECOND_NS)
}

fn event_names(ns: &mnemo::Namespace) -> Vec<String> {
    let log = ns.log();
    let mut names = Vec::new();
    for seq in log.first_seq()..log.next_seq() {
        let record = log.read(seq).expect("read");
        let payload = record.payload();
        // The clear kinds decode without keys; the rest name their kind byte.
        let kind = payload[1];
        names.push(
            match kind {
                19 => "expiry",
                20 => "expire",
                21 => "flag",
                22 => "merge",
                1 => "remember",
                6 => "forget",
                0 => "init",
                _ => "other",
            }
            .to_owned(),
        );
    }
    names
}

#[test]
fn a_memory_past_its_deadline_leaves_reads_at_once_and_its_expiry_is_an_event() {
    let mnemo = Mnemo::in_memory();
    let ns = mnemo.namespace("agent").expect("namespace");
    let kept = ns
        .remember(NewMemory::new("the user lives in Lisbon"))
        .expect("kept");
    let later = Timestamp(Timestamp::now().0 + 3600 * SECOND_NS);
    let soon = ns
        .remember(NewMemory::new("the meeting room is B12").expires(later))
        .expect("soon");
    // (Written last: a write sweeps what is due before it.)
    let gone = ns
        .remember(NewMemory::new("the one-time code is 449120").expires(past()))
        .expect("gone");
    // Gone from every read before any sweep ran.
    assert!(ns.get(gone).is_none());
    assert_eq!(ns.count(&Query::new()), 2);
    assert!(!ns.exists(&Query::new().contains("449120")));
    let hits = ns
        .recall("one-time code", 5, &Query::new())
        .expect("recall");
    assert!(hits.iter().all(|h| h.memory.id != gone), "{hits:?}");
    let filtered = ns
        .recall("one-time code", 5, &Query::new().contains("code"))
        .expect("recall");
    assert!(filtered.is_empty(), "{filtered:?}");
    assert_eq!(ns.lifecycle(gone), None);
    assert_eq!(ns.lifecycle(soon).expect("live").expires, Some(later));
    assert_eq!(ns.lifecycle(kept).expect("live").expires, None);
    // The sweep writes it down, once (this call's, or the maintenance
    // thread's if it came first).
    let swept = ns.expire_due().expect("sweep");
    assert!(swept == vec![gone] || swept.is_empty(), "{swept:?}");
    assert_eq!(ns.expire_due().expect("sweep"), vec![]);
    assert_eq!(event_names(&ns).last().map(String::as_str), Some("expire"));
    assert_eq!(
        event_names(&ns).iter().filter(|n| *n == "expire").count(),
        1
    );
    assert!(ns.touch(&[gone]).is_err(), "an expired memory is not live");
    // Clearing and setting deadlines are events too.
    ns.set_expiry(soon, None).expect("clear");
    assert_eq!(ns.lifecycle(soon).expect("live").expires, None);
    ns.set_expiry(soon, Some(past())).expect("set");
    assert!(ns.get(soon).is_none());
    assert!(matches!(
        ns.set_expiry(soon, None),
        Err(Error::UnknownId { .. })
    ));
    // A write sweeps what is due before it.
    ns.remember(NewMemory::new("another note")).expect("write");
    assert!(event_names(&ns).iter().filter(|n| *n == "expire").count() >= 2);
    assert_eq!(ns.count(&Query::new()), 2);
}

#[test]
fn namespace_and_tag_ttls_count_from_the_write_and_the_shortest_applies() {
    let expiry = Expiry {
        ttl: Some(Duration::from_secs(3600)),
        tags: [("session".to_owned(), Duration::from_secs(60))].into(),
    };
    let mnemo = Mnemo::in_memory_with(Options::default().expiry(expiry));
    let ns = mnemo.namespace("agent").expect("namespace");
    let before = Timestamp::now();
    let plain = ns.remember(NewMemory::new("a plain note")).expect("plain");
    let session = ns
        .remember(NewMemory::new("a session note").tag("session"))
        .expect("session");
    let own = Timestamp(before.0 + 10 * 86_400 * SECOND_NS);
    let explicit = ns
        .remember(NewMemory::new("kept ten days").tag("session").expires(own))
        .expect("explicit");
    let after = Timestamp::now();
    let deadline = |id| ns.lifecycle(id).expect("live").expires.expect("deadline");
    let within = |t: Timestamp, ttl_s: i64| {
        t.0 >= before.0 + ttl_s * SECOND_NS && t.0 <= after.0 + ttl_s * SECOND_NS
    };
    assert!(within(deadline(plain), 3600));
    assert!(within(deadline(session), 60));
    assert_eq!(deadline(explicit), own, "the write's own deadline wins");
    // Writing the same content again keeps the first deadline (hard TTL
    // from the first write) ...
    let first = deadline(plain);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        ns.remember(NewMemory::new("a plain note")).expect("again"),
        plain
    );
    assert_eq!(deadline(plain), first);
    // ... and gives one to a memory that lost it (the retry after a crash
    // between the memory and its deadline).
    ns.set_expiry(plain, None).expect("clear");
    ns.remember(NewMemory::new("a plain note")).expect("retry");
    assert!(deadline(plain) > first);
}

#[test]
fn the_maintenance_thread_expires_due_memories_without_a_write() {
    let mnemo = Mnemo::in_memory();
    let ns = mnemo.namespace("agent").expect("namespace");
    let soon = Timestamp(Timestamp::now().0 + SECOND_NS / 5);
    let id = ns
        .remember(NewMemory::new("expires in a moment").expires(soon))
        .expect("remember");
    let started = Instant::now();
    while !event_names(&ns).iter().any(|n| n == "expire") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no sweep within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(ns.get(id).is_none());
}

#[test]
fn deadlines_survive_replay_and_snapshots_and_expire_after_reopening() {
    let dir = tempfile::tempdir().expect("dir");
    let soon = Timestamp(Timestamp::now().0 + SECOND_NS / 2);
    let far = Timestamp(Timestamp::now().0 + 86_400 * SECOND_NS);
    let (a, b);
    {
        let mnemo = Mnemo::open(dir.path()).expect("open");
        let ns = mnemo.namespace("agent").expect("namespace");
        a = ns
            .remember(NewMemory::new("short lived").expires(soon))
            .expect("a");
        b = ns
            .remember(NewMemory::new("long lived").expires(far))
            .expect("b");
        mnemo.close().expect("close");
    }
    for snapshot in [false, true] {
        let mnemo = Mnemo::open(dir.path()).expect("reopen");
        let ns = mnemo.namespace("agent").expect("namespace");
        assert_eq!(ns.lifecycle(b).expect("live").expires, Some(far));
        if snapshot {
            assert!(ns.snapshot().expect("snapshot").is_some() || ns.get(a).is_none());
        }
        mnemo.close().expect("close");
    }
    std::thread::sleep(Duration::from_millis(600));
    let mnemo = Mnemo::open(dir.path()).expect("reopen");
    let ns = mnemo.namespace("agent").expect("namespace");
    assert!(ns.get(a).is_none(), "past its deadline after reopening");
    assert_eq!(ns.expire_due().expect("sweep"), vec![a]);
    assert_eq!(ns.lifecycle(b).expect("live").expires, Some(far));
}

fn with_duplicates(mode: DuplicateMode) -> Mnemo {
    Mnemo::in_memory_with(Options::default().duplicates(Duplicates {
        mode,
        ..Duplicates::default()
    }))
}

#[test]
fn a_near_duplicate_merges_into_the_memory_it_repeats_as_a_use() {
    let mnemo = with_duplicates(DuplicateMode::Merge);
    let ns = mnemo.namespace("agent").expect("namespace");
    let first = ns
        .remember(NewMemory::new("The user prefers dark mode in the editor").source("chat-1"))
        .expect("first");
    let strength = ns.strength(first).expect("live");
    let done = ns
        .remember_batch(vec![
            NewMemory::new("the user prefers dark mode in the editor!").source("chat-2"),
            NewMemory::new("The user prefers light mode in the editor").source("chat-3"),
            NewMemory::new("The user prefers light mode in the editor.").source("chat-4"),
        ])
        .expect("batch");
    assert_eq!(done[0].id, first);
    assert_eq!(done[0].outcome, Outcome::Merged);
    assert_eq!(
        done[1].outcome,
        Outcome::Added,
        "a changed preference is new"
    );
    assert_eq!(
        done[2].id, done[1].id,
        "merged into the earlier item of its batch"
    );
    assert_eq!(done[2].outcome, Outcome::Merged);
    assert_eq!(ns.count(&Query::new()), 2);
    let life = ns.lifecycle(first).expect("live");
    assert_eq!(life.merged.count, 1);
    assert_eq!(life.merged.recent[0].0.as_deref(), Some("chat-2"));
    assert_eq!(ns.touches(first), Some(1));
    assert!(ns.strength(first).expect("live") > strength);
    assert_eq!(
        ns.lifecycle(done[1].id)
            .expect("live")
            .merged
            .recent
            .iter()
            .map(|(s, _)| s.as_deref())
            .collect::<Vec<_>>(),
        vec![Some("chat-4")]
    );
    assert!(event_names(&ns).iter().any(|n| n == "merge"));
    // Unrelated and keyed writes are never merged.
    let keyed = ns
        .remember_batch(vec![
            NewMemory::new("The user prefers dark mode in the editor.").key("pref"),
        ])
        .expect("keyed");
    assert_eq!(keyed[0].outcome, Outcome::Added);
}

#[test]
fn an_exact_repeat_is_recorded_as_a_merge_with_its_source_and_time() {
    let content = "The user prefers dark mode in the editor";
    let mnemo = with_duplicates(DuplicateMode::Merge);
    let ns = mnemo.namespace("agent").expect("namespace");
    let first = ns
        .remember(NewMemory::new(content).source("chat-1"))
        .expect("first");
    let when = past();
    let done = ns
        .remember_batch(vec![
            NewMemory::new(content).source("chat-2").at(when),
            NewMemory::new(content).source("chat-3"),
        ])
        .expect("repeats");
    for d in &done {
        assert_eq!((d.id, d.outcome), (first, Outcome::Merged));
    }
    let life = ns.lifecycle(first).expect("live");
    assert_eq!(life.merged.count, 2);
    assert_eq!(life.merged.recent[0], (Some("chat-2".to_owned()), when));
    assert_eq!(life.merged.recent[1].0.as_deref(), Some("chat-3"));
    assert_eq!(ns.touches(first), Some(2));
    assert_eq!(ns.count(&Query::new()), 1);
    // A repeat of a memory new in the same batch merges into it.
    let fresh = ns
        .remember_batch(vec![
            NewMemory::new("Bob waters the plants on Sunday"),
            NewMemory::new("Bob waters the plants on Sunday").source("chat-4"),
        ])
        .expect("batch");
    assert_eq!(fresh[1].id, fresh[0].id);
    assert_eq!(fresh[1].outcome, Outcome::Merged);
    assert_eq!(ns.lifecycle(fresh[0].id).expect("live").merged.count, 1);

    // Without merging, an exact repeat stays a no-op that writes nothing.
    let plain = with_duplicates(DuplicateMode::Flag);
    let ns = plain.namespace("agent").expect("namespace");
    let first = ns.remember(NewMemory::new(content)).expect("first");
    let events = ns.stats().events;
    let again = ns
        .remember_batch(vec![NewMemory::new(content)])
        .expect("again");
    assert_eq!((again[0].id, again[0].outcome), (first, Outcome::Unchanged));
    assert_eq!(ns.stats().events, events);
    assert_eq!(ns.lifecycle(first).expect("live").merged.count, 0);
}

#[test]
fn flag_keeps_the_new_memory_and_says_which_it_repeats() {
    let mnemo = with_duplicates(DuplicateMode::Flag);
    let ns = mnemo.namespace("agent").expect("namespace");
    let first = ns
        .remember(NewMemory::new("Alice moved to Lisbon in May"))
        .expect("first");
    let again = ns
        .remember(NewMemory::new("alice moved to Lisbon in May."))
        .expect("again");
    assert_ne!(again, first);
    let flag = ns
        .lifecycle(again)
        .expect("live")
        .duplicate_of
        .expect("flagged");
    assert_eq!(flag.of, first);
    assert!(flag.vector_similarity >= 0.9 && flag.text_similarity >= 0.8);
    assert!(ns.lifecycle(first).expect("live").duplicate_of.is_none());
    assert!(event_names(&ns).iter().any(|n| n == "flag"));
}

#[test]
fn duplicate_decisions_survive_replay_and_snapshots() {
    let dir = tempfile::tempdir().expect("dir");
    let options = || {
        Options::default().duplicates(Duplicates {
            mode: DuplicateMode::Merge,
            ..Duplicates::default()
        })
    };
    let first;
    {
        let mnemo = Mnemo::open_with(dir.path(), options()).expect("open");
        let ns = mnemo.namespace("agent").expect("namespace");
        first = ns
            .remember(NewMemory::new("the user drinks green tea every morning"))
            .expect("first");
        for i in 0..3 {
            let done = ns
                .remember(
                    NewMemory::new("The user drinks green tea every morning.")
                        .source(format!("s{i}")),
                )
                .expect("repeat");
            assert_eq!(done, first);
        }
        mnemo.close().expect("close");
    }
    for round in 0..2 {
        let mnemo = Mnemo::open_with(dir.path(), options()).expect("reopen");
        let ns = mnemo.namespace("agent").expect("namespace");
        let life = ns.lifecycle(first).expect("live");
        assert_eq!(life.merged.count, 3, "round {round}");
        assert_eq!(ns.touches(first), Some(3), "round {round}");
        if round == 0 {
            ns.snapshot().expect("snapshot");
        }
        mnemo.close().expect("close");
    }
}

#[test]
fn bad_lifecycle_settings_are_refused_naming_the_field() {
    let refused = |options: Options| match Mnemo::in_memory_with(options).namespace("agent") {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    };
    for bad in [f32::NAN, -0.5, 1.01] {
        assert_eq!(
            refused(Options::default().duplicates(Duplicates {
                vector_similarity: bad,
                ..Duplicates::default()
            })),
            "duplicates.vector_similarity"
        );
        assert_eq!(
            refused(Options::default().duplicates(Duplicates {
                text_similarity: bad,
                ..Duplicates::default()
            })),
            "duplicates.text_similarity"
        );
    }
    assert_eq!(
        refused(Options::default().expiry(Expiry {
            ttl: Some(Duration::ZERO),
            ..Expiry::default()
        })),
        "expiry.ttl"
    );
}
