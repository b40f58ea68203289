//! Bad input: every refused call gets a clear error that names what was
//! wrong (the field, the id, the namespace name), and changes nothing: the
//! memories, the links, the Merkle root and the event count are the same
//! after the error, and so is the state a reopen rebuilds from the log.
//!
//! Also a full disk (a small tmpfs; skipped with a note when it cannot be
//! mounted): the failed write is refused clearly, changes nothing in
//! memory, and a reopen after freeing space holds every acknowledged write,
//! the same with and without snapshots. And a namespace whose log holds a
//! record of arbitrary bytes opens with an error naming the record's seq,
//! or folds it, but never panics.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mnemo::{
    Error, Kind, Link, Memory, MemoryId, Metadata, Mnemo, Namespace, NewMemory, Query, Revision,
    Value,
};
use proptest::prelude::*;

const NS: &str = "t";

/// Everything observable about a namespace's contents, to compare before
/// and after a refused call.
#[derive(Debug, PartialEq)]
struct Observed {
    root: (mnemo::Hash, u64),
    events: u64,
    memories: Vec<Arc<Memory>>,
    links: Vec<(Vec<Link>, Vec<Link>)>,
    keys: Vec<Option<MemoryId>>,
}

/// Panics naming the first difference (the states are too big to print).
#[track_caller]
fn assert_same(got: &Observed, want: &Observed, context: &str) {
    if got == want {
        return;
    }
    let ids = |o: &Observed| o.memories.iter().map(|m| m.id.0).collect::<Vec<_>>();
    assert_eq!(got.root, want.root, "{context}: root");
    assert_eq!(got.events, want.events, "{context}: events");
    assert_eq!(ids(got), ids(want), "{context}: memory ids");
    for (g, w) in got.memories.iter().zip(&want.memories) {
        if g != w {
            let short = |m: &Memory| {
                let mut m = m.clone();
                m.content.truncate(40);
                m
            };
            panic!(
                "{context}: memory {} differs: {:?} vs {:?}",
                g.id,
                short(g),
                short(w)
            );
        }
    }
    assert_eq!(got.links, want.links, "{context}: links");
    assert_eq!(got.keys, want.keys, "{context}: keys");
}

fn observe(ns: &Namespace) -> Observed {
    let memories = ns.query(&Query::new());
    let links = memories.iter().map(|m| ns.links(m.id)).collect();
    let keys = ["k", "other"]
        .iter()
        .map(|k| ns.get_by_key(k).map(|m| m.id))
        .collect();
    Observed {
        root: ns.root().expect("root"),
        events: ns.stats().events,
        memories,
        links,
        keys,
    }
}

/// An on-disk engine with a few memories, a link, a key and a forgotten
/// memory.
struct Fixture {
    dir: tempfile::TempDir,
    mnemo: Option<Mnemo>,
    ns: Option<Namespace>,
    a: MemoryId,
    b: MemoryId,
    forgotten: MemoryId,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mnemo = Mnemo::open(dir.path()).expect("open");
        let ns = mnemo.namespace(NS).expect("namespace");
        let a = ns
            .remember(
                NewMemory::new("Alice likes green tea")
                    .tag("food")
                    .source("chat"),
            )
            .expect("a");
        let b = ns
            .remember(
                NewMemory::new("Bob plays chess")
                    .key("k")
                    .kind(Kind::Semantic),
            )
            .expect("b");
        let forgotten = ns.remember(NewMemory::new("to be forgotten")).expect("c");
        ns.link(a, b, "refers_to", 0.5).expect("link");
        ns.forget(forgotten).expect("forget");
        Self {
            dir,
            mnemo: Some(mnemo),
            ns: Some(ns),
            a,
            b,
            forgotten,
        }
    }

    fn ns(&self) -> &Namespace {
        self.ns.as_ref().expect("open")
    }

    /// Runs `call`, which must fail with a message containing every one of
    /// `words`, and checks that it changed nothing.
    #[track_caller]
    fn refused<T: std::fmt::Debug>(
        &self,
        words: &[&str],
        call: impl FnOnce(&Namespace) -> mnemo::Result<T>,
    ) -> Error {
        let before = observe(self.ns());
        let err = match call(self.ns()) {
            Ok(v) => panic!("accepted (wanted an error naming {words:?}): {v:?}"),
            Err(e) => e,
        };
        let message = err.to_string();
        for w in words {
            assert!(message.contains(w), "error {message:?} does not name {w:?}");
        }
        assert!(message.contains(&format!("namespace {NS}")), "{message}");
        assert_same(
            &observe(self.ns()),
            &before,
            &format!("after the refused call ({message})"),
        );
        err
    }

    /// Closes and reopens the engine; returns the reopened state.
    fn reopen(&mut self) -> Observed {
        self.ns = None;
        self.mnemo.take().expect("open").close().expect("close");
        let mnemo = Mnemo::open(self.dir.path()).expect("reopen");
        self.ns = Some(mnemo.namespace(NS).expect("namespace"));
        self.mnemo = Some(mnemo);
        observe(self.ns())
    }
}

#[test]
fn empty_and_oversized_content_are_refused() {
    let mut fx = Fixture::new();
    let before = observe(fx.ns());
    for empty in ["", "   ", "\n\t"] {
        fx.refused(&["content", "empty"], |ns| {
            ns.remember(NewMemory::new(empty))
        });
        fx.refused(&["content", "empty"], |ns| {
            ns.revise(fx.a, Revision::new().content(empty))
        });
    }
    let huge = "x".repeat(10 << 20);
    fx.refused(&["content", "10485760 bytes", "limit"], |ns| {
        ns.remember(NewMemory::new(huge.as_str()))
    });
    fx.refused(&["content", "limit"], |ns| {
        ns.revise(fx.a, Revision::new().content(huge.as_str()))
    });
    fx.refused(&["metadata", "note", "too long"], |ns| {
        ns.remember(NewMemory::new("fine").meta("note", huge.as_str()))
    });
    let over = "y".repeat((1 << 20) + 1);
    fx.refused(&["content", "1048577 bytes"], |ns| {
        ns.remember(NewMemory::new(over))
    });
    fx.refused(&["item 2", "content"], |ns| {
        ns.remember_batch(vec![
            NewMemory::new("fine one"),
            NewMemory::new("fine two"),
            NewMemory::new(""),
        ])
    });
    assert_same(&fx.reopen(), &before, "reopened");
    // The limit itself is accepted.
    let at_limit = "z".repeat(1 << 20);
    let id = fx
        .ns()
        .remember(NewMemory::new(at_limit.as_str()))
        .expect("at the limit");
    assert_eq!(fx.ns().get(id).expect("stored").content.len(), 1 << 20);
}

#[test]
fn bad_namespace_names_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mnemo = Mnemo::open(dir.path()).expect("open");
    let long = "n".repeat(65);
    for name in [
        "a/b",
        "..",
        ".",
        ".hidden",
        "ä",
        long.as_str(),
        "",
        "a b",
        "a\\b",
        "a\0b",
    ] {
        let err = mnemo.namespace(name).expect_err(name);
        assert!(
            matches!(err, Error::InvalidNamespace { .. }),
            "{name:?}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("{name:?}")),
            "{message} does not name {name:?}"
        );
        assert!(mnemo::validate_namespace(name).is_err());
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(entries.is_empty(), "refused names created {entries:?}");
    assert!(mnemo.namespaces().is_empty());
    // The longest allowed name works.
    mnemo.namespace(&"n".repeat(64)).expect("64 characters");
    let memory = Mnemo::in_memory();
    assert!(memory.namespace("a/b").is_err());
    assert!(memory.namespaces().is_empty());
}

#[test]
fn unknown_and_forgotten_ids_are_refused() {
    let mut fx = Fixture::new();
    let before = observe(fx.ns());
    let (a, f) = (fx.a, fx.forgotten);
    for id in [MemoryId(0), MemoryId(999), f] {
        let n = id.0.to_string();
        let words = ["no memory with id", n.as_str()];
        assert!(fx.ns().get(id).is_none());
        let err = fx.refused(&words, |ns| ns.revise(id, Revision::new().content("x")));
        assert!(
            matches!(err, Error::UnknownId { id: i, .. } if i == id.0),
            "{err:?}"
        );
        fx.refused(&words, |ns| ns.revise(id, Revision::new().importance(0.5)));
        fx.refused(&words, |ns| ns.retag(id, &["x"], &[]));
        fx.refused(&words, |ns| ns.link(a, id, "refers_to", 0.5));
        fx.refused(&words, |ns| ns.link(id, a, "refers_to", 0.5));
        fx.refused(&words, |ns| ns.forget(id));
        fx.refused(&words, |ns| ns.prove(id).map(|p| p.seq));
        fx.refused(&["link", n.as_str()], |ns| ns.unlink(id, a, "refers_to"));
        fx.refused(&["link", n.as_str()], |ns| ns.unlink(a, id, "refers_to"));
    }
    // A link that is not there, between live memories.
    let words = ["no caused link", "from 1 to 2"];
    fx.refused(&words, |ns| ns.unlink(a, fx.b, "caused"));
    assert_same(&fx.reopen(), &before, "reopened");
}

#[test]
fn out_of_range_numbers_are_refused() {
    let mut fx = Fixture::new();
    let before = observe(fx.ns());
    let (a, b) = (fx.a, fx.b);
    for x in [f32::NAN, 1.5, -0.1, f32::INFINITY, f32::NEG_INFINITY] {
        let shown = x.to_string();
        let words = ["importance", shown.as_str()];
        fx.refused(&words, |ns| {
            ns.remember(NewMemory::new("new").importance(x))
        });
        fx.refused(&words, |ns| ns.revise(a, Revision::new().importance(x)));
        // A keyed upsert is validated like a new memory.
        fx.refused(&words, |ns| {
            ns.remember(NewMemory::new("v2").key("k").importance(x))
        });
        fx.refused(&["confidence", shown.as_str()], |ns| {
            ns.remember(NewMemory::new("new").confidence(x))
        });
        fx.refused(&["confidence"], |ns| {
            ns.revise(a, Revision::new().confidence(x))
        });
        fx.refused(&["weight", shown.as_str()], |ns| {
            ns.link(a, b, "refers_to", x)
        });
        // Replacing an existing link's weight is checked too.
        fx.refused(&["weight"], |ns| ns.link(a, b, "refers_to", x));
        fx.refused(&["item 1", "importance"], |ns| {
            ns.remember_batch(vec![
                NewMemory::new("ok"),
                NewMemory::new("bad").importance(x),
            ])
        });
    }
    assert_same(&fx.reopen(), &before, "reopened");
}

#[test]
fn bad_vectors_are_refused() {
    let mut fx = Fixture::new();
    let before = observe(fx.ns());
    let dim = fx.ns().stats().embedder.dimension;
    assert!(dim > 2);
    let a = fx.a;
    for wrong in [0, 1, dim - 1, dim + 1] {
        let shown = format!("{wrong} components");
        fx.refused(&["vector", shown.as_str()], |ns| {
            ns.remember(NewMemory::new("with a vector").vector(vec![0.5; wrong]))
        });
        fx.refused(&["vector", shown.as_str()], |ns| {
            ns.revise(
                a,
                Revision {
                    content: Some("new text".into()),
                    vector: Some(vec![0.5; wrong]),
                    ..Revision::default()
                },
            )
        });
    }
    for bad in [f32::NAN, f32::INFINITY] {
        let mut v = vec![0.5; dim];
        v[dim / 2] = bad;
        fx.refused(&["vector", "non-finite"], |ns| {
            ns.remember(NewMemory::new("with a vector").vector(v.clone()))
        });
    }
    fx.refused(&["vector", "all zeros"], |ns| {
        ns.remember(NewMemory::new("with a vector").vector(vec![0.0; dim]))
    });
    fx.refused(&["vector", "needs new content"], |ns| {
        ns.revise(
            a,
            Revision {
                vector: Some(vec![0.5; dim]),
                ..Revision::default()
            },
        )
    });
    assert_same(&fx.reopen(), &before, "reopened");
}

#[test]
fn bad_labels_and_metadata_are_refused() {
    let mut fx = Fixture::new();
    let before = observe(fx.ns());
    let a = fx.a;
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        fx.refused(&["metadata", "score"], |ns| {
            ns.remember(NewMemory::new("scored").meta("score", x))
        });
        let mut m = Metadata::new();
        m.insert("score".into(), Value::Float(x));
        fx.refused(&["metadata", "score"], |ns| {
            ns.revise(a, Revision::new().metadata(m))
        });
    }
    let long = "l".repeat(1025);
    fx.refused(&["metadata name", "empty"], |ns| {
        ns.remember(NewMemory::new("named").meta("", 1i64))
    });
    fx.refused(&["tag", "empty"], |ns| {
        ns.remember(NewMemory::new("tagged").tag(""))
    });
    fx.refused(&["tag", "1025 bytes"], |ns| {
        ns.remember(NewMemory::new("tagged").tag(long.as_str()))
    });
    fx.refused(&["tag", "empty"], |ns| ns.retag(a, &[""], &[]));
    fx.refused(&["tag", "1025 bytes"], |ns| {
        ns.retag(a, &[], &[long.as_str()])
    });
    fx.refused(&["key", "empty"], |ns| {
        ns.remember(NewMemory::new("keyed").key(""))
    });
    fx.refused(&["source", "empty"], |ns| {
        ns.remember(NewMemory::new("sourced").source(""))
    });
    fx.refused(&["source", "1025 bytes"], |ns| {
        ns.revise(a, Revision::new().source(Some(long.clone())))
    });
    fx.refused(&["link kind", "empty"], |ns| ns.link(a, fx.b, "", 0.5));
    assert_same(&fx.reopen(), &before, "reopened");
}

// ----- a full disk -----

/// Whether a test that needs a privilege (here: mounting a tmpfs) must
/// fail instead of skipping when it lacks it: under `scripts/test`
/// (`MNEMO_REQUIRE_MODEL=1`) and on CI (`CI=true`), a skip would be a
/// test passing by not running.
fn required() -> bool {
    std::env::var("MNEMO_REQUIRE_MODEL").as_deref() == Ok("1")
        || std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` on `dir`; `None` (with a notice) when this
    /// process may not mount and nothing requires the test to run.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output();
        let why = match out {
            Ok(o) if o.status.success() => return Some(Tmpfs(dir.to_path_buf())),
            Ok(o) => format!(
                "cannot mount a tmpfs ({})",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => format!("cannot run mount ({e})"),
        };
        assert!(
            !required(),
            "the full-disk test must run here (MNEMO_REQUIRE_MODEL=1 or CI=true) but {why}: \
             run the tests as root, or with CAP_SYS_ADMIN"
        );
        eprintln!("SKIPPED: the full-disk test: {why}");
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_refuses_clearly_and_loses_nothing_acknowledged() {
    let outer = tempfile::tempdir().expect("temp dir");
    // The log fills what the filler leaves (about 1 MiB); freeing the
    // filler leaves room for the snapshot written on close.
    let Some(fs) = Tmpfs::mount(outer.path(), "6m") else {
        return;
    };
    let root_dir = fs.0.clone();
    let filler = root_dir.join("filler");
    std::fs::write(&filler, vec![7u8; 5 << 20]).expect("filler");
    let dir = root_dir.join("engine");
    let mnemo = Mnemo::open(&dir).expect("open");
    let ns = mnemo.namespace(NS).expect("namespace");
    let mut acked: Vec<(MemoryId, String)> = Vec::new();
    let failure = loop {
        let content = format!("{} {}", acked.len(), "payload ".repeat(1000));
        let before = observe(&ns);
        match ns.remember(NewMemory::new(content.as_str()).tag("fill")) {
            Ok(id) => acked.push((id, content)),
            Err(e) => {
                assert_same(
                    &observe(&ns),
                    &before,
                    &format!("after the failed write ({e})"),
                );
                break e;
            }
        }
        assert!(acked.len() < 10_000, "the disk never filled");
    };
    let message = failure.to_string();
    assert!(matches!(failure, Error::Log { .. }), "{failure:?}");
    assert!(
        message.contains(&format!("namespace {NS}: log"))
            && message.contains("No space left on device"),
        "unclear: {message}"
    );
    assert!(acked.len() > 10, "only {} writes fit", acked.len());
    // Until it is reopened the log refuses writes, clearly, and changes
    // nothing, even with space again.
    std::fs::remove_file(&filler).expect("free space");
    let before = observe(&ns);
    let again = ns
        .remember(NewMemory::new("after the failure"))
        .expect_err("refused");
    assert!(again.to_string().contains("log"), "{again}");
    assert_same(
        &observe(&ns),
        &before,
        &format!("after the refused write ({again})"),
    );
    let expected = before;
    drop(ns);
    if let Err(e) = mnemo.close() {
        eprintln!("note: close after the failure: {e}");
    }
    drop(mnemo);

    let reopen = || {
        let mnemo = Mnemo::open(&dir).expect("reopen");
        let ns = mnemo.namespace(NS).expect("namespace after a full disk");
        let seen = observe(&ns);
        for (id, content) in &acked {
            let m = ns
                .get(*id)
                .unwrap_or_else(|| panic!("acknowledged memory {id} lost"));
            assert_eq!(&m.content, content);
        }
        // The failed write was never acknowledged: it is absent (or, had
        // its record reached the disk whole, present and well-formed).
        assert!(
            seen.memories.len() == acked.len() || seen.memories.len() == acked.len() + 1,
            "{} memories after reopen, {} acknowledged",
            seen.memories.len(),
            acked.len()
        );
        (mnemo, ns, seen)
    };
    let (mnemo, ns, with_snapshot) = reopen();
    eprintln!(
        "note: {} writes acknowledged before the disk filled, {} memories after reopen",
        acked.len(),
        with_snapshot.memories.len()
    );
    if with_snapshot.events == expected.events {
        assert_same(&with_snapshot, &expected, "reopened after the full disk");
    }
    drop(ns);
    mnemo.close().expect("close");
    drop(mnemo);
    std::fs::remove_dir_all(dir.join(NS).join("snapshots")).ok();
    let (_mnemo, ns, replayed) = reopen();
    assert_eq!(ns.open_report().snapshot_seq, None);
    assert_same(&replayed, &with_snapshot, "a full replay vs the snapshot");
    ns.remember(NewMemory::new("writes work again"))
        .expect("write after reopen");
}

// ----- foreign events in the log -----

/// Writes a namespace with a few memories and a link, closes it, appends
/// `payloads` to its log directly (as a foreign writer or a bug could) and
/// returns the directory and the seq of the first appended record.
fn with_foreign_records(payloads: &[Vec<u8>], keep_snapshot: bool) -> (tempfile::TempDir, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let mnemo = Mnemo::open(dir.path()).expect("open");
        let ns = mnemo.namespace(NS).expect("namespace");
        let a = ns
            .remember(NewMemory::new("one").tag("x").key("k"))
            .expect("a");
        let b = ns.remember(NewMemory::new("two")).expect("b");
        ns.link(a, b, "next", 1.0).expect("link");
        drop(ns);
        mnemo.close().expect("close");
    }
    if !keep_snapshot {
        std::fs::remove_dir_all(dir.path().join(NS).join("snapshots")).ok();
    }
    let log = mnemo_log::Log::open(
        dir.path().join(NS).join("log"),
        mnemo_log::Config::default(),
    )
    .expect("log");
    let first = log.next_seq();
    for p in payloads {
        log.append(p).expect("append");
    }
    log.close().expect("close log");
    (dir, first)
}

/// Well-formed events the engine's writer would never produce (wrong
/// vector dimension, NaN numbers, unknown or reused ids, a second init):
/// replaying them must not panic; the namespace opens (ignoring what does
/// not apply) or refuses with an error naming the seq, and stays usable.
#[test]
fn foreign_events_never_panic() {
    use mnemo::event::{Event, Init, Remember, Retag, Revise, Unlink};
    let dim = {
        let m = Mnemo::in_memory();
        let ns = m.namespace("d").expect("namespace");
        ns.stats().embedder.dimension
    };
    let remember = |id: u64, content: &str, vector: Vec<f32>, importance: f32| {
        Event::Remember(vec![Remember {
            id: MemoryId(id),
            key: Some("k".into()),
            content: content.into(),
            kind: Kind::Episodic,
            tags: vec!["b".into(), "a".into(), "a".into()],
            source: Some(String::new()),
            metadata: [("f".to_owned(), Value::Float(f64::NAN))].into(),
            at: None,
            valid: None,
            importance,
            confidence: f32::NAN,
            vector,
            erased: false,
        }])
    };
    let cases: Vec<(&str, Event)> = vec![
        (
            "remember, 3-dimensional vector",
            remember(3, "three", vec![1.0, 0.0, 0.0], 0.5),
        ),
        ("remember, empty vector", remember(3, "three", vec![], 0.5)),
        (
            "remember, NaN everywhere",
            remember(3, "three", vec![f32::NAN; 4096], f32::NAN),
        ),
        ("remember, id 0", remember(0, "zero", vec![0.5; dim], 0.5)),
        (
            "remember, id u64::MAX",
            remember(u64::MAX, "max", vec![0.5; dim], 2.0),
        ),
        (
            "remember, an existing id",
            remember(1, "again", vec![0.5; dim], 0.5),
        ),
        ("remember, nothing", Event::Remember(vec![])),
        (
            "revise, unknown id",
            Event::Revise(Revise {
                id: MemoryId(77),
                content: Some("x".into()),
                ..Revise::default()
            }),
        ),
        (
            "revise, content without a vector",
            Event::Revise(Revise {
                id: MemoryId(1),
                content: Some("new".into()),
                importance: Some(f32::NAN),
                ..Revise::default()
            }),
        ),
        (
            "revise, wrong vector",
            Event::Revise(Revise {
                id: MemoryId(1),
                content: Some("new".into()),
                vector: Some(vec![1.0]),
                ..Revise::default()
            }),
        ),
        (
            "retag, unsorted and empty tags",
            Event::Retag(Retag {
                id: MemoryId(1),
                add: vec!["z".into(), String::new(), "a".into()],
                remove: vec!["x".into()],
            }),
        ),
        (
            "link, NaN weight and unknown end",
            Event::Link(Link {
                from: MemoryId(1),
                to: MemoryId(99),
                kind: String::new(),
                weight: f32::NAN,
            }),
        ),
        (
            "link, NaN weight",
            Event::Link(Link {
                from: MemoryId(1),
                to: MemoryId(1),
                kind: "self".into(),
                weight: f32::NAN,
            }),
        ),
        (
            "unlink, absent link",
            Event::Unlink(Unlink {
                from: MemoryId(2),
                to: MemoryId(1),
                kind: "next".into(),
            }),
        ),
        ("forget, unknown id", Event::Forget(MemoryId(12345))),
        (
            "a second init, another embedder",
            Event::Init(Init {
                embedder: "other".into(),
                dimension: 3,
            }),
        ),
    ];
    for (what, event) in cases {
        for keep_snapshot in [false, true] {
            let payload = event.encode().expect("encode");
            let (dir, seq) = with_foreign_records(&[payload], keep_snapshot);
            let opened = std::panic::catch_unwind(|| {
                let mnemo = Mnemo::open(dir.path()).expect("open");
                match mnemo.namespace(NS) {
                    Err(e) => {
                        let message = e.to_string();
                        assert!(message.contains(&format!("seq {seq}")), "{what}: {message}");
                    }
                    Ok(ns) => {
                        let _ = ns.query(&Query::new());
                        let _ = ns.query(&Query::new().tag("a").contains("E"));
                        let _ = ns.recall("one", 3, &Query::new());
                        let _ = ns.stats();
                        ns.root().expect("root");
                        ns.remember(NewMemory::new("after the foreign event"))
                            .expect("a write after the foreign event");
                        drop(ns);
                        mnemo.close().expect("close");
                    }
                }
            });
            assert!(
                opened.is_ok(),
                "{what} (snapshot kept: {keep_snapshot}): panicked"
            );
        }
    }
}

// ----- arbitrary bytes in the log -----

fn record() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        // A valid header and kind, then garbage: reaches the body decoder.
        (0u8..8, prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(kind, body)| {
            let mut r = vec![1, kind];
            r.extend(body);
            r
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A record of arbitrary bytes in a namespace's log: opening refuses
    /// with an error naming its seq, or folds it; it never panics.
    #[test]
    fn arbitrary_log_records_never_panic(bytes in record(), keep_snapshot in any::<bool>()) {
        let (dir, seq) = with_foreign_records(&[bytes], keep_snapshot);
        let mnemo = Mnemo::open(dir.path()).expect("open");
        match mnemo.namespace(NS) {
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.contains(&format!("seq {seq}")), "{}", message);
            }
            Ok(ns) => {
                // Folded (a well-formed event): reads still work.
                let _ = ns.query(&Query::new());
                let _ = ns.stats();
                prop_assert!(ns.root().is_ok());
            }
        }
    }
}
